//! What changes between two plans, read from the plan documents alone (names, never the
//! solver's indices): the replicas that move, the nodes whose pool changes, and the pools
//! created, removed and renamed. It is what a rollout from one plan to the next has to do,
//! and the disruption `plan --previous` reports.
//!
//! Replicas of one workload are interchangeable (a Deployment's pods are), so a move is
//! counted per workload and node: where a node holds fewer replicas of a workload than
//! before, the difference left it; where it holds more, the difference arrived; the two are
//! paired as moves in node-name order. Replicas that only disappear (scale-down) or only
//! appear (scale-up, new workloads) move nowhere. A node is relabelled when both plans know
//! it (in a pool or unused) and its pool differs, into or out of no pool included; nodes
//! bought in catalog mode have no identity before they are launched, so only their
//! replicas count.

use crate::naming::match_previous;
use crate::plan::{Disruption, Plan};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
/// What a new plan changes against a previous one, for the summary and `--previous`.
pub struct PlanDiff {
    /// Sorted by pool, workload, from, to.
    pub moves: Vec<Move>,
    /// Sorted by node.
    pub relabelled: Vec<Relabel>,
    /// Pools of the new plan that continue no previous pool, sorted.
    pub created: Vec<String>,
    /// Pools of the previous plan no new pool continues, sorted.
    pub removed: Vec<String>,
    /// Pools that continue under another name, sorted by the new name.
    pub renamed: Vec<Renamed>,
}

/// One replica leaving `from` for `to`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Move {
    /// The workload's pool in the new plan.
    pub pool: String,
    /// The workload's `namespace/name`.
    pub workload: String,
    /// Its pool in the previous plan.
    pub from: String,
    /// Its pool in the new plan.
    pub to: String,
}

/// A node whose pool changes; `None` is no pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relabel {
    /// The node.
    pub node: String,
    /// Its pool in the previous plan, if any.
    pub from: Option<String>,
    /// Its pool in the new plan, if any.
    pub to: Option<String>,
}

/// A pool that continues a previous one (they share the most workloads; see
/// [`match_previous`]) under another name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Renamed {
    /// The pool's name in the previous plan.
    pub from: String,
    /// Its name in the new plan.
    pub to: String,
}

impl PlanDiff {
    /// The counts plan.json records.
    pub fn disruption(&self) -> Disruption {
        Disruption {
            moved_replicas: self.moves.len() as u64,
            relabelled_nodes: self.relabelled.len() as u64,
        }
    }
}

/// What changes from `previous` to `plan`.
pub fn diff(previous: &Plan, plan: &Plan) -> PlanDiff {
    // Pools: continued by workload overlap, whatever the names.
    let ids: Vec<Vec<&str>> = plan
        .pools
        .iter()
        .map(|p| p.workloads.iter().map(String::as_str).collect())
        .collect();
    let continues = match_previous(&ids, previous, |_, _| true);
    let mut created = Vec::new();
    let mut renamed = Vec::new();
    for (pool, old) in plan.pools.iter().zip(&continues) {
        match old.map(|o| &previous.pools[o].name) {
            None => created.push(pool.name.clone()),
            Some(old) if *old != pool.name => renamed.push(Renamed {
                from: old.clone(),
                to: pool.name.clone(),
            }),
            Some(_) => {}
        }
    }
    let continued: BTreeSet<usize> = continues.iter().flatten().copied().collect();
    let mut removed: Vec<String> = (0..previous.pools.len())
        .filter(|o| !continued.contains(o))
        .map(|o| previous.pools[o].name.clone())
        .collect();
    created.sort();
    removed.sort();
    renamed.sort_by(|a, b| a.to.cmp(&b.to));

    // Nodes: the pool of every node each plan knows.
    let (old_pool, new_pool) = (node_pools(previous), node_pools(plan));
    let relabelled = old_pool
        .iter()
        .filter_map(|(node, from)| {
            let to = new_pool.get(node)?;
            (from != to).then(|| Relabel {
                node: node.to_string(),
                from: from.map(str::to_string),
                to: to.map(str::to_string),
            })
        })
        .collect();

    // Replicas: per workload, what left each node paired with what arrived.
    let (before, after) = (counts(previous), counts(plan));
    let pool_of: BTreeMap<&str, &str> = plan
        .pools
        .iter()
        .flat_map(|p| p.workloads.iter().map(|w| (w.as_str(), p.name.as_str())))
        .collect();
    let mut moves = Vec::new();
    for (workload, now) in &after {
        let Some(was) = before.get(workload) else {
            continue;
        };
        let left = surplus(was, now);
        let arrived = surplus(now, was);
        for (from, to) in left.into_iter().zip(arrived) {
            moves.push(Move {
                pool: pool_of.get(workload).unwrap_or(&"").to_string(),
                workload: workload.to_string(),
                from: from.to_string(),
                to: to.to_string(),
            });
        }
    }
    moves.sort();
    PlanDiff {
        moves,
        relabelled,
        created,
        removed,
        renamed,
    }
}

/// Every node the plan knows, except the ones it buys, with its pool (`None`: unused).
fn node_pools(plan: &Plan) -> BTreeMap<&str, Option<&str>> {
    let bought: BTreeSet<String> = plan
        .pools
        .iter()
        .flat_map(|p| p.bought_nodes().into_iter().map(|b| b.name))
        .collect();
    let mut out: BTreeMap<&str, Option<&str>> = plan
        .unused_nodes
        .iter()
        .map(|n| (n.as_str(), None))
        .collect();
    for pool in &plan.pools {
        for n in pool.nodes.iter().filter(|n| !bought.contains(*n)) {
            out.insert(n, Some(&pool.name));
        }
    }
    out
}

/// Workload → node → replicas.
fn counts(plan: &Plan) -> BTreeMap<&str, BTreeMap<&str, u32>> {
    let mut out: BTreeMap<&str, BTreeMap<&str, u32>> = BTreeMap::new();
    for p in &plan.placements {
        *out.entry(&p.workload)
            .or_default()
            .entry(&p.node)
            .or_default() += 1;
    }
    out
}

/// One entry per replica `a` has on a node beyond what `b` has there, in node order.
fn surplus<'a>(a: &BTreeMap<&'a str, u32>, b: &BTreeMap<&str, u32>) -> Vec<&'a str> {
    a.iter()
        .flat_map(|(&node, &n)| {
            let extra = n.saturating_sub(b.get(node).copied().unwrap_or(0));
            std::iter::repeat_n(node, extra as usize)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Objective, Placement, Pool, Status};

    fn plan(
        pools: &[(&str, &[&str], &[&str])],
        placements: &[(&str, &str)],
        unused: &[&str],
    ) -> Plan {
        let mut replica: BTreeMap<&str, u32> = BTreeMap::new();
        Plan {
            api_version: "tierplan/v1alpha1".into(),
            kind: "Plan".into(),
            status: Status::Feasible,
            infeasibility: None,
            explanation: None,
            objective: Objective {
                cost: 0.0,
                nodes: 0,
                lower_bound: 0.0,
                gap: Some(0.0),
                disruption: None,
            },
            pools: pools
                .iter()
                .map(|(name, workloads, nodes)| Pool {
                    name: name.to_string(),
                    classes: vec!["c".into()],
                    workloads: workloads.iter().map(|w| w.to_string()).collect(),
                    nodes: nodes.iter().map(|n| n.to_string()).collect(),
                    node_types: Vec::new(),
                    platform: false,
                })
                .collect(),
            placements: placements
                .iter()
                .map(|(w, n)| {
                    let r = replica.entry(w).or_default();
                    *r += 1;
                    Placement {
                        workload: w.to_string(),
                        replica: *r - 1,
                        node: n.to_string(),
                    }
                })
                .collect(),
            unplaced: Vec::new(),
            unmet: Vec::new(),
            unused_nodes: unused.iter().map(|n| n.to_string()).collect(),
            inputs: None,
        }
    }

    #[test]
    fn an_unchanged_plan_changes_nothing() {
        let p = plan(&[("web", &["a/web"], &["n1"])], &[("a/web", "n1")], &["n2"]);
        assert_eq!(diff(&p, &p), PlanDiff::default());
    }

    #[test]
    fn moves_relabels_and_pool_changes() {
        let old = plan(
            &[
                ("pool-1", &["a/web", "a/api"], &["n1", "n2"]),
                ("pool-2", &["a/db"], &["n3"]),
            ],
            &[
                ("a/web", "n1"),
                ("a/web", "n1"),
                ("a/api", "n2"),
                ("a/db", "n3"),
                ("a/gone", "n3"),
            ],
            &["n4", "n5"],
        );
        let new = plan(
            &[
                ("public", &["a/web", "a/api"], &["n1", "n4"]),
                ("batch", &["a/job"], &["n2"]),
            ],
            &[
                // One web replica moves n1 → n4; api moves n2 → n4 and scales up by one.
                ("a/web", "n1"),
                ("a/web", "n4"),
                ("a/api", "n4"),
                ("a/api", "n1"),
                ("a/job", "n2"),
            ],
            &["n3", "n5", "n6"],
        );
        let d = diff(&old, &new);
        assert_eq!(
            d.moves,
            [
                Move {
                    pool: "public".into(),
                    workload: "a/api".into(),
                    from: "n2".into(),
                    to: "n1".into()
                },
                Move {
                    pool: "public".into(),
                    workload: "a/web".into(),
                    from: "n1".into(),
                    to: "n4".into()
                },
            ]
        );
        let relabels: Vec<(&str, Option<&str>, Option<&str>)> = d
            .relabelled
            .iter()
            .map(|r| (r.node.as_str(), r.from.as_deref(), r.to.as_deref()))
            .collect();
        assert_eq!(
            relabels,
            [
                ("n1", Some("pool-1"), Some("public")),
                ("n2", Some("pool-1"), Some("batch")),
                ("n3", Some("pool-2"), None),
                ("n4", None, Some("public")),
            ],
            "n5 stays unused, n6 is new"
        );
        assert_eq!(d.created, ["batch"]);
        assert_eq!(d.removed, ["pool-2"]);
        assert_eq!(
            d.renamed,
            [Renamed {
                from: "pool-1".into(),
                to: "public".into()
            }]
        );
        assert_eq!(
            d.disruption(),
            Disruption {
                moved_replicas: 2,
                relabelled_nodes: 4
            }
        );
    }
}
