//! The plan document (`plan.json`): what the planner decided, in a stable, reviewable form.
//!
//! Owns the output contract only. It holds names, never indices, so that `check` can read a
//! plan written by any version (or by hand) and verify it against the inputs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The `apiVersion` of a plan document.
pub const API_VERSION: &str = "tierplan/v1alpha1";
/// The `kind` of a plan document.
pub const KIND: &str = "Plan";

/// `status` of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every replica placed and the cost equals a proven lower bound.
    Optimal,
    /// Every replica placed; the gap to the lower bound is in `objective.gap`.
    Feasible,
    /// Some replica could not be placed or some pool rule could not be met; see `unplaced`
    /// and `unmet`.
    Infeasible,
}

/// Why a plan is infeasible, as far as the planner knows: `{proven: true, by: …}` when no
/// valid plan exists for the inputs, `{proven: false}` when the search ended short of one
/// without proving that none exists (a larger `--work-limit` or `--time-limit` may still find
/// one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Infeasibility {
    /// Whether no valid plan exists; `by` is present exactly when it is true.
    pub proven: bool,
    /// The proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Proof>,
}

impl Infeasibility {
    /// Infeasibility proven by `by`.
    pub fn proven(by: Proof) -> Self {
        Infeasibility {
            proven: true,
            by: Some(by),
        }
    }

    /// No plan found, and nothing proven.
    pub fn unproven() -> Self {
        Infeasibility {
            proven: false,
            by: None,
        }
    }
}

impl std::fmt::Display for Infeasibility {
    /// The one line the summary gives it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.by {
            Some(by) if self.proven => write!(f, "proven impossible by {by}"),
            _ => f.write_str("no plan found, not proven impossible"),
        }
    }
}

/// How the planner proved that no valid plan exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Proof {
    /// Some workload can run on no node at all (its labels, resources or size rule out every
    /// node, or its required labels contradict each other); `unplaced` says which and why.
    NoEligibleNode,
    /// The linear relaxation behind the lower bound has no solution: the nodes cannot cover
    /// the requests and counting rules even fractionally.
    LpRelaxation,
    /// The exhaustive search of a tiny instance (every grouping, node assignment and
    /// placement) finished without a plan.
    ExhaustiveSearch,
    /// The complete search of a moderate instance finished without a plan.
    CompleteSearch,
}

impl std::fmt::Display for Proof {
    /// The proof as the summary names it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Proof::NoEligibleNode => "a workload no node can host",
            Proof::LpRelaxation => "the bound's linear relaxation",
            Proof::ExhaustiveSearch => "exhaustive search",
            Proof::CompleteSearch => "complete search",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
/// The output document, `plan.json`: pools, placements, cost and what could not be done.
pub struct Plan {
    /// `tierplan/v1alpha1`.
    pub api_version: String,
    /// `Plan`.
    pub kind: String,
    /// Whether every replica is placed, and whether the cost is proven optimal.
    pub status: Status,
    /// Infeasible plans only: whether the planner proved that no valid plan exists, and how.
    /// Absent in feasible plans, and in infeasible ones written by hand, by older versions or
    /// by the benchmark's baselines (nothing is known then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infeasibility: Option<Infeasibility>,
    /// Infeasible plans only: the fewest facts of the input that together leave no plan
    /// (see `tierplan::explanation`). Absent where it was not computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<crate::explanation::Explanation>,
    /// Cost, nodes and the lower bound.
    pub objective: Objective,
    /// The node pools, sorted by name.
    pub pools: Vec<Pool>,
    /// One per replica placed, sorted.
    pub placements: Vec<Placement>,
    /// One per replica not placed, with why.
    pub unplaced: Vec<Unplaced>,
    /// Pool-level rules (headroom, minNodesPerPool) that could not be met.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmet: Vec<Unmet>,
    /// Nodes in no pool. Free to decommission when the input declares its platform
    /// workloads; otherwise the only untainted nodes left for pods the plan does not cover.
    pub unused_nodes: Vec<String>,
    /// The fingerprint of the inputs the plan was made for (`sha256:…`, over the documents'
    /// content, not their files or layout); absent in plans written by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
/// What the plan costs and how far from optimal it can be.
pub struct Objective {
    /// Total cost per hour of the nodes in pools.
    pub cost: f64,
    /// Number of nodes in pools.
    pub nodes: u64,
    /// A proven lower bound on the cost of any valid plan.
    pub lower_bound: f64,
    /// (cost − lowerBound) / cost; 0 when optimal; absent when infeasible.
    pub gap: Option<f64>,
    /// Against the plan given as `--previous`: what applying this one disturbs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption: Option<Disruption>,
}

/// What applying a plan disturbs on a cluster running the previous one (see `diff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Disruption {
    /// Replicas of workloads in both plans that leave their node for another.
    pub moved_replicas: u64,
    /// Nodes of both plans whose pool changes, into or out of no pool included.
    pub relabelled_nodes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
/// A node pool: the classes and workloads it holds and its nodes.
pub struct Pool {
    /// A DNS-1123 label, the pool's node label and taint value: given by the Policy's
    /// `pools`, kept from the previous plan, or derived from the pool's most sensitive class.
    pub name: String,
    /// Class names (`attr=value,...` over `separateBy`, or `dedicated:<id>`).
    pub classes: Vec<String>,
    /// Workload ids, sorted.
    pub workloads: Vec<String>,
    /// Node names, sorted: inventory nodes and the nodes to buy (see `nodeTypes`).
    pub nodes: Vec<String>,
    /// The pool of the platform workloads (those that run outside the tiers): its nodes get
    /// no pool label or taint, so pods the plan does not cover may run there too, and its
    /// workloads get no patch. Named [`PLATFORM_POOL`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub platform: bool,
    /// Catalog mode: the nodes to buy for this pool, by type and zone. They are named
    /// `<pool>-<type>-<n>`, n counting from 1 per pool and type through these entries in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_types: Vec<Bought>,
}

/// The name of the pool of platform workloads.
pub const PLATFORM_POOL: &str = "platform";

/// The name of a pool: [`PLATFORM_POOL`] for the platform pool, else `pool-<number>`.
pub fn pool_name(platform: bool, number: usize) -> String {
    if platform {
        PLATFORM_POOL.to_string()
    } else {
        format!("pool-{number}")
    }
}

/// Nodes of one type to buy in one zone for a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Bought {
    /// The NodeType (instance type).
    #[serde(rename = "type")]
    pub node_type: String,
    /// The zone they are bought in.
    pub zone: String,
    /// How many.
    pub count: u32,
}

/// A node the plan buys, as named in `pools[].nodes` and `placements`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoughtNode<'p> {
    /// The pool buying it.
    pub pool: &'p str,
    /// The node's name.
    pub name: String,
    /// Its node type.
    pub node_type: &'p str,
    /// Its zone.
    pub zone: &'p str,
}

/// The name of the `n`-th node (from 1) of type `node_type` that pool `pool` buys: the rule of
/// [`Pool::node_types`], in one place for the planner that writes it and the readers.
pub fn bought_node_name(pool: &str, node_type: &str, n: u64) -> String {
    format!("{pool}-{node_type}-{n}")
}

impl Pool {
    /// The nodes this pool buys, named by the rule of [`Pool::node_types`].
    pub fn bought_nodes(&self) -> Vec<BoughtNode<'_>> {
        let mut next: std::collections::BTreeMap<&str, u64> = Default::default();
        let mut out = Vec::new();
        for b in &self.node_types {
            let n = next.entry(&b.node_type).or_insert(0);
            for _ in 0..b.count {
                *n += 1;
                out.push(BoughtNode {
                    pool: &self.name,
                    name: bought_node_name(&self.name, &b.node_type, *n),
                    node_type: &b.node_type,
                    zone: &b.zone,
                });
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
/// Where one replica runs.
pub struct Placement {
    /// The workload's `namespace/name`.
    pub workload: String,
    /// 0-based replica index.
    pub replica: u32,
    /// The node's name.
    pub node: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
/// A replica the plan could not place.
pub struct Unplaced {
    /// The workload's `namespace/name`.
    pub workload: String,
    /// 0-based replica index.
    pub replica: u32,
    /// Why, in words.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
/// A pool rule the plan does not meet.
pub struct Unmet {
    /// The pool's name.
    pub pool: String,
    /// `headroom` or `minNodesPerPool`.
    pub rule: String,
    /// Why, in words.
    pub reason: String,
}

impl Plan {
    /// Gives pool i the name `names[i]` wherever the plan names it: the pool, its unmet
    /// rules and the nodes it buys (which are named after it).
    pub fn rename_pools(&mut self, names: &[String]) {
        let mut pools: HashMap<String, String> = HashMap::new();
        let mut nodes: HashMap<String, String> = HashMap::new();
        for (pool, name) in self.pools.iter_mut().zip(names) {
            let before: Vec<String> = pool.bought_nodes().into_iter().map(|b| b.name).collect();
            pools.insert(
                std::mem::replace(&mut pool.name, name.clone()),
                name.clone(),
            );
            for (old, new) in before.into_iter().zip(pool.bought_nodes()) {
                nodes.insert(old, new.name);
            }
            for n in &mut pool.nodes {
                if let Some(new) = nodes.get(n) {
                    n.clone_from(new);
                }
            }
            pool.nodes.sort();
        }
        for p in &mut self.placements {
            if let Some(new) = nodes.get(&p.node) {
                p.node.clone_from(new);
            }
        }
        self.placements.sort();
        for u in &mut self.unmet {
            if let Some(new) = pools.get(&u.pool) {
                u.pool.clone_from(new);
            }
        }
    }

    /// The canonical bytes of plan.json: pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("plans always serialise");
        s.push('\n');
        s
    }
}
