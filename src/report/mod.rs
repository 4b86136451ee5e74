//! The human summary printed after planning: pools, nodes, utilisation, cost, bound, gap,
//! the disruption against a previous plan, the namespaces spread over several pools and the
//! Policy `pools` entries spread over several pools; and the warning about an admission
//! policy that only warns.
//!
//! Owns presentation only; everything it shows is read from the model, the plan and the
//! solver's statistics. The figures both the terminal summary and the HTML page show (status,
//! cost, utilisation per pool and per node, unplaced replicas grouped by workload) are
//! computed here once; [`html`] lays the same figures out as a page (`plan --report`).

pub mod html;

use crate::boundary;
use crate::model::{cost_from_micros, Enforcement, Model};
use crate::plan::{Plan, Status, PLATFORM_POOL};
use crate::quantity::{display, MAX_AMOUNT};
use crate::solve::Stats;
use std::fmt::Write;

/// Hours in the month cloud price lists quote (365 × 24 / 12, rounded), as AWS's does.
pub(crate) const HOURS_PER_MONTH: f64 = 730.0;

/// `model` with the nodes `plan` buys added, so that bought nodes read like inventory ones.
/// A plan that misuses the catalog (unknown types, taken names) is reported by `check`; here
/// its nodes of unknown types are left out.
pub(crate) fn with_bought_nodes(model: &Model, plan: &Plan) -> Model {
    let bought = plan
        .pools
        .iter()
        .flat_map(|p| p.bought_nodes())
        .filter_map(|b| {
            let t = model.node_type_index(b.node_type)?;
            Some(model.node_types[t].node(b.name, b.zone))
        })
        .collect();
    model.with_nodes(bought).0
}

/// The first line of the summary: what was planned, on what.
pub(crate) fn headline(model: &Model, plan: &Plan) -> String {
    let mut s = String::new();
    let inventory = model.nodes.len();
    let catalog = model.node_types.len();
    let model = &with_bought_nodes(model, plan);
    let _ = write!(
        s,
        "tierplan: {} workloads ({} replicas) on an inventory of {inventory} nodes",
        model.workloads.len(),
        model.total_replicas(),
    );
    if catalog > 0 {
        let _ = write!(s, " and a catalog of {catalog} node types");
    }
    s
}

/// `optimal`, `feasible` or `INFEASIBLE`.
pub(crate) fn status_word(status: Status) -> &'static str {
    match status {
        Status::Optimal => "optimal",
        Status::Feasible => "feasible",
        Status::Infeasible => "INFEASIBLE",
    }
}

/// `status: optimal; cost …/h on … nodes (… per month of 730 h); lower bound … (gap …)`.
pub(crate) fn status_line(plan: &Plan) -> String {
    let mut s = String::new();
    let o = &plan.objective;
    let _ = write!(
        s,
        "status: {}; cost {:.4}/h on {} nodes ({:.2} per month of {HOURS_PER_MONTH} h); lower bound {:.4}",
        status_word(plan.status),
        o.cost,
        o.nodes,
        o.cost * HOURS_PER_MONTH,
        o.lower_bound
    );
    match (plan.status, o.gap) {
        (Status::Optimal, _) => s.push_str(" (gap 0: proven optimal)"),
        (_, Some(g)) => {
            let _ = write!(s, " (gap {:.2}%: optimality not proven)", g * 100.0);
        }
        (_, None) => {
            if let Some(i) = &plan.infeasibility {
                let _ = write!(s, " ({i})");
            }
        }
    }
    s
}

/// Replicas placed per workload (model order), counted once for every pool's utilisation.
pub(crate) fn placed(model: &Model, plan: &Plan) -> Vec<u64> {
    let mut placed = vec![0u64; model.workloads.len()];
    for p in &plan.placements {
        if let Some(w) = model.workload_index(&p.workload) {
            placed[w] += 1;
        }
    }
    placed
}

/// The cost per hour of `nodes` (model indices).
pub(crate) fn pool_cost(model: &Model, nodes: &[usize]) -> f64 {
    cost_from_micros(nodes.iter().map(|&n| model.nodes[n].cost_micros).sum())
}

/// The unplaced replicas of one workload and why (the reasons of its first replica; a
/// workload's replicas share them).
pub(crate) struct UnplacedGroup<'p> {
    pub workload: &'p str,
    pub replicas: usize,
    pub reasons: &'p [String],
}

/// `plan.unplaced` grouped by workload, in plan order.
pub(crate) fn unplaced_groups(plan: &Plan) -> Vec<UnplacedGroup<'_>> {
    let mut groups: Vec<UnplacedGroup<'_>> = Vec::new();
    for u in &plan.unplaced {
        match groups.iter_mut().find(|g| g.workload == u.workload) {
            Some(g) => g.replicas += 1,
            None => groups.push(UnplacedGroup {
                workload: &u.workload,
                replicas: 1,
                reasons: &u.reasons,
            }),
        }
    }
    groups
}

/// Unplaced workloads listed one by one in the summary; more are grouped by reason.
const LISTED_UNPLACED: usize = 10;

/// `groups` by reason, each reason once, in order of first appearance. The reasons' own
/// request figures (`; each replica requests …`) are left out of the key, so that workloads
/// short of room for the same cause group together; plan.json keeps each reason whole.
fn by_reason<'g, 'p>(
    groups: &'g [UnplacedGroup<'p>],
) -> Vec<(&'p str, Vec<&'g UnplacedGroup<'p>>)> {
    let mut out: Vec<(&str, Vec<&UnplacedGroup<'_>>)> = Vec::new();
    for g in groups {
        for r in g.reasons {
            let key = r
                .split_once("; each replica requests")
                .map_or(r.as_str(), |(k, _)| k);
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some((_, of)) => of.push(g),
                None => out.push((key, vec![g])),
            }
        }
    }
    out
}

/// The Policy `pools` entries whose classes the plan spreads over several pools, one finding
/// each.
pub(crate) fn split_entry_findings(model: &Model, plan: &Plan) -> Vec<String> {
    crate::naming::split_entries(model, plan)
        .into_iter()
        .map(|(name, pools)| format!(
            "Policy pools entry `{name}` matches classes of {} pools ({}): one name labels one pool, so the others are named otherwise; give their classes entries of their own",
            pools.len(),
            pools.join(", ")
        ))
        .collect()
}

/// The summary of `plan` for a terminal.
pub fn summary(model: &Model, plan: &Plan, stats: Option<&Stats>) -> String {
    let mut s = headline(model, plan);
    s.push('\n');
    let model = &with_bought_nodes(model, plan);
    let placed = placed(model, plan);
    let _ = writeln!(s, "{}", status_line(plan));
    let o = &plan.objective;
    if let Some(d) = &o.disruption {
        let _ = writeln!(
            s,
            "against the previous plan: {} replicas moved, {} nodes relabelled",
            d.moved_replicas, d.relabelled_nodes
        );
    }
    for pool in &plan.pools {
        let nodes = pool_nodes(model, pool);
        let _ = writeln!(
            s,
            "\n{}: {} node(s), cost {:.4}/h, {} workload(s)",
            pool.name,
            nodes.len(),
            pool_cost(model, &nodes),
            pool.workloads.len()
        );
        for class in &pool.classes {
            let _ = writeln!(s, "  class {class}");
        }
        for b in &pool.node_types {
            let _ = writeln!(s, "  buy {} x {} in {}", b.count, b.node_type, b.zone);
        }
        let _ = writeln!(
            s,
            "  utilisation: {}",
            utilisation(model, &placed, &pool.workloads, &nodes)
        );
    }
    s.push_str(&unplanned_home(model, plan));
    if !plan.unplaced.is_empty() {
        let groups = unplaced_groups(plan);
        if groups.len() <= LISTED_UNPLACED {
            let _ = writeln!(s, "\nunplaced replicas: {}", plan.unplaced.len());
            for g in groups {
                let _ = writeln!(s, "  {} ({} replica(s)):", g.workload, g.replicas);
                for r in g.reasons {
                    let _ = writeln!(s, "    - {r}");
                }
            }
        } else {
            let _ = writeln!(
                s,
                "\nunplaced replicas: {} of {} workloads, by reason (plan.json `unplaced` has each):",
                plan.unplaced.len(),
                groups.len()
            );
            for (reason, of) in by_reason(&groups) {
                let replicas: usize = of.iter().map(|g| g.replicas).sum();
                let mut names: Vec<&str> = of.iter().map(|g| g.workload).take(3).collect();
                let more = format!("{} more", of.len().saturating_sub(3));
                if of.len() > 3 {
                    names.push(&more);
                }
                let _ = writeln!(
                    s,
                    "  - {reason}: {} workload(s), {replicas} replica(s): {}",
                    of.len(),
                    names.join(", ")
                );
            }
        }
    }
    for u in &plan.unmet {
        let _ = writeln!(s, "\nunmet {} in {}: {}", u.rule, u.pool, u.reason);
    }
    for line in split_entry_findings(model, plan) {
        let _ = writeln!(s, "\n{line}");
    }
    s.push_str(&boundaries(model, plan));
    if let Some(st) = stats {
        if st.stopped_by_time {
            let _ = writeln!(s, "note: --time-limit cut the search; the plan is the best found so far and may differ between runs");
        }
    }
    s
}

/// Where the pods the plan does not cover (CoreDNS, metrics-server, ingress controllers, the
/// autoscaler, ...) can run: the platform pool when the input declares platform workloads,
/// and then nodes in no pool are free; otherwise only the nodes in no pool without a taint
/// of their own, which are then not free to decommission.
pub(crate) fn unplanned_home(model: &Model, plan: &Plan) -> String {
    let mut s = String::new();
    let unused = &plan.unused_nodes;
    if model.workloads.iter().any(|w| w.platform) {
        if !unused.is_empty() {
            let _ = writeln!(
                s,
                "\nunused nodes ({}), free to decommission (pool {PLATFORM_POOL} holds the platform workloads): {}",
                unused.len(),
                list(unused, 12)
            );
        }
        return s;
    }
    // A node's own NoSchedule or NoExecute taint keeps unplanned pods off it as well.
    let open: Vec<usize> = unused
        .iter()
        .filter_map(|n| model.node_index(n))
        .filter(|&n| {
            model.nodes[n]
                .taints
                .iter()
                .all(|t| t.effect == "PreferNoSchedule")
        })
        .collect();
    let _ = write!(
        s,
        "\nno platform workloads declared: pods the plan does not cover (CoreDNS, metrics-server, \
         ingress controllers, the autoscaler, anything in a namespace without planned workloads) \
         can run only on nodes without a pool taint: "
    );
    if open.is_empty() {
        let _ = writeln!(s, "none, so they will stay pending");
    } else {
        let names: Vec<String> = open.iter().map(|&n| model.nodes[n].name.clone()).collect();
        let mut capacity = Vec::new();
        for (r, name) in model.resources.iter().enumerate() {
            let total: u128 = open
                .iter()
                .filter_map(|&n| model.nodes[n].allocatable[r])
                .filter(|&a| a < MAX_AMOUNT)
                .map(|a| u128::from(a.saturating_sub(model.policy.node_overhead[r])))
                .sum();
            if total > 0 && matches!(name.as_str(), "cpu" | "memory") {
                capacity.push(format!(
                    "{name} {}",
                    display(name, total.min(u128::from(u64::MAX)) as u64)
                ));
            }
        }
        let _ = writeln!(
            s,
            "{} node(s) ({} after overhead), not free to decommission: {}",
            open.len(),
            if capacity.is_empty() {
                "no cpu or memory".to_string()
            } else {
                capacity.join(", ")
            },
            list(&names, 12)
        );
        let taken = unused.len() - open.len();
        if taken > 0 {
            let _ = writeln!(
                s,
                "  {taken} more unused node(s) carry a taint of their own that keeps those pods off"
            );
        }
    }
    let _ = writeln!(
        s,
        "  to reserve capacity for them, declare them as Workloads with `platform: true`"
    );
    s
}

/// The namespaces the plan spreads over several pools, as findings; empty when none does.
fn boundaries(model: &Model, plan: &Plan) -> String {
    let spans = boundary::namespace_spans(model, plan);
    if spans.is_empty() {
        return String::new();
    }
    let mut s = format!("\nfinding: {}:\n", boundary_finding(model, &spans));
    for span in &spans {
        let _ = writeln!(s, "  - {span}");
    }
    let _ = writeln!(s, "  {BOUNDARY_ADVICE}");
    s
}

/// `2 namespace(s) span several pools (namespaceBoundary: warn). Kubernetes grants …`
pub(crate) fn boundary_finding(model: &Model, spans: &[boundary::NamespaceSpan]) -> String {
    format!(
        "{} namespace(s) span several pools (namespaceBoundary: {}). {}",
        spans.len(),
        model.policy.namespace_boundary.as_str(),
        boundary::MEANING
    )
}

/// What to do about namespaces that span pools.
pub(crate) const BOUNDARY_ADVICE: &str = "to keep those pools apart, give the workloads of each pool a namespace of their own; namespaceBoundary: deny refuses such plans";

/// Kinds of DaemonSet that tolerate every taint, with real examples: what an admission policy
/// without `systemDaemonSets` denies.
const TOLERATE_EVERYTHING: &str = "the CNI (aws-node, calico-node, kube-flannel-ds), kube-proxy, \
CSI node plugins (ebs-csi-node) and log, monitoring and security agents (fluent-bit, \
node-exporter)";

/// A warning when workloads ask for `minZones` and some inventory nodes have no zone: such a
/// node counts for no zone, which is easy to miss in a node list taken from a cluster.
pub fn zone_warning(model: &Model) -> Option<String> {
    if !model
        .workloads
        .iter()
        .any(|w| w.min_zones.is_some_and(|z| z > 1))
    {
        return None;
    }
    let zoneless: Vec<&str> = model
        .nodes
        .iter()
        .filter(|n| n.zone.is_none())
        .map(|n| n.name.as_str())
        .collect();
    let first = zoneless.first()?;
    Some(format!(
        "warning: {} node(s) have no zone ({first}{}) while workloads ask for minZones: they count for no zone\n  fix: give each node `topology.kubernetes.io/zone` in metadata.labels (or spec.zone), as the cluster labels it",
        zoneless.len(),
        if zoneless.len() > 1 { ", ..." } else { "" },
    ))
}

/// What `plan` must say about how the admission policy is bound, or `None` when it is bound
/// with `Deny` and the system DaemonSets are listed.
pub fn admission_warning(model: &Model) -> Option<String> {
    let p = &model.policy;
    let policy = match &p.origin {
        Some(origin) => format!("the Policy ({origin})"),
        None => "the input (no Policy document)".to_string(),
    };
    match (p.system_daemon_sets.is_empty(), p.admission) {
        (true, Enforcement::Warn) => Some(format!(
            "WARNING: {policy} lists no systemDaemonSets, and the admission policy denies the \
             pods of every DaemonSet that tolerates every taint unless it is listed: \
             {TOLERATE_EVERYTHING}. Without its CNI a new node never gets networking. So \
             admission/binding.yaml binds the policy with validationActions [Warn, Audit]: pods \
             that escape their pool are only warned about and audited, NOT denied.\n  fix: \
             list those DaemonSets (`kubectl get daemonsets -A` shows them) under \
             spec.systemDaemonSets, or set spec.admission: deny if none of yours tolerates \
             every taint"
        )),
        (true, Enforcement::Deny) => Some(format!(
            "WARNING: {policy} lists no systemDaemonSets and sets admission: deny, so the \
             admission policy denies new pods of every DaemonSet that tolerates every taint: \
             {TOLERATE_EVERYTHING}. Check `kubectl get daemonsets -A` before applying \
             admission/"
        )),
        (false, Enforcement::Warn) => Some(format!(
            "note: {policy} sets admission: warn, so admission/binding.yaml binds the policy \
             with validationActions [Warn, Audit]: pods that escape their pool are warned about \
             and audited, not denied; set admission: deny (the default) to enforce it"
        )),
        (false, Enforcement::Deny) => None,
    }
}

/// One resource's use against its capacity: requests plus overhead over allocatable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Index into `model.resources`.
    pub resource: usize,
    pub used: u128,
    pub capacity: u128,
}

impl Usage {
    /// Percent of the capacity used.
    pub fn percent(&self) -> f64 {
        self.used as f64 * 100.0 / self.capacity as f64
    }

    /// The amount used, in the resource's unit (`2.5`, `12.0Gi`).
    pub fn amount(&self, model: &Model, of: u128) -> String {
        let name = &model.resources[self.resource];
        display(name, of.min(u64::MAX as u128) as u64).to_string()
    }
}

/// Allocatable of `node` for resource `r`, when finite (`pods` undeclared is unlimited).
fn capacity(model: &Model, node: usize, r: usize) -> Option<u128> {
    model.nodes[node].allocatable[r]
        .filter(|&a| a < MAX_AMOUNT)
        .map(u128::from)
}

/// Per resource the pool requests and has capacity for: its workloads' requests (times the
/// replicas placed) plus overhead on each of `nodes`, over their allocatable.
pub(crate) fn pool_usage(
    model: &Model,
    placed: &[u64],
    workloads: &[String],
    nodes: &[usize],
) -> Vec<Usage> {
    let workloads: Vec<usize> = workloads
        .iter()
        .filter_map(|id| model.workload_index(id))
        .collect();
    let mut usage = Vec::new();
    for r in 0..model.resources.len() {
        let capacity: u128 = nodes.iter().filter_map(|&n| capacity(model, n, r)).sum();
        let requested: u128 = workloads
            .iter()
            .map(|&w| model.workloads[w].requests[r] as u128 * placed[w] as u128)
            .sum();
        if requested == 0 || capacity == 0 {
            continue;
        }
        let used = requested + model.policy.node_overhead[r] as u128 * nodes.len() as u128;
        usage.push(Usage {
            resource: r,
            used,
            capacity,
        });
    }
    usage
}

/// Requests placed on each node (model indices of `model`, bought nodes included), per
/// resource, without overhead.
pub(crate) fn node_requests(model: &Model, plan: &Plan) -> Vec<Vec<u128>> {
    let mut load = vec![vec![0u128; model.resources.len()]; model.nodes.len()];
    for p in &plan.placements {
        if let (Some(w), Some(n)) = (model.workload_index(&p.workload), model.node_index(&p.node)) {
            for (r, &q) in model.workloads[w].requests.iter().enumerate() {
                load[n][r] += u128::from(q);
            }
        }
    }
    load
}

/// The use of resource `r` on `node`: its requests plus overhead over its allocatable; `None`
/// when its allocatable is not finite.
pub(crate) fn node_usage(
    model: &Model,
    requests: &[Vec<u128>],
    node: usize,
    r: usize,
) -> Option<Usage> {
    let capacity = capacity(model, node, r).filter(|&c| c > 0)?;
    Some(Usage {
        resource: r,
        used: requests[node][r] + u128::from(model.policy.node_overhead[r]),
        capacity,
    })
}

/// `cpu 63% (2.5), memory 41% (6.0Gi)`: requests plus overhead over allocatable, per resource used.
fn utilisation(model: &Model, placed: &[u64], workloads: &[String], nodes: &[usize]) -> String {
    let parts: Vec<String> = pool_usage(model, placed, workloads, nodes)
        .iter()
        .map(|u| {
            format!(
                "{} {:.0}% ({})",
                model.resources[u.resource],
                u.percent(),
                u.amount(model, u.used)
            )
        })
        .collect();
    if parts.is_empty() {
        "no requests".to_string()
    } else {
        parts.join(", ")
    }
}

fn list(names: &[String], max: usize) -> String {
    let mut s = names
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > max {
        let _ = write!(s, ", … {} more", names.len() - max);
    }
    s
}

/// `plan --output json`: the summary as one JSON object, for scripts. Its fields are those
/// of plan.json's objective and pools, plus the cost per month, the files written and the
/// counts a script checks first; it is not versioned apart from the binary.
pub fn summary_json(model: &Model, plan: &Plan, written: &[String]) -> String {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Summary<'a> {
        status: Status,
        #[serde(skip_serializing_if = "Option::is_none")]
        infeasibility: Option<&'a crate::plan::Infeasibility>,
        cost_per_hour: f64,
        cost_per_month: f64,
        nodes: u64,
        lower_bound: f64,
        gap: Option<f64>,
        disruption: Option<&'a crate::plan::Disruption>,
        pools: Vec<PoolSummary<'a>>,
        unused_nodes: &'a [String],
        unplaced_replicas: usize,
        unmet_pool_rules: usize,
        inputs: Option<&'a str>,
        written: &'a [String],
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct PoolSummary<'a> {
        name: &'a str,
        platform: bool,
        nodes: usize,
        cost_per_hour: f64,
        workloads: &'a [String],
    }
    let model = with_bought_nodes(model, plan);
    let o = &plan.objective;
    let summary = Summary {
        status: plan.status,
        infeasibility: plan.infeasibility.as_ref(),
        cost_per_hour: o.cost,
        cost_per_month: o.cost * HOURS_PER_MONTH,
        nodes: o.nodes,
        lower_bound: o.lower_bound,
        gap: o.gap,
        disruption: o.disruption.as_ref(),
        pools: plan
            .pools
            .iter()
            .map(|p| PoolSummary {
                name: &p.name,
                platform: p.platform,
                nodes: p.nodes.len(),
                cost_per_hour: pool_cost(&model, &pool_nodes(&model, p)),
                workloads: &p.workloads,
            })
            .collect(),
        unused_nodes: &plan.unused_nodes,
        unplaced_replicas: plan.unplaced.len(),
        unmet_pool_rules: plan.unmet.len(),
        inputs: plan.inputs.as_deref(),
        written,
    };
    serde_json::to_string_pretty(&summary).expect("the summary serialises")
}

/// The model indices of `pool`'s nodes (bought ones included once the model has them).
pub(crate) fn pool_nodes(model: &Model, pool: &crate::plan::Pool) -> Vec<usize> {
    pool.nodes
        .iter()
        .filter_map(|n| model.node_index(n))
        .collect()
}

/// The solver's counters (`plan --verbose`): time, classes, node types, work.
pub fn counters(st: &Stats) -> String {
    format!(
        "solve: {:.3} s (bound {:.3} s), {} classes, {} node types, {} classes separated in the bound, work {}\n",
        st.elapsed.as_secs_f64(),
        st.bound_elapsed.as_secs_f64(),
        st.classes,
        st.node_types,
        st.separated_classes,
        st.work
    )
}

#[cfg(test)]
mod tests {
    use crate::solve::{solve, SolveOptions};
    use crate::testing::{model, node, policy, workload};

    #[test]
    fn the_summary_says_when_a_policy_pool_name_matches_classes_of_several_pools() {
        let m = model(&[
            &policy("pools: [{name: data, match: {sensitivity: [public, confidential]}}]"),
            &workload("web", "sensitivity: public"),
            &workload("db", "sensitivity: confidential"),
            &node("a", "", ""),
            &node("b", "", ""),
        ]);
        let solved = solve(&m, &SolveOptions::default());
        let text = super::summary(&m, &solved.plan, None);
        assert!(
            text.contains("Policy pools entry `data` matches classes of 2 pools (data, public)"),
            "{text}"
        );
    }

    #[test]
    fn the_summary_shows_status_pools_utilisation_and_unused_nodes() {
        let m = model(&[
            &workload(
                "web",
                "sensitivity: public, replicas: 2, resources: {cpu: 1, memory: 1Gi}",
            ),
            &node("a", "", ""),
            &node("b", "", ""),
        ]);
        let solved = solve(&m, &SolveOptions::default());
        let text = super::summary(&m, &solved.plan, Some(&solved.stats));
        assert!(
            text.contains("status: optimal; cost 1.0000/h on 1 nodes (730.00 per month of 730 h); lower bound 1.0000 (gap 0: proven optimal)"),
            "{text}"
        );
        // One class, `sensitivity=public,exposure=,trust=`: its pool is named `public`.
        assert!(text.contains("\npublic: 1 node(s)"), "{text}");
        assert!(text.contains("cpu 50% (2)"), "{text}");
        // Without platform workloads, the unused node is the only home of unplanned pods.
        assert!(
            text.contains("can run only on nodes without a pool taint: 1 node(s) (cpu 4, memory 16.0Gi after overhead), not free to decommission: b"),
            "{text}"
        );
        assert!(!text.contains("unused nodes ("), "{text}");
        assert!(!text.contains("finding"), "{text}");
    }

    #[test]
    fn the_summary_names_each_namespace_over_several_pools() {
        let m = model(&[
            &policy("separateBy: [sensitivity]"),
            &workload("docs", "sensitivity: public"),
            &workload("billing", "sensitivity: restricted"),
            &node("a", "", ""),
            &node("b", "", ""),
        ]);
        let solved = solve(&m, &SolveOptions::default());
        let text = super::summary(&m, &solved.plan, None);
        assert!(
            text.contains("finding: 1 namespace(s) span several pools (namespaceBoundary: warn)"),
            "{text}"
        );
        assert!(
            text.contains("  - namespace default spans 2 pools: "),
            "{text}"
        );
        assert!(text.contains("(restricted: billing)"), "{text}");
    }

    #[test]
    fn admission_warnings_say_why_the_binding_only_warns() {
        let warning = |spec: &str| {
            let m = model(&[
                &policy(spec),
                &workload("w", "sensitivity: public"),
                &node("a", "", ""),
            ]);
            super::admission_warning(&m)
        };
        let unlisted = warning("minNodesPerPool: 1").expect("a warning");
        assert!(unlisted.starts_with("WARNING: the Policy ("), "{unlisted}");
        assert!(unlisted.contains("[Warn, Audit]"), "{unlisted}");
        assert!(unlisted.contains("calico-node"), "{unlisted}");
        assert!(
            unlisted.contains("fix: list those DaemonSets"),
            "{unlisted}"
        );
        let denied = warning("admission: deny").expect("a warning");
        assert!(denied.contains("sets admission: deny"), "{denied}");
        let listed = "systemDaemonSets: [{name: kube-proxy}]";
        assert_eq!(warning(listed), None);
        let trial = warning(&format!("{listed}, admission: warn")).expect("a note");
        assert!(trial.starts_with("note: "), "{trial}");
    }
}
