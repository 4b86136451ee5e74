//! The quick benchmark suite, run the way `tierplan-bench run --suite quick` runs it: every
//! method in a child process of the bench binary, every plan re-verified by `check`.
//! Skipped when the data (`../shared/bench`, relative to the crate root) is absent.

use std::path::{Path, PathBuf};
use tierplan::bench::{self, report, Method, RunOptions, Suite};

#[test]
fn quick_suite_plans_validly_and_never_worse_than_the_baselines() {
    let data = Path::new("../shared/bench");
    if !data.exists() {
        eprintln!("skipped: {} is not present", data.display());
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let options = RunOptions {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_tierplan-bench")),
        data: data.to_path_buf(),
        scratch: scratch.path().to_path_buf(),
        filters: Vec::new(),
    };
    let result = bench::run_suite(Suite::Quick, &options).unwrap();
    assert!(result.cases.len() >= 8, "{} cases", result.cases.len());
    for c in &result.cases {
        for o in &c.outcomes {
            assert!(
                o.error.is_none(),
                "{} / {:?}: {:?}",
                c.name,
                o.method,
                o.error
            );
        }
        let p = c.run(Method::Planner).unwrap();
        assert!(p.valid, "{}: the planner's plan is not valid", c.name);
        if cfg!(target_os = "linux") {
            assert!(
                p.peak_rss_bytes.is_some_and(|b| b > 0),
                "{}: no peak memory",
                c.name
            );
        }
        // The baselines' plans may be incomplete (kube-scheduler strands replicas) but
        // never claim anything false.
        for m in [Method::Ffd, Method::Kube] {
            let r = c.run(m).unwrap();
            assert_eq!(r.violations, 0, "{} / {m:?}", c.name);
        }
    }
    let targets = report::targets(&result);
    for name in ["Never worse", "Every planner plan complete"] {
        let t = targets.iter().find(|t| t.what.starts_with(name)).unwrap();
        assert_eq!(t.met, Some(true), "{}: {}", t.what, t.measured);
    }
    // Both outputs are written and name every instance.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("benchmarks.csv");
    report::write_csv(&result, &csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let md = report::markdown(&result, "test");
    for c in &result.cases {
        assert!(text.contains(&c.name), "{} not in the CSV", c.name);
        assert!(md.contains(&c.name), "{} not in the Markdown", c.name);
    }
}
