//! The HTTP client: authentication, headers, rate limit, retries, envelopes and paging.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::config::{Config, validate_root_url};
use crate::error::{Error, api_error, body_excerpt, parse_retry_after};
use crate::find::{Filter, FindRequest};
use crate::metrics::{RequestEvent, RequestObserver};
use crate::rate_limit::RateLimiter;
use crate::retry::{Jitter, retry_delay};
use crate::wire::Id;
use crate::zone::Zone;

/// Path below the zone for every IaaS call.
const API_PATH: &str = "api/cloud/1.1";

/// A SAKURA Cloud IaaS API client for one zone.
///
/// Cheap to clone; clones share the connection pool, the rate limiter and the observer.
/// Operations are methods grouped by resource (see the [`api`](crate::api) modules).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// The zone requests go to unless they name one; the configured zone except for a view made
    /// by [`Client::in_zone`].
    zone: Zone,
    /// `{root}/{zone}/api/cloud/1.1` for `zone`.
    base_url: Arc<str>,
}

struct Inner {
    http: reqwest::Client,
    config: Config,
    /// The API root without a zone, e.g. `https://secure.sakura.ad.jp/cloud/zone`.
    root_url: String,
    limiter: RateLimiter,
    observer: Option<Arc<dyn RequestObserver>>,
    jitter: Jitter,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// One API request, before it is sent.
pub(crate) struct Request {
    pub method: Method,
    /// Path template for metrics and logs, e.g. `appliance/{id}/power`.
    pub resource: &'static str,
    /// Concrete path below `api/cloud/1.1`, e.g. `appliance/123456789012/power`.
    pub path: String,
    /// Percent-encoded find request for GETs.
    pub query: Option<String>,
    /// JSON body for POST/PUT/DELETE.
    pub body: Option<Value>,
    /// The zone to send it to when it is not the client's own (global resources live in
    /// [`Zone::GLOBAL`]).
    pub zone: Option<Zone>,
    /// Whether the retry policy may repeat it (see [`crate::retry`]); `false` for requests that
    /// create something under a new ID even though their method is PUT.
    pub retry: bool,
}

impl Request {
    pub(crate) fn new(method: Method, resource: &'static str, path: String) -> Self {
        Self {
            method,
            resource,
            path,
            query: None,
            body: None,
            zone: None,
            retry: true,
        }
    }

    /// Sends the request to `zone` instead of the client's own zone.
    pub(crate) fn in_zone(mut self, zone: Zone) -> Self {
        self.zone = Some(zone);
        self
    }

    /// Never repeats the request, whatever the error (like a POST).
    pub(crate) fn no_retry(mut self) -> Self {
        self.retry = false;
        self
    }

    pub(crate) fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// The API's `Method` names as `'static` strings, for errors and metrics.
fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

/// Items a listing can de-duplicate across pages.
pub(crate) trait HasId {
    fn id(&self) -> Id;
}

/// One page of a find response.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// How many items match the filter in total.
    pub total: u64,
    /// Offset of the first item of this page.
    pub from: u64,
    /// The items of this page.
    pub items: Vec<T>,
}

impl Client {
    /// Builds a client. Fails only if the configuration is unusable (bad root URL) or TLS cannot
    /// be set up.
    pub fn new(config: Config) -> Result<Self, Error> {
        Self::build(config, None)
    }

    /// Builds a client that reports every HTTP attempt to `observer` (for metrics).
    pub fn with_observer(
        config: Config,
        observer: Arc<dyn RequestObserver>,
    ) -> Result<Self, Error> {
        Self::build(config, Some(observer))
    }

    fn build(config: Config, observer: Option<Arc<dyn RequestObserver>>) -> Result<Self, Error> {
        let root = validate_root_url(&config.api_root_url)
            .map_err(|e| Error::InvalidRequest(format!("API root URL: {e}")))?;
        let base_url = zone_url(&root, config.zone);
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .user_agent(config.user_agent.clone())
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::InvalidRequest(format!("HTTP client: {}", error_chain(&e))))?;
        Ok(Self {
            zone: config.zone,
            base_url: Arc::from(base_url.as_str()),
            inner: Arc::new(Inner {
                http,
                limiter: RateLimiter::new(config.rate_limit),
                config,
                root_url: root,
                observer,
                jitter: Jitter::new(),
            }),
        })
    }

    /// The same client for another zone: requests go to `zone` unless they name one (global
    /// resources still go to [`Zone::GLOBAL`]). The connection pool, the rate limiter and the
    /// observer stay shared, so a program serving several zones keeps one request budget.
    pub fn in_zone(&self, zone: Zone) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            zone,
            base_url: Arc::from(zone_url(&self.inner.root_url, zone).as_str()),
        }
    }

    /// The zone requests go to unless they name one: the configured zone, or the one given to
    /// [`Client::in_zone`].
    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// The configuration this client was built with (its `zone` is the configured one, also
    /// for a view made by [`Client::in_zone`]: see [`Client::zone`]).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// `{root}/{zone}/api/cloud/1.1`, the prefix of every request URL of the client's zone.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `{root}/{zone}/api/cloud/1.1` for another zone: where requests for `zone` go. Global
    /// resources (the Enhanced Load Balancer) are always sent to
    /// `zone_base_url(Zone::GLOBAL)`, whatever the client's zone.
    pub fn zone_base_url(&self, zone: Zone) -> String {
        zone_url(&self.inner.root_url, zone)
    }

    /// Sends a request, retrying when allowed (see [`crate::retry`]), and decodes the JSON
    /// response object.
    pub(crate) async fn call(&self, request: &Request) -> Result<Map<String, Value>, Error> {
        let body = self.call_raw(request).await?;
        decode_object(method_name(&request.method), &request.path, &body)
    }

    /// [`Client::call`] without decoding: the success body's bytes.
    async fn call_raw(&self, request: &Request) -> Result<Vec<u8>, Error> {
        let method = method_name(&request.method);
        let mut retries = 0u32;
        loop {
            match self.attempt(request, retries).await {
                Ok(body) => return Ok(body),
                Err(error) if !request.retry => return Err(error),
                Err(error) => {
                    let delay = retry_delay(
                        &self.inner.config.retry,
                        method,
                        retries,
                        &error,
                        self.inner.jitter.next(),
                    );
                    let Some(delay) = delay else {
                        return Err(error);
                    };
                    tracing::debug!(
                        %error, retry = retries + 1, delay_ms = delay.as_millis() as u64,
                        "retrying SAKURA Cloud API request"
                    );
                    tokio::time::sleep(delay).await;
                    retries += 1;
                }
            }
        }
    }

    /// One HTTP attempt: waits for the rate limiter, sends, reads the body, reports to the
    /// observer. Non-success statuses become [`Error::Api`].
    async fn attempt(&self, request: &Request, retry: u32) -> Result<Vec<u8>, Error> {
        let method = method_name(&request.method);
        let rate_limit_wait = self.inner.limiter.acquire().await;
        let mut url = match request.zone {
            Some(zone) if zone != self.zone => {
                format!("{}/{}", self.zone_base_url(zone), request.path)
            }
            _ => format!("{}/{}", self.base_url, request.path),
        };
        if let Some(q) = &request.query {
            url.push('?');
            url.push_str(q);
        }
        let config = &self.inner.config;
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), &url)
            .basic_auth(
                config.access_token.expose(),
                Some(config.access_token_secret.expose()),
            )
            .header("X-Sakura-Bigint-As-Int", "1")
            .header("Accept-Language", "en")
            .header("Accept", "application/json");
        if let Some(body) = &request.body {
            let bytes = serde_json::to_vec(body)
                .map_err(|e| Error::InvalidRequest(format!("encoding body: {e}")))?;
            builder = builder
                .header("Content-Type", "application/json; charset=UTF-8")
                .body(bytes);
        }

        let started = Instant::now();
        let outcome = async {
            let response = builder.send().await?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("Retry-After")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, retry_after, body))
        }
        .await;
        let latency = started.elapsed();

        let status = outcome.as_ref().ok().map(|(s, _, _)| *s);
        if let Some(observer) = &self.inner.observer {
            observer.on_request(&RequestEvent {
                method,
                resource: request.resource,
                status,
                latency,
                retry,
                rate_limit_wait,
            });
        }
        tracing::debug!(
            method,
            path = %request.path,
            status = status.unwrap_or(0),
            latency_ms = latency.as_millis() as u64,
            retry,
            "SAKURA Cloud API request"
        );

        match outcome {
            Ok((status, _, body)) if (200..300).contains(&status) => Ok(body.to_vec()),
            Ok((status, retry_after, body)) => Err(api_error(
                method,
                request.path.clone(),
                status,
                &body,
                retry_after,
            )),
            Err(e) => Err(Error::Transport {
                method,
                path: request.path.clone(),
                timeout: e.is_timeout(),
                message: error_chain(&e),
            }),
        }
    }

    /// GET `{resource}/{id}` and take `key` out of the envelope.
    pub(crate) async fn read<T: DeserializeOwned>(
        &self,
        resource: &'static str,
        id: Id,
        key: &'static str,
    ) -> Result<T, Error> {
        let path = format!("{}/{id}", resource_root(resource));
        let mut body = self
            .call(&Request::new(Method::GET, resource, path.clone()))
            .await?;
        take(&mut body, key, "GET", &path)
    }

    /// Fetches one page of a find request.
    pub(crate) async fn find_page<T: DeserializeOwned>(
        &self,
        resource: &'static str,
        key: &'static str,
        filter: &Filter,
        from: u64,
        count: u32,
    ) -> Result<Page<T>, Error> {
        self.find_page_in(None, resource, key, filter, from, count)
            .await
    }

    /// [`Client::find_page`] in `zone` (`None`: the client's own).
    pub(crate) async fn find_page_in<T: DeserializeOwned>(
        &self,
        zone: Option<Zone>,
        resource: &'static str,
        key: &'static str,
        filter: &Filter,
        from: u64,
        count: u32,
    ) -> Result<Page<T>, Error> {
        let query = FindRequest {
            count,
            from,
            filter,
        }
        .to_query()
        .map_err(|e| Error::InvalidRequest(format!("encoding find request: {e}")))?;
        let mut request = Request::new(Method::GET, resource, resource.to_owned());
        request.query = Some(query);
        request.zone = zone;
        let body = self.call_raw(&request).await?;
        // Straight from the bytes into the items: a listing of thousands of servers never
        // exists as a `serde_json::Value` tree (several times the size of the typed items).
        let mut de = serde_json::Deserializer::from_slice(&body);
        let (items, total) = serde::de::DeserializeSeed::deserialize(
            PageSeed::<T> {
                key,
                items: std::marker::PhantomData,
            },
            &mut de,
        )
        .and_then(|page| de.end().map(|()| page))
        .map_err(|e| {
            decode_error(
                "GET",
                resource,
                format!("{e}; body starts with: {}", body_excerpt(&body)),
            )
        })?;
        // The API answers `null` rather than `[]` for some empty results.
        let items = items.unwrap_or_default();
        let total = match total {
            Some(v) => crate::wire::StringNumber::deserialize_value(&v)
                .map_err(|message| decode_error("GET", resource, format!("Total: {message}")))?,
            None => from + items.len() as u64,
        };
        Ok(Page { total, from, items })
    }

    /// Fetches every item matching `filter`, page by page, whatever the account size.
    ///
    /// Pages advance by the number of items actually returned, so a server that caps the page
    /// size below what was asked still yields everything. Items are de-duplicated by ID, in
    /// case something was created while paging shifted the window.
    pub(crate) async fn find_all<T: DeserializeOwned + HasId>(
        &self,
        resource: &'static str,
        key: &'static str,
        filter: &Filter,
    ) -> Result<Vec<T>, Error> {
        self.find_all_in(None, resource, key, filter).await
    }

    /// [`Client::find_all`] in `zone` (`None`: the client's own).
    pub(crate) async fn find_all_in<T: DeserializeOwned + HasId>(
        &self,
        zone: Option<Zone>,
        resource: &'static str,
        key: &'static str,
        filter: &Filter,
    ) -> Result<Vec<T>, Error> {
        let page_size = self.inner.config.page_size.max(1);
        let mut items: Vec<T> = Vec::new();
        let mut seen: HashSet<Id> = HashSet::new();
        let mut from = 0u64;
        loop {
            let page: Page<T> = self
                .find_page_in(zone, resource, key, filter, from, page_size)
                .await?;
            let returned = page.items.len() as u64;
            for item in page.items {
                if seen.insert(item.id()) {
                    items.push(item);
                }
            }
            from += returned;
            if returned == 0 || from >= page.total {
                return Ok(items);
            }
        }
    }

    /// Sends a request whose answer is only a success flag.
    pub(crate) async fn action(&self, request: Request) -> Result<(), Error> {
        self.call(&request).await.map(|_| ())
    }

    /// Sends a request with a body and takes `key` out of the response envelope.
    pub(crate) async fn send_for<T: DeserializeOwned>(
        &self,
        request: Request,
        key: &'static str,
    ) -> Result<T, Error> {
        let method = method_name(&request.method);
        let path = request.path.clone();
        let mut body = self.call(&request).await?;
        take(&mut body, key, method, &path)
    }
}

/// `{root}/{zone}/api/cloud/1.1`.
fn zone_url(root: &str, zone: Zone) -> String {
    format!("{root}/{}/{API_PATH}", zone.name())
}

/// The collection part of a resource template: `appliance/{id}/power` → `appliance`.
fn resource_root(resource: &'static str) -> &'static str {
    resource.split('/').next().unwrap_or(resource)
}

/// Wraps a request body in the API's envelope: `{"Appliance": {...}}`.
pub(crate) fn envelope<T: Serialize>(key: &str, value: &T) -> Result<Value, Error> {
    let inner = serde_json::to_value(value)
        .map_err(|e| Error::InvalidRequest(format!("encoding {key}: {e}")))?;
    let mut map = Map::new();
    map.insert(key.to_owned(), inner);
    Ok(Value::Object(map))
}

fn decode_error(method: &'static str, path: &str, message: String) -> Error {
    Error::Decode {
        method,
        path: path.to_owned(),
        message,
    }
}

/// Reads a find response: the items under `key` (absent or `null`: none) and the raw `Total`;
/// every other member is skipped without being built.
struct PageSeed<'k, T> {
    key: &'k str,
    items: std::marker::PhantomData<T>,
}

impl<'de, T: DeserializeOwned> serde::de::DeserializeSeed<'de> for PageSeed<'_, T> {
    type Value = (Option<Vec<T>>, Option<Value>);

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> serde::de::Visitor<'de> for PageSeed<'_, T> {
    type Value = (Option<Vec<T>>, Option<Value>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON object with {:?}", self.key)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut items = None;
        let mut total = None;
        while let Some(name) = map.next_key::<String>()? {
            if name == self.key {
                items = map.next_value::<Option<Vec<T>>>()?;
            } else if name == "Total" {
                total = Some(map.next_value::<Value>()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok((items, total))
    }
}

/// Parses a success body as a JSON object. An empty body (204) reads as an empty object.
fn decode_object(
    method: &'static str,
    path: &str,
    body: &[u8],
) -> Result<Map<String, Value>, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(decode_error(
            method,
            path,
            format!(
                "expected a JSON object, got {}",
                body_excerpt(other.to_string().as_bytes())
            ),
        )),
        Err(e) => Err(decode_error(
            method,
            path,
            format!("{e}; body starts with: {}", body_excerpt(body)),
        )),
    }
}

/// Moves `key` out of a response object and decodes it.
fn take<T: DeserializeOwned>(
    body: &mut Map<String, Value>,
    key: &str,
    method: &'static str,
    path: &str,
) -> Result<T, Error> {
    let value = body
        .remove(key)
        .ok_or_else(|| decode_error(method, path, format!("response has no {key:?} field")))?;
    serde_json::from_value(value).map_err(|e| decode_error(method, path, format!("{key}: {e}")))
}

/// The error and its sources on one line, so "connection refused" is not hidden behind
/// "error sending request".
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// TLS with the ring provider (the one kube-rs uses, so one binary carries one crypto provider)
/// and the operating system's certificate store.
fn tls_config() -> Result<rustls::ClientConfig, Error> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map(|b| b.with_no_client_auth())
        .map_err(|e| Error::InvalidRequest(format!("TLS set-up: {e}")))
}
