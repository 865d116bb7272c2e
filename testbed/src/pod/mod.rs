//! The in-pod world behind `kubectl exec`/`kubectl logs`: a virtual filesystem with mounted
//! volumes, a process table, the pod's stdout log, a POSIX-shell subset (`sh -c`) and the
//! usual small utilities. Simulated daemons plug in as [`Program`]s.

mod fs;
mod io;
mod log;
mod procs;
mod program;
mod runtime;
mod shell;
mod spawn;
mod utils;

#[cfg(test)]
mod tests;

pub use fs::{Fs, FsError, Volume};
pub use log::{LogLine, MAX_LOG_LINES, PodLog};
pub use procs::{ProcInfo, ProcessTable, Signal, TERM_GRACE};
pub use program::{ProcCtx, Program, Programs};
pub use runtime::PodRuntime;

/// What a pod is built from.
pub struct PodSpec {
    /// The pod name.
    pub hostname: String,
    /// Volumes by mount path, e.g. `("/home/relayer/.relayer", pvc)`.
    pub mounts: Vec<(String, Volume)>,
    /// Initial files (parents are created), e.g. `/etc/mnemonics/gwc.relayer.mnemonic`.
    pub files: Vec<(String, Vec<u8>)>,
    /// argv of pid 1, e.g. `["sleep", "infinity"]` or `["gwcd", "start"]`.
    pub pid1: Vec<String>,
    /// Extra simulated programs (override builtin utilities of the same name).
    pub programs: Programs,
}

/// What [`PodRuntime::exec_collect`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// stdout as text (lossy).
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (lossy).
    pub fn err(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}
