//! `tierplan explain` end to end on `examples/nist-800-190` and small inline inputs: every
//! other pool gets a reason, nodes are grouped, the rules are named, unknown ids exit 2 with
//! close matches, JSON parses; and every reason is true: placing a replica against it makes
//! the independent checker raise exactly that rule.

mod run;

use run::{example, planned, read_plan, succeeded, tierplan};
use std::path::{Path, PathBuf};
use tierplan::plan::Plan;
use tierplan::why::{self, NodeGroup, Rule, WorkloadExplanation};

/// Standard output of `explain` on `input`, which must succeed.
#[track_caller]
fn explained(input: &str, plan: &Path, id: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "explain",
        input,
        "--plan",
        plan.to_str().unwrap(),
        "--workload",
        id,
    ];
    args.extend_from_slice(extra);
    succeeded(&args)
}

fn pool_of<'p>(plan: &'p Plan, id: &str) -> &'p str {
    &plan
        .pools
        .iter()
        .find(|p| p.workloads.iter().any(|w| w == id))
        .expect("in a pool")
        .name
}

#[test]
fn a_placed_workload_names_its_pool_and_every_other_pool_with_a_reason() {
    let input = example();
    let (_dir, plan_file) = planned(&[&input]);
    let plan = read_plan(&plan_file);
    let model = tierplan::build_from_paths(&[PathBuf::from(&input)]).unwrap();
    for id in ["web/storefront", "payroll/payroll-db", "ci/ci-runner"] {
        let text = explained(&input, &plan_file, id, &[]);
        let own = pool_of(&plan, id);
        assert!(
            text.contains(&format!("of pool `{own}`")),
            "{id}: its pool `{own}`\n{text}"
        );
        for pool in plan.pools.iter().filter(|p| p.name != own) {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("  - `{}` ", pool.name)))
                .unwrap_or_else(|| panic!("{id}: no line for pool `{}`\n{text}", pool.name));
            assert!(
                line.contains("excluded") || line.contains("not chosen"),
                "{line}"
            );
        }
        // Grouped: far fewer lines than nodes, whatever the pools.
        let lines = text.lines().count();
        assert!(
            lines <= 12 + 4 * plan.pools.len(),
            "{id}: {lines} lines for {} nodes\n{text}",
            model.nodes.len()
        );
    }
    // The restricted database is kept out of the public pools by separateBy and, with
    // its nodeRequirements, off their nodes.
    let text = explained(&input, &plan_file, "payroll/payroll-db", &[]);
    assert!(text.contains("separateBy lists sensitivity"), "{text}");
    assert!(text.contains("spec.separateBy[0]"), "{text}");
    assert!(text.contains("policy.yaml: document 1"), "{text}");
    assert!(text.contains("minZones 3: met"), "{text}");
    assert!(text.contains("tierplan.io/host-os=bottlerocket"), "{text}");
    // The dedicated CI runner shares with nobody.
    let text = explained(&input, &plan_file, "ci/ci-runner", &[]);
    assert!(text.contains("it is dedicated"), "{text}");
}

/// Inputs where a nodeSelector and an antiAffinity decide.
const RULES: &str = "
apiVersion: tierplan/v1alpha1
kind: Policy
metadata: {name: p}
spec: {separateBy: [sensitivity]}
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {name: trainer, namespace: ml}
spec: {replicas: 1, resources: {cpu: '1', memory: 1Gi}, sensitivity: internal, nodeSelector: {gpu: 'yes'}}
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {name: web, namespace: shop}
spec: {replicas: 1, resources: {cpu: '1', memory: 1Gi}, sensitivity: public, antiAffinity: [cache]}
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {name: cache, namespace: shop}
spec: {replicas: 1, resources: {cpu: '1', memory: 1Gi}, sensitivity: public}
";

fn node(name: &str, labels: &str) -> String {
    format!(
        "---\napiVersion: tierplan/v1alpha1\nkind: Node\nmetadata: {{name: {name}, labels: {{{labels}}}}}\nspec: {{allocatable: {{cpu: '4', memory: 16Gi, pods: '110'}}, cost: 1}}\n"
    )
}

/// [`RULES`] with plain nodes named `plain` and one node `g` labelled gpu=yes, planned: the
/// input's directory, the input, the plan's directory and the plan.
fn rules_planned(plain: &[&str]) -> (tempfile::TempDir, String, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let nodes: String =
        plain.iter().map(|n| node(n, "")).collect::<String>() + &node("g", "gpu: 'yes'");
    let file = dir.path().join("in.yaml");
    std::fs::write(&file, format!("{RULES}{nodes}")).unwrap();
    let input = file.display().to_string();
    let (out, plan_file) = planned(&[&input]);
    (dir, input, out, plan_file)
}

#[test]
fn a_node_selector_and_an_anti_affinity_are_named() {
    let (_dir, input, _out, plan_file) = rules_planned(&["a", "b", "c"]);
    let plan = read_plan(&plan_file);
    // The public pool: no node has gpu=yes, so the trainer is kept out by its nodeSelector
    // as well as by separateBy.
    let text = explained(&input, &plan_file, "ml/trainer", &[]);
    let public = pool_of(&plan, "shop/web");
    assert!(text.contains(&format!("`{public}` excluded")), "{text}");
    assert!(
        text.contains("the label gpu=yes it requires") && text.contains("spec.nodeSelector"),
        "{text}"
    );
    // The web replica is not on the cache's node because of antiAffinity.
    let text = explained(&input, &plan_file, "shop/web", &[]);
    assert!(
        text.contains("shop/cache, which it never shares a node with (antiAffinity)"),
        "{text}"
    );
}

#[test]
fn many_nodes_take_few_lines() {
    let names: Vec<String> = (0..150).map(|i| format!("n{i:03}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (_dir, input, _out, plan_file) = rules_planned(&names);
    let text = explained(&input, &plan_file, "shop/web", &[]);
    assert!(text.lines().count() <= 20, "{text}");
    assert!(text.contains("and 14"), "lists are cut short: {text}");
}

#[test]
fn an_unknown_workload_exits_2_with_close_matches() {
    let input = example();
    let (_dir, plan_file) = planned(&[&input]);
    let refused = |id: &str| {
        let plan = plan_file.to_str().unwrap();
        let out = tierplan(&["explain", &input, "--plan", plan, "--workload", id]);
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = refused("web/storefrnt");
    assert!(err.contains("no workload `web/storefrnt`"), "{err}");
    assert!(err.contains("did you mean: web/storefront"), "{err}");
    // A bare name finds its namespace.
    let err = refused("payroll-db");
    assert!(err.contains("payroll/payroll-db"), "{err}");
}

#[test]
fn json_output_parses() {
    let input = example();
    let (_dir, plan_file) = planned(&[&input]);
    let plan = read_plan(&plan_file);
    let text = explained(
        &input,
        &plan_file,
        "api/auth-gateway",
        &["--output", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["workload"], "api/auth-gateway");
    assert_eq!(
        v["otherPools"].as_array().unwrap().len(),
        plan.pools.len() - 1
    );
    assert_eq!(v["placed"][0]["replicas"], 3);
    assert!(v["heldBy"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["rule"] == "max-per-node"));
}

/// `plan` with replica 0 of `id` moved to `node`, and, with `pool`, the workload listed in
/// that pool instead of its own.
fn moved(plan: &Plan, id: &str, pool: Option<&str>, node: &str) -> Option<Plan> {
    let mut p = plan.clone();
    if let Some(pool) = pool {
        for each in &mut p.pools {
            each.workloads.retain(|w| w != id);
        }
        let to = p.pools.iter_mut().find(|x| x.name == pool)?;
        to.workloads.push(id.to_string());
        to.workloads.sort();
    }
    let r = p
        .placements
        .iter_mut()
        .find(|x| x.workload == id && x.replica == 0)?;
    r.node = node.to_string();
    p.placements.sort();
    Some(p)
}

/// Asserts that replica 0 of `id` on `node` (listed in `pool`, if given) breaks the checker's
/// rule `code`, as `why` says.
#[track_caller]
fn confirm(
    model: &tierplan::Model,
    plan: &Plan,
    (id, pool, node): (&str, Option<&str>, &str),
    code: &str,
    why: &dyn std::fmt::Display,
) -> usize {
    let Some(p) = moved(plan, id, pool, node) else {
        return 0;
    };
    let report = tierplan::check(model, &p);
    let found: Vec<&str> = report.violations.iter().map(|v| v.rule).collect();
    assert!(
        found.contains(&code),
        "{id}: a replica on `{node}` (pool {pool:?}) should break `{code}` ({why}), the checker found {found:?}"
    );
    1
}

#[track_caller]
fn confirm_groups(
    model: &tierplan::Model,
    plan: &Plan,
    e: &WorkloadExplanation,
    pool: Option<&str>,
    groups: &[NodeGroup],
) -> usize {
    let mut confirmed = 0;
    for g in groups {
        let Some(code) = g.reason.rule.check_rule() else {
            continue;
        };
        for node in &g.nodes {
            let at = (e.workload.as_str(), pool, node.as_str());
            confirmed += confirm(model, plan, at, code, &g.reason);
        }
    }
    confirmed
}

/// Every reason is true: for each pool, node group and unused node the explanation keeps a
/// workload from, putting a replica there makes `check` report that rule.
fn every_reason_is_true(model: &tierplan::Model, plan: &Plan) -> usize {
    let mut confirmed = 0;
    for w in &model.workloads {
        let e = why::explain_workload(model, plan, &w.id).unwrap();
        confirmed += confirm_groups(model, plan, &e, None, &e.pool_nodes_unused);
        confirmed += confirm_groups(model, plan, &e, None, &e.unused_nodes);
        for x in &e.other_pools {
            confirmed += confirm_groups(model, plan, &e, Some(&x.pool), &x.nodes);
            let pool = plan.pools.iter().find(|p| p.name == x.pool).unwrap();
            for r in &x.reasons {
                // Pool-wide rules hold on any node of the pool.
                let (Some(code), Some(node)) = (r.rule.check_rule(), pool.nodes.first()) else {
                    continue;
                };
                if r.rule == Rule::Class {
                    continue;
                }
                let at = (w.id.as_str(), Some(x.pool.as_str()), node.as_str());
                confirmed += confirm(model, plan, at, code, r);
            }
            assert!(
                !x.reasons.is_empty() || !x.nodes.is_empty(),
                "{}: no reason for `{}`",
                w.id,
                x.pool
            );
        }
    }
    confirmed
}

#[test]
fn every_reason_given_is_one_the_checker_enforces() {
    let input = example();
    let (_dir, plan_file) = planned(&[&input]);
    let plan = read_plan(&plan_file);
    let model = tierplan::build_from_paths(&[PathBuf::from(&input)]).unwrap();
    assert!(tierplan::check(&model, &plan).is_valid());
    let confirmed = every_reason_is_true(&model, &plan);
    assert!(confirmed > 50, "only {confirmed} reasons confirmed");

    let (_dir, input, _out, plan_file) = rules_planned(&["a", "b", "c"]);
    let plan = read_plan(&plan_file);
    let model = tierplan::build_from_paths(&[PathBuf::from(&input)]).unwrap();
    assert!(every_reason_is_true(&model, &plan) > 3);
}
