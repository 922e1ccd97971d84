//! IPv4 networks in CIDR notation (`192.168.11.0/24`), any prefix length.
//!
//! The original CCM only walked the last octet of a range ("not support larger than /24");
//! everything here works on whole 32-bit addresses.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network: its address with the host bits cleared, and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Cidr {
    network: Ipv4Addr,
    prefix_len: u8,
}

/// Why a string is not an IPv4 CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// No `/`.
    #[error("missing the /prefix length (write it like 192.168.11.0/24)")]
    MissingPrefix,
    /// The address part is not an IPv4 address.
    #[error("{0:?} is not an IPv4 address")]
    BadAddress(String),
    /// The prefix length is not a number from 0 to 32.
    #[error("prefix length {0:?} is not a number from 0 to 32")]
    BadPrefix(String),
}

impl Ipv4Cidr {
    /// The network containing `addr` with `prefix_len` bits of network part; `None` when
    /// `prefix_len > 32`.
    pub fn new(addr: Ipv4Addr, prefix_len: u8) -> Option<Self> {
        (prefix_len <= 32).then(|| Self {
            network: Ipv4Addr::from(u32::from(addr) & mask_bits(prefix_len)),
            prefix_len,
        })
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The last address of the network (the broadcast address for prefixes up to /30).
    pub fn last(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !mask_bits(self.prefix_len))
    }

    /// Whether `ip` is inside the network.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask_bits(self.prefix_len) == u32::from(self.network)
    }

    /// Whether `other` lies entirely inside this network.
    pub fn contains_cidr(&self, other: &Ipv4Cidr) -> bool {
        other.prefix_len >= self.prefix_len && self.contains(other.network)
    }

    /// The first and last address a host may use: the network and broadcast addresses are
    /// left out for prefixes up to /30; a /31 has two usable addresses (RFC 3021) and a /32
    /// one.
    pub fn host_bounds(&self) -> (Ipv4Addr, Ipv4Addr) {
        let (lo, hi) = (u32::from(self.network), u32::from(self.last()));
        if self.prefix_len >= 31 {
            (Ipv4Addr::from(lo), Ipv4Addr::from(hi))
        } else {
            (Ipv4Addr::from(lo + 1), Ipv4Addr::from(hi - 1))
        }
    }

    /// Whether `ip` is a usable host address of the network (see [`Ipv4Cidr::host_bounds`]).
    pub fn is_host(&self, ip: Ipv4Addr) -> bool {
        let (lo, hi) = self.host_bounds();
        (u32::from(lo)..=u32::from(hi)).contains(&u32::from(ip))
    }
}

fn mask_bits(prefix_len: u8) -> u32 {
    match prefix_len {
        0 => 0,
        n => u32::MAX << (32 - u32::from(n.min(32))),
    }
}

impl FromStr for Ipv4Cidr {
    type Err = CidrError;

    /// Parses `a.b.c.d/n`. Host bits may be set (`192.168.11.5/24` is the network
    /// `192.168.11.0/24`), as Go's `net.ParseCIDR`, which the original CCM used, allows.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = s.trim().split_once('/').ok_or(CidrError::MissingPrefix)?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| CidrError::BadAddress(addr.to_owned()))?;
        let prefix_len: u8 = if prefix.chars().all(|c| c.is_ascii_digit()) && !prefix.is_empty() {
            prefix
                .parse()
                .map_err(|_| CidrError::BadPrefix(prefix.to_owned()))?
        } else {
            return Err(CidrError::BadPrefix(prefix.to_owned()));
        };
        Ipv4Cidr::new(addr, prefix_len).ok_or(CidrError::BadPrefix(prefix.to_owned()))
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_any_prefix_and_clears_host_bits() {
        let cases = [
            ("192.168.11.0/24", "192.168.11.0", 24),
            ("192.2.0.1/24", "192.2.0.0", 24),
            ("10.240.0.0/16", "10.240.0.0", 16),
            ("10.240.100.77/20", "10.240.96.0", 20),
            (" 172.16.5.9/32 ", "172.16.5.9", 32),
            ("172.16.5.9/31", "172.16.5.8", 31),
            ("1.2.3.4/0", "0.0.0.0", 0),
            ("10.0.0.0/8", "10.0.0.0", 8),
        ];
        for (text, network, prefix) in cases {
            let c = cidr(text);
            assert_eq!(c.network(), ip(network), "{text}");
            assert_eq!(c.prefix_len(), prefix, "{text}");
        }
        assert_eq!(cidr("10.240.100.77/20").to_string(), "10.240.96.0/20");
    }

    #[test]
    fn rejects_what_is_not_a_cidr() {
        let cases = [
            ("10.10.10.10", CidrError::MissingPrefix),
            ("", CidrError::MissingPrefix),
            ("10.10.10/24", CidrError::BadAddress("10.10.10".into())),
            ("fd00::/64", CidrError::BadAddress("fd00::".into())),
            ("10.0.0.0/33", CidrError::BadPrefix("33".into())),
            ("10.0.0.0/", CidrError::BadPrefix("".into())),
            ("10.0.0.0/+8", CidrError::BadPrefix("+8".into())),
            ("10.0.0.0/24/1", CidrError::BadPrefix("24/1".into())),
            ("10.0.0.0/999", CidrError::BadPrefix("999".into())),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<Ipv4Cidr>(), Err(want), "{text:?}");
        }
    }

    #[test]
    fn bounds_and_membership() {
        let c = cidr("133.242.253.96/28");
        assert_eq!(c.last(), ip("133.242.253.111"));
        assert_eq!(
            c.host_bounds(),
            (ip("133.242.253.97"), ip("133.242.253.110"))
        );
        assert!(c.contains(ip("133.242.253.96")));
        assert!(c.contains(ip("133.242.253.111")));
        assert!(!c.contains(ip("133.242.253.112")));
        assert!(!c.is_host(ip("133.242.253.96")));
        assert!(c.is_host(ip("133.242.253.97")));
        assert!(!c.is_host(ip("133.242.253.111")));

        let wide = cidr("10.240.0.0/16");
        assert_eq!(wide.host_bounds(), (ip("10.240.0.1"), ip("10.240.255.254")));
        assert!(
            wide.is_host(ip("10.240.100.0")),
            "a .0 inside a /16 is a host"
        );

        assert_eq!(
            cidr("10.0.0.8/31").host_bounds(),
            (ip("10.0.0.8"), ip("10.0.0.9"))
        );
        assert_eq!(
            cidr("10.0.0.8/32").host_bounds(),
            (ip("10.0.0.8"), ip("10.0.0.8"))
        );
        let all = cidr("0.0.0.0/0");
        assert!(all.contains(ip("255.255.255.255")));
        assert_eq!(all.last(), ip("255.255.255.255"));
    }

    #[test]
    fn cidr_containment() {
        let outer = cidr("10.240.0.0/16");
        assert!(outer.contains_cidr(&cidr("10.240.100.0/24")));
        assert!(outer.contains_cidr(&outer));
        assert!(!outer.contains_cidr(&cidr("10.241.0.0/24")));
        assert!(!outer.contains_cidr(&cidr("10.0.0.0/8")));
    }

    #[test]
    fn new_refuses_long_prefixes() {
        assert_eq!(Ipv4Cidr::new(ip("1.2.3.4"), 33), None);
        assert_eq!(
            Ipv4Cidr::new(ip("1.2.3.4"), 8).map(|c| c.network()),
            Some(ip("1.0.0.0"))
        );
    }
}
