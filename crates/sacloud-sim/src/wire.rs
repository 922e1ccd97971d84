//! Wire-format primitives shared by every resource: ID style, string numbers, flags, envelopes.
//!
//! Written from the reference (§2.2–2.4) only; `crates/sacloud` implements the same format
//! independently so a shape mistake on either side shows up in the integration tests.

use serde_json::{Map, Value, json};
use std::net::Ipv4Addr;

/// How IDs are rendered: `X-Sakura-Bigint-As-Int: 1` asks for JSON numbers, otherwise strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdStyle {
    /// Emit IDs as JSON numbers.
    pub as_int: bool,
}

impl IdStyle {
    /// Render one ID.
    pub fn id(&self, id: u64) -> Value {
        if self.as_int {
            json!(id)
        } else {
            json!(id.to_string())
        }
    }
}

/// Read an ID given as a JSON number or a decimal string (clients send both).
pub fn parse_id(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Read a "string number" (`"80"` or `80`) as an integer.
pub fn parse_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Read a `StringFlag` (`"True"`/`"False"`, also JSON booleans).
pub fn parse_flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The wire spelling of a flag.
pub fn flag(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// An optional IPv4 address (`null` or `""` mean none).
pub fn parse_opt_ip(v: Option<&Value>) -> Result<Option<Ipv4Addr>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{s:?} is not an IPv4 address")),
        Some(other) => Err(format!("{other} is not an IPv4 address")),
    }
}

/// Render an optional address as the API does (`null` when absent).
pub fn opt_ip(ip: Option<Ipv4Addr>) -> Value {
    ip.map_or(Value::Null, |ip| json!(ip.to_string()))
}

/// Read a list of tags; anything but an array of strings is refused.
pub fn parse_tags(v: Option<&Value>) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| {
                t.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("tag {t} is not a string"))
            })
            .collect(),
        Some(other) => Err(format!("Tags must be an array of strings, got {other}")),
    }
}

/// `{"<key>": obj, "is_ok": true}` with optional `Success`.
pub fn single(key: &str, obj: Value, success: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert(key.to_owned(), obj);
    if let Some(s) = success {
        m.insert("Success".to_owned(), s);
    }
    m.insert("is_ok".to_owned(), json!(true));
    Value::Object(m)
}

/// `{"Success": true, "is_ok": true}`, the answer to power and config calls.
pub fn success() -> Value {
    json!({"Success": true, "is_ok": true})
}

/// Find envelope: `{"Total","From","Count","<key>":[…],"is_ok":true}`.
pub fn find(key: &str, total: usize, from: usize, items: Vec<Value>) -> Value {
    let mut m = Map::new();
    m.insert("Total".to_owned(), json!(total));
    m.insert("From".to_owned(), json!(from));
    m.insert("Count".to_owned(), json!(items.len()));
    m.insert(key.to_owned(), Value::Array(items));
    m.insert("is_ok".to_owned(), json!(true));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_bigint_header() {
        assert_eq!(
            IdStyle { as_int: true }.id(123_456_789_012),
            json!(123_456_789_012u64)
        );
        assert_eq!(
            IdStyle { as_int: false }.id(123_456_789_012),
            json!("123456789012")
        );
    }

    #[test]
    fn parses_lenient_inputs() {
        assert_eq!(parse_id(&json!("123")), Some(123));
        assert_eq!(parse_id(&json!(123)), Some(123));
        assert_eq!(parse_id(&json!(-1)), None);
        assert_eq!(parse_int(&json!("80")), Some(80));
        assert_eq!(parse_flag(&json!("True")), Some(true));
        assert_eq!(parse_flag(&json!("yes")), None);
        assert_eq!(parse_opt_ip(Some(&json!(""))), Ok(None));
        assert!(parse_opt_ip(Some(&json!("1.2.3"))).is_err());
        assert!(parse_tags(Some(&json!(["a", 1]))).is_err());
    }

    #[test]
    fn envelopes() {
        let f = find("Internet", 3, 1, vec![json!({}), json!({})]);
        assert_eq!(
            (f["Total"].clone(), f["From"].clone(), f["Count"].clone()),
            (json!(3), json!(1), json!(2))
        );
        assert!(f["Internet"].is_array());
        assert_eq!(single("Server", json!({}), None)["is_ok"], true);
    }
}
