//! Load-balancer appliances (`appliance` with `Class: loadbalancer`).
//!
//! The SAKURA load balancer is an L4, DSR appliance: each virtual IP + port forwards to real
//! servers on the *same* port. Settings are applied in two steps: write them
//! ([`Client::update_load_balancer_settings`]), then apply them
//! ([`Client::apply_load_balancer_config`]).

use std::net::Ipv4Addr;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::common::{Availability, IdRef, Instance, InstanceStatus, Scope, open_enum};
use crate::client::{Client, HasId, Request, envelope};
use crate::error::Error;
use crate::find::Filter;
use crate::wire::{
    Id, StringFlag, StringNumber, id_as_string, lenient_ipv4, null_as_default, null_as_empty_list,
};

/// The appliance class of load balancers.
pub const LOAD_BALANCER_CLASS: &str = "loadbalancer";

open_enum! {
    /// How a real server's health is checked.
    HealthCheckProtocol {
        /// HTTP GET of `Path`, expecting `Status`.
        Http => "http",
        /// HTTPS GET of `Path`, expecting `Status`.
        Https => "https",
        /// TCP connect.
        Tcp => "tcp",
        /// ICMP echo.
        Ping => "ping",
    }
}

/// A load-balancer appliance as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LoadBalancer {
    /// Appliance ID.
    #[serde(rename = "ID")]
    pub id: Id,
    /// `loadbalancer`.
    #[serde(rename = "Class", default, deserialize_with = "null_as_default")]
    pub class: String,
    /// Name (1–64 characters).
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Free text.
    #[serde(rename = "Description", default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Tags (returned sorted).
    #[serde(rename = "Tags", default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Plan: 1 standard, 2 high-spec.
    #[serde(rename = "Plan", default)]
    pub plan: Option<IdRef>,
    /// e.g. `cloud/appliance/loadbalancer/1`.
    #[serde(rename = "ServiceClass", default, deserialize_with = "null_as_default")]
    pub service_class: String,
    /// Provisioning state: `migrating` while being created.
    #[serde(rename = "Availability", default)]
    pub availability: Option<Availability>,
    /// Power state.
    #[serde(rename = "Instance", default)]
    pub instance: Option<Instance>,
    /// Virtual IPs, ports and real servers.
    #[serde(rename = "Settings", default, deserialize_with = "null_as_default")]
    pub settings: LoadBalancerSettings,
    /// Hash of `Settings`; send it back with an update so a concurrent change is detected.
    #[serde(rename = "SettingsHash", default, deserialize_with = "null_as_default")]
    pub settings_hash: String,
    /// Network placement: switch, VRRP, appliance addresses.
    #[serde(rename = "Remark", default, deserialize_with = "null_as_default")]
    pub remark: Remark,
    /// The switch the appliance is connected to.
    #[serde(rename = "Switch", default)]
    pub switch: Option<ApplianceSwitch>,
    /// The appliance's NICs.
    #[serde(rename = "Interfaces", default, deserialize_with = "null_as_default")]
    pub interfaces: Vec<ApplianceInterface>,
    /// Creation time (ISO 8601).
    #[serde(rename = "CreatedAt", default, deserialize_with = "null_as_default")]
    pub created_at: String,
}

impl HasId for LoadBalancer {
    fn id(&self) -> Id {
        self.id
    }
}

impl LoadBalancer {
    /// The power state, if reported.
    pub fn status(&self) -> Option<&InstanceStatus> {
        self.instance.as_ref().map(|i| &i.status)
    }

    /// Whether it is running and done provisioning.
    pub fn is_ready(&self) -> bool {
        self.availability == Some(Availability::Available)
            && self.status() == Some(&InstanceStatus::Up)
    }

    /// The distinct virtual IPs, in settings order.
    pub fn virtual_ips(&self) -> Vec<Ipv4Addr> {
        let mut out: Vec<Ipv4Addr> = Vec::new();
        for vip in &self.settings.load_balancer {
            if let Some(ip) = vip.virtual_ip_address
                && !out.contains(&ip)
            {
                out.push(ip);
            }
        }
        out
    }
}

/// `Settings`: the virtual IPs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LoadBalancerSettings {
    /// One entry per virtual IP + port (at most 20).
    #[serde(rename = "LoadBalancer", default, deserialize_with = "null_as_default")]
    pub load_balancer: Vec<VirtualIpAddress>,
}

/// One virtual IP + port and its real servers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VirtualIpAddress {
    /// The virtual IP.
    #[serde(rename = "VirtualIPAddress", default, with = "lenient_ipv4")]
    pub virtual_ip_address: Option<Ipv4Addr>,
    /// Port (1–65535); real servers listen on the same port (DSR).
    #[serde(rename = "Port")]
    pub port: StringNumber,
    /// Health-check interval in seconds (at least 10).
    #[serde(rename = "DelayLoop", default)]
    pub delay_loop: StringNumber,
    /// Where to send clients when every real server is down; empty for none.
    #[serde(rename = "SorryServer", default, deserialize_with = "null_as_default")]
    pub sorry_server: String,
    /// Free text.
    #[serde(rename = "Description", default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Real servers (at most 40).
    #[serde(rename = "Servers", default, deserialize_with = "null_as_empty_list")]
    pub servers: Vec<RealServer>,
}

/// A real server behind a virtual IP.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RealServer {
    /// The server's address, in the appliance's network.
    #[serde(rename = "IPAddress", default, with = "lenient_ipv4")]
    pub ip_address: Option<Ipv4Addr>,
    /// Must equal the virtual IP's port (DSR).
    #[serde(rename = "Port")]
    pub port: StringNumber,
    /// How health is checked.
    #[serde(rename = "HealthCheck")]
    pub health_check: HealthCheck,
    /// Whether traffic is sent to it.
    #[serde(rename = "Enabled", default)]
    pub enabled: StringFlag,
    // The read-only `Status` and `ActiveConn` the API may add here are left out: they are read
    // from `appliance/{id}/status` ([`RealServerStatus`]) when wanted, and a listing of every
    // appliance is kept for a while (200 appliances hold thousands of real servers).
}

/// A real server's health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// `http`, `https`, `tcp` or `ping`.
    #[serde(rename = "Protocol")]
    pub protocol: HealthCheckProtocol,
    /// Request path for http/https.
    #[serde(rename = "Path", default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Expected HTTP status for http/https.
    #[serde(rename = "Status", default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StringNumber>,
    /// Port to check, when it differs from the real server's port (e.g. kube-proxy's 10256).
    #[serde(rename = "Port", default, skip_serializing_if = "Option::is_none")]
    pub port: Option<StringNumber>,
    /// `Host` header for http/https.
    #[serde(rename = "Host", default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Retries before a server is marked down (1–5).
    #[serde(rename = "Retry", default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<StringNumber>,
    /// Connect timeout in seconds (1–30).
    #[serde(
        rename = "ConnectTimeout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connect_timeout: Option<StringNumber>,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            protocol: HealthCheckProtocol::Ping,
            path: None,
            status: None,
            port: None,
            host: None,
            retry: None,
            connect_timeout: None,
        }
    }
}

/// `Remark`: where the appliance sits in the network.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Remark {
    /// The switch (its ID is a string on the wire).
    #[serde(rename = "Switch", default)]
    pub switch: RemarkSwitch,
    /// VRRP group.
    #[serde(rename = "VRRP", default)]
    pub vrrp: Vrrp,
    /// Netmask and gateway of the appliance's addresses.
    #[serde(rename = "Network", default)]
    pub network: RemarkNetwork,
    /// The appliance's own addresses: one (single) or two (redundant pair).
    #[serde(rename = "Servers", default, deserialize_with = "null_as_default")]
    pub servers: Vec<RemarkServer>,
    /// Plan, repeated.
    #[serde(rename = "Plan", default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<IdRef>,
    /// Zone, when the API includes it.
    #[serde(rename = "Zone", default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<IdRef>,
}

/// `Remark.Switch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RemarkSwitch {
    /// Switch ID, written as a string as the API expects.
    #[serde(rename = "ID", with = "id_as_string", default)]
    pub id: Id,
}

/// `Remark.VRRP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Vrrp {
    /// VRRP ID, unique per switch.
    #[serde(rename = "VRID", default)]
    pub vrid: u32,
}

/// `Remark.Network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RemarkNetwork {
    /// Prefix length.
    #[serde(rename = "NetworkMaskLen", default)]
    pub network_mask_len: u8,
    /// Gateway.
    #[serde(rename = "DefaultRoute", default, with = "lenient_ipv4")]
    pub default_route: Option<Ipv4Addr>,
}

/// `Remark.Servers[]`: one appliance address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RemarkServer {
    /// The address.
    #[serde(rename = "IPAddress", default, with = "lenient_ipv4")]
    pub ip_address: Option<Ipv4Addr>,
}

/// The switch as embedded in an appliance.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ApplianceSwitch {
    /// Switch ID.
    #[serde(rename = "ID", default)]
    pub id: Id,
    /// Name.
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Scope.
    #[serde(rename = "Scope", default)]
    pub scope: Option<Scope>,
}

/// An appliance NIC.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ApplianceInterface {
    /// API-assigned address (shared segment).
    #[serde(rename = "IPAddress", default, with = "lenient_ipv4")]
    pub ip_address: Option<Ipv4Addr>,
    /// User-assigned address.
    #[serde(rename = "UserIPAddress", default, with = "lenient_ipv4")]
    pub user_ip_address: Option<Ipv4Addr>,
}

/// What to create. Written as `{"Appliance": {"Class": "loadbalancer", ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadBalancerCreate {
    /// Name (1–64 characters).
    #[serde(rename = "Name")]
    pub name: String,
    /// Free text.
    #[serde(rename = "Description")]
    pub description: String,
    /// Tags; ownership is proven by them.
    #[serde(rename = "Tags")]
    pub tags: Vec<String>,
    /// 1 standard, 2 high-spec.
    #[serde(skip)]
    pub plan_id: u32,
    /// Switch to connect to.
    #[serde(skip)]
    pub switch_id: Id,
    /// VRRP ID, unique on the switch.
    #[serde(skip)]
    pub vrid: u32,
    /// Prefix length of the appliance's network.
    #[serde(skip)]
    pub network_mask_len: u8,
    /// Gateway.
    #[serde(skip)]
    pub default_route: Option<Ipv4Addr>,
    /// One address (single) or two (redundant pair).
    #[serde(skip)]
    pub ip_addresses: Vec<Ipv4Addr>,
    /// Virtual IPs.
    #[serde(rename = "Settings")]
    pub settings: LoadBalancerSettings,
}

impl LoadBalancerCreate {
    /// The request body, with the plan repeated in `Remark` as the API requires.
    fn to_body(&self) -> Result<serde_json::Value, Error> {
        let mut appliance = serde_json::to_value(self)
            .map_err(|e| Error::InvalidRequest(format!("encoding appliance: {e}")))?;
        let remark = Remark {
            switch: RemarkSwitch { id: self.switch_id },
            vrrp: Vrrp { vrid: self.vrid },
            network: RemarkNetwork {
                network_mask_len: self.network_mask_len,
                default_route: self.default_route,
            },
            servers: self
                .ip_addresses
                .iter()
                .map(|ip| RemarkServer {
                    ip_address: Some(*ip),
                })
                .collect(),
            plan: Some(IdRef {
                id: Id(u64::from(self.plan_id)),
            }),
            zone: None,
        };
        if let Some(obj) = appliance.as_object_mut() {
            obj.insert("Class".into(), json!(LOAD_BALANCER_CLASS));
            obj.insert("Plan".into(), json!({ "ID": self.plan_id }));
            obj.insert(
                "Remark".into(),
                serde_json::to_value(remark)
                    .map_err(|e| Error::InvalidRequest(format!("encoding remark: {e}")))?,
            );
        }
        Ok(json!({ "Appliance": appliance }))
    }
}

/// What to change; `None` fields are left as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct LoadBalancerUpdate {
    /// New name.
    #[serde(rename = "Name", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(rename = "Description", skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New tags (replace the old ones).
    #[serde(rename = "Tags", skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// New settings (replace the old ones); apply them with
    /// [`Client::apply_load_balancer_config`].
    #[serde(rename = "Settings", skip_serializing_if = "Option::is_none")]
    pub settings: Option<LoadBalancerSettings>,
    /// The `SettingsHash` the change is based on; the API refuses the update if the settings
    /// changed since.
    #[serde(rename = "SettingsHash", skip_serializing_if = "Option::is_none")]
    pub settings_hash: Option<String>,
}

/// Live status of one virtual IP + port (`GET appliance/{id}/status`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct VirtualIpStatus {
    /// The virtual IP.
    #[serde(rename = "VirtualIPAddress", default, with = "lenient_ipv4")]
    pub virtual_ip_address: Option<Ipv4Addr>,
    /// Port.
    #[serde(rename = "Port", default)]
    pub port: StringNumber,
    /// Connections per second.
    #[serde(rename = "CPS", default)]
    pub cps: StringNumber,
    /// Real servers.
    #[serde(rename = "Servers", default, deserialize_with = "null_as_default")]
    pub servers: Vec<RealServerStatus>,
}

/// Live status of a real server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct RealServerStatus {
    /// Address.
    #[serde(rename = "IPAddress", default, with = "lenient_ipv4")]
    pub ip_address: Option<Ipv4Addr>,
    /// Port.
    #[serde(rename = "Port", default)]
    pub port: StringNumber,
    /// `UP` or `DOWN`.
    #[serde(rename = "Status", default, deserialize_with = "null_as_default")]
    pub status: String,
    /// Active connections.
    #[serde(rename = "ActiveConn", default)]
    pub active_conn: StringNumber,
    /// Connections per second.
    #[serde(rename = "CPS", default)]
    pub cps: StringNumber,
}

fn appliance_path(id: Id) -> String {
    format!("appliance/{id}")
}

impl Client {
    /// `GET appliance` with `Class: loadbalancer` added to `filter`: every load balancer
    /// matching it.
    pub async fn find_load_balancers(&self, filter: &Filter) -> Result<Vec<LoadBalancer>, Error> {
        let filter = filter.clone().class(LOAD_BALANCER_CLASS);
        self.find_all("appliance", "Appliances", &filter).await
    }

    /// `GET appliance` without a class: every appliance matching `filter` (VPC routers,
    /// databases, … as well as load balancers), each read in the load balancer's shape. The
    /// fields all classes share are meaningful (`Class`, name, tags, `Instance`,
    /// `Availability`, `Remark` with the switch, VRID and own addresses, `Interfaces`); the
    /// rest of another class's `Settings` is dropped. For counting the addresses and VRIDs in
    /// use on a switch with one call.
    pub async fn find_appliances(&self, filter: &Filter) -> Result<Vec<LoadBalancer>, Error> {
        self.find_all("appliance", "Appliances", filter).await
    }

    /// `POST appliance`: creates a load balancer. It starts `migrating` and boots by itself.
    ///
    /// Never retried, even on 503 or a lost connection: the appliance may have been created, and
    /// a second POST would create another (and take more addresses). On any error, look for it
    /// by name or tags ([`Client::find_load_balancers`]) before trying again.
    pub async fn create_load_balancer(
        &self,
        create: &LoadBalancerCreate,
    ) -> Result<LoadBalancer, Error> {
        let request =
            Request::new(Method::POST, "appliance", "appliance".to_owned()).json(create.to_body()?);
        self.send_for(request, "Appliance").await
    }

    /// `GET appliance/{id}`.
    pub async fn read_load_balancer(&self, id: Id) -> Result<LoadBalancer, Error> {
        self.read("appliance", id, "Appliance").await
    }

    /// `PUT appliance/{id}`: changes name, description, tags and/or settings.
    pub async fn update_load_balancer(
        &self,
        id: Id,
        update: &LoadBalancerUpdate,
    ) -> Result<LoadBalancer, Error> {
        let request = Request::new(Method::PUT, "appliance/{id}", appliance_path(id))
            .json(envelope("Appliance", update)?);
        self.send_for(request, "Appliance").await
    }

    /// `PUT appliance/{id}` with only `Settings` and `SettingsHash`. Follow with
    /// [`Client::apply_load_balancer_config`] for the appliance to use them.
    pub async fn update_load_balancer_settings(
        &self,
        id: Id,
        settings: &LoadBalancerSettings,
        settings_hash: Option<&str>,
    ) -> Result<LoadBalancer, Error> {
        let update = LoadBalancerUpdate {
            settings: Some(settings.clone()),
            settings_hash: settings_hash.map(str::to_owned),
            ..LoadBalancerUpdate::default()
        };
        self.update_load_balancer(id, &update).await
    }

    /// `PUT appliance/{id}/config`: makes the appliance use its saved settings.
    pub async fn apply_load_balancer_config(&self, id: Id) -> Result<(), Error> {
        self.action(Request::new(
            Method::PUT,
            "appliance/{id}/config",
            format!("appliance/{id}/config"),
        ))
        .await
    }

    /// `PUT appliance/{id}/power`: boots it. 409 if it is already up, or `still_creating`.
    pub async fn boot_load_balancer(&self, id: Id) -> Result<(), Error> {
        self.action(Request::new(
            Method::PUT,
            "appliance/{id}/power",
            format!("appliance/{id}/power"),
        ))
        .await
    }

    /// `DELETE appliance/{id}/power`: shuts it down; `force` cuts the power instead of asking
    /// the appliance to stop. 409 if it is already down, or `still_creating`.
    pub async fn shutdown_load_balancer(&self, id: Id, force: bool) -> Result<(), Error> {
        self.action(
            Request::new(
                Method::DELETE,
                "appliance/{id}/power",
                format!("appliance/{id}/power"),
            )
            .json(json!({ "Force": force })),
        )
        .await
    }

    /// `DELETE appliance/{id}`: deletes it. It must be down first (409 otherwise).
    pub async fn delete_load_balancer(&self, id: Id) -> Result<LoadBalancer, Error> {
        self.send_for(
            Request::new(Method::DELETE, "appliance/{id}", appliance_path(id)),
            "Appliance",
        )
        .await
    }

    /// `GET appliance/{id}/status`: per virtual IP, the real servers' health as the appliance
    /// sees it.
    pub async fn load_balancer_status(&self, id: Id) -> Result<Vec<VirtualIpStatus>, Error> {
        let mut body = self
            .call(&Request::new(
                Method::GET,
                "appliance/{id}/status",
                format!("appliance/{id}/status"),
            ))
            .await?;
        match body.remove("LoadBalancer") {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(v) => serde_json::from_value(v).map_err(|e| Error::Decode {
                method: "GET",
                path: format!("appliance/{id}/status"),
                message: e.to_string(),
            }),
        }
    }
}
