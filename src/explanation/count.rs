//! Counting certificates: infeasibility shown by adding up, without a search.
//!
//! Two arguments, each sound on its own whatever the planner does:
//! - *capacity*: the workloads that may run only on a set of nodes request more of a
//!   resource in all than those nodes have (after node overhead, when it is needed);
//! - *node count*: workloads whose classes may not share nodes need pools of their own, each
//!   of at least so many nodes (minZones, maxPerNode, headroom, minNodesPerPool), and together
//!   more nodes than may take them.
//!
//! A certificate names the facts it uses (as [`Relax`] values of the model it was computed
//! on): with every other fact relaxed, the same count still holds, so the facts cited are
//! infeasible together. Counting never solves, so it scales to inputs far beyond what the
//! deletion filter can afford, and it gives the explanation its one-line summary.

use super::Relax;
use crate::model::{Model, Workload};
use crate::policy;
use crate::quantity;

/// Infeasibility shown by a count.
pub(super) struct Certificate {
    /// The facts the count uses.
    pub facts: Vec<Relax>,
    /// The count in the user's terms, one line.
    pub text: String,
}

/// The first count that shows `model` infeasible: capacity before node count, and of each
/// the variant that cites the fewest rules.
pub(super) fn certificate(model: &Model) -> Option<Certificate> {
    let live: Vec<usize> = (0..model.workloads.len())
        .filter(|&w| model.workloads[w].replicas > 0 && !model.workloads[w].platform)
        .collect();
    if live.is_empty() {
        return None;
    }
    // Narrowing rules (selectors, node requirements) are cited only when the count needs them.
    for narrow in [false, true] {
        let eligible: Vec<Vec<bool>> = model
            .workloads
            .iter()
            .map(|w| eligible_nodes(model, w, narrow))
            .collect();
        for overhead in [false, true] {
            if overhead && model.policy.node_overhead.iter().all(|&a| a == 0) {
                continue;
            }
            if let Some(c) = too_large(model, &live, &eligible, narrow, overhead) {
                return Some(c);
            }
            if let Some(c) = capacity(model, &live, &eligible, narrow, overhead) {
                return Some(c);
            }
            if let Some(c) = one_per_node(model, &live, &eligible, narrow, overhead) {
                return Some(c);
            }
        }
        if let Some(c) = node_count(model, &live, &eligible, narrow) {
            return Some(c);
        }
    }
    None
}

/// The nodes `w` may run on whatever else runs: untolerated taints and cordons, and
/// resources it requests that a node does not declare, always count; with `narrow`, so do
/// its nodeSelector, required node affinity and the Policy's nodeRequirements.
fn eligible_nodes(model: &Model, w: &Workload, narrow: bool) -> Vec<bool> {
    let labels = if narrow {
        match policy::required_labels(model, w) {
            Ok(l) => Some(l),
            Err(_) => return vec![false; model.nodes.len()],
        }
    } else {
        None
    };
    let mut loose = w.clone();
    loose.node_affinity.clear();
    model
        .nodes
        .iter()
        .map(|n| {
            let declared = w
                .requests
                .iter()
                .zip(&n.allocatable)
                .all(|(&r, a)| r == 0 || a.is_some());
            let constraints = match &labels {
                Some(l) => {
                    l.iter().all(|(k, v)| n.labels.get(k) == Some(v))
                        && policy::constraint_ineligibility(w, n).is_none()
                }
                None => policy::constraint_ineligibility(&loose, n).is_none(),
            };
            declared && constraints
        })
        .collect()
}

/// The narrowing rules of `workloads` a certificate with `narrow` cites.
fn narrowing(model: &Model, workloads: &[usize], out: &mut Vec<Relax>) {
    for (i, req) in model.policy.node_requirements.iter().enumerate() {
        if workloads
            .iter()
            .any(|&w| model.workloads[w].matches(&req.matches))
        {
            out.push(Relax::NodeRequirement(i));
        }
    }
    for &w in workloads {
        let wl = &model.workloads[w];
        if !wl.node_selector.is_empty() || !wl.node_affinity.is_empty() {
            out.push(Relax::NodeLabels(w));
        }
    }
}

fn subset(a: &[bool], b: &[bool]) -> bool {
    a.iter().zip(b).all(|(&x, &y)| !x || y)
}

fn count(set: &[bool]) -> usize {
    set.iter().filter(|&&x| x).count()
}

/// Of each node in `set`, what it has of resource `r` for replicas (less node overhead with
/// `overhead`).
fn usable<'a>(
    model: &'a Model,
    set: &'a [bool],
    r: usize,
    overhead: bool,
) -> impl Iterator<Item = u64> + 'a {
    let reserved = if overhead {
        model.policy.node_overhead[r]
    } else {
        0
    };
    model
        .nodes
        .iter()
        .zip(set)
        .filter(|(_, &on)| on)
        .map(move |(n, _)| n.allocatable[r].unwrap_or(0).saturating_sub(reserved))
}

/// The facts a count about workload `w` alone cites.
fn one_workload(model: &Model, w: usize, narrow: bool, overhead: bool) -> Vec<Relax> {
    let mut facts = Vec::new();
    if overhead {
        facts.push(Relax::NodeOverhead);
    }
    if narrow {
        narrowing(model, &[w], &mut facts);
    }
    facts.push(Relax::Workload(w));
    facts
}

/// A workload one replica of which is larger than every node that may take it.
fn too_large(
    model: &Model,
    live: &[usize],
    eligible: &[Vec<bool>],
    narrow: bool,
    overhead: bool,
) -> Option<Certificate> {
    for &w in live {
        let wl = &model.workloads[w];
        for (r, &request) in wl.requests.iter().enumerate() {
            let largest = usable(model, &eligible[w], r, overhead).max();
            let Some(largest) = largest.filter(|&l| l < request) else {
                continue;
            };
            let facts = one_workload(model, w, narrow, overhead);
            let name = &model.resources[r];
            let which = if narrow { " that may take it" } else { "" };
            let after = if overhead { " after node overhead" } else { "" };
            let text = format!(
                "one replica of workload {} requests {name} {}, but the largest of the {} node(s){which} has {name} {}{after}",
                wl.id,
                quantity::display(name, request),
                count(&eligible[w]),
                quantity::display(name, largest),
            );
            return Some(Certificate { facts, text });
        }
    }
    None
}

/// A workload with more replicas than nodes that may take it, where no such node holds two
/// of its replicas: each replica needs a node of its own.
fn one_per_node(
    model: &Model,
    live: &[usize],
    eligible: &[Vec<bool>],
    narrow: bool,
    overhead: bool,
) -> Option<Certificate> {
    for &w in live {
        let wl = &model.workloads[w];
        let nodes = count(&eligible[w]);
        if nodes == 0 || wl.replicas as usize <= nodes {
            continue;
        }
        // Per resource, what each node that may take it has.
        let has: Vec<Vec<u64>> = (0..model.resources.len())
            .map(|r| usable(model, &eligible[w], r, overhead).collect())
            .collect();
        let two = |r: usize| wl.requests[r].saturating_mul(2);
        if (0..nodes).any(|i| (0..has.len()).all(|r| two(r) <= has[r][i])) {
            continue;
        }
        let facts = one_workload(model, w, narrow, overhead);
        let after = if overhead { " after node overhead" } else { "" };
        let which = if narrow { " that may take it" } else { "" };
        // A resource that alone keeps every node to one replica, when there is one.
        let why = (0..has.len())
            .find(|&r| wl.requests[r] > 0 && has[r].iter().all(|&h| h < two(r)))
            .map_or_else(
                || format!(" (by its requests together{after})"),
                |r| {
                    let name = &model.resources[r];
                    let largest = has[r].iter().copied().max().unwrap_or(0);
                    format!(
                        " ({name} {} each; the largest has {name} {}{after})",
                        quantity::display(name, wl.requests[r]),
                        quantity::display(name, largest),
                    )
                },
            );
        let text = format!(
            "workload {} runs {} replicas, and no node{which} holds two of them{why}: they need {} nodes, and {nodes} node(s) may take them",
            wl.id, wl.replicas, wl.replicas,
        );
        return Some(Certificate { facts, text });
    }
    None
}

/// A resource the workloads confined to some node set request more of than the set has.
fn capacity(
    model: &Model,
    live: &[usize],
    eligible: &[Vec<bool>],
    narrow: bool,
    overhead: bool,
) -> Option<Certificate> {
    // Candidate node sets: each workload's own (the workloads grouped by it), and all nodes
    // any of them may use.
    let mut groups: Vec<(Vec<bool>, Vec<usize>)> = Vec::new();
    for &w in live {
        match groups.iter_mut().find(|(set, _)| *set == eligible[w]) {
            Some((_, ws)) => ws.push(w),
            None => groups.push((eligible[w].clone(), vec![w])),
        }
    }
    let mut sets: Vec<Vec<bool>> = groups.iter().map(|(set, _)| set.clone()).collect();
    sets.push(
        (0..model.nodes.len())
            .map(|n| groups.iter().any(|(set, _)| set[n]))
            .collect(),
    );
    sets.sort_unstable();
    sets.dedup();
    // Per candidate set: the workloads confined to it, and per resource (demand, supply).
    let totals = |set: &[bool], confined: &[usize], r: usize| -> (u128, u128) {
        let demand = confined
            .iter()
            .map(|&w| {
                let wl = &model.workloads[w];
                u128::from(wl.replicas) * u128::from(wl.requests[r])
            })
            .sum();
        let supply = usable(model, set, r, overhead).map(u128::from).sum();
        (demand, supply)
    };
    let mut best: Option<(Vec<usize>, Vec<bool>, u128, u128)> = None;
    for set in sets {
        let mut confined: Vec<usize> = groups
            .iter()
            .filter(|(own, _)| subset(own, &set))
            .flat_map(|(_, ws)| ws.iter().copied())
            .collect();
        confined.sort_unstable();
        for r in 0..model.resources.len() {
            let (demand, supply) = totals(&set, &confined, r);
            if demand <= supply {
                continue;
            }
            // The fewest workloads make the most specific explanation; then the largest
            // shortfall relative to the supply.
            let better = match &best {
                None => true,
                Some((c, _, d, s)) => {
                    confined.len() < c.len()
                        || (confined.len() == c.len() && demand * s > d * supply)
                }
            };
            if better {
                best = Some((confined.clone(), set.clone(), demand, supply));
            }
        }
    }
    let (confined, set, _, _) = best?;
    let mut facts = Vec::new();
    if overhead {
        facts.push(Relax::NodeOverhead);
    }
    if narrow {
        narrowing(model, &confined, &mut facts);
    }
    facts.extend(confined.iter().map(|&w| Relax::Workload(w)));
    // Every resource the set is short of, the most short first.
    let mut short: Vec<(usize, u128, u128)> = (0..model.resources.len())
        .map(|r| {
            let (d, s) = totals(&set, &confined, r);
            (r, d, s)
        })
        .filter(|&(_, d, s)| d > s)
        .collect();
    short.sort_by(|&(ra, da, sa), &(rb, db, sb)| (db * sa).cmp(&(da * sb)).then(ra.cmp(&rb)));
    let amount = |r: usize, a: u128| {
        let name = &model.resources[r];
        format!(
            "{name} {}",
            quantity::display(name, u64::try_from(a).unwrap_or(u64::MAX))
        )
    };
    let list = |pick: &dyn Fn(&(usize, u128, u128)) -> String| -> String {
        short.iter().map(pick).collect::<Vec<_>>().join(" and ")
    };
    let (who, request) = match confined.as_slice() {
        [w] => (format!("workload {}", model.workloads[*w].id), "requests"),
        _ => (format!("the {} workloads", confined.len()), "request"),
    };
    let which = if narrow { " that may take them" } else { "" };
    let after = if overhead { " after node overhead" } else { "" };
    let text = match count(&set) {
        0 => format!("no node may take {who}"),
        nodes => format!(
            "{who} {request} {} in all (replicas × requests), but the {nodes} node(s){which} have {}{after}: {} short",
            list(&|&(r, d, _)| amount(r, d)),
            list(&|&(r, _, s)| amount(r, s)),
            list(&|&(r, d, s)| amount(r, d - s)),
        ),
    };
    Some(Certificate { facts, text })
}

/// Nodes one pool of workload `w`'s class needs at least, and the rules that make it so
/// (each with its name for the summary).
fn pool_need(model: &Model, w: usize, headroom: bool) -> (u32, Vec<(Relax, &'static str)>) {
    let wl = &model.workloads[w];
    let mut need = 1;
    let mut why = Vec::new();
    let mut at_least = |n: u32, rule: Relax, name: &'static str| {
        if n > need {
            need = n;
            why = vec![(rule, name)];
        } else if n == need && n > 1 {
            why.push((rule, name));
        }
    };
    // A workload spans min(minZones, replicas) zones, as the checker reads minZones.
    if let Some(z) = wl.min_zones {
        at_least(z.min(wl.replicas), Relax::MinZones(w), "minZones");
    }
    if let Some(m) = wl.max_per_node.filter(|&m| m > 0) {
        at_least(wl.replicas.div_ceil(m), Relax::MaxPerNode(w), "maxPerNode");
    }
    if headroom {
        at_least(model.policy.node_failures + 1, Relax::Headroom, "headroom");
        let min = model.policy.min_nodes_per_pool;
        at_least(min, Relax::MinNodesPerPool, "minNodesPerPool");
    }
    (need, why)
}

/// Pools that may not share nodes needing more nodes in all than may take them.
fn node_count(
    model: &Model,
    live: &[usize],
    eligible: &[Vec<bool>],
    narrow: bool,
) -> Option<Certificate> {
    let mut is_live = vec![false; model.workloads.len()];
    live.iter().for_each(|&w| is_live[w] = true);
    let classes = policy::classes(model);
    for headroom in [false, true] {
        // One workload per class speaks for it: the one that needs the most nodes.
        let mut reps: Vec<(u32, usize)> = classes
            .iter()
            .filter_map(|c| {
                c.workloads
                    .iter()
                    .filter(|&&w| is_live[w])
                    .map(|&w| (pool_need(model, w, headroom).0, w))
                    .max_by_key(|&(need, w)| (need, std::cmp::Reverse(w)))
            })
            .collect();
        reps.sort_unstable_by_key(|&(need, w)| (std::cmp::Reverse(need), w));
        // Greedily, classes pairwise apart, each with the nodes its pool needs.
        let mut apart: Vec<(u32, usize)> = Vec::new();
        for &(need, w) in &reps {
            let wl = &model.workloads[w];
            if apart
                .iter()
                .all(|&(_, a)| !policy::attributes_compatible(model, wl, &model.workloads[a]))
            {
                apart.push((need, w));
            }
        }
        let needed: u32 = apart.iter().map(|&(need, _)| need).sum();
        let union: Vec<bool> = (0..model.nodes.len())
            .map(|n| apart.iter().any(|&(_, w)| eligible[w][n]))
            .collect();
        let have = count(&union);
        if (needed as usize) <= have || apart.len() < 2 {
            continue;
        }
        let workloads: Vec<usize> = apart.iter().map(|&(_, w)| w).collect();
        let mut facts = separation(model, &workloads);
        if narrow {
            narrowing(model, &workloads, &mut facts);
        }
        let mut parts = Vec::new();
        for &(need, w) in &apart {
            let wl = &model.workloads[w];
            let why = pool_need(model, w, headroom).1;
            facts.extend(why.iter().map(|&(rule, _)| rule));
            if wl.dedicated {
                facts.push(Relax::Dedicated(w));
            }
            facts.push(Relax::Workload(w));
            let names: Vec<&str> = why.iter().map(|&(_, name)| name).collect();
            let why = match names.as_slice() {
                [] => String::new(),
                rules => format!(" ({})", rules.join(", ")),
            };
            parts.push(format!("{} {need}{why}", wl.id));
        }
        facts.sort_unstable();
        facts.dedup();
        const SHOWN: usize = 6;
        let more = match parts.len().saturating_sub(SHOWN) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        parts.truncate(SHOWN);
        let text = format!(
            "the pools of {} workloads that may not share nodes need at least {needed} nodes ({}{more}), but {have} node(s) may take them",
            apart.len(),
            parts.join(", "),
        );
        return Some(Certificate { facts, text });
    }
    None
}

/// The separateBy attributes (and dedication) that keep the workloads `apart` pairwise
/// apart: every attribute, less those the pairs stay apart without (tried in order).
fn separation(model: &Model, apart: &[usize]) -> Vec<Relax> {
    let all_apart = |m: &Model| {
        apart.iter().enumerate().all(|(i, &a)| {
            apart[i + 1..]
                .iter()
                .all(|&b| !policy::attributes_compatible(m, &m.workloads[a], &m.workloads[b]))
        })
    };
    let mut m = model.clone();
    let mut kept = Vec::new();
    for (i, attr) in model.policy.separate_by.iter().enumerate() {
        m.policy.separate_by.retain(|a| a != attr);
        if !all_apart(&m) {
            m.policy.separate_by.push(attr.clone());
            kept.push(Relax::SeparateBy(i));
        }
    }
    kept
}
