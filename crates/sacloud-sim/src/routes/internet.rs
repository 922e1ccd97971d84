//! `internet` (routers): find and read. The find envelope key is `Internet`, not a plural.

use super::{Ctx, Handled, Reply};
use crate::error::ApiError;
use crate::find::{Fields, parse_query, run};
use crate::model::Router;
use crate::render;
use crate::store::State;
use crate::wire;

fn fields(r: &Router) -> Fields<'_> {
    Fields {
        id: r.id,
        name: &r.name,
        tags: &r.tags,
        class: None,
        provider_class: None,
        scope: Some("user"),
        zone: &r.zone,
        created_at_s: i64::try_from(r.created_at_ms / 1000).unwrap_or(i64::MAX),
    }
}

fn render_one(st: &State, r: &Router, ctx: &Ctx) -> serde_json::Value {
    let sw_name = st
        .switches
        .get(&r.switch_id)
        .map_or("", |s| s.name.as_str());
    render::router(r, sw_name, ctx.ids)
}

pub fn find(st: &State, ctx: &Ctx, query: Option<&str>) -> Handled {
    let q = parse_query(query)?;
    let zone = ctx.zone.name;
    let (total, from, items) = run(
        st.routers.values().filter(|r| r.zone == zone),
        &q,
        fields,
        |r| render_one(st, r, ctx),
    );
    Ok(Reply::ok(wire::find("Internet", total, from, items)))
}

pub fn read(st: &State, ctx: &Ctx, id: u64) -> Handled {
    let r = st
        .routers
        .get(&id)
        .filter(|r| r.zone == ctx.zone.name)
        .ok_or_else(|| ApiError::not_found(format!("Internet[ID:{id}] is not found")))?;
    Ok(Reply::ok(wire::single(
        "Internet",
        render_one(st, r, ctx),
        None,
    )))
}
