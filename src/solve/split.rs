//! Exact search over pools of whole nodes, for plans of few pools: a lower bound that sees
//! whole pools, and the plan that meets it when one exists.
//!
//! Every valid plan splits the classes into pools of pairwise compatible classes (a class is
//! never split), and each pool is a multiset of nodes, within each type's limit, that hosts
//! the pool's replicas by every per-node rule and meets the pool rules: headroom over its K
//! largest nodes, minNodesPerPool, and minZones, here relaxed to "replicas on that many
//! distinct nodes" since a multiset of types does not say which zone each node is in.
//!
//! For each pool some split can form, the *minimal* such multisets of up to [`MAX_NODES`]
//! nodes are listed level by level (by node count), each checked by an exact packing search.
//! Adding a node never breaks a valid pool, so every valid pool contains a listed multiset
//! or has more nodes than were listed, and those cost at least the cheapest multiset of that
//! many nodes meeting the pool's capacity rules (`bound::cheapest_pool_exact`). The bound is
//! the cheapest choice of one multiset per pool, the types' limits shared among the pools,
//! over every split: the plan's own cost problem with only the zones relaxed. That proves
//! optimal the small plans that the LP bounds leave with a gap, where a pool of 2–5 nodes
//! cannot have the cheapest types in fractions.
//!
//! The cheapest choice is then *realised*: zones are chosen for its nodes from the
//! inventory, pool by pool, and each pool packed again with its real zones. When that
//! succeeds, the plan costs exactly the bound, so it is optimal. Not beside a catalog, where
//! existing nodes must be used before any is bought: there the search only bounds.
//!
//! Everything is counted in work steps, so the outcome never depends on machine speed; past
//! the limit, or past the deadline, nothing is claimed. A packing search that runs out of
//! steps counts its multiset as valid, which can only lower the bound (and realises nothing).

use super::bound::cheapest_pool_exact;
use super::instance::{Instance, Inventory};
use super::pack::{pool_types, PoolPack};
use super::rules::{self, Tally};
use std::collections::HashMap;
use std::time::Instant;

/// Classes with replicas beyond which the search is not tried: splits grow as Bell numbers.
const MAX_CLASSES: usize = 16;
/// Splits of the classes into pools tried at most.
const MAX_SPLITS: usize = 1_024;
/// Nodes per pool up to which multisets are listed.
const MAX_NODES: u32 = 12;
/// Work steps in all: multisets listed, packing steps, choices made.
const WORK_LIMIT: u64 = 10_000_000;
/// Multisets one level may hold; past it that size and larger ones are priced, not listed.
const LEVEL_LIMIT: u128 = 200_000;
/// Steps one packing search may take.
const PACK_STEPS: u64 = 20_000;

/// What the search proved, and the plan that meets it.
pub struct Outcome {
    /// A proven lower bound on the cost of every valid plan, in millionths (an exact sum of
    /// node costs), at most the cap the search was given.
    pub bound: u64,
    /// A valid plan costing `bound`, as groups of classes and their packed pools, when the
    /// bound is under the cap and its choice could be given zones.
    pub plan: Option<(Vec<Vec<usize>>, Vec<PoolPack>)>,
}

/// A split into groups of classes and, per group, the listed multiset chosen (`None`: a
/// pool larger than listed).
type Choice = (Vec<Vec<usize>>, Vec<Option<usize>>);

/// What a pool of some classes can be made of.
struct Options {
    /// The pool's workloads, ascending.
    ws: Vec<usize>,
    /// Node types the pool may hold (eligible for one of its workloads), ascending.
    types: Vec<usize>,
    /// The minimal valid multisets listed, as (cost, nodes per type of `types`), cheapest
    /// first.
    minimal: Vec<(u64, Vec<u32>)>,
    /// What any valid pool containing no listed multiset costs at least (it has more nodes
    /// than were listed); `None` when that reaches the cap.
    beyond: Option<u64>,
}

/// Steps left, and the deadline.
struct Work {
    left: u64,
    deadline: Option<Instant>,
}

impl Options {
    /// The least any valid pool of these classes costs (`None`: none under the cap).
    fn cheapest(&self) -> Option<u64> {
        let listed = self.minimal.first().map(|m| m.0);
        listed.into_iter().chain(self.beyond).min()
    }
}

impl Work {
    /// Spends `n` steps; false once none are left (the deadline, checked every 4,096 steps,
    /// takes them all).
    fn spend(&mut self, n: u64) -> bool {
        let before = self.left;
        self.left = self.left.saturating_sub(n);
        if before / 4_096 != self.left / 4_096 && self.deadline.is_some_and(|d| Instant::now() >= d)
        {
            self.left = 0;
        }
        self.left > 0
    }
}

/// The search, for a plan in hand costing `cap` (no bound can pass it, and nothing dearer
/// is worth realising). `None` when it is not tried (too many classes or splits) or runs
/// out of work.
pub fn search(inst: &Instance, cap: u64, deadline: Option<Instant>) -> Option<Outcome> {
    // Classes and the workloads a plan must place; a class with none needs no pool.
    let active: Vec<(usize, Vec<usize>)> = inst
        .graph
        .classes
        .iter()
        .enumerate()
        .map(|(c, class)| {
            let ws: Vec<usize> = class
                .workloads
                .iter()
                .copied()
                .filter(|&w| {
                    inst.model.workloads[w].replicas > 0 && !inst.workloads[w].eligible.is_empty()
                })
                .collect();
            (c, ws)
        })
        .filter(|(_, ws)| !ws.is_empty())
        .collect();
    if active.is_empty() || active.len() > MAX_CLASSES {
        return None;
    }
    let ids: Vec<usize> = active.iter().map(|c| c.0).collect();
    let mut splits = Vec::new();
    if !split(inst, &ids, 0, &mut Vec::new(), &mut splits) {
        return None;
    }
    let workloads_of = |group: &[usize]| -> Vec<usize> {
        let mut ws: Vec<usize> = group
            .iter()
            .flat_map(|c| &active[ids.binary_search(c).expect("an active class")].1)
            .copied()
            .collect();
        ws.sort_unstable();
        ws
    };
    let mut work = Work {
        left: WORK_LIMIT,
        deadline,
    };
    let mut memo: HashMap<Vec<usize>, Options> = HashMap::new();
    let mut best = cap;
    // The cheapest choice so far: its split and, per group, a listed multiset (or none).
    let mut best_choice: Option<Choice> = None;
    let mut prices = vec![0.0; inst.types.len()];
    let mut first = true;
    for groups in &splits {
        for g in groups {
            if !memo.contains_key(g) {
                let options = pool_options(inst, workloads_of(g), cap, &mut work)?;
                memo.insert(g.clone(), options);
            }
        }
        // Dearest pools first: their choices prune the most.
        let mut groups = groups.clone();
        groups.sort_by_key(|g| std::cmp::Reverse(memo[g].cheapest()));
        let pools: Vec<&Options> = groups.iter().map(|g| &memo[g]).collect();
        let mut choose = Choose {
            inst,
            pools: &pools,
            used: vec![0; inst.types.len()],
            picked: vec![None; pools.len()],
            best,
            best_picked: None,
            prices,
            work: &mut work,
        };
        // Splits differ in a few pools: the last split's prices are a good start.
        choose.choose_prices(if first {
            PRICE_ROUNDS
        } else {
            PRICE_ROUNDS / 4
        });
        first = false;
        choose.go(0, 0);
        let (found, picked) = (choose.best, choose.best_picked);
        prices = choose.prices;
        if work.left == 0 {
            return None;
        }
        if let Some(picked) = picked {
            best = found;
            best_choice = Some((groups, picked));
        }
    }
    // Beside a catalog, existing nodes must be used before any is bought, a rule the choice
    // does not know: there it only bounds.
    let mixed = inst.types.iter().any(|t| t.catalog.is_none())
        && inst.types.iter().any(|t| t.catalog.is_some());
    let plan = match best_choice {
        Some((groups, picked)) if !mixed && picked.iter().all(Option::is_some) => {
            let pools: Vec<(&Options, &[u32])> = groups
                .iter()
                .zip(&picked)
                .map(|(g, p)| {
                    let options = &memo[g];
                    (options, options.minimal[p.expect("listed")].1.as_slice())
                })
                .collect();
            realise(inst, &pools, &mut work).map(|packs| (groups, packs))
        }
        _ => None,
    };
    Some(Outcome { bound: best, plan })
}

/// Every split of `classes[i..]` into groups of pairwise compatible classes, added to the
/// `groups` made of `classes[..i]`; false past [`MAX_SPLITS`].
fn split(
    inst: &Instance,
    classes: &[usize],
    i: usize,
    groups: &mut Vec<Vec<usize>>,
    out: &mut Vec<Vec<Vec<usize>>>,
) -> bool {
    if i == classes.len() {
        out.push(groups.clone());
        return out.len() <= MAX_SPLITS;
    }
    let c = classes[i];
    for g in 0..groups.len() {
        if groups[g].iter().all(|&d| inst.graph.compatible[c][d]) {
            groups[g].push(c);
            let more = split(inst, classes, i + 1, groups, out);
            groups[g].pop();
            if !more {
                return false;
            }
        }
    }
    groups.push(vec![c]);
    let more = split(inst, classes, i + 1, groups, out);
    groups.pop();
    more
}

/// The cheapest choice of one multiset per pool within the types' limits, below `best`.
struct Choose<'a, 'm> {
    inst: &'a Instance<'m>,
    pools: &'a [&'a Options],
    /// Nodes of each type chosen so far.
    used: Vec<usize>,
    /// Per pool: the listed multiset chosen, or `None` for a larger pool.
    picked: Vec<Option<usize>>,
    best: u64,
    best_picked: Option<Vec<Option<usize>>>,
    /// Prices of the limited types' nodes (Lagrange multipliers of the limits; 0 for the
    /// unlimited): with any prices, what pools `i..` cost at cost plus price, less the
    /// price of the nodes left, bounds what they cost within the limits.
    prices: Vec<f64>,
    work: &'a mut Work,
}

/// Rounds of subgradient steps that choose the prices.
const PRICE_ROUNDS: usize = 60;

impl Choose<'_, '_> {
    /// Nodes of type `t` still free.
    fn left(&self, t: usize) -> Option<usize> {
        self.inst.types[t].limit.map(|l| l - self.used[t])
    }

    /// The Lagrangian bound on what pools `i..` cost within the nodes left, at `prices`; and
    /// with `chosen`, each pool's cheapest option at those prices (its counts per type).
    fn lagrangian(&mut self, i: usize, prices: &[f64], mut chosen: Option<&mut Vec<f64>>) -> f64 {
        let mut total = 0.0;
        for pool in &self.pools[i..] {
            let mut cheapest = pool.beyond.map_or(f64::INFINITY, |b| b as f64);
            let mut arg = None;
            for (k, (c, counts)) in pool.minimal.iter().enumerate() {
                let priced = *c as f64
                    + pool
                        .types
                        .iter()
                        .zip(counts)
                        .map(|(&t, &n)| prices[t] * f64::from(n))
                        .sum::<f64>();
                if priced < cheapest {
                    (cheapest, arg) = (priced, Some(k));
                }
            }
            self.work.spend(pool.minimal.len() as u64);
            total += cheapest;
            if let (Some(g), Some(k)) = (chosen.as_deref_mut(), arg) {
                for (&t, &n) in pool.types.iter().zip(&pool.minimal[k].1) {
                    g[t] += f64::from(n);
                }
            }
        }
        let held: f64 = (0..self.inst.types.len())
            .filter_map(|t| self.left(t).map(|l| prices[t] * l as f64))
            .sum();
        total - held
    }

    /// Prices that make the Lagrangian bound at the root high: `rounds` subgradient steps
    /// from the prices held (Polyak's rule towards the best known cost), keeping the best
    /// prices met.
    fn choose_prices(&mut self, rounds: usize) {
        let n = self.inst.types.len();
        let mut prices = self.prices.clone();
        let mut best = f64::NEG_INFINITY;
        let mut scale = 1.0;
        for _ in 0..rounds {
            let mut demand = vec![0.0; n];
            let value = self.lagrangian(0, &prices, Some(&mut demand));
            if !value.is_finite() {
                return;
            }
            if value > best {
                best = value;
                self.prices.clone_from(&prices);
            } else {
                scale /= 2.0;
            }
            // Over-used limits raise their price, unused ones lower it.
            let slope: Vec<f64> = (0..n)
                .map(|t| self.left(t).map_or(0.0, |l| demand[t] - l as f64))
                .collect();
            let norm: f64 = slope.iter().map(|g| g * g).sum();
            if norm == 0.0 || self.best as f64 <= value {
                return;
            }
            let step = scale * (self.best as f64 - value) / norm;
            for t in 0..n {
                prices[t] = (prices[t] + step * slope[t]).max(0.0);
            }
        }
    }

    fn fits(&self, pool: &Options, counts: &[u32]) -> bool {
        pool.types
            .iter()
            .zip(counts)
            .all(|(&t, &n)| self.used[t] + n as usize <= self.inst.types[t].limit_or_max())
    }

    /// The least pools `i..` cost, each alone within the nodes left (`None`: one cannot).
    fn rest(&mut self, i: usize) -> Option<u64> {
        let mut total = 0;
        for pool in &self.pools[i..] {
            let mut scanned = 0;
            let listed = pool
                .minimal
                .iter()
                .inspect(|_| scanned += 1)
                .find(|(_, counts)| self.fits(pool, counts))
                .map(|m| m.0);
            self.work.spend(scanned);
            total += match (listed, pool.beyond) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b)?,
            };
        }
        Some(total)
    }

    fn go(&mut self, i: usize, cost: u64) {
        if !self.work.spend(1) {
            return;
        }
        if i == self.pools.len() {
            if cost >= self.best {
                return;
            }
            self.best = cost;
            self.best_picked = Some(self.picked.clone());
            return;
        }
        match self.rest(i) {
            Some(rest) if cost + rest < self.best => {}
            _ => return,
        }
        let prices = std::mem::take(&mut self.prices);
        let lagrangian = self.lagrangian(i, &prices, None);
        self.prices = prices;
        // A margin for rounding: the bound only prunes.
        if cost as f64 + lagrangian * (1.0 - 1e-9) - 1.0 >= self.best as f64 {
            return;
        }
        let pool = self.pools[i];
        // Cheapest at the prices first: the first choices are then those of the Lagrangian
        // bound, which are often the optimum.
        let mut order: Vec<(f64, usize)> = pool
            .minimal
            .iter()
            .enumerate()
            .filter(|(_, (c, counts))| cost + c < self.best && self.fits(pool, counts))
            .map(|(k, (c, counts))| {
                let price: f64 = pool
                    .types
                    .iter()
                    .zip(counts)
                    .map(|(&t, &n)| self.prices[t] * f64::from(n))
                    .sum();
                (*c as f64 + price, k)
            })
            .collect();
        self.work.spend(pool.minimal.len() as u64);
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (_, k) in order {
            let (c, counts) = &pool.minimal[k];
            if cost + c >= self.best {
                continue;
            }
            for (&t, &n) in pool.types.iter().zip(counts) {
                self.used[t] += n as usize;
            }
            self.picked[i] = Some(k);
            self.go(i + 1, cost + c);
            for (&t, &n) in pool.types.iter().zip(counts) {
                self.used[t] -= n as usize;
            }
        }
        // A pool larger than listed is priced, not supplied: a relaxation.
        if let Some(b) = pool.beyond {
            self.picked[i] = None;
            self.go(i + 1, cost + b);
        }
    }
}

/// The minimal valid multisets for a pool holding `ws` (ascending), level by level, and what
/// larger pools cost; `None` when the work runs out.
fn pool_options(inst: &Instance, ws: Vec<usize>, cap: u64, work: &mut Work) -> Option<Options> {
    let types = pool_types(inst, &ws);
    let mut options = Options {
        minimal: Vec::new(),
        beyond: None,
        types,
        ws,
    };
    let Some(min_cost) = options.types.iter().map(|&t| inst.types[t].cost).min() else {
        return Some(options);
    };
    let limits: Vec<u32> = options
        .types
        .iter()
        .map(|&t| inst.types[t].limit_or_max().min(MAX_NODES as usize) as u32)
        .collect();
    let demand = inst.demand(options.ws.iter().copied());
    let mut packer = Packer::new(inst, &options.ws);
    let mut counts = vec![0u32; options.types.len()];
    // The first size not listed.
    let mut unlisted = MAX_NODES + 1;
    for n in 1..=MAX_NODES {
        if u64::from(n) * min_cost >= cap {
            unlisted = n;
            break;
        }
        // Many node types make a level too large to list: the sizes from there on are
        // priced instead.
        if multisets(options.types.len(), n) > LEVEL_LIMIT {
            unlisted = n;
            break;
        }
        let mut level = Level {
            inst,
            types: &options.types,
            limits: &limits,
            demand: &demand,
            packer: &mut packer,
            found: Vec::new(),
            minimal: &options.minimal,
            work,
        };
        if !level.go(&mut counts, 0, n) {
            return None;
        }
        let found = level.found;
        options.minimal.extend(found);
    }
    options.minimal.sort();
    // Where larger pools would be the cheapest option, price them by the capacity they need
    // too, not only by their node count.
    let listed = options.minimal.first().map_or(u64::MAX, |m| m.0);
    let mut beyond = u64::from(unlisted) * min_cost;
    if beyond < listed.min(cap) {
        let more = cheapest_pool_exact(inst, &options.ws, &options.types, u64::from(unlisted));
        beyond = beyond.max(more.unwrap_or(0));
    }
    options.beyond = (beyond < cap).then_some(beyond);
    Some(options)
}

/// Lists the multisets of one size that are valid pools and contain no smaller valid one.
struct Level<'a, 'p, 'm> {
    inst: &'a Instance<'m>,
    types: &'a [usize],
    limits: &'a [u32],
    demand: &'a [u128],
    packer: &'a mut Packer<'m, 'p>,
    found: Vec<(u64, Vec<u32>)>,
    /// Those of the smaller sizes.
    minimal: &'a [(u64, Vec<u32>)],
    work: &'a mut Work,
}

impl Level<'_, '_, '_> {
    /// Fills `counts[i..]` with `left` nodes in every way; false when the work runs out.
    fn go(&mut self, counts: &mut [u32], i: usize, left: u32) -> bool {
        // Every visit costs a step, not only the multisets judged: with many node types most
        // of the visits end without one.
        if !self.work.spend(1) {
            return false;
        }
        if i + 1 == counts.len() {
            if left > self.limits[i] {
                return true;
            }
            counts[i] = left;
            let done = self.judge(counts);
            counts[i] = 0;
            return done;
        }
        for c in (0..=left.min(self.limits[i])).rev() {
            counts[i] = c;
            if !self.go(counts, i + 1, left - c) {
                counts[i] = 0;
                return false;
            }
        }
        counts[i] = 0;
        true
    }

    fn judge(&mut self, counts: &[u32]) -> bool {
        let contains = |m: &(u64, Vec<u32>)| m.1.iter().zip(counts).all(|(a, b)| a <= b);
        if self.minimal.iter().any(contains) {
            return true;
        }
        let nodes: Vec<(usize, Option<usize>)> = self
            .types
            .iter()
            .zip(counts)
            .flat_map(|(&t, &c)| std::iter::repeat_n((t, None), c as usize))
            .collect();
        if !rules::pool_rules_hold(self.inst, self.demand, nodes.iter().map(|n| n.0)) {
            return true;
        }
        let packed = self.packer.packs(&nodes, false);
        if !self.work.spend(self.packer.steps) {
            return false;
        }
        // A search cut short proves nothing: the multiset counts as valid.
        if packed.is_some() || self.packer.steps > PACK_STEPS {
            let cost = nodes.iter().map(|n| self.inst.types[n.0].cost).sum();
            self.found.push((cost, counts.to_vec()));
        }
        true
    }
}

/// Gives the chosen multisets zones from the inventory, pool by pool, and packs each with
/// its real zones: the packed pools, or `None` when no choice of zones works within the
/// work left.
fn realise(
    inst: &Instance,
    pools: &[(&Options, &[u32])],
    work: &mut Work,
) -> Option<Vec<PoolPack>> {
    let zones = inst.zones.len() + 1;
    let inv = Inventory::full(inst);
    let mut avail: Vec<Vec<usize>> = (0..inst.types.len())
        .map(|t| (0..zones).map(|z| inv.available(t, z)).collect())
        .collect();
    let mut hostings: Vec<Hosting> = Vec::new();
    let mut zoned = Zoned {
        inst,
        pools,
        avail: &mut avail,
        hostings: &mut hostings,
        work,
    };
    if !zoned.pool(0) {
        return None;
    }
    let mut inv = inv;
    let packs = hostings
        .iter()
        .map(|(nodes, counts, ws)| {
            let hostings = nodes.iter().zip(counts).map(|(&(t, z), counts)| {
                let node = inv.take(t, z).expect("a node counted as available");
                let hosted = ws
                    .iter()
                    .zip(counts)
                    .filter(|(_, &c)| c > 0)
                    .map(|(&w, &c)| (w, c))
                    .collect();
                (node, hosted)
            });
            PoolPack::placed(inst, hostings.collect::<Vec<_>>())
        })
        .collect();
    Some(packs)
}

/// A realised pool: its nodes as (type, zone slot), the replicas per node of each of its
/// workloads, and those workloads.
type Hosting = (Vec<(usize, usize)>, Vec<Vec<u32>>, Vec<usize>);

/// The depth-first choice of zones for each pool's nodes.
struct Zoned<'a, 'b, 'm> {
    inst: &'a Instance<'m>,
    pools: &'a [(&'b Options, &'b [u32])],
    /// Nodes free per type and zone slot.
    avail: &'a mut Vec<Vec<usize>>,
    hostings: &'a mut Vec<Hosting>,
    work: &'a mut Work,
}

impl Zoned<'_, '_, '_> {
    /// Realises pools `p..`.
    fn pool(&mut self, p: usize) -> bool {
        let Some(&(options, counts)) = self.pools.get(p) else {
            return true;
        };
        let wanted: Vec<(usize, u32)> = options
            .types
            .iter()
            .zip(counts)
            .filter(|(_, &c)| c > 0)
            .map(|(&t, &c)| (t, c))
            .collect();
        let mut nodes = Vec::new();
        self.spread(p, &wanted, 0, 0, 0, &mut nodes)
    }

    /// Places the `k`-th wanted type's nodes, from zone slot `z` on with `left` still to
    /// place (the whole count when starting a type), then packs the pool.
    fn spread(
        &mut self,
        p: usize,
        wanted: &[(usize, u32)],
        k: usize,
        z: usize,
        placed: u32,
        nodes: &mut Vec<(usize, usize)>,
    ) -> bool {
        if !self.work.spend(1) {
            return false;
        }
        let Some(&(t, count)) = wanted.get(k) else {
            return self.pack(p, nodes);
        };
        if placed == count {
            return self.spread(p, wanted, k + 1, 0, 0, nodes);
        }
        let zones = self.avail[t].len();
        if z == zones {
            return false;
        }
        // More nodes in this zone first, down to none.
        let most = (count - placed).min(self.avail[t][z] as u32);
        for c in (0..=most).rev() {
            nodes.extend(std::iter::repeat_n((t, z), c as usize));
            self.avail[t][z] -= c as usize;
            let done = self.spread(p, wanted, k, z + 1, placed + c, nodes);
            self.avail[t][z] += c as usize;
            nodes.truncate(nodes.len() - c as usize);
            if done {
                return true;
            }
        }
        false
    }

    fn pack(&mut self, p: usize, nodes: &[(usize, usize)]) -> bool {
        let options = self.pools[p].0;
        let real = self.inst.zones.len();
        let zoned: Vec<(usize, Option<usize>)> = nodes
            .iter()
            .map(|&(t, z)| (t, (z < real).then_some(z)))
            .collect();
        let mut packer = Packer::new(self.inst, &options.ws);
        let packed = packer.packs(&zoned, true);
        if !self.work.spend(packer.steps) {
            return false;
        }
        let Some(counts) = packed else {
            return false;
        };
        // `spread` holds this pool's nodes out of `avail` while the later pools are realised.
        self.hostings
            .push((nodes.to_vec(), counts, options.ws.clone()));
        if self.pool(p + 1) {
            return true;
        }
        self.hostings.pop();
        false
    }
}

/// An exact search for a placement of a pool's replicas on given nodes.
struct Packer<'m, 'a> {
    inst: &'a Instance<'m>,
    /// The pool's workloads, ascending (as [`Tally`] wants them).
    ws: &'a [usize],
    /// Positions in `ws`, in the order placed: largest first.
    order: Vec<usize>,
    /// Per node: its type and real zone (`None`: none, or not known).
    nodes: Vec<(usize, Option<usize>)>,
    /// Whether minZones counts real zones, or (zones unknown) distinct nodes.
    zoned: bool,
    /// Per node: load per resource and replicas per position in `ws`.
    load: Vec<Vec<u64>>,
    counts: Vec<Vec<u32>>,
    /// Requests still to place and capacity still free, per resource.
    unplaced: Vec<u128>,
    free: Vec<u128>,
    steps: u64,
    /// The placement found.
    found: Option<Vec<Vec<u32>>>,
}

impl<'m, 'a> Packer<'m, 'a> {
    fn new(inst: &'a Instance<'m>, ws: &'a [usize]) -> Self {
        let mut order: Vec<usize> = (0..ws.len()).collect();
        order.sort_by(|&a, &b| {
            inst.dominant_share(ws[b])
                .total_cmp(&inst.dominant_share(ws[a]))
                .then(a.cmp(&b))
        });
        Packer {
            inst,
            ws,
            order,
            nodes: Vec::new(),
            zoned: false,
            load: Vec::new(),
            counts: Vec::new(),
            unplaced: Vec::new(),
            free: Vec::new(),
            steps: 0,
            found: None,
        }
    }

    /// A placement of the replicas on these nodes, (type, zone), with minZones counting
    /// real zones when `zoned`, else distinct nodes: replicas per node of each workload;
    /// `None` when there is none or the search ran past [`PACK_STEPS`] (see `steps`).
    fn packs(&mut self, nodes: &[(usize, Option<usize>)], zoned: bool) -> Option<Vec<Vec<u32>>> {
        let nres = self.inst.model.resources.len();
        self.nodes = nodes.to_vec();
        self.zoned = zoned;
        self.load = vec![vec![0; nres]; nodes.len()];
        self.counts = vec![vec![0; self.ws.len()]; nodes.len()];
        self.unplaced = self.inst.demand(self.ws.iter().copied());
        self.free = (0..nres)
            .map(|r| {
                nodes
                    .iter()
                    .map(|&(t, _)| self.inst.types[t].cap[r] as u128)
                    .sum()
            })
            .collect();
        self.steps = 0;
        self.found = None;
        let first = self.inst.model.workloads[self.ws[self.order[0]]].replicas;
        self.place(0, first, 0);
        self.found.take()
    }

    /// Distinct zones (or nodes, see `zoned`) hosting the workload at position `i` of `ws`.
    fn zones(&self, i: usize) -> usize {
        let hosting = (0..self.nodes.len()).filter(|&n| self.counts[n][i] > 0);
        if !self.zoned {
            return hosting.count();
        }
        let mut seen: Vec<usize> = hosting.filter_map(|n| self.nodes[n].1).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    /// Places the `left` replicas still to place of the `k`-th workload in order, on nodes
    /// from `from` on (replicas of one workload are interchangeable, so they go in node
    /// order); true once every replica is placed or the steps run out.
    fn place(&mut self, k: usize, left: u32, from: usize) -> bool {
        self.steps += 1;
        if self.steps > PACK_STEPS {
            return true;
        }
        let i = self.order[k];
        let w = self.ws[i];
        let zones = self.zones(i);
        if left == 0 {
            if !rules::enough_zones(self.inst, w, zones) {
                return false;
            }
            let Some(&next) = self.order.get(k + 1) else {
                self.found = Some(self.counts.clone());
                return true;
            };
            let replicas = self.inst.model.workloads[self.ws[next]].replicas;
            return self.place(k + 1, replicas, 0);
        }
        let need = self.inst.workloads[w].zones_needed as usize;
        if zones + (left as usize) < need
            || self.unplaced.iter().zip(&self.free).any(|(u, f)| u > f)
        {
            return false;
        }
        let req = &self.inst.model.workloads[w].requests;
        let mut tried: Vec<usize> = Vec::new();
        for n in from..self.nodes.len() {
            let host = Tally {
                ty: self.nodes[n].0,
                load: &self.load[n],
                ws: Some(self.ws),
                counts: &self.counts[n],
            };
            if !rules::fits(self.inst, &host, w) {
                continue;
            }
            // Nodes of one type and zone in the same state are interchangeable.
            let same =
                |&m: &usize| self.nodes[m] == self.nodes[n] && self.counts[m] == self.counts[n];
            if tried.iter().any(same) {
                continue;
            }
            tried.push(n);
            self.counts[n][i] += 1;
            for (r, &q) in req.iter().enumerate() {
                self.load[n][r] += q;
                self.unplaced[r] -= q as u128;
                self.free[r] -= q as u128;
            }
            let done = self.place(k, left - 1, n);
            self.counts[n][i] -= 1;
            for (r, &q) in req.iter().enumerate() {
                self.load[n][r] -= q;
                self.unplaced[r] += q as u128;
                self.free[r] += q as u128;
            }
            if done {
                return true;
            }
        }
        false
    }
}

/// Multisets of `n` nodes over `types` types: C(n + types − 1, n), saturating.
fn multisets(types: usize, n: u32) -> u128 {
    (1..=u128::from(n)).fold(1u128, |c, k| c.saturating_mul(types as u128 + k - 1) / k)
}

#[cfg(test)]
mod tests {
    use super::super::exact::{self, Exact};
    use super::super::feasible::tests::{plan_of, tiny};
    use super::*;
    use crate::check::check;

    fn cost(packs: &[PoolPack]) -> u64 {
        packs.iter().map(|p| p.cost).sum()
    }

    /// On random instances that `exact` decides (every rule the planner knows, zones and
    /// limited node types included): the bound never exceeds the optimum, whatever the cap,
    /// and a realised plan passes the checker and costs the bound, so it is optimal.
    #[test]
    fn never_above_the_optimum_and_its_plans_are_valid_and_optimal() {
        let (mut proven, mut realised) = (0, 0);
        for seed in 0..1000 {
            let m = tiny(seed);
            let inst = Instance::new(&m);
            if !exact::applies(&inst) {
                continue;
            }
            let Some(Exact::Optimal(_, best)) = exact::search(&inst) else {
                continue;
            };
            let optimum = cost(&best);
            for cap in [optimum + 1, 4 * optimum + 10] {
                let Some(outcome) = search(&inst, cap, None) else {
                    continue;
                };
                assert!(outcome.bound <= optimum, "seed {seed}, cap {cap}");
                proven += usize::from(outcome.bound == optimum);
                if let Some((groups, packs)) = outcome.plan {
                    let report = check(&m, &plan_of(&inst, &groups, &packs));
                    assert!(report.is_valid(), "seed {seed}: {report}");
                    assert_eq!(cost(&packs), outcome.bound, "seed {seed}");
                    realised += 1;
                }
            }
        }
        assert!(
            proven > 100 && realised > 100,
            "{proven} proven, {realised} realised"
        );
    }

    /// A pool of whole nodes where the LP sees fractions: two pools that each need a node
    /// and a half of the one cheap type (three of them) cannot both have it.
    #[test]
    fn limited_cheap_nodes_are_shared_out_whole() {
        use crate::testing::{model, node, policy, workload};
        let mut docs = vec![policy("headroom: {nodeFailures: 1}")];
        for (i, level) in ["public", "confidential"].iter().enumerate() {
            let spec = format!("sensitivity: {level}, replicas: 3, resources: {{cpu: 1}}");
            docs.push(workload(&format!("w{i}"), &spec));
        }
        for i in 0..3 {
            docs.push(node(
                &format!("cheap{i}"),
                "",
                "allocatable: {cpu: 2}, cost: 1",
            ));
        }
        for i in 0..4 {
            docs.push(node(
                &format!("dear{i}"),
                "",
                "allocatable: {cpu: 2}, cost: 3",
            ));
        }
        let docs: Vec<&str> = docs.iter().map(String::as_str).collect();
        let m = model(&docs);
        let inst = Instance::new(&m);
        // Each pool needs 3 nodes (2 left after losing one must hold 3 cpu): 6 of 7 nodes,
        // the 3 cheap and 3 dear, 12 in all; the pool LP shares the cheap ones in fractions.
        let outcome = search(&inst, 20_000_000, None).expect("small enough");
        assert_eq!(outcome.bound, 12_000_000);
        let (groups, packs) = outcome.plan.expect("realised");
        let report = check(&m, &plan_of(&inst, &groups, &packs));
        assert!(report.is_valid(), "{report}");
        assert_eq!(cost(&packs), 12_000_000);
    }
}
