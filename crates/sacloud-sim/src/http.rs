//! The HTTP front: path parsing for both URL forms, the `X-Sakura-*` client conventions (method
//! override, flags, form bodies), fault injection before and after serving, auth, zone check,
//! dispatch, counters, and turning results into responses with the SAKURA envelopes.

use crate::app::{App, lock};
use crate::conn::REJECTED_HEADER;
use crate::error::ApiError;
use crate::faults::{FaultPhase, Injected};
use crate::metrics::{LogEntry, template};
use crate::routes::{self, Ctx, Reply};
use crate::serve::DropConnection;
use crate::wire::IdStyle;
use crate::zones;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use std::borrow::Cow;
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

/// Whether a flag header is set (`1` or `true`, as SAKURA's clients send them).
fn header_flag(h: &HeaderMap, name: &str) -> bool {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true"))
}

/// The method a request means: `X-Sakura-HTTP-Method` on a `POST` overrides it (saklient and the
/// control panel send every write as `POST` with the real method in that header); on other
/// methods the header is ignored.
pub fn effective_method(method: &Method, headers: &HeaderMap) -> Result<Method, ApiError> {
    let Some(v) = headers.get("x-sakura-http-method") else {
        return Ok(method.clone());
    };
    if method != Method::POST {
        return Ok(method.clone());
    }
    let wanted = v.to_str().unwrap_or_default().trim().to_ascii_uppercase();
    match wanted.as_str() {
        "GET" => Ok(Method::GET),
        "POST" => Ok(Method::POST),
        "PUT" => Ok(Method::PUT),
        "DELETE" => Ok(Method::DELETE),
        _ => Err(ApiError::malformed(format!(
            "X-Sakura-HTTP-Method must be GET, POST, PUT or DELETE, got {wanted:?}"
        ))),
    }
}

/// The JSON of a request body. A form content type (saklient's `application/x-www-form-urlencoded`)
/// usually carries plain JSON, which is used as it is; a percent-encoded JSON body is decoded.
pub fn body_text<'b>(headers: &HeaderMap, body: &'b [u8]) -> Cow<'b, [u8]> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let trimmed = body.trim_ascii_start();
    if !form || trimmed.is_empty() || matches!(trimmed[0], b'{' | b'[') {
        return Cow::Borrowed(body);
    }
    let decoded: Vec<u8> = percent_encoding::percent_decode(trimmed).collect();
    if decoded.trim_ascii_start().first() == Some(&b'{') {
        Cow::Owned(decoded)
    } else {
        Cow::Borrowed(body)
    }
}

/// The error for a request head the connection layer refused (see [`crate::conn`]).
fn rejected(app: &App, headers: &HeaderMap) -> Option<Response> {
    let reason = headers
        .get(REJECTED_HEADER)?
        .to_str()
        .unwrap_or("malformed request");
    let e = ApiError::malformed(format!("malformed HTTP request: {reason}"));
    let mut resp = error_response(app, &e, false);
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    Some(resp)
}

async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if let Some(resp) = rejected(&app, &parts.headers) {
        return resp;
    }
    let pretty = header_flag(&parts.headers, "x-sakura-api-beautify");
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
    let method = match effective_method(&parts.method, &parts.headers) {
        Ok(m) => m,
        Err(e) => return error_response(&app, &e, pretty),
    };
    let body = body_text(&parts.headers, &bytes);
    // A GET sent as a POST carries its find query in the body.
    let body_query;
    let query = match query {
        Some(q) if !q.trim().is_empty() => Some(q),
        _ if method == Method::GET && parts.method == Method::POST => {
            body_query = String::from_utf8_lossy(&body).into_owned();
            Some(body_query.as_str())
        }
        other => other,
    };
    let req = ApiRequest {
        method: &method,
        headers: &parts.headers,
        query,
        body: &body,
        pretty,
    };
    let out = api(&app, path, &req).await;
    match (out, parts.extensions.get::<DropConnection>()) {
        (Answer::Drop(_), Some(conn)) => {
            conn.0.notify_one();
            // The connection task closes the socket; this answer is never sent.
            std::future::pending().await
        }
        (Answer::Drop(resp) | Answer::Send(resp), _) => resp,
    }
}

/// One API request, after the method override and body decoding.
struct ApiRequest<'r> {
    method: &'r Method,
    headers: &'r HeaderMap,
    query: Option<&'r str>,
    body: &'r [u8],
    pretty: bool,
}

/// How a request is answered: with a response, or by closing the connection (an injected fault;
/// the response is the fallback should the connection handle be missing).
enum Answer {
    Send(Response),
    Drop(Response),
}

struct Outcome {
    status: StatusCode,
    injected: bool,
    answer: Answer,
}

async fn api(app: &App, path: &str, req: &ApiRequest<'_>) -> Answer {
    let (zone, segs) = parse_api_path(path).unwrap_or(("", Vec::new()));
    let resource = segs.join("/");
    let tmpl = if segs.is_empty() {
        "(unknown)".to_owned()
    } else {
        template(&segs)
    };
    let out = serve(app, req, zone, &segs, &resource).await;
    lock(&app.metrics).record(LogEntry {
        seq: 0,
        at_ms: crate::time::wall_ms(),
        method: req.method.as_str().to_owned(),
        zone: zone.to_owned(),
        path: resource,
        template: tmpl,
        status: out.status.as_u16(),
        injected: out.injected,
    });
    out.answer
}

fn injected_outcome(app: &App, i: Injected, pretty: bool) -> Outcome {
    let response = error_response(app, &i.error, pretty);
    Outcome {
        status: i.error.status,
        injected: true,
        answer: if i.drop_connection {
            Answer::Drop(response)
        } else {
            Answer::Send(response)
        },
    }
}

fn decide(app: &App, req: &ApiRequest<'_>, resource: &str, phase: FaultPhase) -> Option<Injected> {
    let mut faults = lock(&app.faults);
    let mut rng = lock(&app.rng);
    faults.decide_error(req.method.as_str(), resource, phase, &mut rng)
}

async fn serve(
    app: &App,
    req: &ApiRequest<'_>,
    zone: &str,
    segs: &[&str],
    resource: &str,
) -> Outcome {
    let fail = |e: ApiError| {
        let mut response = error_response(app, &e, req.pretty);
        if e.status == StatusCode::UNAUTHORIZED
            && !header_flag(req.headers, "x-sakura-no-authenticate-header")
        {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"SAKURA Cloud API\""),
            );
        }
        Outcome {
            status: e.status,
            injected: false,
            answer: Answer::Send(response),
        }
    };
    if segs.is_empty() {
        return fail(ApiError::not_found(format!(
            "{resource} is not a SAKURA Cloud API path"
        )));
    }
    let delay = {
        let faults = lock(&app.faults);
        let mut rng = lock(&app.rng);
        faults.latency_ms(req.method.as_str(), resource, &mut rng)
    };
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    if let Some(i) = decide(app, req, resource, FaultPhase::Before) {
        return injected_outcome(app, i, req.pretty);
    }
    let auth = req
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !crate::auth::check_basic(auth, &app.config.token, &app.config.secret) {
        return fail(ApiError::unauthorized());
    }
    let Some(zone) = zones::by_name(zone) else {
        return fail(ApiError::not_found(format!("zone {zone:?} does not exist")));
    };
    let result = {
        let mut st = lock(&app.state);
        let now_ms = st.now_ms();
        st.settle_all(now_ms);
        let ctx = Ctx {
            zone,
            ids: IdStyle {
                as_int: header_flag(req.headers, "x-sakura-bigint-as-int"),
            },
            now_ms,
            boot_ms: app.boot_ms(),
            shutdown_ms: app.shutdown_ms(),
            lets_encrypt_ms: app.lets_encrypt_ms(),
            permission: &app.config.permission,
        };
        let r = routes::dispatch(
            &mut st,
            &ctx,
            req.method.as_str(),
            segs,
            req.query,
            req.body,
        );
        if matches!(r, Ok(Reply { mutated: true, .. })) {
            app.persist(&st);
        }
        r
    };
    match result {
        Ok(reply) => {
            // The change is made; an "after" fault now loses its answer.
            if let Some(i) = decide(app, req, resource, FaultPhase::After) {
                return injected_outcome(app, i, req.pretty);
            }
            Outcome {
                status: reply.status,
                injected: false,
                answer: Answer::Send(json_response(reply.status, &reply.body, req.pretty)),
            }
        }
        Err(e) => fail(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    axum::http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn method_override_applies_to_post_only() {
        let h = headers(&[("x-sakura-http-method", "delete")]);
        assert_eq!(effective_method(&Method::POST, &h), Ok(Method::DELETE));
        assert_eq!(effective_method(&Method::GET, &h), Ok(Method::GET));
        assert_eq!(
            effective_method(&Method::POST, &HeaderMap::new()),
            Ok(Method::POST)
        );
        let bad = headers(&[("x-sakura-http-method", "PATCH")]);
        assert_eq!(
            effective_method(&Method::POST, &bad).map_err(|e| e.code),
            Err("bad_request".to_owned())
        );
    }

    #[test]
    fn form_bodies_are_json() {
        let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        assert_eq!(&*body_text(&form, br#"{"a":1}"#), br#"{"a":1}"#);
        assert_eq!(&*body_text(&form, b"%7B%22a%22%3A1%7D"), br#"{"a":1}"#);
        // Not JSON after decoding, or not a form: left as it is for the JSON parser to refuse.
        assert_eq!(&*body_text(&form, b"a=1"), b"a=1");
        assert_eq!(&*body_text(&HeaderMap::new(), b"%7B%7D"), b"%7B%7D");
        let flag = headers(&[("x-sakura-bigint-as-int", "True")]);
        assert!(header_flag(&flag, "x-sakura-bigint-as-int"));
        assert!(!header_flag(&flag, "x-sakura-api-beautify"));
    }

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
