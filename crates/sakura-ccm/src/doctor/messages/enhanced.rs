//! What the verdicts about the Enhanced Load Balancer (`load-balancer-type: enhanced`) say, in
//! English and Japanese: the `enhanced.*` checks, and the words `cloud.shared_segment` and
//! `cloud.network` use when every LoadBalancer Service is `enhanced`. Kept apart from
//! [`super::Message`]'s own texts so that each file stays readable; the `match`es are
//! exhaustive here too.

use std::fmt::Write as _;

use super::{NodeServer, Text, lines, list, t};
use crate::provider::annotations::defaults::env_name;
use crate::provider::annotations::{
    ENHANCED_CERTIFICATE_SECRET, ENHANCED_LETS_ENCRYPT, ENHANCED_PORT_MODES,
    ENHANCED_SOURCE_NETWORKS, HEALTHZ_PATH, HEALTHZ_PROTOCOL, LOAD_BALANCER_TYPE, NODE_SELECTOR,
};
use crate::provider::load_balancers::enhanced::LETS_ENCRYPT_RETRY;
use crate::provider::reasons::CERTIFICATE_SECRET_UNUSABLE;

/// The label that keeps a Node out of every load balancer.
const EXCLUDE_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers=true";

/// A Node left out of Enhanced Load Balancers for lack of a global address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeWithoutGlobal {
    /// Node name.
    pub node: String,
    /// Whether its server has a NIC with a global address (shared segment or switch+router):
    /// `Some(true)` means the Node's addresses are not set yet, `None` that its server is
    /// unknown.
    pub server_has_global: Option<bool>,
    /// The Services (`namespace/name`) it is left out of.
    pub services: Vec<String>,
}

/// A Service whose Enhanced LB cannot take every Node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServerOverflow {
    /// `namespace/name`.
    pub service: String,
    /// Nodes with a global address that could be real servers.
    pub nodes: usize,
    /// TCP ports (listeners).
    pub ports: usize,
    /// Nodes registered (the first by name).
    pub registered: usize,
    /// The Nodes left out.
    pub left_out: Vec<String>,
}

/// An Enhanced Load Balancer, by name and ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRef {
    /// Its name.
    pub name: String,
    /// Its ID.
    pub id: u64,
}

impl ItemRef {
    fn label(&self) -> String {
        format!("{:?} (ID {})", self.name, self.id)
    }
}

/// What the certificate of an Enhanced LB still lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateGap {
    /// Let's Encrypt has not issued the certificate for these names yet.
    LetsEncryptPending {
        /// The names asked for, the common name first.
        names: Vec<String>,
        /// The common name of the certificate it has instead, if any.
        found: Option<String>,
        /// Where the names must point: the FQDN (CNAME), when it has one.
        fqdn: Option<String>,
        /// Else the VIP (A record), when known.
        vip: Option<String>,
    },
    /// A Secret is named but the item has no certificate (the controller could not upload
    /// it; its Warning events say why).
    SecretNotUploaded {
        /// The Secret's name.
        secret: String,
    },
    /// The certificates could not be read.
    Unreadable {
        /// The error.
        error: String,
    },
}

/// A Service whose Enhanced LB lacks its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingCertificate {
    /// `namespace/name`.
    pub service: String,
    /// Its Enhanced LB.
    pub item: ItemRef,
    /// What is missing.
    pub gap: CertificateGap,
}

/// A real server that is not `up`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownServer {
    /// `address:port`.
    pub address: String,
    /// The Node with that address, if one has it.
    pub node: Option<String>,
    /// Its status as the load balancer reports it (`down`, `cleaning`, ...).
    pub status: String,
}

impl DownServer {
    /// A real server as the load balancer reports it: `ip` (missing: `?`) and `port`, its
    /// `status` (empty: `unknown`), and the Node with that address.
    pub fn new(
        ip: Option<std::net::Ipv4Addr>,
        port: impl std::fmt::Display,
        status: &str,
        node: Option<String>,
    ) -> Self {
        Self {
            address: match ip {
                Some(ip) => format!("{ip}:{port}"),
                None => format!("?:{port}"),
            },
            node,
            status: match status {
                "" => "unknown".to_owned(),
                other => other.to_owned(),
            },
        }
    }
}

/// The health of one Service's Enhanced LB, when something is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnhealthyItem {
    /// `namespace/name`.
    pub service: String,
    /// Its Enhanced LB.
    pub item: ItemRef,
    /// The real servers not `up` (empty when `error` is set).
    pub down: Vec<DownServer>,
    /// How many real servers it reports.
    pub total: usize,
    /// Why the health could not be read.
    pub error: Option<String>,
}

/// The verdicts about Enhanced Load Balancers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnhancedMessage {
    // ---- cloud.shared_segment, cloud.network ----
    /// Servers only on the shared segment, and every LoadBalancer Service is `enhanced`.
    SharedSegmentFine {
        /// The Nodes and servers.
        servers: Vec<NodeServer>,
        /// Whether the cluster-wide default type is `enhanced`.
        by_default: bool,
    },
    /// Nothing is tagged `@k8s`, and no Service needs an appliance.
    NetworkNotNeeded,
    /// No Service needs the DSR appliance: kube-proxy's ARP settings do not matter.
    DsrNotNeeded,

    // ---- enhanced.global_address ----
    /// Every Node that may be a real server has a global address.
    GlobalAddressesOk {
        /// How many Nodes.
        nodes: usize,
    },
    /// Nodes without an `ExternalIP` are left out.
    NodesWithoutGlobal {
        /// The Nodes.
        nodes: Vec<NodeWithoutGlobal>,
        /// Services left without any real server.
        unserved: Vec<String>,
    },

    // ---- enhanced.ports ----
    /// Every `enhanced` Service has at most two TCP ports.
    PortsOk,
    /// Services with more TCP ports than an Enhanced LB serves.
    TooManyPorts {
        /// `namespace/name` and the count.
        services: Vec<(String, usize)>,
        /// The most an Enhanced LB serves.
        max: usize,
    },

    // ---- enhanced.real_servers ----
    /// Every Enhanced LB can take all of its Nodes.
    RealServersOk {
        /// The most real-server entries an Enhanced LB takes.
        max: usize,
    },
    /// Services whose Nodes × ports exceed the limit.
    RealServerLimit {
        /// Each Service.
        services: Vec<RealServerOverflow>,
        /// The most real-server entries an Enhanced LB takes.
        max: usize,
    },

    // ---- enhanced.https ----
    /// Every `https` port has a certificate source.
    HttpsOk,
    /// `https` ports without a certificate source.
    HttpsWithoutCertificate {
        /// `namespace/name` and its `https` ports.
        services: Vec<(String, Vec<u16>)>,
    },

    // ---- enhanced.certificate ----
    /// The certificates asked for are in place.
    CertificatesOk {
        /// How many Enhanced LBs have the certificate their Service asks for.
        count: usize,
    },
    /// Enhanced LBs without the certificate their Service asks for.
    CertificatesMissing {
        /// Each.
        items: Vec<MissingCertificate>,
    },

    // ---- enhanced.health ----
    /// Every real server is up.
    HealthOk {
        /// How many real servers.
        servers: usize,
    },
    /// Real servers failing the health check (or health that could not be read).
    ServersDown {
        /// Each Enhanced LB with a problem.
        items: Vec<UnhealthyItem>,
    },

    // ---- enhanced.certificate, enhanced.health ----
    /// The account's Enhanced LBs could not be listed.
    Unreadable {
        /// The error.
        error: String,
    },
}

fn joined(items: &[String], sep: &str) -> String {
    items.join(sep)
}

fn retry_minutes() -> u64 {
    LETS_ENCRYPT_RETRY.as_secs() / 60
}

impl EnhancedMessage {
    /// The English words.
    pub(super) fn en(&self) -> Text {
        use EnhancedMessage::*;
        match self {
            SharedSegmentFine {
                servers,
                by_default,
            } => t(
                "Nodes' servers are on the shared segment: fine for the Enhanced Load Balancer",
                format!(
                    "{}\nevery LoadBalancer Service uses {LOAD_BALANCER_TYPE}: enhanced{}\nthe load-balancer appliance (types internet and switch) is unavailable on the shared segment: a Service asking for it would get no real servers",
                    lines(servers.iter().map(|s| {
                        format!("{}: server {:?} (ID {})", s.node, s.server, s.id)
                    })),
                    if *by_default {
                        format!(" (the cluster default, {})", env_name(LOAD_BALANCER_TYPE))
                    } else {
                        String::new()
                    }
                ),
                "",
            ),
            NetworkNotNeeded => t(
                "No switch+router or switch is tagged @k8s: none is needed",
                "every LoadBalancer Service uses the Enhanced Load Balancer, which needs no @k8s network; a Service of type internet or switch would need one",
                "",
            ),
            DsrNotNeeded => t(
                "kube-proxy needs no DSR settings",
                "every LoadBalancer Service uses the Enhanced Load Balancer, a proxy: strictARP, arp_ignore and arp_announce matter only for the DSR load-balancer appliance",
                "",
            ),
            GlobalAddressesOk { nodes } => t(
                "Every Node for Enhanced Load Balancers has a global address",
                format!("{nodes} Node(s) with an ExternalIP"),
                "",
            ),
            NodesWithoutGlobal { nodes, unserved } => {
                let mut detail = lines(nodes.iter().map(|n| {
                    let why = match n.server_has_global {
                        Some(true) => "no ExternalIP yet (the controller has not set its addresses: see nodes.uninitialized)",
                        Some(false) => "no ExternalIP: its server has no NIC on the shared segment or a switch+router",
                        None => "no ExternalIP",
                    };
                    format!("{}: {why}; left out of {}", n.node, list(&n.services))
                }));
                for s in unserved {
                    let _ = write!(detail, "\n{s}: no real server at all");
                }
                t(
                    "Nodes without a global address are left out of Enhanced Load Balancers",
                    detail,
                    format!(
                        "an Enhanced Load Balancer reaches real servers only at global addresses: connect these servers to the shared segment or a switch+router (the controller then sets the Node's ExternalIP), or keep the Nodes out with {NODE_SELECTOR} or the label {EXCLUDE_LABEL}; for nodes only on a private switch use {LOAD_BALANCER_TYPE}: switch"
                    ),
                )
            }
            PortsOk => t(
                "Every enhanced Service has at most 2 TCP ports",
                "",
                "",
            ),
            TooManyPorts { services, max } => t(
                "Services with more TCP ports than an Enhanced Load Balancer serves",
                lines(services.iter().map(|(s, n)| {
                    format!("{s}: {n} TCP ports; an Enhanced Load Balancer serves at most {max}")
                })),
                format!(
                    "split the ports over several Services (each gets its own Enhanced Load Balancer), or use {LOAD_BALANCER_TYPE}: internet (up to 20 ports); until then the controller creates or changes nothing for them (TooManyPorts)"
                ),
            ),
            RealServersOk { max } => t(
                format!("Enhanced Load Balancers take every Node (at most {max} real-server entries)"),
                "",
                "",
            ),
            RealServerLimit { services, max } => t(
                "Enhanced Load Balancers cannot take every Node",
                lines(services.iter().map(|o| {
                    format!(
                        "{}: {} Nodes × {} ports = {} real-server entries, at most {max}: the first {} Nodes by name are registered; left out: {}",
                        o.service,
                        o.nodes,
                        o.ports,
                        o.nodes * o.ports,
                        o.registered,
                        joined(&o.left_out, ", ")
                    )
                })),
                format!(
                    "choose the Nodes with {NODE_SELECTOR} (at most {max} ÷ ports), use fewer ports, or keep Nodes out with the label {EXCLUDE_LABEL}"
                ),
            ),
            HttpsOk => t("Every https port names a certificate", "", ""),
            HttpsWithoutCertificate { services } => t(
                "https ports without a certificate",
                lines(services.iter().map(|(s, ports)| {
                    let ports: Vec<String> = ports.iter().map(ToString::to_string).collect();
                    format!(
                        "{s}: port {} is https ({ENHANCED_PORT_MODES}) but no certificate is named",
                        list(&ports)
                    )
                })),
                format!(
                    "set {ENHANCED_LETS_ENCRYPT} to the DNS names (they must resolve to the load balancer) or {ENHANCED_CERTIFICATE_SECRET} to a kubernetes.io/tls Secret, or make the port http or tcp; until then the controller creates or changes nothing for the Service (CertificateMissing)"
                ),
            ),
            CertificatesOk { count } => t(
                "The certificates asked for are in place",
                if *count == 0 {
                    "no enhanced Service names a certificate (or its load balancer serves no https yet)".to_owned()
                } else {
                    format!("{count} Enhanced Load Balancer(s) have the certificate their Service names")
                },
                "",
            ),
            CertificatesMissing { items } => t(
                "Enhanced Load Balancers still without their certificate",
                lines(items.iter().map(|m| {
                    let item = m.item.label();
                    match &m.gap {
                        CertificateGap::LetsEncryptPending {
                            names,
                            found,
                            fqdn,
                            vip,
                        } => {
                            let mut line = format!(
                                "{}: Let's Encrypt for {}: no certificate yet on {item}",
                                m.service,
                                list(names)
                            );
                            if let Some(cn) = found {
                                let _ = write!(line, " (its certificate is for {cn:?})");
                            }
                            match (fqdn, vip) {
                                (Some(f), _) => {
                                    let _ = write!(line, "; each name must resolve to {f} (CNAME)");
                                }
                                (None, Some(v)) => {
                                    let _ = write!(line, "; each name must resolve to {v} (A record)");
                                }
                                (None, None) => {}
                            }
                            line
                        }
                        CertificateGap::SecretNotUploaded { secret } => format!(
                            "{}: https needs the certificate of Secret {secret:?}, but {item} has no certificate yet: the Service's Warning events ({CERTIFICATE_SECRET_UNUSABLE}) say why",
                            m.service
                        ),
                        CertificateGap::Unreadable { error } => format!(
                            "{}: the certificates of {item} cannot be read: {error}",
                            m.service
                        ),
                    }
                })),
                format!(
                    "Let's Encrypt issues the certificate once every name resolves to the load balancer: create the DNS records shown (a CNAME to the FQDN with VIP failover, else an A record to the VIP); the controller asks again every {} minutes. For a Secret, it must be a kubernetes.io/tls Secret (tls.crt, tls.key) in the Service's namespace: kubectl describe service shows why it was not uploaded",
                    retry_minutes()
                ),
            ),
            HealthOk { servers } => t(
                "Every real server of the Enhanced Load Balancers is up",
                format!("{servers} real server(s) up"),
                "",
            ),
            ServersDown { items } => t(
                "Real servers of Enhanced Load Balancers fail the health check",
                lines(items.iter().map(|u| {
                    let head = format!("{}: {}", u.service, u.item.label());
                    if let Some(e) = &u.error {
                        return format!("{head}: the health cannot be read: {e}");
                    }
                    let down: Vec<String> = u
                        .down
                        .iter()
                        .map(|d| match &d.node {
                            Some(n) => format!("{} ({n}) {}", d.address, d.status),
                            None => format!("{} {}", d.address, d.status),
                        })
                        .collect();
                    let all = if u.down.len() == u.total {
                        "; every real server is down: the Service is unreachable"
                    } else {
                        ""
                    };
                    format!(
                        "{head}: {} of {} real servers not up: {}{all}",
                        u.down.len(),
                        u.total,
                        list(&down)
                    )
                })),
                format!(
                    "the load balancer checks each Node at the Service's node port ({HEALTHZ_PROTOCOL}: http checks {HEALTHZ_PATH}): make sure kube-proxy serves the node port on these Nodes and their firewall (packet filter, iptables) lets in the load balancer's source networks (annotation {ENHANCED_SOURCE_NETWORKS} on the Service)"
                ),
            ),
            Unreadable { error } => t(
                "Enhanced Load Balancers cannot be read",
                error.clone(),
                "check the API key's permission and the network path to the API (Enhanced Load Balancers are read at zone is1a); the checks that need them were skipped",
            ),
        }
    }

    /// The Japanese words.
    pub(super) fn ja(&self) -> Text {
        use EnhancedMessage::*;
        match self {
            SharedSegmentFine {
                servers,
                by_default,
            } => t(
                "Node のサーバは共有セグメントにあります(エンハンスドロードバランサなら問題ありません)",
                format!(
                    "{}\nすべての LoadBalancer Service が {LOAD_BALANCER_TYPE}: enhanced を使っています{}\n共有セグメントではロードバランサアプライアンス(タイプ internet と switch)は使えません。これらを指定した Service には実サーバが登録されません",
                    lines(servers.iter().map(|s| {
                        format!("{}: サーバ {:?} (ID {})", s.node, s.server, s.id)
                    })),
                    if *by_default {
                        format!("(クラスタの既定値 {})", env_name(LOAD_BALANCER_TYPE))
                    } else {
                        String::new()
                    }
                ),
                "",
            ),
            NetworkNotNeeded => t(
                "@k8s タグの付いたスイッチ+ルータもスイッチもありません(必要ありません)",
                "すべての LoadBalancer Service がエンハンスドロードバランサを使うため、@k8s ネットワークは不要です。internet や switch タイプの Service には必要です",
                "",
            ),
            DsrNotNeeded => t(
                "kube-proxy に DSR 用の設定は必要ありません",
                "すべての LoadBalancer Service がプロキシ型のエンハンスドロードバランサを使います。strictARP、arp_ignore、arp_announce が関係するのは DSR のロードバランサアプライアンスだけです",
                "",
            ),
            GlobalAddressesOk { nodes } => t(
                "エンハンスドロードバランサの対象 Node はすべてグローバルアドレスを持っています",
                format!("ExternalIP のある Node {nodes} 個"),
                "",
            ),
            NodesWithoutGlobal { nodes, unserved } => {
                let mut detail = lines(nodes.iter().map(|n| {
                    let why = match n.server_has_global {
                        Some(true) => "ExternalIP がまだありません(コントローラがアドレスを設定していません。nodes.uninitialized を参照)",
                        Some(false) => "ExternalIP がありません。サーバに共有セグメントやスイッチ+ルータにつながる NIC がありません",
                        None => "ExternalIP がありません",
                    };
                    format!("{}: {why}。対象外になる Service: {}", n.node, list(&n.services))
                }));
                for s in unserved {
                    let _ = write!(detail, "\n{s}: 実サーバが1つもありません");
                }
                t(
                    "グローバルアドレスのない Node はエンハンスドロードバランサから外されます",
                    detail,
                    format!(
                        "エンハンスドロードバランサが実サーバに接続できるのはグローバルアドレスだけです。サーバを共有セグメントかスイッチ+ルータに接続する(コントローラが Node の ExternalIP を設定します)か、{NODE_SELECTOR} やラベル {EXCLUDE_LABEL} で Node を対象から外してください。プライベートなスイッチだけにつながるノードには {LOAD_BALANCER_TYPE}: switch を使ってください"
                    ),
                )
            }
            PortsOk => t(
                "enhanced タイプの Service の TCP ポートはすべて 2 個以内です",
                "",
                "",
            ),
            TooManyPorts { services, max } => t(
                "エンハンスドロードバランサの上限を超える TCP ポートを持つ Service があります",
                lines(services.iter().map(|(s, n)| {
                    format!("{s}: TCP ポート {n} 個。エンハンスドロードバランサは最大 {max} 個です")
                })),
                format!(
                    "ポートを複数の Service に分ける(それぞれにエンハンスドロードバランサが作られます)か、{LOAD_BALANCER_TYPE}: internet(最大 20 ポート)を使ってください。直すまでコントローラはこの Service のロードバランサを作成も変更もしません(TooManyPorts)"
                ),
            ),
            RealServersOk { max } => t(
                format!("エンハンスドロードバランサの実サーバは上限({max} 件)以内です"),
                "",
                "",
            ),
            RealServerLimit { services, max } => t(
                "エンハンスドロードバランサにすべての Node を登録できません",
                lines(services.iter().map(|o| {
                    format!(
                        "{}: Node {} 個 × ポート {} 個 = 実サーバ {} 件。上限は {max} 件のため、名前順で最初の {} 個の Node だけが登録されます。対象外: {}",
                        o.service,
                        o.nodes,
                        o.ports,
                        o.nodes * o.ports,
                        o.registered,
                        joined(&o.left_out, "、")
                    )
                })),
                format!(
                    "{NODE_SELECTOR} で Node を絞る({max} ÷ ポート数まで)か、ポートを減らすか、ラベル {EXCLUDE_LABEL} で Node を外してください"
                ),
            ),
            HttpsOk => t("https ポートにはすべて証明書が指定されています", "", ""),
            HttpsWithoutCertificate { services } => t(
                "証明書が指定されていない https ポートがあります",
                lines(services.iter().map(|(s, ports)| {
                    let ports: Vec<String> = ports.iter().map(ToString::to_string).collect();
                    format!(
                        "{s}: ポート {} は https({ENHANCED_PORT_MODES})ですが、証明書が指定されていません",
                        list(&ports)
                    )
                })),
                format!(
                    "{ENHANCED_LETS_ENCRYPT} に DNS 名(ロードバランサを指している必要があります)を、または {ENHANCED_CERTIFICATE_SECRET} に kubernetes.io/tls の Secret を指定するか、ポートを http か tcp にしてください。直すまでコントローラはこの Service のロードバランサを作成も変更もしません(CertificateMissing)"
                ),
            ),
            CertificatesOk { count } => t(
                "指定された証明書はそろっています",
                if *count == 0 {
                    "証明書を指定した enhanced タイプの Service はありません(または、そのロードバランサがまだ https を提供していません)".to_owned()
                } else {
                    format!("エンハンスドロードバランサ {count} 個に Service が指定した証明書があります")
                },
                "",
            ),
            CertificatesMissing { items } => t(
                "証明書がまだないエンハンスドロードバランサがあります",
                lines(items.iter().map(|m| {
                    let item = m.item.label();
                    match &m.gap {
                        CertificateGap::LetsEncryptPending {
                            names,
                            found,
                            fqdn,
                            vip,
                        } => {
                            let mut line = format!(
                                "{}: Let's Encrypt({})の証明書が {item} にまだありません",
                                m.service,
                                list(names)
                            );
                            if let Some(cn) = found {
                                let _ = write!(line, "(今の証明書は {cn:?} 用です)");
                            }
                            match (fqdn, vip) {
                                (Some(f), _) => {
                                    let _ = write!(line, "。各名前を {f} に向けてください(CNAME)");
                                }
                                (None, Some(v)) => {
                                    let _ = write!(line, "。各名前を {v} に向けてください(A レコード)");
                                }
                                (None, None) => {}
                            }
                            line
                        }
                        CertificateGap::SecretNotUploaded { secret } => format!(
                            "{}: https には Secret {secret:?} の証明書が必要ですが、{item} にはまだ証明書がありません。理由は Service の Warning イベント({CERTIFICATE_SECRET_UNUSABLE})にあります",
                            m.service
                        ),
                        CertificateGap::Unreadable { error } => format!(
                            "{}: {item} の証明書を読めません: {error}",
                            m.service
                        ),
                    }
                })),
                format!(
                    "Let's Encrypt はすべての名前がロードバランサを指すと証明書を発行します。上の DNS レコードを作成してください(VIP フェイルオーバーありなら FQDN への CNAME、なしなら VIP への A レコード)。コントローラは {} 分ごとに発行を依頼し直します。Secret の場合は、Service と同じ namespace の kubernetes.io/tls の Secret(tls.crt、tls.key)である必要があります。アップロードされない理由は kubectl describe service で確認できます",
                    retry_minutes()
                ),
            ),
            HealthOk { servers } => t(
                "エンハンスドロードバランサの実サーバはすべて up です",
                format!("up の実サーバ {servers} 個"),
                "",
            ),
            ServersDown { items } => t(
                "エンハンスドロードバランサの実サーバがヘルスチェックに失敗しています",
                lines(items.iter().map(|u| {
                    let head = format!("{}: {}", u.service, u.item.label());
                    if let Some(e) = &u.error {
                        return format!("{head}: ヘルス状態を読めません: {e}");
                    }
                    let down: Vec<String> = u
                        .down
                        .iter()
                        .map(|d| match &d.node {
                            Some(n) => format!("{} ({n}) {}", d.address, d.status),
                            None => format!("{} {}", d.address, d.status),
                        })
                        .collect();
                    let all = if u.down.len() == u.total {
                        "。すべての実サーバが up でないため、Service に到達できません"
                    } else {
                        ""
                    };
                    format!(
                        "{head}: 実サーバ {} 個中 {} 個が up ではありません: {}{all}",
                        u.total,
                        u.down.len(),
                        joined(&down, "、")
                    )
                })),
                format!(
                    "ロードバランサは各 Node を Service のノードポートで確認します({HEALTHZ_PROTOCOL}: http なら {HEALTHZ_PATH} を確認)。これらの Node で kube-proxy がノードポートを提供していること、ファイアウォール(パケットフィルタ、iptables)がロードバランサの接続元ネットワーク(Service のアノテーション {ENHANCED_SOURCE_NETWORKS})を許可していることを確認してください"
                ),
            ),
            Unreadable { error } => t(
                "エンハンスドロードバランサを読めません",
                error.clone(),
                "APIキーの権限とAPIへのネットワーク経路を確認してください(エンハンスドロードバランサは is1a ゾーンで読みます)。これらが必要な確認は省略しました",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::messages::{Lang, Message};

    #[test]
    fn every_problem_has_a_fix_in_both_languages() {
        let item = ItemRef {
            name: "a1".into(),
            id: 1,
        };
        let problems = [
            EnhancedMessage::NodesWithoutGlobal {
                nodes: vec![NodeWithoutGlobal {
                    node: "w".into(),
                    server_has_global: Some(false),
                    services: vec!["default/web".into()],
                }],
                unserved: vec!["default/web".into()],
            },
            EnhancedMessage::TooManyPorts {
                services: vec![("default/web".into(), 3)],
                max: 2,
            },
            EnhancedMessage::RealServerLimit {
                services: vec![RealServerOverflow {
                    service: "default/web".into(),
                    nodes: 21,
                    ports: 2,
                    registered: 20,
                    left_out: vec!["w21".into()],
                }],
                max: 40,
            },
            EnhancedMessage::HttpsWithoutCertificate {
                services: vec![("default/web".into(), vec![443])],
            },
            EnhancedMessage::CertificatesMissing {
                items: vec![MissingCertificate {
                    service: "default/web".into(),
                    item: item.clone(),
                    gap: CertificateGap::LetsEncryptPending {
                        names: vec!["www.example.com".into()],
                        found: None,
                        fqdn: Some("site-1.proxylb1.sakura.ne.jp".into()),
                        vip: None,
                    },
                }],
            },
            EnhancedMessage::ServersDown {
                items: vec![UnhealthyItem {
                    service: "default/web".into(),
                    item,
                    down: vec![DownServer {
                        address: "100.64.0.12:30080".into(),
                        node: Some("w2".into()),
                        status: "down".into(),
                    }],
                    total: 2,
                    error: None,
                }],
            },
            EnhancedMessage::Unreadable {
                error: "500".into(),
            },
        ];
        for m in problems {
            let m = Message::Enhanced(m);
            let (en, ja) = (m.text(Lang::En), m.text(Lang::Ja));
            for text in [&en, &ja] {
                assert!(
                    !text.title.is_empty() && !text.detail.is_empty() && !text.fix.is_empty(),
                    "{m:?}"
                );
            }
            assert_ne!(en.title, ja.title);
            assert_ne!(en.fix, ja.fix);
        }
        let ja = Message::Enhanced(EnhancedMessage::SharedSegmentFine {
            servers: vec![],
            by_default: true,
        })
        .text(Lang::Ja);
        assert!(
            ja.detail
                .contains("クラスタの既定値 SAKURACLOUD_LOAD_BALANCERS_LOAD_BALANCER_TYPE"),
            "{ja:?}"
        );
    }
}
