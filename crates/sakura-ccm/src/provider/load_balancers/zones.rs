//! Load-balancer appliances in a cluster spanning zones: the decisions, apart from the I/O in
//! [`super::appliance`].
//!
//! An appliance lives in one zone, on one switch. A Node in another zone can be one of its
//! real servers only over L2: when the Node's server has a NIC on a switch joined by a bridge
//! to the appliance's switch. Other Nodes in other zones are left out with one Warning
//! ([`reasons::NODES_NOT_BRIDGED`]). Whether DSR works across a bridge is inferred from how
//! bridges and the appliance work, not verified on a real account (docs/load-balancers.md).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use cloud_provider::labels::LABEL_ZONE;
use cloud_provider::provider::ProviderEvent;
use k8s_openapi::api::core::v1::Node;
use sacloud::{Client, Id, LoadBalancer, Server, Switch, Zone};

use crate::provider::instances::parse_provider_id;
use crate::provider::reasons;
use crate::provider::text::join_list;

/// Lists something in every zone of `zones` in parallel and joins the lists (one zone: the
/// same single call as without zones).
pub async fn list_in_zones<T, F, Fut>(
    client: &Client,
    zones: &[Zone],
    list: F,
) -> Result<Vec<T>, sacloud::Error>
where
    F: Fn(Client) -> Fut,
    Fut: Future<Output = Result<Vec<T>, sacloud::Error>>,
{
    let lists =
        futures::future::try_join_all(zones.iter().map(|zone| list(client.in_zone(*zone)))).await?;
    Ok(lists.into_iter().flatten().collect())
}

/// The zone of a zone reference's name, if it is one this client knows.
fn zone_named(name: Option<&str>) -> Option<Zone> {
    name.and_then(|n| n.parse().ok())
}

/// The appliance's zone (`Remark.Zone.ID`), else `default`.
pub fn appliance_zone(appliance: &LoadBalancer, default: Zone) -> Zone {
    appliance
        .remark
        .zone
        .as_ref()
        .and_then(|z| Zone::ALL.into_iter().find(|zone| zone.id() == z.id.0))
        .unwrap_or(default)
}

/// The switch's zone, else `default`.
pub fn switch_zone(switch: &Switch, default: Zone) -> Zone {
    zone_named(switch.zone.as_ref().map(|z| z.name.as_str())).unwrap_or(default)
}

/// The Node's zone from its `topology.kubernetes.io/zone` label (set from its server).
pub fn node_zone_label(node: &Node) -> Option<Zone> {
    zone_named(
        node.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_ZONE))
            .map(String::as_str),
    )
}

/// Whether any of `nodes` may be in another zone than `zone` (by label; a Node without the
/// label counts, since only its server can tell). Without such Nodes nothing more is listed.
pub fn any_elsewhere(nodes: &[Arc<Node>], zone: Zone) -> bool {
    nodes.iter().any(|n| node_zone_label(n) != Some(zone))
}

/// A Node left out: its name and zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbridged {
    /// Node name.
    pub node: String,
    /// Its zone (`unknown` when neither the label nor its server says).
    pub zone: String,
}

/// The Node's server: by provider ID, else by name when exactly one server has it.
fn server_of<'a>(node: &Node, servers: &'a [Server]) -> Option<&'a Server> {
    let provider_id = node.spec.as_ref().and_then(|s| s.provider_id.as_deref());
    if let Some(id) = provider_id.and_then(|p| parse_provider_id(p).ok()) {
        return servers.iter().find(|s| s.id == id);
    }
    let name = node.metadata.name.as_deref()?;
    let mut named = servers.iter().filter(|s| s.name == name);
    match (named.next(), named.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// Splits `nodes` into those the appliance in `zone` on `switch` can reach and those it
/// cannot: a Node in `zone` (or whose zone is unknown) is kept as without zones; a Node in
/// another zone is kept only when its server has a NIC on a switch on the same bridge as
/// `switch`. `bridges` maps switch IDs (of every zone) to their bridge.
pub fn reachable_nodes(
    nodes: &[Arc<Node>],
    zone: Zone,
    switch: Id,
    servers: &[Server],
    bridges: &HashMap<Id, Id>,
) -> (Vec<Arc<Node>>, Vec<Unbridged>) {
    let bridge = bridges.get(&switch);
    let mut kept = Vec::new();
    let mut left_out = Vec::new();
    for node in nodes {
        let server = server_of(node, servers);
        let node_zone = server
            .and_then(|s| zone_named(s.zone.as_ref().map(|z| z.name.as_str())))
            .or_else(|| node_zone_label(node));
        let same_zone = node_zone.is_none_or(|z| z == zone);
        let bridged = server.is_some_and(|s| {
            s.interfaces.iter().any(|nic| {
                nic.switch
                    .as_ref()
                    .is_some_and(|sw| bridge.is_some() && bridges.get(&sw.id) == bridge)
            })
        });
        if same_zone || bridged {
            kept.push(node.clone());
        } else {
            left_out.push(Unbridged {
                node: node.metadata.name.clone().unwrap_or_default(),
                zone: node_zone.map_or_else(|| "unknown".to_owned(), |z| z.name().to_owned()),
            });
        }
    }
    (kept, left_out)
}

/// The one Warning for the Nodes left out.
pub fn unbridged_event(left_out: &[Unbridged], zone: Zone, switch: &str) -> ProviderEvent {
    let named: Vec<String> = left_out
        .iter()
        .map(|u| format!("{} ({})", u.node, u.zone))
        .collect();
    ProviderEvent::warning(
        reasons::NODES_NOT_BRIDGED,
        format!(
            "nodes {} are not real servers of the load balancer: it lives in zone {zone} on {switch}, and they are in other zones without a NIC on a switch bridged to it. Connect their zone's switch to the same bridge as the load balancer's switch, or keep them out with the annotation k8s.usacloud.jp/node-selector",
            join_list(&named)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sacloud::api::common::{IdRef, ZoneRef};
    use sacloud::api::server::{Interface, InterfaceSwitch};

    fn server(id: u64, name: &str, zone: &str, switch: u64) -> Server {
        Server {
            id: Id(id),
            name: name.into(),
            zone: Some(ZoneRef {
                name: zone.into(),
                ..ZoneRef::default()
            }),
            interfaces: vec![Interface {
                switch: Some(InterfaceSwitch {
                    id: Id(switch),
                    ..InterfaceSwitch::default()
                }),
                ..Interface::default()
            }],
            ..Server::default()
        }
    }

    fn node(name: &str, zone: Option<&str>, provider_id: Option<u64>) -> Node {
        let mut n = Node::default();
        n.metadata.name = Some(name.into());
        n.metadata.labels = zone.map(|z| {
            [(LABEL_ZONE.to_owned(), z.to_owned())]
                .into_iter()
                .collect()
        });
        n.spec = Some(k8s_openapi::api::core::v1::NodeSpec {
            provider_id: provider_id.map(|id| format!("sakuracloud://{id}")),
            ..Default::default()
        });
        n
    }

    #[test]
    fn nodes_elsewhere_need_a_bridged_switch() {
        let servers = vec![
            server(1, "a", "is1a", 100),
            server(2, "b", "is1b", 200),
            server(3, "c", "is1c", 300),
        ];
        let bridges: HashMap<Id, Id> = [(Id(100), Id(9)), (Id(200), Id(9)), (Id(300), Id(8))]
            .into_iter()
            .collect();
        let nodes = vec![
            node("a", Some("is1a"), Some(1)),
            node("b", Some("is1b"), Some(2)),
            node("c", Some("is1c"), None),
            node("ghost", Some("is1c"), None),
            node("new", None, None),
        ]
        .into_iter()
        .map(Arc::new)
        .collect::<Vec<_>>();
        let (kept, out) = reachable_nodes(&nodes, Zone::Is1a, Id(100), &servers, &bridges);
        let kept: Vec<_> = kept
            .iter()
            .filter_map(|n| n.metadata.name.clone())
            .collect();
        assert_eq!(kept, ["a", "b", "new"]);
        assert_eq!(
            out,
            vec![
                Unbridged {
                    node: "c".into(),
                    zone: "is1c".into()
                },
                Unbridged {
                    node: "ghost".into(),
                    zone: "is1c".into()
                },
            ]
        );
        let event = unbridged_event(&out, Zone::Is1a, "switch \"k8s\" (ID 100)");
        assert_eq!(event.reason, reasons::NODES_NOT_BRIDGED);
        assert!(
            event.message.contains("c (is1c) and ghost (is1c)"),
            "{}",
            event.message
        );
        assert!(event.message.contains("node-selector"), "{}", event.message);

        // Without a bridge on the appliance's switch nobody elsewhere is reachable.
        let (kept, out) = reachable_nodes(&nodes, Zone::Is1a, Id(101), &servers, &bridges);
        assert_eq!(kept.len(), 2);
        assert_eq!(out.len(), 3);
        assert!(!any_elsewhere(&nodes[..1], Zone::Is1a));
        assert!(any_elsewhere(&nodes[..2], Zone::Is1a));
    }

    #[test]
    fn zones_of_appliances_and_switches() {
        let mut lb: LoadBalancer = serde_json::from_value(serde_json::json!({"ID": "1"})).unwrap();
        assert_eq!(appliance_zone(&lb, Zone::Tk1a), Zone::Tk1a);
        lb.remark.zone = Some(IdRef { id: Id(31002) });
        assert_eq!(appliance_zone(&lb, Zone::Tk1a), Zone::Is1b);
        let sw = Switch {
            zone: Some(ZoneRef {
                name: "is1c".into(),
                ..ZoneRef::default()
            }),
            ..Switch::default()
        };
        assert_eq!(switch_zone(&sw, Zone::Is1a), Zone::Is1c);
    }
}
