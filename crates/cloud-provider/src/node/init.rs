//! What the cloud node controller writes when it initializes a Node.

use k8s_openapi::api::core::v1::Node;

use crate::labels::{LABEL_INSTANCE_TYPE, LABEL_REGION, LABEL_ZONE, TAINT_UNINITIALIZED};
use crate::provider::InstanceMetadata;

/// Whether the Node still carries the `uninitialized` taint.
pub fn is_uninitialized(node: &Node) -> bool {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|taints| taints.iter().any(|t| t.key == TAINT_UNINITIALIZED))
}

/// Labels in Kubernetes' own namespaces are not the provider's to set.
fn is_kubernetes_namespace(key: &str) -> bool {
    let prefix = key.split_once('/').map_or("", |(p, _)| p);
    prefix == "kubernetes.io"
        || prefix.ends_with(".kubernetes.io")
        || prefix == "k8s.io"
        || prefix.ends_with(".k8s.io")
}

/// The Node as it should be after initialization: provider ID set if it had none; zone,
/// region, instance-type and the provider's additional labels added where absent (an existing
/// label is never overwritten); the `uninitialized` taint removed. Everything else is left as it
/// was, so the result can be written back with the read `resourceVersion` (a conflict means
/// re-read and try again).
///
/// Addresses are not part of this: they go to the status subresource separately.
pub fn initialized_node(node: &Node, meta: &InstanceMetadata) -> Node {
    let mut out = node.clone();
    let spec = out.spec.get_or_insert_with(Default::default);
    if spec.provider_id.as_deref().unwrap_or("").is_empty() && !meta.provider_id.is_empty() {
        spec.provider_id = Some(meta.provider_id.clone());
    }
    if let Some(taints) = spec.taints.as_mut() {
        taints.retain(|t| t.key != TAINT_UNINITIALIZED);
    }

    let labels = out.metadata.labels.get_or_insert_with(Default::default);
    let wanted = [
        (LABEL_INSTANCE_TYPE, meta.instance_type.as_str()),
        (LABEL_ZONE, meta.zone.as_str()),
        (LABEL_REGION, meta.region.as_str()),
    ];
    for (key, value) in wanted {
        if !value.is_empty() {
            labels
                .entry(key.to_owned())
                .or_insert_with(|| value.to_owned());
        }
    }
    for (key, value) in &meta.additional_labels {
        if !is_kubernetes_namespace(key) {
            labels.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeSpec, Taint};
    use std::collections::BTreeMap;

    fn taint(key: &str) -> Taint {
        Taint {
            key: key.to_owned(),
            effect: "NoSchedule".to_owned(),
            ..Taint::default()
        }
    }

    fn tainted_node(labels: &[(&str, &str)], provider_id: Option<&str>) -> Node {
        let mut node = Node::default();
        node.metadata.name = Some("worker-1".into());
        node.metadata.labels = Some(
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        node.spec = Some(NodeSpec {
            provider_id: provider_id.map(str::to_owned),
            taints: Some(vec![taint(TAINT_UNINITIALIZED), taint("dedicated")]),
            ..NodeSpec::default()
        });
        node
    }

    fn meta() -> InstanceMetadata {
        InstanceMetadata {
            provider_id: "sakuracloud://123456789012".into(),
            instance_type: "2core-4gb".into(),
            zone: "is1a".into(),
            region: "is1".into(),
            additional_labels: BTreeMap::from([
                (
                    "sakura.example/plan-generation".to_owned(),
                    "200".to_owned(),
                ),
                ("node.kubernetes.io/sneaky".to_owned(), "x".to_owned()),
                ("k8s.io/sneaky".to_owned(), "x".to_owned()),
            ]),
            ..InstanceMetadata::default()
        }
    }

    #[test]
    fn sets_provider_id_labels_and_removes_only_our_taint() {
        let node = tainted_node(&[("kubernetes.io/hostname", "worker-1")], None);
        assert!(is_uninitialized(&node));
        let out = initialized_node(&node, &meta());
        assert!(!is_uninitialized(&out));
        let spec = out.spec.as_ref().unwrap();
        assert_eq!(
            spec.provider_id.as_deref(),
            Some("sakuracloud://123456789012")
        );
        let taints: Vec<_> = spec
            .taints
            .as_ref()
            .unwrap()
            .iter()
            .map(|t| t.key.as_str())
            .collect();
        assert_eq!(taints, ["dedicated"]);
        let labels = out.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[LABEL_INSTANCE_TYPE], "2core-4gb");
        assert_eq!(labels[LABEL_ZONE], "is1a");
        assert_eq!(labels[LABEL_REGION], "is1");
        assert_eq!(labels["sakura.example/plan-generation"], "200");
        assert!(!labels.contains_key("node.kubernetes.io/sneaky"));
        assert!(!labels.contains_key("k8s.io/sneaky"));
        assert_eq!(labels["kubernetes.io/hostname"], "worker-1");
    }

    #[test]
    fn never_overwrites_provider_id_or_labels() {
        let node = tainted_node(
            &[
                (LABEL_ZONE, "custom-zone"),
                ("sakura.example/plan-generation", "mine"),
            ],
            Some("sakuracloud://999"),
        );
        let out = initialized_node(&node, &meta());
        assert_eq!(
            out.spec.as_ref().unwrap().provider_id.as_deref(),
            Some("sakuracloud://999")
        );
        let labels = out.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[LABEL_ZONE], "custom-zone");
        assert_eq!(labels["sakura.example/plan-generation"], "mine");
        assert_eq!(labels[LABEL_REGION], "is1");
    }

    #[test]
    fn empty_metadata_values_add_nothing() {
        let node = tainted_node(&[], Some(""));
        let out = initialized_node(&node, &InstanceMetadata::default());
        assert_eq!(out.spec.as_ref().unwrap().provider_id.as_deref(), Some(""));
        assert!(out.metadata.labels.as_ref().unwrap().is_empty());
        assert!(!is_uninitialized(&out));
    }
}
