//! Rendering stored resources into the JSON the real API returns (reference §2.4).
//!
//! Field names and value types follow the reference fixtures: string numbers inside `Settings`,
//! `"True"`/`"False"` flags, `Remark.Switch.ID` always a string, tags sorted, IDs per [`IdStyle`].

use crate::ip::router_layout;
use crate::lb::settings_json;
use crate::model::{Appliance, ApplianceSettings, Nic, NicConn, Power, Router, Server, Switch};
use crate::store::{SHARED_SWITCH_BASE, State, shared_segment};
use crate::time::format_jst;
use crate::wire::{IdStyle, opt_ip};
use crate::zones::{self, Zone};
use serde_json::{Value, json};

/// The `Zone` object embedded in resources.
pub fn zone_brief(name: &str, ids: IdStyle) -> Value {
    match zones::by_name(name) {
        Some(z) => json!({
            "ID": ids.id(z.id),
            "Name": z.name,
            "Description": z.description,
            "IsDummy": z.is_dummy,
            "Region": z.region_json(&|id| ids.id(id)),
        }),
        None => Value::Null,
    }
}

fn instance(p: &Power) -> Value {
    json!({
        "Status": p.status.as_str(),
        "BeforeStatus": p.before_status.map(|s| s.as_str()),
        "StatusChangedAt": format_jst(p.changed_at_ms),
    })
}

/// `Subnet` of a router's switch as seen from an attached NIC or appliance.
fn router_subnet(r: &Router, ids: IdStyle) -> Value {
    let gw = router_layout(r.network).map(|l| l.gateway);
    json!({
        "ID": ids.id(r.subnet_id),
        "NetworkAddress": r.network.network.to_string(),
        "NetworkMaskLen": r.network.prefix,
        "DefaultRoute": opt_ip(gw),
        "Internet": {"BandWidthMbps": r.bandwidth_mbps},
    })
}

/// The `Switch` object inside a user-switch NIC (server or appliance).
fn nic_switch(
    st: &State,
    switch_id: u64,
    mask_len: Option<u8>,
    default_route: Option<std::net::Ipv4Addr>,
    ids: IdStyle,
) -> Value {
    let sw = st.switches.get(&switch_id);
    let router = sw
        .and_then(|s| s.router_id)
        .and_then(|id| st.routers.get(&id));
    let name = sw.map_or("", |s| s.name.as_str());
    match router {
        Some(r) => {
            let gw = router_layout(r.network).map(|l| l.gateway);
            json!({
                "ID": ids.id(switch_id),
                "Name": name,
                "Scope": "user",
                "Subnet": router_subnet(r, ids),
                "UserSubnet": {"DefaultRoute": opt_ip(gw), "NetworkMaskLen": r.network.prefix},
            })
        }
        None => {
            let declared = sw.and_then(|s| s.user_subnet.as_ref());
            let mask = mask_len.or_else(|| declared.and_then(|u| u.network).map(|n| n.prefix));
            let gw = default_route.or_else(|| declared.and_then(|u| u.default_route));
            json!({
                "ID": ids.id(switch_id),
                "Name": name,
                "Scope": "user",
                "Subnet": null,
                "UserSubnet": {"DefaultRoute": opt_ip(gw), "NetworkMaskLen": mask},
            })
        }
    }
}

fn nic_json(st: &State, zone: Option<&Zone>, n: &Nic, ids: IdStyle) -> Value {
    let (ip, user_ip, switch) = match &n.conn {
        NicConn::Shared { ip } => {
            let seg = zone.map(shared_segment);
            let switch = json!({
                "ID": ids.id(SHARED_SWITCH_BASE + zone.map_or(0, |z| u64::from(z.index))),
                "Name": "スイッチ",
                "Scope": "shared",
                "Subnet": {
                    "NetworkAddress": seg.map(|s| s.network.to_string()),
                    "NetworkMaskLen": seg.map(|s| s.prefix),
                    "DefaultRoute": seg.and_then(|s| s.nth(1)).map(|g| g.to_string()),
                    "Internet": {"BandWidthMbps": 100},
                },
                "UserSubnet": null,
            });
            (Some(*ip), None, switch)
        }
        NicConn::Switch {
            switch_id,
            ip,
            mask_len,
            default_route,
        } => (
            None,
            *ip,
            nic_switch(st, *switch_id, *mask_len, *default_route, ids),
        ),
        NicConn::Disconnected => (None, None, Value::Null),
    };
    json!({
        "ID": ids.id(n.id),
        "MACAddress": n.mac,
        "IPAddress": opt_ip(ip),
        "UserIPAddress": opt_ip(user_ip),
        "HostName": null,
        "Switch": switch,
    })
}

/// A `Server` object.
pub fn server(st: &State, s: &Server, ids: IdStyle) -> Value {
    let zone = zones::by_name(&s.zone);
    let mem_gb = s.memory_mb / 1024;
    let class = format!("cloud/plan/{}core-{}gb", s.cpu, mem_gb);
    json!({
        "ID": ids.id(s.id),
        "Name": s.name,
        "HostName": s.host_name,
        "Description": s.description,
        "Tags": s.tags,
        "Icon": null,
        "Availability": s.power.availability.as_str(),
        "ServiceClass": class,
        "InterfaceDriver": "virtio",
        "CreatedAt": format_jst(s.created_at_ms),
        "ServerPlan": {
            "ID": ids.id(100_000_000 + u64::from(mem_gb) * 1000 + u64::from(s.cpu)),
            "Name": format!("プラン/{}Core-{}GB", s.cpu, mem_gb),
            "CPU": s.cpu,
            "MemoryMB": s.memory_mb,
            "GPU": 0,
            "ServiceClass": class,
            "Generation": 100,
            "Commitment": "standard",
        },
        "Zone": zone_brief(&s.zone, ids),
        "Instance": {
            "Status": s.power.status.as_str(),
            "BeforeStatus": s.power.before_status.map(|x| x.as_str()),
            "StatusChangedAt": format_jst(s.power.changed_at_ms),
            "Host": {"Name": s.host, "InfoURL": "", "Class": "dynamic", "Version": 1, "SystemVersion": ""},
        },
        "Disks": [],
        "Interfaces": s.nics.iter().map(|n| nic_json(st, zone, n, ids)).collect::<Vec<_>>(),
        "PrivateHost": null,
    })
}

fn internet_brief(r: &Router, ids: IdStyle) -> Value {
    json!({
        "ID": ids.id(r.id),
        "Name": r.name,
        "BandWidthMbps": r.bandwidth_mbps,
        "Scope": "user",
        "ServiceClass": format!("cloud/internet/router/{}m", r.bandwidth_mbps),
    })
}

/// A `Switch` object; counts come from [`State::server_counts`]/[`State::appliance_counts`].
pub fn switch(
    st: &State,
    sw: &Switch,
    ids: IdStyle,
    server_count: usize,
    appliance_count: usize,
) -> Value {
    let router = sw.router_id.and_then(|id| st.routers.get(&id));
    let (subnets, internet, user_subnet) = match router {
        Some(r) => {
            let l = router_layout(r.network);
            let subnet = json!({
                "ID": ids.id(r.subnet_id),
                "NetworkAddress": r.network.network.to_string(),
                "NetworkMaskLen": r.network.prefix,
                "DefaultRoute": opt_ip(l.map(|l| l.gateway)),
                "NextHop": null,
                "StaticRoute": null,
                "ServiceClass": format!("cloud/global-ipaddress-v4/{}", r.network.prefix),
                "IPAddresses": {"Min": opt_ip(l.map(|l| l.min)), "Max": opt_ip(l.map(|l| l.max))},
                "Internet": {
                    "ID": ids.id(r.id),
                    "Name": r.name,
                    "BandWidthMbps": r.bandwidth_mbps,
                    "ServiceClass": format!("cloud/internet/router/{}m", r.bandwidth_mbps),
                },
            });
            (vec![subnet], internet_brief(r, ids), Value::Null)
        }
        None => {
            let us = sw.user_subnet.as_ref().map_or(Value::Null, |u| {
                json!({"DefaultRoute": opt_ip(u.default_route), "NetworkMaskLen": u.network.map(|n| n.prefix)})
            });
            (Vec::new(), Value::Null, us)
        }
    };
    json!({
        "ID": ids.id(sw.id),
        "Name": sw.name,
        "Description": sw.description,
        "Tags": sw.tags,
        "Icon": null,
        "CreatedAt": format_jst(sw.created_at_ms),
        "Scope": "user",
        "ServiceClass": "cloud/switch/default",
        "ServerCount": server_count,
        "ApplianceCount": appliance_count,
        "Subnet": null,
        "UserSubnet": user_subnet,
        "Subnets": subnets,
        "IPv6Nets": [],
        "Internet": internet,
        "Bridge": crate::bridge::switch_ref(st, sw.id, ids),
        "HybridConnection": null,
        "Zone": zone_brief(&sw.zone, ids),
    })
}

/// An `Internet` (router) object. Its `Switch.Subnets` deliberately lack `IPAddresses`: clients
/// must read `switch/{id}` for the assignable range, as on the real API.
pub fn router(r: &Router, sw_name: &str, ids: IdStyle) -> Value {
    let gw = router_layout(r.network).map(|l| l.gateway);
    json!({
        "ID": ids.id(r.id),
        "Name": r.name,
        "Description": r.description,
        "Tags": r.tags,
        "Icon": null,
        "CreatedAt": format_jst(r.created_at_ms),
        "Scope": "user",
        "ServiceClass": format!("cloud/internet/router/{}m", r.bandwidth_mbps),
        "BandWidthMbps": r.bandwidth_mbps,
        "NetworkMaskLen": r.network.prefix,
        "Switch": {
            "ID": ids.id(r.switch_id),
            "Name": sw_name,
            "Scope": "user",
            "Subnets": [{
                "ID": ids.id(r.subnet_id),
                "NetworkAddress": r.network.network.to_string(),
                "NetworkMaskLen": r.network.prefix,
                "DefaultRoute": opt_ip(gw),
                "NextHop": null,
                "StaticRoute": null,
            }],
            "IPv6Nets": [],
        },
        "Zone": zone_brief(&r.zone, ids),
    })
}

fn appliance_mac(nic_id: u64) -> String {
    format!(
        "9C:A3:BB:{:02X}:{:02X}:{:02X}",
        (nic_id >> 16) & 0xff,
        (nic_id >> 8) & 0xff,
        nic_id & 0xff
    )
}

/// Render appliance settings.
pub fn settings(s: &ApplianceSettings) -> Value {
    match s {
        ApplianceSettings::LoadBalancer(entries) => settings_json(entries),
        ApplianceSettings::Other(v) => v.clone(),
    }
}

/// An `Appliance` object.
pub fn appliance(st: &State, a: &Appliance, ids: IdStyle) -> Value {
    let sw = st.switches.get(&a.switch_id);
    let router = sw
        .and_then(|s| s.router_id)
        .and_then(|id| st.routers.get(&id));
    let zone_id = zones::by_name(&a.zone).map_or(0, |z| z.id);
    let switch = json!({
        "ID": ids.id(a.switch_id),
        "Name": sw.map_or("", |s| s.name.as_str()),
        "Scope": "user",
        "Subnet": router.map_or(Value::Null, |r| router_subnet(r, ids)),
        "UserSubnet": {"DefaultRoute": opt_ip(a.default_route), "NetworkMaskLen": a.mask_len},
        "Internet": router.map_or(Value::Null, |r| internet_brief(r, ids)),
        "Zone": zone_brief(&a.zone, ids),
    });
    let interfaces: Vec<Value> = a
        .ips
        .iter()
        .zip(a.nic_ids.iter())
        .map(|(ip, nic)| {
            json!({
                "ID": ids.id(*nic),
                "MACAddress": appliance_mac(*nic),
                "IPAddress": null,
                "UserIPAddress": ip.to_string(),
                "HostName": null,
                "Switch": nic_switch(st, a.switch_id, Some(a.mask_len), a.default_route, ids),
            })
        })
        .collect();
    let service_class = match a.class.as_str() {
        "loadbalancer" => format!("cloud/appliance/loadbalancer/{}", a.plan_id),
        other => format!("cloud/appliance/{other}/{}", a.plan_id),
    };
    json!({
        "ID": ids.id(a.id),
        "Class": a.class,
        "Name": a.name,
        "Description": a.description,
        "Tags": a.tags,
        "Icon": a.icon,
        "Plan": {"ID": ids.id(a.plan_id)},
        "ServiceClass": service_class,
        "Availability": a.power.availability.as_str(),
        "Instance": instance(&a.power),
        "Settings": settings(&a.settings),
        "SettingsHash": a.settings_hash,
        "Remark": {
            "Zone": {"ID": ids.id(zone_id)},
            "Switch": {"ID": a.switch_id.to_string()},
            "VRRP": {"VRID": a.vrid},
            "Network": {"NetworkMaskLen": a.mask_len, "DefaultRoute": a.default_route.map_or(String::new(), |g| g.to_string())},
            "Servers": a.ips.iter().map(|ip| json!({"IPAddress": ip.to_string()})).collect::<Vec<_>>(),
            "Plan": {"ID": ids.id(a.plan_id)},
        },
        "Switch": switch,
        "Interfaces": interfaces,
        "CreatedAt": format_jst(a.created_at_ms),
    })
}
