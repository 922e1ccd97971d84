//! The real documentation, read from the repository root: every Japanese page is in step with its
//! English page; and the checker catches a change made in one language only.

use docs_check::{Files, FsFiles, Pair, Problem, check_pair, check_repository};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn repository_root() -> PathBuf {
    // tests/docs → the repository root.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn report(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|problem| format!("  {problem}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn japanese_docs_are_in_step_with_the_english() {
    let problems = check_repository(&FsFiles::new(repository_root()));
    assert!(
        problems.is_empty(),
        "the Japanese docs (docs/ja/) are out of step with the English ({} problems):\n{}",
        problems.len(),
        report(&problems)
    );
}

/// The repository's files with some pages replaced in memory.
struct Edited {
    disk: FsFiles,
    replaced: BTreeMap<String, String>,
}

impl Edited {
    /// The repository with `path`'s text passed through `edit`; the edit must change something.
    fn new(path: &str, edit: impl Fn(&str) -> String) -> Self {
        let disk = FsFiles::new(repository_root());
        let original = disk.read(path).unwrap_or_default();
        assert!(!original.is_empty(), "{path} is missing");
        let changed = edit(&original);
        assert_ne!(changed, original, "the edit of {path} changed nothing");
        Edited {
            disk,
            replaced: BTreeMap::from([(path.to_string(), changed)]),
        }
    }
}

impl Files for Edited {
    fn read(&self, path: &str) -> Option<String> {
        self.replaced
            .get(path)
            .cloned()
            .or_else(|| self.disk.read(path))
    }

    fn exists(&self, path: &str) -> bool {
        self.replaced.contains_key(path) || self.disk.exists(path)
    }

    fn markdown_pages(&self, dir: &str) -> Vec<String> {
        self.disk.markdown_pages(dir)
    }
}

fn pair(page: &str) -> Pair {
    Pair {
        en: format!("docs/{page}"),
        ja: format!("docs/ja/{page}"),
    }
}

fn problems_after(path: &str, page: &str, edit: impl Fn(&str) -> String) -> String {
    report(&check_pair(&Edited::new(path, edit), &pair(page)))
}

#[test]
fn an_annotation_renamed_in_japanese_only_fails_with_its_name() {
    let text = problems_after("docs/ja/annotations.md", "annotations.md", |ja| {
        ja.replace("| `enhanced-lb-gzip` |", "| `enhanced-lb-gzipped` |")
    });
    assert!(
        text.contains("docs/ja/annotations.md:") && text.contains("lacks `enhanced-lb-gzip`"),
        "{text}"
    );
    assert!(text.contains("lists `enhanced-lb-gzipped`"), "{text}");
}

#[test]
fn a_flag_added_in_english_only_fails_with_its_name() {
    let text = problems_after("docs/flags.md", "flags.md", |en| {
        en.replace(
            "| `--concurrent-service-syncs` | `1` |",
            "| `--concurrent-service-syncs` | `1` | acted on | x |\n| `--service-sync-batch` | `1` |",
        )
    });
    assert!(text.contains("lacks `--service-sync-batch`"), "{text}");
    assert!(text.contains("under `### Service コントローラ`"), "{text}");
}

#[test]
fn an_event_reason_missing_in_japanese_fails_with_its_name() {
    let text = problems_after("docs/ja/load-balancers.md", "load-balancers.md", |ja| {
        ja.lines()
            .filter(|line| !line.starts_with("| `VRIDExhausted` |"))
            .map(|line| format!("{line}\n"))
            .collect()
    });
    assert!(text.contains("lacks `VRIDExhausted`"), "{text}");
}

#[test]
fn a_section_dropped_in_japanese_fails_naming_the_section() {
    let text = problems_after("docs/ja/annotations.md", "annotations.md", |ja| {
        let start = ja.find("\n## エラー").unwrap_or(ja.len());
        let end = ja[start + 1..]
            .find("\n## ")
            .map_or(ja.len(), |at| start + 1 + at);
        format!("{}{}", &ja[..start], &ja[end..])
    });
    assert!(text.contains("is missing a section"), "{text}");
    assert!(text.contains("`## Errors`"), "{text}");
}

#[test]
fn a_broken_link_fails_naming_the_target() {
    let text = problems_after("docs/ja/nodes.md", "nodes.md", |ja| {
        ja.replacen("(configuration.md)", "(configuraton.md)", 1)
    });
    assert!(
        text.contains("docs/ja/nodes.md:")
            && text.contains("docs/ja/configuraton.md, which does not exist"),
        "{text}"
    );
}

#[test]
fn a_missing_language_link_fails() {
    let text = problems_after("docs/observability.md", "observability.md", |en| {
        en.replace("[日本語](ja/observability.md)", "")
    });
    assert!(
        text.contains("docs/observability.md: does not link docs/ja/observability.md at its top"),
        "{text}"
    );
}
