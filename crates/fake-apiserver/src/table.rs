//! `meta.k8s.io/v1` Table rendering for kubectl's server-side printing.
//!
//! kubectl asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...`. The columns and
//! cells of each kind are upstream's ([`crate::printers`]); kinds without a printer get the
//! generic Name/Age columns the real server uses for custom resources.

use serde_json::{Value, json};

use crate::printers;

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

/// The kind whose columns a Table shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kind<'a> {
    pub(crate) group: &'a str,
    pub(crate) kind: &'a str,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn row(obj: &Value, kind: Kind<'_>, include: IncludeObject, now: i64) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let mut r = json!({"cells": printers::cells(kind.group, kind.kind, obj, now)});
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
pub(crate) fn table(
    objects: &[&Value],
    kind: Kind<'_>,
    include: IncludeObject,
    list_meta: Value,
) -> Value {
    let now = now();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": printers::column_definitions(kind.group, kind.kind),
        "rows": objects.iter().map(|o| row(o, kind, include, now)).collect::<Vec<_>>(),
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
        let obj =
            json!({"metadata": {"name": "a", "creationTimestamp": crate::meta::now_rfc3339()}});
        let kind = Kind {
            group: "example.com",
            kind: "Widget",
        };
        let t = table(
            &[&obj],
            kind,
            IncludeObject::Metadata,
            json!({"resourceVersion": "5"}),
        );
        let cells = t["rows"][0]["cells"].as_array().unwrap();
        assert_eq!(cells[0], "a");
        assert!(cells[1].as_str().unwrap().ends_with('s'), "{cells:?}");
        assert_eq!(t["columnDefinitions"][1]["name"], "Age");
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert!(IncludeObject::parse(Some("bogus")).is_err());
    }
}
