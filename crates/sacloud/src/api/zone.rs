//! `GET zone`: the zones the API knows.

use serde::Deserialize;

use super::common::RegionInfo;
use crate::client::{Client, HasId};
use crate::error::Error;
use crate::find::Filter;
use crate::wire::{Id, null_as_default};

/// A zone as the API describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ZoneInfo {
    /// Zone ID, e.g. 31001.
    #[serde(rename = "ID", default)]
    pub id: Id,
    /// Zone name, e.g. `is1a`.
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Description, e.g. 石狩第1ゾーン.
    #[serde(rename = "Description", default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Whether this is the Sandbox (no real resources).
    #[serde(rename = "IsDummy", default)]
    pub is_dummy: bool,
    /// The zone's region.
    #[serde(rename = "Region", default)]
    pub region: Option<RegionInfo>,
}

impl HasId for ZoneInfo {
    fn id(&self) -> Id {
        self.id
    }
}

impl Client {
    /// `GET zone`: every zone.
    pub async fn find_zones(&self) -> Result<Vec<ZoneInfo>, Error> {
        self.find_all("zone", "Zones", &Filter::new()).await
    }

    /// `GET zone/{id}`.
    pub async fn read_zone(&self, id: Id) -> Result<ZoneInfo, Error> {
        self.read("zone", id, "Zone").await
    }
}
