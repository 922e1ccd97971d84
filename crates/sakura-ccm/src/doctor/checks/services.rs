//! LoadBalancer Services and their appliances: `services.pending` (no address yet),
//! `services.limits` (ports and real servers an appliance takes), `services.leaked` (appliances
//! of this cluster without a Service), `services.failed` and `services.health` (real servers that
//! fail their health check).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use cloud_provider::service::predicates::node_eligible_for_load_balancers;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::events::v1::Event;
use sacloud::LoadBalancer;
use sacloud::api::load_balancer::{LOAD_BALANCER_CLASS, VirtualIpStatus};

use super::{
    Finding, Status, finding, ids, last_warning, lb_services, of_this_cluster, service_key,
};
use crate::doctor::facts::{ApiFailure, Workloads};
use crate::doctor::messages::{
    ApplianceRef, DownServer, Message, PendingService, ServiceMessage, UnhealthyAppliance,
};
use crate::provider::load_balancers::appliance::{Phase, phase};
use crate::provider::naming::{
    Ownership, ServiceIdentity, TAG_SERVICE_PREFIX, TAG_SERVICE_UID_PREFIX, cluster_tag, owned_by,
};
use crate::provider::settings::{MAX_PORTS, MAX_REAL_SERVERS};

fn has_ingress(svc: &Service) -> bool {
    svc.status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .is_some_and(|i| i.iter().any(|i| i.ip.is_some() || i.hostname.is_some()))
}

/// `services.pending`: LoadBalancer Services without an address and the last Warning on each.
pub fn pending(core: &Workloads, warnings: Option<&[Event]>) -> Finding {
    let lbs = lb_services(&core.services);
    let waiting: Vec<PendingService> = lbs
        .iter()
        .filter(|s| !has_ingress(s))
        .map(|s| PendingService {
            service: service_key(s),
            last_warning: warnings
                .and_then(|w| {
                    last_warning(
                        w,
                        "Service",
                        s.metadata.namespace.as_deref(),
                        s.metadata.name.as_deref().unwrap_or_default(),
                    )
                })
                .map(|e| {
                    (
                        e.reason.clone().unwrap_or_default(),
                        e.note.clone().unwrap_or_default(),
                    )
                }),
        })
        .collect();
    if waiting.is_empty() {
        finding(
            ids::SERVICES_PENDING,
            Status::Ok,
            Message::Services(ServiceMessage::ServicesServed { count: lbs.len() }),
        )
    } else {
        finding(
            ids::SERVICES_PENDING,
            Status::Fail,
            Message::Services(ServiceMessage::ServicesPending { services: waiting }),
        )
    }
}

/// TCP ports as the appliance gets them: a missing protocol is TCP; duplicates count once.
fn tcp_ports(svc: &Service) -> usize {
    let ports: BTreeSet<i32> = svc
        .spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .filter(|p| p.protocol.as_deref().is_none_or(|p| p == "TCP"))
        .map(|p| p.port)
        .collect();
    ports.len()
}

/// `services.limits`, over the Services that ask for an appliance (`enhanced.*` judges the
/// others): more TCP ports than an appliance serves fails the Service; more eligible Nodes
/// than real servers only leaves some out.
pub fn limits(lbs: &[&Service], nodes: &[Node]) -> Finding {
    let ports: Vec<(String, usize)> = lbs
        .iter()
        .map(|s| (service_key(s), tcp_ports(s)))
        .filter(|(_, n)| *n > MAX_PORTS)
        .collect();
    let eligible = nodes
        .iter()
        .filter(|n| node_eligible_for_load_balancers(n))
        .count();
    let nodes = (!lbs.is_empty() && eligible > MAX_REAL_SERVERS).then_some(eligible);
    let status = if !ports.is_empty() {
        Status::Fail
    } else if nodes.is_some() {
        Status::Warn
    } else {
        return finding(
            ids::SERVICES_LIMITS,
            Status::Ok,
            Message::Services(ServiceMessage::WithinLimits),
        );
    };
    finding(
        ids::SERVICES_LIMITS,
        status,
        Message::Services(ServiceMessage::OverLimits { ports, nodes }),
    )
}

/// Whether the appliance is a load balancer a CCM created for this cluster (see
/// [`of_this_cluster`]).
pub(crate) fn appliance_of_this_cluster(lb: &LoadBalancer, cluster_id: Option<&str>) -> bool {
    lb.class == LOAD_BALANCER_CLASS && of_this_cluster(&lb.tags, cluster_id)
}

/// The Service an appliance serves, by the controller's own ownership rule.
fn owner<'a>(
    lb: &LoadBalancer,
    services: &'a [Service],
    cluster_id: Option<&str>,
) -> Option<&'a Service> {
    services.iter().find(|s| {
        ServiceIdentity::of(s).is_some_and(|id| {
            matches!(
                owned_by(lb, cluster_id, &id),
                Ownership::Ours | Ownership::AdoptableFromOriginal
            )
        })
    })
}

/// What the tags say the appliance was for.
fn tagged_for(lb: &LoadBalancer) -> String {
    let name = lb
        .tags
        .iter()
        .find_map(|t| t.strip_prefix(TAG_SERVICE_PREFIX));
    let uid = lb
        .tags
        .iter()
        .find_map(|t| t.strip_prefix(TAG_SERVICE_UID_PREFIX));
    match (name, uid) {
        (Some(n), Some(u)) => format!("Service {n} (UID {u})"),
        (Some(n), None) => format!("Service {n}"),
        (None, Some(u)) => format!("Service UID {u}"),
        (None, None) => "an unknown Service".to_owned(),
    }
}

/// `services.leaked`: appliances of this cluster that no existing Service owns.
pub fn leaked(
    load_balancers: &[LoadBalancer],
    services: &[Service],
    cluster_id: Option<&str>,
) -> Finding {
    let mut leaks: Vec<ApplianceRef> = load_balancers
        .iter()
        .filter(|lb| appliance_of_this_cluster(lb, cluster_id))
        .filter(|lb| owner(lb, services, cluster_id).is_none())
        .map(|lb| ApplianceRef {
            name: lb.name.clone(),
            id: lb.id.0,
            service: tagged_for(lb),
        })
        .collect();
    leaks.sort_by_key(|a| a.id);
    if leaks.is_empty() {
        finding(
            ids::SERVICES_LEAKED,
            Status::Ok,
            Message::Services(ServiceMessage::NoLeaks),
        )
    } else {
        finding(
            ids::SERVICES_LEAKED,
            Status::Warn,
            Message::Services(ServiceMessage::Leaked {
                appliances: leaks,
                cluster_tag: cluster_id.filter(|c| !c.is_empty()).map(cluster_tag),
            }),
        )
    }
}

/// `services.failed`: appliances of this cluster with `Availability: failed`.
pub fn failed(
    load_balancers: &[LoadBalancer],
    services: &[Service],
    cluster_id: Option<&str>,
) -> Finding {
    let mut bad: Vec<ApplianceRef> = load_balancers
        .iter()
        .filter(|lb| appliance_of_this_cluster(lb, cluster_id) && phase(lb) == Phase::Failed)
        .map(|lb| ApplianceRef {
            name: lb.name.clone(),
            id: lb.id.0,
            service: match owner(lb, services, cluster_id) {
                Some(s) => format!("Service {}", service_key(s)),
                None => tagged_for(lb),
            },
        })
        .collect();
    bad.sort_by_key(|a| a.id);
    if bad.is_empty() {
        finding(
            ids::SERVICES_FAILED,
            Status::Ok,
            Message::Services(ServiceMessage::NoneFailed),
        )
    } else {
        finding(
            ids::SERVICES_FAILED,
            Status::Fail,
            Message::Services(ServiceMessage::Failed { appliances: bad }),
        )
    }
}

/// Every address of every Node, to name the Node behind a real server.
fn nodes_by_address(nodes: &[Node]) -> BTreeMap<Ipv4Addr, String> {
    nodes
        .iter()
        .flat_map(|n| {
            let name = n.metadata.name.clone().unwrap_or_default();
            n.status
                .iter()
                .flat_map(|s| s.addresses.iter().flatten())
                .filter_map(move |a| Some((a.address.parse::<Ipv4Addr>().ok()?, name.clone())))
        })
        .collect()
}

/// `services.health`: the real servers of each running appliance of this cluster, as the
/// appliance's own health check sees them (`GET appliance/{id}/status`). `None` when no
/// appliance was read. Fails when an appliance has no real server up (its Service is
/// unreachable), warns when some are down or a status cannot be read.
pub fn real_server_health(
    load_balancers: &[LoadBalancer],
    status: &BTreeMap<u64, Result<Vec<VirtualIpStatus>, ApiFailure>>,
    services: &[Service],
    nodes: &[Node],
    cluster_id: Option<&str>,
) -> Option<Finding> {
    if status.is_empty() {
        return None;
    }
    let by_address = nodes_by_address(nodes);
    let mut unhealthy = Vec::new();
    let mut up = 0;
    for lb in load_balancers
        .iter()
        .filter(|lb| status.contains_key(&lb.id.0))
    {
        let appliance = ApplianceRef {
            name: lb.name.clone(),
            id: lb.id.0,
            service: match owner(lb, services, cluster_id) {
                Some(s) => format!("Service {}", service_key(s)),
                None => tagged_for(lb),
            },
        };
        let vips = match status.get(&lb.id.0) {
            Some(Ok(vips)) => vips,
            Some(Err(failure)) => {
                unhealthy.push(UnhealthyAppliance {
                    appliance,
                    down: Vec::new(),
                    total: 0,
                    error: Some(failure.message.clone()),
                });
                continue;
            }
            None => continue,
        };
        let servers: Vec<_> = vips.iter().flat_map(|v| v.servers.iter()).collect();
        // The API says `UP`/`DOWN`; read it without regard to case, as its clients must.
        let down: Vec<DownServer> = servers
            .iter()
            .filter(|s| !s.status.eq_ignore_ascii_case("up"))
            .map(|s| {
                let node = s.ip_address.and_then(|ip| by_address.get(&ip).cloned());
                DownServer::new(s.ip_address, s.port, &s.status, node)
            })
            .collect();
        up += servers.len() - down.len();
        if !down.is_empty() {
            unhealthy.push(UnhealthyAppliance {
                appliance,
                down,
                total: servers.len(),
                error: None,
            });
        }
    }
    if unhealthy.is_empty() {
        return Some(finding(
            ids::SERVICES_HEALTH,
            Status::Ok,
            Message::Services(ServiceMessage::RealServersUp { servers: up }),
        ));
    }
    let all_down = unhealthy
        .iter()
        .any(|u| u.error.is_none() && u.down.len() == u.total);
    Some(finding(
        ids::SERVICES_HEALTH,
        if all_down { Status::Fail } else { Status::Warn },
        Message::Services(ServiceMessage::RealServersDown {
            appliances: unhealthy,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::*;
    use serde_json::json;

    #[test]
    fn pending_verdicts() {
        let served = lb_service("web", &[80], json!({}), true);
        let core = Workloads {
            nodes: vec![],
            services: vec![served.clone()],
        };
        assert_eq!(
            pending(&core, Some(&[])).message,
            Message::Services(ServiceMessage::ServicesServed { count: 1 })
        );
        let mut class: Service = lb_service("other", &[80], json!({}), false);
        if let Some(spec) = class.spec.as_mut() {
            spec.load_balancer_class = Some("example.com/lb".into());
        }
        let waiting = lb_service("api", &[443], json!({}), false);
        let core = Workloads {
            nodes: vec![],
            services: vec![served, class, waiting],
        };
        let events = [
            warning(
                "Service",
                "api",
                "AmbiguousNetwork",
                "2025-06-01T11:00:00.000000Z",
            ),
            warning("Service", "api", "Older", "2025-06-01T10:00:00.000000Z"),
        ];
        let f = pending(&core, Some(&events));
        assert_eq!(f.status, Status::Fail);
        assert_eq!(
            f.message,
            Message::Services(ServiceMessage::ServicesPending {
                services: vec![PendingService {
                    service: "default/api".into(),
                    last_warning: Some((
                        "AmbiguousNetwork".into(),
                        "note of AmbiguousNetwork".into()
                    ))
                }]
            })
        );
        let f = pending(&core, None);
        assert!(matches!(
            f.message,
            Message::Services(ServiceMessage::ServicesPending { ref services }) if services[0].last_warning.is_none()
        ));
    }

    #[test]
    fn limit_verdicts() {
        let ports: Vec<i32> = (1..=20).collect();
        let mut core = Workloads {
            nodes: (0..40)
                .map(|i| node(&format!("n{i}"), None, false, &[]))
                .collect(),
            services: vec![lb_service("ok", &ports, json!({}), true)],
        };
        let limits = |core: &Workloads| limits(&lb_services(&core.services), &core.nodes);
        assert_eq!(limits(&core).status, Status::Ok);
        core.nodes.push(node("n40", None, false, &[]));
        let f = limits(&core);
        assert_eq!(
            (f.status, f.message),
            (
                Status::Warn,
                Message::Services(ServiceMessage::OverLimits {
                    ports: vec![],
                    nodes: Some(41)
                })
            )
        );
        let many: Vec<i32> = (1..=21).collect();
        core.services
            .push(lb_service("many", &many, json!({}), false));
        let f = limits(&core);
        assert_eq!(f.status, Status::Fail);
        assert!(
            matches!(f.message, Message::Services(ServiceMessage::OverLimits { ref ports, .. }) if ports == &[("default/many".to_owned(), 21)])
        );
    }

    #[test]
    fn leaked_and_failed_verdicts() {
        let web = lb_service("web", &[80], json!({}), true);
        let ours = appliance(
            1,
            &[
                "@k8s",
                "@k8s.ClusterID=c1",
                "@k8s.Service=web",
                "@k8s.ServiceUID=uid-web",
            ],
            "available",
        );
        let gone = appliance(
            2,
            &[
                "@k8s",
                "@k8s.ClusterID=c1",
                "@k8s.Service=old",
                "@k8s.ServiceUID=uid-old",
            ],
            "available",
        );
        let other_cluster = appliance(
            3,
            &["@k8s", "@k8s.ClusterID=c2", "@k8s.Service=x"],
            "failed",
        );
        let hand_made = appliance(4, &["@k8s", "@k8s.ClusterID=c1"], "failed");
        let all = vec![ours.clone(), gone, other_cluster, hand_made];
        let services = std::slice::from_ref(&web);
        assert_eq!(leaked(&all[..1], services, Some("c1")).status, Status::Ok);
        let f = leaked(&all, services, Some("c1"));
        assert_eq!(
            (f.status, f.message),
            (
                Status::Warn,
                Message::Services(ServiceMessage::Leaked {
                    appliances: vec![ApplianceRef {
                        name: "lb-2".into(),
                        id: 2,
                        service: "Service old (UID uid-old)".into()
                    }],
                    cluster_tag: Some("@k8s.ClusterID=c1".into())
                })
            )
        );
        // Without a cluster ID only appliances without a cluster tag are this cluster's.
        assert_eq!(leaked(&all, services, None).status, Status::Ok);
        let untagged = appliance(5, &["@k8s", "@k8s.ServiceUID=uid-zzz"], "available");
        assert_eq!(leaked(&[untagged], services, None).status, Status::Warn);

        assert_eq!(failed(&all, services, Some("c1")).status, Status::Ok);
        let broken = appliance(
            1,
            &[
                "@k8s",
                "@k8s.ClusterID=c1",
                "@k8s.Service=web",
                "@k8s.ServiceUID=uid-web",
            ],
            "failed",
        );
        let f = failed(&[broken], services, Some("c1"));
        assert_eq!(
            (f.status, f.message),
            (
                Status::Fail,
                Message::Services(ServiceMessage::Failed {
                    appliances: vec![ApplianceRef {
                        name: "lb-1".into(),
                        id: 1,
                        service: "Service default/web".into()
                    }]
                })
            )
        );
    }

    fn vip_status(servers: &[(&str, &str)]) -> Vec<VirtualIpStatus> {
        from(json!([{
            "VirtualIPAddress": "203.0.113.10",
            "Port": "80",
            "CPS": "0",
            "Servers": servers
                .iter()
                .map(|(ip, status)| json!({"IPAddress": ip, "Port": "30080", "Status": status, "ActiveConn": "0", "CPS": "0"}))
                .collect::<Vec<_>>()
        }]))
    }

    #[test]
    fn real_server_health_verdicts() {
        let web = lb_service("web", &[80], json!({}), true);
        let services = std::slice::from_ref(&web);
        let nodes = [
            node("worker-1", None, false, &["192.168.0.11"]),
            node("worker-2", None, false, &["192.168.0.12"]),
        ];
        let ours = appliance(
            1,
            &[
                "@k8s",
                "@k8s.ClusterID=c1",
                "@k8s.Service=web",
                "@k8s.ServiceUID=uid-web",
            ],
            "available",
        );
        let lbs = std::slice::from_ref(&ours);
        let check = |status: Result<Vec<VirtualIpStatus>, ApiFailure>| {
            real_server_health(
                lbs,
                &BTreeMap::from([(1, status)]),
                services,
                &nodes,
                Some("c1"),
            )
        };
        // Nothing read (no running appliance of ours): no verdict at all.
        assert!(real_server_health(lbs, &BTreeMap::new(), services, &nodes, Some("c1")).is_none());

        // Case does not matter: the API says `UP`, clients must not depend on it.
        let f = check(Ok(vip_status(&[
            ("192.168.0.11", "UP"),
            ("192.168.0.12", "up"),
        ])));
        assert_eq!(
            f.map(|f| (f.status, f.message)),
            Some((
                Status::Ok,
                Message::Services(ServiceMessage::RealServersUp { servers: 2 })
            ))
        );

        let f = check(Ok(vip_status(&[
            ("192.168.0.11", "UP"),
            ("192.168.0.12", "DOWN"),
        ])));
        let appliance_ref = ApplianceRef {
            name: "lb-1".into(),
            id: 1,
            service: "Service default/web".into(),
        };
        assert_eq!(
            f.map(|f| (f.status, f.message)),
            Some((
                Status::Warn,
                Message::Services(ServiceMessage::RealServersDown {
                    appliances: vec![UnhealthyAppliance {
                        appliance: appliance_ref.clone(),
                        down: vec![DownServer {
                            address: "192.168.0.12:30080".into(),
                            node: Some("worker-2".into()),
                            status: "DOWN".into(),
                        }],
                        total: 2,
                        error: None,
                    }]
                })
            ))
        );

        // Every real server down: the Service is unreachable.
        let f = check(Ok(vip_status(&[
            ("192.168.0.11", "DOWN"),
            ("192.168.0.99", ""),
        ])));
        let f = f.expect("a verdict");
        assert_eq!(f.status, Status::Fail);
        let Message::Services(ServiceMessage::RealServersDown { appliances }) = &f.message else {
            panic!("{f:?}");
        };
        assert_eq!(appliances[0].down[1].node, None, "no Node has that address");
        assert_eq!(appliances[0].down[1].status, "unknown");
        let en = f.message.text(crate::doctor::Lang::En);
        assert!(en.detail.contains("every real server is down"), "{en:?}");
        assert!(en.fix.contains(":10256"), "{en:?}");
        let ja = f.message.text(crate::doctor::Lang::Ja);
        assert!(ja.detail.contains("Service に到達できません"), "{ja:?}");

        // A status that cannot be read warns and says why.
        let f = check(Err(ApiFailure {
            status: Some(503),
            message: "reading the status of load balancer 1: 503".into(),
        }));
        assert_eq!(f.map(|f| f.status), Some(Status::Warn));
    }
}
