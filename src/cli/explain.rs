//! `tierplan explain`: glue from the command line to `tierplan::why`; writes to standard
//! output, exit 2 for an unknown workload (with the closest ids).

use super::{load, outln, read_plan, Format};
use std::path::PathBuf;
use std::process::ExitCode;
use tierplan::why;

#[derive(clap::Args)]
pub struct Args {
    /// Input files, or directories whose *.yaml / *.yml files are read.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The plan.json of these inputs (written by `tierplan plan`).
    #[arg(long, value_name = "FILE")]
    plan: PathBuf,
    /// The workload to explain, as `namespace/name` (as plan.json lists it).
    #[arg(long, value_name = "ID")]
    workload: String,
    /// `text` for people, `json` (one object) for scripts.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    output: Format,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let plan = match read_plan(&args.plan) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    let Some(model) = load(&args.paths) else {
        return Ok(ExitCode::from(2));
    };
    if plan
        .inputs
        .as_ref()
        .is_some_and(|f| *f != model.fingerprint)
    {
        eprintln!("warning: the plan was made for other inputs; it is explained against these");
    }
    let explained = match why::explain_workload(&model, &plan, &args.workload) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    match args.output {
        Format::Text => super::out!("{explained}")?,
        Format::Json => outln!("{}", serde_json::to_string_pretty(&explained)?)?,
    }
    Ok(ExitCode::SUCCESS)
}
