//! The progress line on standard error while `plan` runs: the solver's stage and the best
//! plan so far. Shown only when standard error is a terminal, only once a run has taken a
//! second (quick runs print nothing extra), never with `--quiet`; cleared before the summary.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tierplan::model::cost_from_micros;
use tierplan::solve::{Best, Progress, Stage};

/// Runs shorter than this print no progress line.
const QUIET_FOR: Duration = Duration::from_secs(1);

pub struct Spinner {
    bar: ProgressBar,
    /// Set once finished, so that the delayed start cannot show a finished line.
    done: Arc<Mutex<bool>>,
}

impl Spinner {
    /// A spinner that appears after [`QUIET_FOR`] unless `quiet` or stderr is no terminal.
    pub fn start(quiet: bool) -> Spinner {
        let bar = ProgressBar::hidden();
        let style =
            ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("a valid template");
        bar.set_style(style);
        let done = Arc::new(Mutex::new(false));
        if !quiet && std::io::stderr().is_terminal() {
            let (bar, done) = (bar.clone(), Arc::clone(&done));
            std::thread::spawn(move || {
                std::thread::sleep(QUIET_FOR);
                let finished = done.lock().unwrap_or_else(|e| e.into_inner());
                if !*finished {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                    bar.enable_steady_tick(Duration::from_millis(120));
                }
            });
        }
        Spinner { bar, done }
    }

    /// The callback that feeds the solver's stages to this line.
    pub fn hook(&self) -> Progress {
        let bar = self.bar.clone();
        Progress(Arc::new(move |stage: Stage, best: Option<Best>| {
            bar.set_message(match best {
                Some(b) if b.unplaced > 0 => format!(
                    "{stage}; best so far: {} replica(s) unplaced, {:.4}/h",
                    b.unplaced,
                    cost_from_micros(b.cost_micros)
                ),
                Some(b) => format!(
                    "{stage}; best so far: {:.4}/h",
                    cost_from_micros(b.cost_micros)
                ),
                None => stage.to_string(),
            });
        }))
    }

    /// Names a stage outside the solver.
    pub fn stage(&self, what: &str) {
        self.bar.set_message(what.to_string());
    }

    /// Clears the line for good.
    pub fn finish(&self) {
        let mut finished = self.done.lock().unwrap_or_else(|e| e.into_inner());
        *finished = true;
        self.bar.finish_and_clear();
    }
}
