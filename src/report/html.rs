//! `plan --report` (and `whatif --report`): the plan as one self-contained HTML page,
//! `DIR/report.html`, for reading on a laptop screen and for printing.
//!
//! Owns the page's layout only. Its figures (status, cost, utilisation per pool and per node,
//! unplaced replicas grouped) come from the parent module's helpers, which the terminal
//! summary uses too; the constraint graph is [`crate::draw::svg`], inlined; the
//! trust-boundary findings are [`crate::boundary::namespace_spans`]; the what-if table is
//! [`WhatIf::rows`].
//!
//! - **Self-contained**: one `<style>` (with `@media print`), no script, no font, image,
//!   stylesheet or link outside the file, so it opens offline and leaks nothing.
//! - **Escaped**: every text and attribute value goes through [`escape`]; tags and attribute
//!   names are `&'static str` of this module, never input. The only markup not built here is
//!   the SVG of `draw`, which escapes its own text.
//! - **Well-formed XML** as well as HTML (void elements self-closed, the CSS free of `<` and
//!   `&`), so that tests can parse it with an XML parser.
//! - **Deterministic**: no time, host or path; everything in the plan's order (pools, nodes
//!   and workloads sorted by name) or the model's.

use super::{
    admission_warning, boundary_finding, headline, node_requests, node_usage, placed, pool_cost,
    pool_nodes, pool_usage, split_entry_findings, status_line, status_word, unplaced_groups,
    unplanned_home, with_bought_nodes, zone_warning, Usage, BOUNDARY_ADVICE, HOURS_PER_MONTH,
};
use crate::boundary;
use crate::graph::ConstraintGraph;
use crate::model::Model;
use crate::plan::{Plan, Pool, Status};
use crate::whatif::WhatIf;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The file `--report` writes into the output directory.
pub const REPORT_FILE: &str = "report.html";

/// Use from this percent on is drawn in the warning colour.
const HIGH: f64 = 90.0;
/// Explanation facts listed open on the page; more are folded under a summary.
const FOLDED_FACTS: usize = 20;

/// `text` safe as HTML text and as a quoted attribute value: the five markup characters as
/// entities, and control characters replaced (tab and line breaks by a space, which HTML
/// shows alike). The SVG's escaping, so that the page has one rule for both.
pub fn escape(text: &str) -> String {
    crate::draw::xml(text)
}

/// A page under construction: markup from this module, text escaped on the way in.
struct Html(String);

type Attrs<'a> = &'a [(&'static str, &'a str)];

impl Html {
    fn open(&mut self, tag: &'static str, attrs: Attrs<'_>) {
        self.0.push('<');
        self.0.push_str(tag);
        // An empty value (a cell without a class) is left out.
        for (name, value) in attrs.iter().filter(|(_, v)| !v.is_empty()) {
            let _ = write!(self.0, " {name}=\"{}\"", escape(value));
        }
        self.0.push('>');
    }

    /// A void element (`<meta …/>`), self-closed so that the page also parses as XML.
    fn void(&mut self, tag: &'static str, attrs: Attrs<'_>) {
        self.open(tag, attrs);
        self.0.pop();
        self.0.push_str("/>");
    }

    fn close(&mut self, tag: &'static str) {
        let _ = write!(self.0, "</{tag}>");
    }

    fn text(&mut self, text: &str) {
        self.0.push_str(&escape(text));
    }

    /// `<tag attrs>text</tag>`.
    fn el(&mut self, tag: &'static str, attrs: Attrs<'_>, text: &str) {
        self.open(tag, attrs);
        self.text(text);
        self.close(tag);
    }

    /// `<tag attrs>…</tag>`, the inside written by `inside`.
    fn wrap(&mut self, tag: &'static str, attrs: Attrs<'_>, inside: impl FnOnce(&mut Html)) {
        self.open(tag, attrs);
        inside(self);
        self.close(tag);
        if matches!(
            tag,
            "section" | "article" | "tr" | "li" | "div" | "table" | "ul"
        ) {
            self.0.push('\n');
        }
    }

    /// A bulleted list of `items`.
    fn list<S: AsRef<str>>(&mut self, class: &str, items: &[S]) {
        self.wrap("ul", &[("class", class)], |h| {
            for item in items {
                h.el("li", &[], item.as_ref());
            }
        });
    }
}

/// The page for `plan` of `model`; with `whatif`, the comparison table after it (the plan is
/// then the baseline's).
pub fn page(model: &Model, plan: &Plan, whatif: Option<&WhatIf>) -> String {
    let mut h = Html(String::new());
    h.0.push_str("<!DOCTYPE html>\n");
    h.open("html", &[("lang", "en")]);
    h.open("head", &[]);
    h.void("meta", &[("charset", "utf-8")]);
    h.void(
        "meta",
        &[
            ("name", "viewport"),
            ("content", "width=device-width, initial-scale=1"),
        ],
    );
    let title = format!(
        "tierplan report: {}, {} pool(s), {} node(s)",
        status_word(plan.status).to_lowercase(),
        plan.pools.len(),
        plan.objective.nodes
    );
    h.el("title", &[], &title);
    let _ = write!(h.0, "\n<style>\n{CSS}</style>\n");
    h.close("head");
    h.0.push('\n');
    h.open("body", &[]);
    h.wrap("header", &[], |h| {
        h.el("h1", &[], "tierplan plan report");
        h.el("p", &[("class", "sub")], &headline(model, plan));
        if let Some(inputs) = &plan.inputs {
            h.el("p", &[("class", "sub mono")], &format!("inputs {inputs}"));
        }
        nav(h, plan, whatif.is_some());
    });
    let bought = with_bought_nodes(model, plan);
    h.wrap("main", &[], |h| {
        summary(h, model, plan);
        pools(h, &bought, plan);
        unplaced(h, plan);
        findings(h, &bought, plan);
        graph(h, model, plan);
        if let Some(w) = whatif {
            comparison(h, w);
        }
    });
    h.close("body");
    h.close("html");
    h.0.push('\n');
    h.0
}

/// Links to the sections, for the screen (not printed).
fn nav(h: &mut Html, plan: &Plan, whatif: bool) {
    let mut links = vec![("#summary", "Summary"), ("#pools", "Pools")];
    if !plan.unplaced.is_empty() || !plan.unmet.is_empty() || plan.explanation.is_some() {
        links.push(("#unplaced", "Unplaced"));
    }
    links.push(("#findings", "Findings"));
    links.push(("#graph", "Constraint graph"));
    if whatif {
        links.push(("#whatif", "What-if"));
    }
    h.wrap("nav", &[], |h| {
        for (href, label) in links {
            h.el("a", &[("href", href)], label);
        }
    });
}

fn summary(h: &mut Html, model: &Model, plan: &Plan) {
    let o = &plan.objective;
    let word = status_word(plan.status);
    h.wrap("section", &[("id", "summary")], |h| {
        h.el("h2", &[], "Summary");
        h.wrap("p", &[], |h| {
            h.el(
                "span",
                &[("class", &format!("badge {}", word.to_lowercase()))],
                word,
            );
            // The badge says the status; the line says the rest.
            let line = status_line(plan);
            let rest = line
                .split_once("; ")
                .map_or(line.as_str(), |(_, rest)| rest);
            h.text(" ");
            h.text(&capitalised(rest));
        });
        let placed = plan.placements.len();
        let mut figures = vec![
            ("Status", word.to_lowercase()),
            ("Cost per hour", format!("{:.4}", o.cost)),
            ("Cost per month", format!("{:.2}", o.cost * HOURS_PER_MONTH)),
            ("Nodes", o.nodes.to_string()),
            ("Pools", plan.pools.len().to_string()),
            ("Lower bound", format!("{:.4}", o.lower_bound)),
            (
                "Gap",
                o.gap
                    .map(|g| format!("{:.2}%", g * 100.0))
                    .unwrap_or_else(|| "-".into()),
            ),
            ("Replicas placed", placed.to_string()),
            ("Replicas unplaced", plan.unplaced.len().to_string()),
            ("Unused nodes", plan.unused_nodes.len().to_string()),
        ];
        if let Some(d) = &o.disruption {
            figures.push(("Replicas moved", d.moved_replicas.to_string()));
            figures.push(("Nodes relabelled", d.relabelled_nodes.to_string()));
        }
        h.wrap("dl", &[("class", "figures")], |h| {
            for (term, value) in &figures {
                h.wrap("div", &[], |h| {
                    h.el("dt", &[], term);
                    h.el("dd", &[], value);
                });
            }
        });
        let notes: Vec<String> = zone_warning(model)
            .into_iter()
            .chain(admission_warning(model).filter(|_| plan.status != Status::Infeasible))
            .collect();
        for note in notes {
            h.el("p", &[("class", "finding")], &note);
        }
    });
}

fn pools(h: &mut Html, model: &Model, plan: &Plan) {
    let placed = placed(model, plan);
    let requests = node_requests(model, plan);
    let mut replicas: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &plan.placements {
        *replicas.entry(&p.node).or_default() += 1;
    }
    h.wrap("section", &[("id", "pools")], |h| {
        h.el("h2", &[], &format!("Pools ({})", plan.pools.len()));
        if plan.pools.is_empty() {
            h.el("p", &[], "No pool: nothing was placed.");
        }
        h.wrap("div", &[("class", "cards")], |h| {
            for pool in &plan.pools {
                let card = PoolCard {
                    model,
                    pool,
                    placed: &placed,
                    requests: &requests,
                    replicas: &replicas,
                };
                card.write(h);
            }
        });
    });
}

/// What one pool's card needs.
struct PoolCard<'a> {
    model: &'a Model,
    pool: &'a Pool,
    placed: &'a [u64],
    requests: &'a [Vec<u128>],
    replicas: &'a BTreeMap<&'a str, usize>,
}

impl PoolCard<'_> {
    fn write(&self, h: &mut Html) {
        let (model, pool) = (self.model, self.pool);
        let nodes = pool_nodes(model, pool);
        let cost = pool_cost(model, &nodes);
        let usage = pool_usage(model, self.placed, &pool.workloads, &nodes);
        h.wrap(
            "article",
            &[("class", "card"), ("data-pool", &pool.name)],
            |h| {
                h.wrap("h3", &[], |h| {
                    h.text(&pool.name);
                    if pool.platform {
                        h.text(" ");
                        h.el("span", &[("class", "tag")], "platform");
                    }
                });
                h.el(
                    "p",
                    &[("class", "meta")],
                    &format!(
                    "{} node(s) · {cost:.4}/h ({:.2} per month) · {} workload(s) · {} class(es)",
                    nodes.len(),
                    cost * HOURS_PER_MONTH,
                    pool.workloads.len(),
                    pool.classes.len()
                ),
                );
                if usage.is_empty() {
                    h.el("p", &[("class", "meta")], "no requests");
                }
                for u in &usage {
                    h.wrap("div", &[("class", "meter")], |h| {
                        h.el("span", &[], &model.resources[u.resource]);
                        bar(h, u);
                        h.el("span", &[("class", "num")], &amounts(model, u));
                    });
                }
                h.el("h4", &[], "Classes");
                h.list("chips", &pool.classes);
                h.el("h4", &[], "Workloads");
                h.list("cols mono", &pool.workloads);
                if !pool.node_types.is_empty() {
                    h.el("h4", &[], "Nodes to buy");
                    let buy: Vec<String> = pool
                        .node_types
                        .iter()
                        .map(|b| format!("{} × {} in {}", b.count, b.node_type, b.zone))
                        .collect();
                    h.list("", &buy);
                }
                h.el("h4", &[], "Nodes");
                self.nodes(h, &nodes, &usage);
            },
        );
    }

    /// The node table: one row per node, one bar per resource the pool uses.
    fn nodes(&self, h: &mut Html, nodes: &[usize], usage: &[Usage]) {
        let model = self.model;
        h.wrap("table", &[("class", "nodes")], |h| {
            h.wrap("thead", &[], |h| {
                h.wrap("tr", &[], |h| {
                    h.el("th", &[], "node");
                    h.el("th", &[], "zone");
                    h.el("th", &[("class", "num")], "replicas");
                    for u in usage {
                        h.el("th", &[], &model.resources[u.resource]);
                    }
                });
            });
            h.wrap("tbody", &[], |h| {
                for &n in nodes {
                    let node = &model.nodes[n];
                    h.wrap("tr", &[], |h| {
                        h.el("td", &[("class", "mono")], &node.name);
                        h.el("td", &[], node.zone.as_deref().unwrap_or("-"));
                        let count = self.replicas.get(node.name.as_str()).copied();
                        h.el("td", &[("class", "num")], &count.unwrap_or(0).to_string());
                        for u in usage {
                            h.wrap("td", &[], |h| {
                                match node_usage(model, self.requests, n, u.resource) {
                                    Some(nu) => {
                                        bar(h, &nu);
                                        h.el("small", &[], &amounts(model, &nu));
                                    }
                                    None => h.text("-"),
                                }
                            });
                        }
                    });
                }
            });
        });
    }
}

/// `63% · 2.5 of 4`.
fn amounts(model: &Model, u: &Usage) -> String {
    format!(
        "{:.0}% · {} of {}",
        u.percent(),
        u.amount(model, u.used),
        u.amount(model, u.capacity)
    )
}

/// A horizontal bar filled to `u`'s percent (capped at the full width).
fn bar(h: &mut Html, u: &Usage) {
    let percent = u.percent();
    let style = format!("width:{:.1}%", percent.clamp(0.0, 100.0));
    let class = if percent >= HIGH { "high" } else { "" };
    h.wrap(
        "div",
        &[
            ("class", "bar"),
            ("role", "img"),
            ("aria-label", &format!("{percent:.0}%")),
        ],
        |h| h.el("span", &[("class", class), ("style", &style)], ""),
    );
}

fn unplaced(h: &mut Html, plan: &Plan) {
    if plan.unplaced.is_empty() && plan.unmet.is_empty() && plan.explanation.is_none() {
        return;
    }
    h.wrap("section", &[("id", "unplaced")], |h| {
        h.el(
            "h2",
            &[],
            &format!("Unplaced replicas ({})", plan.unplaced.len()),
        );
        if let Some(why) = &plan.explanation {
            h.wrap("div", &[("class", "finding why")], |h| {
                // The heading of the terminal's explanation: how sure, what the facts add up
                // to, on what inventory.
                let text = why.to_string();
                for line in text.lines().take_while(|l| !l.starts_with("  - ")) {
                    h.el("p", &[], &capitalised(line));
                }
                let facts = |h: &mut Html| {
                    h.wrap("ul", &[], |h| {
                        for fact in &why.facts {
                            h.wrap("li", &[], |h| {
                                h.text(&fact.text);
                                h.text(" ");
                                let at = match &fact.source {
                                    Some(s) => format!("{s}, {}", fact.field),
                                    None => fact.field.clone(),
                                };
                                h.el("small", &[("class", "mono")], &format!("({at})"));
                            });
                        }
                    });
                };
                // Thousands of facts (a count over every workload) stay folded.
                if why.facts.len() > FOLDED_FACTS {
                    h.wrap("details", &[], |h| {
                        h.el("summary", &[], &format!("the {} facts", why.facts.len()));
                        facts(h);
                    });
                } else {
                    facts(h);
                }
            });
        }
        let groups = unplaced_groups(plan);
        if !groups.is_empty() {
            h.wrap("table", &[], |h| {
                h.wrap("thead", &[], |h| {
                    h.wrap("tr", &[], |h| {
                        h.el("th", &[], "workload");
                        h.el("th", &[("class", "num")], "replicas");
                        h.el("th", &[], "why");
                    });
                });
                h.wrap("tbody", &[], |h| {
                    for g in &groups {
                        h.wrap("tr", &[], |h| {
                            h.el("td", &[("class", "mono")], g.workload);
                            h.el("td", &[("class", "num")], &g.replicas.to_string());
                            h.wrap("td", &[], |h| h.list("", g.reasons));
                        });
                    }
                });
            });
        }
        if !plan.unmet.is_empty() {
            h.el("h4", &[], "Pool rules not met");
            let unmet: Vec<String> = plan
                .unmet
                .iter()
                .map(|u| format!("{} in {}: {}", u.rule, u.pool, u.reason))
                .collect();
            h.list("", &unmet);
        }
    });
}

/// Namespace trust boundaries, Policy pool names over several pools, and where the pods the
/// plan does not cover can run.
fn findings(h: &mut Html, model: &Model, plan: &Plan) {
    let spans = boundary::namespace_spans(model, plan);
    h.wrap("section", &[("id", "findings")], |h| {
        h.el("h2", &[], "Findings");
        if spans.is_empty() {
            h.el(
                "p",
                &[],
                "Namespace boundary: no namespace has workloads in more than one pool.",
            );
        } else {
            h.wrap("div", &[("class", "finding")], |h| {
                h.el("p", &[], &format!("{}.", boundary_finding(model, &spans)));
                let lines: Vec<String> = spans.iter().map(ToString::to_string).collect();
                h.list("", &lines);
                h.el("p", &[], &format!("{}.", capitalised(BOUNDARY_ADVICE)));
            });
        }
        for line in split_entry_findings(model, plan) {
            h.el("p", &[("class", "finding")], &line);
        }
        let home = unplanned_home(model, plan);
        let home = home.trim();
        if !home.is_empty() {
            h.el("h4", &[], "Nodes in no pool");
            for line in home.lines() {
                h.el("p", &[], &capitalised(line.trim()));
            }
        }
    });
}

/// `text` with its first letter in upper case.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn graph(h: &mut Html, model: &Model, plan: &Plan) {
    let svg = crate::draw::svg(model, &ConstraintGraph::build(model), Some(plan));
    h.wrap("section", &[("id", "graph")], |h| {
        h.el("h2", &[], "Constraint graph");
        h.el("p", &[("class", "meta")], "Classes as boxes inside their pools; green lines join classes that may share a pool, dashed red ones classes that must not (hover for the reason).");
        h.wrap("div", &[("class", "graph")], |h| {
            // Markup of `draw`, which escapes every text it carries.
            h.0.push_str(svg.trim_end());
        });
    });
}

fn comparison(h: &mut Html, w: &WhatIf) {
    let rows = w.rows();
    h.wrap("section", &[("id", "whatif")], |h| {
        h.el("h2", &[], "What-if comparison");
        h.el("p", &[("class", "meta")], "The plan above is the baseline; each row re-plans one scenario from it with the least disruption.");
        h.wrap("div", &[("class", "scroll")], |h| {
            h.wrap("table", &[("class", "whatif")], |h| {
                let num = |c: usize| if c < 2 { "" } else { "num" };
                if let Some((head, body)) = rows.split_first() {
                    h.wrap("thead", &[], |h| {
                        h.wrap("tr", &[], |h| {
                            for (c, cell) in head.iter().enumerate() {
                                h.el("th", &[("class", num(c))], cell);
                            }
                        });
                    });
                    h.wrap("tbody", &[], |h| {
                        for row in body {
                            h.wrap("tr", &[], |h| {
                                for (c, cell) in row.iter().enumerate() {
                                    h.el("td", &[("class", num(c))], cell);
                                }
                            });
                        }
                    });
                }
            });
        });
        h.el("h4", &[], "Scenarios");
        h.wrap("ul", &[], |h| {
            for o in &w.scenarios {
                h.wrap("li", &[], |h| {
                    h.el("strong", &[], &o.name);
                    h.text(": ");
                    h.text(&o.changes);
                    if !o.reasons.is_empty() {
                        h.list("", &o.reasons);
                    }
                });
            }
        });
    });
}

/// The page's only stylesheet: system fonts, no external resource; print keeps the colours
/// of bars and badges and never splits a card.
const CSS: &str = r#":root { --fg: #1d2330; --muted: #5a6372; --line: #d8dde6; --bg: #f5f7fa;
  --card: #ffffff; --ok: #2e7d32; --warn: #b26a00; --bad: #c62828; --bar: #3b6fb6; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto,
  "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
header, main { max-width: 1240px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 16px; }
main { padding-bottom: 32px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 26px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 0 0 2px; overflow-wrap: anywhere; }
h4 { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted);
  margin: 12px 0 4px; }
p { margin: 6px 0; }
.sub, .meta { color: var(--muted); }
.mono, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono",
  monospace; font-size: 12.5px; }
nav { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 10px 0 0; }
nav a { color: var(--bar); text-decoration: none; }
nav a:hover { text-decoration: underline; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 10px; font-size: 12px;
  font-weight: 600; color: #fff; }
.badge.optimal { background: var(--ok); }
.badge.feasible { background: var(--warn); }
.badge.infeasible { background: var(--bad); }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr));
  gap: 8px; margin: 10px 0; }
.figures div { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  padding: 6px 10px; }
.figures dt { color: var(--muted); font-size: 12px; }
.figures dd { margin: 0; font-size: 17px; font-weight: 600; font-variant-numeric: tabular-nums; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 540px), 1fr));
  gap: 14px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 14px; break-inside: avoid; overflow-x: auto; }
.tag { font-size: 11px; font-weight: 600; color: var(--muted); border: 1px solid var(--line);
  border-radius: 4px; padding: 0 5px; vertical-align: middle; }
ul.chips { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 4px; }
ul.chips li { background: #eef2f8; border-radius: 4px; padding: 1px 6px; font-size: 12.5px;
  overflow-wrap: anywhere; }
ul.cols { columns: 2; column-gap: 24px; margin: 0; padding-left: 18px; }
ul.cols li { overflow-wrap: anywhere; }
.meter { display: grid; grid-template-columns: 80px 1fr auto; align-items: center; gap: 10px;
  margin: 3px 0; }
.bar { height: 10px; min-width: 48px; background: #e3e7ee; border-radius: 5px; overflow: hidden; }
.bar span { display: block; height: 100%; background: var(--bar); }
.bar span.high { background: var(--warn); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.nodes td small { color: var(--muted); display: block; line-height: 1.25; }
table.nodes td:nth-child(-n+2) { white-space: nowrap; }
table.nodes td .bar { margin-top: 5px; }
td ul { margin: 0; padding-left: 18px; }
.scroll { overflow-x: auto; }
table.whatif { background: var(--card); }
.finding { border-left: 4px solid var(--warn); background: #fff6e0; padding: 8px 12px;
  margin: 8px 0; border-radius: 0 6px 6px 0; }
.finding.why { border-left-color: var(--bad); background: #fdecec; }
.finding ul { margin: 4px 0; }
.graph { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px;
  overflow-x: auto; }
.graph svg { display: block; max-width: 100%; height: auto; }
@media print {
  @page { margin: 12mm; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { background: #fff; font-size: 10pt; }
  header, main { max-width: none; padding: 0; }
  nav { display: none; }
  .cards { display: block; }
  .card { margin: 0 0 10px; }
  .card, tr, .finding, .figures div { break-inside: avoid; }
  h2, h3, h4 { break-after: avoid; }
  .graph, .scroll { overflow: visible; }
}
"#;

#[cfg(test)]
mod tests {
    use super::{escape, page};
    use crate::solve::{solve, SolveOptions};
    use crate::testing::{model, node, policy, workload};

    #[test]
    fn escape_covers_markup_quotes_and_control_characters() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>\u{7}"),
            "&lt;script&gt;alert(&apos;x&apos;) &amp; &quot;y&quot;&lt;/script&gt;\u{fffd}"
        );
        assert_eq!(escape("a\tb\nc"), "a b c");
    }

    /// Hostile attribute values (classes, pool name) end up as text, never as markup.
    #[test]
    fn hostile_names_are_text_in_the_page() {
        let hostile = r#"<script>alert("&")</script>"#;
        let m = model(&[
            &policy("separateBy: [sensitivity, exposure]"),
            &workload(
                "web",
                &format!("sensitivity: public, exposure: '{hostile}', resources: {{cpu: 1}}"),
            ),
            &workload("db", "sensitivity: restricted, resources: {cpu: 1}"),
            &node("a", "", ""),
            &node("b", "", ""),
        ]);
        let mut plan = solve(&m, &SolveOptions::default()).plan;
        let evil_pool = r#"pool"<b>&amp;"#;
        plan.pools[0].name = evil_pool.to_string();
        let html = page(&m, &plan, None);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        let doc = roxmltree::Document::parse_with_options(
            &html,
            roxmltree::ParsingOptions {
                allow_dtd: true,
                ..Default::default()
            },
        )
        .expect("the page parses");
        assert!(!doc.descendants().any(|n| n.has_tag_name("script")));
        let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
        assert!(
            texts.iter().any(|t| t.contains(hostile)),
            "the class with its hostile value is shown as text: {texts:?}"
        );
        assert!(texts.contains(&evil_pool), "{texts:?}");
        let cards: Vec<&str> = doc
            .descendants()
            .filter_map(|n| n.attribute("data-pool"))
            .collect();
        assert_eq!(cards.len(), plan.pools.len());
        assert!(cards.contains(&evil_pool));
        // Same plan, same bytes.
        assert_eq!(html, page(&m, &plan, None));
    }

    #[test]
    fn the_page_has_the_figures_and_a_bar_per_node_and_resource() {
        let m = model(&[
            &workload(
                "web",
                "sensitivity: public, replicas: 2, resources: {cpu: 1, memory: 1Gi}",
            ),
            &node("a", "", ""),
            &node("b", "", ""),
        ]);
        let plan = solve(&m, &SolveOptions::default()).plan;
        let html = page(&m, &plan, None);
        assert!(
            html.contains("<span class=\"badge optimal\">optimal</span>"),
            "{html}"
        );
        assert!(
            html.contains("<dt>Cost per hour</dt><dd>1.0000</dd>"),
            "{html}"
        );
        // Node a holds both replicas: cpu 2 of 4, memory 2.0Gi of 16.0Gi.
        assert!(html.contains("<td class=\"mono\">a</td>"), "{html}");
        assert!(
            html.contains("<span style=\"width:50.0%\"></span>"),
            "{html}"
        );
        assert!(html.contains("50% · 2 of 4"), "{html}");
        assert!(html.contains("@media print"), "{html}");
    }
}
