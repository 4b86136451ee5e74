//! kube-scheduler's filter rules, as pure functions over k8s-openapi types.
//!
//! Each function follows the Kubernetes source it is named after, so that the proof decides
//! "can this pod land on this node" exactly as the cluster does:
//! - taints: `Toleration.ToleratesTaint` (k8s.io/api core/v1 toleration.go) and
//!   `FindMatchingUntoleratedTaint` with the `TaintToleration` plugin's filter (only
//!   `NoSchedule` and `NoExecute` taints keep a pod off; `PreferNoSchedule` only scores);
//! - `nodeSelector` and required node affinity: `GetRequiredNodeAffinity(pod).Match(node)` of
//!   k8s.io/component-helpers/scheduling/corev1/nodeaffinity, with label requirements as
//!   `labels.NewRequirement` parses them and `Requirement.Matches` evaluates them;
//! - the tolerations the DaemonSet controller adds to every pod it creates
//!   (`AddOrUpdateDaemonPodTolerations`, pkg/controller/daemon/util).

use crate::model::names;
use k8s_openapi::api::core::v1::{
    NodeSelector, NodeSelectorRequirement, PodSpec, Taint, Toleration,
};
use std::collections::BTreeMap;
use std::fmt;

/// The node fields the filters read.
#[derive(Debug, Clone, Copy)]
pub struct NodeView<'a> {
    /// The node's name.
    pub name: &'a str,
    /// Its labels.
    pub labels: &'a BTreeMap<String, String>,
    /// Its taints.
    pub taints: &'a [Taint],
}

/// `Toleration.ToleratesTaint` with the comparison-operator feature gate off (its default):
/// an empty effect matches every effect, an empty key every key, an empty operator is
/// `Equal`, and `Lt`, `Gt` or any other operator tolerates nothing.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = toleration.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("") {
        "" | "Equal" => {
            toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
        "Exists" => true,
        _ => false,
    }
}

/// Whether the scheduler's `TaintToleration` filter looks at this taint at all.
pub fn filters(taint: &Taint) -> bool {
    taint.effect == "NoSchedule" || taint.effect == "NoExecute"
}

/// `FindMatchingUntoleratedTaint` with the filter plugin's predicate: the first `NoSchedule`
/// or `NoExecute` taint no toleration tolerates.
pub fn untolerated_taint<'a>(taints: &'a [Taint], tolerations: &[Toleration]) -> Option<&'a Taint> {
    taints
        .iter()
        .filter(|t| filters(t))
        .find(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
}

/// A label requirement's operator (`selection.Operator` of the ones node affinity maps to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelOp {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt(i64),
    Lt(i64),
}

/// A parsed `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LabelRequirement {
    key: String,
    op: LabelOp,
    values: Vec<String>,
}

impl LabelRequirement {
    /// `labels.NewRequirement`: the key must be a qualified name, `In`/`NotIn` need values,
    /// `Exists`/`DoesNotExist` none, `Gt`/`Lt` exactly one integer; every value must be a
    /// label value.
    fn parse(r: &NodeSelectorRequirement) -> Result<Self, Vec<String>> {
        let values = r.values.clone().unwrap_or_default();
        let mut errs = Vec::new();
        if let Some(p) = names::qualified_name_problem(&r.key) {
            errs.push(format!("key `{}`: {p}", r.key));
        }
        let integer = || -> Result<i64, String> {
            match values.as_slice() {
                [v] => v
                    .parse::<i64>()
                    .map_err(|_| format!("`{}` needs an integer value, not `{v}`", r.operator)),
                _ => Err(format!("`{}` needs exactly one value", r.operator)),
            }
        };
        let op = match r.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => {
                errs.push(format!("`{}` needs at least one value", r.operator));
                None
            }
            "In" => Some(LabelOp::In),
            "NotIn" => Some(LabelOp::NotIn),
            "Exists" | "DoesNotExist" if !values.is_empty() => {
                errs.push(format!("`{}` takes no values", r.operator));
                None
            }
            "Exists" => Some(LabelOp::Exists),
            "DoesNotExist" => Some(LabelOp::DoesNotExist),
            "Gt" | "Lt" => match integer() {
                Ok(n) if r.operator == "Gt" => Some(LabelOp::Gt(n)),
                Ok(n) => Some(LabelOp::Lt(n)),
                Err(e) => {
                    errs.push(e);
                    None
                }
            },
            other => {
                errs.push(format!(
                    "operator `{other}` is not one of In, NotIn, Exists, DoesNotExist, Gt, Lt"
                ));
                None
            }
        };
        for v in &values {
            if let Some(p) = names::label_value_problem(v) {
                errs.push(format!("value `{v}`: {p}"));
            }
        }
        match op {
            Some(op) if errs.is_empty() => Ok(LabelRequirement {
                key: r.key.clone(),
                op,
                values,
            }),
            _ => Err(errs),
        }
    }

    /// `Requirement.Matches`: `NotIn` and `DoesNotExist` hold on a node without the label;
    /// `Gt`/`Lt` need the label and an integer value.
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.op {
            LabelOp::In => value.is_some_and(|v| self.values.contains(v)),
            LabelOp::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            LabelOp::Exists => value.is_some(),
            LabelOp::DoesNotExist => value.is_none(),
            LabelOp::Gt(n) => value
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v > n),
            LabelOp::Lt(n) => value
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v < n),
        }
    }
}

/// One `matchExpressions` entry on its own: whether it holds for these labels, or why it
/// does not parse.
pub fn label_requirement_matches(
    requirement: &NodeSelectorRequirement,
    labels: &BTreeMap<String, String>,
) -> Result<bool, Vec<String>> {
    LabelRequirement::parse(requirement).map(|r| r.matches(labels))
}

/// A parsed `matchFields` entry: `In` or `NotIn` with exactly one value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldRequirement {
    key: String,
    equal: bool,
    value: String,
}

impl FieldRequirement {
    fn parse(r: &NodeSelectorRequirement) -> Result<Self, String> {
        let equal = match r.operator.as_str() {
            "In" => true,
            "NotIn" => false,
            other => return Err(format!("field operator `{other}` is not In or NotIn")),
        };
        match r.values.as_deref() {
            Some([v]) => Ok(FieldRequirement {
                key: r.key.clone(),
                equal,
                value: v.clone(),
            }),
            _ => Err(format!("field `{}` needs exactly one value", r.key)),
        }
    }

    /// Node fields are `metadata.name` only (`extractNodeFields`); any other key reads as
    /// the empty string, as in `fields.Set`.
    fn matches(&self, node_name: &str) -> bool {
        let actual = if self.key == "metadata.name" {
            node_name
        } else {
            ""
        };
        (actual == self.value) == self.equal
    }
}

/// One parsed node selector term, or the reasons it does not parse (then it matches nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    parsed: Result<(Vec<LabelRequirement>, Vec<FieldRequirement>), Vec<String>>,
}

impl Term {
    fn matches(&self, node: &NodeView<'_>) -> bool {
        match &self.parsed {
            Ok((labels, fields)) => {
                labels.iter().all(|r| r.matches(node.labels))
                    && fields.iter().all(|r| r.matches(node.name))
            }
            Err(_) => false,
        }
    }
}

/// A `NodeSelector` (required node affinity) parsed once, evaluated per node:
/// `NewLazyErrorNodeSelector` + `Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedNodeSelector {
    /// Empty terms are dropped (they select nothing), as Kubernetes does.
    terms: Vec<Term>,
}

impl ParsedNodeSelector {
    /// The node selector term of `selector`, as the filter reads it.
    pub fn new(selector: &NodeSelector) -> Self {
        let terms = selector
            .node_selector_terms
            .iter()
            .filter(|t| {
                !t.match_expressions
                    .as_deref()
                    .unwrap_or_default()
                    .is_empty()
                    || !t.match_fields.as_deref().unwrap_or_default().is_empty()
            })
            .map(|t| {
                let mut errs = Vec::new();
                let labels: Vec<_> = t
                    .match_expressions
                    .iter()
                    .flatten()
                    .filter_map(|r| LabelRequirement::parse(r).map_err(|e| errs.extend(e)).ok())
                    .collect();
                let fields: Vec<_> = t
                    .match_fields
                    .iter()
                    .flatten()
                    .filter_map(|r| FieldRequirement::parse(r).map_err(|e| errs.push(e)).ok())
                    .collect();
                Term {
                    parsed: if errs.is_empty() {
                        Ok((labels, fields))
                    } else {
                        Err(errs)
                    },
                }
            })
            .collect();
        ParsedNodeSelector { terms }
    }

    /// Terms are ORed; no term (or only empty ones) matches no node.
    pub fn matches(&self, node: &NodeView<'_>) -> bool {
        self.terms.iter().any(|t| t.matches(node))
    }

    /// The label keys its terms read. A term that does not parse reads none: it matches no
    /// node whatever the labels.
    pub fn label_keys(&self) -> impl Iterator<Item = &str> {
        self.terms
            .iter()
            .filter_map(|t| t.parsed.as_ref().ok())
            .flat_map(|(labels, _)| labels.iter().map(|r| r.key.as_str()))
    }

    /// Whether a term reads the node's name (`matchFields` on `metadata.name`).
    pub fn reads_name(&self) -> bool {
        self.terms
            .iter()
            .filter_map(|t| t.parsed.as_ref().ok())
            .any(|(_, fields)| fields.iter().any(|f| f.key == "metadata.name"))
    }

    /// Why terms do not parse (each such term matches no node; the API server would refuse
    /// the pod).
    pub fn errors(&self) -> Vec<String> {
        self.terms
            .iter()
            .filter_map(|t| t.parsed.as_ref().err())
            .flatten()
            .cloned()
            .collect()
    }
}

/// `labels.SelectorFromSet(pod.spec.nodeSelector)`: every pair must be on the node.
pub fn node_selector_matches(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Why a pod may not be scheduled on a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// A `NoSchedule` or `NoExecute` taint the pod does not tolerate.
    Taint(Taint),
    /// A `nodeSelector` pair the node does not carry.
    NodeSelector {
        /// The label key.
        key: String,
        /// The value asked for.
        value: String,
    },
    /// No term of the required node affinity matches.
    NodeAffinity,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Taint(t) => write!(f, "untolerated taint {}", taint_text(t)),
            Refusal::NodeSelector { key, value } => {
                write!(f, "nodeSelector {key}={value} not on the node")
            }
            Refusal::NodeAffinity => write!(f, "no required node affinity term matches"),
        }
    }
}

/// `key=value:Effect`, as kubectl prints taints.
pub fn taint_text(t: &Taint) -> String {
    match t.value.as_deref().unwrap_or("") {
        "" => format!("{}:{}", t.key, t.effect),
        v => format!("{}={v}:{}", t.key, t.effect),
    }
}

/// The scheduling-relevant part of a pod spec, parsed once for many nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct PodFilter {
    /// The pod's tolerations.
    pub tolerations: Vec<Toleration>,
    /// The pod's node selector.
    pub node_selector: BTreeMap<String, String>,
    /// `None` when the pod has no required node affinity (every node passes).
    pub affinity: Option<ParsedNodeSelector>,
}

impl PodFilter {
    /// What the filter reads of `spec`.
    pub fn new(spec: &PodSpec) -> Self {
        PodFilter {
            tolerations: spec.tolerations.clone().unwrap_or_default(),
            node_selector: spec.node_selector.clone().unwrap_or_default(),
            affinity: spec
                .affinity
                .as_ref()
                .and_then(|a| a.node_affinity.as_ref())
                .and_then(|n| {
                    n.required_during_scheduling_ignored_during_execution
                        .as_ref()
                })
                .map(ParsedNodeSelector::new),
        }
    }

    /// The taint filter alone.
    pub fn tolerated(&self, node: &NodeView<'_>) -> Result<(), Refusal> {
        match untolerated_taint(node.taints, &self.tolerations) {
            Some(t) => Err(Refusal::Taint(t.clone())),
            None => Ok(()),
        }
    }

    /// The node-affinity filter alone (`nodeSelector` and required node affinity).
    pub fn affine(&self, node: &NodeView<'_>) -> Result<(), Refusal> {
        if let Some((k, v)) = self
            .node_selector
            .iter()
            .find(|(k, v)| node.labels.get(*k) != Some(*v))
        {
            return Err(Refusal::NodeSelector {
                key: k.clone(),
                value: v.clone(),
            });
        }
        match &self.affinity {
            Some(a) if !a.matches(node) => Err(Refusal::NodeAffinity),
            _ => Ok(()),
        }
    }

    /// [`PodFilter::affine`] without the reason.
    pub fn affine_ok(&self, node: &NodeView<'_>) -> bool {
        node_selector_matches(&self.node_selector, node.labels)
            && self.affinity.as_ref().is_none_or(|a| a.matches(node))
    }

    /// The node label keys the filters read: nodes that agree on these, on their taints and
    /// (when [`PodFilter::reads_name`]) on their name get the same verdict and reason.
    pub fn label_keys(&self) -> impl Iterator<Item = &str> {
        self.node_selector
            .keys()
            .map(String::as_str)
            .chain(self.affinity.iter().flat_map(|a| a.label_keys()))
    }

    /// Whether the filters read the node's name.
    pub fn reads_name(&self) -> bool {
        self.affinity.as_ref().is_some_and(|a| a.reads_name())
    }

    /// Both filters: whether the scheduler may put the pod on the node.
    pub fn schedulable(&self, node: &NodeView<'_>) -> Result<(), Refusal> {
        self.tolerated(node)?;
        self.affine(node)
    }
}

/// `AddOrUpdateDaemonPodTolerations`: the DaemonSet controller gives every pod it creates
/// `not-ready` and `unreachable` (`NoExecute`), `disk-pressure`, `memory-pressure`,
/// `pid-pressure` and `unschedulable` (`NoSchedule`), and `network-unavailable`
/// (`NoSchedule`) when the pod uses the host network; all with operator `Exists`.
pub fn add_daemon_set_tolerations(spec: &mut PodSpec) {
    let mut wanted = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if spec.host_network == Some(true) {
        wanted.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for (key, effect) in wanted {
        let toleration = Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            effect: Some(effect.into()),
            ..Default::default()
        };
        // `AddOrUpdateTolerationInPodSpec`: one with the same key, operator, value and
        // effect is replaced (dropping its tolerationSeconds), otherwise it is appended.
        let same = |t: &Toleration| {
            t.key == toleration.key
                && t.operator == toleration.operator
                && t.value.as_deref().unwrap_or("").is_empty()
                && t.effect == toleration.effect
        };
        match tolerations.iter_mut().find(|t| same(t)) {
            Some(t) => *t = toleration,
            None => tolerations.push(toleration),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Affinity, NodeAffinity, NodeSelectorTerm};

    fn tol(key: &str, op: &str, value: &str, effect: &str) -> Toleration {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Toleration {
            key: opt(key),
            operator: opt(op),
            value: opt(value),
            effect: opt(effect),
            toleration_seconds: None,
        }
    }

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: (!value.is_empty()).then(|| value.to_string()),
            effect: effect.into(),
            time_added: None,
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    fn term(exprs: Vec<NodeSelectorRequirement>) -> NodeSelectorTerm {
        NodeSelectorTerm {
            match_expressions: Some(exprs),
            match_fields: None,
        }
    }

    fn selector(terms: Vec<NodeSelectorTerm>) -> ParsedNodeSelector {
        ParsedNodeSelector::new(&NodeSelector {
            node_selector_terms: terms,
        })
    }

    fn matches(sel: &ParsedNodeSelector, name: &str, l: &BTreeMap<String, String>) -> bool {
        sel.matches(&NodeView {
            name,
            labels: l,
            taints: &[],
        })
    }

    fn one(r: NodeSelectorRequirement, l: &[(&str, &str)]) -> bool {
        matches(&selector(vec![term(vec![r])]), "n1", &labels(l))
    }

    #[test]
    fn equal_toleration_needs_the_same_value() {
        let t = taint("pool", "web", "NoSchedule");
        assert!(tolerates(&tol("pool", "Equal", "web", "NoSchedule"), &t));
        assert!(!tolerates(&tol("pool", "Equal", "db", "NoSchedule"), &t));
        // An empty operator means Equal, not Exists.
        assert!(!tolerates(&tol("pool", "", "", "NoSchedule"), &t));
        assert!(tolerates(&tol("pool", "", "web", "NoSchedule"), &t));
    }

    #[test]
    fn exists_toleration_ignores_the_value() {
        let t = taint("pool", "web", "NoSchedule");
        assert!(tolerates(&tol("pool", "Exists", "", "NoSchedule"), &t));
        assert!(!tolerates(&tol("other", "Exists", "", "NoSchedule"), &t));
    }

    #[test]
    fn empty_key_exists_tolerates_every_taint() {
        let wildcard = tol("", "Exists", "", "");
        for t in [
            taint("pool", "web", "NoSchedule"),
            taint("x", "", "NoExecute"),
            taint("y", "z", "PreferNoSchedule"),
        ] {
            assert!(tolerates(&wildcard, &t), "{t:?}");
        }
        // With an effect it tolerates every key of that effect only.
        let no_schedule = tol("", "Exists", "", "NoSchedule");
        assert!(tolerates(&no_schedule, &taint("pool", "web", "NoSchedule")));
        assert!(!tolerates(&no_schedule, &taint("pool", "web", "NoExecute")));
    }

    #[test]
    fn empty_effect_tolerates_every_effect_of_its_key() {
        let t = tol("pool", "Equal", "web", "");
        assert!(tolerates(&t, &taint("pool", "web", "NoSchedule")));
        assert!(tolerates(&t, &taint("pool", "web", "NoExecute")));
        assert!(!tolerates(&t, &taint("pool", "db", "NoExecute")));
    }

    #[test]
    fn effect_must_match_when_given() {
        let t = tol("pool", "Equal", "web", "NoExecute");
        assert!(!tolerates(&t, &taint("pool", "web", "NoSchedule")));
    }

    #[test]
    fn comparison_operators_tolerate_nothing_without_their_feature_gate() {
        assert!(!tolerates(
            &tol("n", "Gt", "1", ""),
            &taint("n", "5", "NoSchedule")
        ));
        assert!(!tolerates(
            &tol("n", "exists", "", ""),
            &taint("n", "5", "NoSchedule")
        ));
    }

    #[test]
    fn prefer_no_schedule_never_filters() {
        let taints = [taint("pool", "web", "PreferNoSchedule")];
        assert_eq!(untolerated_taint(&taints, &[]), None);
        let taints = [
            taint("pool", "web", "PreferNoSchedule"),
            taint("gpu", "", "NoExecute"),
        ];
        assert_eq!(untolerated_taint(&taints, &[]), Some(&taints[1]));
        assert_eq!(
            untolerated_taint(&taints, &[tol("gpu", "Exists", "", "")]),
            None
        );
    }

    #[test]
    fn node_selector_needs_every_pair() {
        let l = labels(&[("a", "1"), ("b", "2")]);
        assert!(node_selector_matches(&labels(&[("a", "1")]), &l));
        assert!(node_selector_matches(
            &labels(&[("a", "1"), ("b", "2")]),
            &l
        ));
        assert!(!node_selector_matches(
            &labels(&[("a", "1"), ("b", "3")]),
            &l
        ));
        assert!(!node_selector_matches(&labels(&[("c", "")]), &l));
        assert!(node_selector_matches(&BTreeMap::new(), &l));
    }

    #[test]
    fn in_needs_the_label() {
        assert!(one(req("pool", "In", &["web", "db"]), &[("pool", "db")]));
        assert!(!one(req("pool", "In", &["web"]), &[("pool", "db")]));
        assert!(!one(req("pool", "In", &["web"]), &[]));
    }

    #[test]
    fn not_in_matches_a_node_without_the_label() {
        assert!(one(req("pool", "NotIn", &["web"]), &[]));
        assert!(one(req("pool", "NotIn", &["web"]), &[("pool", "db")]));
        assert!(!one(req("pool", "NotIn", &["web"]), &[("pool", "web")]));
    }

    #[test]
    fn exists_and_does_not_exist() {
        assert!(one(req("pool", "Exists", &[]), &[("pool", "")]));
        assert!(!one(req("pool", "Exists", &[]), &[]));
        assert!(one(req("pool", "DoesNotExist", &[]), &[]));
        assert!(!one(req("pool", "DoesNotExist", &[]), &[("pool", "web")]));
    }

    #[test]
    fn gt_and_lt_compare_integers() {
        assert!(one(req("cores", "Gt", &["4"]), &[("cores", "8")]));
        assert!(!one(req("cores", "Gt", &["8"]), &[("cores", "8")]));
        assert!(one(req("cores", "Lt", &["8"]), &[("cores", "2")]));
        // `+4` parses as an integer but is no label value, which Kubernetes also refuses.
        assert!(!one(req("cores", "Gt", &["+4"]), &[("cores", "5")]));
        // A node value that is no integer, or no label at all, fails.
        assert!(!one(req("cores", "Gt", &["4"]), &[("cores", "8x")]));
        assert!(!one(req("cores", "Lt", &["4"]), &[]));
        // A requirement value that is no integer makes the term fail to parse.
        let sel = selector(vec![term(vec![req("cores", "Gt", &["four"])])]);
        assert!(!matches(&sel, "n1", &labels(&[("cores", "8")])));
        assert_eq!(sel.errors().len(), 1);
        let sel = selector(vec![term(vec![req("cores", "Lt", &["1", "2"])])]);
        assert!(!matches(&sel, "n1", &labels(&[("cores", "0")])));
    }

    #[test]
    fn malformed_requirements_match_nothing() {
        assert!(!one(req("pool", "In", &[]), &[("pool", "web")]));
        assert!(!one(req("pool", "Exists", &["web"]), &[("pool", "web")]));
        assert!(!one(req("pool", "in", &["web"]), &[("pool", "web")]));
        assert!(!one(req("bad key!", "DoesNotExist", &[]), &[]));
        assert!(!one(req("pool", "NotIn", &["not a value"]), &[]));
    }

    #[test]
    fn terms_are_ored_and_expressions_anded() {
        let sel = selector(vec![
            term(vec![req("pool", "In", &["web"]), req("zone", "In", &["a"])]),
            term(vec![req("pool", "In", &["db"])]),
        ]);
        assert!(matches(
            &sel,
            "n",
            &labels(&[("pool", "web"), ("zone", "a")])
        ));
        assert!(!matches(
            &sel,
            "n",
            &labels(&[("pool", "web"), ("zone", "b")])
        ));
        assert!(matches(
            &sel,
            "n",
            &labels(&[("pool", "db"), ("zone", "b")])
        ));
    }

    #[test]
    fn a_term_that_does_not_parse_does_not_stop_the_others() {
        let sel = selector(vec![
            term(vec![req("pool", "Bogus", &["web"])]),
            term(vec![req("pool", "In", &["web"])]),
        ]);
        assert!(matches(&sel, "n", &labels(&[("pool", "web")])));
    }

    #[test]
    fn empty_terms_and_empty_term_lists_match_nothing() {
        let l = labels(&[("pool", "web")]);
        assert!(!matches(&selector(vec![]), "n", &l));
        assert!(!matches(&selector(vec![term(vec![])]), "n", &l));
        let empty = NodeSelectorTerm::default();
        assert!(!matches(&selector(vec![empty]), "n", &l));
        // An empty term beside a matching one is skipped, not fatal.
        let sel = selector(vec![term(vec![]), term(vec![req("pool", "Exists", &[])])]);
        assert!(matches(&sel, "n", &l));
    }

    #[test]
    fn match_fields_select_by_node_name() {
        let field = |op: &str, values: &[&str]| NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![req("metadata.name", op, values)]),
        };
        let l = BTreeMap::new();
        assert!(matches(&selector(vec![field("In", &["n1"])]), "n1", &l));
        assert!(!matches(&selector(vec![field("In", &["n1"])]), "n2", &l));
        assert!(matches(&selector(vec![field("NotIn", &["n1"])]), "n2", &l));
        // Fields take exactly one value and only In or NotIn.
        assert!(!matches(
            &selector(vec![field("In", &["n1", "n2"])]),
            "n1",
            &l
        ));
        assert!(!matches(&selector(vec![field("Exists", &[])]), "n1", &l));
        // Labels and fields of one term are ANDed.
        let both = NodeSelectorTerm {
            match_expressions: Some(vec![req("pool", "In", &["web"])]),
            match_fields: Some(vec![req("metadata.name", "In", &["n1"])]),
        };
        let sel = selector(vec![both]);
        assert!(matches(&sel, "n1", &labels(&[("pool", "web")])));
        assert!(!matches(&sel, "n2", &labels(&[("pool", "web")])));
        assert!(!matches(&sel, "n1", &labels(&[("pool", "db")])));
    }

    fn pod(tolerations: Vec<Toleration>, terms: Option<Vec<NodeSelectorTerm>>) -> PodSpec {
        PodSpec {
            tolerations: Some(tolerations),
            affinity: terms.map(|t| Affinity {
                node_affinity: Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                        node_selector_terms: t,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn schedulable_needs_both_filters() {
        let taints = [taint("pool", "web", "NoSchedule")];
        let l = labels(&[("pool", "web")]);
        let node = NodeView {
            name: "n1",
            labels: &l,
            taints: &taints,
        };
        let web = PodFilter::new(&pod(
            vec![tol("pool", "Equal", "web", "NoSchedule")],
            Some(vec![term(vec![req("pool", "In", &["web"])])]),
        ));
        assert_eq!(web.schedulable(&node), Ok(()));
        let untolerated = PodFilter::new(&pod(vec![], None));
        assert_eq!(
            untolerated.schedulable(&node),
            Err(Refusal::Taint(taints[0].clone()))
        );
        let elsewhere = PodFilter::new(&pod(
            vec![tol("pool", "Exists", "", "")],
            Some(vec![term(vec![req("pool", "In", &["db"])])]),
        ));
        assert_eq!(elsewhere.schedulable(&node), Err(Refusal::NodeAffinity));
        // Required affinity with no terms matches no node at all.
        let none = PodFilter::new(&pod(vec![tol("pool", "Exists", "", "")], Some(vec![])));
        assert_eq!(none.affine(&node), Err(Refusal::NodeAffinity));
    }

    #[test]
    fn daemon_set_tolerations_are_the_controllers_and_not_a_pool_taint() {
        let mut spec = PodSpec::default();
        add_daemon_set_tolerations(&mut spec);
        let got = spec.tolerations.clone().unwrap();
        assert_eq!(got.len(), 6);
        for (key, effect) in [
            ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"),
            ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/pid-pressure", "NoSchedule"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
        ] {
            assert!(got.contains(&tol(key, "Exists", "", effect)), "{key}");
        }
        let pool = [taint(
            "node-restriction.kubernetes.io/tierplan-pool",
            "web",
            "NoSchedule",
        )];
        assert!(untolerated_taint(&pool, &got).is_some());
        let network = [taint(
            "node.kubernetes.io/network-unavailable",
            "",
            "NoSchedule",
        )];
        assert!(untolerated_taint(&network, &got).is_some());

        let mut host = PodSpec {
            host_network: Some(true),
            tolerations: Some(vec![Toleration {
                toleration_seconds: Some(30),
                ..tol("node.kubernetes.io/unreachable", "Exists", "", "NoExecute")
            }]),
            ..Default::default()
        };
        add_daemon_set_tolerations(&mut host);
        let got = host.tolerations.unwrap();
        assert_eq!(got.len(), 7, "the existing one is replaced, not duplicated");
        assert!(got.iter().all(|t| t.toleration_seconds.is_none()));
        assert!(untolerated_taint(&network, &got).is_none());
    }
}
