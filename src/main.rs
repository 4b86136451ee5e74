//! The `tierplan` command: thin glue over the library. Exit codes: 0 every replica placed
//! (or the plan checks out), 1 infeasible plan or violations, 2 invalid input or usage,
//! 3 a plan the independent checker refuses (a bug), 130 interrupted.

mod cli;

use clap::{Parser, Subcommand};
use cli::{
    broken_pipe, exit_for, load, out, outln, read_plan, solve_options, write_plan_dir, Budget,
    Format, MANIFESTS_DIR, PLAN_FILE,
};
use std::path::PathBuf;
use std::process::ExitCode;
use tierplan::output::OutDir;
use tierplan::report::html::REPORT_FILE;
use tierplan::{boundary, check, output, report, schema, solve};

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
        /// Overwrite files in the output directory that tierplan did not write.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        budget: Budget,
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
        /// Also write DIR/report.html: the summary, one card per pool with per-node
        /// utilisation, the unplaced replicas, the findings and the constraint graph, in one
        /// self-contained page (no network, printable).
        #[arg(long)]
        report: bool,
        #[command(flatten)]
        cluster: cli::cluster::ClusterArgs,
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
        /// Verify a what-if scenario's plan: the inputs are PATH with this Scenario applied
        /// (DIR/scenarios/<name>/scenario.yaml of `tierplan whatif`; of a file of several,
        /// the one the plan was made for).
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
    },
    /// Re-plan scenarios (files of Scenario documents, and built-in sweeps) from a baseline
    /// plan with minimal disruption, and compare them in one table; `whatif merge` joins
    /// the results of sharded runs.
    Whatif(Box<cli::whatif::Args>),
    /// Audit a running cluster (a `kubectl get -o yaml` dump, or --cluster) against the Policy: nodes that
    /// mix tiers, escape routes, wildcard tolerations, self-set tier labels, drift from a
    /// plan, the admission policy, untiered workloads. Exit 1 when anything is found.
    Audit(cli::audit::Args),
    /// Read Kubernetes manifests, `kubectl get -o yaml|json` dumps or snapshots and write the
    /// tierplan documents they amount to, each value annotated with where it came from.
    Import(cli::import::Args),
    /// Set the plan's pool labels and taints on the nodes of a live cluster (server-side
    /// apply, field manager `tierplan`): a server-side dry run with a diff unless --yes.
    Apply(cli::apply::Args),
    /// Draw the constraint graph (classes, compatibility and conflict edges, and with --plan
    /// the plan's pools as clusters) as DOT, SVG or Mermaid on standard output.
    Graph(cli::graph::Args),
    /// Why a workload's replicas sit where a plan puts them, and which rule keeps them out
    /// of every other pool and off the other nodes, grouped by cause.
    Explain(cli::explain::Args),
    /// Write the JSON Schemas of the input kinds and of plan.json into DIR.
    Schemas {
        #[arg(default_value = "schemas")]
        dir: PathBuf,
        /// Overwrite files in DIR that tierplan did not write.
        #[arg(long)]
        force: bool,
    },
}

/// Only a binary picks the allocator; see Cargo.toml's `mimalloc`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
            budget,
            previous,
            stability,
            verbose,
            quiet,
            output,
            report: with_report,
            cluster,
        } => {
            let mut options = solve_options(&budget, stability)?;
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
            if with_report {
                out.check(REPORT_FILE)?;
            }
            let live = cli::cluster::source(&cluster, None)?;
            let Some(model) = cli::load_and(&paths, live.as_ref()) else {
                return Ok(ExitCode::from(2));
            };
            if let Some(warning) = report::zone_warning(&model) {
                eprintln!("{warning}");
            }
            let spinner = cli::progress::Spinner::start(quiet);
            options.progress = Some(spinner.hook());
            let mut solved = solve::solve(&model, &options);
            if solved.plan.status == tierplan::plan::Status::Infeasible {
                spinner.stage("explaining why no plan exists");
                solved.plan.explanation = tierplan::explanation::explain(&model);
            }
            spinner.finish();
            // The planner's plan is re-verified by independent code before anyone acts on it.
            let verdict = check::check(&model, &solved.plan);
            if !verdict.accepts(solved.plan.status) {
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
            if solved.plan.status == tierplan::plan::Status::Infeasible {
                eprintln!("the plan is infeasible, so only {PLAN_FILE} is written (no {MANIFESTS_DIR}/): its `unplaced` and `unmet` say why");
            }
            let page = with_report.then(|| report::html::page(&model, &solved.plan, None));
            let extra: Vec<(&str, &[u8])> =
                page.iter().map(|p| (REPORT_FILE, p.as_bytes())).collect();
            let (done, manifests) = match write_plan_dir(
                &out,
                &model,
                &solved.plan,
                options.previous.as_ref(),
                &extra,
            ) {
                Ok(written) => written,
                Err(e) if e.downcast_ref::<output::OutputError>().is_some() => return Err(e),
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
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
                    if let Some(why) = &solved.plan.explanation {
                        out!("{why}")?;
                    }
                    out!(
                        "{}",
                        report::summary(&model, &solved.plan, Some(&solved.stats))
                    )?;
                    if verbose {
                        out!("{}", report::counters(&solved.stats))?;
                    }
                    outln!("wrote {}", done.written[0].display())?;
                    if with_report {
                        outln!("wrote {}", out.path(REPORT_FILE).display())?;
                    }
                    if manifests > 0 {
                        outln!(
                            "wrote {manifests} files under {} (build with `kubectl kustomize`)",
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
            if let Some(warning) = report::admission_warning(&model).filter(|_| manifests > 0) {
                eprintln!("{warning}");
            }
            Ok(exit_for(&solved.plan))
        }
        Command::Check {
            paths,
            plan,
            manifests,
            built,
            scenario,
        } => {
            let plan_doc = match read_plan(&plan) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let model = match &scenario {
                None => load(&paths),
                Some(file) => cli::whatif::scenario_model(&paths, file, &plan_doc),
            };
            let Some(model) = model else {
                return Ok(ExitCode::from(2));
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
        Command::Whatif(args) => cli::whatif::run(*args),
        Command::Audit(args) => cli::audit::run(args),
        Command::Import(args) => cli::import::run(args),
        Command::Apply(args) => cli::apply::run(args),
        Command::Graph(args) => cli::graph::run(args),
        Command::Explain(args) => cli::explain::run(args),
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
