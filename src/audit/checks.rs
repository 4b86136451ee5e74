//! The checks on pods and their owners: mixed nodes, escape routes, wildcard tolerations and
//! untiered workloads.

use super::owners::{Index, Owner};
use super::{finding, Finding, Input, MatrixRow, Rule, Subject};
use crate::input::k8s::objects::{self, Located};
use crate::input::k8s::tier::{self, Layers};
use crate::input::Origin;
use crate::model::{Controller, Workload};
use crate::policy::{attributes_compatible, separating_attribute};
use crate::sched::filter::{NodeView, PodFilter};
use k8s_openapi::api::core::v1::{Node, Pod, PodSpec, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::{BTreeMap, BTreeSet};

/// A group's tier, as read from labels and annotations.
#[derive(Debug, Clone)]
pub enum Tier {
    /// Pods of a DaemonSet the Policy lists in `systemDaemonSets`: they run on every node.
    System,
    /// `platform: "true"`: outside the tiers.
    Platform,
    /// No sensitivity and no default.
    Untiered,
    /// A tier, as the model's workload (for [`attributes_compatible`]).
    Tiered(Box<Workload>),
}

/// The pods of one owner (or a top-level controller without running pods).
#[derive(Debug, Clone)]
pub struct Group<'a> {
    /// The top owner.
    pub owner: Owner,
    /// Running pods (not Succeeded or Failed), sorted by name.
    pub pods: Vec<&'a Located<Pod>>,
    /// The tier read.
    pub tier: Tier,
    /// The spec its pods are judged by: the first pod's, else the owner's template.
    pub spec: PodSpec,
    /// Where the owner (or, when absent, its first pod) was read.
    pub origin: Origin,
    /// Whether the owner runs no pods on purpose (`replicas: 0`).
    pub scaled_to_zero: bool,
}

/// Pods grouped by owner and tiered, with the nodes they run on.
pub struct View<'a> {
    input: &'a Input,
    /// Groups, sorted by owner.
    pub groups: Vec<Group<'a>>,
    /// node → group index → pod names on it.
    pub on_node: BTreeMap<&'a str, BTreeMap<usize, Vec<String>>>,
}

impl<'a> View<'a> {
    /// Groups and tiers every pod of `input`.
    pub fn new(input: &'a Input) -> Self {
        let objects = &input.objects;
        let index = Index::new(objects);
        let mut by_owner: BTreeMap<Owner, (Vec<&Located<Pod>>, Vec<usize>)> = BTreeMap::new();
        for pod in &objects.pods {
            let phase = pod.object.status.as_ref().and_then(|s| s.phase.as_deref());
            // Finished pods hold no resources and run nothing on their node.
            if matches!(phase, Some("Succeeded" | "Failed")) {
                continue;
            }
            let (owner, chain) = index.rollup(&pod.object.metadata);
            let entry = by_owner.entry(owner).or_default();
            entry.0.push(pod);
            entry.1 = chain;
        }
        // Top-level controllers without running pods still carry templates to judge.
        for (i, p) in objects.pod_sets.iter().enumerate() {
            if p.kind == "Pod" || p.owned() {
                continue;
            }
            let owner = Owner {
                kind: p.kind.to_string(),
                namespace: objects::namespace(&p.meta).to_string(),
                name: objects::name(&p.meta).to_string(),
                present: true,
            };
            by_owner
                .entry(owner)
                .or_insert_with(|| (Vec::new(), vec![i]));
        }
        let mut groups = Vec::new();
        for (owner, (mut pods, chain)) in by_owner {
            pods.sort_by(|a, b| {
                objects::name(&a.object.metadata).cmp(objects::name(&b.object.metadata))
            });
            groups.push(group(input, owner, pods, &chain));
        }
        let mut on_node: BTreeMap<&str, BTreeMap<usize, Vec<String>>> = BTreeMap::new();
        for (g, group) in groups.iter().enumerate() {
            for pod in &group.pods {
                let node = pod
                    .object
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_deref());
                if let Some(node) = node {
                    on_node
                        .entry(node)
                        .or_default()
                        .entry(g)
                        .or_default()
                        .push(objects::name(&pod.object.metadata).to_string());
                }
            }
        }
        View {
            input,
            groups,
            on_node,
        }
    }

    /// What was read, counted.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let pods = self
            .on_node
            .values()
            .flat_map(|g| g.values())
            .map(Vec::len)
            .sum();
        BTreeMap::from([
            ("nodes".to_string(), self.input.objects.nodes.len()),
            ("pods".to_string(), pods),
            ("owners".to_string(), self.groups.len()),
        ])
    }

    /// The group as a finding's subject, with `pods` named.
    fn subject(&self, g: usize, pods: Vec<String>) -> Subject {
        let group = &self.groups[g];
        let (file, document) = super::located(&group.origin);
        Subject {
            kind: group.owner.kind.clone(),
            namespace: group.owner.namespace.clone(),
            name: group.owner.name.clone(),
            pods,
            class: self.class(g),
            present: group.owner.present,
            file,
            document,
        }
    }

    fn all_pods(&self, g: usize) -> Vec<String> {
        self.groups[g]
            .pods
            .iter()
            .map(|p| objects::name(&p.object.metadata).to_string())
            .collect()
    }

    fn class(&self, g: usize) -> Option<String> {
        match &self.groups[g].tier {
            Tier::Tiered(w) => Some(self.input.model.class_name(w)),
            Tier::Platform => Some(crate::model::PLATFORM_CLASS.to_string()),
            Tier::System => Some("system".to_string()),
            Tier::Untiered => None,
        }
    }

    fn workload(&self, g: usize) -> Option<&Workload> {
        match &self.groups[g].tier {
            Tier::Tiered(w) => Some(w),
            _ => None,
        }
    }

    /// Whether groups `a` and `b` may not share a node; both must be tiered.
    fn clash(&self, a: usize, b: usize) -> bool {
        match (self.workload(a), self.workload(b)) {
            (Some(x), Some(y)) => a != b && !attributes_compatible(&self.input.model, x, y),
            _ => false,
        }
    }
}

/// Reads one owner's tier and the spec its pods are judged by.
fn group<'a>(
    input: &Input,
    owner: Owner,
    pods: Vec<&'a Located<Pod>>,
    chain: &[usize],
) -> Group<'a> {
    let objects = &input.objects;
    let sets: Vec<_> = chain.iter().map(|&i| &objects.pod_sets[i]).collect();
    let templates: Vec<ObjectMeta> = sets
        .iter()
        .map(|p| p.template.metadata.clone().unwrap_or_default())
        .collect();
    let mut layers: Vec<(String, &ObjectMeta)> = Vec::new();
    if let Some(pod) = pods.first() {
        layers.push(("Pod: metadata".into(), &pod.object.metadata));
    }
    for (p, t) in sets.iter().zip(&templates) {
        layers.push((format!("{} {}: metadata", p.kind, p.id()), &p.meta));
        layers.push((
            format!("{} {}: {}.metadata", p.kind, p.id(), p.template_path),
            t,
        ));
    }
    let ns = objects.namespace(&owner.namespace);
    if let Some(n) = &ns {
        layers.push((format!("Namespace {}: metadata", owner.namespace), n));
    }
    let system = input.model.policy.system_daemon_sets.iter().any(|d| {
        d.namespace == owner.namespace
            && (owner.kind == "DaemonSet" && d.name == owner.name
                || sets
                    .iter()
                    .any(|p| p.kind == "DaemonSet" && objects::name(&p.meta) == d.name))
    });
    let origin = sets
        .last()
        .map(|p| p.at.origin.clone())
        .or_else(|| pods.first().map(|p| p.at.origin.clone()))
        .expect("a group has a pod or an owner");
    let tier = if system {
        Tier::System
    } else {
        read_tier(input, &owner, &origin, &Layers { layers })
    };
    let spec = pods
        .first()
        .and_then(|p| p.object.spec.clone())
        .or_else(|| sets.last().and_then(|p| p.template.spec.clone()))
        .unwrap_or_default();
    let scaled_to_zero = pods.is_empty() && sets.last().is_some_and(|p| p.replicas == Some(0));
    Group {
        owner,
        pods,
        tier,
        spec,
        origin,
        scaled_to_zero,
    }
}

/// The tier of `layers` exactly as the importer reads it; a disagreement between two places
/// takes the first one read (the importer refuses it; the audit still judges the pods).
fn read_tier(input: &Input, owner: &Owner, origin: &Origin, layers: &Layers) -> Tier {
    let (found, _conflicts) = tier::read(
        &input.prefix,
        input.attributes.iter().map(String::as_str),
        layers,
        &input.model.policy.defaults,
    );
    let flag = |name: &str| found.get(name).is_some_and(|f| f.value == "true");
    if flag("platform") {
        return Tier::Platform;
    }
    if !found.contains_key("sensitivity") {
        return Tier::Untiered;
    }
    let mut attributes: BTreeMap<String, String> = found
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "platform" | "dedicated"))
        .map(|(k, f)| (k.clone(), f.value.clone()))
        .collect();
    attributes.insert("namespace".into(), owner.namespace.clone());
    Tier::Tiered(Box::new(Workload {
        origin: origin.clone(),
        id: format!("{}/{}", owner.namespace, owner.name),
        name: owner.name.clone(),
        namespace: owner.namespace.clone(),
        replicas: 1,
        requests: Vec::new(),
        attributes,
        dedicated: flag("dedicated"),
        platform: false,
        max_per_node: None,
        min_zones: None,
        anti_affinity: Vec::new(),
        co_location: Vec::new(),
        node_selector: BTreeMap::new(),
        controller: Controller::Deployment,
        // Placement rules play no part in whether two tiers may share a node.
        node_affinity: Vec::new(),
        tolerations: Vec::new(),
    }))
}

/// Every node whose running pods belong to classes the Policy keeps apart; returns their
/// node × class matrix.
pub fn mixed_nodes(view: &View, out: &mut Vec<Finding>) -> Vec<MatrixRow> {
    let mut matrix = Vec::new();
    for (node, groups) in &view.on_node {
        let ids: Vec<usize> = groups.keys().copied().collect();
        let clash = ids
            .iter()
            .flat_map(|&a| ids.iter().map(move |&b| (a, b)))
            .find(|&(a, b)| a < b && view.clash(a, b));
        let Some((a, b)) = clash else { continue };
        let mut row = BTreeMap::new();
        let mut subjects = vec![node_subject(view.input, node)];
        for (&g, pods) in groups {
            if let Some(class) = view.workload(g).map(|w| view.input.model.class_name(w)) {
                *row.entry(class).or_insert(0u32) += pods.len() as u32;
                subjects.push(view.subject(g, pods.clone()));
            }
        }
        let (wa, wb) = (view.workload(a).unwrap(), view.workload(b).unwrap());
        let why = match separating_attribute(&view.input.model, wa, wb) {
            Some(attr) => format!("they differ on `{attr}`"),
            None => "one of them is dedicated".to_string(),
        };
        let classes: Vec<String> = row
            .iter()
            .map(|(c, n)| format!("{c} ({n} pod{})", if *n == 1 { "" } else { "s" }))
            .collect();
        let message = format!(
            "node {node} runs pods of classes the Policy keeps on separate hosts: {}; e.g. {} and {}: {why}",
            classes.join(", "),
            view.subject(a, Vec::new()).label(),
            view.subject(b, Vec::new()).label(),
        );
        out.push(finding(Rule::MixedNode, Some(node), message, subjects));
        matrix.push(MatrixRow {
            node: node.to_string(),
            pods: row,
        });
    }
    matrix
}

/// The taints the scheduler filters on, with a cordon as the `NodeUnschedulable` plugin
/// treats it (a pod tolerating `node.kubernetes.io/unschedulable:NoSchedule` passes).
fn effective_taints(node: &Node) -> Vec<Taint> {
    let spec = node.spec.clone().unwrap_or_default();
    let mut taints = spec.taints.unwrap_or_default();
    if spec.unschedulable == Some(true) {
        taints.push(Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            effect: "NoSchedule".into(),
            ..Taint::default()
        });
    }
    taints
}

/// Every tiered workload whose pods the scheduler would place on a node that now hosts an
/// incompatible tier (taints tolerated, nodeSelector and required affinity matched).
pub fn escape_routes(view: &View, out: &mut Vec<Finding>) {
    let nodes: Vec<(String, BTreeMap<String, String>, Vec<Taint>)> = view
        .input
        .objects
        .nodes
        .iter()
        .map(|n| {
            let meta = &n.object.metadata;
            (
                objects::name(meta).to_string(),
                meta.labels.clone().unwrap_or_default(),
                effective_taints(&n.object),
            )
        })
        .collect();
    for (g, group) in view.groups.iter().enumerate() {
        if view.workload(g).is_none() || group.pods.is_empty() {
            continue;
        }
        let filter = PodFilter::new(&group.spec);
        let mut reached: BTreeSet<String> = BTreeSet::new();
        let mut others: BTreeSet<usize> = BTreeSet::new();
        for (name, labels, taints) in &nodes {
            let Some(here) = view.on_node.get(name.as_str()) else {
                continue;
            };
            let clashing: Vec<usize> = here.keys().copied().filter(|&o| view.clash(g, o)).collect();
            // A node it already shares with another tier is a mixed node, reported as such.
            if clashing.is_empty() || here.contains_key(&g) {
                continue;
            }
            let node = NodeView {
                name,
                labels,
                taints,
            };
            if filter.schedulable(&node).is_ok() {
                reached.insert(name.clone());
                others.extend(clashing);
            }
        }
        if reached.is_empty() {
            continue;
        }
        let mut subjects = vec![view.subject(g, view.all_pods(g))];
        subjects.extend(reached.iter().map(|n| node_subject(view.input, n)));
        let tiers: BTreeSet<String> = others.iter().filter_map(|&o| view.class(o)).collect();
        let message = format!(
            "{} ({}) tolerates the taints and matches the node affinity of {}, which host{} {}: the scheduler may place its pods there",
            subjects[0].label(),
            view.class(g).unwrap_or_default(),
            reached.iter().cloned().collect::<Vec<_>>().join(", "),
            if reached.len() == 1 { "s" } else { "" },
            tiers.into_iter().collect::<Vec<_>>().join(", "),
        );
        out.push(finding(Rule::EscapeRoute, None, message, subjects));
    }
}

/// A Node as a subject, located where the input has it.
pub fn node_subject(input: &Input, name: &str) -> Subject {
    let (file, document) = input
        .objects
        .nodes
        .iter()
        .find(|n| objects::name(&n.object.metadata) == name)
        .map_or((None, None), |n| super::located(&n.at.origin));
    Subject {
        kind: "Node".into(),
        namespace: String::new(),
        name: name.to_string(),
        pods: Vec::new(),
        class: None,
        present: file.is_some(),
        file,
        document,
    }
}

/// Every toleration of every key (`operator: Exists`, no key) outside the Policy's system
/// DaemonSets.
pub fn wildcard_tolerations(view: &View, out: &mut Vec<Finding>) {
    for (g, group) in view.groups.iter().enumerate() {
        if matches!(group.tier, Tier::System) {
            continue;
        }
        let wild: Vec<String> = group
            .spec
            .tolerations
            .iter()
            .flatten()
            .filter(|t| {
                t.operator.as_deref() == Some("Exists") && t.key.as_deref().unwrap_or("").is_empty()
            })
            .map(|t| match t.effect.as_deref().unwrap_or("") {
                "" => "every taint".to_string(),
                e => format!("every {e} taint"),
            })
            .collect();
        if wild.is_empty() {
            continue;
        }
        let subject = view.subject(g, view.all_pods(g));
        let message = format!(
            "{} tolerates {} (`operator: Exists` without a key) but is no system DaemonSet of the Policy: no pool taint keeps it off any node",
            subject.label(),
            wild.join(" and ")
        );
        out.push(finding(
            Rule::WildcardToleration,
            None,
            message,
            vec![subject],
        ));
    }
}

/// Every workload or pod without a sensitivity (system and platform ones have no tier to
/// find).
pub fn untiered(view: &View, out: &mut Vec<Finding>) {
    for (g, group) in view.groups.iter().enumerate() {
        if !matches!(group.tier, Tier::Untiered) || group.scaled_to_zero {
            continue;
        }
        let subject = view.subject(g, view.all_pods(g));
        let message = format!(
            "{} has no `{}sensitivity` on itself, its pod template or its Namespace, and the Policy sets no default: its tier cannot be judged",
            subject.label(),
            view.input.prefix
        );
        out.push(finding(Rule::Untiered, None, message, vec![subject]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::filter::NodeView;
    use k8s_openapi::api::core::v1::{NodeSpec, Toleration};

    /// A cordoned node keeps off pods that do not tolerate
    /// `node.kubernetes.io/unschedulable:NoSchedule` (the `NodeUnschedulable` plugin of
    /// kube-scheduler, pkg/scheduler/framework/plugins/nodeunschedulable), as a taint would.
    #[test]
    fn a_cordon_filters_like_the_unschedulable_taint() {
        let node = Node {
            spec: Some(NodeSpec {
                unschedulable: Some(true),
                ..NodeSpec::default()
            }),
            ..Node::default()
        };
        let taints = effective_taints(&node);
        let labels = BTreeMap::new();
        let view = NodeView {
            name: "n",
            labels: &labels,
            taints: &taints,
        };
        let plain = PodFilter::new(&PodSpec::default());
        assert!(plain.schedulable(&view).is_err());
        let tolerant = PodFilter::new(&PodSpec {
            tolerations: Some(vec![Toleration {
                key: Some("node.kubernetes.io/unschedulable".into()),
                operator: Some("Exists".into()),
                effect: Some("NoSchedule".into()),
                ..Toleration::default()
            }]),
            ..PodSpec::default()
        });
        assert!(tolerant.schedulable(&view).is_ok());
    }
}
