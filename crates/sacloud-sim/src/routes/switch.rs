//! `switch`: find and read (plain switches and routers' switches).

use super::{Ctx, Handled, Reply};
use crate::error::ApiError;
use crate::find::{Fields, parse_query, run};
use crate::model::Switch;
use crate::render;
use crate::store::State;
use crate::wire;

fn fields(s: &Switch) -> Fields<'_> {
    Fields {
        id: s.id,
        name: &s.name,
        tags: &s.tags,
        class: None,
        provider_class: None,
        scope: Some("user"),
        zone: &s.zone,
        created_at_s: i64::try_from(s.created_at_ms / 1000).unwrap_or(i64::MAX),
    }
}

pub fn find(st: &State, ctx: &Ctx, query: Option<&str>) -> Handled {
    let q = parse_query(query)?;
    let zone = ctx.zone.name;
    let (servers, appliances) = (st.server_counts(), st.appliance_counts());
    let (total, from, items) = run(
        st.switches.values().filter(|s| s.zone == zone),
        &q,
        fields,
        |s| {
            render::switch(
                st,
                s,
                ctx.ids,
                servers.get(&s.id).copied().unwrap_or(0),
                appliances.get(&s.id).copied().unwrap_or(0),
            )
        },
    );
    Ok(Reply::ok(wire::find("Switches", total, from, items)))
}

pub fn read(st: &State, ctx: &Ctx, id: u64) -> Handled {
    let s = st
        .switches
        .get(&id)
        .filter(|s| s.zone == ctx.zone.name)
        .ok_or_else(|| ApiError::not_found(format!("Switch[ID:{id}] is not found")))?;
    let (servers, appliances) = (st.server_counts(), st.appliance_counts());
    let obj = render::switch(
        st,
        s,
        ctx.ids,
        servers.get(&id).copied().unwrap_or(0),
        appliances.get(&id).copied().unwrap_or(0),
    );
    Ok(Reply::ok(wire::single("Switch", obj, None)))
}
