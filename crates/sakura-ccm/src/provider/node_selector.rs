//! Label selectors as `kubectl -l` writes them, for `k8s.usacloud.jp/node-selector`: which
//! Nodes a Service's load balancer sends traffic to.
//!
//! Syntax (Kubernetes' `labels.Parse`): requirements separated by commas, all of which must
//! hold: `key=value` (or `==`), `key!=value`, `key` (exists), `!key` (does not exist),
//! `key in (a,b)`, `key notin (a,b)`.

use std::collections::BTreeMap;
use std::fmt;

/// One requirement on a Node's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    DoesNotExist(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

/// A parsed label selector; matches when every requirement holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSelector {
    text: String,
    requirements: Vec<Requirement>,
}

impl fmt::Display for NodeSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl NodeSelector {
    /// Parses `text`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let mut requirements = Vec::new();
        for part in split_top_level(text)? {
            requirements.push(requirement(part.trim())?);
        }
        if requirements.is_empty() {
            return Err("an empty selector".to_owned());
        }
        Ok(Self {
            text: text.to_owned(),
            requirements,
        })
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
        })
    }
}

/// Splits on commas outside parentheses.
fn split_top_level(text: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0u32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unbalanced ')' at position {i}"))?;
            }
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced '('".to_owned());
    }
    parts.push(&text[start..]);
    if parts.iter().any(|p| p.trim().is_empty()) && text.contains(',') {
        return Err("an empty requirement between commas".to_owned());
    }
    Ok(parts.into_iter().filter(|p| !p.trim().is_empty()).collect())
}

fn requirement(part: &str) -> Result<Requirement, String> {
    if let Some(key) = part.strip_prefix('!') {
        return Ok(Requirement::DoesNotExist(key_of(key.trim())?));
    }
    if let Some((key, value)) = part.split_once("!=") {
        return Ok(Requirement::NotEquals(
            key_of(key.trim())?,
            value_of(value.trim())?,
        ));
    }
    if let Some((key, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return Ok(Requirement::Equals(
            key_of(key.trim())?,
            value_of(value.trim())?,
        ));
    }
    let mut words = part.splitn(2, char::is_whitespace);
    let key = words.next().unwrap_or_default();
    let rest = words.next().map(str::trim_start).unwrap_or_default();
    if rest.is_empty() {
        return Ok(Requirement::Exists(key_of(key)?));
    }
    let (negated, list) = if let Some(list) = rest.strip_prefix("notin") {
        (true, list)
    } else if let Some(list) = rest.strip_prefix("in") {
        (false, list)
    } else {
        return Err(format!(
            "{part:?}: expected =, ==, !=, in or notin after the key"
        ));
    };
    let inner = list
        .trim()
        .strip_prefix('(')
        .and_then(|l| l.strip_suffix(')'))
        .ok_or_else(|| format!("{part:?}: the values of in/notin go in parentheses"))?;
    let values = inner
        .split(',')
        .map(|v| value_of(v.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    let key = key_of(key)?;
    Ok(if negated {
        Requirement::NotIn(key, values)
    } else {
        Requirement::In(key, values)
    })
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63
/// characters (alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric).
fn key_of(key: &str) -> Result<String, String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
    });
    if !prefix_ok || !is_label_name(name) || name.is_empty() {
        return Err(format!("{key:?} is not a label key"));
    }
    Ok(key.to_owned())
}

fn value_of(value: &str) -> Result<String, String> {
    if is_label_name(value) {
        Ok(value.to_owned())
    } else {
        Err(format!("{value:?} is not a label value"))
    }
}

/// Empty, or at most 63 alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric.
fn is_label_name(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_form_matches_as_kubectl_does() {
        let worker = labels(&[("role", "worker"), ("zone", "is1a"), ("gpu", "")]);
        let control = labels(&[("role", "control-plane"), ("zone", "is1b")]);
        for (selector, on_worker, on_control) in [
            ("role=worker", true, false),
            ("role==worker", true, false),
            ("role!=worker", false, true),
            ("gpu", true, false),
            ("!gpu", false, true),
            ("zone in (is1a, is1c)", true, false),
            ("zone notin (is1a)", false, true),
            ("role=worker,zone=is1a", true, false),
            ("role=worker, zone=is1b", false, false),
            ("missing notin (x)", true, true),
            ("node-role.kubernetes.io/control-plane", false, false),
        ] {
            let parsed = NodeSelector::parse(selector).unwrap();
            assert_eq!(parsed.matches(&worker), on_worker, "{selector} on worker");
            assert_eq!(
                parsed.matches(&control),
                on_control,
                "{selector} on control"
            );
            assert_eq!(parsed.to_string(), selector);
        }
    }

    #[test]
    fn bad_selectors_say_what_is_wrong() {
        for selector in [
            "",
            "role=",
            "=worker",
            "role=work er",
            "zone in is1a",
            "zone in (is1a",
            "zone)",
            "role=worker,,zone=is1a",
            "role ~ worker",
            "Bad_Prefix.Example/role=x",
        ] {
            let parsed = NodeSelector::parse(selector);
            if selector == "role=" {
                // An empty value is a valid label value.
                assert!(parsed.is_ok());
                continue;
            }
            assert!(parsed.is_err(), "{selector:?} accepted");
        }
    }
}
