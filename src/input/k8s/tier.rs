//! Tier attributes of Kubernetes objects: `tierplan.io/<attribute>` labels or annotations on
//! the object, else on its pod template, else on its Namespace, else the Policy's
//! `defaults`. Never guessed: an attribute found nowhere is absent.
//!
//! Shared by the importer (which turns them into Workload fields) and `audit` (which reads
//! the tier of running pods), so that both read a cluster's tiers the same way.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

/// The label and annotation prefix tier attributes are read under by default.
pub const DEFAULT_PREFIX: &str = "tierplan.io/";

/// Attributes every Workload has a field for; `dedicated` and `platform` are `"true"` or
/// `"false"`.
pub const BUILTIN: [&str; 7] = [
    "sensitivity",
    "exposure",
    "trust",
    "tenant",
    "purpose",
    "dedicated",
    "platform",
];

/// Where an attribute's value was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A label or annotation (`key`) of the object's own metadata, its pod template's or its
    /// Namespace's; `place` says which (`metadata.labels`, `spec.template.metadata.annotations`,
    /// `Namespace shop: metadata.labels`).
    Meta {
        /// Where: which metadata and which map.
        place: String,
        /// The full key.
        key: String,
    },
    /// The Policy's `defaults`.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Meta { place, key } => write!(f, "{place}[{key}]"),
            Source::Default => f.write_str("Policy spec.defaults"),
        }
    }
}

/// One attribute's value and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The value.
    pub value: String,
    /// Where.
    pub source: Source,
}

/// Metadata to read attributes from, in the order they are looked at, each with the name
/// diagnostics give it.
pub struct Layers<'a> {
    /// `(place, metadata)`: the object's, then its template's, then its Namespace's.
    pub layers: Vec<(String, &'a ObjectMeta)>,
}

/// Two places of one object disagree on an attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The attribute.
    pub attribute: String,
    /// The value read first, and where.
    pub first: Found,
    /// The other value, and where.
    pub second: Found,
}

/// Reads `attributes` under `prefix` from `layers`, then `defaults`. On one metadata a label
/// wins over an annotation; a label and an annotation that disagree are a [`Conflict`], as
/// are an object and its own pod template (both are the workload's; which one the user
/// meant cannot be told). A Namespace's value only fills what the workload leaves unset.
pub fn read<'a>(
    prefix: &str,
    attributes: impl IntoIterator<Item = &'a str>,
    layers: &Layers,
    defaults: &BTreeMap<String, String>,
) -> (BTreeMap<String, Found>, Vec<Conflict>) {
    let mut out = BTreeMap::new();
    let mut conflicts = Vec::new();
    for attribute in attributes {
        let key = format!("{prefix}{attribute}");
        let mut found: Vec<(bool, Found)> = Vec::new();
        for (place, meta) in &layers.layers {
            let own = !place.starts_with("Namespace");
            for (map, values) in [("labels", &meta.labels), ("annotations", &meta.annotations)] {
                if let Some(v) = values.as_ref().and_then(|m| m.get(&key)) {
                    found.push((
                        own,
                        Found {
                            value: v.clone(),
                            source: Source::Meta {
                                place: format!("{place}.{map}"),
                                key: key.clone(),
                            },
                        },
                    ));
                }
            }
        }
        let first_own = found.iter().position(|(own, _)| *own);
        let chosen = first_own.or(if found.is_empty() { None } else { Some(0) });
        if let Some(i) = chosen {
            let (own, first) = found[i].clone();
            // Later values of the workload itself must agree; a Namespace's may differ (the
            // workload's own value overrides it).
            for (other_own, other) in found.iter().skip(i + 1) {
                let same_level = *other_own == own;
                if same_level && other.value != first.value {
                    conflicts.push(Conflict {
                        attribute: attribute.to_string(),
                        first: first.clone(),
                        second: other.clone(),
                    });
                }
            }
            out.insert(attribute.to_string(), first);
        } else if let Some(v) = defaults.get(attribute) {
            out.insert(
                attribute.to_string(),
                Found {
                    value: v.clone(),
                    source: Source::Default,
                },
            );
        }
    }
    (out, conflicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> ObjectMeta {
        let map = |kv: &[(&str, &str)]| {
            (!kv.is_empty()).then(|| {
                kv.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
        };
        ObjectMeta {
            labels: map(labels),
            annotations: map(annotations),
            ..Default::default()
        }
    }

    #[test]
    fn the_workload_wins_over_its_namespace_and_defaults_fill_the_rest() {
        let own = meta(&[("tierplan.io/sensitivity", "restricted")], &[]);
        let ns = meta(
            &[("tierplan.io/sensitivity", "public")],
            &[("tierplan.io/tenant", "acme")],
        );
        let layers = Layers {
            layers: vec![
                ("metadata".into(), &own),
                ("Namespace shop: metadata".into(), &ns),
            ],
        };
        let defaults = BTreeMap::from([("exposure".into(), "internal".into())]);
        let (found, conflicts) = read(
            DEFAULT_PREFIX,
            ["sensitivity", "tenant", "exposure", "trust"],
            &layers,
            &defaults,
        );
        assert!(conflicts.is_empty());
        assert_eq!(found["sensitivity"].value, "restricted");
        assert_eq!(
            found["sensitivity"].source.to_string(),
            "metadata.labels[tierplan.io/sensitivity]"
        );
        assert_eq!(found["tenant"].value, "acme");
        assert_eq!(found["exposure"].source, Source::Default);
        assert!(!found.contains_key("trust"));
    }

    #[test]
    fn a_label_and_an_annotation_that_disagree_conflict() {
        let own = meta(
            &[("tierplan.io/sensitivity", "restricted")],
            &[("tierplan.io/sensitivity", "public")],
        );
        let layers = Layers {
            layers: vec![("metadata".into(), &own)],
        };
        let (found, conflicts) = read("tierplan.io/", ["sensitivity"], &layers, &BTreeMap::new());
        assert_eq!(found["sensitivity"].value, "restricted");
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].second.value, "public");
    }

    #[test]
    fn the_prefix_is_configurable() {
        let own = meta(&[("example.com/sensitivity", "internal")], &[]);
        let layers = Layers {
            layers: vec![("metadata".into(), &own)],
        };
        let (found, _) = read("example.com/", ["sensitivity"], &layers, &BTreeMap::new());
        assert_eq!(found["sensitivity"].value, "internal");
        let (found, _) = read(DEFAULT_PREFIX, ["sensitivity"], &layers, &BTreeMap::new());
        assert!(found.is_empty());
    }
}
