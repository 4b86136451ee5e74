//! `tierplan-bench`: converts published benchmark instances to tierplan YAML and runs the
//! benchmark suites (planner and baselines, each in a child process of this binary).

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;
use tierplan::bench::scale::{self, Size, Step};
use tierplan::bench::{self, report, sweep, Method, RunOptions, Suite};
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
    /// Write a generated instance as tierplan YAML: `issue-2` (2,000 workloads, 1,000
    /// nodes, the what-if sweep benchmark's) or `scaled-WxN` (W workloads, N nodes).
    Generate {
        /// issue-2 | scaled-WxN
        name: String,
        /// Directory to write the YAML files into (must hold no YAML yet).
        #[arg(long)]
        out: PathBuf,
    },
    /// Run a suite; write BENCHMARKS.md and benchmarks.csv.
    Run {
        /// quick (a few small instances, for CI) | full (everything: the README's table)
        #[arg(long)]
        suite: Suite,
        /// The benchmark data: bppc/, vbp-multidim/, alibaba-tianchi2018/, roadef2012-a/.
        #[arg(long, default_value = "../shared/bench")]
        data: PathBuf,
        /// Where BENCHMARKS.md and benchmarks.csv go [default: . for full,
        /// target/bench-quick for quick, so CI never overwrites the committed results].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Keep only instances whose family/name contains one of these.
        filters: Vec<String>,
    },
    /// Differential sweep: plan random small and medium instances, check every plan, and
    /// compare with the baselines; instances where the planner fails are written to --keep.
    Sweep {
        /// Number of instances.
        #[arg(long, default_value_t = 10_000)]
        instances: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where the instances it finds go, each with its expected outcome.
        #[arg(long, default_value = "tests/data/sweep")]
        keep: PathBuf,
    },
    /// Scaling benchmark: generate each size, plan it and prove its manifests (each in a
    /// child process), and write the table into BENCHMARKS.md, the rows into
    /// docs/scaling.csv (other sizes' rows kept) and the plot into docs/scaling.svg.
    Scale {
        /// WORKLOADSxNODES sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = scale::DEFAULT_SIZES)]
        sizes: Vec<Size>,
        /// Where BENCHMARKS.md and docs/ are.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Internal: one command of the scaling benchmark (run by `scale` as a child process).
    #[command(hide = true)]
    ScaleChild {
        #[arg(long)]
        step: Step,
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        report: PathBuf,
    },
    /// Internal: one method on one converted instance (run by `run` as a child process).
    #[command(hide = true)]
    Solve {
        #[arg(long)]
        method: Method,
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        time_limit: f64,
    },
}

/// Only a binary picks the allocator; see Cargo.toml's `mimalloc`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        Command::Generate { name, out } => {
            use tierplan::generate::{generate, GenParams};
            let params = match name.as_str() {
                "issue-2" => GenParams::issue2(),
                other => {
                    let size = other.strip_prefix("scaled-").and_then(|s| {
                        let (w, n) = s.split_once('x')?;
                        Some((w.parse().ok()?, n.parse().ok()?))
                    });
                    let Some((w, n)) = size else {
                        bail!("unknown instance `{other}`: write issue-2 or scaled-WxN");
                    };
                    GenParams::scaled(w, n, 1)
                }
            };
            let files = convert::write_dir(&generate(&params), &out)?;
            println!("{name}: {} file(s) in {}", files.len(), out.display());
            Ok(())
        }
        Command::Run {
            suite,
            data,
            out,
            filters,
        } => {
            let out = out.unwrap_or_else(|| match suite {
                Suite::Full => PathBuf::from("."),
                Suite::Quick => PathBuf::from("target/bench-quick"),
            });
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
            let options = RunOptions {
                exe: std::env::current_exe().context("cannot find this executable")?,
                data,
                scratch: scratch.path().to_path_buf(),
                filters,
            };
            let result = bench::run_suite(suite, &options)?;
            let command = format!(
                "cargo run --release --features bench --bin tierplan-bench -- run --suite {}",
                match suite {
                    Suite::Quick => "quick",
                    Suite::Full => "full",
                }
            );
            let md = out.join("BENCHMARKS.md");
            // The scaling section is `scale`'s: kept as it is.
            let old = std::fs::read_to_string(&md).unwrap_or_default();
            let mut text = report::markdown(&result, &command);
            if let Some(section) = scale::existing_section(&old) {
                text = scale::replace_section(&text, section);
            }
            std::fs::write(&md, text).with_context(|| format!("cannot write {}", md.display()))?;
            report::write_csv(&result, &out.join("benchmarks.csv"))?;
            let targets = report::targets(&result);
            for t in &targets {
                let met = match t.met {
                    Some(true) => "met",
                    Some(false) => "NOT MET",
                    None => "-",
                };
                println!("{met:>7}  {}: {}", t.what, t.measured);
            }
            println!("wrote {} and benchmarks.csv", md.display());
            // Targets and incomplete plans are reported, not enforced; a plan that claims
            // something false, or a crash, is a failure.
            let broken: Vec<String> = result
                .cases
                .iter()
                .flat_map(|c| {
                    c.outcomes
                        .iter()
                        .filter_map(move |o| match (&o.run, &o.error) {
                            (Some(r), _) if r.violations > 0 => Some(format!(
                                "{}: the {} plan breaks {} rule(s)",
                                c.name,
                                o.method.as_str(),
                                r.violations
                            )),
                            (None, Some(e)) => Some(format!("{}: {e}", c.name)),
                            _ => None,
                        })
                })
                .collect();
            if !broken.is_empty() {
                bail!("{}", broken.join("\n"));
            }
            Ok(())
        }
        Command::Sweep {
            instances,
            seed,
            keep,
        } => {
            let bar = indicatif::ProgressBar::new(instances);
            let found = sweep::run(seed, instances, |s| {
                bar.set_message(format!("{} found", s.findings.len()));
                bar.inc(1);
            });
            bar.finish_and_clear();
            println!(
                "{} instances (seed {seed}): a baseline complete on {}, the planner on {}, costlier than a baseline on {}; {} found",
                found.instances,
                found.baseline_complete,
                found.planner_complete,
                found.costlier,
                found.findings.len()
            );
            if found.findings.is_empty() {
                return Ok(());
            }
            std::fs::create_dir_all(&keep)
                .with_context(|| format!("cannot create {}", keep.display()))?;
            for (name, problem, expected, yaml) in &found.findings {
                let file = keep.join(format!("{name}.yaml"));
                std::fs::write(&file, format!("{}\n{yaml}", expected.header()))
                    .with_context(|| format!("cannot write {}", file.display()))?;
                println!("{}: {problem}", file.display());
            }
            bail!("{} instance(s) found", found.findings.len())
        }
        Command::Scale { sizes, out } => {
            let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
            let exe = std::env::current_exe().context("cannot find this executable")?;
            let runs = scale::run(&exe, &sizes, scratch.path(), |what| eprintln!("{what}"))?;
            let docs = out.join("docs");
            std::fs::create_dir_all(&docs)
                .with_context(|| format!("cannot create {}", docs.display()))?;
            let csv = docs.join("scaling.csv");
            let rows = scale::merge(scale::read_rows(&csv)?, &runs);
            scale::write_rows(&rows, &csv)?;
            let svg = docs.join("scaling.svg");
            std::fs::write(&svg, scale::svg(&rows))
                .with_context(|| format!("cannot write {}", svg.display()))?;
            let md = out.join("BENCHMARKS.md");
            let old = std::fs::read_to_string(&md).unwrap_or_default();
            let command =
                "cargo run --release --features bench --bin tierplan-bench -- scale --sizes SIZES";
            std::fs::write(
                &md,
                scale::replace_section(&old, &scale::section(&rows, command)),
            )
            .with_context(|| format!("cannot write {}", md.display()))?;
            for r in &runs {
                println!(
                    "{}: plan {:.1} s, check --manifests {:.1} s{}",
                    r.size,
                    r.plan_seconds,
                    r.check_seconds,
                    if r.plan.ok && r.check.ok {
                        ""
                    } else {
                        " (NOT valid or NOT holding)"
                    }
                );
            }
            println!(
                "wrote {}, {} and {}",
                md.display(),
                csv.display(),
                svg.display()
            );
            Ok(())
        }
        Command::ScaleChild {
            step,
            input,
            out,
            report,
        } => {
            let run = match step {
                Step::Plan => scale::plan_child(&input, &out)?,
                Step::Check => scale::check_child(&input, &out)?,
            };
            std::fs::write(&report, serde_json::to_vec(&run)?)
                .with_context(|| format!("cannot write {}", report.display()))?;
            Ok(())
        }
        Command::Solve {
            method,
            input,
            out,
            time_limit,
        } => {
            let limit = Duration::try_from_secs_f64(time_limit).context("invalid --time-limit")?;
            Ok(bench::child::run_child(&input, method, limit, &out)?)
        }
    }
}
