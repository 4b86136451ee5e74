//! Reading files: paths → YAML documents with their origin. No meaning is given to them here.
//!
//! Every input is bounded before it can cost much: files by size, YAML by nesting depth
//! (serde_yaml stops at 128 levels) and by the number of values it expands to, aliases
//! included, so that an alias bomb fails fast instead of exhausting memory.

use super::diag::{Diagnostic, Origin};
use rayon::prelude::*;
use serde::de::{self, DeserializeSeed, Visitor};
use serde_yaml::{Mapping, Value};
use std::cell::Cell;
use std::fmt;
use std::path::{Path, PathBuf};

/// Larger files are refused rather than parsed: serde_yaml holds a whole document's events in
/// memory (about 100 bytes per value). 16 MiB is some 20 times the 2,000-workload,
/// 1,000-node instance of the benchmarks.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Values one run may expand to, aliases included; a string counts once more per
/// [`TEXT_BYTES_PER_VALUE`] bytes. About 4 GiB of memory at most; issue 20's 200,000
/// workloads on 65,000 nodes (66 MB of YAML) need more than the 4,000,000 allowed before.
pub const MAX_VALUES: u64 = 16_000_000;

/// A string costs one value plus one per this many bytes.
pub const TEXT_BYTES_PER_VALUE: u64 = 64;

/// Values one file may expand to per byte of it. Plain YAML needs at most one value per two
/// bytes; only aliases expand beyond that, and sharing a block a few times stays far below.
pub const MAX_VALUES_PER_BYTE: u64 = 16;

/// What the YAML of one run may still expand to (see [`MAX_VALUES`]).
#[derive(Debug, Clone)]
pub struct Budget {
    values_left: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            values_left: MAX_VALUES,
        }
    }
}

/// One parsed YAML document, not yet typed.
#[derive(Debug, Clone)]
pub struct RawDocument {
    /// Where the document was read.
    pub origin: Origin,
    /// The document as parsed YAML.
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

/// Reads every document under `paths` (see [`expand`]), then `extra`, a file already in
/// memory (a live cluster's snapshot) named by its path in diagnostics; one budget for all.
pub fn read_all(
    paths: &[PathBuf],
    extra: Option<(&Path, &[u8])>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<RawDocument> {
    let files = expand(paths, diags);
    let mut budget = Budget::default();
    let mut raw = Vec::new();
    // Files are parsed on every core, each as if it were first (with the whole budget), then
    // taken in order: a file whose parse never came near what the files before it left is
    // exactly what parsing it in turn gives; any other is parsed again in turn.
    let early: Vec<_> = files
        .par_iter()
        .map(|file| -> Result<_, Box<Diagnostic>> {
            let bytes = read_bytes(file)?;
            let parsed = parse_in_budget(file, &bytes, MAX_VALUES);
            Ok((bytes, parsed))
        })
        .collect();
    for (file, read) in files.iter().zip(early) {
        let (bytes, parsed) = match read {
            Ok(read) => read,
            Err(d) => {
                diags.push(*d);
                continue;
            }
        };
        let parsed = if parsed.same_within(budget.values_left) {
            parsed
        } else {
            parse_in_budget(file, &bytes, budget.values_left)
        };
        budget.values_left -= parsed.spent;
        diags.extend(parsed.diags);
        raw.extend(parsed.docs);
    }
    if let Some((name, bytes)) = extra {
        raw.extend(parse_documents(name, bytes, &mut budget, diags));
    }
    raw
}

/// The bytes of `file`, at most [`MAX_FILE_BYTES`].
fn read_bytes(file: &Path) -> Result<Vec<u8>, Box<Diagnostic>> {
    let bytes = std::fs::File::open(file)
        .and_then(|f| {
            use std::io::Read;
            let mut buf = Vec::new();
            // Reads at most one byte past the limit, so a huge file (or /dev/zero) costs nothing.
            f.take(MAX_FILE_BYTES + 1).read_to_end(&mut buf)?;
            Ok(buf)
        })
        .map_err(|e| {
            Box::new(file_diag(
                "E001",
                file,
                &format!("cannot read: {e}"),
                "check the path and its permissions",
            ))
        })?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Box::new(file_diag(
            "E003",
            file,
            &format!("the file is larger than {} MiB", MAX_FILE_BYTES >> 20),
            "split the input into several files",
        )));
    }
    Ok(bytes)
}

/// Reads every document of `file`. Empty documents are skipped.
pub fn read_file(
    file: &Path,
    budget: &mut Budget,
    diags: &mut Vec<Diagnostic>,
) -> Vec<RawDocument> {
    match read_bytes(file) {
        Ok(bytes) => parse_documents(file, &bytes, budget, diags),
        Err(d) => {
            diags.push(*d);
            Vec::new()
        }
    }
}

/// Parses YAML `bytes` (one or more documents) read from `file`, spending `budget`.
pub fn parse_documents(
    file: &Path,
    bytes: &[u8],
    budget: &mut Budget,
    diags: &mut Vec<Diagnostic>,
) -> Vec<RawDocument> {
    let parsed = parse_in_budget(file, bytes, budget.values_left);
    budget.values_left -= parsed.spent;
    diags.extend(parsed.diags);
    parsed.docs
}

/// One file parsed with some of the run's budget left before it.
struct Parsed {
    docs: Vec<RawDocument>,
    diags: Vec<Diagnostic>,
    /// Values taken from the run's budget.
    spent: u64,
    /// The file's own share of the budget (by its size).
    per_file: u64,
    /// The limit its parse had: its share, or what the run had left when less.
    limit: u64,
    /// The most any of its passes used; a pass that reaches the limit is refused.
    peak: u64,
    /// Whether the file's share, not what the run had left, was the limit (which the
    /// refusal's message tells).
    by_ratio: bool,
}

impl Parsed {
    /// Whether parsing the file with `values_left` of the run's budget left before it gives
    /// this: the same limit of the same kind, or one that no pass came near.
    fn same_within(&self, values_left: u64) -> bool {
        let limit = self.per_file.min(values_left);
        let by_ratio = self.per_file < values_left;
        (limit == self.limit && by_ratio == self.by_ratio) || self.peak < limit
    }
}

/// [`parse_documents`] given `values_left` of the run's budget.
fn parse_in_budget(file: &Path, bytes: &[u8], values_left: u64) -> Parsed {
    let per_file = MAX_VALUES_PER_BYTE
        .saturating_mul(bytes.len() as u64)
        .saturating_add(1024);
    let limit = per_file.min(values_left);
    let by_ratio = per_file < values_left;
    let mut parsed = Parsed {
        docs: Vec::new(),
        diags: Vec::new(),
        spent: 0,
        per_file,
        limit,
        peak: 0,
        by_ratio,
    };
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
            parsed.diags.push(d);
            return parsed;
        }
    };
    // Editors on Windows may start the file with a byte-order mark, which libyaml rejects.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let left = Cell::new(limit);
    let (strict, mut found) = parse_all(file, text, &left, by_ratio, None);
    parsed.peak = limit - left.get();
    let mut docs: Vec<RawDocument> = strict.into_iter().map(|(d, _)| d).collect();
    // A key written twice refuses the document, but for Kubernetes objects of kinds tierplan
    // does not read (a Helm-rendered ConfigMap with a repeated data key): those are read
    // again with the later value winning, as JSON decoders do, and then skipped anyway.
    if found.last().is_some_and(|d| d.code == "E007") {
        let twice = Cell::new(0);
        left.set(limit);
        let (lenient, lenient_found) = parse_all(file, text, &left, by_ratio, Some(&twice));
        parsed.peak = parsed.peak.max(limit - left.get());
        if lenient_found.is_empty() {
            let refused = found.pop().expect("an E007");
            found.clear();
            docs.clear();
            for (doc, duplicated) in lenient {
                let unread = crate::input::k8s::objects::is_kubernetes(&doc.value)
                    && !crate::input::k8s::objects::reads(&doc.value);
                if !duplicated || unread {
                    docs.push(doc);
                } else if doc.origin == *refused.origin.as_ref().expect("a document") {
                    found.push(refused.clone());
                } else {
                    found.push(Diagnostic::new(
                        "E007",
                        Some(&doc.origin),
                        "",
                        "a key appears twice in one mapping",
                        "keep one of them",
                    ));
                }
            }
        }
    }
    parsed.spent = limit - left.get();
    parsed.docs = docs;
    parsed.diags = found;
    parsed
}

/// Parses every document of `text`, spending `left`; with `twice`, a key written twice in a
/// mapping is counted there (the later value wins) instead of refusing the document. Each
/// document comes with whether it had such a key.
fn parse_all(
    file: &Path,
    text: &str,
    left: &Cell<u64>,
    by_ratio: bool,
    twice: Option<&Cell<usize>>,
) -> (Vec<(RawDocument, bool)>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let refusal = Cell::new(None);
    let mut docs = Vec::new();
    for (i, de) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let origin = Origin {
            file: file.to_path_buf(),
            doc: i + 1,
        };
        let seed = Bounded {
            left,
            refusal: &refusal,
            twice,
        };
        let before = twice.map_or(0, Cell::get);
        match seed.deserialize(de) {
            Ok(Value::Null) => {}
            Ok(value) => {
                let duplicated = twice.is_some_and(|t| t.get() > before);
                docs.push((RawDocument { origin, value }, duplicated));
            }
            Err(e) => {
                let message = e.to_string();
                // serde_yaml appends " at line L column C"; the diagnostic carries that apart.
                let message = message
                    .find(" at line ")
                    .map_or(message.as_str(), |i| &message[..i]);
                let (code, path, problem, fix) = match refusal.take() {
                    Some(r) => {
                        let path = message
                            .strip_suffix(&r.to_string())
                            .and_then(|p| p.strip_suffix(": "))
                            .unwrap_or("");
                        let (code, problem, fix) = r.explain(by_ratio);
                        (code, path, problem, fix)
                    }
                    None => {
                        let (problem, fix) = explain_yaml(message);
                        ("E005", "", problem, fix.to_string())
                    }
                };
                let mut d = Diagnostic::new(code, Some(&origin), path, problem, fix);
                d.line_col = e.location().map(|l| (l.line(), l.column()));
                diags.push(d);
                // The parser cannot resynchronise after a syntax error.
                break;
            }
        }
    }
    (docs, diags)
}

/// YAML that parses but that tierplan refuses while building values.
#[derive(Debug, Clone, PartialEq)]
enum Refusal {
    TooManyValues,
    DuplicateKey(String),
    Tag(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::TooManyValues => write!(f, "too many values"),
            Refusal::DuplicateKey(key) => write!(f, "duplicate key {key}"),
            Refusal::Tag(tag) => write!(f, "YAML tag `{tag}`"),
        }
    }
}

impl Refusal {
    fn explain(&self, by_ratio: bool) -> (&'static str, String, String) {
        match self {
            Refusal::TooManyValues => too_many_values(by_ratio),
            Refusal::DuplicateKey(key) => (
                "E007",
                format!("the key {key} appears twice in one mapping"),
                "keep one of them".to_string(),
            ),
            Refusal::Tag(tag) => (
                "E008",
                format!("the YAML tag `{tag}` is not supported"),
                "remove the tag and write the plain value".to_string(),
            ),
        }
    }
}

fn too_many_values(by_ratio: bool) -> (&'static str, String, String) {
    if by_ratio {
        (
            "E006",
            format!(
                "the YAML expands to more than {MAX_VALUES_PER_BYTE} values per byte of the \
                 file: its aliases (`*name`) repeat too much (an alias bomb?)"
            ),
            "write the repeated values out, or use fewer aliases".to_string(),
        )
    } else {
        (
            "E006",
            format!("the input expands to more than {MAX_VALUES} YAML values, aliases included"),
            "plan a smaller input, or use fewer aliases".to_string(),
        )
    }
}

/// Turns serde_yaml's message into a problem and a fix.
fn explain_yaml(message: &str) -> (String, &'static str) {
    match message {
        "recursion limit exceeded" => (
            "the YAML is nested more than 128 levels deep".to_string(),
            "flatten it: tierplan documents need only a few levels",
        ),
        "repetition limit exceeded" => (
            "the YAML's aliases (`*name`) repeat too much (an alias bomb?)".to_string(),
            "write the repeated values out, or use fewer aliases",
        ),
        _ => (
            format!("invalid YAML: {message}"),
            "fix the YAML syntax (indent with spaces, close every quote and bracket)",
        ),
    }
}

/// Deserialises a [`Value`] while counting what it expands to, failing once `left` is spent.
/// serde_yaml replays an alias's events each time it is used, so counting here bounds the
/// work and memory of aliases too.
#[derive(Clone, Copy)]
struct Bounded<'a> {
    left: &'a Cell<u64>,
    /// Why the last error was raised here rather than by serde_yaml.
    refusal: &'a Cell<Option<Refusal>>,
    /// Where keys written twice are counted, when they are allowed.
    twice: Option<&'a Cell<usize>>,
}

impl Bounded<'_> {
    fn refuse<E: de::Error>(self, refusal: Refusal) -> E {
        let e = E::custom(&refusal);
        self.refusal.set(Some(refusal));
        e
    }

    fn spend<E: de::Error>(self, text_len: usize) -> Result<(), E> {
        let cost = 1 + text_len as u64 / TEXT_BYTES_PER_VALUE;
        match self.left.get().checked_sub(cost) {
            Some(rest) => {
                self.left.set(rest);
                Ok(())
            }
            None => {
                self.left.set(0);
                Err(self.refuse(Refusal::TooManyValues))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        self.spend(0)?;
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.spend(0)?;
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.spend(0)?;
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.spend(0)?;
        Ok(Value::Number(v.into()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.spend(v.len())?;
        Ok(Value::String(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.spend(0)?;
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.spend(0)?;
        // No `size_hint` preallocation: the hint is not bounded by the budget.
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.spend(0)?;
        let mut mapping = Mapping::new();
        while let Some(key) = map.next_key_seed(self)? {
            if let (true, Some(twice)) = (mapping.contains_key(&key), self.twice) {
                twice.set(twice.get() + 1);
            } else if mapping.contains_key(&key) {
                let shown = match &key {
                    Value::String(s) => format!("`{s}`"),
                    Value::Number(n) => format!("`{n}`"),
                    Value::Bool(b) => format!("`{b}`"),
                    _ => "(a collection)".to_string(),
                };
                return Err(self.refuse(Refusal::DuplicateKey(shown)));
            }
            let value = map.next_value_seed(self)?;
            mapping.insert(key, value);
        }
        Ok(Value::Mapping(mapping))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, _) = data.variant::<String>()?;
        Err(self.refuse(Refusal::Tag(tag)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<RawDocument>, Vec<Diagnostic>) {
        parse_with(text.as_bytes(), &mut Budget::default())
    }

    fn parse_with(bytes: &[u8], budget: &mut Budget) -> (Vec<RawDocument>, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let docs = parse_documents(Path::new("in.yaml"), bytes, budget, &mut diags);
        (docs, diags)
    }

    fn only(diags: &[Diagnostic]) -> &Diagnostic {
        assert_eq!(diags.len(), 1, "{diags:?}");
        &diags[0]
    }

    #[test]
    fn numbers_documents_and_skips_empty_ones() {
        let (docs, diags) = parse("a: 1\n---\n---\nb: 2\n");
        assert!(diags.is_empty());
        let numbers: Vec<usize> = docs.iter().map(|d| d.origin.doc).collect();
        assert_eq!(numbers, [1, 3]);
        assert_eq!(docs[1].value.get("b").and_then(Value::as_u64), Some(2));
    }

    #[test]
    fn reads_ordinary_aliases() {
        let (docs, diags) = parse("base: &r {cpu: 500m, memory: 1Gi}\na: *r\nb: *r\nc: [*r, *r]\n");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(docs[0].value.get("a"), docs[0].value.get("base"));
    }

    #[test]
    fn stops_an_alias_bomb_early() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let mut budget = Budget::default();
        let (docs, diags) = parse_with(text.as_bytes(), &mut budget);
        assert!(docs.is_empty());
        let d = only(&diags);
        assert_eq!(d.code, "E006");
        assert!(d.problem.contains("alias bomb"), "{}", d.problem);
        // The file spent only its own share of the run's budget.
        let share = MAX_VALUES_PER_BYTE * text.len() as u64 + 1024;
        assert_eq!(budget.values_left, MAX_VALUES - share);
    }

    #[test]
    fn the_run_budget_spans_files() {
        let mut budget = Budget { values_left: 10 };
        let (docs, diags) = parse_with(b"[1, 2, 3]", &mut budget);
        assert_eq!((docs.len(), diags.len()), (1, 0));
        assert_eq!(budget.values_left, 6);
        let (docs, diags) = parse_with(b"[1, 2, 3, 4, 5, 6]", &mut budget);
        assert!(docs.is_empty());
        assert!(only(&diags)
            .problem
            .contains("the input expands to more than"));
        assert_eq!(budget.values_left, 0);
    }

    /// `read_all` parses files at once, each with the whole budget, and keeps a parse only
    /// where `same_within` says parsing it in turn gives the same: held to parsing in turn
    /// at every budget around the limits, duplicate keys (two passes) included.
    #[test]
    fn a_parse_with_the_whole_budget_is_kept_only_where_it_is_the_parse_in_turn() {
        let texts = [
            "[1, 2, 3]",
            "a: [1, 2, 3, 4, 5, 6]\n---\nb: 2\n",
            "kind: ConfigMap\napiVersion: v1\ndata:\n  k: 1\n  k: 2\n",
            "x: 1\nx: 2\n",
        ];
        let file = Path::new("in.yaml");
        for text in texts {
            let early = parse_in_budget(file, text.as_bytes(), MAX_VALUES);
            let mut kept = 0;
            for left in 0..40 {
                if !early.same_within(left) {
                    continue;
                }
                kept += 1;
                let turn = parse_in_budget(file, text.as_bytes(), left);
                let values =
                    |p: &Parsed| p.docs.iter().map(|d| d.value.clone()).collect::<Vec<_>>();
                let said = |p: &Parsed| p.diags.iter().map(ToString::to_string).collect::<Vec<_>>();
                assert_eq!(values(&early), values(&turn), "{text:?} with {left} left");
                assert_eq!(said(&early), said(&turn), "{text:?} with {left} left");
                assert_eq!(early.spent, turn.spent, "{text:?} with {left} left");
            }
            assert!(
                kept > 0 && kept < 40,
                "{text:?}: kept at {kept} of 40 budgets"
            );
        }
    }

    #[test]
    fn long_strings_cost_by_length() {
        let text = format!("- {}\n", "x".repeat(6400));
        let mut budget = Budget::default();
        parse_with(text.as_bytes(), &mut budget);
        assert_eq!(MAX_VALUES - budget.values_left, 1 + 1 + 100);
    }

    #[test]
    fn rejects_duplicate_keys_and_tags_with_their_path() {
        let (_, diags) = parse("spec:\n  replicas: 1\n  replicas: 2\n");
        let d = only(&diags);
        assert_eq!((d.code, d.path.as_str()), ("E007", "spec"));
        assert_eq!(d.problem, "the key `replicas` appears twice in one mapping");
        let (_, diags) = parse("a: !custom 1\n");
        let d = only(&diags);
        assert_eq!((d.code, d.path.as_str()), ("E008", "a"));
        // The core schema's own tags are plain YAML.
        let (docs, diags) = parse("a: !!str 1\n");
        assert!(diags.is_empty());
        assert_eq!(docs[0].value.get("a").and_then(Value::as_str), Some("1"));
    }

    #[test]
    fn locates_syntax_errors_and_keeps_the_message_clean() {
        let (docs, diags) = parse("a: 1\n---\nb:\n\tc: 2\n");
        assert_eq!(docs.len(), 1);
        let d = only(&diags);
        assert_eq!((d.code, d.origin.as_ref().unwrap().doc), ("E005", 2));
        assert_eq!(d.line_col, Some((4, 1)));
        assert!(!d.problem.contains(" at line "), "{}", d.problem);
        let (_, diags) = parse(&format!("{}1{}", "[".repeat(200), "]".repeat(200)));
        assert!(only(&diags).problem.contains("nested more than 128 levels"));
    }

    #[test]
    fn locates_invalid_utf8() {
        let (_, diags) = parse_with(b"a: 1\nb: \xff\n", &mut Budget::default());
        let d = only(&diags);
        assert_eq!((d.code, d.line_col), ("E004", Some((2, 4))));
    }

    #[test]
    fn accepts_a_byte_order_mark() {
        let (docs, diags) = parse("\u{feff}a: 1\n");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn refuses_a_file_over_the_size_limit_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.yaml");
        std::fs::File::create(&file)
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        let mut diags = Vec::new();
        assert!(read_file(&file, &mut Budget::default(), &mut diags).is_empty());
        assert_eq!(only(&diags).code, "E003");
    }

    #[test]
    fn expands_directories_to_their_yaml_files_once() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.yml", "a.yaml", "notes.txt"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let mut diags = Vec::new();
        let files = expand(
            &[dir.path().to_path_buf(), dir.path().join("a.yaml")],
            &mut diags,
        );
        assert!(diags.is_empty());
        let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap()).collect();
        assert_eq!(names, ["a.yaml", "b.yml"]);
        let empty = tempfile::tempdir().unwrap();
        expand(
            &[empty.path().to_path_buf(), dir.path().join("nope")],
            &mut diags,
        );
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E002", "E001"]);
    }
}
