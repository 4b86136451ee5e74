//! Alibaba production-cluster data (Tianchi 2018 scheduling competition, data set B).
//!
//! Reads a directory with the files named in its SOURCE.md:
//! - `TClab_dataset_2D.csv` (tab-separated, header): `app_id nb_instances core memory ...`;
//! - `app_interference.csv`: `app_A,app_B,k`;
//! - `scheduling_preliminary_b_machine_resources_20180726.csv`: `machine_id,cpu,mem,disk,P,M,PM`;
//! - `instance_deployment.csv` (`inst_id,app_id,machine_id`): the production placement, read
//!   only for comparison ([`Alibaba::production`]).
//!
//! Mapping, following the competition's evaluator: app → workload (`app-N`) with its replicas,
//! `cpu` in cores and `memory` in GiB; rule A = B → `maxPerNode: k + 1`; A ≠ B with k = 0 →
//! antiAffinity; A ≠ B with k ≥ 1 → coLocation `{B, max: k}` on A ("on a machine hosting A, at
//! most k replicas of B"); machine → Node (`machine-N`) with its CPU and memory. Disk and the
//! P/M/PM limits are left out: the 2-D data set has no per-app disk or importance figures.

use super::{node, read_text, workload, ConvertError, Converted};
use crate::input::wire::{CoLocationSpec, Metadata, NodeSpec, Quantity, WorkloadSpec};
use crate::input::Documents;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The namespace of the converted workloads.
pub const NAMESPACE: &str = "alibaba";
/// The file of applications.
pub const APPS: &str = "TClab_dataset_2D.csv";
/// The file of interference rules.
pub const RULES: &str = "app_interference.csv";
/// The file of machines.
pub const MACHINES: &str = "scheduling_preliminary_b_machine_resources_20180726.csv";
/// The file of the production deployment.
pub const DEPLOYMENT: &str = "instance_deployment.csv";

#[derive(Debug, Clone, PartialEq)]
/// An application of the data set.
pub struct App {
    /// Its id.
    pub id: u32,
    /// Its instances.
    pub replicas: u32,
    /// CPU cores per instance.
    pub cores: u64,
    /// Memory per instance, GiB.
    pub memory_gib: u64,
}

#[derive(Debug, Clone, PartialEq)]
/// A machine of the data set.
pub struct Machine {
    /// Its id.
    pub id: u32,
    /// CPU cores.
    pub cores: u64,
    /// Memory, GiB.
    pub memory_gib: u64,
}

/// A parsed data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Alibaba {
    /// The data set's directory.
    pub dir: PathBuf,
    /// In file order.
    pub apps: Vec<App>,
    /// `(A, B, k)` as in the file.
    pub rules: Vec<(u32, u32, u32)>,
    /// In file order.
    pub machines: Vec<Machine>,
}

/// The production placement at snapshot time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Production {
    /// Machines the production deployment uses.
    pub machines_used: usize,
    /// Instances it places.
    pub replicas_placed: usize,
    /// Instances it leaves unplaced.
    pub replicas_unplaced: usize,
}

/// Rows of a delimited file, split on `sep`, with 1-based line numbers; blank lines skipped.
fn rows(text: &str, sep: char) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(move |(i, l)| (i + 1, l.split(sep).map(str::trim).collect()))
}

struct Fields<'a> {
    path: &'a Path,
    line: usize,
    fields: Vec<&'a str>,
}

impl Fields<'_> {
    fn get(&self, i: usize, what: &str) -> Result<&str, ConvertError> {
        self.fields
            .get(i)
            .copied()
            .ok_or_else(|| self.error(format!("{what} (column {}) is missing", i + 1)))
    }

    fn num<T: std::str::FromStr>(&self, i: usize, what: &str) -> Result<T, ConvertError> {
        let s = self.get(i, what)?;
        s.parse()
            .map_err(|_| self.error(format!("expected {what}, found `{s}`")))
    }

    /// An id written `prefix_N`.
    fn id(&self, i: usize, prefix: &str, what: &str) -> Result<u32, ConvertError> {
        let s = self.get(i, what)?;
        s.strip_prefix(prefix)
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| self.error(format!("expected {what} `{prefix}N`, found `{s}`")))
    }

    fn error(&self, message: String) -> ConvertError {
        ConvertError::Parse {
            path: self.path.to_path_buf(),
            line: self.line,
            message,
        }
    }
}

fn parse_rows<'a, T>(
    path: &'a Path,
    text: &'a str,
    sep: char,
    skip_header: bool,
    mut f: impl FnMut(&Fields<'a>) -> Result<T, ConvertError>,
) -> Result<Vec<T>, ConvertError> {
    rows(text, sep)
        .skip(usize::from(skip_header))
        .map(|(line, fields)| f(&Fields { path, line, fields }))
        .collect()
}

impl Alibaba {
    /// Reads the data set in `dir`.
    pub fn read(dir: &Path) -> Result<Self, ConvertError> {
        let text = |name: &str| read_text(&dir.join(name));
        Self::parse(dir, &text(APPS)?, &text(RULES)?, &text(MACHINES)?)
    }

    /// Parses the data set's files, given as text.
    pub fn parse(
        dir: &Path,
        apps: &str,
        rules: &str,
        machines: &str,
    ) -> Result<Self, ConvertError> {
        let apps_path = dir.join(APPS);
        let apps = parse_rows(&apps_path, apps, '\t', true, |r| {
            Ok(App {
                id: r.num(0, "an app id")?,
                replicas: r.num(1, "a replica count")?,
                cores: r.num(2, "a core count")?,
                memory_gib: r.num(3, "a memory size")?,
            })
        })?;
        let known: BTreeSet<u32> = apps.iter().map(|a| a.id).collect();
        let rules_path = dir.join(RULES);
        let rules = parse_rows(&rules_path, rules, ',', false, |r| {
            let a = r.id(0, "app_", "an app")?;
            let b = r.id(1, "app_", "an app")?;
            for x in [a, b] {
                if !known.contains(&x) {
                    return Err(r.error(format!("app_{x} is not in {APPS}")));
                }
            }
            Ok((a, b, r.num(2, "a limit")?))
        })?;
        let machines_path = dir.join(MACHINES);
        let machines = parse_rows(&machines_path, machines, ',', false, |r| {
            Ok(Machine {
                id: r.id(0, "machine_", "a machine")?,
                cores: r.num(1, "a core count")?,
                memory_gib: r.num(2, "a memory size")?,
            })
        })?;
        Ok(Alibaba {
            dir: dir.to_path_buf(),
            apps,
            rules,
            machines,
        })
    }

    /// The instance as tierplan documents.
    pub fn documents(&self) -> Documents {
        // Per app: its own cap, and per other app the tightest limit of all its rules.
        let mut cap: BTreeMap<u32, u32> = BTreeMap::new();
        let mut limits: BTreeMap<u32, BTreeMap<u32, u32>> = BTreeMap::new();
        for &(a, b, k) in &self.rules {
            // The evaluator allows k + 1 replicas of an app next to itself.
            let (map, key, limit) = if a == b {
                (&mut cap, a, k + 1)
            } else {
                (limits.entry(a).or_default(), b, k)
            };
            let l = map.entry(key).or_insert(limit);
            *l = (*l).min(limit);
        }
        let apps_path = self.dir.join(APPS);
        let mut docs = Documents::default();
        for (i, app) in self.apps.iter().enumerate() {
            let name = |id: u32| format!("app-{id}");
            let rules = limits.get(&app.id).into_iter().flatten();
            let (anti, co): (Vec<_>, Vec<_>) = rules.partition(|(_, &k)| k == 0);
            let anti_affinity = anti.into_iter().map(|(&b, _)| name(b)).collect();
            let co_location = co
                .into_iter()
                .map(|(&b, &k)| CoLocationSpec {
                    workload: name(b),
                    max: i64::from(k),
                })
                .collect();
            let spec = WorkloadSpec {
                replicas: Some(i64::from(app.replicas)),
                resources: resources(app.cores, app.memory_gib),
                max_per_node: cap.get(&app.id).map(|&c| i64::from(c)),
                anti_affinity,
                co_location,
                ..WorkloadSpec::default()
            };
            docs.workloads
                .push(workload(&apps_path, i + 1, NAMESPACE, name(app.id), spec));
        }
        let machines_path = self.dir.join(MACHINES);
        for (i, m) in self.machines.iter().enumerate() {
            let metadata = Metadata {
                name: format!("machine-{}", m.id),
                ..Metadata::default()
            };
            let spec = NodeSpec {
                allocatable: resources(m.cores, m.memory_gib),
                ..NodeSpec::default()
            };
            docs.nodes.push(node(&machines_path, i + 1, metadata, spec));
        }
        docs
    }

    /// The instance as tierplan documents, with what was left out.
    pub fn converted(&self) -> Converted {
        Converted {
            name: "alibaba-tianchi2018".to_string(),
            documents: self.documents(),
            dropped: vec![
                "machine disk and the P/M/PM limits on important replicas: the 2-D data set has no per-app disk or importance".to_string(),
            ],
        }
    }

    /// The production placement in `instance_deployment.csv` (in this data set's directory).
    pub fn production(&self) -> Result<Production, ConvertError> {
        let path = self.dir.join(DEPLOYMENT);
        let text = read_text(&path)?;
        let machines = parse_rows(&path, &text, ',', false, |r| {
            let m = r.get(2, "a machine")?;
            Ok((!m.is_empty()).then(|| m.to_string()))
        })?;
        let used: BTreeSet<&String> = machines.iter().flatten().collect();
        let placed = machines.iter().flatten().count();
        Ok(Production {
            machines_used: used.len(),
            replicas_placed: placed,
            replicas_unplaced: machines.len() - placed,
        })
    }
}

fn resources(cores: u64, memory_gib: u64) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".to_string(), Quantity(cores.to_string())),
        ("memory".to_string(), Quantity(format!("{memory_gib}Gi"))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model;

    const APPS_CSV: &str = "app_id\tnb_instances\tcore\tmemory\tinter_degree\tinter_aff\n\
        1\t2\t1\t8\t1\t[(2, 0)]\n\
        2\t3\t4\t16\t1\t[(3, 2)]\n\
        3\t1\t2\t4\t0\t[]\n";
    const RULES_CSV: &str =
        "app_1,app_2,0\napp_2,app_3,2\napp_2,app_3,1\napp_1,app_1,0\napp_2,app_2,2\n";
    const MACHINES_CSV: &str = "machine_1,32,64,1440,7,3,7\nmachine_2,92,288,2457,7,7,9\n";

    #[test]
    fn maps_every_rule_as_the_evaluator_reads_it() {
        let a = Alibaba::parse(Path::new("d"), APPS_CSV, RULES_CSV, MACHINES_CSV).unwrap();
        let m = model::build(a.documents()).unwrap();
        let w = |id: &str| &m.workloads[m.workload_index(id).unwrap()];
        let (one, two, three) = (w("alibaba/app-1"), w("alibaba/app-2"), w("alibaba/app-3"));
        assert_eq!((one.replicas, two.replicas, three.replicas), (2, 3, 1));
        // Self rules: k + 1 per machine; no self rule: no cap.
        assert_eq!(one.max_per_node, Some(1));
        assert_eq!(two.max_per_node, Some(3));
        assert_eq!(three.max_per_node, None);
        // k = 0: anti-affinity, both ways in the model.
        assert_eq!(one.anti_affinity, [1]);
        assert_eq!(two.anti_affinity, [0]);
        // k >= 1: one-way co-location limit, the tightest of duplicates.
        assert_eq!(two.co_location, [(2, 1)]);
        assert!(three.co_location.is_empty());
        let (cpu, mem) = (
            m.resource_id("cpu").unwrap(),
            m.resource_id("memory").unwrap(),
        );
        assert_eq!(two.requests[cpu], 4000);
        assert_eq!(two.requests[mem], 16 << 30);
        let big = &m.nodes[m.node_index("machine-2").unwrap()];
        assert_eq!(big.allocatable[cpu], Some(92_000));
        assert_eq!(big.allocatable[mem], Some(288 << 30));
    }

    #[test]
    fn rejects_rules_on_unknown_apps() {
        let e =
            Alibaba::parse(Path::new("d"), APPS_CSV, "app_1,app_9,0\n", MACHINES_CSV).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("d/{RULES}:1: app_9 is not in {APPS}")
        );
        let e = Alibaba::parse(Path::new("d"), APPS_CSV, "app_1,x,0\n", MACHINES_CSV).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("d/{RULES}:1: expected an app `app_N`, found `x`")
        );
    }

    #[test]
    fn reads_the_published_data_set() {
        let dir = Path::new("../shared/bench/alibaba-tianchi2018");
        if !dir.exists() {
            eprintln!("skipped: {} is not present", dir.display());
            return;
        }
        let a = Alibaba::read(dir).unwrap();
        // Figures from SOURCE.md.
        assert_eq!(a.apps.len(), 9338);
        assert_eq!(a.apps.iter().map(|x| x.replicas).sum::<u32>(), 68_224);
        assert_eq!(a.machines.len(), 6000);
        assert_eq!(a.rules.len(), 33_416);
        let conflicts = a.rules.iter().filter(|r| r.0 != r.1 && r.2 == 0).count();
        assert_eq!(conflicts, 13_144);
        let p = a.production().unwrap();
        assert_eq!((p.replicas_unplaced, p.replicas_placed), (6_970, 61_254));
        assert_eq!(p.machines_used, 4_040);
    }
}
