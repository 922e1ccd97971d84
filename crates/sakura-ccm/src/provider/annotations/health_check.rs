//! The real servers' health check: `load-balancer-healthz-protocol`, `-path`, `-port` and
//! `-interval`, and the default port, which `spec.externalTrafficPolicy` decides.

use std::ops::RangeInclusive;

use sacloud::wire::StringNumber;
use sacloud::{HealthCheck, HealthCheckProtocol};

use super::{
    HEALTH_CHECK_NODE_PORT_FIELD, HEALTHZ_INTERVAL, HEALTHZ_PATH, HEALTHZ_PORT, HEALTHZ_PROTOCOL,
    Parser,
};

/// kube-proxy's health port: `GET /healthz` there answers 200 while the node proxies traffic.
pub const KUBE_PROXY_HEALTHZ_PORT: u16 = 10256;
/// Default health-check path (kube-proxy's, and the one `healthCheckNodePort` serves).
pub const DEFAULT_HEALTHZ_PATH: &str = "/healthz";
/// Default health-check interval, the API's default `DelayLoop`.
pub const DEFAULT_HEALTHZ_INTERVAL: u32 = 10;
/// Accepted health-check intervals. The API requires `DelayLoop >= 10` and documents no
/// maximum; beyond a minute a dead node keeps receiving traffic for too long.
pub const HEALTHZ_INTERVAL_RANGE: RangeInclusive<u32> = 10..=60;
/// Longest accepted health-check path.
pub const MAX_HEALTHZ_PATH_LEN: usize = 256;

/// How real servers are health-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthProtocol {
    /// HTTP GET of the path, expecting 200.
    Http,
    /// HTTPS GET of the path, expecting 200.
    Https,
    /// TCP connect to the port.
    Tcp,
    /// ICMP echo (no port): the original CCM's only check.
    Ping,
}

impl HealthProtocol {
    /// The annotation (and API) value.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthProtocol::Http => "http",
            HealthProtocol::Https => "https",
            HealthProtocol::Tcp => "tcp",
            HealthProtocol::Ping => "ping",
        }
    }

    fn uses_path(self) -> bool {
        matches!(self, HealthProtocol::Http | HealthProtocol::Https)
    }

    fn uses_port(self) -> bool {
        !matches!(self, HealthProtocol::Ping)
    }
}

/// The health check every real server gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckOptions {
    /// Protocol.
    pub protocol: HealthProtocol,
    /// Path for http/https.
    pub path: String,
    /// Port checked (for every protocol but ping); under DSR nothing listens on the service
    /// port of a node, so the default is a health port, not the service port.
    pub port: u16,
    /// Interval in seconds (`DelayLoop`).
    pub interval_secs: u32,
}

impl HealthCheckOptions {
    /// The real-server health check to send to the API: path and expected status only for
    /// http/https, port for every protocol but ping.
    pub fn to_api(&self) -> HealthCheck {
        let protocol = match self.protocol {
            HealthProtocol::Http => HealthCheckProtocol::Http,
            HealthProtocol::Https => HealthCheckProtocol::Https,
            HealthProtocol::Tcp => HealthCheckProtocol::Tcp,
            HealthProtocol::Ping => HealthCheckProtocol::Ping,
        };
        let http = self.protocol.uses_path();
        HealthCheck {
            protocol,
            path: http.then(|| self.path.clone()),
            status: http.then_some(StringNumber(200)),
            port: self
                .protocol
                .uses_port()
                .then_some(StringNumber(u64::from(self.port))),
            ..HealthCheck::default()
        }
    }
}

/// How traffic reaches endpoints (`spec.externalTrafficPolicy`); it decides the default
/// health-check port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficPolicy {
    /// Every node forwards: check kube-proxy on [`KUBE_PROXY_HEALTHZ_PORT`].
    Cluster,
    /// Only nodes with endpoints serve: check the Service's `healthCheckNodePort`.
    Local {
        /// `spec.healthCheckNodePort`.
        health_check_node_port: Option<u16>,
    },
}

impl Parser<'_> {
    /// The health check; `None` when a value is invalid (its error is recorded).
    pub(super) fn health_check(&mut self, traffic: TrafficPolicy) -> Option<HealthCheckOptions> {
        let protocol = self.enumerated(
            HEALTHZ_PROTOCOL,
            &[
                ("http", HealthProtocol::Http),
                ("https", HealthProtocol::Https),
                ("tcp", HealthProtocol::Tcp),
                ("ping", HealthProtocol::Ping),
            ],
            "http, https, tcp or ping",
        );
        let interval = self.number(HEALTHZ_INTERVAL, HEALTHZ_INTERVAL_RANGE, "seconds");
        let port = self
            .number(HEALTHZ_PORT, 1..=u32::from(u16::MAX), "port")
            .map(|p| p.and_then(|p| u16::try_from(p).ok()));
        let path = self.healthz_path();

        let protocol = protocol?;
        if !protocol.uses_path() {
            self.ignore_if_set(
                HEALTHZ_PATH,
                "used only with healthz-protocol http or https",
            );
        }
        if !protocol.uses_port() {
            self.ignore_if_set(HEALTHZ_PORT, "ping has no port");
        }
        let port = match (port?, traffic) {
            (Some(port), _) => port,
            (None, TrafficPolicy::Cluster) => KUBE_PROXY_HEALTHZ_PORT,
            (
                None,
                TrafficPolicy::Local {
                    health_check_node_port: Some(port),
                },
            ) => port,
            (
                None,
                TrafficPolicy::Local {
                    health_check_node_port: None,
                },
            ) if protocol.uses_port() => {
                self.error(
                    HEALTH_CHECK_NODE_PORT_FIELD,
                    None,
                    "externalTrafficPolicy is Local but the Service has no healthCheckNodePort to check",
                    &format!("a port in {HEALTHZ_PORT}, or externalTrafficPolicy Cluster"),
                );
                return None;
            }
            (None, TrafficPolicy::Local { .. }) => KUBE_PROXY_HEALTHZ_PORT,
        };
        Some(HealthCheckOptions {
            protocol,
            path: path?.unwrap_or_else(|| DEFAULT_HEALTHZ_PATH.to_owned()),
            port,
            interval_secs: interval?.unwrap_or(DEFAULT_HEALTHZ_INTERVAL),
        })
    }

    pub(super) fn healthz_path(&mut self) -> Option<Option<String>> {
        let Some(v) = self.value(HEALTHZ_PATH) else {
            return Some(None);
        };
        let accepted = format!(
            "an absolute URL path such as /healthz: starts with /, printable ASCII without spaces, at most {MAX_HEALTHZ_PATH_LEN} characters"
        );
        let valid = v.starts_with('/')
            && v.len() <= MAX_HEALTHZ_PATH_LEN
            && v.chars().all(|c| c.is_ascii_graphic());
        if valid {
            Some(Some(v.to_owned()))
        } else {
            let v = v.to_owned();
            self.error(HEALTHZ_PATH, Some(&v), "not a usable path", &accepted);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::annotations::parse_appliance;
    use crate::provider::annotations::tests::{ann, errs, ok};

    #[test]
    fn healthz_interval_works_and_is_bounded() {
        let cases: &[(&str, Result<u32, &str>)] = &[
            ("10", Ok(10)),
            ("30", Ok(30)),
            ("60", Ok(60)),
            ("", Ok(10)),
            ("9", Err("out of range")),
            ("0", Err("out of range")),
            ("61", Err("out of range")),
            ("99999999999999999999999", Err("out of range")),
            ("-5", Err("not a whole number")),
            ("10s", Err("not a whole number")),
            ("1e1", Err("not a whole number")),
            ("ten", Err("not a whole number")),
        ];
        for (value, want) in cases {
            let got = parse_appliance(
                &ann(&[(HEALTHZ_INTERVAL, value)]),
                None,
                TrafficPolicy::Cluster,
            );
            match want {
                Ok(n) => assert_eq!(
                    got.map(|o| o.health_check.interval_secs),
                    Ok(*n),
                    "{value:?}"
                ),
                Err(problem) => {
                    let e = got.expect_err(value);
                    assert_eq!(e.len(), 1);
                    assert_eq!(e[0].key, HEALTHZ_INTERVAL);
                    assert_eq!(e[0].problem, *problem, "{value:?}");
                    assert!(e[0].accepted.contains("from 10 to 60"), "{e:?}");
                }
            }
        }
    }

    #[test]
    fn healthz_protocol_path_and_port() {
        let hc = |pairs: &[(&str, &str)]| ok(pairs).health_check;
        assert_eq!(
            hc(&[(HEALTHZ_PROTOCOL, "https"), (HEALTHZ_PATH, "/livez")]),
            HealthCheckOptions {
                protocol: HealthProtocol::Https,
                path: "/livez".into(),
                port: 10256,
                interval_secs: 10
            }
        );
        assert_eq!(
            hc(&[(HEALTHZ_PROTOCOL, "TCP")]).protocol,
            HealthProtocol::Tcp
        );
        assert_eq!(
            hc(&[(HEALTHZ_PROTOCOL, "ping")]).protocol,
            HealthProtocol::Ping
        );
        assert_eq!(hc(&[(HEALTHZ_PORT, "8080")]).port, 8080);
        assert_eq!(hc(&[(HEALTHZ_PORT, "65535")]).port, 65535);
        assert_eq!(
            hc(&[(HEALTHZ_PATH, "/healthz?verbose=1")]).path,
            "/healthz?verbose=1"
        );

        let bad: &[(&str, &str, &str)] = &[
            (HEALTHZ_PROTOCOL, "udp", "unknown value"),
            (HEALTHZ_PROTOCOL, "icmp", "unknown value"),
            (HEALTHZ_PORT, "0", "out of range"),
            (HEALTHZ_PORT, "65536", "out of range"),
            (HEALTHZ_PORT, "http", "not a whole number"),
            (HEALTHZ_PATH, "healthz", "not a usable path"),
            (HEALTHZ_PATH, "/health z", "not a usable path"),
            (HEALTHZ_PATH, "/ヘルス", "not a usable path"),
        ];
        for (key, value, problem) in bad {
            let e = errs(&[(key, value)]);
            assert_eq!(e.len(), 1, "{key}={value}: {e:?}");
            assert_eq!(e[0].key, *key);
            assert_eq!(e[0].problem, *problem, "{key}={value}");
        }
        let long = format!("/{}", "a".repeat(MAX_HEALTHZ_PATH_LEN));
        assert_eq!(errs(&[(HEALTHZ_PATH, &long)])[0].key, HEALTHZ_PATH);
    }

    #[test]
    fn default_health_port_follows_the_traffic_policy() {
        let parse_with =
            |pairs: &[(&str, &str)], traffic| parse_appliance(&ann(pairs), None, traffic);
        let local = |port| TrafficPolicy::Local {
            health_check_node_port: port,
        };
        assert_eq!(
            parse_with(&[], TrafficPolicy::Cluster).map(|o| o.health_check.port),
            Ok(10256)
        );
        assert_eq!(
            parse_with(&[], local(Some(31234))).map(|o| o.health_check.port),
            Ok(31234)
        );
        assert_eq!(
            parse_with(&[(HEALTHZ_PORT, "9000")], local(Some(31234))).map(|o| o.health_check.port),
            Ok(9000),
            "an explicit port wins"
        );
        let e = parse_with(&[], local(None)).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].key, HEALTH_CHECK_NODE_PORT_FIELD);
        assert!(e[0].to_string().contains(HEALTHZ_PORT), "{}", e[0]);
        assert!(
            parse_with(&[(HEALTHZ_PROTOCOL, "ping")], local(None)).is_ok(),
            "ping needs no port"
        );
    }

    #[test]
    fn health_check_to_api() {
        let opts = |protocol| HealthCheckOptions {
            protocol,
            path: "/healthz".into(),
            port: 10256,
            interval_secs: 10,
        };
        let http = opts(HealthProtocol::Http).to_api();
        assert_eq!(http.protocol, HealthCheckProtocol::Http);
        assert_eq!(http.path.as_deref(), Some("/healthz"));
        assert_eq!(http.status, Some(StringNumber(200)));
        assert_eq!(http.port, Some(StringNumber(10256)));
        assert_eq!(http.host, None);
        let https = opts(HealthProtocol::Https).to_api();
        assert_eq!(https.protocol, HealthCheckProtocol::Https);
        assert_eq!(https.path.as_deref(), Some("/healthz"));
        let tcp = opts(HealthProtocol::Tcp).to_api();
        assert_eq!(tcp.protocol, HealthCheckProtocol::Tcp);
        assert_eq!((tcp.path, tcp.status), (None, None));
        assert_eq!(tcp.port, Some(StringNumber(10256)));
        let ping = opts(HealthProtocol::Ping).to_api();
        assert_eq!(ping.protocol, HealthCheckProtocol::Ping);
        assert_eq!((ping.path, ping.status, ping.port), (None, None, None));
    }
}
