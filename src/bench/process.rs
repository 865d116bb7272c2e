//! The BFF as its own process: this executable spawned as `serve` against a testbed's
//! kubeconfig, so that its resident memory is the BFF's alone (the testbed stays in the bench
//! process). Settings go in as `serve`'s own flags; its log goes to a file that a failure
//! to become ready quotes.

use super::harness::Api;
use anyhow::{Context as _, bail};
use std::path::Path;
use std::time::{Duration, Instant};

/// A `serve` child process; killed when dropped.
pub struct Served {
    pub api: Api,
    child: tokio::process::Child,
    /// Holds the child's log file.
    dir: tempfile::TempDir,
}

impl std::ops::Deref for Served {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

/// Resident memory of a process, from `/proc/<pid>/status` (Linux).
#[derive(Debug, Clone, Copy)]
pub struct Rss {
    /// VmRSS: every resident page, the binary's own text included.
    pub total_mib: f64,
    /// RssAnon: heap, stacks and other anonymous pages (what the BFF allocated).
    pub anon_mib: f64,
    pub threads: u64,
}

impl Rss {
    fn parse(status: &str) -> anyhow::Result<Self> {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .with_context(|| format!("no {name} line"))
        };
        Ok(Self {
            total_mib: field("VmRSS:")? / 1024.0,
            anon_mib: field("RssAnon:")? / 1024.0,
            threads: field("Threads:")? as u64,
        })
    }
}

impl Served {
    /// Spawns `serve --kubeconfig K --listen 127.0.0.1:PORT ARGS…` and waits for `/readyz`.
    pub async fn start(kubeconfig: &Path, args: &[&str]) -> anyhow::Result<Self> {
        // A free port, released for the child to bind (the window between is tiny).
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = tempfile::tempdir()?;
        let log = std::fs::File::create(dir.path().join("serve.log"))?;
        let exe = std::env::current_exe().context("the bench's own executable")?;
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg("serve")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        // Warnings only, unless the caller asked for more: a line per request would cost the
        // figures it is measured beside.
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "warn");
        }
        let child = cmd.spawn().context("spawning `serve`")?;
        let api = Api { url: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
        let served = Self { api, child, dir };
        if let Err(e) = served.until("/readyz", "ready", |status, _| status == 200).await {
            bail!("{e:#}; its log:\n{}", served.log_tail());
        }
        Ok(served)
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    pub fn rss(&self) -> anyhow::Result<Rss> {
        let pid = self.child.id().context("serve exited")?;
        Rss::parse(&std::fs::read_to_string(format!("/proc/{pid}/status"))?)
    }

    /// CPU time the process has used so far (user + system, `/proc/<pid>/stat`, 100 Hz ticks).
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let pid = self.child.id().context("serve exited")?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // Fields after the command's closing parenthesis: state is the 3rd field, utime the 14th.
        let rest = stat.rsplit_once(')').context("malformed stat")?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks =
            |i: usize| fields.get(i - 3).and_then(|f| f.parse::<f64>().ok()).context("no utime/stime");
        Ok((ticks(14)? + ticks(15)?) / 100.0)
    }

    /// The scheduler's account of every thread of the process so far (`/proc/<pid>/task/*/schedstat`).
    pub fn sched(&self) -> anyhow::Result<Sched> {
        let pid = self.child.id().context("serve exited")?;
        Sched::of_threads(&format!("/proc/{pid}/task"), |_| true)
    }

    /// The RSS once it has stopped moving: read every 100 ms until two reads 500 ms apart
    /// agree within 0.25 MiB (or 5 s pass), so a figure is not taken mid-burst.
    pub async fn settled_rss(&self) -> anyhow::Result<Rss> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut last = self.rss()?;
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = self.rss()?;
            if (now.total_mib - last.total_mib).abs() < 0.25 || Instant::now() > deadline {
                return Ok(now);
            }
            last = now;
        }
    }
}

/// What the kernel's scheduler counted for a set of threads: time on a CPU, and time runnable
/// but waiting in a run queue for one (a busy machine's cost, not the code's).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sched {
    pub on_cpu_s: f64,
    pub run_queue_s: f64,
}

impl Sched {
    /// Sums the `schedstat` of the threads under `tasks` (a `/proc/<pid>/task` directory)
    /// whose name (`comm`) `keep` accepts.
    pub fn of_threads(tasks: &str, keep: impl Fn(&str) -> bool) -> anyhow::Result<Self> {
        let mut sum = Self::default();
        for task in std::fs::read_dir(tasks)? {
            let dir = task?.path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if !keep(comm.trim()) {
                continue;
            }
            // A thread that ended between the listing and the read is left out.
            let Ok(stat) = std::fs::read_to_string(dir.join("schedstat")) else { continue };
            let ns: Vec<f64> = stat.split_whitespace().filter_map(|f| f.parse().ok()).collect();
            sum.on_cpu_s += ns.first().copied().unwrap_or(0.0) / 1e9;
            sum.run_queue_s += ns.get(1).copied().unwrap_or(0.0) / 1e9;
        }
        Ok(sum)
    }

    /// The calling thread's account (`/proc/thread-self/schedstat`).
    pub fn of_this_thread() -> Self {
        let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
        let ns: Vec<f64> = stat.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        let at = |i: usize| ns.get(i).copied().unwrap_or(0.0) / 1e9;
        Self { on_cpu_s: at(0), run_queue_s: at(1) }
    }

    /// The difference since `before`.
    pub fn since(self, before: Self) -> Self {
        Self { on_cpu_s: self.on_cpu_s - before.on_cpu_s, run_queue_s: self.run_queue_s - before.run_queue_s }
    }
}

/// Another process keeping one core busy: `sh -c 'while :; do :; done'` (a shell spinning
/// on its no-op builtin, no system calls); killed when dropped.
pub struct BusyCore(tokio::process::Child);

impl BusyCore {
    pub fn start() -> anyhow::Result<Self> {
        let child = tokio::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("spawning the busy loop")?;
        Ok(Self(child))
    }

    /// CPU seconds the loop has used (to show it had its core).
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let pid = self.0.id().context("the busy loop exited")?;
        Ok(Sched::of_threads(&format!("/proc/{pid}/task"), |_| true)?.on_cpu_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_fields_are_read_from_proc_status() {
        let status = "Name:\tx\nVmRSS:\t   40960 kB\nRssAnon:\t   20480 kB\nThreads:\t5\n";
        let rss = Rss::parse(status).unwrap();
        assert_eq!((rss.total_mib, rss.anon_mib, rss.threads), (40.0, 20.0, 5));
    }
}
