//! Helpers shared by integration tests that plan small models written inline.

use std::path::Path;
use tierplan::check::check;
use tierplan::model::{self, Model};
use tierplan::plan::Plan;
use tierplan::solve::{solve, SolveOptions};

/// The model of `yaml`, which must be valid input.
pub fn model_of(yaml: &str) -> Model {
    let (docs, diags) = tierplan::input::read_bytes(Path::new("in.yaml"), yaml.as_bytes());
    assert!(diags.is_empty(), "{diags:?}");
    model::build(docs).unwrap_or_else(|e| panic!("{e}"))
}

/// The planner's plan of `m`, which the independent checker must find valid.
pub fn planned(m: &Model) -> Plan {
    let plan = solve(m, &SolveOptions::default()).plan;
    let report = check(m, &plan);
    assert!(report.is_valid(), "{report}\n{}", plan.to_json());
    plan
}
