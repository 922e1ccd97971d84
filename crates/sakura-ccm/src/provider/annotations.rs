//! The `k8s.usacloud.jp/*` Service annotations: parsed and validated into
//! [`LoadBalancerOptions`], every problem reported at once.
//!
//! The names and meanings are the original CCM's, so its manifests keep working; its bugs are
//! fixed: booleans are booleans (`"false"` is false), the health-check interval works, the
//! switch-type CIDRs may have any prefix length, and an invalid value is an error that names
//! the annotation, the value and what is accepted (the text goes into a Warning event) instead
//! of being silently ignored. An empty value means "not set", as it did in the original.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::RangeInclusive;

use cloud_provider::provider::ProviderEvent;
use k8s_openapi::api::core::v1::Service;
use sacloud::wire::StringNumber;
use sacloud::{HealthCheck, HealthCheckProtocol};

use super::cidr::Ipv4Cidr;
use super::reasons;
use super::text::{closest, edit_distance, quoted};

/// Prefix of every annotation this provider reads.
pub const PREFIX: &str = "k8s.usacloud.jp/";
/// `internet` (default) or `switch`.
pub const LOAD_BALANCER_TYPE: &str = "k8s.usacloud.jp/load-balancer-type";
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

/// Every annotation this provider reads.
pub const KNOWN: [&str; 12] = [
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

/// kube-proxy's health port: `GET /healthz` there answers 200 while the node proxies traffic.
pub const KUBE_PROXY_HEALTHZ_PORT: u16 = 10256;
/// Default health-check path (kube-proxy's, and the one `healthCheckNodePort` serves).
pub const DEFAULT_HEALTHZ_PATH: &str = "/healthz";
/// Default health-check interval, the API's default `DelayLoop`.
pub const DEFAULT_HEALTHZ_INTERVAL: u32 = 10;
/// Accepted health-check intervals. The API requires `DelayLoop >= 10` and documents no
/// maximum; beyond a minute a dead node keeps receiving traffic for too long.
pub const HEALTHZ_INTERVAL_RANGE: RangeInclusive<u32> = 10..=60;
/// Accepted prefix lengths of the switch-type network: the appliance's netmask, which the API
/// accepts from 8 to 29 (terraform-provider-sakuracloud `netmask`).
pub const NETWORK_PREFIX_RANGE: RangeInclusive<u8> = 8..=29;
/// Longest accepted health-check path.
pub const MAX_HEALTHZ_PATH_LEN: usize = 256;

const BOOL_ACCEPTED: &str =
    "true or false (Go spellings: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False)";

/// Where the appliance's addresses come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadBalancerType {
    /// On the switch of a switch+router tagged `@k8s`, with global addresses from the router.
    Internet,
    /// On a plain switch tagged `@k8s`, with private addresses from the annotations.
    Switch,
}

impl LoadBalancerType {
    /// The annotation value.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadBalancerType::Internet => "internet",
            LoadBalancerType::Switch => "switch",
        }
    }
}

/// The appliance plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Plan ID 1.
    Standard,
    /// Plan ID 2 (the API calls it `highspec`).
    Premium,
}

impl Plan {
    /// The API's plan ID.
    pub fn api_id(self) -> u32 {
        match self {
            Plan::Standard => 1,
            Plan::Premium => 2,
        }
    }
}

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

/// The private network of a switch-type load balancer, from the annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwitchNetwork {
    /// The network (`load-balancer-ip-range`); its prefix is the appliance's netmask.
    pub ip_range: Ipv4Cidr,
    /// The block addresses are allocated from (`load-balancer-assign-ip-range`), inside
    /// `ip_range`.
    pub assign_range: Ipv4Cidr,
    /// The appliance's default gateway, inside `ip_range`.
    pub default_gateway: Option<Ipv4Addr>,
}

/// Where the appliance goes and how its network is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// On a router's switch.
    Internet {
        /// Extra tag the router must carry.
        router_selector: Option<String>,
    },
    /// On a plain switch.
    Switch {
        /// Extra tag the switch must carry.
        switch_selector: Option<String>,
        /// The network to allocate from.
        network: SwitchNetwork,
    },
}

/// Everything the annotations (and `spec.loadBalancerIP`) ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerOptions {
    /// Type and network.
    pub placement: Placement,
    /// A VRRP pair instead of one appliance.
    pub high_availability: bool,
    /// Plan.
    pub plan: Plan,
    /// Health check of the real servers.
    pub health_check: HealthCheckOptions,
    /// `spec.loadBalancerIP`, when set.
    pub requested_vip: Option<Ipv4Addr>,
    /// Annotations present but without effect (unknown, or for the other type): worth a
    /// Warning event, not worth refusing the Service.
    pub ignored: Vec<IgnoredAnnotation>,
}

impl LoadBalancerOptions {
    /// The load-balancer type.
    pub fn load_balancer_type(&self) -> LoadBalancerType {
        match self.placement {
            Placement::Internet { .. } => LoadBalancerType::Internet,
            Placement::Switch { .. } => LoadBalancerType::Switch,
        }
    }

    /// The selector tag for the router or switch, if any.
    pub fn selector(&self) -> Option<&str> {
        match &self.placement {
            Placement::Internet { router_selector } => router_selector.as_deref(),
            Placement::Switch {
                switch_selector, ..
            } => switch_selector.as_deref(),
        }
    }

    /// One Warning event listing the ignored annotations, if any.
    pub fn ignored_event(&self) -> Option<ProviderEvent> {
        if self.ignored.is_empty() {
            return None;
        }
        let parts: Vec<String> = self.ignored.iter().map(ToString::to_string).collect();
        Some(ProviderEvent::warning(
            reasons::IGNORED_ANNOTATION,
            format!("ignored annotations: {}", parts.join("; ")),
        ))
    }
}

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

/// Reads the options from a Service (its annotations, `spec.loadBalancerIP`,
/// `spec.externalTrafficPolicy` and `spec.healthCheckNodePort`).
pub fn parse_service(service: &Service) -> Result<LoadBalancerOptions, Vec<AnnotationError>> {
    let empty = BTreeMap::new();
    let annotations = service.metadata.annotations.as_ref().unwrap_or(&empty);
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
    parse(annotations, load_balancer_ip, traffic)
}

/// Parses and validates the annotations; every problem is reported, not just the first.
pub fn parse(
    annotations: &BTreeMap<String, String>,
    load_balancer_ip: Option<&str>,
    traffic: TrafficPolicy,
) -> Result<LoadBalancerOptions, Vec<AnnotationError>> {
    let mut p = Parser {
        annotations,
        errors: Vec::new(),
        ignored: Vec::new(),
    };
    p.ignore_unknown();

    let lb_type = p.enumerated(
        LOAD_BALANCER_TYPE,
        &[
            ("internet", LoadBalancerType::Internet),
            ("switch", LoadBalancerType::Switch),
        ],
        "internet or switch",
    );
    let high_availability = p.boolean(HIGH_AVAILABILITY).unwrap_or(false);
    let plan = p
        .enumerated(
            PLAN,
            &[("standard", Plan::Standard), ("premium", Plan::Premium)],
            "standard or premium",
        )
        .unwrap_or(Plan::Standard);
    let health_check = p.health_check(traffic);
    let requested_vip = p.load_balancer_ip(load_balancer_ip);

    let placement = match lb_type {
        None => {
            // Which annotations apply is unknown: check the syntax of all of them, so that
            // fixing the type does not reveal a second round of errors.
            p.selector(ROUTER_SELECTOR);
            p.selector(SWITCH_SELECTOR);
            p.cidr(IP_RANGE);
            p.cidr(ASSIGN_IP_RANGE);
            p.ipv4(ASSIGN_DEFAULT_GATEWAY);
            None
        }
        Some(LoadBalancerType::Internet) => {
            for key in [
                SWITCH_SELECTOR,
                IP_RANGE,
                ASSIGN_IP_RANGE,
                ASSIGN_DEFAULT_GATEWAY,
            ] {
                p.ignore_if_set(key, "applies only to load-balancer-type switch");
            }
            p.selector(ROUTER_SELECTOR)
                .map(|router_selector| Placement::Internet { router_selector })
        }
        Some(LoadBalancerType::Switch) => {
            p.ignore_if_set(
                ROUTER_SELECTOR,
                "applies only to load-balancer-type internet",
            );
            let switch_selector = p.selector(SWITCH_SELECTOR);
            let ip_range = p.cidr(IP_RANGE);
            let assign_range = p.cidr(ASSIGN_IP_RANGE);
            let gateway = p.ipv4(ASSIGN_DEFAULT_GATEWAY);
            let network = p.switch_network(ip_range, assign_range, gateway, requested_vip);
            match (switch_selector, network) {
                (Some(switch_selector), Some(network)) => Some(Placement::Switch {
                    switch_selector,
                    network,
                }),
                _ => None,
            }
        }
    };

    match (placement, health_check, requested_vip) {
        (Some(placement), Some(health_check), Some(requested_vip)) if p.errors.is_empty() => {
            Ok(LoadBalancerOptions {
                placement,
                high_availability,
                plan,
                health_check,
                requested_vip,
                ignored: p.ignored,
            })
        }
        _ => {
            debug_assert!(
                !p.errors.is_empty(),
                "every rejected value records an error"
            );
            Err(p.errors)
        }
    }
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
            if KNOWN.contains(&key.as_str()) {
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

    fn health_check(&mut self, traffic: TrafficPolicy) -> Option<HealthCheckOptions> {
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

    fn healthz_path(&mut self) -> Option<Option<String>> {
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

    /// `Some(None)` when absent; `None` when invalid.
    fn selector(&mut self, key: &'static str) -> Option<Option<String>> {
        let Some(v) = self.value(key) else {
            return Some(None);
        };
        if v.chars().any(char::is_whitespace) {
            let v = v.to_owned();
            self.error(
                key,
                Some(&v),
                "a tag cannot contain spaces (the API's tag search splits on them)",
                "one tag, e.g. cluster-a",
            );
            return None;
        }
        Some(Some(v.to_owned()))
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

    fn load_balancer_ip(&mut self, value: Option<&str>) -> Option<Option<Ipv4Addr>> {
        let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Some(None);
        };
        const ACCEPTED: &str = "a unicast IPv4 address from the load balancer's network, or unset to have one allocated";
        let problem = match v.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip))
                if !(ip.is_unspecified()
                    || ip.is_loopback()
                    || ip.is_multicast()
                    || ip.is_broadcast()
                    || ip.is_link_local()) =>
            {
                return Some(Some(ip));
            }
            Ok(IpAddr::V4(_)) => "not a unicast address",
            Ok(IpAddr::V6(_)) => "the SAKURA load balancer has IPv4 virtual IPs only",
            Err(_) => "not an IP address",
        };
        self.error(LOAD_BALANCER_IP_FIELD, Some(v), problem, ACCEPTED);
        None
    }

    fn switch_network(
        &mut self,
        ip_range: Option<Option<Ipv4Cidr>>,
        assign_range: Option<Option<Ipv4Cidr>>,
        gateway: Option<Option<Ipv4Addr>>,
        requested_vip: Option<Option<Ipv4Addr>>,
    ) -> Option<SwitchNetwork> {
        const CIDR_ACCEPTED: &str = "an IPv4 network in CIDR notation, e.g. 192.168.11.0/24";
        if ip_range == Some(None) {
            self.error(
                IP_RANGE,
                None,
                "required with load-balancer-type switch (its prefix is the load balancer's netmask)",
                CIDR_ACCEPTED,
            );
        }
        if assign_range == Some(None) {
            self.error(
                ASSIGN_IP_RANGE,
                None,
                "required with load-balancer-type switch (the load balancer's addresses come from it)",
                CIDR_ACCEPTED,
            );
        }
        let ip_range = ip_range.flatten()?;
        let prefix_ok = NETWORK_PREFIX_RANGE.contains(&ip_range.prefix_len());
        if !prefix_ok {
            let given = self.value(IP_RANGE).map(str::to_owned);
            self.error(
                IP_RANGE,
                given.as_deref(),
                "the prefix length is the appliance's netmask, which the API accepts from /8 to /29",
                "a network from /8 to /29, e.g. 192.168.11.0/24",
            );
        }
        let mut ok = prefix_ok;
        if let Some(Some(assign)) = assign_range
            && !ip_range.contains_cidr(&assign)
        {
            ok = false;
            let given = self.value(ASSIGN_IP_RANGE).map(str::to_owned);
            self.error(
                ASSIGN_IP_RANGE,
                given.as_deref(),
                &format!("not inside {IP_RANGE} {ip_range}"),
                &format!("a block inside {ip_range}"),
            );
        }
        if let Some(Some(gw)) = gateway
            && !ip_range.is_host(gw)
        {
            ok = false;
            let given = self.value(ASSIGN_DEFAULT_GATEWAY).map(str::to_owned);
            self.error(
                ASSIGN_DEFAULT_GATEWAY,
                given.as_deref(),
                &format!("not a host address of {IP_RANGE} {ip_range}"),
                &format!("an address inside {ip_range}"),
            );
        }
        if let Some(Some(vip)) = requested_vip {
            let problem = if !ip_range.is_host(vip) {
                Some(format!("not a host address of {IP_RANGE} {ip_range}"))
            } else if gateway.flatten() == Some(vip) {
                Some("it is the default gateway".to_owned())
            } else {
                None
            };
            if let Some(problem) = problem {
                ok = false;
                self.error(
                    LOAD_BALANCER_IP_FIELD,
                    Some(&vip.to_string()),
                    &problem,
                    &format!("an unused address inside {ip_range}, or unset"),
                );
            }
        }
        let assign_range = assign_range.flatten()?;
        let default_gateway = gateway?;
        ok.then_some(SwitchNetwork {
            ip_range,
            assign_range,
            default_gateway,
        })
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

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn ok(pairs: &[(&str, &str)]) -> LoadBalancerOptions {
        parse(&ann(pairs), None, TrafficPolicy::Cluster)
            .unwrap_or_else(|e| panic!("{pairs:?} rejected: {e:?}"))
    }

    fn errs(pairs: &[(&str, &str)]) -> Vec<AnnotationError> {
        match parse(&ann(pairs), None, TrafficPolicy::Cluster) {
            Ok(o) => panic!("{pairs:?} accepted: {o:?}"),
            Err(e) => e,
        }
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    const SWITCH_OK: [(&str, &str); 4] = [
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
            let got = parse(
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
    fn plans() {
        let cases: &[(&str, Option<Plan>)] = &[
            ("standard", Some(Plan::Standard)),
            ("premium", Some(Plan::Premium)),
            ("Premium", Some(Plan::Premium)),
            ("PREMIUM", Some(Plan::Premium)),
            ("", Some(Plan::Standard)),
            ("highspec", None),
            ("gold", None),
        ];
        for (value, want) in cases {
            let got = parse(&ann(&[(PLAN, value)]), None, TrafficPolicy::Cluster);
            match want {
                Some(p) => assert_eq!(got.map(|o| o.plan), Ok(*p), "{value:?}"),
                None => {
                    let e = got.expect_err(value);
                    assert_eq!(e[0].key, PLAN);
                    assert!(e[0].to_string().contains("standard or premium"), "{e:?}");
                }
            }
        }
        assert_eq!(Plan::Standard.api_id(), 1);
        assert_eq!(Plan::Premium.api_id(), 2);
    }

    #[test]
    fn load_balancer_types() {
        assert_eq!(
            ok(&[(LOAD_BALANCER_TYPE, "internet")]).load_balancer_type(),
            LoadBalancerType::Internet
        );
        assert_eq!(
            ok(&[(LOAD_BALANCER_TYPE, "Internet")]).load_balancer_type(),
            LoadBalancerType::Internet
        );
        assert_eq!(
            ok(&SWITCH_OK).load_balancer_type(),
            LoadBalancerType::Switch
        );
        let e = errs(&[(LOAD_BALANCER_TYPE, "vpc")]);
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0].to_string(),
            "k8s.usacloud.jp/load-balancer-type=\"vpc\": unknown value; accepted: internet or switch"
        );
        assert_eq!(LoadBalancerType::Internet.as_str(), "internet");
        assert_eq!(LoadBalancerType::Switch.as_str(), "switch");
    }

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
            let got = parse(
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
        let parse_with = |pairs: &[(&str, &str)], traffic| parse(&ann(pairs), None, traffic);
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

    #[test]
    fn selectors() {
        assert_eq!(ok(&[(ROUTER_SELECTOR, "prod")]).selector(), Some("prod"));
        assert_eq!(ok(&[(ROUTER_SELECTOR, " prod ")]).selector(), Some("prod"));
        assert_eq!(ok(&[(ROUTER_SELECTOR, "")]).selector(), None);
        let mut with_sel = SWITCH_OK.to_vec();
        with_sel.push((SWITCH_SELECTOR, "@k8s.cluster=a"));
        assert_eq!(ok(&with_sel).selector(), Some("@k8s.cluster=a"));
        let e = errs(&[(ROUTER_SELECTOR, "a b")]);
        assert_eq!(e[0].key, ROUTER_SELECTOR);
        assert!(e[0].problem.contains("spaces"), "{e:?}");
    }

    #[test]
    fn switch_type_network() {
        let o = ok(&SWITCH_OK);
        assert_eq!(
            o.placement,
            Placement::Switch {
                switch_selector: None,
                network: SwitchNetwork {
                    ip_range: cidr("10.240.0.0/16"),
                    assign_range: cidr("10.240.100.0/24"),
                    default_gateway: Some(ip("10.240.0.1")),
                }
            }
        );
        // The gateway is optional; host bits in a CIDR are cleared like Go's ParseCIDR.
        let o = ok(&[
            (LOAD_BALANCER_TYPE, "switch"),
            (IP_RANGE, "192.168.11.7/24"),
            (ASSIGN_IP_RANGE, "192.168.11.200/29"),
        ]);
        let Placement::Switch { network, .. } = o.placement else {
            panic!("not switch")
        };
        assert_eq!(network.ip_range, cidr("192.168.11.0/24"));
        assert_eq!(network.assign_range, cidr("192.168.11.200/29"));
        assert_eq!(network.default_gateway, None);
        // Prefix bounds of the appliance netmask.
        for (range, accepted) in [
            ("10.0.0.0/8", true),
            ("10.0.0.0/29", true),
            ("10.0.0.0/7", false),
            ("10.0.0.0/30", false),
        ] {
            let got = parse(
                &ann(&[
                    (LOAD_BALANCER_TYPE, "switch"),
                    (IP_RANGE, range),
                    (ASSIGN_IP_RANGE, "10.0.0.0/30"),
                ]),
                None,
                TrafficPolicy::Cluster,
            );
            assert_eq!(got.is_ok(), accepted, "{range}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e[0].key, IP_RANGE);
                assert!(e[0].to_string().contains("/8 to /29"), "{}", e[0]);
            }
        }
    }

    #[test]
    fn switch_type_errors_are_all_reported() {
        let e = errs(&[(LOAD_BALANCER_TYPE, "switch")]);
        let keys: Vec<_> = e.iter().map(|e| e.key).collect();
        assert_eq!(keys, vec![IP_RANGE, ASSIGN_IP_RANGE]);
        assert!(e.iter().all(|e| e.value.is_none()));
        assert!(e[0].to_string().contains("is missing"), "{}", e[0]);

        let e = errs(&[
            (LOAD_BALANCER_TYPE, "switch"),
            (IP_RANGE, "10.240.0.0/16"),
            (ASSIGN_IP_RANGE, "10.241.0.0/24"),
            (ASSIGN_DEFAULT_GATEWAY, "10.250.0.1"),
        ]);
        let keys: Vec<_> = e.iter().map(|e| e.key).collect();
        assert_eq!(keys, vec![ASSIGN_IP_RANGE, ASSIGN_DEFAULT_GATEWAY]);
        assert!(e[0].problem.contains("10.240.0.0/16"), "{e:?}");

        let e = errs(&[
            (LOAD_BALANCER_TYPE, "switch"),
            (IP_RANGE, "10.240.0.0/16"),
            (ASSIGN_IP_RANGE, "10.240.100.0"),
            (ASSIGN_DEFAULT_GATEWAY, "10.240.0.256"),
        ]);
        let keys: Vec<_> = e.iter().map(|e| e.key).collect();
        assert_eq!(keys, vec![ASSIGN_IP_RANGE, ASSIGN_DEFAULT_GATEWAY]);
        assert_eq!(
            e[0].problem,
            "missing the /prefix length (write it like 192.168.11.0/24)"
        );
        assert_eq!(e[1].problem, "not an IPv4 address");

        // The gateway must be a host address, not the network's own address.
        let e = errs(&[
            (LOAD_BALANCER_TYPE, "switch"),
            (IP_RANGE, "10.240.0.0/16"),
            (ASSIGN_IP_RANGE, "10.240.100.0/24"),
            (ASSIGN_DEFAULT_GATEWAY, "10.240.0.0"),
        ]);
        assert_eq!(e[0].key, ASSIGN_DEFAULT_GATEWAY);
    }

    #[test]
    fn load_balancer_ip() {
        let cases: &[(&str, Result<Option<&str>, &str>)] = &[
            ("203.0.113.5", Ok(Some("203.0.113.5"))),
            (" 203.0.113.5 ", Ok(Some("203.0.113.5"))),
            ("", Ok(None)),
            ("2001:db8::1", Err("IPv4 virtual IPs only")),
            ("vip", Err("not an IP address")),
            ("203.0.113", Err("not an IP address")),
            ("0.0.0.0", Err("not a unicast address")),
            ("127.0.0.1", Err("not a unicast address")),
            ("224.0.0.5", Err("not a unicast address")),
            ("255.255.255.255", Err("not a unicast address")),
            ("169.254.1.1", Err("not a unicast address")),
        ];
        for (value, want) in cases {
            let got = parse(&ann(&[]), Some(value), TrafficPolicy::Cluster);
            match want {
                Ok(v) => assert_eq!(got.map(|o| o.requested_vip), Ok(v.map(ip)), "{value:?}"),
                Err(problem) => {
                    let e = got.expect_err(value);
                    assert_eq!(e.len(), 1);
                    assert_eq!(e[0].key, LOAD_BALANCER_IP_FIELD);
                    assert!(e[0].problem.contains(problem), "{value:?}: {e:?}");
                    assert!(
                        e[0].to_string().starts_with("spec.loadBalancerIP="),
                        "{}",
                        e[0]
                    );
                }
            }
        }
    }

    #[test]
    fn switch_type_checks_the_requested_vip_against_the_network() {
        let with_vip = |vip: &str| parse(&ann(&SWITCH_OK), Some(vip), TrafficPolicy::Cluster);
        // The original's own example: the VIP may be outside the assign range, inside the
        // network.
        assert_eq!(
            with_vip("10.240.101.1").map(|o| o.requested_vip),
            Ok(Some(ip("10.240.101.1")))
        );
        for (vip, problem) in [
            ("10.241.0.5", "not a host address"),
            ("10.240.255.255", "not a host address"),
            ("10.240.0.1", "default gateway"),
        ] {
            let e = with_vip(vip).expect_err(vip);
            assert_eq!(e.len(), 1, "{vip}: {e:?}");
            assert_eq!(e[0].key, LOAD_BALANCER_IP_FIELD);
            assert!(e[0].problem.contains(problem), "{vip}: {e:?}");
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let e = parse(
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
    fn annotations_of_the_other_type_are_ignored_not_validated() {
        let o = ok(&[
            (SWITCH_SELECTOR, "a b"),
            (IP_RANGE, "bogus"),
            (ASSIGN_DEFAULT_GATEWAY, "nope"),
        ]);
        assert_eq!(o.ignored.len(), 3, "{:?}", o.ignored);
        let mut switch = SWITCH_OK.to_vec();
        switch.push((ROUTER_SELECTOR, "a b"));
        assert_eq!(ok(&switch).ignored.len(), 1);
    }

    #[test]
    fn every_annotation_is_documented() {
        let doc = include_str!("../../../../docs/annotations.md");
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
