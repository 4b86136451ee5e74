//! What an audit reads: Kubernetes objects (dumps, `kind: List`, snapshots) and the Policy,
//! through the same input layer as planning.
//!
//! Kubernetes objects are typed by [`objects::read`] and kept as they are, never turned into
//! Workloads: an audit judges the pods that run, and the importer's refusals (no sensitivity,
//! bare Pods) are findings here, not errors. The Policy is validated by the model builder so
//! that its meaning (levels, `separateBy`, `shareWhen`, defaults) is the planner's.

use crate::input::diag::{Diagnostic, InputError};
use crate::input::k8s::objects::{self, Objects};
use crate::input::k8s::tier;
use crate::input::load::{self, RawDocument};
use crate::input::wire::{Metadata, WorkloadDoc, WorkloadSpec, API_VERSION};
use crate::model::{self, Model, BUILTIN_ATTRIBUTES};
use std::path::{Path, PathBuf};

/// The name of the stand-in Workload that makes the Policy's free attributes known to the
/// model builder (which refuses attributes no workload sets); it is dropped after.
const STAND_IN: &str = "tierplan-audit-attributes";

/// An audit's input.
#[derive(Debug, Clone)]
pub struct Input {
    /// The Kubernetes objects read.
    pub objects: Objects,
    /// The validated Policy (in `model.policy`; workloads and nodes of tierplan documents
    /// given beside are kept but not audited).
    pub model: Model,
    /// The label and annotation prefix of tier attributes (`tierplan.io/`).
    pub prefix: String,
    /// The attributes read from labels: the built-in ones and those the Policy names.
    pub attributes: Vec<String>,
    /// Whether the objects were read from a live cluster (so absent objects are absent), not
    /// from files that may have left kinds out.
    pub cluster_read: bool,
}

/// Reads files and directories as every command does.
pub fn read_paths(paths: &[PathBuf]) -> Result<Input, InputError> {
    read_paths_and(paths, None)
}

/// As [`read_paths`], with a live cluster's snapshot (a `kind: List` as JSON, named by
/// `name` in diagnostics) read beside `paths`; the snapshot makes the input `cluster_read`.
pub fn read_paths_and(
    paths: &[PathBuf],
    snapshot: Option<(&Path, &[u8])>,
) -> Result<Input, InputError> {
    let mut diags = Vec::new();
    let raw = load::read_all(paths, snapshot, &mut diags);
    from_raw(raw, diags, snapshot.is_some())
}

/// Types `raw` (with the diagnostics of reading it so far); `cluster_read` for objects read
/// from a live cluster.
pub fn from_raw(
    raw: Vec<RawDocument>,
    mut diags: Vec<Diagnostic>,
    cluster_read: bool,
) -> Result<Input, InputError> {
    let (kubernetes, tierplan): (Vec<_>, Vec<_>) = raw
        .into_iter()
        .partition(|r| objects::is_kubernetes(&r.value));
    let objects = objects::read(kubernetes, &mut diags);
    let mut docs = crate::input::type_documents(tierplan, &mut diags);
    if objects.nodes.is_empty() && objects.pods.is_empty() && diags.is_empty() {
        diags.push(Diagnostic::new(
            "E073",
            None,
            "",
            "the audit input holds no Nodes and no Pods",
            "pass a dump of the cluster, e.g. `kubectl get nodes,namespaces,pods,deployments,replicasets,daemonsets,statefulsets,jobs -A -o yaml`",
        ));
    }
    if !diags.is_empty() {
        return Err(InputError::new(diags));
    }
    let spec = docs.policies.first().map(|(_, p)| p.spec.clone());
    let k = spec.as_ref().and_then(|s| s.kubernetes.clone());
    let prefix = k
        .and_then(|k| k.label_prefix)
        .unwrap_or_else(|| tier::DEFAULT_PREFIX.to_string());
    let mut attributes: Vec<String> = tier::BUILTIN.iter().map(|s| s.to_string()).collect();
    let free: Vec<String> = spec
        .iter()
        .flat_map(|s| {
            let rules = s
                .share_when
                .iter()
                .chain(s.node_requirements.iter().map(|r| &r.matches))
                .chain(s.pools.iter().map(|p| &p.matches));
            s.separate_by
                .iter()
                .flatten()
                .cloned()
                .chain(rules.flat_map(|r| r.keys().cloned()))
                .chain(s.defaults.keys().cloned())
                .collect::<Vec<_>>()
        })
        .filter(|a| {
            !BUILTIN_ATTRIBUTES.contains(&a.as_str()) && !tier::BUILTIN.contains(&a.as_str())
        })
        .collect();
    for a in &free {
        if !attributes.contains(a) {
            attributes.push(a.clone());
        }
    }
    if !free.is_empty() {
        docs.workloads.push((
            docs.policies[0].0.clone(),
            stand_in(&spec.clone().unwrap_or_default(), &free),
        ));
    }
    let mut model = model::build_scenario(docs)?;
    model.workloads.retain(|w| w.name != STAND_IN);
    Ok(Input {
        objects,
        model,
        prefix,
        attributes,
        cluster_read,
    })
}

/// A Workload setting each free attribute, so that the Policy naming them validates.
fn stand_in(spec: &crate::input::wire::PolicySpec, free: &[String]) -> WorkloadDoc {
    let level = spec
        .sensitivity_levels
        .as_ref()
        .and_then(|l| l.first().cloned())
        // The first of the default levels.
        .unwrap_or_else(|| "public".to_string());
    WorkloadDoc {
        api_version: API_VERSION.into(),
        kind: "Workload".into(),
        metadata: Metadata {
            name: STAND_IN.into(),
            namespace: Some(STAND_IN.into()),
            ..Metadata::default()
        },
        spec: WorkloadSpec {
            sensitivity: Some(level),
            attributes: free.iter().map(|a| (a.clone(), "x".to_string())).collect(),
            ..WorkloadSpec::default()
        },
    }
}
