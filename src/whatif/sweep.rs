//! The built-in sweeps: scenarios made from the baseline rather than written by hand.
//!
//! - `failures`: every used node (or zone, or set of K of them) removed in turn, making
//!   concrete the N+K promise of `headroom`.
//! - `cost_of_isolation`: the policy with each `separateBy` attribute dropped, each
//!   `shareWhen` rule removed, and with no separation at all.
//! - `compaction`: Borg's cell compaction (EuroSys 2015, §5.1): nodes removed in random
//!   orders until the workloads no longer fit; the smallest sub-inventories found.
//! - `growth`: per pool, the largest replica factor its workloads can grow by before the
//!   inventory runs out.
//! - `what_to_buy`: an infeasible scenario again with node types to buy.
//!
//! Compaction and growth search by bisection over re-plans, each verified by the checker;
//! a heuristic planner's feasibility need not be monotone, so they report what they found
//! feasible, never more.

use super::compare::Outcome;
use super::{replan, Baseline, Scenario, WhatIf};
use crate::input::wire::{Added, NodeTypeSpec, RemoveNodesSpec, ScaleSpec, ScenarioSpec};
use crate::model::ZONE_LABEL;
use crate::plan::Status;
use crate::solve::SolveOptions;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Write;

/// What `--failures` removes in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Sets of K used nodes.
    Nodes(usize),
    /// Sets of K zones.
    Zones(usize),
}

impl std::str::FromStr for Failure {
    type Err = String;

    /// `node`, `zone`, `node:K` or `zone:K`.
    fn from_str(s: &str) -> Result<Failure, String> {
        let (what, k) = match s.split_once(':') {
            Some((what, k)) => (what, k.parse::<usize>().ok().filter(|&k| k >= 1)),
            None => (s, Some(1)),
        };
        let Some(k) = k else {
            return Err(format!("`{s}`: K must be a whole number from 1"));
        };
        match what {
            "node" => Ok(Failure::Nodes(k)),
            "zone" => Ok(Failure::Zones(k)),
            _ => Err(format!("`{s}`: write node, zone, node:K or zone:K")),
        }
    }
}

/// The failure scenarios of `baseline`: every set of K used nodes (or K zones), in name
/// order, at most `limit` of them; `true` when the limit cut the list.
pub fn failures(baseline: &Baseline, failure: Failure, limit: usize) -> (Vec<Scenario>, bool) {
    let (items, k, noun): (Vec<String>, usize, &str) = match failure {
        Failure::Nodes(k) => {
            let used: BTreeSet<&String> = baseline
                .plan
                .pools
                .iter()
                .flat_map(|p| p.nodes.iter())
                .filter(|n| baseline.model.node_index(n).is_some())
                .collect();
            (used.into_iter().cloned().collect(), k, "node")
        }
        Failure::Zones(k) => {
            let zones: BTreeSet<&String> = baseline
                .model
                .nodes
                .iter()
                .filter_map(|n| n.zone.as_ref())
                .collect();
            (zones.into_iter().cloned().collect(), k, "zone")
        }
    };
    let mut out = Vec::new();
    let mut cut = false;
    for set in Combinations::new(items.len(), k) {
        if out.len() == limit {
            cut = true;
            break;
        }
        let chosen: Vec<String> = set.iter().map(|&i| items[i].clone()).collect();
        let name = format!("fail-{noun}-{}", chosen.join("+"));
        let remove = match failure {
            Failure::Nodes(_) => RemoveNodesSpec {
                names: chosen,
                ..Default::default()
            },
            // One zone per scenario is a selector; several are their nodes by name.
            Failure::Zones(_) => {
                let names: Vec<String> = baseline
                    .model
                    .nodes
                    .iter()
                    .filter(|n| n.zone.as_ref().is_some_and(|z| chosen.contains(z)))
                    .map(|n| n.name.clone())
                    .collect();
                if chosen.len() == 1 {
                    RemoveNodesSpec {
                        selector: [(ZONE_LABEL.to_string(), chosen[0].clone())].into(),
                        ..Default::default()
                    }
                } else {
                    RemoveNodesSpec {
                        names,
                        ..Default::default()
                    }
                }
            }
        };
        let spec = ScenarioSpec {
            remove_nodes: Some(remove),
            ..Default::default()
        };
        out.push(Scenario::new(name, spec));
    }
    (out, cut)
}

/// The K-subsets of 0..n in lexicographic order.
struct Combinations {
    next: Option<Vec<usize>>,
    n: usize,
}

impl Combinations {
    fn new(n: usize, k: usize) -> Self {
        Combinations {
            next: (k <= n).then(|| (0..k).collect()),
            n,
        }
    }
}

impl Iterator for Combinations {
    type Item = Vec<usize>;

    fn next(&mut self) -> Option<Vec<usize>> {
        let current = self.next.take()?;
        let k = current.len();
        let mut c = current.clone();
        // The rightmost position that can still move right.
        if let Some(i) = (0..k).rev().find(|&i| c[i] < self.n - k + i) {
            c[i] += 1;
            for j in i + 1..k {
                c[j] = c[j - 1] + 1;
            }
            self.next = Some(c);
        }
        Some(current)
    }
}

/// The scenarios of `--cost-of-isolation`: each `separateBy` attribute dropped, each
/// `shareWhen` rule removed, and no separation at all (dedicated workloads stay dedicated:
/// that is a property of the workload, not of the policy).
pub fn cost_of_isolation(baseline: &Baseline) -> Vec<Scenario> {
    let policy = &baseline.model.policy;
    let patch = |key: &str, value: serde_yaml::Value| {
        let mut m = serde_yaml::Mapping::new();
        m.insert(key.into(), value);
        ScenarioSpec {
            policy: Some(m),
            ..Default::default()
        }
    };
    let mut out = Vec::new();
    for (i, attr) in policy.separate_by.iter().enumerate() {
        let mut rest = policy.separate_by.clone();
        rest.remove(i);
        out.push(Scenario::new(
            format!("isolation-without-{attr}"),
            patch("separateBy", yaml(&rest)),
        ));
    }
    for i in 0..policy.share_when.len() {
        let mut rest = policy.share_when.clone();
        rest.remove(i);
        out.push(Scenario::new(
            format!("isolation-without-share-rule-{}", i + 1),
            patch("shareWhen", yaml(&rest)),
        ));
    }
    if !policy.separate_by.is_empty() {
        out.push(Scenario::new(
            "isolation-none",
            patch("separateBy", yaml(&Vec::<String>::new())),
        ));
    }
    out
}

fn yaml<T: Serialize>(value: &T) -> serde_yaml::Value {
    serde_yaml::to_value(value).expect("policy fields serialise")
}

/// `--compaction`: the smallest sub-inventories found, over several random removal orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Compaction {
    /// Random removal orders tried (seeds 1 to this).
    pub seeds: u64,
    /// Inventory nodes of the baseline.
    pub inventory: u64,
    /// The smallest sub-inventory found, in nodes.
    pub min: u64,
    /// The median over the seeds.
    pub median: u64,
    /// The 90th percentile over the seeds (Borg's figure).
    pub p90: u64,
    /// The nodes the smallest sub-inventory leaves out: the ones that could be returned.
    pub returnable: Vec<String>,
}

/// Runs `--compaction` over `seeds` random orders; also returns the scenario of the smallest
/// sub-inventory found, so that its plan is written and verified like any other.
pub fn compaction(
    baseline: &Baseline,
    seeds: u64,
    options: &SolveOptions,
) -> (Compaction, Scenario) {
    let names: Vec<String> = baseline
        .model
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .collect();
    let found: Vec<Vec<String>> = (1..=seeds)
        .into_par_iter()
        .map(|seed| {
            let mut order = names.clone();
            order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
            let removed = bisect(order.len(), |m| {
                fits(baseline, remove(&order[..m]), options)
            });
            order[..removed].to_vec()
        })
        .collect();
    let mut sizes: Vec<u64> = found
        .iter()
        .map(|r| (names.len() - r.len()) as u64)
        .collect();
    sizes.sort_unstable();
    let best = found
        .iter()
        .max_by_key(|r| r.len())
        .cloned()
        .unwrap_or_default();
    let mut returnable = best;
    returnable.sort();
    let percentile = |p: usize| sizes[((sizes.len() * p).div_ceil(100)).saturating_sub(1)];
    let c = Compaction {
        seeds,
        inventory: names.len() as u64,
        min: sizes[0],
        median: percentile(50),
        p90: percentile(90),
        returnable: returnable.clone(),
    };
    (c, Scenario::new("compaction", remove(&returnable)))
}

fn remove(names: &[String]) -> ScenarioSpec {
    ScenarioSpec {
        remove_nodes: Some(RemoveNodesSpec {
            names: names.to_vec(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Whether the scenario `spec` re-plans to a complete, verified plan.
fn fits(baseline: &Baseline, spec: ScenarioSpec, options: &SolveOptions) -> bool {
    match baseline.prepare(Scenario::new("probe", spec)) {
        Ok(p) => {
            let r = replan(baseline, p, options);
            r.solved.plan.status != Status::Infeasible && r.sound()
        }
        Err(_) => false,
    }
}

/// The largest m in 0..=n with `ok(m)`, assuming `ok(0)`, by bisection.
fn bisect(n: usize, mut ok: impl FnMut(usize) -> bool) -> usize {
    let (mut good, mut bad) = (0, n + 1);
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if ok(mid) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    good
}

/// `--growth`: how far one pool's workloads can grow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Growth {
    /// The pool (of the baseline), or `all` for every workload at once.
    pub pool: String,
    /// Its workloads.
    pub workloads: u64,
    /// The largest replica factor, in percent, found to fit (100 when no growth fits).
    pub max_percent: u64,
    /// Whether the search stopped at its ceiling ([`GROWTH_CEILING`] percent) still fitting.
    pub at_ceiling: bool,
}

/// The largest growth tried, in percent.
pub const GROWTH_CEILING: u64 = 1000;

/// Runs `--growth` for every pool of the baseline and for all workloads at once; also
/// returns, per entry that grew, the scenario of the largest growth found.
pub fn growth(baseline: &Baseline, options: &SolveOptions) -> (Vec<Growth>, Vec<Scenario>) {
    let mut groups: Vec<(String, Vec<String>)> = baseline
        .plan
        .pools
        .iter()
        .map(|p| (p.name.clone(), p.workloads.clone()))
        .collect();
    let all: Vec<String> = baseline
        .model
        .workloads
        .iter()
        .map(|w| w.id.clone())
        .collect();
    groups.push(("all".into(), all));
    let results: Vec<(Growth, Option<Scenario>)> = groups
        .into_par_iter()
        .map(|(pool, workloads)| {
            let spec = |percent: u64| ScenarioSpec {
                scale_workloads: workloads
                    .iter()
                    .map(|w| ScaleSpec {
                        workload: Some(w.clone()),
                        factor: Some(percent as f64 / 100.0),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            // Steps of 1% above 100%.
            let steps = (GROWTH_CEILING - 100) as usize;
            let step = bisect(steps, |m| fits(baseline, spec(100 + m as u64), options));
            let percent = 100 + step as u64;
            let g = Growth {
                pool: pool.clone(),
                workloads: workloads.len() as u64,
                max_percent: percent,
                at_ceiling: step == steps,
            };
            let s = (step > 0).then(|| Scenario::new(format!("growth-{pool}"), spec(percent)));
            (g, s)
        })
        .collect();
    let (growth, scenarios): (Vec<Growth>, Vec<Option<Scenario>>) = results.into_iter().unzip();
    (growth, scenarios.into_iter().flatten().collect())
}

/// `--what-to-buy`: for every infeasible outcome, its scenario again with `catalog` to buy
/// from, named `<scenario>+buy`.
pub fn what_to_buy(
    scenarios: &[Scenario],
    outcomes: &[Outcome],
    catalog: &[Added<NodeTypeSpec>],
) -> Vec<Scenario> {
    scenarios
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| !o.feasible())
        .map(|(s, _)| {
            let mut spec = s.spec.clone();
            spec.add_node_types.extend(catalog.iter().cloned());
            Scenario::new(format!("{}+buy", s.name), spec)
        })
        .collect()
}

/// `rows` with each `<scenario>+buy` row of `bought` right after its scenario's, so that the
/// rows of shards joined in order are those of one run.
pub fn after_their_scenarios(rows: Vec<Outcome>, bought: Vec<Outcome>) -> Vec<Outcome> {
    let mut bought = bought.into_iter().peekable();
    let mut out = Vec::new();
    for row in rows {
        let name = format!("{}+buy", row.name);
        out.push(row);
        if bought.peek().is_some_and(|b| b.name == name) {
            out.extend(bought.next());
        }
    }
    out
}

/// The sweeps' findings below the table: the worst failure, what isolation costs, the
/// compaction and the growth.
pub(super) fn notes(w: &WhatIf, s: &mut String, bullet: &str, heading: &dyn Fn(&mut String, &str)) {
    failure_notes(w, s, bullet, heading);
    isolation_notes(w, s, bullet, heading);
    search_notes(w, s, bullet, heading);
}

/// The failures that hurt, the worst, and the spare capacity it leaves.
fn failure_notes(w: &WhatIf, s: &mut String, bullet: &str, heading: &dyn Fn(&mut String, &str)) {
    let failures: Vec<&Outcome> = w
        .scenarios
        .iter()
        .filter(|o| o.name.starts_with("fail-"))
        .collect();
    if !failures.is_empty() {
        heading(s, "Failures");
        let hurt: Vec<&&Outcome> = failures
            .iter()
            .filter(|o| !o.feasible() || !o.short_of_headroom.is_empty())
            .collect();
        let _ = writeln!(
            s,
            "{bullet}{} of {} failures leave replicas unplaced or pools short of headroom{}",
            hurt.len(),
            failures.len(),
            if hurt.is_empty() {
                String::new()
            } else {
                let names: Vec<&str> = hurt.iter().map(|o| o.name.as_str()).collect();
                format!(": {}", names.join(", "))
            }
        );
        // The most replicas unplaced, then the most pools short, then the most moved; the
        // first by name among equals.
        let key = |o: &Outcome| {
            (
                o.unplaced_replicas,
                o.short_of_headroom.len(),
                o.moved_replicas,
            )
        };
        let worst = failures
            .iter()
            .max_by(|a, b| key(a).cmp(&key(b)).then(b.name.cmp(&a.name)));
        if let Some(o) = worst {
            let _ = writeln!(
                s,
                "{bullet}worst: {} ({} unplaced, {} moved, {} relabelled, {:+.4}/h)",
                o.name, o.unplaced_replicas, o.moved_replicas, o.relabelled_nodes, o.cost_delta
            );
        }
        let _ = writeln!(s, "{bullet}spare after the worst failure, per pool:");
        if let Some(o) = worst {
            for p in &o.spare {
                let _ = writeln!(
                    s,
                    "{bullet}  {}: {} nodes, tolerates {} more",
                    p.pool, p.nodes, p.tolerated_failures
                );
            }
        }
    }
}

/// What each separation costs, and what each exception saves.
fn isolation_notes(w: &WhatIf, s: &mut String, bullet: &str, heading: &dyn Fn(&mut String, &str)) {
    let isolation: Vec<&Outcome> = w
        .scenarios
        .iter()
        .filter(|o| o.name.starts_with("isolation-"))
        .collect();
    if !isolation.is_empty() {
        heading(s, "Cost of isolation");
        for o in isolation {
            // Each row is the plan without one separation (or exception); its cost against
            // the baseline is what that separation costs (or the exception saves).
            let (what, nodes, hourly, monthly) = match o.name.strip_prefix("isolation-") {
                Some(rule) if rule.starts_with("without-share-rule-") => (
                    format!(
                        "shareWhen rule {} saves",
                        &rule["without-share-rule-".len()..]
                    ),
                    o.nodes_delta,
                    o.cost_delta,
                    o.cost_delta_per_month,
                ),
                Some("none") => (
                    "all separation costs".to_string(),
                    -o.nodes_delta,
                    -o.cost_delta,
                    -o.cost_delta_per_month,
                ),
                Some(rule) => (
                    format!(
                        "separating by {} costs",
                        rule.trim_start_matches("without-")
                    ),
                    -o.nodes_delta,
                    -o.cost_delta,
                    -o.cost_delta_per_month,
                ),
                None => continue,
            };
            let cheaper = o.cost.min(w.baseline.cost);
            let pct = if cheaper > 0.0 {
                format!(" ({:+.1}% on {:.4}/h)", hourly / cheaper * 100.0, cheaper)
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "{bullet}{what} {nodes} nodes, {hourly:.4}/h, {monthly:.2}/month{pct}"
            );
        }
    }
}

/// The compaction and the growth found.
fn search_notes(w: &WhatIf, s: &mut String, bullet: &str, heading: &dyn Fn(&mut String, &str)) {
    if let Some(c) = &w.compaction {
        heading(s, "Compaction");
        let _ = writeln!(
            s,
            "{bullet}{} random removal orders from {} nodes: smallest {} nodes, median {}, p90 {}",
            c.seeds, c.inventory, c.min, c.median, c.p90
        );
        let _ = writeln!(
            s,
            "{bullet}could be returned ({}): {}",
            c.returnable.len(),
            super::compare::list(&c.returnable)
        );
    }
    if !w.growth.is_empty() {
        heading(s, "Growth");
        for g in &w.growth {
            let _ = writeln!(
                s,
                "{bullet}{} ({} workloads): replicas ×{:.2}{}",
                g.pool,
                g.workloads,
                g.max_percent as f64 / 100.0,
                if g.at_ceiling { " or more" } else { "" }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_in_order() {
        let all: Vec<Vec<usize>> = Combinations::new(4, 2).collect();
        assert_eq!(
            all,
            [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]].map(|c| c.to_vec())
        );
        assert_eq!(Combinations::new(2, 3).count(), 0);
        assert_eq!(Combinations::new(3, 1).count(), 3);
    }

    #[test]
    fn bisection_finds_the_edge() {
        assert_eq!(bisect(10, |m| m <= 7), 7);
        assert_eq!(bisect(10, |_| true), 10);
        assert_eq!(bisect(10, |m| m == 0), 0);
    }

    #[test]
    fn failure_specs_parse() {
        assert_eq!("node".parse(), Ok(Failure::Nodes(1)));
        assert_eq!("zone:2".parse(), Ok(Failure::Zones(2)));
        assert!("rack".parse::<Failure>().is_err());
        assert!("node:0".parse::<Failure>().is_err());
    }
}
