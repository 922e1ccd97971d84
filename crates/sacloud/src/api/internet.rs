//! Switch+routers (`internet`): find and read.

use serde::Deserialize;

use super::common::{Scope, ZoneRef};
use super::switch::SwitchSubnet;
use crate::client::{Client, HasId};
use crate::error::Error;
use crate::find::Filter;
use crate::wire::{Id, null_as_default};

/// A switch+router: a router with a block of global addresses and the switch behind it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Internet {
    /// Router ID.
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
    /// Always `user`.
    #[serde(rename = "Scope", default)]
    pub scope: Option<Scope>,
    /// e.g. `cloud/internet/router/100m`.
    #[serde(rename = "ServiceClass", default, deserialize_with = "null_as_default")]
    pub service_class: String,
    /// Bandwidth in Mbps.
    #[serde(rename = "BandWidthMbps", default)]
    pub band_width_mbps: u32,
    /// Prefix length of the router's own block (26, 27 or 28).
    #[serde(rename = "NetworkMaskLen", default)]
    pub network_mask_len: Option<u8>,
    /// The switch behind the router. Its subnets here lack the assignable range: read the
    /// switch (`Client::read_switch`) for `IPAddresses`.
    #[serde(rename = "Switch", default)]
    pub switch: InternetSwitch,
    /// Zone.
    #[serde(rename = "Zone", default)]
    pub zone: Option<ZoneRef>,
    /// Creation time (ISO 8601).
    #[serde(rename = "CreatedAt", default, deserialize_with = "null_as_default")]
    pub created_at: String,
}

impl HasId for Internet {
    fn id(&self) -> Id {
        self.id
    }
}

/// The switch as embedded in a router.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct InternetSwitch {
    /// Switch ID.
    #[serde(rename = "ID", default)]
    pub id: Id,
    /// Switch name.
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Scope.
    #[serde(rename = "Scope", default)]
    pub scope: Option<Scope>,
    /// Global subnets (without `IPAddresses`).
    #[serde(rename = "Subnets", default, deserialize_with = "null_as_default")]
    pub subnets: Vec<SwitchSubnet>,
}

impl Client {
    /// `GET internet`: every router matching `filter`. (The API's list key is `Internet`, not a
    /// plural.)
    pub async fn find_internets(&self, filter: &Filter) -> Result<Vec<Internet>, Error> {
        self.find_all("internet", "Internet", filter).await
    }

    /// `GET internet/{id}`.
    pub async fn read_internet(&self, id: Id) -> Result<Internet, Error> {
        self.read("internet", id, "Internet").await
    }
}
