//! How the node controllers write a Node: a JSON merge patch of only what they change, pinned
//! to the `resourceVersion` they read.
//!
//! A replace (`PUT`) sends the whole object, so it could only be built from a complete Node;
//! the shared Node cache keeps only what the controllers read (see `cache::prune_node`). A
//! patch names the fields it changes and leaves the rest to the API server, and the
//! `resourceVersion` in it makes the API server refuse it (409) if the Node changed since it was
//! read, as a replace would.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;
use serde_json::{Map, Value, json};

/// The merge patch that turns `read` into `updated` for what the node controllers change:
/// labels (added, changed or removed), `spec.providerID` and `spec.taints` (a list is replaced
/// whole by a merge patch, which the pinned `resourceVersion` makes safe). `None` when neither
/// differs. Anything else that differs between the two is not written.
pub fn node_patch(read: &Node, updated: &Node) -> Option<Value> {
    let mut metadata = Map::new();
    let mut spec = Map::new();
    let empty = BTreeMap::new();
    let old_labels = read.metadata.labels.as_ref().unwrap_or(&empty);
    let new_labels = updated.metadata.labels.as_ref().unwrap_or(&empty);
    let mut labels = Map::new();
    for (key, value) in new_labels {
        if old_labels.get(key) != Some(value) {
            labels.insert(key.clone(), json!(value));
        }
    }
    for key in old_labels.keys() {
        if !new_labels.contains_key(key) {
            labels.insert(key.clone(), Value::Null);
        }
    }
    if !labels.is_empty() {
        metadata.insert("labels".into(), Value::Object(labels));
    }
    let provider_id = |n: &Node| n.spec.as_ref().and_then(|s| s.provider_id.clone());
    if provider_id(read) != provider_id(updated) {
        spec.insert("providerID".into(), json!(provider_id(updated)));
    }
    let taints = |n: &Node| n.spec.as_ref().and_then(|s| s.taints.clone());
    let new_taints = taints(updated);
    if taints(read) != new_taints {
        spec.insert("taints".into(), json!(new_taints.unwrap_or_default()));
    }
    if metadata.is_empty() && spec.is_empty() {
        return None;
    }
    if let Some(rv) = &read.metadata.resource_version {
        metadata.insert("resourceVersion".into(), json!(rv));
    }
    let mut patch = Map::new();
    patch.insert("metadata".into(), Value::Object(metadata));
    if !spec.is_empty() {
        patch.insert("spec".into(), Value::Object(spec));
    }
    Some(Value::Object(patch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeSpec, Taint};

    fn taint(key: &str) -> Taint {
        Taint {
            key: key.into(),
            effect: "NoSchedule".into(),
            ..Taint::default()
        }
    }

    fn node(labels: &[(&str, &str)], provider_id: Option<&str>, taints: &[&str]) -> Node {
        let mut n = Node::default();
        n.metadata.name = Some("worker-1".into());
        n.metadata.resource_version = Some("7".into());
        n.metadata.labels = Some(
            labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        );
        n.metadata.annotations = Some([("a".to_owned(), "b".to_owned())].into());
        n.spec = Some(NodeSpec {
            provider_id: provider_id.map(Into::into),
            taints: Some(taints.iter().map(|t| taint(t)).collect()),
            pod_cidr: Some("10.0.0.0/24".into()),
            ..NodeSpec::default()
        });
        n
    }

    #[test]
    fn nothing_changed_is_no_patch() {
        let n = node(&[("a", "1")], Some("x://1"), &["t"]);
        assert_eq!(node_patch(&n, &n.clone()), None);
        // Fields the controllers never write are not compared.
        let mut other = n.clone();
        other.metadata.annotations = None;
        other.spec.as_mut().unwrap().pod_cidr = None;
        assert_eq!(node_patch(&n, &other), None);
    }

    #[test]
    fn labels_provider_id_and_taints_are_patched_pinned_to_the_read_version() {
        let read = node(
            &[("keep", "1"), ("change", "1"), ("drop", "1")],
            None,
            &["u", "t"],
        );
        let updated = node(
            &[("keep", "1"), ("change", "2"), ("new", "3")],
            Some("x://1"),
            &["t"],
        );
        assert_eq!(
            node_patch(&read, &updated),
            Some(json!({
                "metadata": {
                    "resourceVersion": "7",
                    "labels": {"change": "2", "new": "3", "drop": null},
                },
                "spec": {
                    "providerID": "x://1",
                    "taints": [{"key": "t", "effect": "NoSchedule"}],
                },
            }))
        );
    }

    #[test]
    fn the_last_taint_removed_is_an_empty_list() {
        let read = node(&[], Some("x://1"), &["u"]);
        let updated = node(&[], Some("x://1"), &[]);
        assert_eq!(
            node_patch(&read, &updated),
            Some(json!({"metadata": {"resourceVersion": "7"}, "spec": {"taints": []}}))
        );
    }
}
