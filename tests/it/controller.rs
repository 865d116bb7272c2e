//! The reconcile jobs as a controller uses them (issue 20): a start posted while the release's
//! pods are still coming up waits for them, like `just start-system`'s `kubectl wait`, and ends
//! succeeded; a pod that never turns Ready ends the wait with TIMEOUT naming it.

use crate::reconcile::{Harness, assert_succeeded};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_start_posted_while_pods_are_not_ready_waits_for_them_and_succeeds() {
    crate::testbed_only!("holds pods not-ready through the testbed's control handle");
    let h = Harness::new(1).await;
    h.wait_relayer_in_cache().await;
    let control = &h.env.testbed().control;
    let relayer = h.env.relayer();
    control.hold_not_ready(&relayer);
    control.hold_not_ready("cryptomeria-fdsc-0-0");
    h.bff
        .until("/api/v1/system/status", "the relayer not Ready in the cache", |_, b| {
            b["data"]["relayer"]["podReady"] == false
        })
        .await;

    let (code, accepted) = h.post("/start", json!({})).await;
    assert_eq!(code, 202, "{accepted}");
    let id = accepted["jobId"].as_str().unwrap().to_string();
    // The job waits (and holds the system lock: a second start is a 409, not a fast failure).
    let log_url = format!("/api/v1/system/jobs/{id}/logs?format=jsonl&tail=1000");
    let waiting = h
        .bff
        .until(&log_url, "the job says what it waits for", |_, b| {
            b.to_string().contains("waiting for pods to be Ready")
        })
        .await
        .to_string();
    assert!(waiting.contains(&relayer) && waiting.contains("cryptomeria-fdsc-0-0"), "{waiting}");
    let (code, conflict) = h.post("/start", json!({})).await;
    assert_eq!((code, conflict["error"]["code"].as_str()), (409, Some("JOB_CONFLICT")), "{conflict}");

    control.release_not_ready(&relayer);
    control.release_not_ready("cryptomeria-fdsc-0-0");
    assert_succeeded(&h.finish(&id).await);
}

#[tokio::test]
async fn a_pod_that_never_turns_ready_ends_the_wait_with_timeout_naming_it() {
    crate::testbed_only!("holds a pod not-ready through the testbed's control handle");
    let h = Harness::with(1, |s| s.reconcile.pods_ready_timeout = Duration::from_millis(300)).await;
    h.wait_relayer_in_cache().await;
    h.env.testbed().control.hold_not_ready("cryptomeria-mdsc-0");
    h.bff
        .until("/api/v1/system/status", "mdsc not Ready in the cache", |_, b| {
            b["data"]["pods"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "cryptomeria-mdsc-0" && p["ready"] == false)
        })
        .await;
    let job = h.run("/start", json!({})).await;
    assert_eq!(
        (job["status"].as_str(), job["error"]["code"].as_str()),
        (Some("failed"), Some("TIMEOUT")),
        "{job:#}"
    );
    assert_eq!(job["error"]["details"]["notReady"], json!(["cryptomeria-mdsc-0 (Running, not Ready)"]));
}
