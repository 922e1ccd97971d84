//! The find query (`GET resource?{"Count":…,"Filter":…}`): parsing, filter matching, sorting,
//! paging and `Include`/`Exclude` projection.
//!
//! The whole raw query string is percent-decoded and parsed as JSON, exactly as the real API
//! expects (clients pre-escape spaces as `%20`; `+` is not a space). Matching works on a small
//! typed [`Fields`] view for the well-known keys so listing thousands of resources stays linear and
//! cheap; any other key falls back to the rendered JSON of the item.

use crate::error::ApiError;
use crate::time::parse_rfc3339;
use crate::wire::parse_id;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// Comparison attached to a filter key (`CreatedAt>=` → `Ge`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Plain key.
    Eq,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
}

/// One `Filter` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// Field path without operator, e.g. `Tags.Name`.
    pub field: String,
    /// Operator suffix.
    pub op: Op,
    /// Value as sent.
    pub value: Value,
}

/// One `Sort` entry (`-Name` = descending).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortKey {
    /// Field.
    pub field: String,
    /// Descending.
    pub desc: bool,
}

/// A parsed find request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FindQuery {
    /// Page size; `None` (absent or 0) returns every match — the real default is unknown.
    pub count: Option<usize>,
    /// Offset into the filtered list.
    pub from: usize,
    /// Sort order; default is ascending ID.
    pub sort: Vec<SortKey>,
    /// Conditions, all of which must hold.
    pub filter: Vec<Condition>,
    /// Top-level (or dotted) fields to keep.
    pub include: Vec<String>,
    /// Top-level (or dotted) fields to drop.
    pub exclude: Vec<String>,
}

/// The searchable facts about one resource.
#[derive(Clone, Copy, Debug)]
pub struct Fields<'a> {
    /// `ID`.
    pub id: u64,
    /// `Name`.
    pub name: &'a str,
    /// `Tags`.
    pub tags: &'a [String],
    /// `Class` (appliances).
    pub class: Option<&'a str>,
    /// `Provider.Class` (common service items; unused so far).
    pub provider_class: Option<&'a str>,
    /// `Scope` (switches, routers).
    pub scope: Option<&'a str>,
    /// `Zone.Name`.
    pub zone: &'a str,
    /// `CreatedAt` in unix seconds.
    pub created_at_s: i64,
}

fn bad(detail: impl AsRef<str>) -> ApiError {
    ApiError::malformed(format!("invalid find query: {}", detail.as_ref()))
}

fn split_op(key: &str) -> (&str, Op) {
    for (suffix, op) in [(">=", Op::Ge), ("<=", Op::Le), (">", Op::Gt), ("<", Op::Lt)] {
        if let Some(field) = key.strip_suffix(suffix) {
            return (field.trim_end(), op);
        }
    }
    (key, Op::Eq)
}

fn usize_field(m: &Map<String, Value>, key: &str) -> Result<Option<usize>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => crate::wire::parse_int(v)
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad(format!("{key} must be a non-negative integer, got {v}"))),
    }
}

fn string_list(m: &Map<String, Value>, key: &str) -> Result<Vec<String>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(format!("{key} entries must be strings")))
            })
            .collect(),
        Some(v) => Err(bad(format!("{key} must be an array of strings, got {v}"))),
    }
}

/// Parse the raw query string of a find request. `None`/empty means "everything".
pub fn parse_query(raw: Option<&str>) -> Result<FindQuery, ApiError> {
    let raw = raw.unwrap_or_default();
    if raw.trim().is_empty() {
        return Ok(FindQuery::default());
    }
    let text = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| bad("query is not UTF-8 after percent-decoding"))?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("query is not JSON ({e})")))?;
    if v.is_null() {
        // saklient sends `?null` when it has no parameters.
        return Ok(FindQuery::default());
    }
    let m = v
        .as_object()
        .ok_or_else(|| bad("query must be a JSON object"))?;
    let mut q = FindQuery {
        count: usize_field(m, "Count")?.filter(|c| *c > 0),
        from: usize_field(m, "From")?.unwrap_or(0),
        include: string_list(m, "Include")?,
        exclude: string_list(m, "Exclude")?,
        ..FindQuery::default()
    };
    q.sort = string_list(m, "Sort")?
        .into_iter()
        .map(|s| match s.strip_prefix('-') {
            Some(f) => SortKey {
                field: f.to_owned(),
                desc: true,
            },
            None => SortKey {
                field: s,
                desc: false,
            },
        })
        .collect();
    match m.get("Filter") {
        None | Some(Value::Null) => {}
        Some(Value::Object(f)) => {
            for (key, value) in f {
                let (field, op) = split_op(key);
                if op != Op::Eq && field != "CreatedAt" && field != "ID" {
                    return Err(bad(format!(
                        "operator on {field} is not supported (only CreatedAt and ID)"
                    )));
                }
                if field == "CreatedAt" {
                    let ok = match value {
                        Value::String(s) => parse_rfc3339(s).is_some(),
                        _ => false,
                    };
                    if !ok {
                        return Err(bad(format!(
                            "{key} needs an RFC 3339 timestamp, got {value}"
                        )));
                    }
                }
                q.filter.push(Condition {
                    field: field.to_owned(),
                    op,
                    value: value.clone(),
                });
            }
        }
        Some(v) => return Err(bad(format!("Filter must be an object, got {v}"))),
    }
    Ok(q)
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn cmp_op(ord: Ordering, op: Op) -> bool {
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
    }
}

/// `Name`-style partial match: every space-separated word occurs (case-insensitive).
fn partial(target: &str, words: &str) -> bool {
    let t = target.to_lowercase();
    words
        .split_whitespace()
        .all(|w| t.contains(&w.to_lowercase()))
}

fn exact_any(target: Option<&str>, value: &Value) -> bool {
    let Some(t) = target else { return false };
    match value {
        Value::Array(a) => a.iter().filter_map(as_text).any(|x| x == t),
        v => as_text(v).is_some_and(|x| x == t),
    }
}

/// `Tags.Name`: string = has every listed word as a tag; `["a","b"]` = any; `[["a","b"]]` = all.
pub fn tags_match(tags: &[String], value: &Value) -> bool {
    let has = |t: &str| tags.iter().any(|x| x == t);
    match value {
        Value::String(s) => s.split_whitespace().all(has),
        Value::Array(groups) => groups.iter().any(|g| match g {
            Value::Array(all) => all.iter().all(|t| as_text(t).is_some_and(|t| has(&t))),
            other => as_text(other).is_some_and(|t| has(&t)),
        }),
        other => as_text(other).is_some_and(|t| has(&t)),
    }
}

fn collect_path<'v>(v: &'v Value, segs: &[&str], out: &mut Vec<&'v Value>) {
    match (v, segs.split_first()) {
        (Value::Array(items), _) => items.iter().for_each(|i| collect_path(i, segs, out)),
        (_, None) => out.push(v),
        (Value::Object(m), Some((head, rest))) => {
            if let Some(next) = m.get(*head) {
                collect_path(next, rest, out);
            }
        }
        _ => {}
    }
}

fn generic_match(doc: &Value, field: &str, value: &Value) -> bool {
    let segs: Vec<&str> = field.split('.').collect();
    let mut found = Vec::new();
    collect_path(doc, &segs, &mut found);
    found
        .iter()
        .filter_map(|v| as_text(v))
        .any(|t| match value {
            Value::String(s) => partial(&t, s),
            Value::Array(a) => a.iter().filter_map(as_text).any(|x| x == t),
            other => as_text(other).is_some_and(|x| x == t),
        })
}

/// Whether one condition holds. `doc` lazily renders the item for keys the typed view lacks.
pub fn matches(c: &Condition, f: &Fields<'_>, doc: &mut dyn FnMut() -> Value) -> bool {
    match c.field.as_str() {
        "ID" => match (&c.value, c.op) {
            (Value::Array(a), Op::Eq) => a.iter().filter_map(parse_id).any(|id| id == f.id),
            (v, op) => parse_id(v).is_some_and(|id| cmp_op(f.id.cmp(&id), op)),
        },
        "Name" => match &c.value {
            Value::String(s) => partial(f.name, s),
            other => exact_any(Some(f.name), other),
        },
        "Tags.Name" | "Tags" => tags_match(f.tags, &c.value),
        "Class" => exact_any(f.class, &c.value),
        "Provider.Class" => exact_any(f.provider_class, &c.value),
        "Scope" => exact_any(f.scope, &c.value),
        "Zone.Name" => exact_any(Some(f.zone), &c.value),
        "CreatedAt" => c
            .value
            .as_str()
            .and_then(parse_rfc3339)
            .is_some_and(|t| cmp_op(f.created_at_s.cmp(&t), c.op)),
        other => generic_match(&doc(), other, &c.value),
    }
}

fn compare(a: &Fields<'_>, b: &Fields<'_>, keys: &[SortKey]) -> Ordering {
    for k in keys {
        let o = match k.field.as_str() {
            "ID" => a.id.cmp(&b.id),
            "Name" => a.name.cmp(b.name),
            "CreatedAt" => a.created_at_s.cmp(&b.created_at_s),
            _ => Ordering::Equal,
        };
        let o = if k.desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.id.cmp(&b.id)
}

/// The slice of a filtered list that `From`/`Count` select.
pub fn page(total: usize, from: usize, count: Option<usize>) -> std::ops::Range<usize> {
    let start = from.min(total);
    let end = count.map_or(total, |c| start.saturating_add(c).min(total));
    start..end
}

/// Keep only `include` paths (if any) and drop `exclude` paths (dotted paths reach into objects).
pub fn project(item: Value, include: &[String], exclude: &[String]) -> Value {
    let mut item = if include.is_empty() {
        item
    } else {
        let mut out = Value::Object(Map::new());
        for p in include {
            let segs: Vec<&str> = p.split('.').collect();
            if let Some(v) = segs.iter().try_fold(&item, |cur, s| cur.get(*s)) {
                let mut cur = &mut out;
                for (i, s) in segs.iter().enumerate() {
                    let Value::Object(m) = cur else { break };
                    let last = i + 1 == segs.len();
                    cur = m.entry((*s).to_owned()).or_insert_with(|| {
                        if last {
                            v.clone()
                        } else {
                            Value::Object(Map::new())
                        }
                    });
                }
            }
        }
        out
    };
    for p in exclude {
        let segs: Vec<&str> = p.split('.').collect();
        if let Some((last, parents)) = segs.split_last()
            && let Some(Value::Object(m)) =
                parents.iter().try_fold(&mut item, |cur, s| cur.get_mut(*s))
        {
            m.remove(*last);
        }
    }
    item
}

/// Run a find over `items`: filter, sort, page, render. Returns `(Total, From, page)`.
/// Linear in the number of items (plus the sort when one is asked for).
pub fn run<'a, T: 'a>(
    items: impl Iterator<Item = &'a T>,
    q: &FindQuery,
    fields: impl Fn(&T) -> Fields<'_>,
    render: impl Fn(&T) -> Value,
) -> (usize, usize, Vec<Value>) {
    let mut hits: Vec<&T> = items
        .filter(|item| {
            let f = fields(item);
            let mut cache: Option<Value> = None;
            let mut doc = || cache.get_or_insert_with(|| render(item)).clone();
            q.filter.iter().all(|c| matches(c, &f, &mut doc))
        })
        .collect();
    if !q.sort.is_empty() {
        hits.sort_by(|a, b| compare(&fields(a), &fields(b), &q.sort));
    }
    let range = page(hits.len(), q.from, q.count);
    let from = range.start;
    let out = hits[range]
        .iter()
        .map(|item| project(render(item), &q.include, &q.exclude))
        .collect();
    (hits.len(), from, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields<'a>(name: &'a str, tags: &'a [String]) -> Fields<'a> {
        Fields {
            id: 5,
            name,
            tags,
            class: Some("loadbalancer"),
            provider_class: None,
            scope: Some("user"),
            zone: "is1a",
            created_at_s: 1_000,
        }
    }

    fn cond(key: &str, value: Value) -> Condition {
        let (field, op) = split_op(key);
        Condition {
            field: field.into(),
            op,
            value,
        }
    }

    fn check(key: &str, value: Value, f: &Fields<'_>) -> bool {
        matches(
            &cond(key, value),
            f,
            &mut || json!({"Interfaces": [{"IPAddress": "1.2.3.4"}]}),
        )
    }

    #[test]
    fn parses_the_percent_encoded_json_query() {
        let raw = "%7B%22Count%22%3A2%2C%22From%22%3A1%2C%22Filter%22%3A%7B%22Name%22%3A%22a%20b%22%7D%2C%22Sort%22%3A%5B%22-Name%22%5D%7D";
        let q = parse_query(Some(raw)).unwrap();
        assert_eq!((q.count, q.from), (Some(2), 1));
        assert_eq!(q.filter, vec![cond("Name", json!("a b"))]);
        assert_eq!(
            q.sort,
            vec![SortKey {
                field: "Name".into(),
                desc: true
            }]
        );
        let raw = r#"{"Filter":{"Tags.Name":[["@k8s"]]},"Count":0}"#;
        assert_eq!(parse_query(Some(raw)).unwrap().count, None);
        assert_eq!(parse_query(None).unwrap(), FindQuery::default());
        assert_eq!(parse_query(Some("")).unwrap(), FindQuery::default());
    }

    #[test]
    fn rejects_bad_queries() {
        for raw in [
            "Count=1",
            "%7B",
            "[1]",
            r#"{"Count":-1}"#,
            r#"{"Filter":[]}"#,
            r#"{"Filter":{"CreatedAt>":"soon"}}"#,
            r#"{"Filter":{"Name>":"a"}}"#,
            "%FF",
        ] {
            let e = parse_query(Some(raw)).unwrap_err();
            assert_eq!(e.status.as_u16(), 400, "{raw}");
        }
    }

    #[test]
    fn name_is_partial_and_anded() {
        let t: Vec<String> = vec![];
        let f = fields("k8s-Worker-01", &t);
        assert!(check("Name", json!("worker"), &f));
        assert!(check("Name", json!("k8s 01"), &f));
        assert!(!check("Name", json!("k8s 02"), &f));
        assert!(check("Name", json!(["k8s-Worker-01", "x"]), &f));
        assert!(!check("Name", json!(["k8s"]), &f));
    }

    #[test]
    fn tags_string_any_all() {
        let t: Vec<String> = vec!["@k8s".into(), "prod".into()];
        let f = fields("x", &t);
        assert!(check("Tags.Name", json!("@k8s"), &f));
        assert!(!check("Tags.Name", json!("@k8"), &f));
        assert!(check("Tags.Name", json!(["nope", "prod"]), &f));
        assert!(!check("Tags.Name", json!(["nope", "other"]), &f));
        assert!(check("Tags.Name", json!([["@k8s", "prod"]]), &f));
        assert!(!check("Tags.Name", json!([["@k8s", "dev"]]), &f));
    }

    #[test]
    fn exact_fields_ids_and_time() {
        let t: Vec<String> = vec![];
        let f = fields("x", &t);
        assert!(check("Class", json!("loadbalancer"), &f));
        assert!(!check("Class", json!("load"), &f));
        assert!(check("Class", json!(["vpcrouter", "loadbalancer"]), &f));
        assert!(check("Scope", json!("user"), &f));
        assert!(check("Zone.Name", json!("is1a"), &f));
        assert!(!check("Provider.Class", json!("proxylb"), &f));
        assert!(check("ID", json!("5"), &f));
        assert!(check("ID", json!([4, "5"]), &f));
        assert!(!check("ID", json!(6), &f));
        assert!(check("ID>", json!(4), &f));
        assert!(check("CreatedAt>", json!("1970-01-01T00:00:00Z"), &f));
        assert!(check("CreatedAt<=", json!("1970-01-01T09:16:40+09:00"), &f));
        assert!(!check("CreatedAt<", json!("1970-01-01T00:16:40Z"), &f));
        assert!(check("Interfaces.IPAddress", json!("1.2.3"), &f));
        assert!(!check("Interfaces.IPAddress", json!(["1.2.3"]), &f));
    }

    #[test]
    fn paging_bounds() {
        assert_eq!(page(10, 0, None), 0..10);
        assert_eq!(page(10, 8, Some(5)), 8..10);
        assert_eq!(page(10, 20, Some(5)), 10..10);
        assert_eq!(page(10, 3, Some(2)), 3..5);
    }

    #[test]
    fn projection() {
        let v = json!({"ID": "1", "Name": "a", "Zone": {"ID": "2", "Name": "is1a"}});
        assert_eq!(
            project(v.clone(), &["ID".into(), "Zone.Name".into()], &[]),
            json!({"ID": "1", "Zone": {"Name": "is1a"}})
        );
        assert_eq!(
            project(v, &[], &["Zone.ID".into(), "Name".into()]),
            json!({"ID": "1", "Zone": {"Name": "is1a"}})
        );
    }

    #[test]
    fn run_filters_sorts_and_pages() {
        type Item = (u64, String, Vec<String>);
        let items: Vec<Item> = (1..=10)
            .map(|i| (i, format!("n{}", 11 - i), vec![]))
            .collect();
        fn fields_of(x: &Item) -> Fields<'_> {
            Fields {
                id: x.0,
                name: &x.1,
                tags: &x.2,
                class: None,
                provider_class: None,
                scope: None,
                zone: "is1a",
                created_at_s: 0,
            }
        }
        let render = |x: &Item| json!({"ID": x.0});
        let q = parse_query(Some(
            r#"{"From":2,"Count":3,"Sort":["Name"],"Filter":{"Name":"n"}}"#,
        ))
        .unwrap();
        let (total, from, page) = run(items.iter(), &q, fields_of, render);
        assert_eq!((total, from), (10, 2));
        // Names sort as strings: n1, n10, n2, n3, ... → ids 10, 1, 9, 8 …
        assert_eq!(
            page,
            vec![json!({"ID": 9}), json!({"ID": 8}), json!({"ID": 7})]
        );
    }
}
