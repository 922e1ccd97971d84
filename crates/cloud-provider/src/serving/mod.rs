//! HTTPS serving of health probes and metrics, like the upstream cloud-controller-manager's
//! secure port (10258).
//!
//! [`serve`] binds `--bind-address:--secure-port` and answers, without authentication (these
//! are upstream's always-allowed paths):
//!
//! - `/healthz`, `/livez`: the built-in `ping` plus [`Checks::health`];
//! - `/readyz`: those plus [`Checks::ready`];
//! - `/healthz/<name>`, `/livez/<name>`, `/readyz/<name>`: one of that endpoint's checks;
//! - `/metrics`: the given `prometheus-client` registry, in the OpenMetrics text format;
//! - anything else: 404.
//!
//! The certificate comes from `--tls-cert-file`/`--tls-private-key-file`, or is generated in
//! memory at start (a CA and a serving certificate it signed), as upstream does when no
//! certificate is given. Only HTTP/1.1 is offered. A client that fails the TLS handshake or
//! drops its connection is logged at debug level and never affects the server.

mod health;
mod tls;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use prometheus_client::registry::Registry;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

pub use health::{Checks, HealthCheck, check_fn};
use health::{Probe, query_has, run_one, run_probe};

/// The upstream cloud-controller-manager's secure port.
pub const DEFAULT_SECURE_PORT: u16 = 10258;

/// Where and how to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingConfig {
    /// The address to listen on (`--bind-address`, default `0.0.0.0`).
    pub bind_address: IpAddr,
    /// The port to listen on; `None` disables serving and `Some(0)` picks a free port (what
    /// tests want). The flag `--secure-port` keeps upstream's meaning, where 0 disables:
    /// convert it with [`ServingConfig::port_from_flag`].
    pub secure_port: Option<u16>,
    /// A PEM certificate chain, leaf first (`--tls-cert-file`). Without it (and the key) a
    /// self-signed certificate is generated in memory.
    pub tls_cert_file: Option<PathBuf>,
    /// The PEM private key of that certificate, PKCS#8, PKCS#1 or SEC1
    /// (`--tls-private-key-file`).
    pub tls_private_key_file: Option<PathBuf>,
}

impl Default for ServingConfig {
    fn default() -> Self {
        Self {
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            secure_port: Some(DEFAULT_SECURE_PORT),
            tls_cert_file: None,
            tls_private_key_file: None,
        }
    }
}

impl ServingConfig {
    /// `--secure-port` as upstream reads it: 0 disables serving.
    pub fn port_from_flag(secure_port: u16) -> Option<u16> {
        (secure_port != 0).then_some(secure_port)
    }
}

/// Why serving could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServingError {
    /// Only one of `--tls-cert-file` and `--tls-private-key-file` was given.
    #[error("--tls-cert-file and --tls-private-key-file must be given together")]
    IncompleteCertKeyPair,
    /// The certificate file could not be read or holds no certificate.
    #[error("TLS certificate file {}: {reason}", .path.display())]
    CertFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The private key file could not be read or holds no usable key.
    #[error("TLS private key file {}: {reason}", .path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Each file is readable but they do not make a usable pair (e.g. the key is not the
    /// certificate's).
    #[error("TLS certificate file {} with private key file {}: {reason}", .cert.display(), .key.display())]
    CertKeyPair {
        /// The certificate file.
        cert: PathBuf,
        /// The private key file.
        key: PathBuf,
        /// What is wrong with the pair.
        reason: String,
    },
    /// Generating the in-memory certificate failed.
    #[error("generating the self-signed serving certificate: {0}")]
    SelfSigned(String),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// A health check's name is unusable (empty, with `/`, or used twice).
    #[error("{0}")]
    InvalidCheck(String),
    /// The address could not be bound (in use, not local, no permission).
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a graceful shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The server [`serve`] started. Serving stops on [`RunningServer::shutdown`] or on drop.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    ca_pem: Option<String>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// The address the server listens on (with the real port when `Some(0)` was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The generated CA's certificate (PEM) when serving a self-signed certificate, for clients
    /// that want to verify the server; `None` when serving the operator's certificate.
    pub fn ca_certificate_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Stops accepting connections, lets requests in flight finish (up to 5 s), then returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::warn!(error = %e, "serving task ended abnormally");
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Starts serving health probes and `registry` over HTTPS per `config`. Returns `None` when
/// serving is disabled (`secure_port: None`), else the running server; fails before binding
/// when the certificate, key or checks are unusable. Needs a Tokio runtime.
pub async fn serve(
    config: &ServingConfig,
    checks: Checks,
    registry: Arc<Registry>,
) -> Result<Option<RunningServer>, ServingError> {
    let Some(port) = config.secure_port else {
        tracing::info!("secure serving disabled (--secure-port=0)");
        return Ok(None);
    };
    checks.validate().map_err(ServingError::InvalidCheck)?;
    let (identity, files) = match (&config.tls_cert_file, &config.tls_private_key_file) {
        (Some(cert), Some(key)) => (
            tls::from_files(cert, key)?,
            Some((cert.as_path(), key.as_path())),
        ),
        (None, None) => {
            let hostname = hostname::get().ok().and_then(|h| h.into_string().ok());
            let names = tls::self_signed_names(hostname.as_deref(), config.bind_address);
            (tls::self_signed(names, SystemTime::now())?, None)
        }
        _ => return Err(ServingError::IncompleteCertKeyPair),
    };
    let ca_pem = identity.ca_pem.clone();
    let acceptor = TlsAcceptor::from(tls::server_config(identity, files)?);

    let addr = SocketAddr::new(config.bind_address, port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServingError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| ServingError::Bind { addr, source })?;
    tracing::info!(
        address = %local_addr,
        certificate = if ca_pem.is_some() { "self-signed, in memory" } else { "from file" },
        "serving /healthz, /livez, /readyz and /metrics over HTTPS"
    );

    let router = router(Arc::new(checks), registry);
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, acceptor, router, stop_rx));
    Ok(Some(RunningServer {
        local_addr,
        ca_pem,
        stop,
        task: Some(task),
    }))
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    connections.spawn(serve_connection(
                        tcp,
                        peer,
                        acceptor.clone(),
                        router.clone(),
                        stop.clone(),
                    ));
                }
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            },
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::debug!(
            open = connections.len(),
            "closing connections still busy after the shutdown grace period"
        );
    }
}

/// Completes once stop is asked for (or the server handle is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here, inside.
    let _ = stop.wait_for(|s| *s).await;
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
    let tls = tokio::select! {
        () = stopped(&mut stop) => return,
        result = handshake => match result {
            Ok(Ok(tls)) => tls,
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        },
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router));
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stopped(&mut stop) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

#[derive(Clone)]
struct AppState {
    checks: Arc<Checks>,
    registry: Arc<Registry>,
}

fn router(checks: Arc<Checks>, registry: Arc<Registry>) -> Router {
    let mut router = Router::new();
    for probe in [Probe::Healthz, Probe::Livez, Probe::Readyz] {
        router = router
            .route(
                &format!("/{}", probe.name()),
                get(
                    move |State(state): State<AppState>, RawQuery(query): RawQuery| async move {
                        let verbose = query_has(query.as_deref(), "verbose");
                        let (status, body) =
                            run_probe(probe, &probe.checks(&state.checks), verbose);
                        text(status, body)
                    },
                ),
            )
            .route(
                &format!("/{}/{{name}}", probe.name()),
                get(
                    move |State(state): State<AppState>, Path(name): Path<String>| async move {
                        match run_one(probe, &state.checks, &name) {
                            Some((status, body)) => text(status, body),
                            None => not_found().await,
                        }
                    },
                ),
            );
    }
    router
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(AppState { checks, registry })
}

fn text(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The content type `prometheus-client`'s text encoder produces.
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

async fn metrics(State(state): State<AppState>) -> Response {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &state.registry) {
        Ok(()) => ([(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], body).into_response(),
        Err(error) => {
            tracing::warn!(%error, "encoding metrics failed");
            text(500, format!("encoding metrics failed: {error}\n"))
        }
    }
}

async fn not_found() -> Response {
    text(404, "404 page not found\n".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_port_zero_disables() {
        assert_eq!(ServingConfig::port_from_flag(0), None);
        assert_eq!(ServingConfig::port_from_flag(10258), Some(10258));
    }

    #[test]
    fn defaults_match_upstream() {
        let c = ServingConfig::default();
        assert_eq!(c.bind_address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(c.secure_port, Some(10258));
        assert_eq!(c.tls_cert_file, None);
        assert_eq!(c.tls_private_key_file, None);
    }
}
