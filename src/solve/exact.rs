//! Exhaustive search for tiny instances: every grouping of classes into pools, every
//! assignment of nodes to pools, every placement. When it finishes it proves optimality (or
//! infeasibility), which the heuristics alone cannot; it gives up past a fixed work limit.

use super::instance::Instance;
use super::pack::PoolPack;
use super::rules::{self, Tally};
use std::collections::HashMap;

/// Instances at most this large are searched exhaustively.
pub const MAX_NODES: usize = 8;
pub const MAX_REPLICAS: u64 = 12;
pub const MAX_CLASSES: usize = 5;
const WORK_LIMIT: u64 = 2_000_000;

/// The outcome of a finished search.
pub enum Exact {
    /// An optimal grouping and its packed pools.
    Optimal(Vec<Vec<usize>>, Vec<PoolPack>),
    Infeasible,
}

/// Catalog supply is an estimate, so a search over it proves nothing: tiny inventories only.
pub fn applies(inst: &Instance) -> bool {
    inst.types.iter().all(|t| t.catalog.is_none())
        && inst.model.nodes.len() <= MAX_NODES
        && inst.model.total_replicas() <= MAX_REPLICAS
        && inst.graph.classes.len() <= MAX_CLASSES
}

/// `None` when the work limit stopped the search before it could prove anything.
pub fn search(inst: &Instance) -> Option<Exact> {
    let mut s = Search {
        inst,
        work: 0,
        memo: HashMap::new(),
        best: None,
    };
    let classes: Vec<usize> = (0..inst.graph.classes.len()).collect();
    let mut groups = Vec::new();
    s.partitions(&classes, &mut groups);
    if s.work > WORK_LIMIT {
        return None;
    }
    Some(match s.best {
        Some((_, groups, packs)) => Exact::Optimal(groups, packs),
        None => Exact::Infeasible,
    })
}

type Hosting = Vec<(usize, Vec<(usize, u32)>)>;

struct Search<'a, 'm> {
    inst: &'a Instance<'m>,
    work: u64,
    /// (workloads of the pool, node mask) → feasible placement.
    memo: HashMap<(Vec<usize>, u32), Option<Hosting>>,
    best: Option<(u64, Vec<Vec<usize>>, Vec<PoolPack>)>,
}

impl Search<'_, '_> {
    /// Enumerates partitions of `rest` into pools of pairwise compatible classes.
    fn partitions(&mut self, rest: &[usize], groups: &mut Vec<Vec<usize>>) {
        if self.work > WORK_LIMIT {
            return;
        }
        let Some((&first, others)) = rest.split_first() else {
            self.assign_nodes(groups);
            return;
        };
        // `first` joins an existing pool or opens a new one.
        for g in 0..groups.len() {
            if groups[g]
                .iter()
                .all(|&c| self.inst.graph.compatible[c][first])
            {
                groups[g].push(first);
                self.partitions(others, groups);
                groups[g].pop();
            }
        }
        groups.push(vec![first]);
        self.partitions(others, groups);
        groups.pop();
    }

    /// Tries every assignment of nodes to the pools of `groups` (or to none).
    fn assign_nodes(&mut self, groups: &[Vec<usize>]) {
        let inst = self.inst;
        let pool_ws: Vec<Vec<usize>> = groups
            .iter()
            .map(|g| {
                let mut ws: Vec<usize> = g
                    .iter()
                    .flat_map(|&c| inst.graph.classes[c].workloads.iter().copied())
                    .collect();
                ws.sort_unstable();
                ws
            })
            .collect();
        let mut masks = vec![0u32; groups.len()];
        self.nodes_dfs(0, 0, &pool_ws, &mut masks, groups);
    }

    fn nodes_dfs(
        &mut self,
        n: usize,
        cost: u64,
        pool_ws: &[Vec<usize>],
        masks: &mut Vec<u32>,
        groups: &[Vec<usize>],
    ) {
        self.work += 1;
        if self.work > WORK_LIMIT
            || self
                .best
                .as_ref()
                .is_some_and(|(b, ..)| cost >= *b && n > 0)
        {
            return;
        }
        let inst = self.inst;
        if n == inst.model.nodes.len() {
            let mut hostings = Vec::new();
            for (p, ws) in pool_ws.iter().enumerate() {
                match self.pool(ws, masks[p]) {
                    Some(h) => hostings.push(h),
                    None => return,
                }
            }
            if self.best.as_ref().is_none_or(|(b, ..)| cost < *b) {
                let packs = hostings
                    .into_iter()
                    .map(|h| PoolPack::placed(inst, h))
                    .collect();
                self.best = Some((cost, groups.to_vec(), packs));
            }
            return;
        }
        let node_cost = inst.model.nodes[n].cost_micros;
        self.nodes_dfs(n + 1, cost, pool_ws, masks, groups);
        for p in 0..pool_ws.len() {
            // Only nodes that can host one replica of the pool may join it.
            if pool_ws[p]
                .iter()
                .any(|&w| inst.ineligibility(w, n).is_none() && inst.workloads[w].labels.is_ok())
            {
                masks[p] |= 1 << n;
                self.nodes_dfs(n + 1, cost + node_cost, pool_ws, masks, groups);
                masks[p] &= !(1 << n);
            }
        }
    }

    /// A placement of every replica of `ws` on the nodes of `mask` meeting every rule.
    fn pool(&mut self, ws: &[usize], mask: u32) -> Option<Hosting> {
        if let Some(h) = self.memo.get(&(ws.to_vec(), mask)) {
            return h.clone();
        }
        let result = self.pool_uncached(ws, mask);
        self.memo.insert((ws.to_vec(), mask), result.clone());
        result
    }

    fn pool_uncached(&mut self, ws: &[usize], mask: u32) -> Option<Hosting> {
        let inst = self.inst;
        let model = inst.model;
        let nodes: Vec<usize> = (0..model.nodes.len())
            .filter(|n| mask & (1 << n) != 0)
            .collect();
        let demand = inst.demand(ws.iter().copied());
        if !rules::pool_rules_hold(inst, &demand, nodes.iter().map(|&n| inst.node_type[n])) {
            return None;
        }
        let replicas: Vec<usize> = ws
            .iter()
            .flat_map(|&w| std::iter::repeat_n(w, model.workloads[w].replicas as usize))
            .collect();
        let mut counts = vec![vec![0u32; ws.len()]; nodes.len()];
        let mut load = vec![vec![0u64; model.resources.len()]; nodes.len()];
        if !self.place(ws, &nodes, &replicas, 0, 0, &mut counts, &mut load) {
            return None;
        }
        Some(
            nodes
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    let hosted = ws
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| counts[i][*j] > 0)
                        .map(|(j, &w)| (w, counts[i][j]))
                        .collect();
                    (n, hosted)
                })
                .collect(),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        ws: &[usize],
        nodes: &[usize],
        replicas: &[usize],
        i: usize,
        from: usize,
        counts: &mut [Vec<u32>],
        load: &mut [Vec<u64>],
    ) -> bool {
        self.work += 1;
        if self.work > WORK_LIMIT {
            return false;
        }
        let inst = self.inst;
        let model = inst.model;
        if i == replicas.len() {
            return ws.iter().enumerate().all(|(j, &w)| {
                let mut zones: Vec<usize> = (0..nodes.len())
                    .filter(|&x| counts[x][j] > 0 && inst.node_zone[nodes[x]] < inst.zones.len())
                    .map(|x| inst.node_zone[nodes[x]])
                    .collect();
                zones.sort_unstable();
                zones.dedup();
                rules::enough_zones(inst, w, zones.len())
            });
        }
        let w = replicas[i];
        let j = ws.binary_search(&w).expect("pool workload");
        let wl = &model.workloads[w];
        // Replicas of one workload are interchangeable: keep them in node order.
        let start = if i > 0 && replicas[i - 1] == w {
            from
        } else {
            0
        };
        for x in start..nodes.len() {
            let slot = Tally {
                ty: inst.node_type[nodes[x]],
                load: &load[x],
                ws: Some(ws),
                counts: &counts[x],
            };
            if !rules::fits(inst, &slot, w) {
                continue;
            }
            counts[x][j] += 1;
            load[x]
                .iter_mut()
                .zip(&wl.requests)
                .for_each(|(l, q)| *l += q);
            if self.place(ws, nodes, replicas, i + 1, x, counts, load) {
                return true;
            }
            counts[x][j] -= 1;
            load[x]
                .iter_mut()
                .zip(&wl.requests)
                .for_each(|(l, q)| *l -= q);
        }
        false
    }
}
