//! Baselines to compare the planner against.
//!
//! [`ffd_one_pool_per_class`] is the "architect's spreadsheet": one node pool per class, each
//! filled first-fit decreasing the way Karpenter orders pods. [`kube_scheduler_least_allocated`]
//! places replicas one by one as kube-scheduler's default scoring would. They are reference
//! points only and deliberately share no code with the solver or the checker: classes, fit
//! and pool rules are re-derived here from the model.

use crate::model::{cost_from_micros, Model};
use crate::plan::{self, Objective, Placement, Plan, Pool, Status, Unmet, Unplaced};
use crate::policy::{self, Ineligible};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

/// One class: its name and its workloads (indices, ascending).
struct Class {
    name: String,
    workloads: Vec<usize>,
}

fn classes(model: &Model) -> Vec<Class> {
    let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, w) in model.workloads.iter().enumerate() {
        by_name.entry(model.class_name(w)).or_default().push(i);
    }
    by_name
        .into_iter()
        .map(|(name, workloads)| Class { name, workloads })
        .collect()
}

/// The mutable state of the packing.
struct Packer<'m> {
    model: &'m Model,
    cpu: Option<usize>,
    memory: Option<usize>,
    /// Pool index of every node, once opened.
    pool_of: Vec<Option<usize>>,
    /// Per node, per resource: Σ requests placed.
    used: Vec<Vec<u128>>,
    /// Per node: workload → replicas placed there.
    on_node: Vec<BTreeMap<usize, u32>>,
    /// Per workload: zones its placed replicas use.
    zones_of: Vec<BTreeSet<&'m str>>,
    /// Node indices by (cost ascending, size descending, name).
    by_price: Vec<usize>,
    /// Per workload: the workloads whose coLocation limits it, with their limit.
    limited_by: Vec<Vec<(usize, u32)>>,
    placements: Vec<Placement>,
    unplaced: Vec<Unplaced>,
    unmet: Vec<Unmet>,
}

impl<'m> Packer<'m> {
    fn new(model: &'m Model) -> Self {
        let cpu = model.resource_id("cpu");
        let memory = model.resource_id("memory");
        let amount =
            |n: usize, r: Option<usize>| r.and_then(|r| model.nodes[n].allocatable[r]).unwrap_or(0);
        let mut by_price: Vec<usize> = (0..model.nodes.len()).collect();
        by_price.sort_by_key(|&n| {
            (
                model.nodes[n].cost_micros,
                Reverse(amount(n, cpu)),
                Reverse(amount(n, memory)),
                n,
            )
        });
        let mut limited_by = vec![Vec::new(); model.workloads.len()];
        for (a, w) in model.workloads.iter().enumerate() {
            for &(b, max) in &w.co_location {
                limited_by[b].push((a, max));
            }
        }
        Packer {
            model,
            cpu,
            memory,
            pool_of: vec![None; model.nodes.len()],
            used: vec![vec![0; model.resources.len()]; model.nodes.len()],
            on_node: vec![BTreeMap::new(); model.nodes.len()],
            zones_of: vec![BTreeSet::new(); model.workloads.len()],
            by_price,
            limited_by,
            placements: Vec::new(),
            unplaced: Vec::new(),
            unmet: Vec::new(),
        }
    }

    /// The workload's own node affinity, tolerations and the node's cordon admit it.
    fn admits(&self, w: usize, n: usize) -> bool {
        policy::constraint_ineligibility(&self.model.workloads[w], &self.model.nodes[n]).is_none()
    }

    /// Labels the workload needs: its own node selector and every matching node requirement.
    fn labels_ok(&self, w: usize, n: usize) -> bool {
        let (w, node) = (&self.model.workloads[w], &self.model.nodes[n]);
        let has =
            |sel: &BTreeMap<String, String>| sel.iter().all(|(k, v)| node.labels.get(k) == Some(v));
        has(&w.node_selector)
            && self
                .model
                .policy
                .node_requirements
                .iter()
                .all(|req| !w.matches(&req.matches) || has(&req.node_selector))
    }

    /// Declares every requested resource.
    fn declares(&self, w: usize, n: usize) -> bool {
        let (w, node) = (&self.model.workloads[w], &self.model.nodes[n]);
        w.requests
            .iter()
            .zip(&node.allocatable)
            .all(|(&req, alloc)| req == 0 || alloc.is_some())
    }

    /// Room for one more replica of `w` after overhead and what is already placed. Overhead
    /// counts on declared resources only (daemons need no resource the node does not have).
    fn room(&self, w: usize, n: usize) -> bool {
        let overhead = &self.model.policy.node_overhead;
        let (w, node) = (&self.model.workloads[w], &self.model.nodes[n]);
        (0..w.requests.len()).all(|r| match node.allocatable[r] {
            Some(a) => self.used[n][r] + overhead[r] as u128 + w.requests[r] as u128 <= a as u128,
            None => w.requests[r] == 0,
        })
    }

    /// A node on which `w` could run if it were empty.
    fn eligible(&self, w: usize, n: usize) -> bool {
        self.labels_ok(w, n) && self.admits(w, n) && self.declares(w, n) && {
            let overhead = &self.model.policy.node_overhead;
            let (wl, node) = (&self.model.workloads[w], &self.model.nodes[n]);
            (0..wl.requests.len()).all(|r| {
                node.allocatable[r]
                    .is_none_or(|a| overhead[r] as u128 + wl.requests[r] as u128 <= a as u128)
            })
        }
    }

    /// Whether one more replica of `w` may go on `n` now (pool membership aside).
    fn fits(&self, w: usize, n: usize, zone_needed: bool) -> bool {
        let wl = &self.model.workloads[w];
        if zone_needed {
            match self.model.nodes[n].zone.as_deref() {
                Some(z) if !self.zones_of[w].contains(z) => {}
                _ => return false,
            }
        }
        let here = &self.on_node[n];
        let count = |x: usize| here.get(&x).copied().unwrap_or(0);
        wl.max_per_node.is_none_or(|m| count(w) < m)
            && wl.anti_affinity.iter().all(|a| !here.contains_key(a))
            // coLocation both ways: w's own limits on what is there, and the limits of what
            // is there on one more replica of w.
            && wl.co_location.iter().all(|&(b, max)| count(b) <= max)
            && self.limited_by[w]
                .iter()
                .all(|&(a, max)| !here.contains_key(&a) || count(w) < max)
            && self.labels_ok(w, n)
            && self.admits(w, n)
            && self.room(w, n)
    }

    fn place(&mut self, w: usize, n: usize) {
        let wl = &self.model.workloads[w];
        for (u, &req) in self.used[n].iter_mut().zip(&wl.requests) {
            *u += req as u128;
        }
        *self.on_node[n].entry(w).or_insert(0) += 1;
        if let Some(z) = self.model.nodes[n].zone.as_deref() {
            self.zones_of[w].insert(z);
        }
    }

    fn zone_needed(&self, w: usize) -> Option<u32> {
        let wl = &self.model.workloads[w];
        let want = wl.min_zones.map_or(0, |m| m.min(wl.replicas));
        (self.zones_of[w].len() < want as usize).then_some(want)
    }

    /// Why no node can take a replica of `w`.
    fn reasons(&self, w: usize, zone_want: Option<u32>) -> Vec<String> {
        let model = self.model;
        let wl = &model.workloads[w];
        let nodes = 0..model.nodes.len();
        let labelled: Vec<usize> = nodes.filter(|&n| self.labels_ok(w, n)).collect();
        if labelled.is_empty() {
            let mut sel: BTreeMap<&str, &str> = wl
                .node_selector
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            for req in &model.policy.node_requirements {
                if wl.matches(&req.matches) {
                    sel.extend(
                        req.node_selector
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str())),
                    );
                }
            }
            let sel: Vec<String> = sel.iter().map(|(k, v)| format!("{k}={v}")).collect();
            return vec![format!("no node has the labels {}", sel.join(", "))];
        }
        let admitted: Vec<usize> = labelled
            .iter()
            .copied()
            .filter(|&n| self.admits(w, n))
            .collect();
        if admitted.is_empty() {
            let node = &model.nodes[labelled[0]];
            let why = match policy::constraint_ineligibility(wl, node) {
                Some(Ineligible::Affinity(unmet)) => {
                    format!("it matches no nodeAffinity term ({})", unmet.join("; "))
                }
                Some(Ineligible::Taint(t)) => format!(
                    "its taint {}={}:{} is not tolerated",
                    t.key, t.value, t.effect
                ),
                _ => "it is cordoned".to_string(),
            };
            return vec![format!(
                "no node with the required labels admits it by its nodeAffinity, tolerations and cordons (node {}: {why})",
                node.name
            )];
        }
        let declaring: Vec<usize> = admitted
            .into_iter()
            .filter(|&n| self.declares(w, n))
            .collect();
        if declaring.is_empty() {
            let missing: Vec<&str> = (0..model.resources.len())
                .filter(|&r| wl.requests[r] > 0)
                .map(|r| model.resources[r].as_str())
                .collect();
            return vec![format!(
                "no node with the required labels declares all of {}",
                missing.join(", ")
            )];
        }
        let eligible = declaring.iter().filter(|&&n| self.eligible(w, n)).count();
        if eligible == 0 {
            return vec!["the requests exceed the allocatable (after node overhead) of every node with the required labels".to_string()];
        }
        let mut reasons = Vec::new();
        if let Some(want) = zone_want {
            let used: Vec<&str> = self.zones_of[w].iter().copied().collect();
            reasons.push(format!(
                "minZones: needs {want} zones but no eligible node with room is left outside the zones it uses ({})",
                if used.is_empty() { "none".to_string() } else { used.join(", ") }
            ));
        } else {
            reasons.push(format!(
                "all {eligible} eligible nodes are full, taken by other pools, at maxPerNode or hold an anti-affine workload"
            ));
        }
        reasons
    }

    /// A node on which every workload of `class` could run if it were empty.
    fn all_eligible(&self, class: &Class, n: usize) -> bool {
        class.workloads.iter().all(|&w| self.eligible(w, n))
    }

    /// Records replica `k` of `w` on `node`, or as unplaced with the reasons.
    fn assign(&mut self, w: usize, k: u32, node: Option<usize>, zone_want: Option<u32>) {
        let id = self.model.workloads[w].id.clone();
        match node {
            Some(n) => {
                self.place(w, n);
                self.placements.push(Placement {
                    workload: id,
                    replica: k,
                    node: self.model.nodes[n].name.clone(),
                });
            }
            None => {
                let reasons = self.reasons(w, zone_want);
                self.unplaced.push(Unplaced {
                    workload: id,
                    replica: k,
                    reasons,
                });
            }
        }
    }

    /// Pool rules for pool number `pool` of `class`, holding `opened`: adds the cheapest
    /// unused eligible nodes until headroom and minNodesPerPool hold, or says what is unmet.
    fn complete_pool(&mut self, pool: usize, class: &Class, mut opened: Vec<usize>) -> Pool {
        let model = self.model;
        let platform = class.name == crate::model::PLATFORM_CLASS;
        let pool_name = crate::plan::pool_name(platform, pool + 1);
        let mut demand = vec![0u128; model.resources.len()];
        for &w in &class.workloads {
            let wl = &model.workloads[w];
            for (d, &r) in demand.iter_mut().zip(&wl.requests) {
                *d += r as u128 * wl.replicas as u128;
            }
        }
        let min_nodes = model.policy.min_nodes_per_pool as usize;
        loop {
            let short = self.headroom_short(&opened, &demand);
            if short.is_none() && opened.len() >= min_nodes {
                break;
            }
            let free = |n: usize| self.pool_of[n].is_none();
            let next =
                self.by_price
                    .iter()
                    .copied()
                    .find(|&n| free(n) && self.all_eligible(class, n))
                    .or_else(|| {
                        self.by_price.iter().copied().find(|&n| {
                            free(n) && class.workloads.iter().any(|&w| self.eligible(w, n))
                        })
                    });
            match next {
                Some(n) => {
                    self.pool_of[n] = Some(pool);
                    opened.push(n);
                }
                None => {
                    if let Some(r) = short {
                        self.unmet.push(Unmet {
                            pool: pool_name.clone(),
                            rule: "headroom".to_string(),
                            reason: format!(
                                "after losing its {} largest node(s) the pool cannot cover its {} requests, and no unused eligible node is left",
                                model.policy.node_failures, model.resources[r]
                            ),
                        });
                    }
                    if opened.len() < min_nodes {
                        self.unmet.push(Unmet {
                            pool: pool_name.clone(),
                            rule: "minNodesPerPool".to_string(),
                            reason: format!(
                                "the pool has {} node(s), fewer than {min_nodes}, and no unused eligible node is left",
                                opened.len()
                            ),
                        });
                    }
                    break;
                }
            }
        }
        let mut workloads: Vec<String> = class
            .workloads
            .iter()
            .map(|&w| model.workloads[w].id.clone())
            .collect();
        workloads.sort();
        let mut nodes: Vec<String> = opened
            .iter()
            .map(|&n| model.nodes[n].name.clone())
            .collect();
        nodes.sort();
        Pool {
            name: pool_name,
            classes: vec![class.name.clone()],
            workloads,
            nodes,
            platform,
            node_types: Vec::new(),
        }
    }

    /// The plan: `pools`, what was placed and what not, cost, and the nodes left unused.
    fn into_plan(mut self, pools: Vec<Pool>) -> Plan {
        let model = self.model;
        self.placements.sort();
        self.unplaced
            .sort_by(|a, b| (&a.workload, a.replica).cmp(&(&b.workload, b.replica)));
        let in_pool: Vec<usize> = (0..model.nodes.len())
            .filter(|&n| self.pool_of[n].is_some())
            .collect();
        let cost_micros: u64 = in_pool.iter().map(|&n| model.nodes[n].cost_micros).sum();
        let cost = cost_from_micros(cost_micros);
        let mut unused_nodes: Vec<String> = (0..model.nodes.len())
            .filter(|&n| self.pool_of[n].is_none())
            .map(|n| model.nodes[n].name.clone())
            .collect();
        unused_nodes.sort();
        let feasible = self.unplaced.is_empty() && self.unmet.is_empty();
        let mut plan = Plan {
            api_version: plan::API_VERSION.to_string(),
            kind: plan::KIND.to_string(),
            status: if feasible {
                Status::Feasible
            } else {
                Status::Infeasible
            },
            infeasibility: None,
            explanation: None,
            objective: Objective {
                cost,
                nodes: in_pool.len() as u64,
                lower_bound: 0.0,
                gap: feasible.then_some(if cost > 0.0 { 1.0 } else { 0.0 }),
                disruption: None,
            },
            pools,
            placements: self.placements,
            unplaced: self.unplaced,
            unmet: self.unmet,
            unused_nodes,
            inputs: Some(model.fingerprint.clone()),
        };
        crate::naming::name_plan(model, &mut plan);
        plan
    }

    /// Per-node capacity for pool rules: allocatable less overhead (0 where undeclared).
    fn capacity(&self, n: usize, r: usize) -> u128 {
        let overhead = self.model.policy.node_overhead[r];
        self.model.nodes[n].allocatable[r].map_or(0, |a| a.saturating_sub(overhead)) as u128
    }

    /// The first resource (by name) whose headroom rule fails for `nodes`, if any.
    fn headroom_short(&self, nodes: &[usize], demand: &[u128]) -> Option<usize> {
        let k = self.model.policy.node_failures as usize;
        (0..self.model.resources.len()).find(|&r| {
            if demand[r] == 0 {
                return false;
            }
            let mut caps: Vec<u128> = nodes.iter().map(|&n| self.capacity(n, r)).collect();
            caps.sort_unstable_by(|a, b| b.cmp(a));
            let left: u128 = caps.iter().skip(k).sum();
            left < demand[r]
        })
    }
}

/// One pool per class, first-fit decreasing in Karpenter's order, cheapest nodes first.
///
/// Classes are packed most constrained first (fewest nodes eligible for all their workloads,
/// then by name), so that scarce nodes (hardened, GPU) go to the classes that need them.
/// Within a class, replicas are sorted by cpu then memory request, descending (stable by
/// workload id and replica index) and each goes on the first opened node of the class that
/// fits; otherwise the cheapest (then largest, then first by name) unused node that can host
/// it is opened. Until a workload's replicas span min(minZones, replicas) zones, only nodes
/// in zones it does not use yet are considered. Then each pool gets the cheapest unused nodes
/// eligible for its workloads until headroom and minNodesPerPool hold.
pub fn ffd_one_pool_per_class(model: &Model) -> Plan {
    ffd(model, |_| true)
}

/// [`ffd_one_pool_per_class`] over the classes `keep` accepts; the others are left out.
fn ffd(model: &Model, keep: impl Fn(&Class) -> bool) -> Plan {
    let mut p = Packer::new(model);
    let mut classes = classes(model);
    classes.retain(|c| keep(c));
    // Most constrained first.
    let mut keyed: Vec<(usize, Class)> = classes
        .drain(..)
        .map(|c| {
            (
                (0..model.nodes.len())
                    .filter(|&n| p.all_eligible(&c, n))
                    .count(),
                c,
            )
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));

    let mut pools = Vec::new();
    for (pool, (_, class)) in keyed.iter().enumerate() {
        let mut replicas: Vec<(usize, u32)> = class
            .workloads
            .iter()
            .flat_map(|&w| (0..model.workloads[w].replicas).map(move |k| (w, k)))
            .collect();
        let req = |w: usize, r: Option<usize>| r.map_or(0, |r| model.workloads[w].requests[r]);
        // Workload indices follow id order, so this is stable by (id, replica).
        replicas.sort_by_key(|&(w, k)| (Reverse(req(w, p.cpu)), Reverse(req(w, p.memory)), w, k));

        let mut opened: Vec<usize> = Vec::new();
        for (w, k) in replicas {
            let zone_want = p.zone_needed(w);
            let zone_needed = zone_want.is_some();
            let node = opened
                .iter()
                .copied()
                .find(|&n| p.fits(w, n, zone_needed))
                .or_else(|| {
                    let n = p.by_price.iter().copied().find(|&n| {
                        p.pool_of[n].is_none() && p.declares(w, n) && p.fits(w, n, zone_needed)
                    })?;
                    p.pool_of[n] = Some(pool);
                    opened.push(n);
                    Some(n)
                });
            p.assign(w, k, node, zone_want);
        }
        pools.push(p.complete_pool(pool, class, opened));
    }
    p.into_plan(pools)
}

/// Catalog mode's baseline: one pool per class, each of the one node type (bought as needed)
/// with which first-fit decreasing, as in [`ffd_one_pool_per_class`], gives the cheapest
/// complete pool. The inventory's nodes, if any, are left unused. Pools that no type can
/// complete are left out, with their replicas unplaced.
pub fn ffd_cheapest_type_per_pool(model: &Model) -> Plan {
    let overhead = &model.policy.node_overhead;
    let k = model.policy.node_failures as u64 + model.policy.min_nodes_per_pool as u64;
    let mut pools = Vec::new();
    let mut placements = Vec::new();
    let mut unplaced = Vec::new();
    for class in classes(model) {
        let mut best: Option<(u64, String, Plan)> = None;
        for ty in &model.node_types {
            // Enough nodes per zone for one node set per workload: FFD never needs more.
            let supply: Option<u64> = class
                .workloads
                .iter()
                .map(|&w| {
                    let wl = &model.workloads[w];
                    let fit = (0..wl.requests.len())
                        .filter(|&r| wl.requests[r] > 0)
                        .map(|r| {
                            let cap = ty.allocatable[r].unwrap_or(0).saturating_sub(overhead[r]);
                            cap / wl.requests[r]
                        })
                        .min()
                        .unwrap_or(u64::MAX)
                        .min(wl.max_per_node.map_or(u64::MAX, u64::from));
                    // A type some workload does not fit at all cannot hold the pool.
                    (fit > 0).then(|| u64::from(wl.replicas).div_ceil(fit))
                })
                .sum::<Option<u64>>()
                .map(|n| n + k);
            let Some(supply) = supply else {
                continue;
            };
            let mut nodes = Vec::new();
            for i in 0..supply {
                for zone in &ty.zones {
                    let mut labels = ty.labels.clone();
                    labels.insert(
                        crate::model::INSTANCE_TYPE_LABEL.into(),
                        ty.instance_type.clone(),
                    );
                    labels.insert(crate::model::ZONE_LABEL.into(), zone.clone());
                    nodes.push(crate::model::Node {
                        origin: ty.origin.clone(),
                        name: format!("{i:07}~{zone}"),
                        labels,
                        allocatable: ty.allocatable.clone(),
                        zone: Some(zone.clone()),
                        cost_micros: ty.cost_micros,
                        taints: Vec::new(),
                        unschedulable: false,
                    });
                }
            }
            nodes.sort_by(|a, b| a.name.cmp(&b.name));
            let sub = Model {
                nodes,
                node_types: Vec::new(),
                ..model.clone()
            };
            let plan = ffd(&sub, |c| c.name == class.name);
            if plan.status == Status::Infeasible {
                continue;
            }
            let cost = (plan.objective.cost * 1e6).round() as u64;
            if best.as_ref().is_none_or(|(b, _, _)| cost < *b) {
                best = Some((cost, ty.name.clone(), plan));
            }
        }
        let name =
            crate::plan::pool_name(class.name == crate::model::PLATFORM_CLASS, pools.len() + 1);
        let Some((_, ty, plan)) = best else {
            for &w in &class.workloads {
                let wl = &model.workloads[w];
                unplaced.extend((0..wl.replicas).map(|replica| Unplaced {
                    workload: wl.id.clone(),
                    replica,
                    reasons: vec!["no single node type completes the pool".to_string()],
                }));
            }
            continue;
        };
        let pool = plan.pools.into_iter().next().expect("one class, one pool");
        // Bought nodes are named per zone in order, as the plan contract requires.
        let zone_of = |n: &str| n.split_once('~').map_or("", |(_, z)| z).to_string();
        let mut by_zone: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for n in &pool.nodes {
            by_zone.entry(zone_of(n)).or_default().push(n.clone());
        }
        let mut rename = BTreeMap::new();
        let mut node_types = Vec::new();
        for (zone, ns) in by_zone {
            for n in &ns {
                let fresh = format!("{name}-{ty}-{}", rename.len() + 1);
                rename.insert(n.clone(), fresh);
            }
            node_types.push(crate::plan::Bought {
                node_type: ty.clone(),
                zone,
                count: ns.len() as u32,
            });
        }
        placements.extend(plan.placements.into_iter().map(|p| Placement {
            node: rename[&p.node].clone(),
            ..p
        }));
        let mut nodes: Vec<String> = rename.into_values().collect();
        nodes.sort();
        pools.push(Pool {
            name,
            nodes,
            node_types,
            ..pool
        });
    }
    placements.sort();
    let cost: u64 = pools
        .iter()
        .flat_map(|p| &p.node_types)
        .map(|b| {
            let t = model.node_type_index(&b.node_type).expect("a catalog type");
            model.node_types[t].cost_micros * u64::from(b.count)
        })
        .sum();
    let nodes = pools.iter().map(|p| p.nodes.len() as u64).sum();
    let complete = unplaced.is_empty();
    let mut plan = Plan {
        api_version: plan::API_VERSION.to_string(),
        kind: plan::KIND.to_string(),
        status: if complete {
            Status::Feasible
        } else {
            Status::Infeasible
        },
        infeasibility: None,
        explanation: None,
        objective: Objective {
            cost: cost_from_micros(cost),
            nodes,
            lower_bound: 0.0,
            gap: complete.then_some(1.0),
            disruption: None,
        },
        pools,
        placements,
        unplaced,
        unmet: Vec::new(),
        unused_nodes: model.nodes.iter().map(|n| n.name.clone()).collect(),
        inputs: Some(model.fingerprint.clone()),
    };
    crate::naming::name_plan(model, &mut plan);
    plan
}

/// kube-scheduler's way on a fixed inventory: each replica in input order (workloads in the
/// order of their documents, replicas ascending) goes to the feasible node with the highest
/// NodeResourcesFit `LeastAllocated` score, the default scoring strategy: per resource,
/// `(allocatable − requested) × 100 / allocatable` with the replica counted in, averaged
/// with weight 1 over `cpu` and `memory` (the default scored resources; a resource the node
/// does not declare scores 0). Ties go to the first node by name, where kube-scheduler picks
/// at random; every node is scored, as with `percentageOfNodesToScore: 100`.
///
/// Feasibility is the filters' view: capacity (every resource, `pods` included, after
/// `nodeOverhead`), labels, maxPerNode, antiAffinity, coLocation, and minZones as a hard
/// topology spread (until a workload spans its zones, only nodes in new zones qualify).
/// Tier separation works as a taint per class: a node hosts replicas of one class only, so
/// each class gets its own pool, completed for headroom and minNodesPerPool as in
/// [`ffd_one_pool_per_class`].
pub fn kube_scheduler_least_allocated(model: &Model) -> Plan {
    let mut p = Packer::new(model);
    let classes = classes(model);
    let mut class_of = vec![0; model.workloads.len()];
    for (c, class) in classes.iter().enumerate() {
        for &w in &class.workloads {
            class_of[w] = c;
        }
    }
    let scored: Vec<usize> = [p.cpu, p.memory].into_iter().flatten().collect();
    let overhead = &model.policy.node_overhead;
    // The percentage of `r` left free on `n` once `w` is placed there.
    let free_share = |p: &Packer, w: usize, n: usize, r: usize| -> u128 {
        model.nodes[n].allocatable[r].map_or(0, |a| {
            let requested =
                p.used[n][r] + overhead[r] as u128 + model.workloads[w].requests[r] as u128;
            (a as u128).saturating_sub(requested) * 100 / (a as u128).max(1)
        })
    };
    let mut order: Vec<usize> = (0..model.workloads.len()).collect();
    order.sort_by(|&a, &b| model.workloads[a].origin.cmp(&model.workloads[b].origin));
    let mut opened: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
    for w in order {
        let c = class_of[w];
        for k in 0..model.workloads[w].replicas {
            let zone_want = p.zone_needed(w);
            let zone_needed = zone_want.is_some();
            let mut best: Option<(u128, usize)> = None;
            for n in 0..model.nodes.len() {
                if p.pool_of[n].is_some_and(|pool| pool != c) {
                    continue;
                }
                if !(p.room(w, n) && p.fits(w, n, zone_needed)) {
                    continue;
                }
                let score = scored
                    .iter()
                    .map(|&r| free_share(&p, w, n, r))
                    .sum::<u128>()
                    / scored.len().max(1) as u128;
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, n));
                }
            }
            let node = best.map(|(_, n)| n);
            if let Some(n) = node {
                if p.pool_of[n].is_none() {
                    p.pool_of[n] = Some(c);
                    opened[c].push(n);
                }
            }
            p.assign(w, k, node, zone_want);
        }
    }
    let pools = classes
        .iter()
        .zip(opened)
        .enumerate()
        .map(|(c, (class, nodes))| p.complete_pool(c, class, nodes))
        .collect();
    p.into_plan(pools)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model;
    // The generated instances come with the benchmark code.
    #[cfg(feature = "bench")]
    use {
        crate::generate::{generate, GenParams},
        std::collections::HashMap,
    };

    /// Re-checks the rules the baseline promises, independently of its internals.
    #[cfg(feature = "bench")]
    fn assert_sound(m: &Model, plan: &Plan) {
        let node_pool: HashMap<&str, &Pool> = plan
            .pools
            .iter()
            .flat_map(|p| p.nodes.iter().map(move |n| (n.as_str(), p)))
            .collect();
        let mut used: HashMap<&str, Vec<u128>> = HashMap::new();
        let mut on_node: HashMap<&str, Vec<usize>> = HashMap::new();
        for pl in &plan.placements {
            let w = m.workload_index(&pl.workload).unwrap();
            let pool = node_pool[pl.node.as_str()];
            assert!(
                pool.workloads.contains(&pl.workload),
                "{} outside its pool",
                pl.workload
            );
            let u = used
                .entry(pl.node.as_str())
                .or_insert_with(|| vec![0; m.resources.len()]);
            for (u, &r) in u.iter_mut().zip(&m.workloads[w].requests) {
                *u += r as u128;
            }
            on_node.entry(pl.node.as_str()).or_default().push(w);
        }
        for (node, u) in &used {
            let n = &m.nodes[m.node_index(node).unwrap()];
            for (r, &used) in u.iter().enumerate() {
                if used > 0 {
                    let a = n.allocatable[r].unwrap() as u128;
                    assert!(
                        used + m.policy.node_overhead[r] as u128 <= a,
                        "{node} over {}",
                        m.resources[r]
                    );
                }
            }
        }
        for ws in on_node.values() {
            for &w in ws {
                let wl = &m.workloads[w];
                if let Some(max) = wl.max_per_node {
                    assert!(ws.iter().filter(|&&x| x == w).count() as u32 <= max);
                }
                assert!(wl.anti_affinity.iter().all(|a| !ws.contains(a)));
                if wl.dedicated {
                    assert!(ws.iter().all(|&x| x == w));
                }
            }
        }
        for (i, wl) in m.workloads.iter().enumerate() {
            let zones: BTreeSet<&str> = plan
                .placements
                .iter()
                .filter(|pl| pl.workload == wl.id)
                .filter_map(|pl| m.nodes[m.node_index(&pl.node).unwrap()].zone.as_deref())
                .collect();
            if let Some(mz) = wl.min_zones {
                assert!(
                    zones.len() >= mz.min(wl.replicas) as usize,
                    "{} spans {:?}",
                    m.workloads[i].id,
                    zones
                );
            }
        }
        let mut all: Vec<&String> = plan
            .pools
            .iter()
            .flat_map(|p| &p.nodes)
            .chain(&plan.unused_nodes)
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "a node in two pools");
        assert_eq!(n, m.nodes.len());
    }

    #[test]
    #[cfg(feature = "bench")]
    fn places_every_replica_of_a_small_generated_instance() {
        for seed in 0..4 {
            let m = model::build(generate(&GenParams::scaled(300, 200, seed))).unwrap();
            let plan = ffd_one_pool_per_class(&m);
            assert!(
                plan.unplaced.is_empty(),
                "seed {seed}: {:?}",
                plan.unplaced.first()
            );
            assert!(plan.unmet.is_empty(), "seed {seed}: {:?}", plan.unmet);
            assert_eq!(plan.status, Status::Feasible);
            assert_eq!(plan.placements.len() as u64, m.total_replicas());
            assert_eq!(
                plan.objective.nodes as usize,
                plan.pools.iter().map(|p| p.nodes.len()).sum::<usize>()
            );
            assert!(plan.objective.cost > 0.0);
            assert_eq!(plan.objective.gap, Some(1.0));
            assert_sound(&m, &plan);
            let report = crate::check::check(&m, &plan);
            assert!(report.is_valid(), "seed {seed}: {report}");
            assert_eq!(plan, ffd_one_pool_per_class(&m), "deterministic");
        }
    }

    #[test]
    #[cfg(feature = "bench")]
    fn one_pool_per_class_named_over_separate_by() {
        let m = model::build(generate(&GenParams::scaled(120, 100, 9))).unwrap();
        let plan = ffd_one_pool_per_class(&m);
        let mut names = std::collections::BTreeSet::new();
        for pool in &plan.pools {
            // Named after its class, as the solver names pools (see `naming`).
            assert_eq!(crate::model::names::dns_label_problem(&pool.name), None);
            assert!(names.insert(pool.name.clone()), "{} twice", pool.name);
            assert_eq!(pool.classes.len(), 1);
            let c = &pool.classes[0];
            assert!(
                c.starts_with("dedicated:") || c.starts_with("sensitivity="),
                "{c}"
            );
            let mut sorted = pool.workloads.clone();
            sorted.sort();
            assert_eq!(sorted, pool.workloads);
        }
        // Restricted classes only on hardened nodes.
        for pool in plan
            .pools
            .iter()
            .filter(|p| p.classes[0].contains("sensitivity=restricted"))
        {
            for n in &pool.nodes {
                let node = &m.nodes[m.node_index(n).unwrap()];
                assert_eq!(
                    node.labels
                        .get(crate::generate::HARDENED_LABEL)
                        .map(String::as_str),
                    Some("true")
                );
            }
        }
    }

    #[test]
    #[cfg(feature = "bench")]
    fn reports_what_cannot_be_placed() {
        let mut docs = generate(&GenParams::scaled(40, 30, 5));
        // Ask for more memory than any node has, and for a label no node carries.
        docs.workloads[0]
            .1
            .spec
            .resources
            .insert("memory".into(), crate::input::wire::Quantity("1Ti".into()));
        docs.workloads[1]
            .1
            .spec
            .node_selector
            .insert("kubernetes.io/arch".into(), "arm64".into());
        let m = model::build(docs).unwrap();
        let plan = ffd_one_pool_per_class(&m);
        assert_eq!(plan.status, Status::Infeasible);
        assert_eq!(plan.objective.gap, None);
        assert!(plan
            .unplaced
            .iter()
            .any(|u| u.reasons[0].contains("exceed")));
        assert!(plan.unplaced.iter().any(|u| u.reasons[0].contains("arm64")));
        // Whatever it could not do, it says so truthfully.
        let report = crate::check::check(&m, &plan);
        assert!(report.is_consistent(), "{report}");
    }

    /// Two-document helper: a policy-less model from workload and node YAML snippets.
    fn model_of(workloads: &[&str], nodes: &[&str]) -> Model {
        let mut docs = Vec::new();
        for w in workloads {
            docs.push(format!(
                "apiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {{name: {}}}\nspec: {{sensitivity: public, {}}}\n",
                w.split_once(' ').unwrap().0,
                w.split_once(' ').unwrap().1
            ));
        }
        for n in nodes {
            docs.push(format!(
                "apiVersion: tierplan/v1alpha1\nkind: Node\nmetadata: {{name: {}}}\nspec: {{allocatable: {}}}\n",
                n.split_once(' ').unwrap().0,
                n.split_once(' ').unwrap().1
            ));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(&path, docs.join("---\n")).unwrap();
        model::build_from_paths(&[path]).unwrap()
    }

    #[test]
    fn both_baselines_honour_co_location_both_ways() {
        // On a node hosting `a`, at most 1 replica of `b`; everything fits on one node.
        let m = model_of(
            &[
                "a replicas: 1, resources: {cpu: 1}, coLocation: [{workload: b, max: 1}]",
                "b replicas: 3, resources: {cpu: 2}",
            ],
            &["n1 {cpu: 16}", "n2 {cpu: 16}", "n3 {cpu: 16}"],
        );
        for plan in [
            ffd_one_pool_per_class(&m),
            kube_scheduler_least_allocated(&m),
        ] {
            let report = crate::check::check(&m, &plan);
            assert!(report.is_valid(), "{report}");
        }
        // FFD places b (larger) first on n1, so a must go elsewhere.
        assert_eq!(ffd_one_pool_per_class(&m).objective.nodes, 2);
    }

    #[test]
    fn kube_scheduler_spreads_to_the_least_allocated_node_in_input_order() {
        let m = model_of(
            &[
                "z-first replicas: 1, resources: {cpu: 1, memory: 1Gi}",
                "a-second replicas: 2, resources: {cpu: 3, memory: 1Gi}",
            ],
            &[
                "small {cpu: 4, memory: 8Gi}",
                "big {cpu: 8, memory: 8Gi}",
                "tiny {cpu: 2, memory: 2Gi}",
            ],
        );
        let plan = kube_scheduler_least_allocated(&m);
        let on = |w: &str, k: u32| {
            plan.placements
                .iter()
                .find(|p| p.workload == format!("default/{w}") && p.replica == k)
                .map(|p| p.node.as_str())
        };
        // Scores are (cpu% free + memory% free) / 2 with the replica counted in. Input order:
        // z-first goes first, to big (87 against small's 81). a-second#0: big (50 + 75) / 2 =
        // 62 beats small (25 + 87) / 2 = 56; a-second#1: big (12 + 62) / 2 = 37 loses to 56.
        assert_eq!(on("z-first", 0), Some("big"));
        assert_eq!(on("a-second", 0), Some("big"));
        assert_eq!(on("a-second", 1), Some("small"));
        assert!(crate::check::check(&m, &plan).is_valid());
        assert_eq!(plan.unused_nodes, ["tiny"]);
    }

    #[test]
    #[cfg(feature = "bench")]
    fn kube_scheduler_places_a_generated_instance_validly_and_deterministically() {
        for seed in 0..2 {
            let m = model::build(generate(&GenParams::scaled(150, 300, seed))).unwrap();
            let plan = kube_scheduler_least_allocated(&m);
            let report = crate::check::check(&m, &plan);
            assert!(report.is_consistent(), "seed {seed}: {report}");
            assert!(
                plan.unplaced.is_empty(),
                "seed {seed}: {:?}",
                plan.unplaced.first()
            );
            assert_sound(&m, &plan);
            assert_eq!(plan, kube_scheduler_least_allocated(&m), "deterministic");
        }
    }
}
