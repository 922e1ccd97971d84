//! `appliance`: the load balancer's whole life (create, read, update, config, power, status,
//! delete); other classes are listed and readable when seeded through the admin API.

use super::{Ctx, Handled, Reply, body_json, refusal};
use crate::error::ApiError;
use crate::find::{Fields, parse_query, run};
use crate::ip::Cidr;
use crate::lb::{self, LbEntry, NetContext};
use crate::lifecycle::{self, PowerOp};
use crate::model::{Appliance, ApplianceSettings, InstanceStatus};
use crate::render;
use crate::store::{State, SwitchNet};
use crate::wire::{self, parse_tags};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::net::Ipv4Addr;

fn fields(a: &Appliance) -> Fields<'_> {
    Fields {
        id: a.id,
        name: &a.name,
        tags: &a.tags,
        class: Some(&a.class),
        provider_class: None,
        scope: None,
        zone: &a.zone,
        created_at_s: i64::try_from(a.created_at_ms / 1000).unwrap_or(i64::MAX),
    }
}

fn get<'s>(st: &'s State, ctx: &Ctx, id: u64) -> Result<&'s Appliance, ApiError> {
    st.appliances
        .get(&id)
        .filter(|a| a.zone == ctx.zone.name)
        .ok_or_else(|| ApiError::not_found(format!("Appliance[ID:{id}] is not found")))
}

fn get_mut<'s>(st: &'s mut State, ctx: &Ctx, id: u64) -> Result<&'s mut Appliance, ApiError> {
    st.appliances
        .get_mut(&id)
        .filter(|a| a.zone == ctx.zone.name)
        .ok_or_else(|| ApiError::not_found(format!("Appliance[ID:{id}] is not found")))
}

/// The network an appliance's addresses must live in, and what is already taken there.
fn net_context(
    st: &State,
    switch_id: u64,
    ips: &[Ipv4Addr],
    mask_len: u8,
    exclude: Option<u64>,
) -> Result<NetContext, ApiError> {
    let used = st.used_on_switch(switch_id, exclude);
    match st.switch_net(switch_id) {
        Some(SwitchNet::Router { net, layout }) => {
            if mask_len != net.prefix {
                return Err(ApiError::invalid(format!(
                    "Remark.Network.NetworkMaskLen must be {} for the switch of this router (got {mask_len})",
                    net.prefix
                )));
            }
            Ok(NetContext {
                network: net,
                range: Some((layout.min, layout.max)),
                used,
            })
        }
        Some(SwitchNet::Plain { .. }) => {
            let first = ips
                .first()
                .copied()
                .ok_or_else(|| ApiError::invalid("Remark.Servers is empty"))?;
            let network = Cidr::new(first, mask_len)
                .ok_or_else(|| ApiError::invalid("bad NetworkMaskLen"))?;
            Ok(NetContext {
                network,
                range: None,
                used,
            })
        }
        None => Err(ApiError::invalid(format!(
            "Remark.Switch.ID {switch_id} does not exist"
        ))),
    }
}

fn envelope_object(body: &[u8]) -> Result<Value, ApiError> {
    let v = body_json(body)?;
    match v.get("Appliance") {
        Some(a) if a.is_object() => Ok(a.clone()),
        _ => Err(ApiError::malformed(
            "request body must be {\"Appliance\":{…}}",
        )),
    }
}

pub fn find(st: &State, ctx: &Ctx, query: Option<&str>) -> Handled {
    let q = parse_query(query)?;
    let zone = ctx.zone.name;
    let (total, from, items) = run(
        st.appliances.values().filter(|a| a.zone == zone),
        &q,
        fields,
        |a| render::appliance(st, a, ctx.ids),
    );
    Ok(Reply::ok(wire::find("Appliances", total, from, items)))
}

pub fn read(st: &State, ctx: &Ctx, id: u64) -> Handled {
    let a = get(st, ctx, id)?;
    Ok(Reply::ok(wire::single(
        "Appliance",
        render::appliance(st, a, ctx.ids),
        None,
    )))
}

pub fn create(st: &mut State, ctx: &Ctx, body: &[u8]) -> Handled {
    let req = lb::parse_create(&envelope_object(body)?)?;
    if st
        .switches
        .get(&req.switch_id)
        .is_none_or(|s| s.zone != ctx.zone.name)
    {
        return Err(ApiError::invalid(format!(
            "Remark.Switch.ID {} does not exist in zone {}",
            req.switch_id, ctx.zone.name
        )));
    }
    let net = net_context(st, req.switch_id, &req.ips, req.mask_len, None)?;
    lb::check_appliance_ips(&req.ips, &net)?;
    if let Some(gw) = req.default_route
        && !net.network.is_host(gw)
    {
        return Err(ApiError::invalid(format!(
            "Remark.Network.DefaultRoute {gw} is outside {}",
            net.network
        )));
    }
    if st.vrids_on_switch(req.switch_id, None).contains(&req.vrid) {
        return Err(ApiError::invalid(format!(
            "VRID {} is already used on switch {}",
            req.vrid, req.switch_id
        )));
    }
    lb::check_entries(&req.settings, &req.ips, &net)?;
    let settings = ApplianceSettings::LoadBalancer(req.settings);
    let id = st.alloc_id();
    let nic_ids = req.ips.iter().map(|_| st.alloc_id()).collect();
    let a = Appliance {
        id,
        zone: ctx.zone.name.to_owned(),
        class: "loadbalancer".to_owned(),
        name: req.name,
        description: req.description,
        tags: crate::model::sorted_tags(req.tags),
        icon: req.icon,
        plan_id: req.plan_id,
        switch_id: req.switch_id,
        vrid: req.vrid,
        mask_len: req.mask_len,
        default_route: req.default_route,
        ips: req.ips,
        extra_ips: Vec::new(),
        nic_ids,
        settings_hash: lb::settings_hash(&render::settings(&settings)),
        applied: Some(settings.clone()),
        settings,
        power: lifecycle::created_booting(ctx.now_ms, ctx.boot_ms),
        created_at_ms: ctx.now_ms,
        server_health: std::collections::BTreeMap::new(),
    };
    let obj = render::appliance(st, &a, ctx.ids);
    st.appliances.insert(id, a);
    Ok(Reply::changed(
        StatusCode::ACCEPTED,
        wire::single("Appliance", obj, Some(json!("Accepted"))),
    ))
}

pub fn update(st: &mut State, ctx: &Ctx, id: u64, body: &[u8]) -> Handled {
    let req = envelope_object(body)?;
    let cur = get(st, ctx, id)?;
    if let Some(h) = req
        .get("SettingsHash")
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
        && h != cur.settings_hash
    {
        return Err(ApiError::conflict(
            "conflict",
            format!(
                "SettingsHash {h} is stale: the settings of Appliance[ID:{id}] were changed by someone else (current {})",
                cur.settings_hash
            ),
        ));
    }
    let name = match req.get("Name").filter(|v| !v.is_null()) {
        Some(Value::String(n)) => {
            lb::check_name(n)?;
            Some(n.clone())
        }
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Name must be a string, got {other}"
            )));
        }
        None => None,
    };
    let description = match req.get("Description").filter(|v| !v.is_null()) {
        Some(Value::String(d)) => Some(d.clone()),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Description must be a string, got {other}"
            )));
        }
        None => None,
    };
    let tags = match req.get("Tags") {
        Some(t) if !t.is_null() => Some(parse_tags(Some(t)).map_err(ApiError::invalid)?),
        _ => None,
    };
    let settings = match req.get("Settings").filter(|v| !v.is_null()) {
        None => None,
        Some(s) if cur.class == "loadbalancer" => {
            let entries: Vec<LbEntry> = lb::parse_settings(Some(s))?;
            let net = net_context(st, cur.switch_id, &cur.ips, cur.mask_len, Some(id))?;
            lb::check_entries(&entries, &cur.ips, &net)?;
            Some(ApplianceSettings::LoadBalancer(entries))
        }
        Some(s) => Some(ApplianceSettings::Other(s.clone())),
    };
    let a = get_mut(st, ctx, id)?;
    if let Some(n) = name {
        a.name = n;
    }
    if let Some(d) = description {
        a.description = d;
    }
    if let Some(t) = tags {
        a.tags = crate::model::sorted_tags(t);
    }
    if let Some(icon) = req.get("Icon") {
        a.icon = icon.clone();
    }
    if let Some(s) = settings {
        a.settings_hash = lb::settings_hash(&render::settings(&s));
        a.settings = s;
    }
    let obj = render::appliance(st, get(st, ctx, id)?, ctx.ids);
    Ok(Reply::changed(
        StatusCode::OK,
        wire::single("Appliance", obj, Some(json!(true))),
    ))
}

pub fn config(st: &mut State, ctx: &Ctx, id: u64) -> Handled {
    let a = get_mut(st, ctx, id)?;
    if a.power.availability == crate::model::Availability::Migrating {
        return Err(refusal("Appliance", id, lifecycle::Refusal::StillCreating));
    }
    a.applied = Some(a.settings.clone());
    Ok(Reply::changed(StatusCode::OK, wire::success()))
}

pub fn power_status(st: &State, ctx: &Ctx, id: u64) -> Handled {
    let a = get(st, ctx, id)?;
    Ok(Reply::ok(
        json!({"Instance": {"Status": a.power.status.as_str()}, "is_ok": true}),
    ))
}

fn power(st: &mut State, ctx: &Ctx, id: u64, op: PowerOp) -> Handled {
    let delay = if op == PowerOp::Boot {
        ctx.boot_ms
    } else {
        ctx.shutdown_ms
    };
    let a = get_mut(st, ctx, id)?;
    lifecycle::request(&mut a.power, op, delay, ctx.now_ms)
        .map_err(|r| refusal("Appliance", id, r))?;
    Ok(Reply::changed(StatusCode::OK, wire::success()))
}

pub fn boot(st: &mut State, ctx: &Ctx, id: u64) -> Handled {
    power(st, ctx, id, PowerOp::Boot)
}

pub fn shutdown(st: &mut State, ctx: &Ctx, id: u64, body: &[u8]) -> Handled {
    // `{"Force":true}` is accepted (also as the string "true", as form-minded clients send it);
    // forced or not, the appliance passes through `cleaning`.
    let b = body_json(body)?;
    if let Some(f) = b.get("Force")
        && !f.is_null()
        && wire::parse_flag(f).is_none()
    {
        return Err(ApiError::invalid(format!(
            "Force must be a boolean, got {f}"
        )));
    }
    power(st, ctx, id, PowerOp::Shutdown)
}

pub fn delete(st: &mut State, ctx: &Ctx, id: u64) -> Handled {
    let a = get(st, ctx, id)?;
    lifecycle::check_deletable(&a.power).map_err(|r| refusal("Appliance", id, r))?;
    let obj = render::appliance(st, a, ctx.ids);
    st.appliances.remove(&id);
    Ok(Reply::changed(
        StatusCode::OK,
        wire::single("Appliance", obj, Some(json!(true))),
    ))
}

pub fn status(st: &State, ctx: &Ctx, id: u64) -> Handled {
    let a = get(st, ctx, id)?;
    let entries = match a.applied.as_ref().unwrap_or(&a.settings) {
        ApplianceSettings::LoadBalancer(e) => e,
        ApplianceSettings::Other(_) => {
            return Err(ApiError::invalid(format!(
                "Appliance[ID:{id}] is a {}, not a load balancer",
                a.class
            )));
        }
    };
    let running = a.power.status == InstanceStatus::Up;
    let alive = st.up_server_ips(&a.zone);
    let list: Vec<Value> = entries
        .iter()
        .map(|e| {
            let servers: Vec<Value> = e
                .servers
                .iter()
                .map(|s| {
                    let up = running
                        && s.enabled
                        && lb::server_up(&a.server_health, s.ip, s.port, alive.contains(&s.ip));
                    // Numbers are strings, as the real API sends them.
                    json!({
                        "IPAddress": s.ip.to_string(),
                        "Port": s.port.to_string(),
                        "Status": if up { "UP" } else { "DOWN" },
                        "ActiveConn": "0",
                        "CPS": "0",
                    })
                })
                .collect();
            json!({"VirtualIPAddress": e.vip.to_string(), "Port": e.port.to_string(), "CPS": "0", "Servers": servers})
        })
        .collect();
    Ok(Reply::ok(json!({"LoadBalancer": list, "is_ok": true})))
}
