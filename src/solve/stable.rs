//! Re-plans that move little (`plan --previous`): the plan the search found is brought as
//! close to the previous one as its cost allows, and the previous plan itself competes when
//! it is still valid.
//!
//! - Nodes the solver cannot tell apart (same type and zone, see `instance`) swap roles, so
//!   that each takes the pool and the replicas it had before where it can: the pools keep
//!   their nodes' number, types and zones, so cost and every rule are unchanged.
//! - Within each pool, replicas then move back to the nodes they ran on, where every node
//!   rule still holds (`polish::return_home`).
//! - The previous plan, trimmed to the workloads and nodes that still exist, is read back
//!   and, when every rule holds on it as it stands, offered to the caller as a plan that
//!   moves nothing, to weigh against the cost it gives up (`--stability`).
//!
//! Pool names come from `naming`, which keeps the previous plan's names for pools that
//! persist; nodes bought in catalog mode have no identity before Karpenter launches them, so
//! only inventory nodes swap.

use super::instance::Instance;
use super::last_resort::read_back;
use super::pack::PoolPack;
use super::{polish, workloads_of};
use crate::naming::pool_names;
use crate::plan::Plan;
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

/// Swaps nodes and moves replicas towards `previous` (see the module docs).
pub(super) fn settle(
    inst: &Instance,
    groups: &[Vec<usize>],
    packs: &mut [PoolPack],
    previous: &Plan,
) {
    let model = inst.model;
    let pools: Vec<Vec<usize>> = groups.iter().map(|g| workloads_of(inst, g)).collect();
    let names = pool_names(model, &pools, Some(previous));
    let was = Before::new(inst, previous);

    // Node roles, per type and zone of inventory nodes.
    let mut holder: HashMap<usize, (usize, usize)> = HashMap::new();
    for (p, pack) in packs.iter().enumerate() {
        for (i, o) in pack.nodes.iter().enumerate() {
            holder.insert(o.node, (p, i));
        }
    }
    for ty in inst.types.iter().filter(|t| t.catalog.is_none()) {
        for nodes in ty.nodes_by_zone.iter().filter(|ns| ns.len() > 1) {
            let roles: Vec<Option<(usize, usize)>> =
                nodes.iter().map(|n| holder.get(n).copied()).collect();
            // Kept replicas count before keeping a node's pool (one replica outweighs every
            // label of the group), and that before staying where the search put it.
            let score = |r: usize, k: usize| -> usize {
                let (role, n) = (roles[r], nodes[k]);
                let pool = role.map(|(p, _)| names[p].as_str());
                let kept: u32 = role.map_or(0, |(p, i)| {
                    packs[p].nodes[i]
                        .hosted
                        .iter()
                        .map(|&(w, c)| c.min(was.count(w, n)))
                        .sum()
                });
                let follows = kept as usize * (nodes.len() + 1) + usize::from(was.pool(n) == pool);
                follows * 2 + usize::from(r == k)
            };
            let mut pairs: Vec<(Reverse<usize>, usize, usize)> = (0..nodes.len())
                .flat_map(|r| (0..nodes.len()).map(move |k| (r, k)))
                .map(|(r, k)| (Reverse(score(r, k)), r, k))
                .filter(|&(Reverse(s), ..)| s > 0)
                .collect();
            pairs.sort_unstable();
            let mut node_of: Vec<Option<usize>> = vec![None; nodes.len()];
            let mut taken = vec![false; nodes.len()];
            for (_, r, k) in pairs {
                if node_of[r].is_none() && !taken[k] {
                    node_of[r] = Some(k);
                    taken[k] = true;
                }
            }
            let mut free = (0..nodes.len()).filter(|&k| !taken[k]);
            for (r, role) in roles.iter().enumerate() {
                let k = node_of[r].unwrap_or_else(|| free.next().expect("as many nodes as roles"));
                if let Some((p, i)) = *role {
                    packs[p].nodes[i].node = nodes[k];
                }
            }
        }
    }
    for (ws, pack) in pools.iter().zip(packs.iter_mut()) {
        polish::return_home(inst, ws, pack, |w, n| was.count(w, n));
    }
}

/// The previous plan as pools of the current instance, when it still holds as it stands for
/// the workloads and nodes that remain (replicas beyond a workload's count dropped); `None`
/// when anything it needs is gone or some rule fails.
pub(super) fn previous_packs(
    inst: &Instance,
    previous: &Plan,
) -> Option<(Vec<Vec<usize>>, Vec<PoolPack>)> {
    let model = inst.model;
    let mut trimmed = previous.clone();
    let known_workload = |w: &str| model.workload_index(w).is_some();
    let bought: BTreeSet<String> = previous
        .pools
        .iter()
        .flat_map(|p| p.bought_nodes().into_iter().map(|b| b.name))
        .collect();
    let known_node = |n: &str| bought.contains(n) || model.node_index(n).is_some();
    for pool in &mut trimmed.pools {
        pool.workloads.retain(|w| known_workload(w));
        pool.nodes.retain(|n| known_node(n));
    }
    trimmed.pools.retain(|p| !p.workloads.is_empty());
    trimmed.placements.retain(|p| {
        model
            .workload_index(&p.workload)
            .is_some_and(|w| p.replica < model.workloads[w].replicas)
            && known_node(&p.node)
    });
    let (groups, packs) = read_back(inst, &trimmed)?;
    let compatible = groups.iter().all(|g| {
        g.iter()
            .all(|&a| g.iter().all(|&b| a == b || inst.graph.compatible[a][b]))
    });
    let holds = groups
        .iter()
        .zip(&packs)
        .all(|(g, pack)| polish::holds(inst, &workloads_of(inst, g), pack));
    (compatible && holds).then_some((groups, packs))
}

/// Where the previous plan had things, by the current instance's indices.
struct Before<'p> {
    /// (workload, node) → replicas.
    count: HashMap<(usize, usize), u32>,
    /// Node → the name of its pool.
    pool: HashMap<usize, &'p str>,
}

impl<'p> Before<'p> {
    fn new(inst: &Instance, previous: &'p Plan) -> Self {
        let model = inst.model;
        let mut count = HashMap::new();
        for p in &previous.placements {
            if let (Some(w), Some(n)) =
                (model.workload_index(&p.workload), model.node_index(&p.node))
            {
                *count.entry((w, n)).or_default() += 1;
            }
        }
        let pool = previous
            .pools
            .iter()
            .flat_map(|p| {
                p.nodes
                    .iter()
                    .filter_map(|n| model.node_index(n))
                    .map(move |n| (n, p.name.as_str()))
            })
            .collect();
        Before { count, pool }
    }

    fn count(&self, w: usize, n: usize) -> u32 {
        self.count.get(&(w, n)).copied().unwrap_or(0)
    }

    fn pool(&self, n: usize) -> Option<&'p str> {
        self.pool.get(&n).copied()
    }
}
