//! tierplan: plans Kubernetes node pools that keep workloads of different sensitivity and
//! threat posture on separate hosts (NIST SP 800-190 §4.3.4), at the lowest cost.
//!
//! Data flows one way: [`input`] (files → typed documents) → [`model`] (validated, exact) →
//! [`policy`] (classes and compatibility) → [`graph`] (the constraint graph) → [`solve`]
//! (pools, placements, lower bound) → [`plan`] (the output document) → [`check`] (independent
//! re-verification) and [`report`] (the human summary). [`boundary`] finds the namespaces a
//! plan spreads over several pools, which Kubernetes' per-namespace pod creation cannot keep
//! apart.

pub mod baseline;
#[cfg(feature = "bench")]
pub mod bench;
pub mod boundary;
pub mod check;
#[cfg(feature = "bench")]
pub mod convert;
pub mod diff;
pub mod emit;
#[cfg(feature = "bench")]
pub mod generate;
pub mod graph;
pub mod input;
pub mod model;
pub mod naming;
pub mod output;
pub mod plan;
pub mod policy;
pub mod quantity;
pub mod report;
pub mod sched;
pub mod schema;
pub mod solve;
#[cfg(test)]
mod testing;
