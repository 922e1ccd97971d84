//! Services of `load-balancer-type: enhanced` and their Enhanced Load Balancers:
//! `enhanced.global_address` (Nodes without a global address are left out),
//! `enhanced.ports` (at most two TCP ports), `enhanced.real_servers` (at most 40 real-server
//! entries, Nodes × ports), `enhanced.https` (an `https` port needs a certificate source),
//! `enhanced.certificate` (the certificate asked for is on the load balancer) and
//! `enhanced.health` (every real server passes the health check).
//!
//! The limits are not re-implemented: each Service goes through the controller's own
//! [`desired_enhanced`] with the Nodes the controller would give it (eligible, matching its
//! `node-selector`, as [`global_targets`]), and the verdicts read its answer. Its Enhanced LB is
//! found by the controller's ownership rule ([`owned_by_tags`]).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use cloud_provider::service::predicates::node_eligible_for_load_balancers;
use k8s_openapi::api::core::v1::{Node, Service, ServicePort};
use sacloud::api::proxy_lb::ProxyMode;
use sacloud::api::proxy_lb::settings::{MAX_BIND_PORTS, MAX_SERVERS};

use super::{Finding, NodeMatch, ServiceKinds, Status, finding, ids, node_name, service_key};
use crate::doctor::facts::{ApiFailure, EnhancedItem};
use crate::doctor::messages::{
    CertificateGap, DownServer, EnhancedMessage, ItemRef, Message, MissingCertificate,
    NodeWithoutGlobal, RealServerOverflow, UnhealthyItem,
};
use crate::provider::annotations::{CertificateSource, EnhancedOptions};
use crate::provider::instances::node_addresses;
use crate::provider::load_balancers::enhanced_settings::{
    DesiredEnhanced, EnhancedError, GlobalTarget, PRODUCT, desired_enhanced, global_targets,
};
use crate::provider::load_balancers::select_nodes;
use crate::provider::naming::{Ownership, ServiceIdentity, owned_by_tags};
use crate::provider::reasons;
use crate::provider::settings::{SettingsError, tcp_ports};

/// An `enhanced` Service and what the controller would make of it.
#[derive(Debug)]
pub struct EnhancedService<'a> {
    /// The Service.
    pub service: &'a Service,
    /// `namespace/name`.
    pub key: String,
    /// Its options (annotations and the cluster defaults).
    pub options: &'a EnhancedOptions,
    /// Its ports.
    pub ports: Vec<ServicePort>,
    /// The Nodes that would be its real servers, with their global addresses.
    pub targets: Vec<GlobalTarget>,
    /// The controller's decision. When the only problem is a missing certificate, this is the
    /// decision as if one were named, so that the other limits are judged too (`enhanced.https`
    /// reports the certificate).
    pub desired: Result<DesiredEnhanced, EnhancedError>,
}

fn e(message: EnhancedMessage) -> Message {
    Message::Enhanced(message)
}

/// Each `enhanced` Service with the Nodes the controller would give it: eligible for load
/// balancers and matching its `node-selector`.
pub fn plan_services<'a>(
    enhanced: &'a [(&'a Service, EnhancedOptions)],
    nodes: &[Node],
) -> Vec<EnhancedService<'a>> {
    // Shared as the controller's Node cache shares them (a one-off copy: doctor runs once).
    let eligible: Vec<Arc<Node>> = nodes
        .iter()
        .filter(|n| node_eligible_for_load_balancers(n))
        .map(|n| Arc::new(n.clone()))
        .collect();
    enhanced
        .iter()
        .map(|(service, options)| {
            let targets = global_targets(&select_nodes(&eligible, options.node_selector.as_ref()));
            let ports: Vec<ServicePort> = service
                .spec
                .as_ref()
                .and_then(|s| s.ports.clone())
                .unwrap_or_default();
            let mut desired = desired_enhanced(&ports, options, &targets, None);
            if matches!(desired, Err(EnhancedError::CertificateMissing { .. })) {
                let assumed = EnhancedOptions {
                    certificate: Some(CertificateSource::Secret(String::new())),
                    ..options.clone()
                };
                desired = desired_enhanced(&ports, &assumed, &targets, None);
            }
            EnhancedService {
                service,
                key: service_key(service),
                options,
                ports,
                targets,
                desired,
            }
        })
        .collect()
}

/// Every `enhanced.*` verdict for the `enhanced` Services of `kinds`. `items` is the listing of
/// this cluster's Enhanced LBs (`None`: not read, and the checks needing it are left out).
pub fn enhanced_checks(
    kinds: &ServiceKinds<'_>,
    nodes: &[Node],
    matches: Option<&[NodeMatch<'_>]>,
    items: Option<&Result<Vec<EnhancedItem>, ApiFailure>>,
    cluster_id: Option<&str>,
) -> Vec<Finding> {
    let planned = plan_services(&kinds.enhanced, nodes);
    let mut out = vec![
        global_address(&planned, matches),
        ports(&planned),
        real_servers(&planned),
        https(&planned),
    ];
    match items {
        Some(Ok(items)) => {
            out.push(certificate(&planned, items, cluster_id));
            out.push(health(&planned, items, nodes, cluster_id));
        }
        Some(Err(failure)) => {
            for id in [ids::ENHANCED_CERTIFICATE, ids::ENHANCED_HEALTH] {
                out.push(finding(
                    id,
                    Status::Warn,
                    e(EnhancedMessage::Unreadable {
                        error: failure.message.clone(),
                    }),
                ));
            }
        }
        None => {}
    }
    out
}

/// Whether the server of the Node `name` has a NIC with a global address (`None`: unknown).
fn server_has_global(name: &str, matches: Option<&[NodeMatch<'_>]>) -> Option<bool> {
    let server = matches?
        .iter()
        .find(|m| node_name(m.node) == name)?
        .server()?;
    Some(
        node_addresses(server, &[])
            .iter()
            .any(|a| a.type_ == "ExternalIP"),
    )
}

/// `enhanced.global_address`: Nodes without an `ExternalIP` are left out of every Enhanced LB
/// (a warning); a Service left with no real server at all fails.
pub fn global_address(
    planned: &[EnhancedService<'_>],
    matches: Option<&[NodeMatch<'_>]>,
) -> Finding {
    let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut with_address: BTreeSet<&str> = BTreeSet::new();
    let mut unserved: Vec<String> = Vec::new();
    for p in planned {
        for t in &p.targets {
            match t.address {
                Some(_) => {
                    with_address.insert(&t.name);
                }
                None => missing
                    .entry(t.name.clone())
                    .or_default()
                    .push(p.key.clone()),
            }
        }
        if !p.targets.is_empty() && p.targets.iter().all(|t| t.address.is_none()) {
            unserved.push(p.key.clone());
        }
    }
    if missing.is_empty() {
        return finding(
            ids::ENHANCED_GLOBAL_ADDRESS,
            Status::Ok,
            e(EnhancedMessage::GlobalAddressesOk {
                nodes: with_address.len(),
            }),
        );
    }
    let nodes: Vec<NodeWithoutGlobal> = missing
        .into_iter()
        .map(|(node, services)| NodeWithoutGlobal {
            server_has_global: server_has_global(&node, matches),
            node,
            services,
        })
        .collect();
    finding(
        ids::ENHANCED_GLOBAL_ADDRESS,
        if unserved.is_empty() {
            Status::Warn
        } else {
            Status::Fail
        },
        e(EnhancedMessage::NodesWithoutGlobal { nodes, unserved }),
    )
}

/// `enhanced.ports`: more TCP ports than an Enhanced LB serves; the controller then creates and
/// changes nothing.
pub fn ports(planned: &[EnhancedService<'_>]) -> Finding {
    let over: Vec<(String, usize)> = planned
        .iter()
        .filter_map(|p| match &p.desired {
            Err(EnhancedError::Ports(SettingsError::TooManyPorts { count, .. })) => {
                Some((p.key.clone(), *count))
            }
            _ => None,
        })
        .collect();
    if over.is_empty() {
        finding(ids::ENHANCED_PORTS, Status::Ok, e(EnhancedMessage::PortsOk))
    } else {
        finding(
            ids::ENHANCED_PORTS,
            Status::Fail,
            e(EnhancedMessage::TooManyPorts {
                services: over,
                max: MAX_BIND_PORTS,
            }),
        )
    }
}

/// `enhanced.real_servers`: the controller registers at most [`MAX_SERVERS`] real-server
/// entries (Nodes × ports); the Nodes beyond are left out (a warning).
pub fn real_servers(planned: &[EnhancedService<'_>]) -> Finding {
    let mut over: Vec<RealServerOverflow> = Vec::new();
    for p in planned {
        let Ok(desired) = &p.desired else { continue };
        if !desired
            .events
            .iter()
            .any(|ev| ev.reason == reasons::REAL_SERVER_LIMIT)
        {
            continue;
        }
        let names: BTreeSet<&str> = desired
            .real_servers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        let addresses: BTreeSet<Ipv4Addr> = desired.real_servers.iter().map(|(_, a)| *a).collect();
        // Left out for the limit: a global address no registered Node has (a Node sharing one
        // is left out for that, not for the limit).
        let left_out: Vec<String> = p
            .targets
            .iter()
            .filter(|t| {
                t.address.is_some_and(|a| !addresses.contains(&a))
                    && !names.contains(t.name.as_str())
            })
            .map(|t| t.name.clone())
            .collect();
        over.push(RealServerOverflow {
            service: p.key.clone(),
            nodes: desired.real_servers.len() + left_out.len(),
            ports: desired.settings.bind_ports.len(),
            registered: desired.real_servers.len(),
            left_out,
        });
    }
    if over.is_empty() {
        finding(
            ids::ENHANCED_REAL_SERVERS,
            Status::Ok,
            e(EnhancedMessage::RealServersOk { max: MAX_SERVERS }),
        )
    } else {
        finding(
            ids::ENHANCED_REAL_SERVERS,
            Status::Warn,
            e(EnhancedMessage::RealServerLimit {
                services: over,
                max: MAX_SERVERS,
            }),
        )
    }
}

/// `enhanced.https`: an `https` port (per `enhanced-lb-port-modes`) without
/// `enhanced-lb-lets-encrypt` or `enhanced-lb-certificate-secret`; the controller then creates
/// and changes nothing.
pub fn https(planned: &[EnhancedService<'_>]) -> Finding {
    let mut without: Vec<(String, Vec<u16>)> = Vec::new();
    for p in planned.iter().filter(|p| p.options.certificate.is_none()) {
        // The ports as the controller counts them (TCP, each once), however many there are.
        let Ok(tcp) = tcp_ports(&p.ports, usize::MAX, PRODUCT) else {
            continue;
        };
        let https: Vec<u16> = tcp
            .ports
            .iter()
            .filter(|t| p.options.mode_of(t.port, t.name.as_deref()) == ProxyMode::Https)
            .map(|t| t.port)
            .collect();
        if !https.is_empty() {
            without.push((p.key.clone(), https));
        }
    }
    if without.is_empty() {
        finding(ids::ENHANCED_HTTPS, Status::Ok, e(EnhancedMessage::HttpsOk))
    } else {
        finding(
            ids::ENHANCED_HTTPS,
            Status::Fail,
            e(EnhancedMessage::HttpsWithoutCertificate { services: without }),
        )
    }
}

/// The Service's Enhanced LB, by the controller's rule: ours by tags (its UID tag), the lowest
/// ID when there are several.
fn item_of<'i>(
    service: &Service,
    items: &'i [EnhancedItem],
    cluster_id: Option<&str>,
) -> Option<&'i EnhancedItem> {
    let identity = ServiceIdentity::of(service)?;
    let cluster_id = cluster_id.filter(|c| !c.is_empty());
    items
        .iter()
        .filter(|i| {
            owned_by_tags(&i.item.name, &i.item.tags, cluster_id, &identity) == Ownership::Ours
        })
        .min_by_key(|i| i.item.id)
}

fn item_ref(i: &EnhancedItem) -> ItemRef {
    ItemRef {
        name: i.item.name.clone(),
        id: i.item.id.0,
    }
}

/// `enhanced.certificate`: the Enhanced LB of a Service naming a certificate has it. Let's
/// Encrypt is in place when the primary certificate's common name is the first name (as the
/// controller decides); a Secret when there is a certificate at all. A Service without an
/// Enhanced LB yet (see `services.pending`), or whose Enhanced LB has neither an `https` port
/// nor Let's Encrypt yet, has nothing to check.
pub fn certificate(
    planned: &[EnhancedService<'_>],
    items: &[EnhancedItem],
    cluster_id: Option<&str>,
) -> Finding {
    let mut missing: Vec<MissingCertificate> = Vec::new();
    let mut in_place = 0;
    for p in planned {
        let Some(source) = &p.options.certificate else {
            continue;
        };
        let Some(item) = item_of(p.service, items, cluster_id) else {
            continue;
        };
        let gap = match (&item.certificate, source) {
            (None, _) => continue,
            (Some(Err(failure)), _) => CertificateGap::Unreadable {
                error: failure.message.clone(),
            },
            (Some(Ok(cert)), CertificateSource::LetsEncrypt(names)) => {
                let found = cert
                    .as_ref()
                    .map(|c| c.common_name.to_ascii_lowercase())
                    .filter(|cn| !cn.is_empty());
                if found.is_some() && names.first() == found.as_ref() {
                    in_place += 1;
                    continue;
                }
                let status = &item.item.status;
                let vip = item
                    .health
                    .as_ref()
                    .ok()
                    .and_then(|h| h.current_vip)
                    .or(status.virtual_ip_address);
                CertificateGap::LetsEncryptPending {
                    names: names.clone(),
                    found,
                    fqdn: Some(status.fqdn.trim().to_owned()).filter(|f| !f.is_empty()),
                    vip: vip.map(|v| v.to_string()),
                }
            }
            (Some(Ok(Some(_))), CertificateSource::Secret(_)) => {
                in_place += 1;
                continue;
            }
            (Some(Ok(None)), CertificateSource::Secret(secret)) => {
                CertificateGap::SecretNotUploaded {
                    secret: secret.clone(),
                }
            }
        };
        missing.push(MissingCertificate {
            service: p.key.clone(),
            item: item_ref(item),
            gap,
        });
    }
    if missing.is_empty() {
        finding(
            ids::ENHANCED_CERTIFICATE,
            Status::Ok,
            e(EnhancedMessage::CertificatesOk { count: in_place }),
        )
    } else {
        finding(
            ids::ENHANCED_CERTIFICATE,
            Status::Warn,
            e(EnhancedMessage::CertificatesMissing { items: missing }),
        )
    }
}

/// `enhanced.health`: the real servers the health endpoint reports not `up`, named by the Node
/// with that global address. A warning; it fails when every real server of a Service is down
/// (nothing answers its clients).
pub fn health(
    planned: &[EnhancedService<'_>],
    items: &[EnhancedItem],
    nodes: &[Node],
    cluster_id: Option<&str>,
) -> Finding {
    let nodes: Vec<Arc<Node>> = nodes.iter().map(|n| Arc::new(n.clone())).collect();
    let by_address: BTreeMap<Ipv4Addr, String> = global_targets(&nodes)
        .into_iter()
        .filter_map(|t| Some((t.address?, t.name)))
        .collect();
    let mut unhealthy: Vec<UnhealthyItem> = Vec::new();
    let mut up = 0;
    for p in planned {
        let Some(item) = item_of(p.service, items, cluster_id) else {
            continue;
        };
        let health = match &item.health {
            Ok(h) => h,
            Err(failure) => {
                unhealthy.push(UnhealthyItem {
                    service: p.key.clone(),
                    item: item_ref(item),
                    down: Vec::new(),
                    total: 0,
                    error: Some(failure.message.clone()),
                });
                continue;
            }
        };
        let down: Vec<DownServer> = health
            .servers
            .iter()
            .filter(|s| !s.is_up())
            .map(|s| {
                let node = s.ip_address.and_then(|ip| by_address.get(&ip).cloned());
                DownServer::new(s.ip_address, s.port, s.status.as_str(), node)
            })
            .collect();
        up += health.servers.len() - down.len();
        if !down.is_empty() {
            unhealthy.push(UnhealthyItem {
                service: p.key.clone(),
                item: item_ref(item),
                down,
                total: health.servers.len(),
                error: None,
            });
        }
    }
    if unhealthy.is_empty() {
        return finding(
            ids::ENHANCED_HEALTH,
            Status::Ok,
            e(EnhancedMessage::HealthOk { servers: up }),
        );
    }
    let all_down = unhealthy
        .iter()
        .any(|u| u.error.is_none() && u.down.len() == u.total);
    finding(
        ids::ENHANCED_HEALTH,
        if all_down { Status::Fail } else { Status::Warn },
        e(EnhancedMessage::ServersDown { items: unhealthy }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::*;
    use crate::doctor::checks::match_nodes;
    use crate::doctor::facts::CertificateInfo;
    use serde_json::json;

    fn kinds(services: &[Service]) -> ServiceKinds<'_> {
        ServiceKinds::of(services, &BTreeMap::new())
    }

    fn only(findings: &[Finding], id: &str) -> Finding {
        findings
            .iter()
            .find(|f| f.id == id)
            .cloned()
            .unwrap_or_else(|| panic!("no {id} in {findings:?}"))
    }

    fn run(services: &[Service], nodes: &[Node], items: &[EnhancedItem]) -> Vec<Finding> {
        let items = Ok(items.to_vec());
        enhanced_checks(&kinds(services), nodes, None, Some(&items), Some("c1"))
    }

    #[test]
    fn a_healthy_enhanced_service_passes() {
        let svc = enhanced_service("web", &[80, 443], json!({}));
        let nodes = [
            global_node("w1", "100.64.0.11"),
            global_node("w2", "100.64.0.12"),
        ];
        let item = proxy_lb_item(
            1,
            "web",
            &[("100.64.0.11", 30080, "up"), ("100.64.0.12", 30080, "UP")],
        );
        let findings = run(&[svc], &nodes, &[item]);
        for f in &findings {
            assert_eq!(f.status, Status::Ok, "{f:?}");
        }
        let got: Vec<&str> = findings.iter().map(|f| f.id).collect();
        assert_eq!(got, ids::ENHANCED);
        assert_eq!(
            only(&findings, ids::ENHANCED_HEALTH).message,
            e(EnhancedMessage::HealthOk { servers: 2 })
        );
    }

    #[test]
    fn nodes_without_a_global_address_are_named() {
        let svc = enhanced_service("web", &[80], json!({}));
        let private = node("p1", None, false, &["192.168.0.5"]);
        let nodes = [global_node("w1", "100.64.0.11"), private.clone()];
        let servers = vec![server(
            7,
            "p1",
            vec![json!({"UserIPAddress": "192.168.0.5",
            "Switch": {"ID": 50, "Scope": "user"}})],
        )];
        let matches = match_nodes(&nodes, &servers);
        let services = [svc];
        let k = kinds(&services);
        let f = global_address(&plan_services(&k.enhanced, &nodes), Some(&matches));
        assert_eq!(f.status, Status::Warn);
        assert_eq!(
            f.message,
            e(EnhancedMessage::NodesWithoutGlobal {
                nodes: vec![NodeWithoutGlobal {
                    node: "p1".into(),
                    server_has_global: Some(false),
                    services: vec!["default/web".into()],
                }],
                unserved: vec![],
            })
        );
        // Only private Nodes: the Service has no real server at all.
        let f = global_address(&plan_services(&k.enhanced, &[private]), None);
        assert_eq!(f.status, Status::Fail);
        assert!(matches!(
            f.message,
            Message::Enhanced(EnhancedMessage::NodesWithoutGlobal { ref unserved, .. })
                if unserved == &["default/web".to_owned()]
        ));
    }

    #[test]
    fn more_than_two_ports_fail() {
        let svc = enhanced_service("many", &[80, 443, 8080], json!({}));
        let findings = run(&[svc], &[global_node("w1", "100.64.0.11")], &[]);
        let f = only(&findings, ids::ENHANCED_PORTS);
        assert_eq!(
            (f.status, f.message),
            (
                Status::Fail,
                e(EnhancedMessage::TooManyPorts {
                    services: vec![("default/many".into(), 3)],
                    max: 2
                })
            )
        );
    }

    #[test]
    fn more_than_forty_entries_leave_nodes_out() {
        let nodes: Vec<Node> = (0..21)
            .map(|i| global_node(&format!("w{i:02}"), &format!("100.64.1.{}", i + 1)))
            .collect();
        let one_port = enhanced_service("one", &[80], json!({}));
        let two_ports = enhanced_service("two", &[80, 443], json!({}));
        let findings = run(&[one_port, two_ports], &nodes, &[]);
        let f = only(&findings, ids::ENHANCED_REAL_SERVERS);
        assert_eq!(
            (f.status, f.message),
            (
                Status::Warn,
                e(EnhancedMessage::RealServerLimit {
                    services: vec![RealServerOverflow {
                        service: "default/two".into(),
                        nodes: 21,
                        ports: 2,
                        registered: 20,
                        left_out: vec!["w20".into()],
                    }],
                    max: 40
                })
            )
        );
    }

    #[test]
    fn an_https_port_needs_a_certificate_and_the_limits_are_still_judged() {
        let svc = enhanced_service(
            "shop",
            &[80, 443],
            json!({"k8s.usacloud.jp/enhanced-lb-port-modes": "80=http,p443=https"}),
        );
        let nodes: Vec<Node> = (0..21)
            .map(|i| global_node(&format!("w{i:02}"), &format!("100.64.1.{}", i + 1)))
            .collect();
        let findings = run(&[svc], &nodes, &[]);
        let f = only(&findings, ids::ENHANCED_HTTPS);
        assert_eq!(
            (f.status, f.message),
            (
                Status::Fail,
                e(EnhancedMessage::HttpsWithoutCertificate {
                    services: vec![("default/shop".into(), vec![443])]
                })
            )
        );
        assert_eq!(
            only(&findings, ids::ENHANCED_REAL_SERVERS).status,
            Status::Warn
        );
    }

    #[test]
    fn a_lets_encrypt_certificate_not_yet_issued_warns() {
        let svc = enhanced_service(
            "shop",
            &[443],
            json!({"k8s.usacloud.jp/enhanced-lb-port-modes": "443=https",
                   "k8s.usacloud.jp/enhanced-lb-lets-encrypt": "www.example.com,example.com"}),
        );
        let nodes = [global_node("w1", "100.64.0.11")];
        let mut item = proxy_lb_item(1, "shop", &[("100.64.0.11", 30443, "up")]);
        item.certificate = Some(Ok(None));
        let findings = run(std::slice::from_ref(&svc), &nodes, &[item.clone()]);
        let f = only(&findings, ids::ENHANCED_CERTIFICATE);
        assert_eq!(f.status, Status::Warn);
        let Message::Enhanced(EnhancedMessage::CertificatesMissing { items }) = &f.message else {
            panic!("{f:?}")
        };
        assert_eq!(
            items[0].gap,
            CertificateGap::LetsEncryptPending {
                names: vec!["www.example.com".into(), "example.com".into()],
                found: None,
                fqdn: None,
                vip: Some("198.19.0.5".into()),
            }
        );
        item.certificate = Some(Ok(Some(CertificateInfo {
            common_name: "WWW.example.com".into(),
            end_date: "Jan  1 00:00:00 2030 GMT".into(),
        })));
        let findings = run(&[svc], &nodes, &[item]);
        assert_eq!(
            only(&findings, ids::ENHANCED_CERTIFICATE).message,
            e(EnhancedMessage::CertificatesOk { count: 1 })
        );
    }

    #[test]
    fn a_secret_certificate_not_on_the_load_balancer_warns() {
        let svc = enhanced_service(
            "shop",
            &[443],
            json!({"k8s.usacloud.jp/enhanced-lb-port-modes": "443=https",
                   "k8s.usacloud.jp/enhanced-lb-certificate-secret": "shop-tls"}),
        );
        let nodes = [global_node("w1", "100.64.0.11")];
        let mut item = proxy_lb_item(1, "shop", &[("100.64.0.11", 30443, "up")]);
        item.certificate = Some(Ok(None));
        let findings = run(std::slice::from_ref(&svc), &nodes, &[item.clone()]);
        let f = only(&findings, ids::ENHANCED_CERTIFICATE);
        assert_eq!(f.status, Status::Warn);
        assert!(matches!(
            &f.message,
            Message::Enhanced(EnhancedMessage::CertificatesMissing { items })
                if items[0].gap == CertificateGap::SecretNotUploaded { secret: "shop-tls".into() }
        ));
        item.certificate = Some(Ok(Some(CertificateInfo {
            common_name: "shop.example.com".into(),
            end_date: String::new(),
        })));
        let findings = run(&[svc], &nodes, &[item]);
        assert_eq!(
            only(&findings, ids::ENHANCED_CERTIFICATE).status,
            Status::Ok
        );
    }

    #[test]
    fn real_servers_down_are_named_and_all_down_fails() {
        let svc = enhanced_service("web", &[80], json!({}));
        let nodes = [
            global_node("w1", "100.64.0.11"),
            global_node("w2", "100.64.0.12"),
        ];
        let some = proxy_lb_item(
            1,
            "web",
            &[("100.64.0.11", 30080, "up"), ("100.64.0.12", 30080, "Down")],
        );
        let findings = run(std::slice::from_ref(&svc), &nodes, &[some]);
        let f = only(&findings, ids::ENHANCED_HEALTH);
        assert_eq!(f.status, Status::Warn);
        let Message::Enhanced(EnhancedMessage::ServersDown { items }) = &f.message else {
            panic!("{f:?}")
        };
        assert_eq!(
            items[0].down,
            vec![DownServer {
                address: "100.64.0.12:30080".into(),
                node: Some("w2".into()),
                status: "down".into()
            }]
        );
        let all = proxy_lb_item(
            1,
            "web",
            &[
                ("100.64.0.11", 30080, "down"),
                ("100.64.0.12", 30080, "cleaning"),
            ],
        );
        let findings = run(std::slice::from_ref(&svc), &nodes, &[all]);
        assert_eq!(only(&findings, ids::ENHANCED_HEALTH).status, Status::Fail);
        // Another Service's (or cluster's) item says nothing about this one.
        let other = proxy_lb_item(1, "api", &[("100.64.0.11", 30080, "down")]);
        let findings = run(&[svc], &nodes, &[other]);
        assert_eq!(only(&findings, ids::ENHANCED_HEALTH).status, Status::Ok);
    }

    #[test]
    fn an_unreadable_listing_warns_and_no_listing_skips() {
        let services = [enhanced_service("web", &[80], json!({}))];
        let nodes = [global_node("w1", "100.64.0.11")];
        let failed = Err(ApiFailure {
            status: Some(500),
            message: "listing Enhanced Load Balancers: 500".into(),
        });
        let k = kinds(&services);
        let findings = enhanced_checks(&k, &nodes, None, Some(&failed), None);
        assert_eq!(only(&findings, ids::ENHANCED_HEALTH).status, Status::Warn);
        assert_eq!(
            only(&findings, ids::ENHANCED_CERTIFICATE).status,
            Status::Warn
        );
        let findings = enhanced_checks(&k, &nodes, None, None, None);
        assert!(findings.iter().all(|f| f.id != ids::ENHANCED_HEALTH));
    }
}
