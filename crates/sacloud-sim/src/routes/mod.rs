//! SAKURA API routes: one module per resource; this module matches `(method, path)` to a handler.
//!
//! Handlers are synchronous functions over the locked [`State`]: the whole request sees one
//! consistent snapshot, and the caller persists the state after mutating calls.

mod appliance;
mod bridge;
mod internet;
mod proxylb;
mod server;
mod switch;
mod zone;

use crate::error::ApiError;
use crate::lifecycle::Refusal;
use crate::store::State;
use crate::wire::IdStyle;
use crate::zones::Zone;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// Per-request context.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    /// Zone from the URL.
    pub zone: &'static Zone,
    /// ID rendering.
    pub ids: IdStyle,
    /// Simulated now.
    pub now_ms: u64,
    /// Boot delay in ms.
    pub boot_ms: u64,
    /// Shutdown delay in ms.
    pub shutdown_ms: u64,
    /// Let's Encrypt issuance delay in ms.
    pub lets_encrypt_ms: u64,
    /// The permission level `auth-status` reports.
    pub permission: &'a str,
}

/// A successful answer.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body.
    pub body: Value,
    /// Whether the state changed (and must be persisted).
    pub mutated: bool,
}

impl Reply {
    /// 200 without state change.
    pub fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            mutated: false,
        }
    }

    /// A state-changing answer.
    pub fn changed(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            mutated: true,
        }
    }
}

/// Result of a handler.
pub type Handled = Result<Reply, ApiError>;

/// Every path template the API serves, for telling 405 from 404.
const TEMPLATES: [&str; 24] = [
    "auth-status",
    "zone",
    "zone/{id}",
    "server",
    "server/{id}",
    "server/{id}/power",
    "switch",
    "switch/{id}",
    "switch/{id}/to/bridge",
    "switch/{id}/to/bridge/{id}",
    "bridge",
    "bridge/{id}",
    "internet",
    "internet/{id}",
    "appliance",
    "appliance/{id}",
    "appliance/{id}/config",
    "appliance/{id}/power",
    "commonserviceitem",
    "commonserviceitem/{id}",
    "commonserviceitem/{id}/plan",
    "commonserviceitem/{id}/health",
    "commonserviceitem/{id}/proxylb/sslcertificate",
    "commonserviceitem/{id}/proxylb/letsencryptrenew",
];

fn parse_id(kind: &str, s: &str) -> Result<u64, ApiError> {
    s.parse()
        .map_err(|_| ApiError::not_found(format!("{kind}[ID:{s}] is not found")))
}

/// Parse a JSON request body; empty means `null`.
pub fn body_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::malformed(format!("request body is not valid JSON: {e}")))
}

/// Map a lifecycle refusal to the 409 the real API returns.
pub fn refusal(kind: &str, id: u64, r: Refusal) -> ApiError {
    match r {
        Refusal::StillCreating => ApiError::conflict(
            "still_creating",
            format!("{kind}[ID:{id}] is still being created. Please wait and try again."),
        ),
        Refusal::AlreadyUp => ApiError::conflict(
            "conflict",
            format!("{kind}[ID:{id}] is already running or booting"),
        ),
        Refusal::AlreadyDown => ApiError::conflict(
            "conflict",
            format!("{kind}[ID:{id}] is already stopped or shutting down"),
        ),
        Refusal::NotDown => ApiError::conflict(
            "conflict",
            format!("{kind}[ID:{id}] must be stopped before it can be deleted"),
        ),
    }
}

fn auth_status(ctx: &Ctx) -> Handled {
    let id = |n| ctx.ids.id(n);
    Ok(Reply::ok(json!({
        "Account": {"Class": "account", "Code": "sacloud-sim", "ID": id(123_456_789_012), "Name": "sacloud-sim account"},
        "AuthClass": "account",
        "AuthMethod": "apikey",
        "ExternalPermission": "bill+eventlog+cdn",
        "IsAPIKey": true,
        "Member": {"Class": "member", "Code": "sim00000", "Errors": null},
        "OperationPenalty": "none",
        "Permission": ctx.permission,
        "RESTFilter": null,
        "User": null,
        "is_ok": true,
    })))
}

/// `commonserviceitem…`: the Enhanced Load Balancer, the same in every zone (it is global).
fn common_service_item(
    st: &mut State,
    ctx: &Ctx,
    method: &str,
    rest: &[&str],
    query: Option<&str>,
    body: &[u8],
) -> Handled {
    const KIND: &str = "CommonServiceItem";
    match (method, rest) {
        ("GET", []) => proxylb::find(st, ctx, query),
        ("POST", []) => proxylb::create(st, ctx, body),
        ("GET", [id]) => proxylb::read(st, ctx, parse_id(KIND, id)?),
        ("PUT", [id]) => proxylb::update(st, ctx, parse_id(KIND, id)?, body),
        ("DELETE", [id]) => proxylb::delete(st, ctx, parse_id(KIND, id)?),
        ("PUT", [id, "plan"]) => proxylb::change_plan(st, ctx, parse_id(KIND, id)?, body),
        ("GET", [id, "health"]) => proxylb::health(st, parse_id(KIND, id)?),
        ("GET", [id, "proxylb", "sslcertificate"]) => {
            proxylb::certificates(st, parse_id(KIND, id)?)
        }
        ("PUT", [id, "proxylb", "sslcertificate"]) => {
            proxylb::set_certificates(st, parse_id(KIND, id)?, body)
        }
        ("DELETE", [id, "proxylb", "sslcertificate"]) => {
            proxylb::delete_certificates(st, parse_id(KIND, id)?)
        }
        ("PUT", [id, "proxylb", "letsencryptrenew"]) => {
            proxylb::renew_lets_encrypt(st, ctx, parse_id(KIND, id)?)
        }
        _ => {
            let mut segs = vec!["commonserviceitem"];
            segs.extend_from_slice(rest);
            unknown(method, &segs)
        }
    }
}

/// 405 for a known path with another method, 404 otherwise.
fn unknown(method: &str, segs: &[&str]) -> Handled {
    let template = crate::metrics::template(segs);
    if TEMPLATES.contains(&template.as_str()) || template == "appliance/{id}/status" {
        Err(ApiError::method_not_allowed(method, &segs.join("/")))
    } else {
        Err(ApiError::not_found(format!(
            "{} is not a known API path",
            segs.join("/")
        )))
    }
}

/// Route one API request.
pub fn dispatch(
    st: &mut State,
    ctx: &Ctx,
    method: &str,
    segs: &[&str],
    query: Option<&str>,
    body: &[u8],
) -> Handled {
    match (method, segs) {
        ("GET", ["auth-status"]) => auth_status(ctx),
        ("GET", ["zone"]) => zone::find(ctx, query),
        ("GET", ["zone", id]) => zone::read(ctx, parse_id("Zone", id)?),
        ("GET", ["server"]) => server::find(st, ctx, query),
        ("GET", ["server", id]) => server::read(st, ctx, parse_id("Server", id)?),
        ("GET", ["server", id, "power"]) => server::power_status(st, ctx, parse_id("Server", id)?),
        ("PUT", ["server", id, "power"]) => server::boot(st, ctx, parse_id("Server", id)?),
        ("DELETE", ["server", id, "power"]) => {
            server::shutdown(st, ctx, parse_id("Server", id)?, body)
        }
        ("GET", ["switch"]) => switch::find(st, ctx, query),
        ("GET", ["switch", id]) => switch::read(st, ctx, parse_id("Switch", id)?),
        ("GET", ["bridge"]) => bridge::find(st, ctx, query),
        ("POST", ["bridge"]) => bridge::create(st, ctx, body),
        ("GET", ["bridge", id]) => bridge::read(st, ctx, parse_id("Bridge", id)?),
        ("PUT", ["bridge", id]) => bridge::update(st, ctx, parse_id("Bridge", id)?, body),
        ("DELETE", ["bridge", id]) => bridge::delete(st, ctx, parse_id("Bridge", id)?),
        ("PUT", ["switch", id, "to", "bridge", bridge_id]) => bridge::connect(
            st,
            ctx,
            parse_id("Switch", id)?,
            parse_id("Bridge", bridge_id)?,
        ),
        ("DELETE", ["switch", id, "to", "bridge"]) => {
            bridge::disconnect(st, ctx, parse_id("Switch", id)?)
        }
        ("GET", ["internet"]) => internet::find(st, ctx, query),
        ("GET", ["internet", id]) => internet::read(st, ctx, parse_id("Internet", id)?),
        ("GET", ["appliance"]) => appliance::find(st, ctx, query),
        ("POST", ["appliance"]) => appliance::create(st, ctx, body),
        ("GET", ["appliance", id]) => appliance::read(st, ctx, parse_id("Appliance", id)?),
        ("PUT", ["appliance", id]) => appliance::update(st, ctx, parse_id("Appliance", id)?, body),
        ("DELETE", ["appliance", id]) => appliance::delete(st, ctx, parse_id("Appliance", id)?),
        ("PUT", ["appliance", id, "config"]) => {
            appliance::config(st, ctx, parse_id("Appliance", id)?)
        }
        ("GET", ["appliance", id, "power"]) => {
            appliance::power_status(st, ctx, parse_id("Appliance", id)?)
        }
        ("PUT", ["appliance", id, "power"]) => appliance::boot(st, ctx, parse_id("Appliance", id)?),
        ("DELETE", ["appliance", id, "power"]) => {
            appliance::shutdown(st, ctx, parse_id("Appliance", id)?, body)
        }
        ("GET", ["appliance", id, "status"]) => {
            appliance::status(st, ctx, parse_id("Appliance", id)?)
        }
        (m, ["commonserviceitem", rest @ ..]) => common_service_item(st, ctx, m, rest, query, body),
        _ => unknown(method, segs),
    }
}
