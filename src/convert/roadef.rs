//! ROADEF/EURO Challenge 2012 (Google machine reassignment): `model_*.txt`, and the initial
//! placement in the `assignment_*.txt` next to it.
//!
//! Mapping: process → workload (`process-N`, one replica) requesting its requirements
//! (resource 1 → `cpu`, 2 → `memory`, further ones → `bench.tierplan.io/dim-k`, whole units);
//! two processes of one service → antiAffinity (the challenge's conflict constraint); machine
//! → Node (`machine-N`) with its capacities, its location as zone and its neighbourhood as the
//! label `roadef.tierplan.io/neighborhood`. The challenge's other rules concern a
//! reassignment and have no counterpart in planning from scratch, or in tierplan: they are
//! listed in [`Converted::dropped`] and kept as workload annotations.

use super::{amounts, node, padded, read_text, stem, workload, ConvertError, Converted, Numbers};
use crate::input::wire::{Metadata, NodeSpec, WorkloadSpec};
use crate::input::Documents;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The namespace of the converted workloads.
pub const NAMESPACE: &str = "roadef";
/// The node label carrying a machine's neighborhood.
pub const NEIGHBORHOOD_LABEL: &str = "roadef.tierplan.io/neighborhood";

#[derive(Debug, Clone, PartialEq)]
/// A machine of the instance.
pub struct Machine {
    /// Its neighborhood.
    pub neighborhood: u32,
    /// Its location.
    pub location: u32,
    /// Capacity per resource.
    pub capacity: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq)]
/// A service of the instance.
pub struct Service {
    /// Locations its processes must spread over at least.
    pub spread_min: u32,
    /// Services it depends on.
    pub dependencies: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
/// A process of the instance.
pub struct Process {
    /// Its service.
    pub service: usize,
    /// Requirement per resource.
    pub requirement: Vec<u64>,
}

/// A parsed instance (indices 0-based, as in the files).
#[derive(Debug, Clone, PartialEq)]
pub struct Roadef {
    /// The instance file.
    pub source: PathBuf,
    /// Per resource: whether it is transient.
    pub transient: Vec<bool>,
    /// The machines.
    pub machines: Vec<Machine>,
    /// The services.
    pub services: Vec<Service>,
    /// The processes.
    pub processes: Vec<Process>,
}

impl Roadef {
    /// Reads the instance at `path`.
    pub fn read(path: &Path) -> Result<Self, ConvertError> {
        Self::parse(path, &read_text(path)?)
    }

    /// Parses the instance text read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConvertError> {
        let mut t = Numbers::new(path, text);
        let r: usize = t.next("the number of resources")?;
        let mut transient = Vec::with_capacity(r);
        for k in 0..r {
            transient.push(t.next::<u8>(&format!("the transient flag of resource {k}"))? == 1);
            t.next::<u64>(&format!("the load cost weight of resource {k}"))?;
        }
        let m: usize = t.next("the number of machines")?;
        let mut machines = Vec::with_capacity(m);
        for i in 0..m {
            let neighborhood = t.next(&format!("the neighborhood of machine {i}"))?;
            let location = t.next(&format!("the location of machine {i}"))?;
            let capacity = (0..r)
                .map(|k| t.next(&format!("capacity {k} of machine {i}")))
                .collect::<Result<Vec<u64>, _>>()?;
            for k in 0..r {
                t.next::<u64>(&format!("safety capacity {k} of machine {i}"))?;
            }
            for j in 0..m {
                t.next::<u64>(&format!("move cost {j} of machine {i}"))?;
            }
            machines.push(Machine {
                neighborhood,
                location,
                capacity,
            });
        }
        let s: usize = t.next("the number of services")?;
        let mut services = Vec::with_capacity(s);
        for i in 0..s {
            let spread_min = t.next(&format!("the spreadMin of service {i}"))?;
            let n: usize = t.next(&format!("the dependency count of service {i}"))?;
            let dependencies = (0..n)
                .map(|_| t.next(&format!("a dependency of service {i}")))
                .collect::<Result<Vec<usize>, _>>()?;
            if let Some(d) = dependencies.iter().find(|&&d| d >= s) {
                return Err(t.error(0, format!("service {i} depends on unknown service {d}")));
            }
            services.push(Service {
                spread_min,
                dependencies,
            });
        }
        let p: usize = t.next("the number of processes")?;
        let mut processes = Vec::with_capacity(p);
        for i in 0..p {
            let service: usize = t.next(&format!("the service of process {i}"))?;
            if service >= s {
                return Err(t.error(0, format!("process {i} is in unknown service {service}")));
            }
            let requirement = (0..r)
                .map(|k| t.next(&format!("requirement {k} of process {i}")))
                .collect::<Result<Vec<u64>, _>>()?;
            t.next::<u64>(&format!("the move cost of process {i}"))?;
            processes.push(Process {
                service,
                requirement,
            });
        }
        let b: usize = t.next("the number of balance objectives")?;
        for i in 0..b {
            for what in ["resource 1", "resource 2", "target", "weight"] {
                t.next::<u64>(&format!("{what} of balance objective {i}"))?;
            }
        }
        for what in ["process", "service", "machine"] {
            t.next::<u64>(&format!("the {what} move weight"))?;
        }
        t.finish()?;
        Ok(Roadef {
            source: path.to_path_buf(),
            transient,
            machines,
            services,
            processes,
        })
    }

    fn process_name(&self, p: usize) -> String {
        padded("process", p, self.processes.len())
    }

    /// The instance as tierplan documents.
    pub fn documents(&self) -> Documents {
        let mut by_service: Vec<Vec<usize>> = vec![Vec::new(); self.services.len()];
        for (p, proc) in self.processes.iter().enumerate() {
            by_service[proc.service].push(p);
        }
        let mut docs = Documents::default();
        for (p, proc) in self.processes.iter().enumerate() {
            let service = &self.services[proc.service];
            // Each pair of the service once, on its first process.
            let anti_affinity = by_service[proc.service]
                .iter()
                .filter(|&&q| q > p)
                .map(|&q| self.process_name(q))
                .collect();
            let mut w = workload(
                &self.source,
                p + 1,
                NAMESPACE,
                self.process_name(p),
                WorkloadSpec {
                    replicas: Some(1),
                    resources: amounts(&proc.requirement),
                    anti_affinity,
                    ..WorkloadSpec::default()
                },
            );
            w.1.metadata.annotations = BTreeMap::from([
                (
                    "roadef.tierplan.io/service".to_string(),
                    proc.service.to_string(),
                ),
                (
                    "roadef.tierplan.io/spread-min".to_string(),
                    service.spread_min.to_string(),
                ),
            ]);
            docs.workloads.push(w);
        }
        let n = self.processes.len();
        for (i, m) in self.machines.iter().enumerate() {
            let metadata = Metadata {
                name: padded("machine", i, self.machines.len()),
                labels: BTreeMap::from([(
                    NEIGHBORHOOD_LABEL.to_string(),
                    m.neighborhood.to_string(),
                )]),
                ..Metadata::default()
            };
            let spec = NodeSpec {
                allocatable: amounts(&m.capacity),
                zone: Some(format!("location-{}", m.location)),
                cost: None,
                taints: Vec::new(),
                unschedulable: false,
            };
            docs.nodes
                .push(node(&self.source, n + i + 1, metadata, spec));
        }
        docs
    }

    /// The challenge's rules that the converted instance leaves out, with their counts.
    pub fn dropped(&self) -> Vec<String> {
        let mut size = vec![0usize; self.services.len()];
        for p in &self.processes {
            size[p.service] += 1;
        }
        let spread = self
            .services
            .iter()
            .zip(&size)
            .filter(|(s, &n)| s.spread_min > 1 && n > 1)
            .count();
        let deps: usize = self.services.iter().map(|s| s.dependencies.len()).sum();
        let transient = self.transient.iter().filter(|&&t| t).count();
        vec![
            format!("spreadMin of {spread} services (over distinct locations): tierplan spreads each workload, and every process is a workload of its own"),
            format!("{deps} service dependencies (a neighbourhood hosting a process of s must host one of each service s depends on)"),
            format!("{transient} transient resources, safety capacities, balance and move costs: they price a reassignment, not a plan from scratch"),
        ]
    }

    /// The instance as tierplan documents, with what was left out.
    pub fn converted(&self) -> Converted {
        Converted {
            name: stem(&self.source),
            documents: self.documents(),
            dropped: self.dropped(),
        }
    }

    /// The initial assignment, `assignment_X.txt` next to `model_X.txt`: per process, its
    /// machine.
    pub fn initial_assignment(&self) -> Result<Vec<usize>, ConvertError> {
        let name = self
            .source
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("model_"))
            .unwrap_or_default();
        let path = self.source.with_file_name(format!("assignment_{name}"));
        let text = read_text(&path)?;
        let mut t = Numbers::new(&path, &text);
        let machines = (0..self.processes.len())
            .map(|p| {
                let m: usize = t.next(&format!("the machine of process {p}"))?;
                if m >= self.machines.len() {
                    return Err(t.error(0, format!("process {p} is on unknown machine {m}")));
                }
                Ok(m)
            })
            .collect::<Result<Vec<usize>, _>>()?;
        t.finish()?;
        Ok(machines)
    }

    /// Machines the initial assignment uses.
    pub fn initial_machines_used(&self) -> Result<usize, ConvertError> {
        let used: BTreeSet<usize> = self.initial_assignment()?.into_iter().collect();
        Ok(used.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model;

    /// 2 resources (the second transient), 2 machines, 2 services (1 depends on 0), 3
    /// processes (0 and 1 in service 0), 1 balance objective.
    const TINY: &str = "2\n0 10\n1 20\n\
        2\n0 0 10 20 8 16 0 1\n1 1 5 0 4 0 1 0\n\
        2\n2 0\n1 1 0\n\
        3\n0 3 4 1\n0 2 2 1\n1 1 0 1\n\
        1\n0 1 20\n10\n1 10 100\n";

    #[test]
    fn maps_services_to_anti_affinity_and_locations_to_zones() {
        let r = Roadef::parse(Path::new("model_t.txt"), TINY).unwrap();
        assert_eq!(r.transient, [false, true]);
        assert_eq!(r.services[1].dependencies, [0]);
        let m = model::build(r.documents()).unwrap();
        assert_eq!(m.resources, ["cpu", "memory", "pods"]);
        let ids: Vec<&str> = m.workloads.iter().map(|w| w.id.as_str()).collect();
        assert_eq!(
            ids,
            ["roadef/process-0", "roadef/process-1", "roadef/process-2"]
        );
        assert_eq!(m.workloads[0].anti_affinity, [1]);
        assert!(m.workloads[2].anti_affinity.is_empty());
        assert_eq!(m.workloads[0].requests, [3000, 4, 1]);
        // Zero capacity: the resource is left undeclared, so no request for it fits.
        assert_eq!(m.nodes[1].allocatable[..2], [Some(5000), None]);
        assert_eq!(m.nodes[1].zone.as_deref(), Some("location-1"));
        assert_eq!(m.nodes[1].labels[NEIGHBORHOOD_LABEL], "1");
        let dropped = r.dropped();
        assert!(
            dropped[0].starts_with("spreadMin of 1 services"),
            "{dropped:?}"
        );
        assert!(
            dropped[1].starts_with("1 service dependencies"),
            "{dropped:?}"
        );
    }

    #[test]
    fn rejects_truncated_and_inconsistent_files() {
        let e = Roadef::parse(Path::new("m.txt"), &TINY[..TINY.len() - 4]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.txt:0: the file ends before the machine move weight"
        );
        let bad = TINY.replace("3\n0 3 4 1", "3\n5 3 4 1");
        let e = Roadef::parse(Path::new("m.txt"), &bad).unwrap_err();
        assert_eq!(e.to_string(), "m.txt:0: process 0 is in unknown service 5");
    }

    #[test]
    fn reads_a_published_instance_and_its_assignment() {
        let path = Path::new("../shared/bench/roadef2012-a/model_a1_1.txt");
        if !path.exists() {
            eprintln!("skipped: {} is not present", path.display());
            return;
        }
        let r = Roadef::read(path).unwrap();
        // SOURCE.md: R = 2, M = 4, S = 79, P = 100.
        assert_eq!(r.transient.len(), 2);
        assert_eq!(r.machines.len(), 4);
        assert_eq!(r.services.len(), 79);
        assert_eq!(r.processes.len(), 100);
        assert_eq!(r.initial_machines_used().unwrap(), 4);
        model::build(r.documents()).unwrap();
    }

    /// The challenge's initial assignment honours capacities and service conflicts, so it
    /// must fit the converted instance: checks units, resource order and zero capacities.
    #[test]
    fn the_initial_assignments_fit_the_converted_instances() {
        let dir = Path::new("../shared/bench/roadef2012-a");
        if !dir.exists() {
            eprintln!("skipped: {} is not present", dir.display());
            return;
        }
        for name in [
            "a1_1", "a1_2", "a1_3", "a1_4", "a1_5", "a2_1", "a2_2", "a2_3", "a2_4", "a2_5",
        ] {
            let r = Roadef::read(&dir.join(format!("model_{name}.txt"))).unwrap();
            let m = model::build(r.documents()).unwrap();
            let assignment = r.initial_assignment().unwrap();
            let mut used = vec![vec![0u64; m.resources.len()]; m.nodes.len()];
            let mut hosted: Vec<Vec<usize>> = vec![Vec::new(); m.nodes.len()];
            for (p, &machine) in assignment.iter().enumerate() {
                // Names are padded, so model order is process order and machine order.
                let w = &m.workloads[p];
                assert_eq!(w.id, format!("roadef/{}", r.process_name(p)));
                for (u, q) in used[machine].iter_mut().zip(&w.requests) {
                    *u += q;
                }
                assert!(
                    w.anti_affinity.iter().all(|a| !hosted[machine].contains(a)),
                    "{name}: process {p} shares machine {machine} with its service"
                );
                hosted[machine].push(p);
            }
            for (n, node) in m.nodes.iter().enumerate() {
                for (k, &u) in used[n].iter().enumerate() {
                    let cap = node.allocatable[k].unwrap_or(0);
                    assert!(u <= cap, "{name}: {} over {}", node.name, m.resources[k]);
                }
            }
        }
    }
}
