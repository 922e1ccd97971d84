//! The cluster's Nodes and their servers, matched as the controller matches them:
//! `nodes.unmatched`, `nodes.duplicate_names`, `nodes.uninitialized`,
//! `nodes.cloud_provider_external` (kubelets without `--cloud-provider=external`) and
//! `nodes.network` (Node addresses inside a tagged network).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use cloud_provider::labels::TAINT_UNINITIALIZED;
use cloud_provider::service::predicates::node_eligible_for_load_balancers;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::jiff::Timestamp;
use sacloud::Server;

use super::network::{tagged_networks, tagged_switch_ids};
use super::{Finding, NodeMatch, Status, finding, ids, last_warning, node_name, node_server};
use crate::doctor::facts::Inventory;
use crate::doctor::messages::{Message, NodeMessage, TaintCause, Unmatched};
use crate::provider::instances::{Match, MatchError, node_addresses};

/// Nodes younger than this may simply not have been seen by the controller yet.
pub const JUST_JOINED_SECS: i64 = 60;

fn node_provider_id(node: &Node) -> Option<&str> {
    node.spec
        .as_ref()
        .and_then(|s| s.provider_id.as_deref())
        .filter(|p| !p.is_empty())
}

fn node_tainted(node: &Node) -> bool {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|t| t.iter().any(|t| t.key == TAINT_UNINITIALIZED))
}

/// `nodes.unmatched`: Nodes the controller cannot find a server for (duplicates are
/// `nodes.duplicate_names`).
pub fn unmatched(matches: &[NodeMatch<'_>]) -> Finding {
    let mut missing = Vec::new();
    let mut by_ip = Vec::new();
    let mut matched = 0;
    for m in matches {
        let node = node_name(m.node).to_owned();
        match &m.result {
            Ok(Match::ProviderId(_) | Match::Name(_)) => matched += 1,
            Ok(Match::ProvidedIp { server, .. }) => {
                matched += 1;
                by_ip.push(node_server(m.node, server));
            }
            Ok(Match::ProviderIdNotListed(id)) => {
                missing.push(Unmatched::ServerGone { node, id: id.0 })
            }
            Ok(Match::NoMatch { closest, .. }) => missing.push(Unmatched::NoServer {
                node,
                closest: closest.clone(),
            }),
            Err(MatchError::InvalidProviderId { .. }) => missing.push(Unmatched::BadProviderId {
                provider_id: node_provider_id(m.node).unwrap_or_default().to_owned(),
                node,
            }),
            Err(MatchError::DuplicateName { .. }) => {}
        }
    }
    if !missing.is_empty() {
        return finding(
            ids::NODES_UNMATCHED,
            Status::Fail,
            Message::Nodes(NodeMessage::NodesUnmatched {
                nodes: missing,
                matched,
            }),
        );
    }
    finding(
        ids::NODES_UNMATCHED,
        if by_ip.is_empty() {
            Status::Ok
        } else {
            Status::Warn
        },
        Message::Nodes(NodeMessage::NodesMatched {
            count: matches.len(),
            by_ip,
        }),
    )
}

/// `nodes.duplicate_names`: names several servers share; a failure when a Node has the name
/// (it cannot be matched by name), a warning otherwise (a Node joining under it would be).
pub fn duplicate_names(nodes: &[Node], servers: &[Server]) -> Finding {
    let mut by_name: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for s in servers.iter().filter(|s| !s.name.is_empty()) {
        by_name.entry(&s.name).or_default().push(s.id.0);
    }
    let node_names: BTreeSet<&str> = nodes.iter().map(node_name).collect();
    let dups: Vec<(String, Vec<u64>, bool)> = by_name
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(name, mut ids)| {
            ids.sort_unstable();
            (name.to_owned(), ids, node_names.contains(name))
        })
        .collect();
    if dups.is_empty() {
        return finding(
            ids::NODES_DUPLICATE_NAMES,
            Status::Ok,
            Message::Nodes(NodeMessage::NamesUnique),
        );
    }
    let status = if dups.iter().any(|(_, _, node)| *node) {
        Status::Fail
    } else {
        Status::Warn
    };
    finding(
        ids::NODES_DUPLICATE_NAMES,
        status,
        Message::Nodes(NodeMessage::NamesDuplicated { names: dups }),
    )
}

/// `nodes.uninitialized`: tainted Nodes and the first cause that explains each.
pub fn uninitialized(
    matches: &[NodeMatch<'_>],
    warnings: Option<&[Event]>,
    controller_running: bool,
    now: Timestamp,
) -> Finding {
    let mut tainted: Vec<(String, TaintCause)> = Vec::new();
    for m in matches.iter().filter(|m| node_tainted(m.node)) {
        let name = node_name(m.node);
        let cause = match &m.result {
            Ok(Match::NoMatch { .. }) => TaintCause::NoServer,
            Ok(Match::ProviderIdNotListed(_)) | Err(MatchError::InvalidProviderId { .. }) => {
                TaintCause::BadProviderId
            }
            Err(MatchError::DuplicateName { .. }) => TaintCause::DuplicateName,
            Ok(_) if !controller_running => TaintCause::NoController,
            Ok(_) => {
                let event = warnings.and_then(|w| last_warning(w, "Node", None, name));
                let age = m
                    .node
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| now.as_second() - t.0.as_second());
                match (event, age) {
                    (Some(e), _) => TaintCause::Event {
                        reason: e.reason.clone().unwrap_or_default(),
                        note: e.note.clone().unwrap_or_default(),
                    },
                    (None, Some(age)) if age < JUST_JOINED_SECS => TaintCause::JustJoined,
                    _ => TaintCause::Unknown,
                }
            }
        };
        tainted.push((name.to_owned(), cause));
    }
    if tainted.is_empty() {
        return finding(
            ids::NODES_UNINITIALIZED,
            Status::Ok,
            Message::Nodes(NodeMessage::NoneTainted),
        );
    }
    let status = if tainted
        .iter()
        .all(|(_, c)| matches!(c, TaintCause::JustJoined))
    {
        Status::Warn
    } else {
        Status::Fail
    };
    finding(
        ids::NODES_UNINITIALIZED,
        status,
        Message::Nodes(NodeMessage::Tainted { nodes: tainted }),
    )
}

/// `nodes.cloud_provider_external`: a Node with neither the taint nor a provider ID was
/// registered by a kubelet without `--cloud-provider=external`.
pub fn kubelets_external(nodes: &[Node]) -> Finding {
    let mut bad: Vec<String> = nodes
        .iter()
        .filter(|n| !node_tainted(n) && node_provider_id(n).is_none())
        .map(|n| node_name(n).to_owned())
        .collect();
    bad.sort();
    if bad.is_empty() {
        finding(
            ids::NODES_CLOUD_PROVIDER,
            Status::Ok,
            Message::Nodes(NodeMessage::KubeletsExternal),
        )
    } else {
        finding(
            ids::NODES_CLOUD_PROVIDER,
            Status::Fail,
            Message::Nodes(NodeMessage::KubeletsNotExternal { nodes: bad }),
        )
    }
}

fn status_ipv4s(node: &Node) -> Vec<Ipv4Addr> {
    node.status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .into_iter()
        .flatten()
        .filter(|a| a.type_ == "InternalIP" || a.type_ == "ExternalIP")
        .filter_map(|a| a.address.trim().parse().ok())
        .fold(Vec::new(), |mut seen, ip| {
            // InternalIP and ExternalIP are often the same address.
            if !seen.contains(&ip) {
                seen.push(ip);
            }
            seen
        })
}

/// `nodes.network`: every Node that may back load balancers needs an address inside a tagged
/// network (the appliance takes real servers of its own network only). Nodes without
/// addresses yet are judged by their server's. Nothing when no network is tagged
/// (`cloud.network` says so).
pub fn node_network(inv: &Inventory, matches: &[NodeMatch<'_>]) -> Option<Finding> {
    let nets = tagged_networks(inv);
    if nets.is_empty() {
        return None;
    }
    let switch_ids = tagged_switch_ids(inv);
    let mut outside: Vec<(String, Vec<String>)> = Vec::new();
    for m in matches
        .iter()
        .filter(|m| node_eligible_for_load_balancers(m.node))
    {
        let mut ips = status_ipv4s(m.node);
        if ips.is_empty()
            && let Some(server) = m.server()
        {
            ips = node_addresses(server, &switch_ids)
                .iter()
                .filter(|a| a.type_ != "Hostname")
                .filter_map(|a| a.address.parse().ok())
                .collect();
            ips.dedup();
        }
        if !ips.iter().any(|ip| nets.iter().any(|n| n.contains(*ip))) {
            outside.push((
                node_name(m.node).to_owned(),
                ips.iter().map(ToString::to_string).collect(),
            ));
        }
    }
    let networks: Vec<String> = nets
        .iter()
        .map(|n| format!("{}/{}", n.network(), n.prefix_len()))
        .collect();
    Some(if outside.is_empty() {
        finding(
            ids::NODES_NETWORK,
            Status::Ok,
            Message::Nodes(NodeMessage::NodeIpsInNetwork { networks }),
        )
    } else {
        finding(
            ids::NODES_NETWORK,
            Status::Fail,
            Message::Nodes(NodeMessage::NodeIpsOutside {
                nodes: outside,
                networks,
            }),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::*;
    use crate::doctor::checks::match_nodes;
    use cloud_provider::labels::ANNOTATION_PROVIDED_NODE_IP;
    use serde_json::json;

    #[test]
    fn unmatched_verdicts() {
        let inv = healthy_inventory();
        let ok = vec![
            node("worker-1", None, false, &[]),
            node("x", Some("sakuracloud://2"), false, &[]),
        ];
        let f = unmatched(&match_nodes(&ok, &inv.servers));
        assert_eq!(
            f.message,
            Message::Nodes(NodeMessage::NodesMatched {
                count: 2,
                by_ip: vec![]
            })
        );
        let mut by_ip = node("w1", None, false, &[]);
        by_ip.metadata.annotations = Some(
            [(
                ANNOTATION_PROVIDED_NODE_IP.to_owned(),
                "203.0.113.21".to_owned(),
            )]
            .into(),
        );
        let f = unmatched(&match_nodes(std::slice::from_ref(&by_ip), &inv.servers));
        assert_eq!(f.status, Status::Warn);
        let bad = vec![
            node("wroker-1", None, true, &[]),
            node("gone", Some("sakuracloud://77"), false, &[]),
            node("aws", Some("aws:///i-1"), false, &[]),
            node("worker-2", None, false, &[]),
        ];
        let f = unmatched(&match_nodes(&bad, &inv.servers));
        assert_eq!(f.status, Status::Fail);
        assert_eq!(
            f.message,
            Message::Nodes(NodeMessage::NodesUnmatched {
                nodes: vec![
                    Unmatched::BadProviderId {
                        node: "aws".into(),
                        provider_id: "aws:///i-1".into()
                    },
                    Unmatched::ServerGone {
                        node: "gone".into(),
                        id: 77
                    },
                    Unmatched::NoServer {
                        node: "wroker-1".into(),
                        closest: vec!["worker-1".into(), "worker-2".into()]
                    },
                ],
                matched: 1
            })
        );
    }

    #[test]
    fn duplicate_name_verdicts() {
        let servers = vec![
            server(1, "a", vec![]),
            server(3, "b", vec![]),
            server(2, "b", vec![]),
        ];
        assert_eq!(duplicate_names(&[], &servers[..2]).status, Status::Ok);
        let f = duplicate_names(&[], &servers);
        assert_eq!(f.status, Status::Warn);
        assert_eq!(
            f.message,
            Message::Nodes(NodeMessage::NamesDuplicated {
                names: vec![("b".into(), vec![2, 3], false)]
            })
        );
        let f = duplicate_names(&[node("b", None, true, &[])], &servers);
        assert_eq!(f.status, Status::Fail);
    }

    #[test]
    fn uninitialized_causes() {
        let inv = healthy_inventory();
        let nodes = vec![node("worker-1", None, false, &[])];
        let m = match_nodes(&nodes, &inv.servers);
        assert_eq!(uninitialized(&m, Some(&[]), true, now()).status, Status::Ok);

        let cause = |n: Node, warnings: &[Event], running: bool| {
            let nodes = vec![n];
            let m = match_nodes(&nodes, &inv.servers);
            let f = uninitialized(&m, Some(warnings), running, now());
            let Message::Nodes(NodeMessage::Tainted { nodes }) = f.message else {
                panic!("{f:?}")
            };
            (f.status, nodes[0].1.clone())
        };
        assert_eq!(
            cause(node("nope", None, true, &[]), &[], true),
            (Status::Fail, TaintCause::NoServer)
        );
        assert_eq!(
            cause(node("w", Some("sakuracloud://9"), true, &[]), &[], true),
            (Status::Fail, TaintCause::BadProviderId)
        );
        assert_eq!(
            cause(node("worker-1", None, true, &[]), &[], false),
            (Status::Fail, TaintCause::NoController)
        );
        let events = [
            warning("Node", "worker-1", "Old", "2025-06-01T09:00:00.000000Z"),
            warning("Node", "worker-1", "Newest", "2025-06-01T11:00:00.000000Z"),
            warning(
                "Service",
                "worker-1",
                "NotANode",
                "2025-06-01T11:30:00.000000Z",
            ),
        ];
        assert_eq!(
            cause(node("worker-1", None, true, &[]), &events, true),
            (
                Status::Fail,
                TaintCause::Event {
                    reason: "Newest".into(),
                    note: "note of Newest".into()
                }
            )
        );
        assert_eq!(
            cause(node("worker-1", None, true, &[]), &[], true),
            (Status::Fail, TaintCause::Unknown)
        );
        let mut young = node("worker-1", None, true, &[]);
        young.metadata.creation_timestamp = Some(from(json!("2025-06-01T11:59:30Z")));
        assert_eq!(
            cause(young, &[], true),
            (Status::Warn, TaintCause::JustJoined)
        );
        let dup_servers = vec![server(1, "d", vec![]), server(2, "d", vec![])];
        let nodes = vec![node("d", None, true, &[])];
        let f = uninitialized(&match_nodes(&nodes, &dup_servers), None, true, now());
        assert_eq!(
            f.message,
            Message::Nodes(NodeMessage::Tainted {
                nodes: vec![("d".into(), TaintCause::DuplicateName)]
            })
        );
    }

    #[test]
    fn kubelet_verdicts() {
        let good = vec![
            node("a", None, true, &[]),
            node("b", Some("sakuracloud://1"), false, &[]),
        ];
        assert_eq!(kubelets_external(&good).status, Status::Ok);
        let f = kubelets_external(&[node("c", None, false, &[])]);
        assert_eq!(
            f.message,
            Message::Nodes(NodeMessage::KubeletsNotExternal {
                nodes: vec!["c".into()]
            })
        );
        assert_eq!(f.status, Status::Fail);
    }

    #[test]
    fn node_network_verdicts() {
        let inv = healthy_inventory();
        let none = inventory(inv.servers.clone(), vec![], vec![]);
        let nodes = vec![node("worker-1", None, false, &["203.0.113.21"])];
        assert!(node_network(&none, &match_nodes(&nodes, &none.servers)).is_none());
        let f = node_network(&inv, &match_nodes(&nodes, &inv.servers)).unwrap();
        assert_eq!(
            f.message,
            Message::Nodes(NodeMessage::NodeIpsInNetwork {
                networks: vec!["203.0.113.16/28".into()]
            })
        );
        // No status addresses yet: the server's count.
        let nodes = vec![node("worker-2", None, true, &[])];
        assert_eq!(
            node_network(&inv, &match_nodes(&nodes, &inv.servers))
                .unwrap()
                .status,
            Status::Ok
        );
        let nodes = vec![
            node("worker-1", None, false, &["192.168.0.11"]),
            node("stray", None, false, &[]),
        ];
        let f = node_network(&inv, &match_nodes(&nodes, &inv.servers)).unwrap();
        assert_eq!(f.status, Status::Fail);
        let Message::Nodes(NodeMessage::NodeIpsOutside { nodes, .. }) = f.message else {
            panic!()
        };
        assert_eq!(
            nodes,
            vec![
                ("stray".to_owned(), vec![]),
                ("worker-1".to_owned(), vec!["192.168.0.11".to_owned()])
            ]
        );
        // A tagged plain switch counts with its declared network.
        let with_switch = inventory(inv.servers.clone(), vec![], vec![switch(7, "p", &["@k8s"])]);
        let nodes = vec![node("worker-1", None, false, &["192.168.0.11"])];
        assert_eq!(
            node_network(&with_switch, &match_nodes(&nodes, &with_switch.servers))
                .unwrap()
                .status,
            Status::Ok
        );
    }
}
