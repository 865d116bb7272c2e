//! The measurement findings of the adversarial review, each reproduced through the HTTP API
//! on the testbed: a client's clock never gives a negative or absurd latency, send figures
//! time the sending only, job times keep milliseconds and order with the log, the observed
//! latency exists only for blocks committed after the watch began, and a step that never ran
//! after a cancel says so. Blocks are produced on demand; every wait is on a job state or a
//! logged line.

use crate::common::{Bff, TestEnv, WAIT};
use crate::utils::{CHAIN, bff_with, finished, manual_env, node, presign, start_job, time_at};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use std::time::Duration;

/// Waits (up to WAIT) until job `id`'s text log has a line containing `needle`.
async fn until_logged(bff: &Bff, scope: &str, id: &str, needle: &str) -> String {
    let path = format!("/api/v1/{scope}/jobs/{id}/logs");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, text) = bff.get_text(&path).await;
        if text.contains(needle) {
            return text;
        }
        assert!(tokio::time::Instant::now() < deadline, "job {id} never logged {needle:?}: {text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `count` presigned txs put in gwc's mempool and committed, with the block after them (their
/// commit time); returns the hashes and the first including height.
async fn committed_before_the_watch(env: &TestEnv, count: usize) -> (Vec<String>, u64, jiff::Timestamp) {
    let signed = presign(env, count).await;
    let chain = node(env);
    let sent = jiff::Timestamp::now();
    for tx in &signed.txs {
        let outcome = chain.check_tx(&BASE64.decode(tx).unwrap()).expect("admitted");
        assert_eq!(outcome.result.code, 0, "{}", outcome.result.log);
    }
    let height = chain.produce_blocks(2)[0];
    (signed.hashes, height, sent)
}

#[tokio::test]
async fn a_submit_time_after_the_commit_or_before_the_chain_never_gives_a_negative_or_absurd_latency() {
    crate::testbed_only!("drives blocks through the testbed");
    let env = manual_env().await;
    let bff = bff_with(&env, |_| {}).await;
    let (hashes, height, sent) = committed_before_the_watch(&env, 20).await;
    let commit = node(&env).block(height + 1).unwrap().header.time;

    // The review's case: 20 txs, submittedAt half a second after their commit time.
    let ahead = commit + jiff::SignedDuration::from_millis(532);
    let id = start_job(
        &bff,
        "/api/v1/utils/observe/confirm-batch",
        &json!({"chainId": CHAIN, "txhashes": hashes, "fromHeight": height, "submittedAt": ahead.to_string()}),
    )
    .await;
    let job = finished(&bff, &id).await;
    assert_eq!(job["status"], "succeeded", "{}", job["error"]);
    let r = &job["result"];
    assert_eq!(r["confirmed"], 20, "{r}");
    let latency = &r["latency"];
    assert_eq!(
        (latency["commit"].clone(), latency["excluded"].as_u64()),
        (Value::Null, Some(20)),
        "{latency}"
    );
    let reasons = latency["excludedByReason"].as_object().unwrap();
    assert_eq!(reasons.len(), 1, "{latency}");
    let (reason, n) = reasons.iter().next().unwrap();
    assert!(reason.contains("after the commit time") && n == 20, "{latency}");
    for tx in r["txs"].as_array().unwrap() {
        assert!(tx["tx"]["latencySeconds"].is_null(), "no negative latency: {tx}");
        assert_eq!(tx["tx"]["latencyUnavailable"], reason.as_str());
    }

    // One tx: a future submittedAt, the epoch, and an honest one.
    let single = |submitted: String| json!({"chainId": CHAIN, "txhash": hashes[0], "fromHeight": height, "submittedAt": submitted});
    let cases = [
        ((commit + jiff::SignedDuration::from_secs(8508)).to_string(), Some("after the commit time")),
        ("1970-01-01T00:00:00Z".to_string(), Some("earliest block")),
        (sent.to_string(), None),
    ];
    for (submitted, refused) in cases {
        let id = start_job(&bff, "/api/v1/utils/observe/tx-confirmation", &single(submitted.clone())).await;
        let job = finished(&bff, &id).await;
        assert_eq!(job["status"], "succeeded", "{}", job["error"]);
        let l = &job["result"]["latency"];
        match refused {
            Some(why) => {
                assert!(l["seconds"].is_null(), "submittedAt {submitted}: {l}");
                assert!(l["unavailable"].as_str().is_some_and(|u| u.contains(why)), "{submitted}: {l}");
            }
            None => {
                let seconds = l["seconds"].as_f64().unwrap_or_else(|| panic!("a latency: {l}"));
                let expected = commit.duration_since(time_at(&json!(submitted))).as_secs_f64();
                assert!(seconds >= 0.0 && (seconds - expected).abs() < 1e-3, "{seconds} vs {expected}: {l}");
            }
        }
        assert!(l["observedSeconds"].is_null(), "committed before the watch: {l}");
    }
}

#[tokio::test]
async fn send_figures_stop_at_the_last_broadcast_not_at_the_confirmation() {
    crate::testbed_only!("drives blocks through the testbed");
    let env = manual_env().await;
    let bff = bff_with(&env, |_| {}).await;
    let signed = presign(&env, 20).await;
    let chain = node(&env);
    chain.produce_blocks(1);
    let id = start_job(
        &bff,
        "/api/v1/utils/load/broadcast-batch",
        &json!({"chainId": CHAIN, "txBytes": signed.txs, "waitForConfirmation": true}),
    )
    .await;
    // Every tx answered; no block yet, so the watch is still waiting for them.
    until_logged(&bff, "utils", &id, "sending ended").await;
    let before_blocks = jiff::Timestamp::now();
    chain.produce_blocks(2);
    let job = finished(&bff, &id).await;
    assert_eq!(job["status"], "succeeded", "{}", job["error"]);
    let r = &job["result"];
    assert_eq!(
        (r["accepted"].as_u64(), r["confirmation"]["confirmed"].as_u64()),
        (Some(20), Some(20)),
        "{r}"
    );
    let send = &r["send"];
    let (started, ended) = (time_at(&send["startedAt"]), time_at(&send["endedAt"]));
    assert!(started <= ended && ended <= before_blocks, "sending ended before any block: {send}");
    let seconds = send["durationSeconds"].as_f64().unwrap();
    let window = before_blocks.duration_since(started).as_secs_f64();
    assert!(seconds <= window, "the send clock ran into the confirmation wait: {seconds} > {window}");
    let tps = send["sendTps"].as_f64().unwrap();
    assert!((tps - 20.0 / seconds).abs() <= tps * 1e-9, "{send}");
    for tx in r["txs"].as_array().unwrap() {
        assert!(ended <= time_at(&tx["confirmation"]["commitTime"]), "sent after its commit? {tx}");
    }
    let commit_min = r["confirmation"]["latency"]["commit"]["min"].as_f64().unwrap();
    assert!(commit_min >= 0.0, "{}", r["confirmation"]["latency"]);
    println!(
        "broadcast-batch 20 txs: sent in {seconds:.4}s ({tps:.0} tx/s), shortest commit latency {commit_min:.3}s"
    );
}

#[tokio::test]
async fn job_times_keep_milliseconds_and_the_job_is_created_before_its_first_log_line() {
    let env = manual_env().await;
    let bff = bff_with(&env, |_| {}).await;
    let id = start_job(&bff, "/api/v1/utils/snapshot/resource", &json!({})).await;
    let job = finished(&bff, &id).await;
    assert_eq!(job["status"], "succeeded", "{}", job["error"]);
    let millis = |v: &Value| {
        let t = v.as_str().unwrap_or_else(|| panic!("a time: {job}"));
        let fraction = t.rsplit_once('.').map(|(_, f)| f).unwrap_or_default();
        assert!(fraction.len() == 4 && fraction.ends_with('Z'), "RFC 3339 with milliseconds: {t}");
        time_at(v)
    };
    let (created, started, done) =
        (millis(&job["createdAt"]), millis(&job["startedAt"]), millis(&job["finishedAt"]));
    assert!(created <= started && started <= done, "{job}");
    for step in job["steps"].as_array().unwrap() {
        let (s, f) = (millis(&step["startedAt"]), millis(&step["finishedAt"]));
        assert!(started <= s && s <= f && f <= done, "{step}");
    }
    let (_, jsonl) = bff.get_text(&format!("/api/v1/utils/jobs/{id}/logs?format=jsonl")).await;
    let first: Value = serde_json::from_str(jsonl.lines().next().expect("a log line")).unwrap();
    assert!(created <= time_at(&first["time"]), "createdAt {created} after the first line {first}");
    let (_, text) = bff.get_text(&format!("/api/v1/utils/jobs/{id}/logs")).await;
    let stamp = text.lines().next().unwrap().split(']').next().unwrap().trim_start_matches('[');
    assert!(stamp.len() == "HH:MM:SS.mmmZ".len() && stamp.contains('.'), "text line time: {text}");
}

#[tokio::test]
async fn observed_latency_exists_only_for_a_tx_committed_after_the_watch_began() {
    crate::testbed_only!("drives blocks through the testbed");
    let env = manual_env().await;
    let bff = bff_with(&env, |_| {}).await;
    let (hashes, height, sent) = committed_before_the_watch(&env, 1).await;
    let submitted = sent.to_string();
    let id = start_job(
        &bff,
        "/api/v1/utils/observe/tx-confirmation",
        &json!({"chainId": CHAIN, "txhash": hashes[0], "fromHeight": height, "submittedAt": submitted}),
    )
    .await;
    let job = finished(&bff, &id).await;
    let old = &job["result"]["latency"];
    assert!(old["seconds"].as_f64().is_some_and(|s| s >= 0.0), "the commit latency is known: {old}");
    assert!(old["observedSeconds"].is_null(), "the watch's delay is no latency: {old}");
    assert!(
        old["observedUnavailable"].as_str().is_some_and(|u| u.contains("before the watch began")),
        "{old}"
    );

    // A tx the watch sees committed: the watch has begun (logged) before the tx is sent.
    let signed = presign(&env, 1).await;
    let submitted = jiff::Timestamp::now();
    let id = start_job(
        &bff,
        "/api/v1/utils/observe/tx-confirmation",
        &json!({"chainId": CHAIN, "txhash": signed.hashes[0], "submittedAt": submitted.to_string()}),
    )
    .await;
    until_logged(&bff, "utils", &id, "watching 1 hash(es)").await;
    let chain = node(&env);
    chain.check_tx(&BASE64.decode(&signed.txs[0]).unwrap()).expect("admitted");
    chain.produce_blocks(2);
    let job = finished(&bff, &id).await;
    assert_eq!(job["status"], "succeeded", "{}", job["error"]);
    let new = &job["result"]["latency"];
    assert!(new["observedSeconds"].as_f64().is_some_and(|s| s >= 0.0), "{new}");
    assert!(new["observedUnavailable"].is_null(), "{new}");
}

#[tokio::test]
async fn a_step_that_never_ran_after_a_cancel_is_skipped_saying_so() {
    crate::testbed_only!("holds gwc's blocks so a link stays in flight");
    let env = TestEnv::ready().await;
    // gwc makes no block: connect waits for its height to rise, so the start job stays running.
    env.testbed().control.set_block_interval("gwc", None);
    let bff = Bff::ready(&env.kubeconfig).await;
    let (code, accepted) = bff.post("/api/v1/system/start", &json!({})).await;
    assert_eq!(code, 202, "{accepted}");
    let id = accepted["jobId"].as_str().unwrap();
    let path = format!("/api/v1/system/jobs/{id}");
    bff.until(&path, "the start inside connectAll", |_, b| {
        b["data"]["steps"]
            .as_array()
            .is_some_and(|steps| steps.iter().any(|s| s["name"] == "connectAll" && s["status"] == "running"))
    })
    .await;
    let (code, answer) = bff.post(&format!("/api/v1/system/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!((code, answer["status"].as_str()), (200, Some("canceled")), "{answer}");
    let job = bff.until(&path, "canceled", |_, b| b["data"]["status"] == "canceled").await;
    let steps = job["data"]["steps"].as_array().unwrap();
    let at = steps.iter().position(|s| s["name"] == "connectAll").unwrap();
    let cut = &steps[at];
    assert_eq!(
        (cut["status"].as_str(), cut["message"].as_str()),
        (Some("canceled"), Some("canceled while running"))
    );
    assert!(cut["startedAt"].is_string() && cut["finishedAt"].is_string(), "{cut}");
    assert!(at + 1 < steps.len(), "a step after connectAll: {steps:?}");
    for never in &steps[at + 1..] {
        assert_eq!(never["status"], "skipped", "a step that never ran is not canceled: {never}");
        assert!(never["startedAt"].is_null() && never["finishedAt"].is_null(), "{never}");
        let message = never["message"].as_str().unwrap_or_default();
        assert!(message.contains("not run") && message.contains("canceled before"), "{never}");
    }
}
