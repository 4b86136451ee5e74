//! Live clusters through kube-rs: reading what a cluster runs, read-only, into a
//! [`Snapshot`], and setting the planned pool label and taint on its nodes ([`apply`]).
//!
//! Owns every request tierplan sends to an API server, and the RBAC they need
//! (`examples/cluster/`). It never reads Secrets, never deletes, and sends nothing but GET
//! requests unless [`apply`] is asked to write.
//!
//! Reading: Nodes, Namespaces, the workload controllers, Pods, LimitRanges, RuntimeClasses,
//! and the ValidatingAdmissionPolicies and bindings (for `audit`). Every list is paginated
//! (`limit` + `continue`, as kubectl does, so that a large cluster is never one huge
//! response) and every request waits for the client-side rate limit ([`limit`]). What the
//! planner and the audit do not need is dropped as it is read: `metadata.managedFields`
//! everywhere, and `status` except a Node's (its `allocatable`) and a Pod's `phase`.
//! The objects come back as JSON values, each with `apiVersion` and `kind` (list items from
//! the API lack them), so that [`Snapshot::to_list`] is a `kind: List` file the importer
//! reads like any `kubectl get -o json` dump: a snapshot replays offline.

pub mod apply;
pub mod limit;

pub use apply::{apply, ApplyReport, NodeTarget};
pub use limit::{Limiter, RateLimit};

use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{LimitRange, Namespace, Node, Pod, ReplicationController};
use k8s_openapi::api::node::v1::RuntimeClass;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Debug;
use std::path::PathBuf;

/// The ClusterRole file to bind when the API server refuses a request.
pub const CLUSTER_ROLE_FILE: &str = "examples/cluster/clusterrole.yaml";

/// Why a cluster could not be read or written. Each message is whole, cause and fix
/// included.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No usable kubeconfig or in-cluster configuration.
    #[error("cannot configure the Kubernetes client{}: {error}\n  fix: check the kubeconfig (KUBECONFIG, ~/.kube/config) and the context name, or run inside a pod with a service account", context.as_deref().map(|c| format!(" for context `{c}`")).unwrap_or_default())]
    Config {
        /// The context asked for, if any.
        context: Option<String>,
        /// What kube said.
        error: String,
    },
    /// The API server refused a request for lack of RBAC permission (HTTP 403).
    #[error("forbidden: cannot {verb} {resource}{}: {message}\n  fix: bind the ClusterRole in {CLUSTER_ROLE_FILE} (or one granting `{verb}` on `{resource}`) to the identity of this kubeconfig context", namespace.as_deref().map(|n| format!(" in namespace `{n}`")).unwrap_or_else(|| " cluster-wide".into()))]
    Forbidden {
        /// The API verb (`list`, `get`, `patch`).
        verb: &'static str,
        /// `group/resource` (`apps/deployments`; core resources as `core/pods`).
        resource: String,
        /// The namespace of the request, if namespaced.
        namespace: Option<String>,
        /// The API server's message.
        message: String,
    },
    /// A node changed between tierplan's read and its write (HTTP 409).
    #[error("node `{node}` changed while tierplan was applying to it: {message}\n  fix: run `tierplan apply` again; it re-reads the node")]
    Conflict {
        /// The node.
        node: String,
        /// The API server's message.
        message: String,
    },
    /// Any other refusal by the API server.
    #[error("{verb} {resource}{}: the API server answered {code}: {message}", namespace.as_deref().map(|n| format!(" in namespace `{n}`")).unwrap_or_default())]
    Api {
        /// The API verb.
        verb: &'static str,
        /// `group/resource`.
        resource: String,
        /// The namespace of the request, if namespaced.
        namespace: Option<String>,
        /// The HTTP status code.
        code: u16,
        /// The API server's message.
        message: String,
    },
    /// The API server could not be reached, or its answer not read.
    #[error("{verb} {resource}: {error}\n  fix: check that the API server of the kubeconfig context is reachable")]
    Transport {
        /// The API verb.
        verb: &'static str,
        /// `group/resource`.
        resource: String,
        /// What kube said.
        error: String,
    },
    /// `apply` would remove a label or taint that tierplan does not own.
    #[error("{}", apply::refusal_text(refusals))]
    Refused {
        /// Every label and taint that would go, with its node.
        refusals: Vec<apply::Refusal>,
    },
}

/// How to reach the cluster.
#[derive(Debug, Clone, Default)]
pub struct Connect {
    /// A kubeconfig file; `None`: `KUBECONFIG`, `~/.kube/config`, else in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context; `None`: the current context.
    pub context: Option<String>,
}

/// A client for `connect`.
pub async fn client(connect: &Connect) -> Result<Client, ClusterError> {
    let config_error = |error: String| ClusterError::Config {
        context: connect.context.clone(),
        error,
    };
    let options = KubeConfigOptions {
        context: connect.context.clone(),
        ..Default::default()
    };
    let config = match (&connect.kubeconfig, &connect.context) {
        (Some(path), _) => {
            let kubeconfig =
                Kubeconfig::read_from(path).map_err(|e| config_error(error_chain(&e)))?;
            Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| config_error(error_chain(&e)))?
        }
        (None, Some(_)) => Config::from_kubeconfig(&options)
            .await
            .map_err(|e| config_error(error_chain(&e)))?,
        (None, None) => Config::infer()
            .await
            .map_err(|e| config_error(error_chain(&e)))?,
    };
    Client::try_from(config).map_err(|e| config_error(error_chain(&e)))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        s.push_str(": ");
        s.push_str(&c.to_string());
        source = c.source();
    }
    s
}

/// What to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Namespaces to read; empty: all.
    pub namespaces: Vec<String>,
    /// A label selector for workloads and Pods (not Nodes, Namespaces, LimitRanges,
    /// RuntimeClasses or admission objects, which a workload's labels say nothing about).
    pub selector: Option<String>,
    /// Items per page of a list.
    pub page_size: u32,
    /// The client-side rate limit.
    pub rate: RateLimit,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            namespaces: Vec::new(),
            selector: None,
            // kubectl's page size (`--chunk-size` default).
            page_size: 500,
            rate: RateLimit::default(),
        }
    }
}

/// What was read from a cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The objects, each with `apiVersion` and `kind`, in the order of [`KINDS`], then by
    /// namespace and name.
    pub objects: Vec<Value>,
    /// Resources the cluster does not serve (HTTP 404), as `group/resource`: left out, not
    /// an error (an old cluster has no `admissionregistration.k8s.io/v1` policies).
    pub not_served: Vec<String>,
    /// Namespaces asked for that do not exist.
    pub missing_namespaces: Vec<String>,
}

impl Snapshot {
    /// The snapshot as one `kind: List`, as `kubectl get -o json` prints several kinds: what
    /// `import --cluster --snapshot FILE` saves and the importer reads back.
    pub fn to_list(&self) -> Value {
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": self.objects,
        })
    }

    /// How many objects of `kind` were read.
    pub fn count(&self, kind: &str) -> usize {
        self.objects
            .iter()
            .filter(|o| o.get("kind").and_then(Value::as_str) == Some(kind))
            .count()
    }
}

/// The kinds read, in the snapshot's order.
pub const KINDS: [&str; 14] = [
    "Namespace",
    "Node",
    "RuntimeClass",
    "LimitRange",
    "Deployment",
    "StatefulSet",
    "ReplicaSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicationController",
    "Pod",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
];

/// One API resource, for messages: `group/resource`.
fn resource_name<K: kube::Resource<DynamicType = ()>>() -> String {
    let group = K::group(&());
    let group = if group.is_empty() {
        "core".to_string()
    } else {
        group.into_owned()
    };
    format!("{group}/{}", K::plural(&()))
}

/// Turns a kube error of `verb` on `K` into a [`ClusterError`].
pub(crate) fn api_error<K: kube::Resource<DynamicType = ()>>(
    error: kube::Error,
    verb: &'static str,
    namespace: Option<&str>,
) -> ClusterError {
    let resource = resource_name::<K>();
    match error {
        kube::Error::Api(status) if status.code == 403 => ClusterError::Forbidden {
            verb,
            resource,
            namespace: namespace.map(str::to_string),
            message: status.message,
        },
        kube::Error::Api(status) => ClusterError::Api {
            verb,
            resource,
            namespace: namespace.map(str::to_string),
            code: status.code,
            message: status.message,
        },
        other => ClusterError::Transport {
            verb,
            resource,
            error: error_chain(&other),
        },
    }
}

/// Reads the cluster: every kind of [`KINDS`], read-only.
pub async fn read(client: &Client, options: &ReadOptions) -> Result<Snapshot, ClusterError> {
    let reader = Reader {
        client,
        options,
        limiter: Limiter::new(options.rate),
    };
    let mut snapshot = Snapshot::default();
    reader.namespaces(&mut snapshot).await?;
    reader.cluster::<Node>(&mut snapshot).await?;
    reader.cluster::<RuntimeClass>(&mut snapshot).await?;
    reader
        .namespaced::<LimitRange>(&mut snapshot, false)
        .await?;
    reader.namespaced::<Deployment>(&mut snapshot, true).await?;
    reader
        .namespaced::<StatefulSet>(&mut snapshot, true)
        .await?;
    reader.namespaced::<ReplicaSet>(&mut snapshot, true).await?;
    reader.namespaced::<DaemonSet>(&mut snapshot, true).await?;
    reader.namespaced::<Job>(&mut snapshot, true).await?;
    reader.namespaced::<CronJob>(&mut snapshot, true).await?;
    reader
        .namespaced::<ReplicationController>(&mut snapshot, true)
        .await?;
    reader.namespaced::<Pod>(&mut snapshot, true).await?;
    reader
        .cluster::<ValidatingAdmissionPolicy>(&mut snapshot)
        .await?;
    reader
        .cluster::<ValidatingAdmissionPolicyBinding>(&mut snapshot)
        .await?;
    sort(&mut snapshot.objects);
    Ok(snapshot)
}

/// Sorts objects by kind (in [`KINDS`] order), namespace and name.
fn sort(objects: &mut [Value]) {
    let key = |o: &Value| {
        let kind = o.get("kind").and_then(Value::as_str).unwrap_or_default();
        let rank = KINDS.iter().position(|k| *k == kind).unwrap_or(KINDS.len());
        let meta = |f: &str| {
            o.pointer(&format!("/metadata/{f}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        (rank, meta("namespace"), meta("name"))
    };
    objects.sort_by_cached_key(key);
}

struct Reader<'a> {
    client: &'a Client,
    options: &'a ReadOptions,
    limiter: Limiter,
}

/// What a list gave: the objects, or `None` when the resource is not served.
type Listed = Option<Vec<Value>>;

impl Reader<'_> {
    /// Namespaces: all of them, or each one asked for (a `get`, so that reading a few
    /// namespaces needs no cluster-wide list permission on namespaces).
    async fn namespaces(&self, snapshot: &mut Snapshot) -> Result<(), ClusterError> {
        if self.options.namespaces.is_empty() {
            return self.cluster::<Namespace>(snapshot).await;
        }
        let api: Api<Namespace> = Api::all(self.client.clone());
        let mut wanted = self.options.namespaces.clone();
        wanted.sort();
        wanted.dedup();
        for name in wanted {
            self.limiter.acquire().await;
            match api.get_opt(&name).await {
                Ok(Some(ns)) => snapshot.objects.push(to_value(&ns)),
                Ok(None) => snapshot.missing_namespaces.push(name),
                Err(e) => return Err(api_error::<Namespace>(e, "get", None)),
            }
        }
        Ok(())
    }

    async fn cluster<K>(&self, snapshot: &mut Snapshot) -> Result<(), ClusterError>
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::ClusterResourceScope>
            + Clone
            + DeserializeOwned
            + Serialize
            + Debug,
    {
        let listed = self
            .list::<K>(Api::all(self.client.clone()), None, None)
            .await?;
        self.take::<K>(snapshot, listed);
        Ok(())
    }

    async fn namespaced<K>(
        &self,
        snapshot: &mut Snapshot,
        selected: bool,
    ) -> Result<(), ClusterError>
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Serialize
            + Debug,
    {
        let selector = if selected {
            self.options.selector.as_deref()
        } else {
            None
        };
        if self.options.namespaces.is_empty() {
            let listed = self
                .list::<K>(Api::all(self.client.clone()), None, selector)
                .await?;
            self.take::<K>(snapshot, listed);
            return Ok(());
        }
        let mut wanted = self.options.namespaces.clone();
        wanted.sort();
        wanted.dedup();
        for ns in wanted {
            let api = Api::namespaced(self.client.clone(), &ns);
            let listed = self.list::<K>(api, Some(&ns), selector).await?;
            let served = listed.is_some();
            self.take::<K>(snapshot, listed);
            if !served {
                break;
            }
        }
        Ok(())
    }

    fn take<K: kube::Resource<DynamicType = ()>>(&self, snapshot: &mut Snapshot, listed: Listed) {
        match listed {
            Some(objects) => snapshot.objects.extend(objects),
            None => {
                let name = resource_name::<K>();
                if !snapshot.not_served.contains(&name) {
                    snapshot.not_served.push(name);
                }
            }
        }
    }

    /// Every page of one list.
    async fn list<K>(
        &self,
        api: Api<K>,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Listed, ClusterError>
    where
        K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
    {
        let mut out = Vec::new();
        let mut params = ListParams {
            limit: Some(self.options.page_size.max(1)),
            label_selector: selector.map(str::to_string),
            ..Default::default()
        };
        loop {
            self.limiter.acquire().await;
            let page = match api.list(&params).await {
                Ok(page) => page,
                Err(kube::Error::Api(status)) if status.code == 404 => return Ok(None),
                // A continue token expires after a few minutes (410 Gone, reason Expired):
                // as client-go's pager does by default (tools/pager, `FullListIfExpired`),
                // drop the pages read and list once more, unpaginated.
                Err(kube::Error::Api(status))
                    if status.code == 410 && params.continue_token.is_some() =>
                {
                    out.clear();
                    params.continue_token = None;
                    params.limit = None;
                    continue;
                }
                Err(e) => return Err(api_error::<K>(e, "list", namespace)),
            };
            out.extend(page.items.iter().map(to_value));
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params.continue_token = Some(token),
                None => return Ok(Some(out)),
            }
        }
    }
}

/// An object as JSON with `apiVersion` and `kind` set and what tierplan never needs
/// dropped: `managedFields`, and `status` except a Node's and a Pod's `phase`.
pub(crate) fn to_value<K>(object: &K) -> Value
where
    K: kube::Resource<DynamicType = ()> + Serialize,
{
    let mut value = serde_json::to_value(object).expect("k8s-openapi objects serialise");
    let Some(map) = value.as_object_mut() else {
        return value;
    };
    map.insert("apiVersion".into(), K::api_version(&()).into_owned().into());
    map.insert("kind".into(), K::kind(&()).into_owned().into());
    if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    match K::kind(&()).as_ref() {
        "Node" => {}
        "Pod" => {
            let phase = map.get("status").and_then(|s| s.get("phase")).cloned();
            map.remove("status");
            if let Some(phase) = phase {
                map.insert("status".into(), serde_json::json!({ "phase": phase }));
            }
        }
        _ => {
            map.remove("status");
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_carry_their_kind_and_lose_managed_fields_and_workload_status() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "n",
                "managedFields": [{"manager": "kubectl", "operation": "Update"}]},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1"}
        }))
        .unwrap();
        let v = to_value(&pod);
        assert_eq!(v["apiVersion"], "v1");
        assert_eq!(v["kind"], "Pod");
        assert!(v["metadata"].get("managedFields").is_none());
        assert_eq!(v["status"], serde_json::json!({"phase": "Running"}));
        let d: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "d"}, "status": {"replicas": 3}
        }))
        .unwrap();
        let v = to_value(&d);
        assert_eq!(
            (v["apiVersion"].as_str(), v["kind"].as_str()),
            (Some("apps/v1"), Some("Deployment"))
        );
        assert!(v.get("status").is_none());
    }

    #[test]
    fn a_snapshot_sorts_by_kind_namespace_and_name_and_lists_as_kind_list() {
        let mut objects = vec![
            serde_json::json!({"kind": "Pod", "metadata": {"name": "b", "namespace": "x"}}),
            serde_json::json!({"kind": "Pod", "metadata": {"name": "a", "namespace": "x"}}),
            serde_json::json!({"kind": "Node", "metadata": {"name": "z"}}),
        ];
        sort(&mut objects);
        let names: Vec<&str> = objects
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["z", "a", "b"]);
        let s = Snapshot {
            objects,
            ..Default::default()
        };
        assert_eq!(s.to_list()["kind"], "List");
        assert_eq!(s.count("Pod"), 2);
    }
}
