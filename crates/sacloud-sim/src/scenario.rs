//! Scenarios: a YAML/JSON description of routers, switches, servers and appliances, applied to the
//! store. The same specs back the admin API's "add" endpoints, so a scenario file and a test that
//! seeds over HTTP describe resources identically.

use crate::error::SimError;
use crate::ip::{Allocator, Cidr, carve, in_range, router_layout};
use crate::lb;
use crate::lifecycle;
use crate::model::{
    Appliance, ApplianceSettings, InstanceStatus, Nic, NicConn, Router, Server, Switch, UserSubnet,
    sorted_tags,
};
use crate::store::{ROUTER_POOL, SHARED_SWITCH_BASE, State, SwitchNet, shared_segment};
use crate::zones;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// Zone used when neither the scenario nor the item names one.
pub const DEFAULT_ZONE: &str = "is1a";

/// A whole scenario document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Default zone for every item (default `is1a`).
    #[serde(default)]
    pub zone: Option<String>,
    /// Routers (switch+router); each router's switch gets the same name and tags.
    #[serde(default)]
    pub routers: Vec<RouterSpec>,
    /// Plain switches.
    #[serde(default)]
    pub switches: Vec<SwitchSpec>,
    /// Servers.
    #[serde(default)]
    pub servers: Vec<ServerSpec>,
    /// Appliances, typically `vpcrouter`/`database` whose addresses must count as used.
    #[serde(default)]
    pub appliances: Vec<ApplianceSpec>,
    /// Enhanced Load Balancers (global; `zone` does not apply), validated like a create request.
    #[serde(default)]
    pub proxylbs: Vec<ProxyLbSpec>,
    /// Bridges joining switches of several zones (after every switch and router exists).
    #[serde(default)]
    pub bridges: Vec<crate::bridge::BridgeSpec>,
}

/// An Enhanced Load Balancer that already exists.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyLbSpec {
    /// Name.
    pub name: String,
    /// Tags (at most 10).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Plan in CPS (default 100).
    #[serde(default)]
    pub plan: Option<u32>,
    /// `is1` (default), `tk1` or `anycast`.
    #[serde(default)]
    pub region: Option<String>,
    /// VIP failover (then it gets an FQDN).
    #[serde(default)]
    pub vip_failover: bool,
    /// `Settings.ProxyLB` in the API's shape; default: one `tcp` listener on port 80, no real
    /// servers, a TCP health check.
    #[serde(default)]
    pub settings: Option<Value>,
}

/// A router with its global subnet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSpec {
    /// Name (also the switch's name).
    pub name: String,
    /// Tags (also the switch's tags).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// 26, 27 or 28 (default 28).
    #[serde(default)]
    pub prefix_len: Option<u8>,
    /// Explicit network such as `203.0.113.16/28`; chosen by the simulator otherwise.
    #[serde(default)]
    pub network: Option<String>,
    /// Bandwidth in Mbps (default 100).
    #[serde(default)]
    pub bandwidth_mbps: Option<u32>,
    /// Zone override.
    #[serde(default)]
    pub zone: Option<String>,
}

/// A plain switch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchSpec {
    /// Name.
    pub name: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Optional private network (`192.168.0.0/24`), used to allocate NIC addresses without `ip`.
    #[serde(default)]
    pub network: Option<String>,
    /// Optional default route inside `network`.
    #[serde(default)]
    pub default_route: Option<String>,
    /// Zone override.
    #[serde(default)]
    pub zone: Option<String>,
}

/// Server plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSpec {
    /// vCPUs (default 1).
    #[serde(default = "one")]
    pub cpu: u32,
    /// Memory in GB (default 1).
    #[serde(default = "one")]
    pub memory_gb: u32,
}

fn one() -> u32 {
    1
}

impl Default for PlanSpec {
    fn default() -> Self {
        Self {
            cpu: 1,
            memory_gb: 1,
        }
    }
}

/// Power state requested for a seeded resource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerSpec {
    /// Running (default).
    #[default]
    Up,
    /// Stopped.
    Down,
}

impl From<PowerSpec> for InstanceStatus {
    fn from(p: PowerSpec) -> Self {
        match p {
            PowerSpec::Up => InstanceStatus::Up,
            PowerSpec::Down => InstanceStatus::Down,
        }
    }
}

/// A server NIC: exactly one of `router`, `switch`, `switch_id` or `shared: true` (none of them
/// gives a disconnected NIC).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NicSpec {
    /// Router name: the NIC joins its switch and gets the next free address of its range.
    #[serde(default)]
    pub router: Option<String>,
    /// Switch name (plain or a router's).
    #[serde(default)]
    pub switch: Option<String>,
    /// Switch ID, for the admin API when names are ambiguous.
    #[serde(default)]
    pub switch_id: Option<u64>,
    /// Shared segment.
    #[serde(default)]
    pub shared: Option<bool>,
    /// Explicit address.
    #[serde(default)]
    pub ip: Option<String>,
    /// Prefix length for plain switches (shown as `UserSubnet.NetworkMaskLen`).
    #[serde(default)]
    pub prefix_len: Option<u8>,
    /// Default route for plain switches.
    #[serde(default)]
    pub default_route: Option<String>,
}

/// A server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Name.
    pub name: String,
    /// Host name (default: the name).
    #[serde(default)]
    pub host_name: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Plan.
    #[serde(default)]
    pub plan: PlanSpec,
    /// Power state (default up).
    #[serde(default)]
    pub status: PowerSpec,
    /// NICs in order.
    #[serde(default)]
    pub nics: Vec<NicSpec>,
    /// Zone override.
    #[serde(default)]
    pub zone: Option<String>,
}

/// An appliance seeded directly (no validation beyond addresses): mainly `vpcrouter` and
/// `database`, whose addresses then count as used when load balancers are created.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplianceSpec {
    /// `vpcrouter`, `database`, `loadbalancer`, …
    pub class: String,
    /// Name.
    pub name: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Router whose switch it sits on.
    #[serde(default)]
    pub router: Option<String>,
    /// Switch name.
    #[serde(default)]
    pub switch: Option<String>,
    /// Switch ID.
    #[serde(default)]
    pub switch_id: Option<u64>,
    /// Its own addresses (`Remark.Servers`); one is allocated when empty and the switch has a range.
    #[serde(default)]
    pub ips: Vec<String>,
    /// Further addresses it occupies (VPC router aliases, a database VIP, …).
    #[serde(default)]
    pub extra_ips: Vec<String>,
    /// Plan ID (default 1).
    #[serde(default)]
    pub plan_id: Option<u64>,
    /// VRID (default: smallest free on the switch).
    #[serde(default)]
    pub vrid: Option<u32>,
    /// Prefix length (default: the switch network's).
    #[serde(default)]
    pub prefix_len: Option<u8>,
    /// Default route.
    #[serde(default)]
    pub default_route: Option<String>,
    /// Power state (default up).
    #[serde(default)]
    pub status: PowerSpec,
    /// `Settings` object as the API would show it (for `loadbalancer`: `{"LoadBalancer":[…]}`).
    #[serde(default)]
    pub settings: Option<Value>,
    /// Load balancers: real servers whose health check fails or passes whatever their power,
    /// `"203.0.113.20": down` or `"203.0.113.20:80": up` (as `PUT /_sim/appliances/{id}/health`).
    #[serde(default)]
    pub server_health: std::collections::BTreeMap<String, String>,
    /// Zone override.
    #[serde(default)]
    pub zone: Option<String>,
}

/// IDs created by applying a scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Router IDs.
    pub routers: Vec<u64>,
    /// Switch IDs (plain switches and routers' switches).
    pub switches: Vec<u64>,
    /// Server IDs.
    pub servers: Vec<u64>,
    /// Appliance IDs.
    pub appliances: Vec<u64>,
    /// Enhanced Load Balancer IDs.
    #[serde(default)]
    pub proxylbs: Vec<u64>,
    /// Bridge IDs.
    #[serde(default)]
    pub bridges: Vec<u64>,
}

impl Scenario {
    /// Parse YAML or JSON (JSON when the document starts with `{`).
    pub fn parse(text: &str) -> Result<Self, SimError> {
        if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| SimError::Scenario(format!("invalid JSON: {e}")))
        } else {
            serde_saphyr::from_str(text)
                .map_err(|e| SimError::Scenario(format!("invalid YAML: {e}")))
        }
    }

    /// Read and parse a scenario file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SimError::Scenario(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text)
    }
}

fn zone_of(item: Option<&String>, default: &str) -> Result<String, String> {
    let z = item.map_or(default, String::as_str);
    zones::by_name(z)
        .map(|z| z.name.to_owned())
        .ok_or_else(|| format!("unknown zone {z:?}"))
}

fn ip(s: &str, what: &str) -> Result<Ipv4Addr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{what}: {s:?} is not an IPv4 address"))
}

fn opt_ip(s: Option<&String>, what: &str) -> Result<Option<Ipv4Addr>, String> {
    s.map(|s| ip(s, what)).transpose()
}

fn name_ok(name: &str, what: &str) -> Result<(), String> {
    let n = name.chars().count();
    if (1..=64).contains(&n) {
        Ok(())
    } else {
        Err(format!("{what} name must be 1-64 characters, got {name:?}"))
    }
}

/// Read a scenario's `server_health` (`"ip"` or `"ip:port"` → `up`/`down`) into the stored form.
fn parse_server_health(
    spec: &std::collections::BTreeMap<String, String>,
    what: &str,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let mut out = std::collections::BTreeMap::new();
    for (key, status) in spec {
        let (addr, port) = match key.split_once(':') {
            Some((a, p)) => (
                a,
                Some(
                    p.parse::<u16>()
                        .map_err(|_| format!("{what}: server_health key {key:?}: bad port"))?,
                ),
            ),
            None => (key.as_str(), None),
        };
        let addr = ip(addr, &format!("{what}: server_health key {key:?}"))?;
        lb::set_server_health(&mut out, addr, port, Some(status))
            .map_err(|e| format!("{what}: server_health {key:?}: {e}"))?;
    }
    Ok(out)
}

/// Applies specs to a state, allocating addresses per switch without rescanning.
struct Applier<'s> {
    st: &'s mut State,
    now_ms: u64,
    allocators: HashMap<u64, Allocator>,
}

impl Applier<'_> {
    fn find_router(&self, zone: &str, name: &str) -> Result<u64, String> {
        self.st
            .routers
            .values()
            .find(|r| r.zone == zone && r.name == name)
            .map(|r| r.switch_id)
            .ok_or_else(|| format!("no router named {name:?} in zone {zone}"))
    }

    fn find_switch(&self, zone: &str, name: &str) -> Result<u64, String> {
        self.st
            .switches
            .values()
            .find(|s| s.zone == zone && s.name == name)
            .map(|s| s.id)
            .ok_or_else(|| format!("no switch named {name:?} in zone {zone}"))
    }

    fn resolve_switch(
        &self,
        zone: &str,
        router: Option<&String>,
        switch: Option<&String>,
        id: Option<u64>,
    ) -> Result<Option<u64>, String> {
        match (router, switch, id) {
            (Some(r), None, None) => self.find_router(zone, r).map(Some),
            (None, Some(s), None) => self.find_switch(zone, s).map(Some),
            (None, None, Some(id)) => match self.st.switches.get(&id) {
                Some(sw) if sw.zone == zone => Ok(Some(id)),
                _ => Err(format!("no switch with ID {id} in zone {zone}")),
            },
            (None, None, None) => Ok(None),
            _ => Err("give only one of router, switch, switch_id".to_owned()),
        }
    }

    /// The allocator for a switch's assignable addresses (router range or declared network).
    fn allocator(&mut self, switch_id: u64) -> Result<&mut Allocator, String> {
        if !self.allocators.contains_key(&switch_id) {
            let used = self.st.used_on_switch(switch_id, None);
            let (min, max) = match self.st.switch_net(switch_id) {
                Some(SwitchNet::Router { layout, .. }) => (layout.min, layout.max),
                Some(SwitchNet::Plain {
                    declared: Some(net),
                    ..
                }) if net.size() >= 4 => {
                    let min = net.nth(1).ok_or("network too small")?;
                    let max = net.nth(net.size() - 2).ok_or("network too small")?;
                    (min, max)
                }
                _ => {
                    return Err(format!(
                        "switch {switch_id} has no known network: give `ip`"
                    ));
                }
            };
            let mut alloc = Allocator::new(min, max, used);
            if let Some(SwitchNet::Plain {
                default_route: Some(gw),
                ..
            }) = self.st.switch_net(switch_id)
            {
                alloc.claim(gw);
            }
            self.allocators.insert(switch_id, alloc);
        }
        self.allocators
            .get_mut(&switch_id)
            .ok_or_else(|| "allocator missing".to_owned())
    }

    /// Claim or allocate an address on a switch, checking range for router switches.
    fn address_on(
        &mut self,
        switch_id: u64,
        wanted: Option<Ipv4Addr>,
        what: &str,
    ) -> Result<Option<Ipv4Addr>, String> {
        let net = self.st.switch_net(switch_id);
        match wanted {
            Some(addr) => {
                if let Some(SwitchNet::Router { layout, .. }) = net
                    && !in_range(addr, layout.min, layout.max)
                {
                    return Err(format!(
                        "{what}: {addr} is outside the router range {}-{}",
                        layout.min, layout.max
                    ));
                }
                let claimed = match self.allocator(switch_id) {
                    Ok(a) => a.claim(addr),
                    Err(_) => !self.st.used_on_switch(switch_id, None).contains(&addr),
                };
                if !claimed {
                    return Err(format!(
                        "{what}: {addr} is already in use on switch {switch_id}"
                    ));
                }
                Ok(Some(addr))
            }
            None => {
                match net {
                    Some(SwitchNet::Plain { declared: None, .. }) => Ok(None),
                    _ => self.allocator(switch_id)?.next().map(Some).ok_or_else(|| {
                        format!("{what}: no free address left on switch {switch_id}")
                    }),
                }
            }
        }
    }

    fn router(&mut self, spec: &RouterSpec, zone: &str) -> Result<(u64, u64), String> {
        name_ok(&spec.name, "router")?;
        let net = match (&spec.network, spec.prefix_len) {
            (Some(n), p) => {
                let c = Cidr::parse(n)?;
                if p.is_some_and(|p| p != c.prefix) {
                    return Err(format!(
                        "router {}: prefix_len disagrees with network {n}",
                        spec.name
                    ));
                }
                if let Some(other) = self.st.router_networks().iter().find(|o| o.overlaps(&c)) {
                    return Err(format!(
                        "router {}: network {c} overlaps {other}",
                        spec.name
                    ));
                }
                c
            }
            (None, p) => {
                let p = p.unwrap_or(28);
                let pool = Cidr::parse(ROUTER_POOL)?;
                carve(pool, p, &self.st.router_networks()).ok_or("router pool exhausted")?
            }
        };
        if !(26..=28).contains(&net.prefix) || router_layout(net).is_none() {
            return Err(format!(
                "router {}: prefix_len must be 26, 27 or 28",
                spec.name
            ));
        }
        let (rid, sid, subnet_id) = (self.st.alloc_id(), self.st.alloc_id(), self.st.alloc_id());
        let tags = sorted_tags(spec.tags.clone());
        self.st.switches.insert(
            sid,
            Switch {
                id: sid,
                zone: zone.to_owned(),
                name: spec.name.clone(),
                description: spec.description.clone(),
                tags: tags.clone(),
                created_at_ms: self.now_ms,
                router_id: Some(rid),
                user_subnet: None,
            },
        );
        self.st.routers.insert(
            rid,
            Router {
                id: rid,
                zone: zone.to_owned(),
                name: spec.name.clone(),
                description: spec.description.clone(),
                tags,
                created_at_ms: self.now_ms,
                switch_id: sid,
                subnet_id,
                network: net,
                bandwidth_mbps: spec.bandwidth_mbps.unwrap_or(100),
            },
        );
        Ok((rid, sid))
    }

    fn switch(&mut self, spec: &SwitchSpec, zone: &str) -> Result<u64, String> {
        name_ok(&spec.name, "switch")?;
        let network = spec.network.as_deref().map(Cidr::parse).transpose()?;
        let default_route = opt_ip(spec.default_route.as_ref(), "default_route")?;
        if let (Some(n), Some(gw)) = (network, default_route)
            && !n.is_host(gw)
        {
            return Err(format!(
                "switch {}: default_route {gw} is not inside {n}",
                spec.name
            ));
        }
        let id = self.st.alloc_id();
        self.st.switches.insert(
            id,
            Switch {
                id,
                zone: zone.to_owned(),
                name: spec.name.clone(),
                description: spec.description.clone(),
                tags: sorted_tags(spec.tags.clone()),
                created_at_ms: self.now_ms,
                router_id: None,
                user_subnet: (network.is_some() || default_route.is_some()).then_some(UserSubnet {
                    network,
                    default_route,
                }),
            },
        );
        Ok(id)
    }

    fn nic(&mut self, spec: &NicSpec, zone: &str, what: &str) -> Result<NicConn, String> {
        let wanted = opt_ip(spec.ip.as_ref(), what)?;
        if spec.shared == Some(true) {
            if spec.router.is_some() || spec.switch.is_some() || spec.switch_id.is_some() {
                return Err(format!("{what}: shared and a switch are exclusive"));
            }
            let z = zones::by_name(zone).ok_or("unknown zone")?;
            let seg = shared_segment(z);
            let key = SHARED_SWITCH_BASE + u64::from(z.index);
            if !self.allocators.contains_key(&key) {
                let (min, max) = (
                    seg.nth(2).ok_or("segment")?,
                    seg.nth(seg.size() - 2).ok_or("segment")?,
                );
                self.allocators
                    .insert(key, Allocator::new(min, max, self.st.used_shared(zone)));
            }
            let alloc = self.allocators.get_mut(&key).ok_or("allocator missing")?;
            let addr = match wanted {
                Some(a) if !seg.is_host(a) => {
                    return Err(format!("{what}: {a} is outside the shared segment {seg}"));
                }
                Some(a) if !alloc.claim(a) => return Err(format!("{what}: {a} is already in use")),
                Some(a) => a,
                None => alloc
                    .next()
                    .ok_or_else(|| format!("{what}: shared segment {seg} is full"))?,
            };
            return Ok(NicConn::Shared { ip: addr });
        }
        let Some(switch_id) = self.resolve_switch(
            zone,
            spec.router.as_ref(),
            spec.switch.as_ref(),
            spec.switch_id,
        )?
        else {
            return Ok(NicConn::Disconnected);
        };
        let addr = self.address_on(switch_id, wanted, what)?;
        Ok(NicConn::Switch {
            switch_id,
            ip: addr,
            mask_len: spec.prefix_len,
            default_route: opt_ip(spec.default_route.as_ref(), what)?,
        })
    }

    fn server(&mut self, spec: &ServerSpec, zone: &str) -> Result<u64, String> {
        name_ok(&spec.name, "server")?;
        if spec.plan.cpu == 0 || spec.plan.memory_gb == 0 {
            return Err(format!(
                "server {}: plan needs cpu and memory_gb of at least 1",
                spec.name
            ));
        }
        let id = self.st.alloc_id();
        let mut nics = Vec::with_capacity(spec.nics.len());
        for (i, n) in spec.nics.iter().enumerate() {
            let conn = self.nic(n, zone, &format!("server {} nic {i}", spec.name))?;
            nics.push(Nic {
                id: self.st.alloc_id(),
                mac: self.st.alloc_mac(),
                conn,
            });
        }
        self.st.servers.insert(
            id,
            Server {
                id,
                zone: zone.to_owned(),
                name: spec.name.clone(),
                host_name: spec.host_name.clone().unwrap_or_else(|| spec.name.clone()),
                description: spec.description.clone(),
                tags: sorted_tags(spec.tags.clone()),
                cpu: spec.plan.cpu,
                memory_mb: spec.plan.memory_gb.saturating_mul(1024),
                power: lifecycle::settled(self.now_ms, spec.status.into()),
                nics,
                created_at_ms: self.now_ms,
                host: format!("sac-{zone}-sv{:03}", id % 1000),
            },
        );
        Ok(id)
    }

    fn appliance(&mut self, spec: &ApplianceSpec, zone: &str) -> Result<u64, String> {
        name_ok(&spec.name, "appliance")?;
        if spec.class.is_empty() {
            return Err("appliance class is required".to_owned());
        }
        let what = format!("appliance {}", spec.name);
        let switch_id = self
            .resolve_switch(
                zone,
                spec.router.as_ref(),
                spec.switch.as_ref(),
                spec.switch_id,
            )?
            .ok_or_else(|| format!("{what}: give router, switch or switch_id"))?;
        let mut ips = Vec::new();
        for s in &spec.ips {
            ips.extend(self.address_on(switch_id, Some(ip(s, &what)?), &what)?);
        }
        if ips.is_empty() {
            ips.extend(self.address_on(switch_id, None, &what)?);
        }
        if ips.is_empty() {
            return Err(format!(
                "{what}: give ips (the switch has no known network)"
            ));
        }
        let mut extra_ips = Vec::new();
        for s in &spec.extra_ips {
            extra_ips.extend(self.address_on(switch_id, Some(ip(s, &what)?), &what)?);
        }
        let net = self.st.switch_net(switch_id);
        let (net_prefix, net_gw) = match net {
            Some(SwitchNet::Router { net, layout }) => (Some(net.prefix), Some(layout.gateway)),
            Some(SwitchNet::Plain {
                declared,
                default_route,
            }) => (declared.map(|d| d.prefix), default_route),
            None => (None, None),
        };
        let used_vrids = self.st.vrids_on_switch(switch_id, None);
        let vrid = spec
            .vrid
            .unwrap_or_else(|| (1..).find(|v| !used_vrids.contains(v)).unwrap_or(1));
        let settings = match (spec.class.as_str(), &spec.settings) {
            ("loadbalancer", s) => ApplianceSettings::LoadBalancer(
                lb::parse_settings(s.as_ref()).map_err(|e| format!("{what}: {}", e.message))?,
            ),
            (_, s) => ApplianceSettings::Other(s.clone().unwrap_or(Value::Null)),
        };
        let server_health = parse_server_health(&spec.server_health, &what)?;
        let hash = lb::settings_hash(&crate::render::settings(&settings));
        let id = self.st.alloc_id();
        let nic_ids = ips.iter().map(|_| self.st.alloc_id()).collect();
        self.st.appliances.insert(
            id,
            Appliance {
                id,
                zone: zone.to_owned(),
                class: spec.class.clone(),
                name: spec.name.clone(),
                description: spec.description.clone(),
                tags: sorted_tags(spec.tags.clone()),
                icon: Value::Null,
                plan_id: spec.plan_id.unwrap_or(1),
                switch_id,
                vrid,
                mask_len: spec.prefix_len.or(net_prefix).unwrap_or(24),
                default_route: opt_ip(spec.default_route.as_ref(), &what)?.or(net_gw),
                ips,
                extra_ips,
                nic_ids,
                applied: Some(settings.clone()),
                settings,
                settings_hash: hash,
                power: lifecycle::settled(self.now_ms, spec.status.into()),
                created_at_ms: self.now_ms,
                server_health,
            },
        );
        Ok(id)
    }
}

/// Apply a scenario to `st`. On error `st` may be partly changed: callers apply to a copy and swap
/// it in only on success, so a bad scenario never leaves half a topology behind.
pub fn apply(st: &mut State, sc: &Scenario, now_ms: u64) -> Result<Applied, String> {
    let default_zone = zone_of(sc.zone.as_ref(), DEFAULT_ZONE)?;
    let mut ap = Applier {
        st,
        now_ms,
        allocators: HashMap::new(),
    };
    let mut out = Applied::default();
    for r in &sc.routers {
        let (rid, sid) = ap.router(r, &zone_of(r.zone.as_ref(), &default_zone)?)?;
        out.routers.push(rid);
        out.switches.push(sid);
    }
    for s in &sc.switches {
        out.switches
            .push(ap.switch(s, &zone_of(s.zone.as_ref(), &default_zone)?)?);
    }
    // Appliances before servers: their addresses are usually given explicitly, servers' are
    // usually allocated, and allocation must step around what appliances hold.
    for a in &sc.appliances {
        out.appliances
            .push(ap.appliance(a, &zone_of(a.zone.as_ref(), &default_zone)?)?);
    }
    for s in &sc.servers {
        out.servers
            .push(ap.server(s, &zone_of(s.zone.as_ref(), &default_zone)?)?);
    }
    for p in &sc.proxylbs {
        out.proxylbs.push(proxylb(ap.st, p, now_ms)?);
    }
    for b in &sc.bridges {
        out.bridges
            .push(crate::bridge::apply_spec(ap.st, b, &default_zone, now_ms)?);
    }
    Ok(out)
}

/// Create an Enhanced Load Balancer from a spec, through the same checks as the API's create.
fn proxylb(st: &mut State, spec: &ProxyLbSpec, now_ms: u64) -> Result<u64, String> {
    let region = spec.region.clone().unwrap_or_else(|| "is1".to_owned());
    let settings = spec.settings.clone().unwrap_or_else(|| {
        serde_json::json!({
            "BindPorts": [{"ProxyMode": "tcp", "Port": 80}],
            "HealthCheck": {"Protocol": "tcp"},
        })
    });
    let item = serde_json::json!({
        "Name": spec.name,
        "Description": spec.description,
        "Tags": spec.tags,
        "Provider": {"Class": crate::proxylb::CLASS},
        "ServiceClass": crate::proxylb::service_class(spec.plan.unwrap_or(100), &region),
        "Settings": {"ProxyLB": settings},
        "Status": {"Region": region, "UseVIPFailover": spec.vip_failover},
    });
    let what = format!("proxylb {}", spec.name);
    let req = crate::proxylb::parse_create(&item).map_err(|e| format!("{what}: {}", e.message))?;
    crate::proxylb::insert(st, req, now_ms).map_err(|e| format!("{what}: {}", e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE_EXAMPLE: &str = r#"
zone: is1a
routers:
  - name: k8s-router
    tags: ["@k8s"]
    prefix_len: 28
    network: 203.0.113.16/28
switches:
  - name: private-net
    tags: ["@k8s"]
servers:
  - name: worker-1
    tags: []
    plan: { cpu: 2, memory_gb: 4 }
    status: up
    nics:
      - router: k8s-router
      - switch: private-net
        ip: 192.168.0.11
        prefix_len: 24
      - shared: true
"#;

    #[test]
    fn issue_example_applies() {
        let sc = Scenario::parse(ISSUE_EXAMPLE).unwrap();
        let mut st = State::default();
        let out = apply(&mut st, &sc, 0).unwrap();
        assert_eq!(
            (out.routers.len(), out.switches.len(), out.servers.len()),
            (1, 2, 1)
        );
        let s = &st.servers[&out.servers[0]];
        assert_eq!(s.memory_mb, 4096);
        match &s.nics[0].conn {
            NicConn::Switch { ip, .. } => assert_eq!(*ip, Some("203.0.113.20".parse().unwrap())),
            other => panic!("{other:?}"),
        }
        assert!(matches!(s.nics[2].conn, NicConn::Shared { .. }));
        let router_switch = &st.switches[&out.switches[0]];
        assert_eq!(
            (router_switch.name.as_str(), router_switch.tags.clone()),
            ("k8s-router", vec!["@k8s".to_owned()])
        );
    }

    #[test]
    fn json_form_and_errors() {
        let sc = Scenario::parse(r#"{"routers":[{"name":"r","prefix_len":27}]}"#).unwrap();
        let mut st = State::default();
        let out = apply(&mut st, &sc, 0).unwrap();
        assert_eq!(st.routers[&out.routers[0]].network.prefix, 27);
        assert!(Scenario::parse("routers: [{name: r, bogus: 1}]").is_err());
        for bad in [
            "routers: [{name: r, prefix_len: 24}]",
            "servers: [{name: s, nics: [{router: missing}]}]",
            "zone: xx1a",
            "switches: [{name: s, network: 10.0.0.1/24}]",
            "routers: [{name: r, network: 203.0.113.16/28}]\nservers: [{name: s, nics: [{router: r, ip: 203.0.113.17}]}]",
        ] {
            let sc = Scenario::parse(bad).unwrap();
            assert!(apply(&mut State::default(), &sc, 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn router_range_exhaustion_is_an_error() {
        let servers: Vec<String> = (0..12)
            .map(|i| format!("{{name: s{i}, nics: [{{router: r}}]}}"))
            .collect();
        let text = format!("routers: [{{name: r}}]\nservers: [{}]", servers.join(","));
        let sc = Scenario::parse(&text).unwrap();
        let err = apply(&mut State::default(), &sc, 0).unwrap_err();
        assert!(err.contains("no free address"), "{err}");
    }

    #[test]
    fn appliances_take_addresses() {
        let sc = Scenario::parse("routers: [{name: r, network: 203.0.113.96/28}]\nappliances: [{class: vpcrouter, name: v, router: r, ips: [203.0.113.100], extra_ips: [203.0.113.101]}]\nservers: [{name: s, nics: [{router: r}]}]").unwrap();
        let mut st = State::default();
        let out = apply(&mut st, &sc, 0).unwrap();
        match &st.servers[&out.servers[0]].nics[0].conn {
            NicConn::Switch { ip, .. } => assert_eq!(*ip, Some("203.0.113.102".parse().unwrap())),
            other => panic!("{other:?}"),
        }
    }
}
