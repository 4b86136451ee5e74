//! The manifests of every example: pinned by snapshots, byte-identical across runs, and
//! valid for the tools that will read them: `kubectl kustomize` builds them, every object
//! validates against the Kubernetes 1.33 OpenAPI schemas (`kubernetes-validate --strict`),
//! every workload patch does once merged onto a minimal object of its kind, and every
//! Karpenter NodePool validates against the v1 CRD's schema (Python `jsonschema`).
//!
//! Tests that need an external tool skip with a note when it is missing, unless
//! `TIERPLAN_REQUIRE_TOOLS=1` (set by `.ci/run`), which makes a missing tool a failure.

use serde::Deserialize;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use tierplan::emit::{self, WorkloadPatch};
use tierplan::model::{self, Model};
use tierplan::plan::{Plan, Status};
use tierplan::solve;

/// The examples whose plans are feasible, so that they have manifests.
const FEASIBLE: [&str; 3] = ["multi-tenant-saas", "new-cluster", "nist-800-190"];

fn planned(example: &str) -> (Model, Plan) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(example);
    let model = model::build_from_paths(&[dir]).expect("examples are valid");
    let plan = solve::solve(&model, &solve::SolveOptions::default()).plan;
    assert_ne!(plan.status, Status::Infeasible, "{example}");
    (model, plan)
}

fn manifests(example: &str) -> Vec<(String, String)> {
    let (model, plan) = planned(example);
    emit::manifests(&model, &plan).expect("examples emit")
}

/// The manifests of `example` written into a fresh `manifests/` directory.
fn written(example: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("manifests");
    for (path, text) in manifests(example) {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    (tmp, dir)
}

/// Whether `program` runs (`args` is a harmless probe). Missing: a failure when
/// `TIERPLAN_REQUIRE_TOOLS=1`, else `false` with a note.
fn have(program: &str, args: &[&str]) -> bool {
    let ok = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("TIERPLAN_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "`{program}` is required (TIERPLAN_REQUIRE_TOOLS=1) but does not run"
        );
        eprintln!(
            "note: `{program}` not found; skipping (set TIERPLAN_REQUIRE_TOOLS=1 to fail instead)"
        );
    }
    ok
}

fn run(program: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

#[test]
fn snapshots_of_every_example() {
    for example in FEASIBLE {
        let text: String = manifests(example)
            .iter()
            .map(|(path, text)| format!("=== {path}\n{text}"))
            .collect();
        insta::assert_snapshot!(example, text);
    }
}

#[test]
fn manifests_are_byte_identical_across_runs() {
    for example in FEASIBLE {
        assert_eq!(manifests(example), manifests(example), "{example}");
    }
}

#[test]
fn infeasible_plans_get_no_manifests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/infeasible");
    let model = model::build_from_paths(&[dir]).unwrap();
    let plan = solve::solve(&model, &solve::SolveOptions::default()).plan;
    assert!(matches!(
        emit::manifests(&model, &plan),
        Err(emit::EmitError::Infeasible)
    ));
}

#[test]
fn patches_pin_each_workload_to_its_pool_with_one_exact_toleration() {
    for example in FEASIBLE {
        let (model, plan) = planned(example);
        for (path, text) in emit::manifests(&model, &plan).unwrap() {
            let Some(file) = path.strip_prefix("workloads/") else {
                continue;
            };
            if file == "kustomization.yaml" {
                continue;
            }
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let patch = WorkloadPatch::deserialize(doc).unwrap();
                let spec = &patch.pod_template().unwrap().spec;
                for t in &spec.tolerations {
                    assert!(t.key.as_deref().is_some_and(|k| !k.is_empty()), "{path}");
                    assert_eq!(t.operator.as_deref(), Some("Equal"), "{path}");
                }
                let pool_tolerations: Vec<_> = spec
                    .tolerations
                    .iter()
                    .filter(|t| t.key.as_deref() == Some(emit::POOL_TAINT_KEY))
                    .collect();
                if file.starts_with("namespaces/system.") {
                    assert_eq!(pool_tolerations.len(), plan.pools.len(), "{path}");
                    continue;
                }
                assert_eq!(pool_tolerations.len(), 1, "{path}");
                let id = format!(
                    "{}/{}",
                    patch.metadata.namespace.as_deref().unwrap(),
                    patch.metadata.name.as_deref().unwrap()
                );
                let pool = plan
                    .pools
                    .iter()
                    .find(|p| p.workloads.contains(&id))
                    .unwrap();
                assert_eq!(pool_tolerations[0].value.as_deref(), Some(&*pool.name));
                let terms = &spec
                    .affinity
                    .as_ref()
                    .and_then(|a| a.node_affinity.as_ref())
                    .and_then(|a| {
                        a.required_during_scheduling_ignored_during_execution
                            .as_ref()
                    })
                    .expect("required node affinity")
                    .node_selector_terms;
                assert_eq!(terms.len(), 1, "{path}");
                let first = &terms[0].match_expressions.as_ref().unwrap()[0];
                assert_eq!(
                    (first.key.as_str(), first.values.as_deref()),
                    (emit::POOL_LABEL, Some(&[pool.name.clone()][..]))
                );
            }
        }
    }
}

#[test]
fn kustomize_builds_every_example() {
    if !have("kubectl", &["version", "--client"]) {
        return;
    }
    for example in FEASIBLE {
        let (_tmp, dir) = written(example);
        run("kubectl", &["kustomize".as_ref(), dir.as_os_str()]);
    }
}

#[test]
fn objects_validate_against_the_kubernetes_schemas() {
    if !have("kubernetes-validate", &["--version"]) {
        return;
    }
    for example in FEASIBLE {
        let (_tmp, dir) = written(example);
        let mut files = vec![
            dir.join("admission/policy.yaml"),
            dir.join("admission/binding.yaml"),
        ];
        files.push(dir.join("rollout/binding-warn.yaml"));
        // The headroom Namespace, PriorityClass and placeholder Deployments.
        if let Ok(entries) = fs::read_dir(dir.join("headroom")) {
            let mut headroom: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
            headroom.sort();
            assert!(headroom.len() >= 3, "{headroom:?}");
            files.extend(headroom);
        }
        validate(&files);
    }
}

fn validate(files: &[PathBuf]) {
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["--strict".as_ref(), "-k".as_ref(), "1.33.0".as_ref()];
    args.extend(files.iter().map(|f| f.as_os_str()));
    let out = run("kubernetes-validate", &args);
    assert!(!out.contains("ERROR"), "{out}");
}

/// A minimal valid object of `kind`, whose pod template tolerates everything and (unless it
/// is a system DaemonSet, which runs everywhere) requires a node elsewhere: what tierplan's
/// patch must replace.
fn minimal(kind: &str, namespace: &str, name: &str, system: bool) -> String {
    let restart = if matches!(kind, "Job" | "CronJob") {
        "Never"
    } else {
        "Always"
    };
    let pod: Vec<String> = [
        "metadata:",
        "  labels: {app: APP}",
        "spec:",
        &*format!("  restartPolicy: {restart}"),
        "  nodeSelector: {own: selector}",
        "  tolerations: [{operator: Exists}]",
        "  affinity:",
        "    nodeAffinity:",
        "      requiredDuringSchedulingIgnoredDuringExecution:",
        "        nodeSelectorTerms: [{matchExpressions: [{key: elsewhere, operator: Exists}]}]",
        "  containers: [{name: app, image: registry.example/app:1}]",
    ]
    .iter()
    .filter(|l| {
        let placement = ["ffinity", "requiredDuring", "elsewhere", "own:"];
        !system || !placement.iter().any(|p| l.contains(p))
    })
    .map(|l| l.to_string())
    .collect();
    let indent = |n: usize| -> String {
        pod.iter()
            .map(|l| format!("{}{l}\n", " ".repeat(n)))
            .collect()
    };
    let (api, spec) = match kind {
        "Deployment" | "DaemonSet" => (
            "apps/v1",
            format!(
                "  selector: {{matchLabels: {{app: APP}}}}\n  template:\n{}",
                indent(4)
            ),
        ),
        "StatefulSet" => (
            "apps/v1",
            format!(
                "  selector: {{matchLabels: {{app: APP}}}}\n  serviceName: APP\n  template:\n{}",
                indent(4)
            ),
        ),
        "Job" => ("batch/v1", format!("  template:\n{}", indent(4))),
        "CronJob" => (
            "batch/v1",
            format!(
                "  schedule: '0 * * * *'\n  jobTemplate:\n    spec:\n      template:\n{}",
                indent(8)
            ),
        ),
        other => panic!("unknown kind {other}"),
    };
    format!(
        "apiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{}",
        spec.replace("APP", name)
    )
}

#[test]
fn patched_workloads_validate_and_the_patch_alone_decides_placement() {
    if !have("kubectl", &["version", "--client"]) || !have("kubernetes-validate", &["--version"]) {
        return;
    }
    for example in FEASIBLE {
        let (tmp, _dir) = written(example);
        let overlay = tmp.path().join("overlay");
        fs::create_dir(&overlay).unwrap();
        let mut resources = Vec::new();
        let mut planned_workloads = 0;
        for (path, text) in manifests(example) {
            if !path.starts_with("workloads/") || path.ends_with("kustomization.yaml") {
                continue;
            }
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let patch = WorkloadPatch::deserialize(doc).unwrap();
                let (ns, name) = (
                    patch.metadata.namespace.unwrap(),
                    patch.metadata.name.unwrap(),
                );
                let file = format!("{}.{ns}.{name}.yaml", patch.kind);
                let system = ns == "system";
                planned_workloads += usize::from(!system);
                let base = minimal(&patch.kind, &ns, &name, system);
                fs::write(overlay.join(&file), base).unwrap();
                resources.push(file);
            }
        }
        fs::write(
            overlay.join("kustomization.yaml"),
            format!(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [{}]\ncomponents: [{}]\n",
                resources.join(", "),
                "../manifests/workloads"
            ),
        )
        .unwrap();
        let built = run("kubectl", &["kustomize".as_ref(), overlay.as_os_str()]);
        let merged = tmp.path().join("merged.yaml");
        fs::write(&merged, &built).unwrap();
        validate(&[merged]);
        // Strategic merge replaced the base's wildcard toleration and its node-affinity
        // term (atomic lists); the base's nodeSelector stays and only narrows.
        assert!(!built.contains("operator: Exists"), "{example}:\n{built}");
        assert!(!built.contains("elsewhere"), "{example}:\n{built}");
        assert_eq!(
            built.matches("own: selector").count(),
            planned_workloads,
            "{example}"
        );
        let objects = built.matches("\nkind: ").count() + usize::from(built.starts_with("kind: "));
        assert_eq!(objects, resources.len(), "{example}");
    }
}

#[test]
fn node_pools_validate_against_the_karpenter_crd_schema() {
    if !have("python3", &["-c", "import jsonschema"]) {
        return;
    }
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/karpenter/nodepool.schema.json");
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut pools = BTreeSet::new();
    for example in FEASIBLE {
        for (path, text) in manifests(example) {
            if let Some(pool) = path.strip_prefix("karpenter/") {
                let value: serde_json::Value = serde_yaml::from_str(&text).unwrap();
                let file = tmp.path().join(format!("{example}.{pool}.json"));
                fs::write(&file, serde_json::to_string(&value).unwrap()).unwrap();
                files.push(file);
                pools.insert(format!("{example}/{pool}"));
            }
        }
    }
    assert!(!pools.is_empty(), "the catalog example buys nodes");
    let script = "\
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
for path in sys.argv[2:]:
    jsonschema.validate(json.load(open(path)), schema, cls=jsonschema.Draft7Validator)
print('valid:', len(sys.argv) - 2)
";
    let mut args: Vec<&std::ffi::OsStr> = vec!["-c".as_ref(), script.as_ref(), schema.as_os_str()];
    args.extend(files.iter().map(|f| f.as_os_str()));
    let out = run("python3", &args);
    assert!(out.contains(&format!("valid: {}", files.len())), "{out}");
}

/// The node scripts are what the cluster gets: each must be a POSIX shell script that `sh -n`
/// parses (dash on Debian, the shell CI has).
#[test]
fn node_scripts_are_valid_shell() {
    for example in FEASIBLE {
        let (_tmp, dir) = written(example);
        for script in ["nodes/label.sh", "nodes/taint.sh", "rollback/nodes.sh"] {
            let path = dir.join(script);
            if path.exists() {
                run("sh", &["-n".as_ref(), path.as_os_str()]);
            }
        }
    }
}

/// Karpenter counts a NodePool's nodes against `limits` by their capacity
/// (kubernetes-sigs/karpenter `pkg/controllers/state/cluster.go`, `updateNodePoolResources`
/// adds `StateNode.Capacity()`; `filterByRemainingResources` in
/// `pkg/controllers/provisioning/scheduling/scheduler.go` drops every instance type whose
/// `Capacity` exceeds what is left), so each NodePool's limits are the capacity of the nodes
/// the plan buys with its node class for its pool: summing allocatable would leave every pool
/// one node short (4 × m7i.large is 8 vCPUs, not 4 × 1930m).
#[test]
fn node_pool_limits_are_the_capacity_of_the_planned_nodes() {
    let (model, plan) = planned("new-cluster");
    let cpu = model.resource_id("cpu").unwrap();
    let memory = model.resource_id("memory").unwrap();
    let mut checked = 0;
    for (path, text) in emit::manifests(&model, &plan).unwrap() {
        if !path.starts_with("karpenter/") {
            continue;
        }
        let np: emit::NodePool = serde_yaml::from_str(&text).unwrap();
        let labels = &np.spec.template.metadata.labels;
        let pool = plan
            .pools
            .iter()
            .find(|p| {
                p.name
                    == labels
                        .get(emit::POOL_LABEL)
                        .map_or(tierplan::plan::PLATFORM_POOL, String::as_str)
            })
            .expect("a NodePool of a planned pool");
        let class = &np.spec.template.spec.node_class_ref.name;
        let (mut want_cpu, mut want_memory, mut allocatable_cpu) = (0, 0, 0);
        for b in &pool.node_types {
            let t = &model.node_types[model.node_type_index(&b.node_type).unwrap()];
            if &t.node_class.name == class {
                want_cpu += t.capacity[cpu].unwrap() * u64::from(b.count);
                want_memory += t.capacity[memory].unwrap() * u64::from(b.count);
                allocatable_cpu += t.allocatable[cpu].unwrap() * u64::from(b.count);
            }
        }
        assert!(want_cpu > allocatable_cpu, "{path}");
        assert_eq!(np.spec.limits["cpu"], format!("{want_cpu}m"), "{path}");
        assert_eq!(np.spec.limits["memory"], want_memory.to_string(), "{path}");
        checked += 1;
    }
    assert!(checked >= 2, "the catalog example buys nodes");
}

/// Each pool's NodePools launch with the node classes of the types it buys, one NodePool
/// per class, and write on their nodes only the labels the Policy says the class guarantees:
/// `tierplan.io/host-os: bottlerocket` only where the class is `bottlerocket`.
#[test]
fn node_pools_are_split_by_node_class_and_carry_only_guaranteed_labels() {
    let (model, plan) = planned("new-cluster");
    let mut classes_per_pool: std::collections::BTreeMap<String, BTreeSet<String>> =
        Default::default();
    for (path, text) in emit::manifests(&model, &plan).unwrap() {
        if !path.starts_with("karpenter/") {
            continue;
        }
        let np: emit::NodePool = serde_yaml::from_str(&text).unwrap();
        let labels = &np.spec.template.metadata.labels;
        let class = &np.spec.template.spec.node_class_ref.name;
        assert_eq!(
            labels.get("tierplan.io/host-os"),
            Some(class),
            "{path}: {labels:?}"
        );
        let pool = labels
            .get(emit::POOL_LABEL)
            .map_or(tierplan::plan::PLATFORM_POOL, String::as_str)
            .to_string();
        assert!(
            classes_per_pool
                .entry(pool)
                .or_default()
                .insert(class.clone()),
            "{path}: a second NodePool of one class"
        );
    }
    for pool in &plan.pools {
        let want: BTreeSet<String> = pool
            .node_types
            .iter()
            .map(|b| {
                let t = &model.node_types[model.node_type_index(&b.node_type).unwrap()];
                t.node_class.name.clone()
            })
            .collect();
        assert_eq!(classes_per_pool[&pool.name], want, "{}", pool.name);
    }
}
