//! Reads a `manifests/` directory back, independently of the code that wrote it: the Nodes of
//! `nodes.yaml`, the pod templates of the `workloads/` patches, and the Karpenter NodePools.
//!
//! Only the scheduling-relevant fields are read. Kubernetes objects are deserialised into
//! k8s-openapi types; the NodePool into the minimal struct below, since k8s-openapi has no
//! Karpenter types.

use k8s_openapi::api::core::v1::{Node, PodTemplateSpec, Taint};
use serde::Deserialize;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A manifest file larger than this is not one tierplan wrote (same limit as the input).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Why a manifests directory cannot be read at all (as opposed to a proof that fails).
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("{}: not a directory\n  fix: pass the manifests directory `tierplan plan --out DIR` wrote (DIR/manifests)", path.display())]
    NotADirectory { path: PathBuf },
    #[error("{}: cannot read: {source}\n  fix: check that the file exists and is readable", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: larger than {limit} bytes, so not a manifest tierplan wrote\n  fix: regenerate the manifests with `tierplan plan`", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{}: not valid YAML: {message}\n  fix: regenerate the manifests with `tierplan plan`", path.display())]
    Yaml { path: PathBuf, message: String },
    #[error("{} (document {doc}), field `{field}`: {problem}\n  fix: {fix}", path.display())]
    Field {
        path: PathBuf,
        /// 1-based document number within the file.
        doc: usize,
        field: String,
        problem: String,
        fix: String,
    },
}

/// A `v1 Node` of `nodes.yaml`: what server-side apply sets on the node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodePatch {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `None` when the document leaves taints alone; otherwise the whole list (taints are
    /// an atomic list, so applying it replaces the node's taints).
    pub taints: Option<Vec<Taint>>,
}

/// One strategic-merge patch of `workloads/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    pub file: PathBuf,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The patch's pod template (empty when the patch has none).
    pub template: PodTemplateSpec,
    /// Strategic-merge directives (`$patch`, `$retainKeys`, ...) found in the template, by
    /// field path: they change what the merge keeps, which the proof does not model.
    pub directives: Vec<String>,
}

impl Patch {
    /// `namespace/name`, as workload ids are written.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Whether the file is a system DaemonSet patch (`workloads/system.*`).
    pub fn is_system_file(&self) -> bool {
        self.file
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("system."))
    }
}

/// A Karpenter `karpenter.sh/v1 NodePool`, reduced to what decides which nodes it launches
/// and what they carry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePool {
    pub api_version: String,
    pub kind: String,
    pub metadata: NodePoolMeta,
    pub spec: NodePoolSpec,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NodePoolMeta {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NodePoolSpec {
    pub template: NodeClaimTemplate,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NodeClaimTemplate {
    #[serde(default)]
    pub metadata: TemplateMeta,
    pub spec: TemplateSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TemplateMeta {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSpec {
    #[serde(default)]
    pub taints: Vec<Taint>,
    /// Taints Karpenter expects a daemon to remove once the node is ready: they keep no pod
    /// off for good, so the proof does not count them as isolation.
    #[serde(default)]
    pub startup_taints: Vec<Taint>,
    #[serde(default)]
    pub requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub min_values: Option<u32>,
}

/// A NodePool and the pool its file is named after (`karpenter/<pool>.yaml`).
#[derive(Debug, Clone, PartialEq)]
pub struct NodePoolFile {
    pub file: PathBuf,
    pub pool: String,
    pub node_pool: NodePool,
}

/// Everything the proof reads from a manifests directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifests {
    pub nodes: Vec<NodePatch>,
    pub patches: Vec<Patch>,
    pub node_pools: Vec<NodePoolFile>,
}

/// Reads `dir` (a `manifests/` directory). Missing `nodes.yaml`, `workloads/` or
/// `karpenter/` read as empty: what they would have pinned then shows up as proof failures.
pub fn manifests(dir: &Path) -> Result<Manifests, ProofError> {
    if !dir.is_dir() {
        return Err(ProofError::NotADirectory { path: dir.into() });
    }
    let mut out = Manifests::default();
    let nodes = dir.join("nodes.yaml");
    if nodes.exists() {
        for (i, doc) in documents(&nodes)?.into_iter().enumerate() {
            out.nodes.push(node_patch(&nodes, i + 1, doc)?);
        }
    }
    for file in yaml_files(&dir.join("workloads"))? {
        for (i, doc) in documents(&file)?.into_iter().enumerate() {
            if let Some(p) = patch(&file, i + 1, doc)? {
                out.patches.push(p);
            }
        }
    }
    for file in yaml_files(&dir.join("karpenter"))? {
        let pool = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        for (i, doc) in documents(&file)?.into_iter().enumerate() {
            let node_pool = typed::<NodePool>(&file, i + 1, doc)?;
            if node_pool.api_version != "karpenter.sh/v1" || node_pool.kind != "NodePool" {
                return Err(field(
                    &file,
                    i + 1,
                    "kind",
                    format!(
                        "`{}/{}` is not a karpenter.sh/v1 NodePool",
                        node_pool.api_version, node_pool.kind
                    ),
                    "karpenter/ holds only NodePools; regenerate it with `tierplan plan`",
                ));
            }
            out.node_pools.push(NodePoolFile {
                file: file.clone(),
                pool: pool.clone(),
                node_pool,
            });
        }
    }
    Ok(out)
}

/// The `*.yaml` and `*.yml` files of `dir`, sorted; none when `dir` does not exist.
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, ProofError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| ProofError::Read {
        path: dir.into(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| ProofError::Read {
                path: dir.into(),
                source,
            })?
            .path();
        let yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        if yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The non-empty YAML documents of a file.
fn documents(path: &Path) -> Result<Vec<Value>, ProofError> {
    let read_err = |source| ProofError::Read {
        path: path.into(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(read_err)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(ProofError::TooLarge {
            path: path.into(),
            limit: MAX_FILE_BYTES,
        });
    }
    let mut docs = Vec::new();
    for de in serde_yaml::Deserializer::from_str(&text) {
        let value = Value::deserialize(de).map_err(|e| ProofError::Yaml {
            path: path.into(),
            message: e.to_string(),
        })?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

fn field(path: &Path, doc: usize, field: &str, problem: String, fix: &str) -> ProofError {
    ProofError::Field {
        path: path.into(),
        doc,
        field: field.into(),
        problem,
        fix: fix.into(),
    }
}

/// Deserialises `value` as `T`, naming the field that does not fit.
fn typed<T: serde::de::DeserializeOwned>(
    path: &Path,
    doc: usize,
    value: Value,
) -> Result<T, ProofError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        field(
            path,
            doc,
            &e.path().to_string(),
            e.inner().to_string(),
            "regenerate the manifests with `tierplan plan`",
        )
    })
}

fn string_at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
}

fn node_patch(path: &Path, doc: usize, value: Value) -> Result<NodePatch, ProofError> {
    if string_at(&value, &["apiVersion"]) != Some("v1")
        || string_at(&value, &["kind"]) != Some("Node")
    {
        return Err(field(
            path,
            doc,
            "kind",
            "not a `v1 Node`".into(),
            "nodes.yaml holds only v1 Nodes; regenerate it with `tierplan plan`",
        ));
    }
    let node: Node = typed(path, doc, value)?;
    let name = node.metadata.name.unwrap_or_default();
    if name.is_empty() {
        return Err(field(
            path,
            doc,
            "metadata.name",
            "missing".into(),
            "every Node names the node it applies to",
        ));
    }
    Ok(NodePatch {
        name,
        labels: node.metadata.labels.unwrap_or_default(),
        taints: node.spec.and_then(|s| s.taints),
    })
}

/// The pod template's path in each workload kind, and the kind's apiVersion.
fn template_path(kind: &str) -> Option<(&'static str, &'static [&'static str])> {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" => Some(("apps/v1", &["spec", "template"])),
        "Job" => Some(("batch/v1", &["spec", "template"])),
        "CronJob" => Some(("batch/v1", &["spec", "jobTemplate", "spec", "template"])),
        _ => None,
    }
}

/// A workload patch, or `None` for the directory's own kustomize files.
fn patch(path: &Path, doc: usize, value: Value) -> Result<Option<Patch>, ProofError> {
    let api_version = string_at(&value, &["apiVersion"]).unwrap_or_default();
    if api_version.starts_with("kustomize.config.k8s.io/") {
        return Ok(None);
    }
    let kind = string_at(&value, &["kind"]).unwrap_or_default().to_string();
    let Some((want_version, template_at)) = template_path(&kind) else {
        return Err(field(
            path,
            doc,
            "kind",
            format!("`{kind}` is not Deployment, StatefulSet, DaemonSet, Job or CronJob"),
            "workloads/ holds only patches of workload objects; regenerate it with `tierplan plan`",
        ));
    };
    if api_version != want_version {
        return Err(field(
            path,
            doc,
            "apiVersion",
            format!("`{api_version}` is not `{want_version}`, the apiVersion of {kind}"),
            "regenerate the manifests with `tierplan plan`",
        ));
    }
    let Some(name) = string_at(&value, &["metadata", "name"]).map(str::to_string) else {
        return Err(field(
            path,
            doc,
            "metadata.name",
            "missing".into(),
            "a patch names the object it applies to",
        ));
    };
    let namespace = string_at(&value, &["metadata", "namespace"])
        .unwrap_or("default")
        .to_string();
    let template_value = template_at.iter().try_fold(&value, |v, key| v.get(key));
    let mut directives = Vec::new();
    if let Some(t) = template_value {
        find_directives(t, &template_at.join("."), &mut directives);
    }
    let template = match template_value {
        Some(t) => typed(path, doc, t.clone())?,
        None => PodTemplateSpec::default(),
    };
    Ok(Some(Patch {
        file: path.into(),
        kind,
        namespace,
        name,
        template,
        directives,
    }))
}

fn find_directives(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Mapping(m) => {
            for (k, v) in m {
                let key = k.as_str().unwrap_or_default();
                let here = format!("{at}.{key}");
                if key.starts_with('$') {
                    out.push(here.clone());
                }
                find_directives(v, &here, out);
            }
        }
        Value::Sequence(items) => {
            for (i, v) in items.iter().enumerate() {
                find_directives(v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}
