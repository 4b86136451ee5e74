//! The ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, GA since Kubernetes 1.30)
//! and its binding that reject pods escaping their tier.
//!
//! Taints keep other tiers' pods off a pool's nodes only as long as pods cannot tolerate what
//! they like, and tolerations are self-service. This policy makes them a boundary. It reads the
//! contract the other manifests follow (see the constants in [`super`]): a pool's nodes carry
//! `POOL_LABEL=<pool>` and the taint `POOL_TAINT_KEY=<pool>:NoSchedule`; a planned workload's
//! pods carry `POD_POOL_LABEL=<pool>`, tolerate that one taint and require `POOL_LABEL In
//! [<pool>]` in every required node-affinity term (DaemonSet workloads: in nodeSelector).
//!
//! The rules, each a validation with a message that says what is wrong and how to fix it:
//! 1. No pod carries a toleration with an empty key (with `operator: Exists` it tolerates
//!    every taint; an empty key with `Equal` is invalid anyway).
//! 2. No pod tolerates the pool taint key with `operator: Exists` (every pool at once).
//! 3. A pod tolerates the pool taint key only with the value of its own `POD_POOL_LABEL`, so
//!    a pod without that label tolerates no pool at all. Any effect counts, an empty effect
//!    included (it matches every effect), so that a later change of the taint's effect cannot
//!    open a pool.
//! 4. A pod's `POD_POOL_LABEL` names a pool that hosts planned workloads of its namespace.
//! 5. A pod with `POD_POOL_LABEL` is pinned to its pool: either every term of its required
//!    node affinity (the terms are ORed, so one term without the requirement would escape)
//!    has the expression `POOL_LABEL In [<pool>]` with exactly that one value (the term's
//!    other expressions are ANDed and only narrow it), or its `nodeSelector`
//!    sets `POOL_LABEL: <pool>` (ANDed with everything). The second form exists because the
//!    DaemonSet controller replaces a DaemonSet pod's required node affinity by a single
//!    `metadata.name` term: a workload run by a DaemonSet can only stay pinned by nodeSelector.
//! 6. A pod that is not pinned by rule 5 does not set `spec.nodeName` on creation: a pod bound
//!    by name skips the scheduler, and the kubelet checks only `NoExecute` taints, so the
//!    pools' `NoSchedule` taints would not keep it out. (Pinned pods may: the kubelet does
//!    check required node affinity and nodeSelector.)
//! 7. A pod that is not pinned names no `schedulerName` but `default-scheduler` on creation:
//!    another scheduler may ignore taints, and the kubelet would then admit the pod on a pool
//!    node, for the same reason as in rule 6. The kubelet's own check is `generalFilter` in
//!    k8s.io/kubernetes `pkg/kubelet/lifecycle/predicate.go`: `scheduler.AdmissionCheck`
//!    (resources, required node affinity with nodeSelector, nodeName, host ports) plus
//!    `FindMatchingUntoleratedTaint` filtered to `TaintEffectNoExecute` ("Kubelet is only
//!    interested in the NoExecute taint"). Pinned pods may name another scheduler.
//! 8. Only the default scheduler binds pods: a `Binding` (CREATE of `pods/binding`, or of the
//!    older `bindings` resource) names a node for a pod already admitted, skipping the
//!    scheduler and rules 6 and 7, and the policy cannot see that pod (the API server also
//!    copies the Binding's labels and annotations onto it: `setPodNodeAndMetadata` in
//!    `pkg/registry/core/pod/storage/storage.go`). It is admitted only from
//!    `system:kube-scheduler`, kube-scheduler's identity (`user.KubeScheduler` in
//!    k8s.io/apiserver `pkg/authentication/user`; the bootstrap ClusterRole
//!    `system:kube-scheduler` grants it `create` on `bindings` and `pods/binding`). A second
//!    scheduler therefore cannot bind; its pods stay pending. Rules 1 to 7 do not apply to a
//!    Binding.
//!
//! The namespace of the headroom placeholders ([`super::headroom::NAMESPACE`]) counts as
//! hosting planned workloads in every pool that has placeholders.
//!
//! Pods of a tiered namespace (one with planned workloads) without `POD_POOL_LABEL` are
//! admitted when they tolerate no pool: they run on nodes outside every pool.
//!
//! The boundary is the namespace, not the workload: a pod says which workload it belongs to
//! only through labels and ownerReferences its creator chooses, so whoever may create pods in a
//! namespace may put them in any pool planned for that namespace's workloads
//! ([`crate::boundary`] lists the namespaces that span several pools).
//!
//! Exceptions:
//! - Pods of the Policy's system DaemonSets (CNI, kube-proxy, agents) are exempt from rules
//!   1 to 7, so they keep their own tolerations, wildcards included. The pod's creator writes
//!   `metadata.ownerReferences`, so a reference alone proves nothing; the exception holds
//!   when the request comes from the DaemonSet controller AND the pod, in a listed namespace,
//!   has a controller ownerReference to an `apps` DaemonSet of a listed name. The controller
//!   only ever writes a reference to the DaemonSet whose template it instantiates, so the
//!   exception reaches exactly the pods of the listed DaemonSets: RBAC must keep write access
//!   to those DaemonSet objects to the cluster's administrators. The DaemonSet controller's
//!   identity is
//!   - `system:serviceaccount:kube-system:daemon-set-controller` when kube-controller-manager
//!     runs with `--use-service-account-credentials` (kubeadm sets it, in
//!     `cmd/kubeadm/app/phases/controlplane/manifests.go`; a managed control plane's flags
//!     are not public, which is one reason the other identity is accepted too): then
//!     `createClientBuilders` in `cmd/kube-controller-manager/app/controllermanager.go` gives
//!     each controller a token of the service account in `kube-system` named by its
//!     `ClientOrDie` call, `"daemon-set-controller"` in `startDaemonSetController`
//!     (`cmd/kube-controller-manager/app/apps.go`); its bootstrap role is
//!     `system:controller:daemon-set-controller`
//!     (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy/controller_policy.go`);
//!   - `system:kube-controller-manager` without that flag: every controller then uses the
//!     controller manager's own credentials. That identity is accepted too, because the only
//!     controller that writes a controller reference to a DaemonSet is the DaemonSet
//!     controller (ReplicaSet, Job and StatefulSet controllers reference their own kinds, and
//!     `GetPodFromTemplate` in `pkg/controller/controller_utils.go` copies a template's
//!     labels, annotations and finalizers but no ownerReferences), so the pair of
//!     creator and reference still names the listed DaemonSet's own pods. No one else should
//!     hold either identity; `impersonate` on users or service accounts is cluster-admin power.
//! - Mirror pods (annotation `kubernetes.io/config.mirror`) are not checked: they are the API
//!   view of a kubelet's static pods, which run from files on the node whatever the API says
//!   (control-plane static pods carry wildcard tolerations), and a kubelet never runs a
//!   mirror pod it did not create itself.
//!
//! What else the policy relies on: every DaemonSet that tolerates every taint (CNI,
//! kube-proxy, CSI node plugins, agents) is a `systemDaemonSets` entry of the Policy: rule 1
//! denies the pods of any other, and a CNI whose pods are denied leaves new nodes without
//! networking. Until the Policy lists them (or sets `admission: deny`), the binding is
//! emitted with `validationActions: [Warn, Audit]`, which reports what would be denied.
//!
//! Matching: pods on CREATE and on UPDATE, and Bindings on CREATE, in every namespace (the
//! binding has no namespace selector), `failurePolicy: Fail`, `validationActions: [Deny]`
//! (see above for `[Warn, Audit]`). Updates are checked only when they change the fields that
//! decide placement (tolerations, which an update may extend, node affinity and nodeSelector,
//! which an update may extend while the pod is gated): other updates of a pod that predates
//! the policy, such as a controller removing a finalizer, must keep working.
//!
//! The CEL uses only what both Kubernetes and the `cel-interpreter` crate evaluate (`has()`,
//! `in`, `exists`, `all`, `size`, map and list literals, the conditional operator; no optional
//! `?.` syntax), so that the tests evaluate the very expressions this module emits. Every field
//! the request or the pod may omit is guarded by `has()` (Kubernetes fails on a missing field;
//! `request` is the AdmissionRequest converted to unstructured, so an empty `subResource` or
//! `userInfo.username` is absent) and map keys by `in` before indexing (cel-interpreter fails
//! on a missing field too, but gives null for a missing map key, so the tests cannot catch a
//! missing `in`). Every pod rule starts with `variables.binding ||`, so that on a Binding,
//! which has no `spec`, no pod field is read (Kubernetes evaluates variables lazily and
//! `||` absorbs errors; cel-interpreter short-circuits from the left). The planned pools per
//! namespace and the system DaemonSets are map literals in the `variables`, sorted, so the
//! objects are byte-identical across runs.

use super::{POD_POOL_LABEL, POOL_LABEL, POOL_TAINT_KEY};
use crate::model::{Enforcement, Model};
use crate::plan::Plan;
use k8s_openapi::api::admissionregistration::v1::{
    MatchCondition, MatchResources, NamedRuleWithOperations, ValidatingAdmissionPolicy,
    ValidatingAdmissionPolicyBinding, ValidatingAdmissionPolicyBindingSpec,
    ValidatingAdmissionPolicySpec, Validation, Variable,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::{BTreeMap, BTreeSet};

/// Name of the policy and of its binding.
pub const POLICY_NAME: &str = "tierplan-pool-isolation";

/// The annotation the kubelet puts on mirror pods.
const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// The DaemonSet controller's user with `--use-service-account-credentials`, and the
/// controller manager's own, which every controller uses without that flag.
pub const DAEMON_SET_CONTROLLER_USERS: [&str; 2] = [
    "system:serviceaccount:kube-system:daemon-set-controller",
    "system:kube-controller-manager",
];

/// The user kube-scheduler authenticates as: the only one that may bind pods.
pub const SCHEDULER_USER: &str = "system:kube-scheduler";

/// The scheduler the pods may name without being pinned (the API server's default).
const DEFAULT_SCHEDULER: &str = "default-scheduler";

/// Whether the request creates a Binding: through the pod's `binding` subresource or the
/// older namespaced `bindings` resource (both in kube-scheduler's bootstrap role).
const IS_BINDING: &str = "request.resource.resource == 'bindings' || \
    (has(request.subResource) && request.subResource == 'binding')";

/// `validationActions` of the binding for `model`'s Policy.
pub fn validation_actions(model: &Model) -> Vec<String> {
    match model.policy.admission {
        Enforcement::Deny => vec!["Deny".into()],
        Enforcement::Warn => vec!["Warn".into(), "Audit".into()],
    }
}

/// The policy and its binding for `plan`.
pub fn objects(
    model: &Model,
    plan: &Plan,
) -> (ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding) {
    let policy = ValidatingAdmissionPolicy {
        metadata: ObjectMeta {
            name: Some(POLICY_NAME.into()),
            ..Default::default()
        },
        spec: Some(ValidatingAdmissionPolicySpec {
            failure_policy: Some("Fail".into()),
            match_constraints: Some(MatchResources {
                resource_rules: Some(vec![
                    core_rule(&["CREATE", "UPDATE"], &["pods"]),
                    core_rule(&["CREATE"], &["bindings", "pods/binding"]),
                ]),
                ..Default::default()
            }),
            match_conditions: Some(match_conditions()),
            variables: Some(variables(model, plan)),
            validations: Some(validations()),
            ..Default::default()
        }),
        status: None,
    };
    let binding = ValidatingAdmissionPolicyBinding {
        metadata: ObjectMeta {
            name: Some(POLICY_NAME.into()),
            ..Default::default()
        },
        spec: Some(ValidatingAdmissionPolicyBindingSpec {
            policy_name: Some(POLICY_NAME.into()),
            validation_actions: Some(validation_actions(model)),
            ..Default::default()
        }),
    };
    (policy, binding)
}

/// A rule matching `operations` on `resources` of the core API group, v1.
fn core_rule(operations: &[&str], resources: &[&str]) -> NamedRuleWithOperations {
    let strings = |xs: &[&str]| Some(xs.iter().map(|x| x.to_string()).collect());
    NamedRuleWithOperations {
        api_groups: Some(vec![String::new()]),
        api_versions: Some(vec!["v1".into()]),
        operations: strings(operations),
        resources: strings(resources),
        ..Default::default()
    }
}

/// A CEL string literal.
fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' | '\'' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A CEL map literal from strings to lists of strings, in the iteration order of `map`.
fn map_lit(map: &BTreeMap<String, BTreeSet<String>>) -> String {
    let entries: Vec<String> = map
        .iter()
        .map(|(k, vs)| {
            let vs: Vec<String> = vs.iter().map(|v| lit(v)).collect();
            format!("{}: [{}]", lit(k), vs.join(", "))
        })
        .collect();
    format!("{{{}}}", entries.join(", "))
}

/// A CEL map literal from strings to the comma-joined values.
fn joined_map_lit(map: &BTreeMap<String, BTreeSet<String>>) -> String {
    let entries: Vec<String> = map
        .iter()
        .map(|(k, vs)| {
            let vs: Vec<&str> = vs.iter().map(String::as_str).collect();
            format!("{}: {}", lit(k), lit(&vs.join(", ")))
        })
        .collect();
    format!("{{{}}}", entries.join(", "))
}

/// Whether an update changes the optional field at `path` of the pod (present on one side
/// only, or different).
fn changed(path: &str) -> String {
    format!(
        "has(object.{path}) != has(oldObject.{path}) || \
         (has(object.{path}) && object.{path} != oldObject.{path})"
    )
}

fn match_conditions() -> Vec<MatchCondition> {
    vec![
        MatchCondition {
            // A Binding copies its annotations onto its pod, so a Binding is never taken for a
            // mirror pod.
            name: "not-a-mirror-pod".into(),
            expression: format!(
                "{IS_BINDING} || !has(object.metadata.annotations) || \
                 !({} in object.metadata.annotations)",
                lit(MIRROR_ANNOTATION)
            ),
        },
        MatchCondition {
            name: "create-or-placement-change".into(),
            expression: format!(
                "request.operation != 'UPDATE' || {} || {} || {}",
                changed("spec.tolerations"),
                changed("spec.affinity"),
                changed("spec.nodeSelector")
            ),
        },
    ]
}

fn variables(model: &Model, plan: &Plan) -> Vec<Variable> {
    // Namespace → pools hosting its planned workloads.
    let mut tiers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // The platform pool is no tier: its pods are unpinned, held only by the pool taints.
    for pool in plan.pools.iter().filter(|p| !p.platform) {
        for id in &pool.workloads {
            let namespace = match model.workload_index(id) {
                Some(w) => model.workloads[w].namespace.clone(),
                None => id
                    .split_once('/')
                    .map_or("default", |(ns, _)| ns)
                    .to_owned(),
            };
            tiers
                .entry(namespace)
                .or_default()
                .insert(pool.name.clone());
        }
    }
    // The placeholders of `headroom/` run in their own namespace, in the pools they reserve.
    for pool in super::headroom::pools(model, plan) {
        tiers
            .entry(super::headroom::NAMESPACE.to_string())
            .or_default()
            .insert(pool.name.clone());
    }
    // Namespace → system DaemonSet names.
    let mut system: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for ds in &model.policy.system_daemon_sets {
        system
            .entry(ds.namespace.clone())
            .or_default()
            .insert(ds.name.clone());
    }
    let label = lit(POD_POOL_LABEL);
    let pool_label = lit(POOL_LABEL);
    let controllers: Vec<String> = DAEMON_SET_CONTROLLER_USERS.iter().map(|u| lit(u)).collect();
    let var = |name: &str, expression: String| Variable {
        name: name.into(),
        expression,
    };
    vec![
        var("tiers", map_lit(&tiers)),
        // The same as one string per namespace, for messages (`join` is a Kubernetes string
        // extension that cel-interpreter lacks).
        var("tierPools", joined_map_lit(&tiers)),
        var("systemDaemonSets", map_lit(&system)),
        var("binding", IS_BINDING.into()),
        var(
            "user",
            "has(request.userInfo.username) ? request.userInfo.username : ''".into(),
        ),
        var(
            "tolerations",
            "has(object.spec.tolerations) ? object.spec.tolerations : []".into(),
        ),
        var(
            "pool",
            format!(
                "has(object.metadata.labels) && {label} in object.metadata.labels \
                 ? object.metadata.labels[{label}] : ''"
            ),
        ),
        // Created by the DaemonSet controller (who writes the ownerReference) for a listed
        // DaemonSet of this namespace.
        var(
            "system",
            format!(
                "variables.user in [{}] && \
                 request.namespace in variables.systemDaemonSets && \
                 has(object.metadata.ownerReferences) && \
                 object.metadata.ownerReferences.exists(r, \
                 r.kind == 'DaemonSet' && r.apiVersion.startsWith('apps/') && \
                 has(r.controller) && r.controller && \
                 r.name in variables.systemDaemonSets[request.namespace])",
                controllers.join(", ")
            ),
        ),
        var(
            "pinned",
            format!(
                "variables.pool != '' && (\
                 (has(object.spec.nodeSelector) && {pool_label} in object.spec.nodeSelector && \
                 object.spec.nodeSelector[{pool_label}] == variables.pool) || \
                 (has(object.spec.affinity) && has(object.spec.affinity.nodeAffinity) && \
                 has(object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution) && \
                 size(object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms) > 0 && \
                 object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.all(term, \
                 has(term.matchExpressions) && \
                 term.matchExpressions.exists(e, e.key == {pool_label} && e.operator == 'In' && \
                 has(e.values) && size(e.values) == 1 && e.values[0] == variables.pool))))"
            ),
        ),
    ]
}

fn validations() -> Vec<Validation> {
    let key = lit(POOL_TAINT_KEY);
    let taint = POOL_TAINT_KEY;
    let pod_label = POD_POOL_LABEL;
    let node_label = POOL_LABEL;
    let own = format!(
        "{{key: {taint}, operator: Equal, value: <pool>, effect: NoSchedule}} for the pool in \
         its {pod_label} label"
    );
    // Every pod rule holds for a Binding, which has no pod fields to read (rule 8 is its own).
    let check = |expression: String, message: String| Validation {
        expression: format!("variables.binding || {expression}"),
        message_expression: Some(message),
        reason: Some("Forbidden".into()),
        ..Default::default()
    };
    vec![
        Validation {
            expression: format!(
                "!variables.binding || variables.user == {}",
                lit(SCHEDULER_USER)
            ),
            message_expression: Some(format!(
                "'tierplan: only the default scheduler ({SCHEDULER_USER}) may bind pods to \
                 nodes, not ' + (variables.user == '' ? 'a user without a name' : variables.user) + \
                 ': a Binding skips the scheduler, and with it the NoSchedule taints that keep \
                 pods off tierplan pools; let kube-scheduler place the pod'"
            )),
            reason: Some("Forbidden".into()),
            ..Default::default()
        },
        check(
            "variables.system || \
             !variables.tolerations.exists(t, !has(t.key) || t.key == '')"
                .into(),
            format!(
                "'tierplan: this pod has a toleration without a key, which tolerates every \
                 taint and so lets it onto the nodes of every tierplan pool; remove it and \
                 tolerate only its own pool taint {own} (only the systemDaemonSets of the \
                 tierplan Policy may tolerate everything)'"
            ),
        ),
        check(
            format!(
                "variables.system || !variables.tolerations.exists(t, has(t.key) && \
                 t.key == {key} && has(t.operator) && t.operator == 'Exists')"
            ),
            format!(
                "'tierplan: this pod tolerates the taint {taint} with operator Exists, which \
                 tolerates every tierplan pool; use {own}'"
            ),
        ),
        check(
            format!(
                "variables.system || variables.tolerations.all(t, !has(t.key) || \
                 t.key != {key} || (has(t.operator) && t.operator == 'Exists') || \
                 (variables.pool != '' && has(t.value) && t.value == variables.pool))"
            ),
            format!(
                "variables.pool == '' ? \
                 'tierplan: this pod tolerates the taint {taint} of a tierplan pool but has no \
                 {pod_label} label; remove the toleration, or if it belongs to a planned \
                 workload, label it with its pool and pin it as the workload patches of \
                 tierplan do' : \
                 'tierplan: this pod is labelled {pod_label}=' + variables.pool + \
                 ' but tolerates the taint {taint} of another pool; keep only the toleration \
                 with value ' + variables.pool"
            ),
        ),
        check(
            "variables.system || variables.pool == '' || \
             (request.namespace in variables.tiers && \
             variables.pool in variables.tiers[request.namespace])"
                .into(),
            format!(
                "'tierplan: this pod is labelled {pod_label}=' + variables.pool + ' but the \
                 plan puts no workload of namespace ' + request.namespace + ' in that pool; \
                 use the pool tierplan planned for this workload' + \
                 (request.namespace in variables.tierPools ? ' (one of: ' + \
                 variables.tierPools[request.namespace] + ')' : \
                 ', or remove the label if the workload is not planned')"
            ),
        ),
        check(
            "variables.system || variables.pool == '' || variables.pinned".into(),
            format!(
                "'tierplan: this pod is labelled {pod_label}=' + variables.pool + ' but is \
                 not pinned to that pool; give it required node affinity in which every \
                 nodeSelectorTerm has the expression {{key: {node_label}, operator: In, \
                 values: [' + variables.pool + ']}} (or set nodeSelector {node_label}: ' + \
                 variables.pool + ')'"
            ),
        ),
        check(
            "variables.system || variables.pinned || request.operation != 'CREATE' || \
             !has(object.spec.nodeName) || object.spec.nodeName == ''"
                .into(),
            "'tierplan: this pod sets spec.nodeName, which bypasses the scheduler and with \
             it the NoSchedule taints that keep pods off tierplan pools; let the scheduler \
             place it (remove spec.nodeName, use node affinity instead)'"
                .into(),
        ),
        check(
            format!(
                "variables.system || variables.pinned || request.operation != 'CREATE' || \
                 !has(object.spec.schedulerName) || object.spec.schedulerName == {}",
                lit(DEFAULT_SCHEDULER)
            ),
            format!(
                "'tierplan: this pod names the scheduler ' + object.spec.schedulerName + ', \
                 which may ignore the NoSchedule taints that keep pods off tierplan pools (the \
                 kubelet checks only NoExecute taints); remove spec.schedulerName to use \
                 {DEFAULT_SCHEDULER}, or label and pin the pod to its pool as the workload \
                 patches of tierplan do'"
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::lit;
    use cel_interpreter::{Context, Program, Value};

    #[test]
    fn string_literals_round_trip_through_cel() {
        for s in ["", "pool-1", "it's", "back\\slash", "a'b\\c'"] {
            let program = Program::compile(&lit(s)).expect("parses");
            let value = program.execute(&Context::default()).expect("evaluates");
            assert_eq!(value, Value::String(s.to_string().into()), "{}", lit(s));
        }
    }
}
