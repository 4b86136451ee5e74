//! The independent checker: re-verifies a [`Plan`] against a [`Model`], rule by rule.
//!
//! Owns the second opinion on every plan. It shares no code with the planner (no `policy`,
//! `graph` or `solve`): classes, compatibility, capacity, zones, headroom and cost are derived
//! here again from the model's facts, so that a bug in the planner cannot hide itself. Tests
//! across the project use it as the oracle, so it is exact (integer arithmetic on amounts and
//! cost micros) and strict (every claim the plan makes is verified, not only the placements).

use crate::model::{LabelOperator, Model, Node, TolerationOperator, Workload};
use crate::plan::{self, Plan, Status};
use crate::quantity;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One broken rule. `rule` is a short stable code scripts and tests can match on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Violation {
    /// Short stable code of the rule (`placement`, `pool`, `capacity`, …).
    pub rule: &'static str,
    /// What is wrong, with the workload, node or pool concerned.
    pub message: String,
}

/// The outcome of [`check`]: the violations (sorted) and how much the plan itself admits
/// it could not do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// (the plan's, these inputs') fingerprints when the plan records other inputs than
    /// these: a plan of other inputs is expected to violate rules, and saying so first
    /// spares the reader a list of consequences.
    pub other_inputs: Option<(String, String)>,
    /// Every broken rule, sorted.
    pub violations: Vec<Violation>,
    /// Entries of the plan's `unplaced`.
    pub unplaced: usize,
    /// Entries of the plan's `unmet`.
    pub unmet: usize,
}

impl Report {
    /// The plan tells the truth: every rule holds, except what it declares unplaced or unmet.
    pub fn is_consistent(&self) -> bool {
        self.violations.is_empty()
    }

    /// The plan is consistent and complete: nothing unplaced, no pool rule unmet.
    pub fn is_valid(&self) -> bool {
        self.is_consistent() && self.unplaced == 0 && self.unmet == 0
    }

    /// Whether the planner's plan of this `status` stands: valid, or, when it says it is
    /// infeasible, consistent.
    pub fn accepts(&self, status: crate::plan::Status) -> bool {
        match status {
            crate::plan::Status::Infeasible => self.is_consistent(),
            _ => self.is_valid(),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((plan, here)) = &self.other_inputs {
            writeln!(
                f,
                "note: the plan was made for other inputs (its inputs {plan}, these {here}); \
                 what follows checks it against these\n  fix: plan again with these inputs, \
                 or check with the inputs the plan was made for"
            )?;
        }
        for v in &self.violations {
            writeln!(f, "{}: {}", v.rule, v.message)?;
        }
        let verdict = if self.is_valid() {
            "valid"
        } else if self.is_consistent() {
            "consistent"
        } else {
            "INVALID"
        };
        write!(
            f,
            "{verdict}: {} violation{}, {} unplaced replica{}, {} unmet pool rule{}",
            self.violations.len(),
            plural(self.violations.len()),
            self.unplaced,
            plural(self.unplaced),
            self.unmet,
            plural(self.unmet),
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Verifies every rule of the plan contract against the model.
pub fn check(model: &Model, plan: &Plan) -> Report {
    let (model, bought) = with_bought_nodes(model, plan);
    let model = &model;
    let mut c = Checker {
        model,
        plan,
        out: bought,
    };
    c.document();
    c.status();
    let pools = c.pools();
    let placed = c.placements(&pools);
    c.classes(&pools);
    c.platform(&pools);
    c.compatibility(&pools);
    c.nodes(&pools, &placed);
    c.useful_nodes(&pools);
    c.min_zones(&placed);
    c.headroom(&pools);
    c.min_nodes(&pools);
    c.unmet_entries(&pools);
    c.unused_nodes(&pools);
    c.objective(&pools);
    let mut violations = c.out;
    violations.sort();
    violations.dedup();
    Report {
        other_inputs: plan
            .inputs
            .as_ref()
            .filter(|p| **p != model.fingerprint)
            .map(|p| (p.clone(), model.fingerprint.clone())),
        violations,
        unplaced: plan.unplaced.len(),
        unmet: plan.unmet.len(),
    }
}

/// The model with the nodes `plan` buys (catalog mode) added to its inventory, built from the
/// node types alone, and the violations of the buying rules: known type and zone, at most the
/// type's `max` over all pools, names that collide with no other node, listed in their pool.
fn with_bought_nodes(model: &Model, plan: &Plan) -> (Model, Vec<Violation>) {
    let mut out = Vec::new();
    let mut flag = |m: String| {
        out.push(Violation {
            rule: "bought-nodes",
            message: m,
        })
    };
    let mut nodes = Vec::new();
    let mut per_type: BTreeMap<&str, u64> = BTreeMap::new();
    for pool in &plan.pools {
        for b in &pool.node_types {
            if b.count == 0 {
                flag(format!(
                    "pool `{}` buys 0 nodes of `{}` in `{}`",
                    pool.name, b.node_type, b.zone
                ));
            }
            *per_type.entry(&b.node_type).or_default() += u64::from(b.count);
        }
        let listed: BTreeSet<&str> = pool.nodes.iter().map(String::as_str).collect();
        for node in pool.bought_nodes() {
            let Some(t) = model
                .node_type_index(node.node_type)
                .map(|t| &model.node_types[t])
            else {
                flag(format!(
                    "pool `{}` buys nodes of unknown type `{}`",
                    pool.name, node.node_type
                ));
                break;
            };
            if !t.zones.iter().any(|z| z == node.zone) {
                flag(format!(
                    "pool `{}` buys `{}` in zone `{}`, which the type does not list",
                    pool.name, t.name, node.zone
                ));
            }
            if !listed.contains(node.name.as_str()) {
                flag(format!(
                    "pool `{}` buys node `{}` but does not list it in its nodes",
                    pool.name, node.name
                ));
            }
            nodes.push(t.node(node.name, node.zone));
        }
    }
    for (name, count) in per_type {
        if let Some(max) = model
            .node_type_index(name)
            .and_then(|t| model.node_types[t].max)
        {
            if count > u64::from(max) {
                flag(format!(
                    "the plan buys {count} nodes of `{name}`, more than its max {max}"
                ));
            }
        }
    }
    let (expanded, distinct) = model.with_nodes(nodes);
    if !distinct {
        flag("a bought node's name is taken by another node".to_string());
    }
    (expanded, out)
}

/// Pool membership resolved to model indices (unknown names already reported).
struct Pools {
    /// Per plan pool: distinct model nodes, ascending.
    nodes: Vec<Vec<usize>>,
    /// Per plan pool: distinct model workloads, ascending.
    workloads: Vec<Vec<usize>>,
    /// Per model node: the plan pools listing it.
    of_node: Vec<BTreeSet<usize>>,
    /// Per model workload: the plan pools listing it.
    of_workload: Vec<BTreeSet<usize>>,
}

/// Valid placements aggregated per node.
struct Placed {
    /// Per model node: workload → replicas placed there.
    on_node: Vec<BTreeMap<usize, u64>>,
    /// Per model workload: whether `unplaced` names it.
    has_unplaced: Vec<bool>,
}

struct Checker<'a> {
    model: &'a Model,
    plan: &'a Plan,
    out: Vec<Violation>,
}

impl Checker<'_> {
    fn flag(&mut self, rule: &'static str, message: String) {
        self.out.push(Violation { rule, message });
    }

    fn document(&mut self) {
        if self.plan.api_version != plan::API_VERSION {
            let m = format!(
                "apiVersion is `{}`, expected `{}`",
                self.plan.api_version,
                plan::API_VERSION
            );
            self.flag("document", m);
        }
        if self.plan.kind != plan::KIND {
            let m = format!("kind is `{}`, expected `{}`", self.plan.kind, plan::KIND);
            self.flag("document", m);
        }
    }

    fn status(&mut self) {
        let (u, m) = (self.plan.unplaced.len(), self.plan.unmet.len());
        match self.plan.status {
            Status::Optimal | Status::Feasible if u + m > 0 => {
                let s = if self.plan.status == Status::Optimal {
                    "optimal"
                } else {
                    "feasible"
                };
                let m = format!(
                    "status is {s} but {u} replica(s) are unplaced and {m} pool rule(s) unmet"
                );
                self.flag("status", m);
            }
            Status::Infeasible if u + m == 0 => {
                let m = "status is infeasible but nothing is unplaced and no pool rule is unmet";
                self.flag("status", m.to_string());
            }
            _ => {}
        }
        // The proof itself is the planner's claim, like the lower bound; only its shape is
        // checked.
        if let Some(i) = self.plan.infeasibility {
            if self.plan.status != Status::Infeasible {
                let m = "infeasibility is given but the status is not infeasible";
                self.flag("status", m.to_string());
            }
            if i.proven != i.by.is_some() {
                let m = format!(
                    "infeasibility.proven is {} but infeasibility.by is {}",
                    i.proven,
                    if i.by.is_some() { "given" } else { "absent" }
                );
                self.flag("status", m);
            }
        }
    }

    /// Pool names, membership of nodes and workloads, and the document's sorting promises.
    fn pools(&mut self) -> Pools {
        let (model, plan) = (self.model, self.plan);
        let mut pools = Pools {
            nodes: vec![Vec::new(); plan.pools.len()],
            workloads: vec![Vec::new(); plan.pools.len()],
            of_node: vec![BTreeSet::new(); model.nodes.len()],
            of_workload: vec![BTreeSet::new(); model.workloads.len()],
        };
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        for (p, pool) in plan.pools.iter().enumerate() {
            if pool.name.is_empty() {
                self.flag("pool", format!("pool #{p} has an empty name"));
            }
            *names.entry(&pool.name).or_default() += 1;
            if pool.workloads.is_empty() {
                self.flag("pool", format!("pool `{}` has no workloads", pool.name));
            } else if pool.classes.is_empty() {
                self.flag("document", format!("pool `{}` lists no classes", pool.name));
            }
            if pool.classes.iter().any(String::is_empty) {
                self.flag(
                    "document",
                    format!("pool `{}` has an empty class name", pool.name),
                );
            }
            self.sorted_unique(
                "pool",
                &format!("pool `{}` workloads", pool.name),
                &pool.workloads,
            );
            self.sorted_unique("pool", &format!("pool `{}` nodes", pool.name), &pool.nodes);
            for w in &pool.workloads {
                match model.workload_index(w) {
                    Some(i) => {
                        pools.workloads[p].push(i);
                        pools.of_workload[i].insert(p);
                    }
                    None => self.flag(
                        "pool",
                        format!("pool `{}` lists unknown workload `{w}`", pool.name),
                    ),
                }
            }
            for n in &pool.nodes {
                match model.node_index(n) {
                    Some(i) => {
                        pools.nodes[p].push(i);
                        pools.of_node[i].insert(p);
                    }
                    None => self.flag(
                        "pool",
                        format!("pool `{}` lists unknown node `{n}`", pool.name),
                    ),
                }
            }
            pools.workloads[p].sort_unstable();
            pools.workloads[p].dedup();
            pools.nodes[p].sort_unstable();
            pools.nodes[p].dedup();
        }
        for (name, n) in names {
            if n > 1 {
                self.flag("pool", format!("pool name `{name}` is used by {n} pools"));
            }
        }
        for (i, node) in model.nodes.iter().enumerate() {
            if pools.of_node[i].len() > 1 {
                let m = format!(
                    "node `{}` is in {} pools: {}",
                    node.name,
                    pools.of_node[i].len(),
                    self.pool_names(&pools.of_node[i])
                );
                self.flag("pool", m);
            }
        }
        for (i, w) in model.workloads.iter().enumerate() {
            match pools.of_workload[i].len() {
                1 => {}
                0 => self.flag("pool", format!("workload `{}` is in no pool", w.id)),
                k => {
                    let m = format!(
                        "workload `{}` is in {k} pools: {}",
                        w.id,
                        self.pool_names(&pools.of_workload[i])
                    );
                    self.flag("pool", m);
                }
            }
        }
        pools
    }

    /// Flags a list the plan promises sorted that is not, or that repeats an entry.
    fn sorted_unique(&mut self, rule: &'static str, what: &str, list: &[String]) {
        let mut seen = BTreeSet::new();
        for s in list {
            if !seen.insert(s) {
                self.flag(rule, format!("{what} list `{s}` more than once"));
            }
        }
        if list.windows(2).any(|p| p[0] > p[1]) {
            self.flag("document", format!("{what} are not sorted"));
        }
    }

    fn pool_names(&self, pools: &BTreeSet<usize>) -> String {
        let names: Vec<String> = pools
            .iter()
            .map(|&p| format!("`{}`", self.plan.pools[p].name))
            .collect();
        names.join(", ")
    }

    /// Every replica exactly once across placements and unplaced; placements inside the
    /// workload's pool.
    fn placements(&mut self, pools: &Pools) -> Placed {
        let (model, plan) = (self.model, self.plan);
        let mut seen: Vec<Vec<u32>> = model
            .workloads
            .iter()
            .map(|w| vec![0; w.replicas as usize])
            .collect();
        let mut placed = Placed {
            on_node: vec![BTreeMap::new(); model.nodes.len()],
            has_unplaced: vec![false; model.workloads.len()],
        };
        for p in &plan.placements {
            let (w, n) = (model.workload_index(&p.workload), model.node_index(&p.node));
            // Built only when something is wrong: plans can hold millions of placements.
            let what = || {
                format!(
                    "placement of `{}` replica {} on `{}`",
                    p.workload, p.replica, p.node
                )
            };
            if w.is_none() {
                self.flag(
                    "placement",
                    format!("{}: no workload `{}`", what(), p.workload),
                );
            }
            if n.is_none() {
                self.flag("placement", format!("{}: no node `{}`", what(), p.node));
            }
            if let Some(w) = w {
                self.count_replica(&mut seen, w, p.replica, what);
            }
            let (Some(w), Some(n)) = (w, n) else { continue };
            // Counted even when the replica index is bad: the pod would still take room.
            *placed.on_node[n].entry(w).or_default() += 1;
            let listing = &pools.of_workload[w];
            // A workload in no pool is reported once by `pools`, not per placement.
            if !listing.is_empty() && listing.is_disjoint(&pools.of_node[n]) {
                let m = format!(
                    "{}: the node is not in pool {} that holds the workload",
                    what(),
                    self.pool_names(listing)
                );
                self.flag("pool", m);
            }
        }
        for u in &plan.unplaced {
            let what = || format!("unplaced `{}` replica {}", u.workload, u.replica);
            match model.workload_index(&u.workload) {
                Some(w) => {
                    placed.has_unplaced[w] = true;
                    self.count_replica(&mut seen, w, u.replica, what);
                }
                None => self.flag(
                    "placement",
                    format!("{}: no workload `{}`", what(), u.workload),
                ),
            }
        }
        for (w, counts) in seen.iter().enumerate() {
            let id = &model.workloads[w].id;
            let missing = ranges(
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, &c)| c == 0)
                    .map(|(r, _)| r),
            );
            if !missing.is_empty() {
                let m = format!(
                    "`{id}` replica(s) {missing} appear neither in placements nor in unplaced"
                );
                self.flag("placement", m);
            }
            let twice = ranges(
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, &c)| c > 1)
                    .map(|(r, _)| r),
            );
            if !twice.is_empty() {
                let m = format!(
                    "`{id}` replica(s) {twice} appear more than once in placements and unplaced"
                );
                self.flag("placement", m);
            }
        }
        placed
    }

    fn count_replica(
        &mut self,
        seen: &mut [Vec<u32>],
        w: usize,
        replica: u32,
        what: impl Fn() -> String,
    ) {
        match seen[w].get_mut(replica as usize) {
            Some(c) => *c += 1,
            None => {
                let m = format!(
                    "{}: `{}` has {} replica(s)",
                    what(),
                    self.model.workloads[w].id,
                    self.model.workloads[w].replicas
                );
                self.flag("placement", m);
            }
        }
    }

    /// A class (equal on every `separateBy` attribute, or one dedicated workload) stays in
    /// one pool.
    fn classes(&mut self, pools: &Pools) {
        let model = self.model;
        let mut classes: BTreeMap<ClassKey, Vec<usize>> = BTreeMap::new();
        for (i, w) in model.workloads.iter().enumerate() {
            let key = if w.platform {
                ClassKey::Platform
            } else if w.dedicated {
                ClassKey::Dedicated(i)
            } else {
                let values = model
                    .policy
                    .separate_by
                    .iter()
                    .map(|a| w.attribute(a).to_string());
                ClassKey::Shared(values.collect())
            };
            classes.entry(key).or_default().push(i);
        }
        for members in classes.into_values() {
            // Workloads in no pool or in several are reported by `pools` already.
            let placed: Vec<usize> = members
                .into_iter()
                .filter(|&w| pools.of_workload[w].len() == 1)
                .collect();
            let used: BTreeSet<usize> = placed
                .iter()
                .flat_map(|&w| pools.of_workload[w].iter().copied())
                .collect();
            if used.len() > 1 {
                let spread: Vec<String> = placed
                    .iter()
                    .map(|&w| {
                        format!(
                            "`{}` in {}",
                            model.workloads[w].id,
                            self.pool_names(&pools.of_workload[w])
                        )
                    })
                    .collect();
                let m = format!(
                    "class `{}` is split across pools: {}",
                    model.class_name(&model.workloads[placed[0]]),
                    spread.join(", ")
                );
                self.flag("pool", m);
            }
        }
    }

    /// Platform workloads, and only they, are in the pool marked `platform`: its nodes carry
    /// no pool taint or label, so a tier workload there would share nodes with any pod the
    /// plan does not cover, and a platform workload (left unpinned) in a tier pool would hold
    /// capacity its pods cannot reach.
    fn platform(&mut self, pools: &Pools) {
        let model = self.model;
        for (p, members) in pools.workloads.iter().enumerate() {
            let pool = &self.plan.pools[p];
            for &w in members {
                let wl = &model.workloads[w];
                let m = match (pool.platform, wl.platform) {
                    (true, false) => format!(
                        "tier workload `{}` is in platform pool `{}`, whose nodes any pod may use",
                        wl.id, pool.name
                    ),
                    (false, true) => format!(
                        "platform workload `{}` is in tier pool `{}`, whose taint keeps its pods off",
                        wl.id, pool.name
                    ),
                    _ => continue,
                };
                self.flag("platform", m);
            }
        }
    }

    /// Every two distinct workloads of a pool may share a node.
    fn compatibility(&mut self, pools: &Pools) {
        let model = self.model;
        for (p, members) in pools.workloads.iter().enumerate() {
            let pool = &self.plan.pools[p].name;
            // Workloads with equal separateBy values and equal shareWhen matches are
            // interchangeable here, so compare groups, not all pairs of workloads.
            let mut groups: BTreeMap<(Vec<&str>, Vec<bool>), Vec<usize>> = BTreeMap::new();
            for &w in members {
                let wl = &model.workloads[w];
                // Platform workloads all share; mixing them with tiers is `platform`'s finding.
                if wl.platform {
                    continue;
                }
                if wl.dedicated {
                    if members.len() > 1 {
                        let others: Vec<String> = members
                            .iter()
                            .filter(|&&o| o != w)
                            .map(|&o| format!("`{}`", model.workloads[o].id))
                            .collect();
                        let m = format!(
                            "`{}` is dedicated but shares pool `{pool}` with {}",
                            wl.id,
                            others.join(", ")
                        );
                        self.flag("compatibility", m);
                    }
                    continue;
                }
                let values = model
                    .policy
                    .separate_by
                    .iter()
                    .map(|a| wl.attribute(a))
                    .collect();
                let matched = model
                    .policy
                    .share_when
                    .iter()
                    .map(|r| wl.matches(r))
                    .collect();
                groups.entry((values, matched)).or_default().push(w);
            }
            let groups: Vec<&Vec<usize>> = groups.values().collect();
            for (i, a) in groups.iter().enumerate() {
                for b in &groups[i + 1..] {
                    let (wa, wb) = (&model.workloads[a[0]], &model.workloads[b[0]]);
                    let Some(attr) = first_conflict(model, wa, wb) else {
                        continue;
                    };
                    let pairs = a.len() * b.len();
                    let more = if pairs > 1 {
                        format!(" ({pairs} workload pairs like this)")
                    } else {
                        String::new()
                    };
                    let m = format!(
                        "`{}` and `{}` share pool `{pool}` but differ on {attr} (`{}` vs `{}`) and no shareWhen rule naming {attr} matches both{more}",
                        wa.id,
                        wb.id,
                        wa.attribute(attr),
                        wb.attribute(attr),
                    );
                    self.flag("compatibility", m);
                }
            }
        }
    }

    /// Capacity, anti-affinity, maxPerNode and node labels on every used node.
    /// Every node of a pool can host one replica of some workload of the pool: spare
    /// capacity that none of its replicas could ever move to protects nothing, so it must
    /// not count towards headroom or minNodesPerPool.
    fn useful_nodes(&mut self, pools: &Pools) {
        let model = self.model;
        let overhead = &model.policy.node_overhead;
        for (p, nodes) in pools.nodes.iter().enumerate() {
            for &n in nodes {
                let node = &model.nodes[n];
                let can_host = |w: &Workload| {
                    let mut labels = w.node_selector.clone();
                    for req in &model.policy.node_requirements {
                        if w.matches(&req.matches) {
                            labels.extend(req.node_selector.clone());
                        }
                    }
                    missing_labels(node, &labels).is_none()
                        && scheduling_refusal(w, node).is_none()
                        && w.requests.iter().enumerate().all(|(r, &q)| {
                            q == 0
                                || node.allocatable[r]
                                    .is_some_and(|a| a.saturating_sub(overhead[r]) >= q)
                        })
                };
                if !pools.workloads[p]
                    .iter()
                    .any(|&w| can_host(&model.workloads[w]))
                {
                    let m = format!(
                        "node `{}` is in pool `{}` but cannot host a replica of any of its workloads",
                        node.name, self.plan.pools[p].name
                    );
                    self.flag("pool", m);
                }
            }
        }
    }

    fn nodes(&mut self, pools: &Pools, placed: &Placed) {
        let model = self.model;
        let overhead = &model.policy.node_overhead;
        for (n, node) in model.nodes.iter().enumerate() {
            let hosted = &placed.on_node[n];
            // Used: in a pool (its daemons run) or hosting a replica (even outside any pool).
            if pools.of_node[n].is_empty() && hosted.is_empty() {
                continue;
            }
            for (r, resource) in model.resources.iter().enumerate() {
                let requested: u128 = hosted
                    .iter()
                    .map(|(&w, &k)| model.workloads[w].requests[r] as u128 * k as u128)
                    .sum();
                match node.allocatable[r] {
                    None if requested > 0 => {
                        let m = format!(
                            "node `{}` does not declare {resource} but hosts replicas requesting {}",
                            node.name,
                            show(resource, requested)
                        );
                        self.flag("capacity", m);
                    }
                    None => {}
                    Some(alloc) => {
                        let need = overhead[r] as u128 + requested;
                        if need > alloc as u128 {
                            let m = format!(
                                "node `{}` {resource}: overhead {} + requests {} = {} exceeds allocatable {}",
                                node.name,
                                quantity::display(resource, overhead[r]),
                                show(resource, requested),
                                show(resource, need),
                                quantity::display(resource, alloc),
                            );
                            self.flag("capacity", m);
                        }
                    }
                }
            }
            for (&w, &count) in hosted {
                let wl = &model.workloads[w];
                for &other in &wl.anti_affinity {
                    // Each unordered pair once.
                    if other > w && hosted.contains_key(&other) {
                        let m = format!(
                            "node `{}` hosts both `{}` and `{}`, which are anti-affine",
                            node.name, wl.id, model.workloads[other].id
                        );
                        self.flag("anti-affinity", m);
                    }
                }
                for &(other, max) in &wl.co_location {
                    let there = hosted.get(&other).copied().unwrap_or(0);
                    if there > u64::from(max) {
                        let m = format!(
                            "node `{}` hosts `{}` and {there} replicas of `{}` (coLocation allows {max})",
                            node.name, wl.id, model.workloads[other].id
                        );
                        self.flag("co-location", m);
                    }
                }
                if let Some(max) = wl.max_per_node {
                    if count > max as u64 {
                        let m = format!(
                            "node `{}` hosts {count} replicas of `{}` (maxPerNode {max})",
                            node.name, wl.id
                        );
                        self.flag("max-per-node", m);
                    }
                }
                if let Some(problem) = missing_labels(node, &wl.node_selector) {
                    let m = format!(
                        "node `{}` hosts `{}` but {problem} (nodeSelector)",
                        node.name, wl.id
                    );
                    self.flag("node-selector", m);
                }
                if let Some((rule, problem)) = scheduling_refusal(wl, node) {
                    let m = format!("node `{}` hosts `{}` but {problem}", node.name, wl.id);
                    self.flag(rule, m);
                }
                for (i, req) in model.policy.node_requirements.iter().enumerate() {
                    if !wl.matches(&req.matches) {
                        continue;
                    }
                    if let Some(problem) = missing_labels(node, &req.node_selector) {
                        let m = format!(
                            "node `{}` hosts `{}` but {problem} (policy nodeRequirements[{i}])",
                            node.name, wl.id
                        );
                        self.flag("node-requirement", m);
                    }
                }
            }
        }
    }

    /// Fully placed workloads span min(minZones, replicas) zones; zone-less nodes count for none.
    fn min_zones(&mut self, placed: &Placed) {
        let model = self.model;
        let mut zones: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); model.workloads.len()];
        for (n, node) in model.nodes.iter().enumerate() {
            let Some(zone) = node.zone.as_deref() else {
                continue;
            };
            for &w in placed.on_node[n].keys() {
                zones[w].insert(zone);
            }
        }
        for (w, wl) in model.workloads.iter().enumerate() {
            let Some(min) = wl.min_zones else { continue };
            // An incomplete workload is already reported through `unplaced`.
            if placed.has_unplaced[w] {
                continue;
            }
            let need = min.min(wl.replicas) as usize;
            if zones[w].len() < need {
                let list: Vec<&str> = zones[w].iter().copied().collect();
                let m = format!(
                    "`{}` spans {} zone(s) [{}] but needs {need} (minZones {min}, {} replicas)",
                    wl.id,
                    zones[w].len(),
                    list.join(", "),
                    wl.replicas
                );
                self.flag("min-zones", m);
            }
        }
    }

    /// Each pool keeps covering its whole demand after losing its K largest nodes.
    fn headroom(&mut self, pools: &Pools) {
        let model = self.model;
        let k = model.policy.node_failures as usize;
        if k == 0 {
            return;
        }
        for (p, pool) in self.plan.pools.iter().enumerate() {
            if self.declared_unmet(&pool.name, "headroom") {
                continue;
            }
            for (r, resource) in model.resources.iter().enumerate() {
                if let Some((demand, left)) = headroom_shortfall(model, pools, p, r) {
                    let m = format!(
                        "pool `{}` {resource}: after losing its {k} largest node(s) {} remains for a demand of {}",
                        pool.name,
                        show(resource, left),
                        show(resource, demand),
                    );
                    self.flag("headroom", m);
                }
            }
        }
    }

    fn min_nodes(&mut self, pools: &Pools) {
        let min = self.model.policy.min_nodes_per_pool as usize;
        for (p, pool) in self.plan.pools.iter().enumerate() {
            if self.declared_unmet(&pool.name, "minNodesPerPool") {
                continue;
            }
            let have = pools.nodes[p].len();
            if have < min {
                let m = format!(
                    "pool `{}` has {have} node(s), fewer than minNodesPerPool {min}",
                    pool.name
                );
                self.flag("min-nodes-per-pool", m);
            }
        }
    }

    fn declared_unmet(&self, pool: &str, rule: &str) -> bool {
        self.plan
            .unmet
            .iter()
            .any(|u| u.pool == pool && u.rule == rule)
    }

    /// An `unmet` entry names a pool and a known rule, once, and the rule really fails there:
    /// a plan must not excuse itself from a rule it meets.
    fn unmet_entries(&mut self, pools: &Pools) {
        let model = self.model;
        let mut seen = BTreeSet::new();
        for u in &self.plan.unmet {
            if !seen.insert((&u.pool, &u.rule)) {
                self.flag(
                    "document",
                    format!(
                        "unmet lists {} for pool `{}` more than once",
                        u.rule, u.pool
                    ),
                );
            }
            let matching: Vec<usize> = self
                .plan
                .pools
                .iter()
                .enumerate()
                .filter(|(_, p)| p.name == u.pool)
                .map(|(i, _)| i)
                .collect();
            if matching.is_empty() {
                self.flag("document", format!("unmet names unknown pool `{}`", u.pool));
                continue;
            }
            let holds = match u.rule.as_str() {
                "headroom" => matching.iter().all(|&p| {
                    model.policy.node_failures == 0
                        || (0..model.resources.len())
                            .all(|r| headroom_shortfall(model, pools, p, r).is_none())
                }),
                "minNodesPerPool" => matching
                    .iter()
                    .all(|&p| pools.nodes[p].len() >= model.policy.min_nodes_per_pool as usize),
                other => {
                    let m = format!("unmet for pool `{}` names unknown rule `{other}` (headroom or minNodesPerPool)", u.pool);
                    self.flag("document", m);
                    continue;
                }
            };
            if holds {
                let code = if u.rule == "headroom" {
                    "headroom"
                } else {
                    "min-nodes-per-pool"
                };
                self.flag(
                    code,
                    format!(
                        "unmet lists {} for pool `{}`, but the rule holds",
                        u.rule, u.pool
                    ),
                );
            }
        }
    }

    fn unused_nodes(&mut self, pools: &Pools) {
        let model = self.model;
        let listed = &self.plan.unused_nodes;
        self.sorted_unique("unused-nodes", "unusedNodes", listed);
        let listed: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
        for name in &listed {
            match model.node_index(name) {
                None => self.flag(
                    "unused-nodes",
                    format!("unusedNodes lists unknown node `{name}`"),
                ),
                Some(n) if !pools.of_node[n].is_empty() => {
                    let m = format!(
                        "unusedNodes lists `{name}`, which is in pool {}",
                        self.pool_names(&pools.of_node[n])
                    );
                    self.flag("unused-nodes", m);
                }
                Some(_) => {}
            }
        }
        for (n, node) in model.nodes.iter().enumerate() {
            if pools.of_node[n].is_empty() && !listed.contains(node.name.as_str()) {
                self.flag(
                    "unused-nodes",
                    format!("node `{}` is in no pool but not in unusedNodes", node.name),
                );
            }
        }
    }

    fn objective(&mut self, pools: &Pools) {
        let model = self.model;
        let o = &self.plan.objective;
        let in_pools: Vec<usize> = (0..model.nodes.len())
            .filter(|&n| !pools.of_node[n].is_empty())
            .collect();
        if o.nodes != in_pools.len() as u64 {
            self.flag(
                "objective",
                format!(
                    "objective.nodes is {}, but {} nodes are in pools",
                    o.nodes,
                    in_pools.len()
                ),
            );
        }
        // Exact: node costs are integer micros, the plan's cost is compared after rounding.
        let micros: u128 = in_pools
            .iter()
            .map(|&n| model.nodes[n].cost_micros as u128)
            .sum();
        if !(o.cost.is_finite() && o.cost >= 0.0) {
            self.flag("objective", format!("objective.cost is {}", o.cost));
        } else if (o.cost * 1e6).round() as u128 != micros {
            let m = format!(
                "objective.cost is {}, but the nodes in pools cost {}",
                o.cost,
                micros as f64 / 1e6
            );
            self.flag("objective", m);
        }
        // Written so that a NaN bound fails too. A partial (infeasible) plan may cost less
        // than the bound on complete plans.
        let bound_ok = o.lower_bound <= o.cost + 1e-9
            || (self.plan.status == Status::Infeasible && o.lower_bound >= 0.0);
        if !bound_ok {
            self.flag(
                "objective",
                format!(
                    "objective.lowerBound {} exceeds the cost {}",
                    o.lower_bound, o.cost
                ),
            );
        }
        if self.plan.status == Status::Optimal && !within(o.lower_bound, o.cost, 1e-6) {
            let m = format!(
                "status is optimal but lowerBound {} differs from the cost {}",
                o.lower_bound, o.cost
            );
            self.flag("objective", m);
        }
        match (self.plan.status, o.gap) {
            (Status::Infeasible, Some(g)) => self.flag(
                "objective",
                format!("objective.gap is {g} on an infeasible plan"),
            ),
            (Status::Infeasible, None) => {}
            (_, None) => self.flag("objective", "objective.gap is missing".to_string()),
            (_, Some(g)) => {
                let want = if o.cost == 0.0 {
                    0.0
                } else {
                    (o.cost - o.lower_bound) / o.cost
                };
                if !within(g, want, 1e-9) {
                    let m =
                        format!("objective.gap is {g}, but (cost − lowerBound) / cost is {want}");
                    self.flag("objective", m);
                }
            }
        }
    }
}

/// What makes a class: the `separateBy` values, or the workload itself when dedicated.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum ClassKey {
    Shared(Vec<String>),
    Dedicated(usize),
    Platform,
}

/// The first `separateBy` attribute on which two non-dedicated workloads differ with no
/// single shareWhen rule (naming that attribute) matching both; `None` when compatible.
fn first_conflict<'m>(model: &'m Model, a: &Workload, b: &Workload) -> Option<&'m str> {
    model
        .policy
        .separate_by
        .iter()
        .find(|attr| {
            a.attribute(attr) != b.attribute(attr)
                && !model
                    .policy
                    .share_when
                    .iter()
                    .any(|r| r.contains_key(attr.as_str()) && a.matches(r) && b.matches(r))
        })
        .map(String::as_str)
}

/// `(demand, remaining)` when pool `p` cannot cover its demand of resource `r` after losing
/// its K largest nodes; `None` when it can (or has no demand).
fn headroom_shortfall(model: &Model, pools: &Pools, p: usize, r: usize) -> Option<(u128, u128)> {
    let demand: u128 = pools.workloads[p]
        .iter()
        .map(|&w| model.workloads[w].replicas as u128 * model.workloads[w].requests[r] as u128)
        .sum();
    if demand == 0 {
        return None;
    }
    let overhead = model.policy.node_overhead[r];
    let mut capacity: Vec<u128> = pools.nodes[p]
        .iter()
        .map(|&n| {
            model.nodes[n].allocatable[r]
                .unwrap_or(0)
                .saturating_sub(overhead) as u128
        })
        .collect();
    capacity.sort_unstable_by(|a, b| b.cmp(a));
    let k = model.policy.node_failures as usize;
    let left: u128 = capacity.iter().skip(k).sum();
    (left < demand).then_some((demand, left))
}

/// The taint key of tierplan's pools: tierplan sets and tolerates it itself.
const OWN_POOL_TAINT: &str = "node-restriction.kubernetes.io/tierplan-pool";

/// Which of kube-scheduler's filters keeps `w` off `node` by the workload's own constraints,
/// as (rule, why): `NodeAffinity` (some required term whose every expression holds),
/// `NodeUnschedulable` (a cordoned node, unless the pod tolerates
/// `node.kubernetes.io/unschedulable:NoSchedule`) and `TaintToleration` (every `NoSchedule`
/// and `NoExecute` taint but the pool's tolerated). Written apart from `policy`, on purpose.
fn scheduling_refusal(w: &Workload, node: &Node) -> Option<(&'static str, String)> {
    if !w.node_affinity.is_empty() {
        let term_holds = |t: &crate::model::AffinityTerm| {
            let mut any = false;
            for e in &t.expressions {
                any = true;
                if !label_expression_holds(&e.operator, node.labels.get(&e.key)) {
                    return false;
                }
            }
            any // an empty term selects no node
        };
        if !w.node_affinity.iter().any(term_holds) {
            return Some((
                "node-affinity",
                format!(
                    "matches none of its {} nodeAffinity term(s)",
                    w.node_affinity.len()
                ),
            ));
        }
    }
    let tolerated = |key: &str, value: &str, effect: &str| {
        w.tolerations.iter().any(|t| {
            let effect_ok = match &t.effect {
                None => true,
                Some(e) => e == effect,
            };
            let key_ok = t.key.is_empty() || t.key == key;
            let value_ok = match &t.operator {
                TolerationOperator::Exists => true,
                TolerationOperator::Equal(v) => v == value,
            };
            effect_ok && key_ok && value_ok
        })
    };
    if node.unschedulable && !tolerated("node.kubernetes.io/unschedulable", "", "NoSchedule") {
        return Some((
            "cordoned",
            "the node is cordoned (unschedulable) and the workload does not tolerate node.kubernetes.io/unschedulable:NoSchedule".into(),
        ));
    }
    for t in &node.taints {
        let filters = matches!(t.effect.as_str(), "NoSchedule" | "NoExecute");
        if filters && t.key != OWN_POOL_TAINT && !tolerated(&t.key, &t.value, &t.effect) {
            return Some((
                "toleration",
                format!(
                    "the node's taint {}={}:{} is not tolerated",
                    t.key, t.value, t.effect
                ),
            ));
        }
    }
    None
}

/// Whether a node label `value` (absent: `None`) satisfies `op`, as Kubernetes' label
/// requirements read it; `Gt` and `Lt` compare the value as a decimal `i64`.
fn label_expression_holds(op: &LabelOperator, value: Option<&String>) -> bool {
    let number = value.and_then(|v| v.parse::<i64>().ok());
    match (op, value) {
        (LabelOperator::Exists, v) => v.is_some(),
        (LabelOperator::DoesNotExist, v) => v.is_none(),
        (LabelOperator::In(vs), Some(v)) => vs.iter().any(|x| x == v),
        (LabelOperator::In(_), None) => false,
        (LabelOperator::NotIn(vs), Some(v)) => vs.iter().all(|x| x != v),
        (LabelOperator::NotIn(_), None) => true,
        (LabelOperator::Gt(n), _) => number.is_some_and(|x| x > *n),
        (LabelOperator::Lt(n), _) => number.is_some_and(|x| x < *n),
    }
}

/// Which labels of `selector` the node lacks or carries with another value, if any.
fn missing_labels(
    node: &crate::model::Node,
    selector: &BTreeMap<String, String>,
) -> Option<String> {
    let problems: Vec<String> = selector
        .iter()
        .filter_map(|(k, v)| match node.labels.get(k) {
            Some(have) if have == v => None,
            Some(have) => Some(format!("has {k}={have}, not {k}={v}")),
            None => Some(format!("lacks {k}={v}")),
        })
        .collect();
    (!problems.is_empty()).then(|| problems.join(" and "))
}

/// Formats a `u128` sum of amounts; sums beyond `u64` only occur on absurd plans.
fn show(resource: &str, amount: u128) -> String {
    match u64::try_from(amount) {
        Ok(a) => quantity::display(resource, a).to_string(),
        Err(_) => amount.to_string(),
    }
}

/// `|a − b| ≤ tolerance`; false when either is NaN.
fn within(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

/// `0-3, 5, 7-8` from ascending indices.
fn ranges(indices: impl Iterator<Item = usize>) -> String {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for i in indices {
        match spans.last_mut() {
            Some((_, end)) if *end + 1 == i => *end = i,
            _ => spans.push((i, i)),
        }
    }
    let parts: Vec<String> = spans
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{cost_from_micros, Model};
    use crate::plan::{Objective, Placement, Pool, Unmet, Unplaced};

    /// Builds a model from YAML documents through the real loader and validator.
    fn model(docs: &[String]) -> Model {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.yaml");
        std::fs::write(&path, docs.join("---\n")).unwrap();
        crate::model::build_from_paths(&[path]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn policy(spec: &str) -> String {
        format!(
            "apiVersion: tierplan/v1alpha1\nkind: Policy\nmetadata: {{name: p}}\nspec: {spec}\n"
        )
    }

    /// A workload in namespace `default`; `spec` is a YAML flow mapping body.
    fn workload(name: &str, spec: &str) -> String {
        format!("apiVersion: tierplan/v1alpha1\nkind: Workload\nmetadata: {{name: {name}}}\nspec: {{{spec}}}\n")
    }

    fn node(name: &str, labels: &str, spec: &str) -> String {
        format!(
            "apiVersion: tierplan/v1alpha1\nkind: Node\nmetadata: {{name: {name}, labels: {{{labels}}}}}\nspec: {{{spec}}}\n"
        )
    }

    fn id(name: &str) -> String {
        format!("default/{name}")
    }

    /// A complete, optimal plan with `pools` (name, workload names, node names) and
    /// `placements` (workload name, replica, node); unused nodes and objective derived.
    fn plan(
        m: &Model,
        pools: &[(&str, &[&str], &[&str])],
        placements: &[(&str, u32, &str)],
    ) -> Plan {
        let mut plan = Plan {
            api_version: "tierplan/v1alpha1".into(),
            kind: "Plan".into(),
            status: Status::Optimal,
            infeasibility: None,
            explanation: None,
            objective: Objective {
                cost: 0.0,
                nodes: 0,
                lower_bound: 0.0,
                gap: Some(0.0),
                disruption: None,
            },
            pools: pools
                .iter()
                .map(|(name, ws, ns)| {
                    let mut workloads: Vec<String> = ws.iter().map(|w| id(w)).collect();
                    workloads.sort();
                    let mut nodes: Vec<String> = ns.iter().map(|n| n.to_string()).collect();
                    nodes.sort();
                    Pool {
                        name: name.to_string(),
                        classes: vec![format!("class-of-{name}")],
                        workloads,
                        nodes,
                        platform: false,
                        node_types: Vec::new(),
                    }
                })
                .collect(),
            placements: placements
                .iter()
                .map(|(w, r, n)| Placement {
                    workload: id(w),
                    replica: *r,
                    node: n.to_string(),
                })
                .collect(),
            unplaced: Vec::new(),
            unmet: Vec::new(),
            unused_nodes: Vec::new(),
            inputs: None,
        };
        derive(m, &mut plan);
        plan
    }

    /// Recomputes unusedNodes and an optimal objective from the plan's pools.
    fn derive(m: &Model, plan: &mut Plan) {
        let in_pools: BTreeSet<&str> = plan
            .pools
            .iter()
            .flat_map(|p| p.nodes.iter().map(String::as_str))
            .collect();
        plan.unused_nodes = m
            .nodes
            .iter()
            .filter(|n| !in_pools.contains(n.name.as_str()))
            .map(|n| n.name.clone())
            .collect();
        let micros: u64 = m
            .nodes
            .iter()
            .filter(|n| in_pools.contains(n.name.as_str()))
            .map(|n| n.cost_micros)
            .sum();
        let cost = cost_from_micros(micros);
        plan.objective = Objective {
            cost,
            nodes: in_pools.len() as u64,
            lower_bound: cost,
            gap: Some(0.0),
            disruption: None,
        };
    }

    /// Marks `replicas` of `w` unplaced (removing their placements) and the plan infeasible.
    fn unplace(plan: &mut Plan, w: &str, replicas: &[u32]) {
        plan.placements
            .retain(|p| !(p.workload == id(w) && replicas.contains(&p.replica)));
        for &r in replicas {
            plan.unplaced.push(Unplaced {
                workload: id(w),
                replica: r,
                reasons: vec!["test".into()],
            });
        }
        infeasible(plan);
    }

    fn infeasible(plan: &mut Plan) {
        plan.status = Status::Infeasible;
        plan.objective.gap = None;
    }

    fn rules(r: &Report) -> Vec<&'static str> {
        r.violations.iter().map(|v| v.rule).collect()
    }

    /// Asserts the report holds exactly `expected` rule codes (in sorted order) and shows it.
    #[track_caller]
    fn assert_rules(r: &Report, expected: &[&str]) {
        assert_eq!(rules(r), expected, "\n{r}");
    }

    #[track_caller]
    fn assert_mentions(r: &Report, rule: &str, words: &[&str]) {
        assert!(
            r.violations
                .iter()
                .any(|v| v.rule == rule && words.iter().all(|w| v.message.contains(w))),
            "no {rule} violation mentioning {words:?}:\n{r}"
        );
    }

    /// Three sensitivities where public~internal and internal~confidential share, but
    /// public and confidential do not: compatibility is not transitive.
    fn tiers() -> Model {
        model(&[
            policy(
                "{separateBy: [sensitivity], shareWhen: [{sensitivity: [public, internal]}, {sensitivity: [internal, confidential]}]}",
            ),
            workload("pub", "sensitivity: public, resources: {cpu: 1}"),
            workload("int", "sensitivity: internal, resources: {cpu: 1}"),
            workload("conf", "sensitivity: confidential, resources: {cpu: 1}"),
            node("n1", "", "allocatable: {cpu: 4}, zone: a"),
            node("n2", "", "allocatable: {cpu: 4}, zone: b"),
            node("n3", "", "allocatable: {cpu: 4}, zone: c, cost: 2.5"),
        ])
    }

    #[test]
    fn a_correct_plan_is_valid() {
        let m = tiers();
        let p = plan(
            &m,
            &[
                ("low", &["pub", "int"], &["n1"]),
                ("high", &["conf"], &["n3"]),
            ],
            &[("pub", 0, "n1"), ("int", 0, "n1"), ("conf", 0, "n3")],
        );
        let r = check(&m, &p);
        assert!(r.is_valid(), "{r}");
        assert_eq!(p.unused_nodes, ["n2"]);
        assert_eq!(p.objective.cost, 3.5);
        assert_eq!(
            r.to_string(),
            "valid: 0 violations, 0 unplaced replicas, 0 unmet pool rules"
        );
    }

    #[test]
    fn share_when_is_not_transitive() {
        let m = tiers();
        let all = [("pub", 0, "n1"), ("int", 0, "n1"), ("conf", 0, "n1")];
        let p = plan(&m, &[("all", &["pub", "int", "conf"], &["n1"])], &all);
        let r = check(&m, &p);
        assert_rules(&r, &["compatibility"]);
        assert_mentions(
            &r,
            "compatibility",
            &["default/conf", "default/pub", "sensitivity", "`all`"],
        );

        // internal with either neighbour alone is fine.
        let p = plan(
            &m,
            &[("a", &["int", "conf"], &["n1"]), ("b", &["pub"], &["n2"])],
            &[("pub", 0, "n2"), ("int", 0, "n1"), ("conf", 0, "n1")],
        );
        assert!(check(&m, &p).is_valid());
    }

    #[test]
    fn a_share_when_rule_must_match_both_on_every_key() {
        let m = model(&[
            policy("{separateBy: [sensitivity, exposure], shareWhen: [{sensitivity: [public, internal], tenant: [acme]}]}"),
            workload("a", "sensitivity: public, exposure: internet, tenant: acme"),
            workload("b", "sensitivity: internal, exposure: internet, tenant: acme"),
            workload("c", "sensitivity: internal, exposure: internet, tenant: other"),
            // Missing exposure is the empty value, which differs from `internet`.
            workload("d", "sensitivity: public, tenant: acme"),
            node("n1", "", "allocatable: {cpu: 4}"),
            node("n2", "", "allocatable: {cpu: 4}"),
            node("n3", "", "allocatable: {cpu: 4}"),
        ]);
        // b and c are one class (equal on separateBy) although only b matches the rule.
        let ok = plan(
            &m,
            &[
                ("p", &["a"], &["n1"]),
                ("q", &["b", "c"], &["n2"]),
                ("r", &["d"], &["n3"]),
            ],
            &[
                ("a", 0, "n1"),
                ("b", 0, "n2"),
                ("c", 0, "n2"),
                ("d", 0, "n3"),
            ],
        );
        assert!(check(&m, &ok).is_valid(), "{}", check(&m, &ok));
        // a~b, but the rule names tenant too and c's tenant is not listed.
        let bad = plan(
            &m,
            &[("p", &["a", "b", "c"], &["n1"]), ("r", &["d"], &["n3"])],
            &[
                ("a", 0, "n1"),
                ("b", 0, "n1"),
                ("c", 0, "n1"),
                ("d", 0, "n3"),
            ],
        );
        let r = check(&m, &bad);
        assert_rules(&r, &["compatibility"]);
        assert_mentions(
            &r,
            "compatibility",
            &["default/a", "default/c", "sensitivity"],
        );
        // d also differs from a, b and c on exposure.
        let all = plan(
            &m,
            &[("p", &["a", "b", "c", "d"], &["n1"])],
            &[
                ("a", 0, "n1"),
                ("b", 0, "n1"),
                ("c", 0, "n1"),
                ("d", 0, "n1"),
            ],
        );
        let r = check(&m, &all);
        assert_rules(&r, &["compatibility"; 4]);
        assert_mentions(
            &r,
            "compatibility",
            &["default/d", "exposure", "(`` vs `internet`)"],
        );
    }

    #[test]
    fn platform_workloads_and_only_they_are_in_the_platform_pool() {
        let m = model(&[
            workload("dns", "platform: true"),
            workload("metrics", "platform: true"),
            workload("web", "sensitivity: public"),
            node("n1", "", "allocatable: {cpu: 4}"),
            node("n2", "", "allocatable: {cpu: 4}"),
        ]);
        let placements: &[(&str, u32, &str)] =
            &[("dns", 0, "n1"), ("metrics", 0, "n1"), ("web", 0, "n2")];
        let mut ok = plan(
            &m,
            &[
                ("platform", &["dns", "metrics"], &["n1"]),
                ("w", &["web"], &["n2"]),
            ],
            placements,
        );
        ok.pools[0].platform = true;
        assert!(check(&m, &ok).is_valid(), "{}", check(&m, &ok));
        let mut unmarked = ok.clone();
        unmarked.pools[0].platform = false;
        let r = check(&m, &unmarked);
        assert_rules(&r, &["platform", "platform"]);
        assert_mentions(
            &r,
            "platform",
            &["platform workload `default/dns`", "tier pool"],
        );
        let mut mixed = plan(
            &m,
            &[("platform", &["dns", "metrics", "web"], &["n1", "n2"])],
            placements,
        );
        mixed.pools[0].platform = true;
        let r = check(&m, &mixed);
        assert_rules(&r, &["platform"]);
        assert_mentions(&r, "platform", &["tier workload `default/web`"]);
    }

    #[test]
    fn a_dedicated_workload_shares_no_pool() {
        let m = model(&[
            policy("{separateBy: [sensitivity]}"),
            workload("vault", "sensitivity: public, dedicated: true"),
            workload("web", "sensitivity: public"),
            node("n1", "", "allocatable: {cpu: 4}"),
            node("n2", "", "allocatable: {cpu: 4}"),
        ]);
        let ok = plan(
            &m,
            &[("v", &["vault"], &["n1"]), ("w", &["web"], &["n2"])],
            &[("vault", 0, "n1"), ("web", 0, "n2")],
        );
        assert!(check(&m, &ok).is_valid());
        let bad = plan(
            &m,
            &[("v", &["vault", "web"], &["n1", "n2"])],
            &[("vault", 0, "n1"), ("web", 0, "n2")],
        );
        let r = check(&m, &bad);
        assert_rules(&r, &["compatibility"]);
        assert_mentions(
            &r,
            "compatibility",
            &["default/vault", "dedicated", "default/web"],
        );
    }

    #[test]
    fn a_class_stays_in_one_pool() {
        let m = model(&[
            policy("{separateBy: [sensitivity]}"),
            workload("a", "sensitivity: public"),
            workload("b", "sensitivity: public"),
            node("n1", "", "allocatable: {cpu: 4}"),
            node("n2", "", "allocatable: {cpu: 4}"),
        ]);
        let p = plan(
            &m,
            &[("x", &["a"], &["n1"]), ("y", &["b"], &["n2"])],
            &[("a", 0, "n1"), ("b", 0, "n2")],
        );
        let r = check(&m, &p);
        assert_rules(&r, &["pool"]);
        assert_mentions(&r, "pool", &["sensitivity=public", "split", "`x`", "`y`"]);
    }

    #[test]
    fn pool_membership_is_exact() {
        let m = tiers();
        let base = [("pub", 0, "n1"), ("int", 0, "n1"), ("conf", 0, "n3")];
        // conf in no pool.
        let p = plan(
            &m,
            &[("low", &["pub", "int"], &["n1"]), ("high", &[], &["n3"])],
            &base,
        );
        let r = check(&m, &p);
        assert_mentions(&r, "pool", &["default/conf", "no pool"]);
        assert_mentions(&r, "pool", &["`high`", "no workloads"]);
        // conf in two pools.
        let p = plan(
            &m,
            &[
                ("low", &["pub", "int", "conf"], &["n1"]),
                ("high", &["conf"], &["n3"]),
            ],
            &base,
        );
        let r = check(&m, &p);
        assert_mentions(&r, "pool", &["default/conf", "2 pools"]);
        // A node in two pools, a duplicate pool name, an unknown node.
        let p = plan(
            &m,
            &[
                ("low", &["pub", "int"], &["n1", "n3"]),
                ("low", &["conf"], &["n3", "n9"]),
            ],
            &base,
        );
        let r = check(&m, &p);
        assert_mentions(&r, "pool", &["node `n3`", "2 pools"]);
        assert_mentions(&r, "pool", &["pool name `low`", "2 pools"]);
        assert_mentions(&r, "pool", &["unknown node `n9`"]);
        // A placement outside the workload's pool.
        let p = plan(
            &m,
            &[
                ("low", &["pub", "int"], &["n1"]),
                ("high", &["conf"], &["n3"]),
            ],
            &[("pub", 0, "n1"), ("int", 0, "n3"), ("conf", 0, "n3")],
        );
        let r = check(&m, &p);
        assert_rules(&r, &["pool"]);
        assert_mentions(&r, "pool", &["default/int", "`n3`", "`low`"]);
        // A placement on a node in no pool: the node is used and counted for capacity.
        let p = plan(
            &m,
            &[
                ("low", &["pub", "int"], &["n1"]),
                ("high", &["conf"], &["n3"]),
            ],
            &[("pub", 0, "n1"), ("int", 0, "n2"), ("conf", 0, "n3")],
        );
        assert_rules(&check(&m, &p), &["pool"]);
    }

    #[test]
    fn pool_lists_are_sorted_and_classes_named() {
        let m = tiers();
        let mut p = plan(
            &m,
            &[
                ("low", &["pub", "int"], &["n1", "n2"]),
                ("high", &["conf"], &["n3"]),
            ],
            &[("pub", 0, "n1"), ("int", 0, "n2"), ("conf", 0, "n3")],
        );
        assert!(check(&m, &p).is_valid());
        p.pools[0].nodes.reverse();
        p.pools[0].workloads.reverse();
        p.pools[1].classes = vec![String::new()];
        let r = check(&m, &p);
        assert_rules(&r, &["document", "document", "document"]);
        assert_mentions(&r, "document", &["`low` nodes", "not sorted"]);
        assert_mentions(&r, "document", &["`high`", "empty class name"]);
    }

    #[test]
    fn every_replica_appears_exactly_once() {
        let m = model(&[
            policy("{}"),
            workload("web", "sensitivity: public, replicas: 3"),
            node("n1", "", "allocatable: {cpu: 4}"),
        ]);
        let pools: &[(&str, &[&str], &[&str])] = &[("p", &["web"], &["n1"])];
        let ok = plan(
            &m,
            pools,
            &[("web", 0, "n1"), ("web", 1, "n1"), ("web", 2, "n1")],
        );
        assert!(check(&m, &ok).is_valid());

        let missing = plan(&m, pools, &[("web", 0, "n1")]);
        let r = check(&m, &missing);
        assert_rules(&r, &["placement"]);
        assert_mentions(&r, "placement", &["default/web", "1-2", "neither"]);

        let dup = plan(
            &m,
            pools,
            &[
                ("web", 0, "n1"),
                ("web", 1, "n1"),
                ("web", 2, "n1"),
                ("web", 1, "n1"),
            ],
        );
        let r = check(&m, &dup);
        assert_rules(&r, &["placement"]);
        assert_mentions(
            &r,
            "placement",
            &["default/web", "replica(s) 1 ", "more than once"],
        );

        // Placed and unplaced at once is a duplicate too.
        let mut both = ok.clone();
        both.unplaced.push(Unplaced {
            workload: id("web"),
            replica: 2,
            reasons: vec!["x".into()],
        });
        infeasible(&mut both);
        let r = check(&m, &both);
        assert_rules(&r, &["placement"]);
        assert_eq!(r.unplaced, 1);

        let mut bad = ok.clone();
        bad.placements.push(Placement {
            workload: id("web"),
            replica: 3,
            node: "n1".into(),
        });
        bad.placements.push(Placement {
            workload: id("api"),
            replica: 0,
            node: "n1".into(),
        });
        bad.placements.push(Placement {
            workload: id("web"),
            replica: 0,
            node: "n7".into(),
        });
        let r = check(&m, &bad);
        assert_mentions(&r, "placement", &["replica 3", "has 3 replica(s)"]);
        assert_mentions(&r, "placement", &["no workload `default/api`"]);
        assert_mentions(&r, "placement", &["no node `n7`"]);
        assert_mentions(&r, "placement", &["replica(s) 0 ", "more than once"]);
    }

    /// Two replicas of `web` on node n1, and the plan that places them.
    fn web_on_n1() -> (Model, Plan) {
        let m = model(&[
            policy("{}"),
            workload("web", "sensitivity: public, replicas: 2"),
            node("n1", "", "allocatable: {cpu: 4}"),
        ]);
        let p = plan(
            &m,
            &[("p", &["web"], &["n1"])],
            &[("web", 0, "n1"), ("web", 1, "n1")],
        );
        (m, p)
    }

    #[test]
    fn status_agrees_with_unplaced_and_unmet() {
        let (m, mut p) = web_on_n1();
        unplace(&mut p, "web", &[1]);
        let r = check(&m, &p);
        assert!(r.is_consistent() && !r.is_valid(), "{r}");
        assert_eq!((r.unplaced, r.unmet), (1, 0));
        assert!(r
            .to_string()
            .starts_with("consistent: 0 violations, 1 unplaced replica, 0 unmet"));

        let mut optimal = p.clone();
        optimal.status = Status::Optimal;
        optimal.objective.gap = Some(0.0);
        assert_rules(&check(&m, &optimal), &["status"]);

        let (_, mut nothing_wrong) = web_on_n1();
        infeasible(&mut nothing_wrong);
        assert_rules(&check(&m, &nothing_wrong), &["status"]);
    }

    #[test]
    fn infeasibility_is_accepted_on_infeasible_plans_only_and_in_shape() {
        use crate::plan::{Infeasibility, Proof};
        let (m, mut p) = web_on_n1();
        unplace(&mut p, "web", &[1]);
        for i in [
            Infeasibility::proven(Proof::CompleteSearch),
            Infeasibility::unproven(),
        ] {
            p.infeasibility = Some(i);
            let read: Plan = serde_json::from_str(&p.to_json()).unwrap();
            assert!(check(&m, &read).is_consistent(), "{}", check(&m, &read));
        }
        for i in [
            Infeasibility {
                proven: true,
                by: None,
            },
            Infeasibility {
                proven: false,
                by: Some(Proof::ExhaustiveSearch),
            },
        ] {
            p.infeasibility = Some(i);
            assert_mentions(&check(&m, &p), "status", &["infeasibility.proven"]);
        }
        let (_, mut feasible) = web_on_n1();
        feasible.infeasibility = Some(Infeasibility::unproven());
        assert_rules(&check(&m, &feasible), &["status"]);
    }

    #[test]
    fn document_header_is_checked() {
        let m = tiers();
        let mut p = plan(
            &m,
            &[("p", &["int", "conf"], &["n1"]), ("q", &["pub"], &["n2"])],
            &[("pub", 0, "n2"), ("int", 0, "n1"), ("conf", 0, "n1")],
        );
        p.api_version = "v1".into();
        p.kind = "Plan2".into();
        let r = check(&m, &p);
        assert_rules(&r, &["document", "document"]);
    }

    #[test]
    fn overhead_counts_toward_capacity() {
        let m = model(&[
            policy("{nodeOverhead: {cpu: 500m, memory: 1Gi}}"),
            workload(
                "web",
                "sensitivity: public, replicas: 2, resources: {cpu: 750m}",
            ),
            workload(
                "api",
                "sensitivity: public, replicas: 2, resources: {cpu: 800m}",
            ),
            // Declares no memory: the memory overhead does not apply.
            node("n1", "", "allocatable: {cpu: 2}"),
        ]);
        // 500m + 2 × 750m = 2: exactly full is fine.
        let full = plan(
            &m,
            &[("p", &["web"], &["n1"])],
            &[("web", 0, "n1"), ("web", 1, "n1")],
        );
        let full_report = check(&m, &full);
        assert!(
            full_report.violations.iter().all(|v| v.rule != "capacity"),
            "{full_report}"
        );
        // 2 × 800m fits alone, not with the overhead.
        let m2 = model(&[
            policy("{separateBy: [sensitivity], nodeOverhead: {cpu: 500m}}"),
            workload(
                "api",
                "sensitivity: public, replicas: 2, resources: {cpu: 800m}",
            ),
            node("n1", "", "allocatable: {cpu: 2}"),
        ]);
        let over = plan(
            &m2,
            &[("p", &["api"], &["n1"])],
            &[("api", 0, "n1"), ("api", 1, "n1")],
        );
        let r = check(&m2, &over);
        assert_rules(&r, &["capacity"]);
        assert_mentions(
            &r,
            "capacity",
            &[
                "`n1`",
                "cpu",
                "overhead 500m",
                "requests 1600m",
                "2100m",
                "allocatable 2",
            ],
        );
    }

    #[test]
    fn undeclared_resources_and_pod_slots() {
        let m = model(&[
            policy("{nodeOverhead: {memory: 1Gi}}"),
            workload("ml", "sensitivity: public, resources: {nvidia.com/gpu: 1}"),
            workload("web", "sensitivity: public, replicas: 2"),
            node("cpu-only", "", "allocatable: {cpu: 4}"),
            node("gpu", "", "allocatable: {cpu: 4, nvidia.com/gpu: 1}"),
            node("tiny", "", "allocatable: {cpu: 4, pods: 1}"),
            node("unlimited", "", "allocatable: {cpu: 4}"),
        ]);
        let ok = plan(
            &m,
            &[("p", &["ml", "web"], &["gpu", "unlimited"])],
            &[
                ("ml", 0, "gpu"),
                ("web", 0, "unlimited"),
                ("web", 1, "unlimited"),
            ],
        );
        assert!(check(&m, &ok).is_valid(), "{}", check(&m, &ok));
        let bad = plan(
            &m,
            &[("p", &["ml", "web"], &["cpu-only", "tiny"])],
            &[
                ("ml", 0, "cpu-only"),
                ("web", 0, "tiny"),
                ("web", 1, "tiny"),
            ],
        );
        let r = check(&m, &bad);
        assert_rules(&r, &["capacity", "capacity"]);
        assert_mentions(
            &r,
            "capacity",
            &["`cpu-only`", "does not declare nvidia.com/gpu"],
        );
        assert_mentions(
            &r,
            "capacity",
            &["`tiny`", "pods", "requests 2", "allocatable 1"],
        );
    }

    #[test]
    fn an_empty_node_in_a_pool_still_carries_the_overhead() {
        let m = model(&[
            policy("{nodeOverhead: {cpu: 1}}"),
            workload("web", "sensitivity: public"),
            node("big", "", "allocatable: {cpu: 4}"),
            node("small", "", "allocatable: {cpu: 500m}"),
        ]);
        let p = plan(
            &m,
            &[("p", &["web"], &["big", "small"])],
            &[("web", 0, "big")],
        );
        let r = check(&m, &p);
        assert_rules(&r, &["capacity"]);
        assert_mentions(&r, "capacity", &["`small`", "overhead 1 + requests 0"]);
    }

    #[test]
    fn anti_affine_workloads_never_share_a_node() {
        let m = model(&[
            policy("{}"),
            workload("resizer", "sensitivity: public, antiAffinity: [auth]"),
            workload("auth", "sensitivity: public"),
            node("n1", "", "allocatable: {cpu: 4}"),
            node("n2", "", "allocatable: {cpu: 4}"),
        ]);
        let pools: &[(&str, &[&str], &[&str])] = &[("p", &["auth", "resizer"], &["n1", "n2"])];
        let ok = plan(&m, pools, &[("resizer", 0, "n1"), ("auth", 0, "n2")]);
        assert!(check(&m, &ok).is_valid());
        let bad = plan(&m, pools, &[("resizer", 0, "n1"), ("auth", 0, "n1")]);
        let r = check(&m, &bad);
        assert_rules(&r, &["anti-affinity"]);
        assert_mentions(
            &r,
            "anti-affinity",
            &["`n1`", "default/auth", "default/resizer"],
        );
    }

    #[test]
    fn co_location_caps_replicas_next_to_a_workload() {
        let m = model(&[
            policy("{}"),
            workload(
                "app",
                "sensitivity: public, coLocation: [{workload: cache, max: 1}]",
            ),
            workload("cache", "sensitivity: public, replicas: 2"),
            node("n1", "", "allocatable: {cpu: 4}"),
            node("n2", "", "allocatable: {cpu: 4}"),
        ]);
        let pools: &[(&str, &[&str], &[&str])] = &[("p", &["app", "cache"], &["n1", "n2"])];
        let ok = plan(
            &m,
            pools,
            &[("app", 0, "n1"), ("cache", 0, "n1"), ("cache", 1, "n2")],
        );
        assert!(check(&m, &ok).is_valid());
        let bad = plan(
            &m,
            pools,
            &[("app", 0, "n1"), ("cache", 0, "n1"), ("cache", 1, "n1")],
        );
        let r = check(&m, &bad);
        assert_rules(&r, &["co-location"]);
        assert_mentions(
            &r,
            "co-location",
            &["`n1`", "2 replicas of `default/cache`", "allows 1"],
        );
    }

    #[test]
    fn max_per_node_caps_replicas_on_a_node() {
        let m = model(&[
            policy("{}"),
            workload("db", "sensitivity: public, replicas: 3, maxPerNode: 2"),
            node("n1", "", "allocatable: {cpu: 4}"),
            node("n2", "", "allocatable: {cpu: 4}"),
        ]);
        let pools: &[(&str, &[&str], &[&str])] = &[("p", &["db"], &["n1", "n2"])];
        let ok = plan(
            &m,
            pools,
            &[("db", 0, "n1"), ("db", 1, "n1"), ("db", 2, "n2")],
        );
        assert!(check(&m, &ok).is_valid());
        let bad = plan(
            &m,
            pools,
            &[("db", 0, "n1"), ("db", 1, "n1"), ("db", 2, "n1")],
        );
        let r = check(&m, &bad);
        assert_rules(&r, &["max-per-node"]);
        assert_mentions(&r, "max-per-node", &["`n1`", "3 replicas", "maxPerNode 2"]);
    }

    #[test]
    fn node_selectors_and_node_requirements() {
        let m = model(&[
            policy("{separateBy: [sensitivity], nodeRequirements: [{match: {sensitivity: [restricted]}, nodeSelector: {os: hardened}}]}"),
            workload("vault", "sensitivity: restricted"),
            workload("pdf", "sensitivity: public, nodeSelector: {arch: arm64}"),
            node("hard", "os: hardened", "allocatable: {cpu: 4}"),
            node("plain", "arch: amd64", "allocatable: {cpu: 4}"),
            node("other", "os: other, arch: arm64", "allocatable: {cpu: 4}"),
        ]);
        let ok = plan(
            &m,
            &[("v", &["vault"], &["hard"]), ("w", &["pdf"], &["other"])],
            &[("vault", 0, "hard"), ("pdf", 0, "other")],
        );
        assert!(check(&m, &ok).is_valid());
        let bad = plan(
            &m,
            &[("v", &["vault"], &["other"]), ("w", &["pdf"], &["plain"])],
            &[("vault", 0, "other"), ("pdf", 0, "plain")],
        );
        let r = check(&m, &bad);
        // The nodes also cannot host any workload of their pools.
        assert_rules(&r, &["node-requirement", "node-selector", "pool", "pool"]);
        assert_mentions(
            &r,
            "node-requirement",
            &["`other`", "default/vault", "has os=other, not os=hardened"],
        );
        assert_mentions(
            &r,
            "node-selector",
            &["`plain`", "default/pdf", "has arch=amd64, not arch=arm64"],
        );
        let bare = plan(
            &m,
            &[("v", &["vault"], &["plain"]), ("w", &["pdf"], &["other"])],
            &[("vault", 0, "plain"), ("pdf", 0, "other")],
        );
        assert_mentions(
            &check(&m, &bare),
            "node-requirement",
            &["lacks os=hardened"],
        );
    }

    fn zoned() -> Model {
        model(&[
            policy("{}"),
            workload("web", "sensitivity: public, replicas: 3, minZones: 2"),
            workload("api", "sensitivity: public, replicas: 2, minZones: 5"),
            node("a1", "", "allocatable: {cpu: 4}, zone: z1"),
            node(
                "a2",
                "topology.kubernetes.io/zone: z1",
                "allocatable: {cpu: 4}",
            ),
            node("b1", "", "allocatable: {cpu: 4}, zone: z2"),
            node("nz", "", "allocatable: {cpu: 4}"),
        ])
    }

    #[test]
    fn min_zones_counts_only_zoned_nodes() {
        let m = zoned();
        let pools: &[(&str, &[&str], &[&str])] =
            &[("p", &["api", "web"], &["a1", "a2", "b1", "nz"])];
        let ok = plan(
            &m,
            pools,
            &[
                ("web", 0, "a1"),
                ("web", 1, "nz"),
                ("web", 2, "b1"),
                ("api", 0, "a1"),
                ("api", 1, "b1"),
            ],
        );
        assert!(check(&m, &ok).is_valid(), "{}", check(&m, &ok));
        // Two nodes, but the zone-less one counts for no zone; a2 takes its zone from the label.
        let bad = plan(
            &m,
            pools,
            &[
                ("web", 0, "a1"),
                ("web", 1, "nz"),
                ("web", 2, "a2"),
                ("api", 0, "a1"),
                ("api", 1, "nz"),
            ],
        );
        let r = check(&m, &bad);
        assert_rules(&r, &["min-zones", "min-zones"]);
        assert_mentions(
            &r,
            "min-zones",
            &["default/web", "1 zone(s) [z1]", "needs 2"],
        );
        // min(minZones 5, 2 replicas) = 2.
        assert_mentions(
            &r,
            "min-zones",
            &["default/api", "needs 2 (minZones 5, 2 replicas)"],
        );
    }

    #[test]
    fn min_zones_is_skipped_for_a_partly_unplaced_workload() {
        let m = zoned();
        let pools: &[(&str, &[&str], &[&str])] = &[("p", &["api", "web"], &["a1", "b1"])];
        let mut p = plan(
            &m,
            pools,
            &[
                ("web", 0, "a1"),
                ("web", 1, "a1"),
                ("web", 2, "a1"),
                ("api", 0, "a1"),
                ("api", 1, "b1"),
            ],
        );
        assert_rules(&check(&m, &p), &["min-zones"]);
        unplace(&mut p, "web", &[2]);
        let r = check(&m, &p);
        assert!(r.is_consistent(), "{r}");
    }

    fn headroom_model(k: u32) -> Model {
        model(&[
            policy(&format!(
                "{{headroom: {{nodeFailures: {k}}}, nodeOverhead: {{cpu: 500m}}}}"
            )),
            workload(
                "web",
                "sensitivity: public, replicas: 3, resources: {cpu: 1}",
            ),
            // 2 cpu usable each after the overhead.
            node("n1", "", "allocatable: {cpu: 2500m}"),
            node("n2", "", "allocatable: {cpu: 2500m}"),
            node("n3", "", "allocatable: {cpu: 2500m}"),
            node("big", "", "allocatable: {cpu: 20}"),
        ])
    }

    #[test]
    fn headroom_survives_losing_the_largest_nodes() {
        let m = headroom_model(1);
        let placed = [("web", 0, "n1"), ("web", 1, "n1"), ("web", 2, "n2")];
        // Losing any one of three nodes leaves 4 cpu for a demand of 3.
        let ok = plan(&m, &[("p", &["web"], &["n1", "n2", "n3"])], &placed);
        assert!(check(&m, &ok).is_valid(), "{}", check(&m, &ok));
        // Two nodes: 2 cpu left for 3.
        let two = plan(&m, &[("p", &["web"], &["n1", "n2"])], &placed);
        let r = check(&m, &two);
        assert_rules(&r, &["headroom"]);
        assert_mentions(
            &r,
            "headroom",
            &["pool `p`", "cpu", "1 largest", "2 remains", "demand of 3"],
        );
        // Ample total capacity, but it is all on the node that fails.
        let lopsided = plan(
            &m,
            &[("p", &["web"], &["big", "n1"])],
            &[("web", 0, "big"), ("web", 1, "big"), ("web", 2, "big")],
        );
        assert_rules(&check(&m, &lopsided), &["headroom"]);
        // K = 2 needs a fourth node's worth.
        let m2 = headroom_model(2);
        let r = check(
            &m2,
            &plan(&m2, &[("p", &["web"], &["n1", "n2", "n3"])], &placed),
        );
        assert_rules(&r, &["headroom"]);
        let m0 = headroom_model(0);
        assert!(check(&m0, &plan(&m0, &[("p", &["web"], &["n1", "n2"])], &placed)).is_valid());
    }

    #[test]
    fn declared_unmet_headroom_is_skipped_but_must_be_true() {
        let m = headroom_model(1);
        let placed = [("web", 0, "n1"), ("web", 1, "n1"), ("web", 2, "n2")];
        let mut p = plan(&m, &[("p", &["web"], &["n1", "n2"])], &placed);
        p.unmet.push(Unmet {
            pool: "p".into(),
            rule: "headroom".into(),
            reason: "no more nodes".into(),
        });
        infeasible(&mut p);
        let r = check(&m, &p);
        assert!(r.is_consistent() && !r.is_valid(), "{r}");
        assert_eq!(r.unmet, 1);

        let mut false_excuse = plan(&m, &[("p", &["web"], &["n1", "n2", "n3"])], &placed);
        false_excuse.unmet = p.unmet.clone();
        infeasible(&mut false_excuse);
        let r = check(&m, &false_excuse);
        assert_rules(&r, &["headroom"]);
        assert_mentions(&r, "headroom", &["pool `p`", "holds"]);

        let mut unknown = false_excuse.clone();
        unknown.unmet = vec![
            Unmet {
                pool: "q".into(),
                rule: "headroom".into(),
                reason: String::new(),
            },
            Unmet {
                pool: "p".into(),
                rule: "zones".into(),
                reason: String::new(),
            },
        ];
        assert_rules(&check(&m, &unknown), &["document", "document"]);
    }

    #[test]
    fn min_nodes_per_pool() {
        let m = model(&[
            policy("{minNodesPerPool: 2}"),
            workload("web", "sensitivity: public"),
            node("n1", "", "allocatable: {cpu: 4}"),
            node("n2", "", "allocatable: {cpu: 4}"),
        ]);
        let ok = plan(&m, &[("p", &["web"], &["n1", "n2"])], &[("web", 0, "n1")]);
        assert!(check(&m, &ok).is_valid());
        let mut one = plan(&m, &[("p", &["web"], &["n1"])], &[("web", 0, "n1")]);
        let r = check(&m, &one);
        assert_rules(&r, &["min-nodes-per-pool"]);
        assert_mentions(
            &r,
            "min-nodes-per-pool",
            &["pool `p`", "1 node(s)", "minNodesPerPool 2"],
        );
        one.unmet.push(Unmet {
            pool: "p".into(),
            rule: "minNodesPerPool".into(),
            reason: "x".into(),
        });
        infeasible(&mut one);
        assert!(check(&m, &one).is_consistent());
        let mut false_excuse = ok.clone();
        false_excuse.unmet = one.unmet.clone();
        infeasible(&mut false_excuse);
        assert_rules(&check(&m, &false_excuse), &["min-nodes-per-pool"]);
    }

    #[test]
    fn unused_nodes_are_exactly_the_nodes_in_no_pool() {
        let m = tiers();
        let ok = plan(
            &m,
            &[("a", &["int", "conf"], &["n1"]), ("b", &["pub"], &["n2"])],
            &[("pub", 0, "n2"), ("int", 0, "n1"), ("conf", 0, "n1")],
        );
        assert_eq!(ok.unused_nodes, ["n3"]);
        assert!(check(&m, &ok).is_valid());
        let mut p = ok.clone();
        p.unused_nodes = vec!["n2".into(), "n0".into()];
        let r = check(&m, &p);
        assert_rules(
            &r,
            &["document", "unused-nodes", "unused-nodes", "unused-nodes"],
        );
        assert_mentions(&r, "unused-nodes", &["unknown node `n0`"]);
        assert_mentions(&r, "unused-nodes", &["`n2`", "in pool `b`"]);
        assert_mentions(&r, "unused-nodes", &["`n3`", "not in unusedNodes"]);
        p.unused_nodes = vec!["n3".into(), "n3".into()];
        assert_rules(&check(&m, &p), &["unused-nodes"]);
    }

    #[test]
    fn objective_matches_the_nodes_in_pools() {
        let m = tiers();
        let ok = plan(
            &m,
            &[("a", &["int", "conf"], &["n1"]), ("b", &["pub"], &["n3"])],
            &[("pub", 0, "n3"), ("int", 0, "n1"), ("conf", 0, "n1")],
        );
        assert_eq!((ok.objective.cost, ok.objective.nodes), (3.5, 2));
        assert!(check(&m, &ok).is_valid());

        let mut p = ok.clone();
        p.objective.nodes = 3;
        p.objective.cost = 3.500002;
        let r = check(&m, &p);
        assert_mentions(&r, "objective", &["objective.nodes is 3", "2 nodes"]);
        assert_mentions(&r, "objective", &["objective.cost is 3.500002", "3.5"]);

        // Feasible with a gap.
        let mut gap = ok.clone();
        gap.status = Status::Feasible;
        gap.objective.lower_bound = 2.8;
        gap.objective.gap = Some((3.5 - 2.8) / 3.5);
        assert!(check(&m, &gap).is_valid(), "{}", check(&m, &gap));
        // Optimal needs lowerBound = cost; the gap must follow the formula.
        let mut claim = gap.clone();
        claim.status = Status::Optimal;
        assert_rules(&check(&m, &claim), &["objective"]);
        claim.status = Status::Feasible;
        claim.objective.gap = Some(0.25);
        assert_mentions(&check(&m, &claim), "objective", &["objective.gap is 0.25"]);
        claim.objective.gap = None;
        assert_mentions(&check(&m, &claim), "objective", &["gap is missing"]);
        // A lower bound above the cost is no bound.
        let mut high = ok.clone();
        high.status = Status::Feasible;
        high.objective.lower_bound = 3.6;
        high.objective.gap = Some((3.5 - 3.6) / 3.5);
        assert_mentions(&check(&m, &high), "objective", &["lowerBound 3.6 exceeds"]);
        // Infeasible plans carry no gap.
        let mut inf = ok.clone();
        unplace(&mut inf, "pub", &[0]);
        inf.objective.gap = Some(0.0);
        assert_rules(&check(&m, &inf), &["objective"]);
        let mut nan = ok.clone();
        nan.objective.cost = f64::NAN;
        nan.objective.lower_bound = f64::NAN;
        assert!(rules(&check(&m, &nan)).iter().all(|r| *r == "objective"));
    }

    #[test]
    fn cost_is_compared_in_exact_micros() {
        let m = model(&[
            policy("{}"),
            workload("web", "sensitivity: public, replicas: 3"),
            node("a", "", "allocatable: {cpu: 4}, cost: 0.1"),
            node("b", "", "allocatable: {cpu: 4}, cost: 0.2"),
            node("c", "", "allocatable: {cpu: 4}, cost: 0.000001"),
            node("d", "", "allocatable: {cpu: 4}, cost: 0"),
        ]);
        let mut p = plan(
            &m,
            &[("p", &["web"], &["a", "b", "c", "d"])],
            &[("web", 0, "a"), ("web", 1, "b"), ("web", 2, "c")],
        );
        // 0.1 + 0.2 in floating point is not 0.3; in micros it is.
        p.objective.cost = 0.1 + 0.2 + 0.000001;
        p.objective.lower_bound = p.objective.cost;
        assert!(check(&m, &p).is_valid(), "{}", check(&m, &p));
        p.objective.cost = 0.3;
        p.objective.lower_bound = 0.3;
        assert_rules(&check(&m, &p), &["objective"]);
        // A zero-cost plan has gap 0.
        let mut free = plan(
            &m,
            &[("p", &["web"], &["d"])],
            &[("web", 0, "d"), ("web", 1, "d"), ("web", 2, "d")],
        );
        free.status = Status::Feasible;
        assert!(check(&m, &free).is_valid());
        free.objective.gap = Some(1.0);
        assert_rules(&check(&m, &free), &["objective"]);
    }

    #[test]
    fn violations_are_sorted_and_displayed_one_per_line() {
        let m = tiers();
        let mut p = plan(
            &m,
            &[("all", &["pub", "int", "conf"], &["n1"])],
            &[("pub", 0, "n1"), ("int", 0, "n1")],
        );
        p.kind = "Nope".into();
        p.objective.nodes = 9;
        let r = check(&m, &p);
        let mut sorted = r.violations.clone();
        sorted.sort();
        assert_eq!(r.violations, sorted);
        assert_rules(&r, &["compatibility", "document", "objective", "placement"]);
        let text = r.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[0].starts_with("compatibility: "));
        assert_eq!(
            lines[4],
            "INVALID: 4 violations, 0 unplaced replicas, 0 unmet pool rules"
        );
        assert_eq!(check(&m, &p), r, "deterministic");
    }

    #[test]
    fn ranges_compress_indices() {
        assert_eq!(ranges([0, 1, 2, 4, 6, 7].into_iter()), "0-2, 4, 6-7");
        assert_eq!(ranges(std::iter::empty()), "");
    }

    #[test]
    fn the_checker_reads_manifest_constraints_as_kube_scheduler_does() {
        for &(what, spec, labels, node_spec, admitted) in crate::testing::CONSTRAINT_CASES {
            let m = crate::testing::constraint_case(spec, labels, node_spec);
            let found = scheduling_refusal(&m.workloads[0], &m.nodes[0]);
            assert_eq!(found.is_none(), admitted, "{what}: {found:?}");
        }
    }

    #[test]
    fn the_own_pool_taint_key_is_the_emitted_one() {
        assert_eq!(OWN_POOL_TAINT, crate::emit::POOL_TAINT_KEY);
    }

    #[test]
    fn a_replica_on_a_node_its_constraints_refuse_is_flagged() {
        let m = crate::testing::model(&[
            &crate::testing::workload("w", "sensitivity: public, resources: {cpu: 1}"),
            &crate::testing::node(
                "n",
                "",
                "allocatable: {cpu: 4}, taints: [{key: gpu, value: 'yes', effect: NoSchedule}]",
            ),
        ]);
        let mut plan = crate::solve(&m, &crate::SolveOptions::default()).plan;
        assert_eq!(plan.status, Status::Infeasible);
        assert!(
            plan.unplaced[0].reasons[0].contains("carry the taint gpu=yes:NoSchedule"),
            "{:?}",
            plan.unplaced
        );
        // Forge the placement the planner refused.
        plan.unplaced.clear();
        plan.status = Status::Feasible;
        plan.placements.push(crate::plan::Placement {
            workload: "default/w".into(),
            replica: 0,
            node: "n".into(),
        });
        let report = check(&m, &plan);
        assert!(
            report.violations.iter().any(|v| v.rule == "toleration"),
            "{report}"
        );
    }
}
