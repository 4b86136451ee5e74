//! Why replicas stayed unplaced, as facts: the public explanation the solver builds (see
//! `explain`) and renders to text in one place, its `Display`.
//!
//! The split follows pubgrub's `DerivationTree` and `Reporter`: the solver's own record of a
//! shortfall (`pack::Shortfall`, over indices) stays inside the solver; a [`Reason`] names
//! workloads, zones and resources and carries the counts and amounts, so that callers can
//! read them; plan.json keeps only the rendered text (`Unplaced.reasons`).

use crate::policy::LabelConflict;
use crate::quantity::display;
use std::fmt;

/// The replicas of one workload that stayed unplaced, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaceable {
    /// The workload's id (`namespace/name`).
    pub workload: String,
    /// Replicas left unplaced.
    pub replicas: u32,
    /// The reasons, in the order plan.json lists their text.
    pub reasons: Vec<Reason>,
}

/// One reason why replicas of a workload stayed unplaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The workload's required node labels contradict each other: no node can host it.
    LabelConflict(LabelConflict),
    /// No node can host one replica: `nodes` of the `of` nodes considered for this `cause`
    /// (one reason per cause, the commonest first, at most three).
    NoEligibleNode {
        /// Nodes ruled out by this cause.
        nodes: usize,
        /// All nodes considered (catalog mode: the nodes the search could buy).
        of: usize,
        /// What rules them out.
        cause: Ineligibility,
    },
    /// minZones could not be met.
    MinZones {
        /// The workload's minZones.
        min_zones: u32,
        /// Zones needed: minZones, at most the replica count.
        zones_needed: u32,
        /// Nodes that can host one replica.
        eligible_nodes: usize,
        /// The zones of those nodes, sorted.
        zones: Vec<String>,
        /// Those of them without a zone label.
        zoneless: usize,
    },
    /// maxPerNode spreads the replicas over more nodes than can host the workload.
    MaxPerNode {
        /// The workload's maxPerNode.
        max_per_node: u32,
        /// The workload's replicas.
        replicas: u32,
        /// Nodes that spreading needs: replicas / maxPerNode, rounded up.
        nodes_needed: usize,
        /// Nodes that can host one replica.
        eligible_nodes: usize,
    },
    /// The nodes that can host the workload ran out of room for it.
    Capacity {
        /// Nodes that can host one replica.
        eligible_nodes: usize,
        /// Of those, nodes in the workload's own pool, full for it.
        in_pool: usize,
        /// Of those, nodes in other pools.
        in_other_pools: usize,
        /// Whether the workload has anti-affinity (which also keeps it off nodes).
        anti_affinity: bool,
        /// Of those, nodes in no pool.
        free: usize,
        /// What one replica requests, per resource (pods left out), in the model's resource
        /// order; empty when it requests nothing.
        requests: Vec<Amount>,
    },
}

/// Why a node can never host one replica of a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ineligibility {
    /// The node lacks a required label (or has another value).
    MissingLabel {
        /// The label key.
        key: String,
        /// The value required.
        value: String,
    },
    /// The node does not declare a resource the workload requests.
    UndeclaredResource {
        /// The resource's name.
        resource: String,
    },
    /// One replica requests more than the node offers after the policy's overhead.
    TooSmall {
        /// The resource's name.
        resource: String,
        /// What one replica requests, in the resource's base unit.
        request: u64,
        /// What the node offers after overhead, in the resource's base unit.
        offer: u64,
    },
    /// The node matches no term of the workload's required node affinity.
    NodeAffinity {
        /// Per term, in input order, the first expression the node fails (as `key Op
        /// (values)`).
        unmet: Vec<String>,
    },
    /// The node carries a `NoSchedule` or `NoExecute` taint the workload does not tolerate.
    UntoleratedTaint {
        /// The taint's key.
        key: String,
        /// Its value (empty when none).
        value: String,
        /// Its effect.
        effect: String,
    },
    /// The node is cordoned (`unschedulable`) and the workload does not tolerate
    /// `node.kubernetes.io/unschedulable:NoSchedule`.
    Cordoned,
}

/// An amount of one resource, in its base unit (millicores, bytes, pods, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amount {
    /// The resource's name.
    pub resource: String,
    /// The amount.
    pub amount: u64,
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.resource,
            display(&self.resource, self.amount)
        )
    }
}

impl fmt::Display for Ineligibility {
    /// The cause as a predicate of "N of M node(s) …".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ineligibility::MissingLabel { key, value } => {
                write!(f, "lack the required label {key}={value}")
            }
            Ineligibility::UndeclaredResource { resource } => {
                write!(f, "do not declare the resource {resource}")
            }
            Ineligibility::TooSmall {
                resource,
                request,
                offer,
            } => write!(
                f,
                "are too small: one replica requests {resource} {} but they offer at most {} after overhead",
                display(resource, *request),
                display(resource, *offer)
            ),
            Ineligibility::NodeAffinity { unmet } => {
                let terms: Vec<String> = unmet
                    .iter()
                    .enumerate()
                    .map(|(i, e)| format!("term {i} fails {e}"))
                    .collect();
                write!(
                    f,
                    "match no term of its nodeAffinity ({})",
                    terms.join("; ")
                )
            }
            Ineligibility::UntoleratedTaint { key, value, effect } => {
                let value = if value.is_empty() {
                    String::new()
                } else {
                    format!("={value}")
                };
                write!(
                    f,
                    "carry the taint {key}{value}:{effect}, which it does not tolerate"
                )
            }
            Ineligibility::Cordoned => write!(
                f,
                "are cordoned (unschedulable), and it does not tolerate {}:NoSchedule",
                crate::model::UNSCHEDULABLE_TAINT_KEY
            ),
        }
    }
}

impl fmt::Display for Reason {
    /// The wording of plan.json's `unplaced[].reasons` and of the summary.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::LabelConflict(conflict) => write!(f, "{conflict}"),
            Reason::NoEligibleNode { nodes, of, cause } => {
                write!(f, "no node can host it: {nodes} of {of} node(s) {cause}")
            }
            Reason::MinZones {
                min_zones,
                zones_needed,
                eligible_nodes,
                zones,
                zoneless,
            } => {
                let list = if zones.is_empty() {
                    String::new()
                } else {
                    format!(": {}", zones.join(", "))
                };
                // When the zones exist, the nodes were there but this pool did not get
                // enough of them: saying "only N zones" then would contradict itself.
                if zones.len() >= *zones_needed as usize {
                    return write!(
                        f,
                        "minZones {min_zones} needs replicas in {zones_needed} zones; the {eligible_nodes} node(s) that can host it span {} zone(s){list}, but this pool could not get nodes in enough of them (other pools took them, or their capacity is spent)",
                        zones.len()
                    );
                }
                write!(
                    f,
                    "minZones {min_zones} needs replicas in {zones_needed} zones, but the {eligible_nodes} node(s) that can host it are in {} zone(s){list}",
                    zones.len()
                )?;
                // Nodes without a zone count for none.
                match *zoneless {
                    0 => Ok(()),
                    z => write!(f, "; {z} of them have no zone label and count for no zone"),
                }
            }
            Reason::MaxPerNode {
                max_per_node,
                replicas,
                nodes_needed,
                eligible_nodes,
            } => write!(
                f,
                "maxPerNode {max_per_node} with {replicas} replicas needs {nodes_needed} nodes, but only {eligible_nodes} node(s) can host it"
            ),
            Reason::Capacity {
                eligible_nodes,
                in_pool,
                in_other_pools,
                anti_affinity,
                free,
                requests,
            } => {
                write!(
                    f,
                    "capacity runs out: {eligible_nodes} node(s) can host it ({in_pool} in this pool are full for it, {in_other_pools} hold other pools{}, {free} free); each replica requests ",
                    if *anti_affinity { " or anti-affine workloads" } else { "" },
                )?;
                if requests.is_empty() {
                    return f.write_str("no resources");
                }
                for (i, a) in requests.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{solve, SolveOptions};
    use super::*;
    use crate::testing::{model, node, policy, workload};

    /// The typed reasons of `workload`'s unplaced replicas, after checking that plan.json
    /// holds their text for each such replica.
    fn why<S: AsRef<str>>(docs: &[S], workload: &str) -> Vec<Reason> {
        let docs: Vec<&str> = docs.iter().map(AsRef::as_ref).collect();
        let solved = solve(&model(&docs), &SolveOptions::default());
        let id = format!("default/{workload}");
        let typed = solved
            .unplaced
            .iter()
            .find(|u| u.workload == id)
            .unwrap_or_else(|| panic!("{id} is placed"));
        let text: Vec<String> = typed.reasons.iter().map(Reason::to_string).collect();
        let replicas: Vec<_> = solved
            .plan
            .unplaced
            .iter()
            .filter(|u| u.workload == id)
            .collect();
        assert_eq!(replicas.len() as u32, typed.replicas);
        for u in replicas {
            assert_eq!(u.reasons, text);
        }
        typed.reasons.clone()
    }

    /// `docs` on three nodes a, b and c of 4 cpu and 16Gi.
    fn on_three_nodes(docs: &[String]) -> Vec<String> {
        let mut all = docs.to_vec();
        all.extend(["a", "b", "c"].map(|n| node(n, "", "")));
        all
    }

    fn texts(reasons: &[Reason]) -> Vec<String> {
        reasons.iter().map(Reason::to_string).collect()
    }

    #[test]
    fn contradicting_labels() {
        let reasons = why(
            &[
                &policy("nodeRequirements: [{match: {sensitivity: [restricted]}, nodeSelector: {os: hardened}}]"),
                &workload("odd", "sensitivity: restricted, nodeSelector: {os: plain}"),
                &node("a", "", ""),
            ],
            "odd",
        );
        assert_eq!(
            reasons,
            [Reason::LabelConflict(LabelConflict {
                key: "os".into(),
                first: "plain".into(),
                second: "hardened".into(),
            })]
        );
        assert_eq!(
            texts(&reasons),
            ["label `os` is required both as `plain` and as `hardened` (nodeSelector and policy nodeRequirements disagree)"]
        );
    }

    #[test]
    fn no_eligible_node_for_each_cause_commonest_first() {
        let docs = [
            &workload("arm", "sensitivity: public, nodeSelector: {arch: arm64}") as &str,
            &workload("gpu", "sensitivity: public, resources: {nvidia.com/gpu: 2}"),
            &node(
                "a",
                "",
                "allocatable: {cpu: 4, memory: 16Gi, pods: 110, nvidia.com/gpu: 1}",
            ),
            &node("b", "", ""),
            &node("c", "", ""),
        ];
        let arm = why(&docs, "arm");
        assert_eq!(
            arm,
            [Reason::NoEligibleNode {
                nodes: 3,
                of: 3,
                cause: Ineligibility::MissingLabel {
                    key: "arch".into(),
                    value: "arm64".into()
                },
            }]
        );
        assert_eq!(
            texts(&arm),
            ["no node can host it: 3 of 3 node(s) lack the required label arch=arm64"]
        );
        let gpu = why(&docs, "gpu");
        assert_eq!(
            gpu,
            [
                Reason::NoEligibleNode {
                    nodes: 2,
                    of: 3,
                    cause: Ineligibility::UndeclaredResource {
                        resource: "nvidia.com/gpu".into()
                    },
                },
                Reason::NoEligibleNode {
                    nodes: 1,
                    of: 3,
                    cause: Ineligibility::TooSmall {
                        resource: "nvidia.com/gpu".into(),
                        request: 2,
                        offer: 1,
                    },
                },
            ]
        );
        assert_eq!(
            texts(&gpu),
            [
                "no node can host it: 2 of 3 node(s) do not declare the resource nvidia.com/gpu",
                "no node can host it: 1 of 3 node(s) are too small: one replica requests nvidia.com/gpu 2 but they offer at most 1 after overhead",
            ]
        );
        let big = why(
            &[
                &workload("big", "sensitivity: public, resources: {memory: 64Gi}"),
                &node("a", "", ""),
            ],
            "big",
        );
        assert_eq!(
            texts(&big),
            ["no node can host it: 1 of 1 node(s) are too small: one replica requests memory 64.0Gi but they offer at most 16.0Gi after overhead"]
        );
    }

    #[test]
    fn min_zones() {
        let spec = |zone: &str| format!("allocatable: {{cpu: 4, memory: 16Gi, pods: 110}}{zone}");
        let reasons = why(
            &[
                &workload("zoned", "sensitivity: internal, replicas: 3, minZones: 3"),
                &node("a", "", &spec(", zone: x")),
                &node("b", "", &spec(", zone: y")),
                &node("c", "", &spec("")),
            ],
            "zoned",
        );
        assert_eq!(
            reasons,
            [Reason::MinZones {
                min_zones: 3,
                zones_needed: 3,
                eligible_nodes: 3,
                zones: vec!["x".into(), "y".into()],
                zoneless: 1,
            }]
        );
        assert_eq!(
            texts(&reasons),
            ["minZones 3 needs replicas in 3 zones, but the 3 node(s) that can host it are in 2 zone(s): x, y; 1 of them have no zone label and count for no zone"]
        );
    }

    /// Also the wording of the other two endings of a minZones reason.
    #[test]
    fn min_zones_endings() {
        let reason = |zones: &[&str], zoneless| Reason::MinZones {
            min_zones: 2,
            zones_needed: 2,
            eligible_nodes: 2,
            zones: zones.iter().map(|z| z.to_string()).collect(),
            zoneless,
        };
        assert_eq!(
            reason(&["x"], 0).to_string(),
            "minZones 2 needs replicas in 2 zones, but the 2 node(s) that can host it are in 1 zone(s): x"
        );
        assert_eq!(
            reason(&["x", "y"], 0).to_string(),
            "minZones 2 needs replicas in 2 zones; the 2 node(s) that can host it span 2 zone(s): x, y, but this pool could not get nodes in enough of them (other pools took them, or their capacity is spent)"
        );
        assert_eq!(
            reason(&[], 2).to_string(),
            "minZones 2 needs replicas in 2 zones, but the 2 node(s) that can host it are in 0 zone(s); 2 of them have no zone label and count for no zone"
        );
    }

    #[test]
    fn max_per_node_and_capacity() {
        let docs = on_three_nodes(&[workload(
            "spread",
            "sensitivity: public, replicas: 4, maxPerNode: 1, resources: {cpu: 1, memory: 1Gi}",
        )]);
        let reasons = why(&docs, "spread");
        assert_eq!(
            reasons,
            [
                Reason::MaxPerNode {
                    max_per_node: 1,
                    replicas: 4,
                    nodes_needed: 4,
                    eligible_nodes: 3,
                },
                Reason::Capacity {
                    eligible_nodes: 3,
                    in_pool: 3,
                    in_other_pools: 0,
                    anti_affinity: false,
                    free: 0,
                    requests: vec![
                        Amount {
                            resource: "cpu".into(),
                            amount: 1000
                        },
                        Amount {
                            resource: "memory".into(),
                            amount: 1 << 30
                        },
                    ],
                },
            ]
        );
        assert_eq!(
            texts(&reasons),
            [
                "maxPerNode 1 with 4 replicas needs 4 nodes, but only 3 node(s) can host it",
                "capacity runs out: 3 node(s) can host it (3 in this pool are full for it, 0 hold other pools, 0 free); each replica requests cpu 1, memory 1.0Gi",
            ]
        );
    }

    #[test]
    fn capacity_with_other_pools_and_anti_affinity() {
        let docs = on_three_nodes(&[
            workload(
                "db",
                "sensitivity: confidential, replicas: 2, resources: {cpu: 3}",
            ),
            workload(
                "web",
                "sensitivity: public, replicas: 2, resources: {cpu: 3}, antiAffinity: [api]",
            ),
            workload(
                "api",
                "sensitivity: public, replicas: 1, resources: {cpu: 1}",
            ),
        ]);
        let reasons = why(&docs, "web");
        let Some(capacity @ Reason::Capacity { anti_affinity, .. }) = reasons.last() else {
            panic!("{reasons:?}");
        };
        assert!(anti_affinity);
        assert!(capacity
            .to_string()
            .contains("hold other pools or anti-affine workloads"));
        let bare = Reason::Capacity {
            eligible_nodes: 1,
            in_pool: 0,
            in_other_pools: 1,
            anti_affinity: false,
            free: 0,
            requests: Vec::new(),
        };
        assert_eq!(
            bare.to_string(),
            "capacity runs out: 1 node(s) can host it (0 in this pool are full for it, 1 hold other pools, 0 free); each replica requests no resources"
        );
    }
}
