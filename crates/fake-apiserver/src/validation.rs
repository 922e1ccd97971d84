//! Server-side field validation (`fieldValidation=Strict|Warn|Ignore`): fields the kind does not
//! have are refused (Strict), reported in `Warning` headers (Warn, the default) or silently
//! dropped (Ignore); in every case they are not stored, as the real server's decoding drops them.
//! Known fields come from the table of [`crate::schema`]; kinds outside it (custom resources
//! added through `Config`) are stored as given.

use serde_json::{Map, Value};

use crate::schema::{Base, Schema, Shape};

/// The `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Directive {
    Ignore,
    Warn,
    Strict,
}

impl Directive {
    /// Parses the parameter; unset or empty is `Warn`, the real server's default.
    pub(crate) fn parse(v: Option<&str>) -> Result<Self, String> {
        match v {
            None | Some("") | Some("Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Strict") => Ok(Self::Strict),
            Some(other) => Err(format!(
                "fieldValidation parameter unsupported: {other}; valid values are Ignore, Warn, Strict"
            )),
        }
    }
}

/// Removes the fields `message` does not have from `obj` and returns their paths, in Go's
/// notation (`spec.ports[0].foo`). `top` allows `apiVersion` and `kind` besides the message's
/// fields (a whole object, not a patch of one part).
pub(crate) fn prune_unknown(
    schema: &Schema,
    message: &str,
    obj: &mut Value,
    top: bool,
) -> Vec<String> {
    let mut unknown = Vec::new();
    prune_object(schema, message, obj, top, "", &mut unknown);
    unknown
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn prune_object(
    schema: &Schema,
    message: &str,
    v: &mut Value,
    top: bool,
    path: &str,
    unknown: &mut Vec<String>,
) {
    let Some(obj) = v.as_object_mut() else {
        return;
    };
    let fields = schema.json_fields(message);
    let mut drop = Vec::new();
    for (key, value) in obj.iter_mut() {
        // Patch directives (`$patch`, `$setElementOrder/...`, `$retainKeys`) are not fields.
        if key.starts_with('$') || (top && (key == "apiVersion" || key == "kind")) {
            continue;
        }
        let Some((_, field)) = fields.iter().find(|(n, _)| n == key) else {
            unknown.push(join(path, key));
            drop.push(key.clone());
            continue;
        };
        let Base::Message(inner) = &field.base else {
            continue;
        };
        let here = join(path, key);
        match (field.shape, value) {
            (Shape::One, v) => prune_object(schema, inner, v, false, &here, unknown),
            (Shape::List, Value::Array(items)) => {
                for (i, item) in items.iter_mut().enumerate() {
                    prune_object(schema, inner, item, false, &format!("{here}[{i}]"), unknown);
                }
            }
            (Shape::Map, Value::Object(m)) => {
                for (k, item) in m.iter_mut() {
                    prune_object(schema, inner, item, false, &format!("{here}[{k}]"), unknown);
                }
            }
            _ => {}
        }
    }
    remove(obj, &drop);
}

fn remove(obj: &mut Map<String, Value>, keys: &[String]) {
    for k in keys {
        obj.remove(k);
    }
}

/// Upstream's text for the unknown fields: `unknown field "spec.foo", unknown field "bar"`.
pub(crate) fn describe(unknown: &[String]) -> Vec<String> {
    unknown
        .iter()
        .map(|p| format!("unknown field {p:?}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::schema;
    use serde_json::json;

    #[test]
    fn finds_and_drops_unknown_fields_with_go_paths() {
        let mut svc = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "a", "labels": {"x": "y"}, "bogus": 1},
            "spec": {"foo": 1, "type": "LoadBalancer", "ports": [{"port": 80, "nope": true}],
                     "selector": {"any": "key"}},
        });
        let unknown = prune_unknown(schema(), "io.k8s.api.core.v1.Service", &mut svc, true);
        assert_eq!(
            unknown,
            vec!["metadata.bogus", "spec.foo", "spec.ports[0].nope"]
        );
        assert_eq!(describe(&unknown)[1], r#"unknown field "spec.foo""#);
        assert!(svc["spec"].get("foo").is_none());
        assert_eq!(svc["spec"]["ports"][0], json!({"port": 80}));
        assert_eq!(svc["spec"]["selector"], json!({"any": "key"}));
    }

    #[test]
    fn embedded_structs_and_patch_directives_are_known() {
        let mut dep = json!({"spec": {"template": {"spec": {
            "volumes": [{"name": "v", "emptyDir": {}}],
            "containers": [{"name": "c", "image": "nginx",
                "livenessProbe": {"httpGet": {"port": 80}}}],
            "$setElementOrder/containers": [{"name": "c"}],
        }}}});
        let unknown = prune_unknown(schema(), "io.k8s.api.apps.v1.Deployment", &mut dep, false);
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!(Directive::parse(None), Ok(Directive::Warn));
        assert_eq!(Directive::parse(Some("Strict")), Ok(Directive::Strict));
        assert!(Directive::parse(Some("strict")).is_err());
    }
}
