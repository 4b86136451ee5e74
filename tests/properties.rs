//! Property tests on small random instances.
//!
//! 1. Every plan the planner writes passes the independent checker.
//! 2. The same input gives the same bytes, whatever the order of its documents.
//! 3. The planner agrees with an exhaustive solver written here (sharing no code with
//!    `src/solve`): its lower bound never exceeds the true optimum, its cost never beats it,
//!    `optimal` is only claimed on the true optimum, and `infeasible` only when no plan exists.
//!
//! The exhaustive solver follows the rules as README.md and `check` state them; in particular
//! every node of a pool must be able to host a replica of some workload of the pool (spare
//! capacity none of them could use counts for neither `minNodesPerPool` nor headroom). Its
//! optimum is turned into a plan that `check` must find valid, so it can never be more
//! lenient than the checker.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use tierplan::check::check;
use tierplan::input::wire::{
    Document, HeadroomSpec, Metadata, NodeDoc, NodeRequirementSpec, NodeSelectorRequirementSpec,
    NodeSelectorTermSpec, NodeSpec, PolicyDoc, PolicySpec, Quantity, TaintSpec, TolerationSpec,
    WorkloadDoc, WorkloadSpec, API_VERSION,
};
use tierplan::input::{Documents, Origin};
use tierplan::model::{self, Model, Workload};
use tierplan::plan::{self, Objective, Placement, Plan, Status};
use tierplan::solve::{self, SolveOptions};

// ---------------------------------------------------------------------------------------------
// Instance generator
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct GenPolicy {
    /// Without a Policy document every default applies and the fields below are ignored.
    present: bool,
    share_public_internal: bool,
    /// `nodeRequirements`: confidential workloads need `hardened=true` nodes.
    harden_confidential: bool,
    /// (cpu millicores, memory MiB).
    overhead: Option<(u32, u32)>,
    headroom: Option<i64>,
    min_nodes_per_pool: Option<i64>,
}

#[derive(Debug, Clone)]
struct GenWorkload {
    replicas: i64,
    cpu_milli: u32,
    memory_mi: u32,
    sensitivity: &'static str,
    exposure: &'static str,
    dedicated: bool,
    max_per_node: Option<i64>,
    min_zones: Option<i64>,
    /// `nodeSelector: {disk: ssd}`.
    wants_ssd: bool,
    /// `platform: true`: runs outside the tiers (its tier attributes are left out).
    platform: bool,
}

#[derive(Debug, Clone)]
struct GenNode {
    cpu: u32,
    memory_gi: u32,
    /// Explicit pod slots (unlimited when absent).
    pods: Option<u32>,
    zone: Option<&'static str>,
    /// The zone is written as the `topology.kubernetes.io/zone` label, not `spec.zone`.
    zone_as_label: bool,
    cost: Option<f64>,
    ssd: bool,
    hardened: bool,
}

#[derive(Debug, Clone)]
struct Gen {
    policy: GenPolicy,
    workloads: Vec<GenWorkload>,
    nodes: Vec<GenNode>,
    /// (a, b) taken modulo the number of workloads; `a` names `b` when they differ.
    anti_affinity: Option<(usize, usize)>,
}

fn policy_strategy() -> impl Strategy<Value = GenPolicy> {
    (
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.6),
        prop::bool::weighted(0.2),
        prop::option::weighted(
            0.3,
            (
                prop::sample::select(vec![100u32, 250, 500]),
                prop::sample::select(vec![256u32, 512]),
            ),
        ),
        prop::option::weighted(0.25, 0i64..=1),
        prop::option::weighted(0.25, 1i64..=2),
    )
        .prop_map(
            |(
                present,
                share_public_internal,
                harden_confidential,
                overhead,
                headroom,
                min_nodes,
            )| {
                GenPolicy {
                    present,
                    share_public_internal,
                    harden_confidential,
                    overhead,
                    headroom,
                    min_nodes_per_pool: min_nodes,
                }
            },
        )
}

fn workload_strategy() -> impl Strategy<Value = GenWorkload> {
    (
        1i64..=3,
        prop::sample::select(vec![100u32, 100, 250, 250, 500, 500, 750, 1000, 1500, 2000]),
        prop::sample::select(vec![128u32, 256, 256, 512, 512, 1024, 2048, 4096]),
        prop::sample::select(vec![
            "public",
            "public",
            "public",
            "internal",
            "internal",
            "confidential",
        ]),
        prop::sample::select(vec![
            "internet", "internet", "internet", "internet", "internal",
        ]),
        prop::bool::weighted(0.08),
        prop::option::weighted(0.3, 1i64..=2),
        prop::option::weighted(0.25, 1i64..=3),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(
                replicas,
                cpu_milli,
                memory_mi,
                sensitivity,
                exposure,
                dedicated,
                max_per_node,
                min_zones,
                wants_ssd,
                platform,
            )| GenWorkload {
                replicas,
                cpu_milli,
                memory_mi,
                sensitivity,
                exposure,
                dedicated,
                max_per_node,
                min_zones,
                wants_ssd,
                platform,
            },
        )
}

fn node_strategy() -> impl Strategy<Value = GenNode> {
    (
        1u32..=4,
        prop::sample::select(vec![2u32, 4, 6, 8]),
        prop::option::weighted(0.15, 2u32..=4),
        prop::option::weighted(0.8, prop::sample::select(vec!["a", "b", "c"])),
        prop::bool::weighted(0.2),
        prop::sample::select(vec![
            Some(1.0),
            Some(2.0),
            Some(3.0),
            Some(0.5),
            Some(1.5),
            None,
        ]),
        prop::bool::weighted(0.6),
        prop::bool::weighted(0.6),
    )
        .prop_map(
            |(cpu, memory_gi, pods, zone, zone_as_label, cost, ssd, hardened)| GenNode {
                cpu,
                memory_gi,
                pods,
                zone,
                zone_as_label,
                cost,
                ssd,
                hardened,
            },
        )
}

fn gen_strategy() -> impl Strategy<Value = Gen> {
    (
        policy_strategy(),
        prop::collection::vec(workload_strategy(), 1..=5),
        // Mostly 4–5 nodes, so that most instances have a valid plan.
        prop_oneof![
            1 => prop::collection::vec(node_strategy(), 1..=3),
            3 => prop::collection::vec(node_strategy(), 4..=5),
        ],
        prop::option::weighted(0.3, (0usize..5, 0usize..5)),
    )
        .prop_map(|(policy, workloads, nodes, anti_affinity)| Gen {
            policy,
            workloads,
            nodes,
            anti_affinity,
        })
}

fn q(s: impl Into<String>) -> Quantity {
    Quantity(s.into())
}

fn document<S>(kind: &str, name: &str, spec: S) -> Document<S> {
    Document {
        api_version: API_VERSION.to_string(),
        kind: kind.to_string(),
        metadata: Metadata {
            name: name.to_string(),
            ..Default::default()
        },
        spec,
    }
}

fn workload_name(i: usize) -> String {
    format!("w{}", i + 1)
}

/// The wire documents of a generated instance, with origins numbered in order.
fn to_documents(g: &Gen) -> Documents {
    let mut docs = Documents::default();
    let mut next = 0;
    let mut origin = || {
        next += 1;
        Origin {
            file: "gen.yaml".into(),
            doc: next,
        }
    };
    if g.policy.present {
        let p = &g.policy;
        let mut spec = PolicySpec::default();
        if p.share_public_internal {
            spec.share_when = vec![BTreeMap::from([(
                "sensitivity".to_string(),
                vec!["public".to_string(), "internal".to_string()],
            )])];
        }
        if p.harden_confidential {
            spec.node_requirements = vec![NodeRequirementSpec {
                matches: BTreeMap::from([(
                    "sensitivity".to_string(),
                    vec!["confidential".to_string()],
                )]),
                node_selector: BTreeMap::from([("hardened".to_string(), "true".to_string())]),
            }];
        }
        if let Some((cpu, mem)) = p.overhead {
            spec.node_overhead = BTreeMap::from([
                ("cpu".to_string(), q(format!("{cpu}m"))),
                ("memory".to_string(), q(format!("{mem}Mi"))),
            ]);
        }
        spec.headroom = p.headroom.map(|k| HeadroomSpec { node_failures: k });
        spec.min_nodes_per_pool = p.min_nodes_per_pool;
        let doc: PolicyDoc = document("Policy", "gen", spec);
        docs.policies.push((origin(), doc));
    }
    let n = g.workloads.len();
    for (i, w) in g.workloads.iter().enumerate() {
        let mut spec = WorkloadSpec {
            replicas: Some(w.replicas),
            resources: BTreeMap::from([
                ("cpu".to_string(), q(format!("{}m", w.cpu_milli))),
                ("memory".to_string(), q(format!("{}Mi", w.memory_mi))),
            ]),
            sensitivity: Some(w.sensitivity.to_string()),
            exposure: Some(w.exposure.to_string()),
            dedicated: w.dedicated,
            max_per_node: w.max_per_node,
            min_zones: w.min_zones,
            ..Default::default()
        };
        if w.platform {
            spec.platform = true;
            spec.sensitivity = None;
            spec.exposure = None;
            spec.dedicated = false;
        }
        if w.wants_ssd {
            spec.node_selector = BTreeMap::from([("disk".to_string(), "ssd".to_string())]);
        }
        if let Some((a, b)) = g.anti_affinity {
            let (a, b) = (a % n, b % n);
            if a != b && a == i {
                spec.anti_affinity = vec![workload_name(b)];
            }
        }
        let doc: WorkloadDoc = document("Workload", &workload_name(i), spec);
        docs.workloads.push((origin(), doc));
    }
    for (i, nd) in g.nodes.iter().enumerate() {
        let mut allocatable = BTreeMap::from([
            ("cpu".to_string(), q(nd.cpu.to_string())),
            ("memory".to_string(), q(format!("{}Gi", nd.memory_gi))),
        ]);
        if let Some(pods) = nd.pods {
            allocatable.insert("pods".to_string(), q(pods.to_string()));
        }
        let spec = NodeSpec {
            allocatable,
            zone: nd.zone.filter(|_| !nd.zone_as_label).map(str::to_string),
            cost: nd.cost,
            taints: Vec::new(),
            unschedulable: false,
        };
        let mut doc: NodeDoc = document("Node", &format!("n{}", i + 1), spec);
        if nd.ssd {
            doc.metadata.labels.insert("disk".into(), "ssd".into());
        }
        if nd.hardened {
            doc.metadata.labels.insert("hardened".into(), "true".into());
        }
        if let (Some(z), true) = (nd.zone, nd.zone_as_label) {
            doc.metadata
                .labels
                .insert("topology.kubernetes.io/zone".into(), z.into());
        }
        docs.nodes.push((origin(), doc));
    }
    docs
}

fn build(docs: Documents) -> Model {
    let yaml = docs.to_yaml();
    model::build(docs).unwrap_or_else(|e| panic!("generated input is invalid: {e}\n{yaml}"))
}

fn plan_of(m: &Model) -> Plan {
    solve::solve(m, &SolveOptions::default()).plan
}

/// Reorders workloads and nodes by `keys` (cycled) and renumbers the origins in the new order.
fn shuffled(docs: &Documents, keys: &[u64]) -> Documents {
    fn permute<T: Clone>(items: &[(Origin, T)], keys: &[u64], salt: usize) -> Vec<T> {
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| (keys[(i + salt) % keys.len()], i));
        order.into_iter().map(|i| items[i].1.clone()).collect()
    }
    let mut out = Documents::default();
    let mut next = 0;
    let mut origin = || {
        next += 1;
        Origin {
            file: "gen.yaml".into(),
            doc: next,
        }
    };
    for (_, p) in &docs.policies {
        out.policies.push((origin(), p.clone()));
    }
    for w in permute(&docs.workloads, keys, 0) {
        out.workloads.push((origin(), w));
    }
    for n in permute(&docs.nodes, keys, 3) {
        out.nodes.push((origin(), n));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Exhaustive solver
// ---------------------------------------------------------------------------------------------

/// One pool of an optimal plan: class indices, node indices, and per node the replicas of
/// each workload it hosts.
#[derive(Debug, Clone)]
struct BrutePool {
    classes: Vec<usize>,
    workloads: Vec<usize>,
    nodes: Vec<usize>,
    hosted: Hosted,
}

#[derive(Debug, Clone)]
struct BruteOptimum {
    cost_micros: u64,
    pools: Vec<BrutePool>,
}

/// The exhaustive solver: every partition of the classes into pools of pairwise compatible
/// classes, every disjoint choice of node sets for those pools, and a complete depth-first
/// search of replica placements inside each pool.
struct Brute<'m> {
    m: &'m Model,
    /// Workload indices per class.
    classes: Vec<Vec<usize>>,
    class_names: Vec<String>,
    compatible: Vec<Vec<bool>>,
    /// `labels_ok[w][n]`: node n carries every label workload w needs.
    labels_ok: Vec<Vec<bool>>,
    /// (class mask, node mask) → the pool's placement, if it is a valid pool.
    pool_memo: HashMap<(u32, u32), Option<Hosted>>,
    /// (class mask, free node mask) → the cheapest pools for those classes.
    best_memo: HashMap<(u32, u32), Option<Pools>>,
}

/// Replicas per node: (node, workload, replicas).
type Hosted = Vec<(usize, usize, u32)>;
/// A total cost in micros and the pools achieving it.
type Pools = (u64, Vec<BrutePool>);

fn may_share(m: &Model, a: &Workload, b: &Workload) -> bool {
    // Platform workloads share with each other only, whatever separateBy says.
    if a.platform || b.platform {
        return a.platform && b.platform;
    }
    if a.dedicated || b.dedicated {
        return false;
    }
    m.policy.separate_by.iter().all(|attr| {
        a.attribute(attr) == b.attribute(attr)
            || m.policy
                .share_when
                .iter()
                .any(|rule| rule.contains_key(attr.as_str()) && a.matches(rule) && b.matches(rule))
    })
}

fn carries(node: &model::Node, labels: &BTreeMap<String, String>) -> bool {
    labels.iter().all(|(k, v)| node.labels.get(k) == Some(v))
}

impl<'m> Brute<'m> {
    fn new(m: &'m Model) -> Self {
        // (platform, dedicated workload, separateBy values)
        type Key = (bool, Option<usize>, Vec<String>);
        let mut by_key: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
        for (i, w) in m.workloads.iter().enumerate() {
            let key = if w.platform {
                (true, None, Vec::new())
            } else if w.dedicated {
                (false, Some(i), Vec::new())
            } else {
                let values = m
                    .policy
                    .separate_by
                    .iter()
                    .map(|a| w.attribute(a).to_string());
                (false, None, values.collect())
            };
            by_key.entry(key).or_default().push(i);
        }
        let class_names = by_key
            .keys()
            .map(|(platform, ded, values)| match ded {
                _ if *platform => "platform".to_string(),
                Some(w) => format!("dedicated:{}", m.workloads[*w].id),
                None => m
                    .policy
                    .separate_by
                    .iter()
                    .zip(values)
                    .map(|(a, v)| format!("{a}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
            })
            .collect();
        let classes: Vec<Vec<usize>> = by_key.into_values().collect();
        let k = classes.len();
        let mut compatible = vec![vec![true; k]; k];
        for i in 0..k {
            for j in 0..k {
                if i != j {
                    compatible[i][j] = classes[i].iter().all(|&a| {
                        classes[j]
                            .iter()
                            .all(|&b| may_share(m, &m.workloads[a], &m.workloads[b]))
                    });
                }
            }
        }
        let labels_ok = m
            .workloads
            .iter()
            .map(|w| {
                m.nodes
                    .iter()
                    .map(|n| {
                        carries(n, &w.node_selector)
                            && m.policy
                                .node_requirements
                                .iter()
                                .filter(|r| w.matches(&r.matches))
                                .all(|r| carries(n, &r.node_selector))
                    })
                    .collect()
            })
            .collect();
        Brute {
            m,
            classes,
            class_names,
            compatible,
            labels_ok,
            pool_memo: HashMap::new(),
            best_memo: HashMap::new(),
        }
    }

    fn solve(mut self) -> (Option<BruteOptimum>, Vec<String>) {
        assert!(self.classes.len() <= 16 && self.m.nodes.len() <= 16);
        let all_classes = (1u32 << self.classes.len()) - 1;
        let all_nodes = (1u32 << self.m.nodes.len()) - 1;
        let best = self
            .best(all_classes, all_nodes)
            .map(|(cost_micros, pools)| BruteOptimum { cost_micros, pools });
        (best, self.class_names)
    }

    fn bits(mask: u32) -> Vec<usize> {
        (0..32).filter(|i| mask & (1 << i) != 0).collect()
    }

    fn cost(&self, nodes: u32) -> u64 {
        Self::bits(nodes)
            .iter()
            .map(|&n| self.m.nodes[n].cost_micros)
            .sum()
    }

    /// The cheapest way to put the classes of `classes` into pools using nodes of `free`.
    fn best(&mut self, classes: u32, free: u32) -> Option<Pools> {
        if classes == 0 {
            return Some((0, Vec::new()));
        }
        if let Some(hit) = self.best_memo.get(&(classes, free)) {
            return hit.clone();
        }
        // The lowest remaining class joins a pool with any subset of the others.
        let first = classes.trailing_zeros() as usize;
        let others = classes & !(1 << first);
        let mut best: Option<Pools> = None;
        let mut sub = others;
        loop {
            let block = sub | (1 << first);
            let members = Self::bits(block);
            let pairwise = members
                .iter()
                .all(|&a| members.iter().all(|&b| self.compatible[a][b]));
            if pairwise {
                // Every subset of the free nodes, the empty one included.
                let mut nodes = free;
                loop {
                    if let Some(hosted) = self.pool(block, nodes) {
                        if let Some((rest, mut pools)) = self.best(classes & !block, free & !nodes)
                        {
                            let total = rest + self.cost(nodes);
                            if best.as_ref().is_none_or(|(b, _)| total < *b) {
                                let workloads = members
                                    .iter()
                                    .flat_map(|&c| self.classes[c].iter().copied())
                                    .collect();
                                pools.push(BrutePool {
                                    classes: members.clone(),
                                    workloads,
                                    nodes: Self::bits(nodes),
                                    hosted,
                                });
                                best = Some((total, pools));
                            }
                        }
                    }
                    if nodes == 0 {
                        break;
                    }
                    nodes = (nodes - 1) & free;
                }
            }
            if sub == 0 {
                break;
            }
            sub = (sub - 1) & others;
        }
        self.best_memo.insert((classes, free), best.clone());
        best
    }

    /// Whether the classes of `classes` can form a valid pool on exactly the nodes of
    /// `nodes`; if so, a placement as (node, workload, replicas).
    fn pool(&mut self, classes: u32, nodes: u32) -> Option<Hosted> {
        if let Some(hit) = self.pool_memo.get(&(classes, nodes)) {
            return hit.clone();
        }
        let result = self.pool_uncached(classes, nodes);
        self.pool_memo.insert((classes, nodes), result.clone());
        result
    }

    fn pool_uncached(&self, classes: u32, nodes: u32) -> Option<Hosted> {
        let m = self.m;
        let mut ws: Vec<usize> = Self::bits(classes)
            .iter()
            .flat_map(|&c| self.classes[c].iter().copied())
            .collect();
        ws.sort_unstable();
        let ns = Self::bits(nodes);
        if ns.len() < m.policy.min_nodes_per_pool as usize {
            return None;
        }
        let overhead = &m.policy.node_overhead;
        // Every node in a pool runs the daemons, even an empty one.
        for &n in &ns {
            for (alloc, &o) in m.nodes[n].allocatable.iter().zip(overhead) {
                if alloc.is_some_and(|a| o > a) {
                    return None;
                }
            }
        }
        // Every node in a pool can host one replica of some workload of the pool; spare
        // capacity no replica could use counts for nothing.
        for &n in &ns {
            let useful = ws.iter().any(|&w| {
                self.labels_ok[w][n]
                    && m.workloads[w].requests.iter().enumerate().all(|(r, &q)| {
                        q == 0
                            || m.nodes[n].allocatable[r]
                                .is_some_and(|a| a.saturating_sub(overhead[r]) >= q)
                    })
            });
            if !useful {
                return None;
            }
        }
        let k = m.policy.node_failures as usize;
        if k > 0 {
            for (r, &o) in overhead.iter().enumerate() {
                let demand: u128 = ws
                    .iter()
                    .map(|&w| m.workloads[w].replicas as u128 * m.workloads[w].requests[r] as u128)
                    .sum();
                if demand == 0 {
                    continue;
                }
                let mut caps: Vec<u128> = ns
                    .iter()
                    .map(|&n| m.nodes[n].allocatable[r].unwrap_or(0).saturating_sub(o) as u128)
                    .collect();
                caps.sort_unstable_by(|a, b| b.cmp(a));
                let left: u128 = caps.iter().skip(k).sum();
                if left < demand {
                    return None;
                }
            }
        }
        let mut dfs = Dfs::new(self, ws, ns);
        if dfs.go(0, 0) {
            Some(dfs.hosted())
        } else {
            None
        }
    }
}

/// Depth-first search over replicas → nodes for one pool. Replicas of a workload are
/// identical, so each takes a node at or after its predecessor's; failed states are
/// remembered.
struct Dfs<'b, 'm> {
    b: &'b Brute<'m>,
    ws: Vec<usize>,
    ns: Vec<usize>,
    /// (index into `ws`, first replica, last replica).
    seq: Vec<(usize, bool, bool)>,
    /// `counts[ni * ws.len() + wi]`.
    counts: Vec<u32>,
    /// `load[ni][r]`: requests placed on the node.
    load: Vec<Vec<u128>>,
    failed: HashSet<(usize, usize, Vec<u32>)>,
}

impl<'b, 'm> Dfs<'b, 'm> {
    fn new(b: &'b Brute<'m>, ws: Vec<usize>, ns: Vec<usize>) -> Self {
        let mut seq = Vec::new();
        for (wi, &w) in ws.iter().enumerate() {
            let r = b.m.workloads[w].replicas;
            for i in 0..r {
                seq.push((wi, i == 0, i + 1 == r));
            }
        }
        let counts = vec![0; ns.len() * ws.len()];
        let load = vec![vec![0; b.m.resources.len()]; ns.len()];
        Dfs {
            b,
            ws,
            ns,
            seq,
            counts,
            load,
            failed: HashSet::new(),
        }
    }

    fn count(&self, ni: usize, wi: usize) -> u32 {
        self.counts[ni * self.ws.len() + wi]
    }

    fn go(&mut self, i: usize, start: usize) -> bool {
        if i == self.seq.len() {
            return true;
        }
        let (wi, first, last) = self.seq[i];
        let start = if first { 0 } else { start };
        let key = (i, start, self.counts.clone());
        if self.failed.contains(&key) {
            return false;
        }
        for ni in start..self.ns.len() {
            if !self.fits(wi, ni) {
                continue;
            }
            self.apply(wi, ni, true);
            let ok = (!last || self.zones_ok(wi)) && self.go(i + 1, ni);
            if ok {
                return true;
            }
            self.apply(wi, ni, false);
        }
        self.failed.insert(key);
        false
    }

    fn fits(&self, wi: usize, ni: usize) -> bool {
        let m = self.b.m;
        let (w, n) = (self.ws[wi], self.ns[ni]);
        let wl = &m.workloads[w];
        if !self.b.labels_ok[w][n] {
            return false;
        }
        if wl.max_per_node.is_some_and(|max| self.count(ni, wi) >= max) {
            return false;
        }
        for &other in &wl.anti_affinity {
            if let Some(oi) = self.ws.iter().position(|&x| x == other) {
                if self.count(ni, oi) > 0 {
                    return false;
                }
            }
        }
        for (r, &req) in wl.requests.iter().enumerate() {
            if req == 0 {
                continue;
            }
            match m.nodes[n].allocatable[r] {
                None => return false,
                Some(alloc) => {
                    let need = m.policy.node_overhead[r] as u128 + self.load[ni][r] + req as u128;
                    if need > alloc as u128 {
                        return false;
                    }
                }
            }
        }
        true
    }

    fn apply(&mut self, wi: usize, ni: usize, add: bool) {
        let w = self.ws[wi];
        let idx = ni * self.ws.len() + wi;
        for (r, &req) in self.b.m.workloads[w].requests.iter().enumerate() {
            if add {
                self.load[ni][r] += req as u128;
            } else {
                self.load[ni][r] -= req as u128;
            }
        }
        if add {
            self.counts[idx] += 1;
        } else {
            self.counts[idx] -= 1;
        }
    }

    /// `minZones` for a fully placed workload: zone-less nodes count for no zone.
    fn zones_ok(&self, wi: usize) -> bool {
        let m = self.b.m;
        let wl = &m.workloads[self.ws[wi]];
        let Some(min) = wl.min_zones else {
            return true;
        };
        let need = min.min(wl.replicas) as usize;
        let zones: BTreeSet<&str> = (0..self.ns.len())
            .filter(|&ni| self.count(ni, wi) > 0)
            .filter_map(|ni| m.nodes[self.ns[ni]].zone.as_deref())
            .collect();
        zones.len() >= need
    }

    fn hosted(&self) -> Hosted {
        let mut out = Vec::new();
        for (ni, &n) in self.ns.iter().enumerate() {
            for (wi, &w) in self.ws.iter().enumerate() {
                let c = self.count(ni, wi);
                if c > 0 {
                    out.push((n, w, c));
                }
            }
        }
        out
    }
}

/// The exhaustive optimum, or `None` when no valid plan exists. The optimum found is turned
/// into a plan and must pass the checker, so the exhaustive solver cannot be too lenient.
fn exhaustive(m: &Model) -> Option<u64> {
    let (best, class_names) = Brute::new(m).solve();
    let best = best?;
    let witness = witness_plan(m, &best, &class_names);
    let report = check(m, &witness);
    assert!(
        report.is_valid(),
        "the exhaustive solver's plan fails the checker:\n{report}\n{}",
        witness.to_json()
    );
    Some(best.cost_micros)
}

fn witness_plan(m: &Model, best: &BruteOptimum, class_names: &[String]) -> Plan {
    let mut pools = Vec::new();
    let mut placements = Vec::new();
    let mut in_pool = vec![false; m.nodes.len()];
    let mut next_replica = vec![0u32; m.workloads.len()];
    for (p, bp) in best.pools.iter().enumerate() {
        let mut classes: Vec<String> = bp.classes.iter().map(|&c| class_names[c].clone()).collect();
        classes.sort();
        let mut workloads: Vec<String> = bp
            .workloads
            .iter()
            .map(|&w| m.workloads[w].id.clone())
            .collect();
        workloads.sort();
        let mut nodes: Vec<String> = bp.nodes.iter().map(|&n| m.nodes[n].name.clone()).collect();
        nodes.sort();
        for &n in &bp.nodes {
            in_pool[n] = true;
        }
        for &(n, w, c) in &bp.hosted {
            for _ in 0..c {
                placements.push(Placement {
                    workload: m.workloads[w].id.clone(),
                    replica: next_replica[w],
                    node: m.nodes[n].name.clone(),
                });
                next_replica[w] += 1;
            }
        }
        pools.push(plan::Pool {
            name: format!("bf-{}", p + 1),
            classes,
            platform: bp.workloads.iter().any(|&w| m.workloads[w].platform),
            workloads,
            nodes,
            node_types: Vec::new(),
        });
    }
    placements.sort();
    let unused_nodes = m
        .nodes
        .iter()
        .zip(&in_pool)
        .filter(|(_, &u)| !u)
        .map(|(n, _)| n.name.clone())
        .collect();
    let cost = best.cost_micros as f64 / 1e6;
    Plan {
        api_version: API_VERSION.to_string(),
        kind: "Plan".to_string(),
        status: Status::Optimal,
        infeasibility: None,
        explanation: None,
        objective: Objective {
            cost,
            nodes: in_pool.iter().filter(|&&u| u).count() as u64,
            lower_bound: cost,
            gap: Some(0.0),
            disruption: None,
        },
        pools,
        placements,
        unplaced: Vec::new(),
        unmet: Vec::new(),
        unused_nodes,
        inputs: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Comparing the planner with the exhaustive solver
// ---------------------------------------------------------------------------------------------

const TOLERANCE: f64 = 1e-6;

/// The assertions of `exhaustive_agrees`; `Err` describes the first one that fails.
fn agreement(plan: &Plan, optimum: Option<u64>) -> Result<(), String> {
    let o = &plan.objective;
    match optimum {
        Some(c) => {
            let c = c as f64 / 1e6;
            if o.lower_bound > c + TOLERANCE {
                return Err(format!(
                    "lowerBound {} exceeds the optimum {c}",
                    o.lower_bound
                ));
            }
            if plan.status != Status::Infeasible && o.cost < c - TOLERANCE {
                return Err(format!("cost {} is below the optimum {c}", o.cost));
            }
            if plan.status == Status::Optimal && (o.cost - c).abs() > TOLERANCE {
                return Err(format!(
                    "status optimal at cost {} but the optimum is {c}",
                    o.cost
                ));
            }
            Ok(())
        }
        None if plan.status != Status::Infeasible => Err(format!(
            "status {:?} at cost {} but no valid plan exists",
            plan.status, o.cost
        )),
        None => Ok(()),
    }
}

fn expression(key: &str, operator: &str, values: &[&str]) -> NodeSelectorRequirementSpec {
    NodeSelectorRequirementSpec {
        key: key.into(),
        operator: operator.into(),
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

fn term(expressions: Vec<NodeSelectorRequirementSpec>) -> NodeSelectorTermSpec {
    NodeSelectorTermSpec {
        match_expressions: expressions,
    }
}

fn toleration(key: &str, operator: &str, value: &str, effect: &str) -> TolerationSpec {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    TolerationSpec {
        key: some(key),
        operator: some(operator),
        value: some(value),
        effect: some(effect),
    }
}

/// Layers manifest constraints on generated documents (issue 17): per workload one of none,
/// node affinity with each operator (one or two ORed terms), or tolerations; per node one of
/// none, a `NoSchedule`, `NoExecute` or `PreferNoSchedule` taint, a cordon, or a cordon with
/// the scheduler's taint, and sometimes a numeric label.
fn constrain(docs: &mut Documents, picks: &[(u8, u8)]) {
    for (i, (_, doc)) in docs.workloads.iter_mut().enumerate() {
        let spec = &mut doc.spec;
        match picks[i % picks.len()].0 % 9 {
            1 => spec.node_affinity = vec![term(vec![expression("disk", "In", &["ssd"])])],
            2 => spec.node_affinity = vec![term(vec![expression("disk", "NotIn", &["ssd"])])],
            3 => {
                spec.node_affinity = vec![
                    term(vec![expression("hardened", "DoesNotExist", &[])]),
                    term(vec![expression("cores", "Gt", &["4"])]),
                ]
            }
            4 => {
                spec.node_affinity = vec![term(vec![
                    expression("cores", "Lt", &["16"]),
                    expression("disk", "Exists", &[]),
                ])]
            }
            5 => spec.tolerations = vec![toleration("gpu", "Exists", "", "")],
            6 => {
                spec.tolerations = vec![
                    toleration("gpu", "Equal", "yes", "NoSchedule"),
                    toleration("dedicated", "Equal", "ci", "NoExecute"),
                ]
            }
            7 => {
                spec.tolerations = vec![toleration(
                    "node.kubernetes.io/unschedulable",
                    "Exists",
                    "",
                    "NoSchedule",
                )]
            }
            8 => spec.tolerations = vec![toleration("dedicated", "Exists", "", "NoSchedule")],
            _ => {}
        }
    }
    for (j, (_, doc)) in docs.nodes.iter_mut().enumerate() {
        let taint = |key: &str, value: &str, effect: &str| TaintSpec {
            key: key.into(),
            value: Some(value.into()),
            effect: effect.into(),
        };
        let pick = picks[(j + 3) % picks.len()].1;
        match pick % 7 {
            1 => doc.spec.taints = vec![taint("gpu", "yes", "NoSchedule")],
            2 => doc.spec.taints = vec![taint("dedicated", "ci", "NoExecute")],
            3 => doc.spec.taints = vec![taint("spot", "true", "PreferNoSchedule")],
            4 => doc.spec.unschedulable = true,
            5 => {
                doc.spec.unschedulable = true;
                doc.spec.taints = vec![TaintSpec {
                    key: "node.kubernetes.io/unschedulable".into(),
                    value: None,
                    effect: "NoSchedule".into(),
                }];
            }
            _ => {}
        }
        if pick / 7 % 2 == 1 {
            let cores = ["2", "8", "16", "x"][usize::from(pick / 14) % 4];
            doc.metadata.labels.insert("cores".into(), cores.into());
        }
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_plan_passes_check(g in gen_strategy()) {
        let docs = to_documents(&g);
        let yaml = docs.to_yaml();
        let m = build(docs);
        let plan = plan_of(&m);
        let report = check(&m, &plan);
        prop_assert!(report.is_consistent(), "{report}\n{}\ninput:\n{yaml}", plan.to_json());
        if plan.status != Status::Infeasible {
            prop_assert!(report.is_valid(), "{report}\n{}\ninput:\n{yaml}", plan.to_json());
        }
    }

    /// Issue 17: node affinity, tolerations, taints and cordons honoured by every plan, as
    /// the checker (with its own reading of kube-scheduler's filters) verifies.
    #[test]
    fn plans_with_manifest_constraints_pass_check(
        g in gen_strategy(),
        picks in prop::collection::vec(any::<(u8, u8)>(), 1..12),
    ) {
        let mut docs = to_documents(&g);
        constrain(&mut docs, &picks);
        let yaml = docs.to_yaml();
        let m = build(docs);
        let plan = plan_of(&m);
        let report = check(&m, &plan);
        prop_assert!(report.is_consistent(), "{report}\n{}\ninput:\n{yaml}", plan.to_json());
        if plan.status != Status::Infeasible {
            prop_assert!(report.is_valid(), "{report}\n{}\ninput:\n{yaml}", plan.to_json());
        }
    }

    #[test]
    fn same_input_same_bytes(g in gen_strategy(), keys in prop::collection::vec(any::<u64>(), 8)) {
        let docs = to_documents(&g);
        let yaml = docs.to_yaml();
        let other = shuffled(&docs, &keys);
        let m = build(docs);
        let first = plan_of(&m).to_json();
        let second = plan_of(&m).to_json();
        prop_assert_eq!(&first, &second, "two solves differ\ninput:\n{}", yaml);
        let reordered = plan_of(&build(other.clone())).to_json();
        prop_assert_eq!(
            &first, &reordered,
            "reordering the documents changes the plan\ninput:\n{}\nreordered:\n{}", yaml, other.to_yaml()
        );
    }

    #[test]
    fn exhaustive_agrees(g in gen_strategy()) {
        let docs = to_documents(&g);
        let yaml = docs.to_yaml();
        let m = build(docs);
        let plan = plan_of(&m);
        let optimum = exhaustive(&m);
        if let Err(e) = agreement(&plan, optimum) {
            prop_assert!(false, "{e}\n{}\ninput:\n{yaml}", plan.to_json());
        }
    }

    /// `--previous` is a hint: a plan of another instance (whose generated workloads and
    /// nodes share names with this one's, with other attributes and sizes) never makes the
    /// plan invalid, incomplete or dearer, and the instance's own plan as the hint changes
    /// nothing.
    #[test]
    fn a_previous_plan_is_only_a_hint(g in gen_strategy(), other in gen_strategy()) {
        let docs = to_documents(&g);
        let yaml = docs.to_yaml();
        let m = build(docs);
        let own = plan_of(&m);
        let hinted = |previous: &Plan| {
            let options = SolveOptions { previous: Some(previous.clone()), ..SolveOptions::default() };
            solve::solve(&m, &options).plan
        };
        for previous in [plan_of(&build(to_documents(&other))), own.clone()] {
            let plan = hinted(&previous);
            let report = check(&m, &plan);
            prop_assert!(report.is_consistent(), "{report}\n{}\ninput:\n{yaml}", plan.to_json());
            if own.status != Status::Infeasible {
                prop_assert!(report.is_valid(), "{report}\n{}\ninput:\n{yaml}", plan.to_json());
                prop_assert!(plan.objective.cost <= own.objective.cost, "input:\n{yaml}");
            }
        }
        let again = hinted(&own);
        let d = again.objective.disruption.expect("recorded with a previous plan");
        prop_assert_eq!((d.moved_replicas, d.relabelled_nodes), (0, 0), "input:\n{}", yaml);
    }

    /// The same agreement with the planner's own exhaustive search switched off, so that
    /// the lower bound and the heuristics are checked on their own.
    #[test]
    fn bound_and_heuristics_alone_agree(g in gen_strategy()) {
        let docs = to_documents(&g);
        let yaml = docs.to_yaml();
        let m = build(docs);
        let options = SolveOptions { exhaustive: false, ..SolveOptions::default() };
        let plan = solve::solve(&m, &options).plan;
        prop_assert!(check(&m, &plan).is_consistent());
        let optimum = exhaustive(&m);
        if let Err(e) = agreement(&plan, optimum) {
            prop_assert!(false, "{e}\n{}\ninput:\n{yaml}", plan.to_json());
        }
    }
}

/// A deterministic sweep over seeded instances: the assertions of `exhaustive_agrees` and
/// `every_plan_passes_check`, plus "never infeasible when a plan exists", and counts of how
/// often the planner finds the optimum (printed; run with `--nocapture` to see them).
#[test]
fn exhaustive_sweep() {
    const INSTANCES: usize = 300;
    /// Failing instances shown in full (smallest inputs first); the rest get one line.
    const SHOWN: usize = 3;
    let strategy = gen_strategy();
    let mut runner = TestRunner::deterministic();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures: Vec<(usize, String, String)> = Vec::new();
    for i in 0..INSTANCES {
        let g = strategy
            .new_tree(&mut runner)
            .expect("a generated instance")
            .current();
        let docs = to_documents(&g);
        let yaml = docs.to_yaml();
        let m = build(docs);
        let plan = plan_of(&m);
        let optimum = exhaustive(&m);
        let report = check(&m, &plan);
        let mut problems = Vec::new();
        if !report.is_consistent() || (plan.status != Status::Infeasible && !report.is_valid()) {
            *counts
                .entry("problem: rejected by the checker")
                .or_default() += 1;
            problems.push(format!("the checker rejects the plan: {report}"));
        }
        if let Err(e) = agreement(&plan, optimum) {
            *counts
                .entry("problem: disagrees with the exhaustive solver")
                .or_default() += 1;
            problems.push(e);
        }
        let outcome = match optimum {
            None if plan.status == Status::Infeasible => "infeasible, reported infeasible",
            None => "infeasible, reported feasible",
            Some(c) => {
                let exact = (plan.objective.cost - c as f64 / 1e6).abs() <= TOLERANCE;
                match plan.status {
                    Status::Infeasible => {
                        problems.push(format!(
                            "status infeasible but a plan of cost {} exists",
                            c as f64 / 1e6
                        ));
                        "solvable, reported infeasible"
                    }
                    _ if !report.is_valid() => "solvable, invalid plan",
                    Status::Optimal if exact => "solvable, optimum found and proven",
                    Status::Feasible if exact => "solvable, optimum found, not proven",
                    _ => "solvable, costlier plan",
                }
            }
        };
        *counts.entry(outcome).or_default() += 1;
        if !problems.is_empty() {
            let detail = format!("{}input:\n{yaml}", plan.to_json());
            failures.push((i, problems.join("; "), detail));
        }
    }
    let summary: Vec<String> = counts.iter().map(|(k, v)| format!("  {v:4} {k}")).collect();
    eprintln!(
        "exhaustive sweep over {INSTANCES} instances:\n{}",
        summary.join("\n")
    );
    if failures.is_empty() {
        return;
    }
    let lines: Vec<String> = failures
        .iter()
        .map(|(i, problem, _)| format!("instance {i}: {}", problem.replace('\n', " / ")))
        .collect();
    failures.sort_by_key(|(i, _, detail)| (detail.len(), *i));
    let shown: Vec<String> = failures
        .iter()
        .take(SHOWN)
        .map(|(i, problem, detail)| format!("instance {i}: {problem}\n{detail}"))
        .collect();
    panic!(
        "{} of {INSTANCES} instances fail:\n{}\n\nthe smallest:\n\n{}",
        failures.len(),
        lines.join("\n"),
        shown.join("\n\n")
    );
}
