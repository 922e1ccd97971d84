//! The OpenAPI v3 documents kubectl fetches: the index `/openapi/v3` and one document per
//! group-version (`/openapi/v3/api/v1`, `/openapi/v3/apis/apps/v1`, ...).
//!
//! kubectl reads them to learn whether the server validates fields itself: it looks for a PATCH
//! operation tagged with the kind's `x-kubernetes-group-version-kind` that takes the
//! `fieldValidation` query parameter, and if found sends `fieldValidation=Strict` instead of
//! validating client-side. The schemas (`components.schemas`) are built from the table of
//! [`crate::schema`]: every field with its JSON type; descriptions and patch strategies are left
//! out.

use serde_json::{Map, Value, json};

use crate::resources::ResourceDef;
use crate::schema::{Base, Field, Schema, Shape, Special};

/// `api/v1` or `apis/{group}/{version}`: the key of a group-version in the index.
pub(crate) fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// FNV-1a, printed as upstream prints its (SHA-512) hashes: upper-case hex. Clients only
/// compare it, to cache documents.
fn hash(text: &str) -> String {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{h:016X}")
}

/// `/openapi/v3`: every served group-version with the URL of its document.
pub(crate) fn index(schema: &Schema, defs: &[ResourceDef]) -> Value {
    let mut paths = Map::new();
    for d in defs {
        let key = gv_path(&d.group, &d.version);
        if paths.contains_key(&key) {
            continue;
        }
        let doc = group_version(schema, defs, &d.group, &d.version).to_string();
        paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={}", hash(&doc))}),
        );
    }
    json!({ "paths": paths })
}

fn scalar(base: &Base) -> Value {
    match base {
        Base::String => json!({"type": "string"}),
        Base::Int32 => json!({"type": "integer", "format": "int32"}),
        Base::Int64 => json!({"type": "integer", "format": "int64"}),
        Base::Bool => json!({"type": "boolean"}),
        Base::Double => json!({"type": "number", "format": "double"}),
        Base::Float => json!({"type": "number", "format": "float"}),
        Base::Bytes => json!({"type": "string", "format": "byte"}),
        Base::Special(s) => special(*s),
        Base::Message(m) => json!({"$ref": format!("#/components/schemas/{m}")}),
    }
}

fn special(s: Special) -> Value {
    match s {
        Special::Time => json!({"type": "string", "format": "date-time"}),
        Special::MicroTime => json!({"type": "string", "format": "date-time"}),
        Special::Duration => json!({"type": "string"}),
        Special::IntOrString => {
            json!({"type": "string", "format": "int-or-string", "x-kubernetes-int-or-string": true})
        }
        Special::Quantity => json!({"type": "string"}),
        Special::RawExtension | Special::FieldsV1 => json!({"type": "object"}),
    }
}

fn property(field: &Field) -> Value {
    let item = scalar(&field.base);
    match field.shape {
        Shape::One => item,
        Shape::List => json!({"type": "array", "items": item}),
        Shape::Map => json!({"type": "object", "additionalProperties": item}),
    }
}

/// The schema of one message; `gvk` marks a served kind.
fn message_schema(schema: &Schema, name: &str, gvk: Option<&ResourceDef>) -> Value {
    let mut props = Map::new();
    if gvk.is_some() {
        props.insert("apiVersion".into(), json!({"type": "string"}));
        props.insert("kind".into(), json!({"type": "string"}));
    }
    for (json_name, field) in schema.json_fields(name) {
        props.insert(json_name.to_owned(), property(field));
    }
    let mut s = json!({"type": "object", "properties": props});
    if let Some(d) = gvk {
        s["x-kubernetes-group-version-kind"] =
            json!([{"group": d.group, "version": d.version, "kind": d.kind}]);
    }
    s
}

fn query(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

/// The operations on one object: get, replace, patch and delete, tagged with the kind.
fn item_path(d: &ResourceDef, message: &str) -> Value {
    let gvk = json!({"group": d.group, "version": d.version, "kind": d.kind});
    let body = json!({"schema": {"$ref": format!("#/components/schemas/{message}")}});
    let ok = json!({"200": {"description": "OK", "content": {"application/json": body.clone()}}});
    let patch_body = json!({"schema": {"type": "object"}});
    json!({
        "get": {"responses": ok, "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk},
        "put": {
            "parameters": [query("dryRun"), query("fieldManager"), query("fieldValidation")],
            "requestBody": {"content": {"application/json": body}, "required": true},
            "responses": ok, "x-kubernetes-action": "put", "x-kubernetes-group-version-kind": gvk,
        },
        "patch": {
            "parameters": [query("dryRun"), query("fieldManager"), query("fieldValidation")],
            "requestBody": {"content": {
                "application/json-patch+json": patch_body,
                "application/merge-patch+json": patch_body,
                "application/strategic-merge-patch+json": patch_body,
            }, "required": true},
            "responses": ok, "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk,
        },
        "delete": {"responses": ok, "x-kubernetes-action": "delete", "x-kubernetes-group-version-kind": gvk},
        "parameters": [
            {"name": "name", "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}},
        ],
    })
}

/// `/openapi/v3/{api/v1 | apis/group/version}`, or `None` if nothing is served there.
pub(crate) fn group_version(
    schema: &Schema,
    defs: &[ResourceDef],
    group: &str,
    version: &str,
) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for d in defs
        .iter()
        .filter(|d| d.group == group && d.version == version)
    {
        let Some(message) = crate::schema::message_for(&d.group, &d.version, &d.kind) else {
            continue;
        };
        let prefix = format!("/{}", gv_path(group, version));
        let item = if d.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", d.plural)
        } else {
            format!("{prefix}/{}/{{name}}", d.plural)
        };
        let mut ops = item_path(d, &message);
        if d.namespaced
            && let Some(Value::Array(params)) = ops.get_mut("parameters")
        {
            params.push(json!({"name": "namespace", "in": "path", "required": true,
                "schema": {"type": "string", "uniqueItems": true}}));
        }
        paths.insert(item, ops);
        schemas.insert(message.clone(), message_schema(schema, &message, Some(d)));
    }
    // Every message of the table: the kinds' own and those they refer to.
    for name in schema.names() {
        if !schemas.contains_key(name) {
            schemas.insert(name.to_owned(), message_schema(schema, name, None));
        }
    }
    for (name, s) in [
        ("io.k8s.apimachinery.pkg.apis.meta.v1.Time", Special::Time),
        (
            "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
            Special::MicroTime,
        ),
        (
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
            Special::IntOrString,
        ),
        (
            "io.k8s.apimachinery.pkg.api.resource.Quantity",
            Special::Quantity,
        ),
    ] {
        schemas.insert(name.to_owned(), special(s));
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.35.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::default_resources;
    use crate::schema::schema;

    #[test]
    fn patch_operations_declare_field_validation_per_kind() {
        let defs = default_resources();
        let doc = group_version(schema(), &defs, "", "v1");
        let op = &doc["paths"]["/api/v1/namespaces/{namespace}/services/{name}"]["patch"];
        assert_eq!(
            op["x-kubernetes-group-version-kind"],
            json!({"group": "", "version": "v1", "kind": "Service"})
        );
        assert!(
            op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        );
        let svc = &doc["components"]["schemas"]["io.k8s.api.core.v1.Service"];
        assert_eq!(
            svc["properties"]["spec"]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.ServiceSpec"
        );
        let idx = index(schema(), &defs);
        let url = idx["paths"]["apis/apps/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="));
        assert!(doc["paths"].get("/api/v1/nodes/{name}").is_some());
    }
}
