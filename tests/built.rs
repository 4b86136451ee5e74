//! `tierplan check --built`: the proof on what `kubectl kustomize` builds from a user's own
//! kustomization, here Online Boutique (GoogleCloudPlatform/microservices-demo, read from
//! `../shared/realworld/online-boutique/`) moved into namespace `boutique` by an overlay,
//! with tierplan's manifests as a resource and its workload patches as a Component.
//!
//! Needs `kubectl` (its built-in kustomize); skips with a note when it is missing, unless
//! `TIERPLAN_REQUIRE_TOOLS=1` (set by `.ci/run`). Skipped, as the benchmarks are, when
//! `../shared/realworld` is absent.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tierplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args(args)
        .output()
        .expect("tierplan runs")
}

fn upstream() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/realworld/online-boutique/kubernetes-manifests.yaml")
}

/// Whether the test can run: kubectl runs and the upstream manifests are there.
fn can_run() -> bool {
    if !upstream().exists() {
        eprintln!("skipped: {} is not present", upstream().display());
        return false;
    }
    let ok = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("TIERPLAN_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "`kubectl` is required (TIERPLAN_REQUIRE_TOOLS=1) but does not run"
        );
        eprintln!("note: `kubectl` not found; skipping");
    }
    ok
}

fn kustomize(dir: &Path) -> String {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const INPUT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/built/online-boutique"
);

/// A work tree: `out/` (plan.json, manifests/), `app/` (the upstream manifests with a
/// namespace overlay), and a top-level kustomization that layers tierplan's onto them.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let out = root.join("out");
        let planned = tierplan(&["plan", INPUT, "--out", out.to_str().unwrap()]);
        assert_eq!(planned.status.code(), Some(0), "{planned:?}");
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::copy(upstream(), root.join("app/kubernetes-manifests.yaml")).unwrap();
        std::fs::write(
            root.join("app/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: boutique\nresources:\n- kubernetes-manifests.yaml\n",
        )
        .unwrap();
        std::fs::write(
            root.join("kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- app\n- out/manifests\ncomponents:\n- out/manifests/workloads\n",
        )
        .unwrap();
        Tree { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// `kubectl kustomize` of `dir` (relative), written to `name`.
    fn build(&self, dir: &str, name: &str) -> PathBuf {
        let file = self.path(name);
        std::fs::write(&file, kustomize(&self.path(dir))).unwrap();
        file
    }

    fn check(&self, extra: &[&str]) -> (i32, String) {
        let plan = self.path("out/plan.json");
        let mut args = vec!["check", INPUT, "--plan", plan.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = tierplan(&args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap(), text)
    }

    /// `check --built BUILT --manifests out/manifests`.
    fn check_built(&self, built: &Path) -> (i32, String) {
        let manifests = self.path("out/manifests");
        self.check(&[
            "--built",
            built.to_str().unwrap(),
            "--manifests",
            manifests.to_str().unwrap(),
        ])
    }
}

#[test]
fn online_boutique_built_with_the_manifests_holds() {
    if !can_run() {
        return;
    }
    let tree = Tree::new();
    let built = tree.build(".", "built.yaml");
    let (code, text) = tree.check_built(&built);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("HOLDS"), "{text}");
    // 11 planned Deployments and loadgenerator, which the plan leaves out: no toleration,
    // so it stays off every pool.
    assert!(text.contains("evaluated: 12 pod templates"), "{text}");

    // The user's own build of the app and the Component, with tierplan's cluster-wide
    // objects from the directory.
    std::fs::write(
        tree.path("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- app\ncomponents:\n- out/manifests/workloads\n",
    )
    .unwrap();
    let apps = tree.build(".", "apps.yaml");
    let manifests = tree.path("out/manifests");
    let (code, text) = tree.check(&[
        "--manifests",
        manifests.to_str().unwrap(),
        "--built",
        apps.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{text}");

    // Standard input.
    let plan = tree.path("out/plan.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args([
            "check",
            INPUT,
            "--plan",
            plan.to_str().unwrap(),
            "--built",
            "-",
            "--manifests",
            manifests.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&built).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn online_boutique_with_one_deployment_unpatched_fails() {
    if !can_run() {
        return;
    }
    let tree = Tree::new();
    let patches = tree.path("out/manifests/workloads/namespaces/boutique.yaml");
    let text = std::fs::read_to_string(&patches).unwrap();
    let kept: Vec<&str> = text
        .split("---\n")
        .filter(|doc| !doc.contains("  name: paymentservice\n"))
        .collect();
    assert_eq!(kept.len() + 1, text.split("---\n").count());
    std::fs::write(&patches, kept.join("---\n")).unwrap();
    let built = tree.build(".", "built.yaml");
    let (code, text) = tree.check_built(&built);
    assert_eq!(code, 1, "{text}");
    for expected in [
        "placement: boutique/paymentservice",
        "missing-affinity: boutique/paymentservice",
        "FAILS",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    // Without the directory, the nodes are as the inventory lists them (untainted): the
    // proof fails for that too, and says why first.
    let (code, text) = tree.check(&["--built", built.to_str().unwrap()]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("node labels and taints are never built"),
        "{text}"
    );
}
