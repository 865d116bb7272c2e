//! P1 (cold `/system/start` on gwc + mdsc + 4 fdsc) and P2 (the warm re-run), each beside
//! the scripts' way: the real `kubectl` spawned once per command of the scripts' bring-up sequence, on an
//! identical fresh testbed. Both sides use the same relayer verify delay and link retry
//! policy, and both are checked to reach the same end state, so only the method differs.
//! A baseline repetition that fails (a `kubectl` hiccup) is reported with its stderr and
//! left out of the medians; it does not end the bench.

use super::harness::{self, Api, Bff, Samples};
use super::table::Row;
use super::{Reps, Section};
use crate::chart::dst_port;
use crate::reconcile::gateway::{open_channel, parse_rly_channels, parse_storage};
use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use testbed::Testbed;

/// Data chains of the measured system (gwc + mdsc + 4 fdsc = 6 chains, 5 links).
pub(super) const FDSC: usize = 4;
/// Block interval of the measured chains: links and registrations wait on inclusion.
pub(super) const BLOCK_INTERVAL: Duration = Duration::from_millis(40);
/// How long after `rly start` both sides check it still runs (the BFF's
/// RELAYER_VERIFY_DELAY; the scripts sleep "a few seconds" — the same value on both sides).
const VERIFY_DELAY: Duration = Duration::from_millis(500);
/// Link attempts and the wait between them (connect-chain.sh: 5 tries; the wait shortened
/// on both sides, it only matters when a link fails).
const LINK_ATTEMPTS: u32 = 5;
const LINK_RETRY_WAIT: Duration = Duration::from_secs(1);
const NS: &str = "cryptomeria";
pub(super) const RLY_HOME: &str = "/home/relayer/.relayer";
const GWC_HOME: &str = "/home/gwc/.gwc";

pub(super) fn builder() -> testbed::TestbedBuilder {
    builder_of(FDSC)
}

/// The measured chains with `fdsc` data chains.
pub(super) fn builder_of(fdsc: usize) -> testbed::TestbedBuilder {
    Testbed::builder().fdsc(fdsc).block_interval(Some(BLOCK_INTERVAL))
}

pub(super) async fn bff_for(testbed: &Testbed) -> anyhow::Result<Bff> {
    bff_with(testbed, |_| {}).await
}

/// `bff_for` on a testbed of `fdsc` data chains (not the measured four).
pub(super) async fn bff_for_fdsc(testbed: &Testbed, fdsc: usize) -> anyhow::Result<Bff> {
    bff_for_fdsc_with(testbed, fdsc, |_| {}).await
}

/// `bff_for_fdsc`, then `adjust`.
pub(super) async fn bff_for_fdsc_with(
    testbed: &Testbed,
    fdsc: usize,
    adjust: impl FnOnce(&mut crate::config::Settings),
) -> anyhow::Result<Bff> {
    let bff = bff_unready(testbed, adjust).await?;
    chart_ready(&bff, fdsc).await?;
    Ok(bff)
}

/// The BFF with the measured policy (verify delay, link retries, poll interval), then `adjust`.
pub(super) async fn bff_with(
    testbed: &Testbed,
    adjust: impl FnOnce(&mut crate::config::Settings),
) -> anyhow::Result<Bff> {
    let bff = bff_unready(testbed, adjust).await?;
    chart_ready(&bff, FDSC).await?;
    Ok(bff)
}

/// The BFF with the measured policy, not yet waited for.
async fn bff_unready(
    testbed: &Testbed,
    adjust: impl FnOnce(&mut crate::config::Settings),
) -> anyhow::Result<Bff> {
    Bff::start(&testbed.kubeconfig, |s| {
        let r = &mut s.reconcile;
        r.relayer_verify_delay = VERIFY_DELAY;
        r.link_attempts = LINK_ATTEMPTS;
        r.link_retry_wait = LINK_RETRY_WAIT;
        r.reconcile_poll_interval = Duration::from_millis(50);
        adjust(s);
    })
    .await
}

/// The same policy as `serve` flags, for the BFF run as its own process.
pub(super) const SERVE_FLAGS: &[&str] = &[
    "--relayer-verify-delay",
    "500ms",
    "--link-attempts",
    "5",
    "--link-retry-wait",
    "1s",
    "--reconcile-poll-interval",
    "50ms",
];

/// Waits until the BFF's cache shows every chain pod (gwc, mdsc, `fdsc` data chains) and the
/// relayer Ready; the chart's faucet and genesis-server pods and plain pods do not matter.
pub(super) async fn chart_ready(api: &Api, fdsc: usize) -> anyhow::Result<()> {
    let pods = 1 + 2 + fdsc;
    api.until("/api/v1/system/status", "every chain and relayer pod Ready in the cache", |_, b| {
        let relevant = |p: &&serde_json::Value| {
            matches!(p["component"].as_str(), Some("gwc" | "mdsc" | "fdsc" | "relayer")) && p["ready"] == true
        };
        let ready = b["data"]["pods"].as_array().map_or(0, |p| p.iter().filter(relevant).count());
        ready == pods && b["data"]["relayer"]["podReady"] == true
    })
    .await?;
    Ok(())
}

/// Runs `system.start` once; (execs, wall time).
pub(super) async fn bff_start(testbed: &Testbed, bff: &Api) -> anyhow::Result<(u64, Duration)> {
    let before = harness::execs(testbed);
    let t = Instant::now();
    let job = bff.run_job("system", "start", &json!({})).await?;
    let took = t.elapsed();
    ensure!(job["status"] == "succeeded", "system.start did not succeed: {job}");
    Ok((harness::execs(testbed) - before, took))
}

/// The end state of a bring-up, read from the testbed: an OPEN gateway channel and a storage
/// registration per storage chain, and `rly start` running.
pub(super) fn check_end_state(testbed: &Testbed, who: &str) -> anyhow::Result<()> {
    let control = &testbed.control;
    let gwc = control.chain("gwc").context("gwc")?;
    let storage: Vec<String> = control.chain_ids().into_iter().filter(|c| c != "gwc").collect();
    let open = gwc
        .channels()
        .iter()
        .filter(|c| c.port_id == "gateway" && format!("{:?}", c.state) == "Open")
        .count();
    let registered = gwc.storage_endpoints().len();
    let relayer = control.pod(&control.relayer_pod().context("relayer pod")?).context("relayer")?;
    let running = relayer.runtime.procs().list().iter().any(|p| p.cmdline.starts_with("rly start"));
    ensure!(
        open == storage.len() && registered == storage.len() && running,
        "{who} did not reach the end state: {open} OPEN channels, {registered} registrations for {} chains, rly start running={running}",
        storage.len()
    );
    Ok(())
}

/// The real kubectl against one testbed, with its own HOME (discovery cache kept across
/// calls, as on a laptop).
pub(super) struct Kubectl {
    kubeconfig: PathBuf,
    home: tempfile::TempDir,
    /// gwc's block interval: a retry that waits for a block waits this long (twice).
    block: Duration,
}

pub(super) struct Out {
    pub code: i32,
    pub stdout: String,
    /// What kubectl (or the command in the pod) said on stderr, for failure messages.
    pub stderr: String,
}

impl Kubectl {
    pub(super) fn new(testbed: &Testbed) -> anyhow::Result<Self> {
        let block = testbed.control.chain("gwc").and_then(|c| c.block_interval()).unwrap_or(BLOCK_INTERVAL);
        Ok(Self { kubeconfig: testbed.kubeconfig.clone(), home: tempfile::tempdir()?, block })
    }

    async fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> anyhow::Result<Out> {
        use tokio::io::AsyncWriteExt as _;
        let mut cmd = tokio::process::Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env("HOME", self.home.path())
            .env("KUBECACHEDIR", self.home.path().join("cache"))
            .stdin(if stdin.is_some() { std::process::Stdio::piped() } else { std::process::Stdio::null() })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().context("spawning kubectl (is it installed?)")?;
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().context("kubectl stdin")?;
            pipe.write_all(input).await?;
            drop(pipe);
        }
        let out = tokio::time::timeout(harness::WAIT, child.wait_with_output()).await??;
        Ok(Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// `kubectl exec -n NS POD -- ARGV…` (with `-i` when stdin is given).
    pub(super) async fn exec(&self, pod: &str, argv: &[&str], stdin: Option<&[u8]>) -> anyhow::Result<Out> {
        let mut args = vec!["exec", "-n", NS];
        if stdin.is_some() {
            args.push("-i");
        }
        args.extend([pod, "--"]);
        args.extend(argv);
        self.run(&args, stdin).await
    }

    async fn sh(&self, pod: &str, script: &str) -> anyhow::Result<Out> {
        self.exec(pod, &["sh", "-c", script], None).await
    }

    async fn pod_by_label(&self, selector: &str) -> anyhow::Result<String> {
        let out = self
            .run(&["get", "pod", "-n", NS, "-l", selector, "-o", "jsonpath={.items[0].metadata.name}"], None)
            .await?;
        ensure!(out.code == 0 && !out.stdout.is_empty(), "no pod with {selector}");
        Ok(out.stdout.trim().to_string())
    }
}

/// The scripts' bring-up (init-relayer.sh, connect-all.sh → connect-chain.sh, start-relayer.sh)
/// as the chart's scripts run it: every check and every action is one `kubectl exec`. On a system
/// already up, every check finds its answer and nothing else runs (the warm re-run).
async fn scripts_bring_up(kubectl: &Kubectl, chains: &[String]) -> anyhow::Result<()> {
    let relayer = kubectl.pod_by_label("app.kubernetes.io/component=relayer").await?;
    let gwc = kubectl.pod_by_label("app.kubernetes.io/instance=gwc").await?;
    let home = ["--home", RLY_HOME];

    // init-relayer.sh
    let config = format!("{RLY_HOME}/config/config.yaml");
    if kubectl.exec(&relayer, &["test", "-f", &config], None).await?.code != 0 {
        let mut argv = vec!["rly", "config", "init", "--memo", "Cryptomeria Relayer"];
        argv.extend(home);
        ensure!(kubectl.exec(&relayer, &argv, None).await?.code == 0, "rly config init failed");
    }
    let mut list = vec!["rly", "chains", "list"];
    list.extend(home);
    let configured = kubectl.exec(&relayer, &list, None).await?.stdout;
    for id in chains {
        if configured.lines().any(|l| l.split_whitespace().any(|w| w == id)) {
            continue;
        }
        let file = format!("/tmp/{id}.json");
        let json = crate::reconcile::init_relayer::chain_json("cryptomeria", id).to_string();
        let wrote =
            kubectl.exec(&relayer, &["sh", "-c", &format!("cat > {file}")], Some(json.as_bytes())).await?;
        ensure!(wrote.code == 0, "writing {file} failed");
        let mut add = vec!["rly", "chains", "add", "--file", &file];
        add.extend(home);
        ensure!(kubectl.exec(&relayer, &add, None).await?.code == 0, "rly chains add {id} failed");
    }
    for id in chains {
        let mut show = vec!["rly", "keys", "show", id, "relayer"];
        show.extend(home);
        if kubectl.exec(&relayer, &show, None).await?.code == 0 {
            continue;
        }
        let restore = format!(
            "rly keys restore {id} relayer \"$(cat /etc/mnemonics/{id}.relayer.mnemonic)\" --home {RLY_HOME}"
        );
        ensure!(kubectl.sh(&relayer, &restore).await?.code == 0, "rly keys restore {id} failed");
    }

    // connect-all.sh: connect-chain.sh per storage chain
    let q_channels = ["rly", "q", "channels", "gwc", "--home", RLY_HOME];
    for id in chains.iter().filter(|c| *c != "gwc") {
        let (port, path) = (dst_port(id), format!("path-gwc-{id}-gw"));
        let channels = parse_rly_channels(&kubectl.exec(&relayer, &q_channels, None).await?.stdout);
        if open_channel(&channels, id, port).is_none() {
            let mut show = vec!["rly", "paths", "show", &path];
            show.extend(home);
            if kubectl.exec(&relayer, &show, None).await?.code != 0 {
                let mut new = vec!["rly", "paths", "new", "gwc", id, &path, "--src-port", "gateway"];
                new.extend(["--dst-port", port, "--version", "cryptomeria-1"]);
                new.extend(home);
                ensure!(kubectl.exec(&relayer, &new, None).await?.code == 0, "rly paths new {id} failed");
            }
            let mut link =
                vec!["rly", "transact", "link", &path, "--src-port", "gateway", "--dst-port", port];
            link.extend(["--version", "cryptomeria-1"]);
            link.extend(home);
            let mut linked = false;
            for attempt in 1..=LINK_ATTEMPTS {
                if kubectl.exec(&relayer, &link, None).await?.code == 0 {
                    linked = true;
                    break;
                }
                if attempt < LINK_ATTEMPTS {
                    tokio::time::sleep(LINK_RETRY_WAIT).await;
                }
            }
            ensure!(linked, "rly transact link {id} failed {LINK_ATTEMPTS} times");
        }
        if registered(kubectl, &gwc, id).await? {
            continue;
        }
        let channels = parse_rly_channels(&kubectl.exec(&relayer, &q_channels, None).await?.stdout);
        let channel =
            open_channel(&channels, id, port).context("no OPEN channel after link")?.channel_id.clone();
        register_storage(kubectl, &gwc, &channel, id).await?;
    }

    // start-relayer.sh
    let running = kubectl.exec(&relayer, &["pgrep", "-f", "rly start"], None).await?;
    if running.code != 0 {
        let start =
            format!("nohup rly start --log-format json --home {RLY_HOME} > /proc/1/fd/1 2>&1 < /dev/null &");
        ensure!(kubectl.sh(&relayer, &start).await?.code == 0, "starting rly failed");
        tokio::time::sleep(VERIFY_DELAY).await;
        ensure!(
            kubectl.exec(&relayer, &["pgrep", "-f", "rly start"], None).await?.code == 0,
            "rly start exited"
        );
    }
    Ok(())
}

impl Out {
    /// Both streams, for a failure message (either may say why).
    fn said(&self) -> String {
        format!("exit {}, stdout {:?}, stderr {:?}", self.code, self.stdout.trim(), self.stderr.trim())
    }
}

/// Whether gwc lists a storage registration for `id` (`gwcd q gateway endpoints`).
async fn registered(kubectl: &Kubectl, gwc: &str, id: &str) -> anyhow::Result<bool> {
    let endpoints = kubectl.exec(gwc, &["gwcd", "q", "gateway", "endpoints", "-o", "json"], None).await?;
    let listed: Value = serde_json::from_str(endpoints.stdout.trim()).unwrap_or(Value::Null);
    Ok(parse_storage(&listed).contains(id))
}

/// `gwcd tx gateway register-storage` in the gwc pod, as a careful script would run it: a
/// wrong-sequence answer (the previous registration not yet in a block) is retried after a
/// block; an answer that is not the tx's JSON (the exec failed, or its output was lost) is
/// checked against gwc a block later before trying again, because the tx may have gone
/// through — and the same signed bytes sent twice are refused as already in the cache.
async fn register_storage(kubectl: &Kubectl, gwc: &str, channel: &str, id: &str) -> anyhow::Result<()> {
    let api = format!("http://{}:1317", crate::chart::chain_host("cryptomeria", id));
    let mut argv = vec!["gwcd", "tx", "gateway", "register-storage", channel, id, &api, dst_port(id)];
    argv.extend(["--from", "local-admin", "--chain-id", "gwc", "--gas", "auto", "--gas-adjustment", "1.5"]);
    argv.extend(["--gas-prices", "0.1uatom", "--broadcast-mode", "sync", "-o", "json", "-y"]);
    argv.extend(["--keyring-backend", "test", "--home", GWC_HOME]);
    let mut last = String::new();
    for _ in 0..LINK_ATTEMPTS {
        let out = kubectl.exec(gwc, &argv, None).await?;
        let answer: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
        match answer["code"].as_i64() {
            Some(0) if out.code == 0 => return Ok(()),
            Some(32) => tokio::time::sleep(kubectl.block * 2).await,
            Some(_) => bail!("register-storage {id} refused: {}", out.said()),
            None => {
                eprintln!("bench: register-storage {id} gave no tx answer ({}); checking gwc", out.said());
                tokio::time::sleep(kubectl.block * 2).await;
                if registered(kubectl, gwc, id).await? {
                    return Ok(());
                }
            }
        }
        last = out.said();
    }
    bail!("register-storage {id} failed {LINK_ATTEMPTS} times; last: {last}")
}

/// Runs the scripts once and checks the end state; (execs, wall time).
pub(super) async fn scripts_run(testbed: &Testbed, kubectl: &Kubectl) -> anyhow::Result<(u64, Duration)> {
    let chains = testbed.control.chain_ids();
    let before = harness::execs(testbed);
    let t = Instant::now();
    scripts_bring_up(kubectl, &chains).await?;
    let took = t.elapsed();
    check_end_state(testbed, "the scripts")?;
    Ok((harness::execs(testbed) - before, took))
}

/// Failed baseline repetitions: counted and named in the table, left out of the medians.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    /// The repetition's figures, or `None` after reporting why it failed.
    fn keep<T>(&mut self, what: &str, result: anyhow::Result<T>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!("bench: {what} failed (reported, not fatal): {e:#}");
                self.0.push(format!("{what}: {e:#}"));
                None
            }
        }
    }

    /// `", 1 failed"` for the spread column, empty when none did.
    fn note(&self) -> String {
        if self.0.is_empty() { String::new() } else { format!(", {} failed", self.0.len()) }
    }
}

pub async fn run(reps: &Reps, section: &mut Section) -> anyhow::Result<()> {
    let (mut cold, mut cold_base) = (Samples::default(), Samples::default());
    let (mut warm, mut warm_base) = (Samples::default(), Samples::default());
    let (mut cold_execs, mut cold_base_execs, mut warm_execs, mut warm_base_execs) = (0, 0, 0, 0);
    let (mut cold_failed, mut warm_failed) = (Failures::default(), Failures::default());
    // Warm-up: one untimed round of each side on its own testbed (process, kubectl and
    // connection caches), then `reps.cold` fresh testbeds per side, alternating.
    for round in 0..=reps.cold {
        let timed = round > 0;
        let testbed = harness::testbed(builder()).await?;
        let bff = bff_for(&testbed).await?;
        let (execs, took) = bff_start(&testbed, &bff).await?;
        check_end_state(&testbed, "system.start")?;
        if timed {
            cold.push(took);
            cold_execs = execs;
        }
        if round == reps.cold {
            for _ in 0..reps.timed {
                let (execs, took) = bff_start(&testbed, &bff).await?;
                warm.push(took);
                warm_execs = warm_execs.max(execs);
            }
        }
        drop((bff, testbed));

        let testbed = harness::testbed(builder()).await?;
        let kubectl = Kubectl::new(&testbed)?;
        let cold_run = scripts_run(&testbed, &kubectl).await;
        let Some((execs, took)) = cold_failed.keep(&format!("P1 baseline round {round}"), cold_run) else {
            continue;
        };
        if timed {
            cold_base.push(took);
            cold_base_execs = execs;
        }
        if round == reps.cold {
            for rep in 1..=reps.timed {
                let warm_run = scripts_run(&testbed, &kubectl).await;
                if let Some((execs, took)) =
                    warm_failed.keep(&format!("P2 baseline repetition {rep}"), warm_run)
                {
                    warm_base.push(took);
                    warm_base_execs = warm_base_execs.max(execs);
                }
            }
        }
        eprintln!("bench: P1/P2 round {round}/{} done", reps.cold);
    }
    let (bff_s, base_s) = (cold.median(), cold_base.median());
    section.row(
        Row::new("P1", format!("cold /system/start, gwc+mdsc+{FDSC} fdsc (wall s, execs)"))
            .figure(format!("{bff_s:.2} s, {cold_execs} execs"))
            .baseline(format!("{base_s:.2} s, {cold_base_execs} execs"))
            .ratio(base_s / bff_s)
            .spread(format!("{} / {}{}", cold.spread(1.0, 2), cold_base.spread(1.0, 2), cold_failed.note())),
    );
    section.json(
        "p1",
        json!({"bff_s": bff_s, "baseline_s": base_s, "ratio": base_s / bff_s,
        "execs": cold_execs, "baseline_execs": cold_base_execs, "baseline_failed": cold_failed.0}),
    );
    let (wbff, wbase) = (warm.median(), warm_base.median());
    section.row(
        Row::new("P2", "warm re-run on the system up (wall s, execs)")
            .figure(format!("{wbff:.2} s, {warm_execs} execs"))
            .baseline(format!("{wbase:.2} s, {warm_base_execs} execs"))
            .ratio(wbase / wbff)
            .spread(format!("{} / {}{}", warm.spread(1.0, 2), warm_base.spread(1.0, 2), warm_failed.note())),
    );
    section.json(
        "p2",
        json!({"execs": warm_execs, "baseline_execs": warm_base_execs, "bff_s": wbff,
        "baseline_s": wbase, "ratio": wbase / wbff, "baseline_failed": warm_failed.0}),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_repetition_is_reported_and_counted_not_fatal() {
        let mut failed = Failures::default();
        assert_eq!(failed.keep("P1 baseline round 1", Ok(3)), Some(3));
        assert_eq!(failed.note(), "");
        let lost: anyhow::Result<u32> = Err(anyhow::anyhow!("register-storage mdsc failed 5 times"));
        assert_eq!(failed.keep("P1 baseline round 2", lost), None);
        assert_eq!(failed.note(), ", 1 failed");
        assert!(failed.0[0].contains("round 2: register-storage mdsc"), "{:?}", failed.0);
    }
}
