//! A differential sweep: random small and medium tiered instances from the seeded generator
//! ([`crate::generate`]) with headroom 0–2, scarce and loose inventories, and catalog mode
//! (types alone, or beside some nodes), each planned and checked against the baselines.
//!
//! A finding is an instance on which the checker refuses the planner's plan (what
//! `tierplan plan` exits 3 on), or the planner says infeasible while a baseline's plan is
//! valid. Findings are written out as YAML with the outcome they must have, so that
//! `tests/sweep.rs` replays them forever.

use crate::baseline::{
    ffd_cheapest_type_per_pool, ffd_one_pool_per_class, kube_scheduler_least_allocated,
};
use crate::check::check;
use crate::generate::{catalog, generate, GenParams};
use crate::input::Documents;
use crate::model::{self, Model};
use crate::plan::{Plan, Status};
use crate::solve::{solve, SolveOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What the planner must do on an instance a sweep found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// A complete plan (a baseline has one).
    Feasible,
    /// A plan the checker accepts, complete or not.
    Consistent,
}

impl Expected {
    /// The first line of a kept instance's file.
    pub fn header(self) -> &'static str {
        match self {
            Expected::Feasible => "# expected: feasible",
            Expected::Consistent => "# expected: consistent",
        }
    }

    /// Reads [`Expected::header`] back from a kept file's text.
    pub fn from_text(text: &str) -> Option<Self> {
        let first = text.lines().next()?;
        [Expected::Feasible, Expected::Consistent]
            .into_iter()
            .find(|e| first == e.header())
    }
}

/// How the planner did on one instance.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Whether the planner placed every replica.
    pub planner_complete: bool,
    /// The baselines whose plans `check` calls valid.
    pub baselines_valid: Vec<&'static str>,
    /// A valid baseline plan costs less than the planner's complete plan.
    pub costlier_than_a_baseline: bool,
    /// What is wrong, if anything (see the module docs).
    pub problem: Option<String>,
}

impl Verdict {
    /// What the planner must do on this instance from now on.
    pub fn expected(&self) -> Expected {
        if self.baselines_valid.is_empty() {
            Expected::Consistent
        } else {
            Expected::Feasible
        }
    }
}

/// A baseline planner.
type Baseline = fn(&Model) -> Plan;

/// Plans `model` as `tierplan plan` does and compares with the baselines.
pub fn examine(model: &Model) -> Verdict {
    let plan = solve(model, &SolveOptions::default()).plan;
    let report = check(model, &plan);
    let planner_complete = plan.status != Status::Infeasible;
    let sound = if planner_complete {
        report.is_valid()
    } else {
        report.is_consistent()
    };
    let baselines: [(&str, Baseline); 3] = [
        ("ffd", ffd_one_pool_per_class),
        ("kube", kube_scheduler_least_allocated),
        ("ffd-catalog", ffd_cheapest_type_per_pool),
    ];
    let mut baselines_valid = Vec::new();
    let mut cheapest: Option<f64> = None;
    for (name, baseline) in baselines {
        let b = baseline(model);
        if b.status != Status::Infeasible && check(model, &b).is_valid() {
            baselines_valid.push(name);
            // Beside existing nodes, the planner uses them first (README, catalog mode), where
            // the catalog baseline buys everything: its cost is no floor there.
            if name != "ffd-catalog" || model.nodes.is_empty() {
                cheapest = Some(cheapest.map_or(b.objective.cost, |c| c.min(b.objective.cost)));
            }
        }
    }
    let problem = if !sound {
        Some(format!("the checker refuses the planner's plan:\n{report}"))
    } else if !planner_complete && !baselines_valid.is_empty() {
        Some(format!(
            "the planner says infeasible, but the {} plan is valid",
            baselines_valid.join(" and ")
        ))
    } else {
        None
    };
    Verdict {
        planner_complete,
        costlier_than_a_baseline: planner_complete
            && cheapest.is_some_and(|c| plan.objective.cost > c + 1e-6),
        baselines_valid,
        problem,
    }
}

/// Instance `index` of the sweep seeded with `seed`, with its name.
pub fn instance(seed: u64, index: u64) -> (String, Documents) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ index);
    let medium = rng.gen_bool(0.3);
    let workloads = if medium {
        rng.gen_range(20..=60)
    } else {
        rng.gen_range(2..=20)
    };
    let classes = rng.gen_range(1..=if medium { 10 } else { 6 });
    let node_failures = rng.gen_range(0..=2);
    let min_nodes_per_pool = if rng.gen_bool(0.8) {
        1
    } else {
        rng.gen_range(0..=3)
    };
    // Scarce: about as many nodes as the pools' rules need, busy; loose: plenty, idle.
    let per_pool = (node_failures + 1).max(min_nodes_per_pool) as f64;
    let scarce = rng.gen_bool(0.5);
    let (nodes, utilisation) = if scarce {
        (
            (classes as f64 * per_pool * rng.gen_range(0.8..1.6)).ceil() as usize + 1,
            rng.gen_range(0.5..0.95),
        )
    } else {
        (
            (classes as f64 * per_pool * rng.gen_range(1.5..3.0)).ceil() as usize
                + workloads / 4
                + 2,
            rng.gen_range(0.1..0.5),
        )
    };
    let p = GenParams {
        seed: rng.gen(),
        workloads,
        nodes,
        classes,
        zones: rng.gen_range(1..=3),
        tenants: rng.gen_range(0..=3),
        node_failures,
        min_nodes_per_pool,
        share_rules: rng.gen_bool(0.5),
        hardened_fraction: rng.gen_range(0.0..0.4),
        restricted_share: rng.gen_range(0.0..0.3),
        utilisation,
        dedicated: rng.gen_range(0..=2).min(workloads / 4),
        max_per_node_fraction: rng.gen_range(0.0..0.3),
        min_zones_fraction: rng.gen_range(0.0..0.3),
        anti_affinity_fraction: rng.gen_range(0.0..0.2),
        node_selector_fraction: rng.gen_range(0.0..0.2),
    };
    let (mode, mut docs) = match rng.gen_range(0..10) {
        0..=6 => ("nodes", generate(&p)),
        7 | 8 => ("catalog", catalog(&p, rng.gen_range(2..=8))),
        _ => {
            // Catalog types beside a few of the instance's own nodes.
            let mut docs = catalog(&p, rng.gen_range(2..=6));
            let mut own = generate(&p).nodes;
            own.truncate(rng.gen_range(1..=nodes));
            docs.nodes = own;
            ("mixed", docs)
        }
    };
    // A type's max, over all zones and pools, now and then.
    for (_, t) in &mut docs.node_types {
        if rng.gen_bool(0.3) {
            t.spec.max = Some(rng.gen_range(1..=8));
        }
    }
    let name = format!(
        "sweep-{seed}-{index}-{mode}-{}-h{node_failures}",
        if scarce { "scarce" } else { "loose" }
    );
    (name, docs)
}

/// The result of a sweep.
#[derive(Debug, Default)]
pub struct Sweep {
    /// Instances swept.
    pub instances: usize,
    /// Instances with a valid baseline plan.
    pub baseline_complete: usize,
    /// Instances on which the planner placed every replica.
    pub planner_complete: usize,
    /// Complete planner plans that cost more than a valid baseline plan (reported only).
    pub costlier: usize,
    /// (name, what is wrong, expected outcome, the instance as YAML).
    pub findings: Vec<(String, String, Expected, String)>,
}

/// Examines instances `0..count` of the sweep seeded with `seed`; `progress` is told after
/// each one.
pub fn run(seed: u64, count: u64, mut progress: impl FnMut(&Sweep)) -> Sweep {
    let mut sweep = Sweep::default();
    for index in 0..count {
        let (name, docs) = instance(seed, index);
        let yaml = docs.to_yaml();
        // The generator's documents always build; one that did not would be its bug.
        let model = model::build(docs).unwrap_or_else(|e| panic!("{name}: {e}"));
        let v = examine(&model);
        sweep.instances += 1;
        sweep.baseline_complete += usize::from(!v.baselines_valid.is_empty());
        sweep.planner_complete += usize::from(v.planner_complete);
        sweep.costlier += usize::from(v.costlier_than_a_baseline);
        if let Some(problem) = &v.problem {
            sweep
                .findings
                .push((name, problem.clone(), v.expected(), yaml));
        }
        progress(&sweep);
    }
    sweep
}
