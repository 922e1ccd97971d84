//! Well-known label, annotation, taint and finalizer names the controllers read or write.

/// Taint the kubelet puts on a Node when it runs with `--cloud-provider=external`; removed by
/// the cloud node controller once the Node is initialized.
pub const TAINT_UNINITIALIZED: &str = "node.cloudprovider.kubernetes.io/uninitialized";
/// Taint the lifecycle controller puts on NotReady Nodes whose instance is shut down.
pub const TAINT_SHUTDOWN: &str = "node.cloudprovider.kubernetes.io/shutdown";
/// Taint the cluster autoscaler puts on Nodes it is about to delete.
pub const TAINT_TO_BE_DELETED_BY_AUTOSCALER: &str = "ToBeDeletedByClusterAutoscaler";

/// GA zone label.
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
/// GA region label.
pub const LABEL_REGION: &str = "topology.kubernetes.io/region";
/// GA instance-type label.
pub const LABEL_INSTANCE_TYPE: &str = "node.kubernetes.io/instance-type";
/// Nodes with this label set to a true value (or an unparsable one) are left out of load
/// balancers.
pub const LABEL_EXCLUDE_FROM_LB: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

/// The IP(s) the kubelet was told to use (`--node-ip` with an external cloud provider);
/// comma-separated for dual stack.
pub const ANNOTATION_PROVIDED_NODE_IP: &str = "alpha.kubernetes.io/provided-node-ip";

/// Finalizer that keeps a LoadBalancer Service until its cloud load balancer is deleted.
pub const FINALIZER_LB_CLEANUP: &str = "service.kubernetes.io/load-balancer-cleanup";
