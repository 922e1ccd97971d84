//! Load-balancer appliance requests: parsing, the validation rules the real API enforces, and the
//! wire form of `Settings.LoadBalancer`.
//!
//! Pure functions over JSON and a [`NetContext`]; the route handler gathers the context (switch
//! network, addresses in use) from the store and maps the result to the 400 envelope.

use crate::error::ApiError;
use crate::ip::Cidr;
use crate::wire::{flag, parse_flag, parse_id, parse_int, parse_opt_ip, parse_tags};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::net::Ipv4Addr;

/// At most this many VIP+port entries per load balancer (raised from 10 to 20 around 2021).
pub const MAX_ENTRIES: usize = 20;
/// At most this many real servers per entry.
pub const MAX_SERVERS: usize = 40;
/// Smallest accepted health-check interval, seconds.
pub const MIN_DELAY_LOOP: i64 = 10;
/// Accepted health-check protocols.
pub const PROTOCOLS: [&str; 4] = ["http", "https", "tcp", "ping"];

/// One health check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// `http`, `https`, `tcp` or `ping`.
    pub protocol: String,
    /// Request path (http/https).
    pub path: Option<String>,
    /// Expected status code (http/https), kept as the string the client sent.
    pub status: Option<String>,
    /// Host header (http/https).
    pub host: Option<String>,
    /// Port to check when it differs from the real server's (e.g. kube-proxy's 10256).
    #[serde(default)]
    pub port: Option<i64>,
    /// Retry count 1–5.
    pub retry: Option<i64>,
    /// Connect timeout 1–30 s.
    pub connect_timeout: Option<i64>,
}

/// One real server of an entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LbServer {
    /// Address.
    pub ip: Ipv4Addr,
    /// Port (equal to the VIP port on the real DSR load balancer, not enforced).
    pub port: u16,
    /// `Enabled`.
    pub enabled: bool,
    /// Health check.
    pub health: HealthCheck,
}

/// One VIP+port entry of `Settings.LoadBalancer`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LbEntry {
    /// `VirtualIPAddress`.
    pub vip: Ipv4Addr,
    /// `Port`.
    pub port: u16,
    /// `DelayLoop` seconds.
    pub delay_loop: i64,
    /// `SorryServer` (may be empty).
    pub sorry_server: String,
    /// `Description`.
    pub description: String,
    /// Real servers.
    pub servers: Vec<LbServer>,
}

/// A parsed `POST appliance` body for class `loadbalancer`.
#[derive(Clone, Debug, PartialEq)]
pub struct LbCreate {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Tags (not yet sorted).
    pub tags: Vec<String>,
    /// Icon as given.
    pub icon: Value,
    /// 1 or 2.
    pub plan_id: u64,
    /// `Remark.Switch.ID`.
    pub switch_id: u64,
    /// `Remark.VRRP.VRID`.
    pub vrid: u32,
    /// `Remark.Network.NetworkMaskLen`.
    pub mask_len: u8,
    /// `Remark.Network.DefaultRoute`.
    pub default_route: Option<Ipv4Addr>,
    /// `Remark.Servers[].IPAddress`.
    pub ips: Vec<Ipv4Addr>,
    /// `Settings.LoadBalancer`.
    pub settings: Vec<LbEntry>,
}

/// The network an appliance lives in and the addresses others already hold there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetContext {
    /// The switch network (router subnet, or appliance address + mask on a plain switch).
    pub network: Cidr,
    /// For router switches, the assignable range (`IPAddresses.Min..Max`).
    pub range: Option<(Ipv4Addr, Ipv4Addr)>,
    /// Addresses held by servers, other appliances and the router.
    pub used: HashSet<Ipv4Addr>,
}

fn path<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .try_fold(v, |cur, k| cur.get(*k))
        .filter(|v| !v.is_null())
}

fn ip_field(v: Option<&Value>, what: &str) -> Result<Ipv4Addr, ApiError> {
    parse_opt_ip(v)
        .map_err(|e| ApiError::invalid(format!("{what}: {e}")))?
        .ok_or_else(|| ApiError::invalid(format!("{what} is required")))
}

fn port_field(v: Option<&Value>, what: &str) -> Result<u16, ApiError> {
    let n = v
        .and_then(parse_int)
        .ok_or_else(|| ApiError::invalid(format!("{what} is required and must be a number")))?;
    u16::try_from(n)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| ApiError::invalid(format!("{what} must be between 1 and 65535 (got {n})")))
}

/// Check an appliance name: 1–64 characters.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    let n = name.chars().count();
    if (1..=64).contains(&n) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Name must be 1-64 characters (got {n})"
        )))
    }
}

fn string_field(v: Option<&Value>, what: &str) -> Result<String, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(ApiError::invalid(format!(
            "{what} must be a string, got {other}"
        ))),
    }
}

fn parse_health(v: Option<&Value>, what: &str) -> Result<HealthCheck, ApiError> {
    let v = v.ok_or_else(|| ApiError::invalid(format!("{what}.HealthCheck is required")))?;
    let protocol = v
        .get("Protocol")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !PROTOCOLS.contains(&protocol.as_str()) {
        return Err(ApiError::invalid(format!(
            "{what}.HealthCheck.Protocol must be one of http, https, tcp, ping (got {protocol:?})"
        )));
    }
    let opt_str = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let opt_num = |k: &str, lo: i64, hi: i64| -> Result<Option<i64>, ApiError> {
        match v.get(k).filter(|x| !x.is_null() && x.as_str() != Some("")) {
            None => Ok(None),
            Some(x) => parse_int(x)
                .filter(|n| (lo..=hi).contains(n))
                .map(Some)
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "{what}.HealthCheck.{k} must be {lo}-{hi} (got {x})"
                    ))
                }),
        }
    };
    let web = protocol == "http" || protocol == "https";
    Ok(HealthCheck {
        path: if web {
            opt_str("Path").or_else(|| Some("/".to_owned()))
        } else {
            None
        },
        status: if web {
            match v.get("Status").filter(|x| !x.is_null()) {
                None => None,
                Some(x) => Some(
                    parse_int(x)
                        .filter(|n| (100..=599).contains(n))
                        .ok_or_else(|| {
                            ApiError::invalid(format!(
                                "{what}.HealthCheck.Status must be an HTTP status (got {x})"
                            ))
                        })?
                        .to_string(),
                ),
            }
        } else {
            None
        },
        host: if web { opt_str("Host") } else { None },
        port: opt_num("Port", 1, 65535)?,
        retry: opt_num("Retry", 1, 5)?,
        connect_timeout: opt_num("ConnectTimeout", 1, 30)?,
        protocol,
    })
}

fn parse_server(v: &Value, entry_port: u16, what: &str) -> Result<LbServer, ApiError> {
    let ip = ip_field(v.get("IPAddress"), &format!("{what}.IPAddress"))?;
    let port = match v
        .get("Port")
        .filter(|p| !p.is_null() && p.as_str() != Some(""))
    {
        None => entry_port,
        some => port_field(some, &format!("{what}.Port"))?,
    };
    let enabled = match v.get("Enabled").filter(|e| !e.is_null()) {
        None => true,
        Some(e) => parse_flag(e).ok_or_else(|| {
            ApiError::invalid(format!(
                "{what}.Enabled must be \"True\" or \"False\" (got {e})"
            ))
        })?,
    };
    Ok(LbServer {
        ip,
        port,
        enabled,
        health: parse_health(v.get("HealthCheck"), what)?,
    })
}

fn parse_entry(v: &Value, i: usize) -> Result<LbEntry, ApiError> {
    let what = format!("LoadBalancer[{i}]");
    if !v.is_object() {
        return Err(ApiError::invalid(format!("{what} must be an object")));
    }
    let vip = ip_field(
        v.get("VirtualIPAddress"),
        &format!("{what}.VirtualIPAddress"),
    )?;
    let port = port_field(v.get("Port"), &format!("{what}.Port"))?;
    let delay_loop = match v
        .get("DelayLoop")
        .filter(|d| !d.is_null() && d.as_str() != Some(""))
    {
        None => MIN_DELAY_LOOP,
        Some(d) => parse_int(d)
            .filter(|n| (MIN_DELAY_LOOP..=2_147_483_647).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "{what}.DelayLoop must be at least {MIN_DELAY_LOOP} (got {d})"
                ))
            })?,
    };
    let servers = match v.get("Servers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => {
            if list.len() > MAX_SERVERS {
                return Err(ApiError::invalid(format!(
                    "{what}.Servers: at most {MAX_SERVERS} real servers are allowed (got {})",
                    list.len()
                )));
            }
            list.iter()
                .enumerate()
                .map(|(j, s)| parse_server(s, port, &format!("{what}.Servers[{j}]")))
                .collect::<Result<_, _>>()?
        }
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "{what}.Servers must be an array, got {other}"
            )));
        }
    };
    Ok(LbEntry {
        vip,
        port,
        delay_loop,
        sorry_server: string_field(v.get("SorryServer"), &format!("{what}.SorryServer"))?,
        description: string_field(v.get("Description"), &format!("{what}.Description"))?,
        servers,
    })
}

/// Parse a `Settings` object (`{"LoadBalancer":[…]}`); absent or null means no entries.
pub fn parse_settings(settings: Option<&Value>) -> Result<Vec<LbEntry>, ApiError> {
    let list = match settings
        .filter(|s| !s.is_null())
        .map(|s| s.get("LoadBalancer"))
    {
        None | Some(None) | Some(Some(Value::Null)) => return Ok(Vec::new()),
        Some(Some(Value::Array(list))) => list,
        Some(Some(other)) => {
            return Err(ApiError::invalid(format!(
                "Settings.LoadBalancer must be an array, got {other}"
            )));
        }
    };
    if list.len() > MAX_ENTRIES {
        return Err(ApiError::invalid(format!(
            "Settings.LoadBalancer: at most {MAX_ENTRIES} VIP/port entries are allowed (got {})",
            list.len()
        )));
    }
    let entries: Vec<LbEntry> = list
        .iter()
        .enumerate()
        .map(|(i, e)| parse_entry(e, i))
        .collect::<Result<_, _>>()?;
    let mut seen = HashSet::new();
    for e in &entries {
        if !seen.insert((e.vip, e.port)) {
            return Err(ApiError::invalid(format!(
                "duplicate VIP/port {}:{}",
                e.vip, e.port
            )));
        }
    }
    Ok(entries)
}

/// Parse a `POST appliance` body (the `Appliance` object) for a load balancer.
pub fn parse_create(a: &Value) -> Result<LbCreate, ApiError> {
    if !a.is_object() {
        return Err(ApiError::malformed("Appliance must be an object"));
    }
    let class = a.get("Class").and_then(Value::as_str).unwrap_or_default();
    if class != "loadbalancer" {
        return Err(ApiError::invalid(format!(
            "Class {class:?} cannot be created through this API in the simulator (only \"loadbalancer\")"
        )));
    }
    let name = a
        .get("Name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    check_name(&name)?;
    let plan = path(a, &["Plan", "ID"]).or_else(|| path(a, &["Remark", "Plan", "ID"]));
    let plan_id = plan
        .and_then(parse_id)
        .filter(|p| *p == 1 || *p == 2)
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Plan.ID must be 1 (standard) or 2 (highspec), got {}",
                plan.map_or("nothing".into(), Value::to_string)
            ))
        })?;
    if let Some(rp) = path(a, &["Remark", "Plan", "ID"]).and_then(parse_id)
        && rp != plan_id
    {
        return Err(ApiError::invalid(format!(
            "Remark.Plan.ID ({rp}) differs from Plan.ID ({plan_id})"
        )));
    }
    let switch_id = path(a, &["Remark", "Switch", "ID"])
        .and_then(parse_id)
        .ok_or_else(|| ApiError::invalid("Remark.Switch.ID is required"))?;
    let vrid = path(a, &["Remark", "VRRP", "VRID"])
        .and_then(parse_int)
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| (1..=255).contains(v))
        .ok_or_else(|| ApiError::invalid("Remark.VRRP.VRID must be 1-255"))?;
    let mask_len = path(a, &["Remark", "Network", "NetworkMaskLen"])
        .and_then(parse_int)
        .and_then(|v| u8::try_from(v).ok())
        .filter(|v| (8..=29).contains(v))
        .ok_or_else(|| ApiError::invalid("Remark.Network.NetworkMaskLen must be 8-29"))?;
    let default_route = parse_opt_ip(path(a, &["Remark", "Network", "DefaultRoute"]))
        .map_err(|e| ApiError::invalid(format!("Remark.Network.DefaultRoute: {e}")))?;
    let servers = match path(a, &["Remark", "Servers"]) {
        Some(Value::Array(list)) => list,
        _ => {
            return Err(ApiError::invalid(
                "Remark.Servers must list 1 or 2 appliance IP addresses",
            ));
        }
    };
    if servers.is_empty() || servers.len() > 2 {
        return Err(ApiError::invalid(format!(
            "Remark.Servers must list 1 or 2 appliance IP addresses (got {})",
            servers.len()
        )));
    }
    let ips: Vec<Ipv4Addr> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            ip_field(
                s.get("IPAddress"),
                &format!("Remark.Servers[{i}].IPAddress"),
            )
        })
        .collect::<Result<_, _>>()?;
    if ips.len() == 2 && ips[0] == ips[1] {
        return Err(ApiError::invalid(
            "Remark.Servers: the two appliance addresses must differ",
        ));
    }
    Ok(LbCreate {
        name,
        description: string_field(a.get("Description"), "Description")?,
        tags: parse_tags(a.get("Tags")).map_err(ApiError::invalid)?,
        icon: a.get("Icon").cloned().unwrap_or(Value::Null),
        plan_id,
        switch_id,
        vrid,
        mask_len,
        default_route,
        ips,
        settings: parse_settings(a.get("Settings"))?,
    })
}

fn check_free(ip: Ipv4Addr, what: &str, ctx: &NetContext) -> Result<(), ApiError> {
    if !ctx.network.is_host(ip) {
        return Err(ApiError::invalid(format!(
            "{what} {ip} is outside the switch network {}",
            ctx.network
        )));
    }
    if let Some((min, max)) = ctx.range
        && !crate::ip::in_range(ip, min, max)
        && !ctx.used.contains(&ip)
    {
        return Err(ApiError::invalid(format!(
            "{what} {ip} is outside the assignable range {min}-{max}"
        )));
    }
    if ctx.used.contains(&ip) {
        // The real API reports address clashes as input errors (400), not conflicts.
        return Err(ApiError::invalid(format!("{what} {ip} is already in use")));
    }
    Ok(())
}

/// Check the appliance's own addresses against the network and the addresses in use.
pub fn check_appliance_ips(ips: &[Ipv4Addr], ctx: &NetContext) -> Result<(), ApiError> {
    ips.iter()
        .try_for_each(|ip| check_free(*ip, "appliance IP address", ctx))
}

/// Check VIPs (inside the network, not used by others, not the appliance's own address) and real
/// servers (inside the network — the real API's Japanese message, from seed 000).
pub fn check_entries(
    entries: &[LbEntry],
    own_ips: &[Ipv4Addr],
    ctx: &NetContext,
) -> Result<(), ApiError> {
    for e in entries {
        if own_ips.contains(&e.vip) {
            return Err(ApiError::invalid(format!(
                "VirtualIPAddress {} is the appliance's own address",
                e.vip
            )));
        }
        check_free(e.vip, "VirtualIPAddress", ctx)?;
        for s in &e.servers {
            if !ctx.network.contains(s.ip) {
                return Err(ApiError::invalid(format!(
                    "実サーバのIPアドレス({})は同一ネットワークである必要があります",
                    s.ip
                )));
            }
        }
    }
    Ok(())
}

/// Whether a load balancer's real server `ip:port` passes its health check: what the admin API
/// (or scenario) set for `ip:port`, else for `ip`, else `natural` (its address belongs to a
/// running server).
pub fn server_up(
    overrides: &std::collections::BTreeMap<String, String>,
    ip: Ipv4Addr,
    port: u16,
    natural: bool,
) -> bool {
    overrides
        .get(&format!("{ip}:{port}"))
        .or_else(|| overrides.get(&ip.to_string()))
        .map_or(natural, |s| s == "up")
}

/// Set (`Some("up"|"down")`) or clear (`None`) the health of `ip:port`, or of every port of `ip`
/// when `port` is `None` (clearing an address clears its port-specific settings too).
pub fn set_server_health(
    overrides: &mut std::collections::BTreeMap<String, String>,
    ip: Ipv4Addr,
    port: Option<u16>,
    status: Option<&str>,
) -> Result<(), String> {
    let key = port.map_or_else(|| ip.to_string(), |p| format!("{ip}:{p}"));
    match status.map(str::to_ascii_lowercase).as_deref() {
        Some(s @ ("up" | "down")) => {
            overrides.insert(key, s.to_owned());
        }
        Some(other) => return Err(format!("status must be up, down or null, got {other:?}")),
        None => {
            overrides.remove(&key);
            if port.is_none() {
                let prefix = format!("{ip}:");
                overrides.retain(|k, _| !k.starts_with(&prefix));
            }
        }
    }
    Ok(())
}

/// The wire form of the settings: numbers as strings, flags as `"True"`/`"False"`.
pub fn settings_json(entries: &[LbEntry]) -> Value {
    let list: Vec<Value> = entries
        .iter()
        .map(|e| {
            let servers: Vec<Value> = e
                .servers
                .iter()
                .map(|s| {
                    let mut hc = Map::new();
                    hc.insert("Protocol".into(), json!(s.health.protocol));
                    let mut put = |k: &str, v: Option<String>| {
                        if let Some(v) = v {
                            hc.insert(k.into(), json!(v));
                        }
                    };
                    put("Path", s.health.path.clone());
                    put("Status", s.health.status.clone());
                    put("Host", s.health.host.clone());
                    put("Port", s.health.port.map(|p| p.to_string()));
                    put("Retry", s.health.retry.map(|r| r.to_string()));
                    put(
                        "ConnectTimeout",
                        s.health.connect_timeout.map(|r| r.to_string()),
                    );
                    json!({
                        "IPAddress": s.ip.to_string(),
                        "Port": s.port.to_string(),
                        "HealthCheck": hc,
                        "Enabled": flag(s.enabled),
                    })
                })
                .collect();
            json!({
                "VirtualIPAddress": e.vip.to_string(),
                "Port": e.port.to_string(),
                "DelayLoop": e.delay_loop.to_string(),
                "SorryServer": e.sorry_server,
                "Description": e.description,
                "Servers": servers,
            })
        })
        .collect();
    json!({ "LoadBalancer": list })
}

/// A stable 32-hex digest of a settings document (two FNV-1a 64 lanes over its JSON text).
pub fn settings_hash(settings: &Value) -> String {
    let text = settings.to_string();
    let lane = |offset: u64| {
        text.bytes().fold(offset, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
        })
    };
    format!(
        "{:016x}{:016x}",
        lane(0xcbf2_9ce4_8422_2325),
        lane(0x6c62_272e_07bb_0142)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn entry(vip: &str, port: u16, servers: &[&str]) -> Value {
        json!({
            "VirtualIPAddress": vip, "Port": port.to_string(), "DelayLoop": "10",
            "Servers": servers.iter().map(|s| json!({"IPAddress": s, "Port": port.to_string(), "HealthCheck": {"Protocol": "ping"}, "Enabled": "True"})).collect::<Vec<_>>(),
        })
    }

    fn create(extra: Value) -> Value {
        let mut base = json!({
            "Class": "loadbalancer", "Name": "lb", "Plan": {"ID": 1},
            "Remark": {"Switch": {"ID": "123456789012"}, "VRRP": {"VRID": 1},
                       "Network": {"NetworkMaskLen": 28, "DefaultRoute": "203.0.113.97"},
                       "Servers": [{"IPAddress": "203.0.113.100"}], "Plan": {"ID": 1}},
            "Settings": {"LoadBalancer": [entry("203.0.113.101", 80, &["203.0.113.102"])]},
        });
        if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        base
    }

    fn msg(r: Result<impl std::fmt::Debug, ApiError>) -> String {
        r.unwrap_err().message
    }

    #[test]
    fn parses_a_valid_create() {
        let c = parse_create(&create(json!({}))).unwrap();
        assert_eq!(
            (c.plan_id, c.switch_id, c.vrid, c.mask_len),
            (1, 123_456_789_012, 1, 28)
        );
        assert_eq!(c.ips, vec![ip("203.0.113.100")]);
        assert_eq!(c.settings[0].servers[0].health.protocol, "ping");
        assert_eq!(c.settings[0].delay_loop, 10);
    }

    #[test]
    fn name_length() {
        assert!(msg(parse_create(&create(json!({"Name": ""})))).contains("Name must be 1-64"));
        assert!(parse_create(&create(json!({"Name": "あ".repeat(64)}))).is_ok());
        assert!(msg(parse_create(&create(json!({"Name": "a".repeat(65)})))).contains("got 65"));
    }

    #[test]
    fn plan_and_remark_servers() {
        assert!(msg(parse_create(&create(json!({"Plan": {"ID": 3}})))).contains("Plan.ID"));
        let mut three = create(json!({}));
        three["Remark"]["Servers"] = json!([{"IPAddress": "203.0.113.100"}, {"IPAddress": "203.0.113.103"}, {"IPAddress": "203.0.113.104"}]);
        assert!(msg(parse_create(&three)).contains("1 or 2"));
        let mut none = create(json!({}));
        none["Remark"]["Servers"] = json!([]);
        assert!(msg(parse_create(&none)).contains("got 0"));
    }

    #[test]
    fn entry_limits() {
        let many: Vec<Value> = (0..21)
            .map(|i| entry("203.0.113.101", 1000 + i, &[]))
            .collect();
        assert!(msg(parse_settings(Some(&json!({"LoadBalancer": many})))).contains("at most 20"));
        let servers: Vec<String> = (0..41).map(|i| format!("203.0.113.{}", 100 + i)).collect();
        let refs: Vec<&str> = servers.iter().map(String::as_str).collect();
        assert!(
            msg(parse_settings(Some(
                &json!({"LoadBalancer": [entry("203.0.113.101", 80, &refs)]})
            )))
            .contains("at most 40")
        );
        for (port, ok) in [
            ("0", false),
            ("1", true),
            ("65535", true),
            ("65536", false),
            ("x", false),
        ] {
            let mut e = entry("203.0.113.101", 80, &[]);
            e["Port"] = json!(port);
            assert_eq!(
                parse_settings(Some(&json!({"LoadBalancer": [e]}))).is_ok(),
                ok,
                "port {port}"
            );
        }
        let mut e = entry("203.0.113.101", 80, &[]);
        e["DelayLoop"] = json!("9");
        assert!(msg(parse_settings(Some(&json!({"LoadBalancer": [e]})))).contains("DelayLoop"));
        let mut e = entry("203.0.113.101", 80, &["203.0.113.102"]);
        e["Servers"][0]["HealthCheck"]["Protocol"] = json!("udp");
        assert!(msg(parse_settings(Some(&json!({"LoadBalancer": [e]})))).contains("Protocol"));
        let dup = json!({"LoadBalancer": [entry("203.0.113.101", 80, &[]), entry("203.0.113.101", 80, &[])]});
        assert!(msg(parse_settings(Some(&dup))).contains("duplicate"));
    }

    #[test]
    fn network_checks() {
        let ctx = NetContext {
            network: Cidr::parse("203.0.113.96/28").unwrap(),
            range: Some((ip("203.0.113.100"), ip("203.0.113.110"))),
            used: [
                ip("203.0.113.97"),
                ip("203.0.113.98"),
                ip("203.0.113.99"),
                ip("203.0.113.105"),
            ]
            .into_iter()
            .collect(),
        };
        assert!(check_appliance_ips(&[ip("203.0.113.100")], &ctx).is_ok());
        assert!(msg(check_appliance_ips(&[ip("203.0.113.105")], &ctx)).contains("already in use"));
        assert!(
            msg(check_appliance_ips(&[ip("198.51.100.5")], &ctx))
                .contains("outside the switch network")
        );
        assert!(msg(check_appliance_ips(&[ip("203.0.113.111")], &ctx)).contains("outside"));
        let entries = parse_settings(Some(
            &json!({"LoadBalancer": [entry("203.0.113.101", 80, &["10.0.0.5"])]}),
        ))
        .unwrap();
        let m = msg(check_entries(&entries, &[ip("203.0.113.100")], &ctx));
        assert!(
            m.ends_with("実サーバのIPアドレス(10.0.0.5)は同一ネットワークである必要があります"),
            "{m}"
        );
        let entries = parse_settings(Some(
            &json!({"LoadBalancer": [entry("203.0.113.100", 80, &[])]}),
        ))
        .unwrap();
        assert!(msg(check_entries(&entries, &[ip("203.0.113.100")], &ctx)).contains("own address"));
    }

    #[test]
    fn settings_render_as_strings_and_hash_is_stable() {
        let entries = parse_settings(Some(
            &json!({"LoadBalancer": [entry("203.0.113.101", 80, &["203.0.113.102"])]}),
        ))
        .unwrap();
        let j = settings_json(&entries);
        let e = &j["LoadBalancer"][0];
        assert_eq!(
            (e["Port"].clone(), e["DelayLoop"].clone()),
            (json!("80"), json!("10"))
        );
        assert_eq!(e["Servers"][0]["Enabled"], "True");
        assert_eq!(e["Servers"][0]["Port"], "80");
        let h = settings_hash(&j);
        assert_eq!(h.len(), 32);
        assert_eq!(h, settings_hash(&settings_json(&entries)));
        assert_ne!(h, settings_hash(&settings_json(&[])));
    }

    #[test]
    fn real_server_health_overrides() {
        let mut o = std::collections::BTreeMap::new();
        let a = ip("203.0.113.20");
        assert!(server_up(&o, a, 80, true));
        assert!(!server_up(&o, a, 80, false));
        set_server_health(&mut o, a, None, Some("DOWN")).unwrap();
        assert!(!server_up(&o, a, 80, true));
        set_server_health(&mut o, a, Some(443), Some("up")).unwrap();
        assert!(server_up(&o, a, 443, false));
        assert!(!server_up(&o, a, 80, true));
        assert!(set_server_health(&mut o, a, None, Some("cleaning")).is_err());
        set_server_health(&mut o, a, None, None).unwrap();
        assert!(o.is_empty());
    }

    #[test]
    fn health_check_port_and_extras_round_trip() {
        let hc = json!({"Protocol": "http", "Path": "/healthz", "Status": "200", "Port": "10256",
                        "Host": "example", "Retry": "3", "ConnectTimeout": "5"});
        let settings = json!({"LoadBalancer": [{
            "VirtualIPAddress": "203.0.113.101", "Port": "80", "DelayLoop": "10",
            "Servers": [{"IPAddress": "203.0.113.102", "Port": "80", "HealthCheck": hc, "Enabled": "True"}]}]});
        let j = settings_json(&parse_settings(Some(&settings)).unwrap());
        assert_eq!(j["LoadBalancer"][0]["Servers"][0]["HealthCheck"], hc);

        let mut bad = settings.clone();
        bad["LoadBalancer"][0]["Servers"][0]["HealthCheck"]["Port"] = json!("70000");
        assert!(msg(parse_settings(Some(&bad))).contains("HealthCheck.Port must be 1-65535"));
    }
}
