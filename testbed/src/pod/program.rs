//! Simulated executables: the [`Program`] trait, what a running one sees ([`ProcCtx`]), and
//! the by-name registry ([`Programs`]) that `exec` and the shell look commands up in.

use super::PodRuntime;
use super::io::Fds;
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use tokio_util::sync::CancellationToken;

/// A simulated executable. Builtin utilities implement it too. A plain
/// `Fn(ProcCtx) -> impl Future<Output = i32>` closure is a `Program`.
pub trait Program: Send + Sync + 'static {
    /// Runs to completion and returns the exit code. The future is dropped if the process is
    /// killed; on TERM `ctx.cancel` fires first (see `procs::TERM_GRACE`).
    fn run(&self, ctx: ProcCtx) -> BoxFuture<'static, i32>;
}

impl<F, Fut> Program for F
where
    F: Fn(ProcCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = i32> + Send + 'static,
{
    fn run(&self, ctx: ProcCtx) -> BoxFuture<'static, i32> {
        Box::pin(self(ctx))
    }
}

/// Everything a running program sees.
pub struct ProcCtx {
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub stdin: Box<dyn AsyncRead + Send + Unpin>,
    pub stdout: Box<dyn AsyncWrite + Send + Unpin>,
    pub stderr: Box<dyn AsyncWrite + Send + Unpin>,
    /// Filesystem, process table, log.
    pub pod: PodRuntime,
    /// Fired when the process is signalled (TERM or KILL).
    pub cancel: CancellationToken,
    /// This process's pid.
    pub pid: u32,
    /// The same streams, clonable: what the shell and `env` hand on to children.
    pub(super) fds: Fds,
}

impl ProcCtx {
    /// Working directory (`$PWD`, default `/`).
    pub fn cwd(&self) -> &str {
        self.env.get("PWD").map_or("/", String::as_str)
    }

    /// `path` made absolute against [`cwd`](Self::cwd).
    pub fn path(&self, path: &str) -> String {
        super::fs::join(self.cwd(), path)
    }

    /// Writes to stdout, ignoring a closed stream (the reader went away).
    pub async fn out(&mut self, bytes: impl AsRef<[u8]>) -> bool {
        self.stdout.write_all(bytes.as_ref()).await.is_ok()
    }

    /// Writes to stderr, ignoring a closed stream.
    pub async fn err(&mut self, bytes: impl AsRef<[u8]>) {
        let _ = self.stderr.write_all(bytes.as_ref()).await;
    }
}

/// A registry of simulated programs by name (the first argv word's base name). Cheap to
/// clone.
#[derive(Clone, Default)]
pub struct Programs {
    map: Arc<BTreeMap<String, Arc<dyn Program>>>,
}

impl Programs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `name`.
    pub fn with(mut self, name: &str, p: impl Program) -> Self {
        Arc::make_mut(&mut self.map).insert(name.to_string(), Arc::new(p));
        self
    }

    /// Looks `name` up; a path (`/bin/sh`) is looked up by its base name.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Program>> {
        self.map.get(name.rsplit('/').next().unwrap_or(name)).cloned()
    }

    /// Registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.map.keys().cloned().collect()
    }

    /// `self` with every entry of `other` added on top.
    pub fn overlay(mut self, other: &Programs) -> Self {
        let map = Arc::make_mut(&mut self.map);
        for (name, p) in other.map.iter() {
            map.insert(name.clone(), p.clone());
        }
        self
    }
}
