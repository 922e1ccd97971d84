//! Keeps the Japanese documentation in step with the English.
//!
//! For every page that has a Japanese version (`docs/X.md` ↔ `docs/ja/X.md`, and the README),
//! the checker compares what a translation must not change:
//!
//! - the **sections**: the same headings, level by level, in the same order (the text is
//!   translated, so only the structure is compared, plus the code in a heading: `` `doctor` ``
//!   stays `` `doctor` ``);
//! - every **table that lists names** (annotations, flags, variables, metrics, event reasons —
//!   first-column cells written as code): the same names, row by row, table by table;
//! - the **language links**: each page links the other at its top;
//! - **relative links**: they resolve to existing files and headings, and a Japanese page links
//!   the Japanese version of another page when there is one.
//!
//! Which pages must have a Japanese version is decided here ([`TRANSLATED`],
//! [`TRANSLATION_PENDING`], [`ENGLISH_ONLY`]); a new page in `docs/` fails the check until it is
//! put in one of the lists. Everything is a pure function of the files' text, read through
//! [`Files`], so the tests can change a page in memory and watch the check fail.

pub mod markdown;

use markdown::{Heading, Outline, Table};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// Pages in `docs/` that have a Japanese version in `docs/ja/` (the README is paired separately).
pub const TRANSLATED: &[&str] = &[
    "annotations.md",
    "benchmarks.md",
    "configuration.md",
    "deploy.md",
    "enhanced-load-balancers.md",
    "failure-modes.md",
    "flags.md",
    "leader-election.md",
    "load-balancers.md",
    "migration.md",
    "nodes.md",
    "observability.md",
    "sandbox.md",
    "simulator.md",
    "troubleshooting.md",
];

/// User-facing pages whose Japanese version is still to be written (for a page that changes
/// while the others are translated). Move a page to [`TRANSLATED`] when `docs/ja/` gets it.
pub const TRANSLATION_PENDING: &[&str] = &[];

/// Developer-facing pages, which stay English only.
pub const ENGLISH_ONLY: &[&str] = &[
    "cloud-provider.md",
    "fake-apiserver.md",
    "sacloud-client.md",
    "testing.md",
];

/// A section of an English page that its Japanese version leaves out on purpose.
#[derive(Debug, Clone, Copy)]
pub struct Omission {
    /// The English page, from the repository root.
    pub page: &'static str,
    /// The heading's text, exactly as in the English page.
    pub heading: &'static str,
    /// Why leaving it out is right.
    pub reason: &'static str,
}

/// Sections the comparison skips in the English page (with their subsections and tables).
pub const OMITTED_SECTIONS: &[Omission] = &[Omission {
    page: "README.md",
    heading: "Development",
    reason: "the README's table of crates is for developers, and developer-facing docs stay \
             English; the Japanese README points to it instead",
}];

/// One English page and its Japanese version, as paths from the repository root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// `docs/X.md` or `README.md`.
    pub en: String,
    /// `docs/ja/X.md`.
    pub ja: String,
}

/// Every pair the checker compares: the README, then each of [`TRANSLATED`].
pub fn pairs() -> Vec<Pair> {
    let mut pairs = vec![Pair {
        en: "README.md".to_string(),
        ja: "docs/ja/README.md".to_string(),
    }];
    pairs.extend(TRANSLATED.iter().map(|page| Pair {
        en: format!("docs/{page}"),
        ja: format!("docs/ja/{page}"),
    }));
    pairs
}

/// Something out of step, in a file (and at a line when there is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path from the repository root.
    pub file: String,
    /// 1-based line, when the problem is at one.
    pub line: Option<usize>,
    /// What is wrong, naming the heading, table or name.
    pub message: String,
}

impl Problem {
    fn new(file: &str, line: Option<usize>, message: String) -> Self {
        Problem {
            file: file.to_string(),
            line,
            message,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// The repository's files as the checker sees them; paths are from the repository root with `/`.
pub trait Files {
    /// The file's text, or `None` when it does not exist or cannot be read.
    fn read(&self, path: &str) -> Option<String>;
    /// Whether a file or directory exists.
    fn exists(&self, path: &str) -> bool;
    /// File names of the `.md` files directly in `dir`.
    fn markdown_pages(&self, dir: &str) -> Vec<String>;
}

/// The files on disk under a repository root.
#[derive(Debug, Clone)]
pub struct FsFiles {
    root: PathBuf,
}

impl FsFiles {
    /// Files under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsFiles { root: root.into() }
    }
}

impl Files for FsFiles {
    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(path)).ok()
    }

    fn exists(&self, path: &str) -> bool {
        self.root.join(path).exists()
    }

    fn markdown_pages(&self, dir: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.root.join(dir)) else {
            return Vec::new();
        };
        let mut pages: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().is_file())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| name.ends_with(".md"))
            .collect();
        pages.sort();
        pages
    }
}

/// Files held in memory, for tests.
#[derive(Debug, Clone, Default)]
pub struct MemFiles {
    /// Path → text.
    pub files: BTreeMap<String, String>,
}

impl MemFiles {
    /// Adds (or replaces) a file.
    pub fn with(mut self, path: &str, text: &str) -> Self {
        self.files.insert(path.to_string(), text.to_string());
        self
    }
}

impl Files for MemFiles {
    fn read(&self, path: &str) -> Option<String> {
        self.files.get(path).cloned()
    }

    fn exists(&self, path: &str) -> bool {
        let dir = format!("{path}/");
        self.files.contains_key(path) || self.files.keys().any(|key| key.starts_with(&dir))
    }

    fn markdown_pages(&self, dir: &str) -> Vec<String> {
        let prefix = format!("{dir}/");
        self.files
            .keys()
            .filter_map(|key| key.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/') && rest.ends_with(".md"))
            .map(str::to_string)
            .collect()
    }
}

/// Checks the whole repository: which pages are translated, every pair, and the READMEs' links.
pub fn check_repository(files: &dyn Files) -> Vec<Problem> {
    let mut problems = check_page_lists(files);
    for pair in pairs() {
        problems.extend(check_pair(files, &pair));
    }
    problems.extend(check_readme_coverage(files));
    problems
}

/// Which pages of `docs/` have a Japanese version, are waiting for one, or stay English.
#[derive(Debug, Clone, Copy)]
pub struct PageLists {
    /// As [`TRANSLATED`].
    pub translated: &'static [&'static str],
    /// As [`TRANSLATION_PENDING`].
    pub pending: &'static [&'static str],
    /// As [`ENGLISH_ONLY`].
    pub english_only: &'static [&'static str],
}

/// The lists the repository is checked against.
pub const PAGE_LISTS: PageLists = PageLists {
    translated: TRANSLATED,
    pending: TRANSLATION_PENDING,
    english_only: ENGLISH_ONLY,
};

/// Every page in `docs/` is in exactly one list, every listed page exists, and `docs/ja/` holds
/// only the translations of [`TRANSLATED`] (and the README).
pub fn check_page_lists(files: &dyn Files) -> Vec<Problem> {
    check_page_lists_against(files, &PAGE_LISTS)
}

/// [`check_page_lists`] against given lists, so that the tests can check a pending page even
/// while [`TRANSLATION_PENDING`] is empty.
pub fn check_page_lists_against(files: &dyn Files, page_lists: &PageLists) -> Vec<Problem> {
    let mut problems = Vec::new();
    let lists: [(&str, &[&str]); 3] = [
        ("TRANSLATED", page_lists.translated),
        ("TRANSLATION_PENDING", page_lists.pending),
        ("ENGLISH_ONLY", page_lists.english_only),
    ];
    for page in files.markdown_pages("docs") {
        let homes: Vec<&str> = lists
            .iter()
            .filter(|(_, list)| list.contains(&page.as_str()))
            .map(|(name, _)| *name)
            .collect();
        match homes.len() {
            1 => {}
            0 => problems.push(Problem::new(
                &format!("docs/{page}"),
                None,
                "a page the docs checker does not know: add it to TRANSLATED (with docs/ja/), \
                 TRANSLATION_PENDING or ENGLISH_ONLY in tests/docs/src/lib.rs"
                    .to_string(),
            )),
            _ => problems.push(Problem::new(
                &format!("docs/{page}"),
                None,
                format!(
                    "listed more than once in tests/docs/src/lib.rs: {}",
                    homes.join(", ")
                ),
            )),
        }
    }
    for (name, list) in lists {
        for page in list {
            let path = format!("docs/{page}");
            if !files.exists(&path) {
                problems.push(Problem::new(
                    &path,
                    None,
                    format!("listed in {name} (tests/docs/src/lib.rs) but does not exist"),
                ));
            }
        }
    }
    for page in files.markdown_pages("docs/ja") {
        let path = format!("docs/ja/{page}");
        if page_lists.pending.contains(&page.as_str()) {
            problems.push(Problem::new(
                &path,
                None,
                format!(
                    "exists, but {page} is in TRANSLATION_PENDING: move it to TRANSLATED in \
                     tests/docs/src/lib.rs so that it is checked"
                ),
            ));
        } else if page != "README.md" && !page_lists.translated.contains(&page.as_str()) {
            problems.push(Problem::new(
                &path,
                None,
                format!("has no English page in TRANSLATED (tests/docs/src/lib.rs) to compare with: docs/{page}"),
            ));
        }
    }
    problems
}

/// Compares one pair: sections, name tables, the links between them and every relative link.
pub fn check_pair(files: &dyn Files, pair: &Pair) -> Vec<Problem> {
    let mut problems = Vec::new();
    let (Some(en_text), Some(ja_text)) = (files.read(&pair.en), files.read(&pair.ja)) else {
        for path in [&pair.en, &pair.ja] {
            if files.read(path).is_none() {
                problems.push(Problem::new(
                    path,
                    None,
                    format!("missing: {} and {} are a pair", pair.en, pair.ja),
                ));
            }
        }
        return problems;
    };
    let en = markdown::parse(&en_text);
    let ja = markdown::parse(&ja_text);
    let omitted: Vec<&str> = OMITTED_SECTIONS
        .iter()
        .filter(|omission| omission.page == pair.en)
        .map(|omission| omission.heading)
        .collect();
    let en_compared = omit_sections(&en, &omitted);
    problems.extend(compare_headings(
        &pair.en,
        &en_compared.headings,
        &pair.ja,
        &ja.headings,
    ));
    problems.extend(compare_tables((&pair.en, &en_compared), (&pair.ja, &ja)));
    problems.extend(check_language_link(&pair.en, &en_text, &pair.ja));
    problems.extend(check_language_link(&pair.ja, &ja_text, &pair.en));
    problems.extend(check_links(files, &pair.en, &en, None));
    problems.extend(check_links(files, &pair.ja, &ja, Some(&pair.en)));
    problems
}

/// The outline without the named sections (a heading, its subsections and their tables).
pub fn omit_sections(outline: &Outline, headings: &[&str]) -> Outline {
    let mut dropped = vec![false; outline.headings.len()];
    let mut i = 0;
    while i < outline.headings.len() {
        let heading = &outline.headings[i];
        if headings.contains(&heading.text.as_str()) {
            dropped[i] = true;
            let mut j = i + 1;
            while j < outline.headings.len() && outline.headings[j].level > heading.level {
                dropped[j] = true;
                j += 1;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    let mut new_index = Vec::with_capacity(dropped.len());
    let mut kept = 0;
    for gone in &dropped {
        new_index.push((!gone).then_some(kept));
        if !gone {
            kept += 1;
        }
    }
    Outline {
        headings: outline
            .headings
            .iter()
            .zip(&dropped)
            .filter(|(_, gone)| !**gone)
            .map(|(heading, _)| heading.clone())
            .collect(),
        tables: outline
            .tables
            .iter()
            .filter(|table| !table.heading.is_some_and(|h| dropped[h]))
            .map(|table| Table {
                heading: table.heading.and_then(|h| new_index[h]),
                ..table.clone()
            })
            .collect(),
        links: outline.links.clone(),
    }
}

/// What of a heading must survive translation: its level and its code (sorted, since a
/// translation may reorder words).
fn heading_key(heading: &Heading) -> (usize, Vec<String>) {
    let mut code = markdown::code_spans(&heading.text);
    code.sort();
    (heading.level, code)
}

/// Same sections in the same order: equal levels, pair by pair, and equal code in each pair.
pub fn compare_headings(
    en_path: &str,
    en: &[Heading],
    ja_path: &str,
    ja: &[Heading],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let en_keys: Vec<_> = en.iter().map(heading_key).collect();
    let ja_keys: Vec<_> = ja.iter().map(heading_key).collect();
    if en_keys == ja_keys {
        return problems;
    }
    if en.len() != ja.len() {
        let (longer, shorter, longer_path) = if en.len() > ja.len() {
            (&en_keys, &ja_keys, en_path)
        } else {
            (&ja_keys, &en_keys, ja_path)
        };
        let longer_headings = if en.len() > ja.len() { en } else { ja };
        let candidates = sections_whose_removal_matches(longer, shorter);
        let what = if en.len() > ja.len() {
            format!("is missing a section that {en_path} has")
        } else {
            format!("has a section that {en_path} does not have")
        };
        let named = match candidates.as_slice() {
            [] => String::new(),
            [only] => format!(
                ": {longer_path}:{} `{}`",
                longer_headings[*only].line,
                longer_headings[*only].display()
            ),
            several => format!(
                ": one of {}",
                several
                    .iter()
                    .map(|&k| format!(
                        "{longer_path}:{} `{}`",
                        longer_headings[k].line,
                        longer_headings[k].display()
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        problems.push(Problem::new(
            ja_path,
            None,
            format!(
                "{what} ({} headings here, {} in {en_path}){named}",
                ja.len(),
                en.len()
            ),
        ));
        if !candidates.is_empty() {
            return problems;
        }
    }
    for (i, (e, j)) in en.iter().zip(ja).enumerate() {
        let (e_level, e_code) = &en_keys[i];
        let (j_level, j_code) = &ja_keys[i];
        if e_level != j_level {
            problems.push(Problem::new(
                ja_path,
                Some(j.line),
                format!(
                    "heading {} `{}` is level {j_level}, but its counterpart {en_path}:{} `{}` is level {e_level} (a section missing, added or moved before here?)",
                    i + 1,
                    j.display(),
                    e.line,
                    e.display()
                ),
            ));
            // Past a level mismatch the pairing is off, and further messages would be noise.
            break;
        }
        if e_code != j_code {
            problems.push(Problem::new(
                ja_path,
                Some(j.line),
                format!(
                    "heading `{}` must keep the code of its counterpart {en_path}:{} `{}`{}",
                    j.display(),
                    e.line,
                    e.display(),
                    describe_difference(e_code, j_code)
                ),
            ));
        }
    }
    if problems.is_empty() {
        problems.push(Problem::new(
            ja_path,
            None,
            format!("headings differ from {en_path}"),
        ));
    }
    problems
}

/// Indices in `longer` of the sections (a heading with its subsections, or the heading alone)
/// whose removal makes it equal to `shorter`.
fn sections_whose_removal_matches(
    longer: &[(usize, Vec<String>)],
    shorter: &[(usize, Vec<String>)],
) -> Vec<usize> {
    let mut found = Vec::new();
    for k in 0..longer.len() {
        let mut end = k + 1;
        while end < longer.len() && longer[end].0 > longer[k].0 {
            end += 1;
        }
        let matches = |to: usize| {
            longer.len() - (to - k) == shorter.len()
                && longer[..k].iter().chain(&longer[to..]).eq(shorter.iter())
        };
        if matches(end) || matches(k + 1) {
            found.push(k);
        }
    }
    found
}

/// `: missing `a`; extra `b``, for messages.
fn describe_difference(expected: &[String], found: &[String]) -> String {
    let missing: Vec<_> = expected
        .iter()
        .filter(|name| !found.contains(name))
        .collect();
    let extra: Vec<_> = found
        .iter()
        .filter(|name| !expected.contains(name))
        .collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {}", code_list(&missing)));
    }
    if !extra.is_empty() {
        parts.push(format!("extra {}", code_list(&extra)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join("; "))
    }
}

fn code_list(names: &[&String]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The names a table's row lists: the code in its first cell, sorted (a translation may put
/// `` `a` or `b` with type `c` `` in another order).
fn row_names(cell: &str) -> Vec<String> {
    let mut names = markdown::code_spans(cell);
    names.sort();
    names.dedup();
    names
}

/// A table lists names when at least half of its non-empty first cells hold code. Containing
/// (not starting with) code keeps the verdict the same in both languages, whatever the word
/// order.
pub fn lists_names(table: &Table) -> bool {
    let non_empty: Vec<&String> = table
        .first_column
        .iter()
        .filter(|cell| !cell.is_empty())
        .collect();
    let with_code = non_empty
        .iter()
        .filter(|cell| !markdown::code_spans(cell).is_empty())
        .count();
    with_code > 0 && with_code * 2 >= non_empty.len()
}

/// Where a table is, for messages: "table at line 25 (under `## Annotations`)".
fn table_place(outline: &Outline, table: &Table) -> String {
    match table.heading.and_then(|h| outline.headings.get(h)) {
        Some(heading) => format!(
            "table at line {} (under `{}`)",
            table.line,
            heading.display()
        ),
        None => format!("table at line {}", table.line),
    }
}

/// The tables that list names have the same names, row by row, table by table.
pub fn compare_tables(en: (&str, &Outline), ja: (&str, &Outline)) -> Vec<Problem> {
    let (en_path, en_outline) = en;
    let (ja_path, ja_outline) = ja;
    let en_tables: Vec<&Table> = en_outline
        .tables
        .iter()
        .filter(|t| lists_names(t))
        .collect();
    let ja_tables: Vec<&Table> = ja_outline
        .tables
        .iter()
        .filter(|t| lists_names(t))
        .collect();
    let mut problems = Vec::new();
    if en_tables.len() != ja_tables.len() {
        problems.push(Problem::new(
            ja_path,
            None,
            format!(
                "{} tables listing names here, {} in {en_path}: {}",
                ja_tables.len(),
                en_tables.len(),
                match en_tables.get(ja_tables.len()) {
                    Some(first_unpaired) if en_tables.len() > ja_tables.len() => format!(
                        "the first without a counterpart is {en_path}'s {}",
                        table_place(en_outline, first_unpaired)
                    ),
                    _ => format!(
                        "the first without a counterpart is the {}",
                        ja_tables
                            .get(en_tables.len())
                            .map(|t| table_place(ja_outline, t))
                            .unwrap_or_default()
                    ),
                }
            ),
        ));
    }
    for (e, j) in en_tables.iter().zip(&ja_tables) {
        let e_rows: Vec<Vec<String>> = e.first_column.iter().map(|c| row_names(c)).collect();
        let j_rows: Vec<Vec<String>> = j.first_column.iter().map(|c| row_names(c)).collect();
        if e_rows == j_rows {
            continue;
        }
        let e_names: Vec<&String> = e_rows.iter().flatten().collect();
        let j_names: Vec<&String> = j_rows.iter().flatten().collect();
        let place = table_place(ja_outline, j);
        let en_place = table_place(en_outline, e);
        let mut named = false;
        for name in e_names.iter().filter(|name| !j_names.contains(name)) {
            named = true;
            problems.push(Problem::new(
                ja_path,
                Some(j.line),
                format!("{place} lacks `{name}`, which {en_path}'s {en_place} lists"),
            ));
        }
        for name in j_names.iter().filter(|name| !e_names.contains(name)) {
            named = true;
            problems.push(Problem::new(
                ja_path,
                Some(j.line),
                format!("{place} lists `{name}`, which {en_path}'s {en_place} does not"),
            ));
        }
        if !named {
            let row = e_rows
                .iter()
                .zip(&j_rows)
                .position(|(a, b)| a != b)
                .unwrap_or(e_rows.len().min(j_rows.len()));
            let show = |rows: &[Vec<String>]| {
                rows.get(row)
                    .map(|names| {
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_else(|| "nothing".to_string())
            };
            problems.push(Problem::new(
                ja_path,
                Some(j.line),
                format!(
                    "{place}: rows out of step with {en_path}'s {en_place} ({} rows here, {} there); row {} is {} here but {} there",
                    j_rows.len(),
                    e_rows.len(),
                    row + 1,
                    show(&j_rows),
                    show(&e_rows)
                ),
            ));
        }
    }
    problems
}

/// The page links `other` before its first `##` heading (at the top, where readers look).
pub fn check_language_link(page: &str, text: &str, other: &str) -> Vec<Problem> {
    let outline = markdown::parse(text);
    let top_end = outline
        .headings
        .iter()
        .find(|h| h.level >= 2)
        .map_or(usize::MAX, |h| h.line);
    let linked = outline
        .links
        .iter()
        .filter(|link| link.line < top_end)
        .filter_map(|link| resolve(page, &link.target))
        .any(|(path, _)| path == other);
    if linked {
        return Vec::new();
    }
    let label = if other.starts_with("docs/ja/") {
        "日本語"
    } else {
        "English"
    };
    vec![Problem::new(
        page,
        None,
        format!(
            "does not link {other} at its top (before the first `##` heading): add `[{label}]({})`",
            relative_path(page, other)
        ),
    )]
}

/// Every relative link resolves to an existing file (and heading); a Japanese page links the
/// Japanese version of a page when there is one (`counterpart`, its own English page, excepted).
pub fn check_links(
    files: &dyn Files,
    page: &str,
    outline: &Outline,
    counterpart: Option<&str>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for link in &outline.links {
        let Some((path, anchor)) = resolve(page, &link.target) else {
            if !is_external(&link.target) {
                problems.push(Problem::new(
                    page,
                    Some(link.line),
                    format!("link `{}` leaves the repository", link.target),
                ));
            }
            continue;
        };
        if !files.exists(&path) {
            problems.push(Problem::new(
                page,
                Some(link.line),
                format!(
                    "link `{}` points to {path}, which does not exist",
                    link.target
                ),
            ));
            continue;
        }
        if let Some(anchor) = anchor.filter(|_| path.ends_with(".md")) {
            let target_anchors = files
                .read(&path)
                .map(|text| markdown::anchors(&markdown::parse(&text).headings))
                .unwrap_or_default();
            if !target_anchors.contains(&anchor.to_lowercase()) {
                problems.push(Problem::new(
                    page,
                    Some(link.line),
                    format!(
                        "link `{}`: {path} has no heading with the anchor `#{anchor}`",
                        link.target
                    ),
                ));
            }
        }
        if let Some(japanese) = japanese_version(&path)
            && counterpart.is_some()
            && counterpart != Some(path.as_str())
            && files.exists(&japanese)
        {
            problems.push(Problem::new(
                page,
                Some(link.line),
                format!(
                    "link `{}` goes to the English {path}, but {japanese} exists: link `{}` (with its Japanese anchor)",
                    link.target,
                    relative_path(page, &japanese)
                ),
            ));
        }
    }
    problems
}

/// `docs/X.md` → `docs/ja/X.md`, `README.md` → `docs/ja/README.md`; `None` for other paths.
fn japanese_version(path: &str) -> Option<String> {
    if path == "README.md" {
        return Some("docs/ja/README.md".to_string());
    }
    let page = path.strip_prefix("docs/")?;
    (!page.contains('/') && page.ends_with(".md")).then(|| format!("docs/ja/{page}"))
}

/// The READMEs lead to every Japanese page: README.md and docs/ja/README.md each link every
/// docs/ja/X.md of [`TRANSLATED`].
pub fn check_readme_coverage(files: &dyn Files) -> Vec<Problem> {
    let mut problems = Vec::new();
    for readme in ["README.md", "docs/ja/README.md"] {
        let Some(text) = files.read(readme) else {
            continue;
        };
        let linked: Vec<String> = markdown::parse(&text)
            .links
            .iter()
            .filter_map(|link| resolve(readme, &link.target))
            .map(|(path, _)| path)
            .collect();
        for page in TRANSLATED {
            let japanese = format!("docs/ja/{page}");
            if !linked.contains(&japanese) {
                problems.push(Problem::new(
                    readme,
                    None,
                    format!(
                        "does not link the Japanese page {japanese}: add `{}` to its documentation links",
                        relative_path(readme, &japanese)
                    ),
                ));
            }
        }
    }
    problems
}

/// `https:`, `mailto:`, `//host`: not a file in the repository.
fn is_external(target: &str) -> bool {
    if target.starts_with("//") {
        return true;
    }
    let scheme: String = target.chars().take_while(|c| *c != ':').collect();
    scheme.len() < target.len()
        && !scheme.is_empty()
        && !scheme.contains('/')
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
}

/// A relative link from `page` as (path from the repository root, anchor). `None` for external
/// links and for paths that climb out of the repository.
pub fn resolve(page: &str, target: &str) -> Option<(String, Option<String>)> {
    if is_external(target) {
        return None;
    }
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor.to_string())),
        None => (target, None),
    };
    if path.is_empty() {
        return Some((page.to_string(), anchor));
    }
    let mut parts: Vec<&str> = page.split('/').collect();
    parts.pop();
    if path.starts_with('/') {
        parts.clear();
    }
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some((parts.join("/"), anchor))
}

/// The relative link from `from` (a file) to `to`, both from the repository root.
pub fn relative_path(from: &str, to: &str) -> String {
    let from_dir: Vec<&str> = {
        let mut parts: Vec<&str> = from.split('/').collect();
        parts.pop();
        parts
    };
    let to_parts: Vec<&str> = to.split('/').collect();
    let common = from_dir
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out: Vec<&str> = vec![".."; from_dir.len() - common];
    out.extend(&to_parts[common..]);
    out.join("/")
}

#[cfg(test)]
mod tests;
