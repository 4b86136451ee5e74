//! First fit over the nodes a pool build has opened, without scanning them all: the first
//! node in opening order where one more replica fits, found in about O(log n) per group of
//! nodes of one type and zone slot.
//!
//! Each group keeps a tree of the largest free capacity per resource over its nodes in
//! opening order; a subtree whose maximum lacks the request on some resource holds no fit
//! and is skipped. That is only a necessary condition (the maxima may come from different
//! nodes), so every node it leads to is judged by [`rules::room`] as well, and the answer is
//! exactly the node a scan in order would find.

use super::super::instance::Instance;
use super::super::rules;
use super::Open;

/// The index: groups of nodes per (type, zone slot), and where each node sits in them.
pub(super) struct FirstFit {
    zone_slots: usize,
    resources: usize,
    groups: Vec<Group>,
    /// Per node, in opening order: (group, leaf).
    slot: Vec<(usize, usize)>,
}

/// Nodes of one type and zone slot, in opening order, under a max-free tree.
#[derive(Default)]
struct Group {
    /// Their positions among the pool's nodes, ascending.
    positions: Vec<usize>,
    /// Leaves for `positions` from `width` on, `resources` values each; node `i` holds the
    /// per-resource maximum of its children `2i` and `2i + 1`.
    tree: Vec<u64>,
    width: usize,
}

impl FirstFit {
    /// An index of no nodes, for pools of `inst`.
    pub fn new(inst: &Instance) -> Self {
        let zone_slots = inst.zones.len() + 1;
        FirstFit {
            zone_slots,
            resources: inst.model.resources.len(),
            groups: (0..inst.types.len() * zone_slots)
                .map(|_| Group::default())
                .collect(),
            slot: Vec::new(),
        }
    }

    /// Adds the node just opened, the next in opening order.
    pub fn push(&mut self, inst: &Instance, o: &Open) {
        let g = o.ty * self.zone_slots + o.zone;
        let r = self.resources;
        let group = &mut self.groups[g];
        let leaf = group.positions.len();
        group.positions.push(self.slot.len());
        self.slot.push((g, leaf));
        if leaf == group.width {
            // Full: double the leaves and rebuild (amortised O(1) per node).
            let old = std::mem::take(&mut group.tree);
            let width = (2 * group.width).max(1);
            group.tree = vec![0; 2 * width * r];
            if group.width > 0 {
                let leaves = &old[group.width * r..];
                group.tree[width * r..(width + group.width) * r].copy_from_slice(leaves);
            }
            group.width = width;
            for i in (1..width).rev() {
                group.pull(i, r);
            }
        }
        self.update(inst, self.slot.len() - 1, o);
    }

    /// Records node `pos`'s load after a change.
    pub fn update(&mut self, inst: &Instance, pos: usize, o: &Open) {
        let (g, leaf) = self.slot[pos];
        let r = self.resources;
        let group = &mut self.groups[g];
        let mut i = group.width + leaf;
        let cap = &inst.types[o.ty].cap;
        for (x, (c, l)) in group.tree[i * r..(i + 1) * r]
            .iter_mut()
            .zip(cap.iter().zip(&o.load))
        {
            *x = c.saturating_sub(*l);
        }
        while i > 1 {
            i /= 2;
            group.pull(i, r);
        }
    }

    /// The first node at position `from` or later, in a zone slot `zone_ok` accepts, where
    /// one more replica of `w` fits by every node rule.
    pub fn first(
        &self,
        inst: &Instance,
        nodes: &[Open],
        w: usize,
        from: usize,
        zone_ok: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let req = &inst.model.workloads[w].requests;
        inst.workloads[w]
            .eligible
            .iter()
            .flat_map(|&t| (0..self.zone_slots).map(move |z| (t, z)))
            .filter(|&(_, z)| zone_ok(z))
            .filter_map(|(t, z)| {
                let group = &self.groups[t * self.zone_slots + z];
                let mut leaf = group.positions.partition_point(|&p| p < from);
                loop {
                    leaf = group.fit(req, self.resources, leaf)?;
                    let pos = group.positions[leaf];
                    if rules::room(inst, &nodes[pos], w) > 0 {
                        return Some(pos);
                    }
                    leaf += 1;
                }
            })
            .min()
    }
}

impl Group {
    /// Recomputes tree node `i` from its children.
    fn pull(&mut self, i: usize, r: usize) {
        for k in 0..r {
            self.tree[i * r + k] = self.tree[2 * i * r + k].max(self.tree[(2 * i + 1) * r + k]);
        }
    }

    /// Whether tree node `i` has at least `req` free on every resource.
    fn covers(&self, i: usize, r: usize, req: &[u64]) -> bool {
        self.tree[i * r..(i + 1) * r]
            .iter()
            .zip(req)
            .all(|(free, q)| free >= q)
    }

    /// The first leaf from `from` on with at least `req` free on every resource.
    fn fit(&self, req: &[u64], r: usize, from: usize) -> Option<usize> {
        if from >= self.positions.len() {
            return None;
        }
        self.descend(1, 0, self.width, from, req, r)
    }

    fn descend(
        &self,
        i: usize,
        lo: usize,
        hi: usize,
        from: usize,
        req: &[u64],
        r: usize,
    ) -> Option<usize> {
        if hi <= from || lo >= self.positions.len() || !self.covers(i, r, req) {
            return None;
        }
        if hi - lo == 1 {
            return Some(lo);
        }
        let mid = (lo + hi) / 2;
        self.descend(2 * i, lo, mid, from, req, r)
            .or_else(|| self.descend(2 * i + 1, mid, hi, from, req, r))
    }
}
