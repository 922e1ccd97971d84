//! Which addresses a Node should have, given what the cloud reports.
//!
//! These are the upstream rules (k8s.io/cloud-provider `node/helpers/address.go` and the node
//! controller's `updateNodeAddress`):
//!
//! 1. If the cloud reports no address, leave the Node alone.
//! 2. If the cloud reports no `Hostname`, keep the kubelet's.
//! 3. If the kubelet was given `--node-ip` (annotation `alpha.kubernetes.io/provided-node-ip`),
//!    every provided IP must be among the cloud's addresses, or nothing is updated (an error:
//!    the taint stays and the sync is retried). Matching addresses go first; other addresses of
//!    a type that matched are dropped; the remaining types follow in cloud order.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::NodeAddress;

/// Why the Node's addresses cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The provided node IP annotation is not a list of IP addresses.
    #[error(
        "annotation alpha.kubernetes.io/provided-node-ip={value:?} is not a comma-separated list of IP addresses"
    )]
    InvalidProvidedIp {
        /// The annotation value.
        value: String,
    },
    /// A provided node IP is not one of the instance's addresses.
    #[error(
        "the kubelet's --node-ip {ip} is not one of the addresses the cloud reports for this instance ({cloud})"
    )]
    ProvidedIpNotFound {
        /// The IP that was not found.
        ip: IpAddr,
        /// The cloud's addresses, for the message.
        cloud: String,
    },
}

/// Parses the provided-node-ip annotation (one IP, or two comma-separated for dual stack).
pub fn parse_provided_node_ips(value: &str) -> Result<Vec<IpAddr>, AddressError> {
    let parsed: Result<Vec<IpAddr>, _> = value.split(',').map(|s| s.trim().parse()).collect();
    match parsed {
        Ok(ips) if !ips.is_empty() && ips.len() <= 2 => Ok(ips),
        _ => Err(AddressError::InvalidProvidedIp {
            value: value.to_owned(),
        }),
    }
}

/// The addresses a Node should get.
///
/// Returns `Ok(None)` when the cloud reported nothing (leave the Node as it is).
pub fn desired_node_addresses(
    cloud: &[NodeAddress],
    existing: &[NodeAddress],
    provided_node_ip: Option<&str>,
) -> Result<Option<Vec<NodeAddress>>, AddressError> {
    if cloud.is_empty() {
        return Ok(None);
    }
    let mut addresses: Vec<NodeAddress> = cloud.to_vec();
    if !addresses.iter().any(|a| a.type_ == "Hostname") {
        addresses.extend(existing.iter().filter(|a| a.type_ == "Hostname").cloned());
    }
    let Some(provided) = provided_node_ip.filter(|v| !v.trim().is_empty()) else {
        return Ok(Some(addresses));
    };
    let ips = parse_provided_node_ips(provided)?;

    let mut enforced: Vec<NodeAddress> = Vec::new();
    let mut matched_types: Vec<String> = Vec::new();
    for ip in ips {
        let matches: Vec<&NodeAddress> = addresses
            .iter()
            .filter(|a| a.address.parse::<IpAddr>().ok() == Some(ip))
            .collect();
        if matches.is_empty() {
            return Err(AddressError::ProvidedIpNotFound {
                ip,
                cloud: addresses
                    .iter()
                    .map(|a| format!("{}={}", a.type_, a.address))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        for m in matches {
            if !enforced.contains(m) {
                enforced.push(m.clone());
            }
            if !matched_types.contains(&m.type_) {
                matched_types.push(m.type_.clone());
            }
        }
    }
    enforced.extend(
        addresses
            .iter()
            .filter(|a| !matched_types.contains(&a.type_))
            .cloned(),
    );
    Ok(Some(enforced))
}

/// Whether the Node's current addresses differ from the desired ones (order included: the
/// first address of a type is the one clients pick).
pub fn addresses_differ(current: &[NodeAddress], desired: &[NodeAddress]) -> bool {
    current != desired
}

/// An address of a type, e.g. `node_address("InternalIP", "192.168.0.10")`.
pub fn node_address(type_: &str, addr: &str) -> NodeAddress {
    NodeAddress {
        type_: type_.to_owned(),
        address: addr.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(t: &str, v: &str) -> NodeAddress {
        node_address(t, v)
    }

    fn cloud() -> Vec<NodeAddress> {
        vec![
            a("ExternalIP", "203.0.113.10"),
            a("InternalIP", "192.168.0.10"),
            a("InternalIP", "192.168.1.10"),
            a("Hostname", "worker-1"),
        ]
    }

    #[test]
    fn no_cloud_addresses_means_leave_alone() {
        assert_eq!(desired_node_addresses(&[], &cloud(), None), Ok(None));
    }

    #[test]
    fn without_provided_ip_cloud_addresses_are_used_as_is() {
        assert_eq!(
            desired_node_addresses(&cloud(), &[], None),
            Ok(Some(cloud()))
        );
        assert_eq!(
            desired_node_addresses(&cloud(), &[], Some(" ")),
            Ok(Some(cloud()))
        );
    }

    #[test]
    fn kubelet_hostname_kept_when_cloud_has_none() {
        let cloud = vec![a("InternalIP", "192.168.0.10")];
        let existing = vec![a("InternalIP", "10.9.9.9"), a("Hostname", "kubelet-name")];
        assert_eq!(
            desired_node_addresses(&cloud, &existing, None),
            Ok(Some(vec![
                a("InternalIP", "192.168.0.10"),
                a("Hostname", "kubelet-name")
            ]))
        );
    }

    #[test]
    fn provided_ip_goes_first_and_drops_others_of_its_type() {
        let got = desired_node_addresses(&cloud(), &[], Some("192.168.1.10")).unwrap();
        assert_eq!(
            got,
            Some(vec![
                a("InternalIP", "192.168.1.10"),
                a("ExternalIP", "203.0.113.10"),
                a("Hostname", "worker-1"),
            ])
        );
    }

    #[test]
    fn provided_ip_matching_external_keeps_internal() {
        let got = desired_node_addresses(&cloud(), &[], Some("203.0.113.10")).unwrap();
        assert_eq!(
            got,
            Some(vec![
                a("ExternalIP", "203.0.113.10"),
                a("InternalIP", "192.168.0.10"),
                a("InternalIP", "192.168.1.10"),
                a("Hostname", "worker-1"),
            ])
        );
    }

    #[test]
    fn provided_ip_of_several_types_keeps_every_match() {
        let cloud = vec![
            a("ExternalIP", "203.0.113.10"),
            a("InternalIP", "203.0.113.10"),
        ];
        let got = desired_node_addresses(&cloud, &[], Some("203.0.113.10")).unwrap();
        assert_eq!(got, Some(cloud));
    }

    #[test]
    fn provided_ip_not_in_cloud_is_an_error() {
        let err = desired_node_addresses(&cloud(), &[], Some("10.0.0.1")).unwrap_err();
        assert!(matches!(err, AddressError::ProvidedIpNotFound { .. }));
        assert!(err.to_string().contains("10.0.0.1"));
        assert!(err.to_string().contains("InternalIP=192.168.0.10"));
    }

    #[test]
    fn dual_stack_provided_ips() {
        let cloud = vec![
            a("InternalIP", "192.168.0.10"),
            a("InternalIP", "fd00::10"),
            a("InternalIP", "192.168.0.11"),
            a("ExternalIP", "203.0.113.10"),
        ];
        let got = desired_node_addresses(&cloud, &[], Some("fd00::10,192.168.0.10")).unwrap();
        assert_eq!(
            got,
            Some(vec![
                a("InternalIP", "fd00::10"),
                a("InternalIP", "192.168.0.10"),
                a("ExternalIP", "203.0.113.10"),
            ])
        );
    }

    #[test]
    fn garbage_annotation_is_an_error() {
        for bad in ["not-an-ip", "1.2.3.4,,", "1.1.1.1,2.2.2.2,3.3.3.3"] {
            assert!(
                matches!(
                    desired_node_addresses(&cloud(), &[], Some(bad)),
                    Err(AddressError::InvalidProvidedIp { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn change_detection_is_order_sensitive() {
        let x = vec![a("InternalIP", "1.1.1.1"), a("ExternalIP", "2.2.2.2")];
        let y = vec![a("ExternalIP", "2.2.2.2"), a("InternalIP", "1.1.1.1")];
        assert!(!addresses_differ(&x, &x.clone()));
        assert!(addresses_differ(&x, &y));
        assert!(addresses_differ(&x, &x[..1]));
    }
}
