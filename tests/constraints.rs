//! Issue 17: constraints already in the manifests are honoured. A workload's tolerations
//! decide which tainted inventory nodes it may use, its required node affinity which labels,
//! and the emitted patch keeps both when `kubectl kustomize` layers it onto the workload's
//! own manifest.

use serde::Deserialize;
use std::path::Path;
use std::process::{Command, Output};

fn tierplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args(args)
        .output()
        .expect("tierplan runs")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const NODES: &str = "
apiVersion: tierplan/v1alpha1
kind: Policy
metadata: {name: p}
spec: {systemDaemonSets: [{name: cni, namespace: kube-system, resources: {cpu: 10m}}]}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: n-gpu, labels: {gpu: a100, topology.kubernetes.io/zone: a}}
spec: {allocatable: {cpu: '8', memory: 32Gi, pods: '110'}, cost: 2, taints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: n-plain, labels: {topology.kubernetes.io/zone: a}}
spec: {allocatable: {cpu: '8', memory: 32Gi, pods: '110'}, cost: 1}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: n-cordoned, labels: {topology.kubernetes.io/zone: a}}
spec: {allocatable: {cpu: '8', memory: 32Gi, pods: '110'}, cost: 0.5, unschedulable: true}
";

/// A workload that needs a GPU node (required node affinity), with or without the
/// toleration of the GPU nodes' taint.
fn trainer(name: &str, tolerates: bool) -> String {
    let toleration = if tolerates {
        ", tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]"
    } else {
        ""
    };
    format!(
        "---\napiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {{name: {name}, namespace: ml}}\nspec: {{sensitivity: internal, resources: {{cpu: '1', memory: 1Gi}}, nodeAffinity: [{{matchExpressions: [{{key: gpu, operator: In, values: [a100, h100]}}]}}]{toleration}}}\n"
    )
}

const WEB: &str = "---\napiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {name: web, namespace: shop}\nspec: {sensitivity: public, replicas: 2, resources: {cpu: '1', memory: 1Gi}}\n";

fn write_input(dir: &Path, workloads: &str) -> String {
    let file = dir.join("input.yaml");
    std::fs::write(&file, format!("{NODES}{workloads}")).unwrap();
    file.display().to_string()
}

fn plan_json(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("plan.json")).unwrap()).unwrap()
}

fn nodes_of(plan: &serde_json::Value, workload: &str) -> Vec<String> {
    plan["placements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["workload"] == workload)
        .map(|p| p["node"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_toleration_lets_a_workload_onto_a_tainted_node_and_its_absence_keeps_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path(), &format!("{}{WEB}", trainer("trainer", true)));
    let out = dir.path().join("out");
    let run = tierplan(&["plan", &input, "--out", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let plan = plan_json(&out);
    assert_eq!(nodes_of(&plan, "ml/trainer"), ["n-gpu"]);
    // web tolerates neither the GPU taint nor the cordon: the dearer plain node it is.
    assert_eq!(nodes_of(&plan, "shop/web"), ["n-plain", "n-plain"]);
    let check = tierplan(&[
        "check",
        &input,
        "--plan",
        out.join("plan.json").to_str().unwrap(),
        "--manifests",
        out.join("manifests").to_str().unwrap(),
    ]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));

    // The same workload without the toleration: no node admits it, and the reason says why.
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path(), &format!("{}{WEB}", trainer("trainer", false)));
    let out = dir.path().join("out");
    let run = tierplan(&["plan", &input, "--out", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let plan = plan_json(&out);
    assert!(nodes_of(&plan, "ml/trainer").is_empty());
    let reasons = plan["unplaced"][0]["reasons"].to_string();
    assert!(
        reasons.contains(
            "carry the taint nvidia.com/gpu=present:NoSchedule, which it does not tolerate"
        ),
        "{reasons}"
    );
    assert!(
        reasons.contains("match no term of its nodeAffinity (term 0 fails gpu In (a100, h100))"),
        "{reasons}"
    );
}

#[test]
fn a_cordoned_node_takes_only_workloads_tolerating_the_cordon() {
    let dir = tempfile::tempdir().unwrap();
    let cheap = "---\napiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {name: batch, namespace: shop}\nspec: {sensitivity: public, resources: {cpu: '1'}, tolerations: [{key: node.kubernetes.io/unschedulable, operator: Exists, effect: NoSchedule}]}\n";
    let input = write_input(dir.path(), &format!("{WEB}{cheap}"));
    let out = dir.path().join("out");
    let run = tierplan(&["plan", &input, "--out", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let plan = plan_json(&out);
    assert!(!nodes_of(&plan, "shop/web").contains(&"n-cordoned".to_string()));
}

fn kubectl_runs() -> bool {
    let ok = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("TIERPLAN_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "`kubectl` is required (TIERPLAN_REQUIRE_TOOLS=1) but does not run"
        );
        eprintln!("note: `kubectl` not found; skipping");
    }
    ok
}

/// The user's own Deployment, with the toleration and affinity term its Workload declares.
const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: trainer, namespace: ml}
spec:
  selector: {matchLabels: {app: trainer}}
  template:
    metadata: {labels: {app: trainer}}
    spec:
      containers: [{name: main, image: trainer:1}]
      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions: [{key: gpu, operator: In, values: [a100, h100]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: main, image: web:1}]
";

#[test]
fn the_built_deployment_keeps_its_own_toleration_and_affinity_and_gains_the_pools() {
    if !kubectl_runs() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path(), &format!("{}{WEB}", trainer("trainer", true)));
    let out = dir.path().join("out");
    let run = tierplan(&["plan", &input, "--out", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("deployment.yaml"), DEPLOYMENT).unwrap();
    std::fs::write(
        app.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml]\ncomponents: [../out/manifests/workloads]\n",
    )
    .unwrap();
    let built = Command::new("kubectl")
        .arg("kustomize")
        .arg(&app)
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built));
    let yaml = String::from_utf8(built.stdout).unwrap();
    let d = serde_yaml::Deserializer::from_str(&yaml)
        .map(|doc| serde_yaml::Value::deserialize(doc).unwrap())
        .find(|d| d["metadata"]["name"] == "trainer")
        .unwrap();
    let spec = &d["spec"]["template"]["spec"];
    let tolerations = spec["tolerations"].as_sequence().unwrap();
    let pool = plan_json(&out)["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["workloads"].to_string().contains("ml/trainer"))
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    let has = |key: &str, value: Option<&str>| {
        tolerations
            .iter()
            .any(|t| t["key"].as_str() == Some(key) && t["value"].as_str() == value)
    };
    assert!(
        has("nvidia.com/gpu", None),
        "the user's toleration is kept:\n{yaml}"
    );
    assert!(
        has(
            "node-restriction.kubernetes.io/tierplan-pool",
            Some(pool.as_str())
        ),
        "the pool's toleration is added:\n{yaml}"
    );
    let terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"]
        .as_sequence()
        .unwrap();
    assert_eq!(terms.len(), 1, "{yaml}");
    let expressions = serde_yaml::to_string(&terms[0]["matchExpressions"]).unwrap();
    assert!(
        expressions.contains("key: gpu"),
        "the user's term is kept:\n{yaml}"
    );
    assert!(
        expressions.contains("- a100") && expressions.contains("- h100"),
        "{yaml}"
    );
    assert!(
        expressions.contains("key: node-restriction.kubernetes.io/tierplan-pool"),
        "the pool's requirement is ANDed into it:\n{yaml}"
    );
    // The proof reads the built Deployment with the same semantics and still holds.
    let built_file = dir.path().join("built.yaml");
    std::fs::write(&built_file, &yaml).unwrap();
    let check = tierplan(&[
        "check",
        &input,
        "--plan",
        out.join("plan.json").to_str().unwrap(),
        "--manifests",
        out.join("manifests").to_str().unwrap(),
        "--built",
        built_file.to_str().unwrap(),
    ]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
}
