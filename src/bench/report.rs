//! Benchmark results as CSV (one row per instance) and as the Markdown of `BENCHMARKS.md`,
//! with the targets and whether they are met.

use super::{BenchError, CaseResult, Family, Method, Run, Suite, SuiteResult};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

const GIB: f64 = (1u64 << 30) as f64;
const MIB: f64 = (1u64 << 20) as f64;

/// The generated row the scale targets are about (100,000 replicas on 10,000 nodes).
pub const SCALE_CASE: &str = "scaled-25000x10000";

/// One CSV row.
#[derive(Serialize)]
struct Row<'a> {
    family: &'a str,
    instance: &'a str,
    workloads: usize,
    replicas: u64,
    inventory_nodes: usize,
    reference: Option<f64>,
    reference_kind: &'a str,
    cover_bound: u64,
    planner_nodes: Option<u64>,
    planner_cost: Option<f64>,
    planner_valid: Option<bool>,
    planner_lower_bound: Option<f64>,
    ratio: Option<f64>,
    planner_seconds: Option<f64>,
    planner_load_seconds: Option<f64>,
    planner_peak_rss_mib: Option<f64>,
    planner_stopped_by_time: Option<bool>,
    ffd_nodes: Option<u64>,
    ffd_cost: Option<f64>,
    ffd_valid: Option<bool>,
    ffd_seconds: Option<f64>,
    ffd_peak_rss_mib: Option<f64>,
    kube_nodes: Option<u64>,
    kube_cost: Option<f64>,
    kube_valid: Option<bool>,
    kube_unplaced: Option<usize>,
    kube_seconds: Option<f64>,
    kube_peak_rss_mib: Option<f64>,
    saving_vs_ffd: Option<f64>,
    saving_vs_kube: Option<f64>,
    production_machines: Option<usize>,
    production_unplaced: Option<usize>,
    errors: String,
}

/// Writes one row per instance to `path`.
pub fn write_csv(result: &SuiteResult, path: &Path) -> Result<(), BenchError> {
    let mut w = csv::Writer::from_path(path)?;
    for c in &result.cases {
        let (p, f, k) = (
            c.run(Method::Planner),
            c.run(Method::Ffd),
            c.run(Method::Kube),
        );
        let rss = |r: Option<&Run>| r?.peak_rss_bytes.map(|b| round(b as f64 / MIB, 1));
        let secs = |r: Option<&Run>| r.map(|r| round(r.seconds, 3));
        let errors: Vec<String> = c
            .outcomes
            .iter()
            .filter_map(|o| {
                let first = o.error.as_ref()?.lines().next().unwrap_or_default();
                Some(format!("{}: {first}", o.method.as_str()))
            })
            .collect();
        w.serialize(Row {
            family: c.family.as_str(),
            instance: &c.name,
            workloads: c.workloads,
            replicas: c.replicas,
            inventory_nodes: c.inventory,
            reference: c.reference().map(|r| round(r.0, 3)),
            reference_kind: c.reference().map_or("", |r| r.1),
            cover_bound: c.cover_bound,
            planner_nodes: p.map(|r| r.nodes),
            planner_cost: p.map(|r| round(r.cost, 4)),
            planner_valid: p.map(|r| r.valid),
            planner_lower_bound: p.map(|r| round(r.lower_bound, 4)),
            ratio: c.ratio().map(|r| round(r, 4)),
            planner_seconds: secs(p),
            planner_load_seconds: p.map(|r| round(r.load_seconds, 3)),
            planner_peak_rss_mib: rss(p),
            planner_stopped_by_time: p.map(|r| r.stopped_by_time),
            ffd_nodes: f.map(|r| r.nodes),
            ffd_cost: f.map(|r| round(r.cost, 4)),
            ffd_valid: f.map(|r| r.valid),
            ffd_seconds: secs(f),
            ffd_peak_rss_mib: rss(f),
            kube_nodes: k.map(|r| r.nodes),
            kube_cost: k.map(|r| round(r.cost, 4)),
            kube_valid: k.map(|r| r.valid),
            kube_unplaced: k.map(|r| r.unplaced),
            kube_seconds: secs(k),
            kube_peak_rss_mib: rss(k),
            saving_vs_ffd: c.saving(Method::Ffd).map(|s| round(s, 4)),
            saving_vs_kube: c.saving(Method::Kube).map(|s| round(s, 4)),
            production_machines: c.production.map(|p| p.machines_used),
            production_unplaced: c.production.map(|p| p.replicas_unplaced),
            errors: errors.join("; "),
        })?;
    }
    w.flush().map_err(|error| BenchError::Io {
        path: path.to_path_buf(),
        error,
    })
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// A target of the issue and how the run did against it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What was measured.
    pub what: String,
    /// The measurement.
    pub measured: String,
    /// `None` when the suite has no instance for it.
    pub met: Option<bool>,
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// The targets, evaluated on `result`.
pub fn targets(result: &SuiteResult) -> Vec<Target> {
    let of = |f: Family| result.cases.iter().filter(move |c| c.family == f);
    let planner = |c: &CaseResult| c.run(Method::Planner).cloned();
    let mut out = Vec::new();

    // BPPC: mean ≤ 1.005, none above 1.02, each ≤ 10 s (and valid).
    let bppc: Vec<&CaseResult> = of(Family::Bppc).filter(|c| c.optimum.is_some()).collect();
    if !bppc.is_empty() {
        let ratios: Vec<f64> = bppc.iter().filter_map(|c| c.ratio()).collect();
        let all = ratios.len() == bppc.len();
        let m = mean(&ratios).unwrap_or(f64::NAN);
        let max = ratios.iter().copied().fold(0.0, f64::max);
        let slowest = bppc
            .iter()
            .filter_map(|c| planner(c).map(|r| r.seconds))
            .fold(0.0, f64::max);
        out.push(Target {
            what: "BPPC: mean ratio to the proven optimum ≤ 1.005".into(),
            measured: format!("{m:.4} over {} of {} instances", ratios.len(), bppc.len()),
            met: Some(all && m <= 1.005),
        });
        out.push(Target {
            what: "BPPC: no instance above 1.02".into(),
            measured: format!(
                "max {max:.4}; {} above 1.02",
                ratios.iter().filter(|&&r| r > 1.02).count()
            ),
            met: Some(all && max <= 1.02),
        });
        let timed = bppc.iter().filter(|c| planner(c).is_some()).count();
        out.push(Target {
            what: "BPPC: each in ≤ 10 s".into(),
            measured: format!("slowest {slowest:.2} s"),
            met: Some(timed == bppc.len() && slowest <= 10.0),
        });
    }

    let vbp: Vec<&CaseResult> = of(Family::Vbp).collect();
    if !vbp.is_empty() {
        let ratios: Vec<f64> = vbp.iter().filter_map(|c| c.ratio()).collect();
        let m = mean(&ratios).unwrap_or(f64::NAN);
        let optimal = ratios.iter().filter(|&&r| r <= 1.0 + 1e-9).count();
        out.push(Target {
            what: "vbp d = 3 (≥ 100 instances with known optima): mean ratio ≤ 1.02".into(),
            measured: format!(
                "{m:.4} over {} of {} instances ({optimal} at the optimum; max {:.3})",
                ratios.len(),
                vbp.len(),
                ratios.iter().copied().fold(0.0, f64::max)
            ),
            met: Some(ratios.len() == vbp.len() && vbp.len() >= 100 && m <= 1.02),
        });
    }

    for c in of(Family::Alibaba) {
        let p = planner(c);
        let placed_valid = p.as_ref().is_some_and(|r| r.valid);
        out.push(Target {
            what: "Alibaba: every replica placed, all rules honoured (check)".into(),
            measured: match &p {
                Some(r) => format!("{} unplaced, {} violations", r.unplaced, r.violations),
                None => "the planner failed".into(),
            },
            met: Some(placed_valid),
        });
        let ratio = c.ratio();
        out.push(Target {
            what: "Alibaba: hosts within 2% of the lower bound".into(),
            measured: match (ratio, &p, c.reference()) {
                (Some(x), Some(r), Some((lb, _))) => {
                    format!("{} hosts, bound {lb:.0}: ratio {x:.4}", r.nodes)
                }
                _ => "no valid plan".into(),
            },
            met: Some(ratio.is_some_and(|x| x <= 1.02)),
        });
        out.push(limits_target("Alibaba", p.as_ref(), 120.0));
    }

    for c in of(Family::Generated).filter(|c| c.name == SCALE_CASE) {
        let p = planner(c);
        out.push(Target {
            what: "Generated 100k replicas on 10k nodes: a verified plan".into(),
            measured: match &p {
                Some(r) if r.valid => format!(
                    "valid; gap to the planner's bound {}",
                    gap(r).map_or("—".into(), |g| format!("{:.1}%", g * 100.0))
                ),
                Some(r) => format!(
                    "not valid: {} violations, {} unplaced",
                    r.violations, r.unplaced
                ),
                None => "the planner failed".into(),
            },
            met: Some(p.as_ref().is_some_and(|r| r.valid)),
        });
        out.push(limits_target("Generated 100k", p.as_ref(), 60.0));
    }

    // Never worse than either baseline, wherever both have a valid plan.
    let mut compared = 0;
    let mut worse = Vec::new();
    for c in &result.cases {
        for m in [Method::Ffd, Method::Kube] {
            if let Some(s) = c.saving(m) {
                compared += 1;
                if s < -1e-9 {
                    worse.push(format!("{} vs {}", c.name, m.as_str()));
                }
            }
        }
    }
    out.push(Target {
        what: "Never worse than either baseline (where both are valid)".into(),
        measured: if worse.is_empty() {
            format!("0 worse in {compared} comparisons")
        } else {
            format!(
                "worse in {} of {compared}: {}",
                worse.len(),
                worse.join(", ")
            )
        },
        met: Some(worse.is_empty()),
    });
    let runs: Vec<(&str, Option<Run>)> = result
        .cases
        .iter()
        .map(|c| (c.name.as_str(), planner(c)))
        .collect();
    let names = |keep: &dyn Fn(&Option<Run>) -> bool| -> Vec<&str> {
        runs.iter()
            .filter(|(_, r)| keep(r))
            .map(|(n, _)| *n)
            .collect()
    };
    let broken = names(&|r| r.as_ref().is_some_and(|r| r.violations > 0));
    let failed = names(&|r| r.is_none());
    let incomplete = names(&|r| r.as_ref().is_some_and(|r| r.violations == 0 && !r.valid));
    let met = broken.is_empty() && failed.is_empty() && incomplete.is_empty();
    let mut measured = vec![format!(
        "{} of {} complete and valid",
        runs.len() - broken.len() - failed.len() - incomplete.len(),
        runs.len()
    )];
    for (what, list) in [
        ("breaking rules", &broken),
        ("failed", &failed),
        ("incomplete (replicas declared unplaced)", &incomplete),
    ] {
        if !list.is_empty() {
            measured.push(format!("{what}: {}", list.join(", ")));
        }
    }
    out.push(Target {
        what: "Every planner plan complete and verified valid by `check`".into(),
        measured: measured.join("; "),
        met: Some(met),
    });
    if result.suite == Suite::Quick {
        out.push(Target {
            what: "Quick suite under 2 minutes".into(),
            measured: format!("{:.0} s", result.seconds),
            met: Some(result.seconds <= 120.0),
        });
    }
    out
}

fn gap(r: &Run) -> Option<f64> {
    (r.cost > 0.0).then(|| (r.cost - r.lower_bound) / r.cost)
}

fn limits_target(name: &str, p: Option<&Run>, seconds: f64) -> Target {
    Target {
        what: format!("{name}: ≤ {seconds:.0} s and ≤ 4 GiB"),
        measured: p.map_or("the planner failed".into(), |r| {
            format!(
                "{:.1} s, {} peak{}",
                r.seconds,
                r.peak_rss_bytes
                    .map_or("unknown".into(), |b| format!("{:.2} GiB", b as f64 / GIB)),
                if r.stopped_by_time {
                    " (cut by the time limit)"
                } else {
                    ""
                }
            )
        }),
        met: Some(p.is_some_and(|r| {
            r.seconds <= seconds && r.peak_rss_bytes.is_some_and(|b| b as f64 <= 4.0 * GIB)
        })),
    }
}

fn nodes_cell(r: Option<&Run>, cost: bool) -> String {
    match r {
        None => "failed".into(),
        Some(r) => {
            let amount = if cost {
                format!("{:.2}/h, {} nodes", r.cost, r.nodes)
            } else {
                r.nodes.to_string()
            };
            if r.valid {
                amount
            } else if r.unplaced > 0 {
                format!("{amount} (**{} unplaced**)", r.unplaced)
            } else {
                format!("{amount} (**not valid**)")
            }
        }
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or("—".into(), |s| {
        let change = -s * 100.0;
        // No "-0.0%" for a tie.
        if change.abs() < 0.05 {
            "0.0%".into()
        } else {
            format!("{change:+.1}%")
        }
    })
}

fn time_cell(r: Option<&Run>) -> String {
    r.map_or("—".into(), |r| {
        let t = if r.seconds < 1.0 {
            format!("{:.0} ms", r.seconds * 1e3)
        } else {
            format!("{:.1} s", r.seconds)
        };
        if r.stopped_by_time {
            format!("{t} (cut)")
        } else {
            t
        }
    })
}

fn mem_cell(r: Option<&Run>) -> String {
    r.and_then(|r| r.peak_rss_bytes)
        .map_or("—".into(), |b| format!("{:.0} MiB", b as f64 / MIB))
}

/// The Markdown of `BENCHMARKS.md`. `command` is how the run was started.
pub fn markdown(result: &SuiteResult, command: &str) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "# Benchmarks\n");
    let _ = writeln!(
        w,
        "Written by `{command}` ({} instances, {:.0} s in all, {} cores). Each method ran in its \
         own child process on the same converted YAML: **time** is the method alone (not \
         reading the YAML), **memory** the child's peak RSS (`VmHWM`), which includes loading \
         the YAML. Every plan was re-verified with `tierplan::check`. Costs are 1 per node \
         except on generated instances, so cost = nodes there. **Ratio** is the planner's \
         nodes over the proven optimum or, where none is published, over the best lower bound \
         (the planner's own, or the fewest largest nodes covering each resource's demand). \
         **Saving** is the planner's cost relative to the baseline's (negative = cheaper), \
         where both plans are valid.{}\n",
        result.cases.len(),
        result.seconds,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        result.load_average.map_or(String::new(), |(a, b)| format!(
            " The machine's load average was {a:.1} at the start and {b:.1} at the end: \
             other work on it slows every method down alike."
        )),
    );
    let _ = writeln!(w, "## Targets (issue 4)\n");
    let _ = writeln!(w, "| target | measured | met |\n|---|---|---|");
    for t in targets(result) {
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let _ = writeln!(w, "| {} | {} | {met} |", t.what, t.measured);
    }
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Baselines: **FFD** is first-fit decreasing in Karpenter's order (CPU, then memory, \
         descending; first open node that fits, else a new one), one pool per class \
         (`tierplan::baseline::ffd_one_pool_per_class`). **kube** is kube-scheduler's default \
         scoring on a fixed inventory: each replica in input order to the feasible node with \
         the highest `LeastAllocated` score (`kube_scheduler_least_allocated`). It spreads, so \
         it uses every node it can reach; what it shows is whether greedy spreading can place \
         everything at all.\n"
    );
    for family in [
        Family::Bppc,
        Family::Vbp,
        Family::Alibaba,
        Family::Roadef,
        Family::Generated,
    ] {
        let cases: Vec<&CaseResult> = result.cases.iter().filter(|c| c.family == family).collect();
        if cases.is_empty() {
            continue;
        }
        let _ = writeln!(w, "## {}\n", family_title(family));
        let _ = writeln!(w, "{}\n", family_note(family));
        let cost = family == Family::Generated;
        let _ = writeln!(
            w,
            "| instance | replicas / nodes | reference | planner | ratio | time | memory | FFD | saving | kube | saving |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for c in &cases {
            let reference = c.reference().map_or("—".into(), |(v, kind)| {
                if kind == "optimum" {
                    format!("{v:.0} (opt)")
                } else if cost {
                    format!("{v:.2} (LB)")
                } else {
                    format!("{v:.0} (LB)")
                }
            });
            let p = c.run(Method::Planner);
            let _ = writeln!(
                w,
                "| {} | {} / {} | {reference} | {} | {} | {} | {} | {} | {} | {} | {} |",
                c.name,
                c.replicas,
                c.inventory,
                nodes_cell(p, cost),
                c.ratio().map_or("—".into(), |r| format!("{r:.3}")),
                time_cell(p),
                mem_cell(p),
                nodes_cell(c.run(Method::Ffd), cost),
                pct(c.saving(Method::Ffd)),
                nodes_cell(c.run(Method::Kube), cost),
                pct(c.saving(Method::Kube)),
            );
        }
        let _ = writeln!(w);
        if family == Family::Vbp {
            let ratios: Vec<f64> = cases.iter().filter_map(|c| c.ratio()).collect();
            let _ = writeln!(
                w,
                "Mean ratio {:.4} over {} instances.\n",
                mean(&ratios).unwrap_or(f64::NAN),
                ratios.len()
            );
        }
        for c in &cases {
            if let Some(p) = c.production {
                let _ = writeln!(
                    w,
                    "- {}: the production placement used **{} machines** and left **{} replicas unplaced**; \
                     the planner uses {} and leaves {}.",
                    c.name,
                    p.machines_used,
                    p.replicas_unplaced,
                    c.run(Method::Planner).map_or("—".into(), |r| r.nodes.to_string()),
                    c.run(Method::Planner).map_or("—".into(), |r| r.unplaced.to_string()),
                );
            }
            for o in &c.outcomes {
                if let Some(e) = &o.error {
                    let first = e.lines().next().unwrap_or_default();
                    let _ = writeln!(w, "- {} / {}: {first}", c.name, o.method.as_str());
                }
            }
        }
        if let Some(c) = cases.iter().find(|c| !c.dropped.is_empty()) {
            let _ = writeln!(
                w,
                "\nLeft out by the conversion (no tierplan counterpart), e.g. {}:\n",
                c.name
            );
            for d in &c.dropped {
                let _ = writeln!(w, "- {d}");
            }
        }
        let _ = writeln!(w);
    }
    s
}

fn family_title(f: Family) -> &'static str {
    match f {
        Family::Bppc => "BPPC: bin packing with conflicts",
        Family::Vbp => "Vector bin packing, d = 3",
        Family::Alibaba => "Alibaba Tianchi 2018 production cluster",
        Family::Roadef => "ROADEF/EURO 2012 set A (Google)",
        Family::Generated => "Generated tiered clusters",
    }
}

fn family_note(f: Family) -> &'static str {
    match f {
        Family::Bppc => "Muritiba et al. (2010) instances, optima proven by Sadykov & Vanderbeck (2013). Items are workloads of one replica, conflicts antiAffinity; the inventory is the bins FFD needs. Planner stopped at 10 s.",
        Family::Vbp => "Mommessin et al. benchmarks, d = 3, proven optima; the sample is, for every (benchmark, class, n), the two lowest-numbered instances with a proven optimum that convert (19 Caprara files hold a negative size and are refused). The inventory is the bins FFD needs. Planner stopped at 10 s.",
        Family::Alibaba => "9,338 apps, 6,000 machines of two shapes; self rules → maxPerNode k + 1, k = 0 → antiAffinity, k ≥ 1 → coLocation. The lower bound is the fewest machines, largest first, whose CPU and memory cover the demand. Planner stopped at 120 s.",
        Family::Roadef => "Machine reassignment instances used as placement from scratch (capacities and service anti-affinity); the ROADEF objective is not a node count, so the reference is a lower bound and the comparison point is the initial assignment's machine count. Planner stopped at 60 s.",
        Family::Generated => "`tierplan::generate` (seeded): tiers, shareWhen rules, hardened nodes, headroom for one node failure, maxPerNode, minZones, antiAffinity. `issue-2` is `GenParams::issue2()`, `scaled-25000x10000` is `GenParams::scaled(25000, 10000, 1)`. The reference is the planner's own lower bound. Planner stopped at 60 s.",
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Outcome, Production};
    use super::*;
    use crate::plan::Status;

    fn run(nodes: u64, valid: bool) -> Run {
        Run {
            nodes,
            cost: nodes as f64,
            status: Status::Feasible,
            lower_bound: 0.0,
            valid,
            violations: 0,
            unplaced: usize::from(!valid),
            seconds: 0.5,
            load_seconds: 0.1,
            peak_rss_bytes: Some(50 << 20),
            stopped_by_time: false,
        }
    }

    fn case(name: &str, optimum: u64, planner: u64, ffd: u64, kube: Option<u64>) -> CaseResult {
        let outcome = |method, run| Outcome {
            method,
            run,
            error: None,
        };
        CaseResult {
            family: Family::Bppc,
            name: name.into(),
            workloads: 10,
            replicas: 10,
            inventory: 12,
            optimum: Some(optimum),
            cover_bound: 1,
            production: Some(Production {
                machines_used: 11,
                replicas_unplaced: 2,
            }),
            dropped: Vec::new(),
            outcomes: vec![
                outcome(Method::Planner, Some(run(planner, true))),
                outcome(Method::Ffd, Some(run(ffd, true))),
                match kube {
                    Some(k) => outcome(Method::Kube, Some(run(k, false))),
                    None => Outcome {
                        method: Method::Kube,
                        run: None,
                        error: Some("killed\ndetails".into()),
                    },
                },
            ],
        }
    }

    #[test]
    fn targets_and_tables_say_what_was_measured() {
        let result = SuiteResult {
            suite: Suite::Quick,
            cases: vec![case("a", 10, 10, 12, Some(12)), case("b", 10, 11, 10, None)],
            seconds: 30.0,
            load_average: Some((0.5, 1.25)),
        };
        let t = targets(&result);
        let get = |prefix: &str| t.iter().find(|t| t.what.starts_with(prefix)).unwrap();
        assert_eq!(get("BPPC: mean").met, Some(false));
        assert!(get("BPPC: mean").measured.starts_with("1.0500"));
        assert_eq!(
            get("BPPC: no instance").measured,
            "max 1.1000; 1 above 1.02"
        );
        assert_eq!(get("Never worse").met, Some(false));
        assert_eq!(get("Never worse").measured, "worse in 1 of 2: b vs ffd");
        assert_eq!(get("Quick suite").met, Some(true));
        assert_eq!(get("Every planner").measured, "2 of 2 complete and valid");
        let md = markdown(&result, "tierplan-bench run --suite quick");
        assert!(md.contains("| a | 10 / 12 | 10 (opt) | 10 | 1.000 | 500 ms | 50 MiB | 12 | -16.7% | 12 (**1 unplaced**) | — |"), "{md}");
        assert!(md.contains("- b / kube: killed\n"), "{md}");
        assert!(md.contains("load average was 0.5 at the start and 1.2 at the end"));
        assert!(md.contains("used **11 machines** and left **2 replicas unplaced**"));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.csv");
        write_csv(&result, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        assert!(lines
            .next()
            .unwrap()
            .starts_with("family,instance,workloads,"));
        assert!(lines
            .next()
            .unwrap()
            .starts_with("bppc,a,10,10,12,10.0,optimum,1,10,10.0,true,"));
        assert!(lines.next().unwrap().ends_with(",kube: killed"));
    }
}
