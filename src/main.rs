//! The `tierplan` command: thin glue over the library. Exit codes: 0 every replica placed
//! (or the plan checks out), 1 infeasible plan or violations, 2 invalid input or usage.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tierplan::{check, model, output, plan::Plan, report, schema, solve};

#[derive(Parser)]
#[command(
    name = "tierplan",
    version,
    about = "Plan Kubernetes node pools that keep workloads of different sensitivity on separate hosts (NIST SP 800-190)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Plan pools and placements; writes DIR/plan.json and prints a summary.
    Plan {
        /// Input files, or directories whose *.yaml / *.yml files are read.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output directory.
        #[arg(long, default_value = "tierplan-out")]
        out: PathBuf,
        /// Safety stop: return the best plan found after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        time_limit: Option<f64>,
        /// Work units for the search (the default suits thousands of workloads); results
        /// depend on this, never on machine speed.
        #[arg(long, value_name = "UNITS")]
        work_limit: Option<u64>,
    },
    /// Re-verify a plan against the inputs, independently of the planner.
    Check {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The plan.json to verify.
        #[arg(long)]
        plan: PathBuf,
    },
    /// Write the JSON Schemas of the input kinds and of plan.json into DIR.
    Schemas {
        #[arg(default_value = "schemas")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Plan {
            paths,
            out,
            time_limit,
            work_limit,
        } => {
            let Some(model) = load(&paths) else {
                return Ok(ExitCode::from(2));
            };
            let mut options = solve::SolveOptions::default();
            if let Some(t) = time_limit {
                anyhow::ensure!(
                    t.is_finite() && t > 0.0,
                    "--time-limit must be a positive number of seconds"
                );
                options.time_limit = Some(Duration::from_secs_f64(t));
            }
            if let Some(w) = work_limit {
                options.work_limit = w;
            }
            let solved = solve::solve(&model, &options);
            let written =
                output::write_atomic(&out, "plan.json", solved.plan.to_json().as_bytes())?;
            print!(
                "{}",
                report::summary(&model, &solved.plan, Some(&solved.stats))
            );
            println!("wrote {}", written.display());
            Ok(exit_for(&solved.plan))
        }
        Command::Check { paths, plan } => {
            let Some(model) = load(&paths) else {
                return Ok(ExitCode::from(2));
            };
            let text = std::fs::read_to_string(&plan)
                .with_context(|| format!("{}: cannot read the plan", plan.display()))?;
            let plan_doc: Plan = match serde_json::from_str(&text) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("{}: not a tierplan plan: {e}\n  fix: pass the plan.json written by `tierplan plan`", plan.display());
                    return Ok(ExitCode::from(2));
                }
            };
            let result = check::check(&model, &plan_doc);
            println!("{result}");
            Ok(if result.is_valid() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Schemas { dir } => {
            for (name, text) in schema::all() {
                let path = output::write_atomic(&dir, name, text.as_bytes())?;
                println!("wrote {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Loads and validates the input, printing every problem; `None` when it is invalid.
fn load(paths: &[PathBuf]) -> Option<model::Model> {
    match model::build_from_paths(paths) {
        Ok(m) => Some(m),
        Err(e) => {
            eprint!("{e}");
            None
        }
    }
}

fn exit_for(plan: &Plan) -> ExitCode {
    match plan.status {
        tierplan::plan::Status::Infeasible => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}
