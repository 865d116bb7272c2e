//! Links with a gwc signer per path (`--link-signers per-path`): every link to be made runs at
//! once in its own rly home, signing on gwc with its own key whose fees the relayer account
//! pays through a fee grant. The end state must be the shared signer's: one OPEN gateway
//! channel per chain, the main home's paths carrying the chains' ids, storage registered,
//! `rly start` relaying (sessions close), and a second start only observes.

use crate::reconcile::{Harness, assert_succeeded, step};
use crate::testbed_ibc::{await_state, upload};
use bff::reconcile::LinkSigners;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const CLOSED: &str = "SESSION_STATE_CLOSED_SUCCESS";

/// Per storage chain, the gwc heights of the first and last `rly transact link` tx that names
/// it, and whether every one of them had the relayer pay its fee through a grant.
fn gwc_link_txs(h: &Harness) -> BTreeMap<String, (u64, u64, bool)> {
    let control = &h.env.testbed().control;
    let gwc = control.chain("gwc").expect("gwc");
    let relayer = gwc.genesis_key("relayer").address;
    let mut spans: BTreeMap<String, (u64, u64, bool)> = BTreeMap::new();
    for height in 1..=gwc.latest_height() {
        let Some(block) = gwc.block(height) else { continue };
        for bytes in &block.txs {
            let Ok(tx) = testbed::chain::tx_codec::decode_tx(bytes) else { continue };
            let Some(rest) = tx.body.memo.strip_prefix("rly transact link ") else { continue };
            let Some((ends, _)) = rest.split_once(": ") else { continue };
            let Some((_, other)) = ends.split_once(" <> ") else { continue };
            let granted = tx.auth_info.fee.as_ref().is_some_and(|f| f.granter == relayer);
            let e = spans.entry(other.to_string()).or_insert((height, height, true));
            e.1 = height;
            e.2 &= granted;
        }
    }
    spans
}

#[tokio::test]
async fn with_a_gwc_signer_per_path_links_run_side_by_side_and_reach_the_shared_signers_end_state() {
    crate::testbed_only!("reads who signed the handshake txs from the testbed's gwc blocks");
    // Nine links: their homes' setup outgrows one exec's script and runs in several.
    let h = Harness::with(8, |s| s.reconcile.link_signers = LinkSigners::PerPath).await;
    let job = h.run("/start", json!({})).await;
    assert_succeeded(&job);
    h.assert_end_state();
    let connect = step(&job, "connectAll");
    let message = connect["message"].as_str().unwrap_or_default();
    assert_eq!(message.matches("own gwc signer").count(), 9, "{connect}");
    let log: Vec<String> = h.log(&job).await.iter().map(Value::to_string).collect();
    assert!(log.iter().any(|l| l.contains("rly commands in link homes (batched) (2/")), "{log:#?}");

    // Each link was signed by its own key with the relayer paying, and they overlapped.
    let spans = gwc_link_txs(&h);
    assert_eq!(spans.len(), 9, "{spans:?}");
    assert!(spans.values().all(|s| s.2), "every gwc handshake tx fee-granted by the relayer: {spans:?}");
    let latest_start = spans.values().map(|s| s.0).max().unwrap();
    let earliest_end = spans.values().map(|s| s.1).min().unwrap();
    assert!(latest_start <= earliest_end, "the links ran side by side: {spans:?}");
    let planned = h.planned(&job).await;
    let grants =
        planned.iter().filter(|c| c.contains("configure feegrant basicallowance gwc relayer")).count();
    assert_eq!(grants, 9, "{planned:#?}");

    // The main home's paths carry the ids the chains record, so `rly start` relays them.
    let control = &h.env.testbed().control;
    let gwc = control.chain("gwc").expect("gwc");
    let relayer = control.pod(&h.env.relayer()).expect("relayer pod");
    let shown = relayer.runtime.exec_collect(&["rly", "config", "show", "--json"], b"").await;
    let config: Value = serde_json::from_slice(&shown.stdout).expect("rly config show --json");
    for chain in h.storage_ids() {
        let ch = gwc.channels().into_iter().find(|c| c.counterparty_chain_id == chain).expect("channel");
        let path = &config["paths"][bff::chart::path_name(&chain)]["src"];
        assert_eq!(path["client-id"], json!(ch.client_id), "{chain}: {config}");
        assert_eq!(path["connection-id"], json!(ch.connection_id), "{chain}: {config}");
    }
    let id = upload(&h.env, "per-path", 2).await;
    await_state(&h.env, &id, CLOSED).await;

    // A second start links nothing and touches no link home.
    let fingerprint = h.fingerprint();
    let warm = h.run("/start", json!({})).await;
    assert_succeeded(&warm);
    assert!(h.planned(&warm).await.is_empty(), "{:#?}", h.planned(&warm).await);
    assert_eq!(step(&warm, "connectAll")["status"], "skipped");
    assert_eq!(h.fingerprint(), fingerprint, "a warm start mutates nothing");
}
