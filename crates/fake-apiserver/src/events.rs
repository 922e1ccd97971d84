//! One Event store, two APIs: `events.k8s.io/v1` Events are kept as core `v1` Events and
//! converted on the way in and out, field by field as upstream's conversion does
//! (`pkg/apis/events/v1/conversion.go`), so `kubectl get events` and `kubectl describe` see what
//! a controller published through `events.k8s.io/v1`, and a watch on either API sees both.

use serde_json::{Map, Value};

/// `(events.k8s.io/v1 field, core/v1 field)`; everything else (metadata, `eventTime`, `series`,
/// `reportingInstance`, `action`, `reason`, `related`, `type`) has the same name in both.
const RENAMES: [(&str, &str); 7] = [
    ("note", "message"),
    ("regarding", "involvedObject"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn rename(obj: &Value, api_version: &str, to_core: bool) -> Value {
    let Some(o) = obj.as_object() else {
        return obj.clone();
    };
    let mut out = Map::new();
    for (k, v) in o {
        let renamed = RENAMES
            .iter()
            .find(|(new, old)| if to_core { new == k } else { old == k })
            .map(|(new, old)| if to_core { *old } else { *new });
        out.insert(renamed.unwrap_or(k).to_owned(), v.clone());
    }
    out.insert("apiVersion".into(), Value::from(api_version));
    out.insert("kind".into(), Value::from("Event"));
    Value::Object(out)
}

/// A stored (core `v1`) Event as `events.k8s.io/v1` shows it.
pub(crate) fn to_events_v1(core: &Value) -> Value {
    rename(core, "events.k8s.io/v1", false)
}

/// An `events.k8s.io/v1` Event as it is stored (core `v1`).
pub(crate) fn to_core(ev: &Value) -> Value {
    rename(ev, "v1", true)
}

/// An `events.k8s.io/v1` field-selector path as the stored object has it
/// (`regarding.name` is `involvedObject.name`).
pub(crate) fn core_field_path(path: &str) -> String {
    for (new, old) in RENAMES {
        if path == new {
            return old.to_owned();
        }
        if let Some(rest) = path.strip_prefix(new).and_then(|r| r.strip_prefix('.')) {
            return format!("{old}.{rest}");
        }
    }
    path.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_both_ways_as_upstream() {
        let new = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "hello.1", "namespace": "default"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "series": {"count": 3, "lastObservedTime": "2026-01-01T00:01:00.000000Z"},
            "reportingController": "sakura-cloud-controller-manager",
            "reportingInstance": "cm-1", "action": "EnsureLoadBalancer",
            "reason": "EnsuringLoadBalancer", "note": "Ensuring load balancer", "type": "Normal",
            "regarding": {"kind": "Service", "namespace": "default", "name": "hello"},
            "deprecatedCount": 2,
        });
        let core = to_core(&new);
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["message"], "Ensuring load balancer");
        assert_eq!(core["involvedObject"]["name"], "hello");
        assert_eq!(
            core["reportingComponent"],
            "sakura-cloud-controller-manager"
        );
        assert_eq!(core["series"]["count"], 3);
        assert_eq!(core["count"], 2);
        assert!(core.get("note").is_none() && core.get("regarding").is_none());
        assert_eq!(to_events_v1(&core), new);
        assert_eq!(core_field_path("regarding.name"), "involvedObject.name");
        assert_eq!(core_field_path("reportingController"), "reportingComponent");
        assert_eq!(core_field_path("type"), "type");
    }
}
