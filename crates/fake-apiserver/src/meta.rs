//! Object metadata the server owns or checks: timestamps, UIDs, generated names, validation and
//! the normalisation that makes JSON objects compare the way Go's omitempty round-trip would.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::errors::Cause;

/// RFC 3339 UTC timestamp with second precision, as `metav1.Time` serialises.
pub(crate) fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Formats seconds since the epoch (days-to-civil algorithm by Howard Hinnant).
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Small deterministic generator (splitmix64) for UIDs and generated names; seeded from the
/// clock so two servers in one test process do not hand out the same UIDs.
#[derive(Debug)]
pub(crate) struct Ids {
    state: u64,
}

impl Ids {
    pub(crate) fn new() -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5eed);
        Self { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A version-4-shaped UUID string.
    pub(crate) fn uid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0x0FFF,
            b >> 48,
            b & 0xFFFF_FFFF_FFFF
        )
    }

    /// The 5-character suffix `generateName` gets, from the same alphabet the real server uses.
    pub(crate) fn name_suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut n = self.next();
        (0..5)
            .map(|_| {
                let c = ALPHABET[(n % ALPHABET.len() as u64) as usize];
                n /= ALPHABET.len() as u64;
                c as char
            })
            .collect()
    }
}

/// Metadata fields that Go omits when empty; dropping them keeps "no change" detectable and
/// makes `test /metadata/finalizers == null` true once the last finalizer is gone.
const OMIT_EMPTY_META: [&str; 5] = [
    "labels",
    "annotations",
    "finalizers",
    "ownerReferences",
    "managedFields",
];

/// Drops `null` members recursively and empty metadata collections, like a decode/encode
/// round-trip through the Go types would.
pub(crate) fn normalize(obj: &mut Value) {
    drop_nulls(obj);
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        for k in OMIT_EMPTY_META {
            let empty = match meta.get(k) {
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Object(o)) => o.is_empty(),
                Some(Value::String(s)) => s.is_empty(),
                _ => false,
            };
            if empty {
                meta.remove(k);
            }
        }
        meta.remove("selfLink");
        for k in ["generateName", "namespace", "resourceVersion", "uid"] {
            if meta.get(k).and_then(Value::as_str) == Some("") {
                meta.remove(k);
            }
        }
    }
}

fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.retain(|_, v| !v.is_null());
            o.values_mut().for_each(drop_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// The object's `metadata`, which callers have already checked is an object.
pub(crate) fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// A string field of `metadata`, or `""`.
pub(crate) fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    meta(obj)
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Mutable `metadata`, created if missing.
pub(crate) fn meta_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let o = obj.as_object_mut()?;
    let m = o
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    m.as_object_mut()
}

/// The finalizers, as strings.
pub(crate) fn finalizers(obj: &Value) -> Vec<String> {
    meta(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// DNS-1123 subdomain, which is what most resource names must be.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Type checks the server would otherwise fail while decoding into Go structs. Returns the
/// message for a 400 `BadRequest`.
pub(crate) fn check_shape(obj: &Value) -> Result<(), String> {
    let Some(o) = obj.as_object() else {
        return Err("the request body must be a JSON object".into());
    };
    for k in ["apiVersion", "kind"] {
        match o.get(k) {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(_) => return Err(format!("{k} must be a string")),
        }
    }
    let Some(meta) = o.get("metadata") else {
        return Ok(());
    };
    let Some(meta) = meta.as_object() else {
        return Err("metadata must be an object".into());
    };
    for k in ["labels", "annotations"] {
        match meta.get(k) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) if m.values().all(Value::is_string) => {}
            Some(_) => return Err(format!("metadata.{k} must be a map of string to string")),
        }
    }
    match meta.get("finalizers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
        Some(_) => return Err("metadata.finalizers must be a list of strings".into()),
    }
    for k in [
        "name",
        "generateName",
        "namespace",
        "resourceVersion",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
    ] {
        match meta.get(k) {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(_) => return Err(format!("metadata.{k} must be a string")),
        }
    }
    Ok(())
}

/// Field-level validation that yields 422 `Invalid` causes.
pub(crate) fn validate(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = meta_str(obj, "name");
    if !valid_name(name) {
        causes.push(Cause {
            reason: "FieldValueInvalid",
            field: "metadata.name".into(),
            message: format!(
                "Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            ),
        });
    }
    if let Some(Value::Object(labels)) = meta(obj).and_then(|m| m.get("labels")) {
        for (k, v) in labels {
            let selector = format!("{k}={}", v.as_str().unwrap_or_default());
            if crate::selectors::LabelSelector::parse(&selector).is_err() {
                causes.push(Cause {
                    reason: "FieldValueInvalid",
                    field: format!("metadata.labels.{k}"),
                    message: format!("Invalid value: {selector:?}: not a valid label"),
                });
            }
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn uids_and_suffixes_look_real() {
        let mut ids = Ids::new();
        let a = ids.uid();
        let b = ids.uid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        let s = ids.name_suffix();
        assert_eq!(s.len(), 5);
        assert!(valid_name(&format!("x-{s}")));
    }

    #[test]
    fn normalize_drops_empty_metadata() {
        let mut o = json!({"metadata": {"finalizers": [], "labels": {}, "name": "a", "x": null}, "status": null, "spec": {"a": [null]}});
        normalize(&mut o);
        assert_eq!(o, json!({"metadata": {"name": "a"}, "spec": {"a": [null]}}));
    }

    #[test]
    fn shape_and_validation() {
        assert!(check_shape(&json!([])).is_err());
        assert!(check_shape(&json!({"metadata": 1})).is_err());
        assert!(check_shape(&json!({"metadata": {"labels": {"a": 1}}})).is_err());
        assert!(check_shape(&json!({"metadata": {"finalizers": "x"}})).is_err());
        assert!(check_shape(&json!({"metadata": {"name": 5}})).is_err());
        assert!(check_shape(&json!({"kind": 5})).is_err());
        assert!(check_shape(&json!({"metadata": {"name": "a", "labels": {"a": "b"}}})).is_ok());
        assert!(validate(&json!({"metadata": {"name": "Bad_Name"}})).len() == 1);
        assert!(
            validate(&json!({"metadata": {"name": "ok", "labels": {"a": "no spaces"}}})).len() == 1
        );
        assert!(validate(&json!({"metadata": {"name": "ok.name-1"}})).is_empty());
    }
}
