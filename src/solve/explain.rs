//! Concrete reasons for replicas the planner could not place.

use super::instance::Instance;
use super::pack::{Cause, PoolPack, Shortfall};
use crate::policy::Ineligible;
use crate::quantity::display;
use std::collections::BTreeMap;

/// Reasons why replicas of workload `w` (in pool `pool` of `packs`) stayed unplaced.
pub fn reasons(
    inst: &Instance,
    w: usize,
    short: &[&Shortfall],
    packs: &[PoolPack],
    pool: usize,
) -> Vec<String> {
    let model = inst.model;
    let wl = &model.workloads[w];
    let info = &inst.workloads[w];
    if let Err(conflict) = &info.labels {
        return vec![conflict.clone()];
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
        let zoneless = eligible_nodes
            .iter()
            .filter(|&&n| model.nodes[n].zone.is_none())
            .count();
        let listed = if zones.is_empty() {
            String::new()
        } else {
            format!(": {}", zones.join(", "))
        };
        // Nodes without a zone count for none; and when the zones exist, the nodes were
        // there but this pool did not get enough of them.
        let why = match (zoneless, zones.len() >= info.zones_needed as usize) {
            (0, false) => String::new(),
            (z, false) => format!("; {z} of them have no zone label and count for no zone"),
            (_, true) => {
                "; the zones are there, but this pool could not get nodes in enough of them (other pools took them, or their capacity is spent)".to_string()
            }
        };
        out.push(format!(
            "minZones {} needs replicas in {} zones, but the {} node(s) that can host it are in {} zone(s){listed}{why}",
            wl.min_zones.unwrap_or(0),
            info.zones_needed,
            eligible_nodes.len(),
            zones.len(),
        ));
    }
    if short.iter().any(|s| s.cause == Cause::Capacity) {
        if let Some(k) = wl.max_per_node {
            let needed = wl.replicas.div_ceil(k) as usize;
            if needed > eligible_nodes.len() {
                out.push(format!(
                    "maxPerNode {k} with {} replicas needs {needed} nodes, but only {} node(s) can host it",
                    wl.replicas,
                    eligible_nodes.len()
                ));
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
        let free = eligible_nodes.len() - here - elsewhere;
        let per_replica: Vec<String> = wl
            .requests
            .iter()
            .enumerate()
            .filter(|(r, q)| **q > 0 && model.resources[*r] != crate::model::PODS)
            .map(|(r, q)| {
                format!(
                    "{} {}",
                    model.resources[r],
                    display(&model.resources[r], *q)
                )
            })
            .collect();
        out.push(format!(
            "capacity runs out: {} node(s) can host it ({} in this pool are full for it, {} hold other pools{}, {} free); each replica requests {}",
            eligible_nodes.len(),
            here,
            elsewhere,
            if wl.anti_affinity.is_empty() { "" } else { " or anti-affine workloads" },
            free,
            if per_replica.is_empty() { "no resources".to_string() } else { per_replica.join(", ") }
        ));
    }
    out
}

/// Why no node of the inventory can host one replica: the commonest causes, with counts.
fn ineligible_everywhere(inst: &Instance, w: usize) -> Vec<String> {
    let model = inst.model;
    let mut causes: BTreeMap<String, usize> = BTreeMap::new();
    for n in 0..model.nodes.len() {
        let cause = match inst.ineligibility(w, n) {
            Some(Ineligible::Label(k, v)) => format!("lack the required label {k}={v}"),
            Some(Ineligible::Undeclared(r)) => {
                format!("do not declare the resource {}", model.resources[r])
            }
            Some(Ineligible::TooSmall(r, cap)) => {
                let name = &model.resources[r];
                format!(
                    "are too small: one replica requests {name} {} but they offer at most {} after overhead",
                    display(name, model.workloads[w].requests[r]),
                    display(name, cap)
                )
            }
            None => continue,
        };
        *causes.entry(cause).or_default() += 1;
    }
    let mut ranked: Vec<(usize, String)> = causes.into_iter().map(|(c, k)| (k, c)).collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked
        .into_iter()
        .take(3)
        .map(|(k, cause)| {
            format!(
                "no node can host it: {k} of {} node(s) {cause}",
                model.nodes.len()
            )
        })
        .collect()
}
