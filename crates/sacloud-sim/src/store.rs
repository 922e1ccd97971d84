//! The in-memory state: resources keyed by ID in `BTreeMap`s (ordered, so find is one linear pass
//! in ID order), ID/MAC allocation, the simulated clock, and address accounting per switch.

use crate::ip::{Cidr, RouterLayout, router_layout};
use crate::lifecycle;
use crate::model::{Appliance, NicConn, Router, Server, Switch};
use crate::proxylb::ProxyLb;
use crate::zones::Zone;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::Ipv4Addr;

/// First ID handed out: a `9xx…` band, clear of real SAKURA IDs (as SAKUMOCK does).
pub const FIRST_ID: u64 = 900_000_000_001;
/// Shared-segment switch IDs live just below the normal band: `899000000001` + zone index.
pub const SHARED_SWITCH_BASE: u64 = 899_000_000_001;
/// Pool routers' global subnets are carved from when the scenario does not give one
/// (198.18.0.0/15 is reserved for benchmarking, so it never clashes with real addresses).
pub const ROUTER_POOL: &str = "198.18.0.0/16";

/// Format version of the persisted state.
pub const STATE_VERSION: u32 = 1;

/// Everything the simulator knows; also the state-file document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// State-file format version.
    pub version: u32,
    /// Next resource ID.
    pub next_id: u64,
    /// Next MAC suffix.
    pub next_mac: u64,
    /// Added to wall time to get simulated time (moved by the admin "advance" hook).
    pub clock_offset_ms: u64,
    /// Servers by ID.
    pub servers: BTreeMap<u64, Server>,
    /// Switches by ID.
    pub switches: BTreeMap<u64, Switch>,
    /// Routers by ID.
    pub routers: BTreeMap<u64, Router>,
    /// Appliances by ID.
    pub appliances: BTreeMap<u64, Appliance>,
    /// Enhanced Load Balancers by ID (global: not tied to a zone). Absent in state files written
    /// before they existed.
    #[serde(default)]
    pub proxylbs: BTreeMap<u64, ProxyLb>,
    /// Bridges by ID (joining switches of several zones). Absent in older state files.
    #[serde(default)]
    pub bridges: BTreeMap<u64, crate::bridge::Bridge>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            version: STATE_VERSION,
            next_id: FIRST_ID,
            next_mac: 1,
            clock_offset_ms: 0,
            servers: BTreeMap::new(),
            switches: BTreeMap::new(),
            routers: BTreeMap::new(),
            appliances: BTreeMap::new(),
            proxylbs: BTreeMap::new(),
            bridges: BTreeMap::new(),
        }
    }
}

/// What a switch's network looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchNet {
    /// The switch of a router: a global subnet with a fixed layout.
    Router {
        /// The subnet.
        net: Cidr,
        /// Its reserved and assignable addresses.
        layout: RouterLayout,
    },
    /// A plain switch, with the network declared by the scenario if any.
    Plain {
        /// Declared network.
        declared: Option<Cidr>,
        /// Declared default route.
        default_route: Option<Ipv4Addr>,
    },
}

/// The shared segment of a zone: a /18 per zone inside 100.64.0.0/10, gateway `.1`. Far larger
/// than a real shared segment (a /24 or so) so that tens of thousands of seeded servers fit.
pub fn shared_segment(zone: &Zone) -> Cidr {
    Cidr {
        network: Ipv4Addr::new(
            100,
            64 + zone.index / 4,
            (zone.index % 4).saturating_mul(64),
            0,
        ),
        prefix: 18,
    }
}

impl State {
    /// Simulated now, in unix ms.
    pub fn now_ms(&self) -> u64 {
        crate::time::wall_ms().saturating_add(self.clock_offset_ms)
    }

    /// A fresh 12-digit ID.
    pub fn alloc_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// A fresh MAC address in SAKURA's `9C:A3:BA` prefix.
    pub fn alloc_mac(&mut self) -> String {
        let n = self.next_mac;
        self.next_mac += 1;
        format!(
            "9C:A3:BA:{:02X}:{:02X}:{:02X}",
            (n >> 16) & 0xff,
            (n >> 8) & 0xff,
            n & 0xff
        )
    }

    /// Apply every transition that is due at `now_ms`.
    pub fn settle_all(&mut self, now_ms: u64) {
        for s in self.servers.values_mut() {
            lifecycle::settle(&mut s.power, now_ms);
        }
        for a in self.appliances.values_mut() {
            lifecycle::settle(&mut a.power, now_ms);
        }
        for p in self.proxylbs.values_mut() {
            crate::proxylb_certs::settle(p, now_ms);
        }
    }

    /// Finish every pending transition at once (admin hook).
    pub fn complete_all(&mut self) -> usize {
        let now_ms = self.now_ms();
        let mut n = 0;
        for p in self.proxylbs.values_mut() {
            n += usize::from(crate::proxylb_certs::complete(p, now_ms));
        }
        for s in self.servers.values_mut() {
            n += usize::from(lifecycle::complete(&mut s.power));
        }
        for a in self.appliances.values_mut() {
            n += usize::from(lifecycle::complete(&mut a.power));
        }
        n
    }

    /// Network facts for a switch.
    pub fn switch_net(&self, switch_id: u64) -> Option<SwitchNet> {
        let sw = self.switches.get(&switch_id)?;
        if let Some(r) = sw.router_id.and_then(|id| self.routers.get(&id)) {
            return Some(SwitchNet::Router {
                net: r.network,
                layout: router_layout(r.network)?,
            });
        }
        let us = sw.user_subnet.as_ref();
        Some(SwitchNet::Plain {
            declared: us.and_then(|u| u.network),
            default_route: us.and_then(|u| u.default_route),
        })
    }

    /// Addresses held on a switch by servers, appliances (except `exclude`) and its router.
    pub fn used_on_switch(&self, switch_id: u64, exclude: Option<u64>) -> HashSet<Ipv4Addr> {
        let mut used = HashSet::new();
        if let Some(SwitchNet::Router { layout, .. }) = self.switch_net(switch_id) {
            used.insert(layout.gateway);
            used.extend(layout.router_ips);
        }
        for s in self.servers.values() {
            for n in &s.nics {
                if let NicConn::Switch {
                    switch_id: sid,
                    ip: Some(ip),
                    ..
                } = n.conn
                    && sid == switch_id
                {
                    used.insert(ip);
                }
            }
        }
        for a in self.appliances.values() {
            if a.switch_id == switch_id && Some(a.id) != exclude {
                used.extend(a.occupied_ips());
            }
        }
        used
    }

    /// Shared-segment addresses taken in a zone.
    pub fn used_shared(&self, zone: &str) -> HashSet<Ipv4Addr> {
        self.servers
            .values()
            .filter(|s| s.zone == zone)
            .flat_map(|s| s.nics.iter())
            .filter_map(|n| match n.conn {
                NicConn::Shared { ip } => Some(ip),
                _ => None,
            })
            .collect()
    }

    /// VRIDs of load balancers on a switch (except `exclude`).
    pub fn vrids_on_switch(&self, switch_id: u64, exclude: Option<u64>) -> HashSet<u32> {
        self.appliances
            .values()
            .filter(|a| a.switch_id == switch_id && Some(a.id) != exclude)
            .map(|a| a.vrid)
            .collect()
    }

    /// Number of servers with a NIC on each switch, computed once per request.
    pub fn server_counts(&self) -> HashMap<u64, usize> {
        let mut counts = HashMap::new();
        for s in self.servers.values() {
            let mut seen = HashSet::new();
            for n in &s.nics {
                if let NicConn::Switch { switch_id, .. } = n.conn
                    && seen.insert(switch_id)
                {
                    *counts.entry(switch_id).or_insert(0) += 1;
                }
            }
        }
        counts
    }

    /// Number of appliances on each switch.
    pub fn appliance_counts(&self) -> HashMap<u64, usize> {
        let mut counts = HashMap::new();
        for a in self.appliances.values() {
            *counts.entry(a.switch_id).or_insert(0) += 1;
        }
        counts
    }

    /// The address of an up server's NIC, for load-balancer status ("is this real server alive").
    pub fn up_server_ips(&self, zone: &str) -> HashSet<Ipv4Addr> {
        self.servers
            .values()
            .filter(|s| s.zone == zone && s.power.status == crate::model::InstanceStatus::Up)
            .flat_map(|s| s.nics.iter())
            .filter_map(|n| match n.conn {
                NicConn::Shared { ip } => Some(ip),
                NicConn::Switch { ip, .. } => ip,
                NicConn::Disconnected => None,
            })
            .collect()
    }

    /// Router networks already in use (for carving new ones).
    pub fn router_networks(&self) -> Vec<Cidr> {
        self.routers.values().map(|r| r.network).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_12_digits_and_increase() {
        let mut s = State::default();
        let a = s.alloc_id();
        let b = s.alloc_id();
        assert_eq!(a.to_string().len(), 12);
        assert!(b > a);
        assert_eq!(s.alloc_mac(), "9C:A3:BA:00:00:01");
    }

    #[test]
    fn shared_segments_differ_per_zone() {
        let a = shared_segment(crate::zones::by_name("is1a").unwrap());
        let b = shared_segment(crate::zones::by_name("tk1a").unwrap());
        assert!(!a.overlaps(&b));
        assert_eq!(a.to_string(), "100.64.0.0/18");
        assert_eq!(
            shared_segment(crate::zones::by_name("tk1v").unwrap()).to_string(),
            "100.65.64.0/18"
        );
    }
}
