//! `commonserviceitem`: the Enhanced Load Balancer (ProxyLB). The items are global: every zone's
//! URL serves the same ones (SAKURA's clients use `is1a`).

use super::{Ctx, Handled, Reply, body_json};
use crate::error::ApiError;
use crate::find::{Fields, parse_query, run};
use crate::proxylb::{self, ProxyLb, not_found};
use crate::proxylb_certs;
use crate::store::State;
use crate::wire;
use axum::http::StatusCode;
use serde_json::{Value, json};

const ITEM: &str = "CommonServiceItem";

fn fields(p: &ProxyLb) -> Fields<'_> {
    Fields {
        id: p.id,
        name: &p.name,
        tags: &p.tags,
        class: None,
        provider_class: Some(proxylb::CLASS),
        scope: None,
        zone: "",
        created_at_s: i64::try_from(p.created_at_ms / 1000).unwrap_or(i64::MAX),
    }
}

fn get(st: &State, id: u64) -> Result<&ProxyLb, ApiError> {
    st.proxylbs.get(&id).ok_or_else(|| not_found(id))
}

fn get_mut(st: &mut State, id: u64) -> Result<&mut ProxyLb, ApiError> {
    st.proxylbs.get_mut(&id).ok_or_else(|| not_found(id))
}

/// The `CommonServiceItem` object of a request body.
fn item(body: &[u8]) -> Result<Value, ApiError> {
    match body_json(body)?.get(ITEM) {
        Some(i) if i.is_object() => Ok(i.clone()),
        _ => Err(ApiError::malformed(
            "request body must be {\"CommonServiceItem\":{…}}",
        )),
    }
}

fn single(st: &State, ctx: &Ctx, id: u64, status: StatusCode) -> Handled {
    let obj = proxylb::render(get(st, id)?, ctx.ids);
    Ok(Reply::changed(
        status,
        wire::single(ITEM, obj, Some(json!(true))),
    ))
}

pub fn find(st: &State, ctx: &Ctx, query: Option<&str>) -> Handled {
    let q = parse_query(query)?;
    let (total, from, items) = run(st.proxylbs.values(), &q, fields, |p| {
        proxylb::render(p, ctx.ids)
    });
    Ok(Reply::ok(wire::find(
        "CommonServiceItems",
        total,
        from,
        items,
    )))
}

pub fn read(st: &State, ctx: &Ctx, id: u64) -> Handled {
    let obj = proxylb::render(get(st, id)?, ctx.ids);
    Ok(Reply::ok(wire::single(ITEM, obj, None)))
}

pub fn create(st: &mut State, ctx: &Ctx, body: &[u8]) -> Handled {
    let req = proxylb::parse_create(&item(body)?)?;
    let id = proxylb::insert(st, req, ctx.now_ms)?;
    single(st, ctx, id, StatusCode::CREATED)
}

pub fn update(st: &mut State, ctx: &Ctx, id: u64, body: &[u8]) -> Handled {
    let req = item(body)?;
    let u = proxylb::parse_update(get(st, id)?, &req)?;
    proxylb::apply_update(get_mut(st, id)?, u, ctx.now_ms);
    single(st, ctx, id, StatusCode::OK)
}

pub fn change_plan(st: &mut State, ctx: &Ctx, id: u64, body: &[u8]) -> Handled {
    let req = item(body)?;
    let region = get(st, id)?.region.clone();
    let plan = proxylb::requested_plan(&req, &region)?
        .ok_or_else(|| ApiError::invalid("ServiceClass is required (cloud/proxylb/plain/{cps})"))?;
    let new_id = proxylb::change_plan(st, id, plan, ctx.now_ms)?;
    single(st, ctx, new_id, StatusCode::OK)
}

pub fn delete(st: &mut State, ctx: &Ctx, id: u64) -> Handled {
    let obj = proxylb::render(get(st, id)?, ctx.ids);
    st.proxylbs.remove(&id);
    Ok(Reply::changed(
        StatusCode::OK,
        wire::single(ITEM, obj, Some(json!(true))),
    ))
}

pub fn health(st: &State, id: u64) -> Handled {
    let lb = get(st, id)?;
    let stopped = proxylb::stopped_server_ips(st);
    Ok(Reply::ok(wire::single(
        "ProxyLB",
        proxylb::health(lb, &stopped),
        None,
    )))
}

pub fn certificates(st: &State, id: u64) -> Handled {
    let lb = get(st, id)?;
    Ok(Reply::ok(wire::single(
        "ProxyLB",
        proxylb_certs::render_certificates(&lb.certificates),
        None,
    )))
}

pub fn set_certificates(st: &mut State, id: u64, body: &[u8]) -> Handled {
    get(st, id)?;
    let certs = proxylb_certs::parse_certificates(&body_json(body)?)?;
    let lb = get_mut(st, id)?;
    lb.certificates = certs;
    Ok(Reply::changed(
        StatusCode::OK,
        wire::single(
            "ProxyLB",
            proxylb_certs::render_certificates(&lb.certificates),
            Some(json!(true)),
        ),
    ))
}

pub fn delete_certificates(st: &mut State, id: u64) -> Handled {
    get_mut(st, id)?.certificates = proxylb_certs::Certificates::default();
    Ok(Reply::changed(StatusCode::OK, wire::success()))
}

pub fn renew_lets_encrypt(st: &mut State, ctx: &Ctx, id: u64) -> Handled {
    let lb = get_mut(st, id)?;
    proxylb_certs::start_lets_encrypt(lb, ctx.now_ms, ctx.lets_encrypt_ms)?;
    Ok(Reply::changed(StatusCode::OK, wire::success()))
}
