//! Protobuf request bodies (`application/vnd.kubernetes.protobuf`), as kubectl's generators
//! (`kubectl create deployment`, `kubectl create service ...`) send them: the magic `k8s\0`, then
//! a `runtime.Unknown` envelope (`typeMeta`, `raw`) whose `raw` is the object's message. The
//! object is decoded field by field with the table of [`crate::schema`] into the JSON the store
//! keeps, as the real server's decode and JSON encode would give it.
//!
//! Zero values: Go's protobuf encoding writes every non-pointer field, zero or not, and a
//! pointer field only when set; JSON drops zero non-pointer fields (`omitempty`). The table does
//! not say which fields are pointers, so zero scalars are dropped except for the pointer fields
//! in [`KEEP_ZERO`], whose zero is a choice (`replicas: 0`, `allocateLoadBalancerNodePorts: false`).

use serde_json::{Map, Value, json};

use crate::schema::{Base, Field, Schema, Shape, Special};

/// The four bytes before every protobuf-encoded Kubernetes object.
pub(crate) const MAGIC: &[u8; 4] = b"k8s\0";

/// Pointer fields of the served kinds whose zero value (`0`, `false`) means something.
const KEEP_ZERO: [&str; 25] = [
    "replicas",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "terminationGracePeriodSeconds",
    "deletionGracePeriodSeconds",
    "activeDeadlineSeconds",
    "defaultMode",
    "mode",
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "leaseDurationSeconds",
    "leaseTransitions",
    "allocateLoadBalancerNodePorts",
    "automountServiceAccountToken",
    "enableServiceLinks",
    "hostUsers",
    "immutable",
    "setHostnameAsFQDN",
    "shareProcessNamespace",
    "readOnlyRootFilesystem",
    "runAsNonRoot",
    "privileged",
    "allowPrivilegeEscalation",
    "optional",
];

/// A protobuf body that could not be decoded (a 400 for the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(pub(crate) String);

fn err<T>(m: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError(m.into()))
}

/// One field as read off the wire.
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for i in 0..10 {
            let Some((&b, rest)) = self.buf.split_first() else {
                return err("truncated varint");
            };
            self.buf = rest;
            v |= u64::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        err("varint too long")
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return err("truncated field");
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn next(&mut self) -> Result<Option<(u32, Wire<'a>)>, DecodeError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let tag =
            u32::try_from(key >> 3).map_err(|_| DecodeError("field number too large".into()))?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => {
                let b = self.take(8)?;
                Wire::Fixed64(u64::from_le_bytes(b.try_into().unwrap_or_default()))
            }
            2 => {
                let n = usize::try_from(self.varint()?)
                    .map_err(|_| DecodeError("length too large".into()))?;
                Wire::Bytes(self.take(n)?)
            }
            5 => {
                let b = self.take(4)?;
                Wire::Fixed32(u32::from_le_bytes(b.try_into().unwrap_or_default()))
            }
            other => return err(format!("unsupported wire type {other}")),
        };
        Ok(Some((tag, wire)))
    }
}

fn fields_of(buf: &[u8]) -> Result<Vec<(u32, Wire<'_>)>, DecodeError> {
    let mut r = Reader { buf };
    let mut out = Vec::new();
    while let Some(f) = r.next()? {
        out.push(f);
    }
    Ok(out)
}

/// `runtime.Unknown` after the magic: (apiVersion, kind, raw object message).
pub(crate) fn envelope(body: &[u8]) -> Result<(String, String, &[u8]), DecodeError> {
    let Some(rest) = body.strip_prefix(MAGIC) else {
        return err("provided object is not a Kubernetes protobuf message (no k8s\\0 prefix)");
    };
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (tag, wire) in fields_of(rest)? {
        match (tag, wire) {
            (1, Wire::Bytes(tm)) => {
                for (t, w) in fields_of(tm)? {
                    match (t, w) {
                        (1, Wire::Bytes(b)) => api_version = utf8(b)?,
                        (2, Wire::Bytes(b)) => kind = utf8(b)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(b)) => raw = b,
            (4, Wire::Bytes(b)) if !b.is_empty() && b != b"application/vnd.kubernetes.protobuf" => {
                return err(format!(
                    "unsupported inner content type {:?}",
                    String::from_utf8_lossy(b)
                ));
            }
            _ => {}
        }
    }
    Ok((api_version, kind, raw))
}

fn utf8(b: &[u8]) -> Result<String, DecodeError> {
    String::from_utf8(b.to_vec()).map_err(|_| DecodeError("a string is not valid UTF-8".into()))
}

/// Decodes `raw` as the table's `message` into JSON (without `apiVersion`/`kind`).
pub(crate) fn to_json(schema: &Schema, message: &str, raw: &[u8]) -> Result<Value, DecodeError> {
    let Some(fields) = schema.fields(message) else {
        return err(format!("no protobuf decoding for {message}"));
    };
    let mut out = Map::new();
    for (tag, wire) in fields_of(raw)? {
        // Unknown field numbers are skipped, as Go's generated unmarshalers skip them.
        let Some(field) = fields.iter().find(|f| f.tag == tag) else {
            continue;
        };
        read_field(schema, field, wire, &mut out)?;
    }
    Ok(Value::Object(out))
}

fn read_field(
    schema: &Schema,
    field: &Field,
    wire: Wire<'_>,
    out: &mut Map<String, Value>,
) -> Result<(), DecodeError> {
    let Some(name) = field.json.as_deref() else {
        // An embedded Go struct: its fields sit in the parent's JSON object.
        if let (Base::Message(inner), Wire::Bytes(b)) = (&field.base, wire)
            && let Value::Object(m) = to_json(schema, inner, b)?
        {
            out.extend(m);
        }
        return Ok(());
    };
    match field.shape {
        Shape::One => {
            let v = value(schema, &field.base, wire)?;
            if let Some(v) = v.filter(|v| keep(name, v)) {
                out.insert(name.to_owned(), v);
            }
        }
        Shape::List => {
            let items = match (&field.base, wire) {
                // Packed scalars: one length-delimited run of varints.
                (Base::Int32 | Base::Int64 | Base::Bool, Wire::Bytes(b)) => {
                    let mut r = Reader { buf: b };
                    let mut v = Vec::new();
                    while !r.buf.is_empty() {
                        v.extend(value(schema, &field.base, Wire::Varint(r.varint()?))?);
                    }
                    v
                }
                (base, w) => value(schema, base, w)?.into_iter().collect(),
            };
            let list = out.entry(name).or_insert_with(|| json!([]));
            if let Value::Array(a) = list {
                a.extend(items);
            }
        }
        Shape::Map => {
            let Wire::Bytes(entry) = wire else {
                return err(format!("{name}: a map entry is not length-delimited"));
            };
            let (mut key, mut val) = (String::new(), None);
            for (t, w) in fields_of(entry)? {
                match (t, w) {
                    (1, Wire::Bytes(b)) => key = utf8(b)?,
                    (2, w) => val = value(schema, &field.base, w)?,
                    _ => {}
                }
            }
            let val = val.unwrap_or_else(|| zero(&field.base));
            let map = out.entry(name).or_insert_with(|| json!({}));
            if let Value::Object(m) = map {
                m.insert(key, val);
            }
        }
    }
    Ok(())
}

/// A map value that was not on the wire is the type's zero value.
fn zero(base: &Base) -> Value {
    match base {
        Base::String | Base::Bytes | Base::Special(Special::Quantity) => json!(""),
        Base::Int32 | Base::Int64 | Base::Double | Base::Float => json!(0),
        Base::Bool => json!(false),
        _ => json!({}),
    }
}

fn keep(name: &str, v: &Value) -> bool {
    let is_zero = match v {
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Bool(b) => !b,
        Value::Null => true,
        _ => false,
    };
    !is_zero || (KEEP_ZERO.contains(&name) && !matches!(v, Value::String(_) | Value::Null))
}

fn value(schema: &Schema, base: &Base, wire: Wire<'_>) -> Result<Option<Value>, DecodeError> {
    Ok(Some(match (base, wire) {
        (Base::String, Wire::Bytes(b)) => json!(utf8(b)?),
        (Base::Bytes, Wire::Bytes(b)) => json!(base64(b)),
        // int32 is sign-extended to 64 bits on the wire.
        (Base::Int32, Wire::Varint(v)) => json!(v as i64 as i32),
        (Base::Int64, Wire::Varint(v)) => json!(v as i64),
        (Base::Bool, Wire::Varint(v)) => json!(v != 0),
        (Base::Double, Wire::Fixed64(v)) => json!(f64::from_bits(v)),
        (Base::Float, Wire::Fixed32(v)) => json!(f32::from_bits(v)),
        (Base::Message(m), Wire::Bytes(b)) => to_json(schema, m, b)?,
        (Base::Special(s), Wire::Bytes(b)) => return special(*s, b),
        (base, _) => return err(format!("a {base:?} field has the wrong wire type")),
    }))
}

/// The JSON of a special message; `None` for a zero time (Go writes `null`, dropped here).
fn special(s: Special, b: &[u8]) -> Result<Option<Value>, DecodeError> {
    let mut ints = [0i64; 4];
    let mut strs: [String; 4] = Default::default();
    let mut raw: Vec<u8> = Vec::new();
    for (t, w) in fields_of(b)? {
        let i = t as usize;
        match w {
            Wire::Varint(v) if i < 4 => ints[i] = v as i64,
            Wire::Bytes(v) if i < 4 => {
                raw = v.to_vec();
                strs[i] = String::from_utf8_lossy(v).into_owned();
            }
            _ => {}
        }
    }
    Ok(match s {
        Special::Time | Special::MicroTime if ints[1] == 0 && ints[2] == 0 => None,
        Special::Time => Some(json!(crate::meta::rfc3339(ints[1].max(0) as u64))),
        Special::MicroTime => {
            let base = crate::meta::rfc3339(ints[1].max(0) as u64);
            let micros = (ints[2] / 1000).clamp(0, 999_999);
            Some(json!(format!(
                "{}.{micros:06}Z",
                base.trim_end_matches('Z')
            )))
        }
        Special::Duration => Some(json!(go_duration(ints[1]))),
        Special::IntOrString if ints[1] == 1 => Some(json!(strs[3])),
        Special::IntOrString => Some(json!(ints[2] as i32)),
        Special::Quantity => Some(json!(strs[1])),
        Special::RawExtension | Special::FieldsV1 => {
            Some(serde_json::from_slice(&raw).unwrap_or_else(|_| json!(base64(&raw))))
        }
    })
}

/// A Go `time.Duration` string (`1h2m3s`, `500ms`, `0s`) for nanoseconds.
fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    if nanos.abs() < 1_000_000_000 && nanos % 1_000_000 == 0 {
        return format!("{}ms", nanos / 1_000_000);
    }
    let secs = nanos / 1_000_000_000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// Standard base64 with padding, as Go's `[]byte` JSON encoding.
pub(crate) fn base64(b: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &c)| n | (u32::from(c) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::schema;

    /// `kubectl create service loadbalancer web --tcp=80:8080` (kubectl v1.32.4), byte for byte.
    const KUBECTL_SERVICE: &str = "6b 38 73 00 0a 0d 0a 02 76 31 12 07 53 65 72 76 69 63 65 12 6c 0a 1f 0a 03 77 65 62 12 00 1a 00 22 00 2a 00 32 00 38 00 42 00 5a 0a 0a 03 61 70 70 12 03 77 65 62 12 45 0a 1b 0a 07 38 30 2d 38 30 38 30 12 03 54 43 50 18 50 22 07 08 00 10 90 3f 1a 00 28 00 12 0a 0a 03 61 70 70 12 03 77 65 62 1a 00 22 0c 4c 6f 61 64 42 61 6c 61 6e 63 65 72 3a 00 42 00 52 00 5a 00 60 00 68 00 1a 02 0a 00 1a 00 22 00";

    fn unhex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|h| u8::from_str_radix(h, 16).unwrap())
            .collect()
    }

    #[test]
    fn decodes_what_kubectl_sends_for_a_service() {
        let body = unhex(KUBECTL_SERVICE);
        let (api_version, kind, raw) = envelope(&body).unwrap();
        assert_eq!((api_version.as_str(), kind.as_str()), ("v1", "Service"));
        let v = to_json(schema(), "io.k8s.api.core.v1.Service", raw).unwrap();
        assert_eq!(
            v,
            json!({
                "metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {
                    "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                    "selector": {"app": "web"},
                    "type": "LoadBalancer",
                },
                "status": {"loadBalancer": {}},
            })
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(envelope(b"{}").is_err());
        assert!(envelope(b"k8s\0\x0a\xff").is_err());
        assert!(to_json(schema(), "io.k8s.api.core.v1.Service", b"\x0a\x05ab").is_err());
    }

    #[test]
    fn base64_and_durations_match_go() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(500_000_000), "500ms");
    }
}
