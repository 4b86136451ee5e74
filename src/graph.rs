//! The constraint graph: classes and workloads as vertices; compatibility, conflicts (with
//! their reason), membership and anti-affinity as edges (petgraph).
//!
//! Owns which classes may share a pool, and why the others may not. It is built once from
//! the model and the policy's derivations and never changes during a solve. Who reads what:
//! - the searches (`solve`'s grouping, complete and exhaustive searches, and the re-plan
//!   against a previous plan) ask [`ConstraintGraph::compatible`], the class-to-class
//!   compatibility edges kept as a matrix for constant-time lookups, and
//!   [`ConstraintGraph::is_clique`] for a whole group;
//! - the lower bound takes [`ConstraintGraph::heaviest_conflict_clique`]: classes pairwise in
//!   conflict each need nodes of their own; and [`anti_affine_cliques`]: workloads pairwise
//!   anti-affine (a ROADEF service, a BPPC conflict clique) each need nodes of their own;
//! - [`ConstraintGraph::graph`] is the whole picture with the reason on every conflict edge,
//!   for library users who draw or explain a plan; the planner itself needs only the two
//!   above.

use crate::model::Model;
use crate::policy::{self, Class};
use petgraph::graph::{NodeIndex, UnGraph};

#[derive(Debug, Clone, PartialEq, Eq)]
/// A vertex of the constraint graph.
pub enum Vertex {
    /// Index into [`ConstraintGraph::classes`].
    Class(usize),
    /// Index into `model.workloads`.
    Workload(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// An edge of the constraint graph.
pub enum Edge {
    /// Class ↔ workload: the workload belongs to the class.
    Member,
    /// Class ↔ class: the two may share a pool (and nodes).
    Compatible,
    /// Class ↔ class: they must be in different pools, and why.
    Conflict(Conflict),
    /// Workload ↔ workload: never on one node.
    AntiAffinity,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// Why two classes must be in different pools.
pub enum Conflict {
    /// One of the classes is a dedicated workload.
    Dedicated,
    /// One class is the platform class, which shares with no tier.
    Platform,
    /// This `separateBy` attribute differs and no `shareWhen` rule excuses it.
    Attribute(String),
}

/// The classes of a model and the edges between them (see the module docs).
#[derive(Debug, Clone)]
pub struct ConstraintGraph {
    /// The classes of the model, sorted by name; class indices everywhere index this.
    pub classes: Vec<Class>,
    /// Every vertex and edge, conflict reasons included.
    pub graph: UnGraph<Vertex, Edge>,
    /// `compatible[i][j]`: classes i and j may share a pool (the `Compatible` edges).
    pub compatible: Vec<Vec<bool>>,
    class_vertex: Vec<NodeIndex>,
}

impl ConstraintGraph {
    /// The constraint graph of `model`.
    pub fn build(model: &Model) -> Self {
        let classes = policy::classes(model);
        let compatible = policy::class_compatibility(model, &classes);
        let mut graph = UnGraph::new_undirected();
        let class_vertex: Vec<NodeIndex> = (0..classes.len())
            .map(|c| graph.add_node(Vertex::Class(c)))
            .collect();
        let mut workload_vertex = vec![NodeIndex::end(); model.workloads.len()];
        for (c, class) in classes.iter().enumerate() {
            for &w in &class.workloads {
                workload_vertex[w] = graph.add_node(Vertex::Workload(w));
                graph.add_edge(class_vertex[c], workload_vertex[w], Edge::Member);
            }
        }
        for i in 0..classes.len() {
            for j in i + 1..classes.len() {
                let edge = if compatible[i][j] {
                    Edge::Compatible
                } else if [i, j]
                    .iter()
                    .any(|&c| classes[c].name == policy::PLATFORM_CLASS)
                {
                    Edge::Conflict(Conflict::Platform)
                } else if classes[i].dedicated || classes[j].dedicated {
                    Edge::Conflict(Conflict::Dedicated)
                } else {
                    let a = &model.workloads[classes[i].workloads[0]];
                    let b = &model.workloads[classes[j].workloads[0]];
                    // Representatives may all be compatible while another member pair is not.
                    let attr = policy::separating_attribute(model, a, b)
                        .or_else(|| {
                            classes[i].workloads.iter().find_map(|&x| {
                                classes[j].workloads.iter().find_map(|&y| {
                                    policy::separating_attribute(
                                        model,
                                        &model.workloads[x],
                                        &model.workloads[y],
                                    )
                                })
                            })
                        })
                        .unwrap_or_default();
                    Edge::Conflict(Conflict::Attribute(attr.to_string()))
                };
                graph.add_edge(class_vertex[i], class_vertex[j], edge);
            }
        }
        for (a, w) in model.workloads.iter().enumerate() {
            for &b in &w.anti_affinity {
                if a < b {
                    graph.add_edge(workload_vertex[a], workload_vertex[b], Edge::AntiAffinity);
                }
            }
        }
        ConstraintGraph {
            classes,
            graph,
            compatible,
            class_vertex,
        }
    }

    /// The class vertex of class `c`.
    pub fn class_vertex(&self, c: usize) -> NodeIndex {
        self.class_vertex[c]
    }

    /// Whether every two classes of `group` may share a pool.
    pub fn is_clique(&self, group: &[usize]) -> bool {
        group
            .iter()
            .enumerate()
            .all(|(i, &a)| group[i + 1..].iter().all(|&b| self.compatible[a][b]))
    }

    /// A heaviest set of classes pairwise in conflict (`weight` per class; classes of
    /// weight 0 left out), ascending: exact branch and bound over the conflict edges, bounded
    /// in nodes explored (then the best found, still a valid choice).
    pub fn heaviest_conflict_clique(&self, weight: &[u64]) -> Vec<usize> {
        let compatible = &self.compatible;
        let n = weight.len();
        let mut order: Vec<usize> = (0..n).filter(|&i| weight[i] > 0).collect();
        order.sort_by(|&a, &b| weight[b].cmp(&weight[a]).then(a.cmp(&b)));
        struct Search<'a> {
            compatible: &'a [Vec<bool>],
            weight: &'a [u64],
            order: Vec<usize>,
            best: (u64, Vec<usize>),
            explored: u64,
        }
        impl Search<'_> {
            fn go(&mut self, from: usize, chosen: &mut Vec<usize>, w: u64) {
                self.explored += 1;
                if w > self.best.0 {
                    self.best = (w, chosen.clone());
                }
                if self.explored > 200_000 {
                    return;
                }
                let rest: u64 = self.order[from..]
                    .iter()
                    .filter(|&&c| chosen.iter().all(|&s| !self.compatible[s][c]))
                    .map(|&c| self.weight[c])
                    .sum();
                if w + rest <= self.best.0 {
                    return;
                }
                for i in from..self.order.len() {
                    let c = self.order[i];
                    if chosen.iter().all(|&s| !self.compatible[s][c]) {
                        chosen.push(c);
                        self.go(i + 1, chosen, w + self.weight[c]);
                        chosen.pop();
                    }
                }
            }
        }
        let mut s = Search {
            compatible,
            weight,
            order,
            best: (0, Vec::new()),
            explored: 0,
        };
        s.go(0, &mut Vec::new(), 0);
        let mut best = s.best.1;
        best.sort_unstable();
        best
    }
}

/// Anti-affinity checks [`anti_affine_cliques`] makes at most: past them, the cliques found
/// so far stand (any set of pairwise anti-affine workloads is a valid cut).
const CLIQUE_CHECKS: u64 = 20_000_000;

/// Sets of at least two workloads, pairwise anti-affine, each ascending: greedy from the
/// heaviest workload (`weight`: nodes it needs on its own) not yet in a set, adding its
/// anti-affine partners heaviest first where they conflict with every member so far.
/// Workloads of weight 0 are left out.
pub fn anti_affine_cliques(model: &Model, weight: impl Fn(usize) -> u64) -> Vec<Vec<usize>> {
    let heaviest = |ws: &mut Vec<usize>| ws.sort_by_key(|&w| (std::cmp::Reverse(weight(w)), w));
    let mut seeds: Vec<usize> = (0..model.workloads.len())
        .filter(|&w| weight(w) > 0 && !model.workloads[w].anti_affinity.is_empty())
        .collect();
    heaviest(&mut seeds);
    let mut covered = vec![false; model.workloads.len()];
    let mut cliques = Vec::new();
    let mut checks = 0u64;
    for seed in seeds {
        if covered[seed] {
            continue;
        }
        let mut partners: Vec<usize> = model.workloads[seed]
            .anti_affinity
            .iter()
            .copied()
            .filter(|&w| weight(w) > 0)
            .collect();
        heaviest(&mut partners);
        let mut clique = vec![seed];
        for p in partners {
            checks += clique.len() as u64;
            if clique
                .iter()
                .all(|&m| model.workloads[m].anti_affinity.binary_search(&p).is_ok())
            {
                clique.push(p);
            }
        }
        for &m in &clique {
            covered[m] = true;
        }
        if clique.len() > 1 {
            clique.sort_unstable();
            cliques.push(clique);
        }
        if checks > CLIQUE_CHECKS {
            break;
        }
    }
    cliques
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{model, node, policy, workload};

    #[test]
    fn the_graph_holds_classes_workloads_and_every_kind_of_edge() {
        let m = model(&[
            &policy(
                "separateBy: [sensitivity, trust], shareWhen: [{sensitivity: [public, internal]}]",
            ),
            &workload(
                "web",
                "sensitivity: public, trust: first-party, antiAffinity: [api]",
            ),
            &workload("api", "sensitivity: internal, trust: first-party"),
            &workload("crm", "sensitivity: internal, trust: third-party"),
            &workload(
                "ci",
                "sensitivity: internal, trust: first-party, dedicated: true",
            ),
            &node("n", "", ""),
        ]);
        let g = ConstraintGraph::build(&m);
        assert_eq!(g.classes.len(), 4);
        assert_eq!(g.graph.node_count(), 4 + 4);
        let edges: Vec<&Edge> = g.graph.edge_weights().collect();
        let count = |f: &dyn Fn(&Edge) -> bool| edges.iter().filter(|e| f(e)).count();
        assert_eq!(count(&|e| *e == Edge::Member), 4);
        assert_eq!(count(&|e| *e == Edge::AntiAffinity), 1);
        assert_eq!(
            count(&|e| *e == Edge::Compatible),
            1,
            "only public/internal first-party"
        );
        assert_eq!(count(&|e| *e == Edge::Conflict(Conflict::Dedicated)), 3);
        assert_eq!(
            count(&|e| *e == Edge::Conflict(Conflict::Attribute("trust".into()))),
            2
        );
        let idx = |name: &str| g.classes.iter().position(|c| c.name == name).unwrap();
        let (public, internal, third) = (
            idx("sensitivity=public,trust=first-party"),
            idx("sensitivity=internal,trust=first-party"),
            idx("sensitivity=internal,trust=third-party"),
        );
        assert!(g.is_clique(&[public, internal]));
        assert!(!g.is_clique(&[public, internal, third]));
        assert!(matches!(g.graph[g.class_vertex(public)], Vertex::Class(c) if c == public));
        // Pairwise in conflict: third-party, dedicated ci, and one of the two that share.
        let ci = idx("dedicated:default/ci");
        let mut weight = vec![0; 4];
        weight[public] = 5;
        weight[internal] = 1;
        weight[third] = 2;
        weight[ci] = 1;
        assert_eq!(g.heaviest_conflict_clique(&weight), {
            let mut v = vec![public, third, ci];
            v.sort_unstable();
            v
        });
        weight[third] = 0;
        assert!(!g.heaviest_conflict_clique(&weight).contains(&third));
    }

    #[test]
    fn anti_affine_cliques_grow_from_the_heaviest_workload() {
        // a–b–c pairwise anti-affine, c–d too; d needs 3 nodes (maxPerNode 1).
        let m = model(&[
            &workload("a", "sensitivity: public, antiAffinity: [b, c]"),
            &workload("b", "sensitivity: public, antiAffinity: [c]"),
            &workload("c", "sensitivity: public, antiAffinity: [d]"),
            &workload("d", "sensitivity: public, replicas: 3, maxPerNode: 1"),
            &workload("e", "sensitivity: public"),
            &node("n", "", ""),
        ]);
        let weight = |w: usize| if w == 3 { 3 } else { 1 };
        assert_eq!(anti_affine_cliques(&m, weight), [vec![2, 3], vec![0, 1, 2]]);
        assert_eq!(
            anti_affine_cliques(&m, |w| u64::from(w != 3)),
            [vec![0, 1, 2]]
        );
    }
}
