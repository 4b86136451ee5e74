//! Vector bin packing in the VPSolver format (`*.vbp`, Mommessin et al. benchmarks).
//!
//! Format: `d`, then the `d` bin capacities, then `m`, then `m` lines `w_1 .. w_d q` (sizes
//! and demand). Mapping: item type → workload with `q` replicas requesting its sizes
//! (dimension 1 → `cpu`, 2 → `memory`, further ones → `bench.tierplan.io/dim-k`, all in whole
//! units); bins → one Node per item with the capacities (that many always suffice).

use super::{amounts, bins, padded, read_text, stem, workload, ConvertError, Converted, Numbers};
use crate::input::wire::WorkloadSpec;
use crate::input::Documents;
use std::path::{Path, PathBuf};

/// The namespace of the converted workloads.
pub const NAMESPACE: &str = "vbp";

/// A parsed vector bin packing instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Vbp {
    /// The instance file.
    pub source: PathBuf,
    /// Bin capacity per dimension.
    pub capacity: Vec<u64>,
    /// Per item type: sizes (one per dimension) and demand.
    pub items: Vec<(Vec<u64>, u32)>,
}

impl Vbp {
    /// Reads the instance at `path`.
    pub fn read(path: &Path) -> Result<Self, ConvertError> {
        Self::parse(path, &read_text(path)?)
    }

    /// Parses the instance text read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConvertError> {
        let mut t = Numbers::new(path, text);
        let d: usize = t.next("the number of dimensions")?;
        if d == 0 {
            return Err(t.error(1, "there are no dimensions".to_string()));
        }
        let capacity = (0..d)
            .map(|k| t.next(&format!("capacity {}", k + 1)))
            .collect::<Result<Vec<u64>, _>>()?;
        let m: usize = t.next("the number of item types")?;
        let mut items = Vec::with_capacity(m);
        for i in 0..m {
            let sizes = (0..d)
                .map(|k| t.next(&format!("size {} of item {}", k + 1, i + 1)))
                .collect::<Result<Vec<u64>, _>>()?;
            let q: u32 = t.next(&format!("the demand of item {}", i + 1))?;
            items.push((sizes, q));
        }
        t.finish()?;
        Ok(Vbp {
            source: path.to_path_buf(),
            capacity,
            items,
        })
    }

    /// The instance as tierplan documents.
    pub fn documents(&self) -> Documents {
        let mut docs = Documents::default();
        let m = self.items.len();
        for (i, (sizes, q)) in self.items.iter().enumerate() {
            let spec = WorkloadSpec {
                replicas: Some(i64::from(*q)),
                resources: amounts(sizes),
                ..WorkloadSpec::default()
            };
            let name = padded("item", i + 1, m);
            docs.workloads
                .push(workload(&self.source, i + 1, NAMESPACE, name, spec));
        }
        let count = self.items.iter().map(|(_, q)| *q as usize).sum();
        bins(&mut docs, &self.source, count, &self.capacity);
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

    #[test]
    fn maps_dimensions_to_resources_and_demand_to_replicas() {
        let v = Vbp::parse(
            Path::new("t.vbp"),
            "4\n10 20 30 40\n2\n1 2 3 4 1\n5 0 5 0 3\n",
        )
        .unwrap();
        assert_eq!(v.capacity, [10, 20, 30, 40]);
        let m = model::build(v.documents()).unwrap();
        assert_eq!(
            m.resources,
            [
                "bench.tierplan.io/dim-3",
                "bench.tierplan.io/dim-4",
                "cpu",
                "memory",
                "pods"
            ]
        );
        assert_eq!(m.total_replicas(), 4);
        assert_eq!(m.nodes.len(), 4);
        let w = &m.workloads[1];
        assert_eq!((w.id.as_str(), w.replicas), ("vbp/item-2", 3));
        // A zero size is no request.
        assert_eq!(w.requests, [5, 0, 5000, 0, 1]);
        assert_eq!(
            m.nodes[0].allocatable,
            [
                Some(30),
                Some(40),
                Some(10_000),
                Some(20),
                Some(crate::quantity::MAX_AMOUNT)
            ]
        );
    }

    #[test]
    fn rejects_short_and_long_files() {
        let e = Vbp::parse(Path::new("t.vbp"), "2\n10 10\n1\n3\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.vbp:0: the file ends before size 2 of item 1"
        );
        let e = Vbp::parse(Path::new("t.vbp"), "1\n10\n1\n3 1\n7\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.vbp:5: unexpected `7` after the last field"
        );
    }

    #[test]
    fn reads_a_published_instance() {
        let path = Path::new(
            "../shared/bench/vbp-multidim/Panigrahy_instances_multidim/class1/class1_20_3_0.vbp",
        );
        if !path.exists() {
            eprintln!("skipped: {} is not present", path.display());
            return;
        }
        let v = Vbp::read(path).unwrap();
        assert_eq!(v.capacity, [1000, 1000, 1000]);
        assert_eq!(v.items.len(), 20);
        assert_eq!(v.items[0], (vec![267, 375, 305], 1));
        model::build(v.documents()).unwrap();
    }
}
