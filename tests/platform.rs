//! Every pod has a home: platform workloads (`platform: true`) get a pool of untainted,
//! unlabelled nodes, bought in catalog mode through a NodePool without a pool taint; the
//! checker holds tiers and platform apart; the proof still holds on the emitted manifests;
//! and without platform workloads the summary says where unplanned pods can run.

use std::path::Path;
use tierplan::check::check;
use tierplan::emit;
use tierplan::model::Model;
use tierplan::plan::{Plan, PLATFORM_POOL};
use tierplan::report::summary;
use tierplan::sched::{prove, prove_evidence, read, Proof, Rule};

mod common;
use common::{model_of, planned};

const TIERS: &str = "
apiVersion: tierplan/v1alpha1
kind: Policy
metadata: {name: p}
spec: {systemDaemonSets: [{name: kube-proxy}]}
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {name: web, namespace: shop}
spec: {replicas: 2, resources: {cpu: 1, memory: 1Gi}, sensitivity: public}
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {name: db, namespace: shop}
spec: {replicas: 1, resources: {cpu: 1, memory: 2Gi}, sensitivity: confidential}
";

/// CoreDNS as kubernetes/kubernetes `cluster/addons/dns/coredns/coredns.yaml.base` requests
/// it (cpu 100m, memory 70Mi), two replicas on separate nodes.
const PLATFORM: &str = "
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {name: coredns, namespace: kube-system}
spec: {platform: true, replicas: 2, resources: {cpu: 100m, memory: 70Mi}, maxPerNode: 1}
";

fn nodes(n: usize) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {{name: n{i}}}
spec: {{allocatable: {{cpu: 4, memory: 16Gi, pods: 110}}, zone: z{}}}
",
                i % 2
            )
        })
        .collect()
}

const TYPES: &str = "
---
apiVersion: tierplan/v1alpha1
kind: NodeType
metadata: {name: m7i.xlarge}
spec: {allocatable: {cpu: 3920m, memory: 14Gi, pods: 58}, capacity: {cpu: 4, memory: 16Gi}, cost: 0.2016, zones: [eu-central-1a, eu-central-1b]}
";

/// Writes `files` as a manifests directory and proves it.
fn prove_files(m: &Model, plan: &Plan, files: &[(String, String)]) -> Proof {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    prove(m, plan, dir.path()).expect("readable manifests")
}

/// Emits the manifests of `plan` and proves them.
fn proved(m: &Model, plan: &Plan) -> Vec<(String, String)> {
    let files = emit::manifests(m, plan).expect("manifests");
    let proof = prove_files(m, plan, &files);
    assert!(proof.holds(), "{proof}");
    files
}

fn file<'f>(files: &'f [(String, String)], path: &str) -> Option<&'f str> {
    files
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, t)| t.as_str())
}

#[test]
fn inventory_mode_reserves_untainted_nodes_for_platform_workloads() {
    let m = model_of(&format!("{TIERS}{PLATFORM}{}", nodes(6)));
    let plan = planned(&m);
    let platform = plan
        .pools
        .iter()
        .find(|p| p.platform)
        .expect("a platform pool");
    assert_eq!(platform.name, PLATFORM_POOL);
    assert_eq!(platform.workloads, ["kube-system/coredns"]);
    assert_eq!(platform.nodes.len(), 2, "maxPerNode 1 × 2 replicas");
    assert!(plan
        .pools
        .iter()
        .filter(|p| !p.platform)
        .all(|p| p.name != PLATFORM_POOL && p.workloads.iter().all(|w| w.starts_with("shop/"))));

    let files = proved(&m, &plan);
    let nodes = file(&files, "nodes/label.sh").expect("tier nodes are labelled");
    let taints = file(&files, "nodes/taint.sh").unwrap();
    for n in &platform.nodes {
        assert!(
            !nodes.contains(&format!(" {n} ")) && !taints.contains(&format!(" {n} ")),
            "platform node {n} gets no label or taint:\n{nodes}{taints}"
        );
    }
    assert!(file(&files, "workloads/namespaces/kube-system.yaml").is_none());
    let policy = file(&files, "admission/policy.yaml").unwrap();
    assert!(!policy.contains("'platform'"), "{policy}");
    let notes = file(&files, "NOTES.txt").unwrap();
    assert!(notes.contains("  - kube-system/coredns\n"), "{notes}");

    let text = summary(&m, &plan, None);
    assert!(text.contains("platform: 2 node(s)"), "{text}");
    assert!(
        text.contains("free to decommission (pool platform holds the platform workloads)"),
        "{text}"
    );
}

#[test]
fn catalog_mode_buys_a_platform_node_pool_without_taint_or_pool_label() {
    let m = model_of(&format!("{TIERS}{PLATFORM}{TYPES}"));
    let plan = planned(&m);
    let platform = plan.pools.iter().find(|p| p.platform).unwrap();
    assert!(!platform.node_types.is_empty(), "{}", plan.to_json());
    assert!(platform
        .nodes
        .iter()
        .all(|n| n.starts_with("platform-m7i.xlarge-")));
    let files = proved(&m, &plan);
    let node_pool: emit::NodePool =
        serde_yaml::from_str(file(&files, "karpenter/platform.yaml").expect("a platform NodePool"))
            .unwrap();
    let template = &node_pool.spec.template;
    assert!(template.spec.taints.is_empty());
    assert!(template.metadata.labels.is_empty());
    assert!(template
        .spec
        .requirements
        .iter()
        .any(|r| r.key == emit::POOL_LABEL && r.operator == "DoesNotExist" && r.values.is_empty()));
    for pool in plan.pools.iter().filter(|p| !p.platform) {
        let text = file(&files, &format!("karpenter/{}.yaml", pool.name)).unwrap();
        assert!(text.contains("effect: NoSchedule"), "{text}");
    }
}

#[test]
fn the_checker_keeps_tiers_out_of_the_platform_pool_and_platform_out_of_tiers() {
    let m = model_of(&format!("{TIERS}{PLATFORM}{}", nodes(6)));
    let plan = planned(&m);
    let rules = |p: &Plan| -> Vec<&'static str> {
        check(&m, p).violations.iter().map(|v| v.rule).collect()
    };
    // The platform pool marked as a tier: its CoreDNS would sit behind a pool taint.
    let mut unmarked = plan.clone();
    unmarked.pools.iter_mut().for_each(|p| p.platform = false);
    assert_eq!(rules(&unmarked), ["platform"], "{}", check(&m, &unmarked));
    // A tier pool marked as platform: its nodes would take any pod.
    let mut marked = plan.clone();
    marked.pools.iter_mut().for_each(|p| p.platform = true);
    assert!(rules(&marked).iter().all(|r| *r == "platform"));
    assert!(check(&m, &marked)
        .to_string()
        .contains("tier workload `shop/web` is in platform pool"));
}

#[test]
fn without_platform_workloads_the_summary_says_where_unplanned_pods_can_run() {
    let m = model_of(&format!("{TIERS}{}", nodes(6)));
    let plan = planned(&m);
    let free = plan.unused_nodes.len();
    assert!(free > 0, "{}", plan.to_json());
    let text = summary(&m, &plan, None);
    let cpu = 4 * free;
    let memory = 16 * free;
    assert!(
        text.contains(&format!(
            "can run only on nodes without a pool taint: {free} node(s) (cpu {cpu}, memory {memory}.0Gi after overhead), not free to decommission"
        )),
        "{text}"
    );
    assert!(!text.contains("unused nodes ("), "{text}");

    let m = model_of(&format!("{TIERS}{TYPES}"));
    let text = summary(&m, &planned(&m), None);
    assert!(
        text.contains(
            "can run only on nodes without a pool taint: none, so they will stay pending"
        ),
        "{text}"
    );
}

#[test]
fn the_proof_judges_platform_workloads_as_pods_no_tier_pins() {
    let m = model_of(&format!("{TIERS}{PLATFORM}{}", nodes(6)));
    let plan = planned(&m);
    let files = proved(&m, &plan);
    let fails = |proof: &Proof, rule: Rule| {
        proof
            .failures
            .iter()
            .any(|f| f.rule == rule && f.workload == "kube-system/coredns")
    };
    // What `kubectl kustomize` of the user's kustomization gives: the cluster-wide objects,
    // the tier Deployments as their patches make them, and CoreDNS as upstream ships it
    // (kubernetes/kubernetes cluster/addons/dns/coredns/coredns.yaml.base tolerates
    // CriticalAddonsOnly only).
    let mut built: Vec<&str> = files
        .iter()
        .filter(|(p, _)| {
            p.starts_with("admission/")
                || (p.starts_with("workloads/") && !p.ends_with("kustomization.yaml"))
        })
        .map(|(_, text)| text.as_str())
        .collect();
    let coredns = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: coredns, namespace: kube-system}\nspec: {template: {spec: {containers: [{name: coredns, image: coredns}], tolerations: [{key: CriticalAddonsOnly, operator: Exists}]}}}\n";
    built.push(coredns);
    let prove_built = |text: &str| {
        let mut evidence = read::built(Path::new("built.yaml"), text).unwrap();
        // Node labels and taints are never built: they come from the node scripts.
        for script in tierplan::sched::commands::FILES {
            let text = file(&files, script).unwrap();
            evidence.node_commands.extend(
                tierplan::sched::commands::parse(Path::new(script), text, emit::POOL_LABEL)
                    .unwrap(),
            );
        }
        prove_evidence(&m, &plan, &evidence)
    };
    let proof = prove_built(&built.join("---\n"));
    assert!(proof.holds(), "{proof}");
    // A CoreDNS that tolerates the pool taint reaches the tiers' nodes.
    let escaping = coredns.replace(
        "key: CriticalAddonsOnly",
        &format!("key: {}", emit::POOL_TAINT_KEY),
    );
    *built.last_mut().unwrap() = &escaping;
    assert!(fails(&prove_built(&built.join("---\n")), Rule::Untiered));

    // A patch that pins a platform workload is not tierplan's: its pods are left unpinned.
    let mut files = files.clone();
    let web = file(&files, "workloads/namespaces/shop.yaml")
        .unwrap()
        .split("---\n")
        .find(|doc| doc.contains("  name: web\n"))
        .unwrap();
    let pinned = web
        .replace("name: web", "name: coredns")
        .replace("namespace: shop", "namespace: kube-system");
    files.push(("workloads/namespaces/kube-system.yaml".into(), pinned));
    for (path, text) in &mut files {
        if path == "workloads/kustomization.yaml" {
            text.push_str("- path: namespaces/kube-system.yaml\n");
        }
    }
    assert!(fails(&prove_files(&m, &plan, &files), Rule::StrayPatch));
}
