//! Small text helpers for messages users read.

/// Levenshtein distance between `a` and `b`, counted in characters, ignoring ASCII case
/// (kubelet lowercases host names, so `Worker-1` and `worker-1` are the same to a user).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The `limit` candidates closest to `target` by [`edit_distance`], ties broken by name,
/// without duplicates.
pub(crate) fn closest<'a>(
    target: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (edit_distance(target, c), c))
        .collect();
    scored.sort_unstable();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(limit)
        .map(|(_, c)| c.to_owned())
        .collect()
}

/// A value quoted for a message, cut to a readable length: values come from users and end up
/// in Events, which should stay short.
pub(crate) fn quoted(value: &str) -> String {
    const MAX_CHARS: usize = 64;
    if value.chars().count() <= MAX_CHARS {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MAX_CHARS).collect();
        format!("{head:?}…")
    }
}

/// `a, b and c` style list.
pub(crate) fn join_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_table() {
        let cases = [
            ("", "", 0),
            ("abc", "", 3),
            ("", "abc", 3),
            ("node-1", "node-1", 0),
            ("node-1", "node-2", 1),
            ("node-1", "node-10", 1),
            ("node1", "node-1", 1),
            ("kitten", "sitting", 3),
            ("Worker-1", "worker-1", 0),
            ("ノード", "ノート", 1),
        ];
        for (a, b, want) in cases {
            assert_eq!(edit_distance(a, b), want, "{a:?} vs {b:?}");
            assert_eq!(edit_distance(b, a), want, "{b:?} vs {a:?} (symmetry)");
        }
    }

    #[test]
    fn closest_orders_by_distance_then_name_and_dedups() {
        let names = [
            "worker-10",
            "worker-2",
            "db",
            "worker-1",
            "worker-1",
            "master-1",
        ];
        assert_eq!(
            closest("worker-3", names, 3),
            vec!["worker-1", "worker-2", "worker-10"]
        );
        assert_eq!(closest("x", Vec::<&str>::new(), 3), Vec::<String>::new());
        assert_eq!(closest("db", ["db"], 3), vec!["db"]);
    }

    #[test]
    fn quoted_cuts_long_values() {
        assert_eq!(quoted("yes"), "\"yes\"");
        let long = "x".repeat(100);
        let q = quoted(&long);
        assert!(q.ends_with('…'), "{q}");
        assert_eq!(q.chars().filter(|c| *c == 'x').count(), 64);
    }

    #[test]
    fn join_list_table() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(join_list(&s(&[])), "");
        assert_eq!(join_list(&s(&["a"])), "a");
        assert_eq!(join_list(&s(&["a", "b"])), "a and b");
        assert_eq!(join_list(&s(&["a", "b", "c"])), "a, b and c");
    }
}
