//! P7: a broadcast-batch through the BFF (POST until the job ends, no confirmation wait; the
//! read of its 1,000-row result afterwards is not timed)
//! against the same kind of txs sent straight to the chain's REST broadcast route, the route
//! the BFF uses, at the same concurrency: one lane per signer, in sequence order.

use super::harness::{Bff, Samples};
use super::table::Row;
use super::txs::{self, Signer};
use super::{Reps, Section};
use crate::chart::GWC as CHAIN;
use anyhow::{Context as _, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use testbed::Testbed;

/// Signers = lanes = concurrency.
const CONCURRENCY: usize = 8;
/// Txs per batch (per side and repetition).
const BATCH: u64 = 1000;

/// CPU time the whole process (bench client, BFF and testbed node alike) has used so far:
/// the sum of its threads' run time from `/proc/self/task/*/schedstat`. A load-independent
/// figure beside the wall clock, which a shared machine makes noisy; `None` off Linux.
fn process_cpu() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        total += stat.split_whitespace().next().and_then(|ns| ns.parse::<u64>().ok()).unwrap_or(0);
    }
    Some(Duration::from_nanos(total))
}

/// Sends each signer's txs one after another, signers concurrently; (accepted, wall time).
async fn direct(http: &reqwest::Client, api: &str, txs: Vec<Vec<u8>>) -> anyhow::Result<(usize, Duration)> {
    let mut lanes: Vec<Vec<String>> = vec![Vec::new(); CONCURRENCY];
    for (i, tx) in txs.iter().enumerate() {
        lanes[i % CONCURRENCY].push(BASE64.encode(tx));
    }
    let url = format!("{api}/cosmos/tx/v1beta1/txs");
    let t = Instant::now();
    let tasks = lanes.into_iter().map(|lane| {
        let (http, url) = (http.clone(), url.clone());
        tokio::spawn(async move {
            let mut accepted = 0;
            for tx in lane {
                let body = json!({"tx_bytes": tx, "mode": "BROADCAST_MODE_SYNC"});
                let answer: Value = http.post(&url).json(&body).send().await?.json().await?;
                if answer["tx_response"]["code"] == 0 {
                    accepted += 1;
                }
            }
            anyhow::Ok(accepted)
        })
    });
    let mut accepted = 0;
    for t in futures::future::join_all(tasks).await {
        accepted += t??;
    }
    Ok((accepted, t.elapsed()))
}

pub async fn run(testbed: &Testbed, bff: &Bff, reps: &Reps, section: &mut Section) -> anyhow::Result<()> {
    let node = testbed.control.chain(CHAIN).context("gwc")?;
    let (_, api_port, _) = testbed.control.node_ports(CHAIN).context("NodePorts")?;
    let api = format!("http://127.0.0.1:{api_port}");
    let mut signers: Vec<Signer> = txs::fund_signers(&node, CHAIN, CONCURRENCY)?;
    // No block is made while a side sends (one landing in one side's ~0.1 s window and not
    // the other's decided the ratio); one is made before each side, so both start on an
    // empty mempool.
    let interval = node.block_interval();
    node.set_block_interval(None);
    let (mut via_bff, mut straight) = (Samples::default(), Samples::default());
    let (mut bff_cpu, mut direct_cpu) = (Samples::default(), Samples::default());
    for round in 0..=reps.timed {
        let per_signer = BATCH / CONCURRENCY as u64;
        let batch = txs::sign(CHAIN, &mut signers, per_signer);
        let encoded: Vec<String> = batch.iter().map(|tx| BASE64.encode(tx)).collect();
        node.produce_blocks(1);
        let cpu = process_cpu();
        let (job, took) = bff
            .run_job_timed(
                "utils",
                "load/broadcast-batch",
                &json!({"chainId": CHAIN, "txBytes": encoded, "concurrency": CONCURRENCY,
                        "mode": "sync", "waitForConfirmation": false}),
            )
            .await?;
        let cpu_took = process_cpu().zip(cpu).map(|(after, before)| after.saturating_sub(before));
        let accepted = job["result"]["accepted"].as_u64().unwrap_or_default();
        ensure!(
            job["status"] == "succeeded" && accepted == BATCH,
            "broadcast-batch: {accepted} accepted, {}",
            job["error"]
        );

        let batch = txs::sign(CHAIN, &mut signers, per_signer);
        node.produce_blocks(1);
        let cpu = process_cpu();
        let (accepted, direct_took) = direct(&bff.http, &api, batch).await?;
        let direct_cpu_took = process_cpu().zip(cpu).map(|(after, before)| after.saturating_sub(before));
        ensure!(accepted as u64 == BATCH, "direct: {accepted} of {BATCH} accepted");
        if round > 0 {
            via_bff.push(took);
            straight.push(direct_took);
            bff_cpu.push(cpu_took.unwrap_or_default());
            direct_cpu.push(direct_cpu_took.unwrap_or_default());
        }
    }
    node.produce_blocks(1);
    node.set_block_interval(interval);
    let tps = |s: &Samples| BATCH as f64 / s.median();
    let (bff_tps, direct_tps) = (tps(&via_bff), tps(&straight));
    let spread = |s: &Samples| Samples(s.0.iter().map(|t| BATCH as f64 / t).collect()).spread(1.0, 0);
    section.row(
        Row::new("P7", format!("broadcast-batch {BATCH} txs, concurrency {CONCURRENCY} (tx/s)"))
            .figure(format!("{bff_tps:.0} tx/s"))
            .baseline(format!("{direct_tps:.0} tx/s (direct to the chain)"))
            .ratio(bff_tps / direct_tps)
            .spread(format!("{} / {}", spread(&via_bff), spread(&straight))),
    );
    let per_tx = |s: &Samples| s.median() * 1e6 / BATCH as f64;
    section.json(
        "p7",
        json!({"ratio": bff_tps / direct_tps, "bff_tps": bff_tps, "direct_tps": direct_tps,
               "txs": BATCH, "concurrency": CONCURRENCY,
               "cpu_us_per_tx": {"bff": per_tx(&bff_cpu), "direct": per_tx(&direct_cpu)}}),
    );
    // CPU per tx of the whole process (client, BFF, node): what the wall clock costs on a
    // shared machine depends on the load; this does not.
    eprintln!(
        "bench: P7 done; process CPU per tx {:.0} µs via the BFF, {:.0} µs direct",
        per_tx(&bff_cpu),
        per_tx(&direct_cpu)
    );
    Ok(())
}
