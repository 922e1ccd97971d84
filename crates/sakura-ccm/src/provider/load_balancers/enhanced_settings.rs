//! What an Enhanced Load Balancer should be for a Service, and whether it already is: pure
//! decisions, no I/O.
//!
//! The Enhanced LB is a proxy on SAKURA's network: it listens on the Service's ports (at most
//! two) and connects to real servers at any SAKURA global address, so its real servers are the
//! Nodes' global addresses (`ExternalIP`: a NIC on the shared segment or on a switch+router) at
//! the Service's node ports. Unlike the appliance (DSR), nothing on the nodes needs to answer
//! for the VIP, and a health check reaches each real server on its own port.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use cloud_provider::provider::ProviderEvent;
use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, Node, ServicePort};
use sacloud::api::proxy_lb::settings::{MAX_BIND_PORTS, MAX_SERVERS};
use sacloud::api::proxy_lb::{
    BindPort, LetsEncrypt, ProxyLb, ProxyLbHealthCheck, ProxyLbHealthCheckProtocol, ProxyLbServer,
    ProxyLbSettings, ProxyMode, StickySession,
};

use crate::provider::annotations::{
    CertificateSource, ENHANCED_PORT_MODES, EnhancedOptions, PortRef,
};
use crate::provider::reasons;
use crate::provider::settings::{SettingsError, TcpPort, listed, tcp_ports};

/// How the Enhanced LB is called in messages.
pub const PRODUCT: &str = "an Enhanced Load Balancer";

/// A Node as a possible real server: its name and first global IPv4 address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalTarget {
    /// Node name.
    pub name: String,
    /// Its first `ExternalIP` (IPv4), if any.
    pub address: Option<Ipv4Addr>,
    /// Whether the Node reports any address at all: one without is still being initialized
    /// (its addresses follow), not one without a global address.
    pub has_addresses: bool,
}

/// The targets for `nodes`, by name.
pub fn global_targets(nodes: &[Arc<Node>]) -> Vec<GlobalTarget> {
    let mut targets: Vec<GlobalTarget> = nodes
        .iter()
        .map(|n| GlobalTarget {
            name: n.metadata.name.clone().unwrap_or_default(),
            has_addresses: n
                .status
                .as_ref()
                .and_then(|s| s.addresses.as_ref())
                .is_some_and(|a| !a.is_empty()),
            address: n
                .status
                .as_ref()
                .and_then(|s| s.addresses.as_ref())
                .into_iter()
                .flatten()
                .filter(|a| a.type_ == "ExternalIP")
                .find_map(|a| a.address.trim().parse::<Ipv4Addr>().ok()),
        })
        .collect();
    targets.sort_by(|a, b| a.name.cmp(&b.name));
    targets
}

/// The settings to write and what to tell the user about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredEnhanced {
    /// The settings (those this CCM does not manage kept from the current ones).
    pub settings: ProxyLbSettings,
    /// The real servers, as (node name, address), by node name.
    pub real_servers: Vec<(String, Ipv4Addr)>,
    /// Events for the Service (ports or nodes left out, limits).
    pub events: Vec<ProviderEvent>,
}

/// Why no settings can be built; the Enhanced LB is left as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnhancedError {
    /// No TCP port, or more than two.
    #[error(transparent)]
    Ports(#[from] SettingsError),
    /// A TCP port without a node port (`allocateLoadBalancerNodePorts: false`).
    #[error(
        "port {port} has no node port (allocateLoadBalancerNodePorts is false), and {PRODUCT} reaches the nodes only through node ports; allocate node ports or use another load-balancer type"
    )]
    NoNodePort {
        /// The Service port.
        port: u16,
    },
    /// An `https` port, but no certificate source.
    #[error(
        "port {port} is https but the Service names no certificate: set k8s.usacloud.jp/enhanced-lb-lets-encrypt (names that resolve to the load balancer) or k8s.usacloud.jp/enhanced-lb-certificate-secret (a kubernetes.io/tls Secret)"
    )]
    CertificateMissing {
        /// The Service port.
        port: u16,
    },
}

impl EnhancedError {
    /// The Warning event to publish on the Service.
    pub fn event(&self) -> ProviderEvent {
        match self {
            EnhancedError::Ports(e) => e.event(),
            EnhancedError::NoNodePort { .. } => {
                ProviderEvent::warning(reasons::NO_NODE_PORTS, self.to_string())
            }
            EnhancedError::CertificateMissing { .. } => {
                ProviderEvent::warning(reasons::CERTIFICATE_MISSING, self.to_string())
            }
        }
    }
}

/// Builds the settings for the Service's `ports` with `targets` as real servers, starting from
/// `current` (the Enhanced LB's settings, or the defaults for a new one) so that what this CCM
/// does not manage (rules, response headers, syslog, sorry server, ...) stays as it is.
///
/// - TCP ports only, 1 or 2; UDP and SCTP are left out with a Warning; each needs a node port.
/// - Real servers: every target with a global address, at each port's node port, by node name;
///   at most [`MAX_SERVERS`] entries in all, so that every port has the same nodes (20 nodes
///   with two ports); the rest, and nodes without a global address, are named in Warnings.
pub fn desired_enhanced(
    ports: &[ServicePort],
    options: &EnhancedOptions,
    targets: &[GlobalTarget],
    current: Option<&ProxyLbSettings>,
) -> Result<DesiredEnhanced, EnhancedError> {
    let mut events = Vec::new();
    let tcp = tcp_ports(ports, MAX_BIND_PORTS, PRODUCT)?;
    events.extend(tcp.unsupported);
    let mut listeners: Vec<(&TcpPort, u16, ProxyMode)> = Vec::new();
    for port in &tcp.ports {
        let node_port = port
            .node_port
            .ok_or(EnhancedError::NoNodePort { port: port.port })?;
        let mode = options.mode_of(port.port, port.name.as_deref());
        if mode == ProxyMode::Https && options.certificate.is_none() {
            return Err(EnhancedError::CertificateMissing { port: port.port });
        }
        listeners.push((port, node_port, mode));
    }
    let unmatched: Vec<String> = options
        .port_modes
        .iter()
        .filter(|(r, _)| {
            !tcp.ports.iter().any(|p| match r {
                PortRef::Number(n) => *n == p.port,
                PortRef::Name(n) => p.name.as_deref() == Some(n.as_str()),
            })
        })
        .map(|(r, _)| r.to_string())
        .collect();
    if !unmatched.is_empty() {
        events.push(ProviderEvent::warning(
            reasons::IGNORED_ANNOTATION,
            format!(
                "{ENHANCED_PORT_MODES} names ports the Service does not have: {}",
                unmatched.join(", ")
            ),
        ));
    }

    let (with_address, without): (Vec<&GlobalTarget>, Vec<&GlobalTarget>) =
        targets.iter().partition(|t| t.address.is_some());
    // Nodes still being initialized get their addresses (and a node-set update) shortly.
    let without: Vec<&GlobalTarget> = without.into_iter().filter(|t| t.has_addresses).collect();
    if !without.is_empty() {
        let names: Vec<String> = without.iter().map(|t| t.name.clone()).collect();
        events.push(ProviderEvent::warning(
            reasons::NODES_WITHOUT_GLOBAL_ADDRESS,
            format!(
                "nodes {} have no global address (ExternalIP), so {PRODUCT} cannot reach them: connect them to the shared segment or a switch+router, or use load-balancer-type switch",
                listed(&names)
            ),
        ));
    }
    let mut real_servers: Vec<(String, Ipv4Addr)> = Vec::new();
    let mut duplicates: Vec<String> = Vec::new();
    for target in with_address {
        let Some(address) = target.address else {
            continue;
        };
        if let Some((first, _)) = real_servers.iter().find(|(_, a)| *a == address) {
            duplicates.push(format!("{} (shares {address} with {first})", target.name));
            continue;
        }
        real_servers.push((target.name.clone(), address));
    }
    if !duplicates.is_empty() {
        events.push(ProviderEvent::warning(
            reasons::DUPLICATE_NODE_ADDRESS,
            format!(
                "nodes {} are left out: a real server address can be registered once",
                listed(&duplicates)
            ),
        ));
    }
    let per_port = MAX_SERVERS / listeners.len().max(1);
    if real_servers.len() > per_port {
        let left_out: Vec<String> = real_servers
            .split_off(per_port)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        events.push(ProviderEvent::warning(
            reasons::REAL_SERVER_LIMIT,
            format!(
                "{} eligible nodes, but {PRODUCT} takes at most {MAX_SERVERS} real servers ({per_port} nodes with {} ports): the first {per_port} by name are registered; left out: {}",
                per_port + left_out.len(),
                listeners.len(),
                listed(&left_out)
            ),
        ));
    }

    let mut settings = current.cloned().unwrap_or_default();
    settings.bind_ports = listeners
        .iter()
        .map(|(port, _, mode)| {
            let existing = current.and_then(|c| c.bind_ports.iter().find(|b| b.port == port.port));
            let mut bind = BindPort::new(mode.clone(), port.port);
            // Response headers are not managed here: keep what an operator set.
            if let Some(existing) = existing {
                bind.add_response_header = existing.add_response_header.clone();
            }
            bind.redirect_to_https = *mode == ProxyMode::Http && options.redirect_to_https;
            bind.support_http2 = *mode == ProxyMode::Https && options.http2;
            bind.ssl_policy = if *mode == ProxyMode::Https {
                options.ssl_policy.clone()
            } else {
                None
            };
            bind
        })
        .collect();
    settings.servers = listeners
        .iter()
        .flat_map(|(_, node_port, _)| {
            real_servers
                .iter()
                .map(move |(_, address)| ProxyLbServer::new(*address, *node_port))
        })
        .collect();
    let http = options.health_check.protocol == ProxyLbHealthCheckProtocol::Http;
    settings.health_check = ProxyLbHealthCheck {
        protocol: options.health_check.protocol.clone(),
        path: http.then(|| options.health_check.path.clone()),
        host: if http {
            settings.health_check.host.clone()
        } else {
            None
        },
        delay_loop: options.health_check.interval_secs,
    };
    settings.sticky_session = StickySession {
        enabled: options.sticky_session,
        method: options.sticky_session.then(|| "cookie".to_owned()),
    };
    settings.timeout.inactive_sec = options.timeout_secs;
    settings.gzip.enabled = options.gzip;
    settings.proxy_protocol.enabled = options.proxy_protocol;
    settings.lets_encrypt = match &options.certificate {
        Some(CertificateSource::LetsEncrypt(names)) => LetsEncrypt {
            enabled: true,
            common_name: names.first().cloned().unwrap_or_default(),
            subject_alt_names: names.iter().skip(1).cloned().collect(),
        },
        _ => LetsEncrypt::default(),
    };
    Ok(DesiredEnhanced {
        settings,
        real_servers,
        events,
    })
}

/// The part of the settings this CCM manages, in a form where order and read-back defaults do
/// not count as a difference.
#[derive(Debug, PartialEq, Eq)]
struct Managed {
    bind_ports: BTreeMap<u16, (String, bool, bool, Option<String>)>,
    servers: Vec<(Option<Ipv4Addr>, u16, bool)>,
    health: (String, Option<String>, u32),
    sticky: bool,
    timeout: u32,
    gzip: bool,
    proxy_protocol: bool,
    lets_encrypt: (bool, Option<String>, Vec<String>),
}

fn managed(s: &ProxyLbSettings) -> Managed {
    let http = s.health_check.protocol == ProxyLbHealthCheckProtocol::Http;
    let mut servers: Vec<(Option<Ipv4Addr>, u16, bool)> = s
        .servers
        .iter()
        .map(|r| (r.ip_address, r.port, r.enabled))
        .collect();
    servers.sort();
    let mut alt_names = s.lets_encrypt.subject_alt_names.clone();
    alt_names.sort();
    Managed {
        bind_ports: s
            .bind_ports
            .iter()
            .map(|b| {
                (
                    b.port,
                    (
                        b.proxy_mode.as_str().to_ascii_lowercase(),
                        b.redirect_to_https,
                        b.support_http2,
                        b.ssl_policy.as_ref().map(|p| p.as_str().to_owned()),
                    ),
                )
            })
            .collect(),
        servers,
        health: (
            s.health_check.protocol.as_str().to_ascii_lowercase(),
            s.health_check
                .path
                .clone()
                .filter(|p| http && !p.is_empty()),
            s.health_check.delay_loop,
        ),
        sticky: s.sticky_session.enabled,
        timeout: s.timeout.inactive_sec,
        gzip: s.gzip.enabled,
        proxy_protocol: s.proxy_protocol.enabled,
        lets_encrypt: (
            s.lets_encrypt.enabled,
            Some(s.lets_encrypt.common_name.clone()).filter(|_| s.lets_encrypt.enabled),
            if s.lets_encrypt.enabled {
                alt_names
            } else {
                Vec::new()
            },
        ),
    }
}

/// Whether `current` already has everything `desired` asks for.
pub fn enhanced_settings_equal(desired: &ProxyLbSettings, current: &ProxyLbSettings) -> bool {
    managed(desired) == managed(current)
}

/// What a Service asks of an existing Enhanced LB that cannot change in place (region, VIP
/// failover): one Warning, the item stays as it is.
pub fn immutable_enhanced_changes(
    item: &ProxyLb,
    options: &EnhancedOptions,
) -> Option<ProviderEvent> {
    let mut changes: Vec<String> = Vec::new();
    if item.status.region != options.region {
        changes.push(format!(
            "the region (it is {}, the Service asks for {})",
            item.status.region.as_str(),
            options.region.as_str()
        ));
    }
    if item.status.use_vip_failover != options.vip_failover {
        changes.push(format!(
            "VIP failover (it is {}, the Service asks for {})",
            on_off(item.status.use_vip_failover),
            on_off(options.vip_failover)
        ));
    }
    if changes.is_empty() {
        return None;
    }
    Some(ProviderEvent::warning(
        reasons::IMMUTABLE_SETTING_CHANGED,
        format!(
            "Enhanced Load Balancer {} (ID {}) keeps {}: fixed at creation, it cannot change in place (the other settings are still applied); delete and re-create the Service to get a new one",
            item.name,
            item.id,
            changes.join(", ")
        ),
    ))
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// The status to publish: the current VIP and, with VIP failover, the FQDN (the name that
/// stays right when the VIP moves); `ipMode: Proxy` with PROXY protocol, so that in-cluster
/// clients also go through the load balancer and get the header.
pub fn enhanced_status(
    vip: Option<Ipv4Addr>,
    fqdn: &str,
    proxy_protocol: bool,
) -> LoadBalancerStatus {
    let fqdn = fqdn.trim();
    if vip.is_none() && fqdn.is_empty() {
        return LoadBalancerStatus::default();
    }
    LoadBalancerStatus {
        ingress: Some(vec![LoadBalancerIngress {
            ip: vip.map(|v| v.to_string()),
            hostname: (!fqdn.is_empty()).then(|| fqdn.to_owned()),
            ip_mode: Some(if proxy_protocol { "Proxy" } else { "VIP" }.to_owned()),
            ..LoadBalancerIngress::default()
        }]),
    }
}

/// A short description of the settings for the Normal event after they are written.
pub fn describe_enhanced(
    settings: &ProxyLbSettings,
    real_servers: &[(String, Ipv4Addr)],
) -> String {
    let ports: Vec<String> = settings
        .bind_ports
        .iter()
        .map(|b| format!("{} ({})", b.port, b.proxy_mode.as_str()))
        .collect();
    let servers: Vec<String> = real_servers
        .iter()
        .map(|(name, ip)| format!("{name} ({ip})"))
        .collect();
    format!(
        "ports {}; real servers: {}",
        ports.join(", "),
        if servers.is_empty() {
            "none".to_owned()
        } else {
            listed(&servers)
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::annotations::{LOAD_BALANCER_TYPE, Requested, TrafficPolicy, parse};
    use k8s_openapi::api::core::v1::{NodeAddress, NodeStatus};
    use sacloud::api::proxy_lb::ProxyLbRegion;

    fn options(pairs: &[(&str, &str)]) -> EnhancedOptions {
        let mut map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        map.insert(LOAD_BALANCER_TYPE.to_owned(), "enhanced".to_owned());
        match parse(&map, None, TrafficPolicy::Cluster).unwrap() {
            Requested::Enhanced(o) => o,
            Requested::Appliance(_) => unreachable!(),
        }
    }

    fn port(port: i32, node_port: Option<i32>, name: Option<&str>, protocol: &str) -> ServicePort {
        ServicePort {
            port,
            node_port,
            name: name.map(str::to_owned),
            protocol: Some(protocol.to_owned()),
            ..ServicePort::default()
        }
    }

    fn targets(n: usize) -> Vec<GlobalTarget> {
        (0..n)
            .map(|i| GlobalTarget {
                name: format!("node-{i:02}"),
                address: Some(Ipv4Addr::new(203, 0, 113, 10 + i as u8)),
                has_addresses: true,
            })
            .collect()
    }

    fn node(name: &str, addresses: &[(&str, &str)]) -> Node {
        Node {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some(name.to_owned()),
                ..Default::default()
            },
            status: Some(NodeStatus {
                addresses: Some(
                    addresses
                        .iter()
                        .map(|(t, a)| NodeAddress {
                            type_: (*t).to_owned(),
                            address: (*a).to_owned(),
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Node::default()
        }
    }

    #[test]
    fn targets_are_external_addresses_by_name() {
        let t = global_targets(
            &[
                node(
                    "b",
                    &[("InternalIP", "192.168.0.2"), ("ExternalIP", "203.0.113.2")],
                ),
                node("a", &[("InternalIP", "192.168.0.1")]),
            ]
            .map(Arc::new),
        );
        assert_eq!(
            t,
            vec![
                GlobalTarget {
                    name: "a".into(),
                    address: None,
                    has_addresses: true
                },
                GlobalTarget {
                    name: "b".into(),
                    address: Some("203.0.113.2".parse().unwrap()),
                    has_addresses: true
                },
            ]
        );
    }

    #[test]
    fn one_tcp_port_maps_to_the_nodes_at_its_node_port() {
        let d = desired_enhanced(
            &[port(80, Some(30080), Some("http"), "TCP")],
            &options(&[]),
            &targets(3),
            None,
        )
        .unwrap();
        assert!(d.events.is_empty(), "{:?}", d.events);
        assert_eq!(d.settings.bind_ports.len(), 1);
        assert_eq!(d.settings.bind_ports[0].proxy_mode, ProxyMode::Tcp);
        assert_eq!(d.settings.bind_ports[0].port, 80);
        let servers: Vec<(Option<Ipv4Addr>, u16)> = d
            .settings
            .servers
            .iter()
            .map(|s| (s.ip_address, s.port))
            .collect();
        assert_eq!(servers.len(), 3);
        assert!(servers.iter().all(|(_, p)| *p == 30080));
        assert_eq!(
            d.settings.health_check.protocol,
            ProxyLbHealthCheckProtocol::Tcp
        );
        assert_eq!(d.settings.health_check.path, None);
        assert_eq!(d.settings.timeout.inactive_sec, 10);
        assert!(!d.settings.lets_encrypt.enabled);
    }

    #[test]
    fn port_modes_and_l7_switches_apply_per_mode() {
        let o = options(&[
            (
                "k8s.usacloud.jp/enhanced-lb-port-modes",
                "80=http,https=https",
            ),
            ("k8s.usacloud.jp/enhanced-lb-redirect-to-https", "true"),
            ("k8s.usacloud.jp/enhanced-lb-http2", "true"),
            ("k8s.usacloud.jp/enhanced-lb-ssl-policy", "TLS-1-2-2021-06"),
            (
                "k8s.usacloud.jp/enhanced-lb-lets-encrypt",
                "www.example.com,example.com",
            ),
            ("k8s.usacloud.jp/enhanced-lb-sticky-session", "true"),
            ("k8s.usacloud.jp/enhanced-lb-gzip", "true"),
            ("k8s.usacloud.jp/enhanced-lb-timeout", "60"),
            ("k8s.usacloud.jp/enhanced-lb-proxy-protocol", "true"),
            ("k8s.usacloud.jp/load-balancer-healthz-protocol", "http"),
        ]);
        let d = desired_enhanced(
            &[
                port(80, Some(30080), None, "TCP"),
                port(443, Some(30443), Some("https"), "TCP"),
            ],
            &o,
            &targets(2),
            None,
        )
        .unwrap();
        let http = &d.settings.bind_ports[0];
        let https = &d.settings.bind_ports[1];
        assert_eq!(
            (
                http.proxy_mode.clone(),
                http.redirect_to_https,
                http.support_http2
            ),
            (ProxyMode::Http, true, false)
        );
        assert_eq!(http.ssl_policy, None);
        assert_eq!(
            (
                https.proxy_mode.clone(),
                https.redirect_to_https,
                https.support_http2
            ),
            (ProxyMode::Https, false, true)
        );
        assert_eq!(
            https.ssl_policy.as_ref().map(|p| p.as_str()),
            Some("TLS-1-2-2021-06")
        );
        assert_eq!(d.settings.servers.len(), 4, "two nodes at two node ports");
        assert!(d.settings.sticky_session.enabled);
        assert!(d.settings.gzip.enabled && d.settings.proxy_protocol.enabled);
        assert_eq!(d.settings.timeout.inactive_sec, 60);
        assert_eq!(d.settings.health_check.path.as_deref(), Some("/"));
        assert!(d.settings.lets_encrypt.enabled);
        assert_eq!(d.settings.lets_encrypt.common_name, "www.example.com");
        assert_eq!(
            d.settings.lets_encrypt.subject_alt_names,
            vec!["example.com".to_owned()]
        );
    }

    #[test]
    fn what_cannot_be_built_says_why() {
        let o = options(&[]);
        let three = [
            port(80, Some(30080), None, "TCP"),
            port(443, Some(30443), None, "TCP"),
            port(8080, Some(30880), None, "TCP"),
        ];
        let e = desired_enhanced(&three, &o, &targets(1), None).unwrap_err();
        assert_eq!(e.event().reason, reasons::TOO_MANY_PORTS);
        assert!(e.to_string().contains("at most 2"), "{e}");

        let e = desired_enhanced(&[port(53, Some(30053), None, "UDP")], &o, &targets(1), None)
            .unwrap_err();
        assert_eq!(e.event().reason, reasons::NO_TCP_PORTS);

        let e =
            desired_enhanced(&[port(80, None, None, "TCP")], &o, &targets(1), None).unwrap_err();
        assert_eq!(e.event().reason, reasons::NO_NODE_PORTS);

        let https = options(&[("k8s.usacloud.jp/enhanced-lb-port-modes", "443=https")]);
        let e = desired_enhanced(
            &[port(443, Some(30443), None, "TCP")],
            &https,
            &targets(1),
            None,
        )
        .unwrap_err();
        assert_eq!(e.event().reason, reasons::CERTIFICATE_MISSING);
    }

    #[test]
    fn udp_ports_nodes_without_global_addresses_and_unknown_port_modes_are_warnings() {
        let o = options(&[("k8s.usacloud.jp/enhanced-lb-port-modes", "81=http")]);
        let mut t = targets(2);
        t.push(GlobalTarget {
            name: "private".into(),
            address: None,
            has_addresses: true,
        });
        t.push(GlobalTarget {
            name: "joining".into(),
            address: None,
            has_addresses: false,
        });
        let d = desired_enhanced(
            &[
                port(80, Some(30080), None, "TCP"),
                port(53, Some(30053), None, "UDP"),
            ],
            &o,
            &t,
            None,
        )
        .unwrap();
        let reasons: Vec<&str> = d.events.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(
            reasons,
            vec![
                reasons::UNSUPPORTED_PROTOCOL,
                reasons::IGNORED_ANNOTATION,
                reasons::NODES_WITHOUT_GLOBAL_ADDRESS
            ]
        );
        assert!(d.events[2].message.contains("private"));
        assert!(
            !d.events[2].message.contains("joining"),
            "a Node without addresses yet is still being initialized"
        );
        assert_eq!(d.real_servers.len(), 2);
    }

    #[test]
    fn forty_entries_at_most_with_the_same_nodes_on_every_port() {
        let two_ports = [
            port(80, Some(30080), None, "TCP"),
            port(443, Some(30443), None, "TCP"),
        ];
        let d = desired_enhanced(&two_ports, &options(&[]), &targets(25), None).unwrap();
        assert_eq!(d.settings.servers.len(), MAX_SERVERS);
        assert_eq!(d.real_servers.len(), 20);
        let warning = d
            .events
            .iter()
            .find(|e| e.reason == reasons::REAL_SERVER_LIMIT)
            .unwrap();
        assert!(warning.message.contains("node-24"), "{}", warning.message);
        assert!(!warning.message.contains("node-19"), "{}", warning.message);

        let one_port =
            desired_enhanced(&two_ports[..1], &options(&[]), &targets(40), None).unwrap();
        assert_eq!(one_port.settings.servers.len(), 40);
        assert!(one_port.events.is_empty());
    }

    #[test]
    fn unmanaged_settings_are_kept_and_equality_ignores_order() {
        let o = options(&[]);
        let ports = [port(80, Some(30080), None, "TCP")];
        let first = desired_enhanced(&ports, &o, &targets(3), None).unwrap();
        let mut current = first.settings.clone();
        current.servers.reverse();
        current.syslog.server = "192.0.2.9".to_owned();
        current
            .other
            .insert("StrictRule".into(), serde_json::json!({"Enabled": true}));
        assert!(enhanced_settings_equal(&first.settings, &current));
        let again = desired_enhanced(&ports, &o, &targets(3), Some(&current)).unwrap();
        assert_eq!(again.settings.syslog.server, "192.0.2.9");
        assert!(again.settings.other.contains_key("StrictRule"));

        let fewer = desired_enhanced(&ports, &o, &targets(2), Some(&current)).unwrap();
        assert!(!enhanced_settings_equal(&fewer.settings, &current));
    }

    #[test]
    fn status_has_the_vip_the_fqdn_and_the_ip_mode() {
        let vip = Some("198.19.0.5".parse().unwrap());
        let s = enhanced_status(vip, "site-1.proxylb1.sakura.ne.jp", true);
        let ingress = &s.ingress.unwrap()[0];
        assert_eq!(ingress.ip.as_deref(), Some("198.19.0.5"));
        assert_eq!(
            ingress.hostname.as_deref(),
            Some("site-1.proxylb1.sakura.ne.jp")
        );
        assert_eq!(ingress.ip_mode.as_deref(), Some("Proxy"));
        let plain = enhanced_status(vip, "", false);
        assert_eq!(plain.ingress.unwrap()[0].hostname, None);
        assert_eq!(
            enhanced_status(None, "", false),
            LoadBalancerStatus::default()
        );
    }

    #[test]
    fn region_and_vip_failover_cannot_change_in_place() {
        let mut item: ProxyLb = serde_json::from_value(serde_json::json!({
            "ID": "1", "Name": "a1", "Status": {"Region": "is1", "UseVIPFailover": false}
        }))
        .unwrap();
        assert!(immutable_enhanced_changes(&item, &options(&[])).is_none());
        let event = immutable_enhanced_changes(
            &item,
            &options(&[
                ("k8s.usacloud.jp/enhanced-lb-region", "tk1"),
                ("k8s.usacloud.jp/enhanced-lb-vip-failover", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(event.reason, reasons::IMMUTABLE_SETTING_CHANGED);
        assert!(event.message.contains("region") && event.message.contains("VIP failover"));
        item.status.region = ProxyLbRegion::Tk1;
        assert!(
            immutable_enhanced_changes(
                &item,
                &options(&[("k8s.usacloud.jp/enhanced-lb-region", "tk1")])
            )
            .is_none()
        );
    }
}
