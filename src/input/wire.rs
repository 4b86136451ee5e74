//! The wire format: serde types that mirror the YAML documents exactly.
//!
//! These types are the contract with users (and the source of `schemas/`); they are not the
//! model. Strings stay strings here; `model::build` turns them into checked, indexed data.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `apiVersion` of every tierplan document.
pub const API_VERSION: &str = "tierplan/v1alpha1";

/// A Kubernetes quantity as written: a string (`500m`, `2Gi`) or a plain number (`16`, `1.5`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Quantity(#[schemars(with = "QuantitySchema")] pub String);

/// Schema stand-in: Kubernetes quantities are strings or numbers.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum QuantitySchema {
    Text(String),
    Number(f64),
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a Kubernetes quantity such as \"500m\", \"2Gi\" or 4")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Quantity, E> {
                // `{}` prints finite floats without exponent, which the quantity parser reads
                // exactly; NaN and infinities fall through to a clear parse error.
                Ok(Quantity(format!("{v}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// `metadata` of every document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// `metadata.name`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// `metadata.namespace`.
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// Free-form notes; tierplan ignores them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A tierplan document: `apiVersion`, `kind`, `metadata`, `spec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Document<S> {
    /// `tierplan/v1alpha1`.
    pub api_version: String,
    /// The kind: `Policy`, `Workload`, `Node` or `NodeType`.
    pub kind: String,
    /// Name, namespace and labels.
    pub metadata: Metadata,
    /// The kind's own fields.
    pub spec: S,
}

/// `kind: Policy`: how workloads are separated. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicySpec {
    /// Ordered low → high. Default `[public, internal, confidential, restricted]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity_levels: Option<Vec<String>>,
    /// Attributes that must be equal for two workloads to share a node.
    /// Default `[sensitivity, exposure, trust]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separate_by: Option<Vec<String>>,
    /// Exceptions: two workloads may differ on an attribute a rule names when the rule
    /// matches both (each of the rule's attributes has one of the listed values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub share_when: Vec<BTreeMap<String, Vec<String>>>,
    /// Matching workloads may only run on nodes carrying these labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_requirements: Vec<NodeRequirementSpec>,
    /// Names for pools: a pool holding a class that an entry matches (every workload of the
    /// class matches) takes the entry's name; the first matching entry wins. Pools no entry
    /// names get a name derived from their most sensitive class.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<PoolNameSpec>,
    /// Resources reserved on every used node for system daemons.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_overhead: BTreeMap<String, Quantity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Spare capacity every pool keeps.
    pub headroom: Option<HeadroomSpec>,
    /// Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_nodes_per_pool: Option<i64>,
    /// DaemonSets that run on every node of every pool (CNI, kube-proxy, CSI node plugins,
    /// log, monitoring and security agents): their requests are reserved on every node, on top
    /// of `nodeOverhead`, and their pods, made by the DaemonSet controller, are the only pods
    /// the admission policy lets tolerate every taint. List every DaemonSet that does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system_daemon_sets: Vec<SystemDaemonSetSpec>,
    /// Where Karpenter NodePools (catalog mode) point for cloud settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub karpenter: Option<KarpenterSpec>,
    /// How the admission policy is bound: `deny` rejects pods that escape their pool, `warn`
    /// only warns and audits (`validationActions: [Warn, Audit]`). Default: `deny` when
    /// `systemDaemonSets` lists any, else `warn` (an unlisted CNI would be denied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission: Option<String>,
    /// A namespace whose workloads the plan puts in several pools lets whoever may create
    /// pods in it use any of them: `warn` reports it, `deny` refuses the input. Default `warn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_boundary: Option<String>,
    /// Attribute values for workloads that set none (e.g. `{sensitivity: internal}`): a
    /// workload without a value for one of these attributes takes it from here. Without a
    /// default, a workload with no sensitivity is an error, never guessed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub defaults: BTreeMap<String, String>,
    /// How Kubernetes objects given as input (manifests, `kubectl get` dumps, a live
    /// cluster) are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesSpec>,
}

/// `spec.kubernetes` of the Policy: how Kubernetes objects are read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesSpec {
    /// The prefix of the labels and annotations that give tier attributes
    /// (`<prefix>sensitivity`, `<prefix>exposure`, …). Default `tierplan.io/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_prefix: Option<String>,
    /// Cost per hour of a Node, by its instance type (`node.kubernetes.io/instance-type`, or
    /// the deprecated `beta.kubernetes.io/instance-type`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prices: BTreeMap<String, f64>,
    /// A Node label whose value is its cost per hour; it wins over `prices`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_label: Option<String>,
}

/// One system DaemonSet of `spec.systemDaemonSets`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SystemDaemonSetSpec {
    /// The DaemonSet's name.
    pub name: String,
    /// Default `kube-system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Per-pod requests, reserved on every node.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, Quantity>,
}

/// `spec.karpenter` of the Policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KarpenterSpec {
    /// The node class of NodeTypes that name none. Default: `karpenter.k8s.aws`,
    /// `EC2NodeClass`, `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_class_ref: Option<NodeClassRefSpec>,
    /// Node classes and the labels each guarantees on its nodes (through its AMI family or
    /// user data, which tierplan does not see). Only these labels may satisfy a workload's
    /// required labels on nodes Karpenter launches; a class not listed guarantees none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_classes: Vec<NodeClassSpec>,
}

/// One node class of `spec.karpenter.nodeClasses`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeClassSpec {
    /// The node class's API group.
    pub group: String,
    /// The node class's kind.
    pub kind: String,
    /// The node class's name.
    pub name: String,
    /// Labels every node launched with this class has, whatever Karpenter is told.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
/// A reference to a Karpenter node class (e.g. an `EC2NodeClass`).
pub struct NodeClassRefSpec {
    /// The node class's API group.
    pub group: String,
    /// The node class's kind.
    pub kind: String,
    /// The node class's name.
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
/// Labels the nodes of matching workloads must carry.
pub struct NodeRequirementSpec {
    /// Attribute → allowed values; a workload matches when every attribute has a listed value.
    #[serde(rename = "match")]
    pub matches: BTreeMap<String, Vec<String>>,
    /// The labels required.
    pub node_selector: BTreeMap<String, String>,
}

/// One entry of `spec.pools`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolNameSpec {
    /// The pool's name: a DNS-1123 label (it becomes a label value, a taint value and the
    /// name of the pool's Karpenter NodePool).
    pub name: String,
    /// Attribute → allowed values, as in `nodeRequirements`.
    #[serde(rename = "match")]
    pub matches: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
/// Spare capacity every pool keeps.
pub struct HeadroomSpec {
    /// Every pool keeps covering its requests after losing its K largest nodes.
    pub node_failures: i64,
}

/// `kind: Workload`: one Deployment-like set of identical replicas.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadSpec {
    /// Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i64>,
    /// Per-replica requests; each replica also takes one `pods` slot.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, Quantity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// How sensitive the workload's data is (one of `sensitivityLevels`).
    pub sensitivity: Option<String>,
    /// Convention: internet | partner | internal | isolated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<String>,
    /// Convention: first-party | third-party | untrusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The tenant whose data it handles.
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// What the workload is for.
    pub purpose: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    /// Further attributes `separateBy` and rules may name.
    pub attributes: BTreeMap<String, String>,
    /// Its replicas share nodes with no other workload.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dedicated: bool,
    /// Runs outside the tiers (CoreDNS, metrics-server, ingress controllers, the autoscaler):
    /// planned on untainted nodes of the `platform` pool and left unpinned. Takes no tier
    /// attribute.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub platform: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// At most this many replicas on one node.
    pub max_per_node: Option<i64>,
    /// Replicas span at least min(minZones, replicas) zones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_zones: Option<i64>,
    /// Workload ids (`namespace/name`) or names in the same namespace; never on one node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anti_affinity: Vec<String>,
    /// Co-location limits (Medea's cardinality constraints): on a node hosting this
    /// workload, at most `max` replicas of `workload`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub co_location: Vec<CoLocationSpec>,
    /// Labels required on the node.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// The kind of object that runs the pods: `Deployment` (default), `StatefulSet`,
    /// `DaemonSet`, `Job` or `CronJob`; the emitted patch targets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    /// Required node affinity, as a pod's
    /// `affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`:
    /// a node qualifies when it matches any term (every expression of the term holds). Holds
    /// beside `nodeSelector`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_affinity: Vec<NodeSelectorTermSpec>,
    /// The pod's own tolerations: an inventory node with a `NoSchedule` or `NoExecute` taint
    /// (other than the pool taint tierplan manages) may host the workload only when one of
    /// them tolerates it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<TolerationSpec>,
}

/// One term of a required node affinity: every expression must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeSelectorTermSpec {
    /// The expressions, all required.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<NodeSelectorRequirementSpec>,
}

/// A node label expression, as Kubernetes' `NodeSelectorRequirement`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeSelectorRequirementSpec {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt` or `Lt`.
    pub operator: String,
    /// The values (`In`, `NotIn`: at least one; `Gt`, `Lt`: exactly one integer;
    /// `Exists`, `DoesNotExist`: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A Kubernetes toleration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TolerationSpec {
    /// The taint key; empty or absent with `operator: Exists` tolerates every key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `Equal` (default) or `Exists`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// The taint value (`Equal` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`; absent tolerates every effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
}

/// One co-location limit of a workload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CoLocationSpec {
    /// A workload id (`namespace/name`) or a name in the same namespace.
    pub workload: String,
    /// At most this many of its replicas on a node that hosts this workload (0: none).
    pub max: i64,
}

/// `kind: Node`: one machine of the inventory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeSpec {
    /// Resources the node offers to pods.
    pub allocatable: BTreeMap<String, Quantity>,
    /// Default: the label `topology.kubernetes.io/zone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Per hour; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Taints the node has now (as `kubectl get node -o yaml` shows them); the emitted Node
    /// keeps them beside the pool's taint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<TaintSpec>,
    /// Cordoned (`spec.unschedulable`): the scheduler places no new pod on it, so no plan
    /// does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unschedulable: bool,
}

/// A Kubernetes taint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TaintSpec {
    /// The taint's key.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The taint's value.
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// `kind: NodeType`: a machine that can be bought (catalog mode): an instance type launched
/// with a node class. `metadata.labels` are labels its nodes have; under Karpenter each one a
/// workload requires must be guaranteed by the node class (Policy `karpenter.nodeClasses`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeTypeSpec {
    /// The instance type (the `node.kubernetes.io/instance-type` label). Default:
    /// `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// The node class Karpenter launches it with. Default: the Policy's
    /// `karpenter.nodeClassRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_class_ref: Option<NodeClassRefSpec>,
    /// Resources a node of this type offers to pods.
    pub allocatable: BTreeMap<String, Quantity>,
    /// Per node, what the instance has before any reservation (vCPUs, memory): Karpenter's
    /// NodePool `limits` count capacity, not allocatable. Required, with cpu and memory when
    /// allocatable declares them.
    #[serde(default)]
    pub capacity: BTreeMap<String, Quantity>,
    /// Per hour, per node; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Zones it can be bought in (at least one).
    pub zones: Vec<String>,
    /// At most this many nodes of the type may be bought, over all zones and pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

/// A Policy document.
pub type PolicyDoc = Document<PolicySpec>;
/// A Workload document.
pub type WorkloadDoc = Document<WorkloadSpec>;
/// A Node document.
pub type NodeDoc = Document<NodeSpec>;
/// A NodeType document.
pub type NodeTypeDoc = Document<NodeTypeSpec>;

/// The kinds tierplan reads.
pub const KINDS: [&str; 4] = ["Policy", "Workload", "Node", "NodeType"];

/// `kind: Scenario` (read by `tierplan whatif --scenario`, never by `plan`): a change to the
/// inputs, planned as a re-plan from the baseline. Every field is optional; an empty spec is
/// the baseline itself. Changes apply in field order: nodes removed, nodes and node types
/// added, workloads removed, added, then scaled, then the policy merged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScenarioSpec {
    /// Inventory nodes to take away: by name, and (or) every node whose labels match the
    /// selector (a zone is `{topology.kubernetes.io/zone: <zone>}`, which also matches a
    /// Node's `spec.zone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_nodes: Option<RemoveNodesSpec>,
    /// Nodes to add to the inventory, written as Node documents without `apiVersion` and
    /// `kind`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_nodes: Vec<Added<NodeSpec>>,
    /// Node types that may be bought, written as NodeType documents without `apiVersion` and
    /// `kind`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_node_types: Vec<Added<NodeTypeSpec>>,
    /// Workloads to take away, by id (`namespace/name`; `name` alone for `default`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_workloads: Vec<String>,
    /// Workloads to add, written as Workload documents without `apiVersion` and `kind`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_workloads: Vec<Added<WorkloadSpec>>,
    /// Replica changes, applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scale_workloads: Vec<ScaleSpec>,
    /// Policy fields that replace the baseline's (any field of a Policy's `spec`; fields not
    /// written keep the baseline's value, a field written replaces it whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<PolicySpec>")]
    pub policy: Option<serde_yaml::Mapping>,
}

/// `spec.removeNodes` of a Scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RemoveNodesSpec {
    /// Node names; each must name an inventory node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Label → value; every node carrying all of them goes. Must match some node.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
}

/// A document added by a Scenario: `metadata` and `spec` of its kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Added<S> {
    /// Name, namespace and labels.
    pub metadata: Metadata,
    /// The kind's own fields.
    pub spec: S,
}

/// One entry of a Scenario's `spec.scaleWorkloads`: which workloads (`workload` or
/// `selector`, not both) and how (`replicas` or `factor`, not both).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScaleSpec {
    /// One workload, by id (`namespace/name`; `name` alone for `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// Attribute → value (`sensitivity`, `exposure`, `trust`, `tenant`, `purpose`,
    /// `namespace` or a free attribute): every workload with all of them. Must match some.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
    /// The new replica count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i64>,
    /// Replicas are multiplied by this and rounded up (e.g. 2 doubles, 1.5 adds half).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
}

/// A Scenario document.
pub type ScenarioDoc = Document<ScenarioSpec>;

/// The kind of what-if scenarios, read apart from the planning inputs.
pub const SCENARIO_KIND: &str = "Scenario";
