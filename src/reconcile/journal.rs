//! Where a reconcile step reports what it observed, did and skipped. A job step reports
//! into its job's log; the same steps run outside a job (a continuous reconciler) report
//! into tracing.

use crate::jobs::StepCtx;

pub trait Journal: Send + Sync {
    /// A command that ran (`outcome` = `ok`, `exit 1`, …) or was skipped, and why.
    fn command(&self, cmd: &str, outcome: &str, why: &str);
    fn info(&self, message: &str);
    fn warn(&self, message: &str);
    /// What the step is doing right now (shown on the job's step while it runs).
    fn progress(&self, message: &str);
}

impl Journal for StepCtx {
    fn command(&self, cmd: &str, outcome: &str, why: &str) {
        if why.is_empty() {
            StepCtx::command(self, cmd, outcome)
        } else {
            self.command_because(cmd, outcome, why)
        }
    }

    fn info(&self, message: &str) {
        StepCtx::info(self, message)
    }

    fn warn(&self, message: &str) {
        StepCtx::warn(self, message)
    }

    fn progress(&self, message: &str) {
        StepCtx::progress(self, message)
    }
}

/// Reports into tracing, for steps run outside a job.
pub struct Traced;

impl Journal for Traced {
    fn command(&self, cmd: &str, outcome: &str, why: &str) {
        tracing::info!(cmd, outcome, why, "reconcile");
    }

    fn info(&self, message: &str) {
        tracing::info!("{message}");
    }

    fn warn(&self, message: &str) {
        tracing::warn!("{message}");
    }

    fn progress(&self, message: &str) {
        tracing::debug!("{message}");
    }
}
