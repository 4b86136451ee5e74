//! The policy's meaning for the planner: classes, compatibility and node eligibility.
//!
//! Owns the derivations the solver relies on. The checker deliberately re-derives the same
//! rules on its own (see `check`), so a mistake here cannot hide itself.

use crate::emit::POOL_TAINT_KEY;
use crate::model::{
    AffinityTerm, LabelExpression, LabelOperator, Model, Node, Taint, Toleration,
    TolerationOperator, Workload, UNSCHEDULABLE_TAINT_KEY,
};
use std::collections::BTreeMap;

/// A set of workloads with equal values on every `separateBy` attribute (a dedicated
/// workload is a class of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    /// [`Model::class_name`] of its workloads.
    pub name: String,
    /// A dedicated workload's class of its own.
    pub dedicated: bool,
    /// Indices into `model.workloads`, ascending.
    pub workloads: Vec<usize>,
}

/// The classes of `model`, sorted by name.
pub fn classes(model: &Model) -> Vec<Class> {
    let mut by_key: BTreeMap<String, Class> = BTreeMap::new();
    for (i, w) in model.workloads.iter().enumerate() {
        let (name, dedicated) = (model.class_name(w), w.dedicated);
        by_key
            .entry(name.clone())
            .or_insert_with(|| Class {
                name,
                dedicated,
                workloads: Vec::new(),
            })
            .workloads
            .push(i);
    }
    by_key.into_values().collect()
}

// Class names are the model's (one format for planner, checker and naming); the constants
// stay reachable here for the solver.
pub use crate::model::{ALL_CLASS, PLATFORM_CLASS};

/// Whether two distinct workloads may share a node as far as attributes go: both are platform
/// workloads, or neither is, neither is dedicated and every `separateBy` attribute is equal
/// or excused by one `shareWhen` rule that names it and matches both. Anti-affinity is a
/// node-level rule, handled apart.
pub fn attributes_compatible(model: &Model, a: &Workload, b: &Workload) -> bool {
    if a.platform || b.platform {
        return a.platform && b.platform;
    }
    if a.dedicated || b.dedicated {
        return false;
    }
    model.policy.separate_by.iter().all(|attr| {
        a.attribute(attr) == b.attribute(attr)
            || model
                .policy
                .share_when
                .iter()
                .any(|rule| rule.contains_key(attr) && a.matches(rule) && b.matches(rule))
    })
}

/// The first `separateBy` attribute that keeps `a` and `b` apart, for explanations.
pub fn separating_attribute<'m>(model: &'m Model, a: &Workload, b: &Workload) -> Option<&'m str> {
    model
        .policy
        .separate_by
        .iter()
        .find(|attr| {
            a.attribute(attr) != b.attribute(attr)
                && !model
                    .policy
                    .share_when
                    .iter()
                    .any(|rule| rule.contains_key(*attr) && a.matches(rule) && b.matches(rule))
        })
        .map(String::as_str)
}

/// Class-level compatibility: `m[i][j]` when every workload of class i may share a node with
/// every workload of class j (attribute-wise). Within a class all workloads agree on the
/// separating attributes, so only their `shareWhen` match pattern differs; comparing one
/// representative per pattern keeps this cheap on thousands of workloads.
pub fn class_compatibility(model: &Model, classes: &[Class]) -> Vec<Vec<bool>> {
    let reps: Vec<Vec<usize>> = classes
        .iter()
        .map(|c| {
            let mut seen: BTreeMap<Vec<bool>, usize> = BTreeMap::new();
            for &w in &c.workloads {
                let pattern = model
                    .policy
                    .share_when
                    .iter()
                    .map(|r| model.workloads[w].matches(r))
                    .collect();
                seen.entry(pattern).or_insert(w);
            }
            seen.into_values().collect()
        })
        .collect();
    let n = classes.len();
    let mut m = vec![vec![false; n]; n];
    for i in 0..n {
        for j in i + 1..n {
            let ok = reps[i].iter().all(|&a| {
                reps[j].iter().all(|&b| {
                    attributes_compatible(model, &model.workloads[a], &model.workloads[b])
                })
            });
            m[i][j] = ok;
            m[j][i] = ok;
        }
    }
    m
}

/// The labels a workload needs on its node: its own `nodeSelector` and every matching policy
/// `nodeRequirements` entry. `Err` names a label required with two different values.
pub fn required_labels(
    model: &Model,
    w: &Workload,
) -> Result<BTreeMap<String, String>, LabelConflict> {
    let mut labels = w.node_selector.clone();
    for req in &model.policy.node_requirements {
        if !w.matches(&req.matches) {
            continue;
        }
        for (k, v) in &req.node_selector {
            match labels.get(k) {
                Some(existing) if existing != v => {
                    return Err(LabelConflict {
                        key: k.clone(),
                        first: existing.clone(),
                        second: v.clone(),
                    })
                }
                _ => {
                    labels.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Ok(labels)
}

/// A node label a workload requires with two different values: no node can host it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("label `{key}` is required both as `{first}` and as `{second}` (nodeSelector and policy nodeRequirements disagree)")]
pub struct LabelConflict {
    /// The label key.
    pub key: String,
    /// The value required first (by the nodeSelector or an earlier nodeRequirement).
    pub first: String,
    /// The value a later nodeRequirement requires.
    pub second: String,
}

/// A node's capacity for replicas: allocatable minus overhead, per resource; `None` where the
/// node does not declare the resource, `Some(0)` where the overhead eats it all.
pub fn usable_capacity(model: &Model, node: &Node) -> Vec<Option<u64>> {
    node.allocatable
        .iter()
        .zip(&model.policy.node_overhead)
        .map(|(a, o)| a.map(|a| a.saturating_sub(*o)))
        .collect()
}

/// Why one replica of `w` (with required `labels`) can never run on `node`, if it cannot.
pub fn ineligibility(
    model: &Model,
    w: &Workload,
    labels: &BTreeMap<String, String>,
    node: &Node,
) -> Option<Ineligible> {
    for (k, v) in labels {
        if node.labels.get(k) != Some(v) {
            return Some(Ineligible::Label(k.clone(), v.clone()));
        }
    }
    if let Some(why) = constraint_ineligibility(w, node) {
        return Some(why);
    }
    let overhead = &model.policy.node_overhead;
    for (r, &req) in w.requests.iter().enumerate() {
        if req == 0 {
            continue;
        }
        match node.allocatable[r] {
            None => return Some(Ineligible::Undeclared(r)),
            Some(a) if a.saturating_sub(overhead[r]) < req => {
                return Some(Ineligible::TooSmall(r, a.saturating_sub(overhead[r])))
            }
            Some(_) => {}
        }
    }
    None
}

/// Why a node cannot take a replica whatever else is on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ineligible {
    /// Missing or different label (key, required value).
    Label(String, String),
    /// The node does not declare the resource.
    Undeclared(usize),
    /// One replica exceeds the node's capacity after overhead (resource, capacity).
    TooSmall(usize, u64),
    /// The node matches no term of the workload's required node affinity: per term, the
    /// first expression it fails.
    Affinity(Vec<String>),
    /// The node is cordoned and the workload does not tolerate
    /// `node.kubernetes.io/unschedulable:NoSchedule`.
    Cordoned,
    /// A `NoSchedule` or `NoExecute` taint of the node that no toleration of the workload
    /// tolerates (the first, in the node's sorted order).
    Taint(Taint),
}

/// Why the workload's own scheduling constraints keep it off `node`, as kube-scheduler's
/// filters decide: `NodeAffinity` (required terms), `NodeUnschedulable` and
/// `TaintToleration`. The pool taint is tierplan's to set and tolerate, so it is left out.
pub fn constraint_ineligibility(w: &Workload, node: &Node) -> Option<Ineligible> {
    if !w.node_affinity.is_empty()
        && !w
            .node_affinity
            .iter()
            .any(|t| term_matches(t, &node.labels))
    {
        let unmet = w
            .node_affinity
            .iter()
            .map(|t| {
                match t
                    .expressions
                    .iter()
                    .find(|e| !expression_matches(e, &node.labels))
                {
                    Some(e) => e.to_string(),
                    None => "an empty term, which matches no node".to_string(),
                }
            })
            .collect();
        return Some(Ineligible::Affinity(unmet));
    }
    // kube-scheduler's NodeUnschedulable filter: a cordoned node takes a pod only if the pod
    // tolerates this taint, whether or not the node carries it.
    let cordon = Taint {
        key: UNSCHEDULABLE_TAINT_KEY.into(),
        value: String::new(),
        effect: "NoSchedule".into(),
    };
    if node.unschedulable && !w.tolerations.iter().any(|t| tolerates(t, &cordon)) {
        return Some(Ineligible::Cordoned);
    }
    node.taints
        .iter()
        .filter(|t| t.key != POOL_TAINT_KEY)
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .find(|t| !w.tolerations.iter().any(|tol| tolerates(tol, t)))
        .map(|t| Ineligible::Taint(t.clone()))
}

/// `NodeSelectorTerm` matching (k8s.io/component-helpers/scheduling/corev1/nodeaffinity):
/// every expression holds; a term without expressions matches nothing.
pub fn term_matches(term: &AffinityTerm, labels: &BTreeMap<String, String>) -> bool {
    !term.expressions.is_empty()
        && term
            .expressions
            .iter()
            .all(|e| expression_matches(e, labels))
}

/// `labels.Requirement.Matches` (k8s.io/apimachinery/pkg/labels/selector.go): `NotIn` and
/// `DoesNotExist` hold without the label; `Gt`/`Lt` need it, as a base-10 `i64`.
pub fn expression_matches(e: &LabelExpression, labels: &BTreeMap<String, String>) -> bool {
    let value = labels.get(&e.key);
    match &e.operator {
        LabelOperator::In(values) => value.is_some_and(|v| values.contains(v)),
        LabelOperator::NotIn(values) => value.is_none_or(|v| !values.contains(v)),
        LabelOperator::Exists => value.is_some(),
        LabelOperator::DoesNotExist => value.is_none(),
        LabelOperator::Gt(n) => value
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|v| v > *n),
        LabelOperator::Lt(n) => value
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|v| v < *n),
    }
}

/// `Toleration.ToleratesTaint` (k8s.io/api/core/v1/toleration.go): the effect matches when
/// the toleration names none, the key when it is empty, and the value under `Exists` always.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    t.effect.as_ref().is_none_or(|e| *e == taint.effect)
        && (t.key.is_empty() || t.key == taint.key)
        && match &t.operator {
            TolerationOperator::Equal(v) => *v == taint.value,
            TolerationOperator::Exists => true,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{model, node, policy, workload};

    fn tiers() -> Model {
        model(&[
            &policy("separateBy: [sensitivity], shareWhen: [{sensitivity: [public, internal]}, {sensitivity: [internal, confidential]}]"),
            &workload("a", "sensitivity: public"),
            &workload("b", "sensitivity: internal"),
            &workload("c", "sensitivity: confidential"),
            &workload("d", "sensitivity: internal, dedicated: true"),
            &node("n", "", ""),
        ])
    }

    #[test]
    fn a_dedicated_workload_is_a_class_of_its_own() {
        let m = tiers();
        let names: Vec<String> = classes(&m).into_iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "dedicated:default/d",
                "sensitivity=confidential",
                "sensitivity=internal",
                "sensitivity=public"
            ]
        );
    }

    #[test]
    fn share_when_compatibility_is_not_transitive() {
        let m = tiers();
        let w = |i: usize| &m.workloads[i];
        assert!(attributes_compatible(&m, w(0), w(1)), "public ~ internal");
        assert!(
            attributes_compatible(&m, w(1), w(2)),
            "internal ~ confidential"
        );
        assert!(
            !attributes_compatible(&m, w(0), w(2)),
            "public !~ confidential"
        );
        assert!(
            !attributes_compatible(&m, w(1), w(3)),
            "dedicated shares with nobody"
        );
        assert_eq!(separating_attribute(&m, w(0), w(2)), Some("sensitivity"));
        let cs = classes(&m);
        let compat = class_compatibility(&m, &cs);
        let idx = |name: &str| cs.iter().position(|c| c.name == name).unwrap();
        assert!(compat[idx("sensitivity=public")][idx("sensitivity=internal")]);
        assert!(!compat[idx("sensitivity=public")][idx("sensitivity=confidential")]);
    }

    #[test]
    fn platform_workloads_form_one_class_that_shares_with_no_tier() {
        let m = model(&[
            &policy("separateBy: [namespace], shareWhen: [{namespace: [default, kube-system]}]"),
            &workload("web", "sensitivity: public"),
            &format!(
                "{}\n---\n{}",
                "apiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {name: coredns, namespace: kube-system}\nspec: {platform: true}",
                "apiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {name: ingress, namespace: ingress}\nspec: {platform: true}"
            ),
            &node("n", "", ""),
        ]);
        let names: Vec<String> = classes(&m).into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["namespace=default", PLATFORM_CLASS]);
        let w = |id: &str| &m.workloads[m.workload_index(id).unwrap()];
        // Namespaces differ and no rule lists both, yet platform workloads share ...
        assert!(attributes_compatible(
            &m,
            w("kube-system/coredns"),
            w("ingress/ingress")
        ));
        // ... and a shareWhen rule does not let a tier in.
        assert!(!attributes_compatible(
            &m,
            w("default/web"),
            w("kube-system/coredns")
        ));
    }

    #[test]
    fn a_rule_must_match_both_workloads_on_every_key() {
        let m = model(&[
            &policy("separateBy: [sensitivity], shareWhen: [{sensitivity: [public, internal], tenant: [shared]}]"),
            &workload("a", "sensitivity: public, tenant: shared"),
            &workload("b", "sensitivity: internal, tenant: acme"),
            &workload("c", "sensitivity: internal, tenant: shared"),
            &node("n", "", ""),
        ]);
        assert!(!attributes_compatible(&m, &m.workloads[0], &m.workloads[1]));
        assert!(attributes_compatible(&m, &m.workloads[0], &m.workloads[2]));
        // b and c are one class yet match the rule differently: the class is compatible with
        // public only if every member is.
        let cs = classes(&m);
        assert!(!class_compatibility(&m, &cs)[0][1]);
    }

    #[test]
    fn required_labels_merge_node_requirements_and_report_contradictions() {
        let m = model(&[
            &policy("nodeRequirements: [{match: {sensitivity: [restricted]}, nodeSelector: {os: hardened}}]"),
            &workload("vault", "sensitivity: restricted, nodeSelector: {arch: arm64}"),
            &workload("odd", "sensitivity: restricted, nodeSelector: {os: plain}"),
            &node("n", "", ""),
        ]);
        let labels = required_labels(&m, &m.workloads[1]).unwrap();
        assert_eq!(labels.get("os").map(String::as_str), Some("hardened"));
        assert_eq!(labels.get("arch").map(String::as_str), Some("arm64"));
        assert!(required_labels(&m, &m.workloads[0])
            .unwrap_err()
            .to_string()
            .contains("`os`"));
    }

    #[test]
    fn eligibility_accounts_for_labels_undeclared_resources_and_overhead() {
        let m = model(&[
            &policy("nodeOverhead: {cpu: 500m}"),
            &workload(
                "gpu",
                "sensitivity: public, resources: {cpu: 1, nvidia.com/gpu: 1}",
            ),
            &workload("big", "sensitivity: public, resources: {cpu: 3800m}"),
            &workload("arm", "sensitivity: public, nodeSelector: {arch: arm64}"),
            &node("n", "arch: amd64", ""),
            // Another node declares GPUs, so requesting them is no input error (E055).
            &node(
                "z",
                "",
                "allocatable: {cpu: 4, memory: 16Gi, pods: 110, nvidia.com/gpu: 1}",
            ),
        ]);
        let n = &m.nodes[0];
        let check = |w: usize| {
            let labels = required_labels(&m, &m.workloads[w]).unwrap();
            ineligibility(&m, &m.workloads[w], &labels, n)
        };
        let gpu = m.resource_id("nvidia.com/gpu").unwrap();
        let cpu = m.resource_id("cpu").unwrap();
        assert_eq!(
            check(m.workload_index("default/gpu").unwrap()),
            Some(Ineligible::Undeclared(gpu))
        );
        assert_eq!(
            check(m.workload_index("default/big").unwrap()),
            Some(Ineligible::TooSmall(cpu, 3500))
        );
        assert_eq!(
            check(m.workload_index("default/arm").unwrap()),
            Some(Ineligible::Label("arch".into(), "arm64".into()))
        );
        assert_eq!(usable_capacity(&m, n)[cpu], Some(3500));
        assert_eq!(usable_capacity(&m, n)[gpu], None);
    }

    #[test]
    fn manifest_constraints_decide_eligibility_as_kube_scheduler_does() {
        for &(what, spec, labels, node_spec, admitted) in crate::testing::CONSTRAINT_CASES {
            let m = crate::testing::constraint_case(spec, labels, node_spec);
            let w = &m.workloads[0];
            let found = constraint_ineligibility(w, &m.nodes[0]);
            assert_eq!(found.is_none(), admitted, "{what}: {found:?}");
            // Through the whole eligibility, and the solver's node types, too.
            let labels = required_labels(&m, w).unwrap();
            assert_eq!(
                ineligibility(&m, w, &labels, &m.nodes[0]).is_none(),
                admitted,
                "{what}"
            );
        }
    }

    #[test]
    fn an_empty_key_with_exists_tolerates_every_taint() {
        // `Toleration.ToleratesTaint`: an empty key matches every key, `Exists` every value,
        // no effect every effect. The model refuses such a toleration (E069); the rule holds.
        let every = Toleration {
            key: String::new(),
            operator: TolerationOperator::Exists,
            effect: None,
        };
        let only = Toleration {
            effect: Some("NoSchedule".into()),
            ..every.clone()
        };
        for (key, value, effect) in [("gpu", "yes", "NoSchedule"), ("a.io/b", "", "NoExecute")] {
            let taint = Taint {
                key: key.into(),
                value: value.into(),
                effect: effect.into(),
            };
            assert!(tolerates(&every, &taint));
            assert_eq!(tolerates(&only, &taint), effect == "NoSchedule");
        }
    }

    #[test]
    fn the_reason_names_the_rule_that_excluded_the_node() {
        let case = |spec, node_spec| {
            let m = crate::testing::constraint_case(spec, "", node_spec);
            constraint_ineligibility(&m.workloads[0], &m.nodes[0])
        };
        assert_eq!(
            case("nodeAffinity: [{matchExpressions: [{key: gpu, operator: Exists}]}, {matchExpressions: [{key: zone, operator: In, values: [a, b]}]}]", "allocatable: {cpu: 4}"),
            Some(Ineligible::Affinity(vec!["gpu Exists".into(), "zone In (a, b)".into()]))
        );
        assert_eq!(
            case("", "allocatable: {cpu: 4}, unschedulable: true"),
            Some(Ineligible::Cordoned)
        );
        assert_eq!(
            case(
                "",
                "allocatable: {cpu: 4}, taints: [{key: gpu, effect: NoExecute}]"
            ),
            Some(Ineligible::Taint(Taint {
                key: "gpu".into(),
                value: String::new(),
                effect: "NoExecute".into()
            }))
        );
    }
}
