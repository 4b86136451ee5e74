//! The static proof on hand-written manifest directories: a correct one holds, and each
//! tampered one fails with the failure that names what was broken.

use std::path::Path;
use tierplan::model::Model;
use tierplan::plan::Plan;
use tierplan::sched::{prove, Proof, ProofError, Rule};

const POOL: &str = "node-restriction.kubernetes.io/tierplan-pool";

/// Two pools: `web` (public) on inventory node n1 plus an m5.large bought in zone a, `db`
/// (restricted) on n2 plus an m5.large bought in zone b; n3 is unused; kube-proxy is a
/// system DaemonSet.
const INPUT: &str = r#"
apiVersion: tierplan/v1alpha1
kind: Policy
metadata: {name: p}
spec:
  separateBy: [sensitivity]
  systemDaemonSets: [{name: kube-proxy}]
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {name: web}
spec: {sensitivity: public, resources: {cpu: 1}}
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {name: db}
spec: {sensitivity: restricted, resources: {cpu: 1}}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: n1, labels: {topology.kubernetes.io/zone: a}}
spec: {allocatable: {cpu: 4, pods: 110}}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: n2, labels: {topology.kubernetes.io/zone: a}}
spec: {allocatable: {cpu: 4, pods: 110}}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: n3, labels: {topology.kubernetes.io/zone: a}}
spec: {allocatable: {cpu: 4, pods: 110}}
---
apiVersion: tierplan/v1alpha1
kind: NodeType
metadata: {name: m5.large}
spec: {allocatable: {cpu: 2, pods: 29}, capacity: {cpu: 2}, zones: [a, b]}
"#;

const PLAN: &str = r#"{
  "apiVersion": "tierplan/v1alpha1", "kind": "Plan", "status": "feasible",
  "objective": {"cost": 4.0, "nodes": 4, "lowerBound": 2.0, "gap": 0.5},
  "pools": [
    {"name": "db", "classes": ["sensitivity=restricted"], "workloads": ["default/db"],
     "nodes": ["db-m5.large-1", "n2"], "nodeTypes": [{"type": "m5.large", "zone": "b", "count": 1}]},
    {"name": "web", "classes": ["sensitivity=public"], "workloads": ["default/web"],
     "nodes": ["n1", "web-m5.large-1"], "nodeTypes": [{"type": "m5.large", "zone": "a", "count": 1}]}
  ],
  "placements": [
    {"workload": "default/db", "replica": 0, "node": "n2"},
    {"workload": "default/web", "replica": 0, "node": "web-m5.large-1"}
  ],
  "unplaced": [],
  "unusedNodes": ["n3"]
}"#;

fn node(name: &str, pool: &str, taints: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Node\nmetadata: {{name: {name}, labels: {{{POOL}: {pool}}}}}\nspec: {{taints: [{taints}]}}\n"
    )
}

fn pool_taint(pool: &str, effect: &str) -> String {
    format!("{{key: {POOL}, value: {pool}, effect: {effect}}}")
}

fn toleration(pool: &str) -> String {
    format!("{{key: {POOL}, operator: Equal, value: {pool}, effect: NoSchedule}}")
}

fn affinity(pool: &str) -> String {
    format!(
        "affinity: {{nodeAffinity: {{requiredDuringSchedulingIgnoredDuringExecution: {{nodeSelectorTerms: [{{matchExpressions: [{{key: {POOL}, operator: In, values: [{pool}]}}]}}]}}}}}}"
    )
}

/// A Deployment patch of `default/<name>` with this pod spec (flow-style fields), its pods
/// labelled with pool `<name>` (the pools are named after their one workload).
fn patch(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  template:\n    metadata: {{labels: {{tierplan.io/pool: {name}}}}}\n    spec: {{{spec}}}\n"
    )
}

fn pinned(name: &str, pool: &str) -> String {
    patch(
        name,
        &format!("tolerations: [{}], {}", toleration(pool), affinity(pool)),
    )
}

fn node_pool(pool: &str, zones: &str, taint_effect: &str) -> String {
    format!(
        r#"apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {{name: {pool}}}
spec:
  template:
    metadata: {{labels: {{{POOL}: {pool}}}}}
    spec:
      nodeClassRef: {{group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}}
      taints: [{taint}]
      requirements:
        - {{key: node.kubernetes.io/instance-type, operator: In, values: [m5.large]}}
        - {{key: topology.kubernetes.io/zone, operator: In, values: [{zones}]}}
  limits: {{cpu: 4}}
"#,
        taint = pool_taint(pool, taint_effect)
    )
}

/// The files of a correct manifests directory, by relative path, but for the kustomization
/// files ([`kustomized`] adds them).
fn correct() -> Vec<(String, String)> {
    let (policy, binding) = tierplan::emit::admission::objects(&model(), &plan());
    vec![
        (
            "nodes.yaml".into(),
            format!(
                "{}---\n{}",
                node("n1", "web", &pool_taint("web", "NoSchedule")),
                node("n2", "db", &pool_taint("db", "NoSchedule"))
            ),
        ),
        ("workloads/default.web.yaml".into(), pinned("web", "web")),
        ("workloads/default.db.yaml".into(), pinned("db", "db")),
        (
            "karpenter/web.yaml".into(),
            node_pool("web", "a", "NoSchedule"),
        ),
        (
            "karpenter/db.yaml".into(),
            node_pool("db", "b", "NoSchedule"),
        ),
        (
            "admission/policy.yaml".into(),
            serde_yaml::to_string(&policy).unwrap(),
        ),
        (
            "admission/binding.yaml".into(),
            serde_yaml::to_string(&binding).unwrap(),
        ),
    ]
}

/// `files` with the kustomization files tierplan writes for them: the top-level one lists
/// every file outside `workloads/` as a resource, the Component every patch in it.
fn kustomized(files: &[(String, String)]) -> Vec<(String, String)> {
    let mut resources = String::new();
    let mut patches = String::new();
    for (path, _) in files {
        match path.strip_prefix("workloads/") {
            Some(p) => patches.push_str(&format!("  - path: {p}\n")),
            None => resources.push_str(&format!("  - {path}\n")),
        }
    }
    let mut out = files.to_vec();
    out.push((
        "kustomization.yaml".into(),
        format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{resources}"),
    ));
    out.push((
        "workloads/kustomization.yaml".into(),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n{patches}"
        ),
    ));
    out
}

fn model() -> Model {
    model_from(INPUT)
}

fn model_from(input: &str) -> Model {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("input.yaml");
    std::fs::write(&file, input).unwrap();
    tierplan::model::build_from_paths(&[file]).unwrap_or_else(|e| panic!("{e}"))
}

fn plan() -> Plan {
    serde_json::from_str(PLAN).unwrap()
}

fn write(dir: &Path, files: &[(String, String)]) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Proves `files` with their kustomization files.
fn prove_files(files: &[(String, String)]) -> Result<Proof, ProofError> {
    prove_raw(&kustomized(files))
}

/// Proves exactly `files`.
fn prove_raw(files: &[(String, String)]) -> Result<Proof, ProofError> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), files);
    prove(&model(), &plan(), dir.path())
}

/// `correct()` with the file at `path` replaced (or removed, for `None`).
fn tampered(path: &str, text: Option<String>) -> Proof {
    let mut files = correct();
    files.retain(|(p, _)| p != path);
    if let Some(t) = text {
        files.push((path.into(), t));
    }
    prove_files(&files).unwrap()
}

#[track_caller]
fn assert_fails(proof: &Proof, rule: Rule, workload: &str, node: &str) {
    assert!(!proof.holds(), "{proof}");
    assert!(
        proof
            .failures
            .iter()
            .any(|f| f.rule == rule && f.workload == workload && f.node == node),
        "expected {} for `{workload}` on `{node}` in:\n{proof}",
        rule.code()
    );
}

#[test]
fn correct_manifests_prove_isolation() {
    let proof = prove_files(&correct()).unwrap();
    assert!(proof.holds(), "{proof}");
    // web, db; n1..n3, two bought nodes, one launchable per NodePool.
    assert_eq!(proof.counts.templates, 2);
    assert_eq!(proof.counts.nodes, 7);
    assert_eq!(proof.counts.placements, 2);
    assert_eq!(proof.counts.pairs, 2 * 7);
    assert_eq!(proof.counts.admissions, 2 * 2);
    assert_eq!(proof.exceptions.len(), 1, "{proof}");
    // kube-proxy has no patch: it keeps its own tolerations, taken to tolerate everything.
    let e = &proof.exceptions[0];
    assert_eq!(e.daemon_set, "kube-system/kube-proxy");
    assert_eq!(e.pools, ["db", "web"]);
    assert!(e.assumed);
    // web and db are both in `default`: pod creation there reaches both pools.
    assert_eq!(proof.namespaces.len(), 1);
    assert_eq!(proof.namespaces[0].namespace, "default");
    let text = proof.to_string();
    assert!(text.contains("kube-system/kube-proxy runs on"), "{text}");
    assert!(text.ends_with("HOLDS: no pod template can reach a node outside its pool"));
    assert!(
        text.contains("strategic merge") && text.contains("kubectl kustomize"),
        "assumptions are stated: {text}"
    );
    assert!(
        text.contains("finding: namespace default spans 2 pools"),
        "the namespace boundary is stated: {text}"
    );
}

#[test]
fn a_patch_tolerating_two_pools_fails() {
    let web = patch(
        "web",
        &format!(
            "tolerations: [{}, {}], {}",
            toleration("web"),
            toleration("db"),
            affinity("web")
        ),
    );
    let proof = tampered("workloads/default.web.yaml", Some(web));
    assert_fails(&proof, Rule::AffinityOnly, "default/web", "db-launchable");
    let f = proof
        .failures
        .iter()
        .find(|f| f.rule == Rule::AffinityOnly)
        .unwrap();
    assert_eq!(
        f.nodes, 3,
        "n2, the bought db node and the launchable one: {proof}"
    );
    assert!(f.problem.contains("tolerates the node's taints"), "{proof}");
}

#[test]
fn a_patch_tolerating_and_selecting_another_pool_mixes_tiers() {
    let web = patch(
        "web",
        &format!(
            "tolerations: [{}, {}], affinity: {{nodeAffinity: {{requiredDuringSchedulingIgnoredDuringExecution: {{nodeSelectorTerms: [{{matchExpressions: [{{key: {POOL}, operator: In, values: [web, db]}}]}}]}}}}}}",
            toleration("web"),
            toleration("db"),
        ),
    );
    let proof = tampered("workloads/default.web.yaml", Some(web));
    assert_fails(&proof, Rule::CrossPool, "default/web", "db-launchable");
}

#[test]
fn a_wildcard_toleration_fails() {
    let web = patch(
        "web",
        &format!("tolerations: [{{operator: Exists}}], {}", affinity("web")),
    );
    let proof = tampered("workloads/default.web.yaml", Some(web));
    assert_fails(&proof, Rule::WildcardToleration, "default/web", "");
    assert_fails(&proof, Rule::AffinityOnly, "default/web", "db-launchable");
}

#[test]
fn a_missing_affinity_fails() {
    let web = patch("web", &format!("tolerations: [{}]", toleration("web")));
    let proof = tampered("workloads/default.web.yaml", Some(web));
    assert_fails(&proof, Rule::MissingAffinity, "default/web", "");
    // Unused n3 has no taint, so nothing keeps web's pods off it.
    assert_fails(&proof, Rule::OutsidePools, "default/web", "n3");
}

#[test]
fn only_preferred_affinity_is_soft_isolation() {
    let web = patch(
        "web",
        &format!(
            "tolerations: [{}], affinity: {{nodeAffinity: {{preferredDuringSchedulingIgnoredDuringExecution: [{{weight: 100, preference: {{matchExpressions: [{{key: {POOL}, operator: In, values: [web]}}]}}}}]}}}}",
            toleration("web")
        ),
    );
    let proof = tampered("workloads/default.web.yaml", Some(web));
    assert_fails(&proof, Rule::SoftIsolation, "default/web", "");
}

#[test]
fn a_node_missing_its_taint_fails() {
    let nodes = format!(
        "{}---\n{}",
        node("n1", "web", &pool_taint("web", "NoSchedule")),
        node("n2", "db", "")
    );
    let proof = tampered("nodes.yaml", Some(nodes));
    assert_fails(&proof, Rule::UntaintedPoolNode, "", "n2");
    assert_fails(&proof, Rule::AffinityOnly, "default/web", "n2");
}

#[test]
fn a_node_missing_its_label_fails_its_placement() {
    let nodes = format!(
        "{}---\napiVersion: v1\nkind: Node\nmetadata: {{name: n2}}\nspec: {{taints: [{}]}}\n",
        node("n1", "web", &pool_taint("web", "NoSchedule")),
        pool_taint("db", "NoSchedule")
    );
    let proof = tampered("nodes.yaml", Some(nodes));
    assert_fails(&proof, Rule::Placement, "default/db", "n2");
}

#[test]
fn a_prefer_no_schedule_pool_taint_fails() {
    let nodes = format!(
        "{}---\n{}",
        node("n1", "web", &pool_taint("web", "PreferNoSchedule")),
        node("n2", "db", &pool_taint("db", "NoSchedule"))
    );
    let proof = tampered("nodes.yaml", Some(nodes));
    assert_fails(&proof, Rule::SoftIsolation, "", "n1");
    assert_fails(&proof, Rule::UntaintedPoolNode, "", "n1");

    let proof = tampered(
        "karpenter/db.yaml",
        Some(node_pool("db", "b", "PreferNoSchedule")),
    );
    assert!(
        proof
            .failures
            .iter()
            .any(|f| f.rule == Rule::SoftIsolation && f.problem.contains("NodePool")),
        "{proof}"
    );
}

#[test]
fn two_node_pools_admitting_the_same_type_and_zone_fail() {
    // NodePools that share instance types and zones are still exclusive when their labels
    // tell their nodes apart ...
    let proof = tampered(
        "karpenter/db.yaml",
        Some(node_pool("db", "a, b", "NoSchedule")),
    );
    assert!(proof.holds(), "{proof}");
    // ... but not without them.
    let unlabelled = node_pool("db", "a, b", "NoSchedule").replace(
        &format!("metadata: {{labels: {{{POOL}: db}}}}"),
        "metadata: {labels: {}}",
    );
    let proof = tampered("karpenter/db.yaml", Some(unlabelled));
    assert_fails(&proof, Rule::NodePoolOverlap, "", "web-m5.large-1");
}

#[test]
fn a_bought_node_no_node_pool_launches_fails() {
    let proof = tampered("karpenter/db.yaml", None);
    assert_fails(&proof, Rule::NodePoolGap, "", "db-m5.large-1");
}

#[test]
fn a_workload_without_a_patch_fails() {
    let proof = tampered("workloads/default.db.yaml", None);
    assert_fails(&proof, Rule::MissingPatch, "default/db", "");
}

#[test]
fn a_patch_that_leaves_tolerations_alone_fails() {
    let web = patch("web", &affinity("web"));
    let proof = tampered("workloads/default.web.yaml", Some(web));
    assert_fails(&proof, Rule::TolerationsNotSet, "default/web", "");
    assert_fails(&proof, Rule::Placement, "default/web", "web-m5.large-1");
}

#[test]
fn strategic_merge_directives_and_node_name_are_unsupported() {
    let web = patch(
        "web",
        &format!(
            "nodeName: n2, $setElementOrder/tolerations: [], tolerations: [{}], {}",
            toleration("web"),
            affinity("web")
        ),
    );
    let proof = tampered("workloads/default.web.yaml", Some(web));
    let unsupported: Vec<_> = proof
        .failures
        .iter()
        .filter(|f| f.rule == Rule::Unsupported)
        .collect();
    assert_eq!(unsupported.len(), 2, "{proof}");
}

#[test]
fn a_patch_of_the_wrong_kind_applies_to_nothing() {
    let web = pinned("web", "web").replace("kind: Deployment", "kind: StatefulSet");
    let proof = tampered("workloads/default.web.yaml", Some(web));
    assert_fails(&proof, Rule::WrongKind, "default/web", "");
    assert_fails(&proof, Rule::MissingPatch, "default/web", "");
}

#[test]
fn unreadable_manifests_are_errors_not_failures() {
    let err = prove_files(&[("nodes.yaml".into(), "kind: [unclosed".into())]).unwrap_err();
    assert!(matches!(err, ProofError::Yaml { .. }), "{err}");
    let err = prove_files(&[(
        "workloads/x.yaml".into(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n".into(),
    )])
    .unwrap_err();
    assert!(err.to_string().contains("field `kind`"), "{err}");
    let err =
        prove_files(&[("workloads/x.yaml".into(), patch("web", "tolerations: oops"))]).unwrap_err();
    assert!(
        err.to_string().contains("tolerations"),
        "names the field: {err}"
    );
    let missing = prove(&model(), &plan(), Path::new("/nonexistent/manifests")).unwrap_err();
    assert!(matches!(missing, ProofError::NotADirectory { .. }));
}

fn tierplan(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args(args)
        .output()
        .expect("tierplan runs")
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

/// Plans `example` into a temp dir and runs `check --manifests` on what it wrote.
fn plan_and_check(
    name: &str,
    tamper: impl FnOnce(&Path),
) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let planned = tierplan(&["plan", &example(name), "--out", out]);
    assert_eq!(planned.status.code(), Some(0), "{name}: {planned:?}");
    let manifests = dir.path().join("manifests");
    tamper(&manifests);
    let plan = dir.path().join("plan.json");
    let check = tierplan(&[
        "check",
        &example(name),
        "--plan",
        plan.to_str().unwrap(),
        "--manifests",
        manifests.to_str().unwrap(),
    ]);
    (dir, check)
}

#[test]
fn every_feasible_example_plans_manifests_that_prove_isolation() {
    // `infeasible` has no manifests: they are written only for plans that place everything.
    for name in ["nist-800-190", "multi-tenant-saas", "new-cluster"] {
        let (_dir, check) = plan_and_check(name, |_| {});
        let stdout = String::from_utf8_lossy(&check.stdout);
        assert_eq!(
            check.status.code(),
            Some(0),
            "{name}:\n{stdout}\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        assert!(stdout.contains("HOLDS"), "{name}: {stdout}");
        if name == "multi-tenant-saas" {
            assert!(
                stdout.contains("finding: namespace platform spans 4 pools"),
                "{stdout}"
            );
        }
    }
}

#[test]
fn check_exits_1_when_emitted_manifests_are_tampered_with() {
    let (_dir, check) = plan_and_check("nist-800-190", |m| {
        let patch = std::fs::read_dir(m.join("workloads/namespaces"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .min()
            .unwrap();
        let text = std::fs::read_to_string(&patch).unwrap();
        let text = text.replacen(
            "tolerations:\n",
            "tolerations:\n      - operator: Exists\n",
            1,
        );
        std::fs::write(&patch, text).unwrap();
    });
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("wildcard-toleration"), "{stdout}");
    assert!(stdout.contains("FAILS"), "{stdout}");
}

#[test]
fn check_exits_2_when_manifests_are_unreadable() {
    let (_dir, check) = plan_and_check("nist-800-190", |m| {
        std::fs::write(m.join("admission/policy.yaml"), "apiVersion: [unclosed").unwrap();
    });
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("admission/policy.yaml"), "{stderr}");
}

#[test]
fn a_tiered_daemon_set_pinned_by_node_selector_holds() {
    let input = INPUT.replace(
        "spec: {sensitivity: public, resources: {cpu: 1}}",
        "spec: {sensitivity: public, resources: {cpu: 1}, controller: DaemonSet}",
    );
    let web = format!(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: web, namespace: default}}\nspec:\n  template:\n    metadata: {{labels: {{tierplan.io/pool: web}}}}\n    spec: {{tolerations: [{}], nodeSelector: {{{POOL}: web}}}}\n",
        toleration("web")
    );
    let mut files = correct();
    files.retain(|(p, _)| p != "workloads/default.web.yaml");
    files.push(("workloads/default.web.yaml".into(), web.clone()));
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &kustomized(&files));
    let proof = prove(&model_from(&input), &plan(), dir.path()).unwrap();
    assert!(proof.holds(), "{proof}");

    // Without the nodeSelector only the taint guards it.
    let bare = web.replace(&format!(", nodeSelector: {{{POOL}: web}}"), "");
    files.retain(|(p, _)| p != "workloads/default.web.yaml");
    files.push(("workloads/default.web.yaml".into(), bare));
    write(dir.path(), &kustomized(&files));
    let proof = prove(&model_from(&input), &plan(), dir.path()).unwrap();
    assert_fails(&proof, Rule::MissingAffinity, "default/web", "");
}

/// A built file (`kubectl kustomize` output) from the correct directory: its cluster-wide
/// objects, full Deployments of web and db as the Component patches them, and objects of
/// other kinds.
fn built_text() -> String {
    let mut docs: Vec<String> = correct()
        .into_iter()
        .filter(|(p, _)| !p.starts_with("workloads/"))
        .map(|(_, text)| text)
        .collect();
    for (name, pool) in [("web", "web"), ("db", "db")] {
        docs.push(format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}, tierplan.io/pool: {pool}}}}}\n    spec: {{containers: [{{name: c, image: nginx}}], tolerations: [{}], {}}}\n",
            toleration(pool),
            affinity(pool)
        ));
    }
    docs.push("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec: {ports: [{port: 80}]}\n".into());
    docs.join("---\n")
}

fn prove_built(text: &str) -> Result<Proof, ProofError> {
    let evidence = tierplan::sched::read::built(Path::new("built.yaml"), text)?;
    Ok(tierplan::sched::prove_evidence(
        &model(),
        &plan(),
        &evidence,
    ))
}

#[test]
fn a_built_file_is_judged_whole() {
    let proof = prove_built(&built_text()).unwrap();
    assert!(proof.holds(), "{proof}");
    assert_eq!(proof.counts.templates, 2);
    assert_eq!(proof.counts.skipped, 1, "the Service");

    // A user's Deployment the plan does not cover may run outside the pools ...
    let other = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: tools, namespace: default}\nspec: {template: {spec: {containers: [{name: c, image: busybox}]}}}\n";
    let proof = prove_built(&format!("{}---\n{other}", built_text())).unwrap();
    assert!(proof.holds(), "{proof}");
    // ... but a DaemonSet tolerating everything that is no system DaemonSet reaches every pool.
    let agent = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: monitoring}\nspec: {template: {spec: {tolerations: [{operator: Exists}]}}}\n";
    let proof = prove_built(&format!("{}---\n{agent}", built_text())).unwrap();
    assert_fails(&proof, Rule::Untiered, "monitoring/agent", "db-launchable");

    // The Deployment as the user wrote it, without the patch: pods denied by admission,
    // unable to reach their planned node, and free to reach nodes of no pool.
    let bare = built_text().replacen(
        &format!("tolerations: [{}], {}", toleration("db"), affinity("db")),
        "tolerations: []",
        1,
    );
    let bare = bare.replacen("tierplan.io/pool: db", "tier: x", 1);
    let proof = prove_built(&bare).unwrap();
    assert_fails(&proof, Rule::Placement, "default/db", "n2");
    assert_fails(&proof, Rule::Placement, "default/db", "");
    assert_fails(&proof, Rule::MissingAffinity, "default/db", "");
    assert_fails(&proof, Rule::OutsidePools, "default/db", "n3");
}

#[test]
fn a_built_system_daemon_set_keeps_its_tolerations_as_the_exception() {
    let proxy = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: kube-proxy, namespace: kube-system}\nspec: {template: {spec: {tolerations: [{operator: Exists}]}}}\n";
    let proof = prove_built(&format!("{}---\n{proxy}", built_text())).unwrap();
    assert!(proof.holds(), "{proof}");
    let e = &proof.exceptions[0];
    assert_eq!(
        (e.daemon_set.as_str(), e.assumed),
        ("kube-system/kube-proxy", false)
    );
    assert_eq!(e.nodes, 7, "every node, n3 included: {proof}");
}

#[test]
fn a_built_file_is_not_a_kustomization_and_lists_are_read() {
    let k =
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n";
    let err = prove_built(k).unwrap_err();
    assert!(err.to_string().contains("not what it builds"), "{err}");
    // `kubectl get -o yaml` prints a v1 List.
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&built_text())
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let list = serde_yaml::to_string(&serde_yaml::Value::Mapping(
        [
            ("apiVersion".into(), "v1".into()),
            ("kind".into(), "List".into()),
            ("items".into(), serde_yaml::Value::Sequence(docs)),
        ]
        .into_iter()
        .collect(),
    ))
    .unwrap();
    let proof = prove_built(&list).unwrap();
    assert!(proof.holds(), "{proof}");
    assert_eq!(proof.counts.templates, 2);
}

#[test]
fn duplicate_nodes_in_a_built_file_fail() {
    let twice = format!(
        "{}---\napiVersion: v1\nkind: Node\nmetadata: {{name: n2}}\n",
        built_text()
    );
    let proof = prove_built(&twice).unwrap();
    assert_fails(&proof, Rule::Duplicate, "", "n2");
}

#[test]
fn a_spanning_namespace_fails_when_the_policy_denies_it() {
    let input = INPUT.replace(
        "systemDaemonSets: [{name: kube-proxy}]",
        "systemDaemonSets: [{name: kube-proxy}]\n  namespaceBoundary: deny",
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &kustomized(&correct()));
    let proof = prove(&model_from(&input), &plan(), dir.path()).unwrap();
    assert!(
        proof
            .failures
            .iter()
            .any(|f| f.rule == Rule::NamespaceBoundary),
        "{proof}"
    );
}
