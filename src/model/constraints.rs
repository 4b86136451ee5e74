//! Validation of the scheduling constraints a workload brings from its manifests: required
//! node affinity and tolerations, by the API server's rules (kubernetes/kubernetes
//! `pkg/apis/core/validation/validation.go`: `ValidateNodeSelectorRequirement`,
//! `validateTolerations`) and, for values, by what `labels.NewRequirement` accepts (a term it
//! cannot parse would match no node, silently).

use super::{names, AffinityTerm, LabelExpression, LabelOperator, Toleration, TolerationOperator};
use crate::input::diag::hint;
use crate::input::wire::{NodeSelectorRequirementSpec, NodeSelectorTermSpec, TolerationSpec};
use crate::input::{Diagnostic, Origin};

/// The effects a taint, and so a toleration, may name.
pub(super) const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

const LABEL_OPERATORS: [&str; 6] = ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"];
const TOLERATION_OPERATORS: [&str; 2] = ["Equal", "Exists"];

/// `spec.nodeAffinity`, validated; every problem is pushed to `d`, and an invalid expression
/// is left out of its term (the model is refused anyway).
pub(super) fn node_affinity(
    o: Option<&Origin>,
    terms: &[NodeSelectorTermSpec],
    d: &mut Vec<Diagnostic>,
) -> Vec<AffinityTerm> {
    terms
        .iter()
        .enumerate()
        .map(|(t, term)| AffinityTerm {
            expressions: term
                .match_expressions
                .iter()
                .enumerate()
                .filter_map(|(e, r)| {
                    let path = format!("spec.nodeAffinity[{t}].matchExpressions[{e}]");
                    expression(o, &path, r, d)
                })
                .collect(),
        })
        .collect()
}

fn expression(
    o: Option<&Origin>,
    path: &str,
    r: &NodeSelectorRequirementSpec,
    d: &mut Vec<Diagnostic>,
) -> Option<LabelExpression> {
    let before = d.len();
    if let Some(problem) = names::qualified_name_problem(&r.key) {
        d.push(Diagnostic::new(
            "E064",
            o,
            format!("{path}.key"),
            format!("`{}` is not a valid label key: {problem}", r.key),
            "write [prefix/]name, as a node label key",
        ));
    }
    let values = &r.values;
    let count = |ok: bool, need: &str| {
        (!ok).then(|| {
            Diagnostic::new(
                "E058",
                o,
                format!("{path}.values"),
                format!(
                    "operator `{}` takes {need}, not {} value(s)",
                    r.operator,
                    values.len()
                ),
                format!("give `{}` {need}", r.operator),
            )
        })
    };
    let (operator, wrong_count) = match r.operator.as_str() {
        "In" => (
            LabelOperator::In(values.clone()),
            count(!values.is_empty(), "at least one value"),
        ),
        "NotIn" => (
            LabelOperator::NotIn(values.clone()),
            count(!values.is_empty(), "at least one value"),
        ),
        "Exists" => (LabelOperator::Exists, count(values.is_empty(), "no values")),
        "DoesNotExist" => (
            LabelOperator::DoesNotExist,
            count(values.is_empty(), "no values"),
        ),
        op @ ("Gt" | "Lt") => {
            let n = integer(o, path, values.first().filter(|_| values.len() == 1), d);
            let operator = if op == "Gt" {
                LabelOperator::Gt(n.unwrap_or(0))
            } else {
                LabelOperator::Lt(n.unwrap_or(0))
            };
            (operator, count(values.len() == 1, "exactly one integer"))
        }
        other => {
            d.push(Diagnostic::new(
                "E057",
                o,
                format!("{path}.operator"),
                format!("unknown node affinity operator `{other}`"),
                format!(
                    "{} use one of {}",
                    hint(other, LABEL_OPERATORS),
                    LABEL_OPERATORS.join(", ")
                )
                .trim()
                .to_string(),
            ));
            return None;
        }
    };
    d.extend(wrong_count);
    if let LabelOperator::In(v) | LabelOperator::NotIn(v) = &operator {
        for (i, value) in v.iter().enumerate() {
            if let Some(problem) = names::label_value_problem(value) {
                d.push(Diagnostic::new(
                    "E065",
                    o,
                    format!("{path}.values[{i}]"),
                    format!("`{value}` is not a valid label value: {problem}"),
                    "use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit (or an empty value)",
                ));
            }
        }
    }
    (d.len() == before).then(|| LabelExpression {
        key: r.key.clone(),
        operator,
    })
}

/// The one value of `Gt`/`Lt` as Go's `strconv.ParseInt(v, 10, 64)` reads it (Rust's
/// `i64::from_str` takes the same: an optional sign and decimal digits).
fn integer(
    o: Option<&Origin>,
    path: &str,
    value: Option<&String>,
    d: &mut Vec<Diagnostic>,
) -> Option<i64> {
    let value = value?;
    let n = value.parse::<i64>().ok();
    if n.is_none() {
        d.push(Diagnostic::new(
            "E059",
            o,
            format!("{path}.values[0]"),
            format!("`{value}` is not an integer, which `Gt` and `Lt` compare with"),
            "write a base-10 integer such as 4 (the node label's value must be one too)",
        ));
    }
    n
}

/// `spec.tolerations`, validated; every problem is pushed to `d`.
pub(super) fn tolerations(
    o: Option<&Origin>,
    tolerations: &[TolerationSpec],
    d: &mut Vec<Diagnostic>,
) -> Vec<Toleration> {
    tolerations
        .iter()
        .enumerate()
        .filter_map(|(i, t)| toleration(o, &format!("spec.tolerations[{i}]"), t, d))
        .collect()
}

fn toleration(
    o: Option<&Origin>,
    path: &str,
    t: &TolerationSpec,
    d: &mut Vec<Diagnostic>,
) -> Option<Toleration> {
    let before = d.len();
    let key = t.key.clone().unwrap_or_default();
    let value = t.value.clone().unwrap_or_default();
    if !key.is_empty() {
        if let Some(problem) = names::qualified_name_problem(&key) {
            d.push(Diagnostic::new(
                "E064",
                o,
                format!("{path}.key"),
                format!("`{key}` is not a valid taint key: {problem}"),
                "write [prefix/]name, as the taint's key",
            ));
        }
    }
    // An empty operator is `Equal`, as in the API.
    let operator = match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" if key.is_empty() => {
            d.push(Diagnostic::new(
                "E067",
                o,
                format!("{path}.operator"),
                "an empty key needs operator `Exists` (which tolerates every taint)",
                "give the taint's key, or write `operator: Exists` to tolerate every taint",
            ));
            None
        }
        "" | "Equal" => {
            if let Some(problem) = names::label_value_problem(&value) {
                d.push(Diagnostic::new(
                    "E065",
                    o,
                    format!("{path}.value"),
                    format!("`{value}` is not a valid taint value: {problem}"),
                    "use the taint's value: at most 63 letters, digits, '-', '_' and '.' (or none)",
                ));
            }
            Some(TolerationOperator::Equal(value))
        }
        "Exists" if !value.is_empty() => {
            d.push(Diagnostic::new(
                "E067",
                o,
                format!("{path}.value"),
                format!("operator `Exists` takes no value, but `{value}` is given"),
                "remove the value (Exists tolerates every value), or use `operator: Equal`",
            ));
            None
        }
        "Exists" => Some(TolerationOperator::Exists),
        other => {
            d.push(Diagnostic::new(
                "E066",
                o,
                format!("{path}.operator"),
                format!("unknown toleration operator `{other}`"),
                format!(
                    "{} use one of {}",
                    hint(other, TOLERATION_OPERATORS),
                    TOLERATION_OPERATORS.join(", ")
                )
                .trim()
                .to_string(),
            ));
            None
        }
    };
    tolerates_pools(o, path, &key, d);
    let effect = t.effect.clone().filter(|e| !e.is_empty());
    if let Some(e) = effect.as_deref().filter(|e| !TAINT_EFFECTS.contains(e)) {
        d.push(Diagnostic::new(
            "E068",
            o,
            format!("{path}.effect"),
            format!("unknown toleration effect `{e}`"),
            format!(
                "{} use one of {}, or leave it out to tolerate every effect",
                hint(e, TAINT_EFFECTS),
                TAINT_EFFECTS.join(", ")
            )
            .trim()
            .to_string(),
        ));
    }
    (d.len() == before).then(|| Toleration {
        key,
        operator: operator.expect("no problem means an operator"),
        effect,
    })
}

/// E069: tier isolation rests on pods tolerating only their own pool's taint; the admission
/// policy denies any other toleration of it, so such a workload's pods could never run.
fn tolerates_pools(o: Option<&Origin>, path: &str, key: &str, d: &mut Vec<Diagnostic>) {
    if key.is_empty() || key == crate::emit::POOL_TAINT_KEY {
        let what = if key.is_empty() {
            "an empty key tolerates every taint, the pool taints of every tier included".to_string()
        } else {
            format!(
                "`{key}` is the pool taint tierplan sets and tolerates for each workload itself"
            )
        };
        d.push(Diagnostic::new(
            "E069",
            o,
            format!("{path}.key"),
            what,
            "tolerate the taints of the nodes the workload needs by key; tierplan adds the toleration of its pool",
        ));
    }
}
