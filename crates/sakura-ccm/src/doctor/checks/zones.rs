//! `cloud.zones`: a cluster spanning zones. Nodes whose servers are in a zone of the region that
//! is not configured (never found: add the zone); the cluster's switches in several zones that
//! no bridge joins (appliances cannot reach the Nodes of the other zones); a router tagged
//! `@k8s` in a zone without Nodes (an appliance there would have no real server nearby).

use std::collections::{BTreeMap, BTreeSet};

use sacloud::{Id, Server};

use super::{Finding, NodeMatch, Status, finding, ids, node_name};
use crate::doctor::facts::Inventory;
use crate::doctor::messages::{Message, ZoneMessage};
use crate::provider::instances::Match;
use crate::provider::naming::TAG_K8S;

fn zone_of(server: &Server) -> String {
    server
        .zone
        .as_ref()
        .map(|z| z.name.clone())
        .unwrap_or_default()
}

/// `cloud.zones`.
pub fn zones(inv: &Inventory, matches: &[NodeMatch<'_>]) -> Finding {
    let configured: Vec<String> = inv.zones.iter().map(|z| z.name().to_owned()).collect();
    // Nodes not found in the configured zones whose server is in another zone of the region.
    let mut outside: Vec<(String, String)> = Vec::new();
    for m in matches {
        let name = node_name(m.node);
        let wanted: Option<Id> = match &m.result {
            Ok(Match::ProviderIdNotListed(id)) => Some(*id),
            Ok(Match::NoMatch { .. }) => None,
            _ => continue,
        };
        let found = inv.elsewhere.iter().find(|s| match wanted {
            Some(id) => s.id == id,
            None => s.name == name,
        });
        if let Some(server) = found {
            outside.push((name.to_owned(), zone_of(server)));
        }
    }
    let servers: Vec<&Server> = matches.iter().filter_map(NodeMatch::server).collect();
    // The cluster's plain switches (those its Nodes' servers are on), by zone.
    let on: BTreeSet<Id> = servers
        .iter()
        .flat_map(|s| &s.interfaces)
        .filter_map(|nic| nic.switch.as_ref().map(|sw| sw.id))
        .collect();
    let mut by_zone: BTreeMap<String, Vec<&sacloud::Switch>> = BTreeMap::new();
    for sw in inv
        .switches
        .iter()
        .filter(|s| on.contains(&s.id) && s.internet.is_none())
    {
        let zone = sw.zone.as_ref().map(|z| z.name.clone()).unwrap_or_default();
        by_zone.entry(zone).or_default().push(sw);
    }
    let mut unbridged: Vec<String> = Vec::new();
    if by_zone.len() > 1 {
        // Joined when one bridge has a switch in every zone that has cluster switches.
        let bridges: BTreeSet<Id> = by_zone
            .values()
            .flatten()
            .filter_map(|s| s.bridge.as_ref().map(|b| b.id))
            .collect();
        let joined = bridges.iter().any(|b| {
            by_zone.values().all(|sws| {
                sws.iter()
                    .any(|s| s.bridge.as_ref().is_some_and(|r| r.id == *b))
            })
        });
        if !joined {
            for (zone, sws) in &by_zone {
                for s in sws {
                    let bridge = s.bridge.as_ref().map_or_else(
                        || "no bridge".to_owned(),
                        |b| format!("bridge {:?}", b.name),
                    );
                    unbridged.push(format!("{:?} (ID {}) in {zone}, {bridge}", s.name, s.id));
                }
            }
        }
    }
    // Tagged routers in a zone where no Node's server is.
    let node_zones: BTreeSet<String> = servers.iter().map(|s| zone_of(s)).collect();
    let idle_routers: Vec<String> = if inv.zones.len() > 1 && !node_zones.is_empty() {
        inv.routers
            .iter()
            .filter(|r| r.tags.iter().any(|t| t == TAG_K8S))
            .filter_map(|r| {
                let zone = r.zone.as_ref().map(|z| z.name.clone())?;
                (!node_zones.contains(&zone))
                    .then(|| format!("{:?} (ID {}) in {zone}", r.name, r.id))
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut per_zone: BTreeMap<String, usize> = configured.iter().map(|z| (z.clone(), 0)).collect();
    for s in &servers {
        *per_zone.entry(zone_of(s)).or_default() += 1;
    }
    let per_zone: Vec<(String, usize)> = per_zone.into_iter().collect();
    let status = if !outside.is_empty() {
        Status::Fail
    } else if !unbridged.is_empty() || !idle_routers.is_empty() {
        Status::Warn
    } else {
        Status::Ok
    };
    let message = if status == Status::Ok {
        ZoneMessage::ZonesOk { per_zone }
    } else {
        ZoneMessage::ZoneProblems {
            configured,
            outside,
            unbridged,
            idle_routers,
        }
    };
    finding(ids::CLOUD_ZONES, status, Message::Zones(message))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::match_nodes;
    use super::*;
    use crate::doctor::messages::Lang;

    fn in_zone(mut s: Server, zone: &str) -> Server {
        s.zone = Some(sacloud::api::common::ZoneRef {
            name: zone.into(),
            ..Default::default()
        });
        s
    }

    #[test]
    fn a_node_in_an_unconfigured_zone_fails_with_the_fix() {
        let mut inv = inventory(
            vec![in_zone(
                server(1, "a1", vec![shared_nic("100.64.0.2")]),
                "is1a",
            )],
            Vec::new(),
            Vec::new(),
        );
        inv.elsewhere = vec![in_zone(
            server(2, "b1", vec![shared_nic("100.64.1.2")]),
            "is1b",
        )];
        let nodes = vec![node("a1", None, false, &[]), node("b1", None, true, &[])];
        let matches = match_nodes(&nodes, &inv.servers);
        let f = zones(&inv, &matches);
        assert_eq!(f.status, Status::Fail);
        let text = f.message.text(Lang::En);
        assert!(text.detail.contains("b1 (is1b)"), "{}", text.detail);
        assert!(
            text.fix.contains("SAKURACLOUD_ZONES=is1a,is1b"),
            "{}",
            text.fix
        );
        assert!(
            f.message
                .text(Lang::Ja)
                .fix
                .contains("SAKURACLOUD_ZONES=is1a,is1b")
        );

        inv.elsewhere.clear();
        let ok = zones(&inv, &match_nodes(&nodes[..1], &inv.servers));
        assert_eq!(ok.status, Status::Ok);
    }
}
