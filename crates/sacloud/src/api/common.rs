//! Types shared by several resources.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::wire::{Id, lenient_ipv4, null_as_default};

/// Declares a string enum that keeps unknown values instead of failing.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this client does not know yet.
            Other(String),
        }

        impl $name {
            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($text => $name::$variant,)+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok($name::from(s.as_str()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use open_enum;

open_enum! {
    /// Power state of a server or appliance (`Instance.Status`).
    InstanceStatus {
        /// Running.
        Up => "up",
        /// Shutting down.
        Cleaning => "cleaning",
        /// Stopped.
        Down => "down",
    }
}

open_enum! {
    /// Provisioning state of a resource (`Availability`).
    Availability {
        /// Ready to use.
        Available => "available",
        /// Being created or moved; power operations answer 409 `still_creating`.
        Migrating => "migrating",
        /// Creation failed; the resource is unusable.
        Failed => "failed",
        /// A disk image is being uploaded.
        Uploading => "uploading",
        /// Being copied (the API's own spelling).
        Transfering => "transfering",
        /// Retired.
        Discontinued => "discontinued",
    }
}

open_enum! {
    /// Who owns a switch: `user` (your switch or router) or `shared` (the shared segment).
    Scope {
        /// A user switch, or the switch of a switch+router.
        User => "user",
        /// The shared segment (共有セグメント).
        Shared => "shared",
    }
}

/// `Instance`: the power state of a server or appliance.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Instance {
    /// Current power state.
    #[serde(rename = "Status")]
    pub status: InstanceStatus,
    /// Previous power state.
    #[serde(
        rename = "BeforeStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub before_status: Option<InstanceStatus>,
    /// When the state last changed (ISO 8601).
    #[serde(
        rename = "StatusChangedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub status_changed_at: Option<String>,
}

/// A region as embedded in a zone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct RegionInfo {
    /// Region ID (310, 210, 290).
    #[serde(rename = "ID", default)]
    pub id: Id,
    /// Region name (石狩, 東京, Sandbox).
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// DNS servers of the region.
    #[serde(rename = "NameServers", default, deserialize_with = "null_as_default")]
    pub name_servers: Vec<String>,
}

/// A zone as embedded in other resources.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ZoneRef {
    /// Zone ID.
    #[serde(rename = "ID", default)]
    pub id: Id,
    /// Zone name, e.g. `is1a`.
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The zone's region, when the API includes it.
    #[serde(rename = "Region", default)]
    pub region: Option<RegionInfo>,
}

/// A subnet as embedded in a server NIC's switch (shared segment or router).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct NicSubnet {
    /// Network address.
    #[serde(rename = "NetworkAddress", default, with = "lenient_ipv4")]
    pub network_address: Option<Ipv4Addr>,
    /// Prefix length.
    #[serde(rename = "NetworkMaskLen", default)]
    pub network_mask_len: Option<u8>,
    /// Default gateway.
    #[serde(rename = "DefaultRoute", default, with = "lenient_ipv4")]
    pub default_route: Option<Ipv4Addr>,
}

/// The user-declared network of a plain switch, as seen from a NIC.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct UserSubnet {
    /// Default gateway the user declared.
    #[serde(rename = "DefaultRoute", default, with = "lenient_ipv4")]
    pub default_route: Option<Ipv4Addr>,
    /// Prefix length the user declared.
    #[serde(rename = "NetworkMaskLen", default)]
    pub network_mask_len: Option<u8>,
}

/// `{"ID": ...}` references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct IdRef {
    /// The referenced ID.
    #[serde(rename = "ID")]
    pub id: Id,
}
