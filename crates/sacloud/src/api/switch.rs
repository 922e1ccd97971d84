//! Switches: find and read. A switch+router's switch carries the router's global subnet and the
//! range of addresses users may assign.

use std::net::Ipv4Addr;

use serde::Deserialize;

use super::common::{Scope, UserSubnet, ZoneRef};
use crate::client::{Client, HasId};
use crate::error::Error;
use crate::find::Filter;
use crate::wire::{Id, lenient_ipv4, null_as_default};

/// A switch.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Switch {
    /// Switch ID.
    #[serde(rename = "ID")]
    pub id: Id,
    /// Name.
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Free text.
    #[serde(rename = "Description", default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Tags, e.g. `@k8s`.
    #[serde(rename = "Tags", default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// `user` or `shared`.
    #[serde(rename = "Scope", default)]
    pub scope: Option<Scope>,
    /// Servers connected.
    #[serde(rename = "ServerCount", default)]
    pub server_count: u32,
    /// Appliances connected.
    #[serde(rename = "ApplianceCount", default)]
    pub appliance_count: u32,
    /// The network the user declared (plain switches).
    #[serde(rename = "UserSubnet", default)]
    pub user_subnet: Option<UserSubnet>,
    /// Global subnets of the router behind this switch; empty for a plain switch. The first is
    /// the router's own block; later ones with `NextHop` are routed additions.
    #[serde(rename = "Subnets", default, deserialize_with = "null_as_default")]
    pub subnets: Vec<SwitchSubnet>,
    /// The router, for a switch+router; `None` for a plain switch.
    #[serde(rename = "Internet", default)]
    pub internet: Option<InternetRef>,
    /// Zone.
    #[serde(rename = "Zone", default)]
    pub zone: Option<ZoneRef>,
    /// The bridge joining this switch to switches of other zones, if any.
    #[serde(rename = "Bridge", default)]
    pub bridge: Option<super::bridge::BridgeRef>,
    /// e.g. `cloud/switch/default`.
    #[serde(rename = "ServiceClass", default, deserialize_with = "null_as_default")]
    pub service_class: String,
    /// Creation time (ISO 8601).
    #[serde(rename = "CreatedAt", default, deserialize_with = "null_as_default")]
    pub created_at: String,
}

impl HasId for Switch {
    fn id(&self) -> Id {
        self.id
    }
}

/// A global subnet on a router's switch.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct SwitchSubnet {
    /// Subnet ID.
    #[serde(rename = "ID", default)]
    pub id: Id,
    /// Network address.
    #[serde(rename = "NetworkAddress", default, with = "lenient_ipv4")]
    pub network_address: Option<Ipv4Addr>,
    /// Prefix length (26, 27 or 28 for a router's own block).
    #[serde(rename = "NetworkMaskLen", default)]
    pub network_mask_len: Option<u8>,
    /// Gateway (the router).
    #[serde(rename = "DefaultRoute", default, with = "lenient_ipv4")]
    pub default_route: Option<Ipv4Addr>,
    /// For routed additional subnets: the address traffic is forwarded to.
    #[serde(rename = "NextHop", default, with = "lenient_ipv4")]
    pub next_hop: Option<Ipv4Addr>,
    /// Static route target, when set.
    #[serde(rename = "StaticRoute", default, with = "lenient_ipv4")]
    pub static_route: Option<Ipv4Addr>,
    /// e.g. `cloud/global-ipaddress-v4/28`.
    #[serde(rename = "ServiceClass", default, deserialize_with = "null_as_default")]
    pub service_class: String,
    /// The addresses users may assign (only in `GET switch`, not in the router's view).
    #[serde(rename = "IPAddresses", default)]
    pub ip_addresses: Option<IpRange>,
}

/// An inclusive range of assignable addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct IpRange {
    /// First assignable address.
    #[serde(rename = "Min", with = "lenient_ipv4", default)]
    pub min: Option<Ipv4Addr>,
    /// Last assignable address.
    #[serde(rename = "Max", with = "lenient_ipv4", default)]
    pub max: Option<Ipv4Addr>,
}

impl IpRange {
    /// Every address from `min` to `max`, across octet boundaries (the original CCM only walked
    /// the last octet). Empty when either end is missing or `min > max`.
    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> + use<> {
        let (lo, hi) = match (self.min, self.max) {
            (Some(a), Some(b)) if u32::from(a) <= u32::from(b) => (u32::from(a), u32::from(b)),
            _ => (1, 0),
        };
        (lo..=hi).map(Ipv4Addr::from)
    }
}

/// The router as embedded in a switch.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct InternetRef {
    /// Router ID.
    #[serde(rename = "ID", default)]
    pub id: Id,
    /// Router name.
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Bandwidth in Mbps.
    #[serde(rename = "BandWidthMbps", default)]
    pub band_width_mbps: u32,
    /// e.g. `cloud/internet/router/100m`.
    #[serde(rename = "ServiceClass", default, deserialize_with = "null_as_default")]
    pub service_class: String,
}

impl Client {
    /// `GET switch`: every switch matching `filter`.
    pub async fn find_switches(&self, filter: &Filter) -> Result<Vec<Switch>, Error> {
        self.find_all("switch", "Switches", filter).await
    }

    /// `GET switch/{id}`: includes, for a router's switch, the assignable range
    /// (`Subnets[].IPAddresses`).
    pub async fn read_switch(&self, id: Id) -> Result<Switch, Error> {
        self.read("switch", id, "Switch").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_crosses_octets() {
        let r = IpRange {
            min: Some(Ipv4Addr::new(10, 0, 0, 254)),
            max: Some(Ipv4Addr::new(10, 0, 1, 1)),
        };
        let all: Vec<_> = r.addresses().collect();
        assert_eq!(all.len(), 4);
        assert_eq!(all[2], Ipv4Addr::new(10, 0, 1, 0));
        let empty = IpRange {
            min: Some(Ipv4Addr::new(10, 0, 0, 5)),
            max: Some(Ipv4Addr::new(10, 0, 0, 4)),
        };
        assert_eq!(empty.addresses().count(), 0);
        let missing = IpRange {
            min: None,
            max: Some(Ipv4Addr::new(10, 0, 0, 4)),
        };
        assert_eq!(missing.addresses().count(), 0);
    }
}
