//! SAKURA Cloud zones and the regions they belong to.

use std::fmt;
use std::str::FromStr;

/// A SAKURA Cloud zone. Every IaaS API call is made against exactly one zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Zone {
    /// 石狩第1ゾーン (Ishikari 1).
    Is1a,
    /// 石狩第2ゾーン (Ishikari 2).
    Is1b,
    /// 石狩第3ゾーン (Ishikari 3).
    Is1c,
    /// 東京第1ゾーン (Tokyo 1).
    Tk1a,
    /// 東京第2ゾーン (Tokyo 2).
    Tk1b,
    /// The Sandbox zone: resources there are dummies and cost nothing.
    Tk1v,
}

/// The region a zone belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    /// Short code used for Kubernetes topology labels: `is1` or `tk1`.
    pub code: &'static str,
    /// The API's numeric region ID (310 Ishikari, 210 Tokyo, 290 Sandbox).
    pub id: u64,
    /// The API's region name.
    pub name: &'static str,
}

impl Zone {
    /// Every zone, in the order the API documentation lists them.
    pub const ALL: [Zone; 6] = [
        Zone::Is1a,
        Zone::Is1b,
        Zone::Is1c,
        Zone::Tk1a,
        Zone::Tk1b,
        Zone::Tk1v,
    ];

    /// The zone every call about a *global* resource goes to, whatever the client's own zone:
    /// the Enhanced Load Balancer (`commonserviceitem` with `Provider.Class: proxylb`) is one
    /// account-wide item, and SAKURA's own SDK sends its calls to `is1a` (`APIDefaultZone`).
    pub const GLOBAL: Zone = Zone::Is1a;

    /// The zone name as used in URLs and labels, e.g. `is1a`.
    pub fn name(self) -> &'static str {
        match self {
            Zone::Is1a => "is1a",
            Zone::Is1b => "is1b",
            Zone::Is1c => "is1c",
            Zone::Tk1a => "tk1a",
            Zone::Tk1b => "tk1b",
            Zone::Tk1v => "tk1v",
        }
    }

    /// The API's numeric zone ID.
    pub fn id(self) -> u64 {
        match self {
            Zone::Is1a => 31001,
            Zone::Is1b => 31002,
            Zone::Is1c => 31003,
            Zone::Tk1a => 21001,
            Zone::Tk1b => 21002,
            Zone::Tk1v => 29001,
        }
    }

    /// The region this zone is in. The Sandbox zone `tk1v` reports region code `tk1` (its name
    /// prefix) but the API's own Sandbox region ID 290.
    pub fn region(self) -> Region {
        match self {
            Zone::Is1a | Zone::Is1b | Zone::Is1c => Region {
                code: "is1",
                id: 310,
                name: "石狩",
            },
            Zone::Tk1a | Zone::Tk1b => Region {
                code: "tk1",
                id: 210,
                name: "東京",
            },
            Zone::Tk1v => Region {
                code: "tk1",
                id: 290,
                name: "Sandbox",
            },
        }
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a zone name that is not one of [`Zone::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SAKURA Cloud zone {given:?}; valid zones are: is1a, is1b, is1c, tk1a, tk1b, tk1v")]
pub struct UnknownZone {
    /// What was given.
    pub given: String,
}

impl FromStr for Zone {
    type Err = UnknownZone;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Zone::ALL
            .into_iter()
            .find(|z| z.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownZone {
                given: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_zone_and_round_trips() {
        for z in Zone::ALL {
            assert_eq!(z.name().parse::<Zone>(), Ok(z));
            assert_eq!(z.to_string(), z.name());
        }
        assert_eq!(" IS1A ".parse::<Zone>(), Ok(Zone::Is1a));
    }

    #[test]
    fn unknown_zone_lists_valid_ones() {
        let err = "is2a".parse::<Zone>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"is2a\""), "{msg}");
        for z in Zone::ALL {
            assert!(msg.contains(z.name()), "{msg} lacks {z}");
        }
    }

    #[test]
    fn regions_and_ids() {
        assert_eq!(Zone::Is1a.id(), 31001);
        assert_eq!(Zone::Is1c.id(), 31003);
        assert_eq!(Zone::Tk1b.id(), 21002);
        assert_eq!(Zone::Tk1v.id(), 29001);
        assert_eq!(Zone::Is1b.region().code, "is1");
        assert_eq!(Zone::Is1b.region().id, 310);
        assert_eq!(Zone::Tk1a.region().code, "tk1");
        assert_eq!(Zone::Tk1a.region().id, 210);
        assert_eq!(Zone::Tk1v.region().id, 290);
    }
}
