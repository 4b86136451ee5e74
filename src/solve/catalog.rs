//! Catalog mode: planning with machine types that can be bought (`NodeType`), alone or beside
//! an inventory of existing nodes.
//!
//! The packer works on concrete nodes, so each type is materialised as a supply of
//! interchangeable nodes per zone. The supply is an estimate, not a limit of the problem:
//! - the lower bound sees only each type's real limit (`max`, or none), never the supply;
//! - a type's `max` holds over all its zones through the inventory's budget;
//! - when a plan uses up the supply of a type in a zone, the supply there is doubled and the
//!   search runs again, so the estimate never decides the plan.
//!
//! Materialised nodes carry names no Kubernetes node can have (`~type~zone~n`); the plan
//! renames the ones it uses `<pool>-<type>-<n>` (see [`crate::plan::Pool::node_types`]).

use super::{finish, search, Instance, SolveOptions, Solved};
use crate::model::{Model, Node, INSTANCE_TYPE_LABEL, ZONE_LABEL};
use crate::plan::Bought;
use crate::policy;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

/// Rounds of doubling a used-up supply before the last plan is taken as it is.
const MAX_ROUNDS: usize = 4;

/// (catalog type, zone name) → nodes materialised.
type Supply = BTreeMap<(usize, String), usize>;

pub(super) fn solve(model: &Model, options: &SolveOptions, start: Instant) -> Solved {
    let mut supply = initial_supply(model);
    let mut round = 0;
    loop {
        round += 1;
        let (expanded, bought) = expand(model, &supply);
        let inst = Instance::with_catalog(&expanded, &bought);
        let mut found = search(&inst, options, start);
        let mut used: BTreeMap<(usize, String), usize> = BTreeMap::new();
        for pack in &found.packs {
            for o in &pack.nodes {
                if let (Some(t), Some(z)) = (bought[o.node], &expanded.nodes[o.node].zone) {
                    *used.entry((t, z.clone())).or_default() += 1;
                }
            }
        }
        let used_up: Vec<(usize, String)> = supply
            .iter()
            .filter(|&(key, &n)| used.get(key) == Some(&n) && n < max_of(model, key.0))
            .map(|(key, _)| key.clone())
            .collect();
        if used_up.is_empty() || round == MAX_ROUNDS || found.stats.stopped_by_time {
            let (plan, unplaced) = finish(&inst, &mut found, &bought, options);
            let mut stats = found.stats;
            stats.elapsed = start.elapsed();
            return Solved {
                plan,
                stats,
                unplaced,
            };
        }
        for key in used_up {
            let n = supply.get_mut(&key).expect("a supplied key");
            *n = (*n * 2).min(max_of(model, key.0));
        }
    }
}

fn max_of(model: &Model, t: usize) -> usize {
    model.node_types[t].max.map_or(usize::MAX, |m| m as usize)
}

/// A node of type `t` in `zone`, as it will be bought (named for the search only).
fn prototype(model: &Model, t: usize, zone: &str, i: usize) -> Node {
    let ty = &model.node_types[t];
    let mut labels = ty.labels.clone();
    labels.insert(INSTANCE_TYPE_LABEL.to_string(), ty.instance_type.clone());
    labels.insert(ZONE_LABEL.to_string(), zone.to_string());
    Node {
        origin: ty.origin.clone(),
        name: format!("~{}~{zone}~{i:07}", ty.name),
        labels,
        allocatable: ty.allocatable.clone(),
        zone: Some(zone.to_string()),
        cost_micros: ty.cost_micros,
        taints: Vec::new(),
        unschedulable: false,
    }
}

/// A first supply per type and zone: the nodes of the type that all demand able to run on it
/// would fill, spread over its zones, plus a node per class and node failure for the rounding
/// of separate pools; never more than the demand could use one workload per node set, nor
/// than the type's `max`.
fn initial_supply(model: &Model) -> Supply {
    let classes = policy::classes(model);
    let mut class_of = vec![0; model.workloads.len()];
    for (c, class) in classes.iter().enumerate() {
        for &w in &class.workloads {
            class_of[w] = c;
        }
    }
    let required: Vec<_> = model
        .workloads
        .iter()
        .map(|w| policy::required_labels(model, w).ok())
        .collect();
    let per_class = 1 + model.policy.node_failures as usize;
    let mut supply = Supply::new();
    for (t, ty) in model.node_types.iter().enumerate() {
        for zone in &ty.zones {
            let node = prototype(model, t, zone, 0);
            let cap = policy::usable_capacity(model, &node);
            let eligible: Vec<usize> = (0..model.workloads.len())
                .filter(|&w| {
                    required[w].as_ref().is_some_and(|labels| {
                        policy::ineligibility(model, &model.workloads[w], labels, &node).is_none()
                    })
                })
                .collect();
            if eligible.is_empty() {
                continue;
            }
            let demand = |r: usize| -> u128 {
                eligible
                    .iter()
                    .map(|&w| {
                        let m = &model.workloads[w];
                        m.requests[r] as u128 * m.replicas as u128
                    })
                    .sum()
            };
            let by_capacity = (0..model.resources.len())
                .filter_map(|r| {
                    cap[r]
                        .filter(|&c| c > 0 && c < crate::quantity::MAX_AMOUNT)
                        .map(|c| (r, c))
                })
                .map(|(r, c)| demand(r).div_ceil(c as u128) as usize)
                .max()
                .unwrap_or(0)
                .div_ceil(ty.zones.len());
            let one_per_set: usize = eligible
                .iter()
                .map(|&w| {
                    let m = &model.workloads[w];
                    let fit = (0..model.resources.len())
                        .filter(|&r| m.requests[r] > 0)
                        .map(|r| cap[r].unwrap_or(0) / m.requests[r])
                        .min()
                        .unwrap_or(u64::MAX)
                        .min(m.max_per_node.map_or(u64::MAX, u64::from))
                        .max(1);
                    (m.replicas as u64).div_ceil(fit) as usize
                })
                .sum();
            let class_count = eligible
                .iter()
                .map(|&w| class_of[w])
                .collect::<BTreeSet<_>>()
                .len();
            let slack = class_count * per_class + model.policy.min_nodes_per_pool as usize;
            let n = (by_capacity.min(one_per_set) + slack).min(max_of(model, t));
            if n > 0 {
                supply.insert((t, zone.clone()), n);
            }
        }
    }
    supply
}

/// The model with `supply` materialised as nodes, sorted by name as the model requires, and
/// each node's catalog type (`None` for inventory nodes).
fn expand(model: &Model, supply: &Supply) -> (Model, Vec<Option<usize>>) {
    let mut nodes: Vec<(Node, Option<usize>)> =
        model.nodes.iter().map(|n| (n.clone(), None)).collect();
    for ((t, zone), &n) in supply {
        nodes.extend((0..n).map(|i| (prototype(model, *t, zone, i), Some(*t))));
    }
    nodes.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let (nodes, bought): (Vec<Node>, Vec<Option<usize>>) = nodes.into_iter().unzip();
    let mut expanded = model.clone();
    expanded.nodes = nodes;
    (expanded, bought)
}

/// The `nodeTypes` entries of a pool and the plan name of each of its `nodes`: inventory nodes
/// keep theirs, bought ones are numbered per type through the entries (sorted by type, then
/// zone), in node order within an entry.
pub(super) fn name_bought(
    model: &Model,
    pool: &str,
    nodes: &[usize],
    bought: &[Option<usize>],
) -> (Vec<Bought>, HashMap<usize, String>) {
    let mut names = HashMap::new();
    let mut by_entry: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for &n in nodes {
        match bought.get(n).copied().flatten() {
            None => {
                names.insert(n, model.nodes[n].name.clone());
            }
            Some(t) => {
                let zone = model.nodes[n]
                    .zone
                    .as_deref()
                    .expect("bought nodes have a zone");
                by_entry
                    .entry((model.node_types[t].name.as_str(), zone))
                    .or_default()
                    .push(n);
            }
        }
    }
    let mut next: BTreeMap<&str, u64> = BTreeMap::new();
    let mut entries = Vec::new();
    for ((ty, zone), mut ns) in by_entry {
        ns.sort_unstable();
        let counter = next.entry(ty).or_default();
        for &n in &ns {
            *counter += 1;
            names.insert(n, crate::plan::bought_node_name(pool, ty, *counter));
        }
        entries.push(Bought {
            node_type: ty.to_string(),
            zone: zone.to_string(),
            count: ns.len() as u32,
        });
    }
    (entries, names)
}
