//! Which Services the service controller handles and which Nodes back their load balancers
//! (upstream `service/controller.go` and `service/helpers`).

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use k8s_openapi::api::core::v1::{LoadBalancerStatus, Node, Service};

use crate::labels::{
    FINALIZER_LB_CLEANUP, LABEL_EXCLUDE_FROM_LB, TAINT_TO_BE_DELETED_BY_AUTOSCALER,
};

/// Whether the Service asks for a load balancer this controller should provide: `type:
/// LoadBalancer` and either no `loadBalancerClass`, or exactly `handled_class` when the
/// controller was started with `--load-balancer-class`.
pub fn wants_load_balancer(service: &Service, handled_class: Option<&str>) -> bool {
    let Some(spec) = service.spec.as_ref() else {
        return false;
    };
    if spec.type_.as_deref() != Some("LoadBalancer") {
        return false;
    }
    match (spec.load_balancer_class.as_deref(), handled_class) {
        (None, _) => true,
        (Some(class), Some(handled)) => class == handled,
        (Some(_), None) => false,
    }
}

/// Whether the Service carries the cleanup finalizer.
pub fn has_cleanup_finalizer(service: &Service) -> bool {
    service
        .metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == FINALIZER_LB_CLEANUP))
}

/// Whether the Service's load balancer must be deleted: it has our finalizer and is being
/// deleted or no longer wants a load balancer from us.
pub fn needs_cleanup(service: &Service, handled_class: Option<&str>) -> bool {
    has_cleanup_finalizer(service)
        && (service.metadata.deletion_timestamp.is_some()
            || !wants_load_balancer(service, handled_class))
}

/// The value of `node.kubernetes.io/exclude-from-external-load-balancers` excludes the Node
/// unless it parses as false (Go's `strconv.ParseBool` spellings); absent means included.
fn excluded_by_label(node: &Node) -> bool {
    let Some(value) = node
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(LABEL_EXCLUDE_FROM_LB))
    else {
        return false;
    };
    !matches!(
        value.as_str(),
        "0" | "f" | "F" | "false" | "FALSE" | "False"
    )
}

/// Whether the Node may back load balancers: not being deleted, not excluded by label, not
/// about to be removed by the cluster autoscaler. Readiness is deliberately not a condition
/// (KEP-3458): the load balancer's health check drains NotReady Nodes.
pub fn node_eligible_for_load_balancers(node: &Node) -> bool {
    if node.metadata.deletion_timestamp.is_some() || excluded_by_label(node) {
        return false;
    }
    let tainted = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|t| t.iter().any(|t| t.key == TAINT_TO_BE_DELETED_BY_AUTOSCALER));
    !tainted
}

/// Whether a change from `old` to `new` can change the Service's load balancer (upstream
/// `needsUpdate`): a flip of whether it wants one, source ranges, ports, session affinity,
/// `loadBalancerIP`, external IPs, any annotation, the UID, the traffic policy, the health
/// check node port, or the number of IP families. Status and finalizer changes are not.
pub fn needs_update(old: &Service, new: &Service, handled_class: Option<&str>) -> bool {
    let (old_wants, new_wants) = (
        wants_load_balancer(old, handled_class),
        wants_load_balancer(new, handled_class),
    );
    if !old_wants && !new_wants {
        return false;
    }
    if old_wants != new_wants {
        return true;
    }
    let default = Default::default();
    let o = old.spec.as_ref().unwrap_or(&default);
    let n = new.spec.as_ref().unwrap_or(&default);
    let family_count =
        |s: &k8s_openapi::api::core::v1::ServiceSpec| s.ip_families.as_ref().map_or(0, Vec::len);
    o.load_balancer_source_ranges != n.load_balancer_source_ranges
        || o.ports != n.ports
        || o.session_affinity != n.session_affinity
        || o.session_affinity_config != n.session_affinity_config
        || o.load_balancer_ip != n.load_balancer_ip
        || o.external_ips != n.external_ips
        || old.metadata.annotations != new.metadata.annotations
        || old.metadata.uid != new.metadata.uid
        || o.external_traffic_policy != n.external_traffic_policy
        || o.health_check_node_port != n.health_check_node_port
        || family_count(o) != family_count(n)
}

/// Whether two load balancer statuses are the same for publishing purposes: no ingress and an
/// empty ingress list are equal; otherwise the ingress lists must match in order.
pub fn load_balancer_status_equal(a: &LoadBalancerStatus, b: &LoadBalancerStatus) -> bool {
    a.ingress.as_deref().unwrap_or_default() == b.ingress.as_deref().unwrap_or_default()
}

/// What identifies a Node for a load balancer: upstream compares name and provider ID; we also
/// compare the addresses, since real servers are IP addresses and a Node's addresses arrive
/// only when it is initialized.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LoadBalancerNode {
    /// Node name.
    pub name: String,
    /// `spec.providerID`, empty if unset.
    pub provider_id: String,
    /// The Node's addresses as `Type=address`, sorted.
    pub addresses: Vec<String>,
    /// A fingerprint of the Node's labels (providers may choose backends by label). A hash,
    /// not the labels: a recorded set lives as long as the Services synced with it, and a
    /// real Node's labels (dozens from node-feature-discovery) would make it as large as the
    /// Nodes themselves.
    pub labels: u64,
}

/// A fingerprint of `labels`, equal for equal labels within this process.
fn labels_fingerprint(labels: Option<&BTreeMap<String, String>>) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    labels.hash(&mut hasher);
    hasher.finish()
}

/// The identity of a set of Nodes backing load balancers.
pub type LoadBalancerNodeSet = BTreeSet<LoadBalancerNode>;

/// The identity of one Node as a load balancer backend.
pub fn load_balancer_node(node: &Node) -> LoadBalancerNode {
    let mut addresses: Vec<String> = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .map(|a| {
            a.iter()
                .map(|a| format!("{}={}", a.type_, a.address))
                .collect()
        })
        .unwrap_or_default();
    addresses.sort();
    LoadBalancerNode {
        labels: labels_fingerprint(node.metadata.labels.as_ref()),
        name: node.metadata.name.clone().unwrap_or_default(),
        provider_id: node
            .spec
            .as_ref()
            .and_then(|s| s.provider_id.clone())
            .unwrap_or_default(),
        addresses,
    }
}

/// Whether a Node update can change any load balancer (upstream `shouldSyncUpdatedNode`, plus
/// address and label changes): eligibility, provider ID, addresses or labels changed.
pub fn node_change_affects_load_balancers(old: &Node, new: &Node) -> bool {
    node_eligible_for_load_balancers(old) != node_eligible_for_load_balancers(new)
        || old.metadata.labels != new.metadata.labels
        || load_balancer_node(old) != load_balancer_node(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        LoadBalancerIngress, NodeAddress, NodeSpec, NodeStatus, ServicePort, ServiceSpec, Taint,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn svc(type_: &str, class: Option<&str>) -> Service {
        Service {
            spec: Some(ServiceSpec {
                type_: Some(type_.to_owned()),
                load_balancer_class: class.map(str::to_owned),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        }
    }

    fn deletion_time() -> Time {
        Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn load_balancer_class_handling() {
        assert!(wants_load_balancer(&svc("LoadBalancer", None), None));
        assert!(wants_load_balancer(
            &svc("LoadBalancer", None),
            Some("sakura")
        ));
        assert!(!wants_load_balancer(
            &svc("LoadBalancer", Some("other")),
            None
        ));
        assert!(!wants_load_balancer(
            &svc("LoadBalancer", Some("other")),
            Some("sakura")
        ));
        assert!(wants_load_balancer(
            &svc("LoadBalancer", Some("sakura")),
            Some("sakura")
        ));
        assert!(!wants_load_balancer(&svc("NodePort", None), None));
        assert!(!wants_load_balancer(&Service::default(), None));
    }

    #[test]
    fn cleanup_needs_the_finalizer() {
        let mut s = svc("LoadBalancer", None);
        assert!(!needs_cleanup(&s, None));
        s.metadata.finalizers = Some(vec![FINALIZER_LB_CLEANUP.to_owned()]);
        assert!(!needs_cleanup(&s, None));
        s.metadata.deletion_timestamp = Some(deletion_time());
        assert!(needs_cleanup(&s, None));
        let mut flipped = svc("ClusterIP", None);
        flipped.metadata.finalizers = Some(vec![FINALIZER_LB_CLEANUP.to_owned()]);
        assert!(needs_cleanup(&flipped, None));
        let mut classed = svc("LoadBalancer", Some("other"));
        classed.metadata.finalizers = Some(vec![FINALIZER_LB_CLEANUP.to_owned()]);
        assert!(needs_cleanup(&classed, None));
    }

    fn node_with_label(value: Option<&str>) -> Node {
        let mut n = Node::default();
        if let Some(v) = value {
            n.metadata.labels = Some([(LABEL_EXCLUDE_FROM_LB.to_owned(), v.to_owned())].into());
        }
        n
    }

    #[test]
    fn exclude_label_parsing_matches_go_parsebool() {
        assert!(node_eligible_for_load_balancers(&node_with_label(None)));
        for included in ["false", "0", "f", "F", "FALSE", "False"] {
            assert!(
                node_eligible_for_load_balancers(&node_with_label(Some(included))),
                "{included}"
            );
        }
        for excluded in ["true", "1", "yes", "", "garbage"] {
            assert!(
                !node_eligible_for_load_balancers(&node_with_label(Some(excluded))),
                "{excluded}"
            );
        }
    }

    #[test]
    fn deleting_and_autoscaler_tainted_nodes_are_not_eligible() {
        let mut deleting = Node::default();
        deleting.metadata.deletion_timestamp = Some(deletion_time());
        assert!(!node_eligible_for_load_balancers(&deleting));
        let tainted = Node {
            spec: Some(NodeSpec {
                taints: Some(vec![Taint {
                    key: TAINT_TO_BE_DELETED_BY_AUTOSCALER.to_owned(),
                    effect: "NoSchedule".to_owned(),
                    ..Taint::default()
                }]),
                ..NodeSpec::default()
            }),
            ..Node::default()
        };
        assert!(!node_eligible_for_load_balancers(&tainted));
    }

    #[test]
    fn needs_update_tracks_what_shapes_a_load_balancer() {
        let base = {
            let mut s = svc("LoadBalancer", None);
            s.metadata.uid = Some("u1".to_owned());
            s.spec.as_mut().unwrap().ports = Some(vec![ServicePort {
                port: 80,
                ..ServicePort::default()
            }]);
            s
        };
        assert!(!needs_update(&base, &base.clone(), None));

        let mut status_only = base.clone();
        status_only.status = Some(Default::default());
        status_only.metadata.finalizers = Some(vec![FINALIZER_LB_CLEANUP.to_owned()]);
        status_only.metadata.resource_version = Some("9".to_owned());
        assert!(!needs_update(&base, &status_only, None));

        type Change = (&'static str, fn(&mut Service));
        let changes: Vec<Change> = vec![
            ("type", |s| {
                s.spec.as_mut().unwrap().type_ = Some("ClusterIP".into())
            }),
            ("ports", |s| {
                s.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].port = 81
            }),
            ("annotation", |s| {
                s.metadata.annotations = Some([("a".to_owned(), "b".to_owned())].into())
            }),
            ("uid", |s| s.metadata.uid = Some("u2".into())),
            ("lb ip", |s| {
                s.spec.as_mut().unwrap().load_balancer_ip = Some("1.2.3.4".into())
            }),
            ("source ranges", |s| {
                s.spec.as_mut().unwrap().load_balancer_source_ranges =
                    Some(vec!["10.0.0.0/8".into()])
            }),
            ("policy", |s| {
                s.spec.as_mut().unwrap().external_traffic_policy = Some("Local".into())
            }),
            ("hc node port", |s| {
                s.spec.as_mut().unwrap().health_check_node_port = Some(30000)
            }),
            ("families", |s| {
                s.spec.as_mut().unwrap().ip_families = Some(vec!["IPv4".into(), "IPv6".into()])
            }),
            ("external ips", |s| {
                s.spec.as_mut().unwrap().external_ips = Some(vec!["1.1.1.1".into()])
            }),
            ("affinity", |s| {
                s.spec.as_mut().unwrap().session_affinity = Some("ClientIP".into())
            }),
        ];
        for (what, change) in changes {
            let mut changed = base.clone();
            change(&mut changed);
            assert!(needs_update(&base, &changed, None), "{what}");
        }

        // Neither wants a load balancer: nothing to do whatever changed.
        let a = svc("ClusterIP", None);
        let mut b = svc("NodePort", None);
        b.metadata.annotations = Some([("a".to_owned(), "b".to_owned())].into());
        assert!(!needs_update(&a, &b, None));
    }

    #[test]
    fn status_equality_treats_missing_and_empty_ingress_alike() {
        let empty = LoadBalancerStatus::default();
        let empty_list = LoadBalancerStatus {
            ingress: Some(vec![]),
        };
        let one = LoadBalancerStatus {
            ingress: Some(vec![LoadBalancerIngress {
                ip: Some("192.0.2.10".into()),
                ..LoadBalancerIngress::default()
            }]),
        };
        assert!(load_balancer_status_equal(&empty, &empty_list));
        assert!(!load_balancer_status_equal(&empty, &one));
        assert!(load_balancer_status_equal(&one, &one.clone()));
    }

    #[test]
    fn node_changes_that_matter_for_load_balancers() {
        let node = Node {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("w1".into()),
                ..Default::default()
            },
            ..Node::default()
        };
        let mut heartbeat = node.clone();
        heartbeat.metadata.resource_version = Some("2".into());
        assert!(!node_change_affects_load_balancers(&node, &heartbeat));

        let mut initialized = node.clone();
        initialized.spec = Some(NodeSpec {
            provider_id: Some("x://1".into()),
            ..NodeSpec::default()
        });
        assert!(node_change_affects_load_balancers(&node, &initialized));

        let mut addressed = node.clone();
        addressed.status = Some(NodeStatus {
            addresses: Some(vec![NodeAddress {
                type_: "InternalIP".into(),
                address: "10.0.0.5".into(),
            }]),
            ..NodeStatus::default()
        });
        assert!(node_change_affects_load_balancers(&node, &addressed));
        assert_eq!(
            load_balancer_node(&addressed).addresses,
            ["InternalIP=10.0.0.5"]
        );

        let mut excluded = node.clone();
        excluded.metadata.labels =
            Some([(LABEL_EXCLUDE_FROM_LB.to_owned(), "true".to_owned())].into());
        assert!(node_change_affects_load_balancers(&node, &excluded));
    }
}
