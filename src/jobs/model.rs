//! The job model as plain data: ids, statuses, step records and the JSON view.
//! No kube, no axum: the store and runner mutate it, the API serializes it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Which family a job belongs to; each has its own routes and admission rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// start/connect/restart: one at a time.
    System,
    /// utilities: bounded by `maxRunningJobs`.
    Utils,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Utils => "utils",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Canceled,
}

impl JobStatus {
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }

    /// The wire name (`queued`, `running`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Pending,
    Running,
    Succeeded,
    Skipped,
    Failed,
    Canceled,
}

impl StepStatus {
    /// The wire name (`pending`, `skipped`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    pub name: String,
    pub status: StepStatus,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// What the step did; for a skipped step, why it was skipped or never ran (a cancel or an
    /// earlier failure: no times then).
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub current_step: Option<String>,
    pub completed_steps: usize,
    pub total_steps: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Links {
    #[serde(rename = "self")]
    pub self_: String,
    pub logs: String,
}

/// The full view of a job (`GET …/jobs/{id}`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub job_id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub scope: Scope,
    pub status: JobStatus,
    /// RFC 3339 UTC with milliseconds, as every job and step time.
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub progress: Progress,
    pub steps: Vec<StepRecord>,
    /// The request as submitted, redacted.
    #[schema(value_type = Object)]
    pub request: Value,
    #[schema(value_type = Object)]
    pub result: Option<Value>,
    pub error: Option<crate::error_code::Failure>,
    pub links: Links,
}

/// The line of a job list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobSummary {
    pub job_id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub status: JobStatus,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// The 202 answer to a job submission.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub job_id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub status: JobStatus,
    pub created_at: String,
    pub links: Links,
}

/// The 202 answer: the job in the success envelope (`{"ok": true, "data": …}`, as every other
/// answer), with `jobId` also at the top level, where clients of v1.1 read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedAnswer {
    /// Always true.
    pub ok: bool,
    pub data: Accepted,
    /// The same as `data.jobId`.
    pub job_id: String,
}

impl Job {
    pub fn summary(&self) -> JobSummary {
        JobSummary {
            job_id: self.job_id.clone(),
            type_: self.type_.clone(),
            status: self.status,
            created_at: self.created_at.clone(),
            started_at: self.started_at.clone(),
            finished_at: self.finished_at.clone(),
        }
    }

    pub fn accepted(&self) -> Accepted {
        Accepted {
            job_id: self.job_id.clone(),
            type_: self.type_.clone(),
            status: self.status,
            created_at: self.created_at.clone(),
            links: self.links.clone(),
        }
    }
}

/// `job_YYYYMMDD_<10 random lowercase alphanumerics>`.
pub fn new_job_id(now: jiff::Timestamp) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let date = now.to_zoned(jiff::tz::TimeZone::UTC).strftime("%Y%m%d").to_string();
    let suffix: String = (0..10).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect();
    format!("job_{date}_{suffix}")
}

/// RFC 3339 UTC with milliseconds, as every job time is shown. Truncated, never rounded up,
/// so a job's `createdAt` is never later than its first log line.
pub fn rfc3339(t: jiff::Timestamp) -> String {
    format!("{:.3}", truncate_to_millis(t))
}

/// `t` without its sub-millisecond part (towards the past).
pub fn truncate_to_millis(t: jiff::Timestamp) -> jiff::Timestamp {
    let rounding = jiff::TimestampRound::new().smallest(jiff::Unit::Millisecond).mode(jiff::RoundMode::Trunc);
    t.round(rounding).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_carry_the_utc_date_and_a_random_suffix() {
        let t: jiff::Timestamp = "2026-01-23T23:59:59Z".parse().unwrap();
        let id = new_job_id(t);
        assert!(id.starts_with("job_20260123_"), "{id}");
        assert_eq!(id.len(), "job_20260123_".len() + 10);
        assert_ne!(new_job_id(t), new_job_id(t));
    }

    #[test]
    fn job_times_keep_milliseconds_and_never_round_up() {
        let t: jiff::Timestamp = "2026-01-23T20:36:31.9996Z".parse().unwrap();
        assert_eq!(rfc3339(t), "2026-01-23T20:36:31.999Z");
        let whole: jiff::Timestamp = "2026-01-23T20:36:31Z".parse().unwrap();
        assert_eq!(rfc3339(whole), "2026-01-23T20:36:31.000Z");
    }

    #[test]
    fn only_terminal_statuses_are_finished() {
        assert!(!JobStatus::Queued.is_finished());
        assert!(!JobStatus::Running.is_finished());
        assert!(
            JobStatus::Succeeded.is_finished()
                && JobStatus::Failed.is_finished()
                && JobStatus::Canceled.is_finished()
        );
    }
}
