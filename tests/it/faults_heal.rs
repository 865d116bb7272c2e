//! What the continuous reconciler heals on its own in the P11 faults, and what it only names
//! (issue 34): a killed `rly` is restarted on the `/system/ibc` read that sees it, not at the
//! resync; a client in the last third of its trusting period is updated with `rly transact
//! update-clients` while `rly start` is stuck; a drained wallet is named, account and chain,
//! and no pass acts on it.

use crate::controller::continuous;
use serde_json::Value;
use std::time::Duration;

/// Resync far beyond the test: a pass that acts was woken by a read.
const NO_RESYNC: Duration = Duration::from_secs(3600);

fn reconcile_jobs(jobs: &Value) -> usize {
    jobs["data"]["items"].as_array().unwrap().iter().filter(|j| j["type"] == "system.reconcile").count()
}

/// The succeeded `system.reconcile` job whose drift mentions `drift` (later in-sync passes
/// replace `lastPass`, the jobs stay), waited for job by job.
async fn pass_for(h: &crate::reconcile::Harness, what: &str, drift: &str) -> Value {
    let finished = |j: &&Value| {
        j["type"] == "system.reconcile"
            && matches!(j["status"].as_str(), Some("succeeded" | "failed" | "canceled"))
    };
    let mut checked = std::collections::BTreeSet::new();
    loop {
        let (_, jobs) = h.bff.get("/api/v1/system/jobs?limit=1000").await;
        let items = jobs["data"]["items"].as_array().cloned().unwrap_or_default();
        for id in items.iter().filter(finished).filter_map(|j| j["jobId"].as_str()) {
            if !checked.insert(id.to_string()) {
                continue;
            }
            let (_, job) = h.bff.get(&format!("/api/v1/system/jobs/{id}")).await;
            if job["data"]["status"] == "succeeded"
                && job["data"]["request"]["drift"].to_string().contains(drift)
            {
                return job["data"].clone();
            }
        }
        let seen = checked.len();
        h.bff
            .until("/api/v1/system/jobs?limit=1000", what, |_, b| {
                b["data"]["items"].as_array().is_some_and(|i| i.iter().filter(finished).count() > seen)
            })
            .await;
    }
}

/// gwc's end of the pair gwc<->fdsc-0 in a `/system/ibc` answer.
fn gwc_end(ibc: &Value) -> Value {
    let pairs = ibc["data"]["pairs"].as_array().expect("pairs");
    pairs.iter().find(|p| p["chainId"] == "fdsc-0").map(|p| p["gwc"].clone()).expect("the fdsc-0 pair")
}

#[tokio::test]
async fn a_killed_rly_is_restarted_on_the_read_that_sees_it_not_at_the_resync() {
    crate::testbed_only!("kills rly in the testbed's relayer pod");
    let h = continuous(1, |s| s.reconcile.reconcile_resync = NO_RESYNC).await;
    h.bff.until("/api/v1/system/reconciler", "the system up", |_, b| b["data"]["health"] == "relaying").await;
    h.relayer_sh("pkill -x rly").await;
    let seen = h
        .bff
        .until("/api/v1/system/ibc", "rly named not running", |_, b| {
            b["data"]["reasons"].to_string().contains("rly start is not running")
        })
        .await;
    assert_ne!(seen["data"]["verdict"], "relaying", "{seen:#}");
    let pass = pass_for(&h, "a pass that restarted rly", "rly start is not running").await;
    assert_eq!(pass["request"]["trigger"], "observation", "woken by the read: {pass:#}");
    h.bff
        .until("/api/v1/system/ibc", "rly running again", |_, b| b["data"]["relayer"]["running"] == true)
        .await;
}

#[tokio::test]
async fn a_client_in_the_last_third_of_its_trusting_period_is_updated_by_a_pass_that_says_so() {
    crate::testbed_only!("ages a light client and pauses rly through the testbed's control handle");
    let h = continuous(1, |s| s.reconcile.reconcile_resync = NO_RESYNC).await;
    // The startup pass over (its refreshClients would update the client too).
    h.bff.until("/api/v1/system/reconciler", "the system up", |_, b| b["data"]["inSync"] == true).await;
    let up = h
        .bff
        .until("/api/v1/system/ibc", "the system relaying", |_, b| b["data"]["verdict"] == "relaying")
        .await;
    let end = gwc_end(&up);
    let client = end["clientId"].as_str().expect("gwc's client").to_string();
    let period = end["trustingPeriodSeconds"].as_u64().expect("its trusting period");
    let control = &h.env.testbed().control;
    // rly is stuck (a running, relaying rly would update the client itself at two thirds).
    control.pause_relaying(true);
    control.age_client("gwc", &client, Duration::from_secs(period * 7 / 10));
    let warned = h
        .bff
        .until("/api/v1/system/ibc", "the client named as expiring", |_, b| {
            b["data"]["reasons"].to_string().contains(&format!("client {client} on gwc expires in"))
        })
        .await;
    assert_eq!(warned["data"]["verdict"], "degraded", "{warned:#}");
    let pass =
        pass_for(&h, "a pass that updated the client", &format!("client {client} on gwc expires in")).await;
    assert_eq!(pass["request"]["trigger"], "observation", "woken by the read: {pass:#}");
    let job = pass["jobId"].as_str().expect("the pass's job");
    let (_, log) = h.bff.get_text(&format!("/api/v1/system/jobs/{job}/logs?format=jsonl&tail=1000")).await;
    let ran: Vec<Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(
        ran.iter()
            .any(|l| l["cmd"] == "rly transact update-clients path-gwc-fdsc-0-gw" && l["outcome"] == "ok"),
        "{log}"
    );
    // The client took a new consensus state: a full trusting period left again.
    let (_, latest) = control.client("gwc", &client).and_then(|c| c.latest()).expect("the client");
    let age = jiff::Timestamp::now().duration_since(latest.time);
    assert!(age < jiff::SignedDuration::from_secs(60), "consensus state still {age:?} old");
    let fresh = h
        .bff
        .until("/api/v1/system/ibc", "no expiry warning", |_, b| {
            !b["data"]["reasons"].to_string().contains("expires in")
        })
        .await;
    let left = gwc_end(&fresh)["trustingPeriodLeftSeconds"].as_u64();
    assert!(left > Some(period * 2 / 3), "{left:?} of {period}s left: {fresh:#}");
    control.pause_relaying(false);
}

#[tokio::test]
async fn a_drained_wallet_is_named_account_and_chain_and_no_pass_acts_on_it() {
    crate::testbed_only!("drains the relayer's wallet through the testbed's control handle");
    let h = continuous(1, |s| s.reconcile.reconcile_resync = Duration::from_millis(200)).await;
    let up = h
        .bff
        .until("/api/v1/system/ibc", "the system relaying", |_, b| b["data"]["verdict"] == "relaying")
        .await;
    let address = up["data"]["relayer"]["balances"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["chainId"] == "gwc"))
        .and_then(|b| b["address"].as_str())
        .expect("the relayer's gwc address")
        .to_string();
    let (_, jobs) = h.bff.get("/api/v1/system/jobs").await;
    let before = reconcile_jobs(&jobs);
    let control = &h.env.testbed().control;
    let old = control.set_balance("gwc", &address, "uatom", 100).expect("gwc");
    let named = h
        .bff
        .until("/api/v1/system/ibc", "the wallet named", |_, b| {
            b["data"]["reasons"].to_string().contains(&format!("fund {address} on gwc"))
        })
        .await;
    assert_eq!(named["data"]["verdict"], "degraded", "{named:#}");
    // Passes see it and leave it to a human: the reconciler stays in sync, no job.
    let (_, seen) = h.bff.get("/api/v1/system/reconciler").await;
    let after = seen["data"]["passes"].as_u64().unwrap_or_default() + 2;
    let status = h
        .bff
        .until("/api/v1/system/reconciler", "two more passes", |_, b| {
            b["data"]["passes"].as_u64() >= Some(after)
        })
        .await;
    assert_eq!(
        (status["data"]["inSync"].clone(), status["data"]["health"].clone()),
        (true.into(), "degraded".into()),
        "{status:#}"
    );
    let (_, jobs) = h.bff.get("/api/v1/system/jobs").await;
    assert_eq!(reconcile_jobs(&jobs), before, "no pass acted on the wallet: {jobs:#}");
    control.set_balance("gwc", &address, "uatom", old);
    h.bff
        .until("/api/v1/system/ibc", "relaying once funded", |_, b| b["data"]["verdict"] == "relaying")
        .await;
}

#[tokio::test]
async fn a_relayer_pod_in_a_restart_loop_is_named_not_exec_d_into_and_rly_restarts_once_it_settles() {
    crate::testbed_only!("puts the testbed's relayer pod in a restart loop through the control handle");
    let h = continuous(1, |s| s.reconcile.reconcile_resync = NO_RESYNC).await;
    h.bff.until("/api/v1/system/reconciler", "the system up", |_, b| b["data"]["health"] == "relaying").await;
    let control = h.env.testbed().control.clone();
    let pod = control.relayer_pod().expect("relayer pod");
    assert!(control.crash_loop_pod(&pod, Duration::from_secs(4)));
    let named = h
        .bff
        .until("/api/v1/system/ibc", "the restart loop named", |_, b| {
            b["data"]["reasons"].to_string().contains("restarting in a loop (restartCount")
        })
        .await;
    assert_eq!(named["data"]["verdict"], "down", "{named:#}");
    assert!(named["data"]["relayer"]["restartLoop"].as_str().is_some_and(|r| r.contains(&pod)), "{named:#}");
    // From here until the loop is no longer named, nothing execs into the pod: every answer
    // that still names it was observed after the count read before it.
    let execs = h.execs();
    let mut answers = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let before = h.execs();
        let (_, ibc) = h.bff.get("/api/v1/system/ibc").await;
        if !ibc["data"]["reasons"].to_string().contains("restarting in a loop") {
            break;
        }
        answers += 1;
        assert_eq!(before, execs, "an exec into the pod while it restarts in a loop: {ibc:#}");
        assert!(tokio::time::Instant::now() < deadline, "the loop never settled: {ibc:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answers > 0, "the loop was seen after the count");
    let pass = pass_for(&h, "a pass that restarted rly", "rly start is not running").await;
    assert!(
        !pass["request"]["drift"].to_string().contains("restarting in a loop"),
        "acted once settled: {pass:#}"
    );
    // The passes while it looped waited and said why.
    let (_, metrics) = h.bff.get_text("/metrics").await;
    assert!(
        metrics.lines().any(|l| l.starts_with("cryptomeria_bff_reconcile_passes_total{outcome=\"waiting\"}")
            && !l.ends_with(" 0")),
        "{metrics}"
    );
    h.bff
        .until("/api/v1/system/ibc", "relaying again", |_, b| {
            b["data"]["verdict"] == "relaying" && b["data"]["relayer"]["running"] == true
        })
        .await;
}
