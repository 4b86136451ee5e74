//! Which classes share a pool: greedy merging of compatible pools, each merge judged by
//! packing the merged pool for real (on the full inventory) and kept only when it saves.

use super::instance::{Instance, Inventory};
use super::score::Score;
use super::{pack, workloads_of, Budget};
use std::collections::HashMap;

/// (cost saving, node saving), the two pools merged, and their union.
type Merge = ((i128, i64), usize, usize, Vec<usize>);

/// Groupings worth assembling: the greedy merge, every class on its own, and the fewest
/// pools a first-fit clique cover gives. The last costs no packing, so even a search cut
/// short by its budget or deadline has a grouping that needs few pools (minNodesPerPool and
/// headroom are paid per pool, so a scarce inventory may only fit few pools).
pub fn candidates(inst: &Instance, budget: &mut Budget) -> Vec<Vec<Vec<usize>>> {
    let singletons: Vec<Vec<usize>> = (0..inst.graph.classes.len()).map(|c| vec![c]).collect();
    let merged = greedy_merge(inst, singletons.clone(), budget);
    let mut fewest: Vec<Vec<usize>> = Vec::new();
    for c in 0..inst.graph.classes.len() {
        match fewest
            .iter_mut()
            .find(|g| g.iter().all(|&x| inst.graph.compatible[x][c]))
        {
            Some(g) => g.push(c),
            None => fewest.push(vec![c]),
        }
    }
    let mut out = vec![merged];
    for g in [singletons, fewest] {
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

fn greedy_merge(
    inst: &Instance,
    mut pools: Vec<Vec<usize>>,
    budget: &mut Budget,
) -> Vec<Vec<usize>> {
    let full = Inventory::full(inst);
    let mut cache: HashMap<Vec<usize>, Score> = HashMap::new();
    let mut estimate = |classes: &[usize], budget: &mut Budget| -> Score {
        if let Some(k) = cache.get(classes) {
            return *k;
        }
        let mut inv = full.clone();
        let k = pack::pack_pool(inst, &workloads_of(inst, classes), &mut inv, budget).score();
        cache.insert(classes.to_vec(), k);
        k
    };
    loop {
        let mut best: Option<Merge> = None;
        for i in 0..pools.len() {
            for j in i + 1..pools.len() {
                let mut union: Vec<usize> = pools[i].iter().chain(&pools[j]).copied().collect();
                union.sort_unstable();
                if !inst.graph.is_clique(&union) {
                    continue;
                }
                if budget.exhausted() {
                    return pools;
                }
                let (a, b, m) = (
                    estimate(&pools[i], budget),
                    estimate(&pools[j], budget),
                    estimate(&union, budget),
                );
                // Never trade placed replicas or met rules for cost.
                let apart = a + b;
                if m.unplaced > apart.unplaced || m.unmet > apart.unmet {
                    continue;
                }
                let saving = (
                    apart.cost as i128 - m.cost as i128,
                    apart.nodes as i64 - m.nodes as i64,
                );
                let improves =
                    m.unplaced < apart.unplaced || m.unmet < apart.unmet || saving > (0, 0);
                if improves && best.as_ref().is_none_or(|(s, ..)| saving > *s) {
                    best = Some((saving, i, j, union));
                }
            }
        }
        let Some((_, i, j, union)) = best else {
            return pools;
        };
        pools.remove(j);
        pools[i] = union;
    }
}
