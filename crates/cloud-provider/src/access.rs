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
pub const REQUIRED_ACCESS: &[ApiAccess] = &[
    ApiAccess {
        group: "",
        resource: "nodes",
        verbs: &["delete", "get", "list", "update", "watch"],
        used_by: "node controller (get, update taints/provider ID), node lifecycle controller \
                  (watch, update shutdown taint, delete), service controller (list/watch, get)",
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
        verbs: &["list", "patch", "watch"],
        used_by: "service controller (watch, finalizer patches)",
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
        used_by: "event publisher (events.k8s.io/v1, series counted by patch)",
    },
    ApiAccess {
        group: "coordination.k8s.io",
        resource: "leases",
        verbs: &["create", "get", "list", "update", "watch"],
        used_by: "leader election (the lease in --leader-elect-resource-namespace)",
    },
];
