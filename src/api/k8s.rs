//! `/system/k8s/*`: the namespace's pods, services, endpoints and configmaps from the
//! cache (configmaps as names and keys only), and pod logs proxied from `pods/log`.

use super::error::ApiError;
use super::extract::ApiQuery;
use crate::app::AppState;
use crate::cache::views::{self, ConfigMapSummary, EndpointsSummary, PodSummary, ServiceSummary};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pods))
        .routes(routes!(services))
        .routes(routes!(endpoints))
        .routes(routes!(configmaps))
        .routes(routes!(logs))
}

#[derive(Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// Pod phases a filter may name.
const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PodFilter {
    /// `relayer`, `gwc`, `mdsc`, `fdsc`…
    component: Option<String>,
    /// e.g. `fdsc-0`.
    instance: Option<String>,
    /// One of Pending, Running, Succeeded, Failed, Unknown.
    phase: Option<String>,
}

/// The namespace's pods, filtered by component, instance and phase.
#[utoipa::path(get, path = "/k8s/pods", tag = "k8s", params(PodFilter), responses(
    (status = 200, description = "OK", body = super::Success<Items<PodSummary>>),
    (status = 422, description = "invalid parameter, in the error envelope (details.field names it)", body = super::error::ErrorEnvelope),
))]
async fn pods(State(state): State<AppState>, ApiQuery(f): ApiQuery<PodFilter>) -> Result<Response, ApiError> {
    if let Some(p) = &f.phase
        && !PHASES.contains(&p.as_str())
    {
        return Err(ApiError::validation("phase", format!("phase must be one of {}", PHASES.join(", "))));
    }
    let cache = state.cache.objects();
    let mut items: Vec<PodSummary> = cache
        .pods
        .state()
        .iter()
        .map(|p| views::pod_summary(p))
        .filter(|p| f.component.as_ref().is_none_or(|c| p.component.as_ref() == Some(c)))
        .filter(|p| f.instance.as_ref().is_none_or(|i| p.instance.as_ref() == Some(i)))
        .filter(|p| f.phase.as_ref().is_none_or(|ph| &p.phase == ph))
        .collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(super::ok(Items { items }))
}

fn sorted<T>(mut items: Vec<T>, key: impl Fn(&T) -> &str) -> Vec<T> {
    items.sort_by(|a, b| key(a).cmp(key(b)));
    items
}

/// The namespace's services with ports, NodePorts and selectors.
#[utoipa::path(get, path = "/k8s/services", tag = "k8s", responses((status = 200, description = "OK", body = super::Success<Items<ServiceSummary>>)))]
async fn services(State(state): State<AppState>) -> Result<Response, ApiError> {
    let items = state.cache.objects().services.state().iter().map(|s| views::service_summary(s)).collect();
    Ok(super::ok(Items { items: sorted(items, |s: &ServiceSummary| &s.name) }))
}

/// The namespace's endpoints: ready and not-ready addresses per Service.
#[utoipa::path(get, path = "/k8s/endpoints", tag = "k8s", responses((status = 200, description = "OK", body = super::Success<Items<EndpointsSummary>>)))]
async fn endpoints(State(state): State<AppState>) -> Result<Response, ApiError> {
    let items = state.cache.objects().endpoints.state().iter().map(|e| views::endpoints_summary(e)).collect();
    Ok(super::ok(Items { items: sorted(items, |e: &EndpointsSummary| &e.name) }))
}

/// The namespace's configmaps: names and keys, never values.
#[utoipa::path(get, path = "/k8s/configmaps", tag = "k8s", responses((status = 200, description = "OK", body = super::Success<Items<ConfigMapSummary>>)))]
async fn configmaps(State(state): State<AppState>) -> Result<Response, ApiError> {
    let items =
        state.cache.objects().configmaps.state().iter().map(|c| views::configmap_summary(c)).collect();
    Ok(super::ok(Items { items: sorted(items, |c: &ConfigMapSummary| &c.name) }))
}

/// Upper bound of `tail`, so one request cannot pull an unbounded log.
const MAX_TAIL: i64 = 100_000;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct LogQuery {
    /// Pod name (wins over component/instance).
    pod: Option<String>,
    component: Option<String>,
    instance: Option<String>,
    /// Last N lines (default 200, 0..=100000).
    tail: Option<i64>,
    /// Only lines newer than this many seconds.
    since_seconds: Option<i64>,
    /// Keep streaming new lines as they are written (`kubectl logs -f`).
    follow: Option<bool>,
}

/// Pods' logs as `kubectl logs` gives them: by pod name, or every pod matching
/// component/instance (like `kubectl logs -l … --prefix`: with several pods each line starts
/// with `[pod/<name>] `); `follow=true` streams new lines as they are written.
#[utoipa::path(get, path = "/k8s/logs", tag = "k8s", params(LogQuery), responses(
    (status = 200, description = "OK", content_type = "text/plain", body = String),
    (status = 404, description = "not found, in the error envelope", body = super::error::ErrorEnvelope),
    (status = 422, description = "invalid parameter, in the error envelope (details.field names it)", body = super::error::ErrorEnvelope),
))]
async fn logs(State(state): State<AppState>, ApiQuery(q): ApiQuery<LogQuery>) -> Result<Response, ApiError> {
    let tail = q.tail.unwrap_or(200);
    if !(0..=MAX_TAIL).contains(&tail) {
        return Err(ApiError::validation("tail", format!("tail must be between 0 and {MAX_TAIL}")));
    }
    if q.since_seconds.is_some_and(|s| s <= 0) {
        return Err(ApiError::validation("sinceSeconds", "sinceSeconds must be positive"));
    }
    let cache = state.cache.objects();
    let pods = cache.pods.state();
    let mut chosen: Vec<&std::sync::Arc<Pod>> = match (&q.pod, &q.component, &q.instance) {
        (Some(name), _, _) => vec![
            pods.iter()
                .find(|p| p.metadata.name.as_ref() == Some(name))
                .ok_or_else(ApiError::pod_not_found)?,
        ],
        (None, None, None) => {
            return Err(ApiError::validation("pod", "give pod, or component and/or instance"));
        }
        (None, component, instance) => pods
            .iter()
            .filter(|p| {
                let s = views::pod_summary(p);
                component.as_ref().is_none_or(|c| s.component.as_ref() == Some(c))
                    && instance.as_ref().is_none_or(|i| s.instance.as_ref() == Some(i))
            })
            .collect(),
    };
    if chosen.is_empty() {
        return Err(ApiError::new(
            super::error::ErrorCode::PodNotFound,
            "no pod matches that component and instance",
        ));
    }
    chosen.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let prefixed = chosen.len() > 1;
    let api: Api<Pod> = Api::namespaced(state.kube.clone(), &state.settings.namespace);
    let follow = q.follow.unwrap_or(false);
    let mut streams = Vec::new();
    for pod in chosen {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let container = pod.spec.as_ref().and_then(|s| s.containers.first()).map(|c| c.name.clone());
        let params = LogParams {
            container,
            tail_lines: Some(tail),
            since_seconds: q.since_seconds,
            follow,
            ..Default::default()
        };
        let reader = api.log_stream(&name, &params).await.map_err(|e| match e {
            kube::Error::Api(ref s) if s.code == 404 => ApiError::pod_not_found(),
            other => ApiError::k8s(other),
        })?;
        let prefix = if prefixed { format!("[pod/{name}] ") } else { String::new() };
        let lines = futures::AsyncBufReadExt::lines(reader)
            .map(move |line| line.map(|l| bytes::Bytes::from(format!("{prefix}{l}\n"))));
        streams.push(lines.boxed());
    }
    // Without follow each pod's log is whole, one pod after the other; with follow, lines
    // interleave as the pods write them.
    let body = if follow {
        axum::body::Body::from_stream(futures::stream::select_all(streams))
    } else {
        axum::body::Body::from_stream(futures::stream::iter(streams).flatten())
    };
    Ok(([("content-type", "text/plain; charset=utf-8")], body).into_response())
}
