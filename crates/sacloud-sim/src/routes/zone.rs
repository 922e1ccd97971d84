//! `GET zone`, `GET zone/{id}`: the fixed zone table.

use super::{Ctx, Handled, Reply};
use crate::error::ApiError;
use crate::find::{Fields, parse_query, run};
use crate::wire;
use crate::zones::{self, ZONES};

pub fn find(ctx: &Ctx, query: Option<&str>) -> Handled {
    let q = parse_query(query)?;
    let ids = ctx.ids;
    let (total, from, items) = run(
        ZONES.iter(),
        &q,
        |z| Fields {
            id: z.id,
            name: z.name,
            tags: &[],
            class: None,
            provider_class: None,
            scope: None,
            zone: z.name,
            created_at_s: 0,
        },
        |z| z.to_json(&|id| ids.id(id)),
    );
    Ok(Reply::ok(wire::find("Zones", total, from, items)))
}

pub fn read(ctx: &Ctx, id: u64) -> Handled {
    let z = zones::by_id(id)
        .ok_or_else(|| ApiError::not_found(format!("Zone[ID:{id}] is not found")))?;
    Ok(Reply::ok(wire::single(
        "Zone",
        z.to_json(&|id| ctx.ids.id(id)),
        None,
    )))
}
