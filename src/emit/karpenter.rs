//! `karpenter/<pool>.yaml`: a `karpenter.sh/v1` NodePool for each pool that buys nodes, so
//! that Karpenter launches exactly the kinds of node the plan chose, already labelled and
//! tainted for their pool.
//!
//! The types follow the v1 CRD (kubernetes-sigs/karpenter `pkg/apis/v1/nodepool.go`, and the
//! `openAPIV3Schema` of `karpenter.sh_nodepools.yaml`), with only the fields tierplan sets.
//! Pools are mutually exclusive: a NodePool's nodes carry their pool's label and taint, and
//! a planned pod requires its own pool's label, so no pod matches two NodePools.
//!
//! The pool label lives under `node-restriction.kubernetes.io/`. Karpenter refuses template
//! labels and requirements in the `kubernetes.io` domain except well-known labels and its
//! `LabelDomainExceptions`, which list `node-restriction.kubernetes.io` (and the CRD's CEL
//! rules allow keys whose domain ends with it), because the kubelet may not set them itself
//! and Karpenter syncs them onto the Node centrally.

use super::{check_name, documents, EmitError, POOL_LABEL};
use crate::model::{names, Model, INSTANCE_TYPE_LABEL, ZONE_LABEL};
use crate::plan::{Plan, Pool};
use crate::policy;
use crate::quantity::{self, Unit};
use k8s_openapi::api::core::v1::Taint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const API_VERSION: &str = "karpenter.sh/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodePool {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: NodePoolSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodePoolSpec {
    pub template: NodeClaimTemplate,
    pub disruption: Disruption,
    /// Resource name → Kubernetes quantity: Karpenter launches no node past these.
    pub limits: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeClaimTemplate {
    pub metadata: TemplateMetadata,
    pub spec: NodeClaimTemplateSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateMetadata {
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeClaimTemplateSpec {
    pub node_class_ref: NodeClassReference,
    pub requirements: Vec<Requirement>,
    pub taints: Vec<Taint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeClassReference {
    pub group: String,
    pub kind: String,
    pub name: String,
}

/// A `NodeSelectorRequirementWithMinValues` without `minValues`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    /// Empty for `Exists` and `DoesNotExist`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Disruption {
    pub consolidation_policy: String,
    pub consolidate_after: String,
}

/// `karpenter/<pool>.yaml` for each pool with nodes to buy.
pub fn files(model: &Model, plan: &Plan) -> Result<Vec<(String, String)>, EmitError> {
    let mut out = Vec::new();
    for pool in plan.pools.iter().filter(|p| !p.node_types.is_empty()) {
        let node_pool = node_pool(model, pool)?;
        out.push((
            format!("karpenter/{}.yaml", pool.name),
            documents(&[&node_pool]),
        ));
    }
    Ok(out)
}

pub fn node_pool(model: &Model, pool: &Pool) -> Result<NodePool, EmitError> {
    let err = |problem: String| EmitError::Pool {
        pool: pool.name.clone(),
        problem,
    };
    let types: BTreeSet<&str> = pool
        .node_types
        .iter()
        .map(|b| b.node_type.as_str())
        .collect();
    let zones: BTreeSet<&str> = pool.node_types.iter().map(|b| b.zone.as_str()).collect();
    for t in &types {
        check_name("instance type", t, names::label_value_problem)?;
    }
    for z in &zones {
        check_name("zone", z, names::label_value_problem)?;
    }
    let mut requirements = vec![
        requirement(INSTANCE_TYPE_LABEL, types.iter().copied()),
        requirement(ZONE_LABEL, zones.iter().copied()),
    ];
    // The labels the pool's workloads require, each with every value some workload needs:
    // without them Karpenter would find no NodePool for those pods. Instance type and zone
    // are already the plan's own choice.
    let mut required: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for id in &pool.workloads {
        let Some(w) = model.workload_index(id).map(|i| &model.workloads[i]) else {
            return Err(err(format!(
                "lists workload `{id}`, which is not in the input"
            )));
        };
        let labels = policy::required_labels(model, w).map_err(|p| err(format!("{id}: {p}")))?;
        for (k, v) in labels {
            required.entry(k).or_default().insert(v);
        }
    }
    for (key, values) in &required {
        if key == INSTANCE_TYPE_LABEL || key == ZONE_LABEL {
            continue;
        }
        if key == POOL_LABEL {
            return Err(err(format!(
                "a workload requires `{POOL_LABEL}`, which tierplan sets"
            )));
        }
        if let Some(problem) = restricted(key) {
            return Err(err(format!("required label `{key}`: {problem}")));
        }
        requirements.push(requirement(key, values.iter().map(String::as_str)));
    }
    let mut limits = BTreeMap::new();
    for resource in ["cpu", "memory"] {
        let Some(r) = model.resource_id(resource) else {
            continue;
        };
        let mut total: Option<u64> = None;
        for bought in pool.bought_nodes() {
            let Some(t) = model.node_type_index(bought.node_type) else {
                return Err(err(format!(
                    "buys node type `{}`, which is not in the input",
                    bought.node_type
                )));
            };
            if let Some(a) = model.node_types[t].allocatable[r] {
                total = Some(total.unwrap_or(0).saturating_add(a));
            }
        }
        if let Some(total) = total {
            limits.insert(
                resource.to_string(),
                quantity::format(total, Unit::for_resource(resource)),
            );
        }
    }
    // The platform pool's nodes carry no pool label or taint, so that pods the plan does not
    // cover can run there. Its NodePool requires the pool label to be absent, which keeps
    // every tiered pod (it requires its pool's label) from matching it; unplanned pods, which
    // tolerate no pool taint, match only it (karpenter.sh docs, concepts/nodepools: a NodePool
    // whose taint a pod does not tolerate is not used for it).
    let (labels, taints) = if pool.platform {
        requirements.push(Requirement {
            key: POOL_LABEL.into(),
            operator: "DoesNotExist".into(),
            values: Vec::new(),
        });
        (BTreeMap::new(), Vec::new())
    } else {
        (
            BTreeMap::from([(POOL_LABEL.to_string(), pool.name.clone())]),
            vec![super::nodes::pool_taint(&pool.name)],
        )
    };
    let class = &model.policy.karpenter_node_class;
    Ok(NodePool {
        api_version: API_VERSION.into(),
        kind: "NodePool".into(),
        metadata: ObjectMeta {
            name: Some(pool.name.clone()),
            ..Default::default()
        },
        spec: NodePoolSpec {
            template: NodeClaimTemplate {
                metadata: TemplateMetadata { labels },
                spec: NodeClaimTemplateSpec {
                    node_class_ref: NodeClassReference {
                        group: class.group.clone(),
                        kind: class.kind.clone(),
                        name: class.name.clone(),
                    },
                    requirements,
                    taints,
                },
            },
            // The plan's limits hold the headroom nodes already, so consolidation may only
            // replace or remove nodes, never grow the pool past its plan.
            disruption: Disruption {
                consolidation_policy: "WhenEmptyOrUnderutilized".into(),
                consolidate_after: "5m".into(),
            },
            limits,
        },
    })
}

fn requirement<'a>(key: &str, values: impl Iterator<Item = &'a str>) -> Requirement {
    Requirement {
        key: key.into(),
        operator: "In".into(),
        values: values.map(String::from).collect(),
    }
}

/// Why Karpenter refuses `key` in a NodePool requirement: the CEL rules of the v1 CRD's
/// `requirements[].key` (provider CRDs add rules for their own domains, such as
/// `karpenter.k8s.aws`, which are not checked here).
fn restricted(key: &str) -> Option<String> {
    const WELL_KNOWN: [&str; 11] = [
        "beta.kubernetes.io/instance-type",
        "failure-domain.beta.kubernetes.io/region",
        "beta.kubernetes.io/os",
        "beta.kubernetes.io/arch",
        "failure-domain.beta.kubernetes.io/zone",
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "node.kubernetes.io/instance-type",
        "kubernetes.io/arch",
        "kubernetes.io/os",
        "node.kubernetes.io/windows-build",
    ];
    // The CRD's `self.find("^([^/]+)")`: everything before the first `/`.
    let domain = key.split('/').next().unwrap_or(key);
    let kubernetes_ok = WELL_KNOWN.contains(&key)
        || domain.ends_with("node.kubernetes.io")
        || domain.ends_with("node-restriction.kubernetes.io")
        || !domain.ends_with("kubernetes.io");
    if !kubernetes_ok {
        return Some("Karpenter restricts the label domain \"kubernetes.io\"".into());
    }
    if !domain.ends_with("kops.k8s.io") && domain.ends_with("k8s.io") {
        return Some("Karpenter restricts the label domain \"k8s.io\"".into());
    }
    if key == "karpenter.sh/nodepool"
        || (key != "karpenter.sh/capacity-type" && domain.ends_with("karpenter.sh"))
    {
        return Some("Karpenter restricts the label domain \"karpenter.sh\"".into());
    }
    if key == "kubernetes.io/hostname" {
        return Some("Karpenter restricts the label \"kubernetes.io/hostname\"".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::restricted;

    #[test]
    fn karpenter_label_domains_follow_the_crd_rules() {
        for ok in [
            super::POOL_LABEL,
            "tierplan.io/host-os",
            "node.kubernetes.io/instance-type",
            "kubernetes.io/arch",
            "kops.k8s.io/x",
            "karpenter.sh/capacity-type",
            "gpu",
        ] {
            assert_eq!(restricted(ok), None, "{ok}");
        }
        for bad in [
            "kubernetes.io/hostname",
            "example.kubernetes.io/x",
            "foo.k8s.io/x",
            "karpenter.sh/nodepool",
            "karpenter.sh/other",
        ] {
            assert!(restricted(bad).is_some(), "{bad}");
        }
    }
}
