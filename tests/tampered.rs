//! Tampered manifests: each directory under `tests/data/tampered/` holds a `case.yaml` that
//! names an example, edits to make to the manifests `tierplan plan` writes for it, and the
//! verdict `tierplan check --manifests` must reach (exit code, and text of its output).
//!
//! The edits are applied to freshly planned manifests, so a case keeps testing the same
//! attack when the planner or the emitter changes what they write elsewhere.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    example: String,
    #[serde(with = "serde_yaml::with::singleton_map_recursive")]
    edits: Vec<Edit>,
    expect: Expect,
}

/// One change to a file of `manifests/` (paths relative to it).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
enum Edit {
    /// Replace the first occurrence of `from`, which must occur.
    Replace {
        file: String,
        from: String,
        to: String,
    },
    /// Drop every line containing `containing` (at least one must).
    DropLines {
        file: String,
        containing: String,
    },
    Append {
        file: String,
        text: String,
    },
    /// Write a file, creating folders as needed.
    Write {
        file: String,
        text: String,
    },
    /// Remove a file or a folder.
    Remove(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    exit: i32,
    #[serde(default)]
    stdout: Vec<String>,
    #[serde(default)]
    stderr: Vec<String>,
}

fn tierplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args(args)
        .output()
        .expect("tierplan runs")
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Plans each example once: (its input, the output directory with plan.json and manifests/).
fn planned(example: &str) -> (PathBuf, PathBuf) {
    static PLANNED: OnceLock<Mutex<BTreeMap<String, tempfile::TempDir>>> = OnceLock::new();
    let input = root().join("examples").join(example);
    let mut cache = PLANNED.get_or_init(Default::default).lock().unwrap();
    let dir = cache.entry(example.to_string()).or_insert_with(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = tierplan(&[
            "plan",
            input.to_str().unwrap(),
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{example}: {out:?}");
        dir
    });
    (input, dir.path().to_path_buf())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

fn apply(dir: &Path, edit: &Edit, case: &str) {
    let read = |file: &str| {
        std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{case}: {file}: {e}"))
    };
    match edit {
        Edit::Replace { file, from, to } => {
            let text = read(file);
            assert!(
                text.contains(from.as_str()),
                "{case}: `{from}` is not in {file}"
            );
            std::fs::write(dir.join(file), text.replacen(from.as_str(), to, 1)).unwrap();
        }
        Edit::DropLines { file, containing } => {
            let text = read(file);
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| !l.contains(containing.as_str()))
                .collect();
            assert!(
                kept.len() < text.lines().count(),
                "{case}: no line of {file} contains `{containing}`"
            );
            std::fs::write(dir.join(file), kept.join("\n") + "\n").unwrap();
        }
        Edit::Append { file, text } => {
            std::fs::write(dir.join(file), read(file) + text).unwrap();
        }
        Edit::Write { file, text } => {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Edit::Remove(file) => {
            let path = dir.join(file);
            if path.is_dir() {
                std::fs::remove_dir_all(path).unwrap();
            } else {
                std::fs::remove_file(path).unwrap();
            }
        }
    }
}

#[test]
fn every_tampered_case_gets_its_verdict() {
    let cases = root().join("tests/data/tampered");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert!(names.len() >= 20, "the cases are all there");
    let mut failed = Vec::new();
    for case_dir in names {
        let name = case_dir.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(case_dir.join("case.yaml")).unwrap();
        let case: Case = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (input, out) = planned(&case.example);
        let work = tempfile::tempdir().unwrap();
        let manifests = work.path().join("manifests");
        copy_dir(&out.join("manifests"), &manifests);
        for edit in &case.edits {
            apply(&manifests, edit, &name);
        }
        let check = tierplan(&[
            "check",
            input.to_str().unwrap(),
            "--plan",
            out.join("plan.json").to_str().unwrap(),
            "--manifests",
            manifests.to_str().unwrap(),
        ]);
        let stdout = String::from_utf8_lossy(&check.stdout);
        let stderr = String::from_utf8_lossy(&check.stderr);
        let missing: Vec<&String> = case
            .expect
            .stdout
            .iter()
            .filter(|s| !stdout.contains(s.as_str()))
            .chain(
                case.expect
                    .stderr
                    .iter()
                    .filter(|s| !stderr.contains(s.as_str())),
            )
            .collect();
        if check.status.code() != Some(case.expect.exit) || !missing.is_empty() {
            failed.push(format!(
                "{name}: exit {:?} (expected {}), missing {missing:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
                check.status.code(),
                case.expect.exit
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
