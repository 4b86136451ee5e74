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

/// The sweep every test runs: the NIST example's scenarios and every node failure.
fn sweep_args() -> Vec<String> {
    vec![
        repo("examples/nist-800-190"),
        "--scenario".into(),
        repo("examples/whatif/scenarios.yaml"),
        "--failures".into(),
        "node".into(),
    ]
}

/// `--emit-job` of the sweep into `dir`; the text of the file written.
fn emit(dir: &Path) -> String {
    let mut args = vec!["whatif".to_string()];
    args.extend(sweep_args());
    args.extend(["--emit-job".into(), dir.display().to_string()]);
    args.extend(["--shards".into(), SHARDS.to_string()]);
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

fn simulated() -> &'static Simulated {
    static RUN: OnceLock<Simulated> = OnceLock::new();
    RUN.get_or_init(simulate)
}

fn simulate() -> Simulated {
    let tmp = tempfile::tempdir().unwrap();
    let (config_map, job) = read_back(&emit(&tmp.path().join("job")));
    // The ConfigMap's files, in a directory standing for the pods' /inputs mount.
    let inputs = tmp.path().join("inputs");
    std::fs::create_dir(&inputs).unwrap();
    for (key, text) in config_map.data.unwrap() {
        std::fs::write(inputs.join(key), text).unwrap();
    }
    let spec = job.spec.unwrap();
    assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
    assert_eq!(spec.completions, Some(SHARDS as i32));
    let container = &spec.template.spec.unwrap().containers[0];
    assert_eq!(
        container.command.as_deref(),
        Some(&["tierplan".to_string()][..])
    );
    let args = container.args.clone().unwrap();
    let mut shards = Vec::new();
    for index in 0..SHARDS {
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

#[test]
fn shards_of_the_job_merged_equal_one_unsharded_run() {
    let sim = simulated();
    let tmp = tempfile::tempdir().unwrap();
    let merged = tmp.path().join("merged");
    // Exit 1: some node failures leave the example infeasible, as in the unsharded run.
    expect(&merge(&sim.shards.iter().collect::<Vec<_>>(), &merged), 1);
    let whole = tmp.path().join("whole");
    let mut args = vec!["whatif".to_string()];
    args.extend(sweep_args());
    args.extend(["--out".into(), whole.display().to_string()]);
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
    emit(tmp.path());
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
