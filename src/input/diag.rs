//! Diagnostics: one problem in the input, located by file, document and field path, with a fix.

use std::fmt;
use std::path::PathBuf;

/// Where a document came from: the file and the 1-based index of the YAML document in it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub file: PathBuf,
    pub doc: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: document {}", self.file.display(), self.doc)
    }
}

/// One problem with the input. `code` is stable and documented so scripts can match on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    /// `None` for problems of the input as a whole (e.g. no nodes at all).
    pub origin: Option<Origin>,
    /// 1-based line and column, where the YAML parser gave one.
    pub line_col: Option<(usize, usize)>,
    /// Field path inside the document, e.g. `spec.resources.cpu`; empty for the whole document.
    pub path: String,
    pub problem: String,
    pub fix: String,
}

impl Diagnostic {
    pub fn new(
        code: &'static str,
        origin: Option<&Origin>,
        path: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            origin: origin.cloned(),
            line_col: None,
            path: path.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(o) => write!(f, "{o}")?,
            None => write!(f, "input")?,
        }
        if let Some((line, col)) = self.line_col {
            write!(f, " (line {line}, column {col})")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {} [{}]", self.problem, self.code)?;
        if !self.fix.is_empty() {
            write!(f, "\n  fix: {}", self.fix)?;
        }
        Ok(())
    }
}

/// Every problem found in one run, in a stable order (file, document, path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputError {
    pub diagnostics: Vec<Diagnostic>,
}

impl InputError {
    pub fn new(mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by(|a, b| {
            (&a.origin, a.line_col, &a.path, a.code).cmp(&(&b.origin, b.line_col, &b.path, b.code))
        });
        diagnostics.dedup();
        InputError { diagnostics }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        writeln!(
            f,
            "invalid input: {n} problem{}",
            if n == 1 { "" } else { "s" }
        )?;
        for d in &self.diagnostics {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

/// The closest candidate to `given`, if any is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&given.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

/// ` (did you mean `x`?)` or nothing.
pub fn hint<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(given, candidates)
        .map(|c| format!("did you mean `{c}`?"))
        .unwrap_or_default()
}
