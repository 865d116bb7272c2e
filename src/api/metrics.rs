//! `GET /metrics`: the Prometheus exposition of `AppState::metrics`, with the gauges that
//! mirror in-memory state (jobs held, cached objects) read at scrape time.

use crate::app::AppState;
use crate::jobs::Scope;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse as _, Response};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Metrics in the Prometheus text format (OpenMetrics 1.0).
#[utoipa::path(get, path = "/metrics", tag = "health", responses(
    (status = 200, description = "jobs, step durations, cache objects and watch restarts, upstream latency, exec calls",
     content_type = "application/openmetrics-text", body = String),
))]
async fn metrics(State(state): State<AppState>) -> Response {
    let text = state.metrics.encode(|snapshot| {
        for scope in [Scope::System, Scope::Utils] {
            for job in state.jobs.list(scope) {
                snapshot.job(scope.as_str(), &job.type_, job.status.as_str());
            }
        }
        for (kind, count) in state.cache.object_counts() {
            snapshot.cache_objects(&kind, count);
        }
    });
    ([(CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response()
}
