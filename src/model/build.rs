//! Validation: typed wire documents → [`Model`], reporting every problem at once.

use super::constraints::{self, TAINT_EFFECTS};
use super::{
    labelled_by_karpenter, names, Controller, Enforcement, Model, Node, NodeClassRef,
    NodeRequirement, NodeType, Policy, PoolName, SystemDaemonSet, Taint, Workload,
    BUILTIN_ATTRIBUTES, INSTANCE_TYPE_LABEL, PODS, ZONE_LABEL,
};
use crate::input::diag::hint;
use crate::input::wire::{
    NodeClassRefSpec, NodeDoc, NodeTypeDoc, PolicyDoc, PolicySpec, Quantity, WorkloadDoc,
    WorkloadSpec,
};
use crate::input::{self, Diagnostic, Documents, InputError, Origin};
use crate::quantity::{self, Amount, Unit, MAX_AMOUNT};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Default `sensitivityLevels`.
pub const DEFAULT_LEVELS: [&str; 4] = ["public", "internal", "confidential", "restricted"];
/// Default `separateBy`.
pub const DEFAULT_SEPARATE_BY: [&str; 3] = ["sensitivity", "exposure", "trust"];
/// Replicas above this are refused as absurd (and would only exhaust memory).
pub const MAX_REPLICAS: i64 = 1_000_000;
/// Costs above this per node-hour are refused as a likely unit mistake.
pub const MAX_COST: f64 = 1e9;
/// Replicas of all workloads together: far above Kubernetes' own limit of 150,000 pods per
/// cluster, and low enough that the plan stays in memory.
pub const MAX_TOTAL_REPLICAS: u64 = 1_000_000;
/// The whole inventory's cost per hour, so that sums of costs in micro-units fit a `u64`.
pub const MAX_TOTAL_COST: f64 = 1e12;

/// Reads `paths` and validates them into a model, reporting the problems of reading and of
/// validation together.
pub fn build_from_paths(paths: &[PathBuf]) -> Result<Model, InputError> {
    let (docs, diags) = input::read_paths(paths);
    let read: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    build_read(docs, diags, &read)
}

/// Validates YAML text (one or more documents separated by `---`) into a model, as if read
/// from a file called `name`, which diagnostics name.
pub fn build_from_yaml(name: &str, yaml: &str) -> Result<Model, InputError> {
    let (docs, diags) = input::read_bytes(Path::new(name), yaml.as_bytes());
    build_read(docs, diags, &[name.to_string()])
}

/// Validates what was read from `read` (with the problems of reading it, `diags`, as
/// [`input::read_paths`] returns them) into a model, reporting both kinds of problem
/// together.
pub fn build_read(
    docs: Documents,
    mut diags: Vec<Diagnostic>,
    read: &[String],
) -> Result<Model, InputError> {
    let rejected = docs.rejected_kinds.clone();
    match build(docs) {
        Ok(model) if diags.is_empty() => Ok(model),
        Ok(_) => Err(InputError::new(diags)),
        Err(e) => {
            // "No document of this kind" would only mislead when one was left out as invalid.
            diags.extend(
                e.diagnostics
                    .into_iter()
                    .filter(|d| match d.code {
                        "E050" => !rejected.contains("Workload"),
                        "E051" => !rejected.contains("Node") && !rejected.contains("NodeType"),
                        _ => true,
                    })
                    .map(|mut d| {
                        if matches!(d.code, "E050" | "E051") {
                            d.problem =
                                format!("{} in what was read: {}", d.problem, read.join(", "));
                        }
                        d
                    }),
            );
            Err(InputError::new(diags))
        }
    }
}

/// A `warn | deny` setting of the Policy; `None` when absent or invalid (reported).
fn enforcement(
    origin: Option<&Origin>,
    path: &str,
    value: Option<&str>,
    d: &mut Vec<Diagnostic>,
) -> Option<Enforcement> {
    let value = value?;
    let found = Enforcement::ALL.into_iter().find(|e| e.as_str() == value);
    if found.is_none() {
        let values = Enforcement::ALL.map(Enforcement::as_str);
        d.push(Diagnostic::new(
            "E070",
            origin,
            path,
            format!("unknown value `{value}`"),
            format!("{} use one of {}", hint(value, values), values.join(", "))
                .trim()
                .to_string(),
        ));
    }
    found
}

/// Validates typed documents into a model, or returns every problem found.
pub fn build(docs: Documents) -> Result<Model, InputError> {
    build_with(docs, Emptiness::Refused)
}

/// As [`build`], for the inputs a what-if scenario leaves: no workloads, or no inventory at
/// all, is a question to answer (nothing to place; nothing to place on), not a mistake.
pub fn build_scenario(docs: Documents) -> Result<Model, InputError> {
    build_with(docs, Emptiness::Allowed)
}

/// Whether an input with no workloads or no inventory is valid.
#[derive(PartialEq)]
enum Emptiness {
    Refused,
    Allowed,
}

fn build_with(docs: Documents, empty: Emptiness) -> Result<Model, InputError> {
    let fingerprint = docs.fingerprint();
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
    sort_unique(
        &mut workloads,
        |w| (&w.id, &w.origin),
        ("E030", "workload", "namespace/name"),
        &mut d,
    );
    resolve_anti_affinity(&docs.workloads, &mut workloads, &mut d);
    resolve_co_location(&docs.workloads, &mut workloads, &mut d);
    check_totals(&resources, &workloads, &mut d);
    undeclared_resources(&docs, &resources, &workloads, &mut d);

    let mut nodes: Vec<Node> = docs
        .nodes
        .iter()
        .map(|(origin, doc)| ctx.node(origin, doc, &mut d))
        .collect();
    sort_unique(
        &mut nodes,
        |n| (&n.name, &n.origin),
        ("E040", "node", "name"),
        &mut d,
    );
    let total_cost: u128 = nodes.iter().map(|n| u128::from(n.cost_micros)).sum();
    if total_cost > (MAX_TOTAL_COST * 1e6) as u128 {
        d.push(Diagnostic::new(
            "E043",
            None,
            "",
            format!(
                "the inventory costs {} per hour in all",
                total_cost as f64 / 1e6
            ),
            format!("keep the total below {MAX_TOTAL_COST:e} (is the cost in the right unit?)"),
        ));
    }
    if docs.workloads.is_empty() && empty == Emptiness::Refused {
        d.push(Diagnostic::new(
            "E050",
            None,
            "",
            "there is no Workload document",
            "add the workloads to plan",
        ));
    }
    // Labels some workload may require: a NodeType offering one must get it from its node
    // class, or from Karpenter itself.
    let required: BTreeSet<(&str, &str)> = policy
        .node_requirements
        .iter()
        .flat_map(|r| &r.node_selector)
        .chain(workloads.iter().flat_map(|w| &w.node_selector))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut node_types: Vec<NodeType> = docs
        .node_types
        .iter()
        .map(|(origin, doc)| ctx.node_type(origin, doc, &policy, &required, &mut d))
        .collect();
    sort_unique(
        &mut node_types,
        |t| (&t.name, &t.origin),
        ("E040", "node type", "name"),
        &mut d,
    );
    if docs.nodes.is_empty() && docs.node_types.is_empty() && empty == Emptiness::Refused {
        d.push(Diagnostic::new(
            "E051",
            None,
            "",
            "the inventory is empty: there is no Node or NodeType document",
            "add Node documents describing the machines to plan on, or NodeType documents describing the machines that can be bought",
        ));
    }
    if d.is_empty() {
        Ok(Model {
            policy,
            resources,
            workloads,
            nodes,
            node_types,
            fingerprint,
        })
    } else {
        Err(InputError::new(d))
    }
}

/// Sorts `items` by their key and reports every key defined twice, with both places.
fn sort_unique<T>(
    items: &mut [T],
    key: impl Fn(&T) -> (&String, &Origin),
    (code, what, unique): (&'static str, &str, &str),
    d: &mut Vec<Diagnostic>,
) {
    items.sort_by(|a, b| key(a).0.cmp(key(b).0));
    for pair in items.windows(2) {
        let ((first, at), (second, origin)) = (key(&pair[0]), key(&pair[1]));
        if first == second {
            d.push(Diagnostic::new(
                code,
                Some(origin),
                "metadata.name",
                format!("{what} `{second}` is also defined in {at}"),
                format!("give each {what} a unique {unique}"),
            ));
        }
    }
}

/// A resource a workload requests that no Node or NodeType declares could never be given to
/// it: most likely a misspelling (`memroy`), so it is an input error, with the closest name.
fn undeclared_resources(
    docs: &Documents,
    resources: &[String],
    workloads: &[Workload],
    d: &mut Vec<Diagnostic>,
) {
    if docs.nodes.is_empty() && docs.node_types.is_empty() {
        return; // E051 says the inventory is empty.
    }
    // Declared as written, so that a node whose amount is invalid (reported on its own) still
    // declares the resource.
    let declared: BTreeSet<&str> = docs
        .nodes
        .iter()
        .flat_map(|(_, n)| n.spec.allocatable.keys())
        .chain(
            docs.node_types
                .iter()
                .flat_map(|(_, t)| t.spec.allocatable.keys()),
        )
        .map(String::as_str)
        .collect();
    for w in workloads {
        // An invalid name or amount was reported (E060, E061) and left at zero; a zero request
        // asks nothing of any node.
        for (name, _) in resources
            .iter()
            .zip(&w.requests)
            .filter(|(name, amount)| **amount > 0 && name.as_str() != PODS)
        {
            if !declared.contains(name.as_str()) {
                let known = declared.iter().copied().chain([PODS]);
                d.push(Diagnostic::new(
                    "E055",
                    Some(&w.origin),
                    format!("spec.resources.{name}"),
                    format!("no Node or NodeType declares `{name}` in its allocatable, so no node could ever give it"),
                    format!(
                        "{} request a resource the nodes declare ({})",
                        hint(name, known),
                        declared.iter().copied().collect::<Vec<_>>().join(", ")
                    )
                    .trim()
                    .to_string(),
                ));
            }
        }
    }
}

/// Sums over all replicas must stay exact in a `u64` for every later stage.
fn check_totals(resources: &[String], workloads: &[Workload], d: &mut Vec<Diagnostic>) {
    let replicas: u64 = workloads.iter().map(|w| u64::from(w.replicas)).sum();
    if replicas > MAX_TOTAL_REPLICAS {
        d.push(Diagnostic::new(
            "E052",
            None,
            "",
            format!("the workloads have {replicas} replicas in all"),
            format!("plan at most {MAX_TOTAL_REPLICAS} replicas at once (split the input)"),
        ));
    }
    for (r, name) in resources.iter().enumerate() {
        let total: u128 = workloads
            .iter()
            .map(|w| u128::from(w.requests[r]) * u128::from(w.replicas))
            .sum();
        if total > u128::from(MAX_AMOUNT) {
            d.push(Diagnostic::new(
                "E053",
                None,
                "",
                format!("the workloads request more than 2^62 base units of `{name}` in all"),
                "check the quantities' units (e.g. `Mi` rather than `Ei`)",
            ));
        }
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
    for (_, t) in &docs.node_types {
        names.extend(t.spec.allocatable.keys().cloned());
        names.extend(t.spec.capacity.keys().cloned());
    }
    for (_, p) in &docs.policies {
        for ds in &p.spec.system_daemon_sets {
            names.extend(ds.resources.keys().cloned());
        }
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
            if let Some(problem) = names::qualified_name_problem(name) {
                d.push(Diagnostic::new(
                    "E060",
                    origin,
                    &path,
                    format!("`{name}` is not a valid resource name: {problem}"),
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
                check_labels(origin, &format!("{path}.nodeSelector"), &r.node_selector, d);
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
        let pools = s
            .pools
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let path = format!("spec.pools[{i}]");
                check_name(
                    origin,
                    &format!("{path}.name"),
                    &entry.name,
                    NameRule::Label,
                    d,
                );
                check_rule(
                    origin,
                    &format!("{path}.match"),
                    &entry.matches,
                    known,
                    &levels,
                    d,
                );
                PoolName {
                    name: entry.name.clone(),
                    matches: entry.matches.clone(),
                }
            })
            .collect();
        // Two pools cannot share a name (it is their label and taint value), and one entry
        // whose classes end in several pools names only one of them, so a repeated name
        // could never name both.
        let mut seen = BTreeSet::new();
        for (i, entry) in s.pools.iter().enumerate() {
            if entry.name == crate::plan::PLATFORM_POOL {
                d.push(Diagnostic::new(
                    "E022",
                    origin,
                    format!("spec.pools[{i}].name"),
                    format!(
                        "`{}` is the name of the pool of platform workloads",
                        entry.name
                    ),
                    "choose another name; the platform pool is always named `platform`",
                ));
            }
            if !seen.insert(&entry.name) {
                d.push(Diagnostic::new(
                    "E022",
                    origin,
                    format!("spec.pools[{i}].name"),
                    format!("`{}` is listed twice", entry.name),
                    "give each entry its own name",
                ));
            }
        }
        let mut node_overhead: Vec<Amount> = self
            .amounts(origin, "spec.nodeOverhead", &s.node_overhead, true, d)
            .into_iter()
            .map(|a| a.unwrap_or(0))
            .collect();
        let system_daemon_sets = self.system_daemon_sets(origin, s, &mut node_overhead, d);
        let karpenter_node_class =
            match s.karpenter.as_ref().and_then(|k| k.node_class_ref.as_ref()) {
                None => NodeClassRef::default(),
                Some(r) => node_class_ref(origin, "spec.karpenter.nodeClassRef", r, d),
            };
        let mut node_class_labels: BTreeMap<NodeClassRef, BTreeMap<String, String>> =
            BTreeMap::new();
        for (i, c) in s.karpenter.iter().flat_map(|k| &k.node_classes).enumerate() {
            let path = format!("spec.karpenter.nodeClasses[{i}]");
            let reference = node_class_ref(
                origin,
                &path,
                &NodeClassRefSpec {
                    group: c.group.clone(),
                    kind: c.kind.clone(),
                    name: c.name.clone(),
                },
                d,
            );
            check_labels(origin, &format!("{path}.labels"), &c.labels, d);
            for key in c.labels.keys().filter(|k| labelled_by_karpenter(k)) {
                d.push(Diagnostic::new(
                    "E049",
                    origin,
                    format!("{path}.labels.{key}"),
                    "Karpenter sets this label from the instance type, not the node class",
                    "remove it; give it on the NodeTypes whose instances have it",
                ));
            }
            if node_class_labels
                .insert(reference, c.labels.clone())
                .is_some()
            {
                d.push(Diagnostic::new(
                    "E049",
                    origin,
                    path,
                    format!("node class `{}` is listed twice", c.name),
                    "list each node class once",
                ));
            }
        }
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
        // Without system DaemonSets the policy would deny the CNI's and kube-proxy's pods on
        // new nodes, so it only warns until they are listed or `deny` is asked for.
        let admission_default = if system_daemon_sets.is_empty() {
            Enforcement::Warn
        } else {
            Enforcement::Deny
        };
        let admission = enforcement(origin, "spec.admission", s.admission.as_deref(), d)
            .unwrap_or(admission_default);
        let namespace_boundary = enforcement(
            origin,
            "spec.namespaceBoundary",
            s.namespace_boundary.as_deref(),
            d,
        )
        .unwrap_or(Enforcement::Warn);
        Policy {
            origin: origin.cloned(),
            sensitivity_levels: levels,
            separate_by,
            share_when: s.share_when.clone(),
            node_requirements,
            pools,
            node_overhead,
            node_failures,
            min_nodes_per_pool,
            system_daemon_sets,
            karpenter_node_class,
            node_class_labels,
            admission,
            namespace_boundary,
            defaults: self.defaults(origin, &s.defaults, d),
        }
    }

    /// Validates `spec.defaults`: attributes a workload may set, with a value.
    fn defaults(
        &self,
        origin: Option<&Origin>,
        defaults: &BTreeMap<String, String>,
        d: &mut Vec<Diagnostic>,
    ) -> BTreeMap<String, String> {
        for (key, value) in defaults {
            let path = format!("spec.defaults.{key}");
            if key == "namespace" || key == "dedicated" || key == "platform" {
                d.push(Diagnostic::new(
                    "E072",
                    origin,
                    path,
                    format!("`{key}` cannot be defaulted"),
                    "default only tier attributes (sensitivity, exposure, trust, tenant, purpose or a free attribute)",
                ));
            } else if value.is_empty() {
                d.push(Diagnostic::new(
                    "E072",
                    origin,
                    path,
                    "the default is empty",
                    "give a value, or remove the entry",
                ));
            }
        }
        defaults.clone()
    }

    /// Validates `spec.systemDaemonSets` and adds their requests to the per-node overhead.
    fn system_daemon_sets(
        &self,
        origin: Option<&Origin>,
        s: &PolicySpec,
        overhead: &mut [Amount],
        d: &mut Vec<Diagnostic>,
    ) -> Vec<SystemDaemonSet> {
        let mut out: Vec<SystemDaemonSet> = Vec::new();
        for (i, ds) in s.system_daemon_sets.iter().enumerate() {
            let path = format!("spec.systemDaemonSets[{i}]");
            check_name(
                origin,
                &format!("{path}.name"),
                &ds.name,
                NameRule::Subdomain,
                d,
            );
            let namespace = ds
                .namespace
                .clone()
                .unwrap_or_else(|| "kube-system".to_string());
            check_name(
                origin,
                &format!("{path}.namespace"),
                &namespace,
                NameRule::Label,
                d,
            );
            // Each DaemonSet pod also takes a pod slot on every node.
            let requests: Vec<Amount> = self
                .amounts(origin, &format!("{path}.resources"), &ds.resources, true, d)
                .into_iter()
                .enumerate()
                .map(|(r, a)| {
                    if self.resources[r] == PODS {
                        1
                    } else {
                        a.unwrap_or(0)
                    }
                })
                .collect();
            for (r, q) in requests.iter().enumerate() {
                match overhead[r].checked_add(*q).filter(|&t| t <= MAX_AMOUNT) {
                    Some(t) => overhead[r] = t,
                    None => d.push(Diagnostic::new(
                        "E029",
                        origin,
                        format!("{path}.resources.{}", self.resources[r]),
                        "the overhead and the system DaemonSets together reserve more than any node holds",
                        "check the units of these requests",
                    )),
                }
            }
            if out
                .iter()
                .any(|o| o.name == ds.name && o.namespace == namespace)
            {
                d.push(Diagnostic::new(
                    "E022",
                    origin,
                    format!("{path}.name"),
                    format!("`{namespace}/{}` is listed twice", ds.name),
                    "list each system DaemonSet once",
                ));
            }
            out.push(SystemDaemonSet {
                name: ds.name.clone(),
                namespace,
                requests,
            });
        }
        out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        out
    }

    fn workload(
        &self,
        origin: &Origin,
        doc: &WorkloadDoc,
        policy: &Policy,
        d: &mut Vec<Diagnostic>,
    ) -> Workload {
        let s = &defaulted(&doc.spec, &policy.defaults);
        let o = Some(origin);
        check_name(
            o,
            "metadata.name",
            &doc.metadata.name,
            NameRule::Subdomain,
            d,
        );
        let namespace = doc
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        check_name(o, "metadata.namespace", &namespace, NameRule::Label, d);
        check_labels(o, "spec.nodeSelector", &s.node_selector, d);
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
        // A platform workload is untiered: a tier attribute would claim an isolation that
        // its unpinned pods do not get.
        let tier_fields = [
            ("spec.sensitivity", s.sensitivity.is_some()),
            ("spec.exposure", s.exposure.is_some()),
            ("spec.trust", s.trust.is_some()),
            ("spec.tenant", s.tenant.is_some()),
            ("spec.purpose", s.purpose.is_some()),
            ("spec.attributes", !s.attributes.is_empty()),
            ("spec.dedicated", s.dedicated),
        ];
        match &s.sensitivity {
            _ if s.platform => {
                for (path, _) in tier_fields.iter().filter(|(_, set)| *set) {
                    d.push(Diagnostic::new(
                        "E056",
                        o,
                        *path,
                        "a platform workload has no tier",
                        "remove it, or drop `platform: true` to plan the workload in a tier",
                    ));
                }
            }
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
        let controller = match s.controller.as_deref() {
            None => Controller::Deployment,
            Some(k) => match Controller::ALL.into_iter().find(|c| c.kind() == k) {
                Some(c) => c,
                None => {
                    let kinds = Controller::ALL.map(Controller::kind);
                    let h = hint(k, kinds);
                    d.push(Diagnostic::new(
                        "E054",
                        o,
                        "spec.controller",
                        format!("unknown controller `{k}`"),
                        format!("{h} use one of {}", kinds.join(", "))
                            .trim()
                            .to_string(),
                    ));
                    Controller::Deployment
                }
            },
        };
        Workload {
            origin: origin.clone(),
            id: format!("{namespace}/{}", doc.metadata.name),
            name: doc.metadata.name.clone(),
            namespace,
            replicas,
            requests,
            attributes,
            dedicated: s.dedicated,
            platform: s.platform,
            max_per_node,
            min_zones,
            anti_affinity: Vec::new(),
            co_location: Vec::new(),
            node_selector: s.node_selector.clone(),
            controller,
            node_affinity: constraints::node_affinity(o, &s.node_affinity, d),
            tolerations: constraints::tolerations(o, &s.tolerations, d),
        }
    }

    fn node(&self, origin: &Origin, doc: &NodeDoc, d: &mut Vec<Diagnostic>) -> Node {
        let o = Some(origin);
        check_name(
            o,
            "metadata.name",
            &doc.metadata.name,
            NameRule::Subdomain,
            d,
        );
        check_labels(o, "metadata.labels", &doc.metadata.labels, d);
        if let Some(zone) = &doc.spec.zone {
            check_label_value(o, "spec.zone", zone, d);
        }
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
        let cost_micros = cost_micros(o, doc.spec.cost, d);
        let mut taints: Vec<Taint> = Vec::new();
        for (i, t) in doc.spec.taints.iter().enumerate() {
            let path = format!("spec.taints[{i}]");
            if let Some(problem) = names::qualified_name_problem(&t.key) {
                d.push(Diagnostic::new(
                    "E064",
                    o,
                    format!("{path}.key"),
                    format!("`{}` is not a valid taint key: {problem}", t.key),
                    "use a key such as example.com/dedicated",
                ));
            }
            let value = t.value.clone().unwrap_or_default();
            check_label_value(o, &format!("{path}.value"), &value, d);
            if !TAINT_EFFECTS.contains(&t.effect.as_str()) {
                let h = hint(&t.effect, TAINT_EFFECTS);
                d.push(Diagnostic::new(
                    "E044",
                    o,
                    format!("{path}.effect"),
                    format!("unknown taint effect `{}`", t.effect),
                    format!("{h} use one of {}", TAINT_EFFECTS.join(", "))
                        .trim()
                        .to_string(),
                ));
            }
            taints.push(Taint {
                key: t.key.clone(),
                value,
                effect: t.effect.clone(),
            });
        }
        taints.sort();
        taints.dedup();
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
            taints,
            unschedulable: doc.spec.unschedulable,
        }
    }

    fn node_type(
        &self,
        origin: &Origin,
        doc: &NodeTypeDoc,
        policy: &Policy,
        required: &BTreeSet<(&str, &str)>,
        d: &mut Vec<Diagnostic>,
    ) -> NodeType {
        let o = Some(origin);
        let name = &doc.metadata.name;
        // The name becomes part of node names.
        check_name(o, "metadata.name", name, NameRule::Subdomain, d);
        let instance_type = doc
            .spec
            .instance_type
            .clone()
            .unwrap_or_else(|| name.clone());
        let instance_path = if doc.spec.instance_type.is_some() {
            "spec.instanceType"
        } else {
            "metadata.name"
        };
        check_label_value(o, instance_path, &instance_type, d);
        check_labels(o, "metadata.labels", &doc.metadata.labels, d);
        for key in [INSTANCE_TYPE_LABEL, ZONE_LABEL] {
            if doc.metadata.labels.contains_key(key) {
                d.push(Diagnostic::new(
                    "E045",
                    o,
                    format!("metadata.labels.{key}"),
                    "this label is set by tierplan from the type's instanceType and zones",
                    "remove it",
                ));
            }
        }
        let node_class = match &doc.spec.node_class_ref {
            Some(r) => node_class_ref(o, "spec.nodeClassRef", r, d),
            None => policy.karpenter_node_class.clone(),
        };
        let guaranteed = policy.node_class_labels.get(&node_class);
        let mut labels = doc.metadata.labels.clone();
        for (key, value) in &doc.metadata.labels {
            let from_class = guaranteed.and_then(|g| g.get(key));
            let problem = match from_class {
                Some(v) if v != value => format!(
                    "node class `{}` gives its nodes `{key}: {v}`",
                    node_class.name
                ),
                Some(_) => continue,
                // A label no workload requires decides nothing; one Karpenter derives from
                // the instance type is a fact of the instance.
                None if !required.contains(&(key.as_str(), value.as_str()))
                    || labelled_by_karpenter(key) =>
                {
                    continue
                }
                None => format!(
                    "a workload requires `{key}: {value}`, but node class `{}` does not guarantee it: \
                     Karpenter would write the label on a node of any image",
                    node_class.name
                ),
            };
            d.push(Diagnostic::new(
                "E049",
                o,
                format!("metadata.labels.{key}"),
                problem,
                "list the label under the node class in the Policy's karpenter.nodeClasses, \
                 if the class's image guarantees it, or give the NodeType the node class that does",
            ));
        }
        if let Some(g) = guaranteed {
            labels.extend(g.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if doc.spec.allocatable.is_empty() {
            d.push(Diagnostic::new(
                "E041",
                o,
                "spec.allocatable",
                "the node type declares no resource",
                "give its allocatable cpu, memory and pods",
            ));
        }
        let mut allocatable = self.amounts(o, "spec.allocatable", &doc.spec.allocatable, false, d);
        let capacity = self.amounts(o, "spec.capacity", &doc.spec.capacity, false, d);
        self.check_capacity(o, &allocatable, &capacity, d);
        let pods = self
            .resources
            .binary_search_by(|r| r.as_str().cmp(PODS))
            .expect("pods");
        allocatable[pods].get_or_insert(MAX_AMOUNT);
        let mut zones = doc.spec.zones.clone();
        for (i, z) in zones.iter().enumerate() {
            check_label_value(o, &format!("spec.zones[{i}]"), z, d);
        }
        check_unique(o, "spec.zones", &zones, d);
        if zones.is_empty() {
            d.push(Diagnostic::new(
                "E046",
                o,
                "spec.zones",
                "the node type lists no zone",
                "list the zones it can be bought in",
            ));
        }
        zones.sort();
        let max = match doc.spec.max {
            None => None,
            Some(m) if (0..=MAX_BUY).contains(&m) => Some(m as u32),
            Some(m) => {
                d.push(Diagnostic::new(
                    "E047",
                    o,
                    "spec.max",
                    format!("{m} is out of range"),
                    format!("use 0 to {MAX_BUY}, or leave it out for no limit"),
                ));
                None
            }
        };
        NodeType {
            origin: origin.clone(),
            name: name.clone(),
            instance_type,
            node_class,
            labels,
            allocatable,
            capacity,
            zones,
            cost_micros: cost_micros(o, doc.spec.cost, d),
            max,
        }
    }

    /// Karpenter's NodePool limits count capacity: every type needs it for cpu and memory
    /// (the resources limits are emitted for), and it can never be below allocatable.
    fn check_capacity(
        &self,
        o: Option<&Origin>,
        allocatable: &[Option<Amount>],
        capacity: &[Option<Amount>],
        d: &mut Vec<Diagnostic>,
    ) {
        let fix = "give the instance's capacity (vCPUs and memory before any reservation, as `kubectl get node -o yaml` shows under status.capacity): Karpenter's NodePool limits count it";
        for (r, name) in self.resources.iter().enumerate() {
            match (allocatable[r], capacity[r]) {
                (Some(_), None) if name == "cpu" || name == "memory" => d.push(Diagnostic::new(
                    "E048",
                    o,
                    format!("spec.capacity.{name}"),
                    format!("the node type declares allocatable {name} but no capacity"),
                    fix,
                )),
                (Some(a), Some(c)) if c < a => d.push(Diagnostic::new(
                    "E048",
                    o,
                    format!("spec.capacity.{name}"),
                    format!(
                        "capacity is below allocatable ({} < {})",
                        quantity::format(c, Unit::for_resource(name)),
                        quantity::format(a, Unit::for_resource(name))
                    ),
                    fix,
                )),
                _ => {}
            }
        }
    }
}

/// A validated `nodeClassRef`.
fn node_class_ref(
    origin: Option<&Origin>,
    path: &str,
    r: &NodeClassRefSpec,
    d: &mut Vec<Diagnostic>,
) -> NodeClassRef {
    check_name(
        origin,
        &format!("{path}.name"),
        &r.name,
        NameRule::Subdomain,
        d,
    );
    NodeClassRef {
        group: r.group.clone(),
        kind: r.kind.clone(),
        name: r.name.clone(),
    }
}

/// The most nodes of one type a plan may buy: far beyond any cluster, and small enough that
/// every count stays exact.
const MAX_BUY: i64 = 100_000;

fn cost_micros(o: Option<&Origin>, cost: Option<f64>, d: &mut Vec<Diagnostic>) -> u64 {
    let cost = cost.unwrap_or(1.0);
    if cost.is_finite() && (0.0..=MAX_COST).contains(&cost) {
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
/// Resolves `coLocation` targets to indices, keeping the tightest limit per target.
fn resolve_co_location(
    docs: &[(Origin, WorkloadDoc)],
    workloads: &mut [Workload],
    d: &mut Vec<Diagnostic>,
) {
    let ids: Vec<String> = workloads.iter().map(|w| w.id.clone()).collect();
    let index = |id: &str| ids.binary_search_by(|x| x.as_str().cmp(id)).ok();
    for (origin, doc) in docs {
        let namespace = doc.metadata.namespace.as_deref().unwrap_or("default");
        let Some(a) = index(&format!("{namespace}/{}", doc.metadata.name)) else {
            continue;
        };
        let mut limits: Vec<(usize, u32)> = Vec::new();
        for (i, rule) in doc.spec.co_location.iter().enumerate() {
            let path = format!("spec.coLocation[{i}]");
            let id = if rule.workload.contains('/') {
                rule.workload.clone()
            } else {
                format!("{namespace}/{}", rule.workload)
            };
            let max = match u32::try_from(rule.max) {
                Ok(m) if i64::from(m) <= MAX_REPLICAS => m,
                _ => {
                    d.push(Diagnostic::new(
                        "E039",
                        Some(origin),
                        format!("{path}.max"),
                        format!("{} is out of range", rule.max),
                        format!("use 0 to {MAX_REPLICAS}"),
                    ));
                    continue;
                }
            };
            match index(&id) {
                Some(b) if b == a => d.push(Diagnostic::new(
                    "E039",
                    Some(origin),
                    format!("{path}.workload"),
                    "a co-location limit on the workload itself",
                    "to cap its replicas per node, set `maxPerNode` instead",
                )),
                Some(b) => limits.push((b, max)),
                None => {
                    let h = hint(&id, ids.iter().map(String::as_str));
                    d.push(Diagnostic::new("E038", Some(origin), format!("{path}.workload"), format!("no workload `{id}`"), format!("{h} name an existing workload as namespace/name, or a name in namespace `{namespace}`").trim().to_string()));
                }
            }
        }
        limits.sort_unstable();
        // The first entry per target is its tightest limit.
        limits.dedup_by_key(|(b, _)| *b);
        workloads[a].co_location = limits;
    }
}

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

/// The syntax rule an input name must follow, by where it ends up in Kubernetes.
#[derive(Debug, Clone, Copy)]
enum NameRule {
    /// Namespaces: DNS-1123 labels.
    Label,
    /// Object names (workloads, nodes): DNS-1123 subdomains.
    Subdomain,
}

/// Workload, namespace and node names become Kubernetes object names: refuse the ones the API
/// server would, with the reason and a valid name to consider (never applied silently).
fn check_name(
    origin: Option<&Origin>,
    path: &str,
    name: &str,
    rule: NameRule,
    d: &mut Vec<Diagnostic>,
) {
    let (problem, kind, max) = match rule {
        NameRule::Label => (names::dns_label_problem(name), "DNS-1123 label", 63),
        NameRule::Subdomain => (
            names::dns_subdomain_problem(name),
            "DNS-1123 subdomain",
            253,
        ),
    };
    if let Some(problem) = problem {
        let chars = match rule {
            NameRule::Label => "lower-case letters, digits and '-'",
            NameRule::Subdomain => "lower-case letters, digits, '-' and '.'",
        };
        let suggestion = names::suggest_dns(name, max);
        let suggestion = if suggestion.is_empty() || suggestion == name {
            String::new()
        } else {
            format!(" (e.g. `{suggestion}`)")
        };
        d.push(Diagnostic::new(
            "E063",
            origin,
            path,
            format!("`{name}` is not a valid Kubernetes name: {problem}"),
            format!(
                "rename it{suggestion}: a {kind} has at most {max} {chars}, starting and ending with a letter or digit"
            ),
        ));
    }
}

/// Label keys and values are matched against real nodes' labels: refuse what Kubernetes
/// would never accept as a label, since it could never match.
fn check_labels(
    origin: Option<&Origin>,
    path: &str,
    labels: &BTreeMap<String, String>,
    d: &mut Vec<Diagnostic>,
) {
    for (key, value) in labels {
        if let Some(problem) = names::qualified_name_problem(key) {
            d.push(Diagnostic::new(
                "E064",
                origin,
                format!("{path}.{key}"),
                format!("`{key}` is not a valid label key: {problem}"),
                "write [prefix/]name: an optional DNS subdomain prefix and a name of at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
            ));
        }
        check_label_value(origin, &format!("{path}.{key}"), value, d);
    }
}

fn check_label_value(origin: Option<&Origin>, path: &str, value: &str, d: &mut Vec<Diagnostic>) {
    if let Some(problem) = names::label_value_problem(value) {
        d.push(Diagnostic::new(
            "E065",
            origin,
            path,
            format!("`{value}` is not a valid label value: {problem}"),
            "use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit (or an empty value)",
        ));
    }
}

/// `spec` with the Policy's `defaults` filled in where it sets no value; platform workloads
/// have no tier and take none.
fn defaulted(spec: &WorkloadSpec, defaults: &BTreeMap<String, String>) -> WorkloadSpec {
    let mut s = spec.clone();
    if s.platform {
        return s;
    }
    for (key, value) in defaults {
        let field = match key.as_str() {
            "sensitivity" => &mut s.sensitivity,
            "exposure" => &mut s.exposure,
            "trust" => &mut s.trust,
            "tenant" => &mut s.tenant,
            "purpose" => &mut s.purpose,
            _ => {
                s.attributes
                    .entry(key.clone())
                    .or_insert_with(|| value.clone());
                continue;
            }
        };
        field.get_or_insert_with(|| value.clone());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: &str = "apiVersion: tierplan/v1alpha1\nkind: Node\nmetadata: {name: n1, labels: {topology.kubernetes.io/zone: a}}\nspec: {allocatable: {cpu: 4, memory: 16Gi}, cost: 0.214}\n";

    fn workload(name: &str, spec: &str) -> String {
        format!("apiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {{name: {name}}}\nspec: {{sensitivity: public, {spec}}}\n")
    }

    fn try_build(docs: &[&str]) -> Result<Model, InputError> {
        let text = docs.join("---\n");
        let (typed, diags) = input::read_bytes(std::path::Path::new("in.yaml"), text.as_bytes());
        assert!(diags.is_empty(), "{diags:?}");
        build(typed)
    }

    /// The codes and paths of the problems `docs` has.
    fn problems(docs: &[&str]) -> Vec<(&'static str, String)> {
        let e = try_build(docs).expect_err("invalid");
        e.diagnostics
            .iter()
            .map(|d| (d.code, d.path.clone()))
            .collect()
    }

    const TYPE: &str = "apiVersion: tierplan/v1alpha1\nkind: NodeType\n";

    #[test]
    fn node_types_name_instance_type_node_class_and_capacity() {
        let policy = "apiVersion: tierplan/v1alpha1\nkind: Policy\nmetadata: {name: p}\nspec:\n  nodeRequirements: [{match: {sensitivity: [restricted]}, nodeSelector: {os: br}}]\n  karpenter:\n    nodeClassRef: {group: g, kind: K, name: al2023}\n    nodeClasses: [{group: g, kind: K, name: br, labels: {os: br}}]\n";
        let plain = format!("{TYPE}metadata: {{name: m7i.large}}\nspec: {{allocatable: {{cpu: 1930m, memory: 7Gi}}, capacity: {{cpu: 2, memory: 8Gi}}, zones: [a]}}\n");
        let hardened = format!("{TYPE}metadata: {{name: m7i.large-br}}\nspec: {{instanceType: m7i.large, nodeClassRef: {{group: g, kind: K, name: br}}, allocatable: {{cpu: 1930m, memory: 7Gi}}, capacity: {{cpu: 2, memory: 8Gi}}, zones: [a]}}\n");
        let m = try_build(&[policy, &workload("web", ""), &plain, &hardened]).unwrap();
        let [plain, hardened] = [&m.node_types[0], &m.node_types[1]];
        assert_eq!(
            (plain.instance_type.as_str(), plain.node_class.name.as_str()),
            ("m7i.large", "al2023")
        );
        assert_eq!(
            (
                hardened.instance_type.as_str(),
                hardened.node_class.name.as_str()
            ),
            ("m7i.large", "br")
        );
        // The class's labels are the type's: the restricted workloads may use it.
        assert_eq!(hardened.labels.get("os").map(String::as_str), Some("br"));
        assert!(plain.labels.is_empty());
        let cpu = m.resource_id("cpu").unwrap();
        assert_eq!(
            (plain.capacity[cpu], plain.allocatable[cpu]),
            (Some(2000), Some(1930))
        );
    }

    #[test]
    fn a_required_label_must_come_from_the_node_class_and_capacity_is_required() {
        let policy = "apiVersion: tierplan/v1alpha1\nkind: Policy\nmetadata: {name: p}\nspec:\n  nodeRequirements: [{match: {sensitivity: [restricted]}, nodeSelector: {os: br}}]\n  karpenter:\n    nodeClasses: [{group: g, kind: K, name: br, labels: {os: br}}]\n";
        // On the default class, which guarantees nothing, `os: br` would be a label Karpenter
        // writes on any node; on `br` a contradicting value is refused; capacity is missing
        // for memory and below allocatable for cpu; `kubernetes.io/arch` is Karpenter's own.
        let unguaranteed = format!("{TYPE}metadata: {{name: a, labels: {{os: br, kubernetes.io/arch: amd64}}}}\nspec: {{allocatable: {{cpu: 2, memory: 7Gi}}, capacity: {{cpu: 1}}, zones: [a]}}\n");
        let contradicting = format!("{TYPE}metadata: {{name: b, labels: {{os: al}}}}\nspec: {{nodeClassRef: {{group: g, kind: K, name: br}}, allocatable: {{cpu: 2}}, capacity: {{cpu: 2}}, zones: [a]}}\n");
        assert_eq!(
            problems(&[policy, &workload("web", ""), &unguaranteed, &contradicting]),
            [
                ("E049", "metadata.labels.os".to_string()),
                ("E048", "spec.capacity.cpu".to_string()),
                ("E048", "spec.capacity.memory".to_string()),
                ("E049", "metadata.labels.os".to_string()),
            ]
        );
    }

    #[test]
    fn applies_defaults_and_exact_units() {
        let m = try_build(&[&workload("web", "resources: {cpu: 1500m}"), NODE]).unwrap();
        assert_eq!(m.policy.sensitivity_levels, DEFAULT_LEVELS);
        assert_eq!(m.policy.separate_by, DEFAULT_SEPARATE_BY);
        assert_eq!(
            (m.policy.node_failures, m.policy.min_nodes_per_pool),
            (0, 1)
        );
        assert_eq!(m.resources, ["cpu", "memory", "pods"]);
        let w = &m.workloads[0];
        assert_eq!((w.id.as_str(), w.replicas), ("default/web", 1));
        assert_eq!(w.requests, [1500, 0, 1]);
        assert_eq!(w.attribute("namespace"), "default");
        let n = &m.nodes[0];
        assert_eq!(
            n.allocatable,
            [Some(4000), Some(16 << 30), Some(MAX_AMOUNT)]
        );
        assert_eq!(n.zone.as_deref(), Some("a"));
        assert_eq!(n.cost_micros, 214_000);
    }

    #[test]
    fn anti_affinity_is_symmetric_and_resolved_by_namespace() {
        let m = try_build(&[
            &workload("a", "antiAffinity: [b, default/b]"),
            &workload("b", ""),
            &workload("c", "antiAffinity: [a]"),
            NODE,
        ])
        .unwrap();
        let aa: Vec<&[usize]> = m
            .workloads
            .iter()
            .map(|w| w.anti_affinity.as_slice())
            .collect();
        assert_eq!(aa, [&[1, 2][..], &[0], &[0]]);
        let e = try_build(&[&workload("a", "antiAffinity: [a]"), NODE]).unwrap_err();
        assert!(e.diagnostics[0].fix.contains("maxPerNode: 1"));
    }

    #[test]
    fn a_resource_no_node_declares_is_an_input_error_with_the_closest_name() {
        let e =
            try_build(&[&workload("web", "resources: {memroy: 1Gi, cpu: 1}"), NODE]).unwrap_err();
        let d = &e.diagnostics[0];
        assert_eq!((d.code, d.path.as_str()), ("E055", "spec.resources.memroy"));
        assert!(d.fix.contains("did you mean `memory`?"), "{d}");
        // An extended resource is fine once some node declares it.
        let gpu = NODE.replace("memory: 16Gi", "memory: 16Gi, nvidia.com/gpu: 1");
        assert!(try_build(&[&workload("web", "resources: {nvidia.com/gpu: 1}"), &gpu]).is_ok());
    }

    #[test]
    fn reports_every_problem_at_once() {
        let found = problems(&[
            &workload("Web", "replicas: 0, resources: {cpu: x}").replace("public", "secret"),
            &NODE.replace("cost: 0.214", "cost: -1"),
        ]);
        let codes: Vec<&str> = found.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes, ["E063", "E031", "E061", "E035", "E042"], "{found:?}");
    }

    #[test]
    fn admission_defaults_to_deny_only_with_system_daemon_sets() {
        let policy = |spec: &str| {
            format!("apiVersion: tierplan/v1alpha1\nkind: Policy\nmetadata: {{name: p}}\nspec: {{{spec}}}\n")
        };
        let settings = |spec: &str| {
            let m = try_build(&[&policy(spec), &workload("web", ""), NODE]).unwrap();
            (m.policy.admission, m.policy.namespace_boundary)
        };
        use Enforcement::{Deny, Warn};
        assert_eq!(settings("minNodesPerPool: 1"), (Warn, Warn));
        assert_eq!(settings("systemDaemonSets: [{name: cni}]"), (Deny, Warn));
        let explicit = "systemDaemonSets: [{name: cni}], admission: warn, namespaceBoundary: deny";
        assert_eq!(settings(explicit), (Warn, Deny));
        assert_eq!(
            problems(&[
                &policy("admission: denied, namespaceBoundary: Warn"),
                &workload("web", ""),
                NODE
            ]),
            [
                ("E070", "spec.admission".to_string()),
                ("E070", "spec.namespaceBoundary".to_string())
            ]
        );
    }

    #[test]
    fn checks_names_against_kubernetes_rules() {
        assert_eq!(
            problems(&[
                &workload("web", "").replace("{name: web}", "{name: web, namespace: a.b}"),
                NODE
            ]),
            [("E063", "metadata.namespace".to_string())]
        );
        // Object names may be DNS subdomains: dots are fine there.
        try_build(&[&workload("web.v2", ""), NODE]).unwrap();
        assert_eq!(
            problems(&[&workload("web", ""), &NODE.replace("name: n1", "name: N1")]),
            [("E063", "metadata.name".to_string())]
        );
    }

    #[test]
    fn checks_label_syntax_everywhere_labels_are_written() {
        let found = problems(&[
            "apiVersion: tierplan/v1alpha1\nkind: Policy\nmetadata: {name: p}\nspec: {nodeRequirements: [{match: {sensitivity: [public]}, nodeSelector: {'a/b/c': x}}]}\n",
            &workload("web", "nodeSelector: {disk: 'has space'}"),
            &NODE.replace("zone: a}", "zone: a, '-x': y}").replace("cost:", "zone: 'a b', cost:"),
        ]);
        assert_eq!(
            found,
            [
                (
                    "E064",
                    "spec.nodeRequirements[0].nodeSelector.a/b/c".to_string()
                ),
                ("E065", "spec.nodeSelector.disk".to_string()),
                ("E064", "metadata.labels.-x".to_string()),
                ("E065", "spec.zone".to_string()),
            ]
        );
    }

    #[test]
    fn refuses_totals_that_later_sums_could_not_hold() {
        let found = problems(&[
            &workload("a", "replicas: 600000, resources: {memory: 4Ei}"),
            &workload("b", "replicas: 600000"),
            &NODE.replace("cost: 0.214", "cost: 1e9"),
            &NODE.replace("n1", "n2").replace("cost: 0.214", "cost: 1e9"),
        ]);
        assert!(found.contains(&("E052", String::new())), "{found:?}");
        assert!(found.contains(&("E053", String::new())), "{found:?}");
        let expensive: Vec<String> = (0..1001)
            .map(|i| {
                NODE.replace("n1", &format!("n{i}"))
                    .replace("cost: 0.214", "cost: 1e9")
            })
            .collect();
        let mut docs: Vec<&str> = expensive.iter().map(String::as_str).collect();
        let w = workload("a", "");
        docs.push(&w);
        assert_eq!(problems(&docs), [("E043", String::new())]);
    }

    #[test]
    fn no_document_of_a_kind_is_not_claimed_when_one_was_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.yaml");
        std::fs::write(
            &file,
            format!("{}---\n{}", workload("w", "replica: 1"), NODE),
        )
        .unwrap();
        let e = build_from_paths(&[file]).unwrap_err();
        let codes: Vec<&str> = e.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E013"]);
    }

    #[test]
    fn manifest_constraints_are_validated_all_at_once() {
        let text = format!(
            "{NODE}---\n{}",
            workload(
                "w",
                "nodeAffinity: [{matchExpressions: [{key: gpu, operator: Has}, {key: a, operator: In},
                 {key: b, operator: Exists, values: [x]}, {key: c, operator: Gt, values: ['4', '5']},
                 {key: d, operator: Lt, values: [four]}, {key: -bad, operator: Exists},
                 {key: e, operator: NotIn, values: ['-x']}]}],
                 tolerations: [{operator: Equal, value: x}, {key: f, operator: Exists, value: y},
                 {key: g, operator: Like}, {key: h, effect: NoRun}, {operator: Exists},
                 {key: node-restriction.kubernetes.io/tierplan-pool, value: p}, {key: i, value: '-z'}]"
            )
        );
        let e = build_from_yaml("in.yaml", &text).unwrap_err();
        let found: Vec<(&str, &str)> = e
            .diagnostics
            .iter()
            .map(|d| (d.code, d.path.as_str()))
            .collect();
        let m = "spec.nodeAffinity[0].matchExpressions";
        for want in [
            ("E057", format!("{m}[0].operator")),
            ("E058", format!("{m}[1].values")),
            ("E058", format!("{m}[2].values")),
            ("E058", format!("{m}[3].values")),
            ("E059", format!("{m}[4].values[0]")),
            ("E064", format!("{m}[5].key")),
            ("E065", format!("{m}[6].values[0]")),
            ("E067", "spec.tolerations[0].operator".to_string()),
            ("E069", "spec.tolerations[0].key".to_string()),
            ("E067", "spec.tolerations[1].value".to_string()),
            ("E066", "spec.tolerations[2].operator".to_string()),
            ("E068", "spec.tolerations[3].effect".to_string()),
            ("E069", "spec.tolerations[4].key".to_string()),
            ("E069", "spec.tolerations[5].key".to_string()),
            ("E065", "spec.tolerations[6].value".to_string()),
        ] {
            assert!(
                found.contains(&(want.0, want.1.as_str())),
                "{want:?} not in {found:?}"
            );
        }
        assert_eq!(found.len(), 15, "{found:?}");
        // Each names its fix.
        assert!(
            e.to_string().contains("use one of In, NotIn, Exists"),
            "{e}"
        );
    }

    #[test]
    fn manifest_constraints_are_kept_typed() {
        use crate::model::{LabelOperator, TolerationOperator};
        let text = format!(
            "{NODE}---\n{}",
            workload(
                "w",
                "nodeAffinity: [{matchExpressions: [{key: cores, operator: Gt, values: ['+4']}]}],
                 tolerations: [{key: gpu}]"
            )
        );
        let m = build_from_yaml("in.yaml", &text).unwrap();
        let w = &m.workloads[0];
        assert_eq!(
            w.node_affinity[0].expressions[0].operator,
            LabelOperator::Gt(4)
        );
        assert_eq!(
            w.tolerations[0].operator,
            TolerationOperator::Equal(String::new())
        );
        assert_eq!(w.tolerations[0].effect, None);
        assert!(!m.nodes[0].unschedulable);
    }
}
