//! Catalog mode: buying nodes from NodeTypes, alone and beside an inventory. Every plan here
//! is re-verified by the independent checker.

use tierplan::baseline::ffd_cheapest_type_per_pool;
use tierplan::check::check;
use tierplan::generate::{catalog, GenParams};
use tierplan::model;
use tierplan::plan::{Plan, Status};
use tierplan::solve::{solve, SolveOptions};

mod common;
use common::{model_of, planned};

const TYPES: &str = "
apiVersion: tierplan/v1alpha1
kind: NodeType
metadata: {name: small}
spec: {allocatable: {cpu: 2, memory: 8Gi}, capacity: {cpu: 2, memory: 8Gi}, cost: 0.1, zones: [a, b]}
---
apiVersion: tierplan/v1alpha1
kind: NodeType
metadata: {name: big}
spec: {allocatable: {cpu: 8, memory: 32Gi}, capacity: {cpu: 8, memory: 32Gi}, cost: 0.35, zones: [a, b], max: 3}
";

fn workloads(cpu: &str, replicas: u32) -> String {
    format!(
        "
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {{name: web, namespace: shop}}
spec: {{replicas: {replicas}, resources: {{cpu: {cpu}, memory: 1Gi}}, sensitivity: public, minZones: 2}}
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {{name: db, namespace: shop}}
spec: {{replicas: 2, resources: {{cpu: 1, memory: 4Gi}}, sensitivity: confidential, maxPerNode: 1}}
"
    )
}

#[test]
fn buys_nodes_named_after_their_pool_in_the_types_zones() {
    let plan = planned(&model_of(&format!("{TYPES}{}", workloads("500m", 6))));
    assert_ne!(plan.status, Status::Infeasible);
    for pool in &plan.pools {
        assert!(!pool.node_types.is_empty(), "{}", plan.to_json());
        let bought: Vec<String> = pool.bought_nodes().into_iter().map(|b| b.name).collect();
        let mut listed = pool.nodes.clone();
        listed.sort();
        let mut bought_sorted = bought.clone();
        bought_sorted.sort();
        assert_eq!(listed, bought_sorted);
        assert!(bought
            .iter()
            .all(|n| n.starts_with(&format!("{}-", pool.name))));
    }
    assert!(plan.unused_nodes.is_empty());
}

#[test]
fn existing_nodes_are_used_before_any_is_bought() {
    let inventory = "
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: old-1}
spec: {allocatable: {cpu: 4, memory: 16Gi}, cost: 0.5, zone: a}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: old-2}
spec: {allocatable: {cpu: 4, memory: 16Gi}, cost: 0.5, zone: b}
";
    let plan = planned(&model_of(&format!(
        "{TYPES}{inventory}{}",
        workloads("500m", 4)
    )));
    // Both existing nodes cost more per core than `small`, yet both are used.
    assert!(plan.unused_nodes.is_empty(), "{}", plan.to_json());
    let in_pools: Vec<&String> = plan.pools.iter().flat_map(|p| &p.nodes).collect();
    assert!(in_pools.contains(&&"old-1".to_string()) && in_pools.contains(&&"old-2".to_string()));
}

#[test]
fn a_types_max_holds_over_all_zones_and_pools() {
    // Only `big` fits 6-core replicas, and at most 3 may be bought: 4 replicas cannot all
    // be placed, and the plan says so rather than buying a fourth.
    let m = model_of(&format!("{TYPES}{}", workloads("6", 4)));
    let plan = solve(&m, &SolveOptions::default()).plan;
    assert!(check(&m, &plan).is_consistent(), "{}", check(&m, &plan));
    assert_eq!(plan.status, Status::Infeasible);
    let big: u32 = plan
        .pools
        .iter()
        .flat_map(|p| &p.node_types)
        .filter(|b| b.node_type == "big")
        .map(|b| b.count)
        .sum();
    assert!(big <= 3, "{}", plan.to_json());
}

#[test]
fn the_checker_refuses_buying_beyond_the_catalog() {
    let m = model_of(&format!("{TYPES}{}", workloads("500m", 6)));
    let plan = planned(&m);
    let tamper = |f: &dyn Fn(&mut Plan)| {
        let mut p = plan.clone();
        f(&mut p);
        check(&m, &p)
            .violations
            .iter()
            .map(|v| v.rule)
            .collect::<Vec<_>>()
    };
    let unknown_zone = tamper(&|p| p.pools[0].node_types[0].zone = "z".into());
    assert!(unknown_zone.contains(&"bought-nodes"), "{unknown_zone:?}");
    let over_max = tamper(&|p| {
        for pool in &mut p.pools {
            for b in &mut pool.node_types {
                b.node_type = "big".into();
            }
        }
        p.pools[0].node_types[0].count += 3;
    });
    assert!(over_max.contains(&"bought-nodes"), "{over_max:?}");
    let unlisted = tamper(&|p| {
        p.pools[0].nodes.pop();
    });
    assert!(!unlisted.is_empty());
}

#[test]
fn generated_catalogs_plan_no_dearer_than_ffd_on_the_cheapest_type_per_pool() {
    for seed in 1..=3 {
        let m = model::build(catalog(&GenParams::scaled(200, 100, seed), 12)).unwrap();
        let plan = planned(&m);
        let baseline = ffd_cheapest_type_per_pool(&m);
        let report = check(&m, &baseline);
        assert!(report.is_valid(), "seed {seed}: baseline {report}");
        assert!(
            plan.objective.cost <= baseline.objective.cost + 1e-9,
            "seed {seed}: planner {} > baseline {}",
            plan.objective.cost,
            baseline.objective.cost
        );
    }
}
