//! `workloads/`: a kustomize Component of strategic-merge patches that pin each planned
//! workload to its pool, plus `NOTES.txt`, which lists the plan's rules that Kubernetes
//! cannot express. System DaemonSets get no patch: they keep their own tolerations.
//!
//! The patches are partial objects, so they are typed structs of this module built from
//! k8s-openapi parts: a full k8s-openapi `Deployment` or `CronJob` would serialise its
//! required fields (`selector: {}`, `containers: []`, `schedule: ''`) and the patch would
//! overwrite the user's.

use super::{admission, check_name, documents, pools_by_workload, EmitError, PatchRef};
use super::{Kustomization, POD_POOL_LABEL, POOL_LABEL, POOL_TAINT_KEY, WORKLOAD_LABEL};
use crate::boundary;
use crate::model::{
    names, Controller, Enforcement, LabelExpression, Model, Toleration as ModelToleration,
    TolerationOperator, Workload, ZONE_LABEL,
};
use crate::plan::{Plan, Pool, PLATFORM_POOL};
use crate::policy;
use k8s_openapi::api::core::v1::{
    Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    PodAffinityTerm, PodAntiAffinity, Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

const DIR: &str = "workloads";
/// The subdirectory of `workloads/` holding a patch file per namespace; apart from the
/// Component's own `kustomization.yaml`, which a namespace named `kustomization` would take.
const PATCHES: &str = "namespaces";
const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// A strategic-merge patch of a workload controller's pod template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadPatch {
    /// The workload's `apiVersion`.
    pub api_version: String,
    /// The workload's `kind`.
    pub kind: String,
    /// The workload's name and namespace.
    pub metadata: ObjectMeta,
    /// The pod template part of its spec.
    pub spec: ControllerSpecPatch,
}

/// `spec.template` of Deployments, StatefulSets, DaemonSets and Jobs, or
/// `spec.jobTemplate.spec.template` of CronJobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ControllerSpecPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<PodTemplatePatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_template: Option<JobTemplatePatch>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobTemplatePatch {
    pub spec: JobSpecPatch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpecPatch {
    pub template: PodTemplatePatch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// The pod template of a workload patch: what pins the pods to their pool.
pub struct PodTemplatePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Labels added to the pods (the pool label).
    pub metadata: Option<ObjectMeta>,
    /// The scheduling fields of the pod spec.
    pub spec: PodSpecPatch,
}

/// The pod-spec fields tierplan sets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodSpecPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The pool's node label, required.
    pub node_selector: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Anti-affinity and node affinity the plan needs.
    pub affinity: Option<Affinity>,
    /// The toleration of the pool's taint.
    pub tolerations: Vec<Toleration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    /// Zone spreading for `minZones`.
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
}

impl WorkloadPatch {
    /// The patched pod template, wherever the kind keeps it.
    pub fn pod_template(&self) -> Option<&PodTemplatePatch> {
        self.spec
            .template
            .as_ref()
            .or(self.spec.job_template.as_ref().map(|j| &j.spec.template))
    }
}

/// The label value naming `w` on its pods: `<namespace>.<name>` (a namespace has no dot, so
/// no two workloads share one).
pub fn workload_label(w: &Workload) -> Result<String, EmitError> {
    let value = format!("{}.{}", w.namespace, w.name);
    check_name("workload label value", &value, names::label_value_problem)?;
    Ok(value)
}

/// Every file under `workloads/` and `NOTES.txt`, as (path, content).
///
/// One patch file per namespace, a document per workload sorted by name: kustomize applies
/// every document of a `patches` file to its own target (kustomize
/// `plugin/builtin/patchtransformer/PatchTransformer.go`: `Config` reads the file with
/// `SliceFromBytes`, `Transform` applies each patch in turn). A file per workload cost a
/// large plan tens of thousands of files, and creating them outweighed planning.
pub fn files(model: &Model, plan: &Plan) -> Result<Vec<(String, String)>, EmitError> {
    let mut by_namespace: BTreeMap<&str, Vec<(&str, WorkloadPatch)>> = BTreeMap::new();
    let mut targets: BTreeSet<(Controller, &str, &str)> = BTreeSet::new();
    let mut notes: Vec<String> = Vec::new();
    let pool_of = pools_by_workload(plan);
    for w in &model.workloads {
        let Some(&pool) = pool_of.get(w.id.as_str()) else {
            return Err(EmitError::Workload {
                workload: w.id.clone(),
                problem: "is in no pool of the plan".into(),
            });
        };
        // Platform workloads are not pinned: their capacity is reserved on untainted nodes,
        // where their pods land as unplanned pods do.
        if pool.platform {
            continue;
        }
        let patch = workload_patch(model, w, pool)?;
        targets.insert((w.controller, &w.namespace, &w.name));
        by_namespace
            .entry(&w.namespace)
            .or_default()
            .push((&w.name, patch));
        notes.extend(unexpressed(model, w));
    }
    // System DaemonSets get no patch: narrowing their tolerations would keep them off new
    // nodes (a new node carries `node.kubernetes.io/not-ready:NoSchedule`, which the
    // DaemonSet controller tolerates only as NoExecute), and a node without its CNI never
    // becomes Ready. Admission exempts their pods by who creates them instead.
    for ds in &model.policy.system_daemon_sets {
        if targets.contains(&(
            Controller::DaemonSet,
            ds.namespace.as_str(),
            ds.name.as_str(),
        )) {
            return Err(EmitError::Workload {
                workload: format!("{}/{}", ds.namespace, ds.name),
                problem: "is both a planned workload and a system DaemonSet".into(),
            });
        }
    }
    let mut files: Vec<(String, String)> = Vec::with_capacity(by_namespace.len() + 2);
    for (namespace, mut patches) in by_namespace {
        check_name("namespace", namespace, names::dns_label_problem)?;
        patches.sort_by_key(|(name, _)| *name);
        for pair in patches.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(EmitError::Workload {
                    workload: format!("{namespace}/{}", pair[0].0),
                    problem: "is planned twice".into(),
                });
            }
        }
        let docs: Vec<&WorkloadPatch> = patches.iter().map(|(_, patch)| patch).collect();
        files.push((
            format!("{DIR}/{PATCHES}/{namespace}.yaml"),
            documents(&docs),
        ));
    }
    let component = Kustomization {
        api_version: "kustomize.config.k8s.io/v1alpha1",
        kind: "Component",
        resources: Vec::new(),
        patches: files
            .iter()
            .map(|(path, _)| PatchRef {
                path: path[DIR.len() + 1..].to_string(),
            })
            .collect(),
    };
    files.push((
        format!("{DIR}/kustomization.yaml"),
        format!("{COMPONENT_HEADER}{}", documents(&[&component])),
    ));
    files.push(("NOTES.txt".into(), notes_text(model, plan, &notes)));
    Ok(files)
}

fn workload_patch(model: &Model, w: &Workload, pool: &Pool) -> Result<WorkloadPatch, EmitError> {
    let required = policy::required_labels(model, w).map_err(|problem| EmitError::Workload {
        workload: w.id.clone(),
        problem: problem.to_string(),
    })?;
    if required.contains_key(POOL_LABEL) {
        return Err(EmitError::Workload {
            workload: w.id.clone(),
            problem: format!("requires the node label `{POOL_LABEL}`, which tierplan sets"),
        });
    }
    let label = workload_label(w)?;
    // The DaemonSet controller replaces a pod's required node affinity by a term naming one
    // node, so a workload it runs stays pinned only through nodeSelector (which is ANDed
    // with that term). Its pods are one per node anyway, so spread and maxPerNode do not
    // apply.
    let daemon = w.controller == Controller::DaemonSet;
    let mut pod_anti: Vec<PodAffinityTerm> = Vec::new();
    if w.max_per_node == Some(1) && !daemon {
        pod_anti.push(host_term(&w.namespace, &label));
    }
    for &other in &w.anti_affinity {
        let o = &model.workloads[other];
        pod_anti.push(host_term(&o.namespace, &workload_label(o)?));
    }
    let (node_selector, node_affinity) = if daemon {
        let mut selector = required.clone();
        selector.insert(POOL_LABEL.into(), pool.name.clone());
        (Some(selector), None)
    } else {
        let mut expressions = vec![requirement(POOL_LABEL, &pool.name)];
        expressions.extend(required.iter().map(|(k, v)| requirement(k, v)));
        let affinity = NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: pinned_terms(w, &expressions)?,
            }),
            ..Default::default()
        };
        (None, Some(affinity))
    };
    let affinity = Affinity {
        node_affinity,
        pod_affinity: None,
        pod_anti_affinity: (!pod_anti.is_empty()).then(|| PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(pod_anti),
            ..Default::default()
        }),
    };
    // A strategic merge patch replaces `tolerations` whole (no patch merge key in
    // k8s.io/api core/v1 types.go), so the workload's own tolerations, which admitted it to
    // its nodes' other taints, go beside the pool's.
    let mut tolerations = vec![pool_toleration(&pool.name)];
    tolerations.extend(w.tolerations.iter().map(own_toleration));
    let zones = w.min_zones.unwrap_or(1).min(w.replicas);
    let spread = if zones >= 2 && !daemon {
        vec![zone_spread(&label, w.replicas, zones)]
    } else {
        Vec::new()
    };
    let template = PodTemplatePatch {
        metadata: Some(ObjectMeta {
            labels: Some(BTreeMap::from([
                (POD_POOL_LABEL.to_string(), pool.name.clone()),
                (WORKLOAD_LABEL.to_string(), label),
            ])),
            ..Default::default()
        }),
        spec: PodSpecPatch {
            node_selector,
            affinity: (affinity != Affinity::default()).then_some(affinity),
            tolerations,
            topology_spread_constraints: spread,
        },
    };
    Ok(target(w.controller, &w.namespace, &w.name, template))
}

fn target(
    controller: Controller,
    namespace: &str,
    name: &str,
    template: PodTemplatePatch,
) -> WorkloadPatch {
    let spec = match controller {
        Controller::CronJob => ControllerSpecPatch {
            template: None,
            job_template: Some(JobTemplatePatch {
                spec: JobSpecPatch { template },
            }),
        },
        _ => ControllerSpecPatch {
            template: Some(template),
            job_template: None,
        },
    };
    WorkloadPatch {
        api_version: controller.api_version().into(),
        kind: controller.kind().into(),
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..Default::default()
        },
        spec,
    }
}

/// The one toleration of a pool's taint: by key and value, never a wildcard.
pub(super) fn pool_toleration(pool: &str) -> Toleration {
    Toleration {
        key: Some(POOL_TAINT_KEY.into()),
        operator: Some("Equal".into()),
        value: Some(pool.into()),
        effect: Some("NoSchedule".into()),
        toleration_seconds: None,
    }
}

/// The workload's own toleration as written in a pod spec.
fn own_toleration(t: &ModelToleration) -> Toleration {
    let (operator, value) = match &t.operator {
        TolerationOperator::Equal(v) => ("Equal", Some(v.clone())),
        TolerationOperator::Exists => ("Exists", None),
    };
    Toleration {
        key: Some(t.key.clone()).filter(|k| !k.is_empty()),
        operator: Some(operator.into()),
        value,
        effect: t.effect.clone(),
        toleration_seconds: None,
    }
}

/// The required node-affinity terms that pin `w` to its pool: `pin` (the pool's label and the
/// required labels) alone when the workload has no node affinity of its own, else `pin` ANDed
/// into each of its terms. The patch replaces `nodeSelectorTerms` whole (no merge key), and
/// the terms are ORed, so the pool must be in every one. An empty term matches no node in
/// Kubernetes; given the pool's expressions it would match, so it is left out.
fn pinned_terms(
    w: &Workload,
    pin: &[NodeSelectorRequirement],
) -> Result<Vec<NodeSelectorTerm>, EmitError> {
    let term = |own: &[LabelExpression]| NodeSelectorTerm {
        match_expressions: Some(
            pin.iter()
                .cloned()
                .chain(own.iter().map(expression))
                .collect(),
        ),
        match_fields: None,
    };
    if w.node_affinity.is_empty() {
        return Ok(vec![term(&[])]);
    }
    let terms: Vec<NodeSelectorTerm> = w
        .node_affinity
        .iter()
        .filter(|t| !t.expressions.is_empty())
        .map(|t| term(&t.expressions))
        .collect();
    if terms.is_empty() {
        return Err(EmitError::Workload {
            workload: w.id.clone(),
            problem: "every term of its nodeAffinity is empty, so no node can host it".into(),
        });
    }
    Ok(terms)
}

fn expression(e: &LabelExpression) -> NodeSelectorRequirement {
    let values = e.operator.values();
    NodeSelectorRequirement {
        key: e.key.clone(),
        operator: e.operator.as_str().into(),
        values: (!values.is_empty()).then_some(values),
    }
}

fn requirement(key: &str, value: &str) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: key.into(),
        operator: "In".into(),
        values: Some(vec![value.into()]),
    }
}

/// Required pod anti-affinity on the host against the pods labelled `label` in `namespace`.
fn host_term(namespace: &str, label: &str) -> PodAffinityTerm {
    PodAffinityTerm {
        label_selector: Some(selector(label)),
        namespaces: Some(vec![namespace.into()]),
        topology_key: HOSTNAME_LABEL.into(),
        ..Default::default()
    }
}

fn selector(label: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(WORKLOAD_LABEL.to_string(), label.into())])),
        match_expressions: None,
    }
}

/// `minZones` as a zone spread: `minDomains` = k counts missing zones as empty, and with
/// `maxSkew` = ⌊(n−1)/(k−1)⌋ any k−1 zones hold fewer than n replicas, so the n replicas use
/// at least k zones. It is the loosest skew that guarantees that: a plan need not spread
/// evenly, and neither need the scheduler. `nodeTaintsPolicy: Honor` counts only the zones of
/// nodes the pod tolerates (its pool's); the default, Ignore, would count other pools' zones.
fn zone_spread(label: &str, replicas: u32, zones: u32) -> TopologySpreadConstraint {
    TopologySpreadConstraint {
        label_selector: Some(selector(label)),
        max_skew: ((replicas - 1) / (zones - 1)) as i32,
        min_domains: Some(zones as i32),
        node_affinity_policy: Some("Honor".into()),
        node_taints_policy: Some("Honor".into()),
        topology_key: ZONE_LABEL.into(),
        when_unsatisfiable: "DoNotSchedule".into(),
        match_label_keys: None,
    }
}

/// The workload's rules that no Kubernetes field expresses.
fn unexpressed(model: &Model, w: &Workload) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(k) = w.max_per_node.filter(|&k| k > 1) {
        out.push(format!(
            "{}: maxPerNode {k} (Kubernetes can only limit a workload to one pod per node)",
            w.id
        ));
    }
    for &(other, k) in &w.co_location {
        out.push(format!(
            "{}: coLocation at most {k} of {} on its nodes (no Kubernetes equivalent)",
            w.id, model.workloads[other].id
        ));
    }
    out
}

fn notes_text(model: &Model, plan: &Plan, unexpressed: &[String]) -> String {
    let mut s = String::from(NOTES_HEADER);
    s.push_str("\nRules of the plan that these manifests cannot enforce (the scheduler may place\nreplicas so that they break; the plan's own placement keeps them):\n");
    if unexpressed.is_empty() {
        s.push_str("  none\n");
    }
    for line in unexpressed {
        s.push_str(&format!("  - {line}\n"));
    }
    s.push_str(
        "\nCross-tier exceptions: system DaemonSets, left with their own tolerations, which run\non every node of every pool (admission exempts only pods their controller creates):\n",
    );
    if model.policy.system_daemon_sets.is_empty() {
        s.push_str("  none\n");
    }
    for ds in &model.policy.system_daemon_sets {
        s.push_str(&format!("  - {}/{}\n", ds.namespace, ds.name));
    }
    if !model.policy.system_daemon_sets.is_empty() {
        s.push_str(&format!(
            "Each must tolerate the pool taints in its own manifest: most CNI, kube-proxy and\n\
             agent DaemonSets tolerate every taint (operator: Exists); one that tolerates only\n\
             some (the NVIDIA device plugin tolerates nvidia.com/gpu) needs\n\
             {{key: {POOL_TAINT_KEY}, operator: Exists}} added.\n"
        ));
    }
    s.push_str(&format!(
        "\nPlatform workloads, unpinned (no patch): the plan reserves their capacity on the nodes\n\
         of pool {PLATFORM_POOL}, which carry no pool label or taint, so any pod no tier pins runs\n\
         there too:\n"
    ));
    let platform: Vec<&String> = plan
        .pools
        .iter()
        .filter(|p| p.platform)
        .flat_map(|p| &p.workloads)
        .collect();
    if platform.is_empty() {
        s.push_str("  none: pods no tier pins have only the nodes in no pool\n");
    }
    for id in platform {
        s.push_str(&format!("  - {id}\n"));
    }
    s.push('\n');
    s.push_str(&wrap(&admission_note(model), "", ""));
    s.push('\n');
    s.push_str(&wrap(
        &format!(
            "Namespaces whose workloads are in several pools. {}:",
            boundary::MEANING
        ),
        "",
        "",
    ));
    let spans = boundary::namespace_spans(model, plan);
    if spans.is_empty() {
        s.push_str("  none\n");
    }
    for span in &spans {
        s.push_str(&wrap(&span.to_string(), "  - ", "    "));
    }
    s
}

/// `text` in lines of at most `NOTES_WIDTH` columns, the first after `first`, the others
/// after `rest`; a word longer than a line stays whole.
fn wrap(text: &str, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.len() + 1 + word.len() > NOTES_WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// Width of NOTES.txt, as its header.
const NOTES_WIDTH: usize = 90;

/// How admission/binding.yaml binds the policy, and why.
fn admission_note(model: &Model) -> String {
    let p = &model.policy;
    let why = match (p.admission, p.system_daemon_sets.is_empty()) {
        (Enforcement::Deny, _) => "pods that escape their pool are rejected",
        (Enforcement::Warn, true) => {
            "pods that escape their pool are only warned about and audited, because the Policy \
             lists no systemDaemonSets and the policy would deny the pods of every DaemonSet that \
             tolerates every taint (CNI, kube-proxy, CSI node plugins, log, monitoring and \
             security agents); list them in spec.systemDaemonSets, or set spec.admission: deny, \
             and plan again to enforce it"
        }
        (Enforcement::Warn, false) => {
            "pods that escape their pool are only warned about and audited (spec.admission: \
             warn); set it to deny and plan again to enforce it"
        }
    };
    format!(
        "Admission: admission/binding.yaml binds the policy with validationActions [{}]: \
         {why}.",
        admission::validation_actions(model).join(", ")
    )
}

const NOTES_HEADER: &str = "\
Written by tierplan. What the manifests in this directory do not do by themselves.

Every planned workload's pod template gets, through workloads/ (a kustomize Component):
its pool's toleration, required node affinity on its pool's label, and its rules as pod
anti-affinity and zone spread. The patches replace the pod's tolerations and required
node-affinity terms (both are atomic lists under strategic merge): add to a patch any
toleration the workload still needs, never one of another pool's taint.
";

const COMPONENT_HEADER: &str = "\
# Written by tierplan: strategic-merge patches that pin each planned workload's pods to its
# pool. System DaemonSets are left as they are. Layer them onto your own manifests
# with a kustomization of your own:
#
#   apiVersion: kustomize.config.k8s.io/v1beta1
#   kind: Kustomization
#   resources: [your manifests]
#   components: [path/to/manifests/workloads]
#
# Every patch names its object (kind, namespace, name), which must be among your resources.
# A patch replaces the pod's tolerations and required node-affinity terms, so what decides
# isolation is the patch alone; a nodeSelector of yours still applies and only narrows.
";
