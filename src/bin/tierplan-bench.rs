//! `tierplan-bench`: converts published benchmark instances to tierplan YAML.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use tierplan::convert::{self, Format};

#[derive(Parser)]
#[command(name = "tierplan-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Convert one instance to tierplan YAML (Workload and Node documents).
    Convert {
        /// bppc | vbp | alibaba | roadef
        #[arg(long)]
        from: Format,
        /// The instance file (for alibaba: the data set's directory).
        input: PathBuf,
        /// Directory to write the YAML files into (must hold no YAML yet).
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Convert { from, input, out } => {
            let c = convert::convert(from, &input)?;
            let files = convert::write_dir(&c.documents, &out)?;
            println!(
                "{}: {} workloads, {} nodes → {} file(s) in {}",
                c.name,
                c.documents.workloads.len(),
                c.documents.nodes.len(),
                files.len(),
                out.display()
            );
            for d in &c.dropped {
                println!("left out (no tierplan counterpart): {d}");
            }
            tierplan::model::build_from_paths(std::slice::from_ref(&out))
                .with_context(|| format!("the YAML written to {} does not load", out.display()))?;
            Ok(())
        }
    }
}
