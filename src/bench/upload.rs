//! P14: the upload experiment through the BFF against the same client flow driven the way
//! the exam scripts drive it (`lib/upload.ts`), each on its own identical started testbed
//! (gwc + mdsc + 4 fdsc, 1 s blocks, as the chart runs them), one 10 MiB project each
//! (`--quick`: 2 fdsc, 100 ms blocks, 1 MiB, both sides one after the other on one testbed, so
//! the suite can run it).
//!
//! - **BFF**: `POST /utils/experiments/upload`; its session's phases.
//! - **Baseline**: `executeTx` as the script has it — `kubectl exec … gwcd tx …` per tx, then
//!   `gwcd q tx` through `kubectl exec` after a 2 s sleep until it is found — for
//!   init-session, the feegrant, the three grants and the root; TUS over HTTP; the session
//!   read with `kubectl exec … gwcd q gateway session` every 3 s (the script's wait) until
//!   CLOSED_SUCCESS; the render fetched. Phases timed as the script times them, except that
//!   deploy ends at the close on both sides (the script's also holds the fetch).

use super::harness::{self, Bff};
use super::reconcile::{Kubectl, bff_for_fdsc};
use super::table::Row;
use super::{Reps, Section};
use anyhow::{Context as _, ensure};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use testbed::Testbed;

/// The project and block time of a full run, and of `--quick`.
struct Scale {
    size: usize,
    block: Duration,
    fdsc: usize,
    /// Each side on its own fresh testbed (else both on one, the BFF's first).
    separate: bool,
}

const FULL: Scale = Scale { size: 10 << 20, block: Duration::from_secs(1), fdsc: 4, separate: true };
const QUICK: Scale = Scale { size: 1 << 20, block: Duration::from_millis(100), fdsc: 2, separate: false };
const FRAGMENT: usize = 254 * 1024;
const GWC_POD: &str = "cryptomeria-gwc-0";
/// `executeTx`'s sleep before each `q tx`, and `uploadToGwcCsu`'s between session reads.
const TX_POLL: Duration = Duration::from_secs(2);
const SESSION_POLL: Duration = Duration::from_secs(3);

async fn started(scale: &Scale) -> anyhow::Result<(Testbed, Bff)> {
    let builder = super::reconcile::builder_of(scale.fdsc).block_interval(Some(scale.block));
    let testbed = harness::testbed(builder).await?;
    let bff = bff_for_fdsc(&testbed, scale.fdsc).await?;
    let job = bff.run_job("system", "start", &json!({})).await?;
    ensure!(job["status"] == "succeeded", "start: {job}");
    Ok((testbed, bff))
}

/// (total ms, deploy ms) of the BFF's session.
async fn bff_side(bff: &Bff, size: usize) -> anyhow::Result<(f64, f64)> {
    let body = json!({"files": {"count": 1, "sizeBytes": size, "seed": 14}, "fragmentBytes": FRAGMENT, "repetitions": 1});
    let job = bff.run_job("utils", "experiments/upload", &body).await?;
    ensure!(job["status"] == "succeeded", "the BFF's experiment: {job}");
    let phases = &job["result"]["sessions"][0]["phases"];
    let ms = |k: &str| phases[k].as_f64().unwrap_or_default();
    Ok((ms("prepMs") + ms("clientUploadMs") + ms("deployMs") + ms("fetchMs"), ms("deployMs")))
}

async fn gwcd(kubectl: &Kubectl, args: &[&str]) -> anyhow::Result<Value> {
    let mut argv = vec!["gwcd"];
    argv.extend_from_slice(args);
    let out = kubectl.exec(GWC_POD, &argv, None).await?;
    ensure!(out.code == 0, "gwcd {args:?}: exit {}", out.code);
    serde_json::from_str(out.stdout.trim()).with_context(|| format!("gwcd {args:?} printed no JSON"))
}

/// `executeTx`: the tx through `kubectl exec`, then `q tx` after each 2 s sleep until found.
async fn execute_tx(kubectl: &Kubectl, args: &[&str], from: &str) -> anyhow::Result<Value> {
    let mut argv = vec!["tx"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&[
        "--from",
        from,
        "--chain-id",
        "gwc",
        "--keyring-backend",
        "test",
        "--gas",
        "auto",
    ]);
    argv.extend_from_slice(&["--gas-adjustment", "1.5", "--gas-prices", "0.001uatom", "-y", "-o", "json"]);
    let sent = gwcd(kubectl, &argv).await?;
    let hash = sent["txhash"].as_str().context("txhash")?.to_string();
    for _ in 0..15 {
        tokio::time::sleep(TX_POLL).await;
        if let Ok(tx) = gwcd(kubectl, &["q", "tx", &hash, "-o", "json"]).await {
            ensure!(tx["code"] == 0, "{args:?} failed: {tx}");
            return Ok(tx);
        }
    }
    anyhow::bail!("{args:?} never found")
}

/// (total ms, deploy ms) of the script-driven session.
async fn script_side(testbed: &Testbed, size: usize) -> anyhow::Result<(f64, f64)> {
    let kubectl = Kubectl::new(testbed)?;
    // setupAlice (not timed by the script either).
    let alice =
        gwcd(&kubectl, &["keys", "add", "alice", "--keyring-backend", "test", "--output", "json"]).await?;
    let alice = alice["address"].as_str().context("address")?.to_string();
    execute_tx(&kubectl, &["bank", "send", "local-admin", &alice, "10000000uatom"], "local-admin").await?;
    let files = crate::utils::experiment::project::generated(1, size, 14);
    let prep = Instant::now();
    let root = crate::utils::experiment::project::root_proof(&files, FRAGMENT);
    let zip = crate::utils::experiment::project::zip(&files)?;
    let init =
        execute_tx(&kubectl, &["gateway", "init-session", &FRAGMENT.to_string(), "0", "0"], "alice").await?;
    let attr = |key: &str| super::tus::attr(&init, "csu_init_session", key);
    let (sid, exec) = (attr("session_id")?, attr("executor")?);
    let expires = jiff::Timestamp::now().as_second() + 3600;
    let iso = jiff::Timestamp::from_second(expires)?.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    execute_tx(&kubectl, &["feegrant", "grant", &alice, &exec, "--expiration", &iso], "alice").await?;
    for m in crate::chain::gateway_msgs::EXECUTOR_MESSAGES {
        let args =
            ["authz", "grant", &exec, "generic", "--msg-type", m, "--expiration", &expires.to_string()];
        execute_tx(&kubectl, &args, "alice").await?;
    }
    execute_tx(&kubectl, &["gateway", "commit-root-proof", &sid, &root], "alice").await?;
    let prep = prep.elapsed();

    let upload = Instant::now();
    let (_, api, _) = testbed.control.node_ports("gwc").context("gwc's ports")?;
    let api = format!("http://127.0.0.1:{api}");
    super::tus::upload(&api, &sid, "p14", "1.0.0", zip).await?;
    let http = reqwest::Client::new();
    let upload = upload.elapsed();

    let deploy = Instant::now();
    let deadline = deploy + harness::WAIT * 3;
    loop {
        let s = gwcd(&kubectl, &["q", "gateway", "session", &sid, "-o", "json"]).await?;
        if s["session"]["state"] == "SESSION_STATE_CLOSED_SUCCESS" {
            break;
        }
        ensure!(Instant::now() < deadline, "the script's session never closed");
        tokio::time::sleep(SESSION_POLL).await;
    }
    let deploy = deploy.elapsed();
    let fetch = Instant::now();
    let page = http.get(format!("{api}/render/p14/1.0.0/index.html")).send().await?.bytes().await?;
    ensure!(page.len() == size, "the render has {} bytes", page.len());
    let fetch = fetch.elapsed();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok((ms(prep) + ms(upload) + ms(deploy) + ms(fetch), ms(deploy)))
}

pub async fn run(reps: &Reps, section: &mut Section) -> anyhow::Result<()> {
    let scale = if reps.quick { &QUICK } else { &FULL };
    let (bff_testbed, bff) = started(scale).await?;
    let (bff_total, bff_deploy) = bff_side(&bff, scale.size).await?;
    let (base_total, base_deploy) = if scale.separate {
        drop((bff_testbed, bff));
        let (testbed, _bff) = started(scale).await?;
        script_side(&testbed, scale.size).await?
    } else {
        script_side(&bff_testbed, scale.size).await?
    };
    let s = |ms: f64| format!("{:.1} s", ms / 1000.0);
    let what = format!(
        "{} MiB upload session, {} fdsc, {:?} blocks: total (deploy)",
        scale.size >> 20,
        scale.fdsc,
        scale.block
    );
    section.row(
        Row::new("P14", what)
            .figure(format!("{} ({})", s(bff_total), s(bff_deploy)))
            .baseline(format!("{} ({})", s(base_total), s(base_deploy)))
            .ratio(base_total / bff_total)
            .spread("n=1"),
    );
    section.json(
        "p14",
        json!({"bff_total_s": bff_total / 1000.0, "bff_deploy_s": bff_deploy / 1000.0,
            "baseline_total_s": base_total / 1000.0, "baseline_deploy_s": base_deploy / 1000.0,
            "size_bytes": scale.size, "fragment_bytes": FRAGMENT,
            "block_interval_s": scale.block.as_secs_f64(), "fdsc": scale.fdsc, "same_testbed": !scale.separate}),
    );
    Ok(())
}
