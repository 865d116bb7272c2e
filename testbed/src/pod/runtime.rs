//! A running pod's in-pod world: filesystem, process table, log, pid 1, and `exec` — which
//! streams a process's output to the client and kills it (not its background jobs) when the
//! client goes away.

use super::fs::{Fs, Volume};
use super::io::{Fds, Sink, Source, in_channel, out_channel, pump_in, pump_out};
use super::log::PodLog;
use super::procs::ProcessTable;
use super::{ExecOutput, PodSpec, Programs, utils};
use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Directories every pod starts with.
const SKELETON: &[&str] =
    &["/bin", "/dev", "/etc", "/home", "/proc/1/fd", "/root", "/tmp", "/usr/bin", "/var/log"];

/// A running pod's in-pod world. Cheap to clone (Arc inside).
#[derive(Clone)]
pub struct PodRuntime {
    inner: Arc<Inner>,
}

struct Inner {
    hostname: String,
    fs: Fs,
    procs: ProcessTable,
    log: PodLog,
    programs: Programs,
    pid1_exit: watch::Sender<Option<i32>>,
    /// argv of pid 1, run again when the container restarts.
    pid1: Vec<String>,
}

impl PodRuntime {
    /// Builds the world and starts pid 1 (spawned on the current tokio runtime; without one,
    /// pid 1 is reported as failed in the log). An empty `pid1` idles like `sleep infinity`.
    pub fn start(spec: PodSpec) -> Self {
        let fs = Fs::new(Volume::new(), spec.mounts);
        for dir in SKELETON {
            let _ = fs.mkdir_p(dir);
        }
        for (path, bytes) in &spec.files {
            fs.write_file(path, bytes);
        }
        let inner = Inner {
            hostname: spec.hostname,
            fs,
            procs: ProcessTable::new(),
            log: PodLog::new(),
            programs: utils::builtins().overlay(&spec.programs),
            pid1_exit: watch::channel(None).0,
            pid1: if spec.pid1.is_empty() { vec!["sleep".into(), "infinity".into()] } else { spec.pid1 },
        };
        let pod = PodRuntime { inner: Arc::new(inner) };
        pod.start_pid1();
        pod
    }

    fn start_pid1(&self) {
        self.inner.pid1_exit.send_replace(None);
        let log = Sink::Log(self.log().clone());
        let fds = Fds { stdin: Source::empty(), stdout: log.clone(), stderr: log };
        match self.spawn_program(self.inner.pid1.clone(), self.default_env(), fds) {
            Ok(child) => {
                let pod2 = self.clone();
                if let Some(join) = child.detach() {
                    tokio::spawn(async move {
                        let code = super::spawn::exit_code(join.await);
                        pod2.inner.pid1_exit.send_replace(Some(code));
                    });
                }
            }
            Err(e) => {
                self.log().append(e.exec_message().as_bytes());
                self.inner.pid1_exit.send_replace(Some(e.code()));
            }
        }
    }

    /// The container exits: every process (pid 1 included) is killed and none may start
    /// until [`restart_container`](Self::restart_container). Files and volumes stay, as an
    /// emptyDir and a claim outlive a container restart.
    pub fn kill_container(&self) {
        self.inner.procs.shutdown();
    }

    /// The kubelet starts the container again: pid 1 runs anew (after every process of the
    /// previous container has gone).
    pub async fn restart_container(&self) {
        let pids: Vec<u32> = self.inner.procs.list().iter().map(|p| p.pid).collect();
        self.inner.procs.wait_gone(&pids).await;
        self.inner.procs.reopen();
        self.start_pid1();
    }

    /// Runs argv as a new process (`argv[0] == "sh"` → the shell). Output is streamed as it
    /// is written. Resolves when the process exits; background jobs it started keep running.
    /// If `cancel` fires (the client went away) the process is killed and 137 returned.
    pub async fn exec(
        &self,
        argv: Vec<String>,
        stdin: Box<dyn AsyncRead + Send + Unpin>,
        stdout: Box<dyn AsyncWrite + Send + Unpin>,
        stderr: Box<dyn AsyncWrite + Send + Unpin>,
        cancel: CancellationToken,
    ) -> i32 {
        let finish = CancellationToken::new();
        let (out_sink, out_rx) = out_channel();
        let (err_sink, err_rx) = out_channel();
        let (in_tx, in_source) = in_channel();
        let fds = Fds { stdin: in_source, stdout: out_sink, stderr: err_sink.clone() };
        let main = async {
            let code = match self.spawn_program(argv, self.default_env(), fds) {
                Ok(child) => tokio::select! {
                    code = child.wait() => code,
                    _ = cancel.cancelled() => 137,
                },
                Err(e) => {
                    let _ = err_sink.write_all_to(e.exec_message().as_bytes()).await;
                    e.code()
                }
            };
            drop(err_sink);
            finish.cancel();
            code
        };
        let out = pump_out(out_rx, stdout, finish.clone());
        let err = pump_out(err_rx, stderr, finish.clone());
        let input = pump_in(stdin, in_tx, finish.clone());
        let (code, (), (), ()) = tokio::join!(main, out, err, input);
        code
    }

    /// Runs argv with `stdin` as input and collects the output (tests and tooling).
    pub async fn exec_collect(&self, argv: &[&str], stdin: &[u8]) -> ExecOutput {
        let (out, err) = (Collect::default(), Collect::default());
        let argv = argv.iter().map(|s| s.to_string()).collect();
        let input = Box::new(io::Cursor::new(stdin.to_vec()));
        let code = self
            .exec(argv, input, Box::new(out.clone()), Box::new(err.clone()), CancellationToken::new())
            .await;
        ExecOutput { code, stdout: out.take(), stderr: err.take() }
    }

    pub fn fs(&self) -> &Fs {
        &self.inner.fs
    }

    pub fn procs(&self) -> &ProcessTable {
        &self.inner.procs
    }

    pub fn log(&self) -> &PodLog {
        &self.inner.log
    }

    pub fn hostname(&self) -> &str {
        &self.inner.hostname
    }

    /// Every program `exec` and `sh` can run: builtin utilities plus the spec's programs.
    pub fn programs(&self) -> &Programs {
        &self.inner.programs
    }

    /// pid 1's exit code once it has exited.
    pub fn pid1_exit_code(&self) -> Option<i32> {
        *self.inner.pid1_exit.borrow()
    }

    /// Resolves with pid 1's exit code when it exits.
    pub async fn wait_pid1(&self) -> i32 {
        let mut rx = self.inner.pid1_exit.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(code) => code.unwrap_or(137),
            Err(_) => 137,
        }
    }

    /// The pod is deleted: kill every process (pid 1 included) and refuse new ones. Volumes
    /// are untouched.
    pub fn shutdown(&self) {
        self.inner.procs.shutdown();
    }

    /// The environment a new process started by `exec` gets.
    pub(crate) fn default_env(&self) -> BTreeMap<String, String> {
        [
            ("HOME", "/root"),
            ("HOSTNAME", self.hostname()),
            ("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            ("PWD", "/"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

/// An in-memory writer whose clones share one buffer.
#[derive(Clone, Default)]
pub(crate) struct Collect(pub(crate) Arc<Mutex<Vec<u8>>>);

impl Collect {
    pub(crate) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl AsyncWrite for Collect {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
