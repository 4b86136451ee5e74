//! `tierplan whatif --emit-job`: the emitted objects validate against Kubernetes' schemas, and
//! the Job, simulated here one index at a time with exactly its container's arguments and its
//! ConfigMap's files, gives shards that `whatif merge` joins into the whatif.json of one
//! unsharded run, byte for byte.
//!
//! Tests that need `kubernetes-validate` skip with a note when it is missing, unless
//! `TIERPLAN_REQUIRE_TOOLS=1` (set by `.ci/run`), which makes a missing tool a failure.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ConfigMap;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const SHARDS: usize = 3;

fn tierplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args(args)
        .output()
        .expect("tierplan runs")
}

#[track_caller]
fn expect(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

/// The sweep of the NIST example's scenarios and of every node failure.
const NODE_FAILURES: &[&str] = &["--failures", "node"];

/// `whatif` of the NIST example's scenarios with the sweep `flags`, then `extra`.
fn whatif_args(flags: &[&str], extra: &[String]) -> Vec<String> {
    let mut args = vec![
        "whatif".to_string(),
        repo("examples/nist-800-190"),
        "--scenario".into(),
        repo("examples/whatif/scenarios.yaml"),
    ];
    args.extend(flags.iter().map(|f| f.to_string()));
    args.extend_from_slice(extra);
    args
}

/// `--emit-job` of the sweep `flags` in `shards` shards into `dir`; the text written.
fn emit(dir: &Path, flags: &[&str], shards: usize) -> String {
    let args = whatif_args(
        flags,
        &[
            "--emit-job".into(),
            dir.display().to_string(),
            "--shards".into(),
            shards.to_string(),
        ],
    );
    let out = tierplan(&args.iter().map(String::as_str).collect::<Vec<_>>());
    expect(&out, 0);
    std::fs::read_to_string(dir.join("whatif-job.yaml")).unwrap()
}

/// The ConfigMap and the Job of the emitted file, read back as typed objects.
fn read_back(text: &str) -> (ConfigMap, Job) {
    let (mut config_map, mut job) = (None, None);
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(doc).unwrap();
        match value.get("kind").and_then(|k| k.as_str()) {
            Some("ConfigMap") => config_map = Some(serde_yaml::from_value(value).unwrap()),
            Some("Job") => job = Some(serde_yaml::from_value(value).unwrap()),
            _ => {}
        }
    }
    (config_map.expect("a ConfigMap"), job.expect("a Job"))
}

/// What the Job's pods print, one whatif.json per index, simulated locally; computed once.
struct Simulated {
    _tmp: tempfile::TempDir,
    shards: Vec<PathBuf>,
}

/// The node-failure sweep's Job, in [`SHARDS`] shards.
fn simulated() -> &'static Simulated {
    static RUN: OnceLock<Simulated> = OnceLock::new();
    RUN.get_or_init(|| simulate(NODE_FAILURES, SHARDS))
}

/// Emits the Job of the sweep `flags` in `n` shards and runs each index as its pod would.
fn simulate(flags: &[&str], n: usize) -> Simulated {
    let tmp = tempfile::tempdir().unwrap();
    let (config_map, job) = read_back(&emit(&tmp.path().join("job"), flags, n));
    // The ConfigMap's files, in a directory standing for the pods' /inputs mount.
    let inputs = tmp.path().join("inputs");
    std::fs::create_dir(&inputs).unwrap();
    for (key, text) in config_map.data.unwrap() {
        std::fs::write(inputs.join(key), text).unwrap();
    }
    let spec = job.spec.unwrap();
    assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
    assert_eq!(spec.completions, Some(n as i32));
    let container = &spec.template.spec.unwrap().containers[0];
    assert_eq!(
        container.command.as_deref(),
        Some(&["tierplan".to_string()][..])
    );
    let args = container.args.clone().unwrap();
    let mut shards = Vec::new();
    for index in 0..n {
        // The Job controller adds JOB_COMPLETION_INDEX to every container of an Indexed Job's
        // pods (kubernetes/kubernetes pkg/controller/job/indexed_job_utils.go:
        // `completionIndexEnvName = "JOB_COMPLETION_INDEX"`, set by
        // addCompletionIndexEnvVariable from the pod's job-completion-index annotation or
        // label through the downward API), and the kubelet expands `$(VAR)` in `args` from
        // the container's environment (pkg/kubelet/container/helpers.go,
        // ExpandContainerCommandAndArgs; the Container.args API docs: "Variable references
        // $(VAR_NAME) are expanded using the container's environment"). So pod I runs these
        // arguments with `$(JOB_COMPLETION_INDEX)` replaced by I.
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                a.replace("$(JOB_COMPLETION_INDEX)", &index.to_string())
                    .replace("/inputs/", &format!("{}/", inputs.display()))
            })
            .collect();
        let out = tierplan(&args.iter().map(String::as_str).collect::<Vec<_>>());
        expect(&out, 0);
        let shard = tmp.path().join(format!("shard-{index}.json"));
        std::fs::write(&shard, &out.stdout).unwrap();
        shards.push(shard);
    }
    Simulated { _tmp: tmp, shards }
}

fn merge(shards: &[&PathBuf], out: &Path) -> Output {
    let mut args = vec!["whatif".to_string(), "merge".to_string()];
    args.extend(shards.iter().map(|p| p.display().to_string()));
    args.extend(["--out".into(), out.display().to_string()]);
    tierplan(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// `whatif merge` of the shards equals the whatif.json of one unsharded run of `flags`, byte
/// for byte; both exit 1 (some failures leave the example infeasible).
fn merged_equals_unsharded(sim: &Simulated, flags: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let merged = tmp.path().join("merged");
    expect(&merge(&sim.shards.iter().collect::<Vec<_>>(), &merged), 1);
    let whole = tmp.path().join("whole");
    let args = whatif_args(flags, &["--out".into(), whole.display().to_string()]);
    expect(
        &tierplan(&args.iter().map(String::as_str).collect::<Vec<_>>()),
        1,
    );
    let merged = std::fs::read(merged.join("whatif.json")).unwrap();
    let whole = std::fs::read(whole.join("whatif.json")).unwrap();
    assert!(
        merged == whole,
        "the merged shards differ from the unsharded run"
    );
}

#[test]
fn shards_of_the_job_merged_equal_one_unsharded_run() {
    merged_equals_unsharded(simulated(), NODE_FAILURES);
}

#[test]
fn every_sweep_merges_to_the_unsharded_run() {
    // Compaction and growth, searches that one shard runs, with zone failures and the cost
    // of isolation.
    let flags = &[
        "--failures",
        "zone",
        "--cost-of-isolation",
        "--compaction",
        "--seeds",
        "1",
        "--growth",
    ];
    merged_equals_unsharded(&simulate(flags, 4), flags);
}

#[test]
fn merge_refuses_missing_repeated_and_foreign_shards() {
    let sim = simulated();
    let tmp = tempfile::tempdir().unwrap();
    let [s0, s1, s2] = [&sim.shards[0], &sim.shards[1], &sim.shards[2]];
    let refused = |shards: &[&PathBuf], why: &str| {
        let out = merge(shards, &tmp.path().join("out"));
        expect(&out, 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{stderr}");
        assert!(stderr.contains("fix:"), "{stderr}");
        assert!(!tmp.path().join("out").exists(), "nothing written");
    };
    refused(&[s0, s2], "3 shards, 2 results");
    refused(&[s0, s1, s1], "repeat or leave a gap");
    // Shard 2/3 of a sweep from another baseline.
    let foreign = tmp.path().join("foreign.json");
    let out = tierplan(&[
        "whatif",
        &repo("examples/multi-tenant-saas"),
        "--failures",
        "node",
        "--shard",
        "2/3",
        "--output",
        "json",
    ]);
    std::fs::write(&foreign, &out.stdout).unwrap();
    refused(&[s0, s1, &foreign], "another baseline");
}

#[test]
fn the_emitted_objects_validate_against_the_kubernetes_schemas() {
    let probe = Command::new("kubernetes-validate")
        .arg("--version")
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var("TIERPLAN_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "`kubernetes-validate` is required (TIERPLAN_REQUIRE_TOOLS=1) but does not run"
        );
        eprintln!("note: `kubernetes-validate` not found; skipping (set TIERPLAN_REQUIRE_TOOLS=1 to fail instead)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    emit(tmp.path(), NODE_FAILURES, SHARDS);
    let file = tmp.path().join("whatif-job.yaml");
    let out = Command::new("kubernetes-validate")
        .args(["--strict", "-k", "1.33.0"])
        .arg(&file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && !text.contains("ERROR"), "{text}");
    // Four objects, each passed by name.
    for object in [
        "namespace/tierplan-whatif",
        "serviceaccount/tierplan-whatif",
        "configmap/tierplan-whatif-inputs",
        "job/tierplan-whatif",
    ] {
        let passed = format!("passed for resource {object} ");
        assert!(text.contains(&passed), "{object} not validated:\n{text}");
    }
}

#[test]
fn bad_job_options_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("job");
    let dir = dir.to_str().unwrap();
    let example = repo("examples/nist-800-190");
    for (extra, why) in [
        (&["--shards", "0"][..], "--shards 0"),
        (
            &["--shards", "2", "--namespace", "Not_A_Name"][..],
            "--namespace `Not_A_Name`",
        ),
    ] {
        let mut args = vec!["whatif", &example, "--emit-job", dir];
        args.extend(extra);
        let out = tierplan(&args);
        expect(&out, 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why) && stderr.contains("fix:"), "{stderr}");
        assert!(!Path::new(dir).exists(), "nothing written");
    }
    // --shard and --out belong to runs that plan here, not to --emit-job.
    for extra in [["--shard", "0/2"], ["--out", dir]] {
        let mut args = vec!["whatif", &example, "--emit-job", dir, "--shards", "2"];
        args.extend(extra);
        expect(&tierplan(&args), 2);
    }
}
