//! Commands in pods through `pods/exec`: the raw call (`exec`) and the product's one exec
//! path over it (`PodExec`).

mod exec;
mod pod_exec;
pub mod script;

pub use exec::{ExecError, ExecOutput, exec};
pub use pod_exec::PodExec;
