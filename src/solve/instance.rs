//! The solver's view of a model: nodes grouped into types, workloads with their eligible
//! types, and the free inventory that pools draw nodes from.

use crate::emit::POOL_TAINT_KEY;
use crate::graph::ConstraintGraph;
use crate::model::{Model, Taint};
use crate::policy::{self, Ineligible};
use std::collections::{BTreeMap, BTreeSet};

/// How many replicas requesting `req` fit in capacity `cap` beside `load` (`u64::MAX` when
/// `req` asks for nothing). Pod slots are a resource like any other.
pub(super) fn room(cap: &[u64], load: &[u64], req: &[u64]) -> u64 {
    req.iter()
        .zip(cap)
        .zip(load)
        .filter(|((q, _), _)| **q > 0)
        .map(|((q, c), l)| c.saturating_sub(*l) / q)
        .min()
        .unwrap_or(u64::MAX)
}

/// Nodes that are interchangeable for planning: same usable capacity, cost and labels that
/// any requirement looks at. Zones are kept apart inside a type.
#[derive(Debug, Clone)]
pub struct NodeType {
    /// Usable capacity (allocatable − overhead; 0 where undeclared) per resource.
    pub cap: Vec<u64>,
    pub cost: u64,
    pub labels: BTreeMap<String, String>,
    /// Node indices per zone slot (see [`Instance::zones`]), ascending.
    pub nodes_by_zone: Vec<Vec<usize>>,
    /// The catalog type (index into `Model::node_types`) its nodes are bought as; `None` for
    /// inventory nodes.
    pub catalog: Option<usize>,
    /// Its first node: the others agree with it on every label, taint and cordon any
    /// workload's constraints look at.
    pub first: usize,
    /// How many of its nodes any plan may use: the inventory's count, or a catalog type's
    /// `max` (`None`: unlimited). Only this, never the nodes materialised for the search,
    /// may bound the lower bound.
    pub limit: Option<usize>,
}

impl NodeType {
    /// Nodes materialised for the search.
    pub fn count(&self) -> usize {
        self.nodes_by_zone.iter().map(Vec::len).sum()
    }

    /// [`NodeType::limit`] as a number (`usize::MAX` when unlimited).
    pub fn limit_or_max(&self) -> usize {
        self.limit.unwrap_or(usize::MAX)
    }
}

/// Comparisons of a resource on an eligible type [`Instance::too_large_together`] makes at
/// most: past them, the set found so far stands (any set of workloads pairwise too large to
/// share is a valid cut).
const SIZE_CHECKS: u64 = 20_000_000;

#[derive(Debug, Clone)]
pub struct WorkloadInfo {
    /// Required node labels, or why they contradict each other.
    pub labels: Result<BTreeMap<String, String>, policy::LabelConflict>,
    /// Types that can host one replica, ascending.
    pub eligible: Vec<usize>,
    /// Replicas needed in distinct zones: min(minZones, replicas), 0 without minZones.
    pub zones_needed: u32,
    /// (workload A, k): co-location limits of others that cap this one (at most k of its
    /// replicas on a node hosting A).
    pub capped_by: Vec<(usize, u32)>,
    /// The sets of workloads that pairwise never share a node it belongs to, by index: those
    /// of [`crate::graph::anti_affine_cliques`], then [`Instance::too_large_together`]. The
    /// members of one set need the sum of their [`Instance::count_need`].
    pub apart: Vec<usize>,
}

/// Capacity, cost, relevant labels, catalog type, and the taints and cordon that tolerations
/// look at: what makes two nodes interchangeable.
type TypeKey = (
    Vec<u64>,
    u64,
    BTreeMap<String, String>,
    Option<usize>,
    Vec<Taint>,
    bool,
);

pub struct Instance<'m> {
    pub model: &'m Model,
    pub graph: ConstraintGraph,
    pub types: Vec<NodeType>,
    pub node_type: Vec<usize>,
    /// Zone names; slot `zones.len()` holds nodes without a zone.
    pub zones: Vec<String>,
    pub node_zone: Vec<usize>,
    pub workloads: Vec<WorkloadInfo>,
    /// Per resource, the largest usable capacity of any type (for normalising sizes).
    pub max_cap: Vec<u64>,
}

impl<'m> Instance<'m> {
    pub fn new(model: &'m Model) -> Self {
        Self::with_catalog(model, &[])
    }

    /// An instance whose nodes may include catalog nodes materialised for the search:
    /// `bought[n]` is the catalog type of node `n` (absent or `None`: an inventory node).
    pub fn with_catalog(model: &'m Model, bought: &[Option<usize>]) -> Self {
        let graph = ConstraintGraph::build(model);
        let required: Vec<Result<BTreeMap<String, String>, policy::LabelConflict>> = model
            .workloads
            .iter()
            .map(|w| policy::required_labels(model, w))
            .collect();
        // Keys any requirement or node affinity expression looks at.
        let relevant: BTreeSet<&str> = required
            .iter()
            .flatten()
            .flat_map(|l| l.keys().map(String::as_str))
            .chain(model.workloads.iter().flat_map(|w| {
                w.node_affinity
                    .iter()
                    .flat_map(|t| t.expressions.iter().map(|e| e.key.as_str()))
            }))
            .collect();
        let zones: Vec<String> = model
            .nodes
            .iter()
            .filter_map(|n| n.zone.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let node_zone: Vec<usize> = model
            .nodes
            .iter()
            .map(|n| match &n.zone {
                Some(z) => zones.binary_search(z).expect("collected zone"),
                None => zones.len(),
            })
            .collect();

        let (types, node_type) = group_nodes(model, bought, &relevant, &zones, &node_zone);

        let mut capped_by: Vec<Vec<(usize, u32)>> = vec![Vec::new(); model.workloads.len()];
        for (a, w) in model.workloads.iter().enumerate() {
            for &(b, k) in &w.co_location {
                capped_by[b].push((a, k));
            }
        }
        let workloads = model
            .workloads
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let labels = required[i].clone();
                let eligible = match &labels {
                    Ok(l) => types
                        .iter()
                        .enumerate()
                        .filter(|(_, t)| {
                            type_fits(l, &t.labels, &w.requests, &t.cap)
                                && policy::constraint_ineligibility(w, &model.nodes[t.first])
                                    .is_none()
                        })
                        .map(|(t, _)| t)
                        .collect(),
                    Err(_) => Vec::new(),
                };
                WorkloadInfo {
                    labels,
                    eligible,
                    zones_needed: w.min_zones.map_or(0, |z| z.min(w.replicas)),
                    capped_by: std::mem::take(&mut capped_by[i]),
                    apart: Vec::new(),
                }
            })
            .collect();
        let max_cap = (0..model.resources.len())
            .map(|r| types.iter().map(|t| t.cap[r]).max().unwrap_or(0))
            .collect();
        let mut inst = Instance {
            model,
            graph,
            types,
            node_type,
            zones,
            node_zone,
            workloads,
            max_cap,
        };
        let mut cliques = crate::graph::anti_affine_cliques(model, |w| inst.count_need(w));
        cliques.push(inst.too_large_together());
        for (c, clique) in cliques.iter().enumerate().filter(|(_, c)| c.len() > 1) {
            for &w in clique {
                inst.workloads[w].apart.push(c);
            }
        }
        inst
    }

    /// Nodes workload `w` needs by counting alone: maxPerNode spreading, minZones, and one
    /// per replica where no node it may use holds two.
    pub fn count_need(&self, w: usize) -> u64 {
        let m = &self.model.workloads[w];
        if m.replicas > 1
            && !self.workloads[w]
                .eligible
                .iter()
                .any(|&t| self.holds(t, w, w))
        {
            return m.replicas as u64;
        }
        let spread = m.max_per_node.map_or(1, |k| m.replicas.div_ceil(k));
        spread.max(self.workloads[w].zones_needed) as u64
    }

    /// Whether a node of type `t`, one `a` may use, has room for a replica of `a` and one of
    /// `b` together.
    fn holds(&self, t: usize, a: usize, b: usize) -> bool {
        let (qa, qb) = (
            &self.model.workloads[a].requests,
            &self.model.workloads[b].requests,
        );
        room(&self.types[t].cap, qa, qb) >= 1
    }

    /// A set of workloads too large to share any node pairwise: greedy, largest first (by
    /// the sum of their shares of the largest node), each taken where no node type both may
    /// use holds one replica of it beside one of every member. Bin packing's classic bound
    /// (items above half a bin each need their own), in several resources and node types.
    fn too_large_together(&self) -> Vec<usize> {
        let size = |w: usize| -> f64 {
            let req = &self.model.workloads[w].requests;
            (0..req.len())
                .filter(|&r| self.max_cap[r] > 0)
                .map(|r| req[r] as f64 / self.max_cap[r] as f64)
                .sum()
        };
        let mut order: Vec<(f64, usize)> = (0..self.model.workloads.len())
            .filter(|&w| {
                self.model.workloads[w].replicas > 0 && !self.workloads[w].eligible.is_empty()
            })
            .map(|w| (size(w), w))
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut set: Vec<usize> = Vec::new();
        let mut checks = 0u64;
        for (_, w) in order {
            // The smallest members first: they are the likeliest to leave room.
            let apart = set.iter().rev().all(|&m| {
                let (ew, em) = (&self.workloads[w].eligible, &self.workloads[m].eligible);
                checks += ((ew.len() + em.len()) * self.model.resources.len()) as u64;
                !ew.iter()
                    .any(|t| em.binary_search(t).is_ok() && self.holds(*t, w, m))
            });
            if apart {
                set.push(w);
            }
            if checks > SIZE_CHECKS {
                break;
            }
        }
        set.sort_unstable();
        set
    }

    /// Why node `n` can never host a replica of workload `w` (None if it can).
    pub fn ineligibility(&self, w: usize, n: usize) -> Option<Ineligible> {
        let labels = self.workloads[w].labels.as_ref().ok()?;
        policy::ineligibility(
            self.model,
            &self.model.workloads[w],
            labels,
            &self.model.nodes[n],
        )
    }

    /// Total requests of all replicas of `workloads`, per resource.
    pub fn demand(&self, workloads: impl IntoIterator<Item = usize>) -> Vec<u128> {
        let mut d = vec![0u128; self.model.resources.len()];
        for w in workloads {
            let m = &self.model.workloads[w];
            for (total, q) in d.iter_mut().zip(&m.requests) {
                *total += *q as u128 * m.replicas as u128;
            }
        }
        d
    }

    /// A workload's size as its largest share of any resource of the largest node type.
    pub fn dominant_share(&self, w: usize) -> f64 {
        let req = &self.model.workloads[w].requests;
        req.iter()
            .zip(&self.max_cap)
            .filter(|(_, &c)| c > 0 && c < crate::quantity::MAX_AMOUNT)
            .map(|(&q, &c)| q as f64 / c as f64)
            .fold(0.0, f64::max)
    }
}

/// Groups the nodes into types (see [`NodeType`]): `relevant` are the label keys any
/// requirement looks at, `bought[n]` the catalog type of a materialised node. Returns the
/// types and each node's type.
fn group_nodes(
    model: &Model,
    bought: &[Option<usize>],
    relevant: &BTreeSet<&str>,
    zones: &[String],
    node_zone: &[usize],
) -> (Vec<NodeType>, Vec<usize>) {
    let mut types: Vec<NodeType> = Vec::new();
    let mut type_index: BTreeMap<TypeKey, usize> = BTreeMap::new();
    let mut node_type = Vec::with_capacity(model.nodes.len());
    for (i, node) in model.nodes.iter().enumerate() {
        let cap: Vec<u64> = policy::usable_capacity(model, node)
            .into_iter()
            .map(|c| c.unwrap_or(0))
            .collect();
        let labels: BTreeMap<String, String> = node
            .labels
            .iter()
            .filter(|(k, _)| relevant.contains(k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let catalog = bought.get(i).copied().flatten();
        // The pool taint is tierplan's own and never decides eligibility; nor does
        // PreferNoSchedule, which only scores.
        let taints: Vec<Taint> = node
            .taints
            .iter()
            .filter(|t| t.key != POOL_TAINT_KEY)
            .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
            .cloned()
            .collect();
        let key = (
            cap.clone(),
            node.cost_micros,
            labels.clone(),
            catalog,
            taints,
            node.unschedulable,
        );
        let t = *type_index.entry(key).or_insert_with(|| {
            types.push(NodeType {
                cap,
                cost: node.cost_micros,
                labels,
                nodes_by_zone: vec![Vec::new(); zones.len() + 1],
                catalog,
                first: i,
                limit: match catalog {
                    Some(c) => model.node_types[c].max.map(|m| m as usize),
                    None => Some(0),
                },
            });
            types.len() - 1
        });
        if catalog.is_none() {
            types[t].limit = types[t].limit.map(|l| l + 1);
        }
        types[t].nodes_by_zone[node_zone[i]].push(i);
        node_type.push(t);
    }

    (types, node_type)
}

fn type_fits(
    required: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
    req: &[u64],
    cap: &[u64],
) -> bool {
    required.iter().all(|(k, v)| labels.get(k) == Some(v))
        && req.iter().zip(cap).all(|(q, c)| q <= c)
}

/// Nodes not yet given to a pool, per type and zone slot.
#[derive(Debug, Clone)]
pub struct Inventory {
    free: Vec<Vec<BTreeSet<usize>>>,
    /// Per type, how many more nodes may be taken over all zones (a catalog type's `max`).
    budget: Vec<usize>,
}

impl Inventory {
    pub fn full(inst: &Instance) -> Self {
        Inventory {
            free: inst
                .types
                .iter()
                .map(|t| {
                    t.nodes_by_zone
                        .iter()
                        .map(|z| z.iter().copied().collect())
                        .collect()
                })
                .collect(),
            budget: inst.types.iter().map(NodeType::limit_or_max).collect(),
        }
    }

    pub fn available(&self, t: usize, zone: usize) -> usize {
        self.free[t][zone].len().min(self.budget[t])
    }

    /// Takes the first free node of type `t` in `zone`.
    pub fn take(&mut self, t: usize, zone: usize) -> Option<usize> {
        if self.budget[t] == 0 {
            return None;
        }
        let node = self.free[t][zone].pop_first()?;
        self.budget[t] -= 1;
        Some(node)
    }

    /// Marks a node as taken (it was taken from another copy of the inventory).
    pub fn claim(&mut self, inst: &Instance, node: usize) {
        let t = inst.node_type[node];
        if self.free[t][inst.node_zone[node]].remove(&node) {
            self.budget[t] -= 1;
        }
    }

    pub fn release(&mut self, inst: &Instance, node: usize) {
        let t = inst.node_type[node];
        self.free[t][inst.node_zone[node]].insert(node);
        self.budget[t] += 1;
    }

    pub fn zones(&self) -> usize {
        self.free.first().map_or(0, Vec::len)
    }
}
