//! The validated model: what the planner, the checker and every later stage work on.
//!
//! Owns the meaning of the input after validation: resources are interned and every amount is
//! an exact integer (see `quantity`), names are resolved to indices, defaults are applied.
//! It holds facts only; derived structure (classes, compatibility) lives in `policy`, so that
//! the checker can derive it independently.

mod build;
mod constraints;
mod documents;
pub mod names;

pub use build::{build, build_from_paths, build_from_yaml, build_read, build_scenario};
pub use documents::to_documents;

use crate::input::Origin;
use crate::quantity::Amount;
use std::collections::BTreeMap;

/// Index of a resource in [`Model::resources`].
pub type ResourceId = usize;

/// The attributes every workload has, besides its free `attributes` map.
pub const BUILTIN_ATTRIBUTES: [&str; 6] = [
    "sensitivity",
    "exposure",
    "trust",
    "tenant",
    "purpose",
    "namespace",
];

/// The name of the implicit pod-slot resource.
pub const PODS: &str = "pods";

/// A whole validated planning problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The policy (the defaults when the input has none).
    pub policy: Policy,
    /// Sorted resource names; always contains `pods`.
    pub resources: Vec<String>,
    /// Sorted by id (`namespace/name`).
    pub workloads: Vec<Workload>,
    /// Sorted by name.
    pub nodes: Vec<Node>,
    /// Machine types that may be bought (catalog mode), sorted by name.
    pub node_types: Vec<NodeType>,
    /// Of the input documents (`input::Documents::fingerprint`); plan.json records it so
    /// that `check` can tell a plan of other inputs from a wrong plan.
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq)]
/// The validated Policy.
pub struct Policy {
    /// Where it was read; `None` for the defaults.
    pub origin: Option<Origin>,
    /// Sensitivity values from least to most sensitive.
    pub sensitivity_levels: Vec<String>,
    /// Attributes on which workloads must agree to share a node.
    pub separate_by: Vec<String>,
    /// Rules that let workloads differing on one attribute share nodes.
    pub share_when: Vec<Rule>,
    /// Node labels required of the nodes of matching workloads.
    pub node_requirements: Vec<NodeRequirement>,
    /// `spec.pools`: names for the pools whose classes they match (see `naming`).
    pub pools: Vec<PoolName>,
    /// Per resource, reserved on every used node (0 where none): the declared
    /// `nodeOverhead` plus the requests of every system DaemonSet.
    pub node_overhead: Vec<Amount>,
    /// Nodes every pool can lose and still hold its workloads.
    pub node_failures: u32,
    /// Nodes every pool has at least.
    pub min_nodes_per_pool: u32,
    /// Sorted by (namespace, name).
    pub system_daemon_sets: Vec<SystemDaemonSet>,
    /// The node class of NodeTypes that name none.
    pub karpenter_node_class: NodeClassRef,
    /// `karpenter.nodeClasses`: the labels each declared node class guarantees, by class.
    pub node_class_labels: BTreeMap<NodeClassRef, BTreeMap<String, String>>,
    /// How the admission policy is bound (`spec.admission`, defaulted).
    pub admission: Enforcement,
    /// Whether a namespace spanning several pools is reported or refused
    /// (`spec.namespaceBoundary`).
    pub namespace_boundary: Enforcement,
    /// `spec.defaults`: attribute values of workloads that set none.
    pub defaults: BTreeMap<String, String>,
}

/// How strictly a Policy setting is enforced: report only, or refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    /// Say so and go on.
    Warn,
    /// Refuse.
    Deny,
}

impl Enforcement {
    /// Every setting, in the order documents list them.
    pub const ALL: [Enforcement; 2] = [Enforcement::Warn, Enforcement::Deny];

    /// The value as written in the Policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Warn => "warn",
            Enforcement::Deny => "deny",
        }
    }
}

/// A DaemonSet that runs on every node of every pool: the one allowed exception to tiering.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemDaemonSet {
    /// The DaemonSet's name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Per resource (dense; `pods` is 1).
    pub requests: Vec<Amount>,
}

/// A Karpenter `nodeClassRef`: the provider object (an EC2NodeClass, say) that decides the
/// image and so the host OS of the nodes launched with it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeClassRef {
    /// API group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
}

impl Default for NodeClassRef {
    fn default() -> Self {
        NodeClassRef {
            group: "karpenter.k8s.aws".into(),
            kind: "EC2NodeClass".into(),
            name: "default".into(),
        }
    }
}

/// The object kind that runs a workload's pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Controller {
    /// `apps/v1 Deployment`.
    Deployment,
    /// `apps/v1 StatefulSet`.
    StatefulSet,
    /// `apps/v1 DaemonSet`.
    DaemonSet,
    /// `batch/v1 Job`.
    Job,
    /// `batch/v1 CronJob`.
    CronJob,
}

impl Controller {
    /// Every controller kind.
    pub const ALL: [Controller; 5] = [
        Controller::Deployment,
        Controller::StatefulSet,
        Controller::DaemonSet,
        Controller::Job,
        Controller::CronJob,
    ];

    /// The Kubernetes `kind`.
    pub fn kind(self) -> &'static str {
        match self {
            Controller::Deployment => "Deployment",
            Controller::StatefulSet => "StatefulSet",
            Controller::DaemonSet => "DaemonSet",
            Controller::Job => "Job",
            Controller::CronJob => "CronJob",
        }
    }

    /// The `apiVersion` of the kind.
    pub fn api_version(self) -> &'static str {
        match self {
            Controller::Job | Controller::CronJob => "batch/v1",
            _ => "apps/v1",
        }
    }
}

/// A Kubernetes taint a node carries.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Taint {
    /// The taint's key.
    pub key: String,
    /// Empty when the taint has no value.
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// A machine that can be bought: an instance type launched with a node class. Every node of
/// it has these labels and resources.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeType {
    /// Where it was read.
    pub origin: Origin,
    /// The NodeType's own name (plan.json and bought node names use it).
    pub name: String,
    /// The real instance type: `node.kubernetes.io/instance-type` of its nodes.
    pub instance_type: String,
    /// The node class Karpenter launches it with.
    pub node_class: NodeClassRef,
    /// `metadata.labels` and the labels its node class guarantees; bought nodes also get
    /// `node.kubernetes.io/instance-type` and `topology.kubernetes.io/zone`.
    pub labels: BTreeMap<String, String>,
    /// As [`Node::allocatable`].
    pub allocatable: Vec<Option<Amount>>,
    /// Per resource, what the instance has before reservations (`None` where undeclared):
    /// Karpenter's NodePool limits count this.
    pub capacity: Vec<Option<Amount>>,
    /// Sorted, at least one.
    pub zones: Vec<String>,
    /// Cost per hour of one node, in millionths.
    pub cost_micros: u64,
    /// At most this many may be bought over all zones and pools.
    pub max: Option<u32>,
}

impl NodeType {
    /// The node named `name` of this type bought in `zone`: the type's labels, instance type
    /// and zone label, allocatable and cost, and no taints.
    pub fn node(&self, name: String, zone: &str) -> Node {
        let mut labels = self.labels.clone();
        labels.insert(INSTANCE_TYPE_LABEL.to_string(), self.instance_type.clone());
        labels.insert(ZONE_LABEL.to_string(), zone.to_string());
        Node {
            origin: self.origin.clone(),
            name,
            labels,
            allocatable: self.allocatable.clone(),
            zone: Some(zone.to_string()),
            cost_micros: self.cost_micros,
            taints: Vec::new(),
            unschedulable: false,
        }
    }
}

/// The label carrying a node's instance type.
pub const INSTANCE_TYPE_LABEL: &str = "node.kubernetes.io/instance-type";
/// The label carrying a node's zone.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The taint the scheduler's `NodeUnschedulable` filter treats a cordoned node as having: a
/// pod that tolerates it (`NoSchedule`, no value) may still land on the node.
pub const UNSCHEDULABLE_TAINT_KEY: &str = "node.kubernetes.io/unschedulable";

/// Whether Karpenter itself gives a launched node the label `key` from its instance type
/// (kubernetes-sigs/karpenter `pkg/apis/v1/labels.go` `WellKnownLabels`, and the provider's
/// `karpenter.k8s.aws/instance-*` labels): its value is a fact of the instance, so no node
/// class needs to guarantee it.
pub fn labelled_by_karpenter(key: &str) -> bool {
    matches!(
        key,
        "kubernetes.io/arch"
            | "kubernetes.io/os"
            | "karpenter.sh/capacity-type"
            | "topology.kubernetes.io/region"
            | "node.kubernetes.io/windows-build"
            | INSTANCE_TYPE_LABEL
            | ZONE_LABEL
    ) || key.starts_with("karpenter.k8s.aws/instance-")
}

/// Attribute → allowed values. A workload matches when every attribute has a listed value.
pub type Rule = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, PartialEq)]
/// Labels required of the nodes of matching workloads.
pub struct NodeRequirement {
    /// The workloads it applies to.
    pub matches: Rule,
    /// The labels required.
    pub node_selector: BTreeMap<String, String>,
}

/// A name the Policy gives to the pool holding the classes it matches.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolName {
    /// A DNS-1123 label, unique among the Policy's entries.
    pub name: String,
    /// The workloads it applies to.
    pub matches: Rule,
}

#[derive(Debug, Clone, PartialEq)]
/// A validated workload: its replicas, requests and placement rules.
pub struct Workload {
    /// Where it was read.
    pub origin: Origin,
    /// `namespace/name`.
    pub id: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (`default` when absent).
    pub namespace: String,
    /// Pods to place.
    pub replicas: u32,
    /// Per replica, per resource (dense; `pods` is 1).
    pub requests: Vec<Amount>,
    /// Every attribute with a value: the built-in ones and the `attributes` map.
    pub attributes: BTreeMap<String, String>,
    /// Shares nodes with no other workload.
    pub dedicated: bool,
    /// Runs outside the tiers: one class with every other platform workload, in a pool whose
    /// nodes carry no pool label or taint, and given no patch.
    pub platform: bool,
    /// At most this many replicas on one node.
    pub max_per_node: Option<u32>,
    /// Replicas spread over at least this many zones.
    pub min_zones: Option<u32>,
    /// Indices of workloads this one must never share a node with (both directions merged,
    /// sorted, without itself).
    pub anti_affinity: Vec<usize>,
    /// (workload, k): on a node hosting this workload, at most k replicas of that one.
    /// Sorted by workload, one entry per workload (the tightest).
    pub co_location: Vec<(usize, u32)>,
    /// Labels required on the node by the workload itself (the policy's `nodeRequirements`
    /// are kept in the policy and applied by whoever needs them).
    pub node_selector: BTreeMap<String, String>,
    /// The kind of controller that runs it.
    pub controller: Controller,
    /// Required node affinity: a node qualifies when it matches any term (none: every node).
    pub node_affinity: Vec<AffinityTerm>,
    /// The workload's own tolerations, in input order.
    pub tolerations: Vec<Toleration>,
}

/// One term of a required node affinity: every expression must hold. A term without
/// expressions matches no node, as in Kubernetes (`nodeaffinity.NewNodeSelector` skips it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffinityTerm {
    /// The expressions, in input order.
    pub expressions: Vec<LabelExpression>,
}

/// A node label expression (`NodeSelectorRequirement`), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelExpression {
    /// The label key.
    pub key: String,
    /// The operator with its values.
    pub operator: LabelOperator,
}

/// An operator of a node label expression, with the values it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelOperator {
    /// The label is present with one of the values (at least one, in input order).
    In(Vec<String>),
    /// The label is absent or has none of the values (at least one, in input order).
    NotIn(Vec<String>),
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
    /// The label is present and, read as a base-10 `i64`, greater than this.
    Gt(i64),
    /// The label is present and, read as a base-10 `i64`, less than this.
    Lt(i64),
}

impl LabelOperator {
    /// The operator as Kubernetes writes it.
    pub fn as_str(&self) -> &'static str {
        match self {
            LabelOperator::In(_) => "In",
            LabelOperator::NotIn(_) => "NotIn",
            LabelOperator::Exists => "Exists",
            LabelOperator::DoesNotExist => "DoesNotExist",
            LabelOperator::Gt(_) => "Gt",
            LabelOperator::Lt(_) => "Lt",
        }
    }

    /// The values as Kubernetes writes them (`Gt`/`Lt`: the one integer).
    pub fn values(&self) -> Vec<String> {
        match self {
            LabelOperator::In(v) | LabelOperator::NotIn(v) => v.clone(),
            LabelOperator::Exists | LabelOperator::DoesNotExist => Vec::new(),
            LabelOperator::Gt(n) | LabelOperator::Lt(n) => vec![n.to_string()],
        }
    }
}

impl std::fmt::Display for LabelExpression {
    /// As `kubectl` users read it: `gpu In (a100, h100)`, `arch Exists`, `cores Gt 4`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.key, self.operator.as_str())?;
        match &self.operator {
            LabelOperator::In(v) | LabelOperator::NotIn(v) => write!(f, " ({})", v.join(", ")),
            LabelOperator::Gt(n) | LabelOperator::Lt(n) => write!(f, " {n}"),
            LabelOperator::Exists | LabelOperator::DoesNotExist => Ok(()),
        }
    }
}

/// A workload's toleration, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toleration {
    /// The taint key; empty (only with [`TolerationOperator::Exists`]) tolerates every key.
    pub key: String,
    /// How the taint's value is compared.
    pub operator: TolerationOperator,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`; `None` tolerates every effect.
    pub effect: Option<String>,
}

/// A toleration's operator, with the value `Equal` compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TolerationOperator {
    /// The taint's value equals this (empty: a taint without value).
    Equal(String),
    /// Any value.
    Exists,
}

impl Workload {
    /// The value of `attribute`; a missing attribute has the empty value.
    pub fn attribute(&self, attribute: &str) -> &str {
        self.attributes.get(attribute).map_or("", String::as_str)
    }

    /// Whether this workload matches `rule` (every attribute of the rule has a listed value).
    pub fn matches(&self, rule: &Rule) -> bool {
        rule.iter()
            .all(|(attr, values)| values.iter().any(|v| v == self.attribute(attr)))
    }
}

#[derive(Debug, Clone, PartialEq)]
/// A validated inventory node.
pub struct Node {
    /// Where it was read.
    pub origin: Origin,
    /// The node's name.
    pub name: String,
    /// Its labels, as the cluster has them now.
    pub labels: BTreeMap<String, String>,
    /// Per resource; `None` where the node does not declare it. `pods` undeclared means
    /// unlimited pod slots and is stored as [`crate::quantity::MAX_AMOUNT`].
    pub allocatable: Vec<Option<Amount>>,
    /// Its `topology.kubernetes.io/zone`, if labelled.
    pub zone: Option<String>,
    /// Cost per hour in millionths, so that sums are exact.
    pub cost_micros: u64,
    /// Taints the node has now, sorted.
    pub taints: Vec<Taint>,
    /// Cordoned (`spec.unschedulable`).
    pub unschedulable: bool,
}

/// The class of every workload that is not dedicated when `separateBy` is empty: no
/// `attr=value` name can be it, since those always hold `=`.
pub const ALL_CLASS: &str = "all";

/// The class of every platform workload: they share one pool, apart from every tier, whatever
/// `separateBy` says. No other class name lacks both `=` and `:`, and [`ALL_CLASS`] differs.
pub const PLATFORM_CLASS: &str = "platform";

impl Model {
    /// The name of `w`'s class, the one format of class names in plans, messages and pool
    /// names: [`PLATFORM_CLASS`], `dedicated:<workload id>`, `attr=value,...` over
    /// `separateBy` in policy order, or [`ALL_CLASS`] when `separateBy` is empty.
    pub fn class_name(&self, w: &Workload) -> String {
        if w.platform {
            return PLATFORM_CLASS.into();
        }
        if w.dedicated {
            return format!("dedicated:{}", w.id);
        }
        if self.policy.separate_by.is_empty() {
            return ALL_CLASS.into();
        }
        self.policy
            .separate_by
            .iter()
            .map(|a| format!("{a}={}", w.attribute(a)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// This model with `extra` nodes (bought ones) added to its inventory, kept sorted by name;
    /// `false` when a name was taken, in which case the later node of that name is left out.
    pub fn with_nodes(&self, extra: Vec<Node>) -> (Model, bool) {
        let mut nodes = self.nodes.clone();
        nodes.extend(extra);
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        let before = nodes.len();
        nodes.dedup_by(|a, b| a.name == b.name);
        let distinct = nodes.len() == before;
        let model = Model {
            nodes,
            ..self.clone()
        };
        (model, distinct)
    }

    /// This model without the inventory nodes named in `names` (names it lacks are ignored):
    /// a what-if scenario that loses them, far cheaper than building its documents again.
    /// Its fingerprint is [`fingerprint_without`] this model's and the names removed, so
    /// that plans of the two are told apart and a re-plan can tell a scenario that only lost
    /// nodes (see `solve::repair`); it is the fingerprint of no documents. Removing nothing
    /// gives this model unchanged.
    pub fn without_nodes<S: AsRef<str>>(&self, names: &[S]) -> Model {
        let mut removed: Vec<&str> = names
            .iter()
            .map(AsRef::as_ref)
            .filter(|n| self.node_index(n).is_some())
            .collect();
        removed.sort_unstable();
        removed.dedup();
        if removed.is_empty() {
            return self.clone();
        }
        let nodes = self
            .nodes
            .iter()
            .filter(|n| removed.binary_search(&n.name.as_str()).is_err())
            .cloned()
            .collect();
        Model {
            nodes,
            fingerprint: fingerprint_without(&self.fingerprint, &removed),
            ..self.clone()
        }
    }

    /// The index of resource `name`, if any workload or node names it.
    pub fn resource_id(&self, name: &str) -> Option<ResourceId> {
        self.resources
            .binary_search_by(|r| r.as_str().cmp(name))
            .ok()
    }

    /// The index of the `pods` resource.
    pub fn pods(&self) -> ResourceId {
        self.resource_id(PODS).expect("pods is always a resource")
    }

    /// The index of workload `id` (`namespace/name`).
    pub fn workload_index(&self, id: &str) -> Option<usize> {
        self.workloads
            .binary_search_by(|w| w.id.as_str().cmp(id))
            .ok()
    }

    /// The index of node `name`.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes
            .binary_search_by(|n| n.name.as_str().cmp(name))
            .ok()
    }

    /// The index of node type `name`.
    pub fn node_type_index(&self, name: &str) -> Option<usize> {
        self.node_types
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
    }

    /// Replicas of all workloads together.
    pub fn total_replicas(&self) -> u64 {
        self.workloads.iter().map(|w| w.replicas as u64).sum()
    }
}

/// The fingerprint of the model of fingerprint `base` without the nodes `removed` (sorted,
/// distinct): `sha256:` over the base, a separator no name holds, and the names, one a line.
pub fn fingerprint_without(base: &str, removed: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(base.as_bytes());
    hash.update(b"\n-nodes\n");
    for name in removed {
        hash.update(name.as_bytes());
        hash.update(b"\n");
    }
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Formats micro-units of cost as a plain number for people and plan.json.
pub fn cost_from_micros(micros: u64) -> f64 {
    micros as f64 / 1e6
}
