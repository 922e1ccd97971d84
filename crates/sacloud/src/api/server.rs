//! Servers: find and read.

use std::net::Ipv4Addr;

use serde::Deserialize;

use super::common::{
    Availability, Instance, InstanceStatus, NicSubnet, Scope, UserSubnet, ZoneRef,
};
use crate::client::{Client, HasId, Page};
use crate::error::Error;
use crate::find::Filter;
use crate::wire::{Id, lenient_ipv4, null_as_default};

/// A server (virtual machine).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Server {
    /// Server ID.
    #[serde(rename = "ID")]
    pub id: Id,
    /// Server name (the CCM matches Kubernetes node names against it).
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Host name set at creation.
    #[serde(rename = "HostName", default, deserialize_with = "null_as_default")]
    pub host_name: String,
    /// Free text.
    #[serde(rename = "Description", default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Tags, e.g. `@k8s`.
    #[serde(rename = "Tags", default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Provisioning state.
    #[serde(rename = "Availability", default)]
    pub availability: Option<Availability>,
    /// e.g. `cloud/plan/1core-1gb`.
    #[serde(rename = "ServiceClass", default, deserialize_with = "null_as_default")]
    pub service_class: String,
    /// The plan (CPU, memory).
    #[serde(rename = "ServerPlan", default)]
    pub server_plan: Option<ServerPlan>,
    /// The zone the server is in.
    #[serde(rename = "Zone", default)]
    pub zone: Option<ZoneRef>,
    /// Power state.
    #[serde(rename = "Instance", default)]
    pub instance: Option<Instance>,
    /// NICs in order; NIC 0 is the one the original CCM looked at, but every NIC counts.
    #[serde(rename = "Interfaces", default, deserialize_with = "null_as_default")]
    pub interfaces: Vec<Interface>,
    /// Creation time (ISO 8601).
    #[serde(rename = "CreatedAt", default, deserialize_with = "null_as_default")]
    pub created_at: String,
}

impl HasId for Server {
    fn id(&self) -> Id {
        self.id
    }
}

impl Server {
    /// The power state, if the API reported one.
    pub fn status(&self) -> Option<&InstanceStatus> {
        self.instance.as_ref().map(|i| &i.status)
    }

    /// Whether the server is running.
    pub fn is_up(&self) -> bool {
        self.status() == Some(&InstanceStatus::Up)
    }
}

/// A server plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ServerPlan {
    /// Plan ID.
    #[serde(rename = "ID", default)]
    pub id: Id,
    /// Display name, e.g. `プラン/1Core-1GB`.
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Virtual CPUs.
    #[serde(rename = "CPU", default)]
    pub cpu: u32,
    /// Memory in MiB.
    #[serde(rename = "MemoryMB", default)]
    pub memory_mb: u64,
    /// GPUs, when the plan has any.
    #[serde(rename = "GPU", default)]
    pub gpu: u32,
    /// e.g. `cloud/plan/1core-1gb`; the CCM derives the instance type from it.
    #[serde(rename = "ServiceClass", default, deserialize_with = "null_as_default")]
    pub service_class: String,
    /// Plan generation.
    #[serde(rename = "Generation", default)]
    pub generation: u32,
    /// `standard` or `dedicatedcpu`.
    #[serde(rename = "Commitment", default, deserialize_with = "null_as_default")]
    pub commitment: String,
}

/// A server NIC.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Interface {
    /// NIC ID.
    #[serde(rename = "ID", default)]
    pub id: Id,
    /// MAC address.
    #[serde(rename = "MACAddress", default, deserialize_with = "null_as_default")]
    pub mac_address: String,
    /// The address the API assigned: set on shared-segment NICs.
    #[serde(rename = "IPAddress", default, with = "lenient_ipv4")]
    pub ip_address: Option<Ipv4Addr>,
    /// The address the user declared: set on switch and router NICs.
    #[serde(rename = "UserIPAddress", default, with = "lenient_ipv4")]
    pub user_ip_address: Option<Ipv4Addr>,
    /// Reverse-DNS host name, when set.
    #[serde(rename = "HostName", default, deserialize_with = "null_as_default")]
    pub host_name: String,
    /// What the NIC is connected to; `None` when disconnected.
    #[serde(rename = "Switch", default)]
    pub switch: Option<InterfaceSwitch>,
}

/// The switch a NIC is connected to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct InterfaceSwitch {
    /// Switch ID.
    #[serde(rename = "ID", default)]
    pub id: Id,
    /// Switch name.
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// `shared` for the shared segment, `user` otherwise.
    #[serde(rename = "Scope", default)]
    pub scope: Option<Scope>,
    /// Set for the shared segment and for router switches; `null` for plain switches.
    #[serde(rename = "Subnet", default)]
    pub subnet: Option<NicSubnet>,
    /// The network the user declared for a plain switch.
    #[serde(rename = "UserSubnet", default)]
    pub user_subnet: Option<UserSubnet>,
}

/// What a NIC is connected to, by the API's own rule: no switch → disconnected; scope `shared` →
/// shared segment; `Subnet` null → plain switch; otherwise a switch+router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NicConnection {
    /// Not connected.
    Disconnected,
    /// The shared segment (共有セグメント), with an API-assigned global address.
    SharedSegment,
    /// A plain (private) switch.
    Switch,
    /// The switch of a switch+router, with a global address from the router's block.
    Router,
}

impl Interface {
    /// What this NIC is connected to.
    pub fn connection(&self) -> NicConnection {
        match &self.switch {
            None => NicConnection::Disconnected,
            Some(sw) if sw.scope == Some(Scope::Shared) => NicConnection::SharedSegment,
            Some(sw) if sw.subnet.is_none() => NicConnection::Switch,
            Some(_) => NicConnection::Router,
        }
    }

    /// The NIC's IPv4 address: `IPAddress` on the shared segment, `UserIPAddress` elsewhere.
    pub fn address(&self) -> Option<Ipv4Addr> {
        match self.connection() {
            NicConnection::Disconnected => None,
            NicConnection::SharedSegment => self.ip_address.or(self.user_ip_address),
            NicConnection::Switch | NicConnection::Router => {
                self.user_ip_address.or(self.ip_address)
            }
        }
    }
}

impl Client {
    /// `GET server`: every server matching `filter`, across as many pages as needed.
    pub async fn find_servers(&self, filter: &Filter) -> Result<Vec<Server>, Error> {
        self.find_all("server", "Servers", filter).await
    }

    /// One page of `GET server`, for callers that page themselves.
    pub async fn find_servers_page(
        &self,
        filter: &Filter,
        from: u64,
        count: u32,
    ) -> Result<Page<Server>, Error> {
        self.find_page("server", "Servers", filter, from, count)
            .await
    }

    /// `GET server/{id}`. A missing server is an error with [`Error::is_not_found`].
    pub async fn read_server(&self, id: Id) -> Result<Server, Error> {
        self.read("server", id, "Server").await
    }
}
