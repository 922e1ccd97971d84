//! Bridges: one L2 segment joining switches of several zones of a region, at most one switch
//! per zone (IAAS `naked/bridge.go`, `fake/ops_switch.go`). The bridge holds the membership; a
//! switch finds its bridge by looking here, so the switch model needs no field of its own.

use crate::error::ApiError;
use crate::render::zone_brief;
use crate::store::State;
use crate::time::format_jst;
use crate::wire::IdStyle;
use crate::zones;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A bridge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bridge {
    /// Resource ID.
    pub id: u64,
    /// Region ID (310 Ishikari, 210 Tokyo, 290 Sandbox): the zones it can join.
    pub region_id: u64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Creation time (simulated unix ms).
    pub created_at_ms: u64,
    /// Connected switch IDs, in connection order.
    pub switches: Vec<u64>,
}

/// A bridge declared by a scenario: the switches (by name, in their zones) it joins.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeSpec {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// The switches to connect, at most one per zone.
    #[serde(default)]
    pub switches: Vec<BridgeMember>,
}

/// A switch to connect to a bridge.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeMember {
    /// The switch's name (a router's switch has the router's name).
    pub name: String,
    /// Its zone (default: the scenario's zone).
    #[serde(default)]
    pub zone: Option<String>,
}

/// The bridge `switch` is connected to, if any.
pub fn of_switch(st: &State, switch: u64) -> Option<&Bridge> {
    st.bridges.values().find(|b| b.switches.contains(&switch))
}

/// The `Bridge` object a switch carries: `null` when it is not connected.
pub fn switch_ref(st: &State, switch: u64, ids: IdStyle) -> Value {
    match of_switch(st, switch) {
        Some(b) => json!({
            "ID": ids.id(b.id),
            "Name": b.name,
            "Description": b.description,
            "CreatedAt": format_jst(b.created_at_ms),
            "Region": region_json(b.region_id, ids),
        }),
        None => Value::Null,
    }
}

fn region_json(region_id: u64, ids: IdStyle) -> Value {
    zones::ZONES
        .iter()
        .find(|z| z.region_id == region_id)
        .map_or(Value::Null, |z| z.region_json(&|id| ids.id(id)))
}

/// A bridge as the API renders it read in zone `zone`: every zone's switches in `Info`, the
/// one of `zone` in `SwitchInZone`.
pub fn render(st: &State, b: &Bridge, zone: &str, ids: IdStyle) -> Value {
    let (servers, appliances) = (st.server_counts(), st.appliance_counts());
    let members: Vec<&crate::model::Switch> = b
        .switches
        .iter()
        .filter_map(|id| st.switches.get(id))
        .collect();
    let info: Vec<Value> = members
        .iter()
        .map(|s| {
            json!({
                "ID": ids.id(s.id),
                "Name": s.name,
                "Zone": zone_brief(&s.zone, ids),
            })
        })
        .collect();
    let in_zone = members
        .iter()
        .find(|s| s.zone == zone)
        .map_or(Value::Null, |s| {
            json!({
                "ID": ids.id(s.id),
                "Name": s.name,
                "Scope": "user",
                "ServerCount": servers.get(&s.id).copied().unwrap_or(0),
                "ApplianceCount": appliances.get(&s.id).copied().unwrap_or(0),
            })
        });
    json!({
        "ID": ids.id(b.id),
        "Name": b.name,
        "Description": b.description,
        "ServiceClass": "cloud/bridge",
        "CreatedAt": format_jst(b.created_at_ms),
        "Region": region_json(b.region_id, ids),
        "Info": {"Switches": info},
        "SwitchInZone": in_zone,
    })
}

/// Connects `switch` to bridge `bridge`; the switch must be in a zone of the bridge's region,
/// not on a bridge yet, and the bridge must have no switch in that zone (409 otherwise).
pub fn connect(st: &mut State, switch: u64, bridge: u64) -> Result<(), ApiError> {
    let sw = st
        .switches
        .get(&switch)
        .ok_or_else(|| ApiError::not_found(format!("Switch[ID:{switch}] is not found")))?;
    let zone = sw.zone.clone();
    let region = zones::by_name(&zone).map(|z| z.region_id);
    let b = st
        .bridges
        .get(&bridge)
        .ok_or_else(|| ApiError::not_found(format!("Bridge[ID:{bridge}] is not found")))?;
    if Some(b.region_id) != region {
        return Err(ApiError::invalid(format!(
            "Switch[ID:{switch}] in zone {zone} cannot join Bridge[ID:{bridge}] of another region"
        )));
    }
    if let Some(other) = of_switch(st, switch) {
        return Err(ApiError::conflict(
            "conflict",
            format!(
                "Switch[ID:{switch}] is already connected to Bridge[ID:{}]",
                other.id
            ),
        ));
    }
    let taken = b
        .switches
        .iter()
        .filter_map(|id| st.switches.get(id))
        .find(|s| s.zone == zone);
    if let Some(taken) = taken {
        return Err(ApiError::conflict(
            "conflict",
            format!(
                "Bridge[ID:{bridge}] already connected to switch[ID:{}] in zone {zone}",
                taken.id
            ),
        ));
    }
    if let Some(b) = st.bridges.get_mut(&bridge) {
        b.switches.push(switch);
    }
    Ok(())
}

/// Takes `switch` off its bridge (409 when it is on none).
pub fn disconnect(st: &mut State, switch: u64) -> Result<(), ApiError> {
    if !st.switches.contains_key(&switch) {
        return Err(ApiError::not_found(format!(
            "Switch[ID:{switch}] is not found"
        )));
    }
    let Some(id) = of_switch(st, switch).map(|b| b.id) else {
        return Err(ApiError::conflict(
            "conflict",
            format!("Switch[ID:{switch}] is not connected to a bridge"),
        ));
    };
    if let Some(b) = st.bridges.get_mut(&id) {
        b.switches.retain(|s| *s != switch);
    }
    Ok(())
}

/// Creates a bridge in the region of `zone`.
pub fn insert(st: &mut State, zone: &str, name: &str, description: &str, now_ms: u64) -> u64 {
    let region_id = zones::by_name(zone).map_or(0, |z| z.region_id);
    let id = st.alloc_id();
    st.bridges.insert(
        id,
        Bridge {
            id,
            region_id,
            name: name.to_owned(),
            description: description.to_owned(),
            created_at_ms: now_ms,
            switches: Vec::new(),
        },
    );
    id
}

/// Applies a scenario's bridge: creates it and connects its switches (found by name in their
/// zones, `default_zone` when a member names none).
pub fn apply_spec(
    st: &mut State,
    spec: &BridgeSpec,
    default_zone: &str,
    now_ms: u64,
) -> Result<u64, String> {
    let what = format!("bridge {}", spec.name);
    let mut members = Vec::new();
    for m in &spec.switches {
        let zone = m.zone.as_deref().unwrap_or(default_zone);
        if zones::by_name(zone).is_none() {
            return Err(format!("{what}: unknown zone {zone:?}"));
        }
        let id = st
            .switches
            .values()
            .find(|s| s.zone == zone && s.name == m.name)
            .map(|s| s.id)
            .ok_or_else(|| format!("{what}: no switch named {:?} in zone {zone}", m.name))?;
        members.push(id);
    }
    let zone = spec
        .switches
        .first()
        .and_then(|m| m.zone.as_deref())
        .unwrap_or(default_zone);
    let id = insert(st, zone, &spec.name, &spec.description, now_ms);
    for switch in members {
        connect(st, switch, id).map_err(|e| format!("{what}: {}", e.message))?;
    }
    Ok(id)
}
