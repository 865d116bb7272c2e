//! Job routes shared by the `system` and `utils` scopes: list, detail, logs
//! (text / jsonl, or followed as Server-Sent Events until the job ends) and cancel.
//! Each scope gets the same handlers, generated once per scope so OpenAPI lists both.

use super::error::{ApiError, ErrorCode};
use super::extract::ApiQuery;
use crate::app::AppState;
use crate::jobs::log::LogLine;
use crate::jobs::model::{Job, JobStatus, JobSummary, Scope};
use crate::jobs::{JobStore, Refused};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::convert::Infallible;
use utoipa::{IntoParams, ToSchema};

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        crate::error_code::Failure::from(refused).into()
    }
}

/// The 202 answer to an admitted job.
pub fn accepted(job: &Job) -> Response {
    let data = job.accepted();
    let answer = crate::jobs::model::AcceptedAnswer { ok: true, job_id: data.job_id.clone(), data };
    (axum::http::StatusCode::ACCEPTED, axum::Json(answer)).into_response()
}

/// The id is the client's (from the path): the answer names the field, not the value.
fn job_not_found() -> ApiError {
    ApiError::new(ErrorCode::JobNotFound, "no job with that id (jobs live in memory; a restart forgets them)")
        .with_details(json!({"field": "id"}))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only jobs of this type, e.g. `system.start`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    type_: Option<String>,
    /// Only jobs in this status.
    #[param(inline)]
    status: Option<JobStatus>,
    /// At most this many (default 20, 1..=1000).
    limit: Option<usize>,
    /// Only jobs created at or after this RFC 3339 time.
    since: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct JobList {
    pub items: Vec<JobSummary>,
}

fn parse_since(field: &str, since: Option<&str>) -> Result<Option<jiff::Timestamp>, ApiError> {
    since
        .map(|s| {
            s.parse::<jiff::Timestamp>()
                .map_err(|_| ApiError::validation(field, format!("{field} must be an RFC 3339 time")))
        })
        .transpose()
}

pub(super) fn list(store: &JobStore, scope: Scope, q: ListQuery) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::validation("limit", "limit must be between 1 and 1000"));
    }
    let since = parse_since("since", q.since.as_deref())?;
    if let Some(type_) = &q.type_ {
        check_type(scope, type_)?;
    }
    let items = store
        .list(scope)
        .into_iter()
        .filter(|j| q.type_.as_ref().is_none_or(|t| &j.type_ == t))
        .filter(|j| q.status.is_none_or(|s| j.status == s))
        .filter(|j| since.is_none_or(|t| j.created_at.parse::<jiff::Timestamp>().is_ok_and(|c| c >= t)))
        .take(limit)
        .collect();
    Ok(super::ok(JobList { items }))
}

/// A job type is `<scope>.<name>` in lowercase (`system.start`): anything else can match no
/// job and is refused as a bad `status` is, rather than answered with an empty list.
fn check_type(scope: Scope, type_: &str) -> Result<(), ApiError> {
    let name = type_.strip_prefix(scope.as_str()).and_then(|rest| rest.strip_prefix('.'));
    let well_formed = name.is_some_and(|n| {
        !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    });
    if well_formed {
        return Ok(());
    }
    let scope = scope.as_str();
    Err(ApiError::validation(
        "type",
        format!(
            "type must be a {scope} job type: {scope}.<name>, e.g. {scope}.{}",
            if scope == "system" { "start" } else { "load.broadcast-batch" }
        ),
    ))
}

pub(super) fn detail(store: &JobStore, scope: Scope, id: &str) -> Result<Response, ApiError> {
    let cell = store.get(scope, id).ok_or_else(job_not_found)?;
    Ok(super::ok(cell.snapshot()))
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Jsonl,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Last N lines (default 200, 0..=100000).
    tail: Option<usize>,
    /// Only lines at or after this RFC 3339 time.
    since: Option<String>,
    /// `text` (default) or `jsonl`.
    #[param(inline)]
    format: Option<LogFormat>,
    /// Stream new lines as Server-Sent Events until the job ends.
    follow: Option<bool>,
}

pub(super) fn logs(store: &JobStore, scope: Scope, id: &str, q: LogQuery) -> Result<Response, ApiError> {
    let tail = q.tail.unwrap_or(200);
    if tail > 100_000 {
        return Err(ApiError::validation("tail", "tail must be at most 100000"));
    }
    let since = parse_since("since", q.since.as_deref())?;
    let format = q.format.unwrap_or_default();
    let cell = store.get(scope, id).ok_or_else(job_not_found)?;
    let render = move |l: &LogLine| if format == LogFormat::Jsonl { l.json() } else { l.text() };
    let (mut lines, live) = cell.log.snapshot_and_follow();
    lines.retain(|l| since.is_none_or(|t| l.time >= t));
    lines.drain(..lines.len().saturating_sub(tail));
    if !q.follow.unwrap_or(false) {
        let body: String = lines.iter().map(|l| render(l) + "\n").collect();
        let content_type =
            if format == LogFormat::Jsonl { "application/x-ndjson" } else { "text/plain; charset=utf-8" };
        return Ok(([("content-type", content_type)], body).into_response());
    }
    // Follow: the snapshot, then live lines, until the job has finished and the feed is drained.
    let head = futures::stream::iter(lines.iter().map(render).collect::<Vec<_>>());
    let done = cell.clone();
    let tail_stream = futures::stream::unfold((live, done, false), move |(mut live, cell, ending)| async move {
        if ending {
            return None;
        }
        tokio::select! {
            biased;
            line = live.recv() => match line {
                Ok(l) => Some((Some(render(&l)), (live, cell, false))),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    Some((Some(format!("[{n} log lines skipped: follower too slow]")), (live, cell, false)))
                }
                Err(_) => None,
            },
            _ = cell.finished() => {
                // Drain what was appended before the end, then stop.
                let mut rest = Vec::new();
                while let Ok(l) = live.try_recv() {
                    rest.push(render(&l));
                }
                Some((if rest.is_empty() { None } else { Some(rest.join("\n")) }, (live, cell, true)))
            }
        }
    })
    .filter_map(|x| async move { x });
    let events = head.chain(tail_stream).map(|line| Ok::<_, Infallible>(Event::default().data(line)));
    let end = futures::stream::once(async {
        Ok::<_, Infallible>(Event::default().event("end").data("job finished"))
    });
    Ok(Sse::new(events.chain(end)).keep_alive(KeepAlive::default()).into_response())
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelAnswer {
    pub job_id: String,
    /// `canceled` when the job was queued or running; otherwise its final status, unchanged.
    pub status: JobStatus,
    pub message: String,
}

pub(super) fn cancel(store: &JobStore, scope: Scope, id: &str) -> Result<Response, ApiError> {
    let outcome = store.cancel(scope, id).ok_or_else(job_not_found)?;
    Ok(axum::Json(CancelAnswer { job_id: id.to_string(), status: outcome.status, message: outcome.message })
        .into_response())
}

/// Generates the four job routes of one scope under `/jobs`.
macro_rules! scoped_job_routes {
    ($module:ident, $scope:expr, $tag:literal) => {
        pub mod $module {
            use super::*;
            use axum::extract::State;
use crate::api::extract::ApiPath;
            use utoipa_axum::{router::OpenApiRouter, routes};

            pub fn router() -> OpenApiRouter<AppState> {
                OpenApiRouter::new()
                    .routes(routes!(list_jobs))
                    .routes(routes!(get_job))
                    .routes(routes!(job_logs))
                    .routes(routes!(cancel_job))
            }

            /// Jobs of this scope, newest first.
            #[utoipa::path(get, path = "/jobs", operation_id = concat!(stringify!($module), "_list_jobs"), tag = $tag, params(ListQuery), responses(
                (status = 200, description = "OK", body = crate::api::Success<JobList>),
                (status = 422, description = "invalid parameter, in the error envelope", body = crate::api::error::ErrorEnvelope),
            ))]
            async fn list_jobs(State(s): State<AppState>, ApiQuery(q): ApiQuery<ListQuery>) -> Result<Response, ApiError> {
                super::list(&s.jobs, $scope, q)
            }

            /// One job: status, progress, steps (a skipped step says why), result, error.
            #[utoipa::path(get, path = "/jobs/{id}", operation_id = concat!(stringify!($module), "_get_job"), tag = $tag, params(("id" = String, Path, description = "job id")), responses(
                (status = 200, description = "OK", body = crate::api::Success<Job>),
                (status = 404, description = "JOB_NOT_FOUND", body = crate::api::error::ErrorEnvelope),
            ))]
            async fn get_job(State(s): State<AppState>, ApiPath(id): ApiPath<String>) -> Result<Response, ApiError> {
                super::detail(&s.jobs, $scope, &id)
            }

            /// The job's log: text lines `[HH:MM:SS.mmmZ] step=… cmd="…" outcome`, JSON lines, or an SSE stream.
            #[utoipa::path(get, path = "/jobs/{id}/logs", operation_id = concat!(stringify!($module), "_job_logs"), tag = $tag, params(("id" = String, Path, description = "job id"), LogQuery), responses(
                (status = 200, description = "text/plain, application/x-ndjson, or text/event-stream with follow=true", body = String),
                (status = 404, description = "JOB_NOT_FOUND", body = crate::api::error::ErrorEnvelope),
                (status = 422, description = "invalid parameter, in the error envelope", body = crate::api::error::ErrorEnvelope),
            ))]
            async fn job_logs(State(s): State<AppState>, ApiPath(id): ApiPath<String>, ApiQuery(q): ApiQuery<LogQuery>) -> Result<Response, ApiError> {
                super::logs(&s.jobs, $scope, &id, q)
            }

            /// Cancels a queued or running job (best effort, no rollback; later steps never
            /// start). A finished job is left unchanged and its final status returned.
            #[utoipa::path(post, path = "/jobs/{id}/cancel", operation_id = concat!(stringify!($module), "_cancel_job"), tag = $tag, params(("id" = String, Path, description = "job id")), responses(
                (status = 200, description = "OK", body = CancelAnswer),
                (status = 404, description = "JOB_NOT_FOUND", body = crate::api::error::ErrorEnvelope),
            ))]
            async fn cancel_job(State(s): State<AppState>, ApiPath(id): ApiPath<String>) -> Result<Response, ApiError> {
                super::cancel(&s.jobs, $scope, &id)
            }
        }
    };
}

scoped_job_routes!(system, Scope::System, "system jobs");
scoped_job_routes!(utils, Scope::Utils, "utils jobs");
