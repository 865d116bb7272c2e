//! Layer 3 `/api/v1/utils` against the testbed: txs pre-signed offline by CosmJS
//! (`tests/cosmjs/presign.mjs`), sent by broadcast-batch and confirmed by following blocks;
//! throughput checked against the testbed's own block list; the upstream request budget of
//! confirmation read from the testbed's per-chain counters; limits, cancel, a stalled chain,
//! and the resource snapshot. Blocks are produced on demand through the control handle.

use crate::common::{Bff, TestEnv, WAIT};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use testbed::Testbed;
use testbed::chain::ChainNode;

pub(crate) const CHAIN: &str = "gwc";
/// The testbed counter of REST broadcasts.
const BROADCAST_ROUTE: &str = "rest /cosmos/tx/v1beta1/txs";

pub(crate) async fn manual_env() -> TestEnv {
    TestEnv::ready_with(Testbed::builder().block_interval(None)).await
}

/// The BFF following blocks every 20 ms, with `adjust` applied to its settings.
pub(crate) async fn bff_with(env: &TestEnv, adjust: impl FnOnce(&mut bff::config::Settings)) -> Bff {
    let (bff, _) = Bff::start_with(
        &env.kubeconfig,
        |s| {
            s.jobs.poll_interval = Duration::from_millis(20);
            adjust(s);
        },
        |_| axum::Router::new(),
    )
    .await;
    bff.wait_readyz(200).await;
    bff
}

/// Submits a utils job (202) and returns its id.
pub(crate) async fn start_job(bff: &Bff, path: &str, body: &Value) -> String {
    let (code, answer) = bff.post(path, body).await;
    assert_eq!(code, 202, "{answer}");
    answer["jobId"].as_str().expect("jobId").to_string()
}

/// Waits until the job has finished; returns its view.
pub(crate) async fn finished(bff: &Bff, id: &str) -> Value {
    let body = bff
        .until(&format!("/api/v1/utils/jobs/{id}"), "a finished job", |s, b| {
            s == 200
                && ["succeeded", "failed", "canceled"].contains(&b["data"]["status"].as_str().unwrap_or(""))
        })
        .await;
    body["data"].clone()
}

pub(crate) fn node(env: &TestEnv) -> ChainNode {
    env.testbed().control.chain(CHAIN).expect("chain node")
}

/// Commits a block whenever a tx waits, until aborted; when that empties the mempool, one
/// more block, whose header time is the commit time of the txs just included.
fn blocks_on_demand(node: ChainNode) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            node.wait_for_mempool(|m| m.pending > 0).await;
            node.produce_blocks(1);
            if node.mempool_status().pending == 0 {
                node.produce_blocks(1);
            }
        }
    })
}

pub(crate) fn time_at(v: &Value) -> jiff::Timestamp {
    v.as_str().unwrap_or_else(|| panic!("a time, got {v}")).parse().expect("RFC 3339")
}

/// Every confirmed tx's latency runs from its submit to the commit time of its block H (the
/// header time of H+1 on the testbed's own chain), so none is negative — although the
/// including block's header time precedes the submit for some of them (BFT time).
fn assert_latencies_are_sound(chain: &ChainNode, confirmations: &[&Value]) -> usize {
    let mut header_before_submit = 0;
    for c in confirmations {
        let height = c["height"].as_u64().unwrap();
        let next = chain.block(height + 1).expect("the commit-time block exists");
        assert_eq!(time_at(&c["commitTime"]), next.header.time, "commit time = header time of H+1: {c}");
        assert_eq!(time_at(&c["headerTime"]), chain.block(height).unwrap().header.time, "{c}");
        let submitted = time_at(&c["submittedAt"]);
        let latency = c["latencySeconds"].as_f64().unwrap_or_else(|| panic!("a latency: {c}"));
        let expected = next.header.time.duration_since(submitted).as_secs_f64();
        assert!((latency - expected).abs() < 1e-6, "{latency} vs {expected}: {c}");
        assert!(latency >= 0.0, "a negative latency: {c}");
        assert!(c["observedLatencySeconds"].as_f64().unwrap() >= 0.0, "{c}");
        assert!(c.get("headerLatencySeconds").is_none(), "the header time is never a latency: {c}");
        if time_at(&c["headerTime"]) < submitted {
            header_before_submit += 1;
        }
    }
    header_before_submit
}

pub(crate) struct Presigned {
    pub(crate) txs: Vec<String>,
    pub(crate) hashes: Vec<String>,
}

/// `count` MsgSends from gwc's local-admin, signed offline by CosmJS with consecutive
/// sequences starting at the account's current one.
pub(crate) async fn presign(env: &TestEnv, count: usize) -> Presigned {
    let program = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cosmjs");
    assert!(
        program.join("node_modules/@cosmjs/proto-signing").exists(),
        "run `npm ci --prefix tests/cosmjs` (tests/run.sh does)"
    );
    let node = node(env);
    let admin = node.genesis_key("local-admin").address;
    let account = node.account(&admin).expect("local-admin exists");
    let run = tokio::process::Command::new("node")
        .arg(program.join("presign.mjs"))
        .env("MNEMONIC", testbed::mnemonics::test_mnemonic(CHAIN, "local-admin"))
        .env("CHAIN_ID", CHAIN)
        .env("ACCOUNT_NUMBER", account.number.to_string())
        .env("SEQUENCE", account.sequence.to_string())
        .env("COUNT", count.to_string())
        .env("RECIPIENT", node.genesis_key("relayer").address)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(WAIT * 2, run).await.expect("CosmJS finished in time").expect("node runs");
    assert!(out.status.success(), "presign failed: {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("presign prints JSON");
    let list = |k: &str| -> Vec<String> {
        report[k].as_array().expect(k).iter().map(|v| v.as_str().unwrap().to_string()).collect()
    };
    Presigned { txs: list("txs"), hashes: list("hashes") }
}

fn error_of(body: &Value) -> (&str, &Value) {
    (body["error"]["code"].as_str().unwrap_or_default(), &body["error"]["details"])
}

fn assert_ordered(stats: &Value, what: &str) {
    let f = |k: &str| stats[k].as_f64().unwrap_or_else(|| panic!("{what}.{k} missing: {stats}"));
    assert!(
        f("min") <= f("p50") && f("p50") <= f("p95") && f("p95") <= f("p99") && f("p99") <= f("max"),
        "{what}: {stats}"
    );
    assert!(f("mean") >= f("min") && f("mean") <= f("max"), "{what}: {stats}");
}

#[tokio::test]
async fn broadcast_batch_of_500_presigned_sends_is_accepted_confirmed_and_its_throughput_matches_the_blocks()
{
    let env = manual_env().await;
    let bff = bff_with(&env, |_| {}).await;
    let signed = presign(&env, 500).await;
    // A fresh block as the start mark, so the committed rate does not span the signing.
    node(&env).produce_blocks(1);
    let producer = blocks_on_demand(node(&env));

    let id = start_job(
        &bff,
        "/api/v1/utils/load/broadcast-batch",
        &json!({"chainId": CHAIN, "txBytes": signed.txs, "concurrency": 16, "mode": "sync"}),
    )
    .await;
    let job = finished(&bff, &id).await;
    producer.abort();
    assert_eq!(job["status"], "succeeded", "{}", job["error"]);
    let r = &job["result"];
    assert_eq!(
        (r["total"].as_u64(), r["accepted"].as_u64(), r["rejected"].as_u64()),
        (Some(500), Some(500), Some(0))
    );
    assert_eq!(r["confirmation"]["confirmed"], 500, "{}", r["confirmation"]);
    assert_eq!(r["confirmation"]["notConfirmed"], json!([]));
    assert_eq!(r["lanes"], 1, "one signer: one lane in sequence order");
    assert_ordered(&r["send"]["broadcastLatency"], "broadcastLatency");
    let latency = &r["confirmation"]["latency"];
    assert_ordered(&latency["commit"], "commit latency");
    assert_ordered(&latency["observed"], "observed latency");
    assert_eq!((latency["commit"]["count"].as_u64(), latency["excluded"].as_u64()), (Some(500), Some(0)));
    assert!(latency["commit"]["min"].as_f64().unwrap() >= 0.0, "{latency}");
    let confirmations: Vec<&Value> =
        r["txs"].as_array().unwrap().iter().map(|t| &t["confirmation"]).collect();
    let early = assert_latencies_are_sound(&node(&env), &confirmations);
    // Blocks on demand are produced when a tx waits, so every including header predates it.
    assert!(early > 0, "BFT time: some including header times precede the submit");
    assert!(r["send"]["sendTps"].as_f64().unwrap() > 0.0);
    assert!(r["confirmation"]["committed"]["committedTps"].as_f64().unwrap() > 0.0, "{}", r["confirmation"]);
    let txs = r["txs"].as_array().unwrap();
    for (tx, hash) in txs.iter().zip(&signed.hashes) {
        assert_eq!(&tx["txhash"], hash);
        assert_eq!(tx["confirmation"]["code"], 0, "{tx}");
    }
    // txBytes are in neither the stored request nor anything else the job shows.
    assert_eq!(job["request"]["txCount"], 500);
    let shown = job.to_string();
    assert!(!shown.contains(&signed.txs[0][..60]), "txBytes leaked into the job view");
    let (_, list) = bff.get("/api/v1/utils/jobs?type=utils.load.broadcast-batch").await;
    assert_eq!(list["data"]["items"][0]["jobId"], id.as_str());

    // Throughput over the blocks that included them, against the testbed's own blocks.
    let heights: Vec<u64> = txs.iter().map(|t| t["confirmation"]["height"].as_u64().unwrap()).collect();
    let (first, last) = (*heights.iter().min().unwrap(), *heights.iter().max().unwrap());
    let id = start_job(
        &bff,
        "/api/v1/utils/metrics/throughput",
        &json!({"chainId": CHAIN, "fromHeight": first - 1, "toHeight": last}),
    )
    .await;
    let job = finished(&bff, &id).await;
    assert_eq!(job["status"], "succeeded", "{}", job["error"]);
    let t = &job["result"];
    let chain = node(&env);
    let block = |h: u64| chain.block(h).expect("block exists");
    let tx_count: usize = (first..=last).map(|h| block(h).txs.len()).sum();
    let duration = block(last).header.time.duration_since(block(first - 1).header.time).as_secs_f64();
    assert_eq!(tx_count, 500);
    assert_eq!(t["txCount"], tx_count);
    assert_eq!(t["txCountInclusive"], tx_count + block(first - 1).txs.len());
    assert_eq!(t["includedBlocks"], last - first + 1);
    assert!((t["durationSeconds"].as_f64().unwrap() - duration).abs() < 1e-9, "{t}");
    let tps = tx_count as f64 / duration;
    assert!((t["tps"].as_f64().unwrap() - tps).abs() <= tps * 1e-9, "{} vs {tps}", t["tps"]);
    assert!(t["fencepost"].as_str().unwrap().contains("start mark"));
    assert!(t["longestGap"]["seconds"].as_f64().unwrap() > 0.0, "{t}");
    println!(
        "broadcast-batch 500 txs: send {:.1} tx/s, committed {:.1} tx/s, broadcast p50 {:.4}s p95 {:.4}s, commit latency p50 {:.4}s, observed p50 {:.4}s ({early} including headers before the submit); throughput {tps:.1} tx/s over {} blocks",
        r["send"]["sendTps"].as_f64().unwrap(),
        r["confirmation"]["committed"]["committedTps"].as_f64().unwrap(),
        r["send"]["broadcastLatency"]["p50"].as_f64().unwrap(),
        r["send"]["broadcastLatency"]["p95"].as_f64().unwrap(),
        r["confirmation"]["latency"]["commit"]["p50"].as_f64().unwrap(),
        r["confirmation"]["latency"]["observed"]["p50"].as_f64().unwrap(),
        last - first + 1,
    );
}

#[tokio::test]
async fn confirm_batch_of_2000_hashes_costs_requests_per_block_not_per_hash() {
    crate::testbed_only!("drives blocks and counts upstream requests through the testbed");
    let env = manual_env().await;
    let bff = bff_with(&env, |_| {}).await;
    let signed = presign(&env, 2000).await;
    let chain = node(&env);
    let from = chain.latest_height() + 1;
    // Ten blocks of 200 txs, each followed by an empty block: 20 blocks spanned.
    for chunk in signed.txs.chunks(200) {
        for tx in chunk {
            let outcome = chain.check_tx(&BASE64.decode(tx).unwrap()).expect("admitted");
            assert_eq!(outcome.result.code, 0, "{}", outcome.result.log);
        }
        chain.produce_blocks(2);
    }
    let spanned = chain.latest_height() - from + 1;
    let before: u64 = env.testbed().control.chain_request_counts(CHAIN).values().sum();

    let id = start_job(
        &bff,
        "/api/v1/utils/observe/confirm-batch",
        &json!({"chainId": CHAIN, "txhashes": signed.hashes, "fromHeight": from, "timeoutSeconds": 60}),
    )
    .await;
    let job = finished(&bff, &id).await;
    assert_eq!(job["status"], "succeeded", "{}", job["error"]);
    let counts = env.testbed().control.chain_request_counts(CHAIN);
    let used = counts.values().sum::<u64>() - before;
    let r = &job["result"];
    assert_eq!((r["confirmed"].as_u64(), r["notConfirmed"].clone()), (Some(2000), json!([])));
    assert_eq!(r["watchEnded"], "allConfirmed");
    assert_eq!(r["watch"]["blocksSpanned"], spanned);
    // Admission asks the chain's status (is fromHeight in the future?) unless its memo is fresh;
    // the job counts everything else.
    let admission = used - r["upstreamCalls"]["total"].as_u64().unwrap();
    assert!(admission <= 1, "the job counts what the chain served, besides admission's status: {counts:?}");
    // status + a blockchain page per 19 blocks (+1 to see the end) + block and block_results
    // per block holding txs: bounded by the blocks, three orders below the hashes.
    assert!(used <= 2 * spanned + 4, "{used} requests for {spanned} blocks: {counts:?}");
    assert_eq!(r["upstreamCalls"]["txLookups"], 0, "no straggler: no per-hash lookup");
    assert!(!counts.contains_key("rpc tx") && !counts.contains_key("rest /cosmos/tx/v1beta1/txs/{hash}"));
    // No submittedAt: no latency for any tx (never one from the watch's start), reasons given.
    assert!(r.get("submitClock").is_none(), "{}", r["latency"]);
    assert_eq!(
        (r["latency"]["commit"].clone(), r["latency"]["excluded"].as_u64()),
        (Value::Null, Some(2000))
    );
    let (reason, count) = r["latency"]["excludedByReason"].as_object().unwrap().iter().next().unwrap();
    assert!(reason.contains("submittedAt") && count == 2000, "{}", r["latency"]);
    for tx in r["txs"].as_array().unwrap() {
        let c = &tx["tx"];
        assert!(c["latencySeconds"].is_null() && c["latencyUnavailable"] == reason.as_str(), "{c}");
        assert!(c["commitTime"].is_string(), "the commit time is known all the same: {c}");
    }
    println!("confirm-batch 2000 hashes over {spanned} blocks: {used} upstream requests ({counts:?})");
}

#[tokio::test]
async fn tx_confirmation_waits_for_the_next_header_and_measures_latency_to_it() {
    crate::testbed_only!("drives blocks and counts upstream requests through the testbed");
    let env = manual_env().await;
    let bff = bff_with(&env, |_| {}).await;
    let signed = presign(&env, 1).await;
    let submitted = jiff::Timestamp::now();
    let id = start_job(
        &bff,
        "/api/v1/utils/observe/tx-confirmation",
        &json!({
            "chainId": CHAIN,
            "txhash": signed.hashes[0].to_lowercase(),
            "submittedAt": submitted.to_string(),
            "timeoutSeconds": 30,
        }),
    )
    .await;
    bff.until(&format!("/api/v1/utils/jobs/{id}"), "a running watch", |_, b| {
        b["data"]["status"] == "running"
    })
    .await;
    let chain = node(&env);
    chain.check_tx(&BASE64.decode(&signed.txs[0]).unwrap()).expect("admitted");
    let height = chain.produce_blocks(1)[0];
    // Included, but its commit time is the next header's: the watch waits for it.
    bff.until(&format!("/api/v1/utils/jobs/{id}"), "the tx seen in its block", |_, b| {
        b["data"]["steps"][0]["message"].as_str().unwrap_or("").contains("1 confirmed")
    })
    .await;
    let (_, view) = bff.get(&format!("/api/v1/utils/jobs/{id}")).await;
    assert_eq!(view["data"]["status"], "running", "still waiting for block {}", height + 1);
    chain.produce_blocks(1);
    let job = finished(&bff, &id).await;
    assert_eq!(job["status"], "succeeded", "{}", job["error"]);
    let r = &job["result"];
    assert_eq!(
        (r["confirmed"].as_bool(), r["height"].as_u64(), r["code"].as_i64()),
        (Some(true), Some(height), Some(0))
    );
    assert_eq!(r["txhash"], signed.hashes[0].as_str(), "hashes are shown uppercase");
    let commit = chain.block(height + 1).unwrap().header.time;
    assert_eq!(time_at(&r["confirmationTime"]), commit, "confirmed when block {} says so", height + 1);
    assert_eq!(time_at(&r["headerTime"]), chain.block(height).unwrap().header.time);
    let latency = r["latency"]["seconds"].as_f64().expect("a latency");
    assert!((latency - commit.duration_since(submitted).as_secs_f64()).abs() < 1e-6, "{r}");
    assert!(latency >= 0.0 && r["latency"]["observedSeconds"].as_f64().unwrap() >= 0.0, "{r}");
    assert_latencies_are_sound(&chain, &[&r["tx"]]);
}

#[tokio::test]
async fn a_tx_whose_next_block_never_comes_is_confirmed_without_a_latency() {
    crate::testbed_only!("drives blocks through the testbed");
    let env = manual_env().await;
    let bff = bff_with(&env, |_| {}).await;
    let signed = presign(&env, 1).await;
    let chain = node(&env);
    chain.check_tx(&BASE64.decode(&signed.txs[0]).unwrap()).expect("admitted");
    let height = chain.produce_blocks(1)[0];
    let id = start_job(
        &bff,
        "/api/v1/utils/observe/tx-confirmation",
        &json!({
            "chainId": CHAIN,
            "txhash": signed.hashes[0],
            "submittedAt": jiff::Timestamp::now().to_string(),
            "fromHeight": height,
            "stallTimeoutSeconds": 0.5,
        }),
    )
    .await;
    let job = finished(&bff, &id).await;
    assert_eq!(job["status"], "succeeded", "included is confirmed: {}", job["error"]);
    let r = &job["result"];
    assert_eq!((r["watchEnded"].as_str(), r["height"].as_u64()), (Some("commitUnseen"), Some(height)));
    assert!(r["confirmationTime"].is_null() && r["latency"]["seconds"].is_null(), "{r}");
    let why = r["latency"]["unavailable"].as_str().unwrap();
    assert!(why.contains(&format!("block {}", height + 1)), "{why}");
}

#[tokio::test]
async fn each_limit_answers_429_with_its_name_and_value_and_bad_input_is_422() {
    crate::testbed_only!("drives blocks and counts upstream requests through the testbed");
    let env = manual_env().await;
    let bff = bff_with(&env, |s| {
        s.jobs.max_batch_size = 3;
        s.jobs.max_concurrency = 2;
        s.jobs.max_throughput_window = 5;
        s.jobs.max_timeout_seconds = 10;
        s.jobs.max_running_jobs = 1;
    })
    .await;
    let hash = "AB".repeat(32);
    let cases = [
        (
            "/api/v1/utils/load/broadcast-batch",
            json!({"chainId": CHAIN, "txBytes": ["a", "b", "c", "d"]}),
            "maxBatchSize",
            3,
        ),
        (
            "/api/v1/utils/load/broadcast-batch",
            json!({"chainId": CHAIN, "txBytes": ["a"], "concurrency": 3}),
            "maxConcurrency",
            2,
        ),
        (
            "/api/v1/utils/observe/confirm-batch",
            json!({"chainId": CHAIN, "txhashes": [hash, hash, hash, hash]}),
            "maxBatchSize",
            3,
        ),
        (
            "/api/v1/utils/metrics/throughput",
            json!({"chainId": CHAIN, "lastBlocks": 6}),
            "maxThroughputWindow",
            5,
        ),
        (
            "/api/v1/utils/metrics/throughput",
            json!({"chainId": CHAIN, "fromHeight": 1, "toHeight": 7}),
            "maxThroughputWindow",
            5,
        ),
        (
            "/api/v1/utils/observe/tx-confirmation",
            json!({"chainId": CHAIN, "txhash": hash, "timeoutSeconds": 11}),
            "maxTimeoutSeconds",
            10,
        ),
    ];
    for (path, body, name, value) in cases {
        let (code, answer) = bff.post(path, &body).await;
        assert_eq!((code, error_of(&answer).0), (429, "LIMIT_EXCEEDED"), "{path} {answer}");
        assert_eq!(error_of(&answer).1["limit"], name, "{answer}");
        assert_eq!(error_of(&answer).1["value"], value, "{answer}");
    }
    // A watch that never ends holds the one running slot: the next job is refused.
    let waiting = start_job(
        &bff,
        "/api/v1/utils/observe/tx-confirmation",
        &json!({"chainId": CHAIN, "txhash": hash, "timeoutSeconds": 10}),
    )
    .await;
    let (code, answer) = bff.post("/api/v1/utils/snapshot/resource", &json!({})).await;
    assert_eq!((code, error_of(&answer).1["limit"].as_str()), (429, Some("maxRunningJobs")), "{answer}");
    let (code, _) = bff.post(&format!("/api/v1/utils/jobs/{waiting}/cancel"), &json!({})).await;
    assert_eq!(code, 200);

    env.testbed().control.produce_blocks(CHAIN, 3);
    let bad = [
        (
            json!({"chainId": CHAIN, "txBytes": ["bm90IGEgdHg="]}),
            "/api/v1/utils/load/broadcast-batch",
            422,
            "INVALID_TX_BYTES",
        ),
        (
            json!({"chainId": CHAIN, "txhashes": ["xyz"]}),
            "/api/v1/utils/observe/confirm-batch",
            422,
            "VALIDATION_ERROR",
        ),
        (
            json!({"chainId": CHAIN, "fromHeight": 2, "toHeight": 6}),
            "/api/v1/utils/metrics/throughput",
            422,
            "INVALID_HEIGHT",
        ),
        (
            json!({"chainId": CHAIN, "fromHeight": 3, "toHeight": 3}),
            "/api/v1/utils/metrics/throughput",
            422,
            "INVALID_HEIGHT",
        ),
        (
            json!({"chainId": CHAIN, "fromHeight": 2}),
            "/api/v1/utils/metrics/throughput",
            422,
            "VALIDATION_ERROR",
        ),
        (
            json!({"chainId": "nope", "lastBlocks": 2}),
            "/api/v1/utils/metrics/throughput",
            404,
            "CHAIN_NOT_FOUND",
        ),
        (json!({"txhash": hash}), "/api/v1/utils/observe/tx-confirmation", 422, "VALIDATION_ERROR"),
    ];
    for (body, path, status, code) in bad {
        let (got, answer) = bff.post(path, &body).await;
        assert_eq!((got, error_of(&answer).0), (status, code), "{path} {body}: {answer}");
    }
    let (_, answer) = bff.post("/api/v1/utils/load/broadcast-batch", &bad_batch()).await;
    assert_eq!(error_of(&answer).1["index"], 0, "the offending tx is named: {answer}");
}

fn bad_batch() -> Value {
    json!({"chainId": CHAIN, "txBytes": ["bm90IGEgdHg="]})
}

#[tokio::test]
async fn cancel_stops_a_running_batch_and_no_further_tx_is_sent() {
    crate::testbed_only!("drives blocks and counts upstream requests through the testbed");
    let env = manual_env().await;
    let bff = bff_with(&env, |_| {}).await;
    let signed = presign(&env, 200).await;
    let producer = blocks_on_demand(node(&env));
    let id = start_job(
        &bff,
        "/api/v1/utils/load/broadcast-batch",
        &json!({"chainId": CHAIN, "txBytes": signed.txs, "concurrency": 4, "ratePerSecond": 40}),
    )
    .await;
    let chain = node(&env);
    tokio::time::timeout(WAIT, chain.wait_for_mempool(|m| m.accepted_total >= 5))
        .await
        .expect("sending started");
    let (code, answer) = bff.post(&format!("/api/v1/utils/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!((code, answer["status"].as_str()), (200, Some("canceled")), "{answer}");
    let job = finished(&bff, &id).await;
    assert_eq!(job["status"], "canceled");
    let sent =
        || env.testbed().control.chain_request_counts(CHAIN).get(BROADCAST_ROUTE).copied().unwrap_or(0);
    let at_cancel = sent();
    // Proving an absence needs a window: 20 send slots at 40 tx/s.
    tokio::time::sleep(Duration::from_millis(500)).await;
    producer.abort();
    assert_eq!(sent(), at_cancel, "no tx was sent after the cancel");
    assert!(at_cancel < 200, "the batch was cut short: {at_cancel} sent");
}

#[tokio::test]
async fn a_batch_stops_early_with_chain_stalled_when_blocks_stop() {
    crate::testbed_only!("drives blocks and counts upstream requests through the testbed");
    let env = manual_env().await;
    let bff = bff_with(&env, |_| {}).await;
    let signed = presign(&env, 40).await;
    let id = start_job(
        &bff,
        "/api/v1/utils/load/broadcast-batch",
        &json!({"chainId": CHAIN, "txBytes": signed.txs, "ratePerSecond": 20, "stallTimeoutSeconds": 0.5}),
    )
    .await;
    let job = finished(&bff, &id).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["code"], "CHAIN_STALLED", "{}", job["error"]);
    let r = &job["result"];
    assert_eq!(r["watchEnded"], "chainStalled");
    assert!(r["accepted"].as_u64().unwrap() >= 1 && r["notSent"].as_u64().unwrap() >= 1, "{r}");
    assert_eq!(r["confirmation"]["confirmed"], 0);
}

/// Every object's keys are in sorted order, at every depth.
fn keys_sorted(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.keys().zip(m.keys().skip(1)).all(|(a, b)| a < b) && m.values().all(keys_sorted),
        Value::Array(items) => items.iter().all(keys_sorted),
        _ => true,
    }
}

#[tokio::test]
async fn the_snapshot_has_every_section_and_two_runs_diff_only_in_time_and_jobs() {
    crate::testbed_only!("drives blocks and counts upstream requests through the testbed");
    let env = manual_env().await;
    let bff = bff_with(&env, |_| {}).await;
    let mut snapshots = Vec::new();
    for _ in 0..2 {
        let id = start_job(&bff, "/api/v1/utils/snapshot/resource", &json!({})).await;
        let job = finished(&bff, &id).await;
        assert_eq!(job["status"], "succeeded", "{}", job["error"]);
        snapshots.push(job["result"].clone());
    }
    let s = &snapshots[0];
    for section in ["takenAt", "system", "chains", "ports", "relayer", "ibc", "jobs"] {
        assert!(s.get(section).is_some(), "{section} missing: {s}");
    }
    assert!(keys_sorted(s), "keys are sorted at every depth");
    let ids: Vec<&str> =
        s["chains"].as_array().unwrap().iter().map(|c| c["chainId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["gwc", "mdsc", "fdsc-0", "fdsc-1"]);
    assert!(s["chains"][0]["latestHeight"].is_u64(), "{}", s["chains"]);
    assert!(s["ports"]["chains"].as_array().unwrap().len() == 4, "{}", s["ports"]);
    assert_eq!(s["relayer"]["process"]["rlyStartRunning"], false, "{}", s["relayer"]);
    assert!(s["relayer"]["pod"]["pod"].is_string());
    assert!(s["ibc"].is_array());
    assert_eq!(snapshots[1]["jobs"][0]["job"]["status"], "running", "the second run lists itself");
    let stable = |v: &Value| {
        let mut v = v.clone();
        let o = v.as_object_mut().unwrap();
        o.remove("takenAt");
        o.remove("jobs");
        o["system"].as_object_mut().unwrap().remove("timestamp");
        serde_json::to_string_pretty(&v).unwrap()
    };
    assert_eq!(stable(&snapshots[0]), stable(&snapshots[1]), "nothing changed: the records diff clean");
}
