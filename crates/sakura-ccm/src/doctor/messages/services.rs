//! LoadBalancer Services and their appliances: pending, limits, leaks, failures, real servers'
//! health.

use super::*;
use crate::provider::annotations::{HEALTHZ_PATH, HEALTHZ_PROTOCOL, KUBE_PROXY_HEALTHZ_PORT};

/// The real servers of one appliance of ours, when something is wrong with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnhealthyAppliance {
    /// The appliance and the Service it serves.
    pub appliance: ApplianceRef,
    /// The real servers not `UP` (empty when `error` is set).
    pub down: Vec<DownServer>,
    /// How many real servers it reports (one per virtual IP and port).
    pub total: usize,
    /// Why its status could not be read.
    pub error: Option<String>,
}

impl UnhealthyAppliance {
    fn all_down(&self) -> bool {
        self.error.is_none() && self.total > 0 && self.down.len() == self.total
    }

    fn down_list(&self, sep: &str) -> String {
        self.down
            .iter()
            .map(|d| match &d.node {
                Some(n) => format!("{} ({n}) {}", d.address, d.status),
                None => format!("{} {}", d.address, d.status),
            })
            .collect::<Vec<_>>()
            .join(sep)
    }
}

/// A verdict of this group; [`Message::Services`] carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceMessage {
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
    /// Every real server of every running appliance of ours passes its health check.
    RealServersUp {
        /// How many real servers are up (one per virtual IP and port).
        servers: usize,
    },
    /// Real servers that fail their health check, or appliances whose status cannot be read.
    RealServersDown {
        /// Each appliance with a problem.
        appliances: Vec<UnhealthyAppliance>,
    },
}

impl ServiceMessage {
    pub(super) fn en(&self) -> Text {
        use ServiceMessage::*;
        match self {
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
            RealServersUp { servers } => t(
                "No real server of this cluster's load balancers fails its health check",
                format!("{servers} real servers UP"),
                "",
            ),
            RealServersDown { appliances } => t(
                "Real servers of this cluster's load balancers fail their health check",
                lines(appliances.iter().map(|u| {
                    let a = &u.appliance;
                    let head = format!("{:?} (ID {}) for {}", a.name, a.id, a.service);
                    if let Some(e) = &u.error {
                        return format!("{head}: the status cannot be read: {e}");
                    }
                    let all = if u.all_down() {
                        "; every real server is down: the Service is unreachable"
                    } else {
                        ""
                    };
                    format!(
                        "{head}: {} of {} real servers not UP: {}{all}",
                        u.down.len(),
                        u.total,
                        u.down_list(", ")
                    )
                })),
                format!(
                    "the appliance checks every Node with an HTTP GET /healthz on kube-proxy's port {KUBE_PROXY_HEALTHZ_PORT} (externalTrafficPolicy: Local: on spec.healthCheckNodePort), unless the Service sets {HEALTHZ_PROTOCOL}/{HEALTHZ_PATH}. On a Node that fails it: check that kube-proxy runs and serves :{KUBE_PROXY_HEALTHZ_PORT} on the Node's address (healthzBindAddress 0.0.0.0:{KUBE_PROXY_HEALTHZ_PORT}), for example curl http://NODE-IP:{KUBE_PROXY_HEALTHZ_PORT}/healthz from another server in the network, and that the Node's firewall (packet filter, iptables, ufw, firewalld) lets the appliance's addresses reach that port. A Node that is being drained or shut down fails it on purpose"
                ),
            ),
        }
    }

    pub(super) fn ja(&self) -> Text {
        use ServiceMessage::*;
        match self {
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
            RealServersUp { servers } => t(
                "ヘルスチェックに失敗しているこのクラスタのロードバランサの実サーバはありません",
                format!("UP の実サーバ: {servers} 個"),
                "",
            ),
            RealServersDown { appliances } => t(
                "このクラスタのロードバランサの実サーバがヘルスチェックに失敗しています",
                lines(appliances.iter().map(|u| {
                    let a = &u.appliance;
                    let head = format!("{:?} (ID {}) {} 用", a.name, a.id, a.service);
                    if let Some(e) = &u.error {
                        return format!("{head}: ステータスを読めません: {e}");
                    }
                    let all = if u.all_down() {
                        "。すべての実サーバが UP でないため、Service に到達できません"
                    } else {
                        ""
                    };
                    format!(
                        "{head}: 実サーバ {} 個中 {} 個が UP ではありません: {}{all}",
                        u.total,
                        u.down.len(),
                        u.down_list("、")
                    )
                })),
                format!(
                    "アプライアンスは各 Node を kube-proxy のポート {KUBE_PROXY_HEALTHZ_PORT} への HTTP GET /healthz で確認します(externalTrafficPolicy: Local なら spec.healthCheckNodePort。Service に {HEALTHZ_PROTOCOL}/{HEALTHZ_PATH} があればその設定)。失敗している Node で、kube-proxy が動いていて Node のアドレスで :{KUBE_PROXY_HEALTHZ_PORT} を提供していること(healthzBindAddress 0.0.0.0:{KUBE_PROXY_HEALTHZ_PORT}。同じネットワークの別のサーバから curl http://NODE-IP:{KUBE_PROXY_HEALTHZ_PORT}/healthz で確認できます)、Node のファイアウォール(パケットフィルタ、iptables、ufw、firewalld)がアプライアンスのアドレスからそのポートへの接続を許可していることを確認してください。ドレイン中や停止中の Node は意図どおり失敗します"
                ),
            ),
        }
    }
}
