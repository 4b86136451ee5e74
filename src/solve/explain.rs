//! Concrete reasons for replicas the planner could not place: the facts of the solver's
//! shortfalls, gathered into [`Reason`]s (rendered to text by their `Display`).

use super::instance::Instance;
use super::pack::{Cause, PoolPack, Shortfall};
use super::reason::{Amount, Ineligibility, Reason};
use crate::policy::Ineligible;
use std::collections::BTreeMap;

/// Reasons why replicas of workload `w` (in pool `pool` of `packs`) stayed unplaced.
pub fn reasons(
    inst: &Instance,
    w: usize,
    short: &[&Shortfall],
    packs: &[PoolPack],
    pool: usize,
) -> Vec<Reason> {
    let model = inst.model;
    let wl = &model.workloads[w];
    let info = &inst.workloads[w];
    if let Err(conflict) = &info.labels {
        return vec![Reason::LabelConflict(conflict.clone())];
    }
    if info.eligible.is_empty() {
        return ineligible_everywhere(inst, w);
    }
    let eligible_nodes: Vec<usize> = (0..model.nodes.len())
        .filter(|&n| info.eligible.binary_search(&inst.node_type[n]).is_ok())
        .collect();
    let mut out = Vec::new();
    if short.iter().any(|s| s.cause == Cause::Zones) {
        let mut zones: Vec<&str> = eligible_nodes
            .iter()
            .filter_map(|&n| model.nodes[n].zone.as_deref())
            .collect();
        zones.sort_unstable();
        zones.dedup();
        out.push(Reason::MinZones {
            min_zones: wl.min_zones.unwrap_or(0),
            zones_needed: info.zones_needed,
            eligible_nodes: eligible_nodes.len(),
            zones: zones.into_iter().map(str::to_string).collect(),
            zoneless: eligible_nodes
                .iter()
                .filter(|&&n| model.nodes[n].zone.is_none())
                .count(),
        });
    }
    if short.iter().any(|s| s.cause == Cause::Capacity) {
        if let Some(k) = wl.max_per_node {
            let needed = wl.replicas.div_ceil(k) as usize;
            if needed > eligible_nodes.len() {
                out.push(Reason::MaxPerNode {
                    max_per_node: k,
                    replicas: wl.replicas,
                    nodes_needed: needed,
                    eligible_nodes: eligible_nodes.len(),
                });
            }
        }
        let mut elsewhere = 0;
        let mut here = 0;
        for (i, p) in packs.iter().enumerate() {
            let count = p
                .nodes
                .iter()
                .filter(|o| eligible_nodes.binary_search(&o.node).is_ok())
                .count();
            if i == pool {
                here += count;
            } else {
                elsewhere += count;
            }
        }
        out.push(Reason::Capacity {
            eligible_nodes: eligible_nodes.len(),
            in_pool: here,
            in_other_pools: elsewhere,
            anti_affinity: !wl.anti_affinity.is_empty(),
            free: eligible_nodes.len() - here - elsewhere,
            requests: wl
                .requests
                .iter()
                .enumerate()
                .filter(|(r, q)| **q > 0 && model.resources[*r] != crate::model::PODS)
                .map(|(r, &amount)| Amount {
                    resource: model.resources[r].clone(),
                    amount,
                })
                .collect(),
        });
    }
    out
}

/// Why no node of the inventory can host one replica: the commonest causes, with counts.
fn ineligible_everywhere(inst: &Instance, w: usize) -> Vec<Reason> {
    let model = inst.model;
    // Keyed by the rendered cause: ties in count are listed in the order of their text.
    let mut causes: BTreeMap<String, (Ineligibility, usize)> = BTreeMap::new();
    for n in 0..model.nodes.len() {
        let cause = match inst.ineligibility(w, n) {
            Some(Ineligible::Label(key, value)) => Ineligibility::MissingLabel { key, value },
            Some(Ineligible::Undeclared(r)) => Ineligibility::UndeclaredResource {
                resource: model.resources[r].clone(),
            },
            Some(Ineligible::TooSmall(r, offer)) => Ineligibility::TooSmall {
                resource: model.resources[r].clone(),
                request: model.workloads[w].requests[r],
                offer,
            },
            Some(Ineligible::Affinity(unmet)) => Ineligibility::NodeAffinity { unmet },
            Some(Ineligible::Cordoned) => Ineligibility::Cordoned,
            Some(Ineligible::Taint(t)) => Ineligibility::UntoleratedTaint {
                key: t.key,
                value: t.value,
                effect: t.effect,
            },
            None => continue,
        };
        causes.entry(cause.to_string()).or_insert((cause, 0)).1 += 1;
    }
    let mut ranked: Vec<(usize, String, Ineligibility)> = causes
        .into_iter()
        .map(|(text, (cause, k))| (k, text, cause))
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked
        .into_iter()
        .take(3)
        .map(|(nodes, _, cause)| Reason::NoEligibleNode {
            nodes,
            of: model.nodes.len(),
            cause,
        })
        .collect()
}
