//! The controller manager: turns the standard flags and a provider into running controllers,
//! behind leader election, with health and metrics served over HTTPS (upstream
//! `cloud-provider/app`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;

use crate::kube_client::{KubeClientError, build_client};
use crate::leader::{LeaderElectionConfig, LeaderElector, LeaderOutcome, LeaderStatus};
use crate::metrics::ControllerMetrics;
use crate::node::cache::NodeCache;
use crate::node::controller::{CloudNodeController, NodeControllerConfig};
use crate::node::lifecycle::NodeLifecycleController;
use crate::options::{CcmOptions, ControllerName};
use crate::provider::CloudProvider;
use crate::queue::Backoff;
use crate::service::controller::{ServiceController, ServiceControllerConfig};
use crate::serving::{Checks, RunningServer, ServingConfig, ServingError, check_fn, serve};

/// How long a leader may go without renewing before `/healthz` fails, beyond the lease
/// duration (upstream's leader-election watchdog uses 20 s).
pub const LEADER_HEALTH_TOLERANCE: Duration = Duration::from_secs(20);

/// Why the controller manager stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The flags do not make sense together; every problem is listed.
    #[error("invalid flags:\n  {}", .0.join("\n  "))]
    Options(Vec<String>),
    /// No Kubernetes client.
    #[error(transparent)]
    KubeClient(#[from] KubeClientError),
    /// Health and metrics could not be served.
    #[error("serving health and metrics: {0}")]
    Serving(#[from] ServingError),
    /// This replica led and lost the lease; it stops so it can never act next to a new leader.
    #[error("leader election lost")]
    LeaderElectionLost,
    /// The controllers stopped on their own while leading.
    #[error("controllers stopped unexpectedly")]
    ControllersStopped,
}

/// Logs, once at start, each flag the user gave that is accepted only so existing manifests
/// keep working (see `options::ignored_flags_given`).
pub fn log_ignored_flags(flags: &[&str]) {
    for flag in flags {
        tracing::info!(flag = %format!("--{flag}"), "flag accepted for compatibility and ignored");
    }
}

/// Everything the controller manager needs besides the provider, derived from the flags;
/// tests and embedders may adjust fields before [`App::start`].
pub struct App {
    /// The flags.
    pub options: CcmOptions,
    /// Health and metrics serving (from `--bind-address`, `--secure-port`, `--tls-*`).
    pub serving: ServingConfig,
    /// Leader election (from `--leader-elect-*`); `None` with `--leader-elect=false`.
    pub leader_election: Option<LeaderElectionConfig>,
    /// Extra time, beyond the lease duration, a leader may go without renewing before
    /// `/healthz` fails.
    pub leader_health_tolerance: Duration,
    /// Backoff of the service controller (upstream: 5 s to 300 s).
    pub service_retry: Backoff,
    /// A Kubernetes client to use instead of building one from `--kubeconfig`/`--master`.
    pub kube_client: Option<kube::Client>,
}

/// A started controller manager.
pub struct RunningApp {
    server: Option<RunningServer>,
    leader: Option<LeaderStatus>,
    task: tokio::task::JoinHandle<Result<(), AppError>>,
}

impl RunningApp {
    /// The address health and metrics are served on, if serving is enabled.
    pub fn serving_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(RunningServer::local_addr)
    }

    /// The self-signed CA certificate (PEM) of the serving certificate, when one was generated.
    pub fn serving_ca_pem(&self) -> Option<&str> {
        self.server
            .as_ref()
            .and_then(RunningServer::ca_certificate_pem)
    }

    /// This replica's leader-election state, when leader election is on.
    pub fn leader(&self) -> Option<&LeaderStatus> {
        self.leader.as_ref()
    }

    /// Waits until the controller manager stops (after `shutdown`, or on an error), then stops
    /// serving.
    pub async fn wait(self) -> Result<(), AppError> {
        let result = match self.task.await {
            Ok(result) => result,
            Err(join) => {
                tracing::error!(error = %join, "controller manager task failed");
                Err(AppError::ControllersStopped)
            }
        };
        if let Some(server) = self.server {
            server.shutdown().await;
        }
        result
    }
}

impl App {
    /// Derives the settings from validated flags; every problem is reported at once.
    pub fn from_options(options: CcmOptions) -> Result<Self, AppError> {
        options.validate().map_err(AppError::Options)?;
        let serving = ServingConfig {
            bind_address: options.bind_address,
            secure_port: ServingConfig::port_from_flag(options.secure_port),
            tls_cert_file: options.tls_cert_file.clone(),
            tls_private_key_file: options.tls_private_key_file.clone(),
        };
        let leader_election = options.leader_election_config();
        Ok(Self {
            options,
            serving,
            leader_election,
            leader_health_tolerance: LEADER_HEALTH_TOLERANCE,
            service_retry: ServiceControllerConfig::default().retry,
            kube_client: None,
        })
    }

    /// Connects to Kubernetes, starts serving, and runs the enabled controllers (behind leader
    /// election when on) until `shutdown` completes. `registry` may already hold the
    /// provider's metrics; the framework's are added.
    pub async fn start(
        self,
        provider: Arc<dyn CloudProvider>,
        mut registry: Registry,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<RunningApp, AppError> {
        let options = &self.options;
        // Events get a client (and so a rate limit) of their own, as the kubelet's
        // --event-qps: at upstream's --kube-api-qps 20, a Node's Synced event would otherwise
        // take a third of the budget its two writes need.
        let (client, event_client) = match self.kube_client.clone() {
            Some(client) => (client.clone(), client),
            None => (
                build_client(
                    options.kubeconfig.as_deref(),
                    options.master.as_deref(),
                    options.kube_api_qps,
                    options.kube_api_burst,
                )
                .await?,
                build_client(
                    options.kubeconfig.as_deref(),
                    options.master.as_deref(),
                    options.event_qps,
                    options.event_burst,
                )
                .await?,
            ),
        };
        let metrics = ControllerMetrics::register(&mut registry);
        let elector = match &self.leader_election {
            Some(config) => Some(
                LeaderElector::new(client.clone(), config.clone())
                    .map_err(|e| AppError::Options(vec![e.to_string()]))?,
            ),
            None => None,
        };
        let leader = elector.as_ref().map(LeaderElector::status);

        let mut checks = Checks::new();
        if let Some(status) = leader.clone() {
            let tolerance = self.leader_health_tolerance;
            checks =
                checks.with_health(check_fn("leaderElection", move || status.check(tolerance)));
        }
        let server = serve(&self.serving, checks, Arc::new(registry)).await?;

        provider.initialize(client.clone());
        let controllers = self.controllers(provider, client, event_client, metrics.clone())?;
        let task = match elector {
            None => tokio::spawn(async move {
                controllers.run(shutdown).await;
                Ok(())
            }),
            Some(elector) => {
                let lease = self
                    .leader_election
                    .as_ref()
                    .map(|c| c.lease_name.clone())
                    .unwrap_or_default();
                // A standby reports 0 rather than nothing.
                metrics.set_leader(&lease, false);
                tokio::spawn(async move {
                    // Leading is exactly the time `lead` runs, so the gauge is set around it.
                    let outcome = elector
                        .run(shutdown, move |stop| async move {
                            tracing::info!("became leader; starting controllers");
                            metrics.set_leader(&lease, true);
                            controllers.run(stop).await;
                            metrics.set_leader(&lease, false);
                        })
                        .await;
                    match outcome {
                        LeaderOutcome::NeverLed | LeaderOutcome::Released => Ok(()),
                        LeaderOutcome::Lost => Err(AppError::LeaderElectionLost),
                        LeaderOutcome::LeadReturned => Err(AppError::ControllersStopped),
                    }
                })
            }
        };
        Ok(RunningApp {
            server,
            leader,
            task,
        })
    }

    /// Builds the enabled controllers the provider supports, logging each decision.
    fn controllers(
        &self,
        provider: Arc<dyn CloudProvider>,
        client: kube::Client,
        event_client: kube::Client,
        metrics: ControllerMetrics,
    ) -> Result<Controllers, AppError> {
        let options = &self.options;
        let enabled = options
            .enabled_controllers()
            .map_err(|e| AppError::Options(vec![e]))?;
        let mut controllers = Controllers::default();
        // One watch on Nodes for every controller that reads them.
        let node_cache = NodeCache::new(client.clone());
        let instances = provider.instances_v2();
        for name in enabled {
            match (name, &instances) {
                (ControllerName::CloudNode, Some(instances)) => {
                    controllers.node = Some(Arc::new(
                        CloudNodeController::new(
                            client.clone(),
                            instances.clone(),
                            NodeControllerConfig {
                                status_update_frequency: options.node_status_update_frequency,
                                concurrency: u16::try_from(options.concurrent_node_syncs)
                                    .unwrap_or(u16::MAX),
                            },
                        )
                        .with_metrics(metrics.clone())
                        .with_node_cache(node_cache.clone())
                        .with_event_client(event_client.clone()),
                    ));
                    controllers.node_cache = Some(node_cache.clone());
                }
                (ControllerName::CloudNodeLifecycle, Some(instances)) => {
                    controllers.lifecycle = Some(Arc::new(
                        NodeLifecycleController::new(
                            client.clone(),
                            instances.clone(),
                            options.node_monitor_period,
                        )
                        .with_metrics(metrics.clone())
                        .with_node_cache(node_cache.clone())
                        .with_event_client(event_client.clone()),
                    ));
                    controllers.node_cache = Some(node_cache.clone());
                }
                (ControllerName::ServiceLb, _) => match provider.load_balancer() {
                    Some(balancer) => {
                        let resync = options.service_resync_period;
                        controllers.service = Some(Arc::new(
                            ServiceController::new(
                                client.clone(),
                                balancer,
                                ServiceControllerConfig {
                                    cluster_name: options.cluster_name.clone(),
                                    concurrency: usize::try_from(options.concurrent_service_syncs)
                                        .unwrap_or(1),
                                    load_balancer_class: options.load_balancer_class.clone(),
                                    resync_period: (!resync.is_zero()).then_some(resync),
                                    retry: self.service_retry,
                                    ..ServiceControllerConfig::default()
                                },
                            )
                            .with_metrics(metrics.clone())
                            .with_node_cache(node_cache.clone())
                            .with_event_client(event_client.clone()),
                        ));
                        controllers.node_cache = Some(node_cache.clone());
                    }
                    None => tracing::warn!(
                        controller = %name,
                        "the cloud provider has no load balancers; not starting"
                    ),
                },
                (ControllerName::NodeRoute, _) => {
                    if options.route_controller_wanted() {
                        tracing::warn!(
                            controller = %name,
                            "route controller requested, but this cloud-controller-manager has no route controller; not starting"
                        );
                    }
                }
                (_, None) => tracing::warn!(
                    controller = %name,
                    "the cloud provider has no instances interface; not starting"
                ),
            }
        }
        Ok(controllers)
    }
}

/// How long stopping controllers may finish what they are doing (a Service sync in the middle
/// of a cloud call) before it is abandoned.
pub const CONTROLLERS_STOP_GRACE: Duration = Duration::from_secs(1);

/// The controllers that run while leading.
#[derive(Default)]
struct Controllers {
    /// The Node cache the controllers share, when one of them reads Nodes.
    node_cache: Option<Arc<NodeCache>>,
    node: Option<Arc<CloudNodeController>>,
    lifecycle: Option<Arc<NodeLifecycleController>>,
    service: Option<Arc<ServiceController>>,
}

impl Controllers {
    /// Runs every controller until `stop` completes, then waits for each to finish.
    async fn run(self, stop: impl Future<Output = ()> + Send + 'static) {
        let (stop_tx, _) = tokio::sync::watch::channel(false);
        let stopped = |tx: &tokio::sync::watch::Sender<bool>| {
            let mut rx = tx.subscribe();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let mut tasks = tokio::task::JoinSet::new();
        if let Some(cache) = self.node_cache {
            tasks.spawn(cache.run(stopped(&stop_tx)));
        }
        if let Some(node) = self.node {
            tracing::info!(controller = "cloud-node-controller", "starting");
            tasks.spawn(node.run(stopped(&stop_tx)));
        }
        if let Some(lifecycle) = self.lifecycle {
            tracing::info!(controller = "cloud-node-lifecycle-controller", "starting");
            let stop = stopped(&stop_tx);
            tasks.spawn(async move { lifecycle.run(stop).await });
        }
        if let Some(service) = self.service {
            tracing::info!(controller = "service-lb-controller", "starting");
            tasks.spawn(service.run(stopped(&stop_tx)));
        }
        stop.await;
        stop_tx.send_replace(true);
        let drained = tokio::time::timeout(CONTROLLERS_STOP_GRACE, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            // Every cloud write is found again by name and tags on the next start, so an
            // abandoned call costs nothing but its retry; a slow cloud must not keep a pod from
            // stopping (or a lease from being released).
            tracing::warn!(
                grace = ?CONTROLLERS_STOP_GRACE,
                "controllers still busy after the stop grace period; abandoning their work"
            );
            tasks.shutdown().await;
        }
        tracing::info!("controllers stopped");
    }
}
