//! `Settings.ProxyLB` of the Enhanced Load Balancer: parsing, the validation rules (400 with the
//! API's envelope), the defaults the API applies, and the wire form it answers with.
//!
//! Pure functions over JSON, like [`crate::lb`] for the appliance. Requests may carry numbers as
//! JSON numbers or strings and flags as booleans or `"true"`/`"True"`; answers always use JSON
//! numbers and booleans. Settings keys the simulator does not model are kept and echoed back.

use crate::error::ApiError;
use crate::wire::{parse_flag, parse_int, parse_opt_ip};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::net::Ipv4Addr;

/// Listeners per Enhanced Load Balancer.
pub const BIND_PORTS: std::ops::RangeInclusive<usize> = 1..=2;
/// Real servers per Enhanced Load Balancer.
pub const MAX_SERVERS: usize = 40;
/// Response headers per listener.
pub const MAX_RESPONSE_HEADERS: usize = 10;
/// Health-check interval, seconds.
pub const DELAY_LOOP: std::ops::RangeInclusive<i64> = 10..=60;
/// `Timeout.InactiveSec`, seconds.
pub const INACTIVE_SEC: std::ops::RangeInclusive<i64> = 10..=600;
/// Default of both the health-check interval and the idle timeout.
pub const DEFAULT_SECONDS: u32 = 10;
/// `ServerGroup` length, characters.
pub const SERVER_GROUP_LEN: std::ops::RangeInclusive<usize> = 1..=10;
/// Proxy modes.
pub const PROXY_MODES: [&str; 3] = ["http", "https", "tcp"];
/// TLS policies of `https` listeners.
pub const SSL_POLICIES: [&str; 3] = ["TLS-1-2-2019-04", "TLS-1-2-2021-06", "TLS-1-3-2021-06"];
/// Health-check protocols.
pub const HEALTH_PROTOCOLS: [&str; 2] = ["http", "tcp"];
/// Backend keep-alive modes.
pub const KEEP_ALIVE_MODES: [&str; 2] = ["safe", "aggressive"];
/// Rule actions.
pub const RULE_ACTIONS: [&str; 3] = ["forward", "redirect", "fixed"];
/// The syslog port an empty syslog must be sent with.
pub const SYSLOG_PORT: u16 = 514;

/// `HealthCheck`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// `http` or `tcp`.
    pub protocol: String,
    /// HTTP path.
    pub path: String,
    /// HTTP `Host` header.
    pub host: String,
    /// Interval, seconds.
    pub delay_loop: u32,
}

/// One listener.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindPort {
    /// `http`, `https` or `tcp`.
    pub proxy_mode: String,
    /// Port.
    pub port: u16,
    /// `RedirectToHttps`.
    pub redirect_to_https: bool,
    /// `SupportHttp2`.
    pub support_http2: bool,
    /// `AddResponseHeader`: (header, value).
    pub headers: Vec<(String, String)>,
    /// `SSLPolicy`, if set.
    pub ssl_policy: Option<String>,
}

/// One real server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServer {
    /// Address.
    pub ip: Ipv4Addr,
    /// Port.
    pub port: u16,
    /// `ServerGroup` (may be empty).
    pub group: String,
    /// `Enabled`.
    pub enabled: bool,
    /// `ProxySSL`.
    pub proxy_ssl: bool,
}

/// `LetsEncrypt`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LetsEncrypt {
    /// `Enabled`.
    pub enabled: bool,
    /// `CommonName`.
    pub common_name: String,
    /// `SubjectAltNames`, split (a comma-joined string on the wire).
    pub alt_names: Vec<String>,
}

/// The whole `Settings.ProxyLB`, validated and with defaults applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// `HealthCheck`.
    pub health: HealthCheck,
    /// `SorryServer.IPAddress`.
    pub sorry_ip: Option<Ipv4Addr>,
    /// `SorryServer.Port`.
    pub sorry_port: Option<u16>,
    /// `BindPorts`.
    pub bind_ports: Vec<BindPort>,
    /// `Servers`.
    pub servers: Vec<RealServer>,
    /// `Rules`, kept as given (each an object with a known `Action`, if any).
    pub rules: Vec<Value>,
    /// `LetsEncrypt`.
    pub lets_encrypt: LetsEncrypt,
    /// `StickySession.Enabled`.
    pub sticky: bool,
    /// `StickySession.Method`.
    pub sticky_method: String,
    /// `Timeout.InactiveSec`.
    pub inactive_sec: u32,
    /// `Gzip.Enabled`.
    pub gzip: bool,
    /// `BackendHttpKeepAlive.Mode`.
    pub keep_alive: String,
    /// `MonitoringSuiteLog.Enabled`.
    pub monitoring_log: bool,
    /// `ProxyProtocol.Enabled`.
    pub proxy_protocol: bool,
    /// `Syslog.Server`.
    pub syslog_server: String,
    /// `Syslog.Port`.
    pub syslog_port: u16,
    /// Keys the simulator does not model, echoed back as given.
    pub other: Map<String, Value>,
}

const KNOWN: [&str; 13] = [
    "HealthCheck",
    "SorryServer",
    "BindPorts",
    "Servers",
    "Rules",
    "LetsEncrypt",
    "StickySession",
    "Timeout",
    "Gzip",
    "BackendHttpKeepAlive",
    "MonitoringSuiteLog",
    "ProxyProtocol",
    "Syslog",
];

fn bad(detail: impl AsRef<str>) -> ApiError {
    ApiError::invalid(detail)
}

/// A member that is absent, `null` or `""` counts as not given.
fn given<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key)
        .filter(|x| !x.is_null() && x.as_str() != Some(""))
}

fn object<'a>(v: &'a Value, key: &str, what: &str) -> Result<Option<&'a Value>, ApiError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(o @ Value::Object(_)) => Ok(Some(o)),
        Some(other) => Err(bad(format!("{what}.{key} must be an object, got {other}"))),
    }
}

fn flag(v: &Value, key: &str, what: &str, default: bool) -> Result<bool, ApiError> {
    match given(v, key) {
        None => Ok(default),
        Some(x) => {
            parse_flag(x).ok_or_else(|| bad(format!("{what}.{key} must be true or false, got {x}")))
        }
    }
}

fn text(v: &Value, key: &str, what: &str) -> Result<String, ApiError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(bad(format!("{what}.{key} must be a string, got {other}"))),
    }
}

fn number(
    v: &Value,
    key: &str,
    what: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Option<i64>, ApiError> {
    match given(v, key) {
        None => Ok(None),
        Some(x) => parse_int(x)
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| {
                bad(format!(
                    "{what}.{key} must be {}-{} (got {x})",
                    range.start(),
                    range.end()
                ))
            }),
    }
}

fn port(v: &Value, key: &str, what: &str) -> Result<Option<u16>, ApiError> {
    Ok(number(v, key, what, 1..=65535)?.and_then(|n| u16::try_from(n).ok()))
}

fn one_of(v: &Value, key: &str, what: &str, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    match given(v, key) {
        None => Ok(None),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(s.clone())),
        Some(x) => Err(bad(format!(
            "{what}.{key} must be one of {} (got {x})",
            allowed.join(", ")
        ))),
    }
}

/// A list that may be absent (empty) but not `null`: SAKURA's SDK always sends `[]` because the
/// API refuses `null` [infer].
fn list<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a [Value], ApiError> {
    match v.get(key) {
        None => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(Value::Null) => Err(bad(format!(
            "{what}.{key} must be a list; send [] rather than null"
        ))),
        Some(other) => Err(bad(format!("{what}.{key} must be a list, got {other}"))),
    }
}

fn parse_health(v: Option<&Value>) -> Result<HealthCheck, ApiError> {
    let what = "Settings.ProxyLB.HealthCheck";
    let empty = json!({});
    let v = v.unwrap_or(&empty);
    Ok(HealthCheck {
        protocol: one_of(v, "Protocol", what, &HEALTH_PROTOCOLS)?
            .ok_or_else(|| bad(format!("{what}.Protocol is required (http or tcp)")))?,
        path: text(v, "Path", what)?,
        host: text(v, "Host", what)?,
        delay_loop: match given(v, "DelayLoop").and_then(parse_int) {
            Some(0) => DEFAULT_SECONDS,
            _ => number(v, "DelayLoop", what, DELAY_LOOP)?
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(DEFAULT_SECONDS),
        },
    })
}

fn parse_bind_port(v: &Value, what: &str) -> Result<BindPort, ApiError> {
    if !v.is_object() {
        return Err(bad(format!("{what} must be an object")));
    }
    let headers = list(v, "AddResponseHeader", what)?;
    if headers.len() > MAX_RESPONSE_HEADERS {
        return Err(bad(format!(
            "{what}.AddResponseHeader: at most {MAX_RESPONSE_HEADERS} headers are allowed (got {})",
            headers.len()
        )));
    }
    let headers = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let w = format!("{what}.AddResponseHeader[{i}]");
            let name = text(h, "Header", &w)?;
            if name.is_empty() {
                return Err(bad(format!("{w}.Header is required")));
            }
            Ok((name, text(h, "Value", &w)?))
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(BindPort {
        proxy_mode: one_of(v, "ProxyMode", what, &PROXY_MODES)?
            .ok_or_else(|| bad(format!("{what}.ProxyMode is required (http, https or tcp)")))?,
        port: port(v, "Port", what)?
            .ok_or_else(|| bad(format!("{what}.Port is required (1-65535)")))?,
        redirect_to_https: flag(v, "RedirectToHttps", what, false)?,
        support_http2: flag(v, "SupportHttp2", what, false)?,
        headers,
        ssl_policy: one_of(v, "SSLPolicy", what, &SSL_POLICIES)?,
    })
}

fn parse_server(v: &Value, what: &str) -> Result<RealServer, ApiError> {
    if !v.is_object() {
        return Err(bad(format!("{what} must be an object")));
    }
    let ip = parse_opt_ip(v.get("IPAddress"))
        .map_err(|e| bad(format!("{what}.IPAddress: {e}")))?
        .ok_or_else(|| bad(format!("{what}.IPAddress is required")))?;
    let group = text(v, "ServerGroup", what)?;
    if !group.is_empty() && !SERVER_GROUP_LEN.contains(&group.chars().count()) {
        return Err(bad(format!(
            "{what}.ServerGroup must be 1-10 characters (got {group:?})"
        )));
    }
    Ok(RealServer {
        ip,
        port: port(v, "Port", what)?
            .ok_or_else(|| bad(format!("{what}.Port is required (1-65535)")))?,
        group,
        enabled: flag(v, "Enabled", what, true)?,
        proxy_ssl: flag(v, "ProxySSL", what, false)?,
    })
}

fn parse_rule(v: &Value, what: &str) -> Result<Value, ApiError> {
    if !v.is_object() {
        return Err(bad(format!("{what} must be an object")));
    }
    one_of(v, "Action", what, &RULE_ACTIONS)?;
    Ok(v.clone())
}

/// Split names the way SAKURA's SDK does: on spaces, commas and newlines.
pub fn split_names(text: &str) -> Vec<String> {
    text.split([' ', ',', '\n', '\r', '\t'])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_lets_encrypt(v: Option<&Value>) -> Result<LetsEncrypt, ApiError> {
    let what = "Settings.ProxyLB.LetsEncrypt";
    let Some(v) = v else {
        return Ok(LetsEncrypt::default());
    };
    let alt_names = match v.get("SubjectAltNames") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => split_names(s),
        Some(Value::Array(a)) => a
            .iter()
            .map(|n| {
                n.as_str()
                    .map(split_names)
                    .ok_or_else(|| bad(format!("{what}.SubjectAltNames entries must be strings")))
            })
            .collect::<Result<Vec<_>, _>>()?
            .concat(),
        Some(other) => {
            return Err(bad(format!(
                "{what}.SubjectAltNames must be a comma-separated string, got {other}"
            )));
        }
    };
    Ok(LetsEncrypt {
        enabled: flag(v, "Enabled", what, false)?,
        common_name: text(v, "CommonName", what)?,
        alt_names,
    })
}

fn parse_syslog(v: Option<&Value>) -> Result<(String, u16), ApiError> {
    let what = "Settings.ProxyLB.Syslog";
    let Some(v) = v else {
        return Ok((String::new(), SYSLOG_PORT));
    };
    let server = text(v, "Server", what)?;
    if !server.is_empty() && server.parse::<Ipv4Addr>().is_err() {
        return Err(bad(format!(
            "{what}.Server must be an IPv4 address (got {server:?})"
        )));
    }
    let port = match given(v, "Port").and_then(parse_int) {
        Some(0) => None,
        _ => port(v, "Port", what)?,
    };
    match port {
        Some(p) => Ok((server, p)),
        None if server.is_empty() => Err(bad(format!(
            "{what}: an empty syslog (no Server, no Port) is refused; send Port {SYSLOG_PORT}"
        ))),
        None => Err(bad(format!("{what}.Port is required (1-65535)"))),
    }
}

/// Parse a `Settings` object (`{"ProxyLB": {...}}`) and check every rule.
pub fn parse(settings: Option<&Value>) -> Result<Settings, ApiError> {
    let p = match settings.and_then(|s| s.get("ProxyLB")) {
        Some(p @ Value::Object(_)) => p,
        _ => {
            return Err(bad("Settings.ProxyLB is required and must be an object"));
        }
    };
    let what = "Settings.ProxyLB";
    let bind_ports = list(p, "BindPorts", what)?;
    if !BIND_PORTS.contains(&bind_ports.len()) {
        return Err(bad(format!(
            "{what}.BindPorts: 1 or 2 listeners are required (got {})",
            bind_ports.len()
        )));
    }
    let bind_ports: Vec<BindPort> = bind_ports
        .iter()
        .enumerate()
        .map(|(i, b)| parse_bind_port(b, &format!("{what}.BindPorts[{i}]")))
        .collect::<Result<_, _>>()?;
    let mut seen = HashSet::new();
    if let Some(dup) = bind_ports.iter().find(|b| !seen.insert(b.port)) {
        return Err(bad(format!(
            "{what}.BindPorts: port {} is used twice",
            dup.port
        )));
    }
    let servers = list(p, "Servers", what)?;
    if servers.len() > MAX_SERVERS {
        return Err(bad(format!(
            "{what}.Servers: at most {MAX_SERVERS} real servers are allowed (got {})",
            servers.len()
        )));
    }
    let servers = servers
        .iter()
        .enumerate()
        .map(|(i, s)| parse_server(s, &format!("{what}.Servers[{i}]")))
        .collect::<Result<_, _>>()?;
    let rules = list(p, "Rules", what)?
        .iter()
        .enumerate()
        .map(|(i, r)| parse_rule(r, &format!("{what}.Rules[{i}]")))
        .collect::<Result<_, _>>()?;
    let sorry = object(p, "SorryServer", what)?;
    let sorry_what = format!("{what}.SorryServer");
    let (sorry_ip, sorry_port) = match sorry {
        None => (None, None),
        Some(s) => (
            parse_opt_ip(s.get("IPAddress"))
                .map_err(|e| bad(format!("{sorry_what}.IPAddress: {e}")))?,
            port(s, "Port", &sorry_what)?,
        ),
    };
    let sticky = object(p, "StickySession", what)?;
    let timeout = object(p, "Timeout", what)?;
    let inactive_sec = match timeout {
        Some(t) if given(t, "InactiveSec").and_then(parse_int) != Some(0) => {
            number(t, "InactiveSec", &format!("{what}.Timeout"), INACTIVE_SEC)?
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(DEFAULT_SECONDS)
        }
        _ => DEFAULT_SECONDS,
    };
    let toggle = |key: &str| -> Result<bool, ApiError> {
        match object(p, key, what)? {
            None => Ok(false),
            Some(o) => flag(o, "Enabled", &format!("{what}.{key}"), false),
        }
    };
    let keep_alive = match object(p, "BackendHttpKeepAlive", what)? {
        None => None,
        Some(k) => one_of(
            k,
            "Mode",
            &format!("{what}.BackendHttpKeepAlive"),
            &KEEP_ALIVE_MODES,
        )?,
    };
    let (syslog_server, syslog_port) = parse_syslog(object(p, "Syslog", what)?)?;
    let other = p
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Settings {
        health: parse_health(object(p, "HealthCheck", what)?)?,
        sorry_ip,
        sorry_port,
        bind_ports,
        servers,
        rules,
        lets_encrypt: parse_lets_encrypt(object(p, "LetsEncrypt", what)?)?,
        sticky: match sticky {
            None => false,
            Some(s) => flag(s, "Enabled", &format!("{what}.StickySession"), false)?,
        },
        sticky_method: match sticky {
            None => String::new(),
            Some(s) => text(s, "Method", &format!("{what}.StickySession"))?,
        },
        inactive_sec,
        gzip: toggle("Gzip")?,
        keep_alive: keep_alive.unwrap_or_else(|| "safe".to_owned()),
        monitoring_log: toggle("MonitoringSuiteLog")?,
        proxy_protocol: toggle("ProxyProtocol")?,
        syslog_server,
        syslog_port,
        other,
    })
}

/// The `ProxyLB` object as the API answers it: numbers and booleans as JSON types,
/// `SubjectAltNames` comma-joined, `SorryServer` an object even when unset.
pub fn render(s: &Settings) -> Value {
    let mut m = Map::new();
    m.insert(
        "HealthCheck".into(),
        json!({
            "Protocol": s.health.protocol,
            "Path": s.health.path,
            "Host": s.health.host,
            "DelayLoop": s.health.delay_loop,
        }),
    );
    m.insert(
        "SorryServer".into(),
        json!({
            "IPAddress": s.sorry_ip.map(|ip| ip.to_string()),
            "Port": s.sorry_port,
        }),
    );
    let bind_ports: Vec<Value> = s
        .bind_ports
        .iter()
        .map(|b| {
            let mut o = json!({
                "ProxyMode": b.proxy_mode,
                "Port": b.port,
                "RedirectToHttps": b.redirect_to_https,
                "SupportHttp2": b.support_http2,
                "AddResponseHeader": b.headers.iter().map(|(h, v)| json!({"Header": h, "Value": v})).collect::<Vec<_>>(),
            });
            if let (Some(p), Some(obj)) = (&b.ssl_policy, o.as_object_mut()) {
                obj.insert("SSLPolicy".into(), json!(p));
            }
            o
        })
        .collect();
    m.insert("BindPorts".into(), Value::Array(bind_ports));
    m.insert(
        "Servers".into(),
        Value::Array(
            s.servers
                .iter()
                .map(|r| {
                    json!({
                        "IPAddress": r.ip.to_string(),
                        "Port": r.port,
                        "ServerGroup": r.group,
                        "Enabled": r.enabled,
                        "ProxySSL": r.proxy_ssl,
                    })
                })
                .collect(),
        ),
    );
    m.insert("Rules".into(), Value::Array(s.rules.clone()));
    let mut le = json!({
        "Enabled": s.lets_encrypt.enabled,
        "CommonName": s.lets_encrypt.common_name,
        "SubjectAltNames": s.lets_encrypt.alt_names.join(","),
    });
    if s.lets_encrypt.common_name.is_empty()
        && let Some(o) = le.as_object_mut()
    {
        o.remove("CommonName");
    }
    m.insert("LetsEncrypt".into(), le);
    let mut sticky = json!({"Enabled": s.sticky});
    if !s.sticky_method.is_empty()
        && let Some(o) = sticky.as_object_mut()
    {
        o.insert("Method".into(), json!(s.sticky_method));
    }
    m.insert("StickySession".into(), sticky);
    m.insert("Timeout".into(), json!({"InactiveSec": s.inactive_sec}));
    m.insert("Gzip".into(), json!({"Enabled": s.gzip}));
    m.insert("BackendHttpKeepAlive".into(), json!({"Mode": s.keep_alive}));
    m.insert(
        "MonitoringSuiteLog".into(),
        json!({"Enabled": s.monitoring_log}),
    );
    m.insert("ProxyProtocol".into(), json!({"Enabled": s.proxy_protocol}));
    m.insert(
        "Syslog".into(),
        json!({"Server": s.syslog_server, "Port": s.syslog_port}),
    );
    for (k, v) in &s.other {
        m.insert(k.clone(), v.clone());
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The create example of the reference (`enhanced-lb.md` §1.2), settings part.
    pub fn example() -> Value {
        json!({"ProxyLB": {
            "HealthCheck": {"Protocol": "http", "Path": "/healthz", "Host": "example.com", "DelayLoop": 10},
            "SorryServer": {"IPAddress": "", "Port": null},
            "BindPorts": [
                {"ProxyMode": "http", "Port": 80, "RedirectToHttps": true, "SupportHttp2": false,
                 "AddResponseHeader": [{"Header": "Cache-Control", "Value": "public, max-age=60"}]},
                {"ProxyMode": "https", "Port": 443, "RedirectToHttps": false, "SupportHttp2": true, "SSLPolicy": "TLS-1-3-2021-06"}],
            "Servers": [{"IPAddress": "203.0.113.10", "Port": 30080, "ServerGroup": "", "Enabled": true, "ProxySSL": false}],
            "Rules": [],
            "LetsEncrypt": {"Enabled": false},
            "StickySession": {"Enabled": false},
            "Timeout": {"InactiveSec": 10},
            "Gzip": {"Enabled": false},
            "BackendHttpKeepAlive": {"Mode": "safe"},
            "MonitoringSuiteLog": {"Enabled": false},
            "ProxyProtocol": {"Enabled": false},
            "Syslog": {"Server": "", "Port": 514}
        }})
    }

    fn with(path: &[&str], value: Value) -> Value {
        let mut v = example();
        let mut cur = &mut v["ProxyLB"];
        for (i, k) in path.iter().enumerate() {
            if i + 1 == path.len() {
                cur[*k] = value.clone();
            } else {
                cur = &mut cur[*k];
            }
        }
        v
    }

    fn err(v: Value) -> String {
        parse(Some(&v)).unwrap_err().message
    }

    #[test]
    fn the_reference_example_round_trips() {
        let s = parse(Some(&example())).unwrap();
        assert_eq!(s.bind_ports.len(), 2);
        assert_eq!(
            s.bind_ports[1].ssl_policy.as_deref(),
            Some("TLS-1-3-2021-06")
        );
        assert_eq!(s.servers[0].port, 30080);
        assert_eq!(s.syslog_port, 514);
        let back = render(&s);
        assert_eq!(parse(Some(&json!({"ProxyLB": back.clone()}))).unwrap(), s);
        assert_eq!(
            back["BindPorts"][0]["AddResponseHeader"][0]["Header"],
            "Cache-Control"
        );
        assert_eq!(
            back["SorryServer"],
            json!({"IPAddress": null, "Port": null})
        );
    }

    #[test]
    fn numbers_and_flags_as_strings_and_defaults() {
        let v = json!({"ProxyLB": {
            "HealthCheck": {"Protocol": "tcp", "DelayLoop": "20"},
            "BindPorts": [{"ProxyMode": "tcp", "Port": "443", "RedirectToHttps": "False"}],
            "Servers": [{"IPAddress": "203.0.113.10", "Port": "30443", "Enabled": "True"}],
            "Timeout": {"InactiveSec": "0"},
            "LetsEncrypt": {"Enabled": "true", "CommonName": "a.example", "SubjectAltNames": "b.example c.example,\nd.example"},
            "OriginGuard": {"Token": "abcdefgh"}
        }});
        let s = parse(Some(&v)).unwrap();
        assert_eq!(s.health.delay_loop, 20);
        assert_eq!(s.bind_ports[0].port, 443);
        assert_eq!(s.servers[0].port, 30443);
        assert_eq!(s.inactive_sec, 10, "0 means the default");
        assert_eq!(
            s.lets_encrypt.alt_names,
            ["b.example", "c.example", "d.example"]
        );
        assert_eq!((s.syslog_server.as_str(), s.syslog_port), ("", 514));
        let back = render(&s);
        assert_eq!(
            back["LetsEncrypt"]["SubjectAltNames"],
            "b.example,c.example,d.example"
        );
        assert_eq!(back["OriginGuard"], json!({"Token": "abcdefgh"}));
        assert_eq!(back["Timeout"], json!({"InactiveSec": 10}));
    }

    #[test]
    fn every_limit() {
        assert!(
            err(with(&["BindPorts"], json!([]))).contains("1 or 2 listeners are required (got 0)")
        );
        let three = json!([{"ProxyMode": "tcp", "Port": 1}, {"ProxyMode": "tcp", "Port": 2}, {"ProxyMode": "tcp", "Port": 3}]);
        assert!(err(with(&["BindPorts"], three)).contains("(got 3)"));
        assert!(err(with(&["BindPorts"], Value::Null)).contains("send [] rather than null"));
        assert!(err(with(&["Servers"], Value::Null)).contains("send [] rather than null"));
        assert!(err(with(&["Rules"], Value::Null)).contains("send [] rather than null"));
        for (p, ok) in [
            (json!(0), false),
            (json!(1), true),
            (json!("65535"), true),
            (json!(65536), false),
        ] {
            let r = parse(Some(&with(
                &["BindPorts"],
                json!([{"ProxyMode": "tcp", "Port": p}]),
            )));
            assert_eq!(r.is_ok(), ok, "{p}");
        }
        let dup = json!([{"ProxyMode": "tcp", "Port": 80}, {"ProxyMode": "http", "Port": 80}]);
        assert!(err(with(&["BindPorts"], dup)).contains("used twice"));
        let many: Vec<Value> = (0..41)
            .map(|i| json!({"IPAddress": format!("203.0.113.{i}"), "Port": 80}))
            .collect();
        assert!(err(with(&["Servers"], json!(many))).contains("at most 40"));
        assert!(
            err(with(&["HealthCheck", "DelayLoop"], json!(9))).contains("DelayLoop must be 10-60")
        );
        assert!(err(with(&["HealthCheck", "DelayLoop"], json!(61))).contains("(got 61)"));
        assert!(
            err(with(&["HealthCheck", "Protocol"], json!("ping")))
                .contains("Protocol must be one of http, tcp")
        );
        assert!(
            err(with(&["Timeout", "InactiveSec"], json!(9))).contains("InactiveSec must be 10-600")
        );
        assert!(err(with(&["Timeout", "InactiveSec"], json!("601"))).contains("(got \"601\")"));
        let mode = json!([{"ProxyMode": "udp", "Port": 80}]);
        assert!(
            err(with(&["BindPorts"], mode)).contains("ProxyMode must be one of http, https, tcp")
        );
        let policy = json!([{"ProxyMode": "https", "Port": 443, "SSLPolicy": "TLS-1-0"}]);
        assert!(err(with(&["BindPorts"], policy)).contains("SSLPolicy must be one of"));
        let headers: Vec<Value> = (0..11)
            .map(|i| json!({"Header": format!("X-{i}"), "Value": "v"}))
            .collect();
        let hdr = json!([{"ProxyMode": "http", "Port": 80, "AddResponseHeader": headers}]);
        assert!(err(with(&["BindPorts"], hdr)).contains("at most 10 headers"));
        assert!(err(with(&["Syslog"], json!({"Server": "", "Port": 0}))).contains("empty syslog"));
        assert!(
            err(with(&["Syslog"], json!({"Server": "", "Port": null}))).contains("empty syslog")
        );
        assert!(err(with(&["Syslog"], json!({"Server": "host", "Port": 514}))).contains("IPv4"));
        let ip = json!([{"IPAddress": "x", "Port": 80}]);
        assert!(err(with(&["Servers"], ip)).contains("IPAddress"));
        let group =
            json!([{"IPAddress": "203.0.113.10", "Port": 80, "ServerGroup": "elevenchars"}]);
        assert!(err(with(&["Servers"], group)).contains("ServerGroup must be 1-10"));
        assert!(
            err(with(&["BackendHttpKeepAlive", "Mode"], json!("turbo")))
                .contains("Mode must be one of safe, aggressive")
        );
        assert!(err(json!({"ProxyLB": null})).contains("Settings.ProxyLB is required"));
    }
}
