//! HTTP routing: URL and query parsing, verb dispatch, content negotiation.
//!
//! One fallback handler parses paths itself because Kubernetes URLs are ambiguous for a
//! pattern router (`/api/v1/namespaces/{name}/status` vs `/api/v1/namespaces/{ns}/{resource}`);
//! the ambiguity is resolved against the resource table, as the real server does.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::watch as tokio_watch;

use crate::errors::ApiError;
use crate::requests::{RecordedRequest, Recorder, rbac_verb};
use crate::resources::{self, ResourceDef};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{PatchType, Store, Subresource};
use crate::table::{self, IncludeObject};
use crate::watch::{self, Render, Start, WatchRequest};

/// Shared state of the HTTP layer.
pub(crate) struct App {
    pub(crate) store: Store,
    pub(crate) requests: Recorder,
    pub(crate) server_address: String,
    pub(crate) bookmark_interval: Duration,
    pub(crate) shutdown: tokio_watch::Receiver<bool>,
}

/// The router: everything goes through [`handle`].
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new().fallback(handle).with_state(app)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_response(code, &self.to_status())
    }
}

fn json_response(code: StatusCode, v: &Value) -> Response {
    let mut resp = (code, v.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn ok(v: &Value) -> Result<Response, ApiError> {
    Ok(json_response(StatusCode::OK, v))
}

async fn handle(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = match body {
        Ok(body) => route(&app, &method, &uri, &headers, body),
        Err(e) => Err(ApiError::bad_request(format!(
            "could not read the request body: {e}"
        ))),
    };
    match result {
        Ok(r) => {
            tracing::debug!(%method, %uri, status = %r.status(), "request");
            r
        }
        Err(e) => {
            tracing::debug!(%method, %uri, code = e.code, reason = %e.reason, message = %e.message, "request failed");
            e.into_response()
        }
    }
}

/// Parsed query parameters (last value wins, like Go's `url.Values.Get` on a single value).
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, k: &str) -> Result<bool, ApiError> {
        match self.get(k) {
            None | Some("") | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "invalid value for {k}: {other:?}"
            ))),
        }
    }

    fn number(&self, k: &str) -> Result<Option<u64>, ApiError> {
        match self.get(k) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid value for {k}: {v:?}"))),
        }
    }

    fn dry_run(&self) -> Result<bool, ApiError> {
        match self.get("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "unsupported dryRun value {other:?}; only \"All\" is supported"
            ))),
        }
    }
}

fn route(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params(
        Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))?
            .0,
    );
    let segs: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let defs = app.store.resources();
    let get_only = |v: Option<Value>| -> Result<Response, ApiError> {
        if method != Method::GET {
            return Err(ApiError::method_not_allowed());
        }
        v.map_or_else(|| Err(ApiError::no_route()), |v| ok(&v))
    };
    match segs.as_slice() {
        [] => get_only(Some(root_paths(defs))),
        ["version"] => get_only(Some(resources::version_doc())),
        ["healthz" | "readyz" | "livez"] => Ok((StatusCode::OK, "ok").into_response()),
        ["api"] => get_only(Some(resources::api_versions(&app.server_address))),
        ["apis"] => get_only(Some(resources::api_group_list(defs))),
        ["apis", group] => get_only(resources::api_group_doc(defs, group)),
        ["api", version, rest @ ..] => {
            resource_route(app, method, headers, &params, body, "", version, rest)
        }
        ["apis", group, version, rest @ ..] => {
            resource_route(app, method, headers, &params, body, group, version, rest)
        }
        _ => Err(ApiError::no_route()),
    }
}

fn root_paths(defs: &[ResourceDef]) -> Value {
    let mut paths = vec![
        "/api".to_string(),
        "/api/v1".to_string(),
        "/apis".to_string(),
        "/healthz".to_string(),
        "/livez".to_string(),
        "/readyz".to_string(),
        "/version".to_string(),
    ];
    for d in defs.iter().filter(|d| !d.group.is_empty()) {
        for p in [
            format!("/apis/{}", d.group),
            format!("/apis/{}/{}", d.group, d.version),
        ] {
            if !paths.contains(&p) {
                paths.push(p);
            }
        }
    }
    json!({ "paths": paths })
}

/// The resource-level part of a URL, after `/api/{v}` or `/apis/{g}/{v}`.
struct Target<'a> {
    res: usize,
    ns: Option<&'a str>,
    name: Option<&'a str>,
    sub: Subresource,
    legacy_watch: bool,
}

fn parse_target<'a>(
    store: &Store,
    group: &str,
    version: &str,
    rest: &[&'a str],
) -> Result<Target<'a>, ApiError> {
    let (legacy_watch, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    let namespaced_path = match rest {
        ["namespaces", _, plural, ..] => store
            .find(group, version, plural)
            .filter(|r| store.def(*r).is_some_and(|d| d.namespaced)),
        _ => None,
    };
    let (res, ns, tail) = match (namespaced_path, rest) {
        (Some(res), ["namespaces", ns, _, tail @ ..]) => (res, Some(*ns), tail),
        (_, [plural, tail @ ..]) => {
            let res = store
                .find(group, version, plural)
                .ok_or_else(ApiError::no_route)?;
            (res, None, tail)
        }
        _ => return Err(ApiError::no_route()),
    };
    let def = store.def(res).ok_or_else(ApiError::no_route)?;
    let (name, sub) = match tail {
        [] => (None, Subresource::Main),
        [name] => (Some(*name), Subresource::Main),
        [name, "status"] if def.status_subresource => (Some(*name), Subresource::Status),
        _ => return Err(ApiError::no_route()),
    };
    if def.namespaced && ns.is_none() && name.is_some() {
        // `/api/v1/services/x`: a namespaced object addressed without its namespace.
        return Err(ApiError::no_route());
    }
    Ok(Target {
        res,
        ns,
        name,
        sub,
        legacy_watch,
    })
}

fn parse_json(body: &Bytes, headers: &HeaderMap) -> Result<Value, ApiError> {
    let ct = content_type(headers);
    if !ct.is_empty() && ct != "application/json" && ct != "*/*" {
        return Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format ({ct}) - fake-apiserver accepts application/json"
        )));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn patch_type(headers: &HeaderMap) -> Result<PatchType, ApiError> {
    match content_type(headers).as_str() {
        "application/merge-patch+json" => Ok(PatchType::Merge),
        "application/json-patch+json" => Ok(PatchType::Json),
        "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
            Err(ApiError::unsupported_media_type(
                "server-side apply is not implemented by fake-apiserver (a test double); use a merge, JSON or strategic merge patch",
            ))
        }
        other => Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format ({other}) - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"
        ))),
    }
}

#[allow(clippy::too_many_arguments)]
fn resource_route(
    app: &App,
    method: &Method,
    headers: &HeaderMap,
    params: &Params,
    body: Bytes,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<Response, ApiError> {
    let store = &app.store;
    if rest.is_empty() {
        if method != Method::GET {
            return Err(ApiError::method_not_allowed());
        }
        return resources::api_resource_list(store.resources(), group, version)
            .map_or_else(|| Err(ApiError::no_route()), |v| ok(&v));
    }
    let t = parse_target(store, group, version, rest)?;
    let def = store.def(t.res).ok_or_else(ApiError::no_route)?.clone();
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let as_table = table::wants_table(accept);
    let include =
        IncludeObject::parse(params.get("includeObject")).map_err(ApiError::bad_request)?;
    let dry_run = params.dry_run()?;
    let watching = t.legacy_watch || params.flag("watch")?;
    if let Some(verb) = rbac_verb(method, t.name.is_some(), watching) {
        app.requests.record(RecordedRequest {
            verb: verb.to_owned(),
            group: def.group.clone(),
            resource: def.plural.clone(),
            subresource: (t.sub == Subresource::Status).then(|| "status".to_owned()),
            namespace: t.ns.map(str::to_owned),
        });
    }
    match (method.clone(), t.name) {
        (Method::GET, name) if watching => {
            watch_route(app, &def, &t, name, params, as_table, include)
        }
        (Method::GET, Some(name)) => {
            let obj = store.get_at(t.res, t.ns, name)?;
            if as_table {
                let rv = crate::meta::meta_str(&obj, "resourceVersion").to_string();
                ok(&table::table(
                    &[&obj],
                    include,
                    json!({"resourceVersion": rv}),
                ))
            } else {
                ok(&obj)
            }
        }
        (Method::GET, None) => {
            let labels = LabelSelector::parse(params.get("labelSelector").unwrap_or(""))
                .map_err(ApiError::bad_request)?;
            let fields = FieldSelector::parse(
                params.get("fieldSelector").unwrap_or(""),
                &def.extra_field_selectors,
            )
            .map_err(ApiError::bad_request)?;
            let limit = params.number("limit")?.map(|l| l as usize);
            let page =
                store.list_at(t.res, t.ns, &labels, &fields, limit, params.get("continue"))?;
            let mut list_meta = json!({"resourceVersion": page.rv.to_string()});
            if let Some(c) = &page.cont {
                list_meta["continue"] = json!(c);
            }
            if let Some(r) = page.remaining {
                list_meta["remainingItemCount"] = json!(r);
            }
            if as_table {
                let objs: Vec<&Value> = page.items.iter().map(|v| &**v).collect();
                return ok(&table::table(&objs, include, list_meta));
            }
            ok(&json!({
                "kind": format!("{}List", def.kind),
                "apiVersion": def.api_version(),
                "metadata": list_meta,
                "items": page.items.iter().map(|v| &**v).collect::<Vec<_>>(),
            }))
        }
        (Method::POST, None)
            if t.sub == Subresource::Main && (t.ns.is_some() || !def.namespaced) =>
        {
            let obj = parse_json(&body, headers)?;
            let created = store.create_at(t.res, t.ns, obj, dry_run)?;
            Ok(json_response(StatusCode::CREATED, &created))
        }
        (Method::PUT, Some(name)) => {
            let obj = parse_json(&body, headers)?;
            ok(&store.update_at(t.res, t.ns, name, obj, t.sub, dry_run)?)
        }
        (Method::PATCH, Some(name)) => {
            let kind = patch_type(headers)?;
            let patch: Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("the patch is not valid JSON: {e}")))?;
            ok(&store.patch_at(t.res, t.ns, name, kind, &patch, t.sub, dry_run)?)
        }
        (Method::DELETE, Some(name)) if t.sub == Subresource::Main => {
            let (pre, body_dry_run) = delete_options(&body)?;
            let obj = store.delete_at(t.res, t.ns, name, pre, dry_run || body_dry_run)?;
            let pending = crate::meta::meta(&obj)
                .is_some_and(|m| m.contains_key("deletionTimestamp"))
                && !crate::meta::finalizers(&obj).is_empty();
            let code = if pending {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            Ok(json_response(code, &obj))
        }
        (Method::DELETE, None) if t.sub == Subresource::Main => {
            let (_, body_dry_run) = delete_options(&body)?;
            let labels = LabelSelector::parse(params.get("labelSelector").unwrap_or(""))
                .map_err(ApiError::bad_request)?;
            let fields = FieldSelector::parse(
                params.get("fieldSelector").unwrap_or(""),
                &def.extra_field_selectors,
            )
            .map_err(ApiError::bad_request)?;
            let page = store.list_at(t.res, t.ns, &labels, &fields, None, None)?;
            let mut deleted = Vec::new();
            for obj in page.items {
                let name = crate::meta::meta_str(&obj, "name");
                let ns = crate::meta::meta_str(&obj, "namespace");
                let ns = (!ns.is_empty()).then_some(ns);
                match store.delete_at(t.res, ns, name, None, dry_run || body_dry_run) {
                    Ok(o) => deleted.push(o),
                    // Deleted concurrently: the goal is reached.
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            ok(&json!({
                "kind": format!("{}List", def.kind),
                "apiVersion": def.api_version(),
                "metadata": {"resourceVersion": store.resource_version().to_string()},
                "items": deleted,
            }))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// Preconditions and dry-run from an optional `DeleteOptions` body.
fn delete_options(body: &Bytes) -> Result<(Option<(String, String)>, bool), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((None, false));
    }
    let opts: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
    let s = |p: &str| {
        opts.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let pre = opts
        .get("preconditions")
        .filter(|p| p.is_object())
        .map(|_| (s("/preconditions/uid"), s("/preconditions/resourceVersion")));
    let dry_run = opts
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v == "All"));
    Ok((pre, dry_run))
}

fn watch_route(
    app: &App,
    def: &ResourceDef,
    t: &Target<'_>,
    name: Option<&str>,
    params: &Params,
    as_table: bool,
    include: IncludeObject,
) -> Result<Response, ApiError> {
    let labels = LabelSelector::parse(params.get("labelSelector").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let mut field_str = params.get("fieldSelector").unwrap_or("").to_string();
    if let Some(name) = name {
        // `/watch/.../{name}` and a GET with `watch=true` on a named object both mean
        // "watch this one object".
        field_str = if field_str.is_empty() {
            format!("metadata.name={name}")
        } else {
            format!("{field_str},metadata.name={name}")
        };
    }
    let fields = FieldSelector::parse(&field_str, &def.extra_field_selectors)
        .map_err(ApiError::bad_request)?;
    let bookmarks = params.flag("allowWatchBookmarks")?;
    let send_initial = match params.get("sendInitialEvents") {
        None | Some("") => None,
        Some(_) => Some(params.flag("sendInitialEvents")?),
    };
    let rv = params.get("resourceVersion").unwrap_or("");
    let start = match (send_initial, rv) {
        (Some(true), _) => Start::Initial {
            end_bookmark: bookmarks,
        },
        (Some(false), "" | "0") => Start::After(app.store.resource_version()),
        (None, "" | "0") => Start::Initial {
            end_bookmark: false,
        },
        (_, rv) => Start::After(
            rv.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}")))?,
        ),
    };
    let timeout = params.number("timeoutSeconds")?.map(Duration::from_secs);
    let render: Render = if as_table {
        Arc::new(move |obj: &Value| table::table(&[obj], include, json!({})))
    } else {
        Arc::new(|obj: &Value| obj.clone())
    };
    let req = WatchRequest {
        res: t.res,
        ns: t.ns.map(str::to_string),
        labels,
        fields,
        start,
        bookmarks,
        bookmark_interval: app.bookmark_interval,
        timeout,
        render,
    };
    let stream = watch::stream(app.store.clone(), req, app.shutdown.clone());
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    Ok(resp)
}
