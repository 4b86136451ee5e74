//! `karpenter/<nodepool>.yaml`: `karpenter.sh/v1` NodePools for each pool that buys nodes,
//! one per node class its nodes use, so that Karpenter launches exactly the kinds of node the
//! plan chose (instance type, node class, zone), already labelled and tainted for their pool,
//! and no more than the plan's capacity.
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
use crate::model::{names, Model, NodeClassRef, NodeType, INSTANCE_TYPE_LABEL, ZONE_LABEL};
use crate::plan::{Bought, Plan, Pool};
use crate::policy;
use crate::quantity::{self, Unit};
use k8s_openapi::api::core::v1::Taint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const API_VERSION: &str = "karpenter.sh/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
/// A Karpenter `NodePool` (karpenter.sh/v1) that buys one pool's nodes of one node class.
pub struct NodePool {
    /// `karpenter.sh/v1`.
    pub api_version: String,
    /// `NodePool`.
    pub kind: String,
    /// Its name and labels.
    pub metadata: ObjectMeta,
    /// What it launches and how many.
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
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Disruption {
    pub consolidation_policy: String,
    pub consolidate_after: String,
    pub budgets: Vec<Budget>,
}

/// A disruption budget: at most `nodes` nodes of the NodePool disrupted at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub nodes: String,
}

/// `karpenter/<nodepool>.yaml` for each pool with nodes to buy.
pub fn files(model: &Model, plan: &Plan) -> Result<Vec<(String, String)>, EmitError> {
    let mut out = Vec::new();
    for pool in plan.pools.iter().filter(|p| !p.node_types.is_empty()) {
        for node_pool in node_pools(model, pool)? {
            let name = node_pool.metadata.name.clone().unwrap_or_default();
            out.push((format!("karpenter/{name}.yaml"), documents(&[&node_pool])));
        }
    }
    Ok(out)
}

/// The NodePools of a pool: one per node class its bought nodes use, since a
/// NodePool launches every node with its one `nodeClassRef`. Each is named after the pool,
/// with the class's name when the pool has several.
pub fn node_pools(model: &Model, pool: &Pool) -> Result<Vec<NodePool>, EmitError> {
    let err = |problem: String| EmitError::Pool {
        pool: pool.name.clone(),
        problem,
    };
    for id in &pool.workloads {
        let Some(w) = model.workload_index(id).map(|i| &model.workloads[i]) else {
            return Err(err(format!(
                "lists workload `{id}`, which is not in the input"
            )));
        };
        let labels = policy::required_labels(model, w).map_err(|p| err(format!("{id}: {p}")))?;
        if labels.contains_key(POOL_LABEL) {
            return Err(err(format!(
                "a workload requires `{POOL_LABEL}`, which tierplan sets"
            )));
        }
    }
    let mut by_class: BTreeMap<&NodeClassRef, Vec<&Bought>> = BTreeMap::new();
    for bought in &pool.node_types {
        let Some(t) = model.node_type_index(&bought.node_type) else {
            return Err(err(format!(
                "buys node type `{}`, which is not in the input",
                bought.node_type
            )));
        };
        by_class
            .entry(&model.node_types[t].node_class)
            .or_default()
            .push(bought);
    }
    let names = node_pool_names(&pool.name, by_class.keys().copied());
    // The platform pool's nodes carry no pool label or taint, so that pods the plan does not
    // cover can run there (karpenter.sh docs, concepts/nodepools: a NodePool whose taint a
    // pod does not tolerate is not used for it, so unplanned pods match only this one).
    let taints = match pool.platform {
        true => Vec::new(),
        false => vec![super::nodes::pool_taint(&pool.name)],
    };
    by_class
        .into_iter()
        .zip(names)
        .map(|((class, bought), name)| node_pool(model, pool, name, class, &bought, &taints))
        .collect()
}

/// The name of each class's NodePool, in the order of `classes`: the pool's own name for a
/// single class, else `<pool>-<class>`, or `<pool>-<n>` when those would not be distinct
/// valid names (the `karpenter.sh/nodepool` label value of its nodes, at most 63 characters).
fn node_pool_names<'a>(
    pool: &str,
    classes: impl ExactSizeIterator<Item = &'a NodeClassRef>,
) -> Vec<String> {
    let n = classes.len();
    if n == 1 {
        return vec![pool.to_string()];
    }
    let named: Vec<String> = classes.map(|c| format!("{pool}-{}", c.name)).collect();
    let distinct: BTreeSet<&String> = named.iter().collect();
    let valid = named.iter().all(|name| {
        names::label_value_problem(name).is_none() && names::dns_subdomain_problem(name).is_none()
    });
    if valid && distinct.len() == n {
        named
    } else {
        let stem: String = pool.chars().take(63 - 1 - n.to_string().len()).collect();
        (1..=n).map(|i| format!("{stem}-{i}")).collect()
    }
}

/// A NodePool that buys `bought` (nodes of `class`) for `pool`, its nodes labelled for the
/// pool and carrying `taints`.
fn node_pool(
    model: &Model,
    pool: &Pool,
    name: String,
    class: &NodeClassRef,
    bought: &[&Bought],
    taints: &[Taint],
) -> Result<NodePool, EmitError> {
    let err = |problem: String| EmitError::Pool {
        pool: pool.name.clone(),
        problem,
    };
    let types: Vec<&NodeType> = bought
        .iter()
        .filter_map(|b| model.node_type_index(&b.node_type))
        .map(|t| &model.node_types[t])
        .collect();
    let instance_types: BTreeSet<&str> = types.iter().map(|t| t.instance_type.as_str()).collect();
    let zones: BTreeSet<&str> = bought.iter().map(|b| b.zone.as_str()).collect();
    for t in &instance_types {
        check_name("instance type", t, names::label_value_problem)?;
    }
    for z in &zones {
        check_name("zone", z, names::label_value_problem)?;
    }
    // Instance type and zone are the plan's own choice; every other label a workload
    // requires is one the node class guarantees (the input refuses any other on a type), so
    // the template writes exactly the class's labels: Karpenter then launches for the pods
    // that require them, and only with this class.
    let mut labels = BTreeMap::new();
    let mut requirements = vec![
        requirement(INSTANCE_TYPE_LABEL, instance_types.iter().copied()),
        requirement(ZONE_LABEL, zones.iter().copied()),
    ];
    if pool.platform {
        // Every tiered pod requires its pool's label: requiring its absence keeps them all
        // from making Karpenter launch a platform node.
        requirements.push(Requirement {
            key: POOL_LABEL.into(),
            operator: "DoesNotExist".into(),
            values: Vec::new(),
        });
    } else {
        labels.insert(POOL_LABEL.to_string(), pool.name.clone());
    }
    for (key, value) in model
        .policy
        .node_class_labels
        .get(class)
        .into_iter()
        .flatten()
    {
        if let Some(problem) = restricted(key) {
            return Err(err(format!(
                "label `{key}` of node class `{}`: {problem}",
                class.name
            )));
        }
        labels.insert(key.clone(), value.clone());
    }
    // Karpenter counts a NodePool's nodes against its limits by their capacity
    // (kubernetes-sigs/karpenter `pkg/controllers/state/cluster.go`,
    // `updateNodePoolResources`) and launches no instance type whose capacity exceeds what
    // is left (`filterByRemainingResources` in `pkg/controllers/provisioning/scheduling/
    // scheduler.go`), so the limits are the planned nodes' capacity, not their allocatable.
    let mut limits = BTreeMap::new();
    for resource in ["cpu", "memory"] {
        let Some(r) = model.resource_id(resource) else {
            continue;
        };
        let mut total: Option<u64> = None;
        for (b, t) in bought.iter().zip(&types) {
            if let Some(c) = t.capacity[r] {
                total = Some(
                    total
                        .unwrap_or(0)
                        .saturating_add(c.saturating_mul(u64::from(b.count))),
                );
            }
        }
        if let Some(total) = total {
            limits.insert(
                resource.to_string(),
                quantity::format(total, Unit::for_resource(resource)),
            );
        }
    }
    Ok(NodePool {
        api_version: API_VERSION.into(),
        kind: "NodePool".into(),
        metadata: ObjectMeta {
            name: Some(name),
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
                    taints: taints.to_vec(),
                },
            },
            // The limits hold the headroom nodes, which the placeholders of `headroom/` keep
            // busy, so no planned node is ever empty: consolidation removes only nodes that a
            // workload left, and the budget lets drift (a new AMI) replace one node at a time,
            // which the plan's headroom absorbs.
            disruption: Disruption {
                consolidation_policy: "WhenEmpty".into(),
                consolidate_after: "5m".into(),
                budgets: vec![Budget { nodes: "1".into() }],
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
