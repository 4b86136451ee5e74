//! The model written back as wire documents: the explicit, canonical form of an input.
//! Building those documents yields the same model again (origins aside); the property tests
//! and the loader fuzzer hold the input layer to that.

use super::{Model, BUILTIN_ATTRIBUTES, PODS};
use crate::input::wire::{
    CoLocationSpec, Document, HeadroomSpec, KarpenterSpec, Metadata, NodeClassRefSpec,
    NodeClassSpec, NodeDoc, NodeRequirementSpec, NodeSelectorRequirementSpec, NodeSelectorTermSpec,
    NodeSpec, NodeTypeDoc, NodeTypeSpec, PolicyDoc, PolicySpec, PoolNameSpec, Quantity,
    SystemDaemonSetSpec, TaintSpec, TolerationSpec, WorkloadDoc, WorkloadSpec, API_VERSION,
};
use crate::input::{Documents, Origin};
use crate::quantity::{self, Amount, Unit, MAX_AMOUNT};
use std::collections::{BTreeMap, BTreeSet};

/// Every setting of `m` as documents: a Policy with every field explicit, then the workloads
/// and nodes in model order, each with its model origin.
pub fn to_documents(m: &Model) -> Documents {
    let mut docs = Documents::default();
    let policy_origin = m.policy.origin.clone().unwrap_or_else(|| Origin {
        file: "policy".into(),
        doc: 0,
    });
    docs.policies.push((policy_origin, policy(m)));
    for w in &m.workloads {
        docs.workloads.push((w.origin.clone(), workload(m, w)));
    }
    for n in &m.nodes {
        docs.nodes.push((n.origin.clone(), node(m, n)));
    }
    for t in &m.node_types {
        docs.node_types.push((t.origin.clone(), node_type(m, t)));
    }
    docs
}

/// A request map: the non-zero requests, without the implicit pod slot.
fn requests(m: &Model, amounts: &[Amount]) -> BTreeMap<String, Quantity> {
    amounts
        .iter()
        .enumerate()
        .filter(|&(r, &q)| q > 0 && m.resources[r] != PODS)
        .map(|(r, &q)| (m.resources[r].clone(), quantity(m, r, q)))
        .collect()
}

/// A resource map of the declared amounts, leaving undeclared ones (and unlimited pods) out.
fn allocatable(m: &Model, amounts: &[Option<Amount>]) -> BTreeMap<String, Quantity> {
    amounts
        .iter()
        .enumerate()
        // Undeclared pods are stored as MAX_AMOUNT: leaving them out says the same.
        .filter_map(|(r, a)| {
            a.filter(|&a| !(m.resources[r] == PODS && a == MAX_AMOUNT))
                .map(|a| (r, a))
        })
        .map(|(r, a)| (m.resources[r].clone(), quantity(m, r, a)))
        .collect()
}

fn document<S>(kind: &str, metadata: Metadata, spec: S) -> Document<S> {
    Document {
        api_version: API_VERSION.to_string(),
        kind: kind.to_string(),
        metadata,
        spec,
    }
}

fn named(name: &str) -> Metadata {
    Metadata {
        name: name.to_string(),
        ..Metadata::default()
    }
}

fn quantity(m: &Model, r: usize, amount: Amount) -> Quantity {
    Quantity(quantity::format(
        amount,
        Unit::for_resource(&m.resources[r]),
    ))
}

fn policy(m: &Model) -> PolicyDoc {
    let p = &m.policy;
    // A resource is named in the model when any document names it; one that only zero
    // requests name would otherwise vanish, so the overhead keeps it with a zero.
    let named_elsewhere: BTreeSet<usize> = m
        .workloads
        .iter()
        .flat_map(|w| (0..w.requests.len()).filter(|&r| w.requests[r] > 0))
        .chain(
            m.nodes
                .iter()
                .flat_map(|n| (0..n.allocatable.len()).filter(|&r| n.allocatable[r].is_some())),
        )
        .collect();
    // The model's overhead includes the system DaemonSets' requests; the document does not.
    let declared: Vec<Amount> = (0..m.resources.len())
        .map(|r| {
            let daemons: Amount = p.system_daemon_sets.iter().map(|ds| ds.requests[r]).sum();
            p.node_overhead[r] - daemons
        })
        .collect();
    let named_elsewhere: BTreeSet<usize> = named_elsewhere
        .into_iter()
        .chain(p.system_daemon_sets.iter().flat_map(|ds| {
            (0..ds.requests.len()).filter(|&r| ds.requests[r] > 0 && m.resources[r] != PODS)
        }))
        .chain(m.node_types.iter().flat_map(|t| {
            (0..t.allocatable.len())
                .filter(|&r| t.allocatable[r].is_some() || t.capacity[r].is_some())
        }))
        .collect();
    let node_overhead = (0..m.resources.len())
        .filter(|&r| m.resources[r] != PODS && (declared[r] > 0 || !named_elsewhere.contains(&r)))
        .map(|r| (m.resources[r].clone(), quantity(m, r, declared[r])))
        .collect();
    let system_daemon_sets = p
        .system_daemon_sets
        .iter()
        .map(|ds| SystemDaemonSetSpec {
            name: ds.name.clone(),
            namespace: Some(ds.namespace.clone()),
            resources: requests(m, &ds.requests),
        })
        .collect();
    let class = &p.karpenter_node_class;
    let spec = PolicySpec {
        sensitivity_levels: Some(p.sensitivity_levels.clone()),
        separate_by: Some(p.separate_by.clone()),
        share_when: p.share_when.clone(),
        node_requirements: p
            .node_requirements
            .iter()
            .map(|r| NodeRequirementSpec {
                matches: r.matches.clone(),
                node_selector: r.node_selector.clone(),
            })
            .collect(),
        pools: p
            .pools
            .iter()
            .map(|e| PoolNameSpec {
                name: e.name.clone(),
                matches: e.matches.clone(),
            })
            .collect(),
        node_overhead,
        headroom: Some(HeadroomSpec {
            node_failures: i64::from(p.node_failures),
        }),
        min_nodes_per_pool: Some(i64::from(p.min_nodes_per_pool)),
        system_daemon_sets,
        karpenter: Some(KarpenterSpec {
            node_class_ref: Some(NodeClassRefSpec {
                group: class.group.clone(),
                kind: class.kind.clone(),
                name: class.name.clone(),
            }),
            node_classes: p
                .node_class_labels
                .iter()
                .map(|(c, labels)| NodeClassSpec {
                    group: c.group.clone(),
                    kind: c.kind.clone(),
                    name: c.name.clone(),
                    labels: labels.clone(),
                })
                .collect(),
        }),
        admission: Some(p.admission.as_str().to_string()),
        namespace_boundary: Some(p.namespace_boundary.as_str().to_string()),
        defaults: p.defaults.clone(),
        // How Kubernetes objects were read has been applied: these documents are tierplan's.
        kubernetes: None,
    };
    document("Policy", named("policy"), spec)
}

fn workload(m: &Model, w: &super::Workload) -> WorkloadDoc {
    let builtin = |key: &str| w.attributes.get(key).cloned();
    let attributes: BTreeMap<String, String> = w
        .attributes
        .iter()
        .filter(|(k, _)| !BUILTIN_ATTRIBUTES.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let spec = WorkloadSpec {
        replicas: Some(i64::from(w.replicas)),
        resources: requests(m, &w.requests),
        sensitivity: builtin("sensitivity"),
        exposure: builtin("exposure"),
        trust: builtin("trust"),
        tenant: builtin("tenant"),
        purpose: builtin("purpose"),
        attributes,
        dedicated: w.dedicated,
        platform: w.platform,
        max_per_node: w.max_per_node.map(i64::from),
        min_zones: w.min_zones.map(i64::from),
        anti_affinity: w
            .anti_affinity
            .iter()
            .map(|&b| m.workloads[b].id.clone())
            .collect(),
        co_location: w
            .co_location
            .iter()
            .map(|&(b, max)| CoLocationSpec {
                workload: m.workloads[b].id.clone(),
                max: i64::from(max),
            })
            .collect(),
        node_selector: w.node_selector.clone(),
        controller: Some(w.controller.kind().to_string()),
        node_affinity: w.node_affinity.iter().map(affinity_term).collect(),
        tolerations: w.tolerations.iter().map(toleration).collect(),
    };
    let metadata = Metadata {
        namespace: Some(w.namespace.clone()),
        ..named(&w.name)
    };
    document("Workload", metadata, spec)
}

fn affinity_term(t: &super::AffinityTerm) -> NodeSelectorTermSpec {
    NodeSelectorTermSpec {
        match_expressions: t
            .expressions
            .iter()
            .map(|e| NodeSelectorRequirementSpec {
                key: e.key.clone(),
                operator: e.operator.as_str().to_string(),
                values: e.operator.values(),
            })
            .collect(),
    }
}

fn toleration(t: &super::Toleration) -> TolerationSpec {
    let (operator, value) = match &t.operator {
        super::TolerationOperator::Equal(v) => ("Equal", Some(v.clone()).filter(|v| !v.is_empty())),
        super::TolerationOperator::Exists => ("Exists", None),
    };
    TolerationSpec {
        key: Some(t.key.clone()).filter(|k| !k.is_empty()),
        operator: Some(operator.to_string()),
        value,
        effect: t.effect.clone(),
    }
}

fn node(m: &Model, n: &super::Node) -> NodeDoc {
    let spec = NodeSpec {
        allocatable: allocatable(m, &n.allocatable),
        zone: n.zone.clone(),
        cost: Some(super::cost_from_micros(n.cost_micros)),
        taints: n
            .taints
            .iter()
            .map(|t| TaintSpec {
                key: t.key.clone(),
                value: Some(t.value.clone()).filter(|v| !v.is_empty()),
                effect: t.effect.clone(),
            })
            .collect(),
        unschedulable: n.unschedulable,
    };
    let metadata = Metadata {
        labels: n.labels.clone(),
        ..named(&n.name)
    };
    document("Node", metadata, spec)
}

fn node_type(m: &Model, t: &super::NodeType) -> NodeTypeDoc {
    let class = &t.node_class;
    let spec = NodeTypeSpec {
        instance_type: Some(t.instance_type.clone()),
        node_class_ref: Some(NodeClassRefSpec {
            group: class.group.clone(),
            kind: class.kind.clone(),
            name: class.name.clone(),
        }),
        allocatable: allocatable(m, &t.allocatable),
        capacity: allocatable(m, &t.capacity),
        cost: Some(super::cost_from_micros(t.cost_micros)),
        zones: t.zones.clone(),
        max: t.max.map(i64::from),
    };
    let metadata = Metadata {
        labels: t.labels.clone(),
        ..named(&t.name)
    };
    document("NodeType", metadata, spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_of(text: &str) -> Model {
        let (docs, diags) =
            crate::input::read_bytes(std::path::Path::new("in.yaml"), text.as_bytes());
        assert!(diags.is_empty(), "{diags:?}");
        super::super::build(docs).unwrap_or_else(|e| panic!("{e}"))
    }

    fn without_origins(mut m: Model) -> Model {
        let o = Origin {
            file: "x".into(),
            doc: 0,
        };
        m.policy.origin = None;
        m.workloads.iter_mut().for_each(|w| w.origin = o.clone());
        m.nodes.iter_mut().for_each(|n| n.origin = o.clone());
        m.node_types.iter_mut().for_each(|t| t.origin = o.clone());
        // The fingerprint is of the documents as written (`1.5` and `1500m` differ), which a
        // round trip through the model rewrites.
        m.fingerprint.clear();
        m
    }

    #[test]
    fn round_trips_a_model_with_every_feature() {
        let text = "apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {name: a, namespace: ns}
spec: {replicas: 3, sensitivity: internal, exposure: '', tenant: t1, attributes: {team: x},
  resources: {cpu: 1500m, memory: 1Gi, example.com/widget: 0}, dedicated: true,
  maxPerNode: 1, minZones: 2, antiAffinity: [b], coLocation: [{workload: b, max: 1}],
  nodeSelector: {disk: ssd},
  nodeAffinity: [{matchExpressions: [{key: gpu, operator: NotIn, values: [t4, k80]}, {key: cores, operator: Gt, values: ['+4']}]},
    {}, {matchExpressions: [{key: arch, operator: DoesNotExist}, {key: disk, operator: Exists}, {key: cores, operator: Lt, values: ['-1']}, {key: x, operator: In, values: [y]}]}],
  tolerations: [{key: gpu, operator: Exists}, {key: dedicated, value: ci, effect: NoExecute},
    {key: spot, operator: Equal, effect: PreferNoSchedule}]}
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {name: b, namespace: ns}
spec: {sensitivity: public}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: n1, labels: {disk: ssd, topology.kubernetes.io/zone: z}}
spec: {allocatable: {cpu: 3920m, memory: 14481Mi}, cost: 0.214, unschedulable: true}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: n2}
spec: {allocatable: {cpu: 2, pods: 58}, zone: y, taints: [{key: a.io/b, effect: NoExecute}]}
---
apiVersion: tierplan/v1alpha1
kind: NodeType
metadata: {name: m6i.large-br, labels: {disk: ssd}}
spec: {instanceType: m6i.large, nodeClassRef: {group: g.io, kind: K, name: br},
  allocatable: {cpu: 1930m, memory: 6Gi}, capacity: {cpu: 2, memory: 8Gi, ephemeral-storage: 20Gi},
  cost: 0.1, zones: [b, a], max: 4}
---
apiVersion: tierplan/v1alpha1
kind: Policy
metadata: {name: p}
spec:
  nodeOverhead: {cpu: 100m}
  systemDaemonSets: [{name: cilium, resources: {cpu: 50m, memory: 300Mi}}]
  karpenter:
    nodeClassRef: {group: g.io, kind: K, name: n}
    nodeClasses: [{group: g.io, kind: K, name: br, labels: {disk: ssd, host-os: bottlerocket}}]
";
        let m = model_of(text);
        let again = model_of(&to_documents(&m).to_yaml());
        assert_eq!(without_origins(again), without_origins(m));
    }
}
