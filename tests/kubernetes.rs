//! Kubernetes objects as input: every real manifest and node list under
//! `../shared/realworld/` loads, and two real applications plan, prove and round-trip through
//! `tierplan import` on a real node list.

use std::path::{Path, PathBuf};
use std::process::Output;

const REALWORLD: &str = "../shared/realworld";

fn tierplan(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args(args)
        .output()
        .expect("tierplan runs")
}

#[track_caller]
fn expect(out: &Output, code: i32) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("the realworld folder beside the repo") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(path);
        }
    }
}

#[test]
fn every_realworld_file_loads() {
    let mut all = Vec::new();
    files(Path::new(REALWORLD), &mut all);
    all.sort();
    assert!(all.len() >= 90, "{} files", all.len());
    // Untiered as published: the Policy's default gives them a sensitivity, never a guess.
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policy-defaults.yaml");
    for file in &all {
        let (docs, diags) = tierplan::input::read_paths(&[policy.clone(), file.clone()]);
        assert!(diags.is_empty(), "{}: {diags:?}", file.display());
        let s = docs
            .kubernetes
            .unwrap_or_else(|| panic!("{}: nothing read", file.display()));
        let read: usize = s.read.values().sum::<usize>() + s.skipped.values().sum::<usize>();
        assert!(read > 0, "{}: no object", file.display());
    }
}

#[test]
fn node_lists_keep_allocatable_zones_taints_and_cordons() {
    let read = |name: &str| {
        let (docs, diags) = tierplan::input::read_paths(&[Path::new(REALWORLD).join(name)]);
        assert!(diags.is_empty(), "{diags:?}");
        docs.nodes
    };
    // Bare Node objects without TypeMeta (the Insights archive), 3 zones, tainted masters.
    let insights = read("openshift-insights-nodes/ci-ln-ywdpkbt-f76d1-vw6lz-master-0.json");
    let master = &insights[0].1.spec;
    assert_eq!(master.allocatable["cpu"].0, "3500m");
    assert_eq!(master.zone.as_deref(), Some("us-east1-b"));
    assert_eq!(master.taints[0].key, "node-role.kubernetes.io/master");
    // A bare JSON array with only the deprecated zone label.
    let sonobuoy = read("sonobuoy-nodes/Nodes.json");
    assert_eq!(sonobuoy.len(), 3);
    assert_eq!(sonobuoy[0].1.spec.zone.as_deref(), Some("us-west-2a"));
    // popeye's edge cases: no allocatable nor capacity (left out), a cordoned node.
    let popeye = read("popeye-nodes/1.yaml");
    let names: Vec<&str> = popeye
        .iter()
        .map(|(_, n)| n.metadata.name.as_str())
        .collect();
    assert!(!names.contains(&"n3"), "{names:?}");
    assert!(popeye.iter().all(|(_, n)| !n.spec.allocatable.is_empty()));
}

#[test]
fn workloads_without_sensitivity_are_listed_in_one_error() {
    let out = tierplan(&[
        "plan",
        &format!("{REALWORLD}/istio-bookinfo/bookinfo.yaml"),
        &format!("{REALWORLD}/troubleshoot-nodes/nodes.json"),
        "--out",
        tempfile::tempdir().unwrap().path().to_str().unwrap(),
    ]);
    expect(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("[E015]").count(), 1, "{err}");
    assert!(err.contains("6 workload(s) have no sensitivity"), "{err}");
    assert!(err.contains("Deployment default/productpage-v1"), "{err}");
}

fn two_shops() -> Vec<String> {
    [
        "examples/kubernetes",
        "online-boutique/kubernetes-manifests.yaml",
        "sock-shop/complete-demo.yaml",
        "calico/calico.yaml",
        "openshift-insights-nodes/nodes-list.derived.json",
    ]
    .iter()
    .enumerate()
    .map(|(i, p)| {
        if i == 0 {
            p.to_string()
        } else {
            format!("{REALWORLD}/{p}")
        }
    })
    .collect()
}

#[test]
fn two_real_shops_plan_prove_and_round_trip_through_import() {
    let dir = tempfile::tempdir().unwrap();
    let at = |p: &str| dir.path().join(p).display().to_string();
    let inputs = two_shops();
    let args = |cmd: &[&str], extra: &[String]| -> Vec<String> {
        cmd.iter()
            .map(|s| s.to_string())
            .chain(inputs.iter().cloned())
            .chain(extra.iter().cloned())
            .collect()
    };
    let run = |a: Vec<String>| tierplan(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let planned = expect(&run(args(&["plan"], &["--out".into(), at("direct")])), 0);
    assert!(planned.contains("confidential-internet"), "{planned}");
    let proof = expect(
        &run(args(
            &["check"],
            &[
                "--plan".into(),
                at("direct/plan.json"),
                "--manifests".into(),
                at("direct/manifests"),
            ],
        )),
        0,
    );
    assert!(proof.contains("HOLDS"), "{proof}");
    // The control-plane nodes' NoSchedule taint keeps every tiered workload off them.
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(at("direct/plan.json")).unwrap()).unwrap();
    let text = plan.to_string();
    let tiered_on_master = plan["pools"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] != "platform")
        .flat_map(|p| p["nodes"].as_array().unwrap())
        .any(|n| n.as_str().unwrap().contains("-master-"));
    assert!(!tiered_on_master, "{text}");

    // import writes documents that plan to the same bytes.
    expect(
        &run(args(&["import"], &["--out".into(), at("imported")])),
        0,
    );
    let workloads = std::fs::read_to_string(at("imported/workloads.yaml")).unwrap();
    assert!(
        workloads.contains("import.tierplan.io/sensitivity: 'Namespace sock-shop: metadata.labels[tierplan.io/sensitivity]'"),
        "{workloads}"
    );
    let warnings = std::fs::read_to_string(at("imported/warnings.txt")).unwrap();
    assert!(warnings.contains("carts-db (cpu, memory)"), "{warnings}");
    expect(
        &tierplan(&["plan", &at("imported"), "--out", &at("again")]),
        0,
    );
    assert_eq!(
        std::fs::read(at("direct/plan.json")).unwrap(),
        std::fs::read(at("again/plan.json")).unwrap(),
        "the imported documents plan exactly as the objects they were made of"
    );
    let again = expect(
        &tierplan(&[
            "check",
            &at("imported"),
            "--plan",
            &at("again/plan.json"),
            "--manifests",
            &at("again/manifests"),
        ]),
        0,
    );
    assert!(again.contains("HOLDS"), "{again}");
}
