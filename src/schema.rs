//! JSON Schemas of the input kinds, the plan and the what-if comparison, generated from the Rust types.
//!
//! `schemas/` holds their committed copies; a test fails when they are stale, and
//! `tierplan schemas DIR` rewrites them.

use crate::input::wire::{NodeDoc, NodeTypeDoc, PolicyDoc, ScenarioDoc, WorkloadDoc};
use crate::plan::Plan;
use crate::whatif::WhatIf;
use schemars::schema_for;

/// (file name, pretty JSON with a trailing newline) for every schema, in a fixed order.
pub fn all() -> Vec<(&'static str, String)> {
    let render = |s: schemars::schema::RootSchema| {
        let mut t = serde_json::to_string_pretty(&s).expect("schemas serialise");
        t.push('\n');
        t
    };
    vec![
        ("policy.schema.json", render(schema_for!(PolicyDoc))),
        ("workload.schema.json", render(schema_for!(WorkloadDoc))),
        ("node.schema.json", render(schema_for!(NodeDoc))),
        ("nodetype.schema.json", render(schema_for!(NodeTypeDoc))),
        ("scenario.schema.json", render(schema_for!(ScenarioDoc))),
        ("plan.schema.json", render(schema_for!(Plan))),
        ("whatif.schema.json", render(schema_for!(WhatIf))),
        (
            "audit.schema.json",
            render(schema_for!(crate::audit::Report)),
        ),
    ]
}
