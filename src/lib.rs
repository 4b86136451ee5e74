//! tierplan plans Kubernetes node pools that keep workloads of different sensitivity and
//! threat posture on separate hosts (NIST SP 800-190 §4.3.4), at the lowest cost.
//!
//! # Using the library
//!
//! Four steps, each one call:
//!
//! 1. **Build a model** from input documents: [`build_from_paths`] reads files (or
//!    directories of `*.yaml`), [`build_from_yaml`] takes YAML text, and [`build`] takes
//!    [`Documents`] built in code (their types are in [`input::wire`]). All three validate
//!    the whole input and return every problem at once as an [`InputError`].
//! 2. **Plan** it with [`solve()`] and [`SolveOptions`] (limits, a previous plan to stay close
//!    to): the [`Plan`] says which pools to run, which node every replica goes to, what it
//!    costs and how far from optimal it can be. What-if scenarios close to a plan (nodes
//!    lost, workloads scaled) are re-planned from it far faster by [`solve::repair`];
//!    [`whatif`] applies scenarios to a baseline, re-plans and compares them.
//! 3. **Check** the plan with [`check()`], which re-derives every rule without the planner's
//!    code; a valid [`Report`] means every replica is placed and every rule holds.
//! 4. **Emit** the manifests that make a cluster enforce the plan with [`manifests`]
//!    (node labels and taints, workload patches, an admission policy, Karpenter NodePools,
//!    a rollout guide), as `(path, text)` pairs; [`sched::prove`] proves from them, once
//!    written, that no pod can reach a node of another tier.
//!
//! Errors are the modules' own typed errors, re-exported here: [`InputError`] (invalid
//! input, every diagnostic with file, field, fix and code), [`EmitError`] (a plan that
//! manifests cannot be written for), [`ProofError`] (manifests that cannot be read back) and
//! [`OutputError`] (an output directory that cannot be written). Each message is whole,
//! its cause and fix included.
//!
//! ```
//! // Two tiers of workloads and three nodes, as the YAML files a user would write.
//! let yaml = r#"
//! apiVersion: tierplan/v1alpha1
//! kind: Policy
//! metadata: {name: tiers}
//! spec: {separateBy: [sensitivity]}
//! ---
//! apiVersion: tierplan/v1alpha1
//! kind: Workload
//! metadata: {name: web, namespace: shop}
//! spec: {sensitivity: public, replicas: 2, resources: {cpu: "1", memory: 1Gi}}
//! ---
//! apiVersion: tierplan/v1alpha1
//! kind: Workload
//! metadata: {name: payments, namespace: shop}
//! spec: {sensitivity: restricted, replicas: 1, resources: {cpu: 500m, memory: 2Gi}}
//! ---
//! apiVersion: tierplan/v1alpha1
//! kind: Node
//! metadata: {name: node-a}
//! spec: {allocatable: {cpu: "4", memory: 16Gi, pods: "110"}}
//! ---
//! apiVersion: tierplan/v1alpha1
//! kind: Node
//! metadata: {name: node-b}
//! spec: {allocatable: {cpu: "4", memory: 16Gi, pods: "110"}}
//! ---
//! apiVersion: tierplan/v1alpha1
//! kind: Node
//! metadata: {name: node-c}
//! spec: {allocatable: {cpu: "4", memory: 16Gi, pods: "110"}}
//! "#;
//! let model = tierplan::build_from_yaml("cluster.yaml", yaml)?;
//!
//! let solved = tierplan::solve(&model, &tierplan::SolveOptions::default());
//! let plan = &solved.plan;
//! assert_eq!(plan.status, tierplan::Status::Optimal);
//! // One pool per tier: the public and the restricted workloads never share a node.
//! assert_eq!(plan.pools.len(), 2);
//!
//! let report = tierplan::check(&model, plan);
//! assert!(report.is_valid(), "{report}");
//!
//! let files = tierplan::manifests(&model, plan)?;
//! assert!(files.iter().any(|(path, _)| path == "kustomization.yaml"));
//! println!("{}", plan.to_json());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Modules, in the order data flows through them
//!
//! - [`input`]: files → typed documents, with diagnostics;
//! - [`quantity`]: Kubernetes quantities, exactly;
//! - [`model`]: the validated, exact model of workloads, nodes, node types and policy;
//! - [`policy`]: what the policy means for the planner (classes and compatibility);
//! - [`graph`]: the constraint graph of classes;
//! - [`draw`]: the constraint graph drawn (DOT, Mermaid, SVG), with a plan's pools as clusters;
//! - [`solve`](mod@solve): pools, placements and the lower bound;
//! - [`baseline`]: the simple plans the planner is measured against (and falls back on);
//! - [`naming`]: the names of the planned pools, kept across re-plans;
//! - [`plan`]: the output document, `plan.json`;
//! - [`diff`]: what a new plan changes against a previous one;
//! - [`check`](mod@check): independent re-verification of a plan;
//! - [`boundary`]: the namespaces a plan spreads over several pools, which Kubernetes'
//!   per-namespace pod creation cannot keep apart;
//! - [`report`]: the human summary;
//! - [`why`]: why one workload's replicas sit where a plan puts them, and not elsewhere;
//! - [`emit`]: the Kubernetes manifests that enforce a plan;
//! - [`sched`]: the proof, from the manifests and kube-scheduler's rules, that tiers never mix;
//! - [`audit`]: whether a running cluster mixes tiers on a host now, with findings mapped to
//!   NIST SP 800-190 §4.3.4 and BSI APP.4.4.A15;
//! - [`output`]: writing results safely;
//! - [`schema`]: the JSON Schemas of the input kinds and of `plan.json`.
//!
//! With the `cluster` feature (on with `cli`): `cluster`, reading live clusters and
//! applying node labels and taints through kube-rs.
//!
//! With the `bench` feature: `generate` (seeded instances of any size), `convert`
//! (published benchmark instances to tierplan YAML) and `bench` (the benchmark suites).
#![deny(missing_docs)]

pub mod audit;
pub mod baseline;
#[cfg(feature = "bench")]
pub mod bench;
pub mod boundary;
pub mod check;
#[cfg(feature = "cluster")]
pub mod cluster;
#[cfg(feature = "bench")]
pub mod convert;
pub mod diff;
pub mod draw;
pub mod emit;
pub mod explanation;
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
pub mod whatif;
pub mod why;

pub use check::{check, Report};
pub use emit::{manifests, EmitError};
pub use input::{Documents, InputError};
pub use model::{build, build_from_paths, build_from_yaml, Model};
pub use output::OutputError;
pub use plan::{Plan, Status};
pub use sched::ProofError;
pub use solve::{solve, SolveOptions, Solved};
