//! The `tierplan` command: thin glue over the library. Exit codes: 0 every replica placed
//! (or the plan checks out), 1 infeasible plan or violations, 2 invalid input or usage,
//! 3 a plan the independent checker refuses (a bug), 130 interrupted.

use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tierplan::output::OutDir;
use tierplan::{boundary, check, emit, model, output, plan::Plan, report, schema, solve};

/// A plan.json larger than this is not one tierplan wrote for a plannable input.
const MAX_PLAN_BYTES: u64 = 1 << 30;

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

/// `plan --output`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
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
        /// Overwrite files in the output directory that tierplan did not write.
        #[arg(long)]
        force: bool,
        /// Safety stop: return the best plan found after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        time_limit: Option<f64>,
        /// Work units for the search (the default suits thousands of workloads); results
        /// depend on this, never on machine speed.
        #[arg(long, value_name = "UNITS")]
        work_limit: Option<u64>,
        /// The plan.json the cluster runs now: pools that persist keep their names, and of
        /// plans of equal cost the one that moves the fewest replicas and relabels the fewest
        /// nodes wins. A hint: workloads and nodes it names that the input lacks are ignored.
        #[arg(long, value_name = "FILE")]
        previous: Option<PathBuf>,
        /// With --previous: cost per hour one replica kept on its node is worth. The previous
        /// plan, while still valid, is kept unless the new one saves more than this per
        /// replica it moves.
        #[arg(long, value_name = "COST", requires = "previous")]
        stability: Option<f64>,
        /// Also print the solver's counters (time, classes, work).
        #[arg(long, short, conflicts_with = "quiet")]
        verbose: bool,
        /// Print nothing but warnings and errors; the exit code says how it went.
        #[arg(long, short)]
        quiet: bool,
        /// How to print the summary: `text`, or `json` (one object: status, cost, bound,
        /// pools, unused nodes, disruption, files written) for scripts.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        output: Format,
    },
    /// Re-verify a plan against the inputs, independently of the planner.
    Check {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The plan.json to verify.
        #[arg(long)]
        plan: PathBuf,
        /// Also prove that these manifests (DIR/manifests of `tierplan plan`), as `kubectl
        /// kustomize` builds them, keep every pod template in its pool under kube-scheduler's
        /// filter rules.
        #[arg(long, value_name = "DIR")]
        manifests: Option<PathBuf>,
        /// Prove on the output of `kubectl kustomize` of your own kustomization (`-` for
        /// standard input; repeatable): its objects are judged as built, your workloads
        /// included. Node labels and taints are never built: pass --manifests DIR too, which
        /// adds DIR's node scripts and those of its cluster-wide objects the build lacks.
        #[arg(long, value_name = "FILE")]
        built: Vec<PathBuf>,
    },
    /// Write the JSON Schemas of the input kinds and of plan.json into DIR.
    Schemas {
        #[arg(default_value = "schemas")]
        dir: PathBuf,
        /// Overwrite files in DIR that tierplan did not write.
        #[arg(long)]
        force: bool,
    },
}

/// Writes to standard output. Output goes through these, not `print!`, so that a reader that
/// went away (`tierplan plan … | head -1`) ends the program quietly, as ripgrep does, instead
/// of in a panic.
macro_rules! out {
    ($($arg:tt)*) => {
        write_stdout(&format!($($arg)*))
    };
}

macro_rules! outln {
    ($($arg:tt)*) => {
        write_stdout(&format!("{}\n", format!($($arg)*)))
    };
}

fn write_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Whether `e` is a write to a pipe whose reader has gone.
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Output is only ever replaced whole (temp file + rename); waiting for a write in progress
    // keeps an interrupt from leaving a temp file behind.
    let installed = ctrlc::set_handler(|| {
        let _no_writes = output::hold_writes();
        eprintln!("interrupted: no file was left half-written");
        std::process::exit(130);
    });
    if let Err(e) = installed {
        eprintln!("warning: cannot handle Ctrl-C: {e}");
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
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
            force,
            time_limit,
            work_limit,
            previous,
            stability,
            verbose,
            quiet,
            output,
        } => {
            let mut options = solve::SolveOptions::default();
            if let Some(t) = time_limit {
                let limit = Duration::try_from_secs_f64(t).ok().filter(|d| !d.is_zero());
                anyhow::ensure!(
                    limit.is_some(),
                    "--time-limit must be a positive number of seconds, not {t}"
                );
                options.time_limit = limit;
            }
            if let Some(w) = work_limit {
                options.work_limit = w;
            }
            if let Some(w) = stability {
                anyhow::ensure!(
                    w.is_finite() && (0.0..=1e6).contains(&w),
                    "--stability must be a cost per hour from 0 to 1000000, not {w}"
                );
                options.stability_micros = (w * 1e6).round() as u64;
            }
            if let Some(path) = &previous {
                match read_plan(path) {
                    Ok(p) => options.previous = Some(p),
                    Err(e) => {
                        eprintln!("{e}");
                        return Ok(ExitCode::from(2));
                    }
                }
            }
            anyhow::ensure!(
                out.as_os_str() != "-",
                "--out -: tierplan writes plan.json and manifests/ into a directory, not to standard output\n  fix: name a directory, e.g. --out tierplan-out"
            );
            // Refused before planning rather than after, so that nobody waits for nothing.
            let out = OutDir::new(&out, force)?;
            out.check(PLAN_FILE)?;
            let Some(model) = load(&paths) else {
                return Ok(ExitCode::from(2));
            };
            if let Some(warning) = report::zone_warning(&model) {
                eprintln!("{warning}");
            }
            let solved = solve::solve(&model, &options);
            // The planner's plan is re-verified by independent code before anyone acts on it.
            let verdict = check::check(&model, &solved.plan);
            let sound = match solved.plan.status {
                tierplan::plan::Status::Infeasible => verdict.is_consistent(),
                _ => verdict.is_valid(),
            };
            if !sound {
                eprintln!("internal error: the checker refuses the planner's plan, so nothing was written; please report this with the input\n{verdict}");
                return Ok(ExitCode::from(3));
            }
            // Which namespaces span pools is known only once planned; `namespaceBoundary: deny`
            // still makes it an input error.
            if let Err(e) = boundary::enforce(&model, &solved.plan) {
                eprint!("{e}");
                eprintln!("nothing was written");
                return Ok(ExitCode::from(2));
            }
            let plan_json = solved.plan.to_json();
            let manifests = match emit::manifests_after(
                &model,
                &solved.plan,
                options.previous.as_ref(),
            ) {
                Ok(files) => files,
                Err(emit::EmitError::Infeasible) => {
                    eprintln!("the plan is infeasible, so only {PLAN_FILE} is written (no {MANIFESTS_DIR}/): its `unplaced` and `unmet` say why");
                    Vec::new()
                }
                Err(e) => {
                    eprintln!("error: cannot write manifests for this plan: {e}\n  fix: change the input so that the name is a valid Kubernetes name or label value; nothing was written");
                    return Ok(ExitCode::from(2));
                }
            };
            let names: Vec<String> = manifests
                .iter()
                .map(|(path, _)| format!("{MANIFESTS_DIR}/{path}"))
                .collect();
            let mut files: Vec<(&str, &[u8])> = vec![(PLAN_FILE, plan_json.as_bytes())];
            files.extend(
                names
                    .iter()
                    .zip(&manifests)
                    .map(|(name, (_, text))| (name.as_str(), text.as_bytes())),
            );
            // Manifests of an earlier plan left beside these would enforce a different plan.
            let done = out.write_replacing(&files, Some(MANIFESTS_DIR))?;
            let written: Vec<String> = done
                .written
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            match (output, quiet) {
                (Format::Json, _) => {
                    outln!("{}", report::summary_json(&model, &solved.plan, &written))?
                }
                (Format::Text, true) => {}
                (Format::Text, false) => {
                    out!(
                        "{}",
                        report::summary(&model, &solved.plan, Some(&solved.stats))
                    )?;
                    if verbose {
                        out!("{}", report::counters(&solved.stats))?;
                    }
                    outln!("wrote {}", done.written[0].display())?;
                    if !manifests.is_empty() {
                        outln!(
                            "wrote {} files under {} (build with `kubectl kustomize`)",
                            manifests.len(),
                            out.path(MANIFESTS_DIR).display()
                        )?;
                    }
                }
            }
            for path in done
                .removed
                .iter()
                .filter(|_| output == Format::Text && !quiet)
            {
                outln!("removed {} (from an earlier plan)", path.display())?;
            }
            for path in &done.kept {
                eprintln!("warning: {} is from an earlier plan but was changed since, so it was left in place; remove it by hand", path.display());
            }
            // Last, so that it is what stays on screen.
            if let Some(warning) =
                report::admission_warning(&model).filter(|_| !manifests.is_empty())
            {
                eprintln!("{warning}");
            }
            Ok(exit_for(&solved.plan))
        }
        Command::Check {
            paths,
            plan,
            manifests,
            built,
        } => {
            let Some(model) = load(&paths) else {
                return Ok(ExitCode::from(2));
            };
            let plan_doc = match read_plan(&plan) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let result = check::check(&model, &plan_doc);
            outln!("{result}")?;
            let mut valid = result.is_valid();
            if manifests.is_none() && !built.is_empty() {
                eprintln!("note: node labels and taints are never built, so without --manifests DIR (its nodes/*.sh) every inventory node is judged as the inventory lists it\n  fix: pass --manifests with the directory `tierplan plan` wrote");
            }
            if manifests.is_some() || !built.is_empty() {
                match tierplan::sched::read::combined(manifests.as_deref(), &built) {
                    Ok(evidence) => {
                        let proof = tierplan::sched::prove_evidence(&model, &plan_doc, &evidence);
                        outln!("{proof}")?;
                        valid &= proof.holds();
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        return Ok(ExitCode::from(2));
                    }
                }
            }
            Ok(if valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Schemas { dir, force } => {
            let schemas = schema::all();
            let files: Vec<(&str, &[u8])> = schemas
                .iter()
                .map(|(name, text)| (*name, text.as_bytes()))
                .collect();
            for path in OutDir::new(&dir, force)?.write(&files)? {
                outln!("wrote {}", path.display())?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The file `plan` writes into its output directory.
const PLAN_FILE: &str = "plan.json";
/// The directory of Kubernetes manifests `plan` writes beside it.
const MANIFESTS_DIR: &str = "manifests";

/// Reads a plan.json; `Err` says why it is none.
fn read_plan(path: &std::path::Path) -> Result<Plan, String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_PLAN_BYTES).read_to_string(&mut text))
        .map_err(|e| format!("{}: cannot read the plan: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a tierplan plan: {e}\n  fix: pass the plan.json written by `tierplan plan`",
            path.display()
        )
    })
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
