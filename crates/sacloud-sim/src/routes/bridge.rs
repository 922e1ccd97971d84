//! `bridge` (zonal CRUD over a region-wide resource) and connecting switches to bridges.

use super::{Ctx, Handled, Reply, body_json};
use crate::bridge::{self, Bridge};
use crate::error::ApiError;
use crate::find::{Fields, parse_query, run};
use crate::store::State;
use crate::wire;
use axum::http::StatusCode;
use serde_json::Value;

const NO_TAGS: &[String] = &[];

/// Bridges are seen from every zone of their region.
fn visible(b: &Bridge, ctx: &Ctx) -> bool {
    b.region_id == ctx.zone.region_id
}

fn get<'a>(st: &'a State, ctx: &Ctx, id: u64) -> Result<&'a Bridge, ApiError> {
    st.bridges
        .get(&id)
        .filter(|b| visible(b, ctx))
        .ok_or_else(|| ApiError::not_found(format!("Bridge[ID:{id}] is not found")))
}

/// `{"Bridge": {"Name", "Description"}}`: the writable fields; `None` for those not given.
fn writable(body: &[u8]) -> Result<(Option<String>, Option<String>), ApiError> {
    let v = body_json(body)?;
    let Some(b) = v.get("Bridge").filter(|b| b.is_object()) else {
        return Err(ApiError::malformed("request body must be {\"Bridge\":{…}}"));
    };
    let text = |key: &str| -> Result<Option<String>, ApiError> {
        match b.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ApiError::invalid(format!(
                "{key} must be a string, got {other}"
            ))),
        }
    };
    Ok((text("Name")?, text("Description")?))
}

pub fn find(st: &State, ctx: &Ctx, query: Option<&str>) -> Handled {
    let q = parse_query(query)?;
    let zone = ctx.zone.name;
    let (total, from, items) = run(
        st.bridges.values().filter(|b| visible(b, ctx)),
        &q,
        |b: &Bridge| Fields {
            id: b.id,
            name: &b.name,
            tags: NO_TAGS,
            class: None,
            provider_class: None,
            scope: None,
            zone,
            created_at_s: i64::try_from(b.created_at_ms / 1000).unwrap_or(i64::MAX),
        },
        |b| bridge::render(st, b, zone, ctx.ids),
    );
    Ok(Reply::ok(wire::find("Bridges", total, from, items)))
}

pub fn read(st: &State, ctx: &Ctx, id: u64) -> Handled {
    let b = get(st, ctx, id)?;
    Ok(Reply::ok(wire::single(
        "Bridge",
        bridge::render(st, b, ctx.zone.name, ctx.ids),
        None,
    )))
}

pub fn create(st: &mut State, ctx: &Ctx, body: &[u8]) -> Handled {
    let (name, description) = writable(body)?;
    let name = name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("Name is required"))?;
    let id = bridge::insert(
        st,
        ctx.zone.name,
        &name,
        &description.unwrap_or_default(),
        ctx.now_ms,
    );
    let b = get(st, ctx, id)?;
    Ok(Reply::changed(
        StatusCode::CREATED,
        wire::single(
            "Bridge",
            bridge::render(st, b, ctx.zone.name, ctx.ids),
            Some(Value::Bool(true)),
        ),
    ))
}

pub fn update(st: &mut State, ctx: &Ctx, id: u64, body: &[u8]) -> Handled {
    let (name, description) = writable(body)?;
    get(st, ctx, id)?;
    if let Some(b) = st.bridges.get_mut(&id) {
        if let Some(n) = name.filter(|n| !n.trim().is_empty()) {
            b.name = n;
        }
        if let Some(d) = description {
            b.description = d;
        }
    }
    let b = get(st, ctx, id)?;
    Ok(Reply::changed(
        StatusCode::OK,
        wire::single(
            "Bridge",
            bridge::render(st, b, ctx.zone.name, ctx.ids),
            Some(Value::Bool(true)),
        ),
    ))
}

/// A bridge with switches cannot go (the real API refuses it too).
pub fn delete(st: &mut State, ctx: &Ctx, id: u64) -> Handled {
    let b = get(st, ctx, id)?;
    if !b.switches.is_empty() {
        return Err(ApiError::conflict(
            "conflict",
            format!(
                "Bridge[ID:{id}] still has {} switches connected; disconnect them first",
                b.switches.len()
            ),
        ));
    }
    let body = wire::single(
        "Bridge",
        bridge::render(st, b, ctx.zone.name, ctx.ids),
        Some(Value::Bool(true)),
    );
    st.bridges.remove(&id);
    Ok(Reply::changed(StatusCode::OK, body))
}

/// The switch must be in the URL's zone.
fn switch_in_zone(st: &State, ctx: &Ctx, id: u64) -> Result<(), ApiError> {
    st.switches
        .get(&id)
        .filter(|s| s.zone == ctx.zone.name)
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found(format!("Switch[ID:{id}] is not found")))
}

pub fn connect(st: &mut State, ctx: &Ctx, switch: u64, bridge_id: u64) -> Handled {
    switch_in_zone(st, ctx, switch)?;
    get(st, ctx, bridge_id)?;
    bridge::connect(st, switch, bridge_id)?;
    Ok(Reply::changed(StatusCode::OK, wire::success()))
}

pub fn disconnect(st: &mut State, ctx: &Ctx, switch: u64) -> Handled {
    switch_in_zone(st, ctx, switch)?;
    bridge::disconnect(st, switch)?;
    Ok(Reply::changed(StatusCode::OK, wire::success()))
}
