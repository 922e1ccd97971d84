//! The checks: pure functions from [`Facts`] to verdicts. No I/O, no clock (the snapshot
//! carries "now"), so every verdict is unit-tested from hand-built facts.
//!
//! The decisions the controller itself makes are not re-implemented here: which server a Node
//! is ([`match_node_object`]), which router or switch a Service gets ([`select_network`]), whether an
//! appliance is a Service's ([`owned_by`]), whether a Node may back load balancers
//! ([`node_eligible_for_load_balancers`]) — `doctor` asks the same functions and reports what the
//! controller would do.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use cloud_provider::access::{ApiAccess, REQUIRED_ACCESS};
use cloud_provider::labels::TAINT_UNINITIALIZED;
use cloud_provider::options::parse_go_bool;
use cloud_provider::service::predicates::{node_eligible_for_load_balancers, wants_load_balancer};
use k8s_openapi::api::core::v1::{Node, PodSpec, PodTemplateSpec, Service};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::PolicyRule;
use k8s_openapi::jiff::Timestamp;
use sacloud::api::load_balancer::LOAD_BALANCER_CLASS;
use sacloud::{Id, Internet, LoadBalancer, NicConnection, Server, Switch};

use super::facts::{ApiFailure, ClusterFacts, Facts, Inventory, KubeFailure, Rbac, Workloads};
use super::messages::{
    ApplianceRef, Message, NetKind, NodeServer, PendingService, ProxyUnknown, TaintCause,
    Unmatched, WorkloadRef,
};
use crate::provider::annotations::{LoadBalancerType, parse_service};
use crate::provider::cidr::Ipv4Cidr;
use crate::provider::cloud_load_balancers::{Phase, phase};
use crate::provider::instances::{Match, MatchError, match_node_object, node_addresses};
use crate::provider::naming::{
    Ownership, ServiceIdentity, TAG_CLUSTER_ID_PREFIX, TAG_K8S, TAG_SERVICE_PREFIX,
    TAG_SERVICE_UID_PREFIX, cluster_tag, owned_by,
};
use crate::provider::network::{NetworkCandidate, NetworkKind, SelectionError, select_network};
use crate::provider::settings::{MAX_PORTS, MAX_REAL_SERVERS};

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

    /// Every check ID, in report order.
    pub const ALL: [&str; 24] = [
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

/// Nodes younger than this may simply not have been seen by the controller yet.
pub const JUST_JOINED_SECS: i64 = 60;

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
                Message::InventoryFailed {
                    error: e.message.clone(),
                },
            ));
            None
        }
        None => None,
    };
    let core = cluster.core.as_ref().ok();
    let services: &[Service] = core.map(|c| c.services.as_slice()).unwrap_or_default();
    if let Some(inv) = inventory {
        out.push(network(inv, cloud.load_balancers));
        if core.is_some() {
            out.push(network_ambiguity(inv, services));
        }
    }
    out.push(match &cluster.core {
        Ok(w) => finding(
            ids::CLUSTER_CONNECTION,
            Status::Ok,
            Message::ClusterOk {
                nodes: w.nodes.len(),
                services: w.services.len(),
            },
        ),
        Err(e) => finding(
            ids::CLUSTER_CONNECTION,
            Status::Fail,
            Message::ClusterUnreachable {
                error: e.message.clone(),
            },
        ),
    });
    let controller = controller_workload(cluster);
    let controller_running = controller_running(cluster, controller.found.as_ref());
    if let Some(core) = core {
        if let Some(inv) = inventory {
            let matches = match_nodes(&core.nodes, &inv.servers);
            out.push(shared_segment(&matches));
            out.push(unmatched(&matches));
            out.push(duplicate_names(&core.nodes, &inv.servers));
            out.push(uninitialized(
                &matches,
                cluster.warnings.as_ref().ok().map(Vec::as_slice),
                controller_running,
                cluster.now,
            ));
            if cloud.load_balancers {
                out.extend(node_network(inv, &matches));
            }
        }
        out.push(kubelets_external(&core.nodes));
    }
    out.push(kube_proxy(&cluster.kube_proxy));
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
                Message::LoadBalancersDisabled,
            ));
        } else {
            out.push(pending(
                core,
                cluster.warnings.as_ref().ok().map(Vec::as_slice),
            ));
            out.push(limits(core));
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
            }
        }
    }
    // Report order is the order of `ids::ALL` (cloud, cluster, nodes, networking, controller,
    // services), whatever order the checks ran in.
    out.sort_by_key(|f| ids::ALL.iter().position(|id| *id == f.id));
    out
}

// ---------------------------------------------------------------- cloud

/// `cloud.credentials`: 401/403 mean refused; anything else that failed means unreachable.
pub fn credentials(auth: &Result<sacloud::AuthStatus, ApiFailure>) -> Finding {
    match auth {
        Ok(a) => finding(
            ids::CLOUD_CREDENTIALS,
            Status::Ok,
            Message::CredentialsOk {
                account: a.account.name.clone(),
                account_id: a.account.id.0,
            },
        ),
        Err(f) if matches!(f.status, Some(401 | 403)) => finding(
            ids::CLOUD_CREDENTIALS,
            Status::Fail,
            Message::CredentialsRefused {
                error: f.message.clone(),
            },
        ),
        Err(f) => finding(
            ids::CLOUD_CREDENTIALS,
            Status::Fail,
            Message::CloudUnreachable {
                error: f.message.clone(),
            },
        ),
    }
}

/// `cloud.permission`, with the controller's own start rule: `view` and `arrange` stop it when
/// it manages load balancers; an unknown level is only a warning.
pub fn permission(level: &str, load_balancers: bool) -> Finding {
    let level = level.to_owned();
    if !load_balancers || level == "create" {
        return finding(
            ids::CLOUD_PERMISSION,
            Status::Ok,
            Message::PermissionOk {
                permission: level,
                load_balancers,
            },
        );
    }
    if matches!(level.as_str(), "view" | "arrange") {
        finding(
            ids::CLOUD_PERMISSION,
            Status::Fail,
            Message::PermissionTooLow { permission: level },
        )
    } else {
        finding(
            ids::CLOUD_PERMISSION,
            Status::Warn,
            Message::PermissionUnknown { permission: level },
        )
    }
}

/// `cloud.zone`.
pub fn zone_check(zone: &str, info: &Result<sacloud::api::zone::ZoneInfo, ApiFailure>) -> Finding {
    match info {
        Ok(z) if z.is_dummy => finding(
            ids::CLOUD_ZONE,
            Status::Warn,
            Message::ZoneSandbox {
                zone: zone.to_owned(),
            },
        ),
        Ok(z) => finding(
            ids::CLOUD_ZONE,
            Status::Ok,
            Message::ZoneOk {
                zone: zone.to_owned(),
                description: z.description.clone(),
            },
        ),
        Err(e) => finding(
            ids::CLOUD_ZONE,
            Status::Fail,
            Message::ZoneUnknown {
                zone: zone.to_owned(),
                error: e.message.clone(),
            },
        ),
    }
}

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

/// `cloud.network`: a switch+router tagged `@k8s` (or at least a switch).
pub fn network(inv: &Inventory, load_balancers: bool) -> Finding {
    let routers: Vec<String> = tagged(&inv.routers).into_iter().map(label).collect();
    let switches: Vec<String> = tagged(&inv.switches).into_iter().map(label).collect();
    if !routers.is_empty() {
        return finding(
            ids::CLOUD_NETWORK,
            Status::Ok,
            Message::NetworkFound { routers, switches },
        );
    }
    if !switches.is_empty() {
        return finding(
            ids::CLOUD_NETWORK,
            Status::Ok,
            Message::NetworkSwitchOnly { switches },
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
        Message::NetworkNone {
            near_misses,
            load_balancers,
        },
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

/// `cloud.network_ambiguous`: the selection each LoadBalancer Service would make, and
/// candidates no selector can reach.
pub fn network_ambiguity(inv: &Inventory, services: &[Service]) -> Finding {
    let routers: Vec<&Internet> = tagged(&inv.routers);
    let switches: Vec<&Switch> = tagged(&inv.switches);
    let mut failing: Vec<(String, String)> = Vec::new();
    for svc in lb_services(services) {
        // Services with invalid annotations never reach selection (InvalidAnnotation instead).
        let Ok(options) = parse_service(svc) else {
            continue;
        };
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
            Message::NetworkAmbiguousServices { services: failing },
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
                Message::NetworkIndistinguishable {
                    kind,
                    names: hidden,
                },
            );
        }
    }
    if routers.len() > 1 {
        return finding(
            ids::CLOUD_NETWORK_AMBIGUOUS,
            Status::Ok,
            Message::NetworkSelectable {
                kind: NetKind::Router,
                names: routers.into_iter().map(label).collect(),
            },
        );
    }
    if switches.len() > 1 {
        return finding(
            ids::CLOUD_NETWORK_AMBIGUOUS,
            Status::Ok,
            Message::NetworkSelectable {
                kind: NetKind::Switch,
                names: switches.into_iter().map(label).collect(),
            },
        );
    }
    finding(
        ids::CLOUD_NETWORK_AMBIGUOUS,
        Status::Ok,
        Message::NetworkUnambiguous,
    )
}

// ---------------------------------------------------------------- nodes

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

/// `cloud.shared_segment`: a Node's server whose only connected NICs are on the shared
/// segment cannot back an appliance load balancer.
pub fn shared_segment(matches: &[NodeMatch<'_>]) -> Finding {
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
            Message::SharedSegmentOk,
        )
    } else {
        finding(
            ids::CLOUD_SHARED_SEGMENT,
            Status::Fail,
            Message::SharedSegmentOnly {
                servers: only_shared,
            },
        )
    }
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
            Message::NodesUnmatched {
                nodes: missing,
                matched,
            },
        );
    }
    finding(
        ids::NODES_UNMATCHED,
        if by_ip.is_empty() {
            Status::Ok
        } else {
            Status::Warn
        },
        Message::NodesMatched {
            count: matches.len(),
            by_ip,
        },
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
        return finding(ids::NODES_DUPLICATE_NAMES, Status::Ok, Message::NamesUnique);
    }
    let status = if dups.iter().any(|(_, _, node)| *node) {
        Status::Fail
    } else {
        Status::Warn
    };
    finding(
        ids::NODES_DUPLICATE_NAMES,
        status,
        Message::NamesDuplicated { names: dups },
    )
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
        return finding(ids::NODES_UNINITIALIZED, Status::Ok, Message::NoneTainted);
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
        Message::Tainted { nodes: tainted },
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
            Message::KubeletsExternal,
        )
    } else {
        finding(
            ids::NODES_CLOUD_PROVIDER,
            Status::Fail,
            Message::KubeletsNotExternal { nodes: bad },
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

fn tagged_switch_ids(inv: &Inventory) -> Vec<Id> {
    let mut ids: Vec<Id> = tagged(&inv.switches)
        .iter()
        .map(|s| s.id)
        .chain(tagged(&inv.routers).iter().map(|r| r.switch.id))
        .collect();
    ids.sort();
    ids.dedup();
    ids
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
            Message::NodeIpsInNetwork { networks },
        )
    } else {
        finding(
            ids::NODES_NETWORK,
            Status::Fail,
            Message::NodeIpsOutside {
                nodes: outside,
                networks,
            },
        )
    })
}

// ---------------------------------------------------------------- networking

/// `network.kube_proxy`: IPVS mode needs `strictARP: true` for DSR; when the mode cannot be
/// read, a reminder of the sysctls.
pub fn kube_proxy(
    configmap: &Result<Option<k8s_openapi::api::core::v1::ConfigMap>, KubeFailure>,
) -> Finding {
    let unknown = |why| {
        finding(
            ids::NETWORK_KUBE_PROXY,
            Status::Warn,
            Message::KubeProxyUnknown(why),
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
            Message::KubeProxyNotIpvs {
                mode: if mode.is_empty() {
                    "iptables".to_owned()
                } else {
                    mode
                },
            },
        );
    }
    if config["ipvs"]["strictARP"].as_bool() == Some(true) {
        finding(
            ids::NETWORK_KUBE_PROXY,
            Status::Ok,
            Message::KubeProxyStrictArp,
        )
    } else {
        finding(
            ids::NETWORK_KUBE_PROXY,
            Status::Fail,
            Message::KubeProxyNoStrictArp,
        )
    }
}

// ---------------------------------------------------------------- controller

/// The name the controller's image, command and workload carry.
pub const BINARY_NAME: &str = "sakura-cloud-controller-manager";

/// The controller's workload as found.
#[derive(Debug, Clone)]
pub struct FoundWorkload {
    /// Which one.
    pub workload: WorkloadRef,
    /// Its Pod template.
    pub pod: PodSpec,
    /// Ready and desired replicas, when the status says.
    pub ready: Option<(i32, i32)>,
}

impl FoundWorkload {
    /// The controller container's command line after the binary (command, then args).
    pub fn arguments(&self) -> Vec<String> {
        let Some(c) = self.pod.containers.iter().find(|c| runs_controller(c)) else {
            return Vec::new();
        };
        let all: Vec<String> = c
            .command
            .iter()
            .flatten()
            .chain(c.args.iter().flatten())
            .cloned()
            .collect();
        match all.iter().position(|a| a.contains(BINARY_NAME)) {
            Some(i) => all[i + 1..].to_vec(),
            None => all,
        }
    }

    /// Whether it runs with `--leader-elect=false` (Go bool spellings; last one wins).
    pub fn leader_election_off(&self) -> bool {
        let args = self.arguments();
        let mut off = false;
        let mut i = 0;
        while i < args.len() {
            let a = args[i].trim_start_matches('-');
            if args[i].starts_with('-') {
                if let Some(v) = a.strip_prefix("leader-elect=") {
                    off = parse_go_bool(v) == Ok(false);
                } else if a == "leader-elect" {
                    match args.get(i + 1).map(|v| parse_go_bool(v)) {
                        Some(Ok(v)) => {
                            off = !v;
                            i += 1;
                        }
                        _ => off = false,
                    }
                }
            }
            i += 1;
        }
        off
    }

    /// Its ServiceAccount (`default` when the template names none).
    pub fn service_account(&self) -> String {
        self.pod
            .service_account_name
            .clone()
            .or_else(|| self.pod.service_account.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "default".to_owned())
    }
}

fn runs_controller(c: &k8s_openapi::api::core::v1::Container) -> bool {
    c.image.as_deref().is_some_and(|i| i.contains(BINARY_NAME))
        || c.command
            .iter()
            .flatten()
            .chain(c.args.iter().flatten())
            .any(|a| a.contains(BINARY_NAME))
}

fn pod_runs_controller(pod: &PodSpec) -> bool {
    pod.containers.iter().any(runs_controller)
}

/// The controller's workload and its verdicts.
#[derive(Debug, Clone)]
pub struct ControllerWorkload {
    /// The workload, when found.
    pub found: Option<FoundWorkload>,
    /// `controller.workload`.
    pub findings: Vec<Finding>,
}

/// `controller.workload`: a Deployment or DaemonSet in the namespace whose Pods run the
/// controller (by image or command), Deployments first, by name.
pub fn controller_workload(cluster: &ClusterFacts) -> ControllerWorkload {
    // (kind, name, Pod template, (ready, desired)) of every workload, per listing.
    type Candidate<'a> = (
        &'static str,
        Option<&'a String>,
        Option<&'a PodTemplateSpec>,
        Option<(i32, i32)>,
    );
    let deployments: Result<Vec<Candidate<'_>>, &KubeFailure> =
        cluster.deployments.as_ref().map(|list| {
            list.iter()
                .map(|d| {
                    let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                    let ready = d
                        .status
                        .as_ref()
                        .map(|s| (s.ready_replicas.unwrap_or(0), desired));
                    (
                        "Deployment",
                        d.metadata.name.as_ref(),
                        d.spec.as_ref().map(|s| &s.template),
                        ready,
                    )
                })
                .collect()
        });
    let daemonsets: Result<Vec<Candidate<'_>>, &KubeFailure> =
        cluster.daemonsets.as_ref().map(|list| {
            list.iter()
                .map(|d| {
                    let ready = d
                        .status
                        .as_ref()
                        .map(|s| (s.number_ready, s.desired_number_scheduled));
                    (
                        "DaemonSet",
                        d.metadata.name.as_ref(),
                        d.spec.as_ref().map(|s| &s.template),
                        ready,
                    )
                })
                .collect()
        });
    let mut found: Vec<FoundWorkload> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    for listing in [deployments, daemonsets] {
        match listing {
            Ok(candidates) => {
                for (kind, name, template, ready) in candidates {
                    let Some(pod) = template
                        .and_then(|t| t.spec.clone())
                        .filter(pod_runs_controller)
                    else {
                        continue;
                    };
                    found.push(FoundWorkload {
                        workload: WorkloadRef {
                            kind: kind.to_owned(),
                            namespace: cluster.namespace.clone(),
                            name: name.cloned().unwrap_or_default(),
                        },
                        pod,
                        ready,
                    });
                }
            }
            Err(e) => errors.push(e.message.clone()),
        }
    }
    let first = found.into_iter().next();
    let f = match &first {
        None if !errors.is_empty() => finding(
            ids::CONTROLLER_WORKLOAD,
            Status::Warn,
            Message::WorkloadUnreadable {
                error: errors.join("; "),
            },
        ),
        None => finding(
            ids::CONTROLLER_WORKLOAD,
            Status::Fail,
            Message::WorkloadMissing {
                namespace: cluster.namespace.clone(),
            },
        ),
        Some(w) => match w.ready {
            Some((0, desired)) if desired > 0 => finding(
                ids::CONTROLLER_WORKLOAD,
                Status::Fail,
                Message::WorkloadNotReady {
                    workload: w.workload.clone(),
                    desired,
                },
            ),
            ready => finding(
                ids::CONTROLLER_WORKLOAD,
                Status::Ok,
                Message::WorkloadFound {
                    workload: w.workload.clone(),
                    ready,
                },
            ),
        },
    };
    ControllerWorkload {
        found: first,
        findings: vec![f],
    }
}

/// `controller.tolerations`: the Pods tolerate the `uninitialized` taint (or every taint).
pub fn tolerations(found: &FoundWorkload) -> Finding {
    let tolerates = found.pod.tolerations.iter().flatten().any(|t| {
        let effect_ok = t
            .effect
            .as_deref()
            .is_none_or(|e| e.is_empty() || e == "NoSchedule");
        let exists = t.operator.as_deref() == Some("Exists");
        let key = t.key.as_deref().unwrap_or_default();
        effect_ok && ((key.is_empty() && exists) || key == TAINT_UNINITIALIZED)
    });
    if tolerates {
        finding(
            ids::CONTROLLER_TOLERATIONS,
            Status::Ok,
            Message::TolerationOk {
                workload: found.workload.clone(),
            },
        )
    } else {
        finding(
            ids::CONTROLLER_TOLERATIONS,
            Status::Fail,
            Message::TolerationMissing {
                workload: found.workload.clone(),
            },
        )
    }
}

/// How the leader Lease stands: `Ok(secs since renewal)` when fresh, `Err(expired secs ago)`
/// otherwise (`None`: released or never renewed).
fn lease_state(
    lease: &k8s_openapi::api::coordination::v1::Lease,
    now: Timestamp,
) -> (String, Result<i64, Option<i64>>) {
    let spec = lease.spec.clone().unwrap_or_default();
    let holder = spec.holder_identity.unwrap_or_default();
    let Some(renewed) = spec.renew_time.map(|t| t.0) else {
        return (holder, Err(None));
    };
    if holder.is_empty() {
        return (holder, Err(None));
    }
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    let since = now.as_second() - renewed.as_second();
    if since <= duration {
        (holder, Ok(since.max(0)))
    } else {
        (holder, Err(Some(since - duration)))
    }
}

/// Whether a controller seems to run: a workload was found (or could not be looked for) and
/// the Lease is fresh (or leader election is off, or the Lease could not be read).
fn controller_running(cluster: &ClusterFacts, found: Option<&FoundWorkload>) -> bool {
    let workload_known_missing =
        found.is_none() && cluster.deployments.is_ok() && cluster.daemonsets.is_ok();
    if workload_known_missing {
        return false;
    }
    if found.is_some_and(FoundWorkload::leader_election_off) {
        return true;
    }
    match &cluster.lease {
        Ok(Some(lease)) => lease_state(lease, cluster.now).1.is_ok(),
        Ok(None) => false,
        Err(_) => true,
    }
}

/// `controller.leader`.
pub fn leader(cluster: &ClusterFacts, found: &FoundWorkload) -> Finding {
    if found.leader_election_off() {
        return finding(
            ids::CONTROLLER_LEADER,
            Status::Ok,
            Message::LeaderElectionOff {
                workload: found.workload.clone(),
            },
        );
    }
    match &cluster.lease {
        Err(e) => finding(
            ids::CONTROLLER_LEADER,
            Status::Warn,
            Message::LeaseUnreadable {
                error: e.message.clone(),
            },
        ),
        Ok(None) => finding(
            ids::CONTROLLER_LEADER,
            Status::Fail,
            Message::LeaseMissing {
                lease: format!("{}/{}", cluster.namespace, cluster.lease_name),
            },
        ),
        Ok(Some(lease)) => match lease_state(lease, cluster.now) {
            (holder, Ok(renewed_secs_ago)) => finding(
                ids::CONTROLLER_LEADER,
                Status::Ok,
                Message::LeaseFresh {
                    holder,
                    renewed_secs_ago,
                },
            ),
            (holder, Err(expired_secs_ago)) => finding(
                ids::CONTROLLER_LEADER,
                Status::Fail,
                Message::LeaseExpired {
                    holder,
                    expired_secs_ago,
                },
            ),
        },
    }
}

fn rule_covers(rule: &PolicyRule, access: &ApiAccess, verb: &str, lease_name: &str) -> bool {
    let any = |list: &Option<Vec<String>>, want: &str| {
        list.iter().flatten().any(|v| v == "*" || v == want)
    };
    let group_ok = any(&rule.api_groups, access.group);
    let resource_ok = rule.resources.iter().flatten().any(|r| {
        r == "*"
            || r == access.resource
            || access
                .resource
                .split_once('/')
                .is_some_and(|(_, sub)| r.strip_prefix("*/") == Some(sub))
    });
    let verb_ok = rule.verbs.iter().any(|v| v == "*" || v == verb);
    // A rule limited to names only serves reads and writes of those objects: the Lease's
    // get/update (never create, list or watch).
    let names_ok = match rule.resource_names.as_deref() {
        None | Some([]) => true,
        Some(names) => {
            access.resource == "leases"
                && names.iter().any(|n| n == lease_name)
                && !matches!(verb, "create" | "list" | "watch")
        }
    };
    group_ok && resource_ok && verb_ok && names_ok
}

/// Whether an access may be granted in the controller's namespace only (the Lease lives
/// there); everything else is cluster-wide.
fn namespaced_ok(access: &ApiAccess) -> bool {
    access.group == "coordination.k8s.io" && access.resource == "leases"
}

fn subject_is(
    subjects: Option<&Vec<k8s_openapi::api::rbac::v1::Subject>>,
    namespace: &str,
    name: &str,
) -> bool {
    subjects
        .into_iter()
        .flatten()
        .any(|s| match s.kind.as_str() {
            "ServiceAccount" => s.name == name && s.namespace.as_deref() == Some(namespace),
            "Group" => {
                s.name == "system:serviceaccounts"
                    || s.name == format!("system:serviceaccounts:{namespace}")
            }
            "User" => s.name == format!("system:serviceaccount:{namespace}:{name}"),
            _ => false,
        })
}

/// `controller.rbac`: the rules bound to the controller's ServiceAccount grant every verb of
/// [`REQUIRED_ACCESS`] (ClusterRoles through ClusterRoleBindings; the Lease may also be granted
/// by a Role or ClusterRole bound in the namespace).
pub fn rbac(
    rbac: &Result<Rbac, KubeFailure>,
    found: &FoundWorkload,
    lease_name: &str,
) -> Option<Finding> {
    let namespace = &found.workload.namespace;
    let sa = found.service_account();
    let sa_label = format!("{namespace}/{sa}");
    let rbac = match rbac {
        Ok(r) => r,
        Err(e) => {
            return Some(finding(
                ids::CONTROLLER_RBAC,
                Status::Warn,
                Message::RbacUnknown {
                    why: e.message.clone(),
                },
            ));
        }
    };
    let cluster_role = |name: &str| {
        rbac.cluster_roles
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(name))
    };
    let mut cluster_rules: Vec<&PolicyRule> = Vec::new();
    for b in rbac
        .cluster_role_bindings
        .iter()
        .filter(|b| subject_is(b.subjects.as_ref(), namespace, &sa))
        .filter(|b| b.role_ref.kind == "ClusterRole")
    {
        if let Some(r) = cluster_role(&b.role_ref.name) {
            cluster_rules.extend(r.rules.iter().flatten());
        }
    }
    let mut namespace_rules: Vec<&PolicyRule> = Vec::new();
    for b in rbac
        .role_bindings
        .iter()
        .filter(|b| subject_is(b.subjects.as_ref(), namespace, &sa))
    {
        let rules = match b.role_ref.kind.as_str() {
            "ClusterRole" => cluster_role(&b.role_ref.name).and_then(|r| r.rules.as_ref()),
            "Role" => rbac
                .roles
                .iter()
                .find(|r| r.metadata.name.as_deref() == Some(b.role_ref.name.as_str()))
                .and_then(|r| r.rules.as_ref()),
            _ => None,
        };
        namespace_rules.extend(rules.into_iter().flatten());
    }
    let mut missing: Vec<String> = Vec::new();
    for access in REQUIRED_ACCESS {
        let lacking: Vec<&str> = access
            .verbs
            .iter()
            .copied()
            .filter(|verb| {
                let covered = |rules: &[&PolicyRule]| {
                    rules
                        .iter()
                        .any(|r| rule_covers(r, access, verb, lease_name))
                };
                !(covered(&cluster_rules) || (namespaced_ok(access) && covered(&namespace_rules)))
            })
            .collect();
        if !lacking.is_empty() {
            let group = if access.group.is_empty() {
                "core"
            } else {
                access.group
            };
            missing.push(format!(
                "{group} {}: {}",
                access.resource,
                lacking.join(", ")
            ));
        }
    }
    Some(if missing.is_empty() {
        finding(
            ids::CONTROLLER_RBAC,
            Status::Ok,
            Message::RbacOk {
                service_account: sa_label,
            },
        )
    } else {
        finding(
            ids::CONTROLLER_RBAC,
            Status::Fail,
            Message::RbacMissing {
                service_account: sa_label,
                missing,
            },
        )
    })
}

// ---------------------------------------------------------------- services

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
            Message::ServicesServed { count: lbs.len() },
        )
    } else {
        finding(
            ids::SERVICES_PENDING,
            Status::Fail,
            Message::ServicesPending { services: waiting },
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

/// `services.limits`: more TCP ports than an appliance serves fails the Service; more eligible
/// Nodes than real servers only leaves some out.
pub fn limits(core: &Workloads) -> Finding {
    let lbs = lb_services(&core.services);
    let ports: Vec<(String, usize)> = lbs
        .iter()
        .map(|s| (service_key(s), tcp_ports(s)))
        .filter(|(_, n)| *n > MAX_PORTS)
        .collect();
    let eligible = core
        .nodes
        .iter()
        .filter(|n| node_eligible_for_load_balancers(n))
        .count();
    let nodes = (!lbs.is_empty() && eligible > MAX_REAL_SERVERS).then_some(eligible);
    let status = if !ports.is_empty() {
        Status::Fail
    } else if nodes.is_some() {
        Status::Warn
    } else {
        return finding(ids::SERVICES_LIMITS, Status::Ok, Message::WithinLimits);
    };
    finding(
        ids::SERVICES_LIMITS,
        status,
        Message::OverLimits { ports, nodes },
    )
}

/// Whether the appliance is a load balancer a CCM created for this cluster: `@k8s`, exactly this
/// cluster's tag (none when no cluster ID is configured), and a Service tag or UID tag.
fn of_this_cluster(lb: &LoadBalancer, cluster_id: Option<&str>) -> bool {
    let tags = &lb.tags;
    let cluster_tags: Vec<&String> = tags
        .iter()
        .filter(|t| t.starts_with(TAG_CLUSTER_ID_PREFIX))
        .collect();
    let expected = cluster_id.filter(|c| !c.is_empty()).map(cluster_tag);
    let cluster_ok = match &expected {
        Some(tag) => cluster_tags.len() == 1 && cluster_tags[0] == tag,
        None => cluster_tags.is_empty(),
    };
    lb.class == LOAD_BALANCER_CLASS
        && tags.iter().any(|t| t == TAG_K8S)
        && cluster_ok
        && tags
            .iter()
            .any(|t| t.starts_with(TAG_SERVICE_UID_PREFIX) || t.starts_with(TAG_SERVICE_PREFIX))
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
        .filter(|lb| of_this_cluster(lb, cluster_id))
        .filter(|lb| owner(lb, services, cluster_id).is_none())
        .map(|lb| ApplianceRef {
            name: lb.name.clone(),
            id: lb.id.0,
            service: tagged_for(lb),
        })
        .collect();
    leaks.sort_by_key(|a| a.id);
    if leaks.is_empty() {
        finding(ids::SERVICES_LEAKED, Status::Ok, Message::NoLeaks)
    } else {
        finding(
            ids::SERVICES_LEAKED,
            Status::Warn,
            Message::Leaked {
                appliances: leaks,
                cluster_tag: cluster_id.filter(|c| !c.is_empty()).map(cluster_tag),
            },
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
        .filter(|lb| of_this_cluster(lb, cluster_id) && phase(lb) == Phase::Failed)
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
        finding(ids::SERVICES_FAILED, Status::Ok, Message::NoneFailed)
    } else {
        finding(
            ids::SERVICES_FAILED,
            Status::Fail,
            Message::Failed { appliances: bad },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::facts::CloudFacts;
    use cloud_provider::labels::ANNOTATION_PROVIDED_NODE_IP;
    use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
    use k8s_openapi::api::coordination::v1::Lease;
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::{Value, json};

    fn from<T: k8s_openapi::serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    const NOW: &str = "2025-06-01T12:00:00Z";

    fn now() -> Timestamp {
        NOW.parse().unwrap()
    }

    /// A Node: `pid` provider ID, tainted or not, addresses.
    fn node(name: &str, pid: Option<&str>, tainted: bool, ips: &[&str]) -> Node {
        let taints = if tainted {
            json!([{"key": TAINT_UNINITIALIZED, "effect": "NoSchedule"}])
        } else {
            json!([])
        };
        let addresses: Vec<Value> = ips
            .iter()
            .map(|ip| json!({"type": "InternalIP", "address": ip}))
            .collect();
        from(json!({
            "metadata": {"name": name, "creationTimestamp": "2025-06-01T10:00:00Z"},
            "spec": {"providerID": pid, "taints": taints},
            "status": {"addresses": addresses}
        }))
    }

    fn router_nic(ip: &str) -> Value {
        json!({"UserIPAddress": ip, "Switch": {"ID": 10, "Scope": "user",
            "Subnet": {"NetworkAddress": "203.0.113.16", "NetworkMaskLen": 28}}})
    }

    fn shared_nic(ip: &str) -> Value {
        json!({"IPAddress": ip, "Switch": {"ID": 99, "Scope": "shared",
            "Subnet": {"NetworkAddress": "100.64.0.0", "NetworkMaskLen": 18}}})
    }

    fn server(id: u64, name: &str, nics: Vec<Value>) -> Server {
        from(json!({"ID": id, "Name": name, "Interfaces": nics}))
    }

    fn router(id: u64, name: &str, tags: &[&str], network: &str) -> Internet {
        from(json!({"ID": id, "Name": name, "Tags": tags,
            "Switch": {"ID": id + 1000, "Subnets": [{"NetworkAddress": network, "NetworkMaskLen": 28}]}}))
    }

    fn switch(id: u64, name: &str, tags: &[&str]) -> Switch {
        from(
            json!({"ID": id, "Name": name, "Tags": tags, "Scope": "user",
            "UserSubnet": {"DefaultRoute": "192.168.0.1", "NetworkMaskLen": 24}}),
        )
    }

    fn lb_service(name: &str, ports: &[i32], annotations: Value, ingress: bool) -> Service {
        let ports: Vec<Value> = ports
            .iter()
            .map(|p| json!({"port": p, "protocol": "TCP"}))
            .collect();
        let status = if ingress {
            json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.25"}]}})
        } else {
            json!({})
        };
        from(json!({
            "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"), "annotations": annotations},
            "spec": {"type": "LoadBalancer", "ports": ports},
            "status": status
        }))
    }

    fn appliance(id: u64, tags: &[&str], availability: &str) -> LoadBalancer {
        from(
            json!({"ID": id, "Class": "loadbalancer", "Name": format!("lb-{id}"), "Tags": tags,
            "Availability": availability, "Instance": {"Status": "up"}}),
        )
    }

    fn warning(kind: &str, name: &str, reason: &str, at: &str) -> Event {
        from(json!({
            "metadata": {"name": format!("{name}.{reason}"), "namespace": "default"},
            "eventTime": at,
            "regarding": {"kind": kind, "namespace": "default", "name": name},
            "type": "Warning", "reason": reason, "note": format!("note of {reason}")
        }))
    }

    fn inventory(servers: Vec<Server>, routers: Vec<Internet>, switches: Vec<Switch>) -> Inventory {
        Inventory {
            servers,
            switches,
            routers,
            load_balancers: Vec::new(),
        }
    }

    fn healthy_inventory() -> Inventory {
        inventory(
            vec![
                server(1, "worker-1", vec![router_nic("203.0.113.21")]),
                server(2, "worker-2", vec![router_nic("203.0.113.22")]),
            ],
            vec![router(5, "k8s-router", &["@k8s"], "203.0.113.16")],
            vec![],
        )
    }

    fn ok_failure(code: u16) -> KubeFailure {
        KubeFailure {
            code: Some(code),
            message: format!("HTTP {code}"),
        }
    }

    fn deployment(tolerations: Value, args: &[&str], ready: Option<i32>) -> Deployment {
        let status = ready.map(|r| json!({"readyReplicas": r}));
        from(json!({
            "metadata": {"name": "sakura-cloud-controller-manager", "namespace": "kube-system"},
            "spec": {
                "replicas": 2,
                "selector": {},
                "template": {"spec": {
                    "serviceAccountName": "ccm",
                    "tolerations": tolerations,
                    "containers": [{"name": "c", "image": "sakura-cloud-controller-manager:1",
                        "command": ["/sakura-cloud-controller-manager"], "args": args}]
                }}
            },
            "status": status
        }))
    }

    fn lease(holder: &str, renewed: Option<&str>) -> Lease {
        from(json!({
            "metadata": {"name": "cloud-controller-manager", "namespace": "kube-system"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, "renewTime": renewed}
        }))
    }

    fn cluster() -> ClusterFacts {
        ClusterFacts {
            now: now(),
            namespace: "kube-system".into(),
            lease_name: "cloud-controller-manager".into(),
            core: Ok(Workloads::default()),
            warnings: Ok(Vec::new()),
            kube_proxy: Ok(None),
            deployments: Ok(vec![deployment(
                json!([{"key": TAINT_UNINITIALIZED, "effect": "NoSchedule"}]),
                &[],
                Some(2),
            )]),
            daemonsets: Ok(Vec::new()),
            lease: Ok(Some(lease("me", Some("2025-06-01T11:59:55.000000Z")))),
            rbac: Ok(Rbac::default()),
        }
    }

    fn found() -> FoundWorkload {
        controller_workload(&cluster()).found.unwrap()
    }

    fn ids_and_status(f: &Finding) -> (&str, Status) {
        (f.id, f.status)
    }

    // ---- cloud ----

    #[test]
    fn credentials_verdicts() {
        let ok = credentials(&Ok(sacloud::AuthStatus::default()));
        assert_eq!(ids_and_status(&ok), (ids::CLOUD_CREDENTIALS, Status::Ok));
        for (status, refused) in [
            (Some(401), true),
            (Some(403), true),
            (Some(500), false),
            (None, false),
        ] {
            let f = credentials(&Err(ApiFailure {
                status,
                message: "x".into(),
            }));
            assert_eq!(f.status, Status::Fail);
            assert_eq!(
                matches!(f.message, Message::CredentialsRefused { .. }),
                refused,
                "{status:?}"
            );
        }
    }

    #[test]
    fn permission_follows_the_controllers_start_rule() {
        assert_eq!(permission("create", true).status, Status::Ok);
        assert_eq!(permission("view", true).status, Status::Fail);
        assert_eq!(permission("arrange", true).status, Status::Fail);
        assert_eq!(permission("owner-ish", true).status, Status::Warn);
        assert_eq!(permission("view", false).status, Status::Ok, "LBs off");
    }

    #[test]
    fn zone_verdicts() {
        let info: sacloud::api::zone::ZoneInfo = from(json!({"ID": 1, "Name": "is1a"}));
        assert_eq!(zone_check("is1a", &Ok(info.clone())).status, Status::Ok);
        let dummy = sacloud::api::zone::ZoneInfo {
            is_dummy: true,
            ..info
        };
        assert_eq!(zone_check("tk1v", &Ok(dummy)).status, Status::Warn);
        let err = zone_check(
            "is1a",
            &Err(ApiFailure {
                status: Some(404),
                message: "nope".into(),
            }),
        );
        assert_eq!(err.status, Status::Fail);
    }

    #[test]
    fn network_verdicts() {
        let f = network(&healthy_inventory(), true);
        assert!(matches!(f.message, Message::NetworkFound { .. }) && f.status == Status::Ok);
        let only_switch = inventory(vec![], vec![], vec![switch(7, "priv", &["@k8s"])]);
        let f = network(&only_switch, true);
        assert!(matches!(f.message, Message::NetworkSwitchOnly { .. }) && f.status == Status::Ok);
        let none = inventory(
            vec![],
            vec![router(5, "r", &["K8S"], "203.0.113.16")],
            vec![switch(7, "s", &["@k8s "]), switch(8, "t", &["prod"])],
        );
        let f = network(&none, true);
        assert_eq!(f.status, Status::Fail);
        let Message::NetworkNone { near_misses, .. } = &f.message else {
            panic!("{f:?}")
        };
        assert_eq!(near_misses, &["\"r\": \"K8S\"", "\"s\": \"@k8s \""]);
        assert_eq!(network(&none, false).status, Status::Warn);
    }

    #[test]
    fn ambiguity_verdicts() {
        let one = healthy_inventory();
        let svc = lb_service("web", &[80], json!({}), true);
        let f = network_ambiguity(&one, std::slice::from_ref(&svc));
        assert_eq!(f.message, Message::NetworkUnambiguous);

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
        let f = network_ambiguity(&two_distinct, std::slice::from_ref(&selecting));
        assert!(matches!(
            f.message,
            Message::NetworkSelectable {
                kind: NetKind::Router,
                ..
            }
        ));
        assert_eq!(f.status, Status::Ok);

        // A Service without a selector fails, whatever the tags.
        let f = network_ambiguity(&two_distinct, &[svc.clone(), selecting]);
        assert_eq!(f.status, Status::Fail);
        let Message::NetworkAmbiguousServices { services } = &f.message else {
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
        let f = network_ambiguity(&two_same, &[]);
        assert_eq!(f.status, Status::Warn);
        let Message::NetworkIndistinguishable { names, .. } = &f.message else {
            panic!("{f:?}")
        };
        assert_eq!(names, &["\"a\" (ID 5)", "\"b\" (ID 6)"]);
    }

    // ---- nodes ----

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
        assert_eq!(
            shared_segment(&match_nodes(&nodes, &servers)).status,
            Status::Ok
        );
        let nodes = vec![node("worker-2", None, false, &[])];
        let f = shared_segment(&match_nodes(&nodes, &servers));
        assert_eq!(f.status, Status::Fail);
        assert_eq!(
            f.message,
            Message::SharedSegmentOnly {
                servers: vec![NodeServer {
                    node: "worker-2".into(),
                    server: "worker-2".into(),
                    id: 2
                }]
            }
        );
    }

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
            Message::NodesMatched {
                count: 2,
                by_ip: vec![]
            }
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
            Message::NodesUnmatched {
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
            }
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
            Message::NamesDuplicated {
                names: vec![("b".into(), vec![2, 3], false)]
            }
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
            let Message::Tainted { nodes } = f.message else {
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
            Message::Tainted {
                nodes: vec![("d".into(), TaintCause::DuplicateName)]
            }
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
            Message::KubeletsNotExternal {
                nodes: vec!["c".into()]
            }
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
            Message::NodeIpsInNetwork {
                networks: vec!["203.0.113.16/28".into()]
            }
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
        let Message::NodeIpsOutside { nodes, .. } = f.message else {
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

    // ---- networking ----

    #[test]
    fn kube_proxy_verdicts() {
        let cm = |conf: Option<&str>| -> Result<Option<ConfigMap>, KubeFailure> {
            let data = conf.map(|c| json!({"config.conf": c})).unwrap_or(json!({}));
            Ok(Some(from(
                json!({"metadata": {"name": "kube-proxy"}, "data": data}),
            )))
        };
        let verdict = |r| {
            let f = kube_proxy(&r);
            (f.status, f.message)
        };
        assert_eq!(verdict(Err(ok_failure(403))).0, Status::Warn);
        assert_eq!(
            verdict(Ok(None)),
            (
                Status::Warn,
                Message::KubeProxyUnknown(ProxyUnknown::Absent)
            )
        );
        assert!(matches!(
            verdict(cm(None)),
            (
                Status::Warn,
                Message::KubeProxyUnknown(ProxyUnknown::Unparsable(_))
            )
        ));
        assert!(matches!(
            verdict(cm(Some("mode: [unclosed"))),
            (
                Status::Warn,
                Message::KubeProxyUnknown(ProxyUnknown::Unparsable(_))
            )
        ));
        assert_eq!(
            verdict(cm(Some("mode: \"\"\n"))),
            (
                Status::Ok,
                Message::KubeProxyNotIpvs {
                    mode: "iptables".into()
                }
            )
        );
        assert_eq!(
            verdict(cm(Some("mode: nftables\n"))),
            (
                Status::Ok,
                Message::KubeProxyNotIpvs {
                    mode: "nftables".into()
                }
            )
        );
        assert_eq!(
            verdict(cm(Some("mode: ipvs\nipvs:\n  strictARP: true\n"))),
            (Status::Ok, Message::KubeProxyStrictArp)
        );
        assert_eq!(
            verdict(cm(Some("mode: ipvs\nipvs:\n  scheduler: rr\n"))),
            (Status::Fail, Message::KubeProxyNoStrictArp)
        );
    }

    // ---- controller ----

    #[test]
    fn workload_verdicts() {
        let c = cluster();
        let w = controller_workload(&c);
        assert!(matches!(
            &w.findings[0].message,
            Message::WorkloadFound {
                ready: Some((2, 2)),
                ..
            }
        ));
        let mut c = cluster();
        c.deployments = Ok(vec![deployment(json!([]), &[], Some(0))]);
        assert_eq!(controller_workload(&c).findings[0].status, Status::Fail);
        c.deployments = Ok(vec![]);
        let w = controller_workload(&c);
        assert!(w.found.is_none());
        assert_eq!(w.findings[0].status, Status::Fail);
        c.deployments = Err(ok_failure(403));
        assert_eq!(controller_workload(&c).findings[0].status, Status::Warn);
        let ds: DaemonSet = from(json!({
            "metadata": {"name": "ccm"},
            "spec": {"selector": {}, "template": {"spec": {"containers": [
                {"name": "c", "image": "example/sakura-cloud-controller-manager:2"}]}}},
            "status": {"numberReady": 1, "desiredNumberScheduled": 3,
                "currentNumberScheduled": 3, "numberMisscheduled": 0}
        }));
        c.daemonsets = Ok(vec![ds]);
        let w = controller_workload(&c);
        assert_eq!(w.found.unwrap().workload.kind, "DaemonSet");
        assert!(matches!(
            &w.findings[0].message,
            Message::WorkloadFound {
                ready: Some((1, 3)),
                ..
            }
        ));
        // Something else in the namespace is not the controller.
        let mut c = cluster();
        let mut other = deployment(json!([]), &[], Some(1));
        if let Some(spec) = other.spec.as_mut()
            && let Some(pod) = spec.template.spec.as_mut()
        {
            pod.containers[0].image = Some("coredns:1".into());
            pod.containers[0].command = None;
        }
        c.deployments = Ok(vec![other]);
        assert!(controller_workload(&c).found.is_none());
    }

    #[test]
    fn toleration_verdicts() {
        assert_eq!(tolerations(&found()).status, Status::Ok);
        let mut f = found();
        f.pod.tolerations = Some(vec![from(json!({"operator": "Exists"}))]);
        assert_eq!(tolerations(&f).status, Status::Ok, "tolerates everything");
        f.pod.tolerations = Some(vec![from(
            json!({"key": TAINT_UNINITIALIZED, "effect": "NoExecute"}),
        )]);
        assert_eq!(tolerations(&f).status, Status::Fail);
        f.pod.tolerations = None;
        assert_eq!(tolerations(&f).status, Status::Fail);
    }

    #[test]
    fn leader_verdicts() {
        let mut c = cluster();
        let verdict = |c: &ClusterFacts, f: &FoundWorkload| {
            let v = leader(c, f);
            (v.status, v.message)
        };
        assert_eq!(
            verdict(&c, &found()),
            (
                Status::Ok,
                Message::LeaseFresh {
                    holder: "me".into(),
                    renewed_secs_ago: 5
                }
            )
        );
        c.lease = Ok(Some(lease("me", Some("2025-06-01T11:59:00.000000Z"))));
        assert_eq!(
            verdict(&c, &found()),
            (
                Status::Fail,
                Message::LeaseExpired {
                    holder: "me".into(),
                    expired_secs_ago: Some(45)
                }
            )
        );
        c.lease = Ok(Some(lease("", Some("2025-06-01T11:59:59.000000Z"))));
        assert_eq!(verdict(&c, &found()).0, Status::Fail, "released");
        c.lease = Ok(None);
        assert_eq!(verdict(&c, &found()).0, Status::Fail);
        c.lease = Err(ok_failure(403));
        assert_eq!(verdict(&c, &found()).0, Status::Warn);
        for args in [
            &["--leader-elect=false"][..],
            &["--leader-elect", "false"],
            &["--leader-elect=0", "-v=2"],
        ] {
            c.deployments = Ok(vec![deployment(json!([]), args, Some(1))]);
            let f = controller_workload(&c).found.unwrap();
            assert!(f.leader_election_off(), "{args:?}");
            assert_eq!(verdict(&c, &f).0, Status::Ok);
        }
        c.deployments = Ok(vec![deployment(
            json!([]),
            &["--leader-elect=false", "--leader-elect=true"],
            Some(1),
        )]);
        assert!(
            !controller_workload(&c).found.unwrap().leader_election_off(),
            "last wins"
        );
    }

    fn binding(kind: &str, name: &str, role_kind: &str, role: &str) -> Value {
        json!({
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
            "subjects": [{"kind": kind, "name": "ccm", "namespace": "kube-system"}]
        })
    }

    fn role_rules(skip_leases: bool) -> Vec<Value> {
        REQUIRED_ACCESS
            .iter()
            .filter(|a| !(skip_leases && a.resource == "leases"))
            .map(|a| json!({"apiGroups": [a.group], "resources": [a.resource], "verbs": a.verbs}))
            .collect()
    }

    #[test]
    fn rbac_verdicts() {
        let f = found();
        let full = Rbac {
            cluster_roles: vec![from(
                json!({"metadata": {"name": "ccm"}, "rules": role_rules(false)}),
            )],
            cluster_role_bindings: vec![from(binding(
                "ServiceAccount",
                "ccm",
                "ClusterRole",
                "ccm",
            ))],
            ..Rbac::default()
        };
        let v = rbac(&Ok(full.clone()), &f, "cloud-controller-manager").unwrap();
        assert_eq!(
            v.message,
            Message::RbacOk {
                service_account: "kube-system/ccm".into()
            }
        );
        // Bound to another ServiceAccount: nothing counts.
        let mut other = full.clone();
        other.cluster_role_bindings = vec![from(json!({
            "metadata": {"name": "x"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ccm"},
            "subjects": [{"kind": "ServiceAccount", "name": "ccm", "namespace": "default"}]
        }))];
        let v = rbac(&Ok(other), &f, "cloud-controller-manager").unwrap();
        let Message::RbacMissing { missing, .. } = &v.message else {
            panic!("{v:?}")
        };
        assert_eq!(missing.len(), REQUIRED_ACCESS.len());
        assert!(missing.contains(&"core nodes: delete, get, list, update, watch".to_owned()));
        // Leases granted by a Role in the namespace (limited to the Lease's name for get and
        // update, and create/list/watch without names).
        let split = Rbac {
            cluster_roles: vec![from(
                json!({"metadata": {"name": "ccm"}, "rules": role_rules(true)}),
            )],
            roles: vec![from(json!({"metadata": {"name": "lease"}, "rules": [
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create", "list", "watch"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "update"],
                 "resourceNames": ["cloud-controller-manager"]}
            ]}))],
            role_bindings: vec![from(binding("ServiceAccount", "lease", "Role", "lease"))],
            ..full.clone()
        };
        let v = rbac(&Ok(split.clone()), &f, "cloud-controller-manager").unwrap();
        assert_eq!(v.status, Status::Ok, "{v:?}");
        let v = rbac(&Ok(split), &f, "another-lease").unwrap();
        let Message::RbacMissing { missing, .. } = &v.message else {
            panic!("{v:?}")
        };
        assert_eq!(missing, &["coordination.k8s.io leases: get, update"]);
        // A Role cannot grant cluster-wide access.
        let namespaced_only = Rbac {
            roles: vec![from(
                json!({"metadata": {"name": "all"}, "rules": role_rules(false)}),
            )],
            role_bindings: vec![from(binding("ServiceAccount", "all", "Role", "all"))],
            ..Rbac::default()
        };
        let v = rbac(&Ok(namespaced_only), &f, "cloud-controller-manager").unwrap();
        let Message::RbacMissing { missing, .. } = &v.message else {
            panic!("{v:?}")
        };
        assert_eq!(missing.len(), REQUIRED_ACCESS.len() - 1);
        // Wildcards.
        let star = Rbac {
            cluster_roles: vec![from(json!({"metadata": {"name": "admin"}, "rules": [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}))],
            cluster_role_bindings: vec![from(binding(
                "ServiceAccount",
                "b",
                "ClusterRole",
                "admin",
            ))],
            ..Rbac::default()
        };
        assert_eq!(rbac(&Ok(star), &f, "x").unwrap().status, Status::Ok);
        assert_eq!(
            rbac(&Err(ok_failure(403)), &f, "x").unwrap().status,
            Status::Warn
        );
    }

    // ---- services ----

    #[test]
    fn pending_verdicts() {
        let served = lb_service("web", &[80], json!({}), true);
        let core = Workloads {
            nodes: vec![],
            services: vec![served.clone()],
        };
        assert_eq!(
            pending(&core, Some(&[])).message,
            Message::ServicesServed { count: 1 }
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
            Message::ServicesPending {
                services: vec![PendingService {
                    service: "default/api".into(),
                    last_warning: Some((
                        "AmbiguousNetwork".into(),
                        "note of AmbiguousNetwork".into()
                    ))
                }]
            }
        );
        let f = pending(&core, None);
        assert!(matches!(
            f.message,
            Message::ServicesPending { ref services } if services[0].last_warning.is_none()
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
        assert_eq!(limits(&core).status, Status::Ok);
        core.nodes.push(node("n40", None, false, &[]));
        let f = limits(&core);
        assert_eq!(
            (f.status, f.message),
            (
                Status::Warn,
                Message::OverLimits {
                    ports: vec![],
                    nodes: Some(41)
                }
            )
        );
        let many: Vec<i32> = (1..=21).collect();
        core.services
            .push(lb_service("many", &many, json!({}), false));
        let f = limits(&core);
        assert_eq!(f.status, Status::Fail);
        assert!(
            matches!(f.message, Message::OverLimits { ref ports, .. } if ports == &[("default/many".to_owned(), 21)])
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
                Message::Leaked {
                    appliances: vec![ApplianceRef {
                        name: "lb-2".into(),
                        id: 2,
                        service: "Service old (UID uid-old)".into()
                    }],
                    cluster_tag: Some("@k8s.ClusterID=c1".into())
                }
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
                Message::Failed {
                    appliances: vec![ApplianceRef {
                        name: "lb-1".into(),
                        id: 1,
                        service: "Service default/web".into()
                    }]
                }
            )
        );
    }

    // ---- the whole ----

    #[test]
    fn checks_without_their_inputs_are_left_out_and_the_order_is_stable() {
        let facts = Facts {
            cloud: CloudFacts {
                zone: sacloud::Zone::Is1a,
                cluster_id: None,
                load_balancers: true,
                auth: Err(ApiFailure {
                    status: Some(401),
                    message: "401".into(),
                }),
                zone_info: None,
                inventory: None,
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
                .any(|f| f.message == Message::LoadBalancersDisabled)
        );
        assert!(got.iter().all(|f| f.id != ids::SERVICES_LIMITS));
    }
}
