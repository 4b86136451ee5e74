//! A [`Report`] for people (a table) and for code scanning (SARIF 2.1.0).

use super::{AdmissionStatus, Finding, Report, Rule, Severity, Subject, CONTROLS};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fmt::Write;

/// The SARIF version written, and its schema.
pub const SARIF_VERSION: &str = "2.1.0";
const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/tierplan/tierplan#audit";

/// The report as text: a summary line, the node × class matrix of mixed nodes, then each
/// finding with the objects it concerns.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let count = |k: &str| report.counts.get(k).copied().unwrap_or(0);
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let _ = writeln!(
        out,
        "tierplan audit: {} nodes, {} running pods, {} owners: {} ({errors} error(s), {} warning(s))",
        count("nodes"),
        count("pods"),
        count("owners"),
        match report.findings.len() {
            0 => "no findings".to_string(),
            1 => "1 finding".to_string(),
            n => format!("{n} findings"),
        },
        report.findings.len() - errors,
    );
    if !report.matrix.is_empty() {
        matrix(report, &mut out);
    }
    for f in &report.findings {
        finding(f, &mut out);
    }
    let admission = match report.admission {
        AdmissionStatus::Enforcing => "enforcing (bound with Deny)",
        AdmissionStatus::NotEnforcing => "NOT enforcing",
        AdmissionStatus::NotChecked => "not checked",
    };
    let _ = writeln!(out, "\nadmission: {admission}");
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let _ = writeln!(out, "controls: {}", CONTROLS.join(", "));
    out
}

fn matrix(report: &Report, out: &mut String) {
    let classes: BTreeSet<&String> = report.matrix.iter().flat_map(|r| r.pods.keys()).collect();
    let width = report
        .matrix
        .iter()
        .map(|r| r.node.len())
        .max()
        .unwrap_or(0)
        .max(4);
    let _ = writeln!(out, "\nmixed nodes (pods per class):");
    let _ = write!(out, "  {:width$}", "NODE");
    for c in &classes {
        let _ = write!(out, "  {c}");
    }
    out.push('\n');
    for row in &report.matrix {
        let _ = write!(out, "  {:width$}", row.node);
        for c in &classes {
            let n = row.pods.get(*c).copied().unwrap_or(0);
            let cell = if n == 0 {
                "-".to_string()
            } else {
                n.to_string()
            };
            let _ = write!(out, "  {cell:>w$}", w = c.len());
        }
        out.push('\n');
    }
}

fn finding(f: &Finding, out: &mut String) {
    let _ = writeln!(
        out,
        "\n{} {:7} {}{}",
        f.id,
        f.severity.as_str(),
        f.rule.name(),
        f.node
            .as_ref()
            .map(|n| format!(" node {n}"))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "  {}", f.message);
    for s in f
        .objects
        .iter()
        .filter(|s| s.kind != "Node" || !s.pods.is_empty())
    {
        let _ = writeln!(out, "  - {}", subject(s));
    }
}

fn subject(s: &Subject) -> String {
    let mut t = s.label();
    if let Some(c) = &s.class {
        let _ = write!(t, " [{c}]");
    }
    if !s.present {
        t.push_str(" (named by ownerReference, not in the input)");
    }
    if !s.pods.is_empty() {
        let _ = write!(t, ": pods {}", s.pods.join(", "));
    }
    t
}

/// The report as a SARIF 2.1.0 log: every rule in `runs[0].tool.driver.rules` (help citing
/// the controls), one result per finding with logical locations (node, namespace/owner) and
/// the file read, when known, as the physical location.
pub fn sarif(report: &Report) -> Value {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.id(),
                "name": r.name(),
                "shortDescription": {"text": r.summary()},
                "fullDescription": {"text": r.summary()},
                "help": {"text": r.help(), "markdown": r.help()},
                "defaultConfiguration": {"level": r.severity().as_str()},
                "properties": {"tags": ["security", "kubernetes"], "controls": CONTROLS},
            })
        })
        .collect();
    let results: Vec<Value> = report.findings.iter().map(result).collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": "tierplan",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn result(f: &Finding) -> Value {
    let index = Rule::ALL.iter().position(|r| *r == f.rule).expect("listed");
    let mut logical = Vec::new();
    if let Some(node) = &f.node {
        logical.push(
            json!({"name": node, "fullyQualifiedName": format!("Node/{node}"), "kind": "node"}),
        );
    }
    for s in &f.objects {
        let qualified = if s.namespace.is_empty() {
            format!("{}/{}", s.kind, s.name)
        } else {
            format!("{}/{}/{}", s.namespace, s.kind, s.name)
        };
        if f.node.as_deref() == Some(s.name.as_str()) && s.kind == "Node" {
            continue;
        }
        logical.push(json!({
            "name": s.name,
            "fullyQualifiedName": qualified,
            "kind": if s.kind == "Node" { "node" } else { "object" },
        }));
    }
    let mut location = json!({"logicalLocations": logical});
    if let Some(s) = f.objects.iter().find(|s| s.file.is_some()) {
        let mut physical = json!({"artifactLocation": {"uri": s.file}});
        if let Some(d) = s.document {
            physical["properties"] = json!({"document": d});
        }
        location["physicalLocation"] = physical;
    }
    let key: Vec<String> = f.objects.iter().map(Subject::label).collect();
    json!({
        "ruleId": f.id,
        "ruleIndex": index,
        "level": f.severity.as_str(),
        "message": {"text": f.message},
        "locations": [location],
        "partialFingerprints": {
            "tierplanAudit/v1": format!("{}|{}|{}", f.id, f.node.clone().unwrap_or_default(), key.join(";")),
        },
        "properties": {"controls": f.controls},
    })
}
