//! [`LoadBalancer`](LoadBalancerProvider) for SAKURA Cloud: one decision — what the Service
//! asks for ([`Requested`]) and which Nodes serve it (`node-selector`) — and two
//! implementations of it: the load-balancer appliance ([`appliance`], types `internet` and
//! `switch`) and the Enhanced Load Balancer ([`enhanced`], type `enhanced`).
//!
//! A Service keeps the kind of load balancer it has: asking for the other type later is a
//! Warning (`ImmutableSettingChanged`), not a delete and re-create that would change its
//! address. Deleting the Service deletes whatever it has, of either kind.

pub mod appliance;
pub mod enhanced;
pub mod enhanced_settings;
pub mod tls_secret;
pub mod zones;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cloud_provider::provider::{
    BoxFuture, LoadBalancer as LoadBalancerProvider, LoadBalancerOutcome, ProviderError,
    ProviderEvent,
};
use k8s_openapi::api::core::v1::{LoadBalancerStatus, Node, Service, ServicePort};
use sacloud::api::proxy_lb::ProxyLb;
use sacloud::{Client, Id, LoadBalancer};

use self::appliance::ApplianceLoadBalancers;
use self::enhanced::EnhancedLoadBalancers;
use crate::provider::annotations::{Requested, errors_event, parse_service_with_defaults};
use crate::provider::listing::Freshness;
use crate::provider::naming::{ServiceIdentity, appliance_name};
use crate::provider::node_selector::NodeSelector;
use crate::provider::reasons;

/// SAKURA Cloud load balancers (appliances and Enhanced LBs) as the service controller sees
/// them.
#[derive(Debug)]
pub struct SakuraLoadBalancers {
    appliances: ApplianceLoadBalancers,
    enhanced: EnhancedLoadBalancers,
    /// Cluster-wide annotation defaults.
    defaults: BTreeMap<String, String>,
}

impl SakuraLoadBalancers {
    /// Load balancers for the cluster `cluster_id` (they carry its tag; `None`: no cluster
    /// tag): appliances of the client's zone, and the account's Enhanced LBs.
    pub fn new(client: Client, cluster_id: Option<String>) -> Self {
        Self {
            appliances: ApplianceLoadBalancers::new(client.clone(), cluster_id.clone()),
            enhanced: EnhancedLoadBalancers::new(client, cluster_id),
            defaults: BTreeMap::new(),
        }
    }

    /// Appliances of every zone in `zones` (a cluster spanning zones); empty keeps the
    /// client's zone. The Enhanced LB is global and needs no zone.
    pub fn with_zones(mut self, zones: &[sacloud::Zone]) -> Self {
        self.appliances = self.appliances.with_zones(zones);
        self
    }

    /// How long one listing answers Services (zero: every call lists again).
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.appliances = self.appliances.with_max_age(max_age);
        self.enhanced = self.enhanced.with_max_age(max_age);
        self
    }

    /// Reads servers from `servers`, shared with the node controllers: one listing of the
    /// servers for both.
    pub fn with_server_listing(
        mut self,
        servers: Arc<crate::provider::servers::ServerListing>,
    ) -> Self {
        self.appliances = self.appliances.with_server_listing(servers);
        self
    }

    /// How soon a load balancer that is busy (booting, shutting down, conflicting) is looked
    /// at again.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.appliances = self.appliances.with_poll_interval(interval);
        self.enhanced = self.enhanced.with_poll_interval(interval);
        self
    }

    /// How often a certificate that Let's Encrypt is issuing is looked for.
    pub fn with_certificate_poll(mut self, interval: Duration) -> Self {
        self.enhanced = self.enhanced.with_certificate_poll(interval);
        self
    }

    /// Cluster-wide annotation defaults (see
    /// [`annotations::defaults`](crate::provider::annotations::defaults)).
    pub fn with_defaults(mut self, defaults: BTreeMap<String, String>) -> Self {
        self.defaults = defaults;
        self
    }

    /// The Kubernetes client certificate Secrets are read with.
    pub fn set_kube_client(&self, client: kube::Client) {
        self.enhanced.set_kube_client(client);
    }

    fn requested(&self, service: &Service) -> Result<Requested, ProviderError> {
        parse_service_with_defaults(service, &self.defaults)
            .map_err(|errors| ProviderError::from_event(errors_event(&errors)))
    }

    /// Creates or updates the Service's load balancer; `allow_create` is false for a node-set
    /// update.
    async fn reconcile(
        &self,
        service: &Service,
        nodes: &[Arc<Node>],
        allow_create: bool,
    ) -> Result<LoadBalancerOutcome, ProviderError> {
        let identity = identity(service)?;
        let requested = self.requested(service)?;
        let events: Vec<ProviderEvent> = requested.ignored_event().into_iter().collect();
        let nodes = select_nodes(nodes, requested.node_selector());
        // Only a Service that already has a load balancer can have one of the other kind (its
        // type changed): a new Service costs no look at the other kind. (The lookup itself is
        // by identity, never by status.)
        let has_status = service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|l| l.ingress.as_ref())
            .is_some_and(|i| !i.is_empty());
        match &requested {
            Requested::Appliance(options) => {
                if has_status
                    && self
                        .appliances
                        .find(&identity, Freshness::MaxAge)
                        .await?
                        .is_none()
                    && let Some(item) = self.enhanced.find(&identity, Freshness::MaxAge).await?
                {
                    return self
                        .keep_other(&identity, &requested, Other::Enhanced(item.id), events)
                        .await;
                }
                self.appliances
                    .reconcile(service, options, &nodes, allow_create, events)
                    .await
            }
            Requested::Enhanced(options) => {
                if has_status
                    && self
                        .enhanced
                        .find(&identity, Freshness::MaxAge)
                        .await?
                        .is_none()
                    && let Some(appliance) =
                        self.appliances.find(&identity, Freshness::MaxAge).await?
                {
                    return self
                        .keep_other(
                            &identity,
                            &requested,
                            Other::Appliance(appliance.id),
                            events,
                        )
                        .await;
                }
                self.enhanced
                    .reconcile(service, options, &nodes, allow_create, events)
                    .await
            }
        }
    }

    /// The Service asks for another type than the load balancer it has: it keeps the one it
    /// has, as it is, and says so.
    async fn keep_other(
        &self,
        identity: &ServiceIdentity,
        requested: &Requested,
        other: Other,
        mut events: Vec<ProviderEvent>,
    ) -> Result<LoadBalancerOutcome, ProviderError> {
        let (what, id, status) = match other {
            Other::Enhanced(id) => (
                "an Enhanced Load Balancer",
                id,
                self.enhanced.status(identity).await?,
            ),
            Other::Appliance(id) => (
                "a load-balancer appliance",
                id,
                self.appliances.status(identity).await?,
            ),
        };
        events.push(ProviderEvent::warning(
            reasons::IMMUTABLE_SETTING_CHANGED,
            format!(
                "the Service asks for load-balancer-type {} but has {what} ({}, ID {id}), which is kept as it is: the type cannot change in place; delete and re-create the Service to get the other type",
                requested.type_name(),
                appliance_name(&identity.uid)
            ),
        ));
        Ok(LoadBalancerOutcome {
            status: status.unwrap_or_default(),
            events,
            ..LoadBalancerOutcome::default()
        })
    }

    async fn status(&self, service: &Service) -> Result<Option<LoadBalancerStatus>, ProviderError> {
        let identity = identity(service)?;
        // The kind asked for first; the other if the Service has that one.
        let enhanced_first = matches!(self.requested(service), Ok(Requested::Enhanced(_)));
        if enhanced_first {
            if let Some(status) = self.enhanced.status(&identity).await? {
                return Ok(Some(status));
            }
            return self.appliances.status(&identity).await;
        }
        if let Some(status) = self.appliances.status(&identity).await? {
            return Ok(Some(status));
        }
        self.enhanced.status(&identity).await
    }

    async fn delete(&self, service: &Service) -> Result<(), ProviderError> {
        self.enhanced.delete(service).await?;
        self.appliances.delete(service).await
    }
}

/// A load balancer of the other kind than the one asked for.
enum Other {
    Enhanced(Id),
    Appliance(Id),
}

/// The Nodes matching the selector (all without one). Without a selector the Nodes are
/// borrowed, not copied: a copy of 1,000 cached Nodes is about 9 MB, and every Service's sync
/// would make one (heap profile in docs/benchmarks.md).
pub fn select_nodes<'a>(
    nodes: &'a [Arc<Node>],
    selector: Option<&NodeSelector>,
) -> Cow<'a, [Arc<Node>]> {
    let Some(selector) = selector else {
        return Cow::Borrowed(nodes);
    };
    let empty = BTreeMap::new();
    Cow::Owned(
        nodes
            .iter()
            .filter(|n| selector.matches(n.metadata.labels.as_ref().unwrap_or(&empty)))
            .cloned()
            .collect(),
    )
}

fn identity(service: &Service) -> Result<ServiceIdentity, ProviderError> {
    ServiceIdentity::of(service)
        .ok_or_else(|| ProviderError::other("the Service has no name or UID; it was never stored"))
}

fn service_ports(service: &Service) -> Vec<ServicePort> {
    service
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default()
}

/// Something listed by ID.
trait ListedItem {
    fn listed_id(&self) -> Id;
}

impl ListedItem for LoadBalancer {
    fn listed_id(&self) -> Id {
        self.id
    }
}

impl ListedItem for ProxyLb {
    fn listed_id(&self) -> Id {
        self.id
    }
}

/// Replaces (or adds) `item` in a listing.
fn upsert<T: ListedItem + Clone>(listing: &mut Vec<T>, item: &T) {
    match listing
        .iter_mut()
        .find(|i| i.listed_id() == item.listed_id())
    {
        Some(existing) => *existing = item.clone(),
        None => listing.push(item.clone()),
    }
}

impl LoadBalancerProvider for SakuraLoadBalancers {
    fn get<'a>(
        &'a self,
        _cluster_name: &'a str,
        service: &'a Service,
    ) -> BoxFuture<'a, Result<Option<LoadBalancerStatus>, ProviderError>> {
        Box::pin(self.status(service))
    }

    fn name(&self, _cluster_name: &str, service: &Service) -> String {
        appliance_name(service.metadata.uid.as_deref().unwrap_or_default())
    }

    fn ensure<'a>(
        &'a self,
        _cluster_name: &'a str,
        service: &'a Service,
        nodes: &'a [Arc<Node>],
    ) -> BoxFuture<'a, Result<LoadBalancerOutcome, ProviderError>> {
        Box::pin(async move {
            let mut outcome = self.reconcile(service, nodes, true).await?;
            // This provider's Normal events each report something it just did in the cloud.
            outcome.changed = outcome.events.iter().any(|e| !e.warning);
            Ok(outcome)
        })
    }

    fn update<'a>(
        &'a self,
        _cluster_name: &'a str,
        service: &'a Service,
        nodes: &'a [Arc<Node>],
    ) -> BoxFuture<'a, Result<Vec<ProviderEvent>, ProviderError>> {
        Box::pin(async move { Ok(self.reconcile(service, nodes, false).await?.events) })
    }

    fn ensure_deleted<'a>(
        &'a self,
        _cluster_name: &'a str,
        service: &'a Service,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.delete(service))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn node(name: &str, labels: &[(&str, &str)]) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                ..ObjectMeta::default()
            },
            ..Node::default()
        }
    }

    #[test]
    fn the_node_selector_picks_the_real_servers() {
        let nodes = [
            node("edge-1", &[("role", "edge")]),
            node("worker-1", &[("role", "worker")]),
            node("bare", &[]),
        ]
        .map(Arc::new);
        assert_eq!(select_nodes(&nodes, None).len(), 3);
        let edge = NodeSelector::parse("role=edge").unwrap();
        let names: Vec<String> = select_nodes(&nodes, Some(&edge))
            .iter()
            .filter_map(|n| n.metadata.name.clone())
            .collect();
        assert_eq!(names, vec!["edge-1".to_owned()]);
    }
}
