//! Raw documents → typed Kubernetes objects (k8s-openapi), with lists unwrapped.
//!
//! Owns the shapes `kubectl get -o yaml|json` and manifests in git come in: single objects,
//! multi-document files, `kind: List` and `*List`, bare JSON arrays, and list items without
//! `apiVersion`/`kind` (the API's raw list form, and archives that strip TypeMeta). Kinds
//! tierplan does not read are counted, never refused; Secrets are dropped unread.

use crate::input::diag::{Diagnostic, Origin};
use crate::input::load::RawDocument;
use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    LimitRange, Namespace, Node, Pod, PodTemplateSpec, ReplicationController,
};
use k8s_openapi::api::node::v1::RuntimeClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{NamespaceResourceScope, Resource};
use serde::de::DeserializeOwned;
use serde_yaml::Value;
use std::collections::BTreeMap;

/// Where one object was read: the document, and inside it the list item (`items[3]`), if
/// any. Field paths of diagnostics start from it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct At {
    /// The file and document.
    pub origin: Origin,
    /// `items[i]` or `[i]` for a list item; empty for a whole document.
    pub item: String,
}

impl At {
    /// The path of `field` of this object, as diagnostics print it.
    pub fn path(&self, field: &str) -> String {
        match (self.item.is_empty(), field.is_empty()) {
            (true, _) => field.to_string(),
            (false, true) => self.item.clone(),
            (false, false) => format!("{}.{field}", self.item),
        }
    }
}

/// One object that runs pods, whatever its kind: its pod template and how many pods of it
/// run at once.
#[derive(Debug, Clone)]
pub struct PodSet {
    /// Where it was read.
    pub at: At,
    /// `Deployment`, `StatefulSet`, `ReplicaSet`, `DaemonSet`, `Job`, `CronJob`, `Pod` or
    /// `ReplicationController`.
    pub kind: &'static str,
    /// The object's own metadata.
    pub meta: ObjectMeta,
    /// The pod template (a Pod's own metadata and spec for `kind: Pod`).
    pub template: PodTemplateSpec,
    /// Where the template sits in the object (`spec.template`, …; empty for a Pod).
    pub template_path: &'static str,
    /// Pods running at once: `spec.replicas` (default 1), a Job's `parallelism` (capped by
    /// `completions`), a CronJob's job template's; 1 for a Pod; `None` for a DaemonSet (one
    /// per node it admits).
    pub replicas: Option<u32>,
    /// The field `replicas` was read from, for provenance.
    pub replicas_from: &'static str,
}

impl PodSet {
    /// `namespace/name`, with `default` for objects without a namespace.
    pub fn id(&self) -> String {
        format!("{}/{}", namespace(&self.meta), name(&self.meta))
    }

    /// Whether a controller owns it (a ReplicaSet of a Deployment, a Job of a CronJob, a Pod
    /// of any of them): its pods are its owner's, so planning it as well would count them
    /// twice.
    pub fn owned(&self) -> bool {
        owned(&self.meta)
    }
}

/// Whether some controller owns the object (`ownerReferences[].controller: true`).
pub fn owned(meta: &ObjectMeta) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|o| o.controller == Some(true))
}

/// `metadata.namespace`, `default` when absent (where `kubectl apply` puts it).
pub fn namespace(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("default")
}

/// `metadata.name`, empty when absent.
pub fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

/// A typed object and where it was read.
#[derive(Debug, Clone)]
pub struct Located<T> {
    /// Where it was read.
    pub at: At,
    /// The object.
    pub object: T,
}

/// Every Kubernetes object of the kinds tierplan reads, typed, in input order.
#[derive(Debug, Clone, Default)]
pub struct Objects {
    /// Objects that run pods (controllers and bare Pods, owned ones included).
    pub pod_sets: Vec<PodSet>,
    /// The Pods themselves, as read (for audit: `spec.nodeName`, owners).
    pub pods: Vec<Located<Pod>>,
    /// Nodes.
    pub nodes: Vec<Located<Node>>,
    /// Namespaces.
    pub namespaces: Vec<Located<Namespace>>,
    /// LimitRanges.
    pub limit_ranges: Vec<Located<LimitRange>>,
    /// RuntimeClasses.
    pub runtime_classes: Vec<Located<RuntimeClass>>,
    /// ValidatingAdmissionPolicies (for audit).
    pub admission_policies: Vec<Located<ValidatingAdmissionPolicy>>,
    /// ValidatingAdmissionPolicyBindings (for audit).
    pub admission_bindings: Vec<Located<ValidatingAdmissionPolicyBinding>>,
    /// Kinds read but not used, and how many objects of each (`Service`: 12).
    pub skipped: BTreeMap<String, usize>,
}

impl Objects {
    /// Whether no object was read at all (skipped ones included).
    pub fn is_empty(&self) -> bool {
        self.pod_sets.is_empty()
            && self.pods.is_empty()
            && self.nodes.is_empty()
            && self.namespaces.is_empty()
            && self.limit_ranges.is_empty()
            && self.runtime_classes.is_empty()
            && self.admission_policies.is_empty()
            && self.admission_bindings.is_empty()
            && self.skipped.is_empty()
    }

    /// The metadata of the Namespace named `name`, if read: the labels and annotations of
    /// every Namespace object of that name, later ones winning, so that a file of labelled
    /// Namespaces overlays the unlabelled ones an application's manifests create.
    pub fn namespace(&self, name: &str) -> Option<ObjectMeta> {
        let mut found = self
            .namespaces
            .iter()
            .map(|n| &n.object.metadata)
            .filter(|m| m.name.as_deref() == Some(name));
        let mut meta = found.next()?.clone();
        for m in found {
            for (into, from) in [
                (&mut meta.labels, &m.labels),
                (&mut meta.annotations, &m.annotations),
            ] {
                into.get_or_insert_with(Default::default)
                    .extend(from.clone().unwrap_or_default());
            }
        }
        Some(meta)
    }
}

/// Whether a document is a Kubernetes object (or list of them) rather than a tierplan
/// document: an apiVersion that is not tierplan's, a bare array, or a Node stripped of its
/// TypeMeta.
pub fn is_kubernetes(value: &Value) -> bool {
    match value.get("apiVersion").and_then(Value::as_str) {
        Some(v) => !v.starts_with("tierplan"),
        None => value.is_sequence() || (value.get("kind").is_none() && looks_like_node(value)),
    }
}

/// Whether a Kubernetes document (not a list) is of a kind tierplan reads.
pub fn reads(value: &Value) -> bool {
    let text = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or_default();
    value.is_sequence()
        || text("kind").ends_with("List")
        || KINDS_READ.contains(&(text("apiVersion"), text("kind")))
        || looks_like_node(value)
}

/// `(apiVersion, kind)` of every object [`read`] types.
const KINDS_READ: [(&str, &str); 14] = [
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "ReplicaSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("v1", "Pod"),
    ("v1", "ReplicationController"),
    ("v1", "Node"),
    ("v1", "Namespace"),
    ("v1", "LimitRange"),
    ("node.k8s.io/v1", "RuntimeClass"),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicy",
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicyBinding",
    ),
];

/// A Node's status is the only one with `nodeInfo` (kubelet and OS versions): an object
/// with it and no TypeMeta is a Node, as the Insights archive and raw API lists write them.
fn looks_like_node(value: &Value) -> bool {
    value
        .get("status")
        .and_then(|s| s.get("nodeInfo"))
        .is_some()
}

/// Types every object of `raw` (documents [`is_kubernetes`] accepted). Objects of a kind
/// tierplan reads that do not parse are reported (E014) and left out.
pub fn read(raw: Vec<RawDocument>, diags: &mut Vec<Diagnostic>) -> Objects {
    let mut out = Objects::default();
    for RawDocument { origin, value } in raw {
        let at = At {
            origin,
            item: String::new(),
        };
        unwrap(&mut out, at, value, None, diags);
    }
    out
}

/// Files `value` under its kind, unwrapping lists; `list` is the apiVersion and item kind a
/// `*List` gives items that lack their own.
fn unwrap(
    out: &mut Objects,
    at: At,
    mut value: Value,
    list: Option<(&str, &str)>,
    diags: &mut Vec<Diagnostic>,
) {
    if let Value::Sequence(items) = value {
        for (i, item) in items.into_iter().enumerate() {
            let at = At {
                item: format!("{}[{i}]", at.item),
                ..at.clone()
            };
            unwrap(out, at, item, None, diags);
        }
        return;
    }
    if !value.is_mapping() {
        diags.push(Diagnostic::new(
            "E010",
            Some(&at.origin),
            at.path(""),
            "the list item is not a mapping",
            "write each item as an object with apiVersion, kind, metadata and spec",
        ));
        return;
    }
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let (api_version, kind) = match (text(&value, "apiVersion"), text(&value, "kind")) {
        (Some(a), Some(k)) => (a, k),
        (a, k) => match (list, looks_like_node(&value)) {
            (Some((la, lk)), _) => (a.unwrap_or(la.to_string()), k.unwrap_or(lk.to_string())),
            (None, true) => ("v1".to_string(), "Node".to_string()),
            (None, false) => {
                *out.skipped.entry("(no kind)".to_string()).or_default() += 1;
                return;
            }
        },
    };
    if let Some(item_kind) = kind.strip_suffix("List") {
        if let Some(Value::Sequence(items)) = value.get_mut("items").map(std::mem::take) {
            for (i, item) in items.into_iter().enumerate() {
                let at = At {
                    item: format!("{}items[{i}]", prefix(&at.item)),
                    ..at.clone()
                };
                // A plain `List` gives its items nothing: each carries its own TypeMeta.
                let inherit = (!item_kind.is_empty()).then_some((api_version.as_str(), item_kind));
                unwrap(out, at, item, inherit, diags);
            }
            return;
        }
    }
    file(out, at, &api_version, &kind, value, diags);
}

fn prefix(item: &str) -> String {
    if item.is_empty() {
        String::new()
    } else {
        format!("{item}.")
    }
}

/// Types one object of a known kind; any other kind is counted.
fn file(
    out: &mut Objects,
    at: At,
    api_version: &str,
    kind: &str,
    value: Value,
    diags: &mut Vec<Diagnostic>,
) {
    // Fields the planner never reads, and which make up most of a `kubectl get` dump.
    let value = strip(value);
    match (api_version, kind) {
        ("apps/v1", "Deployment") => pod_set(out, at, value, diags, |d: Deployment| {
            let spec = d.spec.unwrap_or_default();
            let replicas = Some(count(spec.replicas.unwrap_or(1)));
            (d.metadata, spec.template, replicas)
        }),
        ("apps/v1", "StatefulSet") => pod_set(out, at, value, diags, |d: StatefulSet| {
            let spec = d.spec.unwrap_or_default();
            let replicas = Some(count(spec.replicas.unwrap_or(1)));
            (d.metadata, spec.template, replicas)
        }),
        ("apps/v1", "ReplicaSet") => pod_set(out, at, value, diags, |d: ReplicaSet| {
            let spec = d.spec.unwrap_or_default();
            let replicas = Some(count(spec.replicas.unwrap_or(1)));
            (d.metadata, spec.template.unwrap_or_default(), replicas)
        }),
        ("v1", "ReplicationController") => {
            pod_set(out, at, value, diags, |d: ReplicationController| {
                let spec = d.spec.unwrap_or_default();
                let replicas = Some(count(spec.replicas.unwrap_or(1)));
                (d.metadata, spec.template.unwrap_or_default(), replicas)
            })
        }
        ("apps/v1", "DaemonSet") => pod_set(out, at, value, diags, |d: DaemonSet| {
            (d.metadata, d.spec.unwrap_or_default().template, None)
        }),
        ("batch/v1", "Job") => pod_set(out, at, value, diags, |d: Job| {
            let spec = d.spec.unwrap_or_default();
            let replicas = Some(job_pods(spec.parallelism, spec.completions));
            (d.metadata, spec.template, replicas)
        }),
        ("batch/v1", "CronJob") => pod_set(out, at, value, diags, |d: CronJob| {
            let job = d.spec.unwrap_or_default().job_template.spec;
            let job = job.unwrap_or_default();
            let replicas = Some(job_pods(job.parallelism, job.completions));
            (d.metadata, job.template, replicas)
        }),
        ("v1", "Pod") => {
            if let Some(p) = typed::<Pod>(&at, value, diags) {
                out.pod_sets.push(PodSet {
                    at: at.clone(),
                    kind: "Pod",
                    meta: p.metadata.clone(),
                    template: PodTemplateSpec {
                        metadata: Some(p.metadata.clone()),
                        spec: p.spec.clone(),
                    },
                    template_path: "",
                    replicas: Some(1),
                    replicas_from: "",
                });
                out.pods.push(Located { at, object: p });
            }
        }
        ("v1", "Node") => push(&mut out.nodes, at, value, diags),
        ("v1", "Namespace") => push(&mut out.namespaces, at, value, diags),
        ("v1", "LimitRange") => push(&mut out.limit_ranges, at, value, diags),
        ("node.k8s.io/v1", "RuntimeClass") => push(&mut out.runtime_classes, at, value, diags),
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy") => {
            push(&mut out.admission_policies, at, value, diags)
        }
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding") => {
            push(&mut out.admission_bindings, at, value, diags)
        }
        _ => *out.skipped.entry(kind.to_string()).or_default() += 1,
    }
}

/// Types `value` as the pod set kind `K` and files it with the metadata, template and
/// replicas (`None` for a DaemonSet) that `parts` takes from it.
fn pod_set<K: Resource<Scope = NamespaceResourceScope> + DeserializeOwned>(
    out: &mut Objects,
    at: At,
    value: Value,
    diags: &mut Vec<Diagnostic>,
    parts: impl FnOnce(K) -> (ObjectMeta, PodTemplateSpec, Option<u32>),
) {
    let Some(object) = typed::<K>(&at, value, diags) else {
        return;
    };
    let (template_path, replicas_from) = match K::KIND {
        "CronJob" => (
            "spec.jobTemplate.spec.template",
            "spec.jobTemplate.spec.parallelism",
        ),
        "Job" => ("spec.template", "spec.parallelism"),
        "DaemonSet" => ("spec.template", ""),
        _ => ("spec.template", "spec.replicas"),
    };
    let (meta, template, replicas) = parts(object);
    out.pod_sets.push(PodSet {
        at,
        kind: K::KIND,
        meta,
        template,
        template_path,
        replicas,
        replicas_from,
    });
}

/// A replica count read from the API, which keeps it non-negative.
fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// Pods of a Job running at once: `parallelism` (default 1), never more than `completions`
/// (the Job controller starts at most the completions still wanted, `pkg/controller/job`).
fn job_pods(parallelism: Option<i32>, completions: Option<i32>) -> u32 {
    let p = count(parallelism.unwrap_or(1));
    completions.map_or(p, |c| p.min(count(c)))
}

fn push<T: serde::de::DeserializeOwned>(
    out: &mut Vec<Located<T>>,
    at: At,
    value: Value,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(object) = typed(&at, value, diags) {
        out.push(Located { at, object });
    }
}

/// Drops `metadata.managedFields` (server-side apply bookkeeping, often most of the bytes)
/// and the `status` of every kind but Node (allocatable) and Pod (phase, for audit).
fn strip(mut value: Value) -> Value {
    if let Some(m) = value.get_mut("metadata").and_then(Value::as_mapping_mut) {
        m.remove("managedFields");
    }
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !matches!(kind, "Node" | "Pod" | "") {
        if let Some(m) = value.as_mapping_mut() {
            m.remove("status");
        }
    }
    value
}

fn typed<T: serde::de::DeserializeOwned>(
    at: &At,
    value: Value,
    diags: &mut Vec<Diagnostic>,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(t) => Some(t),
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            diags.push(Diagnostic::new(
                "E014",
                Some(&at.origin),
                at.path(&path),
                format!("not a valid Kubernetes object: {}", e.inner()),
                "fix the field as the Kubernetes API reference describes it (the API server would refuse it too)",
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn objects(text: &str) -> (Objects, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let raw = crate::input::load::parse_documents(
            &PathBuf::from("in.yaml"),
            text.as_bytes(),
            &mut Default::default(),
            &mut diags,
        );
        let raw = raw
            .into_iter()
            .filter(|r| is_kubernetes(&r.value))
            .collect();
        let out = read(raw, &mut diags);
        (out, diags)
    }

    #[test]
    fn lists_arrays_and_bare_nodes_unwrap() {
        let (o, d) = objects(
            r#"{"kind": "NodeList", "apiVersion": "v1", "items": [{"metadata": {"name": "a"}}]}
---
[{"metadata": {"name": "b"}, "status": {"nodeInfo": {"kubeletVersion": "v1.30.0"}}}]
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Service, metadata: {name: s}}
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}}
- {apiVersion: v1, kind: Secret, metadata: {name: x}, data: {password: c2VjcmV0}}
"#,
        );
        assert!(d.is_empty(), "{d:?}");
        let names: Vec<_> = o.nodes.iter().map(|n| name(&n.object.metadata)).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(o.nodes[0].at.item, "items[0]");
        assert_eq!(o.nodes[1].at.item, "[0]");
        assert_eq!(o.pod_sets[0].id(), "default/d");
        assert_eq!(o.pod_sets[0].replicas, Some(1));
        assert_eq!(
            o.skipped,
            BTreeMap::from([("Secret".into(), 1), ("Service".into(), 1)])
        );
    }

    #[test]
    fn tierplan_documents_are_not_kubernetes_ones() {
        let doc = |t: &str| serde_yaml::from_str::<Value>(t).unwrap();
        assert!(!is_kubernetes(&doc(
            "{apiVersion: tierplan/v1alpha1, kind: Node}"
        )));
        assert!(!is_kubernetes(&doc(
            "{apiVersion: tierplan/v2, kind: Node}"
        )));
        assert!(!is_kubernetes(&doc("{kind: Node}")));
        assert!(is_kubernetes(&doc(
            "{apiVersion: apps/v1, kind: Deployment}"
        )));
    }

    #[test]
    fn job_pods_follow_the_job_controller() {
        assert_eq!(job_pods(None, None), 1);
        assert_eq!(job_pods(Some(5), None), 5);
        assert_eq!(job_pods(Some(5), Some(2)), 2);
        assert_eq!(job_pods(Some(0), Some(2)), 0);
    }

    #[test]
    fn a_bad_field_is_reported_at_its_path() {
        let (o, d) = objects(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: many}\n",
        );
        assert!(o.pod_sets.is_empty());
        assert_eq!((d[0].code, d[0].path.as_str()), ("E014", "spec.replicas"));
    }
}
