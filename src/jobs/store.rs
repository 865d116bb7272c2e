//! The in-memory job store: admission (system jobs exclusive, utils jobs bounded) decided
//! under one lock so concurrent submissions cannot race, lookup and listing, cancel, and
//! retention of finished jobs. A restart loses every job (by design: steps are idempotent, so
//! running a job again is the recovery).

use super::cell::{JobCell, finish_canceled};
use super::log::JobLog;
use super::model::{
    Job, JobStatus, JobSummary, Links, Progress, Scope, StepRecord, StepStatus, new_job_id, rfc3339,
};
use super::redact::Redactor;
use super::runner::JobSpec;
use crate::error_code::{ErrorCode, Failure};
use crate::sync::Locked;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tracing::Instrument as _;

#[derive(Debug, Clone)]
pub struct JobLimits {
    /// Utils jobs queued or running at once (`maxRunningJobs`).
    pub max_running_utils: usize,
    /// Finished jobs kept for reading; older ones are dropped first.
    pub retained_finished: usize,
    /// Per-job log cap in bytes (oldest lines dropped beyond it).
    pub log_cap_bytes: usize,
}

impl Default for JobLimits {
    fn default() -> Self {
        Self { max_running_utils: 4, retained_finished: 200, log_cap_bytes: 5 * 1024 * 1024 }
    }
}

/// Why a submission was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum Refused {
    #[error("a system job is already {}: {job_id} ({type_})", status.as_str())]
    Conflict { job_id: String, type_: String, status: JobStatus },
    #[error("limit {limit} reached ({value})")]
    Limit { limit: &'static str, value: usize, requested: usize },
}

impl From<Refused> for Failure {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Conflict { job_id, type_, status } => Failure::new(
                ErrorCode::JobConflict,
                format!("system job {job_id} ({type_}) is already {}", status.as_str()),
            )
            .with_details(json!({"jobId": job_id, "type": type_, "status": status})),
            Refused::Limit { limit, value, requested } => Failure::limit_exceeded(limit, value, requested),
        }
    }
}

#[derive(Default)]
struct Inner {
    jobs: HashMap<String, Arc<JobCell>>,
    /// Ids in submission order (oldest first).
    order: VecDeque<String>,
}

/// Cheap to clone; all clones share one store.
#[derive(Clone)]
pub struct JobStore {
    inner: Arc<Mutex<Inner>>,
    pub limits: Arc<JobLimits>,
    pub redactor: Redactor,
    /// Where the runner records finished jobs and step durations.
    pub metrics: crate::metrics::Metrics,
}

/// What cancel did.
#[derive(Debug, Clone, PartialEq)]
pub struct CancelOutcome {
    pub status: JobStatus,
    pub message: String,
}

impl JobStore {
    pub fn new(limits: JobLimits, redactor: Redactor) -> Self {
        Self { inner: Arc::default(), limits: Arc::new(limits), redactor, metrics: Default::default() }
    }

    pub fn with_metrics(self, metrics: crate::metrics::Metrics) -> Self {
        Self { metrics, ..self }
    }

    /// Admits a job (queued) or refuses it; the check and the insert share one lock.
    pub fn submit(
        &self,
        scope: Scope,
        type_: &str,
        request: &Value,
        steps: &[&str],
    ) -> Result<Arc<JobCell>, Refused> {
        let mut inner = self.inner.locked();
        let mut active = inner
            .order
            .iter()
            .filter_map(|id| inner.jobs.get(id))
            .filter(|c| c.peek(|j| j.scope == scope && !j.status.is_finished()));
        match scope {
            Scope::System => {
                if let Some(c) = active.next() {
                    return Err(c.peek(|j| Refused::Conflict {
                        job_id: j.job_id.clone(),
                        type_: j.type_.clone(),
                        status: j.status,
                    }));
                }
            }
            Scope::Utils => {
                let running = active.count();
                if running >= self.limits.max_running_utils {
                    return Err(Refused::Limit {
                        limit: "maxRunningJobs",
                        value: self.limits.max_running_utils,
                        requested: running + 1,
                    });
                }
            }
        }
        let now = jiff::Timestamp::now();
        let job_id = new_job_id(now);
        let base = format!("/api/v1/{}/jobs/{job_id}", scope.as_str());
        let job = Job {
            job_id: job_id.clone(),
            type_: type_.to_string(),
            scope,
            status: JobStatus::Queued,
            created_at: rfc3339(now),
            started_at: None,
            finished_at: None,
            progress: Progress { current_step: None, completed_steps: 0, total_steps: steps.len() },
            steps: steps
                .iter()
                .map(|s| StepRecord {
                    name: s.to_string(),
                    status: StepStatus::Pending,
                    started_at: None,
                    finished_at: None,
                    message: None,
                })
                .collect(),
            request: self.redactor.json(request),
            result: None,
            error: None,
            links: Links { self_: base.clone(), logs: format!("{base}/logs") },
        };
        let cell = Arc::new(JobCell::new(job, JobLog::new(self.limits.log_cap_bytes, self.redactor.clone())));
        inner.jobs.insert(job_id.clone(), cell.clone());
        inner.order.push_back(job_id);
        Ok(cell)
    }

    pub fn get(&self, scope: Scope, id: &str) -> Option<Arc<JobCell>> {
        self.inner.locked().jobs.get(id).filter(|c| c.scope() == scope).cloned()
    }

    /// Summaries of a scope's jobs, newest first: read under each job's lock, so a listing
    /// (or a metrics scrape) never copies the retained jobs' results.
    pub fn list(&self, scope: Scope) -> Vec<JobSummary> {
        let inner = self.inner.locked();
        inner
            .order
            .iter()
            .rev()
            .filter_map(|id| inner.jobs.get(id))
            .filter_map(|c| c.peek(|job| (job.scope == scope).then(|| job.summary())))
            .collect()
    }

    /// Requests cancellation. A queued or running job is canceled (best effort: no rollback,
    /// later steps never start); a finished job is left as it is and its status returned.
    /// Cancels every queued or running job (the service is stopping) and waits until each
    /// has recorded its final state, so followers see it before the process exits.
    pub async fn cancel_all(&self) {
        let cells: Vec<Arc<JobCell>> = {
            let inner = self.inner.locked();
            inner.jobs.values().filter(|c| !c.status().is_finished()).cloned().collect()
        };
        for cell in &cells {
            cell.cancel.cancel();
            if cell.status() == JobStatus::Queued {
                finish_canceled(cell, "canceled before it started: the service is shutting down");
            }
        }
        futures::future::join_all(cells.iter().map(|c| c.finished())).await;
    }

    pub fn cancel(&self, scope: Scope, id: &str) -> Option<CancelOutcome> {
        let cell = self.get(scope, id)?;
        let status = cell.status();
        if status.is_finished() {
            return Some(CancelOutcome {
                status,
                message: format!("job already finished ({}); nothing to cancel", status.as_str()),
            });
        }
        cell.cancel.cancel();
        if status == JobStatus::Queued {
            finish_canceled(&cell, "canceled before it started");
        }
        Some(CancelOutcome { status: JobStatus::Canceled, message: "cancel requested".into() })
    }

    /// Drops the oldest finished jobs beyond the retention cap.
    pub fn retire(&self) {
        let mut inner = self.inner.locked();
        let finished: Vec<String> = inner
            .order
            .iter()
            .filter(|id| inner.jobs.get(*id).is_some_and(|c| c.status().is_finished()))
            .cloned()
            .collect();
        let excess = finished.len().saturating_sub(self.limits.retained_finished);
        for id in finished.into_iter().take(excess) {
            inner.jobs.remove(&id);
            inner.order.retain(|x| *x != id);
        }
    }
}

impl JobStore {
    /// Admits the job and runs it in the background; returns the queued job's view.
    pub fn start(&self, spec: JobSpec) -> Result<Job, Refused> {
        let names: Vec<&str> = spec.steps.iter().map(|s| s.name()).collect();
        let cell = self.submit(spec.scope, &spec.type_, &spec.request, &names)?;
        let view = cell.snapshot();
        let span = tracing::info_span!("job", job_id = %view.job_id, job_type = %view.type_);
        let store = self.clone();
        tokio::spawn(
            async move {
                super::runner::run(&cell, &spec.steps, spec.timeout, &store.metrics).await;
                cell.peek(|job| {
                    store.metrics.job_finished(job.scope.as_str(), &job.type_, job.status.as_str());
                });
                store.retire();
            }
            .instrument(span),
        );
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(max_running_utils: usize, retained_finished: usize) -> JobStore {
        let limits = JobLimits { max_running_utils, retained_finished, ..JobLimits::default() };
        JobStore::new(limits, Redactor::default())
    }

    fn finish_with_a_large_result(cell: &JobCell) {
        cell.update(|job| {
            job.status = JobStatus::Succeeded;
            job.result = Some(serde_json::json!({"txs": vec!["outcome"; 10_000]}));
        });
    }

    #[test]
    fn a_cancel_says_which_step_was_cut_short_and_which_never_ran() {
        let store = store(1, 2);
        let cell = store.submit(Scope::System, "system.start", &Value::Null, &["one", "two"]).unwrap();
        cell.update(|job| {
            job.status = JobStatus::Running;
            job.steps[0].status = StepStatus::Running;
            job.steps[0].started_at = Some(rfc3339(jiff::Timestamp::now()));
        });
        finish_canceled(&cell, "canceled while running");
        let job = cell.snapshot();
        assert_eq!(job.status, JobStatus::Canceled);
        let (ran, never) = (&job.steps[0], &job.steps[1]);
        assert_eq!(
            (ran.status, ran.message.as_deref()),
            (StepStatus::Canceled, Some("canceled while running"))
        );
        assert!(ran.started_at.is_some() && ran.finished_at.is_some(), "{ran:?}");
        assert_eq!(never.status, StepStatus::Skipped);
        assert_eq!(never.message.as_deref(), Some(super::super::cell::NOT_RUN_CANCELED));
        assert!(never.started_at.is_none() && never.finished_at.is_none(), "{never:?}");
    }

    #[test]
    fn admission_counts_only_unfinished_jobs_of_its_scope_and_retention_keeps_the_newest() {
        let store = store(1, 2);
        let first = store.submit(Scope::Utils, "utils.test", &Value::Null, &["only"]).unwrap();
        let Err(refused) = store.submit(Scope::Utils, "utils.test", &Value::Null, &["only"]) else {
            panic!("a second utils job is admitted over maxRunningJobs=1");
        };
        assert_eq!(refused, Refused::Limit { limit: "maxRunningJobs", value: 1, requested: 2 });
        let system = store.submit(Scope::System, "system.start", &Value::Null, &["only"]).unwrap();
        let Err(conflict) = store.submit(Scope::System, "system.start", &Value::Null, &["only"]) else {
            panic!("a second system job is admitted");
        };
        assert!(
            matches!(conflict, Refused::Conflict { ref job_id, .. } if *job_id == system.snapshot().job_id)
        );
        finish_with_a_large_result(&first);
        let mut ids = vec![first.snapshot().job_id];
        for _ in 0..2 {
            let next = store.submit(Scope::Utils, "utils.test", &Value::Null, &["only"]).unwrap();
            finish_with_a_large_result(&next);
            ids.push(next.snapshot().job_id);
            store.retire();
        }
        assert!(store.get(Scope::Utils, &ids[0]).is_none(), "the oldest finished job is retired");
        assert!(ids[1..].iter().all(|id| store.get(Scope::Utils, id).is_some()));
        assert!(store.get(Scope::System, &ids[2]).is_none(), "a lookup keeps to its scope");
        assert_eq!(
            store.get(Scope::System, &system.snapshot().job_id).map(|c| c.status()),
            Some(JobStatus::Queued)
        );
    }
}
