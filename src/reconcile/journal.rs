//! Where a reconcile step reports what it observed, did and skipped: the job's log.

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
