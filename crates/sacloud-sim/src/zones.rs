//! The fixed zone and region table (reference §5).

use serde_json::{Value, json};

/// One SAKURA Cloud zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone {
    /// Numeric zone ID, e.g. 31001.
    pub id: u64,
    /// Zone name used in URLs, e.g. `is1a`.
    pub name: &'static str,
    /// Japanese description as the API returns it.
    pub description: &'static str,
    /// Whether this is the sandbox zone.
    pub is_dummy: bool,
    /// Region ID.
    pub region_id: u64,
    /// Region name.
    pub region_name: &'static str,
    /// Region name servers.
    pub name_servers: [&'static str; 2],
    /// Index used to give each zone its own shared-segment block.
    pub index: u8,
}

const ISHIKARI_NS: [&str; 2] = ["133.242.0.3", "133.242.0.4"];
const TOKYO_NS: [&str; 2] = ["210.188.224.10", "210.188.224.11"];

/// All zones the simulator serves. `tk1v` sits in the Sandbox region (290); the Go fake puts it in
/// 210, the real region list has 290 — see docs/simulator.md.
pub const ZONES: [Zone; 6] = [
    Zone {
        id: 31001,
        name: "is1a",
        description: "石狩第1ゾーン",
        is_dummy: false,
        region_id: 310,
        region_name: "石狩",
        name_servers: ISHIKARI_NS,
        index: 0,
    },
    Zone {
        id: 31002,
        name: "is1b",
        description: "石狩第2ゾーン",
        is_dummy: false,
        region_id: 310,
        region_name: "石狩",
        name_servers: ISHIKARI_NS,
        index: 1,
    },
    Zone {
        id: 31003,
        name: "is1c",
        description: "石狩第3ゾーン",
        is_dummy: false,
        region_id: 310,
        region_name: "石狩",
        name_servers: ISHIKARI_NS,
        index: 2,
    },
    Zone {
        id: 21001,
        name: "tk1a",
        description: "東京第1ゾーン",
        is_dummy: false,
        region_id: 210,
        region_name: "東京",
        name_servers: TOKYO_NS,
        index: 3,
    },
    Zone {
        id: 21002,
        name: "tk1b",
        description: "東京第2ゾーン",
        is_dummy: false,
        region_id: 210,
        region_name: "東京",
        name_servers: TOKYO_NS,
        index: 4,
    },
    Zone {
        id: 29001,
        name: "tk1v",
        description: "Sandbox",
        is_dummy: true,
        region_id: 290,
        region_name: "Sandbox",
        name_servers: TOKYO_NS,
        index: 5,
    },
];

/// Look a zone up by name.
pub fn by_name(name: &str) -> Option<&'static Zone> {
    ZONES.iter().find(|z| z.name == name)
}

/// Look a zone up by numeric ID.
pub fn by_id(id: u64) -> Option<&'static Zone> {
    ZONES.iter().find(|z| z.id == id)
}

impl Zone {
    /// The `Region` object.
    pub fn region_json(self, id: &dyn Fn(u64) -> Value) -> Value {
        json!({
            "ID": id(self.region_id),
            "Name": self.region_name,
            "Description": self.region_name,
            "NameServers": self.name_servers,
        })
    }

    /// The full `Zone` object as `GET zone/{id}` returns it.
    pub fn to_json(self, id: &dyn Fn(u64) -> Value) -> Value {
        json!({
            "ID": id(self.id),
            "Name": self.name,
            "Description": self.description,
            "DisplayOrder": self.index + 1,
            "IsDummy": self.is_dummy,
            "VNCProxy": {"HostName": format!("sac-{}-vnc.cloud.sakura.ad.jp", self.name), "IPAddress": null},
            "FTPServer": {"HostName": format!("sac-{}-ftp.cloud.sakura.ad.jp", self.name), "IPAddress": null},
            "Region": self.region_json(id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_reference() {
        assert_eq!(
            by_name("is1b").map(|z| (z.id, z.region_id)),
            Some((31002, 310))
        );
        assert_eq!(
            by_name("tk1a").map(|z| (z.id, z.region_id)),
            Some((21001, 210))
        );
        assert_eq!(by_name("is1c").map(|z| z.id), Some(31003));
        assert!(by_name("tk1v").is_some_and(|z| z.is_dummy));
        assert!(by_name("us1a").is_none());
        assert_eq!(by_id(31001).map(|z| z.name), Some("is1a"));
    }
}
