//! Patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and an approximation of
//! Kubernetes strategic merge patch. Pure functions over `serde_json::Value`.

use serde_json::{Map, Value};

/// Why a patch could not be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    /// The patch document itself is malformed (→ 400).
    #[error("{0}")]
    Malformed(String),
    /// The patch is well formed but does not apply to this object (→ 422).
    #[error("{0}")]
    Failed(String),
}

/// RFC 7386: objects merge recursively, `null` deletes, everything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn parse_pointer(path: &str) -> Result<Vec<String>, PatchError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(PatchError::Malformed(format!(
            "invalid JSON pointer {path:?}: must start with '/'"
        )));
    };
    Ok(rest.split('/').map(unescape).collect())
}

fn array_index(token: &str, len: usize, allow_end: bool) -> Result<usize, PatchError> {
    if allow_end && token == "-" {
        return Ok(len);
    }
    let bad = || PatchError::Failed(format!("invalid array index {token:?}"));
    if token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
        return Err(bad());
    }
    let i: usize = token.parse().map_err(|_| bad())?;
    let max = if allow_end {
        len
    } else {
        len.saturating_sub(1)
    };
    if i > max || (!allow_end && len == 0) {
        return Err(PatchError::Failed(format!(
            "array index {i} out of bounds (length {len})"
        )));
    }
    Ok(i)
}

fn resolve<'a>(doc: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(o) => o.get(t)?,
            Value::Array(a) => a.get(array_index(t, a.len(), false).ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn parent_mut<'a>(
    doc: &'a mut Value,
    tokens: &[String],
    path: &str,
) -> Result<&'a mut Value, PatchError> {
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(o) => o.get_mut(t),
            Value::Array(a) => {
                let len = a.len();
                a.get_mut(array_index(t, len, false)?)
            }
            _ => None,
        }
        .ok_or_else(|| PatchError::Failed(format!("path {path:?} does not exist")))?;
    }
    Ok(cur)
}

fn add(doc: &mut Value, tokens: &[String], value: Value, path: &str) -> Result<(), PatchError> {
    let Some((last, parents)) = tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, parents, path)? {
        Value::Object(o) => {
            o.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            let i = array_index(last, a.len(), true)?;
            a.insert(i, value);
            Ok(())
        }
        _ => Err(PatchError::Failed(format!(
            "cannot add at {path:?}: parent is not a container"
        ))),
    }
}

fn remove(doc: &mut Value, tokens: &[String], path: &str) -> Result<Value, PatchError> {
    let Some((last, parents)) = tokens.split_last() else {
        return Err(PatchError::Failed(
            "cannot remove the whole document".into(),
        ));
    };
    let missing = || PatchError::Failed(format!("unable to remove nonexistent key {path:?}"));
    match parent_mut(doc, parents, path)? {
        Value::Object(o) => o.remove(last).ok_or_else(missing),
        Value::Array(a) => {
            let i = array_index(last, a.len(), false)?;
            Ok(a.remove(i))
        }
        _ => Err(missing()),
    }
}

fn op_str<'a>(op: &'a Map<String, Value>, field: &str, i: usize) -> Result<&'a str, PatchError> {
    op.get(field).and_then(Value::as_str).ok_or_else(|| {
        PatchError::Malformed(format!("operation {i}: missing string field {field:?}"))
    })
}

/// RFC 6902 JSON patch. As the real server does, a `test` of a path that does not exist
/// compares against `null` (kube-runtime's finalizer helper relies on this to add the first
/// finalizer atomically).
pub fn json_patch(doc: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let Value::Array(ops) = patch else {
        return Err(PatchError::Malformed(
            "a JSON patch must be an array of operations".into(),
        ));
    };
    // Operations apply to a copy so a failure leaves the document untouched (atomicity).
    let mut work = doc.clone();
    for (i, op) in ops.iter().enumerate() {
        let Value::Object(op) = op else {
            return Err(PatchError::Malformed(format!(
                "operation {i} is not an object"
            )));
        };
        let kind = op_str(op, "op", i)?;
        let path = op_str(op, "path", i)?;
        let tokens = parse_pointer(path)?;
        let value = || {
            op.get("value").cloned().ok_or_else(|| {
                PatchError::Malformed(format!("operation {i} ({kind}): missing \"value\""))
            })
        };
        match kind {
            "add" => add(&mut work, &tokens, value()?, path)?,
            "remove" => {
                remove(&mut work, &tokens, path)?;
            }
            "replace" => {
                let v = value()?;
                if tokens.is_empty() {
                    work = v;
                } else {
                    if resolve(&work, &tokens).is_none() {
                        return Err(PatchError::Failed(format!(
                            "replace operation does not apply: doc is missing key: {path}"
                        )));
                    }
                    remove(&mut work, &tokens, path)?;
                    add(&mut work, &tokens, v, path)?;
                }
            }
            "move" | "copy" => {
                let from = op_str(op, "from", i)?;
                let from_tokens = parse_pointer(from)?;
                let v = if kind == "move" {
                    if tokens.starts_with(&from_tokens) && tokens.len() > from_tokens.len() {
                        return Err(PatchError::Failed(format!(
                            "cannot move {from:?} into its own child {path:?}"
                        )));
                    }
                    remove(&mut work, &from_tokens, from)?
                } else {
                    resolve(&work, &from_tokens).cloned().ok_or_else(|| {
                        PatchError::Failed(format!("copy from nonexistent path {from:?}"))
                    })?
                };
                add(&mut work, &tokens, v, path)?;
            }
            "test" => {
                let want = value()?;
                let got = resolve(&work, &tokens).unwrap_or(&Value::Null);
                if *got != want {
                    return Err(PatchError::Failed(format!(
                        "testing value {path} failed: test failed"
                    )));
                }
            }
            other => {
                return Err(PatchError::Malformed(format!(
                    "operation {i}: unknown op {other:?}"
                )));
            }
        }
    }
    *doc = work;
    Ok(())
}

/// How strategic merge patch treats a list, keyed by the field path from the object root.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ListStrategy {
    /// The patch list replaces the old list (the default, and upstream's `atomic`).
    Replace,
    /// Primitive list merged as a set (`metadata.finalizers`).
    Set,
    /// List of objects merged element-wise by this key.
    ByKey(&'static str),
}

/// The list fields a cloud-controller-manager touches whose upstream patch strategy is `merge`.
/// Everything else (including `spec.taints`, which is atomic upstream) is replaced.
fn list_strategy(path: &[String]) -> ListStrategy {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match p.as_slice() {
        ["metadata", "finalizers"] => ListStrategy::Set,
        ["metadata", "ownerReferences"] => ListStrategy::ByKey("uid"),
        ["status", "addresses"] => ListStrategy::ByKey("type"),
        ["status", "conditions"] => ListStrategy::ByKey("type"),
        ["spec", "ports"] => ListStrategy::ByKey("port"),
        ["spec", "podCIDRs"] => ListStrategy::Set,
        _ => ListStrategy::Replace,
    }
}

const DELETE_PRIMITIVE: &str = "$deleteFromPrimitiveList/";
const SET_ORDER: &str = "$setElementOrder/";

/// Removes every `$`-directive key, recursively, so none leaks into stored objects.
fn strip_directives(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.retain(|k, _| !k.starts_with('$'));
            o.values_mut().for_each(strip_directives);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

fn directive<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

/// Approximate Kubernetes strategic merge patch.
///
/// It is a JSON merge patch except that it honours the `$patch` (`replace`, `delete`, `merge`),
/// `$retainKeys`, `$deleteFromPrimitiveList/…` and `$setElementOrder/…` (ignored) directives,
/// and merges the list fields listed in [`list_strategy`] instead of replacing them. The
/// strategy is chosen by field path, not by the object's Go type, so it applies to every kind.
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let mut path = Vec::new();
    smp_value(target, patch, &mut path)
}

fn smp_value(target: &mut Value, patch: &Value, path: &mut Vec<String>) -> Result<(), PatchError> {
    match patch {
        Value::Object(p) => {
            match directive(patch, "$patch") {
                Some("replace") => {
                    let mut v = patch.clone();
                    strip_directives(&mut v);
                    *target = v;
                    return Ok(());
                }
                Some("delete") => {
                    *target = Value::Null;
                    return Ok(());
                }
                Some("merge") | None => {}
                Some(other) => {
                    return Err(PatchError::Malformed(format!(
                        "unknown patch directive $patch: {other:?}"
                    )));
                }
            }
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let retain: Option<Vec<String>> = match p.get("$retainKeys") {
                None => None,
                Some(Value::Array(keys)) => Some(
                    keys.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                ),
                Some(_) => {
                    return Err(PatchError::Malformed(
                        "$retainKeys must be a list of strings".into(),
                    ));
                }
            };
            let Value::Object(t) = target else {
                return Err(PatchError::Failed("target is not an object".into()));
            };
            for (k, v) in p {
                if let Some(field) = k.strip_prefix(DELETE_PRIMITIVE) {
                    let Value::Array(del) = v else {
                        return Err(PatchError::Malformed(format!("{k} must be a list")));
                    };
                    if let Some(Value::Array(list)) = t.get_mut(field) {
                        list.retain(|x| !del.contains(x));
                    }
                    continue;
                }
                if k.starts_with(SET_ORDER) || k.starts_with('$') {
                    continue;
                }
                if v.is_null() {
                    t.remove(k);
                    continue;
                }
                path.push(k.clone());
                let slot = t.entry(k.clone()).or_insert(Value::Null);
                let res = smp_value(slot, v, path);
                path.pop();
                res?;
                if t.get(k).is_some_and(Value::is_null) {
                    // `$patch: delete` on a map field removes the field.
                    t.remove(k);
                }
            }
            if let Some(keep) = retain {
                t.retain(|k, _| keep.contains(k));
            }
            Ok(())
        }
        Value::Array(items) => {
            smp_list(target, items, path)?;
            Ok(())
        }
        _ => {
            *target = patch.clone();
            Ok(())
        }
    }
}

fn smp_list(target: &mut Value, items: &[Value], path: &mut Vec<String>) -> Result<(), PatchError> {
    // `[{"$patch": "replace"}, ...]` replaces the list with the remaining elements.
    let replace_all = items
        .iter()
        .any(|i| directive(i, "$patch") == Some("replace"));
    let strategy = if replace_all {
        ListStrategy::Replace
    } else {
        list_strategy(path)
    };
    let clean: Vec<Value> = items
        .iter()
        .filter(|i| !(i.is_object() && directive(i, "$patch") == Some("replace")))
        .cloned()
        .collect();
    match strategy {
        ListStrategy::Replace => {
            let mut v = Value::Array(clean);
            strip_directives(&mut v);
            *target = v;
        }
        ListStrategy::Set => {
            if !target.is_array() {
                *target = Value::Array(Vec::new());
            }
            if let Value::Array(t) = target {
                for i in clean {
                    if !t.contains(&i) {
                        t.push(i);
                    }
                }
            }
        }
        ListStrategy::ByKey(key) => {
            if !target.is_array() {
                *target = Value::Array(Vec::new());
            }
            let Value::Array(t) = target else {
                return Ok(());
            };
            for item in clean {
                let Some(k) = item.get(key).cloned() else {
                    return Err(PatchError::Malformed(format!(
                        "map in list {} does not contain the merge key {key:?}",
                        path.join(".")
                    )));
                };
                let pos = t.iter().position(|e| e.get(key) == Some(&k));
                if directive(&item, "$patch") == Some("delete") {
                    t.retain(|e| e.get(key) != Some(&k));
                    continue;
                }
                match pos {
                    Some(i) => {
                        if let Some(slot) = t.get_mut(i) {
                            smp_value(slot, &item, path)?;
                        }
                    }
                    None => {
                        let mut v = item;
                        strip_directives(&mut v);
                        t.push(v);
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_rfc7386() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        merge_patch(
            &mut doc,
            &json!({"a": "z", "c": {"f": null}, "l": [3], "n": {"x": null, "y": 1}}),
        );
        assert_eq!(
            doc,
            json!({"a": "z", "c": {"d": "e"}, "l": [3], "n": {"y": 1}})
        );
    }

    #[test]
    fn json_patch_ops() {
        let mut doc = json!({"metadata": {"name": "x"}, "list": [1, 2, 3]});
        json_patch(
            &mut doc,
            &json!([
                {"op": "add", "path": "/metadata/labels", "value": {"a": "b"}},
                {"op": "add", "path": "/metadata/labels/c~1d", "value": "e"},
                {"op": "remove", "path": "/list/0"},
                {"op": "add", "path": "/list/-", "value": 4},
                {"op": "replace", "path": "/list/0", "value": 9},
                {"op": "copy", "from": "/metadata/name", "path": "/copied"},
                {"op": "move", "from": "/copied", "path": "/moved"},
                {"op": "test", "path": "/moved", "value": "x"},
            ]),
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"metadata": {"name": "x", "labels": {"a": "b", "c/d": "e"}}, "list": [9, 3, 4], "moved": "x"})
        );
    }

    #[test]
    fn json_patch_test_of_missing_path_compares_against_null() {
        let mut doc = json!({"metadata": {"name": "x"}});
        json_patch(
            &mut doc,
            &json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers", "value": ["f"]},
            ]),
        )
        .unwrap();
        assert_eq!(doc["metadata"]["finalizers"], json!(["f"]));
        // Now it exists, so the same test fails and nothing changes.
        let before = doc.clone();
        let err = json_patch(
            &mut doc,
            &json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers/-", "value": "g"},
            ]),
        )
        .unwrap_err();
        assert!(matches!(err, PatchError::Failed(_)));
        assert_eq!(doc, before);
    }

    #[test]
    fn json_patch_is_atomic_and_rejects_garbage() {
        let mut doc = json!({"a": 1});
        let err = json_patch(
            &mut doc,
            &json!([{"op": "add", "path": "/b", "value": 2}, {"op": "remove", "path": "/zzz"}]),
        )
        .unwrap_err();
        assert!(matches!(err, PatchError::Failed(_)));
        assert_eq!(doc, json!({"a": 1}));
        assert!(matches!(
            json_patch(&mut doc, &json!({"op": "add"})),
            Err(PatchError::Malformed(_))
        ));
        assert!(matches!(
            json_patch(&mut doc, &json!([{"op": "frob", "path": "/a"}])),
            Err(PatchError::Malformed(_))
        ));
        assert!(matches!(
            json_patch(&mut doc, &json!([{"op": "add", "path": "a", "value": 1}])),
            Err(PatchError::Malformed(_))
        ));
        assert!(
            json_patch(
                &mut doc,
                &json!([{"op": "replace", "path": "/nope", "value": 1}])
            )
            .is_err()
        );
        assert!(
            json_patch(
                &mut doc,
                &json!([{"op": "add", "path": "/a/b/c", "value": 1}])
            )
            .is_err()
        );
        let mut arr = json!({"l": [1]});
        assert!(
            json_patch(
                &mut arr,
                &json!([{"op": "add", "path": "/l/5", "value": 1}])
            )
            .is_err()
        );
        assert!(json_patch(&mut arr, &json!([{"op": "remove", "path": "/l/01"}])).is_err());
        assert!(
            json_patch(
                &mut arr,
                &json!([{"op": "move", "from": "/l", "path": "/l/0"}])
            )
            .is_err()
        );
    }

    #[test]
    fn smp_merges_conditions_and_addresses_by_type() {
        let mut node = json!({"status": {
            "conditions": [{"type": "Ready", "status": "False"}, {"type": "DiskPressure", "status": "False"}],
            "addresses": [{"type": "Hostname", "address": "n1"}],
        }});
        strategic_merge_patch(
            &mut node,
            &json!({"status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "ExternalIP", "address": "1.2.3.4"}, {"type": "Hostname", "$patch": "delete"}],
            }}),
        )
        .unwrap();
        assert_eq!(
            node["status"]["conditions"],
            json!([{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "False"}])
        );
        assert_eq!(
            node["status"]["addresses"],
            json!([{"type": "ExternalIP", "address": "1.2.3.4"}])
        );
    }

    #[test]
    fn smp_finalizers_are_a_set_and_taints_are_atomic() {
        let mut obj = json!({
            "metadata": {"finalizers": ["a"]},
            "spec": {"taints": [{"key": "k1", "effect": "NoSchedule"}, {"key": "k2", "effect": "NoSchedule"}]},
        });
        strategic_merge_patch(
            &mut obj,
            &json!({"metadata": {"finalizers": ["b", "a"]}, "spec": {"taints": [{"key": "k2", "effect": "NoSchedule"}]}}),
        )
        .unwrap();
        assert_eq!(obj["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(
            obj["spec"]["taints"],
            json!([{"key": "k2", "effect": "NoSchedule"}])
        );
        strategic_merge_patch(
            &mut obj,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "$setElementOrder/finalizers": ["b"]}}),
        )
        .unwrap();
        assert_eq!(obj["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn smp_directives_on_maps() {
        let mut obj = json!({"spec": {"a": 1, "b": {"x": 1}, "c": 3}, "data": {"k": "v"}});
        strategic_merge_patch(
            &mut obj,
            &json!({"spec": {"$retainKeys": ["a", "b"], "b": {"$patch": "replace", "y": 2}}, "data": {"$patch": "delete"}}),
        )
        .unwrap();
        assert_eq!(obj, json!({"spec": {"a": 1, "b": {"y": 2}}}));
        assert!(strategic_merge_patch(&mut obj, &json!({"spec": {"$patch": "explode"}})).is_err());
        assert!(
            strategic_merge_patch(
                &mut obj,
                &json!({"status": {"conditions": [{"status": "x"}]}})
            )
            .is_err()
        );
    }

    #[test]
    fn smp_list_replace_directive_and_owner_refs() {
        let mut obj = json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}]}, "status": {"conditions": [{"type": "A"}]}});
        strategic_merge_patch(
            &mut obj,
            &json!({"metadata": {"ownerReferences": [{"uid": "2", "name": "b"}]}, "status": {"conditions": [{"$patch": "replace"}, {"type": "B"}]}}),
        )
        .unwrap();
        assert_eq!(
            obj["metadata"]["ownerReferences"],
            json!([{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}])
        );
        assert_eq!(obj["status"]["conditions"], json!([{"type": "B"}]));
    }
}
