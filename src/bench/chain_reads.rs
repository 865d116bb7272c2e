//! P4 (blocktime over 2000 headers: cold, same height, after k blocks), P5 (throughput over
//! 10,000 blocks) and P6 (confirm-batch of 10,000 txs): upstream requests the BFF makes, read
//! from the testbed chain's own request counters, beside a naive client run against the
//! same node: one `block` per height, one `tx?hash=` per hash. Blocks are made on demand.
//! P7 then runs on the same chain (`broadcast`).

use super::harness::{self, Bff};
use super::table::Row;
use super::txs;
use super::{Reps, Section};
use anyhow::{Context as _, ensure};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use testbed::Testbed;
use testbed::chain::tx_codec::{hash_hex, tx_hash};

use crate::chart::GWC as CHAIN;
const WINDOW: u64 = 2000;
/// New blocks between the second and third blocktime request.
const K_BLOCKS: u64 = 100;
const THROUGHPUT_BLOCKS: u64 = 10_000;
const CONFIRM_TXS: u64 = 10_000;
/// Txs per block while filling the chain for P6 (below the mempool's 5000).
const TXS_PER_BLOCK: usize = 1000;
/// Concurrent requests of the naive clients.
const NAIVE_CONCURRENCY: usize = 8;

/// GETs every URL with `NAIVE_CONCURRENCY` clients; checks each answer with `ok`.
async fn naive_gets(http: &reqwest::Client, urls: Vec<String>, ok: fn(&Value) -> bool) -> anyhow::Result<()> {
    let urls = Arc::new(urls);
    let next = Arc::new(AtomicUsize::new(0));
    let clients = (0..NAIVE_CONCURRENCY).map(|_| {
        let (http, urls, next) = (http.clone(), urls.clone(), next.clone());
        tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(url) = urls.get(i) else { return anyhow::Ok(()) };
                let body: Value = http.get(url).send().await?.json().await?;
                ensure!(ok(&body), "{url}: {body}");
            }
        })
    });
    for c in futures::future::join_all(clients).await {
        c??;
    }
    Ok(())
}

fn has_block(v: &Value) -> bool {
    v["result"]["block"]["header"]["height"].is_string()
}

fn has_tx(v: &Value) -> bool {
    v["result"]["hash"].is_string()
}

pub async fn run(reps: &Reps, section: &mut Section) -> anyhow::Result<()> {
    let testbed = harness::testbed(Testbed::builder().fdsc(0).block_interval(None)).await?;
    let node = testbed.control.chain(CHAIN).context("gwc")?;
    let (rpc_port, _, _) = testbed.control.node_ports(CHAIN).context("NodePorts")?;
    let rpc = format!("http://127.0.0.1:{rpc_port}");
    let bff = Bff::start(&testbed.kubeconfig, |s| {
        s.jobs.max_batch_size = CONFIRM_TXS as usize;
        s.jobs.max_throughput_window = THROUGHPUT_BLOCKS;
        s.jobs.poll_interval = std::time::Duration::from_millis(20);
    })
    .await?;
    let requests = || harness::chain_requests(&testbed, CHAIN);

    // Fill: 10,000 empty blocks, then 10,000 txs in blocks of 1000 on top.
    let t = Instant::now();
    node.produce_blocks(THROUGHPUT_BLOCKS);
    let blocks_took = t.elapsed();
    let t = Instant::now();
    // Two signers (local-admin funds the second), admitted from two threads: CheckTx
    // verifies signatures outside the node's lock, so both cores work.
    let mut signers = txs::fund_signers(&node, CHAIN, 2)?;
    let signed = txs::sign(CHAIN, &mut signers, CONFIRM_TXS / 2);
    let hashes: Vec<String> = signed.iter().map(|tx| hash_hex(&tx_hash(tx))).collect();
    let sign_took = t.elapsed();
    let t = Instant::now();
    let from_height = node.latest_height();
    for chunk in signed.chunks(TXS_PER_BLOCK) {
        let admit = |lane: usize| -> anyhow::Result<()> {
            for tx in chunk.iter().skip(lane).step_by(2) {
                let admitted = node.check_tx(tx).map_err(|e| anyhow::anyhow!("mempool: {e}"))?;
                ensure!(admitted.result.code == 0, "CheckTx: {}", admitted.result.log);
            }
            Ok(())
        };
        std::thread::scope(|scope| {
            let other = scope.spawn(|| admit(1));
            admit(0)?;
            other.join().map_err(|_| anyhow::anyhow!("admitting thread panicked"))?
        })?;
        node.produce_blocks(1);
    }
    ensure!(node.mempool_status().pending == 0, "the txs did not all fit their blocks");
    eprintln!(
        "bench: chain filled to {} blocks ({blocks_took:.1?}), {CONFIRM_TXS} txs signed ({sign_took:.1?}) and committed ({:.1?})",
        node.latest_height(),
        t.elapsed()
    );

    // P4: blocktime, window 2000.
    let blocktime = format!("/api/v1/chains/{CHAIN}/blocktime?window={WINDOW}");
    let mut counts = Vec::new();
    for step in 0..3 {
        if step == 2 {
            node.produce_blocks(K_BLOCKS);
        }
        let before = requests();
        let (status, body) = bff.get(&blocktime).await?;
        ensure!(status == 200, "blocktime answered {status}: {body}");
        ensure!(body["data"]["cached"] == (step == 1), "blocktime cached flag at step {step}: {body}");
        counts.push(requests() - before);
    }
    let latest = node.latest_height();
    let before = requests();
    let urls = (latest - WINDOW..=latest).map(|h| format!("{rpc}/block?height={h}")).collect();
    naive_gets(&bff.http, urls, has_block).await?;
    let naive_window = requests() - before;
    let (cold, same, incremental) = (counts[0], counts[1], counts[2]);
    section.row(
        Row::new("P4", format!("blocktime window={WINDOW}, cold (upstream requests)"))
            .figure(cold.to_string())
            .baseline(format!("{naive_window} (a `block` per header)"))
            .ratio(naive_window as f64 / cold as f64),
    );
    section.row(
        Row::new("P4", "blocktime, same height again")
            .figure(same.to_string())
            .baseline(format!("{cold} (uncached: cold again)"))
            .ratio(cold as f64 / same.max(1) as f64),
    );
    section.row(
        Row::new("P4", format!("blocktime after {K_BLOCKS} new blocks"))
            .figure(incremental.to_string())
            .baseline(format!("{cold} (uncached: cold again)"))
            .ratio(cold as f64 / incremental.max(1) as f64),
    );
    section.json(
        "p4",
        json!({"cold_requests": cold, "same_height_requests": same, "incremental_requests": incremental,
               "k_blocks": K_BLOCKS, "window": WINDOW, "baseline_requests": naive_window}),
    );

    // P5: throughput over the last 10,000 blocks.
    let before = requests();
    let job = bff
        .run_job("utils", "metrics/throughput", &json!({"chainId": CHAIN, "lastBlocks": THROUGHPUT_BLOCKS}))
        .await?;
    let throughput_requests = requests() - before;
    ensure!(job["status"] == "succeeded", "throughput job: {job}");
    let counted = job["result"]["txCount"].as_u64().unwrap_or_default();
    // The batch and the tx that funded its second signer.
    ensure!(
        counted == CONFIRM_TXS + 1,
        "throughput counted {counted} txs, {} were committed",
        CONFIRM_TXS + 1
    );
    let latest = node.latest_height();
    let before = requests();
    let urls = (latest - THROUGHPUT_BLOCKS..=latest).map(|h| format!("{rpc}/block?height={h}")).collect();
    let t = Instant::now();
    naive_gets(&bff.http, urls, has_block).await?;
    let naive_throughput = requests() - before;
    eprintln!("bench: P5 naive client took {:.1?}", t.elapsed());
    section.row(
        Row::new("P5", format!("throughput over {THROUGHPUT_BLOCKS} blocks (upstream requests)"))
            .figure(throughput_requests.to_string())
            .baseline(format!("{naive_throughput} (a `block` per height)"))
            .ratio(naive_throughput as f64 / throughput_requests as f64),
    );
    section.json(
        "p5",
        json!({"requests": throughput_requests, "baseline_requests": naive_throughput, "blocks": THROUGHPUT_BLOCKS}),
    );

    // P6: confirm-batch of the 10,000 committed txs, from the height before them.
    let before = requests();
    let job = bff
        .run_job(
            "utils",
            "observe/confirm-batch",
            &json!({"chainId": CHAIN, "txhashes": hashes, "fromHeight": from_height}),
        )
        .await?;
    let confirm_requests = requests() - before;
    ensure!(job["status"] == "succeeded", "confirm-batch: {}", job["error"]);
    let before = requests();
    let urls = hashes.iter().map(|h| format!("{rpc}/tx?hash=0x{h}")).collect();
    let t = Instant::now();
    naive_gets(&bff.http, urls, has_tx).await?;
    let polling = requests() - before;
    eprintln!("bench: P6 naive client took {:.1?}", t.elapsed());
    section.row(
        Row::new("P6", format!("confirm-batch of {CONFIRM_TXS} committed txs (upstream requests)"))
            .figure(confirm_requests.to_string())
            .baseline(format!("{polling} (`tx?hash=` per hash, one poll each)"))
            .ratio(polling as f64 / confirm_requests as f64),
    );
    section
        .json("p6", json!({"requests": confirm_requests, "baseline_requests": polling, "txs": CONFIRM_TXS}));
    eprintln!("bench: P4-P6 done");

    super::broadcast::run(&testbed, &bff, reps, section).await
}
