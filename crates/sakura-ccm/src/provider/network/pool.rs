//! The addresses a load balancer may take, and those already in use.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;

use sacloud::{Id, LoadBalancer, Server, Switch};

use crate::provider::annotations::SwitchNetwork;
use crate::provider::cidr::Ipv4Cidr;

/// An inclusive range of addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    /// First address.
    pub first: Ipv4Addr,
    /// Last address (not before `first`).
    pub last: Ipv4Addr,
}

impl AddressRange {
    /// The range, `None` when `last < first`.
    pub fn new(first: Ipv4Addr, last: Ipv4Addr) -> Option<Self> {
        (u32::from(first) <= u32::from(last)).then_some(Self { first, last })
    }

    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        (u32::from(self.first)..=u32::from(self.last)).contains(&u32::from(ip))
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = Ipv4Addr> + use<> {
        (u32::from(self.first)..=u32::from(self.last)).map(Ipv4Addr::from)
    }
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.first, self.last)
    }
}

/// One subnet the appliance may sit in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSubnet {
    /// The subnet; its prefix is the appliance's netmask.
    pub network: Ipv4Cidr,
    /// The appliance's default route.
    pub gateway: Option<Ipv4Addr>,
    /// Addresses allocation draws from.
    pub assignable: AddressRange,
    /// Where a requested VIP (`spec.loadBalancerIP`) may be.
    pub requestable: AddressRange,
}

impl PoolSubnet {
    pub(super) fn usable(&self, ip: Ipv4Addr) -> bool {
        self.network.is_host(ip) && Some(ip) != self.gateway
    }
}

/// Every subnet a load balancer may take addresses from, in preference order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddressPool {
    /// The subnets.
    pub subnets: Vec<PoolSubnet>,
}

/// The pool of a router's switch (as `GET switch/{id}` returns it): the assignable range
/// (`IPAddresses.Min..Max`, whole range, across octets) of every subnet directly on the
/// switch. Routed subnets (`NextHop` set) are left out: the router forwards their traffic to
/// the next hop, so an appliance on the switch could not answer on them.
pub fn router_pool(switch: &Switch) -> AddressPool {
    let subnets = switch
        .subnets
        .iter()
        .filter(|s| s.next_hop.is_none())
        .filter_map(|s| {
            let network = Ipv4Cidr::new(s.network_address?, s.network_mask_len?)?;
            let range = s.ip_addresses?;
            let (lo, hi) = network.host_bounds();
            let first = range.min?.max(lo);
            let last = range.max?.min(hi);
            let assignable = AddressRange::new(first, last)?;
            Some(PoolSubnet {
                network,
                gateway: s.default_route,
                assignable,
                requestable: assignable,
            })
        })
        .collect();
    AddressPool { subnets }
}

/// The pool of a switch-type load balancer: addresses from the assign range (without its own
/// first and last address up to /30, as the original started at its base + 1), inside the network, with
/// the netmask of the network and the annotated gateway. A requested VIP may be anywhere in
/// the network (the original's own example asks for one outside the assign range).
pub fn switch_pool(network: &SwitchNetwork) -> AddressPool {
    let (net_lo, net_hi) = network.ip_range.host_bounds();
    let (assign_lo, assign_hi) = network.assign_range.host_bounds();
    let assignable = AddressRange::new(assign_lo.max(net_lo), assign_hi.min(net_hi));
    let requestable = AddressRange::new(net_lo, net_hi);
    let subnets = match (assignable, requestable) {
        (Some(assignable), Some(requestable)) => vec![PoolSubnet {
            network: network.ip_range,
            gateway: network.default_gateway,
            assignable,
            requestable,
        }],
        _ => Vec::new(),
    };
    AddressPool { subnets }
}

/// Whether `lb` says it is on `switch_id` (an appliance that names no switch is not: unlike
/// [`on_switch`], which counts such an appliance on every switch to be safe).
fn on_switch_exactly(lb: &LoadBalancer, switch_id: Id) -> bool {
    lb.switch.as_ref().is_some_and(|s| s.id == switch_id) || lb.remark.switch.id == switch_id
}

/// Whether the appliance is on `switch_id` (by its `Switch` or its `Remark.Switch`); an
/// appliance that says neither counts as on it, so its addresses are never handed out twice.
pub fn on_switch(lb: &LoadBalancer, switch_id: Id) -> bool {
    let by_switch = lb.switch.as_ref().map(|s| s.id).filter(|id| id.0 != 0);
    let by_remark = Some(lb.remark.switch.id).filter(|id| id.0 != 0);
    match (by_switch, by_remark) {
        (None, None) => true,
        (a, b) => a == Some(switch_id) || b == Some(switch_id),
    }
}

/// Every address in use on `switch`'s segment: each address of every server NIC on it, each
/// load balancer's own addresses (`Remark.Servers`, its NICs) and VIPs, the switch's gateways
/// and next hops, and the addresses of other appliances (VPC routers, databases, … which the
/// client has no model for) passed in by the caller. `bridged` are the switches of other zones
/// joined to `switch` by a bridge: one L2 segment, one address space, so their servers' and
/// appliances' addresses are taken too.
pub fn used_addresses(
    servers: &[Server],
    load_balancers: &[LoadBalancer],
    switch: &Switch,
    bridged: &[Id],
    other_appliance_ips: &[Ipv4Addr],
) -> BTreeSet<Ipv4Addr> {
    let on_segment = |id: Id| id == switch.id || bridged.contains(&id);
    let mut used: BTreeSet<Ipv4Addr> = other_appliance_ips.iter().copied().collect();
    for nic in servers.iter().flat_map(|s| &s.interfaces) {
        if nic.switch.as_ref().is_some_and(|sw| on_segment(sw.id)) {
            used.extend(nic.ip_address);
            used.extend(nic.user_ip_address);
        }
    }
    for lb in load_balancers.iter().filter(|lb| {
        on_switch(lb, switch.id) || bridged.iter().any(|id| on_switch_exactly(lb, *id))
    }) {
        used.extend(lb.remark.servers.iter().filter_map(|s| s.ip_address));
        used.extend(
            lb.interfaces
                .iter()
                .flat_map(|i| [i.ip_address, i.user_ip_address])
                .flatten(),
        );
        used.extend(
            lb.settings
                .load_balancer
                .iter()
                .filter_map(|v| v.virtual_ip_address),
        );
    }
    for subnet in &switch.subnets {
        used.extend(subnet.next_hop);
        used.extend(subnet.default_route);
        used.extend(subnet.static_route);
    }
    if let Some(user) = &switch.user_subnet {
        used.extend(user.default_route);
    }
    used
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use sacloud::VirtualIpAddress;
    use sacloud::api::common::{Scope, UserSubnet};
    use sacloud::api::load_balancer::{ApplianceInterface, RemarkServer};
    use sacloud::api::server::Interface;

    #[test]
    fn router_pool_takes_every_direct_subnet_whole() {
        let pool = router_pool(&router_switch());
        assert_eq!(
            pool.subnets,
            vec![PoolSubnet {
                network: cidr("133.242.253.96/28"),
                gateway: Some(ip("133.242.253.97")),
                assignable: AddressRange::new(ip("133.242.253.100"), ip("133.242.253.110"))
                    .unwrap(),
                requestable: AddressRange::new(ip("133.242.253.100"), ip("133.242.253.110"))
                    .unwrap(),
            }]
        );

        let mut sw = router_switch();
        sw.subnets = vec![
            subnet(
                "203.0.112.0/23",
                "203.0.112.1",
                "203.0.112.250",
                "203.0.113.5",
                None,
            ),
            subnet(
                "198.51.100.0/28",
                "",
                "198.51.100.0",
                "198.51.100.15",
                Some("203.0.112.251"),
            ),
            subnet("192.0.2.0/28", "192.0.2.1", "", "", None),
            subnet(
                "192.0.2.64/28",
                "192.0.2.65",
                "192.0.2.60",
                "192.0.2.90",
                None,
            ),
        ];
        let pool = router_pool(&sw);
        let got: Vec<(String, String)> = pool
            .subnets
            .iter()
            .map(|s| (s.network.to_string(), s.assignable.to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("203.0.112.0/23".into(), "203.0.112.250–203.0.113.5".into()),
                // A range reaching outside its network is clipped to the host addresses.
                ("192.0.2.64/28".into(), "192.0.2.65–192.0.2.78".into()),
            ],
            "routed (NextHop) and rangeless subnets are left out"
        );
        assert_eq!(
            router_pool(&plain_switch(1, "p", &[])),
            AddressPool::default()
        );
    }

    #[test]
    fn switch_pool_any_prefix() {
        let pool = switch_pool(&SwitchNetwork {
            ip_range: cidr("10.240.0.0/16"),
            assign_range: cidr("10.240.100.0/24"),
            default_gateway: Some(ip("10.240.0.1")),
        });
        assert_eq!(
            pool.subnets,
            vec![PoolSubnet {
                network: cidr("10.240.0.0/16"),
                gateway: Some(ip("10.240.0.1")),
                assignable: AddressRange::new(ip("10.240.100.1"), ip("10.240.100.254")).unwrap(),
                requestable: AddressRange::new(ip("10.240.0.1"), ip("10.240.255.254")).unwrap(),
            }]
        );
        let cases = [
            (
                "192.168.0.0/22",
                "192.168.0.0/22",
                "192.168.0.1–192.168.3.254",
            ),
            (
                "192.168.0.0/24",
                "192.168.0.200/29",
                "192.168.0.201–192.168.0.206",
            ),
            (
                "192.168.0.0/24",
                "192.168.0.50/32",
                "192.168.0.50–192.168.0.50",
            ),
            (
                "192.168.0.0/24",
                "192.168.0.254/31",
                "192.168.0.254–192.168.0.254",
            ),
        ];
        for (range, assign, want) in cases {
            let pool = switch_pool(&SwitchNetwork {
                ip_range: cidr(range),
                assign_range: cidr(assign),
                default_gateway: None,
            });
            assert_eq!(
                pool.subnets[0].assignable.to_string(),
                want,
                "{range} {assign}"
            );
            assert_eq!(pool.subnets[0].network, cidr(range));
        }
    }

    #[test]
    fn on_switch_table() {
        let cases = [
            (Some(500), 500, true),
            (Some(500), 0, true),
            (None, 500, true),
            (Some(501), 501, false),
            (Some(501), 500, true),
            (None, 0, true),
            (Some(0), 0, true),
        ];
        for (switch, remark, want) in cases {
            assert_eq!(
                on_switch(&lb(1, switch, remark, 1), Id(500)),
                want,
                "{switch:?} {remark}"
            );
        }
    }

    #[test]
    fn used_addresses_counts_everything_on_the_switch() {
        let mut sw = router_switch();
        sw.subnets.push(subnet(
            "198.51.100.0/28",
            "",
            "198.51.100.1",
            "198.51.100.14",
            Some("133.242.253.109"),
        ));
        sw.user_subnet = Some(UserSubnet {
            default_route: Some(ip("133.242.253.97")),
            network_mask_len: Some(28),
        });
        let servers = vec![
            // NIC 0 on the shared segment, NIC 1 on our switch: the original only saw NIC 0.
            server(vec![
                nic(9, Scope::Shared, Some("192.0.2.10"), None),
                nic(500, Scope::User, None, Some("133.242.253.100")),
            ]),
            server(vec![nic(500, Scope::User, Some("133.242.253.101"), None)]),
            server(vec![nic(600, Scope::User, None, Some("133.242.253.102"))]),
            server(vec![Interface::default()]),
        ];
        let mut ours = lb(1, Some(500), 500, 1);
        ours.remark.servers = vec![RemarkServer {
            ip_address: Some(ip("133.242.253.103")),
        }];
        ours.interfaces = vec![ApplianceInterface {
            ip_address: None,
            user_ip_address: Some(ip("133.242.253.104")),
        }];
        ours.settings.load_balancer = vec![
            VirtualIpAddress {
                virtual_ip_address: Some(ip("133.242.253.105")),
                ..VirtualIpAddress::default()
            },
            VirtualIpAddress {
                virtual_ip_address: Some(ip("133.242.253.105")),
                ..VirtualIpAddress::default()
            },
        ];
        let mut elsewhere = lb(2, Some(600), 600, 1);
        elsewhere.remark.servers = vec![RemarkServer {
            ip_address: Some(ip("133.242.253.106")),
        }];
        let mut unknown = lb(3, None, 0, 1);
        unknown.remark.servers = vec![RemarkServer {
            ip_address: Some(ip("133.242.253.107")),
        }];
        let used = used_addresses(
            &servers,
            &[ours, elsewhere, unknown],
            &sw,
            &[],
            &[ip("133.242.253.108")],
        );
        let want: BTreeSet<Ipv4Addr> = [
            "133.242.253.97",
            "133.242.253.100",
            "133.242.253.101",
            "133.242.253.103",
            "133.242.253.104",
            "133.242.253.105",
            "133.242.253.107",
            "133.242.253.108",
            "133.242.253.109",
        ]
        .into_iter()
        .map(ip)
        .collect();
        assert_eq!(used, want);
    }

    /// A switch bridged to ours (another zone) is one segment with it: its servers' and
    /// appliances' addresses are taken; a switch on no bridge of ours is not.
    #[test]
    fn used_addresses_counts_switches_bridged_to_ours() {
        let sw = router_switch();
        let servers = vec![
            server(vec![nic(500, Scope::User, None, Some("133.242.253.100"))]),
            // is1b, on switch 700 bridged to ours.
            server(vec![nic(700, Scope::User, None, Some("133.242.253.101"))]),
            // is1b, on switch 800 on no bridge of ours.
            server(vec![nic(800, Scope::User, None, Some("133.242.253.102"))]),
        ];
        let mut there = lb(1, Some(700), 700, 1);
        there.remark.servers = vec![RemarkServer {
            ip_address: Some(ip("133.242.253.103")),
        }];
        let mut unrelated = lb(2, Some(800), 800, 1);
        unrelated.remark.servers = vec![RemarkServer {
            ip_address: Some(ip("133.242.253.104")),
        }];
        let lbs = [there, unrelated];
        let alone = used_addresses(&servers, &lbs, &sw, &[], &[]);
        assert!(!alone.contains(&ip("133.242.253.101")));
        let bridged = used_addresses(&servers, &lbs, &sw, &[Id(700)], &[]);
        for taken in ["133.242.253.100", "133.242.253.101", "133.242.253.103"] {
            assert!(bridged.contains(&ip(taken)), "{taken} is on the segment");
        }
        for free in ["133.242.253.102", "133.242.253.104"] {
            assert!(!bridged.contains(&ip(free)), "{free} is on another segment");
        }
    }
}
