//! The HTTP front: path parsing for both URL forms, fault injection, auth, zone check, dispatch,
//! counters, and turning results into responses with the SAKURA envelopes.

use crate::app::{App, lock};
use crate::error::ApiError;
use crate::metrics::{LogEntry, template};
use crate::routes::{self, Ctx, Reply};
use crate::wire::IdStyle;
use crate::zones;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use std::sync::Arc;

/// Largest request body accepted (the biggest real request, an LB with 20×40 servers, is ~200 KiB).
const MAX_BODY: usize = 8 * 1024 * 1024;
const API_PREFIX: [&str; 3] = ["api", "cloud", "1.1"];

/// The axum router serving everything.
pub fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(app)
}

/// Split `/{zone}/api/cloud/1.1/<rest>` or `/cloud/zone/{zone}/api/cloud/1.1/<rest>` into the zone
/// and the resource segments.
pub fn parse_api_path(path: &str) -> Option<(&str, Vec<&str>)> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let rest = match segs.as_slice() {
        ["cloud", "zone", rest @ ..] => rest,
        rest => rest,
    };
    let (zone, after) = rest.split_first()?;
    if after.len() < 4 || after[..3] != API_PREFIX {
        return None;
    }
    Some((zone, after[3..].to_vec()))
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: &Value, pretty: bool) -> Response {
    let bytes = if pretty {
        serde_json::to_vec_pretty(body)
    } else {
        serde_json::to_vec(body)
    }
    .unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    resp
}

/// An error envelope response, with `Retry-After` when the error carries one.
pub fn error_response(app: &App, e: &ApiError, pretty: bool) -> Response {
    let mut resp = json_response(e.status, &e.envelope(&app.serial()), pretty);
    if let Some(secs) = e.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

fn header_is_1(h: &HeaderMap, name: &str) -> bool {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "1")
}

async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let pretty = header_is_1(&parts.headers, "x-sakura-api-beautify");
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            let e = ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body is too large",
            );
            return error_response(&app, &e, pretty);
        }
    };
    let path = parts.uri.path();
    let query = parts.uri.query();
    if path == "/_sim" || path.starts_with("/_sim/") {
        return crate::admin::handle(&app, &parts.method, path, query, &bytes);
    }
    api(
        &app,
        &parts.method,
        &parts.headers,
        path,
        query,
        &bytes,
        pretty,
    )
    .await
}

struct Outcome {
    status: StatusCode,
    injected: bool,
    response: Response,
}

async fn api(
    app: &App,
    method: &Method,
    headers: &HeaderMap,
    path: &str,
    query: Option<&str>,
    body: &[u8],
    pretty: bool,
) -> Response {
    let (zone, segs) = parse_api_path(path).unwrap_or(("", Vec::new()));
    let resource = segs.join("/");
    let tmpl = if segs.is_empty() {
        "(unknown)".to_owned()
    } else {
        template(&segs)
    };
    let out = serve(
        app, method, headers, zone, &segs, &resource, query, body, pretty,
    )
    .await;
    lock(&app.metrics).record(LogEntry {
        seq: 0,
        at_ms: crate::time::wall_ms(),
        method: method.as_str().to_owned(),
        zone: zone.to_owned(),
        path: resource,
        template: tmpl,
        status: out.status.as_u16(),
        injected: out.injected,
    });
    out.response
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    app: &App,
    method: &Method,
    headers: &HeaderMap,
    zone: &str,
    segs: &[&str],
    resource: &str,
    query: Option<&str>,
    body: &[u8],
    pretty: bool,
) -> Outcome {
    let fail = |e: ApiError, injected: bool| Outcome {
        status: e.status,
        injected,
        response: error_response(app, &e, pretty),
    };
    if segs.is_empty() {
        return fail(
            ApiError::not_found(format!(
                "{path} is not a SAKURA Cloud API path",
                path = resource
            )),
            false,
        );
    }
    let (delay, injected) = {
        let mut faults = lock(&app.faults);
        let mut rng = lock(&app.rng);
        let delay = faults.latency_ms(method.as_str(), resource, &mut rng);
        (
            delay,
            faults.decide_error(method.as_str(), resource, &mut rng),
        )
    };
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    if let Some(e) = injected {
        return fail(e, true);
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !crate::auth::check_basic(auth, &app.config.token, &app.config.secret) {
        return fail(ApiError::unauthorized(), false);
    }
    let Some(zone) = zones::by_name(zone) else {
        return fail(
            ApiError::not_found(format!("zone {zone:?} does not exist")),
            false,
        );
    };
    let result = {
        let mut st = lock(&app.state);
        let now_ms = st.now_ms();
        st.settle_all(now_ms);
        let ctx = Ctx {
            zone,
            ids: IdStyle {
                as_int: header_is_1(headers, "x-sakura-bigint-as-int"),
            },
            now_ms,
            boot_ms: app.boot_ms(),
            shutdown_ms: app.shutdown_ms(),
            lets_encrypt_ms: app.lets_encrypt_ms(),
            permission: &app.config.permission,
        };
        let r = routes::dispatch(&mut st, &ctx, method.as_str(), segs, query, body);
        if matches!(r, Ok(Reply { mutated: true, .. })) {
            app.persist(&st);
        }
        r
    };
    match result {
        Ok(reply) => Outcome {
            status: reply.status,
            injected: false,
            response: json_response(reply.status, &reply.body, pretty),
        },
        Err(e) => fail(e, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_url_forms() {
        assert_eq!(
            parse_api_path("/is1a/api/cloud/1.1/server"),
            Some(("is1a", vec!["server"]))
        );
        assert_eq!(
            parse_api_path("/cloud/zone/tk1a/api/cloud/1.1/appliance/1/power"),
            Some(("tk1a", vec!["appliance", "1", "power"]))
        );
        assert_eq!(
            parse_api_path("/is1a/api/cloud/1.1/server/"),
            Some(("is1a", vec!["server"]))
        );
        assert_eq!(parse_api_path("/is1a/api/cloud/1.1"), None);
        assert_eq!(parse_api_path("/is1a/api/cloud/1.0/server"), None);
        assert_eq!(parse_api_path("/"), None);
    }
}
