//! The load-balancer appliance's settings: its type and network (`load-balancer-type`, the
//! router or switch selector, the switch type's ranges and gateway), the plan, redundancy
//! (`load-balancer-ha`) and the requested VIP (`spec.loadBalancerIP`), with the health check
//! from `health_check`.

use std::net::{IpAddr, Ipv4Addr};
use std::ops::RangeInclusive;

use cloud_provider::provider::ProviderEvent;

use super::health_check::{HealthCheckOptions, TrafficPolicy};
use super::{
    ASSIGN_DEFAULT_GATEWAY, ASSIGN_IP_RANGE, HIGH_AVAILABILITY, IP_RANGE, IgnoredAnnotation,
    LOAD_BALANCER_IP_FIELD, PLAN, Parser, ROUTER_SELECTOR, SWITCH_SELECTOR,
};
use crate::provider::cidr::Ipv4Cidr;
use crate::provider::node_selector::NodeSelector;

/// Accepted prefix lengths of the switch-type network: the appliance's netmask, which the API
/// accepts from 8 to 29 (terraform-provider-sakuracloud `netmask`).
pub const NETWORK_PREFIX_RANGE: RangeInclusive<u8> = 8..=29;

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
    /// Only Nodes with these labels are real servers.
    pub node_selector: Option<NodeSelector>,
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
        super::ignored_event(&self.ignored)
    }
}

impl Parser<'_> {
    /// The appliance's options from the annotations, `spec.loadBalancerIP` and the traffic
    /// policy; `None` when a value is invalid (its error is recorded). Every annotation is read
    /// even after an error, so that all the problems are reported at once. `ignored` is left
    /// empty: [`parse`](super::parse) fills it in.
    pub(super) fn appliance(
        &mut self,
        lb_type: Option<LoadBalancerType>,
        load_balancer_ip: Option<&str>,
        traffic: TrafficPolicy,
        node_selector: Option<Option<NodeSelector>>,
    ) -> Option<LoadBalancerOptions> {
        let high_availability = self.boolean(HIGH_AVAILABILITY).unwrap_or(false);
        let plan = self
            .enumerated(
                PLAN,
                &[("standard", Plan::Standard), ("premium", Plan::Premium)],
                "standard or premium",
            )
            .unwrap_or(Plan::Standard);
        let health_check = self.health_check(traffic);
        let requested_vip = self.load_balancer_ip(load_balancer_ip);

        let placement = match lb_type {
            None => {
                // Which annotations apply is unknown: check the syntax of all of them, so that
                // fixing the type does not reveal a second round of errors.
                self.selector(ROUTER_SELECTOR);
                self.selector(SWITCH_SELECTOR);
                self.cidr(IP_RANGE);
                self.cidr(ASSIGN_IP_RANGE);
                self.ipv4(ASSIGN_DEFAULT_GATEWAY);
                None
            }
            Some(LoadBalancerType::Internet) => {
                for key in [
                    SWITCH_SELECTOR,
                    IP_RANGE,
                    ASSIGN_IP_RANGE,
                    ASSIGN_DEFAULT_GATEWAY,
                ] {
                    self.ignore_if_set(key, "applies only to load-balancer-type switch");
                }
                self.selector(ROUTER_SELECTOR)
                    .map(|router_selector| Placement::Internet { router_selector })
            }
            Some(LoadBalancerType::Switch) => {
                self.ignore_if_set(
                    ROUTER_SELECTOR,
                    "applies only to load-balancer-type internet",
                );
                let switch_selector = self.selector(SWITCH_SELECTOR);
                let ip_range = self.cidr(IP_RANGE);
                let assign_range = self.cidr(ASSIGN_IP_RANGE);
                let gateway = self.ipv4(ASSIGN_DEFAULT_GATEWAY);
                let network = self.switch_network(ip_range, assign_range, gateway, requested_vip);
                match (switch_selector, network) {
                    (Some(switch_selector), Some(network)) => Some(Placement::Switch {
                        switch_selector,
                        network,
                    }),
                    _ => None,
                }
            }
        };

        let (Some(placement), Some(health_check), Some(requested_vip), Some(node_selector)) =
            (placement, health_check, requested_vip, node_selector)
        else {
            return None;
        };
        Some(LoadBalancerOptions {
            placement,
            high_availability,
            plan,
            health_check,
            requested_vip,
            node_selector,
            ignored: Vec::new(),
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::annotations::LOAD_BALANCER_TYPE;
    use crate::provider::annotations::tests::{SWITCH_OK, ann, cidr, errs, ip, ok};
    use crate::provider::annotations::{TrafficPolicy, parse_appliance};

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
            let got = parse_appliance(&ann(&[(PLAN, value)]), None, TrafficPolicy::Cluster);
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
            "k8s.usacloud.jp/load-balancer-type=\"vpc\": unknown value; accepted: internet, switch or enhanced"
        );
        assert_eq!(LoadBalancerType::Internet.as_str(), "internet");
        assert_eq!(LoadBalancerType::Switch.as_str(), "switch");
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
            let got = parse_appliance(
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
            let got = parse_appliance(&ann(&[]), Some(value), TrafficPolicy::Cluster);
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
        let with_vip =
            |vip: &str| parse_appliance(&ann(&SWITCH_OK), Some(vip), TrafficPolicy::Cluster);
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
}
