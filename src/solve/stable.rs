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
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
            for (n, (p, i)) in reassign(nodes, &holder, packs, &names, &was) {
                packs[p].nodes[i].node = n;
            }
        }
    }
    for (ws, pack) in pools.iter().zip(packs.iter_mut()) {
        polish::return_home(inst, ws, pack, &was.count);
    }
}

/// The node each pool role on `nodes` (interchangeable nodes) takes, as (node, (pool, index in
/// its pack)). First by replicas kept: a role goes to the node that ran the most of its
/// replicas before (then one of its pool, then its own). The others then take, in this order
/// of preference: their own node if it was in their pool, another node of their pool, their
/// own node if it was in another pool, another such node, their own node, any node. A node
/// of another pool comes before one of none because the node left over stays in no pool:
/// taking the unused one would relabel both.
fn reassign(
    nodes: &[usize],
    holder: &HashMap<usize, (usize, usize)>,
    packs: &[PoolPack],
    names: &[String],
    was: &Before,
) -> Vec<(usize, (usize, usize))> {
    let local: HashMap<usize, usize> = nodes.iter().enumerate().map(|(k, &n)| (n, k)).collect();
    // (the node the search chose, the role).
    let roles: Vec<(usize, (usize, usize))> = nodes
        .iter()
        .enumerate()
        .filter_map(|(k, n)| Some((k, *holder.get(n)?)))
        .collect();
    let pool_of = |k: usize| was.pool(nodes[k]);
    let labelled = |k: usize, (p, _): (usize, usize)| pool_of(k) == Some(names[p].as_str());
    let mut pairs = Vec::new();
    for (r, &(own, role)) in roles.iter().enumerate() {
        let (p, i) = role;
        let mut kept: BTreeMap<usize, u32> = BTreeMap::new();
        for &(w, c) in &packs[p].nodes[i].hosted {
            for &n in was.nodes_of.get(&w).into_iter().flatten() {
                if let Some(&k) = local.get(&n) {
                    *kept.entry(k).or_default() += c.min(was.count[&(w, n)]);
                }
            }
        }
        for (k, kept) in kept {
            pairs.push((Reverse((kept, labelled(k, role), k == own)), r, k));
        }
    }
    pairs.sort_unstable();
    let mut at: Vec<Option<usize>> = vec![None; roles.len()];
    let mut free: BTreeSet<usize> = (0..nodes.len()).collect();
    for (_, r, k) in pairs {
        if at[r].is_none() && free.remove(&k) {
            at[r] = Some(k);
        }
    }
    // The rest, by the preferences above; free nodes by their previous pool.
    let mut by_pool: BTreeMap<Option<&str>, BTreeSet<usize>> = BTreeMap::new();
    for &k in &free {
        by_pool.entry(pool_of(k)).or_default().insert(k);
    }
    for preference in 0..6 {
        for (r, &(own, role)) in roles.iter().enumerate() {
            if at[r].is_some() {
                continue;
            }
            let own_free = free.contains(&own);
            let pooled = |by_pool: &BTreeMap<Option<&str>, BTreeSet<usize>>| {
                by_pool
                    .iter()
                    .filter(|(pool, _)| pool.is_some())
                    .find_map(|(_, ks)| ks.first().copied())
            };
            let pick = match preference {
                0 => (own_free && labelled(own, role)).then_some(own),
                1 => by_pool
                    .get(&Some(names[role.0].as_str()))
                    .and_then(|ks| ks.first().copied()),
                2 => (own_free && pool_of(own).is_some()).then_some(own),
                3 => pooled(&by_pool),
                4 => own_free.then_some(own),
                _ => free.first().copied(),
            };
            if let Some(k) = pick {
                free.remove(&k);
                if let Some(ks) = by_pool.get_mut(&pool_of(k)) {
                    ks.remove(&k);
                }
                at[r] = Some(k);
            }
        }
    }
    roles
        .iter()
        .zip(at)
        .map(|(&(_, role), k)| (nodes[k.expect("as many nodes as roles")], role))
        .collect()
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
    let compatible = groups.iter().all(|g| inst.graph.is_clique(g));
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
    /// Workload → the nodes it ran on.
    nodes_of: HashMap<usize, Vec<usize>>,
    /// Node → the name of its pool.
    pool: HashMap<usize, &'p str>,
}

impl<'p> Before<'p> {
    fn new(inst: &Instance, previous: &'p Plan) -> Self {
        let model = inst.model;
        let mut count: HashMap<(usize, usize), u32> = HashMap::new();
        for p in &previous.placements {
            if let (Some(w), Some(n)) =
                (model.workload_index(&p.workload), model.node_index(&p.node))
            {
                *count.entry((w, n)).or_default() += 1;
            }
        }
        let mut nodes_of: HashMap<usize, Vec<usize>> = HashMap::new();
        for &(w, n) in count.keys() {
            nodes_of.entry(w).or_default().push(n);
        }
        // Sorted, so that every choice made from them is deterministic.
        nodes_of.values_mut().for_each(|ns| ns.sort_unstable());
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
        Before {
            count,
            nodes_of,
            pool,
        }
    }

    fn pool(&self, n: usize) -> Option<&'p str> {
        self.pool.get(&n).copied()
    }
}
