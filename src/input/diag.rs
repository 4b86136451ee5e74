//! Diagnostics: one problem in the input, located by file, document and field path, with a fix.

use std::fmt;
use std::path::PathBuf;

/// Where a document came from: the file and the 1-based index of the YAML document in it
/// (0 for problems of the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    /// The file.
    pub file: PathBuf,
    /// 1-based number of the YAML document in the file.
    pub doc: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.doc == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}: document {}", self.file.display(), self.doc)
        }
    }
}

/// One problem with the input. `code` is stable and documented so scripts can match on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code (`E001`…), listed in DIAGNOSTICS.md.
    pub code: &'static str,
    /// `None` for problems of the input as a whole (e.g. no nodes at all).
    pub origin: Option<Origin>,
    /// 1-based line and column, where the YAML parser gave one.
    pub line_col: Option<(usize, usize)>,
    /// Field path inside the document, e.g. `spec.resources.cpu`; empty for the whole document.
    pub path: String,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

impl Diagnostic {
    /// A diagnostic with `code` at `origin` (when known) and field `path`.
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
    /// Every problem found, sorted by file, document and field.
    pub diagnostics: Vec<Diagnostic>,
}

impl InputError {
    /// The error of `diagnostics`, sorted.
    pub fn new(mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by(|a, b| {
            (&a.origin, a.line_col, &a.path, a.code).cmp(&(&b.origin, b.line_col, &b.path, b.code))
        });
        diagnostics.dedup();
        InputError { diagnostics }
    }
}

/// Problems shown in full; hostile input can hold millions, which would bury the first ones.
pub const MAX_SHOWN: usize = 200;

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        writeln!(
            f,
            "invalid input: {n} problem{}",
            if n == 1 { "" } else { "s" }
        )?;
        for d in self.diagnostics.iter().take(MAX_SHOWN) {
            writeln!(f, "{d}")?;
        }
        if n > MAX_SHOWN {
            writeln!(f, "... and {} more problems not shown", n - MAX_SHOWN)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(file: &str, doc: usize, path: &str) -> Diagnostic {
        let origin = Origin {
            file: file.into(),
            doc,
        };
        Diagnostic::new("E999", Some(&origin), path, "problem", "fix it")
    }

    #[test]
    fn names_file_document_line_path_problem_and_fix() {
        let mut d = diag("a.yaml", 2, "spec.cpu");
        d.line_col = Some((3, 4));
        assert_eq!(
            d.to_string(),
            "a.yaml: document 2 (line 3, column 4): spec.cpu: problem [E999]\n  fix: fix it"
        );
        assert_eq!(
            diag("a.yaml", 0, "").to_string(),
            "a.yaml: problem [E999]\n  fix: fix it"
        );
        let whole = Diagnostic::new("E050", None, "", "none", "");
        assert_eq!(whole.to_string(), "input: none [E050]");
    }

    #[test]
    fn input_errors_are_sorted_and_deduplicated() {
        let e = InputError::new(vec![
            diag("b.yaml", 1, ""),
            diag("a.yaml", 2, "x"),
            diag("a.yaml", 2, "x"),
            diag("a.yaml", 1, "y"),
        ]);
        let order: Vec<String> = e
            .diagnostics
            .iter()
            .map(|d| d.origin.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(
            order,
            [
                "a.yaml: document 1",
                "a.yaml: document 2",
                "b.yaml: document 1"
            ]
        );
        assert!(e.to_string().starts_with("invalid input: 3 problems\n"));
    }

    #[test]
    fn a_flood_of_problems_is_cut_short() {
        let e = InputError::new((1..=MAX_SHOWN + 5).map(|i| diag("a.yaml", i, "")).collect());
        let text = e.to_string();
        assert_eq!(text.matches("[E999]").count(), MAX_SHOWN);
        assert!(
            text.ends_with("... and 5 more problems not shown\n"),
            "{text}"
        );
    }

    #[test]
    fn suggests_only_close_candidates() {
        assert_eq!(
            did_you_mean("replica", ["replicas", "resources"]),
            Some("replicas")
        );
        assert_eq!(
            did_you_mean("Sensitivity", ["sensitivity"]),
            Some("sensitivity")
        );
        assert_eq!(did_you_mean("zzz", ["replicas"]), None);
        assert_eq!(hint("zzz", ["replicas"]), "");
    }
}
