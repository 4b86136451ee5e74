//! The input layer: files → YAML documents → typed wire documents, with diagnostics.
//!
//! Owns everything about how input is written (file discovery, YAML, the serde wire types,
//! error locations). It knows nothing of planning; `model::build` validates what it yields.
//! New input sources (plain Kubernetes objects, live clusters) are further producers of
//! [`Documents`].

pub mod diag;
pub mod k8s;
pub mod load;
pub mod wire;

pub use diag::{Diagnostic, InputError, Origin};

use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use wire::{
    NodeDoc, NodeTypeDoc, PolicyDoc, ScenarioDoc, WorkloadDoc, API_VERSION, KINDS, SCENARIO_KIND,
};

/// Typed documents of every kind, each with its origin, in input order.
#[derive(Debug, Clone, Default)]
pub struct Documents {
    /// The Policy documents (at most one is valid).
    pub policies: Vec<(Origin, PolicyDoc)>,
    /// The Workload documents.
    pub workloads: Vec<(Origin, WorkloadDoc)>,
    /// The Node documents (the inventory).
    pub nodes: Vec<(Origin, NodeDoc)>,
    /// The NodeType documents (the catalog).
    pub node_types: Vec<(Origin, NodeTypeDoc)>,
    /// Kinds of which some document may have been left out as unreadable or invalid, so that
    /// "there is no document of this kind" would mislead.
    pub rejected_kinds: std::collections::BTreeSet<&'static str>,
    /// What was read from Kubernetes objects, when any were given.
    pub kubernetes: Option<k8s::translate::Summary>,
}

impl Documents {
    /// `sha256:<hex>` of the documents' content: each document's kind, metadata (but its
    /// annotations, which tierplan ignores) and spec as canonical JSON, sorted by kind,
    /// namespace and name. Files, document order, comments and YAML layout do not count, so
    /// the same inventory gives the same fingerprint however it is laid out in files.
    pub fn fingerprint(&self) -> String {
        self.canonical().fingerprint(|_| true)
    }

    /// The documents' content as [`Documents::fingerprint`] hashes it, kept so that the
    /// fingerprint of these documents less some of them costs a hash, not a serialisation.
    pub fn canonical(&self) -> Canonical {
        fn canonical<S: serde::Serialize + Clone>(
            docs: &[(Origin, wire::Document<S>)],
        ) -> Vec<CanonicalDoc> {
            docs.iter()
                .map(|(_, d)| {
                    let mut d = d.clone();
                    d.metadata.annotations.clear();
                    let json = serde_json::to_string(
                        &serde_json::to_value(&d).expect("documents serialise"),
                    )
                    .expect("JSON values serialise");
                    let m = &d.metadata;
                    CanonicalDoc {
                        kind: d.kind,
                        namespace: m.namespace.clone().unwrap_or_default(),
                        name: m.name.clone(),
                        json,
                    }
                })
                .collect()
        }
        let mut all = canonical(&self.policies);
        all.extend(canonical(&self.workloads));
        all.extend(canonical(&self.nodes));
        all.extend(canonical(&self.node_types));
        all.sort();
        Canonical(all)
    }

    /// The documents as one multi-document YAML file: policies, workloads, nodes, node types,
    /// in order. Reading it back yields the same documents (with origins numbered in that
    /// order), so documents built in code can be written out as input files.
    pub fn to_yaml(&self) -> String {
        fn push<S: serde::Serialize>(out: &mut String, doc: &wire::Document<S>) {
            if !out.is_empty() {
                out.push_str("---\n");
            }
            out.push_str(&serde_yaml::to_string(doc).expect("wire documents always serialise"));
        }
        let mut out = String::new();
        for (_, d) in &self.policies {
            push(&mut out, d);
        }
        for (_, d) in &self.workloads {
            push(&mut out, d);
        }
        for (_, d) in &self.nodes {
            push(&mut out, d);
        }
        for (_, d) in &self.node_types {
            push(&mut out, d);
        }
        out
    }
}

/// One document as [`Documents::fingerprint`] reads it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CanonicalDoc {
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`, empty when absent.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// The document as canonical JSON, annotations left out.
    pub json: String,
}

/// Documents' content, sorted, as [`Documents::fingerprint`] hashes it.
#[derive(Debug, Clone, Default)]
pub struct Canonical(pub Vec<CanonicalDoc>);

impl Canonical {
    /// `sha256:<hex>` of the documents `keep` keeps: the fingerprint of those documents.
    pub fn fingerprint(&self, keep: impl Fn(&CanonicalDoc) -> bool) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for d in self.0.iter().filter(|d| keep(d)) {
            hash.update(d.json.as_bytes());
            hash.update(b"\n");
        }
        let digest = hash.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

/// Reads and types every document under `paths`. Documents that could not be read or typed
/// are left out and described in the returned diagnostics, so that validation can still
/// report the problems of the others in the same run.
pub fn read_paths(paths: &[PathBuf]) -> (Documents, Vec<Diagnostic>) {
    read_paths_and(paths, None)
}

/// As [`read_paths`], with one more file already in memory (a live cluster's snapshot),
/// named `extra.0` in diagnostics.
pub fn read_paths_and(
    paths: &[PathBuf],
    extra: Option<(&Path, &[u8])>,
) -> (Documents, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let raw = load::read_all(paths, extra, &mut diags);
    type_all(raw, diags)
}

/// Reads and types the documents of one file already in memory, named `file` in
/// diagnostics, as [`read_paths`] does for files on disk.
pub fn read_bytes(file: &Path, bytes: &[u8]) -> (Documents, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let raw = load::parse_documents(file, bytes, &mut load::Budget::default(), &mut diags);
    type_all(raw, diags)
}

fn type_all(
    raw: Vec<load::RawDocument>,
    mut diags: Vec<Diagnostic>,
) -> (Documents, Vec<Diagnostic>) {
    let unreadable = !diags.is_empty();
    let mut docs = type_documents(raw, &mut diags);
    if unreadable {
        docs.rejected_kinds.extend(KINDS);
    }
    (docs, diags)
}

/// Reads and types the Scenario documents under `paths` (what-if scenarios, which are kept
/// apart from the planning inputs); any other kind there is a problem.
pub fn read_scenarios(paths: &[PathBuf]) -> (Vec<(Origin, ScenarioDoc)>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut out = Vec::new();
    for load::RawDocument { origin, value } in load::read_all(paths, None, &mut diags) {
        let field = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_string);
        let problem = match (field("apiVersion"), field("kind")) {
                (Some(v), _) if v != API_VERSION => Some((
                    "apiVersion",
                    format!("unknown apiVersion `{v}`"),
                    format!("use `apiVersion: {API_VERSION}`"),
                )),
                (None, _) => Some((
                    "apiVersion",
                    "apiVersion is missing".to_string(),
                    format!("add `apiVersion: {API_VERSION}`"),
                )),
                (_, Some(k)) if k == SCENARIO_KIND => None,
                (_, k) => Some((
                    "kind",
                    match k {
                        Some(k) => format!("a scenario file holds Scenario documents, not `{k}`"),
                        None => "kind is missing".to_string(),
                    },
                    "write `kind: Scenario`; pass planning input (Policy, Workload, Node, NodeType) as PATH".to_string(),
                )),
            };
        match problem {
            Some((path, problem, fix)) => {
                let code = if path == "kind" { "E012" } else { "E011" };
                diags.push(Diagnostic::new(code, Some(&origin), path, problem, fix));
            }
            None => {
                push_typed(&mut out, origin, value, &mut diags);
            }
        }
    }
    (out, diags)
}

/// Dispatches raw documents on `apiVersion` and `kind` and deserialises them strictly.
pub fn type_documents(raw: Vec<load::RawDocument>, diags: &mut Vec<Diagnostic>) -> Documents {
    let mut docs = Documents::default();
    let mut kubernetes = Vec::new();
    for load::RawDocument { origin, value } in raw {
        if k8s::objects::is_kubernetes(&value) {
            kubernetes.push(load::RawDocument { origin, value });
            continue;
        }
        let field = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_string);
        // The kinds this document may have been meant as, should it be left out.
        let meant: Vec<&'static str> =
            match KINDS.iter().find(|&&k| field("kind").as_deref() == Some(k)) {
                Some(&k) => vec![k],
                None => KINDS.to_vec(),
            };
        if !value.is_mapping() {
            docs.rejected_kinds.extend(&meant);
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
                docs.rejected_kinds.extend(&meant);
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
                docs.rejected_kinds.extend(&meant);
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
            Some("NodeType") => {
                if !push_typed(&mut docs.node_types, origin, value, diags) {
                    docs.rejected_kinds.insert("NodeType");
                }
            }
            Some(SCENARIO_KIND) => diags.push(Diagnostic::new(
                "E080",
                Some(&origin),
                "kind",
                "a Scenario is a what-if change, not planning input",
                "pass scenario files with `tierplan whatif PATH... --scenario FILE`",
            )),
            other => {
                let problem = match other {
                    Some(k) => format!("unknown kind `{k}`"),
                    None => "kind is missing".to_string(),
                };
                let hint = other.map(|k| diag::hint(k, KINDS)).unwrap_or_default();
                docs.rejected_kinds.extend(KINDS);
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
    if !kubernetes.is_empty() {
        k8s::add(&mut docs, kubernetes, diags);
    }
    docs
}

/// Deserialises one document strictly; false (with a diagnostic) when it does not fit. An
/// unknown field is reported and then set aside, so that the document's other problems (a bad
/// quantity, an unknown sensitivity) are found in the same run; the input stays invalid.
fn push_typed<T: DeserializeOwned>(
    out: &mut Vec<(Origin, T)>,
    origin: Origin,
    mut value: serde_yaml::Value,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    loop {
        match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(doc) => {
                out.push((origin, doc));
                return true;
            }
            Err(e) => {
                let path = e.path().to_string();
                let path = if path == "." { String::new() } else { path };
                let message = e.inner().to_string();
                let (problem, fix) = explain_serde(&message);
                diags.push(Diagnostic::new("E013", Some(&origin), path, problem, fix));
                let unknown = message.starts_with("unknown field `");
                if !(unknown && remove_at(&mut value, e.path())) {
                    return false;
                }
            }
        }
    }
}

/// Removes the map entry `path` names; false when there is none (so no progress is made).
fn remove_at(value: &mut serde_yaml::Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let Some((Segment::Map { key }, parents)) = segments.split_last() else {
        return false;
    };
    let mut at = value;
    for segment in parents {
        let next = match segment {
            Segment::Map { key } => at.get_mut(key.as_str()),
            Segment::Seq { index } => at.get_mut(*index),
            _ => None,
        };
        match next {
            Some(v) => at = v,
            None => return false,
        }
    }
    at.as_mapping_mut()
        .is_some_and(|m| m.remove(key.as_str()).is_some())
}

/// Turns serde's message into a problem and a fix; unknown fields get a did-you-mean.
pub(crate) fn explain_serde(message: &str) -> (String, String) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> (Documents, Vec<Diagnostic>) {
        read_bytes(Path::new("in.yaml"), text.as_bytes())
    }

    const NODE: &str = "apiVersion: tierplan/v1alpha1\nkind: Node\nmetadata: {name: n}\nspec: {allocatable: {cpu: 1}}\n";

    #[test]
    fn dispatches_on_kind() {
        let (docs, diags) = typed(NODE);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(docs.nodes.len(), 1);
        assert_eq!(docs.nodes[0].1.metadata.name, "n");
        assert!(docs.rejected_kinds.is_empty());
    }

    #[test]
    fn unknown_kind_gets_a_did_you_mean_and_may_have_been_anything() {
        let (docs, diags) = typed(&NODE.replace("kind: Node", "kind: node"));
        assert_eq!(diags[0].code, "E012");
        assert!(
            diags[0].fix.starts_with("did you mean `Node`?"),
            "{}",
            diags[0].fix
        );
        assert_eq!(docs.rejected_kinds.len(), KINDS.len());
    }

    #[test]
    fn wrong_or_missing_api_version_marks_only_its_kind() {
        let (docs, diags) = typed(&NODE.replace("tierplan/v1alpha1", "tierplan/v1"));
        assert_eq!(
            (diags[0].code, diags[0].path.as_str()),
            ("E011", "apiVersion")
        );
        assert_eq!(
            docs.rejected_kinds.iter().copied().collect::<Vec<_>>(),
            ["Node"]
        );
        let (_, diags) = typed("kind: Node\n");
        assert_eq!(diags[0].problem, "apiVersion is missing");
    }

    #[test]
    fn kubernetes_objects_are_read_beside_tierplan_documents() {
        let (docs, diags) = typed(&format!(
            "{NODE}---\napiVersion: v1\nkind: Node\nmetadata: {{name: k, labels: {{topology.kubernetes.io/zone: a}}}}\nstatus: {{allocatable: {{cpu: '2', pods: '110', hugepages-1Gi: '0'}}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: s}}\n"
        ));
        assert!(diags.is_empty(), "{diags:?}");
        let names: Vec<&str> = docs
            .nodes
            .iter()
            .map(|(_, n)| n.metadata.name.as_str())
            .collect();
        assert_eq!(names, ["n", "k"]);
        let k = &docs.nodes[1].1.spec;
        assert_eq!(k.zone.as_deref(), Some("a"));
        assert!(!k.allocatable.contains_key("hugepages-1Gi"));
        let summary = docs.kubernetes.expect("a summary");
        assert_eq!(summary.skipped["Service"], 1);
    }

    #[test]
    fn strict_fields_name_their_path_and_a_fix() {
        let (docs, diags) = typed(&NODE.replace("allocatable:", "allocatble:"));
        let d = &diags[0];
        assert_eq!((d.code, d.path.as_str()), ("E013", "spec.allocatble"));
        assert_eq!(d.problem, "unknown field `allocatble`");
        assert!(
            d.fix.starts_with("did you mean `allocatable`?"),
            "{}",
            d.fix
        );
        assert!(docs.rejected_kinds.contains("Node"));
        let (_, diags) = typed(&NODE.replace("{allocatable: {cpu: 1}}", "{}"));
        assert_eq!(diags[0].problem, "missing field `allocatable`");
        assert_eq!(diags[0].fix, "add `allocatable`");
        let (_, diags) = typed(&NODE.replace("cpu: 1", "cpu: [1]"));
        assert_eq!(diags[0].path, "spec.allocatable.cpu");
    }

    #[test]
    fn an_unknown_field_does_not_hide_the_documents_other_problems() {
        let (docs, diags) = typed(&NODE.replace(
            "{allocatable: {cpu: 1}}",
            "{allocatable: {cpu: 1}, zon: a, cots: 1}",
        ));
        let paths: Vec<&str> = diags.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["spec.zon", "spec.cots"]);
        // Set aside, the document is read on, so validation can find what else is wrong.
        assert_eq!(docs.nodes.len(), 1);
    }

    #[test]
    fn an_unknown_field_far_from_any_lists_the_known_ones() {
        let (_, diags) = typed(&NODE.replace("{name: n}", "{name: n, x: 1}"));
        assert_eq!(diags[0].path, "metadata.x");
        assert!(diags[0].fix.contains("known fields"), "{}", diags[0].fix);
    }
}
