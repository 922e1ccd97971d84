//! `meta.k8s.io/v1` Table rendering for kubectl's server-side printing.
//!
//! kubectl asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...`. The real
//! server has per-kind columns; the fake serves the generic Name/Age columns it uses for
//! custom resources, which is enough for `kubectl get` and `kubectl get -w`.

use serde_json::{Value, json};

/// What each row carries in `object`, from the `includeObject` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub(crate) fn parse(s: Option<&str>) -> Result<Self, String> {
        match s {
            None | Some("") | Some("Metadata") => Ok(Self::Metadata),
            Some("None") => Ok(Self::None),
            Some("Object") => Ok(Self::Object),
            Some(other) => Err(format!("includeObject: unsupported value {other:?}")),
        }
    }
}

/// Whether the Accept header asks for a Table.
pub(crate) fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        params.contains(&"as=Table") && params.contains(&"g=meta.k8s.io")
    })
}

fn row(obj: &Value, include: IncludeObject) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let name = meta.get("name").cloned().unwrap_or_else(|| json!(""));
    let created = meta
        .get("creationTimestamp")
        .cloned()
        .unwrap_or(Value::Null);
    let mut r = json!({"cells": [name, created]});
    match include {
        IncludeObject::None => {}
        IncludeObject::Object => r["object"] = obj.clone(),
        IncludeObject::Metadata => {
            r["object"] = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": meta,
            })
        }
    }
    r
}

/// A Table with one row per object.
pub(crate) fn table(objects: &[&Value], include: IncludeObject, list_meta: Value) -> Value {
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0},
            {"name": "Age", "type": "date", "format": "", "description": "CreationTimestamp is a timestamp representing the server time when this object was created.", "priority": 0},
        ],
        "rows": objects.iter().map(|o| row(o, include)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_kubectl_table_accept() {
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
        assert!(!wants_table(
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
        ));
    }

    #[test]
    fn renders_rows() {
        let obj = json!({"metadata": {"name": "a", "creationTimestamp": "2020-01-01T00:00:00Z"}});
        let t = table(
            &[&obj],
            IncludeObject::Metadata,
            json!({"resourceVersion": "5"}),
        );
        assert_eq!(t["rows"][0]["cells"], json!(["a", "2020-01-01T00:00:00Z"]));
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert!(IncludeObject::parse(Some("bogus")).is_err());
    }
}
