//! The simulator-only admin API under `/_sim/` (not part of SAKURA's API, no authentication:
//! the simulator listens on loopback). The operations are plain functions over [`App`] so the
//! library handle ([`crate::SimHandle`]) and the HTTP endpoints share one implementation.

use crate::app::{App, lock};
use crate::error::ApiError;
use crate::faults::{FaultRule, Faults, LatencyRule};
use crate::http::{error_response, json_response};
use crate::lifecycle;
use crate::model::{InstanceStatus, NicConn};
use crate::scenario::{
    self, ApplianceSpec, Applied, ProxyLbSpec, RouterSpec, Scenario, ServerSpec, SwitchSpec,
};
use crate::store::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

/// Apply a scenario atomically (to a copy, swapped in on success); optionally reset first.
pub fn load_scenario(app: &App, sc: &Scenario, reset: bool) -> Result<Applied, ApiError> {
    let mut st = lock(&app.state);
    let mut next = if reset { State::default() } else { st.clone() };
    let now = st.now_ms();
    let applied = scenario::apply(&mut next, sc, now)
        .map_err(|e| ApiError::malformed(format!("scenario: {e}")))?;
    *st = next;
    app.persist(&st);
    Ok(applied)
}

/// Replace the whole state (e.g. with an earlier dump).
pub fn replace_state(app: &App, new: State) {
    let mut st = lock(&app.state);
    *st = new;
    app.persist(&st);
}

/// Empty the store, drop fault rules and counters.
pub fn reset(app: &App) {
    replace_state(app, State::default());
    *lock(&app.faults) = Faults::default();
    lock(&app.metrics).clear();
}

/// Move simulated time forward by `ms`, or finish every pending transition when `ms` is `None`.
pub fn advance(app: &App, ms: Option<u64>) -> Value {
    let mut st = lock(&app.state);
    let completed = match ms {
        Some(ms) => {
            st.clock_offset_ms = st.clock_offset_ms.saturating_add(ms);
            let now = st.now_ms();
            let before = pending(&st);
            st.settle_all(now);
            before - pending(&st)
        }
        None => st.complete_all(),
    };
    app.persist(&st);
    json!({"completed": completed, "clock_offset_ms": st.clock_offset_ms})
}

fn pending(st: &State) -> usize {
    st.servers
        .values()
        .filter(|s| s.power.pending.is_some())
        .count()
        + st.appliances
            .values()
            .filter(|a| a.power.pending.is_some())
            .count()
        + st.proxylbs
            .values()
            .filter(|p| p.lets_encrypt.is_some())
            .count()
}

/// Force a server's or appliance's power state immediately.
pub fn set_power(app: &App, kind: &str, id: u64, status: InstanceStatus) -> Result<(), ApiError> {
    let mut st = lock(&app.state);
    let now = st.now_ms();
    let power = match kind {
        "servers" => st.servers.get_mut(&id).map(|s| &mut s.power),
        "appliances" => st.appliances.get_mut(&id).map(|a| &mut a.power),
        _ => None,
    }
    .ok_or_else(|| ApiError::not_found(format!("{kind}/{id} does not exist")))?;
    lifecycle::force(power, status, now);
    app.persist(&st);
    Ok(())
}

/// Set (or with `None` clear) the health an Enhanced Load Balancer reports for its real server
/// `ip:port` (every port of `ip` when `port` is `None`).
pub fn set_proxylb_health(
    app: &App,
    id: u64,
    ip: std::net::Ipv4Addr,
    port: Option<u16>,
    status: Option<&str>,
) -> Result<(), ApiError> {
    if let Some(s) = status
        && !matches!(s, "up" | "down" | "cleaning")
    {
        return Err(ApiError::malformed(format!(
            "status must be up, down, cleaning or null, got {s:?}"
        )));
    }
    let mut st = lock(&app.state);
    let lb = st
        .proxylbs
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(format!("proxylbs/{id} does not exist")))?;
    crate::proxylb::set_health(lb, ip, port, status.map(str::to_owned));
    app.persist(&st);
    Ok(())
}

/// Set (or with `None` clear) whether the load balancer `id`'s real server `ip:port` passes its
/// health check (`up`/`down`, any case; every port of `ip` when `port` is `None`). The setting
/// wins over the health derived from server power and shows in `GET appliance/{id}/status`.
pub fn set_lb_health(
    app: &App,
    id: u64,
    ip: std::net::Ipv4Addr,
    port: Option<u16>,
    status: Option<&str>,
) -> Result<(), ApiError> {
    let mut st = lock(&app.state);
    let a = st
        .appliances
        .get_mut(&id)
        .filter(|a| a.class == "loadbalancer")
        .ok_or_else(|| ApiError::not_found(format!("appliances/{id} is not a load balancer")))?;
    crate::lb::set_server_health(&mut a.server_health, ip, port, status)
        .map_err(ApiError::malformed)?;
    app.persist(&st);
    Ok(())
}

/// Remove a resource of any kind; removing a router's switch removes the router and vice versa,
/// and NICs on a removed switch become disconnected.
pub fn remove(app: &App, kind: &str, id: u64) -> Result<(), ApiError> {
    let mut st = lock(&app.state);
    let missing = || ApiError::not_found(format!("{kind}/{id} does not exist"));
    let switch_gone = match kind {
        "servers" => st.servers.remove(&id).map(|_| None).ok_or_else(missing)?,
        "appliances" => st
            .appliances
            .remove(&id)
            .map(|_| None)
            .ok_or_else(missing)?,
        "proxylbs" => st.proxylbs.remove(&id).map(|_| None).ok_or_else(missing)?,
        "routers" => {
            let r = st.routers.remove(&id).ok_or_else(missing)?;
            st.switches.remove(&r.switch_id);
            Some(r.switch_id)
        }
        "switches" => {
            let s = st.switches.remove(&id).ok_or_else(missing)?;
            if let Some(r) = s.router_id {
                st.routers.remove(&r);
            }
            Some(id)
        }
        _ => return Err(missing()),
    };
    if let Some(sid) = switch_gone {
        for s in st.servers.values_mut() {
            for n in &mut s.nics {
                if matches!(n.conn, NicConn::Switch { switch_id, .. } if switch_id == sid) {
                    n.conn = NicConn::Disconnected;
                }
            }
        }
    }
    app.persist(&st);
    Ok(())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            Self::Many(v) => v,
            Self::One(t) => vec![t],
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PowerBody {
    status: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HealthBody {
    ip: std::net::Ipv4Addr,
    #[serde(default)]
    port: Option<u16>,
    status: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    #[serde(default)]
    ms: Option<u64>,
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::malformed(format!("admin request body: {e}")))
}

fn query_flag(query: Option<&str>, name: &str) -> bool {
    query
        .unwrap_or_default()
        .split('&')
        .any(|kv| kv == name || kv == format!("{name}=true") || kv == format!("{name}=1"))
}

fn ok(v: Value) -> Result<(StatusCode, Value), ApiError> {
    Ok((StatusCode::OK, v))
}

fn id_of(s: &str) -> Result<u64, ApiError> {
    s.parse()
        .map_err(|_| ApiError::not_found(format!("{s:?} is not an ID")))
}

fn to_value<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

fn route(
    app: &App,
    method: &Method,
    segs: &[&str],
    query: Option<&str>,
    body: &[u8],
) -> Result<(StatusCode, Value), ApiError> {
    match (method.as_str(), segs) {
        ("GET", [] | ["health"]) => ok(json!({
            "ok": true,
            "endpoints": [
                "GET /_sim/health", "GET|PUT /_sim/state", "POST /_sim/reset", "POST /_sim/scenario[?reset=true]",
                "POST /_sim/{servers,switches,routers,appliances}", "DELETE /_sim/{kind}/{id}",
                "PUT /_sim/{servers,appliances}/{id}/power", "POST /_sim/advance",
                "PUT /_sim/appliances/{id}/health",
                "POST /_sim/proxylbs", "DELETE /_sim/proxylbs/{id}", "PUT /_sim/proxylbs/{id}/health",
                "GET|PUT|DELETE /_sim/faults", "POST /_sim/faults/errors", "POST /_sim/faults/latency",
                "GET|DELETE /_sim/counters", "GET /_sim/requests",
            ],
        })),
        ("GET", ["state"]) => ok(to_value(&*lock(&app.state))),
        ("PUT", ["state"]) => {
            let st: State = parse(body)?;
            if st.version != crate::store::STATE_VERSION {
                return Err(ApiError::malformed(format!(
                    "state version {} is not supported",
                    st.version
                )));
            }
            replace_state(app, st);
            ok(json!({"ok": true}))
        }
        ("POST", ["reset"]) => {
            reset(app);
            ok(json!({"ok": true}))
        }
        ("POST", ["scenario"]) => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::malformed("scenario is not UTF-8"))?;
            let sc = Scenario::parse(text).map_err(|e| ApiError::malformed(e.to_string()))?;
            ok(to_value(&load_scenario(
                app,
                &sc,
                query_flag(query, "reset"),
            )?))
        }
        ("POST", ["servers"]) => {
            let servers = parse::<OneOrMany<ServerSpec>>(body)?.into_vec();
            ok(to_value(&load_scenario(
                app,
                &Scenario {
                    servers,
                    ..Scenario::default()
                },
                false,
            )?))
        }
        ("POST", ["switches"]) => {
            let switches = parse::<OneOrMany<SwitchSpec>>(body)?.into_vec();
            ok(to_value(&load_scenario(
                app,
                &Scenario {
                    switches,
                    ..Scenario::default()
                },
                false,
            )?))
        }
        ("POST", ["routers"]) => {
            let routers = parse::<OneOrMany<RouterSpec>>(body)?.into_vec();
            ok(to_value(&load_scenario(
                app,
                &Scenario {
                    routers,
                    ..Scenario::default()
                },
                false,
            )?))
        }
        ("POST", ["appliances"]) => {
            let appliances = parse::<OneOrMany<ApplianceSpec>>(body)?.into_vec();
            ok(to_value(&load_scenario(
                app,
                &Scenario {
                    appliances,
                    ..Scenario::default()
                },
                false,
            )?))
        }
        ("POST", ["proxylbs"]) => {
            let proxylbs = parse::<OneOrMany<ProxyLbSpec>>(body)?.into_vec();
            ok(to_value(&load_scenario(
                app,
                &Scenario {
                    proxylbs,
                    ..Scenario::default()
                },
                false,
            )?))
        }
        ("PUT", ["proxylbs", id, "health"]) => {
            let b: HealthBody = parse(body)?;
            set_proxylb_health(app, id_of(id)?, b.ip, b.port, b.status.as_deref())?;
            ok(json!({"ok": true}))
        }
        ("PUT", ["appliances", id, "health"]) => {
            let b: HealthBody = parse(body)?;
            set_lb_health(app, id_of(id)?, b.ip, b.port, b.status.as_deref())?;
            ok(json!({"ok": true}))
        }
        (
            "DELETE",
            [
                kind @ ("servers" | "switches" | "routers" | "appliances" | "proxylbs"),
                id,
            ],
        ) => {
            remove(app, kind, id_of(id)?)?;
            ok(json!({"ok": true}))
        }
        ("PUT", [kind @ ("servers" | "appliances"), id, "power"]) => {
            let b: PowerBody = parse(body)?;
            let status = match b.status.as_str() {
                "up" => InstanceStatus::Up,
                "down" => InstanceStatus::Down,
                other => {
                    return Err(ApiError::malformed(format!(
                        "status must be up or down, got {other:?}"
                    )));
                }
            };
            set_power(app, kind, id_of(id)?, status)?;
            ok(json!({"ok": true}))
        }
        ("POST", ["advance"]) => {
            let b: AdvanceBody = if body.iter().all(u8::is_ascii_whitespace) {
                AdvanceBody::default()
            } else {
                parse(body)?
            };
            ok(advance(app, b.ms))
        }
        ("GET", ["faults"]) => ok(to_value(&*lock(&app.faults))),
        ("PUT", ["faults"]) => {
            let f: Faults = parse(body)?;
            f.errors
                .iter()
                .try_for_each(FaultRule::validate)
                .map_err(ApiError::malformed)?;
            *lock(&app.faults) = f;
            ok(json!({"ok": true}))
        }
        ("DELETE", ["faults"]) => {
            *lock(&app.faults) = Faults::default();
            ok(json!({"ok": true}))
        }
        ("POST", ["faults", "errors"]) => {
            let r: FaultRule = parse(body)?;
            r.validate().map_err(ApiError::malformed)?;
            lock(&app.faults).errors.push(r);
            ok(json!({"ok": true}))
        }
        ("POST", ["faults", "latency"]) => {
            let r: LatencyRule = parse(body)?;
            lock(&app.faults).latency.push(r);
            ok(json!({"ok": true}))
        }
        ("GET", ["counters"]) => ok(to_value(&lock(&app.metrics).counters())),
        ("DELETE", ["counters"]) => {
            lock(&app.metrics).clear();
            ok(json!({"ok": true}))
        }
        ("GET", ["requests"]) => ok(to_value(&lock(&app.metrics).log())),
        _ => Err(ApiError::not_found(format!(
            "admin endpoint {} /_sim/{} does not exist",
            method,
            segs.join("/")
        ))),
    }
}

/// Serve one admin request.
pub fn handle(
    app: &App,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Response {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).skip(1).collect();
    match route(app, method, &segs, query, body) {
        Ok((status, v)) => json_response(status, &v, true),
        Err(e) => error_response(app, &e, true),
    }
}
