//! `tierplan apply DIR/manifests`: sets the plan's pool labels and taints on the nodes of a
//! live cluster (server-side apply, field manager `tierplan`); a server-side dry run with a
//! diff unless `--yes`. The rules are the library's ([`tierplan::cluster::apply`]).

use super::{outln, read_plan, PLAN_FILE};
use std::path::PathBuf;
use std::process::ExitCode;
use tierplan::cluster::{self, NodeTarget};

/// Arguments of `tierplan apply`.
#[derive(clap::Args)]
pub struct Args {
    /// The manifests directory `tierplan plan --out DIR` wrote (DIR/manifests); the plan is
    /// read from DIR/plan.json beside it.
    pub manifests: PathBuf,
    /// The kubeconfig context to use (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Write the changes. Without it, the API server only dry-runs them (`dryRun=All`) and
    /// the diff is shown.
    #[arg(long)]
    pub yes: bool,
}

/// Runs `tierplan apply`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.manifests.join("nodes").is_dir() || args.manifests.join("kustomization.yaml").is_file(),
        "{}: not a manifests directory of tierplan\n  fix: pass DIR/manifests of `tierplan plan --out DIR`",
        args.manifests.display()
    );
    let dir = args
        .manifests
        .canonicalize()?
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let plan = match read_plan(&dir.join(PLAN_FILE)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    let targets: Vec<NodeTarget> = tierplan::emit::pool_by_node(&plan)
        .into_iter()
        .map(|(node, pool)| NodeTarget { node, pool })
        .collect();
    let connect = cluster::Connect {
        kubeconfig: None,
        context: args.context.clone(),
    };
    let report = super::cluster::runtime()?.block_on(async {
        let client = cluster::client(&connect).await?;
        cluster::apply(&client, &targets, args.yes, cluster::RateLimit::default()).await
    })?;
    print(&report)?;
    Ok(ExitCode::SUCCESS)
}

fn print(report: &cluster::ApplyReport) -> anyhow::Result<()> {
    let verb = if report.written {
        "changed"
    } else {
        "would change"
    };
    outln!(
        "{}: {} node(s) {verb}, {} unchanged",
        if report.written {
            "applied (server-side apply, field manager tierplan)"
        } else {
            "dry run (server-side, nothing written)"
        },
        report.changed.len(),
        report.unchanged.len()
    )?;
    for node in &report.changed {
        outln!("node {}", node.node)?;
        for c in &node.labels {
            outln!("  label {c}")?;
        }
        for c in &node.taints {
            outln!("  taint {c}")?;
        }
        for n in &node.notes {
            outln!("  note: {n}")?;
        }
    }
    for node in &report.missing {
        eprintln!("warning: node `{node}` of the plan is not in the cluster; skipped");
    }
    if !report.written && !report.changed.is_empty() {
        outln!("run again with --yes to write these changes")?;
    }
    Ok(())
}
