//! One method on one instance, in a child process of the bench binary, so that its peak
//! memory is its own: the child reads its `VmHWM` from `/proc/self/status` when done. (The
//! `ru_maxrss` that `wait4` reports is no good here: Linux carries the parent's peak over
//! into the child at `execve`, so every child would weigh at least as much as the parent.)

use super::BenchError;
use crate::baseline::{ffd_one_pool_per_class, kube_scheduler_least_allocated};
use crate::model::{self, Model};
use crate::plan::Plan;
use crate::solve::{solve, SolveOptions};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What places the replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The planner.
    Planner,
    /// First-fit decreasing, one pool per class.
    Ffd,
    /// kube-scheduler's least-allocated scoring.
    Kube,
}

impl Method {
    /// Every method, in table order.
    pub const ALL: [Method; 3] = [Method::Planner, Method::Ffd, Method::Kube];

    /// The method's name on the command line and in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Planner => "planner",
            Method::Ffd => "ffd",
            Method::Kube => "kube",
        }
    }
}

impl std::str::FromStr for Method {
    type Err = BenchError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| BenchError::UnknownMethod(s.to_string()))
    }
}

/// What the child writes for the parent.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChildOutput {
    /// Reading and validating the YAML.
    pub load_seconds: f64,
    /// The method alone.
    pub seconds: f64,
    /// The planner's safety stop cut its search.
    pub stopped_by_time: bool,
    /// Peak resident memory of the child (`VmHWM`), where the system tells it.
    pub peak_rss_bytes: Option<u64>,
    /// The method's plan.
    pub plan: Plan,
}

/// This process's peak resident set size, from `/proc/self/status` (Linux).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Runs `method` on `model`; the planner stops by `time_limit` at the latest.
pub fn place(model: &Model, method: Method, time_limit: Duration) -> (Plan, bool) {
    match method {
        Method::Planner => {
            let options = SolveOptions {
                time_limit: Some(time_limit),
                ..SolveOptions::default()
            };
            let solved = solve(model, &options);
            (solved.plan, solved.stats.stopped_by_time)
        }
        Method::Ffd => (ffd_one_pool_per_class(model), false),
        Method::Kube => (kube_scheduler_least_allocated(model), false),
    }
}

/// The child's side: loads `input`, places, writes [`ChildOutput`] as JSON to `out`.
pub fn run_child(
    input: &Path,
    method: Method,
    time_limit: Duration,
    out: &Path,
) -> Result<(), BenchError> {
    let start = Instant::now();
    let model = model::build_from_paths(&[input.to_path_buf()])?;
    let load_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let (plan, stopped_by_time) = place(&model, method, time_limit);
    let mut output = ChildOutput {
        load_seconds,
        seconds: start.elapsed().as_secs_f64(),
        stopped_by_time,
        peak_rss_bytes: None,
        plan,
    };
    // Serialising the plan takes memory too; the peak is read after it.
    serde_json::to_vec(&output).map_err(BenchError::Json)?;
    output.peak_rss_bytes = peak_rss_bytes();
    let json = serde_json::to_vec(&output).map_err(BenchError::Json)?;
    std::fs::write(out, json).map_err(|error| BenchError::Io {
        path: out.to_path_buf(),
        error,
    })
}

/// The parent's side: runs `exe solve ...` for one method and waits for it. A child still
/// running at `hard_limit` is killed.
pub fn spawn(
    exe: &Path,
    input: &Path,
    method: Method,
    time_limit: Duration,
    hard_limit: Duration,
    scratch: &Path,
) -> Result<ChildOutput, BenchError> {
    let out = scratch.join(format!("{}.json", method.as_str()));
    let log = scratch.join(format!("{}.stderr", method.as_str()));
    let io = |path: &PathBuf| {
        let path = path.clone();
        move |error| BenchError::Io { path, error }
    };
    let stderr = std::fs::File::create(&log).map_err(io(&log))?;
    let mut child = Command::new(exe)
        .arg("solve")
        .arg("--method")
        .arg(method.as_str())
        .arg("--time-limit")
        .arg(time_limit.as_secs_f64().to_string())
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|error| BenchError::Spawn {
            exe: exe.to_path_buf(),
            error,
        })?;
    let start = Instant::now();
    let mut killed = false;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(BenchError::Wait)? {
            break status;
        }
        if !killed && start.elapsed() > hard_limit {
            child.kill().map_err(BenchError::Wait)?;
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if !status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let mut tail: Vec<&str> = text.lines().rev().take(5).collect();
        tail.reverse();
        let how = if killed {
            format!(
                "was killed after the hard limit of {} s",
                hard_limit.as_secs()
            )
        } else {
            format!("failed ({status})")
        };
        return Err(BenchError::Child {
            method: method.as_str(),
            how,
            stderr: tail.join("\n"),
        });
    }
    let bytes = std::fs::read(&out).map_err(io(&out))?;
    serde_json::from_slice(&bytes).map_err(BenchError::Json)
}
