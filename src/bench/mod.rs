//! Benchmark suites on published data: the planner and two baselines on the same inputs,
//! each verified by [`crate::check`], against known optima or lower bounds.
//!
//! The parent converts every instance to YAML once, then runs each method in a child process
//! ([`child`]) that loads the YAML as a user's run would, so that time and peak memory are
//! the method's own. [`report`] turns the results into CSV and Markdown.

pub mod child;
pub mod report;
pub mod scale;
pub mod sweep;

use crate::check::check;
use crate::convert::alibaba::Alibaba;
use crate::convert::roadef::Roadef;
use crate::convert::{self, ConvertError, Format};
use crate::generate::{generate, GenParams};
use crate::input::{Documents, InputError};
use crate::model::{self, Model};
use crate::plan::Status;
pub use child::Method;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a benchmark run failed. Each message is whole, its cause included, so only the
/// transparent `Convert` has a `source()` (its own): a reporter that prints the chain would
/// otherwise print the cause twice.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    /// A conversion failed.
    Convert(#[from] ConvertError),
    #[error("invalid input:\n{0}")]
    /// The instance does not validate.
    Input(InputError),
    #[error("{}: {error}", path.display())]
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    /// A line of a table of optima cannot be read.
    Table {
        /// The table.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    #[error("CSV: {0}")]
    /// Reading or writing CSV failed.
    Csv(csv::Error),
    #[error("JSON: {0}")]
    /// A child's result is not valid JSON.
    Json(serde_json::Error),
    #[error("cannot start {}: {error}", exe.display())]
    /// A child process could not be started.
    Spawn {
        /// The executable.
        exe: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    #[error("waiting for a child: {0}")]
    /// Waiting for a child process failed.
    Wait(std::io::Error),
    #[error("the {method} child {how}:\n{stderr}")]
    /// A child process failed.
    Child {
        /// The method it ran.
        method: &'static str,
        /// How it ended.
        how: String,
        /// What it printed on standard error.
        stderr: String,
    },
    #[error("{0}")]
    /// Writing a plan's directory failed.
    Output(crate::output::OutputError),
    #[error("{0}")]
    /// Reading manifests back failed.
    Proof(crate::sched::ProofError),
    #[error("unknown method `{0}` (expected planner, ffd or kube)")]
    /// No such method.
    UnknownMethod(String),
    #[error("unknown suite `{0}` (expected quick or full)")]
    /// No such suite.
    UnknownSuite(String),
}

// By hand rather than `#[from]`, which would also make the cause the `source()`.
impl From<InputError> for BenchError {
    fn from(e: InputError) -> Self {
        BenchError::Input(e)
    }
}

impl From<crate::output::OutputError> for BenchError {
    fn from(e: crate::output::OutputError) -> Self {
        BenchError::Output(e)
    }
}

impl From<crate::sched::ProofError> for BenchError {
    fn from(e: crate::sched::ProofError) -> Self {
        BenchError::Proof(e)
    }
}

impl From<csv::Error> for BenchError {
    fn from(e: csv::Error) -> Self {
        BenchError::Csv(e)
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> BenchError {
    let path = path.to_path_buf();
    move |error| BenchError::Io { path, error }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// Which instances to run.
pub enum Suite {
    /// A few small instances of every family: minutes, for CI.
    Quick,
    /// Everything: the README's table.
    Full,
}

impl std::str::FromStr for Suite {
    type Err = BenchError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "quick" => Ok(Suite::Quick),
            "full" => Ok(Suite::Full),
            other => Err(BenchError::UnknownSuite(other.to_string())),
        }
    }
}

/// Where an instance comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A published instance in this format, at this path.
    File(Format, PathBuf),
    /// An instance of `tierplan::generate`.
    Generated(Box<GenParams>),
}

/// The benchmark family an instance belongs to (one table each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// Bin packing with precedence constraints.
    Bppc,
    /// Vector bin packing.
    Vbp,
    /// The Alibaba Tianchi 2018 scheduling data set.
    Alibaba,
    /// ROADEF/EURO 2012 machine reassignment.
    Roadef,
    /// Generated tiered clusters.
    Generated,
}

impl Family {
    /// The family's name in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Bppc => "bppc",
            Family::Vbp => "vbp",
            Family::Alibaba => "alibaba",
            Family::Roadef => "roadef",
            Family::Generated => "generated",
        }
    }

    /// The planner's safety stop: the target time where the issue sets one.
    pub fn time_limit(self) -> Duration {
        Duration::from_secs(match self {
            Family::Bppc | Family::Vbp => 10,
            Family::Alibaba => 120,
            Family::Roadef | Family::Generated => 60,
        })
    }
}

/// One instance of a suite.
#[derive(Debug, Clone)]
pub struct Case {
    /// Where it comes from.
    pub family: Family,
    /// The instance's name.
    pub name: String,
    /// Its input.
    pub source: Source,
    /// A proven optimum (node count), where published.
    pub optimum: Option<u64>,
}

/// The instances of `suite`, reading file lists and optimum tables under `data`.
pub fn cases(suite: Suite, data: &Path) -> Result<Vec<Case>, BenchError> {
    let bppc_dir = data.join("bppc");
    let bppc_optima = optima(&bppc_dir.join("optima.csv"))?;
    let bppc_case = |name: &str| {
        // The table keys classes 1-4 as `u/`, 5-8 as `t/`.
        let set = if name.as_bytes().get(5).is_some_and(|c| *c <= b'4') {
            "u"
        } else {
            "t"
        };
        Case {
            family: Family::Bppc,
            name: name.to_string(),
            source: Source::File(Format::Bppc, bppc_dir.join(format!("{name}.txt"))),
            optimum: bppc_optima.get(&format!("{set}/{name}")).copied(),
        }
    };
    let vbp = vbp_sample(&data.join("vbp-multidim"))?;
    let roadef_dir = data.join("roadef2012-a");
    let roadef_case = |name: &str| Case {
        family: Family::Roadef,
        name: name.to_string(),
        source: Source::File(Format::Roadef, roadef_dir.join(format!("model_{name}.txt"))),
        optimum: None,
    };
    let generated = |name: &str, p: GenParams| Case {
        family: Family::Generated,
        name: name.to_string(),
        source: Source::Generated(Box::new(p)),
        optimum: None,
    };
    let mut out = Vec::new();
    match suite {
        Suite::Quick => {
            out.extend(["BPPC_1_0_2", "BPPC_5_1_3", "BPPC_6_5_8"].map(bppc_case));
            // The smallest sampled instance of each benchmark.
            for bench in ["Panigrahy", "New", "Triplet"] {
                out.extend(vbp.iter().find(|c| c.name.starts_with(bench)).cloned());
            }
            out.push(roadef_case("a1_1"));
            out.push(generated("scaled-500x250", GenParams::scaled(500, 250, 1)));
        }
        Suite::Full => {
            let mut names: Vec<String> = std::fs::read_dir(&bppc_dir)
                .map_err(io_error(&bppc_dir))?
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter_map(|f| f.strip_suffix(".txt").map(str::to_string))
                .filter(|f| f.starts_with("BPPC_"))
                .collect();
            names.sort();
            out.extend(names.iter().map(|n| bppc_case(n)));
            out.extend(vbp);
            out.push(Case {
                family: Family::Alibaba,
                name: "tianchi2018".to_string(),
                source: Source::File(Format::Alibaba, data.join("alibaba-tianchi2018")),
                optimum: None,
            });
            for a in 1..=2 {
                for i in 1..=5 {
                    out.push(roadef_case(&format!("a{a}_{i}")));
                }
            }
            out.push(generated("issue-2", GenParams::issue2()));
            out.push(generated(
                "scaled-25000x10000",
                GenParams::scaled(25_000, 10_000, 1),
            ));
        }
    }
    Ok(out)
}

/// Proven optima from an `optima.csv` (`instance,optimum_or_best,proven_optimal,source`).
pub fn optima(path: &Path) -> Result<BTreeMap<String, u64>, BenchError> {
    let mut reader = csv::Reader::from_path(path)?;
    let mut out = BTreeMap::new();
    for row in reader.records() {
        let row = row?;
        if row.get(2) != Some("yes") {
            continue;
        }
        let line = row.position().map_or(0, |p| p.line());
        let value = row
            .get(1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| BenchError::Table {
                path: path.to_path_buf(),
                line,
                message: "the optimum is not a whole number".to_string(),
            })?;
        out.insert(row.get(0).unwrap_or_default().to_string(), value);
    }
    Ok(out)
}

/// (benchmark, class, n): instances of one group differ only by their random draw.
type Group = (String, String, u32);

/// The fixed d = 3 sample: for every (benchmark, class, n), the two lowest-numbered
/// instances with a proven optimum that the converter reads (19 published Caprara files hold
/// a negative size and are refused).
pub fn vbp_sample(dir: &Path) -> Result<Vec<Case>, BenchError> {
    let optima = optima(&dir.join("optima.csv"))?;
    // ((benchmark, class, n), i) → the case, so that instances come in index order.
    let mut found: BTreeMap<(Group, u32), Case> = BTreeMap::new();
    for bench in ["Panigrahy", "New", "Triplet"] {
        let root = dir.join(format!("{bench}_instances_multidim"));
        let classes = std::fs::read_dir(&root).map_err(io_error(&root))?;
        for class in classes.filter_map(Result::ok).filter(|e| e.path().is_dir()) {
            let files = std::fs::read_dir(class.path()).map_err(io_error(&class.path()))?;
            for f in files.filter_map(Result::ok) {
                let path = f.path();
                let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                    continue;
                };
                // classK_n_d_i
                let parts: Vec<&str> = stem.split('_').collect();
                let [class_name, n, "3", i] = parts[..] else {
                    continue;
                };
                let (Ok(n), Ok(i)) = (n.parse::<u32>(), i.parse::<u32>()) else {
                    continue;
                };
                let Some(&opt) = optima.get(&format!("{bench}/{stem}")) else {
                    continue;
                };
                let case = Case {
                    family: Family::Vbp,
                    name: format!("{bench}/{stem}"),
                    source: Source::File(Format::Vbp, path.clone()),
                    optimum: Some(opt),
                };
                found.insert(((bench.to_string(), class_name.to_string(), n), i), case);
            }
        }
    }
    let mut taken: BTreeMap<Group, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for ((group, _), case) in found {
        let count = taken.entry(group).or_default();
        let Source::File(_, path) = &case.source else {
            continue;
        };
        if *count == 2 || convert::vbp::Vbp::read(path).is_err() {
            continue;
        }
        *count += 1;
        out.push(case);
    }
    // Smallest first within a benchmark keeps the quick suite's pick small.
    out.sort_by_key(|c| {
        let n = c.name.split('_').nth(1).and_then(|n| n.parse::<u32>().ok());
        (
            c.name.split('/').next().map(str::to_string),
            n,
            c.name.clone(),
        )
    });
    Ok(out)
}

/// The fewest nodes whose capacities could cover the total requests, resource by resource
/// (largest nodes first): a lower bound on the node count of any valid plan.
pub fn cover_bound(model: &Model) -> u64 {
    let overhead = &model.policy.node_overhead;
    (0..model.resources.len())
        .map(|r| {
            let demand: u128 = model
                .workloads
                .iter()
                .map(|w| w.requests[r] as u128 * w.replicas as u128)
                .sum();
            let mut caps: Vec<u128> = model
                .nodes
                .iter()
                .map(|n| n.allocatable[r].map_or(0, |a| a.saturating_sub(overhead[r])) as u128)
                .collect();
            caps.sort_unstable_by(|a, b| b.cmp(a));
            let mut covered = 0u128;
            let mut count = 0u64;
            for c in caps {
                if covered >= demand {
                    break;
                }
                covered += c;
                count += 1;
            }
            count
        })
        .max()
        .unwrap_or(0)
}

/// What a production placement did with the same instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Production {
    /// Machines the production assignment uses.
    pub machines_used: usize,
    /// Replicas it leaves unplaced.
    pub replicas_unplaced: usize,
}

/// One method's outcome on one instance.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The method.
    pub method: Method,
    /// `None` when the child failed; the error is in `error`.
    pub run: Option<Run>,
    /// Why the method failed, if it did.
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
/// One method's result on one instance.
pub struct Run {
    /// Nodes used.
    pub nodes: u64,
    /// Cost per hour.
    pub cost: f64,
    /// The plan's status.
    pub status: Status,
    /// The method's own lower bound (the planner's; 0 for the baselines).
    pub lower_bound: f64,
    /// Every replica placed, every rule holds: `check` finds the plan valid.
    pub valid: bool,
    /// Rules the checker finds broken.
    pub violations: usize,
    /// Replicas left unplaced.
    pub unplaced: usize,
    /// Time of the method alone.
    pub seconds: f64,
    /// Time to read and validate the YAML.
    pub load_seconds: f64,
    /// The child's peak resident memory, where the system reports it.
    pub peak_rss_bytes: Option<u64>,
    /// Whether the time limit stopped the method.
    pub stopped_by_time: bool,
}

/// One instance with the results of every method.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The instance's family.
    pub family: Family,
    /// The instance's name.
    pub name: String,
    /// Workloads in it.
    pub workloads: usize,
    /// Replicas in it.
    pub replicas: u64,
    /// Inventory nodes in it.
    pub inventory: usize,
    /// The published optimum (nodes), if any.
    pub optimum: Option<u64>,
    /// [`cover_bound`] of the converted instance.
    pub cover_bound: u64,
    /// What the production assignment did, where the data set has one.
    pub production: Option<Production>,
    /// Source rules the conversion left out.
    pub dropped: Vec<String>,
    /// One per method.
    pub outcomes: Vec<Outcome>,
}

impl CaseResult {
    /// The run of `method`, if it completed.
    pub fn run(&self, method: Method) -> Option<&Run> {
        self.outcomes
            .iter()
            .find(|o| o.method == method)
            .and_then(|o| o.run.as_ref())
    }

    /// The best proven value to compare against: the optimum, else the best lower bound
    /// (the planner's bound, rounded up to whole nodes when nodes cost 1, or the cover bound).
    pub fn reference(&self) -> Option<(f64, &'static str)> {
        if let Some(opt) = self.optimum {
            return Some((opt as f64, "optimum"));
        }
        let planner = self.run(Method::Planner).map_or(0.0, |r| r.lower_bound);
        let bound = if self.family == Family::Generated {
            planner
        } else {
            // Costs are 1 per node here, so a bound on cost is one on whole nodes.
            (planner - 1e-6).ceil().max(self.cover_bound as f64)
        };
        (bound > 0.0).then_some((bound, "lower bound"))
    }

    /// The planner's objective over the reference (cost, which is the node count when
    /// nodes cost 1).
    pub fn ratio(&self) -> Option<f64> {
        let run = self.run(Method::Planner).filter(|r| r.valid)?;
        let (reference, _) = self.reference()?;
        Some(run.cost / reference)
    }

    /// The planner's saving against a baseline, as a fraction of the baseline's cost; only
    /// when both plans are valid.
    pub fn saving(&self, baseline: Method) -> Option<f64> {
        let planner = self.run(Method::Planner).filter(|r| r.valid)?;
        let base = self.run(baseline).filter(|r| r.valid && r.cost > 0.0)?;
        Some((base.cost - planner.cost) / base.cost)
    }
}

/// How to run a suite.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The bench binary, run as `EXE solve ...` for every method.
    pub exe: PathBuf,
    /// The directory of the published instances.
    pub data: PathBuf,
    /// Converted YAML and child outputs go here.
    pub scratch: PathBuf,
    /// Keep only cases whose `family/name` contains one of these (all when empty).
    pub filters: Vec<String>,
}

/// Converts a case's instance: documents, dropped rules, and the production placement.
fn prepare(case: &Case) -> Result<(Documents, Vec<String>, Option<Production>), BenchError> {
    match &case.source {
        Source::Generated(p) => Ok((generate(p), Vec::new(), None)),
        Source::File(format, path) => {
            let converted = convert::convert(*format, path)?;
            let production = match format {
                Format::Alibaba => {
                    let p = Alibaba::read(path)?.production()?;
                    Some(Production {
                        machines_used: p.machines_used,
                        replicas_unplaced: p.replicas_unplaced,
                    })
                }
                Format::Roadef => Some(Production {
                    machines_used: Roadef::read(path)?.initial_machines_used()?,
                    replicas_unplaced: 0,
                }),
                Format::Bppc | Format::Vbp => None,
            };
            let docs = match format {
                // Identical bins, one per item: trim to what FFD needs (see fit_bins_to_ffd).
                Format::Bppc | Format::Vbp => convert::fit_bins_to_ffd(converted.documents)?,
                Format::Alibaba | Format::Roadef => converted.documents,
            };
            Ok((docs, converted.dropped, production))
        }
    }
}

/// Runs every method on one case.
pub fn run_case(
    case: &Case,
    options: &RunOptions,
    mut progress: impl FnMut(Method),
) -> Result<CaseResult, BenchError> {
    let dir = options
        .scratch
        .join(case.family.as_str())
        .join(case.name.replace('/', "-"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
    }
    let (docs, dropped, production) = prepare(case)?;
    let input = dir.join("input");
    convert::write_dir(&docs, &input)?;
    drop(docs);
    let model = model::build_from_paths(std::slice::from_ref(&input))?;
    let time_limit = case.family.time_limit();
    // Generous: the safety stop is checked between steps, and the baselines have none.
    let hard_limit = time_limit * 3 + Duration::from_secs(120);
    let mut outcomes = Vec::new();
    for method in Method::ALL {
        progress(method);
        let outcome = match child::spawn(&options.exe, &input, method, time_limit, hard_limit, &dir)
        {
            Ok(output) => {
                let report = check(&model, &output.plan);
                let plan = &output.plan;
                Outcome {
                    method,
                    run: Some(Run {
                        nodes: plan.objective.nodes,
                        cost: plan.objective.cost,
                        status: plan.status,
                        lower_bound: plan.objective.lower_bound,
                        valid: report.is_valid(),
                        violations: report.violations.len(),
                        unplaced: plan.unplaced.len(),
                        seconds: output.seconds,
                        load_seconds: output.load_seconds,
                        peak_rss_bytes: output.peak_rss_bytes,
                        stopped_by_time: output.stopped_by_time,
                    }),
                    error: None,
                }
            }
            Err(e @ BenchError::Child { .. }) => Outcome {
                method,
                run: None,
                error: Some(e.to_string()),
            },
            Err(e) => return Err(e),
        };
        outcomes.push(outcome);
    }
    Ok(CaseResult {
        family: case.family,
        name: case.name.clone(),
        workloads: model.workloads.len(),
        replicas: model.total_replicas(),
        inventory: model.nodes.len(),
        optimum: case.optimum,
        cover_bound: cover_bound(&model),
        production,
        dropped,
        outcomes,
    })
}

/// A whole suite's results and its wall time.
#[derive(Debug, Clone)]
pub struct SuiteResult {
    /// The suite run.
    pub suite: Suite,
    /// One per instance.
    pub cases: Vec<CaseResult>,
    /// Wall time of the whole suite.
    pub seconds: f64,
    /// The machine's 1-minute load average before and after the run (Linux), since other
    /// work on the machine slows every method down.
    pub load_average: Option<(f64, f64)>,
}

/// The 1-minute load average, from `/proc/loadavg`.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Runs the cases of `suite` that pass the filters, with a progress bar on a terminal.
pub fn run_suite(suite: Suite, options: &RunOptions) -> Result<SuiteResult, BenchError> {
    let start = Instant::now();
    let load_before = load_average();
    let cases: Vec<Case> = cases(suite, &options.data)?
        .into_iter()
        .filter(|c| {
            let id = format!("{}/{}", c.family.as_str(), c.name);
            options.filters.is_empty() || options.filters.iter().any(|f| id.contains(f.as_str()))
        })
        .collect();
    let bar = indicatif::ProgressBar::new((cases.len() * Method::ALL.len()) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} [{elapsed_precise}] {msg}")
            .expect("a valid template"),
    );
    let mut results = Vec::new();
    for case in &cases {
        let r = run_case(case, options, |method| {
            bar.set_message(format!(
                "{}/{}: {}",
                case.family.as_str(),
                case.name,
                method.as_str()
            ));
            bar.inc(1);
        })?;
        results.push(r);
    }
    bar.finish_and_clear();
    Ok(SuiteResult {
        suite,
        cases: results,
        seconds: start.elapsed().as_secs_f64(),
        load_average: load_before.zip(load_average()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::bppc::Bppc;

    #[test]
    fn cover_bound_takes_the_largest_nodes_first_per_resource() {
        // Demand 3 + 3 = 6 cores on bins of 4 cores: one bin covers 4, two cover 8.
        let b = Bppc::parse(Path::new("t.txt"), "2 4\n1 3\n2 3\n").unwrap();
        let m = model::build(b.documents()).unwrap();
        assert_eq!(cover_bound(&m), 2);
    }

    #[test]
    fn reference_prefers_the_optimum_then_the_best_bound() {
        let run = |cost: f64, lower_bound: f64| Run {
            nodes: cost as u64,
            cost,
            status: Status::Feasible,
            lower_bound,
            valid: true,
            violations: 0,
            unplaced: 0,
            seconds: 0.0,
            load_seconds: 0.0,
            peak_rss_bytes: None,
            stopped_by_time: false,
        };
        let mut r = CaseResult {
            family: Family::Alibaba,
            name: "x".into(),
            workloads: 1,
            replicas: 1,
            inventory: 1,
            optimum: None,
            cover_bound: 10,
            production: None,
            dropped: Vec::new(),
            outcomes: vec![
                Outcome {
                    method: Method::Planner,
                    run: Some(run(12.0, 10.2)),
                    error: None,
                },
                Outcome {
                    method: Method::Ffd,
                    run: Some(run(15.0, 0.0)),
                    error: None,
                },
            ],
        };
        assert_eq!(r.reference(), Some((11.0, "lower bound")));
        assert!((r.ratio().unwrap() - 12.0 / 11.0).abs() < 1e-9);
        assert!((r.saving(Method::Ffd).unwrap() - 0.2).abs() < 1e-9);
        assert_eq!(r.saving(Method::Kube), None);
        r.optimum = Some(12);
        assert_eq!(r.reference(), Some((12.0, "optimum")));
    }

    #[test]
    fn optima_keep_proven_rows_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("optima.csv");
        std::fs::write(
            &path,
            "instance,optimum_or_best,proven_optimal,source\na,5,yes,\"x, y\"\nb,7,no,z\n",
        )
        .unwrap();
        let o = optima(&path).unwrap();
        assert_eq!(o.into_iter().collect::<Vec<_>>(), [("a".to_string(), 5)]);
    }

    #[test]
    fn the_vbp_sample_is_fixed_and_large_enough() {
        let dir = Path::new("../shared/bench/vbp-multidim");
        if !dir.exists() {
            eprintln!("skipped: {} is not present", dir.display());
            return;
        }
        let sample = vbp_sample(dir).unwrap();
        assert!(sample.len() >= 100, "{} instances", sample.len());
        assert!(sample.iter().all(|c| c.optimum.is_some()));
        let names: Vec<&str> = sample.iter().map(|c| c.name.as_str()).collect();
        assert!(names.contains(&"Panigrahy/class1_20_3_0"), "{names:?}");
        // Refused for its negative size, so instance 1 and 2 stand in.
        assert!(!names.contains(&"Triplet/classC_120_3_0"));
        assert!(names.contains(&"Triplet/classC_120_3_2"));
    }
}
