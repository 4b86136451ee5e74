//! Converters from published benchmark formats to tierplan input documents.
//!
//! Each format module parses its files into a typed instance and maps it onto the wire types
//! of [`crate::input::wire`], so a converted instance is planned, checked and written exactly
//! like hand-written YAML. Every converted workload gets the same sensitivity, exposure and
//! trust, so each instance is a single class: the benchmarks measure packing, not tiering.
//! Rules of a format that tierplan cannot express are never dropped silently: they are listed
//! in [`Converted::dropped`].

pub mod alibaba;
pub mod bppc;
pub mod roadef;
pub mod vbp;

use crate::baseline::ffd_one_pool_per_class;
use crate::input::wire::{
    Metadata, NodeDoc, NodeSpec, Quantity, WorkloadDoc, WorkloadSpec, API_VERSION,
};
use crate::input::{Documents, InputError, Origin};
use crate::model;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Why a conversion failed. Each message is whole, its cause included, so no error here has a
/// `source()`: a reporter that prints the chain would otherwise print the cause twice.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("cannot read {}: {error}", path.display())]
    /// Reading `path` failed.
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    /// The instance cannot be parsed.
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based; 0 when the problem is the file as a whole (e.g. it ends early).
        line: usize,
        /// What is wrong.
        message: String,
    },
    #[error("cannot write {}: {error}", path.display())]
    /// Writing `path` failed.
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    #[error("{} already holds YAML files, which would be read together with the converted ones", dir.display())]
    /// The output directory already holds YAML.
    OutputNotEmpty {
        /// The directory.
        dir: PathBuf,
    },
    #[error("the converted instance does not validate:\n{0}")]
    /// The converted documents do not validate (a bug of the converter).
    Invalid(InputError),
    #[error("unknown format `{0}` (expected bppc, vbp, alibaba or roadef)")]
    /// No such format.
    UnknownFormat(String),
}

// By hand rather than `#[from]`, which would also make the cause the `source()`.
impl From<InputError> for ConvertError {
    fn from(e: InputError) -> Self {
        ConvertError::Invalid(e)
    }
}

/// The benchmark formats that can be converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Bin packing with conflicts (`BPPC_*.txt`).
    Bppc,
    /// Vector bin packing (`*.vbp`, VPSolver format).
    Vbp,
    /// Alibaba Tianchi 2018 cluster data (a directory of CSV files).
    Alibaba,
    /// ROADEF/EURO 2012 machine reassignment (`model_*.txt`).
    Roadef,
}

impl FromStr for Format {
    type Err = ConvertError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "bppc" => Ok(Format::Bppc),
            "vbp" => Ok(Format::Vbp),
            "alibaba" => Ok(Format::Alibaba),
            "roadef" => Ok(Format::Roadef),
            other => Err(ConvertError::UnknownFormat(other.to_string())),
        }
    }
}

/// One converted instance.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The instance name, from the input file or directory name.
    pub name: String,
    /// The documents.
    pub documents: Documents,
    /// Rules of the source that have no tierplan counterpart and were left out, in words.
    pub dropped: Vec<String>,
}

/// Converts `input` (a file, or the data directory for [`Format::Alibaba`]).
pub fn convert(format: Format, input: &Path) -> Result<Converted, ConvertError> {
    match format {
        Format::Bppc => Ok(bppc::Bppc::read(input)?.converted()),
        Format::Vbp => Ok(vbp::Vbp::read(input)?.converted()),
        Format::Alibaba => Ok(alibaba::Alibaba::read(input)?.converted()),
        Format::Roadef => Ok(roadef::Roadef::read(input)?.converted()),
    }
}

/// Reads a whole file, with the path in the error.
pub(crate) fn read_text(path: &Path) -> Result<String, ConvertError> {
    std::fs::read_to_string(path).map_err(|error| ConvertError::Read {
        path: path.to_path_buf(),
        error,
    })
}

/// The file or directory name without extension, as the instance name.
pub(crate) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "instance".to_string())
}

/// Whitespace-separated integers with their line numbers: the text formats' reader.
pub(crate) struct Numbers<'a> {
    path: &'a Path,
    tokens: Vec<(usize, &'a str)>,
    next: usize,
}

impl<'a> Numbers<'a> {
    pub(crate) fn new(path: &'a Path, text: &'a str) -> Self {
        let tokens = text
            .lines()
            .enumerate()
            .flat_map(|(i, line)| line.split_whitespace().map(move |t| (i + 1, t)))
            .collect();
        Numbers {
            path,
            tokens,
            next: 0,
        }
    }

    /// The next number, read as `what` (for the error message).
    pub(crate) fn next<T: FromStr>(&mut self, what: &str) -> Result<T, ConvertError> {
        let Some(&(line, token)) = self.tokens.get(self.next) else {
            return Err(self.error(0, format!("the file ends before {what}")));
        };
        self.next += 1;
        token
            .parse()
            .map_err(|_| self.error(line, format!("expected {what}, found `{token}`")))
    }

    /// Fails unless every token was read.
    pub(crate) fn finish(&self) -> Result<(), ConvertError> {
        match self.tokens.get(self.next) {
            None => Ok(()),
            Some(&(line, token)) => {
                Err(self.error(line, format!("unexpected `{token}` after the last field")))
            }
        }
    }

    pub(crate) fn error(&self, line: usize, message: String) -> ConvertError {
        ConvertError::Parse {
            path: self.path.to_path_buf(),
            line,
            message,
        }
    }
}

/// The resource that dimension `k` (0-based) of an anonymous resource vector becomes: the
/// first two are `cpu` and `memory`, so that Karpenter's order (CPU, then memory) sorts on
/// them; the rest get names of their own.
pub(crate) fn dimension(k: usize) -> String {
    match k {
        0 => "cpu".to_string(),
        1 => "memory".to_string(),
        _ => format!("bench.tierplan.io/dim-{}", k + 1),
    }
}

/// Resource amounts as whole units, leaving out zeros (a node declares none of them).
pub(crate) fn amounts(values: &[u64]) -> BTreeMap<String, Quantity> {
    values
        .iter()
        .enumerate()
        .filter(|(_, &v)| v > 0)
        .map(|(k, v)| (dimension(k), Quantity(v.to_string())))
        .collect()
}

/// `prefix-007`: zero-padded to the width of `count`, so names sort in input order.
pub(crate) fn padded(prefix: &str, i: usize, count: usize) -> String {
    let width = count.to_string().len();
    format!("{prefix}-{i:0width$}")
}

/// A single-class workload: every converted workload has the same tier attributes.
pub(crate) fn workload(
    source: &Path,
    doc: usize,
    namespace: &str,
    name: String,
    spec: WorkloadSpec,
) -> (Origin, WorkloadDoc) {
    (
        Origin {
            file: source.to_path_buf(),
            doc,
        },
        WorkloadDoc {
            api_version: API_VERSION.to_string(),
            kind: "Workload".to_string(),
            metadata: Metadata {
                name,
                namespace: Some(namespace.to_string()),
                ..Metadata::default()
            },
            spec: WorkloadSpec {
                sensitivity: Some("public".to_string()),
                ..spec
            },
        },
    )
}

pub(crate) fn node(
    source: &Path,
    doc: usize,
    metadata: Metadata,
    spec: NodeSpec,
) -> (Origin, NodeDoc) {
    (
        Origin {
            file: source.to_path_buf(),
            doc,
        },
        NodeDoc {
            api_version: API_VERSION.to_string(),
            kind: "Node".to_string(),
            metadata,
            spec,
        },
    )
}

/// Appends `count` identical bins `bin-N` with `capacity` (see [`amounts`]).
pub(crate) fn bins(docs: &mut Documents, source: &Path, count: usize, capacity: &[u64]) {
    let first = docs.workloads.len() + docs.nodes.len() + 1;
    for b in 0..count {
        let metadata = Metadata {
            name: padded("bin", b + 1, count),
            ..Metadata::default()
        };
        let spec = NodeSpec {
            allocatable: amounts(capacity),
            ..NodeSpec::default()
        };
        docs.nodes.push(node(source, first + b, metadata, spec));
    }
}

/// Keeps only the nodes that first-fit decreasing uses, for inventories of identical bins
/// that were sized generously (one bin per item): the planner's speed grows with the
/// inventory, and FFD's count is an upper bound on what any good plan needs. Nothing changes
/// when FFD cannot place everything.
pub fn fit_bins_to_ffd(mut docs: Documents) -> Result<Documents, ConvertError> {
    let model = model::build(docs.clone())?;
    let plan = ffd_one_pool_per_class(&model);
    if !plan.unplaced.is_empty() {
        return Ok(docs);
    }
    let used: BTreeSet<&str> = plan
        .pools
        .iter()
        .flat_map(|p| &p.nodes)
        .map(String::as_str)
        .collect();
    docs.nodes
        .retain(|(_, n)| used.contains(n.metadata.name.as_str()));
    Ok(docs)
}

/// Converted YAML files are cut at about this size, well below the loader's 16 MiB limit.
const CHUNK_BYTES: usize = 8 << 20;

/// Writes `docs` into `dir` as multi-document YAML files (`policy.yaml`, `workloads-NNN.yaml`,
/// `nodes-NNN.yaml`) that `tierplan plan DIR` reads back in the same order. Refuses a
/// directory that already holds YAML, which the loader would mix in.
pub fn write_dir(docs: &Documents, dir: &Path) -> Result<Vec<PathBuf>, ConvertError> {
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |error| ConvertError::Write { path, error }
    };
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let entries = std::fs::read_dir(dir).map_err(write_err(dir))?;
    let has_yaml = entries.filter_map(Result::ok).any(|e| {
        matches!(
            e.path().extension().and_then(|x| x.to_str()),
            Some("yaml" | "yml")
        )
    });
    if has_yaml {
        return Err(ConvertError::OutputNotEmpty {
            dir: dir.to_path_buf(),
        });
    }
    let mut files = Vec::new();
    let policies = docs.policies.iter().map(|(_, d)| yaml(d));
    let workloads = docs.workloads.iter().map(|(_, d)| yaml(d));
    let nodes = docs.nodes.iter().map(|(_, d)| yaml(d));
    for (prefix, texts) in [
        (
            "policy",
            Box::new(policies) as Box<dyn Iterator<Item = String>>,
        ),
        ("workloads", Box::new(workloads)),
        ("nodes", Box::new(nodes)),
    ] {
        let mut chunk = String::new();
        let mut count = 0;
        let mut flush = |chunk: &mut String, files: &mut Vec<PathBuf>| {
            if chunk.is_empty() {
                return Ok(());
            }
            count += 1;
            let name = if prefix == "policy" {
                "policy.yaml".to_string()
            } else {
                format!("{prefix}-{count:03}.yaml")
            };
            let path = dir.join(name);
            let mut f = std::fs::File::create(&path).map_err(write_err(&path))?;
            f.write_all(chunk.as_bytes()).map_err(write_err(&path))?;
            chunk.clear();
            files.push(path);
            Ok::<(), ConvertError>(())
        };
        for text in texts {
            if chunk.len() + text.len() > CHUNK_BYTES {
                flush(&mut chunk, &mut files)?;
            }
            if !chunk.is_empty() {
                chunk.push_str("---\n");
            }
            chunk.push_str(&text);
        }
        flush(&mut chunk, &mut files)?;
    }
    Ok(files)
}

fn yaml<S: serde::Serialize>(doc: &S) -> String {
    serde_yaml::to_string(doc).expect("wire documents always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_report_the_line_of_a_bad_token() {
        let path = Path::new("x.txt");
        let mut n = Numbers::new(path, "3 4\n5 x\n");
        assert_eq!(n.next::<u64>("a").unwrap(), 3);
        assert_eq!(n.next::<u64>("b").unwrap(), 4);
        assert_eq!(n.next::<u64>("c").unwrap(), 5);
        let e = n.next::<u64>("the weight").unwrap_err().to_string();
        assert_eq!(e, "x.txt:2: expected the weight, found `x`");
        let e = n.next::<u64>("more").unwrap_err().to_string();
        assert_eq!(e, "x.txt:0: the file ends before more");
        let mut n = Numbers::new(path, "1 2");
        n.next::<u64>("a").unwrap();
        assert!(n.finish().is_err());
    }

    #[test]
    fn formats_parse_by_name() {
        assert_eq!("vbp".parse::<Format>().unwrap(), Format::Vbp);
        assert!("csv".parse::<Format>().is_err());
    }

    #[test]
    fn write_dir_round_trips_and_refuses_to_mix() {
        let c = bppc::Bppc::parse(Path::new("t.txt"), "3 10\n1 6 2\n2 5\n3 4\n")
            .unwrap()
            .converted();
        let dir = tempfile::tempdir().unwrap();
        let files = write_dir(&c.documents, dir.path()).unwrap();
        assert_eq!(files.len(), 2, "{files:?}");
        let loaded = model::build_from_paths(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(loaded.workloads.len(), 3);
        assert_eq!(loaded.nodes.len(), 3);
        assert!(matches!(
            write_dir(&c.documents, dir.path()),
            Err(ConvertError::OutputNotEmpty { .. })
        ));
    }

    #[test]
    fn ffd_trims_identical_bins_to_what_it_uses() {
        // Weights 6, 5, 4 in bins of 10 with 1–2 in conflict: FFD needs 2 bins of 3.
        let c = bppc::Bppc::parse(Path::new("t.txt"), "3 10\n1 6 2\n2 5\n3 4\n")
            .unwrap()
            .converted();
        let docs = fit_bins_to_ffd(c.documents).unwrap();
        let names: Vec<&str> = docs
            .nodes
            .iter()
            .map(|(_, n)| n.metadata.name.as_str())
            .collect();
        assert_eq!(names, ["bin-1", "bin-2"]);
    }
}
