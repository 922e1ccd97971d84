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
use crate::table::{self, IncludeObject, Kind};
use crate::validation::{self, Directive};
use crate::watch::{self, Render, Start, WatchRequest};
use crate::{events, openapi, protobuf, schema};

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
        ["openapi", "v3"] => get_only(Some(openapi::index(schema::schema(), defs))),
        ["openapi", "v3", "api", version] => get_only(openapi_doc(defs, "", version)),
        ["openapi", "v3", "apis", group, version] => get_only(openapi_doc(defs, group, version)),
        ["api", version, rest @ ..] => {
            resource_route(app, method, headers, &params, body, "", version, rest)
        }
        ["apis", group, version, rest @ ..] => {
            resource_route(app, method, headers, &params, body, group, version, rest)
        }
        _ => Err(ApiError::no_route()),
    }
}

/// The OpenAPI v3 document of a served group-version.
fn openapi_doc(defs: &[ResourceDef], group: &str, version: &str) -> Option<Value> {
    defs.iter()
        .any(|d| d.group == group && d.version == version)
        .then(|| openapi::group_version(schema::schema(), defs, group, version))
}

fn root_paths(defs: &[ResourceDef]) -> Value {
    let mut paths = vec![
        "/api".to_string(),
        "/api/v1".to_string(),
        "/apis".to_string(),
        "/healthz".to_string(),
        "/openapi/v3".to_string(),
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

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// The object in a request body: JSON, or protobuf for the kinds of the schema table.
fn parse_body(body: &Bytes, headers: &HeaderMap, def: &ResourceDef) -> Result<Value, ApiError> {
    let ct = content_type(headers);
    if ct == PROTOBUF {
        return parse_protobuf(body, def);
    }
    if !ct.is_empty() && ct != "application/json" && ct != "*/*" {
        return Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format ({ct}) - accepted media types include: application/json, application/vnd.kubernetes.protobuf"
        )));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

fn parse_protobuf(body: &Bytes, def: &ResourceDef) -> Result<Value, ApiError> {
    let Some(message) = schema::message_for(&def.group, &def.version, &def.kind) else {
        return Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format ({PROTOBUF}) - {} accepts application/json only",
            def.qualified_name()
        )));
    };
    let bad = |e: protobuf::DecodeError| ApiError::bad_request(e.0);
    let (api_version, kind, raw) = protobuf::envelope(body).map_err(bad)?;
    let mut obj = protobuf::to_json(schema::schema(), &message, raw).map_err(bad)?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

/// A 406 when the client takes only encodings the fake does not write (it answers JSON; kubectl
/// also accepts JSON, so only a protobuf-only client gets this).
fn check_accept(accept: &str) -> Result<(), ApiError> {
    let takes_json = accept.trim().is_empty()
        || accept.split(',').any(|part| {
            let media = part.split(';').next().unwrap_or("").trim();
            matches!(media, "application/json" | "*/*" | "application/*" | "")
        });
    if takes_json {
        return Ok(());
    }
    Err(ApiError {
        code: 406,
        reason: "NotAcceptable".into(),
        message: format!(
            "only the following media types are accepted: application/json (fake-apiserver, a test double, does not write {accept})"
        ),
        details: None,
    })
}

/// Server-side field validation of a request body (or of a merge patch) against the kind's
/// fields: unknown fields are dropped; `Strict` refuses them, `Warn` returns the warnings.
fn validate_fields(
    def: &ResourceDef,
    directive: Directive,
    obj: &mut Value,
) -> Result<Vec<String>, ApiError> {
    let Some(message) = schema::message_for(&def.group, &def.version, &def.kind) else {
        return Ok(Vec::new());
    };
    let unknown = validation::prune_unknown(schema::schema(), &message, obj, true);
    let described = validation::describe(&unknown);
    match directive {
        _ if unknown.is_empty() => Ok(Vec::new()),
        Directive::Strict => Err(ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
            described.join(", "),
            kind = def.kind,
            version = def.version,
        ))),
        Directive::Warn => Ok(described),
        Directive::Ignore => Ok(Vec::new()),
    }
}

/// A response with one `Warning` header per message, as `299 - "text"`.
fn with_warnings(mut resp: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - {}", serde_json::Value::from(w.as_str()));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
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
    check_accept(accept)?;
    let directive =
        Directive::parse(params.get("fieldValidation")).map_err(ApiError::bad_request)?;
    let kind = Kind {
        group: &def.group,
        kind: &def.kind,
    };
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
            watch_route(app, &def, &t, name, params, as_table.then_some(include))
        }
        (Method::GET, Some(name)) => {
            let obj = store.get_at(t.res, t.ns, name)?;
            if as_table {
                let rv = crate::meta::meta_str(&obj, "resourceVersion").to_string();
                ok(&table::table(
                    &[&obj],
                    kind,
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
                return ok(&table::table(&objs, kind, include, list_meta));
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
            let mut obj = parse_body(&body, headers, &def)?;
            let warnings = validate_fields(&def, directive, &mut obj)?;
            let created = store.create_at(t.res, t.ns, obj, dry_run)?;
            Ok(with_warnings(
                json_response(StatusCode::CREATED, &created),
                &warnings,
            ))
        }
        (Method::PUT, Some(name)) => {
            let mut obj = parse_body(&body, headers, &def)?;
            let warnings = validate_fields(&def, directive, &mut obj)?;
            let updated = store.update_at(t.res, t.ns, name, obj, t.sub, dry_run)?;
            Ok(with_warnings(
                json_response(StatusCode::OK, &updated),
                &warnings,
            ))
        }
        (Method::PATCH, Some(name)) => {
            let patch_kind = patch_type(headers)?;
            let mut patch: Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("the patch is not valid JSON: {e}")))?;
            let warnings = if patch_kind == PatchType::Json {
                Vec::new()
            } else {
                validate_fields(&def, directive, &mut patch)?
            };
            let patched = store.patch_at(t.res, t.ns, name, patch_kind, &patch, t.sub, dry_run)?;
            Ok(with_warnings(
                json_response(StatusCode::OK, &patched),
                &warnings,
            ))
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
    table_include: Option<IncludeObject>,
) -> Result<Response, ApiError> {
    let alias = app.store.event_alias(t.res).is_some();
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
    let mut fields = FieldSelector::parse(&field_str, &def.extra_field_selectors)
        .map_err(ApiError::bad_request)?;
    if alias {
        fields = fields.map_paths(events::core_field_path);
    }
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
    let (group, kind) = (def.group.clone(), def.kind.clone());
    let render: Render = Arc::new(move |stored: &Value| {
        // Stored core Events are shown as the events.k8s.io API has them.
        let obj = if alias {
            events::to_events_v1(stored)
        } else {
            stored.clone()
        };
        match table_include {
            Some(include) => {
                let kind = Kind {
                    group: &group,
                    kind: &kind,
                };
                table::table(&[&obj], kind, include, json!({}))
            }
            None => obj,
        }
    });
    let req = WatchRequest {
        res: app.store.storage_res(t.res),
        shown: t.res,
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
