//! IPv4 arithmetic: networks, the router subnet layout and free-address allocation.
//!
//! Everything here is a pure function so the allocation rules (which addresses a router keeps for
//! itself, which are handed out) are tested in isolation from HTTP and the store.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::net::Ipv4Addr;

/// An IPv4 network such as `203.0.113.96/28`; `network` always has its host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cidr {
    /// Network address (host bits zero).
    pub network: Ipv4Addr,
    /// Prefix length, 0–32.
    pub prefix: u8,
}

impl Cidr {
    /// Build from any address inside the network; host bits are cleared.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Option<Self> {
        (prefix <= 32).then(|| Self {
            network: Ipv4Addr::from(u32::from(addr) & mask(prefix)),
            prefix,
        })
    }

    /// Parse `a.b.c.d/n`. Host bits must be zero: `192.168.0.5/24` is almost always a typo for a
    /// host address and silently widening it would hide the mistake.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, p) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not a CIDR (want a.b.c.d/n)"))?;
        let addr: Ipv4Addr = a
            .parse()
            .map_err(|_| format!("{a:?} is not an IPv4 address"))?;
        let prefix: u8 = p
            .parse()
            .map_err(|_| format!("{p:?} is not a prefix length"))?;
        let cidr = Self::new(addr, prefix).ok_or_else(|| format!("prefix /{prefix} is over 32"))?;
        if cidr.network != addr {
            return Err(format!(
                "{s:?} has host bits set (network is {})",
                cidr.network
            ));
        }
        Ok(cidr)
    }

    /// Number of addresses including network and broadcast.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    /// The `i`-th address of the block (0 = network address); `None` past the end.
    pub fn nth(&self, i: u64) -> Option<Ipv4Addr> {
        (i < self.size()).then(|| Ipv4Addr::from(u32::from(self.network).wrapping_add(i as u32)))
    }

    /// Last address of the block.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !mask(self.prefix))
    }

    /// Whether `ip` is inside the block.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.network)
    }

    /// Whether `ip` is a usable host address (inside, and neither network nor broadcast).
    pub fn is_host(&self, ip: Ipv4Addr) -> bool {
        self.contains(ip) && ip != self.network && ip != self.broadcast()
    }

    /// Whether two blocks share any address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other.network) || other.contains(self.network)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    }
}

/// How SAKURA lays out a router's global subnet: network, gateway (.1), two router addresses
/// (.2/.3, the VRRP pair), usable hosts from .4 to broadcast-1. For a /28 at .96 this gives gateway
/// .97, router .98/.99 and the assignable range .100–.110, exactly the reference fixture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouterLayout {
    /// The default route handed to servers.
    pub gateway: Ipv4Addr,
    /// The router's own two addresses.
    pub router_ips: [Ipv4Addr; 2],
    /// First assignable address (`IPAddresses.Min`).
    pub min: Ipv4Addr,
    /// Last assignable address (`IPAddresses.Max`).
    pub max: Ipv4Addr,
}

/// Layout of a router subnet; `None` for blocks too small to hold the reserved addresses.
pub fn router_layout(net: Cidr) -> Option<RouterLayout> {
    if net.size() < 8 {
        return None;
    }
    Some(RouterLayout {
        gateway: net.nth(1)?,
        router_ips: [net.nth(2)?, net.nth(3)?],
        min: net.nth(4)?,
        max: net.nth(net.size() - 2)?,
    })
}

/// Whether `ip` lies in the inclusive range `min..=max`.
pub fn in_range(ip: Ipv4Addr, min: Ipv4Addr, max: Ipv4Addr) -> bool {
    (u32::from(min)..=u32::from(max)).contains(&u32::from(ip))
}

/// Hands out free addresses from a range in ascending order without rescanning from the start,
/// so seeding thousands of servers stays linear.
#[derive(Debug, Clone)]
pub struct Allocator {
    cursor: u32,
    max: u32,
    used: HashSet<Ipv4Addr>,
}

impl Allocator {
    /// An allocator over `min..=max` that skips `used`.
    pub fn new(min: Ipv4Addr, max: Ipv4Addr, used: HashSet<Ipv4Addr>) -> Self {
        Self {
            cursor: u32::from(min),
            max: u32::from(max),
            used,
        }
    }

    /// Next free address, or `None` when the range is exhausted.
    pub fn next(&mut self) -> Option<Ipv4Addr> {
        while self.cursor <= self.max {
            let ip = Ipv4Addr::from(self.cursor);
            self.cursor = self.cursor.checked_add(1)?;
            if self.used.insert(ip) {
                return Some(ip);
            }
        }
        None
    }

    /// Mark an explicitly chosen address as taken; false if it already was.
    pub fn claim(&mut self, ip: Ipv4Addr) -> bool {
        self.used.insert(ip)
    }
}

/// Carve the first aligned block of `/prefix` from `pool` that overlaps none of `taken`.
///
/// Linear in the pool size divided by the block size, which is small (a /16 pool holds 1,024
/// /26 blocks); routers are few, so no smarter structure is needed.
pub fn carve(pool: Cidr, prefix: u8, taken: &[Cidr]) -> Option<Cidr> {
    if prefix < pool.prefix || prefix > 32 {
        return None;
    }
    let step = 1u64 << (32 - u32::from(prefix));
    (0..pool.size() / step)
        .filter_map(|i| Cidr::new(pool.nth(i * step)?, prefix))
        .find(|c| !taken.iter().any(|t| t.overlaps(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn router_layout_matches_reference_fixture() {
        let l = router_layout(Cidr::parse("133.242.253.96/28").unwrap()).unwrap();
        assert_eq!(l.gateway, ip("133.242.253.97"));
        assert_eq!(l.router_ips, [ip("133.242.253.98"), ip("133.242.253.99")]);
        assert_eq!(l.min, ip("133.242.253.100"));
        assert_eq!(l.max, ip("133.242.253.110"));
    }

    #[test]
    fn router_layout_generalises_to_26_and_27() {
        let l27 = router_layout(Cidr::parse("203.0.113.32/27").unwrap()).unwrap();
        assert_eq!((l27.min, l27.max), (ip("203.0.113.36"), ip("203.0.113.62")));
        let l26 = router_layout(Cidr::parse("203.0.113.64/26").unwrap()).unwrap();
        assert_eq!(
            (l26.min, l26.max),
            (ip("203.0.113.68"), ip("203.0.113.126"))
        );
        assert!(router_layout(Cidr::parse("203.0.113.0/30").unwrap()).is_none());
    }

    #[test]
    fn parse_rejects_host_bits_and_garbage() {
        assert!(Cidr::parse("192.168.0.5/24").is_err());
        assert!(Cidr::parse("192.168.0.0/33").is_err());
        assert!(Cidr::parse("nope").is_err());
        assert_eq!(Cidr::parse("10.0.0.0/8").unwrap().size(), 1 << 24);
    }

    #[test]
    fn contains_and_host() {
        let c = Cidr::parse("192.168.0.0/24").unwrap();
        assert!(c.contains(ip("192.168.0.255")));
        assert!(!c.contains(ip("192.168.1.0")));
        assert!(c.is_host(ip("192.168.0.1")));
        assert!(!c.is_host(ip("192.168.0.0")) && !c.is_host(ip("192.168.0.255")));
    }

    #[test]
    fn allocator_is_ascending_and_respects_claims() {
        let used: HashSet<_> = [ip("10.0.0.2")].into_iter().collect();
        let mut a = Allocator::new(ip("10.0.0.1"), ip("10.0.0.4"), used);
        assert!(a.claim(ip("10.0.0.3")));
        assert!(!a.claim(ip("10.0.0.3")));
        assert_eq!(a.next(), Some(ip("10.0.0.1")));
        assert_eq!(a.next(), Some(ip("10.0.0.4")));
        assert_eq!(a.next(), None);
    }

    #[test]
    fn carve_avoids_taken_blocks() {
        let pool = Cidr::parse("203.0.113.0/24").unwrap();
        let taken = [Cidr::parse("203.0.113.0/27").unwrap()];
        assert_eq!(carve(pool, 28, &taken), Cidr::parse("203.0.113.32/28").ok());
        assert_eq!(carve(pool, 26, &taken), Cidr::parse("203.0.113.64/26").ok());
        assert_eq!(carve(pool, 8, &taken), None);
    }
}
