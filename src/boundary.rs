//! The namespace boundary: which namespaces a plan spreads over several pools.
//!
//! Kubernetes authorises pod creation per namespace, and a pod chooses its own labels,
//! tolerations and node affinity. The admission policy can hold a pod to the pools planned
//! for its namespace's workloads, but not to one workload's pool: whoever may create pods in
//! a namespace whose workloads are in several pools may place a pod in any of them. This
//! module owns that computation, for the summary of `plan`, NOTES.txt and the proof, and the
//! refusal `namespaceBoundary: deny` asks for.

use crate::input::{Diagnostic, InputError};
use crate::model::{Enforcement, Model};
use crate::plan::Plan;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A namespace whose planned workloads are in two or more pools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceSpan {
    /// The namespace.
    pub namespace: String,
    /// At least two, lowest sensitivity first, then by pool name.
    pub pools: Vec<SpannedPool>,
}

/// One pool of a [`NamespaceSpan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpannedPool {
    /// The pool's name.
    pub pool: String,
    /// The namespace's workloads in the pool (their names), sorted.
    pub workloads: Vec<String>,
    /// Their sensitivities, lowest first, each once.
    pub sensitivities: Vec<String>,
}

/// Every namespace that `plan` spreads over two or more pools, sorted by name.
pub fn namespace_spans(model: &Model, plan: &Plan) -> Vec<NamespaceSpan> {
    let levels = &model.policy.sensitivity_levels;
    let rank = |s: &str| levels.iter().position(|l| l == s).unwrap_or(levels.len());
    // namespace → pool → (workload names, sensitivities)
    type Share = (BTreeSet<String>, BTreeSet<String>);
    let mut by_namespace: BTreeMap<String, BTreeMap<&str, Share>> = BTreeMap::new();
    // The platform pool grants nothing: its nodes are open to every pod anyway.
    for pool in plan.pools.iter().filter(|p| !p.platform) {
        for id in &pool.workloads {
            // A plan naming a workload the model lacks is `check`'s finding; its namespace is
            // still part of the id.
            let (namespace, name, sensitivity) = match model.workload_index(id) {
                Some(w) => {
                    let w = &model.workloads[w];
                    (
                        w.namespace.as_str(),
                        w.name.as_str(),
                        w.attribute("sensitivity"),
                    )
                }
                None => {
                    let (ns, name) = id.split_once('/').unwrap_or(("default", id));
                    (ns, name, "")
                }
            };
            let share = by_namespace
                .entry(namespace.to_string())
                .or_default()
                .entry(&pool.name)
                .or_default();
            share.0.insert(name.to_string());
            if !sensitivity.is_empty() {
                share.1.insert(sensitivity.to_string());
            }
        }
    }
    by_namespace
        .into_iter()
        .filter(|(_, pools)| pools.len() >= 2)
        .map(|(namespace, pools)| {
            let mut pools: Vec<SpannedPool> = pools
                .into_iter()
                .map(|(pool, (workloads, sensitivities))| {
                    let mut sensitivities: Vec<String> = sensitivities.into_iter().collect();
                    sensitivities.sort_by_key(|s| rank(s));
                    SpannedPool {
                        pool: pool.to_string(),
                        workloads: workloads.into_iter().collect(),
                        sensitivities,
                    }
                })
                .collect();
            pools.sort_by_key(|p| {
                let lowest = p.sensitivities.first().map_or(levels.len(), |s| rank(s));
                (lowest, p.pool.clone())
            });
            NamespaceSpan { namespace, pools }
        })
        .collect()
}

/// Workloads a pool of a span names in text; a namespace of a large estate has thousands in
/// one pool, which would bury the finding (`SpannedPool::workloads` keeps them all).
const SHOWN_WORKLOADS: usize = 12;

impl fmt::Display for SpannedPool {
    /// `internal-internal-first-party (internal: grafana, prometheus)`, the workloads after
    /// the first [`SHOWN_WORKLOADS`] counted: `(…, kafka, … 340 more)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (", self.pool)?;
        if !self.sensitivities.is_empty() {
            write!(f, "{}: ", self.sensitivities.join("/"))?;
        }
        let shown = self.workloads.len().min(SHOWN_WORKLOADS);
        write!(f, "{}", self.workloads[..shown].join(", "))?;
        if self.workloads.len() > shown {
            write!(f, ", … {} more", self.workloads.len() - shown)?;
        }
        write!(f, ")")
    }
}

impl fmt::Display for NamespaceSpan {
    /// `namespace platform spans 2 pools: public-internet (public: docs-site),
    /// restricted-internal (restricted: billing)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pools: Vec<String> = self.pools.iter().map(ToString::to_string).collect();
        write!(
            f,
            "namespace {} spans {} pools: {}",
            self.namespace,
            self.pools.len(),
            pools.join(", ")
        )
    }
}

/// What every span means, for the people reading a report.
pub const MEANING: &str =
    "Kubernetes grants pod creation per namespace, and a pod chooses its own labels, \
tolerations and node affinity: whoever may create pods in such a namespace may place them in \
any of its pools, the most sensitive included (the admission policy holds pods to their \
namespace's pools, not to one workload's)";

/// The refusal `namespaceBoundary: deny` asks for: one problem per spanning namespace, at the
/// Policy's `spec.namespaceBoundary`. `Ok` under `warn`, or when no namespace spans pools.
pub fn enforce(model: &Model, plan: &Plan) -> Result<(), InputError> {
    if model.policy.namespace_boundary != Enforcement::Deny {
        return Ok(());
    }
    let spans = namespace_spans(model, plan);
    if spans.is_empty() {
        return Ok(());
    }
    let origin = model.policy.origin.as_ref();
    let diagnostics = spans
        .iter()
        .map(|span| {
            let workloads: Vec<String> = span
                .pools
                .iter()
                .map(|p| format!("[{}]", p.workloads.join(", ")))
                .collect();
            Diagnostic::new(
                "E071",
                origin,
                "spec.namespaceBoundary",
                format!(
                    "{span}, and namespaceBoundary is deny: whoever may create pods in {} may \
                     place them in any of these pools",
                    span.namespace
                ),
                format!(
                    "give the workloads of each pool a namespace of their own (in {}: {}), so \
                     that pod creation in one namespace reaches one pool; or set \
                     namespaceBoundary: warn to accept it",
                    span.namespace,
                    workloads.join(" / ")
                ),
            )
        })
        .collect();
    Err(InputError::new(diagnostics))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solve::{solve, SolveOptions};
    use crate::testing::{model, node, policy, workload};

    fn in_namespace(name: &str, namespace: &str, spec: &str) -> String {
        workload(name, spec).replace(
            &format!("metadata: {{name: {name}}}"),
            &format!("metadata: {{name: {name}, namespace: {namespace}}}"),
        )
    }

    fn input(boundary: &str) -> Model {
        model(&[
            &policy(&format!("separateBy: [sensitivity]{boundary}")),
            &in_namespace("docs", "platform", "sensitivity: public"),
            &in_namespace("billing", "platform", "sensitivity: restricted"),
            &in_namespace("vault", "platform", "sensitivity: restricted"),
            &in_namespace("web", "shop", "sensitivity: public"),
            &node("a", "", ""),
            &node("b", "", ""),
        ])
    }

    #[test]
    fn a_namespace_over_two_pools_is_a_span_with_its_pools_and_sensitivities() {
        let m = input("");
        let plan = solve(&m, &SolveOptions::default()).plan;
        let spans = namespace_spans(&m, &plan);
        assert_eq!(spans.len(), 1, "{spans:?}");
        let span = &spans[0];
        assert_eq!(span.namespace, "platform");
        let shares: Vec<(&[String], &[String])> = span
            .pools
            .iter()
            .map(|p| (p.workloads.as_slice(), p.sensitivities.as_slice()))
            .collect();
        assert_eq!(
            shares,
            [
                (&["docs".to_string()][..], &["public".to_string()][..]),
                (
                    &["billing".to_string(), "vault".to_string()][..],
                    &["restricted".to_string()][..]
                ),
            ]
        );
        let text = span.to_string();
        assert!(
            text.starts_with("namespace platform spans 2 pools: "),
            "{text}"
        );
        assert!(text.contains("(restricted: billing, vault)"), "{text}");
        // Warn (the default) reports, never refuses.
        assert!(enforce(&m, &plan).is_ok());
    }

    #[test]
    fn a_pool_of_many_workloads_names_the_first_and_counts_the_rest() {
        let pool = SpannedPool {
            pool: "internal".into(),
            workloads: (0..14).map(|i| format!("w{i:02}")).collect(),
            sensitivities: vec!["internal".into()],
        };
        let text = pool.to_string();
        assert!(text.starts_with("internal (internal: w00, w01, "), "{text}");
        assert!(text.ends_with(", w11, … 2 more)"), "{text}");
    }

    #[test]
    fn deny_refuses_each_spanning_namespace_at_the_policy_field() {
        let m = input(", namespaceBoundary: deny");
        let plan = solve(&m, &SolveOptions::default()).plan;
        let e = enforce(&m, &plan).expect_err("platform spans two pools");
        assert_eq!(e.diagnostics.len(), 1);
        let d = &e.diagnostics[0];
        assert_eq!(
            (d.code, d.path.as_str()),
            ("E071", "spec.namespaceBoundary")
        );
        assert!(d.origin.is_some());
        assert!(
            d.problem.contains("namespace platform spans 2 pools"),
            "{d}"
        );
        assert!(d.fix.contains("[docs] / [billing, vault]"), "{d}");
        // A namespace in one pool is no span: drop the public workload of platform.
        let mut one = m.clone();
        one.workloads.retain(|w| w.id != "platform/docs");
        let plan = solve(&one, &SolveOptions::default()).plan;
        assert!(namespace_spans(&one, &plan).is_empty());
        assert!(enforce(&one, &plan).is_ok());
    }
}
