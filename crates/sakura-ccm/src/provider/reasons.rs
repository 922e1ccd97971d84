//! Event reasons the SAKURA provider uses (`UpperCamelCase`, as Kubernetes reasons are).
//! `docs/load-balancers.md` lists them with their meaning.

/// Warning on a Service: one or more `k8s.usacloud.jp/*` annotations (or
/// `spec.loadBalancerIP`) are invalid; the load balancer is not created or changed.
pub const INVALID_ANNOTATION: &str = "InvalidAnnotation";
/// Warning on a Service: annotations that do not apply (unknown names, or options of the other
/// load-balancer type) were ignored.
pub const IGNORED_ANNOTATION: &str = "IgnoredAnnotation";
/// Warning on a Service: no router (or switch) carries the `@k8s` tag and the selector tag.
pub const NETWORK_NOT_FOUND: &str = "NetworkNotFound";
/// Warning on a Service: several routers (or switches) match; the selector annotation must
/// single one out.
pub const AMBIGUOUS_NETWORK: &str = "AmbiguousNetwork";
/// Warning on a Service: not enough free addresses for the appliance and its VIP.
pub const ADDRESSES_EXHAUSTED: &str = "AddressesExhausted";
/// Warning on a Service: `spec.loadBalancerIP` cannot be used (outside the network or taken).
pub const REQUESTED_IP_UNAVAILABLE: &str = "RequestedIPUnavailable";
/// Warning on a Service: every VRRP ID (1–255) is taken on the switch.
pub const VRID_EXHAUSTED: &str = "VRIDExhausted";
/// Warning on a Service: UDP or SCTP ports were left out (the appliance balances TCP only).
pub const UNSUPPORTED_PROTOCOL: &str = "UnsupportedProtocol";
/// Warning on a Service: no TCP port to balance.
pub const NO_TCP_PORTS: &str = "NoTCPPorts";
/// Warning on a Service: more ports than the appliance accepts; nothing was changed.
pub const TOO_MANY_PORTS: &str = "TooManyPorts";
/// Warning on a Service: Nodes without an address in the appliance's network were left out.
pub const NODES_OUTSIDE_NETWORK: &str = "NodesOutsideNetwork";
/// Warning on a Service: Nodes sharing an address with another Node were left out.
pub const DUPLICATE_NODE_ADDRESS: &str = "DuplicateNodeAddress";
/// Warning on a Service: more eligible Nodes than the appliance accepts as real servers.
pub const REAL_SERVER_LIMIT: &str = "RealServerLimitReached";
/// Normal on a Node: no server has the Node's name; it was matched by its provided node IP.
pub const MATCHED_BY_NODE_IP: &str = "ServerMatchedByNodeIP";
/// Warning on a Node: no server matches it.
pub const SERVER_NOT_FOUND: &str = "ServerNotFound";
/// Warning on a Node: several servers have the Node's name.
pub const DUPLICATE_SERVER_NAME: &str = "DuplicateServerName";
/// Warning on a Node: its `spec.providerID` is not `sakuracloud://<server ID>`.
pub const INVALID_PROVIDER_ID: &str = "InvalidProviderID";
/// Warning on a Service: it asks for a plan, redundancy or VIP its existing appliance cannot
/// change to in place.
pub const IMMUTABLE_SETTING_CHANGED: &str = "ImmutableSettingChanged";
/// Normal on a Service: new settings (ports, real servers, health check) were written and
/// applied to its appliance.
pub const SETTINGS_APPLIED: &str = "LoadBalancerSettingsApplied";
/// Normal on a Service: the original CCM's appliance for it was adopted (tags added).
pub const ADOPTED_APPLIANCE: &str = "AdoptedLoadBalancer";
/// Warning on a Service: its appliance's creation failed in the cloud.
pub const APPLIANCE_FAILED: &str = "LoadBalancerFailed";
/// Warning on a Service: several appliances carry its tags.
pub const DUPLICATE_APPLIANCES: &str = "DuplicateLoadBalancers";

/// Warning on a Service (Enhanced LB): a TCP port has no node port to target.
pub const NO_NODE_PORTS: &str = "NoNodePorts";
/// Warning on a Service (Enhanced LB): an `https` port without a certificate source.
pub const CERTIFICATE_MISSING: &str = "CertificateMissing";
/// Warning on a Service (Enhanced LB): nodes without a global address were left out.
pub const NODES_WITHOUT_GLOBAL_ADDRESS: &str = "NodesWithoutGlobalAddress";
/// Normal on a Service (Enhanced LB): Let's Encrypt was asked for a certificate.
pub const LETS_ENCRYPT_REQUESTED: &str = "LetsEncryptRequested";
/// Normal on a Service (Enhanced LB): its certificate is in place (issued or uploaded).
pub const CERTIFICATE_READY: &str = "CertificateReady";
/// Warning on a Service (Enhanced LB): its certificate Secret cannot be used.
pub const CERTIFICATE_SECRET_UNUSABLE: &str = "CertificateSecretUnusable";
/// Normal on a Service (Enhanced LB): its plan changed (the load balancer got a new ID).
pub const PLAN_CHANGED: &str = "LoadBalancerPlanChanged";
/// Nodes in another zone than the appliance's, not on a switch bridged to its switch, are left
/// out of its real servers (Warning).
pub const NODES_NOT_BRIDGED: &str = "NodesNotBridged";

/// Every reason, for documentation checks.
pub const ALL: [&str; 30] = [
    NO_NODE_PORTS,
    CERTIFICATE_MISSING,
    NODES_WITHOUT_GLOBAL_ADDRESS,
    LETS_ENCRYPT_REQUESTED,
    CERTIFICATE_READY,
    CERTIFICATE_SECRET_UNUSABLE,
    PLAN_CHANGED,
    INVALID_ANNOTATION,
    IGNORED_ANNOTATION,
    NETWORK_NOT_FOUND,
    AMBIGUOUS_NETWORK,
    ADDRESSES_EXHAUSTED,
    REQUESTED_IP_UNAVAILABLE,
    VRID_EXHAUSTED,
    UNSUPPORTED_PROTOCOL,
    NO_TCP_PORTS,
    TOO_MANY_PORTS,
    NODES_OUTSIDE_NETWORK,
    DUPLICATE_NODE_ADDRESS,
    REAL_SERVER_LIMIT,
    MATCHED_BY_NODE_IP,
    SERVER_NOT_FOUND,
    DUPLICATE_SERVER_NAME,
    INVALID_PROVIDER_ID,
    IMMUTABLE_SETTING_CHANGED,
    SETTINGS_APPLIED,
    ADOPTED_APPLIANCE,
    APPLIANCE_FAILED,
    DUPLICATE_APPLIANCES,
    NODES_NOT_BRIDGED,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_upper_camel_case_and_unique() {
        for r in ALL {
            assert!(
                r.chars().next().is_some_and(|c| c.is_ascii_uppercase()),
                "{r}"
            );
            assert!(r.chars().all(|c| c.is_ascii_alphanumeric()), "{r}");
        }
        let mut sorted = ALL.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALL.len());
    }

    #[test]
    fn every_reason_is_documented() {
        let doc = include_str!("../../../../docs/load-balancers.md");
        for r in ALL {
            assert!(doc.contains(&format!("`{r}`")), "{r} missing from the doc");
        }
    }
}
