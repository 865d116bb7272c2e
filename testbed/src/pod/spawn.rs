//! Starting processes: resolve a command to a program, register it in the process table,
//! and run it as its own tokio task. A [`Child`] is the parent's handle on it: awaiting
//! waits for the exit code, dropping it kills the process (foreground semantics), and
//! [`Child::detach`] lets it run on (background jobs).

use super::io::Fds;
use super::procs::{ProcessTable, supervise};
use super::{PodRuntime, ProcCtx};
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why a command could not be started.
#[derive(Debug)]
pub(crate) enum SpawnError {
    /// No such program (exit 127).
    NotFound(String),
    /// The command line itself is wrong, e.g. a bare `nohup` (exit 125).
    Usage(String),
    /// The pod is gone, or there is no tokio runtime to run on (exit 126).
    NotRunning,
}

impl SpawnError {
    pub(crate) fn code(&self) -> i32 {
        match self {
            SpawnError::NotFound(_) => 127,
            SpawnError::Usage(_) => 125,
            SpawnError::NotRunning => 126,
        }
    }

    /// The message `sh` prints (`sh: NAME: not found`, like dash).
    pub(crate) fn shell_message(&self) -> String {
        match self {
            SpawnError::NotFound(name) => format!("sh: {name}: not found\n"),
            SpawnError::Usage(msg) => format!("{msg}\n"),
            SpawnError::NotRunning => "sh: cannot fork: pod is not running\n".into(),
        }
    }

    /// The message a direct `kubectl exec` gets (the container runtime's wording).
    pub(crate) fn exec_message(&self) -> String {
        match self {
            SpawnError::NotFound(name) => format!(
                "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{name}\": executable file not found in $PATH: unknown\n"
            ),
            SpawnError::Usage(msg) => format!("{msg}\n"),
            SpawnError::NotRunning => "error: container is not running\n".into(),
        }
    }
}

/// A started process, owned by its parent.
pub(crate) struct Child {
    pub pid: u32,
    join: Option<JoinHandle<i32>>,
    table: ProcessTable,
}

impl Child {
    /// Waits for the exit code (137 if it was killed, 134 if the program panicked).
    pub(crate) async fn wait(mut self) -> i32 {
        let Some(join) = self.join.as_mut() else { return 137 };
        let result = join.await;
        self.join = None;
        exit_code(result)
    }

    /// Lets the process outlive this handle; the join handle yields its exit code.
    pub(crate) fn detach(mut self) -> Option<JoinHandle<i32>> {
        self.join.take()
    }
}

/// Maps a finished process task to an exit code.
pub(crate) fn exit_code(result: Result<i32, tokio::task::JoinError>) -> i32 {
    match result {
        Ok(code) => code,
        Err(e) if e.is_panic() => {
            tracing::error!("simulated program panicked: {e}");
            134
        }
        Err(_) => 137,
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(join) = self.join.take() {
            join.abort();
            // Gone from the table now, not whenever the runtime gets to the aborted task.
            self.table.remove(self.pid);
        }
    }
}

/// Drops leading `nohup` words: nohup execs its operand, and every process here already
/// ignores the exec session's hangup when it runs in the background.
fn strip_nohup(mut argv: Vec<String>) -> Result<Vec<String>, SpawnError> {
    while argv.first().is_some_and(|a| a.rsplit('/').next() == Some("nohup")) {
        argv.remove(0);
        if argv.first().is_some_and(|a| a == "--") {
            argv.remove(0);
        }
        if argv.is_empty() {
            return Err(SpawnError::Usage("nohup: missing operand".into()));
        }
    }
    Ok(argv)
}

impl PodRuntime {
    /// Starts `argv` as a program with the given environment and streams.
    pub(crate) fn spawn_program(
        &self,
        argv: Vec<String>,
        env: BTreeMap<String, String>,
        fds: Fds,
    ) -> Result<Child, SpawnError> {
        let argv = strip_nohup(argv)?;
        let name = argv.first().cloned().unwrap_or_default();
        let program = self.programs().get(&name).ok_or(SpawnError::NotFound(name))?;
        let pod = self.clone();
        let argv_for_ctx = argv.clone();
        self.spawn_body(&argv, move |pid, cancel| {
            let ctx = ProcCtx {
                argv: argv_for_ctx,
                env,
                stdin: Box::new(fds.stdin.clone()),
                stdout: Box::new(fds.stdout.clone()),
                stderr: Box::new(fds.stderr.clone()),
                pod,
                cancel,
                pid,
                fds,
            };
            program.run(ctx)
        })
    }

    /// Registers a process with command line `argv` whose body `make(pid, cancel)` builds,
    /// and starts it.
    pub(crate) fn spawn_body(
        &self,
        argv: &[String],
        make: impl FnOnce(u32, CancellationToken) -> BoxFuture<'static, i32> + Send + 'static,
    ) -> Result<Child, SpawnError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| SpawnError::NotRunning)?;
        let handle = self.procs().register(argv).ok_or(SpawnError::NotRunning)?;
        let pid = handle.pid;
        let cancel = handle.term.clone();
        // `make` runs inside the task so a program that panics while starting only takes
        // its own task down.
        let join =
            runtime.spawn(async move { supervise(handle, async move { make(pid, cancel).await }).await });
        Ok(Child { pid, join: Some(join), table: self.procs().clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nohup_is_stripped() {
        let v = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(strip_nohup(v("nohup -- rly start")).unwrap(), v("rly start"));
        assert_eq!(strip_nohup(v("/usr/bin/nohup nohup x")).unwrap(), v("x"));
        assert!(matches!(strip_nohup(v("nohup")), Err(SpawnError::Usage(_))));
    }
}
