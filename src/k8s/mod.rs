//! Commands in pods through `pods/exec`, and pod logs through `pods/log`.

mod exec;

pub use exec::{ExecError, ExecOutput, exec};
