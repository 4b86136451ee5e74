//! Kubernetes objects as input: manifests in git, `kubectl get -o yaml|json` dumps and
//! snapshots of live clusters, read beside tierplan documents and turned into them.
//!
//! [`objects`] types what was read (k8s-openapi), [`requests`] computes each pod's requests
//! as the scheduler does, [`tier`] reads tier attributes from labels and annotations, and
//! [`translate`] makes Workload and Node documents (and the Policy's system DaemonSets) of
//! them, every value annotated with where it came from.

pub mod objects;
pub mod requests;
pub mod tier;
pub mod translate;

use super::diag::Diagnostic;
use super::load::RawDocument;
use super::wire::{Metadata, PolicyDoc, PolicySpec, Quantity, API_VERSION};
use super::Documents;
use crate::quantity::{self, Unit};

/// Reads the Kubernetes objects of `raw` and adds what they describe to `docs`: Workloads,
/// Nodes, and the Policy's system DaemonSets and DaemonSet overhead (a Policy is made when
/// the input has none). The Policy's own entries win over what was read.
pub fn add(docs: &mut Documents, raw: Vec<RawDocument>, diags: &mut Vec<Diagnostic>) {
    let objects = objects::read(raw, diags);
    let imported =
        translate::translate(&objects, docs.policies.first().map(|(_, p)| &p.spec), diags);
    if imported.rejected_workloads {
        docs.rejected_kinds.insert("Workload");
    }
    docs.workloads.extend(imported.workloads);
    docs.nodes.extend(imported.nodes);
    let daemons = !imported.system_daemon_sets.is_empty() || !imported.daemon_overhead.is_empty();
    if daemons && docs.policies.is_empty() {
        let origin = imported
            .system_daemon_sets
            .first()
            .map(|(o, _)| o.clone())
            .or_else(|| objects.pod_sets.first().map(|p| p.at.origin.clone()))
            .expect("DaemonSets were read");
        docs.policies.push((
            origin,
            PolicyDoc {
                api_version: API_VERSION.into(),
                kind: "Policy".into(),
                metadata: Metadata {
                    name: "imported".into(),
                    ..Metadata::default()
                },
                spec: PolicySpec::default(),
            },
        ));
    }
    if let Some((_, policy)) = docs.policies.first_mut() {
        let spec = &mut policy.spec;
        for (_, ds) in imported.system_daemon_sets {
            let ns = |n: &Option<String>| n.clone().unwrap_or_else(|| "kube-system".into());
            let listed = spec
                .system_daemon_sets
                .iter()
                .any(|d| d.name == ds.name && ns(&d.namespace) == ns(&ds.namespace));
            if !listed {
                spec.system_daemon_sets.push(ds);
            }
        }
        for (resource, amount) in imported.daemon_overhead {
            let unit = Unit::for_resource(&resource);
            let entry = spec
                .node_overhead
                .entry(resource)
                .or_insert_with(|| Quantity(quantity::format(0, unit)));
            // A declared overhead that does not parse is left for the model to report.
            if let Ok(declared) = quantity::parse(&entry.0, unit) {
                *entry = Quantity(quantity::format(declared.saturating_add(amount), unit));
            }
        }
    }
    docs.kubernetes = Some(imported.summary);
}
