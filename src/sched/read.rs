//! Reads the evidence the proof judges, independently of the code that wrote it: the objects
//! a cluster would really get.
//!
//! Two sources, which may be combined:
//! - a `manifests/` directory ([`directory`]): the objects `kubectl kustomize DIR` builds,
//!   found by following the kustomization files for the subset tierplan writes (`resources`
//!   naming files in the top-level Kustomization; `patches` naming files in the `workloads/`
//!   Component), plus those patches as the pod templates to layer onto the user's objects.
//!   Anything outside that subset (another field, an inline or targeted patch, a JSON 6902
//!   patch, a path leaving the directory, a kind tierplan does not write) is refused, never
//!   guessed at: a file no kustomization references is not evidence.
//! - the output of `kubectl kustomize` of the user's own kustomization ([`built`]): every
//!   object as it would be applied, the user's Deployments included, so their pod templates
//!   are judged whole rather than as patches.
//!
//! Only the scheduling- and admission-relevant fields are read. Kubernetes objects are
//! deserialised into k8s-openapi types; the NodePool into the minimal struct below, since
//! k8s-openapi has no Karpenter types. YAML that kustomize (go-yaml) would read differently
//! from serde_yaml is refused: merge keys (`<<`) and explicit tags such as `!!binary`.

use super::commands::NodeCommand;
use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::core::v1::{Node, PodSpec, PodTemplateSpec, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rayon::prelude::*;
use serde::Deserialize;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Component, Path, PathBuf};

/// A manifest file larger than this is not one tierplan wrote (same limit as the input).
pub const MAX_FILE_BYTES: u64 = 16 << 20;
/// A built file may hold a whole estate's manifests.
pub const MAX_BUILT_BYTES: u64 = 256 << 20;

/// The names kustomize looks for in a kustomization directory, in its order.
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Why the evidence cannot be read at all (as opposed to a proof that fails). Each message is
/// whole, cause and fix included, so no error here has a `source()`: a reporter that prints
/// the chain would otherwise print the cause twice.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("{}: not a directory\n  fix: pass the manifests directory `tierplan plan --out DIR` wrote (DIR/manifests)", path.display())]
    /// `path` is not a directory.
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// Reading `path` failed.
    #[error("{}: cannot read: {error}\n  fix: check that the file exists and is readable", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    #[error("{}: larger than {limit} bytes\n  fix: pass manifests tierplan wrote, or the output of `kubectl kustomize`", path.display())]
    /// `path` is larger than `limit` bytes.
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The most bytes read.
        limit: u64,
    },
    #[error("{}: not valid YAML: {message}\n  fix: regenerate the manifests with `tierplan plan`", path.display())]
    /// `path` is not valid YAML.
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    #[error("{}: line {line}: `{text}` is not a node command tierplan writes\n  fix: regenerate the manifests with `tierplan plan`; the scripts are evidence, edit the plan instead", path.display())]
    /// A line of a node script is not a command tierplan writes.
    Command {
        /// The script.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    #[error("{}: line {line}: {problem}\n  fix: write the value out in plain YAML, as `kubectl kustomize` prints it", path.display())]
    /// YAML that tools could read differently (anchors, tags, duplicate keys).
    Divergent {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    #[error("{} (document {doc}), field `{field}`: {problem}\n  fix: {fix}", path.display())]
    /// A field of an object that cannot be read.
    Field {
        /// The file.
        path: PathBuf,
        /// 1-based document number within the file.
        doc: usize,
        /// The field's path.
        field: String,
        /// What is wrong.
        problem: String,
        /// How to fix it.
        fix: String,
    },
}

/// Where an object was read: a file and the 1-based number of its YAML document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source {
    /// The file.
    pub file: PathBuf,
    /// 1-based number of the YAML document in the file.
    pub doc: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (document {})", self.file.display(), self.doc)
    }
}

/// A `v1 Node`: what applying it sets on the node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodePatch {
    /// Where it was read.
    pub source: Source,
    /// The node's name.
    pub name: String,
    /// Labels applying it sets (merged into the node's).
    pub labels: BTreeMap<String, String>,
    /// `None` when the document leaves taints alone; otherwise the whole list (taints are
    /// an atomic list, so applying it replaces the node's taints).
    pub taints: Option<Vec<Taint>>,
}

/// A pod template: of a strategic-merge patch of `workloads/`, or of an object as built.
#[derive(Debug, Clone, PartialEq)]
pub struct PodSource {
    /// Where it was read.
    pub source: Source,
    /// The object's kind (`Deployment`, …).
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The pod template (empty when the document has none).
    pub template: PodTemplateSpec,
    /// Strategic-merge directives (`$patch`, `$retainKeys`, ...) found in the template, by
    /// field path: they change what the merge keeps, which the proof does not model.
    pub directives: Vec<String>,
    /// A patch to merge onto the user's object (directory mode), not the object itself.
    pub patch: bool,
}

impl PodSource {
    /// `namespace/name`, as workload ids are written.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A Karpenter `karpenter.sh/v1 NodePool`, reduced to what decides which nodes it launches
/// and what they carry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePool {
    /// `karpenter.sh/v1`.
    pub api_version: String,
    /// `NodePool`.
    pub kind: String,
    /// Its name.
    pub metadata: NodePoolMeta,
    /// What it launches.
    pub spec: NodePoolSpec,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
/// The metadata of a NodePool that matters here.
pub struct NodePoolMeta {
    /// The NodePool's name.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
/// The spec of a NodePool that matters here.
pub struct NodePoolSpec {
    /// The nodes it launches.
    pub template: NodeClaimTemplate,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
/// The template of the nodes a NodePool launches.
pub struct NodeClaimTemplate {
    #[serde(default)]
    /// Labels of the launched nodes.
    pub metadata: TemplateMeta,
    /// Taints and requirements of the launched nodes.
    pub spec: TemplateSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
/// The metadata of launched nodes.
pub struct TemplateMeta {
    #[serde(default)]
    /// Labels every launched node gets.
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
/// The spec of launched nodes.
pub struct TemplateSpec {
    /// The node class every node of the NodePool is launched with (required by the CRD).
    #[serde(default)]
    pub node_class_ref: Option<ClassRef>,
    #[serde(default)]
    /// Taints every launched node gets.
    pub taints: Vec<Taint>,
    /// Taints Karpenter expects a daemon to remove once the node is ready: they keep no pod
    /// off for good, so the proof does not count them as isolation.
    #[serde(default)]
    pub startup_taints: Vec<Taint>,
    #[serde(default)]
    /// What launched nodes must satisfy.
    pub requirements: Vec<Requirement>,
}

/// A NodePool's `nodeClassRef`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClassRef {
    /// API group of the node class.
    pub group: String,
    /// Kind of the node class.
    pub kind: String,
    /// Name of the node class.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
/// A node requirement of a NodePool.
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt` or `Lt`.
    pub operator: String,
    #[serde(default)]
    /// The values the operator compares with.
    pub values: Vec<String>,
    #[serde(default)]
    /// At least this many distinct values among launched nodes.
    pub min_values: Option<u32>,
}

/// A NodePool and where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct NodePoolDoc {
    /// Where it was read.
    pub source: Source,
    /// The NodePool.
    pub node_pool: NodePool,
}

impl NodePoolDoc {
    /// The pool whose nodes it launches: the pool label its template writes on them, or the
    /// platform pool when it writes none (platform nodes carry no pool label).
    pub fn pool(&self) -> &str {
        self.node_pool
            .spec
            .template
            .metadata
            .labels
            .get(crate::emit::POOL_LABEL)
            .map_or(crate::plan::PLATFORM_POOL, String::as_str)
    }
}

/// An object and where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    /// Where it was read.
    pub source: Source,
    /// The object.
    pub object: T,
}

/// Everything the proof reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// `v1 Node` objects (applied by `kubectl apply`: labels merged, the taint list set).
    pub nodes: Vec<NodePatch>,
    /// The node scripts' commands, in the order they run, after any Node object.
    pub node_commands: Vec<NodeCommand>,
    /// Pod templates, of workload patches or of built objects.
    pub pods: Vec<PodSource>,
    /// Karpenter NodePools.
    pub node_pools: Vec<NodePoolDoc>,
    /// ValidatingAdmissionPolicies.
    pub policies: Vec<Located<ValidatingAdmissionPolicy>>,
    /// Their bindings.
    pub bindings: Vec<Located<ValidatingAdmissionPolicyBinding>>,
    /// Objects of built files of kinds that decide no placement (Services, ConfigMaps…).
    pub skipped: usize,
}

impl Evidence {
    /// The union of two readings (e.g. a directory's cluster-wide objects and a built file).
    pub fn extend(&mut self, other: Evidence) {
        self.nodes.extend(other.nodes);
        self.node_commands.extend(other.node_commands);
        self.pods.extend(other.pods);
        self.node_pools.extend(other.node_pools);
        self.policies.extend(other.policies);
        self.bindings.extend(other.bindings);
        self.skipped += other.skipped;
    }
}

/// What the proof judges: a manifests directory as kustomize builds it, or built files.
/// With both, what is built is what is applied: the directory adds its node scripts (nodes
/// are never built) and those of its cluster-wide objects that no built file holds (same
/// kind and name), e.g. when tierplan's kustomization is applied on its own.
pub fn combined(dir: Option<&Path>, built: &[PathBuf]) -> Result<Evidence, ProofError> {
    let mut out = Evidence::default();
    for file in built {
        out.extend(built_file(file)?);
    }
    let Some(dir) = dir else {
        return Ok(out);
    };
    if built.is_empty() {
        return directory(dir, Parts::All);
    }
    let from_dir = directory(dir, Parts::ClusterObjects)?;
    out.node_commands.extend(from_dir.node_commands);
    let name = |m: &ObjectMeta| m.name.clone().unwrap_or_default();
    add_missing(&mut out.nodes, from_dir.nodes, |n| n.name.clone());
    add_missing(&mut out.node_pools, from_dir.node_pools, |p| {
        p.pool().into()
    });
    add_missing(&mut out.policies, from_dir.policies, |p| {
        name(&p.object.metadata)
    });
    add_missing(&mut out.bindings, from_dir.bindings, |b| {
        name(&b.object.metadata)
    });
    Ok(out)
}

/// Adds to `out` the objects of `from` whose name (`key`) no object of `out` has.
fn add_missing<T>(out: &mut Vec<T>, from: Vec<T>, key: impl Fn(&T) -> String) {
    let have: BTreeSet<String> = out.iter().map(&key).collect();
    out.extend(from.into_iter().filter(|x| !have.contains(&key(x))));
}

/// What [`directory`] reads of a manifests directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    /// The top-level kustomization's objects and the `workloads/` Component's patches.
    All,
    /// Only the top-level kustomization's objects: the pod templates come from a built file.
    ClusterObjects,
}

/// Reads `dir` (a `manifests/` directory) as `kubectl kustomize` builds it; see the module
/// docs. A missing `workloads/` reads as no patches: what they would have pinned then shows
/// up as proof failures.
pub fn directory(dir: &Path, parts: Parts) -> Result<Evidence, ProofError> {
    if !dir.is_dir() {
        return Err(ProofError::NotADirectory { path: dir.into() });
    }
    let mut out = Evidence {
        node_commands: super::commands::read(dir, crate::emit::POOL_LABEL)?,
        ..Evidence::default()
    };
    let Some(top) = kustomization_file(dir)? else {
        return Err(field(
            &dir.join(KUSTOMIZATION_FILES[0]),
            1,
            "",
            "missing: the proof judges what `kubectl kustomize` builds from this directory".into(),
            "pass the manifests directory `tierplan plan` wrote, or build your own kustomization and pass its output with --built",
        ));
    };
    let k = kustomization(
        &top,
        "Kustomization",
        "kustomize.config.k8s.io/v1beta1",
        "resources",
    )?;
    for path in k {
        let file = referenced(dir, &top, "resources", &path)?;
        for (i, doc) in documents(&file, MAX_FILE_BYTES)?.into_iter().enumerate() {
            let source = Source {
                file: file.clone(),
                doc: i + 1,
            };
            if !object(&mut out, source, doc, false)? {
                return Err(field(
                    &file,
                    i + 1,
                    "kind",
                    "not a kind tierplan writes (v1 Node, ValidatingAdmissionPolicy and its binding, karpenter.sh/v1 NodePool, and the headroom Namespace, PriorityClass and Deployments)".into(),
                    "keep tierplan's directory as it wrote it; to prove your own kustomization, pass its `kubectl kustomize` output with --built",
                ));
            }
        }
    }
    let workloads = dir.join("workloads");
    if parts == Parts::ClusterObjects || !workloads.is_dir() {
        return Ok(out);
    }
    let Some(component) = kustomization_file(&workloads)? else {
        return Ok(out);
    };
    let paths = kustomization(
        &component,
        "Component",
        "kustomize.config.k8s.io/v1alpha1",
        "patches",
    )?;
    // A patch file per namespace (one per workload in a directory of an older tierplan):
    // read and parsed on every core. The first error in the component's order is the one
    // reported, as when they were read one by one.
    let read: Vec<Result<Vec<PodSource>, ProofError>> = paths
        .par_iter()
        .map(|path| {
            let file = referenced(&workloads, &component, "patches[].path", path)?;
            documents(&file, MAX_FILE_BYTES)?
                .into_iter()
                .enumerate()
                .map(|(i, doc)| patch(&file, i + 1, doc))
                .collect()
        })
        .collect();
    for pods in read {
        out.pods.extend(pods?);
    }
    Ok(out)
}

/// Reads the output of `kubectl kustomize` (`text`, named `name` in messages): every
/// object as it would be applied. Multi-document streams and `v1 List` are both read.
pub fn built(name: &Path, text: &str) -> Result<Evidence, ProofError> {
    let mut out = Evidence::default();
    for (i, doc) in parse(name, text)?.into_iter().enumerate() {
        let items = match (string_at(&doc, &["apiVersion"]), string_at(&doc, &["kind"])) {
            (Some("v1"), Some("List")) => match doc.get("items") {
                Some(Value::Sequence(items)) => items.clone(),
                _ => Vec::new(),
            },
            _ => vec![doc],
        };
        for item in items {
            let source = Source {
                file: name.into(),
                doc: i + 1,
            };
            if string_at(&item, &["apiVersion"])
                .is_some_and(|v| v.starts_with("kustomize.config.k8s.io/"))
            {
                return Err(field(
                    name,
                    i + 1,
                    "apiVersion",
                    "a kustomization, not what it builds".into(),
                    "pass the output of `kubectl kustomize DIR`, not its input",
                ));
            }
            if !object(&mut out, source, item, true)? {
                out.skipped += 1;
            }
        }
    }
    Ok(out)
}

/// Files the directory `dir` holds under kustomize's names for a kustomization; more than
/// one is an error to kustomize, and so here.
fn kustomization_file(dir: &Path) -> Result<Option<PathBuf>, ProofError> {
    let found: Vec<PathBuf> = KUSTOMIZATION_FILES
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| p.is_file())
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        [first, ..] => Err(field(
            first,
            1,
            "",
            format!(
                "{} kustomization files in one directory; kustomize refuses to build it",
                found.len()
            ),
            "keep only kustomization.yaml",
        )),
    }
}

/// The paths a kustomization file lists under `list` (`resources`, or the `path` of each
/// `patches` entry), refusing every field outside the subset tierplan writes.
fn kustomization(
    file: &Path,
    kind: &str,
    api_version: &str,
    list: &str,
) -> Result<Vec<String>, ProofError> {
    let docs = documents(file, MAX_FILE_BYTES)?;
    let outside =
        "to prove your own kustomization, pass its `kubectl kustomize` output with --built";
    let [doc] = docs.as_slice() else {
        return Err(field(
            file,
            1,
            "",
            format!(
                "{} YAML documents; a kustomization file holds one",
                docs.len()
            ),
            "regenerate the manifests with `tierplan plan`",
        ));
    };
    let Value::Mapping(map) = doc else {
        return Err(field(
            file,
            1,
            "",
            "not a mapping".into(),
            "regenerate the manifests with `tierplan plan`",
        ));
    };
    let mut paths = Vec::new();
    for (key, value) in map {
        let key = key.as_str().unwrap_or_default();
        match key {
            "apiVersion" | "kind" => {
                let want = if key == "kind" { kind } else { api_version };
                if value.as_str() != Some(want) {
                    return Err(field(
                        file,
                        1,
                        key,
                        format!("`{}`, where tierplan writes `{want}`", scalar(value)),
                        "regenerate the manifests with `tierplan plan`",
                    ));
                }
            }
            // kustomize reads an empty `resources:` as no resources.
            _ if key == list && value.is_null() => {}
            _ if key == list => {
                let Value::Sequence(items) = value else {
                    return Err(field(file, 1, key, "not a list".into(), "regenerate the manifests with `tierplan plan`"));
                };
                for (i, item) in items.iter().enumerate() {
                    let path = if list == "patches" {
                        patch_ref(file, i, item)?
                    } else {
                        item.as_str().map(str::to_string).ok_or_else(|| {
                            field(file, 1, &format!("{key}[{i}]"), "not a file path".into(), "list file paths")
                        })?
                    };
                    paths.push(path);
                }
            }
            _ => {
                return Err(field(
                    file,
                    1,
                    key,
                    format!("tierplan writes no `{key}` here, so the proof cannot tell what kustomize would build with it"),
                    outside,
                ))
            }
        }
    }
    Ok(paths)
}

/// The `path` of a `patches` entry; an inline `patch`, a `target` or `options` is refused.
fn patch_ref(file: &Path, i: usize, item: &Value) -> Result<String, ProofError> {
    let outside = "keep one `- path: FILE` entry per patch file, as tierplan writes them; to prove your own patches, pass the `kubectl kustomize` output with --built";
    let Value::Mapping(entry) = item else {
        return Err(field(
            file,
            1,
            &format!("patches[{i}]"),
            "not a mapping".into(),
            outside,
        ));
    };
    let mut path = None;
    for (k, v) in entry {
        match (k.as_str().unwrap_or_default(), v.as_str()) {
            ("path", Some(p)) => path = Some(p.to_string()),
            (other, _) => {
                return Err(field(
                    file,
                    1,
                    &format!("patches[{i}].{other}"),
                    format!("tierplan writes only `path` in a patch entry; the proof does not follow `{other}`"),
                    outside,
                ))
            }
        }
    }
    path.ok_or_else(|| {
        field(
            file,
            1,
            &format!("patches[{i}].path"),
            "missing".into(),
            outside,
        )
    })
}

/// The file `path` (listed in `listed_in` under `what`) names inside `root`. Paths leaving
/// `root`, absolute paths, URLs and directories are outside what tierplan writes.
fn referenced(
    root: &Path,
    listed_in: &Path,
    what: &str,
    path: &str,
) -> Result<PathBuf, ProofError> {
    let relative = Path::new(path);
    let inside = !path.contains("://")
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    let full = root.join(relative);
    if !inside || !full.is_file() {
        return Err(field(
            listed_in,
            1,
            what,
            format!("`{path}` is not a file inside {}", root.display()),
            "list only files of this directory, as tierplan writes them; to prove your own kustomization, pass its `kubectl kustomize` output with --built",
        ));
    }
    Ok(full)
}

/// The file at `path`, read whole, at most `limit` bytes.
pub(crate) fn read_limited(path: &Path, limit: u64) -> Result<String, ProofError> {
    let file = std::fs::File::open(path).map_err(|error| ProofError::Read {
        path: path.into(),
        error,
    })?;
    read_bounded(file, path, limit)
}

/// All of `reader` (named `path` in errors), refused past `limit` bytes.
fn read_bounded(reader: impl std::io::Read, path: &Path, limit: u64) -> Result<String, ProofError> {
    use std::io::Read;
    let mut text = String::new();
    reader
        .take(limit + 1)
        .read_to_string(&mut text)
        .map_err(|error| ProofError::Read {
            path: path.into(),
            error,
        })?;
    if text.len() as u64 > limit {
        return Err(ProofError::TooLarge {
            path: path.into(),
            limit,
        });
    }
    Ok(text)
}

/// Reads a built file (`-` for standard input), at most [`MAX_BUILT_BYTES`].
pub fn built_file(path: &Path) -> Result<Evidence, ProofError> {
    if path == Path::new("-") {
        let stdin = Path::new("(standard input)");
        built(
            stdin,
            &read_bounded(std::io::stdin(), stdin, MAX_BUILT_BYTES)?,
        )
    } else {
        built(path, &read_limited(path, MAX_BUILT_BYTES)?)
    }
}

/// The non-empty YAML documents of a file.
fn documents(path: &Path, limit: u64) -> Result<Vec<Value>, ProofError> {
    parse(path, &read_limited(path, limit)?)
}

/// The non-empty YAML documents of `text`, refusing what go-yaml would read differently.
fn parse(path: &Path, text: &str) -> Result<Vec<Value>, ProofError> {
    let mut docs = Vec::new();
    for de in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(de).map_err(|e| ProofError::Yaml {
            path: path.into(),
            message: e.to_string(),
        })?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    if let Some((line, problem)) = divergent(text) {
        return Err(ProofError::Divergent {
            path: path.into(),
            line,
            problem,
        });
    }
    Ok(docs)
}

/// The first place (1-based line) where kustomize's YAML reader (go-yaml) and serde_yaml
/// would disagree: a merge key `<<` (go-yaml merges the mapping in, serde_yaml keeps a key
/// named `<<`) or an explicit tag (go-yaml decodes `!!binary` base64, serde_yaml keeps the
/// text). Read from the parser's events, since serde_yaml's values drop core tags.
fn divergent(text: &str) -> Option<(usize, String)> {
    use yaml_rust2::parser::{Event, Parser};
    use yaml_rust2::scanner::TScalarStyle;
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(e) => e,
            Err(e) => {
                return Some((
                    e.marker().line(),
                    format!(
                        "not YAML that kustomize's reader would take alike: {}",
                        e.info()
                    ),
                ))
            }
        };
        let tag = match &event {
            Event::StreamEnd => return None,
            Event::Scalar(v, TScalarStyle::Plain, _, None) if v == "<<" => {
                return Some((
                    mark.line(),
                    "a YAML merge key `<<`, which kustomize resolves and serde_yaml would not"
                        .into(),
                ))
            }
            Event::Scalar(_, _, _, tag)
            | Event::SequenceStart(_, tag)
            | Event::MappingStart(_, tag) => tag,
            _ => &None,
        };
        if let Some(t) = tag {
            // The parser expands the `!!` shorthand to the YAML core schema's prefix.
            let handle = t.handle.replace("tag:yaml.org,2002:", "!!");
            return Some((
                mark.line(),
                format!(
                    "an explicit YAML tag `{handle}{}`, which kustomize may decode differently",
                    t.suffix
                ),
            ));
        }
    }
}

/// A scalar as text, for messages.
fn scalar(v: &Value) -> String {
    serde_yaml::to_string(v)
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default()
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
fn typed<T: serde::de::DeserializeOwned>(source: &Source, value: Value) -> Result<T, ProofError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        field(
            &source.file,
            source.doc,
            &e.path().to_string(),
            e.inner().to_string(),
            "fix the object (the API server would refuse it too)",
        )
    })
}

fn string_at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
}

/// Files `value` under its kind; `false` when it is of no kind the proof reads. Pod
/// templates are read from whole objects only when `objects` (built files).
fn object(
    out: &mut Evidence,
    source: Source,
    value: Value,
    objects: bool,
) -> Result<bool, ProofError> {
    let api_version = string_at(&value, &["apiVersion"])
        .unwrap_or_default()
        .to_string();
    let kind = string_at(&value, &["kind"]).unwrap_or_default().to_string();
    match (api_version.as_str(), kind.as_str()) {
        ("v1", "Node") => out.nodes.push(node(&source, value)?),
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy") => {
            out.policies.push(Located {
                object: typed(&source, value)?,
                source,
            })
        }
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding") => {
            out.bindings.push(Located {
                object: typed(&source, value)?,
                source,
            })
        }
        ("karpenter.sh/v1", "NodePool") => out.node_pools.push(NodePoolDoc {
            node_pool: typed(&source, value)?,
            source,
        }),
        // The headroom placeholders: whole Deployments, judged like planned workloads.
        ("apps/v1", "Deployment") => out.pods.push(pod_object(source, &kind, value)?),
        _ if objects && pod_kind(&api_version, &kind) => {
            out.pods.push(pod_object(source, &kind, value)?)
        }
        // The placeholders' namespace and priority: they decide no placement.
        ("v1", "Namespace") | ("scheduling.k8s.io/v1", "PriorityClass") => out.skipped += 1,
        _ => return Ok(false),
    }
    Ok(true)
}

fn node(source: &Source, value: Value) -> Result<NodePatch, ProofError> {
    let node: Node = typed(source, value)?;
    let name = node.metadata.name.unwrap_or_default();
    if name.is_empty() {
        return Err(field(
            &source.file,
            source.doc,
            "metadata.name",
            "missing".into(),
            "every Node names the node it applies to",
        ));
    }
    Ok(NodePatch {
        source: source.clone(),
        name,
        labels: node.metadata.labels.unwrap_or_default(),
        taints: node.spec.and_then(|s| s.taints),
    })
}

/// The kinds whose objects run pods, by apiVersion.
fn pod_kind(api_version: &str, kind: &str) -> bool {
    matches!(
        (api_version, kind),
        (
            "apps/v1",
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet"
        ) | ("batch/v1", "Job" | "CronJob")
            | ("v1", "Pod" | "ReplicationController")
    )
}

/// The pod template's path in each workload kind tierplan patches, and the kind's apiVersion.
fn template_path(kind: &str) -> Option<(&'static str, &'static [&'static str])> {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => {
            Some(("apps/v1", &["spec", "template"]))
        }
        "ReplicationController" => Some(("v1", &["spec", "template"])),
        "Job" => Some(("batch/v1", &["spec", "template"])),
        "CronJob" => Some(("batch/v1", &["spec", "jobTemplate", "spec", "template"])),
        _ => None,
    }
}

/// Namespace and name of an object; objects without a namespace are in `default`, where
/// `kubectl apply` puts them.
fn identity(source: &Source, value: &Value) -> Result<(String, String), ProofError> {
    let Some(name) = string_at(value, &["metadata", "name"]).map(str::to_string) else {
        return Err(field(
            &source.file,
            source.doc,
            "metadata.name",
            "missing".into(),
            "name the object",
        ));
    };
    let namespace = string_at(value, &["metadata", "namespace"])
        .unwrap_or("default")
        .to_string();
    Ok((namespace, name))
}

/// A workload object of a built file, as the API server would store it.
fn pod_object(source: Source, kind: &str, value: Value) -> Result<PodSource, ProofError> {
    let (namespace, name) = identity(&source, &value)?;
    let template = if kind == "Pod" {
        let metadata: ObjectMeta = match value.get("metadata") {
            Some(m) => typed(&source, m.clone())?,
            None => ObjectMeta::default(),
        };
        let spec: Option<PodSpec> = match value.get("spec") {
            Some(s) => Some(typed(&source, s.clone())?),
            None => None,
        };
        PodTemplateSpec {
            metadata: Some(metadata),
            spec,
        }
    } else {
        let (_, path) = template_path(kind).expect("pod kinds have a template path");
        let t = path.iter().try_fold(&value, |v, key| v.get(key));
        match t {
            Some(t) => typed(&source, t.clone())?,
            None => PodTemplateSpec::default(),
        }
    };
    let mut directives = Vec::new();
    find_directives(&value, "", &mut directives);
    Ok(PodSource {
        source,
        kind: kind.into(),
        namespace,
        name,
        template,
        directives,
        patch: false,
    })
}

/// A strategic-merge patch of `workloads/`.
fn patch(path: &Path, doc: usize, value: Value) -> Result<PodSource, ProofError> {
    let source = Source {
        file: path.into(),
        doc,
    };
    if matches!(value, Value::Sequence(_)) {
        return Err(field(
            path,
            doc,
            "",
            "a JSON 6902 patch (a list of operations), which the proof does not model".into(),
            "write the patch as a strategic-merge patch, as tierplan does, or pass the `kubectl kustomize` output with --built",
        ));
    }
    let api_version = string_at(&value, &["apiVersion"]).unwrap_or_default();
    let kind = string_at(&value, &["kind"]).unwrap_or_default().to_string();
    // The kinds tierplan patches: a workload's `controller`.
    let patched = matches!(
        kind.as_str(),
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob"
    );
    let Some((want_version, template_at)) = template_path(&kind).filter(|_| patched) else {
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
    let (namespace, name) = identity(&source, &value)?;
    let template_value = template_at.iter().try_fold(&value, |v, key| v.get(key));
    let mut directives = Vec::new();
    find_directives(&value, "", &mut directives);
    let template = match template_value {
        Some(t) => typed(&source, t.clone())?,
        None => PodTemplateSpec::default(),
    };
    Ok(PodSource {
        source,
        kind,
        namespace,
        name,
        template,
        directives,
        patch: true,
    })
}

fn find_directives(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Mapping(m) => {
            for (k, v) in m {
                let key = k.as_str().unwrap_or_default();
                let here = if at.is_empty() {
                    key.to_string()
                } else {
                    format!("{at}.{key}")
                };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_error_prints_its_cause_once_in_the_full_chain() {
        let e =
            read_limited(Path::new("/nonexistent/tierplan/kustomization.yaml"), 10).unwrap_err();
        let chain = crate::testing::chain(&e);
        let ProofError::Read { error, .. } = &e else {
            panic!("not a read error: {chain}");
        };
        assert_eq!(chain.matches(&error.to_string()).count(), 1, "{chain}");
    }

    fn refused(text: &str) -> String {
        parse(Path::new("x.yaml"), text).unwrap_err().to_string()
    }

    #[test]
    fn merge_keys_and_tags_are_refused() {
        // go-yaml (kustomize) merges `<<` and decodes `!!binary`; serde_yaml would not.
        let merge = "base: &b {key: a}\ntolerations:\n  - <<: *b\n    operator: Exists\n";
        assert!(
            refused(merge).contains("line 3: a YAML merge key"),
            "{}",
            refused(merge)
        );
        let binary = "value: !!binary ZGI=\n";
        assert!(refused(binary).contains("tag"), "{}", refused(binary));
        let custom = "value: !thing x\n";
        assert!(refused(custom).contains("tag"), "{}", refused(custom));
        assert!(parse(Path::new("x.yaml"), "a: &x 1\nb: *x\n").is_ok());
    }

    #[test]
    fn a_whole_object_keeps_its_directives_path() {
        let mut out = Evidence::default();
        let doc: Value = serde_yaml::from_str(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n    spec: {$patch: replace}\n",
        )
        .unwrap();
        let source = Source {
            file: "b.yaml".into(),
            doc: 1,
        };
        assert!(object(&mut out, source, doc, true).unwrap());
        assert_eq!(out.pods[0].directives, ["spec.template.spec.$patch"]);
        assert_eq!(out.pods[0].id(), "default/a");
    }
}
