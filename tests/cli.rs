//! The `tierplan` command end to end, on every example: a small DSL over the binary.

use std::path::{Path, PathBuf};
use std::process::Output;

struct Run {
    out: Output,
}

impl Run {
    fn code(&self) -> i32 {
        self.out.status.code().expect("exited normally")
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    #[track_caller]
    fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

fn tierplan(args: &[&str]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args(args)
        .output()
        .expect("tierplan runs");
    Run { out }
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

fn plan_into(example_dir: &str, out: &Path) -> Run {
    tierplan(&["plan", example_dir, "--out", out.to_str().unwrap()])
}

#[test]
fn feasible_examples_plan_and_check() {
    for name in ["nist-800-190", "multi-tenant-saas"] {
        let dir = tempfile::tempdir().unwrap();
        let run = plan_into(&example(name), dir.path()).expect(0);
        assert!(run.stdout().contains("status: "), "{name}: summary printed");
        assert!(
            run.stdout().contains("lower bound"),
            "{name}: bound printed"
        );
        let plan = dir.path().join("plan.json");
        let check =
            tierplan(&["check", &example(name), "--plan", plan.to_str().unwrap()]).expect(0);
        assert!(
            check.stdout().starts_with("valid"),
            "{name}: {}",
            check.stdout()
        );
    }
}

#[test]
fn plans_are_byte_identical_across_runs() {
    for name in ["nist-800-190", "multi-tenant-saas", "infeasible"] {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        plan_into(&example(name), a.path());
        plan_into(&example(name), b.path());
        let read = |d: &Path| std::fs::read(d.join("plan.json")).unwrap();
        assert_eq!(read(a.path()), read(b.path()), "{name}");
    }
}

#[test]
fn infeasible_example_explains_every_unplaced_replica() {
    let dir = tempfile::tempdir().unwrap();
    let run = plan_into(&example("infeasible"), dir.path()).expect(1);
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["status"], "infeasible");
    let unplaced = plan["unplaced"].as_array().unwrap();
    assert!(!unplaced.is_empty());
    for u in unplaced {
        assert!(!u["reasons"].as_array().unwrap().is_empty(), "{u}");
    }
    let text = run.stdout();
    assert!(
        text.contains("lack the required label kubernetes.io/arch=arm64"),
        "{text}"
    );
    assert!(text.contains("too small"), "{text}");
    assert!(text.contains("minZones 3"), "{text}");
    // The checker agrees the plan is consistent, and still refuses it as incomplete.
    let check = tierplan(&[
        "check",
        &example("infeasible"),
        "--plan",
        dir.path().join("plan.json").to_str().unwrap(),
    ])
    .expect(1);
    assert!(
        check.stdout().starts_with("consistent"),
        "{}",
        check.stdout()
    );
}

#[test]
fn invalid_input_exits_2_lists_every_problem_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.yaml");
    std::fs::write(
        &input,
        "apiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {name: web}\nspec:\n  replica: 2\n  sensitivity: public\n---\napiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {name: db}\nspec:\n  sensitivity: secret\n  resources: {cpu: 2x}\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = plan_into(input.to_str().unwrap(), &out).expect(2);
    let err = run.stderr();
    assert!(
        err.contains("unknown field `replica`") && err.contains("did you mean `replicas`?"),
        "{err}"
    );
    assert!(err.contains("unknown sensitivity level `secret`"), "{err}");
    assert!(err.contains("spec.resources.cpu"), "{err}");
    assert!(err.contains("inventory is empty"), "{err}");
    assert!(err.contains("invalid input: 4 problems"), "{err}");
    assert!(err.contains("bad.yaml: document 2"), "{err}");
    assert!(!out.exists(), "nothing is written for invalid input");
}

#[test]
fn usage_errors_exit_2() {
    tierplan(&["plan"]).expect(2);
    tierplan(&["frobnicate"]).expect(2);
    tierplan(&["plan", &example("nist-800-190"), "--time-limit", "-1"]).expect(2);
}

#[test]
fn check_rejects_a_tampered_plan() {
    let dir = tempfile::tempdir().unwrap();
    plan_into(&example("nist-800-190"), dir.path()).expect(0);
    let path = dir.path().join("plan.json");
    let mut plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    // Move a restricted payroll replica onto a node of another pool.
    let pools = plan["pools"].as_array().unwrap().clone();
    let foreign = pools
        .iter()
        .find(|p| {
            !p["workloads"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w == "payroll/payroll-db")
        })
        .and_then(|p| p["nodes"][0].as_str())
        .unwrap()
        .to_string();
    for p in plan["placements"].as_array_mut().unwrap() {
        if p["workload"] == "payroll/payroll-db" {
            p["node"] = serde_json::Value::String(foreign.clone());
            break;
        }
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
    let check = tierplan(&[
        "check",
        &example("nist-800-190"),
        "--plan",
        path.to_str().unwrap(),
    ])
    .expect(1);
    assert!(
        check.stdout().contains("payroll/payroll-db"),
        "{}",
        check.stdout()
    );
}

#[test]
fn schemas_are_up_to_date() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas");
    for (name, text) in tierplan::schema::all() {
        let committed = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(
            committed == text,
            "schemas/{name} is stale: run `cargo run -- schemas schemas` and commit the result"
        );
    }
}

/// `example`'s files copied into a fresh directory, with `edit` applied to its policy.yaml.
fn edited_example(name: &str, edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(example(name)).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap();
        let text = if file == "policy.yaml" {
            edit(text)
        } else {
            text
        };
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    dir
}

#[test]
fn plan_states_each_namespace_over_several_pools() {
    let out = tempfile::tempdir().unwrap();
    let run = plan_into(&example("multi-tenant-saas"), out.path()).expect(0);
    let text = run.stdout();
    assert!(text.contains("finding: "), "{text}");
    // platform runs the public docs site and restricted billing.
    let line = text
        .lines()
        .find(|l| l.contains("namespace platform spans 4 pools"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("public/internal: docs-site") && line.contains("restricted: billing"),
        "{line}"
    );
    let notes = std::fs::read_to_string(out.path().join("manifests/NOTES.txt")).unwrap();
    assert!(
        notes.contains("  - namespace platform spans 4 pools: "),
        "{notes}"
    );
}

#[test]
fn namespace_boundary_deny_refuses_the_input() {
    let input = edited_example("multi-tenant-saas", |p| {
        p.replace("spec:\n", "spec:\n  namespaceBoundary: deny\n")
    });
    let out = tempfile::tempdir().unwrap();
    let run = plan_into(input.path().to_str().unwrap(), &out.path().join("o")).expect(2);
    let text = run.stderr();
    assert!(
        text.contains("policy.yaml: document 1: spec.namespaceBoundary: namespace platform spans"),
        "{text}"
    );
    assert!(
        text.contains("[E071]") && text.contains("fix: give the workloads of each pool"),
        "{text}"
    );
    assert!(
        !out.path().join("o").join("plan.json").exists(),
        "nothing is written"
    );
}

#[test]
fn plan_says_loudly_that_admission_only_warns_without_system_daemon_sets() {
    let unlisted = edited_example("nist-800-190", |p| {
        let start = p
            .find("  systemDaemonSets:")
            .expect("the example lists them");
        let end = p[start..].find("  # Every pool").expect("then headroom") + start;
        format!("{}{}", &p[..start], &p[end..])
    });
    let out = tempfile::tempdir().unwrap();
    let run = plan_into(unlisted.path().to_str().unwrap(), out.path()).expect(0);
    let text = run.stderr();
    assert!(
        text.contains("WARNING: the Policy (") && text.contains("lists no systemDaemonSets"),
        "{text}"
    );
    assert!(
        text.contains("NOT denied") && text.contains("aws-node"),
        "{text}"
    );
    let binding =
        std::fs::read_to_string(out.path().join("manifests/admission/binding.yaml")).unwrap();
    assert!(binding.contains("- Warn\n  - Audit"), "{binding}");
    // With the DaemonSets listed, as in the example, the binding denies and nothing is said.
    let out = tempfile::tempdir().unwrap();
    let run = plan_into(&example("nist-800-190"), out.path()).expect(0);
    assert!(!run.stderr().contains("WARNING"), "{}", run.stderr());
    let binding =
        std::fs::read_to_string(out.path().join("manifests/admission/binding.yaml")).unwrap();
    assert!(binding.contains("- Deny"), "{binding}");
}

#[test]
fn an_empty_separate_by_puts_every_workload_in_one_class() {
    // It used to end in exit 3: the planner named that one class with the empty string,
    // which the checker refuses.
    let input = edited_example("nist-800-190", |p| {
        let line = p
            .lines()
            .find(|l| l.trim_start().starts_with("separateBy:"))
            .expect("the example sets separateBy")
            .to_string();
        p.replace(&line, "  separateBy: []")
    });
    let out = tempfile::tempdir().unwrap();
    let run = plan_into(input.path().to_str().unwrap(), out.path()).expect(0);
    assert!(run.stdout().contains("class all"), "{}", run.stdout());
    let plan = out.path().join("plan.json");
    tierplan(&[
        "check",
        input.path().to_str().unwrap(),
        "--plan",
        plan.to_str().unwrap(),
    ])
    .expect(0);
}

#[test]
fn a_closed_stdout_ends_quietly() {
    // `tierplan plan … | head -1`: the reader goes away after one line. Rust ignores
    // SIGPIPE, so the write fails with EPIPE; that must end the program with 0, not a panic.
    let out = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args(["plan", &example("nist-800-190"), "--out"])
        .arg(out.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closing our end before tierplan writes makes every write of its summary fail.
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn out_dash_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .current_dir(dir.path())
        .args(["plan", &example("nist-800-190"), "--out", "-"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("not to standard output"));
    assert!(!dir.path().join("-").exists(), "no folder named `-`");
}

#[test]
fn an_empty_inventory_names_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(&example("nist-800-190")).join("workloads.yaml"),
        dir.path().join("workloads.yaml"),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = plan_into(dir.path().to_str().unwrap(), out.path()).expect(2);
    let stderr = run.stderr();
    assert!(stderr.contains("[E051]"), "{stderr}");
    assert!(
        stderr.contains(&format!("in what was read: {}", dir.path().display())),
        "{stderr}"
    );
}

#[test]
fn an_unknown_field_does_not_hide_the_other_problems_of_its_document() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.yaml");
    std::fs::write(
        &input,
        "apiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {name: web}\nspec: {sensitivity: secret, replicaz: 2, resources: {cpu: 5x}}\n---\napiVersion: tierplan/v1alpha1\nkind: Node\nmetadata: {name: n1}\nspec: {allocatable: {cpu: 4}}\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = plan_into(input.to_str().unwrap(), out.path()).expect(2);
    let stderr = run.stderr();
    assert!(stderr.contains("invalid input: 3 problems"), "{stderr}");
    for code in ["[E013]", "[E061]", "[E035]"] {
        assert!(stderr.contains(code), "{code}: {stderr}");
    }
}

#[test]
fn check_says_first_when_the_plan_was_made_for_other_inputs() {
    let out = tempfile::tempdir().unwrap();
    plan_into(&example("nist-800-190"), out.path()).expect(0);
    let plan = out.path().join("plan.json");
    let plan = plan.to_str().unwrap();
    let text = std::fs::read_to_string(plan).unwrap();
    assert!(text.contains("\"inputs\": \"sha256:"), "{text}");

    let other = tierplan(&["check", &example("multi-tenant-saas"), "--plan", plan]).expect(1);
    assert!(
        other
            .stdout()
            .starts_with("note: the plan was made for other inputs"),
        "{}",
        other.stdout()
    );

    // The same documents in one file, in another order, with comments and an annotation:
    // the same inputs.
    let one = tempfile::tempdir().unwrap();
    let mut docs: Vec<String> = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(example("nist-800-190"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.reverse();
    for path in files {
        docs.push(std::fs::read_to_string(path).unwrap());
    }
    let all = format!("# one file\n{}", docs.join("\n---\n")).replacen(
        "metadata: {name: storefront, namespace: web}",
        "metadata: {name: storefront, namespace: web, annotations: {owner: platform-team}}",
        1,
    );
    assert!(all.contains("owner: platform-team"));
    let file = one.path().join("all.yaml");
    std::fs::write(&file, all).unwrap();
    let same = tierplan(&["check", file.to_str().unwrap(), "--plan", plan]).expect(0);
    assert!(!same.stdout().contains("other inputs"), "{}", same.stdout());
}

#[test]
fn summary_flags_verbose_quiet_and_json() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let nist = example("nist-800-190");
    // Solver counters only with --verbose; the gap says what is proven.
    let plain = tierplan(&["plan", &nist, "--out", dir]).expect(0);
    assert!(!plain.stdout().contains("work "), "{}", plain.stdout());
    assert!(
        plain.stdout().contains("(gap 0: proven optimal)")
            || plain.stdout().contains("optimality not proven)"),
        "{}",
        plain.stdout()
    );
    let verbose = tierplan(&["plan", &nist, "--out", dir, "--verbose"]).expect(0);
    assert!(verbose.stdout().contains("solve: "), "{}", verbose.stdout());
    assert!(verbose.stdout().contains(", work "), "{}", verbose.stdout());
    let quiet = tierplan(&["plan", &nist, "--out", dir, "-q"]).expect(0);
    assert_eq!(quiet.stdout(), "");
    tierplan(&["plan", &nist, "--out", dir, "-q", "-v"]).expect(2);
    let json = tierplan(&["plan", &nist, "--out", dir, "--output", "json"]).expect(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout()).expect("one JSON object");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(v["status"], plan["status"]);
    assert_eq!(v["costPerHour"], plan["objective"]["cost"]);
    assert_eq!(
        v["pools"].as_array().unwrap().len(),
        plan["pools"].as_array().unwrap().len()
    );
    assert!(v["written"][0].as_str().unwrap().ends_with("plan.json"));
    assert!(
        v.get("infeasibility").is_none(),
        "only infeasible plans carry it"
    );
    // An infeasible plan's summary says, as plan.json does, whether that is proven.
    let other = tempfile::tempdir().unwrap();
    let json = tierplan(&[
        "plan",
        &example("infeasible"),
        "--out",
        other.path().to_str().unwrap(),
        "--output",
        "json",
    ])
    .expect(1);
    let v: serde_json::Value = serde_json::from_str(&json.stdout()).expect("one JSON object");
    assert_eq!(v["status"], "infeasible");
    assert_eq!(v["infeasibility"]["proven"], true);
    assert_eq!(v["infeasibility"]["by"], "no-eligible-node");
}

/// A node list without zone labels while workloads ask for minZones: `plan` says so up
/// front, and the unplaced reason counts the zone-less nodes apart instead of contradicting
/// itself ("the 3 node(s) that can host it are in 1 zone(s)").
#[test]
fn nodes_without_a_zone_are_named_when_workloads_ask_for_min_zones() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.yaml");
    let mut text = String::from(
        "apiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {name: web}\nspec: {sensitivity: public, replicas: 2, minZones: 2, resources: {cpu: 1}}\n",
    );
    for (name, zone) in [("a", Some("z1")), ("b", None), ("c", None)] {
        let labels = zone.map_or(String::new(), |z| {
            format!(", labels: {{topology.kubernetes.io/zone: {z}}}")
        });
        text.push_str(&format!(
            "---\napiVersion: tierplan/v1alpha1\nkind: Node\nmetadata: {{name: {name}{labels}}}\nspec: {{allocatable: {{cpu: 4}}}}\n"
        ));
    }
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("out");
    let run = plan_into(input.to_str().unwrap(), &out).expect(1);
    assert!(
        run.stderr()
            .contains("warning: 2 node(s) have no zone (b, ...) while workloads ask for minZones"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stdout()
            .contains("are in 1 zone(s): z1; 2 of them have no zone label and count for no zone"),
        "{}",
        run.stdout()
    );
}
