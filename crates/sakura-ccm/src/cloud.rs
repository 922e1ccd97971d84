//! The SAKURA Cloud provider as the framework sees it, and the checks made once at start.

use std::sync::Arc;

use cloud_provider::provider::{CloudProvider, InstancesV2, LoadBalancer, Routes};
use sacloud::{AuthStatus, Client};

use crate::config::{ENV_DISABLE_LOAD_BALANCER, ProviderConfig};
use crate::provider::cloud_instances::SakuraInstances;
use crate::provider::instances::PROVIDER_NAME;
use crate::provider::load_balancers::SakuraLoadBalancers;
use crate::provider::servers::{DEFAULT_MAX_AGE, ServerListing};

/// Instances (servers) and, unless disabled, load balancers (appliances) of the configured
/// zones. No
/// routes: SAKURA's switches need none for Pod networks run by a CNI overlay.
#[derive(Debug)]
pub struct SakuraCloud {
    instances: Arc<SakuraInstances>,
    load_balancers: Option<Arc<SakuraLoadBalancers>>,
}

impl SakuraCloud {
    /// The provider for `config`, talking through `client`.
    pub fn new(client: Client, config: &ProviderConfig) -> Self {
        // One listing of the servers for the node controllers and the load balancers.
        let servers = Arc::new(ServerListing::new(
            client.clone(),
            &config.zones,
            DEFAULT_MAX_AGE,
        ));
        Self::from_parts(
            SakuraInstances::new(client.clone())
                .with_zones(&config.zones)
                .with_server_listing(servers.clone()),
            (!config.disable_load_balancer).then(|| {
                SakuraLoadBalancers::new(client, config.cluster_id.clone())
                    .with_zones(&config.zones)
                    .with_defaults(config.load_balancer_defaults.clone())
                    .with_server_listing(servers)
            }),
        )
    }

    /// The provider from already configured parts (tests tune their cache ages and poll
    /// intervals).
    pub fn from_parts(
        instances: SakuraInstances,
        load_balancers: Option<SakuraLoadBalancers>,
    ) -> Self {
        Self {
            instances: Arc::new(instances),
            load_balancers: load_balancers.map(Arc::new),
        }
    }
}

impl CloudProvider for SakuraCloud {
    fn provider_name(&self) -> &str {
        PROVIDER_NAME
    }

    fn initialize(&self, client: kube::Client) {
        if let Some(load_balancers) = &self.load_balancers {
            load_balancers.set_kube_client(client);
        }
    }

    fn instances_v2(&self) -> Option<Arc<dyn InstancesV2>> {
        Some(self.instances.clone())
    }

    fn load_balancer(&self) -> Option<Arc<dyn LoadBalancer>> {
        self.load_balancers
            .clone()
            .map(|lb| lb as Arc<dyn LoadBalancer>)
    }

    fn routes(&self) -> Option<Arc<dyn Routes>> {
        None
    }
}

/// Why the controller cannot start with the cloud it was given.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// `--cloud-provider` names another cloud.
    #[error(
        "--cloud-provider={0:?}: this binary is the {PROVIDER_NAME} provider; use --cloud-provider={PROVIDER_NAME}"
    )]
    WrongProvider(String),
    /// The API refused the credentials.
    #[error(
        "SAKURA Cloud refused the credentials ({0}); check SAKURACLOUD_ACCESS_TOKEN and SAKURACLOUD_ACCESS_TOKEN_SECRET (or their _FILE / --cloud-config forms): the token and secret of an API key of the project that owns the servers"
    )]
    Unauthorized(String),
    /// The API could not be asked.
    #[error("cannot check the credentials at {url}: {error}")]
    Unreachable {
        /// Where the client went.
        url: String,
        /// What went wrong.
        error: String,
    },
    /// The key may not create and delete, and load balancers are on.
    #[error(
        "the API key's permission is {0:?}, but managing load balancers needs \"create\"; give the key the create permission, or set {ENV_DISABLE_LOAD_BALANCER}=true to run without load balancers"
    )]
    PermissionTooLow(String),
}

/// Checks `--cloud-provider`: `sakuracloud`, or empty (this binary has no other provider).
pub fn check_provider_name(name: &str) -> Result<(), StartupError> {
    if name.is_empty() || name == PROVIDER_NAME {
        Ok(())
    } else {
        Err(StartupError::WrongProvider(name.to_owned()))
    }
}

/// Asks `auth-status` once, so wrong credentials stop the start with a clear message instead of
/// failing every sync later.
pub async fn check_credentials(
    client: &Client,
    config: &ProviderConfig,
) -> Result<AuthStatus, StartupError> {
    let status = client.auth_status().await.map_err(|e| match e.status() {
        Some(401 | 403) => StartupError::Unauthorized(e.to_string()),
        _ => StartupError::Unreachable {
            url: client.base_url().to_owned(),
            error: e.to_string(),
        },
    })?;
    // Only the levels known to be too low stop the start: an unknown level may be a higher
    // one this code has not heard of, and the first create would tell anyway.
    if !config.disable_load_balancer && matches!(status.permission.as_str(), "view" | "arrange") {
        return Err(StartupError::PermissionTooLow(status.permission.clone()));
    }
    if !status.can_create() {
        tracing::warn!(
            permission = %status.permission,
            "the API key's permission is not \"create\"; creating load balancers may fail"
        );
    }
    Ok(status)
}
