//! Planner vs baseline on the generated issue-2 instance and on every example.
//!
//! `cargo bench --features bench --bench plan [-- FILTER...]` prints a Markdown table: per instance, the time to
//! load and validate the YAML, then per method (the FFD one-pool-per-class baseline, the
//! planner) its time, cost per hour, nodes, lower bound, gap, status and whether
//! `tierplan::check` finds the plan valid. FILTERs keep the instances whose name contains one
//! of them (e.g. `generated`, `nist`).

use std::path::PathBuf;
use std::time::{Duration, Instant};
use tierplan::baseline::{ffd_cheapest_type_per_pool, ffd_one_pool_per_class};
use tierplan::check::check;
use tierplan::generate::{catalog, generate, GenParams};
use tierplan::model::{self, Model};
use tierplan::plan::{Plan, Status};
use tierplan::solve::{solve, SolveOptions};

/// One input to measure: YAML on disk, as users give it.
struct Case {
    name: String,
    paths: Vec<PathBuf>,
    /// Keeps generated files alive until the case is done.
    _dir: Option<tempfile::TempDir>,
}

/// One method's result on one instance.
struct Row {
    method: &'static str,
    time: Duration,
    plan: Plan,
    valid: bool,
    note: String,
}

/// Runs `f` until about a second is spent (at most 15 times, at least once) and returns its
/// last result with the median time. Slow runs (over a second) are measured once.
fn measure<T>(mut f: impl FnMut() -> T) -> (T, Duration) {
    let mut times = Vec::new();
    let start = Instant::now();
    loop {
        let t = Instant::now();
        let out = f();
        times.push(t.elapsed());
        if start.elapsed() >= Duration::from_secs(1) || times.len() >= 15 {
            times.sort();
            return (out, times[times.len() / 2]);
        }
    }
}

fn generated(name: &str, p: &GenParams) -> Case {
    written(name, &generate(p))
}

fn written(name: &str, docs: &tierplan::input::Documents) -> Case {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cluster.yaml");
    std::fs::write(&path, docs.to_yaml()).expect("write generated instance");
    Case {
        name: name.to_string(),
        paths: vec![path],
        _dir: Some(dir),
    }
}

fn cases() -> Vec<Case> {
    let mut cases = vec![
        generated("generated/issue-2", &GenParams::issue2()),
        generated("generated/scaled-500x250", &GenParams::scaled(500, 250, 1)),
        written(
            "generated/catalog-2000x30",
            &catalog(&GenParams::issue2(), 30),
        ),
    ];
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    if let Ok(entries) = std::fs::read_dir(&examples) {
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            let name = format!(
                "examples/{}",
                dir.file_name().unwrap_or_default().to_string_lossy()
            );
            cases.push(Case {
                name,
                paths: vec![dir],
                _dir: None,
            });
        }
    }
    cases
}

/// FFD with one pool per class; in catalog mode (no inventory), each pool on its cheapest
/// single node type.
fn run_baseline(model: &Model) -> Row {
    let catalog = model.nodes.is_empty();
    let (plan, time) = measure(|| {
        if catalog {
            ffd_cheapest_type_per_pool(model)
        } else {
            ffd_one_pool_per_class(model)
        }
    });
    let valid = check(model, &plan).is_valid();
    Row {
        method: if catalog {
            "baseline (FFD, pool per class, cheapest type)"
        } else {
            "baseline (FFD, pool per class)"
        },
        time,
        plan,
        valid,
        note: String::new(),
    }
}

/// The planner's row. Measured once: it is the slow one.
fn run_planner(model: &Model) -> Option<Row> {
    let t = Instant::now();
    let solved = solve(model, &SolveOptions::default());
    let time = t.elapsed();
    let valid = check(model, &solved.plan).is_valid();
    let s = &solved.stats;
    let note = format!(
        "{} classes, {} node types, {} groupings, work {}{}",
        s.classes,
        s.node_types,
        s.groupings_evaluated,
        s.work,
        if s.stopped_by_time {
            ", stopped by time"
        } else {
            ""
        }
    );
    Some(Row {
        method: "planner",
        time,
        plan: solved.plan,
        valid,
        note,
    })
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn status(s: Status) -> &'static str {
    match s {
        Status::Optimal => "optimal",
        Status::Feasible => "feasible",
        Status::Infeasible => "infeasible",
    }
}

fn main() {
    // cargo passes `--bench`; anything else not starting with `-` is a filter.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    println!("| instance | workloads | replicas | inventory | load+validate | method | time | cost/h | nodes | lower bound | gap | status | check | vs baseline |");
    println!("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---|---:|");
    let mut notes = Vec::new();
    for case in cases() {
        if !filters.is_empty() && !filters.iter().any(|f| case.name.contains(f.as_str())) {
            continue;
        }
        let (model, load) = measure(|| model::build_from_paths(&case.paths));
        let model = match model {
            Ok(m) => m,
            Err(e) => {
                println!(
                    "| {} | | | | | does not load: {} | | | | | | | | |",
                    case.name,
                    e.to_string().lines().next().unwrap_or("")
                );
                continue;
            }
        };
        let baseline = run_baseline(&model);
        let baseline_cost = baseline.plan.objective.cost;
        let baseline_feasible = baseline.plan.status != Status::Infeasible;
        let rows: Vec<Row> = std::iter::once(baseline)
            .chain(run_planner(&model))
            .collect();
        for (i, row) in rows.iter().enumerate() {
            let o = &row.plan.objective;
            let instance = if i == 0 {
                let inventory = if model.node_types.is_empty() {
                    model.nodes.len().to_string()
                } else {
                    format!("{} + {} types", model.nodes.len(), model.node_types.len())
                };
                format!(
                    "| {} | {} | {} | {inventory} | {} ",
                    case.name,
                    model.workloads.len(),
                    model.total_replicas(),
                    ms(load)
                )
            } else {
                "| | | | | ".to_string()
            };
            // Costs compare only between plans that both place everything.
            let vs = if i == 0 {
                String::new()
            } else if !baseline_feasible {
                "baseline infeasible".to_string()
            } else if row.plan.status == Status::Infeasible || baseline_cost <= 0.0 {
                "—".to_string()
            } else {
                format!("{:+.1}%", (o.cost - baseline_cost) / baseline_cost * 100.0)
            };
            println!(
                "{instance}| {} | {} | {:.3} | {} | {:.3} | {} | {} | {} | {vs} |",
                row.method,
                ms(row.time),
                o.cost,
                o.nodes,
                o.lower_bound,
                o.gap
                    .map_or("—".to_string(), |g| format!("{:.1}%", g * 100.0)),
                status(row.plan.status),
                if row.valid { "valid" } else { "not valid" },
            );
            if !row.note.is_empty() {
                notes.push(format!("- {} / {}: {}", case.name, row.method, row.note));
            }
        }
    }
    if !notes.is_empty() {
        println!();
        for n in notes {
            println!("{n}");
        }
    }
}
