//! Value syntaxes of the Go flag libraries (pflag, `time.ParseDuration`, `strconv.ParseBool`,
//! `net.ParseCIDR`), so that manifests written for upstream cloud-controller-managers parse here
//! unchanged.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

/// Parses a duration in Go's `time.ParseDuration` syntax: `300ms`, `15s`, `5m0s`, `1h30m`,
/// `2.5s`, `1.5h`, `0`; units `ns`, `us` (`µs`, `μs`), `ms`, `s`, `m`, `h`.
///
/// Negative durations, which Go accepts, are rejected: no CCM flag means anything by them.
/// Like Go, the largest accepted duration is 2^63-1 nanoseconds (about 292 years).
pub fn parse_go_duration(input: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {input:?}");
    let (negative, mut s) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    // Go special-cases a bare zero: it is the only number allowed without a unit.
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, rest) = s.split_at(int_len);
        s = rest;
        let mut int: u128 = 0;
        for d in int_digits.bytes() {
            int = int
                .checked_mul(10)
                .and_then(|v| v.checked_add(u128::from(d - b'0')))
                .filter(|v| *v <= MAX_NANOS)
                .ok_or_else(invalid)?;
        }
        let mut frac: u128 = 0;
        let mut frac_scale: u128 = 1;
        let mut frac_len = 0;
        if let Some(rest) = s.strip_prefix('.') {
            frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            // Digits beyond nanosecond precision of an hour cannot change the result; like Go,
            // they are dropped instead of overflowing.
            for d in rest[..frac_len].bytes().take(FRACTION_DIGITS) {
                frac = frac * 10 + u128::from(d - b'0');
                frac_scale *= 10;
            }
            s = &rest[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!("missing unit in duration {input:?}"));
        }
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            _ => return Err(format!("unknown unit {unit:?} in duration {input:?}")),
        };
        total = int
            .checked_mul(unit_nanos)
            .and_then(|v| v.checked_add(frac * unit_nanos / frac_scale))
            .and_then(|v| v.checked_add(total))
            .filter(|v| *v <= MAX_NANOS)
            .ok_or_else(invalid)?;
    }
    if negative && total != 0 {
        return Err(format!("negative duration {input:?} is not allowed"));
    }
    u64::try_from(total)
        .map(Duration::from_nanos)
        .map_err(|_| invalid())
}

/// Go's `time.Duration` is an `int64` of nanoseconds.
const MAX_NANOS: u128 = i64::MAX as u128;
/// 20 fraction digits keep `frac * unit_nanos` well inside `u128`.
const FRACTION_DIGITS: usize = 20;

/// Parses a boolean as Go's `strconv.ParseBool` does (pflag uses it for every bool flag):
/// `1 t T TRUE true True` and `0 f F FALSE false False`.
pub fn parse_go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "invalid boolean {s:?} (use true or false; 1, t, T, TRUE, True, 0, f, F, FALSE, False are accepted too)"
        )),
    }
}

/// A `name=bool` pair of `--feature-gates` (pflag's `mapStringBool`).
pub(crate) fn parse_feature_gate(s: &str) -> Result<(String, bool), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("missing bool value for feature gate {s:?} (use Name=true)"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("missing feature gate name in {s:?}"));
    }
    let enabled = parse_go_bool(value.trim()).map_err(|e| format!("feature gate {name}: {e}"))?;
    Ok((name.to_owned(), enabled))
}

/// An IP network such as `10.244.0.0/16` or `fd00:10:244::/56`, as in `--cluster-cidr`.
///
/// Parsing keeps only the network part of the address (`10.244.1.7/16` is `10.244.0.0/16`),
/// as Go's `net.ParseCIDR` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The network address (host bits zero).
    pub addr: IpAddr,
    /// The prefix length: at most 32 for IPv4, 128 for IPv6.
    pub prefix_len: u8,
}

impl Cidr {
    /// Whether this is an IPv4 network.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("invalid CIDR {s:?} (want address/prefix, e.g. 10.244.0.0/16)");
        let (addr, len) = s.split_once('/').ok_or_else(invalid)?;
        if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let addr: IpAddr = addr.parse().map_err(|_| invalid())?;
        let prefix_len: u8 = len.parse().map_err(|_| invalid())?;
        let addr = match addr {
            IpAddr::V4(a) if prefix_len <= 32 => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(prefix_len))
                    .unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) if prefix_len <= 128 => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(prefix_len))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
            _ => return Err(invalid()),
        };
        Ok(Cidr { addr, prefix_len })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn go_durations_parse() {
        let cases = [
            ("0", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("+0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("300ms", ms(300)),
            ("15s", ms(15_000)),
            ("5m0s", ms(300_000)),
            ("1h30m", ms(5_400_000)),
            ("2.5s", ms(2_500)),
            ("1.5h", ms(5_400_000)),
            (".5s", ms(500)),
            ("1.s", ms(1_000)),
            ("12h", ms(43_200_000)),
            ("+10s", ms(10_000)),
            ("1h2m3s4ms5us6ns", Duration::new(3_723, 4_005_006)),
            ("7µs", Duration::from_micros(7)),
            ("7μs", Duration::from_micros(7)),
            ("7us", Duration::from_micros(7)),
            ("1ns", Duration::from_nanos(1)),
            ("0.000000001s", Duration::from_nanos(1)),
            ("0.5h", ms(1_800_000)),
            ("1.0000000000000000000000009s", ms(1_000)),
            (
                "2562047h47m16.854775807s",
                Duration::from_nanos(i64::MAX as u64),
            ),
        ];
        for (s, want) in cases {
            assert_eq!(parse_go_duration(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn bad_go_durations_are_errors() {
        for s in [
            "",
            "-",
            "+",
            "s",
            ".s",
            ".",
            "10",
            "1.5",
            "10 s",
            " 10s",
            "10s ",
            "10sec",
            "10S",
            "3d",
            "1h-5m",
            "1..5s",
            "-1s",
            "-1.5h",
            "2562047h47m16.854775808s",
            "9223372036854775808ns",
            "99999999999999999999999999999999999999999h",
        ] {
            assert!(parse_go_duration(s).is_err(), "{s:?} should be rejected");
        }
        assert_eq!(
            parse_go_duration("10"),
            Err("missing unit in duration \"10\"".to_owned())
        );
        assert_eq!(
            parse_go_duration("3d"),
            Err("unknown unit \"d\" in duration \"3d\"".to_owned())
        );
        assert!(parse_go_duration("-2s").unwrap_err().contains("negative"));
    }

    #[test]
    fn go_bools_parse() {
        for s in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_go_bool(s), Ok(true), "{s}");
        }
        for s in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_go_bool(s), Ok(false), "{s}");
        }
        for s in ["", "yes", "no", "tRUE", "on", "2", " true"] {
            assert!(parse_go_bool(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn feature_gates_parse() {
        assert_eq!(parse_feature_gate("A=true"), Ok(("A".to_owned(), true)));
        assert_eq!(parse_feature_gate("B=f"), Ok(("B".to_owned(), false)));
        assert!(parse_feature_gate("A").is_err());
        assert!(parse_feature_gate("=true").is_err());
        assert!(parse_feature_gate("A=maybe").is_err());
    }

    #[test]
    fn cidrs_parse_to_their_network() {
        let c: Cidr = "10.244.0.0/16".parse().unwrap();
        assert_eq!(c.to_string(), "10.244.0.0/16");
        assert!(c.is_ipv4());
        let c: Cidr = "10.244.1.7/16".parse().unwrap();
        assert_eq!(c.to_string(), "10.244.0.0/16");
        let c: Cidr = "fd00:10:244::1/56".parse().unwrap();
        assert_eq!(c.to_string(), "fd00:10:244::/56");
        assert!(!c.is_ipv4());
        assert_eq!(
            "0.0.0.0/0".parse::<Cidr>().unwrap().to_string(),
            "0.0.0.0/0"
        );
        assert_eq!(
            "1.2.3.4/32".parse::<Cidr>().unwrap().to_string(),
            "1.2.3.4/32"
        );
        assert_eq!("::/0".parse::<Cidr>().unwrap().to_string(), "::/0");
        for s in [
            "10.244.0.0",
            "10.244.0.0/33",
            "::/129",
            "10.244.0.0/",
            "10.244.0.0/+8",
            "10.244.0/16",
            "x/8",
            "",
        ] {
            assert!(s.parse::<Cidr>().is_err(), "{s:?}");
        }
    }
}
