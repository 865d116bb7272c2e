//! The job engine shared by the `system` and `utils` scopes: the model (plain
//! data), the store (admission, lookup, cancel, retention), the runner (ordered steps,
//! cancel, timeout, one span per job and per step), bounded logs, and redaction.

pub mod cell;
pub mod log;
pub mod model;
pub mod redact;
pub mod runner;
pub mod store;

pub use model::{Job, JobStatus, Scope, StepStatus};
pub use redact::Redactor;
pub use runner::{JobSpec, Step, StepCtx, StepOutcome};
pub use store::{JobLimits, JobStore, Refused};
