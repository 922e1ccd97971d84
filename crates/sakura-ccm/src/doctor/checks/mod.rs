//! The checks: pure functions from [`Facts`] to verdicts. No I/O, no clock (the snapshot
//! carries "now"), so every verdict is unit-tested from hand-built facts.
//!
//! The decisions the controller itself makes are not re-implemented here: which server a Node
//! is ([`match_node_object`]), which router or switch a Service gets
//! ([`select_network`](crate::provider::network::select_network)), whether an appliance is a
//! Service's ([`owned_by`](crate::provider::naming::owned_by)), whether a Node may back load
//! balancers ([`node_eligible_for_load_balancers`](cloud_provider::service::predicates::node_eligible_for_load_balancers))
//! — `doctor` asks the same functions and reports what the controller would do.
//!
//! One file per area: `cloud` (the API key, its permission, the zone), `network` (the tagged
//! routers and switches, the shared segment, kube-proxy), `nodes` (Nodes and their servers),
//! `controller` (its workload, tolerations, leader Lease and RBAC), `services` (LoadBalancer
//! Services and their appliances) and `enhanced` (Services of `load-balancer-type: enhanced`
//! and their Enhanced Load Balancers); their checks are re-exported here. This file holds what
//! they share: the check [`ids`] and the report order, the verdict types, [`run_checks`]
//! (which checks run on which facts), which kind of load balancer each Service asks for
//! ([`ServiceKinds`], with the controller's defaults), and the helpers several areas use.

use std::collections::BTreeMap;

use cloud_provider::service::predicates::wants_load_balancer;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::jiff::Timestamp;
use sacloud::Server;

use super::facts::Facts;
use super::messages::{Message, NodeServer, ServiceMessage, SetupMessage};
use crate::provider::annotations::{
    EnhancedOptions, LoadBalancerOptions, Requested, parse_service_with_defaults,
};
use crate::provider::instances::{Match, MatchError, match_node_object};
use crate::provider::naming::{
    TAG_CLUSTER_ID_PREFIX, TAG_K8S, TAG_SERVICE_PREFIX, TAG_SERVICE_UID_PREFIX, cluster_tag,
};

mod cloud;
mod controller;
mod enhanced;
#[cfg(test)]
mod fixtures;
mod network;
mod nodes;
mod services;
mod zones;

pub use cloud::{credentials, permission, zone_check};
pub use controller::{
    BINARY_NAME, ControllerWorkload, FoundWorkload, controller_workload, leader, rbac, tolerations,
};
pub use enhanced::{
    EnhancedService, certificate, enhanced_checks, global_address, health, https, plan_services,
    ports, real_servers,
};
pub use network::{kube_proxy, network, network_ambiguity, shared_segment, tagged_networks};
pub use nodes::{
    JUST_JOINED_SECS, duplicate_names, kubelets_external, node_network, uninitialized, unmatched,
};
pub(crate) use services::appliance_of_this_cluster;
pub use services::{failed, leaked, limits, pending, real_server_health};

use controller::controller_running;

/// The stable IDs of the checks (what scripts match on in `--output json`).
pub mod ids {
    /// The provider configuration (env, `_FILE`, `--cloud-config`).
    pub const CLOUD_CONFIG: &str = "cloud.config";
    /// A Kubernetes client (kubeconfig, in-cluster).
    pub const CLUSTER_CONFIG: &str = "cluster.config";
    /// The Kubernetes API answers.
    pub const CLUSTER_CONNECTION: &str = "cluster.connection";
    /// auth-status accepts the credentials.
    pub const CLOUD_CREDENTIALS: &str = "cloud.credentials";
    /// The API key's permission level.
    pub const CLOUD_PERMISSION: &str = "cloud.permission";
    /// The configured zone.
    pub const CLOUD_ZONE: &str = "cloud.zone";
    /// The zone's resources can be listed.
    pub const CLOUD_INVENTORY: &str = "cloud.inventory";
    /// Nodes in zones not configured, unbridged switches across zones, routers without Nodes.
    pub const CLOUD_ZONES: &str = "cloud.zones";
    /// A switch+router (or switch) tagged `@k8s`.
    pub const CLOUD_NETWORK: &str = "cloud.network";
    /// Several tagged without distinguishing tags.
    pub const CLOUD_NETWORK_AMBIGUOUS: &str = "cloud.network_ambiguous";
    /// Cluster servers only on the shared segment.
    pub const CLOUD_SHARED_SEGMENT: &str = "cloud.shared_segment";
    /// Nodes that match no server.
    pub const NODES_UNMATCHED: &str = "nodes.unmatched";
    /// Servers sharing a name.
    pub const NODES_DUPLICATE_NAMES: &str = "nodes.duplicate_names";
    /// Nodes still tainted `uninitialized`.
    pub const NODES_UNINITIALIZED: &str = "nodes.uninitialized";
    /// Nodes registered without `--cloud-provider=external`.
    pub const NODES_CLOUD_PROVIDER: &str = "nodes.cloud_provider_external";
    /// Node addresses outside every tagged network.
    pub const NODES_NETWORK: &str = "nodes.network";
    /// kube-proxy IPVS without `strictARP`.
    pub const NETWORK_KUBE_PROXY: &str = "network.kube_proxy";
    /// The controller's Deployment or DaemonSet.
    pub const CONTROLLER_WORKLOAD: &str = "controller.workload";
    /// Its toleration of the `uninitialized` taint.
    pub const CONTROLLER_TOLERATIONS: &str = "controller.tolerations";
    /// A fresh leader Lease.
    pub const CONTROLLER_LEADER: &str = "controller.leader";
    /// The RBAC it needs.
    pub const CONTROLLER_RBAC: &str = "controller.rbac";
    /// LoadBalancer Services without an address.
    pub const SERVICES_PENDING: &str = "services.pending";
    /// Services over the appliance limits.
    pub const SERVICES_LIMITS: &str = "services.limits";
    /// Appliances of this cluster without a Service.
    pub const SERVICES_LEAKED: &str = "services.leaked";
    /// Appliances of this cluster that failed.
    pub const SERVICES_FAILED: &str = "services.failed";
    /// Real servers of appliances of this cluster that fail their health check.
    pub const SERVICES_HEALTH: &str = "services.health";
    /// Nodes without a global address, left out of Enhanced LBs.
    pub const ENHANCED_GLOBAL_ADDRESS: &str = "enhanced.global_address";
    /// `enhanced` Services with more TCP ports than an Enhanced LB serves.
    pub const ENHANCED_PORTS: &str = "enhanced.ports";
    /// Nodes × ports over the Enhanced LB's real-server limit.
    pub const ENHANCED_REAL_SERVERS: &str = "enhanced.real_servers";
    /// `https` ports without a certificate source.
    pub const ENHANCED_HTTPS: &str = "enhanced.https";
    /// Enhanced LBs without the certificate their Service asks for.
    pub const ENHANCED_CERTIFICATE: &str = "enhanced.certificate";
    /// Real servers of Enhanced LBs failing the health check.
    pub const ENHANCED_HEALTH: &str = "enhanced.health";

    /// Every check ID, in report order.
    pub const ALL: [&str; 32] = [
        CLOUD_CONFIG,
        CLUSTER_CONFIG,
        CLOUD_CREDENTIALS,
        CLOUD_PERMISSION,
        CLOUD_ZONE,
        CLOUD_INVENTORY,
        CLOUD_NETWORK,
        CLOUD_NETWORK_AMBIGUOUS,
        CLOUD_SHARED_SEGMENT,
        CLUSTER_CONNECTION,
        CLOUD_ZONES,
        NODES_UNMATCHED,
        NODES_DUPLICATE_NAMES,
        NODES_UNINITIALIZED,
        NODES_CLOUD_PROVIDER,
        NODES_NETWORK,
        NETWORK_KUBE_PROXY,
        CONTROLLER_WORKLOAD,
        CONTROLLER_TOLERATIONS,
        CONTROLLER_LEADER,
        CONTROLLER_RBAC,
        SERVICES_PENDING,
        SERVICES_LIMITS,
        SERVICES_LEAKED,
        SERVICES_FAILED,
        SERVICES_HEALTH,
        ENHANCED_GLOBAL_ADDRESS,
        ENHANCED_PORTS,
        ENHANCED_REAL_SERVERS,
        ENHANCED_HTTPS,
        ENHANCED_CERTIFICATE,
        ENHANCED_HEALTH,
    ];

    /// The checks of Enhanced Load Balancers: they run only when a LoadBalancer Service asks
    /// for `load-balancer-type: enhanced` (by annotation or the cluster default).
    pub const ENHANCED: [&str; 6] = [
        ENHANCED_GLOBAL_ADDRESS,
        ENHANCED_PORTS,
        ENHANCED_REAL_SERVERS,
        ENHANCED_HTTPS,
        ENHANCED_CERTIFICATE,
        ENHANCED_HEALTH,
    ];
}

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// ✓ nothing to do.
    Ok,
    /// ! worth a look; the controller works.
    Warn,
    /// ✗ something is broken.
    Fail,
}

impl Status {
    /// `ok`, `warn` or `fail` (JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }

    /// `✓`, `!` or `✗` (text).
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Warn => "!",
            Status::Fail => "✗",
        }
    }
}

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The check's stable ID (see [`ids`]).
    pub id: &'static str,
    /// The verdict.
    pub status: Status,
    /// What it says (both languages).
    pub message: Message,
}

fn finding(id: &'static str, status: Status, message: Message) -> Finding {
    Finding {
        id,
        status,
        message,
    }
}

/// Every check that the facts allow, in report order. Checks whose inputs could not be read are
/// left out; the failed read has its own verdict (`cloud.credentials`, `cloud.inventory`,
/// `cluster.connection`).
pub fn run_checks(facts: &Facts) -> Vec<Finding> {
    let cloud = &facts.cloud;
    let cluster = &facts.cluster;
    let mut out = Vec::new();
    out.push(credentials(&cloud.auth));
    if let Ok(auth) = &cloud.auth {
        out.push(permission(&auth.permission, cloud.load_balancers));
    }
    if let Some(zone) = &cloud.zone_info {
        out.push(zone_check(cloud.zone.name(), zone));
    }
    let inventory = match &cloud.inventory {
        Some(Ok(inv)) => Some(inv),
        Some(Err(e)) => {
            out.push(finding(
                ids::CLOUD_INVENTORY,
                Status::Fail,
                Message::Setup(SetupMessage::InventoryFailed {
                    error: e.message.clone(),
                }),
            ));
            None
        }
        None => None,
    };
    let core = cluster.core.as_ref().ok();
    let services: &[Service] = core.map(|c| c.services.as_slice()).unwrap_or_default();
    let kinds = ServiceKinds::of(services, &cloud.load_balancer_defaults);
    if let Some(inv) = inventory {
        out.push(network(inv, cloud.load_balancers, kinds.appliance_needed()));
        if core.is_some() {
            out.push(network_ambiguity(inv, &kinds.appliance));
        }
    }
    out.push(match &cluster.core {
        Ok(w) => finding(
            ids::CLUSTER_CONNECTION,
            Status::Ok,
            Message::Setup(SetupMessage::ClusterOk {
                nodes: w.nodes.len(),
                services: w.services.len(),
            }),
        ),
        Err(e) => finding(
            ids::CLUSTER_CONNECTION,
            Status::Fail,
            Message::Setup(SetupMessage::ClusterUnreachable {
                error: e.message.clone(),
            }),
        ),
    });
    let controller = controller_workload(cluster);
    let controller_running = controller_running(cluster, controller.found.as_ref());
    if let Some(core) = core {
        if let Some(inv) = inventory {
            let matches = match_nodes(&core.nodes, &inv.servers);
            out.push(shared_segment(&matches, &kinds));
            out.push(zones::zones(inv, &matches));
            out.push(unmatched(&matches));
            out.push(duplicate_names(&core.nodes, &inv.servers));
            out.push(uninitialized(
                &matches,
                cluster.warnings.as_ref().ok().map(Vec::as_slice),
                controller_running,
                cluster.now,
            ));
            // Only the appliance needs the Nodes in a tagged network.
            if cloud.load_balancers && kinds.appliance_needed() {
                out.extend(node_network(inv, &matches));
            }
        }
        out.push(kubelets_external(&core.nodes));
    }
    out.push(kube_proxy(&cluster.kube_proxy, kinds.appliance_needed()));
    out.extend(controller.findings.iter().cloned());
    if let Some(found) = &controller.found {
        out.push(tolerations(found));
        out.push(leader(cluster, found));
        out.extend(rbac(&cluster.rbac, found, &cluster.lease_name));
    }
    if let Some(core) = core {
        if !cloud.load_balancers {
            out.push(finding(
                ids::SERVICES_PENDING,
                Status::Ok,
                Message::Services(ServiceMessage::LoadBalancersDisabled),
            ));
        } else {
            out.push(pending(
                core,
                cluster.warnings.as_ref().ok().map(Vec::as_slice),
            ));
            let appliance_services: Vec<&Service> =
                kinds.appliance.iter().map(|(s, _)| *s).collect();
            out.push(limits(&appliance_services, &core.nodes));
            if !kinds.enhanced.is_empty() {
                let matches = inventory.map(|inv| match_nodes(&core.nodes, &inv.servers));
                out.extend(enhanced_checks(
                    &kinds,
                    &core.nodes,
                    matches.as_deref(),
                    cloud.enhanced.as_ref(),
                    cloud.cluster_id.as_deref(),
                ));
            }
            if let Some(inv) = inventory {
                out.push(leaked(
                    &inv.load_balancers,
                    services,
                    cloud.cluster_id.as_deref(),
                ));
                out.push(failed(
                    &inv.load_balancers,
                    services,
                    cloud.cluster_id.as_deref(),
                ));
                out.extend(real_server_health(
                    &inv.load_balancers,
                    &inv.load_balancer_status,
                    services,
                    &core.nodes,
                    cloud.cluster_id.as_deref(),
                ));
            }
        }
    }
    // Report order is the order of `ids::ALL` (cloud, cluster, nodes, networking, controller,
    // services), whatever order the checks ran in.
    out.sort_by_key(|f| ids::ALL.iter().position(|id| *id == f.id));
    out
}

// ---------------------------------------------------------------- shared by the areas

/// The LoadBalancer Services by the kind of load balancer they ask for, read as the controller
/// reads them ([`parse_service_with_defaults`] with its cluster-wide defaults). Services whose
/// annotations are invalid ask for nothing (the controller reports `InvalidAnnotation`).
#[derive(Debug)]
pub struct ServiceKinds<'a> {
    /// Services of type `internet` or `switch`, by `namespace/name`.
    pub appliance: Vec<(&'a Service, LoadBalancerOptions)>,
    /// Services of type `enhanced`, by `namespace/name`.
    pub enhanced: Vec<(&'a Service, EnhancedOptions)>,
    /// Whether a Service without the annotation gets an Enhanced LB (the cluster default).
    pub default_enhanced: bool,
}

impl<'a> ServiceKinds<'a> {
    /// The kinds `services` ask for with the controller's `defaults`.
    pub fn of(services: &'a [Service], defaults: &BTreeMap<String, String>) -> Self {
        let default_enhanced = matches!(
            parse_service_with_defaults(&Service::default(), defaults),
            Ok(Requested::Enhanced(_))
        );
        let mut kinds = Self {
            appliance: Vec::new(),
            enhanced: Vec::new(),
            default_enhanced,
        };
        for svc in lb_services(services) {
            match parse_service_with_defaults(svc, defaults) {
                Ok(Requested::Appliance(o)) => kinds.appliance.push((svc, o)),
                Ok(Requested::Enhanced(o)) => kinds.enhanced.push((svc, o)),
                Err(_) => {}
            }
        }
        kinds
    }

    /// Whether the cluster needs what the appliance needs (a tagged network, Nodes in it, not
    /// the shared segment): a Service asks for one, or no Service asks for anything and the
    /// default is an appliance type.
    pub fn appliance_needed(&self) -> bool {
        !self.appliance.is_empty() || (self.enhanced.is_empty() && !self.default_enhanced)
    }
}

/// Whether a load balancer (appliance or Enhanced LB) with these tags is one a CCM created for
/// this cluster: `@k8s`, exactly this cluster's tag (none when no cluster ID is configured),
/// and a Service tag or UID tag.
pub fn of_this_cluster(tags: &[String], cluster_id: Option<&str>) -> bool {
    let cluster_tags: Vec<&String> = tags
        .iter()
        .filter(|t| t.starts_with(TAG_CLUSTER_ID_PREFIX))
        .collect();
    let expected = cluster_id.filter(|c| !c.is_empty()).map(cluster_tag);
    let cluster_ok = match &expected {
        Some(tag) => cluster_tags.len() == 1 && cluster_tags[0] == tag,
        None => cluster_tags.is_empty(),
    };
    tags.iter().any(|t| t == TAG_K8S)
        && cluster_ok
        && tags
            .iter()
            .any(|t| t.starts_with(TAG_SERVICE_UID_PREFIX) || t.starts_with(TAG_SERVICE_PREFIX))
}

/// A Node and what the controller's matching says about it.
#[derive(Debug)]
pub struct NodeMatch<'a> {
    /// The Node.
    pub node: &'a Node,
    /// The match.
    pub result: Result<Match<'a>, MatchError>,
}

impl<'a> NodeMatch<'a> {
    /// The matched server, if any.
    pub fn server(&self) -> Option<&'a Server> {
        match &self.result {
            Ok(Match::ProviderId(s) | Match::Name(s)) => Some(s),
            Ok(Match::ProvidedIp { server, .. }) => Some(server),
            _ => None,
        }
    }
}

fn node_name(node: &Node) -> &str {
    node.metadata.name.as_deref().unwrap_or_default()
}

/// Every Node matched as the controller matches it, by name.
pub fn match_nodes<'a>(nodes: &'a [Node], servers: &'a [Server]) -> Vec<NodeMatch<'a>> {
    let mut out: Vec<NodeMatch<'a>> = nodes
        .iter()
        .map(|node| NodeMatch {
            node,
            result: match_node_object(node, servers),
        })
        .collect();
    out.sort_by(|a, b| node_name(a.node).cmp(node_name(b.node)));
    out
}

fn node_server(node: &Node, server: &Server) -> NodeServer {
    NodeServer {
        node: node_name(node).to_owned(),
        server: server.name.clone(),
        id: server.id.0,
    }
}

fn service_key(s: &Service) -> String {
    format!(
        "{}/{}",
        s.metadata.namespace.as_deref().unwrap_or_default(),
        s.metadata.name.as_deref().unwrap_or_default()
    )
}

fn lb_services(services: &[Service]) -> Vec<&Service> {
    let mut out: Vec<&Service> = services
        .iter()
        .filter(|s| wants_load_balancer(s, None) && s.metadata.deletion_timestamp.is_none())
        .collect();
    out.sort_by_key(|s| service_key(s));
    out
}

/// When an event last happened: its series, its event time, the deprecated timestamp, or its
/// creation.
fn event_time(e: &Event) -> Option<Timestamp> {
    e.series
        .as_ref()
        .map(|s| s.last_observed_time.0)
        .or(e.event_time.as_ref().map(|t| t.0))
        .or(e.deprecated_last_timestamp.as_ref().map(|t| t.0))
        .or(e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// The last Warning event about an object.
fn last_warning<'a>(
    events: &'a [Event],
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> Option<&'a Event> {
    events
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .filter(|e| {
            e.regarding.as_ref().is_some_and(|r| {
                r.kind.as_deref() == Some(kind)
                    && r.name.as_deref() == Some(name)
                    && (namespace.is_none() || r.namespace.as_deref() == namespace)
            })
        })
        .max_by_key(|e| event_time(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::*;
    use crate::doctor::facts::{ApiFailure, CloudFacts, ClusterFacts, Workloads};

    #[test]
    fn checks_without_their_inputs_are_left_out_and_the_order_is_stable() {
        let facts = Facts {
            cloud: CloudFacts {
                zone: sacloud::Zone::Is1a,
                cluster_id: None,
                load_balancers: true,
                load_balancer_defaults: BTreeMap::new(),
                auth: Err(ApiFailure {
                    status: Some(401),
                    message: "401".into(),
                }),
                zone_info: None,
                inventory: None,
                enhanced: None,
            },
            cluster: ClusterFacts {
                core: Err(ok_failure(403)),
                ..cluster()
            },
        };
        let findings = run_checks(&facts);
        let got: Vec<(&str, Status)> = findings.iter().map(ids_and_status).collect();
        assert_eq!(
            got,
            vec![
                (ids::CLOUD_CREDENTIALS, Status::Fail),
                (ids::CLUSTER_CONNECTION, Status::Fail),
                (ids::NETWORK_KUBE_PROXY, Status::Warn),
                (ids::CONTROLLER_WORKLOAD, Status::Ok),
                (ids::CONTROLLER_TOLERATIONS, Status::Ok),
                (ids::CONTROLLER_LEADER, Status::Ok),
                (ids::CONTROLLER_RBAC, Status::Fail),
            ]
        );
        let mut facts = facts;
        facts.cloud.load_balancers = false;
        facts.cluster.core = Ok(Workloads::default());
        let got = run_checks(&facts);
        assert!(
            got.iter()
                .any(|f| f.message == Message::Services(ServiceMessage::LoadBalancersDisabled))
        );
        assert!(got.iter().all(|f| f.id != ids::SERVICES_LIMITS));
    }
}
