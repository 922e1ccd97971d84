//! What a SAKURA Cloud server means to a Node: its provider ID, addresses, labels, power state,
//! and which server a Node is.
//!
//! Fixes over the original CCM: every NIC counts (it looked at NIC 0 only); the region label is
//! the region (`is1`, `tk1`) and the zone label the zone (it put the zone in the region label);
//! shutdown means "not up" (it reported the opposite); and a Node that matches no server gets a
//! message saying which server names come closest and how to fix the name.

use std::net::{IpAddr, Ipv4Addr};

use cloud_provider::labels::ANNOTATION_PROVIDED_NODE_IP;
use cloud_provider::provider::{InstanceMetadata, ProviderEvent};
use k8s_openapi::api::core::v1::{Node, NodeAddress};
use sacloud::{Id, InstanceStatus, NicConnection, Server, Zone};

use super::reasons;
use super::text::{closest, join_list, quoted};

/// The name given to `--cloud-provider`.
pub const PROVIDER_NAME: &str = "sakuracloud";
/// Provider IDs are `sakuracloud://<server ID>`, the original's format.
pub const PROVIDER_ID_PREFIX: &str = "sakuracloud://";
/// Longest label value Kubernetes accepts.
pub const MAX_LABEL_VALUE_LEN: usize = 63;
/// How many server names a no-match message suggests.
pub const CLOSEST_NAMES: usize = 3;

/// The provider ID of a server.
pub fn provider_id(server: &Server) -> String {
    format!("{PROVIDER_ID_PREFIX}{}", server.id)
}

/// Why a provider ID is not `sakuracloud://<server ID>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderIdError {
    /// Another scheme (another cloud's provider ID, or a typo).
    #[error(
        "provider ID {} is not a SAKURA Cloud one: expected sakuracloud://<server ID>",
        quoted(.given)
    )]
    WrongScheme {
        /// The provider ID.
        given: String,
    },
    /// The right scheme, but not a server ID after it.
    #[error(
        "provider ID {} does not end in a server ID: expected sakuracloud://<server ID>, the ID being digits only",
        quoted(.given)
    )]
    BadId {
        /// The provider ID.
        given: String,
    },
}

/// Parses `sakuracloud://<server ID>` strictly: exactly that scheme, then digits only (no
/// sign, no spaces, no path), a non-zero ID that fits 64 bits.
pub fn parse_provider_id(provider_id: &str) -> Result<Id, ProviderIdError> {
    let Some(rest) = provider_id.strip_prefix(PROVIDER_ID_PREFIX) else {
        return Err(ProviderIdError::WrongScheme {
            given: provider_id.to_owned(),
        });
    };
    let bad = || ProviderIdError::BadId {
        given: provider_id.to_owned(),
    };
    if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    match rest.parse::<u64>() {
        Ok(0) | Err(_) => Err(bad()),
        Ok(id) => Ok(Id(id)),
    }
}

fn address(type_: &str, addr: impl ToString) -> NodeAddress {
    NodeAddress {
        type_: type_.to_owned(),
        address: addr.to_string(),
    }
}

/// The server's Node addresses, from every NIC:
///
/// - a NIC on a switch+router or on the shared segment gives an `ExternalIP`;
/// - a NIC on a plain switch gives an `InternalIP`;
/// - without any plain-switch address, the primary external address (see below) is also the
///   `InternalIP`, so `--kubelet-preferred-address-types=InternalIP,...` keeps working;
/// - the server name is the `Hostname`.
///
/// Order: `InternalIP`s, then `ExternalIP`s, then `Hostname` (clients take the first address
/// of the type they prefer). Within a type, NICs on `tagged_switches` (the switches, and
/// routers' switches, tagged `@k8s`: the cluster's network) come first, then NIC order; the
/// primary external address is the first after that ordering. Disconnected NICs and NICs
/// without an address (a switch NIC whose address was never declared) give nothing.
pub fn node_addresses(server: &Server, tagged_switches: &[Id]) -> Vec<NodeAddress> {
    let mut internal: Vec<(bool, Ipv4Addr)> = Vec::new();
    let mut external: Vec<(bool, Ipv4Addr)> = Vec::new();
    for nic in &server.interfaces {
        let Some(ip) = nic.address() else { continue };
        let tagged = nic
            .switch
            .as_ref()
            .is_some_and(|sw| tagged_switches.contains(&sw.id));
        let list = match nic.connection() {
            NicConnection::Disconnected => continue,
            NicConnection::Switch => &mut internal,
            NicConnection::Router | NicConnection::SharedSegment => &mut external,
        };
        if !list.iter().any(|(_, seen)| *seen == ip) {
            list.push((tagged, ip));
        }
    }
    // Stable: NIC order is kept among equally tagged NICs.
    internal.sort_by_key(|(tagged, _)| !tagged);
    external.sort_by_key(|(tagged, _)| !tagged);
    if internal.is_empty()
        && let Some(primary) = external.first()
    {
        internal.push(*primary);
    }
    let mut out: Vec<NodeAddress> = internal
        .into_iter()
        .map(|(_, ip)| address("InternalIP", ip))
        .chain(
            external
                .into_iter()
                .map(|(_, ip)| address("ExternalIP", ip)),
        )
        .collect();
    if !server.name.is_empty() {
        out.push(address("Hostname", &server.name));
    }
    out
}

/// Makes `raw` a valid label value: characters outside `[A-Za-z0-9-_.]` become `-`, at most
/// 63 characters, starting and ending with an alphanumeric; empty when nothing is left.
pub fn sanitize_label_value(raw: &str) -> String {
    let replaced: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = replaced.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let cut: String = trimmed.chars().take(MAX_LABEL_VALUE_LEN).collect();
    cut.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

/// The instance type (`node.kubernetes.io/instance-type`) of a server, from its plan:
///
/// - `<cpu>core-<memory>gb` (`<memory>mb` when the memory is not whole GiB), e.g. `2core-4gb`;
/// - `-<n>gpu` appended when the plan has GPUs, e.g. `4core-56gb-1gpu`;
/// - `-<commitment>` appended for a commitment other than `standard`, e.g.
///   `2core-4gb-dedicatedcpu`;
/// - without CPU and memory in the plan, the plan's service class without its `cloud/plan/`
///   prefix (e.g. `cloud/plan/1core-1gb` → `1core-1gb`).
///
/// Always a valid label value (see [`sanitize_label_value`]); empty when nothing is known.
pub fn instance_type(server: &Server) -> String {
    let Some(plan) = &server.server_plan else {
        return from_service_class(&server.service_class);
    };
    if plan.cpu == 0 || plan.memory_mb == 0 {
        let class = if plan.service_class.is_empty() {
            &server.service_class
        } else {
            &plan.service_class
        };
        return from_service_class(class);
    }
    let memory = if plan.memory_mb % 1024 == 0 {
        format!("{}gb", plan.memory_mb / 1024)
    } else {
        format!("{}mb", plan.memory_mb)
    };
    let mut t = format!("{}core-{memory}", plan.cpu);
    if plan.gpu > 0 {
        t.push_str(&format!("-{}gpu", plan.gpu));
    }
    let commitment = plan.commitment.trim().to_ascii_lowercase();
    if !commitment.is_empty() && commitment != "standard" {
        t.push('-');
        t.push_str(&commitment);
    }
    sanitize_label_value(&t)
}

fn from_service_class(class: &str) -> String {
    let class = class.trim();
    sanitize_label_value(class.strip_prefix("cloud/plan/").unwrap_or(class))
}

/// The server's zone: the one the API reports for it, else the configured one.
pub fn server_zone(server: &Server, configured: Zone) -> Zone {
    server
        .zone
        .as_ref()
        .and_then(|z| z.name.parse::<Zone>().ok())
        .unwrap_or(configured)
}

/// What the node controller sets from the server: provider ID, instance type, addresses,
/// zone (`is1a`…) and region (`is1`, `tk1`).
pub fn instance_metadata(
    server: &Server,
    configured_zone: Zone,
    tagged_switches: &[Id],
) -> InstanceMetadata {
    let zone = server_zone(server, configured_zone);
    InstanceMetadata {
        provider_id: provider_id(server),
        instance_type: instance_type(server),
        node_addresses: node_addresses(server, tagged_switches),
        zone: zone.name().to_owned(),
        region: zone.region().code.to_owned(),
        additional_labels: Default::default(),
        events: Vec::new(),
    }
}

/// Whether the server counts as shut down: its power state is anything but `up` (`down`,
/// `cleaning`, or not reported).
pub fn is_shutdown(server: &Server) -> bool {
    server.status() != Some(&InstanceStatus::Up)
}

/// Which server a Node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match<'a> {
    /// The Node's provider ID names this listed server.
    ProviderId(&'a Server),
    /// The Node's provider ID names a server the listing does not have: the caller confirms
    /// with a read by ID (404) before treating it as gone. Never matched by name instead: a
    /// new server with the old name is another instance.
    ProviderIdNotListed(Id),
    /// The one server with the Node's name.
    Name(&'a Server),
    /// No server has the Node's name; this one is the only owner of the Node's provided IP.
    /// Publish the Normal event.
    ProvidedIp {
        /// The server.
        server: &'a Server,
        /// A Normal event saying how the match was made.
        event: ProviderEvent,
    },
    /// No server matches. Publish the Warning event.
    NoMatch {
        /// The closest server names.
        closest: Vec<String>,
        /// A Warning event saying what to fix.
        event: ProviderEvent,
    },
}

/// A Node that cannot be matched safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// The Node's provider ID is not a SAKURA Cloud one.
    #[error("node {node:?}: {error}")]
    InvalidProviderId {
        /// Node name.
        node: String,
        /// What is wrong.
        error: ProviderIdError,
    },
    /// Several servers have the Node's name (in one zone, or in several configured zones).
    #[error("{}", duplicate_message(.node, .ids, .zones))]
    DuplicateName {
        /// Node name (and server name).
        node: String,
        /// The servers' IDs.
        ids: Vec<Id>,
        /// Each server's zone, in the order of `ids` (empty when the API did not say).
        zones: Vec<String>,
    },
}

/// "2 servers are named …": with their zones when they are in more than one, so the user
/// knows where to rename.
fn duplicate_message(node: &str, ids: &[Id], zones: &[String]) -> String {
    let mut distinct: Vec<&String> = zones.iter().filter(|z| !z.is_empty()).collect();
    distinct.sort();
    distinct.dedup();
    if distinct.len() > 1 {
        let each: Vec<String> = ids
            .iter()
            .zip(zones)
            .map(|(id, zone)| format!("ID {id} in {zone}"))
            .collect();
        return format!(
            "node {node:?}: {} servers in different zones are named {node:?} ({}); the CCM never guesses which one is the node: rename all but one (server names must be unique across the configured zones), or set the node's spec.providerID to sakuracloud://<server ID>",
            ids.len(),
            join_list(&each)
        );
    }
    format!(
        "node {node:?}: {} servers are named {node:?} (IDs {}); server names must be unique: rename all but one",
        ids.len(),
        join_list(&ids.iter().map(ToString::to_string).collect::<Vec<_>>())
    )
}

impl MatchError {
    /// The Warning event to publish on the Node.
    pub fn event(&self) -> ProviderEvent {
        let reason = match self {
            MatchError::InvalidProviderId { .. } => reasons::INVALID_PROVIDER_ID,
            MatchError::DuplicateName { .. } => reasons::DUPLICATE_SERVER_NAME,
        };
        ProviderEvent::warning(reason, self.to_string())
    }
}

fn owns(server: &Server, ip: Ipv4Addr) -> bool {
    server
        .interfaces
        .iter()
        .any(|nic| nic.ip_address == Some(ip) || nic.user_ip_address == Some(ip))
}

/// [`match_node`] for a Node object: its name, `spec.providerID` and the kubelet's
/// `--node-ip` annotation, as both the controller and `doctor` read them.
pub fn match_node_object<'a>(node: &Node, servers: &'a [Server]) -> Result<Match<'a>, MatchError> {
    let provided_ip = node
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_PROVIDED_NODE_IP))
        .map(String::as_str);
    match_node(
        node.metadata.name.as_deref().unwrap_or_default(),
        node.spec.as_ref().and_then(|s| s.provider_id.as_deref()),
        provided_ip,
        servers,
    )
}

/// Finds the Node's server: by provider ID when the Node has one; else by exact name; else by
/// the kubelet-provided node IP (`alpha.kubernetes.io/provided-node-ip`) when exactly one
/// server has it; else no match, with the closest names and what to fix.
pub fn match_node<'a>(
    node_name: &str,
    provider_id: Option<&str>,
    provided_ip: Option<&str>,
    servers: &'a [Server],
) -> Result<Match<'a>, MatchError> {
    if let Some(pid) = provider_id.filter(|p| !p.is_empty()) {
        let id = parse_provider_id(pid).map_err(|error| MatchError::InvalidProviderId {
            node: node_name.to_owned(),
            error,
        })?;
        return Ok(match servers.iter().find(|s| s.id == id) {
            Some(server) => Match::ProviderId(server),
            None => Match::ProviderIdNotListed(id),
        });
    }

    let named: Vec<&Server> = servers.iter().filter(|s| s.name == node_name).collect();
    match named.as_slice() {
        [one] => return Ok(Match::Name(one)),
        [] => {}
        many => {
            let mut found: Vec<(Id, String)> = many
                .iter()
                .map(|s| {
                    (
                        s.id,
                        s.zone.as_ref().map(|z| z.name.clone()).unwrap_or_default(),
                    )
                })
                .collect();
            found.sort();
            let (ids, zones) = found.into_iter().unzip();
            return Err(MatchError::DuplicateName {
                node: node_name.to_owned(),
                ids,
                zones,
            });
        }
    }

    let ips: Vec<Ipv4Addr> = provided_ip
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| match s.trim().parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => Some(ip),
            _ => None,
        })
        .collect();
    let mut ip_note = String::new();
    if !ips.is_empty() {
        let mut owners: Vec<&Server> = servers
            .iter()
            .filter(|s| ips.iter().any(|ip| owns(s, *ip)))
            .collect();
        owners.sort_by_key(|s| s.id);
        owners.dedup_by_key(|s| s.id);
        let shown: Vec<String> = ips.iter().map(ToString::to_string).collect();
        let shown = join_list(&shown);
        if let [server] = owners.as_slice() {
            return Ok(Match::ProvidedIp {
                server,
                event: ProviderEvent::normal(
                    reasons::MATCHED_BY_NODE_IP,
                    format!(
                        "no server is named {node_name:?}; matched server {:?} (ID {}) by the node IP {shown} the kubelet was given. Give the node and the server the same name to match by name",
                        server.name, server.id
                    ),
                ),
            });
        }
        ip_note = if owners.is_empty() {
            format!(" and no server has its node IP {shown}")
        } else {
            format!(
                " and its node IP {shown} belongs to {} servers, not one",
                owners.len()
            )
        };
    }

    let closest = closest(
        node_name,
        servers.iter().map(|s| s.name.as_str()),
        CLOSEST_NAMES,
    );
    let suggestion = if closest.is_empty() {
        "there are no servers in the zone".to_owned()
    } else {
        let quoted: Vec<String> = closest.iter().map(|n| format!("{n:?}")).collect();
        format!("closest server names: {}", quoted.join(", "))
    };
    let event = ProviderEvent::warning(
        reasons::SERVER_NOT_FOUND,
        format!(
            "no SAKURA Cloud server is named {node_name:?}{ip_note}; {suggestion}. The node name must equal the server name: rename the server, or start the kubelet with --hostname-override=<server name> (kubeadm: --node-name)"
        ),
    );
    Ok(Match::NoMatch { closest, event })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sacloud::api::common::{Instance, NicSubnet, RegionInfo, Scope, ZoneRef};
    use sacloud::api::server::{Interface, InterfaceSwitch, ServerPlan};

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// A NIC on the shared segment (API-assigned IPAddress).
    fn shared(addr: &str) -> Interface {
        Interface {
            ip_address: Some(ip(addr)),
            switch: Some(InterfaceSwitch {
                id: Id(9),
                scope: Some(Scope::Shared),
                subnet: Some(NicSubnet::default()),
                ..InterfaceSwitch::default()
            }),
            ..Interface::default()
        }
    }

    /// A NIC on a router's switch (user-declared address).
    fn routed(switch: u64, addr: Option<&str>) -> Interface {
        Interface {
            user_ip_address: addr.map(ip),
            switch: Some(InterfaceSwitch {
                id: Id(switch),
                scope: Some(Scope::User),
                subnet: Some(NicSubnet::default()),
                ..InterfaceSwitch::default()
            }),
            ..Interface::default()
        }
    }

    /// A NIC on a plain switch.
    fn private(switch: u64, addr: Option<&str>) -> Interface {
        Interface {
            user_ip_address: addr.map(ip),
            switch: Some(InterfaceSwitch {
                id: Id(switch),
                scope: Some(Scope::User),
                subnet: None,
                ..InterfaceSwitch::default()
            }),
            ..Interface::default()
        }
    }

    fn srv(id: u64, name: &str, interfaces: Vec<Interface>) -> Server {
        Server {
            id: Id(id),
            name: name.into(),
            interfaces,
            ..Server::default()
        }
    }

    fn addrs(list: &[NodeAddress]) -> Vec<(String, String)> {
        list.iter()
            .map(|a| (a.type_.clone(), a.address.clone()))
            .collect()
    }

    fn want(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(t, a)| (t.to_string(), a.to_string()))
            .collect()
    }

    #[test]
    fn provider_ids_round_trip() {
        let s = srv(113200000001, "n", vec![]);
        assert_eq!(provider_id(&s), "sakuracloud://113200000001");
        assert_eq!(parse_provider_id(&provider_id(&s)), Ok(Id(113200000001)));
    }

    #[test]
    fn provider_id_parsing_is_strict() {
        let wrong = |s: &str| ProviderIdError::WrongScheme { given: s.into() };
        let bad = |s: &str| ProviderIdError::BadId { given: s.into() };
        let cases: Vec<(&str, Result<Id, ProviderIdError>)> = vec![
            ("sakuracloud://123456789012", Ok(Id(123456789012))),
            ("sakuracloud://1", Ok(Id(1))),
            ("", Err(wrong(""))),
            ("123456789012", Err(wrong("123456789012"))),
            (
                "aws:///ap-northeast-1a/i-0abc",
                Err(wrong("aws:///ap-northeast-1a/i-0abc")),
            ),
            ("SakuraCloud://123", Err(wrong("SakuraCloud://123"))),
            ("sakuracloud:/123", Err(wrong("sakuracloud:/123"))),
            (" sakuracloud://123", Err(wrong(" sakuracloud://123"))),
            ("sakuracloud://", Err(bad("sakuracloud://"))),
            ("sakuracloud:///123", Err(bad("sakuracloud:///123"))),
            ("sakuracloud://is1a/123", Err(bad("sakuracloud://is1a/123"))),
            ("sakuracloud://123/", Err(bad("sakuracloud://123/"))),
            ("sakuracloud://+123", Err(bad("sakuracloud://+123"))),
            ("sakuracloud://12 3", Err(bad("sakuracloud://12 3"))),
            ("sakuracloud://0", Err(bad("sakuracloud://0"))),
            (
                "sakuracloud://99999999999999999999",
                Err(bad("sakuracloud://99999999999999999999")),
            ),
            ("sakuracloud://１２３", Err(bad("sakuracloud://１２３"))),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_provider_id(input), expected, "{input:?}");
        }
        let msg = parse_provider_id("aws://x").unwrap_err().to_string();
        assert!(
            msg.contains("sakuracloud://<server ID>") && msg.contains("\"aws://x\""),
            "{msg}"
        );
    }

    /// What a server's NICs give: (what, NICs, tagged switch IDs, expected addresses).
    type AddressCase<'a> = (&'a str, Vec<Interface>, Vec<u64>, Vec<(&'a str, &'a str)>);

    #[test]
    fn addresses_from_every_nic() {
        let cases: Vec<AddressCase> = vec![
            (
                "router + private switch: private is internal, router is external",
                vec![
                    routed(500, Some("133.242.253.100")),
                    private(600, Some("192.168.0.10")),
                ],
                vec![500],
                vec![
                    ("InternalIP", "192.168.0.10"),
                    ("ExternalIP", "133.242.253.100"),
                    ("Hostname", "node-1"),
                ],
            ),
            (
                "router only: its address is also the internal one",
                vec![routed(500, Some("133.242.253.100"))],
                vec![500],
                vec![
                    ("InternalIP", "133.242.253.100"),
                    ("ExternalIP", "133.242.253.100"),
                    ("Hostname", "node-1"),
                ],
            ),
            (
                "shared segment only (the original's NIC-0 case)",
                vec![shared("203.0.113.7")],
                vec![],
                vec![
                    ("InternalIP", "203.0.113.7"),
                    ("ExternalIP", "203.0.113.7"),
                    ("Hostname", "node-1"),
                ],
            ),
            (
                "shared NIC 0 plus tagged router NIC 1: the cluster's router address is primary",
                vec![shared("203.0.113.7"), routed(500, Some("133.242.253.100"))],
                vec![500],
                vec![
                    ("InternalIP", "133.242.253.100"),
                    ("ExternalIP", "133.242.253.100"),
                    ("ExternalIP", "203.0.113.7"),
                    ("Hostname", "node-1"),
                ],
            ),
            (
                "shared NIC 0 plus untagged router NIC 1: NIC order",
                vec![shared("203.0.113.7"), routed(500, Some("133.242.253.100"))],
                vec![],
                vec![
                    ("InternalIP", "203.0.113.7"),
                    ("ExternalIP", "203.0.113.7"),
                    ("ExternalIP", "133.242.253.100"),
                    ("Hostname", "node-1"),
                ],
            ),
            (
                "two private NICs: the one on the tagged switch first",
                vec![
                    shared("203.0.113.7"),
                    private(700, Some("172.16.0.5")),
                    private(600, Some("192.168.0.10")),
                ],
                vec![600],
                vec![
                    ("InternalIP", "192.168.0.10"),
                    ("InternalIP", "172.16.0.5"),
                    ("ExternalIP", "203.0.113.7"),
                    ("Hostname", "node-1"),
                ],
            ),
            (
                "undeclared and disconnected NICs give nothing",
                vec![
                    private(600, None),
                    Interface::default(),
                    routed(500, Some("133.242.253.100")),
                ],
                vec![],
                vec![
                    ("InternalIP", "133.242.253.100"),
                    ("ExternalIP", "133.242.253.100"),
                    ("Hostname", "node-1"),
                ],
            ),
            (
                "the same address twice is listed once",
                vec![
                    private(600, Some("192.168.0.10")),
                    private(601, Some("192.168.0.10")),
                ],
                vec![],
                vec![("InternalIP", "192.168.0.10"), ("Hostname", "node-1")],
            ),
            (
                "no NICs: only the host name",
                vec![],
                vec![],
                vec![("Hostname", "node-1")],
            ),
        ];
        for (what, nics, tagged, expected) in cases {
            let tagged: Vec<Id> = tagged.into_iter().map(Id).collect();
            let got = node_addresses(&srv(1, "node-1", nics), &tagged);
            assert_eq!(addrs(&got), want(&expected), "{what}");
        }
        assert!(node_addresses(&srv(1, "", vec![]), &[]).is_empty());
    }

    fn plan(cpu: u32, memory_mb: u64, gpu: u32, commitment: &str, class: &str) -> Server {
        Server {
            server_plan: Some(ServerPlan {
                cpu,
                memory_mb,
                gpu,
                commitment: commitment.into(),
                service_class: class.into(),
                ..ServerPlan::default()
            }),
            ..Server::default()
        }
    }

    #[test]
    fn instance_type_mapping() {
        let cases: Vec<(Server, &str)> = vec![
            (
                plan(1, 1024, 0, "standard", "cloud/plan/1core-1gb"),
                "1core-1gb",
            ),
            (plan(2, 4096, 0, "", ""), "2core-4gb"),
            (plan(1, 512, 0, "standard", ""), "1core-512mb"),
            (plan(4, 57344, 1, "standard", ""), "4core-56gb-1gpu"),
            (
                plan(2, 4096, 0, "dedicatedcpu", ""),
                "2core-4gb-dedicatedcpu",
            ),
            (
                plan(32, 131072, 0, "DedicatedCPU", ""),
                "32core-128gb-dedicatedcpu",
            ),
            (
                plan(2, 4096, 0, "weird commitment!", ""),
                "2core-4gb-weird-commitment",
            ),
            (plan(0, 0, 0, "", "cloud/plan/2core-4gb"), "2core-4gb"),
            (
                plan(0, 0, 0, "", "cloud/plan/ssd/1core-2gb"),
                "ssd-1core-2gb",
            ),
            (
                Server {
                    service_class: "cloud/plan/8core-16gb".into(),
                    ..Server::default()
                },
                "8core-16gb",
            ),
            (Server::default(), ""),
            (plan(0, 0, 0, "", ""), ""),
        ];
        for (server, expected) in cases {
            assert_eq!(instance_type(&server), expected, "{:?}", server.server_plan);
        }
    }

    fn valid_label_value(v: &str) -> bool {
        v.is_empty()
            || (v.len() <= 63
                && v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && v.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    }

    #[test]
    fn label_values_are_always_valid() {
        let cases = [
            ("cloud/plan/1core-1gb", "cloud-plan-1core-1gb"),
            ("プラン/1Core-1GB", "1Core-1GB"),
            ("--a--", "a"),
            ("_a.b_", "a.b"),
            ("高火力", ""),
            ("", ""),
            ("a b\tc", "a-b-c"),
        ];
        for (raw, expected) in cases {
            let v = sanitize_label_value(raw);
            assert_eq!(v, expected, "{raw:?}");
            assert!(valid_label_value(&v), "{raw:?} -> {v:?}");
        }
        let long = format!("{}-{}", "a".repeat(62), "b".repeat(10));
        let v = sanitize_label_value(&long);
        assert_eq!(v, "a".repeat(62), "cut to 63, then no trailing dash");
        assert!(valid_label_value(&v));
        let huge = plan(u32::MAX, u64::MAX, u32::MAX, &"x".repeat(100), "");
        assert!(
            valid_label_value(&instance_type(&huge)),
            "{}",
            instance_type(&huge)
        );
    }

    fn with_zone(zone: &str) -> Server {
        Server {
            id: Id(42),
            name: "node-1".into(),
            zone: Some(ZoneRef {
                name: zone.into(),
                region: Some(RegionInfo::default()),
                ..ZoneRef::default()
            }),
            server_plan: Some(ServerPlan {
                cpu: 2,
                memory_mb: 4096,
                ..ServerPlan::default()
            }),
            interfaces: vec![routed(500, Some("133.242.253.100"))],
            ..Server::default()
        }
    }

    #[test]
    fn zone_and_region() {
        let cases = [
            ("is1a", Zone::Tk1a, "is1a", "is1"),
            ("is1b", Zone::Is1a, "is1b", "is1"),
            ("tk1b", Zone::Is1a, "tk1b", "tk1"),
            ("tk1v", Zone::Is1a, "tk1v", "tk1"),
            ("", Zone::Tk1a, "tk1a", "tk1"),
            ("xx9z", Zone::Is1c, "is1c", "is1"),
        ];
        for (server_zone_name, configured, zone, region) in cases {
            let m = instance_metadata(&with_zone(server_zone_name), configured, &[Id(500)]);
            assert_eq!(
                (m.zone.as_str(), m.region.as_str()),
                (zone, region),
                "{server_zone_name:?}"
            );
        }
    }

    #[test]
    fn metadata() {
        let m = instance_metadata(&with_zone("is1b"), Zone::Is1a, &[Id(500)]);
        assert_eq!(m.provider_id, "sakuracloud://42");
        assert_eq!(m.instance_type, "2core-4gb");
        assert_eq!(
            addrs(&m.node_addresses),
            want(&[
                ("InternalIP", "133.242.253.100"),
                ("ExternalIP", "133.242.253.100"),
                ("Hostname", "node-1"),
            ])
        );
        assert!(m.additional_labels.is_empty());
    }

    #[test]
    fn shutdown_is_not_up() {
        let with = |status: Option<InstanceStatus>| Server {
            instance: status.map(|status| Instance {
                status,
                before_status: None,
                status_changed_at: None,
            }),
            ..Server::default()
        };
        assert!(!is_shutdown(&with(Some(InstanceStatus::Up))));
        assert!(is_shutdown(&with(Some(InstanceStatus::Down))));
        assert!(is_shutdown(&with(Some(InstanceStatus::Cleaning))));
        assert!(is_shutdown(&with(Some(InstanceStatus::Other(
            "migrating".into()
        )))));
        assert!(is_shutdown(&with(None)));
    }

    fn fleet() -> Vec<Server> {
        vec![
            srv(1, "master-1", vec![private(600, Some("192.168.0.1"))]),
            srv(2, "worker-1", vec![private(600, Some("192.168.0.11"))]),
            srv(3, "worker-2", vec![private(600, Some("192.168.0.12"))]),
            srv(4, "worker-10", vec![private(600, Some("192.168.0.20"))]),
            srv(
                5,
                "db",
                vec![shared("203.0.113.9"), private(601, Some("192.168.0.12"))],
            ),
            srv(6, "twin", vec![]),
            srv(7, "twin", vec![]),
        ]
    }

    #[test]
    fn match_by_provider_id_first() {
        let servers = fleet();
        assert_eq!(
            match_node(
                "whatever",
                Some("sakuracloud://3"),
                Some("192.168.0.11"),
                &servers
            ),
            Ok(Match::ProviderId(&servers[2]))
        );
        assert_eq!(
            match_node("worker-1", Some("sakuracloud://99"), None, &servers),
            Ok(Match::ProviderIdNotListed(Id(99))),
            "never falls back to the name once the node has a provider ID"
        );
        assert_eq!(
            match_node("worker-1", Some(""), None, &servers),
            Ok(Match::Name(&servers[1])),
            "an empty provider ID is none"
        );
        let err = match_node("worker-1", Some("aws://i-1"), None, &servers).unwrap_err();
        assert_eq!(
            err,
            MatchError::InvalidProviderId {
                node: "worker-1".into(),
                error: ProviderIdError::WrongScheme {
                    given: "aws://i-1".into()
                }
            }
        );
        assert_eq!(err.event().reason, reasons::INVALID_PROVIDER_ID);
        assert!(err.event().warning);
    }

    #[test]
    fn match_by_name_then_unique_ip() {
        let servers = fleet();
        assert_eq!(
            match_node("worker-2", None, None, &servers),
            Ok(Match::Name(&servers[2]))
        );
        assert_eq!(
            match_node("worker-2", None, Some("192.168.0.1"), &servers),
            Ok(Match::Name(&servers[2])),
            "the name wins over the IP"
        );
        let Ok(Match::ProvidedIp { server, event }) =
            match_node("k8s-worker-1", None, Some("192.168.0.11"), &servers)
        else {
            panic!("no IP match")
        };
        assert_eq!(server.id, Id(2));
        assert!(!event.warning);
        assert_eq!(event.reason, reasons::MATCHED_BY_NODE_IP);
        assert!(
            event.message.contains("\"worker-1\" (ID 2)"),
            "{}",
            event.message
        );
        assert!(event.message.contains("192.168.0.11"), "{}", event.message);
        // Dual stack: the IPv4 address is used.
        assert!(matches!(
            match_node(
                "k8s-worker-1",
                None,
                Some("fd00::11, 192.168.0.11"),
                &servers
            ),
            Ok(Match::ProvidedIp { .. })
        ));
    }

    #[test]
    fn no_match_says_what_is_closest_and_what_to_do() {
        let servers = fleet();
        let Ok(Match::NoMatch { closest, event }) = match_node("worker-3", None, None, &servers)
        else {
            panic!("matched")
        };
        assert_eq!(closest, vec!["worker-1", "worker-2", "worker-10"]);
        assert!(event.warning);
        assert_eq!(event.reason, reasons::SERVER_NOT_FOUND);
        for part in [
            "no SAKURA Cloud server is named \"worker-3\"",
            "closest server names: \"worker-1\", \"worker-2\", \"worker-10\"",
            "--hostname-override",
            "--node-name",
        ] {
            assert!(
                event.message.contains(part),
                "{part:?} not in {}",
                event.message
            );
        }

        // An IP two servers have is no match, and the message says so.
        let Ok(Match::NoMatch { event, .. }) =
            match_node("worker-3", None, Some("192.168.0.12"), &servers)
        else {
            panic!("matched")
        };
        assert!(
            event.message.contains("belongs to 2 servers, not one"),
            "{}",
            event.message
        );
        let Ok(Match::NoMatch { event, .. }) =
            match_node("worker-3", None, Some("10.9.9.9"), &servers)
        else {
            panic!("matched")
        };
        assert!(
            event.message.contains("no server has its node IP 10.9.9.9"),
            "{}",
            event.message
        );
        // Unparsable provided IPs are ignored for matching.
        assert!(matches!(
            match_node("worker-3", None, Some("garbage"), &servers),
            Ok(Match::NoMatch { .. })
        ));

        let Ok(Match::NoMatch { closest, event }) = match_node("x", None, None, &[]) else {
            panic!("matched")
        };
        assert!(closest.is_empty());
        assert!(
            event.message.contains("there are no servers in the zone"),
            "{}",
            event.message
        );
    }

    #[test]
    fn duplicate_names_are_an_error_naming_the_ids() {
        let servers = fleet();
        let err = match_node("twin", None, None, &servers).unwrap_err();
        assert_eq!(
            err,
            MatchError::DuplicateName {
                node: "twin".into(),
                ids: vec![Id(6), Id(7)],
                zones: vec![String::new(), String::new()],
            }
        );
        let event = err.event();
        assert_eq!(event.reason, reasons::DUPLICATE_SERVER_NAME);
        assert!(event.message.contains("IDs 6 and 7"), "{}", event.message);
        let mut zoned = servers.clone();
        for (i, zone) in [(5, "is1a"), (6, "is1b")] {
            zoned[i].zone = Some(ZoneRef {
                name: zone.into(),
                ..ZoneRef::default()
            });
        }
        let across = match_node("twin", None, None, &zoned).unwrap_err().event();
        assert!(
            across.message.contains("ID 6 in is1a and ID 7 in is1b"),
            "{}",
            across.message
        );
        // With a provider ID the duplicate name does not matter.
        assert_eq!(
            match_node("twin", Some("sakuracloud://7"), None, &servers),
            Ok(Match::ProviderId(&servers[6]))
        );
    }
}
