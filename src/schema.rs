//! JSON Schemas of the input kinds and the plan, generated from the Rust types.
//!
//! `schemas/` holds their committed copies; a test fails when they are stale, and
//! `tierplan schemas DIR` rewrites them.

use crate::input::wire::{NodeDoc, NodeTypeDoc, PolicyDoc, WorkloadDoc};
use crate::plan::Plan;
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
        ("plan.schema.json", render(schema_for!(Plan))),
    ]
}
