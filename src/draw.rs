//! Drawing the constraint graph: DOT (Graphviz), Mermaid and SVG text of the classes, the
//! edges between them and, given a plan, its pools as clusters around their classes.
//!
//! Owns how the graph of [`crate::graph`] looks; it decides nothing about the plan. All three
//! drawings come from one `Picture` built here, so they always show the same vertices,
//! edges and legend. Every function is pure and deterministic: classes are in the graph's
//! order (sorted by name), pools in the plan's (sorted by name), edges by class index.
//!
//! - **Vertices**: one per class, labelled with its attributes (the `separateBy` values, or
//!   `dedicated` and the workload, or `platform`), its workload and replica count, and the
//!   total requests of its replicas per resource (`pods` left out).
//! - **Edges**: compatible pairs (may share a pool) solid green; conflicting pairs (must be
//!   in different pools) dashed red, carrying their reason (label in DOT and Mermaid,
//!   tooltip in SVG).
//! - **Pools**: with a plan, one cluster per pool (`subgraph cluster_<k>` in DOT, `subgraph`
//!   in Mermaid, a box in SVG) around the classes it runs; classes in no pool (nothing of
//!   them placed) stay outside. Plan classes the input lacks (a plan of other inputs) are
//!   named in the cluster's label.
//!
//! **Which edges are drawn.** Every pair of classes is either compatible or in conflict, so
//! there are n(n-1)/2 edges. Up to [`ALL_EDGES_UP_TO`] pairs (12 classes) every edge is
//! drawn. Beyond that only the smaller kind is drawn (compatible pairs on a tie), and the
//! legend says "all other pairs conflict" (with the count of each reason) or "all other
//! pairs are compatible". Real policies make nearly every pair conflict, so a large graph
//! usually shows its few compatible pairs instead of n² red lines.
//!
//! **SVG without Graphviz.** No pure-Rust crate lays out DOT with clusters (layout-rs, the
//! one maintained candidate, has no nested graphs), so the SVG has a simple layout of its
//! own: pools as boxes placed left to right in rows, classes as rounded boxes in a grid
//! inside their pool, edges as gently bent lines between box centres under the boxes. It
//! references no font, script, stylesheet or image (the generic `monospace` family, so
//! that text widths can be estimated), carries no `id` attributes, and can be inlined in
//! an HTML page.
//!
//! **Escaping.** Labels come from user input (attribute values, names, pool names): DOT
//! strings escape `\` and `"`, Mermaid labels use its entity codes (`#quot;`, `#lt;`, …),
//! SVG escapes the five XML characters and replaces control characters XML cannot carry.
//! Comments never carry user text.

use crate::graph::{Conflict, ConstraintGraph, Edge, Vertex};
use crate::model::{Model, ALL_CLASS, PLATFORM_CLASS, PODS};
use crate::plan::Plan;
use crate::quantity::display;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// Up to this many pairs of classes (12 classes), every edge is drawn; beyond, only the
/// smaller kind (see the module docs).
pub const ALL_EDGES_UP_TO: usize = 66;

/// Colour of compatible edges.
const GREEN: &str = "#2e7d32";
/// Colour of conflict edges.
const RED: &str = "#c62828";

/// What every drawing shows: computed once, then written out per format.
struct Picture {
    /// Per class: its full name, then the lines of its label.
    classes: Vec<(String, Vec<String>)>,
    /// The plan's pools, in plan order.
    pools: Vec<PoolBox>,
    /// Classes in no pool (every class without a plan), ascending.
    loose: Vec<usize>,
    /// Edges drawn: (class, class, conflict reason or `None` for compatible), i < j.
    edges: Vec<(usize, usize, Option<Reason>)>,
    /// The legend, one line each.
    legend: Vec<String>,
}

struct PoolBox {
    /// Title: name and node count.
    title: String,
    /// Its classes the model has, ascending.
    classes: Vec<usize>,
    /// Its classes the model lacks, in plan order.
    unknown: Vec<String>,
}

struct Reason {
    /// A word or two: the attribute, `dedicated`, `platform`.
    short: String,
    /// A sentence.
    long: String,
}

impl Reason {
    fn of(conflict: &Conflict) -> Reason {
        let (short, long) = match conflict {
            Conflict::Dedicated => (
                "dedicated".to_string(),
                "one of them is dedicated: it shares nodes with no other workload".to_string(),
            ),
            Conflict::Platform => (
                "platform".to_string(),
                "platform workloads share nodes with no tier".to_string(),
            ),
            Conflict::Attribute(a) if a.is_empty() => (
                "policy".to_string(),
                "the policy keeps them apart".to_string(),
            ),
            Conflict::Attribute(a) => (
                a.clone(),
                format!("`{a}` differs (separateBy) and no shareWhen rule lets them share"),
            ),
        };
        Reason { short, long }
    }
}

impl Picture {
    fn new(model: &Model, graph: &ConstraintGraph, plan: Option<&Plan>) -> Picture {
        let classes: Vec<(String, Vec<String>)> = graph
            .classes
            .iter()
            .map(|c| (c.name.clone(), class_label(model, c)))
            .collect();
        let n = classes.len();
        let index: HashMap<&str, usize> = graph
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        let mut placed = vec![false; n];
        let pools: Vec<PoolBox> = plan
            .map(|p| p.pools.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|pool| {
                let mut mine = Vec::new();
                let mut unknown = Vec::new();
                for name in &pool.classes {
                    match index.get(name.as_str()) {
                        // A class in two pools (the checker refuses that) is drawn in the first.
                        Some(&c) if !placed[c] => {
                            placed[c] = true;
                            mine.push(c);
                        }
                        Some(_) => {}
                        None => unknown.push(name.clone()),
                    }
                }
                mine.sort_unstable();
                PoolBox {
                    title: format!("{} ({} node(s))", pool.name, pool.nodes.len()),
                    classes: mine,
                    unknown,
                }
            })
            .collect();
        let loose: Vec<usize> = (0..n).filter(|&c| !placed[c]).collect();

        // Every class pair, from the graph's edges: None = compatible.
        let mut pairs: BTreeMap<(usize, usize), Option<Reason>> = BTreeMap::new();
        for e in graph.graph.edge_indices() {
            let (a, b) = graph.graph.edge_endpoints(e).expect("an edge of the graph");
            let (Vertex::Class(a), Vertex::Class(b)) = (&graph.graph[a], &graph.graph[b]) else {
                continue;
            };
            let reason = match &graph.graph[e] {
                Edge::Compatible => None,
                Edge::Conflict(c) => Some(Reason::of(c)),
                _ => continue,
            };
            pairs.insert(((*a).min(*b), (*a).max(*b)), reason);
        }
        let compatible = pairs.values().filter(|r| r.is_none()).count();
        let conflicts = pairs.len() - compatible;
        let mut legend = vec![
            format!("{n} class(es); green solid: may share a pool ({compatible} pair(s)); red dashed: must be in different pools, with why ({conflicts} pair(s))"),
        ];
        let keep_conflicts = if pairs.len() <= ALL_EDGES_UP_TO {
            None
        } else if compatible <= conflicts {
            let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
            for r in pairs.values().flatten() {
                *by_reason.entry(r.short.clone()).or_default() += 1;
            }
            let counts: Vec<String> = by_reason
                .iter()
                .map(|(reason, k)| format!("{reason}: {k}"))
                .collect();
            legend.push(format!(
                "only compatible pairs are drawn: all other pairs conflict ({})",
                counts.join(", ")
            ));
            Some(false)
        } else {
            legend.push(
                "only conflicting pairs are drawn: all other pairs are compatible".to_string(),
            );
            Some(true)
        };
        let edges = pairs
            .into_iter()
            .filter(|(_, r)| keep_conflicts.is_none_or(|k| r.is_some() == k))
            .map(|((a, b), r)| (a, b, r))
            .collect();
        if plan.is_some() {
            legend.push("boxes: the plan's pools around the classes they run".to_string());
        }
        Picture {
            classes,
            pools,
            loose,
            edges,
            legend,
        }
    }
}

/// The label lines of a class vertex.
fn class_label(model: &Model, class: &crate::policy::Class) -> Vec<String> {
    let first = &model.workloads[class.workloads[0]];
    let mut lines = if class.name == PLATFORM_CLASS {
        vec!["platform (outside the tiers)".to_string()]
    } else if class.dedicated {
        vec!["dedicated".to_string(), first.id.clone()]
    } else if class.name == ALL_CLASS {
        vec!["all workloads (no separateBy)".to_string()]
    } else {
        model
            .policy
            .separate_by
            .iter()
            .map(|a| format!("{a}={}", first.attribute(a)))
            .collect()
    };
    let replicas: u64 = class
        .workloads
        .iter()
        .map(|&w| u64::from(model.workloads[w].replicas))
        .sum();
    lines.push(format!(
        "{} workload(s), {replicas} replica(s)",
        class.workloads.len()
    ));
    let requests: Vec<String> = model
        .resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.as_str() != PODS)
        .filter_map(|(r, name)| {
            let total = class.workloads.iter().fold(0u64, |sum, &w| {
                let w = &model.workloads[w];
                sum.saturating_add(w.requests[r].saturating_mul(u64::from(w.replicas)))
            });
            (total > 0).then(|| format!("{name} {}", display(name, total)))
        })
        .collect();
    if !requests.is_empty() {
        lines.push(format!("requests: {}", requests.join(", ")));
    }
    lines
}

/// The constraint graph in Graphviz DOT: `graph constraints { … }`, pools as
/// `subgraph cluster_<k>` (k counting pools in plan order), classes as `c<i>` (i their
/// index in `graph.classes`) with the full class name as tooltip.
pub fn dot(model: &Model, graph: &ConstraintGraph, plan: Option<&Plan>) -> String {
    let p = Picture::new(model, graph, plan);
    let mut s = String::new();
    s.push_str("// tierplan constraint graph: render with `dot -Tsvg`, or use `tierplan graph --format svg`\n");
    s.push_str("graph constraints {\n");
    let _ = writeln!(
        s,
        "  graph [fontname=\"Helvetica\", fontsize=10, labelloc=b, labeljust=l, label={}];",
        dot_str(&p.legend.join("\n"))
    );
    s.push_str("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", fontsize=10];\n");
    s.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
    let vertex = |s: &mut String, indent: &str, c: usize| {
        let (name, lines) = &p.classes[c];
        let _ = writeln!(
            s,
            "{indent}c{c} [label={}, tooltip={}];",
            dot_str(&lines.join("\n")),
            dot_str(name)
        );
    };
    for (k, pool) in p.pools.iter().enumerate() {
        let _ = writeln!(s, "  subgraph cluster_{k} {{");
        let _ = writeln!(
            s,
            "    label={}; style=\"rounded,filled\"; fillcolor=\"#f3f6fb\"; color=\"#5b7db1\";",
            dot_str(&pool_title(pool))
        );
        for &c in &pool.classes {
            vertex(&mut s, "    ", c);
        }
        if pool.classes.is_empty() {
            // Graphviz leaves out empty clusters; this keeps the pool visible.
            let _ = writeln!(
                s,
                "    p{k} [label=\"(no class of the input)\", shape=plaintext, style=\"\"];"
            );
        }
        s.push_str("  }\n");
    }
    for &c in &p.loose {
        vertex(&mut s, "  ", c);
    }
    for (a, b, reason) in &p.edges {
        match reason {
            None => {
                let _ = writeln!(
                    s,
                    "  c{a} -- c{b} [color=\"{GREEN}\", tooltip=\"may share a pool\"];"
                );
            }
            Some(r) => {
                let _ = writeln!(
                    s,
                    "  c{a} -- c{b} [color=\"{RED}\", style=dashed, fontcolor=\"{RED}\", label={}, tooltip={}];",
                    dot_str(&r.short),
                    dot_str(&r.long)
                );
            }
        }
    }
    s.push_str("}\n");
    s
}

/// The constraint graph as a Mermaid flowchart (`flowchart LR`), pools as subgraphs.
pub fn mermaid(model: &Model, graph: &ConstraintGraph, plan: Option<&Plan>) -> String {
    let p = Picture::new(model, graph, plan);
    let mut s = String::from("flowchart LR\n");
    s.push_str("  %% tierplan constraint graph: green solid, may share a pool; red dashed, must be in different pools\n");
    let vertex = |s: &mut String, indent: &str, c: usize| {
        let _ = writeln!(s, "{indent}c{c}[\"{}\"]", mermaid_str(&p.classes[c].1));
    };
    for (k, pool) in p.pools.iter().enumerate() {
        let _ = writeln!(
            s,
            "  subgraph p{k}[\"{}\"]",
            mermaid_str(&[pool_title(pool)])
        );
        for &c in &pool.classes {
            vertex(&mut s, "    ", c);
        }
        s.push_str("  end\n");
    }
    for &c in &p.loose {
        vertex(&mut s, "  ", c);
    }
    let (mut green, mut red) = (Vec::new(), Vec::new());
    for (k, (a, b, reason)) in p.edges.iter().enumerate() {
        match reason {
            None => {
                let _ = writeln!(s, "  c{a} --- c{b}");
                green.push(k.to_string());
            }
            Some(r) => {
                let _ = writeln!(
                    s,
                    "  c{a} -.-|\"{}\"| c{b}",
                    mermaid_str(std::slice::from_ref(&r.short))
                );
                red.push(k.to_string());
            }
        }
    }
    for (links, colour) in [(green, GREEN), (red, RED)] {
        if !links.is_empty() {
            let _ = writeln!(s, "  linkStyle {} stroke:{colour}", links.join(","));
        }
    }
    // The legend as a vertex of its own, so that it shows in the rendering.
    let _ = writeln!(s, "  legend[\"{}\"]", mermaid_str(&p.legend));
    s.push_str("  style legend fill:#ffffff,stroke:#999999,stroke-dasharray:3 3\n");
    s
}

/// A pool's title with the classes of it the input lacks.
fn pool_title(pool: &PoolBox) -> String {
    if pool.unknown.is_empty() {
        pool.title.clone()
    } else {
        format!(
            "{}\nnot in the input: {}",
            pool.title,
            pool.unknown.join(", ")
        )
    }
}

/// A DOT double-quoted string.
fn dot_str(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('"');
    for ch in text.chars() {
        match ch {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c if c.is_control() => s.push(' '),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Lines as the text of a Mermaid `"…"` label: entity codes for what Mermaid or HTML would
/// read, `<br/>` between lines.
fn mermaid_str(lines: &[String]) -> String {
    let escaped: Vec<String> = lines
        .iter()
        .flat_map(|l| l.split('\n'))
        .map(|line| {
            let mut s = String::with_capacity(line.len());
            for ch in line.chars() {
                match ch {
                    '"' => s.push_str("#quot;"),
                    '&' => s.push_str("#amp;"),
                    '<' => s.push_str("#lt;"),
                    '>' => s.push_str("#gt;"),
                    '#' => s.push_str("#35;"),
                    c if c.is_control() => s.push(' '),
                    c => s.push(c),
                }
            }
            s
        })
        .collect();
    escaped.join("<br/>")
}

/// Text as XML character data or attribute value.
pub(crate) fn xml(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            // XML 1.0 has no way to carry other control characters.
            '\t' | '\n' | '\r' => s.push(' '),
            c if c.is_control() => s.push('\u{fffd}'),
            c => s.push(c),
        }
    }
    s
}

// SVG geometry, in pixels. Text is 12px monospace: about 7.2px per character.
const FONT: u32 = 12;
const LINE: u32 = 15;
const MARGIN: u32 = 16;
const PAD: u32 = 14;
const GAP: u32 = 28;
const ROW_WIDTH: u32 = 1100;

/// Pixels `text` takes in 12px monospace (rounded up).
fn text_width(text: &str) -> u32 {
    (text.chars().count() as u32 * 72).div_ceil(10)
}

/// The constraint graph as a standalone SVG document, laid out here (no Graphviz needed;
/// see the module docs).
pub fn svg(model: &Model, graph: &ConstraintGraph, plan: Option<&Plan>) -> String {
    let p = Picture::new(model, graph, plan);
    // Every class box has one size: the widest and tallest label.
    let widest = p
        .classes
        .iter()
        .flat_map(|(_, lines)| lines.iter().map(|l| text_width(l)))
        .max()
        .unwrap_or(0);
    let tallest = p.classes.iter().map(|(_, l)| l.len()).max().unwrap_or(1) as u32;
    let (cw, ch) = (widest + 2 * PAD, tallest * LINE + PAD);

    // Groups: each pool, then the classes in no pool (without a plan: every class, unboxed).
    struct Group {
        title: Vec<String>,
        classes: Vec<usize>,
        boxed: bool,
        pool: bool,
    }
    let mut groups: Vec<Group> = p
        .pools
        .iter()
        .map(|pool| Group {
            title: pool_title(pool).split('\n').map(str::to_string).collect(),
            classes: pool.classes.clone(),
            boxed: true,
            pool: true,
        })
        .collect();
    if !p.loose.is_empty() {
        groups.push(Group {
            title: if p.pools.is_empty() {
                Vec::new()
            } else {
                vec!["in no pool".to_string()]
            },
            classes: p.loose.clone(),
            boxed: !p.pools.is_empty(),
            pool: false,
        });
    }

    // Each group: a grid of near-square shape; groups left to right, wrapped into rows.
    let mut position = vec![(0u32, 0u32); p.classes.len()];
    let mut boxes = Vec::new();
    let (mut x, mut y, mut row_height, mut width) = (MARGIN, MARGIN, 0u32, 0u32);
    for g in &groups {
        let k = g.classes.len().max(1) as u32;
        let cols = (1..=k).find(|c| c * c >= k).unwrap_or(1);
        let rows = k.div_ceil(cols);
        let header = g.title.len() as u32 * LINE + if g.boxed { PAD } else { 0 };
        let title_width = g.title.iter().map(|t| text_width(t)).max().unwrap_or(0);
        let gw = (cols * cw + (cols - 1) * GAP).max(title_width) + 2 * PAD;
        let gh = header + rows * ch + (rows - 1) * GAP + 2 * PAD;
        if x > MARGIN && x + gw > MARGIN + ROW_WIDTH {
            x = MARGIN;
            y += row_height + GAP;
            row_height = 0;
        }
        for (i, &c) in g.classes.iter().enumerate() {
            let (col, row) = (i as u32 % cols, i as u32 / cols);
            position[c] = (
                x + PAD + col * (cw + GAP),
                y + PAD + header + row * (ch + GAP),
            );
        }
        boxes.push((x, y, gw, gh));
        x += gw + GAP;
        width = width.max(x - GAP);
        row_height = row_height.max(gh);
    }
    let legend_y = y + row_height + GAP;
    let legend_width = p.legend.iter().map(|l| text_width(l)).max().unwrap_or(0);
    let total_w = width.max(MARGIN + legend_width) + MARGIN;
    let total_h = legend_y + p.legend.len() as u32 * LINE + MARGIN;

    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total_w}\" height=\"{total_h}\" viewBox=\"0 0 {total_w} {total_h}\" font-family=\"monospace\" font-size=\"{FONT}\">"
    );
    s.push_str("<title>tierplan constraint graph</title>\n");
    let _ = writeln!(
        s,
        "<rect x=\"0\" y=\"0\" width=\"{total_w}\" height=\"{total_h}\" fill=\"#ffffff\"/>"
    );
    let mut titles = String::new();
    for (g, &(bx, by, bw, bh)) in groups.iter().zip(&boxes) {
        if !g.boxed {
            continue;
        }
        let (fill, stroke, dash) = if g.pool {
            ("#f3f6fb", "#5b7db1", "")
        } else {
            ("#fafafa", "#999999", " stroke-dasharray=\"4 3\"")
        };
        let _ = writeln!(
            s,
            "<g><title>{}</title><rect x=\"{bx}\" y=\"{by}\" width=\"{bw}\" height=\"{bh}\" rx=\"10\" fill=\"{fill}\" stroke=\"{stroke}\"{dash}/>",
            xml(&g.title.join(" — "))
        );
        // Titles go over the edges, so they are written after them.
        for (i, line) in g.title.iter().enumerate() {
            let _ = writeln!(
                titles,
                "<text x=\"{}\" y=\"{}\"{}>{}</text>",
                bx + PAD,
                by + PAD + (i as u32 + 1) * LINE - 3,
                if i == 0 { " font-weight=\"bold\"" } else { "" },
                xml(line)
            );
        }
        s.push_str("</g>\n");
    }
    // Edges under the class boxes, from centre to centre, each bent a fifth of its length
    // to its left, so that edges along one row or column do not cover each other.
    let centre = |c: usize| {
        (
            i64::from(position[c].0 + cw / 2),
            i64::from(position[c].1 + ch / 2),
        )
    };
    for (a, b, reason) in &p.edges {
        let ((x1, y1), (x2, y2)) = (centre(*a), centre(*b));
        let (qx, qy) = ((x1 + x2) / 2 - (y2 - y1) / 5, (y1 + y2) / 2 + (x2 - x1) / 5);
        let (title, style) = match reason {
            None => (
                format!(
                    "{} and {} may share a pool",
                    p.classes[*a].0, p.classes[*b].0
                ),
                format!("stroke=\"{GREEN}\" stroke-width=\"1.5\""),
            ),
            Some(r) => (
                format!(
                    "{} and {} conflict: {}",
                    p.classes[*a].0, p.classes[*b].0, r.long
                ),
                format!("stroke=\"{RED}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\""),
            ),
        };
        let d = format!("M{x1} {y1} Q{qx} {qy} {x2} {y2}");
        // The wide transparent twin makes the tooltip easy to reach with a pointer.
        let _ = writeln!(
            s,
            "<g fill=\"none\"><title>{}</title><path d=\"{d}\" {style}/><path d=\"{d}\" stroke=\"transparent\" stroke-width=\"8\"/></g>",
            xml(&title)
        );
    }
    s.push_str(&titles);
    for (c, (name, lines)) in p.classes.iter().enumerate() {
        let (cx, cy) = position[c];
        let _ = writeln!(
            s,
            "<g><title>{}</title><rect x=\"{cx}\" y=\"{cy}\" width=\"{cw}\" height=\"{ch}\" rx=\"8\" fill=\"#ffffff\" stroke=\"#333333\"/>",
            xml(name)
        );
        for (i, line) in lines.iter().enumerate() {
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\">{}</text>",
                cx + PAD,
                cy + PAD / 2 + (i as u32 + 1) * LINE - 3,
                xml(line)
            );
        }
        s.push_str("</g>\n");
    }
    for (i, line) in p.legend.iter().enumerate() {
        let _ = writeln!(
            s,
            "<text x=\"{MARGIN}\" y=\"{}\" fill=\"#555555\">{}</text>",
            legend_y + (i as u32 + 1) * LINE - 3,
            xml(line)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{model, node, policy, workload};

    fn many(n: usize, share: bool) -> Model {
        let mut docs = vec![
            policy(if share {
                "separateBy: [tenant], shareWhen: [{tenant: [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16, t17, t18, t19]}]"
            } else {
                "separateBy: [tenant]"
            }),
            node("n", "", ""),
        ];
        for i in 0..n {
            docs.push(workload(
                &format!("w{i}"),
                &format!("sensitivity: public, tenant: t{i}"),
            ));
        }
        let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
        model(&refs)
    }

    #[test]
    fn large_graphs_draw_only_the_smaller_kind_of_edge_and_say_so() {
        let m = many(20, false);
        let g = ConstraintGraph::build(&m);
        let p = Picture::new(&m, &g, None);
        assert!(p.edges.is_empty(), "no compatible pair, no edge");
        assert!(p.legend[1].contains("all other pairs conflict (tenant: 190)"));
        let m = many(20, true);
        let g = ConstraintGraph::build(&m);
        let p = Picture::new(&m, &g, None);
        assert!(p.edges.is_empty(), "no conflicting pair, no edge");
        assert!(p.legend[1].contains("all other pairs are compatible"));
        let m = many(5, false);
        let g = ConstraintGraph::build(&m);
        let p = Picture::new(&m, &g, None);
        assert_eq!(p.edges.len(), 10, "small graphs show every pair");
        assert_eq!(p.legend.len(), 1);
    }

    #[test]
    fn text_is_escaped_for_each_format() {
        assert_eq!(dot_str("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(
            mermaid_str(&["<a&\"#>".to_string()]),
            "#lt;a#amp;#quot;#35;#gt;"
        );
        assert_eq!(xml("<a&'\">\u{1}"), "&lt;a&amp;&apos;&quot;&gt;\u{fffd}");
    }
}
