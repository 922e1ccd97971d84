//! One listing of the configured zones' servers, shared by the node controllers' lookups and
//! the load balancers' address allocation.
//!
//! Both need every server of every zone; listing them once for both halves the memory the
//! listings hold (5,000 servers are several megabytes decoded) and the calls when both ask
//! within the listing's age. The listing also carries the `@k8s`-tagged networks, which the
//! Nodes' address order needs.

use std::sync::Arc;
use std::time::Duration;

use cloud_provider::provider::ProviderError;
use sacloud::{Client, Filter, Id, Server, Zone};

use super::errors::api_error;
use super::listing::{Freshness, Listed, SharedListing};

/// How long a listing answers lookups by default.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(10);
/// The tag marking the cluster's switches and routers.
pub const K8S_TAG: &str = "@k8s";

/// One listing of the configured zones.
#[derive(Debug)]
pub struct ZoneServers {
    /// Every server of every zone listed, each with its zone.
    pub servers: Vec<Server>,
    /// The switches tagged `@k8s` and the switches of the routers tagged `@k8s`.
    pub tagged_switches: Vec<Id>,
    /// Zones that could not be listed (when others could): a Node not found may be there.
    pub unavailable: Option<ProviderError>,
}

/// The servers of the configured zones, listed at most once per age for every caller.
#[derive(Debug)]
pub struct ServerListing {
    client: Client,
    /// The zones listed, the client's own first.
    zones: Vec<Zone>,
    listing: SharedListing<ZoneServers>,
}

impl ServerListing {
    /// The servers of `zones` (the client's own when empty), answering for `max_age`.
    pub fn new(client: Client, zones: &[Zone], max_age: Duration) -> Self {
        let zones = if zones.is_empty() {
            vec![client.zone()]
        } else {
            zones.to_vec()
        };
        Self {
            client,
            zones,
            listing: SharedListing::new(max_age),
        }
    }

    /// The zones listed, the client's own first.
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// How long one listing answers.
    pub fn max_age(&self) -> Duration {
        self.listing.max_age()
    }

    /// A listing at least as fresh as asked; a zone that failed is in `unavailable`, unless
    /// every zone failed (an error).
    pub async fn get(
        &self,
        freshness: Freshness,
    ) -> Result<Arc<Listed<ZoneServers>>, ProviderError> {
        self.listing.get(freshness, || self.fetch()).await
    }

    /// [`ServerListing::get`] of every zone: a zone that failed fails it (for decisions that
    /// must see every server, such as which addresses are taken).
    pub async fn complete(
        &self,
        freshness: Freshness,
    ) -> Result<Arc<Listed<ZoneServers>>, ProviderError> {
        let listed = self.get(freshness).await?;
        match &listed.items.unavailable {
            Some(err) => Err(err.clone()),
            None => Ok(listed),
        }
    }

    /// Lists every configured zone in parallel. A zone that fails does not hide the others'
    /// servers (a zone's outage must not stall the Nodes of the rest), unless every zone fails.
    async fn fetch(&self) -> Result<ZoneServers, ProviderError> {
        let listed =
            futures::future::join_all(self.zones.iter().map(|zone| self.fetch_zone(*zone))).await;
        let mut servers = Vec::new();
        let mut tagged_switches = Vec::new();
        let mut unavailable: Option<ProviderError> = None;
        let mut any_ok = false;
        for one in listed {
            match one {
                Ok(zone) => {
                    any_ok = true;
                    servers.extend(zone.servers);
                    tagged_switches.extend(zone.tagged_switches);
                }
                Err(err) => {
                    unavailable.get_or_insert(err);
                }
            }
        }
        if let (false, Some(err)) = (any_ok, &unavailable) {
            return Err(err.clone());
        }
        tagged_switches.sort();
        tagged_switches.dedup();
        Ok(ZoneServers {
            servers,
            tagged_switches,
            unavailable,
        })
    }

    async fn fetch_zone(&self, zone: Zone) -> Result<ZoneServers, ProviderError> {
        let client = self.client.in_zone(zone);
        let in_zone = |what: &str| {
            if self.zones.len() > 1 {
                format!("{what} in {zone}")
            } else {
                what.to_owned()
            }
        };
        let tagged = Filter::new().tags_all([K8S_TAG]);
        let (mut servers, switches, routers) = tokio::try_join!(
            async {
                client
                    .find_servers(&Filter::new())
                    .await
                    .map_err(|e| api_error(&in_zone("listing servers"), &e))
            },
            async {
                client
                    .find_switches(&tagged)
                    .await
                    .map_err(|e| api_error(&in_zone("listing switches tagged @k8s"), &e))
            },
            async {
                client
                    .find_internets(&tagged)
                    .await
                    .map_err(|e| api_error(&in_zone("listing routers tagged @k8s"), &e))
            },
        )?;
        // The zone label comes from the server's own zone; a listing is of one zone.
        for server in &mut servers {
            if server.zone.as_ref().is_none_or(|z| z.name.is_empty()) {
                server.zone = Some(sacloud::api::common::ZoneRef {
                    id: Id(zone.id()),
                    name: zone.name().to_owned(),
                    region: None,
                });
            }
        }
        let tagged_switches: Vec<Id> = switches
            .iter()
            .map(|s| s.id)
            .chain(routers.iter().map(|r| r.switch.id))
            .collect();
        Ok(ZoneServers {
            servers,
            tagged_switches,
            unavailable: None,
        })
    }
}
