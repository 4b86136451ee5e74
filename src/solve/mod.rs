//! The planner: constraint graph → pools of classes → nodes and placements, with a bound.
//!
//! Decomposition (a single MIP over every replica and node is far too slow in microlp):
//! 1. `bound`: a proven lower bound from a small LP over node types.
//! 2. `group`: which compatible classes share a pool, by greedy merging judged on real packings.
//! 3. `pack`: each pool takes nodes from the shared inventory and places its replicas.
//! 4. Unplaced replicas and unmet pool rules are explained (`explain`).
//!
//! What-if sweeps take a faster path, [`repair`]: a scenario that touches few pools
//! re-solves those pools from the previous placement (repair, not a fresh search).
//!
//! The search is bounded by work units, not time, so the same input gives the same plan on
//! any machine; `SolveOptions::time_limit` is only a safety stop.

mod bound;
mod catalog;
mod exact;
mod explain;
mod feasible;
mod group;
mod instance;
mod last_resort;
mod pack;
mod polish;
mod reason;
mod repair;
mod rules;
mod score;
mod split;
mod stable;

pub use bound::Bound;
pub use reason::{Amount, Ineligibility, Reason, Unplaceable};
pub use repair::repair;

use crate::model::{cost_from_micros, Model};
use crate::plan::{
    self, Infeasibility, Objective, Placement, Plan, Proof, Status, Unmet, Unplaced,
};
use instance::{Instance, Inventory};
use pack::PoolPack;
use score::Score;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
/// What the search may spend and what it should stay close to.
pub struct SolveOptions {
    /// Safety stop; when it cuts the search, `Stats::stopped_by_time` says so.
    pub time_limit: Option<Duration>,
    /// Work units for the whole search (roughly: node visits while packing).
    pub work_limit: u64,
    /// Search tiny instances exhaustively (see `exact`) and moderate ones completely when the
    /// heuristics fall short (see `feasible`); off only to test the heuristics and the bound
    /// on their own.
    pub exhaustive: bool,
    /// The plan the cluster runs now: pools that persist keep their names, and among plans
    /// of equal cost the one that moves the fewest replicas and relabels the fewest nodes
    /// wins (see `stable`). A hint only: what it names that the input lacks is ignored.
    pub previous: Option<Plan>,
    /// Cost per hour, in millionths, that keeping one replica where `previous` has it is
    /// worth: the previous plan, when still valid, is kept unless the new one saves more
    /// than this per replica it moves.
    pub stability_micros: u64,
    /// Told each stage the search enters and the best plan so far (a progress display).
    pub progress: Option<Progress>,
    /// Whether a complete plan the first bound leaves a gap on is worth the tightening: the
    /// exact search over pools (which may find a cheaper plan), the pattern LP and the MIP.
    /// Off for callers that only ask whether a plan exists, such as the explanation's trial
    /// solves, for which it is most of the time spent.
    pub tighten: bool,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions {
            time_limit: None,
            work_limit: 200_000_000,
            exhaustive: true,
            previous: None,
            stability_micros: 0,
            progress: None,
            tighten: true,
        }
    }
}

/// A stage of the search, as progress reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The lower bound (the LP relaxation).
    Bound,
    /// Grouping classes into pools.
    Grouping,
    /// Packing replicas onto nodes, one candidate grouping after another.
    Packing,
    /// Local search: repairing and releasing nodes.
    Polishing,
    /// The complete search, where the heuristics left replicas unplaced.
    CompleteSearch,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Bound => "bound",
            Stage::Grouping => "grouping",
            Stage::Packing => "packing",
            Stage::Polishing => "polishing",
            Stage::CompleteSearch => "complete search",
        })
    }
}

/// The best plan the search holds so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Best {
    /// Replicas it leaves unplaced.
    pub unplaced: u64,
    /// Its cost per hour, in millionths.
    pub cost_micros: u64,
}

/// A progress callback: the stage entered, and the best plan so far once there is one.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(Stage, Option<Best>) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// Tells `options.progress`, if any, that the search enters `stage` holding `packs`.
fn report(options: &SolveOptions, stage: Stage, packs: Option<&[PoolPack]>) {
    if let Some(Progress(tell)) = &options.progress {
        let best = packs.map(|p| {
            let s = score(p);
            Best {
                unplaced: s.unplaced,
                cost_micros: s.cost,
            }
        });
        tell(stage, best);
    }
}

/// How the solve went; for the summary only, never written into plan.json.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Wall time of the whole solve.
    pub elapsed: Duration,
    /// Wall time of the lower bound.
    pub bound_elapsed: Duration,
    /// Classes of workloads.
    pub classes: usize,
    /// Node types (distinct shapes and prices) of the inventory and catalog.
    pub node_types: usize,
    /// Work units spent.
    pub work: u64,
    /// Whether the time limit ended the search.
    pub stopped_by_time: bool,
    /// Groupings of classes into pools evaluated.
    pub groupings_evaluated: usize,
    /// Classes that share a pool with no other.
    pub separated_classes: usize,
}

#[derive(Debug, Clone)]
/// The outcome of [`solve`]: the plan and how the search went.
pub struct Solved {
    /// The plan.
    pub plan: Plan,
    /// Counters of the search, for the summary.
    pub stats: Stats,
    /// Why replicas stayed unplaced, as facts, in the order of `plan.unplaced` (which holds
    /// their text); one entry per workload with unplaced replicas.
    pub unplaced: Vec<Unplaceable>,
}

/// Work and time left for one phase of the search.
#[derive(Debug)]
pub struct Budget {
    left: u64,
    used: u64,
    deadline: Option<Instant>,
    stopped_by_time: bool,
}

impl Budget {
    /// A budget of `work` units, and of time until `deadline`.
    pub fn new(work: u64, deadline: Option<Instant>) -> Self {
        Budget {
            left: work,
            used: 0,
            deadline,
            stopped_by_time: false,
        }
    }

    /// Records `work` units spent.
    pub fn spend(&mut self, work: u64) {
        self.left = self.left.saturating_sub(work);
        self.used += work;
    }

    /// A budget of `work` units at most of what is left, and the same deadline, for one part
    /// of the search that must not take the rest; [`Budget::merge`] records what it spent.
    pub fn share(&self, work: u64) -> Budget {
        Budget::new(work.min(self.left), self.deadline)
    }

    /// Records what `share` (of [`Budget::share`]) spent.
    pub fn merge(&mut self, share: Budget) {
        self.spend(share.used);
        self.stopped_by_time |= share.stopped_by_time;
    }

    /// Whether the work or the time is used up (the clock is read now and then).
    pub fn exhausted(&mut self) -> bool {
        if self.left == 0 || self.stopped_by_time {
            return true;
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.stopped_by_time = true;
        }
        self.stopped_by_time
    }
}

/// Plans `model`. With node types (catalog mode), the nodes to buy are chosen too.
pub fn solve(model: &Model, options: &SolveOptions) -> Solved {
    let start = Instant::now();
    if model.node_types.is_empty() {
        let inst = Instance::new(model);
        let mut found = search(&inst, options, start);
        let (plan, unplaced) = finish(&inst, &mut found, &[], options);
        return Solved {
            plan,
            stats: found.stats,
            unplaced,
        };
    }
    catalog::solve(model, options, start)
}

/// What one search over an instance found.
struct Found {
    groups: Vec<Vec<usize>>,
    packs: Vec<PoolPack>,
    bound: Bound,
    stats: Stats,
    /// The first proof, in the order the search meets them, that no valid plan exists.
    proof: Option<Proof>,
    /// With a previous plan, the heuristics' plan when the exact search found a cheaper
    /// one: it was built to move little, and a stability weight may prefer it.
    stabler: Option<(Vec<Vec<usize>>, Vec<PoolPack>)>,
}

fn search(inst: &Instance, options: &SolveOptions, start: Instant) -> Found {
    let deadline = options.time_limit.map(|t| start + t);
    report(options, Stage::Bound, None);
    let bound = bound::lower_bound(inst, deadline);
    let bound_elapsed = start.elapsed();
    let mut proof = None;
    if inst
        .workloads
        .iter()
        .zip(&inst.model.workloads)
        .any(|(info, w)| w.replicas > 0 && (info.labels.is_err() || info.eligible.is_empty()))
    {
        proof = Some(Proof::NoEligibleNode);
    } else if bound.micros.is_none() {
        proof = Some(Proof::LpRelaxation);
    }

    report(options, Stage::Grouping, None);
    let mut grouping_budget = Budget::new(options.work_limit / 2, deadline);
    let candidates = group::candidates(inst, &mut grouping_budget);
    let mut assembly_budget = Budget::new(options.work_limit / 2, deadline);
    let mut best: Option<(Vec<Vec<usize>>, Vec<PoolPack>)> = None;
    report(options, Stage::Packing, None);
    for groups in &candidates {
        let packs = assemble(inst, groups, &mut assembly_budget);
        if best.as_ref().is_none_or(|(_, b)| score(&packs) < score(b)) {
            report(options, Stage::Packing, Some(&packs));
            best = Some((groups.clone(), packs));
        }
    }
    let (mut groups, mut packs) = best.expect("at least one grouping");
    let mut bound = bound;
    let proved = options.exhaustive && prove(inst, &mut groups, &mut packs, &mut bound, &mut proof);
    // Under a safety stop the local search may use all the time, and leave the pattern LP
    // none: the LP then runs first, with half the time left (the search also stops once it
    // meets the bound). Without one, it runs last, where the exact search over pools may
    // have proven the plan already.
    let early = options.tighten && !proved && !incomplete(&packs) && deadline.is_some();
    if let Some(d) = deadline.filter(|_| early) {
        let cost = packs.iter().map(|p| p.cost).sum();
        let now = Instant::now();
        let half = now + d.saturating_duration_since(now) / 2;
        bound::sharpen(inst, &mut bound, cost, &node_patterns(&packs), Some(half));
    }
    // Then local search: repair what the construction left unplaced, release nodes.
    let mut polish_budget = Budget::new(options.work_limit * 2, deadline);
    if !proved {
        report(options, Stage::Polishing, Some(&packs));
        let pools: Vec<Vec<usize>> = groups.iter().map(|g| workloads_of(inst, g)).collect();
        polish::polish(
            inst,
            &pools,
            &mut packs,
            bound.micros.unwrap_or(0),
            &mut polish_budget,
        );
    }
    // Past the exhaustive sizes, a complete search repairs a result still incomplete; not
    // when infeasibility is already proven, since it could then find nothing.
    let mut fallback_budget = Budget::new(options.work_limit.min(feasible::WORK_LIMIT), deadline);
    if options.exhaustive
        && !proved
        && proof.is_none()
        && incomplete(&packs)
        && feasible::applies(inst)
    {
        report(options, Stage::CompleteSearch, Some(&packs));
        match feasible::search(inst, &mut fallback_budget) {
            feasible::Outcome::Found(g, p) => {
                if score(&p) < score(&packs) {
                    (groups, packs) = (g, p);
                }
            }
            feasible::Outcome::Infeasible => proof = proof.or(Some(Proof::CompleteSearch)),
            feasible::Outcome::OutOfBudget => {}
        }
    }
    let mut last_budget = Budget::new(options.work_limit, deadline);
    if !proved && (incomplete(&packs) || last_resort::quick(inst)) {
        try_baselines(inst, &mut groups, &mut packs, &bound, &mut last_budget);
    }
    // A complete plan that the pool LP does not prove optimal: the exact search over pools
    // of whole nodes may, and may find the cheaper plan that meets it; then the pattern LP.
    let mut stabler = None;
    if options.tighten && !proved && !incomplete(&packs) {
        let mut cost: u64 = packs.iter().map(|p| p.cost).sum();
        if let Some(lower) = bound.micros.filter(|&b| b < cost) {
            if let Some(outcome) = split::search(inst, cost, deadline) {
                bound.micros = Some(lower.max(outcome.bound));
                if let Some((g, p)) = outcome.plan.filter(|(_, p)| score(p) < score(&packs)) {
                    cost = p.iter().map(|p| p.cost).sum();
                    let heuristics = (
                        std::mem::replace(&mut groups, g),
                        std::mem::replace(&mut packs, p),
                    );
                    stabler = options.previous.is_some().then_some(heuristics);
                }
            }
        }
        if !early {
            bound::sharpen(inst, &mut bound, cost, &node_patterns(&packs), deadline);
        }
        bound::whole_nodes(inst, &mut bound, cost, deadline);
    }
    let stats = Stats {
        elapsed: start.elapsed(),
        bound_elapsed,
        classes: inst.graph.classes.len(),
        node_types: inst.types.len(),
        work: grouping_budget.used
            + assembly_budget.used
            + polish_budget.used
            + fallback_budget.used
            + last_budget.used,
        stopped_by_time: grouping_budget.stopped_by_time
            || assembly_budget.stopped_by_time
            || polish_budget.stopped_by_time
            || fallback_budget.stopped_by_time
            || last_budget.stopped_by_time,
        groupings_evaluated: candidates.len(),
        separated_classes: bound.separated_classes,
    };
    Found {
        groups,
        packs,
        bound,
        stats,
        proof,
        stabler,
    }
}

/// Tiny instances are searched exhaustively: that proves the optimum (or infeasibility, kept
/// in `proof` unless another proof came first) and repairs any miss of the heuristics.
/// Whether it proved anything.
fn prove(
    inst: &Instance,
    groups: &mut Vec<Vec<usize>>,
    packs: &mut Vec<PoolPack>,
    bound: &mut Bound,
    proof: &mut Option<Proof>,
) -> bool {
    if !exact::applies(inst) {
        return false;
    }
    match exact::search(inst) {
        Some(exact::Exact::Optimal(g, p)) => {
            let cost: u64 = p.iter().map(|x| x.cost).sum();
            if score(&p) < score(packs) {
                (*groups, *packs) = (g, p);
            }
            bound.micros = Some(cost);
            true
        }
        Some(exact::Exact::Infeasible) => {
            *proof = proof.or(Some(Proof::ExhaustiveSearch));
            true
        }
        None => false,
    }
}

/// The last resort, and a floor: a baseline's complete plan, polished from there, when the
/// search ends incomplete or (where the baselines are quick to build) costs more. The
/// search packs pool by pool and may strand what a later pool needs, where one pool per
/// class, filled in the baselines' order, still fits.
fn try_baselines(
    inst: &Instance,
    groups: &mut Vec<Vec<usize>>,
    packs: &mut Vec<PoolPack>,
    bound: &Bound,
    budget: &mut Budget,
) {
    for (g, mut p) in last_resort::baseline_packs(inst) {
        if score(&p) >= score(packs) {
            continue;
        }
        let pools: Vec<Vec<usize>> = g.iter().map(|c| workloads_of(inst, c)).collect();
        polish::polish(inst, &pools, &mut p, bound.micros.unwrap_or(0), budget);
        if score(&p) < score(packs) {
            (*groups, *packs) = (g, p);
        }
    }
}

/// What each node of the pools hosts, as (node type, [(workload, replicas)]) with each
/// workload once, ascending.
fn node_patterns(packs: &[PoolPack]) -> Vec<bound::Pattern> {
    packs
        .iter()
        .flat_map(|p| &p.nodes)
        .filter(|n| !n.hosted.is_empty())
        .map(|n| {
            let mut hosted: BTreeMap<usize, u32> = BTreeMap::new();
            for &(w, c) in &n.hosted {
                *hosted.entry(w).or_default() += c;
            }
            (n.ty, hosted.into_iter().filter(|&(_, c)| c > 0).collect())
        })
        .collect()
}

/// The workloads of a group of classes, ascending.
fn workloads_of(inst: &Instance, classes: &[usize]) -> Vec<usize> {
    let mut ws: Vec<usize> = classes
        .iter()
        .flat_map(|&c| inst.graph.classes[c].workloads.iter().copied())
        .collect();
    ws.sort_unstable();
    ws
}

/// Packs every pool of `groups` on one shared inventory, scarcest pools first. When a pool
/// comes out short, the pools that fell short go first in the next round (a "squeaky wheel"
/// repair), for a bounded number of rounds; the best round wins.
fn assemble(inst: &Instance, groups: &[Vec<usize>], budget: &mut Budget) -> Vec<PoolPack> {
    let mut order = initial_order(inst, groups);
    let mut best = assemble_in_order(inst, groups, &order, budget);
    for _ in 0..8 {
        let short: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| !best[i].shortfalls.is_empty() || !best[i].unmet.is_empty())
            .collect();
        if short.is_empty() || budget.exhausted() {
            break;
        }
        let mut next = short.clone();
        next.extend(order.iter().copied().filter(|i| !short.contains(i)));
        if next == order {
            break;
        }
        order = next;
        let packs = assemble_in_order(inst, groups, &order, budget);
        if score(&packs) < score(&best) {
            best = packs;
        }
    }
    best
}

fn initial_order(inst: &Instance, groups: &[Vec<usize>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..groups.len()).collect();
    // Scarcity: nodes eligible for the pool's most restricted workload.
    let scarcity: Vec<usize> = groups
        .iter()
        .map(|g| {
            workloads_of(inst, g)
                .iter()
                .map(|&w| {
                    inst.workloads[w]
                        .eligible
                        .iter()
                        .map(|&t| inst.types[t].count())
                        .sum::<usize>()
                })
                .min()
                .unwrap_or(0)
        })
        .collect();
    // Then the biggest pools: they gain most from the most efficient nodes.
    let size: Vec<f64> = groups
        .iter()
        .map(|g| {
            workloads_of(inst, g)
                .iter()
                .map(|&w| inst.dominant_share(w) * inst.model.workloads[w].replicas as f64)
                .sum()
        })
        .collect();
    order.sort_by(|&a, &b| {
        scarcity[a]
            .cmp(&scarcity[b])
            .then(size[b].total_cmp(&size[a]))
            .then(a.cmp(&b))
    });
    order
}

fn assemble_in_order(
    inst: &Instance,
    groups: &[Vec<usize>],
    order: &[usize],
    budget: &mut Budget,
) -> Vec<PoolPack> {
    let mut inv = Inventory::full(inst);
    let mut packs: Vec<Option<PoolPack>> = vec![None; groups.len()];
    for &i in order {
        let ws = workloads_of(inst, &groups[i]);
        packs[i] = Some(pack::pack_pool(inst, &ws, &mut inv, budget));
    }
    packs
        .into_iter()
        .map(|p| p.expect("every pool packed"))
        .collect()
}

/// Whether some replica is unplaced or some pool rule unmet.
fn incomplete(packs: &[PoolPack]) -> bool {
    !score(packs).complete()
}

/// How good the pools are together.
fn score(packs: &[PoolPack]) -> Score {
    packs.iter().map(PoolPack::score).sum()
}

/// The plan document of what the search found, and why replicas stayed unplaced; with a
/// previous plan, brought close to it and weighed against it as it stands (see `stable`),
/// and its disruption recorded. An infeasible plan says whether the search proved it so.
fn finish(
    inst: &Instance,
    found: &mut Found,
    bought: &[Option<usize>],
    options: &SolveOptions,
) -> (Plan, Vec<Unplaceable>) {
    let (mut plan, unplaced) = closest(inst, found, bought, options);
    debug_assert!(
        plan.status == Status::Infeasible || found.proof.is_none(),
        "a complete plan despite a proof of infeasibility ({:?})",
        found.proof
    );
    if plan.status == Status::Infeasible {
        plan.infeasibility = Some(
            found
                .proof
                .map_or_else(Infeasibility::unproven, Infeasibility::proven),
        );
    }
    (plan, unplaced)
}

/// The plan of what the search found or, with a previous plan, of the best candidate by
/// cost, then closeness to it (see [`finish`]): the search's plan, the heuristics' plan it
/// replaced, each brought close to the previous one, and the previous plan as it stands.
fn closest(
    inst: &Instance,
    found: &mut Found,
    bought: &[Option<usize>],
    options: &SolveOptions,
) -> (Plan, Vec<Unplaceable>) {
    let Some(previous) = options.previous.as_ref() else {
        return to_plan(
            inst,
            &found.groups,
            &found.packs,
            &found.bound,
            bought,
            None,
        );
    };
    let mut candidates = vec![(found.groups.clone(), found.packs.clone())];
    candidates.extend(found.stabler.take());
    for (groups, packs) in &mut candidates {
        stable::settle(inst, groups, packs, previous);
    }
    candidates.extend(stable::previous_packs(inst, previous));
    candidates
        .into_iter()
        .map(|(groups, packs)| {
            let (mut plan, why) =
                to_plan(inst, &groups, &packs, &found.bound, bought, Some(previous));
            let disruption = crate::diff::diff(previous, &plan).disruption();
            plan.objective.disruption = Some(disruption);
            let score = score(&packs).with_disruption(disruption, options.stability_micros);
            (score, plan, why)
        })
        .min_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, plan, why)| (plan, why))
        .expect("the search's plan is a candidate")
}

/// The status and objective of a plan costing `cost` (millionths per hour) on `nodes` nodes,
/// against the proven bound `lower`: optimal when it meets the bound, the gap otherwise, and
/// no gap when it is not `complete`.
fn verdict(complete: bool, cost: u64, lower: u64, nodes: u64) -> (Status, Objective) {
    let status = if !complete {
        Status::Infeasible
    } else if lower >= cost {
        Status::Optimal
    } else {
        Status::Feasible
    };
    let gap = complete.then(|| {
        if cost == 0 {
            0.0
        } else {
            cost.saturating_sub(lower) as f64 / cost as f64
        }
    });
    let objective = Objective {
        cost: cost_from_micros(cost),
        nodes,
        lower_bound: cost_from_micros(lower),
        gap,
        disruption: None,
    };
    (status, objective)
}

/// Where the replicas of a plan went, and which stayed unplaced, with why.
#[derive(Default)]
struct Replicas {
    placements: Vec<Placement>,
    unplaced: Vec<Unplaced>,
    unplaceable: Vec<Unplaceable>,
}

impl Replicas {
    /// Adds the replicas of pool `i` (of `packs`), whose workloads are `ws`, on nodes named
    /// by `node_name`. Replica numbers follow node name order within each workload.
    fn of_pool(
        &mut self,
        inst: &Instance,
        packs: &[PoolPack],
        i: usize,
        ws: &[usize],
        node_name: &HashMap<usize, String>,
    ) {
        let model = inst.model;
        let pack = &packs[i];
        // Nodes hosting each workload, gathered in one pass over the pool's nodes.
        let mut hosts_of: std::collections::HashMap<usize, Vec<(usize, u32)>> =
            std::collections::HashMap::new();
        for o in &pack.nodes {
            for &(w, c) in &o.hosted {
                hosts_of.entry(w).or_default().push((o.node, c));
            }
        }
        // Replica numbers follow node name order within each workload.
        for &w in ws {
            let mut hosts = hosts_of.remove(&w).unwrap_or_default();
            hosts.sort_unstable();
            let mut replica = 0;
            for (n, c) in hosts {
                for _ in 0..c {
                    self.placements.push(Placement {
                        workload: model.workloads[w].id.clone(),
                        replica,
                        node: node_name[&n].clone(),
                    });
                    replica += 1;
                }
            }
            let short: Vec<&pack::Shortfall> =
                pack.shortfalls.iter().filter(|s| s.workload == w).collect();
            if !short.is_empty() {
                let reasons = explain::reasons(inst, w, &short, packs, i);
                let text: Vec<String> = reasons.iter().map(Reason::to_string).collect();
                let first = replica;
                while replica < model.workloads[w].replicas {
                    self.unplaced.push(Unplaced {
                        workload: model.workloads[w].id.clone(),
                        replica,
                        reasons: text.clone(),
                    });
                    replica += 1;
                }
                self.unplaceable.push(Unplaceable {
                    workload: model.workloads[w].id.clone(),
                    replicas: replica - first,
                    reasons,
                });
            }
        }
    }
}

/// Turns packed pools into the plan document, in a canonical order, and why replicas stayed
/// unplaced (whose text the document holds). `bought[n]` is the catalog type of a node
/// materialised for the search (see `catalog`); such nodes are named after their pool. Pools
/// are named by `naming`, after `previous` where they persist.
fn to_plan(
    inst: &Instance,
    groups: &[Vec<usize>],
    packs: &[PoolPack],
    bound: &Bound,
    bought: &[Option<usize>],
    previous: Option<&Plan>,
) -> (Plan, Vec<Unplaceable>) {
    let model = inst.model;
    // Pools ordered by their first class name; classes within by name.
    let mut order: Vec<usize> = (0..groups.len()).collect();
    let names = |g: &[usize]| -> Vec<String> {
        let mut n: Vec<String> = g
            .iter()
            .map(|&c| inst.graph.classes[c].name.clone())
            .collect();
        n.sort();
        n
    };
    order.sort_by_key(|&i| names(&groups[i]));
    let pool_workloads: Vec<Vec<usize>> = order
        .iter()
        .map(|&i| workloads_of(inst, &groups[i]))
        .collect();
    let pool_names = crate::naming::pool_names(model, &pool_workloads, previous);
    let mut pools = Vec::new();
    let mut replicas = Replicas::default();
    let mut unmet = Vec::new();
    let mut in_pool = vec![false; model.nodes.len()];
    let mut cost: u64 = 0;
    for ((&i, name), ws) in order.iter().zip(pool_names).zip(pool_workloads) {
        let platform = groups[i]
            .iter()
            .any(|&c| inst.graph.classes[c].name == crate::policy::PLATFORM_CLASS);
        let pack = &packs[i];
        let mut nodes: Vec<usize> = pack.nodes.iter().map(|o| o.node).collect();
        nodes.sort_unstable();
        for &n in &nodes {
            in_pool[n] = true;
            cost += model.nodes[n].cost_micros;
        }
        let (node_types, node_name) = catalog::name_bought(model, &name, &nodes, bought);
        replicas.of_pool(inst, packs, i, &ws, &node_name);
        for (rule, reason) in &pack.unmet {
            unmet.push(Unmet {
                pool: name.clone(),
                rule: rule.to_string(),
                reason: reason.clone(),
            });
        }
        pools.push(plan::Pool {
            name,
            classes: names(&groups[i]),
            workloads: ws.iter().map(|&w| model.workloads[w].id.clone()).collect(),
            nodes: {
                let mut names: Vec<String> = node_name.into_values().collect();
                names.sort();
                names
            },
            platform,
            node_types,
        });
    }
    let Replicas {
        mut placements,
        unplaced,
        unplaceable,
    } = replicas;
    placements.sort();
    let unused_nodes = model
        .nodes
        .iter()
        .zip(&in_pool)
        .enumerate()
        .filter(|(n, (_, used))| !**used && bought.get(*n).copied().flatten().is_none())
        .map(|(_, x)| x)
        .map(|(n, _)| n.name.clone())
        .collect();
    let node_count = in_pool.iter().filter(|u| **u).count() as u64;
    let complete = unplaced.is_empty() && unmet.is_empty();
    let (status, objective) = verdict(complete, cost, bound.micros.unwrap_or(0), node_count);
    let plan = Plan {
        api_version: plan::API_VERSION.to_string(),
        kind: plan::KIND.to_string(),
        status,
        infeasibility: None,
        explanation: None,
        objective,
        pools,
        placements,
        unplaced,
        unmet,
        unused_nodes,
        inputs: Some(model.fingerprint.clone()),
    };
    (plan, unplaceable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::testing::{model, node, policy, workload};

    fn plan(m: &Model, options: &SolveOptions) -> Plan {
        let plan = solve(m, options).plan;
        assert!(check(m, &plan).is_consistent(), "{}", check(m, &plan));
        plan
    }

    #[test]
    fn compatible_classes_share_a_pool_when_that_saves_nodes() {
        let m = model(&[
            &policy("shareWhen: [{sensitivity: [public, internal]}]"),
            &workload(
                "web",
                "sensitivity: public, exposure: internet, resources: {cpu: 1}",
            ),
            &workload(
                "api",
                "sensitivity: internal, exposure: internet, resources: {cpu: 1}",
            ),
            &workload(
                "db",
                "sensitivity: confidential, exposure: internet, resources: {cpu: 1}",
            ),
            &node("a", "", ""),
            &node("b", "", ""),
            &node("c", "", ""),
        ]);
        let p = plan(
            &m,
            &SolveOptions {
                exhaustive: false,
                ..SolveOptions::default()
            },
        );
        assert_eq!(p.status, Status::Optimal);
        assert_eq!(p.objective.nodes, 2);
        assert_eq!(p.pools.len(), 2);
        assert_eq!(
            p.pools
                .iter()
                .find(|x| x.workloads.len() == 2)
                .unwrap()
                .workloads,
            ["default/api", "default/web"]
        );
    }

    #[test]
    fn headroom_adds_nodes_and_the_bound_knows_it() {
        let m = model(&[
            &policy("headroom: {nodeFailures: 1}"),
            &workload(
                "web",
                "sensitivity: public, replicas: 3, resources: {cpu: 1}",
            ),
            &node("a", "", ""),
            &node("b", "", ""),
            &node("c", "", ""),
        ]);
        let p = plan(
            &m,
            &SolveOptions {
                exhaustive: false,
                ..SolveOptions::default()
            },
        );
        assert_eq!(p.objective.nodes, 2);
        assert_eq!(
            p.status,
            Status::Optimal,
            "the bound proves two nodes are needed"
        );
    }

    #[test]
    fn unplaceable_replicas_are_explained_and_the_status_is_infeasible() {
        let m = model(&[
            &workload("big", "sensitivity: public, resources: {memory: 64Gi}"),
            &workload("spread", "sensitivity: public, replicas: 3, maxPerNode: 1"),
            &node("a", "", ""),
            &node("b", "", ""),
        ]);
        let p = plan(&m, &SolveOptions::default());
        assert_eq!(p.status, Status::Infeasible);
        let reasons: Vec<&str> = p
            .unplaced
            .iter()
            .flat_map(|u| u.reasons.iter().map(String::as_str))
            .collect();
        assert!(
            reasons.iter().any(|r| r.contains("too small")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("maxPerNode 1 with 3 replicas needs 3 nodes")),
            "{reasons:?}"
        );
        assert_eq!(p.objective.gap, None);
    }

    #[test]
    fn a_spent_budget_still_yields_a_complete_plan() {
        let m = model(&[
            &workload(
                "web",
                "sensitivity: public, replicas: 4, resources: {cpu: 1}",
            ),
            &workload(
                "db",
                "sensitivity: confidential, replicas: 2, resources: {cpu: 2}",
            ),
            &node("a", "", ""),
            &node("b", "", ""),
            &node("c", "", ""),
        ]);
        let tiny = SolveOptions {
            work_limit: 1,
            exhaustive: false,
            ..SolveOptions::default()
        };
        let p = plan(&m, &tiny);
        assert!(check(&m, &p).is_valid());
        let cut = SolveOptions {
            time_limit: Some(Duration::ZERO),
            exhaustive: false,
            ..SolveOptions::default()
        };
        let solved = solve(&m, &cut);
        assert!(solved.stats.stopped_by_time);
        assert!(check(&m, &solved.plan).is_valid());
    }

    #[test]
    fn co_location_limits_hold_in_both_directions() {
        // On a node hosting `app`, at most one replica of `cache`.
        let m = model(&[
            &workload("app", "sensitivity: public, replicas: 2, maxPerNode: 1, coLocation: [{workload: cache, max: 1}]"),
            &workload("cache", "sensitivity: public, replicas: 4"),
            &node("a", "", ""),
            &node("b", "", ""),
            &node("c", "", ""),
            &node("d", "", ""),
        ]);
        for exhaustive in [false, true] {
            let p = plan(
                &m,
                &SolveOptions {
                    exhaustive,
                    ..SolveOptions::default()
                },
            );
            assert!(check(&m, &p).is_valid(), "{}", check(&m, &p));
            assert_eq!(
                p.objective.nodes, 3,
                "two app nodes with one cache each, two caches elsewhere"
            );
        }
    }

    #[test]
    fn the_exhaustive_search_proves_optimality_on_tiny_instances() {
        let m = model(&[
            &workload("a", "sensitivity: public, minZones: 2, replicas: 2"),
            &workload("b", "sensitivity: internal, minZones: 2, replicas: 2"),
            &node("n1", "", "allocatable: {cpu: 1}, zone: x"),
            &node("n2", "", "allocatable: {cpu: 1}, zone: y"),
            &node("n3", "", "allocatable: {cpu: 1}, zone: x"),
            &node("n4", "", "allocatable: {cpu: 1}, zone: y, cost: 3"),
        ]);
        let p = plan(&m, &SolveOptions::default());
        assert_eq!(p.status, Status::Optimal);
        assert_eq!(p.objective.cost, 6.0);
    }

    /// The infeasibility an infeasible plan states, after checking that the document round
    /// trips and the checker accepts it.
    fn infeasibility(m: &Model, options: &SolveOptions) -> Infeasibility {
        let p = plan(m, options);
        assert_eq!(p.status, Status::Infeasible);
        assert_eq!(serde_json::from_str::<Plan>(&p.to_json()).unwrap(), p);
        let summary = crate::report::summary(m, &p, None);
        let i = p
            .infeasibility
            .expect("infeasible plans say whether it is proven");
        let status = summary.lines().find(|l| l.starts_with("status: ")).unwrap();
        assert!(status.starts_with("status: INFEASIBLE; "), "{status}");
        assert!(status.ends_with(&format!(" ({i})")), "{status}");
        i
    }

    /// Nineteen replicas of 2 cpu on nine nodes of 5: they fit fractionally (38 of 45 cpu),
    /// but two replicas per node leave one over. A node holds two, so no counting cut of
    /// the LP sees it (one replica per node, as on nodes of 3, would). Past `exact`'s
    /// sizes, within `feasible`'s.
    fn pigeonholes() -> Model {
        let mut docs = vec![workload(
            "web",
            "sensitivity: public, replicas: 19, resources: {cpu: 2}",
        )];
        docs.extend((0..9).map(|i| node(&format!("n{i}"), "", "allocatable: {cpu: 5}")));
        let docs: Vec<&str> = docs.iter().map(String::as_str).collect();
        model(&docs)
    }

    #[test]
    fn a_complete_search_proves_infeasibility_the_heuristics_cannot() {
        let m = pigeonholes();
        let i = infeasibility(&m, &SolveOptions::default());
        assert_eq!(i, Infeasibility::proven(Proof::CompleteSearch));
        assert_eq!(i.to_string(), "proven impossible by complete search");
        let heuristics = SolveOptions {
            exhaustive: false,
            ..SolveOptions::default()
        };
        let i = infeasibility(&m, &heuristics);
        assert_eq!(i, Infeasibility::unproven());
        assert_eq!(i.to_string(), "no plan found, not proven impossible");
        assert_eq!(serde_json::to_string(&i).unwrap(), r#"{"proven":false}"#);
    }

    #[test]
    fn the_exhaustive_search_proves_infeasibility_on_tiny_instances() {
        let m = model(&[
            &workload(
                "web",
                "sensitivity: public, replicas: 5, resources: {cpu: 2}",
            ),
            &node("a", "", "allocatable: {cpu: 5}"),
            &node("b", "", "allocatable: {cpu: 5}"),
        ]);
        let i = infeasibility(&m, &SolveOptions::default());
        assert_eq!(i, Infeasibility::proven(Proof::ExhaustiveSearch));
        assert_eq!(
            serde_json::to_string(&i).unwrap(),
            r#"{"proven":true,"by":"exhaustive-search"}"#
        );
    }

    #[test]
    fn a_workload_no_node_can_host_proves_infeasibility() {
        let m = model(&[
            &workload("big", "sensitivity: public, resources: {memory: 64Gi}"),
            &workload("web", "sensitivity: public, replicas: 20"),
            &node("a", "", ""),
        ]);
        for exhaustive in [true, false] {
            let options = SolveOptions {
                exhaustive,
                ..SolveOptions::default()
            };
            let i = infeasibility(&m, &options);
            assert_eq!(i, Infeasibility::proven(Proof::NoEligibleNode));
        }
    }

    #[test]
    fn an_infeasible_relaxation_proves_infeasibility() {
        // Each of three pools needs two nodes for headroom: five are too few.
        let mut docs = vec![policy("headroom: {nodeFailures: 1}")];
        for level in ["public", "internal", "confidential"] {
            let spec = format!("sensitivity: {level}, replicas: 1, resources: {{cpu: 1}}");
            docs.push(workload(level, &spec));
        }
        docs.extend((0..5).map(|i| node(&format!("n{i}"), "", "")));
        let docs: Vec<&str> = docs.iter().map(String::as_str).collect();
        let options = SolveOptions {
            exhaustive: false,
            ..SolveOptions::default()
        };
        let i = infeasibility(&model(&docs), &options);
        assert_eq!(i, Infeasibility::proven(Proof::LpRelaxation));
    }

    #[test]
    fn feasible_plans_carry_no_infeasibility() {
        let m = model(&[
            &workload("web", "sensitivity: public, replicas: 2"),
            &node("a", "", ""),
        ]);
        let p = plan(&m, &SolveOptions::default());
        assert_eq!(p.infeasibility, None);
        assert!(!p.to_json().contains("infeasibility"));
    }

    #[test]
    fn node_types_and_eligibility_follow_manifest_constraints() {
        for &(what, spec, labels, node_spec, admitted) in crate::testing::CONSTRAINT_CASES {
            let m = crate::testing::constraint_case(spec, labels, node_spec);
            let inst = Instance::new(&m);
            assert_eq!(!inst.workloads[0].eligible.is_empty(), admitted, "{what}");
            let plan = solve(&m, &SolveOptions::default()).plan;
            assert_eq!(
                plan.status != crate::plan::Status::Infeasible,
                admitted,
                "{what}"
            );
            assert!(crate::check(&m, &plan).accepts(plan.status), "{what}");
        }
    }

    #[test]
    fn taints_and_cordons_keep_identical_nodes_in_distinct_types() {
        let m = crate::testing::model(&[
            &crate::testing::workload(
                "w",
                "sensitivity: public, tolerations: [{key: gpu, operator: Exists}]",
            ),
            &crate::testing::node("a", "", "allocatable: {cpu: 4}"),
            &crate::testing::node(
                "b",
                "",
                "allocatable: {cpu: 4}, taints: [{key: gpu, effect: NoSchedule}]",
            ),
            &crate::testing::node("c", "", "allocatable: {cpu: 4}, unschedulable: true"),
            &crate::testing::node(
                "d",
                "",
                "allocatable: {cpu: 4}, taints: [{key: spot, effect: PreferNoSchedule}]",
            ),
        ]);
        let inst = Instance::new(&m);
        // PreferNoSchedule only scores: d is of a's type.
        assert_eq!(inst.node_type, [0, 1, 2, 0]);
        assert_eq!(inst.workloads[0].eligible, [0, 1]);
    }
}
