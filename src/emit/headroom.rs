//! `headroom/`: placeholder pods that make Karpenter keep each pool's planned headroom.
//!
//! Karpenter launches nodes only for pending pods and removes empty ones, so the headroom
//! nodes a plan buys (`headroom.nodeFailures`) would never exist. The ecosystem's answer is
//! overprovisioning: a Deployment of pause pods at a priority below every workload's, which
//! hold capacity until a real pod needs it, are then preempted, turn pending, and make the
//! autoscaler buy a node for themselves (kubernetes/autoscaler `cluster-autoscaler/FAQ.md`,
//! "How can I configure overprovisioning with Cluster Autoscaler?"; Karpenter provisions for
//! any pending pod, whatever its priority). Written here:
//! - `headroom/namespace.yaml`: the namespace [`NAMESPACE`] of the placeholders, which the
//!   admission policy lets into exactly the pools they reserve (so only cluster
//!   administrators should be able to create pods in it);
//! - `headroom/priorityclass.yaml`: [`PRIORITY_CLASS`], value -10, never the default, with
//!   `preemptionPolicy: Never` so that a placeholder never evicts anything itself;
//! - `headroom/<pool>.yaml`: per pool that buys nodes with K > 0, a Deployment of K pause
//!   pods, each requesting what one node of the pool's largest type leaves after the
//!   per-node overhead: together they hold the K largest nodes the headroom plans for. They
//!   are pinned to their pool exactly as a planned workload's pods are (pool label in
//!   required node affinity, the pool taint tolerated, `tierplan.io/pool` on the pod).
//!
//! Inventory pools get none: their nodes exist whether or not pods run on them.

use super::{check_name, documents, EmitError, POD_POOL_LABEL, POOL_LABEL};
use crate::model::{names, Model};
use crate::plan::{Plan, Pool};
use crate::quantity::{self, Unit};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, Container, Namespace, NodeAffinity, NodeSelector,
    NodeSelectorRequirement, NodeSelectorTerm, PodSecurityContext, PodSpec, PodTemplateSpec,
    ResourceRequirements, SeccompProfile, SecurityContext,
};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;

/// The namespace of the placeholder Deployments.
pub const NAMESPACE: &str = "tierplan-headroom";
/// The PriorityClass of the placeholder pods.
pub const PRIORITY_CLASS: &str = "tierplan-headroom";
/// Below the default priority 0 of every workload without a class, and at Cluster
/// Autoscaler's default `--expendable-pods-priority-cutoff` (-10), below which it would not
/// scale up for the placeholders.
const PRIORITY: i32 = -10;
/// The pause container: it only sleeps.
const PAUSE_IMAGE: &str = "registry.k8s.io/pause:3.10";
/// The label selecting the placeholder pods of a Deployment, besides their pool.
const APP_LABEL: &str = "app.kubernetes.io/name";

/// The pools that get placeholders: the tier pools that buy nodes, when the Policy asks for
/// headroom. The platform pool gets none: a placeholder pinned by a pool label could never
/// run on its unlabelled nodes, and one left unpinned could take room on any untainted node.
pub fn pools<'p>(model: &Model, plan: &'p Plan) -> Vec<&'p Pool> {
    if model.policy.node_failures == 0 {
        return Vec::new();
    }
    plan.pools
        .iter()
        .filter(|p| !p.node_types.is_empty() && !p.platform)
        .collect()
}

/// Every file of `headroom/`, none when no pool gets placeholders.
pub fn files(model: &Model, plan: &Plan) -> Result<Vec<(String, String)>, EmitError> {
    let pools = pools(model, plan);
    if pools.is_empty() {
        return Ok(Vec::new());
    }
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(NAMESPACE.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let priority_class = PriorityClass {
        metadata: ObjectMeta {
            name: Some(PRIORITY_CLASS.into()),
            ..Default::default()
        },
        value: PRIORITY,
        global_default: Some(false),
        preemption_policy: Some("Never".into()),
        description: Some(
            "tierplan headroom placeholders: preempted by any workload, never preempting".into(),
        ),
    };
    let mut out = vec![
        (
            "headroom/namespace.yaml".to_string(),
            documents(&[&namespace]),
        ),
        (
            "headroom/priorityclass.yaml".to_string(),
            documents(&[&priority_class]),
        ),
    ];
    for pool in pools {
        if let Some(d) = placeholder(model, pool)? {
            out.push((format!("headroom/{}.yaml", pool.name), documents(&[&d])));
        }
    }
    Ok(out)
}

/// The placeholder Deployment of `pool`: K pods the size of a free node of its largest type
/// (by cpu, then memory), or none when the pool buys no type that declares cpu or memory.
fn placeholder(model: &Model, pool: &Pool) -> Result<Option<Deployment>, EmitError> {
    check_name("pool name", &pool.name, names::dns_label_problem)?;
    let overhead = &model.policy.node_overhead;
    let free = |t: usize, resource: &str| -> Option<u64> {
        let r = model.resource_id(resource)?;
        model.node_types[t].allocatable[r].map(|a| a.saturating_sub(overhead[r]))
    };
    let largest = pool
        .node_types
        .iter()
        .filter_map(|b| model.node_type_index(&b.node_type))
        .max_by_key(|&t| (free(t, "cpu"), free(t, "memory"), std::cmp::Reverse(t)));
    let Some(t) = largest else {
        return Ok(None);
    };
    let requests: BTreeMap<String, Quantity> = ["cpu", "memory"]
        .into_iter()
        .filter_map(|resource| {
            free(t, resource).filter(|&a| a > 0).map(|a| {
                (
                    resource.to_string(),
                    Quantity(quantity::format(a, Unit::for_resource(resource))),
                )
            })
        })
        .collect();
    if requests.is_empty() {
        return Ok(None);
    }
    let labels = BTreeMap::from([
        (APP_LABEL.to_string(), NAMESPACE.to_string()),
        (POD_POOL_LABEL.to_string(), pool.name.clone()),
    ]);
    let affinity = Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(vec![NodeSelectorRequirement {
                        key: POOL_LABEL.into(),
                        operator: "In".into(),
                        values: Some(vec![pool.name.clone()]),
                    }]),
                    match_fields: None,
                }],
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let container = Container {
        name: "pause".into(),
        image: Some(PAUSE_IMAGE.into()),
        resources: Some(ResourceRequirements {
            requests: Some(requests),
            ..Default::default()
        }),
        // Nothing to grant: the pause process runs as an unprivileged user (Pod Security
        // Standards, `restricted`).
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let spec = PodSpec {
        priority_class_name: Some(PRIORITY_CLASS.into()),
        // Preempted placeholders give their node up at once.
        termination_grace_period_seconds: Some(0),
        affinity: Some(affinity),
        tolerations: Some(vec![super::workloads::pool_toleration(&pool.name)]),
        containers: vec![container],
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(65535),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        automount_service_account_token: Some(false),
        ..Default::default()
    };
    Ok(Some(Deployment {
        metadata: ObjectMeta {
            name: Some(pool.name.clone()),
            namespace: Some(NAMESPACE.into()),
            ..Default::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(model.policy.node_failures as i32),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..Default::default()
                }),
                spec: Some(spec),
            },
            ..Default::default()
        }),
        status: None,
    }))
}
