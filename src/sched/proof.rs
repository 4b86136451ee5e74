//! The static proof: under kube-scheduler's own filter rules, every replica can run on its
//! planned node and no pod template can reach a node of another pool.

use super::commands as read_cmd;
use super::filter::{self, NodeView, PodFilter};
use super::read::{self, Evidence, NodePoolDoc, Parts, PodSource, ProofError, Source};
use crate::boundary::{self, NamespaceSpan};
use crate::emit::admission::{self, POLICY_NAME};
use crate::emit::headroom;
use crate::emit::{POD_POOL_LABEL, POOL_LABEL};
use crate::model::{
    labelled_by_karpenter, Enforcement, Model, NodeClassRef, INSTANCE_TYPE_LABEL, ZONE_LABEL,
};
use crate::plan::Plan;
use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBindingSpec, ValidatingAdmissionPolicySpec,
};
use k8s_openapi::api::core::v1::{NodeSelectorRequirement, PodSpec, Taint};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

/// Label every node carries (the kubelet sets it).
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
/// Label Karpenter puts on the nodes it launches: the NodePool's name.
pub const NODEPOOL_LABEL: &str = "karpenter.sh/nodepool";

/// What the proof takes for granted; printed with every report.
pub const ASSUMPTIONS: [&str; 5] = [
    "the cluster gets exactly the objects read: what `kubectl kustomize` builds from the \
     manifests directory (its kustomization's resources, and the workloads/ Component's patches \
     applied by strategic merge onto the user's objects: `tolerations` and `nodeSelectorTerms` \
     are lists without a merge key, so the patch's lists replace the user's, and `nodeSelector` \
     is a map, so the user's keys can only narrow it), or the objects of a --built file as they \
     are; objects applied outside these are not covered",
    "every DaemonSet may use the host network; pods that set `spec.nodeName` or another \
     `schedulerName` skip kube-scheduler's filters, so the admission policy must deny them \
     unless they are pinned to their pool",
    "nodes carry only the inventory's labels and taints with the node scripts run to the end \
     (nodes/label.sh, then nodes/taint.sh; any `v1 Node` object of the kustomization applied \
     before them, labels merged and the taint list replaced), or, when Karpenter launches them, \
     their NodePool template's labels and taints and the labels the Policy says its node class \
     guarantees (a label a workload requires counts only when the class guarantees it); \
     NodeRestriction keeps kubelets from relabelling node-restriction.kubernetes.io/ keys",
    "scheduling is decided by the filters on taints, nodeSelector and required node affinity; \
     resources, pod affinity and spread only ever narrow where a pod may go",
    "pods created outside the objects read are held to their tier by the pool taints and by \
     the admission policy read here; the policy's boundary is the namespace: whoever may create \
     pods in a namespace may put them in any pool planned for that namespace's workloads",
];

/// The fix for an admission policy that is missing or altered.
const APPLY_ADMISSION: &str = "apply admission/ as `tierplan plan` wrote it";

/// A stable code for each kind of failure, for scripts and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// (a) A replica's planned node is one its pod template cannot schedule on.
    Placement,
    /// (b) A pod template can schedule on a node of another pool: tiers mix.
    CrossPool,
    /// (b) A tiered pod template can schedule on a node in no pool.
    OutsidePools,
    /// (b) Only the taint keeps a template off another pool's node (no affinity guard).
    TaintOnly,
    /// (b) Only node affinity keeps a template off another pool's node (no taint guard).
    AffinityOnly,
    /// (b) An untiered DaemonSet pod can schedule on a pool's node: the node lacks its taint.
    UntaintedPoolNode,
    /// (c) Isolation by a rule the scheduler may ignore.
    SoftIsolation,
    /// (c) A toleration with an empty key: it tolerates every taint.
    WildcardToleration,
    /// (c) A patch that does not set `tolerations`, so the user's own survive the merge.
    TolerationsNotSet,
    /// (c) A tiered patch without required node affinity.
    MissingAffinity,
    /// (c) A workload of the plan without a patch (or, built, without its object).
    MissingPatch,
    /// A patch whose kind is not the workload's controller, so it applies to nothing.
    WrongKind,
    /// A patch for an object that is no workload of the input, or that narrows a system
    /// DaemonSet's tolerations.
    StrayPatch,
    /// A Node object or node command for a node that is not in the inventory.
    UnknownNode,
    /// A node the plan buys that no NodePool can launch.
    NodePoolGap,
    /// A node the plan buys that two NodePools can launch: NodePools are not exclusive.
    NodePoolOverlap,
    /// A node the plan buys for one pool that only another pool's NodePool launches.
    WrongNodePool,
    /// A node the plan buys that only a NodePool of another node class launches.
    NodeClass,
    /// A NodePool file named after no pool that buys nodes.
    NodePoolForNoPool,
    /// (b) A built object the plan does not cover can schedule on a pool's node.
    Untiered,
    /// Several documents for one object: the last one applied wins.
    Duplicate,
    /// The admission policy is missing, altered or not enforcing.
    Admission,
    /// A namespace spans several pools although the Policy's `namespaceBoundary` is deny.
    NamespaceBoundary,
    /// Something the proof cannot reason about (strategic-merge directives, nodeName,
    /// another scheduler, unknown operators, unparseable affinity).
    Unsupported,
}

impl Rule {
    /// The rule's stable code, as printed.
    pub fn code(self) -> &'static str {
        match self {
            Rule::Placement => "placement",
            Rule::CrossPool => "cross-pool",
            Rule::OutsidePools => "outside-pools",
            Rule::TaintOnly => "taint-only",
            Rule::AffinityOnly => "affinity-only",
            Rule::UntaintedPoolNode => "untainted-pool-node",
            Rule::SoftIsolation => "soft-isolation",
            Rule::WildcardToleration => "wildcard-toleration",
            Rule::TolerationsNotSet => "tolerations-not-set",
            Rule::MissingAffinity => "missing-affinity",
            Rule::MissingPatch => "missing-patch",
            Rule::WrongKind => "wrong-kind",
            Rule::StrayPatch => "stray-patch",
            Rule::UnknownNode => "unknown-node",
            Rule::NodePoolGap => "nodepool-gap",
            Rule::NodePoolOverlap => "nodepool-overlap",
            Rule::WrongNodePool => "wrong-nodepool",
            Rule::NodeClass => "node-class",
            Rule::NodePoolForNoPool => "nodepool-for-no-pool",
            Rule::Untiered => "untiered",
            Rule::Duplicate => "duplicate",
            Rule::Admission => "admission",
            Rule::NamespaceBoundary => "namespace-boundary",
            Rule::Unsupported => "unsupported",
        }
    }
}

/// One way the proof fails. Failures of one rule, workload and pool are reported once, with
/// the first node (by name) as the example and the number of nodes affected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The rule that fails.
    pub rule: Rule,
    /// `namespace/name` of the workload or system DaemonSet; empty for node-level failures.
    pub workload: String,
    /// The node concerned (the first, when several are); empty when none is.
    pub node: String,
    /// How many nodes the failure covers (1 for most rules).
    pub nodes: usize,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

/// A system DaemonSet that can schedule on nodes of several pools: the one allowed
/// exception to tiering, listed so that nobody overlooks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// `namespace/name`.
    pub daemon_set: String,
    /// The pools whose nodes it can schedule on, sorted.
    pub pools: Vec<String>,
    /// How many nodes (of any pool) it can schedule on.
    pub nodes: usize,
    /// Its object was not among those read, so it is taken to tolerate every taint.
    pub assumed: bool,
}

/// How much was evaluated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Pod templates read from the patches.
    pub templates: usize,
    /// Nodes considered: inventory, bought, and one per NodePool that it could launch.
    pub nodes: usize,
    /// (a) Placements evaluated.
    pub placements: usize,
    /// (b) Template × node pairs evaluated (workloads and system DaemonSets).
    pub pairs: usize,
    /// Untiered DaemonSet pod × pool node pairs evaluated.
    pub probes: usize,
    /// Bought node × NodePool pairs evaluated.
    pub admissions: usize,
    /// Built objects of kinds that decide no placement (Services, ConfigMaps…), skipped.
    pub skipped: usize,
}

/// The outcome of [`prove`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// What was judged.
    pub counts: Counts,
    /// Sorted by rule, workload, node.
    pub failures: Vec<Failure>,
    /// Sorted by DaemonSet.
    pub exceptions: Vec<Exception>,
    /// Namespaces whose workloads are in several pools: anyone who may create pods there
    /// may choose any of them. A failure under `namespaceBoundary: deny`, else a finding.
    pub namespaces: Vec<NamespaceSpan>,
}

impl Proof {
    /// No failure: tiers never mix, except through the listed system DaemonSets.
    pub fn holds(&self) -> bool {
        self.failures.is_empty()
    }
}

impl fmt::Display for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        writeln!(
            f,
            "proof that tiers never mix, under kube-scheduler's filter rules"
        )?;
        writeln!(f, "assumptions:")?;
        for a in ASSUMPTIONS {
            writeln!(f, "  - {a}")?;
        }
        writeln!(
            f,
            "evaluated: {} pod templates, {} nodes; (a) {} placements; (b) {} template x node pairs; \
             {} untiered DaemonSet pod x pool node pairs; {} bought node x NodePool pairs; \
             {} objects of other kinds skipped",
            c.templates, c.nodes, c.placements, c.pairs, c.probes, c.admissions, c.skipped
        )?;
        if self.exceptions.is_empty() {
            writeln!(f, "cross-tier exceptions: none")?;
        } else {
            writeln!(
                f,
                "cross-tier exceptions (system DaemonSets, the only ones allowed):"
            )?;
            for e in &self.exceptions {
                writeln!(
                    f,
                    "  - {} runs on {} nodes of pools {}{}",
                    e.daemon_set,
                    e.nodes,
                    e.pools.join(", "),
                    if e.assumed {
                        " (keeps its own tolerations, taken to tolerate every taint)"
                    } else {
                        ""
                    }
                )?;
            }
        }
        for span in &self.namespaces {
            writeln!(f, "finding: {span}")?;
        }
        if !self.namespaces.is_empty() {
            writeln!(f, "  meaning: {}", boundary::MEANING)?;
        }
        for x in &self.failures {
            let mut subject = Vec::new();
            if !x.workload.is_empty() {
                subject.push(x.workload.clone());
            }
            if !x.node.is_empty() {
                subject.push(match x.nodes {
                    1 => format!("node {}", x.node),
                    n => format!("node {} and {} more", x.node, n - 1),
                });
            }
            let subject = subject.join(", ");
            let sep = if subject.is_empty() { "" } else { ": " };
            writeln!(
                f,
                "{}: {subject}{sep}{}\n  fix: {}",
                x.rule.code(),
                x.problem,
                x.fix
            )?;
        }
        if self.holds() {
            write!(
                f,
                "HOLDS: no pod template can reach a node outside its pool"
            )
        } else {
            write!(
                f,
                "FAILS: {} failure{}",
                self.failures.len(),
                if self.failures.len() == 1 { "" } else { "s" }
            )
        }
    }
}

/// A node of the universe the proof quantifies over.
#[derive(Debug, Clone)]
struct UNode {
    name: String,
    /// Index into the plan's pools.
    pool: Option<usize>,
    labels: BTreeMap<String, String>,
    taints: Vec<Taint>,
}

impl UNode {
    fn view(&self) -> NodeView<'_> {
        NodeView {
            name: &self.name,
            labels: &self.labels,
            taints: &self.taints,
        }
    }
}

/// Nodes the filters cannot tell apart: one pool, the same taints in the same order, the
/// same value (or none) of every label key some template reads, and the same name when a
/// template reads names. Every filter gives all of them the verdict and the reason it gives
/// the first, so the proof judges templates against classes (a few hundred) rather than
/// nodes (tens of thousands) and stays exact: a failure counts all the class's nodes and
/// cites the one first by name, as judging each node would.
struct NodeClass<'n> {
    /// Its first node in the universe's order: the one the filters run on.
    first: &'n UNode,
    /// Its node first by name.
    least: &'n str,
    /// How many nodes it holds.
    size: usize,
}

/// What tells nodes apart for the filters; see [`NodeClass`].
type ClassKey<'n> = (
    Option<usize>,
    Vec<(&'n str, Option<&'n str>, &'n str)>,
    Vec<Option<&'n str>>,
    Option<&'n str>,
);

/// The classes of `nodes` under the filters of `templates` (and of the untiered probe, which
/// reads taints only), in the order of their first nodes.
fn node_classes<'n>(nodes: &'n [UNode], templates: &[Template<'_>]) -> Vec<NodeClass<'n>> {
    let keys: BTreeSet<&str> = templates
        .iter()
        .flat_map(|t| t.filter.label_keys())
        .collect();
    let names = templates.iter().any(|t| t.filter.reads_name());
    let mut index: HashMap<ClassKey<'n>, usize> = HashMap::new();
    let mut classes: Vec<NodeClass<'n>> = Vec::new();
    for n in nodes {
        let key = (
            n.pool,
            n.taints
                .iter()
                .map(|t| (t.key.as_str(), t.value.as_deref(), t.effect.as_str()))
                .collect(),
            keys.iter()
                .map(|k| n.labels.get(*k).map(String::as_str))
                .collect(),
            names.then_some(n.name.as_str()),
        );
        match index.entry(key) {
            Entry::Occupied(e) => {
                let c = &mut classes[*e.get()];
                c.size += 1;
                if n.name.as_str() < c.least {
                    c.least = &n.name;
                }
            }
            Entry::Vacant(e) => {
                e.insert(classes.len());
                classes.push(NodeClass {
                    first: n,
                    least: &n.name,
                    size: 1,
                });
            }
        }
    }
    classes
}

/// What a template's verdicts depend on besides the node: its filter, as text (tolerations
/// and selectors have no order or hash of their own).
fn filter_key(filter: &PodFilter) -> String {
    format!("{filter:?}")
}

/// A pod template and whose it is.
struct Template<'m> {
    id: String,
    role: Role,
    filter: PodFilter,
    source: &'m PodSource,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A workload of the input and the plan pool holding it.
    Workload(Option<usize>),
    SystemDaemonSet,
    /// A built object that runs pods the plan does not cover (a user's own Deployment).
    Untiered,
}

/// Whether `np` launches its nodes with `class`.
fn launches_with(np: &NodePoolDoc, class: &NodeClassRef) -> bool {
    np.node_pool
        .spec
        .template
        .spec
        .node_class_ref
        .as_ref()
        .is_some_and(|r| same_class(r, class))
}

fn same_class(r: &read::ClassRef, class: &NodeClassRef) -> bool {
    r.group == class.group && r.kind == class.kind && r.name == class.name
}

/// Proves that `manifests` (a `manifests/` directory) enforce `plan`: see the module docs.
pub fn prove(model: &Model, plan: &Plan, manifests: &Path) -> Result<Proof, ProofError> {
    let evidence = read::directory(manifests, Parts::All)?;
    Ok(prove_evidence(model, plan, &evidence))
}

/// Proves that the objects of `evidence` (see [`read`]) enforce `plan`.
pub fn prove_evidence(model: &Model, plan: &Plan, evidence: &Evidence) -> Proof {
    Prover::new(model, plan).run(evidence)
}

struct Prover<'a> {
    model: &'a Model,
    plan: &'a Plan,
    /// Failures by (rule, workload, group), where group is the pool or node that makes one
    /// failure distinct.
    failures: BTreeMap<(Rule, String, String), Failure>,
    counts: Counts,
    /// Label keys some workload requires of its nodes.
    required_keys: BTreeSet<String>,
}

impl<'a> Prover<'a> {
    fn new(model: &'a Model, plan: &'a Plan) -> Self {
        let required_keys = model
            .workloads
            .iter()
            .filter_map(|w| crate::policy::required_labels(model, w).ok())
            .flat_map(|labels| labels.into_keys())
            .collect();
        Prover {
            model,
            plan,
            failures: BTreeMap::new(),
            counts: Counts::default(),
            required_keys,
        }
    }

    fn fail(
        &mut self,
        rule: Rule,
        workload: &str,
        group: &str,
        node: &str,
        problem: String,
        fix: &str,
    ) {
        self.fail_nodes(rule, workload, group, node, 1, problem, fix);
    }

    /// [`Prover::fail`] for `count` nodes at once, of which `node` is the first by name.
    #[allow(clippy::too_many_arguments)]
    fn fail_nodes(
        &mut self,
        rule: Rule,
        workload: &str,
        group: &str,
        node: &str,
        count: usize,
        problem: String,
        fix: &str,
    ) {
        let key = (rule, workload.to_string(), group.to_string());
        match self.failures.get_mut(&key) {
            Some(f) => {
                f.nodes += count;
                if !node.is_empty() && (f.node.is_empty() || node < f.node.as_str()) {
                    f.node = node.to_string();
                    f.problem = problem;
                }
            }
            None => {
                self.failures.insert(
                    key,
                    Failure {
                        rule,
                        workload: workload.to_string(),
                        node: node.to_string(),
                        nodes: if node.is_empty() { 0 } else { count },
                        problem,
                        fix: fix.to_string(),
                    },
                );
            }
        }
    }

    fn pool_name(&self, pool: Option<usize>) -> &'a str {
        let plan = self.plan;
        pool.map_or("(no pool)", |p| plan.pools[p].name.as_str())
    }

    fn run(mut self, m: &'a Evidence) -> Proof {
        let mut nodes = self.inventory(m);
        nodes.extend(self.bought(m));
        self.counts.nodes = nodes.len();
        self.counts.skipped = m.skipped;
        let templates = self.templates(m);
        self.counts.templates = templates.len();
        let classes = node_classes(&nodes, &templates);
        self.placements(&templates, &nodes);
        self.isolation(&templates, nodes.len(), &classes);
        self.untiered(&templates, &classes);
        let exceptions = self.system(&templates, &classes);
        self.probe(&classes);
        self.soft_taints(m);
        self.duplicates(m);
        self.admission(m);
        let namespaces = boundary::namespace_spans(self.model, self.plan);
        if self.model.policy.namespace_boundary == Enforcement::Deny {
            for span in &namespaces {
                self.fail(
                    Rule::NamespaceBoundary,
                    "",
                    &span.namespace,
                    "",
                    format!("{span}, and the Policy's namespaceBoundary is deny"),
                    "give the workloads of each pool a namespace of their own",
                );
            }
        }
        let mut failures: Vec<Failure> = self.failures.into_values().collect();
        failures
            .sort_by(|a, b| (a.rule, &a.workload, &a.node).cmp(&(b.rule, &b.workload, &b.node)));
        Proof {
            counts: self.counts,
            failures,
            exceptions,
            namespaces,
        }
    }

    /// The plan's pools but the platform pool, with their indices.
    fn tiered_pools(&self) -> impl Iterator<Item = (usize, &'a crate::plan::Pool)> {
        self.plan
            .pools
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.platform)
    }

    /// Tiered pool of each node name the plan lists. The platform pool's nodes are in no
    /// tier: any pod may use them, and no tiered pod may reach them.
    fn node_pools(&self) -> BTreeMap<&'a str, usize> {
        let mut out = BTreeMap::new();
        for (i, p) in self.tiered_pools() {
            for n in &p.nodes {
                out.entry(n.as_str()).or_insert(i);
            }
        }
        out
    }

    /// Every inventory node, with the Node objects and then the node scripts applied.
    fn inventory(&mut self, m: &Evidence) -> Vec<UNode> {
        let pools = self.node_pools();
        let mut nodes: Vec<UNode> = self
            .model
            .nodes
            .iter()
            .map(|n| UNode {
                name: n.name.clone(),
                pool: pools.get(n.name.as_str()).copied(),
                labels: n.labels.clone(),
                taints: n
                    .taints
                    .iter()
                    .map(|t| Taint {
                        key: t.key.clone(),
                        value: (!t.value.is_empty()).then(|| t.value.clone()),
                        effect: t.effect.clone(),
                        time_added: None,
                    })
                    .collect(),
            })
            .collect();
        for patch in &m.nodes {
            let Some(i) = self.model.node_index(&patch.name) else {
                self.fail(
                    Rule::UnknownNode,
                    "",
                    &patch.name,
                    &patch.name,
                    format!(
                        "{}: a Node object for a node that is not in the inventory; applying it \
                         would create one",
                        patch.source
                    ),
                    "plan with the inventory the manifests were written for, or regenerate them",
                );
                continue;
            };
            let node = &mut nodes[i];
            node.labels
                .extend(patch.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            if let Some(taints) = &patch.taints {
                node.taints = taints.clone();
            }
        }
        for command in &m.node_commands {
            let Some(i) = self.model.node_index(&command.node) else {
                self.fail(
                    Rule::UnknownNode,
                    "",
                    &command.node,
                    &command.node,
                    format!(
                        "{}: labels or taints a node that is not in the inventory",
                        command.source.file.display()
                    ),
                    "plan with the inventory the manifests were written for, or regenerate them",
                );
                continue;
            };
            let node = &mut nodes[i];
            command.apply(&mut node.labels, &mut node.taints);
        }
        for n in &mut nodes {
            n.labels
                .entry(HOSTNAME_LABEL.into())
                .or_insert_with(|| n.name.clone());
        }
        nodes
    }

    /// The nodes the plan buys, as their NodePool launches them, and per NodePool one node it
    /// could launch from its template alone.
    fn bought(&mut self, m: &Evidence) -> Vec<UNode> {
        let plan = self.plan;
        let pool_index: BTreeMap<&str, usize> = plan
            .pools
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i))
            .collect();
        let mut nodes = Vec::new();
        for np in &m.node_pools {
            let pool = pool_index.get(np.pool()).copied();
            if pool.is_none_or(|p| plan.pools[p].node_types.is_empty()) {
                self.fail(
                    Rule::NodePoolForNoPool,
                    "",
                    &np.node_pool.metadata.name,
                    "",
                    format!(
                        "{}: NodePool `{}` labels its nodes `{POOL_LABEL}: {}`, which names no pool of the plan that buys nodes",
                        np.source, np.node_pool.metadata.name, np.pool(),
                    ),
                    "delete the file, or regenerate the manifests from this plan",
                );
            }
            let name = format!("{}-launchable", np.node_pool.metadata.name);
            let mut labels = self.launched_labels(np);
            labels.insert(NODEPOOL_LABEL.into(), np.node_pool.metadata.name.clone());
            labels.insert(HOSTNAME_LABEL.into(), name.clone());
            nodes.push(UNode {
                name,
                pool: pool.filter(|&p| !plan.pools[p].platform),
                labels,
                taints: np.node_pool.spec.template.spec.taints.clone(),
            });
        }
        for (pi, pool) in plan.pools.iter().enumerate() {
            for b in pool.bought_nodes() {
                let Some(t) = self
                    .model
                    .node_type_index(b.node_type)
                    .map(|t| &self.model.node_types[t])
                else {
                    continue; // the checker reports a type that is not in the input
                };
                // What the instance is, whichever NodePool launches it: its type, zone and
                // the labels Karpenter derives from the instance type.
                let mut instance: BTreeMap<String, String> = t
                    .labels
                    .iter()
                    .filter(|(k, _)| labelled_by_karpenter(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                instance.insert(INSTANCE_TYPE_LABEL.into(), t.instance_type.clone());
                instance.insert(ZONE_LABEL.into(), b.zone.into());
                // What makes the node one of this pool is what the pool's own NodePool for
                // its node class puts on it; another NodePool launches it only if its labels
                // agree.
                let mut labels = instance.clone();
                let own = m
                    .node_pools
                    .iter()
                    .find(|np| np.pool() == pool.name && launches_with(np, &t.node_class))
                    .or_else(|| m.node_pools.iter().find(|np| np.pool() == pool.name));
                if let Some(own) = own {
                    let own = &own.node_pool.spec.template.metadata.labels;
                    labels.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                self.counts.admissions += m.node_pools.len();
                let mut admitting: Vec<&NodePoolDoc> = Vec::new();
                for np in &m.node_pools {
                    // A platform node carries no pool label, so a NodePool that writes one
                    // onto its nodes never launches it.
                    let writes_pool = np
                        .node_pool
                        .spec
                        .template
                        .metadata
                        .labels
                        .contains_key(POOL_LABEL);
                    if !(pool.platform && writes_pool) && self.admits(np, &labels) {
                        admitting.push(np);
                    }
                }
                // The plan buys the instance with its node class; a NodePool of another class
                // would still launch the instance (Karpenter knows instance types, not
                // NodeTypes), only booted from another image.
                if admitting.iter().any(|np| launches_with(np, &t.node_class)) {
                    admitting.retain(|np| launches_with(np, &t.node_class));
                } else if let Some(np) = admitting.first() {
                    self.fail(
                        Rule::NodeClass,
                        "",
                        &pool.name,
                        &b.name,
                        format!(
                            "the plan buys {} ({}) with node class {}, but NodePool {} launches it with {}",
                            t.name,
                            t.instance_type,
                            t.node_class.name,
                            np.node_pool.metadata.name,
                            np.node_pool.spec.template.spec.node_class_ref.as_ref().map_or("none", |r| r.name.as_str())
                        ),
                        "give the NodePool the nodeClassRef of the types it buys, or regenerate the NodePools from this plan",
                    );
                }
                let chosen = admitting
                    .iter()
                    .find(|np| np.pool() == pool.name)
                    .or(admitting.first());
                let where_ = format!(
                    "{} ({} with node class {}) in {}",
                    t.name, t.instance_type, t.node_class.name, b.zone
                );
                match admitting.as_slice() {
                    [] => self.fail(
                        Rule::NodePoolGap,
                        "",
                        &pool.name,
                        &b.name,
                        format!("no NodePool can launch the {where_} the plan buys for pool {}", pool.name),
                        "give the pool a NodePool with the type's nodeClassRef whose requirements admit its instance types and zones",
                    ),
                    [_] => {}
                    many => self.fail(
                        Rule::NodePoolOverlap,
                        "",
                        &where_,
                        &b.name,
                        format!(
                            "NodePools {} can all launch {where_}: NodePools are not mutually exclusive, \
                             so Karpenter may launch a node of one pool for another",
                            many.iter().map(|np| np.node_pool.metadata.name.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                        "restrict each NodePool's requirements to the instance types and zones of its own pool, with no overlap",
                    ),
                }
                if let Some(np) = chosen.filter(|np| np.pool() != pool.name) {
                    self.fail(
                        Rule::WrongNodePool,
                        "",
                        &pool.name,
                        &b.name,
                        format!(
                            "the {where_} bought for pool {} is launched by NodePool {} of pool {}",
                            pool.name,
                            np.node_pool.metadata.name,
                            np.pool()
                        ),
                        "regenerate the NodePools from this plan",
                    );
                }
                let mut labels = instance;
                let mut taints = Vec::new();
                if let Some(np) = chosen {
                    labels.extend(self.launched_labels(np));
                    labels.insert(NODEPOOL_LABEL.into(), np.node_pool.metadata.name.clone());
                    taints = np.node_pool.spec.template.spec.taints.clone();
                }
                labels.insert(HOSTNAME_LABEL.into(), b.name.clone());
                nodes.push(UNode {
                    name: b.name,
                    pool: (!pool.platform).then_some(pi),
                    labels,
                    taints,
                });
            }
        }
        nodes
    }

    /// The labels a node launched by `np` has: those its node class guarantees (Policy
    /// `karpenter.nodeClasses`), and those Karpenter writes from the template's labels and
    /// single-valued `In` requirements, except a label some workload requires that the class
    /// does not guarantee: Karpenter writes it whatever image the class boots, so it proves
    /// nothing (a `host-os: bottlerocket` label on an Amazon Linux node).
    fn launched_labels(&self, np: &NodePoolDoc) -> BTreeMap<String, String> {
        let class = np.node_pool.spec.template.spec.node_class_ref.as_ref();
        let guaranteed = self
            .model
            .policy
            .node_class_labels
            .iter()
            .find(|(c, _)| class.is_some_and(|r| same_class(r, c)))
            .map(|(_, labels)| labels.clone())
            .unwrap_or_default();
        let tmpl = &np.node_pool.spec.template;
        let single = tmpl.spec.requirements.iter().filter_map(|r| {
            match (r.operator.as_str(), r.values.as_slice()) {
                ("In", [v]) => Some((&r.key, v)),
                _ => None,
            }
        });
        let mut labels = guaranteed.clone();
        for (k, v) in tmpl.metadata.labels.iter().chain(single) {
            let unproven = self.required_keys.contains(k.as_str())
                && k != POOL_LABEL
                && !labelled_by_karpenter(k);
            if !unproven {
                labels.insert(k.clone(), v.clone());
            }
        }
        labels
    }

    /// Whether a NodePool can launch a node with these labels: its template labels agree
    /// with them and its requirements admit them. A requirement on a key the node does not
    /// define does not exclude it (Karpenter can satisfy it by labelling the node), so
    /// overlaps are over-reported rather than missed.
    fn admits(&mut self, np: &NodePoolDoc, labels: &BTreeMap<String, String>) -> bool {
        let template = &np.node_pool.spec.template.metadata.labels;
        let mut ok = template
            .iter()
            .all(|(k, v)| labels.get(k).is_none_or(|have| have == v));
        for r in &np.node_pool.spec.template.spec.requirements {
            if !labels.contains_key(&r.key) {
                continue;
            }
            let req = NodeSelectorRequirement {
                key: r.key.clone(),
                operator: r.operator.clone(),
                values: Some(r.values.clone()),
            };
            match filter::label_requirement_matches(&req, labels) {
                Ok(m) => ok &= m,
                Err(errs) => {
                    self.fail(
                        Rule::Unsupported,
                        "",
                        &np.node_pool.metadata.name,
                        "",
                        format!(
                            "{}: requirement on `{}` does not parse: {}",
                            np.source,
                            r.key,
                            errs.join("; ")
                        ),
                        "use In, NotIn, Exists, DoesNotExist, Gt or Lt with valid values",
                    );
                    ok = false;
                }
            }
        }
        ok
    }

    /// One template per pod source: a workload's, a system DaemonSet's or (built objects
    /// only) one the plan does not cover, with the static checks that need no node.
    fn templates(&mut self, m: &'a Evidence) -> Vec<Template<'a>> {
        // Tiered workloads only: platform workloads are unpinned, judged as untiered pods.
        let mut pool_of: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, p) in self.tiered_pools() {
            for w in &p.workloads {
                pool_of.entry(w.as_str()).or_insert(i);
            }
        }
        let system: BTreeSet<String> = self
            .model
            .policy
            .system_daemon_sets
            .iter()
            .map(|d| format!("{}/{}", d.namespace, d.name))
            .collect();
        let mut out = Vec::new();
        for pod in &m.pods {
            let id = pod.id();
            let workload = self
                .model
                .workload_index(&id)
                .map(|w| &self.model.workloads[w]);
            let role = match workload {
                Some(w) if w.platform && pod.patch => {
                    self.fail(
                        Rule::StrayPatch,
                        &id,
                        "",
                        "",
                        format!(
                            "{}: patches platform workload {id}, which the plan leaves unpinned on untainted nodes",
                            pod.source
                        ),
                        "delete the patch, or drop `platform: true` from the Workload and plan it in a tier",
                    );
                    continue;
                }
                Some(w) if w.platform => Role::Untiered,
                Some(w) if pod.kind == w.controller.kind() => {
                    Role::Workload(pool_of.get(id.as_str()).copied())
                }
                Some(w) if pod.patch => {
                    self.fail(
                        Rule::WrongKind,
                        &id,
                        &pod.kind,
                        "",
                        format!(
                            "{}: patches a {} but the workload runs as a {}, so the patch applies to nothing",
                            pod.source,
                            pod.kind,
                            w.controller.kind()
                        ),
                        "set the Workload's spec.controller to the kind that runs it and regenerate",
                    );
                    continue;
                }
                _ if system.contains(&id) && pod.kind == "DaemonSet" => {
                    if pod.patch {
                        self.fail(
                            Rule::StrayPatch,
                            &id,
                            "",
                            "",
                            format!(
                                "{}: patches system DaemonSet {id}: narrowing its tolerations keeps it off new nodes, \
                                 which carry node.kubernetes.io/not-ready:NoSchedule until their CNI runs",
                                pod.source
                            ),
                            "delete the patch: system DaemonSets keep their own tolerations and admission exempts them by creator",
                        );
                        continue;
                    }
                    Role::SystemDaemonSet
                }
                // A headroom placeholder holds its pool's nodes: judged as the pool's own
                // workload, so it must reach no other pool.
                _ if !pod.patch
                    && pod.kind == "Deployment"
                    && pod.namespace == headroom::NAMESPACE =>
                {
                    let pool = pod
                        .template
                        .metadata
                        .as_ref()
                        .and_then(|m| m.labels.as_ref())
                        .and_then(|l| l.get(POD_POOL_LABEL))
                        .and_then(|name| self.plan.pools.iter().position(|p| &p.name == name));
                    match pool {
                        Some(p) => Role::Workload(Some(p)),
                        None => Role::Untiered,
                    }
                }
                _ if pod.patch => {
                    self.fail(
                        Rule::StrayPatch,
                        &id,
                        "",
                        "",
                        format!(
                            "{}: patches {} {id}, which is no workload of the input",
                            pod.source, pod.kind
                        ),
                        "regenerate the manifests from the same input and plan",
                    );
                    continue;
                }
                _ => Role::Untiered,
            };
            let mut spec = pod.template.spec.clone().unwrap_or_default();
            self.static_checks(&id, pod, &spec, role);
            if pod.kind == "DaemonSet" {
                // The user's DaemonSet may use the host network, which earns one more
                // automatic toleration; assuming it over-approximates where pods can go.
                spec.host_network = Some(true);
                filter::add_daemon_set_tolerations(&mut spec);
            }
            out.push(Template {
                id,
                role,
                filter: PodFilter::new(&spec),
                source: pod,
            });
        }
        let built = m.pods.iter().any(|p| !p.patch);
        let read: BTreeSet<(String, &str)> =
            m.pods.iter().map(|p| (p.id(), p.kind.as_str())).collect();
        for w in &self.model.workloads {
            let present = read.contains(&(w.id.clone(), w.controller.kind()));
            if pool_of.contains_key(w.id.as_str()) && !present {
                self.fail(
                    Rule::MissingPatch,
                    &w.id,
                    "",
                    "",
                    if built {
                        format!("no {} of this name in the built objects, so nothing shows it pinned to its pool", w.controller.kind())
                    } else {
                        format!("no {} patch pins this workload of the plan to its pool", w.controller.kind())
                    },
                    "add its patch from `tierplan plan` to workloads/ and its kustomization",
                );
            }
        }
        out
    }

    /// (c): rules about a template that hold or fail whatever the nodes.
    fn static_checks(&mut self, id: &str, pod: &PodSource, spec: &PodSpec, role: Role) {
        let file = pod.source.to_string();
        if let Role::Workload(Some(p)) = role {
            let pool = &self.plan.pools[p].name;
            let labels = pod
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.as_ref());
            let label = labels.and_then(|l| l.get(POD_POOL_LABEL));
            if label != Some(pool) {
                self.fail(
                    Rule::Placement,
                    id,
                    POD_POOL_LABEL,
                    "",
                    format!(
                        "{file}: the pod template {} `{POD_POOL_LABEL}: {pool}`, so the admission policy denies every pod of this workload",
                        match label {
                            Some(other) => format!("carries `{POD_POOL_LABEL}: {other}` instead of"),
                            None => "lacks".to_string(),
                        }
                    ),
                    "label the pod template with its pool, as the patch from `tierplan plan` does",
                );
            }
        }
        for d in &pod.directives {
            self.fail(
                Rule::Unsupported,
                id,
                d,
                "",
                format!("{file}: strategic-merge directive at `{d}` changes what the merge keeps"),
                "write the patch without `$` directives",
            );
        }
        if let Some(n) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
            self.fail(
                Rule::Unsupported,
                id,
                "nodeName",
                "",
                format!("{file}: `nodeName: {n}` bypasses the scheduler's filters"),
                "remove nodeName; let node affinity choose the node",
            );
        }
        if let Some(s) = spec
            .scheduler_name
            .as_deref()
            .filter(|s| !s.is_empty() && *s != "default-scheduler")
        {
            self.fail(
                Rule::Unsupported,
                id,
                "schedulerName",
                "",
                format!("{file}: `schedulerName: {s}` is not kube-scheduler, whose rules the proof evaluates"),
                "remove schedulerName",
            );
        }
        match &spec.tolerations {
            // A system DaemonSet keeps whatever tolerations it has: it is the exception.
            _ if role == Role::SystemDaemonSet => {}
            None if !pod.patch => {}
            None => self.fail(
                Rule::TolerationsNotSet,
                id,
                "",
                "",
                format!("{file}: the patch sets no `tolerations`, so the user's own tolerations survive the merge"),
                "set the tolerations list in the patch (an empty list when none is needed)",
            ),
            Some(ts) => {
                for (i, t) in ts.iter().enumerate() {
                    let op = t.operator.as_deref().unwrap_or("");
                    if t.key.as_deref().unwrap_or("").is_empty() {
                        self.fail(
                            Rule::WildcardToleration,
                            id,
                            &i.to_string(),
                            "",
                            format!(
                                "{file}: tolerations[{i}] has no key (operator `{}`), so it tolerates every taint{}",
                                if op.is_empty() { "Equal" } else { op },
                                t.effect.as_deref().map(|e| format!(" with effect {e}")).unwrap_or_default()
                            ),
                            "tolerate the pool's taint by key and value instead",
                        );
                    } else if !matches!(op, "" | "Equal" | "Exists") {
                        self.fail(
                            Rule::Unsupported,
                            id,
                            &format!("toleration {i}"),
                            "",
                            format!("{file}: tolerations[{i}] uses operator `{op}`, which only a feature gate gives meaning"),
                            "use Equal",
                        );
                    }
                }
            }
        }
        let node_affinity = spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref());
        let required = node_affinity.and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
        let preferred = node_affinity
            .and_then(|n| {
                n.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .is_some_and(|p| !p.is_empty());
        if let Some(r) = required {
            let errs = filter::ParsedNodeSelector::new(r).errors();
            if !errs.is_empty() {
                self.fail(
                    Rule::Unsupported,
                    id,
                    "affinity",
                    "",
                    format!(
                        "{file}: required node affinity does not parse: {}",
                        errs.join("; ")
                    ),
                    "fix the node selector terms (the API server would refuse these pods)",
                );
            }
        }
        // A nodeSelector guards as well as required affinity (the user's own keys can only
        // narrow it); tiered DaemonSets need it, since their controller replaces each pod's
        // required node affinity with a term naming one node.
        let selects = spec.node_selector.as_ref().is_some_and(|s| !s.is_empty());
        if matches!(role, Role::Workload(_)) && required.is_none() && !selects {
            self.fail(
                if preferred { Rule::SoftIsolation } else { Rule::MissingAffinity },
                id,
                "affinity",
                "",
                if preferred {
                    format!("{file}: only preferred node affinity: the scheduler may place the pods on any pool's nodes")
                } else {
                    format!("{file}: neither required node affinity nor a nodeSelector on the pool label; the taint is the only guard")
                },
                "require the pool's label in requiredDuringSchedulingIgnoredDuringExecution",
            );
        }
        for c in spec.topology_spread_constraints.iter().flatten() {
            if c.when_unsatisfiable == "ScheduleAnyway" {
                self.fail(
                    Rule::SoftIsolation,
                    id,
                    &format!("spread {}", c.topology_key),
                    "",
                    format!(
                        "{file}: spread over `{}` is ScheduleAnyway, which the scheduler may ignore",
                        c.topology_key
                    ),
                    "use whenUnsatisfiable: DoNotSchedule",
                );
            }
        }
    }

    /// (a): every placement's node passes its template's filters.
    fn placements(&mut self, templates: &[Template<'_>], nodes: &[UNode]) {
        let by_name: BTreeMap<&str, &UNode> = nodes.iter().map(|n| (n.name.as_str(), n)).collect();
        let by_id: BTreeMap<&str, &Template<'_>> = templates
            .iter()
            .filter(|t| matches!(t.role, Role::Workload(_)))
            .map(|t| (t.id.as_str(), t))
            .collect();
        for p in &self.plan.placements {
            let Some(t) = by_id.get(p.workload.as_str()) else {
                continue; // reported as a missing patch
            };
            self.counts.placements += 1;
            let refusal = match by_name.get(p.node.as_str()) {
                Some(n) => t.filter.schedulable(&n.view()).err().map(|r| r.to_string()),
                None => Some("the node is neither in the inventory nor bought by the plan".into()),
            };
            if let Some(why) = refusal {
                self.fail(
                    Rule::Placement,
                    &p.workload,
                    &p.node,
                    &p.node,
                    format!("replica {} is planned on this node, but the scheduler refuses it: {why}", p.replica),
                    "tolerate the pool's taint and require its label in the patch, and give the node its pool's label and taint",
                );
            }
        }
    }

    /// (b): no workload template reaches a node outside its pool, and each of the two
    /// guards (taint, node affinity) keeps it off other pools' nodes on its own. `nodes`
    /// counts the pairs; the verdicts are per node class.
    fn isolation(&mut self, templates: &[Template<'_>], nodes: usize, classes: &[NodeClass<'_>]) {
        // Templates of one pool with one filter meet every class alike: the classes that pass
        // either filter, and how, are found once for all of them. Most pairs are refused by
        // both, and only failures need a reason.
        type Passes = Vec<(usize, bool, bool)>;
        let mut passing: HashMap<(Option<usize>, String), Passes> = HashMap::new();
        for t in templates {
            let Role::Workload(own) = t.role else {
                continue;
            };
            self.counts.pairs += nodes;
            let no_affinity = t.filter.affinity.is_none() && t.filter.node_selector.is_empty();
            let own_pool = self.pool_name(own);
            let passes = passing
                .entry((own, filter_key(&t.filter)))
                .or_insert_with(|| {
                    classes
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| !(own.is_some() && c.first.pool == own))
                        .filter_map(|(i, c)| {
                            let n = c.first;
                            let tolerated = filter::untolerated_taint(
                                n.taints.as_slice(),
                                &t.filter.tolerations,
                            )
                            .is_none();
                            let affine = t.filter.affine_ok(&n.view());
                            (tolerated || affine).then_some((i, tolerated, affine))
                        })
                        .collect()
                });
            for &(i, tolerated, affine) in passes.iter() {
                let c = &classes[i];
                let n = c.first;
                let view = n.view();
                let pool = self.pool_name(n.pool);
                match (tolerated, affine, n.pool) {
                    (true, true, Some(_)) => self.fail_nodes(
                        Rule::CrossPool,
                        &t.id,
                        pool,
                        c.least,
                        c.size,
                        format!(
                            "{}: pods of pool {} can schedule on this node of pool {pool}: tiers mix",
                            t.source.source,
                            own_pool
                        ),
                        "tolerate only the pool's own taint and require its own pool label",
                    ),
                    (true, true, None) => self.fail_nodes(
                        Rule::OutsidePools,
                        &t.id,
                        pool,
                        c.least,
                        c.size,
                        format!(
                            "{}: pods of pool {} can schedule on this node, which is in no pool",
                            t.source.source,
                            own_pool
                        ),
                        "require the pool's label in required node affinity",
                    ),
                    (true, false, Some(_)) => self.fail_nodes(
                        Rule::AffinityOnly,
                        &t.id,
                        pool,
                        c.least,
                        c.size,
                        format!(
                            "only node affinity ({}) keeps these pods off pool {pool}: {}",
                            reason(t.filter.affine(&view)),
                            if n.taints.iter().any(filter::filters) {
                                "the template tolerates the node's taints"
                            } else {
                                "the node has no NoSchedule taint"
                            }
                        ),
                        "tolerate only the pool's own taint, and give every node its pool's NoSchedule taint",
                    ),
                    (false, true, Some(_)) if !no_affinity => self.fail_nodes(
                        Rule::TaintOnly,
                        &t.id,
                        pool,
                        c.least,
                        c.size,
                        format!(
                            "only the taint ({}) keeps these pods off pool {pool}: node affinity admits the node",
                            reason(t.filter.tolerated(&view))
                        ),
                        "require the pool's own label in required node affinity, and label every node with its pool",
                    ),
                    _ => {}
                }
            }
        }
    }

    /// (b): a built object the plan does not cover reaches no pool node. Such pods are
    /// kept off the tiers by the pool taints alone (and by admission, which denies pool
    /// tolerations to pods without a pool).
    fn untiered(&mut self, templates: &[Template<'_>], classes: &[NodeClass<'_>]) {
        let pool_nodes: usize = classes
            .iter()
            .filter(|c| c.first.pool.is_some())
            .map(|c| c.size)
            .sum();
        let mut reaching: HashMap<String, Vec<usize>> = HashMap::new();
        for t in templates.iter().filter(|t| t.role == Role::Untiered) {
            self.counts.pairs += pool_nodes;
            let reached = reaching.entry(filter_key(&t.filter)).or_insert_with(|| {
                classes
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| {
                        c.first.pool.is_some() && t.filter.schedulable(&c.first.view()).is_ok()
                    })
                    .map(|(i, _)| i)
                    .collect()
            });
            for &i in reached.iter() {
                let c = &classes[i];
                let pool = self.pool_name(c.first.pool);
                self.fail_nodes(
                    Rule::Untiered,
                    &t.id,
                    pool,
                    c.least,
                    c.size,
                    format!(
                        "{}: {} {}, which no workload of the plan covers, can schedule on this node of pool {pool}",
                        t.source.source, t.source.kind, t.id
                    ),
                    "plan it as a Workload, or list it in the Policy's systemDaemonSets if it must run on every node",
                );
            }
        }
    }

    /// (d): system DaemonSets reaching several pools, listed as exceptions. One whose object
    /// was not read keeps tolerations the proof cannot see, so it is taken to reach every
    /// node (as CNI and kube-proxy DaemonSets do, tolerating everything).
    fn system(&mut self, templates: &[Template<'_>], classes: &[NodeClass<'_>]) -> Vec<Exception> {
        let mut out = Vec::new();
        for d in &self.model.policy.system_daemon_sets {
            let id = format!("{}/{}", d.namespace, d.name);
            let template = templates
                .iter()
                .find(|t| t.role == Role::SystemDaemonSet && t.id == id);
            let mut pools = BTreeSet::new();
            let mut reached = 0;
            for c in classes {
                let reaches = match template {
                    Some(t) => {
                        self.counts.pairs += c.size;
                        t.filter.schedulable(&c.first.view()).is_ok()
                    }
                    None => true,
                };
                if reaches {
                    reached += c.size;
                    if let Some(p) = c.first.pool {
                        pools.insert(self.plan.pools[p].name.clone());
                    }
                }
            }
            if pools.len() > 1 {
                out.push(Exception {
                    daemon_set: id,
                    pools: pools.into_iter().collect(),
                    nodes: reached,
                    assumed: template.is_none(),
                });
            }
        }
        out.sort_by(|a, b| a.daemon_set.cmp(&b.daemon_set));
        out
    }

    /// Several documents for one object (a workload, Node, NodePool or admission object):
    /// applied one after the other (server-side apply under one field manager drops what the
    /// second omits, such as a taint), the last wins, so the evidence does not say what the
    /// cluster gets.
    fn duplicates(&mut self, m: &Evidence) {
        // (kind, name) → (the workload id to report, or "", and where each document is).
        type Seen<'e> = BTreeMap<(&'e str, String), (String, Vec<&'e Source>)>;
        let mut seen: Seen = BTreeMap::new();
        let mut add = |kind, name: String, workload: String, source| {
            seen.entry((kind, name))
                .or_insert_with(|| (workload, Vec::new()))
                .1
                .push(source);
        };
        for pod in &m.pods {
            add(pod.kind.as_str(), pod.id(), pod.id(), &pod.source);
        }
        for n in &m.nodes {
            add("Node", n.name.clone(), String::new(), &n.source);
        }
        for np in &m.node_pools {
            add(
                "NodePool",
                np.node_pool.metadata.name.clone(),
                String::new(),
                &np.source,
            );
        }
        for p in &m.policies {
            let name = p.object.metadata.name.clone().unwrap_or_default();
            add("ValidatingAdmissionPolicy", name, String::new(), &p.source);
        }
        for b in &m.bindings {
            let name = b.object.metadata.name.clone().unwrap_or_default();
            add(
                "ValidatingAdmissionPolicyBinding",
                name,
                String::new(),
                &b.source,
            );
        }
        for ((kind, name), (workload, sources)) in
            seen.into_iter().filter(|(_, (_, s))| s.len() > 1)
        {
            self.fail(
                Rule::Duplicate,
                &workload,
                &format!("{kind}/{name}"),
                if kind == "Node" { &name } else { "" },
                format!(
                    "{} documents for {kind} {name} ({}): applied in turn, the last one wins and drops what it omits",
                    sources.len(),
                    sources.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ),
                "keep one document per object",
            );
        }
    }

    /// The admission policy and binding the isolation relies on: present, enforcing
    /// (`failurePolicy: Fail`, `validationActions` with `Deny`), matching every pod in every
    /// namespace, and with the rules tierplan writes for this plan. What those rules mean is
    /// tested by evaluating their CEL (tests/admission_cel.rs), not here: the proof checks
    /// that they are in force, unaltered.
    fn admission(&mut self, m: &Evidence) {
        let (want, want_binding) = admission::objects(self.model, self.plan);
        let named = |name: Option<&String>| name.map(String::as_str) == Some(POLICY_NAME);
        match m
            .policies
            .iter()
            .find(|p| named(p.object.metadata.name.as_ref()))
        {
            Some(policy) => self.policy(policy, want.spec.unwrap_or_default()),
            None => self.fail(
                Rule::Admission,
                "",
                "policy",
                "",
                format!("no ValidatingAdmissionPolicy {POLICY_NAME}: nothing stops a pod from tolerating another pool's taint"),
                APPLY_ADMISSION,
            ),
        }
        self.binding(m, want_binding.spec.unwrap_or_default());
    }

    /// The policy's enforcement and rules, against what tierplan writes for the plan.
    fn policy(
        &mut self,
        policy: &read::Located<ValidatingAdmissionPolicy>,
        want_spec: ValidatingAdmissionPolicySpec,
    ) {
        let where_ = policy.source.to_string();
        let spec = policy.object.spec.clone().unwrap_or_default();
        // Kubernetes defaults failurePolicy to Fail.
        if spec.failure_policy.as_deref().unwrap_or("Fail") != "Fail" {
            self.fail(
                Rule::Admission,
                "",
                "failurePolicy",
                "",
                format!(
                    "{where_}: failurePolicy `{}` admits every pod whenever the policy cannot be evaluated",
                    spec.failure_policy.as_deref().unwrap_or_default()
                ),
                "set failurePolicy: Fail",
            );
        }
        let fields = [
            (
                "matchConstraints",
                spec.match_constraints != want_spec.match_constraints,
            ),
            (
                "matchConditions",
                spec.match_conditions != want_spec.match_conditions,
            ),
            ("variables", spec.variables != want_spec.variables),
            ("validations", spec.validations != want_spec.validations),
            ("paramKind", spec.param_kind != want_spec.param_kind),
        ];
        for (name, differs) in fields {
            if differs {
                self.fail(
                    Rule::Admission,
                    "",
                    name,
                    "",
                    format!("{where_}: spec.{name} differs from what tierplan writes for this plan, so the proof cannot rely on the policy"),
                    APPLY_ADMISSION,
                );
            }
        }
    }

    /// A binding of the policy that denies, in every namespace.
    fn binding(&mut self, m: &Evidence, want_binding: ValidatingAdmissionPolicyBindingSpec) {
        let bindings: Vec<_> = m
            .bindings
            .iter()
            .filter(|b| {
                b.object
                    .spec
                    .as_ref()
                    .and_then(|s| s.policy_name.as_deref())
                    == Some(POLICY_NAME)
            })
            .collect();
        // Why each binding of the policy falls short; none short means one enforces.
        let shortfalls: Vec<(&Source, Vec<String>)> = bindings
            .iter()
            .map(|b| {
                let spec = b.object.spec.clone().unwrap_or_default();
                let mut why = Vec::new();
                let actions = spec.validation_actions.unwrap_or_default();
                if !actions.iter().any(|a| a == "Deny") {
                    why.push(format!(
                        "validationActions {actions:?} lack Deny, so nothing is refused"
                    ));
                }
                if spec.match_resources != want_binding.match_resources {
                    why.push("matchResources narrow it to some namespaces or objects".into());
                }
                if spec.param_ref != want_binding.param_ref {
                    why.push("it sets a paramRef".into());
                }
                (&b.source, why)
            })
            .collect();
        if shortfalls.iter().all(|(_, why)| !why.is_empty()) {
            self.fail(
                Rule::Admission,
                "",
                "binding",
                "",
                if bindings.is_empty() {
                    format!("no ValidatingAdmissionPolicyBinding of {POLICY_NAME}: the policy is in force nowhere")
                } else {
                    let each: Vec<String> = shortfalls
                        .iter()
                        .map(|(source, why)| format!("{source}: {}", why.join("; ")))
                        .collect();
                    format!("no binding of {POLICY_NAME} denies in every namespace: {}", each.join(" / "))
                },
                "bind the policy with validationActions: [Deny] and no matchResources, as `tierplan plan` writes it once the Policy lists the system DaemonSets",
            );
        }
    }

    /// An untiered DaemonSet pod (only the controller's own tolerations) must reach no pool
    /// node: the pool taint is what keeps every pod the patches do not cover off the tiers.
    fn probe(&mut self, classes: &[NodeClass<'_>]) {
        let mut spec = PodSpec {
            host_network: Some(true),
            ..Default::default()
        };
        filter::add_daemon_set_tolerations(&mut spec);
        let probe = PodFilter::new(&spec);
        for c in classes.iter().filter(|c| c.first.pool.is_some()) {
            self.counts.probes += c.size;
            if probe.schedulable(&c.first.view()).is_ok() {
                let pool = self.pool_name(c.first.pool);
                self.fail_nodes(
                    Rule::UntaintedPoolNode,
                    "",
                    pool,
                    c.least,
                    c.size,
                    format!("a pod that tolerates nothing can schedule on this node of pool {pool}: it has no NoSchedule or NoExecute taint"),
                    "give the node its pool's NoSchedule taint (nodes/taint.sh, or the NodePool template)",
                );
            }
        }
    }

    /// (c): `PreferNoSchedule` taints that tierplan's manifests add, which the scheduler
    /// only weighs.
    fn soft_taints(&mut self, m: &Evidence) {
        for patch in &m.nodes {
            let before: Vec<(&str, &str)> = self
                .model
                .node_index(&patch.name)
                .map(|i| {
                    self.model.nodes[i]
                        .taints
                        .iter()
                        .map(|t| (t.key.as_str(), t.effect.as_str()))
                        .collect()
                })
                .unwrap_or_default();
            for t in patch.taints.iter().flatten() {
                if t.effect == "PreferNoSchedule"
                    && !before.contains(&(t.key.as_str(), "PreferNoSchedule"))
                {
                    self.fail(
                        Rule::SoftIsolation,
                        "",
                        &patch.name,
                        &patch.name,
                        format!("{}: adds the PreferNoSchedule taint {}, which the scheduler may ignore", patch.source, filter::taint_text(t)),
                        "use effect NoSchedule for pool taints",
                    );
                }
            }
        }
        for c in &m.node_commands {
            if let read_cmd::Action::SetTaint(key, value, effect) = &c.action {
                if effect == "PreferNoSchedule" {
                    self.fail(
                        Rule::SoftIsolation,
                        "",
                        &c.node,
                        &c.node,
                        format!(
                            "{} line {}: sets the PreferNoSchedule taint {key}={value}, which the scheduler may ignore",
                            c.source.file.display(),
                            c.source.doc
                        ),
                        "use effect NoSchedule for pool taints",
                    );
                }
            }
        }
        for np in &m.node_pools {
            let spec = &np.node_pool.spec.template.spec;
            for t in spec.taints.iter().chain(&spec.startup_taints) {
                if t.effect == "PreferNoSchedule" {
                    self.fail(
                        Rule::SoftIsolation,
                        "",
                        &np.node_pool.metadata.name,
                        "",
                        format!(
                            "{}: NodePool taint {} is PreferNoSchedule, which the scheduler may ignore",
                            np.source,
                            filter::taint_text(t)
                        ),
                        "use effect NoSchedule for pool taints",
                    );
                }
            }
        }
    }
}

/// The text of a filter's refusal (empty when it admits).
fn reason(r: Result<(), filter::Refusal>) -> String {
    r.err().map(|r| r.to_string()).unwrap_or_default()
}
