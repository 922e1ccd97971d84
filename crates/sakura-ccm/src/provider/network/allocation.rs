//! Addresses and VRID for a new load balancer.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use cloud_provider::provider::ProviderEvent;
use sacloud::LoadBalancer;

use super::pool::{AddressPool, PoolSubnet};
use crate::provider::cidr::Ipv4Cidr;
use crate::provider::reasons;
use crate::provider::text::join_list;

/// VRRP IDs are 1–255.
pub const MAX_VRID: u32 = 255;

/// Addresses for a new appliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The appliance's own addresses: one, or two for a redundant pair.
    pub appliance_ips: Vec<Ipv4Addr>,
    /// The one VIP every port is served on.
    pub vip: Ipv4Addr,
    /// Prefix length for `Remark.Network.NetworkMaskLen`.
    pub network_mask_len: u8,
    /// Gateway for `Remark.Network.DefaultRoute`.
    pub default_route: Option<Ipv4Addr>,
}

/// Why addresses could not be allocated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    /// The router's switch reports no assignable range (or the switch-type ranges do not
    /// overlap).
    #[error("there is no assignable address range on the load balancer's network")]
    EmptyPool,
    /// No subnet has enough free addresses.
    #[error(
        "not enough free addresses: a {what} load balancer needs {needed} (its own {own} and the VIP); free: {free}. Free addresses (delete unused appliances or servers' NIC addresses) or add a subnet"
    )]
    Exhausted {
        /// "single" or "redundant".
        what: &'static str,
        /// Addresses needed.
        needed: usize,
        /// Addresses the appliance itself needs.
        own: usize,
        /// Free addresses per subnet, for the message.
        free: String,
    },
    /// The requested VIP is not in any subnet of the pool.
    #[error(
        "spec.loadBalancerIP {vip} is not an assignable address of the load balancer's network ({ranges}); choose one there or leave it unset"
    )]
    RequestedOutside {
        /// The requested VIP.
        vip: Ipv4Addr,
        /// The ranges it may be in.
        ranges: String,
    },
    /// The requested VIP is in use.
    #[error(
        "spec.loadBalancerIP {vip} is already in use on the load balancer's network; choose a free address or leave it unset"
    )]
    RequestedInUse {
        /// The requested VIP.
        vip: Ipv4Addr,
    },
    /// The requested VIP is fine but its subnet lacks addresses for the appliance itself.
    #[error(
        "spec.loadBalancerIP {vip} is free, but its subnet {network} has only {free} free address(es) for the {own} the load balancer itself needs"
    )]
    RequestedSubnetExhausted {
        /// The requested VIP.
        vip: Ipv4Addr,
        /// Its subnet.
        network: Ipv4Cidr,
        /// Free addresses found.
        free: usize,
        /// Addresses needed.
        own: usize,
    },
}

impl AllocationError {
    /// The Warning event to publish on the Service.
    pub fn event(&self) -> ProviderEvent {
        let reason = match self {
            AllocationError::EmptyPool | AllocationError::Exhausted { .. } => {
                reasons::ADDRESSES_EXHAUSTED
            }
            AllocationError::RequestedOutside { .. }
            | AllocationError::RequestedInUse { .. }
            | AllocationError::RequestedSubnetExhausted { .. } => reasons::REQUESTED_IP_UNAVAILABLE,
        };
        ProviderEvent::warning(reason, self.to_string())
    }
}

/// The first `n` free addresses of `subnet`'s assignable range, skipping `used` and `skip`.
fn first_free(
    subnet: &PoolSubnet,
    used: &BTreeSet<Ipv4Addr>,
    skip: Option<Ipv4Addr>,
    n: usize,
) -> Vec<Ipv4Addr> {
    // Bounded: at most `used.len() + n + 1` addresses are looked at before `n` are found or
    // the range ends.
    subnet
        .assignable
        .iter()
        .filter(|ip| subnet.usable(*ip) && !used.contains(ip) && Some(*ip) != skip)
        .take(n)
        .collect()
}

/// Allocates the appliance's addresses and the VIP, lowest free first, all from one subnet
/// (the netmask and gateway come from it). With `requested_vip`, that is the VIP: it must be
/// a requestable, unused address; the appliance's addresses come from its subnet.
pub fn allocate(
    pool: &AddressPool,
    used: &BTreeSet<Ipv4Addr>,
    high_availability: bool,
    requested_vip: Option<Ipv4Addr>,
) -> Result<Allocation, AllocationError> {
    if pool.subnets.is_empty() {
        return Err(AllocationError::EmptyPool);
    }
    let own = if high_availability { 2 } else { 1 };
    let done = |subnet: &PoolSubnet, appliance_ips: Vec<Ipv4Addr>, vip| Allocation {
        appliance_ips,
        vip,
        network_mask_len: subnet.network.prefix_len(),
        default_route: subnet.gateway,
    };

    if let Some(vip) = requested_vip {
        let Some(subnet) = pool
            .subnets
            .iter()
            .find(|s| s.requestable.contains(vip) && s.usable(vip))
        else {
            let ranges: Vec<String> = pool
                .subnets
                .iter()
                .map(|s| format!("{} in {}", s.requestable, s.network))
                .collect();
            return Err(AllocationError::RequestedOutside {
                vip,
                ranges: join_list(&ranges),
            });
        };
        if used.contains(&vip) {
            return Err(AllocationError::RequestedInUse { vip });
        }
        let ips = first_free(subnet, used, Some(vip), own);
        if ips.len() < own {
            return Err(AllocationError::RequestedSubnetExhausted {
                vip,
                network: subnet.network,
                free: ips.len(),
                own,
            });
        }
        return Ok(done(subnet, ips, vip));
    }

    let mut free = Vec::new();
    for subnet in &pool.subnets {
        let mut ips = first_free(subnet, used, None, own + 1);
        if ips.len() == own + 1 {
            let vip = ips.remove(own);
            return Ok(done(subnet, ips, vip));
        }
        free.push(format!("{} in {}", ips.len(), subnet.network));
    }
    Err(AllocationError::Exhausted {
        what: if high_availability {
            "redundant"
        } else {
            "single"
        },
        needed: own + 1,
        own,
        free: join_list(&free),
    })
}

/// Every VRRP ID is taken on the switch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("every VRRP ID from 1 to 255 is used by load balancers on the switch; delete unused ones")]
pub struct VridExhausted;

impl VridExhausted {
    /// The Warning event to publish on the Service.
    pub fn event(&self) -> ProviderEvent {
        ProviderEvent::warning(reasons::VRID_EXHAUSTED, self.to_string())
    }
}

/// The smallest VRRP ID from 1 not used by the load balancers already on the switch (pass only
/// those; see [`on_switch`](super::on_switch)).
pub fn select_vrid<'a>(
    existing_lbs_on_switch: impl IntoIterator<Item = &'a LoadBalancer>,
) -> Result<u32, VridExhausted> {
    let used: BTreeSet<u32> = existing_lbs_on_switch
        .into_iter()
        .map(|lb| lb.remark.vrrp.vrid)
        .collect();
    (1..=MAX_VRID)
        .find(|v| !used.contains(v))
        .ok_or(VridExhausted)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::pool::{router_pool, switch_pool};
    use super::*;
    use crate::provider::annotations::SwitchNetwork;

    /// (what, used addresses, redundant, expected appliance addresses, expected VIP).
    type AllocationCase<'a> = (&'a str, Vec<&'a str>, bool, Vec<&'a str>, &'a str);

    #[test]
    fn allocates_lowest_free_first() {
        let pool = router_pool(&router_switch());
        let cases: Vec<AllocationCase> = vec![
            (
                "single, nothing used",
                vec![],
                false,
                vec!["133.242.253.100"],
                "133.242.253.101",
            ),
            (
                "redundant, nothing used",
                vec![],
                true,
                vec!["133.242.253.100", "133.242.253.101"],
                "133.242.253.102",
            ),
            (
                "skips used",
                vec!["133.242.253.100", "133.242.253.102"],
                false,
                vec!["133.242.253.101"],
                "133.242.253.103",
            ),
            (
                "the last two",
                vec![
                    "133.242.253.100",
                    "133.242.253.101",
                    "133.242.253.102",
                    "133.242.253.103",
                    "133.242.253.104",
                    "133.242.253.105",
                    "133.242.253.106",
                    "133.242.253.107",
                    "133.242.253.108",
                ],
                false,
                vec!["133.242.253.109"],
                "133.242.253.110",
            ),
        ];
        for (what, used, ha, ips, vip) in cases {
            let a =
                allocate(&pool, &set(&used), ha, None).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(
                a,
                Allocation {
                    appliance_ips: ips.iter().map(|s| ip(s)).collect(),
                    vip: ip(vip),
                    network_mask_len: 28,
                    default_route: Some(ip("133.242.253.97")),
                },
                "{what}"
            );
            assert_eq!(
                allocate(&pool, &set(&used), ha, None),
                Ok(a),
                "{what}: deterministic"
            );
        }
    }

    #[test]
    fn allocation_crosses_octets_and_subnets() {
        let mut sw = router_switch();
        sw.subnets = vec![
            subnet("10.0.0.0/28", "10.0.0.1", "10.0.0.2", "10.0.0.3", None),
            subnet("10.1.0.0/23", "10.1.0.1", "10.1.0.254", "10.1.1.10", None),
        ];
        let pool = router_pool(&sw);
        // The first subnet has two addresses: enough for a single appliance and its VIP...
        let a = allocate(&pool, &set(&[]), false, None).unwrap();
        assert_eq!(
            (a.appliance_ips, a.vip, a.network_mask_len),
            (vec![ip("10.0.0.2")], ip("10.0.0.3"), 28)
        );
        // ...not for a pair: everything then comes from the second, across the octet.
        let a = allocate(&pool, &set(&["10.1.0.255"]), true, None).unwrap();
        assert_eq!(a.appliance_ips, vec![ip("10.1.0.254"), ip("10.1.1.0")]);
        assert_eq!(a.vip, ip("10.1.1.1"));
        assert_eq!(a.network_mask_len, 23);
        assert_eq!(a.default_route, Some(ip("10.1.0.1")));
    }

    #[test]
    fn the_gateway_is_never_allocated() {
        let pool = switch_pool(&SwitchNetwork {
            ip_range: cidr("192.168.0.0/24"),
            assign_range: cidr("192.168.0.0/29"),
            default_gateway: Some(ip("192.168.0.1")),
        });
        let a = allocate(&pool, &set(&[]), true, None).unwrap();
        assert_eq!(a.appliance_ips, vec![ip("192.168.0.2"), ip("192.168.0.3")]);
        assert_eq!(a.vip, ip("192.168.0.4"));
        assert_eq!(a.network_mask_len, 24);
    }

    #[test]
    fn requested_vip() {
        let pool = router_pool(&router_switch());
        let a = allocate(
            &pool,
            &set(&["133.242.253.100"]),
            true,
            Some(ip("133.242.253.101")),
        )
        .unwrap();
        assert_eq!(a.vip, ip("133.242.253.101"));
        assert_eq!(
            a.appliance_ips,
            vec![ip("133.242.253.102"), ip("133.242.253.103")]
        );

        let cases: Vec<(&str, Vec<&str>, bool, AllocationError)> = vec![
            (
                "133.242.253.98",
                vec![],
                false,
                AllocationError::RequestedOutside {
                    vip: ip("133.242.253.98"),
                    ranges: "133.242.253.100–133.242.253.110 in 133.242.253.96/28".into(),
                },
            ),
            (
                "203.0.113.1",
                vec![],
                false,
                AllocationError::RequestedOutside {
                    vip: ip("203.0.113.1"),
                    ranges: "133.242.253.100–133.242.253.110 in 133.242.253.96/28".into(),
                },
            ),
            (
                "133.242.253.104",
                vec!["133.242.253.104"],
                false,
                AllocationError::RequestedInUse {
                    vip: ip("133.242.253.104"),
                },
            ),
            (
                "133.242.253.110",
                vec![
                    "133.242.253.100",
                    "133.242.253.101",
                    "133.242.253.102",
                    "133.242.253.103",
                    "133.242.253.104",
                    "133.242.253.105",
                    "133.242.253.106",
                    "133.242.253.107",
                    "133.242.253.108",
                ],
                true,
                AllocationError::RequestedSubnetExhausted {
                    vip: ip("133.242.253.110"),
                    network: cidr("133.242.253.96/28"),
                    free: 1,
                    own: 2,
                },
            ),
        ];
        for (vip, used, ha, want) in cases {
            let err = allocate(&pool, &set(&used), ha, Some(ip(vip))).unwrap_err();
            assert_eq!(err, want, "{vip}");
            let event = err.event();
            assert_eq!(event.reason, reasons::REQUESTED_IP_UNAVAILABLE);
            assert!(event.message.contains(vip), "{}", event.message);
            assert!(
                event.message.contains("spec.loadBalancerIP"),
                "{}",
                event.message
            );
        }

        // Switch type: the VIP may be outside the assign range, inside the network.
        let pool = switch_pool(&SwitchNetwork {
            ip_range: cidr("10.240.0.0/16"),
            assign_range: cidr("10.240.100.0/24"),
            default_gateway: Some(ip("10.240.0.1")),
        });
        let a = allocate(&pool, &set(&[]), false, Some(ip("10.240.101.1"))).unwrap();
        assert_eq!(
            (a.appliance_ips, a.vip),
            (vec![ip("10.240.100.1")], ip("10.240.101.1"))
        );
        assert!(matches!(
            allocate(&pool, &set(&[]), false, Some(ip("10.240.0.1"))),
            Err(AllocationError::RequestedOutside { .. })
        ));
    }

    #[test]
    fn exhaustion_is_reported_with_counts() {
        let pool = router_pool(&router_switch());
        let all_but_two: Vec<String> = (100..=108).map(|n| format!("133.242.253.{n}")).collect();
        let used: BTreeSet<Ipv4Addr> = all_but_two.iter().map(|s| ip(s)).collect();
        assert!(allocate(&pool, &used, false, None).is_ok());
        let err = allocate(&pool, &used, true, None).unwrap_err();
        assert_eq!(
            err,
            AllocationError::Exhausted {
                what: "redundant",
                needed: 3,
                own: 2,
                free: "2 in 133.242.253.96/28".into(),
            }
        );
        assert_eq!(err.event().reason, reasons::ADDRESSES_EXHAUSTED);
        assert!(err.to_string().contains("needs 3"), "{err}");
        assert_eq!(
            allocate(&AddressPool::default(), &used, false, None),
            Err(AllocationError::EmptyPool)
        );
        assert_eq!(
            AllocationError::EmptyPool.event().reason,
            reasons::ADDRESSES_EXHAUSTED
        );
    }

    #[test]
    fn vrid_is_the_smallest_unused() {
        let with = |vrids: &[u32]| -> Vec<LoadBalancer> {
            vrids
                .iter()
                .enumerate()
                .map(|(i, v)| lb(i as u64, Some(500), 500, *v))
                .collect()
        };
        assert_eq!(select_vrid(&[]), Ok(1));
        assert_eq!(select_vrid(&with(&[1])), Ok(2));
        assert_eq!(select_vrid(&with(&[2, 3])), Ok(1));
        assert_eq!(select_vrid(&with(&[1, 2, 4])), Ok(3));
        assert_eq!(select_vrid(&with(&[1, 1, 2])), Ok(3));
        assert_eq!(select_vrid(&with(&[0, 300])), Ok(1));
        let full: Vec<u32> = (1..=255).collect();
        assert_eq!(select_vrid(&with(&full)), Err(VridExhausted));
        assert_eq!(VridExhausted.event().reason, reasons::VRID_EXHAUSTED);
    }
}
