//! Kubernetes manifests that make the cluster enforce a plan: node labels and taints, patches
//! that pin each workload to its pool, an admission policy, and Karpenter NodePools.
//!
//! Owns the `manifests/` directory's layout and content. Every object is a typed k8s-openapi
//! value (or, for Karpenter, a typed struct of this module), serialised in a stable order.
//! It reads the model and the plan only; the proof in `sched` re-reads what is written here.
//!
//! Layout of `manifests/` (`kubectl kustomize manifests/` builds it):
//! - `kustomization.yaml`: the cluster-wide objects below;
//! - `nodes.yaml`: one `v1 Node` per inventory node in a pool, with the pool label and taint;
//! - `rollback/nodes.yaml`: the same Nodes bare, to take tierplan's labels and taints off;
//! - `admission/policy.yaml`, `admission/binding.yaml`: the ValidatingAdmissionPolicy;
//! - `karpenter/<pool>.yaml`: one NodePool per pool that buys nodes (catalog mode);
//! - `workloads/`: a kustomize Component of strategic-merge patches, one per workload and
//!   system DaemonSet, to layer onto the user's own manifests.

pub mod admission;

/// Node label naming a node's pool. Under `node-restriction.kubernetes.io/` so that the
/// NodeRestriction admission plugin keeps a node's kubelet from relabelling it.
pub const POOL_LABEL: &str = "node-restriction.kubernetes.io/tierplan-pool";
/// Taint key of a pool's nodes (value: the pool name, effect: `NoSchedule`).
pub const POOL_TAINT_KEY: &str = "node-restriction.kubernetes.io/tierplan-pool";
/// Pod-template label naming the pool a workload's pods belong to (read by the admission
/// policy).
pub const POD_POOL_LABEL: &str = "tierplan.io/pool";
/// Field manager for server-side apply of `nodes.yaml`.
pub const FIELD_MANAGER: &str = "tierplan";

mod karpenter;
mod nodes;
mod workloads;

pub use karpenter::NodePool;
pub use workloads::{PodSpecPatch, PodTemplatePatch, WorkloadPatch};

use crate::model::{names, Model};
use crate::plan::{Plan, Pool, Status};
use serde::{Deserialize, Serialize};

/// Pod-template label naming the workload (`<namespace>.<name>`), which pod anti-affinity and
/// topology spread select on: a workload's own manifests need not carry any label tierplan
/// could rely on.
pub const WORKLOAD_LABEL: &str = "tierplan.io/workload";

/// Why manifests cannot be emitted. Input strings that would make an invalid name or label
/// are refused, never rewritten: a rewrite could make two names collide.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("the plan is infeasible; manifests are written only for plans that place every replica and meet every pool rule")]
    Infeasible,
    #[error("{what} `{value}` is not valid: {problem}")]
    InvalidName {
        what: &'static str,
        value: String,
        problem: String,
    },
    #[error("workload `{workload}`: {problem}")]
    Workload { workload: String, problem: String },
    #[error("pool `{pool}`: {problem}")]
    Pool { pool: String, problem: String },
}

/// Every file of `manifests/`: (path relative to `manifests/`, content), sorted by path. The
/// same model and plan always give the same bytes.
pub fn manifests(model: &Model, plan: &Plan) -> Result<Vec<(String, String)>, EmitError> {
    if plan.status == Status::Infeasible {
        return Err(EmitError::Infeasible);
    }
    for pool in &plan.pools {
        check_name("pool name", &pool.name, names::dns_label_problem)?;
    }
    let mut files: Vec<(String, String)> = Vec::new();
    let mut resources: Vec<String> = Vec::new();
    if let Some((apply, rollback)) = nodes::files(model, plan)? {
        files.push((nodes::FILE.into(), apply));
        files.push((nodes::ROLLBACK_FILE.into(), rollback));
        resources.push(nodes::FILE.into());
    }
    let (policy, binding) = admission::objects(model, plan);
    files.push(("admission/policy.yaml".into(), documents(&[&policy])));
    files.push(("admission/binding.yaml".into(), documents(&[&binding])));
    resources.push("admission/policy.yaml".into());
    resources.push("admission/binding.yaml".into());
    for (path, text) in karpenter::files(model, plan)? {
        resources.push(path.clone());
        files.push((path, text));
    }
    files.extend(workloads::files(model, plan)?);
    let kustomization = Kustomization {
        api_version: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources,
        patches: Vec::new(),
    };
    files.push((
        "kustomization.yaml".into(),
        format!("{KUSTOMIZATION_HEADER}{}", documents(&[&kustomization])),
    ));
    files.sort();
    Ok(files)
}

const KUSTOMIZATION_HEADER: &str = "\
# Written by tierplan. The cluster-wide objects that enforce the plan: node labels and taints
# (nodes.yaml), the admission policy, and Karpenter NodePools for the nodes to buy.
# Apply nodes.yaml with server-side apply as its header says; the workload patches in
# workloads/ are a kustomize Component to layer onto your own manifests.
";

/// A kustomization file (`Kustomization` or `Component`); only the fields tierplan writes.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    api_version: &'static str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    patches: Vec<PatchRef>,
}

#[derive(Debug, Serialize, Deserialize)]
struct PatchRef {
    path: String,
}

/// YAML documents separated by `---`, each serialised in the types' own field order (maps are
/// sorted), so that output is stable.
fn documents<T: Serialize>(docs: &[&T]) -> String {
    docs.iter()
        .map(|d| serde_yaml::to_string(d).expect("manifest objects always serialise"))
        .collect::<Vec<_>>()
        .join("---\n")
}

fn check_name(
    what: &'static str,
    value: &str,
    rule: fn(&str) -> Option<String>,
) -> Result<(), EmitError> {
    match rule(value) {
        Some(problem) => Err(EmitError::InvalidName {
            what,
            value: value.to_string(),
            problem,
        }),
        None => Ok(()),
    }
}

/// The pool hosting workload `id`.
fn pool_of<'p>(plan: &'p Plan, id: &str) -> Option<&'p Pool> {
    plan.pools
        .iter()
        .find(|p| p.workloads.iter().any(|w| w == id))
}

/// The inventory nodes of `pool` (bought nodes are not in the inventory).
fn inventory_nodes<'m>(model: &'m Model, pool: &Pool) -> Vec<&'m crate::model::Node> {
    pool.nodes
        .iter()
        .filter_map(|n| model.node_index(n).map(|i| &model.nodes[i]))
        .collect()
}
