//! What must hold for any input, shared by the fuzz targets (fuzz/) and the regression test
//! that replays the inputs they found (tests/fuzz_regressions.rs).

use std::path::Path;
use tierplan::input::read_bytes;
use tierplan::model::{self, Model};
use tierplan::plan::Status;
use tierplan::quantity::{self, Unit, MAX_AMOUNT};
use tierplan::solve::{self, SolveOptions};

/// Bytes as a file of `tierplan plan`: nothing panics, and a model that builds reads back
/// unchanged after being written as documents.
pub fn load(bytes: &[u8]) {
    let (docs, diags) = read_bytes(Path::new("fuzz.yaml"), bytes);
    let built = model::build(docs);
    let Ok(m) = built else { return };
    if !diags.is_empty() {
        return;
    }
    let text = model::to_documents(&m).to_yaml();
    let (again, diags) = read_bytes(Path::new("again.yaml"), text.as_bytes());
    assert!(diags.is_empty(), "{diags:?}\n{text}");
    let again = model::build(again).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(without_origins(again), without_origins(m), "{text}");
}

/// Bytes as a file to plan: the planner does not panic, and the independent checker finds
/// its plan consistent (and valid unless it says infeasible). Large instances are skipped:
/// this looks for crashes and wrong plans, not for slow ones.
pub fn plan(bytes: &[u8]) {
    let (docs, diags) = read_bytes(Path::new("fuzz.yaml"), bytes);
    let Ok(m) = model::build(docs) else { return };
    if !diags.is_empty() || m.total_replicas() > 200 || m.nodes.len() > 50 {
        return;
    }
    let options = SolveOptions {
        work_limit: 1_000_000,
        ..SolveOptions::default()
    };
    let plan = solve::solve(&m, &options).plan;
    let report = tierplan::check::check(&m, &plan);
    let sound = match plan.status {
        Status::Infeasible => report.is_consistent(),
        _ => report.is_valid(),
    };
    assert!(sound, "{report}\n{}", plan.to_json());
}

/// Any text as a quantity in both units: nothing panics, and an accepted amount is within
/// the limit and is read back exactly from its canonical text.
pub fn quantity(text: &str) {
    for unit in [Unit::Milli, Unit::Whole] {
        if let Ok(amount) = quantity::parse(text, unit) {
            assert!(amount <= MAX_AMOUNT, "{text:?}");
            assert_eq!(
                quantity::parse(&quantity::format(amount, unit), unit),
                Ok(amount),
                "{text:?}"
            );
        }
    }
}

fn without_origins(mut m: Model) -> Model {
    m.policy.origin = None;
    for o in m
        .workloads
        .iter_mut()
        .map(|w| &mut w.origin)
        .chain(m.nodes.iter_mut().map(|n| &mut n.origin))
    {
        o.file = "input".into();
        o.doc = 0;
    }
    // Of the documents as written, which a round trip through the model rewrites.
    m.fingerprint.clear();
    m
}
