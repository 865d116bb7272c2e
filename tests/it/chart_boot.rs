//! The chart's boot on the testbed: chain pods are Ready while their entrypoint still fetches
//! genesis, and only then does the node serve. A start posted the moment the BFF is ready,
//! and a resume (which restarts every chain at once), wait for the chains' RPC instead of
//! failing on it, and say so in the job's log.

use crate::reconcile::{Harness, assert_succeeded};
use serde_json::{Value, json};
use std::time::Duration;

/// Long enough that the start's first look at the chains meets refused RPCs.
const BOOT: Duration = Duration::from_secs(4);

fn boot_harness_builder() -> testbed::TestbedBuilder {
    testbed::Testbed::builder().fdsc(1).block_interval(Some(Duration::from_millis(40))).boot_delay(BOOT)
}

fn says(log: &[Value], step: &str, text: &str) -> bool {
    log.iter().any(|l| l["step"] == step && l["message"].as_str().is_some_and(|m| m.contains(text)))
}

#[tokio::test]
async fn a_start_posted_as_soon_as_the_bff_is_ready_waits_for_the_chains_rpc_and_succeeds() {
    crate::testbed_only!("needs the testbed's boot delay");
    let h = Harness::with_builder(boot_harness_builder(), |_| {}).await;
    // The pods are Ready (the harness waited for that), and gwc's node does not serve yet.
    h.wait_relayer_in_cache().await;
    let (rpc, _, _) = h.env.testbed().control.node_ports("gwc").expect("gwc's NodePorts");
    let early = reqwest::get(format!("http://127.0.0.1:{rpc}/status")).await;
    assert!(early.is_err(), "gwc's node must still be booting when the start is posted: {early:?}");
    let job = h.run("/start", json!({})).await;
    assert_succeeded(&job);
    let log = h.log(&job).await;
    assert!(
        says(&log, "connectAll", "waiting for chains to serve")
            && says(&log, "connectAll", "RPC does not answer"),
        "the log shows the wait for the chains' RPC: {log:#?}"
    );
    assert!(says(&log, "connectAll", "chains serving"), "and its end: {log:#?}");
}

#[tokio::test]
async fn resume_restarts_every_chain_and_waits_for_them_before_linking() {
    crate::testbed_only!("needs the testbed's boot delay");
    let h = Harness::with_builder(boot_harness_builder(), |_| {}).await;
    h.wait_relayer_in_cache().await;
    assert_succeeded(&h.run("/start", json!({})).await);
    assert_succeeded(&h.run("/stop", json!({})).await);
    let resume = h.run("/resume", json!({})).await;
    assert_succeeded(&resume);
    let log = h.log(&resume).await;
    assert!(
        says(&log, "connectAll", "waiting for chains to serve"),
        "resume waited for the chains: {log:#?}"
    );
}

#[tokio::test]
async fn links_outlasting_the_exec_timeout_succeed_and_never_run_two_at_once() {
    crate::testbed_only!("needs 1 s blocks and the testbed's count of running links");
    // At 1 s blocks a link takes its handshake's ~13 blocks: far beyond a 5 s EXEC_TIMEOUT.
    let h = Harness::with_blocks(1, Duration::from_secs(1), |s| {
        s.timeouts.exec_timeout = Duration::from_secs(5);
        s.reconcile.ibc_ready_timeout = Duration::from_secs(60);
        s.reconcile.registration_timeout = Duration::from_secs(30);
    })
    .await;
    h.wait_relayer_in_cache().await;
    let job = h.run_within("/start", json!({"timeoutSeconds": 600}), Duration::from_secs(300)).await;
    assert_succeeded(&job);
    let log = h.log(&job).await;
    assert!(says(&log, "connectAll", "linked mdsc"), "both chains linked: {log:#?}");
    assert_eq!(h.env.testbed().control.most_concurrent_links(), 1, "one link at a time in the relayer pod");
}
