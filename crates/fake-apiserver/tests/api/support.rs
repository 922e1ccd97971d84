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
