//! Find requests: the filter builder and the query-string encoding.
//!
//! A find (list) request is a JSON object sent as the raw query string of a GET:
//! `GET …/server?{"Count":100,"From":0,"Filter":{"Tags.Name":[["@k8s"]]}}`, percent-encoded.
//! The API does not decode `+` as a space, so everything but unreserved characters is
//! percent-encoded (`%20` for spaces).

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::{Value, json};

use crate::wire::Id;

/// Characters left as they are in the query: RFC 3986 unreserved ones.
const QUERY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Conditions on a find request. All conditions must hold (they are ANDed).
///
/// ```
/// use sacloud::Filter;
/// // Routers tagged both `@k8s` and `prod`:
/// let f = Filter::new().tags_all(["@k8s", "prod"]);
/// assert_eq!(f.to_json().to_string(), r#"{"Tags.Name":[["@k8s","prod"]]}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    entries: BTreeMap<String, Value>,
}

impl Filter {
    /// A filter that matches everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Name contains every space-separated word of `words` (partial match).
    pub fn name(self, words: &str) -> Self {
        self.raw("Name", json!(words))
    }

    /// Exact ID.
    pub fn id(self, id: Id) -> Self {
        self.raw("ID", json!(id.0))
    }

    /// The resource has this tag.
    pub fn tag(self, tag: &str) -> Self {
        self.raw("Tags.Name", json!(tag))
    }

    /// The resource has every one of these tags (`[["a","b"]]` on the wire).
    pub fn tags_all<I, S>(self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tags: Vec<String> = tags.into_iter().map(Into::into).collect();
        self.raw("Tags.Name", json!([tags]))
    }

    /// The resource has at least one of these tags (`["a","b"]` on the wire).
    pub fn tags_any<I, S>(self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tags: Vec<String> = tags.into_iter().map(Into::into).collect();
        self.raw("Tags.Name", json!(tags))
    }

    /// Exact appliance class, e.g. `loadbalancer`.
    pub fn class(self, class: &str) -> Self {
        self.raw("Class", json!(class))
    }

    /// Exact provider class of a common service item, e.g. `proxylb` (the Enhanced Load
    /// Balancer's finds add it themselves).
    pub fn provider_class(self, class: &str) -> Self {
        self.raw("Provider.Class", json!(class))
    }

    /// Exact switch scope: `user` or `shared`.
    pub fn scope(self, scope: &str) -> Self {
        self.raw("Scope", json!(scope))
    }

    /// Any other condition, as the API spells it (`"CreatedAt>"`, `"Zone.Name"`, ...). A later
    /// condition on the same key replaces an earlier one.
    pub fn raw(mut self, key: &str, value: Value) -> Self {
        self.entries.insert(key.to_owned(), value);
        self
    }

    /// Whether the filter has no condition.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The filter as the JSON object the API expects.
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.entries
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }
}

/// One page of a find request.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct FindRequest<'a> {
    #[serde(rename = "Count")]
    pub count: u32,
    #[serde(rename = "From")]
    pub from: u64,
    #[serde(rename = "Filter", skip_serializing_if = "filter_is_empty")]
    pub filter: &'a Filter,
}

fn filter_is_empty(f: &&Filter) -> bool {
    f.is_empty()
}

impl Serialize for Filter {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.entries.serialize(s)
    }
}

impl FindRequest<'_> {
    /// The percent-encoded query string (without the leading `?`).
    pub fn to_query(&self) -> Result<String, serde_json::Error> {
        let json = serde_json::to_string(self)?;
        Ok(utf8_percent_encode(&json, QUERY_ESCAPE).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_shapes() {
        let f = Filter::new()
            .name("k8s router")
            .class("loadbalancer")
            .tags_all(["@k8s", "@k8s.ClusterID=prod"]);
        assert_eq!(
            f.to_json(),
            json!({"Name": "k8s router", "Class": "loadbalancer",
                   "Tags.Name": [["@k8s", "@k8s.ClusterID=prod"]]})
        );
        assert_eq!(
            Filter::new().tags_any(["a", "b"]).to_json(),
            json!({"Tags.Name": ["a", "b"]})
        );
        assert_eq!(Filter::new().tag("a").to_json(), json!({"Tags.Name": "a"}));
        assert_eq!(
            Filter::new().id(Id(123456789012)).to_json(),
            json!({"ID": 123456789012u64})
        );
        assert_eq!(
            Filter::new().scope("shared").to_json(),
            json!({"Scope": "shared"})
        );
    }

    #[test]
    fn query_is_fully_percent_encoded_json() {
        let f = Filter::new().name("a b").tags_all(["@k8s"]);
        let q = FindRequest {
            count: 100,
            from: 200,
            filter: &f,
        }
        .to_query()
        .unwrap();
        assert_eq!(
            q,
            "%7B%22Count%22%3A100%2C%22From%22%3A200%2C%22Filter%22%3A%7B%22Name%22%3A%22a%20b%22%2C%22Tags.Name%22%3A%5B%5B%22%40k8s%22%5D%5D%7D%7D"
        );
        let decoded = percent_encoding::percent_decode_str(&q)
            .decode_utf8()
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&decoded).unwrap(),
            json!({"Count": 100, "From": 200, "Filter": {"Name": "a b", "Tags.Name": [["@k8s"]]}})
        );
        assert!(!q.contains('+') && !q.contains(' '));
    }

    #[test]
    fn empty_filter_is_omitted() {
        let f = Filter::new();
        let q = FindRequest {
            count: 10,
            from: 0,
            filter: &f,
        };
        assert_eq!(
            serde_json::to_value(&q).unwrap(),
            json!({"Count": 10, "From": 0})
        );
    }
}
