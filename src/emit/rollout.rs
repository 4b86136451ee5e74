//! `ROLLOUT.md` and `rollout/binding-warn.yaml`: the order in which to apply a plan to a
//! running cluster so that nothing breaks on the way, with the exact commands.
//!
//! The order follows from what each object does to pods already running:
//! 1. labels first: they change nothing for running pods;
//! 2. the workload patches next: pods roll onto their pool's nodes (required node affinity
//!    on the label) while those nodes are still untainted, so nothing else is locked out yet;
//! 3. admission in `[Warn, Audit]`: every pod that would be denied is reported, none denied;
//! 4. the taints: `NoSchedule` evicts nothing, it keeps new pods of other tiers away;
//! 5. the pods still on a node of another pool leave (drain), since step 4 did not evict them;
//! 6. admission `Deny` (or the Policy's choice), with the rest of `kubectl apply -k`.
//!
//! Nodes bought through Karpenter come with their label and taint from the NodePool.

use super::nodes::{LABEL_FILE, ROLLBACK_FILE, TAINT_FILE};
use super::{admission, documents, FIELD_MANAGER, POD_POOL_LABEL};
use crate::model::{Controller, Model};
use crate::plan::Plan;
use std::fmt::Write;

pub const FILE: &str = "ROLLOUT.md";
pub const WARN_BINDING_FILE: &str = "rollout/binding-warn.yaml";

/// `ROLLOUT.md` and the `[Warn, Audit]` binding of step 3, as (path, content). `buying`: the
/// files of the NodePools and headroom placeholders, in the order to apply them.
pub fn files(
    model: &Model,
    plan: &Plan,
    node_files: &[(String, String)],
    buying: &[&str],
    previous: Option<&Plan>,
) -> Vec<(String, String)> {
    let (_, mut binding) = admission::objects(model, plan);
    if let Some(spec) = binding.spec.as_mut() {
        spec.validation_actions = Some(vec!["Warn".into(), "Audit".into()]);
    }
    let has = |path: &str| node_files.iter().any(|(p, _)| p == path);
    vec![
        (
            FILE.into(),
            text(
                model,
                plan,
                has(LABEL_FILE),
                has(ROLLBACK_FILE),
                buying,
                previous,
            ),
        ),
        (
            WARN_BINDING_FILE.into(),
            format!("{WARN_HEADER}{}", documents(&[&binding])),
        ),
    ]
}

const WARN_HEADER: &str = "\
# Written by tierplan: the admission binding of ROLLOUT.md step 3. It reports, and does not
# deny, every pod that would escape its pool. admission/binding.yaml replaces it in step 6.
";

fn text(
    model: &Model,
    plan: &Plan,
    nodes: bool,
    rollback: bool,
    buying: &[&str],
    previous: Option<&Plan>,
) -> String {
    let ssa = format!("kubectl apply --server-side --field-manager={FIELD_MANAGER}");
    let mut s = String::from(
        "# Rolling out this plan\n\n\
         Written by tierplan for this plan. Run the steps in order from this directory; each \
         step is safe to repeat. Check first that the manifests prove the plan:\n\n\
         ```sh\ntierplan check INPUT... --plan ../plan.json --manifests .\n```\n\n",
    );
    s.push_str("## 1. Nodes\n\n");
    if nodes {
        let _ = write!(
            s,
            "```sh\nsh {LABEL_FILE}\n```\n\n\
             Labels change nothing for running pods. Nodes that leave every pool lose the \
             label of an earlier plan here.\n\n"
        );
    }
    if !nodes && buying.is_empty() {
        s.push_str("No node is in a pool: nothing to label.\n\n");
    }
    if !buying.is_empty() {
        s.push_str(
            "The nodes to buy come from Karpenter NodePools, which launch them labelled and \
             tainted for their pool, and placeholder pods keep their headroom nodes; apply \
             them first, so that the pods of step 2 find nodes:\n\n```sh\n",
        );
        for path in buying {
            let _ = writeln!(s, "{ssa} -f {path}");
        }
        s.push_str("```\n\n");
    }
    let _ = write!(
        s,
        "## 2. Workloads\n\n\
         Add `workloads/` as a kustomize Component of your own kustomization (see \
         `workloads/kustomization.yaml`) and apply it as you always do, then wait for each \
         rollout (Jobs and CronJobs take the patch with their next run):\n\n```sh\n"
    );
    for (namespace, name, kind) in workloads(model, plan) {
        let _ = writeln!(
            s,
            "kubectl -n {namespace} rollout status {} {name}",
            kind.to_lowercase()
        );
    }
    let _ = write!(
        s,
        "```\n\n\
         New pods require their pool's label and tolerate its taint, so they start on their \
         pool's nodes, which are not tainted yet. A pod that stays Pending means its pool \
         has no room beside the pods of other tiers still there; step 5 moves those.\n\n\
         ## 3. Admission, warning only\n\n\
         ```sh\n{ssa} -f admission/policy.yaml -f {WARN_BINDING_FILE}\n```\n\n\
         Every pod that would be denied is still admitted, and reported: as a warning to \
         whoever creates it, and in the API server's audit log under the annotation \
         `validation.policy.admission.k8s.io/validation_failure`. Clear them before step \
         6.\n\n\
         ## 4. Node taints\n\n"
    );
    if nodes {
        let _ = write!(
            s,
            "```sh\nsh {TAINT_FILE}\n```\n\n\
             `NoSchedule` evicts nothing: pods already on a node stay there.\n\n"
        );
    } else {
        s.push_str("No inventory node is in a pool: the NodePools taint what they buy.\n\n");
    }
    s.push_str("## 5. Move the pods of other tiers off each pool's nodes\n\n");
    if let Some(previous) = previous {
        s.push_str(&changes(model, &crate::diff::diff(previous, plan)));
    }
    let mut any = false;
    // Platform nodes host whatever the tiers do not: nothing has to leave them.
    for pool in plan.pools.iter().filter(|p| !p.platform) {
        let nodes: Vec<&str> = pool
            .nodes
            .iter()
            .filter(|n| model.node_index(n).is_some())
            .map(String::as_str)
            .collect();
        if nodes.is_empty() {
            continue;
        }
        any = true;
        let _ = write!(
            s,
            "Pool `{}`: the pods that do not belong, then a drain of each node (it evicts \
             through the API, so PodDisruptionBudgets hold; DaemonSet pods stay):\n\n```sh\n\
             for n in {}; do\n  kubectl get pods -A -o wide --field-selector spec.nodeName=$n \
             -l '{POD_POOL_LABEL}!={}'\ndone\n\
             for n in {}; do\n  kubectl drain $n --ignore-daemonsets --delete-emptydir-data && \
             kubectl uncordon $n\ndone\n```\n\n",
            pool.name,
            nodes.join(" "),
            pool.name,
            nodes.join(" "),
        );
    }
    if !any {
        s.push_str("No inventory node is in a pool: nothing to move.\n\n");
    }
    let _ = write!(
        s,
        "## 6. Admission, enforced\n\n\
         ```sh\n{ssa} -k .\n```\n\n\
         This applies `kustomization.yaml`: the admission policy and its binding \
         (`validationActions: {:?}`){}. Nodes are never applied from here: \
         `kubectl apply` would set their whole taint list.\n\n",
        admission::validation_actions(model),
        if buying.is_empty() {
            ""
        } else {
            ", the Karpenter NodePools and the headroom placeholders"
        },
    );
    s.push_str("## Rollback\n\n```sh\nkubectl delete validatingadmissionpolicybinding ");
    s.push_str(admission::POLICY_NAME);
    let _ = write!(
        s,
        "\nkubectl delete validatingadmissionpolicy {}\n",
        admission::POLICY_NAME
    );
    if rollback {
        let _ = writeln!(s, "sh {ROLLBACK_FILE}");
    }
    s.push_str(
        "```\n\nThen remove the `workloads/` Component from your kustomization and apply it \
         again.\n",
    );
    s
}

/// (namespace, name, controller kind) of every patched workload (platform workloads get no
/// patch) that `kubectl rollout status` follows, sorted.
fn workloads<'m>(model: &'m Model, plan: &Plan) -> Vec<(&'m str, &'m str, &'static str)> {
    let mut out: Vec<(&str, &str, &str)> = plan
        .pools
        .iter()
        .filter(|p| !p.platform)
        .flat_map(|p| &p.workloads)
        .filter_map(|id| model.workload_index(id).map(|w| &model.workloads[w]))
        .filter(|w| !matches!(w.controller, Controller::Job | Controller::CronJob))
        .map(|w| (w.namespace.as_str(), w.name.as_str(), w.controller.kind()))
        .collect();
    out.sort();
    out
}

/// Step 5's list of what changes against the plan the cluster runs now.
fn changes(model: &Model, d: &crate::diff::PlanDiff) -> String {
    let mut s = String::new();
    if d.moves.is_empty() && d.relabelled.is_empty() {
        s.push_str("Against the previous plan, no replica moves and no node changes pool.\n\n");
        return s;
    }
    if !d.relabelled.is_empty() {
        s.push_str("Against the previous plan, these nodes change pool (steps 1 and 4 relabel and retaint them):\n\n");
        for r in &d.relabelled {
            let _ = writeln!(
                s,
                "- `{}`: {} → {}",
                r.node,
                r.from.as_deref().unwrap_or("no pool"),
                r.to.as_deref().unwrap_or("no pool")
            );
        }
        s.push('\n');
    }
    if !d.moves.is_empty() {
        s.push_str("These replicas move (workload: from node → to node):\n\n");
        for m in &d.moves {
            let _ = writeln!(
                s,
                "- `{}` (pool `{}`): {} → {}",
                m.workload, m.pool, m.from, m.to
            );
        }
        s.push_str("\nA restart after step 4 lets the scheduler place them again:\n\n```sh\n");
        let moved: std::collections::BTreeSet<&str> =
            d.moves.iter().map(|m| m.workload.as_str()).collect();
        for w in moved {
            if let Some(w) = model.workload_index(w).map(|i| &model.workloads[i]) {
                if !matches!(w.controller, Controller::Job | Controller::CronJob) {
                    let _ = writeln!(
                        s,
                        "kubectl -n {} rollout restart {}/{}",
                        w.namespace,
                        w.controller.kind().to_lowercase(),
                        w.name
                    );
                }
            }
        }
        s.push_str("```\n\n");
    }
    s.push_str("Pods of other tiers can still sit on any pool node:\n\n");
    s
}
