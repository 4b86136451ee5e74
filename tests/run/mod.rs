//! Helpers shared by the end-to-end tests that run the `tierplan` binary on
//! `examples/nist-800-190` and on their own inputs.

// Each test crate that includes this module uses only some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use tierplan::plan::Plan;

/// The example the end-to-end tests run on (under `examples/`).
const EXAMPLE: &str = "nist-800-190";

/// The example's directory, absolute.
pub fn example() -> String {
    example_dir(EXAMPLE)
}

/// The directory of `examples/<name>`, absolute.
pub fn example_dir(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

/// Runs the binary.
pub fn tierplan(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args(args)
        .output()
        .expect("tierplan runs")
}

/// Standard output of a run that must succeed.
#[track_caller]
pub fn succeeded(args: &[&str]) -> String {
    let out = tierplan(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Plans `paths` into a temporary directory; the plan file and the directory (kept alive).
pub fn planned(paths: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("out");
    let mut args = vec!["plan", "--quiet", "--out", out_dir.to_str().unwrap()];
    args.extend_from_slice(paths);
    let out = tierplan(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, out_dir.join("plan.json"))
}

/// The plan in `path`.
pub fn read_plan(path: &Path) -> Plan {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
