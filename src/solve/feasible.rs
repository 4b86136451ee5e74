//! A complete search for a valid plan: the fallback when the heuristics leave replicas
//! unplaced or pool rules unmet on an instance past `exact`'s sizes but still moderate.
//!
//! Owns one decision procedure that settles everything at once, depth first: workload by
//! workload, which pool its class joins (a compatible existing one or a new one), then how
//! many of its replicas go on each node of that pool or on free nodes the pool takes; as soon
//! as no class left can join a pool, which free nodes it adds for minNodesPerPool and
//! headroom (so the classes after it see only the free nodes left).
//! Nothing is left to a heuristic, so when the search ends without a plan none exists; the
//! first plan found is then improved on cost for as long as the budget lasts.
//!
//! Symmetry is broken where nodes are interchangeable: free nodes of one type and zone are
//! taken lowest index first, and such nodes (or pool nodes in identical states) get
//! non-increasing replica counts. Pruning (`promising`): room and zones left for each
//! workload, node counts and capacity per class and per pair of classes that cannot share
//! nodes, minNodesPerPool and headroom with every node a pool could still take, and the
//! nodes all pools need together for them (the nodes past each pool's K largest cover its
//! demand). Bounded by work units (and the deadline); cut short before finding a plan it
//! changes nothing.
//! Catalog mode is out of scope: its supply is materialised, not given.

use super::instance::Instance;
use super::pack::{Open, PoolPack};
use super::rules::{self, Tally};
use super::Budget;
use std::collections::HashMap;

/// Instances at most this large are searched; past them a miss of the heuristics stands.
/// A work unit costs about (workloads × nodes) operations, so these keep a search that
/// exhausts its budget near half a second in release builds (measured on generated
/// instances: 14 nodes and 58 replicas 0.1–0.3 s, 20 nodes and 124 replicas 0.2–0.6 s; at
/// 40 nodes and 340 replicas it took 2–7 s). Node sets are bit masks: at most 64 nodes.
pub const MAX_NODES: usize = 24;
pub const MAX_CLASSES: usize = 10;
pub const MAX_REPLICAS: u64 = 128;
/// Work units (search steps) per search. On the generated instances measured, the first
/// plan took under 1,000 on most, but 575,519 on tests/data/more-capacity/headroom-7; the
/// rest of the budget goes to proving that none exists.
pub const WORK_LIMIT: u64 = 2_000_000;
/// Work units spent looking for cheaper plans once one is found: feasibility is the point.
const IMPROVE_LIMIT: u64 = 20_000;
/// Dead ends kept per state: each later visit compares its free nodes with all of them.
const DEAD_ENDS: usize = 1024;
/// Classes without a pool grouped every possible way when counting the nodes they need:
/// 3^6 steps per count at most.
const GROUPINGS: usize = 6;

/// How a search ended.
pub enum Outcome {
    /// The cheapest plan found: groups of classes and their packed pools, all rules met.
    Found(Vec<Vec<usize>>, Vec<PoolPack>),
    /// The search finished without a plan: none exists.
    Infeasible,
    /// The budget ran out before any plan was found; nothing is proven.
    OutOfBudget,
}

pub fn applies(inst: &Instance) -> bool {
    inst.types.iter().all(|t| t.catalog.is_none())
        && inst.model.nodes.len() <= MAX_NODES
        && inst.model.total_replicas() <= MAX_REPLICAS
        && inst.graph.classes.len() <= MAX_CLASSES
}

pub fn search(inst: &Instance, budget: &mut Budget) -> Outcome {
    let model = inst.model;
    let nw = model.workloads.len();
    let mut class_of = vec![0; nw];
    for (c, class) in inst.graph.classes.iter().enumerate() {
        for &w in &class.workloads {
            class_of[w] = c;
        }
    }
    // A node whose allocatable is below the overhead breaks capacity even when empty.
    let usable = |n: usize| {
        model.nodes[n]
            .allocatable
            .iter()
            .zip(&model.policy.node_overhead)
            .all(|(a, &o)| a.is_none_or(|a| a >= o))
    };
    let usable: Vec<bool> = (0..model.nodes.len()).map(usable).collect();
    let mut groups: Vec<Group> = Vec::new();
    for (t, ty) in inst.types.iter().enumerate() {
        for (z, nodes) in ty.nodes_by_zone.iter().enumerate() {
            // Descending, so that `pop` takes the lowest index.
            let free: Vec<usize> = nodes.iter().rev().copied().filter(|&n| usable[n]).collect();
            if !free.is_empty() {
                groups.push(Group {
                    ty: t,
                    zone: z,
                    free,
                });
            }
        }
    }
    let mut s = Search {
        inst,
        budget,
        stopped: false,
        order: search_order(inst, &class_of),
        class_of,
        pool_of: vec![None; inst.graph.classes.len()],
        pools: Vec::new(),
        owner: vec![None; model.nodes.len()],
        load: vec![vec![0; model.resources.len()]; model.nodes.len()],
        count: vec![vec![0; nw]; model.nodes.len()],
        groups,
        usable,
        class_demand: inst
            .graph
            .classes
            .iter()
            .map(|c| inst.demand(c.workloads.iter().copied()))
            .collect(),
        class_types: inst
            .graph
            .classes
            .iter()
            .map(|c| {
                let mut types = vec![false; inst.types.len()];
                for &w in &c.workloads {
                    for &t in &inst.workloads[w].eligible {
                        types[t] = true;
                    }
                }
                types
            })
            .collect(),
        cost: 0,
        best: None,
        improving: IMPROVE_LIMIT,
        dead_ends: HashMap::new(),
    };
    s.close(0);
    match s.best {
        Some((_, groups, packs)) => Outcome::Found(groups, packs),
        None if s.stopped => Outcome::OutOfBudget,
        None => Outcome::Infeasible,
    }
}

/// Classes whose workloads are hardest to place first, each class's workloads together
/// (its pool is chosen at its first workload): fewest eligible nodes first, then spread
/// rules, then larger replicas.
fn search_order(inst: &Instance, class_of: &[usize]) -> Vec<usize> {
    let model = inst.model;
    let key = |w: usize| {
        let m = &model.workloads[w];
        let spread = m.max_per_node.is_some()
            || !m.anti_affinity.is_empty()
            || !m.co_location.is_empty()
            || !inst.workloads[w].capped_by.is_empty()
            || inst.workloads[w].zones_needed > 0;
        let eligible: usize = inst.workloads[w]
            .eligible
            .iter()
            .map(|&t| inst.types[t].count())
            .sum();
        // Shares are in [0, 1]: their bits order like the floats.
        let size = std::cmp::Reverse(inst.dominant_share(w).to_bits());
        (eligible, !spread, size, w)
    };
    let mut classes: Vec<(_, usize)> = inst
        .graph
        .classes
        .iter()
        .enumerate()
        .map(|(c, class)| (class.workloads.iter().map(|&w| key(w)).min(), c))
        .collect();
    classes.sort_unstable();
    let mut order = Vec::with_capacity(model.workloads.len());
    for (_, c) in classes {
        let mut ws: Vec<usize> = (0..model.workloads.len())
            .filter(|&w| class_of[w] == c)
            .collect();
        ws.sort_unstable_by_key(|&w| key(w));
        order.extend(ws);
    }
    order
}

/// Free nodes of one type in one zone slot, descending.
struct Group {
    ty: usize,
    zone: usize,
    free: Vec<usize>,
}

struct Pool {
    classes: Vec<usize>,
    nodes: Vec<usize>,
    /// Closed (no workload left can join it) and given the nodes its pool rules need.
    covered: bool,
}

/// A place for replicas of the workload being distributed: pool node `node`, or when that
/// is `None` the next free node of `group` (unused otherwise). `run`: interchangeable with
/// the previous candidate, so it gets at most as many replicas.
struct Cand {
    node: Option<usize>,
    group: usize,
    zone: usize,
    room: u32,
    run: bool,
}

/// The candidates of one workload, with what is left of them from each position on.
struct Dist {
    w: usize,
    pool: usize,
    cands: Vec<Cand>,
    /// Σ room of `cands[k..]`.
    room_from: Vec<u64>,
    /// Distinct real zones of `cands[k..]`.
    zones_from: Vec<Vec<usize>>,
}

struct Search<'a, 'm> {
    inst: &'a Instance<'m>,
    budget: &'a mut Budget,
    stopped: bool,
    order: Vec<usize>,
    class_of: Vec<usize>,
    pool_of: Vec<Option<usize>>,
    pools: Vec<Pool>,
    owner: Vec<Option<usize>>,
    load: Vec<Vec<u64>>,
    /// Per node, replicas of each workload.
    count: Vec<Vec<u32>>,
    groups: Vec<Group>,
    /// Nodes a pool may take at all (see `search`).
    usable: Vec<bool>,
    /// Per class, the total requests of its replicas.
    class_demand: Vec<Vec<u128>>,
    /// Per class and node type, whether the type can host one of its replicas.
    class_types: Vec<Vec<bool>>,
    cost: u64,
    best: Option<(u64, Vec<Vec<usize>>, Vec<PoolPack>)>,
    /// Work left for improving on `best`.
    improving: u64,
    /// Per state of the search (`open_state`), sets of free nodes (bit masks) from which it
    /// found no plan: none exists from them, nor from their subsets. Kept only before the
    /// first plan, when no cost bound cuts the search short.
    dead_ends: HashMap<Vec<u32>, Vec<u64>>,
}

impl Search<'_, '_> {
    /// Spends one unit; true when the search must stop.
    fn tick(&mut self) -> bool {
        if !self.stopped {
            self.budget.spend(1);
            self.improving = self
                .improving
                .saturating_sub(u64::from(self.best.is_some()));
            self.stopped = self.budget.exhausted() || self.improving == 0;
        }
        self.stopped
    }

    /// Whether `cost` cannot beat the plan already found.
    fn beaten(&self, cost: u64) -> bool {
        self.best.as_ref().is_some_and(|(b, ..)| cost >= *b)
    }

    /// Places the workload at position `i` of the order, and everything after it.
    fn workload(&mut self, i: usize) {
        let Some(&w) = self.order.get(i) else {
            self.record();
            return;
        };
        let c = self.class_of[w];
        if self.pool_of[c].is_some() {
            self.distribute(i);
            return;
        }
        // The class joins a pool of classes it is compatible with, or opens its own.
        for p in 0..self.pools.len() {
            if self.stopped {
                return;
            }
            if self.pools[p]
                .classes
                .iter()
                .all(|&x| self.inst.graph.compatible[x][c])
            {
                self.pool_of[c] = Some(p);
                self.pools[p].classes.push(c);
                if self.promising(i) {
                    self.distribute(i);
                }
                self.pools[p].classes.pop();
            }
        }
        self.pool_of[c] = Some(self.pools.len());
        self.pools.push(Pool {
            classes: vec![c],
            nodes: Vec::new(),
            covered: false,
        });
        if self.promising(i) {
            self.distribute(i);
        }
        self.pools.pop();
        self.pool_of[c] = None;
    }

    /// How many more replicas of `w` node `n` takes, by every per-node rule (at most its
    /// replicas).
    fn room(&self, w: usize, n: usize) -> u32 {
        let node = Tally {
            ty: self.inst.node_type[n],
            load: &self.load[n],
            ws: None,
            counts: &self.count[n],
        };
        rules::room(self.inst, &node, w).min(self.inst.model.workloads[w].replicas)
    }

    /// Whether classes `a` and `b` must end in different pools, so on disjoint nodes.
    fn apart(&self, a: usize, b: usize) -> bool {
        let compatible = &self.inst.graph.compatible;
        match (self.pool_of[a], self.pool_of[b]) {
            (Some(p), Some(q)) => p != q,
            (Some(p), None) => self.pools[p].classes.iter().any(|&x| !compatible[x][b]),
            (None, Some(q)) => self.pools[q].classes.iter().any(|&x| !compatible[x][a]),
            (None, None) => !compatible[a][b],
        }
    }

    /// Necessary conditions for placing the workloads from position `i` on. Each workload
    /// has room for its replicas in enough zones. Each class fits, by node count and per
    /// resource, on the nodes it can still reach (its pool's, or free ones); so does every
    /// two classes that need disjoint nodes, on the union of theirs. There are free nodes
    /// enough for minNodesPerPool, each pool can meet its pool rules, and per resource the
    /// demand fits (see below).
    fn promising(&mut self, i: usize) -> bool {
        if self.tick() {
            return false;
        }
        let inst = self.inst;
        let model = inst.model;
        let nres = model.resources.len();
        // Room per node and resource: what is left on pool nodes, all of a free node.
        let avail: Vec<Vec<u64>> = (0..model.nodes.len())
            .map(|n| {
                let cap = &inst.types[inst.node_type[n]].cap;
                match self.owner[n] {
                    Some(_) => cap.iter().zip(&self.load[n]).map(|(c, l)| c - l).collect(),
                    None if self.usable[n] => cap.clone(),
                    None => vec![0; nres],
                }
            })
            .collect();
        let Some(outlook) = self.outlook(i) else {
            return false;
        };
        self.classes_fit(&outlook, &avail)
            && self.node_counts_suffice()
            && self.resources_suffice(&outlook, &avail)
    }

    /// What the workloads from position `i` on still need, per class; `None` when one of
    /// them has not room enough for its replicas, or in enough zones, on the nodes it can
    /// reach.
    fn outlook(&self, i: usize) -> Option<Outlook> {
        let inst = self.inst;
        let model = inst.model;
        let nres = model.resources.len();
        let real_zones = inst.zones.len();
        let classes = inst.graph.classes.len();
        let mut reach = vec![0u64; classes];
        let mut need = vec![0usize; classes];
        let mut demand = vec![vec![0u128; nres]; classes];
        let mut left = vec![false; classes];
        let mut pool_demand = vec![vec![0u128; nres]; self.pools.len()];
        let mut free_demand = vec![0u128; nres];
        for &w in &self.order[i..] {
            let m = &model.workloads[w];
            let c = self.class_of[w];
            left[c] = true;
            let allowed = |p: usize| match self.pool_of[c] {
                Some(q) => p == q,
                None => self.pools[p]
                    .classes
                    .iter()
                    .all(|&x| inst.graph.compatible[x][c]),
            };
            let mut rooms: Vec<u32> = Vec::new();
            let mut zones: Vec<usize> = Vec::new();
            for n in 0..model.nodes.len() {
                let reachable = match self.owner[n] {
                    Some(p) => allowed(p),
                    None => self.usable[n],
                };
                let r = if reachable { self.room(w, n) } else { 0 };
                if r > 0 {
                    rooms.push(r);
                    reach[c] |= 1 << n;
                    let z = inst.node_zone[n];
                    if z < real_zones && !zones.contains(&z) {
                        zones.push(z);
                    }
                }
            }
            let zones_needed = inst.workloads[w].zones_needed as usize;
            if !rules::enough_zones(inst, w, zones.len()) {
                return None;
            }
            // The fewest nodes that hold its replicas: the roomiest first.
            rooms.sort_unstable_by(|a, b| b.cmp(a));
            let mut placed = 0u32;
            let mut nodes = 0;
            for &r in &rooms {
                if placed >= m.replicas {
                    break;
                }
                placed += r;
                nodes += 1;
            }
            if placed < m.replicas {
                return None;
            }
            need[c] = need[c].max(nodes).max(zones_needed);
            let target = match self.pool_of[c] {
                Some(p) => &mut pool_demand[p],
                None => &mut free_demand,
            };
            for ((d, t), q) in demand[c].iter_mut().zip(target.iter_mut()).zip(&m.requests) {
                let total = u128::from(*q) * u128::from(m.replicas);
                *d += total;
                *t += total;
            }
        }
        Some(Outlook {
            reach,
            need,
            demand,
            left,
            pool_demand,
            free_demand,
        })
    }

    /// Each class with workloads left fits, by node count and per resource, on the nodes it
    /// can reach; so does every two classes that need disjoint nodes, on the union of theirs.
    fn classes_fit(&self, o: &Outlook, avail: &[Vec<u64>]) -> bool {
        let model = self.inst.model;
        let nres = model.resources.len();
        let (reach, need, demand, left) = (&o.reach, &o.need, &o.demand, &o.left);
        let classes = left.len();
        let fits = |mask: u64, need: usize, demand: &[u128]| {
            mask.count_ones() as usize >= need
                && (0..nres).all(|r| {
                    demand[r] == 0
                        || (0..model.nodes.len())
                            .filter(|n| mask & (1 << n) != 0)
                            .map(|n| u128::from(avail[n][r]))
                            .sum::<u128>()
                            >= demand[r]
                })
        };
        for a in (0..classes).filter(|&a| left[a]) {
            if !fits(reach[a], need[a], &demand[a]) {
                return false;
            }
            for b in (a + 1..classes).filter(|&b| left[b] && self.apart(a, b)) {
                let both: Vec<u128> = demand[a]
                    .iter()
                    .zip(&demand[b])
                    .map(|(x, y)| x + y)
                    .collect();
                if !fits(reach[a] | reach[b], need[a] + need[b], &both) {
                    return false;
                }
            }
        }
        true
    }

    /// Whether the free nodes can make up the nodes every pool, and the classes that can join
    /// none, need for minNodesPerPool and headroom.
    fn node_counts_suffice(&self) -> bool {
        let inst = self.inst;
        let model = inst.model;
        let classes = inst.graph.classes.len();
        // Node counts. Each pool ends with at least minNodesPerPool nodes and, with headroom
        // for K failures, enough that the nodes past its K largest cover its demand, from its
        // own and the free ones it may take (so it can meet its pool rules at all). Classes
        // that can join no pool open new ones among themselves: they need the fewest nodes
        // over every way of grouping them. Free nodes must make up what all of them lack.
        let free: Vec<usize> = (0..model.nodes.len())
            .filter(|&n| self.owner[n].is_none() && self.usable[n])
            .collect();
        let mut short = 0usize;
        for p in 0..self.pools.len() {
            let own = &self.pools[p].nodes;
            let classes = &self.pools[p].classes;
            match self.nodes_needed(classes, own, &free) {
                Some(n) => short += n.saturating_sub(own.len()),
                None => return false,
            }
        }
        let homeless: Vec<usize> = (0..classes)
            .filter(|&c| {
                self.pool_of[c].is_none()
                    && !self
                        .pools
                        .iter()
                        .any(|p| p.classes.iter().all(|&x| inst.graph.compatible[x][c]))
            })
            .collect();
        match self.new_pools_need(&homeless, &free) {
            Some(n) => short += n,
            None => return false,
        }
        short <= free.len()
    }

    /// Per resource, the demand fits on what pools have left and the free nodes.
    fn resources_suffice(&self, o: &Outlook, avail: &[Vec<u64>]) -> bool {
        let model = self.inst.model;
        let pool_demand = &o.pool_demand;
        let free_demand = &o.free_demand;
        // Per resource: what pools cannot hold on their own nodes takes free nodes; classes
        // without a pool yet take free nodes or what pools they may join have to spare.
        (0..model.resources.len()).all(|r| {
            let (mut over, mut spare) = (0u128, 0u128);
            for (p, demand) in pool_demand.iter().enumerate() {
                let room: u128 = self.pools[p]
                    .nodes
                    .iter()
                    .map(|&n| u128::from(avail[n][r]))
                    .sum();
                over += demand[r].saturating_sub(room);
                spare += room.saturating_sub(demand[r]);
            }
            let free: u128 = (0..model.nodes.len())
                .filter(|&n| self.owner[n].is_none())
                .map(|n| u128::from(avail[n][r]))
                .sum();
            over <= free && over + free_demand[r] <= free + spare
        })
    }

    /// Distributes the replicas of the workload at position `i` over its pool's nodes and
    /// free nodes, then goes on with the next workload.
    fn distribute(&mut self, i: usize) {
        let inst = self.inst;
        let w = self.order[i];
        let pool = self.pool_of[self.class_of[w]].expect("the class has a pool");
        let replicas = inst.model.workloads[w].replicas;
        let mut cands: Vec<Cand> = Vec::new();
        // Pool nodes, those in identical states next to each other.
        let mut nodes: Vec<(usize, usize, &[u32], usize)> = self.pools[pool]
            .nodes
            .iter()
            .map(|&n| {
                (
                    inst.node_type[n],
                    inst.node_zone[n],
                    self.count[n].as_slice(),
                    n,
                )
            })
            .collect();
        nodes.sort_unstable();
        for (k, &(ty, zone, count, n)) in nodes.iter().enumerate() {
            let room = self.room(w, n);
            if room > 0 {
                let run = k > 0 && {
                    let prev = nodes[k - 1];
                    (prev.0, prev.1, prev.2) == (ty, zone, count)
                        && cands.last().is_some_and(|c| c.node == Some(prev.3))
                };
                cands.push(Cand {
                    node: Some(n),
                    group: 0,
                    zone,
                    room,
                    run,
                });
            }
        }
        // Free nodes, the cheapest per replica they take first.
        let mut fresh: Vec<(u128, usize, u32)> = self
            .groups
            .iter()
            .enumerate()
            .filter_map(|(g, group)| {
                let n = *group.free.last()?;
                let room = self.room(w, n);
                (room > 0).then(|| {
                    let per = u128::from(inst.types[group.ty].cost) * 1_000_000 / u128::from(room);
                    (per, g, room)
                })
            })
            .collect();
        fresh.sort_unstable();
        for (_, g, room) in fresh {
            let group = &self.groups[g];
            for k in 0..group.free.len().min(replicas as usize) {
                cands.push(Cand {
                    node: None,
                    group: g,
                    zone: group.zone,
                    room,
                    run: k > 0,
                });
            }
        }
        let real_zones = inst.zones.len();
        let mut room_from = vec![0u64; cands.len() + 1];
        let mut zones_from = vec![Vec::new(); cands.len() + 1];
        for k in (0..cands.len()).rev() {
            room_from[k] = room_from[k + 1] + u64::from(cands[k].room);
            let mut zones = zones_from[k + 1].clone();
            let z = cands[k].zone;
            if z < real_zones && !zones.contains(&z) {
                zones.push(z);
            }
            zones_from[k] = zones;
        }
        let d = Dist {
            w,
            pool,
            cands,
            room_from,
            zones_from,
        };
        let mut hits = vec![0u32; real_zones + 1];
        self.place(i, &d, 0, replicas, u32::MAX, &mut hits);
    }

    /// Gives candidate `k` on of `d` some of the `left` replicas (at most `prev` when it is
    /// interchangeable with the previous candidate); `hits` counts the workload's nodes per
    /// zone slot.
    fn place(&mut self, i: usize, d: &Dist, k: usize, left: u32, prev: u32, hits: &mut [u32]) {
        if self.tick() {
            return;
        }
        let inst = self.inst;
        let real_zones = inst.zones.len();
        let zones_have = hits[..real_zones].iter().filter(|&&h| h > 0).count();
        let zones_missing = (inst.workloads[d.w].zones_needed as usize).saturating_sub(zones_have);
        if left == 0 {
            if zones_missing == 0 {
                self.close(i + 1);
            }
            return;
        }
        if d.room_from[k] < u64::from(left) || zones_missing > left as usize {
            return;
        }
        if zones_missing > 0
            && d.zones_from[k].iter().filter(|&&z| hits[z] == 0).count() < zones_missing
        {
            return;
        }
        let cand = &d.cands[k];
        let max = cand
            .room
            .min(left)
            .min(if cand.run { prev } else { u32::MAX });
        let req = &inst.model.workloads[d.w].requests;
        for x in (1..=max).rev() {
            let n = match cand.node {
                Some(n) => n,
                None => {
                    let ty = &inst.types[self.groups[cand.group].ty];
                    if self.beaten(self.cost + ty.cost) {
                        break;
                    }
                    let n = self.groups[cand.group].free.pop().expect("a free node");
                    self.owner[n] = Some(d.pool);
                    self.pools[d.pool].nodes.push(n);
                    self.cost += ty.cost;
                    n
                }
            };
            self.count[n][d.w] += x;
            for (l, q) in self.load[n].iter_mut().zip(req) {
                *l += q * u64::from(x);
            }
            hits[cand.zone] += 1;
            self.place(i, d, k + 1, left - x, x, hits);
            hits[cand.zone] -= 1;
            self.count[n][d.w] -= x;
            for (l, q) in self.load[n].iter_mut().zip(req) {
                *l -= q * u64::from(x);
            }
            if cand.node.is_none() {
                self.owner[n] = None;
                self.pools[d.pool].nodes.pop();
                self.groups[cand.group].free.push(n);
                self.cost -= inst.types[self.groups[cand.group].ty].cost;
            }
            if self.stopped {
                return;
            }
        }
        // None here: the candidates interchangeable with this one get none either.
        let next = (k + 1..d.cands.len())
            .find(|&j| !d.cands[j].run)
            .unwrap_or(d.cands.len());
        self.place(i, d, next, left, 0, hits);
    }

    /// Whether pool `p` with the extra nodes `added` meets minNodesPerPool and headroom.
    fn pool_rules_hold(&self, p: usize, added: &[usize]) -> bool {
        let inst = self.inst;
        let nodes = || self.pools[p].nodes.iter().chain(added);
        rules::pool_rules_hold(
            inst,
            &self.demand(&self.pools[p].classes),
            nodes().map(|&n| inst.node_type[n]),
        )
    }

    /// The total requests of the replicas of `classes`.
    fn demand(&self, classes: &[usize]) -> Vec<u128> {
        let mut demand = vec![0u128; self.inst.model.resources.len()];
        for &c in classes {
            for (d, x) in demand.iter_mut().zip(&self.class_demand[c]) {
                *d += x;
            }
        }
        demand
    }

    /// The fewest free nodes that new pools for `classes` take, over every way of grouping
    /// them into pools of classes that may share (past `GROUPINGS` classes, a lower bound:
    /// classes no two of which may share each open a pool). `None` when no grouping fits.
    fn new_pools_need(&self, classes: &[usize], free: &[usize]) -> Option<usize> {
        let compatible = &self.inst.graph.compatible;
        let model = self.inst.model;
        if model.policy.node_failures == 0 && model.policy.min_nodes_per_pool == 0 {
            return Some(0);
        }
        if classes.len() > GROUPINGS {
            let mut apart: Vec<usize> = Vec::new();
            for &c in classes {
                if apart.iter().all(|&x| !compatible[x][c]) {
                    apart.push(c);
                }
            }
            return apart
                .iter()
                .map(|&c| self.nodes_needed(&[c], &[], free))
                .sum();
        }
        // Over subsets as bit masks: `pool[s]` the nodes one pool of the classes in `s` needs
        // (`None`: they may not share or do not fit), `best[s]` the fewest for all of them.
        let m = classes.len();
        let members = |s: usize| (0..m).filter(move |&j| s & 1 << j != 0).map(|j| classes[j]);
        let pool: Vec<Option<usize>> = (0..1usize << m)
            .map(|s| {
                let group: Vec<usize> = members(s).collect();
                let share = group
                    .iter()
                    .enumerate()
                    .all(|(j, &a)| group[j + 1..].iter().all(|&b| compatible[a][b]));
                share
                    .then(|| self.nodes_needed(&group, &[], free))
                    .flatten()
            })
            .collect();
        let mut best: Vec<Option<usize>> = vec![None; 1 << m];
        best[0] = Some(0);
        for s in 1..1usize << m {
            // The pool of the lowest class in `s`, with any of the others.
            let low = s & s.wrapping_neg();
            let rest = s ^ low;
            let mut sub = rest;
            loop {
                let group = sub | low;
                if let (Some(a), Some(b)) = (pool[group], best[s ^ group]) {
                    best[s] = Some(best[s].map_or(a + b, |x| x.min(a + b)));
                }
                if sub == 0 {
                    break;
                }
                sub = (sub - 1) & rest;
            }
        }
        best[(1 << m) - 1]
    }

    /// Classes without a pool, other than `classes`, that may share one with all of them.
    fn may_join<'s>(&'s self, classes: &'s [usize]) -> impl Iterator<Item = usize> + 's {
        let compatible = &self.inst.graph.compatible;
        (0..self.pool_of.len()).filter(move |&c| {
            self.pool_of[c].is_none()
                && !classes.contains(&c)
                && classes.iter().all(|&x| compatible[x][c])
        })
    }

    /// The fewest nodes a pool of `classes` that holds `own` ends with, by minNodesPerPool
    /// and headroom (its nodes less the K largest cover its demand), when it may take any of
    /// `free` of a type that one of its classes, or of those that may still join it, can use.
    /// `None` when even all of them fall short.
    fn nodes_needed(&self, classes: &[usize], own: &[usize], free: &[usize]) -> Option<usize> {
        let inst = self.inst;
        let model = inst.model;
        let k = model.policy.node_failures as usize;
        let members: Vec<usize> = classes
            .iter()
            .copied()
            .chain(self.may_join(classes))
            .collect();
        let nodes: Vec<usize> = own
            .iter()
            .chain(free.iter().filter(|&&n| {
                members
                    .iter()
                    .any(|&c| self.class_types[c][inst.node_type[n]])
            }))
            .copied()
            .collect();
        let mut most = model.policy.min_nodes_per_pool as usize;
        if k > 0 {
            for (r, &d) in self
                .demand(classes)
                .iter()
                .enumerate()
                .filter(|(_, &d)| d > 0)
            {
                let mut caps: Vec<u64> = nodes
                    .iter()
                    .map(|&n| inst.types[inst.node_type[n]].cap[r])
                    .collect();
                caps.sort_unstable_by(|a, b| b.cmp(a));
                // Of any m nodes, those past the K largest hold at most what the (K+1)-th
                // to m-th largest of all hold.
                let mut sum = 0u128;
                let covering = caps.iter().skip(k).position(|&c| {
                    sum += u128::from(c);
                    sum >= d
                })?;
                most = most.max(k + covering + 1);
            }
        }
        (most <= nodes.len()).then_some(most)
    }

    /// Whether no workload from position `i` on can end in pool `p`: its classes are placed
    /// and no class left can join it.
    fn closed(&self, p: usize, i: usize) -> bool {
        self.order[i..].iter().all(|&w| {
            let c = self.class_of[w];
            match self.pool_of[c] {
                Some(q) => q != p,
                None => self.pools[p]
                    .classes
                    .iter()
                    .any(|&x| !self.inst.graph.compatible[x][c]),
            }
        })
    }

    /// Once the workloads before position `i` are placed: each pool that has just closed
    /// takes free nodes until it meets its pool rules, trying every minimal set of them (more
    /// nodes never break a pool rule, so a plan with more has one with a minimal set too);
    /// later classes then see only the free nodes left. Then the workload at `i`.
    fn close(&mut self, i: usize) {
        if let Some(p) =
            (0..self.pools.len()).find(|&p| !self.pools[p].covered && self.closed(p, i))
        {
            // Free nodes of types that can host a replica of the pool: only those may join
            // it. By zone too, which later pools' minZones may care about.
            let groups: Vec<usize> = (0..self.groups.len())
                .filter(|&g| {
                    let ty = self.groups[g].ty;
                    self.pools[p]
                        .classes
                        .iter()
                        .any(|&c| self.class_types[c][ty])
                })
                .collect();
            self.pools[p].covered = true;
            self.extend(p, &groups, 0, &mut Vec::new(), i);
            self.pools[p].covered = false;
        } else {
            // What is left depends on the position, the pools still open and the free nodes.
            let key = self.open_state(i);
            let free = (0..self.owner.len())
                .filter(|&n| self.owner[n].is_none() && self.usable[n])
                .fold(0u64, |mask, n| mask | 1 << n);
            if let Some(dead) = self.dead_ends.get(&key) {
                if dead.iter().any(|&d| free & !d == 0) {
                    return;
                }
            }
            if self.promising(i) {
                self.workload(i);
            }
            if self.best.is_none() && !self.stopped {
                let dead = self.dead_ends.entry(key).or_default();
                if dead.len() < DEAD_ENDS {
                    dead.push(free);
                }
            }
        }
    }

    /// Position `i` and the pools still open (their classes, and their nodes with the
    /// replicas on each): with the free nodes, all the search from `i` on depends on.
    fn open_state(&self, i: usize) -> Vec<u32> {
        let mut key = vec![i as u32];
        for pool in self.pools.iter().filter(|p| !p.covered) {
            key.push(u32::MAX);
            key.extend(pool.classes.iter().map(|&c| c as u32));
            for &n in &pool.nodes {
                key.push(u32::MAX - 1);
                key.push(n as u32);
                key.extend(&self.count[n]);
            }
        }
        key
    }

    /// Adds free nodes of the groups `groups[g..]` to pool `p`, one at a time, until its
    /// rules hold; then goes on closing pools from workload `i`.
    fn extend(&mut self, p: usize, groups: &[usize], g: usize, added: &mut Vec<usize>, i: usize) {
        if self.tick() {
            return;
        }
        if self.pool_rules_hold(p, added) {
            // Minimal: without any one of the added nodes the rules fail.
            let minimal = (0..added.len()).all(|j| {
                let mut fewer = added.clone();
                fewer.remove(j);
                !self.pool_rules_hold(p, &fewer)
            });
            if minimal {
                self.take(p, added, true);
                self.close(i);
                self.take(p, added, false);
            }
            return;
        }
        // Not even every node left would do.
        let mut all = added.clone();
        all.extend(groups[g..].iter().flat_map(|&x| &self.groups[x].free));
        if !self.pool_rules_hold(p, &all) {
            return;
        }
        let group = groups[g];
        let ty = &self.inst.types[self.groups[group].ty];
        let extra: u64 = added
            .iter()
            .map(|&n| self.inst.types[self.inst.node_type[n]].cost)
            .sum();
        if !self.groups[group].free.is_empty() && !self.beaten(self.cost + extra + ty.cost) {
            let n = self.groups[group].free.pop().expect("a free node");
            added.push(n);
            self.extend(p, groups, g, added, i);
            added.pop();
            self.groups[group].free.push(n);
            if self.stopped {
                return;
            }
        }
        if g + 1 < groups.len() {
            self.extend(p, groups, g + 1, added, i);
        }
    }

    /// Makes the nodes `added` (already out of the free groups) nodes of pool `p`, or undoes
    /// that.
    fn take(&mut self, p: usize, added: &[usize], take: bool) {
        for &n in added {
            let cost = self.inst.types[self.inst.node_type[n]].cost;
            if take {
                self.owner[n] = Some(p);
                self.pools[p].nodes.push(n);
                self.cost += cost;
            } else {
                self.owner[n] = None;
                self.pools[p].nodes.pop();
                self.cost -= cost;
            }
        }
    }

    /// Keeps the plan of the current state if it is the cheapest so far.
    fn record(&mut self) {
        if self.beaten(self.cost) {
            return;
        }
        let inst = self.inst;
        let mut groups = Vec::new();
        let mut packs = Vec::new();
        for pool in &self.pools {
            let mut classes = pool.classes.clone();
            classes.sort_unstable();
            groups.push(classes);
            let nodes: Vec<Open> = pool
                .nodes
                .iter()
                .map(|&n| Open {
                    node: n,
                    ty: inst.node_type[n],
                    zone: inst.node_zone[n],
                    load: self.load[n].clone(),
                    hosted: self.count[n]
                        .iter()
                        .enumerate()
                        .filter(|(_, &k)| k > 0)
                        .map(|(w, &k)| (w, k))
                        .collect(),
                })
                .collect();
            let cost = nodes.iter().map(|o| inst.types[o.ty].cost).sum();
            packs.push(PoolPack {
                nodes,
                shortfalls: Vec::new(),
                unmet: Vec::new(),
                cost,
            });
        }
        self.best = Some((self.cost, groups, packs));
    }
}

/// What the workloads still to place need, per class (see `Search::outlook`).
struct Outlook {
    /// Nodes (bit mask) the class can still use.
    reach: Vec<u64>,
    /// Nodes it needs at least.
    need: Vec<usize>,
    /// Its demand per resource.
    demand: Vec<Vec<u128>>,
    /// Whether it has workloads left.
    left: Vec<bool>,
    /// Demand of the classes in each pool, per resource.
    pool_demand: Vec<Vec<u128>>,
    /// Demand of the classes in no pool yet, per resource.
    free_demand: Vec<u128>,
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::{exact, solve, to_plan, Bound, SolveOptions};
    use super::*;
    use crate::check::check;
    use crate::model::Model;
    use crate::plan::{Plan, Status};
    use crate::testing::{model, node, policy, workload};
    use rand::{Rng, SeedableRng};
    use std::time::Duration;

    fn reproducer() -> Model {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/more-capacity/min-zones/after.yaml");
        crate::model::build_from_paths(&[path]).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The plan document of a search result.
    pub(in crate::solve) fn plan_of(
        inst: &Instance,
        groups: &[Vec<usize>],
        packs: &[PoolPack],
    ) -> Plan {
        let bound = Bound {
            micros: Some(0),
            separated_classes: 0,
        };
        to_plan(inst, groups, packs, &bound, &[], None).0
    }

    #[test]
    fn it_finds_a_plan_where_the_heuristics_fail() {
        let m = reproducer();
        let heuristics = SolveOptions {
            exhaustive: false,
            ..SolveOptions::default()
        };
        assert_eq!(solve(&m, &heuristics).plan.status, Status::Infeasible);
        let inst = Instance::new(&m);
        assert!(applies(&inst));
        let Outcome::Found(groups, packs) = search(&inst, &mut Budget::new(WORK_LIMIT, None))
        else {
            panic!("the reproducer has a plan");
        };
        let report = check(&m, &plan_of(&inst, &groups, &packs));
        assert!(report.is_valid(), "{report}");
        let plan = solve(&m, &SolveOptions::default()).plan;
        assert!(check(&m, &plan).is_valid(), "{}", check(&m, &plan));
    }

    #[test]
    fn out_of_budget_it_proves_nothing_and_changes_nothing() {
        let m = reproducer();
        let inst = Instance::new(&m);
        assert!(matches!(
            search(&inst, &mut Budget::new(3, None)),
            Outcome::OutOfBudget
        ));
        // A deadline already past stops it before its first step: the heuristics' plan.
        let cut = |exhaustive| SolveOptions {
            time_limit: Some(Duration::ZERO),
            exhaustive,
            ..SolveOptions::default()
        };
        assert_eq!(
            solve(&m, &cut(true)).plan.to_json(),
            solve(&m, &cut(false)).plan.to_json()
        );
    }

    /// Three pools with headroom for one failure need two nodes each: five nodes are too
    /// few, which the node count proves before any replica is placed.
    #[test]
    fn headroom_node_counts_prove_infeasibility_before_placing() {
        let mut docs = vec![policy("headroom: {nodeFailures: 1}")];
        for (i, level) in ["public", "internal", "confidential"].iter().enumerate() {
            let spec = format!("sensitivity: {level}, replicas: 1, resources: {{cpu: 1}}");
            docs.push(workload(&format!("w{i}"), &spec));
        }
        docs.extend((0..5).map(|i| node(&format!("n{i}"), "", "")));
        let docs: Vec<&str> = docs.iter().map(String::as_str).collect();
        let m = model(&docs);
        let inst = Instance::new(&m);
        assert!(matches!(
            search(&inst, &mut Budget::new(2, None)),
            Outcome::Infeasible
        ));
    }

    /// A random instance small enough for `exact`, with every rule the search honours.
    pub(in crate::solve) fn tiny(seed: u64) -> Model {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut docs = Vec::new();
        let mut spec = vec![format!(
            "headroom: {{nodeFailures: {}}}, minNodesPerPool: {}",
            u32::from(rng.gen_bool(0.3)),
            rng.gen_range(1..=2)
        )];
        if rng.gen_bool(0.5) {
            spec.push("shareWhen: [{sensitivity: [public, internal]}]".to_string());
        }
        docs.push(policy(&spec.join(", ")));
        let workloads = rng.gen_range(1..=4);
        for i in 0..workloads {
            let level = ["public", "internal", "confidential"][rng.gen_range(0..3)];
            let cpu = ["250m", "500m", "1", "2"][rng.gen_range(0..4)];
            let mut spec = format!(
                "sensitivity: {level}, replicas: {}, resources: {{cpu: {cpu}}}",
                rng.gen_range(1..=3)
            );
            if rng.gen_bool(0.3) {
                spec += &format!(", maxPerNode: {}", rng.gen_range(1..=2));
            }
            if rng.gen_bool(0.25) {
                spec += ", minZones: 2";
            }
            if rng.gen_bool(0.15) {
                spec += ", nodeSelector: {disk: ssd}";
            }
            if i > 0 && rng.gen_bool(0.2) {
                spec += &format!(", antiAffinity: [w{}]", i - 1);
            }
            if i > 0 && rng.gen_bool(0.2) {
                spec += &format!(
                    ", coLocation: [{{workload: w{}, max: {}}}]",
                    i - 1,
                    rng.gen_range(0..=1)
                );
            }
            docs.push(workload(&format!("w{i}"), &spec));
        }
        for i in 0..rng.gen_range(3..=8) {
            let labels = if rng.gen_bool(0.3) { "disk: ssd" } else { "" };
            let mut spec = format!(
                "allocatable: {{cpu: {}}}, cost: {}",
                rng.gen_range(1..=4),
                rng.gen_range(1..=3)
            );
            if rng.gen_bool(0.8) {
                spec += &format!(", zone: {}", ["x", "y", "z"][rng.gen_range(0..3)]);
            }
            docs.push(node(&format!("n{i}"), labels, &spec));
        }
        let docs: Vec<&str> = docs.iter().map(String::as_str).collect();
        model(&docs)
    }

    /// On instances `exact` decides, both searches agree on whether a plan exists, and
    /// every plan this one finds passes the checker.
    #[test]
    fn it_agrees_with_the_exhaustive_search_and_its_plans_are_valid() {
        let (mut found, mut infeasible) = (0, 0);
        for seed in 0..1000 {
            let m = tiny(seed);
            let inst = Instance::new(&m);
            if !exact::applies(&inst) {
                continue;
            }
            let outcome = search(&inst, &mut Budget::new(WORK_LIMIT, None));
            match (exact::search(&inst), outcome) {
                (Some(exact::Exact::Optimal(_, best)), Outcome::Found(groups, packs)) => {
                    let report = check(&m, &plan_of(&inst, &groups, &packs));
                    assert!(report.is_valid(), "seed {seed}: {report}");
                    let cost = |p: &[PoolPack]| p.iter().map(|x| x.cost).sum::<u64>();
                    assert!(cost(&packs) >= cost(&best), "seed {seed}");
                    found += 1;
                }
                (Some(exact::Exact::Infeasible), Outcome::Infeasible) => infeasible += 1,
                (None, _) => {}
                (_, outcome) => panic!(
                    "seed {seed}: the searches disagree ({})",
                    match outcome {
                        Outcome::Found(..) => "found a plan",
                        Outcome::Infeasible => "infeasible",
                        Outcome::OutOfBudget => "out of budget",
                    }
                ),
            }
        }
        assert!(
            found > 20 && infeasible > 5,
            "{found} found, {infeasible} infeasible"
        );
    }
}
