//! What-if analysis: scenarios re-planned from a baseline plan, compared in one table.
//!
//! Owns the questions architects ask of an inventory ("what if we lose zone b", "what does
//! separating tenants cost"): a [`Scenario`] changes the baseline's documents, is validated
//! like any input, and is re-planned with the baseline as the previous plan, so that it moves
//! as little as its cost allows (a scenario that only removes nodes is repaired instead: only
//! the lost nodes' replicas move); each re-plan is verified by the independent checker. The
//! built-in sweeps (`sweep`) make scenarios; `compare` turns the outcomes into `whatif.json`,
//! `whatif.md` and the table on the terminal; `shard` splits and merges long sweeps, and `job`
//! writes the Kubernetes Job that runs the shards on a cluster.
//!
//! Data flows one way: baseline documents → scenario documents → model → solve → outcome.

pub mod compare;
pub mod job;
pub mod scenario;
pub mod shard;
pub mod sweep;

pub use compare::{Outcome, WhatIf};
pub use scenario::Scenario;

use crate::check;
use crate::input::{Canonical, Diagnostic, Documents, InputError};
use crate::model::{self, Model};
use crate::plan::Plan;
use crate::solve::{self, SolveOptions, Solved};
use rayon::prelude::*;

/// The plan every scenario is compared with and re-planned from, with its inputs.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The baseline's input documents.
    pub docs: Documents,
    /// Their model.
    pub model: Model,
    /// The baseline plan: planned here, or read (`--baseline`).
    pub plan: Plan,
    /// Whether the independent checker accepts the baseline plan (checked once, here).
    pub verified: bool,
    /// Whether scenarios that only remove nodes are repaired first (see [`replan`]), as by
    /// default; off, every scenario is planned afresh (`--fresh`).
    pub repair: bool,
    /// The documents' content, for the fingerprints of scenarios that only remove nodes.
    canonical: Canonical,
}

impl Baseline {
    /// Plans `docs` and keeps the plan as the baseline.
    pub fn plan(docs: Documents, options: &SolveOptions) -> Result<Baseline, InputError> {
        let model = model::build(docs.clone())?;
        let plan = solve::solve(&model, options).plan;
        let verified = check::check(&model, &plan).accepts(plan.status);
        Ok(Baseline::new(docs, model, plan, verified))
    }

    fn new(docs: Documents, model: Model, plan: Plan, verified: bool) -> Baseline {
        let canonical = docs.canonical();
        Baseline {
            docs,
            model,
            plan,
            verified,
            repair: true,
            canonical,
        }
    }

    /// `scenario` applied to the baseline and validated. A scenario that only removes nodes
    /// takes the baseline's model without them (the same model its documents build, at a
    /// fraction of the cost), to be repaired rather than re-planned.
    pub fn prepare(&self, scenario: Scenario) -> Result<Prepared, Vec<Diagnostic>> {
        let Some(remove) = scenario
            .spec
            .remove_nodes
            .as_ref()
            .filter(|_| scenario::only_removes_nodes(&scenario.spec))
        else {
            return prepare_one(&self.docs, scenario);
        };
        let mut diags = Vec::new();
        let gone = scenario::removed_nodes(&self.docs, &scenario, remove, &mut diags);
        if !diags.is_empty() {
            return Err(diags);
        }
        let removed: Vec<String> = gone.into_iter().collect();
        let mut model = self.model.without_nodes(&removed);
        model.fingerprint = self
            .canonical
            .fingerprint(|d| !(d.kind == "Node" && removed.binary_search(&d.name).is_ok()));
        Ok(Prepared {
            scenario,
            model,
            removed: Some(removed).filter(|_| self.repair),
        })
    }
}

/// Why a plan read as the baseline cannot be one.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The inputs are invalid.
    #[error("{0}")]
    Input(#[from] InputError),
    /// The plan was made for other inputs.
    #[error("the baseline plan was made for other inputs (its fingerprint {plan}, these inputs' {inputs})\n  fix: pass the inputs it was planned from, or leave --baseline out to plan them here")]
    OtherInputs {
        /// The plan's `inputs`.
        plan: String,
        /// The inputs' fingerprint.
        inputs: String,
    },
    /// The independent checker refuses the plan.
    #[error("the checker refuses the baseline plan:\n{0}\n  fix: re-plan it with `tierplan plan`, or leave --baseline out")]
    Refused(Box<check::Report>),
}

impl Baseline {
    /// Takes `plan` (a plan.json of `docs`) as the baseline, after checking it is one: a
    /// plan of other inputs, or one the checker refuses, would make every comparison wrong.
    pub fn read(docs: Documents, plan: Plan) -> Result<Baseline, BaselineError> {
        let model = model::build(docs.clone())?;
        if let Some(fingerprint) = plan.inputs.as_ref().filter(|f| **f != model.fingerprint) {
            return Err(BaselineError::OtherInputs {
                plan: fingerprint.clone(),
                inputs: model.fingerprint.clone(),
            });
        }
        let verdict = check::check(&model, &plan);
        if !verdict.accepts(plan.status) {
            return Err(BaselineError::Refused(Box::new(verdict)));
        }
        Ok(Baseline::new(docs, model, plan, true))
    }
}

/// A scenario applied and validated, ready to plan.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The scenario.
    pub scenario: Scenario,
    /// The model of the baseline's documents with the scenario applied.
    pub model: Model,
    /// For a scenario that only removes nodes: their names, sorted.
    pub removed: Option<Vec<String>>,
}

/// Applies every scenario to the baseline and validates the result; every problem of every
/// scenario is reported at once.
pub fn validate(baseline: &Baseline, scenarios: &[Scenario]) -> Result<(), InputError> {
    let mut diags: Vec<Diagnostic> = scenario::check_names(scenarios);
    let found: Vec<Vec<Diagnostic>> = scenarios
        .par_iter()
        .map(|s| {
            prepare_one(&baseline.docs, s.clone())
                .err()
                .unwrap_or_default()
        })
        .collect();
    diags.extend(found.into_iter().flatten());
    if diags.is_empty() {
        Ok(())
    } else {
        Err(InputError::new(diags))
    }
}

/// One scenario applied to `docs` and validated.
pub fn prepare_one(docs: &Documents, scenario: Scenario) -> Result<Prepared, Vec<Diagnostic>> {
    let docs = scenario::apply(docs, &scenario)?;
    let model = model::build_scenario(docs).map_err(|e| e.diagnostics)?;
    Ok(Prepared {
        scenario,
        model,
        removed: None,
    })
}

/// A scenario re-planned.
#[derive(Debug, Clone)]
pub struct Replanned {
    /// The scenario and its inputs.
    pub prepared: Prepared,
    /// Its plan.
    pub solved: Solved,
    /// The independent checker's verdict on the plan.
    pub verdict: check::Report,
    /// The row of the comparison.
    pub outcome: Outcome,
}

impl Replanned {
    /// Whether the checker accepts the plan (an infeasible one as consistent).
    pub fn sound(&self) -> bool {
        self.outcome.verified
    }
}

/// Re-plans one scenario from the baseline (the baseline plan as the previous plan) and
/// verifies the result. A scenario that only removes nodes is first repaired: only the
/// replicas of the nodes lost move, within their pools or onto free nodes, as the cluster
/// itself would absorb the loss (see `solve::repair`); where that gives no complete plan,
/// it is planned again like any other.
pub fn replan(baseline: &Baseline, mut prepared: Prepared, options: &SolveOptions) -> Replanned {
    let mut options = options.clone();
    options.previous = Some(baseline.plan.clone());
    let repaired = prepared.removed.as_ref().and_then(|removed| {
        // `repair` knows a model of the previous inputs less some nodes by the fingerprint
        // `without_nodes` gives it, and keeps the previous bound for it; the plan then
        // names the scenario documents' fingerprint, which `check --scenario` rebuilds.
        let names: Vec<&str> = removed.iter().map(String::as_str).collect();
        let derived = model::fingerprint_without(&baseline.model.fingerprint, &names);
        let own = std::mem::replace(&mut prepared.model.fingerprint, derived);
        let repaired = solve::repair(&prepared.model, &baseline.plan, &options);
        prepared.model.fingerprint = own;
        repaired.map(|mut s| {
            s.plan.inputs = Some(prepared.model.fingerprint.clone());
            s
        })
    });
    let solved = repaired.unwrap_or_else(|| solve::solve(&prepared.model, &options));
    let verdict = check::check(&prepared.model, &solved.plan);
    let sound = verdict.accepts(solved.plan.status);
    let outcome = Outcome::new(&prepared, &solved.plan, sound, baseline);
    Replanned {
        prepared,
        solved,
        verdict,
        outcome,
    }
}

/// Re-plans every scenario, on all cores, handing each result to `sink` as it is done (to
/// write its files) and keeping only the outcomes, in scenario order, so that memory holds
/// one model per core, not one per scenario. A scenario [`validate`] would refuse, or the
/// first error of `sink`, stops the run.
pub fn run<E: Send + From<InputError>>(
    baseline: &Baseline,
    scenarios: &[Scenario],
    options: &SolveOptions,
    sink: impl Fn(&Replanned) -> Result<(), E> + Sync,
) -> Result<Vec<Outcome>, E> {
    let names = scenario::check_names(scenarios);
    if !names.is_empty() {
        return Err(InputError::new(names).into());
    }
    scenarios
        .par_iter()
        .map(|s| {
            let p = baseline.prepare(s.clone()).map_err(InputError::new)?;
            let r = replan(baseline, p, options);
            sink(&r)?;
            Ok(r.outcome)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::wire::{RemoveNodesSpec, ScenarioSpec};

    fn nist() -> Baseline {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/nist-800-190");
        let (docs, diags) = crate::input::read_paths(&[dir]);
        assert!(diags.is_empty());
        Baseline::plan(docs, &SolveOptions::default()).unwrap()
    }

    #[test]
    fn a_removal_takes_the_model_its_documents_build() {
        let baseline = nist();
        let spec = ScenarioSpec {
            remove_nodes: Some(RemoveNodesSpec {
                names: vec!["ip-10-0-1-11".into()],
                selector: [(crate::model::ZONE_LABEL.into(), "eu-west-1c".into())].into(),
            }),
            ..Default::default()
        };
        let fast = baseline.prepare(Scenario::new("s", spec.clone())).unwrap();
        assert_eq!(fast.removed.as_ref().map(Vec::len), Some(9));
        let slow = prepare_one(&baseline.docs, Scenario::new("s", spec)).unwrap();
        assert!(slow.removed.is_none());
        assert_eq!(fast.model, slow.model);

        // Repaired, the plan names the scenario documents' fingerprint and moves only the
        // replicas of the nodes lost.
        let r = replan(&baseline, fast, &SolveOptions::default());
        assert!(r.sound(), "{}", r.verdict);
        assert_eq!(r.solved.plan.inputs.as_ref(), Some(&slow.model.fingerprint));
    }
}
