//! Why no plan exists, in the fewest facts: a deletion filter over the input's constraints.
//!
//! Owns the [`Fact`]s an input is made of for this purpose (each workload's replicas and
//! requests, each of its placement rules, each Policy rule that narrows where or how densely
//! workloads may run) and the search for a small subset of them that is still infeasible.
//! The inventory (nodes, their labels, zones and sizes) is the fixed context, never a fact:
//! relaxing supply would make every instance feasible.
//!
//! The filter relaxes facts (a workload is removed, a rule is dropped) and asks the planner
//! whether a plan now exists:
//! - when the relaxed instance is *proven* infeasible, the relaxed facts are not needed, and
//!   the facts kept are infeasible together whatever else holds (sufficiency);
//! - when a plan is *found* without a fact, the fact is kept;
//! - when the planner neither finds a plan nor proves there is none (budget), the fact is kept
//!   and the explanation says it is not known to be minimal.
//!
//! Dropping a rule only relaxes, but removing a workload can make the rest harder: a pool's
//! nodes must each suit one of its workloads, so a small workload can be what lets a node
//! count towards a pool's headroom. A fact needed when it was tried may thus no longer be
//! needed once later workloads are gone, so the kept facts are tried once more against the
//! final set, until each is shown needed there (minimality) or the budget ends.
//!
//! Before any search, [`count`] tries to show infeasibility by adding up (requests against
//! capacity, pools' minimum sizes against nodes): such a certificate is proven at once and
//! seeds the filter, which then only minimises within the facts it cites; where it cites too
//! many for the filter to afford (thousands of workloads), it stands as it is, proven but not
//! known to be minimal. The count over the final facts is the explanation's summary line.
//!
//! Facts are tried in chunks first (half of what is left, then halves of a chunk that could
//! not go): dropping many workloads at once costs one solve, so explanations that cite few
//! facts of many take about `k · log(n/k)` solves, not `n`. Every solve is bounded by work
//! units, never by the clock, so the same input gives the same explanation.

mod count;

use crate::model::{Model, Workload};
use crate::plan::Status;
use crate::quantity;
use crate::solve::{self, SolveOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Work units for each trial solve: enough for the complete search of moderate instances to
/// finish, so that small relaxed instances are proven, not just left unsolved.
pub const TRIAL_WORK: u64 = 5_000_000;
/// Trial solves at most per explanation; past them the facts not yet tried are kept.
pub const MAX_TRIALS: usize = 400;
/// Work units of all trial solves together, likewise.
pub const TOTAL_WORK: u64 = 40_000_000;
/// Facts a counting certificate may cite and still be minimised by the filter; past it
/// (inputs of thousands of workloads), trial solves would each cost a full plan.
pub const FILTER_LIMIT: usize = 64;
/// Facts of one field listed one by one when printed; more are summed up in one line.
const LISTED: usize = 4;

/// One constraint of the input, relaxable on its own (internal to the filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Relax {
    // Declared in the order explanations list them: the Policy's rules, then each
    // workload's, then the workloads themselves.
    NodeOverhead,
    Headroom,
    MinNodesPerPool,
    NodeRequirement(usize),
    SeparateBy(usize),
    MinZones(usize),
    MaxPerNode(usize),
    /// nodeSelector and required node affinity.
    NodeLabels(usize),
    Dedicated(usize),
    /// The unordered pair (a < b).
    AntiAffinity(usize, usize),
    /// Workload a's limit on replicas of b per node.
    CoLocation(usize, usize),
    /// The workload's replicas (relaxed: removed).
    Workload(usize),
}

/// Every fact of `model` that constrains a plan, in the order the filter tries them: Policy
/// rules first (an explanation without them speaks of workloads only), then each workload's
/// rules, then the workloads themselves.
fn facts(model: &Model) -> Vec<Relax> {
    let p = &model.policy;
    let mut out = Vec::new();
    if p.node_overhead.iter().any(|&a| a > 0) {
        out.push(Relax::NodeOverhead);
    }
    if p.node_failures > 0 {
        out.push(Relax::Headroom);
    }
    if p.min_nodes_per_pool > 1 {
        out.push(Relax::MinNodesPerPool);
    }
    out.extend((0..p.node_requirements.len()).map(Relax::NodeRequirement));
    out.extend((0..p.separate_by.len()).map(Relax::SeparateBy));
    let live = |w: &Workload| w.replicas > 0 && !w.platform;
    for (i, w) in model.workloads.iter().enumerate().filter(|(_, w)| live(w)) {
        if w.min_zones.is_some_and(|z| z > 1) {
            out.push(Relax::MinZones(i));
        }
        if w.max_per_node.is_some() {
            out.push(Relax::MaxPerNode(i));
        }
        if !w.node_selector.is_empty() || !w.node_affinity.is_empty() {
            out.push(Relax::NodeLabels(i));
        }
        if w.dedicated {
            out.push(Relax::Dedicated(i));
        }
        out.extend(
            w.anti_affinity
                .iter()
                .filter(|&&b| b > i && live(&model.workloads[b]))
                .map(|&b| Relax::AntiAffinity(i, b)),
        );
        out.extend(
            w.co_location
                .iter()
                .filter(|&&(b, _)| live(&model.workloads[b]))
                .map(|&(b, _)| Relax::CoLocation(i, b)),
        );
    }
    out.extend(
        (0..model.workloads.len())
            .filter(|&i| live(&model.workloads[i]))
            .map(Relax::Workload),
    );
    out
}

/// `model` with `relaxed` removed.
fn relax(model: &Model, relaxed: &[Relax]) -> Model {
    let mut m = model.clone();
    let mut separate: Vec<bool> = vec![true; m.policy.separate_by.len()];
    let mut requirements: Vec<bool> = vec![true; m.policy.node_requirements.len()];
    for &r in relaxed {
        match r {
            // Removed below, all at once: a workload of 0 replicas would still form a class
            // (and a pool), so only removal relaxes it fully.
            Relax::Workload(_) => {}
            Relax::MinZones(w) => m.workloads[w].min_zones = None,
            Relax::MaxPerNode(w) => m.workloads[w].max_per_node = None,
            Relax::NodeLabels(w) => {
                m.workloads[w].node_selector.clear();
                m.workloads[w].node_affinity.clear();
            }
            Relax::Dedicated(w) => m.workloads[w].dedicated = false,
            Relax::AntiAffinity(a, b) => {
                m.workloads[a].anti_affinity.retain(|&x| x != b);
                m.workloads[b].anti_affinity.retain(|&x| x != a);
            }
            Relax::CoLocation(a, b) => m.workloads[a].co_location.retain(|&(x, _)| x != b),
            Relax::NodeRequirement(i) => requirements[i] = false,
            Relax::SeparateBy(i) => separate[i] = false,
            Relax::Headroom => m.policy.node_failures = 0,
            Relax::MinNodesPerPool => m.policy.min_nodes_per_pool = 1,
            Relax::NodeOverhead => m.policy.node_overhead.iter_mut().for_each(|a| *a = 0),
        }
    }
    let gone: Vec<usize> = relaxed
        .iter()
        .filter_map(|&r| match r {
            Relax::Workload(w) => Some(w),
            _ => None,
        })
        .collect();
    remove_workloads(&mut m, &gone);
    let mut keep = separate.into_iter();
    m.policy.separate_by.retain(|_| keep.next().unwrap_or(true));
    let mut keep = requirements.into_iter();
    m.policy
        .node_requirements
        .retain(|_| keep.next().unwrap_or(true));
    m
}

/// Removes the workloads `gone` from `m`, renumbering the references between workloads.
fn remove_workloads(m: &mut Model, gone: &[usize]) {
    let mut index = vec![None; m.workloads.len()];
    let mut next = 0;
    for (i, slot) in index.iter_mut().enumerate() {
        if !gone.contains(&i) {
            *slot = Some(next);
            next += 1;
        }
    }
    let mut i = 0;
    m.workloads.retain(|_| {
        i += 1;
        index[i - 1].is_some()
    });
    for w in &mut m.workloads {
        w.anti_affinity = w.anti_affinity.iter().filter_map(|&b| index[b]).collect();
        w.co_location = w
            .co_location
            .iter()
            .filter_map(|&(b, n)| index[b].map(|b| (b, n)))
            .collect();
    }
}

/// What one trial solve showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Feasible,
    Infeasible,
    Unknown,
}

/// The verdict of one trial solve, and the work it took.
fn verdict(model: &Model) -> (Verdict, u64) {
    let options = SolveOptions {
        time_limit: None,
        work_limit: TRIAL_WORK,
        tighten: false,
        ..SolveOptions::default()
    };
    let solved = solve::solve(model, &options);
    let verdict = match (solved.plan.status, solved.plan.infeasibility) {
        (Status::Infeasible, Some(i)) if i.proven => Verdict::Infeasible,
        (Status::Infeasible, _) => Verdict::Unknown,
        _ => Verdict::Feasible,
    };
    (verdict, solved.stats.work)
}

/// The filter's result before it is put in the user's terms.
struct Kept {
    facts: Vec<Relax>,
    proven: bool,
    minimal: bool,
}

/// Deletion filter in chunks (see the module comment) over `candidates`, with the facts
/// `relaxed` already relaxed; `proven` when that relaxed input is known to be infeasible.
fn filter(
    model: &Model,
    candidates: Vec<Relax>,
    mut relaxed: Vec<Relax>,
    mut proven: bool,
) -> Kept {
    let mut trials = 0;
    let mut work = 0;
    let mut minimal = true;
    let mut kept = Vec::new();
    // Chunks still to try, first the whole list split in two.
    let mut pending: Vec<Vec<Relax>> = split(candidates);
    while let Some(chunk) = pending.pop() {
        if trials >= MAX_TRIALS || work >= TOTAL_WORK {
            minimal = false;
            kept.extend(chunk);
            continue;
        }
        trials += 1;
        let mut trial = relaxed.clone();
        trial.extend(&chunk);
        let (verdict, used) = verdict(&relax(model, &trial));
        work += used;
        match verdict {
            Verdict::Infeasible => {
                relaxed = trial;
                proven = true;
            }
            Verdict::Feasible if chunk.len() == 1 => kept.extend(chunk),
            Verdict::Unknown if chunk.len() == 1 => {
                minimal = false;
                kept.extend(chunk);
            }
            _ => pending.extend(split(chunk)),
        }
    }
    // Each kept fact again, against the final set (see the module comment): one that can go
    // now goes, and the others are tried again after it.
    let mut i = 0;
    while proven && i < kept.len() {
        if trials >= MAX_TRIALS || work >= TOTAL_WORK {
            minimal = false;
            break;
        }
        trials += 1;
        let mut trial = relaxed.clone();
        trial.push(kept[i]);
        let (verdict, used) = verdict(&relax(model, &trial));
        work += used;
        match verdict {
            Verdict::Infeasible => {
                relaxed = trial;
                kept.remove(i);
                i = 0;
            }
            Verdict::Feasible => i += 1,
            Verdict::Unknown => {
                minimal = false;
                i += 1;
            }
        }
    }
    kept.sort_unstable();
    Kept {
        facts: kept,
        proven,
        minimal: minimal && proven,
    }
}

/// `chunk` in two halves, the first to try last on the stack (so facts are tried in order).
fn split(mut chunk: Vec<Relax>) -> Vec<Vec<Relax>> {
    if chunk.len() <= 1 {
        return vec![chunk];
    }
    let back = chunk.split_off(chunk.len() / 2);
    vec![back, chunk]
}

/// Why no plan exists, as `plan.json` records it under `explanation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Explanation {
    /// Whether the facts together are proven infeasible (with the inventory as it is).
    pub proven: bool,
    /// Whether dropping any one fact was shown to make a plan possible; false when the
    /// budget ran out first (then fewer facts may suffice).
    pub minimal: bool,
    /// The facts, each with where it was read.
    pub facts: Vec<Fact>,
    /// What the facts add up to, in one line, where a count shows them infeasible (e.g.
    /// "… request cpu 7255 in all …, but the 550 node(s) have cpu 5978: cpu 1277 short").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortfall: Option<String>,
    /// The inventory they are judged against, in one line.
    pub inventory: String,
}

/// One fact of the input, in the user's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Fact {
    /// What the input says.
    pub text: String,
    /// The file and document it was read from (`policy.yaml: document 1`); absent for a
    /// default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The field (`spec.minZones`).
    pub field: String,
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = match (self.proven, self.minimal) {
            (true, true) => "proven, and each fact is needed",
            (true, false) => "proven; fewer facts may suffice",
            _ => "not proven: the best found within the budget",
        };
        let these = match self.facts.len() {
            1 => "this fact cannot hold".to_string(),
            n => format!("these {n} facts cannot all hold"),
        };
        match &self.shortfall {
            Some(short) => writeln!(
                f,
                "why no plan exists ({how}): {short}\non {}, {these}:",
                self.inventory
            )?,
            None => writeln!(
                f,
                "why no plan exists ({how}): on {}, {these}:",
                self.inventory
            )?,
        }
        let mut by_field: BTreeMap<&str, Vec<&Fact>> = BTreeMap::new();
        for fact in &self.facts {
            by_field.entry(fact.field.as_str()).or_default().push(fact);
        }
        let mut summed: BTreeSet<&str> = BTreeSet::new();
        for fact in &self.facts {
            let field = fact.field.as_str();
            let alike = &by_field[field];
            if alike.len() > LISTED {
                if summed.insert(field) {
                    let mut files: Vec<&str> = alike
                        .iter()
                        .filter_map(|g| g.source.as_deref())
                        .map(|s| s.rsplit_once(": document ").map_or(s, |(file, _)| file))
                        .collect();
                    files.sort_unstable();
                    files.dedup();
                    writeln!(
                        f,
                        "  - {} facts like this one ({field}; {}): {}; plan.json lists each",
                        alike.len(),
                        files.join(", "),
                        fact.text
                    )?;
                }
                continue;
            }
            write!(f, "  - {}", fact.text)?;
            match &fact.source {
                Some(s) => writeln!(f, " ({s}, {field})")?,
                None => writeln!(f, " ({field})")?,
            }
        }
        Ok(())
    }
}

/// The explanation of an input the planner found no plan for; `None` when a plan exists
/// after all (a trial solve found one) or the input is in catalog mode, whose supply is
/// bought rather than given.
pub fn explain(model: &Model) -> Option<Explanation> {
    if !model.node_types.is_empty() {
        return None;
    }
    let all = facts(model);
    let (kept, shortfall) = match count::certificate(model) {
        Some(c) => {
            let cited: BTreeSet<Relax> = c.facts.iter().copied().collect();
            if cited.len() > FILTER_LIMIT {
                // The count stands as it is, and so does its line.
                let kept = Kept {
                    facts: cited.into_iter().collect(),
                    proven: true,
                    minimal: false,
                };
                (kept, Some(c.text))
            } else {
                let others = all.iter().filter(|f| !cited.contains(f)).copied().collect();
                (
                    filter(model, cited.into_iter().collect(), others, true),
                    None,
                )
            }
        }
        None => {
            let (whole, _) = verdict(model);
            if whole == Verdict::Feasible {
                return None;
            }
            let kept = filter(model, all.clone(), Vec::new(), whole == Verdict::Infeasible);
            (kept, None)
        }
    };
    // Where the filter changed the facts, the count (if any) is made again over those left.
    let shortfall = shortfall.or_else(|| {
        let cited: BTreeSet<Relax> = kept.facts.iter().copied().collect();
        let others: Vec<Relax> = all.into_iter().filter(|f| !cited.contains(f)).collect();
        count::certificate(&relax(model, &others)).map(|c| c.text)
    });
    Some(Explanation {
        proven: kept.proven,
        minimal: kept.minimal,
        facts: kept.facts.iter().map(|&r| fact(model, r)).collect(),
        shortfall,
        inventory: inventory(model),
    })
}

fn inventory(model: &Model) -> String {
    let mut zones: Vec<&str> = model
        .nodes
        .iter()
        .filter_map(|n| n.zone.as_deref())
        .collect();
    zones.sort_unstable();
    zones.dedup();
    let total = |r: &str| -> String {
        let Some(i) = model.resources.iter().position(|x| x == r) else {
            return String::new();
        };
        let sum: u64 = model
            .nodes
            .iter()
            .map(|n| n.allocatable[i].unwrap_or(0))
            .sum();
        format!(", {r} {}", quantity::display(r, sum))
    };
    let zones = match zones.len() {
        0 => String::new(),
        _ => format!(" in {} zone(s) ({})", zones.len(), zones.join(", ")),
    };
    format!(
        "the inventory of {} node(s){zones}{}{}",
        model.nodes.len(),
        total("cpu"),
        total("memory")
    )
}

/// `fact` in the user's terms.
fn fact(model: &Model, r: Relax) -> Fact {
    let p = &model.policy;
    let wl = |w: usize| &model.workloads[w];
    let of_workload = |w: usize, field: &str, text: String| Fact {
        text,
        source: Some(wl(w).origin.to_string()),
        field: field.to_string(),
    };
    let of_policy = |field: String, text: String| Fact {
        text,
        source: p.origin.as_ref().map(ToString::to_string),
        field,
    };
    match r {
        Relax::Workload(w) => {
            let requests: Vec<String> = model
                .resources
                .iter()
                .zip(&wl(w).requests)
                .filter(|(name, &a)| a > 0 && name.as_str() != "pods")
                .map(|(name, &a)| format!("{name} {}", quantity::display(name, a)))
                .collect();
            of_workload(
                w,
                "spec.replicas",
                format!(
                    "workload {} runs {} replica(s) of {}",
                    wl(w).id,
                    wl(w).replicas,
                    if requests.is_empty() {
                        "no requests".to_string()
                    } else {
                        requests.join(", ")
                    }
                ),
            )
        }
        Relax::MinZones(w) => of_workload(
            w,
            "spec.minZones",
            format!(
                "workload {} spreads over at least {} zones",
                wl(w).id,
                wl(w).min_zones.unwrap_or(0)
            ),
        ),
        Relax::MaxPerNode(w) => of_workload(
            w,
            "spec.maxPerNode",
            format!(
                "workload {} runs at most {} replica(s) per node",
                wl(w).id,
                wl(w).max_per_node.unwrap_or(0)
            ),
        ),
        Relax::NodeLabels(w) => {
            let mut labels: Vec<String> = wl(w)
                .node_selector
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if !wl(w).node_affinity.is_empty() {
                labels.push(format!(
                    "{} required node affinity term(s)",
                    wl(w).node_affinity.len()
                ));
            }
            of_workload(
                w,
                "spec.nodeSelector",
                format!(
                    "workload {} runs only on nodes with {}",
                    wl(w).id,
                    labels.join(", ")
                ),
            )
        }
        Relax::Dedicated(w) => of_workload(
            w,
            "spec.dedicated",
            format!("workload {} has nodes of its own (dedicated)", wl(w).id),
        ),
        Relax::AntiAffinity(a, b) => of_workload(
            a,
            "spec.antiAffinity",
            format!("workloads {} and {} never share a node", wl(a).id, wl(b).id),
        ),
        Relax::CoLocation(a, b) => {
            let limit = wl(a)
                .co_location
                .iter()
                .find(|&&(x, _)| x == b)
                .map_or(0, |&(_, n)| n);
            of_workload(
                a,
                "spec.coLocation",
                format!(
                    "workload {} shares a node with at most {limit} replica(s) of {}",
                    wl(a).id,
                    wl(b).id
                ),
            )
        }
        Relax::NodeRequirement(i) => {
            let rule = &p.node_requirements[i];
            let matches: Vec<String> = rule
                .matches
                .iter()
                .map(|(k, vs)| format!("{k} in [{}]", vs.join(", ")))
                .collect();
            let labels: Vec<String> = rule
                .node_selector
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            of_policy(
                format!("spec.nodeRequirements[{i}]"),
                format!(
                    "workloads with {} run only on nodes labelled {}",
                    matches.join(", "),
                    labels.join(", ")
                ),
            )
        }
        Relax::SeparateBy(i) => of_policy(
            "spec.separateBy".to_string(),
            format!(
                "workloads that differ in {} never share a node",
                p.separate_by[i]
            ),
        ),
        Relax::Headroom => of_policy(
            "spec.headroom.nodeFailures".to_string(),
            format!(
                "every pool keeps running after losing its {} largest node(s)",
                p.node_failures
            ),
        ),
        Relax::MinNodesPerPool => of_policy(
            "spec.headroom.minNodesPerPool".to_string(),
            format!("every pool has at least {} nodes", p.min_nodes_per_pool),
        ),
        Relax::NodeOverhead => {
            let reserved: Vec<String> = model
                .resources
                .iter()
                .zip(&p.node_overhead)
                .filter(|(name, &a)| a > 0 && name.as_str() != "pods")
                .map(|(name, &a)| format!("{name} {}", quantity::display(name, a)))
                .collect();
            of_policy(
                "spec.nodeOverhead, spec.systemDaemonSets".to_string(),
                format!(
                    "every used node reserves {} for the system",
                    reserved.join(", ")
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(yaml: &str) -> Model {
        crate::model::build_from_yaml("in.yaml", yaml).unwrap_or_else(|e| panic!("{e}"))
    }

    const NODES: &str = "
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: a1}
spec: {allocatable: {cpu: '4', memory: 16Gi}, zone: a}
---
apiVersion: tierplan/v1alpha1
kind: Node
metadata: {name: b1}
spec: {allocatable: {cpu: '4', memory: 16Gi}, zone: b}
";

    #[test]
    fn a_workload_too_big_for_the_inventory_is_the_whole_explanation() {
        let m = model(&format!(
            "{NODES}---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {{name: big}}
spec: {{replicas: 3, resources: {{cpu: '3', memory: 1Gi}}, sensitivity: public}}
---
apiVersion: tierplan/v1alpha1
kind: Workload
metadata: {{name: small}}
spec: {{replicas: 2, resources: {{cpu: 100m, memory: 1Gi}}, sensitivity: public, minZones: 2}}
"
        ));
        let e = explain(&m).expect("infeasible");
        assert!(e.proven && e.minimal, "{e}");
        let texts: Vec<&str> = e.facts.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(
            texts,
            ["workload default/big runs 3 replica(s) of cpu 3, memory 1.0Gi"],
            "{e}"
        );
    }
}

#[cfg(test)]
mod regressions {
    use super::*;

    /// Found by the property test: w0 alone makes n0 suit the shared pool, so with w0 and
    /// without separation a plan exists; once w0 is dropped, w1 is infeasible anyway. The
    /// separation tried before w0 went must not stay cited.
    #[test]
    fn a_fact_needed_only_before_a_workload_went_is_not_cited() {
        let yaml = "apiVersion: tierplan/v1alpha1\nkind: Policy\nmetadata: {name: p}\nspec: {headroom: {nodeFailures: 1}}\n---\napiVersion: tierplan/v1alpha1\nkind: Node\nmetadata: {name: n0}\nspec: {allocatable: {cpu: '2', memory: 8Gi}, zone: a}\n---\napiVersion: tierplan/v1alpha1\nkind: Node\nmetadata: {name: n1}\nspec: {allocatable: {cpu: '4', memory: 8Gi}, zone: a}\n---\napiVersion: tierplan/v1alpha1\nkind: Node\nmetadata: {name: n2}\nspec: {allocatable: {cpu: '4', memory: 8Gi}, zone: a}\n---\napiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {name: w0}\nspec: {replicas: 1, resources: {cpu: 500m, memory: 1Gi}, sensitivity: internal}\n---\napiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {name: w1}\nspec: {replicas: 2, resources: {cpu: 2500m, memory: 1Gi}, sensitivity: public}\n";
        let m = crate::model::build_from_yaml("in.yaml", yaml).unwrap_or_else(|e| panic!("{e}"));
        let e = explain(&m).expect("infeasible");
        assert!(e.proven && e.minimal, "{e}");
        let fields: Vec<&str> = e.facts.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["spec.headroom.nodeFailures", "spec.replicas"],
            "{e}"
        );
    }
}

#[cfg(test)]
mod properties {
    //! pubgrub's "the explanation suffices", carried over: on random infeasible instances,
    //! the cited facts alone (every other fact relaxed) leave no plan, and without any one
    //! of them a plan exists, one the independent checker accepts.

    use super::*;
    use proptest::prelude::*;

    fn instance() -> impl Strategy<Value = String> {
        let node = (2u32..=4, 0usize..2);
        let workload = (1u32..=4, 1u32..=6, 0usize..3, any::<bool>(), any::<bool>());
        (
            proptest::collection::vec(node, 2..=4),
            proptest::collection::vec(workload, 1..=4),
            0u32..=1,
        )
            .prop_map(|(nodes, workloads, failures)| {
                let mut y = format!(
                    "apiVersion: tierplan/v1alpha1\nkind: Policy\nmetadata: {{name: p}}\nspec: {{headroom: {{nodeFailures: {failures}}}}}\n"
                );
                for (i, (cpu, zone)) in nodes.iter().enumerate() {
                    y += &format!(
                        "---\napiVersion: tierplan/v1alpha1\nkind: Node\nmetadata: {{name: n{i}}}\nspec: {{allocatable: {{cpu: '{cpu}', memory: 8Gi}}, zone: {}}}\n",
                        ["a", "b"][*zone]
                    );
                }
                for (i, (replicas, halves, level, spread, one)) in workloads.iter().enumerate() {
                    let mut rules = String::new();
                    // With one replica, minZones 2 asks for one zone (min(minZones, replicas)).
                    if *spread {
                        rules += ", minZones: 2";
                    }
                    if *one {
                        rules += ", maxPerNode: 1";
                    }
                    y += &format!(
                        "---\napiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {{name: w{i}}}\nspec: {{replicas: {replicas}, resources: {{cpu: {}m, memory: 1Gi}}, sensitivity: {}{rules}}}\n",
                        halves * 500,
                        ["public", "internal", "restricted"][*level]
                    );
                }
                y
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn the_cited_facts_suffice_and_each_is_needed(yaml in instance()) {
            let m = crate::model::build_from_yaml("in.yaml", &yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
            let (whole, _) = verdict(&m);
            prop_assume!(whole == Verdict::Infeasible);
            let kept = filter(&m, facts(&m), Vec::new(), true);
            prop_assert!(kept.proven, "{yaml}");
            prop_assume!(kept.minimal);
            prop_assert!(!kept.facts.is_empty(), "{yaml}");
            let others: Vec<Relax> = facts(&m).into_iter().filter(|f| !kept.facts.contains(f)).collect();
            prop_assert_eq!(verdict(&relax(&m, &others)).0, Verdict::Infeasible, "the cited facts alone: {:?}\n{}", kept.facts, yaml);
            for &f in &kept.facts {
                let mut without = others.clone();
                without.push(f);
                let relaxed = relax(&m, &without);
                let plan = solve::solve(&relaxed, &SolveOptions { time_limit: None, work_limit: TRIAL_WORK, ..SolveOptions::default() }).plan;
                prop_assert_ne!(plan.status, Status::Infeasible, "without {:?}\n{}", f, yaml);
                let report = crate::check::check(&relaxed, &plan);
                prop_assert!(report.is_valid(), "{}", report);
            }
        }

        /// A count is a proof: where it says no plan exists on the facts it cites, the
        /// planner finds none either (a plan the checker accepts would refute it).
        #[test]
        fn a_count_is_never_refuted_by_a_plan(yaml in instance()) {
            let m = crate::model::build_from_yaml("in.yaml", &yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
            if let Some(c) = count::certificate(&m) {
                let others: Vec<Relax> = facts(&m).into_iter().filter(|f| !c.facts.contains(f)).collect();
                let relaxed = relax(&m, &others);
                let plan = solve::solve(&relaxed, &SolveOptions { time_limit: None, work_limit: TRIAL_WORK, ..SolveOptions::default() }).plan;
                prop_assert_eq!(plan.status, Status::Infeasible, "{}\n{}", c.text, yaml);
            }
        }
    }
}
