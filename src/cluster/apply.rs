//! `tierplan apply`: gives every inventory node of a plan its pool label and taint (and takes
//! them off a node that leaves its pool) on a live cluster, with server-side apply under
//! field manager `tierplan`, as a server-side dry run unless asked to write.
//!
//! Owns the requests that write to a cluster; the desired state is the plan's
//! ([`crate::emit::pool_by_node`], the data behind `nodes/label.sh` and `nodes/taint.sh`).
//!
//! Why it works the way it does, from the sources:
//! - Labels are a map (`metadata.labels`, granular per key for structured-merge-diff), so
//!   the apply configuration names only the pool label: tierplan owns that key and no other,
//!   and a label it omits later is removed only if tierplan was its only owner
//!   (kubernetes.io, Server-Side Apply, "Field management").
//! - `spec.taints` is an atomic list (`+listType=atomic` on `NodeSpec.Taints` in k8s.io/api
//!   `core/v1/types.go`; k8s-openapi's generated `DeepMerge` for `NodeSpec` uses
//!   `merge_strategies::list::atomic`; the API reference says "Atomic: will be replaced
//!   during a merge"). One manager owns the whole list, not a taint, and "whenever a
//!   field's value does change, ownership moves ... to the manager making the change". So
//!   an apply of only the pool taint would replace every other taint (the node lifecycle
//!   controller's `unreachable`/`not-ready` NoExecute taints, a cordon's `unschedulable`):
//!   never done. Instead, as `kubectl taint` does (`reorganizeTaints` in k8s.io/kubectl
//!   `pkg/cmd/taint/utils.go`), the list is read from the live node and the pool taint
//!   merged into it (replacing any pool-key taint, like `nodes/taint.sh`), every other taint
//!   kept as read (`timeAdded` included). The apply carries the node's `resourceVersion`
//!   as a precondition (kubernetes/kubernetes#63104: a patch's resourceVersion is checked
//!   before it is stored), so if the lifecycle controller changes the list in between, the
//!   API server answers 409 and nothing is lost; `force` is then safe, since it overrides
//!   only the value tierplan just read, and is needed, since the list's current owner (the
//!   kubelet or a controller, by Update) would otherwise make every change a conflict.
//! - `force` also covers the pool label: a label another manager set (`kubectl label`, by
//!   `nodes/label.sh`) with another value would otherwise conflict. Changing a value is not
//!   removing it, and the key is tierplan's own; it then takes over the key.
//! - Once tierplan's Apply owns `spec.taints`, every later apply must carry the list again:
//!   an apply that omits a field its manager owns removes it. So the list is sent whenever
//!   it changes or tierplan's Apply owns it.
//! - Removal: a label or taint goes only when managedFields shows manager `tierplan` owning
//!   it (for taints, the whole list, the only ownership an atomic list has); otherwise the
//!   whole apply is refused before anything is sent, naming every node and key. Nothing is
//!   ever deleted; a node the plan names that the cluster lacks is reported, not created.
//! - The diff shown is the API server's answer (the dry run's object) against the node as
//!   read, so it is what would really happen, defaulting and ownership rules included.

use super::{api_error, ClusterError, Limiter, RateLimit};
use crate::emit::{pool_taint, FIELD_MANAGER, POOL_LABEL, POOL_TAINT_KEY};
use k8s_openapi::api::core::v1::{Node, NodeSpec, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams};
use kube::Client;
use std::collections::BTreeMap;
use std::fmt;

/// What one node should carry: the pool's label and taint, or (`pool: None`) neither.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NodeTarget {
    /// The node's name.
    pub node: String,
    /// Its pool, or `None` for a node in no tainted pool.
    pub pool: Option<String>,
}

/// A label or taint `apply` will not remove, since tierplan does not own it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The node.
    pub node: String,
    /// `label` or `taint`.
    pub what: &'static str,
    /// The label or taint (`key=value`, `key=value:Effect`).
    pub item: String,
    /// The managers managedFields shows owning it (none: nobody recorded).
    pub owners: Vec<String>,
}

/// The message of [`ClusterError::Refused`].
pub(crate) fn refusal_text(refusals: &[Refusal]) -> String {
    let mut s = String::from(
        "refused: applying the plan would remove labels or taints that field manager `tierplan` does not own; nothing was sent",
    );
    for r in refusals {
        let owners = if r.owners.is_empty() {
            "no recorded manager".to_string()
        } else {
            r.owners.join(", ")
        };
        s.push_str(&format!(
            "\n  node `{}`: {} `{}` (owned by {owners})",
            r.node, r.what, r.item
        ));
    }
    s.push_str("\n  fix: if they are stale pool labels or taints, remove them yourself (`sh rollback/nodes.sh`, or `kubectl label node NODE KEY-` / `kubectl taint node NODE KEY-`), then run `tierplan apply` again");
    s
}

/// One change to a node's labels or taints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Added (`key=value`, `key=value:Effect`).
    Added(String),
    /// Changed from the first to the second.
    Changed(String, String),
    /// Removed.
    Removed(String),
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added(s) => write!(f, "+ {s}"),
            Change::Changed(a, b) => write!(f, "~ {a} -> {b}"),
            Change::Removed(s) => write!(f, "- {s}"),
        }
    }
}

/// What apply did, or would do, to one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDiff {
    /// The node.
    pub node: String,
    /// Its label changes.
    pub labels: Vec<Change>,
    /// Its taint changes.
    pub taints: Vec<Change>,
    /// What did not go as planned (a label another manager also owns stays).
    pub notes: Vec<String>,
}

/// The result of [`apply`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Whether the changes were written (else: a server-side dry run).
    pub written: bool,
    /// The nodes changed, by name.
    pub changed: Vec<NodeDiff>,
    /// Nodes that already carry what the plan says.
    pub unchanged: Vec<String>,
    /// Nodes the plan names that the cluster does not have.
    pub missing: Vec<String>,
}

/// Applies `targets` (dry run unless `write`), `rate` limiting the requests.
pub async fn apply(
    client: &Client,
    targets: &[NodeTarget],
    write: bool,
    rate: RateLimit,
) -> Result<ApplyReport, ClusterError> {
    let limiter = Limiter::new(rate);
    let api: Api<Node> = Api::all(client.clone());
    let mut targets = targets.to_vec();
    targets.sort();
    targets.dedup();
    let mut report = ApplyReport {
        written: write,
        ..Default::default()
    };
    // Read every node and decide first: a refusal on any node sends nothing at all.
    let mut intents = Vec::new();
    let mut refusals = Vec::new();
    for target in &targets {
        limiter.acquire().await;
        let live = match api.get_opt(&target.node).await {
            Ok(Some(node)) => node,
            Ok(None) => {
                report.missing.push(target.node.clone());
                continue;
            }
            Err(e) => return Err(api_error::<Node>(e, "get", None)),
        };
        let intent = Intent::of(&live, target.pool.as_deref());
        refusals.extend(intent.refusals(&live));
        intents.push((live, intent));
    }
    if !refusals.is_empty() {
        return Err(ClusterError::Refused { refusals });
    }
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    if !write {
        params = params.dry_run();
    }
    for (live, intent) in intents {
        let name = live.metadata.name.clone().unwrap_or_default();
        if !intent.changes(&live) {
            report.unchanged.push(name);
            continue;
        }
        limiter.acquire().await;
        let after = match api
            .patch(&name, &params, &Patch::Apply(intent.config(&live)))
            .await
        {
            Ok(node) => node,
            Err(kube::Error::Api(status)) if status.code == 409 => {
                return Err(ClusterError::Conflict {
                    node: name,
                    message: status.message,
                })
            }
            Err(e) => return Err(api_error::<Node>(e, "patch", None)),
        };
        let mut diff = diff(&name, &live, &after);
        if let Some(value) = labels(&after).get(POOL_LABEL) {
            if intent.label.as_deref() != Some(value.as_str()) {
                diff.notes.push(format!(
                    "label `{POOL_LABEL}={value}` stays: also owned by {}; remove it with `kubectl label node {name} {POOL_LABEL}-`",
                    owners(&after, &["f:metadata", "f:labels", &format!("f:{POOL_LABEL}")]).join(", ")
                ));
            }
        }
        report.changed.push(diff);
    }
    Ok(report)
}

/// What tierplan wants on one node.
struct Intent {
    /// The pool label's value, or none.
    label: Option<String>,
    /// The whole taint list after the change.
    taints: Vec<Taint>,
}

impl Intent {
    fn of(live: &Node, pool: Option<&str>) -> Intent {
        let mut taints: Vec<Taint> = Vec::new();
        let wanted = pool.map(pool_taint);
        let mut placed = false;
        for t in live_taints(live) {
            if t.key != POOL_TAINT_KEY {
                taints.push(t.clone());
            } else if let (Some(w), false) = (&wanted, placed) {
                // In place of the first pool-key taint, so the list keeps its order.
                if t.effect == w.effect {
                    taints.push(w.clone());
                    placed = true;
                }
            }
        }
        if let (Some(w), false) = (wanted, placed) {
            taints.push(w);
        }
        Intent {
            label: pool.map(str::to_string),
            taints,
        }
    }

    /// The labels and taints this intent removes that tierplan does not own.
    fn refusals(&self, live: &Node) -> Vec<Refusal> {
        let name = live.metadata.name.clone().unwrap_or_default();
        let mut out = Vec::new();
        if let (Some(value), None) = (labels(live).get(POOL_LABEL), &self.label) {
            let path = ["f:metadata", "f:labels", &format!("f:{POOL_LABEL}")];
            let owners = owners(live, &path);
            if !owners.iter().any(|o| is_tierplan(o)) {
                out.push(Refusal {
                    node: name.clone(),
                    what: "label",
                    item: format!("{POOL_LABEL}={value}"),
                    owners,
                });
            }
        }
        let list_owners = owners(live, &["f:spec", "f:taints"]);
        for t in live_taints(live) {
            let kept = self
                .taints
                .iter()
                .any(|n| n.key == t.key && n.effect == t.effect);
            if !kept && !list_owners.iter().any(|o| is_tierplan(o)) {
                out.push(Refusal {
                    node: name.clone(),
                    what: "taint",
                    item: taint_text(t),
                    owners: list_owners.clone(),
                });
            }
        }
        out
    }

    /// Whether the node differs from the intent.
    fn changes(&self, live: &Node) -> bool {
        labels(live).get(POOL_LABEL) != self.label.as_ref() || live_taints(live) != self.taints
    }

    /// The apply configuration: the pool label, and the whole taint list when it changes or
    /// tierplan's Apply owns it (omitting it would then remove it).
    fn config(&self, live: &Node) -> Node {
        let owns_taints = owners(live, &["f:spec", "f:taints"])
            .iter()
            .any(|o| o == &format!("{FIELD_MANAGER} (Apply)"));
        let send_taints = owns_taints || live_taints(live) != self.taints;
        Node {
            metadata: ObjectMeta {
                name: live.metadata.name.clone(),
                resource_version: live.metadata.resource_version.clone(),
                labels: self
                    .label
                    .as_ref()
                    .map(|v| BTreeMap::from([(POOL_LABEL.to_string(), v.clone())])),
                ..Default::default()
            },
            spec: send_taints.then(|| NodeSpec {
                taints: Some(self.taints.clone()),
                ..Default::default()
            }),
            status: None,
        }
    }
}

fn is_tierplan(owner: &str) -> bool {
    owner.split(" (").next() == Some(FIELD_MANAGER)
}

fn labels(node: &Node) -> BTreeMap<String, String> {
    node.metadata.labels.clone().unwrap_or_default()
}

fn live_taints(node: &Node) -> &[Taint] {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default()
}

fn taint_text(t: &Taint) -> String {
    match t.value.as_deref() {
        Some(v) if !v.is_empty() => format!("{}={v}:{}", t.key, t.effect),
        _ => format!("{}:{}", t.key, t.effect),
    }
}

/// The managers (`name (Operation)`) whose managedFields hold `path` (`f:` keys), sorted.
fn owners(node: &Node, path: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = node
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|entry| {
            let mut at = entry.fields_v1.as_ref().map(|f| &f.0);
            for key in path {
                at = at.and_then(|v| v.get(*key));
            }
            at.is_some()
        })
        .map(|entry| {
            format!(
                "{} ({})",
                entry.manager.as_deref().unwrap_or("?"),
                entry.operation.as_deref().unwrap_or("?")
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Every label and taint change from `before` to `after`.
fn diff(name: &str, before: &Node, after: &Node) -> NodeDiff {
    let (a, b) = (labels(before), labels(after));
    let mut label_changes = Vec::new();
    for (k, v) in &a {
        match b.get(k) {
            None => label_changes.push(Change::Removed(format!("{k}={v}"))),
            Some(w) if w != v => {
                label_changes.push(Change::Changed(format!("{k}={v}"), format!("{k}={w}")))
            }
            _ => {}
        }
    }
    for (k, w) in &b {
        if !a.contains_key(k) {
            label_changes.push(Change::Added(format!("{k}={w}")));
        }
    }
    let key = |t: &Taint| (t.key.clone(), t.effect.clone());
    let ta: BTreeMap<_, _> = live_taints(before).iter().map(|t| (key(t), t)).collect();
    let tb: BTreeMap<_, _> = live_taints(after).iter().map(|t| (key(t), t)).collect();
    let mut taint_changes = Vec::new();
    for (k, t) in &ta {
        match tb.get(k) {
            None => taint_changes.push(Change::Removed(taint_text(t))),
            Some(u) if u.value != t.value => {
                taint_changes.push(Change::Changed(taint_text(t), taint_text(u)))
            }
            _ => {}
        }
    }
    for (k, u) in &tb {
        if !ta.contains_key(k) {
            taint_changes.push(Change::Added(taint_text(u)));
        }
    }
    NodeDiff {
        node: name.to_string(),
        labels: label_changes,
        taints: taint_changes,
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(value: serde_json::Value) -> Node {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_pool_taint_joins_the_live_list_and_replaces_only_pool_key_taints() {
        let live = node(serde_json::json!({
            "metadata": {"name": "n"},
            "spec": {"taints": [
                {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2026-01-01T00:00:00Z"},
                {"key": POOL_TAINT_KEY, "value": "old", "effect": "NoSchedule"},
                {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
            ]}
        }));
        let intent = Intent::of(&live, Some("pool-1"));
        let texts: Vec<String> = intent.taints.iter().map(taint_text).collect();
        assert_eq!(
            texts,
            [
                "node.kubernetes.io/unreachable:NoExecute".to_string(),
                format!("{POOL_TAINT_KEY}=pool-1:NoSchedule"),
                "dedicated=gpu:NoSchedule".to_string()
            ]
        );
        assert!(intent.taints[0].time_added.is_some());
        // A value change is no removal: nothing to refuse.
        assert!(intent.refusals(&live).is_empty());
        let config = serde_json::to_value(intent.config(&live)).unwrap();
        assert_eq!(config["metadata"]["labels"][POOL_LABEL], "pool-1");
        assert_eq!(config["spec"]["taints"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn removing_a_pool_taint_needs_tierplan_to_own_the_list() {
        let mut live = node(serde_json::json!({
            "metadata": {"name": "n", "labels": {POOL_LABEL: "old"}, "managedFields": [
                {"manager": "kubectl-taint", "operation": "Update", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:taints": {}}}},
                {"manager": "tierplan", "operation": "Apply", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:metadata": {"f:labels": {format!("f:{POOL_LABEL}"): {}}}}}
            ]},
            "spec": {"taints": [{"key": POOL_TAINT_KEY, "value": "old", "effect": "NoSchedule"}]}
        }));
        let refusals = Intent::of(&live, None).refusals(&live);
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        assert_eq!(refusals[0].what, "taint");
        assert_eq!(refusals[0].owners, ["kubectl-taint (Update)"]);
        // Once tierplan owns the list, the taint may go; the label it owns may go too.
        live.metadata.managed_fields.as_mut().unwrap()[0].manager = Some("tierplan".into());
        assert!(Intent::of(&live, None).refusals(&live).is_empty());
    }
}
