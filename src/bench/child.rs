//! One method on one instance, in a child process of the bench binary, so that its peak
//! memory is its own: the kernel's `ru_maxrss` of the reaped child, read with `wait4`.

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
    Planner,
    Ffd,
    Kube,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Planner, Method::Ffd, Method::Kube];

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
    pub plan: Plan,
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
    let output = ChildOutput {
        load_seconds,
        seconds: start.elapsed().as_secs_f64(),
        stopped_by_time,
        plan,
    };
    let json = serde_json::to_vec(&output).map_err(BenchError::Json)?;
    std::fs::write(out, json).map_err(|source| BenchError::Io {
        path: out.to_path_buf(),
        source,
    })
}

/// A finished child: its output and its peak resident memory.
#[derive(Debug)]
pub struct Measured {
    pub output: ChildOutput,
    pub peak_rss_bytes: u64,
}

/// The parent's side: runs `exe solve ...` for one method and reaps it with `wait4`. A child
/// still running at `hard_limit` is killed.
pub fn spawn(
    exe: &Path,
    input: &Path,
    method: Method,
    time_limit: Duration,
    hard_limit: Duration,
    scratch: &Path,
) -> Result<Measured, BenchError> {
    let out = scratch.join(format!("{}.json", method.as_str()));
    let log = scratch.join(format!("{}.stderr", method.as_str()));
    let io = |path: &PathBuf| {
        let path = path.clone();
        move |source| BenchError::Io { path, source }
    };
    let stderr = std::fs::File::create(&log).map_err(io(&log))?;
    let child = Command::new(exe)
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
        .map_err(|source| BenchError::Spawn {
            exe: exe.to_path_buf(),
            source,
        })?;
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    let (status, peak_rss_bytes) = loop {
        let mut status: libc::c_int = 0;
        // SAFETY: plain out-parameters; rusage is zeroed plain data.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // wait4 rather than Child::wait: only it reports the child's own peak RSS.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            // ru_maxrss is in KiB on Linux.
            break (status, usage.ru_maxrss as u64 * 1024);
        }
        if reaped < 0 {
            return Err(BenchError::Wait(std::io::Error::last_os_error()));
        }
        if start.elapsed() > hard_limit {
            // SAFETY: the pid is our own unreaped child, so it cannot have been recycled.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let exited_ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if !exited_ok {
        let tail = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = tail.lines().rev().take(5).collect();
        let how = if start.elapsed() > hard_limit {
            format!("killed after the hard limit of {} s", hard_limit.as_secs())
        } else if libc::WIFSIGNALED(status) {
            format!("killed by signal {}", libc::WTERMSIG(status))
        } else {
            format!("exited with {}", libc::WEXITSTATUS(status))
        };
        return Err(BenchError::Child {
            method: method.as_str(),
            how,
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    let bytes = std::fs::read(&out).map_err(io(&out))?;
    let output = serde_json::from_slice(&bytes).map_err(BenchError::Json)?;
    Ok(Measured {
        output,
        peak_rss_bytes,
    })
}
