//! Runs a job's steps in order under one root span: checks the cancel token between steps
//! and races it against each running step, enforces the whole-job timeout (failing with
//! TIMEOUT naming the step), records every step's outcome and why, then retires old jobs.

use super::cell::{JobCell, finish_canceled};
use super::log::{Level, LogLine};
use super::model::{JobStatus, StepStatus, rfc3339};
use crate::error_code::{ErrorCode, Failure};
use crate::metrics::Metrics;
use crate::sync::Locked;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

/// How a step ended when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// It acted; the message says what it did.
    Done(String),
    /// Nothing to do; the message says why.
    Skipped(String),
}

/// What a running step sees: its name, the job's log, the cancel token, and a slot for the
/// job's result.
pub struct StepCtx {
    pub job_id: String,
    pub step: String,
    pub cancel: CancellationToken,
    cell: Arc<JobCell>,
    result: Arc<Mutex<Option<Value>>>,
}

impl StepCtx {
    fn line(&self, level: Level, cmd: Option<&str>, outcome: Option<&str>, message: Option<&str>) {
        self.cell.log.push(LogLine {
            time: jiff::Timestamp::now(),
            level,
            step: Some(self.step.clone()),
            cmd: cmd.map(str::to_string),
            outcome: outcome.map(str::to_string),
            message: message.map(str::to_string),
        });
    }

    /// Logs a command and its outcome (`ok`, `skipped`, `exit 1`…).
    pub fn command(&self, cmd: &str, outcome: &str) {
        self.line(Level::Info, Some(cmd), Some(outcome), None);
    }

    /// Logs a command, its outcome and why (`skipped: config exists`).
    pub fn command_because(&self, cmd: &str, outcome: &str, why: &str) {
        self.line(Level::Info, Some(cmd), Some(outcome), Some(why));
    }

    pub fn info(&self, message: &str) {
        self.line(Level::Info, None, None, Some(message));
    }

    pub fn warn(&self, message: &str) {
        self.line(Level::Warn, None, None, Some(message));
    }

    /// Shows progress in the job's step record while the step runs.
    pub fn progress(&self, message: &str) {
        let (step, message) = (self.step.clone(), self.cell.log.redactor().text(message));
        self.cell.update(|job| {
            if let Some(s) = job.steps.iter_mut().find(|s| s.name == step) {
                s.message = Some(message);
            }
        });
    }

    /// Sets the job's `result` (the last write wins).
    pub fn set_result(&self, value: Value) {
        *self.result.locked() = Some(value);
    }

    /// Changes the job's `result` in place (an object is made if there is none yet).
    pub fn edit_result(&self, edit: impl FnOnce(&mut Value)) {
        edit(self.result.locked().get_or_insert_with(|| Value::Object(Default::default())));
    }
}

/// One step of a job.
pub trait Step: Send + Sync {
    fn name(&self) -> &str;
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>>;
}

/// A job ready to submit: its type, scope, redactable request and steps.
pub struct JobSpec {
    pub scope: super::model::Scope,
    pub type_: String,
    pub request: Value,
    pub steps: Vec<Arc<dyn Step>>,
    pub timeout: Duration,
}

fn now() -> String {
    rfc3339(jiff::Timestamp::now())
}

pub(super) async fn run(cell: &Arc<JobCell>, steps: &[Arc<dyn Step>], timeout: Duration, metrics: &Metrics) {
    if cell.cancel.is_cancelled() {
        return finish_canceled(cell, "canceled before it started");
    }
    let deadline = tokio::time::Instant::now() + timeout;
    cell.update(|job| {
        job.status = JobStatus::Running;
        job.started_at = Some(now());
    });
    let result = Arc::new(Mutex::new(None));
    let (job_id, job_type) = cell.peek(|job| (job.job_id.clone(), job.type_.clone()));
    for (index, step) in steps.iter().enumerate() {
        if cell.cancel.is_cancelled() {
            return finish_canceled(cell, "canceled between steps");
        }
        let name = step.name().to_string();
        cell.update(|job| {
            job.progress.current_step = Some(name.clone());
            job.steps[index].status = StepStatus::Running;
            job.steps[index].started_at = Some(now());
        });
        let ctx = StepCtx {
            job_id: job_id.clone(),
            step: name.clone(),
            cancel: cell.cancel.clone(),
            cell: cell.clone(),
            result: result.clone(),
        };
        let started = tokio::time::Instant::now();
        let measure = |status: StepStatus| {
            metrics.step_finished(&job_type, &name, status.as_str(), started.elapsed());
        };
        let outcome = tokio::select! {
            r = tokio::time::timeout_at(deadline, step.run(&ctx).instrument(tracing::info_span!("step", name = %name))) => r,
            _ = cell.cancel.cancelled() => {
                ctx.warn("canceled while running");
                measure(StepStatus::Canceled);
                return finish_canceled(cell, "canceled while running");
            }
        };
        let outcome = match outcome {
            Ok(r) => r,
            Err(_) => Err(Failure::new(
                ErrorCode::Timeout,
                format!("job timed out after {}s during step {name}", timeout.as_secs()),
            )
            .with_details(json!({"step": name, "timeoutSeconds": timeout.as_secs()}))),
        };
        let ok = outcome.is_ok();
        measure(match &outcome {
            Ok(StepOutcome::Done(_)) => StepStatus::Succeeded,
            Ok(StepOutcome::Skipped(_)) => StepStatus::Skipped,
            Err(_) => StepStatus::Failed,
        });
        record(cell, &ctx, index, outcome);
        if !ok {
            // A failed job keeps the partial result its steps set (e.g. a batch cut short).
            if let Some(partial) = result.locked().take() {
                cell.update(|job| job.result = Some(partial));
            }
            return;
        }
    }
    let result = result.locked().take().map(|r| cell.log.redactor().json_owned(r));
    cell.update(|job| {
        job.status = JobStatus::Succeeded;
        job.finished_at = Some(now());
        job.progress.current_step = None;
        job.result = result;
    });
}

/// Writes a step's outcome into its record, the log and, on failure, the job.
fn record(cell: &JobCell, ctx: &StepCtx, index: usize, outcome: Result<StepOutcome, Failure>) {
    let (status, message, failure) = match outcome {
        Ok(StepOutcome::Done(m)) => (StepStatus::Succeeded, m, None),
        Ok(StepOutcome::Skipped(why)) => (StepStatus::Skipped, why, None),
        Err(f) => (StepStatus::Failed, f.message.clone(), Some(f)),
    };
    match status {
        StepStatus::Failed => ctx.line(Level::Error, None, Some("failed"), Some(&message)),
        StepStatus::Skipped => ctx.line(Level::Info, None, Some("skipped"), Some(&message)),
        _ => ctx.line(Level::Info, None, Some("ok"), Some(&message)),
    }
    // Step messages and errors may quote command output: they pass the log's redactor too.
    let redactor = cell.log.redactor();
    let redactor_message = redactor.text(&message);
    let failure = failure.map(|f| Failure {
        message: redactor.text(&f.message),
        details: redactor.json(&f.details),
        code: f.code,
    });
    cell.update(|job| {
        let finished = now();
        let step = &mut job.steps[index];
        step.status = status;
        step.finished_at = Some(finished.clone());
        step.message = Some(redactor_message);
        if let Some(f) = failure {
            job.status = JobStatus::Failed;
            job.finished_at = Some(finished.clone());
            job.error = Some(f);
            // A step that never ran says so: `skipped`, never started, and why.
            for later in &mut job.steps[index + 1..] {
                later.status = StepStatus::Skipped;
                later.message = Some(format!(
                    "not run: step {} failed",
                    job.progress.current_step.clone().unwrap_or_default()
                ));
            }
        } else {
            job.progress.completed_steps += 1;
        }
    });
}
