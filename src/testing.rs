//! Test support: models from inline YAML, so unit tests read like the input they describe.

use crate::model::{self, Model};

/// Builds a model from YAML documents (joined with `---`), panicking on invalid input.
pub fn model(docs: &[&str]) -> Model {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("input.yaml");
    std::fs::write(&file, docs.join("\n---\n")).expect("write input");
    model::build_from_paths(&[file]).unwrap_or_else(|e| panic!("{e}"))
}

/// A Workload document with the given name and spec (flow-style YAML inside `{}`).
pub fn workload(name: &str, spec: &str) -> String {
    format!("apiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {{name: {name}}}\nspec: {{{spec}}}")
}

/// A Node document with 4 cpu, 16Gi and 110 pods unless `spec` says otherwise.
pub fn node(name: &str, labels: &str, spec: &str) -> String {
    let spec = if spec.is_empty() {
        "allocatable: {cpu: 4, memory: 16Gi, pods: 110}"
    } else {
        spec
    };
    format!("apiVersion: tierplan/v1alpha1\nkind: Node\nmetadata: {{name: {name}, labels: {{{labels}}}}}\nspec: {{{spec}}}")
}

/// A Policy document with the given spec.
pub fn policy(spec: &str) -> String {
    format!("apiVersion: tierplan/v1alpha1\nkind: Policy\nmetadata: {{name: p}}\nspec: {{{spec}}}")
}

/// `e` and its causes joined by `: `, as anyhow's `{:#}` prints an error chain.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
