//! Pods rolled up to the object people manage: Pod → ReplicaSet → Deployment (Job →
//! CronJob, …) through controller `ownerReferences`, as far as the input holds the owners.

use crate::input::k8s::objects::{self, Objects};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

/// Owner chains longer than this are cycles in a hand-edited dump, not real controllers.
const MAX_DEPTH: usize = 8;

/// The top owner of a pod.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Owner {
    /// Its kind (`Pod` for a pod that nothing owns).
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Whether the owner object is in the input (else only an ownerReference names it).
    pub present: bool,
}

impl Owner {
    /// `Kind/namespace/name`: one key per owner.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// Finds owners by kind, namespace and name.
pub struct Index<'a> {
    objects: &'a Objects,
    by_key: BTreeMap<(&'a str, &'a str, &'a str), usize>,
}

impl<'a> Index<'a> {
    /// Indexes the controllers of `objects` (not the Pods).
    pub fn new(objects: &'a Objects) -> Self {
        let by_key = objects
            .pod_sets
            .iter()
            .enumerate()
            .filter(|(_, p)| p.kind != "Pod")
            .map(|(i, p)| {
                (
                    (p.kind, objects::namespace(&p.meta), objects::name(&p.meta)),
                    i,
                )
            })
            .collect();
        Index { objects, by_key }
    }

    /// The pod's top owner and the `pod_sets` indices of the owners found on the way, nearest
    /// first. A pod owned by its Node (a static pod's mirror) is its own owner.
    pub fn rollup(&self, pod: &ObjectMeta) -> (Owner, Vec<usize>) {
        let namespace = objects::namespace(pod).to_string();
        let mut chain = Vec::new();
        let mut meta = pod;
        let mut top = Owner {
            kind: "Pod".into(),
            namespace: namespace.clone(),
            name: objects::name(pod).to_string(),
            present: true,
        };
        for _ in 0..MAX_DEPTH {
            let Some(r) = meta
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.controller == Some(true) && o.kind != "Node")
            else {
                break;
            };
            match self
                .by_key
                .get(&(r.kind.as_str(), namespace.as_str(), r.name.as_str()))
            {
                Some(&i) => {
                    chain.push(i);
                    meta = &self.objects.pod_sets[i].meta;
                    top = Owner {
                        kind: r.kind.clone(),
                        namespace: namespace.clone(),
                        name: r.name.clone(),
                        present: true,
                    };
                }
                None => {
                    top = Owner {
                        kind: r.kind.clone(),
                        namespace: namespace.clone(),
                        name: r.name.clone(),
                        present: false,
                    };
                    break;
                }
            }
        }
        (top, chain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(text: &str) -> Objects {
        let mut diags = Vec::new();
        let raw = crate::input::load::parse_documents(
            &std::path::PathBuf::from("in.yaml"),
            text.as_bytes(),
            &mut Default::default(),
            &mut diags,
        );
        let o = objects::read(raw, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        o
    }

    const OWNED: &str = "apiVersion: v1\nkind: List\nitems:\n\
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop}, spec: {selector: {}, template: {}}}\n\
- {apiVersion: apps/v1, kind: ReplicaSet, metadata: {name: web-5d8f, namespace: shop, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u1, controller: true}]}, spec: {selector: {}}}\n\
- {apiVersion: v1, kind: Pod, metadata: {name: web-5d8f-x1, namespace: shop, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: u2, controller: true}]}}\n\
- {apiVersion: v1, kind: Pod, metadata: {name: job-x, namespace: shop, ownerReferences: [{apiVersion: batch/v1, kind: Job, name: nightly, uid: u3, controller: true}]}}\n\
- {apiVersion: v1, kind: Pod, metadata: {name: kube-apiserver-n1, namespace: kube-system, ownerReferences: [{apiVersion: v1, kind: Node, name: n1, uid: u4, controller: true}]}}\n";

    #[test]
    fn pods_roll_up_to_deployments_and_absent_owners_by_reference() {
        let o = objects(OWNED);
        let index = Index::new(&o);
        let owner = |i: usize| index.rollup(&o.pods[i].object.metadata);
        let (top, chain) = owner(0);
        assert_eq!(top.key(), "Deployment/shop/web");
        assert!(top.present);
        assert_eq!(chain.len(), 2);
        let (top, chain) = owner(1);
        assert_eq!((top.key(), top.present), ("Job/shop/nightly".into(), false));
        assert!(chain.is_empty());
        // A static pod's mirror names its Node: it stands for itself.
        assert_eq!(owner(2).0.key(), "Pod/kube-system/kube-apiserver-n1");
    }
}
