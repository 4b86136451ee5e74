//! Kubernetes manifests that make the cluster enforce a plan: node labels and taints, patches
//! that pin each workload to its pool, an admission policy, and Karpenter NodePools.
//!
//! Owns the `manifests/` directory's layout and content. Every object is a typed k8s-openapi
//! value (or, for Karpenter, a typed struct of this module), serialised in a stable order.
//! It reads the model and the plan only; the proof in `sched` re-reads what is written here.
//!
//! Layout of `manifests/` (`kubectl kustomize manifests/` builds it):
//! - `kustomization.yaml`: the admission policy and binding, and the NodePools;
//! - `ROLLOUT.md`: the order of application, with the commands (`rollout/` holds its files);
//! - `nodes/label.sh`, `nodes/taint.sh`: `kubectl label`/`kubectl taint` of every inventory
//!   node in a pool (and of nodes leaving one); `rollback/nodes.sh` undoes them;
//! - `admission/policy.yaml`, `admission/binding.yaml`: the ValidatingAdmissionPolicy;
//! - `karpenter/<nodepool>.yaml`: the NodePools of each pool that buys nodes (catalog mode),
//!   one per node class;
//! - `headroom/`: placeholder pods that keep those pools' headroom nodes (see [`headroom`]);
//! - `workloads/`: a kustomize Component of strategic-merge patches, one per planned
//!   workload, in a file per namespace (`workloads/namespaces/<namespace>.yaml`), to layer
//!   onto the user's own manifests.

pub mod admission;
pub mod headroom;

/// Node label naming a node's pool. Under `node-restriction.kubernetes.io/` so that the
/// NodeRestriction admission plugin keeps a node's kubelet from relabelling it.
pub const POOL_LABEL: &str = "node-restriction.kubernetes.io/tierplan-pool";
/// Taint key of a pool's nodes (value: the pool name, effect: `NoSchedule`).
pub const POOL_TAINT_KEY: &str = "node-restriction.kubernetes.io/tierplan-pool";
/// Pod-template label naming the pool a workload's pods belong to (read by the admission
/// policy).
pub const POD_POOL_LABEL: &str = "tierplan.io/pool";
/// Field manager for server-side apply of the admission objects and NodePools, and of the
/// node labels and taints `tierplan apply` sets.
pub const FIELD_MANAGER: &str = "tierplan";

mod karpenter;
mod nodes;
mod rollout;
mod workloads;

pub use karpenter::NodePool;
pub use nodes::{pool_by_node, pool_taint};
pub use workloads::{PodSpecPatch, PodTemplatePatch, WorkloadPatch};

use crate::model::{names, Model};
use crate::plan::{Plan, Pool, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Pod-template label naming the workload (`<namespace>.<name>`), which pod anti-affinity and
/// topology spread select on: a workload's own manifests need not carry any label tierplan
/// could rely on.
pub const WORKLOAD_LABEL: &str = "tierplan.io/workload";

/// Why manifests cannot be emitted. Input strings that would make an invalid name or label
/// are refused, never rewritten: a rewrite could make two names collide.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("the plan is infeasible; manifests are written only for plans that place every replica and meet every pool rule")]
    /// The plan leaves replicas unplaced or pool rules unmet.
    Infeasible,
    #[error("{what} `{value}` is not valid: {problem}")]
    /// A name the manifests would carry is not a valid Kubernetes name or label value.
    InvalidName {
        /// What the name is of (`pool name`, `namespace`, …).
        what: &'static str,
        /// The name.
        value: String,
        /// Why it is not valid.
        problem: String,
    },
    #[error("workload `{workload}`: {problem}")]
    /// A workload cannot be patched as the plan says.
    Workload {
        /// The workload's `namespace/name`.
        workload: String,
        /// What is wrong.
        problem: String,
    },
    #[error("pool `{pool}`: {problem}")]
    /// A pool cannot be enforced as the plan says.
    Pool {
        /// The pool's name.
        pool: String,
        /// What is wrong.
        problem: String,
    },
}

/// Every file of `manifests/`: (path relative to `manifests/`, content), sorted by path. The
/// same model and plan always give the same bytes.
pub fn manifests(model: &Model, plan: &Plan) -> Result<Vec<(String, String)>, EmitError> {
    manifests_after(model, plan, None)
}

/// [`manifests`], with `ROLLOUT.md` also listing what changes against `previous`, the plan
/// the cluster runs now: the replicas that move and the nodes that change pool.
pub fn manifests_after(
    model: &Model,
    plan: &Plan,
    previous: Option<&Plan>,
) -> Result<Vec<(String, String)>, EmitError> {
    if plan.status == Status::Infeasible {
        return Err(EmitError::Infeasible);
    }
    for pool in &plan.pools {
        check_name("pool name", &pool.name, names::dns_label_problem)?;
    }
    let mut files: Vec<(String, String)> = Vec::new();
    let mut resources: Vec<String> = Vec::new();
    let node_files = nodes::files(model, plan)?;
    let buying: Vec<(String, String)> = karpenter::files(model, plan)?
        .into_iter()
        .chain(headroom::files(model, plan)?)
        .collect();
    let buying_paths: Vec<&str> = buying.iter().map(|(p, _)| p.as_str()).collect();
    files.extend(rollout::files(
        model,
        plan,
        &node_files,
        &buying_paths,
        previous,
    ));
    files.extend(node_files);
    let (policy, binding) = admission::objects(model, plan);
    files.push(("admission/policy.yaml".into(), documents(&[&policy])));
    files.push(("admission/binding.yaml".into(), documents(&[&binding])));
    resources.push("admission/policy.yaml".into());
    resources.push("admission/binding.yaml".into());
    for (path, text) in buying {
        resources.push(path.clone());
        files.push((path, text));
    }
    files.extend(workloads::files(model, plan)?);
    let kustomization = Kustomization {
        api_version: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources,
        patches: Vec::new(),
    };
    files.push((
        "kustomization.yaml".into(),
        format!("{KUSTOMIZATION_HEADER}{}", documents(&[&kustomization])),
    ));
    files.sort();
    Ok(files)
}

const KUSTOMIZATION_HEADER: &str = "\
# Written by tierplan. The cluster-wide objects that enforce the plan: the admission policy,
# the Karpenter NodePools for the nodes to buy, and the placeholders that keep their headroom
# (headroom/). Apply them last (ROLLOUT.md, step 6).
# Node labels and taints are set by nodes/*.sh, never by apply; the workload patches in
# workloads/ are a kustomize Component to layer onto your own manifests.
";

/// A kustomization file (`Kustomization` or `Component`); only the fields tierplan writes.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    api_version: &'static str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    patches: Vec<PatchRef>,
}

#[derive(Debug, Serialize, Deserialize)]
struct PatchRef {
    path: String,
}

/// YAML documents separated by `---`, each serialised in the types' own field order (maps are
/// sorted), so that output is stable.
fn documents<T: Serialize>(docs: &[&T]) -> String {
    docs.iter()
        .map(|d| serde_yaml::to_string(d).expect("manifest objects always serialise"))
        .collect::<Vec<_>>()
        .join("---\n")
}

fn check_name(
    what: &'static str,
    value: &str,
    rule: fn(&str) -> Option<String>,
) -> Result<(), EmitError> {
    match rule(value) {
        Some(problem) => Err(EmitError::InvalidName {
            what,
            value: value.to_string(),
            problem,
        }),
        None => Ok(()),
    }
}

/// The pool hosting each workload of the plan (the first, should a plan list one twice).
fn pools_by_workload(plan: &Plan) -> BTreeMap<&str, &Pool> {
    let mut out = BTreeMap::new();
    for p in &plan.pools {
        for w in &p.workloads {
            out.entry(w.as_str()).or_insert(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Bought, Objective};
    use crate::testing::{model, node, policy, workload};

    fn plan(pools: Vec<Pool>) -> Plan {
        Plan {
            api_version: "tierplan/v1alpha1".into(),
            kind: "Plan".into(),
            status: Status::Feasible,
            infeasibility: None,
            explanation: None,
            objective: Objective {
                cost: 1.0,
                nodes: 1,
                lower_bound: 1.0,
                gap: Some(0.0),
                disruption: None,
            },
            pools,
            placements: Vec::new(),
            unplaced: Vec::new(),
            unmet: Vec::new(),
            unused_nodes: Vec::new(),
            inputs: None,
        }
    }

    fn pool(name: &str, workloads: &[&str], nodes: &[&str], node_types: Vec<Bought>) -> Pool {
        Pool {
            name: name.into(),
            classes: Vec::new(),
            workloads: workloads.iter().map(|w| w.to_string()).collect(),
            nodes: nodes.iter().map(|n| n.to_string()).collect(),
            platform: false,
            node_types,
        }
    }

    fn file<'f>(files: &'f [(String, String)], path: &str) -> &'f str {
        &files.iter().find(|(p, _)| p == path).expect(path).1
    }

    /// The patch of `default/<name>`, a document of the namespace's patch file.
    fn patch_of(files: &[(String, String)], name: &str) -> WorkloadPatch {
        let text = file(files, "workloads/namespaces/default.yaml");
        serde_yaml::Deserializer::from_str(text)
            .map(|doc| WorkloadPatch::deserialize(doc).unwrap())
            .find(|p| p.metadata.name.as_deref() == Some(name))
            .expect(name)
    }

    #[test]
    fn node_scripts_set_the_pool_and_clear_stale_labels_and_taints() {
        let stale = "{key: node-restriction.kubernetes.io/tierplan-pool, value: pool-9, effect: NoSchedule}";
        let m = model(&[
            &workload("gpu", "sensitivity: public, nodeSelector: {gpu: 'yes'}, tolerations: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]"),
            &node(
                "n1",
                "gpu: 'yes'",
                &format!("allocatable: {{cpu: 4}}, taints: [{{key: nvidia.com/gpu, value: present, effect: NoSchedule}}, {stale}]"),
            ),
            // Left its pool: an earlier plan's label and taint must go.
            &node(
                "n2",
                "node-restriction.kubernetes.io/tierplan-pool: pool-9",
                &format!("allocatable: {{cpu: 4}}, taints: [{stale}]"),
            ),
            // Never in a pool: no command at all.
            &node("n3", "", "allocatable: {cpu: 4}"),
        ]);
        let p = plan(vec![pool("pool-1", &["default/gpu"], &["n1"], Vec::new())]);
        let files = manifests(&m, &p).unwrap();
        let commands = |path| -> Vec<&str> {
            file(&files, path)
                .lines()
                .filter(|l| l.starts_with("kubectl"))
                .collect()
        };
        assert_eq!(
            commands("nodes/label.sh"),
            [
                "kubectl label node n1 node-restriction.kubernetes.io/tierplan-pool=pool-1 --overwrite",
                "kubectl label node n2 node-restriction.kubernetes.io/tierplan-pool-",
            ]
        );
        // `--overwrite` replaces n1's stale NoSchedule pool taint; the GPU taint is not named.
        assert_eq!(
            commands("nodes/taint.sh"),
            [
                "kubectl taint node n1 node-restriction.kubernetes.io/tierplan-pool=pool-1:NoSchedule --overwrite",
                "kubectl taint node n2 node-restriction.kubernetes.io/tierplan-pool- || true",
            ]
        );
        assert_eq!(
            commands("rollback/nodes.sh"),
            [
                "kubectl taint node n1 node-restriction.kubernetes.io/tierplan-pool- || true",
                "kubectl label node n1 node-restriction.kubernetes.io/tierplan-pool-",
            ]
        );
        assert!(file(&files, "nodes/taint.sh").contains("\nset -eu\n"));
        assert!(!file(&files, "rollback/nodes.sh").contains("set -e"));
        // Nodes are never applied through the kustomization.
        assert!(!file(&files, "kustomization.yaml").contains("- nodes"));
        let rollout = file(&files, "ROLLOUT.md");
        let order: Vec<usize> = [
            "sh nodes/label.sh",
            "rollout status deployment gpu",
            "binding-warn.yaml",
            "sh nodes/taint.sh",
            "kubectl drain $n",
            "-k .",
        ]
        .iter()
        .map(|s| {
            rollout
                .find(s)
                .unwrap_or_else(|| panic!("{s} in {rollout}"))
        })
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{rollout}");
        let warn: k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding =
            serde_yaml::from_str(file(&files, "rollout/binding-warn.yaml")).unwrap();
        assert_eq!(
            warn.spec.unwrap().validation_actions.unwrap(),
            ["Warn", "Audit"]
        );
        let patch = patch_of(&files, "gpu");
        let tolerations = &patch.pod_template().unwrap().spec.tolerations;
        assert_eq!(tolerations.len(), 2);
        assert_eq!(tolerations[1].key.as_deref(), Some("nvidia.com/gpu"));
        assert_eq!(tolerations[1].value.as_deref(), Some("present"));
    }

    #[test]
    fn patches_are_a_file_per_namespace_with_a_document_per_workload() {
        let w = |ns: &str, name: &str| {
            format!("apiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{sensitivity: public}}")
        };
        // A namespace named like the Component's own file cannot take its place.
        let m = model(&[
            &w("shop", "web"),
            &w("shop", "db"),
            &w("kustomization", "x"),
            &node("n1", "", ""),
        ]);
        let p = plan(vec![pool(
            "pool-1",
            &["kustomization/x", "shop/db", "shop/web"],
            &["n1"],
            Vec::new(),
        )]);
        let files = manifests(&m, &p).unwrap();
        let paths: Vec<&str> = files
            .iter()
            .map(|(p, _)| p.as_str())
            .filter(|p| p.starts_with("workloads/"))
            .collect();
        assert_eq!(
            paths,
            [
                "workloads/kustomization.yaml",
                "workloads/namespaces/kustomization.yaml",
                "workloads/namespaces/shop.yaml",
            ]
        );
        assert!(file(&files, "workloads/kustomization.yaml").contains(
            "patches:\n- path: namespaces/kustomization.yaml\n- path: namespaces/shop.yaml\n"
        ));
        let names: Vec<String> =
            serde_yaml::Deserializer::from_str(file(&files, "workloads/namespaces/shop.yaml"))
                .map(|doc| {
                    WorkloadPatch::deserialize(doc)
                        .unwrap()
                        .metadata
                        .name
                        .unwrap()
                })
                .collect();
        assert_eq!(names, ["db", "web"]);
    }

    #[test]
    fn controllers_get_their_pod_template_patched() {
        let m = model(&[
            &policy("systemDaemonSets: [{name: cni, resources: {cpu: 10m}}]"),
            &workload(
                "nightly",
                "sensitivity: public, controller: CronJob, minZones: 2, replicas: 5",
            ),
            &workload(
                "agent",
                "sensitivity: public, controller: DaemonSet, maxPerNode: 1",
            ),
            &node("n1", "", ""),
        ]);
        let p = plan(vec![pool(
            "pool-1",
            &["default/agent", "default/nightly"],
            &["n1"],
            Vec::new(),
        )]);
        let files = manifests(&m, &p).unwrap();
        let cron = patch_of(&files, "nightly");
        assert_eq!(
            (cron.api_version.as_str(), cron.kind.as_str()),
            ("batch/v1", "CronJob")
        );
        let spec = &cron.spec.job_template.as_ref().unwrap().spec.template.spec;
        // 5 replicas in at least 2 zones: any single zone may hold at most 4.
        assert_eq!(spec.topology_spread_constraints[0].max_skew, 4);
        assert_eq!(spec.topology_spread_constraints[0].min_domains, Some(2));
        let daemon = patch_of(&files, "agent");
        let spec = &daemon.pod_template().unwrap().spec;
        assert_eq!(
            spec.node_selector
                .as_ref()
                .unwrap()
                .get(POOL_LABEL)
                .map(String::as_str),
            Some("pool-1")
        );
        assert!(spec.affinity.is_none());
        // A system DaemonSet keeps its own tolerations: no patch narrows them.
        assert!(!files.iter().any(|(p, _)| p.contains("kube-system")));
        assert!(file(&files, "NOTES.txt").contains("kube-system/cni"));
    }

    #[test]
    fn refuses_a_workload_label_longer_than_a_label_value() {
        let long = "w".repeat(60);
        let m = model(&[&workload(&long, "sensitivity: public"), &node("n1", "", "")]);
        let p = plan(vec![pool(
            "pool-1",
            &[&format!("default/{long}")],
            &["n1"],
            Vec::new(),
        )]);
        assert!(matches!(
            manifests(&m, &p),
            Err(EmitError::InvalidName {
                what: "workload label value",
                ..
            })
        ));
        let p = plan(vec![pool(
            "Pool_1",
            &[&format!("default/{long}")],
            &["n1"],
            Vec::new(),
        )]);
        assert!(matches!(
            manifests(&m, &p),
            Err(EmitError::InvalidName {
                what: "pool name",
                ..
            })
        ));
    }

    #[test]
    fn node_pools_buy_the_planned_types_and_zones_up_to_their_capacity() {
        let m = model(&[
            &policy("nodeRequirements: [{match: {sensitivity: [restricted]}, nodeSelector: {tierplan.io/host-os: bottlerocket}}], karpenter: {nodeClasses: [{group: karpenter.k8s.aws, kind: EC2NodeClass, name: bottlerocket, labels: {tierplan.io/host-os: bottlerocket}}]}"),
            &workload("vault", "sensitivity: restricted"),
            "apiVersion: tierplan/v1alpha1\nkind: NodeType\nmetadata: {name: m5.large-br}\nspec: {instanceType: m5.large, nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: bottlerocket}, allocatable: {cpu: 1930m, memory: 7Gi, pods: 29}, capacity: {cpu: 2, memory: 8Gi}, cost: 0.1, zones: [a, b]}",
        ]);
        let bought = |zone: &str, count| Bought {
            node_type: "m5.large-br".into(),
            zone: zone.into(),
            count,
        };
        let p = plan(vec![pool(
            "pool-1",
            &["default/vault"],
            &[
                "pool-1-m5.large-br-1",
                "pool-1-m5.large-br-2",
                "pool-1-m5.large-br-3",
            ],
            vec![bought("a", 2), bought("b", 1)],
        )]);
        let files = manifests(&m, &p).unwrap();
        assert!(!files.iter().any(|(p, _)| p.starts_with("nodes/")));
        let np: NodePool = serde_yaml::from_str(file(&files, "karpenter/pool-1.yaml")).unwrap();
        // Karpenter counts capacity against limits: 3 × 2 vCPUs, not 3 × 1930m.
        assert_eq!(np.spec.limits["cpu"], "6000m");
        assert_eq!(np.spec.limits["memory"], (3u64 * 8 * (1 << 30)).to_string());
        let template = &np.spec.template;
        assert_eq!(template.spec.node_class_ref.name, "bottlerocket");
        // The host OS is the node class's to guarantee: a template label, not a requirement.
        assert_eq!(
            template
                .metadata
                .labels
                .get("tierplan.io/host-os")
                .map(String::as_str),
            Some("bottlerocket")
        );
        let reqs: Vec<(&str, Vec<&str>)> = template
            .spec
            .requirements
            .iter()
            .map(|r| {
                (
                    r.key.as_str(),
                    r.values.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            reqs,
            [
                ("node.kubernetes.io/instance-type", vec!["m5.large"]),
                ("topology.kubernetes.io/zone", vec!["a", "b"]),
            ]
        );
        assert!(file(&files, "kustomization.yaml").contains("- karpenter/pool-1.yaml"));
    }
}
