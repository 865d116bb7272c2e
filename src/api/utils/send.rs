//! The sending options broadcast-batch and load's transfers share: read from either request,
//! checked once against the utilities' limits, and echoed once into the job's request.

use super::{DEFAULT_BATCH_TIMEOUT_SECONDS, DEFAULT_CONCURRENCY, limit, stall_timeout, timeout};
use crate::api::error::ApiError;
use crate::app::AppState;
use crate::utils::broadcast;
use serde_json::{Value, json};

/// The sending fields broadcast-batch and load's transfers both take, as given.
macro_rules! send_fields {
    ($r:expr) => {
        SendFields {
            concurrency: $r.concurrency,
            mode: $r.mode,
            rate_per_second: $r.rate_per_second,
            wait_for_confirmation: $r.wait_for_confirmation,
            timeout_seconds: $r.timeout_seconds,
            stall_timeout_seconds: $r.stall_timeout_seconds,
        }
    };
}
pub(crate) use send_fields;

pub(crate) struct SendFields {
    pub concurrency: Option<usize>,
    pub mode: Option<broadcast::Mode>,
    pub rate_per_second: Option<f64>,
    pub wait_for_confirmation: Option<bool>,
    pub timeout_seconds: Option<u64>,
    pub stall_timeout_seconds: Option<f64>,
}

impl SendFields {
    /// Checked against the utilities' limits, with their defaults.
    pub(crate) fn check(self, state: &AppState) -> Result<broadcast::SendOptions, ApiError> {
        let jobs = &state.settings.jobs;
        let concurrency = self.concurrency.unwrap_or(DEFAULT_CONCURRENCY.min(jobs.max_concurrency));
        if concurrency > jobs.max_concurrency {
            return Err(limit("maxConcurrency", jobs.max_concurrency, concurrency));
        }
        if concurrency == 0 {
            return Err(ApiError::validation("concurrency", "concurrency must be at least 1"));
        }
        if let Some(rate) = self.rate_per_second
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(ApiError::validation("ratePerSecond", "ratePerSecond must be a positive number"));
        }
        Ok(broadcast::SendOptions {
            mode: self.mode.unwrap_or_default(),
            concurrency,
            rate: self.rate_per_second,
            wait_for_confirmation: self.wait_for_confirmation.unwrap_or(true),
            timeout: timeout(state, self.timeout_seconds, DEFAULT_BATCH_TIMEOUT_SECONDS)?,
            stall_after: stall_timeout(self.stall_timeout_seconds)?,
            poll: jobs.poll_interval,
        })
    }
}

/// The job's request as recorded: the sending options as they were applied.
pub(crate) fn echo_send(request: &mut Value, send: &broadcast::SendOptions) {
    request["concurrency"] = send.concurrency.into();
    request["mode"] = json!(send.mode);
    request["ratePerSecond"] = json!(send.rate);
    request["waitForConfirmation"] = send.wait_for_confirmation.into();
    request["timeoutSeconds"] = send.timeout.as_secs().into();
    request["stallTimeoutSeconds"] = send.stall_after.as_secs_f64().into();
}
