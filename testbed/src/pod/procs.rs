//! The pod's process table: pids counting up from 1, command lines for `pgrep`/`ps`, and
//! signals. Every process runs as its own tokio task under [`supervise`], which turns a
//! signal into cancellation (TERM: graceful, KILL: immediate).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How long a program that ignores TERM (its `cancel` token) keeps running before it is
/// dropped anyway.
pub const TERM_GRACE: Duration = Duration::from_secs(2);

/// One row of the process table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: u32,
    /// argv joined by spaces (what `pgrep -f` matches).
    pub cmdline: String,
    /// Base name of argv\[0\] (what `pgrep -x` matches; not truncated to 15 chars).
    pub name: String,
}

/// The signals the simulation distinguishes. HUP/INT/TERM all ask politely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Term,
    Kill,
}

impl Signal {
    /// Parses `9`, `KILL`, `SIGKILL`, `TERM`, `15`, `HUP`, `INT`… (case-insensitive).
    pub fn parse(s: &str) -> Option<Signal> {
        let up = s.to_ascii_uppercase();
        match up.strip_prefix("SIG").unwrap_or(&up) {
            "9" | "KILL" => Some(Signal::Kill),
            "15" | "TERM" | "1" | "HUP" | "2" | "INT" | "3" | "QUIT" => Some(Signal::Term),
            _ => None,
        }
    }
}

struct Entry {
    info: ProcInfo,
    term: CancellationToken,
    kill: CancellationToken,
}

struct Inner {
    next_pid: u32,
    procs: BTreeMap<u32, Entry>,
    closed: bool,
}

/// The pod's processes. Cheap to clone.
#[derive(Clone)]
pub struct ProcessTable {
    inner: Arc<Mutex<Inner>>,
    /// Bumped whenever a process leaves, so waiters can re-check.
    gone: Arc<watch::Sender<u64>>,
}

impl Default for ProcessTable {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessTable {
    pub fn new() -> Self {
        let inner = Inner { next_pid: 1, procs: BTreeMap::new(), closed: false };
        Self { inner: Arc::new(Mutex::new(inner)), gone: Arc::new(watch::channel(0).0) }
    }

    /// Running processes, by pid.
    pub fn list(&self) -> Vec<ProcInfo> {
        self.lock().procs.values().map(|e| e.info.clone()).collect()
    }

    pub fn get(&self, pid: u32) -> Option<ProcInfo> {
        self.lock().procs.get(&pid).map(|e| e.info.clone())
    }

    /// Signals one process; false if there is no such pid.
    pub fn signal(&self, pid: u32, sig: Signal) -> bool {
        let inner = self.lock();
        let Some(entry) = inner.procs.get(&pid) else { return false };
        entry.term.cancel();
        if sig == Signal::Kill {
            entry.kill.cancel();
        }
        true
    }

    /// Resolves once none of `pids` is in the table any more.
    pub async fn wait_gone(&self, pids: &[u32]) {
        let mut rx = self.gone.subscribe();
        loop {
            if !pids.iter().any(|p| self.lock().procs.contains_key(p)) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Kills everything and refuses new processes (the pod is gone).
    pub fn shutdown(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        for entry in inner.procs.values() {
            entry.term.cancel();
            entry.kill.cancel();
        }
    }

    /// Accepts new processes again after [`shutdown`](Self::shutdown): a container restarted
    /// in the same pod (pids keep counting up).
    pub fn reopen(&self) {
        self.lock().closed = false;
    }

    pub fn is_shut_down(&self) -> bool {
        self.lock().closed
    }

    /// Adds a process; `None` once the table is shut down.
    pub(crate) fn register(&self, argv: &[String]) -> Option<ProcHandle> {
        let mut inner = self.lock();
        if inner.closed {
            return None;
        }
        let pid = inner.next_pid;
        inner.next_pid = pid.saturating_add(1);
        let name = argv.first().map(|a| a.rsplit('/').next().unwrap_or(a).to_string()).unwrap_or_default();
        let info = ProcInfo { pid, cmdline: argv.join(" "), name };
        let (term, kill) = (CancellationToken::new(), CancellationToken::new());
        inner.procs.insert(pid, Entry { info, term: term.clone(), kill: kill.clone() });
        Some(ProcHandle { pid, table: self.clone(), term, kill })
    }

    pub(crate) fn remove(&self, pid: u32) {
        if self.lock().procs.remove(&pid).is_some() {
            self.gone.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A registered process; dropping it removes the table entry.
pub(crate) struct ProcHandle {
    pub pid: u32,
    table: ProcessTable,
    /// Fired on any signal; this is the program's `ProcCtx::cancel`.
    pub term: CancellationToken,
    kill: CancellationToken,
}

impl Drop for ProcHandle {
    fn drop(&mut self) {
        self.table.remove(self.pid);
    }
}

/// Runs a process body until it ends or is killed: KILL drops it at once, TERM lets it see
/// its `cancel` token and finish within [`TERM_GRACE`].
pub(crate) async fn supervise(handle: ProcHandle, body: impl Future<Output = i32>) -> i32 {
    let (term, kill) = (handle.term.clone(), handle.kill.clone());
    let code = {
        let mut body = std::pin::pin!(body);
        tokio::select! {
            biased;
            _ = kill.cancelled() => 137,
            code = &mut body => code,
            _ = term.cancelled() => tokio::select! {
                biased;
                _ = kill.cancelled() => 137,
                code = &mut body => code,
                _ = tokio::time::sleep(TERM_GRACE) => 143,
            },
        }
    };
    // The body (and whatever it owned, e.g. foreground children) is gone before the entry.
    drop(handle);
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn pids_count_up_and_entries_leave_on_drop() {
        let table = ProcessTable::new();
        let a = table.register(&argv("/bin/sleep infinity")).unwrap();
        let b = table.register(&argv("rly start")).unwrap();
        assert_eq!((a.pid, b.pid), (1, 2));
        assert_eq!(
            table.list()[0],
            ProcInfo { pid: 1, cmdline: "/bin/sleep infinity".into(), name: "sleep".into() }
        );
        drop(a);
        assert_eq!(table.list().len(), 1);
        table.shutdown();
        assert!(b.kill.is_cancelled());
        assert!(table.register(&argv("x")).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn term_is_graceful_kill_is_not() {
        let table = ProcessTable::new();
        let h = table.register(&argv("polite")).unwrap();
        let cancel = h.term.clone();
        let task = tokio::spawn(supervise(h, async move {
            cancel.cancelled().await;
            7
        }));
        assert!(table.signal(1, Signal::Term));
        assert_eq!(task.await.unwrap(), 7);

        let h = table.register(&argv("stubborn")).unwrap();
        let task = tokio::spawn(supervise(h, std::future::pending()));
        table.signal(2, Signal::Term);
        assert_eq!(task.await.unwrap(), 143);

        let h = table.register(&argv("stubborn")).unwrap();
        let task = tokio::spawn(supervise(h, std::future::pending()));
        table.signal(3, Signal::Kill);
        assert_eq!(task.await.unwrap(), 137);
        table.wait_gone(&[1, 2, 3]).await;
        assert!(table.list().is_empty());
        assert!(!table.signal(3, Signal::Kill));
    }

    #[test]
    fn signal_names() {
        assert_eq!(Signal::parse("sigkill"), Some(Signal::Kill));
        assert_eq!(Signal::parse("9"), Some(Signal::Kill));
        assert_eq!(Signal::parse("TERM"), Some(Signal::Term));
        assert_eq!(Signal::parse("BOGUS"), None);
    }
}
