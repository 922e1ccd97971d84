//! The load-balancer appliance (types `internet` and `switch`): the I/O around the decisions
//! in [`crate::provider::annotations`], [`crate::provider::naming`],
//! [`crate::provider::network`] and [`crate::provider::settings`].
//!
//! API cost: every Service is answered from one listing of the zone's appliances, shared by
//! all Services for a short time, so a resync of every Service costs one call and writes
//! nothing when nothing changed. Only a create lists routers, the switch and the servers, and
//! only a change writes (one settings update plus one config apply). Nothing waits for the
//! appliance: while it boots or shuts down the controller is asked to come back later.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::time::{Duration, Instant};

use cloud_provider::provider::{LoadBalancerOutcome, ProviderError, ProviderEvent};
use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, Node, Service};
use sacloud::api::common::{Availability, InstanceStatus};
use sacloud::api::load_balancer::LOAD_BALANCER_CLASS;
use sacloud::{
    Client, Filter, Id, Internet, LoadBalancer, LoadBalancerCreate, LoadBalancerUpdate, Server,
    Switch, Zone,
};

use super::zones::{
    any_elsewhere, appliance_zone, list_in_zones, reachable_nodes, switch_zone, unbridged_event,
};
use super::{identity, service_ports, upsert};
use crate::provider::annotations::{LoadBalancerOptions, Placement};
use crate::provider::cidr::Ipv4Cidr;
use crate::provider::errors::api_error;
use crate::provider::listing::{Freshness, Listed, SharedListing};
use crate::provider::naming::{
    Ownership, ServiceIdentity, TAG_K8S, appliance_name, appliance_tags, owned_by,
    tags_after_adoption,
};
use crate::provider::network::{
    AddressPool, NetworkKind, allocate, on_switch, router_pool, select_network, select_vrid,
    switch_pool, used_addresses,
};
use crate::provider::reasons;
use crate::provider::servers::{ServerListing, ZoneServers};
use crate::provider::settings::{
    appliance_network, desired_settings, node_targets, settings_equal,
};

/// How long one appliance listing answers Services by default.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(10);
/// How often an appliance that is booting or shutting down is looked at again by default: the
/// external IP reaches the Service at most about this long after the appliance is up. Every
/// Service waiting shares one appliance listing per interval, so a boot costs about one GET a
/// second in all, however many appliances boot together.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// What an appliance is doing, as far as this CCM cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Being created (`Availability: migrating`): no power or config calls yet.
    Creating,
    /// Running.
    Up,
    /// Shutting down (`cleaning`).
    ShuttingDown,
    /// Stopped.
    Down,
    /// Creation failed (`Availability: failed`).
    Failed,
}

/// The appliance's phase from its availability and power state.
pub fn phase(appliance: &LoadBalancer) -> Phase {
    match appliance.availability {
        Some(Availability::Migrating) => return Phase::Creating,
        Some(Availability::Failed) => return Phase::Failed,
        _ => {}
    }
    match appliance.status() {
        Some(InstanceStatus::Up) => Phase::Up,
        Some(InstanceStatus::Cleaning) => Phase::ShuttingDown,
        // Not reported or unknown: treat like stopped; booting it is the safe way forward and
        // the API refuses it (409) if that was wrong.
        _ => Phase::Down,
    }
}

/// The appliances that are this Service's (ours, or the original CCM's to adopt), by ID.
pub fn find_ours<'a>(
    appliances: &'a [LoadBalancer],
    cluster_id: Option<&str>,
    service: &ServiceIdentity,
) -> Vec<(&'a LoadBalancer, Ownership)> {
    let mut ours: Vec<(&LoadBalancer, Ownership)> = appliances
        .iter()
        .filter(|a| a.class == LOAD_BALANCER_CLASS)
        .map(|a| (a, owned_by(a, cluster_id, service)))
        .filter(|(_, o)| matches!(o, Ownership::Ours | Ownership::AdoptableFromOriginal))
        .collect();
    ours.sort_by_key(|(a, _)| a.id);
    ours
}

/// Whether every one of `nodes` that has an `ExternalIP` has it on a shared-segment NIC of
/// one of `servers` (and at least one node has one).
pub fn nodes_only_on_shared_segment(nodes: &[Arc<Node>], servers: &[Server]) -> bool {
    let external: Vec<Ipv4Addr> = nodes
        .iter()
        .filter_map(|n| n.status.as_ref()?.addresses.as_ref())
        .flatten()
        .filter(|a| a.type_ == "ExternalIP")
        .filter_map(|a| a.address.trim().parse().ok())
        .collect();
    !external.is_empty()
        && external.iter().all(|ip| {
            servers.iter().any(|s| {
                s.interfaces.iter().any(|nic| {
                    nic.connection() == sacloud::NicConnection::SharedSegment
                        && nic.address() == Some(*ip)
                })
            })
        })
}

/// The status to publish: the one VIP.
pub fn ingress_status(vip: Ipv4Addr) -> LoadBalancerStatus {
    LoadBalancerStatus {
        ingress: Some(vec![LoadBalancerIngress {
            ip: Some(vip.to_string()),
            ..LoadBalancerIngress::default()
        }]),
    }
}

/// Warnings for what the Service asks but an existing appliance cannot change in place
/// (plan, redundancy, VIP): the appliance stays as it is.
pub fn immutable_changes(
    appliance: &LoadBalancer,
    options: &LoadBalancerOptions,
    vip: Ipv4Addr,
) -> Vec<ProviderEvent> {
    let mut changes: Vec<String> = Vec::new();
    let plan = appliance.plan.as_ref().map(|p| p.id.0);
    if let Some(plan) = plan
        && plan != u64::from(options.plan.api_id())
    {
        changes.push(format!(
            "the plan (it has plan ID {plan}, the Service asks for ID {})",
            options.plan.api_id()
        ));
    }
    let redundant = appliance.remark.servers.len() >= 2;
    if redundant != options.high_availability {
        changes.push(format!(
            "high availability (it is {}, the Service asks for {})",
            if redundant {
                "a redundant pair"
            } else {
                "single"
            },
            if options.high_availability {
                "a redundant pair"
            } else {
                "single"
            }
        ));
    }
    if let Some(requested) = options.requested_vip
        && requested != vip
    {
        changes.push(format!(
            "the VIP (it has {vip}, spec.loadBalancerIP asks for {requested})"
        ));
    }
    if changes.is_empty() {
        return Vec::new();
    }
    vec![ProviderEvent::warning(
        reasons::IMMUTABLE_SETTING_CHANGED,
        format!(
            "load balancer {} (ID {}) keeps its current settings: a SAKURA load balancer cannot change {} in place; delete and re-create the Service to get a new one",
            appliance.name,
            appliance.id,
            changes.join(", ")
        ),
    )]
}

/// A short description of settings for the Normal event after they are applied.
fn describe_settings(vip: Ipv4Addr, ports: &[u64], real_servers: &[(String, Ipv4Addr)]) -> String {
    let ports: Vec<String> = ports.iter().map(u64::to_string).collect();
    let servers: Vec<String> = real_servers
        .iter()
        .map(|(name, ip)| format!("{name} ({ip})"))
        .collect();
    format!(
        "VIP {vip}, ports {}; real servers: {}",
        ports.join(", "),
        if servers.is_empty() {
            "none".to_owned()
        } else {
            servers.join(", ")
        }
    )
}

/// A failed write: 409 `still_creating` or a power conflict means "not now", anything else is
/// an error.
fn write_error(what: &str, err: &sacloud::Error, poll: Duration) -> ProviderError {
    if err.is_conflict() {
        return ProviderError::retry_after(
            poll,
            format!("{what}: {}; trying again shortly", err.summary()),
        );
    }
    api_error(what, err)
}

/// The network a new appliance goes on.
struct ChosenNetwork {
    switch: Switch,
    /// The zone of the switch: where the appliance is created.
    zone: Zone,
    pool: AddressPool,
    /// For messages: `switch+router "name" (ID n)`.
    described: String,
}

/// SAKURA Cloud load-balancer appliances as the service controller sees them.
#[derive(Debug)]
pub struct ApplianceLoadBalancers {
    client: Client,
    /// The configured zones, the client's own first.
    zones: Vec<Zone>,
    /// Switch → bridge for the switches of every zone (only listed with several zones).
    bridges: SharedListing<HashMap<Id, Id>>,
    cluster_id: Option<String>,
    poll_interval: Duration,
    /// Every appliance of the zone, any class.
    appliances: SharedListing<Vec<LoadBalancer>>,
    /// Every server of the zones (their addresses are taken on the appliances' networks),
    /// possibly shared with the node controllers (see [`ServerListing`]).
    servers: Arc<ServerListing>,
    /// Routers tagged `@k8s`.
    routers: SharedListing<Vec<Internet>>,
    /// Switches tagged `@k8s` (a router's switch carries the router's tags).
    switches: SharedListing<Vec<Switch>>,
    /// One lock per switch: address and VRID allocation on a switch happen one at a time.
    switch_locks: StdMutex<HashMap<Id, Arc<tokio::sync::Mutex<()>>>>,
    /// Appliances whose saved settings may not be applied yet (the apply call failed).
    unapplied: StdMutex<HashSet<Id>>,
}

impl ApplianceLoadBalancers {
    /// Load balancers of the client's zone for the cluster `cluster_id` (its appliances carry
    /// the cluster tag; `None`: no cluster tag).
    pub fn new(client: Client, cluster_id: Option<String>) -> Self {
        Self {
            zones: vec![client.zone()],
            servers: Arc::new(ServerListing::new(
                client.clone(),
                &[client.zone()],
                DEFAULT_MAX_AGE,
            )),
            bridges: SharedListing::new(DEFAULT_MAX_AGE),
            client,
            cluster_id: cluster_id.filter(|id| !id.is_empty()),
            poll_interval: DEFAULT_POLL_INTERVAL,
            appliances: SharedListing::new(DEFAULT_MAX_AGE),
            routers: SharedListing::new(DEFAULT_MAX_AGE),
            switches: SharedListing::new(DEFAULT_MAX_AGE),
            switch_locks: StdMutex::new(HashMap::new()),
            unapplied: StdMutex::new(HashSet::new()),
        }
    }

    /// Appliances of every zone in `zones`; empty keeps the client's zone.
    pub fn with_zones(mut self, zones: &[Zone]) -> Self {
        if !zones.is_empty() {
            self.zones = zones.to_vec();
            self.servers = Arc::new(ServerListing::new(
                self.client.clone(),
                zones,
                self.servers.max_age(),
            ));
        }
        self
    }

    /// Reads servers from `servers`, shared with the node controllers (its zones should be
    /// this provider's).
    pub fn with_server_listing(mut self, servers: Arc<ServerListing>) -> Self {
        self.servers = servers;
        self
    }

    /// The client for calls about `appliance`: its zone's.
    fn zonal(&self, appliance: &LoadBalancer) -> Client {
        self.client
            .in_zone(appliance_zone(appliance, self.client.zone()))
    }

    /// Every server of the configured zones (every zone must answer: an address is free
    /// only if no server of any zone on a bridged switch has it).
    async fn all_servers(&self) -> Result<Arc<Listed<ZoneServers>>, ProviderError> {
        self.servers.complete(Freshness::MaxAge).await
    }

    /// Every switch of the configured zones that is on a bridge, with its bridge's ID.
    async fn bridge_map(&self) -> Result<Arc<Listed<HashMap<Id, Id>>>, ProviderError> {
        self.bridges
            .get_or_list(Freshness::MaxAge, "listing switches", || async {
                let switches = list_in_zones(&self.client, &self.zones, |c| async move {
                    c.find_switches(&Filter::new()).await
                })
                .await?;
                Ok(switches
                    .into_iter()
                    .filter_map(|s| Some((s.id, s.bridge?.id)))
                    .collect())
            })
            .await
    }

    /// The switches of other configured zones joined to `switch` by its bridge (none with one
    /// zone configured or without a bridge, at no call): their addresses share its segment.
    async fn bridged_switches(&self, switch: &Switch) -> Result<Vec<Id>, ProviderError> {
        let Some(bridge) = switch.bridge.as_ref().map(|b| b.id) else {
            return Ok(Vec::new());
        };
        if self.zones.len() < 2 {
            return Ok(Vec::new());
        }
        let map = self.bridge_map().await?;
        Ok(map
            .items
            .iter()
            .filter(|(id, b)| **b == bridge && **id != switch.id)
            .map(|(id, _)| *id)
            .collect())
    }

    /// `nodes` less those in other zones than the appliance's that are not on a switch
    /// bridged to its switch (with one Warning naming them). One zone configured, or every
    /// Node labelled with the appliance's zone: `nodes` as they are, without a call (borrowed,
    /// not copied: a copy of 1,000 cached Nodes is about 8 MB).
    async fn reachable<'a>(
        &self,
        nodes: &'a [Arc<Node>],
        zone: Zone,
        switch: Id,
        described: &str,
        events: &mut Vec<ProviderEvent>,
    ) -> Result<Cow<'a, [Arc<Node>]>, ProviderError> {
        if self.zones.len() < 2 || !any_elsewhere(nodes, zone) {
            return Ok(Cow::Borrowed(nodes));
        }
        let (servers, bridges) = tokio::try_join!(self.all_servers(), self.bridge_map())?;
        let (kept, left_out) =
            reachable_nodes(nodes, zone, switch, &servers.items.servers, &bridges.items);
        if !left_out.is_empty() {
            events.push(unbridged_event(&left_out, zone, described));
        }
        Ok(Cow::Owned(kept))
    }

    /// How long one listing (appliances, servers, tagged routers and switches) answers
    /// Services (zero: every call lists again). Allocation always lists appliances anew.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.appliances = SharedListing::new(max_age);
        self.servers = Arc::new(ServerListing::new(
            self.client.clone(),
            &self.zones,
            max_age,
        ));
        self.routers = SharedListing::new(max_age);
        self.switches = SharedListing::new(max_age);
        self
    }

    /// How soon an appliance that is booting or shutting down is looked at again.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    fn cluster_id(&self) -> Option<&str> {
        self.cluster_id.as_deref()
    }

    async fn appliances(
        &self,
        freshness: Freshness,
    ) -> Result<Arc<Listed<Vec<LoadBalancer>>>, ProviderError> {
        let all = Filter::new();
        self.appliances
            .get_or_list(freshness, "listing appliances", || {
                list_in_zones(&self.client, &self.zones, |c| {
                    let all = all.clone();
                    async move { c.find_appliances(&all).await }
                })
            })
            .await
    }

    async fn tagged_routers(&self) -> Result<Arc<Listed<Vec<Internet>>>, ProviderError> {
        let tagged = Filter::new().tags_all([TAG_K8S]);
        self.routers
            .get_or_list(Freshness::MaxAge, "listing routers tagged @k8s", || {
                list_in_zones(&self.client, &self.zones, |c| {
                    let tagged = tagged.clone();
                    async move { c.find_internets(&tagged).await }
                })
            })
            .await
    }

    async fn tagged_switches(&self) -> Result<Arc<Listed<Vec<Switch>>>, ProviderError> {
        let tagged = Filter::new().tags_all([TAG_K8S]);
        self.switches
            .get_or_list(Freshness::MaxAge, "listing switches tagged @k8s", || {
                list_in_zones(&self.client, &self.zones, |c| {
                    let tagged = tagged.clone();
                    async move { c.find_switches(&tagged).await }
                })
            })
            .await
    }

    fn switch_lock(&self, switch: Id) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .switch_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(locks.entry(switch).or_default())
    }

    fn unapplied(&self) -> std::sync::MutexGuard<'_, HashSet<Id>> {
        self.unapplied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// This Service's appliance: the lowest ID when there are several (with a Warning, since
    /// only one is kept up to date).
    fn pick(
        &self,
        appliances: &[LoadBalancer],
        service: &ServiceIdentity,
        events: &mut Vec<ProviderEvent>,
    ) -> Option<(LoadBalancer, Ownership)> {
        let ours = find_ours(appliances, self.cluster_id(), service);
        if ours.len() > 1 {
            let listed: Vec<String> = ours
                .iter()
                .map(|(a, _)| format!("{} (ID {})", a.name, a.id))
                .collect();
            events.push(ProviderEvent::warning(
                reasons::DUPLICATE_APPLIANCES,
                format!(
                    "{} load balancers belong to this Service: {}; only ID {} is kept up to date, the others are deleted with the Service. Delete the extra ones if they are not needed",
                    ours.len(),
                    listed.join(", "),
                    ours[0].0.id
                ),
            ));
        }
        ours.into_iter().next().map(|(a, o)| (a.clone(), o))
    }

    /// This Service's appliance, if there is one (ours, or the original CCM's to adopt).
    pub(super) async fn find(
        &self,
        identity: &ServiceIdentity,
        freshness: Freshness,
    ) -> Result<Option<LoadBalancer>, ProviderError> {
        let listed = self.appliances(freshness).await?;
        Ok(find_ours(&listed.items, self.cluster_id(), identity)
            .first()
            .map(|(a, _)| (*a).clone()))
    }

    /// The status of this Service's appliance, if there is one.
    pub(super) async fn status(
        &self,
        identity: &ServiceIdentity,
    ) -> Result<Option<LoadBalancerStatus>, ProviderError> {
        let found = self
            .find(identity, Freshness::Within(self.poll_interval))
            .await?;
        Ok(found.map(|appliance| {
            appliance
                .virtual_ips()
                .first()
                .map(|vip| ingress_status(*vip))
                .unwrap_or_default()
        }))
    }

    /// Creates or updates the appliance; `allow_create` is false for a node-set update.
    pub(super) async fn reconcile(
        &self,
        service: &Service,
        options: &LoadBalancerOptions,
        nodes: &[Arc<Node>],
        allow_create: bool,
        mut events: Vec<ProviderEvent>,
    ) -> Result<LoadBalancerOutcome, ProviderError> {
        let identity = identity(service)?;
        let options = options.clone();
        let listed = self.appliances(Freshness::MaxAge).await?;
        let found = self.pick(&listed.items, &identity, &mut events);
        // Not held while the appliance is changed: a change is then recorded in place.
        drop(listed);
        let status = match found {
            Some((appliance, ownership)) => {
                self.reconcile_existing(service, &options, nodes, appliance, ownership, &mut events)
                    .await?
            }
            None if allow_create => {
                self.create(service, &identity, &options, nodes, &mut events)
                    .await?
            }
            None => {
                return Err(ProviderError::other(format!(
                    "no load balancer named {} with this Service's tags exists",
                    appliance_name(&identity.uid)
                )));
            }
        };
        Ok(LoadBalancerOutcome {
            status,
            events,
            ..LoadBalancerOutcome::default()
        })
    }

    /// Brings an existing appliance to the Service's settings.
    async fn reconcile_existing(
        &self,
        service: &Service,
        options: &LoadBalancerOptions,
        nodes: &[Arc<Node>],
        mut appliance: LoadBalancer,
        ownership: Ownership,
        events: &mut Vec<ProviderEvent>,
    ) -> Result<LoadBalancerStatus, ProviderError> {
        if ownership == Ownership::AdoptableFromOriginal {
            appliance = self.adopt(service, appliance).await?;
            events.push(ProviderEvent::normal(
                reasons::ADOPTED_APPLIANCE,
                format!(
                    "adopted load balancer {} (ID {}) created by the original CCM: added this CCM's tags, kept its VIP and settings",
                    appliance.name, appliance.id
                ),
            ));
        }
        if phase(&appliance) != Phase::Up {
            // The listing may be older than the poll interval: look again before waiting.
            let listed = self
                .appliances(Freshness::Within(self.poll_interval))
                .await?;
            if let Some(newer) = listed.items.iter().find(|a| a.id == appliance.id) {
                appliance = newer.clone();
            }
        }
        match phase(&appliance) {
            Phase::Up => {}
            Phase::Creating => {
                return Err(ProviderError::retry_after(
                    self.poll_interval,
                    format!(
                        "load balancer {} (ID {}) is being created; waiting for it to boot",
                        appliance.name, appliance.id
                    ),
                ));
            }
            Phase::ShuttingDown => {
                return Err(ProviderError::retry_after(
                    self.poll_interval,
                    format!(
                        "load balancer {} (ID {}) is shutting down; it is booted again once it is down",
                        appliance.name, appliance.id
                    ),
                ));
            }
            Phase::Down => {
                if let Err(e) = self
                    .zonal(&appliance)
                    .boot_load_balancer(appliance.id)
                    .await
                {
                    return Err(write_error(
                        &format!("booting load balancer {}", appliance.id),
                        &e,
                        self.poll_interval,
                    ));
                }
                self.appliances.invalidate().await;
                return Err(ProviderError::retry_after(
                    self.poll_interval,
                    format!(
                        "load balancer {} (ID {}) was down; booting it",
                        appliance.name, appliance.id
                    ),
                ));
            }
            Phase::Failed => {
                return Err(ProviderError::other(format!(
                    "load balancer {} (ID {}) failed to be created (Availability: failed); delete it in the control panel and the Service gets a new one",
                    appliance.name, appliance.id
                ))
                .with_reason(reasons::APPLIANCE_FAILED));
            }
        }

        let Some(vip) = appliance.virtual_ips().first().copied() else {
            return Err(ProviderError::other(format!(
                "load balancer {} (ID {}) has no VIP in its settings, so its address is unknown; delete it and the Service gets a new one",
                appliance.name, appliance.id
            )));
        };
        let Some(network) = appliance_network(&appliance) else {
            return Err(ProviderError::other(format!(
                "load balancer {} (ID {}) reports no address and netmask (Remark.Servers, Remark.Network); cannot tell which nodes are in its network",
                appliance.name, appliance.id
            )));
        };
        events.extend(immutable_changes(&appliance, options, vip));
        let zone = appliance_zone(&appliance, self.client.zone());
        let described = format!("switch ID {}", appliance.remark.switch.id);
        let nodes = &self
            .reachable(nodes, zone, appliance.remark.switch.id, &described, events)
            .await?;
        let ports = service_ports(service);
        let desired = desired_settings(
            &ports,
            &options.health_check,
            vip,
            &node_targets(nodes),
            network,
        )
        .map_err(|e| ProviderError::from_event(e.event()))?;
        events.extend(desired.events.iter().cloned());

        let pending_apply = self.unapplied().contains(&appliance.id);
        if !settings_equal(&desired.settings, &appliance) {
            let updated = match self
                .zonal(&appliance)
                .update_load_balancer_settings(
                    appliance.id,
                    &desired.settings,
                    Some(appliance.settings_hash.as_str()).filter(|h| !h.is_empty()),
                )
                .await
            {
                Ok(updated) => updated,
                Err(e) => {
                    // A stale SettingsHash: someone else changed it; list again next time.
                    self.appliances.invalidate().await;
                    return Err(write_error(
                        &format!("updating load balancer {} settings", appliance.id),
                        &e,
                        self.poll_interval,
                    ));
                }
            };
            self.unapplied().insert(appliance.id);
            self.appliances.record(|l| upsert(l, &updated)).await;
            self.apply(&appliance).await?;
            let ports: Vec<u64> = desired
                .settings
                .load_balancer
                .iter()
                .map(|v| v.port.0)
                .collect();
            events.push(ProviderEvent::normal(
                reasons::SETTINGS_APPLIED,
                format!(
                    "load balancer {} (ID {}) now serves {}",
                    appliance.name,
                    appliance.id,
                    describe_settings(vip, &ports, &desired.real_servers)
                ),
            ));
        } else if pending_apply {
            self.apply(&appliance).await?;
        }
        Ok(ingress_status(vip))
    }

    /// `PUT …/config`, remembering a failure so the next sync applies again even though the
    /// saved settings already match.
    async fn apply(&self, appliance: &LoadBalancer) -> Result<(), ProviderError> {
        match self
            .zonal(appliance)
            .apply_load_balancer_config(appliance.id)
            .await
        {
            Ok(()) => {
                self.unapplied().remove(&appliance.id);
                Ok(())
            }
            Err(e) => Err(write_error(
                &format!("applying load balancer {} settings", appliance.id),
                &e,
                self.poll_interval,
            )),
        }
    }

    /// Adds this CCM's tags to an appliance of the original CCM.
    async fn adopt(
        &self,
        service: &Service,
        appliance: LoadBalancer,
    ) -> Result<LoadBalancer, ProviderError> {
        let identity = identity(service)?;
        let tags = tags_after_adoption(&appliance.tags, self.cluster_id(), &identity);
        let update = LoadBalancerUpdate {
            tags: Some(tags),
            ..LoadBalancerUpdate::default()
        };
        match self
            .zonal(&appliance)
            .update_load_balancer(appliance.id, &update)
            .await
        {
            Ok(updated) => {
                self.appliances.record(|l| upsert(l, &updated)).await;
                Ok(updated)
            }
            Err(e) => {
                self.appliances.invalidate().await;
                Err(write_error(
                    &format!("adding tags to load balancer {}", appliance.id),
                    &e,
                    self.poll_interval,
                ))
            }
        }
    }

    /// Chooses the router or switch for a new appliance.
    async fn choose_network(
        &self,
        options: &LoadBalancerOptions,
    ) -> Result<ChosenNetwork, ProviderError> {
        match &options.placement {
            Placement::Internet { router_selector } => {
                let routers = self.tagged_routers().await?;
                let router = select_network(
                    &routers.items,
                    NetworkKind::Router,
                    router_selector.as_deref(),
                )
                .map_err(|e| ProviderError::from_event(e.event()))?;
                let listed = self.tagged_switches().await?;
                let router_zone = router
                    .zone
                    .as_ref()
                    .and_then(|z| z.name.parse::<Zone>().ok())
                    .unwrap_or(self.client.zone());
                let switch = match listed.items.iter().find(|s| s.id == router.switch.id) {
                    Some(switch) => switch.clone(),
                    // Tags on the router's switch can differ from the router's: read it.
                    None => self
                        .client
                        .in_zone(router_zone)
                        .read_switch(router.switch.id)
                        .await
                        .map_err(|e| {
                            api_error(&format!("reading switch {}", router.switch.id), &e)
                        })?,
                };
                Ok(ChosenNetwork {
                    zone: switch_zone(&switch, router_zone),
                    pool: router_pool(&switch),
                    described: format!("switch+router {:?} (ID {})", router.name, router.id),
                    switch,
                })
            }
            Placement::Switch {
                switch_selector,
                network,
            } => {
                let switches = self.tagged_switches().await?;
                let switch = select_network(
                    &switches.items,
                    NetworkKind::Switch,
                    switch_selector.as_deref(),
                )
                .map_err(|e| ProviderError::from_event(e.event()))?;
                Ok(ChosenNetwork {
                    zone: switch_zone(switch, self.client.zone()),
                    pool: switch_pool(network),
                    described: format!("switch {:?} (ID {})", switch.name, switch.id),
                    switch: switch.clone(),
                })
            }
        }
    }

    /// `NetworkNotFound` for nodes whose global addresses are all on the shared segment says
    /// what works there: the Enhanced Load Balancer.
    async fn with_shared_segment_hint(
        &self,
        error: ProviderError,
        nodes: &[Arc<Node>],
    ) -> ProviderError {
        let Ok(servers) = self.all_servers().await else {
            return error;
        };
        if !nodes_only_on_shared_segment(nodes, &servers.items.servers) {
            return error;
        }
        ProviderError::from_event(ProviderEvent::warning(
            reasons::NETWORK_NOT_FOUND,
            format!(
                "{}; the nodes' global addresses are on the shared segment, where a load-balancer appliance cannot work: use the Enhanced Load Balancer (annotation k8s.usacloud.jp/load-balancer-type: enhanced, or SAKURACLOUD_LOAD_BALANCERS_LOAD_BALANCER_TYPE=enhanced for the whole cluster)",
                error.message
            ),
        ))
    }

    /// Creates the appliance. Allocation on a switch is serialized, and the appliance is looked
    /// for again under the lock, so neither two Services nor a retry after a crash can take the
    /// same addresses or create it twice.
    async fn create(
        &self,
        service: &Service,
        identity: &ServiceIdentity,
        options: &LoadBalancerOptions,
        nodes: &[Arc<Node>],
        events: &mut Vec<ProviderEvent>,
    ) -> Result<LoadBalancerStatus, ProviderError> {
        let chosen = match self.choose_network(options).await {
            Ok(chosen) => chosen,
            Err(e) if e.reason.as_deref() == Some(reasons::NETWORK_NOT_FOUND) => {
                return Err(self.with_shared_segment_hint(e, nodes).await);
            }
            Err(e) => return Err(e),
        };
        let lock = self.switch_lock(chosen.switch.id);
        let _allocating = lock.lock().await;
        let locked_at = Instant::now();
        // Appliances anew (another writer must be seen before allocating); servers may be a
        // few seconds old: an address a brand-new server took meanwhile is refused by the API
        // and the next attempt lists again.
        let (listed, servers) = tokio::try_join!(
            self.appliances(Freshness::StartedAfter(locked_at)),
            self.all_servers()
        )?;
        if let Some((appliance, ownership)) = self.pick(&listed.items, identity, events) {
            return self
                .reconcile_existing(service, options, nodes, appliance, ownership, events)
                .await;
        }

        let bridged = self.bridged_switches(&chosen.switch).await?;
        let used = used_addresses(
            &servers.items.servers,
            &listed.items,
            &chosen.switch,
            &bridged,
            &[],
        );
        let allocation = allocate(
            &chosen.pool,
            &used,
            options.high_availability,
            options.requested_vip,
        )
        .map_err(|e| ProviderError::from_event(e.event()))?;
        let on_this_switch = listed
            .items
            .iter()
            .filter(|a| on_switch(a, chosen.switch.id));
        let vrid = select_vrid(on_this_switch).map_err(|e| ProviderError::from_event(e.event()))?;
        // Let go of the listing before recording the new appliance in it, so it is changed in
        // place rather than copied.
        drop((listed, servers));
        let network = allocation
            .appliance_ips
            .first()
            .and_then(|ip| Ipv4Cidr::new(*ip, allocation.network_mask_len))
            .ok_or_else(|| ProviderError::other("address allocation returned no address"))?;
        let nodes = &self
            .reachable(
                nodes,
                chosen.zone,
                chosen.switch.id,
                &chosen.described,
                events,
            )
            .await?;
        let desired = desired_settings(
            &service_ports(service),
            &options.health_check,
            allocation.vip,
            &node_targets(nodes),
            network,
        )
        .map_err(|e| ProviderError::from_event(e.event()))?;

        let name = appliance_name(&identity.uid);
        let create = LoadBalancerCreate {
            name: name.clone(),
            description: format!(
                "Kubernetes Service {}/{}{}",
                identity.namespace,
                identity.name,
                self.cluster_id()
                    .map(|c| format!(" (cluster {c})"))
                    .unwrap_or_default()
            ),
            tags: appliance_tags(self.cluster_id(), identity),
            plan_id: options.plan.api_id(),
            switch_id: chosen.switch.id,
            vrid,
            network_mask_len: allocation.network_mask_len,
            default_route: allocation.default_route,
            ip_addresses: allocation.appliance_ips.clone(),
            settings: desired.settings,
        };
        tracing::info!(
            service = %format!("{}/{}", identity.namespace, identity.name),
            name = %name,
            vip = %allocation.vip,
            "creating load balancer"
        );
        match self
            .client
            .in_zone(chosen.zone)
            .create_load_balancer(&create)
            .await
        {
            Ok(created) => {
                self.appliances.record(|l| upsert(l, &created)).await;
                tracing::info!(
                    service = %format!("{}/{}", identity.namespace, identity.name),
                    appliance = %created.id,
                    vip = %allocation.vip,
                    "created load balancer"
                );
                Err(ProviderError::retry_after(
                    self.poll_interval,
                    format!(
                        "created load balancer {name} (ID {}) on {} with VIP {}; waiting for it to boot",
                        created.id, chosen.described, allocation.vip
                    ),
                ))
            }
            Err(e) => {
                // It may exist anyway (a lost response): the next attempt lists again and finds
                // it by its tags instead of creating another.
                self.appliances.invalidate().await;
                Err(api_error(&format!("creating load balancer {name}"), &e))
            }
        }
    }

    /// Shuts down and deletes every appliance of the Service, one step per call.
    pub(super) async fn delete(&self, service: &Service) -> Result<(), ProviderError> {
        let identity = identity(service)?;
        let listed = self
            .appliances(Freshness::Within(self.poll_interval))
            .await?;
        let ours = find_ours(&listed.items, self.cluster_id(), &identity);
        let mut waiting: Vec<String> = Vec::new();
        for (appliance, _) in ours {
            let what = format!("load balancer {} (ID {})", appliance.name, appliance.id);
            match phase(appliance) {
                Phase::Creating => waiting.push(format!("{what} is still being created")),
                Phase::ShuttingDown => waiting.push(format!("{what} is shutting down")),
                Phase::Up => {
                    let zonal = self.zonal(appliance);
                    match zonal.shutdown_load_balancer(appliance.id, true).await {
                        Ok(()) => {}
                        Err(e) if e.is_conflict() => {}
                        Err(e) => return Err(api_error(&format!("shutting down {what}"), &e)),
                    }
                    self.appliances.invalidate().await;
                    waiting.push(format!("{what} is shutting down"));
                }
                Phase::Down | Phase::Failed => {
                    match self
                        .zonal(appliance)
                        .delete_load_balancer(appliance.id)
                        .await
                    {
                        Ok(_) => {}
                        Err(e) if e.is_not_found() => {}
                        Err(e) if e.is_conflict() => {
                            self.appliances.invalidate().await;
                            waiting.push(format!("{what} is not down yet"));
                            continue;
                        }
                        Err(e) => return Err(api_error(&format!("deleting {what}"), &e)),
                    }
                    let id = appliance.id;
                    self.appliances.record(|l| l.retain(|a| a.id != id)).await;
                    self.unapplied().remove(&id);
                    tracing::info!(appliance = %id, "deleted load balancer");
                }
            }
        }
        if waiting.is_empty() {
            return Ok(());
        }
        Err(ProviderError::retry_after(
            self.poll_interval,
            format!("{}; deleting it once it is down", waiting.join("; ")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::annotations::{TrafficPolicy, parse_appliance};
    use sacloud::api::common::{IdRef, Instance};
    use sacloud::api::load_balancer::RemarkServer;
    use std::collections::BTreeMap;

    fn appliance(
        availability: Option<Availability>,
        status: Option<InstanceStatus>,
    ) -> LoadBalancer {
        let mut lb: LoadBalancer =
            serde_json::from_value(serde_json::json!({"ID": "1", "Class": "loadbalancer"}))
                .unwrap();
        lb.availability = availability;
        lb.instance = status.map(|status| Instance {
            status,
            before_status: None,
            status_changed_at: None,
        });
        lb
    }

    #[test]
    fn phases() {
        use Availability as A;
        use InstanceStatus as S;
        for (availability, status, expected) in [
            (Some(A::Migrating), Some(S::Down), Phase::Creating),
            (Some(A::Migrating), Some(S::Up), Phase::Creating),
            (Some(A::Failed), None, Phase::Failed),
            (Some(A::Available), Some(S::Up), Phase::Up),
            (Some(A::Available), Some(S::Cleaning), Phase::ShuttingDown),
            (Some(A::Available), Some(S::Down), Phase::Down),
            (None, Some(S::Up), Phase::Up),
            (Some(A::Available), None, Phase::Down),
        ] {
            assert_eq!(
                phase(&appliance(availability.clone(), status.clone())),
                expected,
                "{availability:?} {status:?}"
            );
        }
    }

    fn identity(uid: &str) -> ServiceIdentity {
        ServiceIdentity {
            namespace: "default".into(),
            name: "web".into(),
            uid: uid.into(),
        }
    }

    #[test]
    fn only_this_services_load_balancers_are_ours() {
        let me = identity("11111111-2222-3333-4444-555555555555");
        let other = identity("99999999-2222-3333-4444-555555555555");
        let mut mine = appliance(None, None);
        mine.id = Id(3);
        mine.tags = appliance_tags(Some("c1"), &me);
        let mut original = appliance(None, None);
        original.id = Id(2);
        original.name = appliance_name(&me.uid);
        original.tags = vec!["@k8s".into(), "@k8s.ClusterID=c1".into()];
        let mut theirs = appliance(None, None);
        theirs.id = Id(4);
        theirs.tags = appliance_tags(Some("c1"), &other);
        let mut untagged = appliance(None, None);
        untagged.id = Id(5);
        untagged.name = appliance_name(&me.uid);
        let mut vpc_router = mine.clone();
        vpc_router.id = Id(6);
        vpc_router.class = "vpcrouter".into();
        let all = vec![mine, original, theirs, untagged, vpc_router];

        let found: Vec<(Id, Ownership)> = find_ours(&all, Some("c1"), &me)
            .into_iter()
            .map(|(a, o)| (a.id, o))
            .collect();
        assert_eq!(
            found,
            vec![
                (Id(2), Ownership::AdoptableFromOriginal),
                (Id(3), Ownership::Ours)
            ]
        );
        assert!(
            find_ours(&all, Some("c2"), &me).is_empty(),
            "another cluster"
        );
    }

    fn options(annotations: &[(&str, &str)], vip: Option<&str>) -> LoadBalancerOptions {
        let annotations: BTreeMap<String, String> = annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        parse_appliance(&annotations, vip, TrafficPolicy::Cluster).unwrap()
    }

    #[test]
    fn plan_redundancy_and_vip_cannot_change_in_place() {
        let vip: Ipv4Addr = "203.0.113.100".parse().unwrap();
        let mut lb = appliance(None, None);
        lb.plan = Some(IdRef { id: Id(1) });
        lb.remark.servers = vec![RemarkServer {
            ip_address: Some("203.0.113.101".parse().unwrap()),
        }];
        assert!(immutable_changes(&lb, &options(&[], None), vip).is_empty());
        assert!(immutable_changes(&lb, &options(&[], Some("203.0.113.100")), vip).is_empty());

        let events = immutable_changes(
            &lb,
            &options(
                &[
                    ("k8s.usacloud.jp/load-balancer-plan", "premium"),
                    ("k8s.usacloud.jp/load-balancer-ha", "true"),
                ],
                Some("203.0.113.105"),
            ),
            vip,
        );
        assert_eq!(events.len(), 1, "one event for all of them");
        let event = &events[0];
        assert!(event.warning);
        assert_eq!(event.reason, reasons::IMMUTABLE_SETTING_CHANGED);
        for part in ["plan", "high availability", "203.0.113.105", "re-create"] {
            assert!(event.message.contains(part), "{part}: {}", event.message);
        }
    }

    #[test]
    fn status_is_the_vip() {
        let status = ingress_status("203.0.113.100".parse().unwrap());
        let ingress = status.ingress.unwrap();
        assert_eq!(ingress.len(), 1);
        assert_eq!(ingress[0].ip.as_deref(), Some("203.0.113.100"));
    }

    #[test]
    fn upsert_replaces_by_id() {
        let mut listing = vec![appliance(None, None)];
        let mut changed = appliance(None, Some(InstanceStatus::Up));
        changed.name = "x".into();
        upsert(&mut listing, &changed);
        assert_eq!(listing.len(), 1);
        assert_eq!(listing[0].name, "x");
        changed.id = Id(2);
        upsert(&mut listing, &changed);
        assert_eq!(listing.len(), 2);
    }
}
