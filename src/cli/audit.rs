//! `tierplan audit`: findings of a cluster dump or a live cluster as a table, JSON or SARIF;
//! exit 1 when any.

use super::{outln, read_plan};
use std::path::PathBuf;
use std::process::ExitCode;
use tierplan::audit;

/// How to print the findings.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// For people.
    Table,
    /// The report as JSON (schemas/audit.schema.json).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
}

/// The arguments of `tierplan audit`.
#[derive(clap::Args)]
pub struct Args {
    /// Kubernetes objects (`kubectl get … -o yaml|json` dumps, `kind: List`, snapshots) and
    /// the tierplan Policy; files, or directories whose *.yaml / *.yml files are read.
    #[arg(required_unless_present = "cluster")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub cluster: super::cluster::ClusterArgs,
    /// The plan.json the cluster should run: node pool labels and taints are checked
    /// against it.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// How to print the findings.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// Runs the audit: 0 clean, 1 findings, 2 invalid input.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let plan = match args.plan.as_deref().map(read_plan).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    let live = super::cluster::source(&args.cluster, None)?;
    let snapshot = live
        .as_ref()
        .map(|(name, bytes)| (name.as_path(), bytes.as_slice()));
    let input = match audit::read_paths_and(&args.paths, snapshot) {
        Ok(i) => i,
        Err(e) => {
            eprint!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    let report = audit::audit(&input, plan.as_ref());
    match args.output {
        Output::Table => super::out!("{}", audit::render::table(&report))?,
        Output::Json => outln!("{}", report.to_json())?,
        Output::Sarif => outln!(
            "{}",
            serde_json::to_string_pretty(&audit::render::sarif(&report))?
        )?,
    }
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
