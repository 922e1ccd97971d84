use super::*;

const EN: &str = "# Things (`thing`)\n\n[日本語](ja/things.md)\n\nIntro, see [other](other.md#part-two).\n\n## Table\n\n| name | meaning |\n|---|---|\n| `a` | first |\n| `b`, `c` | second |\n\n## Part `x`\n\n### Sub\n\n## Last\n";
const JA: &str = "# もの (`thing`)\n\n[English](../things.md)\n\n前置き。[ほか](../other.md#part-two) を参照。\n\n## 表\n\n| 名前 | 意味 |\n|---|---|\n| `a` | 一つ目 |\n| `c`、`b` | 二つ目 |\n\n## 部分 `x`\n\n### 下位\n\n## 最後\n";
const OTHER: &str = "# Other\n\n## Part two\n";

fn pair() -> Pair {
    Pair {
        en: "docs/things.md".to_string(),
        ja: "docs/ja/things.md".to_string(),
    }
}

fn files(ja: &str) -> MemFiles {
    MemFiles::default()
        .with("docs/things.md", EN)
        .with("docs/ja/things.md", ja)
        .with("docs/other.md", OTHER)
}

fn messages(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_faithful_translation_passes() {
    let problems = check_pair(&files(JA), &pair());
    assert!(problems.is_empty(), "{}", messages(&problems));
}

#[test]
fn a_renamed_table_entry_is_named_both_ways() {
    let problems = check_pair(&files(&JA.replace("| `a` |", "| `aa` |")), &pair());
    let text = messages(&problems);
    assert!(text.contains("lacks `a`"), "{text}");
    assert!(text.contains("lists `aa`"), "{text}");
    assert!(text.contains("docs/ja/things.md:9:"), "{text}");
    assert!(text.contains("under `## 表`"), "{text}");
}

#[test]
fn a_row_moved_is_reported_by_row() {
    let swapped = JA.replace(
        "| `a` | 一つ目 |\n| `c`、`b` | 二つ目 |",
        "| `c`、`b` | 二つ目 |\n| `a` | 一つ目 |",
    );
    let text = messages(&check_pair(&files(&swapped), &pair()));
    assert!(
        text.contains("row 1 is `b` `c` here but `a` there"),
        "{text}"
    );
}

#[test]
fn a_dropped_section_is_named() {
    let dropped = JA.replace("## 部分 `x`\n\n### 下位\n\n", "");
    let text = messages(&check_pair(&files(&dropped), &pair()));
    assert!(text.contains("is missing a section"), "{text}");
    assert!(text.contains("docs/things.md:14 `## Part `x``"), "{text}");
}

#[test]
fn a_dropped_section_among_siblings_names_the_candidates() {
    let en = "# T\n## A\n## B\n## C\n";
    let ja = "# T\n## あ\n## う\n";
    let heads = |text: &str| markdown::parse(text).headings;
    let text = messages(&compare_headings("en.md", &heads(en), "ja.md", &heads(ja)));
    assert!(
        text.contains("one of en.md:2 `## A`, en.md:3 `## B`, en.md:4 `## C`"),
        "{text}"
    );
}

#[test]
fn a_changed_level_is_reported_at_the_heading() {
    let text = messages(&check_pair(
        &files(&JA.replace("### 下位", "## 下位")),
        &pair(),
    ));
    assert!(text.contains("`## 下位` is level 2"), "{text}");
}

#[test]
fn code_in_headings_must_match() {
    let text = messages(&check_pair(
        &files(&JA.replace("## 部分 `x`", "## 部分 `y`")),
        &pair(),
    ));
    assert!(text.contains("missing `x`; extra `y`"), "{text}");
}

#[test]
fn a_broken_link_is_reported() {
    let text = messages(&check_pair(
        &files(&JA.replace("../other.md#", "../otter.md#")),
        &pair(),
    ));
    assert!(
        text.contains("docs/otter.md, which does not exist"),
        "{text}"
    );
}

#[test]
fn a_broken_anchor_is_reported() {
    let text = messages(&check_pair(
        &files(&JA.replace("#part-two", "#part-3")),
        &pair(),
    ));
    assert!(
        text.contains("no heading with the anchor `#part-3`"),
        "{text}"
    );
}

#[test]
fn missing_language_links_are_reported() {
    let text = messages(&check_pair(
        &files(&JA.replace("[English](../things.md)", "")),
        &pair(),
    ));
    assert!(
        text.contains("does not link docs/things.md at its top"),
        "{text}"
    );
    assert!(text.contains("`[English](../things.md)`"), "{text}");
}

#[test]
fn a_japanese_page_links_japanese_versions() {
    let files = files(JA).with("docs/ja/other.md", "# ほか\n\n## 第二部\n");
    let text = messages(&check_pair(&files, &pair()));
    assert!(
        text.contains("but docs/ja/other.md exists: link `other.md`"),
        "{text}"
    );
}

#[test]
fn omitted_sections_drop_their_tables_and_subsections() {
    let outline = markdown::parse(
        "# R\n## Keep\n| n |\n|---|\n| `a` |\n## Dev\n### More\n| n |\n|---|\n| `b` |\n## End\n| n |\n|---|\n| `c` |\n",
    );
    let kept = omit_sections(&outline, &["Dev"]);
    let texts: Vec<_> = kept.headings.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(texts, vec!["R", "Keep", "End"]);
    let tables: Vec<_> = kept
        .tables
        .iter()
        .map(|t| (t.first_column.clone(), t.heading))
        .collect();
    assert_eq!(
        tables,
        vec![
            (vec!["`a`".to_string()], Some(1)),
            (vec!["`c`".to_string()], Some(2))
        ]
    );
}

#[test]
fn which_tables_list_names() {
    let table = |cells: &[&str]| Table {
        line: 1,
        heading: None,
        first_column: cells.iter().map(|c| c.to_string()).collect(),
    };
    assert!(lists_names(&table(&["`a`", "`b` with x", ""])));
    assert!(lists_names(&table(&["1 core, `standard`", "2 cores"])));
    assert!(!lists_names(&table(&["1", "2", "`x`"])));
    assert!(!lists_names(&table(&["**bold**", "text"])));
}

#[test]
fn resolving_links() {
    assert_eq!(
        resolve("docs/ja/a.md", "../b.md#x"),
        Some(("docs/b.md".to_string(), Some("x".to_string())))
    );
    assert_eq!(
        resolve("docs/ja/a.md", "#x"),
        Some(("docs/ja/a.md".to_string(), Some("x".to_string())))
    );
    assert_eq!(
        resolve("docs/ja/README.md", "../../README.md"),
        Some(("README.md".to_string(), None))
    );
    assert_eq!(resolve("README.md", "../x.md"), None);
    assert_eq!(resolve("README.md", "https://example.com/x"), None);
    assert_eq!(resolve("README.md", "mailto:a@b"), None);
    assert_eq!(
        resolve("README.md", "crates/sacloud"),
        Some(("crates/sacloud".to_string(), None))
    );
}

#[test]
fn relative_paths() {
    assert_eq!(relative_path("docs/a.md", "docs/ja/a.md"), "ja/a.md");
    assert_eq!(relative_path("docs/ja/a.md", "docs/a.md"), "../a.md");
    assert_eq!(
        relative_path("docs/ja/README.md", "README.md"),
        "../../README.md"
    );
    assert_eq!(
        relative_path("README.md", "docs/ja/README.md"),
        "docs/ja/README.md"
    );
}

#[test]
fn page_lists_catch_unknown_and_pending_pages() {
    // TRANSLATION_PENDING is empty while every page is translated: check with lists that have
    // a pending page, so that its rule is still tested.
    let lists = PageLists {
        translated: &["annotations.md"],
        pending: &["deploy.md"],
        english_only: &["testing.md"],
    };
    let mut files = MemFiles::default()
        .with("docs/new-page.md", "# New\n")
        .with("docs/ja/annotations.md", "# アノテーション\n")
        .with("docs/ja/deploy.md", "# デプロイ\n")
        .with("docs/ja/stray.md", "# 迷子\n");
    for page in ["annotations.md", "deploy.md", "testing.md"] {
        files = files.with(&format!("docs/{page}"), "# x\n");
    }
    let text = messages(&check_page_lists_against(&files, &lists));
    assert!(
        text.contains("docs/new-page.md: a page the docs checker does not know"),
        "{text}"
    );
    assert!(
        text.contains("docs/ja/deploy.md: exists, but deploy.md is in TRANSLATION_PENDING"),
        "{text}"
    );
    assert!(
        text.contains("docs/ja/stray.md: has no English page"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn readme_coverage_names_missing_pages() {
    let links: String = TRANSLATED
        .iter()
        .filter(|page| **page != "nodes.md")
        .map(|page| format!("[{page}](docs/ja/{page})\n"))
        .collect();
    let ja_links: String = TRANSLATED
        .iter()
        .map(|page| format!("[{page}]({page})\n"))
        .collect();
    let files = MemFiles::default()
        .with("README.md", &links)
        .with("docs/ja/README.md", &ja_links);
    let text = messages(&check_readme_coverage(&files));
    assert_eq!(
        text,
        "README.md: does not link the Japanese page docs/ja/nodes.md: add `docs/ja/nodes.md` to its documentation links"
    );
}

#[test]
fn a_missing_translation_is_reported() {
    let files = MemFiles::default().with("docs/things.md", EN);
    let text = messages(&check_pair(&files, &pair()));
    assert!(text.contains("docs/ja/things.md: missing"), "{text}");
}
