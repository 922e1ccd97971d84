//! Accepting connections: each one is read through the request-head rewriter
//! ([`crate::conn`]) and served by hyper's HTTP/1 server with the axum router, with a per-connection
//! handle that lets a handler drop the connection (the "dropped connection" fault).

use crate::conn::Rewriting;
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// How long stopping waits for busy connections before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Put into every request's extensions: notifying it closes the connection at once, without an
/// answer to the request in flight.
#[derive(Clone, Debug, Default)]
pub struct DropConnection(pub Arc<Notify>);

/// Completes once stop is asked for (or the simulator handle is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Serve `listener` until `stop` turns true, then let busy connections finish (bounded).
pub async fn accept_loop(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    connections.spawn(serve_connection(tcp, router.clone(), stop.clone()));
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
        tracing::debug!(open = connections.len(), "cutting connections still busy");
    }
}

async fn serve_connection(tcp: TcpStream, router: Router, mut stop: watch::Receiver<bool>) {
    // Small JSON answers: do not wait for Nagle.
    let _ = tcp.set_nodelay(true);
    let abort = DropConnection::default();
    let router = router.layer(axum::Extension(abort.clone()));
    let connection = hyper::server::conn::http1::Builder::new()
        // The rewriter ends the read side after a rejected head; the answer must still go out.
        .half_close(true)
        .serve_connection(
            TokioIo::new(Rewriting::new(tcp)),
            TowerToHyperService::new(router),
        );
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = abort.0.notified() => return,
        () = stopped(&mut stop) => {
            connection.as_mut().graceful_shutdown();
            tokio::select! {
                result = connection.as_mut() => result,
                () = abort.0.notified() => return,
            }
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}
