//! What-if analysis: scenarios re-planned from a baseline plan, compared in one table.
//!
//! Owns the questions architects ask of an inventory ("what if we lose zone b", "what does
//! separating tenants cost"): a [`Scenario`] changes the baseline's documents, is validated
//! like any input, and is re-planned with the baseline as the previous plan, so that it moves
//! as little as its cost allows; each re-plan is verified by the independent checker. The
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
use crate::input::{Diagnostic, Documents, InputError};
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
}

impl Baseline {
    /// Plans `docs` and keeps the plan as the baseline.
    pub fn plan(docs: Documents, options: &SolveOptions) -> Result<Baseline, InputError> {
        let model = model::build(docs.clone())?;
        let plan = solve::solve(&model, options).plan;
        Ok(Baseline { docs, model, plan })
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
        Ok(Baseline { docs, model, plan })
    }
}

/// A scenario applied and validated, ready to plan.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The scenario.
    pub scenario: Scenario,
    /// The baseline's documents with the scenario applied.
    pub docs: Documents,
    /// Their model.
    pub model: Model,
}

/// Applies every scenario to the baseline and validates the result; every problem of every
/// scenario is reported at once.
pub fn prepare(baseline: &Baseline, scenarios: Vec<Scenario>) -> Result<Vec<Prepared>, InputError> {
    let mut diags: Vec<Diagnostic> = scenario::check_names(&scenarios);
    let prepared: Vec<Option<Prepared>> = scenarios
        .into_par_iter()
        .map(|s| prepare_one(&baseline.docs, s))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|r| r.map_err(|d| diags.extend(d)).ok())
        .collect();
    if diags.is_empty() {
        Ok(prepared.into_iter().flatten().collect())
    } else {
        Err(InputError::new(diags))
    }
}

/// One scenario applied to `docs` and validated.
pub fn prepare_one(docs: &Documents, scenario: Scenario) -> Result<Prepared, Vec<Diagnostic>> {
    let docs = scenario::apply(docs, &scenario)?;
    let model = model::build_scenario(docs.clone()).map_err(|e| e.diagnostics)?;
    Ok(Prepared {
        scenario,
        docs,
        model,
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
/// verifies the result.
pub fn replan(baseline: &Baseline, prepared: Prepared, options: &SolveOptions) -> Replanned {
    let mut options = options.clone();
    options.previous = Some(baseline.plan.clone());
    let solved = solve::solve(&prepared.model, &options);
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
/// write its files) and keeping only the outcomes, in scenario order. The first error of
/// `sink` stops the run.
pub fn run<E: Send>(
    baseline: &Baseline,
    prepared: Vec<Prepared>,
    options: &SolveOptions,
    sink: impl Fn(&Replanned) -> Result<(), E> + Sync,
) -> Result<Vec<Outcome>, E> {
    prepared
        .into_par_iter()
        .map(|p| {
            let r = replan(baseline, p, options);
            sink(&r)?;
            Ok(r.outcome)
        })
        .collect()
}
