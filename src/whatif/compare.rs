//! The comparison: one [`Outcome`] per scenario against the baseline, `whatif.json` (the
//! [`WhatIf`] document), `whatif.md` and the table printed on the terminal.
//!
//! Everything here is read off the plans and the models; nothing is planned.

use super::{Baseline, Prepared};
use crate::diff;
use crate::model::Model;
use crate::plan::{Infeasibility, Plan, Status};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Hours in a month, for monthly figures (as the plan summary counts them).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The `kind` of `whatif.json`.
pub const KIND: &str = "WhatIf";

/// `whatif.json`: the baseline and every scenario's outcome, versioned like plan.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WhatIf {
    /// `tierplan/v1alpha1`.
    pub api_version: String,
    /// `WhatIf`.
    pub kind: String,
    /// The baseline's own row (no moves, no deltas).
    pub baseline: Outcome,
    /// One row per scenario, in the order given (scenario files, then the sweeps').
    pub scenarios: Vec<Outcome>,
    /// `--compaction`: the smallest sub-inventories found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compaction: Option<super::sweep::Compaction>,
    /// `--growth`: how far each pool's workloads can grow on the inventory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub growth: Vec<super::sweep::Growth>,
    /// `--shard`: which slice of the scenario list this run planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::shard::Shard>,
}

/// One scenario against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Outcome {
    /// The scenario's name (`baseline` for the baseline's row).
    pub name: String,
    /// What the scenario changes, in words.
    pub changes: String,
    /// The re-plan's status.
    pub status: Status,
    /// Infeasible re-plans: whether that is proven, and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infeasibility: Option<Infeasibility>,
    /// Whether the independent checker accepts the re-plan.
    pub verified: bool,
    /// Cost per hour.
    pub cost: f64,
    /// Cost per hour minus the baseline's.
    pub cost_delta: f64,
    /// Cost per month of 730 hours.
    pub cost_per_month: f64,
    /// Cost per month minus the baseline's.
    pub cost_delta_per_month: f64,
    /// Nodes in pools.
    pub nodes: u64,
    /// Nodes minus the baseline's.
    pub nodes_delta: i64,
    /// Pools.
    pub pools: u64,
    /// A proven lower bound on the scenario's cost.
    pub lower_bound: f64,
    /// (cost − lowerBound) / cost; absent when infeasible.
    pub gap: Option<f64>,
    /// Replicas of workloads in both plans that change node.
    pub moved_replicas: u64,
    /// Nodes of both plans whose pool changes.
    pub relabelled_nodes: u64,
    /// Pools of the re-plan the baseline lacks, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools_created: Vec<String>,
    /// Pools of the baseline the re-plan lacks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools_removed: Vec<String>,
    /// Pools of both whose number of nodes changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools_resized: Vec<Resized>,
    /// Replicas the re-plan cannot place.
    pub unplaced_replicas: u64,
    /// Pools whose headroom (spare nodes for `headroom.nodeFailures`) the re-plan cannot keep.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub short_of_headroom: Vec<String>,
    /// Per pool of the re-plan: its nodes and how many of its largest it can lose with its
    /// replicas still covered (as VMware HA reports "host failures tolerated").
    pub spare: Vec<Spare>,
    /// Infeasible re-plans: why, one line per workload or pool rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// A pool whose size changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resized {
    /// The pool.
    pub pool: String,
    /// Its nodes in the baseline.
    pub before: u64,
    /// Its nodes in the re-plan.
    pub after: u64,
}

/// The spare capacity of one pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spare {
    /// The pool.
    pub pool: String,
    /// Its nodes.
    pub nodes: u64,
    /// How many of its nodes, the largest first (per resource), it can lose and still cover
    /// every request of its workloads; what `headroom.nodeFailures` promises at least.
    pub tolerated_failures: u64,
}

impl Outcome {
    /// The row of `prepared`, re-planned as `plan`, against `baseline`.
    /// The row of `prepared`, re-planned as `plan` (which the checker accepts or not, as
    /// `verified` says), against `baseline`.
    pub fn new(prepared: &Prepared, plan: &Plan, verified: bool, baseline: &Baseline) -> Outcome {
        let changes = describe(&prepared.scenario.spec);
        let at = Row {
            model: &prepared.model,
            plan,
            base: &baseline.plan,
            verified,
        };
        at.outcome(&prepared.scenario.name, changes)
    }

    /// The baseline's own row.
    pub fn baseline(baseline: &Baseline) -> Outcome {
        let at = Row {
            model: &baseline.model,
            plan: &baseline.plan,
            base: &baseline.plan,
            verified: baseline.verified,
        };
        at.outcome("baseline", "nothing".into())
    }

    /// Whether every replica is placed and every pool rule met.
    pub fn feasible(&self) -> bool {
        self.status != Status::Infeasible
    }
}

/// A plan to compare with the baseline's.
struct Row<'a> {
    model: &'a Model,
    plan: &'a Plan,
    base: &'a Plan,
    verified: bool,
}

impl Row<'_> {
    fn outcome(&self, name: &str, changes: String) -> Outcome {
        let Row {
            model,
            plan,
            base,
            verified,
        } = *self;
        let d = diff::diff(base, plan).disruption();
        let o = &plan.objective;
        let b = &base.objective;
        let micros = |c: f64| (c * 1e6).round() as i64;
        let delta = (micros(o.cost) - micros(b.cost)) as f64 / 1e6;
        let before: BTreeMap<&str, usize> = base
            .pools
            .iter()
            .map(|p| (p.name.as_str(), p.nodes.len()))
            .collect();
        let after: BTreeMap<&str, usize> = plan
            .pools
            .iter()
            .map(|p| (p.name.as_str(), p.nodes.len()))
            .collect();
        let short: BTreeSet<String> = plan
            .unmet
            .iter()
            .filter(|u| u.rule == "headroom")
            .map(|u| u.pool.clone())
            .collect();
        Outcome {
            name: name.to_string(),
            changes,
            status: plan.status,
            infeasibility: plan.infeasibility,
            verified,
            cost: o.cost,
            cost_delta: delta,
            cost_per_month: o.cost * HOURS_PER_MONTH,
            cost_delta_per_month: delta * HOURS_PER_MONTH,
            nodes: o.nodes,
            nodes_delta: o.nodes as i64 - b.nodes as i64,
            pools: plan.pools.len() as u64,
            lower_bound: o.lower_bound,
            gap: o.gap,
            moved_replicas: d.moved_replicas,
            relabelled_nodes: d.relabelled_nodes,
            pools_created: after
                .keys()
                .filter(|p| !before.contains_key(*p))
                .map(|p| p.to_string())
                .collect(),
            pools_removed: before
                .keys()
                .filter(|p| !after.contains_key(*p))
                .map(|p| p.to_string())
                .collect(),
            pools_resized: after
                .iter()
                .filter_map(|(p, &n)| {
                    let &m = before.get(p)?;
                    (m != n).then(|| Resized {
                        pool: p.to_string(),
                        before: m as u64,
                        after: n as u64,
                    })
                })
                .collect(),
            unplaced_replicas: plan.unplaced.len() as u64,
            short_of_headroom: short.into_iter().collect(),
            spare: spare(model, plan),
            reasons: reasons(plan),
        }
    }
}

/// Per pool, the failures of its largest nodes it tolerates (see [`Spare`]).
fn spare(model: &Model, plan: &Plan) -> Vec<Spare> {
    let model = &crate::report::with_bought_nodes(model, plan);
    let overhead = &model.policy.node_overhead;
    plan.pools
        .iter()
        .map(|pool| {
            let nodes: Vec<usize> = pool
                .nodes
                .iter()
                .filter_map(|n| model.node_index(n))
                .collect();
            let workloads: Vec<usize> = pool
                .workloads
                .iter()
                .filter_map(|w| model.workload_index(w))
                .collect();
            let tolerated = (0..model.resources.len())
                .map(|r| {
                    let demand: u128 = workloads
                        .iter()
                        .map(|&w| {
                            let w = &model.workloads[w];
                            w.replicas as u128 * w.requests[r] as u128
                        })
                        .sum();
                    let mut capacity: Vec<u128> = nodes
                        .iter()
                        .map(|&n| {
                            model.nodes[n].allocatable[r]
                                .unwrap_or(0)
                                .saturating_sub(overhead[r]) as u128
                        })
                        .collect();
                    // Smallest first: the nodes left after losing the largest.
                    capacity.sort_unstable();
                    let mut left: u128 = 0;
                    let mut kept = 0;
                    while kept < capacity.len() && left < demand {
                        left += capacity[kept];
                        kept += 1;
                    }
                    if left < demand {
                        0
                    } else {
                        capacity.len() - kept
                    }
                })
                .min()
                .unwrap_or(nodes.len());
            Spare {
                pool: pool.name.clone(),
                nodes: nodes.len() as u64,
                tolerated_failures: tolerated as u64,
            }
        })
        .collect()
}

/// Why a plan is infeasible: unplaced replicas grouped per workload and reason, then the
/// unmet pool rules.
fn reasons(plan: &Plan) -> Vec<String> {
    let mut grouped: BTreeMap<(&str, Vec<String>), u64> = BTreeMap::new();
    for u in &plan.unplaced {
        *grouped
            .entry((u.workload.as_str(), u.reasons.clone()))
            .or_default() += 1;
    }
    let mut out: Vec<String> = grouped
        .into_iter()
        .map(|((w, why), n)| {
            format!(
                "{w}: {n} replica{} unplaced: {}",
                if n == 1 { "" } else { "s" },
                why.join("; ")
            )
        })
        .collect();
    out.extend(
        plan.unmet
            .iter()
            .map(|u| format!("pool {}: {} unmet: {}", u.pool, u.rule, u.reason)),
    );
    out
}

/// What `spec` changes, in words.
pub fn describe(spec: &crate::input::wire::ScenarioSpec) -> String {
    let mut parts = Vec::new();
    if let Some(r) = &spec.remove_nodes {
        if !r.names.is_empty() {
            parts.push(format!("remove nodes {}", list(&r.names)));
        }
        if !r.selector.is_empty() {
            let sel: Vec<String> = r.selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
            parts.push(format!("remove nodes with {}", sel.join(",")));
        }
    }
    if !spec.add_nodes.is_empty() {
        parts.push(format!("add nodes {}", list(&names_of(&spec.add_nodes))));
    }
    if !spec.add_node_types.is_empty() {
        parts.push(format!(
            "add node types {}",
            list(&names_of(&spec.add_node_types))
        ));
    }
    if !spec.remove_workloads.is_empty() {
        parts.push(format!("remove workloads {}", list(&spec.remove_workloads)));
    }
    if !spec.add_workloads.is_empty() {
        parts.push(format!(
            "add workloads {}",
            list(&names_of(&spec.add_workloads))
        ));
    }
    for s in &spec.scale_workloads {
        let who = match &s.workload {
            Some(w) => w.clone(),
            None => s
                .selector
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
        };
        match (s.replicas, s.factor) {
            (Some(n), _) => parts.push(format!("scale {who} to {n}")),
            (_, Some(f)) => parts.push(format!("scale {who} ×{f}")),
            _ => {}
        }
    }
    if let Some(p) = &spec.policy {
        let fields: Vec<String> = p
            .iter()
            .map(|(k, v)| {
                let v = serde_json::to_string(v).unwrap_or_default();
                format!("{}={v}", k.as_str().unwrap_or("?"))
            })
            .collect();
        parts.push(format!("policy {}", fields.join(" ")));
    }
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join("; ")
    }
}

fn names_of<S>(docs: &[crate::input::wire::Added<S>]) -> Vec<String> {
    docs.iter().map(|d| d.metadata.name.clone()).collect()
}

/// Up to five items, then a count.
pub(super) fn list(items: &[String]) -> String {
    if items.len() <= 5 {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..5].join(", "), items.len() - 5)
    }
}

impl WhatIf {
    /// The document of `baseline` and `scenarios`.
    pub fn new(baseline: Outcome, scenarios: Vec<Outcome>) -> WhatIf {
        WhatIf {
            api_version: crate::plan::API_VERSION.to_string(),
            kind: KIND.to_string(),
            baseline,
            scenarios,
            compaction: None,
            growth: Vec::new(),
            shard: None,
        }
    }

    /// Whether every scenario is feasible.
    pub fn all_feasible(&self) -> bool {
        self.scenarios.iter().all(Outcome::feasible)
    }

    /// The canonical bytes of whatif.json.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("what-if documents serialise");
        s.push('\n');
        s
    }

    /// The comparison table for a terminal.
    pub fn table(&self) -> String {
        render(self, &Style::Text)
    }

    /// The comparison as Markdown (`whatif.md`).
    pub fn markdown(&self) -> String {
        render(self, &Style::Markdown)
    }

    /// The table's cells, row by row: the column titles, the baseline, then each scenario.
    /// Columns from the third on are figures (aligned right).
    pub fn rows(&self) -> Vec<Vec<String>> {
        let mut rows = vec![COLUMNS.iter().map(|c| c.to_string()).collect::<Vec<_>>()];
        rows.push(cells(&self.baseline, true));
        rows.extend(self.scenarios.iter().map(|o| cells(o, false)));
        rows
    }
}

enum Style {
    Text,
    Markdown,
}

const COLUMNS: [&str; 12] = [
    "scenario",
    "status",
    "cost/h",
    "Δ/h",
    "Δ/month",
    "nodes",
    "pools",
    "bound",
    "gap",
    "moved",
    "relabelled",
    "pools +/−/resized",
];

fn cells(o: &Outcome, baseline: bool) -> Vec<String> {
    let status = crate::report::status_word(o.status);
    let signed = |x: f64, decimals: usize| {
        if baseline {
            "".to_string()
        } else {
            format!("{x:+.decimals$}")
        }
    };
    vec![
        o.name.clone(),
        status.to_string(),
        format!("{:.4}", o.cost),
        signed(o.cost_delta, 4),
        signed(o.cost_delta_per_month, 2),
        if baseline {
            o.nodes.to_string()
        } else {
            format!("{} ({:+})", o.nodes, o.nodes_delta)
        },
        o.pools.to_string(),
        format!("{:.4}", o.lower_bound),
        o.gap
            .map(|g| format!("{:.2}%", g * 100.0))
            .unwrap_or_else(|| "-".into()),
        o.moved_replicas.to_string(),
        o.relabelled_nodes.to_string(),
        format!(
            "{}/{}/{}",
            o.pools_created.len(),
            o.pools_removed.len(),
            o.pools_resized.len()
        ),
    ]
}

fn render(w: &WhatIf, style: &Style) -> String {
    let rows = w.rows();
    let mut s = String::new();
    if let Style::Markdown = style {
        let _ = writeln!(s, "# What-if\n");
    }
    match style {
        Style::Text => {
            let widths: Vec<usize> = (0..COLUMNS.len())
                .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
                .collect();
            for row in &rows {
                let line: Vec<String> = row
                    .iter()
                    .zip(&widths)
                    .enumerate()
                    .map(|(c, (cell, &width))| {
                        let pad = width - cell.chars().count();
                        if c < 2 {
                            format!("{cell}{}", " ".repeat(pad))
                        } else {
                            format!("{}{cell}", " ".repeat(pad))
                        }
                    })
                    .collect();
                let _ = writeln!(s, "{}", line.join("  ").trim_end());
            }
        }
        Style::Markdown => {
            for (i, row) in rows.iter().enumerate() {
                let _ = writeln!(s, "| {} |", row.join(" | "));
                if i == 0 {
                    let rule: Vec<&str> = (0..COLUMNS.len())
                        .map(|c| if c < 2 { "---" } else { "---:" })
                        .collect();
                    let _ = writeln!(s, "| {} |", rule.join(" | "));
                }
            }
        }
    }
    notes(w, style, &mut s);
    s
}

/// Below the table: what each scenario changes, and what went wrong where it did.
fn notes(w: &WhatIf, style: &Style, s: &mut String) {
    let bullet = match style {
        Style::Text => "  ",
        Style::Markdown => "- ",
    };
    let heading = |s: &mut String, title: &str| match style {
        Style::Text => {
            let _ = writeln!(s, "\n{title}:");
        }
        Style::Markdown => {
            let _ = writeln!(s, "\n## {title}\n");
        }
    };
    heading(s, "Scenarios");
    for o in &w.scenarios {
        let _ = writeln!(s, "{bullet}{}: {}", o.name, o.changes);
        if !o.verified {
            let _ = writeln!(
                s,
                "{bullet}  the checker refuses this plan: please report it with the input"
            );
        }
        const SHOWN: usize = 5;
        for r in o.reasons.iter().take(SHOWN) {
            let _ = writeln!(s, "{bullet}  {r}");
        }
        if o.reasons.len() > SHOWN {
            let _ = writeln!(
                s,
                "{bullet}  … and {} more (whatif.json has every one)",
                o.reasons.len() - SHOWN
            );
        }
    }
    super::sweep::notes(w, s, bullet, &heading);
}
