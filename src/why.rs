//! Why one workload's replicas sit where a plan puts them, and why they cannot sit elsewhere
//! (`tierplan explain`).
//!
//! Owns the per-workload account of a plan: where the replicas run (grouped by pool), the
//! rules that hold them there, and, for every other pool, every node of its own pool it does
//! not use and every inventory node in no pool, the rule that keeps it off, grouped by cause
//! rather than listed per node. It is a presentation over the model and the plan: it derives
//! nothing new, takes eligibility and compatibility from `policy` (the planner's rules) and
//! never calls the solver. Each reason names the checker rule it corresponds to
//! ([`Rule::check_rule`]), so tests can confirm with `check` that it is true.

use crate::emit::{POOL_LABEL, POOL_TAINT_KEY};
use crate::explanation::Fact;
use crate::model::{Model, Node, Workload};
use crate::plan::Plan;
use crate::policy::{self, Ineligible};
use crate::quantity;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Node names shown per group before "and N more".
const SHOWN_NODES: usize = 6;

/// Which rule a reason rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A class (workloads equal on every `separateBy` attribute) stays in one pool.
    Class,
    /// `separateBy` without a `shareWhen` rule matching both workloads.
    SeparateBy,
    /// `dedicated`: a workload with nodes of its own.
    Dedicated,
    /// Platform workloads and tier workloads never share a pool.
    Platform,
    /// The workload's own `nodeSelector`.
    NodeSelector,
    /// The workload's required node affinity.
    NodeAffinity,
    /// A Policy `nodeRequirements` entry.
    NodeRequirement,
    /// A node taint the workload does not tolerate.
    Toleration,
    /// A cordoned node.
    Cordoned,
    /// One replica is larger than the node (after overhead), or needs a resource it lacks.
    Resources,
    /// `antiAffinity`.
    AntiAffinity,
    /// `coLocation`.
    CoLocation,
    /// `maxPerNode`.
    MaxPerNode,
    /// `minZones`.
    MinZones,
    /// The node is too full in this plan for one more replica.
    Capacity,
    /// No rule: the planner did not need the node or pool (cost).
    NotNeeded,
}

impl Rule {
    /// The code of the `check` violation that placing a replica against this rule raises;
    /// `None` for [`Rule::NotNeeded`], which is no rule.
    pub fn check_rule(self) -> Option<&'static str> {
        Some(match self {
            Rule::Class => "pool",
            Rule::SeparateBy | Rule::Dedicated => "compatibility",
            Rule::Platform => "platform",
            Rule::NodeSelector => "node-selector",
            Rule::NodeAffinity => "node-affinity",
            Rule::NodeRequirement => "node-requirement",
            Rule::Toleration => "toleration",
            Rule::Cordoned => "cordoned",
            Rule::Resources | Rule::Capacity => "capacity",
            Rule::AntiAffinity => "anti-affinity",
            Rule::CoLocation => "co-location",
            Rule::MaxPerNode => "max-per-node",
            Rule::MinZones => "min-zones",
            Rule::NotNeeded => return None,
        })
    }
}

/// One reason, in the user's terms, with where the rule was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// The rule it rests on.
    pub rule: Rule,
    /// What holds.
    pub text: String,
    /// The file and document of the rule (`policy.yaml: document 1`); absent for a default
    /// or for what is no rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The field (`spec.separateBy[1]`); empty for what is no rule.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field: String,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        match (&self.source, self.field.is_empty()) {
            (Some(s), false) => write!(f, " ({s}, {})", self.field),
            (Some(s), true) => write!(f, " ({s})"),
            (None, false) => write!(f, " ({})", self.field),
            (None, true) => Ok(()),
        }
    }
}

/// Nodes that share one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeGroup {
    /// Why these nodes take no replica of the workload.
    pub reason: Reason,
    /// The nodes, sorted.
    pub nodes: Vec<String>,
}

/// A node and how many replicas of the workload run on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnNode {
    /// The node.
    pub node: String,
    /// Replicas there.
    pub replicas: u32,
    /// Its zone, if labelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

/// Where the workload's replicas run in one pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Placed {
    /// The pool.
    pub pool: String,
    /// Replicas placed in it.
    pub replicas: u32,
    /// Nodes hosting them, sorted.
    pub nodes: Vec<OnNode>,
}

/// Why the workload is not in another pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exclusion {
    /// The pool.
    pub pool: String,
    /// Whether a rule keeps a replica of the workload out of it; false when only the
    /// planner's choice does (the whole class could move there).
    pub excluded: bool,
    /// Every pool-wide reason found (class attributes, dedicated, platform), or what no
    /// rule decides.
    pub reasons: Vec<Reason>,
    /// When no node of the pool could take a replica: its nodes grouped by why.
    pub nodes: Vec<NodeGroup>,
}

/// Replicas not placed for the same reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnplacedGroup {
    /// How many.
    pub replicas: u32,
    /// The plan's reasons.
    pub reasons: Vec<String>,
}

/// Why one workload's replicas sit where the plan puts them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadExplanation {
    /// `namespace/name`.
    pub workload: String,
    /// Its class (see `Model::class_name`).
    pub class: String,
    /// Where it was read.
    pub source: String,
    /// Replicas it asks for.
    pub replicas: u32,
    /// Where they run, per pool.
    pub placed: Vec<Placed>,
    /// The rules that hold it there, and how the plan meets them.
    pub held_by: Vec<Reason>,
    /// Nodes of its own pool(s) without a replica of it, grouped by why.
    pub pool_nodes_unused: Vec<NodeGroup>,
    /// Every other pool of the plan, with why the workload is not there.
    pub other_pools: Vec<Exclusion>,
    /// Inventory nodes in no pool, grouped by why the workload is not there.
    pub unused_nodes: Vec<NodeGroup>,
    /// Replicas the plan could not place, grouped by their reasons.
    pub unplaced: Vec<UnplacedGroup>,
    /// The facts of the plan's infeasibility explanation that name this workload.
    pub explanation: Vec<Fact>,
    /// Anything odd about the plan as it concerns this workload.
    pub notes: Vec<String>,
}

/// A workload id the model does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no workload `{id}` in the input{}", hint(.close))]
pub struct UnknownWorkload {
    /// The id asked for.
    pub id: String,
    /// The closest ids of the input, best first.
    pub close: Vec<String>,
}

fn hint(close: &[String]) -> String {
    match close {
        [] => "\n  fix: give the id as `namespace/name`, as plan.json lists it".to_string(),
        _ => format!("\n  did you mean: {}", close.join(", ")),
    }
}

/// The workload ids of `model` closest to `id`, best first (at most 5).
pub fn close_matches(model: &Model, id: &str) -> Vec<String> {
    let given = id.to_lowercase();
    let name = given.rsplit('/').next().unwrap_or(&given).to_string();
    let mut scored: Vec<(f64, &str)> = model
        .workloads
        .iter()
        .map(|w| {
            let whole = strsim::jaro_winkler(&given, &w.id.to_lowercase());
            let own = strsim::jaro_winkler(&name, &w.name.to_lowercase());
            (whole.max(own), w.id.as_str())
        })
        .filter(|(score, _)| *score >= 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(5)
        .map(|(_, id)| id.to_string())
        .collect()
}

/// The plan's state around the workload: nodes (bought ones included), what each hosts.
struct Ctx<'a> {
    model: &'a Model,
    /// The model's nodes and the ones the plan buys.
    nodes: Vec<Node>,
    /// Per node of `nodes`: workload → replicas placed there.
    hosted: Vec<BTreeMap<usize, u32>>,
    /// Node name → index in `nodes`.
    index: BTreeMap<String, usize>,
}

impl<'a> Ctx<'a> {
    fn new(model: &'a Model, plan: &Plan) -> Self {
        let nodes = crate::report::with_bought_nodes(model, plan).nodes;
        let index: BTreeMap<String, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        let mut hosted = vec![BTreeMap::new(); nodes.len()];
        for p in &plan.placements {
            if let (Some(&n), Some(w)) = (index.get(&p.node), model.workload_index(&p.workload)) {
                *hosted[n].entry(w).or_insert(0) += 1;
            }
        }
        Ctx {
            model,
            nodes,
            hosted,
            index,
        }
    }

    /// Free amount of resource `r` on node `n` in this plan (`None`: undeclared).
    fn free(&self, n: usize, r: usize) -> Option<u64> {
        let node = &self.nodes[n];
        let used: u64 = self.hosted[n]
            .iter()
            .map(|(&w, &k)| self.model.workloads[w].requests[r].saturating_mul(u64::from(k)))
            .fold(0, u64::saturating_add);
        node.allocatable[r].map(|a| {
            a.saturating_sub(self.model.policy.node_overhead[r])
                .saturating_sub(used)
        })
    }

    /// Why node `n` can never take a replica of `w`.
    fn static_cause(&self, w: usize, n: usize) -> Option<Cause> {
        let wl = &self.model.workloads[w];
        let node = &self.nodes[n];
        let labels = match policy::required_labels(self.model, wl) {
            Ok(l) => l,
            Err(c) => return Some(Cause::Conflict(c.to_string())),
        };
        policy::ineligibility(self.model, wl, &labels, node).map(|why| match why {
            Ineligible::Label(k, v) => Cause::Label(k, v),
            Ineligible::Undeclared(r) => Cause::Undeclared(r),
            Ineligible::TooSmall(r, _) => Cause::TooSmall(r),
            Ineligible::Affinity(terms) => Cause::Affinity(terms.join("; ")),
            Ineligible::Cordoned => Cause::Cordoned,
            Ineligible::Taint(t) => Cause::Taint(format!("{}={}:{}", t.key, t.value, t.effect)),
        })
    }

    /// Why node `n`, as the plan leaves it, takes no further replica of `w`: a static cause,
    /// then anti-affinity, coLocation and free capacity.
    fn cause(&self, w: usize, n: usize) -> Cause {
        if let Some(c) = self.static_cause(w, n) {
            return c;
        }
        let wl = &self.model.workloads[w];
        let hosted = &self.hosted[n];
        if let Some(&x) = wl.anti_affinity.iter().find(|x| hosted.contains_key(x)) {
            return Cause::AntiAffinity(x);
        }
        let mine = hosted.get(&w).copied().unwrap_or(0);
        for &(x, k) in &wl.co_location {
            if hosted.get(&x).copied().unwrap_or(0) > k {
                return Cause::CoLocation(w, x, k);
            }
        }
        for (&x, _) in hosted.iter().filter(|(&x, _)| x != w) {
            if let Some(&(_, k)) = self.model.workloads[x]
                .co_location
                .iter()
                .find(|(y, _)| *y == w)
            {
                if mine + 1 > k {
                    return Cause::CoLocation(x, w, k);
                }
            }
        }
        if wl.max_per_node.is_some_and(|m| mine >= m) {
            return Cause::MaxPerNode;
        }
        for (r, &req) in wl.requests.iter().enumerate() {
            if req > 0 && self.free(n, r).is_some_and(|f| f < req) {
                return Cause::Full(r);
            }
        }
        Cause::Spare
    }
}

/// Why a node takes no replica: the key nodes are grouped by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Cause {
    /// The workload's required labels contradict each other.
    Conflict(String),
    /// Missing or different label (key, value).
    Label(String, String),
    Affinity(String),
    Cordoned,
    Taint(String),
    Undeclared(usize),
    TooSmall(usize),
    AntiAffinity(usize),
    /// (workload limiting, workload limited, limit).
    CoLocation(usize, usize, u32),
    MaxPerNode,
    Full(usize),
    Spare,
}

fn rule_of(c: &Cause, w: &Workload) -> Rule {
    match c {
        Cause::Conflict(_) => Rule::NodeRequirement,
        Cause::Label(k, v) if w.node_selector.get(k) == Some(v) => Rule::NodeSelector,
        Cause::Label(..) => Rule::NodeRequirement,
        Cause::Affinity(_) => Rule::NodeAffinity,
        Cause::Cordoned => Rule::Cordoned,
        Cause::Taint(_) => Rule::Toleration,
        Cause::Undeclared(_) | Cause::TooSmall(_) => Rule::Resources,
        Cause::AntiAffinity(_) => Rule::AntiAffinity,
        Cause::CoLocation(..) => Rule::CoLocation,
        Cause::MaxPerNode => Rule::MaxPerNode,
        Cause::Full(_) => Rule::Capacity,
        Cause::Spare => Rule::NotNeeded,
    }
}

/// Sources in the user's terms.
struct Cite<'a> {
    model: &'a Model,
}

impl Cite<'_> {
    fn workload(&self, w: usize, rule: Rule, field: &str, text: String) -> Reason {
        Reason {
            rule,
            text,
            source: Some(self.model.workloads[w].origin.to_string()),
            field: field.to_string(),
        }
    }

    fn policy(&self, rule: Rule, field: String, text: String) -> Reason {
        Reason {
            rule,
            text,
            source: self.model.policy.origin.as_ref().map(ToString::to_string),
            field,
        }
    }

    fn none(&self, text: String) -> Reason {
        Reason {
            rule: Rule::NotNeeded,
            text,
            source: None,
            field: String::new(),
        }
    }

    fn amount(&self, r: usize, a: u64) -> String {
        quantity::display(&self.model.resources[r], a).to_string()
    }

    /// The reason for `nodes` (indices into `ctx.nodes`), all of `cause`; `what` is how the
    /// sentence names them (`3 node(s)`, `its 6 node(s)`), `spare` what no rule keeping
    /// them off means here.
    fn group(
        &self,
        ctx: &Ctx,
        w: usize,
        cause: &Cause,
        nodes: &[usize],
        what: &str,
        spare: &str,
    ) -> Reason {
        let wl = &self.model.workloads[w];
        let rule = rule_of(cause, wl);
        // The verb after `what`: plural unless it names one node.
        let one = nodes.len() == 1;
        let verb =
            |plural: &'static str, singular: &'static str| if one { singular } else { plural };
        let req = |r: usize| self.amount(r, wl.requests[r]);
        // Nodes short of resource `r` for one replica.
        let short = |r: usize, largest: Option<u64>, state: String, measure: &str| {
            let largest = self.amount(r, largest.unwrap_or(0));
            let text = format!("{what} {state} (largest {measure} {largest} < {})", req(r));
            self.workload(w, rule, "spec.resources", text)
        };
        let name = |r: usize| self.model.resources[r].as_str();
        match cause {
            Cause::Conflict(why) => self.workload(
                w,
                rule,
                "spec.nodeSelector",
                format!("{what}: none can host it: {why}"),
            ),
            Cause::Label(k, v) => {
                let text = format!(
                    "{what} {} the label {k}={v} it requires",
                    verb("lack", "lacks")
                );
                match rule {
                    Rule::NodeSelector => self.workload(w, rule, "spec.nodeSelector", text),
                    _ => {
                        let i = self
                            .model
                            .policy
                            .node_requirements
                            .iter()
                            .position(|req| {
                                wl.matches(&req.matches) && req.node_selector.get(k) == Some(v)
                            })
                            .unwrap_or(0);
                        self.policy(rule, format!("spec.nodeRequirements[{i}]"), text)
                    }
                }
            }
            Cause::Affinity(unmet) => self.workload(
                w,
                rule,
                "spec.nodeAffinity",
                format!(
                    "{what} {} no term of its required node affinity (unmet: {unmet})",
                    verb("match", "matches")
                ),
            ),
            Cause::Cordoned => self.workload(
                w,
                rule,
                "spec.tolerations",
                format!(
                    "{what} {} cordoned, and it does not tolerate node.kubernetes.io/unschedulable",
                    verb("are", "is")
                ),
            ),
            Cause::Taint(t) => self.workload(
                w,
                rule,
                "spec.tolerations",
                format!(
                    "{what} {} the taint {t}, which it does not tolerate",
                    verb("carry", "carries")
                ),
            ),
            Cause::Undeclared(r) => self.workload(
                w,
                rule,
                "spec.resources",
                format!(
                    "{what} {} no {} and it requests {}",
                    verb("declare", "declares"),
                    name(*r),
                    req(*r)
                ),
            ),
            Cause::TooSmall(r) => {
                let largest = nodes
                    .iter()
                    .filter_map(|&n| policy::usable_capacity(self.model, &ctx.nodes[n])[*r]);
                let state = format!("{} too small for one replica", verb("are", "is"));
                short(
                    *r,
                    largest.max(),
                    state,
                    &format!("{} after overhead", name(*r)),
                )
            }
            Cause::AntiAffinity(x) => {
                let other = &self.model.workloads[*x];
                Reason {
                    rule,
                    text: format!(
                        "{what} {} {}, which it never shares a node with (antiAffinity)",
                        verb("host", "hosts"),
                        other.id
                    ),
                    source: Some(format!("{} or {}", wl.origin, other.origin)),
                    field: "spec.antiAffinity".into(),
                }
            }
            Cause::CoLocation(a, b, k) => {
                let (wa, wb) = (&self.model.workloads[*a], &self.model.workloads[*b]);
                let text = if *a == w {
                    format!(
                        "{what} {} more than {k} replica(s) of {} (coLocation)",
                        verb("host", "hosts"),
                        wb.id
                    )
                } else {
                    format!(
                        "{what} {} {}, which allows at most {k} replica(s) of this workload beside it (coLocation)",
                        verb("host", "hosts"),
                        wa.id
                    )
                };
                self.workload(*a, rule, "spec.coLocation", text)
            }
            Cause::MaxPerNode => self.workload(
                w,
                rule,
                "spec.maxPerNode",
                format!(
                    "{what} already {} {} replica(s), its maxPerNode",
                    verb("run", "runs"),
                    wl.max_per_node.unwrap_or(0)
                ),
            ),
            Cause::Full(r) => {
                let largest = nodes.iter().filter_map(|&n| ctx.free(n, *r)).max();
                let state = format!(
                    "{} too little free {} in this plan",
                    verb("have", "has"),
                    name(*r)
                );
                short(*r, largest, state, "free")
            }
            Cause::Spare => self.none(format!("{what} {spare}")),
        }
    }
}

/// `nodes` grouped by their cause, in cause order.
fn grouped(nodes: &[usize], by: impl Fn(usize) -> Cause) -> Vec<(Cause, Vec<usize>)> {
    let mut groups: BTreeMap<Cause, Vec<usize>> = BTreeMap::new();
    for &n in nodes {
        groups.entry(by(n)).or_default().push(n);
    }
    groups.into_iter().collect()
}

fn count_nodes(k: usize) -> String {
    if k == 1 {
        "1 node".to_string()
    } else {
        format!("{k} nodes")
    }
}

/// Explains where the plan puts workload `id` and why; `Err` when the model has no such
/// workload.
pub fn explain_workload(
    model: &Model,
    plan: &Plan,
    id: &str,
) -> Result<WorkloadExplanation, UnknownWorkload> {
    let Some(w) = model.workload_index(id) else {
        return Err(UnknownWorkload {
            id: id.to_string(),
            close: close_matches(model, id),
        });
    };
    let ctx = Ctx::new(model, plan);
    let cite = Cite { model };
    let wl = &model.workloads[w];
    let mut notes = Vec::new();

    // Where it runs.
    let mut per_node: BTreeMap<&str, u32> = BTreeMap::new();
    for p in plan.placements.iter().filter(|p| p.workload == wl.id) {
        *per_node.entry(&p.node).or_insert(0) += 1;
    }
    let own: Vec<usize> = plan
        .pools
        .iter()
        .enumerate()
        .filter(|(_, p)| p.workloads.contains(&wl.id))
        .map(|(i, _)| i)
        .collect();
    let mut placed = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for &p in &own {
        let pool = &plan.pools[p];
        let nodes: Vec<OnNode> = pool
            .nodes
            .iter()
            .filter_map(|n| {
                let k = *per_node.get(n.as_str())?;
                seen.insert(n);
                Some(OnNode {
                    node: n.clone(),
                    replicas: k,
                    zone: ctx.index.get(n).and_then(|&i| ctx.nodes[i].zone.clone()),
                })
            })
            .collect();
        placed.push(Placed {
            pool: pool.name.clone(),
            replicas: nodes.iter().map(|n| n.replicas).sum(),
            nodes,
        });
    }
    let outside: Vec<&str> = per_node
        .keys()
        .copied()
        .filter(|n| !seen.contains(n))
        .collect();
    if !outside.is_empty() {
        notes.push(format!(
            "the plan places replicas on nodes outside its pool: {}",
            outside.join(", ")
        ));
    }
    if own.is_empty() {
        notes.push("the plan lists it in no pool".to_string());
    } else if own.len() > 1 {
        notes.push("the plan lists it in several pools".to_string());
    }

    let held_by = held_by(&ctx, &cite, w, plan, &own, &per_node);

    // Nodes of its own pool(s) it does not use.
    let unused_own: Vec<usize> = own
        .iter()
        .flat_map(|&p| plan.pools[p].nodes.iter())
        .filter(|n| !per_node.contains_key(n.as_str()))
        .filter_map(|n| ctx.index.get(n).copied())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let pool_nodes_unused = grouped(&unused_own, |n| ctx.cause(w, n))
        .into_iter()
        .map(|(cause, nodes)| {
            let what = count_nodes(nodes.len());
            let spare = "could take a replica but its replicas and rules are met elsewhere (the pool's spare, e.g. headroom)";
            node_group(&ctx, &cite.group(&ctx, w, &cause, &nodes, &what, spare), &nodes)
        })
        .collect();

    // Every other pool.
    let other_pools = plan
        .pools
        .iter()
        .enumerate()
        .filter(|(i, _)| !own.contains(i))
        .map(|(i, _)| exclusion(&ctx, &cite, w, plan, i, &own))
        .collect();

    // Inventory nodes in no pool.
    let pooled: BTreeSet<&str> = plan
        .pools
        .iter()
        .flat_map(|p| p.nodes.iter().map(String::as_str))
        .collect();
    let free_nodes: Vec<usize> = model
        .nodes
        .iter()
        .filter(|n| !pooled.contains(n.name.as_str()))
        .filter_map(|n| ctx.index.get(&n.name).copied())
        .collect();
    let unused_nodes = grouped(&free_nodes, |n| {
        ctx.static_cause(w, n).unwrap_or(Cause::Spare)
    })
    .into_iter()
    .map(|(cause, nodes)| {
        let what = count_nodes(nodes.len());
        let spare = "could host it but no pool needed them (a node in a pool costs money)";
        node_group(
            &ctx,
            &cite.group(&ctx, w, &cause, &nodes, &what, spare),
            &nodes,
        )
    })
    .collect();

    // Unplaced replicas and the plan's explanation.
    let mut by_reasons: BTreeMap<&[String], u32> = BTreeMap::new();
    for u in plan.unplaced.iter().filter(|u| u.workload == wl.id) {
        *by_reasons.entry(&u.reasons).or_insert(0) += 1;
    }
    let unplaced = by_reasons
        .into_iter()
        .map(|(reasons, replicas)| UnplacedGroup {
            replicas,
            reasons: reasons.to_vec(),
        })
        .collect::<Vec<_>>();
    let explanation = plan
        .explanation
        .iter()
        .flat_map(|e| &e.facts)
        .filter(|f| names(&f.text, &wl.id))
        .cloned()
        .collect();
    let placed_total: u32 = per_node.values().sum();
    let unplaced_total: u32 = unplaced.iter().map(|u| u.replicas).sum();
    if placed_total + unplaced_total != wl.replicas {
        notes.push(format!(
            "the plan accounts for {} of its {} replicas (placed or unplaced): was it made for these inputs?",
            placed_total + unplaced_total,
            wl.replicas
        ));
    }
    Ok(WorkloadExplanation {
        workload: wl.id.clone(),
        class: model.class_name(wl),
        source: wl.origin.to_string(),
        replicas: wl.replicas,
        placed,
        held_by,
        pool_nodes_unused,
        other_pools,
        unused_nodes,
        unplaced,
        explanation,
        notes,
    })
}

fn node_group(ctx: &Ctx, reason: &Reason, nodes: &[usize]) -> NodeGroup {
    NodeGroup {
        reason: reason.clone(),
        nodes: nodes.iter().map(|&n| ctx.nodes[n].name.clone()).collect(),
    }
}

/// Whether `text` names workload `id` as a whole word (not a longer id it begins).
fn names(text: &str, id: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '/';
    text.match_indices(id).any(|(i, _)| {
        !text[..i].chars().next_back().is_some_and(word)
            && !text[i + id.len()..].chars().next().is_some_and(word)
    })
}

/// The rules that hold `w` in its pool(s), and how the plan meets them.
fn held_by(
    ctx: &Ctx,
    cite: &Cite,
    w: usize,
    plan: &Plan,
    own: &[usize],
    per_node: &BTreeMap<&str, u32>,
) -> Vec<Reason> {
    let model = ctx.model;
    let wl = &model.workloads[w];
    let mut out = Vec::new();
    let pools: Vec<&str> = own.iter().map(|&p| plan.pools[p].name.as_str()).collect();
    let pool = pools.join(", ");
    let class = model.class_name(wl);
    if wl.platform {
        out.push(cite.workload(
            w,
            Rule::Platform,
            "spec.platform",
            format!("a platform workload: it runs in the platform pool `{pool}`, whose nodes get no pool label or taint"),
        ));
    } else if wl.dedicated {
        out.push(cite.workload(
            w,
            Rule::Dedicated,
            "spec.dedicated",
            format!("dedicated: pool `{pool}` holds it alone"),
        ));
    } else {
        let mates = class_mates(model, plan, own, w);
        let fields: Vec<String> = model
            .policy
            .separate_by
            .iter()
            .map(|a| format!("spec.{a}"))
            .collect();
        out.push(cite.workload(
            w,
            Rule::Class,
            &fields.join(", "),
            format!(
                "its class {class} is in pool `{pool}` (with {} other workload(s) of the class); a class stays in one pool",
                mates.len()
            ),
        ));
        out.extend(shared_with(ctx, cite, w, plan, own));
        out.push(Reason {
            rule: Rule::Toleration,
            text: format!(
                "its pods tolerate the pool's taint {POOL_TAINT_KEY}={pool}:NoSchedule and select {POOL_LABEL}={pool} (tierplan's patch of the workload)"
            ),
            source: None,
            field: String::new(),
        });
    }
    let used: Vec<usize> = per_node
        .keys()
        .filter_map(|n| ctx.index.get(*n).copied())
        .collect();
    let on = count_nodes(used.len());
    if let Ok(labels) = policy::required_labels(model, wl) {
        for (k, v) in &labels {
            let text = format!("needs the node label {k}={v}: the {on} it runs on have it");
            if wl.node_selector.get(k) == Some(v) {
                out.push(cite.workload(w, Rule::NodeSelector, "spec.nodeSelector", text));
            } else if let Some(i) = model
                .policy
                .node_requirements
                .iter()
                .position(|r| wl.matches(&r.matches) && r.node_selector.get(k) == Some(v))
            {
                out.push(cite.policy(
                    Rule::NodeRequirement,
                    format!("spec.nodeRequirements[{i}]"),
                    text,
                ));
            }
        }
    }
    if !wl.node_affinity.is_empty() {
        out.push(cite.workload(
            w,
            Rule::NodeAffinity,
            "spec.nodeAffinity",
            format!(
                "its required node affinity ({} term(s)) holds on the {on} it runs on",
                wl.node_affinity.len()
            ),
        ));
    }
    let mut taints: BTreeSet<String> = BTreeSet::new();
    for &n in &used {
        for t in ctx.nodes[n]
            .taints
            .iter()
            .filter(|t| t.key != POOL_TAINT_KEY && t.effect != "PreferNoSchedule")
        {
            taints.insert(format!("{}={}:{}", t.key, t.value, t.effect));
        }
    }
    if !taints.is_empty() {
        out.push(cite.workload(
            w,
            Rule::Toleration,
            "spec.tolerations",
            format!(
                "tolerates the taint(s) of the nodes it runs on: {}",
                taints.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    if let Some(m) = wl.max_per_node {
        let most = per_node.values().copied().max().unwrap_or(0);
        out.push(cite.workload(
            w,
            Rule::MaxPerNode,
            "spec.maxPerNode",
            format!("maxPerNode {m}: met, at most {most} replica(s) on a node"),
        ));
    }
    if let Some(min) = wl.min_zones {
        let zones: BTreeSet<&str> = used
            .iter()
            .filter_map(|&n| ctx.nodes[n].zone.as_deref())
            .collect();
        let need = min.min(wl.replicas) as usize;
        let met = if zones.len() >= need {
            "met"
        } else {
            "NOT met"
        };
        out.push(cite.workload(
            w,
            Rule::MinZones,
            "spec.minZones",
            format!(
                "minZones {min}: {met}, zones used: {}",
                zones.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    for &x in &wl.anti_affinity {
        let other = &model.workloads[x];
        out.push(Reason {
            rule: Rule::AntiAffinity,
            text: format!(
                "never shares a node with {} (antiAffinity): no node it runs on hosts it",
                other.id
            ),
            source: Some(format!("{} or {}", wl.origin, other.origin)),
            field: "spec.antiAffinity".into(),
        });
    }
    for &(x, k) in &wl.co_location {
        out.push(cite.workload(
            w,
            Rule::CoLocation,
            "spec.coLocation",
            format!(
                "at most {k} replica(s) of {} beside it (coLocation): met",
                model.workloads[x].id
            ),
        ));
    }
    out
}

/// The other workloads of `w`'s class in its pool(s).
fn class_mates<'p>(model: &Model, plan: &'p Plan, own: &[usize], w: usize) -> Vec<&'p str> {
    let class = model.class_name(&model.workloads[w]);
    own.iter()
        .flat_map(|&p| plan.pools[p].workloads.iter())
        .filter(|x| {
            **x != model.workloads[w].id
                && model
                    .workload_index(x)
                    .is_some_and(|i| model.class_name(&model.workloads[i]) == class)
        })
        .map(String::as_str)
        .collect()
}

/// The other classes in `w`'s pool(s) and the `shareWhen` rule that lets each share with it.
fn shared_with(ctx: &Ctx, cite: &Cite, w: usize, plan: &Plan, own: &[usize]) -> Vec<Reason> {
    let model = ctx.model;
    let wl = &model.workloads[w];
    let class = model.class_name(wl);
    let mut others: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for x in own
        .iter()
        .flat_map(|&p| plan.pools[p].workloads.iter())
        .filter_map(|x| model.workload_index(x))
    {
        let other = &model.workloads[x];
        if !other.platform && model.class_name(other) != class {
            others.entry(model.class_name(other)).or_default().push(x);
        }
    }
    let policy = &model.policy;
    others
        .into_iter()
        .map(|(name, members)| {
            let other = &model.workloads[members[0]];
            let (mut rules, mut differ) = (Vec::new(), Vec::new());
            for a in policy
                .separate_by
                .iter()
                .filter(|a| wl.attribute(a) != other.attribute(a))
            {
                differ.push(format!("{a} ({} vs {})", wl.attribute(a), other.attribute(a)));
                if let Some(i) = policy
                    .share_when
                    .iter()
                    .position(|r| r.contains_key(a) && wl.matches(r) && other.matches(r))
                {
                    rules.push(format!("spec.shareWhen[{i}]"));
                }
            }
            cite.policy(
                Rule::SeparateBy,
                rules.join(", "),
                format!(
                    "shares its pool with class {name} ({} workload(s)): they differ in {}, which shareWhen lets share",
                    members.len(),
                    differ.join(", ")
                ),
            )
        })
        .collect()
}

/// Why `w` is not in pool `p`.
fn exclusion(ctx: &Ctx, cite: &Cite, w: usize, plan: &Plan, p: usize, own: &[usize]) -> Exclusion {
    let model = ctx.model;
    let wl = &model.workloads[w];
    let pool = &plan.pools[p];
    let members: Vec<usize> = pool
        .workloads
        .iter()
        .filter_map(|x| model.workload_index(x))
        .filter(|&x| x != w)
        .collect();
    let mut reasons = Vec::new();
    // Pool-wide: platform, dedicated, separateBy.
    if pool.platform != wl.platform {
        let text = if wl.platform {
            "a tier pool, and platform workloads run only in the platform pool".to_string()
        } else {
            "the platform pool, whose nodes any pod may use; tier workloads stay out".to_string()
        };
        reasons.push(cite.workload(w, Rule::Platform, "spec.platform", text));
    }
    if wl.dedicated && !members.is_empty() {
        reasons.push(cite.workload(
            w,
            Rule::Dedicated,
            "spec.dedicated",
            format!(
                "it is dedicated (shares nodes with no other workload), and the pool holds {} workload(s)",
                members.len()
            ),
        ));
    }
    if !wl.platform {
        for &d in members.iter().filter(|&&x| model.workloads[x].dedicated) {
            reasons.push(cite.workload(
                d,
                Rule::Dedicated,
                "spec.dedicated",
                format!(
                    "holds {}, which is dedicated (shares nodes with no other workload)",
                    model.workloads[d].id
                ),
            ));
        }
    }
    if !wl.platform && !wl.dedicated {
        // Conflicting members grouped by (attribute, their value).
        let mut conflicts: BTreeMap<(usize, &str), Vec<&str>> = BTreeMap::new();
        for &x in &members {
            let other = &model.workloads[x];
            if other.platform || other.dedicated {
                continue;
            }
            if let Some(attr) = policy::separating_attribute(model, wl, other) {
                let i = model
                    .policy
                    .separate_by
                    .iter()
                    .position(|a| a == attr)
                    .unwrap_or(0);
                conflicts
                    .entry((i, other.attribute(attr)))
                    .or_default()
                    .push(&other.id);
            }
        }
        for ((i, value), ids) in conflicts {
            let attr = &model.policy.separate_by[i];
            let shown: Vec<&str> = ids.iter().copied().take(3).collect();
            let more = if ids.len() > 3 {
                format!(" and {} more", ids.len() - 3)
            } else {
                String::new()
            };
            let share = if model.policy.share_when.is_empty() {
                String::new()
            } else {
                " and no shareWhen rule matches both".to_string()
            };
            reasons.push(cite.policy(
                Rule::SeparateBy,
                format!("spec.separateBy[{i}]"),
                format!(
                    "holds {attr}={value} workloads ({}{more}); this one is {attr}={}, and separateBy lists {attr}{share}",
                    shown.join(", "),
                    wl.attribute(attr)
                ),
            ));
        }
    }
    // Node-wide: when no node of the pool can ever host it.
    let nodes: Vec<usize> = pool
        .nodes
        .iter()
        .filter_map(|n| ctx.index.get(n).copied())
        .collect();
    let total = nodes.len();
    let what = |k: usize| match (k == total, total) {
        (true, 1) => "its only node".to_string(),
        (true, 2) => "both its nodes".to_string(),
        (true, _) => format!("all its {total} nodes"),
        (false, _) => format!("{k} of its {total} nodes"),
    };
    let mut node_groups = Vec::new();
    if total > 0 && nodes.iter().all(|&n| ctx.static_cause(w, n).is_some()) {
        for (cause, group) in grouped(&nodes, |n| ctx.static_cause(w, n).unwrap_or(Cause::Spare)) {
            let reason = cite.group(ctx, w, &cause, &group, &what(group.len()), "");
            node_groups.push(node_group(ctx, &reason, &group));
        }
    }
    if reasons.is_empty() && node_groups.is_empty() {
        // No rule keeps its class out; what does this plan leave?
        let states: Vec<(Cause, Vec<usize>)> = grouped(&nodes, |n| ctx.cause(w, n));
        let blocked = states.iter().all(|(c, _)| *c != Cause::Spare);
        let mates = class_mates(model, plan, own, w);
        if !mates.is_empty() {
            reasons.push(cite.workload(
                w,
                Rule::Class,
                "metadata",
                format!(
                    "no rule keeps its class out, but the class moves as a whole: {} other workload(s) of it are where it is",
                    mates.len()
                ),
            ));
        }
        if blocked && !nodes.is_empty() {
            for (cause, group) in states {
                let reason = cite.group(ctx, w, &cause, &group, &what(group.len()), "");
                node_groups.push(node_group(ctx, &reason, &group));
            }
        } else {
            reasons.push(cite.none(format!(
                "the rules allow it{}; the planner chose otherwise (its plan is cheaper or needs fewer nodes)",
                if node_groups.is_empty() { "" } else { " on its other nodes" }
            )));
        }
    }
    let rule = |r: &Reason| !matches!(r.rule, Rule::Class | Rule::NotNeeded);
    Exclusion {
        pool: pool.name.clone(),
        excluded: reasons.iter().any(rule) || node_groups.iter().any(|g| rule(&g.reason)),
        reasons,
        nodes: node_groups,
    }
}

/// `names` as one line: the first few, then how many more.
fn list(names: &[String]) -> String {
    let mut s = names
        .iter()
        .take(SHOWN_NODES)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN_NODES {
        s += &format!(" and {} more", names.len() - SHOWN_NODES);
    }
    s
}

/// `title` and one line per group, or nothing when there are none.
fn groups(f: &mut fmt::Formatter<'_>, title: &str, groups: &[NodeGroup]) -> fmt::Result {
    if !groups.is_empty() {
        writeln!(f, "{title}")?;
    }
    for g in groups {
        writeln!(f, "  - {}: {}", g.reason, list(&g.nodes))?;
    }
    Ok(())
}

impl fmt::Display for WorkloadExplanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "workload {} ({} replica(s), class {}; {})",
            self.workload, self.replicas, self.class, self.source
        )?;
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        for p in &self.placed {
            let nodes: Vec<String> = p
                .nodes
                .iter()
                .map(|n| match (n.replicas, &n.zone) {
                    (1, Some(z)) => format!("{} ({z})", n.node),
                    (1, None) => n.node.clone(),
                    (k, Some(z)) => format!("{} ({z}, {k} replicas)", n.node),
                    (k, None) => format!("{} ({k} replicas)", n.node),
                })
                .collect();
            if p.nodes.is_empty() {
                writeln!(f, "placed: none, in pool `{}`", p.pool)?;
                continue;
            }
            writeln!(
                f,
                "placed: {} replica(s) on {} of pool `{}`: {}",
                p.replicas,
                count_nodes(p.nodes.len()),
                p.pool,
                list(&nodes)
            )?;
        }
        if !self.held_by.is_empty() {
            writeln!(f, "held there by:")?;
            for r in &self.held_by {
                writeln!(f, "  - {r}")?;
            }
        }
        groups(
            f,
            "nodes of its pool without a replica of it:",
            &self.pool_nodes_unused,
        )?;
        if !self.other_pools.is_empty() {
            writeln!(f, "other pools:")?;
            for e in &self.other_pools {
                let verdict = if e.excluded { "excluded" } else { "not chosen" };
                match (e.reasons.as_slice(), e.nodes.is_empty()) {
                    ([one], true) => writeln!(f, "  - `{}` {verdict}: {one}", e.pool)?,
                    (many, _) => {
                        writeln!(f, "  - `{}` {verdict}:", e.pool)?;
                        for r in many {
                            writeln!(f, "      {r}")?;
                        }
                        for g in &e.nodes {
                            writeln!(f, "      {}: {}", g.reason, list(&g.nodes))?;
                        }
                    }
                }
            }
        }
        groups(f, "inventory nodes in no pool:", &self.unused_nodes)?;
        for u in &self.unplaced {
            writeln!(
                f,
                "unplaced: {} replica(s): {}",
                u.replicas,
                u.reasons.join("; ")
            )?;
        }
        if !self.explanation.is_empty() {
            writeln!(f, "the plan's explanation of why no plan exists cites it:")?;
            for fact in &self.explanation {
                match &fact.source {
                    Some(s) => writeln!(f, "  - {} ({s}, {})", fact.text, fact.field)?,
                    None => writeln!(f, "  - {} ({})", fact.text, fact.field)?,
                }
            }
        }
        Ok(())
    }
}
