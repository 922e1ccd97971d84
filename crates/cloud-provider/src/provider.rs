//! The provider interface: what a cloud must answer for the controllers.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, NodeAddress};

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
    /// providers with a listing API should answer from one listing.
    fn instance_metadata_batch<'a>(
        &'a self,
        nodes: &'a [Node],
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
}

/// An error from the provider, with what the controllers should make of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// What kind of failure.
    pub kind: ProviderErrorKind,
    /// Human-readable message (shown in events and logs; never secrets).
    pub message: String,
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
        }
    }

    /// "Ask again after `after`".
    pub fn retry_after(after: Duration, message: impl Into<String>) -> Self {
        Self {
            kind: ProviderErrorKind::RetryAfter(after),
            message: message.into(),
        }
    }

    /// Any other failure.
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            kind: ProviderErrorKind::Other,
            message: message.into(),
        }
    }

    /// Whether the provider said "not found" (and only then).
    pub fn is_not_found(&self) -> bool {
        self.kind == ProviderErrorKind::NotFound
    }
}
