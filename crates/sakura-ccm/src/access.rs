//! Kubernetes API access this provider needs beyond the framework's
//! ([`cloud_provider::access::REQUIRED_ACCESS`]), granted only when asked for.

use cloud_provider::access::ApiAccess;

/// Reading `kubernetes.io/tls` Secrets named by `k8s.usacloud.jp/enhanced-lb-certificate-secret`
/// (the Helm chart grants it with `enhancedLoadBalancer.certificateSecrets: true`).
pub const CERTIFICATE_SECRET_ACCESS: ApiAccess = ApiAccess {
    group: "",
    resource: "secrets",
    verbs: &["get"],
    used_by: "Enhanced Load Balancer certificates from kubernetes.io/tls Secrets (optional)",
};
