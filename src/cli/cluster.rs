//! `--cluster` and its options, for the commands that read a live cluster (`import`, `plan`,
//! `audit`), and the blocking call into [`tierplan::cluster`].

use tierplan::cluster;

/// Read a live cluster through the kubeconfig (or in-cluster service account).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClusterArgs {
    /// Read Nodes, Namespaces, workloads, Pods, LimitRanges and RuntimeClasses from the live
    /// cluster of the kubeconfig (KUBECONFIG, ~/.kube/config) or, inside a pod, its service
    /// account. Read-only; needs the ClusterRole of examples/cluster/clusterrole.yaml.
    #[arg(long)]
    pub cluster: bool,
    /// The kubeconfig context to use (default: the current context).
    #[arg(long, value_name = "NAME", requires = "cluster")]
    pub context: Option<String>,
    /// Read only this namespace (repeatable; default: all).
    #[arg(long, value_name = "NS", requires = "cluster")]
    pub namespace: Vec<String>,
    /// Read only workloads and Pods matching this label selector (`app=web,tier!=db`).
    #[arg(long, value_name = "L", requires = "cluster")]
    pub selector: Option<String>,
}

/// Builds a single-threaded tokio runtime for one cluster operation.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The live cluster as one more input file, when `--cluster` is given: a name for
/// diagnostics (`cluster:<context>`) and the snapshot as a `kind: List` in JSON, which the
/// input layer reads like a `kubectl get -o json` dump. `snapshot` saves those bytes too,
/// for offline replay (`tierplan plan … FILE`).
pub fn source(
    args: &ClusterArgs,
    snapshot: Option<&std::path::Path>,
) -> anyhow::Result<Option<(std::path::PathBuf, Vec<u8>)>> {
    let Some(read) = read(args)? else {
        return Ok(None);
    };
    let bytes = serde_json::to_vec_pretty(&read.to_list())?;
    if let Some(file) = snapshot {
        std::fs::write(file, &bytes)
            .map_err(|e| anyhow::anyhow!("cannot write the snapshot {}: {e}", file.display()))?;
        eprintln!("wrote {} ({} objects)", file.display(), read.objects.len());
    }
    let name = format!(
        "cluster:{}",
        args.context.as_deref().unwrap_or("current-context")
    );
    Ok(Some((name.into(), bytes)))
}

/// Reads the cluster when `--cluster` is given; `None` otherwise.
pub fn read(args: &ClusterArgs) -> anyhow::Result<Option<cluster::Snapshot>> {
    if !args.cluster {
        return Ok(None);
    }
    let connect = cluster::Connect {
        kubeconfig: None,
        context: args.context.clone(),
    };
    let options = cluster::ReadOptions {
        namespaces: args.namespace.clone(),
        selector: args.selector.clone(),
        ..Default::default()
    };
    let snapshot = runtime()?.block_on(async {
        let client = cluster::client(&connect).await?;
        cluster::read(&client, &options).await
    })?;
    for resource in &snapshot.not_served {
        eprintln!("note: the cluster does not serve {resource} (404); left out");
    }
    for ns in &snapshot.missing_namespaces {
        eprintln!("warning: namespace `{ns}` does not exist in the cluster");
    }
    Ok(Some(snapshot))
}
