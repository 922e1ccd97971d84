//! [`InstancesV2`] for SAKURA Cloud: the I/O around the decisions in [`super::instances`].
//!
//! Every lookup is answered from one listing of the configured zones' servers (plus the
//! `@k8s`-tagged switches and routers, for address order), cached for a short time and shared
//! by concurrent callers: initializing 1,000 Nodes costs a handful of API calls per zone, not
//! 1,000. The zones are listed in parallel. A listing that does not have a server is never
//! trusted alone when it may be stale: it is refreshed, and a server known by ID is confirmed
//! gone only by a 404 on reading it (in every configured zone: provider IDs carry no zone).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloud_provider::provider::{
    BoxFuture, InstanceMetadata, InstancesV2, ProviderError, ProviderEvent,
};
use k8s_openapi::api::core::v1::Node;
use sacloud::{Client, Id, Server, Zone};

use super::errors::api_error;
use super::instances::{Match, MatchError, instance_metadata, is_shutdown, match_node_object};
use super::listing::{Freshness, Listed};
use super::servers::{ServerListing, ZoneServers};

pub use super::servers::{DEFAULT_MAX_AGE, K8S_TAG};

type Snapshot = Listed<ZoneServers>;

/// A Node's server, owned (independent of the listing it came from).
#[derive(Debug, Clone, PartialEq)]
enum Lookup {
    /// The server, and how it was found when that is worth telling the user.
    Found(Box<Server>, Option<ProviderEvent>),
    /// The provider ID names a server the listing lacks.
    NotListed(Id),
    /// No server; the Warning says what comes closest and what to fix.
    NoMatch(ProviderEvent),
    /// The Node cannot be matched safely (bad provider ID, duplicate names).
    Invalid(MatchError),
}

impl Lookup {
    /// Whether a newer listing might answer differently.
    fn may_be_stale(&self) -> bool {
        matches!(self, Lookup::NotListed(_) | Lookup::NoMatch(_))
    }
}

/// "No server matched": definitive for this listing, published under the Warning's reason.
fn not_matched(event: ProviderEvent) -> ProviderError {
    ProviderError::not_found(event.message).with_reason(event.reason)
}

fn node_name(node: &Node) -> &str {
    node.metadata.name.as_deref().unwrap_or_default()
}

/// Matches a Node against a listing.
fn lookup(node: &Node, servers: &[Server]) -> Lookup {
    match match_node_object(node, servers) {
        Ok(Match::ProviderId(server) | Match::Name(server)) => {
            Lookup::Found(Box::new(server.clone()), None)
        }
        Ok(Match::ProvidedIp { server, event }) => {
            Lookup::Found(Box::new(server.clone()), Some(event))
        }
        Ok(Match::ProviderIdNotListed(id)) => Lookup::NotListed(id),
        Ok(Match::NoMatch { event, .. }) => Lookup::NoMatch(event),
        Err(err) => Lookup::Invalid(err),
    }
}

/// SAKURA Cloud servers as the node and node-lifecycle controllers see them.
#[derive(Debug)]
pub struct SakuraInstances {
    client: Client,
    /// The servers of the configured zones, possibly shared with the load balancers (see
    /// [`ServerListing`]); its zones are this provider's.
    servers: Arc<ServerListing>,
}

impl SakuraInstances {
    /// Instances of the client's zone, with listings cached for [`DEFAULT_MAX_AGE`].
    pub fn new(client: Client) -> Self {
        Self {
            servers: Arc::new(ServerListing::new(client.clone(), &[], DEFAULT_MAX_AGE)),
            client,
        }
    }

    /// Instances of every zone in `zones` (a cluster spanning zones); empty keeps the
    /// client's zone.
    pub fn with_zones(mut self, zones: &[Zone]) -> Self {
        if !zones.is_empty() {
            self.servers = Arc::new(ServerListing::new(
                self.client.clone(),
                zones,
                self.servers.max_age(),
            ));
        }
        self
    }

    /// How long one listing answers lookups (zero: every lookup lists again).
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.servers = Arc::new(ServerListing::new(
            self.client.clone(),
            self.servers.zones(),
            max_age,
        ));
        self
    }

    /// Looks servers up in `servers`, shared with the load balancers (one listing of the
    /// servers for both); its zones become this provider's.
    pub fn with_server_listing(mut self, servers: Arc<ServerListing>) -> Self {
        self.servers = servers;
        self
    }

    /// A listing at least as fresh as asked.
    async fn snapshot(&self, freshness: Freshness) -> Result<Arc<Snapshot>, ProviderError> {
        self.servers.get(freshness).await
    }

    /// Looks the Node up, listing again (once) when the listing predates the call and has no
    /// answer: a server created seconds ago must not read as missing.
    async fn resolve(&self, node: &Node) -> Result<(Lookup, Arc<Snapshot>), ProviderError> {
        let called = Instant::now();
        let snapshot = self.snapshot(Freshness::MaxAge).await?;
        let found = lookup(node, &snapshot.items.servers);
        if found.may_be_stale() && snapshot.started < called {
            let snapshot = self.snapshot(Freshness::StartedAfter(called)).await?;
            let found = lookup(node, &snapshot.items.servers);
            return Ok((found, snapshot));
        }
        Ok((found, snapshot))
    }

    /// The server behind a provider ID a fresh listing lacks: `None` only on a 404 in every
    /// configured zone (a provider ID does not say which zone the server is in).
    async fn read_unlisted(&self, id: Id) -> Result<Option<Server>, ProviderError> {
        let reads = futures::future::join_all(
            self.servers
                .zones()
                .iter()
                .map(|zone| async move { self.client.in_zone(*zone).read_server(id).await }),
        )
        .await;
        let mut failure = None;
        for read in reads {
            match read {
                Ok(server) => return Ok(Some(server)),
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    failure.get_or_insert_with(|| api_error(&format!("reading server {id}"), &e));
                }
            }
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(None),
        }
    }

    fn gone(node: &Node, id: Id) -> ProviderError {
        ProviderError::not_found(format!(
            "node {:?}: server {id} (its provider ID) no longer exists",
            node_name(node)
        ))
    }

    /// The metadata for a looked-up Node.
    async fn metadata_of(
        &self,
        node: &Node,
        found: Lookup,
        snapshot: &Snapshot,
    ) -> Result<InstanceMetadata, ProviderError> {
        let home = self.client.zone();
        let meta =
            |server: &Server| instance_metadata(server, home, &snapshot.items.tagged_switches);
        // A zone that could not be listed may have the server: say so rather than "no match".
        let unavailable = || snapshot.items.unavailable.clone();
        match found {
            Lookup::Found(server, event) => {
                let mut meta = meta(&server);
                meta.events.extend(event);
                Ok(meta)
            }
            Lookup::NotListed(id) => match self.read_unlisted(id).await? {
                Some(server) => Ok(meta(&server)),
                None => Err(Self::gone(node, id)),
            },
            Lookup::NoMatch(event) => Err(unavailable().unwrap_or_else(|| not_matched(event))),
            Lookup::Invalid(err) => Err(ProviderError::from_event(err.event())),
        }
    }
}

impl InstancesV2 for SakuraInstances {
    fn instance_exists<'a>(&'a self, node: &'a Node) -> BoxFuture<'a, Result<bool, ProviderError>> {
        Box::pin(async move {
            let (found, snapshot) = self.resolve(node).await?;
            match found {
                Lookup::Found(..) => Ok(true),
                Lookup::NotListed(id) => Ok(self.read_unlisted(id).await?.is_some()),
                // Without a provider ID there is no ID to confirm the server gone with: a name
                // that matches nothing may be a misnamed Node of a running server.
                Lookup::NoMatch(event) => Err(snapshot
                    .items
                    .unavailable
                    .clone()
                    .unwrap_or_else(|| ProviderError::from_event(event))),
                // Several servers have the name: something exists; deleting the Node would be
                // wrong whichever it is.
                Lookup::Invalid(MatchError::DuplicateName { .. }) => Ok(true),
                Lookup::Invalid(err) => Err(ProviderError::from_event(err.event())),
            }
        })
    }

    fn instance_shutdown<'a>(
        &'a self,
        node: &'a Node,
    ) -> BoxFuture<'a, Result<bool, ProviderError>> {
        Box::pin(async move {
            let (found, snapshot) = self.resolve(node).await?;
            match found {
                Lookup::Found(server, _) => Ok(is_shutdown(&server)),
                Lookup::NotListed(id) => match self.read_unlisted(id).await? {
                    Some(server) => Ok(is_shutdown(&server)),
                    None => Err(Self::gone(node, id)),
                },
                Lookup::NoMatch(event) => Err(snapshot
                    .items
                    .unavailable
                    .clone()
                    .unwrap_or_else(|| not_matched(event))),
                Lookup::Invalid(err) => Err(ProviderError::from_event(err.event())),
            }
        })
    }

    fn instance_metadata<'a>(
        &'a self,
        node: &'a Node,
    ) -> BoxFuture<'a, Result<InstanceMetadata, ProviderError>> {
        Box::pin(async move {
            let (found, snapshot) = self.resolve(node).await?;
            self.metadata_of(node, found, &snapshot).await
        })
    }

    fn instance_metadata_batch<'a>(
        &'a self,
        nodes: &'a [Arc<Node>],
    ) -> BoxFuture<'a, Vec<Result<InstanceMetadata, ProviderError>>> {
        Box::pin(async move {
            let called = Instant::now();
            let snapshot = match self.snapshot(Freshness::MaxAge).await {
                Ok(s) => s,
                Err(err) => return nodes.iter().map(|_| Err(err.clone())).collect(),
            };
            let mut found: Vec<Result<Lookup, ProviderError>> = nodes
                .iter()
                .map(|n| Ok(lookup(n, &snapshot.items.servers)))
                .collect();
            let stale =
                |f: &Result<Lookup, ProviderError>| f.as_ref().is_ok_and(Lookup::may_be_stale);
            // One more listing for all the Nodes a listing older than the call could not answer.
            let mut snapshot = snapshot;
            if snapshot.started < called && found.iter().any(stale) {
                let newer = self.snapshot(Freshness::StartedAfter(called)).await;
                for (node, f) in nodes.iter().zip(found.iter_mut()) {
                    if stale(f) {
                        *f = match &newer {
                            Ok(newer) => Ok(lookup(node, &newer.items.servers)),
                            Err(err) => Err(err.clone()),
                        };
                    }
                }
                if let Ok(newer) = newer {
                    snapshot = newer;
                }
            }
            let mut out = Vec::with_capacity(nodes.len());
            for (node, f) in nodes.iter().zip(found) {
                out.push(match f {
                    Ok(f) => self.metadata_of(node, f, &snapshot).await,
                    Err(err) => Err(err),
                });
            }
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, provider_id: Option<&str>) -> Node {
        let mut node = Node::default();
        node.metadata.name = Some(name.into());
        node.spec = Some(k8s_openapi::api::core::v1::NodeSpec {
            provider_id: provider_id.map(Into::into),
            ..Default::default()
        });
        node
    }

    #[test]
    fn lookups_that_a_newer_listing_could_change() {
        let servers = vec![Server {
            id: Id(5),
            name: "worker-1".into(),
            ..Server::default()
        }];
        let found = lookup(&node("worker-1", None), &servers);
        assert!(matches!(&found, Lookup::Found(s, None) if s.id == Id(5)));
        assert!(!found.may_be_stale());
        let unlisted = lookup(&node("worker-1", Some("sakuracloud://9")), &servers);
        assert_eq!(unlisted, Lookup::NotListed(Id(9)));
        assert!(unlisted.may_be_stale());
        assert!(lookup(&node("worker-2", None), &servers).may_be_stale());
        let invalid = lookup(&node("worker-1", Some("aws://x")), &servers);
        assert!(matches!(invalid, Lookup::Invalid(_)));
        assert!(!invalid.may_be_stale());
    }
}
