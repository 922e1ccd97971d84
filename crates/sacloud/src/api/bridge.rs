//! Bridges: one L2 segment joining switches of several zones (at most one switch per zone).
//!
//! The resource is zonal (`/zone/{z}/api/cloud/1.1/bridge`), but a bridge's ID is usable from
//! every zone: `Info.Switches` lists the switches of every zone, `SwitchInZone` the one of the
//! zone asked. A switch names its bridge in [`Switch::bridge`](super::switch::Switch::bridge).

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::common::RegionInfo;
use super::switch::Switch;
use crate::client::{Client, HasId, Request, envelope};
use crate::error::Error;
use crate::find::Filter;
use crate::wire::{Id, null_as_default};

/// A bridge.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Bridge {
    /// Bridge ID.
    #[serde(rename = "ID")]
    pub id: Id,
    /// Name.
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Free text.
    #[serde(rename = "Description", default, deserialize_with = "null_as_default")]
    pub description: String,
    /// The region the bridge belongs to.
    #[serde(rename = "Region", default)]
    pub region: Option<RegionInfo>,
    /// The switches of every zone.
    #[serde(rename = "Info", default)]
    pub info: Option<BridgeInfo>,
    /// The switch of the zone the bridge was read in, if any.
    #[serde(rename = "SwitchInZone", default)]
    pub switch_in_zone: Option<BridgeSwitchInZone>,
    /// Creation time (ISO 8601).
    #[serde(rename = "CreatedAt", default, deserialize_with = "null_as_default")]
    pub created_at: String,
}

impl Bridge {
    /// The switches of every zone (none when the API left `Info` out).
    pub fn switches(&self) -> &[Switch] {
        self.info.as_ref().map_or(&[], |i| i.switches.as_slice())
    }
}

impl HasId for Bridge {
    fn id(&self) -> Id {
        self.id
    }
}

/// `Info` of a bridge.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct BridgeInfo {
    /// The switches of every zone connected to the bridge.
    #[serde(rename = "Switches", default, deserialize_with = "null_as_default")]
    pub switches: Vec<Switch>,
}

/// `SwitchInZone` of a bridge.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct BridgeSwitchInZone {
    /// Switch ID.
    #[serde(rename = "ID", default)]
    pub id: Id,
    /// Name.
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Servers connected to the switch.
    #[serde(rename = "ServerCount", default)]
    pub server_count: u32,
    /// Appliances connected to the switch.
    #[serde(rename = "ApplianceCount", default)]
    pub appliance_count: u32,
}

/// A bridge as a switch names it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct BridgeRef {
    /// Bridge ID.
    #[serde(rename = "ID", default)]
    pub id: Id,
    /// Name.
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
}

/// The writable fields of a bridge.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct BridgeCreate {
    /// Name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Free text.
    #[serde(rename = "Description")]
    pub description: String,
}

fn bridge_path(id: Id) -> String {
    format!("bridge/{id}")
}

impl Client {
    /// `GET bridge`: every bridge matching `filter`.
    pub async fn find_bridges(&self, filter: &Filter) -> Result<Vec<Bridge>, Error> {
        self.find_all("bridge", "Bridges", filter).await
    }

    /// `GET bridge/{id}`.
    pub async fn read_bridge(&self, id: Id) -> Result<Bridge, Error> {
        self.read("bridge", id, "Bridge").await
    }

    /// `POST bridge`. Never retried: a second POST would create a second bridge.
    pub async fn create_bridge(&self, create: &BridgeCreate) -> Result<Bridge, Error> {
        let request = Request::new(Method::POST, "bridge", "bridge".to_owned())
            .json(envelope("Bridge", create)?)
            .no_retry();
        self.send_for(request, "Bridge").await
    }

    /// `PUT bridge/{id}`: name and description.
    pub async fn update_bridge(&self, id: Id, update: &BridgeCreate) -> Result<Bridge, Error> {
        let request = Request::new(Method::PUT, "bridge/{id}", bridge_path(id))
            .json(envelope("Bridge", update)?);
        self.send_for(request, "Bridge").await
    }

    /// `DELETE bridge/{id}`.
    pub async fn delete_bridge(&self, id: Id) -> Result<Bridge, Error> {
        self.send_for(
            Request::new(Method::DELETE, "bridge/{id}", bridge_path(id)),
            "Bridge",
        )
        .await
    }

    /// `PUT switch/{id}/to/bridge/{bridgeID}`: joins the switch (of this client's zone) to the
    /// bridge. 409 when the bridge already has a switch in this zone.
    pub async fn connect_switch_to_bridge(&self, switch: Id, bridge: Id) -> Result<(), Error> {
        self.action(Request::new(
            Method::PUT,
            "switch/{id}/to/bridge/{id}",
            format!("switch/{switch}/to/bridge/{bridge}"),
        ))
        .await
    }

    /// `DELETE switch/{id}/to/bridge`: takes the switch off its bridge.
    pub async fn disconnect_switch_from_bridge(&self, switch: Id) -> Result<(), Error> {
        self.action(Request::new(
            Method::DELETE,
            "switch/{id}/to/bridge",
            format!("switch/{switch}/to/bridge"),
        ))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_api_shape() {
        let b: Bridge = serde_json::from_value(serde_json::json!({
            "ID": 113000000001u64,
            "Name": "k8s",
            "Description": "",
            "Region": {"ID": 310, "Name": "石狩"},
            "Info": {"Switches": [
                {"ID": "112000000001", "Name": "a", "Zone": {"ID": 31001, "Name": "is1a"}},
                {"ID": "112000000002", "Name": "b", "Zone": {"ID": 31002, "Name": "is1b"}}
            ]},
            "SwitchInZone": {"ID": "112000000001", "Name": "a", "ServerCount": 2, "ApplianceCount": 0, "Scope": "user"},
            "CreatedAt": "2025-01-01T00:00:00+09:00"
        }))
        .unwrap();
        assert_eq!(b.switches().len(), 2);
        assert_eq!(b.switch_in_zone.unwrap().server_count, 2);
        let empty: Bridge =
            serde_json::from_value(serde_json::json!({"ID": "1", "Info": null})).unwrap();
        assert!(empty.switches().is_empty());
    }
}
