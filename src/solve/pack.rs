//! Packing one pool: which nodes it takes from the inventory and where each replica goes.
//!
//! First-fit decreasing with a cost-aware choice of the node to open, zone spreading for
//! `minZones`, then local search (emptying nodes, swapping nodes for cheaper ones) and the
//! pool rules (headroom, minNodesPerPool). Several strategies are packed and the cheapest
//! kept; all of it is bounded by work, never by the clock, so results are reproducible.

use super::instance::{self, Instance, Inventory};
use super::rules::{self, headroom_deficit};
use super::score::Score;
use super::Budget;
use first_fit::FirstFit;

mod first_fit;

/// A node taken by a pool, with what it hosts.
#[derive(Debug, Clone)]
pub struct Open {
    pub node: usize,
    pub ty: usize,
    pub zone: usize,
    pub load: Vec<u64>,
    /// (workload, replicas), in placement order.
    pub hosted: Vec<(usize, u32)>,
}

impl Open {
    /// Node `node` of `inst`, hosting nothing.
    pub(super) fn empty(inst: &Instance, node: usize) -> Open {
        Open {
            node,
            ty: inst.node_type[node],
            zone: inst.node_zone[node],
            load: vec![0; inst.model.resources.len()],
            hosted: Vec::new(),
        }
    }

    pub(super) fn count(&self, w: usize) -> u32 {
        self.hosted
            .iter()
            .find(|(x, _)| *x == w)
            .map_or(0, |(_, c)| *c)
    }

    pub(super) fn add(&mut self, req: &[u64], w: usize, k: u32) {
        for (l, q) in self.load.iter_mut().zip(req) {
            *l += q * k as u64;
        }
        match self.hosted.iter_mut().find(|(x, _)| *x == w) {
            Some((_, c)) => *c += k,
            None => self.hosted.push((w, k)),
        }
    }

    pub(super) fn remove(&mut self, req: &[u64], w: usize, k: u32) {
        for (l, q) in self.load.iter_mut().zip(req) {
            *l -= q * k as u64;
        }
        if let Some(pos) = self.hosted.iter().position(|(x, _)| *x == w) {
            self.hosted[pos].1 -= k;
            if self.hosted[pos].1 == 0 {
                self.hosted.remove(pos);
            }
        }
    }
}

/// Replicas a pool could not place, with the reason the packer saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub workload: usize,
    pub count: u32,
    pub cause: Cause,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// No free node could take another replica.
    Capacity,
    /// No free node in a zone the workload does not use yet.
    Zones,
}

/// A packed pool.
#[derive(Debug, Clone)]
pub struct PoolPack {
    pub nodes: Vec<Open>,
    pub shortfalls: Vec<Shortfall>,
    /// Pool rules left unmet: (`headroom` | `minNodesPerPool`, reason).
    pub unmet: Vec<(&'static str, String)>,
    pub cost: u64,
}

impl PoolPack {
    /// A pool with every replica placed: per node, its index and (workload, replicas).
    pub(super) fn placed(
        inst: &Instance,
        hostings: impl IntoIterator<Item = (usize, Vec<(usize, u32)>)>,
    ) -> PoolPack {
        let nodes: Vec<Open> = hostings
            .into_iter()
            .map(|(node, hosted)| {
                let mut open = Open::empty(inst, node);
                for &(w, k) in &hosted {
                    for (l, q) in open.load.iter_mut().zip(&inst.model.workloads[w].requests) {
                        *l += q * u64::from(k);
                    }
                }
                open.hosted = hosted;
                open
            })
            .collect();
        let cost = nodes.iter().map(|o| inst.types[o.ty].cost).sum();
        PoolPack {
            nodes,
            shortfalls: Vec::new(),
            unmet: Vec::new(),
            cost,
        }
    }

    /// How good the packing is (see [`Score`]).
    pub fn score(&self) -> Score {
        Score {
            unplaced: self.shortfalls.iter().map(|s| s.count as u64).sum(),
            unmet: self.unmet.len(),
            cost: self.cost,
            nodes: self.nodes.len(),
            ..Score::default()
        }
    }
}

/// Packs the pool holding `workloads`, trying several strategies on copies of `inv`; the
/// best one's nodes are removed from `inv`.
pub fn pack_pool(
    inst: &Instance,
    workloads: &[usize],
    inv: &mut Inventory,
    budget: &mut Budget,
) -> PoolPack {
    let types = pool_types(inst, workloads);
    let mut strategies: Vec<Option<usize>> = vec![None];
    strategies.extend(types.iter().map(|&t| Some(t)));
    let demand = inst.demand(workloads.iter().copied());
    // Placement order, the same for every strategy: spread-constrained workloads first (they
    // decide how many nodes exist), then decreasing size (FFD).
    let mut order: Vec<(std::cmp::Reverse<u32>, std::cmp::Reverse<u64>, usize)> = workloads
        .iter()
        .map(|&w| {
            let m = &inst.model.workloads[w];
            let per_node = m.max_per_node.map_or(1, |k| m.replicas.div_ceil(k));
            let spread =
                per_node.max(inst.workloads[w].zones_needed) + !m.anti_affinity.is_empty() as u32;
            // Shares are in [0, 1]: their bits order like the floats.
            let size = inst.dominant_share(w).to_bits();
            (std::cmp::Reverse(spread), std::cmp::Reverse(size), w)
        })
        .collect();
    order.sort_unstable();
    let spread_first: Vec<usize> = order.iter().map(|&(_, _, w)| w).collect();
    // The same in plain decreasing size (Karpenter's FFD order): when many workloads carry
    // neighbour rules, packing by size can beat packing by spread.
    order.sort_unstable_by_key(|&(_, size, w)| (size, w));
    let size_first: Vec<usize> = order.iter().map(|&(_, _, w)| w).collect();
    // (order, every workload first fit): the bin-centric fill of workloads without rules
    // suits most pools, but plain FFD over everything wins where rules dominate.
    let mut orders: Vec<(&[usize], bool)> = vec![(&spread_first, false)];
    if size_first != spread_first {
        orders.push((&size_first, false));
    }
    if workloads.iter().any(|&w| !constrained(inst, w)) {
        orders.push((&size_first, true));
    }
    // Build with every strategy, then spend the local search on the best one only.
    type Built<'o> = (PoolPack, Inventory, Option<usize>, (&'o [usize], bool));
    let mut best: Option<Built> = None;
    for (workloads, first_fit_all) in orders {
        for &preferred in &strategies {
            if best.is_some() && budget.exhausted() {
                break;
            }
            let mut trial = inv.clone();
            let mut pack = Packer {
                inst,
                workloads,
                preferred,
                first_fit_all,
                demand: &demand,
                types: &types,
                budget: &mut *budget,
            }
            .build(&mut trial);
            if !pack.shortfalls.is_empty() {
                super::polish::repair(inst, workloads, &mut pack, &mut trial, budget);
            }
            if best.as_ref().is_none_or(|(b, ..)| pack.score() < b.score()) {
                best = Some((pack, trial, preferred, (workloads, first_fit_all)));
            }
        }
    }
    let (mut pack, trial, preferred, (workloads, first_fit_all)) =
        best.expect("at least one strategy ran");
    *inv = trial;
    Packer {
        inst,
        workloads,
        preferred,
        first_fit_all,
        demand: &demand,
        types: &types,
        budget,
    }
    .improve(&mut pack, inv);
    pack
}

struct Packer<'a, 'm> {
    inst: &'a Instance<'m>,
    workloads: &'a [usize],
    /// Node type to open first when it can host the replica.
    preferred: Option<usize>,
    /// Place every workload first fit in order, even those without neighbour or spread
    /// rules (which otherwise go through the bin-centric fill).
    first_fit_all: bool,
    /// The pool's total requests per resource.
    demand: &'a [u128],
    /// Types eligible for at least one workload of the pool, ascending.
    types: &'a [usize],
    budget: &'a mut Budget,
}

impl Packer<'_, '_> {
    /// Constructs a packing: placement, then nodes for headroom and minNodesPerPool.
    fn build(mut self, inv: &mut Inventory) -> PoolPack {
        let inst = self.inst;
        let order = self.workloads;
        let mut remaining: Vec<u64> = vec![0; inst.model.resources.len()];
        for &w in order {
            let m = &inst.model.workloads[w];
            for (r, q) in remaining.iter_mut().zip(&m.requests) {
                *r += q * m.replicas as u64;
            }
        }
        let mut nodes: Vec<Open> = Vec::new();
        let mut per_zone = vec![0; inv.zones()];
        let mut fit = FirstFit::new(inst);
        let mut shortfalls = Vec::new();
        let (constrained, free): (Vec<usize>, Vec<usize>) = order
            .iter()
            .partition(|&&w| self.first_fit_all || constrained(inst, w));
        for &w in &constrained {
            let m = &inst.model.workloads[w];
            let mut left = m.replicas;
            // Zone phase: one replica in each of the first `zones_needed` distinct zones.
            let needed = inst.workloads[w].zones_needed as usize;
            // The real zones hosting `w`, ascending: each workload is placed here only.
            let mut used: Vec<usize> = Vec::new();
            loop {
                if used.len() >= needed || left == 0 {
                    break;
                }
                let target = fit
                    .first(inst, &nodes, w, 0, |z| {
                        z < inst.zones.len() && !used.contains(&z)
                    })
                    .or_else(|| {
                        let i =
                            self.open(inv, &mut nodes, &mut per_zone, w, &remaining, Some(&used))?;
                        fit.push(inst, &nodes[i]);
                        Some(i)
                    });
                match target {
                    Some(i) => {
                        self.place(&mut nodes[i], w, 1, &mut remaining);
                        fit.update(inst, i, &nodes[i]);
                        let z = nodes[i].zone;
                        if let (true, Err(at)) = (z < inst.zones.len(), used.binary_search(&z)) {
                            used.insert(at, z);
                        }
                        left -= 1;
                    }
                    None => {
                        let missing = (needed - used.len()) as u32;
                        shortfalls.push(Shortfall {
                            workload: w,
                            count: missing.min(left),
                            cause: Cause::Zones,
                        });
                        left -= missing.min(left);
                        break;
                    }
                }
            }
            // Fill: first fit over open nodes, in order, then open new ones.
            let mut from = 0;
            while left > 0 {
                let Some(i) = fit.first(inst, &nodes, w, from, |_| true) else {
                    break;
                };
                let k = rules::room(inst, &nodes[i], w).min(left);
                self.place(&mut nodes[i], w, k, &mut remaining);
                fit.update(inst, i, &nodes[i]);
                left -= k;
                from = i + 1;
            }
            while left > 0 {
                match self.open(inv, &mut nodes, &mut per_zone, w, &remaining, None) {
                    Some(i) => {
                        fit.push(inst, &nodes[i]);
                        let k = rules::room(inst, &nodes[i], w).min(left);
                        self.place(&mut nodes[i], w, k, &mut remaining);
                        fit.update(inst, i, &nodes[i]);
                        left -= k;
                    }
                    None => {
                        shortfalls.push(Shortfall {
                            workload: w,
                            count: left,
                            cause: Cause::Capacity,
                        });
                        left = 0;
                    }
                }
            }
            self.budget.spend(nodes.len() as u64 + 1);
        }
        self.fill_free(
            inv,
            &mut nodes,
            &mut per_zone,
            &free,
            &mut remaining,
            &mut shortfalls,
        );
        let mut unmet = Vec::new();
        self.meet_headroom(inv, &mut nodes, &mut unmet);
        self.meet_min_nodes(inv, &mut nodes, &mut unmet);
        let cost = nodes_cost(inst, &nodes);
        PoolPack {
            nodes,
            shortfalls,
            unmet,
            cost,
        }
    }

    /// Local search on a built packing: release the nodes whose replicas fit elsewhere while
    /// the pool rules still hold, then swap nodes for cheaper ones.
    fn improve(mut self, pack: &mut PoolPack, inv: &mut Inventory) {
        let headroom_met = self.deficit(&pack.nodes).is_none();
        self.empty_nodes(inv, &mut pack.nodes, headroom_met);
        self.downsize(inv, &mut pack.nodes);
        pack.cost = nodes_cost(self.inst, &pack.nodes);
    }

    /// Places workloads without neighbour or spread rules node by node: each node takes, one
    /// replica at a time, the request shape that best matches its free capacity (dot product
    /// of shares, after Panigrahy et al.'s bin-centric heuristics), so CPU-heavy and
    /// memory-heavy replicas end up side by side instead of stranding capacity. Workloads
    /// with the same requests and eligible node types are interchangeable here.
    fn fill_free(
        &mut self,
        inv: &mut Inventory,
        nodes: &mut Vec<Open>,
        per_zone: &mut [usize],
        free: &[usize],
        remaining: &mut [u64],
        shortfalls: &mut Vec<Shortfall>,
    ) {
        let inst = self.inst;
        struct Shape {
            req: Vec<u64>,
            eligible: Vec<usize>,
            /// (workload, replicas left), in placement order.
            members: Vec<(usize, u32)>,
            next: usize,
        }
        let mut shapes: Vec<Shape> = Vec::new();
        let mut index: std::collections::BTreeMap<(&[u64], &[usize]), usize> = Default::default();
        // `free` is in decreasing size order, so shapes are too.
        for &w in free {
            let m = &inst.model.workloads[w];
            let key = (m.requests.as_slice(), inst.workloads[w].eligible.as_slice());
            let s = *index.entry(key).or_insert_with(|| {
                shapes.push(Shape {
                    req: m.requests.clone(),
                    eligible: inst.workloads[w].eligible.clone(),
                    members: Vec::new(),
                    next: 0,
                });
                shapes.len() - 1
            });
            shapes[s].members.push((w, m.replicas));
        }
        // Members have no neighbour or spread rules (see `constrained`): eligibility and
        // capacity are all that decide.
        let room = |o: &Open, s: &Shape| -> u64 {
            if s.eligible.binary_search(&o.ty).is_err() {
                return 0;
            }
            instance::room(&inst.types[o.ty].cap, &o.load, &s.req)
        };
        let fill = |this: &mut Self, shapes: &mut [Shape], o: &mut Open, remaining: &mut [u64]| {
            let cap = &inst.types[o.ty].cap;
            loop {
                let mut best: Option<(f64, usize)> = None;
                for (i, s) in shapes.iter().enumerate() {
                    if s.next == s.members.len() || room(o, s) == 0 {
                        continue;
                    }
                    let score: f64 = s
                        .req
                        .iter()
                        .zip(cap)
                        .zip(&o.load)
                        .filter(|((q, c), _)| {
                            **q > 0 && **c > 0 && **c < crate::quantity::MAX_AMOUNT
                        })
                        .map(|((&q, &c), &l)| q as f64 * (c - l) as f64 / (c as f64 * c as f64))
                        .sum();
                    if best.is_none_or(|(b, _)| score > b) {
                        best = Some((score, i));
                    }
                }
                this.budget.spend(shapes.len() as u64);
                let Some((_, i)) = best else { return };
                let s = &mut shapes[i];
                let (w, left) = &mut s.members[s.next];
                this.place(o, *w, 1, remaining);
                *left -= 1;
                if *left == 0 {
                    s.next += 1;
                }
            }
        };
        for o in nodes.iter_mut() {
            fill(self, &mut shapes, o, remaining);
        }
        // Open nodes for the largest shape still waiting, and fill each as it opens.
        while let Some(s) = shapes.iter().position(|s| s.next < s.members.len()) {
            let w = shapes[s].members[shapes[s].next].0;
            match self.open(inv, nodes, per_zone, w, remaining, None) {
                Some(i) => fill(self, &mut shapes, &mut nodes[i], remaining),
                None => {
                    let shape = &mut shapes[s];
                    for &(w, left) in &shape.members[shape.next..] {
                        shortfalls.push(Shortfall {
                            workload: w,
                            count: left,
                            cause: Cause::Capacity,
                        });
                    }
                    shape.next = shape.members.len();
                }
            }
        }
    }

    /// Takes the first free node of type `t` in `zone`, empty.
    fn take(&self, inv: &mut Inventory, t: usize, zone: usize) -> Option<Open> {
        inv.take(t, zone).map(|node| Open {
            node,
            ty: t,
            zone,
            load: vec![0; self.inst.model.resources.len()],
            hosted: Vec::new(),
        })
    }

    fn place(&self, o: &mut Open, w: usize, k: u32, remaining: &mut [u64]) {
        let req = &self.inst.model.workloads[w].requests;
        o.add(req, w, k);
        for (r, q) in remaining.iter_mut().zip(req) {
            *r -= q * k as u64;
        }
    }

    /// Opens the best free node for `w` (in a zone outside `avoid` if given, and then only
    /// in real zones); returns its index in `nodes`. `per_zone` counts `nodes` per zone slot.
    fn open(
        &mut self,
        inv: &mut Inventory,
        nodes: &mut Vec<Open>,
        per_zone: &mut [usize],
        w: usize,
        remaining: &[u64],
        avoid: Option<&Vec<usize>>,
    ) -> Option<usize> {
        let inst = self.inst;
        let zone_ok = |z: usize| avoid.is_none_or(|a| z < inst.zones.len() && !a.contains(&z));
        let mut candidates: Vec<usize> = inst.workloads[w]
            .eligible
            .iter()
            .copied()
            .filter(|&t| (0..inv.zones()).any(|z| zone_ok(z) && inv.available(t, z) > 0))
            .collect();
        // Existing nodes are used before any is bought.
        if candidates.iter().any(|&t| inst.types[t].catalog.is_none()) {
            candidates.retain(|&t| inst.types[t].catalog.is_none());
        }
        self.budget.spend(candidates.len() as u64);
        let ty = match self.preferred {
            Some(p) if candidates.contains(&p) => p,
            _ => *candidates.iter().min_by(|&&a, &&b| {
                self.open_score(a, remaining)
                    .total_cmp(&self.open_score(b, remaining))
                    .then(a.cmp(&b))
            })?,
        };
        // Balance the pool over zones: the allowed zone where it has the fewest nodes.
        let zone = (0..inv.zones())
            .filter(|&z| zone_ok(z) && inv.available(ty, z) > 0)
            .min_by_key(|&z| (per_zone[z], z))?;
        nodes.push(self.take(inv, ty, zone)?);
        per_zone[zone] += 1;
        Some(nodes.len() - 1)
    }

    /// Cost per share of the remaining demand the node type can absorb (lower is better);
    /// a type that absorbs all of it scores its plain cost, so the cheapest such wins.
    fn open_score(&self, t: usize, remaining: &[u64]) -> f64 {
        let ty = &self.inst.types[t];
        let share = remaining
            .iter()
            .zip(&ty.cap)
            .filter(|(d, _)| **d > 0)
            .map(|(&d, &c)| (c as f64 / d as f64).min(1.0))
            .fold(1.0, f64::min);
        if share <= 0.0 {
            return f64::INFINITY;
        }
        (ty.cost as f64 + 1e-3) / share
    }

    /// Local search: empty the least loaded nodes into the others, releasing them.
    /// A node is only released if minNodesPerPool still holds without it, and with
    /// `keep_headroom` headroom too.
    fn empty_nodes(&mut self, inv: &mut Inventory, nodes: &mut Vec<Open>, keep_headroom: bool) {
        let inst = self.inst;
        let mut order: Vec<usize> = (0..nodes.len()).collect();
        order.sort_by(|&a, &b| {
            load_share(inst, &nodes[a])
                .total_cmp(&load_share(inst, &nodes[b]))
                .then(a.cmp(&b))
        });
        let mut removed = vec![false; nodes.len()];
        for victim in order {
            if self.budget.exhausted() {
                break;
            }
            let moving = std::mem::take(&mut nodes[victim].hosted);
            // Moves made so far, undone if the node cannot be emptied completely.
            let mut moves: Vec<(usize, usize, u32)> = Vec::new();
            let mut ok = true;
            for &(w, mut k) in &moving {
                for j in 0..nodes.len() {
                    if k == 0 {
                        break;
                    }
                    if j == victim || removed[j] {
                        continue;
                    }
                    let fit = rules::room(inst, &nodes[j], w).min(k);
                    if fit > 0 {
                        nodes[j].add(&inst.model.workloads[w].requests, w, fit);
                        moves.push((j, w, fit));
                        k -= fit;
                    }
                }
                self.budget.spend(nodes.len() as u64);
                if k > 0 {
                    ok = false;
                    break;
                }
            }
            removed[victim] = true;
            let live = || {
                nodes
                    .iter()
                    .zip(&removed)
                    .filter(|(_, r)| !**r)
                    .map(|(o, _)| o)
            };
            let zones_kept =
                ok && moving.iter().all(|&(w, _)| {
                    rules::enough_zones(inst, w, zones_of(live(), w, inst.zones.len()).len())
                }) && rules::may_shrink_to(inst, self.demand, live().map(|o| o.ty), keep_headroom);
            if zones_kept {
                nodes[victim].load.iter_mut().for_each(|l| *l = 0);
            } else {
                removed[victim] = false;
                for (j, w, k) in moves {
                    nodes[j].remove(&inst.model.workloads[w].requests, w, k);
                }
                nodes[victim].hosted = moving;
            }
        }
        let mut idx = 0;
        nodes.retain(|o| {
            let keep = !removed[idx];
            idx += 1;
            if !keep {
                inv.release(inst, o.node);
            }
            keep
        });
    }

    /// Adds nodes until, for every resource, capacity minus the K largest covers the demand.
    fn meet_headroom(
        &mut self,
        inv: &mut Inventory,
        nodes: &mut Vec<Open>,
        unmet: &mut Vec<(&'static str, String)>,
    ) {
        let k = self.inst.model.policy.node_failures as usize;
        if k == 0 {
            return;
        }
        let types = self.types;
        while let Some(def) = self.deficit(nodes) {
            // The free node that most reduces the normalised deficit per unit of cost. A pool
            // of K nodes or fewer keeps nothing after losing K, so a node alone gains nothing
            // there: each type is judged as bringing the pool to K + 1 nodes, with copies of
            // itself as the nodes still missing.
            let current: f64 = def;
            let copies = (k + 1).saturating_sub(nodes.len()).max(1);
            let mut best: Option<(bool, f64, usize, usize)> = None;
            for &t in types {
                let with_t = nodes
                    .iter()
                    .map(|o| o.ty)
                    .chain(std::iter::repeat_n(t, copies));
                let gain = current - self.deficit_of(with_t).unwrap_or(0.0);
                for z in 0..inv.zones() {
                    if inv.available(t, z) == 0 || gain <= 1e-12 {
                        continue;
                    }
                    let zone_load = nodes.iter().filter(|o| o.zone == z).count();
                    let cost = (self.inst.types[t].cost * copies as u64) as f64;
                    let score = (cost + 1e-3) / gain + zone_load as f64 * 1e-9;
                    // Existing nodes before bought ones, then the best score.
                    let bought = self.inst.types[t].catalog.is_some();
                    if best.is_none_or(|(b, s, _, _)| (bought, score) < (b, s)) {
                        best = Some((bought, score, t, z));
                    }
                }
                self.budget.spend(1);
            }
            match best.and_then(|(_, _, t, z)| self.take(inv, t, z)) {
                Some(open) => nodes.push(open),
                None => {
                    unmet.push(("headroom", format!(
                        "after losing its {k} largest node(s) the pool cannot cover its requests, and no free node eligible for its workloads is left to add"
                    )));
                    return;
                }
            }
        }
    }

    /// Σ over resources of (demand − (capacity − K largest)) / largest type capacity, when
    /// positive, for `nodes`; `None` when headroom holds.
    fn deficit(&self, nodes: &[Open]) -> Option<f64> {
        self.deficit_of(nodes.iter().map(|o| o.ty))
    }

    /// The headroom deficit of a pool made of nodes of these types (see `deficit`).
    fn deficit_of(&self, types: impl Iterator<Item = usize> + Clone) -> Option<f64> {
        headroom_deficit(self.inst, self.demand, types)
    }

    fn meet_min_nodes(
        &mut self,
        inv: &mut Inventory,
        nodes: &mut Vec<Open>,
        unmet: &mut Vec<(&'static str, String)>,
    ) {
        let min = self.inst.model.policy.min_nodes_per_pool as usize;
        let types = self.types;
        while !rules::enough_nodes(self.inst, nodes.len()) {
            let pick = types
                .iter()
                .flat_map(|&t| (0..inv.zones()).map(move |z| (t, z)))
                .filter(|&(t, z)| inv.available(t, z) > 0)
                .min_by_key(|&(t, z)| {
                    (
                        self.inst.types[t].catalog.is_some(),
                        self.inst.types[t].cost,
                        nodes.iter().filter(|o| o.zone == z).count(),
                        t,
                        z,
                    )
                });
            match pick.and_then(|(t, z)| self.take(inv, t, z)) {
                Some(open) => nodes.push(open),
                None => {
                    unmet.push(("minNodesPerPool", format!(
                        "the pool needs {min} nodes but only {} free node(s) are eligible for its workloads",
                        nodes.len()
                    )));
                    return;
                }
            }
        }
    }

    /// Swaps each node for the cheapest free node that holds the same replicas in a zone
    /// that keeps every spread rule, while headroom still holds.
    fn downsize(&mut self, inv: &mut Inventory, nodes: &mut [Open]) {
        let inst = self.inst;
        let types = self.types;
        let headroom_ok_before = self.deficit(nodes).is_none();
        for i in 0..nodes.len() {
            if self.budget.exhausted() {
                return;
            }
            let current = inst.types[nodes[i].ty].cost;
            let mut best: Option<(u64, usize, usize)> = None;
            for &t in types {
                let ty = &inst.types[t];
                if ty.cost >= current || best.is_some_and(|(c, _, _)| ty.cost >= c) {
                    continue;
                }
                // An existing node is never swapped for one to buy.
                if inst.types[nodes[i].ty].catalog.is_none() && ty.catalog.is_some() {
                    continue;
                }
                let fits = nodes[i].load.iter().zip(&ty.cap).all(|(l, c)| l <= c)
                    && nodes[i]
                        .hosted
                        .iter()
                        .all(|(w, _)| inst.workloads[*w].eligible.binary_search(&t).is_ok());
                if !fits {
                    continue;
                }
                // Same zone keeps every spread rule as it was.
                let z = nodes[i].zone;
                if inv.available(t, z) == 0 {
                    continue;
                }
                let old = nodes[i].ty;
                nodes[i].ty = t;
                let ok = !headroom_ok_before || self.deficit(nodes).is_none();
                nodes[i].ty = old;
                if ok {
                    best = Some((ty.cost, t, z));
                }
            }
            self.budget.spend(types.len() as u64);
            if let Some((_, t, z)) = best {
                if let Some(node) = inv.take(t, z) {
                    inv.release(inst, nodes[i].node);
                    nodes[i].node = node;
                    nodes[i].ty = t;
                }
            }
        }
    }
}

/// What a pool's nodes cost together.
pub(super) fn nodes_cost(inst: &Instance, nodes: &[Open]) -> u64 {
    nodes.iter().map(|o| inst.types[o.ty].cost).sum()
}

/// Adds free nodes to a packed pool until headroom and minNodesPerPool hold, as a build
/// does; returns the rules still unmet (the nodes added for them stay in `nodes`).
pub(super) fn meet_pool_rules(
    inst: &Instance,
    workloads: &[usize],
    nodes: &mut Vec<Open>,
    inv: &mut Inventory,
    budget: &mut Budget,
) -> Vec<(&'static str, String)> {
    let demand = inst.demand(workloads.iter().copied());
    let types = pool_types(inst, workloads);
    let mut packer = Packer {
        inst,
        workloads,
        preferred: None,
        first_fit_all: false,
        demand: &demand,
        types: &types,
        budget,
    };
    let mut unmet = Vec::new();
    packer.meet_headroom(inv, nodes, &mut unmet);
    packer.meet_min_nodes(inv, nodes, &mut unmet);
    unmet
}

/// Drops from `pack.unmet` the rules its nodes now meet. Whether a pool rule holds is a
/// property of the pool's final nodes, as the checker judges it, not of the build that first
/// missed it: a repair that adds nodes for unplaced replicas may meet minNodesPerPool or
/// headroom on the way. No search step breaks a rule that held, so none is added here.
pub(super) fn settle_unmet(inst: &Instance, demand: &[u128], pack: &mut PoolPack) {
    let headroom_held = rules::headroom_holds(inst, demand, pack.nodes.iter().map(|o| o.ty));
    let min_held = rules::enough_nodes(inst, pack.nodes.len());
    pack.unmet.retain(|&(rule, _)| match rule {
        "headroom" => !headroom_held,
        _ => !min_held,
    });
}

/// Node types eligible for at least one of `workloads`, ascending.
pub(super) fn pool_types(inst: &Instance, workloads: &[usize]) -> Vec<usize> {
    let mut types: Vec<usize> = workloads
        .iter()
        .flat_map(|&w| inst.workloads[w].eligible.iter().copied())
        .collect();
    types.sort_unstable();
    types.dedup();
    types
}

/// Whether `w` has rules about its neighbours or its spread, so that its replicas are
/// placed one workload at a time rather than mixed freely.
fn constrained(inst: &Instance, w: usize) -> bool {
    let m = &inst.model.workloads[w];
    m.max_per_node.is_some()
        || !m.anti_affinity.is_empty()
        || !m.co_location.is_empty()
        || !inst.workloads[w].capped_by.is_empty()
        || inst.workloads[w].zones_needed > 0
}

/// Distinct real zones of the nodes in `nodes` hosting `w`.
fn zones_of<'a>(nodes: impl Iterator<Item = &'a Open>, w: usize, zone_slots: usize) -> Vec<usize> {
    let mut z: Vec<usize> = nodes
        .filter(|o| o.zone < zone_slots && o.count(w) > 0)
        .map(|o| o.zone)
        .collect();
    z.sort_unstable();
    z.dedup();
    z
}

/// The node's fullest share over its resources.
fn load_share(inst: &Instance, o: &Open) -> f64 {
    o.load
        .iter()
        .zip(&inst.types[o.ty].cap)
        .filter(|(_, &c)| c > 0 && c < crate::quantity::MAX_AMOUNT)
        .map(|(&l, &c)| l as f64 / c as f64)
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{model, node, policy, workload};

    #[test]
    fn headroom_for_k_failures_takes_k_more_nodes_than_the_replicas_need() {
        // One small replica, nodeFailures 2: a second node alone keeps nothing after two
        // losses, yet the third makes headroom hold, so the packer must look past the second.
        let m = model(&[
            &policy("headroom: {nodeFailures: 2}"),
            &workload("x", "sensitivity: public, resources: {cpu: 1}"),
            &node("a", "", ""),
            &node("b", "", ""),
            &node("c", "", ""),
            &node("d", "", ""),
        ]);
        let inst = Instance::new(&m);
        let mut inv = Inventory::full(&inst);
        let p = pack_pool(&inst, &[0], &mut inv, &mut Budget::new(1_000_000, None));
        assert!(p.shortfalls.is_empty() && p.unmet.is_empty(), "{p:?}");
        assert_eq!(p.nodes.len(), 3);
    }
}
