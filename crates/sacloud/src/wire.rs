//! Encodings the SAKURA Cloud API uses on the wire that plain serde does not cover.
//!
//! The API is inconsistent in ways clients must tolerate: IDs arrive as numbers or strings
//! (depending on `X-Sakura-Bigint-As-Int` and on the field), numbers inside appliance `Settings`
//! are strings (`"80"`), flags are the strings `"True"`/`"False"`, and absent values are sometimes
//! `null`, sometimes `""`, sometimes missing. Each helper here accepts every form seen and writes
//! the one form the API expects.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A resource ID: a 12-digit number. Read from JSON numbers or strings; written as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Id(pub u64);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Id {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(Id)
    }
}

impl From<u64> for Id {
    fn from(v: u64) -> Self {
        Id(v)
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

struct U64Visitor;

impl Visitor<'_> for U64Visitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer as a JSON number or string")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom(format!("negative number {v}")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        if v.fract() == 0.0 && v >= 0.0 && v < u64::MAX as f64 {
            Ok(v as u64)
        } else {
            Err(E::custom(format!("not an integer: {v}")))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        v.trim()
            .parse()
            .map_err(|_| E::custom(format!("not an integer: {v:?}")))
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(U64Visitor).map(Id)
    }
}

/// Writes an [`Id`] as a JSON string, for the fields the API keeps as strings even with
/// `X-Sakura-Bigint-As-Int: 1` (such as `Remark.Switch.ID`). Reads either form.
pub mod id_as_string {
    use super::*;

    /// Serializes as `"123456789012"`.
    pub fn serialize<S: Serializer>(id: &Id, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&id.0.to_string())
    }

    /// Accepts a number or a string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        Id::deserialize(d)
    }
}

/// A number the API sends and expects as a string, e.g. `"Port": "80"`.
///
/// Reads numbers and strings; writes a string. An empty string reads as zero, which is how the
/// API reports an unset value in some settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct StringNumber(pub u64);

impl fmt::Display for StringNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for StringNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

struct StringNumberVisitor;

impl Visitor<'_> for StringNumberVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or a string holding a number")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        U64Visitor.visit_i64(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        U64Visitor.visit_f64(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        if v.trim().is_empty() {
            return Ok(0);
        }
        U64Visitor.visit_str(v)
    }
}

impl<'de> Deserialize<'de> for StringNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringNumberVisitor).map(StringNumber)
    }
}

impl StringNumber {
    /// Reads a number from a JSON value in any of the forms the API uses.
    pub(crate) fn deserialize_value(v: &serde_json::Value) -> Result<u64, String> {
        StringNumber::deserialize(v)
            .map(|n| n.0)
            .map_err(|e| e.to_string())
    }
}

impl From<u64> for StringNumber {
    fn from(v: u64) -> Self {
        StringNumber(v)
    }
}

impl From<u16> for StringNumber {
    fn from(v: u16) -> Self {
        StringNumber(u64::from(v))
    }
}

/// A boolean the API sends and expects as the string `"True"` or `"False"`.
///
/// Reads `"True"`/`"False"` in any case and JSON booleans; writes `"True"`/`"False"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StringFlag(pub bool);

impl Serialize for StringFlag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0 { "True" } else { "False" })
    }
}

struct StringFlagVisitor;

impl Visitor<'_> for StringFlagVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"True\", \"False\" or a boolean")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match v.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" | "" => Ok(false),
            _ => Err(E::custom(format!("not a flag: {v:?}"))),
        }
    }
}

impl<'de> Deserialize<'de> for StringFlag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringFlagVisitor).map(StringFlag)
    }
}

impl From<bool> for StringFlag {
    fn from(v: bool) -> Self {
        StringFlag(v)
    }
}

/// Reads the forms a lenient number field arrives in: a number, a string holding one, `""` or
/// `null` (both zero).
struct LenientU64Visitor;

impl Visitor<'_> for LenientU64Visitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, a string holding a number, or null")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        U64Visitor.visit_i64(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        U64Visitor.visit_f64(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        StringNumberVisitor.visit_str(v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
        Ok(0)
    }

    fn visit_none<E: de::Error>(self) -> Result<u64, E> {
        Ok(0)
    }
}

fn narrow<T: TryFrom<u64>, E: de::Error>(v: u64) -> Result<T, E> {
    T::try_from(v).map_err(|_| E::custom(format!("{v} is out of range")))
}

/// An unsigned integer written as a JSON number and read from a number or a string (`80` or
/// `"80"`; `""` and `null` read as zero). The Enhanced Load Balancer's settings use numbers,
/// where appliance settings use strings ([`StringNumber`]); older clients send strings anyway.
pub mod number_or_string {
    use super::*;

    /// Serializes as a JSON number.
    pub fn serialize<T, S>(n: &T, s: S) -> Result<S::Ok, S::Error>
    where
        T: Copy + Into<u64>,
        S: Serializer,
    {
        s.serialize_u64((*n).into())
    }

    /// Accepts a number, a string holding one, `""` or `null`; refuses values out of `T`'s range.
    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: TryFrom<u64>,
        D: Deserializer<'de>,
    {
        narrow(d.deserialize_any(LenientU64Visitor)?)
    }
}

/// [`number_or_string`] for optional fields: `null`, `""` and absence read as `None`, and
/// `None` is written as `null` (the API's "not set", e.g. `SorryServer.Port`).
pub mod opt_number_or_string {
    use super::*;

    /// Serializes as a JSON number or `null`.
    pub fn serialize<T, S>(n: &Option<T>, s: S) -> Result<S::Ok, S::Error>
    where
        T: Copy + Into<u64>,
        S: Serializer,
    {
        match n {
            Some(n) => s.serialize_u64((*n).into()),
            None => s.serialize_none(),
        }
    }

    /// Accepts a number, a string holding one, `""` or `null`.
    pub fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
    where
        T: TryFrom<u64>,
        D: Deserializer<'de>,
    {
        match Option::<serde_json::Value>::deserialize(d)? {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(v) => v
                .deserialize_any(LenientU64Visitor)
                .map_err(de::Error::custom)
                .and_then(narrow)
                .map(Some),
        }
    }
}

/// A boolean written as a JSON boolean and read from a boolean, `"true"`/`"false"` in any case,
/// `""` or `null` (both false).
pub mod lenient_bool {
    use super::*;

    /// Serializes as a JSON boolean.
    pub fn serialize<S: Serializer>(b: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(*b)
    }

    /// Accepts a boolean, a flag string, `""` or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match Option::<serde_json::Value>::deserialize(d)? {
            None | Some(serde_json::Value::Null) => Ok(false),
            Some(v) => v
                .deserialize_any(StringFlagVisitor)
                .map_err(de::Error::custom),
        }
    }
}

/// `Option<Ipv4Addr>` read leniently: `null`, `""` and a value that is not an IPv4 address all
/// read as `None`, so one odd field does not make a whole listing unreadable. Writes the dotted
/// string, or `null`.
pub mod lenient_ipv4 {
    use super::*;

    /// Serializes as `"192.0.2.1"` or `null`.
    pub fn serialize<S: Serializer>(ip: &Option<Ipv4Addr>, s: S) -> Result<S::Ok, S::Error> {
        match ip {
            Some(ip) => s.collect_str(ip),
            None => s.serialize_none(),
        }
    }

    /// Accepts a string, `null` or nothing.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Ipv4Addr>, D::Error> {
        let raw: Option<serde_json::Value> = Option::deserialize(d)?;
        Ok(match raw {
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        })
    }
}

/// Reads `null` as the type's default (an empty list, an empty string), because the API sends
/// `null` where clients expect an empty value.
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// [`null_as_default`] for a list kept in a long-lived listing: JSON gives no length ahead, so
/// a decoded `Vec` grows by doubling (40 real servers take room for 64); the spare room is
/// given back.
pub fn null_as_empty_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let mut list = Option::<Vec<T>>::deserialize(d)?.unwrap_or_default();
    list.shrink_to_fit();
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Holder {
        #[serde(rename = "ID")]
        id: Id,
        #[serde(rename = "SwitchID", with = "id_as_string")]
        switch_id: Id,
        #[serde(rename = "Port")]
        port: StringNumber,
        #[serde(rename = "Enabled")]
        enabled: StringFlag,
        #[serde(rename = "IP", with = "lenient_ipv4", default)]
        ip: Option<Ipv4Addr>,
        #[serde(rename = "Tags", default, deserialize_with = "null_as_default")]
        tags: Vec<String>,
    }

    #[test]
    fn reads_every_form_the_api_sends() {
        let a: Holder = serde_json::from_value(json!({
            "ID": 123456789012u64, "SwitchID": "112800442260", "Port": "80",
            "Enabled": "True", "IP": "192.168.0.1", "Tags": null
        }))
        .unwrap();
        let b: Holder = serde_json::from_value(json!({
            "ID": "123456789012", "SwitchID": 112800442260u64, "Port": 80,
            "Enabled": true, "IP": "", "Tags": ["x"]
        }))
        .unwrap();
        assert_eq!(a.id, Id(123456789012));
        assert_eq!(a.id, b.id);
        assert_eq!(a.switch_id, b.switch_id);
        assert_eq!(a.port, StringNumber(80));
        assert_eq!(b.port, StringNumber(80));
        assert!(a.enabled.0 && b.enabled.0);
        assert_eq!(a.ip, Some(Ipv4Addr::new(192, 168, 0, 1)));
        assert_eq!(b.ip, None);
        assert!(a.tags.is_empty());
        let c: Holder = serde_json::from_value(json!({
            "ID": 1, "SwitchID": "2", "Port": "", "Enabled": "False", "IP": "not-an-ip"
        }))
        .unwrap();
        assert_eq!(c.port, StringNumber(0));
        assert!(!c.enabled.0);
        assert_eq!(c.ip, None);
    }

    #[test]
    fn writes_the_forms_the_api_expects() {
        let h = Holder {
            id: Id(123456789012),
            switch_id: Id(112800442260),
            port: StringNumber(443),
            enabled: StringFlag(false),
            ip: Some(Ipv4Addr::new(203, 0, 113, 5)),
            tags: vec![],
        };
        assert_eq!(
            serde_json::to_value(&h).unwrap(),
            json!({"ID": 123456789012u64, "SwitchID": "112800442260", "Port": "443",
                   "Enabled": "False", "IP": "203.0.113.5", "Tags": []})
        );
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Lenient {
        #[serde(rename = "Port", with = "number_or_string", default)]
        port: u16,
        #[serde(rename = "Sorry", with = "opt_number_or_string", default)]
        sorry: Option<u16>,
        #[serde(rename = "On", with = "lenient_bool", default)]
        on: bool,
    }

    #[test]
    fn lenient_numbers_and_bools_read_every_form_and_write_json_types() {
        for (input, port, sorry, on) in [
            (
                json!({"Port": 80, "Sorry": 8080, "On": true}),
                80,
                Some(8080),
                true,
            ),
            (
                json!({"Port": "80", "Sorry": "8080", "On": "True"}),
                80,
                Some(8080),
                true,
            ),
            (json!({"Port": "", "Sorry": "", "On": ""}), 0, None, false),
            (
                json!({"Port": null, "Sorry": null, "On": null}),
                0,
                None,
                false,
            ),
            (json!({}), 0, None, false),
        ] {
            let l: Lenient = serde_json::from_value(input.clone()).unwrap();
            assert_eq!((l.port, l.sorry, l.on), (port, sorry, on), "{input}");
        }
        let l = Lenient {
            port: 443,
            sorry: None,
            on: true,
        };
        assert_eq!(
            serde_json::to_value(&l).unwrap(),
            json!({"Port": 443, "Sorry": null, "On": true})
        );
        assert!(serde_json::from_value::<Lenient>(json!({"Port": 70000})).is_err());
        assert!(serde_json::from_value::<Lenient>(json!({"Sorry": "x"})).is_err());
        assert!(serde_json::from_value::<Lenient>(json!({"On": "maybe"})).is_err());
    }

    #[test]
    fn rejects_garbage_numbers() {
        assert!(serde_json::from_value::<Id>(json!("abc")).is_err());
        assert!(serde_json::from_value::<Id>(json!(-1)).is_err());
        assert!(serde_json::from_value::<StringNumber>(json!("8o")).is_err());
        assert!(serde_json::from_value::<StringFlag>(json!("yes")).is_err());
    }
}
