//! Bad input, end to end: every test runs `tierplan plan` on input that must be refused and
//! checks that it exits 2, writes nothing, and says where (file, document, field), what is
//! wrong and how to fix it. Each test is named after what it rejects.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A valid workload and a valid node, for tests that break one thing at a time.
const WORKLOAD: &str = "apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {name: web, namespace: shop}
spec: {replicas: 2, sensitivity: public, resources: {cpu: 500m, memory: 1Gi}}
";
const NODE: &str = "apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: n1, labels: {topology.kubernetes.io/zone: a}}
spec: {allocatable: {cpu: 4, memory: 16Gi, pods: 110}, cost: 0.2}
";

/// The refusal of one run: its stderr.
struct Refusal {
    stderr: String,
    elapsed: Duration,
}

impl Refusal {
    /// Asserts that one line of the output (a diagnostic and its fix) holds every part.
    #[track_caller]
    fn says(&self, parts: &[&str]) -> &Self {
        let lines: Vec<&str> = self.stderr.lines().collect();
        let found = lines.windows(2).any(|pair| {
            let text = format!("{}\n{}", pair[0], pair[1]);
            pair[1].trim_start().starts_with("fix: ") && parts.iter().all(|p| text.contains(p))
        });
        assert!(
            found,
            "no diagnostic with fix holds {parts:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    fn problems(&self, n: usize) -> &Self {
        let head = format!(
            "invalid input: {n} problem{}",
            if n == 1 { "" } else { "s" }
        );
        assert!(self.stderr.starts_with(&head), "{head}:\n{}", self.stderr);
        self
    }

    #[track_caller]
    fn within(&self, limit: Duration) -> &Self {
        assert!(self.elapsed < limit, "took {:?}", self.elapsed);
        self
    }
}

/// Runs `tierplan plan` on `files` (written into a fresh directory) under a 2 GiB address
/// space limit, so that unbounded memory use fails the test instead of the machine.
fn reject(files: &[(&str, &[u8])]) -> Refusal {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    reject_paths(dir.path(), &[dir.path()])
}

fn reject_paths(dir: &Path, inputs: &[&Path]) -> Refusal {
    let out = dir.join("out");
    let mut args: Vec<String> = vec!["plan".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["--out".into(), out.display().to_string()]);
    let start = Instant::now();
    let output = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_tierplan"))
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(!out.exists(), "nothing is written for invalid input");
    assert!(!stderr.contains("panicked"), "{stderr}");
    Refusal { stderr, elapsed }
}

/// The valid pair with `from` replaced by `to` in the workload (the node is left as is).
fn workload_with(from: &str, to: &str) -> Refusal {
    assert!(WORKLOAD.contains(from), "{from}");
    reject(&[
        ("w.yaml", WORKLOAD.replace(from, to).as_bytes()),
        ("n.yaml", NODE.as_bytes()),
    ])
}

fn node_with(from: &str, to: &str) -> Refusal {
    assert!(NODE.contains(from), "{from}");
    reject(&[
        ("w.yaml", WORKLOAD.as_bytes()),
        ("n.yaml", NODE.replace(from, to).as_bytes()),
    ])
}

fn with_policy(policy_spec: &str) -> Refusal {
    let policy = format!(
        "apiVersion: tierplan/v1alpha1\nkind: Policy\nmetadata: {{name: p}}\nspec: {policy_spec}\n"
    );
    reject(&[
        ("p.yaml", policy.as_bytes()),
        ("w.yaml", WORKLOAD.as_bytes()),
        ("n.yaml", NODE.as_bytes()),
    ])
}

#[test]
fn the_baseline_input_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.yaml"), format!("{WORKLOAD}---\n{NODE}")).unwrap();
    let out = dir.path().join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_tierplan"))
        .args(["plan", dir.path().to_str().unwrap(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0), "{status:?}");
}

// --- YAML syntax and encoding ----------------------------------------------------------------

#[test]
fn rejects_tab_indentation_with_line_and_column() {
    node_with("metadata: {name: n1,", "metadata:\n\tname: n1\n  x: {")
        .says(&[
            "n.yaml: document 1 (line 4, column 1)",
            "invalid YAML",
            "fix: ",
        ])
        .problems(1);
}

#[test]
fn rejects_unclosed_quote_with_line_and_column() {
    workload_with("sensitivity: public", "sensitivity: \"public")
        .says(&[
            "w.yaml: document 1 (line ",
            ", column ",
            "invalid YAML",
            "quote",
        ])
        .problems(1);
}

#[test]
fn rejects_non_utf8_bytes() {
    let mut bytes = WORKLOAD.as_bytes().to_vec();
    bytes.extend_from_slice(b"# caf\xe9\n");
    reject(&[("w.yaml", &bytes), ("n.yaml", NODE.as_bytes())])
        .says(&[
            "w.yaml (line 5, column 6)",
            "not valid UTF-8",
            "save the file as UTF-8",
        ])
        .problems(1);
}

#[test]
fn rejects_duplicate_yaml_keys() {
    workload_with("replicas: 2", "replicas: 2, replicas: 3")
        .says(&["w.yaml: document 1", "spec", "`replicas` appears twice"])
        .problems(1);
}

#[test]
fn rejects_yaml_tags() {
    workload_with("replicas: 2", "replicas: !bignum 2")
        .says(&[
            "w.yaml: document 1",
            "spec.replicas",
            "tag `bignum`",
            "plain value",
        ])
        .problems(1);
}

#[test]
fn rejects_a_document_that_is_not_a_mapping() {
    reject(&[
        ("w.yaml", format!("{WORKLOAD}---\n- a list\n").as_bytes()),
        ("n.yaml", NODE.as_bytes()),
    ])
    .says(&["w.yaml: document 2", "not a mapping", "apiVersion, kind"])
    .problems(1);
}

// --- Bounded time and memory -----------------------------------------------------------------

#[test]
fn rejects_yaml_alias_bomb() {
    // "Billion laughs": nine levels of nine aliases each would expand to 9^9 strings.
    let mut bomb = String::from("apiVersion: tierplan/v1alpha1\nkind: Workload\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    reject(&[("bomb.yaml", bomb.as_bytes()), ("n.yaml", NODE.as_bytes())])
        .says(&["bomb.yaml: document 1", "alias bomb", "fewer aliases"])
        .problems(1)
        .within(Duration::from_secs(20));
}

#[test]
fn rejects_quadratic_alias_expansion() {
    // Not nested, so serde_yaml's own repetition limit does not see it: 20,000 uses of a
    // 20,000-item list from a 100 kB file.
    let items = vec!["1"; 20_000].join(",");
    let uses = vec!["*a"; 20_000].join(",");
    let text = format!("a: &a [{items}]\nb: [{uses}]\n");
    reject(&[("quad.yaml", text.as_bytes()), ("n.yaml", NODE.as_bytes())])
        .says(&["quad.yaml: document 1", "aliases", "fewer aliases"])
        .problems(1)
        .within(Duration::from_secs(30));
}

#[test]
fn rejects_10000_deep_nesting() {
    let sequences = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let mappings = format!("{}1{}", "{a: ".repeat(10_000), "}".repeat(10_000));
    // Block sequences nest one level per two bytes: `- - - ... 1`.
    let block = format!("{}1\n", "- ".repeat(10_000));
    reject(&[
        ("seq.yaml", sequences.as_bytes()),
        ("map.yaml", mappings.as_bytes()),
        ("block.yaml", block.as_bytes()),
    ])
    .says(&[
        "seq.yaml: document 1",
        "nested more than 128 levels",
        "flatten",
    ])
    .says(&[
        "map.yaml: document 1",
        "nested more than 128 levels",
        "flatten",
    ])
    .says(&[
        "block.yaml: document 1",
        "nested more than 128 levels",
        "flatten",
    ])
    .problems(3)
    .within(Duration::from_secs(30));
}

#[test]
fn rejects_200_mb_input() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    // Sparse: the test costs no disk, and tierplan must not read it all to refuse it.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(200 << 20)
        .unwrap();
    std::fs::write(dir.path().join("n.yaml"), NODE).unwrap();
    reject_paths(dir.path(), &[dir.path()])
        .says(&["big.yaml: ", "larger than 16 MiB", "split the input"])
        .problems(1)
        .within(Duration::from_secs(20));
}

#[cfg(target_os = "linux")]
#[test]
fn rejects_endless_input() {
    let dir = tempfile::tempdir().unwrap();
    reject_paths(dir.path(), &[Path::new("/dev/zero")])
        .says(&["/dev/zero: ", "larger than 16 MiB"])
        .within(Duration::from_secs(20));
}

#[test]
fn lists_at_most_200_of_a_flood_of_problems() {
    let flood = "---\n{}\n".repeat(5_000);
    let refusal = reject(&[("flood.yaml", flood.as_bytes())]);
    refusal.problems(5_000);
    assert!(
        refusal
            .stderr
            .contains("... and 4800 more problems not shown"),
        "{}",
        refusal.stderr
    );
}

// --- Documents -------------------------------------------------------------------------------

#[test]
fn rejects_unknown_kind() {
    workload_with("kind: Workload", "kind: Workloads")
        .says(&[
            "w.yaml: document 1",
            "kind",
            "unknown kind `Workloads`",
            "did you mean `Workload`?",
        ])
        .problems(1);
}

#[test]
fn rejects_unknown_api_version() {
    node_with("tierplan/v1alpha1", "tierplan/v1")
        .says(&[
            "n.yaml: document 1",
            "apiVersion",
            "unknown apiVersion `tierplan/v1`",
            "tierplan/v1alpha1",
        ])
        .problems(1);
}

#[test]
fn rejects_unknown_field_with_did_you_mean() {
    workload_with("replicas: 2", "replica: 2")
        .says(&[
            "w.yaml: document 1",
            "spec",
            "unknown field `replica`",
            "did you mean `replicas`?",
        ])
        .problems(1);
}

#[test]
fn rejects_duplicate_workload_ids_across_files() {
    reject(&[
        ("a.yaml", WORKLOAD.as_bytes()),
        ("b.yaml", WORKLOAD.as_bytes()),
        ("n.yaml", NODE.as_bytes()),
    ])
    .says(&[
        "b.yaml: document 1",
        "metadata.name",
        "`shop/web` is also defined in",
        "a.yaml: document 1",
        "unique",
    ])
    .problems(1);
}

#[test]
fn rejects_duplicate_node_names_across_files() {
    reject(&[
        ("w.yaml", WORKLOAD.as_bytes()),
        ("n1.yaml", NODE.as_bytes()),
        ("n2.yml", NODE.as_bytes()),
    ])
    .says(&[
        "n2.yml: document 1",
        "metadata.name",
        "node `n1` is also defined in",
        "n1.yaml",
        "unique",
    ])
    .problems(1);
}

#[test]
fn rejects_empty_inventory() {
    reject(&[("w.yaml", WORKLOAD.as_bytes())])
        .says(&["the inventory is empty", "add Node documents"])
        .problems(1);
}

#[test]
fn rejects_input_without_workloads() {
    reject(&[("n.yaml", NODE.as_bytes())])
        .says(&["there is no Workload document", "add the workloads"])
        .problems(1);
}

#[test]
fn does_not_claim_an_empty_inventory_when_nodes_were_unreadable() {
    // The node file is broken: "no Node document" would send the user the wrong way.
    reject(&[("w.yaml", WORKLOAD.as_bytes()), ("n.yaml", b"kind: [\n")])
        .says(&["n.yaml: document 1", "invalid YAML"])
        .problems(1);
}

// --- Quantities ------------------------------------------------------------------------------

#[test]
fn rejects_malformed_quantity() {
    workload_with("cpu: 500m", "cpu: 500 m")
        .says(&[
            "w.yaml: document 1",
            "spec.resources.cpu",
            "`500 m` is not a Kubernetes quantity",
            "500m, 2Gi",
        ])
        .problems(1);
}

#[test]
fn rejects_negative_quantity() {
    workload_with("memory: 1Gi", "memory: -1Gi")
        .says(&[
            "w.yaml: document 1",
            "spec.resources.memory",
            "negative",
            "fix: ",
        ])
        .problems(1);
}

#[test]
fn rejects_zero_allocatable() {
    node_with("memory: 16Gi", "memory: 0")
        .says(&[
            "n.yaml: document 1",
            "spec.allocatable.memory",
            "is zero",
            "leave the resource out",
        ])
        .problems(1);
}

#[test]
fn rejects_overflowing_quantities() {
    node_with("memory: 16Gi", "memory: 99999999999999999999Ei")
        .says(&["spec.allocatable.memory", "too large"])
        .problems(1);
    node_with("memory: 16Gi", "memory: \"1e400\"")
        .says(&["spec.allocatable.memory", "`1e400` is too large"])
        .problems(1);
    node_with("cpu: 4", "cpu: 1e400")
        .says(&[
            "n.yaml: document 1",
            "spec.allocatable.cpu",
            "`1e400` is too large",
        ])
        .problems(1);
    node_with("cpu: 4", "cpu: .inf")
        .says(&["spec.allocatable.cpu", "`inf` is not a Kubernetes quantity"])
        .problems(1);
}

#[test]
fn rejects_invalid_resource_name() {
    workload_with("cpu: 500m", "Nvidia.com/gpu: 1")
        .says(&[
            "spec.resources.Nvidia.com/gpu",
            "not a valid resource name",
            "nvidia.com/gpu",
        ])
        .problems(1);
}

#[test]
fn rejects_total_requests_beyond_exact_arithmetic() {
    workload_with("memory: 1Gi", "memory: 4Ei")
        .says(&["request more than 2^62", "`memory`", "units"])
        .problems(1);
}

// --- Numbers ---------------------------------------------------------------------------------

#[test]
fn rejects_nan_cost() {
    node_with("cost: 0.2", "cost: .nan")
        .says(&[
            "n.yaml: document 1",
            "spec.cost",
            "NaN is not a valid cost",
            "number from 0",
        ])
        .problems(1);
}

#[test]
fn rejects_negative_cost() {
    node_with("cost: 0.2", "cost: -0.2")
        .says(&[
            "n.yaml: document 1",
            "spec.cost",
            "-0.2 is not a valid cost",
            "number from 0",
        ])
        .problems(1);
}

#[test]
fn rejects_infinite_cost() {
    node_with("cost: 0.2", "cost: .inf")
        .says(&["spec.cost", "inf is not a valid cost"])
        .problems(1);
}

#[test]
fn rejects_negative_replicas() {
    workload_with("replicas: 2", "replicas: -3")
        .says(&[
            "w.yaml: document 1",
            "spec.replicas",
            "-3 replicas is out of range",
            "use 1 to",
        ])
        .problems(1);
}

#[test]
fn rejects_absurd_replicas() {
    workload_with("replicas: 2", "replicas: 1000000000000")
        .says(&["spec.replicas", "1000000000000 replicas is out of range"])
        .problems(1);
    workload_with("replicas: 2", "replicas: 99999999999999999999999")
        .says(&["spec.replicas", "fix: "])
        .problems(1);
}

#[test]
fn rejects_too_many_replicas_in_total() {
    let many: String = (0..3)
        .map(|i| {
            WORKLOAD
                .replace("name: web", &format!("name: web{i}"))
                .replace("replicas: 2", "replicas: 400000")
        })
        .collect::<Vec<_>>()
        .join("---\n");
    reject(&[("w.yaml", many.as_bytes()), ("n.yaml", NODE.as_bytes())])
        .says(&["1200000 replicas in all", "at most 1000000"])
        .problems(1);
}

#[test]
fn rejects_out_of_range_spread() {
    workload_with("replicas: 2", "replicas: 2, maxPerNode: 0, minZones: -1")
        .says(&["spec.maxPerNode", "0 is out of range"])
        .says(&["spec.minZones", "-1 is out of range"])
        .problems(2);
}

// --- References ------------------------------------------------------------------------------

#[test]
fn rejects_unknown_sensitivity_level() {
    workload_with("sensitivity: public", "sensitivity: pubilc")
        .says(&[
            "w.yaml: document 1",
            "spec.sensitivity",
            "unknown sensitivity level `pubilc`",
            "did you mean `public`?",
        ])
        .problems(1);
}

#[test]
fn rejects_tier_attributes_on_a_platform_workload() {
    workload_with(
        "sensitivity: public",
        "platform: true, sensitivity: public, dedicated: true",
    )
    .says(&[
        "w.yaml: document 1",
        "E056",
        "spec.sensitivity",
        "a platform workload has no tier",
    ])
    .says(&["E056", "spec.dedicated"])
    .problems(2);
}

#[test]
fn rejects_share_when_naming_an_unknown_attribute() {
    with_policy("{shareWhen: [{sensitivty: [public, internal]}]}")
        .says(&[
            "p.yaml: document 1",
            "spec.shareWhen[0].sensitivty",
            "unknown attribute `sensitivty`",
            "did you mean `sensitivity`?",
        ])
        .problems(1);
}

#[test]
fn rejects_node_requirements_naming_an_unknown_attribute() {
    with_policy("{nodeRequirements: [{match: {tier: [gold]}, nodeSelector: {hardened: 'true'}}]}")
        .says(&[
            "p.yaml: document 1",
            "spec.nodeRequirements[0].match.tier",
            "unknown attribute `tier`",
            "spec.attributes",
        ])
        .problems(1);
}

#[test]
fn rejects_anti_affinity_to_itself() {
    workload_with("replicas: 2", "replicas: 2, antiAffinity: [web]")
        .says(&[
            "w.yaml: document 1",
            "spec.antiAffinity[0]",
            "anti-affine to itself",
            "maxPerNode: 1",
        ])
        .problems(1);
}

#[test]
fn rejects_anti_affinity_to_a_missing_workload() {
    workload_with("replicas: 2", "replicas: 2, antiAffinity: [shop/wbe]")
        .says(&[
            "w.yaml: document 1",
            "spec.antiAffinity[0]",
            "no workload `shop/wbe`",
            "did you mean `shop/web`?",
        ])
        .problems(1);
}

// --- Names reaching Kubernetes ---------------------------------------------------------------

#[test]
fn rejects_invalid_names_without_mangling_them() {
    // `Web` is not lower-cased into `web`, which would collide with the other workload.
    let upper = WORKLOAD.replace("name: web", "name: Web");
    reject(&[
        ("a.yaml", WORKLOAD.as_bytes()),
        ("b.yaml", upper.as_bytes()),
        ("n.yaml", NODE.replace("name: n1", "name: n1..x").as_bytes()),
    ])
    .says(&[
        "b.yaml: document 1",
        "metadata.name",
        "`Web` is not a valid Kubernetes name",
        "contains 'W'",
        "e.g. `web`",
    ])
    .says(&[
        "n.yaml: document 1",
        "metadata.name",
        "`n1..x`",
        "empty part between dots",
    ])
    .problems(2);
}

#[test]
fn rejects_namespace_that_is_not_a_dns_label() {
    workload_with("namespace: shop", "namespace: shop.eu")
        .says(&[
            "metadata.namespace",
            "`shop.eu` is not a valid Kubernetes name",
            "DNS-1123 label",
        ])
        .problems(1);
    let long = "n".repeat(64);
    workload_with("namespace: shop", &format!("namespace: {long}"))
        .says(&["metadata.namespace", "64 characters long (at most 63)"])
        .problems(1);
}

#[test]
fn rejects_shell_metacharacters_in_names_and_labels() {
    workload_with("name: web", "name: \"$(rm -rf /)\"")
        .says(&[
            "metadata.name",
            "`$(rm -rf /)` is not a valid Kubernetes name",
            "contains '$'",
        ])
        .problems(1);
    node_with("zone: a", "zone: \"`reboot`\"")
        .says(&[
            "metadata.labels.topology.kubernetes.io/zone",
            "not a valid label value",
            "contains '`'",
        ])
        .problems(1);
}

#[test]
fn rejects_invalid_label_keys_and_values() {
    node_with("zone: a}", "zone: a, \"bad key\": x, tier: \"a b\"}")
        .says(&[
            "n.yaml: document 1",
            "metadata.labels.bad key",
            "not a valid label key",
            "prefix",
        ])
        .says(&["metadata.labels.tier", "`a b` is not a valid label value"])
        .problems(2);
    let long = "v".repeat(64);
    workload_with(
        "replicas: 2",
        &format!("replicas: 2, nodeSelector: {{disk: {long}}}"),
    )
    .says(&["spec.nodeSelector.disk", "64 characters long (at most 63)"])
    .problems(1);
    with_policy(
        "{nodeRequirements: [{match: {sensitivity: [public]}, nodeSelector: {'example.com/': x}}]}",
    )
    .says(&[
        "spec.nodeRequirements[0].nodeSelector.example.com/",
        "not a valid label key",
    ])
    .problems(1);
    node_with("cost: 0.2", "cost: 0.2, zone: \"eu west\"")
        .says(&["spec.zone", "`eu west` is not a valid label value"])
        .problems(1);
}

// --- All at once -----------------------------------------------------------------------------

#[test]
fn lists_every_problem_of_every_file_in_one_run() {
    reject(&[
        (
            "a.yaml",
            WORKLOAD.replace("replicas: 2", "replicas: -1").as_bytes(),
        ),
        ("b.yaml", b"kind: [\n"),
        (
            "c.yaml",
            NODE.replace("cost: 0.2", "cost: -1")
                .replace("cpu: 4", "cpu: 4x")
                .as_bytes(),
        ),
        (
            "d.yaml",
            WORKLOAD
                .replace("kind: Workload", "kind: Wrkload")
                .as_bytes(),
        ),
    ])
    .says(&["a.yaml: document 1", "spec.replicas"])
    .says(&["b.yaml: document 1", "invalid YAML"])
    .says(&["c.yaml: document 1", "spec.cost"])
    .says(&["c.yaml: document 1", "spec.allocatable.cpu"])
    .says(&["d.yaml: document 1", "unknown kind `Wrkload`"])
    .problems(5);
}
