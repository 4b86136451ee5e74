//! Polishing packed pools with a consistent-neighbourhood search (after Buljubašić and
//! Vasquez, "Consistent neighborhood search for one-dimensional bin packing and
//! two-dimensional vector packing", 2016).
//!
//! The search keeps a pool consistent at all times (every rule holds on every node) and a
//! list of pending replicas. Each step inserts one pending replica, on the node where it fits
//! best or, when it fits nowhere, exchanges it (alone or with another pending replica) for
//! as many or fewer residents of a node when that lowers the pending load (squared weights),
//! else goes where ejecting the lightest set of residents makes room; the replicas that
//! leave become pending. Replicas just moved are tabu for a while, so the search does not
//! undo itself. Two uses:
//! - repair: a pool's unplaced replicas start pending (free nodes are added when the pool's
//!   own nodes cannot take them);
//! - node elimination: a node's replicas start pending, and the node is released when the
//!   search places them all elsewhere while every pool rule still holds. Once that stalls,
//!   two more nodes are emptied with each victim (a reserve, as the paper keeps two bins
//!   out): the search then succeeds when what is pending fits on the reserve, and it may also
//!   refill a node with the heaviest set of its residents and pending replicas that fits.
//!   Victims of a type another of the pool's nodes beats on every resource per unit of cost
//!   go first. Before each round, rebalancing sweeps move or exchange replicas between nodes
//!   wherever that raises the sum of squared node loads; when nothing more gives, a free
//!   node of a better type is traded in for worse ones.
//!
//! Nodes released that way go back to the inventory, where a pool still short of headroom
//! or minNodesPerPool may take them.
//!
//! A small pool still above what the bound allows is searched again from its result with
//! other seeds (see [`RESTARTS`]).
//!
//! A failed attempt undoes every move. All choices are seeded or ordered, so the same input
//! gives the same plan; the work is bounded by the budget, never by the clock.

use super::instance::{Instance, Inventory};
use super::pack::{self, nodes_cost, Open, PoolPack};
use super::rules::{self, headroom_deficit};
use super::Budget;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap};

/// Nodes tried for an ejection in one step; a random sample when the pool is larger.
const EJECTION_SAMPLE: usize = 64;
/// Steps without progress (fewer pending replicas, or as many with a lower pending load)
/// before an attempt gives up: this many per replica of the pool, within these bounds.
const STALL_PER_REPLICA: u64 = 40;
const STALL_STEPS: (u64, u64) = (500, 6000);
/// The least patience after failures in a row.
const STALL_FLOOR: u64 = 500;
/// Other pending workloads tried as the second replica of a swap, and the residents of a
/// node tried as leaving (see `Search::swap`).
const SWAP_PARTNERS: usize = 16;
const SWAP_RESIDENTS: usize = 8;
/// Swaps whose capacity fits checked against the other rules in one step, best first.
const SWAP_TRIES: usize = 4;
/// Nodes sampled as partners for each node in a rebalancing sweep, and the best exchanges
/// with them checked against the rules (see `Search::rebalance`).
const BALANCE_PARTNERS: usize = 32;
const BALANCE_TRIES: usize = 4;
/// Workloads of a node considered in one rebalancing sweep, at most.
const BALANCE_RESIDENTS: usize = 24;
/// Rebalancing sweeps before the first pass of node elimination, at most (one before each
/// later pass); they stop once a sweep makes fewer exchanges than one per this many nodes.
const BALANCE_SWEEPS: usize = 3;
const BALANCE_QUIET: usize = 50;
/// Mean share of a pool's workloads that one may not share a node with, from which a
/// workload's weight counts that share too: where conflicts rather than capacity decide the
/// node count, the replicas with many conflicts are the hard ones to place, and should go
/// first and be ejected last. Below it, conflicts are left out, as they blur the sizes that
/// exact fills depend on (BPPC_5_1_3, 10% dense, lost its optimum with them).
const CONFLICT_DENSITY: f64 = 0.3;
/// Distinct pending workloads offered to one node in a refill (see `Search::refill`), the
/// nodes of the ejection sample refilled, and the partial fills (and fit checks) its search
/// visits per node: they keep a step's work bounded, on nodes that host many replicas too.
const REFILL_PENDING: usize = 8;
const REFILL_NODES: usize = 16;
const REFILL_VISITS: u64 = 2000;
/// Node elimination searched again from its result with another seed, at most this many
/// times, while the pool costs more than the bound allows. Only on pools of at most this
/// many replicas: there a new seed often finds what the last one missed (4 of the 6 vbp
/// instances of 40 and 60 items the planner left one node above the optimum), where on
/// 120 items eight more searches found nothing and doubled the time. They share this part
/// of the budget left, so that a pool whose plan is optimal but not proven so (the bound
/// falls short) costs a bounded extra.
const RESTARTS: u64 = 8;
const RESTART_REPLICAS: u64 = 64;
const RESTART_SHARE: u64 = 2;
/// Rounds of adding free nodes when repairing a pool.
const REPAIR_ROUNDS: usize = 4;
/// Nodes emptied next to the victim once node elimination stalls: the search then only
/// has to bring the pending replicas down to what these nodes hold (consistent-neighbourhood
/// search keeps two bins out so), which leaves it more room to rearrange. Partial fills of
/// the reserve tried per check, and failed victims in a row that end the search with a
/// reserve (fewer than without: each attempt moves more replicas).
const RESERVE: usize = 2;
const RESERVE_VISITS: u64 = 5000;
const RESERVE_VICTIMS: usize = 8;
/// The search with a reserve may use this fraction of the budget left (1 / this).
const RESERVE_SHARE: u64 = 4;
/// Failed victims in a row after which a pass of node elimination ends.
const VICTIMS_PER_PASS: usize = 24;

/// Polishes every pool of a plan: repairs pools with unplaced replicas, then releases every
/// node it can, stopping once the plan's cost reaches `lower_bound` (nothing cheaper
/// exists). `pools[i]` are the workloads of `packs[i]`.
pub fn polish(
    inst: &Instance,
    pools: &[Vec<usize>],
    packs: &mut [PoolPack],
    lower_bound: u64,
    budget: &mut Budget,
) {
    let mut inv = Inventory::full(inst);
    for pack in packs.iter() {
        for o in &pack.nodes {
            inv.claim(inst, o.node);
        }
    }
    let mut total: u64 = packs.iter().map(|p| p.cost).sum();
    for (i, (ws, pack)) in pools.iter().zip(packs.iter_mut()).enumerate() {
        if budget.exhausted() {
            return;
        }
        total -= pack.cost;
        let mut s = Search::new(inst, ws, pack, i as u64);
        if !pack.shortfalls.is_empty() {
            s.repair_with_free_nodes(&mut inv, budget);
        }
        let floor = lower_bound.saturating_sub(total);
        if s.pending.is_empty() {
            s.eliminate(floor, &mut inv, budget);
        }
        s.finish(pack, &mut inv);
        if replicas(inst, ws) <= RESTART_REPLICAS && pack.shortfalls.is_empty() {
            let mut share = budget.share(budget.left / RESTART_SHARE);
            for restart in 1..=RESTARTS {
                if pack.cost <= floor || share.exhausted() {
                    break;
                }
                let mut s = Search::new(inst, ws, pack, i as u64 ^ (restart << 32));
                s.eliminate(floor, &mut inv, &mut share);
                s.finish(pack, &mut inv);
            }
            budget.merge(share);
        }
        total += pack.cost;
    }
    // Nodes released above may be what a pool short of headroom or minNodesPerPool needs.
    for (ws, pack) in pools.iter().zip(packs.iter_mut()) {
        if !pack.unmet.is_empty() && pack.shortfalls.is_empty() {
            meet_pool_rules(inst, ws, pack, &mut inv, budget);
        }
    }
}

/// The replicas of a pool's workloads.
fn replicas(inst: &Instance, workloads: &[usize]) -> u64 {
    workloads
        .iter()
        .map(|&w| u64::from(inst.model.workloads[w].replicas))
        .sum()
}

/// Completes a pool short of headroom or minNodesPerPool with free nodes, as a build does;
/// all or nothing.
fn meet_pool_rules(
    inst: &Instance,
    workloads: &[usize],
    pack: &mut PoolPack,
    inv: &mut Inventory,
    budget: &mut Budget,
) {
    let mut nodes = pack.nodes.clone();
    if pack::meet_pool_rules(inst, workloads, &mut nodes, inv, budget).is_empty() {
        pack.nodes = nodes;
        pack.unmet.clear();
        pack.cost = nodes_cost(inst, &pack.nodes);
    } else {
        for o in &nodes[pack.nodes.len()..] {
            inv.release(inst, o.node);
        }
    }
}

/// Repairs one pool with unplaced replicas (see the module docs), taking free nodes from
/// `inv`; leaves it as it was when the search cannot place them all.
pub fn repair(
    inst: &Instance,
    workloads: &[usize],
    pack: &mut PoolPack,
    inv: &mut Inventory,
    budget: &mut Budget,
) {
    let mut s = Search::new(inst, workloads, pack, 0);
    s.repair_with_free_nodes(inv, budget);
    s.finish(pack, inv);
}

/// Moves replicas of one pool back to the nodes they ran on before: `before[(w, node)]` is
/// how many of `w` ran on `node`. A replica moves from a node holding more than it did to one
/// holding fewer, one at a time and only where every rule still holds. The pool keeps its
/// nodes, and with them its cost and pool rules (headroom and pool size do not depend on
/// where replicas sit).
pub(super) fn return_home(
    inst: &Instance,
    workloads: &[usize],
    pack: &mut PoolPack,
    before: &HashMap<(usize, usize), u32>,
) {
    let mut s = Search::new(inst, workloads, pack, 0);
    let at = |w: usize, n: usize| before.get(&(w, n)).copied().unwrap_or(0);
    let index: HashMap<usize, usize> = s
        .nodes
        .iter()
        .enumerate()
        .map(|(j, o)| (o.node, j))
        .collect();
    // (node index, workload) of every replica's previous home in this pool, in order.
    let mut homes: Vec<(usize, usize)> = before
        .keys()
        .filter(|(w, _)| workloads.binary_search(w).is_ok())
        .filter_map(|&(w, n)| Some((*index.get(&n)?, w)))
        .collect();
    homes.sort_unstable();
    // The nodes hosting each workload: where a replica may leave from.
    let mut hosts: HashMap<usize, Vec<usize>> = HashMap::new();
    for (j, o) in s.nodes.iter().enumerate() {
        for &(w, _) in &o.hosted {
            hosts.entry(w).or_default().push(j);
        }
    }
    for (j, w) in homes {
        'more: while at(w, s.nodes[j].node) > s.nodes[j].count(w) {
            for &i in hosts.get(&w).into_iter().flatten() {
                if i == j || s.nodes[i].count(w) <= at(w, s.nodes[i].node) {
                    continue;
                }
                s.remove(i, w);
                if rules::fits(s.inst, &s.nodes[j], w) && s.zone_allows(j, w) {
                    s.add(j, w);
                    s.commit();
                    continue 'more;
                }
                s.rollback(0);
            }
            break;
        }
    }
    pack.nodes = s.nodes;
}

/// Whether a pool read back from a plan keeps every rule as it stands: each replica fits
/// where it is (node rules, checked as the replicas are put back one by one, which the
/// rules being monotone makes the same as checking the end state), every replica of the
/// pool is placed, each workload spans its zones, every node can host some workload of the
/// pool, and headroom and pool size hold.
pub(super) fn holds(inst: &Instance, workloads: &[usize], pack: &PoolPack) -> bool {
    let mut empty = pack.clone();
    for o in &mut empty.nodes {
        o.load.iter_mut().for_each(|l| *l = 0);
        o.hosted.clear();
    }
    empty.shortfalls.clear();
    let mut s = Search::new(inst, workloads, &empty, 0);
    for (j, o) in pack.nodes.iter().enumerate() {
        for &(w, c) in &o.hosted {
            for _ in 0..c {
                if workloads.binary_search(&w).is_err() || !rules::fits(s.inst, &s.nodes[j], w) {
                    return false;
                }
                s.apply(j, w, true);
            }
        }
    }
    let placed = |w: usize| s.nodes.iter().map(|o| o.count(w)).sum::<u32>();
    let demand = inst.demand(workloads.iter().copied());
    workloads
        .iter()
        .all(|&w| placed(w) == inst.model.workloads[w].replicas)
        && s.zones_met()
        && pack
            .nodes
            .iter()
            .all(|o| workloads.iter().any(|&w| rules::eligible(inst, w, o.ty)))
        && rules::pool_rules_hold(inst, &demand, pack.nodes.iter().map(|o| o.ty))
}

/// Replicas to eject from one node: (workload, count).
type Ejection = Vec<(usize, u32)>;

/// A node's refill, per workload: (workload, replicas there now, a second count: the most
/// the search may put there, then the count it chose).
type Refill = Vec<(usize, u32, u32)>;

struct Search<'a, 'm> {
    inst: &'a Instance<'m>,
    workloads: &'a [usize],
    /// The pool's total requests (for headroom).
    demand: Vec<u128>,
    /// Heuristic size of one replica per workload: its requests as shares of the largest
    /// node type, summed, plus its conflicts in a dense pool (see [`CONFLICT_DENSITY`]);
    /// only to rank choices, fits are decided in exact integers.
    weight: Vec<f64>,
    nodes: Vec<Open>,
    closed: Vec<bool>,
    /// Replicas to place, one entry per replica.
    pending: Vec<usize>,
    /// Per node: (workload, step until which, stay): with `stay`, its replicas there must
    /// not be ejected (they just arrived); without, none may be inserted (they just left).
    tabu: Vec<Vec<(usize, u64, bool)>>,
    /// Per workload with a minZones rule: its replicas per zone slot.
    zones: BTreeMap<usize, Vec<u32>>,
    step: u64,
    /// See [`STALL_PER_REPLICA`].
    stall: u64,
    rng: ChaCha8Rng,
    /// Moves since the last commit: (node, workload, added), undone in reverse.
    log: Vec<(usize, usize, bool)>,
    /// Nodes taken from the inventory since the last commit.
    added: Vec<usize>,
    /// Closed nodes that take what is pending once it all fits there (see [`RESERVE`]).
    reserve: Vec<usize>,
}

impl<'a, 'm> Search<'a, 'm> {
    fn new(inst: &'a Instance<'m>, workloads: &'a [usize], pack: &PoolPack, seed: u64) -> Self {
        // The share of the pool's workloads each one may not share a node with.
        let degree: Vec<f64> = workloads
            .iter()
            .map(|&w| {
                let anti = &inst.model.workloads[w].anti_affinity;
                let within = anti
                    .iter()
                    .filter(|a| workloads.binary_search(a).is_ok())
                    .count();
                within as f64 / workloads.len() as f64
            })
            .collect();
        let dense = degree.iter().sum::<f64>() >= CONFLICT_DENSITY * workloads.len() as f64;
        let mut weight = vec![0.0; inst.model.workloads.len()];
        for (&w, &deg) in workloads.iter().zip(&degree) {
            let share: f64 = inst.model.workloads[w]
                .requests
                .iter()
                .zip(&inst.max_cap)
                .filter(|(_, &c)| c > 0 && c < crate::quantity::MAX_AMOUNT)
                .map(|(&q, &c)| q as f64 / c as f64)
                .sum();
            let conflicts = if dense { deg } else { 0.0 };
            weight[w] = share + conflicts + 1e-9;
        }
        let mut zones: BTreeMap<usize, Vec<u32>> = workloads
            .iter()
            .filter(|&&w| inst.workloads[w].zones_needed > 0)
            .map(|&w| (w, vec![0; inst.zones.len() + 1]))
            .collect();
        for o in &pack.nodes {
            for &(w, c) in &o.hosted {
                if let Some(z) = zones.get_mut(&w) {
                    z[o.zone] += c;
                }
            }
        }
        let pending = pack
            .shortfalls
            .iter()
            .flat_map(|s| std::iter::repeat_n(s.workload, s.count as usize))
            .collect();
        Search {
            inst,
            workloads,
            demand: inst.demand(workloads.iter().copied()),
            weight,
            nodes: pack.nodes.clone(),
            closed: vec![false; pack.nodes.len()],
            pending,
            tabu: vec![Vec::new(); pack.nodes.len()],
            zones,
            step: 0,
            stall: (STALL_PER_REPLICA * replicas(inst, workloads))
                .clamp(STALL_STEPS.0, STALL_STEPS.1),
            rng: ChaCha8Rng::seed_from_u64(0x7e1e_91a2 ^ seed),
            log: Vec::new(),
            added: Vec::new(),
            reserve: Vec::new(),
        }
    }

    /// Writes the search's nodes back into the pack and returns released nodes to `inv`.
    fn finish(self, pack: &mut PoolPack, inv: &mut Inventory) {
        let inst = self.inst;
        pack.nodes = self
            .nodes
            .into_iter()
            .zip(&self.closed)
            .filter_map(|(o, &closed)| {
                if closed {
                    inv.release(inst, o.node);
                    None
                } else {
                    Some(o)
                }
            })
            .collect();
        if self.pending.is_empty() {
            pack.shortfalls.clear();
        }
        pack.cost = nodes_cost(inst, &pack.nodes);
        pack::settle_unmet(inst, &self.demand, pack);
    }

    // --- moves, logged for undo ------------------------------------------------------------

    fn add(&mut self, j: usize, w: usize) {
        self.apply(j, w, true);
        self.log.push((j, w, true));
    }

    fn remove(&mut self, j: usize, w: usize) {
        self.apply(j, w, false);
        self.log.push((j, w, false));
    }

    /// Adds (or removes) one replica of `w` on node `j`, unlogged.
    fn apply(&mut self, j: usize, w: usize, add: bool) {
        let req = &self.inst.model.workloads[w].requests;
        let zone = self.nodes[j].zone;
        if add {
            self.nodes[j].add(req, w, 1);
        } else {
            self.nodes[j].remove(req, w, 1);
        }
        if let Some(z) = self.zones.get_mut(&w) {
            z[zone] = if add { z[zone] + 1 } else { z[zone] - 1 };
        }
    }

    /// Undoes the moves logged after the first `mark` ones.
    fn rollback(&mut self, mark: usize) {
        while self.log.len() > mark {
            let (j, w, added) = self.log.pop().expect("moves past the mark");
            self.apply(j, w, !added);
        }
    }

    /// Undoes every move since the last commit; `pending` is restored by the caller.
    fn undo(&mut self, inv: Option<&mut Inventory>) {
        self.rollback(0);
        if let Some(inv) = inv {
            for _ in 0..self.added.len() {
                let o = self.nodes.pop().expect("added nodes are last");
                self.closed.pop();
                self.tabu.pop();
                inv.release(self.inst, o.node);
            }
        }
        self.added.clear();
        self.tabu.iter_mut().for_each(Vec::clear);
    }

    fn commit(&mut self) {
        self.log.clear();
        self.added.clear();
        self.tabu.iter_mut().for_each(Vec::clear);
    }

    // --- the rules -------------------------------------------------------------------------

    fn real_zone(&self, z: usize) -> bool {
        z < self.inst.zones.len()
    }

    /// Zones `w` lacks: when positive, its next replica must go to a zone it does not use.
    fn zones_missing(&self, w: usize) -> bool {
        self.zones.get(&w).is_some_and(|z| {
            let used = z[..self.inst.zones.len()]
                .iter()
                .filter(|&&c| c > 0)
                .count();
            !rules::enough_zones(self.inst, w, used)
        })
    }

    /// Replicas of `w` per zone slot when it lacks zones (see `zones_missing`), else `None`:
    /// what [`Search::zone_open`] needs, found once for a scan over many nodes.
    fn lacking(&self, w: usize) -> Option<&[u32]> {
        self.zones_missing(w).then(|| self.zones[&w].as_slice())
    }

    /// Whether node `j`'s zone is one `w` may use now (see `zones_missing`).
    fn zone_allows(&self, j: usize, w: usize) -> bool {
        self.zone_open(self.lacking(w), j)
    }

    /// [`Search::zone_allows`] given `w`'s [`Search::lacking`]: any node when it lacks no
    /// zone, else one in a real zone it does not use yet.
    fn zone_open(&self, lacking: Option<&[u32]>, j: usize) -> bool {
        let z = self.nodes[j].zone;
        lacking.is_none_or(|used| self.real_zone(z) && used[z] == 0)
    }

    /// Whether removing `k` replicas of `w` from node `j` keeps its minZones rule.
    fn zone_keeps(&self, j: usize, w: usize, k: u32) -> bool {
        let Some(z) = self.zones.get(&w) else {
            return true;
        };
        let zone = self.nodes[j].zone;
        if !self.real_zone(zone) || z[zone] > k {
            return true;
        }
        let used = z[..self.inst.zones.len()]
            .iter()
            .filter(|&&c| c > 0)
            .count();
        rules::enough_zones(self.inst, w, used - 1)
    }

    fn is_tabu(&self, j: usize, w: usize, stay: bool) -> bool {
        self.tabu[j]
            .iter()
            .any(|&(x, until, s)| x == w && s == stay && until > self.step)
    }

    /// The lightest replicas to eject from node `j` so that one more of `u` fits (with
    /// `heavy`, the heaviest single replica that makes room, to move the big ones too), with
    /// their total weight; `None` when no allowed ejection makes room.
    fn ejection(&self, j: usize, u: usize, heavy: bool) -> Option<(Ejection, f64)> {
        let inst = self.inst;
        let o = &self.nodes[j];
        let m = &inst.model.workloads[u];
        if !rules::eligible(inst, u, o.ty)
            || m.max_per_node.is_some_and(|max| o.count(u) >= max)
            || !self.zone_allows(j, u)
            || self.is_tabu(j, u, false)
        {
            return None;
        }
        // (workload, replicas), ascending: a map small enough that a sorted list beats a tree.
        let mut out: Ejection = Vec::new();
        let entry = |out: &mut Ejection, w: usize| -> usize {
            match out.binary_search_by_key(&w, |&(x, _)| x) {
                Ok(i) => i,
                Err(i) => {
                    out.insert(i, (w, 0));
                    i
                }
            }
        };
        // Neighbour rules first: these residents must go whatever the capacity.
        rules::blockers(inst, o, u, |b, k| {
            let i = entry(&mut out, b);
            out[i].1 = out[i].1.max(k);
        });
        // Then capacity: the lightest replica that covers the whole overflow, else the one
        // that relieves the most of it.
        let cap = &inst.types[o.ty].cap;
        let mut overflow: Vec<u64> = (0..cap.len())
            .map(|r| {
                let freed: u64 = out
                    .iter()
                    .map(|&(w, k)| inst.model.workloads[w].requests[r] * k as u64)
                    .sum();
                (o.load[r] - freed + m.requests[r]).saturating_sub(cap[r])
            })
            .collect();
        while overflow.iter().any(|&x| x > 0) {
            let mut cover: Option<(f64, usize)> = None;
            let mut relief: Option<(f64, usize)> = None;
            for &(w, c) in &o.hosted {
                let leaving = out
                    .binary_search_by_key(&w, |&(x, _)| x)
                    .map_or(0, |i| out[i].1);
                if w == u || leaving >= c {
                    continue;
                }
                let req = &inst.model.workloads[w].requests;
                let covers = req.iter().zip(&overflow).all(|(q, x)| q >= x);
                let wt = self.weight[w];
                if covers {
                    if cover.is_none_or(|(b, _)| if heavy { wt > b } else { wt < b }) {
                        cover = Some((wt, w));
                    }
                } else {
                    let gain: f64 = req
                        .iter()
                        .zip(&overflow)
                        .zip(&inst.max_cap)
                        .filter(|(_, &c)| c > 0)
                        .map(|((&q, &x), &c)| q.min(x) as f64 / c as f64)
                        .sum();
                    if gain > 0.0 && relief.is_none_or(|(b, _)| gain / wt > b) {
                        relief = Some((gain / wt, w));
                    }
                }
            }
            let (_, w) = cover.or(relief)?;
            let i = entry(&mut out, w);
            out[i].1 += 1;
            for (x, q) in overflow.iter_mut().zip(&inst.model.workloads[w].requests) {
                *x = x.saturating_sub(*q);
            }
        }
        let mut cost = 0.0;
        for &(w, k) in &out {
            if self.is_tabu(j, w, true) || !self.zone_keeps(j, w, k) {
                return None;
            }
            cost += self.weight[w] * k as f64;
        }
        Some((out, cost))
    }

    /// Inserts one pending replica (see the module docs); false when it found no move.
    fn step(&mut self, budget: &mut Budget) -> bool {
        self.step += 1;
        let pick = if self.rng.gen_bool(0.7) {
            (0..self.pending.len())
                .max_by(|&a, &b| {
                    self.weight[self.pending[a]]
                        .total_cmp(&self.weight[self.pending[b]])
                        .then(b.cmp(&a))
                })
                .expect("something is pending")
        } else {
            self.rng.gen_range(0..self.pending.len())
        };
        let u = self.pending[pick];
        let cap_share = |o: &Open, r: usize| {
            let c = self.inst.types[o.ty].cap[r];
            (c > 0 && c < crate::quantity::MAX_AMOUNT).then_some(c as f64)
        };
        // Best fit: the node left with the least free share.
        let req = &self.inst.model.workloads[u].requests;
        let mut direct: Option<(f64, usize)> = None;
        // Whether `u` lacks zones does not depend on the node: asked once for the scan.
        let lacking = self.lacking(u);
        for (j, o) in self.nodes.iter().enumerate() {
            if self.closed[j]
                || !self.zone_open(lacking, j)
                || self.is_tabu(j, u, false)
                || !rules::fits(self.inst, o, u)
            {
                continue;
            }
            let slack: f64 = (0..req.len())
                .filter_map(|r| cap_share(o, r).map(|c| (c - (o.load[r] + req[r]) as f64) / c))
                .sum();
            if direct.is_none_or(|(s, _)| slack < s) {
                direct = Some((slack, j));
            }
        }
        budget.spend(self.nodes.len() as u64);
        let tenure = 7 + self.rng.gen_range(0..7) + self.pending.len() as u64;
        if let Some((_, j)) = direct {
            self.pending.swap_remove(pick);
            self.add(j, u);
            self.tabu[j].push((u, self.step + tenure, true));
            return true;
        }
        let open: Vec<usize> = (0..self.nodes.len()).filter(|&j| !self.closed[j]).collect();
        let sample: Vec<usize> = if open.len() <= EJECTION_SAMPLE {
            open
        } else {
            rand::seq::index::sample(&mut self.rng, open.len(), EJECTION_SAMPLE)
                .into_iter()
                .map(|i| open[i])
                .collect()
        };
        if self.refill(pick, &sample, tenure, budget) || self.swap(pick, &sample, tenure, budget) {
            return true;
        }
        let heavy = self.rng.gen_bool(0.2);
        let mut moves: Vec<(f64, usize, Ejection)> = sample
            .iter()
            .filter_map(|&j| self.ejection(j, u, heavy).map(|(out, cost)| (cost, j, out)))
            .collect();
        budget.spend(sample.len() as u64 * 4);
        if moves.is_empty() {
            return false;
        }
        // The lightest ejection mostly, any other now and then: always taking the lightest
        // would only ever shuffle the smallest replicas.
        let pick_move = if self.rng.gen_bool(0.8) {
            (0..moves.len())
                .min_by(|&a, &b| moves[a].0.total_cmp(&moves[b].0).then(a.cmp(&b)))
                .expect("not empty")
        } else {
            self.rng.gen_range(0..moves.len())
        };
        let (cost, j, out) = moves.swap_remove(pick_move);
        // Moves that make the pending load heavier are taken only now and then: enough to
        // leave a local optimum, rarely enough that the search still descends.
        if cost >= self.weight[u] && !self.rng.gen_bool(0.2) {
            return false;
        }
        self.tabu[j].retain(|&(_, until, _)| until > self.step);
        for (w, k) in out {
            for _ in 0..k {
                self.remove(j, w);
                self.pending.push(w);
            }
            self.tabu[j].push((w, self.step + tenure, false));
        }
        if !rules::fits(self.inst, &self.nodes[j], u) {
            // The ejection rules mirror `fits`; were they ever to disagree, the replicas
            // just ejected stay pending and the step is wasted, never the pool's validity.
            debug_assert!(false, "ejection left no room for workload {u}");
            return false;
        }
        self.pending.swap_remove(pick);
        self.add(j, u);
        self.tabu[j].push((u, self.step + tenure, true));
        true
    }

    /// Refills one node of `sample` from its residents and the pending replicas (the pick
    /// and a few other pending workloads): the set that fits with every node rule and has
    /// the largest total weight, when that is more than the node holds now (the descent
    /// move of consistent-neighbourhood search). Unlike a swap it may leave more replicas
    /// pending, as long as they weigh less: that is what fills nodes exactly, as packings
    /// at the optimum need. False when no node of the sample gains.
    fn refill(&mut self, pick: usize, sample: &[usize], tenure: u64, budget: &mut Budget) -> bool {
        // minZones spreads depend on which node a replica leaves; those pools keep to the
        // other moves, which check them. Without a reserve, refills made the search greedier
        // and lost nodes on BPPC_8_8_8 (417 instead of 415).
        if !self.zones.is_empty() || self.reserve.is_empty() {
            return false;
        }
        let offered = self.refill_offer(pick);
        let mut best: Option<(f64, usize, Refill)> = None;
        let mut visits = 0;
        for &j in sample.iter().take(REFILL_NODES) {
            let o = &self.nodes[j];
            // Items: (workload, replicas here now, most it may have after); residents that
            // just arrived stay in the base.
            let mut base = o.clone();
            let mut items: Refill = Vec::new();
            for &(w, c) in &o.hosted {
                if !self.is_tabu(j, w, true) {
                    base.remove(&self.inst.model.workloads[w].requests, w, c);
                    items.push((w, c, c));
                }
            }
            for &w in &offered {
                if self.is_tabu(j, w, false) {
                    continue;
                }
                let more = self.pending.iter().filter(|&&x| x == w).count() as u32;
                match items.iter_mut().find(|i| i.0 == w) {
                    Some(i) => i.2 += more,
                    None => items.push((w, 0, more)),
                }
            }
            // Heaviest first, so that good fills come early and bound the rest.
            items.sort_by(|a, b| {
                self.weight[b.0]
                    .total_cmp(&self.weight[a.0])
                    .then(a.0.cmp(&b.0))
            });
            let now: f64 = items
                .iter()
                .map(|&(w, c, _)| self.weight[w] * c as f64)
                .sum();
            let mut fill = Fill {
                items: &items,
                counts: vec![0; items.len()],
                best: now + best.as_ref().map_or(0.0, |b| b.0),
                best_counts: None,
                visits: 0,
            };
            let mut rest: Vec<f64> = items
                .iter()
                .map(|&(w, _, m)| self.weight[w] * m as f64)
                .collect();
            for i in (0..rest.len().saturating_sub(1)).rev() {
                rest[i] += rest[i + 1];
            }
            self.fill(&mut fill, &rest, &mut base, 0, 0.0);
            visits += fill.visits;
            if let Some(counts) = fill.best_counts {
                let gain = fill.best - now;
                let plan = items
                    .iter()
                    .zip(&counts)
                    .map(|(&(w, c, _), &k)| (w, c, k))
                    .collect();
                best = Some((gain, j, plan));
            }
        }
        budget.spend(visits + sample.len() as u64);
        let Some((_, j, plan)) = best else {
            return false;
        };
        self.apply_refill(j, &plan, tenure);
        true
    }

    /// The pending workloads a refill may take in: the one at `pick`, then others from a
    /// random offset, at most `REFILL_PENDING`.
    fn refill_offer(&mut self, pick: usize) -> Vec<usize> {
        let u = self.pending[pick];
        let mut offered: Vec<usize> = vec![u];
        let offset = self.rng.gen_range(0..self.pending.len());
        for i in (0..self.pending.len()).map(|i| (i + offset) % self.pending.len()) {
            if offered.len() == REFILL_PENDING {
                break;
            }
            if !offered.contains(&self.pending[i]) {
                offered.push(self.pending[i]);
            }
        }
        offered
    }

    /// Makes the refill `plan` of node `j`: residents leave for the pending list, pending
    /// replicas come in, and both are tabu for `tenure` steps.
    fn apply_refill(&mut self, j: usize, plan: &Refill, tenure: u64) {
        self.tabu[j].retain(|&(_, until, _)| until > self.step);
        for &(w, was, now) in plan {
            for _ in now..was {
                self.remove(j, w);
                self.pending.push(w);
            }
            if now < was {
                self.tabu[j].push((w, self.step + tenure, false));
            }
        }
        for &(w, was, now) in plan {
            for _ in was..now {
                let i = self
                    .pending
                    .iter()
                    .position(|&x| x == w)
                    .expect("offered replicas are pending");
                self.pending.swap_remove(i);
                self.add(j, w);
            }
            if now > was {
                self.tabu[j].push((w, self.step + tenure, true));
            }
        }
    }

    /// Depth-first search of `Search::refill` over the items from `i` on, `base` holding
    /// the choices so far (weighing `weight` beyond the base).
    fn fill(&self, f: &mut Fill, rest: &[f64], base: &mut Open, i: usize, weight: f64) {
        if f.visits >= REFILL_VISITS {
            return;
        }
        f.visits += 1;
        if weight > f.best + 1e-9 {
            f.best = weight;
            f.best_counts = Some(f.counts.clone());
        }
        if i == f.items.len() || weight + rest[i] <= f.best + 1e-9 {
            return;
        }
        let (w, _, most) = f.items[i];
        let req = &self.inst.model.workloads[w].requests;
        let mut k = 0;
        while k < most && rules::fits(self.inst, base, w) {
            f.visits += 1;
            base.add(req, w, 1);
            k += 1;
        }
        // Most replicas of this item first, then fewer.
        loop {
            f.counts[i] = k;
            self.fill(f, rest, base, i + 1, weight + self.weight[w] * k as f64);
            if k == 0 {
                break;
            }
            base.remove(req, w, 1);
            k -= 1;
        }
        f.counts[i] = 0;
    }

    /// Exchanges the pending replica at `pick` for one resident of a node in `sample`, or it
    /// and one other pending replica for one or two residents: the exchange that most lowers the
    /// pending load, counted in squared weights so that trading big replicas for small ones
    /// pays (the small ones are the easier to place later); false when none lowers it.
    fn swap(&mut self, pick: usize, sample: &[usize], tenure: u64, budget: &mut Budget) -> bool {
        let partners = self.swap_partners(pick);
        let mut found: Vec<Swap> = Vec::new();
        let mut evaluated = 0u64;
        let mut scratch = SwapScratch::default();
        for &j in sample {
            self.swaps_on(j, pick, &partners, &mut scratch, &mut found, &mut evaluated);
        }
        budget.spend(evaluated);
        // Best first; the capacity test is exact, the other rules are checked by making the
        // moves, and undone when one fails.
        found.sort_by(|a, b| b.gain.total_cmp(&a.gain));
        found
            .iter()
            .take(SWAP_TRIES)
            .any(|s| self.try_swap(pick, s, tenure))
    }

    /// Partners for the swap of pending entry `pick`: none, or another pending workload (a
    /// bounded number, from a random offset, so that a long pending list does not make
    /// every step slow).
    fn swap_partners(&mut self, pick: usize) -> Vec<Option<usize>> {
        // Partners: none, or another pending workload (a bounded number, from a random
        // offset, so that a long pending list does not make every step slow).
        let mut partners: Vec<Option<usize>> = vec![None];
        let offset = self.rng.gen_range(0..self.pending.len());
        for i in (0..self.pending.len()).map(|i| (i + offset) % self.pending.len()) {
            if partners.len() > SWAP_PARTNERS {
                break;
            }
            let v = self.pending[i];
            if i != pick
                && !partners
                    .iter()
                    .any(|&p| p.is_some_and(|p| self.pending[p] == v))
            {
                partners.push(Some(i));
            }
        }
        partners
    }

    /// The swaps on node `j` that take in pending entry `pick` (with a partner) for at most
    /// as many residents and raise the squared loads, by capacity.
    fn swaps_on(
        &self,
        j: usize,
        pick: usize,
        partners: &[Option<usize>],
        scratch: &mut SwapScratch,
        found: &mut Vec<Swap>,
        evaluated: &mut u64,
    ) {
        let inst = self.inst;
        let u = self.pending[pick];
        let req = |w: usize| &inst.model.workloads[w].requests;
        let sq = |w: usize| self.squared_weight(w);
        let o = &self.nodes[j];
        if !rules::eligible(inst, u, o.ty) || !self.zone_allows(j, u) || self.is_tabu(j, u, false) {
            return;
        }
        // The lightest residents that may leave, alone or in pairs (a pair of one
        // workload when it has two replicas here).
        let residents = &mut scratch.residents;
        residents.clear();
        residents.extend(
            o.hosted
                .iter()
                .copied()
                .filter(|&(w, _)| w != u && !self.is_tabu(j, w, true)),
        );
        residents.sort_by(|a, b| {
            self.weight[a.0]
                .total_cmp(&self.weight[b.0])
                .then(a.0.cmp(&b.0))
        });
        residents.truncate(SWAP_RESIDENTS);
        let outs = &mut scratch.outs;
        outs.clear();
        for (x, &(a, ca)) in residents.iter().enumerate() {
            outs.push([Some(a), None]);
            if ca > 1 {
                outs.push([Some(a), Some(a)]);
            }
            outs.extend(residents[x + 1..].iter().map(|&(b, _)| [Some(a), Some(b)]));
        }
        let cap = &inst.types[o.ty].cap;
        let r = cap.len();
        // Per exit, once for all partners: its squared weight and, per resource, the
        // capacity it leaves (`cap + outgoing`, which the load plus the incoming must not pass).
        let out_sq = &mut scratch.out_sq;
        out_sq.clear();
        out_sq.extend(
            outs.iter()
                .map(|out| out.iter().flatten().map(|&w| sq(w)).sum::<f64>()),
        );
        // The most any exit leaves per resource (the two largest residents, or two replicas
        // of one) and the least any weighs: a partner that needs more than the one, or whose
        // gain the other cancels, finds no swap on this node, and the exits' room per
        // resource is only summed once some partner passes.
        let most_room = &mut scratch.most_room;
        most_room.clear();
        most_room.extend((0..r).map(|k| {
            let (mut top, mut second, mut double) = (0, 0, 0);
            for &(a, ca) in residents.iter() {
                let q = req(a)[k];
                if q > top {
                    (top, second) = (q, top);
                } else if q > second {
                    second = q;
                }
                if ca > 1 {
                    double = double.max(q + q);
                }
            }
            cap[k] + (top + second).max(double)
        }));
        let least_sq = out_sq.iter().copied().fold(f64::INFINITY, f64::min);
        let out_room = &mut scratch.out_room;
        out_room.clear();
        let need = &mut scratch.need;
        for &p in partners {
            let v = p.map(|p| self.pending[p]);
            let gain_in = sq(u) + v.map_or(0.0, sq);
            need.clear();
            need.extend((0..r).map(|k| o.load[k] + (req(u)[k] + v.map_or(0, |v| req(v)[k]))));
            if outs.is_empty()
                || gain_in - least_sq <= 0.0
                || need.iter().zip(most_room.iter()).any(|(n, m)| n > m)
            {
                *evaluated += outs.len() as u64;
                continue;
            }
            if out_room.is_empty() {
                for &[a, b] in outs.iter() {
                    let (qa, qb) = (a.map(req), b.map(req));
                    out_room.extend((0..r).map(|k| {
                        let outgoing = qa.map_or(0, |q| q[k]) + qb.map_or(0, |q| q[k]);
                        cap[k] + outgoing
                    }));
                }
            }
            for (x, out) in outs.iter().enumerate() {
                *evaluated += 1;
                // Never more out than in: the pending count must not grow.
                if (v.is_some() && out.contains(&v)) || (v.is_none() && out[1].is_some()) {
                    continue;
                }
                let gain = gain_in - out_sq[x];
                if gain > 0.0
                    && need
                        .iter()
                        .zip(&out_room[x * r..(x + 1) * r])
                        .all(|(n, room)| n <= room)
                {
                    found.push(Swap {
                        gain,
                        node: j,
                        partner: p,
                        out: *out,
                    });
                }
            }
        }
    }

    /// Makes swap `s` for pending entry `pick` if every rule allows it; whether it did.
    fn try_swap(&mut self, pick: usize, s: &Swap, tenure: u64) -> bool {
        let &Swap {
            node: j,
            partner: p,
            out,
            ..
        } = s;
        let u = self.pending[pick];
        let ins = [Some(u), p.map(|p| self.pending[p])];
        let mark = self.log.len();
        let mut ok = true;
        for &w in out.iter().flatten() {
            ok = ok && self.zone_keeps(j, w, 1);
            if ok {
                self.remove(j, w);
            }
        }
        for &w in ins.iter().flatten() {
            ok = ok
                && self.zone_allows(j, w)
                && !self.is_tabu(j, w, false)
                && rules::fits(self.inst, &self.nodes[j], w);
            if ok {
                self.add(j, w);
            }
        }
        if !ok {
            self.rollback(mark);
            return false;
        }
        // Remove the higher index first: swap_remove leaves lower ones in place.
        let mut taken = [Some(pick), p];
        taken.sort_unstable_by(|a, b| b.cmp(a));
        for i in taken.into_iter().flatten() {
            self.pending.swap_remove(i);
        }
        self.tabu[j].retain(|&(_, until, _)| until > self.step);
        for &w in out.iter().flatten() {
            self.pending.push(w);
            self.tabu[j].push((w, self.step + tenure, false));
        }
        for &w in ins.iter().flatten() {
            self.tabu[j].push((w, self.step + tenure, true));
        }
        true
    }

    /// Runs steps until nothing is pending; false when the attempt stalls (see
    /// [`STALL_PER_REPLICA`]), reaches its step limit or the budget runs out.
    fn repair(&mut self, budget: &mut Budget) -> bool {
        let steps = (5000 + 500 * self.pending.len() as u64).max(4 * self.stall);
        let mut best = (self.pending.len(), self.pending_load());
        let mut since = 0;
        for _ in 0..steps {
            if self.pending.is_empty() || since > self.stall || self.place_in_reserve(budget) {
                break;
            }
            if budget.exhausted() {
                return false;
            }
            self.step(budget);
            since += 1;
            let now = (self.pending.len(), self.pending_load());
            if now.0 < best.0 || (now.0 == best.0 && now.1 < best.1) {
                best = now;
                since = 0;
            }
        }
        self.pending.is_empty() && self.zones_met()
    }

    /// Places every pending replica on the reserve nodes, which are reopened, when they fit
    /// there under every node rule; false (and nothing changed) when not.
    fn place_in_reserve(&mut self, budget: &mut Budget) -> bool {
        if self.reserve.is_empty() {
            return false;
        }
        if !self.room_covers_pending(self.reserve.iter().copied()) {
            return false;
        }
        let mut order = self.pending.clone();
        order.sort_by(|&a, &b| self.weight[b].total_cmp(&self.weight[a]).then(a.cmp(&b)));
        let mut nodes: Vec<Open> = self
            .reserve
            .iter()
            .map(|&j| self.nodes[j].clone())
            .collect();
        let mut to = vec![0; order.len()];
        let mut visits = 0;
        let found = self.assign(&order, &mut nodes, &mut to, 0, &mut visits);
        budget.spend(visits);
        if !found {
            return false;
        }
        for (&w, &b) in order.iter().zip(&to) {
            self.add(self.reserve[b], w);
        }
        self.pending.clear();
        true
    }

    /// Depth-first search of `place_in_reserve`: a node of `nodes` for each replica of
    /// `order` from `i` on.
    fn assign(
        &self,
        order: &[usize],
        nodes: &mut [Open],
        to: &mut [usize],
        i: usize,
        visits: &mut u64,
    ) -> bool {
        if i == order.len() {
            return true;
        }
        *visits += 1;
        if *visits > RESERVE_VISITS {
            return false;
        }
        let w = order[i];
        let req = &self.inst.model.workloads[w].requests;
        for b in 0..nodes.len() {
            // Empty nodes of one type and zone are interchangeable: try the first only.
            let same_empty = (0..b).any(|a| {
                nodes[a].hosted.is_empty()
                    && nodes[b].hosted.is_empty()
                    && (nodes[a].ty, nodes[a].zone) == (nodes[b].ty, nodes[b].zone)
            });
            if same_empty || !rules::fits(self.inst, &nodes[b], w) {
                continue;
            }
            nodes[b].add(req, w, 1);
            to[i] = b;
            let found = self.assign(order, nodes, to, i + 1, visits);
            nodes[b].remove(req, w, 1);
            if found {
                return true;
            }
        }
        false
    }

    /// The pending load that swaps lower: squared weights (see `swap`).
    fn pending_load(&self) -> f64 {
        self.pending.iter().map(|&w| self.squared_weight(w)).sum()
    }

    fn squared_weight(&self, w: usize) -> f64 {
        self.weight[w] * self.weight[w]
    }

    fn zones_met(&self) -> bool {
        self.zones.keys().all(|&w| !self.zones_missing(w))
    }

    /// Repairs a pool with unplaced replicas; when its own nodes cannot take them, adds free
    /// nodes from `inv` (enough to hold what is pending) and tries again, a few rounds at
    /// most. All or nothing.
    fn repair_with_free_nodes(&mut self, inv: &mut Inventory, budget: &mut Budget) {
        let saved = self.pending.clone();
        for _ in 0..REPAIR_ROUNDS {
            if self.repair(budget) {
                self.commit();
                return;
            }
            if budget.exhausted() || !self.take_free_node(inv) {
                break;
            }
            while !self.free_room_covers_pending() && self.take_free_node(inv) {}
        }
        self.undo(Some(inv));
        self.pending = saved;
    }

    /// Free capacity of resource `r` over the pool's open nodes, `except` one.
    fn free_capacity(&self, r: usize, except: Option<usize>) -> u128 {
        self.free_on(
            r,
            (0..self.nodes.len()).filter(|&j| Some(j) != except && !self.closed[j]),
        )
    }

    /// Free capacity of resource `r` over `nodes`.
    fn free_on(&self, r: usize, nodes: impl Iterator<Item = usize>) -> u128 {
        nodes
            .map(|j| {
                let o = &self.nodes[j];
                u128::from(self.inst.types[o.ty].cap[r] - o.load[r])
            })
            .sum()
    }

    /// Whether the pool's free capacity covers, per resource, the pending replicas.
    fn free_room_covers_pending(&self) -> bool {
        self.room_covers_pending((0..self.nodes.len()).filter(|&j| !self.closed[j]))
    }

    /// Whether the free capacity of `nodes` covers, per resource, the pending replicas.
    fn room_covers_pending(&self, nodes: impl Iterator<Item = usize> + Clone) -> bool {
        let inst = self.inst;
        (0..inst.model.resources.len()).all(|r| {
            let pending: u128 = self
                .pending
                .iter()
                .map(|&w| u128::from(inst.model.workloads[w].requests[r]))
                .sum();
            self.free_on(r, nodes.clone()) >= pending
        })
    }

    /// Adds the free node that can host the heaviest pending replica: an existing node
    /// before one to buy, then the cheapest, in a zone the replica still needs if any.
    fn take_free_node(&mut self, inv: &mut Inventory) -> bool {
        let inst = self.inst;
        let Some(&u) = self
            .pending
            .iter()
            .max_by(|&&a, &&b| self.weight[a].total_cmp(&self.weight[b]).then(b.cmp(&a)))
        else {
            return false;
        };
        let pick = inst.workloads[u]
            .eligible
            .iter()
            .flat_map(|&t| (0..inv.zones()).map(move |z| (t, z)))
            .filter(|&(t, z)| {
                inv.available(t, z) > 0
                    && (!self.zones_missing(u) || (self.real_zone(z) && self.zones[&u][z] == 0))
            })
            .min_by_key(|&(t, z)| (inst.types[t].catalog.is_some(), inst.types[t].cost, t, z));
        let Some((t, z)) = pick else {
            return false;
        };
        let Some(node) = self.take_node(inv, t, z) else {
            return false;
        };
        self.added.push(node);
        true
    }

    /// Takes a free node of type `t` in zone `z` into the pool, empty; returns its id.
    fn take_node(&mut self, inv: &mut Inventory, t: usize, z: usize) -> Option<usize> {
        let node = inv.take(t, z)?;
        self.nodes.push(Open {
            node,
            ty: t,
            zone: z,
            load: vec![0; self.inst.model.resources.len()],
            hosted: Vec::new(),
        });
        self.closed.push(false);
        self.tabu.push(Vec::new());
        Some(node)
    }

    /// Whether the pool keeps minNodesPerPool and (if it held) headroom without node `v`.
    fn may_release(&self, v: usize, headroom_held: bool) -> bool {
        let live = || {
            (0..self.nodes.len())
                .filter(move |&j| j != v && !self.closed[j])
                .map(|j| self.nodes[j].ty)
        };
        rules::may_shrink_to(self.inst, &self.demand, live(), headroom_held)
    }

    /// Whether the pool's other nodes have, per resource, the free capacity node `v` uses,
    /// and for each workload with maxPerNode on it, that many free slots: when not, no
    /// search can empty it.
    fn room_elsewhere(&self, v: usize) -> bool {
        let inst = self.inst;
        let others = || (0..self.nodes.len()).filter(move |&j| j != v && !self.closed[j]);
        let slots = self.nodes[v].hosted.iter().all(|&(w, k)| {
            let Some(max) = inst.model.workloads[w].max_per_node else {
                return true;
            };
            let free: u64 = others()
                .filter(|&j| rules::eligible(inst, w, self.nodes[j].ty))
                .map(|j| u64::from(max.saturating_sub(self.nodes[j].count(w))))
                .sum();
            free >= u64::from(k)
        });
        slots
            && (0..inst.model.resources.len())
                .all(|r| self.free_capacity(r, Some(v)) >= u128::from(self.nodes[v].load[r]))
    }

    /// Moves one replica to another node, or exchanges two, wherever that raises the sum
    /// over nodes of their squared loads (a node's load: its share of each resource,
    /// weighted by how much of that resource the pool uses): load goes where it fills a
    /// node relatively more. On nodes of several shapes this stops one shape stranding the
    /// resource another lacks (on Alibaba's machines, CPU-heavy replicas go to the small
    /// machines and memory-heavy ones to the large, which frees the CPU node elimination
    /// needs). Each node is tried against a sample of others; every exchange keeps every
    /// rule and is committed. Returns how many were made.
    fn rebalance(&mut self, budget: &mut Budget) -> usize {
        let live: Vec<usize> = (0..self.nodes.len()).filter(|&j| !self.closed[j]).collect();
        // On nodes of one type the search's own moves do better (BPPC_5_1_3 kept 21 bins
        // of an optimum of 20 with rebalancing).
        if live.len() < 2 || self.live_types().len() < 2 {
            return 0;
        }
        let mut made = 0;
        self.step += 1;
        // How much of each resource the pool uses: a resource it barely uses hardly counts.
        let use_share: Vec<f64> = (0..self.inst.model.resources.len())
            .map(|r| {
                let cap: u128 = live
                    .iter()
                    .map(|&j| u128::from(self.inst.types[self.nodes[j].ty].cap[r]))
                    .sum();
                if cap == 0 || cap >= u128::from(crate::quantity::MAX_AMOUNT) {
                    0.0
                } else {
                    (self.demand[r] as f64 / cap as f64).min(1.0)
                }
            })
            .collect();
        for &j in &live {
            if budget.exhausted() {
                break;
            }
            // The best few exchanges by gain, best first.
            let mut best: Vec<(f64, usize, usize, Option<usize>)> = Vec::new();
            for _ in 0..BALANCE_PARTNERS {
                let i = live[self.rng.gen_range(0..live.len())];
                if i == j {
                    continue;
                }
                let (from_j, from_i) = (self.residents(j), self.residents(i));
                for &(a, _) in from_j {
                    let leaving = std::iter::once(None).chain(from_i.iter().map(|&(b, _)| Some(b)));
                    for b in leaving {
                        let Some(gain) = self.exchange_gain(&use_share, j, i, a, b) else {
                            continue;
                        };
                        if best.len() == BALANCE_TRIES && gain <= best[BALANCE_TRIES - 1].0 {
                            continue;
                        }
                        let at = best.partition_point(|c| c.0 >= gain);
                        best.insert(at, (gain, i, a, b));
                        best.truncate(BALANCE_TRIES);
                    }
                }
                budget.spend((from_j.len() * (from_i.len() + 1)) as u64);
            }
            for &(_, i, a, b) in &best {
                if self.exchange(j, i, a, b) {
                    made += 1;
                    break;
                }
            }
        }
        made
    }

    /// The workloads on node `j` a rebalancing sweep considers: all of them, or on a node
    /// hosting many, a window of `BALANCE_RESIDENTS` that moves from sweep to sweep.
    fn residents(&self, j: usize) -> &[(usize, u32)] {
        let hosted = &self.nodes[j].hosted;
        if hosted.len() <= BALANCE_RESIDENTS {
            return hosted;
        }
        let start = (self.step as usize + j) % (hosted.len() - BALANCE_RESIDENTS + 1);
        &hosted[start..start + BALANCE_RESIDENTS]
    }

    /// The rise in squared node loads when one replica of `a` moves from node `j` to `i`
    /// and one of `b` (if any) from `i` to `j`, a node's load being its resource shares
    /// weighted by `use_share`; `None` when capacity does not allow it or nothing rises.
    fn exchange_gain(
        &self,
        use_share: &[f64],
        j: usize,
        i: usize,
        a: usize,
        b: Option<usize>,
    ) -> Option<f64> {
        let inst = self.inst;
        let (oj, oi) = (&self.nodes[j], &self.nodes[i]);
        let (cj, ci) = (&inst.types[oj.ty].cap, &inst.types[oi.ty].cap);
        let qa = &inst.model.workloads[a].requests;
        // Loads of j and i, before and after.
        let (mut j0, mut i0, mut j1, mut i1) = (0.0, 0.0, 0.0, 0.0);
        for (r, &u) in use_share.iter().enumerate() {
            let qb = b.map_or(0, |b| inst.model.workloads[b].requests[r]);
            let (lj, li) = (oj.load[r] - qa[r] + qb, oi.load[r] - qb + qa[r]);
            if lj > cj[r] || li > ci[r] {
                return None;
            }
            let share = |l: u64, c: u64| if c == 0 { 0.0 } else { u * l as f64 / c as f64 };
            j0 += share(oj.load[r], cj[r]);
            i0 += share(oi.load[r], ci[r]);
            j1 += share(lj, cj[r]);
            i1 += share(li, ci[r]);
        }
        let gain = j1 * j1 + i1 * i1 - j0 * j0 - i0 * i0;
        (gain > 1e-9).then_some(gain)
    }

    /// Makes the exchange of `exchange_gain` if every rule allows it, committed.
    fn exchange(&mut self, j: usize, i: usize, a: usize, b: Option<usize>) -> bool {
        self.remove(j, a);
        if let Some(b) = b {
            self.remove(i, b);
        }
        let ok = rules::fits(self.inst, &self.nodes[i], a)
            && b.is_none_or(|b| rules::fits(self.inst, &self.nodes[j], b));
        if ok {
            self.add(i, a);
            if let Some(b) = b {
                self.add(j, b);
            }
        }
        if ok && !self.zones_missing(a) && b.is_none_or(|b| !self.zones_missing(b)) {
            self.commit();
            return true;
        }
        self.rollback(0);
        false
    }

    fn cost(&self) -> u64 {
        self.nodes
            .iter()
            .zip(&self.closed)
            .filter(|(_, &c)| !c)
            .map(|(o, _)| self.inst.types[o.ty].cost)
            .sum()
    }

    /// Releases nodes while the search can re-place their replicas, the least loaded (and
    /// then dearest) first, a bounded number of failed victims per pass, until the pool
    /// costs `floor` or less. Between passes, load is rebalanced; when a pass releases
    /// nothing, a free node of a better type is traded in (see `trade_up`).
    fn eliminate(&mut self, floor: u64, inv: &mut Inventory, budget: &mut Budget) {
        let headroom_held =
            headroom_deficit(self.inst, &self.demand, self.nodes.iter().map(|o| o.ty)).is_none();
        let patience = self.stall;
        let mut sweeps = BALANCE_SWEEPS;
        let mut reserved = 0;
        // The search with a reserve has a share of what is left, so that it cannot take
        // the rest of the pools' budget.
        let mut share: Option<Budget> = None;
        loop {
            let budget = match share.as_mut() {
                Some(s) => s,
                None => &mut *budget,
            };
            for _ in 0..std::mem::replace(&mut sweeps, 1) {
                let live = self.closed.iter().filter(|&&c| !c).count();
                if self.rebalance(budget) * BALANCE_QUIET < live {
                    break;
                }
            }
            if self.cost() <= floor || budget.exhausted() {
                break;
            }
            let victims = self.victims(|_| true);
            if self.release_some(&victims, reserved, floor, headroom_held, patience, budget) > 0
                || self.trade_up(floor, inv, headroom_held, patience, budget)
            {
                continue;
            }
            // Nothing more gives one node at a time: search again with a reserve of nodes
            // emptied too (see `RESERVE`), once.
            if reserved > 0 || !self.zones.is_empty() || victims.len() <= RESERVE + 1 {
                break;
            }
            share = Some(budget.share(budget.left / RESERVE_SHARE));
            reserved = RESERVE;
            self.stall = patience;
        }
        if let Some(share) = share {
            budget.merge(share);
        }
    }

    /// Whether node type `t` offers at least as much of every resource the pool requests
    /// per unit of cost as type `u`, and more of one. A type to buy never beats existing
    /// nodes: those are used before any is bought.
    fn beats(&self, t: usize, u: usize) -> bool {
        let (a, b) = (&self.inst.types[t], &self.inst.types[u]);
        if a.catalog.is_some() && b.catalog.is_none() {
            return false;
        }
        let mut better = false;
        for (r, &d) in self.demand.iter().enumerate() {
            if d == 0 {
                continue;
            }
            // a.cap / a.cost against b.cap / b.cost, cross-multiplied.
            let x = u128::from(a.cap[r]) * u128::from(b.cost.max(1));
            let y = u128::from(b.cap[r]) * u128::from(a.cost.max(1));
            if x < y {
                return false;
            }
            better |= x > y;
        }
        better
    }

    /// The types of the pool's nodes, ascending.
    fn live_types(&self) -> Vec<usize> {
        let mut t: Vec<usize> = (0..self.nodes.len())
            .filter(|&j| !self.closed[j])
            .map(|j| self.nodes[j].ty)
            .collect();
        t.sort_unstable();
        t.dedup();
        t
    }

    /// The pool's nodes passing `keep`: those of a type another of its nodes beats first
    /// (releasing them keeps the better nodes), then the least loaded, then the dearest.
    fn victims(&self, keep: impl Fn(&Open) -> bool) -> Vec<usize> {
        let inst = self.inst;
        let live_types = self.live_types();
        let beaten: Vec<bool> = (0..inst.types.len())
            .map(|t| live_types.iter().any(|&u| self.beats(u, t)))
            .collect();
        let load = |o: &Open| -> f64 {
            o.hosted
                .iter()
                .map(|&(w, c)| self.weight[w] * c as f64)
                .sum()
        };
        let mut victims: Vec<usize> = (0..self.nodes.len())
            .filter(|&j| !self.closed[j] && keep(&self.nodes[j]))
            .collect();
        victims.sort_by(|&a, &b| {
            let (oa, ob) = (&self.nodes[a], &self.nodes[b]);
            beaten[ob.ty]
                .cmp(&beaten[oa.ty])
                .then(load(oa).total_cmp(&load(ob)))
                .then(inst.types[ob.ty].cost.cmp(&inst.types[oa.ty].cost))
                .then(a.cmp(&b))
        });
        victims
    }

    /// Releases what it can of `victims`, in order, each with `reserved` more nodes emptied
    /// (see `RESERVE`), until `VICTIMS_PER_PASS` (with a reserve, `RESERVE_VICTIMS`) fail
    /// in a row or the pool costs `floor`; returns how many were released.
    fn release_some(
        &mut self,
        victims: &[usize],
        reserved: usize,
        floor: u64,
        headroom_held: bool,
        patience: u64,
        budget: &mut Budget,
    ) -> usize {
        let per_pass = if reserved > 0 {
            RESERVE_VICTIMS
        } else {
            VICTIMS_PER_PASS
        };
        let mut released = 0;
        let mut failures = 0;
        for (x, &v) in victims.iter().enumerate() {
            if budget.exhausted() || failures == per_pass || self.cost() <= floor {
                break;
            }
            if !self.may_release(v, headroom_held) || !self.room_elsewhere(v) {
                continue;
            }
            // The reserve: the next victims after this one still open.
            self.reserve = victims
                .iter()
                .cycle()
                .skip(x + 1)
                .take(victims.len())
                .copied()
                .filter(|&r| r != v && !self.closed[r])
                .take(reserved)
                .collect();
            for &j in std::iter::once(&v).chain(&self.reserve.clone()) {
                let hosted = self.nodes[j].hosted.clone();
                for (w, k) in hosted {
                    for _ in 0..k {
                        self.remove(j, w);
                        self.pending.push(w);
                    }
                }
                self.closed[j] = true;
            }
            let ok = self.repair(budget);
            for r in std::mem::take(&mut self.reserve) {
                self.closed[r] = false;
            }
            if ok {
                self.commit();
                released += 1;
                failures = 0;
                self.stall = patience;
                continue;
            }
            self.closed[v] = false;
            self.undo(None);
            self.pending.clear();
            failures += 1;
            // Each failure in a row halves the next attempt's patience: a pool where
            // nothing gives is given up cheaply, one that yields keeps searching long.
            self.stall = (self.stall / 2).max(STALL_FLOOR);
        }
        released
    }

    /// Takes a free node of a type that offers at least as much of every resource per unit
    /// of cost as some of the pool's node types (and more of one), then releases nodes of
    /// those types; kept when the pool ends up cheaper, else everything is put back. Node
    /// elimination alone never does this: a pool that released its big nodes early (they
    /// were the least loaded then) is left with small ones that only a new big node can
    /// absorb.
    fn trade_up(
        &mut self,
        floor: u64,
        inv: &mut Inventory,
        headroom_held: bool,
        patience: u64,
        budget: &mut Budget,
    ) -> bool {
        let inst = self.inst;
        let live_types = self.live_types();
        let eligible = pack::pool_types(inst, self.workloads);
        let pick = eligible
            .iter()
            .filter(|&&t| live_types.iter().any(|&u| self.beats(t, u)))
            .flat_map(|&t| (0..inv.zones()).map(move |z| (t, z)))
            .filter(|&(t, z)| inv.available(t, z) > 0)
            .min_by_key(|&(t, z)| {
                let here = (0..self.nodes.len())
                    .filter(|&j| !self.closed[j] && self.nodes[j].zone == z)
                    .count();
                (inst.types[t].catalog.is_some(), here, t, z)
            });
        let Some((t, z)) = pick else {
            return false;
        };
        let saved = (
            self.nodes.clone(),
            self.closed.clone(),
            self.tabu.clone(),
            self.zones.clone(),
        );
        let before = self.cost();
        let Some(node) = self.take_node(inv, t, z) else {
            return false;
        };
        let victims = self.victims(|o| self.beats(t, o.ty));
        let mut failures = 0;
        for &v in &victims {
            if self.cost() < before || failures == VICTIMS_PER_PASS || budget.exhausted() {
                break;
            }
            match self.release_some(&[v], 0, floor, headroom_held, patience, budget) {
                0 => failures += 1,
                _ => failures = 0,
            }
        }
        if self.cost() < before {
            return true;
        }
        (self.nodes, self.closed, self.tabu, self.zones) = saved;
        inv.release(inst, node);
        false
    }
}

/// The state of one node's refill search (see `Search::fill`): the items (workload,
/// replicas there now, most allowed), the counts chosen so far, the best total weight found
/// and its counts.
struct Fill<'i> {
    items: &'i [(usize, u32, u32)],
    counts: Vec<u32>,
    best: f64,
    best_counts: Option<Vec<u32>>,
    visits: u64,
}

/// A candidate exchange: the pending replica (and the pending `partner`, if any) onto `node`,
/// the residents `out` off it, lowering the squared pending load by `gain`.
#[derive(Clone, Copy)]
struct Swap {
    gain: f64,
    node: usize,
    partner: Option<usize>,
    out: [Option<usize>; 2],
}

/// Buffers `Search::swaps_on` reuses from node to node of one step: the residents that may
/// leave, the exits made of them, per exit its squared weight and the capacity it leaves
/// per resource, the most any leaves; per partner, the load plus what comes in.
#[derive(Default)]
struct SwapScratch {
    residents: Vec<(usize, u32)>,
    outs: Vec<[Option<usize>; 2]>,
    out_sq: Vec<f64>,
    out_room: Vec<u64>,
    most_room: Vec<u64>,
    need: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;
    use crate::testing::{model, node, workload};

    /// One node of 10 cpu per name; workloads (name, cpu, antiAffinity).
    fn instance(nodes: usize, workloads: &[(&str, u32, &str)]) -> Model {
        let mut docs: Vec<String> = workloads
            .iter()
            .map(|(name, cpu, anti)| {
                let anti = if anti.is_empty() {
                    String::new()
                } else {
                    format!(", antiAffinity: [{anti}]")
                };
                workload(
                    name,
                    &format!("sensitivity: public, resources: {{cpu: {cpu}}}{anti}"),
                )
            })
            .collect();
        docs.extend((0..nodes).map(|n| node(&format!("n{n}"), "", "allocatable: {cpu: 10}")));
        model(&docs.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn open(inst: &Instance, node: usize, hosted: &[usize]) -> Open {
        let mut o = Open::empty(inst, node);
        for &w in hosted {
            o.add(&inst.model.workloads[w].requests, w, 1);
        }
        o
    }

    fn pack(inst: &Instance, nodes: Vec<Open>, pending: &[usize]) -> PoolPack {
        PoolPack {
            cost: nodes.iter().map(|o| inst.types[o.ty].cost).sum(),
            nodes,
            shortfalls: pending
                .iter()
                .map(|&w| super::super::pack::Shortfall {
                    workload: w,
                    count: 1,
                    cause: super::super::pack::Cause::Capacity,
                })
                .collect(),
            unmet: Vec::new(),
        }
    }

    fn valid(inst: &Instance, p: &PoolPack) -> bool {
        p.nodes.iter().all(|o| {
            let cap = &inst.types[o.ty].cap;
            o.load.iter().zip(cap).all(|(l, c)| l <= c)
                && o.hosted.iter().all(|&(w, _)| {
                    inst.model.workloads[w]
                        .anti_affinity
                        .iter()
                        .all(|&a| o.count(a) == 0)
                })
        })
    }

    #[test]
    fn repair_makes_room_by_ejecting_and_moving_residents() {
        // n0 = {x 5, y 3}, n1 = {x2 5, y2 3}; z (4) fits nowhere until the two 3s share a
        // node: {x 5, x2 5} and {y 3, y2 3, z 4}. x and x2 share a node, and n1 is full.
        let m = instance(
            2,
            &[
                ("x", 5, ""),
                ("x2", 5, ""),
                ("y", 3, ""),
                ("y2", 3, ""),
                ("z", 4, ""),
            ],
        );
        let inst = Instance::new(&m);
        let mut inv = Inventory::full(&inst);
        inv.claim(&inst, 0);
        inv.claim(&inst, 1);
        let mut p = pack(
            &inst,
            vec![open(&inst, 0, &[0, 2]), open(&inst, 1, &[1, 3])],
            &[4],
        );
        let mut budget = Budget::new(1_000_000, None);
        repair(&inst, &[0, 1, 2, 3, 4], &mut p, &mut inv, &mut budget);
        assert!(p.shortfalls.is_empty(), "{p:?}");
        assert_eq!(p.nodes.len(), 2);
        assert!(valid(&inst, &p), "{p:?}");
    }

    #[test]
    fn a_failed_repair_leaves_the_pool_as_it_was() {
        // z conflicts with everything and no free node is left: nothing can change.
        let m = instance(2, &[("x", 6, ""), ("y", 6, ""), ("z", 1, "x, y")]);
        let inst = Instance::new(&m);
        let mut inv = Inventory::full(&inst);
        inv.claim(&inst, 0);
        inv.claim(&inst, 1);
        let mut p = pack(
            &inst,
            vec![open(&inst, 0, &[0]), open(&inst, 1, &[1])],
            &[2],
        );
        let before = format!("{p:?}");
        repair(
            &inst,
            &[0, 1, 2],
            &mut p,
            &mut inv,
            &mut Budget::new(1_000_000, None),
        );
        assert_eq!(format!("{p:?}"), before);
    }

    #[test]
    fn repair_takes_a_free_node_when_the_pool_is_full() {
        let m = instance(2, &[("x", 10, ""), ("y", 10, "")]);
        let inst = Instance::new(&m);
        let mut inv = Inventory::full(&inst);
        inv.claim(&inst, 0);
        let mut p = pack(&inst, vec![open(&inst, 0, &[0])], &[1]);
        repair(
            &inst,
            &[0, 1],
            &mut p,
            &mut inv,
            &mut Budget::new(1_000_000, None),
        );
        assert!(p.shortfalls.is_empty());
        assert_eq!(p.nodes.len(), 2);
        assert_eq!(inv.available(inst.node_type[1], inst.node_zone[1]), 0);
    }

    #[test]
    fn a_repair_that_takes_nodes_settles_the_rules_they_meet() {
        // The build found no node for x: minNodesPerPool and headroom unmet. The repair takes
        // one node for x, which meets minNodesPerPool but not headroom (nodeFailures 1).
        let m = model(&[
            &crate::testing::policy("headroom: {nodeFailures: 1}"),
            &workload("x", "sensitivity: public, resources: {cpu: 6}"),
            &node("n0", "", "allocatable: {cpu: 10}"),
        ]);
        let inst = Instance::new(&m);
        let mut inv = Inventory::full(&inst);
        let mut p = pack(&inst, Vec::new(), &[0]);
        p.unmet.push(("headroom", String::new()));
        p.unmet.push(("minNodesPerPool", String::new()));
        repair(
            &inst,
            &[0],
            &mut p,
            &mut inv,
            &mut Budget::new(1_000_000, None),
        );
        assert!(p.shortfalls.is_empty());
        assert_eq!(p.nodes.len(), 1);
        let rules: Vec<&str> = p.unmet.iter().map(|(r, _)| *r).collect();
        assert_eq!(rules, ["headroom"]);
    }

    #[test]
    fn a_pool_short_of_headroom_takes_free_nodes_all_or_nothing() {
        // nodeFailures 1: x (6) on one node of 10 needs a second node to survive a loss.
        let m = model(&[
            &crate::testing::policy("headroom: {nodeFailures: 1}"),
            &workload("x", "sensitivity: public, resources: {cpu: 6}"),
            &node("n0", "", "allocatable: {cpu: 10}"),
            &node("n1", "", "allocatable: {cpu: 10}"),
        ]);
        let inst = Instance::new(&m);
        let short = |inst: &Instance| {
            let mut p = pack(inst, vec![open(inst, 0, &[0])], &[]);
            p.unmet.push(("headroom", String::new()));
            p
        };
        let mut inv = Inventory::full(&inst);
        inv.claim(&inst, 0);
        let mut p = short(&inst);
        meet_pool_rules(
            &inst,
            &[0],
            &mut p,
            &mut inv,
            &mut Budget::new(1_000_000, None),
        );
        assert!(p.unmet.is_empty());
        assert_eq!(p.nodes.len(), 2);
        assert_eq!(p.cost, 2 * inst.types[0].cost);
        // With n1 taken by another pool, nothing changes and nothing is taken.
        let mut inv = Inventory::full(&inst);
        inv.claim(&inst, 0);
        inv.claim(&inst, 1);
        let mut p = short(&inst);
        meet_pool_rules(
            &inst,
            &[0],
            &mut p,
            &mut inv,
            &mut Budget::new(1_000_000, None),
        );
        assert_eq!(p.unmet.len(), 1);
        assert_eq!(p.nodes.len(), 1);
    }

    /// n0 = {a 3, b 3, c 4} is full; x (4) and y (2) are pending, y with `y_anti`.
    fn full_node_and_two_pending(y_anti: &str) -> Model {
        instance(
            1,
            &[
                ("a", 3, ""),
                ("b", 3, ""),
                ("c", 4, ""),
                ("x", 4, ""),
                ("y", 2, y_anti),
            ],
        )
    }

    #[test]
    fn a_swap_trades_two_pending_replicas_for_two_lighter_residents() {
        // x and y fit in n0 only together, in place of a and b: 4² + 2² > 3² + 3², and as
        // many replicas stay pending. Neither x nor y alone makes such a trade: x for a or b
        // overflows, x for c gains nothing.
        let m = full_node_and_two_pending("");
        let inst = Instance::new(&m);
        let p = pack(&inst, vec![open(&inst, 0, &[0, 1, 2])], &[3, 4]);
        let workloads = [0, 1, 2, 3, 4];
        let mut s = Search::new(&inst, &workloads, &p, 0);
        let pick = s.pending.iter().position(|&w| w == 3).unwrap();
        assert!(s.swap(pick, &[0], 10, &mut Budget::new(1_000_000, None)));
        let mut pending = s.pending.clone();
        pending.sort_unstable();
        assert_eq!(pending, [0, 1]);
        let mut hosted: Vec<usize> = s.nodes[0].hosted.iter().map(|&(w, _)| w).collect();
        hosted.sort_unstable();
        assert_eq!(hosted, [2, 3, 4]);
        let mut after = p.clone();
        after.nodes = s.nodes.clone();
        assert!(valid(&inst, &after), "{after:?}");
        // x may not leave n0 at once, nor a come back.
        assert!(s.is_tabu(0, 3, true) && s.is_tabu(0, 0, false));
    }

    #[test]
    fn a_swap_keeps_antiaffinity() {
        // As above, but y conflicts with c: the only gaining trade is not allowed.
        let m = full_node_and_two_pending("c");
        let inst = Instance::new(&m);
        let p = pack(&inst, vec![open(&inst, 0, &[0, 1, 2])], &[3, 4]);
        let workloads = [0, 1, 2, 3, 4];
        let mut s = Search::new(&inst, &workloads, &p, 0);
        let pick = s.pending.iter().position(|&w| w == 3).unwrap();
        assert!(!s.swap(pick, &[0], 10, &mut Budget::new(1_000_000, None)));
        assert_eq!(s.nodes[0].hosted.len(), 3);
        assert_eq!(s.pending.len(), 2);
        assert!(s.log.is_empty());
    }

    #[test]
    fn a_refill_fills_a_node_exactly_and_the_reserve_takes_the_rest() {
        // n0 = {a 5, b 2}; x (4) and y (4) are pending, n1 is the (closed) reserve. The
        // heaviest fill of n0 is {b, x, y} (10), which leaves a pending; a then fits on n1.
        let m = instance(2, &[("a", 5, ""), ("b", 2, ""), ("x", 4, ""), ("y", 4, "")]);
        let inst = Instance::new(&m);
        let p = pack(
            &inst,
            vec![open(&inst, 0, &[0, 1]), open(&inst, 1, &[])],
            &[2, 3],
        );
        let workloads = [0, 1, 2, 3];
        let mut s = Search::new(&inst, &workloads, &p, 0);
        s.closed[1] = true;
        s.reserve = vec![1];
        let mut budget = Budget::new(1_000_000, None);
        assert!(s.refill(0, &[0], 10, &mut budget));
        let mut hosted: Vec<usize> = s.nodes[0].hosted.iter().map(|&(w, _)| w).collect();
        hosted.sort_unstable();
        assert_eq!(hosted, [1, 2, 3]);
        assert_eq!(s.pending, [0]);
        // A full node gains nothing from another refill.
        assert!(!s.refill(0, &[0], 10, &mut budget));
        assert!(s.place_in_reserve(&mut budget));
        assert!(s.pending.is_empty());
        assert_eq!(s.nodes[1].hosted, [(0, 1)]);
    }

    #[test]
    fn the_reserve_takes_nothing_unless_everything_fits() {
        // x (6) and y (6) on one reserve node of 10: no, and nothing moves; y conflicting
        // with x on two reserve nodes: yes, one each.
        let m = instance(2, &[("x", 6, ""), ("y", 6, "x")]);
        let inst = Instance::new(&m);
        let p = pack(
            &inst,
            vec![open(&inst, 0, &[]), open(&inst, 1, &[])],
            &[0, 1],
        );
        let workloads = [0, 1];
        let mut s = Search::new(&inst, &workloads, &p, 0);
        let mut budget = Budget::new(1_000_000, None);
        s.reserve = vec![0];
        assert!(!s.place_in_reserve(&mut budget));
        assert_eq!(s.pending.len(), 2);
        assert!(s.log.is_empty());
        s.reserve = vec![0, 1];
        assert!(s.place_in_reserve(&mut budget));
        assert!(s.pending.is_empty());
        assert_eq!(s.nodes[0].hosted.len() + s.nodes[1].hosted.len(), 2);
        assert!(s.nodes.iter().all(|o| o.hosted.len() == 1));
    }

    #[test]
    fn elimination_releases_a_node_first_fit_would_keep() {
        // 5 4 4 3 2 2 on nodes of 10: first-fit decreasing needs 3 nodes, two suffice
        // ({5 3 2} and {4 4 2}).
        let m = instance(
            3,
            &[
                ("a", 5, ""),
                ("b", 4, ""),
                ("c", 4, ""),
                ("d", 3, ""),
                ("e", 2, ""),
                ("f", 2, ""),
            ],
        );
        let inst = Instance::new(&m);
        let mut p = pack(
            &inst,
            vec![
                open(&inst, 0, &[0, 1]),
                open(&inst, 1, &[2, 3, 4]),
                open(&inst, 2, &[5]),
            ],
            &[],
        );
        let mut packs = [p.clone()];
        let all = [vec![0, 1, 2, 3, 4, 5]];
        polish(
            &inst,
            &all,
            &mut packs,
            0,
            &mut Budget::new(1_000_000, None),
        );
        p = packs[0].clone();
        assert_eq!(p.nodes.len(), 2, "{p:?}");
        assert_eq!(p.cost, 2 * inst.types[0].cost);
        assert!(valid(&inst, &p), "{p:?}");
    }

    #[test]
    fn rebalancing_fills_nodes_within_the_rules() {
        // a 5, b 3 (antiAffinity a), c 3, one per node (10, 10 and 12 cpu: two types, as
        // rebalancing needs): a and c end up together (the fullest node), b may not join
        // them, so one node empties.
        let mut docs: Vec<String> = [("a", 5, ""), ("b", 3, ", antiAffinity: [a]"), ("c", 3, "")]
            .iter()
            .map(|(n, cpu, anti)| {
                workload(
                    n,
                    &format!("sensitivity: public, resources: {{cpu: {cpu}}}{anti}"),
                )
            })
            .collect();
        docs.push(node("n0", "", "allocatable: {cpu: 10}"));
        docs.push(node("n1", "", "allocatable: {cpu: 10}"));
        docs.push(node("n2", "", "allocatable: {cpu: 12}"));
        let m = model(&docs.iter().map(String::as_str).collect::<Vec<_>>());
        let inst = Instance::new(&m);
        let p = pack(
            &inst,
            vec![
                open(&inst, 0, &[0]),
                open(&inst, 1, &[1]),
                open(&inst, 2, &[2]),
            ],
            &[],
        );
        let ws = [0, 1, 2];
        let mut s = Search::new(&inst, &ws, &p, 0);
        assert!(s.rebalance(&mut Budget::new(1_000_000, None)) > 0);
        let mut after = p.clone();
        s.finish(&mut after, &mut Inventory::full(&inst));
        let on = |w: usize| after.nodes.iter().position(|o| o.count(w) > 0);
        assert_eq!(on(0), on(2), "{after:?}");
        assert_eq!(
            after.nodes.iter().filter(|o| o.hosted.is_empty()).count(),
            1
        );
        assert!(valid(&inst, &after), "{after:?}");
    }

    #[test]
    fn a_pool_of_small_nodes_trades_them_for_a_free_big_one() {
        // Three 3-cpu replicas, one on each node of 4 cpu: no node can be emptied into the
        // others, but the free node of 12 takes all three.
        let mut docs: Vec<String> = ["a", "b", "c"]
            .iter()
            .map(|n| workload(n, "sensitivity: public, resources: {cpu: 3}"))
            .collect();
        docs.extend((0..3).map(|n| node(&format!("small{n}"), "", "allocatable: {cpu: 4}")));
        docs.push(node("big", "", "allocatable: {cpu: 12}"));
        let m = model(&docs.iter().map(String::as_str).collect::<Vec<_>>());
        let inst = Instance::new(&m);
        let small = |name: &str| m.nodes.iter().position(|n| n.name == name).unwrap();
        let mut packs = [pack(
            &inst,
            vec![
                open(&inst, small("small0"), &[0]),
                open(&inst, small("small1"), &[1]),
                open(&inst, small("small2"), &[2]),
            ],
            &[],
        )];
        polish(
            &inst,
            &[vec![0, 1, 2]],
            &mut packs,
            0,
            &mut Budget::new(1_000_000, None),
        );
        let p = &packs[0];
        assert_eq!(p.nodes.len(), 1, "{p:?}");
        assert_eq!(m.nodes[p.nodes[0].node].name, "big");
        assert!(valid(&inst, p), "{p:?}");
    }
}
