//! The Enhanced Load Balancer ("ProxyLB"): a global `commonserviceitem` with
//! `Provider.Class: proxylb`. The stored record, what a create/update/plan-change request may
//! say, the addresses SAKURA assigns (VIP, proxy networks, FQDN) and the live health view.
//! Certificates and Let's Encrypt are in [`crate::proxylb_certs`].
//!
//! Pure functions over the store and JSON; `routes::proxylb` maps them to HTTP.

use crate::error::ApiError;
use crate::ip::Cidr;
use crate::lb::{check_name, settings_hash};
use crate::model::{InstanceStatus, NicConn, sorted_tags};
use crate::proxylb_certs::{Certificates, PendingCert};
use crate::proxylb_settings::{self as settings, Settings};
use crate::store::State;
use crate::time::format_jst;
use crate::wire::{IdStyle, parse_flag, parse_int, parse_tags};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

/// `Provider.Class` of Enhanced Load Balancers.
pub const CLASS: &str = "proxylb";
/// Plans, in connections per second.
pub const PLANS: [u32; 8] = [100, 500, 1000, 5000, 10_000, 50_000, 100_000, 400_000];
/// Regions.
pub const REGIONS: [&str; 3] = ["is1", "tk1", "anycast"];
/// Tags per item.
pub const MAX_TAGS: usize = 10;
/// The provider object every item carries (values of SAKURA's fixture).
const PROVIDER_ID: u64 = 9_100_001;
/// VIPs are handed out from here (the second half of 198.18.0.0/15, which is reserved for
/// benchmarking: routers' subnets use the first half).
pub const VIP_POOL: &str = "198.19.0.0/17";

/// An Enhanced Load Balancer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyLb {
    /// Resource ID (a plan change moves the item to a new one).
    pub id: u64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// `Icon` as given.
    pub icon: Value,
    /// Plan (CPS).
    pub plan: u32,
    /// `is1`, `tk1` or `anycast`.
    pub region: String,
    /// `Status.UseVIPFailover`.
    pub use_vip_failover: bool,
    /// `Settings.ProxyLB`.
    pub settings: Settings,
    /// `SettingsHash`.
    pub settings_hash: String,
    /// The VIP (`CurrentVIP` of the health view).
    pub vip: Ipv4Addr,
    /// `Status.ProxyNetworks`.
    pub proxy_networks: Vec<String>,
    /// `Status.FQDN`, only with VIP failover.
    pub fqdn: Option<String>,
    /// Creation time (simulated unix ms).
    pub created_at_ms: u64,
    /// Last change (simulated unix ms).
    pub modified_at_ms: u64,
    /// Real-server health set through the admin API: `"ip:port"` or `"ip"` → status.
    #[serde(default)]
    pub health: BTreeMap<String, String>,
    /// Certificates.
    #[serde(default)]
    pub certificates: Certificates,
    /// A Let's Encrypt issuance in progress.
    #[serde(default)]
    pub lets_encrypt: Option<PendingCert>,
}

/// A validated create request.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateRequest {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Tags.
    pub tags: Vec<String>,
    /// `Icon`.
    pub icon: Value,
    /// Plan (CPS).
    pub plan: u32,
    /// Region.
    pub region: String,
    /// `UseVIPFailover`.
    pub use_vip_failover: bool,
    /// Settings.
    pub settings: Settings,
}

fn bad(detail: impl AsRef<str>) -> ApiError {
    ApiError::invalid(detail)
}

/// `cloud/proxylb/plain/{cps}`, or `cloud/proxylb/anycast/{cps}` in region `anycast`.
pub fn service_class(plan: u32, region: &str) -> String {
    let kind = if region == "anycast" {
        "anycast"
    } else {
        "plain"
    };
    format!("cloud/proxylb/{kind}/{plan}")
}

fn plan_ok(cps: i64) -> Result<u32, ApiError> {
    u32::try_from(cps)
        .ok()
        .filter(|p| PLANS.contains(p))
        .ok_or_else(|| {
            bad(format!(
                "the plan must be one of 100, 500, 1000, 5000, 10000, 50000, 100000, 400000 CPS (got {cps})"
            ))
        })
}

/// The plan a request names: `ServiceClass` (which must match the region: `anycast` for
/// region `anycast`, `plain` otherwise), or, leniently, `Plan` / `Plan.ID` as a number or
/// string. `None` when the request names none.
pub fn requested_plan(item: &Value, region: &str) -> Result<Option<u32>, ApiError> {
    if let Some(sc) = item.get("ServiceClass").filter(|v| !v.is_null()) {
        let text = sc.as_str().unwrap_or_default();
        let parsed = text
            .strip_prefix("cloud/proxylb/")
            .and_then(|r| r.split_once('/'));
        let Some((kind, cps)) = parsed.filter(|(k, _)| *k == "plain" || *k == "anycast") else {
            return Err(bad(format!(
                "ServiceClass must be cloud/proxylb/plain/{{cps}} or cloud/proxylb/anycast/{{cps}} (got {sc})"
            )));
        };
        let want = if region == "anycast" {
            "anycast"
        } else {
            "plain"
        };
        if kind != want {
            return Err(bad(format!(
                "ServiceClass {text} does not fit region {region} (use cloud/proxylb/{want}/…)"
            )));
        }
        let cps = cps
            .parse::<i64>()
            .map_err(|_| bad(format!("ServiceClass {text}: {cps:?} is not a number")))?;
        return plan_ok(cps).map(Some);
    }
    let plan = item.get("Plan").filter(|v| !v.is_null());
    match plan
        .map(|p| p.get("ID").unwrap_or(p))
        .filter(|v| !v.is_null())
    {
        None => Ok(None),
        Some(v) => parse_int(v)
            .ok_or_else(|| bad(format!("Plan must be a number of CPS, got {v}")))
            .and_then(plan_ok)
            .map(Some),
    }
}

/// Check a tag list: strings, at most 10.
pub fn parse_tag_list(v: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let tags = parse_tags(v).map_err(bad)?;
    if tags.len() > MAX_TAGS {
        return Err(bad(format!(
            "Tags: at most {MAX_TAGS} tags are allowed (got {})",
            tags.len()
        )));
    }
    Ok(tags)
}

fn string(item: &Value, key: &str) -> Result<Option<String>, ApiError> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(format!("{key} must be a string, got {other}"))),
    }
}

/// Parse and check the `CommonServiceItem` of a create request.
pub fn parse_create(item: &Value) -> Result<CreateRequest, ApiError> {
    if !item.is_object() {
        return Err(ApiError::malformed("CommonServiceItem must be an object"));
    }
    let class = item
        .get("Provider")
        .and_then(|p| p.get("Class"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if class != CLASS {
        return Err(bad(format!(
            "Provider.Class must be \"proxylb\" (the simulator serves no other common service), got {class:?}"
        )));
    }
    let name = string(item, "Name")?.unwrap_or_default();
    check_name(&name)?;
    let status = item.get("Status").filter(|s| !s.is_null());
    let region = match status
        .and_then(|s| s.get("Region"))
        .filter(|v| !v.is_null() && v.as_str() != Some(""))
    {
        None => "is1".to_owned(),
        Some(Value::String(r)) if REGIONS.contains(&r.as_str()) => r.clone(),
        Some(other) => {
            return Err(bad(format!(
                "Status.Region must be one of is1, tk1, anycast (got {other})"
            )));
        }
    };
    let use_vip_failover = match status
        .and_then(|s| s.get("UseVIPFailover"))
        .filter(|v| !v.is_null())
    {
        None => false,
        Some(v) => parse_flag(v).ok_or_else(|| {
            bad(format!(
                "Status.UseVIPFailover must be true or false, got {v}"
            ))
        })?,
    };
    let plan = requested_plan(item, &region)?
        .ok_or_else(|| bad("ServiceClass is required (cloud/proxylb/plain/{cps})"))?;
    Ok(CreateRequest {
        name,
        description: string(item, "Description")?.unwrap_or_default(),
        tags: parse_tag_list(item.get("Tags"))?,
        icon: item.get("Icon").cloned().unwrap_or(Value::Null),
        plan,
        region,
        use_vip_failover,
        settings: settings::parse(item.get("Settings"))?,
    })
}

/// The networks real servers see connections from: a /28 per region (both for `anycast`).
pub fn proxy_networks(region: &str) -> Vec<String> {
    let is1 = "198.19.128.0/28".to_owned();
    let tk1 = "198.19.128.16/28".to_owned();
    match region {
        "tk1" => vec![tk1],
        "anycast" => vec![is1, tk1],
        _ => vec![is1],
    }
}

fn fqdn(id: u64, region: &str) -> String {
    let n = match region {
        "tk1" => 2,
        "anycast" => 3,
        _ => 1,
    };
    format!("site-{id}.proxylb{n}.sakura.ne.jp")
}

fn alloc_vip(st: &State) -> Result<Ipv4Addr, ApiError> {
    let pool = Cidr::parse(VIP_POOL).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            e,
        )
    })?;
    let used: HashSet<Ipv4Addr> = st.proxylbs.values().map(|p| p.vip).collect();
    (1..pool.size() - 1)
        .filter_map(|i| pool.nth(i))
        .find(|ip| {
            let last = ip.octets()[3];
            last != 0 && last != 255 && !used.contains(ip)
        })
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "no Enhanced Load Balancer VIP is left in the simulator's pool",
            )
        })
}

/// Create the item: ID, VIP, proxy networks, FQDN (only with VIP failover), hash. Returns its ID.
pub fn insert(st: &mut State, req: CreateRequest, now_ms: u64) -> Result<u64, ApiError> {
    let vip = alloc_vip(st)?;
    let id = st.alloc_id();
    let hash = settings_hash(&settings::render(&req.settings));
    let lb = ProxyLb {
        id,
        name: req.name,
        description: req.description,
        tags: sorted_tags(req.tags),
        icon: req.icon,
        plan: req.plan,
        fqdn: req.use_vip_failover.then(|| fqdn(id, &req.region)),
        proxy_networks: proxy_networks(&req.region),
        region: req.region,
        use_vip_failover: req.use_vip_failover,
        settings: req.settings,
        settings_hash: hash,
        vip,
        created_at_ms: now_ms,
        modified_at_ms: now_ms,
        health: BTreeMap::new(),
        certificates: Certificates::default(),
        lets_encrypt: None,
    };
    st.proxylbs.insert(id, lb);
    Ok(id)
}

/// What an update asks for, checked against the item (`Region`, `UseVIPFailover` and the plan
/// cannot change here).
#[derive(Debug)]
pub struct Update {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New tags.
    pub tags: Option<Vec<String>>,
    /// New icon.
    pub icon: Option<Value>,
    /// New settings (replace the old ones wholesale).
    pub settings: Option<Settings>,
}

/// Parse an update against the current item. A non-empty `SettingsHash` that is not the current
/// one is a 409 (optimistic concurrency, our inference from SAKURA's tools).
pub fn parse_update(lb: &ProxyLb, item: &Value) -> Result<Update, ApiError> {
    if !item.is_object() {
        return Err(ApiError::malformed("CommonServiceItem must be an object"));
    }
    if let Some(h) = item
        .get("SettingsHash")
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
        && h != lb.settings_hash
    {
        return Err(ApiError::conflict(
            "conflict",
            format!(
                "SettingsHash {h} is stale: the settings of CommonServiceItem[ID:{}] were changed since (current {})",
                lb.id, lb.settings_hash
            ),
        ));
    }
    let status = item.get("Status").filter(|s| !s.is_null());
    if let Some(r) = status
        .and_then(|s| s.get("Region"))
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        && r != lb.region
    {
        return Err(bad(format!(
            "Status.Region cannot change after creation (it is {}, got {r})",
            lb.region
        )));
    }
    if let Some(v) = status
        .and_then(|s| s.get("UseVIPFailover"))
        .and_then(parse_flag)
        && v != lb.use_vip_failover
    {
        return Err(bad(format!(
            "Status.UseVIPFailover cannot change after creation (it is {})",
            lb.use_vip_failover
        )));
    }
    if let Some(p) = requested_plan(item, &lb.region)?
        && p != lb.plan
    {
        return Err(bad(
            "the plan cannot change in an update; use PUT commonserviceitem/{id}/plan",
        ));
    }
    let name = string(item, "Name")?;
    if let Some(n) = &name {
        check_name(n)?;
    }
    Ok(Update {
        name,
        description: string(item, "Description")?,
        tags: match item.get("Tags") {
            Some(t) if !t.is_null() => Some(parse_tag_list(Some(t))?),
            _ => None,
        },
        icon: item.get("Icon").cloned(),
        settings: match item.get("Settings").filter(|v| !v.is_null()) {
            Some(s) => Some(settings::parse(Some(s))?),
            None => None,
        },
    })
}

/// Apply a parsed update.
pub fn apply_update(lb: &mut ProxyLb, u: Update, now_ms: u64) {
    if let Some(n) = u.name {
        lb.name = n;
    }
    if let Some(d) = u.description {
        lb.description = d;
    }
    if let Some(t) = u.tags {
        lb.tags = sorted_tags(t);
    }
    if let Some(i) = u.icon {
        lb.icon = i;
    }
    if let Some(s) = u.settings {
        lb.settings_hash = settings_hash(&settings::render(&s));
        lb.settings = s;
    }
    lb.modified_at_ms = now_ms;
}

/// Move an item to another plan under a new ID (the old one disappears). Everything else stays:
/// settings, tags, VIP, FQDN, proxy networks, certificates. Asking for the current plan is
/// refused (400): the real API's answer is not known, and a needless ID change is worth noticing.
pub fn change_plan(st: &mut State, id: u64, plan: u32, now_ms: u64) -> Result<u64, ApiError> {
    let old = st.proxylbs.get(&id).ok_or_else(|| not_found(id))?;
    if old.plan == plan {
        return Err(bad(format!(
            "CommonServiceItem[ID:{id}] already has plan {plan}"
        )));
    }
    let mut moved = st.proxylbs.remove(&id).ok_or_else(|| not_found(id))?;
    let new_id = st.alloc_id();
    moved.id = new_id;
    moved.plan = plan;
    moved.created_at_ms = now_ms;
    moved.modified_at_ms = now_ms;
    st.proxylbs.insert(new_id, moved);
    Ok(new_id)
}

/// The 404 of an absent (or retired) item.
pub fn not_found(id: u64) -> ApiError {
    ApiError::not_found(format!("CommonServiceItem[ID:{id}] is not found"))
}

/// The item as the API answers it. `Status.VirtualIPAddress` is left out, as SAKURA's own fake
/// does: clients take the VIP from the health endpoint's `CurrentVIP`.
pub fn render(lb: &ProxyLb, ids: IdStyle) -> Value {
    let mut status = json!({
        "UseVIPFailover": lb.use_vip_failover,
        "Region": lb.region,
        "ProxyNetworks": lb.proxy_networks,
    });
    if let (Some(f), Some(o)) = (&lb.fqdn, status.as_object_mut()) {
        o.insert("FQDN".into(), json!(f));
    }
    json!({
        "ID": ids.id(lb.id),
        "Name": lb.name,
        "Description": lb.description,
        "Tags": lb.tags,
        "Icon": lb.icon,
        "Availability": "available",
        "ServiceClass": service_class(lb.plan, &lb.region),
        "CreatedAt": format_jst(lb.created_at_ms),
        "ModifiedAt": format_jst(lb.modified_at_ms),
        "Provider": {
            "ID": ids.id(PROVIDER_ID),
            "Class": CLASS,
            "Name": "proxylb1",
            "ServiceClass": "cloud/proxylb",
        },
        "Settings": {"ProxyLB": settings::render(&lb.settings)},
        "SettingsHash": lb.settings_hash,
        "Status": status,
    })
}

/// Addresses of simulated servers that are not running (any zone): real servers there are down.
pub fn stopped_server_ips(st: &State) -> HashSet<Ipv4Addr> {
    st.servers
        .values()
        .filter(|s| s.power.status != InstanceStatus::Up)
        .flat_map(|s| s.nics.iter())
        .filter_map(|n| match n.conn {
            NicConn::Shared { ip } => Some(ip),
            NicConn::Switch { ip, .. } => ip,
            NicConn::Disconnected => None,
        })
        .collect()
}

/// A real server's health: the admin API's setting for `ip:port`, else for `ip`, else `down`
/// when the address belongs to a stopped simulated server, else `up`.
pub fn server_status(lb: &ProxyLb, ip: Ipv4Addr, port: u16, stopped: &HashSet<Ipv4Addr>) -> String {
    lb.health
        .get(&format!("{ip}:{port}"))
        .or_else(|| lb.health.get(&ip.to_string()))
        .cloned()
        .unwrap_or_else(|| {
            if stopped.contains(&ip) {
                "down".to_owned()
            } else {
                "up".to_owned()
            }
        })
}

/// `GET …/health`: per real server (rebuilt from the settings) 10 connections and 10 CPS when
/// up, 0 otherwise; `Port` is a string, as on the real API.
pub fn health(lb: &ProxyLb, stopped: &HashSet<Ipv4Addr>) -> Value {
    let mut total_conn = 0u64;
    let mut total_cps = 0.0f64;
    let servers: Vec<Value> = lb
        .settings
        .servers
        .iter()
        .map(|s| {
            let status = server_status(lb, s.ip, s.port, stopped);
            let (conn, cps) = if status == "up" {
                (10u64, 10.0f64)
            } else {
                (0, 0.0)
            };
            total_conn += conn;
            total_cps += cps;
            json!({
                "ActiveConn": conn,
                "Status": status,
                "IPAddress": s.ip.to_string(),
                "Port": s.port.to_string(),
                "CPS": cps,
            })
        })
        .collect();
    json!({
        "ActiveConn": total_conn,
        "CPS": total_cps,
        "CurrentVIP": lb.vip.to_string(),
        "Servers": servers,
    })
}

/// Admin: set (`Some`) or clear (`None`) the health of `ip:port`, or of every port of `ip`.
pub fn set_health(lb: &mut ProxyLb, ip: Ipv4Addr, port: Option<u16>, status: Option<String>) {
    let key = port.map_or_else(|| ip.to_string(), |p| format!("{ip}:{p}"));
    match status {
        Some(s) => {
            lb.health.insert(key, s);
        }
        None => {
            lb.health.remove(&key);
            if port.is_none() {
                let prefix = format!("{ip}:");
                lb.health.retain(|k, _| !k.starts_with(&prefix));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(extra: Value) -> Value {
        let mut v = json!({
            "Name": "svc", "Tags": ["b", "a"], "Provider": {"Class": "proxylb"},
            "ServiceClass": "cloud/proxylb/plain/100",
            "Settings": {"ProxyLB": {"BindPorts": [{"ProxyMode": "tcp", "Port": 80}],
                                     "HealthCheck": {"Protocol": "tcp"},
                                     "Servers": [{"IPAddress": "203.0.113.10", "Port": 30080}]}},
            "Status": {"UseVIPFailover": true, "Region": "is1"},
        });
        if let (Some(b), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            for (k, x) in e {
                b.insert(k.clone(), x.clone());
            }
        }
        v
    }

    fn msg(r: Result<impl std::fmt::Debug, ApiError>) -> String {
        r.unwrap_err().message
    }

    #[test]
    fn plans_follow_the_region() {
        assert_eq!(service_class(5000, "anycast"), "cloud/proxylb/anycast/5000");
        assert_eq!(service_class(100, "tk1"), "cloud/proxylb/plain/100");
        let any = item(json!({"ServiceClass": "cloud/proxylb/anycast/500",
                              "Status": {"Region": "anycast"}}));
        assert_eq!(parse_create(&any).unwrap().plan, 500);
        assert!(
            msg(parse_create(&item(
                json!({"ServiceClass": "cloud/proxylb/anycast/500"})
            )))
            .contains("does not fit region is1")
        );
        assert!(
            msg(parse_create(&item(
                json!({"ServiceClass": "cloud/proxylb/plain/200"})
            )))
            .contains("got 200")
        );
        assert!(
            msg(parse_create(&item(json!({"ServiceClass": null}))))
                .contains("ServiceClass is required")
        );
        assert_eq!(
            parse_create(&item(json!({"ServiceClass": null, "Plan": {"ID": "1000"}})))
                .unwrap()
                .plan,
            1000
        );
        assert!(msg(parse_create(&item(json!({"Status": {"Region": "us1"}})))).contains("Region"));
        assert!(
            msg(parse_create(&item(json!({"Provider": {"Class": "dns"}}))))
                .contains("Provider.Class")
        );
        let tags: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert!(msg(parse_create(&item(json!({"Tags": tags})))).contains("at most 10 tags"));
        assert!(msg(parse_create(&item(json!({"Name": ""})))).contains("Name must be 1-64"));
    }

    #[test]
    fn create_assigns_addresses_and_fqdn_only_with_failover() {
        let mut st = State::default();
        let a = insert(&mut st, parse_create(&item(json!({}))).unwrap(), 0).unwrap();
        let b = insert(
            &mut st,
            parse_create(&item(
                json!({"Status": {"Region": "anycast", "UseVIPFailover": false},
                                      "ServiceClass": "cloud/proxylb/anycast/100"}),
            ))
            .unwrap(),
            0,
        )
        .unwrap();
        let (a, b) = (&st.proxylbs[&a], &st.proxylbs[&b]);
        assert_ne!(a.vip, b.vip);
        assert!(Cidr::parse(VIP_POOL).unwrap().contains(a.vip));
        assert_eq!(
            a.fqdn.as_deref(),
            Some(format!("site-{}.proxylb1.sakura.ne.jp", a.id).as_str())
        );
        assert_eq!(b.fqdn, None);
        assert_eq!(b.proxy_networks.len(), 2);
        assert_eq!(a.tags, ["a", "b"]);
        let r = render(a, IdStyle { as_int: true });
        assert_eq!(r["Status"]["FQDN"], json!(a.fqdn));
        assert!(
            render(b, IdStyle { as_int: true })["Status"]
                .get("FQDN")
                .is_none()
        );
        assert_eq!(r["Settings"]["ProxyLB"]["Timeout"]["InactiveSec"], 10);
        assert_eq!(
            r["Settings"]["ProxyLB"]["SorryServer"],
            json!({"IPAddress": null, "Port": null})
        );
    }

    #[test]
    fn update_checks_hash_and_fixed_fields_and_plan_change_moves_the_item() {
        let mut st = State::default();
        let id = insert(&mut st, parse_create(&item(json!({}))).unwrap(), 0).unwrap();
        let lb = st.proxylbs[&id].clone();
        let e = parse_update(&lb, &json!({"SettingsHash": "stale"})).unwrap_err();
        assert_eq!(e.status.as_u16(), 409);
        assert!(
            msg(parse_update(&lb, &json!({"Status": {"Region": "tk1"}}))).contains("cannot change")
        );
        assert!(
            msg(parse_update(
                &lb,
                &json!({"Status": {"UseVIPFailover": false}})
            ))
            .contains("cannot change")
        );
        assert!(
            msg(parse_update(
                &lb,
                &json!({"ServiceClass": "cloud/proxylb/plain/500"})
            ))
            .contains("/plan")
        );
        let u = parse_update(&lb, &json!({"SettingsHash": lb.settings_hash, "Settings":
            {"ProxyLB": {"BindPorts": [{"ProxyMode": "tcp", "Port": 443}], "HealthCheck": {"Protocol": "tcp"}}}}))
        .unwrap();
        let mut changed = lb.clone();
        apply_update(&mut changed, u, 5);
        assert_ne!(changed.settings_hash, lb.settings_hash);
        assert!(
            changed.settings.servers.is_empty(),
            "settings are replaced wholesale"
        );

        assert!(msg(change_plan(&mut st, id, 100, 1)).contains("already has plan 100"));
        let new_id = change_plan(&mut st, id, 5000, 1).unwrap();
        assert_ne!(new_id, id);
        assert!(!st.proxylbs.contains_key(&id));
        let moved = &st.proxylbs[&new_id];
        assert_eq!(
            (moved.vip, &moved.fqdn, moved.plan),
            (lb.vip, &lb.fqdn, 5000)
        );
    }

    #[test]
    fn health_follows_overrides_and_stopped_servers() {
        let mut st = State::default();
        let id = insert(&mut st, parse_create(&item(json!({}))).unwrap(), 0).unwrap();
        let ip: Ipv4Addr = "203.0.113.10".parse().unwrap();
        let lb = st.proxylbs.get_mut(&id).unwrap();
        let h = health(lb, &HashSet::new());
        assert_eq!(h["Servers"][0]["Status"], "up");
        assert_eq!(h["Servers"][0]["Port"], "30080");
        assert_eq!(h["CurrentVIP"], lb.vip.to_string());
        assert_eq!(
            health(lb, &[ip].into_iter().collect())["Servers"][0]["Status"],
            "down"
        );
        set_health(lb, ip, Some(30080), Some("down".into()));
        let h = health(lb, &HashSet::new());
        assert_eq!(
            (h["Servers"][0]["Status"].clone(), h["ActiveConn"].clone()),
            (json!("down"), json!(0))
        );
        set_health(lb, ip, None, None);
        assert_eq!(health(lb, &HashSet::new())["Servers"][0]["Status"], "up");
    }
}
