//! One job's shared state: its view (what the API answers), its log, its cancel token and a
//! "finished" signal. The store admits and retains cells; the runner writes into them.

use super::log::JobLog;
use super::model::{Job, JobStatus, Scope, StepStatus, rfc3339};
use crate::sync::Locked;
use std::sync::Mutex;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// One job: its view, log, cancel token and a "finished" signal.
pub struct JobCell {
    view: Mutex<Job>,
    pub log: JobLog,
    pub cancel: CancellationToken,
    finished: watch::Sender<bool>,
}

impl JobCell {
    pub(super) fn new(job: Job, log: JobLog) -> Self {
        Self {
            view: Mutex::new(job),
            log,
            cancel: CancellationToken::new(),
            finished: watch::channel(false).0,
        }
    }

    /// A copy of the whole view, result included (for answering a read of this job).
    pub fn snapshot(&self) -> Job {
        self.peek(Job::clone)
    }

    /// Reads the view under its lock without copying it: admission, lookup and retention
    /// look at a few fields of every retained job, and a copy would clone each result (a
    /// 10,000-tx batch's per-tx list) on every submission.
    pub fn peek<R>(&self, read: impl FnOnce(&Job) -> R) -> R {
        read(&self.view.locked())
    }

    pub fn status(&self) -> JobStatus {
        self.peek(|job| job.status)
    }

    pub fn scope(&self) -> Scope {
        self.peek(|job| job.scope)
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut Job)) {
        let mut view = self.view.locked();
        change(&mut view);
        let done = view.status.is_finished();
        drop(view);
        if done {
            self.log.close();
            self.finished.send_replace(true);
        }
    }

    /// Resolves once the job has finished.
    pub async fn finished(&self) {
        let mut rx = self.finished.subscribe();
        let _ = rx.wait_for(|done| *done).await;
    }
}

/// Why a step that never started did not run, the job having been canceled first.
pub const NOT_RUN_CANCELED: &str = "not run: the job was canceled before this step started";

/// Marks a job canceled: the step that was running is `canceled` (`why` says so, with its
/// finish time), every step that had not started is `skipped` saying it never ran.
pub(crate) fn finish_canceled(cell: &JobCell, why: &str) {
    let now = rfc3339(jiff::Timestamp::now());
    cell.update(|job| {
        if job.status.is_finished() {
            return;
        }
        job.status = JobStatus::Canceled;
        job.finished_at = Some(now.clone());
        for step in &mut job.steps {
            match step.status {
                StepStatus::Running => {
                    step.status = StepStatus::Canceled;
                    step.message = Some(why.to_string());
                    step.finished_at = Some(now.clone());
                }
                StepStatus::Pending => {
                    step.status = StepStatus::Skipped;
                    step.message = Some(NOT_RUN_CANCELED.to_string());
                }
                _ => {}
            }
        }
    });
}
