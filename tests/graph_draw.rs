//! `tierplan graph` end to end: DOT, Mermaid and SVG of `examples/nist-800-190`, with and
//! without its plan, byte-identical across runs, with hostile text escaped.

mod run;

use run::{example, planned, read_plan, succeeded as drawn, tierplan};
use std::path::PathBuf;
use tierplan::graph::ConstraintGraph;

fn class_names(paths: &[&str]) -> Vec<String> {
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let model = tierplan::build_from_paths(&paths).expect("valid input");
    ConstraintGraph::build(&model)
        .classes
        .into_iter()
        .map(|c| c.name)
        .collect()
}

/// DOT's statements outside quoted strings (strings replaced by `""`), checking that every
/// string ends and the braces balance.
#[track_caller]
fn dot_structure(dot: &str) -> String {
    let mut bare = String::new();
    let (mut in_string, mut escaped, mut depth) = (false, false, 0i32);
    for line in dot.lines() {
        if !in_string && line.trim_start().starts_with("//") {
            continue;
        }
        for ch in line.chars() {
            if in_string {
                match (escaped, ch) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => {
                        in_string = false;
                        bare.push('"');
                    }
                    _ => {}
                }
                continue;
            }
            match ch {
                '"' => in_string = true,
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0, "a `}}` closes nothing:\n{dot}");
            bare.push(ch);
        }
        assert!(!in_string, "a string runs past its line: {line}");
        bare.push('\n');
    }
    assert_eq!(depth, 0, "unbalanced braces:\n{dot}");
    assert!(bare.trim_start().starts_with("graph constraints {"));
    bare
}

/// Every `<text>` and `<title>` of an SVG (parsed as XML), and a check that it needs nothing
/// from outside.
#[track_caller]
fn svg_texts(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    for banned in ["href", "<script", "url(", "@import", "<image", "<style"] {
        assert!(!svg.contains(banned), "the SVG refers outside: {banned}");
    }
    doc.descendants()
        .filter(|n| n.has_tag_name("text") || n.has_tag_name("title"))
        .filter_map(|n| n.text())
        .map(str::to_string)
        .collect()
}

#[test]
fn dot_has_every_class_and_one_cluster_per_pool() {
    let ex = example();
    let classes = class_names(&[&ex]);
    let bare = dot_structure(&drawn(&["graph", &ex]));
    assert!(!bare.contains("subgraph"), "no plan, no cluster");
    let dot = drawn(&["graph", &ex, "--format", "dot"]);
    for (i, name) in classes.iter().enumerate() {
        assert!(
            dot.contains(&format!("  c{i} [label="))
                && dot.contains(&format!("tooltip=\"{name}\"")),
            "class {name} missing:\n{dot}"
        );
    }
    assert!(dot.contains("style=dashed"), "conflict edges drawn");

    let (_dir, plan_file) = planned(&[&ex]);
    let plan = read_plan(&plan_file);
    let with_plan = drawn(&["graph", &ex, "--plan", plan_file.to_str().unwrap()]);
    let bare = dot_structure(&with_plan);
    assert_eq!(bare.matches("subgraph cluster_").count(), plan.pools.len());
    for pool in &plan.pools {
        assert!(
            with_plan.contains(&format!("label=\"{} (", pool.name)),
            "{}",
            pool.name
        );
    }
    for i in 0..classes.len() {
        assert_eq!(with_plan.matches(&format!("  c{i} [label=")).count(), 1);
    }
}

#[test]
fn mermaid_is_a_flowchart_with_a_subgraph_per_pool() {
    let ex = example();
    let classes = class_names(&[&ex]);
    let (_dir, plan_file) = planned(&[&ex]);
    let plan = read_plan(&plan_file);
    let m = drawn(&[
        "graph",
        &ex,
        "--plan",
        plan_file.to_str().unwrap(),
        "--format",
        "mermaid",
    ]);
    assert!(
        m.starts_with("flowchart ") || m.starts_with("graph "),
        "{m}"
    );
    assert_eq!(m.matches("\n  subgraph ").count(), plan.pools.len());
    assert_eq!(m.matches("\n  end\n").count(), plan.pools.len());
    for i in 0..classes.len() {
        assert!(m.contains(&format!(" c{i}[\"")), "class {i}:\n{m}");
    }
    assert!(m.contains("-.-|"), "conflict edges carry their reason");
}

#[test]
fn svg_is_xml_with_every_pool_and_class() {
    let ex = example();
    let classes = class_names(&[&ex]);
    let texts = svg_texts(&drawn(&["graph", &ex, "--format", "svg"]));
    for name in &classes {
        assert!(texts.contains(name), "class {name} missing");
    }
    assert!(
        texts.iter().any(|t| t.contains(" conflict: ")),
        "conflict edges carry their reason as a tooltip"
    );
    let (_dir, plan_file) = planned(&[&ex]);
    let plan = read_plan(&plan_file);
    let texts = svg_texts(&drawn(&[
        "graph",
        &ex,
        "--plan",
        plan_file.to_str().unwrap(),
        "--format",
        "svg",
    ]));
    for pool in &plan.pools {
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with(&format!("{} (", pool.name))),
            "pool {} missing",
            pool.name
        );
    }
    for name in &classes {
        assert!(texts.contains(name), "class {name} missing");
    }
}

#[test]
fn every_format_is_byte_identical_across_runs() {
    let ex = example();
    let (_dir, plan_file) = planned(&[&ex]);
    for format in ["dot", "svg", "mermaid"] {
        for plan in [None, Some(plan_file.to_str().unwrap())] {
            let mut args = vec!["graph", ex.as_str(), "--format", format];
            args.extend(plan.iter().flat_map(|p| ["--plan", *p]));
            assert_eq!(drawn(&args), drawn(&args), "{format} {plan:?}");
        }
    }
}

#[test]
fn hostile_names_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = r#"a<b&c"d'e>\n#x"#;
    let input = format!(
        r#"apiVersion: tierplan/v1alpha1
kind: Policy
metadata: {{name: p}}
spec: {{separateBy: [exposure, zone-x]}}
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {{name: web}}
spec: {{replicas: 1, sensitivity: public, exposure: '{q}', attributes: {{zone-x: '</text><script>'}}, resources: {{cpu: 100m}}}}
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {{name: db}}
spec: {{replicas: 1, sensitivity: public, exposure: internal, attributes: {{zone-x: '&amp;'}}, resources: {{cpu: 100m}}}}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {{name: n1}}
spec: {{allocatable: {{cpu: 4, memory: 16Gi, pods: 110}}}}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {{name: n2}}
spec: {{allocatable: {{cpu: 4, memory: 16Gi, pods: 110}}}}
"#,
        q = hostile.replace('\'', "''")
    );
    let file = dir.path().join("input.yaml");
    std::fs::write(&file, input).unwrap();
    let input = file.to_str().unwrap().to_string();
    let classes = class_names(&[&input]);
    assert!(classes.iter().any(|c| c.contains(hostile)), "{classes:?}");

    // A plan whose pool name is hostile too (planned by the library: `plan` would refuse to
    // write manifests for labels like these).
    let model = tierplan::build_from_paths(std::slice::from_ref(&file)).unwrap();
    let mut plan = tierplan::solve(&model, &tierplan::SolveOptions::default()).plan;
    let plan_file = dir.path().join("plan.json");
    let evil_pool = r#"pool<"&>"#;
    plan.pools[0].name = evil_pool.to_string();
    std::fs::write(&plan_file, plan.to_json()).unwrap();
    let plan_arg = plan_file.to_str().unwrap();

    let texts = svg_texts(&drawn(&[
        "graph", &input, "--plan", plan_arg, "--format", "svg",
    ]));
    for name in &classes {
        assert!(texts.contains(name), "class {name} missing from {texts:?}");
    }
    assert!(texts.iter().any(|t| t.starts_with(evil_pool)));

    let dot = drawn(&["graph", &input, "--plan", plan_arg]);
    let bare = dot_structure(&dot);
    assert_eq!(bare.matches("subgraph cluster_").count(), plan.pools.len());
    assert!(dot.contains(r#"exposure=a<b&c\"d'e>\\n#x"#), "{dot}");
    assert!(dot.contains(r#"label="pool<\"&> ("#), "{dot}");

    let m = drawn(&["graph", &input, "--plan", plan_arg, "--format", "mermaid"]);
    assert!(
        m.contains("exposure=a#lt;b#amp;c#quot;d'e#gt;\\n#35;x"),
        "{m}"
    );
    assert!(!m.replace("<br/>", "").contains('<'), "{m}");
}

#[test]
fn invalid_input_exits_2_with_the_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "apiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {name: web}\nspec: {replicas: many}\n",
    )
    .unwrap();
    let out = tierplan(&["graph", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml"), "{stderr}");
    assert!(out.stdout.is_empty());

    let out = tierplan(&["graph", &example(), "--plan", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a tierplan plan"));
}
