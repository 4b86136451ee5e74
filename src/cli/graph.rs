//! `tierplan graph`: glue from the command line to `tierplan::draw`; writes to standard output.

use super::{load, read_plan};
use crate::out;
use std::path::PathBuf;
use std::process::ExitCode;
use tierplan::draw;
use tierplan::graph::ConstraintGraph;

#[derive(clap::Args)]
pub struct Args {
    /// Input files, or directories whose *.yaml / *.yml files are read.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// A plan.json of these inputs: its pools are drawn as clusters around their classes.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// `dot` (Graphviz), `svg` (laid out by tierplan, no Graphviz needed) or `mermaid`.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    format: GraphFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Svg,
    Mermaid,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let plan = match args.plan.as_deref().map(read_plan).transpose() {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    let Some(model) = load(&args.paths) else {
        return Ok(ExitCode::from(2));
    };
    if let Some(p) = &plan {
        if p.inputs.as_ref().is_some_and(|f| *f != model.fingerprint) {
            eprintln!(
                "warning: the plan was made for other inputs; its pools are drawn as it lists them"
            );
        }
    }
    let graph = ConstraintGraph::build(&model);
    let drawn = match args.format {
        GraphFormat::Dot => draw::dot(&model, &graph, plan.as_ref()),
        GraphFormat::Svg => draw::svg(&model, &graph, plan.as_ref()),
        GraphFormat::Mermaid => draw::mermaid(&model, &graph, plan.as_ref()),
    };
    out!("{drawn}")?;
    Ok(ExitCode::SUCCESS)
}
