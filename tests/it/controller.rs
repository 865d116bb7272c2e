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

/// A harness whose BFF runs the continuous reconciler with short pacing.
pub(crate) async fn continuous(fdsc: usize, adjust: impl FnOnce(&mut bff::config::Settings)) -> Harness {
    Harness::with(fdsc, |s| {
        let r = &mut s.reconcile;
        r.reconcile_mode = bff::reconcile::controller::Mode::Continuous;
        r.reconcile_resync = Duration::from_millis(300);
        r.reconcile_debounce = Duration::from_millis(50);
        r.reconcile_backoff = Duration::from_millis(200);
        r.reconcile_backoff_cap = Duration::from_secs(1);
        s.ibc.ibc_health_ttl = Duration::ZERO;
        adjust(s);
    })
    .await
}

fn reconcile_jobs(jobs: &serde_json::Value) -> usize {
    jobs["data"]["items"].as_array().unwrap().iter().filter(|j| j["type"] == "system.reconcile").count()
}

#[tokio::test]
async fn continuous_mode_starts_a_fresh_release_with_no_post_and_restarts_a_killed_rly() {
    crate::testbed_only!("kills rly in the testbed's relayer pod");
    let h = continuous(1, |_| {}).await;
    let synced = h
        .bff
        .until("/api/v1/system/reconciler", "a pass that brought the system up", |_, b| {
            b["data"]["inSync"] == true && b["data"]["health"] == "relaying"
        })
        .await;
    assert_eq!(synced["data"]["mode"], "continuous");
    let (_, jobs) = h.bff.get("/api/v1/system/jobs").await;
    assert_eq!(reconcile_jobs(&jobs), 1, "one pass acted, the in-sync passes left no job: {jobs:#}");
    let (_, ibc) = h.bff.get("/api/v1/system/ibc").await;
    assert_eq!(ibc["data"]["verdict"], "relaying", "{ibc:#}");

    // rly dies: the next resync sees it and a pass starts it again, with no POST.
    h.relayer_sh("pkill -x rly").await;
    let healed = h
        .bff
        .until("/api/v1/system/reconciler", "a second pass that restarted rly", |_, b| {
            b["data"]["lastPass"]["outcome"] == "succeeded"
                && b["data"]["lastPass"]["drift"].to_string().contains("rly start is not running")
        })
        .await;
    assert!(healed["data"]["lastPass"]["jobId"].is_string(), "{healed:#}");
    h.bff
        .until("/api/v1/system/ibc", "rly running again", |_, b| b["data"]["relayer"]["running"] == true)
        .await;
    let (_, metrics) = h.bff.get_text("/metrics").await;
    assert!(
        metrics.lines().any(|l| l.starts_with("cryptomeria_bff_reconcile_passes_total{outcome=\"in_sync\"}")),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_new_fdsc_chain_is_linked_and_registered_with_no_post() {
    crate::testbed_only!("scales the testbed's data chains");
    let h = continuous(1, |_| {}).await;
    h.bff.until("/api/v1/system/reconciler", "the system up", |_, b| b["data"]["inSync"] == true).await;
    h.env.testbed().control.scale_fdsc(2).expect("scale to 2 data chains");
    let ibc = h
        .bff
        .until("/api/v1/system/ibc", "fdsc-1 relaying", |_, b| {
            b["data"]["pairs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["chainId"] == "fdsc-1" && p["verdict"] == "relaying")
        })
        .await;
    assert_eq!(ibc["data"]["pairs"].as_array().unwrap().len(), 3, "{ibc:#}");
    let (_, jobs) = h.bff.get("/api/v1/system/jobs").await;
    assert!(reconcile_jobs(&jobs) >= 2, "the new chain was linked by a pass: {jobs:#}");
}

#[tokio::test]
async fn a_failing_pass_backs_off_and_says_so() {
    crate::testbed_only!("holds the relayer not-ready through the testbed's control handle");
    let h = continuous(1, |s| s.reconcile.pods_ready_timeout = Duration::from_millis(100)).await;
    h.bff.until("/api/v1/system/reconciler", "the system up", |_, b| b["data"]["inSync"] == true).await;
    let relayer = h.env.relayer();
    // rly dies and its pod stops being Ready: each pass's start waits for the pod, times out,
    // and the loop backs off.
    h.relayer_sh("pkill -x rly").await;
    h.env.testbed().control.hold_not_ready(&relayer);
    let backing_off = h
        .bff
        .until("/api/v1/system/reconciler", "two failed passes in a row", |_, b| {
            b["data"]["consecutiveFailures"].as_u64().is_some_and(|f| f >= 2)
        })
        .await;
    assert!(backing_off["data"]["backoffSeconds"].as_f64().is_some_and(|b| b > 0.0), "{backing_off:#}");
    assert_eq!(backing_off["data"]["lastPass"]["outcome"], "failed");
    let (_, metrics) = h.bff.get_text("/metrics").await;
    let failed = metrics
        .lines()
        .find(|l| l.starts_with("cryptomeria_bff_reconcile_passes_total{outcome=\"failed\"}"))
        .expect("failed passes counted");
    assert!(!failed.ends_with(" 0"), "{failed}");
    // Once the pod is Ready the backoff's retry brings the system up.
    h.env.testbed().control.release_not_ready(&relayer);
    h.bff
        .until("/api/v1/system/reconciler", "in sync after the failures", |_, b| {
            b["data"]["inSync"] == true && b["data"]["consecutiveFailures"] == 0
        })
        .await;
}

#[tokio::test]
async fn continuous_mode_heals_a_recreated_relayer_pod_with_no_post_and_a_session_closes() {
    crate::testbed_only!("uploads sessions through the testbed's chains");
    let h = continuous(1, |_| {}).await;
    h.bff.until("/api/v1/system/reconciler", "the system up", |_, b| b["data"]["inSync"] == true).await;
    let old = h.env.relayer();
    let (code, _, err) = h.env.kubectl(&["delete", "pod", "-n", &h.env.ns(), &old], None).await;
    assert_eq!(code, 0, "{err}");
    h.wait_relayer_in_cache().await;
    let new = h.env.relayer();
    assert_ne!(new, old);
    // No POST: a pass sees the new pod's missing paths and rebuilds them from chain state.
    let healed = h
        .bff
        .until("/api/v1/system/ibc", "relaying through the new relayer pod", |_, b| {
            b["data"]["verdict"] == "relaying" && b["data"]["relayer"]["pod"] == new.as_str()
        })
        .await;
    assert!(
        healed["data"]["pairs"].as_array().unwrap().iter().all(|p| p["pathMatches"] == true),
        "{healed:#}"
    );
    let (_, jobs) = h.bff.get("/api/v1/system/jobs").await;
    assert!(reconcile_jobs(&jobs) >= 2, "a system.reconcile job healed it: {jobs:#}");
    let id = crate::testbed_ibc::upload(&h.env, "after-recreate", 1).await;
    crate::testbed_ibc::await_state(&h.env, &id, "SESSION_STATE_CLOSED_SUCCESS").await;
}

#[tokio::test]
async fn a_dry_run_start_lists_every_action_with_its_reason_and_changes_nothing() {
    crate::testbed_only!("compares the testbed's relayer state before and after");
    let h = Harness::new(1).await;
    h.wait_relayer_in_cache().await;
    let job = h.run("/start", json!({"dryRun": true})).await;
    assert_succeeded(&job);
    assert_eq!(job["request"]["dryRun"], true);
    let plan = job["result"]["plan"].as_array().expect("the plan").clone();
    let commands: Vec<&str> = plan.iter().map(|a| a["command"].as_str().unwrap()).collect();
    for want in [
        "rly config init",
        "rly chains add",
        "rly keys restore",
        "rly paths new",
        "rly transact link",
        "register-storage",
        "rly start",
    ] {
        assert!(commands.iter().any(|c| c.contains(want)), "{want} missing from {commands:#?}");
    }
    assert!(plan.iter().all(|a| a["reason"].as_str().is_some_and(|r| !r.is_empty())), "{plan:#?}");
    // Nothing changed: no rly process, no channel; the real start then does every action.
    assert!(!h.rly_running(), "a dry run starts nothing");
    let job = h.run("/start", json!({})).await;
    assert_succeeded(&job);
    let planned = h.planned(&job).await;
    assert_eq!(
        planned.len(),
        plan.len(),
        "the real start ran what the dry run listed: {planned:#?} vs {commands:#?}"
    );
}
