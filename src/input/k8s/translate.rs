//! Typed Kubernetes objects → tierplan Workload and Node documents, and the Policy's system
//! DaemonSets.
//!
//! Each document carries, in `metadata.annotations` under `import.tierplan.io/`, where each
//! of its values came from (annotations are not part of the input's fingerprint and tierplan
//! ignores them). What the model cannot hold is reported, never silently dropped: preferred
//! rules, pod affinity, spread skew beyond the zones it implies.

use super::objects::{self, Objects, PodSet};
use super::requests::{self, Amounts};
use super::tier::{self, Found, Layers};
use crate::input::diag::{Diagnostic, Origin};
use crate::input::wire::{
    Metadata, NodeDoc, NodeSelectorRequirementSpec, NodeSelectorTermSpec, NodeSpec, PolicySpec,
    Quantity, SystemDaemonSetSpec, TaintSpec, TolerationSpec, WorkloadDoc, WorkloadSpec,
    API_VERSION,
};
use crate::quantity::{self as q, Unit};
use k8s_openapi::api::core::v1::{
    Node, PodAffinityTerm, PodSpec, Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::{BTreeMap, BTreeSet};

/// The prefix of the provenance annotations of imported documents.
pub const SOURCE_PREFIX: &str = "import.tierplan.io/";
/// The zone labels, current and deprecated.
const ZONE_LABELS: [&str; 2] = [
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/zone",
];
const INSTANCE_TYPE_LABELS: [&str; 2] = [
    "node.kubernetes.io/instance-type",
    "beta.kubernetes.io/instance-type",
];
const HOSTNAME: &str = "kubernetes.io/hostname";
/// The taint tierplan puts on pool nodes: a plan manages it, so it is no taint of the
/// inventory (a cluster read back after a plan was applied must plan the same).
const POOL_TAINT_KEY: &str = "node-restriction.kubernetes.io/tierplan-pool";

/// Something read that the plan does not enforce, or that was assumed: for people to review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where the object was read.
    pub origin: Origin,
    /// The field concerned.
    pub path: String,
    /// What was read and what tierplan does with it.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.origin)?;
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// What was read from Kubernetes objects and what became of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Objects read, by kind.
    pub read: BTreeMap<String, usize>,
    /// Objects of kinds tierplan does not use, by kind.
    pub skipped: BTreeMap<String, usize>,
    /// Workloads and nodes made.
    pub workloads: usize,
    /// Nodes made.
    pub nodes: usize,
    /// System DaemonSets found.
    pub system_daemon_sets: usize,
    /// Review these.
    pub warnings: Vec<Warning>,
}

/// The documents made of Kubernetes objects.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// Workload documents, in input order.
    pub workloads: Vec<(Origin, WorkloadDoc)>,
    /// Node documents, in input order.
    pub nodes: Vec<(Origin, NodeDoc)>,
    /// DaemonSets that tolerate every NoSchedule taint, for the Policy's `systemDaemonSets`.
    pub system_daemon_sets: Vec<(Origin, SystemDaemonSetSpec)>,
    /// Requests of the other DaemonSets, reserved on every node (added to `nodeOverhead`).
    pub daemon_overhead: Amounts,
    /// What happened.
    pub summary: Summary,
    /// Whether some workload was left out for an error (so "no workloads" would mislead).
    pub rejected_workloads: bool,
}

/// Turns `objects` into tierplan documents under `policy` (its `kubernetes` settings,
/// `defaults` and `separateBy`). Problems are added to `diags`.
pub fn translate(
    objects: &Objects,
    policy: Option<&PolicySpec>,
    diags: &mut Vec<Diagnostic>,
) -> Imported {
    let settings = Settings::new(policy);
    let mut out = Imported::default();
    out.summary.skipped = objects.skipped.clone();
    for p in &objects.pod_sets {
        *out.summary.read.entry(p.kind.to_string()).or_default() += 1;
    }
    for (kind, n) in [
        ("Node", objects.nodes.len()),
        ("Namespace", objects.namespaces.len()),
        ("LimitRange", objects.limit_ranges.len()),
        ("RuntimeClass", objects.runtime_classes.len()),
        (
            "ValidatingAdmissionPolicy",
            objects.admission_policies.len(),
        ),
        (
            "ValidatingAdmissionPolicyBinding",
            objects.admission_bindings.len(),
        ),
    ] {
        if n > 0 {
            out.summary.read.insert(kind.to_string(), n);
        }
    }
    let zones: BTreeSet<&str> = objects
        .nodes
        .iter()
        .filter_map(|n| zone(&n.object.metadata))
        .collect();
    let mut unlabelled = Vec::new();
    for p in &objects.pod_sets {
        workload(
            objects,
            &settings,
            zones.len(),
            p,
            &mut out,
            &mut unlabelled,
            diags,
        );
    }
    if !unlabelled.is_empty() {
        out.rejected_workloads = true;
        diags.push(Diagnostic::new(
            "E015",
            None,
            "",
            format!(
                "{} workload(s) have no sensitivity: {}",
                unlabelled.len(),
                unlabelled.join("; ")
            ),
            format!(
                "label each workload, or its Namespace, `{}sensitivity: <level>`, or set the Policy's `spec.defaults.sensitivity`",
                settings.prefix
            ),
        ));
    }
    let mut unpriced = 0;
    for n in &objects.nodes {
        node(&settings, n, &mut out, &mut unpriced);
    }
    if unpriced > 0 {
        out.summary.warnings.push(Warning {
            origin: objects.nodes[0].at.origin.clone(),
            path: String::new(),
            message: format!("{unpriced} node(s) have no price: each costs 1 per hour (set the Policy's `kubernetes.prices` by instance type, or `kubernetes.priceLabel`)"),
        });
    }
    out.summary.workloads = out.workloads.len();
    out.summary.nodes = out.nodes.len();
    out.summary.system_daemon_sets = out.system_daemon_sets.len();
    out
}

/// The Policy settings the importer reads.
struct Settings {
    prefix: String,
    attributes: Vec<String>,
    defaults: BTreeMap<String, String>,
    prices: BTreeMap<String, f64>,
    price_label: Option<String>,
}

impl Settings {
    fn new(policy: Option<&PolicySpec>) -> Settings {
        let k = policy
            .and_then(|p| p.kubernetes.clone())
            .unwrap_or_default();
        let mut attributes: Vec<String> = tier::BUILTIN.iter().map(|s| s.to_string()).collect();
        // Free attributes the Policy separates by or makes exceptions on.
        if let Some(p) = policy {
            let named = p
                .separate_by
                .iter()
                .flatten()
                .chain(p.share_when.iter().flat_map(|r| r.keys()));
            for a in named {
                if !attributes.contains(a) && a != "namespace" {
                    attributes.push(a.clone());
                }
            }
        }
        Settings {
            prefix: k
                .label_prefix
                .unwrap_or_else(|| tier::DEFAULT_PREFIX.to_string()),
            attributes,
            defaults: policy.map(|p| p.defaults.clone()).unwrap_or_default(),
            prices: k.prices,
            price_label: k.price_label,
        }
    }
}

fn describe(p: &PodSet) -> String {
    format!("{} {} ({})", p.kind, p.id(), p.at.origin)
}

/// A workload's document, or the reason it has none.
fn workload(
    objects: &Objects,
    settings: &Settings,
    zone_count: usize,
    p: &PodSet,
    out: &mut Imported,
    unlabelled: &mut Vec<String>,
    diags: &mut Vec<Diagnostic>,
) {
    let warn = |out: &mut Imported, path: &str, message: String| {
        out.summary.warnings.push(Warning {
            origin: p.at.origin.clone(),
            path: p.at.path(path),
            message,
        })
    };
    if p.owned() {
        return;
    }
    if matches!(p.kind, "Pod" | "ReplicaSet" | "ReplicationController") {
        warn(out, "", format!("{} {} is not planned: tierplan pins workloads by patching their controller's pod template, and a bare {} does not move its running pods when its template changes; run it from a Deployment or StatefulSet (`audit` still checks where its pods run)", p.kind, p.id(), p.kind));
        return;
    }
    if p.replicas == Some(0) {
        warn(
            out,
            p.replicas_from,
            format!("{} {} has 0 replicas: nothing to place", p.kind, p.id()),
        );
        return;
    }
    let spec_path = join(p.template_path, "spec");
    let spec = p.template.spec.clone().unwrap_or_default();
    let ns = objects::namespace(&p.meta);
    let ranges: Vec<_> = objects
        .limit_ranges
        .iter()
        .filter(|l| objects::namespace(&l.object.metadata) == ns)
        .map(|l| &l.object)
        .collect();
    let runtime = spec.runtime_class_name.as_deref().and_then(|name| {
        let rc = objects
            .runtime_classes
            .iter()
            .find(|r| r.object.metadata.name.as_deref() == Some(name));
        if rc.is_none() && spec.overhead.is_none() {
            warn(out, &join(&spec_path, "runtimeClassName"), format!("RuntimeClass `{name}` is not in the input: its pod overhead, if any, is not counted"));
        }
        rc.and_then(|r| r.object.overhead.as_ref()).and_then(|o| o.pod_fixed.as_ref())
    });
    let reqs = match requests::pod_requests(&spec_path, &spec, &ranges, runtime) {
        Ok(r) => r,
        Err(e) => {
            out.rejected_workloads = true;
            diags.push(Diagnostic::new(
                "E017",
                Some(&p.at.origin),
                p.at.path(&e.path),
                format!("not a quantity: {}", e.problem),
                "write a Kubernetes quantity such as 500m, 2Gi or 4",
            ));
            return;
        }
    };
    if !reqs.missing.is_empty() {
        let mut by_container: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (c, r) in &reqs.missing {
            by_container.entry(c).or_default().push(r);
        }
        let list: Vec<String> = by_container
            .iter()
            .map(|(c, rs)| format!("{c} ({})", rs.join(", ")))
            .collect();
        warn(
            out,
            &spec_path,
            format!(
                "{} {}: no request by container {}: counted as 0, so the plan reserves nothing for it",
                p.kind,
                p.id(),
                list.join("; ")
            ),
        );
    }
    let mut notes: BTreeMap<String, String> = BTreeMap::new();
    notes.insert("source".into(), describe(p));
    if !reqs.notes.is_empty() {
        notes.insert("resources".into(), reqs.notes.join("; "));
    }
    if p.kind == "DaemonSet" {
        daemon_set(p, &spec, &reqs.total, out);
        return;
    }
    let Some(mut w) = tiered(objects, settings, p, &mut notes, out, unlabelled, diags) else {
        return;
    };
    w.replicas = p.replicas.map(i64::from);
    if !p.replicas_from.is_empty() {
        notes.insert("replicas".into(), p.replicas_from.into());
    }
    w.resources = quantities(&reqs.total);
    w.controller = Some(p.kind.to_string());
    constraints(
        objects, zone_count, p, &spec, &spec_path, &mut w, &mut notes, out,
    );
    let metadata = Metadata {
        name: objects::name(&p.meta).to_string(),
        namespace: Some(ns.to_string()),
        labels: BTreeMap::new(),
        annotations: notes
            .into_iter()
            .map(|(k, v)| (format!("{SOURCE_PREFIX}{k}"), v))
            .collect(),
    };
    out.workloads.push((
        p.at.origin.clone(),
        WorkloadDoc {
            api_version: API_VERSION.into(),
            kind: "Workload".into(),
            metadata,
            spec: w,
        },
    ));
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

/// Amounts as quantities people read: whole binary multiples with their suffix (`64Mi`),
/// cpu in millicores; the exact amount either way.
fn quantities(amounts: &Amounts) -> BTreeMap<String, Quantity> {
    let text = |r: &str, a: u64| match Unit::for_resource(r) {
        Unit::Whole if a > 0 => [("Gi", 30), ("Mi", 20), ("Ki", 10)]
            .iter()
            .find(|(_, shift)| a.is_multiple_of(1 << shift))
            .map_or(a.to_string(), |(suffix, shift)| {
                format!("{}{suffix}", a >> shift)
            }),
        unit => q::format(a, unit),
    };
    amounts
        .iter()
        .map(|(r, a)| (r.clone(), Quantity(text(r, *a))))
        .collect()
}

/// A workload's tier attributes as a spec; `None` when it has no sensitivity (listed in
/// `unlabelled`) or an attribute is written twice differently (E016).
fn tiered(
    objects: &Objects,
    settings: &Settings,
    p: &PodSet,
    notes: &mut BTreeMap<String, String>,
    out: &mut Imported,
    unlabelled: &mut Vec<String>,
    diags: &mut Vec<Diagnostic>,
) -> Option<WorkloadSpec> {
    let ns_name = objects::namespace(&p.meta);
    let ns = objects.namespace(ns_name);
    let template_meta = p.template.metadata.clone().unwrap_or_default();
    let mut layers = vec![("metadata".to_string(), &p.meta)];
    if p.kind != "Pod" {
        layers.push((join(p.template_path, "metadata"), &template_meta));
    }
    if let Some(n) = &ns {
        layers.push((format!("Namespace {ns_name}: metadata"), n));
    }
    let (found, conflicts) = tier::read(
        &settings.prefix,
        settings.attributes.iter().map(String::as_str),
        &Layers { layers },
        &settings.defaults,
    );
    let mut ok = true;
    for c in conflicts {
        ok = false;
        diags.push(Diagnostic::new(
            "E016",
            Some(&p.at.origin),
            p.at.path(""),
            format!(
                "{} says `{}` is `{}` in {} and `{}` in {}",
                describe(p),
                c.attribute,
                c.first.value,
                c.first.source,
                c.second.value,
                c.second.source
            ),
            "write the attribute once, or give both places the same value",
        ));
    }
    let flag = |name: &str, diags: &mut Vec<Diagnostic>| -> Option<bool> {
        let f = found.get(name)?;
        match f.value.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                diags.push(Diagnostic::new(
                    "E016",
                    Some(&p.at.origin),
                    p.at.path(""),
                    format!(
                        "{} has `{}{name}: {other}` in {}",
                        describe(p),
                        settings.prefix,
                        f.source
                    ),
                    "write `\"true\"` or `\"false\"`",
                ));
                None
            }
        }
    };
    let platform = flag("platform", diags).unwrap_or(false);
    let dedicated = flag("dedicated", diags).unwrap_or(false);
    if !ok {
        out.rejected_workloads = true;
        return None;
    }
    let value = |name: &str| found.get(name).map(|f: &Found| f.value.clone());
    for (name, f) in &found {
        notes.insert(name.clone(), f.source.to_string());
    }
    if platform {
        return Some(WorkloadSpec {
            platform: true,
            ..WorkloadSpec::default()
        });
    }
    if !found.contains_key("sensitivity") {
        unlabelled.push(describe(p));
        return None;
    }
    let attributes = found
        .iter()
        .filter(|(k, _)| !tier::BUILTIN.contains(&k.as_str()))
        .map(|(k, f)| (k.clone(), f.value.clone()))
        .collect();
    Some(WorkloadSpec {
        sensitivity: value("sensitivity"),
        exposure: value("exposure"),
        trust: value("trust"),
        tenant: value("tenant"),
        purpose: value("purpose"),
        attributes,
        dedicated,
        ..WorkloadSpec::default()
    })
}

/// Whether the tolerations let a pod past every `NoSchedule` taint, whatever its key: the
/// mark of a DaemonSet that runs on every node (CNI, kube-proxy, log and security agents).
pub fn tolerates_every_no_schedule(tolerations: &[Toleration]) -> bool {
    tolerations.iter().any(|t| {
        t.operator.as_deref() == Some("Exists")
            && t.key.as_deref().unwrap_or_default().is_empty()
            && matches!(t.effect.as_deref(), None | Some("") | Some("NoSchedule"))
    })
}

/// A DaemonSet: a system one when it tolerates every NoSchedule taint (its requests are
/// reserved on every node and its pods may cross tiers); any other runs only on nodes whose
/// taints it tolerates, which after a plan are the untainted ones, so its requests are
/// reserved on every node too (conservative) and it is reported.
fn daemon_set(p: &PodSet, spec: &PodSpec, requests: &Amounts, out: &mut Imported) {
    let tolerations = spec.tolerations.clone().unwrap_or_default();
    if tolerates_every_no_schedule(&tolerations) {
        out.system_daemon_sets.push((
            p.at.origin.clone(),
            SystemDaemonSetSpec {
                name: objects::name(&p.meta).to_string(),
                namespace: Some(objects::namespace(&p.meta).to_string()),
                resources: quantities(requests),
            },
        ));
    } else {
        requests::add(&mut out.daemon_overhead, requests);
        out.summary.warnings.push(Warning {
            origin: p.at.origin.clone(),
            path: p.at.path("spec.template.spec.tolerations"),
            message: format!("DaemonSet {} does not tolerate every NoSchedule taint, so it is no system DaemonSet: it will run only on nodes whose taints it tolerates (after the plan, the untainted platform nodes). Its requests are reserved on every node; list it in the Policy's systemDaemonSets and give it a toleration of every NoSchedule taint if it must run on every node", p.id()),
        });
    }
}

/// Constraints of the pod spec: node selection, tolerations, anti-affinity, spread.
#[allow(clippy::too_many_arguments)]
fn constraints(
    objects: &Objects,
    zone_count: usize,
    p: &PodSet,
    spec: &PodSpec,
    spec_path: &str,
    w: &mut WorkloadSpec,
    notes: &mut BTreeMap<String, String>,
    out: &mut Imported,
) {
    let mut warn = |path: String, message: String| {
        out.summary.warnings.push(Warning {
            origin: p.at.origin.clone(),
            path: p.at.path(&path),
            message,
        })
    };
    if let Some(s) = &spec.node_selector {
        w.node_selector = s.clone();
        notes.insert("nodeSelector".into(), join(spec_path, "nodeSelector"));
    }
    if let Some(t) = &spec.tolerations {
        w.tolerations = t.iter().map(toleration).collect();
        notes.insert("tolerations".into(), join(spec_path, "tolerations"));
    }
    let affinity = spec.affinity.clone().unwrap_or_default();
    let at = join(spec_path, "affinity");
    if let Some(na) = &affinity.node_affinity {
        if let Some(req) = &na.required_during_scheduling_ignored_during_execution {
            let path = format!("{at}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
            for (i, term) in req.node_selector_terms.iter().enumerate() {
                if term.match_fields.as_ref().is_some_and(|f| !f.is_empty()) {
                    warn(
                        format!("{path}.nodeSelectorTerms[{i}].matchFields"),
                        "matchFields (node names) is not enforced by the plan".into(),
                    );
                }
                w.node_affinity.push(NodeSelectorTermSpec {
                    match_expressions: term
                        .match_expressions
                        .iter()
                        .flatten()
                        .map(|e| NodeSelectorRequirementSpec {
                            key: e.key.clone(),
                            operator: e.operator.clone(),
                            values: e.values.clone().unwrap_or_default(),
                        })
                        .collect(),
                });
            }
            notes.insert("nodeAffinity".into(), path);
        }
        if na
            .preferred_during_scheduling_ignored_during_execution
            .is_some()
        {
            warn(
                format!("{at}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution"),
                "preferred node affinity is reported, not enforced".into(),
            );
        }
    }
    if let Some(pa) = &affinity.pod_affinity {
        if pa
            .required_during_scheduling_ignored_during_execution
            .is_some()
        {
            warn(format!("{at}.podAffinity.requiredDuringSchedulingIgnoredDuringExecution"), "required pod affinity is not enforced by the plan: the scheduler may leave pods Pending if the plan does not put them beside the pods they need".into());
        }
        if pa
            .preferred_during_scheduling_ignored_during_execution
            .is_some()
        {
            warn(
                format!("{at}.podAffinity.preferredDuringSchedulingIgnoredDuringExecution"),
                "preferred pod affinity is reported, not enforced".into(),
            );
        }
    }
    if let Some(anti) = &affinity.pod_anti_affinity {
        let path = format!("{at}.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in anti
            .required_during_scheduling_ignored_during_execution
            .iter()
            .flatten()
            .enumerate()
        {
            let here = format!("{path}[{i}]");
            if term.topology_key != HOSTNAME {
                warn(
                    here,
                    format!(
                        "anti-affinity over `{}` is not enforced (only `{HOSTNAME}` is)",
                        term.topology_key
                    ),
                );
                continue;
            }
            let (own, others) = anti_affine(objects, p, term);
            if own {
                w.max_per_node = Some(1);
                notes.insert("maxPerNode".into(), here.clone());
            }
            if !others.is_empty() {
                w.anti_affinity.extend(others);
                notes.insert("antiAffinity".into(), here);
            }
        }
        if anti
            .preferred_during_scheduling_ignored_during_execution
            .is_some()
        {
            warn(
                format!("{at}.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution"),
                "preferred pod anti-affinity is reported, not enforced".into(),
            );
        }
    }
    for (i, c) in spec
        .topology_spread_constraints
        .iter()
        .flatten()
        .enumerate()
    {
        let here = join(spec_path, &format!("topologySpreadConstraints[{i}]"));
        spread(p, zone_count, c, &here, w, notes, &mut warn);
    }
    w.anti_affinity.sort();
    w.anti_affinity.dedup();
}

/// A topology spread constraint: on the zone it becomes `minZones`, on the hostname
/// `maxPerNode`; both only when it spreads the workload's own pods and is required.
fn spread(
    p: &PodSet,
    zone_count: usize,
    c: &TopologySpreadConstraint,
    here: &str,
    w: &mut WorkloadSpec,
    notes: &mut BTreeMap<String, String>,
    warn: &mut impl FnMut(String, String),
) {
    if c.when_unsatisfiable != "DoNotSchedule" {
        warn(here.to_string(), "a spread with whenUnsatisfiable ScheduleAnyway is a preference: reported, not enforced".into());
        return;
    }
    let labels = template_labels(p);
    if !c
        .label_selector
        .as_ref()
        .is_some_and(|s| selects(s, &labels))
    {
        warn(
            here.to_string(),
            "a spread whose labelSelector does not select the workload's own pods is not enforced"
                .into(),
        );
        return;
    }
    let skew = u32::try_from(c.max_skew).unwrap_or(1).max(1);
    let replicas = p.replicas.unwrap_or(1);
    if ZONE_LABELS.contains(&c.topology_key.as_str()) {
        // While a zone that could host them has none, no zone may hold more than maxSkew:
        // the pods span at least ceil(replicas / maxSkew) zones, or every zone.
        let mut zones = replicas.div_ceil(skew);
        if zone_count > 0 {
            zones = zones.min(zone_count as u32);
        }
        if zones > 1 {
            w.min_zones = Some(i64::from(zones).max(w.min_zones.unwrap_or(0)));
            notes.insert("minZones".into(), here.to_string());
        }
        if skew < replicas {
            warn(here.to_string(), format!("spread over zones with maxSkew {skew}: the plan spreads the {replicas} replicas over at least {zones} zone(s) but does not balance them; the scheduler may leave some Pending if the plan's zones are uneven"));
        }
    } else if c.topology_key == HOSTNAME {
        // Never more than maxSkew on a node: what the scheduler allows while any node it may
        // use is empty, and stricter otherwise, so a plan that holds it schedules.
        let max = i64::from(skew);
        w.max_per_node = Some(w.max_per_node.map_or(max, |m| m.min(max)));
        notes.insert("maxPerNode".into(), here.to_string());
    } else {
        warn(
            here.to_string(),
            format!("a spread over `{}` is not enforced", c.topology_key),
        );
    }
}

fn template_labels(p: &PodSet) -> BTreeMap<String, String> {
    p.template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default()
}

/// Whether a required anti-affinity term on the hostname keeps the workload from its own
/// pods, and the ids of the other workloads whose pods it keeps away.
fn anti_affine(objects: &Objects, p: &PodSet, term: &PodAffinityTerm) -> (bool, Vec<String>) {
    let Some(selector) = &term.label_selector else {
        return (false, Vec::new());
    };
    let ns = objects::namespace(&p.meta);
    let in_scope = |other_ns: &str| -> bool {
        let listed = term.namespaces.as_ref().filter(|n| !n.is_empty());
        match (&term.namespace_selector, listed) {
            (None, None) => other_ns == ns,
            (sel, list) => {
                list.is_some_and(|l| l.iter().any(|n| n == other_ns))
                    || sel.as_ref().is_some_and(|s| {
                        selects(s, &namespace_labels(objects.namespace(other_ns), other_ns))
                    })
            }
        }
    };
    let own = in_scope(ns) && selects(selector, &template_labels(p));
    let others = objects
        .pod_sets
        .iter()
        .filter(|o| !o.owned() && o.id() != p.id() && o.kind != "DaemonSet")
        .filter(|o| in_scope(objects::namespace(&o.meta)) && selects(selector, &template_labels(o)))
        .map(PodSet::id)
        .collect();
    (own, others)
}

/// A Namespace's labels as the API server keeps them: with `kubernetes.io/metadata.name`.
fn namespace_labels(ns: Option<ObjectMeta>, name: &str) -> BTreeMap<String, String> {
    let mut labels = ns.and_then(|n| n.labels).unwrap_or_default();
    labels.insert("kubernetes.io/metadata.name".into(), name.to_string());
    labels
}

/// Whether a label selector selects `labels` (matchLabels and every matchExpression; an
/// empty selector selects everything, as `metav1.LabelSelectorAsSelector` reads it).
pub fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_label = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    by_label
        && selector.match_expressions.iter().flatten().all(|e| {
            let values = e.values.clone().unwrap_or_default();
            let have = labels.get(&e.key);
            match e.operator.as_str() {
                "In" => have.is_some_and(|v| values.contains(v)),
                "NotIn" => have.is_none_or(|v| !values.contains(v)),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                _ => false,
            }
        })
}

fn toleration(t: &Toleration) -> TolerationSpec {
    let some = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    TolerationSpec {
        key: some(&t.key),
        operator: some(&t.operator),
        value: some(&t.value),
        effect: some(&t.effect),
    }
}

fn zone(meta: &ObjectMeta) -> Option<&str> {
    let labels = meta.labels.as_ref()?;
    ZONE_LABELS
        .iter()
        .find_map(|l| labels.get(*l))
        .map(String::as_str)
}

/// A Node's document: allocatable (capacity where the API would default it so), labels,
/// zone, taints (but the pool taint a plan manages), cordon, price.
fn node(settings: &Settings, n: &objects::Located<Node>, out: &mut Imported, unpriced: &mut usize) {
    let o = &n.object;
    let name = objects::name(&o.metadata).to_string();
    let status = o.status.clone().unwrap_or_default();
    // SetDefaults_NodeStatus: a node without allocatable offers its capacity.
    let Some((allocatable, from)) = status
        .allocatable
        .clone()
        .map(|a| (a, "status.allocatable"))
        .or(status.capacity.clone().map(|c| (c, "status.capacity")))
    else {
        out.summary.warnings.push(Warning {
            origin: n.at.origin.clone(),
            path: n.at.path("status"),
            message: format!(
                "node {name} reports no allocatable or capacity: left out of the inventory"
            ),
        });
        return;
    };
    let labels = o.metadata.labels.clone().unwrap_or_default();
    let mut notes = BTreeMap::from([
        (
            "source".to_string(),
            format!("Node {name} ({})", n.at.origin),
        ),
        ("allocatable".to_string(), from.to_string()),
    ]);
    let cost = price(settings, &labels, &mut notes);
    if cost.is_none() {
        *unpriced += 1;
    }
    let spec = o.spec.clone().unwrap_or_default();
    let taints = spec
        .taints
        .iter()
        .flatten()
        .filter(|t| t.key != POOL_TAINT_KEY)
        .map(|t| TaintSpec {
            key: t.key.clone(),
            value: t.value.clone().filter(|v| !v.is_empty()),
            effect: t.effect.clone(),
        })
        .collect();
    let zone = zone(&o.metadata).map(str::to_string);
    out.nodes.push((
        n.at.origin.clone(),
        NodeDoc {
            api_version: API_VERSION.into(),
            kind: "Node".into(),
            metadata: Metadata {
                name,
                namespace: None,
                labels,
                annotations: notes
                    .into_iter()
                    .map(|(k, v)| (format!("{SOURCE_PREFIX}{k}"), v))
                    .collect(),
            },
            spec: NodeSpec {
                // A resource the node has none of (`hugepages-1Gi: 0`) is one it lacks.
                allocatable: allocatable
                    .into_iter()
                    .filter(|(r, v)| q::parse(&v.0, Unit::for_resource(r)) != Ok(0))
                    .map(|(r, v)| (r, Quantity(v.0)))
                    .collect(),
                zone,
                cost,
                taints,
                unschedulable: spec.unschedulable.unwrap_or(false),
            },
        },
    ));
}

fn price(
    settings: &Settings,
    labels: &BTreeMap<String, String>,
    notes: &mut BTreeMap<String, String>,
) -> Option<f64> {
    if let Some(label) = &settings.price_label {
        if let Some(v) = labels.get(label).and_then(|v| v.parse::<f64>().ok()) {
            notes.insert("cost".into(), format!("metadata.labels[{label}]"));
            return Some(v);
        }
    }
    let (label, ty) = INSTANCE_TYPE_LABELS
        .iter()
        .find_map(|l| labels.get(*l).map(|t| (*l, t)))?;
    let cost = settings.prices.get(ty)?;
    notes.insert(
        "cost".into(),
        format!("Policy kubernetes.prices[{ty}] by metadata.labels[{label}]"),
    );
    Some(*cost)
}
