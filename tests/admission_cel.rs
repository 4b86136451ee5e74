//! The admission policy's CEL, evaluated against sample pods with the `cel-interpreter` crate.
//!
//! The harness does what the API server does with a ValidatingAdmissionPolicy: a request is
//! checked only when every match condition holds; the variables are evaluated in order into
//! `variables` (lazily in Kubernetes: a variable that fails, such as a pod field read on a
//! Binding, is an error only where a validation reaches it, so here it is left out of
//! `variables` and a validation that reads it fails the test); the request is denied when a
//! validation is false, with the message its `messageExpression` evaluates to. Sample pods and
//! Bindings go through k8s-openapi's types first, so they have the shape (and the absent
//! fields) of what the API server hands to the policy; `request` has the fields of the
//! AdmissionRequest it converts to unstructured (`filter.go` in k8s.io/apiserver
//! `pkg/admission/plugin/cel`), an empty `subResource` or username left out as `omitempty`
//! leaves it.

use cel_interpreter::{Context, Program, Value};
use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::core::v1::{Binding, Pod};
use serde::Deserialize;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::sync::OnceLock;
use tierplan::emit::admission::{self, DAEMON_SET_CONTROLLER_USERS, SCHEDULER_USER};
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
    - {name: fluent-bit, namespace: logging}
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

fn model_of(input: &str) -> Model {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("input.yaml");
    std::fs::write(&file, input).expect("write input");
    tierplan::model::build_from_paths(&[file]).unwrap_or_else(|e| panic!("{e}"))
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let model = model_of(INPUT);
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
fn planned_pool(id: &str) -> &'static tierplan::plan::Pool {
    let plan = &fixture().plan;
    let pool = plan
        .pools
        .iter()
        .find(|p| p.workloads.iter().any(|w| w == id));
    pool.unwrap_or_else(|| panic!("{id} is in no pool"))
}

/// The name of the pool the plan gives workload `id`.
fn pool_of(id: &str) -> String {
    planned_pool(id).name.clone()
}

/// A node of the pool the plan gives workload `id`.
fn node_of(id: &str) -> String {
    planned_pool(id).nodes[0].clone()
}

fn compile(expression: &str) -> Program {
    Program::compile(expression).unwrap_or_else(|e| panic!("{expression}\ndoes not parse: {e}"))
}

fn try_eval(
    expression: &str,
    bindings: &[(&str, &Value)],
) -> Result<Value, cel_interpreter::ExecutionError> {
    let mut context = Context::default();
    for (name, value) in bindings {
        context.add_variable_from_value(*name, (*value).clone());
    }
    compile(expression).execute(&context)
}

fn eval(expression: &str, bindings: &[(&str, &Value)]) -> Value {
    try_eval(expression, bindings).unwrap_or_else(|e| panic!("{expression}\nfails: {e:?}"))
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

/// A user who may create pods, but is no controller of the cluster.
const USER: &str = "jane";
/// The ReplicaSet controller's user, for pods of Deployments.
const REPLICASET_CONTROLLER: &str = "system:serviceaccount:kube-system:replicaset-controller";
/// The DaemonSet controller's user with `--use-service-account-credentials`.
const DAEMON_SET_CONTROLLER: &str = DAEMON_SET_CONTROLLER_USERS[0];

/// A Binding of pod `name` in `namespace` to `node`.
fn binding(namespace: &str, name: &str, node: &str, annotations: Json) -> Json {
    let body = json!({
        "apiVersion": "v1", "kind": "Binding",
        "metadata": {"namespace": namespace, "name": name, "annotations": annotations},
        "target": {"kind": "Node", "name": node}
    });
    let typed: Binding = serde_json::from_value(body).expect("a valid Binding");
    serde_json::to_value(typed).expect("Bindings serialise")
}

/// The AdmissionRequest for `object` (a Pod, or a Binding through the pod's `binding`
/// subresource) from `user` (an empty one is left out).
fn request(operation: &str, object: &Json, user: &str) -> Json {
    let namespace = object["metadata"]["namespace"].as_str().expect("namespace");
    let mut request = json!({
        "operation": operation,
        "namespace": namespace,
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "userInfo": {"groups": ["system:authenticated"]}
    });
    if !user.is_empty() {
        request["userInfo"]["username"] = json!(user);
    }
    if object["kind"] == "Binding" {
        request["subResource"] = json!("binding");
    }
    request
}

/// What the policy does with a request: `Ok` admits (or does not match), `Err` holds the
/// messages of the failed validations.
fn review(operation: &str, object: &Json, old: Option<&Json>) -> Result<(), Vec<String>> {
    review_by(
        &fixture().policy,
        &request(operation, object, USER),
        object,
        old,
    )
}

fn review_by(
    policy: &ValidatingAdmissionPolicy,
    request: &Json,
    object: &Json,
    old: Option<&Json>,
) -> Result<(), Vec<String>> {
    let spec = policy.spec.as_ref().expect("spec");
    let request = cel(request);
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
        if let Ok(value) = try_eval(&variable.expression, &bindings) {
            variables.insert(variable.name.clone(), value);
        }
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

/// CREATE of `object` by `user`.
fn create_by(user: &str, object: &Json) -> Result<(), Vec<String>> {
    review_by(
        &fixture().policy,
        &request("CREATE", object, user),
        object,
        None,
    )
}

fn admitted(object: &Json) {
    admitted_from(USER, object);
}

fn admitted_from(user: &str, object: &Json) {
    if let Err(messages) = create_by(user, object) {
        panic!("denied to {user}:\n{}\n{object:#}", messages.join("\n"));
    }
}

/// Asserts the pod is denied with a message containing every one of `words`.
fn denied(object: &Json, words: &[&str]) {
    denied_to(USER, object, words);
}

/// Asserts `user` is denied `object` with a message containing every one of `words`.
fn denied_to(user: &str, object: &Json, words: &[&str]) {
    let messages = match create_by(user, object) {
        Ok(()) => panic!("admitted from {user}:\n{object:#}"),
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

/// A pod that claims to belong to DaemonSet `daemon_set` and tolerates every taint, as
/// fluent-bit's DaemonSet does (`output/elasticsearch/fluent-bit-ds.yaml` of
/// fluent/fluent-bit-kubernetes-logging, in `../shared/realworld/fluent-bit/`).
fn system_pod(namespace: &str, daemon_set: &str, controller: bool) -> Json {
    pod(
        namespace,
        json!({
            "metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet",
                "name": daemon_set, "uid": "u", "controller": controller}]},
            "spec": {"tolerations": [
                {"key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"},
                {"operator": "Exists", "effect": "NoExecute"},
                {"operator": "Exists", "effect": "NoSchedule"}
            ]}
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
    let strings = |xs: &[&str]| Some(xs.iter().map(|x| x.to_string()).collect::<Vec<_>>());
    let shape: Vec<_> = rules
        .iter()
        .map(|r| (r.resources.clone(), r.operations.clone()))
        .collect();
    assert_eq!(
        shape,
        [
            (strings(&["pods"]), strings(&["CREATE", "UPDATE"])),
            (strings(&["bindings", "pods/binding"]), strings(&["CREATE"])),
        ]
    );
    let binding = f.binding.spec.as_ref().expect("binding spec");
    assert_eq!(binding.policy_name, f.policy.metadata.name);
    assert_eq!(binding.validation_actions, Some(vec!["Deny".to_string()]));
    // No namespace selector: every namespace is checked.
    assert!(binding.match_resources.is_none());
}

#[test]
fn the_binding_warns_until_system_daemon_sets_are_listed() {
    let unlisted = INPUT.replace(
        "  systemDaemonSets:\n    - {name: kube-proxy}\n    - {name: fluent-bit, namespace: logging}\n",
        "",
    );
    assert_ne!(unlisted, INPUT);
    let actions = |input: &str| {
        let model = model_of(input);
        let (_, binding) = admission::objects(&model, &fixture().plan);
        binding
            .spec
            .and_then(|s| s.validation_actions)
            .expect("actions")
    };
    let warn = ["Warn".to_string(), "Audit".to_string()];
    // The CNI's pods would be denied on every new node: only warn and audit ...
    assert_eq!(actions(&unlisted), warn);
    // ... unless the Policy asks for deny; and a Policy may ask for warn to try it out.
    let deny_unlisted = unlisted.replace("separateBy:", "admission: deny\n  separateBy:");
    assert_eq!(actions(&deny_unlisted), ["Deny".to_string()]);
    let warn_listed = INPUT.replace("separateBy:", "admission: warn\n  separateBy:");
    assert_eq!(actions(&warn_listed), warn);
    assert_eq!(actions(INPUT), ["Deny".to_string()]);
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
fn system_daemon_set_pods_made_by_the_daemon_set_controller_are_admitted() {
    // With --use-service-account-credentials, and with the controller manager's own
    // credentials for every controller.
    for user in DAEMON_SET_CONTROLLER_USERS {
        admitted_from(user, &system_pod("kube-system", "kube-proxy", true));
        admitted_from(user, &system_pod("logging", "fluent-bit", true));
    }
}

#[test]
fn a_forged_owner_reference_is_no_system_daemon_set() {
    // The attack of issue 12: a pod in `logging` that claims fluent-bit as its controller,
    // tolerates every taint and names a node of the restricted pool.
    let restricted = node_of("pay/payroll");
    let mut forged = system_pod("logging", "fluent-bit", true);
    forged["spec"]["nodeName"] = json!(restricted);
    for user in [
        USER,
        REPLICASET_CONTROLLER,
        "system:serviceaccount:logging:fluent-bit",
        "",
    ] {
        denied_to(user, &forged, &["without a key"]);
        denied_to(user, &forged, &["spec.nodeName"]);
    }
    // The same pod made by the DaemonSet controller is fluent-bit's own.
    admitted_from(DAEMON_SET_CONTROLLER, &forged);
}

#[test]
fn the_daemon_set_controller_makes_no_exception_for_other_daemon_sets() {
    let others = [
        // The right name in the wrong namespace.
        ("shop", "kube-proxy", true),
        ("kube-system", "fluent-bit", true),
        // A DaemonSet the Policy does not list.
        ("logging", "falco", true),
        // An owner that is not the controller.
        ("kube-system", "kube-proxy", false),
    ];
    for user in DAEMON_SET_CONTROLLER_USERS {
        for (namespace, daemon_set, controller) in others {
            let p = system_pod(namespace, daemon_set, controller);
            denied_to(user, &p, &["without a key"]);
        }
    }
}

#[test]
fn only_the_default_scheduler_binds_pods() {
    let restricted = node_of("pay/payroll");
    let b = binding("shop", "web-1", &restricted, json!({}));
    admitted_from(SCHEDULER_USER, &b);
    for user in [
        USER,
        DAEMON_SET_CONTROLLER,
        "system:kube-controller-manager",
        "",
    ] {
        denied_to(user, &b, &["only the default scheduler", "Binding"]);
    }
    // The older `bindings` resource is the same request.
    let mut older = request("CREATE", &b, USER);
    older["resource"]["resource"] = json!("bindings");
    older.as_object_mut().unwrap().remove("subResource");
    let messages = review_by(&fixture().policy, &older, &b, None).expect_err("denied");
    assert!(messages[0].contains("not jane"), "{messages:?}");
    // A Binding copies its annotations onto the pod, but is no mirror pod.
    let mirror = binding(
        "shop",
        "web-1",
        &restricted,
        json!({"kubernetes.io/config.mirror": "x"}),
    );
    denied(&mirror, &["only the default scheduler"]);
    admitted_from(SCHEDULER_USER, &mirror);
}

#[test]
fn another_scheduler_is_refused_to_unpinned_pods_only() {
    let other = |p: &mut Json| p["spec"]["schedulerName"] = json!("my-scheduler");
    let mut unpinned = pod("elsewhere", json!({"spec": {}}));
    other(&mut unpinned);
    denied(&pod("elsewhere", unpinned), &["my-scheduler", "NoExecute"]);
    // kube-scheduler by name is the default.
    admitted(&pod(
        "elsewhere",
        json!({"spec": {"schedulerName": "default-scheduler"}}),
    ));
    // A pinned pod stays in its pool whoever binds it: the kubelet checks its node affinity.
    admitted(&web_pod_with(other));
    // A system DaemonSet's pods are the DaemonSet's own business.
    let mut agent = system_pod("logging", "fluent-bit", true);
    other(&mut agent);
    admitted_from(DAEMON_SET_CONTROLLER, &pod("logging", agent));
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
    let by = |user: &str, object: &Json| {
        review_by(&policy, &request("CREATE", object, user), object, None)
    };
    let create = |object: &Json| by(USER, object);
    assert_eq!(create(&pod("shop", json!({"spec": {}}))), Ok(()));
    assert!(by(
        DAEMON_SET_CONTROLLER,
        &system_pod("kube-system", "kube-proxy", true)
    )
    .is_err());
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
    let mut checked = Vec::new();
    for (path, text) in &files {
        if !path.starts_with("workloads/") || path.ends_with("kustomization.yaml") {
            continue;
        }
        // A file per namespace, a patch per workload.
        for doc in serde_yaml::Deserializer::from_str(text) {
            let patch = Json::deserialize(doc).expect("a patch");
            let p = pod_from_patch(&patch);
            // Each pod as its controller creates it; a planned DaemonSet workload is no system
            // DaemonSet, so its pods must be pinned although the DaemonSet controller makes them.
            let user = match patch["kind"].as_str() {
                Some("DaemonSet") => DAEMON_SET_CONTROLLER,
                _ => REPLICASET_CONTROLLER,
            };
            if let Err(messages) = create_by(user, &p) {
                panic!("{path}: denied:\n{}\n{p:#}", messages.join("\n"));
            }
            let id = format!(
                "{}/{}",
                patch["metadata"]["namespace"], patch["metadata"]["name"]
            );
            checked.push(id.replace('"', ""));
        }
    }
    for w in &f.model.workloads {
        assert!(
            checked.contains(&w.id),
            "{} has no patch: {checked:?}",
            w.id
        );
    }
}

/// A catalog plan with headroom: the policy admits the pods of each pool's placeholder
/// Deployment (`headroom/`, created by the ReplicaSet controller in their namespace) and
/// denies them in another pool.
#[test]
fn headroom_placeholders_are_admitted_in_their_own_pool_only() {
    let model = model_of(
        r#"
apiVersion: tierplan/v1alpha1
kind: Policy
metadata: {name: p}
spec:
  separateBy: [sensitivity]
  headroom: {nodeFailures: 1}
  systemDaemonSets: [{name: kube-proxy}]
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
kind: NodeType
metadata: {name: m7i.large}
spec: {capacity: {cpu: 2, memory: 8Gi}, allocatable: {cpu: 1930m, memory: 7Gi}, zones: [a]}
"#,
    );
    let plan = tierplan::solve::solve(&model, &Default::default()).plan;
    let files = tierplan::emit::manifests(&model, &plan).expect("manifests");
    let (policy, _) = admission::objects(&model, &plan);
    let pools: Vec<&str> = plan.pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(pools.len(), 2, "{plan:?}");
    for (i, pool) in pools.iter().enumerate() {
        let text = &files
            .iter()
            .find(|(path, _)| path == &format!("headroom/{pool}.yaml"))
            .unwrap_or_else(|| panic!("no placeholder for {pool}"))
            .1;
        let deployment: k8s_openapi::api::apps::v1::Deployment =
            serde_yaml::from_str(text).unwrap();
        let template = deployment.spec.unwrap().template;
        let placeholder = pod(
            tierplan::emit::headroom::NAMESPACE,
            json!({"metadata": template.metadata, "spec": template.spec}),
        );
        let create = |object: &Json| {
            review_by(
                &policy,
                &request("CREATE", object, REPLICASET_CONTROLLER),
                object,
                None,
            )
        };
        assert_eq!(create(&placeholder), Ok(()), "{placeholder:#}");
        // The same pod claiming the other pool, whose taint it does not tolerate, is denied.
        let mut elsewhere = placeholder.clone();
        elsewhere["metadata"]["labels"][POD_POOL_LABEL] = json!(pools[1 - i]);
        assert!(create(&elsewhere).is_err(), "{elsewhere:#}");
    }
}
