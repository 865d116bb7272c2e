//! `POST /utils/experiments/upload`: the upload experiment through the BFF, on a started
//! testbed with 2 data chains. The checks are the chain's and the gateway's own: sessions
//! closed, renders equal to the input, fragments acknowledged, data directories grown by at
//! least the input, and the evidence naming every pod's image. The owner's key is made in
//! the BFF and never appears: the job's record, log and CSV carry addresses only.

use crate::reconcile::{Harness, assert_succeeded};
use serde_json::{Value, json};

/// Follows the job's log to its end (the SSE stream closes when the job does), then reads it.
async fn finished(h: &Harness, id: &str) -> Value {
    let url = format!("{}/api/v1/utils/jobs/{id}/logs?follow=true", h.bff.url);
    let followed = reqwest::get(url).await.unwrap().text();
    tokio::time::timeout(std::time::Duration::from_secs(600), followed).await.expect("the job ends").unwrap();
    h.bff.get(&format!("/api/v1/utils/jobs/{id}")).await.1["data"].clone()
}

#[tokio::test]
async fn an_upload_experiment_closes_every_session_renders_the_input_and_attaches_its_evidence() {
    crate::testbed_only!("starts the testbed's chains and relayer through the BFF, then reads their pods");
    let h = Harness::with_blocks(2, std::time::Duration::from_millis(100), |_| {}).await;
    h.wait_relayer_in_cache().await;
    assert_succeeded(&h.run("/start", json!({})).await);

    let body = json!({"files": {"count": 3, "sizeBytes": 350_000, "seed": 7}, "fragmentBytes": 260_096,
        "fdscCount": 0, "repetitions": 2, "projectName": "exam1-s1"});
    let (code, answer) = h.bff.post("/api/v1/utils/experiments/upload", &body).await;
    assert_eq!(code, 202, "{answer}");
    let id = answer["jobId"].as_str().unwrap().to_string();
    let job = finished(&h, &id).await;
    assert_eq!(job["status"], "succeeded", "{job:#}");
    let steps: Vec<&str> =
        job["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(steps, ["fund", "round-1", "round-2", "evidence"]);

    let result = &job["result"];
    let sessions = result["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let input = 3 * 350_000;
    for s in sessions {
        assert_eq!(s["state"], "SESSION_STATE_CLOSED_SUCCESS", "{s:#}");
        assert_eq!(s["renderEqual"], true, "{s:#}");
        for phase in ["prepMs", "clientUploadMs", "deployMs", "fetchMs"] {
            assert!(s["phases"][phase].as_f64().unwrap() > 0.0, "{phase}: {s:#}");
        }
        // 2 fragments per file of 350,000 bytes at 254 KiB, and the manifest.
        assert_eq!(s["packets"]["sent"], 7, "{s:#}");
        assert_eq!(s["packets"]["acked"], s["packets"]["sent"], "{s:#}");
        let fdsc: i64 = ["fdsc-0", "fdsc-1"].iter().map(|c| s["diskGrowthBytes"][*c].as_i64().unwrap()).sum();
        assert!(fdsc >= input, "the data chains grew by at least the input: {fdsc} < {input}");
        let (init, close) = (s["initHeight"].as_u64().unwrap(), s["closeHeight"].as_u64().unwrap());
        assert!(close > init && s["initToCloseSeconds"].as_f64().unwrap() > 0.0, "{s:#}");
        // Packets from the chains' events agree with gwc's own counters, each timed per hop.
        let p = &s["packets"];
        assert_eq!((&p["counters"]["sent"], &p["pending"]), (&p["sent"], &json!(0)), "{p:#}");
        assert_eq!(p["fragments"], json!({"sent": 6, "acked": 6}), "{p:#}");
        let items = p["items"].as_array().unwrap();
        assert_eq!(items.len(), 7, "{p:#}");
        for item in items {
            let t = |k: &str| item[k].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
            assert!(t("sendTime") <= t("recvTime") && t("recvTime") <= t("ackTime"), "{item}");
        }
        assert_eq!(p["hops"]["sendToAck"]["seconds"]["count"], 7, "{p:#}");
        // The close is the manifest's ack, inside the heights polling saw it change between.
        assert_eq!(s["closeHeight"], p["manifest"]["ackHeight"], "{s:#}");
        assert_eq!(s["closeCommitTime"], p["manifest"]["ackTime"], "{s:#}");
        let polled = s["closePolledBetween"].as_array().unwrap();
        assert!(polled[0].as_u64().unwrap() < close && close <= polled[1].as_u64().unwrap(), "{s:#}");
    }
    // Per phase across repetitions.
    assert_eq!(result["summary"]["deployMs"]["count"], 2);

    // The evidence names every pod's image, each chain's versions and the request.
    let evidence = &result["evidence"];
    let (_, status) = h.bff.get("/api/v1/system/status").await;
    let pods = status["data"]["pods"].as_array().unwrap();
    for pod in pods {
        let name = pod["name"].as_str().unwrap();
        let listed = evidence["pods"].as_array().unwrap().iter().find(|p| p["name"] == name);
        assert!(listed.is_some_and(|p| p["image"].is_string()), "{name} and its image in {evidence:#}");
    }
    assert_eq!(evidence["chains"].as_array().unwrap().len(), 4);
    assert_eq!(evidence["request"]["repetitions"], 2);
    assert!(evidence["gatewayParams"]["max_fragment_bytes"].is_string(), "{evidence:#}");
    let block_time = &evidence["blockTime"]["stats"];
    assert!(block_time["min"].as_f64().unwrap() > 0.0, "block times are positive: {block_time}");

    // The CSV: a header and one row per session, the exam scripts' fields among the columns.
    let csv = reqwest::get(format!("{}/api/v1/utils/jobs/{id}/result.csv", h.bff.url)).await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.lines().next().unwrap().starts_with("sid,projectName,"), "{csv}");

    // The owners' addresses appear, their keys never: no 64-hex secret beside what we know.
    let (_, log) = h.bff.get(&format!("/api/v1/utils/jobs/{id}/logs?format=json")).await;
    let record = format!("{job}{log}{csv}");
    for owner in result["funding"].as_array().unwrap() {
        assert!(record.contains(owner["owner"].as_str().unwrap()));
    }
    assert!(!record.contains("mnemonic"), "{record}");

    // The same from a terminal: `ctl upload` follows the job and prints each session.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cryptomeria-bff"))
        .args(["ctl", "--api", &h.bff.url, "upload", "--files", "2", "--size-bytes", "100000"])
        .kill_on_drop(true)
        .output();
    let out =
        tokio::time::timeout(std::time::Duration::from_secs(300), out).await.expect("ctl ends").unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("SESSION_STATE_CLOSED_SUCCESS · prep ") && stdout.contains("render equal true"),
        "{stdout}"
    );
    assert!(stdout.contains("/result.csv"), "{stdout}");
}
