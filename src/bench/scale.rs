//! The scaling benchmark (issue 20): generated tiered instances of growing size, each
//! planned and proven the way `tierplan plan DIR --out OUT` and `tierplan check DIR --plan
//! OUT/plan.json --manifests OUT/manifests` do, each command in a child process of the bench
//! binary, timed stage by stage with the peak memory of each stage.
//!
//! Owns the `scale` figures: `docs/scaling.csv` (every size measured so far, one row per
//! size), the section of BENCHMARKS.md between [`BEGIN`] and [`END`], and
//! `docs/scaling.svg`. A run replaces the rows of the sizes it measures and keeps the others,
//! so the largest sizes can be run on their own.

use super::BenchError;
use crate::check::check;
use crate::emit;
use crate::generate::{generate, GenParams};
use crate::input::wire::{Quantity, SystemDaemonSetSpec};
use crate::model;
use crate::output::OutDir;
use crate::plan::Plan;
use crate::sched;
use crate::solve::{solve, Progress, SolveOptions, Stage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Opens the BENCHMARKS.md section this module writes.
pub const BEGIN: &str = "<!-- scaling: written by tierplan-bench scale -->";
/// Closes it.
pub const END: &str = "<!-- /scaling -->";

/// The sizes the issue names: 1,000 to 65,000 nodes, the last with 200,000 workloads.
pub const DEFAULT_SIZES: &str =
    "1000x1000,2000x2000,5000x5000,10000x10000,20000x20000,65000x65000,200000x65000";

/// An instance size: `scaled-WxN` of `tierplan-bench generate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Size {
    /// Workload documents.
    pub workloads: usize,
    /// Node documents.
    pub nodes: usize,
}

impl std::str::FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (w, n) = s
            .split_once('x')
            .ok_or_else(|| format!("`{s}`: write WORKLOADSxNODES, e.g. 20000x20000"))?;
        let parse = |x: &str| {
            x.parse::<usize>()
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| format!("`{s}`: `{x}` is not a positive number"))
        };
        Ok(Size {
            workloads: parse(w)?,
            nodes: parse(n)?,
        })
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.workloads, self.nodes)
    }
}

/// The instance of `size`: `scaled-WxN` with two system DaemonSets (a CNI and kube-proxy)
/// in the Policy, as every real cluster has, so that the admission binding denies and the
/// proof can hold.
pub fn instance(size: Size) -> crate::input::Documents {
    let mut docs = generate(&GenParams::scaled(size.workloads, size.nodes, 1));
    for (_, policy) in &mut docs.policies {
        policy.spec.system_daemon_sets = [("aws-node", "25m"), ("kube-proxy", "100m")]
            .into_iter()
            .map(|(name, cpu)| SystemDaemonSetSpec {
                name: name.into(),
                namespace: Some("kube-system".into()),
                resources: BTreeMap::from([("cpu".to_string(), Quantity(cpu.into()))]),
            })
            .collect();
    }
    docs
}

/// The two commands a size runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `tierplan plan`.
    Plan,
    /// `tierplan check --manifests`.
    Check,
}

impl Step {
    /// Its name on the child's command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Plan => "plan",
            Step::Check => "check",
        }
    }
}

impl std::str::FromStr for Step {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "plan" => Ok(Step::Plan),
            "check" => Ok(Step::Check),
            _ => Err(format!("unknown step `{s}` (plan or check)")),
        }
    }
}

/// One stage of a command: its wall time and the peak resident memory while it ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageRun {
    /// `load`, `instance`, `bound`, `grouping`, `packing`, `polishing`, `check`, `emit`,
    /// `write`, `read plan`, `read manifests`, `proof`.
    pub name: String,
    /// Wall time.
    pub seconds: f64,
    /// The process's peak resident memory during the stage (`VmHWM` after resetting it
    /// through `/proc/self/clear_refs`; where that cannot be reset, the peak so far).
    pub peak_bytes: Option<u64>,
}

/// What a child reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRun {
    /// Stages in the order they ran.
    pub stages: Vec<StageRun>,
    /// Replicas of the input.
    pub replicas: u64,
    /// Classes the solver formed (plan only).
    pub classes: Option<usize>,
    /// Plan: the checker accepts the plan and it places everything. Check: the checker
    /// accepts it and the proof holds.
    pub ok: bool,
    /// Files written (plan) or pod templates × nodes judged (check).
    pub count: usize,
}

/// Peak resident memory of this process since the last [`reset_peak`] (Linux).
fn peak_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Makes the peak the current resident size, so that the next reading is one stage's.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Times stages one after another.
struct Stages {
    runs: Vec<StageRun>,
    since: Instant,
}

impl Stages {
    fn start() -> Self {
        reset_peak();
        Stages {
            runs: Vec::new(),
            since: Instant::now(),
        }
    }

    /// Ends the stage running since the last call as `name`.
    fn end(&mut self, name: &str) {
        self.runs.push(StageRun {
            name: name.into(),
            seconds: self.since.elapsed().as_secs_f64(),
            peak_bytes: peak_bytes(),
        });
        reset_peak();
        self.since = Instant::now();
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BenchError {
    let path = path.to_path_buf();
    move |error| BenchError::Io { path, error }
}

/// The child's side of `plan`: load `input`, solve (its stages told apart by the progress
/// callback), re-verify, emit and write `out` as `tierplan plan` does.
pub fn plan_child(input: &Path, out: &Path) -> Result<StepRun, BenchError> {
    let mut stages = Stages::start();
    let model = model::build_from_paths(&[input.to_path_buf()])?;
    stages.end("load");
    // The search's stages end where the next begins; before the first is the instance.
    let shared = Arc::new(Mutex::new(Stages::start()));
    let seen = Arc::new(Mutex::new(String::from("instance")));
    let (hook_stages, hook_seen) = (Arc::clone(&shared), Arc::clone(&seen));
    let options = SolveOptions {
        progress: Some(Progress(Arc::new(move |stage: Stage, _| {
            let mut current = hook_seen.lock().unwrap_or_else(|e| e.into_inner());
            let name = stage.to_string();
            if *current != name {
                let mut s = hook_stages.lock().unwrap_or_else(|e| e.into_inner());
                s.end(&current);
                *current = name;
            }
        }))),
        ..SolveOptions::default()
    };
    let solved = solve(&model, &options);
    {
        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
        let last = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        s.end(&last);
        // A stage entered twice is one row.
        for run in s.runs.drain(..) {
            match stages.runs.iter_mut().find(|r| r.name == run.name) {
                Some(r) => {
                    r.seconds += run.seconds;
                    r.peak_bytes = r.peak_bytes.max(run.peak_bytes);
                }
                None => stages.runs.push(run),
            }
        }
    }
    stages.since = Instant::now();
    reset_peak();
    let verdict = check(&model, &solved.plan);
    stages.end("check");
    let plan_json = solved.plan.to_json();
    let manifests = emit::manifests(&model, &solved.plan).unwrap_or_default();
    stages.end("emit");
    let names: Vec<String> = manifests
        .iter()
        .map(|(path, _)| format!("manifests/{path}"))
        .collect();
    let mut files: Vec<(&str, &[u8])> = vec![("plan.json", plan_json.as_bytes())];
    files.extend(
        names
            .iter()
            .zip(&manifests)
            .map(|(name, (_, text))| (name.as_str(), text.as_bytes())),
    );
    let written = OutDir::new(out, true)?.write_replacing(&files, Some("manifests"))?;
    stages.end("write");
    Ok(StepRun {
        stages: stages.runs,
        replicas: model.total_replicas(),
        classes: Some(solved.stats.classes),
        ok: verdict.is_valid() && !manifests.is_empty(),
        count: written.written.len(),
    })
}

/// The child's side of `check`: load `input`, read and re-verify `out/plan.json`, read
/// `out/manifests` and prove them, as `tierplan check --manifests` does.
pub fn check_child(input: &Path, out: &Path) -> Result<StepRun, BenchError> {
    let mut stages = Stages::start();
    let model = model::build_from_paths(&[input.to_path_buf()])?;
    stages.end("load");
    let path = out.join("plan.json");
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let plan: Plan = serde_json::from_slice(&bytes).map_err(BenchError::Json)?;
    stages.end("read plan");
    let verdict = check(&model, &plan);
    stages.end("check");
    let evidence = sched::read::directory(&out.join("manifests"), sched::Parts::All)?;
    stages.end("read manifests");
    let proof = sched::prove_evidence(&model, &plan, &evidence);
    stages.end("proof");
    Ok(StepRun {
        stages: stages.runs,
        replicas: model.total_replicas(),
        classes: None,
        ok: verdict.is_valid() && proof.holds(),
        count: proof.counts.pairs,
    })
}

/// One size: both commands, with the wall time of each child from start to exit.
#[derive(Debug, Clone)]
pub struct SizeRun {
    /// The size.
    pub size: Size,
    /// Replicas of the instance.
    pub replicas: u64,
    /// Classes the solver formed.
    pub classes: usize,
    /// `plan`'s stages.
    pub plan: StepRun,
    /// `plan`'s child from start to exit.
    pub plan_seconds: f64,
    /// `check --manifests`'s stages.
    pub check: StepRun,
    /// `check`'s child from start to exit.
    pub check_seconds: f64,
}

/// Runs `exe scale-child --step STEP --input DIR --out OUT --report FILE` and reads its
/// report; the wall time is the child's, start to exit.
fn spawn(exe: &Path, step: Step, input: &Path, out: &Path) -> Result<(StepRun, f64), BenchError> {
    let report = out.with_extension(format!("{}.json", step.as_str()));
    let log = out.with_extension(format!("{}.stderr", step.as_str()));
    let stderr = std::fs::File::create(&log).map_err(io(&log))?;
    let start = Instant::now();
    // The error, not a backtrace, is what the parent shows of a failed child.
    let status = Command::new(exe)
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .arg("scale-child")
        .arg("--step")
        .arg(step.as_str())
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(out)
        .arg("--report")
        .arg(&report)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .status()
        .map_err(|error| BenchError::Spawn {
            exe: exe.to_path_buf(),
            error,
        })?;
    let seconds = start.elapsed().as_secs_f64();
    if !status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let mut tail: Vec<&str> = text.lines().rev().take(5).collect();
        tail.reverse();
        return Err(BenchError::Child {
            method: step.as_str(),
            how: format!("failed ({status})"),
            stderr: tail.join("\n"),
        });
    }
    let bytes = std::fs::read(&report).map_err(io(&report))?;
    Ok((
        serde_json::from_slice(&bytes).map_err(BenchError::Json)?,
        seconds,
    ))
}

/// Generates each size into `scratch`, then plans and proves it in child processes of `exe`;
/// `tell` hears of each size as it starts.
pub fn run(
    exe: &Path,
    sizes: &[Size],
    scratch: &Path,
    mut tell: impl FnMut(&str),
) -> Result<Vec<SizeRun>, BenchError> {
    let mut out = Vec::new();
    for &size in sizes {
        tell(&format!("{size}: generating"));
        let input = scratch.join(format!("in-{size}"));
        crate::convert::write_dir(&instance(size), &input)?;
        let dir = scratch.join(format!("out-{size}"));
        tell(&format!("{size}: plan"));
        let (plan, plan_seconds) = spawn(exe, Step::Plan, &input, &dir)?;
        tell(&format!("{size}: check --manifests"));
        let (check, check_seconds) = spawn(exe, Step::Check, &input, &dir)?;
        out.push(SizeRun {
            size,
            replicas: plan.replicas,
            classes: plan.classes.unwrap_or_default(),
            plan,
            plan_seconds,
            check,
            check_seconds,
        });
        // The next size needs the disk more than this one's files.
        let _ = std::fs::remove_dir_all(&input);
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(out)
}

/// The stages of the table and plot, in order: (step, stage).
const COLUMNS: [(Step, &str); 12] = [
    (Step::Plan, "load"),
    (Step::Plan, "instance"),
    (Step::Plan, "bound"),
    (Step::Plan, "grouping"),
    (Step::Plan, "packing"),
    (Step::Plan, "polishing"),
    (Step::Plan, "check"),
    (Step::Plan, "emit"),
    (Step::Plan, "write"),
    (Step::Check, "load"),
    (Step::Check, "check"),
    (Step::Check, "proof"),
];

/// One row of `docs/scaling.csv`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// Workload documents.
    pub workloads: usize,
    /// Node documents.
    pub nodes: usize,
    /// Replicas.
    pub replicas: u64,
    /// Solver classes.
    pub classes: usize,
    /// `plan` child, start to exit, seconds.
    pub plan_seconds: f64,
    /// `plan`'s peak memory over its stages, bytes.
    pub plan_peak: u64,
    /// Whether the plan placed everything and the checker accepts it.
    pub plan_ok: bool,
    /// `check --manifests` child, start to exit, seconds.
    pub check_seconds: f64,
    /// `check`'s peak memory over its stages, bytes.
    pub check_peak: u64,
    /// Whether the checker accepts the plan and the proof holds.
    pub check_ok: bool,
    /// Seconds of each of [`COLUMNS`], `;`-separated (CSV has no lists).
    pub stage_seconds: String,
    /// Peak bytes of each of [`COLUMNS`], `;`-separated.
    pub stage_peaks: String,
}

impl Row {
    fn size(&self) -> Size {
        Size {
            workloads: self.workloads,
            nodes: self.nodes,
        }
    }

    fn stage_seconds(&self) -> Vec<Option<f64>> {
        self.stage_seconds
            .split(';')
            .map(|x| x.parse().ok())
            .collect()
    }

    fn stage_peaks(&self) -> Vec<Option<u64>> {
        self.stage_peaks
            .split(';')
            .map(|x| x.parse().ok())
            .collect()
    }
}

impl From<&SizeRun> for Row {
    fn from(r: &SizeRun) -> Self {
        let find = |step: Step, name: &str| {
            let run = match step {
                Step::Plan => &r.plan,
                Step::Check => &r.check,
            };
            // Reading the manifests is part of what the proof judges.
            let names: &[&str] = match (step, name) {
                (Step::Check, "proof") => &["read manifests", "proof"],
                (Step::Check, "load") => &["load", "read plan"],
                _ => std::slice::from_ref(&name),
            };
            let found: Vec<&StageRun> = run
                .stages
                .iter()
                .filter(|s| names.contains(&s.name.as_str()))
                .collect();
            (!found.is_empty()).then(|| {
                (
                    found.iter().map(|s| s.seconds).sum::<f64>(),
                    found.iter().filter_map(|s| s.peak_bytes).max(),
                )
            })
        };
        let cells: Vec<Option<(f64, Option<u64>)>> = COLUMNS
            .iter()
            .map(|&(step, name)| find(step, name))
            .collect();
        let peak = |run: &StepRun| {
            run.stages
                .iter()
                .filter_map(|s| s.peak_bytes)
                .max()
                .unwrap_or_default()
        };
        Row {
            workloads: r.size.workloads,
            nodes: r.size.nodes,
            replicas: r.replicas,
            classes: r.classes,
            plan_seconds: r.plan_seconds,
            plan_peak: peak(&r.plan),
            plan_ok: r.plan.ok,
            check_seconds: r.check_seconds,
            check_peak: peak(&r.check),
            check_ok: r.check.ok,
            stage_seconds: cells
                .iter()
                .map(|c| c.map_or(String::new(), |(s, _)| format!("{s:.3}")))
                .collect::<Vec<_>>()
                .join(";"),
            stage_peaks: cells
                .iter()
                .map(|c| {
                    c.and_then(|(_, p)| p)
                        .map_or(String::new(), |p| p.to_string())
                })
                .collect::<Vec<_>>()
                .join(";"),
        }
    }
}

/// The rows of `path`, if it exists.
pub fn read_rows(path: &Path) -> Result<Vec<Row>, BenchError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut reader = csv::Reader::from_path(path)?;
    reader
        .deserialize()
        .map(|r| r.map_err(BenchError::from))
        .collect()
}

/// `rows` with those of `runs` in place of any of the same size, sorted by size.
pub fn merge(rows: Vec<Row>, runs: &[SizeRun]) -> Vec<Row> {
    let mut by_size: BTreeMap<(usize, Size), Row> =
        rows.into_iter().map(|r| ((r.nodes, r.size()), r)).collect();
    for run in runs {
        by_size.insert((run.size.nodes, run.size), Row::from(run));
    }
    by_size.into_values().collect()
}

/// Writes `rows` to `path` as CSV.
pub fn write_rows(rows: &[Row], path: &Path) -> Result<(), BenchError> {
    let mut w = csv::Writer::from_path(path)?;
    for r in rows {
        w.serialize(r)?;
    }
    w.flush().map_err(io(path))
}

fn secs(x: f64) -> String {
    if x < 1.0 {
        format!("{:.0} ms", x * 1000.0)
    } else {
        format!("{x:.1} s")
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.2}", bytes as f64 / (1u64 << 30) as f64)
}

/// The BENCHMARKS.md section of `rows`, [`BEGIN`] to [`END`].
pub fn section(rows: &[Row], command: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{BEGIN}");
    let _ = writeln!(s, "## Scaling (issue 20)\n");
    let _ = writeln!(
        s,
        "Written by `{command}` (2 cores, shared). Each size is `tierplan-bench generate \
         scaled-WxN` with two system DaemonSets in the Policy (so that the admission binding \
         denies and the proof can hold), planned and then proven by two child processes that \
         run what `tierplan plan DIR --out OUT` and `tierplan check DIR --plan OUT/plan.json \
         --manifests OUT/manifests` run. **end to end** is each child from start to exit; \
         **peak** its largest resident memory (`VmHWM`, reset between stages). The solver's \
         stages are told apart by its progress callback: **instance** (classes and the \
         instance), **bound**, **grouping**, **packing**, **polishing**; then the \
         checker's re-verification (**check**), the manifests (**emit**) and writing \
         plan.json and the manifests, made durable before any replaces a file \
         (**write**). `check`'s **load** includes reading plan.json, its **proof** reading \
         the manifests back.\n"
    );
    s.push_str("| workloads / replicas / nodes | classes |");
    for (step, name) in COLUMNS {
        let _ = write!(s, " {} {name} |", step.as_str());
    }
    s.push_str(" plan end to end | plan peak GiB | check end to end | check peak GiB | valid, holds |\n|---|---:|");
    s.push_str(&"---:|".repeat(COLUMNS.len() + 4));
    s.push_str("---|\n");
    for r in rows {
        let _ = write!(
            s,
            "| {} / {} / {} | {} |",
            r.workloads, r.replicas, r.nodes, r.classes
        );
        for x in r.stage_seconds() {
            let _ = write!(s, " {} |", x.map_or("—".into(), secs));
        }
        let _ = writeln!(
            s,
            " {} | {} | {} | {} | {}, {} |",
            secs(r.plan_seconds),
            gib(r.plan_peak),
            secs(r.check_seconds),
            gib(r.check_peak),
            if r.plan_ok { "yes" } else { "**no**" },
            if r.check_ok { "yes" } else { "**no**" },
        );
    }
    let _ = writeln!(
        s,
        "\nPeak memory per stage (GiB), in the order of the table: {}\n",
        rows.iter()
            .map(|r| format!(
                "{}: {}",
                r.size(),
                r.stage_peaks()
                    .iter()
                    .map(|p| p.map_or("—".into(), gib))
                    .collect::<Vec<_>>()
                    .join(" / ")
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let _ = writeln!(
        s,
        "![Time and peak memory per stage against nodes](docs/scaling.svg)\n"
    );
    let _ = writeln!(s, "{END}");
    s
}

/// `md` with its scaling section replaced by `section` (or `section` appended).
pub fn replace_section(md: &str, section: &str) -> String {
    match (md.find(BEGIN), md.find(END)) {
        (Some(b), Some(e)) if b < e => format!(
            "{}{}{}",
            &md[..b],
            section.trim_end_matches('\n'),
            &md[e + END.len()..]
        ),
        _ => format!("{}\n\n{section}", md.trim_end_matches('\n')),
    }
}

/// The scaling section of `md`, if any, with its end marker and newline.
pub fn existing_section(md: &str) -> Option<&str> {
    let b = md.find(BEGIN)?;
    let e = md[b..].find(END)? + b + END.len();
    Some(&md[b..e])
}

/// The stroke of a plotted series: dashed for a stage, solid for a whole command.
fn dash(name: &str) -> &'static str {
    if name.ends_with("end to end") || name.ends_with("peak") {
        ""
    } else {
        " stroke-dasharray=\"4 2\""
    }
}

/// A log-log plot of the stages' times (left) and the two commands' peak memory (right)
/// against nodes, as a self-contained SVG.
pub fn svg(rows: &[Row]) -> String {
    const W: f64 = 440.0;
    const H: f64 = 320.0;
    const PAD: (f64, f64, f64, f64) = (56.0, 16.0, 28.0, 44.0); // left, right, top, bottom
    const COLOURS: [&str; 14] = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
    ];
    let xs: Vec<f64> = rows.iter().map(|r| r.nodes as f64).collect();
    let mut series_t: Vec<(String, Vec<Option<f64>>)> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (step, name))| {
            (
                format!("{} {name}", step.as_str()),
                rows.iter()
                    .map(|r| r.stage_seconds().get(i).copied().flatten())
                    .collect(),
            )
        })
        .collect();
    series_t.push((
        "plan end to end".into(),
        rows.iter().map(|r| Some(r.plan_seconds)).collect(),
    ));
    series_t.push((
        "check end to end".into(),
        rows.iter().map(|r| Some(r.check_seconds)).collect(),
    ));
    let series_m: Vec<(String, Vec<Option<f64>>)> = vec![
        (
            "plan peak".into(),
            rows.iter()
                .map(|r| Some(r.plan_peak as f64 / (1u64 << 30) as f64))
                .collect(),
        ),
        (
            "check peak".into(),
            rows.iter()
                .map(|r| Some(r.check_peak as f64 / (1u64 << 30) as f64))
                .collect(),
        ),
    ];
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        2.0 * W + 170.0,
        H
    );
    let panel = |s: &mut String,
                 x0: f64,
                 title: &str,
                 unit: &str,
                 series: &[(String, Vec<Option<f64>>)],
                 colour_from: usize| {
        let ys: Vec<f64> = series
            .iter()
            .flat_map(|(_, v)| v.iter().flatten().copied())
            .filter(|y| *y > 0.0)
            .collect();
        let (Some(xmin), Some(xmax)) = (
            xs.iter().copied().reduce(f64::min),
            xs.iter().copied().reduce(f64::max),
        ) else {
            return;
        };
        let ymin = ys
            .iter()
            .copied()
            .reduce(f64::min)
            .unwrap_or(0.001)
            .max(1e-3);
        let ymax = ys
            .iter()
            .copied()
            .reduce(f64::max)
            .unwrap_or(1.0)
            .max(ymin * 10.0);
        let (lx0, lx1) = (
            xmin.log10().floor(),
            xmax.log10().ceil().max(xmin.log10().floor() + 1.0),
        );
        let (ly0, ly1) = (ymin.log10().floor(), ymax.log10().ceil());
        let px = |x: f64| x0 + PAD.0 + (x.log10() - lx0) / (lx1 - lx0) * (W - PAD.0 - PAD.1);
        let py = |y: f64| H - PAD.3 - (y.log10() - ly0) / (ly1 - ly0) * (H - PAD.2 - PAD.3);
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"16\" font-weight=\"bold\">{title}</text>",
            x0 + PAD.0
        );
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#999\"/>",
            x0 + PAD.0,
            PAD.2,
            W - PAD.0 - PAD.1,
            H - PAD.2 - PAD.3
        );
        for e in (lx0 as i32)..=(lx1 as i32) {
            for m in [1.0, 2.0, 5.0] {
                let x = m * 10f64.powi(e);
                if x.log10() > lx1 + 1e-9 {
                    continue;
                }
                let _ = writeln!(
                    s,
                    "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"#eee\"/><text x=\"{0:.1}\" y=\"{3:.1}\" text-anchor=\"middle\">{4}</text>",
                    px(x),
                    PAD.2,
                    H - PAD.3,
                    H - PAD.3 + 14.0,
                    x
                );
            }
        }
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">nodes</text>",
            x0 + (PAD.0 + W - PAD.1) / 2.0,
            H - 8.0
        );
        for e in (ly0 as i32)..=(ly1 as i32) {
            let y = 10f64.powi(e);
            let _ = writeln!(
                s,
                "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{2:.1}\" y2=\"{2:.1}\" stroke=\"#eee\"/><text x=\"{3:.1}\" y=\"{4:.1}\" text-anchor=\"end\">{5} {unit}</text>",
                x0 + PAD.0,
                x0 + W - PAD.1,
                py(y),
                x0 + PAD.0 - 4.0,
                py(y) + 4.0,
                y
            );
        }
        for (i, (name, v)) in series.iter().enumerate() {
            let colour = COLOURS[(i + colour_from) % COLOURS.len()];
            let points: Vec<String> = xs
                .iter()
                .zip(v)
                .filter_map(|(&x, y)| {
                    y.filter(|y| *y > 0.0)
                        .map(|y| format!("{:.1},{:.1}", px(x), py(y)))
                })
                .collect();
            if points.is_empty() {
                continue;
            }
            let _ = writeln!(
                s,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"{} points=\"{}\"><title>{name}</title></polyline>",
                dash(name),
                points.join(" ")
            );
        }
    };
    panel(&mut s, 0.0, "time per stage (s)", "s", &series_t, 0);
    panel(
        &mut s,
        W,
        "peak memory (GiB)",
        "GiB",
        &series_m,
        series_t.len(),
    );
    // One legend for both panels; dashed lines are stages, solid ones whole commands.
    let all: Vec<&String> = series_t.iter().chain(&series_m).map(|(n, _)| n).collect();
    for (i, name) in all.iter().enumerate() {
        let y = PAD.2 + 4.0 + i as f64 * 15.0;
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" x2=\"{1:.1}\" y1=\"{2:.1}\" y2=\"{2:.1}\" stroke=\"{3}\" stroke-width=\"2\"{6}/><text x=\"{4:.1}\" y=\"{5:.1}\">{name}</text>",
            2.0 * W + 8.0,
            2.0 * W + 26.0,
            y,
            COLOURS[i % COLOURS.len()],
            2.0 * W + 30.0,
            y + 4.0,
            dash(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print_as_generate_names_them() {
        let s: Size = "20000x20000".parse().unwrap();
        assert_eq!((s.workloads, s.nodes), (20000, 20000));
        assert_eq!(s.to_string(), "20000x20000");
        assert!("20000".parse::<Size>().is_err());
        assert!("0x5".parse::<Size>().is_err());
        assert_eq!(
            DEFAULT_SIZES
                .split(',')
                .filter_map(|s| s.parse::<Size>().ok())
                .count(),
            7
        );
    }

    #[test]
    fn the_section_replaces_its_old_self_and_nothing_else() {
        let old = format!("# Benchmarks\n\ntable\n\n{BEGIN}\nold\n{END}\n\nafter\n");
        let new = replace_section(&old, &format!("{BEGIN}\nnew\n{END}\n"));
        assert_eq!(
            new,
            format!("# Benchmarks\n\ntable\n\n{BEGIN}\nnew\n{END}\n\nafter\n")
        );
        let appended = replace_section("# Benchmarks\n", &format!("{BEGIN}\nx\n{END}\n"));
        assert_eq!(appended, format!("# Benchmarks\n\n{BEGIN}\nx\n{END}\n"));
        assert_eq!(
            existing_section(&new),
            Some(format!("{BEGIN}\nnew\n{END}").as_str())
        );
    }

    #[test]
    fn the_instance_lists_system_daemon_sets_so_admission_denies() {
        let docs = instance(Size {
            workloads: 50,
            nodes: 30,
        });
        let names: Vec<&str> = docs.policies[0]
            .1
            .spec
            .system_daemon_sets
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(names, ["aws-node", "kube-proxy"]);
    }
}
