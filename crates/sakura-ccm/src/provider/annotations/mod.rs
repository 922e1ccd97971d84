//! The `k8s.usacloud.jp/*` Service annotations: parsed and validated into
//! [`LoadBalancerOptions`], every problem reported at once.
//!
//! The names and meanings are the original CCM's, so its manifests keep working; its bugs are
//! fixed: booleans are booleans (`"false"` is false), the health-check interval works, the
//! switch-type CIDRs may have any prefix length, and an invalid value is an error that names
//! the annotation, the value and what is accepted (the text goes into a Warning event) instead
//! of being silently ignored. An empty value means "not set", as it did in the original.
//!
//! This file holds what every kind of load balancer shares: the annotation names, the entry
//! points ([`parse_service`], [`parse`]), the error and ignored-annotation types, and the
//! parsing helpers (booleans, choices, numbers, addresses, unknown annotations). The settings
//! themselves are one file per concern, re-exported here: `appliance` (the load-balancer
//! appliance: type and network, router or switch selection, plan, redundancy, VIP),
//! `health_check` (the appliance's health check of the real servers) and `enhanced` (the
//! Enhanced Load Balancer's settings and health check). `node-selector` applies to both.
//!
//! Cluster-wide defaults (see [`defaults`]) are annotation values too: a Service's own
//! annotation wins over the default, and both are validated the same way.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use cloud_provider::provider::ProviderEvent;
use k8s_openapi::api::core::v1::Service;

use super::cidr::Ipv4Cidr;
use super::reasons;
use super::text::{closest, edit_distance, quoted};

mod appliance;
pub mod defaults;
mod enhanced;
mod health_check;

pub use appliance::{
    LoadBalancerOptions, LoadBalancerType, NETWORK_PREFIX_RANGE, Placement, Plan, SwitchNetwork,
};
pub use enhanced::{
    CertificateSource, DEFAULT_ENHANCED_HEALTHZ_PATH, DEFAULT_ENHANCED_TIMEOUT,
    EnhancedHealthCheck, EnhancedOptions, PortRef,
};
pub use health_check::{
    DEFAULT_HEALTHZ_INTERVAL, DEFAULT_HEALTHZ_PATH, HEALTHZ_INTERVAL_RANGE, HealthCheckOptions,
    HealthProtocol, KUBE_PROXY_HEALTHZ_PORT, MAX_HEALTHZ_PATH_LEN, TrafficPolicy,
};

/// Prefix of every annotation this provider reads.
pub const PREFIX: &str = "k8s.usacloud.jp/";
/// `internet` (default), `switch` or `enhanced`.
pub const LOAD_BALANCER_TYPE: &str = "k8s.usacloud.jp/load-balancer-type";
/// A label selector: only matching Nodes are real servers (every type).
pub const NODE_SELECTOR: &str = "k8s.usacloud.jp/node-selector";
/// Enhanced LB: proxy mode per port, `80=http,443=https` (default `tcp`).
pub const ENHANCED_PORT_MODES: &str = "k8s.usacloud.jp/enhanced-lb-port-modes";
/// Enhanced LB: plan in connections per second (default 100).
pub const ENHANCED_PLAN: &str = "k8s.usacloud.jp/enhanced-lb-plan";
/// Enhanced LB: `is1` (default), `tk1` or `anycast`; fixed at creation.
pub const ENHANCED_REGION: &str = "k8s.usacloud.jp/enhanced-lb-region";
/// Enhanced LB: a boolean, VIP failover (gives an FQDN); fixed at creation.
pub const ENHANCED_VIP_FAILOVER: &str = "k8s.usacloud.jp/enhanced-lb-vip-failover";
/// Enhanced LB: a boolean, `http` ports redirect to HTTPS.
pub const ENHANCED_REDIRECT_TO_HTTPS: &str = "k8s.usacloud.jp/enhanced-lb-redirect-to-https";
/// Enhanced LB: a boolean, HTTP/2 on `https` ports.
pub const ENHANCED_HTTP2: &str = "k8s.usacloud.jp/enhanced-lb-http2";
/// Enhanced LB: TLS policy of `https` ports.
pub const ENHANCED_SSL_POLICY: &str = "k8s.usacloud.jp/enhanced-lb-ssl-policy";
/// Enhanced LB: a boolean, sticky sessions (cookie).
pub const ENHANCED_STICKY_SESSION: &str = "k8s.usacloud.jp/enhanced-lb-sticky-session";
/// Enhanced LB: a boolean, gzip compression.
pub const ENHANCED_GZIP: &str = "k8s.usacloud.jp/enhanced-lb-gzip";
/// Enhanced LB: idle timeout in seconds (10–600, default 10).
pub const ENHANCED_TIMEOUT: &str = "k8s.usacloud.jp/enhanced-lb-timeout";
/// Enhanced LB: a boolean, PROXY protocol v2 to the real servers.
pub const ENHANCED_PROXY_PROTOCOL: &str = "k8s.usacloud.jp/enhanced-lb-proxy-protocol";
/// Enhanced LB: Let's Encrypt certificate names, `<common name>[,<alt name>...]`.
pub const ENHANCED_LETS_ENCRYPT: &str = "k8s.usacloud.jp/enhanced-lb-lets-encrypt";
/// Enhanced LB: name of a `kubernetes.io/tls` Secret in the Service's namespace.
pub const ENHANCED_CERTIFICATE_SECRET: &str = "k8s.usacloud.jp/enhanced-lb-certificate-secret";
/// Written by this CCM: the networks the Enhanced LB reaches the nodes from.
pub const ENHANCED_SOURCE_NETWORKS: &str = "k8s.usacloud.jp/enhanced-lb-source-networks";
/// A boolean: a redundant (VRRP pair) appliance.
pub const HIGH_AVAILABILITY: &str = "k8s.usacloud.jp/load-balancer-ha";
/// `standard` (default) or `premium`.
pub const PLAN: &str = "k8s.usacloud.jp/load-balancer-plan";
/// Health-check interval in whole seconds.
pub const HEALTHZ_INTERVAL: &str = "k8s.usacloud.jp/load-balancer-healthz-interval";
/// Health-check protocol: `http`, `https`, `tcp` or `ping` (new in this CCM).
pub const HEALTHZ_PROTOCOL: &str = "k8s.usacloud.jp/load-balancer-healthz-protocol";
/// Health-check path for http/https (new in this CCM).
pub const HEALTHZ_PATH: &str = "k8s.usacloud.jp/load-balancer-healthz-path";
/// Health-check port (new in this CCM).
pub const HEALTHZ_PORT: &str = "k8s.usacloud.jp/load-balancer-healthz-port";
/// An extra tag the router must carry besides `@k8s` (type `internet`).
pub const ROUTER_SELECTOR: &str = "k8s.usacloud.jp/router-selector";
/// An extra tag the switch must carry besides `@k8s` (type `switch`).
pub const SWITCH_SELECTOR: &str = "k8s.usacloud.jp/switch-selector";
/// Type `switch`: the network (CIDR) the appliance sits in; its prefix is the netmask.
pub const IP_RANGE: &str = "k8s.usacloud.jp/load-balancer-ip-range";
/// Type `switch`: the block (CIDR) the appliance's addresses and VIP are taken from.
pub const ASSIGN_IP_RANGE: &str = "k8s.usacloud.jp/load-balancer-assign-ip-range";
/// Type `switch`: the appliance's default gateway.
pub const ASSIGN_DEFAULT_GATEWAY: &str = "k8s.usacloud.jp/load-balancer-assign-default-gateway";
/// The Service field holding the requested VIP.
pub const LOAD_BALANCER_IP_FIELD: &str = "spec.loadBalancerIP";
/// The Service field holding the health-check node port of `externalTrafficPolicy: Local`.
pub const HEALTH_CHECK_NODE_PORT_FIELD: &str = "spec.healthCheckNodePort";

/// Annotations only the load-balancer appliance reads.
pub const APPLIANCE_ONLY: &[&str] = &[
    HIGH_AVAILABILITY,
    PLAN,
    ROUTER_SELECTOR,
    SWITCH_SELECTOR,
    IP_RANGE,
    ASSIGN_IP_RANGE,
    ASSIGN_DEFAULT_GATEWAY,
];

/// Annotations only the Enhanced Load Balancer reads.
pub const ENHANCED_ONLY: &[&str] = &[
    ENHANCED_PORT_MODES,
    ENHANCED_PLAN,
    ENHANCED_REGION,
    ENHANCED_VIP_FAILOVER,
    ENHANCED_REDIRECT_TO_HTTPS,
    ENHANCED_HTTP2,
    ENHANCED_SSL_POLICY,
    ENHANCED_STICKY_SESSION,
    ENHANCED_GZIP,
    ENHANCED_TIMEOUT,
    ENHANCED_PROXY_PROTOCOL,
    ENHANCED_LETS_ENCRYPT,
    ENHANCED_CERTIFICATE_SECRET,
];

/// Annotations this provider writes on Services (never reported as unknown).
pub const WRITTEN: &[&str] = &[ENHANCED_SOURCE_NETWORKS];

/// Every annotation this provider reads.
pub const KNOWN: &[&str] = &[
    NODE_SELECTOR,
    ENHANCED_PORT_MODES,
    ENHANCED_PLAN,
    ENHANCED_REGION,
    ENHANCED_VIP_FAILOVER,
    ENHANCED_REDIRECT_TO_HTTPS,
    ENHANCED_HTTP2,
    ENHANCED_SSL_POLICY,
    ENHANCED_STICKY_SESSION,
    ENHANCED_GZIP,
    ENHANCED_TIMEOUT,
    ENHANCED_PROXY_PROTOCOL,
    ENHANCED_LETS_ENCRYPT,
    ENHANCED_CERTIFICATE_SECRET,
    LOAD_BALANCER_TYPE,
    HIGH_AVAILABILITY,
    PLAN,
    HEALTHZ_INTERVAL,
    HEALTHZ_PROTOCOL,
    HEALTHZ_PATH,
    HEALTHZ_PORT,
    ROUTER_SELECTOR,
    SWITCH_SELECTOR,
    IP_RANGE,
    ASSIGN_IP_RANGE,
    ASSIGN_DEFAULT_GATEWAY,
];

const BOOL_ACCEPTED: &str =
    "true or false (Go spellings: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False)";

/// An annotation that was present but had no effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredAnnotation {
    /// The annotation.
    pub key: String,
    /// Why it has no effect.
    pub why: String,
}

impl fmt::Display for IgnoredAnnotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.key, self.why)
    }
}

/// One invalid annotation (or Service field). Its text names the annotation, the value and
/// what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct AnnotationError {
    /// The annotation, or the Service field (`spec.loadBalancerIP`).
    pub key: &'static str,
    /// The value given; `None` when a required value is missing.
    pub value: Option<String>,
    /// What is wrong with it.
    pub problem: String,
    /// What would be accepted.
    pub accepted: String,
}

impl AnnotationError {
    fn describe(&self) -> String {
        match &self.value {
            Some(v) => format!(
                "{}={}: {}; accepted: {}",
                self.key,
                quoted(v),
                self.problem,
                self.accepted
            ),
            None => format!(
                "{} is missing: {}; accepted: {}",
                self.key, self.problem, self.accepted
            ),
        }
    }
}

/// One Warning event for all the errors (the Service stays pending until they are fixed).
pub fn errors_event(errors: &[AnnotationError]) -> ProviderEvent {
    let parts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    ProviderEvent::warning(
        reasons::INVALID_ANNOTATION,
        format!(
            "the load balancer is left unchanged until {} fixed: {}",
            if errors.len() == 1 {
                "this is"
            } else {
                "these are"
            },
            parts.join("; ")
        ),
    )
}

/// One Warning event listing the ignored annotations, if any.
fn ignored_event(ignored: &[IgnoredAnnotation]) -> Option<ProviderEvent> {
    if ignored.is_empty() {
        return None;
    }
    let parts: Vec<String> = ignored.iter().map(ToString::to_string).collect();
    Some(ProviderEvent::warning(
        reasons::IGNORED_ANNOTATION,
        format!("ignored annotations: {}", parts.join("; ")),
    ))
}

/// What a Service asks for: a load-balancer appliance or an Enhanced Load Balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// `load-balancer-type` `internet` or `switch`.
    Appliance(LoadBalancerOptions),
    /// `load-balancer-type: enhanced`.
    Enhanced(EnhancedOptions),
}

impl Requested {
    /// One Warning event listing the ignored annotations, if any.
    pub fn ignored_event(&self) -> Option<ProviderEvent> {
        match self {
            Requested::Appliance(o) => o.ignored_event(),
            Requested::Enhanced(o) => ignored_event(&o.ignored),
        }
    }

    /// The `node-selector`, if any.
    pub fn node_selector(&self) -> Option<&crate::provider::node_selector::NodeSelector> {
        match self {
            Requested::Appliance(o) => o.node_selector.as_ref(),
            Requested::Enhanced(o) => o.node_selector.as_ref(),
        }
    }

    /// Keeps only the ignored annotations whose key satisfies `keep`.
    fn retain_ignored(&mut self, keep: impl Fn(&str) -> bool) {
        let ignored = match self {
            Requested::Appliance(o) => &mut o.ignored,
            Requested::Enhanced(o) => &mut o.ignored,
        };
        ignored.retain(|i| keep(&i.key));
    }

    /// The annotation value of the type.
    pub fn type_name(&self) -> &'static str {
        match self {
            Requested::Appliance(o) => o.load_balancer_type().as_str(),
            Requested::Enhanced(_) => "enhanced",
        }
    }
}

/// Reads the options from a Service (its annotations, `spec.loadBalancerIP`,
/// `spec.externalTrafficPolicy` and `spec.healthCheckNodePort`), without cluster defaults.
pub fn parse_service(service: &Service) -> Result<Requested, Vec<AnnotationError>> {
    parse_service_with_defaults(service, &BTreeMap::new())
}

/// [`parse_service`] with cluster-wide defaults (annotation → value); the Service's own
/// annotations win.
pub fn parse_service_with_defaults(
    service: &Service,
    defaults: &BTreeMap<String, String>,
) -> Result<Requested, Vec<AnnotationError>> {
    let mut annotations = defaults.clone();
    if let Some(own) = service.metadata.annotations.as_ref() {
        annotations.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let annotations = &annotations;
    let spec = service.spec.as_ref();
    let load_balancer_ip = spec.and_then(|s| s.load_balancer_ip.as_deref());
    let traffic = match spec.and_then(|s| s.external_traffic_policy.as_deref()) {
        Some("Local") => TrafficPolicy::Local {
            health_check_node_port: spec
                .and_then(|s| s.health_check_node_port)
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p != 0),
        },
        _ => TrafficPolicy::Cluster,
    };
    let own = service.metadata.annotations.as_ref();
    let mut requested = parse(annotations, load_balancer_ip, traffic)?;
    // A default that does not apply to this Service's type is not the Service's doing.
    requested.retain_ignored(|key| {
        own.is_some_and(|own| own.contains_key(key)) || !defaults.contains_key(key)
    });
    Ok(requested)
}

/// [`parse`] for a Service that must ask for an appliance (tests of the appliance's options).
#[cfg(test)]
pub(crate) fn parse_appliance(
    annotations: &BTreeMap<String, String>,
    load_balancer_ip: Option<&str>,
    traffic: TrafficPolicy,
) -> Result<LoadBalancerOptions, Vec<AnnotationError>> {
    parse(annotations, load_balancer_ip, traffic).map(|r| match r {
        Requested::Appliance(o) => o,
        Requested::Enhanced(o) => panic!("an Enhanced LB, not an appliance: {o:?}"),
    })
}

/// The value of `load-balancer-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeChoice {
    Appliance(LoadBalancerType),
    Enhanced,
}

/// Parses and validates the annotations; every problem is reported, not just the first.
pub fn parse(
    annotations: &BTreeMap<String, String>,
    load_balancer_ip: Option<&str>,
    traffic: TrafficPolicy,
) -> Result<Requested, Vec<AnnotationError>> {
    let mut p = Parser {
        annotations,
        errors: Vec::new(),
        ignored: Vec::new(),
    };
    p.ignore_unknown();

    let choice = p.enumerated(
        LOAD_BALANCER_TYPE,
        &[
            (
                "internet",
                TypeChoice::Appliance(LoadBalancerType::Internet),
            ),
            ("switch", TypeChoice::Appliance(LoadBalancerType::Switch)),
            ("enhanced", TypeChoice::Enhanced),
        ],
        "internet, switch or enhanced",
    );
    let node_selector = p.node_selector();
    let requested = match choice {
        Some(TypeChoice::Enhanced) => {
            for key in APPLIANCE_ONLY {
                p.ignore_if_set(key, "applies only to the load-balancer appliance (load-balancer-type internet or switch)");
            }
            if load_balancer_ip.is_some_and(|ip| !ip.trim().is_empty()) {
                p.ignored.push(IgnoredAnnotation {
                    key: LOAD_BALANCER_IP_FIELD.to_owned(),
                    why: "the Enhanced Load Balancer's VIP is assigned by SAKURA Cloud".to_owned(),
                });
            }
            p.enhanced(traffic, node_selector).map(Requested::Enhanced)
        }
        Some(TypeChoice::Appliance(lb_type)) => {
            for key in ENHANCED_ONLY {
                p.ignore_if_set(key, "applies only to load-balancer-type enhanced");
            }
            p.appliance(Some(lb_type), load_balancer_ip, traffic, node_selector)
                .map(Requested::Appliance)
        }
        None => {
            // Which annotations apply is unknown: check the syntax of all of them, so that
            // fixing the type does not reveal a second round of errors.
            p.appliance(None, load_balancer_ip, traffic, node_selector.clone());
            p.enhanced(traffic, node_selector);
            None
        }
    };
    let (requested, ignored) = p.finish(requested)?;
    Ok(match requested {
        Requested::Appliance(o) => Requested::Appliance(LoadBalancerOptions { ignored, ..o }),
        Requested::Enhanced(o) => Requested::Enhanced(EnhancedOptions { ignored, ..o }),
    })
}

struct Parser<'a> {
    annotations: &'a BTreeMap<String, String>,
    errors: Vec<AnnotationError>,
    ignored: Vec<IgnoredAnnotation>,
}

impl Parser<'_> {
    /// The trimmed value; `None` when absent or empty.
    fn value(&self, key: &str) -> Option<&str> {
        self.annotations
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn error(&mut self, key: &'static str, value: Option<&str>, problem: &str, accepted: &str) {
        self.errors.push(AnnotationError {
            key,
            value: value.map(str::to_owned),
            problem: problem.to_owned(),
            accepted: accepted.to_owned(),
        });
    }

    fn ignore_if_set(&mut self, key: &str, why: &str) {
        if self.value(key).is_some() {
            self.ignored.push(IgnoredAnnotation {
                key: key.to_owned(),
                why: why.to_owned(),
            });
        }
    }

    fn ignore_unknown(&mut self) {
        for key in self.annotations.keys() {
            let Some(rest) = key.strip_prefix(PREFIX) else {
                continue;
            };
            if KNOWN.contains(&key.as_str()) || WRITTEN.contains(&key.as_str()) {
                continue;
            }
            let suggestion = closest(rest, KNOWN.iter().map(|k| &k[PREFIX.len()..]), 1)
                .into_iter()
                .find(|s| edit_distance(rest, s) <= 4);
            let why = match suggestion {
                Some(s) => format!("unknown annotation; did you mean {PREFIX}{s}?"),
                None => "unknown annotation".to_owned(),
            };
            self.ignored.push(IgnoredAnnotation {
                key: key.clone(),
                why,
            });
        }
    }

    /// The choice the value names (ASCII case-insensitively); the first choice, the default,
    /// when absent; `None` (with an error) for anything else.
    fn enumerated<T: Copy>(
        &mut self,
        key: &'static str,
        choices: &[(&str, T)],
        accepted: &str,
    ) -> Option<T> {
        let Some(v) = self.value(key) else {
            return choices.first().map(|c| c.1);
        };
        if let Some((_, t)) = choices.iter().find(|(s, _)| s.eq_ignore_ascii_case(v)) {
            return Some(*t);
        }
        let v = v.to_owned();
        self.error(key, Some(&v), "unknown value", accepted);
        None
    }

    fn boolean(&mut self, key: &'static str) -> Option<bool> {
        let v = self.value(key)?;
        match parse_go_bool(v) {
            Some(b) => Some(b),
            None => {
                let v = v.to_owned();
                self.error(key, Some(&v), "not a boolean", BOOL_ACCEPTED);
                None
            }
        }
    }

    /// `Some(None)` when absent; `None` when invalid.
    fn number(
        &mut self,
        key: &'static str,
        range: RangeInclusive<u32>,
        unit: &str,
    ) -> Option<Option<u32>> {
        let Some(v) = self.value(key) else {
            return Some(None);
        };
        let accepted = format!(
            "a whole number of {unit} from {} to {}",
            range.start(),
            range.end()
        );
        let v = v.to_owned();
        if v.is_empty() || !v.chars().all(|c| c.is_ascii_digit()) {
            self.error(key, Some(&v), "not a whole number", &accepted);
            return None;
        }
        // All digits: a parse failure can only be an overflow, i.e. out of range too.
        match v.parse::<u64>().ok().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if range.contains(&n) => Some(Some(n)),
            _ => {
                self.error(key, Some(&v), "out of range", &accepted);
                None
            }
        }
    }

    fn cidr(&mut self, key: &'static str) -> Option<Option<Ipv4Cidr>> {
        let Some(v) = self.value(key) else {
            return Some(None);
        };
        match v.parse::<Ipv4Cidr>() {
            Ok(c) => Some(Some(c)),
            Err(e) => {
                let v = v.to_owned();
                self.error(
                    key,
                    Some(&v),
                    &e.to_string(),
                    "an IPv4 network in CIDR notation, e.g. 192.168.11.0/24",
                );
                None
            }
        }
    }

    fn ipv4(&mut self, key: &'static str) -> Option<Option<Ipv4Addr>> {
        let Some(v) = self.value(key) else {
            return Some(None);
        };
        match v.parse::<Ipv4Addr>() {
            Ok(ip) => Some(Some(ip)),
            Err(_) => {
                let v = v.to_owned();
                self.error(
                    key,
                    Some(&v),
                    "not an IPv4 address",
                    "an IPv4 address, e.g. 192.168.11.1",
                );
                None
            }
        }
    }

    /// `Some(None)` when absent; `None` when invalid.
    fn node_selector(&mut self) -> Option<Option<crate::provider::node_selector::NodeSelector>> {
        let Some(v) = self.value(NODE_SELECTOR).map(str::to_owned) else {
            return Some(None);
        };
        match crate::provider::node_selector::NodeSelector::parse(&v) {
            Ok(selector) => Some(Some(selector)),
            Err(problem) => {
                self.error(
                    NODE_SELECTOR,
                    Some(&v),
                    &problem,
                    "a label selector as kubectl -l takes it, e.g. role=edge or node-role.kubernetes.io/worker,zone in (is1a,is1b)",
                );
                None
            }
        }
    }

    /// What was parsed and the ignored annotations, or every error recorded. `parsed` is `None`
    /// only when an error was recorded.
    fn finish<T>(
        self,
        parsed: Option<T>,
    ) -> Result<(T, Vec<IgnoredAnnotation>), Vec<AnnotationError>> {
        match parsed {
            Some(parsed) if self.errors.is_empty() => Ok((parsed, self.ignored)),
            _ => {
                debug_assert!(
                    !self.errors.is_empty(),
                    "every rejected value records an error"
                );
                Err(self.errors)
            }
        }
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ServiceSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    pub(super) fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    pub(super) fn ok(pairs: &[(&str, &str)]) -> LoadBalancerOptions {
        match parse(&ann(pairs), None, TrafficPolicy::Cluster) {
            Ok(Requested::Appliance(o)) => o,
            Ok(other) => panic!("{pairs:?} is not an appliance: {other:?}"),
            Err(e) => panic!("{pairs:?} rejected: {e:?}"),
        }
    }

    pub(super) fn errs(pairs: &[(&str, &str)]) -> Vec<AnnotationError> {
        match parse(&ann(pairs), None, TrafficPolicy::Cluster) {
            Ok(o) => panic!("{pairs:?} accepted: {o:?}"),
            Err(e) => e,
        }
    }

    pub(super) fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    pub(super) fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    pub(super) const SWITCH_OK: [(&str, &str); 4] = [
        (LOAD_BALANCER_TYPE, "switch"),
        (IP_RANGE, "10.240.0.0/16"),
        (ASSIGN_IP_RANGE, "10.240.100.0/24"),
        (ASSIGN_DEFAULT_GATEWAY, "10.240.0.1"),
    ];

    #[test]
    fn no_annotations_gives_the_defaults() {
        let o = ok(&[]);
        assert_eq!(
            o,
            LoadBalancerOptions {
                placement: Placement::Internet {
                    router_selector: None
                },
                high_availability: false,
                plan: Plan::Standard,
                health_check: HealthCheckOptions {
                    protocol: HealthProtocol::Http,
                    path: "/healthz".into(),
                    port: 10256,
                    interval_secs: 10,
                },
                requested_vip: None,
                node_selector: None,
                ignored: vec![],
            }
        );
        assert_eq!(o.load_balancer_type(), LoadBalancerType::Internet);
        assert_eq!(o.selector(), None);
        assert_eq!(o.ignored_event(), None);
    }

    #[test]
    fn booleans_are_go_parse_bool() {
        let cases: &[(&str, Option<bool>)] = &[
            ("1", Some(true)),
            ("t", Some(true)),
            ("T", Some(true)),
            ("TRUE", Some(true)),
            ("true", Some(true)),
            ("True", Some(true)),
            (" true ", Some(true)),
            ("0", Some(false)),
            ("f", Some(false)),
            ("F", Some(false)),
            ("FALSE", Some(false)),
            ("false", Some(false)),
            ("False", Some(false)),
            ("", Some(false)),
            ("   ", Some(false)),
            ("yes", None),
            ("no", None),
            ("on", None),
            ("2", None),
            ("tRUE", None),
            ("enabled", None),
        ];
        for (value, want) in cases {
            let got = parse_appliance(
                &ann(&[(HIGH_AVAILABILITY, value)]),
                None,
                TrafficPolicy::Cluster,
            );
            match want {
                Some(b) => assert_eq!(got.map(|o| o.high_availability), Ok(*b), "{value:?}"),
                None => {
                    let e = got.expect_err(value);
                    assert_eq!(e.len(), 1, "{value:?}: {e:?}");
                    assert_eq!(e[0].key, HIGH_AVAILABILITY);
                    let text = e[0].to_string();
                    assert!(text.contains(HIGH_AVAILABILITY), "{text}");
                    assert!(text.contains(&format!("{:?}", value.trim())), "{text}");
                    assert!(text.contains("true or false"), "{text}");
                }
            }
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let e = parse_appliance(
            &ann(&[
                (HIGH_AVAILABILITY, "yes"),
                (PLAN, "gold"),
                (HEALTHZ_INTERVAL, "5"),
                (HEALTHZ_PROTOCOL, "udp"),
                (HEALTHZ_PORT, "0"),
                (HEALTHZ_PATH, "x"),
                (ROUTER_SELECTOR, "a b"),
            ]),
            Some("not-an-ip"),
            TrafficPolicy::Cluster,
        )
        .unwrap_err();
        let mut keys: Vec<_> = e.iter().map(|e| e.key).collect();
        keys.sort_unstable();
        let mut want = vec![
            HIGH_AVAILABILITY,
            PLAN,
            HEALTHZ_INTERVAL,
            HEALTHZ_PROTOCOL,
            HEALTHZ_PORT,
            HEALTHZ_PATH,
            ROUTER_SELECTOR,
            LOAD_BALANCER_IP_FIELD,
        ];
        want.sort_unstable();
        assert_eq!(keys, want);
        let event = errors_event(&e);
        assert!(event.warning);
        assert_eq!(event.reason, reasons::INVALID_ANNOTATION);
        for err in &e {
            assert!(
                event.message.contains(&err.to_string()),
                "{}",
                event.message
            );
        }
        assert!(
            event.message.contains("these are fixed"),
            "{}",
            event.message
        );
        assert!(errors_event(&e[..1]).message.contains("this is fixed"));
    }

    #[test]
    fn an_invalid_type_still_reports_the_other_problems() {
        let e = errs(&[
            (LOAD_BALANCER_TYPE, "vpc"),
            (IP_RANGE, "bogus"),
            (HIGH_AVAILABILITY, "maybe"),
        ]);
        let keys: Vec<_> = e.iter().map(|e| e.key).collect();
        assert_eq!(keys, vec![LOAD_BALANCER_TYPE, HIGH_AVAILABILITY, IP_RANGE]);
    }

    #[test]
    fn ignored_annotations() {
        let o = ok(&[
            (SWITCH_SELECTOR, "x"),
            (IP_RANGE, "10.0.0.0/24"),
            ("k8s.usacloud.jp/load-balancer-plans", "premium"),
            ("k8s.usacloud.jp/something-else-entirely", "1"),
            ("other.example.com/annotation", "kept out"),
            (HEALTHZ_PROTOCOL, "tcp"),
            (HEALTHZ_PATH, "/healthz"),
        ]);
        let ignored: Vec<(String, String)> = o
            .ignored
            .iter()
            .map(|i| (i.key.clone(), i.why.clone()))
            .collect();
        assert_eq!(
            ignored,
            vec![
                (
                    "k8s.usacloud.jp/load-balancer-plans".into(),
                    "unknown annotation; did you mean k8s.usacloud.jp/load-balancer-plan?".into()
                ),
                (
                    "k8s.usacloud.jp/something-else-entirely".into(),
                    "unknown annotation".into()
                ),
                (
                    HEALTHZ_PATH.into(),
                    "used only with healthz-protocol http or https".into()
                ),
                (
                    SWITCH_SELECTOR.into(),
                    "applies only to load-balancer-type switch".into()
                ),
                (
                    IP_RANGE.into(),
                    "applies only to load-balancer-type switch".into()
                ),
            ]
        );
        let event = o.ignored_event().unwrap();
        assert!(event.warning);
        assert_eq!(event.reason, reasons::IGNORED_ANNOTATION);
        assert!(
            event.message.contains("load-balancer-plans"),
            "{}",
            event.message
        );

        let mut switch = SWITCH_OK.to_vec();
        switch.push((ROUTER_SELECTOR, "x"));
        switch.push((HEALTHZ_PROTOCOL, "ping"));
        switch.push((HEALTHZ_PORT, "80"));
        let ignored: Vec<String> = ok(&switch).ignored.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            ignored,
            vec![
                format!("{HEALTHZ_PORT} (ping has no port)"),
                format!("{ROUTER_SELECTOR} (applies only to load-balancer-type internet)"),
            ]
        );
    }

    #[test]
    fn every_annotation_is_documented() {
        let doc = include_str!("../../../../../docs/annotations.md");
        for key in KNOWN {
            let short = &key[PREFIX.len()..];
            assert!(
                doc.contains(&format!("| `{short}` |")),
                "{key} missing from the doc"
            );
        }
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "z".repeat(500);
        let e = errs(&[(PLAN, &long)]);
        assert!(e[0].to_string().len() < 200, "{}", e[0]);
    }

    #[test]
    fn parse_service_reads_the_spec() {
        let service = |annotations: Option<BTreeMap<String, String>>, spec: ServiceSpec| Service {
            metadata: ObjectMeta {
                annotations,
                ..ObjectMeta::default()
            },
            spec: Some(spec),
            ..Service::default()
        };
        let o = parse_service(&service(
            Some(ann(&[(HIGH_AVAILABILITY, "true")])),
            ServiceSpec {
                load_balancer_ip: Some("203.0.113.9".into()),
                external_traffic_policy: Some("Local".into()),
                health_check_node_port: Some(32000),
                ..ServiceSpec::default()
            },
        ))
        .unwrap();
        let Requested::Appliance(o) = o else {
            panic!("an appliance")
        };
        assert!(o.high_availability);
        assert_eq!(o.requested_vip, Some(ip("203.0.113.9")));
        assert_eq!(o.health_check.port, 32000);

        let o = parse_service(&service(
            None,
            ServiceSpec {
                external_traffic_policy: Some("Cluster".into()),
                health_check_node_port: Some(32000),
                ..ServiceSpec::default()
            },
        ))
        .unwrap();
        let Requested::Appliance(o) = o else {
            panic!("an appliance")
        };
        assert_eq!(o.health_check.port, 10256);

        let e = parse_service(&service(
            None,
            ServiceSpec {
                external_traffic_policy: Some("Local".into()),
                health_check_node_port: Some(0),
                ..ServiceSpec::default()
            },
        ))
        .unwrap_err();
        assert_eq!(e[0].key, HEALTH_CHECK_NODE_PORT_FIELD);

        assert!(parse_service(&Service::default()).is_ok());
    }
}
