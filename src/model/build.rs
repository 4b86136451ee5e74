//! Validation: typed wire documents → [`Model`], reporting every problem at once.

use super::{Model, Node, NodeRequirement, Policy, Workload, BUILTIN_ATTRIBUTES, PODS};
use crate::input::diag::hint;
use crate::input::wire::{NodeDoc, PolicyDoc, Quantity, WorkloadDoc};
use crate::input::{self, Diagnostic, Documents, InputError, Origin};
use crate::quantity::{self, Amount, Unit, MAX_AMOUNT};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Default `sensitivityLevels`.
pub const DEFAULT_LEVELS: [&str; 4] = ["public", "internal", "confidential", "restricted"];
/// Default `separateBy`.
pub const DEFAULT_SEPARATE_BY: [&str; 3] = ["sensitivity", "exposure", "trust"];
/// Replicas above this are refused as absurd (and would only exhaust memory).
pub const MAX_REPLICAS: i64 = 1_000_000;
/// Costs above this per node-hour are refused as a likely unit mistake.
pub const MAX_COST: f64 = 1e9;

/// Reads `paths` and validates them into a model, reporting the problems of reading and of
/// validation together.
pub fn build_from_paths(paths: &[PathBuf]) -> Result<Model, InputError> {
    let (docs, mut diags) = input::read_paths(paths);
    let rejected = docs.rejected_kinds.clone();
    match build(docs) {
        Ok(model) if diags.is_empty() => Ok(model),
        Ok(_) => Err(InputError::new(diags)),
        Err(e) => {
            // "No document of this kind" would only mislead when one was left out as invalid.
            diags.extend(e.diagnostics.into_iter().filter(|d| match d.code {
                "E050" => !rejected.contains("Workload"),
                "E051" => !rejected.contains("Node"),
                _ => true,
            }));
            Err(InputError::new(diags))
        }
    }
}

/// Validates typed documents into a model, or returns every problem found.
pub fn build(docs: Documents) -> Result<Model, InputError> {
    let mut d = Vec::new();
    let resources = collect_resources(&docs);
    let ctx = Ctx {
        resources: &resources,
    };

    if docs.policies.len() > 1 {
        for (origin, _) in &docs.policies[1..] {
            d.push(Diagnostic::new(
                "E020",
                Some(origin),
                "",
                format!("a second Policy (the first is in {})", docs.policies[0].0),
                "keep exactly one Policy document",
            ));
        }
    }
    let known_attributes = known_attributes(&docs);
    let policy = match docs.policies.first() {
        Some((origin, doc)) => ctx.policy(Some(origin), doc, &known_attributes, &mut d),
        None => ctx.policy(
            None,
            &PolicyDoc {
                api_version: String::new(),
                kind: String::new(),
                metadata: Default::default(),
                spec: Default::default(),
            },
            &known_attributes,
            &mut d,
        ),
    };

    let mut workloads: Vec<Workload> = docs
        .workloads
        .iter()
        .map(|(origin, doc)| ctx.workload(origin, doc, &policy, &mut d))
        .collect();
    workloads.sort_by(|a, b| a.id.cmp(&b.id));
    for pair in workloads.windows(2) {
        if pair[0].id == pair[1].id {
            d.push(Diagnostic::new(
                "E030",
                Some(&pair[1].origin),
                "metadata.name",
                format!(
                    "workload `{}` is also defined in {}",
                    pair[1].id, pair[0].origin
                ),
                "give each workload a unique namespace/name",
            ));
        }
    }
    resolve_anti_affinity(&docs.workloads, &mut workloads, &mut d);

    let mut nodes: Vec<Node> = docs
        .nodes
        .iter()
        .map(|(origin, doc)| ctx.node(origin, doc, &mut d))
        .collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    for pair in nodes.windows(2) {
        if pair[0].name == pair[1].name {
            d.push(Diagnostic::new(
                "E040",
                Some(&pair[1].origin),
                "metadata.name",
                format!(
                    "node `{}` is also defined in {}",
                    pair[1].name, pair[0].origin
                ),
                "give each node a unique name",
            ));
        }
    }
    if docs.workloads.is_empty() {
        d.push(Diagnostic::new(
            "E050",
            None,
            "",
            "there is no Workload document",
            "add the workloads to plan",
        ));
    }
    if docs.nodes.is_empty() {
        d.push(Diagnostic::new(
            "E051",
            None,
            "",
            "the inventory is empty: there is no Node document",
            "add Node documents describing the machines to plan on",
        ));
    }
    if d.is_empty() {
        Ok(Model {
            policy,
            resources,
            workloads,
            nodes,
        })
    } else {
        Err(InputError::new(d))
    }
}

/// Every resource named anywhere, plus `pods`, sorted.
fn collect_resources(docs: &Documents) -> Vec<String> {
    let mut names: BTreeSet<String> = BTreeSet::from([PODS.to_string()]);
    for (_, p) in &docs.policies {
        names.extend(p.spec.node_overhead.keys().cloned());
    }
    for (_, w) in &docs.workloads {
        names.extend(w.spec.resources.keys().cloned());
    }
    for (_, n) in &docs.nodes {
        names.extend(n.spec.allocatable.keys().cloned());
    }
    names.into_iter().collect()
}

/// Built-in attributes plus every key of any workload's `attributes` map.
fn known_attributes(docs: &Documents) -> BTreeSet<String> {
    let mut known: BTreeSet<String> = BUILTIN_ATTRIBUTES.iter().map(|s| s.to_string()).collect();
    for (_, w) in &docs.workloads {
        known.extend(w.spec.attributes.keys().cloned());
    }
    known
}

struct Ctx<'a> {
    resources: &'a [String],
}

impl Ctx<'_> {
    /// Parses a resource map into a dense vector; `None` entries are undeclared resources.
    fn amounts(
        &self,
        origin: Option<&Origin>,
        field: &str,
        map: &BTreeMap<String, Quantity>,
        allow_zero: bool,
        d: &mut Vec<Diagnostic>,
    ) -> Vec<Option<Amount>> {
        let mut out = vec![None; self.resources.len()];
        for (name, q) in map {
            let path = format!("{field}.{name}");
            if let Err(problem) = check_resource_name(name) {
                d.push(Diagnostic::new(
                    "E060",
                    origin,
                    &path,
                    problem,
                    "use a Kubernetes resource name such as cpu, memory or nvidia.com/gpu",
                ));
                continue;
            }
            match quantity::parse(&q.0, Unit::for_resource(name)) {
                Ok(0) if !allow_zero => d.push(Diagnostic::new(
                    "E062",
                    origin,
                    &path,
                    format!("`{}` is zero", q.0),
                    "give a positive amount, or leave the resource out if the node has none",
                )),
                Ok(v) => {
                    let i = self
                        .resources
                        .binary_search(name)
                        .expect("collected resource");
                    out[i] = Some(v);
                }
                Err(e) => d.push(Diagnostic::new(
                    "E061",
                    origin,
                    &path,
                    e.to_string(),
                    "write a Kubernetes quantity such as 500m, 2Gi, 1.5 or 4",
                )),
            }
        }
        out
    }

    fn policy(
        &self,
        origin: Option<&Origin>,
        doc: &PolicyDoc,
        known: &BTreeSet<String>,
        d: &mut Vec<Diagnostic>,
    ) -> Policy {
        let s = &doc.spec;
        let levels: Vec<String> = s
            .sensitivity_levels
            .clone()
            .unwrap_or_else(|| DEFAULT_LEVELS.iter().map(|l| l.to_string()).collect());
        if levels.is_empty() {
            d.push(Diagnostic::new(
                "E021",
                origin,
                "spec.sensitivityLevels",
                "the list is empty",
                "list the levels low to high, or leave the field out for the default",
            ));
        }
        check_unique(origin, "spec.sensitivityLevels", &levels, d);
        let separate_by: Vec<String> = s
            .separate_by
            .clone()
            .unwrap_or_else(|| DEFAULT_SEPARATE_BY.iter().map(|a| a.to_string()).collect());
        check_unique(origin, "spec.separateBy", &separate_by, d);
        for (i, attr) in separate_by.iter().enumerate() {
            check_attribute(origin, &format!("spec.separateBy[{i}]"), attr, known, d);
        }
        for (i, rule) in s.share_when.iter().enumerate() {
            let path = format!("spec.shareWhen[{i}]");
            if rule.is_empty() {
                d.push(Diagnostic::new(
                    "E023",
                    origin,
                    &path,
                    "the rule names no attribute",
                    "name at least one attribute and its allowed values",
                ));
            }
            check_rule(origin, &path, rule, known, &levels, d);
        }
        let node_requirements = s
            .node_requirements
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let path = format!("spec.nodeRequirements[{i}]");
                check_rule(
                    origin,
                    &format!("{path}.match"),
                    &r.matches,
                    known,
                    &levels,
                    d,
                );
                if r.node_selector.is_empty() {
                    d.push(Diagnostic::new(
                        "E024",
                        origin,
                        format!("{path}.nodeSelector"),
                        "the requirement selects no label",
                        "give the labels the matching workloads need on their nodes",
                    ));
                }
                NodeRequirement {
                    matches: r.matches.clone(),
                    node_selector: r.node_selector.clone(),
                }
            })
            .collect();
        let node_overhead = self
            .amounts(origin, "spec.nodeOverhead", &s.node_overhead, true, d)
            .into_iter()
            .map(|a| a.unwrap_or(0))
            .collect();
        let node_failures = match s.headroom.as_ref().map(|h| h.node_failures) {
            None => 0,
            Some(k) if (0..=1000).contains(&k) => k as u32,
            Some(k) => {
                d.push(Diagnostic::new(
                    "E025",
                    origin,
                    "spec.headroom.nodeFailures",
                    format!("{k} is out of range"),
                    "use a number of node failures from 0 to 1000",
                ));
                0
            }
        };
        let min_nodes_per_pool = match s.min_nodes_per_pool {
            None => 1,
            Some(k) if (1..=100_000).contains(&k) => k as u32,
            Some(k) => {
                d.push(Diagnostic::new(
                    "E026",
                    origin,
                    "spec.minNodesPerPool",
                    format!("{k} is out of range"),
                    "use a number from 1 to 100000",
                ));
                1
            }
        };
        Policy {
            origin: origin.cloned(),
            sensitivity_levels: levels,
            separate_by,
            share_when: s.share_when.clone(),
            node_requirements,
            node_overhead,
            node_failures,
            min_nodes_per_pool,
        }
    }

    fn workload(
        &self,
        origin: &Origin,
        doc: &WorkloadDoc,
        policy: &Policy,
        d: &mut Vec<Diagnostic>,
    ) -> Workload {
        let s = &doc.spec;
        let o = Some(origin);
        check_name(o, "metadata.name", &doc.metadata.name, d);
        let namespace = doc
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        check_name(o, "metadata.namespace", &namespace, d);
        let replicas = match s.replicas {
            None => 1,
            Some(r) if (1..=MAX_REPLICAS).contains(&r) => r as u32,
            Some(r) => {
                d.push(Diagnostic::new("E031", o, "spec.replicas", format!("{r} replicas is out of range"), format!("use 1 to {MAX_REPLICAS} replicas (leave a scaled-down workload out of the input)")));
                1
            }
        };
        if s.resources.contains_key(PODS) {
            d.push(Diagnostic::new(
                "E032",
                o,
                "spec.resources.pods",
                "`pods` is implicit",
                "remove it: every replica takes one pod slot",
            ));
        }
        let mut requests: Vec<Amount> = self
            .amounts(o, "spec.resources", &s.resources, true, d)
            .into_iter()
            .map(|a| a.unwrap_or(0))
            .collect();
        let pods = self
            .resources
            .binary_search_by(|r| r.as_str().cmp(PODS))
            .expect("pods");
        requests[pods] = 1;

        let mut attributes = BTreeMap::new();
        for (key, value) in [
            ("sensitivity", &s.sensitivity),
            ("exposure", &s.exposure),
            ("trust", &s.trust),
            ("tenant", &s.tenant),
            ("purpose", &s.purpose),
        ] {
            if let Some(v) = value {
                attributes.insert(key.to_string(), v.clone());
            }
        }
        attributes.insert("namespace".to_string(), namespace.clone());
        for (key, value) in &s.attributes {
            if BUILTIN_ATTRIBUTES.contains(&key.as_str()) {
                d.push(Diagnostic::new(
                    "E033",
                    o,
                    format!("spec.attributes.{key}"),
                    format!("`{key}` is a built-in attribute"),
                    format!("set it with spec.{key} (or metadata.namespace), not in attributes"),
                ));
            } else {
                attributes.insert(key.clone(), value.clone());
            }
        }
        match &s.sensitivity {
            None => d.push(Diagnostic::new(
                "E034",
                o,
                "spec.sensitivity",
                "sensitivity is missing",
                format!("set it to one of {}", policy.sensitivity_levels.join(", ")),
            )),
            Some(level) if !policy.sensitivity_levels.contains(level) => {
                let h = hint(level, policy.sensitivity_levels.iter().map(String::as_str));
                d.push(Diagnostic::new(
                    "E035",
                    o,
                    "spec.sensitivity",
                    format!("unknown sensitivity level `{level}`"),
                    format!(
                        "{h} use one of {} (Policy sensitivityLevels)",
                        policy.sensitivity_levels.join(", ")
                    )
                    .trim()
                    .to_string(),
                ));
            }
            Some(_) => {}
        }
        let max_per_node = positive(o, "spec.maxPerNode", s.max_per_node, d);
        let min_zones = positive(o, "spec.minZones", s.min_zones, d);
        Workload {
            origin: origin.clone(),
            id: format!("{namespace}/{}", doc.metadata.name),
            name: doc.metadata.name.clone(),
            namespace,
            replicas,
            requests,
            attributes,
            dedicated: s.dedicated,
            max_per_node,
            min_zones,
            anti_affinity: Vec::new(),
            node_selector: s.node_selector.clone(),
        }
    }

    fn node(&self, origin: &Origin, doc: &NodeDoc, d: &mut Vec<Diagnostic>) -> Node {
        let o = Some(origin);
        check_name(o, "metadata.name", &doc.metadata.name, d);
        if doc.spec.allocatable.is_empty() {
            d.push(Diagnostic::new(
                "E041",
                o,
                "spec.allocatable",
                "the node declares no resource",
                "give its allocatable cpu, memory and pods",
            ));
        }
        let mut allocatable = self.amounts(o, "spec.allocatable", &doc.spec.allocatable, false, d);
        let pods = self
            .resources
            .binary_search_by(|r| r.as_str().cmp(PODS))
            .expect("pods");
        allocatable[pods].get_or_insert(MAX_AMOUNT);
        let cost = doc.spec.cost.unwrap_or(1.0);
        let cost_micros = if cost.is_finite() && (0.0..=MAX_COST).contains(&cost) {
            (cost * 1e6).round() as u64
        } else {
            d.push(Diagnostic::new(
                "E042",
                o,
                "spec.cost",
                format!("{cost} is not a valid cost"),
                format!("give the cost per hour as a number from 0 to {MAX_COST}"),
            ));
            0
        };
        let zone = doc.spec.zone.clone().or_else(|| {
            doc.metadata
                .labels
                .get("topology.kubernetes.io/zone")
                .cloned()
        });
        Node {
            origin: origin.clone(),
            name: doc.metadata.name.clone(),
            labels: doc.metadata.labels.clone(),
            allocatable,
            zone,
            cost_micros,
        }
    }
}

fn positive(
    origin: Option<&Origin>,
    path: &str,
    v: Option<i64>,
    d: &mut Vec<Diagnostic>,
) -> Option<u32> {
    match v {
        None => None,
        Some(k) if (1..=MAX_REPLICAS).contains(&k) => Some(k as u32),
        Some(k) => {
            d.push(Diagnostic::new(
                "E036",
                origin,
                path,
                format!("{k} is out of range"),
                format!("use a number from 1 to {MAX_REPLICAS}, or leave the field out"),
            ));
            None
        }
    }
}

/// Resolves `antiAffinity` names to indices, symmetric, reporting missing targets and self.
fn resolve_anti_affinity(
    docs: &[(Origin, WorkloadDoc)],
    workloads: &mut [Workload],
    d: &mut Vec<Diagnostic>,
) {
    let ids: Vec<String> = workloads.iter().map(|w| w.id.clone()).collect();
    let index = |id: &str| ids.binary_search_by(|x| x.as_str().cmp(id)).ok();
    let mut edges = Vec::new();
    for (origin, doc) in docs {
        let namespace = doc.metadata.namespace.as_deref().unwrap_or("default");
        let me = format!("{namespace}/{}", doc.metadata.name);
        let Some(a) = index(&me) else { continue };
        for (i, target) in doc.spec.anti_affinity.iter().enumerate() {
            let path = format!("spec.antiAffinity[{i}]");
            let id = if target.contains('/') {
                target.clone()
            } else {
                format!("{namespace}/{target}")
            };
            match index(&id) {
                Some(b) if b == a => d.push(Diagnostic::new(
                    "E037",
                    Some(origin),
                    path,
                    "a workload cannot be anti-affine to itself",
                    "to keep its replicas on separate nodes, set `maxPerNode: 1` instead",
                )),
                Some(b) => edges.push((a, b)),
                None => {
                    let h = hint(&id, ids.iter().map(String::as_str));
                    d.push(Diagnostic::new("E038", Some(origin), path, format!("no workload `{id}`"), format!("{h} name an existing workload as namespace/name, or a name in namespace `{namespace}`").trim().to_string()));
                }
            }
        }
    }
    for (a, b) in edges {
        workloads[a].anti_affinity.push(b);
        workloads[b].anti_affinity.push(a);
    }
    for w in workloads {
        w.anti_affinity.sort_unstable();
        w.anti_affinity.dedup();
    }
}

fn check_unique(origin: Option<&Origin>, path: &str, values: &[String], d: &mut Vec<Diagnostic>) {
    let mut seen = BTreeSet::new();
    for (i, v) in values.iter().enumerate() {
        if !seen.insert(v) {
            d.push(Diagnostic::new(
                "E022",
                origin,
                format!("{path}[{i}]"),
                format!("`{v}` is listed twice"),
                "list each value once",
            ));
        }
    }
}

fn check_attribute(
    origin: Option<&Origin>,
    path: &str,
    attr: &str,
    known: &BTreeSet<String>,
    d: &mut Vec<Diagnostic>,
) {
    if !known.contains(attr) {
        let h = hint(attr, known.iter().map(String::as_str));
        d.push(Diagnostic::new(
            "E027",
            origin,
            path,
            format!("unknown attribute `{attr}`"),
            format!(
                "{h} use one of {}, or a key that workloads set in spec.attributes",
                BUILTIN_ATTRIBUTES.join(", ")
            )
            .trim()
            .to_string(),
        ));
    }
}

fn check_rule(
    origin: Option<&Origin>,
    path: &str,
    rule: &BTreeMap<String, Vec<String>>,
    known: &BTreeSet<String>,
    levels: &[String],
    d: &mut Vec<Diagnostic>,
) {
    for (attr, values) in rule {
        check_attribute(origin, &format!("{path}.{attr}"), attr, known, d);
        if values.is_empty() {
            d.push(Diagnostic::new(
                "E028",
                origin,
                format!("{path}.{attr}"),
                "no value is listed, so nothing can match",
                "list the allowed values",
            ));
        }
        if attr == "sensitivity" {
            for (i, v) in values.iter().enumerate() {
                if !levels.contains(v) {
                    let h = hint(v, levels.iter().map(String::as_str));
                    d.push(Diagnostic::new(
                        "E035",
                        origin,
                        format!("{path}.{attr}[{i}]"),
                        format!("unknown sensitivity level `{v}`"),
                        format!("{h} use one of {}", levels.join(", "))
                            .trim()
                            .to_string(),
                    ));
                }
            }
        }
    }
}

/// Names become Kubernetes object names and label values later: keep them DNS-1123 labels.
fn check_name(origin: Option<&Origin>, path: &str, name: &str, d: &mut Vec<Diagnostic>) {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    if !valid {
        d.push(Diagnostic::new(
            "E063",
            origin,
            path,
            format!("`{name}` is not a valid Kubernetes name"),
            "use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (DNS-1123, at most 253 characters)",
        ));
    }
}

fn check_resource_name(name: &str) -> Result<(), String> {
    let (prefix, base) = match name.rsplit_once('/') {
        Some((p, b)) => (Some(p), b),
        None => (None, name),
    };
    let base_ok = !base.is_empty()
        && base.len() <= 63
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && base.as_bytes()[0].is_ascii_alphanumeric()
        && base.as_bytes()[base.len() - 1].is_ascii_alphanumeric();
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'))
    });
    if base_ok && prefix_ok {
        Ok(())
    } else {
        Err(format!("`{name}` is not a valid resource name"))
    }
}
