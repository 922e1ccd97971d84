//! `fake-apiserver`: a TEST DOUBLE, not a product feature.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use fake_apiserver::{Config, FakeApiServer};

/// TEST DOUBLE: an in-memory Kubernetes API server for tests and local sandboxes.
///
/// It is NOT a Kubernetes API server: no authentication, no authorization, no admission, no
/// persistence (everything is lost on exit unless --state-file is given), JSON only, plain HTTP. It serves namespaces,
/// nodes, services, events, configmaps, endpoints, events.k8s.io events, leases and
/// endpointslices. See docs/fake-apiserver.md.
#[derive(Debug, Parser)]
#[command(name = "fake-apiserver", version, verbatim_doc_comment)]
struct Args {
    /// Address to listen on (port 0 picks a free port). Keep it on loopback: there is no auth.
    #[arg(long, default_value = "127.0.0.1:0", env = "FAKE_APISERVER_LISTEN")]
    listen: SocketAddr,

    /// Write a kubeconfig pointing at the server to this file.
    #[arg(long, env = "FAKE_APISERVER_KUBECONFIG_OUT")]
    kubeconfig_out: Option<PathBuf>,

    /// Watch events kept for resuming watches; older resourceVersions get 410 Expired.
    #[arg(long, default_value_t = 10_000)]
    history_limit: usize,

    /// Keep the objects across restarts: read this file at start if it exists, write it on
    /// SIGTERM or Ctrl-C. (A restarted server keeps its data as etcd would; watches relist.)
    #[arg(long, env = "FAKE_APISERVER_STATE_FILE")]
    state_file: Option<PathBuf>,

    /// Seconds between watch BOOKMARK events.
    #[arg(long, default_value_t = 5)]
    bookmark_interval_secs: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if !args.listen.ip().is_loopback() {
        tracing::warn!(listen = %args.listen, "listening on a non-loopback address: this test double has no authentication");
    }
    let config = Config {
        listen: args.listen,
        history_limit: args.history_limit,
        bookmark_interval: Duration::from_secs(args.bookmark_interval_secs.max(1)),
        ..Config::default()
    };
    let server = match FakeApiServer::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fake-apiserver: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.state_file
        && let Err(e) = load_state(&server, path).await
    {
        eprintln!("fake-apiserver: cannot load {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    if let Some(path) = &args.kubeconfig_out
        && let Err(e) = tokio::fs::write(path, server.kubeconfig()).await
    {
        eprintln!("fake-apiserver: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    println!("{}", server.url());
    wait_for_stop_signal().await;
    let saved = server.store().save();
    server.shutdown().await;
    if let Some(path) = &args.state_file
        && let Err(e) = save_state(&saved, path).await
    {
        eprintln!("fake-apiserver: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Loads the objects saved in `path`, when it exists.
async fn load_state(
    server: &fake_apiserver::RunningFakeApiServer,
    path: &Path,
) -> Result<(), String> {
    let text = match tokio::fs::read(path).await {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.to_string()),
    };
    let saved: serde_json::Value = serde_json::from_slice(&text).map_err(|e| e.to_string())?;
    server.store().load(&saved)
}

/// Writes `saved` to `path` whole or not at all (a temporary file renamed over it).
async fn save_state(saved: &serde_json::Value, path: &Path) -> std::io::Result<()> {
    let partial = path.with_extension("partial");
    tokio::fs::write(&partial, saved.to_string()).await?;
    tokio::fs::rename(&partial, path).await
}

/// Ctrl-C, or SIGTERM on Unix (how sandboxes and CI scripts stop background processes).
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                return;
            }
            Err(e) => eprintln!("fake-apiserver: cannot watch SIGTERM: {e}"),
        }
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("fake-apiserver: cannot wait for Ctrl-C: {e}");
    }
}
