//! `server`: find, read, power.

use super::{Ctx, Handled, Reply, body_json, refusal};
use crate::error::ApiError;
use crate::find::{Fields, parse_query, run};
use crate::lifecycle::{self, PowerOp};
use crate::model::Server;
use crate::render;
use crate::store::State;
use crate::wire;
use axum::http::StatusCode;
use serde_json::json;

fn fields(s: &Server) -> Fields<'_> {
    Fields {
        id: s.id,
        name: &s.name,
        tags: &s.tags,
        class: None,
        provider_class: None,
        scope: None,
        zone: &s.zone,
        created_at_s: i64::try_from(s.created_at_ms / 1000).unwrap_or(i64::MAX),
    }
}

fn get<'s>(st: &'s State, ctx: &Ctx, id: u64) -> Result<&'s Server, ApiError> {
    st.servers
        .get(&id)
        .filter(|s| s.zone == ctx.zone.name)
        .ok_or_else(|| ApiError::not_found(format!("Server[ID:{id}] is not found")))
}

pub fn find(st: &State, ctx: &Ctx, query: Option<&str>) -> Handled {
    let q = parse_query(query)?;
    let zone = ctx.zone.name;
    let (total, from, items) = run(
        st.servers.values().filter(|s| s.zone == zone),
        &q,
        fields,
        |s| render::server(st, s, ctx.ids),
    );
    Ok(Reply::ok(wire::find("Servers", total, from, items)))
}

pub fn read(st: &State, ctx: &Ctx, id: u64) -> Handled {
    let s = get(st, ctx, id)?;
    Ok(Reply::ok(wire::single(
        "Server",
        render::server(st, s, ctx.ids),
        None,
    )))
}

pub fn power_status(st: &State, ctx: &Ctx, id: u64) -> Handled {
    let s = get(st, ctx, id)?;
    Ok(Reply::ok(
        json!({"Instance": {"Status": s.power.status.as_str()}, "is_ok": true}),
    ))
}

fn power(st: &mut State, ctx: &Ctx, id: u64, op: PowerOp) -> Handled {
    get(st, ctx, id)?;
    let delay = if op == PowerOp::Boot {
        ctx.boot_ms
    } else {
        ctx.shutdown_ms
    };
    let s = st
        .servers
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(format!("Server[ID:{id}] is not found")))?;
    lifecycle::request(&mut s.power, op, delay, ctx.now_ms)
        .map_err(|r| refusal("Server", id, r))?;
    Ok(Reply::changed(StatusCode::OK, wire::success()))
}

pub fn boot(st: &mut State, ctx: &Ctx, id: u64) -> Handled {
    power(st, ctx, id, PowerOp::Boot)
}

pub fn shutdown(st: &mut State, ctx: &Ctx, id: u64, body: &[u8]) -> Handled {
    // `{"Force":true}` is accepted; a forced stop takes the same path through `cleaning`.
    body_json(body)?;
    power(st, ctx, id, PowerOp::Shutdown)
}
