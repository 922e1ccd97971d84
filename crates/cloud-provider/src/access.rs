//! The Kubernetes API access the controllers need, kept in one list so that the deployment's
//! ClusterRole (`deploy/`) and `doctor`'s RBAC check are derived from, and tested against, the
//! same facts. When a controller starts calling a new verb or resource, add it here: the
//! manifest test fails until the ClusterRole grants it.

/// One API group/resource and the verbs used on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiAccess {
    /// API group (`""` for the core group).
    pub group: &'static str,
    /// Resource, with subresource as `resource/subresource`.
    pub resource: &'static str,
    /// Verbs, sorted.
    pub verbs: &'static [&'static str],
    /// Which code makes the calls (for humans reading a failed check).
    pub used_by: &'static str,
}

/// Everything the controller manager calls, cluster-wide unless noted in `used_by`.
///
/// Checked against reality by `crates/sakura-ccm/tests/api_access.rs`, which records every
/// request the controllers make against the fake API server (node initialization, a
/// LoadBalancer Service's life, node shutdown and deletion, leader election) and fails on a
/// call not listed here, and on a listed verb that was not used unless it is a known rare path
/// (re-reads after a 409 Conflict, event series).
pub const REQUIRED_ACCESS: &[ApiAccess] = &[
    ApiAccess {
        group: "",
        resource: "nodes",
        verbs: &["delete", "get", "list", "patch", "watch"],
        used_by: "node controller (list/watch; patch: provider ID, labels, taint removal, \
                  pinned to the resourceVersion read; get: re-read after a conflict), node \
                  lifecycle controller (list/watch; patch: shutdown taint; delete: Node of a \
                  deleted server), service controller (list/watch)",
    },
    ApiAccess {
        group: "",
        resource: "nodes/status",
        verbs: &["patch"],
        used_by: "node controller (addresses)",
    },
    ApiAccess {
        group: "",
        resource: "services",
        verbs: &["get", "list", "patch", "watch"],
        used_by: "service controller (list/watch; patch: the load-balancer-cleanup finalizer \
                  and the provider's annotations, such as the Enhanced Load Balancer's source \
                  networks; get: re-read after a conflict on that patch)",
    },
    ApiAccess {
        group: "",
        resource: "services/status",
        verbs: &["patch"],
        used_by: "service controller (load balancer ingress)",
    },
    ApiAccess {
        group: "events.k8s.io",
        resource: "events",
        verbs: &["create", "patch"],
        used_by: "event publisher (events.k8s.io/v1 in the object's namespace, `default` for \
                  Nodes; a repeat within the series window is counted by patch)",
    },
    ApiAccess {
        group: "coordination.k8s.io",
        resource: "leases",
        verbs: &["create", "get", "list", "update", "watch"],
        used_by: "leader election (only the Lease --leader-elect-resource-name in \
                  --leader-elect-resource-namespace, kube-system by default; list/watch with a \
                  metadata.name field selector)",
    },
];
