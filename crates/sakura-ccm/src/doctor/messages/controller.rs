//! The controller itself: its workload, toleration, leader Lease and RBAC.

use super::*;

/// A verdict of this group; [`Message::Controller`] carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControllerMessage {
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
}

impl ControllerMessage {
    pub(super) fn en(&self) -> Text {
        use ControllerMessage::*;
        match self {
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
            TolerationOk { workload: w } => {
                t(format!("{} tolerates {UNINIT}", workload(w)), "", "")
            }
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
                format!(
                    "{} runs with --leader-elect=false: run one replica only",
                    workload(w)
                ),
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
            RbacUnknown { why } => t("The controller's RBAC cannot be checked", why.clone(), ""),
        }
    }

    pub(super) fn ja(&self) -> Text {
        use ControllerMessage::*;
        match self {
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
                format!(
                    "コントローラの {} に Ready のレプリカがありません",
                    workload(w)
                ),
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
                format!(
                    "{} は --leader-elect=false で動いています。レプリカは1つにしてください",
                    workload(w)
                ),
                "",
            ),
            LeaseUnreadable { error } => t(
                "リーダー Lease を読めません",
                error.clone(),
                "Lease を読めるユーザで doctor を実行してください",
            ),
            RbacOk { service_account } => t(
                format!(
                    "ServiceAccount {service_account} はコントローラに必要な権限を持っています"
                ),
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
        }
    }
}
