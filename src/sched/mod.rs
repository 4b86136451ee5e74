//! The static proof that tiers never mix: `tierplan check --manifests DIR`.
//!
//! Owns kube-scheduler's filter semantics ([`filter`]) and the proof over a plan's emitted
//! manifests ([`proof`]). Like `check`, it is a second opinion: it re-reads the YAML that
//! `emit` wrote ([`read`]), as `kubectl kustomize` would build it, or the built output of
//! the user's own kustomization, and shares no code with the emitter, so that a bug in the
//! emitter cannot hide itself. The one exception is the admission policy's CEL: the proof
//! checks that the policy in force is the one tierplan writes for the plan (its meaning is
//! tested by evaluating that CEL against pods, in tests/admission_cel.rs).
//!
//! The node universe is every inventory node with the node scripts (`nodes/*.sh`) applied, every node the plan
//! buys as the NodePool that admits it would launch it, and one node per NodePool built from
//! its template alone. The proof shows (a) that each replica's planned node passes its pod
//! template's filters, (b) that no workload's template passes them on a node outside its
//! pool, and that the pool taint and the required node affinity each keep it off other
//! pools' nodes on their own, (c) that no soft-only rule or wildcard toleration is relied
//! on, every planned workload has a patch, and the admission policy is in force, and (d) it
//! lists the system DaemonSets that reach several pools as the only cross-tier exceptions.

pub mod commands;
pub mod filter;
pub mod proof;
pub mod read;

pub use proof::{prove, prove_evidence, Counts, Exception, Failure, Proof, Rule};
pub use read::{Evidence, Parts, ProofError};
