//! The Enhanced Load Balancer ("ProxyLB", エンハンスドロードバランサ): a global L4/L7 proxy
//! in front of any SAKURA-provided global addresses.
//!
//! Unlike the load-balancer appliance it is a *common service item*
//! (`commonserviceitem` with `Provider.Class: proxylb`), one account-wide object: every call
//! goes to zone [`Zone::GLOBAL`] (`is1a`), whatever zone the [`Client`] was built for, and
//! the item's own `Region` (`is1`, `tk1`, `anycast`) says where it runs.
//!
//! Things to know:
//! - **A plan change gives a new ID** ([`Client::change_proxy_lb_plan`] returns the new item; the
//!   old ID then answers 404). Find Enhanced Load Balancers by name and tags rather than by a
//!   remembered ID.
//! - **An update replaces the settings wholesale.** Read, modify, and send the settings back with
//!   the `SettingsHash` that was read ([`Client::update_proxy_lb_settings`]); a stale hash is
//!   refused (409), which is how concurrent changes are detected.
//! - The VIP to publish is [`ProxyLbHealth::current_vip`] (from [`Client::proxy_lb_health`]);
//!   with VIP failover it can change, and [`ProxyLbStatus::fqdn`] is the stable name.
//! - Real servers are reached from [`ProxyLbStatus::proxy_networks`]; firewalls must let those
//!   networks in.

pub mod certificates;
pub mod settings;

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use reqwest::Method;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use self::certificates::{ProxyLbCertificate, ProxyLbCertificates};
pub use self::settings::{
    BackendHttpKeepAlive, BindPort, KeepAliveMode, LetsEncrypt, ProxyLbHealthCheck,
    ProxyLbHealthCheckProtocol, ProxyLbRule, ProxyLbServer, ProxyLbSettings, ProxyLbTimeout,
    ProxyMode, ResponseHeader, RuleAction, SorryServer, SslPolicy, StickySession, Syslog, Toggle,
};
use super::common::{Availability, open_enum};
use crate::client::{Client, HasId, Request};
use crate::error::Error;
use crate::find::Filter;
use crate::wire::{Id, lenient_bool, lenient_ipv4, null_as_default, number_or_string};
use crate::zone::Zone;

/// `Provider.Class` of Enhanced Load Balancers.
pub const PROXY_LB_CLASS: &str = "proxylb";
/// At most this many tags per item (SAKURA's SDK keeps one free for `@previous-id=`).
pub const MAX_TAGS: usize = 10;

const RESOURCE: &str = "commonserviceitem";
const ITEM: &str = "CommonServiceItem";

/// The plan of an Enhanced Load Balancer: how many new connections per second (CPS) it takes.
///
/// On the wire the plan is part of `ServiceClass` (`cloud/proxylb/plain/{cps}`, or
/// `cloud/proxylb/anycast/{cps}` in region `anycast`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum ProxyLbPlan {
    /// 100 CPS (the default).
    #[default]
    Cps100,
    /// 500 CPS.
    Cps500,
    /// 1,000 CPS.
    Cps1000,
    /// 5,000 CPS.
    Cps5000,
    /// 10,000 CPS.
    Cps10000,
    /// 50,000 CPS.
    Cps50000,
    /// 100,000 CPS.
    Cps100000,
    /// 400,000 CPS.
    Cps400000,
}

impl ProxyLbPlan {
    /// Every plan, smallest first.
    pub const ALL: [ProxyLbPlan; 8] = [
        ProxyLbPlan::Cps100,
        ProxyLbPlan::Cps500,
        ProxyLbPlan::Cps1000,
        ProxyLbPlan::Cps5000,
        ProxyLbPlan::Cps10000,
        ProxyLbPlan::Cps50000,
        ProxyLbPlan::Cps100000,
        ProxyLbPlan::Cps400000,
    ];

    /// Connections per second.
    pub fn cps(self) -> u32 {
        match self {
            ProxyLbPlan::Cps100 => 100,
            ProxyLbPlan::Cps500 => 500,
            ProxyLbPlan::Cps1000 => 1_000,
            ProxyLbPlan::Cps5000 => 5_000,
            ProxyLbPlan::Cps10000 => 10_000,
            ProxyLbPlan::Cps50000 => 50_000,
            ProxyLbPlan::Cps100000 => 100_000,
            ProxyLbPlan::Cps400000 => 400_000,
        }
    }

    /// The plan with this CPS value, if there is one.
    pub fn from_cps(cps: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|p| u64::from(p.cps()) == cps)
    }

    /// The `ServiceClass` of this plan in `region`.
    pub fn service_class(self, region: &ProxyLbRegion) -> String {
        let kind = if *region == ProxyLbRegion::Anycast {
            "anycast"
        } else {
            "plain"
        };
        format!("cloud/proxylb/{kind}/{}", self.cps())
    }

    /// The plan named by a `ServiceClass` (`cloud/proxylb/plain/100`,
    /// `cloud/proxylb/anycast/5000`); `None` for anything else.
    pub fn from_service_class(service_class: &str) -> Option<Self> {
        let rest = service_class.trim().strip_prefix("cloud/proxylb/")?;
        let (kind, cps) = rest.split_once('/')?;
        if kind != "plain" && kind != "anycast" {
            return None;
        }
        Self::from_cps(cps.parse().ok()?)
    }
}

impl fmt::Display for ProxyLbPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.cps())
    }
}

/// The error for a CPS value that is not a plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{given:?} is not an Enhanced Load Balancer plan; plans (CPS) are 100, 500, 1000, 5000, 10000, 50000, 100000, 400000"
)]
pub struct UnknownPlan {
    /// What was given.
    pub given: String,
}

impl FromStr for ProxyLbPlan {
    type Err = UnknownPlan;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<u64>()
            .ok()
            .and_then(Self::from_cps)
            .ok_or_else(|| UnknownPlan {
                given: s.to_owned(),
            })
    }
}

impl TryFrom<u32> for ProxyLbPlan {
    type Error = UnknownPlan;

    fn try_from(cps: u32) -> Result<Self, Self::Error> {
        Self::from_cps(u64::from(cps)).ok_or_else(|| UnknownPlan {
            given: cps.to_string(),
        })
    }
}

open_enum! {
    /// Where an Enhanced Load Balancer runs. Fixed at creation.
    ProxyLbRegion {
        /// Ishikari (the default).
        Is1 => "is1",
        /// Tokyo.
        Tk1 => "tk1",
        /// Both, announced by anycast.
        Anycast => "anycast",
    }
}

impl Default for ProxyLbRegion {
    /// `is1`, the default of SAKURA's tools.
    fn default() -> Self {
        ProxyLbRegion::Is1
    }
}

/// An Enhanced Load Balancer as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProxyLb {
    /// Its ID (changes with every plan change).
    #[serde(rename = "ID")]
    pub id: Id,
    /// Name (1–64 characters).
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Free text.
    #[serde(rename = "Description", default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Tags (at most 10).
    #[serde(rename = "Tags", default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Provisioning state.
    #[serde(rename = "Availability", default)]
    pub availability: Option<Availability>,
    /// `cloud/proxylb/plain/{cps}` or `cloud/proxylb/anycast/{cps}`; see [`ProxyLb::plan`].
    #[serde(rename = "ServiceClass", default, deserialize_with = "null_as_default")]
    pub service_class: String,
    /// The service behind the item.
    #[serde(rename = "Provider", default, deserialize_with = "null_as_default")]
    pub provider: ProxyLbProvider,
    /// What it does.
    #[serde(rename = "Settings", default, deserialize_with = "settings_envelope")]
    pub settings: ProxyLbSettings,
    /// Hash of the settings; send it back with an update.
    #[serde(rename = "SettingsHash", default, deserialize_with = "null_as_default")]
    pub settings_hash: String,
    /// Region, VIP failover, addresses and name.
    #[serde(rename = "Status", default, deserialize_with = "null_as_default")]
    pub status: ProxyLbStatus,
    /// Creation time (ISO 8601).
    #[serde(rename = "CreatedAt", default, deserialize_with = "null_as_default")]
    pub created_at: String,
    /// Last change (ISO 8601).
    #[serde(rename = "ModifiedAt", default, deserialize_with = "null_as_default")]
    pub modified_at: String,
}

impl HasId for ProxyLb {
    fn id(&self) -> Id {
        self.id
    }
}

impl ProxyLb {
    /// The plan, parsed from `ServiceClass`; `None` if the API sent one this client does not
    /// know.
    pub fn plan(&self) -> Option<ProxyLbPlan> {
        ProxyLbPlan::from_service_class(&self.service_class)
    }

    /// Whether it is ready to use.
    pub fn is_available(&self) -> bool {
        self.availability == Some(Availability::Available)
    }
}

/// `Provider`: which common service the item is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ProxyLbProvider {
    /// Provider ID.
    #[serde(rename = "ID", default)]
    pub id: Id,
    /// `proxylb`.
    #[serde(rename = "Class", default, deserialize_with = "null_as_default")]
    pub class: String,
    /// Provider name.
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// `cloud/proxylb`.
    #[serde(rename = "ServiceClass", default, deserialize_with = "null_as_default")]
    pub service_class: String,
}

/// `Status`: set at creation (`Region`, `UseVIPFailover`) or by SAKURA (the rest).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ProxyLbStatus {
    /// Whether the VIP may move to another address on failure (then publish [`Self::fqdn`]).
    #[serde(rename = "UseVIPFailover", default, with = "lenient_bool")]
    pub use_vip_failover: bool,
    /// Where it runs.
    #[serde(rename = "Region", default, deserialize_with = "null_as_default")]
    pub region: ProxyLbRegion,
    /// The networks (CIDRs) the load balancer connects to real servers from.
    #[serde(
        rename = "ProxyNetworks",
        default,
        deserialize_with = "null_as_default"
    )]
    pub proxy_networks: Vec<String>,
    /// A DNS name for CNAME records (`site-….proxylbN.sakura.ne.jp`); empty without VIP
    /// failover.
    #[serde(rename = "FQDN", default, deserialize_with = "null_as_default")]
    pub fqdn: String,
    /// The VIP, when the API reports it here (the health endpoint's `CurrentVIP` is the one to
    /// trust).
    #[serde(rename = "VirtualIPAddress", default, with = "lenient_ipv4")]
    pub virtual_ip_address: Option<Ipv4Addr>,
}

/// `Settings` is `{"ProxyLB": {...}}` on the wire.
fn settings_envelope<'de, D: Deserializer<'de>>(d: D) -> Result<ProxyLbSettings, D::Error> {
    #[derive(Deserialize, Default)]
    struct Envelope {
        #[serde(rename = "ProxyLB", default, deserialize_with = "null_as_default")]
        proxy_lb: ProxyLbSettings,
    }
    Ok(Option::<Envelope>::deserialize(d)?
        .unwrap_or_default()
        .proxy_lb)
}

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProxyLbCreate {
    /// Name (1–64 characters).
    pub name: String,
    /// Free text.
    pub description: String,
    /// Tags (at most 10); ownership is proven by them.
    pub tags: Vec<String>,
    /// Plan.
    pub plan: ProxyLbPlan,
    /// Where it runs; cannot change later.
    pub region: ProxyLbRegion,
    /// Whether the VIP may move on failure (then an FQDN is assigned); cannot change later.
    pub use_vip_failover: bool,
    /// What it does.
    pub settings: ProxyLbSettings,
}

impl ProxyLbCreate {
    /// The request body: `{"CommonServiceItem": {..., "Provider": {"Class": "proxylb"}, ...}}`.
    pub fn to_body(&self) -> Result<Value, Error> {
        Ok(json!({ ITEM: {
            "Name": self.name,
            "Description": self.description,
            "Tags": self.tags,
            "Provider": {"Class": PROXY_LB_CLASS},
            "ServiceClass": self.plan.service_class(&self.region),
            "Settings": {"ProxyLB": encode_settings(&self.settings)?},
            "Status": {"UseVIPFailover": self.use_vip_failover, "Region": self.region},
        }}))
    }
}

/// What to change; `None` fields are left as they are. `Settings`, when given, replace the
/// current ones wholesale.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProxyLbUpdate {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New tags (replace the old ones).
    pub tags: Option<Vec<String>>,
    /// New settings (replace the old ones entirely).
    pub settings: Option<ProxyLbSettings>,
    /// The `SettingsHash` the change is based on; the API refuses the update (409) if the
    /// settings changed since.
    pub settings_hash: Option<String>,
}

impl ProxyLbUpdate {
    /// The request body: `{"CommonServiceItem": {...}}` with only the fields given.
    pub fn to_body(&self) -> Result<Value, Error> {
        let mut item = serde_json::Map::new();
        if let Some(n) = &self.name {
            item.insert("Name".into(), json!(n));
        }
        if let Some(d) = &self.description {
            item.insert("Description".into(), json!(d));
        }
        if let Some(t) = &self.tags {
            item.insert("Tags".into(), json!(t));
        }
        if let Some(s) = &self.settings {
            item.insert("Settings".into(), json!({"ProxyLB": encode_settings(s)?}));
        }
        if let Some(h) = &self.settings_hash {
            item.insert("SettingsHash".into(), json!(h));
        }
        Ok(json!({ ITEM: item }))
    }
}

fn encode_settings(s: &ProxyLbSettings) -> Result<Value, Error> {
    serde_json::to_value(s).map_err(|e| Error::InvalidRequest(format!("encoding settings: {e}")))
}

open_enum! {
    /// What a real server's health is, as the load balancer sees it (read case-insensitively:
    /// `UP` and `up` are the same).
    ServerHealthStatus {
        /// Passing the health check.
        Up => "up",
        /// Failing it.
        Down => "down",
        /// Being taken out of service.
        Cleaning => "cleaning",
    }
}

/// `GET commonserviceitem/{id}/health`: live state.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ProxyLbHealth {
    /// Open connections.
    #[serde(rename = "ActiveConn", default, with = "number_or_string")]
    pub active_conn: u64,
    /// New connections per second.
    #[serde(rename = "CPS", default, deserialize_with = "lenient_f64")]
    pub cps: f64,
    /// The VIP clients reach now (the one to publish).
    #[serde(rename = "CurrentVIP", default, with = "lenient_ipv4")]
    pub current_vip: Option<Ipv4Addr>,
    /// Each real server.
    #[serde(rename = "Servers", default, deserialize_with = "null_as_default")]
    pub servers: Vec<ProxyLbServerHealth>,
}

/// One real server's live state.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProxyLbServerHealth {
    /// Open connections.
    #[serde(rename = "ActiveConn", default, with = "number_or_string")]
    pub active_conn: u64,
    /// Health.
    #[serde(
        rename = "Status",
        default = "unknown_status",
        deserialize_with = "health_status"
    )]
    pub status: ServerHealthStatus,
    /// Its address.
    #[serde(rename = "IPAddress", default, with = "lenient_ipv4")]
    pub ip_address: Option<Ipv4Addr>,
    /// Its port (a string on the wire).
    #[serde(rename = "Port", default, with = "number_or_string")]
    pub port: u16,
    /// New connections per second.
    #[serde(rename = "CPS", default, deserialize_with = "lenient_f64")]
    pub cps: f64,
}

impl ProxyLbServerHealth {
    /// Whether it is up.
    pub fn is_up(&self) -> bool {
        self.status == ServerHealthStatus::Up
    }
}

fn unknown_status() -> ServerHealthStatus {
    ServerHealthStatus::Other(String::new())
}

/// `UP`, `Up` and `up` are all [`ServerHealthStatus::Up`]; unknown values keep their spelling.
fn health_status<'de, D: Deserializer<'de>>(d: D) -> Result<ServerHealthStatus, D::Error> {
    let text = Option::<String>::deserialize(d)?.unwrap_or_default();
    Ok(
        match ServerHealthStatus::from(text.to_ascii_lowercase().as_str()) {
            ServerHealthStatus::Other(_) => ServerHealthStatus::Other(text),
            known => known,
        },
    )
}

/// A float from a number, a string holding one, `""` or `null` (zero).
fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(0.0),
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| de::Error::custom(format!("not a number: {n}"))),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(0.0),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("not a number: {s:?}"))),
        Some(other) => Err(de::Error::custom(format!("not a number: {other}"))),
    }
}

fn item_path(id: Id) -> String {
    format!("{RESOURCE}/{id}")
}

impl Client {
    /// `GET commonserviceitem` with `Provider.Class: proxylb` added to `filter`: every Enhanced
    /// Load Balancer of the account that matches, across as many pages as needed.
    pub async fn find_proxy_lbs(&self, filter: &Filter) -> Result<Vec<ProxyLb>, Error> {
        let filter = filter.clone().provider_class(PROXY_LB_CLASS);
        self.find_all_in(Some(Zone::GLOBAL), RESOURCE, "CommonServiceItems", &filter)
            .await
    }

    /// `POST commonserviceitem`: creates an Enhanced Load Balancer.
    ///
    /// Never retried, even on 503 or a lost connection: it may have been created, and a second
    /// POST would create another. On any error, look for it by name or tags
    /// ([`Client::find_proxy_lbs`]) before trying again.
    pub async fn create_proxy_lb(&self, create: &ProxyLbCreate) -> Result<ProxyLb, Error> {
        let request = Request::new(Method::POST, RESOURCE, RESOURCE.to_owned())
            .in_zone(Zone::GLOBAL)
            .json(create.to_body()?);
        self.send_for(request, ITEM).await
    }

    /// `GET commonserviceitem/{id}`. A missing one (or an ID a plan change retired) is an error
    /// with [`Error::is_not_found`].
    pub async fn read_proxy_lb(&self, id: Id) -> Result<ProxyLb, Error> {
        let request = Request::new(Method::GET, "commonserviceitem/{id}", item_path(id))
            .in_zone(Zone::GLOBAL);
        self.send_for(request, ITEM).await
    }

    /// `PUT commonserviceitem/{id}`: changes name, description, tags and/or settings.
    pub async fn update_proxy_lb(&self, id: Id, update: &ProxyLbUpdate) -> Result<ProxyLb, Error> {
        let request = Request::new(Method::PUT, "commonserviceitem/{id}", item_path(id))
            .in_zone(Zone::GLOBAL)
            .json(update.to_body()?);
        self.send_for(request, ITEM).await
    }

    /// `PUT commonserviceitem/{id}` with `Settings` and the `SettingsHash` that was read with
    /// them. The settings replace the current ones wholesale; if someone changed them since
    /// `settings_hash` was read, the API answers 409 ([`Error::is_conflict`]): read again and
    /// redo the change.
    pub async fn update_proxy_lb_settings(
        &self,
        id: Id,
        settings: &ProxyLbSettings,
        settings_hash: &str,
    ) -> Result<ProxyLb, Error> {
        let update = ProxyLbUpdate {
            settings: Some(settings.clone()),
            settings_hash: Some(settings_hash.to_owned()),
            ..ProxyLbUpdate::default()
        };
        self.update_proxy_lb(id, &update).await
    }

    /// `PUT commonserviceitem/{id}/plan`: moves it to `plan` (`region` is its region, which the
    /// `ServiceClass` names). **Returns the item under a new ID**; the old ID answers 404 from
    /// then on. Settings, tags, VIP and FQDN stay.
    ///
    /// Never retried (like a create): if the answer is lost, the change may have happened under
    /// an ID the caller has not seen. Find it by name or tags before trying again. SAKURA's SDK
    /// first tags the item `@previous-id=<old ID>` (when it has fewer than 10 tags) to make that
    /// easy; this method leaves the choice to the caller.
    pub async fn change_proxy_lb_plan(
        &self,
        id: Id,
        plan: ProxyLbPlan,
        region: &ProxyLbRegion,
    ) -> Result<ProxyLb, Error> {
        let request = Request::new(
            Method::PUT,
            "commonserviceitem/{id}/plan",
            format!("{RESOURCE}/{id}/plan"),
        )
        .in_zone(Zone::GLOBAL)
        .no_retry()
        .json(json!({ ITEM: {"ServiceClass": plan.service_class(region)} }));
        self.send_for(request, ITEM).await
    }

    /// `DELETE commonserviceitem/{id}`: deletes it, with its certificates.
    pub async fn delete_proxy_lb(&self, id: Id) -> Result<(), Error> {
        self.action(
            Request::new(Method::DELETE, "commonserviceitem/{id}", item_path(id))
                .in_zone(Zone::GLOBAL),
        )
        .await
    }

    /// `GET commonserviceitem/{id}/health`: the current VIP and each real server's health.
    pub async fn proxy_lb_health(&self, id: Id) -> Result<ProxyLbHealth, Error> {
        let request = Request::new(
            Method::GET,
            "commonserviceitem/{id}/health",
            format!("{RESOURCE}/{id}/health"),
        )
        .in_zone(Zone::GLOBAL);
        self.send_for(request, "ProxyLB").await
    }

    /// `PUT commonserviceitem/{id}/proxylb/letsencryptrenew`: asks SAKURA to issue (or renew) the
    /// Let's Encrypt certificate of the settings' `LetsEncrypt.CommonName` now. The certificate
    /// appears in [`Client::proxy_lb_certificates`] some time later; poll for it. 400 unless
    /// Let's Encrypt is enabled in the settings.
    pub async fn renew_proxy_lb_lets_encrypt(&self, id: Id) -> Result<(), Error> {
        self.action(
            Request::new(
                Method::PUT,
                "commonserviceitem/{id}/proxylb/letsencryptrenew",
                format!("{RESOURCE}/{id}/proxylb/letsencryptrenew"),
            )
            .in_zone(Zone::GLOBAL),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_and_service_classes_round_trip() {
        for plan in ProxyLbPlan::ALL {
            for region in [
                ProxyLbRegion::Is1,
                ProxyLbRegion::Tk1,
                ProxyLbRegion::Anycast,
            ] {
                let class = plan.service_class(&region);
                assert_eq!(
                    ProxyLbPlan::from_service_class(&class),
                    Some(plan),
                    "{class}"
                );
            }
            assert_eq!(plan.to_string().parse::<ProxyLbPlan>(), Ok(plan));
            assert_eq!(ProxyLbPlan::try_from(plan.cps()), Ok(plan));
        }
        assert_eq!(
            ProxyLbPlan::Cps5000.service_class(&ProxyLbRegion::Anycast),
            "cloud/proxylb/anycast/5000"
        );
        assert_eq!(
            ProxyLbPlan::Cps100.service_class(&ProxyLbRegion::Tk1),
            "cloud/proxylb/plain/100"
        );
        for bad in [
            "cloud/proxylb/plain/200",
            "cloud/proxylb/fancy/100",
            "cloud/appliance/loadbalancer/1",
            "",
        ] {
            assert_eq!(ProxyLbPlan::from_service_class(bad), None, "{bad}");
        }
        let err = "250".parse::<ProxyLbPlan>().unwrap_err();
        assert!(err.to_string().contains("400000"), "{err}");
        assert!(ProxyLbPlan::try_from(0).is_err());
    }

    #[test]
    fn reads_an_item_with_status_and_settings() {
        let lb: ProxyLb = serde_json::from_value(json!({
            "ID": "113000000001", "Name": "svc", "Tags": null, "Availability": "available",
            "ServiceClass": "cloud/proxylb/anycast/1000",
            "Provider": {"ID": 9100001, "Class": "proxylb", "Name": "proxylb1", "ServiceClass": "cloud/proxylb"},
            "Settings": {"ProxyLB": {"BindPorts": [{"ProxyMode": "tcp", "Port": 443}], "Servers": null}},
            "SettingsHash": "abc",
            "Status": {"UseVIPFailover": true, "Region": "anycast", "ProxyNetworks": ["192.51.0.0/28"],
                       "FQDN": "site-1.proxylb2.sakura.ne.jp"},
            "CreatedAt": "2026-01-01T00:00:00+09:00"
        }))
        .unwrap();
        assert_eq!(lb.id, Id(113_000_000_001));
        assert_eq!(lb.plan(), Some(ProxyLbPlan::Cps1000));
        assert!(lb.is_available());
        assert_eq!(lb.status.region, ProxyLbRegion::Anycast);
        assert!(lb.status.use_vip_failover);
        assert_eq!(lb.status.proxy_networks, ["192.51.0.0/28"]);
        assert_eq!(lb.settings.bind_ports[0].proxy_mode, ProxyMode::Tcp);
        assert!(lb.settings.servers.is_empty());
        assert_eq!(lb.provider.class, "proxylb");
        // A bare item (no settings, no status) is readable too.
        let bare: ProxyLb =
            serde_json::from_value(json!({"ID": 1, "Settings": null, "Status": null})).unwrap();
        assert_eq!(bare.status.region, ProxyLbRegion::Is1);
        assert_eq!(bare.plan(), None);
    }

    #[test]
    fn create_body_has_the_documented_shape() {
        let create = ProxyLbCreate {
            name: "svc-abc".into(),
            tags: vec!["k8s-cluster=foo".into()],
            plan: ProxyLbPlan::Cps100,
            region: ProxyLbRegion::Is1,
            use_vip_failover: true,
            settings: ProxyLbSettings {
                bind_ports: vec![BindPort::new(ProxyMode::Http, 80)],
                servers: vec![ProxyLbServer::new(Ipv4Addr::new(203, 0, 113, 10), 30080)],
                ..ProxyLbSettings::default()
            },
            ..ProxyLbCreate::default()
        };
        let body = create.to_body().unwrap();
        let item = &body["CommonServiceItem"];
        assert_eq!(item["Provider"], json!({"Class": "proxylb"}));
        assert_eq!(item["ServiceClass"], "cloud/proxylb/plain/100");
        assert_eq!(
            item["Status"],
            json!({"UseVIPFailover": true, "Region": "is1"})
        );
        let s = &item["Settings"]["ProxyLB"];
        assert_eq!(
            s["BindPorts"][0],
            json!({"ProxyMode": "http", "Port": 80,
            "RedirectToHttps": false, "SupportHttp2": false, "AddResponseHeader": []})
        );
        assert_eq!(
            s["Servers"][0],
            json!({"IPAddress": "203.0.113.10", "Port": 30080,
            "ServerGroup": "", "Enabled": true, "ProxySSL": false})
        );
        assert_eq!(s["Rules"], json!([]));
        assert_eq!(s["Syslog"], json!({"Server": "", "Port": 514}));
    }

    #[test]
    fn update_body_sends_only_what_changes() {
        let body = ProxyLbUpdate {
            description: Some("d".into()),
            ..ProxyLbUpdate::default()
        }
        .to_body()
        .unwrap();
        assert_eq!(body, json!({"CommonServiceItem": {"Description": "d"}}));
        let body = ProxyLbUpdate {
            settings: Some(ProxyLbSettings::default()),
            settings_hash: Some("h".into()),
            ..ProxyLbUpdate::default()
        }
        .to_body()
        .unwrap();
        assert_eq!(body["CommonServiceItem"]["SettingsHash"], "h");
        assert_eq!(
            body["CommonServiceItem"]["Settings"]["ProxyLB"]["BindPorts"],
            json!([])
        );
    }

    #[test]
    fn health_reads_string_ports_and_any_status_case() {
        let h: ProxyLbHealth = serde_json::from_value(json!({
            "ActiveConn": 10, "CPS": 10.5, "CurrentVIP": "203.0.113.5",
            "Servers": [
                {"ActiveConn": 3, "Status": "UP", "IPAddress": "203.0.113.10", "Port": "30080", "CPS": 1.2},
                {"ActiveConn": "0", "Status": "Down", "IPAddress": "203.0.113.11", "Port": 30080, "CPS": "0"},
                {"Status": "cleaning", "IPAddress": "203.0.113.12", "Port": "30080"},
                {"Status": "Maintenance", "IPAddress": "203.0.113.13", "Port": ""}
            ]
        }))
        .unwrap();
        assert_eq!(h.current_vip, Some(Ipv4Addr::new(203, 0, 113, 5)));
        assert_eq!(h.cps, 10.5);
        assert_eq!(h.servers[0].port, 30080);
        assert!(h.servers[0].is_up());
        assert_eq!(h.servers[1].status, ServerHealthStatus::Down);
        assert_eq!(h.servers[1].port, 30080);
        assert_eq!(h.servers[2].status, ServerHealthStatus::Cleaning);
        assert_eq!(
            h.servers[3].status,
            ServerHealthStatus::Other("Maintenance".into())
        );
        assert_eq!(h.servers[3].port, 0);
    }
}
