//! A cluster spanning zones (`cloud.zones`).

use super::*;

/// A verdict of this group; [`Message::Zones`] carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneMessage {
    /// Every Node's server is in a configured zone; switches of several zones are bridged.
    ZonesOk {
        /// Each configured zone (and any other a server was found in) and its Nodes.
        per_zone: Vec<(String, usize)>,
    },
    /// Something about the zones is wrong.
    ZoneProblems {
        /// The configured zones.
        configured: Vec<String>,
        /// Nodes whose server is in a zone that is not configured, with that zone.
        outside: Vec<(String, String)>,
        /// The cluster's switches of several zones, not joined by one bridge.
        unbridged: Vec<String>,
        /// Routers tagged `@k8s` in zones without Nodes.
        idle_routers: Vec<String>,
    },
}

fn per_zone_list(per_zone: &[(String, usize)]) -> String {
    per_zone
        .iter()
        .map(|(z, n)| format!("{z}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn outside_list(outside: &[(String, String)]) -> String {
    outside
        .iter()
        .map(|(n, z)| format!("{n} ({z})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The zones to configure: the configured ones plus those the Nodes were found in.
fn wanted(configured: &[String], outside: &[(String, String)]) -> String {
    let mut all: Vec<String> = configured.to_vec();
    for (_, z) in outside {
        if !all.contains(z) {
            all.push(z.clone());
        }
    }
    all.join(",")
}

impl ZoneMessage {
    pub(super) fn en(&self) -> Text {
        match self {
            ZoneMessage::ZonesOk { per_zone } => t(
                "Every Node's server is in a configured zone",
                format!("Nodes by zone: {}", per_zone_list(per_zone)),
                "",
            ),
            ZoneMessage::ZoneProblems {
                configured,
                outside,
                unbridged,
                idle_routers,
            } => {
                let mut detail = Vec::new();
                let mut fix = Vec::new();
                if !outside.is_empty() {
                    detail.push(format!(
                        "Nodes whose server is in a zone that is not configured (configured: {}): {}. The controller never finds them: they keep the uninitialized taint",
                        list(configured),
                        outside_list(outside)
                    ));
                    fix.push(format!(
                        "add the zone to SAKURACLOUD_ZONES: SAKURACLOUD_ZONES={}",
                        wanted(configured, outside)
                    ));
                }
                if !unbridged.is_empty() {
                    detail.push(format!(
                        "the cluster's switches are in several zones but no bridge joins them: {}. A load-balancer appliance reaches only the Nodes of its own zone",
                        unbridged.join("; ")
                    ));
                    fix.push("connect one switch per zone to one bridge (control panel: Bridge; API: PUT switch/{id}/to/bridge/{bridgeID}), or use the Enhanced Load Balancer, which needs no bridge".to_owned());
                }
                if !idle_routers.is_empty() {
                    detail.push(format!(
                        "switch+routers tagged @k8s in zones without Nodes: {}. An appliance placed there has no Node nearby",
                        idle_routers.join("; ")
                    ));
                    fix.push("remove the @k8s tag from routers of zones without Nodes, or tell them apart with k8s.usacloud.jp/router-selector".to_owned());
                }
                t(
                    "The cluster's zones need attention",
                    lines(detail),
                    fix.join("; "),
                )
            }
        }
    }

    pub(super) fn ja(&self) -> Text {
        match self {
            ZoneMessage::ZonesOk { per_zone } => t(
                "すべてのノードのサーバが設定したゾーンにあります",
                format!("ゾーンごとのノード数: {}", per_zone_list(per_zone)),
                "",
            ),
            ZoneMessage::ZoneProblems {
                configured,
                outside,
                unbridged,
                idle_routers,
            } => {
                let mut detail = Vec::new();
                let mut fix = Vec::new();
                if !outside.is_empty() {
                    detail.push(format!(
                        "設定していないゾーン (設定: {}) にサーバがあるノード: {}。コントローラはこれらを見つけられず、uninitialized の taint が残ります",
                        list(configured),
                        outside_list(outside)
                    ));
                    fix.push(format!(
                        "そのゾーンを SAKURACLOUD_ZONES に加えてください: SAKURACLOUD_ZONES={}",
                        wanted(configured, outside)
                    ));
                }
                if !unbridged.is_empty() {
                    detail.push(format!(
                        "クラスタのスイッチが複数のゾーンにありますが、ブリッジでつながっていません: {}。ロードバランサアプライアンスは自分のゾーンのノードにしか届きません",
                        unbridged.join("; ")
                    ));
                    fix.push("各ゾーンのスイッチを 1 つずつ同じブリッジに接続してください (コントロールパネルの「ブリッジ」、API では PUT switch/{id}/to/bridge/{bridgeID})。ブリッジ不要のエンハンスドロードバランサを使う方法もあります".to_owned());
                }
                if !idle_routers.is_empty() {
                    detail.push(format!(
                        "ノードのないゾーンに @k8s タグのスイッチ+ルータがあります: {}。そこに置かれたアプライアンスの近くにノードがありません",
                        idle_routers.join("; ")
                    ));
                    fix.push("ノードのないゾーンのルータから @k8s タグを外すか、k8s.usacloud.jp/router-selector で区別してください".to_owned());
                }
                t(
                    "クラスタのゾーン構成に確認が必要です",
                    lines(detail),
                    fix.join("。"),
                )
            }
        }
    }
}
