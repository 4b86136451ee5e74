//! The rules every search obeys, written once: per node (eligibility, capacity with pod
//! slots, maxPerNode, antiAffinity, coLocation and its reverse) and per pool (headroom,
//! minNodesPerPool, minZones).
//!
//! Each search keeps its own picture of a node (`pack` and `polish` an [`Open`] listing what
//! it hosts, `feasible` a count per workload, `exact` a count per pool workload); they all
//! ask these functions through [`Host`], so a new rule is one edit here and the searches
//! cannot disagree. The checker (`check`) judges plans with its own code; the tests below
//! drive random moves through every search's view and hold them to it.

use super::instance::{self, Instance};
use super::pack::Open;

/// What a search knows of one node: its type, its load and what it hosts.
pub(super) trait Host {
    /// Its type (index into [`Instance::types`]).
    fn node_type(&self) -> usize;
    /// Requests placed on it, per resource.
    fn load(&self) -> &[u64];
    /// Replicas of workload `w` on it.
    fn count(&self, w: usize) -> u32;
    /// Calls `f` with each workload of `among` (ascending) that has replicas on it, and
    /// their count. A view that lists its residents may walk the shorter of the two lists.
    fn each_among(&self, among: &[usize], mut f: impl FnMut(usize, u32)) {
        for &w in among {
            let c = self.count(w);
            if c > 0 {
                f(w, c);
            }
        }
    }
}

impl Host for Open {
    fn node_type(&self) -> usize {
        self.ty
    }

    fn load(&self) -> &[u64] {
        &self.load
    }

    fn count(&self, w: usize) -> u32 {
        Open::count(self, w)
    }

    fn each_among(&self, among: &[usize], mut f: impl FnMut(usize, u32)) {
        // Whichever list is shorter is walked, the other searched: a node hosting few
        // workloads is asked about long antiAffinity lists, and the reverse.
        if among.len() <= self.hosted.len() {
            for &w in among {
                let c = self.count(w);
                if c > 0 {
                    f(w, c);
                }
            }
        } else {
            for &(w, c) in &self.hosted {
                if c > 0 && among.binary_search(&w).is_ok() {
                    f(w, c);
                }
            }
        }
    }
}

/// A node as counts: `counts[i]` replicas of workload `ws[i]` (`ws` ascending), or of
/// workload `i` when `ws` is `None`. The complete searches (`feasible`, `exact`) keep nodes
/// so.
pub(super) struct Tally<'a> {
    pub ty: usize,
    pub load: &'a [u64],
    pub ws: Option<&'a [usize]>,
    pub counts: &'a [u32],
}

impl Host for Tally<'_> {
    fn node_type(&self) -> usize {
        self.ty
    }

    fn load(&self) -> &[u64] {
        self.load
    }

    fn count(&self, w: usize) -> u32 {
        match self.ws {
            None => self.counts[w],
            Some(ws) => ws.binary_search(&w).map_or(0, |i| self.counts[i]),
        }
    }
}

/// Whether a node of type `ty` may ever host a replica of `w`: it carries every label the
/// workload requires and each of its resources holds one replica.
pub(super) fn eligible(inst: &Instance, w: usize, ty: usize) -> bool {
    inst.workloads[w].eligible.binary_search(&ty).is_ok()
}

/// Calls `f` with each resident that keeps one more replica of `w` off the node by a
/// neighbour rule, and how many of its replicas would have to leave: all of an anti-affine
/// workload; those of a workload past `w`'s coLocation limit on it beyond the limit; all of
/// a workload whose coLocation limit on `w` is reached. A resident may be named twice.
pub(super) fn blockers(inst: &Instance, host: &impl Host, w: usize, mut f: impl FnMut(usize, u32)) {
    let m = &inst.model.workloads[w];
    host.each_among(&m.anti_affinity, &mut f);
    for &(b, max) in &m.co_location {
        let c = host.count(b);
        if c > max {
            f(b, c - max);
        }
    }
    let own = host.count(w);
    for &(a, max) in &inst.workloads[w].capped_by {
        let c = host.count(a);
        if c > 0 && own >= max {
            f(a, c);
        }
    }
}

/// Whether some resident keeps one more replica of `w` off the node (see [`blockers`]).
pub(super) fn blocked(inst: &Instance, host: &impl Host, w: usize) -> bool {
    shut_out(inst, host, w)
        || inst.workloads[w]
            .capped_by
            .iter()
            .any(|&(a, max)| host.count(a) > 0 && host.count(w) >= max)
}

/// Whether a resident keeps every replica of `w` off the node, however many it has there:
/// an anti-affine workload, or one past `w`'s coLocation limit on it.
fn shut_out(inst: &Instance, host: &impl Host, w: usize) -> bool {
    let m = &inst.model.workloads[w];
    let mut anti = false;
    host.each_among(&m.anti_affinity, |_, _| anti = true);
    anti || m.co_location.iter().any(|&(b, max)| host.count(b) > max)
}

/// How many more replicas of `w` the node takes by every per-node rule (at most
/// `u32::MAX`).
pub(super) fn room(inst: &Instance, host: &impl Host, w: usize) -> u32 {
    let m = &inst.model.workloads[w];
    let ty = host.node_type();
    if !eligible(inst, w, ty) || shut_out(inst, host, w) {
        return 0;
    }
    let mut k =
        instance::room(&inst.types[ty].cap, host.load(), &m.requests).min(u64::from(u32::MAX));
    let own = host.count(w);
    if let Some(max) = m.max_per_node {
        k = k.min(u64::from(max.saturating_sub(own)));
    }
    for &(a, max) in &inst.workloads[w].capped_by {
        if host.count(a) > 0 {
            k = k.min(u64::from(max.saturating_sub(own)));
        }
    }
    k as u32
}

/// Whether one more replica of `w` may go on the node: `room(..) > 0`, without dividing.
pub(super) fn fits(inst: &Instance, host: &impl Host, w: usize) -> bool {
    let m = &inst.model.workloads[w];
    let ty = host.node_type();
    eligible(inst, w, ty)
        && m.max_per_node.is_none_or(|max| host.count(w) < max)
        && m.requests
            .iter()
            .zip(&inst.types[ty].cap)
            .zip(host.load())
            .all(|((q, c), l)| l + q <= *c)
        && !blocked(inst, host, w)
}

/// Whether a pool of `nodes` nodes meets minNodesPerPool.
pub(super) fn enough_nodes(inst: &Instance, nodes: usize) -> bool {
    nodes >= inst.model.policy.min_nodes_per_pool as usize
}

/// Whether replicas of `w` in `zones` distinct real zones meet its minZones rule.
pub(super) fn enough_zones(inst: &Instance, w: usize, zones: usize) -> bool {
    zones >= inst.workloads[w].zones_needed as usize
}

/// Whether a pool with total requests `demand`, made of nodes of these types, meets
/// minNodesPerPool and, with `keep_cover`, still has no [`headroom_deficit`]: the local
/// searches release a node only while both hold, when the cover held before.
pub(super) fn may_shrink_to(
    inst: &Instance,
    demand: &[u128],
    types: impl Iterator<Item = usize> + Clone,
    keep_cover: bool,
) -> bool {
    enough_nodes(inst, types.clone().count())
        && (!keep_cover || headroom_deficit(inst, demand, types).is_none())
}

/// Whether a pool with total requests `demand`, made of nodes of these types, meets its
/// pool rules minNodesPerPool and headroom.
pub(super) fn pool_rules_hold(
    inst: &Instance,
    demand: &[u128],
    types: impl Iterator<Item = usize> + Clone,
) -> bool {
    enough_nodes(inst, types.clone().count()) && headroom_holds(inst, demand, types)
}

/// Whether the pool's nodes past its K largest cover `demand` (true without `nodeFailures`).
pub(super) fn headroom_holds(
    inst: &Instance,
    demand: &[u128],
    types: impl Iterator<Item = usize> + Clone,
) -> bool {
    inst.model.policy.node_failures == 0 || headroom_deficit(inst, demand, types).is_none()
}

/// The headroom deficit of a pool with total requests `demand` made of nodes of these
/// types: Σ over resources of (demand − (capacity − K largest)) / largest type capacity,
/// when positive; `None` when headroom holds. Without `nodeFailures` (K = 0) it measures
/// whether the capacity covers the demand at all.
pub(super) fn headroom_deficit(
    inst: &Instance,
    demand: &[u128],
    types: impl Iterator<Item = usize> + Clone,
) -> Option<f64> {
    let k = inst.model.policy.node_failures as usize;
    let mut total = 0.0;
    for (r, &demand) in demand.iter().enumerate() {
        if demand == 0 {
            continue;
        }
        let mut caps: Vec<u64> = types.clone().map(|t| inst.types[t].cap[r]).collect();
        caps.sort_unstable_by(|a, b| b.cmp(a));
        let usable: u128 = caps.iter().skip(k).map(|&c| c as u128).sum();
        if usable < demand {
            let scale = inst.max_cap[r].max(1) as f64;
            total += (demand - usable) as f64 / scale;
        }
    }
    (total > 0.0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check;
    use crate::plan::{Objective, Placement, Plan, Pool, Status, Unplaced};
    use crate::testing::{model, node, policy, workload};
    use proptest::prelude::*;

    /// The checker's rules about what one node may host, whatever the pools.
    const NODE_RULES: [&str; 6] = [
        "capacity",
        "anti-affinity",
        "co-location",
        "max-per-node",
        "node-selector",
        "node-requirement",
    ];

    /// (cpu in halves, memory Gi, replicas, maxPerNode, nodeSelector disk=ssd, antiAffinity
    /// target, coLocation target and max)
    type WorkloadSpec = (
        u32,
        u32,
        u32,
        Option<u32>,
        bool,
        Option<usize>,
        Option<(usize, u32)>,
    );

    fn blockers_of(inst: &Instance, host: &impl Host, w: usize) -> Vec<(usize, u32)> {
        let mut b = Vec::new();
        blockers(inst, host, w, |x, k| b.push((x, k)));
        b.sort_unstable();
        b.dedup();
        b
    }

    #[derive(Debug, Clone)]
    struct Spec {
        /// (cpu cores, memory Gi, pod slots, labelled disk=ssd, zone)
        nodes: Vec<(u32, u32, u32, bool, u8)>,
        workloads: Vec<WorkloadSpec>,
        /// cpu overhead in halves; whether hardened workloads require disk=ssd by policy.
        overhead: u32,
        requirement: bool,
        /// (workload, node) placement attempts.
        moves: Vec<(usize, usize)>,
        /// headroom nodeFailures, minNodesPerPool, and minZones per workload (by index).
        failures: u32,
        min_nodes: u32,
        min_zones: Vec<Option<u32>>,
    }

    fn spec() -> impl Strategy<Value = Spec> {
        // Zone 3: no zone label.
        let nodes = prop::collection::vec((1u32..6, 1u32..8, 1u32..6, any::<bool>(), 0u8..4), 1..5);
        let workload = (
            0u32..5,
            0u32..4,
            1u32..6,
            prop::option::of(1u32..3),
            prop::bool::weighted(0.2),
            prop::option::weighted(0.3, 0usize..5),
            prop::option::weighted(0.3, (0usize..5, 0u32..3)),
        );
        let workloads = prop::collection::vec(workload, 1..6);
        (
            nodes,
            workloads,
            0u32..2,
            any::<bool>(),
            prop::collection::vec((0usize..6, 0usize..5), 1..40),
            (
                0u32..3,
                1u32..4,
                prop::collection::vec(prop::option::weighted(0.4, 1u32..4), 6),
            ),
        )
            .prop_map(
                |(
                    nodes,
                    workloads,
                    overhead,
                    requirement,
                    moves,
                    (failures, min_nodes, min_zones),
                )| {
                    Spec {
                        nodes,
                        workloads,
                        overhead,
                        requirement,
                        moves,
                        failures,
                        min_nodes,
                        min_zones,
                    }
                },
            )
    }

    fn build(s: &Spec) -> crate::model::Model {
        let nw = s.workloads.len();
        let mut docs = vec![policy(&format!(
            "separateBy: [sensitivity], nodeOverhead: {{cpu: {}m}}, headroom: {{nodeFailures: {}}}, minNodesPerPool: {}{}",
            s.overhead * 500,
            s.failures,
            s.min_nodes,
            if s.requirement {
                ", nodeRequirements: [{match: {exposure: [internet]}, nodeSelector: {disk: ssd}}]"
            } else {
                ""
            }
        ))];
        for (i, w) in s.workloads.iter().enumerate() {
            let (cpu, mem, replicas, max, selector, anti, co) = *w;
            let mut spec = format!(
                "sensitivity: public, exposure: {}, replicas: {replicas}, resources: {{cpu: {}m, memory: {mem}Gi}}",
                if i % 2 == 0 { "internet" } else { "internal" },
                cpu * 500
            );
            if let Some(max) = max {
                spec += &format!(", maxPerNode: {max}");
            }
            if selector {
                spec += ", nodeSelector: {disk: ssd}";
            }
            if let Some(z) = s.min_zones[i] {
                spec += &format!(", minZones: {z}");
            }
            if let Some(a) = anti.map(|a| a % nw).filter(|&a| a != i) {
                spec += &format!(", antiAffinity: [w{a}]");
            }
            if let Some((b, max)) = co.map(|(b, m)| (b % nw, m)).filter(|&(b, _)| b != i) {
                spec += &format!(", coLocation: [{{workload: w{b}, max: {max}}}]");
            }
            docs.push(workload(&format!("w{i}"), &spec));
        }
        for (i, &(cpu, mem, pods, ssd, zone)) in s.nodes.iter().enumerate() {
            docs.push(node(
                &format!("n{i}"),
                &format!(
                    "{}{}",
                    if zone < 3 {
                        format!("topology.kubernetes.io/zone: z{zone}, ")
                    } else {
                        String::new()
                    },
                    if ssd { "disk: ssd" } else { "" }
                ),
                &format!("allocatable: {{cpu: {cpu}, memory: {mem}Gi, pods: {pods}}}"),
            ));
        }
        let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
        model(&refs)
    }

    /// Node-rule violations the checker finds with `hosted[n]` = (workload, count) per node.
    fn node_violations(m: &crate::model::Model, hosted: &[Vec<u32>]) -> Vec<check::Violation> {
        let all: Vec<usize> = (0..m.nodes.len()).collect();
        violations(m, hosted, &all, &NODE_RULES)
    }

    /// The violations of `rules` the checker finds with `hosted[n]` = (workload, count) per
    /// node, every workload in one pool of the nodes `pool`.
    fn violations(
        m: &crate::model::Model,
        hosted: &[Vec<u32>],
        pool: &[usize],
        rules: &[&str],
    ) -> Vec<check::Violation> {
        let mut placements = Vec::new();
        let mut next = vec![0u32; m.workloads.len()];
        for (n, counts) in hosted.iter().enumerate() {
            for (w, &c) in counts.iter().enumerate() {
                for _ in 0..c {
                    placements.push(Placement {
                        workload: m.workloads[w].id.clone(),
                        replica: next[w],
                        node: m.nodes[n].name.clone(),
                    });
                    next[w] += 1;
                }
            }
        }
        let plan = Plan {
            api_version: "tierplan/v1alpha1".into(),
            kind: "Plan".into(),
            status: Status::Infeasible,
            objective: Objective {
                cost: 0.0,
                nodes: 0,
                lower_bound: 0.0,
                gap: None,
                disruption: None,
            },
            pools: vec![Pool {
                name: "p".into(),
                classes: Vec::new(),
                workloads: m.workloads.iter().map(|w| w.id.clone()).collect(),
                nodes: pool.iter().map(|&n| m.nodes[n].name.clone()).collect(),
                platform: false,
                node_types: Vec::new(),
            }],
            placements,
            // What the nodes do not hold is declared, as the planner would.
            unplaced: (0..m.workloads.len())
                .flat_map(|w| (next[w]..m.workloads[w].replicas).map(move |r| (w, r)))
                .map(|(w, replica)| Unplaced {
                    workload: m.workloads[w].id.clone(),
                    replica,
                    reasons: Vec::new(),
                })
                .collect(),
            unmet: Vec::new(),
            unused_nodes: Vec::new(),
            inputs: None,
            infeasibility: None,
            explanation: None,
        };
        check::check(m, &plan)
            .violations
            .into_iter()
            .filter(|v| rules.contains(&v.rule))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Every search's picture of a node gives the same answer for every rule, and that
        /// answer is the checker's: one more replica fits exactly when placing it breaks no
        /// per-node rule the checker knows.
        #[test]
        fn every_view_agrees_with_the_others_and_with_the_checker(s in spec()) {
            let m = build(&s);
            let inst = Instance::new(&m);
            let (nw, nn, nr) = (m.workloads.len(), m.nodes.len(), m.resources.len());
            let ws: Vec<usize> = (0..nw).collect();
            let mut open: Vec<Open> = (0..nn)
                .map(|n| Open { node: n, ty: inst.node_type[n], zone: inst.node_zone[n], load: vec![0; nr], hosted: Vec::new() })
                .collect();
            let mut counts = vec![vec![0u32; nw]; nn];
            let mut load = vec![vec![0u64; nr]; nn];
            let mut placed = vec![0u32; nw];
            for &(w, n) in &s.moves {
                let (w, n) = (w % nw, n % nn);
                if placed[w] == m.workloads[w].replicas {
                    continue;
                }
                let counted = Tally { ty: inst.node_type[n], load: &load[n], ws: None, counts: &counts[n] };
                let slot = Tally { ty: inst.node_type[n], load: &load[n], ws: Some(&ws), counts: &counts[n] };
                let r = room(&inst, &open[n], w);
                prop_assert_eq!(r, room(&inst, &counted, w));
                prop_assert_eq!(r, room(&inst, &slot, w));
                let fit = fits(&inst, &open[n], w);
                prop_assert_eq!(fit, r > 0);
                prop_assert_eq!(fit, fits(&inst, &counted, w));
                prop_assert_eq!(fit, fits(&inst, &slot, w));
                let b = blockers_of(&inst, &open[n], w);
                prop_assert_eq!(&b, &blockers_of(&inst, &counted, w));
                prop_assert_eq!(&b, &blockers_of(&inst, &slot, w));
                prop_assert_eq!(!b.is_empty(), blocked(&inst, &open[n], w));

                counts[n][w] += 1;
                let found = node_violations(&m, &counts);
                if fit {
                    prop_assert!(found.is_empty(), "room said yes, the checker found {:?}", found);
                    let req = &m.workloads[w].requests;
                    open[n].add(req, w, 1);
                    load[n].iter_mut().zip(req).for_each(|(l, q)| *l += q);
                    placed[w] += 1;
                } else {
                    prop_assert!(!found.is_empty(), "room said no, the checker found nothing");
                    counts[n][w] -= 1;
                }
            }
        }

        /// The pool rules agree with the checker's: a pool of some nodes, holding the replicas
        /// the rules place first fit, meets minNodesPerPool and headroom (over the demand of
        /// every replica) exactly when the checker finds neither broken, and each workload
        /// placed in full meets minZones exactly when the checker finds no `min-zones`
        /// violation.
        #[test]
        fn pool_rules_agree_with_the_checker(s in spec(), extra in prop::collection::vec(any::<bool>(), 5)) {
            let m = build(&s);
            let inst = Instance::new(&m);
            let (nw, nn) = (m.workloads.len(), m.nodes.len());
            let ws: Vec<usize> = (0..nw).collect();
            let mut counts = vec![vec![0u32; nw]; nn];
            let mut load = vec![vec![0u64; m.resources.len()]; nn];
            let mut complete = vec![true; nw];
            for w in 0..nw {
                for _ in 0..m.workloads[w].replicas {
                    let Some(n) = (0..nn).find(|&n| {
                        let t = Tally { ty: inst.node_type[n], load: &load[n], ws: Some(&ws), counts: &counts[n] };
                        fits(&inst, &t, w)
                    }) else {
                        // The checker judges minZones only of workloads placed in full.
                        complete[w] = false;
                        break;
                    };
                    counts[n][w] += 1;
                    load[n].iter_mut().zip(&m.workloads[w].requests).for_each(|(l, q)| *l += q);
                }
            }
            let pool: Vec<usize> = (0..nn)
                .filter(|&n| counts[n].iter().any(|&c| c > 0) || extra[n])
                .collect();
            let demand = inst.demand(0..nw);
            let holds = pool_rules_hold(&inst, &demand, pool.iter().map(|&n| inst.node_type[n]));
            let found = violations(&m, &counts, &pool, &["headroom", "min-nodes-per-pool"]);
            prop_assert_eq!(holds, found.is_empty(), "{:?}", found);
            let zoned = |w: usize| {
                let mut z: Vec<usize> = (0..nn)
                    .filter(|&n| counts[n][w] > 0 && inst.node_zone[n] < inst.zones.len())
                    .map(|n| inst.node_zone[n])
                    .collect();
                z.sort_unstable();
                z.dedup();
                z.len()
            };
            let spread = (0..nw).all(|w| !complete[w] || enough_zones(&inst, w, zoned(w)));
            let found = violations(&m, &counts, &pool, &["min-zones"]);
            prop_assert_eq!(spread, found.is_empty(), "{:?}", found);
        }
    }
}
