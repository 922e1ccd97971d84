//! Nodes and their servers: matching, names, taints, kubelets, node IPs.

use super::*;

/// A verdict of this group; [`Message::Nodes`] carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeMessage {
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
}

impl NodeMessage {
    pub(super) fn en(&self) -> Text {
        use NodeMessage::*;
        match self {
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
        }
    }

    pub(super) fn ja(&self) -> Text {
        use NodeMessage::*;
        match self {
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
        }
    }
}
