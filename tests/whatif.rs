//! `tierplan whatif` on the examples (issue 16): scenarios and every built-in sweep, run as a
//! user runs them. Every scenario's plan is verified by `tierplan check --scenario` (with the
//! proof over its manifests where it has any), so the checker is the oracle of every re-plan.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tierplan::plan::{Plan, Status};
use tierplan::whatif::WhatIf;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

fn tierplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args(args)
        .output()
        .expect("tierplan runs")
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A what-if run: its exit code, output, and the comparison it wrote.
struct Run {
    out: tempfile::TempDir,
    output: Output,
    inputs: PathBuf,
}

impl Run {
    /// `tierplan whatif <inputs> <args> --out <temp>`.
    fn new(inputs: &Path, args: &[&str]) -> Run {
        let out = tempfile::tempdir().unwrap();
        let mut all = vec!["whatif", inputs.to_str().unwrap()];
        all.extend_from_slice(args);
        all.extend(["--out", out.path().to_str().unwrap()]);
        let output = tierplan(&all);
        Run {
            out,
            output,
            inputs: inputs.to_path_buf(),
        }
    }

    fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    fn result(&self) -> WhatIf {
        let text = std::fs::read_to_string(self.out.path().join("whatif.json"))
            .unwrap_or_else(|e| panic!("no whatif.json ({e})\n{}", text(&self.output)));
        serde_json::from_str(&text).unwrap()
    }

    fn row(&self, name: &str) -> tierplan::whatif::Outcome {
        self.result()
            .scenarios
            .into_iter()
            .find(|o| o.name == name)
            .unwrap_or_else(|| panic!("no scenario {name}\n{}", text(&self.output)))
    }

    fn plan(&self, dir: &str) -> Plan {
        let path = self.out.path().join(dir).join("plan.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Every scenario's plan passes `tierplan check --scenario`, with the proof over its
    /// manifests when it has them; the rows say the checker accepted them.
    fn all_verified(&self) {
        let result = self.result();
        assert!(result.baseline.verified);
        for row in &result.scenarios {
            assert!(row.verified, "{}", row.name);
            let dir = self.out.path().join("scenarios").join(&row.name);
            let mut args = vec![
                "check".to_string(),
                self.inputs.display().to_string(),
                "--scenario".into(),
                dir.join("scenario.yaml").display().to_string(),
                "--plan".into(),
                dir.join("plan.json").display().to_string(),
            ];
            if dir.join("manifests").is_dir() {
                args.push("--manifests".into());
                args.push(dir.join("manifests").display().to_string());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = tierplan(&args);
            let stdout = String::from_utf8_lossy(&o.stdout);
            match row.status {
                Status::Infeasible => {
                    assert_eq!(o.status.code(), Some(1), "{}: {}", row.name, text(&o));
                    assert!(stdout.contains("consistent: 0 violations"), "{stdout}");
                }
                _ => assert_eq!(o.status.code(), Some(0), "{}: {}", row.name, text(&o)),
            }
        }
    }
}

fn scenario_file(dir: &Path, yaml: &str) -> PathBuf {
    let path = dir.join("scenarios.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

const HEAD: &str = "apiVersion: tierplan/v1alpha1\nkind: Scenario\n";

#[test]
fn the_example_scenarios_compare_against_the_baseline() {
    let scenarios = example("whatif").join("scenarios.yaml");
    let run = Run::new(
        &example("nist-800-190"),
        &["--scenario", scenarios.to_str().unwrap()],
    );
    // Two scenarios leave replicas unplaced: exit 1.
    assert_eq!(run.code(), Some(1), "{}", text(&run.output));
    run.all_verified();
    let stdout = String::from_utf8_lossy(&run.output.stdout);
    for name in ["baseline", "nothing-changes", "lose-zone-b", "retire-ci"] {
        assert!(stdout.contains(name), "{stdout}");
    }

    // An empty scenario is the baseline: same plan, nothing moves.
    let same = run.row("nothing-changes");
    assert_eq!((same.moved_replicas, same.relabelled_nodes), (0, 0));
    assert_eq!(same.cost_delta, 0.0);
    let baseline = run.plan("baseline");
    let replanned = run.plan("scenarios/nothing-changes");
    assert_eq!(baseline.placements, replanned.placements);
    assert_eq!(baseline.pools, replanned.pools);

    // Losing a zone of three with minZones 3 leaves replicas unplaced, and the pools that
    // cannot keep a spare node are named.
    let zone = run.row("lose-zone-b");
    assert_eq!(zone.status, Status::Infeasible);
    assert!(zone.unplaced_replicas > 0);
    assert!(!zone.short_of_headroom.is_empty(), "{zone:?}");
    assert!(
        zone.reasons.iter().any(|r| r.contains("minZones")),
        "{zone:?}"
    );

    // Retiring the CI runners removes their dedicated pool and saves its nodes.
    let ci = run.row("retire-ci");
    assert!(ci.feasible());
    assert_eq!(ci.pools_removed, ["dedicated-ci-ci-runner"]);
    assert!(ci.cost_delta < 0.0);

    // Separating namespaces costs nodes.
    let tenants = run.row("separate-tenants");
    assert!(tenants.feasible() && tenants.nodes_delta > 0, "{tenants:?}");

    // whatif.md carries the same table.
    let md = std::fs::read_to_string(run.out.path().join("whatif.md")).unwrap();
    assert!(md.contains("| lose-zone-b | INFEASIBLE |"), "{md}");
}

#[test]
fn removing_every_node_is_infeasible_with_reasons_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario_file(
        dir.path(),
        &format!("{HEAD}metadata: {{name: no-nodes}}\nspec:\n  removeNodes:\n    selector: {{kubernetes.io/arch: amd64}}\n"),
    );
    let nodes = std::fs::read_to_string(example("nist-800-190").join("nodes.yaml")).unwrap();
    assert_eq!(nodes.matches("kubernetes.io/arch: amd64").count(), 24);
    let run = Run::new(
        &example("nist-800-190"),
        &["--scenario", file.to_str().unwrap()],
    );
    assert_eq!(run.code(), Some(1), "{}", text(&run.output));
    let row = run.row("no-nodes");
    assert_eq!(row.status, Status::Infeasible);
    assert_eq!(row.nodes, 0);
    assert!(row.infeasibility.is_some_and(|i| i.proven), "{row:?}");
    assert!(!row.reasons.is_empty());
    run.all_verified();
}

#[test]
fn removing_a_node_that_hosts_nothing_moves_nothing() {
    // The baseline leaves these three nodes out of every pool.
    let dir = tempfile::tempdir().unwrap();
    let file = scenario_file(
        dir.path(),
        &format!("{HEAD}metadata: {{name: idle-node-goes}}\nspec:\n  removeNodes:\n    names: [ip-10-0-22-207, ip-10-0-38-15, ip-10-0-6-159]\n"),
    );
    let run = Run::new(
        &example("nist-800-190"),
        &["--scenario", file.to_str().unwrap()],
    );
    assert_eq!(run.code(), Some(0), "{}", text(&run.output));
    let base = run.plan("baseline");
    assert_eq!(
        base.unused_nodes,
        ["ip-10-0-22-207", "ip-10-0-38-15", "ip-10-0-6-159"]
    );
    let row = run.row("idle-node-goes");
    assert_eq!((row.moved_replicas, row.relabelled_nodes), (0, 0));
    assert_eq!(row.cost_delta, 0.0);
    assert_eq!(
        run.plan("scenarios/idle-node-goes").placements,
        base.placements
    );
    run.all_verified();
}

#[test]
fn invalid_scenarios_list_every_problem_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario_file(
        dir.path(),
        &format!(
            "{HEAD}metadata: {{name: bad}}\nspec:\n  removeNodes: {{names: [ip-10-0-22-208], selector: {{topology.kubernetes.io/zone: mars}}}}\n  removeWorkloads: [web/storefrnt]\n  scaleWorkloads:\n    - {{selector: {{tenant: nobody}}, factor: 2}}\n    - {{workload: web/storefront}}\n    - {{workload: web/storefront, factor: -1}}\n  policy: {{separateBy: 3, headrom: 1}}\n  addNodes: [{{metadata: {{name: extra}}, spec: {{allocatable: {{cpu: lots}}}}}}]\n---\n{HEAD}metadata: {{name: bad}}\nspec: {{nodes: 1}}\n"
        ),
    );
    let run = Run::new(
        &example("nist-800-190"),
        &["--scenario", file.to_str().unwrap()],
    );
    assert_eq!(run.code(), Some(2), "{}", text(&run.output));
    let stderr = String::from_utf8_lossy(&run.output.stderr);
    for code in ["E082", "E083", "E084", "E085", "E086", "E087", "E013"] {
        assert!(stderr.contains(code), "{code} missing:\n{stderr}");
    }
    assert!(
        stderr.contains("did you mean `ip-10-0-22-207`?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean `web/storefront`?"),
        "{stderr}"
    );
    assert!(
        std::fs::read_dir(run.out.path()).unwrap().next().is_none(),
        "something was written"
    );

    // The policy merge and the added node are checked too, once the rest is valid.
    let file = scenario_file(
        dir.path(),
        &format!("{HEAD}metadata: {{name: bad-policy}}\nspec:\n  policy: {{headrom: 1}}\n---\n{HEAD}metadata: {{name: bad-node}}\nspec:\n  addNodes: [{{metadata: {{name: extra}}, spec: {{allocatable: {{cpu: lots}}}}}}]\n---\n{HEAD}metadata: {{name: bad-node}}\nspec: {{}}\n"),
    );
    let run = Run::new(
        &example("nist-800-190"),
        &["--scenario", file.to_str().unwrap()],
    );
    assert_eq!(run.code(), Some(2), "{}", text(&run.output));
    let stderr = String::from_utf8_lossy(&run.output.stderr);
    for needle in [
        "E088",
        "did you mean `headroom`?",
        "E081",
        "spec.allocatable.cpu",
    ] {
        assert!(stderr.contains(needle), "{needle} missing:\n{stderr}");
    }

    // A Scenario among the planning input is refused with the way to pass it.
    let o = tierplan(&[
        "plan",
        example("nist-800-190").to_str().unwrap(),
        file.to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("E080"), "{}", text(&o));
}

#[test]
fn node_and_zone_failures_show_what_each_loss_costs() {
    let run = Run::new(&example("nist-800-190"), &["--failures", "node"]);
    let result = run.result();
    // One scenario per node the baseline uses.
    let used: usize = run
        .plan("baseline")
        .pools
        .iter()
        .map(|p| p.nodes.len())
        .sum();
    assert_eq!(result.scenarios.len(), used);
    assert_eq!(run.code(), Some(if result.all_feasible() { 0 } else { 1 }));
    // headroom 1 node: every single node failure is absorbed.
    assert!(result.all_feasible(), "{}", text(&run.output));
    for row in &result.scenarios {
        assert!(row.name.starts_with("fail-node-"));
        assert!(row.moved_replicas <= 64, "{row:?}");
    }
    let stdout = String::from_utf8_lossy(&run.output.stdout);
    assert!(
        stdout.contains("Failures:") && stdout.contains("worst:"),
        "{stdout}"
    );
    run.all_verified();

    let run = Run::new(&example("nist-800-190"), &["--failures", "zone"]);
    let result = run.result();
    let names: Vec<&str> = result.scenarios.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "fail-zone-eu-west-1a",
            "fail-zone-eu-west-1b",
            "fail-zone-eu-west-1c"
        ]
    );
    // minZones 3 cannot hold with a zone gone.
    assert_eq!(run.code(), Some(1));
    run.all_verified();
}

#[test]
fn cost_of_isolation_prices_each_separation() {
    let run = Run::new(&example("nist-800-190"), &["--cost-of-isolation"]);
    assert_eq!(run.code(), Some(0), "{}", text(&run.output));
    let result = run.result();
    let names: Vec<&str> = result.scenarios.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "isolation-without-sensitivity",
            "isolation-without-exposure",
            "isolation-without-trust",
            "isolation-without-share-rule-1",
            "isolation-none",
        ]
    );
    // No separation at all never costs more than the policy (the planner could always
    // keep the separated plan); dropping the shareWhen rule never costs less.
    let none = run.row("isolation-none");
    assert!(none.cost_delta <= 0.0, "{none:?}");
    assert!(run.row("isolation-without-share-rule-1").cost_delta >= 0.0);
    let stdout = String::from_utf8_lossy(&run.output.stdout);
    assert!(stdout.contains("Cost of isolation:"), "{stdout}");
    run.all_verified();
}

#[test]
fn compaction_and_growth_find_what_still_fits() {
    let run = Run::new(
        &example("nist-800-190"),
        // Probes that do not fit cost the planner its whole budget before it gives up; a
        // small one keeps the test quick (and can only make the answers smaller).
        &[
            "--compaction",
            "--seeds",
            "3",
            "--growth",
            "--work-limit",
            "100000",
        ],
    );
    let result = run.result();
    let c = result.compaction.clone().expect("compaction ran");
    assert_eq!((c.seeds, c.inventory), (3, 24));
    assert!(
        c.min <= c.median && c.median <= c.p90 && c.p90 <= 24,
        "{c:?}"
    );
    assert_eq!(c.returnable.len() as u64, 24 - c.min);
    // The smallest sub-inventory found is planned and verified like any scenario.
    assert!(run.row("compaction").feasible());
    assert!(result.growth.iter().any(|g| g.pool == "all"));
    for g in &result.growth {
        assert!(g.max_percent >= 100);
        if g.max_percent > 100 {
            assert!(run.row(&format!("growth-{}", g.pool)).feasible());
        }
    }
    run.all_verified();
}

#[test]
fn what_to_buy_makes_an_infeasible_scenario_feasible() {
    let dir = tempfile::tempdir().unwrap();
    // Six times the public web traffic does not fit the general-purpose nodes.
    let scenarios = scenario_file(
        dir.path(),
        &format!("{HEAD}metadata: {{name: web-x6}}\nspec:\n  scaleWorkloads:\n    - {{selector: {{namespace: web}}, factor: 6}}\n"),
    );
    let catalog = dir.path().join("catalog.yaml");
    std::fs::write(
        &catalog,
        "apiVersion: tierplan/v1alpha1\nkind: NodeType\nmetadata: {name: m6i.xlarge, labels: {tierplan.io/host-os: al2023}}\nspec: {allocatable: {cpu: 3920m, memory: 14481Mi, pods: 58}, capacity: {cpu: 4, memory: 16Gi}, cost: 0.214, zones: [eu-west-1a, eu-west-1b, eu-west-1c]}\n",
    )
    .unwrap();
    let run = Run::new(
        &example("nist-800-190"),
        &[
            "--scenario",
            scenarios.to_str().unwrap(),
            "--what-to-buy",
            catalog.to_str().unwrap(),
        ],
    );
    assert_eq!(
        run.row("web-x6").status,
        Status::Infeasible,
        "{}",
        text(&run.output)
    );
    let bought = run.row("web-x6+buy");
    assert!(bought.feasible(), "{bought:?}");
    let plan = run.plan("scenarios/web-x6+buy");
    assert!(plan.pools.iter().any(|p| !p.node_types.is_empty()));
    // The scenario itself stays infeasible: exit 1.
    assert_eq!(run.code(), Some(1));
    run.all_verified();
}

#[test]
fn shards_merged_equal_one_run() {
    let scenarios = example("whatif").join("scenarios.yaml");
    let args = [
        "--scenario",
        scenarios.to_str().unwrap(),
        "--failures",
        "zone",
    ];
    let whole = Run::new(&example("nist-800-190"), &args);
    let shards: Vec<Run> = (0..3)
        .map(|i| {
            let shard = format!("{i}/3");
            let mut a = args.to_vec();
            a.extend(["--shard", &shard]);
            Run::new(&example("nist-800-190"), &a)
        })
        .collect();
    let merged = tempfile::tempdir().unwrap();
    let mut a = vec!["whatif", "merge"];
    let dirs: Vec<String> = shards
        .iter()
        .map(|s| s.out.path().display().to_string())
        .collect();
    a.extend(dirs.iter().map(String::as_str));
    a.extend(["--out", merged.path().to_str().unwrap()]);
    let o = tierplan(&a);
    assert_eq!(o.status.code(), whole.code(), "{}", text(&o));
    let read = |d: &Path| std::fs::read_to_string(d.join("whatif.json")).unwrap();
    assert_eq!(read(merged.path()), read(whole.out.path()));

    // A missing or repeated shard is refused.
    let o = tierplan(&["whatif", "merge", &dirs[0], &dirs[1]]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = tierplan(&["whatif", "merge", &dirs[0], &dirs[1], &dirs[1]]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn a_baseline_of_other_inputs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = tierplan(&[
        "plan",
        example("new-cluster").to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let plan = dir.path().join("plan.json");
    let run = Run::new(
        &example("nist-800-190"),
        &["--baseline", plan.to_str().unwrap()],
    );
    assert_eq!(run.code(), Some(2));
    assert!(text(&run.output).contains("made for other inputs"));

    // Its own plan is taken as it is.
    let own = tempfile::tempdir().unwrap();
    tierplan(&[
        "plan",
        example("nist-800-190").to_str().unwrap(),
        "--out",
        own.path().to_str().unwrap(),
        "-q",
    ]);
    let plan = own.path().join("plan.json");
    let run = Run::new(
        &example("nist-800-190"),
        &["--baseline", plan.to_str().unwrap(), "--failures", "zone:2"],
    );
    assert_eq!(run.result().scenarios.len(), 3);
    run.all_verified();
}

#[test]
fn scenarios_add_nodes_types_and_workloads() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario_file(
        dir.path(),
        &format!(
            "{HEAD}metadata: {{name: new-tenant}}
spec:
  addNodes:
    - metadata: {{name: ip-10-0-99-1, labels: {{topology.kubernetes.io/zone: eu-west-1a, tierplan.io/host-os: al2023}}}}
      spec: {{allocatable: {{cpu: 3920m, memory: 14481Mi, pods: 58}}, cost: 0.214}}
  addWorkloads:
    - metadata: {{name: partner-portal, namespace: partners}}
      spec: {{replicas: 2, resources: {{cpu: 500m, memory: 1Gi}}, sensitivity: confidential, exposure: partner, trust: first-party}}
  scaleWorkloads:
    - {{workload: web/storefront, replicas: 3}}
    - {{workload: analytics/event-enricher, replicas: 0}}
---
{HEAD}metadata: {{name: buy-for-growth}}
spec:
  removeWorkloads: [ci/ci-runner]
  addNodeTypes:
    - metadata: {{name: m6i.xlarge, labels: {{tierplan.io/host-os: al2023}}}}
      spec: {{allocatable: {{cpu: 3920m, memory: 14481Mi, pods: 58}}, capacity: {{cpu: 4, memory: 16Gi}}, cost: 0.214, zones: [eu-west-1a, eu-west-1b, eu-west-1c]}}
  scaleWorkloads:
    - {{selector: {{exposure: internet}}, factor: 3}}
"
        ),
    );
    let run = Run::new(
        &example("nist-800-190"),
        &["--scenario", file.to_str().unwrap()],
    );
    assert_eq!(run.code(), Some(0), "{}", text(&run.output));
    run.all_verified();
    // The new workload gets a pool of its own (no other is confidential and partner-facing).
    let tenant = run.row("new-tenant");
    assert_eq!(tenant.pools_created.len(), 1, "{tenant:?}");
    let plan = run.plan("scenarios/new-tenant");
    assert!(plan
        .placements
        .iter()
        .any(|p| p.workload == "partners/partner-portal"));
    assert_eq!(
        plan.placements
            .iter()
            .filter(|p| p.workload == "web/storefront")
            .count(),
        3
    );
    // Scaled to 0, a workload places nothing.
    assert!(!plan
        .placements
        .iter()
        .any(|p| p.workload == "analytics/event-enricher"));
    // Tripled internet-facing traffic outgrows the inventory; the catalog buys the rest.
    let bought = run.plan("scenarios/buy-for-growth");
    assert!(bought.pools.iter().any(|p| !p.node_types.is_empty()));
    assert!(!bought
        .placements
        .iter()
        .any(|p| p.workload == "ci/ci-runner"));
}
