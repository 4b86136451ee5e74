//! `tierplan audit`: does a running cluster mix sensitivity tiers on one host right now?
//!
//! Reads what a cluster runs (Pods with `spec.nodeName`, their owners, Nodes, Namespaces, the
//! admission objects) beside the Policy, and reports typed [`Finding`]s, each mapped to the
//! controls it evidences: NIST SP 800-190 §4.3.4 ("group containers by relative
//! sensitivity and run each group on separate hosts") and BSI IT-Grundschutz APP.4.4.A15
//! (separation of applications of differing protection needs onto separate nodes).
//! Nothing here prints: [`render`] turns a [`Report`] into a table or SARIF for the command.
//!
//! The checks: mixed nodes ([`Rule::MixedNode`]), pods that could be scheduled beside another
//! tier ([`Rule::EscapeRoute`]), wildcard tolerations ([`Rule::WildcardToleration`]), tier
//! labels a kubelet may set on itself ([`Rule::SelfSetLabel`]), drift of node labels and
//! taints from a plan ([`Rule::Drift`]), the admission policy ([`Rule::Admission`]) and
//! workloads without a tier ([`Rule::Untiered`]).

mod checks;
pub mod input;
mod nodes;
pub mod owners;
pub mod render;

pub use input::{read_paths, read_paths_and, Input};

use crate::plan::Plan;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The controls every audit rule maps to.
pub const CONTROLS: [&str; 2] = ["NIST SP 800-190 §4.3.4", "BSI APP.4.4.A15"];

/// What an audit checks; each has a stable id (`TPA001`…) that SARIF and scripts match on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A node runs pods of classes the Policy forbids to share a node.
    MixedNode,
    /// A workload's tolerations and node affinity let its pods onto a node hosting another,
    /// incompatible tier.
    EscapeRoute,
    /// A toleration with `operator: Exists` and no key, outside the Policy's system
    /// DaemonSets.
    WildcardToleration,
    /// A node label that carries tier or pool meaning, which a kubelet may set on its own Node.
    #[serde(rename = "self-set-tier-label")]
    SelfSetLabel,
    /// Node labels or taints differ from what the plan assigns.
    Drift,
    /// tierplan's admission policy or binding is absent or does not deny.
    Admission,
    /// A workload or pod has no sensitivity, and the Policy gives no default.
    #[serde(rename = "untiered-workload")]
    Untiered,
}

impl Rule {
    /// Every rule, in id order.
    pub const ALL: [Rule; 7] = [
        Rule::MixedNode,
        Rule::EscapeRoute,
        Rule::WildcardToleration,
        Rule::SelfSetLabel,
        Rule::Drift,
        Rule::Admission,
        Rule::Untiered,
    ];

    /// The stable id.
    pub fn id(self) -> &'static str {
        match self {
            Rule::MixedNode => "TPA001",
            Rule::EscapeRoute => "TPA002",
            Rule::WildcardToleration => "TPA003",
            Rule::SelfSetLabel => "TPA004",
            Rule::Drift => "TPA005",
            Rule::Admission => "TPA006",
            Rule::Untiered => "TPA007",
        }
    }

    /// The short name (`mixed-node`).
    pub fn name(self) -> &'static str {
        match self {
            Rule::MixedNode => "mixed-node",
            Rule::EscapeRoute => "escape-route",
            Rule::WildcardToleration => "wildcard-toleration",
            Rule::SelfSetLabel => "self-set-tier-label",
            Rule::Drift => "drift",
            Rule::Admission => "admission",
            Rule::Untiered => "untiered-workload",
        }
    }

    /// One sentence: what the rule finds.
    pub fn summary(self) -> &'static str {
        match self {
            Rule::MixedNode => "A node runs pods of sensitivity tiers the Policy forbids to share a host.",
            Rule::EscapeRoute => "A workload's tolerations and node affinity let its pods be scheduled onto a node that hosts another, incompatible tier.",
            Rule::WildcardToleration => "A pod template tolerates every taint (`operator: Exists` without a key) but is no system DaemonSet of the Policy.",
            Rule::SelfSetLabel => "A node label that decides tiers or pools lies outside `node-restriction.kubernetes.io/`, so a node's own kubelet may set it and attract another tier's pods.",
            Rule::Drift => "A node's pool label or taint differs from what the plan assigns.",
            Rule::Admission => "tierplan's ValidatingAdmissionPolicy or its binding is absent, or the binding does not deny.",
            Rule::Untiered => "A workload or pod has no sensitivity and the Policy sets no default, so its tier cannot be judged.",
        }
    }

    /// How to fix what the rule finds, citing the controls.
    pub fn help(self) -> &'static str {
        match self {
            Rule::MixedNode => "Move the pods so that each node hosts one tier: run `tierplan plan` on this input and apply its node labels, taints and workload patches. NIST SP 800-190 §4.3.4 asks for containers grouped by sensitivity on separate hosts; BSI APP.4.4.A15 for applications of differing protection needs on separate nodes.",
            Rule::EscapeRoute => "Narrow the workload's tolerations and give it a required node affinity for its own pool (tierplan's workload patches do both), and taint every pool's nodes. Otherwise the scheduler may place it beside another tier at the next reschedule (NIST SP 800-190 §4.3.4, BSI APP.4.4.A15).",
            Rule::WildcardToleration => "Tolerate the taints the workload needs by key, or list the DaemonSet in the Policy's `systemDaemonSets` if it must run on every node. A wildcard toleration defeats taint-based separation (NIST SP 800-190 §4.3.4, BSI APP.4.4.A15).",
            Rule::SelfSetLabel => "Use labels under `node-restriction.kubernetes.io/`, which the NodeRestriction admission plugin forbids kubelets to set on their own Node (tierplan's pool label is one), and enable NodeRestriction. A compromised node must not be able to claim a tier (NIST SP 800-190 §4.3.4, BSI APP.4.4.A15).",
            Rule::Drift => "Re-run the plan's `nodes/label.sh` and `nodes/taint.sh`, or re-plan from the cluster as it is, so that nodes carry the pool the plan gives them (NIST SP 800-190 §4.3.4, BSI APP.4.4.A15).",
            Rule::Admission => "Apply the plan's admission manifests and bind the policy with `validationActions: [Deny]` (Policy `spec.admission: deny`), so that no pod can leave its pool (NIST SP 800-190 §4.3.4, BSI APP.4.4.A15).",
            Rule::Untiered => "Label the workload or its Namespace `tierplan.io/sensitivity: <level>` (or set the Policy's `spec.defaults.sensitivity`), or `tierplan.io/platform: \"true\"` for cluster infrastructure (NIST SP 800-190 §4.3.4, BSI APP.4.4.A15).",
        }
    }

    /// How serious a finding of this rule is.
    pub fn severity(self) -> Severity {
        match self {
            Rule::MixedNode | Rule::EscapeRoute | Rule::Admission => Severity::Error,
            _ => Severity::Warning,
        }
    }
}

/// How serious a finding is (SARIF `level`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Tiers mix now, or nothing stops them.
    Error,
    /// A weakness that lets tiers mix, or keeps the audit from judging.
    Warning,
}

impl Severity {
    /// As written in output (`error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A Kubernetes object a finding concerns, with pods rolled up to their owner.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    /// `Deployment`, `StatefulSet`, `Pod`, `Node`, …
    pub kind: String,
    /// Empty for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The object's name.
    pub name: String,
    /// Names of the pods concerned, sorted (rolled up to this owner).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<String>,
    /// The class (`sensitivity=restricted,…`) the audit read for it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Whether the object itself was in the input; `false` when only a pod's
    /// ownerReference names it.
    pub present: bool,
    /// The file it was read from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The 1-based YAML document in `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
}

impl Subject {
    /// `Kind namespace/name` (or `Kind name`).
    pub fn label(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// The classes on one node: class → pod count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatrixRow {
    /// The node.
    pub node: String,
    /// Pods per class on it (classes absent have 0).
    pub pods: BTreeMap<String, u32>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// What was checked.
    pub rule: Rule,
    /// The rule's stable id.
    pub id: String,
    /// How serious.
    pub severity: Severity,
    /// The node concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// What was found, whole.
    pub message: String,
    /// The objects concerned, sorted.
    pub objects: Vec<Subject>,
    /// The controls it maps to.
    pub controls: Vec<String>,
}

/// Whether the admission objects could be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AdmissionStatus {
    /// The policy is bound with `Deny`.
    Enforcing,
    /// Absent or not denying: see the findings.
    NotEnforcing,
    /// The input holds no admissionregistration objects and no cluster was read, so absence
    /// cannot be told from a dump that left them out.
    NotChecked,
}

/// Everything an audit found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Findings, sorted by rule, node and objects.
    pub findings: Vec<Finding>,
    /// Node × class pod counts of every mixed node, sorted by node.
    pub matrix: Vec<MatrixRow>,
    /// The admission check's outcome.
    pub admission: AdmissionStatus,
    /// Whether drift was checked (a plan was given).
    pub drift_checked: bool,
    /// Counts of what was read: `nodes`, `pods` (running, with a node), `owners`.
    pub counts: BTreeMap<String, usize>,
    /// Things the audit could not judge, for people to read.
    pub notes: Vec<String>,
}

impl Report {
    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports serialise")
    }
}

/// Audits `input`, and its nodes against `plan` when given.
pub fn audit(input: &Input, plan: Option<&Plan>) -> Report {
    let view = checks::View::new(input);
    let mut findings = Vec::new();
    let matrix = checks::mixed_nodes(&view, &mut findings);
    checks::escape_routes(&view, &mut findings);
    checks::wildcard_tolerations(&view, &mut findings);
    checks::untiered(&view, &mut findings);
    nodes::self_set_labels(input, &mut findings);
    if let Some(plan) = plan {
        nodes::drift(input, plan, &mut findings);
    }
    let admission = nodes::admission(input, &mut findings);
    for f in &mut findings {
        f.objects.sort();
    }
    findings.sort_by(|a, b| {
        (a.rule, &a.node, &a.objects, &a.message).cmp(&(b.rule, &b.node, &b.objects, &b.message))
    });
    let mut notes = Vec::new();
    if admission == AdmissionStatus::NotChecked {
        notes.push("admission not checked: the input holds no ValidatingAdmissionPolicy or binding and no cluster was read (add `kubectl get validatingadmissionpolicies,validatingadmissionpolicybindings -o yaml` to the dump)".to_string());
    }
    if plan.is_none() {
        notes.push("drift not checked: pass --plan plan.json".to_string());
    }
    Report {
        findings,
        matrix,
        admission,
        drift_checked: plan.is_some(),
        counts: view.counts(),
        notes,
    }
}

/// `file` and `document` of a subject read at `origin`.
fn located(origin: &crate::input::Origin) -> (Option<String>, Option<usize>) {
    (
        Some(origin.file.display().to_string()),
        (origin.doc > 0).then_some(origin.doc),
    )
}

/// A finding of `rule` with its id, severity and controls filled in.
fn finding(rule: Rule, node: Option<&str>, message: String, objects: Vec<Subject>) -> Finding {
    Finding {
        rule,
        id: rule.id().to_string(),
        severity: rule.severity(),
        node: node.map(str::to_string),
        message,
        objects,
        controls: CONTROLS.iter().map(|c| c.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_and_ids_are_stable_and_unique() {
        let mut ids = std::collections::BTreeSet::new();
        for r in Rule::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.name());
            assert!(ids.insert(r.id()));
            assert!(CONTROLS.iter().all(|c| r.help().contains(c)), "{r:?}");
        }
    }
}
