//! Incremental re-plans for what-if sweeps: a scenario that touches few pools re-solves
//! those pools from the previous placement (repair, not a fresh search).
//!
//! Owns [`repair`]. The previous plan is read back onto the scenario's model (workloads and
//! nodes that are gone dropped, replicas past a scaled-down count dropped where that keeps
//! each workload's zones) and every pool is rebuilt replica by replica under the rules of
//! `rules`. A pool where everything still fits and every pool rule holds is kept as it
//! stands; a touched pool keeps every replica that still fits where it is and places the
//! others (displaced, or new after a scale-up) first fit on its own nodes, then on free
//! inventory nodes, adds free nodes for headroom and minNodesPerPool as a build does, and
//! releases the empty nodes it no longer needs. Nothing that still fits ever moves.
//!
//! When the change is not local (a workload the previous plan does not place, a workload
//! whose class changed, classes no longer allowed to share their pool, a previous plan that
//! is incomplete or bought nodes, catalog mode) or the repair cannot complete a pool, the
//! answer is `None` and the caller runs a full `solve` with the previous plan.

use super::bound::{self, Bound};
use super::instance::{Instance, Inventory};
use super::last_resort::read_back;
use super::pack::{self, nodes_cost, Open, PoolPack};
use super::{polish, rules, to_plan, workloads_of, Budget, SolveOptions, Solved, Stats};
use crate::model::{fingerprint_without, Model};
use crate::plan::{Plan, Status};
use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::time::Instant;

/// Re-plans `model` (a what-if scenario: the baseline with nodes removed, workloads scaled
/// or removed, ...) from `previous` (the baseline's plan) by repairing only the pools the
/// change touches: a scenario that touches few pools re-solves those pools from the previous
/// placement (repair, not a fresh search). Pools whose workloads, nodes and replicas are
/// untouched are kept verbatim (name, nodes, placements); a touched pool keeps every
/// placement still valid and re-places what is displaced or new on its surviving nodes,
/// then on nodes no pool uses, with every rule held.
///
/// `None` when the change is not local (see the module docs) or no complete plan comes of
/// the repair: the caller then runs [`super::solve`] with `previous`. The plan returned is
/// complete (status feasible, or optimal when its cost meets the bound), records its
/// disruption against `previous`, and is the same for the same input.
///
/// Its lower bound is the previous plan's when `model` is the previous plan's inputs, or
/// those inputs without some nodes as [`Model::without_nodes`] makes them (the fingerprints
/// say so; fewer nodes only shrink the set of plans, so the bound stays proven); otherwise
/// the LP bound of a full solve is computed.
pub fn repair(model: &Model, previous: &Plan, options: &SolveOptions) -> Option<Solved> {
    let start = Instant::now();
    let deadline = options.time_limit.map(|t| start + t);
    if !model.node_types.is_empty() {
        return None;
    }
    let inst = Instance::new(model);
    if !local(&inst, previous) {
        return None;
    }
    let (groups, mut packs) = read_back(&inst, &surviving(model, previous))?;
    if !groups.iter().all(|g| inst.graph.is_clique(g)) {
        return None;
    }
    let mut inv = Inventory::full(&inst);
    for o in packs.iter().flat_map(|p| &p.nodes) {
        inv.claim(&inst, o.node);
    }
    let mut budget = Budget::new(options.work_limit, deadline);
    for (g, pack) in groups.iter().zip(&mut packs) {
        if !mend(&inst, &workloads_of(&inst, g), pack, &mut inv, &mut budget) {
            return None;
        }
    }
    let bound_start = Instant::now();
    let bound = kept_bound(model, previous).unwrap_or_else(|| bound::lower_bound(&inst, deadline));
    let bound_elapsed = bound_start.elapsed();
    let (mut plan, unplaced) = to_plan(&inst, &groups, &packs, &bound, &[], Some(previous));
    if plan.status == Status::Infeasible {
        return None;
    }
    plan.objective.disruption = Some(crate::diff::diff(previous, &plan).disruption());
    let stats = Stats {
        elapsed: start.elapsed(),
        bound_elapsed,
        classes: inst.graph.classes.len(),
        node_types: inst.types.len(),
        work: budget.used,
        stopped_by_time: budget.stopped_by_time,
        groupings_evaluated: 0,
        separated_classes: bound.separated_classes,
    };
    Some(Solved {
        plan,
        stats,
        unplaced,
    })
}

/// Whether the change from `previous` to `inst`'s model can be repaired pool by pool:
/// `previous` is complete and buys nothing, places every workload of the model, and each
/// workload still has a class its previous pool lists.
fn local(inst: &Instance, previous: &Plan) -> bool {
    let model = inst.model;
    if !previous.unplaced.is_empty()
        || !previous.unmet.is_empty()
        || previous.pools.iter().any(|p| !p.node_types.is_empty())
    {
        return false;
    }
    // Class names as the graph has them (`Model::class_name`), one per workload.
    let mut class: Vec<&str> = vec![""; model.workloads.len()];
    for c in &inst.graph.classes {
        for &w in &c.workloads {
            class[w] = &c.name;
        }
    }
    let mut listed = vec![false; model.workloads.len()];
    for pool in &previous.pools {
        for id in &pool.workloads {
            if let Some(w) = model.workload_index(id) {
                if !pool.classes.iter().any(|c| c == class[w]) {
                    return false;
                }
                listed[w] = true;
            }
        }
    }
    listed.into_iter().all(|l| l)
}

/// `previous` trimmed to what `model` still has: the workloads and nodes that remain, and
/// pools with a workload left; placements on nodes that are gone dropped.
fn surviving(model: &Model, previous: &Plan) -> Plan {
    let mut pools = previous.pools.clone();
    for pool in &mut pools {
        pool.workloads.retain(|w| model.workload_index(w).is_some());
        pool.nodes.retain(|n| model.node_index(n).is_some());
    }
    pools.retain(|p| !p.workloads.is_empty());
    let placements = previous
        .placements
        .iter()
        .filter(|p| {
            model.workload_index(&p.workload).is_some() && model.node_index(&p.node).is_some()
        })
        .cloned()
        .collect();
    // The rest is what `read_back` reads: nothing unplaced or unmet (see `local`).
    Plan {
        api_version: previous.api_version.clone(),
        kind: previous.kind.clone(),
        status: previous.status,
        infeasibility: None,
        explanation: None,
        objective: previous.objective.clone(),
        pools,
        placements,
        unplaced: Vec::new(),
        unmet: Vec::new(),
        unused_nodes: Vec::new(),
        inputs: None,
    }
}

/// Repairs one pool of `workloads` read back from the previous plan (see the module docs),
/// taking free nodes from `inv` and returning those it releases. Whether every rule holds
/// on it now; it is left as it was when nothing needed repair.
fn mend(
    inst: &Instance,
    workloads: &[usize],
    pack: &mut PoolPack,
    inv: &mut Inventory,
    budget: &mut Budget,
) -> bool {
    for &w in workloads {
        trim(inst, w, &mut pack.nodes);
    }
    let mut pending = refit(inst, workloads, &mut pack.nodes);
    let demand = inst.demand(workloads.iter().copied());
    let useful = |o: &Open| workloads.iter().any(|&w| rules::eligible(inst, w, o.ty));
    let intact = pending.is_empty()
        && pack.nodes.iter().all(useful)
        && workloads.iter().all(|&w| zones_met(inst, w, &pack.nodes))
        && rules::pool_rules_hold(inst, &demand, pack.nodes.iter().map(|o| o.ty));
    if intact {
        return true;
    }
    // Largest first, those with a spread to restore before them (as a build orders them).
    pending.sort_unstable_by_key(|&w| {
        let size = inst.dominant_share(w).to_bits();
        (Reverse(inst.workloads[w].zones_needed), Reverse(size), w)
    });
    for w in pending {
        if !place(inst, w, &mut pack.nodes, inv) {
            return false;
        }
    }
    release(inst, &mut pack.nodes, inv, |o| !useful(o), |_| true);
    if !pack::meet_pool_rules(inst, workloads, &mut pack.nodes, inv, budget).is_empty() {
        return false;
    }
    release(
        inst,
        &mut pack.nodes,
        inv,
        |o| o.hosted.is_empty(),
        |rest| rules::pool_rules_hold(inst, &demand, rest.iter().map(|o| o.ty)),
    );
    pack.cost = nodes_cost(inst, &pack.nodes);
    polish::holds(inst, workloads, pack)
}

/// Drops the replicas of `w` past its count (a scale-down), one at a time from a node in
/// the zone where it has the most (nodes without a zone first, then the node hosting the
/// most, then the last): the real zones it spans never fall below what it needs, since a
/// zone loses its last replica only when every zone holds one and replicas are left over.
fn trim(inst: &Instance, w: usize, nodes: &mut [Open]) {
    let req = &inst.model.workloads[w].requests;
    let mut placed: u32 = nodes.iter().map(|o| o.count(w)).sum();
    while placed > inst.model.workloads[w].replicas {
        let mut in_zone = vec![0u32; inst.zones.len() + 1];
        for o in nodes.iter() {
            in_zone[o.zone] += o.count(w);
        }
        let j = (0..nodes.len())
            .filter(|&j| nodes[j].count(w) > 0)
            .max_by_key(|&j| {
                let z = nodes[j].zone;
                (z == inst.zones.len(), in_zone[z], nodes[j].count(w), j)
            })
            .expect("replicas placed");
        nodes[j].remove(req, w, 1);
        placed -= 1;
    }
}

/// Puts the pool's replicas back on their nodes one by one, in node then workload order,
/// where every node rule still holds; returns the replicas to place (those that no longer
/// fit where they were, and those a scale-up adds), one entry per replica.
fn refit(inst: &Instance, workloads: &[usize], nodes: &mut [Open]) -> Vec<usize> {
    let mut placed = vec![0u32; workloads.len()];
    for o in nodes.iter_mut() {
        let mut hosted = std::mem::take(&mut o.hosted);
        o.load.iter_mut().for_each(|l| *l = 0);
        hosted.sort_unstable();
        for (w, c) in hosted {
            let i = workloads.binary_search(&w).expect("a workload of the pool");
            for _ in 0..c {
                if rules::fits(inst, &*o, w) {
                    o.add(&inst.model.workloads[w].requests, w, 1);
                    placed[i] += 1;
                }
            }
        }
    }
    let mut pending = Vec::new();
    for (&w, &p) in workloads.iter().zip(&placed) {
        let missing = inst.model.workloads[w].replicas.saturating_sub(p);
        pending.extend(std::iter::repeat_n(w, missing as usize));
    }
    pending
}

/// The real zones where `nodes` host `w`.
fn zones_of(inst: &Instance, w: usize, nodes: &[Open]) -> BTreeSet<usize> {
    nodes
        .iter()
        .filter(|o| o.zone < inst.zones.len() && o.count(w) > 0)
        .map(|o| o.zone)
        .collect()
}

/// Whether `nodes` spread `w` over the zones it needs.
fn zones_met(inst: &Instance, w: usize, nodes: &[Open]) -> bool {
    rules::enough_zones(inst, w, zones_of(inst, w, nodes).len())
}

/// Places one replica of `w`: on the first of the pool's nodes where it fits, or on a free
/// node of the cheapest eligible type (in the zone where the pool has fewest nodes), in a
/// zone it does not use yet while it lacks zones. Whether it found a place.
fn place(inst: &Instance, w: usize, nodes: &mut Vec<Open>, inv: &mut Inventory) -> bool {
    let used = zones_of(inst, w, nodes);
    let spreading = !rules::enough_zones(inst, w, used.len());
    let zone_ok = |z: usize| !spreading || (z < inst.zones.len() && !used.contains(&z));
    let req = &inst.model.workloads[w].requests;
    if let Some(o) = nodes
        .iter_mut()
        .find(|o| zone_ok(o.zone) && rules::fits(inst, &**o, w))
    {
        o.add(req, w, 1);
        return true;
    }
    let pick = inst.workloads[w]
        .eligible
        .iter()
        .flat_map(|&t| (0..inv.zones()).map(move |z| (t, z)))
        .filter(|&(t, z)| zone_ok(z) && inv.available(t, z) > 0)
        .min_by_key(|&(t, z)| {
            let here = nodes.iter().filter(|o| o.zone == z).count();
            (inst.types[t].cost, here, t, z)
        });
    let Some(node) = pick.and_then(|(t, z)| inv.take(t, z)) else {
        return false;
    };
    // An empty node of an eligible type holds one replica (see `Instance`).
    let mut open = Open::empty(inst, node);
    open.add(req, w, 1);
    nodes.push(open);
    true
}

/// Releases to `inv`, last first, each node `drop` picks whose removal leaves nodes that
/// `keeps` accepts.
fn release(
    inst: &Instance,
    nodes: &mut Vec<Open>,
    inv: &mut Inventory,
    drop: impl Fn(&Open) -> bool,
    keeps: impl Fn(&[Open]) -> bool,
) {
    for j in (0..nodes.len()).rev() {
        if !drop(&nodes[j]) {
            continue;
        }
        let o = nodes.remove(j);
        if keeps(nodes) {
            inv.release(inst, o.node);
        } else {
            nodes.insert(j, o);
        }
    }
}

/// The previous plan's lower bound, in millionths, when it bounds `model` too: `model` is
/// the previous plan's inputs, or those inputs without the nodes the plan knows and `model`
/// lacks (by the fingerprint [`Model::without_nodes`] gives). Fewer nodes only shrink the
/// set of valid plans, so no plan of `model` costs less. The bound is trusted as the
/// previous plan states it for its inputs.
fn kept_bound(model: &Model, previous: &Plan) -> Option<Bound> {
    let inputs = previous.inputs.as_deref()?;
    let known: BTreeSet<&str> = previous
        .pools
        .iter()
        .flat_map(|p| &p.nodes)
        .chain(&previous.unused_nodes)
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = known
        .into_iter()
        .filter(|n| model.node_index(n).is_none())
        .collect();
    let derived = if removed.is_empty() {
        inputs.to_string()
    } else {
        fingerprint_without(inputs, &removed)
    };
    (model.fingerprint == derived).then(|| Bound {
        micros: Some((previous.objective.lower_bound * 1e6).round() as u64),
        separated_classes: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::diff::diff;
    use crate::testing::{model, node, policy, workload};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Three tiers on ten nodes of 4 cpu in two zones, with headroom for one failure: a plan
    /// takes seven, so every zone keeps a free node for a repair.
    fn cluster(web_replicas: u32) -> Model {
        cluster_with(web_replicas, None)
    }

    /// [`cluster`], with one more document.
    fn cluster_with(web_replicas: u32, extra: Option<String>) -> Model {
        let mut docs = vec![
            policy("headroom: {nodeFailures: 1}"),
            workload(
                "web",
                &format!("sensitivity: public, replicas: {web_replicas}, resources: {{cpu: 1}}, minZones: 2"),
            ),
            workload(
                "api",
                "sensitivity: internal, replicas: 3, resources: {cpu: 1500m}",
            ),
            workload(
                "db",
                "sensitivity: confidential, replicas: 2, resources: {cpu: 2}, maxPerNode: 1",
            ),
        ];
        docs.extend(extra);
        docs.extend((0..10).map(|i| {
            let zone = ["a", "b"][i % 2];
            node(
                &format!("n{i}"),
                &format!("topology.kubernetes.io/zone: {zone}"),
                "",
            )
        }));
        let docs: Vec<&str> = docs.iter().map(String::as_str).collect();
        model(&docs)
    }

    fn baseline(m: &Model) -> Plan {
        let plan = super::super::solve(m, &SolveOptions::default()).plan;
        assert!(check(m, &plan).is_valid(), "{}", check(m, &plan));
        plan
    }

    /// The repaired plan of `m`, which the checker must accept.
    fn repaired(m: &Model, previous: &Plan) -> Plan {
        let plan = repair(m, previous, &SolveOptions::default())
            .expect("a local change")
            .plan;
        assert!(check(m, &plan).is_valid(), "{}", check(m, &plan));
        assert_ne!(plan.status, Status::Infeasible);
        plan
    }

    /// Replicas per (workload, node) of a plan.
    fn hosting(plan: &Plan) -> BTreeMap<(&str, &str), u32> {
        let mut out = BTreeMap::new();
        for p in &plan.placements {
            *out.entry((p.workload.as_str(), p.node.as_str()))
                .or_default() += 1;
        }
        out
    }

    #[test]
    fn removing_a_node_that_hosts_nothing_moves_nothing() {
        let m = cluster(4);
        let before = baseline(&m);
        let idle = before.unused_nodes.first().expect("nodes left unused");
        let after = repaired(&m.without_nodes(&[idle]), &before);
        assert_eq!(after.pools, before.pools);
        assert_eq!(after.placements, before.placements);
        assert_eq!(after.objective.lower_bound, before.objective.lower_bound);
        let d = after.objective.disruption.expect("recorded");
        assert_eq!((d.moved_replicas, d.relabelled_nodes), (0, 0));
        // Nothing removed at all: the same plan again.
        let same = repaired(&m, &before);
        assert_eq!(same.placements, before.placements);
        assert_eq!(same.pools, before.pools);
    }

    #[test]
    fn removing_a_used_node_moves_exactly_its_replicas() {
        let m = cluster(4);
        let before = baseline(&m);
        let was = hosting(&before);
        for pool in &before.pools {
            for lost in &pool.nodes {
                let scenario = m.without_nodes(&[lost]);
                let after = repaired(&scenario, &before);
                let displaced: u32 = was
                    .iter()
                    .filter(|((_, n), _)| n == lost)
                    .map(|(_, c)| c)
                    .sum();
                let d = diff(&before, &after);
                assert_eq!(d.moves.len() as u32, displaced, "without {lost}: {d:?}");
                // Every other replica stays where it was; other pools are untouched.
                let now = hosting(&after);
                for ((w, n), c) in &was {
                    if n != lost {
                        assert!(now.get(&(w, n)) >= Some(c), "{w} left {n}");
                    }
                }
                for other in before.pools.iter().filter(|p| p.name != pool.name) {
                    assert!(after.pools.contains(other), "{} changed", other.name);
                }
                assert!(after.objective.lower_bound == before.objective.lower_bound);
                let again = repair(&scenario, &before, &SolveOptions::default()).unwrap();
                assert_eq!(again.plan.to_json(), after.to_json(), "deterministic");
            }
        }
    }

    #[test]
    fn removing_every_node_gives_none() {
        let m = cluster(4);
        let before = baseline(&m);
        let names: Vec<&str> = m.nodes.iter().map(|n| n.name.as_str()).collect();
        let bare = m.without_nodes(&names);
        assert!(bare.nodes.is_empty());
        assert!(repair(&bare, &before, &SolveOptions::default()).is_none());
    }

    #[test]
    fn a_scaled_down_workload_keeps_its_zones_and_moves_nothing() {
        let before = baseline(&cluster(6));
        let m = cluster(2);
        let after = repaired(&m, &before);
        let d = after.objective.disruption.expect("recorded");
        assert_eq!(d.moved_replicas, 0);
        assert!(after.objective.cost <= before.objective.cost);
        // Other inputs than the previous plan's: the bound is computed, not kept.
        let fresh = super::super::solve(&m, &SolveOptions::default()).plan;
        assert_eq!(after.objective.lower_bound, fresh.objective.lower_bound);
        // Scaled up again: the new replicas are placed, the others stay.
        let up = repaired(&cluster(6), &after);
        assert_eq!(up.objective.disruption.unwrap().moved_replicas, 0);
    }

    #[test]
    fn changes_that_are_not_local_give_none() {
        let m = cluster(4);
        let before = baseline(&m);
        // A workload the previous plan does not place.
        let new = workload("new", "sensitivity: public, replicas: 1");
        let more = cluster_with(4, Some(new));
        assert!(repair(&more, &before, &SolveOptions::default()).is_none());
        // A workload whose class changed.
        let mut moved = m.clone();
        moved.workloads[0]
            .attributes
            .insert("sensitivity".into(), "restricted".into());
        assert!(repair(&moved, &before, &SolveOptions::default()).is_none());
    }

    /// (cpu halves, replicas, sensitivity, maxPerNode 1, minZones 2) per workload; (cpu,
    /// zone) per node; headroom; nodes removed.
    type Case = (
        Vec<(u32, u32, usize, bool, bool)>,
        Vec<(u32, usize)>,
        bool,
        Vec<bool>,
    );

    fn case() -> impl Strategy<Value = Case> {
        (
            prop::collection::vec(
                (
                    1u32..5,
                    1u32..4,
                    0usize..3,
                    prop::bool::weighted(0.3),
                    prop::bool::weighted(0.3),
                ),
                1..5,
            ),
            prop::collection::vec((2u32..7, 0usize..3), 2..9),
            any::<bool>(),
            prop::collection::vec(prop::bool::weighted(0.3), 9),
        )
    }

    fn case_model((workloads, nodes, headroom, _): &Case) -> Model {
        let mut docs = vec![policy(&format!(
            "shareWhen: [{{sensitivity: [public, internal]}}], headroom: {{nodeFailures: {}}}",
            u32::from(*headroom)
        ))];
        for (i, &(cpu, replicas, s, max, zones)) in workloads.iter().enumerate() {
            let mut spec = format!(
                "sensitivity: {}, replicas: {replicas}, resources: {{cpu: {}m}}",
                ["public", "internal", "confidential"][s],
                cpu * 500
            );
            spec += if max { ", maxPerNode: 1" } else { "" };
            spec += if zones { ", minZones: 2" } else { "" };
            docs.push(workload(&format!("w{i}"), &spec));
        }
        for (i, &(cpu, zone)) in nodes.iter().enumerate() {
            docs.push(node(
                &format!("n{i}"),
                &format!("topology.kubernetes.io/zone: z{zone}"),
                &format!("allocatable: {{cpu: {cpu}, pods: 110}}"),
            ));
        }
        let docs: Vec<&str> = docs.iter().map(String::as_str).collect();
        model(&docs)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// For random node removals, `repair` gives `None` or a complete plan the checker
        /// accepts, which moves only replicas of the nodes removed, keeps the pools that
        /// lost none as they were, and the previous plan's bound.
        #[test]
        fn repairs_after_node_removals_are_valid_and_move_only_the_displaced(c in case()) {
            let m = case_model(&c);
            let before = super::super::solve(&m, &SolveOptions::default()).plan;
            prop_assume!(before.status != Status::Infeasible);
            let removed: Vec<&str> = m
                .nodes
                .iter()
                .zip(&c.3)
                .filter(|(_, r)| **r)
                .map(|(n, _)| n.name.as_str())
                .collect();
            let scenario = m.without_nodes(&removed);
            let Some(solved) = repair(&scenario, &before, &SolveOptions::default()) else {
                return Ok(());
            };
            let after = solved.plan;
            let report = check(&scenario, &after);
            prop_assert!(report.is_valid(), "{}", report);
            let lost = |n: &str| removed.contains(&n);
            let displaced: BTreeMap<&str, u32> = before
                .placements
                .iter()
                .filter(|p| lost(&p.node))
                .fold(BTreeMap::new(), |mut acc, p| {
                    *acc.entry(p.workload.as_str()).or_default() += 1;
                    acc
                });
            let d = diff(&before, &after);
            let mut moved: BTreeMap<&str, u32> = BTreeMap::new();
            for mv in &d.moves {
                *moved.entry(mv.workload.as_str()).or_default() += 1;
            }
            for (w, k) in &moved {
                prop_assert!(displaced.get(w) >= Some(k), "{} moved {} times: {:?}", w, k, d);
            }
            for pool in before.pools.iter().filter(|p| !p.nodes.iter().any(|n| lost(n))) {
                prop_assert!(after.pools.contains(pool), "{} changed", pool.name);
            }
            prop_assert_eq!(after.objective.lower_bound, before.objective.lower_bound);
        }

        /// For random replica counts, `repair` gives `None` or a complete plan the checker
        /// accepts that moves no replica, with a bound no higher than its cost.
        #[test]
        fn repairs_after_scaling_are_valid_and_move_nothing(
            c in case(),
            replicas in prop::collection::vec(1u32..6, 5),
        ) {
            let m = case_model(&c);
            let before = super::super::solve(&m, &SolveOptions::default()).plan;
            prop_assume!(before.status != Status::Infeasible);
            let mut scaled = c.clone();
            for (w, r) in scaled.0.iter_mut().zip(replicas) {
                w.1 = r;
            }
            let scenario = case_model(&scaled);
            let Some(solved) = repair(&scenario, &before, &SolveOptions::default()) else {
                return Ok(());
            };
            let after = solved.plan;
            let report = check(&scenario, &after);
            prop_assert!(report.is_valid(), "{}", report);
            prop_assert_eq!(after.objective.disruption.map(|d| d.moved_replicas), Some(0));
            prop_assert!(after.objective.lower_bound <= after.objective.cost);
        }
    }
}
