//! Could not start, the cluster, and the cloud account (`cluster.*`, `cloud.*`).

use super::*;

/// A verdict of this group; [`Message::Setup`] carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupMessage {
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
}

impl SetupMessage {
    pub(super) fn en(&self) -> Text {
        use SetupMessage::*;
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
            ZoneOk { zone, description } => {
                t(format!("Zone {zone} exists"), description.clone(), "")
            }
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
        }
    }

    pub(super) fn ja(&self) -> Text {
        use SetupMessage::*;
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
        }
    }
}
