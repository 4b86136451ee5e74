//! Day-2 inventories: nodes that already carry a pool label or taint of an earlier plan.
//! The plan's own manifests must move them (relabel, untaint) so that its own proof holds.

use std::path::Path;
use std::process::{Command, Output};

const KEY: &str = "node-restriction.kubernetes.io/tierplan-pool";

fn tierplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args(args)
        .output()
        .expect("tierplan runs")
}

/// examples/nist-800-190 with `node` carrying `pool`'s label and taint from an earlier run.
fn inventory_with_stale(dir: &Path, node: &str, pool: &str) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/nist-800-190");
    for f in ["policy.yaml", "workloads.yaml"] {
        std::fs::copy(example.join(f), dir.join(f)).unwrap();
    }
    let nodes = std::fs::read_to_string(example.join("nodes.yaml")).unwrap();
    let from = format!("  name: {node}\n  labels:\n");
    assert!(nodes.contains(&from), "{node} in nodes.yaml");
    let nodes = nodes.replacen(&from, &format!("{from}    {KEY}: {pool}\n"), 1);
    // Its spec starts on the line after its labels: give it the taint first.
    let at = nodes.find(&from).unwrap();
    let spec = at + nodes[at..].find("spec:\n").unwrap() + "spec:\n".len();
    let nodes = format!(
        "{}  taints: [{{key: {KEY}, value: {pool}, effect: NoSchedule}}]\n{}",
        &nodes[..spec],
        &nodes[spec..]
    );
    std::fs::write(dir.join("nodes.yaml"), nodes).unwrap();
}

fn plan_and_check(input: &Path, out: &Path) -> (serde_json::Value, Output) {
    let planned = tierplan(&[
        "plan",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(planned.status.code(), Some(0), "{planned:?}");
    let plan_file = out.join("plan.json");
    let checked = tierplan(&[
        "check",
        input.to_str().unwrap(),
        "--plan",
        plan_file.to_str().unwrap(),
        "--manifests",
        out.join("manifests").to_str().unwrap(),
    ]);
    let plan = serde_json::from_str(&std::fs::read_to_string(plan_file).unwrap()).unwrap();
    (plan, checked)
}

fn pool_of(plan: &serde_json::Value, node: &str) -> Option<String> {
    plan["pools"].as_array().unwrap().iter().find_map(|p| {
        p["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == node)
            .then(|| p["name"].as_str().unwrap().to_string())
    })
}

#[test]
fn a_node_leaving_every_pool_loses_its_stale_label_and_taint() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    // ip-10-0-22-207 is in no pool of this example's plan.
    inventory_with_stale(&input, "ip-10-0-22-207", "pool-3");
    let out = tmp.path().join("out");
    let (plan, checked) = plan_and_check(&input, &out);
    assert_eq!(pool_of(&plan, "ip-10-0-22-207"), None);
    assert_eq!(checked.status.code(), Some(0), "{checked:?}");
    let label = std::fs::read_to_string(out.join("manifests/nodes/label.sh")).unwrap();
    let taint = std::fs::read_to_string(out.join("manifests/nodes/taint.sh")).unwrap();
    assert!(label.contains(&format!("kubectl label node ip-10-0-22-207 {KEY}-\n")));
    assert!(taint.contains(&format!(
        "kubectl taint node ip-10-0-22-207 {KEY}- || true\n"
    )));
}

#[test]
fn a_node_changing_pools_is_relabelled_and_retainted() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    inventory_with_stale(&input, "ip-10-0-1-11", "stale-pool");
    let out = tmp.path().join("out");
    let (plan, checked) = plan_and_check(&input, &out);
    let pool = pool_of(&plan, "ip-10-0-1-11").expect("ip-10-0-1-11 is in a pool");
    assert_eq!(checked.status.code(), Some(0), "{checked:?}");
    let taint = std::fs::read_to_string(out.join("manifests/nodes/taint.sh")).unwrap();
    assert!(taint.contains(&format!(
        "kubectl taint node ip-10-0-1-11 {KEY}={pool}:NoSchedule --overwrite\n"
    )));
}

#[test]
fn the_rollout_lists_what_changes_against_the_previous_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/nist-800-190");
    let first = tmp.path().join("first");
    let run = |input: &Path, out: &Path, previous: Option<&Path>| {
        let mut args = vec![
            "plan",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(p) = previous {
            args.extend(["--previous", p.to_str().unwrap()]);
        }
        let o = tierplan(&args);
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        std::fs::read_to_string(out.join("manifests/ROLLOUT.md")).unwrap()
    };
    let rollout = run(&example, &first, None);
    assert!(!rollout.contains("Against the previous plan"), "{rollout}");
    // Unchanged input: nothing moves, and the rollout says so.
    let again = run(
        &example,
        &tmp.path().join("again"),
        Some(&first.join("plan.json")),
    );
    assert!(
        again.contains("Against the previous plan, no replica moves and no node changes pool."),
        "{again}"
    );
    // The previous plan with its pools' nodes rotated: the relabelled nodes are listed.
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(first.join("plan.json")).unwrap()).unwrap();
    let pools = plan["pools"].as_array_mut().unwrap();
    let (a, b) = (pools[1]["nodes"][0].clone(), pools[2]["nodes"][0].clone());
    pools[1]["nodes"][0] = b.clone();
    pools[2]["nodes"][0] = a.clone();
    let edited = tmp.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_string(&plan).unwrap()).unwrap();
    let moved = run(&example, &tmp.path().join("moved"), Some(&edited));
    assert!(moved.contains("these nodes change pool"), "{moved}");
}
