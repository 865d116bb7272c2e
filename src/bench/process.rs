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
