//! The admission policy's CEL, evaluated against sample pods with the `cel-interpreter` crate.
//!
//! The harness does what the API server does with a ValidatingAdmissionPolicy: a pod is
//! checked only when every match condition holds; the variables are evaluated in order into
//! `variables`; the pod is denied when a validation is false, with the message its
//! `messageExpression` evaluates to. Sample pods go through k8s-openapi's `Pod` first, so they
//! have the shape (and the absent fields) of what the API server hands to the policy.

use cel_interpreter::{Context, Program, Value};
use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::sync::OnceLock;
use tierplan::emit::admission;
use tierplan::emit::{POD_POOL_LABEL, POOL_LABEL, POOL_TAINT_KEY};
use tierplan::model::Model;
use tierplan::plan::Plan;

const INPUT: &str = r#"
apiVersion: tierplan/v1alpha1
kind: Policy
metadata: {name: p}
spec:
  separateBy: [sensitivity]
  systemDaemonSets:
    - {name: kube-proxy}
    - {name: node-agent, namespace: monitoring}
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {name: web, namespace: shop}
spec: {sensitivity: public, resources: {cpu: 1}}
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {name: db, namespace: shop}
spec: {sensitivity: confidential, resources: {cpu: 1}}
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {name: payroll, namespace: pay}
spec: {sensitivity: restricted, resources: {cpu: 1}, controller: DaemonSet}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: n1}
spec: {allocatable: {cpu: 4, memory: 16Gi}}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: n2}
spec: {allocatable: {cpu: 4, memory: 16Gi}}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: n3}
spec: {allocatable: {cpu: 4, memory: 16Gi}}
"#;

struct Fixture {
    model: Model,
    plan: Plan,
    policy: ValidatingAdmissionPolicy,
    binding: ValidatingAdmissionPolicyBinding,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("input.yaml");
        std::fs::write(&file, INPUT).expect("write input");
        let model = tierplan::model::build_from_paths(&[file]).unwrap_or_else(|e| panic!("{e}"));
        let plan = tierplan::solve::solve(&model, &Default::default()).plan;
        assert_eq!(plan.pools.len(), 3, "one pool per sensitivity: {plan:?}");
        let (policy, binding) = admission::objects(&model, &plan);
        Fixture {
            model,
            plan,
            policy,
            binding,
        }
    })
}

/// The pool the plan gives workload `id`.
fn pool_of(id: &str) -> String {
    let plan = &fixture().plan;
    let pool = plan
        .pools
        .iter()
        .find(|p| p.workloads.iter().any(|w| w == id));
    pool.unwrap_or_else(|| panic!("{id} is in no pool"))
        .name
        .clone()
}

fn compile(expression: &str) -> Program {
    Program::compile(expression).unwrap_or_else(|e| panic!("{expression}\ndoes not parse: {e}"))
}

fn eval(expression: &str, bindings: &[(&str, &Value)]) -> Value {
    let mut context = Context::default();
    for (name, value) in bindings {
        context.add_variable_from_value(*name, (*value).clone());
    }
    compile(expression)
        .execute(&context)
        .unwrap_or_else(|e| panic!("{expression}\nfails: {e:?}"))
}

fn cel(json: &Json) -> Value {
    cel_interpreter::to_value(json).expect("JSON converts to CEL")
}

/// A pod as the API server hands it over: through the typed `Pod`, so unknown or misspelt
/// fields do not survive and absent ones stay absent.
fn pod(namespace: &str, body: Json) -> Json {
    let mut body = body;
    body["apiVersion"] = json!("v1");
    body["kind"] = json!("Pod");
    body["metadata"]["namespace"] = json!(namespace);
    if body["metadata"].get("name").is_none() {
        body["metadata"]["name"] = json!("p");
    }
    if body["spec"].get("containers").is_none() {
        body["spec"]["containers"] = json!([{"name": "c", "image": "busybox"}]);
    }
    let typed: Pod = serde_json::from_value(body).expect("a valid Pod");
    serde_json::to_value(typed).expect("Pods serialise")
}

/// What the policy does with a request: `Ok` admits (or does not match), `Err` holds the
/// messages of the failed validations.
fn review(operation: &str, object: &Json, old: Option<&Json>) -> Result<(), Vec<String>> {
    review_by(&fixture().policy, operation, object, old)
}

fn review_by(
    policy: &ValidatingAdmissionPolicy,
    operation: &str,
    object: &Json,
    old: Option<&Json>,
) -> Result<(), Vec<String>> {
    let spec = policy.spec.as_ref().expect("spec");
    let namespace = object["metadata"]["namespace"].as_str().expect("namespace");
    let request = cel(&json!({"operation": operation, "namespace": namespace}));
    let object = cel(object);
    let old = old.map_or(Value::Null, cel);
    let base = [
        ("request", &request),
        ("object", &object),
        ("oldObject", &old),
    ];
    for condition in spec.match_conditions.as_deref().unwrap_or_default() {
        match eval(&condition.expression, &base) {
            Value::Bool(true) => {}
            Value::Bool(false) => return Ok(()),
            v => panic!("match condition {} gave {v:?}", condition.name),
        }
    }
    let mut variables: HashMap<String, Value> = HashMap::new();
    for variable in spec.variables.as_deref().unwrap_or_default() {
        let so_far = Value::from(variables.clone());
        let mut bindings = base.to_vec();
        bindings.push(("variables", &so_far));
        let value = eval(&variable.expression, &bindings);
        variables.insert(variable.name.clone(), value);
    }
    let variables = Value::from(variables);
    let mut bindings = base.to_vec();
    bindings.push(("variables", &variables));
    let mut denied = Vec::new();
    for validation in spec.validations.as_deref().unwrap_or_default() {
        match eval(&validation.expression, &bindings) {
            Value::Bool(true) => {}
            Value::Bool(false) => {
                let message = validation
                    .message_expression
                    .as_deref()
                    .expect("every validation has a messageExpression");
                match eval(message, &bindings) {
                    Value::String(s) => denied.push(s.to_string()),
                    v => panic!("message {message} gave {v:?}"),
                }
            }
            v => panic!("validation {} gave {v:?}", validation.expression),
        }
    }
    if denied.is_empty() {
        Ok(())
    } else {
        Err(denied)
    }
}

fn create(object: &Json) -> Result<(), Vec<String>> {
    review("CREATE", object, None)
}

fn admitted(object: &Json) {
    if let Err(messages) = create(object) {
        panic!("denied:\n{}\n{object:#}", messages.join("\n"));
    }
}

/// Asserts the pod is denied with a message containing every one of `words`.
fn denied(object: &Json, words: &[&str]) {
    let messages = match create(object) {
        Ok(()) => panic!("admitted:\n{object:#}"),
        Err(m) => m,
    };
    assert!(
        messages.iter().any(|m| words.iter().all(|w| m.contains(w))),
        "no message mentions {words:?}: {messages:#?}"
    );
    for m in &messages {
        assert!(m.starts_with("tierplan: "), "{m}");
    }
}

fn toleration(pool: &str) -> Json {
    json!({"key": POOL_TAINT_KEY, "operator": "Equal", "value": pool, "effect": "NoSchedule"})
}

fn pool_term(pool: &str) -> Json {
    json!({"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": [pool]}]})
}

fn affinity(terms: Json) -> Json {
    json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}})
}

/// A pod of workload `shop/web` exactly as its patch pins it.
fn web_pod() -> Json {
    let pool = pool_of("shop/web");
    pod(
        "shop",
        json!({
            "metadata": {"labels": {POD_POOL_LABEL: pool, "app": "web"}},
            "spec": {"tolerations": [toleration(&pool)], "affinity": affinity(json!([pool_term(&pool)]))}
        }),
    )
}

/// `web_pod` with `f` applied to its JSON.
fn web_pod_with(f: impl FnOnce(&mut Json)) -> Json {
    let mut p = web_pod();
    f(&mut p);
    pod("shop", p)
}

fn system_pod(namespace: &str, daemon_set: &str, controller: bool) -> Json {
    pod(
        namespace,
        json!({
            "metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet",
                "name": daemon_set, "uid": "u", "controller": controller}]},
            "spec": {"tolerations": [{"operator": "Exists"}]}
        }),
    )
}

#[test]
fn every_expression_parses() {
    let spec = fixture().policy.spec.as_ref().expect("spec");
    let conditions = spec.match_conditions.as_deref().unwrap_or_default();
    let variables = spec.variables.as_deref().unwrap_or_default();
    let validations = spec.validations.as_deref().unwrap_or_default();
    assert!(!validations.is_empty());
    for e in conditions.iter().map(|c| &c.expression) {
        compile(e);
    }
    for e in variables.iter().map(|v| &v.expression) {
        compile(e);
    }
    for v in validations {
        compile(&v.expression);
        compile(v.message_expression.as_deref().expect("messageExpression"));
    }
}

#[test]
fn policy_and_binding_shape() {
    let f = fixture();
    let spec = f.policy.spec.as_ref().expect("spec");
    assert_eq!(spec.failure_policy.as_deref(), Some("Fail"));
    let rules = spec
        .match_constraints
        .as_ref()
        .and_then(|m| m.resource_rules.clone())
        .expect("resource rules");
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].resources, Some(vec!["pods".to_string()]));
    assert_eq!(
        rules[0].operations,
        Some(vec!["CREATE".to_string(), "UPDATE".to_string()])
    );
    let binding = f.binding.spec.as_ref().expect("binding spec");
    assert_eq!(binding.policy_name, f.policy.metadata.name);
    assert_eq!(binding.validation_actions, Some(vec!["Deny".to_string()]));
    // No namespace selector: every namespace is checked.
    assert!(binding.match_resources.is_none());
}

#[test]
fn emitted_objects_are_deterministic() {
    let f = fixture();
    let yaml = |m: &Model, p: &Plan| {
        let (policy, binding) = admission::objects(m, p);
        (
            serde_yaml::to_string(&policy).expect("yaml"),
            serde_yaml::to_string(&binding).expect("yaml"),
        )
    };
    let first = yaml(&f.model, &f.plan);
    // Pools and their workloads listed in another order give the same bytes.
    let mut shuffled = f.plan.clone();
    shuffled.pools.reverse();
    for pool in &mut shuffled.pools {
        pool.workloads.reverse();
    }
    assert_eq!(first, yaml(&f.model, &shuffled));
    assert_eq!(first, yaml(&f.model, &f.plan));
}

#[test]
fn correctly_pinned_pod_is_admitted() {
    admitted(&web_pod());
}

#[test]
fn pod_without_affinity_is_denied() {
    let p = web_pod_with(|p| {
        p["spec"].as_object_mut().unwrap().remove("affinity");
    });
    denied(&p, &["not pinned", POOL_LABEL]);
}

#[test]
fn extra_ored_term_without_the_pool_requirement_is_denied() {
    let pool = pool_of("shop/web");
    let p = web_pod_with(|p| {
        p["spec"]["affinity"] = affinity(json!([
            pool_term(&pool),
            {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}
        ]));
    });
    denied(&p, &["not pinned"]);
}

#[test]
fn requirement_listing_more_than_the_pool_is_denied() {
    let pool = pool_of("shop/web");
    let other = pool_of("shop/db");
    let p = web_pod_with(|p| {
        p["spec"]["affinity"] = affinity(json!([
            {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": [pool, other]}]}
        ]));
    });
    denied(&p, &["not pinned"]);
}

#[test]
fn pool_requirement_anded_with_others_is_admitted() {
    let pool = pool_of("shop/web");
    let p = web_pod_with(|p| {
        p["spec"]["affinity"] = affinity(json!([
            {"matchExpressions": [
                {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                {"key": POOL_LABEL, "operator": "In", "values": [pool]}
            ]},
            pool_term(&pool)
        ]));
    });
    admitted(&p);
}

#[test]
fn tolerating_another_pool_is_denied() {
    let other = pool_of("shop/db");
    let p = web_pod_with(|p| {
        p["spec"]["tolerations"]
            .as_array_mut()
            .unwrap()
            .push(toleration(&other));
    });
    denied(&p, &["another pool", &pool_of("shop/web")]);
}

#[test]
fn wildcard_toleration_is_denied() {
    let p = web_pod_with(|p| {
        p["spec"]["tolerations"]
            .as_array_mut()
            .unwrap()
            .push(json!({"operator": "Exists"}));
    });
    denied(&p, &["without a key", "every"]);
    // Also in a namespace without planned workloads, and with an effect.
    let p = pod(
        "elsewhere",
        json!({"spec": {"tolerations": [{"operator": "Exists", "effect": "NoSchedule"}]}}),
    );
    denied(&p, &["without a key"]);
}

#[test]
fn exists_on_the_pool_taint_key_is_denied() {
    let p = web_pod_with(|p| {
        p["spec"]["tolerations"] = json!([{"key": POOL_TAINT_KEY, "operator": "Exists"}]);
    });
    denied(&p, &["operator Exists", POOL_TAINT_KEY]);
}

#[test]
fn effectless_toleration_of_another_pool_is_denied() {
    let other = pool_of("shop/db");
    let p = web_pod_with(|p| {
        p["spec"]["tolerations"] =
            json!([{"key": POOL_TAINT_KEY, "operator": "Equal", "value": other}]);
    });
    denied(&p, &["another pool"]);
    // The operator defaults to Equal.
    let p = web_pod_with(|p| {
        p["spec"]["tolerations"] = json!([{"key": POOL_TAINT_KEY, "value": other}]);
    });
    denied(&p, &["another pool"]);
}

#[test]
fn unlabelled_pod_of_tiered_namespace_tolerating_a_pool_is_denied() {
    let p = pod(
        "shop",
        json!({"spec": {"tolerations": [toleration(&pool_of("shop/db"))]}}),
    );
    denied(&p, &["has no", POD_POOL_LABEL]);
}

#[test]
fn unlabelled_pod_of_tiered_namespace_without_pool_tolerations_is_admitted() {
    admitted(&pod(
        "shop",
        json!({"spec": {"tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]}}),
    ));
}

#[test]
fn pod_claiming_a_pool_not_planned_for_its_namespace_is_denied() {
    // Pinned and tolerating consistently, but to the pool of namespace pay.
    let pool = pool_of("pay/payroll");
    let p = pod(
        "shop",
        json!({
            "metadata": {"labels": {POD_POOL_LABEL: pool}},
            "spec": {"tolerations": [toleration(&pool)], "affinity": affinity(json!([pool_term(&pool)]))}
        }),
    );
    denied(&p, &["no workload of namespace shop", &pool_of("shop/web")]);
    // In a namespace with no planned workload at all.
    let p = pod(
        "elsewhere",
        json!({
            "metadata": {"labels": {POD_POOL_LABEL: pool}},
            "spec": {"tolerations": [toleration(&pool)], "affinity": affinity(json!([pool_term(&pool)]))}
        }),
    );
    denied(
        &p,
        &["no workload of namespace elsewhere", "remove the label"],
    );
}

#[test]
fn system_daemon_set_pod_tolerating_everything_is_admitted() {
    admitted(&system_pod("kube-system", "kube-proxy", true));
    admitted(&system_pod("monitoring", "node-agent", true));
}

#[test]
fn forged_system_daemon_set_pods_are_denied() {
    // The right name in the wrong namespace.
    denied(&system_pod("shop", "kube-proxy", true), &["without a key"]);
    denied(
        &system_pod("kube-system", "node-agent", true),
        &["without a key"],
    );
    // An owner that is not the controller.
    denied(
        &system_pod("kube-system", "kube-proxy", false),
        &["without a key"],
    );
}

#[test]
fn daemon_set_workload_pinned_by_node_selector_is_admitted() {
    // The DaemonSet controller replaces required node affinity with a term on the node's
    // name, so a DaemonSet workload stays pinned through its nodeSelector.
    let pool = pool_of("pay/payroll");
    let p = pod(
        "pay",
        json!({
            "metadata": {"labels": {POD_POOL_LABEL: pool}},
            "spec": {
                "tolerations": [toleration(&pool)],
                "nodeSelector": {POOL_LABEL: pool},
                "affinity": affinity(json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]))
            }
        }),
    );
    admitted(&p);
    let unpinned = pod(
        "pay",
        json!({
            "metadata": {"labels": {POD_POOL_LABEL: pool}},
            "spec": {
                "tolerations": [toleration(&pool)],
                "affinity": affinity(json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]))
            }
        }),
    );
    denied(&unpinned, &["not pinned"]);
}

#[test]
fn pod_of_untiered_namespace_without_tolerations_is_admitted() {
    admitted(&pod("elsewhere", json!({"spec": {}})));
}

#[test]
fn node_name_is_refused_to_unpinned_pods_only() {
    denied(
        &pod("elsewhere", json!({"spec": {"nodeName": "n1"}})),
        &["spec.nodeName"],
    );
    admitted(&web_pod_with(|p| p["spec"]["nodeName"] = json!("n1")));
}

#[test]
fn mirror_pods_are_not_checked() {
    let p = pod(
        "kube-system",
        json!({
            "metadata": {"annotations": {"kubernetes.io/config.mirror": "abc"}},
            "spec": {"nodeName": "n1", "tolerations": [{"operator": "Exists", "effect": "NoExecute"}]}
        }),
    );
    admitted(&p);
}

#[test]
fn updates_are_checked_when_they_change_placement() {
    // A pod that predates the policy and breaks it: unrelated updates still go through.
    let old = pod(
        "elsewhere",
        json!({"spec": {"nodeName": "n1", "tolerations": [{"operator": "Exists"}]}}),
    );
    let mut relabelled = old.clone();
    relabelled["metadata"]["labels"] = json!({"x": "y"});
    relabelled["metadata"]["finalizers"] = json!([]);
    assert_eq!(review("UPDATE", &relabelled, Some(&old)), Ok(()));
    // Adding a toleration is checked, and nodeName (set by the scheduler) is then fine.
    let old = web_pod_with(|p| p["spec"]["nodeName"] = json!("n1"));
    let mut widened = old.clone();
    widened["spec"]["tolerations"]
        .as_array_mut()
        .unwrap()
        .push(toleration(&pool_of("shop/db")));
    let messages = review("UPDATE", &widened, Some(&old)).expect_err("denied");
    assert!(
        messages.iter().all(|m| m.contains("another pool")),
        "{messages:#?}"
    );
    let unrelated = pod("elsewhere", json!({"spec": {"nodeName": "n1"}}));
    let mut tolerating = unrelated.clone();
    tolerating["spec"]["tolerations"] = json!([{"key": "gpu", "operator": "Exists"}]);
    assert_eq!(review("UPDATE", &tolerating, Some(&unrelated)), Ok(()));
}

#[test]
fn plan_without_pools_and_policy_without_system_daemon_sets() {
    let f = fixture();
    let mut model = f.model.clone();
    model.policy.system_daemon_sets.clear();
    let mut plan = f.plan.clone();
    plan.pools.clear();
    let (policy, _) = admission::objects(&model, &plan);
    let create = |object: &Json| review_by(&policy, "CREATE", object, None);
    assert_eq!(create(&pod("shop", json!({"spec": {}}))), Ok(()));
    assert!(create(&system_pod("kube-system", "kube-proxy", true)).is_err());
    let messages = create(&web_pod()).expect_err("no pool is planned for shop");
    assert!(
        messages.iter().any(|m| m.contains("remove the label")),
        "{messages:#?}"
    );
}

/// A pod as a controller makes it from a patched pod template. The DaemonSet controller adds
/// its own tolerations and replaces required node affinity by a term naming the node.
fn pod_from_patch(patch: &Json) -> Json {
    let kind = patch["kind"].as_str().expect("kind");
    let namespace = patch["metadata"]["namespace"].as_str().expect("namespace");
    let name = patch["metadata"]["name"].as_str().expect("name");
    let template = if kind == "CronJob" {
        &patch["spec"]["jobTemplate"]["spec"]["template"]
    } else {
        &patch["spec"]["template"]
    };
    let mut body = json!({"metadata": template.get("metadata").cloned().unwrap_or(json!({})),
        "spec": template["spec"].clone()});
    let (owner_api, owner_kind) = match kind {
        "Deployment" => ("apps/v1", "ReplicaSet"),
        "CronJob" => ("batch/v1", "Job"),
        "Job" => ("batch/v1", "Job"),
        other => ("apps/v1", other),
    };
    body["metadata"]["ownerReferences"] = json!([{"apiVersion": owner_api, "kind": owner_kind,
        "name": name, "uid": "u", "controller": true}]);
    if kind == "DaemonSet" {
        let tolerations = body["spec"]["tolerations"]
            .as_array_mut()
            .expect("tolerations");
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            tolerations.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute"}));
        }
        tolerations.push(
            json!({"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
            "effect": "NoSchedule"}),
        );
        body["spec"]["affinity"] = affinity(json!([{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]));
    }
    pod(namespace, body)
}

#[test]
fn pods_of_the_emitted_workload_patches_are_admitted() {
    let f = fixture();
    let files = tierplan::emit::manifests(&f.model, &f.plan).expect("manifests");
    let mut checked = 0;
    for (path, text) in &files {
        if !path.starts_with("workloads/") || path.ends_with("kustomization.yaml") {
            continue;
        }
        let patch: Json = serde_yaml::from_str(text).expect("a patch");
        let p = pod_from_patch(&patch);
        if let Err(messages) = create(&p) {
            panic!("{path}: denied:\n{}\n{p:#}", messages.join("\n"));
        }
        checked += 1;
    }
    // Three workloads; system DaemonSets keep their own tolerations, without a patch.
    assert_eq!(checked, 3);
}
