//! What `tierplan plan` promises about its output, end to end: it writes only whole files,
//! only inside the output directory, never through a symbolic link, never over a file it did
//! not write (without `--force`), nothing when interrupted, and a checked plan within
//! `--time-limit`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn tierplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("tierplan runs")
}

#[track_caller]
fn code(out: &Output, expected: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(expected),
        "stdout:\n{}\nstderr:\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

const NIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/nist-800-190");
const SAAS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/multi-tenant-saas");
const INFEASIBLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/infeasible");

fn plan(input: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["plan", input, "--out", out.to_str().unwrap()];
    args.extend(extra);
    tierplan(&args)
}

/// The files in `dir`, sorted; empty when it does not exist.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The issue-2 instance (2,000 workloads, 1,000 nodes) as one YAML file in `dir`.
fn large_input(dir: &Path) -> PathBuf {
    let path = dir.join("large.yaml");
    // Large enough that even an optimised build is still planning when the signal comes.
    let docs =
        tierplan::generate::generate(&tierplan::generate::GenParams::scaled(10_000, 4_000, 1));
    std::fs::write(&path, docs.to_yaml()).unwrap();
    path
}

#[test]
fn rewrites_its_own_plan_and_records_what_it_owns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    code(&plan(NIST, &out, &[]), 0);
    code(&plan(NIST, &out, &[]), 0);
    code(&plan(INFEASIBLE, &out, &[]), 1);
    assert_eq!(listing(&out), [".tierplan-owned", "plan.json"]);
}

#[test]
fn refuses_to_overwrite_a_plan_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("plan.json"), "my own notes\n").unwrap();
    let err = code(&plan(NIST, &out, &[]), 2);
    assert!(
        err.contains("plan.json: exists and was not written by tierplan")
            && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("plan.json")).unwrap(),
        "my own notes\n"
    );
    code(&plan(NIST, &out, &["--force"]), 0);
    assert!(std::fs::read_to_string(out.join("plan.json"))
        .unwrap()
        .contains("\"kind\": \"Plan\""));
}

#[test]
fn refuses_to_overwrite_a_plan_edited_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    code(&plan(NIST, &out, &[]), 0);
    let edited = std::fs::read_to_string(out.join("plan.json")).unwrap() + " ";
    std::fs::write(out.join("plan.json"), &edited).unwrap();
    code(&plan(NIST, &out, &[]), 2);
    assert_eq!(
        std::fs::read_to_string(out.join("plan.json")).unwrap(),
        edited
    );
}

#[cfg(unix)]
#[test]
fn refuses_to_follow_a_symlink_out_of_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("precious.txt");
    std::fs::write(&outside, "precious\n").unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("plan.json")).unwrap();
    let err = code(&plan(NIST, &out, &[]), 2);
    assert!(err.contains("is a symbolic link"), "{err}");
    // Forced, the link itself is replaced; what it pointed to is never written.
    code(&plan(NIST, &out, &["--force"]), 0);
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious\n");
    assert!(std::fs::symlink_metadata(out.join("plan.json"))
        .unwrap()
        .is_file());
}

#[cfg(unix)]
#[test]
fn refuses_an_output_directory_that_is_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let link = dir.path().join("out");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let err = code(&plan(NIST, &link, &["--force"]), 2);
    assert!(err.contains("is a symbolic link"), "{err}");
    assert!(listing(&elsewhere).is_empty());
}

#[test]
fn refuses_an_output_path_that_is_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out");
    std::fs::write(&file, "x").unwrap();
    let err = code(&plan(NIST, &file, &[]), 2);
    assert!(err.contains("is not a directory"), "{err}");
}

#[test]
fn invalid_input_leaves_an_existing_plan_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    code(&plan(NIST, &out, &[]), 0);
    let before = std::fs::read(out.join("plan.json")).unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "kind: [").unwrap();
    code(&plan(bad.to_str().unwrap(), &out, &[]), 2);
    assert_eq!(std::fs::read(out.join("plan.json")).unwrap(), before);
}

#[test]
fn tiny_time_limit_still_yields_a_checked_plan() {
    let dir = tempfile::tempdir().unwrap();
    let large = large_input(dir.path());
    for input in [NIST.to_string(), large.display().to_string()] {
        let out = dir.path().join("out");
        let run = plan(&input, &out, &["--time-limit", "0.001", "--force"]);
        code(&run, 0);
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(stdout.contains("(gap "), "{stdout}");
        assert!(stdout.contains("--time-limit cut the search"), "{stdout}");
        let plan_file = out.join("plan.json");
        code(
            &tierplan(&["check", &input, "--plan", plan_file.to_str().unwrap()]),
            0,
        );
    }
}

/// A cut search may not have reached a feasible plan yet (multi-tenant-saas needs about
/// 10 ms): what it writes is still whole and tells the truth, checked by the checker.
#[test]
fn tiny_time_limit_never_writes_an_unchecked_plan() {
    let dir = tempfile::tempdir().unwrap();
    let input = SAAS;
    let out = dir.path().join("out");
    let run = plan(input, &out, &["--time-limit", "0.000001"]);
    let plan_file = out.join("plan.json");
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan_file).unwrap()).unwrap();
    let expected = if written["status"] == "infeasible" {
        1
    } else {
        0
    };
    code(&run, expected);
    let check = tierplan(&["check", input, "--plan", plan_file.to_str().unwrap()]);
    code(&check, expected);
    assert!(!String::from_utf8_lossy(&check.stdout).contains("INVALID"));
}

#[test]
fn rejects_time_limits_that_are_not_durations() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for bad in ["0", "-1", "NaN", "inf", "1e300"] {
        let arg = format!("--time-limit={bad}");
        let err = code(&plan(NIST, &out, &[&arg]), 2);
        assert!(err.contains("--time-limit"), "{bad}: {err}");
        assert!(!out.exists(), "{bad}");
    }
}

#[cfg(unix)]
#[test]
fn interrupted_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let large = large_input(dir.path());
    for signal in ["INT", "TERM"] {
        let out = dir.path().join(format!("out-{signal}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_tierplan"))
            .args([
                "plan",
                large.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            child.try_wait().unwrap().is_none(),
            "the plan finished before the signal; use a larger instance"
        );
        let start = Instant::now();
        let kill = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -{signal} {}", child.id()))
            .status()
            .unwrap();
        assert!(kill.success());
        let result = child.wait_with_output().unwrap();
        assert!(start.elapsed() < Duration::from_secs(10));
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(130), "{signal}: {stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert!(listing(&out).is_empty(), "{signal}: {:?}", listing(&out));
    }
}

/// Every file under `dir`, recursively, with its text.
fn texts(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(texts(&path));
        } else {
            out.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
        }
    }
    out
}

#[test]
fn manifests_carry_no_shell_text_and_no_free_text_from_the_input() {
    // Free-text attributes (not names) full of shell syntax: they decide tiers, and must
    // never reach an emitted object.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.yaml");
    let hostile = [
        "$(touch /tmp/pwned)",
        "`id`",
        "a;rm -rf /",
        "${HOME}",
        "x' || true #",
    ];
    let mut yaml = String::from(
        "apiVersion: tierplan/v1alpha1
kind: Policy
metadata: {name: p}
spec: {separateBy: [sensitivity, purpose, team]}
",
    );
    for (i, h) in hostile.iter().enumerate() {
        yaml.push_str(&format!(
            "---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {{name: w{i}, namespace: ns, annotations: {{note: {h:?}}}}}
spec: {{sensitivity: public, purpose: {h:?}, attributes: {{team: {h:?}}}, resources: {{cpu: 100m}}}}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {{name: n{i}}}
spec: {{allocatable: {{cpu: 1}}}}
"
        ));
    }
    std::fs::write(&input, yaml).unwrap();
    let out = dir.path().join("out");
    code(&plan(input.to_str().unwrap(), &out, &[]), 0);
    let files = texts(&out.join("manifests"));
    assert!(files.len() > 3, "{files:?}");
    for (path, text) in files {
        for h in hostile {
            assert!(!text.contains(h), "{} carries `{h}`", path.display());
        }
        let ext = path.extension().and_then(|e| e.to_str());
        if ext == Some("sh") {
            // The node scripts hold only the command forms the proof parses.
            tierplan::sched::commands::parse(&path, &text, tierplan::emit::POOL_LABEL)
                .unwrap_or_else(|e| panic!("{e}"));
            continue;
        }
        if ext == Some("md") {
            continue;
        }
        for field in ["command:", "args:", "script", "lifecycle:", "exec:"] {
            assert!(!text.contains(field), "{} has `{field}`", path.display());
        }
    }
}
