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
