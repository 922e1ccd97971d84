//! The appliance settings a Service asks for, and whether the appliance already has them.
//!
//! One VIP serves every TCP port of the Service: one `Settings.LoadBalancer` entry per port,
//! whose real servers are the eligible nodes' addresses inside the appliance's network at that
//! same port (DSR: the appliance rewrites only the MAC address, so the VIP port is the real
//! port, and kube-proxy on each node catches VIP:port). The health check usually targets
//! another port (kube-proxy's, or the Service's `healthCheckNodePort`).
//!
//! The original rebuilt and wrote the settings on every update; [`settings_equal`] lets the
//! caller write nothing when nothing changed.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use cloud_provider::provider::ProviderEvent;
use k8s_openapi::api::core::v1::{Node, ServicePort};
use sacloud::wire::{StringFlag, StringNumber};
use sacloud::{HealthCheck, LoadBalancer, LoadBalancerSettings, RealServer, VirtualIpAddress};

use super::annotations::HealthCheckOptions;
use super::cidr::Ipv4Cidr;
use super::reasons;
use super::text::join_list;

/// Most VIP + port entries an appliance accepts.
pub const MAX_PORTS: usize = 20;
/// Most real servers an appliance accepts.
pub const MAX_REAL_SERVERS: usize = 40;
/// The API's `DelayLoop` when none is set.
pub const DEFAULT_DELAY_LOOP: u64 = 10;
/// Names listed in one event before "and N more".
const MAX_LISTED: usize = 10;

/// A Node as a possible real server: its name and IPv4 addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTarget {
    /// Node name.
    pub name: String,
    /// Its IPv4 addresses (InternalIP and ExternalIP), in status order.
    pub addresses: Vec<Ipv4Addr>,
}

/// The targets for `nodes` (already filtered for eligibility by the service controller).
pub fn node_targets(nodes: &[Arc<Node>]) -> Vec<NodeTarget> {
    nodes
        .iter()
        .map(|n| NodeTarget {
            name: n.metadata.name.clone().unwrap_or_default(),
            addresses: n
                .status
                .as_ref()
                .and_then(|s| s.addresses.as_ref())
                .into_iter()
                .flatten()
                .filter(|a| a.type_ == "InternalIP" || a.type_ == "ExternalIP")
                .filter_map(|a| a.address.trim().parse::<Ipv4Addr>().ok())
                .collect(),
        })
        .collect()
}

/// The network an existing appliance sits in: its first own address with its netmask.
pub fn appliance_network(appliance: &LoadBalancer) -> Option<Ipv4Cidr> {
    let ip = appliance.remark.servers.iter().find_map(|s| s.ip_address)?;
    match appliance.remark.network.network_mask_len {
        0 => None,
        len => Ipv4Cidr::new(ip, len),
    }
}

/// The settings to write, and what to tell the user about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredSettings {
    /// The settings.
    pub settings: LoadBalancerSettings,
    /// The real servers, as (node name, address), by node name.
    pub real_servers: Vec<(String, Ipv4Addr)>,
    /// Events for the Service (ports or nodes left out, limits).
    pub events: Vec<ProviderEvent>,
}

/// Why no settings can be built; the appliance is left as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// More TCP ports than the load balancer accepts.
    #[error(
        "the Service has {count} TCP ports; {product} serves at most {max}, so nothing was changed: split the ports over several Services"
    )]
    TooManyPorts {
        /// TCP ports in the Service.
        count: usize,
        /// The most the load balancer takes.
        max: usize,
        /// What kind of load balancer, for the message.
        product: &'static str,
    },
    /// No TCP port at all.
    #[error(
        "the Service has no TCP port ({skipped}); a SAKURA load balancer forwards TCP only, so nothing was created or changed"
    )]
    NoTcpPorts {
        /// The ports left out, for the message.
        skipped: String,
    },
}

impl SettingsError {
    /// The Warning event to publish on the Service.
    pub fn event(&self) -> ProviderEvent {
        let reason = match self {
            SettingsError::TooManyPorts { .. } => reasons::TOO_MANY_PORTS,
            SettingsError::NoTcpPorts { .. } => reasons::NO_TCP_PORTS,
        };
        ProviderEvent::warning(reason, self.to_string())
    }
}

fn describe_port(p: &ServicePort) -> String {
    let protocol = p.protocol.as_deref().unwrap_or("TCP");
    match p.name.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => format!("{protocol} {} ({name})", p.port),
        None => format!("{protocol} {}", p.port),
    }
}

/// Names for a message: the first ten, then "and N more".
pub(crate) fn listed(names: &[String]) -> String {
    if names.len() <= MAX_LISTED {
        return join_list(names);
    }
    format!(
        "{} and {} more",
        names[..MAX_LISTED].join(", "),
        names.len() - MAX_LISTED
    )
}

/// A Service's TCP port, as a load balancer serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpPort {
    /// `port`.
    pub port: u16,
    /// `nodePort`, when allocated.
    pub node_port: Option<u16>,
    /// `name`, when set.
    pub name: Option<String>,
}

/// The TCP ports of a Service, and the Warning about the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpPorts {
    /// TCP ports (a missing protocol is TCP), in spec order, each port once.
    pub ports: Vec<TcpPort>,
    /// The Warning naming UDP and SCTP ports left out, if any.
    pub unsupported: Option<ProviderEvent>,
}

/// The Service's TCP ports; none, or more than `max`, is an error (`product` names the load
/// balancer in the message).
pub fn tcp_ports(
    ports: &[ServicePort],
    max: usize,
    product: &'static str,
) -> Result<TcpPorts, SettingsError> {
    let (tcp, skipped): (Vec<&ServicePort>, Vec<&ServicePort>) = ports
        .iter()
        .partition(|p| p.protocol.as_deref().is_none_or(|proto| proto == "TCP"));
    let skipped: Vec<String> = skipped.into_iter().map(describe_port).collect();
    let mut out: Vec<TcpPort> = Vec::new();
    for p in tcp {
        // The API server guarantees 1–65535 and unique port+protocol; stay safe anyway.
        if let Ok(port) = u16::try_from(p.port)
            && port != 0
            && !out.iter().any(|t| t.port == port)
        {
            out.push(TcpPort {
                port,
                node_port: p
                    .node_port
                    .and_then(|n| u16::try_from(n).ok())
                    .filter(|n| *n != 0),
                name: p.name.clone().filter(|n| !n.is_empty()),
            });
        }
    }
    if out.is_empty() {
        return Err(SettingsError::NoTcpPorts {
            skipped: if skipped.is_empty() {
                "no ports".to_owned()
            } else {
                join_list(&skipped)
            },
        });
    }
    if out.len() > max {
        return Err(SettingsError::TooManyPorts {
            count: out.len(),
            max,
            product,
        });
    }
    let unsupported = (!skipped.is_empty()).then(|| {
        ProviderEvent::warning(
            reasons::UNSUPPORTED_PROTOCOL,
            format!(
                "ports {} are not balanced: {product} forwards TCP only",
                join_list(&skipped)
            ),
        )
    });
    Ok(TcpPorts {
        ports: out,
        unsupported,
    })
}

/// Builds the settings for `ports` on `vip` with the eligible `nodes` as real servers.
///
/// - TCP ports only (a missing protocol is TCP); UDP and SCTP ports are left out with one
///   Warning event. No TCP port, or more than [`MAX_PORTS`], is an error.
/// - Each node's first address inside `network` is its real-server address; nodes without one
///   are left out with one Warning event naming them; a node whose address another node (first
///   by name) already has is left out with a Warning.
/// - Nodes are taken by name; beyond [`MAX_REAL_SERVERS`] the rest are left out with a Warning
///   naming the limit.
pub fn desired_settings(
    ports: &[ServicePort],
    health: &HealthCheckOptions,
    vip: Ipv4Addr,
    nodes: &[NodeTarget],
    network: Ipv4Cidr,
) -> Result<DesiredSettings, SettingsError> {
    let mut events = Vec::new();
    let tcp = tcp_ports(ports, MAX_PORTS, "a SAKURA load balancer")?;
    events.extend(tcp.unsupported);
    let tcp_ports: Vec<u16> = tcp.ports.iter().map(|p| p.port).collect();

    let mut sorted: Vec<&NodeTarget> = nodes.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut outside: Vec<String> = Vec::new();
    let mut duplicates: Vec<String> = Vec::new();
    let mut by_address: BTreeMap<Ipv4Addr, &str> = BTreeMap::new();
    let mut candidates: Vec<(String, Ipv4Addr)> = Vec::new();
    for node in sorted {
        let Some(addr) = node
            .addresses
            .iter()
            .copied()
            .find(|a| network.contains(*a))
        else {
            outside.push(node.name.clone());
            continue;
        };
        if let Some(first) = by_address.get(&addr) {
            duplicates.push(format!("{} (shares {addr} with {first})", node.name));
            continue;
        }
        by_address.insert(addr, &node.name);
        candidates.push((node.name.clone(), addr));
    }
    if !outside.is_empty() {
        events.push(ProviderEvent::warning(
            reasons::NODES_OUTSIDE_NETWORK,
            format!(
                "nodes {} have no IPv4 address in {network}, the load balancer's network, so they are not its real servers; connect them to that network or check their addresses",
                listed(&outside)
            ),
        ));
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
    if candidates.len() > MAX_REAL_SERVERS {
        let left_out: Vec<String> = candidates
            .split_off(MAX_REAL_SERVERS)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        events.push(ProviderEvent::warning(
            reasons::REAL_SERVER_LIMIT,
            format!(
                "{} eligible nodes, but a SAKURA load balancer takes at most {MAX_REAL_SERVERS} real servers: the first {MAX_REAL_SERVERS} by name are registered; left out: {}",
                MAX_REAL_SERVERS + left_out.len(),
                listed(&left_out)
            ),
        ));
    }

    let health_check = health.to_api();
    let entries = tcp_ports
        .iter()
        .map(|port| VirtualIpAddress {
            virtual_ip_address: Some(vip),
            port: StringNumber::from(*port),
            delay_loop: StringNumber(u64::from(health.interval_secs)),
            sorry_server: String::new(),
            description: String::new(),
            servers: candidates
                .iter()
                .map(|(_, addr)| RealServer {
                    ip_address: Some(*addr),
                    port: StringNumber::from(*port),
                    health_check: health_check.clone(),
                    enabled: StringFlag(true),
                })
                .collect(),
        })
        .collect();
    Ok(DesiredSettings {
        settings: LoadBalancerSettings {
            load_balancer: entries,
        },
        real_servers: candidates,
        events,
    })
}

/// A health check reduced to what this CCM manages, so read-back defaults do not count as a
/// change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct NormalHealth {
    protocol: String,
    path: Option<String>,
    status: Option<u64>,
    port: Option<u64>,
}

fn normal_health(h: &HealthCheck) -> NormalHealth {
    let protocol = h.protocol.as_str().to_ascii_lowercase();
    let http = protocol == "http" || protocol == "https";
    let nonzero = |n: &Option<StringNumber>| n.map(|n| n.0).filter(|n| *n != 0);
    NormalHealth {
        path: h.path.clone().filter(|p| http && !p.is_empty()),
        status: nonzero(&h.status).filter(|_| http),
        port: nonzero(&h.port).filter(|_| protocol != "ping"),
        protocol,
    }
}

type NormalServer = (Option<Ipv4Addr>, u64, bool, NormalHealth);
type NormalEntry = (Option<Ipv4Addr>, u64, u64, String, Vec<NormalServer>);

fn normal_settings(settings: &LoadBalancerSettings) -> Vec<NormalEntry> {
    let mut entries: Vec<NormalEntry> = settings
        .load_balancer
        .iter()
        .map(|v| {
            let mut servers: Vec<NormalServer> = v
                .servers
                .iter()
                .map(|s| {
                    (
                        s.ip_address,
                        s.port.0,
                        s.enabled.0,
                        normal_health(&s.health_check),
                    )
                })
                .collect();
            servers.sort();
            let delay = match v.delay_loop.0 {
                0 => DEFAULT_DELAY_LOOP,
                n => n,
            };
            (
                v.virtual_ip_address,
                v.port.0,
                delay,
                v.sorry_server.trim().to_owned(),
                servers,
            )
        })
        .collect();
    entries.sort();
    entries
}

/// Whether `current` already has the `desired` settings, ignoring order (of entries and of
/// real servers) and fields this CCM does not manage (descriptions, read-only status, health
/// `Host`/`Retry`/`ConnectTimeout`). Equal means the update path writes nothing.
pub fn settings_equal(desired: &LoadBalancerSettings, current: &LoadBalancer) -> bool {
    normal_settings(desired) == normal_settings(&current.settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::annotations::HealthProtocol;
    use k8s_openapi::api::core::v1::{NodeAddress, NodeStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use sacloud::api::load_balancer::{Remark, RemarkNetwork, RemarkServer};
    use sacloud::{HealthCheckProtocol, Id};

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn net() -> Ipv4Cidr {
        "133.242.253.96/28".parse().unwrap()
    }

    fn port(n: i32, protocol: Option<&str>, name: Option<&str>) -> ServicePort {
        ServicePort {
            port: n,
            protocol: protocol.map(str::to_owned),
            name: name.map(str::to_owned),
            ..ServicePort::default()
        }
    }

    fn node(name: &str, addrs: &[&str]) -> NodeTarget {
        NodeTarget {
            name: name.into(),
            addresses: addrs.iter().map(|a| ip(a)).collect(),
        }
    }

    fn health() -> HealthCheckOptions {
        HealthCheckOptions {
            protocol: HealthProtocol::Http,
            path: "/healthz".into(),
            port: 10256,
            interval_secs: 15,
        }
    }

    const VIP: &str = "133.242.253.110";

    fn build(
        ports: &[ServicePort],
        nodes: &[NodeTarget],
    ) -> Result<DesiredSettings, SettingsError> {
        desired_settings(ports, &health(), ip(VIP), nodes, net())
    }

    fn lb_with(settings: LoadBalancerSettings) -> LoadBalancer {
        LoadBalancer {
            id: Id(1),
            class: "loadbalancer".into(),
            name: "a".into(),
            description: String::new(),
            tags: vec![],
            plan: None,
            service_class: String::new(),
            availability: None,
            instance: None,
            settings,
            settings_hash: "abc".into(),
            remark: Remark::default(),
            switch: None,
            interfaces: vec![],
            created_at: String::new(),
        }
    }

    #[test]
    fn one_entry_per_tcp_port_same_port_for_real_servers() {
        let d = build(
            &[port(80, Some("TCP"), Some("http")), port(443, None, None)],
            &[
                node("worker-b", &["192.168.0.11", "133.242.253.101"]),
                node("worker-a", &["133.242.253.100"]),
            ],
        )
        .unwrap();
        assert!(d.events.is_empty(), "{:?}", d.events);
        assert_eq!(
            d.real_servers,
            vec![
                ("worker-a".to_string(), ip("133.242.253.100")),
                ("worker-b".to_string(), ip("133.242.253.101")),
            ]
        );
        let entries = &d.settings.load_balancer;
        assert_eq!(entries.len(), 2);
        for (entry, p) in entries.iter().zip([80u64, 443]) {
            assert_eq!(entry.virtual_ip_address, Some(ip(VIP)));
            assert_eq!(entry.port, StringNumber(p));
            assert_eq!(entry.delay_loop, StringNumber(15));
            assert_eq!(entry.sorry_server, "");
            let servers: Vec<_> = entry
                .servers
                .iter()
                .map(|s| (s.ip_address, s.port))
                .collect();
            assert_eq!(
                servers,
                vec![
                    (Some(ip("133.242.253.100")), StringNumber(p)),
                    (Some(ip("133.242.253.101")), StringNumber(p)),
                ],
                "DSR: the real-server port is the VIP port"
            );
            for s in &entry.servers {
                assert_eq!(s.enabled, StringFlag(true));
                assert_eq!(s.health_check.protocol, HealthCheckProtocol::Http);
                assert_eq!(s.health_check.path.as_deref(), Some("/healthz"));
                assert_eq!(s.health_check.port, Some(StringNumber(10256)));
                assert_eq!(s.health_check.status, Some(StringNumber(200)));
            }
        }
    }

    #[test]
    fn udp_and_sctp_ports_are_left_out_with_a_warning() {
        let d = build(
            &[
                port(53, Some("UDP"), Some("dns")),
                port(53, Some("TCP"), Some("dns-tcp")),
                port(9999, Some("SCTP"), None),
            ],
            &[node("n", &["133.242.253.100"])],
        )
        .unwrap();
        assert_eq!(d.settings.load_balancer.len(), 1);
        assert_eq!(d.settings.load_balancer[0].port, StringNumber(53));
        assert_eq!(d.events.len(), 1);
        let e = &d.events[0];
        assert!(e.warning);
        assert_eq!(e.reason, reasons::UNSUPPORTED_PROTOCOL);
        assert_eq!(
            e.message,
            "ports UDP 53 (dns) and SCTP 9999 are not balanced: a SAKURA load balancer forwards TCP only"
        );

        let err = build(&[port(53, Some("UDP"), Some("dns"))], &[]).unwrap_err();
        assert_eq!(
            err,
            SettingsError::NoTcpPorts {
                skipped: "UDP 53 (dns)".into()
            }
        );
        assert_eq!(err.event().reason, reasons::NO_TCP_PORTS);
        assert!(err.event().warning);
        assert!(matches!(
            build(&[], &[]),
            Err(SettingsError::NoTcpPorts { .. })
        ));
    }

    #[test]
    fn port_limit() {
        let ports = |n: i32| {
            (1..=n)
                .map(|p| port(8000 + p, None, None))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            build(&ports(20), &[]).unwrap().settings.load_balancer.len(),
            20
        );
        let err = build(&ports(21), &[]).unwrap_err();
        assert_eq!(
            err,
            SettingsError::TooManyPorts {
                count: 21,
                max: MAX_PORTS,
                product: "a SAKURA load balancer"
            }
        );
        let event = err.event();
        assert_eq!(event.reason, reasons::TOO_MANY_PORTS);
        assert!(event.message.contains("at most 20"), "{}", event.message);
        assert!(
            event.message.contains("nothing was changed"),
            "{}",
            event.message
        );
        // UDP ports do not count towards the limit.
        let mut mixed = ports(20);
        mixed.push(port(53, Some("UDP"), None));
        assert!(build(&mixed, &[]).is_ok());
    }

    #[test]
    fn nodes_outside_the_network_are_named() {
        let d = build(
            &[port(80, None, None)],
            &[
                node("in", &["133.242.253.100"]),
                node("private-only", &["192.168.0.10"]),
                node("no-address", &[]),
            ],
        )
        .unwrap();
        assert_eq!(
            d.real_servers,
            vec![("in".to_string(), ip("133.242.253.100"))]
        );
        assert_eq!(d.events.len(), 1);
        assert_eq!(d.events[0].reason, reasons::NODES_OUTSIDE_NETWORK);
        assert!(
            d.events[0].message.starts_with(
                "nodes no-address and private-only have no IPv4 address in 133.242.253.96/28"
            ),
            "{}",
            d.events[0].message
        );
        // No nodes at all: the entries exist, empty.
        let d = build(&[port(80, None, None)], &[]).unwrap();
        assert!(d.settings.load_balancer[0].servers.is_empty());
        assert!(d.events.is_empty());
    }

    #[test]
    fn shared_addresses_are_registered_once() {
        let d = build(
            &[port(80, None, None)],
            &[
                node("b", &["133.242.253.100"]),
                node("a", &["133.242.253.100"]),
            ],
        )
        .unwrap();
        assert_eq!(
            d.real_servers,
            vec![("a".to_string(), ip("133.242.253.100"))]
        );
        assert_eq!(d.events.len(), 1);
        assert_eq!(d.events[0].reason, reasons::DUPLICATE_NODE_ADDRESS);
        assert!(
            d.events[0]
                .message
                .contains("b (shares 133.242.253.100 with a)"),
            "{}",
            d.events[0].message
        );
    }

    #[test]
    fn at_most_40_real_servers_first_by_name() {
        let wide: Ipv4Cidr = "10.0.0.0/16".parse().unwrap();
        // Given in reverse order: the choice must not depend on it.
        let nodes: Vec<NodeTarget> = (1..=45)
            .rev()
            .map(|i| node(&format!("node-{i:02}"), &[&format!("10.0.0.{i}")]))
            .collect();
        let d = desired_settings(
            &[port(80, None, None)],
            &health(),
            ip("10.0.1.1"),
            &nodes,
            wide,
        )
        .unwrap();
        assert_eq!(d.real_servers.len(), 40);
        assert_eq!(d.real_servers[0], ("node-01".to_string(), ip("10.0.0.1")));
        assert_eq!(d.real_servers[39], ("node-40".to_string(), ip("10.0.0.40")));
        assert_eq!(d.settings.load_balancer[0].servers.len(), 40);
        assert_eq!(d.events.len(), 1);
        let e = &d.events[0];
        assert_eq!(e.reason, reasons::REAL_SERVER_LIMIT);
        assert!(e.message.contains("45 eligible nodes"), "{}", e.message);
        assert!(e.message.contains("at most 40"), "{}", e.message);
        assert!(
            e.message
                .ends_with("node-41, node-42, node-43, node-44 and node-45"),
            "{}",
            e.message
        );

        let many: Vec<NodeTarget> = (1..=60)
            .map(|i| node(&format!("n{i:02}"), &[&format!("10.0.0.{i}")]))
            .collect();
        let d = desired_settings(
            &[port(80, None, None)],
            &health(),
            ip("10.0.1.1"),
            &many,
            wide,
        )
        .unwrap();
        assert!(
            d.events[0].message.ends_with("and 10 more"),
            "{}",
            d.events[0].message
        );
    }

    #[test]
    fn node_targets_from_nodes() {
        let n = Node {
            metadata: ObjectMeta {
                name: Some("w1".into()),
                ..ObjectMeta::default()
            },
            status: Some(NodeStatus {
                addresses: Some(vec![
                    NodeAddress {
                        type_: "Hostname".into(),
                        address: "w1".into(),
                    },
                    NodeAddress {
                        type_: "InternalIP".into(),
                        address: "192.168.0.5".into(),
                    },
                    NodeAddress {
                        type_: "InternalIP".into(),
                        address: "fd00::5".into(),
                    },
                    NodeAddress {
                        type_: "ExternalIP".into(),
                        address: "133.242.253.100".into(),
                    },
                    NodeAddress {
                        type_: "InternalDNS".into(),
                        address: "10.9.9.9".into(),
                    },
                ]),
                ..NodeStatus::default()
            }),
            ..Node::default()
        };
        assert_eq!(
            node_targets(&[Arc::new(n), Arc::default()]),
            vec![
                node("w1", &["192.168.0.5", "133.242.253.100"]),
                node("", &[]),
            ]
        );
    }

    #[test]
    fn appliance_network_from_remark() {
        let mut lb = lb_with(LoadBalancerSettings::default());
        assert_eq!(appliance_network(&lb), None);
        lb.remark.servers = vec![RemarkServer {
            ip_address: Some(ip("133.242.253.100")),
        }];
        assert_eq!(appliance_network(&lb), None, "no netmask");
        lb.remark.network = RemarkNetwork {
            network_mask_len: 28,
            default_route: Some(ip("133.242.253.97")),
        };
        assert_eq!(appliance_network(&lb), Some(net()));
    }

    fn desired() -> LoadBalancerSettings {
        build(
            &[port(80, None, None), port(443, None, None)],
            &[
                node("a", &["133.242.253.100"]),
                node("b", &["133.242.253.101"]),
            ],
        )
        .unwrap()
        .settings
    }

    #[test]
    fn equal_settings_need_no_write() {
        let d = desired();
        assert!(settings_equal(&d, &lb_with(d.clone())));

        // Order of entries and of real servers does not matter.
        let mut shuffled = d.clone();
        shuffled.load_balancer.reverse();
        for e in &mut shuffled.load_balancer {
            e.servers.reverse();
        }
        assert!(settings_equal(&d, &lb_with(shuffled)));

        // What the API adds when reading back does not matter either.
        let mut read_back = d.clone();
        for e in &mut read_back.load_balancer {
            e.description = "set by someone".into();
            for s in &mut e.servers {
                s.health_check.host = Some("example".into());
                s.health_check.retry = Some(StringNumber(3));
                s.health_check.connect_timeout = Some(StringNumber(10));
                s.health_check.protocol = HealthCheckProtocol::Other("HTTP".into());
            }
        }
        assert!(settings_equal(&d, &lb_with(read_back)));

        // An unset DelayLoop reads as the API's default, 10.
        let ten = desired_settings(
            &[port(80, None, None)],
            &HealthCheckOptions {
                interval_secs: 10,
                ..health()
            },
            ip(VIP),
            &[],
            net(),
        )
        .unwrap()
        .settings;
        let mut unset = ten.clone();
        unset.load_balancer[0].delay_loop = StringNumber(0);
        assert!(settings_equal(&ten, &lb_with(unset)));

        // Ping checks have no path, status or port: whatever the API echoes is irrelevant.
        let ping = |path: Option<&str>, port: Option<u64>| {
            let mut s = d.clone();
            for e in &mut s.load_balancer {
                for r in &mut e.servers {
                    r.health_check = HealthCheck {
                        protocol: HealthCheckProtocol::Ping,
                        path: path.map(str::to_owned),
                        port: port.map(StringNumber),
                        ..HealthCheck::default()
                    };
                }
            }
            s
        };
        assert!(settings_equal(
            &ping(None, None),
            &lb_with(ping(Some("/"), Some(80)))
        ));
        assert!(settings_equal(
            &ping(None, None),
            &lb_with(ping(Some(""), Some(0)))
        ));
    }

    #[test]
    fn any_managed_difference_needs_a_write() {
        let d = desired();
        type Change = Box<dyn Fn(&mut LoadBalancerSettings)>;
        let changes: Vec<(&str, Change)> = vec![
            (
                "a port",
                Box::new(|s| s.load_balancer[0].port = StringNumber(8080)),
            ),
            (
                "the VIP",
                Box::new(|s| {
                    s.load_balancer[1].virtual_ip_address = Some("133.242.253.109".parse().unwrap())
                }),
            ),
            (
                "the interval",
                Box::new(|s| s.load_balancer[0].delay_loop = StringNumber(30)),
            ),
            (
                "a sorry server",
                Box::new(|s| s.load_balancer[0].sorry_server = "133.242.253.99".into()),
            ),
            (
                "an entry more",
                Box::new(|s| {
                    let extra = s.load_balancer[0].clone();
                    s.load_balancer.push(extra);
                }),
            ),
            (
                "an entry less",
                Box::new(|s| {
                    s.load_balancer.pop();
                }),
            ),
            (
                "a real server less",
                Box::new(|s| {
                    s.load_balancer[0].servers.pop();
                }),
            ),
            (
                "a real server's address",
                Box::new(|s| {
                    s.load_balancer[0].servers[0].ip_address =
                        Some("133.242.253.102".parse().unwrap())
                }),
            ),
            (
                "a real server's port",
                Box::new(|s| s.load_balancer[0].servers[0].port = StringNumber(81)),
            ),
            (
                "a disabled real server",
                Box::new(|s| s.load_balancer[0].servers[0].enabled = StringFlag(false)),
            ),
            (
                "the health protocol",
                Box::new(|s| {
                    s.load_balancer[0].servers[0].health_check.protocol = HealthCheckProtocol::Tcp
                }),
            ),
            (
                "the health path",
                Box::new(|s| {
                    s.load_balancer[0].servers[0].health_check.path = Some("/livez".into())
                }),
            ),
            (
                "the health status",
                Box::new(|s| {
                    s.load_balancer[0].servers[0].health_check.status = Some(StringNumber(204))
                }),
            ),
            (
                "the health port",
                Box::new(|s| {
                    s.load_balancer[0].servers[0].health_check.port = Some(StringNumber(31000))
                }),
            ),
            (
                "no health port",
                Box::new(|s| s.load_balancer[0].servers[0].health_check.port = None),
            ),
        ];
        for (what, change) in changes {
            let mut current = d.clone();
            change(&mut current);
            assert!(
                !settings_equal(&d, &lb_with(current)),
                "{what} changed but compared equal"
            );
        }
        assert!(!settings_equal(
            &d,
            &lb_with(LoadBalancerSettings::default())
        ));
    }
}
