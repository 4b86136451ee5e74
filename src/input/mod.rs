//! The input layer: files → YAML documents → typed wire documents, with diagnostics.
//!
//! Owns everything about how input is written (file discovery, YAML, the serde wire types,
//! error locations). It knows nothing of planning; `model::build` validates what it yields.
//! New input sources (plain Kubernetes objects, live clusters) are further producers of
//! [`Documents`].

pub mod diag;
pub mod load;
pub mod wire;

pub use diag::{Diagnostic, InputError, Origin};

use serde::de::DeserializeOwned;
use std::path::PathBuf;
use wire::{NodeDoc, PolicyDoc, WorkloadDoc, API_VERSION, KINDS};

/// Typed documents of every kind, each with its origin, in input order.
#[derive(Debug, Clone, Default)]
pub struct Documents {
    pub policies: Vec<(Origin, PolicyDoc)>,
    pub workloads: Vec<(Origin, WorkloadDoc)>,
    pub nodes: Vec<(Origin, NodeDoc)>,
    /// Kinds of documents left out because they did not deserialise.
    pub rejected_kinds: std::collections::BTreeSet<&'static str>,
}

/// Reads and types every document under `paths`. Documents that could not be read or typed
/// are left out and described in the returned diagnostics, so that validation can still
/// report the problems of the others in the same run.
pub fn read_paths(paths: &[PathBuf]) -> (Documents, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let files = load::expand(paths, &mut diags);
    let mut raw = Vec::new();
    for file in &files {
        raw.extend(load::read_file(file, &mut diags));
    }
    let docs = type_documents(raw, &mut diags);
    (docs, diags)
}

/// Dispatches raw documents on `apiVersion` and `kind` and deserialises them strictly.
pub fn type_documents(raw: Vec<load::RawDocument>, diags: &mut Vec<Diagnostic>) -> Documents {
    let mut docs = Documents::default();
    for load::RawDocument { origin, value } in raw {
        let field = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_string);
        if !value.is_mapping() {
            diags.push(Diagnostic::new(
                "E010",
                Some(&origin),
                "",
                "the document is not a mapping",
                "write a document with apiVersion, kind, metadata and spec",
            ));
            continue;
        }
        match field("apiVersion") {
            Some(v) if v == API_VERSION => {}
            Some(v) => {
                diags.push(Diagnostic::new(
                    "E011",
                    Some(&origin),
                    "apiVersion",
                    format!("unknown apiVersion `{v}`"),
                    format!("use `apiVersion: {API_VERSION}`"),
                ));
                continue;
            }
            None => {
                diags.push(Diagnostic::new(
                    "E011",
                    Some(&origin),
                    "apiVersion",
                    "apiVersion is missing",
                    format!("add `apiVersion: {API_VERSION}`"),
                ));
                continue;
            }
        }
        match field("kind").as_deref() {
            Some("Policy") => {
                if !push_typed(&mut docs.policies, origin, value, diags) {
                    docs.rejected_kinds.insert("Policy");
                }
            }
            Some("Workload") => {
                if !push_typed(&mut docs.workloads, origin, value, diags) {
                    docs.rejected_kinds.insert("Workload");
                }
            }
            Some("Node") => {
                if !push_typed(&mut docs.nodes, origin, value, diags) {
                    docs.rejected_kinds.insert("Node");
                }
            }
            other => {
                let problem = match other {
                    Some(k) => format!("unknown kind `{k}`"),
                    None => "kind is missing".to_string(),
                };
                let hint = other.map(|k| diag::hint(k, KINDS)).unwrap_or_default();
                diags.push(Diagnostic::new(
                    "E012",
                    Some(&origin),
                    "kind",
                    problem,
                    format!("{hint} use one of {}", KINDS.join(", "))
                        .trim()
                        .to_string(),
                ));
            }
        }
    }
    docs
}

/// Deserialises one document strictly; false (with a diagnostic) when it does not fit.
fn push_typed<T: DeserializeOwned>(
    out: &mut Vec<(Origin, T)>,
    origin: Origin,
    value: serde_yaml::Value,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(doc) => {
            out.push((origin, doc));
            true
        }
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let (problem, fix) = explain_serde(&e.inner().to_string());
            diags.push(Diagnostic::new("E013", Some(&origin), path, problem, fix));
            false
        }
    }
}

/// Turns serde's message into a problem and a fix; unknown fields get a did-you-mean.
fn explain_serde(message: &str) -> (String, String) {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let hint = diag::hint(field, candidates.iter().copied());
        let fix = if candidates.is_empty() {
            "remove it: this object takes no fields".to_string()
        } else if hint.is_empty() {
            format!("remove it; known fields: {}", candidates.join(", "))
        } else {
            format!("{hint} known fields: {}", candidates.join(", "))
        };
        return (format!("unknown field `{field}`"), fix);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return (format!("missing field `{field}`"), format!("add `{field}`"));
    }
    (
        message.to_string(),
        "write the value with the type the field takes (see schemas/)".to_string(),
    )
}
