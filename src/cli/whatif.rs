//! `tierplan whatif`: glue from the command line to `tierplan::whatif`.

use super::{load_documents, read_plan, solve_options, write_plan_dir, Budget, Format};
use crate::{out, outln};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use tierplan::input::wire::{Added, NodeTypeSpec};
use tierplan::output::OutDir;
use tierplan::report::{self, html::REPORT_FILE};
use tierplan::whatif::shard::Shard;
use tierplan::whatif::sweep::{self, Failure};
use tierplan::whatif::{self, job, Baseline, Outcome, Replanned, Scenario, WhatIf};

/// The file of the comparison, and its Markdown twin.
const WHATIF_FILE: &str = "whatif.json";
const WHATIF_MD: &str = "whatif.md";
/// Each scenario's plan directory is `scenarios/<name>/` under `--out`.
const SCENARIOS_DIR: &str = "scenarios";
/// The scenario itself, written beside its plan so that `tierplan check --scenario` can
/// rebuild its inputs.
const SCENARIO_FILE: &str = "scenario.yaml";
/// The baseline's plan directory under `--out`.
const BASELINE_DIR: &str = "baseline";
/// `--max-failures` unless given.
const DEFAULT_MAX_FAILURES: usize = 1000;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    merge: Option<Merge>,
    /// The baseline's input files, or directories whose *.yaml / *.yml files are read.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Files (or directories) of Scenario documents to re-plan from the baseline.
    #[arg(long, value_name = "FILE")]
    scenario: Vec<PathBuf>,
    /// The baseline plan (a plan.json of these inputs); planned here when not given.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write whatif.json, whatif.md and each scenario's plan and manifests here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Overwrite files in the output directory that tierplan did not write.
    #[arg(long, requires = "out")]
    force: bool,
    /// Also write DIR/report.html: the baseline plan's report (as `plan --report` writes it)
    /// followed by the comparison table.
    #[arg(long, requires = "out")]
    report: bool,
    /// Remove every used node (`node`), every zone (`zone`), or every set of K of them
    /// (`node:K`, `zone:K`) in turn.
    #[arg(long, value_name = "node|zone[:K]")]
    failures: Option<Failure>,
    /// At most this many failure scenarios (sets of K grow fast).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_FAILURES)]
    max_failures: usize,
    /// Re-plan with each separateBy attribute dropped, each shareWhen rule removed, and no
    /// separation: what each separation costs.
    #[arg(long)]
    cost_of_isolation: bool,
    /// The smallest sub-inventory that still fits: nodes removed in random orders (Borg's
    /// cell compaction); reports min, median and p90 over the seeds.
    #[arg(long)]
    compaction: bool,
    /// Random orders for --compaction (Borg used 11).
    #[arg(long, value_name = "N", default_value_t = 11, requires = "compaction")]
    seeds: u64,
    /// How far each pool's workloads (and all at once) can grow, as a replica factor, before
    /// the inventory runs out.
    #[arg(long)]
    growth: bool,
    /// NodeType documents: every infeasible scenario is planned again with these to buy,
    /// which gives the cheapest purchase found that makes it feasible.
    #[arg(long, value_name = "FILE")]
    what_to_buy: Vec<PathBuf>,
    /// Plan only the I-th (from 0) of N slices of the scenario list, e.g. an Indexed Job's
    /// completion index; join the results with `tierplan whatif merge`. The last shard also
    /// runs --compaction and --growth.
    #[arg(long, value_name = "I/N", conflicts_with = "emit_job")]
    shard: Option<Shard>,
    /// Plan the baseline here, then write into DIR a Kubernetes Indexed Job (with its
    /// Namespace, ServiceAccount and inputs ConfigMap) whose N pods plan the N shards of this
    /// sweep on a cluster; nothing else is planned here.
    #[arg(long, value_name = "DIR", requires = "shards", conflicts_with = "out")]
    emit_job: Option<PathBuf>,
    /// With --emit-job: how many shards (pods) the Job runs.
    #[arg(long, value_name = "N", requires = "emit_job")]
    shards: Option<u32>,
    /// With --emit-job: the container image holding tierplan [default:
    /// ghcr.io/tierplan/tierplan:<version>].
    #[arg(long, value_name = "IMAGE", requires = "emit_job")]
    image: Option<String>,
    /// With --emit-job: the namespace of the Job's objects.
    #[arg(long, value_name = "NS", requires = "emit_job", default_value = job::DEFAULT_NAMESPACE)]
    namespace: String,
    /// Exit 0 when some scenario is infeasible too (for batch runners such as a Job's pods,
    /// where exit 1 would count as a failure); the result still says which.
    #[arg(long)]
    infeasible_ok: bool,
    /// Plan every scenario afresh (the baseline as the previous plan), even those that only
    /// remove nodes, which are otherwise repaired: only the lost nodes' replicas move.
    #[arg(long)]
    fresh: bool,
    #[command(flatten)]
    budget: Budget,
    /// Print nothing but warnings and errors.
    #[arg(long, short)]
    quiet: bool,
    /// How to print the result: `text` (the table) or `json` (whatif.json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    output: Format,
}

#[derive(clap::Subcommand)]
enum Merge {
    /// Join the whatif.json of every shard of a run (files, or --out directories) into one.
    Merge {
        /// whatif.json files, or the directories holding them.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// Write the merged whatif.json and whatif.md here.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Overwrite files in the output directory that tierplan did not write.
        #[arg(long, requires = "out")]
        force: bool,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        output: Format,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(Merge::Merge {
        results,
        out,
        force,
        output,
    }) = args.merge
    {
        return merge(&results, out, force, output);
    }
    let options = solve_options(&args.budget, None)?;
    let out = args
        .out
        .as_deref()
        .map(|d| OutDir::new(d, args.force))
        .transpose()?;
    if let Some(out) = &out {
        out.check(WHATIF_FILE)?;
        if args.report {
            out.check(REPORT_FILE)?;
        }
    }
    let Some(docs) = load_documents(&args.paths) else {
        return Ok(ExitCode::from(2));
    };
    // Problems reading scenario files are reported with those of applying the scenarios.
    let (scenario_docs, read_problems) = tierplan::input::read_scenarios(&args.scenario);
    let Some(catalog) = read_catalog(&args.what_to_buy) else {
        return Ok(ExitCode::from(2));
    };
    let Some(mut baseline) = baseline(&args, docs, &options) else {
        return Ok(ExitCode::from(2));
    };
    baseline.repair = !args.fresh;
    let scenarios: Vec<Scenario> = scenario_docs
        .into_iter()
        .map(|(origin, doc)| Scenario::from_document(origin, doc))
        .collect();
    // Before any long work: the scenarios written by hand must be valid.
    match whatif::validate(&baseline, &scenarios) {
        Ok(()) if read_problems.is_empty() => {}
        result => {
            let mut problems = read_problems;
            problems.extend(result.err().into_iter().flat_map(|e| e.diagnostics));
            eprint!("{}", tierplan::input::InputError::new(problems));
            eprintln!("nothing was written");
            return Ok(ExitCode::from(2));
        }
    }
    if let Some(dir) = &args.emit_job {
        return emit_job(dir, &args, &baseline, &scenarios);
    }
    let mut result = WhatIf::new(Outcome::baseline(&baseline), Vec::new());
    let scenarios = add_sweeps(&args, &baseline, &options, scenarios, &mut result);
    if let Some(out) = &out {
        let dir = OutDir::new(&out.path(BASELINE_DIR), false)?;
        write_plan_dir(&dir, &baseline.model, &baseline.plan, None, &[])?;
    }
    let failed = Mutex::new(Vec::new());
    let sink = |r: &Replanned| -> anyhow::Result<()> {
        if !r.sound() {
            failed
                .lock()
                .expect("no panics hold it")
                .push(format!("{}:\n{}", r.outcome.name, r.verdict));
        }
        match &out {
            Some(out) => write_scenario(out, &baseline, r),
            None => Ok(()),
        }
    };
    result.scenarios = whatif::run(&baseline, &scenarios, &options, sink)?;
    if !catalog.is_empty() {
        let buy = sweep::what_to_buy(&scenarios, &result.scenarios, &catalog);
        let bought = whatif::run(&baseline, &buy, &options, sink)?;
        result.scenarios =
            sweep::after_their_scenarios(std::mem::take(&mut result.scenarios), bought);
    }
    let failed = failed.into_inner().expect("no panics hold it");
    if !failed.is_empty() {
        eprintln!("internal error: the checker refuses the plans of these scenarios; please report this with the input");
        for f in &failed {
            eprintln!("{f}");
        }
        return Ok(ExitCode::from(3));
    }
    let page = args
        .report
        .then(|| report::html::page(&baseline.model, &baseline.plan, Some(&result)));
    let code = finish(
        &result,
        out.as_ref(),
        args.quiet,
        args.output,
        Some(page.as_deref()),
    )?;
    Ok(if args.infeasible_ok && code == ExitCode::from(1) {
        ExitCode::SUCCESS
    } else {
        code
    })
}

/// `scenarios` with the built-in sweeps' added, cut to this run's shard; the searches
/// (compaction, growth) record their findings in `result`.
fn add_sweeps(
    args: &Args,
    baseline: &Baseline,
    options: &tierplan::solve::SolveOptions,
    mut scenarios: Vec<Scenario>,
    result: &mut WhatIf,
) -> Vec<Scenario> {
    if let Some(f) = args.failures {
        let (made, cut) = sweep::failures(baseline, f, args.max_failures);
        if cut {
            eprintln!("note: --failures stopped at {} scenarios (--max-failures); the sets after them are not planned", args.max_failures);
        }
        scenarios.extend(made);
    }
    if args.cost_of_isolation {
        scenarios.extend(sweep::cost_of_isolation(baseline));
    }
    // The list is sliced before compaction and growth add to it: they are searches, which
    // the last shard runs, its rows after its slice, so that every shard slices the same
    // list and the shards joined in order are the rows of an unsharded run.
    if let Some(shard) = args.shard {
        let range = shard.range(scenarios.len());
        scenarios = scenarios.drain(range).collect();
        result.shard = Some(shard);
    }
    if args.shard.is_none_or(|s| s.index + 1 == s.count) {
        if args.compaction {
            let (c, s) = sweep::compaction(baseline, args.seeds, options);
            result.compaction = Some(c);
            scenarios.push(s);
        }
        if args.growth {
            let (g, s) = sweep::growth(baseline, options);
            result.growth = g;
            scenarios.extend(s);
        }
    }
    scenarios
}

/// `--emit-job DIR`: the Job of this sweep, written into DIR; exit 2 when it cannot be.
fn emit_job(
    dir: &std::path::Path,
    args: &Args,
    baseline: &Baseline,
    scenarios: &[Scenario],
) -> anyhow::Result<ExitCode> {
    let catalog = if args.what_to_buy.is_empty() {
        None
    } else {
        // Read (and validated) once already by read_catalog.
        Some(tierplan::input::read_paths(&args.what_to_buy).0)
    };
    let inputs = job::Inputs::new(baseline, scenarios, catalog.as_ref());
    let sweeps = job::Sweeps {
        failures: args.failures,
        max_failures: Some(args.max_failures).filter(|&n| n != DEFAULT_MAX_FAILURES),
        cost_of_isolation: args.cost_of_isolation,
        compaction: args.compaction.then_some(args.seeds),
        growth: args.growth,
        time_limit: args.budget.time_limit,
        work_limit: args.budget.work_limit,
    };
    let options = job::JobOptions {
        shards: args.shards.unwrap_or_default(),
        image: args.image.clone().unwrap_or_else(job::default_image),
        namespace: args.namespace.clone(),
    };
    let objects = match job::objects(&inputs, &sweeps, &options) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}\nnothing was written");
            return Ok(ExitCode::from(2));
        }
    };
    let text = job::yaml(&objects);
    for path in OutDir::new(dir, false)?.write(&[(job::JOB_FILE, text.as_bytes())])? {
        if !args.quiet {
            outln!("wrote {}", path.display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The baseline: `--baseline`'s plan, checked against the inputs, or planned here; `None`
/// after printing why there is none.
fn baseline(
    args: &Args,
    docs: tierplan::input::Documents,
    options: &tierplan::solve::SolveOptions,
) -> Option<Baseline> {
    let made = match &args.baseline {
        Some(path) => {
            let plan = read_plan(path).map_err(|e| eprintln!("{e}")).ok()?;
            Baseline::read(docs, plan).map_err(|e| format!("{}: {e}", path.display()))
        }
        None => Baseline::plan(docs, options).map_err(|e| e.to_string()),
    };
    made.map_err(|e| eprint!("{}", e.trim_end().to_string() + "\n"))
        .ok()
}

/// Prints and writes the comparison (and `report`'s page, when given); exit 0 when every
/// scenario is feasible, 1 otherwise. `planned` is `None` for merged results, whose plans
/// were written by the shards' runs.
fn finish(
    result: &WhatIf,
    out: Option<&OutDir>,
    quiet: bool,
    output: Format,
    planned: Option<Option<&str>>,
) -> anyhow::Result<ExitCode> {
    let json = result.to_json();
    match (output, quiet) {
        (Format::Json, _) => out!("{json}")?,
        (Format::Text, true) => {}
        (Format::Text, false) => out!("{}", result.table())?,
    }
    if let Some(out) = out {
        let md = result.markdown();
        let mut files = vec![(WHATIF_FILE, json.as_bytes()), (WHATIF_MD, md.as_bytes())];
        if let Some(Some(page)) = planned {
            files.push((REPORT_FILE, page.as_bytes()));
        }
        let written = out.write(&files)?;
        if output == Format::Text && !quiet {
            for path in written {
                outln!("wrote {}", path.display())?;
            }
            if planned.is_some() {
                outln!(
                    "wrote the baseline's plan under {} and each scenario's under {}",
                    out.path(BASELINE_DIR).display(),
                    out.path(SCENARIOS_DIR).display()
                )?;
            }
        }
    }
    Ok(if result.all_feasible() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Writes `scenarios/<name>/`: the scenario, its plan and manifests.
fn write_scenario(out: &OutDir, baseline: &Baseline, r: &Replanned) -> anyhow::Result<()> {
    let dir = OutDir::new(
        &out.path(&format!("{SCENARIOS_DIR}/{}", r.outcome.name)),
        false,
    )?;
    let scenario = serde_yaml::to_string(&r.prepared.scenario.to_document())?;
    write_plan_dir(
        &dir,
        &r.prepared.model,
        &r.solved.plan,
        Some(&baseline.plan),
        &[(SCENARIO_FILE, scenario.as_bytes())],
    )?;
    Ok(())
}

/// The NodeTypes of `--what-to-buy`; `None` after printing the problems.
fn read_catalog(paths: &[PathBuf]) -> Option<Vec<Added<NodeTypeSpec>>> {
    if paths.is_empty() {
        return Some(Vec::new());
    }
    let (docs, diags) = tierplan::input::read_paths(paths);
    let mut problems = diags;
    if docs.node_types.is_empty() && problems.is_empty() {
        eprintln!("--what-to-buy: no NodeType document in {}\n  fix: name files of NodeType documents, the machines that can be bought", show(paths));
        return None;
    }
    if !docs.policies.is_empty() || !docs.workloads.is_empty() || !docs.nodes.is_empty() {
        problems.push(tierplan::input::Diagnostic::new(
            "E089",
            None,
            "",
            format!(
                "--what-to-buy files hold documents other than NodeType: {}",
                show(paths)
            ),
            "keep only NodeType documents there; pass the rest as PATH",
        ));
    }
    if !problems.is_empty() {
        eprint!("{}", tierplan::input::InputError::new(problems));
        return None;
    }
    Some(
        docs.node_types
            .into_iter()
            .map(|(_, d)| Added {
                metadata: d.metadata,
                spec: d.spec,
            })
            .collect(),
    )
}

fn show(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `tierplan whatif merge`.
fn merge(
    results: &[PathBuf],
    out: Option<PathBuf>,
    force: bool,
    output: Format,
) -> anyhow::Result<ExitCode> {
    let mut parts = Vec::new();
    for path in results {
        let file = if path.is_dir() {
            path.join(WHATIF_FILE)
        } else {
            path.clone()
        };
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{}: cannot read: {e}", file.display());
                return Ok(ExitCode::from(2));
            }
        };
        match serde_json::from_str::<WhatIf>(&text) {
            Ok(w) => parts.push(w),
            Err(e) => {
                eprintln!("{}: not a tierplan whatif.json: {e}\n  fix: pass the whatif.json each shard wrote (or printed with --output json)", file.display());
                return Ok(ExitCode::from(2));
            }
        }
    }
    let merged = match whatif::shard::merge(parts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}\n  fix: pass the results of every shard of one run, once each");
            return Ok(ExitCode::from(2));
        }
    };
    let out = out.as_deref().map(|d| OutDir::new(d, force)).transpose()?;
    finish(&merged, out.as_ref(), false, output, None)
}

/// The model of `paths` with the Scenario of `file` applied (of several, the one `plan` was
/// made for, by its inputs' fingerprint); `None` after printing the problems.
pub fn scenario_model(
    paths: &[PathBuf],
    file: &std::path::Path,
    plan: &tierplan::plan::Plan,
) -> Option<tierplan::model::Model> {
    let docs = load_documents(paths)?;
    let (scenarios, diags) = tierplan::input::read_scenarios(&[file.to_path_buf()]);
    if !diags.is_empty() {
        eprint!("{}", tierplan::input::InputError::new(diags));
        return None;
    }
    let mut models = Vec::new();
    for (origin, doc) in scenarios {
        match whatif::prepare_one(&docs, Scenario::from_document(origin, doc)) {
            Ok(p) => models.push(p.model),
            Err(diags) => {
                eprint!("{}", tierplan::input::InputError::new(diags));
                return None;
            }
        }
    }
    let made_for = models
        .iter()
        .position(|m| plan.inputs.as_ref() == Some(&m.fingerprint));
    match (made_for, models.len()) {
        (Some(i), _) => Some(models.swap_remove(i)),
        (None, 1) => models.pop(),
        (None, 0) => {
            eprintln!("{}: no Scenario document\n  fix: pass the scenario.yaml `tierplan whatif` wrote beside the plan", file.display());
            None
        }
        (None, n) => {
            eprintln!("{}: none of its {n} scenarios gives the inputs the plan was made for\n  fix: pass the scenario.yaml `tierplan whatif` wrote beside the plan", file.display());
            None
        }
    }
}
