//! What each verdict says, in English and Japanese: a title (the one line), a detail and, for a
//! problem, the fix. The checks decide ([`super::checks`]); this module only words it, so a
//! check's wording can change without touching its logic, and every message exists in both
//! languages (the `match` is exhaustive).

use std::fmt::Write as _;

mod enhanced;

pub use enhanced::{
    CertificateGap, DownServer, EnhancedMessage, ItemRef, MissingCertificate, NodeWithoutGlobal,
    RealServerOverflow, UnhealthyItem,
};

/// The language of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English (the source language).
    #[default]
    En,
    /// Japanese.
    Ja,
}

impl Lang {
    /// The language the environment asks for: the first set of `LC_ALL`, `LC_MESSAGES` and
    /// `LANG` (POSIX precedence) starting with `ja` means Japanese; anything else English.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let chosen = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .find_map(|name| lookup(name).filter(|v| !v.is_empty()));
        match chosen {
            Some(v) if v.starts_with("ja") => Lang::Ja,
            _ => Lang::En,
        }
    }
}

/// A verdict in words.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text {
    /// One line.
    pub title: String,
    /// What was found.
    pub detail: String,
    /// What to do; empty when nothing needs doing.
    pub fix: String,
}

/// A Node and the server it is (or is closest to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeServer {
    /// Node name.
    pub node: String,
    /// Server name.
    pub server: String,
    /// Server ID.
    pub id: u64,
}

/// Why a Node matches no server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmatched {
    /// No server has the Node's name (nor its node IP).
    NoServer {
        /// Node name.
        node: String,
        /// The closest server names.
        closest: Vec<String>,
    },
    /// The provider ID names a server the zone does not list.
    ServerGone {
        /// Node name.
        node: String,
        /// The server ID in the provider ID.
        id: u64,
    },
    /// The provider ID is not `sakuracloud://<id>`.
    BadProviderId {
        /// Node name.
        node: String,
        /// The provider ID.
        provider_id: String,
    },
}

/// Why a Node still carries the `uninitialized` taint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaintCause {
    /// It matches no server (see `nodes.unmatched`).
    NoServer,
    /// Several servers have its name.
    DuplicateName,
    /// Its provider ID is wrong or names a missing server.
    BadProviderId,
    /// No controller is running (no workload, or no fresh leader).
    NoController,
    /// The last Warning event about it.
    Event {
        /// Its reason.
        reason: String,
        /// Its note.
        note: String,
    },
    /// It joined moments ago; the controller may not have seen it yet.
    JustJoined,
    /// Nothing explains it.
    Unknown,
}

/// Whether a switch+router or a plain switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetKind {
    /// A switch+router.
    Router,
    /// A plain switch.
    Switch,
}

/// kube-proxy's mode as read from its ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyUnknown {
    /// No ConfigMap `kube-system/kube-proxy` (not kubeadm, or another proxy).
    Absent,
    /// The user may not read it.
    Unreadable(String),
    /// `config.conf` is missing or not YAML.
    Unparsable(String),
}

/// The controller's Deployment or DaemonSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadRef {
    /// `Deployment` or `DaemonSet`.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// A LoadBalancer Service without an address, and the last Warning about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingService {
    /// `namespace/name`.
    pub service: String,
    /// Reason and note of the last Warning event.
    pub last_warning: Option<(String, String)>,
}

/// An appliance of this cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplianceRef {
    /// Appliance name.
    pub name: String,
    /// Appliance ID.
    pub id: u64,
    /// What its tags say it was for (`@k8s.Service=` value, or UID), or the Service it serves.
    pub service: String,
}

/// Every verdict `doctor` can give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    // ---- could not start ----
    /// The provider configuration is unusable.
    ConfigInvalid {
        /// One line per problem.
        problems: Vec<String>,
    },
    /// No Kubernetes client could be built.
    KubeConfigInvalid {
        /// Why.
        error: String,
    },

    // ---- cluster ----
    /// The Kubernetes API answered.
    ClusterOk {
        /// How many Nodes.
        nodes: usize,
        /// How many Services.
        services: usize,
    },
    /// The Kubernetes API did not answer (or refused to list Nodes and Services).
    ClusterUnreachable {
        /// The error.
        error: String,
    },

    // ---- cloud ----
    /// auth-status answered.
    CredentialsOk {
        /// Account name.
        account: String,
        /// Account ID.
        account_id: u64,
    },
    /// The API refused the credentials.
    CredentialsRefused {
        /// The error.
        error: String,
    },
    /// The API could not be reached.
    CloudUnreachable {
        /// The error.
        error: String,
    },
    /// The key may create and delete (or load balancers are off).
    PermissionOk {
        /// The level.
        permission: String,
        /// Whether load balancers are managed.
        load_balancers: bool,
    },
    /// `view` or `arrange` with load balancers on: the controller refuses to start.
    PermissionTooLow {
        /// The level.
        permission: String,
    },
    /// A level this code does not know.
    PermissionUnknown {
        /// The level.
        permission: String,
    },
    /// The zone exists.
    ZoneOk {
        /// Zone name.
        zone: String,
        /// Its description.
        description: String,
    },
    /// The Sandbox zone: nothing real runs there.
    ZoneSandbox {
        /// Zone name.
        zone: String,
    },
    /// The zone could not be read.
    ZoneUnknown {
        /// Zone name.
        zone: String,
        /// The error.
        error: String,
    },
    /// The zone's resources could not be listed.
    InventoryFailed {
        /// The error.
        error: String,
    },
    /// A switch+router tagged `@k8s` exists.
    NetworkFound {
        /// Tagged routers, `name (ID)`.
        routers: Vec<String>,
        /// Tagged plain switches, `name (ID)`.
        switches: Vec<String>,
    },
    /// Only plain switches are tagged: `internet` Services cannot get an address.
    NetworkSwitchOnly {
        /// Tagged plain switches.
        switches: Vec<String>,
    },
    /// Nothing is tagged `@k8s`.
    NetworkNone {
        /// Resources with a tag that looks like `@k8s` but is not, `name: tag`.
        near_misses: Vec<String>,
        /// Whether load balancers are managed (if not, this is only a warning).
        load_balancers: bool,
    },
    /// At most one candidate of each kind.
    NetworkUnambiguous,
    /// Several candidates, each selectable by a tag of its own, and no Service fails.
    NetworkSelectable {
        /// The kind.
        kind: NetKind,
        /// The candidates.
        names: Vec<String>,
    },
    /// Several candidates, some of which no selector tag can pick alone.
    NetworkIndistinguishable {
        /// The kind.
        kind: NetKind,
        /// The candidates that share all their tags with another.
        names: Vec<String>,
    },
    /// Services whose router/switch choice fails.
    NetworkAmbiguousServices {
        /// `namespace/name` and the controller's message.
        services: Vec<(String, String)>,
    },
    /// No cluster server is only on the shared segment.
    SharedSegmentOk,
    /// Servers of Nodes connected only to the shared segment, while Services use (or would
    /// use) the load-balancer appliance.
    SharedSegmentOnly {
        /// The Nodes and servers.
        servers: Vec<NodeServer>,
        /// The LoadBalancer Services that ask for the appliance (`namespace/name`).
        appliance_services: Vec<String>,
    },

    // ---- nodes ----
    /// Every Node matches a server.
    NodesMatched {
        /// How many Nodes.
        count: usize,
        /// Matched only by node IP (names differ).
        by_ip: Vec<NodeServer>,
    },
    /// Nodes without a server.
    NodesUnmatched {
        /// Each Node and why.
        nodes: Vec<Unmatched>,
        /// How many matched.
        matched: usize,
    },
    /// No two servers share a name.
    NamesUnique,
    /// Servers sharing a name.
    NamesDuplicated {
        /// Name, the servers' IDs, and whether a Node has the name.
        names: Vec<(String, Vec<u64>, bool)>,
    },
    /// No Node is tainted `uninitialized`.
    NoneTainted,
    /// Nodes still tainted, and why.
    Tainted {
        /// Node and cause.
        nodes: Vec<(String, TaintCause)>,
    },
    /// Every Node was registered by a kubelet with `--cloud-provider=external`.
    KubeletsExternal,
    /// Nodes with neither the taint nor a provider ID.
    KubeletsNotExternal {
        /// Node names.
        nodes: Vec<String>,
    },
    /// Every eligible Node has an address in a tagged network.
    NodeIpsInNetwork {
        /// The networks.
        networks: Vec<String>,
    },
    /// Nodes without an address in any tagged network.
    NodeIpsOutside {
        /// Node and its addresses.
        nodes: Vec<(String, Vec<String>)>,
        /// The networks.
        networks: Vec<String>,
    },

    // ---- networking ----
    /// kube-proxy does not use IPVS: nothing to set.
    KubeProxyNotIpvs {
        /// The mode (`iptables` when empty).
        mode: String,
    },
    /// IPVS with `strictARP: true`.
    KubeProxyStrictArp,
    /// IPVS without `strictARP: true`.
    KubeProxyNoStrictArp,
    /// The mode could not be read: a reminder of the sysctls.
    KubeProxyUnknown(ProxyUnknown),

    // ---- controller ----
    /// The controller's workload and its readiness.
    WorkloadFound {
        /// The workload.
        workload: WorkloadRef,
        /// Ready and desired replicas, when reported.
        ready: Option<(i32, i32)>,
    },
    /// The workload has no ready replica.
    WorkloadNotReady {
        /// The workload.
        workload: WorkloadRef,
        /// Desired replicas.
        desired: i32,
    },
    /// No Deployment or DaemonSet runs the controller.
    WorkloadMissing {
        /// Where it was looked for.
        namespace: String,
    },
    /// The workloads could not be read.
    WorkloadUnreadable {
        /// The error.
        error: String,
    },
    /// The workload tolerates the `uninitialized` taint.
    TolerationOk {
        /// The workload.
        workload: WorkloadRef,
    },
    /// It does not: it cannot be scheduled on a cluster whose Nodes are all uninitialized.
    TolerationMissing {
        /// The workload.
        workload: WorkloadRef,
    },
    /// The Lease was renewed within its duration.
    LeaseFresh {
        /// Holder identity.
        holder: String,
        /// Seconds since the renewal.
        renewed_secs_ago: i64,
    },
    /// The Lease expired (or was released): no leader.
    LeaseExpired {
        /// Last holder (may be empty).
        holder: String,
        /// Seconds since it expired, when known.
        expired_secs_ago: Option<i64>,
    },
    /// No Lease.
    LeaseMissing {
        /// `namespace/name`.
        lease: String,
    },
    /// The controller runs with `--leader-elect=false`.
    LeaderElectionOff {
        /// The workload.
        workload: WorkloadRef,
    },
    /// The Lease could not be read.
    LeaseUnreadable {
        /// The error.
        error: String,
    },
    /// The ServiceAccount has every access the controller needs.
    RbacOk {
        /// `namespace/name` of the ServiceAccount.
        service_account: String,
    },
    /// Access missing.
    RbacMissing {
        /// `namespace/name` of the ServiceAccount.
        service_account: String,
        /// `group/resource: verbs` lines.
        missing: Vec<String>,
    },
    /// RBAC objects could not be read, or no workload names the ServiceAccount.
    RbacUnknown {
        /// Why.
        why: String,
    },

    // ---- services ----
    /// Every LoadBalancer Service has an address.
    ServicesServed {
        /// How many LoadBalancer Services.
        count: usize,
    },
    /// Load balancers are off (`SAKURACLOUD_DISABLE_LOAD_BALANCER`).
    LoadBalancersDisabled,
    /// Services still pending.
    ServicesPending {
        /// Each and its last Warning.
        services: Vec<PendingService>,
    },
    /// Within the appliance limits.
    WithinLimits,
    /// Over the limits.
    OverLimits {
        /// Services with more TCP ports than allowed, and their count.
        ports: Vec<(String, usize)>,
        /// Eligible Nodes, when more than the real-server limit.
        nodes: Option<usize>,
    },
    /// No appliance of this cluster without its Service.
    NoLeaks,
    /// Appliances of this cluster whose Service is gone.
    Leaked {
        /// The appliances.
        appliances: Vec<ApplianceRef>,
        /// The cluster tag they carry (`None`: no cluster ID configured).
        cluster_tag: Option<String>,
    },
    /// No appliance of ours has failed.
    NoneFailed,
    /// Appliances of ours with `Availability: failed`.
    Failed {
        /// The appliances.
        appliances: Vec<ApplianceRef>,
    },

    // ---- Enhanced Load Balancers ----
    /// A verdict about Enhanced Load Balancers (its words are in `messages/enhanced.rs`).
    Enhanced(EnhancedMessage),
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn lines(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join("\n")
}

fn kind_en(kind: NetKind) -> &'static str {
    match kind {
        NetKind::Router => "switch+routers",
        NetKind::Switch => "switches",
    }
}

fn kind_ja(kind: NetKind) -> &'static str {
    match kind {
        NetKind::Router => "スイッチ+ルータ",
        NetKind::Switch => "スイッチ",
    }
}

fn selector_for(kind: NetKind) -> &'static str {
    match kind {
        NetKind::Router => crate::provider::annotations::ROUTER_SELECTOR,
        NetKind::Switch => crate::provider::annotations::SWITCH_SELECTOR,
    }
}

fn workload(w: &WorkloadRef) -> String {
    format!("{} {}/{}", w.kind, w.namespace, w.name)
}

fn t(title: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Text {
    Text {
        title: title.into(),
        detail: detail.into(),
        fix: fix.into(),
    }
}

const UNINIT: &str = cloud_provider::labels::TAINT_UNINITIALIZED;
const LOAD_BALANCER_TYPE: &str = crate::provider::annotations::LOAD_BALANCER_TYPE;

/// The environment variable making `enhanced` every Service's default type, set.
fn enhanced_default() -> String {
    format!(
        "{}=enhanced",
        crate::provider::annotations::defaults::env_name(LOAD_BALANCER_TYPE)
    )
}
const SYSCTLS: &str = "net.ipv4.conf.all.arp_ignore=1 and net.ipv4.conf.all.arp_announce=2";
const SYSCTLS_JA: &str = "net.ipv4.conf.all.arp_ignore=1 と net.ipv4.conf.all.arp_announce=2";

impl Message {
    /// The words for this verdict in `lang`.
    pub fn text(&self, lang: Lang) -> Text {
        match lang {
            Lang::En => self.en(),
            Lang::Ja => self.ja(),
        }
    }

    fn en(&self) -> Text {
        use Message::*;
        match self {
            ConfigInvalid { problems } => t(
                "The SAKURA Cloud configuration cannot be used",
                lines(problems.iter().cloned()),
                "set SAKURACLOUD_ACCESS_TOKEN, SAKURACLOUD_ACCESS_TOKEN_SECRET and SAKURACLOUD_ZONE (or their _FILE forms, or --cloud-config) as for the controller; see docs/configuration.md",
            ),
            KubeConfigInvalid { error } => t(
                "No Kubernetes cluster to check",
                error.clone(),
                "pass --kubeconfig, set KUBECONFIG, or run inside the cluster",
            ),
            ClusterOk { nodes, services } => t(
                "The Kubernetes API answers",
                format!("{nodes} Nodes, {services} Services"),
                "",
            ),
            ClusterUnreachable { error } => t(
                "The Kubernetes API cannot be read",
                error.clone(),
                "check the kubeconfig (--kubeconfig, KUBECONFIG) and that its user may list Nodes and Services; the checks that need the cluster were skipped",
            ),
            CredentialsOk {
                account,
                account_id,
            } => t(
                "SAKURA Cloud accepts the credentials",
                format!("account {account:?} (ID {account_id})"),
                "",
            ),
            CredentialsRefused { error } => t(
                "SAKURA Cloud refuses the credentials",
                error.clone(),
                "check SAKURACLOUD_ACCESS_TOKEN and SAKURACLOUD_ACCESS_TOKEN_SECRET: the token and secret of an API key of the project that owns the servers",
            ),
            CloudUnreachable { error } => t(
                "The SAKURA Cloud API cannot be reached",
                error.clone(),
                "check the network path to the API (proxy, firewall, DNS) and SAKURACLOUD_API_ROOT_URL if set",
            ),
            PermissionOk {
                permission,
                load_balancers,
            } => t(
                format!("The API key's permission is {permission:?}"),
                if *load_balancers {
                    "enough to create and delete load balancers".to_owned()
                } else {
                    "load balancers are disabled: reading servers is enough".to_owned()
                },
                "",
            ),
            PermissionTooLow { permission } => t(
                format!("The API key's permission {permission:?} is too low"),
                "the controller manages load balancers and needs \"create\"; it refuses to start with this key",
                "give the API key the create permission (作成・削除), or set SAKURACLOUD_DISABLE_LOAD_BALANCER=true to run without load balancers",
            ),
            PermissionUnknown { permission } => t(
                format!("The API key's permission {permission:?} is not \"create\""),
                "creating load balancers may fail",
                "give the API key the create permission (作成・削除)",
            ),
            ZoneOk { zone, description } => t(
                format!("Zone {zone} exists"),
                description.clone(),
                "",
            ),
            ZoneSandbox { zone } => t(
                format!("Zone {zone} is the Sandbox"),
                "nothing in the Sandbox zone is real: servers there cannot be Nodes",
                "set SAKURACLOUD_ZONE to the zone of the cluster's servers",
            ),
            ZoneUnknown { zone, error } => t(
                format!("Zone {zone} cannot be read"),
                error.clone(),
                "set SAKURACLOUD_ZONE to the zone of the cluster's servers (is1a, is1b, is1c, tk1a, tk1b)",
            ),
            InventoryFailed { error } => t(
                "The zone's servers, switches and load balancers cannot be listed",
                error.clone(),
                "check the API key's permission and the network path to the API; the checks that need them were skipped",
            ),
            NetworkFound { routers, switches } => t(
                "A switch+router tagged @k8s exists",
                if switches.is_empty() {
                    format!("routers: {}", list(routers))
                } else {
                    format!("routers: {}; switches: {}", list(routers), list(switches))
                },
                "",
            ),
            NetworkSwitchOnly { switches } => t(
                "Only plain switches are tagged @k8s",
                format!(
                    "switches: {}; Services get load balancers only with the annotation k8s.usacloud.jp/load-balancer-type: switch (the default type internet needs a switch+router)",
                    list(switches)
                ),
                "",
            ),
            NetworkNone { near_misses, .. } => t(
                "No switch+router or switch is tagged @k8s",
                if near_misses.is_empty() {
                    "the controller finds the network of load balancers by the tag @k8s".to_owned()
                } else {
                    format!(
                        "the controller finds the network of load balancers by the exact tag @k8s; these tags come close: {}",
                        list(near_misses)
                    )
                },
                format!(
                    "add the tag @k8s to the switch+router the nodes' global addresses come from (or to their switch); or use {LOAD_BALANCER_TYPE}: enhanced, which needs no @k8s network"
                ),
            ),
            NetworkUnambiguous => t(
                "The @k8s network is unambiguous",
                "at most one switch+router and one switch carry the tag @k8s",
                "",
            ),
            NetworkSelectable { kind, names } => t(
                format!("Several {} are tagged @k8s; each can be selected", kind_en(*kind)),
                format!(
                    "{}; every Service's choice is unambiguous",
                    list(names)
                ),
                format!(
                    "new Services must set the annotation {} to a tag of one of them",
                    selector_for(*kind)
                ),
            ),
            NetworkIndistinguishable { kind, names } => t(
                format!(
                    "Several {} are tagged @k8s without a tag of their own",
                    kind_en(*kind)
                ),
                format!(
                    "no selector tag picks one of these alone: {}",
                    list(names)
                ),
                format!(
                    "give each of them a tag of its own and set the annotation {} on Services to that tag",
                    selector_for(*kind)
                ),
            ),
            NetworkAmbiguousServices { services } => t(
                "Services cannot choose their @k8s network",
                lines(services.iter().map(|(s, m)| format!("{s}: {m}"))),
                "give each tagged switch+router (or switch) a tag of its own and set k8s.usacloud.jp/router-selector (or switch-selector) on the Service to it; otherwise the API answers 実サーバのIPアドレスは同一ネットワークである必要があります",
            ),
            SharedSegmentOk => t(
                "No Node's server is only on the shared segment",
                "",
                "",
            ),
            SharedSegmentOnly {
                servers,
                appliance_services,
            } => t(
                "Nodes' servers are connected only to the shared segment",
                lines(
                    servers
                        .iter()
                        .map(|s| format!("{}: server {:?} (ID {})", s.node, s.server, s.id))
                        .chain((!appliance_services.is_empty()).then(|| {
                            format!(
                                "Services using the load-balancer appliance: {}",
                                list(appliance_services)
                            )
                        })),
                ),
                format!(
                    "the load-balancer appliance (types internet and switch) does not work on the shared segment (共有セグメント): connect the servers to a switch+router (or a switch) tagged @k8s, or use {LOAD_BALANCER_TYPE}: enhanced (for every Service: {})",
                    enhanced_default()
                ),
            ),
            NodesMatched { count, by_ip } => t(
                if by_ip.is_empty() {
                    format!("All {count} Nodes match a server")
                } else {
                    format!("All {count} Nodes match a server, some only by node IP")
                },
                lines(by_ip.iter().map(|s| {
                    format!(
                        "{}: no server has its name; matched server {:?} (ID {}) by its node IP",
                        s.node, s.server, s.id
                    )
                })),
                if by_ip.is_empty() {
                    String::new()
                } else {
                    "give the Nodes and their servers the same names".to_owned()
                },
            ),
            NodesUnmatched { nodes, matched } => t(
                format!(
                    "{} Node(s) match no server ({matched} match)",
                    nodes.len()
                ),
                lines(nodes.iter().map(|u| match u {
                    Unmatched::NoServer { node, closest } if closest.is_empty() => {
                        format!("{node}: no server has this name; the zone has no servers")
                    }
                    Unmatched::NoServer { node, closest } => format!(
                        "{node}: no server has this name; closest server names: {}",
                        quoted(closest)
                    ),
                    Unmatched::ServerGone { node, id } => format!(
                        "{node}: its provider ID names server {id}, which is not in this zone"
                    ),
                    Unmatched::BadProviderId { node, provider_id } => format!(
                        "{node}: provider ID {provider_id:?} is not sakuracloud://<server ID>"
                    ),
                })),
                "the Node name must equal the server name: rename the server, or start the kubelet with --hostname-override=<server name> (kubeadm: --node-name); a Node whose server is gone must be deleted",
            ),
            NamesUnique => t("Server names are unique", "", ""),
            NamesDuplicated { names } => t(
                "Several servers share a name",
                lines(names.iter().map(|(name, ids, node)| {
                    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
                    format!(
                        "{name:?}: servers {}{}",
                        list(&ids),
                        if *node { " (a Node has this name)" } else { "" }
                    )
                })),
                "server names must be unique: rename all but one",
            ),
            NoneTainted => t(
                format!("No Node is still tainted {UNINIT}"),
                "",
                "",
            ),
            Tainted { nodes } => t(
                format!("{} Node(s) still tainted {UNINIT}", nodes.len()),
                lines(nodes.iter().map(|(n, cause)| {
                    let why = match cause {
                        TaintCause::NoServer => "it matches no server (see nodes.unmatched)".to_owned(),
                        TaintCause::DuplicateName => {
                            "several servers have its name (see nodes.duplicate_names)".to_owned()
                        }
                        TaintCause::BadProviderId => {
                            "its provider ID is wrong (see nodes.unmatched)".to_owned()
                        }
                        TaintCause::NoController => {
                            "no controller is running (see controller.workload and controller.leader)"
                                .to_owned()
                        }
                        TaintCause::Event { reason, note } => {
                            format!("last Warning: {reason}: {note}")
                        }
                        TaintCause::JustJoined => {
                            "it joined less than a minute ago; the controller may still be on it"
                                .to_owned()
                        }
                        TaintCause::Unknown => {
                            "no Warning event explains it; read the controller's log".to_owned()
                        }
                    };
                    format!("{n}: {why}")
                })),
                "until it is initialized no Pod without a toleration is scheduled on it; fix the cause above",
            ),
            KubeletsExternal => t(
                "Every Node was registered with --cloud-provider=external",
                "",
                "",
            ),
            KubeletsNotExternal { nodes } => t(
                "Nodes registered without --cloud-provider=external",
                format!(
                    "{}: neither the {UNINIT} taint nor a provider ID, so the controller never initializes them and load balancers get no real servers",
                    list(nodes)
                ),
                "start the kubelet with --cloud-provider=external (kubeadm: /var/lib/kubelet/kubeadm-flags.env or /etc/default/kubelet), do not pass --cloud-provider to kube-apiserver and kube-controller-manager, then delete and re-register the Node",
            ),
            NodeIpsInNetwork { networks } => t(
                "Every Node has an address in the @k8s network",
                format!("networks: {}", list(networks)),
                "",
            ),
            NodeIpsOutside { nodes, networks } => t(
                "Nodes without an address in any @k8s network",
                format!(
                    "{}\nnetworks: {}",
                    lines(nodes.iter().map(|(n, ips)| {
                        if ips.is_empty() {
                            format!("{n}: no address")
                        } else {
                            format!("{n}: {}", list(ips))
                        }
                    })),
                    list(networks)
                ),
                "connect these servers to the switch+router (or switch) tagged @k8s; a load balancer takes only real servers of its own network (API: 実サーバのIPアドレスは同一ネットワークである必要があります)",
            ),
            KubeProxyNotIpvs { mode } => t(
                format!("kube-proxy runs in {mode} mode"),
                format!(
                    "strictARP matters only for IPVS; the nodes still need {SYSCTLS} for the DSR load balancer"
                ),
                "",
            ),
            KubeProxyStrictArp => t(
                "kube-proxy runs in IPVS mode with strictARP: true",
                "",
                "",
            ),
            KubeProxyNoStrictArp => t(
                "kube-proxy runs in IPVS mode without strictARP: true",
                "without it every node answers ARP for the load balancer's VIP (bound to kube-ipvs0), which breaks the DSR load balancer",
                "set ipvs.strictARP: true in the kube-proxy ConfigMap (kubectl -n kube-system edit configmap kube-proxy) and restart kube-proxy",
            ),
            KubeProxyUnknown(why) => t(
                "kube-proxy's mode cannot be checked",
                match why {
                    ProxyUnknown::Absent => {
                        "there is no ConfigMap kube-system/kube-proxy".to_owned()
                    }
                    ProxyUnknown::Unreadable(e) | ProxyUnknown::Unparsable(e) => e.clone(),
                },
                format!(
                    "make sure every node has {SYSCTLS} (DSR), and strictARP: true if kube-proxy uses IPVS"
                ),
            ),
            WorkloadFound { workload: w, ready } => t(
                format!("The controller runs as {}", workload(w)),
                match ready {
                    Some((ready, desired)) => format!("{ready}/{desired} ready"),
                    None => String::new(),
                },
                "",
            ),
            WorkloadNotReady {
                workload: w,
                desired,
            } => t(
                format!("The controller's {} has no ready replica", workload(w)),
                format!("0/{desired} ready"),
                format!(
                    "kubectl -n {} describe {} {} and read the Pods' events and logs",
                    w.namespace,
                    w.kind.to_ascii_lowercase(),
                    w.name
                ),
            ),
            WorkloadMissing { namespace } => t(
                format!("No controller Deployment or DaemonSet in {namespace}"),
                "no Deployment or DaemonSet there runs sakura-cloud-controller-manager",
                "deploy it (deploy/ in the repository, or the Helm chart), or pass --namespace where it runs",
            ),
            WorkloadUnreadable { error } => t(
                "The controller's Deployment or DaemonSet cannot be read",
                error.clone(),
                "run doctor with a user that may list Deployments and DaemonSets",
            ),
            TolerationOk { workload: w } => t(
                format!("{} tolerates {UNINIT}", workload(w)),
                "",
                "",
            ),
            TolerationMissing { workload: w } => t(
                format!("{} does not tolerate {UNINIT}", workload(w)),
                "on a new cluster every Node carries this taint until the controller initializes it: the controller cannot be scheduled",
                format!(
                    "add to the Pod template: tolerations: [{{key: {UNINIT}, value: \"true\", effect: NoSchedule}}]"
                ),
            ),
            LeaseFresh {
                holder,
                renewed_secs_ago,
            } => t(
                "A controller holds the leader Lease",
                format!("holder {holder:?}, renewed {renewed_secs_ago}s ago"),
                "",
            ),
            LeaseExpired {
                holder,
                expired_secs_ago,
            } => t(
                "No controller holds the leader Lease",
                match expired_secs_ago {
                    Some(s) => format!("last holder {holder:?}; the Lease expired {s}s ago"),
                    None => format!("last holder {holder:?}; the Lease was released"),
                },
                "the controller is not running or cannot reach the API server: read its Pods' logs",
            ),
            LeaseMissing { lease } => t(
                format!("No leader Lease {lease}"),
                "no controller has ever been elected leader under this name",
                "start the controller (with --leader-elect=true, the default); if it uses another --leader-elect-resource-name or namespace, pass --lease-name / --namespace",
            ),
            LeaderElectionOff { workload: w } => t(
                "Leader election is off",
                format!("{} runs with --leader-elect=false: run one replica only", workload(w)),
                "",
            ),
            LeaseUnreadable { error } => t(
                "The leader Lease cannot be read",
                error.clone(),
                "run doctor with a user that may read Leases",
            ),
            RbacOk { service_account } => t(
                format!("ServiceAccount {service_account} has the access the controller needs"),
                "",
                "",
            ),
            RbacMissing {
                service_account,
                missing,
            } => t(
                format!("ServiceAccount {service_account} lacks access the controller needs"),
                lines(missing.iter().cloned()),
                "bind a ClusterRole granting these to the ServiceAccount (deploy/ in the repository has it)",
            ),
            RbacUnknown { why } => t(
                "The controller's RBAC cannot be checked",
                why.clone(),
                "",
            ),
            ServicesServed { count } => t(
                format!("All {count} LoadBalancer Services have an address"),
                "",
                "",
            ),
            LoadBalancersDisabled => t(
                "Load balancers are disabled",
                "SAKURACLOUD_DISABLE_LOAD_BALANCER=true: another implementation serves LoadBalancer Services",
                "",
            ),
            ServicesPending { services } => t(
                format!("{} LoadBalancer Service(s) still pending", services.len()),
                lines(services.iter().map(|p| match &p.last_warning {
                    Some((reason, note)) => format!("{}: last Warning {reason}: {note}", p.service),
                    None => format!("{}: no Warning event; is the controller running?", p.service),
                })),
                "fix what the last Warning says; kubectl describe service shows all events",
            ),
            WithinLimits => t("Services are within the load balancer's limits", "", ""),
            OverLimits { ports, nodes } => {
                let mut detail = String::new();
                for (svc, n) in ports {
                    let _ = writeln!(
                        detail,
                        "{svc}: {n} TCP ports; a SAKURA load balancer serves at most {}",
                        crate::provider::settings::MAX_PORTS
                    );
                }
                if let Some(n) = nodes {
                    let _ = writeln!(
                        detail,
                        "{n} Nodes can back load balancers; at most {} are registered as real servers",
                        crate::provider::settings::MAX_REAL_SERVERS
                    );
                }
                t(
                    "Over the load balancer's limits",
                    detail.trim_end(),
                    "split the ports over several Services; leave Nodes out with the label node.kubernetes.io/exclude-from-external-load-balancers=true",
                )
            }
            NoLeaks => t("No load balancer of this cluster outlived its Service", "", ""),
            Leaked {
                appliances,
                cluster_tag,
            } => t(
                format!(
                    "{} load balancer(s) of this cluster have no Service",
                    appliances.len()
                ),
                format!(
                    "{}\n{}",
                    lines(appliances.iter().map(|a| {
                        format!("{:?} (ID {}) was for {}", a.name, a.id, a.service)
                    })),
                    match cluster_tag {
                        Some(tag) => format!("(tagged {tag})"),
                        None => "(no SAKURACLOUD_CLUSTER_ID is configured: every @k8s load balancer without a cluster tag counts)".to_owned(),
                    }
                ),
                "they cost money and hold addresses: delete them in the control panel or with usacloud if nothing uses them",
            ),
            NoneFailed => t("No load balancer of this cluster has failed", "", ""),
            Failed { appliances } => t(
                format!("{} load balancer(s) of this cluster failed", appliances.len()),
                lines(appliances.iter().map(|a| {
                    format!("{:?} (ID {}) for {}: Availability failed", a.name, a.id, a.service)
                })),
                "delete the failed appliance (the controller creates a new one), or contact SAKURA support if it keeps failing",
            ),
            Enhanced(m) => m.en(),
        }
    }

    fn ja(&self) -> Text {
        use Message::*;
        match self {
            ConfigInvalid { problems } => t(
                "さくらのクラウドの設定が使えません",
                lines(problems.iter().cloned()),
                "コントローラと同じく SAKURACLOUD_ACCESS_TOKEN、SAKURACLOUD_ACCESS_TOKEN_SECRET、SAKURACLOUD_ZONE(または _FILE 形式、--cloud-config)を設定してください。docs/configuration.md を参照",
            ),
            KubeConfigInvalid { error } => t(
                "確認する Kubernetes クラスタがありません",
                error.clone(),
                "--kubeconfig を指定するか、KUBECONFIG を設定するか、クラスタ内で実行してください",
            ),
            ClusterOk { nodes, services } => t(
                "Kubernetes API に接続できます",
                format!("Node {nodes} 個、Service {services} 個"),
                "",
            ),
            ClusterUnreachable { error } => t(
                "Kubernetes API を読めません",
                error.clone(),
                "kubeconfig(--kubeconfig、KUBECONFIG)と、そのユーザが Node と Service を一覧できることを確認してください。クラスタが必要な確認は省略しました",
            ),
            CredentialsOk {
                account,
                account_id,
            } => t(
                "さくらのクラウドが認証情報を受け付けました",
                format!("アカウント {account:?} (ID {account_id})"),
                "",
            ),
            CredentialsRefused { error } => t(
                "さくらのクラウドが認証情報を拒否しました",
                error.clone(),
                "SAKURACLOUD_ACCESS_TOKEN と SAKURACLOUD_ACCESS_TOKEN_SECRET を確認してください(サーバを所有するプロジェクトのAPIキーのトークンとシークレット)",
            ),
            CloudUnreachable { error } => t(
                "さくらのクラウドAPIに接続できません",
                error.clone(),
                "APIへのネットワーク経路(プロキシ、ファイアウォール、DNS)と、設定していれば SAKURACLOUD_API_ROOT_URL を確認してください",
            ),
            PermissionOk {
                permission,
                load_balancers,
            } => t(
                format!("APIキーの権限は {permission:?} です"),
                if *load_balancers {
                    "ロードバランサの作成・削除に十分です".to_owned()
                } else {
                    "ロードバランサは無効です。サーバの参照だけで足ります".to_owned()
                },
                "",
            ),
            PermissionTooLow { permission } => t(
                format!("APIキーの権限 {permission:?} が不足しています"),
                "コントローラはロードバランサを管理するため \"create\" が必要です。このキーでは起動しません",
                "APIキーに作成・削除権限を与えるか、ロードバランサを使わないなら SAKURACLOUD_DISABLE_LOAD_BALANCER=true を設定してください",
            ),
            PermissionUnknown { permission } => t(
                format!("APIキーの権限 {permission:?} は \"create\" ではありません"),
                "ロードバランサの作成に失敗する可能性があります",
                "APIキーに作成・削除権限を与えてください",
            ),
            ZoneOk { zone, description } => t(
                format!("ゾーン {zone} は存在します"),
                description.clone(),
                "",
            ),
            ZoneSandbox { zone } => t(
                format!("ゾーン {zone} はサンドボックスです"),
                "サンドボックスゾーンのリソースは実在しないため、Node になれません",
                "SAKURACLOUD_ZONE をクラスタのサーバがあるゾーンにしてください",
            ),
            ZoneUnknown { zone, error } => t(
                format!("ゾーン {zone} を読めません"),
                error.clone(),
                "SAKURACLOUD_ZONE をクラスタのサーバがあるゾーン(is1a、is1b、is1c、tk1a、tk1b)にしてください",
            ),
            InventoryFailed { error } => t(
                "ゾーンのサーバ・スイッチ・ロードバランサを一覧できません",
                error.clone(),
                "APIキーの権限とAPIへのネットワーク経路を確認してください。これらが必要な確認は省略しました",
            ),
            NetworkFound { routers, switches } => t(
                "@k8s タグの付いたスイッチ+ルータがあります",
                if switches.is_empty() {
                    format!("ルータ: {}", list(routers))
                } else {
                    format!("ルータ: {}、スイッチ: {}", list(routers), list(switches))
                },
                "",
            ),
            NetworkSwitchOnly { switches } => t(
                "@k8s タグはスイッチにだけ付いています",
                format!(
                    "スイッチ: {}。ロードバランサが作られるのはアノテーション k8s.usacloud.jp/load-balancer-type: switch を付けた Service だけです(既定の internet タイプにはスイッチ+ルータが必要)",
                    list(switches)
                ),
                "",
            ),
            NetworkNone { near_misses, .. } => t(
                "@k8s タグの付いたスイッチ+ルータもスイッチもありません",
                if near_misses.is_empty() {
                    "コントローラはロードバランサを置くネットワークを @k8s タグで探します".to_owned()
                } else {
                    format!(
                        "コントローラは @k8s タグ(完全一致)で探します。似たタグ: {}",
                        list(near_misses)
                    )
                },
                format!(
                    "ノードのグローバルアドレスがあるスイッチ+ルータ(またはそのスイッチ)に @k8s タグを付けてください。または @k8s ネットワークの要らない {LOAD_BALANCER_TYPE}: enhanced を使ってください"
                ),
            ),
            NetworkUnambiguous => t(
                "@k8s ネットワークは一意に決まります",
                "@k8s タグの付いたスイッチ+ルータとスイッチはそれぞれ高々1つです",
                "",
            ),
            NetworkSelectable { kind, names } => t(
                format!("@k8s タグの付いた{}が複数ありますが、それぞれ選択できます", kind_ja(*kind)),
                format!("{}。どの Service の選択も一意です", list(names)),
                format!(
                    "新しい Service にはアノテーション {} でどれかのタグを指定してください",
                    selector_for(*kind)
                ),
            ),
            NetworkIndistinguishable { kind, names } => t(
                format!("@k8s タグの付いた{}が複数あり、識別用のタグがありません", kind_ja(*kind)),
                format!("どのセレクタタグでも1つに絞れません: {}", list(names)),
                format!(
                    "それぞれに識別用のタグを付け、Service のアノテーション {} にそのタグを指定してください",
                    selector_for(*kind)
                ),
            ),
            NetworkAmbiguousServices { services } => t(
                "@k8s ネットワークを1つに決められない Service があります",
                lines(services.iter().map(|(s, m)| format!("{s}: {m}"))),
                "@k8s タグの付いたスイッチ+ルータ(またはスイッチ)それぞれに識別用のタグを付け、Service の k8s.usacloud.jp/router-selector(または switch-selector)に指定してください。そうしないとAPIが「実サーバのIPアドレスは同一ネットワークである必要があります」と答えます",
            ),
            SharedSegmentOk => t(
                "共有セグメントだけに接続された Node のサーバはありません",
                "",
                "",
            ),
            SharedSegmentOnly {
                servers,
                appliance_services,
            } => t(
                "共有セグメントだけに接続された Node のサーバがあります",
                lines(
                    servers
                        .iter()
                        .map(|s| format!("{}: サーバ {:?} (ID {})", s.node, s.server, s.id))
                        .chain((!appliance_services.is_empty()).then(|| {
                            format!(
                                "ロードバランサアプライアンスを使う Service: {}",
                                list(appliance_services)
                            )
                        })),
                ),
                format!(
                    "ロードバランサアプライアンス(タイプ internet と switch)は共有セグメントでは動きません。サーバを @k8s タグの付いたスイッチ+ルータ(またはスイッチ)に接続するか、{LOAD_BALANCER_TYPE}: enhanced を使ってください(すべての Service に: {})",
                    enhanced_default()
                ),
            ),
            NodesMatched { count, by_ip } => t(
                if by_ip.is_empty() {
                    format!("{count} 個の Node すべてがサーバに対応しています")
                } else {
                    format!("{count} 個の Node すべてがサーバに対応しています(一部はノードIPでのみ)")
                },
                lines(by_ip.iter().map(|s| {
                    format!(
                        "{}: 同名のサーバはなく、ノードIPでサーバ {:?} (ID {}) に対応付けました",
                        s.node, s.server, s.id
                    )
                })),
                if by_ip.is_empty() {
                    String::new()
                } else {
                    "Node とサーバを同じ名前にしてください".to_owned()
                },
            ),
            NodesUnmatched { nodes, matched } => t(
                format!(
                    "{} 個の Node に対応するサーバがありません(対応済み {matched} 個)",
                    nodes.len()
                ),
                lines(nodes.iter().map(|u| match u {
                    Unmatched::NoServer { node, closest } if closest.is_empty() => {
                        format!("{node}: この名前のサーバはありません。ゾーンにサーバがありません")
                    }
                    Unmatched::NoServer { node, closest } => format!(
                        "{node}: この名前のサーバはありません。近い名前: {}",
                        quoted(closest)
                    ),
                    Unmatched::ServerGone { node, id } => format!(
                        "{node}: プロバイダIDのサーバ {id} はこのゾーンにありません"
                    ),
                    Unmatched::BadProviderId { node, provider_id } => format!(
                        "{node}: プロバイダID {provider_id:?} が sakuracloud://<サーバID> ではありません"
                    ),
                })),
                "Node 名とサーバ名を一致させてください。サーバ名を変えるか、kubelet を --hostname-override=<サーバ名>(kubeadm では --node-name)で起動してください。サーバが消えた Node は削除してください",
            ),
            NamesUnique => t("サーバ名は一意です", "", ""),
            NamesDuplicated { names } => t(
                "同じ名前のサーバが複数あります",
                lines(names.iter().map(|(name, ids, node)| {
                    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
                    format!(
                        "{name:?}: サーバ {}{}",
                        list(&ids),
                        if *node { "(この名前の Node があります)" } else { "" }
                    )
                })),
                "サーバ名は一意にしてください。1つを残して名前を変えてください",
            ),
            NoneTainted => t(format!("{UNINIT} が残っている Node はありません"), "", ""),
            Tainted { nodes } => t(
                format!("{} 個の Node に {UNINIT} が残っています", nodes.len()),
                lines(nodes.iter().map(|(n, cause)| {
                    let why = match cause {
                        TaintCause::NoServer => "対応するサーバがありません(nodes.unmatched を参照)".to_owned(),
                        TaintCause::DuplicateName => {
                            "同じ名前のサーバが複数あります(nodes.duplicate_names を参照)".to_owned()
                        }
                        TaintCause::BadProviderId => {
                            "プロバイダIDが誤っています(nodes.unmatched を参照)".to_owned()
                        }
                        TaintCause::NoController => {
                            "コントローラが動いていません(controller.workload と controller.leader を参照)".to_owned()
                        }
                        TaintCause::Event { reason, note } => {
                            format!("最後の Warning: {reason}: {note}")
                        }
                        TaintCause::JustJoined => {
                            "参加して1分未満です。コントローラの処理待ちかもしれません".to_owned()
                        }
                        TaintCause::Unknown => {
                            "理由を示す Warning イベントがありません。コントローラのログを確認してください".to_owned()
                        }
                    };
                    format!("{n}: {why}")
                })),
                "初期化されるまで toleration のない Pod はスケジュールされず Pending のままです。上の原因を解消してください",
            ),
            KubeletsExternal => t(
                "すべての Node が --cloud-provider=external で登録されています",
                "",
                "",
            ),
            KubeletsNotExternal { nodes } => t(
                "--cloud-provider=external なしで登録された Node があります",
                format!(
                    "{}: {UNINIT} taint もプロバイダIDもないため、コントローラが初期化せず、ロードバランサに実サーバが登録されません",
                    list(nodes)
                ),
                "kubelet に --cloud-provider=external を指定し(kubeadm では /var/lib/kubelet/kubeadm-flags.env や /etc/default/kubelet)、kube-apiserver と kube-controller-manager には --cloud-provider を指定せず、Node を削除して登録し直してください",
            ),
            NodeIpsInNetwork { networks } => t(
                "すべての Node が @k8s ネットワーク内のアドレスを持っています",
                format!("ネットワーク: {}", list(networks)),
                "",
            ),
            NodeIpsOutside { nodes, networks } => t(
                "@k8s ネットワーク内のアドレスを持たない Node があります",
                format!(
                    "{}\nネットワーク: {}",
                    lines(nodes.iter().map(|(n, ips)| {
                        if ips.is_empty() {
                            format!("{n}: アドレスなし")
                        } else {
                            format!("{n}: {}", list(ips))
                        }
                    })),
                    list(networks)
                ),
                "これらのサーバを @k8s タグの付いたスイッチ+ルータ(またはスイッチ)に接続してください。ロードバランサの実サーバは同じネットワークのアドレスだけです(APIエラー: 実サーバのIPアドレスは同一ネットワークである必要があります)",
            ),
            KubeProxyNotIpvs { mode } => t(
                format!("kube-proxy は {mode} モードです"),
                format!(
                    "strictARP が関係するのは IPVS だけです。DSR のロードバランサのため、ノードには {SYSCTLS_JA} が必要です"
                ),
                "",
            ),
            KubeProxyStrictArp => t(
                "kube-proxy は IPVS モードで strictARP: true です",
                "",
                "",
            ),
            KubeProxyNoStrictArp => t(
                "kube-proxy は IPVS モードですが strictARP: true ではありません",
                "このままでは全ノードがロードバランサの VIP(kube-ipvs0 に付く)の ARP に応答し、DSR のロードバランサが動きません",
                "kube-proxy の ConfigMap(kubectl -n kube-system edit configmap kube-proxy)で ipvs.strictARP: true とし、kube-proxy を再起動してください",
            ),
            KubeProxyUnknown(why) => t(
                "kube-proxy のモードを確認できません",
                match why {
                    ProxyUnknown::Absent => "ConfigMap kube-system/kube-proxy がありません".to_owned(),
                    ProxyUnknown::Unreadable(e) | ProxyUnknown::Unparsable(e) => e.clone(),
                },
                format!(
                    "すべてのノードで {SYSCTLS_JA} を設定し(DSR)、kube-proxy が IPVS なら strictARP: true にしてください"
                ),
            ),
            WorkloadFound { workload: w, ready } => t(
                format!("コントローラは {} として動いています", workload(w)),
                match ready {
                    Some((ready, desired)) => format!("{ready}/{desired} Ready"),
                    None => String::new(),
                },
                "",
            ),
            WorkloadNotReady {
                workload: w,
                desired,
            } => t(
                format!("コントローラの {} に Ready のレプリカがありません", workload(w)),
                format!("0/{desired} Ready"),
                format!(
                    "kubectl -n {} describe {} {} で Pod のイベントとログを確認してください",
                    w.namespace,
                    w.kind.to_ascii_lowercase(),
                    w.name
                ),
            ),
            WorkloadMissing { namespace } => t(
                format!("{namespace} にコントローラの Deployment も DaemonSet もありません"),
                "sakura-cloud-controller-manager を動かす Deployment / DaemonSet が見つかりません",
                "デプロイする(リポジトリの deploy/ か Helm チャート)か、動いている namespace を --namespace で指定してください",
            ),
            WorkloadUnreadable { error } => t(
                "コントローラの Deployment / DaemonSet を読めません",
                error.clone(),
                "Deployment と DaemonSet を一覧できるユーザで doctor を実行してください",
            ),
            TolerationOk { workload: w } => t(
                format!("{} は {UNINIT} を許容しています", workload(w)),
                "",
                "",
            ),
            TolerationMissing { workload: w } => t(
                format!("{} は {UNINIT} を許容していません", workload(w)),
                "新しいクラスタではコントローラが初期化するまで全 Node にこの taint があるため、コントローラ自身がスケジュールされません",
                format!(
                    "Pod テンプレートに tolerations: [{{key: {UNINIT}, value: \"true\", effect: NoSchedule}}] を追加してください"
                ),
            ),
            LeaseFresh {
                holder,
                renewed_secs_ago,
            } => t(
                "コントローラがリーダー Lease を保持しています",
                format!("保持者 {holder:?}、{renewed_secs_ago} 秒前に更新"),
                "",
            ),
            LeaseExpired {
                holder,
                expired_secs_ago,
            } => t(
                "リーダー Lease を保持しているコントローラがありません",
                match expired_secs_ago {
                    Some(s) => format!("最後の保持者 {holder:?}。{s} 秒前に期限切れ"),
                    None => format!("最後の保持者 {holder:?}。Lease は解放されています"),
                },
                "コントローラが動いていないか API サーバに接続できません。Pod のログを確認してください",
            ),
            LeaseMissing { lease } => t(
                format!("リーダー Lease {lease} がありません"),
                "この名前でリーダーに選ばれたコントローラはまだありません",
                "コントローラを起動してください(--leader-elect=true が既定)。別の --leader-elect-resource-name や namespace を使っているなら --lease-name / --namespace を指定してください",
            ),
            LeaderElectionOff { workload: w } => t(
                "リーダー選出は無効です",
                format!("{} は --leader-elect=false で動いています。レプリカは1つにしてください", workload(w)),
                "",
            ),
            LeaseUnreadable { error } => t(
                "リーダー Lease を読めません",
                error.clone(),
                "Lease を読めるユーザで doctor を実行してください",
            ),
            RbacOk { service_account } => t(
                format!("ServiceAccount {service_account} はコントローラに必要な権限を持っています"),
                "",
                "",
            ),
            RbacMissing {
                service_account,
                missing,
            } => t(
                format!("ServiceAccount {service_account} にコントローラに必要な権限が足りません"),
                lines(missing.iter().cloned()),
                "これらを許可する ClusterRole を ServiceAccount にバインドしてください(リポジトリの deploy/ にあります)",
            ),
            RbacUnknown { why } => t("コントローラの RBAC を確認できません", why.clone(), ""),
            ServicesServed { count } => t(
                format!("{count} 個の LoadBalancer Service すべてにアドレスがあります"),
                "",
                "",
            ),
            LoadBalancersDisabled => t(
                "ロードバランサは無効です",
                "SAKURACLOUD_DISABLE_LOAD_BALANCER=true: LoadBalancer Service は別の実装が扱います",
                "",
            ),
            ServicesPending { services } => t(
                format!("{} 個の LoadBalancer Service が Pending のままです", services.len()),
                lines(services.iter().map(|p| match &p.last_warning {
                    Some((reason, note)) => format!("{}: 最後の Warning {reason}: {note}", p.service),
                    None => format!("{}: Warning イベントがありません。コントローラは動いていますか", p.service),
                })),
                "最後の Warning の内容を解消してください。kubectl describe service で全イベントを見られます",
            ),
            WithinLimits => t("Service はロードバランサの上限内です", "", ""),
            OverLimits { ports, nodes } => {
                let mut detail = String::new();
                for (svc, n) in ports {
                    let _ = writeln!(
                        detail,
                        "{svc}: TCP ポート {n} 個。さくらのロードバランサは最大 {} 個です",
                        crate::provider::settings::MAX_PORTS
                    );
                }
                if let Some(n) = nodes {
                    let _ = writeln!(
                        detail,
                        "ロードバランサに使える Node が {n} 個あります。実サーバに登録されるのは最大 {} 個です",
                        crate::provider::settings::MAX_REAL_SERVERS
                    );
                }
                t(
                    "ロードバランサの上限を超えています",
                    detail.trim_end(),
                    "ポートを複数の Service に分けてください。Node はラベル node.kubernetes.io/exclude-from-external-load-balancers=true で外せます",
                )
            }
            NoLeaks => t("Service より長生きしたこのクラスタのロードバランサはありません", "", ""),
            Leaked {
                appliances,
                cluster_tag,
            } => t(
                format!(
                    "Service のないこのクラスタのロードバランサが {} 個あります",
                    appliances.len()
                ),
                format!(
                    "{}\n{}",
                    lines(appliances.iter().map(|a| {
                        format!("{:?} (ID {}) は {} 用でした", a.name, a.id, a.service)
                    })),
                    match cluster_tag {
                        Some(tag) => format!("(タグ {tag})"),
                        None => "(SAKURACLOUD_CLUSTER_ID が未設定のため、クラスタタグのない @k8s ロードバランサすべてが対象です)".to_owned(),
                    }
                ),
                "料金がかかりアドレスも使います。使っていなければコントロールパネルか usacloud で削除してください",
            ),
            NoneFailed => t("失敗したこのクラスタのロードバランサはありません", "", ""),
            Failed { appliances } => t(
                format!("このクラスタのロードバランサ {} 個が失敗しています", appliances.len()),
                lines(appliances.iter().map(|a| {
                    format!("{:?} (ID {}) {} 用: Availability failed", a.name, a.id, a.service)
                })),
                "失敗したアプライアンスを削除してください(コントローラが作り直します)。繰り返す場合はさくらのサポートに連絡してください",
            ),
            Enhanced(m) => m.ja(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(Lang::from_env(env(&[])), Lang::En);
        assert_eq!(Lang::from_env(env(&[("LANG", "ja_JP.UTF-8")])), Lang::Ja);
        assert_eq!(Lang::from_env(env(&[("LANG", "en_US.UTF-8")])), Lang::En);
        assert_eq!(
            Lang::from_env(env(&[("LANG", "ja_JP.UTF-8"), ("LC_ALL", "C")])),
            Lang::En,
            "LC_ALL wins"
        );
        assert_eq!(
            Lang::from_env(env(&[
                ("LANG", "C"),
                ("LC_ALL", ""),
                ("LC_MESSAGES", "ja_JP")
            ])),
            Lang::Ja,
            "an empty LC_ALL does not count"
        );
    }

    #[test]
    fn every_problem_has_a_fix_in_both_languages() {
        let samples = [
            Message::CredentialsRefused {
                error: "401".into(),
            },
            Message::KubeProxyNoStrictArp,
            Message::NodesUnmatched {
                nodes: vec![Unmatched::NoServer {
                    node: "w".into(),
                    closest: vec!["worker-1".into()],
                }],
                matched: 0,
            },
        ];
        for m in samples {
            for lang in [Lang::En, Lang::Ja] {
                let text = m.text(lang);
                assert!(
                    !text.title.is_empty() && !text.fix.is_empty(),
                    "{m:?} {lang:?}"
                );
            }
            assert_ne!(m.text(Lang::En).title, m.text(Lang::Ja).title);
        }
        let ja = Message::NodesUnmatched {
            nodes: vec![Unmatched::NoServer {
                node: "w".into(),
                closest: vec!["worker-1".into()],
            }],
            matched: 2,
        }
        .text(Lang::Ja);
        assert!(ja.detail.contains("近い名前: \"worker-1\""), "{ja:?}");
    }
}
