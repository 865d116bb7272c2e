//! The HTTP/1 connection loop under the API. `axum::serve` gives a client unbounded time to
//! send its request and accepts every connection; here a client has `HEADER_READ_TIMEOUT` for
//! each request head (hyper's own timer closes a slower connection), its body is bounded by
//! the extractor (`BODY_READ_TIMEOUT`), and at most `MAX_CONNECTIONS` connections are open:
//! beyond that the loop stops accepting and new clients wait in the kernel's backlog.

use crate::config::ServerSettings;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` until `shutdown` resolves, then asks every connection to
/// finish its in-flight request and returns once all are closed.
pub async fn serve_connections(
    listener: TcpListener,
    router: axum::Router,
    limits: &ServerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let slots = Arc::new(Semaphore::new(max));
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router.clone()))
            .with_upgrades();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => return finished(result),
                _ = stopping.wait_for(|stop| *stop) => {}
            }
            connection.as_mut().graceful_shutdown();
            finished(connection.await);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every slot back: every connection has closed.
    let _ = slots.acquire_many(max as u32).await;
    Ok(())
}

/// A connection's end: a client that was too slow or went away is routine, not a fault.
fn finished(result: Result<(), hyper::Error>) {
    if let Err(error) = result {
        tracing::debug!(%error, "connection closed");
    }
}
