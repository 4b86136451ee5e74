//! The last resort when the search ends incomplete, and a floor on its cost: the baselines'
//! plans (first-fit decreasing one pool per class, on the inventory or on the cheapest
//! catalog type, and kube-scheduler's way), which may succeed where the search's greedy
//! pool-by-pool choices strand nodes. A complete one is read back into pools and packs, so
//! the polish can release what it does not need.

use super::instance::{Instance, Inventory};
use super::pack::{nodes_cost, Open, PoolPack};
use crate::baseline::{
    ffd_cheapest_type_per_pool, ffd_one_pool_per_class, kube_scheduler_least_allocated,
};
use crate::model::Model;
use crate::plan::Plan;
use std::collections::BTreeMap;

/// Replicas × nodes up to which the baselines are built even after a complete search, as a
/// floor on its cost: they take a pass over the nodes per replica.
const QUICK_SIZE: u64 = 4_000_000;

/// Whether building the baselines costs little next to the search.
pub(super) fn quick(inst: &Instance) -> bool {
    inst.model.total_replicas() * inst.model.nodes.len() as u64 <= QUICK_SIZE
}

/// The baselines' complete plans for `inst`, as (groups of classes, packs), in the order
/// they were tried.
pub(super) fn baseline_packs(inst: &Instance) -> Vec<(Vec<Vec<usize>>, Vec<PoolPack>)> {
    let model = inst.model;
    let existing = |n: &usize| inst.types[inst.node_type[*n]].catalog.is_none();
    let all_existing = (0..model.nodes.len()).all(|n| existing(&n));
    let none_existing = !(0..model.nodes.len()).any(|n| existing(&n));
    // Beside catalog types, existing nodes go first (README, catalog mode): the inventory
    // baselines get those alone, and the catalog one, which buys every node, is left out.
    let own = (!all_existing && !none_existing).then(|| Model {
        nodes: (0..model.nodes.len())
            .filter(existing)
            .map(|n| model.nodes[n].clone())
            .collect(),
        ..model.clone()
    });
    let base = own.as_ref().unwrap_or(model);
    let mut plans = vec![
        ffd_one_pool_per_class(base),
        kube_scheduler_least_allocated(base),
    ];
    if none_existing {
        plans.push(ffd_cheapest_type_per_pool(model));
    }
    plans
        .iter()
        .filter_map(|plan| read_back(inst, plan))
        .collect()
}

/// A complete plan on `inst`'s nodes as pools of whole classes with their packs; `None` when
/// it is incomplete or names anything `inst` does not know (it never does for a baseline run
/// on `inst.model`, but nothing is assumed).
pub(super) fn read_back(inst: &Instance, plan: &Plan) -> Option<(Vec<Vec<usize>>, Vec<PoolPack>)> {
    let model = inst.model;
    if !plan.unplaced.is_empty() || !plan.unmet.is_empty() {
        return None;
    }
    let mut class_of = vec![usize::MAX; model.workloads.len()];
    for (c, class) in inst.graph.classes.iter().enumerate() {
        for &w in &class.workloads {
            class_of[w] = c;
        }
    }
    let mut pool_of_class: Vec<Option<usize>> = vec![None; inst.graph.classes.len()];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut packs: Vec<PoolPack> = Vec::new();
    // Per node: (pool, index in the pool's pack); the node of each name in the plan.
    let mut slot: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    let mut named: BTreeMap<&str, usize> = BTreeMap::new();
    // Nodes a catalog plan buys become nodes materialised for the search.
    let mut inv = Inventory::full(inst);
    for (p, pool) in plan.pools.iter().enumerate() {
        let mut classes: Vec<usize> = Vec::new();
        for id in &pool.workloads {
            let c = *class_of.get(model.workload_index(id)?)?;
            match pool_of_class[c] {
                Some(q) if q != p => return None,
                Some(_) => {}
                None => {
                    pool_of_class[c] = Some(p);
                    classes.push(c);
                }
            }
        }
        classes.sort_unstable();
        let bought: BTreeMap<String, (&str, &str)> = pool
            .bought_nodes()
            .into_iter()
            .map(|b| (b.name, (b.node_type, b.zone)))
            .collect();
        let mut nodes = Vec::new();
        for name in &pool.nodes {
            let n = match bought.get(name) {
                Some(&(ty, zone)) => take_bought(inst, &mut inv, ty, zone)?,
                None => {
                    let n = model.node_index(name)?;
                    // A catalog type's max holds over all its zones, which a baseline run on
                    // the materialised nodes does not know: a plan past it is no plan.
                    if inv.available(inst.node_type[n], inst.node_zone[n]) == 0 {
                        return None;
                    }
                    inv.claim(inst, n);
                    n
                }
            };
            named.insert(name, n);
            if slot.insert(n, (p, nodes.len())).is_some() {
                return None;
            }
            nodes.push(Open {
                node: n,
                ty: inst.node_type[n],
                zone: inst.node_zone[n],
                load: vec![0; model.resources.len()],
                hosted: Vec::new(),
            });
        }
        groups.push(classes);
        packs.push(PoolPack {
            nodes,
            shortfalls: Vec::new(),
            unmet: Vec::new(),
            cost: 0,
        });
    }
    // A class in no pool has no workload listed anywhere: the plan is not complete.
    if pool_of_class.iter().any(Option::is_none) {
        return None;
    }
    for placement in &plan.placements {
        let w = model.workload_index(&placement.workload)?;
        let &(p, i) = slot.get(named.get(placement.node.as_str())?)?;
        if pool_of_class[class_of[w]] != Some(p) {
            return None;
        }
        packs[p].nodes[i].add(&model.workloads[w].requests, w, 1);
    }
    for pack in &mut packs {
        pack.cost = nodes_cost(inst, &pack.nodes);
    }
    Some((groups, packs))
}

/// A free node materialised for the search as catalog type `ty` in `zone`.
fn take_bought(inst: &Instance, inv: &mut Inventory, ty: &str, zone: &str) -> Option<usize> {
    let catalog = inst.model.node_type_index(ty)?;
    let z = inst.zones.binary_search_by(|x| x.as_str().cmp(zone)).ok()?;
    let t = (0..inst.types.len())
        .find(|&t| inst.types[t].catalog == Some(catalog) && inv.available(t, z) > 0)?;
    inv.take(t, z)
}
