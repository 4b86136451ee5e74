//! The kube paths against a loopback HTTP server that replays recorded API JSON and records
//! the requests it receives: no API server can run on these machines. The Nodes are the real
//! NodeList of `../shared/realworld/troubleshoot-nodes/nodes.json`, read in place.
//!
//! `real_cluster` (ignored) runs against the cluster of the current kubeconfig context, e.g.
//! kind or k3d: see README, Live clusters.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tierplan::cluster::{self, ClusterError, NodeTarget, RateLimit, ReadOptions};
use tierplan::emit::{POOL_LABEL, POOL_TAINT_KEY};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request the server received.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    /// Path without the query.
    path: String,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    body: String,
}

type Handler = dyn Fn(&Request) -> (u16, Value) + Send + Sync;

/// A loopback API server: answers each request with `handler`, one request per connection.
struct Server {
    requests: Arc<Mutex<Vec<Request>>>,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Server {
    async fn start(handler: impl Fn(&Request) -> (u16, Value) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let seen = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut stream).await else {
                        return;
                    };
                    seen.lock().unwrap().push(request.clone());
                    let (code, body) = handler(&request);
                    let body = body.to_string();
                    let head = format!(
                        "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: loopback\n  cluster:\n    server: http://127.0.0.1:{port}\nusers:\n- name: tester\n  user: {{}}\ncontexts:\n- name: loopback\n  context:\n    cluster: loopback\n    user: tester\ncurrent-context: loopback\n"
            ),
        )
        .unwrap();
        Server {
            requests,
            _dir: dir,
            kubeconfig,
        }
    }

    async fn client(&self) -> kube::Client {
        cluster::client(&cluster::Connect {
            kubeconfig: Some(self.kubeconfig.clone()),
            context: Some("loopback".into()),
        })
        .await
        .unwrap()
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter(|q| !q.is_empty())
        .map(|q| {
            let (k, v) = q.split_once('=').unwrap_or((q, ""));
            (k.to_string(), decode(v))
        })
        .collect();
    Some(Request {
        method,
        path: path.to_string(),
        query,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    })
}

/// Percent-decoding of a query value.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// The real NodeList, read from the shared folder beside the repository.
fn real_nodes() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/realworld/troubleshoot-nodes/nodes.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn list(kind: &str, api_version: &str, items: Vec<Value>, next: Option<&str>) -> Value {
    let mut metadata = json!({"resourceVersion": "27195722"});
    if let Some(token) = next {
        metadata["continue"] = json!(token);
        metadata["remainingItemCount"] = json!(3);
    }
    json!({"kind": kind, "apiVersion": api_version, "metadata": metadata, "items": items})
}

/// A DeploymentList as `GET /apis/apps/v1/deployments` answers it: items without `kind`,
/// with managedFields and status.
fn deployments() -> Value {
    list(
        "DeploymentList",
        "apps/v1",
        vec![json!({
            "metadata": {"name": "frontend", "namespace": "shop", "uid": "0b1c", "resourceVersion": "912",
                "generation": 3, "labels": {"app": "frontend"},
                "annotations": {"deployment.kubernetes.io/revision": "3"},
                "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update",
                    "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "frontend"}},
                "template": {"metadata": {"labels": {"app": "frontend"}},
                    "spec": {"containers": [{"name": "server",
                        "image": "us-central1-docker.pkg.dev/google-samples/microservices-demo/frontend:v0.10.1",
                        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                      "limits": {"cpu": "200m", "memory": "128Mi"}}}]}}},
            "status": {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3}
        })],
        None,
    )
}

fn pods() -> Value {
    list(
        "PodList",
        "v1",
        vec![json!({
            "metadata": {"name": "frontend-7d9c-abcde", "namespace": "shop", "labels": {"app": "frontend"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "frontend-7d9c",
                    "uid": "77aa", "controller": true}],
                "managedFields": [{"manager": "kube-controller-manager", "operation": "Update"}]},
            "spec": {"nodeName": "repldev-marc", "containers": [{"name": "server", "image": "frontend:v0.10.1"}]},
            "status": {"phase": "Running", "podIP": "10.1.2.3", "hostIP": "10.168.0.26"}
        })],
        None,
    )
}

/// The recorded cluster: two pages of Nodes, a Deployment, a Pod, two Namespaces, no
/// admission policy API (404), and `forbid` answering 403.
fn recorded(forbid: &'static str) -> impl Fn(&Request) -> (u16, Value) + Send + Sync {
    let nodes = real_nodes();
    move |r: &Request| {
        if r.path.contains(forbid) {
            return (
                403,
                status(403, "Forbidden", "cronjobs.batch is forbidden: User \"system:serviceaccount:tools:tierplan\" cannot list resource \"cronjobs\" in API group \"batch\" at the cluster scope"),
            );
        }
        let items = nodes["items"].as_array().unwrap();
        let path = r.path.as_str();
        match path {
            "/api/v1/nodes" => match r.query.get("continue").map(String::as_str) {
                None => (
                    200,
                    list("NodeList", "v1", items[..4].to_vec(), Some("page-2-token")),
                ),
                Some("page-2-token") => (200, list("NodeList", "v1", items[4..].to_vec(), None)),
                Some(other) => (410, status(410, "Expired", &format!("bad token {other}"))),
            },
            "/api/v1/namespaces" => (
                200,
                list(
                    "NamespaceList",
                    "v1",
                    vec![
                        json!({"metadata": {"name": "shop", "labels": {"tierplan.io/sensitivity": "internal"}}, "status": {"phase": "Active"}}),
                        json!({"metadata": {"name": "kube-system"}, "status": {"phase": "Active"}}),
                    ],
                    None,
                ),
            ),
            "/api/v1/namespaces/shop" => (
                200,
                json!({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "shop"}}),
            ),
            p if p.starts_with("/api/v1/namespaces/") && p.matches('/').count() == 4 => {
                (404, status(404, "NotFound", "namespaces not found"))
            }
            p if p.ends_with("/deployments") => (200, deployments()),
            p if p.ends_with("/pods") => (200, pods()),
            p if p.starts_with("/apis/admissionregistration.k8s.io/") => (
                404,
                status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            ),
            p => {
                let kind = p.rsplit('/').next().unwrap();
                (200, list(&format!("{kind}List"), "v1", vec![], None))
            }
        }
    }
}

fn options(namespaces: &[&str], selector: Option<&str>) -> ReadOptions {
    ReadOptions {
        namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
        selector: selector.map(str::to_string),
        page_size: 4,
        // Fast, but still through the limiter.
        rate: RateLimit {
            per_second: 1000.0,
            burst: 100,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_every_kind_paginated_with_the_selector_on_workloads_only() {
    let server = Server::start(recorded("never")).await;
    let client = server.client().await;
    let snapshot = cluster::read(&client, &options(&[], Some("app=frontend")))
        .await
        .unwrap();
    // Both pages of the real NodeList, every node with its kind and its status (allocatable).
    assert_eq!(snapshot.count("Node"), 7);
    for node in snapshot.objects.iter().filter(|o| o["kind"] == "Node") {
        assert_eq!(node["apiVersion"], "v1");
        assert!(node["status"]["allocatable"]["pods"].is_string(), "{node}");
    }
    assert_eq!(snapshot.count("Namespace"), 2);
    let deployment = snapshot
        .objects
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .unwrap();
    assert_eq!(deployment["apiVersion"], "apps/v1");
    assert!(deployment.get("status").is_none());
    assert!(deployment["metadata"].get("managedFields").is_none());
    let pod = snapshot
        .objects
        .iter()
        .find(|o| o["kind"] == "Pod")
        .unwrap();
    assert_eq!(pod["status"], json!({"phase": "Running"}));
    assert_eq!(pod["spec"]["nodeName"], "repldev-marc");
    // No admission policy API: said, not fatal.
    assert_eq!(
        snapshot.not_served,
        [
            "admissionregistration.k8s.io/validatingadmissionpolicies",
            "admissionregistration.k8s.io/validatingadmissionpolicybindings"
        ]
    );
    // The snapshot is a kind: List file, in a stable order: namespaces first, then nodes.
    let listed = snapshot.to_list();
    assert_eq!(listed["kind"], "List");
    assert_eq!(listed["items"][0]["kind"], "Namespace");
    assert_eq!(listed["items"][2]["kind"], "Node");

    let requests = server.requests();
    assert!(requests.iter().all(|r| r.method == "GET"), "read-only");
    assert!(requests.iter().all(|r| !r.path.contains("secrets")));
    let nodes: Vec<&Request> = requests
        .iter()
        .filter(|r| r.path == "/api/v1/nodes")
        .collect();
    assert_eq!(nodes.len(), 2, "two pages");
    assert_eq!(nodes[0].query.get("limit").map(String::as_str), Some("4"));
    assert_eq!(nodes[0].query.get("continue"), None);
    assert_eq!(
        nodes[1].query.get("continue").map(String::as_str),
        Some("page-2-token")
    );
    for r in &requests {
        let selected = r.query.get("labelSelector").map(String::as_str);
        let workload = [
            "deployments",
            "statefulsets",
            "replicasets",
            "daemonsets",
            "jobs",
            "cronjobs",
            "replicationcontrollers",
            "pods",
        ]
        .iter()
        .any(|k| r.path.ends_with(&format!("/{k}")));
        if workload {
            assert_eq!(selected, Some("app=frontend"), "{}", r.path);
        } else {
            assert_eq!(selected, None, "{}", r.path);
        }
        assert!(r.query.contains_key("limit"), "{} is paginated", r.path);
    }
    for path in [
        "/apis/apps/v1/deployments",
        "/apis/apps/v1/statefulsets",
        "/apis/apps/v1/replicasets",
        "/apis/apps/v1/daemonsets",
        "/apis/batch/v1/jobs",
        "/apis/batch/v1/cronjobs",
        "/api/v1/replicationcontrollers",
        "/api/v1/pods",
        "/api/v1/limitranges",
        "/apis/node.k8s.io/v1/runtimeclasses",
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
    ] {
        assert!(requests.iter().any(|r| r.path == path), "{path} was read");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_only_the_namespaces_asked_for() {
    let server = Server::start(recorded("never")).await;
    let client = server.client().await;
    let snapshot = cluster::read(&client, &options(&["shop", "gone"], None))
        .await
        .unwrap();
    assert_eq!(snapshot.count("Namespace"), 1);
    assert_eq!(snapshot.missing_namespaces, ["gone"]);
    let requests = server.requests();
    assert!(requests
        .iter()
        .any(|r| r.path == "/apis/apps/v1/namespaces/shop/deployments"));
    assert!(requests
        .iter()
        .any(|r| r.path == "/api/v1/namespaces/gone/pods"));
    assert!(!requests
        .iter()
        .any(|r| r.path == "/apis/apps/v1/deployments"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_names_the_verb_resource_and_namespace_and_the_fix() {
    let server = Server::start(recorded("cronjobs")).await;
    let client = server.client().await;
    let error = cluster::read(&client, &options(&[], None))
        .await
        .unwrap_err();
    match &error {
        ClusterError::Forbidden {
            verb,
            resource,
            namespace,
            ..
        } => {
            assert_eq!(
                (*verb, resource.as_str(), namespace),
                ("list", "batch/cronjobs", &None)
            );
        }
        other => panic!("not a 403: {other:?}"),
    }
    let text = error.to_string();
    assert!(
        text.contains("cannot list batch/cronjobs cluster-wide"),
        "{text}"
    );
    assert!(text.contains("examples/cluster/clusterrole.yaml"), "{text}");
    let error = cluster::read(&client, &options(&["shop"], None))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("cannot list batch/cronjobs in namespace `shop`"),
        "{error}"
    );
}

/// A node server for apply: GET answers `node`, PATCH answers the node with the apply
/// configuration merged (labels by key, the taint list whole), as the API server would.
fn node_server(node: Value) -> impl Fn(&Request) -> (u16, Value) + Send + Sync {
    move |r: &Request| {
        let name = node["metadata"]["name"].as_str().unwrap();
        if r.path != format!("/api/v1/nodes/{name}") {
            return (404, status(404, "NotFound", "nodes not found"));
        }
        match r.method.as_str() {
            "GET" => (200, node.clone()),
            "PATCH" => {
                let patch: Value = serde_json::from_str(&r.body).unwrap();
                let mut after = node.clone();
                if let Some(labels) = patch["metadata"]["labels"].as_object() {
                    for (k, v) in labels {
                        after["metadata"]["labels"][k] = v.clone();
                    }
                }
                if let Some(taints) = patch["spec"].get("taints") {
                    after["spec"]["taints"] = taints.clone();
                }
                (200, after)
            }
            _ => (405, status(405, "MethodNotAllowed", "no")),
        }
    }
}

fn real_node(index: usize) -> Value {
    let mut node = real_nodes()["items"][index].clone();
    node["spec"]["taints"] = json!([
        {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2019-11-08T17:03:39Z"}
    ]);
    node
}

fn fast() -> RateLimit {
    RateLimit {
        per_second: 1000.0,
        burst: 100,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_dry_runs_by_default_and_shows_the_diff() {
    let node = real_node(0);
    let name = node["metadata"]["name"].as_str().unwrap().to_string();
    let server = Server::start(node_server(node)).await;
    let client = server.client().await;
    let targets = [
        NodeTarget {
            node: name.clone(),
            pool: Some("pool-1".into()),
        },
        NodeTarget {
            node: "not-in-the-cluster".into(),
            pool: Some("pool-1".into()),
        },
    ];
    let report = cluster::apply(&client, &targets, false, fast())
        .await
        .unwrap();
    assert!(!report.written);
    assert_eq!(report.missing, ["not-in-the-cluster"]);
    assert_eq!(report.changed.len(), 1);
    let diff = &report.changed[0];
    assert_eq!(
        diff.labels
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [format!("+ {POOL_LABEL}=pool-1")]
    );
    assert_eq!(
        diff.taints
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [format!("+ {POOL_TAINT_KEY}=pool-1:NoSchedule")]
    );
    let patches: Vec<Request> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 1);
    let patch = &patches[0];
    // Server-side apply, dry run: nothing written.
    assert_eq!(patch.query.get("dryRun").map(String::as_str), Some("All"));
    assert_eq!(
        patch.query.get("fieldManager").map(String::as_str),
        Some("tierplan")
    );
    assert_eq!(patch.query.get("force").map(String::as_str), Some("true"));
    assert_eq!(
        patch.headers.get("content-type").map(String::as_str),
        Some("application/apply-patch+yaml")
    );
    let body: Value = serde_json::from_str(&patch.body).unwrap();
    assert_eq!(
        (body["apiVersion"].as_str(), body["kind"].as_str()),
        (Some("v1"), Some("Node"))
    );
    // Guarded by the version read, and the controller's NoExecute taint kept as read.
    assert_eq!(body["metadata"]["resourceVersion"], "1769699");
    assert_eq!(
        body["spec"]["taints"][0]["key"],
        "node.kubernetes.io/unreachable"
    );
    assert_eq!(
        body["spec"]["taints"][0]["timeAdded"],
        "2019-11-08T17:03:39Z"
    );
    assert_eq!(body["spec"]["taints"][1]["value"], "pool-1");
    assert!(body.get("status").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_with_yes_sends_the_apply_for_real() {
    let node = real_node(1);
    let name = node["metadata"]["name"].as_str().unwrap().to_string();
    let server = Server::start(node_server(node)).await;
    let client = server.client().await;
    let targets = [NodeTarget {
        node: name,
        pool: Some("pool-2".into()),
    }];
    let report = cluster::apply(&client, &targets, true, fast())
        .await
        .unwrap();
    assert!(report.written);
    let patch = server
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(patch.query.get("dryRun"), None);
    assert_eq!(
        patch.query.get("fieldManager").map(String::as_str),
        Some("tierplan")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_refuses_to_remove_a_label_or_taint_it_does_not_own() {
    let mut node = real_node(2);
    let name = node["metadata"]["name"].as_str().unwrap().to_string();
    node["metadata"]["labels"][POOL_LABEL] = json!("old-pool");
    node["spec"]["taints"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": POOL_TAINT_KEY, "value": "old-pool", "effect": "NoSchedule"}));
    node["metadata"]["managedFields"] = json!([
        {"manager": "kubectl-label", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": {"f:labels": {format!("f:{POOL_LABEL}"): {}}}}},
        {"manager": "kubectl-taint", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:spec": {"f:taints": {}}}}
    ]);
    let server = Server::start(node_server(node)).await;
    let client = server.client().await;
    let targets = [NodeTarget {
        node: name.clone(),
        pool: None,
    }];
    let error = cluster::apply(&client, &targets, true, fast())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains(&format!(
            "node `{name}`: label `{POOL_LABEL}=old-pool` (owned by kubectl-label (Update))"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("node `{name}`: taint `{POOL_TAINT_KEY}=old-pool:NoSchedule` (owned by kubectl-taint (Update))")),
        "{text}"
    );
    assert!(
        server.requests().iter().all(|r| r.method == "GET"),
        "nothing is sent after a refusal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_removes_what_tierplan_owns_and_leaves_an_unchanged_node_alone() {
    let mut owned = real_node(3);
    let owned_name = owned["metadata"]["name"].as_str().unwrap().to_string();
    owned["metadata"]["labels"][POOL_LABEL] = json!("old-pool");
    owned["spec"]["taints"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": POOL_TAINT_KEY, "value": "old-pool", "effect": "NoSchedule"}));
    owned["metadata"]["managedFields"] = json!([
        {"manager": "tierplan", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": {"f:labels": {format!("f:{POOL_LABEL}"): {}}}, "f:spec": {"f:taints": {}}}}
    ]);
    let server = Server::start(node_server(owned)).await;
    let client = server.client().await;
    let report = cluster::apply(
        &client,
        &[NodeTarget {
            node: owned_name,
            pool: None,
        }],
        false,
        fast(),
    )
    .await
    .unwrap();
    let patch = server
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    let body: Value = serde_json::from_str(&patch.body).unwrap();
    // The label is left out (so SSA removes it), the taint list sent without the pool taint.
    assert!(body["metadata"].get("labels").is_none(), "{body}");
    assert_eq!(body["spec"]["taints"].as_array().unwrap().len(), 1);
    // The fake server merges labels only, so it keeps the label: the report says it stays.
    let diff = &report.changed[0];
    assert_eq!(
        diff.taints
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [format!("- {POOL_TAINT_KEY}=old-pool:NoSchedule")]
    );
    assert!(diff.notes[0].contains("stays"), "{:?}", diff.notes);

    // A node that already carries its pool label and taint gets no request.
    let mut done = real_node(4);
    let done_name = done["metadata"]["name"].as_str().unwrap().to_string();
    done["metadata"]["labels"][POOL_LABEL] = json!("pool-1");
    done["spec"]["taints"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": POOL_TAINT_KEY, "value": "pool-1", "effect": "NoSchedule"}));
    let server = Server::start(node_server(done)).await;
    let client = server.client().await;
    let report = cluster::apply(
        &client,
        &[NodeTarget {
            node: done_name.clone(),
            pool: Some("pool-1".into()),
        }],
        true,
        fast(),
    )
    .await
    .unwrap();
    assert_eq!(report.unchanged, [done_name]);
    assert!(server.requests().iter().all(|r| r.method == "GET"));
}

/// Against a real cluster (the current kubeconfig context): reads it, and dry-runs giving
/// its first node a pool. Writes nothing. See README, Live clusters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a cluster: kind create cluster (or k3d cluster create), then cargo test --test cluster -- --ignored"]
async fn real_cluster() {
    let client = cluster::client(&cluster::Connect::default()).await.unwrap();
    let snapshot = cluster::read(&client, &ReadOptions::default())
        .await
        .unwrap();
    assert!(snapshot.count("Node") >= 1);
    assert!(snapshot.count("Namespace") >= 1);
    assert!(
        snapshot.count("Pod") >= 1,
        "a fresh cluster runs its system pods"
    );
    let first = snapshot
        .objects
        .iter()
        .find(|o| o["kind"] == "Node")
        .unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let report = cluster::apply(
        &client,
        &[NodeTarget {
            node: first,
            pool: Some("tierplan-e2e".into()),
        }],
        false,
        RateLimit::default(),
    )
    .await
    .unwrap();
    assert!(!report.written);
    assert_eq!(report.changed.len(), 1);
}

/// (group, resource, verb) of a request the reader or apply sends.
fn rbac_of(r: &Request) -> (String, String, &'static str) {
    let parts: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
    let (group, rest) = match parts[0] {
        "api" => ("", &parts[2..]),
        _ => (parts[1], &parts[3..]),
    };
    let rest = match rest {
        ["namespaces", _, tail @ ..] if !tail.is_empty() => tail,
        other => other,
    };
    let verb = match (r.method.as_str(), rest.len()) {
        ("GET", 1) => "list",
        ("GET", _) => "get",
        ("PATCH", _) => "patch",
        (m, _) => panic!("unexpected {m}"),
    };
    (group.to_string(), rest[0].to_string(), verb)
}

/// Whether the ClusterRole in `file` allows (group, resource, verb).
fn allowed(file: &str, (group, resource, verb): &(String, String, &'static str)) -> bool {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/cluster")
        .join(file);
    let role: k8s_openapi::api::rbac::v1::ClusterRole =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    role.rules.unwrap_or_default().iter().any(|rule| {
        rule.api_groups.iter().flatten().any(|g| g == group)
            && rule.resources.iter().flatten().any(|r| r == resource)
            && rule.verbs.iter().any(|v| v == verb)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_cluster_roles_allow_every_request_and_nothing_on_secrets() {
    let server = Server::start(recorded("never")).await;
    let client = server.client().await;
    cluster::read(&client, &options(&[], None)).await.unwrap();
    cluster::read(&client, &options(&["shop"], None))
        .await
        .unwrap();
    for r in server.requests() {
        let need = rbac_of(&r);
        assert!(allowed("clusterrole.yaml", &need), "{need:?} of {}", r.path);
    }
    assert!(!allowed(
        "clusterrole.yaml",
        &("".into(), "secrets".into(), "list")
    ));
    let node = real_node(5);
    let name = node["metadata"]["name"].as_str().unwrap().to_string();
    let server = Server::start(node_server(node)).await;
    let client = server.client().await;
    let targets = [NodeTarget {
        node: name,
        pool: Some("pool-1".into()),
    }];
    cluster::apply(&client, &targets, true, fast())
        .await
        .unwrap();
    for r in server.requests() {
        let need = rbac_of(&r);
        assert!(allowed("apply-clusterrole.yaml", &need), "{need:?}");
    }
}

/// A server whose every node exists: GET answers a node of the asked name, PATCH the node
/// with the apply configuration merged.
fn any_node(r: &Request) -> (u16, Value) {
    let Some(name) = r.path.strip_prefix("/api/v1/nodes/") else {
        return (404, status(404, "NotFound", "not found"));
    };
    let node = json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "resourceVersion": "7", "labels": {"kubernetes.io/hostname": name}},
        "spec": {}});
    match r.method.as_str() {
        "GET" => (200, node),
        _ => {
            let patch: Value = serde_json::from_str(&r.body).unwrap();
            let mut after = node;
            for (k, v) in patch["metadata"]["labels"]
                .as_object()
                .into_iter()
                .flatten()
            {
                after["metadata"]["labels"][k] = v.clone();
            }
            if let Some(taints) = patch["spec"].get("taints") {
                after["spec"]["taints"] = taints.clone();
            }
            (200, after)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tierplan_apply_dry_runs_a_planned_example_end_to_end() {
    let server = Server::start(any_node).await;
    let out = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_tierplan");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/nist-800-190");
    let planned = std::process::Command::new(bin)
        .args(["plan", "--quiet", "--out"])
        .arg(out.path())
        .arg(&example)
        .output()
        .unwrap();
    assert!(planned.status.success(), "{planned:?}");
    let plan: tierplan::plan::Plan =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("plan.json")).unwrap())
            .unwrap();
    let pooled: usize = plan
        .pools
        .iter()
        .filter(|p| !p.platform)
        .map(|p| p.nodes.len())
        .sum();
    let manifests = out.path().join("manifests");
    let kubeconfig = server.kubeconfig.clone();
    let applied = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin)
            .arg("apply")
            .arg(&manifests)
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&applied.stdout);
    assert!(applied.status.success(), "{applied:?}");
    assert!(
        stdout.starts_with(&format!(
            "dry run (server-side, nothing written): {pooled} node(s) would change"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("  label + {POOL_LABEL}=")),
        "{stdout}"
    );
    assert!(stdout.contains("run again with --yes"), "{stdout}");
    let patches: Vec<Request> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), pooled);
    assert!(patches
        .iter()
        .all(|r| r.query.get("dryRun").map(String::as_str) == Some("All")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_replays_offline_through_the_file_input() {
    let server = Server::start(recorded("never")).await;
    let client = server.client().await;
    let snapshot = cluster::read(&client, &options(&[], None)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snapshot.json");
    std::fs::write(
        &file,
        serde_json::to_string_pretty(&snapshot.to_list()).unwrap(),
    )
    .unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "apiVersion: tierplan/v1alpha1\nkind: Policy\nmetadata: {name: replay}\nspec:\n  separateBy: [sensitivity]\n",
    )
    .unwrap();
    let result = tierplan::build_from_paths(&[policy, file]);
    let text = match &result {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    };
    // Every kind of the snapshot is one the importer reads: none is refused as unknown.
    assert!(!text.contains("E011"), "{text}");
    let model = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(model.nodes.len(), 7);
    assert!(
        model.workloads.iter().any(|w| w.name == "frontend"),
        "{:?}",
        model.workloads.iter().map(|w| &w.name).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_reads_the_cluster_and_saves_a_snapshot_that_plans_offline() {
    let server = Server::start(recorded("never")).await;
    let dir = tempfile::tempdir().unwrap();
    // Untiered as published: the Policy's default gives them a sensitivity, never a guess.
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policy-defaults.yaml");
    let snapshot = dir.path().join("snapshot.json");
    let bin = env!("CARGO_BIN_EXE_tierplan");
    let (kubeconfig, p, s, out) = (
        server.kubeconfig.clone(),
        policy.clone(),
        snapshot.clone(),
        dir.path().join("imported"),
    );
    let imported = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin)
            .arg("import")
            .arg(&p)
            .args(["--cluster", "--snapshot"])
            .arg(&s)
            .arg("--out")
            .arg(&out)
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(imported.status.success(), "{imported:?}");
    let stdout = String::from_utf8_lossy(&imported.stdout);
    assert!(stdout.contains("7 node(s)"), "{stdout}");
    // Every request was a read.
    assert!(server.requests().iter().all(|r| r.method == "GET"));
    // The snapshot replays offline: the same documents without the cluster.
    let (live, _) = tierplan::input::read_paths(&[policy.clone(), dir.path().join("imported")]);
    let (offline, diags) = tierplan::input::read_paths(&[policy, snapshot]);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(live.nodes.len(), offline.nodes.len());
    assert_eq!(
        live.workloads
            .iter()
            .map(|(_, w)| &w.spec)
            .collect::<Vec<_>>(),
        offline
            .workloads
            .iter()
            .map(|(_, w)| &w.spec)
            .collect::<Vec<_>>()
    );
}

/// The plural a kind is listed under (`ValidatingAdmissionPolicy` → `validatingadmissionpolicies`),
/// for the kinds of the audit dumps.
fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    match lower.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None if lower.ends_with("ss") => format!("{lower}es"),
        None => format!("{lower}s"),
    }
}

/// A server that answers each cluster-wide list with the items of that kind in the `kind: List`
/// dumps `files` (as the API server lists them: items without `kind` and `apiVersion`).
fn dump_server(files: &[&str]) -> impl Fn(&Request) -> (u16, Value) + Send + Sync {
    let mut by_plural: BTreeMap<String, (String, String, Vec<Value>)> = BTreeMap::new();
    for file in files {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let dump: Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for item in dump["items"].as_array().unwrap() {
            let mut item = item.clone();
            let object = item.as_object_mut().unwrap();
            let kind = object.remove("kind").unwrap();
            let api_version = object.remove("apiVersion").unwrap();
            let kind = kind.as_str().unwrap();
            by_plural
                .entry(plural(kind))
                .or_insert_with(|| {
                    (
                        format!("{kind}List"),
                        api_version.as_str().unwrap().to_string(),
                        Vec::new(),
                    )
                })
                .2
                .push(item);
        }
    }
    move |r: &Request| {
        let resource = r.path.rsplit('/').next().unwrap();
        match by_plural.get(resource) {
            Some((kind, api_version, items)) => (200, list(kind, api_version, items.clone(), None)),
            None => (200, list("List", "v1", vec![], None)),
        }
    }
}

/// `tierplan audit --cluster` with the Policy as a file; its exit code and stdout.
async fn audit_live(server: &Server, more: &[&str]) -> (Option<i32>, String) {
    let bin = env!("CARGO_BIN_EXE_tierplan");
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/audit/policy.yaml");
    let kubeconfig = server.kubeconfig.clone();
    let more: Vec<String> = more.iter().map(|s| s.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin)
            .arg("audit")
            .arg(&policy)
            .arg("--cluster")
            .args(&more)
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_reads_a_live_cluster_and_finds_the_planted_mixed_node() {
    let server = Server::start(dump_server(&[
        "tests/data/audit/cluster-mixed.yaml",
        "tests/data/audit/admission.yaml",
    ]))
    .await;
    let (code, text) = audit_live(&server, &[]).await;
    assert_eq!(code, Some(1), "{text}");
    for needle in [
        "TPA001",
        "node-pub-1",
        "Deployment payments/ledger",
        "ledger-58f9b7c4d5-m4nvs",
        "Deployment shop/web",
        "admission: enforcing",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.method == "GET"), "{requests:?}");
    for resource in [
        "/api/v1/nodes",
        "/api/v1/pods",
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
    ] {
        assert!(
            requests.iter().any(|r| r.path == resource),
            "{resource} not read: {requests:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_of_a_clean_live_cluster_passes_and_a_missing_admission_policy_is_found() {
    let clean = Server::start(dump_server(&[
        "tests/data/audit/cluster.yaml",
        "tests/data/audit/admission.yaml",
    ]))
    .await;
    let (code, text) = audit_live(&clean, &[]).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("no findings"), "{text}");
    // Read live, no admission policy means there is none (a file dump may just leave it out).
    let bare = Server::start(dump_server(&["tests/data/audit/cluster.yaml"])).await;
    let (code, text) = audit_live(&bare, &["--output", "json"]).await;
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("\"admission\": \"not-enforcing\""), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_continue_token_falls_back_to_one_unpaginated_list() {
    // The API server answers a continue token it no longer holds with 410 Gone, reason
    // Expired; client-go's pager (tools/pager/pager.go, FullListIfExpired) then lists again
    // without `limit`, and so does tierplan.
    let nodes = real_nodes();
    let server = Server::start(move |r: &Request| {
        let items = nodes["items"].as_array().unwrap();
        match (r.path.as_str(), r.query.get("continue"), r.query.get("limit")) {
            ("/api/v1/nodes", Some(_), _) => (
                410,
                status(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."),
            ),
            ("/api/v1/nodes", None, Some(_)) => (
                200,
                list("NodeList", "v1", items[..4].to_vec(), Some("stale-token")),
            ),
            ("/api/v1/nodes", None, None) => (200, list("NodeList", "v1", items.clone(), None)),
            (p, _, _) => {
                let kind = p.rsplit('/').next().unwrap();
                (200, list(&format!("{kind}List"), "v1", vec![], None))
            }
        }
    })
    .await;
    let client = server.client().await;
    let snapshot = cluster::read(&client, &options(&[], None)).await.unwrap();
    let nodes: Vec<&Value> = snapshot
        .objects
        .iter()
        .filter(|o| o["kind"] == "Node")
        .collect();
    // Every node once: the first page read before the 410 is not kept twice.
    assert_eq!(nodes.len(), 7);
    let requests = server.requests();
    let node_lists: Vec<(Option<&String>, Option<&String>)> = requests
        .iter()
        .filter(|r| r.path == "/api/v1/nodes")
        .map(|r| (r.query.get("limit"), r.query.get("continue")))
        .collect();
    assert_eq!(node_lists.len(), 3, "{node_lists:?}");
    assert!(
        node_lists[2].0.is_none() && node_lists[2].1.is_none(),
        "{node_lists:?}"
    );
}
