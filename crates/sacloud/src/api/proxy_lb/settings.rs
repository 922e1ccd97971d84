//! `Settings.ProxyLB`: what an Enhanced Load Balancer does (listeners, real servers, health
//! check, certificates by Let's Encrypt, ...), with the API's wire quirks.
//!
//! An update replaces the settings wholesale, so the usual change is read → modify → write back
//! with the `SettingsHash` that was read. Settings this client does not model are kept in
//! [`ProxyLbSettings::other`] and written back unchanged, so such a round trip never resets
//! them.
//!
//! Wire rules (from SAKURA's own SDK, `iaas-api-go` `naked/proxylb.go`):
//! - `BindPorts`, `Servers` and `Rules` are always sent as lists, `[]` when empty, never `null`;
//! - an empty `Syslog` (no server, no port) is sent with `Port: 514`, because the API answers
//!   400 to an empty one;
//! - `LetsEncrypt.SubjectAltNames` is one comma-joined string on the wire; read, it is split on
//!   spaces, commas and newlines;
//! - numbers are JSON numbers, read from numbers or strings; flags are JSON booleans.

use std::net::Ipv4Addr;

use serde::de::Deserializer;
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::common::open_enum;
use crate::wire::{
    StringNumber, lenient_bool, lenient_ipv4, null_as_default, number_or_string,
    opt_number_or_string,
};

/// Smallest and largest health-check interval, seconds.
pub const DELAY_LOOP_RANGE: std::ops::RangeInclusive<u32> = 10..=60;
/// Smallest and largest `Timeout.InactiveSec`, seconds.
pub const INACTIVE_SEC_RANGE: std::ops::RangeInclusive<u32> = 10..=600;
/// At most this many listeners (`BindPorts`) per Enhanced Load Balancer.
pub const MAX_BIND_PORTS: usize = 2;
/// At most this many real servers per Enhanced Load Balancer.
pub const MAX_SERVERS: usize = 40;
/// The syslog port sent when no syslog is configured (an empty `Syslog` gives HTTP 400).
pub const DEFAULT_SYSLOG_PORT: u16 = 514;

open_enum! {
    /// How a listener handles connections.
    ProxyMode {
        /// HTTP (L7): headers, redirects to HTTPS, Let's Encrypt.
        Http => "http",
        /// HTTPS (L7) with the uploaded or Let's Encrypt certificate.
        Https => "https",
        /// Plain TCP proxying (L4); the L7 features do not apply.
        Tcp => "tcp",
    }
}

open_enum! {
    /// The TLS policy of an `https` listener.
    SslPolicy {
        /// TLS 1.2 and later, 2019 cipher set.
        Tls12_2019_04 => "TLS-1-2-2019-04",
        /// TLS 1.2 and later, 2021 cipher set.
        Tls12_2021_06 => "TLS-1-2-2021-06",
        /// TLS 1.3 only.
        Tls13_2021_06 => "TLS-1-3-2021-06",
    }
}

open_enum! {
    /// How real servers are health-checked.
    ProxyLbHealthCheckProtocol {
        /// HTTP GET of `Path` (with `Host`) on each server's port.
        Http => "http",
        /// TCP connect to each server's port.
        Tcp => "tcp",
    }
}

open_enum! {
    /// Keep-alive towards the real servers.
    KeepAliveMode {
        /// Conservative reuse of backend connections (the default).
        Safe => "safe",
        /// Reuse backend connections as much as possible.
        Aggressive => "aggressive",
    }
}

open_enum! {
    /// What a rule does with a matching request.
    RuleAction {
        /// Send it to the rule's `ServerGroup`.
        Forward => "forward",
        /// Answer with a redirect to `RedirectLocation`.
        Redirect => "redirect",
        /// Answer with a fixed response.
        Fixed => "fixed",
    }
}

/// The settings of an Enhanced Load Balancer (`Settings.ProxyLB`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProxyLbSettings {
    /// How real servers are checked.
    #[serde(rename = "HealthCheck", default, deserialize_with = "null_as_default")]
    pub health_check: ProxyLbHealthCheck,
    /// Where clients go when every real server is down.
    #[serde(rename = "SorryServer", default, deserialize_with = "null_as_default")]
    pub sorry_server: SorryServer,
    /// Listeners: 1 or 2.
    #[serde(rename = "BindPorts", default, deserialize_with = "null_as_default")]
    pub bind_ports: Vec<BindPort>,
    /// Real servers: at most 40.
    #[serde(rename = "Servers", default, deserialize_with = "null_as_default")]
    pub servers: Vec<ProxyLbServer>,
    /// L7 routing rules, applied in order.
    #[serde(rename = "Rules", default, deserialize_with = "null_as_default")]
    pub rules: Vec<ProxyLbRule>,
    /// Certificates issued and renewed by Let's Encrypt.
    #[serde(rename = "LetsEncrypt", default, deserialize_with = "null_as_default")]
    pub lets_encrypt: LetsEncrypt,
    /// Session affinity.
    #[serde(
        rename = "StickySession",
        default,
        deserialize_with = "null_as_default"
    )]
    pub sticky_session: StickySession,
    /// Idle timeout.
    #[serde(rename = "Timeout", default, deserialize_with = "null_as_default")]
    pub timeout: ProxyLbTimeout,
    /// Gzip compression of responses.
    #[serde(rename = "Gzip", default, deserialize_with = "null_as_default")]
    pub gzip: Toggle,
    /// Keep-alive towards the real servers.
    #[serde(
        rename = "BackendHttpKeepAlive",
        default,
        deserialize_with = "null_as_default"
    )]
    pub backend_http_keep_alive: BackendHttpKeepAlive,
    /// Access logs to SAKURA's monitoring suite.
    #[serde(
        rename = "MonitoringSuiteLog",
        default,
        deserialize_with = "null_as_default"
    )]
    pub monitoring_suite_log: Toggle,
    /// PROXY protocol v2 towards the real servers (for the whole load balancer); they then see
    /// the clients' addresses.
    #[serde(
        rename = "ProxyProtocol",
        default,
        deserialize_with = "null_as_default"
    )]
    pub proxy_protocol: Toggle,
    /// Where access logs are sent.
    #[serde(rename = "Syslog", default, deserialize_with = "null_as_default")]
    pub syslog: Syslog,
    /// Settings this client does not model (`OriginGuard`, `StrictRule`, ...), kept as read and
    /// written back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `HealthCheck`: the same check for every real server, on the server's own port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyLbHealthCheck {
    /// `http` or `tcp`.
    #[serde(rename = "Protocol", default = "unknown")]
    pub protocol: ProxyLbHealthCheckProtocol,
    /// Request path for `http`.
    #[serde(
        rename = "Path",
        default,
        deserialize_with = "empty_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub path: Option<String>,
    /// `Host` header for `http`.
    #[serde(
        rename = "Host",
        default,
        deserialize_with = "empty_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub host: Option<String>,
    /// Interval in seconds, 10–60.
    #[serde(rename = "DelayLoop", default, with = "number_or_string")]
    pub delay_loop: u32,
}

impl Default for ProxyLbHealthCheck {
    /// A TCP connect every 10 seconds.
    fn default() -> Self {
        Self {
            protocol: ProxyLbHealthCheckProtocol::Tcp,
            path: None,
            host: None,
            delay_loop: 10,
        }
    }
}

/// `SorryServer`: where clients go when every real server is down; unset by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SorryServer {
    /// Its address, or `None`.
    #[serde(rename = "IPAddress", default, with = "lenient_ipv4")]
    pub ip_address: Option<Ipv4Addr>,
    /// Its port, or `None`.
    #[serde(rename = "Port", default, with = "opt_number_or_string")]
    pub port: Option<u16>,
}

/// One listener (`BindPorts[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindPort {
    /// `http`, `https` or `tcp`.
    #[serde(rename = "ProxyMode", default = "unknown")]
    pub proxy_mode: ProxyMode,
    /// Port clients connect to, 1–65535.
    #[serde(rename = "Port", default, with = "number_or_string")]
    pub port: u16,
    /// For `http`: answer every request with a redirect to HTTPS.
    #[serde(rename = "RedirectToHttps", default, with = "lenient_bool")]
    pub redirect_to_https: bool,
    /// For `https`: offer HTTP/2.
    #[serde(rename = "SupportHttp2", default, with = "lenient_bool")]
    pub support_http2: bool,
    /// Headers added to every response (at most 10; not for `tcp`).
    #[serde(
        rename = "AddResponseHeader",
        default,
        deserialize_with = "null_as_default"
    )]
    pub add_response_header: Vec<ResponseHeader>,
    /// For `https`: the TLS policy; `None` for the API's default.
    #[serde(
        rename = "SSLPolicy",
        default,
        deserialize_with = "empty_as_none_enum",
        skip_serializing_if = "Option::is_none"
    )]
    pub ssl_policy: Option<SslPolicy>,
}

impl BindPort {
    /// A listener with no options: `mode` on `port`.
    pub fn new(proxy_mode: ProxyMode, port: u16) -> Self {
        Self {
            proxy_mode,
            port,
            redirect_to_https: false,
            support_http2: false,
            add_response_header: Vec::new(),
            ssl_policy: None,
        }
    }
}

/// A header added to responses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResponseHeader {
    /// Header name.
    #[serde(rename = "Header", default, deserialize_with = "null_as_default")]
    pub header: String,
    /// Header value.
    #[serde(rename = "Value", default, deserialize_with = "null_as_default")]
    pub value: String,
}

/// A real server (`Servers[]`): any global address SAKURA provides, and a port.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProxyLbServer {
    /// Its address.
    #[serde(rename = "IPAddress", default, with = "lenient_ipv4")]
    pub ip_address: Option<Ipv4Addr>,
    /// Its port, 1–65535; also the port the health check probes.
    #[serde(rename = "Port", default, with = "number_or_string")]
    pub port: u16,
    /// The group rules forward to (1–10 characters); empty for none.
    #[serde(rename = "ServerGroup", default, deserialize_with = "null_as_default")]
    pub server_group: String,
    /// Whether traffic is sent to it.
    #[serde(rename = "Enabled", default, with = "lenient_bool")]
    pub enabled: bool,
    /// TLS towards this server.
    #[serde(rename = "ProxySSL", default, with = "lenient_bool")]
    pub proxy_ssl: bool,
}

impl ProxyLbServer {
    /// An enabled real server at `ip:port`, no group, no TLS.
    pub fn new(ip: Ipv4Addr, port: u16) -> Self {
        Self {
            ip_address: Some(ip),
            port,
            server_group: String::new(),
            enabled: true,
            proxy_ssl: false,
        }
    }
}

/// An L7 routing rule (`Rules[]`). Conditions that are empty do not apply.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProxyLbRule {
    /// Host condition; wildcards `*` and `?`.
    #[serde(
        rename = "Host",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub host: String,
    /// Path condition.
    #[serde(
        rename = "Path",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub path: String,
    /// Source addresses and CIDRs, comma-separated.
    #[serde(
        rename = "SourceIPs",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub source_ips: String,
    /// What to do: forward, redirect or a fixed response.
    #[serde(rename = "Action", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<RuleAction>,
    /// For `forward`: the target `ServerGroup`.
    #[serde(
        rename = "ServerGroup",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub server_group: String,
    /// For `redirect`: where to.
    #[serde(
        rename = "RedirectLocation",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub redirect_location: String,
    /// For `redirect`: 301 or 302 (a string on the wire).
    #[serde(
        rename = "RedirectStatusCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub redirect_status_code: Option<StringNumber>,
    /// For `fixed`: 200, 403 or 503 (a string on the wire).
    #[serde(
        rename = "FixedStatusCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fixed_status_code: Option<StringNumber>,
    /// For `fixed`: the content type.
    #[serde(
        rename = "FixedContentType",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub fixed_content_type: String,
    /// For `fixed`: the body.
    #[serde(
        rename = "FixedMessageBody",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub fixed_message_body: String,
    /// Request-header conditions and anything else this client does not model, kept as read.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `LetsEncrypt`: a certificate for `CommonName` (+ alternative names), issued and renewed by
/// SAKURA. The name must already resolve to the load balancer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LetsEncrypt {
    /// Whether certificates are issued.
    #[serde(rename = "Enabled", default, with = "lenient_bool")]
    pub enabled: bool,
    /// The certificate's common name.
    #[serde(
        rename = "CommonName",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub common_name: String,
    /// Further names. One comma-joined string on the wire.
    #[serde(rename = "SubjectAltNames", default, with = "comma_list")]
    pub subject_alt_names: Vec<String>,
}

/// `StickySession`: session affinity.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StickySession {
    /// Whether it is on.
    #[serde(rename = "Enabled", default, with = "lenient_bool")]
    pub enabled: bool,
    /// How sessions are recognised; SAKURA's tools always send `cookie`.
    #[serde(
        rename = "Method",
        default,
        deserialize_with = "empty_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub method: Option<String>,
}

/// `Timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyLbTimeout {
    /// Seconds an idle connection is kept, 10–600.
    #[serde(rename = "InactiveSec", default, with = "number_or_string")]
    pub inactive_sec: u32,
}

impl Default for ProxyLbTimeout {
    /// 10 seconds, the API's default.
    fn default() -> Self {
        Self { inactive_sec: 10 }
    }
}

/// An on/off feature (`Gzip`, `ProxyProtocol`, `MonitoringSuiteLog`): `{"Enabled": bool}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Toggle {
    /// Whether it is on.
    #[serde(rename = "Enabled", default, with = "lenient_bool")]
    pub enabled: bool,
}

impl From<bool> for Toggle {
    fn from(enabled: bool) -> Self {
        Self { enabled }
    }
}

/// `BackendHttpKeepAlive`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendHttpKeepAlive {
    /// `safe` or `aggressive`.
    #[serde(rename = "Mode", default = "safe")]
    pub mode: KeepAliveMode,
}

impl Default for BackendHttpKeepAlive {
    /// `safe`.
    fn default() -> Self {
        Self {
            mode: KeepAliveMode::Safe,
        }
    }
}

/// `Syslog`: where access logs go. None by default: no server, port 514 (an empty syslog is
/// refused by the API; see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Syslog {
    /// Syslog server address; empty for none.
    #[serde(rename = "Server", default, deserialize_with = "null_as_default")]
    pub server: String,
    /// Syslog port; 0 means "unset" and is sent as 514 when `server` is empty too.
    #[serde(rename = "Port", default, with = "number_or_string")]
    pub port: u16,
}

impl Default for Syslog {
    /// No server, port 514.
    fn default() -> Self {
        Self {
            server: String::new(),
            port: DEFAULT_SYSLOG_PORT,
        }
    }
}

impl Serialize for Syslog {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let port = if self.port == 0 && self.server.is_empty() {
            DEFAULT_SYSLOG_PORT
        } else {
            self.port
        };
        let mut st = s.serialize_struct("Syslog", 2)?;
        st.serialize_field("Server", &self.server)?;
        st.serialize_field("Port", &port)?;
        st.end()
    }
}

/// An absent enum value reads as `Other("")`: one odd item does not make a listing unreadable.
fn unknown<T: for<'a> From<&'a str>>() -> T {
    T::from("")
}

fn safe() -> KeepAliveMode {
    KeepAliveMode::Safe
}

/// Reads `null` and `""` as `None`.
fn empty_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// Reads `null` and `""` as `None`, anything else as the enum.
fn empty_as_none_enum<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: for<'a> From<&'a str>,
{
    Ok(Option::<String>::deserialize(d)?
        .filter(|s| !s.is_empty())
        .map(|s| T::from(s.as_str())))
}

/// Splits a list of names the way SAKURA's SDK does: on spaces, commas and newlines.
pub fn split_names(text: &str) -> Vec<String> {
    text.split([' ', ',', '\n', '\r', '\t'])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `Vec<String>` as one comma-joined string on the wire; read from such a string (split on
/// spaces, commas and newlines), a list of strings, or `null`.
pub mod comma_list {
    use super::*;

    /// Serializes as `"a.example,b.example"` (`""` when empty).
    pub fn serialize<S: Serializer, T: AsRef<[String]>>(
        names: &T,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&names.as_ref().join(","))
    }

    /// Accepts a string, a list of strings or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            List(Vec<String>),
        }
        Ok(match Option::<Form>::deserialize(d)? {
            None => Vec::new(),
            Some(Form::Text(t)) => split_names(&t),
            Some(Form::List(l)) => l.iter().flat_map(|n| split_names(n)).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_settings_send_lists_and_the_syslog_port() {
        let v = serde_json::to_value(ProxyLbSettings::default()).unwrap();
        assert_eq!(v["BindPorts"], json!([]));
        assert_eq!(v["Servers"], json!([]));
        assert_eq!(v["Rules"], json!([]));
        assert_eq!(v["Syslog"], json!({"Server": "", "Port": 514}));
        assert_eq!(v["Timeout"], json!({"InactiveSec": 10}));
        assert_eq!(v["SorryServer"], json!({"IPAddress": null, "Port": null}));
        assert_eq!(
            v["HealthCheck"],
            json!({"Protocol": "tcp", "DelayLoop": 10})
        );
        assert_eq!(
            v["LetsEncrypt"],
            json!({"Enabled": false, "SubjectAltNames": ""})
        );
        assert_eq!(v["BackendHttpKeepAlive"], json!({"Mode": "safe"}));
        // An unset port next to an empty server is sent as 514 too.
        let s = Syslog {
            server: String::new(),
            port: 0,
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"Server": "", "Port": 514})
        );
        // A configured syslog keeps its own port.
        let s = Syslog {
            server: "192.0.2.9".into(),
            port: 0,
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"Server": "192.0.2.9", "Port": 0})
        );
    }

    #[test]
    fn subject_alt_names_are_comma_joined_and_split_leniently() {
        let le = LetsEncrypt {
            enabled: true,
            common_name: "www.example.com".into(),
            subject_alt_names: vec!["a.example.com".into(), "b.example.com".into()],
        };
        assert_eq!(
            serde_json::to_value(&le).unwrap(),
            json!({"Enabled": true, "CommonName": "www.example.com",
                   "SubjectAltNames": "a.example.com,b.example.com"})
        );
        for wire in [
            json!("a.example.com,b.example.com"),
            json!("a.example.com b.example.com"),
            json!("a.example.com,\nb.example.com\n"),
            json!(["a.example.com", "b.example.com"]),
        ] {
            let read: LetsEncrypt =
                serde_json::from_value(json!({"Enabled": true, "SubjectAltNames": wire})).unwrap();
            assert_eq!(read.subject_alt_names, ["a.example.com", "b.example.com"]);
        }
        let none: LetsEncrypt =
            serde_json::from_value(json!({"Enabled": false, "SubjectAltNames": null})).unwrap();
        assert!(none.subject_alt_names.is_empty());
    }

    #[test]
    fn reads_numbers_as_strings_nulls_and_unknown_fields() {
        let s: ProxyLbSettings = serde_json::from_value(json!({
            "HealthCheck": {"Protocol": "http", "Path": "/healthz", "Host": "", "DelayLoop": "15"},
            "SorryServer": {"IPAddress": "", "Port": null},
            "BindPorts": [{"ProxyMode": "https", "Port": "443", "SupportHttp2": true,
                           "SSLPolicy": "TLS-1-3-2021-06", "AddResponseHeader": null},
                          {"ProxyMode": "http", "Port": 80, "RedirectToHttps": "True", "SSLPolicy": ""}],
            "Servers": [{"IPAddress": "203.0.113.10", "Port": "30080", "Enabled": true}],
            "Rules": null,
            "Timeout": {"InactiveSec": "30"},
            "Gzip": {"Enabled": true},
            "BackendHttpKeepAlive": {"Mode": "turbo"},
            "Syslog": {"Server": null, "Port": "514"},
            "StrictRule": {"Enabled": true},
            "OriginGuard": {"Token": "abcdefgh"}
        }))
        .unwrap();
        assert_eq!(s.health_check.protocol, ProxyLbHealthCheckProtocol::Http);
        assert_eq!(s.health_check.host, None);
        assert_eq!(s.health_check.delay_loop, 15);
        assert_eq!(s.sorry_server, SorryServer::default());
        assert_eq!(s.bind_ports[0].port, 443);
        assert_eq!(s.bind_ports[0].ssl_policy, Some(SslPolicy::Tls13_2021_06));
        assert!(s.bind_ports[1].redirect_to_https);
        assert_eq!(s.bind_ports[1].ssl_policy, None);
        assert_eq!(
            s.servers,
            [ProxyLbServer::new(Ipv4Addr::new(203, 0, 113, 10), 30080)]
        );
        assert!(s.rules.is_empty());
        assert_eq!(s.timeout.inactive_sec, 30);
        assert!(s.gzip.enabled);
        assert_eq!(
            s.backend_http_keep_alive.mode,
            KeepAliveMode::Other("turbo".into())
        );
        assert_eq!(s.syslog.port, 514);
        // Unmodelled settings survive a read → write round trip.
        let back = serde_json::to_value(&s).unwrap();
        assert_eq!(back["StrictRule"], json!({"Enabled": true}));
        assert_eq!(back["OriginGuard"], json!({"Token": "abcdefgh"}));
        assert_eq!(back["Rules"], json!([]));
        assert_eq!(back["Servers"][0]["Port"], json!(30080));
        assert_eq!(back["Servers"][0]["ProxySSL"], json!(false));
        assert_eq!(back["BindPorts"][1]["AddResponseHeader"], json!([]));
    }

    #[test]
    fn rules_keep_unmodelled_conditions() {
        let r: ProxyLbRule = serde_json::from_value(json!({
            "Host": "*.example.com", "Action": "redirect", "RedirectLocation": "https://example.com/",
            "RedirectStatusCode": 301, "RequestHeaderName": "X-Env", "RequestHeaderValueIgnoreCase": true
        }))
        .unwrap();
        assert_eq!(r.action, Some(RuleAction::Redirect));
        assert_eq!(r.redirect_status_code, Some(StringNumber(301)));
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["RedirectStatusCode"], json!("301"));
        assert_eq!(back["RequestHeaderName"], json!("X-Env"));
        assert_eq!(back["RequestHeaderValueIgnoreCase"], json!(true));
        assert!(back.get("Path").is_none());
    }
}
