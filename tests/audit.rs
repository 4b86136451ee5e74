//! `tierplan audit` end to end, on a recorded cluster dump (tests/data/audit/): a clean
//! cluster passes, a planted mixed-tier node is found and named, and each other rule fires on
//! the fault it is about.
//!
//! Schedulability (escape routes) follows kube-scheduler's filters as
//! k8s.io/component-helpers/scheduling/corev1 defines them (`FindMatchingUntoleratedTaint`,
//! `nodeaffinity.GetRequiredNodeAffinity(pod).Match(node)`), through `sched::filter`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/audit");

fn data(name: &str) -> String {
    format!("{DATA}/{name}")
}

struct Run {
    out: Output,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    #[track_caller]
    fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.out.status.code(),
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            String::from_utf8_lossy(&self.out.stderr)
        );
        self
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout()).expect("JSON output")
    }
}

fn audit(args: &[&str]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .arg("audit")
        .args(args)
        .output()
        .expect("tierplan runs");
    Run { out }
}

/// The recorded cluster with its Policy and Deny-bound admission policy, plus `extra`.
fn cluster(dump: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![data("policy.yaml"), data(dump), data("admission.yaml")];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run(args: &[String], more: &[&str]) -> Run {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend(more);
    audit(&all)
}

/// Findings of `rule` in a JSON report.
fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn object<'a>(finding: &'a Value, kind: &str, name: &str) -> &'a Value {
    finding["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == kind && o["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} not in {finding:#}"))
}

/// A file in a fresh directory.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn a_clean_cluster_passes() {
    let args = cluster("cluster.yaml", &[]);
    let out = run(&args, &["--plan", &data("plan.json")]).expect(0);
    let text = out.stdout();
    assert!(text.contains("no findings"), "{text}");
    assert!(text.contains("admission: enforcing"), "{text}");
    let report = run(&args, &["--plan", &data("plan.json"), "--output", "json"])
        .expect(0)
        .json();
    assert_eq!(report["findings"], Value::Array(vec![]));
    assert_eq!(report["admission"], "enforcing");
    // The Succeeded migration pod on the restricted node is not counted.
    assert_eq!(report["counts"]["pods"], 7);
}

#[test]
fn a_planted_mixed_node_is_found_and_its_pods_named_by_deployment() {
    let args = cluster("cluster-mixed.yaml", &[]);
    let text = run(&args, &[]).expect(1).stdout();
    for needle in [
        "TPA001",
        "node-pub-1",
        "Deployment payments/ledger",
        "ledger-58f9b7c4d5-m4nvs",
        "Deployment shop/web",
        "web-6d4cf56db6-7xk2p",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    let report = run(&args, &["--output", "json"]).expect(1).json();
    let mixed = findings(&report, "mixed-node");
    assert_eq!(mixed.len(), 1, "{report:#}");
    let f = mixed[0];
    assert_eq!(f["node"], "node-pub-1");
    assert_eq!(f["id"], "TPA001");
    assert_eq!(f["severity"], "error");
    assert_eq!(
        f["controls"],
        serde_json::json!(["NIST SP 800-190 §4.3.4", "BSI APP.4.4.A15"])
    );
    let ledger = object(f, "Deployment", "ledger");
    assert_eq!(ledger["namespace"], "payments");
    assert_eq!(
        ledger["pods"],
        serde_json::json!(["ledger-58f9b7c4d5-m4nvs"])
    );
    assert_eq!(ledger["class"], "sensitivity=restricted");
    let web = object(f, "Deployment", "web");
    assert_eq!(web["pods"].as_array().unwrap().len(), 2);
    // kube-proxy (a system DaemonSet) runs there too but does not count.
    assert!(f["objects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["name"] != "kube-proxy"));
    let row = &report["matrix"][0];
    assert_eq!(row["node"], "node-pub-1");
    assert_eq!(row["pods"]["sensitivity=public"], 2);
    assert_eq!(row["pods"]["sensitivity=restricted"], 1);
}

const DEBUG: &str = r#"apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: debug, namespace: shop, uid: d-1}
  spec:
    selector: {matchLabels: {app: debug}}
    template:
      metadata: {labels: {app: debug}}
      spec:
        containers: [{name: debug, image: busybox}]
        tolerations: [TOLERATIONS]
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: debug-7c9d
    namespace: shop
    ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: debug, uid: d-1, controller: true}]
  spec: {selector: {matchLabels: {app: debug}}}
- apiVersion: v1
  kind: Pod
  metadata:
    name: debug-7c9d-k2m4x
    namespace: shop
    labels: {app: debug}
    ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: debug-7c9d, uid: r-1, controller: true}]
  spec:
    nodeName: node-pub-1
    containers: [{name: debug, image: busybox}]
    tolerations: [TOLERATIONS]
  status: {phase: Running}
"#;

#[test]
fn a_pod_that_tolerates_every_pool_taint_has_an_escape_route() {
    let dir = tempfile::tempdir().unwrap();
    // Tolerates the pool taint of every value (`Exists` on its key), without node affinity:
    // ToleratesTaint matches the restricted node's taint, and no term narrows the nodes.
    let tolerations =
        "{key: node-restriction.kubernetes.io/tierplan-pool, operator: Exists, effect: NoSchedule}";
    let file = write(
        dir.path(),
        "debug.yaml",
        &DEBUG.replace("TOLERATIONS", tolerations),
    );
    let report = run(&cluster("cluster.yaml", &[&file]), &["--output", "json"])
        .expect(1)
        .json();
    let escapes = findings(&report, "escape-route");
    assert_eq!(escapes.len(), 1, "{report:#}");
    let f = escapes[0];
    assert_eq!(
        object(f, "Deployment", "debug")["pods"][0],
        "debug-7c9d-k2m4x"
    );
    object(f, "Node", "node-res-1");
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("sensitivity=restricted"));
    // The platform node hosts no tier: reaching it is no escape.
    assert!(!f["message"].as_str().unwrap().contains("node-sys-1"));
    assert!(findings(&report, "wildcard-toleration").is_empty());

    // An `Equal` toleration with the wrong value tolerates nothing of the restricted node.
    let narrow = "{key: node-restriction.kubernetes.io/tierplan-pool, operator: Equal, value: public, effect: NoSchedule}";
    let file = write(
        dir.path(),
        "debug.yaml",
        &DEBUG.replace("TOLERATIONS", narrow),
    );
    run(&cluster("cluster.yaml", &[&file]), &[]).expect(0);
}

#[test]
fn a_wildcard_toleration_outside_system_daemon_sets_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "debug.yaml",
        &DEBUG.replace("TOLERATIONS", "{operator: Exists}"),
    );
    let report = run(&cluster("cluster.yaml", &[&file]), &["--output", "json"])
        .expect(1)
        .json();
    let wild = findings(&report, "wildcard-toleration");
    assert_eq!(wild.len(), 1, "{report:#}");
    object(wild[0], "Deployment", "debug");
    // kube-proxy tolerates every taint too, but the Policy lists it.
    assert!(!report.to_string().contains("\"name\":\"kube-proxy\""));
    // Tolerating everything is also an escape route onto the restricted node.
    assert_eq!(findings(&report, "escape-route").len(), 1);
}

#[test]
fn node_labels_and_taints_that_drift_from_the_plan_are_found_per_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan: Value =
        serde_json::from_str(&std::fs::read_to_string(data("plan.json")).unwrap()).unwrap();
    // The plan moves node-pub-1 to the restricted pool; the cluster was never relabelled.
    for pool in plan["pools"].as_array_mut().unwrap() {
        let name = pool["name"].as_str().unwrap().to_string();
        let nodes = pool["nodes"].as_array_mut().unwrap();
        match name.as_str() {
            "public" => nodes.clear(),
            "restricted" => nodes.insert(0, "node-pub-1".into()),
            _ => {}
        }
    }
    plan["unusedNodes"] = serde_json::json!([]);
    let path = write(dir.path(), "plan.json", &plan.to_string());
    let report = run(
        &cluster("cluster.yaml", &[]),
        &["--plan", &path, "--output", "json"],
    )
    .expect(1)
    .json();
    let drift = findings(&report, "drift");
    assert_eq!(drift.len(), 1, "{report:#}");
    assert_eq!(drift[0]["node"], "node-pub-1");
    let message = drift[0]["message"].as_str().unwrap();
    assert!(
        message.contains("is `public` but the plan gives `restricted`"),
        "{message}"
    );
    assert!(
        message.contains("tierplan-pool=restricted:NoSchedule"),
        "{message}"
    );
    assert_eq!(report["driftChecked"], true);
}

#[test]
fn a_warn_only_binding_is_a_finding_and_no_admission_objects_is_not_checked() {
    let args = vec![
        data("policy.yaml"),
        data("cluster.yaml"),
        data("admission-warn.yaml"),
    ];
    let report = run(&args, &["--output", "json"]).expect(1).json();
    let adm = findings(&report, "admission");
    assert_eq!(adm.len(), 1, "{report:#}");
    assert!(adm[0]["message"]
        .as_str()
        .unwrap()
        .contains("[Warn, Audit]"));
    assert_eq!(report["admission"], "not-enforcing");

    // A dump without admissionregistration objects cannot tell absence: it says so.
    let args = vec![data("policy.yaml"), data("cluster.yaml")];
    let out = run(&args, &[]).expect(0);
    assert!(
        out.stdout().contains("admission: not checked"),
        "{}",
        out.stdout()
    );
}

#[test]
fn an_untiered_pod_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "scratch.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: toolbox, namespace: scratch}\nspec:\n  nodeName: node-sys-1\n  containers: [{name: sh, image: busybox}]\nstatus: {phase: Running}\n",
    );
    let report = run(&cluster("cluster.yaml", &[&file]), &["--output", "json"])
        .expect(1)
        .json();
    let untiered = findings(&report, "untiered-workload");
    assert_eq!(untiered.len(), 1, "{report:#}");
    let pod = object(untiered[0], "Pod", "toolbox");
    assert_eq!(pod["namespace"], "scratch");
    assert!(pod["file"].as_str().unwrap().ends_with("scratch.yaml"));
}

#[test]
fn a_tier_label_a_kubelet_may_set_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let policy = std::fs::read_to_string(data("policy.yaml")).unwrap()
        + "  nodeRequirements:\n  - match: {sensitivity: [restricted]}\n    nodeSelector: {example.com/tier: restricted}\n";
    let policy = write(dir.path(), "policy.yaml", &policy);
    let args = vec![policy, data("cluster.yaml"), data("admission.yaml")];
    let report = run(&args, &["--output", "json"]).expect(1).json();
    let labels = findings(&report, "self-set-tier-label");
    assert_eq!(labels.len(), 1, "{report:#}");
    assert!(labels[0]["message"]
        .as_str()
        .unwrap()
        .contains("`example.com/tier`"));
}

#[test]
fn sarif_output_has_the_required_structure() {
    let report = run(&cluster("cluster-mixed.yaml", &[]), &["--output", "sarif"])
        .expect(1)
        .json();
    assert_eq!(report["version"], "2.1.0");
    assert!(report["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &report["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "tierplan");
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 7);
    for rule in rules {
        assert!(rule["id"].as_str().unwrap().starts_with("TPA"));
        let help = rule["help"]["text"].as_str().unwrap();
        assert!(help.contains("NIST SP 800-190 §4.3.4"), "{help}");
        assert!(help.contains("BSI APP.4.4.A15"), "{help}");
        assert!(rule["shortDescription"]["text"].is_string());
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(r["ruleId"], rules[index]["id"]);
        assert!(["error", "warning", "note", "none"].contains(&r["level"].as_str().unwrap()));
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        let location = &r["locations"][0];
        let names: Vec<&str> = location["logicalLocations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["fullyQualifiedName"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"Node/node-pub-1"), "{names:?}");
        assert!(names.contains(&"payments/Deployment/ledger"), "{names:?}");
        let uri = location["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.ends_with("cluster-mixed.yaml"), "{uri}");
    }
}

#[test]
fn bad_input_exits_2() {
    // Only the Policy: nothing to audit.
    audit(&[&data("policy.yaml")]).expect(2);
    audit(&[&data("policy.yaml"), "/nonexistent/cluster.yaml"]).expect(2);
    let args = cluster("cluster.yaml", &[]);
    run(&args, &["--plan", &data("policy.yaml")]).expect(2);
}

/// Real nodes (an EKS node list, read as published) with two tiers planted on one of them.
#[test]
fn real_nodes_with_two_tiers_on_one_are_mixed() {
    let real = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/realworld/honeycomb-agent-nodes/nodes.json");
    let nodes: Value = serde_json::from_str(&std::fs::read_to_string(&real).unwrap()).unwrap();
    let node = nodes["items"][0]["metadata"]["name"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pods = format!(
        "apiVersion: v1\nkind: List\nitems:\n\
- {{apiVersion: v1, kind: Pod, metadata: {{name: shopfront, namespace: shop, labels: {{tierplan.io/sensitivity: public}}}}, spec: {{nodeName: {node}, containers: [{{name: c, image: x}}]}}, status: {{phase: Running}}}}\n\
- {{apiVersion: v1, kind: Pod, metadata: {{name: vault, namespace: secrets, labels: {{tierplan.io/sensitivity: restricted}}}}, spec: {{nodeName: {node}, containers: [{{name: c, image: x}}]}}, status: {{phase: Running}}}}\n"
    );
    let pods = write(dir.path(), "pods.yaml", &pods);
    let args = [data("policy.yaml"), real.display().to_string(), pods];
    let report = run(&args, &["--output", "json"]).expect(1).json();
    let mixed = findings(&report, "mixed-node");
    assert_eq!(mixed.len(), 1, "{report:#}");
    assert_eq!(mixed[0]["node"], node);
    object(mixed[0], "Pod", "vault");
    object(mixed[0], "Pod", "shopfront");
}
