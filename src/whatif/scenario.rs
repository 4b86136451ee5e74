//! Scenarios: a change to the planning inputs, applied to the baseline's documents.
//!
//! Owns the meaning of `kind: Scenario`. A scenario is applied to the wire documents, not to
//! the model, so that what it adds is validated by `model::build` like any other input, and
//! the documents of a scenario can be written out and read back by `tierplan check`.
//! Problems of the scenario itself (unknown names, selectors that match nothing, a scale with
//! no target) are reported all at once, each at its field of the Scenario document.

use crate::input::diag::hint;
use crate::input::wire::{
    Document, PolicySpec, ScaleSpec, ScenarioDoc, ScenarioSpec, WorkloadDoc, API_VERSION,
};
use crate::input::{Diagnostic, Documents, Origin};
use crate::model::ZONE_LABEL;
use std::collections::{BTreeMap, BTreeSet};

/// The kind of the documents a scenario adds, as the loader would name them.
const POLICY: &str = "Policy";

/// One what-if scenario: a name and a change.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Where it was read; `None` for the scenarios a sweep makes.
    pub origin: Option<Origin>,
    /// `metadata.name`: the scenario's row in the table and its directory under `scenarios/`.
    pub name: String,
    /// What it changes.
    pub spec: ScenarioSpec,
}

impl Scenario {
    /// A scenario made in code (by a sweep), with no file behind it.
    pub fn new(name: impl Into<String>, spec: ScenarioSpec) -> Self {
        Scenario {
            origin: None,
            name: name.into(),
            spec,
        }
    }

    /// The scenario of a document read from a file.
    pub fn from_document(origin: Origin, doc: ScenarioDoc) -> Self {
        Scenario {
            origin: Some(origin),
            name: doc.metadata.name,
            spec: doc.spec,
        }
    }

    /// The scenario as a document, to be written out and read back.
    pub fn to_document(&self) -> ScenarioDoc {
        Document {
            api_version: API_VERSION.to_string(),
            kind: crate::input::wire::SCENARIO_KIND.to_string(),
            metadata: crate::input::wire::Metadata {
                name: self.name.clone(),
                ..Default::default()
            },
            spec: self.spec.clone(),
        }
    }

    fn diag(&self, code: &'static str, path: String, problem: String, fix: String) -> Diagnostic {
        Diagnostic::new(code, self.origin.as_ref(), path, problem, fix)
    }
}

/// Problems of the scenario list as a whole: names must be unique and usable as directory
/// names (each scenario's plan is written to `scenarios/<name>/`).
pub fn check_names(scenarios: &[Scenario]) -> Vec<Diagnostic> {
    let mut seen = BTreeSet::new();
    let mut diags = Vec::new();
    for s in scenarios {
        let valid = !s.name.is_empty()
            && s.name.len() <= 253
            && !s.name.starts_with('.')
            && s.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b));
        if !valid {
            diags.push(s.diag(
                "E081",
                "metadata.name".into(),
                format!("scenario name `{}` cannot name a directory", s.name),
                "use letters, digits, `-`, `_`, `.` and `+`, not starting with `.`".into(),
            ));
        }
        if !seen.insert(s.name.as_str()) {
            diags.push(s.diag(
                "E081",
                "metadata.name".into(),
                format!("another scenario is named `{}`", s.name),
                "give every scenario its own name".into(),
            ));
        }
    }
    diags
}

/// The baseline's documents with `scenario` applied, or every problem of the scenario.
pub fn apply(base: &Documents, scenario: &Scenario) -> Result<Documents, Vec<Diagnostic>> {
    let mut docs = base.clone();
    let mut diags = Vec::new();
    let spec = &scenario.spec;
    // What the scenario adds is read as if it stood in the scenario's file.
    let origin = scenario.origin.clone().unwrap_or_else(|| Origin {
        file: format!("scenario {}", scenario.name).into(),
        doc: 0,
    });
    if let Some(remove) = &spec.remove_nodes {
        remove_nodes(&mut docs, scenario, remove, &mut diags);
    }
    for added in &spec.add_nodes {
        docs.nodes.push((origin.clone(), document("Node", added)));
    }
    for added in &spec.add_node_types {
        docs.node_types
            .push((origin.clone(), document("NodeType", added)));
    }
    remove_workloads(&mut docs, scenario, &mut diags);
    for added in &spec.add_workloads {
        docs.workloads
            .push((origin.clone(), document("Workload", added)));
    }
    for (i, scale) in spec.scale_workloads.iter().enumerate() {
        scale_workloads(&mut docs, scenario, i, scale, &mut diags);
    }
    // Scaled to nothing is gone: the input has no workload of 0 replicas.
    docs.workloads.retain(|(_, d)| d.spec.replicas != Some(0));
    if let Some(patch) = &spec.policy {
        merge_policy(&mut docs, scenario, &origin, patch, &mut diags);
    }
    if diags.is_empty() {
        Ok(docs)
    } else {
        Err(diags)
    }
}

fn document<S: Clone>(kind: &str, added: &crate::input::wire::Added<S>) -> Document<S> {
    Document {
        api_version: API_VERSION.to_string(),
        kind: kind.to_string(),
        metadata: added.metadata.clone(),
        spec: added.spec.clone(),
    }
}

fn remove_nodes(
    docs: &mut Documents,
    scenario: &Scenario,
    remove: &crate::input::wire::RemoveNodesSpec,
    diags: &mut Vec<Diagnostic>,
) {
    let gone = removed_nodes(docs, scenario, remove, diags);
    docs.nodes.retain(|(_, d)| !gone.contains(&d.metadata.name));
}

/// Whether `spec` does nothing but remove nodes (a failure): such a scenario is re-planned
/// by repairing the baseline (see `solve::repair`).
pub fn only_removes_nodes(spec: &ScenarioSpec) -> bool {
    spec.remove_nodes.is_some()
        && ScenarioSpec {
            remove_nodes: None,
            ..spec.clone()
        } == ScenarioSpec::default()
}

/// The names of the inventory nodes `remove` takes away, problems aside.
pub fn removed_nodes(
    docs: &Documents,
    scenario: &Scenario,
    remove: &crate::input::wire::RemoveNodesSpec,
    diags: &mut Vec<Diagnostic>,
) -> BTreeSet<String> {
    let names: Vec<&str> = docs
        .nodes
        .iter()
        .map(|(_, d)| d.metadata.name.as_str())
        .collect();
    let mut gone: BTreeSet<String> = BTreeSet::new();
    for (i, name) in remove.names.iter().enumerate() {
        if names.contains(&name.as_str()) {
            gone.insert(name.clone());
        } else {
            diags.push(
                scenario.diag(
                    "E082",
                    format!("spec.removeNodes.names[{i}]"),
                    format!("no inventory node is named `{name}`"),
                    format!(
                        "{} name a Node of the input",
                        hint(name, names.iter().copied())
                    )
                    .trim()
                    .to_string(),
                ),
            );
        }
    }
    if !remove.selector.is_empty() {
        let selected: Vec<String> = docs
            .nodes
            .iter()
            .filter(|(_, d)| {
                remove.selector.iter().all(|(k, v)| {
                    let value = match k.as_str() {
                        ZONE_LABEL => d.spec.zone.as_ref().or(d.metadata.labels.get(k)),
                        _ => d.metadata.labels.get(k),
                    };
                    value == Some(v)
                })
            })
            .map(|(_, d)| d.metadata.name.clone())
            .collect();
        if selected.is_empty() {
            diags.push(scenario.diag(
                "E083",
                "spec.removeNodes.selector".into(),
                format!(
                    "no inventory node has every label of {}",
                    show_selector(&remove.selector)
                ),
                "name labels (or a zone, as topology.kubernetes.io/zone) that some Node has".into(),
            ));
        }
        gone.extend(selected);
    }
    gone
}

fn show_selector(selector: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("`{}`", pairs.join(","))
}

/// `namespace/name` of a workload document, as the model names it.
fn workload_id(d: &WorkloadDoc) -> String {
    let ns = d.metadata.namespace.as_deref().unwrap_or("default");
    format!("{ns}/{}", d.metadata.name)
}

/// A workload reference as the scenario writes it, as an id.
fn as_id(reference: &str) -> String {
    if reference.contains('/') {
        reference.to_string()
    } else {
        format!("default/{reference}")
    }
}

/// The index of the workload `reference` names; `None` after a problem at `path`.
fn find_workload(
    docs: &Documents,
    scenario: &Scenario,
    reference: &str,
    path: String,
    diags: &mut Vec<Diagnostic>,
) -> Option<usize> {
    let id = as_id(reference);
    let ids: Vec<String> = docs.workloads.iter().map(|(_, d)| workload_id(d)).collect();
    let found = ids.iter().position(|i| *i == id);
    if found.is_none() {
        diags.push(
            scenario.diag(
                "E084",
                path,
                format!("no workload is `{id}`"),
                format!(
                    "{} name a Workload of the input as namespace/name",
                    hint(&id, ids.iter().map(String::as_str))
                )
                .trim()
                .to_string(),
            ),
        );
    }
    found
}

fn remove_workloads(docs: &mut Documents, scenario: &Scenario, diags: &mut Vec<Diagnostic>) {
    let mut gone = BTreeSet::new();
    for (i, reference) in scenario.spec.remove_workloads.iter().enumerate() {
        let path = format!("spec.removeWorkloads[{i}]");
        gone.extend(find_workload(docs, scenario, reference, path, diags));
    }
    let mut index = 0;
    docs.workloads.retain(|_| {
        index += 1;
        !gone.contains(&(index - 1))
    });
}

/// The value of a workload attribute as the model reads it (see `Workload::attributes`).
fn attribute<'d>(d: &'d WorkloadDoc, attribute: &str) -> Option<&'d str> {
    let s = &d.spec;
    match attribute {
        "sensitivity" => s.sensitivity.as_deref(),
        "exposure" => s.exposure.as_deref(),
        "trust" => s.trust.as_deref(),
        "tenant" => s.tenant.as_deref(),
        "purpose" => s.purpose.as_deref(),
        "namespace" => Some(d.metadata.namespace.as_deref().unwrap_or("default")),
        other => s.attributes.get(other).map(String::as_str),
    }
}

fn scale_workloads(
    docs: &mut Documents,
    scenario: &Scenario,
    i: usize,
    scale: &ScaleSpec,
    diags: &mut Vec<Diagnostic>,
) {
    let at = |field: &str| format!("spec.scaleWorkloads[{i}]{field}");
    let targets: Vec<usize> = match (&scale.workload, scale.selector.is_empty()) {
        (Some(w), true) => match find_workload(docs, scenario, w, at(".workload"), diags) {
            Some(w) => vec![w],
            None => return,
        },
        (None, false) => {
            let ws: Vec<usize> = (0..docs.workloads.len())
                .filter(|&w| {
                    let d = &docs.workloads[w].1;
                    scale
                        .selector
                        .iter()
                        .all(|(k, v)| attribute(d, k) == Some(v.as_str()))
                })
                .collect();
            if ws.is_empty() {
                diags.push(scenario.diag(
                    "E085",
                    at(".selector"),
                    format!(
                        "no workload has every attribute of {}",
                        show_selector(&scale.selector)
                    ),
                    "name attributes (sensitivity, exposure, trust, tenant, purpose, namespace or a free attribute) that some Workload has".into(),
                ));
            }
            ws
        }
        _ => {
            diags.push(scenario.diag(
                "E086",
                at(""),
                "a scale entry needs exactly one of `workload` and `selector`".into(),
                "name one workload, or select workloads by attribute".into(),
            ));
            return;
        }
    };
    let change = match (scale.replicas, scale.factor) {
        (Some(n), None) if n >= 0 => Change::To(n),
        (None, Some(f)) => match Factor::new(f) {
            Some(f) => Change::By(f),
            None => {
                diags.push(scenario.diag(
                    "E087",
                    at(".factor"),
                    format!("factor {f} is not a positive number with at most 6 decimals"),
                    "write e.g. 2 to double, 1.5 to add half, 0.5 to halve".into(),
                ));
                return;
            }
        },
        (Some(n), None) => {
            diags.push(scenario.diag(
                "E087",
                at(".replicas"),
                format!("replicas {n} is negative"),
                "write 0 or more".into(),
            ));
            return;
        }
        _ => {
            diags.push(scenario.diag(
                "E086",
                at(""),
                "a scale entry needs exactly one of `replicas` and `factor`".into(),
                "set the new replica count, or a factor to multiply it by".into(),
            ));
            return;
        }
    };
    for w in targets {
        let spec = &mut docs.workloads[w].1.spec;
        let before = spec.replicas.unwrap_or(1);
        spec.replicas = Some(match change {
            Change::To(n) => n,
            Change::By(f) => f.apply(before),
        });
    }
}

enum Change {
    To(i64),
    By(Factor),
}

/// A replica factor as an exact fraction (millionths), so that 10 × 0.3 is 3, not 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Factor {
    millionths: i64,
}

impl Factor {
    /// The factor `f`, if it is positive, finite, at most 1,000,000 and has at most six
    /// decimals.
    pub fn new(f: f64) -> Option<Factor> {
        if !(f.is_finite() && f > 0.0 && f <= 1e6) {
            return None;
        }
        let millionths = (f * 1e6).round();
        ((millionths / 1e6 - f).abs() <= f * 1e-12 && millionths >= 1.0).then_some(Factor {
            millionths: millionths as i64,
        })
    }

    /// `replicas` × the factor, rounded up.
    pub fn apply(self, replicas: i64) -> i64 {
        let product = replicas as i128 * self.millionths as i128;
        let up = (product + 999_999).div_euclid(1_000_000);
        up.min(i64::MAX as i128) as i64
    }
}

fn merge_policy(
    docs: &mut Documents,
    scenario: &Scenario,
    origin: &Origin,
    patch: &serde_yaml::Mapping,
    diags: &mut Vec<Diagnostic>,
) {
    if docs.policies.is_empty() {
        let policy = Document {
            api_version: API_VERSION.to_string(),
            kind: POLICY.to_string(),
            metadata: crate::input::wire::Metadata {
                name: "policy".into(),
                ..Default::default()
            },
            spec: PolicySpec::default(),
        };
        docs.policies.push((origin.clone(), policy));
    }
    for (_, policy) in &mut docs.policies {
        let mut spec = match serde_yaml::to_value(&policy.spec) {
            Ok(serde_yaml::Value::Mapping(m)) => m,
            _ => serde_yaml::Mapping::new(),
        };
        for (k, v) in patch {
            spec.insert(k.clone(), v.clone());
        }
        match serde_path_to_error::deserialize::<_, PolicySpec>(serde_yaml::Value::Mapping(spec)) {
            Ok(merged) => policy.spec = merged,
            Err(e) => {
                let path = e.path().to_string();
                let (problem, fix) = crate::input::explain_serde(&e.inner().to_string());
                diags.push(scenario.diag("E088", format!("spec.policy.{path}"), problem, fix));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_are_exact() {
        let f = |x: f64| Factor::new(x).unwrap();
        assert_eq!(f(0.3).apply(10), 3);
        assert_eq!(f(1.1).apply(10), 11);
        assert_eq!(f(1.5).apply(3), 5);
        assert_eq!(f(2.0).apply(0), 0);
        assert_eq!(f(0.5).apply(1), 1);
        assert!(Factor::new(0.0).is_none());
        assert!(Factor::new(f64::NAN).is_none());
        assert!(Factor::new(1e-9).is_none());
        assert!(Factor::new(1.0000001).is_none());
    }
}
