//! TEST DOUBLE: an in-memory Kubernetes API server.
//!
//! It speaks the Kubernetes HTTP API (plain HTTP; JSON, and protobuf request bodies for the
//! built-in kinds) for a configurable set of
//! resources, with the semantics controllers depend on: a single monotonic `resourceVersion`,
//! list + watch with resume and `410 Expired`, bookmarks, optimistic concurrency, status
//! subresources, finalizers, merge / JSON / strategic merge patches and `Status` errors.
//! It is not a product feature and has no authentication, admission or persistence; see
//! `docs/fake-apiserver.md` for exactly what is and is not supported.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use fake_apiserver::{Config, FakeApiServer};
//! let server = FakeApiServer::start(Config::default()).await?;
//! println!("serving on {}", server.url());
//! server.store().create("configmaps", Some("default"),
//!     serde_json::json!({"metadata": {"name": "seed"}, "data": {"k": "v"}}))
//!     .expect("seeding works");
//! server.shutdown().await;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod defaults;
pub mod errors;
mod events;
mod http;
mod meta;
mod openapi;
pub mod patch;
mod printers;
mod protobuf;
mod requests;
pub mod resources;
mod schema;
pub mod selectors;
mod store;
mod table;
mod validation;
mod watch;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch as tokio_watch;
use tokio::task::JoinHandle;

use crate::requests::Recorder;

pub use errors::ApiError;
pub use requests::RecordedRequest;
pub use resources::{ResourceDef, StatusOnCreate, default_resources};
pub use store::{PatchType, Store, Subresource};

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port. Keep it on loopback.
    pub listen: SocketAddr,
    /// The served resources (defaults to [`default_resources`]).
    pub resources: Vec<ResourceDef>,
    /// Namespaces that exist at start.
    pub namespaces: Vec<String>,
    /// How many events the watch history keeps; a watch from an older resourceVersion gets
    /// `410 Expired` (the real server keeps a time window instead).
    pub history_limit: usize,
    /// How often a watch with `allowWatchBookmarks=true` receives a BOOKMARK.
    pub bookmark_interval: Duration,
    /// Whether to apply the real server's defaulting for Services (type, cluster IP, node
    /// ports), Namespaces (phase, name label) and Secrets (`type: Opaque`).
    pub core_defaults: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            resources: default_resources(),
            namespaces: vec![
                "default".to_string(),
                "kube-system".to_string(),
                "kube-public".to_string(),
            ],
            history_limit: 10_000,
            bookmark_interval: Duration::from_secs(5),
            core_defaults: true,
        }
    }
}

/// Entry point: [`FakeApiServer::start`].
#[derive(Debug)]
pub struct FakeApiServer;

impl FakeApiServer {
    /// Binds, seeds the initial namespaces and starts serving on the current tokio runtime.
    pub async fn start(config: Config) -> std::io::Result<RunningFakeApiServer> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let store = Store::new(
            config.resources.clone(),
            config.history_limit,
            config.core_defaults,
        );
        if store
            .resources()
            .iter()
            .any(|d| d.qualified_name() == "namespaces")
        {
            for ns in &config.namespaces {
                store
                    .create("namespaces", None, json!({"metadata": {"name": ns}}))
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            }
        }
        let (shutdown_tx, shutdown_rx) = tokio_watch::channel(false);
        let requests = Recorder::default();
        let app = Arc::new(http::App {
            store: store.clone(),
            requests: requests.clone(),
            server_address: addr.to_string(),
            bookmark_interval: config.bookmark_interval,
            shutdown: shutdown_rx.clone(),
        });
        let router = http::router(app);
        let mut graceful = shutdown_rx;
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = graceful.wait_for(|stop| *stop).await;
                })
                .await
        });
        tracing::info!(%addr, "fake-apiserver (test double) listening");
        Ok(RunningFakeApiServer {
            addr,
            store,
            requests,
            shutdown: shutdown_tx,
            task,
        })
    }
}

/// A running server. Dropping it stops it too; [`RunningFakeApiServer::shutdown`] also waits
/// for it to finish.
#[derive(Debug)]
pub struct RunningFakeApiServer {
    addr: SocketAddr,
    store: Store,
    requests: Recorder,
    shutdown: tokio_watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningFakeApiServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, usable as a kube-rs cluster URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The object store, to seed or inspect objects directly.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Every distinct kind of resource request served so far (verb, group, resource,
    /// subresource, namespace, in RBAC terms), in the order first seen: what a Role must
    /// allow for the same calls to pass on a real cluster. Discovery and other non-resource
    /// paths (`/version`, `/api`, `/apis/...` without a resource) are not recorded; the default
    /// `system:discovery` role grants them to every authenticated user. Requests made through
    /// [`RunningFakeApiServer::store`] bypass HTTP and are not recorded either.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.snapshot()
    }

    /// Forgets the recorded requests, e.g. to look at one phase of a test only.
    pub fn clear_requests(&self) {
        self.requests.clear();
    }

    /// A kubeconfig (YAML) whose current context points at this server, namespace `default`.
    pub fn kubeconfig(&self) -> String {
        kubeconfig_yaml(&self.url())
    }

    /// Stops serving: ends open watches, then waits (up to 5 s) for the server task.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

impl Drop for RunningFakeApiServer {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        self.task.abort();
    }
}

/// `t` as the server writes times (`creationTimestamp`): RFC 3339, UTC, whole seconds.
pub fn timestamp(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    meta::rfc3339(secs)
}

/// A kubeconfig for `url` with a context named `fake-apiserver` (no credentials: the fake
/// does not authenticate).
pub fn kubeconfig_yaml(url: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: fake-apiserver
  cluster:
    server: {url}
contexts:
- name: fake-apiserver
  context:
    cluster: fake-apiserver
    user: fake-apiserver
    namespace: default
current-context: fake-apiserver
users:
- name: fake-apiserver
  user: {{}}
preferences: {{}}
"
    )
}
