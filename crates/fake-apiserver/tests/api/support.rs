//! Shared helpers: start a server, build a kube client for it, poll with deadlines.

use std::future::Future;
use std::time::Duration;

use fake_apiserver::{Config, FakeApiServer, RunningFakeApiServer};
use kube::Client;

/// Starts a server with the default config and returns it with a client.
pub async fn start() -> (RunningFakeApiServer, Client) {
    start_with(Config::default()).await
}

/// Starts a server with `config` and returns it with a client.
pub async fn start_with(config: Config) -> (RunningFakeApiServer, Client) {
    let server = FakeApiServer::start(config).await.expect("server starts");
    let client = client_for(&server);
    (server, client)
}

/// A kube client whose cluster URL is the server's plain-http URL.
pub fn client_for(server: &RunningFakeApiServer) -> Client {
    let uri: axum::http::Uri = server.url().parse().expect("valid url");
    Client::try_from(kube::Config::new(uri)).expect("client builds")
}

/// Polls `check` until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `Status` inside a kube API error.
pub fn api_error(e: kube::Error) -> Box<kube::core::Status> {
    match e {
        kube::Error::Api(s) => s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Sends a raw request and returns (status code, JSON body).
pub async fn raw(
    client: &Client,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    let mut req = axum::http::Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let req = req.body(body.as_bytes().to_vec()).expect("request builds");
    let resp = client
        .send(req.map(Into::into))
        .await
        .expect("request sent");
    let code = resp.status().as_u16();
    let bytes = axum::body::to_bytes(axum::body::Body::new(resp.into_body()), 16 << 20)
        .await
        .expect("body read");
    let v = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (code, v)
}

/// kubectl's `Accept` for `kubectl get` (server-side printing).
pub const KUBECTL_TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

/// The answer to [`send`]: status code, headers and the body as JSON (`Null` if it is not).
pub struct Answer {
    pub code: u16,
    pub headers: axum::http::HeaderMap,
    pub body: serde_json::Value,
}

/// Sends a request with exactly these headers and body bytes, as kubectl would.
pub async fn send(
    client: &Client,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Answer {
    let mut req = axum::http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(body).expect("request builds");
    let resp = client
        .send(req.map(Into::into))
        .await
        .expect("request sent");
    let code = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(axum::body::Body::new(resp.into_body()), 16 << 20)
        .await
        .expect("body read");
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Answer {
        code,
        headers,
        body,
    }
}

/// Opens a watch with these headers and returns a reader of its events, one JSON line each.
pub async fn open_watch(client: &Client, path: &str, headers: &[(&str, &str)]) -> WatchLines {
    let mut req = axum::http::Request::builder().method("GET").uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Vec::new()).expect("request builds");
    let resp = client
        .send(req.map(Into::into))
        .await
        .expect("watch opened");
    assert_eq!(resp.status().as_u16(), 200);
    WatchLines {
        body: axum::body::Body::new(resp.into_body()).into_data_stream(),
        buf: Vec::new(),
    }
}

/// The events of a watch, line by line.
pub struct WatchLines {
    body: axum::body::BodyDataStream,
    buf: Vec<u8>,
}

impl WatchLines {
    /// The next event, waiting up to 10 s.
    pub async fn next(&mut self) -> serde_json::Value {
        use futures::StreamExt;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return serde_json::from_slice(&line).expect("a watch event is JSON");
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .expect("a watch event within 10 s")
                .expect("the watch is still open")
                .expect("the body reads");
            self.buf.extend_from_slice(&chunk);
        }
    }
}
