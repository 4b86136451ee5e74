//! `nodes/label.sh`, `nodes/taint.sh` and `rollback/nodes.sh`: the `kubectl label` and
//! `kubectl taint` commands that give every inventory node its pool label and taint, take a
//! stale label or taint of an earlier plan off the nodes that leave their pool, and undo both.
//!
//! Why commands and not `v1 Node` objects for server-side apply: `spec.taints` is an atomic
//! list (`+listType=atomic` in k8s.io/api core/v1 `NodeSpec`), and "whenever a field's value
//! does change, ownership moves from its current manager to the manager making the change"
//! (kubernetes.io, Server-Side Apply, Field management). A cordon or a NotReady transition
//! has the node lifecycle controller rewrite the list, after which an apply that omits the
//! pool taint no longer owns it and leaves it in place: the rollback silently does nothing.
//! `kubectl taint` (the procedure of kubernetes.io, Taints and Tolerations) reads the live
//! list and changes only the taint it names (`reorganizeTaints` in k8s.io/kubectl
//! `pkg/cmd/taint/utils.go`: with `--overwrite`, a taint of the same key and effect is
//! replaced; `KEY-` removes every taint of that key), so other managers' taints survive in
//! both directions. Labels are a map, but `kubectl label` is used for them too, so that
//! both scripts read the same way and the proof (`sched::read`) parses one small grammar.
//!
//! The scripts are the applied artefact and the proof's evidence: `tierplan check
//! --manifests` reads them, not a description of them.

use super::{check_name, EmitError, POOL_LABEL, POOL_TAINT_KEY};
use crate::model::{names, Model, Node};
use crate::plan::Plan;
use k8s_openapi::api::core::v1::Taint;
use std::collections::BTreeMap;
use std::fmt;

pub const LABEL_FILE: &str = "nodes/label.sh";
pub const TAINT_FILE: &str = "nodes/taint.sh";
pub const ROLLBACK_FILE: &str = "rollback/nodes.sh";

/// One node command tierplan writes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command<'a> {
    /// `kubectl label node N KEY=POOL --overwrite`
    Label(&'a str, &'a str),
    /// `kubectl label node N KEY-`
    Unlabel(&'a str),
    /// `kubectl taint node N KEY=POOL:NoSchedule --overwrite`
    Taint(&'a str, &'a str),
    /// `kubectl taint node N KEY- || true`: every taint of the key, whatever its effect.
    Untaint(&'a str),
}

impl fmt::Display for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Label(node, pool) => {
                write!(
                    f,
                    "kubectl label node {node} {POOL_LABEL}={pool} --overwrite"
                )
            }
            Command::Unlabel(node) => write!(f, "kubectl label node {node} {POOL_LABEL}-"),
            Command::Taint(node, pool) => write!(
                f,
                "kubectl taint node {node} {POOL_TAINT_KEY}={pool}:NoSchedule --overwrite"
            ),
            // `kubectl taint` fails on a taint that is already gone: without `|| true`, a
            // script re-run after a partial run would stop here for good.
            Command::Untaint(node) => {
                write!(f, "kubectl taint node {node} {POOL_TAINT_KEY}- || true")
            }
        }
    }
}

/// What the node scripts do to one node.
struct Change<'m> {
    node: &'m Node,
    /// The node's pool in this plan, if any.
    pool: Option<&'m str>,
}

/// The scripts, as (path, content), or nothing when no inventory node is in a pool or
/// carries a tierplan label or taint.
pub fn files(model: &Model, plan: &Plan) -> Result<Vec<(String, String)>, EmitError> {
    let pool_of = pool_by_node(plan);
    let mut changes: Vec<Change> = Vec::new();
    for node in &model.nodes {
        let pool = pool_of.get(node.name.as_str()).and_then(|p| p.as_deref());
        if pool.is_some() || stale(node) {
            check_name("node name", &node.name, names::dns_subdomain_problem)?;
            changes.push(Change { node, pool });
        }
    }
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    changes.sort_by(|a, b| a.node.name.cmp(&b.node.name));
    let mut label = Vec::new();
    let mut taint = Vec::new();
    let mut rollback = Vec::new();
    for c in &changes {
        let name = c.node.name.as_str();
        match c.pool {
            Some(pool) => {
                label.push(Command::Label(name, pool));
                // A pool-key taint of another effect (not written by tierplan) would survive
                // `--overwrite`, which replaces only the same key and effect.
                if c.node
                    .taints
                    .iter()
                    .any(|t| t.key == POOL_TAINT_KEY && t.effect != "NoSchedule")
                {
                    taint.push(Command::Untaint(name));
                }
                taint.push(Command::Taint(name, pool));
                rollback.push(Command::Untaint(name));
                rollback.push(Command::Unlabel(name));
            }
            None => {
                if c.node.labels.contains_key(POOL_LABEL) {
                    label.push(Command::Unlabel(name));
                }
                if c.node.taints.iter().any(|t| t.key == POOL_TAINT_KEY) {
                    taint.push(Command::Untaint(name));
                }
            }
        }
    }
    let mut out = vec![
        (LABEL_FILE.to_string(), script(LABEL_HEADER, &label, true)),
        (TAINT_FILE.to_string(), script(TAINT_HEADER, &taint, true)),
    ];
    if !rollback.is_empty() {
        out.push((
            ROLLBACK_FILE.to_string(),
            script(ROLLBACK_HEADER, &rollback, false),
        ));
    }
    Ok(out)
}

/// The pool whose label and taint each inventory node of `plan` gets, by node name: `None`
/// for a node of the platform pool or of no pool, which gets neither (and loses those of an
/// earlier plan). Bought nodes are left out: they get theirs from their NodePool. The data
/// behind the node scripts, and what `tierplan apply` sets on a live cluster.
pub fn pool_by_node(plan: &Plan) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    for node in &plan.unused_nodes {
        out.insert(node.clone(), None);
    }
    for pool in &plan.pools {
        let bought: std::collections::BTreeSet<String> =
            pool.bought_nodes().into_iter().map(|b| b.name).collect();
        for node in pool.nodes.iter().filter(|n| !bought.contains(*n)) {
            // Platform nodes stay untainted and unlabelled: pods the plan does not cover
            // run there.
            out.insert(node.clone(), (!pool.platform).then(|| pool.name.clone()));
        }
    }
    out
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

/// Whether the inventory shows a tierplan label or taint of an earlier plan on the node.
fn stale(node: &Node) -> bool {
    node.labels.contains_key(POOL_LABEL) || node.taints.iter().any(|t| t.key == POOL_TAINT_KEY)
}

/// A POSIX shell script: `set -eu` stops at the first failed command, so a partial run is
/// visible and can be re-run (every command is idempotent). The rollback goes on past a
/// failure instead: `kubectl taint KEY-` fails on a node that no longer has the taint.
fn script(header: &str, commands: &[Command], stop_on_error: bool) -> String {
    let mut s = String::from("#!/bin/sh\n");
    s.push_str(header);
    if stop_on_error {
        s.push_str("set -eu\n");
    }
    for c in commands {
        s.push_str(&c.to_string());
        s.push('\n');
    }
    s
}

const LABEL_HEADER: &str = "\
# Written by tierplan: step 1 of ROLLOUT.md. Gives every inventory node of a pool the pool
# label, and takes the label of an earlier plan off nodes that are in no pool now.
# `tierplan check --manifests` reads these lines as the nodes' labels; edit the plan, not them.
";

const TAINT_HEADER: &str = "\
# Written by tierplan: step 4 of ROLLOUT.md. Gives every inventory node of a pool the pool
# taint (NoSchedule), and takes the taint of an earlier plan off nodes that are in no pool
# now. `kubectl taint` changes only the taint it names; the node's other taints stay.
# `tierplan check --manifests` reads these lines as the nodes' taints; edit the plan, not them.
";

const ROLLBACK_HEADER: &str = "\
# Written by tierplan: takes the pool taint and label off every node of nodes/label.sh.
# Delete the admission binding first (ROLLOUT.md, Rollback). A node that has already lost
# its taint makes `kubectl taint` print `not found`; the script goes on.
";
