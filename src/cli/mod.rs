//! The command line's shared pieces: printing, reading plans and inputs, solve options, and
//! writing a plan's directory (plan.json and manifests), for `plan` and `whatif` alike.

pub mod apply;
pub mod audit;
pub mod cluster;
pub mod explain;
pub mod graph;
pub mod import;
pub mod progress;
pub mod whatif;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tierplan::output::{OutDir, Written};
use tierplan::{emit, input, model, plan::Plan, solve};

/// A plan.json larger than this is not one tierplan wrote for a plannable input.
const MAX_PLAN_BYTES: u64 = 1 << 30;

/// How to print a result: `text` for people, `json` for scripts.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// The search budget options every planning command takes.
#[derive(clap::Args)]
pub struct Budget {
    /// Safety stop: return the best plan found after this many seconds (per plan).
    #[arg(long, value_name = "SECONDS")]
    pub time_limit: Option<f64>,
    /// Work units for the search (the default suits thousands of workloads); results
    /// depend on this, never on machine speed.
    #[arg(long, value_name = "UNITS")]
    pub work_limit: Option<u64>,
}

/// The solve options of `budget` and `--stability`.
pub fn solve_options(
    budget: &Budget,
    stability: Option<f64>,
) -> anyhow::Result<solve::SolveOptions> {
    let mut options = solve::SolveOptions::default();
    if let Some(t) = budget.time_limit {
        let limit = Duration::try_from_secs_f64(t).ok().filter(|d| !d.is_zero());
        anyhow::ensure!(
            limit.is_some(),
            "--time-limit must be a positive number of seconds, not {t}"
        );
        options.time_limit = limit;
    }
    if let Some(w) = budget.work_limit {
        options.work_limit = w;
    }
    if let Some(w) = stability {
        anyhow::ensure!(
            w.is_finite() && (0.0..=1e6).contains(&w),
            "--stability must be a cost per hour from 0 to 1000000, not {w}"
        );
        options.stability_micros = (w * 1e6).round() as u64;
    }
    Ok(options)
}

/// Writes to standard output. Output goes through these, not `print!`, so that a reader that
/// went away (`tierplan plan … | head -1`) ends the program quietly, as ripgrep does, instead
/// of in a panic.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(&format!($($arg)*))
    };
}

macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(&format!("{}\n", format!($($arg)*)))
    };
}

pub fn write_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Whether `e` is a write to a pipe whose reader has gone.
pub fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub(crate) use {out, outln};

/// The file `plan` writes into its output directory.
pub const PLAN_FILE: &str = "plan.json";
/// The directory of Kubernetes manifests `plan` writes beside it.
pub const MANIFESTS_DIR: &str = "manifests";

/// Reads a plan.json; `Err` says why it is none.
pub fn read_plan(path: &std::path::Path) -> Result<Plan, String> {
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
pub fn load(paths: &[PathBuf]) -> Option<model::Model> {
    load_and(paths, None)
}

/// As [`load`], with a live cluster's snapshot (see [`cluster::source`]) read beside `paths`.
pub fn load_and(paths: &[PathBuf], extra: Option<&(PathBuf, Vec<u8>)>) -> Option<model::Model> {
    let (docs, diags) = input::read_paths_and(
        paths,
        extra.map(|(name, bytes)| (name.as_path(), bytes.as_slice())),
    );
    // On unreadable input the errors are what matters; a count of what was read is noise.
    if let Some(summary) = docs.kubernetes.as_ref().filter(|_| diags.is_empty()) {
        eprintln!("{}", import_line(summary));
        if !summary.warnings.is_empty() {
            eprintln!("warning: {} thing(s) read are not enforced or were assumed (`tierplan import` lists them)", summary.warnings.len());
        }
    }
    let read: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    match model::build_read(docs, diags, &read) {
        Ok(m) => Some(m),
        Err(e) => {
            eprint!("{e}");
            None
        }
    }
}

pub fn exit_for(plan: &Plan) -> ExitCode {
    match plan.status {
        tierplan::plan::Status::Infeasible => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

/// Reads and types the documents under `paths`, printing every problem; `None` when any.
pub fn load_documents(paths: &[PathBuf]) -> Option<input::Documents> {
    let (docs, diags) = input::read_paths(paths);
    if diags.is_empty() {
        Some(docs)
    } else {
        eprint!("{}", input::InputError::new(diags));
        None
    }
}

/// Writes a plan's directory: `plan.json`, `manifests/` (none for an infeasible plan) and
/// `extra` files, removing manifests an earlier plan left there.
pub fn write_plan_dir(
    out: &OutDir,
    model: &model::Model,
    plan: &Plan,
    previous: Option<&Plan>,
    extra: &[(&str, &[u8])],
) -> anyhow::Result<(Written, usize)> {
    let plan_json = plan.to_json();
    let manifests = match emit::manifests_after(model, plan, previous) {
        Ok(files) => files,
        Err(emit::EmitError::Infeasible) => Vec::new(),
        Err(e) => anyhow::bail!("cannot write manifests for this plan: {e}\n  fix: change the input so that the name is a valid Kubernetes name or label value; nothing was written"),
    };
    let names: Vec<String> = manifests
        .iter()
        .map(|(path, _)| format!("{MANIFESTS_DIR}/{path}"))
        .collect();
    let mut files: Vec<(&str, &[u8])> = vec![(PLAN_FILE, plan_json.as_bytes())];
    files.extend_from_slice(extra);
    files.extend(
        names
            .iter()
            .zip(&manifests)
            .map(|(name, (_, text))| (name.as_str(), text.as_bytes())),
    );
    // Manifests of an earlier plan left beside these would enforce a different plan.
    Ok((
        out.write_replacing(&files, Some(MANIFESTS_DIR))?,
        manifests.len(),
    ))
}

/// One line on what Kubernetes objects were read, for commands that plan from them.
pub fn import_line(s: &input::k8s::translate::Summary) -> String {
    let read: usize = s.read.values().sum();
    let skipped: usize = s.skipped.values().sum();
    format!(
        "read {read} Kubernetes object(s): {} workload(s), {} node(s), {} system DaemonSet(s); {skipped} of other kinds skipped",
        s.workloads, s.nodes, s.system_daemon_sets
    )
}
