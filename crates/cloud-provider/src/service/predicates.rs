//! Which Services the service controller handles and which Nodes back their load balancers
//! (upstream `service/controller.go` and `service/helpers`).

use k8s_openapi::api::core::v1::{Node, Service};

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

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeSpec, ServiceSpec, Taint};
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
}
