//! The checks on nodes and cluster objects: self-set tier labels, drift from a plan, and the
//! admission policy.

use super::checks::node_subject;
use super::{finding, AdmissionStatus, Finding, Input, Rule, Subject};
use crate::emit::admission::POLICY_NAME;
use crate::emit::{POOL_LABEL, POOL_TAINT_KEY};
use crate::input::k8s::objects;
use crate::plan::Plan;
use std::collections::{BTreeMap, BTreeSet};

/// The label namespace kubelets may never set on their Node (`LabelNamespaceNodeRestriction`
/// in k8s.io/api core/v1 well_known_labels.go).
const NODE_RESTRICTION: &str = "node-restriction.kubernetes.io";

/// Labels a kubelet may set on its own Node although they are `kubernetes.io` ones
/// (`kubeletLabels` of k8s.io/kubelet pkg/apis well_known_labels.go).
const KUBELET_LABELS: [&str; 11] = [
    "kubernetes.io/hostname",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
    "node.kubernetes.io/instance-type",
    "beta.kubernetes.io/instance-type",
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
];

/// Label namespaces (and their subdomains) a kubelet may set (`kubeletLabelNamespaces`).
const KUBELET_NAMESPACES: [&str; 2] = ["kubelet.kubernetes.io", "node.kubernetes.io"];

fn in_namespace(namespace: &str, of: &str) -> bool {
    namespace == of || namespace.ends_with(&format!(".{of}"))
}

/// Whether the NodeRestriction admission plugin lets a kubelet set label `key` on its own
/// Node: `getForbiddenLabels` of kubernetes plugin/pkg/admission/noderestriction/admission.go
/// forbids the `node-restriction.kubernetes.io` namespace and every other `kubernetes.io` or
/// `k8s.io` label that `IsKubeletLabel` does not allow; any other key a kubelet may set (with
/// `--node-labels`, or by updating its Node). Documented at kubernetes.io, "Admission
/// Control: NodeRestriction".
pub fn kubelet_may_set(key: &str) -> bool {
    let namespace = key.split_once('/').map_or("", |(ns, _)| ns);
    if in_namespace(namespace, NODE_RESTRICTION) {
        return false;
    }
    let kubernetes = in_namespace(namespace, "kubernetes.io") || in_namespace(namespace, "k8s.io");
    let kubelet = KUBELET_LABELS.contains(&key)
        || KUBELET_NAMESPACES
            .iter()
            .any(|ns| in_namespace(namespace, ns));
    !kubernetes || kubelet
}

/// Node label keys with tier or pool meaning a kubelet may set on its own Node: the Policy's
/// `nodeRequirements` keys, tierplan's pool label, and any node label under the tier prefix.
pub fn self_set_labels(input: &Input, out: &mut Vec<Finding>) {
    let mut keys: BTreeMap<String, &str> = BTreeMap::new();
    for r in &input.model.policy.node_requirements {
        for k in r.node_selector.keys() {
            keys.insert(k.clone(), "the Policy's nodeRequirements select on it");
        }
    }
    keys.insert(POOL_LABEL.to_string(), "it is tierplan's pool label");
    for n in &input.objects.nodes {
        for k in n.object.metadata.labels.iter().flatten().map(|(k, _)| k) {
            if k.starts_with(&input.prefix) {
                keys.entry(k.clone())
                    .or_insert("it carries a tier attribute");
            }
        }
    }
    for (key, why) in keys.into_iter().filter(|(k, _)| kubelet_may_set(k)) {
        let mut subjects: Vec<Subject> = input
            .objects
            .nodes
            .iter()
            .filter(|n| {
                n.object
                    .metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l.contains_key(&key))
            })
            .map(|n| node_subject(input, objects::name(&n.object.metadata)))
            .collect();
        let message = format!(
            "node label `{key}` decides where tiers run ({why}), but lies outside `{NODE_RESTRICTION}/`: a node's own kubelet may set it (NodeRestriction admission) and so attract another tier's pods; {} node(s) carry it",
            subjects.len()
        );
        // The Policy that relies on the label, so that the finding has a file to point at.
        if let Some(origin) = &input.model.policy.origin {
            let (file, document) = super::located(origin);
            subjects.push(Subject {
                kind: "Policy".into(),
                namespace: String::new(),
                name: "spec.nodeRequirements".into(),
                pods: Vec::new(),
                class: None,
                present: true,
                file,
                document,
            });
        }
        out.push(finding(Rule::SelfSetLabel, None, message, subjects));
    }
}

/// Node pool labels and taints that differ from what `plan` assigns, per node; nodes the plan
/// names but the input lacks are reported too (bought nodes are Karpenter's to name).
pub fn drift(input: &Input, plan: &Plan, out: &mut Vec<Finding>) {
    let bought: BTreeSet<String> = plan
        .pools
        .iter()
        .flat_map(|p| p.bought_nodes())
        .map(|b| b.name)
        .collect();
    let mut want: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for pool in &plan.pools {
        for node in pool.nodes.iter().filter(|n| !bought.contains(*n)) {
            want.insert(node, (!pool.platform).then_some(pool.name.as_str()));
        }
    }
    for node in &plan.unused_nodes {
        want.insert(node, None);
    }
    let have: BTreeMap<&str, _> = input
        .objects
        .nodes
        .iter()
        .map(|n| (objects::name(&n.object.metadata), &n.object))
        .collect();
    for (name, pool) in want {
        let Some(node) = have.get(name) else {
            let message = format!("node {name} is in the plan but not in the input: it was removed or renamed since the plan was made");
            out.push(finding(
                Rule::Drift,
                Some(name),
                message,
                vec![node_subject(input, name)],
            ));
            continue;
        };
        let label = node
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(POOL_LABEL))
            .map(String::as_str);
        let taints: Vec<String> = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t.key == POOL_TAINT_KEY)
            .map(|t| crate::sched::filter::taint_text(&t))
            .collect();
        let want_taint: Vec<String> = pool
            .map(|p| format!("{POOL_TAINT_KEY}={p}:NoSchedule"))
            .into_iter()
            .collect();
        let mut diffs = Vec::new();
        if label != pool {
            diffs.push(format!(
                "label {POOL_LABEL} is {} but the plan gives {}",
                label.map_or("absent".to_string(), |l| format!("`{l}`")),
                pool.map_or("none".to_string(), |p| format!("`{p}`")),
            ));
        }
        if taints != want_taint {
            diffs.push(format!(
                "pool taints are [{}] but the plan gives [{}]",
                taints.join(", "),
                want_taint.join(", ")
            ));
        }
        if !diffs.is_empty() {
            let message = format!("node {name}: {}", diffs.join("; "));
            out.push(finding(
                Rule::Drift,
                Some(name),
                message,
                vec![node_subject(input, name)],
            ));
        }
    }
}

/// Whether tierplan's ValidatingAdmissionPolicy is present and bound with `Deny`.
pub fn admission(input: &Input, out: &mut Vec<Finding>) -> AdmissionStatus {
    let o = &input.objects;
    if o.admission_policies.is_empty() && o.admission_bindings.is_empty() && !input.cluster_read {
        return AdmissionStatus::NotChecked;
    }
    let subject = |kind: &str, name: &str| Subject {
        kind: kind.into(),
        namespace: String::new(),
        name: name.into(),
        pods: Vec::new(),
        class: None,
        present: false,
        file: None,
        document: None,
    };
    let before = out.len();
    let policy = o
        .admission_policies
        .iter()
        .any(|p| p.object.metadata.name.as_deref() == Some(POLICY_NAME));
    if !policy {
        let message = format!("ValidatingAdmissionPolicy {POLICY_NAME} is absent: nothing stops a pod from leaving its pool");
        out.push(finding(
            Rule::Admission,
            None,
            message,
            vec![subject("ValidatingAdmissionPolicy", POLICY_NAME)],
        ));
    }
    let bindings: Vec<_> = o
        .admission_bindings
        .iter()
        .filter(|b| {
            b.object
                .spec
                .as_ref()
                .and_then(|s| s.policy_name.as_deref())
                == Some(POLICY_NAME)
        })
        .collect();
    let denies = |b: &&objects::Located<_>| -> bool {
        let b: &k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding =
            &b.object;
        b.spec
            .as_ref()
            .and_then(|s| s.validation_actions.as_ref())
            .is_some_and(|a| a.iter().any(|x| x == "Deny"))
    };
    if bindings.is_empty() {
        let message = format!("no ValidatingAdmissionPolicyBinding binds {POLICY_NAME}: an unbound policy is never evaluated");
        out.push(finding(
            Rule::Admission,
            None,
            message,
            vec![subject("ValidatingAdmissionPolicyBinding", POLICY_NAME)],
        ));
    } else if !bindings.iter().any(denies) {
        for b in &bindings {
            let name = objects::name(&b.object.metadata);
            let actions = b
                .object
                .spec
                .as_ref()
                .and_then(|s| s.validation_actions.clone())
                .unwrap_or_default();
            let mut s = subject("ValidatingAdmissionPolicyBinding", name);
            s.present = true;
            (s.file, s.document) = super::located(&b.at.origin);
            let message = format!(
                "ValidatingAdmissionPolicyBinding {name} has validationActions [{}], without Deny: pods that leave their pool are admitted",
                actions.join(", ")
            );
            out.push(finding(Rule::Admission, None, message, vec![s]));
        }
    }
    if out.len() == before {
        AdmissionStatus::Enforcing
    } else {
        AdmissionStatus::NotEnforcing
    }
}

#[cfg(test)]
mod tests {
    use super::kubelet_may_set;

    /// Cases of `getForbiddenLabels` (plugin/pkg/admission/noderestriction/admission.go) and
    /// `IsKubeletLabel` (k8s.io/kubelet pkg/apis).
    #[test]
    fn kubelets_may_set_all_but_node_restriction_and_unknown_kubernetes_labels() {
        assert!(!kubelet_may_set(
            "node-restriction.kubernetes.io/tierplan-pool"
        ));
        assert!(!kubelet_may_set(
            "example.node-restriction.kubernetes.io/pool"
        ));
        assert!(!kubelet_may_set("node-role.kubernetes.io/control-plane"));
        assert!(!kubelet_may_set("example.k8s.io/tier"));
        assert!(kubelet_may_set("node.kubernetes.io/pool"));
        assert!(kubelet_may_set("foo.kubelet.kubernetes.io/x"));
        assert!(kubelet_may_set("kubernetes.io/hostname"));
        assert!(kubelet_may_set("tierplan.io/sensitivity"));
        assert!(kubelet_may_set("pool"));
        assert!(kubelet_may_set("example.com/tier"));
    }
}
