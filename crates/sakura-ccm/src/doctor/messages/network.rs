//! The tagged switch+routers and switches, the shared segment, and kube-proxy's ARP settings.

use super::*;

/// A verdict of this group; [`Message::Network`] carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkMessage {
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
}

impl NetworkMessage {
    pub(super) fn en(&self) -> Text {
        use NetworkMessage::*;
        match self {
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
                format!(
                    "Several {} are tagged @k8s; each can be selected",
                    kind_en(*kind)
                ),
                format!("{}; every Service's choice is unambiguous", list(names)),
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
                format!("no selector tag picks one of these alone: {}", list(names)),
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
            SharedSegmentOk => t("No Node's server is only on the shared segment", "", ""),
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
            KubeProxyNotIpvs { mode } => t(
                format!("kube-proxy runs in {mode} mode"),
                format!(
                    "strictARP matters only for IPVS; the nodes still need {SYSCTLS} for the DSR load balancer"
                ),
                "",
            ),
            KubeProxyStrictArp => t("kube-proxy runs in IPVS mode with strictARP: true", "", ""),
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
        }
    }

    pub(super) fn ja(&self) -> Text {
        use NetworkMessage::*;
        match self {
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
                    "コントローラはロードバランサを置くネットワークを @k8s タグで探します"
                        .to_owned()
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
                format!(
                    "@k8s タグの付いた{}が複数ありますが、それぞれ選択できます",
                    kind_ja(*kind)
                ),
                format!("{}。どの Service の選択も一意です", list(names)),
                format!(
                    "新しい Service にはアノテーション {} でどれかのタグを指定してください",
                    selector_for(*kind)
                ),
            ),
            NetworkIndistinguishable { kind, names } => t(
                format!(
                    "@k8s タグの付いた{}が複数あり、識別用のタグがありません",
                    kind_ja(*kind)
                ),
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
            KubeProxyNotIpvs { mode } => t(
                format!("kube-proxy は {mode} モードです"),
                format!(
                    "strictARP が関係するのは IPVS だけです。DSR のロードバランサのため、ノードには {SYSCTLS_JA} が必要です"
                ),
                "",
            ),
            KubeProxyStrictArp => t("kube-proxy は IPVS モードで strictARP: true です", "", ""),
            KubeProxyNoStrictArp => t(
                "kube-proxy は IPVS モードですが strictARP: true ではありません",
                "このままでは全ノードがロードバランサの VIP(kube-ipvs0 に付く)の ARP に応答し、DSR のロードバランサが動きません",
                "kube-proxy の ConfigMap(kubectl -n kube-system edit configmap kube-proxy)で ipvs.strictARP: true とし、kube-proxy を再起動してください",
            ),
            KubeProxyUnknown(why) => t(
                "kube-proxy のモードを確認できません",
                match why {
                    ProxyUnknown::Absent => {
                        "ConfigMap kube-system/kube-proxy がありません".to_owned()
                    }
                    ProxyUnknown::Unreadable(e) | ProxyUnknown::Unparsable(e) => e.clone(),
                },
                format!(
                    "すべてのノードで {SYSCTLS_JA} を設定し(DSR)、kube-proxy が IPVS なら strictARP: true にしてください"
                ),
            ),
        }
    }
}
