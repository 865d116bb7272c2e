//! Serving the API: on a bound listener until a shutdown future resolves, and until SIGINT or
//! SIGTERM with a bounded drain (what `serve` and `demo` run).

use crate::app::AppState;
use crate::config::ServerSettings;
use std::future::Future;
use tokio::net::TcpListener;

/// Serves the API on `listener` until `shutdown` resolves; then cancels every running job
/// (each records its final state, which ends its log followers) and lets in-flight requests
/// finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let jobs = state.jobs.clone();
    let limits = state.settings.server.clone();
    let shutdown = async move {
        shutdown.await;
        jobs.cancel_all().await;
    };
    serve_router_with(listener, super::router(state), &limits, shutdown).await
}

/// Serves a router built from `api::router` with the default connection limits.
pub async fn serve_router(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router_with(listener, router, &ServerSettings::default(), shutdown).await
}

/// Serves a router built from `api::router` (tests add routes of their own to it) with the
/// given read timeouts and connection bound.
pub async fn serve_router_with(
    listener: TcpListener,
    router: axum::Router,
    limits: &ServerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    super::connections::serve_connections(listener, router, limits, shutdown).await
}

/// After SIGTERM, how long in-flight requests may take before the process exits anyway
/// (Kubernetes' grace period is 30s; a stopping BFF should be gone well before).
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(4);

/// Serves until `signal`; then cancels jobs, drains requests, and gives up after the grace.
pub async fn until_signal(
    listener: tokio::net::TcpListener,
    state: AppState,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "serving");
    let cache = state.cache.clone();
    let stopping = std::sync::Arc::new(tokio::sync::Notify::new());
    let notify = stopping.clone();
    let shutdown = async move {
        signal.await;
        notify.notify_one();
    };
    let server = serve(listener, state, shutdown);
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => r?,
        _ = async { stopping.notified().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            tracing::warn!("requests still open {SHUTDOWN_GRACE:?} after the shutdown signal; exiting");
        }
    }
    // Our own watches end here, before whatever they watch goes away (demo's testbed).
    cache.stop();
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM. The SIGTERM handler is installed by this call, before the
/// future is first polled, so a TERM that arrives early is not lost (nor fatal).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        let term = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
        tracing::info!("shutting down");
    }
}
