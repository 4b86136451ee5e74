//! `tierplan import`: Kubernetes objects → the tierplan documents they amount to, written for
//! review and editing, with what was read but not enforced.

use super::{import_line, out, outln};
use std::path::PathBuf;
use std::process::ExitCode;
use tierplan::input::{self, wire::Document, Documents};
use tierplan::output::OutDir;

/// Arguments of `tierplan import`.
#[derive(clap::Args)]
pub struct Args {
    /// Kubernetes manifests or `kubectl get -o yaml|json` dumps (and tierplan documents, such
    /// as the Policy whose `kubernetes` settings and `defaults` apply), files or directories.
    #[arg(required_unless_present = "cluster")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub cluster: super::cluster::ClusterArgs,
    /// With --cluster: also save what was read, as one `kind: List` JSON file that any
    /// command reads offline in place of --cluster.
    #[arg(long, value_name = "FILE", requires = "cluster")]
    pub snapshot: Option<PathBuf>,
    /// Output directory: `workloads.yaml`, `nodes.yaml`, `policy.yaml` (when a Policy was
    /// read or made) and `warnings.txt`.
    #[arg(long, default_value = "tierplan-import")]
    pub out: PathBuf,
    /// Overwrite files in the output directory that tierplan did not write.
    #[arg(long)]
    pub force: bool,
}

/// Runs `tierplan import`: exit 0 when every object was read, 2 on problems (all listed).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let out = OutDir::new(&args.out, args.force)?;
    let live = super::cluster::source(&args.cluster, args.snapshot.as_deref())?;
    let (docs, diags) = input::read_paths_and(
        &args.paths,
        live.as_ref()
            .map(|(name, bytes)| (name.as_path(), bytes.as_slice())),
    );
    if !diags.is_empty() {
        eprint!("{}", input::InputError::new(diags));
        eprintln!("nothing was written");
        return Ok(ExitCode::from(2));
    }
    let Some(summary) = docs.kubernetes.clone() else {
        eprintln!("error: no Kubernetes object was read\n  fix: pass manifests or `kubectl get -o yaml` dumps (apiVersion apps/v1, v1, batch/v1 …)");
        return Ok(ExitCode::from(2));
    };
    let files = documents(&docs);
    let mut warnings: String = summary.warnings.iter().map(|w| format!("{w}\n")).collect();
    if warnings.is_empty() {
        warnings.push_str("nothing to review: every object read is planned as written\n");
    }
    let mut all: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(name, text)| (*name, text.as_bytes()))
        .collect();
    all.push(("warnings.txt", warnings.as_bytes()));
    let written = out.write(&all)?;
    outln!("{}", import_line(&summary))?;
    for (kind, n) in &summary.skipped {
        outln!("  skipped {n} {kind}")?;
    }
    for w in &summary.warnings {
        out!("warning: {w}\n")?;
    }
    for path in written {
        outln!("wrote {}", path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The documents as the files `import` writes, each kind in its own file.
fn documents(docs: &Documents) -> Vec<(&'static str, String)> {
    fn yaml<S: serde::Serialize>(docs: &[(input::Origin, Document<S>)]) -> String {
        docs.iter()
            .map(|(_, d)| serde_yaml::to_string(d).expect("wire documents serialise"))
            .collect::<Vec<_>>()
            .join("---\n")
    }
    let mut files = Vec::new();
    if !docs.policies.is_empty() {
        files.push(("policy.yaml", yaml(&docs.policies)));
    }
    files.push(("workloads.yaml", yaml(&docs.workloads)));
    files.push(("nodes.yaml", yaml(&docs.nodes)));
    if !docs.node_types.is_empty() {
        files.push(("nodetypes.yaml", yaml(&docs.node_types)));
    }
    files
}
