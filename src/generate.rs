//! A seeded generator of tiered clusters: realistic, comfortably feasible planning problems of
//! any size, for benchmarks, property tests and demos.
//!
//! The output is wire [`Documents`] (exactly what the loader would produce from YAML files),
//! so generated instances go through the same validation as user input; [`Documents::to_yaml`]
//! writes them as one multi-document YAML file that loads back to the same model.
//!
//! Everything is drawn from `ChaCha8Rng::seed_from_u64(seed)`: the same [`GenParams`] always
//! give the same documents and the same bytes.
//!
//! The shape of an instance:
//! - nodes of four AWS m6i shapes (4/16Gi … 32/128Gi) with EKS-like allocatable (110 pods) and
//!   on-demand prices, round-robin over the zones; a fraction of them, the same number in every
//!   zone, labelled `tierplan.io/hardened: "true"`;
//! - a Policy separating by sensitivity × exposure × trust (× tenant), with `shareWhen` rules,
//!   a `nodeRequirement` sending `restricted` workloads to hardened nodes, node overhead,
//!   headroom and minNodesPerPool;
//! - workloads spread over `classes` attribute combinations (a few big classes, many small),
//!   1–8 replicas (mean ≈ 4), requests from a menu of realistic profiles scaled so that the
//!   busiest resource is used to `utilisation` of the inventory; some with `maxPerNode: 1`,
//!   `minZones`, an anti-affinity partner, a node selector, and a few dedicated ones.

use crate::input::wire::{
    HeadroomSpec, KarpenterSpec, Metadata, NodeClassRefSpec, NodeClassSpec, NodeDoc,
    NodeRequirementSpec, NodeSpec, NodeTypeDoc, NodeTypeSpec, PolicyDoc, PolicySpec, Quantity,
    WorkloadDoc, WorkloadSpec, API_VERSION,
};
use crate::input::{Documents, Origin};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// The label that marks hardened (container-specific OS) nodes.
pub const HARDENED_LABEL: &str = "tierplan.io/hardened";
/// The zone label the generated nodes carry (their `spec.zone` is left unset).
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// What to generate. Start from [`GenParams::issue2`] or [`GenParams::scaled`] and adjust.
#[derive(Debug, Clone, PartialEq)]
pub struct GenParams {
    /// Seeds the random draws: equal parameters give equal documents.
    pub seed: u64,
    /// Number of Workload documents (at least 1).
    pub workloads: usize,
    /// Number of Node documents (at least 1).
    pub nodes: usize,
    /// Distinct separateBy value combinations the workloads are spread over (dedicated
    /// workloads form further classes of their own). Clamped to what the attribute values
    /// allow.
    pub classes: usize,
    /// Availability zones (1–26); nodes are spread round-robin.
    pub zones: usize,
    /// 0: no tenant attribute. Otherwise `tenant` joins `separateBy` with values `shared`,
    /// `tenant-01`, …; with `share_rules`, the first half of them are pooled with `shared`.
    pub tenants: usize,
    /// `headroom.nodeFailures` of the Policy.
    pub node_failures: u32,
    /// `minNodesPerPool` of the Policy.
    pub min_nodes_per_pool: u32,
    /// Adds `shareWhen` rules (public with internal data; internal with isolated exposure;
    /// pooled tenants).
    pub share_rules: bool,
    /// Minimum fraction of nodes labelled hardened (more are labelled when the restricted
    /// classes need them: at least 2.5× their demand, and one node per restricted class plus
    /// one in every zone).
    pub hardened_fraction: f64,
    /// Fraction of (non-dedicated) workloads in `restricted` classes.
    pub restricted_share: f64,
    /// Target demand / capacity (after node overhead) of the busiest resource.
    pub utilisation: f64,
    /// Number of dedicated workloads (taken from non-restricted classes).
    pub dedicated: usize,
    /// Fraction of workloads with `maxPerNode: 1`.
    pub max_per_node_fraction: f64,
    /// Fraction of workloads with `minZones: min(3, zones)`.
    pub min_zones_fraction: f64,
    /// Fraction of workloads naming an anti-affinity partner.
    pub anti_affinity_fraction: f64,
    /// Fraction of workloads with a (satisfiable) `nodeSelector`.
    pub node_selector_fraction: f64,
}

impl GenParams {
    /// The instance of issue 2: 2,000 workloads (≈ 8,000 replicas), 20 classes plus 4
    /// dedicated workloads, 1,000 nodes in 3 zones, headroom for one node failure.
    pub fn issue2() -> Self {
        GenParams {
            seed: 2,
            workloads: 2000,
            nodes: 1000,
            classes: 20,
            zones: 3,
            tenants: 0,
            node_failures: 1,
            min_nodes_per_pool: 1,
            share_rules: true,
            hardened_fraction: 0.2,
            restricted_share: 0.12,
            utilisation: 0.6,
            dedicated: 4,
            max_per_node_fraction: 0.10,
            min_zones_fraction: 0.15,
            anti_affinity_fraction: 0.03,
            node_selector_fraction: 0.05,
        }
    }

    /// Issue-2 proportions at another size: about 50 nodes and 100 workloads per class
    /// (3 to 20 classes), one dedicated workload per 500.
    pub fn scaled(workloads: usize, nodes: usize, seed: u64) -> Self {
        GenParams {
            seed,
            workloads,
            nodes,
            classes: (nodes / 50).min(workloads / 100).clamp(3, 20),
            dedicated: workloads / 500,
            ..GenParams::issue2()
        }
    }
}

/// Catalog mode: the instance of [`generate`] with its inventory replaced by `types` node
/// types to buy (families m, c and r of 2 to 64 vCPUs at us-east-1 prices, every other one a
/// hardened variant at a 5% premium), each in all of the instance's zones.
pub fn catalog(p: &GenParams, types: usize) -> Documents {
    let mut docs = generate(p);
    docs.nodes.clear();
    // Under Karpenter only a node class can guarantee the hardened label the hardened
    // workloads require.
    let hardened_class = NodeClassRefSpec {
        group: "karpenter.k8s.aws".into(),
        kind: "EC2NodeClass".into(),
        name: "hardened".into(),
    };
    for (_, policy) in &mut docs.policies {
        policy.spec.karpenter = Some(KarpenterSpec {
            node_class_ref: None,
            node_classes: vec![NodeClassSpec {
                group: hardened_class.group.clone(),
                kind: hardened_class.kind.clone(),
                name: hardened_class.name.clone(),
                labels: BTreeMap::from([(HARDENED_LABEL.to_string(), "true".to_string())]),
            }],
        });
    }
    let zones: Vec<String> = (0..p.zones.min(26))
        .map(|z| format!("us-east-1{}", (b'a' + z as u8) as char))
        .collect();
    // (family, GiB per vCPU, USD per vCPU-hour)
    const FAMILIES: [(&str, u64, f64); 3] =
        [("m6i", 4, 0.048), ("c6i", 2, 0.0425), ("r6i", 8, 0.063)];
    const SIZES: [(&str, u64); 6] = [
        ("large", 2),
        ("xlarge", 4),
        ("2xlarge", 8),
        ("4xlarge", 16),
        ("8xlarge", 32),
        ("16xlarge", 64),
    ];
    for i in 0..types {
        let (family, gib, price) = FAMILIES[i / 2 % FAMILIES.len()];
        let (size, vcpu) = SIZES[i / (2 * FAMILIES.len()) % SIZES.len()];
        let hardened = i % 2 == 1;
        let round = i / (2 * FAMILIES.len() * SIZES.len());
        let shape = Shape {
            name: "",
            vcpu,
            mem_gib: vcpu * gib,
            cost: price * vcpu as f64 * if hardened { 1.05 } else { 1.0 },
            weight: 0,
        };
        let instance_type = format!("{family}.{size}");
        let mut name = instance_type.clone();
        if hardened {
            name.push_str("-hardened");
        }
        if round > 0 {
            name.push_str(&format!("-v{round}"));
        }
        let mut labels = BTreeMap::from([("kubernetes.io/arch".to_string(), "amd64".to_string())]);
        if hardened {
            labels.insert(HARDENED_LABEL.to_string(), "true".to_string());
        }
        docs.node_types.push((
            Origin {
                file: "generated".into(),
                doc: docs.node_types.len(),
            },
            NodeTypeDoc {
                api_version: API_VERSION.to_string(),
                kind: "NodeType".to_string(),
                metadata: Metadata {
                    name,
                    labels,
                    ..Metadata::default()
                },
                spec: NodeTypeSpec {
                    instance_type: Some(instance_type),
                    node_class_ref: hardened.then(|| hardened_class.clone()),
                    allocatable: BTreeMap::from([
                        ("cpu".to_string(), q(format!("{}m", shape.cpu_m()))),
                        ("memory".to_string(), q(format!("{}Mi", shape.mem_mi()))),
                        ("pods".to_string(), q(PODS_PER_NODE.to_string())),
                    ]),
                    capacity: BTreeMap::from([
                        ("cpu".to_string(), q(vcpu.to_string())),
                        ("memory".to_string(), q(format!("{}Gi", shape.mem_gib))),
                    ]),
                    cost: Some((shape.cost * 1e4).round() / 1e4),
                    zones: zones.clone(),
                    max: None,
                },
            },
        ));
    }
    docs
}

/// An instance type: nominal size, price and how common it is in the inventory.
struct Shape {
    name: &'static str,
    vcpu: u64,
    mem_gib: u64,
    /// On-demand USD per hour (us-east-1).
    cost: f64,
    weight: u32,
}

const SHAPES: [Shape; 4] = [
    Shape {
        name: "m6i.xlarge",
        vcpu: 4,
        mem_gib: 16,
        cost: 0.192,
        weight: 30,
    },
    Shape {
        name: "m6i.2xlarge",
        vcpu: 8,
        mem_gib: 32,
        cost: 0.384,
        weight: 35,
    },
    Shape {
        name: "m6i.4xlarge",
        vcpu: 16,
        mem_gib: 64,
        cost: 0.768,
        weight: 25,
    },
    Shape {
        name: "m6i.8xlarge",
        vcpu: 32,
        mem_gib: 128,
        cost: 1.536,
        weight: 10,
    },
];

const PODS_PER_NODE: u64 = 110;
const OVERHEAD_CPU_M: u64 = 100;
const OVERHEAD_MEM_MI: u64 = 256;

impl Shape {
    /// Allocatable milli-cores: the EKS kube-reserved formula (6% of the first core, 1% of
    /// the second, 0.5% of cores 3–4, 0.25% above).
    fn cpu_m(&self) -> u64 {
        let reserved = 60
            + 10
            + 5 * self.vcpu.clamp(2, 4).saturating_sub(2)
            + self.vcpu.saturating_sub(4) * 5 / 2;
        self.vcpu * 1000 - reserved
    }

    /// Allocatable MiB: 93% of nominal (firmware, kernel) less kube-reserved for 110 pods
    /// (255Mi + 11Mi per pod) and the 100Mi eviction threshold.
    fn mem_mi(&self) -> u64 {
        self.mem_gib * 1024 * 93 / 100 - (255 + 11 * PODS_PER_NODE) - 100
    }
}

/// Per-replica request profiles before scaling: (cpu milli-cores, memory MiB, weight).
const PROFILES: [(u64, u64, u32); 7] = [
    (100, 256, 10),   // sidecar-sized helper
    (250, 768, 20),   // small service
    (500, 1536, 25),  // typical service
    (1000, 3072, 20), // busy service
    (2000, 6144, 10), // heavy service
    (500, 4096, 10),  // cache / JVM
    (1500, 1536, 5),  // CPU-bound worker
];

/// Replica counts 1–8 and their weights: mean ≈ 4.06.
const REPLICA_WEIGHTS: [u32; 8] = [1, 3, 3, 3, 2, 2, 1, 1];

const SENSITIVITY: [&str; 4] = ["public", "internal", "confidential", "restricted"];
const EXPOSURE: [&str; 4] = ["internet", "partner", "internal", "isolated"];
const TRUST: [&str; 3] = ["first-party", "third-party", "untrusted"];
const NAMESPACES: [&str; 16] = [
    "web",
    "api",
    "payments",
    "identity",
    "billing",
    "search",
    "data",
    "ml",
    "batch",
    "ci",
    "messaging",
    "analytics",
    "reporting",
    "security",
    "platform",
    "partners",
];
const KINDS: [&str; 10] = [
    "api",
    "worker",
    "frontend",
    "cache",
    "consumer",
    "cron",
    "gateway",
    "indexer",
    "renderer",
    "scheduler",
];

/// One separateBy value combination.
#[derive(Debug, Clone)]
struct Class {
    sensitivity: &'static str,
    exposure: &'static str,
    trust: &'static str,
    tenant: Option<String>,
    weight: f64,
}

/// Draws an index with probability proportional to `weights`.
fn weighted<W: Copy + Into<f64>>(rng: &mut ChaCha8Rng, weights: &[W]) -> usize {
    let total: f64 = weights.iter().map(|&w| w.into()).sum();
    let mut x = rng.gen::<f64>() * total;
    for (i, &w) in weights.iter().enumerate() {
        x -= w.into();
        if x < 0.0 {
            return i;
        }
    }
    weights.len() - 1
}

fn tenant_name(i: usize) -> String {
    if i == 0 {
        "shared".to_string()
    } else {
        format!("tenant-{i:02}")
    }
}

fn q(text: String) -> Quantity {
    Quantity(text)
}

/// Generates an instance. Deterministic in `p`.
///
/// Panics when `p.workloads`, `p.nodes` or `p.zones` is 0.
pub fn generate(p: &GenParams) -> Documents {
    assert!(
        p.workloads > 0 && p.nodes > 0 && p.zones > 0,
        "generate needs workloads, nodes and zones"
    );
    let zones = p.zones.min(26);
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);

    // --- classes -------------------------------------------------------------------------
    let tenants: Vec<Option<String>> = if p.tenants == 0 {
        vec![None]
    } else {
        (0..p.tenants).map(|i| Some(tenant_name(i))).collect()
    };
    let mut restricted = Vec::new();
    let mut others = Vec::new();
    for s in SENSITIVITY {
        for e in EXPOSURE {
            for t in TRUST {
                for tenant in &tenants {
                    let c = Class {
                        sensitivity: s,
                        exposure: e,
                        trust: t,
                        tenant: tenant.clone(),
                        weight: 0.0,
                    };
                    if s == "restricted" {
                        restricted.push(c);
                    } else {
                        others.push(c);
                    }
                }
            }
        }
    }
    restricted.shuffle(&mut rng);
    others.shuffle(&mut rng);
    let classes_wanted = p.classes.clamp(1, restricted.len() + others.len());
    let n_restricted = if classes_wanted < 2 || p.restricted_share <= 0.0 {
        0
    } else {
        ((classes_wanted as f64 * 0.2).round() as usize).clamp(1, restricted.len())
    };
    restricted.truncate(n_restricted);
    others.truncate(classes_wanted - n_restricted);
    // A few big classes, many small: Zipf-like weights within each group.
    let restricted_share = if others.is_empty() {
        1.0
    } else if restricted.is_empty() {
        0.0
    } else {
        p.restricted_share.clamp(0.0, 1.0)
    };
    for (group, share) in [
        (&mut restricted, restricted_share),
        (&mut others, 1.0 - restricted_share),
    ] {
        let raw: Vec<f64> = (0..group.len())
            .map(|k| 1.0 / ((k + 1) as f64).powf(0.8))
            .collect();
        let total: f64 = raw.iter().sum();
        for (c, w) in group.iter_mut().zip(raw) {
            c.weight = share * w / total;
        }
    }
    let classes: Vec<Class> = restricted.into_iter().chain(others).collect();
    let class_weights: Vec<f64> = classes.iter().map(|c| c.weight).collect();

    // --- node shapes and zones (labels for hardening come once demand is known) -------------
    let zone_names: Vec<String> = (0..zones)
        .map(|z| format!("us-east-1{}", (b'a' + z as u8) as char))
        .collect();
    let shape_weights: Vec<u32> = SHAPES.iter().map(|s| s.weight).collect();
    let node_shapes: Vec<usize> = (0..p.nodes)
        .map(|_| weighted(&mut rng, &shape_weights))
        .collect();

    // --- workloads, before sizing --------------------------------------------------------
    struct Draft {
        class: usize,
        replicas: u64,
        profile: usize,
        namespace: &'static str,
        name: String,
        dedicated: bool,
        max_per_node: bool,
        min_zones: bool,
        anti_affinity: Option<usize>,
        node_selector: bool,
    }
    let profile_weights: Vec<u32> = PROFILES.iter().map(|p| p.2).collect();
    let mut drafts: Vec<Draft> = (0..p.workloads)
        .map(|i| {
            let class = weighted(&mut rng, &class_weights);
            let replicas = weighted(&mut rng, &REPLICA_WEIGHTS) as u64 + 1;
            let profile = weighted(&mut rng, &profile_weights);
            let namespace = NAMESPACES[rng.gen_range(0..NAMESPACES.len())];
            let kind = KINDS[rng.gen_range(0..KINDS.len())];
            Draft {
                class,
                replicas,
                profile,
                namespace,
                name: format!("{kind}-{i:04}"),
                dedicated: false,
                max_per_node: rng.gen_bool(p.max_per_node_fraction.clamp(0.0, 1.0)),
                min_zones: rng.gen_bool(p.min_zones_fraction.clamp(0.0, 1.0)),
                anti_affinity: None,
                node_selector: rng.gen_bool(p.node_selector_fraction.clamp(0.0, 1.0)),
            }
        })
        .collect();
    // Anti-affinity partners: half of them in the same class (the case that matters within
    // a pool), half anywhere.
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
    for (i, d) in drafts.iter().enumerate() {
        by_class[d.class].push(i);
    }
    for i in 0..drafts.len() {
        if drafts.len() < 2 || !rng.gen_bool(p.anti_affinity_fraction.clamp(0.0, 1.0)) {
            continue;
        }
        let same = &by_class[drafts[i].class];
        let partner = if same.len() > 1 && rng.gen_bool(0.5) {
            same[rng.gen_range(0..same.len())]
        } else {
            rng.gen_range(0..drafts.len())
        };
        if partner != i {
            drafts[i].anti_affinity = Some(partner);
        }
    }
    // Dedicated workloads come from non-restricted classes.
    let mut candidates: Vec<usize> = (0..drafts.len())
        .filter(|&i| classes[drafts[i].class].sensitivity != "restricted")
        .collect();
    candidates.shuffle(&mut rng);
    for &i in candidates.iter().take(p.dedicated) {
        drafts[i].dedicated = true;
    }

    // --- sizing: scale the profiles so the busiest resource hits the target ----------------
    let capacity_cpu: u64 = node_shapes
        .iter()
        .map(|&s| SHAPES[s].cpu_m() - OVERHEAD_CPU_M)
        .sum();
    let capacity_mem: u64 = node_shapes
        .iter()
        .map(|&s| SHAPES[s].mem_mi() - OVERHEAD_MEM_MI)
        .sum();
    // Every replica fits on half of the smallest shape, so no single request is hard to place.
    let smallest = SHAPES.iter().min_by_key(|s| s.vcpu).expect("shapes");
    let cap_cpu = (smallest.cpu_m() - OVERHEAD_CPU_M) / 2 / 10 * 10;
    let cap_mem = (smallest.mem_mi() - OVERHEAD_MEM_MI) / 2 / 16 * 16;
    let size = |profile: usize, scale: f64| -> (u64, u64) {
        let (cpu, mem, _) = PROFILES[profile];
        let cpu = ((cpu as f64 * scale / 10.0).round() as u64 * 10).clamp(10, cap_cpu);
        let mem = ((mem as f64 * scale / 16.0).round() as u64 * 16).clamp(16, cap_mem);
        (cpu, mem)
    };
    let usage = |scale: f64| -> f64 {
        let (mut cpu, mut mem) = (0u64, 0u64);
        for d in &drafts {
            let (c, m) = size(d.profile, scale);
            cpu += c * d.replicas;
            mem += m * d.replicas;
        }
        (cpu as f64 / capacity_cpu as f64).max(mem as f64 / capacity_mem as f64)
    };
    let target = p.utilisation.clamp(0.01, 1.0);
    let mut scale = 1.0;
    for _ in 0..8 {
        let u = usage(scale);
        if u <= 0.0 || (u - target).abs() < 0.002 {
            break;
        }
        scale *= target / u;
    }

    // --- hardened nodes: the same number in every zone, enough for the restricted classes ---
    let (mut restricted_cpu, mut restricted_mem) = (0u64, 0u64);
    for d in &drafts {
        if classes[d.class].sensitivity == "restricted" {
            let (c, m) = size(d.profile, scale);
            restricted_cpu += c * d.replicas;
            restricted_mem += m * d.replicas;
        }
    }
    let per_zone_total: Vec<usize> = (0..zones)
        .map(|z| (p.nodes + zones - 1 - z) / zones)
        .collect();
    let max_per_zone = per_zone_total.iter().copied().min().unwrap_or(0);
    let mut hardened_per_zone =
        ((p.hardened_fraction.clamp(0.0, 1.0) * p.nodes as f64) / zones as f64).ceil() as usize;
    if n_restricted > 0 {
        hardened_per_zone = hardened_per_zone.max(n_restricted + 1);
    }
    hardened_per_zone = hardened_per_zone.min(max_per_zone);
    let hardened = |i: usize, h: usize| i / zones < h;
    while n_restricted > 0 && hardened_per_zone < max_per_zone {
        let (mut cpu, mut mem) = (0u64, 0u64);
        for (i, &s) in node_shapes.iter().enumerate() {
            if hardened(i, hardened_per_zone) {
                cpu += SHAPES[s].cpu_m() - OVERHEAD_CPU_M;
                mem += SHAPES[s].mem_mi() - OVERHEAD_MEM_MI;
            }
        }
        if cpu * 2 >= restricted_cpu * 5 && mem * 2 >= restricted_mem * 5 {
            break;
        }
        hardened_per_zone += 1;
    }

    // --- documents -----------------------------------------------------------------------
    let mut docs = Documents::default();
    let mut next = 0usize;
    let mut origin = || {
        next += 1;
        Origin {
            file: "generated".into(),
            doc: next,
        }
    };

    let mut separate_by: Vec<String> = ["sensitivity", "exposure", "trust"]
        .map(String::from)
        .to_vec();
    if p.tenants > 0 {
        separate_by.push("tenant".to_string());
    }
    let mut share_when = Vec::new();
    if p.share_rules {
        share_when.push(BTreeMap::from([(
            "sensitivity".to_string(),
            vec!["public".to_string(), "internal".to_string()],
        )]));
        share_when.push(BTreeMap::from([(
            "exposure".to_string(),
            vec!["internal".to_string(), "isolated".to_string()],
        )]));
        if p.tenants > 1 {
            let pooled = (0..p.tenants.div_ceil(2).max(2).min(p.tenants))
                .map(tenant_name)
                .collect();
            share_when.push(BTreeMap::from([("tenant".to_string(), pooled)]));
        }
    }
    let policy = PolicySpec {
        sensitivity_levels: Some(SENSITIVITY.map(String::from).to_vec()),
        separate_by: Some(separate_by),
        share_when,
        node_requirements: vec![NodeRequirementSpec {
            matches: BTreeMap::from([("sensitivity".to_string(), vec!["restricted".to_string()])]),
            node_selector: BTreeMap::from([(HARDENED_LABEL.to_string(), "true".to_string())]),
        }],
        pools: Vec::new(),
        node_overhead: BTreeMap::from([
            ("cpu".to_string(), q(format!("{OVERHEAD_CPU_M}m"))),
            ("memory".to_string(), q(format!("{OVERHEAD_MEM_MI}Mi"))),
        ]),
        headroom: Some(HeadroomSpec {
            node_failures: p.node_failures as i64,
        }),
        min_nodes_per_pool: Some(p.min_nodes_per_pool.max(1) as i64),
        system_daemon_sets: Vec::new(),
        karpenter: None,
        admission: None,
        namespace_boundary: None,
        defaults: BTreeMap::new(),
        kubernetes: None,
    };
    docs.policies.push((
        origin(),
        PolicyDoc {
            api_version: API_VERSION.to_string(),
            kind: "Policy".to_string(),
            metadata: Metadata {
                name: "generated-tiers".to_string(),
                ..Metadata::default()
            },
            spec: policy,
        },
    ));

    let min_zones = zones.min(3) as i64;
    for d in &drafts {
        let class = &classes[d.class];
        let (cpu, mem) = size(d.profile, scale);
        let anti_affinity = d
            .anti_affinity
            .map(|j| {
                let other = &drafts[j];
                if other.namespace == d.namespace {
                    other.name.clone()
                } else {
                    format!("{}/{}", other.namespace, other.name)
                }
            })
            .into_iter()
            .collect();
        let node_selector = if d.node_selector {
            BTreeMap::from([("kubernetes.io/arch".to_string(), "amd64".to_string())])
        } else {
            BTreeMap::new()
        };
        let spec = WorkloadSpec {
            replicas: Some(d.replicas as i64),
            resources: BTreeMap::from([
                ("cpu".to_string(), q(format!("{cpu}m"))),
                ("memory".to_string(), q(format!("{mem}Mi"))),
            ]),
            sensitivity: Some(class.sensitivity.to_string()),
            exposure: Some(class.exposure.to_string()),
            trust: Some(class.trust.to_string()),
            tenant: class.tenant.clone(),
            purpose: None,
            attributes: BTreeMap::new(),
            dedicated: d.dedicated,
            platform: false,
            max_per_node: d.max_per_node.then_some(1),
            min_zones: d.min_zones.then_some(min_zones),
            anti_affinity,
            co_location: Vec::new(),
            node_selector,
            controller: None,
            node_affinity: Vec::new(),
            tolerations: Vec::new(),
        };
        docs.workloads.push((
            origin(),
            WorkloadDoc {
                api_version: API_VERSION.to_string(),
                kind: "Workload".to_string(),
                metadata: Metadata {
                    name: d.name.clone(),
                    namespace: Some(d.namespace.to_string()),
                    ..Metadata::default()
                },
                spec,
            },
        ));
    }

    for (i, &s) in node_shapes.iter().enumerate() {
        let shape = &SHAPES[s];
        let zone = i % zones;
        let mut labels = BTreeMap::from([
            (ZONE_LABEL.to_string(), zone_names[zone].clone()),
            (
                "node.kubernetes.io/instance-type".to_string(),
                shape.name.to_string(),
            ),
            ("kubernetes.io/arch".to_string(), "amd64".to_string()),
        ]);
        if hardened(i, hardened_per_zone) {
            labels.insert(HARDENED_LABEL.to_string(), "true".to_string());
        }
        docs.nodes.push((
            origin(),
            NodeDoc {
                api_version: API_VERSION.to_string(),
                kind: "Node".to_string(),
                metadata: Metadata {
                    // One /16 for all zones: names (and so name order) interleave the zones.
                    name: format!("ip-10-0-{}-{}", i / 250, i % 250 + 4),
                    labels,
                    ..Metadata::default()
                },
                spec: NodeSpec {
                    allocatable: BTreeMap::from([
                        ("cpu".to_string(), q(format!("{}m", shape.cpu_m()))),
                        ("memory".to_string(), q(format!("{}Mi", shape.mem_mi()))),
                        ("pods".to_string(), q(PODS_PER_NODE.to_string())),
                    ]),
                    zone: None,
                    cost: Some(shape.cost),
                    taints: Vec::new(),
                    unschedulable: false,
                },
            },
        ));
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{self, Model};
    use std::path::PathBuf;

    /// Replaces every origin's file, so models loaded from different files compare equal.
    fn normalise(mut m: Model) -> Model {
        let file = PathBuf::from("generated");
        if let Some(o) = &mut m.policy.origin {
            o.file = file.clone();
        }
        for w in &mut m.workloads {
            w.origin.file = file.clone();
        }
        for n in &mut m.nodes {
            n.origin.file = file.clone();
        }
        m
    }

    #[test]
    fn is_deterministic() {
        let p = GenParams::scaled(300, 150, 7);
        assert_eq!(generate(&p).to_yaml(), generate(&p).to_yaml());
        let other = GenParams { seed: 8, ..p };
        assert_ne!(
            generate(&GenParams::scaled(300, 150, 7)).to_yaml(),
            generate(&other).to_yaml()
        );
    }

    #[test]
    fn yaml_round_trips_through_the_loader() {
        for p in [
            GenParams::scaled(200, 120, 1),
            GenParams {
                tenants: 4,
                ..GenParams::scaled(150, 100, 3)
            },
        ] {
            let docs = generate(&p);
            let yaml = docs.to_yaml();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("cluster.yaml");
            std::fs::write(&path, &yaml).unwrap();
            let loaded = model::build_from_paths(&[path]).unwrap();
            let built = model::build(docs).unwrap();
            assert_eq!(normalise(loaded), built);
        }
    }

    #[test]
    fn issue2_has_the_promised_shape() {
        let p = GenParams::issue2();
        let m = model::build(generate(&p)).unwrap();
        assert_eq!(m.workloads.len(), 2000);
        assert_eq!(m.nodes.len(), 1000);
        let replicas = m.total_replicas();
        assert!((7000..=9000).contains(&replicas), "{replicas} replicas");
        assert_eq!(m.policy.node_failures, 1);
        assert!(m.workloads.iter().filter(|w| w.dedicated).count() == 4);
        assert!(m.workloads.iter().any(|w| w.max_per_node == Some(1)));
        assert!(m.workloads.iter().any(|w| w.min_zones == Some(3)));
        assert!(m.workloads.iter().any(|w| !w.anti_affinity.is_empty()));
        let mut classes: Vec<Vec<&str>> = m
            .workloads
            .iter()
            .filter(|w| !w.dedicated)
            .map(|w| {
                m.policy
                    .separate_by
                    .iter()
                    .map(|a| w.attribute(a))
                    .collect()
            })
            .collect();
        classes.sort();
        classes.dedup();
        assert!(
            (15..=20).contains(&classes.len()),
            "{} classes",
            classes.len()
        );

        // Demand is 50–70% of capacity (after overhead) for the busiest resource.
        for name in ["cpu", "memory"] {
            let r = m.resource_id(name).unwrap();
            let demand: u64 = m
                .workloads
                .iter()
                .map(|w| w.requests[r] * w.replicas as u64)
                .sum();
            let capacity: u64 = m
                .nodes
                .iter()
                .map(|n| n.allocatable[r].unwrap() - m.policy.node_overhead[r])
                .sum();
            let u = demand as f64 / capacity as f64;
            assert!(u <= 0.7, "{name} utilisation {u}");
            if name == "cpu" {
                assert!(u >= 0.5, "{name} utilisation {u}");
            }
        }
        // Hardened nodes in every zone.
        for z in ["us-east-1a", "us-east-1b", "us-east-1c"] {
            let hardened = m
                .nodes
                .iter()
                .filter(|n| n.zone.as_deref() == Some(z) && n.labels.contains_key(HARDENED_LABEL))
                .count();
            assert!(hardened >= 50, "{hardened} hardened nodes in {z}");
        }
    }

    #[test]
    fn tiny_and_odd_parameters_still_validate() {
        for p in [
            GenParams::scaled(1, 1, 0),
            GenParams {
                zones: 1,
                ..GenParams::scaled(10, 5, 1)
            },
            GenParams {
                zones: 5,
                tenants: 3,
                classes: 100,
                ..GenParams::scaled(50, 20, 2)
            },
            GenParams {
                share_rules: false,
                dedicated: 10,
                ..GenParams::scaled(20, 40, 3)
            },
        ] {
            let docs = generate(&p);
            assert_eq!(docs.workloads.len(), p.workloads);
            assert_eq!(docs.nodes.len(), p.nodes);
            model::build(docs).unwrap();
        }
    }
}
