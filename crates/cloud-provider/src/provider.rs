//! The provider interface: what a cloud must answer for the controllers.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use std::sync::Arc;

use k8s_openapi::api::core::v1::{LoadBalancerStatus, Node, NodeAddress, Service};

/// A boxed future, so provider traits can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Instances (servers) behind Nodes, as the node and node-lifecycle controllers need them.
///
/// Lookups for many Nodes usually come in bursts (a cluster starting, the periodic address
/// sync); providers should answer them from one cloud listing rather than one call per Node,
/// and may override [`InstancesV2::instance_metadata_batch`] to do so explicitly.
pub trait InstancesV2: Send + Sync {
    /// Whether the instance behind the Node exists. `Ok(false)` only when the cloud says so
    /// definitively: the lifecycle controller deletes the Node on it. Any doubt is an error.
    fn instance_exists<'a>(&'a self, node: &'a Node) -> BoxFuture<'a, Result<bool, ProviderError>>;

    /// Whether the instance is shut down (it exists but is not running).
    fn instance_shutdown<'a>(
        &'a self,
        node: &'a Node,
    ) -> BoxFuture<'a, Result<bool, ProviderError>>;

    /// What the cloud knows about the Node's instance.
    fn instance_metadata<'a>(
        &'a self,
        node: &'a Node,
    ) -> BoxFuture<'a, Result<InstanceMetadata, ProviderError>>;

    /// Metadata for many Nodes at once, in the same order. The default asks one Node at a time;
    /// providers with a listing API should answer from one listing. The Nodes are the shared
    /// cache's own (`Arc`s), so a batch over every Node copies none of them.
    fn instance_metadata_batch<'a>(
        &'a self,
        nodes: &'a [Arc<Node>],
    ) -> BoxFuture<'a, Vec<Result<InstanceMetadata, ProviderError>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(nodes.len());
            for node in nodes {
                out.push(self.instance_metadata(node).await);
            }
            out
        })
    }
}

/// A cloud provider: its name and the interfaces it implements. A provider that does not
/// implement an interface returns `None`, and the controllers needing it do not start.
pub trait CloudProvider: Send + Sync {
    /// The name given to `--cloud-provider` (e.g. `sakuracloud`).
    fn provider_name(&self) -> &str;
    /// Called once before the controllers start, with the Kubernetes client they use
    /// (upstream `Initialize`), for providers that read objects of their own (e.g. a
    /// certificate Secret). The default does nothing.
    fn initialize(&self, client: kube::Client) {
        let _ = client;
    }
    /// Instances, for the cloud node and node lifecycle controllers.
    fn instances_v2(&self) -> Option<Arc<dyn InstancesV2>>;
    /// Load balancers, for the service controller.
    fn load_balancer(&self) -> Option<Arc<dyn LoadBalancer>>;
    /// Routes, for the route controller.
    fn routes(&self) -> Option<Arc<dyn Routes>>;
}

/// Load balancers for `type: LoadBalancer` Services (upstream `cloudprovider.LoadBalancer`).
///
/// The service controller passes the Service as it is in the API; implementations must not
/// rely on `service.status` to find their load balancer (upstream issue 85155): name and
/// ownership come from the Service's identity (namespace, name, UID).
pub trait LoadBalancer: Send + Sync {
    /// The load balancer's status if it exists, `None` if it does not.
    fn get<'a>(
        &'a self,
        cluster_name: &'a str,
        service: &'a Service,
    ) -> BoxFuture<'a, Result<Option<LoadBalancerStatus>, ProviderError>>;

    /// The name the load balancer for this Service has (or would have) in the cloud.
    fn name(&self, cluster_name: &str, service: &Service) -> String;

    /// Creates or updates the load balancer so it serves `service` through `nodes` (already
    /// filtered by the upstream node predicates, sorted by name; the shared cache's own `Arc`s,
    /// so a sync copies no Node). Idempotent. Returns the
    /// status to publish. An unfinished cloud operation (an appliance still booting) is a
    /// [`ProviderErrorKind::RetryAfter`] error, never a wait inside the call.
    fn ensure<'a>(
        &'a self,
        cluster_name: &'a str,
        service: &'a Service,
        nodes: &'a [Arc<Node>],
    ) -> BoxFuture<'a, Result<LoadBalancerOutcome, ProviderError>>;

    /// Points an existing load balancer at a new set of `nodes`; called only when the set
    /// changed. Returns events to publish on the Service.
    fn update<'a>(
        &'a self,
        cluster_name: &'a str,
        service: &'a Service,
        nodes: &'a [Arc<Node>],
    ) -> BoxFuture<'a, Result<Vec<ProviderEvent>, ProviderError>>;

    /// Deletes the load balancer if it exists; `Ok` also when there was nothing to delete.
    /// The finalizer is removed only after this returns `Ok`.
    fn ensure_deleted<'a>(
        &'a self,
        cluster_name: &'a str,
        service: &'a Service,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;
}

/// What [`LoadBalancer::ensure`] achieved.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadBalancerOutcome {
    /// The status to write to the Service (`status.loadBalancer`).
    pub status: LoadBalancerStatus,
    /// Events to publish on the Service (e.g. Nodes that had to be left out, and why). On a
    /// periodic resync of an unchanged Service only the Warnings are published, unless
    /// `changed` is set.
    pub events: Vec<ProviderEvent>,
    /// The provider changed something in the cloud in this call (its Normal events say what):
    /// they are published even on a quiet resync.
    pub changed: bool,
    /// Annotations the provider keeps on the Service (what users need to know about the load
    /// balancer, such as the networks it connects from): a value sets one, `None` removes it.
    /// The controller patches only those that differ.
    pub annotations: std::collections::BTreeMap<String, Option<String>>,
    /// Look at this Service again after this long even if nothing changes (something the
    /// cloud does on its own is under way, such as issuing a certificate).
    pub recheck_after: Option<std::time::Duration>,
}

/// An event a provider wants published on the object it was asked about. Providers do not
/// talk to Kubernetes; the controllers publish these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    /// Warning (something the operator should fix) or Normal.
    pub warning: bool,
    /// The event reason, `UpperCamelCase`.
    pub reason: String,
    /// The message shown by `kubectl describe`.
    pub message: String,
}

impl ProviderEvent {
    /// A Normal event.
    pub fn normal(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            warning: false,
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// A Warning event.
    pub fn warning(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            warning: true,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// A route in the cloud: traffic for `destination_cidr` goes to the instance behind `node_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Provider-chosen name.
    pub name: String,
    /// The Node the route points at.
    pub node_name: String,
    /// The Pod CIDR routed to it.
    pub destination_cidr: String,
}

/// Cloud routes for Pod CIDRs (upstream `cloudprovider.Routes`). Optional: providers whose
/// network needs no routes return `None` from [`CloudProvider::routes`].
pub trait Routes: Send + Sync {
    /// The routes of this cluster.
    fn list_routes<'a>(
        &'a self,
        cluster_name: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Route>, ProviderError>>;
    /// Creates `route`.
    fn create_route<'a>(
        &'a self,
        cluster_name: &'a str,
        route: &'a Route,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;
    /// Deletes `route`.
    fn delete_route<'a>(
        &'a self,
        cluster_name: &'a str,
        route: &'a Route,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;
}

/// What the cloud knows about the instance behind a Node.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstanceMetadata {
    /// `<provider>://<id>`; set on the Node only if it has none.
    pub provider_id: String,
    /// Value for `node.kubernetes.io/instance-type`; empty for none.
    pub instance_type: String,
    /// The instance's addresses, in the order clients should prefer them.
    pub node_addresses: Vec<NodeAddress>,
    /// Value for `topology.kubernetes.io/zone`; empty for none.
    pub zone: String,
    /// Value for `topology.kubernetes.io/region`; empty for none.
    pub region: String,
    /// Further labels; those in Kubernetes' own namespaces are dropped, and none overrides an
    /// existing label.
    pub additional_labels: BTreeMap<String, String>,
    /// Events to publish on the Node when it is initialized (e.g. how its instance was found).
    /// Not published by the periodic address sync.
    pub events: Vec<ProviderEvent>,
}

/// An error from the provider, with what the controllers should make of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// What kind of failure.
    pub kind: ProviderErrorKind,
    /// Human-readable message (shown in events and logs; never secrets).
    pub message: String,
    /// The reason of the Warning event the controllers publish for this error (e.g.
    /// `InvalidAnnotation`), when the provider knows a more precise one than the controller's
    /// generic `SyncLoadBalancerFailed` / `SyncNodeFailed`. The message is then shown as it is.
    pub reason: Option<String>,
}

/// Kinds of [`ProviderError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderErrorKind {
    /// The cloud says, definitively, that the thing does not exist.
    NotFound,
    /// Not an error as such: try again after this long (an appliance still booting, a rate
    /// limit).
    RetryAfter(Duration),
    /// Anything else. Never to be read as "not found".
    Other,
}

impl ProviderError {
    /// A definitive "does not exist".
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            kind: ProviderErrorKind::NotFound,
            message: message.into(),
            reason: None,
        }
    }

    /// "Ask again after `after`".
    pub fn retry_after(after: Duration, message: impl Into<String>) -> Self {
        Self {
            kind: ProviderErrorKind::RetryAfter(after),
            message: message.into(),
            reason: None,
        }
    }

    /// Any other failure.
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            kind: ProviderErrorKind::Other,
            message: message.into(),
            reason: None,
        }
    }

    /// The same error, published under the event reason `reason`.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// An error from a [`ProviderEvent`] the provider would otherwise have published: its
    /// reason and message.
    pub fn from_event(event: ProviderEvent) -> Self {
        Self::other(event.message).with_reason(event.reason)
    }

    /// Whether the provider said "not found" (and only then).
    pub fn is_not_found(&self) -> bool {
        self.kind == ProviderErrorKind::NotFound
    }
}
