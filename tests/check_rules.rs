//! The checker through the public API: a hand-written plan.json for `examples/infeasible`,
//! checked as written and after realistic mistakes.

use std::path::PathBuf;
use tierplan::check::{check, Report};
use tierplan::model::Model;
use tierplan::plan::{Placement, Plan};

fn example() -> Model {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/infeasible");
    tierplan::model::build_from_paths(&[dir]).unwrap_or_else(|e| panic!("{e}"))
}

/// What a correct planner may write: three classes in three pools; vault's third replica
/// (maxPerNode 1, two hardened nodes), feature-store (too big) and pdf-renderer (arm64)
/// unplaced.
const PLAN: &str = r#"{
  "apiVersion": "tierplan/v1alpha1",
  "kind": "Plan",
  "status": "infeasible",
  "objective": { "cost": 0.856, "nodes": 4, "lowerBound": 0.856, "gap": null },
  "pools": [
    { "name": "internal", "classes": ["sensitivity=internal,exposure=internal,trust=first-party"],
      "workloads": ["ml/feature-store", "reporting/pdf-renderer", "shop/orders"],
      "nodes": ["ip-10-0-17-40"] },
    { "name": "public", "classes": ["sensitivity=public,exposure=internet,trust=first-party"],
      "workloads": ["shop/web"], "nodes": ["ip-10-0-1-11"] },
    { "name": "restricted", "classes": ["sensitivity=restricted,exposure=internal,trust=first-party"],
      "workloads": ["vault/vault"], "nodes": ["ip-10-0-18-57", "ip-10-0-2-23"] }
  ],
  "placements": [
    { "workload": "shop/orders", "replica": 0, "node": "ip-10-0-17-40" },
    { "workload": "shop/orders", "replica": 1, "node": "ip-10-0-17-40" },
    { "workload": "shop/web", "replica": 0, "node": "ip-10-0-1-11" },
    { "workload": "shop/web", "replica": 1, "node": "ip-10-0-1-11" },
    { "workload": "vault/vault", "replica": 0, "node": "ip-10-0-2-23" },
    { "workload": "vault/vault", "replica": 1, "node": "ip-10-0-18-57" }
  ],
  "unplaced": [
    { "workload": "ml/feature-store", "replica": 0, "reasons": ["requests 48Gi of memory"] },
    { "workload": "reporting/pdf-renderer", "replica": 0, "reasons": ["no arm64 node"] },
    { "workload": "vault/vault", "replica": 2, "reasons": ["maxPerNode 1 on 2 nodes"] }
  ],
  "unusedNodes": ["ip-10-0-33-92"]
}"#;

fn plan() -> Plan {
    serde_json::from_str(PLAN).expect("the plan parses")
}

fn rules(r: &Report) -> Vec<&'static str> {
    r.violations.iter().map(|v| v.rule).collect()
}

/// Moves `workload` replica `replica` from `unplaced` to `node`.
fn place(plan: &mut Plan, workload: &str, replica: u32, node: &str) {
    plan.unplaced
        .retain(|u| !(u.workload == workload && u.replica == replica));
    plan.placements.push(Placement {
        workload: workload.into(),
        replica,
        node: node.into(),
    });
}

#[test]
fn the_hand_written_plan_is_consistent_but_not_valid() {
    let m = example();
    let r = check(&m, &plan());
    assert!(r.is_consistent(), "{r}");
    assert!(!r.is_valid());
    assert_eq!((r.unplaced, r.unmet), (3, 0));
    assert_eq!(
        r.to_string(),
        "consistent: 0 violations, 3 unplaced replicas, 0 unmet pool rules"
    );
}

#[test]
fn placing_what_cannot_be_placed_is_caught() {
    let m = example();
    let mut p = plan();
    place(&mut p, "ml/feature-store", 0, "ip-10-0-17-40");
    place(&mut p, "reporting/pdf-renderer", 0, "ip-10-0-17-40");
    let r = check(&m, &p);
    assert_eq!(rules(&r), ["capacity", "node-selector"], "{r}");
    assert!(r.violations[0].message.contains("memory"), "{r}");
    assert!(
        r.violations[1].message.contains("kubernetes.io/arch=arm64"),
        "{r}"
    );

    // vault's third replica on a plain node outside its pool, doubled up, claimed complete.
    let mut p = plan();
    place(&mut p, "vault/vault", 2, "ip-10-0-33-92");
    p.placements.push(Placement {
        workload: "vault/vault".into(),
        replica: 2,
        node: "ip-10-0-2-23".into(),
    });
    let r = check(&m, &p);
    assert_eq!(
        rules(&r),
        ["max-per-node", "node-requirement", "placement", "pool"],
        "{r}"
    );
    assert!(
        r.violations[1]
            .message
            .contains("tierplan.io/host-os=bottlerocket"),
        "{r}"
    );
}

#[test]
fn merging_classes_into_one_pool_is_caught() {
    let m = example();
    let mut p = plan();
    let public = p.pools.remove(1);
    p.pools[0].workloads.extend(public.workloads);
    p.pools[0].workloads.sort();
    p.pools[0].nodes.extend(public.nodes);
    p.pools[0].nodes.sort();
    let r = check(&m, &p);
    // shop/web against each of the three internal workloads: one class pair.
    assert_eq!(rules(&r), ["compatibility"], "{r}");
    assert!(r.violations[0].message.contains("shop/web"), "{r}");
    assert!(r.violations[0].message.contains("3 workload pairs"), "{r}");
}

#[test]
fn the_plan_survives_a_json_round_trip() {
    let m = example();
    let p = plan();
    let again: Plan = serde_json::from_str(&p.to_json()).unwrap();
    assert_eq!(check(&m, &again), check(&m, &p));
}
