//! The Enhanced Load Balancer's settings (`load-balancer-type: enhanced`): per-port proxy
//! modes, plan, region and VIP failover, the L7 switches, idle timeout, PROXY protocol,
//! certificates, and the health check it can do (`http` or `tcp` to each real server's port).

use sacloud::api::proxy_lb::{
    ProxyLbHealthCheckProtocol, ProxyLbPlan, ProxyLbRegion, ProxyMode, SslPolicy,
};

use super::health_check::TrafficPolicy;
use super::{
    ENHANCED_CERTIFICATE_SECRET, ENHANCED_GZIP, ENHANCED_HTTP2, ENHANCED_LETS_ENCRYPT,
    ENHANCED_PLAN, ENHANCED_PORT_MODES, ENHANCED_PROXY_PROTOCOL, ENHANCED_REDIRECT_TO_HTTPS,
    ENHANCED_REGION, ENHANCED_SSL_POLICY, ENHANCED_STICKY_SESSION, ENHANCED_TIMEOUT,
    ENHANCED_VIP_FAILOVER, HEALTHZ_INTERVAL, HEALTHZ_PATH, HEALTHZ_PORT, HEALTHZ_PROTOCOL,
    IgnoredAnnotation, Parser,
};
use crate::provider::node_selector::NodeSelector;

/// Default idle timeout, seconds (the API's).
pub const DEFAULT_ENHANCED_TIMEOUT: u32 = 10;
/// Default path of an `http` health check: the application's root, since the Enhanced LB
/// checks the real server's own port (the NodePort), not kube-proxy's.
pub const DEFAULT_ENHANCED_HEALTHZ_PATH: &str = "/";

/// A Service port named in `enhanced-lb-port-modes`: by number or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    /// `spec.ports[].port`.
    Number(u16),
    /// `spec.ports[].name`.
    Name(String),
}

impl std::fmt::Display for PortRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortRef::Number(n) => write!(f, "{n}"),
            PortRef::Name(n) => f.write_str(n),
        }
    }
}

/// The health check of the real servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnhancedHealthCheck {
    /// `tcp` (default) or `http`.
    pub protocol: ProxyLbHealthCheckProtocol,
    /// Path for `http`.
    pub path: String,
    /// Interval, seconds (10–60).
    pub interval_secs: u32,
}

/// Where the certificate of `https` ports comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateSource {
    /// Let's Encrypt, issued and renewed by SAKURA: the common name, then alternative names.
    LetsEncrypt(Vec<String>),
    /// A `kubernetes.io/tls` Secret in the Service's namespace.
    Secret(String),
}

/// Everything the annotations ask of an Enhanced Load Balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnhancedOptions {
    /// Proxy modes by port; ports not named are `tcp`.
    pub port_modes: Vec<(PortRef, ProxyMode)>,
    /// Plan (connections per second); changed in place.
    pub plan: ProxyLbPlan,
    /// Region; fixed at creation.
    pub region: ProxyLbRegion,
    /// VIP failover (gives an FQDN); fixed at creation.
    pub vip_failover: bool,
    /// `http` ports redirect to HTTPS.
    pub redirect_to_https: bool,
    /// `https` ports speak HTTP/2.
    pub http2: bool,
    /// TLS policy of `https` ports; the API's default when unset.
    pub ssl_policy: Option<SslPolicy>,
    /// Sticky sessions (cookie).
    pub sticky_session: bool,
    /// Gzip compression of responses.
    pub gzip: bool,
    /// Idle timeout, seconds.
    pub timeout_secs: u32,
    /// PROXY protocol v2 towards the real servers.
    pub proxy_protocol: bool,
    /// The certificate of `https` ports.
    pub certificate: Option<CertificateSource>,
    /// Health check.
    pub health_check: EnhancedHealthCheck,
    /// Only Nodes with these labels are real servers.
    pub node_selector: Option<NodeSelector>,
    /// Annotations present but without effect.
    pub ignored: Vec<IgnoredAnnotation>,
}

impl EnhancedOptions {
    /// The proxy mode of a Service port (`tcp` unless `enhanced-lb-port-modes` names it).
    pub fn mode_of(&self, port: u16, name: Option<&str>) -> ProxyMode {
        self.port_modes
            .iter()
            .find(|(r, _)| match r {
                PortRef::Number(n) => *n == port,
                PortRef::Name(n) => Some(n.as_str()) == name,
            })
            .map(|(_, m)| m.clone())
            .unwrap_or(ProxyMode::Tcp)
    }
}

const PLANS_ACCEPTED: &str =
    "a plan in connections per second: 100, 500, 1000, 5000, 10000, 50000, 100000 or 400000";

impl Parser<'_> {
    /// The Enhanced LB's options; `None` when a value is invalid (its error is recorded).
    /// Every annotation is read even after an error. `ignored` is left empty.
    pub(super) fn enhanced(
        &mut self,
        traffic: TrafficPolicy,
        node_selector: Option<Option<NodeSelector>>,
    ) -> Option<EnhancedOptions> {
        let _ = traffic; // The health check probes the traffic port on every policy.
        let port_modes = self.port_modes();
        let plan = self.plan();
        let region = self
            .enumerated(
                ENHANCED_REGION,
                &[("is1", "is1"), ("tk1", "tk1"), ("anycast", "anycast")],
                "is1, tk1 or anycast",
            )
            .map(|r| match r {
                "tk1" => ProxyLbRegion::Tk1,
                "anycast" => ProxyLbRegion::Anycast,
                _ => ProxyLbRegion::Is1,
            });
        let vip_failover = self.boolean(ENHANCED_VIP_FAILOVER).unwrap_or(false);
        let redirect_to_https = self.boolean(ENHANCED_REDIRECT_TO_HTTPS).unwrap_or(false);
        let http2 = self.boolean(ENHANCED_HTTP2).unwrap_or(false);
        let ssl_policy = self.ssl_policy();
        let sticky_session = self.boolean(ENHANCED_STICKY_SESSION).unwrap_or(false);
        let gzip = self.boolean(ENHANCED_GZIP).unwrap_or(false);
        let timeout = self.number(
            ENHANCED_TIMEOUT,
            sacloud::api::proxy_lb::settings::INACTIVE_SEC_RANGE,
            "seconds",
        );
        let proxy_protocol = self.boolean(ENHANCED_PROXY_PROTOCOL).unwrap_or(false);
        let certificate = self.certificate();
        let health_check = self.enhanced_health_check();

        Some(EnhancedOptions {
            port_modes: port_modes?,
            plan: plan?,
            region: region?,
            vip_failover,
            redirect_to_https,
            http2,
            ssl_policy: ssl_policy?,
            sticky_session,
            gzip,
            timeout_secs: timeout?.unwrap_or(DEFAULT_ENHANCED_TIMEOUT),
            proxy_protocol,
            certificate: certificate?,
            health_check: health_check?,
            node_selector: node_selector?,
            ignored: Vec::new(),
        })
    }

    fn port_modes(&mut self) -> Option<Vec<(PortRef, ProxyMode)>> {
        const ACCEPTED: &str = "port=mode pairs separated by commas, the port by number or name, the mode http, https or tcp, e.g. 80=http,443=https";
        let Some(v) = self.value(ENHANCED_PORT_MODES) else {
            return Some(Vec::new());
        };
        let v = v.to_owned();
        let mut modes: Vec<(PortRef, ProxyMode)> = Vec::new();
        for entry in v.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let parsed = entry.split_once('=').and_then(|(port, mode)| {
                let port = port.trim();
                let port = match port.parse::<u16>() {
                    Ok(0) => return None,
                    Ok(n) => PortRef::Number(n),
                    Err(_) if is_port_name(port) => PortRef::Name(port.to_owned()),
                    Err(_) => return None,
                };
                let mode = match mode.trim().to_ascii_lowercase().as_str() {
                    "http" => ProxyMode::Http,
                    "https" => ProxyMode::Https,
                    "tcp" => ProxyMode::Tcp,
                    _ => return None,
                };
                Some((port, mode))
            });
            match parsed {
                Some((port, _)) if modes.iter().any(|(p, _)| *p == port) => {
                    self.error(
                        ENHANCED_PORT_MODES,
                        Some(&v),
                        &format!("port {port} is named twice"),
                        ACCEPTED,
                    );
                    return None;
                }
                Some(pair) => modes.push(pair),
                None => {
                    self.error(
                        ENHANCED_PORT_MODES,
                        Some(&v),
                        &format!("{entry:?} is not port=mode"),
                        ACCEPTED,
                    );
                    return None;
                }
            }
        }
        Some(modes)
    }

    fn plan(&mut self) -> Option<ProxyLbPlan> {
        let Some(v) = self.value(ENHANCED_PLAN) else {
            return Some(ProxyLbPlan::default());
        };
        match v.parse::<ProxyLbPlan>() {
            Ok(plan) => Some(plan),
            Err(_) => {
                let v = v.to_owned();
                self.error(ENHANCED_PLAN, Some(&v), "not a plan", PLANS_ACCEPTED);
                None
            }
        }
    }

    fn ssl_policy(&mut self) -> Option<Option<SslPolicy>> {
        if self.value(ENHANCED_SSL_POLICY).is_none() {
            return Some(None);
        }
        self.enumerated(
            ENHANCED_SSL_POLICY,
            &[
                ("TLS-1-2-2019-04", 0u8),
                ("TLS-1-2-2021-06", 1),
                ("TLS-1-3-2021-06", 2),
            ],
            "TLS-1-2-2019-04, TLS-1-2-2021-06 or TLS-1-3-2021-06",
        )
        .map(|p| {
            Some(match p {
                0 => SslPolicy::Tls12_2019_04,
                1 => SslPolicy::Tls12_2021_06,
                _ => SslPolicy::Tls13_2021_06,
            })
        })
    }

    fn certificate(&mut self) -> Option<Option<CertificateSource>> {
        let lets_encrypt = self.lets_encrypt_names();
        let secret = self.secret_name();
        match (lets_encrypt?, secret?) {
            (Some(_), Some(_)) => {
                let v = self.value(ENHANCED_CERTIFICATE_SECRET).map(str::to_owned);
                self.error(
                    ENHANCED_CERTIFICATE_SECRET,
                    v.as_deref(),
                    &format!("{ENHANCED_LETS_ENCRYPT} is set too; a load balancer has one certificate source"),
                    &format!("either {ENHANCED_LETS_ENCRYPT} or {ENHANCED_CERTIFICATE_SECRET}"),
                );
                None
            }
            (Some(names), None) => Some(Some(CertificateSource::LetsEncrypt(names))),
            (None, Some(secret)) => Some(Some(CertificateSource::Secret(secret))),
            (None, None) => Some(None),
        }
    }

    fn lets_encrypt_names(&mut self) -> Option<Option<Vec<String>>> {
        const ACCEPTED: &str = "the certificate's DNS names separated by commas, the common name first, e.g. www.example.com,example.com (no wildcards: Let's Encrypt checks each name over HTTP)";
        let Some(v) = self.value(ENHANCED_LETS_ENCRYPT) else {
            return Some(None);
        };
        let v = v.to_owned();
        let names: Vec<String> = v
            .split(',')
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        if let Some(bad) = names.iter().find(|n| !is_dns_name(n)) {
            self.error(
                ENHANCED_LETS_ENCRYPT,
                Some(&v),
                &format!("{bad:?} is not a DNS name"),
                ACCEPTED,
            );
            return None;
        }
        if names.is_empty() {
            self.error(ENHANCED_LETS_ENCRYPT, Some(&v), "no name", ACCEPTED);
            return None;
        }
        let mut unique: Vec<String> = Vec::new();
        for name in names {
            if !unique.contains(&name) {
                unique.push(name);
            }
        }
        Some(Some(unique))
    }

    fn secret_name(&mut self) -> Option<Option<String>> {
        let Some(v) = self.value(ENHANCED_CERTIFICATE_SECRET) else {
            return Some(None);
        };
        if is_dns_name(v) && v.len() <= 253 && v.chars().all(|c| !c.is_ascii_uppercase()) {
            return Some(Some(v.to_owned()));
        }
        let v = v.to_owned();
        self.error(
            ENHANCED_CERTIFICATE_SECRET,
            Some(&v),
            "not a Secret name",
            "the name of a kubernetes.io/tls Secret in the Service's namespace",
        );
        None
    }

    fn enhanced_health_check(&mut self) -> Option<EnhancedHealthCheck> {
        let protocol = match self.value(HEALTHZ_PROTOCOL).map(str::to_ascii_lowercase) {
            None => Some(ProxyLbHealthCheckProtocol::Tcp),
            Some(p) if p == "tcp" => Some(ProxyLbHealthCheckProtocol::Tcp),
            Some(p) if p == "http" => Some(ProxyLbHealthCheckProtocol::Http),
            Some(p) if p == "https" || p == "ping" => {
                self.ignore_if_set(
                    HEALTHZ_PROTOCOL,
                    "the Enhanced Load Balancer checks with http or tcp only; tcp is used",
                );
                Some(ProxyLbHealthCheckProtocol::Tcp)
            }
            Some(p) => {
                self.error(
                    HEALTHZ_PROTOCOL,
                    Some(&p),
                    "unknown value",
                    "http or tcp (the Enhanced Load Balancer's checks)",
                );
                None
            }
        };
        self.ignore_if_set(
            HEALTHZ_PORT,
            "the Enhanced Load Balancer checks each real server on its own port (the node port)",
        );
        let interval = self.number(
            HEALTHZ_INTERVAL,
            sacloud::api::proxy_lb::settings::DELAY_LOOP_RANGE,
            "seconds",
        );
        let path = self.healthz_path();
        let protocol = protocol?;
        if protocol != ProxyLbHealthCheckProtocol::Http {
            self.ignore_if_set(HEALTHZ_PATH, "used only with healthz-protocol http");
        }
        Some(EnhancedHealthCheck {
            protocol,
            path: path?.unwrap_or_else(|| DEFAULT_ENHANCED_HEALTHZ_PATH.to_owned()),
            interval_secs: interval?.unwrap_or(super::DEFAULT_HEALTHZ_INTERVAL),
        })
    }
}

/// A Service port name (IANA service name: lowercase alphanumerics and `-`, at most 15).
fn is_port_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.chars().any(|c| c.is_ascii_lowercase())
}

/// A DNS name: dot-separated labels of letters, digits and `-`, not starting or ending with
/// `-`, at most 63 characters each and 253 in all.
pub(crate) fn is_dns_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::super::tests::ann;
    use super::super::{
        AnnotationError, LOAD_BALANCER_TYPE, NODE_SELECTOR, Requested, TrafficPolicy, parse,
    };
    use super::*;

    fn enhanced(pairs: &[(&str, &str)]) -> Result<EnhancedOptions, Vec<AnnotationError>> {
        let mut pairs = pairs.to_vec();
        pairs.push((LOAD_BALANCER_TYPE, "enhanced"));
        parse(&ann(&pairs), None, TrafficPolicy::Cluster).map(|r| match r {
            Requested::Enhanced(o) => o,
            Requested::Appliance(o) => panic!("appliance: {o:?}"),
        })
    }

    #[test]
    fn defaults() {
        let o = enhanced(&[]).unwrap();
        assert_eq!(o.plan, ProxyLbPlan::Cps100);
        assert_eq!(o.region, ProxyLbRegion::Is1);
        assert!(!o.vip_failover && !o.proxy_protocol && !o.sticky_session && !o.gzip);
        assert_eq!(o.timeout_secs, 10);
        assert_eq!(o.health_check.protocol, ProxyLbHealthCheckProtocol::Tcp);
        assert_eq!(o.health_check.interval_secs, 10);
        assert_eq!(o.mode_of(80, Some("http")), ProxyMode::Tcp);
        assert!(o.certificate.is_none() && o.node_selector.is_none());
        assert!(o.ignored.is_empty());
    }

    #[test]
    fn every_setting_is_read() {
        let o = enhanced(&[
            (ENHANCED_PORT_MODES, "80=http, https=HTTPS"),
            (ENHANCED_PLAN, "5000"),
            (ENHANCED_REGION, "tk1"),
            (ENHANCED_VIP_FAILOVER, "true"),
            (ENHANCED_REDIRECT_TO_HTTPS, "true"),
            (ENHANCED_HTTP2, "true"),
            (ENHANCED_SSL_POLICY, "TLS-1-3-2021-06"),
            (ENHANCED_STICKY_SESSION, "true"),
            (ENHANCED_GZIP, "true"),
            (ENHANCED_TIMEOUT, "120"),
            (ENHANCED_PROXY_PROTOCOL, "true"),
            (
                ENHANCED_LETS_ENCRYPT,
                "www.example.com, Example.com,www.example.com",
            ),
            (HEALTHZ_PROTOCOL, "http"),
            (HEALTHZ_PATH, "/ready"),
            (HEALTHZ_INTERVAL, "30"),
            (NODE_SELECTOR, "role=edge"),
        ])
        .unwrap();
        assert_eq!(o.mode_of(80, None), ProxyMode::Http);
        assert_eq!(o.mode_of(443, Some("https")), ProxyMode::Https);
        assert_eq!(o.mode_of(8080, Some("metrics")), ProxyMode::Tcp);
        assert_eq!(o.plan, ProxyLbPlan::Cps5000);
        assert_eq!(o.region, ProxyLbRegion::Tk1);
        assert!(o.vip_failover && o.redirect_to_https && o.http2);
        assert!(o.sticky_session && o.gzip && o.proxy_protocol);
        assert_eq!(o.ssl_policy, Some(SslPolicy::Tls13_2021_06));
        assert_eq!(o.timeout_secs, 120);
        assert_eq!(
            o.certificate,
            Some(CertificateSource::LetsEncrypt(vec![
                "www.example.com".into(),
                "example.com".into()
            ]))
        );
        assert_eq!(o.health_check.protocol, ProxyLbHealthCheckProtocol::Http);
        assert_eq!(o.health_check.path, "/ready");
        assert_eq!(o.health_check.interval_secs, 30);
        assert_eq!(o.node_selector.unwrap().to_string(), "role=edge");
    }

    #[test]
    fn bad_values_name_the_annotation_and_what_is_accepted() {
        for (key, value, accepted) in [
            (ENHANCED_PORT_MODES, "80:http", "port=mode"),
            (ENHANCED_PORT_MODES, "80=udp", "http, https or tcp"),
            (ENHANCED_PORT_MODES, "80=http,80=https", "port=mode"),
            (ENHANCED_PLAN, "200", "100, 500, 1000"),
            (ENHANCED_REGION, "is1a", "is1, tk1 or anycast"),
            (ENHANCED_VIP_FAILOVER, "yes", "true or false"),
            (ENHANCED_SSL_POLICY, "TLS-1-0", "TLS-1-3-2021-06"),
            (ENHANCED_TIMEOUT, "5", "from 10 to 600"),
            (ENHANCED_TIMEOUT, "601", "from 10 to 600"),
            (ENHANCED_LETS_ENCRYPT, "*.example.com", "no wildcards"),
            (ENHANCED_CERTIFICATE_SECRET, "My_Cert", "kubernetes.io/tls"),
            (HEALTHZ_PROTOCOL, "udp", "http or tcp"),
            (HEALTHZ_INTERVAL, "61", "from 10 to 60"),
            (NODE_SELECTOR, "role in edge", "label selector"),
        ] {
            let errors = enhanced(&[(key, value)]).expect_err(value);
            assert_eq!(errors.len(), 1, "{key}={value}: {errors:?}");
            let text = errors[0].to_string();
            assert!(text.contains(key), "{text}");
            assert!(text.contains(accepted), "{key}={value}: {text}");
        }
    }

    #[test]
    fn both_certificate_sources_is_an_error() {
        let errors = enhanced(&[
            (ENHANCED_LETS_ENCRYPT, "www.example.com"),
            (ENHANCED_CERTIFICATE_SECRET, "www-tls"),
        ])
        .unwrap_err();
        assert!(errors[0].to_string().contains("one certificate source"));
    }

    #[test]
    fn what_the_enhanced_lb_cannot_do_is_ignored_with_the_reason() {
        let o = enhanced(&[
            (HEALTHZ_PROTOCOL, "https"),
            (HEALTHZ_PORT, "10256"),
            (HEALTHZ_PATH, "/healthz"),
            ("k8s.usacloud.jp/load-balancer-ha", "true"),
            ("k8s.usacloud.jp/router-selector", "a"),
        ])
        .unwrap();
        assert_eq!(o.health_check.protocol, ProxyLbHealthCheckProtocol::Tcp);
        let ignored: Vec<String> = o.ignored.iter().map(ToString::to_string).collect();
        for expected in [
            "load-balancer-healthz-protocol (the Enhanced Load Balancer checks with http or tcp only",
            "load-balancer-healthz-port (the Enhanced Load Balancer checks each real server on its own port",
            "load-balancer-healthz-path (used only with healthz-protocol http)",
            "load-balancer-ha (applies only to the load-balancer appliance",
            "router-selector (applies only to the load-balancer appliance",
        ] {
            assert!(
                ignored.iter().any(|i| i.contains(expected)),
                "{expected} not in {ignored:?}"
            );
        }
    }

    #[test]
    fn enhanced_annotations_on_an_appliance_are_ignored() {
        let requested = parse(
            &ann(&[(ENHANCED_PLAN, "500"), (ENHANCED_GZIP, "true")]),
            None,
            TrafficPolicy::Cluster,
        )
        .unwrap();
        let Requested::Appliance(o) = requested else {
            panic!("the default type is the appliance");
        };
        assert_eq!(o.ignored.len(), 2, "{:?}", o.ignored);
        assert!(o.ignored[0].why.contains("load-balancer-type enhanced"));
    }
}
