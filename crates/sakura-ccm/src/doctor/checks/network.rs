//! The networks load balancers go on: `cloud.network` (a switch+router, or a switch, tagged
//! `@k8s`), `cloud.network_ambiguous` (which one each LoadBalancer Service would get),
//! `cloud.shared_segment` (servers only on the shared segment) and `network.kube_proxy` (what
//! DSR needs of kube-proxy); and the networks the tagged routers and switches span, which
//! `nodes.network` checks Node addresses against.
//!
//! All of this is what the load-balancer appliance needs. When every LoadBalancer Service asks
//! for an Enhanced Load Balancer (by annotation or the cluster default), which reaches any
//! global address, an untagged cluster and the shared segment are fine.

use k8s_openapi::api::core::v1::Service;
use sacloud::{Id, Internet, NicConnection, Switch};

use super::{Finding, NodeMatch, ServiceKinds, Status, finding, ids, node_server, service_key};
use crate::doctor::facts::{Inventory, KubeFailure};
use crate::doctor::messages::{
    EnhancedMessage, Message, NetKind, NetworkMessage, NodeServer, ProxyUnknown,
};
use crate::provider::annotations::{LoadBalancerOptions, LoadBalancerType};
use crate::provider::cidr::Ipv4Cidr;
use crate::provider::naming::TAG_K8S;
use crate::provider::network::{NetworkCandidate, NetworkKind, SelectionError, select_network};

fn tagged<T: NetworkCandidate>(items: &[T]) -> Vec<&T> {
    let mut out: Vec<&T> = items
        .iter()
        .filter(|c| c.usable() && c.tags().iter().any(|t| t == TAG_K8S))
        .collect();
    out.sort_by_key(|c| c.id());
    out.dedup_by_key(|c| c.id());
    out
}

fn label<T: NetworkCandidate>(c: &T) -> String {
    format!("{:?} (ID {})", c.name(), c.id())
}

/// A tag that is not `@k8s` but was probably meant to be (`k8s`, `@K8S`, ` @k8s`).
fn near_miss(tag: &str) -> bool {
    tag != TAG_K8S
        && tag
            .trim()
            .trim_start_matches('@')
            .eq_ignore_ascii_case("k8s")
}

/// `cloud.network`: a switch+router tagged `@k8s` (or at least a switch); none is needed when
/// no Service asks for an appliance (`appliance_needed`, see [`ServiceKinds`]).
pub fn network(inv: &Inventory, load_balancers: bool, appliance_needed: bool) -> Finding {
    let routers: Vec<String> = tagged(&inv.routers).into_iter().map(label).collect();
    let switches: Vec<String> = tagged(&inv.switches).into_iter().map(label).collect();
    if !routers.is_empty() {
        return finding(
            ids::CLOUD_NETWORK,
            Status::Ok,
            Message::Network(NetworkMessage::NetworkFound { routers, switches }),
        );
    }
    if !switches.is_empty() {
        return finding(
            ids::CLOUD_NETWORK,
            Status::Ok,
            Message::Network(NetworkMessage::NetworkSwitchOnly { switches }),
        );
    }
    if load_balancers && !appliance_needed {
        return finding(
            ids::CLOUD_NETWORK,
            Status::Ok,
            Message::Enhanced(EnhancedMessage::NetworkNotNeeded),
        );
    }
    let mut near_misses: Vec<String> = Vec::new();
    for (name, tags) in inv
        .routers
        .iter()
        .map(|r| (&r.name, &r.tags))
        .chain(inv.switches.iter().map(|s| (&s.name, &s.tags)))
    {
        for tag in tags.iter().filter(|t| near_miss(t)) {
            near_misses.push(format!("{name:?}: {tag:?}"));
        }
    }
    // A router's switch carries the router's name and tags: one near miss, not two.
    near_misses.sort();
    near_misses.dedup();
    finding(
        ids::CLOUD_NETWORK,
        if load_balancers {
            Status::Fail
        } else {
            Status::Warn
        },
        Message::Network(NetworkMessage::NetworkNone {
            near_misses,
            load_balancers,
        }),
    )
}

/// The tagged candidates no single selector tag can pick (each of their tags, `@k8s` aside,
/// is shared with another candidate).
fn indistinguishable<T: NetworkCandidate>(candidates: &[&T], kind: NetworkKind) -> Vec<String> {
    let owned: Vec<&T> = candidates.to_vec();
    candidates
        .iter()
        .filter(|c| {
            !c.tags().iter().filter(|t| *t != TAG_K8S).any(|t| {
                select_network_refs(&owned, kind, Some(t)).is_ok_and(|chosen| chosen == c.id())
            })
        })
        .map(|c| label(*c))
        .collect()
}

/// [`select_network`] over references, answering the chosen ID.
fn select_network_refs<T: NetworkCandidate>(
    candidates: &[&T],
    kind: NetworkKind,
    selector: Option<&str>,
) -> Result<Id, SelectionError> {
    let wrapped: Vec<Ref<'_, T>> = candidates.iter().map(|c| Ref(*c)).collect();
    select_network(&wrapped, kind, selector).map(|r| r.0.id())
}

/// A borrowed candidate is a candidate.
struct Ref<'a, T>(&'a T);

impl<T: NetworkCandidate> NetworkCandidate for Ref<'_, T> {
    fn id(&self) -> Id {
        self.0.id()
    }
    fn name(&self) -> &str {
        self.0.name()
    }
    fn tags(&self) -> &[String] {
        self.0.tags()
    }
    fn usable(&self) -> bool {
        self.0.usable()
    }
}

/// `cloud.network_ambiguous`: the selection each LoadBalancer Service asking for an appliance
/// (`appliance`, see [`ServiceKinds`]) would make, and candidates no selector can reach.
/// Services with invalid annotations never reach selection (InvalidAnnotation instead), and
/// Enhanced LBs need no network.
pub fn network_ambiguity(
    inv: &Inventory,
    appliance: &[(&Service, LoadBalancerOptions)],
) -> Finding {
    let routers: Vec<&Internet> = tagged(&inv.routers);
    let switches: Vec<&Switch> = tagged(&inv.switches);
    let mut failing: Vec<(String, String)> = Vec::new();
    for (svc, options) in appliance {
        let result = match options.load_balancer_type() {
            LoadBalancerType::Internet => {
                select_network_refs(&routers, NetworkKind::Router, options.selector())
            }
            LoadBalancerType::Switch => {
                select_network_refs(&switches, NetworkKind::Switch, options.selector())
            }
        };
        if let Err(e @ SelectionError::Ambiguous { .. }) = result {
            failing.push((service_key(svc), e.to_string()));
        }
    }
    if !failing.is_empty() {
        return finding(
            ids::CLOUD_NETWORK_AMBIGUOUS,
            Status::Fail,
            Message::Network(NetworkMessage::NetworkAmbiguousServices { services: failing }),
        );
    }
    for (kind, count, hidden) in [
        (
            NetKind::Router,
            routers.len(),
            indistinguishable(&routers, NetworkKind::Router),
        ),
        (
            NetKind::Switch,
            switches.len(),
            indistinguishable(&switches, NetworkKind::Switch),
        ),
    ] {
        if count > 1 && !hidden.is_empty() {
            return finding(
                ids::CLOUD_NETWORK_AMBIGUOUS,
                Status::Warn,
                Message::Network(NetworkMessage::NetworkIndistinguishable {
                    kind,
                    names: hidden,
                }),
            );
        }
    }
    if routers.len() > 1 {
        return finding(
            ids::CLOUD_NETWORK_AMBIGUOUS,
            Status::Ok,
            Message::Network(NetworkMessage::NetworkSelectable {
                kind: NetKind::Router,
                names: routers.into_iter().map(label).collect(),
            }),
        );
    }
    if switches.len() > 1 {
        return finding(
            ids::CLOUD_NETWORK_AMBIGUOUS,
            Status::Ok,
            Message::Network(NetworkMessage::NetworkSelectable {
                kind: NetKind::Switch,
                names: switches.into_iter().map(label).collect(),
            }),
        );
    }
    finding(
        ids::CLOUD_NETWORK_AMBIGUOUS,
        Status::Ok,
        Message::Network(NetworkMessage::NetworkUnambiguous),
    )
}

/// `cloud.shared_segment`: a Node's server whose only connected NICs are on the shared
/// segment cannot back an appliance load balancer; an Enhanced LB reaches it. So it fails only
/// while the appliance is needed ([`ServiceKinds::appliance_needed`]).
pub fn shared_segment(matches: &[NodeMatch<'_>], kinds: &ServiceKinds<'_>) -> Finding {
    let only_shared: Vec<NodeServer> = matches
        .iter()
        .filter_map(|m| Some((m.node, m.server()?)))
        .filter(|(_, server)| {
            let connected: Vec<NicConnection> = server
                .interfaces
                .iter()
                .map(sacloud::Interface::connection)
                .filter(|c| *c != NicConnection::Disconnected)
                .collect();
            !connected.is_empty() && connected.iter().all(|c| *c == NicConnection::SharedSegment)
        })
        .map(|(node, server)| node_server(node, server))
        .collect();
    if only_shared.is_empty() {
        finding(
            ids::CLOUD_SHARED_SEGMENT,
            Status::Ok,
            Message::Network(NetworkMessage::SharedSegmentOk),
        )
    } else if !kinds.appliance_needed() {
        finding(
            ids::CLOUD_SHARED_SEGMENT,
            Status::Ok,
            Message::Enhanced(EnhancedMessage::SharedSegmentFine {
                servers: only_shared,
                by_default: kinds.default_enhanced,
            }),
        )
    } else {
        finding(
            ids::CLOUD_SHARED_SEGMENT,
            Status::Fail,
            Message::Network(NetworkMessage::SharedSegmentOnly {
                servers: only_shared,
                appliance_services: kinds
                    .appliance
                    .iter()
                    .map(|(s, _)| service_key(s))
                    .collect(),
            }),
        )
    }
}

/// The networks of the tagged routers (their on-link subnets) and tagged plain switches (the
/// declared subnet, else what the servers' NICs on them declare).
pub fn tagged_networks(inv: &Inventory) -> Vec<Ipv4Cidr> {
    let mut nets: Vec<Ipv4Cidr> = Vec::new();
    for r in tagged(&inv.routers) {
        for s in r.switch.subnets.iter().filter(|s| s.next_hop.is_none()) {
            if let (Some(addr), Some(len)) = (s.network_address, s.network_mask_len)
                && let Some(c) = Ipv4Cidr::new(addr, len)
            {
                nets.push(c);
            }
        }
    }
    for sw in tagged(&inv.switches) {
        if let Some(u) = &sw.user_subnet
            && let (Some(gw), Some(len)) = (u.default_route, u.network_mask_len)
            && let Some(c) = Ipv4Cidr::new(gw, len)
        {
            nets.push(c);
            continue;
        }
        for nic in inv.servers.iter().flat_map(|s| &s.interfaces) {
            let Some(nsw) = nic.switch.as_ref().filter(|n| n.id == sw.id) else {
                continue;
            };
            if let (Some(ip), Some(len)) = (
                nic.user_ip_address,
                nsw.user_subnet.as_ref().and_then(|u| u.network_mask_len),
            ) && let Some(c) = Ipv4Cidr::new(ip, len)
            {
                nets.push(c);
            }
        }
    }
    nets.sort_by_key(|c| (c.network(), c.prefix_len()));
    nets.dedup();
    nets
}

/// The switches of the tagged routers and the tagged plain switches.
pub(super) fn tagged_switch_ids(inv: &Inventory) -> Vec<Id> {
    let mut ids: Vec<Id> = tagged(&inv.switches)
        .iter()
        .map(|s| s.id)
        .chain(tagged(&inv.routers).iter().map(|r| r.switch.id))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// `network.kube_proxy`: IPVS mode needs `strictARP: true` for DSR; when the mode cannot be
/// read, a reminder of the sysctls. Only the appliance is DSR: when no Service needs one
/// (`appliance_needed`, see [`ServiceKinds`]), none of this matters.
pub fn kube_proxy(
    configmap: &Result<Option<k8s_openapi::api::core::v1::ConfigMap>, KubeFailure>,
    appliance_needed: bool,
) -> Finding {
    if !appliance_needed {
        return finding(
            ids::NETWORK_KUBE_PROXY,
            Status::Ok,
            Message::Enhanced(EnhancedMessage::DsrNotNeeded),
        );
    }
    let unknown = |why| {
        finding(
            ids::NETWORK_KUBE_PROXY,
            Status::Warn,
            Message::Network(NetworkMessage::KubeProxyUnknown(why)),
        )
    };
    let cm = match configmap {
        Err(e) => return unknown(ProxyUnknown::Unreadable(e.message.clone())),
        Ok(None) => return unknown(ProxyUnknown::Absent),
        Ok(Some(cm)) => cm,
    };
    let Some(text) = cm.data.as_ref().and_then(|d| d.get("config.conf")) else {
        return unknown(ProxyUnknown::Unparsable(
            "the ConfigMap kube-system/kube-proxy has no key config.conf".to_owned(),
        ));
    };
    let config: serde_json::Value = if text.trim().is_empty() {
        serde_json::Value::Null
    } else {
        match serde_saphyr::from_str(text) {
            Ok(c) => c,
            Err(e) => {
                let first = e.to_string();
                let first = first.lines().next().unwrap_or_default().to_owned();
                return unknown(ProxyUnknown::Unparsable(format!(
                    "config.conf of kube-system/kube-proxy is not YAML: {first}"
                )));
            }
        }
    };
    // KubeProxyConfiguration: `mode` and `ipvs.strictARP` are all that matter here.
    let mode = config["mode"].as_str().unwrap_or_default().to_owned();
    if !mode.eq_ignore_ascii_case("ipvs") {
        return finding(
            ids::NETWORK_KUBE_PROXY,
            Status::Ok,
            Message::Network(NetworkMessage::KubeProxyNotIpvs {
                mode: if mode.is_empty() {
                    "iptables".to_owned()
                } else {
                    mode
                },
            }),
        );
    }
    if config["ipvs"]["strictARP"].as_bool() == Some(true) {
        finding(
            ids::NETWORK_KUBE_PROXY,
            Status::Ok,
            Message::Network(NetworkMessage::KubeProxyStrictArp),
        )
    } else {
        finding(
            ids::NETWORK_KUBE_PROXY,
            Status::Fail,
            Message::Network(NetworkMessage::KubeProxyNoStrictArp),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::*;
    use crate::doctor::checks::match_nodes;
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn network_verdicts() {
        let f = network(&healthy_inventory(), true, true);
        assert!(
            matches!(
                f.message,
                Message::Network(NetworkMessage::NetworkFound { .. })
            ) && f.status == Status::Ok
        );
        let only_switch = inventory(vec![], vec![], vec![switch(7, "priv", &["@k8s"])]);
        let f = network(&only_switch, true, true);
        assert!(
            matches!(
                f.message,
                Message::Network(NetworkMessage::NetworkSwitchOnly { .. })
            ) && f.status == Status::Ok
        );
        let none = inventory(
            vec![],
            vec![router(5, "r", &["K8S"], "203.0.113.16")],
            vec![switch(7, "s", &["@k8s "]), switch(8, "t", &["prod"])],
        );
        let f = network(&none, true, true);
        assert_eq!(f.status, Status::Fail);
        let Message::Network(NetworkMessage::NetworkNone { near_misses, .. }) = &f.message else {
            panic!("{f:?}")
        };
        assert_eq!(near_misses, &["\"r\": \"K8S\"", "\"s\": \"@k8s \""]);
        assert_eq!(network(&none, false, true).status, Status::Warn);
        // Every Service asks for an Enhanced LB: no network is needed.
        let f = network(&none, true, false);
        assert_eq!(
            (f.status, f.message),
            (
                Status::Ok,
                Message::Enhanced(EnhancedMessage::NetworkNotNeeded)
            )
        );
    }

    #[test]
    fn ambiguity_verdicts() {
        let one = healthy_inventory();
        let svc = lb_service("web", &[80], json!({}), true);
        let ambiguity = |inv: &Inventory, services: &[Service]| {
            network_ambiguity(inv, &ServiceKinds::of(services, &BTreeMap::new()).appliance)
        };
        let f = ambiguity(&one, std::slice::from_ref(&svc));
        assert_eq!(
            f.message,
            Message::Network(NetworkMessage::NetworkUnambiguous)
        );

        let two_distinct = inventory(
            vec![],
            vec![
                router(5, "a", &["@k8s", "blue"], "203.0.113.16"),
                router(6, "b", &["@k8s", "green"], "203.0.113.32"),
            ],
            vec![],
        );
        let selecting = lb_service(
            "web",
            &[80],
            json!({"k8s.usacloud.jp/router-selector": "blue"}),
            true,
        );
        let f = ambiguity(&two_distinct, std::slice::from_ref(&selecting));
        assert!(matches!(
            f.message,
            Message::Network(NetworkMessage::NetworkSelectable {
                kind: NetKind::Router,
                ..
            })
        ));
        assert_eq!(f.status, Status::Ok);

        // A Service without a selector fails, whatever the tags.
        let f = ambiguity(&two_distinct, &[svc.clone(), selecting]);
        assert_eq!(f.status, Status::Fail);
        let Message::Network(NetworkMessage::NetworkAmbiguousServices { services }) = &f.message
        else {
            panic!("{f:?}")
        };
        assert_eq!(services.len(), 1);
        assert_eq!(services[0].0, "default/web");
        assert!(services[0].1.contains("router-selector"), "{services:?}");

        let two_same = inventory(
            vec![],
            vec![
                router(5, "a", &["@k8s", "prod"], "203.0.113.16"),
                router(6, "b", &["@k8s", "prod"], "203.0.113.32"),
                router(7, "c", &["@k8s", "prod", "c-only"], "203.0.113.48"),
            ],
            vec![],
        );
        let f = ambiguity(&two_same, &[]);
        assert_eq!(f.status, Status::Warn);
        let Message::Network(NetworkMessage::NetworkIndistinguishable { names, .. }) = &f.message
        else {
            panic!("{f:?}")
        };
        assert_eq!(names, &["\"a\" (ID 5)", "\"b\" (ID 6)"]);

        // The Service without a selector asks for an Enhanced LB (the cluster default): it
        // chooses no network, so nothing fails.
        let defaults = BTreeMap::from([(
            crate::provider::annotations::LOAD_BALANCER_TYPE.to_owned(),
            "enhanced".to_owned(),
        )]);
        let plain = [svc];
        let kinds = ServiceKinds::of(&plain, &defaults);
        assert_eq!(kinds.enhanced.len(), 1);
        let f = network_ambiguity(&two_distinct, &kinds.appliance);
        assert_eq!(f.status, Status::Ok);
    }

    #[test]
    fn shared_segment_verdicts() {
        let servers = vec![
            server(1, "worker-1", vec![router_nic("203.0.113.21")]),
            server(2, "worker-2", vec![shared_nic("100.64.0.5")]),
            server(
                3,
                "worker-3",
                vec![shared_nic("100.64.0.6"), router_nic("203.0.113.23")],
            ),
        ];
        let nodes = vec![
            node("worker-1", None, false, &[]),
            node("worker-3", None, false, &[]),
        ];
        let none = ServiceKinds::of(&[], &BTreeMap::new());
        assert_eq!(
            shared_segment(&match_nodes(&nodes, &servers), &none).status,
            Status::Ok
        );
        let nodes = vec![node("worker-2", None, false, &[])];
        let worker_2 = vec![NodeServer {
            node: "worker-2".into(),
            server: "worker-2".into(),
            id: 2,
        }];
        // No Service yet, default type internet: the appliance is needed.
        let f = shared_segment(&match_nodes(&nodes, &servers), &none);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(
            f.message,
            Message::Network(NetworkMessage::SharedSegmentOnly {
                servers: worker_2.clone(),
                appliance_services: vec![],
            })
        );
        // Every Service is enhanced (by annotation): fine.
        let enhanced = [lb_service(
            "web",
            &[80],
            json!({"k8s.usacloud.jp/load-balancer-type": "enhanced"}),
            true,
        )];
        let kinds = ServiceKinds::of(&enhanced, &BTreeMap::new());
        let f = shared_segment(&match_nodes(&nodes, &servers), &kinds);
        assert_eq!(
            (f.status, f.message),
            (
                Status::Ok,
                Message::Enhanced(EnhancedMessage::SharedSegmentFine {
                    servers: worker_2.clone(),
                    by_default: false,
                })
            )
        );
        // ... or by the cluster default, with no Service yet.
        let defaults = BTreeMap::from([(
            crate::provider::annotations::LOAD_BALANCER_TYPE.to_owned(),
            "enhanced".to_owned(),
        )]);
        let f = shared_segment(
            &match_nodes(&nodes, &servers),
            &ServiceKinds::of(&[], &defaults),
        );
        assert!(matches!(
            f.message,
            Message::Enhanced(EnhancedMessage::SharedSegmentFine {
                by_default: true,
                ..
            })
        ));
        // One Service still asks for the appliance: it fails, naming that Service.
        let mixed = [
            enhanced[0].clone(),
            lb_service("api", &[443], json!({}), true),
        ];
        let f = shared_segment(
            &match_nodes(&nodes, &servers),
            &ServiceKinds::of(&mixed, &BTreeMap::new()),
        );
        assert_eq!(
            (f.status, f.message),
            (
                Status::Fail,
                Message::Network(NetworkMessage::SharedSegmentOnly {
                    servers: worker_2,
                    appliance_services: vec!["default/api".into()],
                })
            )
        );
    }

    #[test]
    fn kube_proxy_verdicts() {
        let cm = |conf: Option<&str>| -> Result<Option<ConfigMap>, KubeFailure> {
            let data = conf.map(|c| json!({"config.conf": c})).unwrap_or(json!({}));
            Ok(Some(from(
                json!({"metadata": {"name": "kube-proxy"}, "data": data}),
            )))
        };
        let verdict = |r| {
            let f = kube_proxy(&r, true);
            (f.status, f.message)
        };
        // Only the DSR appliance cares.
        assert_eq!(
            kube_proxy(&cm(Some("mode: ipvs\n")), false).message,
            Message::Enhanced(EnhancedMessage::DsrNotNeeded)
        );
        assert_eq!(verdict(Err(ok_failure(403))).0, Status::Warn);
        assert_eq!(
            verdict(Ok(None)),
            (
                Status::Warn,
                Message::Network(NetworkMessage::KubeProxyUnknown(ProxyUnknown::Absent))
            )
        );
        assert!(matches!(
            verdict(cm(None)),
            (
                Status::Warn,
                Message::Network(NetworkMessage::KubeProxyUnknown(ProxyUnknown::Unparsable(
                    _
                )))
            )
        ));
        assert!(matches!(
            verdict(cm(Some("mode: [unclosed"))),
            (
                Status::Warn,
                Message::Network(NetworkMessage::KubeProxyUnknown(ProxyUnknown::Unparsable(
                    _
                )))
            )
        ));
        assert_eq!(
            verdict(cm(Some("mode: \"\"\n"))),
            (
                Status::Ok,
                Message::Network(NetworkMessage::KubeProxyNotIpvs {
                    mode: "iptables".into()
                })
            )
        );
        assert_eq!(
            verdict(cm(Some("mode: nftables\n"))),
            (
                Status::Ok,
                Message::Network(NetworkMessage::KubeProxyNotIpvs {
                    mode: "nftables".into()
                })
            )
        );
        assert_eq!(
            verdict(cm(Some("mode: ipvs\nipvs:\n  strictARP: true\n"))),
            (
                Status::Ok,
                Message::Network(NetworkMessage::KubeProxyStrictArp)
            )
        );
        assert_eq!(
            verdict(cm(Some("mode: ipvs\nipvs:\n  scheduler: rr\n"))),
            (
                Status::Fail,
                Message::Network(NetworkMessage::KubeProxyNoStrictArp)
            )
        );
    }
}
