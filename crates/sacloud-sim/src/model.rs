//! Internal resource records, as stored and persisted.
//!
//! These are the simulator's own shapes, deliberately not the wire shapes: `wire` renders them into
//! the JSON the real API returns. They derive serde only for the state file and `/_sim/state`.

use crate::ip::Cidr;
use crate::lb::LbEntry;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::Ipv4Addr;

/// `Instance.Status` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceStatus {
    /// Running.
    Up,
    /// Shutting down.
    Cleaning,
    /// Stopped.
    Down,
}

impl InstanceStatus {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Cleaning => "cleaning",
            Self::Down => "down",
        }
    }
}

/// `Availability` values the simulator produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    /// Ready.
    Available,
    /// Being created.
    Migrating,
    /// Creation failed (only via the admin API).
    Failed,
}

impl Availability {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Migrating => "migrating",
            Self::Failed => "failed",
        }
    }
}

/// A state change scheduled for a point in simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// Simulated unix ms at which the change happens.
    pub due_ms: u64,
    /// Status after the change.
    pub status: InstanceStatus,
    /// Availability after the change.
    pub availability: Availability,
}

/// Power and availability of a server or appliance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Power {
    /// Current `Instance.Status`.
    pub status: InstanceStatus,
    /// Previous status (`Instance.BeforeStatus`).
    pub before_status: Option<InstanceStatus>,
    /// Current `Availability`.
    pub availability: Availability,
    /// When the status last changed (simulated unix ms).
    pub changed_at_ms: u64,
    /// Change in progress, if any.
    pub pending: Option<Transition>,
}

/// What a NIC is plugged into.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NicConn {
    /// The zone's shared segment; SAKURA assigns `IPAddress`.
    Shared {
        /// Assigned global address.
        ip: Ipv4Addr,
    },
    /// A switch (plain or a router's); the user declares `UserIPAddress`.
    Switch {
        /// Switch ID.
        switch_id: u64,
        /// Declared address, if any.
        ip: Option<Ipv4Addr>,
        /// Declared prefix length (plain switches only; router switches use the router's).
        mask_len: Option<u8>,
        /// Declared default route (plain switches only).
        default_route: Option<Ipv4Addr>,
    },
    /// Not connected.
    Disconnected,
}

/// A server NIC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nic {
    /// Interface ID.
    pub id: u64,
    /// MAC address, upper case with colons.
    pub mac: String,
    /// Upstream.
    pub conn: NicConn,
}

/// A server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Server {
    /// Resource ID.
    pub id: u64,
    /// Zone name.
    pub zone: String,
    /// Name.
    pub name: String,
    /// Host name.
    pub host_name: String,
    /// Description.
    pub description: String,
    /// Tags, kept sorted.
    pub tags: Vec<String>,
    /// vCPUs.
    pub cpu: u32,
    /// Memory in MiB.
    pub memory_mb: u32,
    /// Power state.
    pub power: Power,
    /// NICs in order (index 0 is what most clients look at).
    pub nics: Vec<Nic>,
    /// Creation time (simulated unix ms).
    pub created_at_ms: u64,
    /// Hypervisor host name shown in `Instance.Host.Name`.
    pub host: String,
}

/// Plain-switch network information declared by the scenario (the real API only knows
/// `UserSubnet`, which is informational).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSubnet {
    /// Network, if declared; used to allocate addresses for NICs without `ip`.
    pub network: Option<Cidr>,
    /// Default route, if declared.
    pub default_route: Option<Ipv4Addr>,
}

/// A switch: plain, or the switch half of a router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Switch {
    /// Resource ID.
    pub id: u64,
    /// Zone name.
    pub zone: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Tags, kept sorted.
    pub tags: Vec<String>,
    /// Creation time (simulated unix ms).
    pub created_at_ms: u64,
    /// The router this switch belongs to.
    pub router_id: Option<u64>,
    /// Declared private network (plain switches).
    pub user_subnet: Option<UserSubnet>,
}

/// A router ("internet" resource) with its global subnet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Router {
    /// Resource ID.
    pub id: u64,
    /// Zone name.
    pub zone: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Tags, kept sorted.
    pub tags: Vec<String>,
    /// Creation time (simulated unix ms).
    pub created_at_ms: u64,
    /// Its switch.
    pub switch_id: u64,
    /// ID of the subnet object.
    pub subnet_id: u64,
    /// The global network.
    pub network: Cidr,
    /// Bandwidth in Mbps.
    pub bandwidth_mbps: u32,
}

/// Class-specific appliance settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ApplianceSettings {
    /// `Settings.LoadBalancer`, validated and typed.
    LoadBalancer(Vec<LbEntry>),
    /// Any other class: kept as given and echoed back.
    Other(Value),
}

/// An appliance (load balancer, or a VPC router / database seeded for IP accounting).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Appliance {
    /// Resource ID.
    pub id: u64,
    /// Zone name.
    pub zone: String,
    /// `loadbalancer`, `vpcrouter`, `database`, …
    pub class: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Tags, kept sorted.
    pub tags: Vec<String>,
    /// `Icon` as given (usually null).
    pub icon: Value,
    /// Plan ID (1 standard, 2 highspec for LBs).
    pub plan_id: u64,
    /// Switch it is attached to.
    pub switch_id: u64,
    /// VRRP VRID.
    pub vrid: u32,
    /// `Remark.Network.NetworkMaskLen`.
    pub mask_len: u8,
    /// `Remark.Network.DefaultRoute`.
    pub default_route: Option<Ipv4Addr>,
    /// `Remark.Servers[].IPAddress`: the appliance's own addresses.
    pub ips: Vec<Ipv4Addr>,
    /// Extra addresses it occupies (VPC router aliases etc.; LB VIPs come from settings).
    pub extra_ips: Vec<Ipv4Addr>,
    /// Interface IDs, one per address in `ips`.
    pub nic_ids: Vec<u64>,
    /// Settings.
    pub settings: ApplianceSettings,
    /// Current `SettingsHash`.
    pub settings_hash: String,
    /// Settings in effect (last `config` or creation); status reflects these.
    pub applied: Option<ApplianceSettings>,
    /// Power state.
    pub power: Power,
    /// Creation time (simulated unix ms).
    pub created_at_ms: u64,
    /// Load balancers: real-server health set through the admin API or a scenario, `"ip:port"`
    /// or `"ip"` → `up`/`down`; it wins over the health derived from server power.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub server_health: std::collections::BTreeMap<String, String>,
}

impl Appliance {
    /// Every address this appliance occupies on its switch: own addresses, VIPs, extras.
    pub fn occupied_ips(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        let vips: Vec<Ipv4Addr> = match &self.settings {
            ApplianceSettings::LoadBalancer(entries) => entries.iter().map(|e| e.vip).collect(),
            ApplianceSettings::Other(_) => Vec::new(),
        };
        self.ips
            .iter()
            .copied()
            .chain(self.extra_ips.iter().copied())
            .chain(vips)
    }
}

/// Normalise tags the way the real API returns them: sorted, without duplicates.
pub fn sorted_tags(mut tags: Vec<String>) -> Vec<String> {
    tags.sort();
    tags.dedup();
    tags
}
