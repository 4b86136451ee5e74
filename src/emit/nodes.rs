//! `nodes.yaml` and `rollback/nodes.yaml`: the pool label and taint of every inventory node in
//! a pool, as `v1 Node` objects for server-side apply, and the objects that take them off.
//!
//! Under server-side apply, `metadata.labels` is a granular map, so tierplan's field manager
//! owns only the label key it sets. `spec.taints` is an atomic list (`+listType=atomic` in
//! k8s.io/api core/v1 `NodeSpec`; `x-kubernetes-list-type: atomic` in the 1.33 OpenAPI), so
//! an apply owns and sets the whole list: the node's existing taints are therefore written
//! beside the pool's taint, and the rollback file writes them back alone.

use super::{check_name, documents, inventory_nodes, EmitError, FIELD_MANAGER, POOL_LABEL};
use super::{POOL_TAINT_KEY, WORKLOAD_LABEL};
use crate::model::{names, Model, Node as ModelNode, Taint as ModelTaint};
use crate::plan::Plan;
use k8s_openapi::api::core::v1::{Node, NodeSpec, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

pub const FILE: &str = "nodes.yaml";
pub const ROLLBACK_FILE: &str = "rollback/nodes.yaml";

/// (nodes.yaml, rollback/nodes.yaml), or `None` when no pool has an inventory node.
pub fn files(model: &Model, plan: &Plan) -> Result<Option<(String, String)>, EmitError> {
    let mut apply: Vec<(String, Node)> = Vec::new();
    let mut rollback: Vec<(String, Node)> = Vec::new();
    // Platform nodes stay untainted and unlabelled: pods the plan does not cover run there.
    for pool in plan.pools.iter().filter(|p| !p.platform) {
        for node in inventory_nodes(model, pool) {
            check_name("node name", &node.name, names::dns_subdomain_problem)?;
            let mut taints = existing_taints(node);
            rollback.push((node.name.clone(), object(node, None, taints.clone())));
            taints.push(pool_taint(&pool.name));
            let labels = BTreeMap::from([(POOL_LABEL.to_string(), pool.name.clone())]);
            apply.push((node.name.clone(), object(node, Some(labels), taints)));
        }
    }
    if apply.is_empty() {
        return Ok(None);
    }
    apply.sort_by(|a, b| a.0.cmp(&b.0));
    rollback.sort_by(|a, b| a.0.cmp(&b.0));
    let apply: Vec<&Node> = apply.iter().map(|(_, n)| n).collect();
    let rollback: Vec<&Node> = rollback.iter().map(|(_, n)| n).collect();
    Ok(Some((
        format!("{}{}", apply_header(), documents(&apply)),
        format!("{}{}", rollback_header(), documents(&rollback)),
    )))
}

/// The pool taint: `POOL_TAINT_KEY=<pool>:NoSchedule`.
pub fn pool_taint(pool: &str) -> Taint {
    Taint {
        key: POOL_TAINT_KEY.into(),
        value: Some(pool.into()),
        effect: "NoSchedule".into(),
        time_added: None,
    }
}

/// The node's own taints, without any pool taint of an earlier tierplan run (an inventory
/// taken from a cluster where a plan was applied carries one).
pub fn existing_taints(node: &ModelNode) -> Vec<Taint> {
    node.taints
        .iter()
        .filter(|t| t.key != POOL_TAINT_KEY)
        .map(taint)
        .collect()
}

fn taint(t: &ModelTaint) -> Taint {
    Taint {
        key: t.key.clone(),
        value: (!t.value.is_empty()).then(|| t.value.clone()),
        effect: t.effect.clone(),
        time_added: None,
    }
}

fn object(node: &ModelNode, labels: Option<BTreeMap<String, String>>, taints: Vec<Taint>) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(node.name.clone()),
            labels,
            ..Default::default()
        },
        // An empty list would make tierplan own `spec.taints` for nothing.
        spec: (!taints.is_empty()).then(|| NodeSpec {
            taints: Some(taints),
            ..Default::default()
        }),
        status: None,
    }
}

fn apply_header() -> String {
    format!(
        "\
# Written by tierplan: the pool label ({POOL_LABEL}) and the pool taint
# ({POOL_TAINT_KEY}=<pool>:NoSchedule) of every existing node in a pool.
#
# Apply with server-side apply and tierplan's own field manager:
#   kubectl apply --server-side --field-manager={FIELD_MANAGER} -f nodes.yaml
# Labels are a granular map under server-side apply: tierplan owns only its label key and
# leaves every other label alone. spec.taints is an atomic list: whoever applies it owns and
# sets the whole list. So each Node below lists the taints the node had in the inventory
# beside the pool taint. When another manager (the kubelet, `kubectl taint`) owns the node's
# taints, apply stops with a conflict instead of changing them: compare the node's current
# taints with the ones listed here, and only if they agree re-run with --force-conflicts.
#
# Roll back with the same field manager:
#   kubectl apply --server-side --field-manager={FIELD_MANAGER} -f rollback/nodes.yaml
# It lists the same Nodes without the label and with their own taints only, which removes
# exactly the label and the taint tierplan set.
#
# Workload pods carry {WORKLOAD_LABEL} and tolerate only their own pool's taint; see
# workloads/kustomization.yaml.
"
    )
}

fn rollback_header() -> String {
    format!(
        "\
# Written by tierplan: takes tierplan's pool label and taint off the nodes of nodes.yaml.
#   kubectl apply --server-side --field-manager={FIELD_MANAGER} -f rollback/nodes.yaml
# Applied with the field manager that applied nodes.yaml, it drops the label key tierplan
# owned and sets spec.taints back to the node's own taints (as in the inventory).
"
    )
}
