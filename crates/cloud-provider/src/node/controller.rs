//! The cloud node controller: initializes Nodes the kubelet registered with
//! `--cloud-provider=external`, and keeps every Node's addresses true to the cloud.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, ReconcileRequest, applier};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use serde_json::json;

use super::addresses::{AddressError, addresses_differ, desired_node_addresses};
use super::cache::{NodeCache, NodeEvent};
use super::init::{initialized_node, is_uninitialized};
use super::patch::node_patch;
use crate::events::{EventPublisher, REASON_SYNC_NODE_FAILED, REASON_SYNCED};
use crate::labels::ANNOTATION_PROVIDED_NODE_IP;
use crate::metrics::{ControllerMetrics, ReconcileOutcome};
use crate::provider::{InstanceMetadata, InstancesV2, ProviderError, ProviderErrorKind};

/// Settings of the cloud node controller.
#[derive(Debug, Clone)]
pub struct NodeControllerConfig {
    /// How often every Node's addresses are compared with the cloud's
    /// (`--node-status-update-frequency`, default 5 minutes).
    pub status_update_frequency: Duration,
    /// How many Nodes are initialized at once (`--concurrent-node-syncs`, default 1).
    pub concurrency: u16,
}

impl Default for NodeControllerConfig {
    fn default() -> Self {
        Self {
            status_update_frequency: Duration::from_secs(300),
            concurrency: 1,
        }
    }
}

/// Why a Node could not be initialized.
#[derive(Debug, thiserror::Error)]
pub enum NodeSyncError {
    /// The provider failed.
    #[error("cloud provider: {0}")]
    Provider(#[from] ProviderError),
    /// The cloud's addresses do not fit the kubelet's `--node-ip`.
    #[error(transparent)]
    Addresses(#[from] AddressError),
    /// The Kubernetes API failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// Kept conflicting with other writers.
    #[error("node {0} kept changing under us; giving up this attempt")]
    TooManyConflicts(String),
}

/// The cloud node controller.
pub struct CloudNodeController {
    nodes: Api<Node>,
    instances: Arc<dyn InstancesV2>,
    events: EventPublisher,
    config: NodeControllerConfig,
    failures: Mutex<HashMap<String, u32>>,
    metrics: ControllerMetrics,
    /// The Nodes, possibly shared with the other controllers (pruned as they arrive).
    node_cache: Arc<NodeCache>,
    /// Whether this controller built `node_cache` and so runs it.
    owns_node_cache: bool,
}

/// The controller's name in events, logs and metrics (upstream's).
pub const CONTROLLER_NAME: &str = "cloud-node-controller";

/// Per-Node backoff after failures: 1 s doubling to 5 minutes.
fn backoff(failures: u32) -> Duration {
    let secs = 1u64 << failures.min(9);
    Duration::from_secs(secs.min(300))
}

const CONFLICT_RETRIES: u32 = 20;

impl CloudNodeController {
    /// A controller using `client` for the Kubernetes API and `instances` for the cloud.
    pub fn new(
        client: Client,
        instances: Arc<dyn InstancesV2>,
        config: NodeControllerConfig,
    ) -> Self {
        Self {
            nodes: Api::all(client.clone()),
            node_cache: NodeCache::new(client.clone()),
            owns_node_cache: true,
            events: EventPublisher::new(client, CONTROLLER_NAME),
            instances,
            config,
            failures: Mutex::default(),
            metrics: ControllerMetrics::default(),
        }
    }

    /// Reports reconciles and initialization delays to `metrics`.
    pub fn with_metrics(mut self, metrics: ControllerMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Reads Nodes from `cache`, shared with other controllers, instead of its own; whoever
    /// built the cache runs it.
    pub fn with_node_cache(mut self, cache: Arc<NodeCache>) -> Self {
        self.node_cache = cache;
        self.owns_node_cache = false;
        self
    }

    /// Publishes Events through `client` (one with a rate limit of its own, `--event-qps`),
    /// so that they do not take turns with the Node writes.
    pub fn with_event_client(mut self, client: Client) -> Self {
        self.events = EventPublisher::new(client, CONTROLLER_NAME);
        self
    }

    /// Runs until `shutdown` completes: follows the Node cache and initializes tainted Nodes;
    /// every `status_update_frequency` re-syncs all Nodes' addresses with one batched provider
    /// call.
    pub async fn run(
        self: Arc<Self>,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let store = self.node_cache.store();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let feed = {
            let cache = self.node_cache.clone();
            let owned = self.owns_node_cache;
            let stop = stopped(stop_rx.clone());
            async move {
                if owned {
                    cache.run(stop).await;
                }
            }
        };
        let signal = async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        };
        // Every listed and every changed Node is looked at (as kube-runtime's controller
        // would); the queue ends on shutdown, and the applier then lets running syncs finish.
        let queue = reconcile_requests(self.node_cache.subscribe(), store.clone())
            .take_until(stopped(stop_rx.clone()))
            .map(Ok::<_, std::convert::Infallible>);
        let runner = applier(
            |node, ctx: Arc<Self>| {
                Box::pin(async move {
                    let started = std::time::Instant::now();
                    let result = ctx.reconcile(&node).await;
                    let outcome = match &result {
                        Ok(_) => ReconcileOutcome::Success,
                        Err(NodeSyncError::Provider(ProviderError {
                            kind: ProviderErrorKind::RetryAfter(_),
                            ..
                        })) => ReconcileOutcome::RetryAfter,
                        Err(_) => ReconcileOutcome::Error,
                    };
                    ctx.metrics
                        .observe_reconcile(CONTROLLER_NAME, outcome, started.elapsed());
                    result
                })
            },
            |node, error, ctx: Arc<Self>| ctx.error_policy(&node, error),
            self.clone(),
            store.clone(),
            queue,
            kube::runtime::controller::Config::default().concurrency(self.config.concurrency),
        )
        .for_each(|_| async {});
        let periodic = {
            let this = self.clone();
            let mut stop_rx = stop_rx.clone();
            async move {
                let mut tick = tokio::time::interval(this.config.status_update_frequency);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick.tick().await;
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = stop_rx.wait_for(|s| *s) => return,
                    }
                    // The cache's own Nodes, shared: a period copies none of them.
                    this.sync_addresses(&store.state()).await;
                }
            }
        };
        tokio::join!(signal, feed, runner, periodic);
    }

    fn error_policy(&self, node: &Node, error: &NodeSyncError) -> Action {
        let name = node.name_any();
        let failures = {
            let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            let n = map.entry(name.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let delay = match error {
            NodeSyncError::Provider(ProviderError {
                kind: ProviderErrorKind::RetryAfter(d),
                ..
            }) => *d,
            _ => backoff(failures - 1),
        };
        tracing::warn!(node = %name, %error, retry_in_s = delay.as_secs(), "node sync failed");
        Action::requeue(delay)
    }

    /// Initializes one Node if it carries the `uninitialized` taint.
    pub async fn reconcile(&self, node: &Node) -> Result<Action, NodeSyncError> {
        if is_uninitialized(node)
            && let Err(error) = self.initialize(node).await
        {
            let provider_error = match &error {
                NodeSyncError::Provider(e) => Some(e),
                _ => None,
            };
            self.events
                .failure(
                    node,
                    REASON_SYNC_NODE_FAILED,
                    "InitializeNode",
                    format!("Failed to initialize node: {error}"),
                    provider_error,
                )
                .await;
            return Err(error);
        }
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&node.name_any());
        Ok(Action::await_change())
    }

    async fn initialize(&self, node: &Node) -> Result<(), NodeSyncError> {
        let name = node.name_any();
        let meta = self.instances.instance_metadata(node).await?;
        let addresses = desired_addresses(node, &meta)?;

        let mut written: Option<Node> = None;
        for attempt in 0..CONFLICT_RETRIES {
            let latest = if attempt == 0 {
                node.clone()
            } else {
                self.nodes.get(&name).await?
            };
            if !is_uninitialized(&latest) {
                // Someone else (another replica, a human) finished it.
                return Ok(());
            }
            let updated = initialized_node(&latest, &meta);
            // The taint is there, so there is always something to write.
            let Some(patch) = node_patch(&latest, &updated) else {
                return Ok(());
            };
            match self
                .nodes
                .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                .await
            {
                Ok(n) => {
                    written = Some(n);
                    break;
                }
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let Some(written) = written else {
            return Err(NodeSyncError::TooManyConflicts(name));
        };
        if let Some(addresses) = addresses {
            self.patch_addresses(&written, &addresses).await?;
        }
        if let Some(created) = written.metadata.creation_timestamp.as_ref() {
            let since = k8s_openapi::jiff::Timestamp::now().duration_since(created.0);
            if let Ok(delay) = Duration::try_from(since) {
                self.metrics.observe_node_initialization(delay);
            }
        }
        for event in &meta.events {
            self.events
                .provider_event(&written, "InitializeNode", event)
                .await;
        }
        self.events
            .normal(
                &written,
                REASON_SYNCED,
                "InitializeNode",
                "Node synced successfully".to_owned(),
            )
            .await;
        Ok(())
    }

    /// Writes `addresses` to the Node's status if they differ from its current ones; returns
    /// whether it wrote.
    async fn patch_addresses(
        &self,
        node: &Node,
        addresses: &[k8s_openapi::api::core::v1::NodeAddress],
    ) -> Result<bool, kube::Error> {
        let current = node
            .status
            .as_ref()
            .and_then(|s| s.addresses.as_deref())
            .unwrap_or_default();
        if !addresses_differ(current, addresses) {
            return Ok(false);
        }
        self.nodes
            .patch_status(
                &node.name_any(),
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": { "addresses": addresses } })),
            )
            .await
            .map(|_| true)
    }

    /// Compares every initialized Node's addresses with the cloud's (one batched provider call)
    /// and patches those that differ. Returns how many Nodes were patched. Failures are logged
    /// per Node and do not stop the others.
    pub async fn sync_addresses(&self, nodes: &[Arc<Node>]) -> usize {
        let initialized: Vec<Arc<Node>> = nodes
            .iter()
            .filter(|n| !is_uninitialized(n))
            .cloned()
            .collect();
        if initialized.is_empty() {
            return 0;
        }
        let results = self.instances.instance_metadata_batch(&initialized).await;
        let mut patched = 0;
        for (node, result) in initialized.iter().zip(results) {
            let name = node.name_any();
            let desired = match result
                .map_err(NodeSyncError::from)
                .and_then(|meta| desired_addresses(node, &meta).map_err(NodeSyncError::from))
            {
                Ok(Some(addresses)) => addresses,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(node = %name, %error, "could not sync node addresses");
                    continue;
                }
            };
            match self.patch_addresses(node, &desired).await {
                Ok(true) => patched += 1,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(node = %name, %error, "could not patch node addresses")
                }
            }
        }
        patched
    }
}

/// The Nodes to look at for each cache event: every Node after a (re)list, the changed one
/// after a change; nothing for a deletion (there is nothing left to initialize).
fn reconcile_requests(
    events: tokio::sync::mpsc::UnboundedReceiver<NodeEvent>,
    store: Store<Node>,
) -> impl futures::Stream<Item = ReconcileRequest<Node>> + Send {
    futures::stream::unfold(events, |mut events| async move {
        events.recv().await.map(|event| (event, events))
    })
    .flat_map(move |event| {
        let refs: Vec<ReconcileRequest<Node>> = match event {
            NodeEvent::Listed { .. } => store
                .state()
                .iter()
                .map(|n| ObjectRef::from_obj(&**n).into())
                .collect(),
            NodeEvent::Applied { new, .. } => vec![ObjectRef::from_obj(&*new).into()],
            NodeEvent::Deleted(_) => Vec::new(),
        };
        futures::stream::iter(refs)
    })
}

fn desired_addresses(
    node: &Node,
    meta: &InstanceMetadata,
) -> Result<Option<Vec<k8s_openapi::api::core::v1::NodeAddress>>, AddressError> {
    let existing = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_deref())
        .unwrap_or_default();
    let provided = node
        .annotations()
        .get(ANNOTATION_PROVIDED_NODE_IP)
        .map(String::as_str);
    desired_node_addresses(&meta.node_addresses, existing, provided)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_five_minutes() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(9), Duration::from_secs(300));
        assert_eq!(backoff(40), Duration::from_secs(300));
    }
}
