//! IBC health through the API (issue 19): `/system/ibc` sees a session's packets wait while
//! `rly` is down and a relayer restart drain them; an expired client fails waitIbcReady naming
//! the pair and the reason; a relayer that runs but relays nothing (paused, or losing an ack)
//! is degraded with what waits and for how many blocks. Driven as a user would: the start job,
//! upload sessions signed by local-admin in the gwc pod, `pkill` in the relayer pod.

use crate::reconcile::{Harness, assert_succeeded};
use crate::testbed_ibc::{await_state, session, upload};
use serde_json::{Value, json};
use std::time::Duration;

fn pair<'a>(ibc: &'a Value, chain: &str) -> &'a Value {
    ibc["data"]["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["chainId"] == chain)
        .unwrap_or_else(|| panic!("{chain}: {ibc}"))
}

fn backlog(ibc: &Value) -> u64 {
    ibc["data"]["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| ["gwcToChain", "chainToGwc"].map(|d| p[d].clone()))
        .map(|d| d["packets"]["count"].as_u64().unwrap() + d["acks"]["count"].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn ibc_health_shows_a_sessions_packets_waiting_while_rly_is_down_and_relaying_after_restart() {
    crate::testbed_only!("drives the testbed's relayer and chains");
    let h = Harness::with(2, |s| s.ibc.ibc_health_ttl = Duration::ZERO).await;
    h.wait_relayer_in_cache().await;
    assert_succeeded(&h.run("/start", json!({})).await);

    let (code, ibc) = h.bff.get("/api/v1/system/ibc").await;
    assert_eq!(code, 200);
    assert_eq!(ibc["data"]["verdict"], "relaying", "{ibc:#}");
    for chain in ["mdsc", "fdsc-0", "fdsc-1"] {
        let p = pair(&ibc, chain);
        assert_eq!(p["pathMatches"], true, "{p:#}");
        assert_eq!(p["gwc"]["clientStatus"], "Active");
        assert_eq!(p["counterparty"]["channelState"], "STATE_OPEN");
        assert_eq!(p["relayerPath"]["srcClientId"], p["gwc"]["clientId"]);
    }
    assert_eq!(ibc["data"]["relayer"]["running"], true);
    assert!(ibc["data"]["relayer"]["balances"].as_array().unwrap().len() >= 4, "{ibc:#}");

    let first = upload(&h.env, "site-a", 2).await;
    await_state(&h.env, &first, "SESSION_STATE_CLOSED_SUCCESS").await;

    h.relayer_sh("pkill -x rly").await;
    let second = upload(&h.env, "site-b", 1).await;
    let down = h
        .bff
        .until("/api/v1/system/ibc", "down with the manifest waiting for mdsc", |_, b| {
            b["data"]["verdict"] == "down" && pair(b, "mdsc")["gwcToChain"]["packets"]["count"] == 1
        })
        .await;
    let reasons = down["data"]["reasons"].to_string();
    assert!(reasons.contains("rly start is not running"), "{reasons}");
    assert_eq!(
        pair(&down, "mdsc")["gwcToChain"]["packets"]["oldestSequence"],
        2,
        "the second session's manifest is the 2nd packet to mdsc: {down:#}"
    );
    assert_eq!(session(&h.env, &second).await["state"], "SESSION_STATE_FINALIZING");
    let (_, status) = h.bff.get("/api/v1/system/status").await;
    assert_eq!(status["data"]["relayer"]["running"], false, "status reports the observed rly: {status:#}");

    assert_succeeded(&h.run("/relayer/restart", json!({})).await);
    await_state(&h.env, &second, "SESSION_STATE_CLOSED_SUCCESS").await;
    let healthy = h
        .bff
        .until("/api/v1/system/ibc", "relaying with nothing waiting", |_, b| {
            b["data"]["verdict"] == "relaying" && backlog(b) == 0
        })
        .await;
    assert_eq!(healthy["data"]["relayer"]["running"], true);
}

#[tokio::test]
async fn an_expired_client_fails_wait_ibc_ready_with_the_pair_and_the_reason() {
    crate::testbed_only!("expires a light client through the testbed's control handle");
    let h = Harness::with(1, |s| {
        s.reconcile.ibc_ready_timeout = Duration::from_secs(2);
        s.ibc.ibc_health_ttl = Duration::ZERO;
    })
    .await;
    h.wait_relayer_in_cache().await;
    assert_succeeded(&h.run("/start", json!({})).await);
    let (_, ibc) = h.bff.get("/api/v1/system/ibc").await;
    let client = pair(&ibc, "fdsc-0")["counterparty"]["clientId"].as_str().expect("client id").to_string();
    h.env.testbed().control.set_client_status(
        "fdsc-0",
        &client,
        testbed::chain::packets::ClientStatus::Expired,
    );

    let job = h.run("/start", json!({"steps": ["waitIbcReady"]})).await;
    assert_eq!(
        (job["status"].as_str(), job["error"]["code"].as_str()),
        (Some("failed"), Some("IBC_NOT_READY")),
        "{job:#}"
    );
    let not_relaying = job["error"]["details"]["notRelaying"].as_array().expect("per-pair reasons");
    assert_eq!(not_relaying.len(), 1, "{not_relaying:?}");
    assert_eq!(not_relaying[0]["chainPair"], "gwc<->fdsc-0");
    let reasons = not_relaying[0]["reasons"].to_string();
    assert!(reasons.contains(&format!("client {client} on fdsc-0 is Expired")), "{reasons}");
    let (_, ibc) = h.bff.get("/api/v1/system/ibc").await;
    assert_eq!(ibc["data"]["verdict"], "down");
}

/// Relaying stops while `rly start` keeps running (a stuck relayer, not a dead one): the pair
/// turns degraded, not down, once the manifest waits past the stall bound, naming its
/// sequence and age in blocks; when relaying resumes it drains. An acknowledgement the relayer
/// loses is reported the same way, as acks waiting on the chain that wrote them.
#[tokio::test]
async fn a_stuck_relayer_is_degraded_with_the_stalled_packet_and_a_lost_ack_is_reported() {
    crate::testbed_only!("pauses relaying and drops acks through the testbed's control handle");
    let h = Harness::with(1, |s| {
        s.ibc.ibc_health_ttl = Duration::ZERO;
        s.ibc.ibc_stall_blocks = 5;
    })
    .await;
    h.wait_relayer_in_cache().await;
    assert_succeeded(&h.run("/start", json!({})).await);
    let control = h.env.testbed().control.clone();

    control.pause_relaying(true);
    let stuck = upload(&h.env, "site-a", 1).await;
    let degraded = h
        .bff
        .until("/api/v1/system/ibc", "degraded by the manifest waiting for mdsc", |_, b| {
            b["data"]["verdict"] == "degraded"
                && pair(b, "mdsc")["gwcToChain"]["packets"]["oldestPendingBlocks"].as_u64() > Some(5)
        })
        .await;
    assert_eq!(degraded["data"]["relayer"]["running"], true, "rly runs, it just relays nothing");
    let mdsc = pair(&degraded, "mdsc");
    assert_eq!(mdsc["verdict"], "degraded", "{mdsc:#}");
    assert_eq!(mdsc["gwcToChain"]["packets"]["count"], 1);
    let reasons = mdsc["reasons"].to_string();
    assert!(
        reasons.contains("1 packets gwc->mdsc unrelayed, the oldest (sequence 1) pending for")
            && reasons.contains("(bound 5)"),
        "{reasons}"
    );
    assert!(!reasons.contains("not running"), "a stuck relayer is not reported as a dead one: {reasons}");
    assert_eq!(session(&h.env, &stuck).await["state"], "SESSION_STATE_FINALIZING");

    control.pause_relaying(false);
    await_state(&h.env, &stuck, "SESSION_STATE_CLOSED_SUCCESS").await;
    h.bff
        .until("/api/v1/system/ibc", "relaying with nothing waiting", |_, b| {
            b["data"]["verdict"] == "relaying" && backlog(b) == 0
        })
        .await;

    control.drop_next_acks(1);
    upload(&h.env, "site-b", 1).await;
    let lost = h
        .bff
        .until("/api/v1/system/ibc", "degraded by the lost ack", |_, b| {
            b["data"]["verdict"] == "degraded" && backlog(b) == 1
        })
        .await;
    let acks: Vec<&Value> = lost["data"]["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| [&p["gwcToChain"]["acks"], &p["chainToGwc"]["acks"]])
        .filter(|a| a["count"] == 1)
        .collect();
    assert_eq!(acks.len(), 1, "the one lost ack, and no packet, is what waits: {lost:#}");
    assert!(
        acks[0]["oldestPendingBlocks"].as_u64() >= Some(5),
        "degraded once it waited the bound: {lost:#}"
    );
    assert!(lost["data"]["reasons"].to_string().contains("1 acks gwc->"), "{lost:#}");
}

/// Light clients as the chains keep them: relaying a session moves mdsc's client of gwc to a
/// newer gwc header; `rly start` refreshes a client past two thirds of its trusting period with
/// no packet at all; a stuck relayer lets one run down — degraded with the time left and what to
/// run, then down once it expires, and resuming relaying cannot revive it.
#[tokio::test]
async fn client_trusting_periods_are_reported_refreshed_by_rly_and_an_expiring_client_is_named() {
    crate::testbed_only!(
        "shortens trusting periods and pauses relaying through the testbed's control handle"
    );
    let h = Harness::with(1, |s| s.ibc.ibc_health_ttl = Duration::ZERO).await;
    h.wait_relayer_in_cache().await;
    assert_succeeded(&h.run("/start", json!({})).await);
    let control = h.env.testbed().control.clone();
    let client_height = |ibc: &Value, chain: &str| {
        pair(ibc, chain)["counterparty"]["clientLatestHeight"].as_u64().expect("a client height")
    };

    let (_, ibc) = h.bff.get("/api/v1/system/ibc").await;
    let mdsc = pair(&ibc, "mdsc")["counterparty"].clone();
    let left = mdsc["trustingPeriodLeftSeconds"].as_u64().expect("time left");
    assert!((1_540_800 - 600..=1_540_800).contains(&left), "a fresh client (rly's 17 d 20 h): {mdsc:#}");
    assert!(mdsc["consensusTimestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{mdsc:#}");
    let before = client_height(&ibc, "mdsc");
    let session = upload(&h.env, "site-a", 1).await;
    await_state(&h.env, &session, "SESSION_STATE_CLOSED_SUCCESS").await;
    let (_, ibc) = h.bff.get("/api/v1/system/ibc").await;
    assert!(client_height(&ibc, "mdsc") > before, "relaying updated mdsc's client of gwc: {ibc:#}");

    // No packets: rly refreshes fdsc-0's client of gwc once 2/3 of a 6 s period has passed.
    let fdsc_client = pair(&ibc, "fdsc-0")["counterparty"]["clientId"].as_str().unwrap().to_string();
    let idle = client_height(&ibc, "fdsc-0");
    control.set_client_trusting_period("fdsc-0", &fdsc_client, Duration::from_secs(6));
    let refreshed = h
        .bff
        .until("/api/v1/system/ibc", "rly refreshing fdsc-0's client", |_, b| {
            client_height(b, "fdsc-0") > idle
        })
        .await;
    assert_eq!(pair(&refreshed, "fdsc-0")["counterparty"]["clientStatus"], "Active", "{refreshed:#}");
    control.set_client_trusting_period("fdsc-0", &fdsc_client, Duration::from_secs(1_540_800));

    // A stuck relayer: mdsc's client runs down, is named, then expires for good.
    let mdsc_client = mdsc["clientId"].as_str().unwrap().to_string();
    control.pause_relaying(true);
    // 12 s: the "expires in" window (under a third left) lasts 4 s, room for a slow observation.
    control.set_client_trusting_period("mdsc", &mdsc_client, Duration::from_secs(12));
    let expiring = h
        .bff
        .until("/api/v1/system/ibc", "mdsc's client expiring", |_, b| {
            pair(b, "mdsc")["reasons"].to_string().contains("expires in")
        })
        .await;
    let reasons = pair(&expiring, "mdsc")["reasons"].to_string();
    assert!(
        reasons.contains(&format!("client {mdsc_client} on mdsc expires in"))
            && reasons.contains("rly transact update-clients path-gwc-mdsc-gw"),
        "{reasons}"
    );
    assert!(pair(&expiring, "mdsc")["counterparty"]["trustingPeriodLeftSeconds"].as_u64() < Some(4));
    let expired = h
        .bff
        .until("/api/v1/system/ibc", "mdsc's client expired", |_, b| pair(b, "mdsc")["verdict"] == "down")
        .await;
    assert!(
        expired["data"]["reasons"].to_string().contains(&format!("client {mdsc_client} on mdsc is Expired")),
        "{expired:#}"
    );
    control.pause_relaying(false);
    let at = client_height(&expired, "mdsc");
    let gwc = control.chain("gwc").unwrap();
    let mut heights = gwc.subscribe_heights();
    for _ in 0..5 {
        heights.changed().await.expect("gwc makes blocks");
    }
    let (_, after) = h.bff.get("/api/v1/system/ibc").await;
    assert_eq!(client_height(&after, "mdsc"), at, "an expired client takes no update");
    assert_eq!(after["data"]["verdict"], "down");
    let (_, log, _) = h.env.kubectl(&["logs", "-n", &h.env.ns(), &h.env.relayer()], None).await;
    assert!(
        log.lines().any(|l| l.contains("Error updating client") && l.contains(&mdsc_client)),
        "rly says the update was refused: {log}"
    );
    let (_, metrics) = h.bff.get_text("/metrics").await;
    assert!(metrics.contains("ibc_client_trusting_period_left_seconds{"), "{metrics}");
}
