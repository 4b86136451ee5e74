//! Test support: models from inline YAML, so unit tests read like the input they describe.

use crate::model::{self, Model};

/// Builds a model from YAML documents (joined with `---`), panicking on invalid input.
pub fn model(docs: &[&str]) -> Model {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("input.yaml");
    std::fs::write(&file, docs.join("\n---\n")).expect("write input");
    model::build_from_paths(&[file]).unwrap_or_else(|e| panic!("{e}"))
}

/// A Workload document with the given name and spec (flow-style YAML inside `{}`).
pub fn workload(name: &str, spec: &str) -> String {
    format!("apiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {{name: {name}}}\nspec: {{{spec}}}")
}

/// A Node document with 4 cpu, 16Gi and 110 pods unless `spec` says otherwise.
pub fn node(name: &str, labels: &str, spec: &str) -> String {
    let spec = if spec.is_empty() {
        "allocatable: {cpu: 4, memory: 16Gi, pods: 110}"
    } else {
        spec
    };
    format!("apiVersion: tierplan/v1alpha1\nkind: Node\nmetadata: {{name: {name}, labels: {{{labels}}}}}\nspec: {{{spec}}}")
}

/// A Policy document with the given spec.
pub fn policy(spec: &str) -> String {
    format!("apiVersion: tierplan/v1alpha1\nkind: Policy\nmetadata: {{name: p}}\nspec: {{{spec}}}")
}

/// `e` and its causes joined by `: `, as anyhow's `{:#}` prints an error chain.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Worked examples of kube-scheduler's `NodeAffinity`, `NodeUnschedulable` and
/// `TaintToleration` filters, as (what, workload spec, node labels, node spec, admitted), for
/// both the planner's and the checker's own reading of them. Sources: `labels.Requirement.
/// Matches` (k8s.io/apimachinery/pkg/labels/selector.go) through
/// k8s.io/component-helpers/scheduling/corev1/nodeaffinity (`NodeSelector.Match`: terms
/// ORed, an empty term skipped), `Toleration.ToleratesTaint` (k8s.io/api/core/v1
/// toleration.go) with `v1helper.TolerationsTolerateTaint`, the TaintToleration filter's
/// `DoNotScheduleTaintsFilterFunc` (NoSchedule and NoExecute only), and the
/// NodeUnschedulable filter, which lets a pod onto a cordoned node exactly when it tolerates
/// `{key: node.kubernetes.io/unschedulable, effect: NoSchedule}`.
pub const CONSTRAINT_CASES: &[(&str, &str, &str, &str, bool)] = {
    const IN: &str =
        "nodeAffinity: [{matchExpressions: [{key: gpu, operator: In, values: [a100, h100]}]}]";
    const NOT_IN: &str =
        "nodeAffinity: [{matchExpressions: [{key: gpu, operator: NotIn, values: [t4]}]}]";
    const EXISTS: &str = "nodeAffinity: [{matchExpressions: [{key: gpu, operator: Exists}]}]";
    const ABSENT: &str = "nodeAffinity: [{matchExpressions: [{key: gpu, operator: DoesNotExist}]}]";
    const GT: &str =
        "nodeAffinity: [{matchExpressions: [{key: cores, operator: Gt, values: ['4']}]}]";
    const LT: &str =
        "nodeAffinity: [{matchExpressions: [{key: cores, operator: Lt, values: ['4']}]}]";
    const OR: &str = "nodeAffinity: [{matchExpressions: [{key: gpu, operator: In, values: [a100]}]}, {matchExpressions: [{key: cores, operator: Gt, values: ['4']}]}]";
    const EMPTY: &str = "nodeAffinity: [{}]";
    const EMPTY_OR: &str = "nodeAffinity: [{}, {matchExpressions: [{key: gpu, operator: Exists}]}]";
    const AND: &str = "nodeAffinity: [{matchExpressions: [{key: gpu, operator: Exists}, {key: cores, operator: Lt, values: ['4']}]}]";
    const CPU: &str = "allocatable: {cpu: 4}";
    const GPU_TAINT: &str =
        "allocatable: {cpu: 4}, taints: [{key: gpu, value: present, effect: NoSchedule}]";
    const NO_EXECUTE: &str =
        "allocatable: {cpu: 4}, taints: [{key: dedicated, value: ci, effect: NoExecute}]";
    const PREFER: &str =
        "allocatable: {cpu: 4}, taints: [{key: spot, value: 'true', effect: PreferNoSchedule}]";
    const POOL: &str = "allocatable: {cpu: 4}, taints: [{key: node-restriction.kubernetes.io/tierplan-pool, value: other, effect: NoSchedule}]";
    const CORDONED: &str = "allocatable: {cpu: 4}, unschedulable: true";
    &[
        ("In: the label with a listed value", IN, "gpu: h100", CPU, true),
        ("In: another value", IN, "gpu: t4", CPU, false),
        ("In: no label", IN, "", CPU, false),
        ("NotIn: another value", NOT_IN, "gpu: a100", CPU, true),
        ("NotIn: a listed value", NOT_IN, "gpu: t4", CPU, false),
        ("NotIn: holds without the label", NOT_IN, "", CPU, true),
        ("Exists: an empty value is a value", EXISTS, "gpu: ''", CPU, true),
        ("Exists: no label", EXISTS, "", CPU, false),
        ("DoesNotExist: no label", ABSENT, "", CPU, true),
        ("DoesNotExist: the label", ABSENT, "gpu: a100", CPU, false),
        ("Gt: 8 > 4", GT, "cores: '8'", CPU, true),
        ("Gt: 4 is not > 4", GT, "cores: '4'", CPU, false),
        ("Gt: a value that is no integer", GT, "cores: eight", CPU, false),
        ("Gt: no label", GT, "", CPU, false),
        ("Lt: 3 < 4", LT, "cores: '3'", CPU, true),
        ("Lt: 04 is 4", LT, "cores: '04'", CPU, false),
        ("Lt: no label", LT, "", CPU, false),
        ("terms are ORed", OR, "cores: '8'", CPU, true),
        ("no term holds", OR, "gpu: t4, cores: '2'", CPU, false),
        ("expressions of a term are ANDed", AND, "gpu: a100, cores: '8'", CPU, false),
        ("an empty term matches no node", EMPTY, "gpu: a100", CPU, false),
        ("an empty term is skipped", EMPTY_OR, "gpu: a100", CPU, true),
        ("untolerated NoSchedule taint", "", "", GPU_TAINT, false),
        ("Exists without effect tolerates every effect", "tolerations: [{key: gpu, operator: Exists}]", "", GPU_TAINT, true),
        ("Equal with the taint's value", "tolerations: [{key: gpu, value: present, effect: NoSchedule}]", "", GPU_TAINT, true),
        ("the operator defaults to Equal", "tolerations: [{key: gpu, value: present}]", "", GPU_TAINT, true),
        ("Equal with another value", "tolerations: [{key: gpu, operator: Equal, value: absent}]", "", GPU_TAINT, false),
        ("another effect", "tolerations: [{key: gpu, operator: Exists, effect: NoExecute}]", "", GPU_TAINT, false),
        ("untolerated NoExecute taint", "", "", NO_EXECUTE, false),
        ("tolerated NoExecute taint", "tolerations: [{key: dedicated, value: ci, effect: NoExecute}]", "", NO_EXECUTE, true),
        ("PreferNoSchedule only scores", "", "", PREFER, true),
        ("the pool taint is tierplan's own", "", "", POOL, true),
        ("a cordoned node", "", "", CORDONED, false),
        ("a cordoned node, unschedulable tolerated", "tolerations: [{key: node.kubernetes.io/unschedulable, operator: Exists, effect: NoSchedule}]", "", CORDONED, true),
        ("a cordoned node, another effect tolerated", "tolerations: [{key: node.kubernetes.io/unschedulable, operator: Exists, effect: NoExecute}]", "", CORDONED, false),
        ("a cordoned node, effect-less toleration", "tolerations: [{key: node.kubernetes.io/unschedulable, operator: Exists}]", "", CORDONED, true),
        ("an uncordoned node ignores that toleration", "tolerations: [{key: node.kubernetes.io/unschedulable, operator: Exists}]", "", CPU, true),
    ]
};

/// The model of one [`CONSTRAINT_CASES`] entry: workload `default/w`, node `n`.
pub fn constraint_case(spec: &str, labels: &str, node_spec: &str) -> Model {
    let sep = if spec.is_empty() { "" } else { ", " };
    model(&[
        &workload(
            "w",
            &format!("sensitivity: public, resources: {{cpu: 1}}{sep}{spec}"),
        ),
        &node("n", labels, node_spec),
    ])
}
