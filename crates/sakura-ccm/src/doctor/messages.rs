//! What each verdict says, in English and Japanese: a title (the one line), a detail and, for a
//! problem, the fix. The checks decide ([`super::checks`]); this module only words it, so a
//! check's wording can change without touching its logic, and every message exists in both
//! languages (the `match` is exhaustive).

use std::fmt::Write as _;

mod controller;
mod enhanced;
mod network;
mod nodes;
mod services;
mod setup;
mod zones;

pub use controller::ControllerMessage;
pub use enhanced::{
    CertificateGap, DownServer, EnhancedMessage, ItemRef, MissingCertificate, NodeWithoutGlobal,
    RealServerOverflow, UnhealthyItem,
};
pub use network::NetworkMessage;
pub use nodes::NodeMessage;
pub use services::{ServiceMessage, UnhealthyAppliance};
pub use setup::SetupMessage;
pub use zones::ZoneMessage;

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
    /// Could not start, the cluster, and the cloud account (`cluster.*`, `cloud.*`).
    Setup(SetupMessage),
    /// The tagged switch+routers and switches, the shared segment, and kube-proxy's ARP settings.
    Network(NetworkMessage),
    /// Nodes and their servers: matching, names, taints, kubelets, node IPs.
    Nodes(NodeMessage),
    /// The controller itself: its workload, toleration, leader Lease and RBAC.
    Controller(ControllerMessage),
    /// LoadBalancer Services and their appliances: pending, limits, leaks, failures.
    Services(ServiceMessage),
    /// A verdict about Enhanced Load Balancers (its words are in `messages/enhanced.rs`).
    Enhanced(EnhancedMessage),
    /// A cluster spanning zones (`cloud.zones`).
    Zones(ZoneMessage),
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
        match self {
            Message::Setup(m) => m.en(),
            Message::Network(m) => m.en(),
            Message::Nodes(m) => m.en(),
            Message::Controller(m) => m.en(),
            Message::Services(m) => m.en(),
            Message::Enhanced(m) => m.en(),
            Message::Zones(m) => m.en(),
        }
    }

    fn ja(&self) -> Text {
        match self {
            Message::Setup(m) => m.ja(),
            Message::Network(m) => m.ja(),
            Message::Nodes(m) => m.ja(),
            Message::Controller(m) => m.ja(),
            Message::Services(m) => m.ja(),
            Message::Enhanced(m) => m.ja(),
            Message::Zones(m) => m.ja(),
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
            Message::Setup(SetupMessage::CredentialsRefused {
                error: "401".into(),
            }),
            Message::Network(NetworkMessage::KubeProxyNoStrictArp),
            Message::Nodes(NodeMessage::NodesUnmatched {
                nodes: vec![Unmatched::NoServer {
                    node: "w".into(),
                    closest: vec!["worker-1".into()],
                }],
                matched: 0,
            }),
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
        let ja = Message::Nodes(NodeMessage::NodesUnmatched {
            nodes: vec![Unmatched::NoServer {
                node: "w".into(),
                closest: vec!["worker-1".into()],
            }],
            matched: 2,
        })
        .text(Lang::Ja);
        assert!(ja.detail.contains("近い名前: \"worker-1\""), "{ja:?}");
    }
}
