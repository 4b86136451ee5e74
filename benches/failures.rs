//! The node-failure sweep of what-if analysis (issue 16) on the issue-2 instance
//! (`GenParams::issue2()`: 2,000 workloads, 1,000 nodes): the baseline is planned once,
//! then for every node it uses the scenario without that node is re-planned by
//! `solve::repair` (a full `solve` with the baseline as previous plan when it declines) and
//! verified by `check`, sequentially (or split over `--threads N` scoped threads, scenario i
//! on thread i mod N).
//!
//! `cargo bench --features bench --bench failures [-- --scratch N] [--threads N]` prints the
//! time of the whole sweep and of its parts (summed over threads), how many scenarios were
//! repaired and how many fell back, what building a scenario model costs from documents and
//! by `Model::without_nodes`, what the LP bound would cost a repair that cannot keep the
//! baseline's, and, for comparison, the first N scenarios (default 20) planned by a full
//! `solve` with the previous plan, extrapolated to the whole sweep.

use std::time::{Duration, Instant};
use tierplan::check::check;
use tierplan::generate::{generate, GenParams};
use tierplan::model::{self, Model};
use tierplan::plan::Plan;
use tierplan::solve::{repair, solve, SolveOptions};

/// Totals of the sweep.
#[derive(Default)]
struct Sweep {
    scenarios: usize,
    repaired: usize,
    fell_back: usize,
    infeasible: usize,
    moved: u64,
    model_time: Duration,
    repair_time: Duration,
    fallback_time: Duration,
    check_time: Duration,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let option = |name: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map_or(default, |n| n.parse().expect("a number"))
    };
    let scratch = option("--scratch", 20);
    let threads = option("--threads", 1).max(1);
    let docs = generate(&GenParams::issue2());
    let t = Instant::now();
    let model = model::build(docs.clone()).expect("the generated instance is valid");
    println!("model from documents: {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let baseline = solve(&model, &SolveOptions::default()).plan;
    println!(
        "baseline: {:.1} s, cost {:.2}/h on {} nodes, bound {:.2}",
        t.elapsed().as_secs_f64(),
        baseline.objective.cost,
        baseline.objective.nodes,
        baseline.objective.lower_bound
    );
    let mut used: Vec<String> = baseline
        .pools
        .iter()
        .flat_map(|p| p.nodes.clone())
        .collect();
    used.sort();
    scenario_models(&docs, &model, &used[0]);

    let start = Instant::now();
    // Scenario i goes to thread i mod threads.
    let parts: Vec<Sweep> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<&String> = used.iter().skip(t).step_by(threads).collect();
                let (model, baseline) = (&model, &baseline);
                scope.spawn(move || sweep(model, baseline, &mine))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("sweep"))
            .collect()
    });
    report(&parts, start.elapsed(), threads);
    bound_cost(&model, &baseline, &used[0]);
    from_scratch(
        &model,
        &baseline,
        &used[..scratch.min(used.len())],
        used.len(),
    );
}

/// Times a scenario model built from documents (the node's document left out) against
/// `Model::without_nodes`.
fn scenario_models(docs: &tierplan::input::Documents, model: &Model, name: &str) {
    let t = Instant::now();
    let mut less = docs.clone();
    less.nodes.retain(|(_, d)| d.metadata.name != name);
    let built = model::build(less).expect("valid");
    let from_docs = t.elapsed();
    let t = Instant::now();
    let derived = model.without_nodes(&[name]);
    let without = t.elapsed();
    assert_eq!(built.nodes, derived.nodes);
    println!(
        "scenario model: from documents {:.1} ms, without_nodes {:.2} ms",
        from_docs.as_secs_f64() * 1e3,
        without.as_secs_f64() * 1e3
    );
}

/// One re-plan per node in `used`, each verified.
fn sweep(model: &Model, baseline: &Plan, used: &[&String]) -> Sweep {
    let options = SolveOptions::default();
    let fallback = SolveOptions {
        previous: Some(baseline.clone()),
        ..SolveOptions::default()
    };
    let mut s = Sweep::default();
    for &name in used {
        let t = Instant::now();
        let scenario = model.without_nodes(&[name]);
        s.model_time += t.elapsed();
        let t = Instant::now();
        let repaired = repair(&scenario, baseline, &options);
        s.repair_time += t.elapsed();
        let plan = match repaired {
            Some(solved) => {
                s.repaired += 1;
                solved.plan
            }
            None => {
                let t = Instant::now();
                let plan = solve(&scenario, &fallback).plan;
                s.fallback_time += t.elapsed();
                s.fell_back += 1;
                plan
            }
        };
        let t = Instant::now();
        let report = check(&scenario, &plan);
        s.check_time += t.elapsed();
        // A repaired plan is always complete; a full solve may find the scenario infeasible.
        assert!(report.is_consistent(), "without {name}: {report}");
        assert!(
            report.is_valid() || s.fell_back > 0,
            "without {name}: {report}"
        );
        s.infeasible += usize::from(!report.is_valid());
        s.moved += plan.objective.disruption.map_or(0, |d| d.moved_replicas);
        s.scenarios += 1;
    }
    s
}

/// Prints the sweep's totals over its threads' parts; the parts' times add up CPU time.
fn report(parts: &[Sweep], wall: Duration, threads: usize) {
    let mut s = Sweep::default();
    for p in parts {
        s.scenarios += p.scenarios;
        s.repaired += p.repaired;
        s.fell_back += p.fell_back;
        s.infeasible += p.infeasible;
        s.moved += p.moved;
        s.model_time += p.model_time;
        s.repair_time += p.repair_time;
        s.fallback_time += p.fallback_time;
        s.check_time += p.check_time;
    }
    println!(
        "sweep: {} scenarios in {:.2} s on {threads} thread(s) ({} repaired, {} fell back to solve, {} infeasible; {} replicas moved)",
        s.scenarios,
        wall.as_secs_f64(),
        s.repaired,
        s.fell_back,
        s.infeasible,
        s.moved
    );
    println!(
        "  models {:.2} s, repairs (incl. declined) {:.2} s, fallback solves {:.2} s, checks {:.2} s",
        s.model_time.as_secs_f64(),
        s.repair_time.as_secs_f64(),
        s.fallback_time.as_secs_f64(),
        s.check_time.as_secs_f64()
    );
}

/// What the LP bound costs a repair: the same scenario with a fingerprint no plan knows,
/// so that the baseline's bound cannot be kept.
fn bound_cost(model: &Model, baseline: &Plan, name: &str) {
    let options = SolveOptions::default();
    let kept = model.without_nodes(&[name]);
    let mut fresh = kept.clone();
    fresh.fingerprint = "sha256:unknown".into();
    for (what, m) in [("kept bound", &kept), ("LP bound", &fresh)] {
        let t = Instant::now();
        let solved = repair(m, baseline, &options);
        let elapsed = t.elapsed();
        let bound = solved.map_or(f64::NAN, |s| s.plan.objective.lower_bound);
        println!(
            "repair with the {what}: {:.1} ms (bound {bound:.2})",
            elapsed.as_secs_f64() * 1e3
        );
    }
}

/// The first scenarios planned by a full `solve` with the previous plan, extrapolated to
/// `all` scenarios.
fn from_scratch(model: &Model, baseline: &Plan, used: &[String], all: usize) {
    if used.is_empty() {
        return;
    }
    let options = SolveOptions {
        previous: Some(baseline.clone()),
        ..SolveOptions::default()
    };
    let start = Instant::now();
    let mut moved = 0;
    for name in used {
        let scenario = model.without_nodes(&[name]);
        let plan = solve(&scenario, &options).plan;
        assert!(check(&scenario, &plan).is_consistent());
        moved += plan.objective.disruption.map_or(0, |d| d.moved_replicas);
    }
    let took = start.elapsed().as_secs_f64();
    println!(
        "from scratch (solve with previous): {} scenarios in {took:.1} s ({moved} replicas moved), about {:.0} s for all {all}",
        used.len(),
        took / used.len() as f64 * all as f64
    );
}
