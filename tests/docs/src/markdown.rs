//! Just enough of Markdown (as GitHub renders it) to compare two translations of a page: ATX
//! headings, pipe tables, inline links and code spans, all outside fenced code blocks.
//!
//! Setext headings (`===` underlines), reference-style links and HTML are not recognized: the
//! docs do not use them, and a checker that guessed at them would report noise.

/// One `#` heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    /// 1 for `#`, 2 for `##`, ...
    pub level: usize,
    /// The heading's text as written, without the `#`s.
    pub text: String,
    /// 1-based line number.
    pub line: usize,
}

impl Heading {
    /// The heading as it appears in the file (`## Annotations`), for messages.
    pub fn display(&self) -> String {
        format!("{} {}", "#".repeat(self.level), self.text)
    }
}

/// One pipe table: only its first column is kept, since that is where pages list names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// 1-based line number of the header row.
    pub line: usize,
    /// Index into [`Outline::headings`] of the last heading before the table.
    pub heading: Option<usize>,
    /// The first cell of each body row, unescaped (`\|` → `|`), trimmed.
    pub first_column: Vec<String>,
}

/// One inline link `[text](target)` or image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The target as written (`../nodes.md#addresses`).
    pub target: String,
    /// 1-based line number.
    pub line: usize,
}

/// What the checker compares in a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outline {
    /// Headings in document order.
    pub headings: Vec<Heading>,
    /// Tables in document order.
    pub tables: Vec<Table>,
    /// Links in document order.
    pub links: Vec<Link>,
}

/// Reads the headings, tables and links of a page, skipping fenced code blocks.
pub fn parse(text: &str) -> Outline {
    let mut outline = Outline::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut fence: Option<(char, usize)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let number = i + 1;
        if let Some((ch, len)) = fence {
            if closes_fence(line, ch, len) {
                fence = None;
            }
            i += 1;
            continue;
        }
        if let Some(opened) = opens_fence(line) {
            fence = Some(opened);
            i += 1;
            continue;
        }
        if let Some((level, heading_text)) = atx_heading(line) {
            outline.headings.push(Heading {
                level,
                text: heading_text,
                line: number,
            });
            outline.links.extend(links_in(line, number));
            i += 1;
            continue;
        }
        if line.contains('|') && lines.get(i + 1).is_some_and(|next| is_delimiter_row(next)) {
            let mut table = Table {
                line: number,
                heading: outline.headings.len().checked_sub(1),
                first_column: Vec::new(),
            };
            outline.links.extend(links_in(line, number));
            i += 2;
            while let Some(row) = lines.get(i) {
                if row.trim().is_empty() || !row.contains('|') {
                    break;
                }
                let cells = split_row(row);
                table
                    .first_column
                    .push(cells.into_iter().next().unwrap_or_default());
                outline.links.extend(links_in(row, i + 1));
                i += 1;
            }
            outline.tables.push(table);
            continue;
        }
        outline.links.extend(links_in(line, number));
        i += 1;
    }
    outline
}

/// A line that opens a fenced code block: three or more backticks or tildes, indented at most
/// three spaces. Returns the fence character and length, which the closing fence must match.
fn opens_fence(line: &str) -> Option<(char, usize)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let ch = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = rest.chars().take_while(|c| *c == ch).count();
    // A backtick fence's info string may not contain backticks (else it is inline code).
    (len >= 3 && !(ch == '`' && rest[len..].contains('`'))).then_some((ch, len))
}

fn closes_fence(line: &str, ch: char, len: usize) -> bool {
    let trimmed = line.trim();
    let run = trimmed.chars().take_while(|c| *c == ch).count();
    run >= len && trimmed.chars().all(|c| c == ch)
}

/// `## Text ##` → (2, "Text"). At most three spaces of indentation, a space after the `#`s.
fn atx_heading(line: &str) -> Option<(usize, String)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let level = rest.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let after = &rest[level..];
    if !(after.is_empty() || after.starts_with(' ') || after.starts_with('\t')) {
        return None;
    }
    let text = after.trim().trim_end_matches('#').trim_end();
    Some((level, text.to_string()))
}

/// `|---|:--:|` and friends: only pipes, dashes, colons and spaces, with at least one dash.
fn is_delimiter_row(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.contains('-')
        && trimmed.contains('|')
        && trimmed
            .chars()
            .all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
}

/// The cells of a table row. `\|` is an escaped pipe (also inside code spans, as GitHub reads
/// tables) and comes back as `|`.
pub fn split_row(row: &str) -> Vec<String> {
    let mut trimmed = row.trim();
    if let Some(rest) = trimmed.strip_prefix('|') {
        trimmed = rest;
    }
    if trimmed.ends_with('|') && !trimmed.ends_with("\\|") {
        trimmed = &trimmed[..trimmed.len() - 1];
    }
    let mut cells = Vec::new();
    let mut current = String::new();
    let mut chars = trimmed.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                current.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut current).trim().to_string()),
            _ => current.push(c),
        }
    }
    cells.push(current.trim().to_string());
    cells
}

/// The code spans of a piece of inline Markdown, in order: `` `a` and ``b`` `` → `["a", "b"]`.
/// A backtick run without a closing run of the same length is literal text.
pub fn code_spans(text: &str) -> Vec<String> {
    code_span_ranges(text)
        .into_iter()
        .map(|(start, end, ticks)| {
            let inner = &text[start + ticks..end - ticks];
            // One space on both sides is padding (so a span can start or end with a backtick).
            let stripped = if inner.len() >= 2
                && inner.starts_with(' ')
                && inner.ends_with(' ')
                && !inner.trim().is_empty()
            {
                &inner[1..inner.len() - 1]
            } else {
                inner
            };
            stripped.to_string()
        })
        .collect()
}

/// Byte ranges (start, end, backtick count) of the code spans in `text`, delimiters included.
fn code_span_ranges(text: &str) -> Vec<(usize, usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let ticks = bytes[i..].iter().take_while(|b| **b == b'`').count();
        let mut j = i + ticks;
        let mut closed = None;
        while j < bytes.len() {
            if bytes[j] == b'`' {
                let run = bytes[j..].iter().take_while(|b| **b == b'`').count();
                if run == ticks {
                    closed = Some(j + run);
                    break;
                }
                j += run;
            } else {
                j += 1;
            }
        }
        match closed {
            Some(end) => {
                spans.push((i, end, ticks));
                i = end;
            }
            None => i += ticks,
        }
    }
    spans
}

/// The line with its code spans blanked out, so that `` `[a](b)` `` is not read as a link.
fn without_code(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut last = 0;
    for (start, end, _) in code_span_ranges(line) {
        out.push_str(&line[last..start]);
        out.push_str(&" ".repeat(end - start));
        last = end;
    }
    out.push_str(&line[last..]);
    out
}

/// The inline links (and images) of one line, outside code spans.
pub fn links_in(line: &str, number: usize) -> Vec<Link> {
    let plain = without_code(line);
    let mut links = Vec::new();
    let mut rest = plain.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let mut depth = 0usize;
        let mut end = None;
        for (k, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = Some(k);
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let inside = after[..end].trim();
        // `(target "title")`: the target is the first word; `<target>` may hold spaces.
        let target = match inside.strip_prefix('<') {
            Some(bracketed) => bracketed.split('>').next().unwrap_or_default(),
            None => inside.split_whitespace().next().unwrap_or_default(),
        };
        if !target.is_empty() {
            links.push(Link {
                target: target.to_string(),
                line: number,
            });
        }
        rest = &after[end..];
    }
    links
}

/// The anchor GitHub gives a heading: lower case, punctuation dropped (Unicode-aware, so
/// Japanese letters stay and `、` or `・` go), spaces turned into `-`. Inline code keeps its text,
/// links keep their text.
pub fn slug(heading_text: &str) -> String {
    let mut visible = String::new();
    let mut rest = heading_text;
    // Link text stays, the target goes: `[a](b)` → `a`.
    while let Some(open) = rest.find('[') {
        let Some(close_rel) = rest[open..].find("](") else {
            break;
        };
        let close = open + close_rel;
        let Some(end_rel) = rest[close..].find(')') else {
            break;
        };
        visible.push_str(&rest[..open]);
        visible.push_str(&rest[open + 1..close]);
        rest = &rest[close + end_rel + 1..];
    }
    visible.push_str(rest);
    visible
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor of a page, with GitHub's `-1`, `-2`, ... suffixes for repeated headings.
pub fn anchors(headings: &[Heading]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for heading in headings {
        let base = slug(&heading.text);
        let mut candidate = base.clone();
        let mut n = 0;
        while seen.contains(&candidate) {
            n += 1;
            candidate = format!("{base}-{n}");
        }
        seen.push(candidate);
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_outside_fences_only() {
        let outline = parse(
            "# Title\n\n```sh\n# a comment\n```\n\n## Part `x`\n####### too deep\n#no space\n",
        );
        let levels: Vec<_> = outline
            .headings
            .iter()
            .map(|h| (h.level, h.text.as_str(), h.line))
            .collect();
        assert_eq!(levels, vec![(1, "Title", 1), (2, "Part `x`", 7)]);
    }

    #[test]
    fn tilde_fence_and_longer_backtick_fence() {
        let outline = parse("~~~\n# no\n~~~\n````\n```\n# no\n````\n# yes\n");
        assert_eq!(outline.headings.len(), 1);
        assert_eq!(outline.headings[0].text, "yes");
    }

    #[test]
    fn tables_keep_first_column_and_heading() {
        let text = "## Flags\n\n| flag | meaning |\n|---|---|\n| `--output text\\|json` | x |\n| `--lang` | y |\n\nafter\n";
        let outline = parse(text);
        assert_eq!(outline.tables.len(), 1);
        let table = &outline.tables[0];
        assert_eq!(table.heading, Some(0));
        assert_eq!(table.line, 3);
        assert_eq!(
            table.first_column,
            vec!["`--output text|json`".to_string(), "`--lang`".to_string()]
        );
    }

    #[test]
    fn a_pipe_in_prose_is_not_a_table() {
        let outline = parse("a | b\nno delimiter\n");
        assert!(outline.tables.is_empty());
    }

    #[test]
    fn split_row_without_outer_pipes() {
        assert_eq!(split_row("a | b"), vec!["a", "b"]);
        assert_eq!(split_row("| | x |"), vec!["", "x"]);
    }

    #[test]
    fn code_spans_of_various_lengths() {
        assert_eq!(
            code_spans("`a` and ``b`c`` and ` d `"),
            vec!["a", "b`c", "d"]
        );
        assert_eq!(code_spans("an `unclosed tick"), Vec::<String>::new());
    }

    #[test]
    fn links_outside_code_with_titles_and_parentheses() {
        let links = links_in(
            "see [a](x.md#y) and `[b](not-a-link)` and ![i](img.png \"title\") and [c](<sp ace.md>)",
            3,
        );
        let targets: Vec<_> = links.iter().map(|l| l.target.as_str()).collect();
        assert_eq!(targets, vec!["x.md#y", "img.png", "sp ace.md"]);
        assert!(links.iter().all(|l| l.line == 3));
    }

    #[test]
    fn links_in_fences_are_ignored() {
        let outline = parse("```\n[a](b.md)\n```\n[c](d.md)\n");
        let targets: Vec<_> = outline.links.iter().map(|l| l.target.as_str()).collect();
        assert_eq!(targets, vec!["d.md"]);
    }

    #[test]
    fn slugs_like_github() {
        assert_eq!(
            slug("Service controller (`service::controller::ServiceController`)"),
            "service-controller-servicecontrollerservicecontroller"
        );
        assert_eq!(
            slug("Status: address, hostname, ipMode"),
            "status-address-hostname-ipmode"
        );
        assert_eq!(slug("API 呼び出しの量"), "api-呼び出しの量");
        assert_eq!(
            slug("Deployment・DaemonSet、Lease"),
            "deploymentdaemonsetlease"
        );
        assert_eq!(slug("スイッチ+ルータ"), "スイッチルータ");
        assert_eq!(slug("see [the docs](x.md)"), "see-the-docs");
        assert_eq!(
            slug("Leader election (`cloud_provider::leader`)"),
            "leader-election-cloud_providerleader"
        );
    }

    #[test]
    fn repeated_headings_get_suffixes() {
        let outline = parse("# A\n## Events\n## Events\n## Events\n");
        assert_eq!(
            anchors(&outline.headings),
            vec!["a", "events", "events-1", "events-2"]
        );
    }
}
