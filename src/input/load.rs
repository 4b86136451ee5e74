//! Reading files: paths → YAML documents with their origin. No meaning is given to them here.

use super::diag::{Diagnostic, Origin};
use std::path::{Path, PathBuf};

/// Larger inputs are refused rather than risking an out-of-memory kill.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// One parsed YAML document, not yet typed.
#[derive(Debug, Clone)]
pub struct RawDocument {
    pub origin: Origin,
    pub value: serde_yaml::Value,
}

/// Expands `paths` (files, and directories whose `*.yaml`/`*.yml` files are read, not
/// recursively) into a sorted, de-duplicated list of files.
pub fn expand(paths: &[PathBuf], diags: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => match std::fs::read_dir(path) {
                Ok(entries) => {
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| {
                            p.is_file()
                                && matches!(
                                    p.extension().and_then(|e| e.to_str()),
                                    Some("yaml" | "yml")
                                )
                        })
                        .collect();
                    if found.is_empty() {
                        diags.push(file_diag(
                            "E002",
                            path,
                            "the directory holds no *.yaml or *.yml file",
                            "name a directory with tierplan documents, or the files themselves",
                        ));
                    }
                    found.sort();
                    files.extend(found);
                }
                Err(e) => diags.push(file_diag(
                    "E001",
                    path,
                    &format!("cannot read directory: {e}"),
                    "check the path and its permissions",
                )),
            },
            Ok(_) => files.push(path.clone()),
            Err(e) => diags.push(file_diag(
                "E001",
                path,
                &format!("cannot read: {e}"),
                "check the path and its permissions",
            )),
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    files
}

fn file_diag(code: &'static str, file: &Path, problem: &str, fix: &str) -> Diagnostic {
    Diagnostic::new(
        code,
        Some(&Origin {
            file: file.to_path_buf(),
            doc: 0,
        }),
        "",
        problem,
        fix,
    )
}

/// Reads every document of `file`. Empty documents are skipped.
pub fn read_file(file: &Path, diags: &mut Vec<Diagnostic>) -> Vec<RawDocument> {
    let bytes = match std::fs::File::open(file).and_then(|f| {
        use std::io::Read;
        let mut buf = Vec::new();
        f.take(MAX_FILE_BYTES + 1).read_to_end(&mut buf)?;
        Ok(buf)
    }) {
        Ok(b) => b,
        Err(e) => {
            diags.push(file_diag(
                "E001",
                file,
                &format!("cannot read: {e}"),
                "check the path and its permissions",
            ));
            return Vec::new();
        }
    };
    if bytes.len() as u64 > MAX_FILE_BYTES {
        diags.push(file_diag(
            "E003",
            file,
            &format!("the file is larger than {} MiB", MAX_FILE_BYTES >> 20),
            "split the input into several files",
        ));
        return Vec::new();
    }
    parse_documents(file, &bytes, diags)
}

/// Parses YAML `bytes` (one or more documents) read from `file`.
pub fn parse_documents(file: &Path, bytes: &[u8], diags: &mut Vec<Diagnostic>) -> Vec<RawDocument> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let before = &bytes[..e.valid_up_to()];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            let mut d = file_diag(
                "E004",
                file,
                &format!("byte {} is not valid UTF-8", e.valid_up_to()),
                "save the file as UTF-8",
            );
            d.line_col = Some((line, col));
            diags.push(d);
            return Vec::new();
        }
    };
    let mut docs = Vec::new();
    for (i, de) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let origin = Origin {
            file: file.to_path_buf(),
            doc: i + 1,
        };
        match <serde_yaml::Value as serde::Deserialize>::deserialize(de) {
            Ok(serde_yaml::Value::Null) => {}
            Ok(value) => docs.push(RawDocument { origin, value }),
            Err(e) => {
                let mut d = Diagnostic::new(
                    "E005",
                    Some(&origin),
                    "",
                    format!("invalid YAML: {}", strip_location(&e.to_string())),
                    "fix the YAML syntax (indent with spaces, close every quote and bracket)",
                );
                d.line_col = e.location().map(|l| (l.line(), l.column()));
                diags.push(d);
                // The parser cannot resynchronise after a syntax error.
                break;
            }
        }
    }
    docs
}

/// serde_yaml appends " at line L column C"; the diagnostic carries that separately.
fn strip_location(message: &str) -> &str {
    message.find(" at line ").map_or(message, |i| &message[..i])
}
