//! The service controller: gives `type: LoadBalancer` Services a cloud load balancer, keeps its
//! backends in step with the Nodes, and deletes it (then the finalizer) when the Service goes.
//!
//! It follows upstream `controllers/service`: Services are watched and queued only when a change
//! can matter (`needs_update`), the cleanup finalizer is added before any cloud call, status is
//! patched only when it changes, Node changes lead to `update` calls only for Services whose
//! Node set really changed, and failures back off per Service (5 s → 300 s) unless the provider
//! asks to be called again at a given time.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{LoadBalancerStatus, Node, Service};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::sync::Notify;

use super::follow::{Followed, follow};
use super::predicates::{
    LoadBalancerNodeSet, has_cleanup_finalizer, load_balancer_node, load_balancer_status_equal,
    needs_cleanup, needs_update, node_change_affects_load_balancers,
    node_eligible_for_load_balancers, wants_load_balancer,
};
use crate::events::{
    EventPublisher, REASON_DELETE_LOAD_BALANCER_FAILED, REASON_DELETED_LOAD_BALANCER,
    REASON_DELETING_LOAD_BALANCER, REASON_ENSURED_LOAD_BALANCER, REASON_ENSURING_LOAD_BALANCER,
    REASON_SYNC_LOAD_BALANCER_FAILED, REASON_UNAVAILABLE_LOAD_BALANCER,
    REASON_UPDATE_LOAD_BALANCER_FAILED, REASON_UPDATED_LOAD_BALANCER,
};
use crate::labels::FINALIZER_LB_CLEANUP;
use crate::metrics::{ControllerMetrics, ReconcileOutcome};
use crate::node::cache::{NodeCache, NodeEvent};
use crate::provider::{LoadBalancer, ProviderError, ProviderErrorKind};
use crate::queue::{Backoff, WorkQueue};
use kube::runtime::reflector::ObjectRef;

/// The controller's name in events, logs and metrics (upstream's).
pub const CONTROLLER_NAME: &str = "service-lb-controller";

/// Default [`ServiceControllerConfig::node_sync_settle`].
pub const DEFAULT_NODE_SYNC_SETTLE: Duration = Duration::from_secs(1);

/// Settings of the service controller.
#[derive(Debug, Clone)]
pub struct ServiceControllerConfig {
    /// `--cluster-name`, passed to the provider (default `kubernetes`).
    pub cluster_name: String,
    /// `--concurrent-service-syncs` (default 1).
    pub concurrency: usize,
    /// `--load-balancer-class`: also handle Services of exactly this class. Classless
    /// Services are always handled; other classes never.
    pub load_balancer_class: Option<String>,
    /// How often every handled Service is checked against the cloud even when nothing changed
    /// in Kubernetes, to repair drift (`None`: never, as upstream).
    pub resync_period: Option<Duration>,
    /// Per-Service backoff after failures (5 s → 300 s, as upstream).
    pub retry: Backoff,
    /// How long the node sync waits after a Node change before it runs, so that a burst of
    /// changes (an autoscaler adding and removing Nodes, many Nodes initialized at once) costs
    /// each load balancer one update instead of one per change (default 1 s).
    pub node_sync_settle: Duration,
}

impl Default for ServiceControllerConfig {
    fn default() -> Self {
        Self {
            cluster_name: "kubernetes".to_owned(),
            concurrency: 1,
            load_balancer_class: None,
            resync_period: Some(Duration::from_secs(600)),
            retry: Backoff {
                base: Duration::from_secs(5),
                max: Duration::from_secs(300),
            },
            node_sync_settle: DEFAULT_NODE_SYNC_SETTLE,
        }
    }
}

/// A Service's namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceKey {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ServiceKey {
    /// The key of `service`.
    pub fn of(service: &Service) -> Self {
        Self {
            namespace: service.namespace().unwrap_or_default(),
            name: service.name_any(),
        }
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Why syncing a Service failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceSyncError {
    /// The provider failed (or asked to be called again later).
    #[error("{0}")]
    Provider(#[from] ProviderError),
    /// The Kubernetes API failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// Kept conflicting with other writers.
    #[error("service {0} kept changing under us; giving up this attempt")]
    TooManyConflicts(String),
}

impl ServiceSyncError {
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Provider(ProviderError {
                kind: ProviderErrorKind::RetryAfter(d),
                ..
            }) => Some(*d),
            _ => None,
        }
    }

    /// The provider's error, if that is what failed.
    fn provider_error(&self) -> Option<&ProviderError> {
        match self {
            Self::Provider(e) => Some(e),
            _ => None,
        }
    }
}

/// Whether two recorded Node sets are equal; sets shared through `shared_node_set` compare by
/// pointer, so a node sync over many Services does not compare every set entry by entry.
fn same_node_set(a: &Arc<LoadBalancerNodeSet>, b: &Arc<LoadBalancerNodeSet>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// What the controller last did successfully for a Service.
struct Synced {
    service: Arc<Service>,
    /// Shared by every Service synced with the same Nodes (see `shared_node_set`).
    nodes: Arc<LoadBalancerNodeSet>,
}

/// The eligible Nodes at one generation of the Node cache, and their identity.
struct Eligible {
    /// The cache's own Nodes (shared, not copied).
    nodes: Vec<Arc<Node>>,
    set: Arc<LoadBalancerNodeSet>,
}

/// The watched Services as last seen (the Nodes are in the shared [`NodeCache`]).
#[derive(Default)]
struct Cache {
    services: HashMap<ServiceKey, Arc<Service>>,
}

/// The service controller.
pub struct ServiceController {
    client: Client,
    balancer: Arc<dyn LoadBalancer>,
    events: EventPublisher,
    config: ServiceControllerConfig,
    queue: WorkQueue<ServiceKey>,
    cache: Mutex<Cache>,
    /// The Nodes, shared with the node controllers (pruned as they arrive).
    node_cache: Arc<NodeCache>,
    /// Whether this controller built `node_cache` and so runs it.
    owns_node_cache: bool,
    /// Counts the Node cache's events: [`Eligible`] is valid for one count.
    node_generation: std::sync::atomic::AtomicU64,
    eligible: Mutex<Option<(u64, Arc<Eligible>)>>,
    synced: Mutex<HashMap<ServiceKey, Synced>>,
    /// The Node set most recently recorded: Services synced with equal sets share it, so
    /// memory does not grow with Services × Nodes.
    last_node_set: Mutex<Arc<LoadBalancerNodeSet>>,
    /// One async lock per Service, so a Node-triggered update and a Service sync never run
    /// for the same Service at once.
    service_locks: Mutex<HashMap<ServiceKey, Arc<tokio::sync::Mutex<()>>>>,
    nodes_changed: Notify,
    stopping: tokio::sync::watch::Sender<bool>,
    metrics: ControllerMetrics,
}

const CONFLICT_RETRIES: u32 = 10;

/// The Service as the controller keeps it: without `managedFields`, which nothing reads (every
/// write is a patch) and which `kubectl apply` and other managers make as large as the rest.
fn pruned(mut service: Service) -> Service {
    service.metadata.managed_fields = None;
    service
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded maps are updated by single calls; a panicking holder leaves them consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ServiceController {
    /// A controller using `client` for Kubernetes and `balancer` for the cloud.
    pub fn new(
        client: Client,
        balancer: Arc<dyn LoadBalancer>,
        config: ServiceControllerConfig,
    ) -> Self {
        Self {
            events: EventPublisher::new(client.clone(), CONTROLLER_NAME),
            balancer,
            queue: WorkQueue::new(config.retry),
            config,
            cache: Mutex::default(),
            node_cache: NodeCache::new(client.clone()),
            owns_node_cache: true,
            node_generation: std::sync::atomic::AtomicU64::new(0),
            eligible: Mutex::default(),
            client,
            synced: Mutex::default(),
            last_node_set: Mutex::default(),
            service_locks: Mutex::default(),
            nodes_changed: Notify::new(),
            stopping: tokio::sync::watch::Sender::new(false),
            metrics: ControllerMetrics::default(),
        }
    }

    /// Reports reconciles and queue depth to `metrics`.
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

    /// Publishes Events through `client` (one with a rate limit of its own, `--event-qps`).
    pub fn with_event_client(mut self, client: Client) -> Self {
        self.events = EventPublisher::new(client, CONTROLLER_NAME);
        self
    }

    fn enqueue(&self, key: ServiceKey) {
        self.queue.add(key);
        self.metrics
            .set_queue_depth(CONTROLLER_NAME, self.queue.len());
    }

    fn class(&self) -> Option<&str> {
        self.config.load_balancer_class.as_deref()
    }

    /// Services ready to be synced now.
    pub fn queue_depth(&self) -> usize {
        self.queue.len()
    }

    /// Runs until `shutdown` completes: watches Services and Nodes, and syncs with
    /// `concurrency` workers once both caches are filled. On shutdown the workers finish the
    /// Service they are on.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()> + Send) {
        let (services_ready_tx, services_ready) = tokio::sync::oneshot::channel();
        let (nodes_ready_tx, nodes_ready) = tokio::sync::oneshot::channel();
        // In a set, so that dropping this future (a caller that stops waiting) aborts them all.
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(self.clone().watch_services(services_ready_tx));
        tasks.spawn(self.clone().watch_nodes(nodes_ready_tx));
        if self.owns_node_cache {
            let mut stopping = self.stopping.subscribe();
            tasks.spawn(self.node_cache.clone().run(async move {
                let _ = stopping.wait_for(|s| *s).await;
            }));
        }

        let work = {
            let this = self.clone();
            async move {
                // Like upstream's WaitForCacheSync: no decision on a partial view of the world.
                if services_ready.await.is_err() || nodes_ready.await.is_err() {
                    return;
                }
                tracing::info!(
                    controller = CONTROLLER_NAME,
                    workers = this.config.concurrency,
                    "caches synced; starting workers"
                );
                let mut tasks = tokio::task::JoinSet::new();
                for _ in 0..this.config.concurrency.max(1) {
                    tasks.spawn(this.clone().worker());
                }
                tasks.spawn(this.clone().node_worker());
                if let Some(period) = this.config.resync_period {
                    tasks.spawn(this.clone().resync(period));
                }
                while tasks.join_next().await.is_some() {}
            }
        };
        tasks.spawn(work);
        shutdown.await;
        self.stopping.send_replace(true);
        self.queue.shut_down();
        // The watches end on `stopping`; workers once they finish their current Service.
        while tasks.join_next().await.is_some() {}
    }

    async fn watch_services(self: Arc<Self>, ready: tokio::sync::oneshot::Sender<()>) {
        let mut ready = Some(ready);
        let mut events = std::pin::pin!(follow(
            Api::<Service>::all(self.client.clone()),
            self.stopping.subscribe(),
        ));
        while let Some(event) = events.next().await {
            match event {
                Followed::Listed(listed) => {
                    let listed: HashMap<ServiceKey, Arc<Service>> = listed
                        .into_iter()
                        .map(|s| (ServiceKey::of(&s), Arc::new(pruned(s))))
                        .collect();
                    let gone: Vec<Arc<Service>> = lock(&self.cache)
                        .services
                        .iter()
                        .filter(|(k, _)| !listed.contains_key(k))
                        .map(|(_, s)| s.clone())
                        .collect();
                    for svc in gone {
                        self.service_deleted(&svc);
                    }
                    for (_, svc) in listed {
                        self.service_applied(svc);
                    }
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(());
                    }
                }
                Followed::Applied(svc) => self.service_applied(Arc::new(pruned(svc))),
                Followed::Deleted(svc) => self.service_deleted(&svc),
            }
        }
    }

    fn service_applied(&self, svc: Arc<Service>) {
        let key = ServiceKey::of(&svc);
        let old = lock(&self.cache).services.insert(key.clone(), svc.clone());
        let class = self.class();
        let wanted = match old {
            None => wants_load_balancer(&svc, class) || needs_cleanup(&svc, class),
            Some(old) => needs_update(&old, &svc, class) || needs_cleanup(&svc, class),
        };
        if wanted {
            self.enqueue(key);
        }
    }

    fn service_deleted(&self, svc: &Service) {
        let key = ServiceKey::of(svc);
        lock(&self.cache).services.remove(&key);
        // A Service we gave a load balancer vanished without passing through our finalizer
        // (someone removed it by hand): clean up from what we remember.
        if lock(&self.synced).contains_key(&key) {
            self.enqueue(key);
        }
    }

    /// Follows the shared Node cache: tells the node sync when a change can matter to a load
    /// balancer, and `ready` once the Nodes are listed.
    async fn watch_nodes(self: Arc<Self>, ready: tokio::sync::oneshot::Sender<()>) {
        let mut ready = Some(ready);
        let mut events = self.node_cache.subscribe();
        let mut stopping = self.stopping.subscribe();
        let store = self.node_cache.store();
        loop {
            let event = tokio::select! {
                biased;
                _ = stopping.wait_for(|s| *s) => return,
                event = events.recv() => event,
            };
            let Some(event) = event else { return };
            self.node_generation
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            let changed = match event {
                NodeEvent::Listed { previous } => {
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(());
                    }
                    previous.len() != store.len()
                        || previous.iter().any(|old| {
                            store
                                .get(&ObjectRef::from_obj(&**old))
                                .is_none_or(|new| node_change_affects_load_balancers(old, &new))
                        })
                }
                NodeEvent::Applied { old, new } => {
                    old.is_none_or(|old| node_change_affects_load_balancers(&old, &new))
                }
                NodeEvent::Deleted(_) => true,
            };
            if changed {
                self.nodes_changed.notify_one();
            }
        }
    }

    /// `set`, shared with the Services last recorded with an equal set.
    fn shared_node_set(&self, set: LoadBalancerNodeSet) -> Arc<LoadBalancerNodeSet> {
        let mut last = lock(&self.last_node_set);
        if **last != set {
            *last = Arc::new(set);
        }
        Arc::clone(&last)
    }

    /// The Nodes that may back load balancers and their identity, computed once per change
    /// of the Nodes and shared by every sync until the next (a resync of many Services must
    /// not copy every Node for each).
    fn eligible(&self) -> Arc<Eligible> {
        let generation = self
            .node_generation
            .load(std::sync::atomic::Ordering::Acquire);
        if let Some((g, e)) = lock(&self.eligible).as_ref()
            && *g == generation
        {
            return Arc::clone(e);
        }
        let nodes = self.eligible_nodes();
        let set = self.shared_node_set(nodes.iter().map(|n| load_balancer_node(n)).collect());
        let e = Arc::new(Eligible { nodes, set });
        // Computed from a store read after `generation` was taken: if the Nodes changed
        // meanwhile, the generation moved on and the next call computes again.
        *lock(&self.eligible) = Some((generation, Arc::clone(&e)));
        e
    }

    /// The Nodes that may back load balancers, sorted by name.
    fn eligible_nodes(&self) -> Vec<Arc<Node>> {
        let mut nodes: Vec<Arc<Node>> = self
            .node_cache
            .store()
            .state()
            .into_iter()
            .filter(|n| node_eligible_for_load_balancers(n))
            .collect();
        nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        nodes
    }

    fn service_lock(&self, key: &ServiceKey) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.service_locks)
            .entry(key.clone())
            .or_default()
            .clone()
    }

    async fn worker(self: Arc<Self>) {
        while let Some(key) = self.queue.get().await {
            self.metrics
                .set_queue_depth(CONTROLLER_NAME, self.queue.len());
            let started = std::time::Instant::now();
            let result = self.sync(&key).await;
            let outcome = match &result {
                Ok(()) => ReconcileOutcome::Success,
                Err(e) if e.retry_after().is_some() => ReconcileOutcome::RetryAfter,
                Err(_) => ReconcileOutcome::Error,
            };
            self.metrics
                .observe_reconcile(CONTROLLER_NAME, outcome, started.elapsed());
            match result {
                Ok(()) => self.queue.forget(&key),
                Err(error) => match error.retry_after() {
                    Some(delay) => {
                        tracing::info!(service = %key, %error, retry_in_s = delay.as_secs_f64(), "load balancer not ready yet");
                        self.queue.add_after(key.clone(), delay);
                    }
                    None => {
                        let delay = self.queue.add_rate_limited(key.clone());
                        tracing::warn!(service = %key, %error, retry_in_s = delay.as_secs(), "service sync failed");
                    }
                },
            }
            self.queue.done(&key);
        }
    }

    /// Syncs one Service: creates, updates or deletes its load balancer as its current state
    /// asks. Errors are also published as events on the Service.
    pub async fn sync(&self, key: &ServiceKey) -> Result<(), ServiceSyncError> {
        let service_lock = self.service_lock(key);
        let _guard = service_lock.lock().await;
        let current = lock(&self.cache).services.get(key).cloned();
        let Some(service) = current else {
            return self.sync_vanished(key).await;
        };
        let class = self.class();
        let (result, action) = if needs_cleanup(&service, class) {
            (
                self.delete_load_balancer(&service).await,
                "DeleteLoadBalancer",
            )
        } else if wants_load_balancer(&service, class) {
            (
                self.ensure_load_balancer(&service).await,
                "EnsureLoadBalancer",
            )
        } else {
            lock(&self.synced).remove(key);
            return Ok(());
        };
        if let Err(error) = &result {
            if error.retry_after().is_some() {
                let reason = if action == "DeleteLoadBalancer" {
                    REASON_DELETING_LOAD_BALANCER
                } else {
                    REASON_ENSURING_LOAD_BALANCER
                };
                self.events
                    .normal(service.as_ref(), reason, action, error.to_string())
                    .await;
            } else {
                self.events
                    .failure(
                        service.as_ref(),
                        REASON_SYNC_LOAD_BALANCER_FAILED,
                        action,
                        format!("Error syncing load balancer: {error}"),
                        error.provider_error(),
                    )
                    .await;
            }
        }
        result
    }

    async fn ensure_load_balancer(&self, service: &Arc<Service>) -> Result<(), ServiceSyncError> {
        let key = ServiceKey::of(service);
        // A periodic resync of a Service that is already in place is quiet: no Normal events
        // unless something changed.
        let quiet = lock(&self.synced).get(&key).is_some_and(|s| {
            !needs_update(&s.service, service, self.class()) && has_cleanup_finalizer(service)
        });
        if !quiet {
            self.events
                .normal(
                    service.as_ref(),
                    REASON_ENSURING_LOAD_BALANCER,
                    "EnsureLoadBalancer",
                    "Ensuring load balancer".to_owned(),
                )
                .await;
        }
        let service = self.add_finalizer(service).await?;
        let eligible = self.eligible();
        let nodes = &eligible.nodes;
        if nodes.is_empty() {
            self.events
                .warning(
                    &service,
                    REASON_UNAVAILABLE_LOAD_BALANCER,
                    "EnsureLoadBalancer",
                    "There are no available nodes for LoadBalancer".to_owned(),
                )
                .await;
        }
        let outcome = self
            .balancer
            .ensure(&self.config.cluster_name, &service, nodes)
            .await?;
        // On a quiet resync only warnings are repeated (they describe a problem that
        // persists), unless the provider changed something, which its Normal events report.
        let quiet_events = quiet && !outcome.changed;
        for event in outcome.events.iter().filter(|e| e.warning || !quiet_events) {
            self.events
                .provider_event(&service, "EnsureLoadBalancer", event)
                .await;
        }
        self.patch_status(&service, &outcome.status).await?;
        self.patch_annotations(&service, &outcome.annotations)
            .await?;
        if let Some(delay) = outcome.recheck_after {
            self.queue.add_after(key.clone(), delay);
        }
        if !quiet {
            self.events
                .normal(
                    &service,
                    REASON_ENSURED_LOAD_BALANCER,
                    "EnsureLoadBalancer",
                    "Ensured load balancer".to_owned(),
                )
                .await;
        }
        let synced_nodes = Arc::clone(&eligible.set);
        lock(&self.synced).insert(
            key,
            Synced {
                service: Arc::new(pruned(service)),
                nodes: Arc::clone(&synced_nodes),
            },
        );
        // Nodes that changed while the provider worked were not seen by the node sync (this
        // Service was not recorded yet): let it run now instead of at the next resync.
        if !same_node_set(&self.eligible().set, &synced_nodes) {
            self.nodes_changed.notify_one();
        }
        Ok(())
    }

    async fn delete_load_balancer(&self, service: &Arc<Service>) -> Result<(), ServiceSyncError> {
        let key = ServiceKey::of(service);
        self.delete_in_cloud(service).await?;
        if service.metadata.deletion_timestamp.is_none() {
            // The Service stays (its type changed): its status must not advertise a load
            // balancer that no longer exists.
            self.patch_status(service, &LoadBalancerStatus::default())
                .await?;
        }
        self.remove_finalizer(service).await?;
        lock(&self.synced).remove(&key);
        self.events
            .normal(
                service.as_ref(),
                REASON_DELETED_LOAD_BALANCER,
                "DeleteLoadBalancer",
                "Deleted load balancer".to_owned(),
            )
            .await;
        Ok(())
    }

    /// Deletes the cloud load balancer if the provider sees one.
    async fn delete_in_cloud(&self, service: &Service) -> Result<(), ServiceSyncError> {
        let cluster = &self.config.cluster_name;
        if self.balancer.get(cluster, service).await?.is_some() {
            self.events
                .normal(
                    service,
                    REASON_DELETING_LOAD_BALANCER,
                    "DeleteLoadBalancer",
                    "Deleting load balancer".to_owned(),
                )
                .await;
            self.balancer.ensure_deleted(cluster, service).await?;
        }
        Ok(())
    }

    /// The Service is gone from the API; if we had given it a load balancer, delete that
    /// from the Service as we last saw it (upstream `processServiceDeletion`).
    async fn sync_vanished(&self, key: &ServiceKey) -> Result<(), ServiceSyncError> {
        let remembered = lock(&self.synced).get(key).map(|s| s.service.clone());
        let Some(service) = remembered else {
            return Ok(());
        };
        match self.delete_in_cloud(&service).await {
            Ok(()) => {
                lock(&self.synced).remove(key);
                self.events
                    .normal(
                        service.as_ref(),
                        REASON_DELETED_LOAD_BALANCER,
                        "DeleteLoadBalancer",
                        "Deleted load balancer".to_owned(),
                    )
                    .await;
                Ok(())
            }
            Err(error) => {
                if error.retry_after().is_none() {
                    self.events
                        .failure(
                            service.as_ref(),
                            REASON_DELETE_LOAD_BALANCER_FAILED,
                            "DeleteLoadBalancer",
                            format!("Error deleting load balancer: {error}"),
                            error.provider_error(),
                        )
                        .await;
                }
                Err(error)
            }
        }
    }

    fn api(&self, service: &Service) -> Api<Service> {
        Api::namespaced(
            self.client.clone(),
            &service.namespace().unwrap_or_default(),
        )
    }

    /// Writes `finalizers` with the Service's resourceVersion as a precondition, re-reading
    /// on conflict; `edit` decides the list from the latest Service (`None`: nothing to do).
    async fn patch_finalizers(
        &self,
        service: &Service,
        edit: impl Fn(&Service) -> Option<Vec<String>>,
    ) -> Result<Option<Service>, ServiceSyncError> {
        let api = self.api(service);
        let name = service.name_any();
        let mut latest = service.clone();
        for _ in 0..CONFLICT_RETRIES {
            let Some(finalizers) = edit(&latest) else {
                return Ok(Some(latest));
            };
            let patch = json!({
                "metadata": {
                    "finalizers": finalizers,
                    "resourceVersion": latest.resource_version(),
                }
            });
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(written) => return Ok(Some(written)),
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    latest = api.get(&name).await?;
                }
                Err(kube::Error::Api(status)) if status.code == 404 => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceSyncError::TooManyConflicts(name))
    }

    async fn add_finalizer(&self, service: &Service) -> Result<Service, ServiceSyncError> {
        if has_cleanup_finalizer(service) {
            return Ok(service.clone());
        }
        let written = self
            .patch_finalizers(service, |s| {
                if has_cleanup_finalizer(s) {
                    return None;
                }
                let mut f = s.finalizers().to_vec();
                f.push(FINALIZER_LB_CLEANUP.to_owned());
                Some(f)
            })
            .await?;
        // 404: deleted meanwhile; the next event tells us what to do.
        written.ok_or_else(|| {
            ServiceSyncError::Provider(ProviderError::other("service deleted while syncing"))
        })
    }

    async fn remove_finalizer(&self, service: &Service) -> Result<(), ServiceSyncError> {
        self.patch_finalizers(service, |s| {
            if !has_cleanup_finalizer(s) {
                return None;
            }
            Some(
                s.finalizers()
                    .iter()
                    .filter(|f| *f != FINALIZER_LB_CLEANUP)
                    .cloned()
                    .collect(),
            )
        })
        .await
        .map(|_| ())
    }

    /// Patches `status.loadBalancer` to `status` unless it already says that.
    async fn patch_status(
        &self,
        service: &Service,
        status: &LoadBalancerStatus,
    ) -> Result<(), ServiceSyncError> {
        let current = service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.clone())
            .unwrap_or_default();
        if load_balancer_status_equal(&current, status) {
            return Ok(());
        }
        // `ingress: null` clears the list; a merge patch would otherwise keep the old one.
        let ingress = match status.ingress.as_deref() {
            Some(list) if !list.is_empty() => json!(list),
            _ => serde_json::Value::Null,
        };
        let patch = json!({ "status": { "loadBalancer": { "ingress": ingress } } });
        match self
            .api(service)
            .patch_status(
                &service.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Sets (or removes) the provider's annotations that differ on the Service.
    async fn patch_annotations(
        &self,
        service: &Service,
        wanted: &BTreeMap<String, Option<String>>,
    ) -> Result<(), ServiceSyncError> {
        let current = service.metadata.annotations.as_ref();
        let changes: serde_json::Map<String, serde_json::Value> = wanted
            .iter()
            .filter(|(k, v)| current.and_then(|c| c.get(*k)) != v.as_ref())
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        if changes.is_empty() {
            return Ok(());
        }
        let patch = json!({ "metadata": { "annotations": changes } });
        match self
            .api(service)
            .patch(
                &service.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn node_worker(self: Arc<Self>) {
        let mut stopping = self.stopping.subscribe();
        loop {
            tokio::select! {
                _ = self.nodes_changed.notified() => {}
                _ = stopping.wait_for(|s| *s) => return,
            }
            // Changes during the pause are folded into this sync (they also leave a permit
            // that triggers one more pass, which finds nothing stale).
            tokio::select! {
                () = tokio::time::sleep(self.config.node_sync_settle) => {}
                _ = stopping.wait_for(|s| *s) => return,
            }
            self.sync_nodes().await;
        }
    }

    /// Points every synced load balancer whose Node set changed at the current eligible
    /// Nodes (upstream `nodeSyncService`). Returns how many `update` calls were made.
    pub async fn sync_nodes(&self) -> usize {
        let eligible = self.eligible();
        let (nodes, set) = (&eligible.nodes, &eligible.set);
        let stale: Vec<ServiceKey> = lock(&self.synced)
            .iter()
            .filter(|(_, s)| !same_node_set(&s.nodes, set))
            .map(|(k, _)| k.clone())
            .collect();
        futures::stream::iter(stale)
            .map(|key| async move { self.update_nodes(&key, nodes, set).await })
            .buffer_unordered(self.config.concurrency.max(1))
            .filter(|updated| futures::future::ready(*updated))
            .count()
            .await
    }

    async fn update_nodes(
        &self,
        key: &ServiceKey,
        nodes: &[Arc<Node>],
        set: &Arc<LoadBalancerNodeSet>,
    ) -> bool {
        let service_lock = self.service_lock(key);
        let _guard = service_lock.lock().await;
        let current = lock(&self.cache).services.get(key).cloned();
        let still_stale = lock(&self.synced)
            .get(key)
            .is_some_and(|s| !same_node_set(&s.nodes, set));
        let Some(service) = current else {
            return false;
        };
        let class = self.class();
        if !still_stale || !wants_load_balancer(&service, class) || needs_cleanup(&service, class) {
            return false;
        }
        let cluster = &self.config.cluster_name;
        match self.balancer.update(cluster, &service, nodes).await {
            Ok(events) => {
                for event in &events {
                    self.events
                        .provider_event(service.as_ref(), "UpdateLoadBalancer", event)
                        .await;
                }
                if nodes.is_empty() {
                    self.events
                        .warning(
                            service.as_ref(),
                            REASON_UNAVAILABLE_LOAD_BALANCER,
                            "UpdateLoadBalancer",
                            "There are no available nodes for LoadBalancer".to_owned(),
                        )
                        .await;
                } else {
                    self.events
                        .normal(
                            service.as_ref(),
                            REASON_UPDATED_LOAD_BALANCER,
                            "UpdateLoadBalancer",
                            "Updated load balancer with new hosts".to_owned(),
                        )
                        .await;
                }
                if let Some(s) = lock(&self.synced).get_mut(key) {
                    s.nodes = Arc::clone(set);
                }
                true
            }
            Err(error) => {
                if let ProviderErrorKind::RetryAfter(delay) = error.kind {
                    // The Service sync brings the Node set along when it runs.
                    self.queue.add_after(key.clone(), delay);
                    return false;
                }
                // A load balancer that is gone is not an update failure: the Service sync
                // decides what to do.
                if matches!(self.balancer.get(cluster, &service).await, Ok(None)) {
                    self.enqueue(key.clone());
                    return false;
                }
                let names: Vec<&str> = nodes
                    .iter()
                    .filter_map(|n| n.metadata.name.as_deref())
                    .collect();
                self.events
                    .failure(
                        service.as_ref(),
                        REASON_UPDATE_LOAD_BALANCER_FAILED,
                        "UpdateLoadBalancer",
                        format!(
                            "Error updating load balancer with new hosts [{}]: {error}",
                            names.join(", ")
                        ),
                        Some(&error),
                    )
                    .await;
                self.queue.add_rate_limited(key.clone());
                false
            }
        }
    }

    async fn resync(self: Arc<Self>, period: Duration) {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut stopping = self.stopping.subscribe();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopping.wait_for(|s| *s) => return,
            }
            let class = self.class();
            let keys: Vec<ServiceKey> = lock(&self.cache)
                .services
                .iter()
                .filter(|(_, s)| wants_load_balancer(s, class) || needs_cleanup(s, class))
                .map(|(k, _)| k.clone())
                .collect();
            for key in keys {
                self.enqueue(key);
            }
        }
    }
}
