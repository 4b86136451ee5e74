//! `plan` on inputs with no plan: the explanation comes first on stdout and in plan.json,
//! cites the fewest facts, each with its file, document and field, and never contradicts
//! the per-replica reasons. (Sufficiency and minimality on random instances are property
//! tests in `src/explanation.rs`, where the relaxations are.)

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn plan(input: &str) -> (String, Value) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .arg("plan")
        .arg(input)
        .arg("--out")
        .arg(out.path())
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("plan.json")).unwrap())
            .unwrap();
    (String::from_utf8(run.stdout).unwrap(), plan)
}

fn texts(plan: &Value) -> Vec<&str> {
    plan["explanation"]["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect()
}

#[test]
fn the_six_node_shop_is_told_the_pools_need_more_nodes_than_there_are() {
    let (stdout, plan) = plan("tests/data/explain/six-nodes.yaml");
    assert!(stdout.starts_with("why no plan exists (proven, and each fact is needed): on the inventory of 6 node(s) in 2 zone(s) (eu-west-1a, eu-west-1b)"), "{stdout}");
    let e = &plan["explanation"];
    assert_eq!(
        (e["proven"].as_bool(), e["minimal"].as_bool()),
        (Some(true), Some(true))
    );
    let facts = texts(&plan);
    // Four pools of two nodes each need eight: three spread over two zones and one more
    // pool already need seven. Headroom is not cited: minZones alone needs the nodes.
    assert_eq!(
        facts,
        [
            "workloads that differ in sensitivity never share a node",
            "workloads that differ in exposure never share a node",
            "workload payments/payments spreads over at least 2 zones",
            "workload shop/catalog spreads over at least 2 zones",
            "workload shop/storefront spreads over at least 2 zones",
            "workload orders/orders runs 2 replica(s) of cpu 500m, memory 1.0Gi",
            "workload payments/payments runs 2 replica(s) of cpu 500m, memory 1.0Gi",
            "workload shop/catalog runs 2 replica(s) of cpu 500m, memory 1.0Gi",
            "workload shop/storefront runs 2 replica(s) of cpu 500m, memory 1.0Gi",
        ],
        "{stdout}"
    );
    let first = &e["facts"][0];
    assert_eq!(
        first["source"],
        "tests/data/explain/six-nodes.yaml: document 1"
    );
    assert_eq!(first["field"], "spec.separateBy");
    // The per-replica reasons no longer claim too few zones where both zones have nodes.
    assert!(!stdout.contains("are in 2 zone(s)"), "{stdout}");
}

#[test]
fn the_infeasible_example_cites_one_workload_no_node_can_host() {
    let (stdout, plan) = plan("examples/infeasible");
    assert_eq!(
        texts(&plan),
        ["workload ml/feature-store runs 1 replica(s) of cpu 2, memory 48.0Gi"]
    );
    assert!(
        stdout.starts_with("why no plan exists (proven, and each fact is needed)"),
        "{stdout}"
    );
    // The other two unplaced workloads keep their own reasons.
    for name in ["vault/vault", "reporting/pdf-renderer"] {
        assert!(stdout.contains(name), "{stdout}");
    }
}
