//! Every diagnostic code used in `src/` must be documented in DIAGNOSTICS.md.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

fn collect_rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect_rs_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// Finds every `"E0nn"` literal (quote, `E0`, two ASCII digits, quote).
fn codes_in(text: &str, codes: &mut BTreeSet<String>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 6 <= bytes.len() {
        let w = &bytes[i..i + 6];
        if w[0] == b'"'
            && w[1] == b'E'
            && w[2] == b'0'
            && w[3].is_ascii_digit()
            && w[4].is_ascii_digit()
            && w[5] == b'"'
        {
            codes.insert(String::from_utf8_lossy(&w[1..5]).into_owned());
            i += 6;
        } else {
            i += 1;
        }
    }
}

#[test]
fn every_diagnostic_code_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect_rs_files(&root.join("src"), &mut files);

    let mut codes = BTreeSet::new();
    for file in &files {
        let text =
            fs::read_to_string(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        codes_in(&text, &mut codes);
    }
    assert!(!codes.is_empty(), "no diagnostic codes found under src/");

    let doc_path = root.join("DIAGNOSTICS.md");
    let doc = fs::read_to_string(&doc_path)
        .unwrap_or_else(|e| panic!("read {}: {e}", doc_path.display()));
    let missing: Vec<&String> = codes
        .iter()
        .filter(|code| !doc.contains(&format!("| {code} |")))
        .collect();
    let count = missing.len();
    assert!(
        missing.is_empty(),
        "{count} diagnostic code(s) missing from DIAGNOSTICS.md (expected a `| E0nn |` row): {missing:?}"
    );
}
