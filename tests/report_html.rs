//! `plan --report` and `whatif --report` end to end: the report.html of every plannable
//! example, parsed as a document (one card per pool, every section, nothing outside the
//! file), byte-identical across runs, and opened in headless Chromium: the page loads
//! without a console message, its rendered DOM shows every pool, and its screenshot is a
//! real picture.
//!
//! The browser part skips with a note when Chromium is missing, unless
//! `TIERPLAN_REQUIRE_TOOLS=1` (set by `.ci/run`, which installs it), which makes a missing
//! browser a failure. `TIERPLAN_REPORT_SHOTS=DIR` keeps the screenshots in DIR (the README's
//! `docs/report.png` is the one of `nist-800-190`).

mod run;

use run::{example_dir as example, read_plan, tierplan};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tierplan::plan::Plan;

/// The examples `tierplan plan` takes on their own (`kubernetes` needs the shops of
/// `../shared/realworld`, `whatif` and `cluster` are no inputs).
const EXAMPLES: [&str; 4] = [
    "nist-800-190",
    "multi-tenant-saas",
    "new-cluster",
    "infeasible",
];

/// The window of the screenshots: a laptop's width, tall enough for several pools.
const WINDOW: (u32, u32) = (1280, 2000);

/// Plans `example` with `--report` into `out`; its plan and report.
fn reported(name: &str, out: &Path) -> (Plan, String) {
    let out_arg = out.to_str().unwrap();
    let run = tierplan(&[
        "plan",
        "--report",
        "--quiet",
        "--out",
        out_arg,
        &example(name),
    ]);
    let expected = if name == "infeasible" { 1 } else { 0 };
    assert_eq!(
        run.status.code(),
        Some(expected),
        "{name}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let plan = read_plan(&out.join("plan.json"));
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html written");
    (plan, html)
}

/// The structural checks that need no browser: the page parses, has one card per pool
/// (named by `data-pool`), the sections a reader looks for, the graph inline, and refers
/// to nothing outside itself.
#[track_caller]
fn check_structure(name: &str, html: &str, plan: &Plan, whatif: bool) {
    let doc = roxmltree::Document::parse_with_options(
        html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{name}: report.html does not parse: {e}"));
    let cards: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("article"))
        .filter_map(|n| n.attribute("data-pool"))
        .collect();
    let pools: Vec<&str> = plan.pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(cards, pools, "{name}: one card per pool, in plan order");
    let sections: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("section"))
        .filter_map(|n| n.attribute("id"))
        .collect();
    for id in ["summary", "pools", "findings", "graph"] {
        assert!(
            sections.contains(&id),
            "{name}: no section {id}: {sections:?}"
        );
    }
    assert_eq!(
        sections.contains(&"unplaced"),
        !plan.unplaced.is_empty() || !plan.unmet.is_empty() || plan.explanation.is_some(),
        "{name}"
    );
    assert_eq!(sections.contains(&"whatif"), whatif, "{name}");
    assert_eq!(
        doc.descendants().filter(|n| n.has_tag_name("svg")).count(),
        1,
        "{name}: the constraint graph inline"
    );
    // Each node of each pool has a row with its utilisation bars.
    let rows = doc
        .descendants()
        .filter(|n| n.has_tag_name("table") && n.attribute("class") == Some("nodes"))
        .flat_map(|t| t.descendants().filter(|n| n.has_tag_name("tr")))
        .count();
    let nodes: usize = plan.pools.iter().map(|p| p.nodes.len()).sum();
    assert_eq!(
        rows,
        nodes + plan.pools.len(),
        "{name}: a row per node, a head per pool"
    );
    // Self-contained: no script, no external resource of any kind.
    for n in doc.descendants().filter(|n| n.is_element()) {
        let tag = n.tag_name().name();
        assert!(
            !matches!(
                tag,
                "script" | "link" | "img" | "iframe" | "object" | "image"
            ),
            "{name}: <{tag}>"
        );
        for a in n.attributes() {
            assert!(a.name() != "src", "{name}: src on <{tag}>");
            if a.name() == "href" {
                assert!(a.value().starts_with('#'), "{name}: href {}", a.value());
            }
        }
    }
    for banned in ["url(", "@import", "http://", "https://"] {
        let outside_svg_namespace = html.replace("http://www.w3.org/2000/svg", "");
        assert!(!outside_svg_namespace.contains(banned), "{name}: {banned}");
    }
}

#[test]
fn every_example_has_a_self_contained_report_with_one_card_per_pool() {
    for name in EXAMPLES {
        let dir = tempfile::tempdir().unwrap();
        let (plan, html) = reported(name, &dir.path().join("out"));
        check_structure(name, &html, &plan, false);
        assert!(html.contains("<dd>"), "{name}: summary figures");
        if name == "infeasible" {
            assert!(html.contains("Unplaced replicas ("), "{name}");
            assert!(html.contains("ml/feature-store"), "{name}");
        }
        if name == "multi-tenant-saas" {
            // Its namespaces span pools: the trust-boundary finding is in the page.
            assert!(html.contains("span several pools"), "{name}");
        }
        // Same input, same bytes.
        let (_, again) = reported(name, &dir.path().join("again"));
        assert!(again == html, "{name}: report.html differs between runs");
    }
}

#[test]
fn whatif_report_adds_the_comparison_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let html = whatif_report(&out);
    let plan = read_plan(&out.join("baseline").join("plan.json"));
    check_structure("whatif", &html, &plan, true);
    let scenarios = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/whatif/scenarios.yaml"),
    )
    .unwrap();
    assert!(html.contains("<th class=\"num\">cost/h</th>"), "{html}");
    // Every scenario has its row.
    for line in scenarios
        .lines()
        .filter(|l| l.trim_start().starts_with("name:"))
    {
        let scenario = line.split(':').nth(1).unwrap().trim();
        assert!(html.contains(&format!("<td>{scenario}</td>")), "{scenario}");
    }
}

fn whatif_report(out: &Path) -> String {
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/whatif/scenarios.yaml");
    let run = tierplan(&[
        "whatif",
        &example("nist-800-190"),
        "--scenario",
        scenarios.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--report",
        "--quiet",
    ]);
    assert!(
        matches!(run.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read_to_string(out.join("report.html")).expect("report.html written")
}

#[test]
fn report_without_flag_is_not_written_and_a_foreign_report_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_arg = out.to_str().unwrap();
    let run = tierplan(&[
        "plan",
        "--quiet",
        "--out",
        out_arg,
        &example("nist-800-190"),
    ]);
    assert_eq!(run.status.code(), Some(0));
    assert!(!out.join("report.html").exists());
    std::fs::write(out.join("report.html"), "mine").unwrap();
    let run = tierplan(&[
        "plan",
        "--report",
        "--out",
        out_arg,
        &example("nist-800-190"),
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("report.html"));
    assert_eq!(
        std::fs::read_to_string(out.join("report.html")).unwrap(),
        "mine"
    );
}

// ---- the browser ----

/// The Chromium binary, or `None` with a note (a failure under `TIERPLAN_REQUIRE_TOOLS=1`).
fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser"].into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var("TIERPLAN_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "`chromium` is required (TIERPLAN_REQUIRE_TOOLS=1) but does not run; `apt-get install chromium`"
        );
        eprintln!(
            "note: `chromium` not found; skipping the browser checks of report.html (install Debian's `chromium`, or set TIERPLAN_REQUIRE_TOOLS=1 to fail instead)"
        );
    }
    found
}

/// Runs headless Chromium on `page` with `mode` (`--screenshot=…` or `--dump-dom`): standard
/// output and standard error. The flags keep it off the network (no background
/// connections, no component updates) and log console messages to standard error.
fn browse(browser: &str, page: &Path, mode: &str) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={},{}", WINDOW.0, WINDOW.1))
        .arg(mode)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Read both pipes on threads so that a full pipe never stalls the browser.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).ok();
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            child.kill().ok();
            child.wait().ok();
            panic!("chromium did not finish {mode} of {url} within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(status.success(), "chromium {mode} {url}: {status}\n{err}");
    (out, err)
}

/// Console messages Chromium logged (`INFO:CONSOLE…] "message", source: …`).
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// Width and height from a PNG's header.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Opens `page` in Chromium: no console message, every pool in the rendered DOM, and a
/// screenshot of the window's size with real content; kept in `TIERPLAN_REPORT_SHOTS`.
fn check_in_browser(browser: &str, name: &str, page: &Path, pools: &[&str]) {
    let (dom, log) = browse(browser, page, "--dump-dom");
    assert_eq!(
        console_lines(&log),
        Vec::<&str>::new(),
        "{name}: console messages"
    );
    assert!(dom.contains("tierplan plan report"), "{name}: {dom}");
    for pool in pools {
        assert!(
            dom.contains(&format!("data-pool=\"{pool}\"")),
            "{name}: pool {pool} not in the rendered page"
        );
    }
    let shot = page.with_file_name(format!("{name}.png"));
    let (_, log) = browse(browser, page, &format!("--screenshot={}", shot.display()));
    assert_eq!(
        console_lines(&log),
        Vec::<&str>::new(),
        "{name}: console messages"
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert_eq!(png_size(&png), WINDOW, "{name}");
    // A blank page of this size compresses to a few KB; a page of pools, bars and text does not.
    assert!(
        png.len() > 40_000,
        "{name}: screenshot of {} bytes looks empty",
        png.len()
    );
    if let Ok(dir) = std::env::var("TIERPLAN_REPORT_SHOTS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&shot, PathBuf::from(dir).join(format!("{name}.png"))).unwrap();
    }
}

#[test]
fn chromium_shows_every_pool_of_every_example_without_console_messages() {
    let Some(browser) = chromium() else {
        return;
    };
    // The console check must be able to fail: a page that logs is caught.
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary.html");
    std::fs::write(
        &canary,
        "<!DOCTYPE html><html><body><script>console.error('canary')</script></body></html>",
    )
    .unwrap();
    let (_, log) = browse(browser, &canary, "--dump-dom");
    assert!(
        console_lines(&log).iter().any(|l| l.contains("canary")),
        "chromium's console log is not where this test reads it:\n{log}"
    );
    for name in EXAMPLES {
        let out = dir.path().join(name);
        let (plan, _) = reported(name, &out);
        let pools: Vec<&str> = plan.pools.iter().map(|p| p.name.as_str()).collect();
        check_in_browser(browser, name, &out.join("report.html"), &pools);
    }
    let out = dir.path().join("whatif");
    whatif_report(&out);
    let plan = read_plan(&out.join("baseline").join("plan.json"));
    let pools: Vec<&str> = plan.pools.iter().map(|p| p.name.as_str()).collect();
    check_in_browser(browser, "whatif", &out.join("report.html"), &pools);
}
