//! The planner is never "infeasible" where a baseline finds a valid plan, and the checker
//! never refuses its plan (`tierplan plan` would exit 3): on the two inputs of issue 13, on
//! every instance the differential sweep ever found (`tests/data/sweep/`), and on a bounded
//! sweep of fresh random instances. The long run is `tierplan-bench sweep` (README, Testing).

use std::path::{Path, PathBuf};
use tierplan::bench::sweep::{self, Expected};
use tierplan::check::check;
use tierplan::model;
use tierplan::plan::Status;
use tierplan::solve::{solve, SolveOptions};

/// Instances of the bounded sweep: about 10 seconds in the test profile on 2 cores.
const BOUNDED: u64 = 100;

/// Plans a shared case with the binary, as a user would, and returns its exit code and the
/// planner's status; `None` when the shared data is absent.
fn plan_shared_case(name: &str) -> Option<(i32, Status)> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/cases")).join(name);
    if !dir.exists() {
        eprintln!("skipped: {} is not present", dir.display());
        return None;
    }
    let out = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args(["plan", dir.to_str().unwrap(), "--out"])
        .arg(out.path())
        .output()
        .expect("tierplan runs");
    let code = run.status.code().expect("exited normally");
    assert_ne!(
        code,
        3,
        "{name}: the checker refuses the plan\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let m = model::build_from_paths(&[dir]).unwrap();
    let plan = solve(&m, &SolveOptions::default()).plan;
    let report = check(&m, &plan);
    assert!(report.is_consistent(), "{name}: {report}");
    if plan.status != Status::Infeasible {
        assert!(report.is_valid(), "{name}: {report}");
    }
    Some((code, plan.status))
}

#[test]
fn headroom_plan_missed_gets_a_feasible_plan() {
    // First-fit decreasing one pool per class finds a plan on 32 of its 37 nodes.
    if let Some((code, status)) = plan_shared_case("headroom-plan-missed") {
        assert_eq!(code, 0);
        assert_ne!(status, Status::Infeasible);
    }
}

#[test]
fn unmet_min_nodes_is_never_refused_by_the_checker() {
    // A plan, or an infeasible one whose `unmet` the checker accepts (asserted inside).
    if let Some((code, status)) = plan_shared_case("unmet-min-nodes-internal-error") {
        assert_eq!(code, if status == Status::Infeasible { 1 } else { 0 });
    }
}

#[test]
fn every_instance_the_sweep_found_plans_as_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sweep");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no instance in {}", dir.display());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expected = Expected::from_text(&text)
            .unwrap_or_else(|| panic!("{}: no `# expected:` first line", file.display()));
        let m = model::build_from_paths(std::slice::from_ref(&file)).unwrap();
        let v = sweep::examine(&m);
        assert_eq!(v.problem, None, "{}", file.display());
        if expected == Expected::Feasible {
            assert!(v.planner_complete, "{}", file.display());
        }
    }
}

#[test]
fn bounded_sweep_finds_nothing() {
    let found = sweep::run(13, BOUNDED, |_| {});
    assert_eq!(found.instances, BOUNDED as usize);
    let lines: Vec<String> = found
        .findings
        .iter()
        .map(|(name, problem, ..)| format!("{name}: {problem}"))
        .collect();
    assert!(lines.is_empty(), "{}", lines.join("\n"));
    assert!(found.planner_complete >= found.baseline_complete);
}
