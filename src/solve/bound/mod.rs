//! A proven lower bound on the cost of any valid plan (linear programming, good_lp).
//!
//! Relaxation: pick classes that are pairwise incompatible (they must sit in distinct pools,
//! so their pools' nodes are disjoint). For each, a group of node-type counts must cover the
//! class's requests on nodes eligible for it, with the pool rules (minNodesPerPool, headroom,
//! maxPerNode, minZones) as counting cuts; one more group holds every other node, and all
//! groups together cover all requests on eligible nodes. Every valid plan gives a solution of
//! this LP with the same cost, so its optimum is a lower bound. Coefficients are capped at the
//! demand (a node cannot contribute more than the whole demand), which tightens the LP.
//!
//! [`lower_bound`] is that LP. When a plan in hand still costs more, two sharper bounds may
//! raise it: [`sharpen`], the pattern LP of [`patterns`] (whole nodes and the per-node
//! rules), and [`whole_nodes`], the same pool LP with integer node counts (a small MIP), since
//! every plan's counts are integers.

mod patterns;

pub use patterns::Pattern;

use super::instance::Instance;
use super::pack::pool_types;
#[cfg(feature = "highs")]
use good_lp::highs as lp_solver;
#[cfg(not(feature = "highs"))]
use good_lp::microlp as lp_solver;
use good_lp::{
    constraint, variable, variables, Constraint, Expression, ResolutionError, Solution,
    SolverModel, Variable,
};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// The whole-node MIP: at most this many variables (node types × groups) and workloads (its
/// cover constraints grow with them), over this many candidate sets, each within this many
/// branch-and-bound nodes (deterministic, unlike time).
const MIP_VARIABLES: usize = 400;
const MIP_WORKLOADS: usize = 200;
const MIP_SETS: usize = 4;
const MIP_NODES: u64 = 2_000;

/// The bound and how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    /// In millionths of the cost unit; `None` when the relaxation itself is infeasible (the
    /// inventory cannot cover the requests even fractionally).
    pub micros: Option<u64>,
    /// Classes that the relaxation keeps in separate groups.
    pub separated_classes: usize,
}

/// A proven lower bound. Past `deadline` no further LP is started; the bound found so far is
/// returned (0, trivially valid, if none was).
pub fn lower_bound(inst: &Instance, deadline: Option<Instant>) -> Bound {
    pool_bound(inst, deadline, false)
}

/// The pool LP over the candidate sets of classes kept apart (see the module docs), with
/// `whole` node counts as a MIP over the first few sets only.
fn pool_bound(inst: &Instance, deadline: Option<Instant>, whole: bool) -> Bound {
    let model = inst.model;
    let k = model.policy.node_failures as u64;
    let placeable: Vec<usize> = (0..model.workloads.len())
        .filter(|&w| !inst.workloads[w].eligible.is_empty())
        .collect();
    // Types that can host anything at all.
    let useful = pool_types(inst, &placeable);
    if useful.is_empty() {
        return Bound {
            micros: Some(0),
            separated_classes: 0,
        };
    }
    let min_cost = useful
        .iter()
        .map(|&t| inst.types[t].cost)
        .min()
        .unwrap_or(0);

    // Per class: its placeable workloads and a standalone node-count need, for choosing.
    let classes: Vec<Vec<usize>> = inst
        .graph
        .classes
        .iter()
        .map(|c| {
            c.workloads
                .iter()
                .copied()
                .filter(|w| !inst.workloads[*w].eligible.is_empty())
                .collect()
        })
        .collect();
    let pool_min = (model.policy.min_nodes_per_pool as u64).max(if k > 0 { k + 1 } else { 0 });
    let weight = class_weights(inst, &classes, pool_min);
    let mut candidates = conflict_sets(inst, &weight);
    candidates.truncate(if whole { MIP_SETS } else { 16 });
    let mut best: Option<(Option<u64>, usize)> = None;
    for set in &candidates {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let Ok(micros) = lp_bound(
            inst, set, &classes, &placeable, &useful, pool_min, min_cost, whole,
        ) else {
            continue;
        };
        let better = match (&best, micros) {
            (None, _) => true,
            // An infeasible relaxation proves that no plan exists at all.
            (Some((Some(b), _)), Some(m)) => m > *b,
            (Some((Some(_), _)), None) => true,
            (Some((None, _)), _) => false,
        };
        if better {
            best = Some((micros, set.len()));
        }
    }
    let (micros, separated_classes) = best.unwrap_or((Some(0), 0));
    Bound {
        micros,
        separated_classes,
    }
}

/// Raises `bound` with the pattern LP, which sees the per-node rules (capacity in whole
/// nodes, antiAffinity, maxPerNode, coLocation, classes apart) that the pool LP does not, for
/// a plan in hand costing `target` whose nodes hold `seeds` (type, [(workload, replicas)]):
/// it stops once the bound reaches that cost.
pub fn sharpen(
    inst: &Instance,
    bound: &mut Bound,
    target: u64,
    seeds: &[patterns::Pattern],
    deadline: Option<Instant>,
) {
    let Some(micros) = bound.micros else {
        return;
    };
    if !worth_sharpening(inst, deadline) {
        return;
    }
    if micros < target {
        if let Some(value) = patterns::pattern_bound(inst, target, seeds, deadline) {
            let all: Vec<usize> = (0..inst.types.len()).collect();
            let min_cost = inst
                .workloads
                .iter()
                .flat_map(|w| w.eligible.iter().map(|&t| inst.types[t].cost))
                .min()
                .unwrap_or(0);
            bound.micros = Some(micros.max(round_up_to_cost_grid(value, inst, &all, min_cost)));
        }
    }
}

/// Whether there is time for a sharper bound and a use for it: catalog mode searches its
/// supply several times, each time with a gap, and the pool LP is its bound.
fn worth_sharpening(inst: &Instance, deadline: Option<Instant>) -> bool {
    deadline.is_none_or(|d| Instant::now() < d) && inst.types.iter().all(|t| t.catalog.is_none())
}

/// Raises `bound` with the pool LP in whole nodes (a MIP, where it is small): limited cheap
/// types cannot be shared out in fractions. `target` is the cost of a plan in hand.
pub fn whole_nodes(inst: &Instance, bound: &mut Bound, target: u64, deadline: Option<Instant>) {
    let Some(mut best) = bound.micros else {
        return;
    };
    if !worth_sharpening(inst, deadline) {
        return;
    }
    if best < target
        && inst.types.len() * (inst.graph.classes.len() + 1) <= MIP_VARIABLES
        && inst.model.workloads.len() <= MIP_WORKLOADS
    {
        // A plan is in hand, so a MIP "proving" none exists only failed.
        if let Some(m) = pool_bound(inst, deadline, true).micros {
            best = best.max(m);
        }
    }
    bound.micros = Some(best);
}

/// Per class (its placeable workloads), the nodes it needs standing alone: by capacity on
/// the largest nodes (plus the K that may fail), by its spread rules, and at least a pool's
/// minimum. The weights that choose which classes the bound keeps apart.
fn class_weights(inst: &Instance, classes: &[Vec<usize>], pool_min: u64) -> Vec<u64> {
    let k = inst.model.policy.node_failures as u64;
    classes
        .iter()
        .map(|ws| {
            if ws.is_empty() {
                return 0;
            }
            let d = inst.demand(ws.iter().copied());
            let by_capacity = (0..inst.model.resources.len())
                .filter(|&r| d[r] > 0)
                .map(|r| ceil_div(d[r], inst.max_cap[r].max(1) as u128) as u64 + k)
                .max()
                .unwrap_or(0);
            let by_count = count_need_of(inst, ws);
            by_capacity.max(by_count).max(pool_min)
        })
        .collect()
}

/// Sets of pairwise incompatible classes to keep apart in the LP. Any such set gives a valid
/// bound: the heaviest, then for each class left out, the set that swaps it in (greedily
/// completed, members of the heaviest and heavy classes first).
fn conflict_sets(inst: &Instance, weight: &[u64]) -> Vec<Vec<usize>> {
    let separated = inst.graph.heaviest_conflict_clique(weight);
    let compatible = &inst.graph.compatible;
    let mut candidates = vec![separated.clone()];
    for u in 0..weight.len() {
        if weight[u] == 0 || separated.contains(&u) {
            continue;
        }
        let mut set: Vec<usize> = vec![u];
        let mut rest: Vec<usize> = (0..weight.len())
            .filter(|&c| c != u && weight[c] > 0)
            .collect();
        rest.sort_by(|&a, &b| {
            separated
                .contains(&b)
                .cmp(&separated.contains(&a))
                .then(weight[b].cmp(&weight[a]))
                .then(a.cmp(&b))
        });
        for c in rest {
            if set.iter().all(|&s| !compatible[s][c]) {
                set.push(c);
            }
        }
        set.sort_unstable();
        if !candidates.contains(&set) {
            candidates.push(set);
        }
    }
    candidates
}

/// The covering constraints of the LP bound over `x` (nodes of each useful type per group).
struct Cover<'a, 'm> {
    inst: &'a Instance<'m>,
    useful: &'a [usize],
    x: &'a [BTreeMap<usize, Variable>],
    constraints: Vec<Constraint>,
}

impl Cover<'_, '_> {
    /// Groups `gs` together hold the replicas of `ws`: per set of types some of them can
    /// use, capacity for their demand and nodes enough for their count rules.
    fn cover(&mut self, gs: &[usize], ws: &[usize]) {
        let (inst, x) = (self.inst, self.x);
        for (set, d, count) in eligibility_needs(inst, ws) {
            let mut count_cut = count;
            for (r, &dr) in d.iter().enumerate() {
                if dr == 0 {
                    continue;
                }
                let max_cap = set.iter().map(|&t| inst.types[t].cap[r]).max().unwrap_or(0);
                count_cut = count_cut.max(ceil_div(dr, max_cap.max(1) as u128) as u64);
                let lhs: Expression = gs
                    .iter()
                    .flat_map(|&g| set.iter().map(move |&t| (g, t)))
                    .map(|(g, t)| coefficient(inst.types[t].cap[r], d[r]) * x[g][&t])
                    .sum();
                self.constraints.push(constraint!(lhs >= 1.0));
            }
            let count: Expression = gs
                .iter()
                .flat_map(|&g| set.iter().map(move |&t| x[g][&t]))
                .sum();
            self.constraints
                .push(constraint!(count >= count_cut as f64));
        }
    }

    /// Group `g`, a pool of its own, keeps headroom for `ws` (K nodes of the smallest useful
    /// type may fail) and at least `pool_min` nodes.
    fn headroom(&mut self, g: usize, ws: &[usize], pool_min: u64) {
        let (inst, x, useful) = (self.inst, self.x, self.useful);
        let k = inst.model.policy.node_failures as u64;
        let d = inst.demand(ws.iter().copied());
        let mut count_cut = pool_min;
        for (r, &dr) in d.iter().enumerate() {
            if dr == 0 {
                continue;
            }
            let min_cap = useful
                .iter()
                .map(|&t| inst.types[t].cap[r])
                .min()
                .unwrap_or(0);
            let need = d[r] + k as u128 * min_cap as u128;
            count_cut = count_cut.max(ceil_div(d[r], inst.max_cap[r].max(1) as u128) as u64 + k);
            let lhs: Expression = useful
                .iter()
                .map(|&t| coefficient(inst.types[t].cap[r], need) * x[g][&t])
                .sum();
            self.constraints.push(constraint!(lhs >= 1.0));
        }
        let count: Expression = useful.iter().map(|&t| x[g][&t]).sum();
        self.constraints
            .push(constraint!(count >= count_cut as f64));
    }

    /// A class outside the separated set runs in the last group or in the group of a
    /// separated class it is compatible with, never elsewhere: those groups together cover
    /// its demand on top of their own classes' demand (each alone, and all such together).
    fn outside(&mut self, separated: &[usize], classes: &[Vec<usize>]) {
        let rest = separated.len();
        let mut outside_all: Vec<usize> = Vec::new();
        let mut groups_all: Vec<usize> = vec![rest];
        for (u, ws) in classes.iter().enumerate() {
            if ws.is_empty() || separated.contains(&u) {
                continue;
            }
            let mut gs = vec![rest];
            let mut served: Vec<usize> = ws.clone();
            for (g, &c) in separated.iter().enumerate() {
                if self.inst.graph.compatible[c][u] {
                    gs.push(g);
                    served.extend(&classes[c]);
                }
            }
            self.cover(&gs, &served);
            outside_all.extend(ws);
            groups_all.extend(gs);
        }
        if !outside_all.is_empty() {
            groups_all.sort_unstable();
            groups_all.dedup();
            for (g, &c) in separated.iter().enumerate() {
                if groups_all.contains(&g) {
                    outside_all.extend(&classes[c]);
                }
            }
            outside_all.sort_unstable();
            outside_all.dedup();
            self.cover(&groups_all, &outside_all);
        }
    }
}

/// The LP of [`cheapest_pool`] over pools whose largest node is of type `largest` (the
/// others among `allowed`): its cost in millionths, `Ok(None)` when the solver proves no
/// such pool exists, `Err` when it fails otherwise.
fn cheapest_with_largest(
    inst: &Instance,
    largest: usize,
    allowed: &[usize],
    total: &[u128],
    needs: &[(Vec<usize>, Vec<u128>, u64)],
    pool_min: f64,
    min_cap: &[u64],
) -> Result<Option<f64>, ()> {
    let k = inst.model.policy.node_failures as u128;
    let mut vars = variables!();
    let n: BTreeMap<usize, Variable> = allowed
        .iter()
        .map(|&t| {
            (
                t,
                match inst.types[t].limit {
                    Some(limit) => vars.add(variable().min(0).max(limit as f64)),
                    None => vars.add(variable().min(0)),
                },
            )
        })
        .collect();
    let objective: Expression = allowed
        .iter()
        .map(|&t| inst.types[t].cost as f64 * 1e-6 * n[&t])
        .sum();
    let mut problem = vars.minimise(objective.clone()).using(lp_solver);
    problem = problem.with(constraint!(n[&largest] >= 1.0));
    let all: Expression = allowed.iter().map(|&t| n[&t]).sum();
    problem = problem.with(constraint!(all >= pool_min));
    for r in 0..total.len() {
        if total[r] == 0 {
            continue;
        }
        let need = total[r] + inst.types[largest].cap[r] as u128 + (k - 1) * min_cap[r] as u128;
        let cap: Expression = allowed
            .iter()
            .map(|&t| coefficient(inst.types[t].cap[r], need) * n[&t])
            .sum();
        problem = problem.with(constraint!(cap >= 1.0));
    }
    for (set, d, count) in needs {
        let in_set: Expression = allowed
            .iter()
            .filter(|t| set.binary_search(t).is_ok())
            .map(|&t| n[&t])
            .sum();
        problem = problem.with(constraint!(in_set >= *count as f64));
        for (r, &dr) in d.iter().enumerate() {
            if dr == 0 {
                continue;
            }
            let cap: Expression = allowed
                .iter()
                .filter(|t| set.binary_search(t).is_ok())
                .map(|&t| coefficient(inst.types[t].cap[r], dr) * n[&t])
                .sum();
            problem = problem.with(constraint!(cap >= 1.0));
        }
    }
    match problem.solve() {
        Ok(solution) => Ok(Some(solution.eval(&objective) * 1e6)),
        Err(ResolutionError::Infeasible) => Ok(None),
        Err(_) => Err(()),
    }
}

/// The LP bound with the classes of `separated` kept in their own groups: `Ok(None)` when the
/// solver proves the relaxation infeasible, `Err` when it fails otherwise (which proves nothing).
/// With `whole`, node counts are integers, as they are in every plan: a small MIP, solved
/// only within a fixed number of branch-and-bound nodes (`Err` past it).
#[allow(clippy::too_many_arguments)]
fn lp_bound(
    inst: &Instance,
    separated: &[usize],
    classes: &[Vec<usize>],
    placeable: &[usize],
    useful: &[usize],
    pool_min: u64,
    min_cost: u64,
    whole: bool,
) -> Result<Option<u64>, ()> {
    let groups = separated.len() + 1;
    let mut vars = variables!();
    let x: Vec<BTreeMap<usize, Variable>> = (0..groups)
        .map(|_| {
            useful
                .iter()
                .map(|&t| {
                    let v = variable().min(0);
                    (t, vars.add(if whole { v.integer() } else { v }))
                })
                .collect()
        })
        .collect();
    let scale = 1e-6;
    let objective: Expression = x
        .iter()
        .flat_map(|g| {
            g.iter()
                .map(|(&t, &v)| inst.types[t].cost as f64 * scale * v)
        })
        .sum();
    let mut lp = Cover {
        inst,
        useful,
        x: &x,
        constraints: Vec::new(),
    };
    for &t in useful {
        if let Some(limit) = inst.types[t].limit {
            let used: Expression = x.iter().map(|g| g[&t]).sum();
            lp.constraints.push(constraint!(used <= limit as f64));
        }
    }
    for (g, &c) in separated.iter().enumerate() {
        lp.cover(&[g], &classes[c]);
        lp.headroom(g, &classes[c], pool_min);
        // The group's cost is at least what any pool holding the class costs. Both bounds
        // are valid; the exhaustive one is integral but gives up on large classes.
        let exact = cheapest_pool_exact(inst, &classes[c], useful, 0);
        let relaxed = cheapest_pool(inst, &classes[c], useful);
        if let Some(min) = exact.max(relaxed) {
            let cost: Expression = useful
                .iter()
                .map(|&t| inst.types[t].cost as f64 * scale * x[g][&t])
                .sum();
            lp.constraints
                .push(constraint!(cost >= min as f64 * scale * (1.0 - 1e-9)));
        }
    }
    let all: Vec<usize> = (0..groups).collect();
    lp.cover(&all, placeable);
    lp.outside(separated, classes);
    let constraints = lp.constraints;

    if whole {
        let mut problem = vars.minimise(objective).using(good_lp::microlp);
        for c in constraints {
            problem = problem.with(c);
        }
        let mut options = microlp::SolveOptions::default();
        options.node_limit = Some(MIP_NODES);
        return match problem.as_inner().clone().solve_with(options) {
            Ok(outcome) if outcome.is_optimal() => {
                let value = outcome.into_solution().map_err(|_| ())?.objective() / scale;
                Ok(Some(round_up_to_cost_grid(value, inst, useful, min_cost)))
            }
            Err(microlp::Error::Infeasible) => Ok(None),
            _ => Err(()),
        };
    }
    let mut problem = vars.minimise(objective.clone()).using(lp_solver);
    for c in constraints {
        problem = problem.with(c);
    }
    match problem.solve() {
        Ok(solution) => {
            let value = solution.eval(&objective) / scale;
            Ok(Some(round_up_to_cost_grid(value, inst, useful, min_cost)))
        }
        Err(ResolutionError::Infeasible) => Ok(None),
        // Only a relaxation the solver proves infeasible proves anything; any other failure
        // gives this candidate no bound at all.
        Err(_) => Err(()),
    }
}

/// A lower bound on the cost of any pool holding the workloads `ws`, sharper than the main
/// LP about headroom: the K largest nodes of the pool include the largest type it uses.
///
/// When the useful types form a chain under componentwise capacity (m6i-like families, with
/// label variants), every pool has a largest type L that dominates all others it uses; for
/// each L an LP (types ≤ L, at least one L, capacity − cap(L) − (K−1)·smallest ≥ demand,
/// eligibility sets covered) bounds the pools whose largest type is L, and the minimum over L
/// bounds them all. Types that do not form a chain give no cut (`None`).
fn cheapest_pool(inst: &Instance, ws: &[usize], useful: &[usize]) -> Option<u64> {
    let model = inst.model;
    let nres = model.resources.len();
    let k = model.policy.node_failures as u128;
    if ws.is_empty() || k == 0 {
        return None;
    }
    let leq = |a: usize, b: usize| {
        inst.types[a]
            .cap
            .iter()
            .zip(&inst.types[b].cap)
            .all(|(x, y)| x <= y)
    };
    let chain = useful
        .iter()
        .all(|&a| useful.iter().all(|&b| leq(a, b) || leq(b, a)));
    if !chain {
        return None;
    }
    let total = inst.demand(ws.iter().copied());
    let needs = eligibility_needs(inst, ws);
    let pool_min = (model.policy.min_nodes_per_pool as u128).max(k + 1) as f64;
    let min_cap: Vec<u64> = (0..nres)
        .map(|r| {
            useful
                .iter()
                .map(|&t| inst.types[t].cap[r])
                .min()
                .unwrap_or(0)
        })
        .collect();
    let mut best: Option<f64> = None;
    for &largest in useful {
        let allowed: Vec<usize> = useful
            .iter()
            .copied()
            .filter(|&t| leq(t, largest))
            .collect();
        match cheapest_with_largest(inst, largest, &allowed, &total, &needs, pool_min, &min_cap) {
            Ok(Some(value)) => best = Some(best.map_or(value, |b: f64| b.min(value))),
            // No pool has this largest type.
            Ok(None) => {}
            // The minimum over the largest types needs every one of them: no cut.
            Err(()) => return None,
        }
    }
    best.map(|v| (v * (1.0 - 1e-9) - 1e-3).max(0.0).floor() as u64)
}

/// The exhaustive search of [`cheapest_pool_exact`]: node counts per type, cheapest first.
struct Dfs<'a> {
    inst: &'a Instance<'a>,
    types: Vec<usize>,
    upper: Vec<u64>,
    needs: Vec<(Vec<usize>, Vec<u128>, u64)>,
    total: Vec<u128>,
    k: usize,
    min_nodes: u64,
    counts: Vec<u64>,
    best: Option<u64>,
    explored: u64,
    aborted: bool,
    /// Capacity chosen so far, per resource.
    chosen: Vec<u128>,
    /// Demand plus K times the smallest capacity: what the chosen capacity must reach.
    target: Vec<u128>,
    /// `per_unit[i][r]`: cheapest cost per unit of r among types i.. (for pruning).
    per_unit: Vec<Vec<f64>>,
}
impl Dfs<'_> {
    /// Whether the chosen counts hold every workload and keep headroom.
    fn feasible(&self) -> bool {
        let n: u64 = self.counts.iter().sum();
        n >= self.min_nodes && self.covers_needs() && self.keeps_headroom()
    }

    /// Per set of types some workloads can use: nodes and capacity enough among them.
    fn covers_needs(&self) -> bool {
        for (set, d, count) in &self.needs {
            let in_set = |t: usize| set.binary_search(&t).is_ok();
            let nodes: u64 = self
                .types
                .iter()
                .zip(&self.counts)
                .filter(|(t, _)| in_set(**t))
                .map(|(_, c)| c)
                .sum();
            if nodes < *count {
                return false;
            }
            for (r, &dr) in d.iter().enumerate() {
                let cap: u128 = self
                    .types
                    .iter()
                    .zip(&self.counts)
                    .filter(|(t, _)| in_set(**t))
                    .map(|(&t, &c)| self.inst.types[t].cap[r] as u128 * c as u128)
                    .sum();
                if cap < dr {
                    return false;
                }
            }
        }
        true
    }

    /// Whether the capacity past the K largest nodes covers the total demand.
    fn keeps_headroom(&self) -> bool {
        if self.k > 0 {
            for (r, &dr) in self.total.iter().enumerate() {
                if dr == 0 {
                    continue;
                }
                let mut caps: Vec<(u64, u64)> = self
                    .types
                    .iter()
                    .zip(&self.counts)
                    .map(|(&t, &c)| (self.inst.types[t].cap[r], c))
                    .collect();
                caps.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
                let mut skip = self.k as u64;
                let mut usable: u128 = 0;
                for (cap, c) in caps {
                    let dropped = skip.min(c);
                    skip -= dropped;
                    usable += cap as u128 * (c - dropped) as u128;
                }
                if usable < dr {
                    return false;
                }
            }
        }
        true
    }

    fn go(&mut self, i: usize, cost: u64) {
        self.explored += 1;
        if self.explored > 100_000 {
            self.aborted = true;
            return;
        }
        if self.best.is_some_and(|b| cost >= b) {
            return;
        }
        // Whatever is still missing costs at least the cheapest price per unit of the
        // most expensive missing resource.
        let mut more = 0.0f64;
        for (r, (&t, &c)) in self.target.iter().zip(&self.chosen).enumerate() {
            if t > c {
                let p = self.per_unit.get(i).map_or(f64::INFINITY, |u| u[r]);
                more = more.max((t - c) as f64 * p);
            }
        }
        // And nodes still missing at least the cheapest type left each (types go cheapest
        // first).
        if let Some(&t) = self.types.get(i) {
            let placed: u64 = self.counts[..i].iter().sum();
            let missing = self.min_nodes.saturating_sub(placed);
            more = more.max(missing as f64 * self.inst.types[t].cost as f64);
        }
        if more.is_infinite()
            || self
                .best
                .is_some_and(|b| cost as f64 + more * (1.0 - 1e-12) >= b as f64)
        {
            return;
        }
        if i == self.types.len() {
            if self.feasible() {
                self.best = Some(cost);
            }
            return;
        }
        let ty = &self.inst.types[self.types[i]];
        for c in (0..=self.upper[i]).rev() {
            self.counts[i] = c;
            for (r, cap) in ty.cap.iter().enumerate() {
                self.chosen[r] += *cap as u128 * c as u128;
            }
            self.go(i + 1, cost + ty.cost * c);
            for (r, cap) in ty.cap.iter().enumerate() {
                self.chosen[r] -= *cap as u128 * c as u128;
            }
            if self.aborted {
                return;
            }
        }
        self.counts[i] = 0;
    }
}

/// The cheapest multiset of node types (within availability) of at least `at_least` nodes
/// that could form a pool holding `ws` alone: eligible capacity covers every eligibility set,
/// counting rules and minNodesPerPool hold, and the capacity minus the K largest nodes covers
/// the demand. Exhaustive branch and bound over type counts with a fixed node limit; `None`
/// when the limit is hit or nothing qualifies.
pub(super) fn cheapest_pool_exact(
    inst: &Instance,
    ws: &[usize],
    useful: &[usize],
    at_least: u64,
) -> Option<u64> {
    let model = inst.model;
    let nres = model.resources.len();
    let k = model.policy.node_failures as usize;
    if ws.is_empty() || useful.len() > 16 {
        return None;
    }
    let needs = eligibility_needs(inst, ws);
    let total = inst.demand(ws.iter().copied());
    let min_nodes = (model.policy.min_nodes_per_pool as u64).max(at_least);
    // Cheaper-per-capacity types first finds good incumbents early.
    let mut types: Vec<usize> = useful.to_vec();
    types.sort_by_key(|&t| {
        (
            inst.types[t].cost,
            std::cmp::Reverse(inst.types[t].cap.clone()),
        )
    });
    let upper: Vec<u64> = types
        .iter()
        .map(|&t| {
            let ty = &inst.types[t];
            let by_capacity = (0..nres)
                .filter(|&r| total[r] > 0 && ty.cap[r] > 0)
                .map(|r| total[r].div_ceil(ty.cap[r] as u128) as u64)
                .max()
                .unwrap_or(0);
            let by_count = needs.iter().map(|n| n.2).max().unwrap_or(0).max(min_nodes);
            (by_capacity.max(by_count) + k as u64).min(ty.limit_or_max() as u64)
        })
        .collect();
    let n = types.len();
    let target: Vec<u128> = (0..nres)
        .map(|r| {
            if total[r] == 0 {
                return 0;
            }
            let min_cap = types
                .iter()
                .map(|&t| inst.types[t].cap[r])
                .min()
                .unwrap_or(0);
            total[r] + k as u128 * min_cap as u128
        })
        .collect();
    let per_unit: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..nres)
                .map(|r| {
                    types[i..]
                        .iter()
                        .filter(|&&t| inst.types[t].cap[r] > 0)
                        .map(|&t| inst.types[t].cost as f64 / inst.types[t].cap[r] as f64)
                        .fold(f64::INFINITY, f64::min)
                })
                .collect()
        })
        .collect();
    let mut dfs = Dfs {
        chosen: vec![0; nres],
        target,
        per_unit,
        inst,
        types,
        upper,
        needs,
        total,
        k,
        min_nodes,
        counts: vec![0; n],
        best: None,
        explored: 0,
        aborted: false,
    };
    dfs.go(0, 0);
    if dfs.aborted {
        None
    } else {
        dfs.best
    }
}

/// Per distinct eligible-type set among `ws`: the set, the demand of the workloads confined
/// to it (eligible only on types inside it) and the nodes those need by counting alone.
fn eligibility_needs(inst: &Instance, ws: &[usize]) -> Vec<(Vec<usize>, Vec<u128>, u64)> {
    let mut sets: Vec<&Vec<usize>> = ws.iter().map(|&w| &inst.workloads[w].eligible).collect();
    sets.sort();
    sets.dedup();
    sets.into_iter()
        .map(|set| {
            let inside: Vec<usize> = ws
                .iter()
                .copied()
                .filter(|&w| {
                    inst.workloads[w]
                        .eligible
                        .iter()
                        .all(|t| set.binary_search(t).is_ok())
                })
                .collect();
            let count = count_need_of(inst, &inside);
            (set.clone(), inst.demand(inside.iter().copied()), count)
        })
        .collect()
}

/// Nodes the workloads `ws` need by counting alone: each one's own need, and each set of
/// workloads among them that pairwise never share a node the sum of its members' (their
/// nodes are disjoint).
fn count_need_of(inst: &Instance, ws: &[usize]) -> u64 {
    let mut by_clique: HashMap<usize, u64> = HashMap::new();
    let mut most = 0;
    for &w in ws {
        let need = inst.count_need(w);
        most = most.max(need);
        for &c in &inst.workloads[w].apart {
            let sum = by_clique.entry(c).or_default();
            *sum += need;
            most = most.max(*sum);
        }
    }
    most
}

/// The share of `demand` one node of capacity `cap` can cover (at most all of it).
fn coefficient(cap: u64, demand: u128) -> f64 {
    (cap as u128).min(demand) as f64 / demand as f64
}

fn ceil_div(a: u128, b: u128) -> u128 {
    a.div_ceil(b)
}

/// Every plan costs a multiple of the gcd of node costs, so the LP value (less a margin for
/// floating-point error) rounds up to that grid.
fn round_up_to_cost_grid(value: f64, inst: &Instance, useful: &[usize], min_cost: u64) -> u64 {
    let grid = useful.iter().fold(0u64, |g, &t| gcd(g, inst.types[t].cost));
    let safe = (value * (1.0 - 1e-9) - 1e-3).max(0.0);
    if grid == 0 {
        return 0;
    }
    let steps = (safe / grid as f64).ceil() as u64;
    // A non-empty plan costs at least its cheapest node.
    (steps * grid).max(if value > 0.5 { min_cost } else { 0 })
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{model, node, workload};

    /// A ROADEF service in small: three processes pairwise anti-affine, tiny next to one
    /// node, need three nodes (BENCHMARKS.md's a1_4: a service of 50 processes on 50
    /// machines, which the capacity bound put at 34).
    #[test]
    fn pairwise_anti_affine_workloads_each_need_a_node() {
        let m = model(&[
            &workload(
                "a",
                "sensitivity: public, antiAffinity: [b, c], resources: {cpu: 100m}",
            ),
            &workload(
                "b",
                "sensitivity: public, antiAffinity: [c], resources: {cpu: 100m}",
            ),
            &workload("c", "sensitivity: public, resources: {cpu: 100m}"),
            &workload(
                "d",
                "sensitivity: public, replicas: 4, resources: {cpu: 100m}",
            ),
            &node(
                "n1",
                "",
                "allocatable: {cpu: 4, memory: 16Gi, pods: 110}, cost: 1",
            ),
            &node(
                "n2",
                "",
                "allocatable: {cpu: 4, memory: 16Gi, pods: 110}, cost: 1",
            ),
            &node(
                "n3",
                "",
                "allocatable: {cpu: 4, memory: 16Gi, pods: 110}, cost: 1",
            ),
            &node(
                "n4",
                "",
                "allocatable: {cpu: 4, memory: 16Gi, pods: 110}, cost: 1",
            ),
        ]);
        let inst = Instance::new(&m);
        let sets: Vec<&[usize]> = inst.workloads.iter().map(|w| &w.apart[..]).collect();
        assert_eq!(sets, [&[0][..], &[0], &[0], &[]]);
        assert_eq!(lower_bound(&inst, None).micros, Some(3_000_000));
        let plan = crate::solve::solve(&m, &crate::solve::SolveOptions::default()).plan;
        assert_eq!(plan.status, crate::plan::Status::Optimal);
        assert_eq!(plan.objective.cost, 3.0);
    }

    /// Items above half a bin, in resources of their own: `x`, `y` and `z` are each more
    /// than half a node's cpu, `big` more than half its memory with three replicas, so no
    /// two of the first three share a node, nor two replicas of `big` (while `big` fits
    /// beside any of them). Capacity says two nodes; the size set and `big`'s own need say
    /// three, and three is the optimum.
    #[test]
    fn workloads_too_large_to_share_each_need_a_node() {
        let cpu = |name: &str| {
            workload(
                name,
                "sensitivity: public, resources: {cpu: 2100m, memory: 1Gi}",
            )
        };
        let mut docs = vec![
            cpu("x"),
            cpu("y"),
            cpu("z"),
            workload(
                "big",
                "sensitivity: public, replicas: 3, resources: {cpu: 100m, memory: 8704Mi}",
            ),
        ];
        docs.extend((0..4).map(|i| {
            node(
                &format!("n{i}"),
                "",
                "allocatable: {cpu: 4, memory: 16Gi, pods: 110}, cost: 1",
            )
        }));
        let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
        let m = model(&refs);
        let inst = Instance::new(&m);
        let sets: Vec<&[usize]> = inst.workloads.iter().map(|w| &w.apart[..]).collect();
        // The model orders workloads by name: big, x, y, z.
        assert_eq!(sets, [&[][..], &[0], &[0], &[0]]);
        assert_eq!(inst.count_need(0), 3);
        assert_eq!(lower_bound(&inst, None).micros, Some(3_000_000));
        let plan = crate::solve::solve(&m, &crate::solve::SolveOptions::default()).plan;
        assert_eq!(plan.status, crate::plan::Status::Optimal);
        assert_eq!(plan.objective.cost, 3.0);
    }
}
