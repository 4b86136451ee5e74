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
                write!(
                    f,
                    "minZones {min_zones} needs replicas in {zones_needed} zones, but the {eligible_nodes} node(s) that can host it are in {} zone(s)",
                    zones.len()
                )?;
                if !zones.is_empty() {
                    write!(f, ": {}", zones.join(", "))?;
                }
                // Nodes without a zone count for none; and when the zones exist, the nodes
                // were there but this pool did not get enough of them.
                match (*zoneless, zones.len() >= *zones_needed as usize) {
                    (0, false) => Ok(()),
                    (z, false) => {
                        write!(f, "; {z} of them have no zone label and count for no zone")
                    }
                    (_, true) => f.write_str(
                        "; the zones are there, but this pool could not get nodes in enough of them (other pools took them, or their capacity is spent)",
                    ),
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
