//! Serving one accepted connection of a testbed server (API server, chain RPC/REST) with
//! HTTP/1 + HTTP/2 and upgrades (exec WebSockets), cut when `cancel` fires — which is how
//! the testbed drops connections for its "refuse" and "stop RPC" faults.

use axum::Router;
use tokio_util::sync::CancellationToken;

pub async fn serve_connection(stream: tokio::net::TcpStream, router: Router, cancel: CancellationToken) {
    let service = hyper_util::service::TowerToHyperService::new(router);
    let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    let conn = builder.serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = cancel.cancelled() => {}
    }
}
