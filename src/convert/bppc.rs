//! Bin packing with conflicts (Muritiba, Iori, Malaguti & Toth 2010): `BPPC_c_d_i.txt`.
//!
//! Format: a first line `n C` (items, bin capacity), then one line per item
//! `i w_i j1 j2 ...`: its 1-based index, integer weight and the items it conflicts with.
//! Mapping: item → workload with one replica requesting `cpu: w_i`; conflict → antiAffinity
//! (listed on the item whose line names it; the model makes it symmetric); bins → `n` Nodes
//! with `cpu: C` (n bins always suffice).

use super::{bins, padded, read_text, stem, workload, ConvertError, Converted, Numbers};
use crate::input::wire::{Quantity, WorkloadSpec};
use crate::input::Documents;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The namespace of the converted workloads.
pub const NAMESPACE: &str = "bppc";

/// A parsed BPPC instance. Items are 0-based here.
#[derive(Debug, Clone, PartialEq)]
pub struct Bppc {
    /// The instance file.
    pub source: PathBuf,
    /// Bin capacity.
    pub capacity: u64,
    /// Item weights.
    pub weights: Vec<u64>,
    /// Per item, the later items it conflicts with (ascending, without duplicates).
    pub conflicts: Vec<Vec<usize>>,
}

impl Bppc {
    /// Reads the instance at `path`.
    pub fn read(path: &Path) -> Result<Self, ConvertError> {
        Self::parse(path, &read_text(path)?)
    }

    /// Parses the instance text read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConvertError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let header = lines.next().map_or("", |(_, l)| l);
        let mut h = Numbers::new(path, header);
        let n: usize = h.next("the number of items")?;
        let capacity: u64 = h.next("the bin capacity")?;
        h.finish()?;
        let mut weights = vec![None; n];
        let mut conflicts = vec![Vec::new(); n];
        let err = |line: usize, message: String| ConvertError::Parse {
            path: path.to_path_buf(),
            line,
            message,
        };
        for (i, line) in lines {
            let mut t = line.split_whitespace();
            let mut num = |what: &str| -> Result<Option<usize>, ConvertError> {
                t.next()
                    .map(|s| {
                        s.parse()
                            .map_err(|_| err(i + 1, format!("expected {what}, found `{s}`")))
                    })
                    .transpose()
            };
            let item = num("an item index")?.expect("the line is not blank");
            if !(1..=n).contains(&item) {
                return Err(err(i + 1, format!("item {item} is not in 1..={n}")));
            }
            let w = num("a weight")?.ok_or_else(|| err(i + 1, "the weight is missing".into()))?;
            if weights[item - 1].replace(w as u64).is_some() {
                return Err(err(i + 1, format!("item {item} is listed twice")));
            }
            while let Some(j) = num("a conflicting item")? {
                if !(1..=n).contains(&j) || j == item {
                    return Err(err(i + 1, format!("conflict with item {j} is not valid")));
                }
                let (a, b) = (item.min(j) - 1, item.max(j) - 1);
                conflicts[a].push(b);
            }
        }
        let weights = weights
            .into_iter()
            .enumerate()
            .map(|(i, w)| w.ok_or_else(|| err(0, format!("item {} has no line", i + 1))))
            .collect::<Result<Vec<u64>, _>>()?;
        for c in &mut conflicts {
            c.sort_unstable();
            c.dedup();
        }
        Ok(Bppc {
            source: path.to_path_buf(),
            capacity,
            weights,
            conflicts,
        })
    }

    fn item(&self, i: usize) -> String {
        padded("item", i + 1, self.weights.len())
    }

    /// The instance as tierplan documents.
    pub fn documents(&self) -> Documents {
        let n = self.weights.len();
        let mut docs = Documents::default();
        for (i, &w) in self.weights.iter().enumerate() {
            let spec = WorkloadSpec {
                replicas: Some(1),
                resources: BTreeMap::from([("cpu".to_string(), Quantity(w.to_string()))]),
                anti_affinity: self.conflicts[i].iter().map(|&j| self.item(j)).collect(),
                ..WorkloadSpec::default()
            };
            docs.workloads
                .push(workload(&self.source, i + 1, NAMESPACE, self.item(i), spec));
        }
        bins(&mut docs, &self.source, n, &[self.capacity]);
        docs
    }

    /// The instance as tierplan documents, with what was left out.
    pub fn converted(&self) -> Converted {
        Converted {
            name: stem(&self.source),
            documents: self.documents(),
            dropped: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model;

    const TINY: &str = "4 10\n1 6 2 4\n2 5\n3 4 4\n4 3\n";

    #[test]
    fn maps_items_conflicts_and_bins() {
        let b = Bppc::parse(Path::new("tiny.txt"), TINY).unwrap();
        assert_eq!(b.capacity, 10);
        assert_eq!(b.weights, [6, 5, 4, 3]);
        assert_eq!(b.conflicts, [vec![1, 3], vec![], vec![3], vec![]]);
        let m = model::build(b.documents()).unwrap();
        assert_eq!(m.workloads.len(), 4);
        assert_eq!(m.nodes.len(), 4);
        let cpu = m.resource_id("cpu").unwrap();
        assert_eq!(m.workloads[0].id, "bppc/item-1");
        assert_eq!(m.workloads[0].requests[cpu], 6000);
        assert_eq!(m.nodes[0].allocatable[cpu], Some(10_000));
        // Symmetric in the model: item 4 avoids items 1 and 3.
        assert_eq!(m.workloads[3].anti_affinity, [0, 2]);
        assert!(m.workloads.iter().all(|w| w.max_per_node.is_none()));
    }

    #[test]
    fn conflicts_listed_on_either_side_are_one_edge() {
        let b = Bppc::parse(Path::new("t.txt"), "2 10\n1 3 2\n2 3 1\n").unwrap();
        assert_eq!(b.conflicts, [vec![1], vec![]]);
    }

    #[test]
    fn rejects_malformed_files_with_the_line() {
        for (text, want) in [
            ("2 10\n1 3\n", "t.txt:0: item 2 has no line"),
            ("2 10\n1 3\n3 4\n", "t.txt:3: item 3 is not in 1..=2"),
            (
                "2 10\n1 3 1\n2 4\n",
                "t.txt:2: conflict with item 1 is not valid",
            ),
            ("2 10\n1 x\n", "t.txt:2: expected a weight, found `x`"),
            ("2\n", "t.txt:0: the file ends before the bin capacity"),
        ] {
            let e = Bppc::parse(Path::new("t.txt"), text).unwrap_err();
            assert_eq!(e.to_string(), want);
        }
    }

    #[test]
    fn reads_a_published_instance() {
        let path = Path::new("../shared/bench/bppc/BPPC_5_1_3.txt");
        if !path.exists() {
            eprintln!("skipped: {} is not present", path.display());
            return;
        }
        let b = Bppc::read(path).unwrap();
        assert_eq!((b.weights.len(), b.capacity), (60, 1000));
        // SOURCE.md: 29 conflict edges; item 6 weighs 305 and conflicts with 8, 14, 25, ...
        assert_eq!(b.conflicts.iter().map(Vec::len).sum::<usize>(), 29);
        assert_eq!(b.weights[5], 305);
        assert_eq!(&b.conflicts[5][..3], [7, 13, 24]);
        let m = model::build(b.documents()).unwrap();
        assert_eq!(m.total_replicas(), 60);
    }
}
