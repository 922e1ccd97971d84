//! A scriptable HTTP server on 127.0.0.1 that records every request, for HTTP-level tests of
//! the client. It knows nothing of SAKURA Cloud: each test says what to answer.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, Response, StatusCode};
use sacloud::{Client, Config, RetryPolicy, Zone};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub raw_query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    /// The query string percent-decoded and parsed as JSON.
    pub fn query_json(&self) -> serde_json::Value {
        let raw = self.raw_query.as_deref().unwrap_or("");
        let decoded = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .unwrap();
        serde_json::from_str(&decoded).unwrap()
    }

    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

/// What to answer.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![],
            body: body.to_string(),
        }
    }

    pub fn error(status: u16, code: &str, msg: &str) -> Self {
        Self::json(
            status,
            serde_json::json!({
                "is_fatal": true,
                "serial": "0123456789abcdef0123456789abcdef",
                "status": format!("{status} {}", StatusCode::from_u16(status).unwrap().canonical_reason().unwrap_or("")),
                "error_code": code,
                "error_msg": msg,
            }),
        )
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
}

type Handler = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

/// The running mock.
pub struct MockApi {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl MockApi {
    /// Starts a server that answers with `handler(request, index_of_request)`.
    pub async fn start(
        handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let log = requests.clone();
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let log = log.clone();
            let handler = handler.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                let recorded = Recorded {
                    method: parts.method,
                    path: parts.uri.path().to_owned(),
                    raw_query: parts.uri.query().map(str::to_owned),
                    headers: parts.headers,
                    body,
                };
                let index = {
                    let mut log = log.lock().unwrap();
                    log.push(recorded.clone());
                    log.len() - 1
                };
                let reply = handler(&recorded, index);
                let mut builder = Response::builder()
                    .status(reply.status)
                    .header("Content-Type", "application/json; charset=UTF-8");
                for (name, value) in reply.headers {
                    builder = builder.header(name, value);
                }
                builder.body(Body::from(reply.body)).unwrap()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, requests }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// A client for zone is1a with fast retries and no rate limit, pointed at this server.
    pub fn client(&self) -> Client {
        Client::new(self.config()).unwrap()
    }

    pub fn config(&self) -> Config {
        let mut config = Config::new(TOKEN, SECRET, Zone::Is1a);
        config.api_root_url = self.url();
        config.rate_limit.per_second = 0.0;
        config.retry = RetryPolicy {
            max_retries: 3,
            min_wait: Duration::from_millis(5),
            max_wait: Duration::from_millis(20),
        };
        config
    }
}

pub const TOKEN: &str = "test-access-token";
pub const SECRET: &str = "test-secret-DO-NOT-LEAK";
