//! Packet truth (issue 31): the packets job accounts every packet gwc's gateway channels sent
//! in a range exactly as the chains' own `block_results` events show them, times each hop in
//! order, and reports the packets a killed relayer left pending with their ages. Driven as a
//! user would: the start job, upload sessions through the real client flow, `pkill` in the
//! relayer pod.

use crate::common::{Bff, WAIT};
use crate::reconcile::{Harness, assert_succeeded};
use crate::testbed_ibc::{await_state, upload};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Submits a utils job and returns its finished view.
pub(crate) async fn packets_job(bff: &Bff, body: Value) -> Value {
    let (code, answer) = bff.post("/api/v1/utils/observe/packets", &body).await;
    assert_eq!(code, 202, "{answer}");
    let id = answer["jobId"].as_str().expect("jobId").to_string();
    let done = bff
        .until(&format!("/api/v1/utils/jobs/{id}"), "a finished packets job", |s, b| {
            s == 200 && ["succeeded", "failed"].contains(&b["data"]["status"].as_str().unwrap_or(""))
        })
        .await;
    assert_eq!(done["data"]["status"], "succeeded", "{done:#}");
    done["data"]["result"].clone()
}

fn attr<'a>(e: &'a Value, key: &str) -> Option<&'a str> {
    e["attributes"].as_array()?.iter().find(|a| a["key"] == key).and_then(|a| a["value"].as_str())
}

/// `(src_channel, sequence)` of every `kind` event with the gateway as source port in the
/// successful txs of `chain`'s blocks `from ..= to`, read straight from its RPC.
async fn events(h: &Harness, chain: &str, kind: &str, from: u64, to: u64) -> BTreeSet<(String, u64)> {
    event_heights(h, chain, kind, from, to).await.into_keys().collect()
}

/// The same events, each with the height of its block.
async fn event_heights(
    h: &Harness,
    chain: &str,
    kind: &str,
    from: u64,
    to: u64,
) -> BTreeMap<(String, u64), u64> {
    let (rpc, _, _) = h.env.testbed().control.node_ports(chain).unwrap();
    let mut out = BTreeMap::new();
    for height in from..=to {
        let url = format!("http://127.0.0.1:{rpc}/block_results?height={height}");
        let body: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        for tx in body["result"]["txs_results"].as_array().into_iter().flatten() {
            if tx["code"].as_u64().unwrap_or(0) != 0 {
                continue;
            }
            for e in tx["events"].as_array().into_iter().flatten().filter(|e| e["type"] == kind) {
                if attr(e, "packet_src_port") == Some("gateway") {
                    let seq = attr(e, "packet_sequence").unwrap().parse().unwrap();
                    out.insert((attr(e, "packet_src_channel").unwrap().to_string(), seq), height);
                }
            }
        }
    }
    out
}

fn gwc_height(h: &Harness) -> u64 {
    h.env.testbed().control.chain("gwc").unwrap().latest_height()
}

fn time(v: &Value) -> Option<jiff::Timestamp> {
    v.as_str().map(|t| t.parse().unwrap_or_else(|e| panic!("{t}: {e}")))
}

/// Waits on gwc's blocks until no packet gwc sent is still unacknowledged.
async fn settled(h: &Harness) {
    let gwc = h.env.testbed().control.chain("gwc").unwrap();
    let mut heights = gwc.subscribe_heights();
    tokio::time::timeout(WAIT, async {
        while !gwc.read_state(|l| l.packets().commitments.is_empty()) {
            heights.changed().await.expect("gwc produces blocks");
        }
    })
    .await
    .expect("every packet is acknowledged");
}

#[tokio::test]
async fn the_packet_job_accounts_exactly_the_chains_events_and_a_killed_relayer_leaves_them_pending() {
    crate::testbed_only!("drives the testbed's chains and relayer");
    let h = Harness::with(2, |s| s.ibc.ibc_health_ttl = Duration::ZERO).await;
    h.wait_relayer_in_cache().await;
    assert_succeeded(&h.run("/start", json!({})).await);

    let from = gwc_height(&h) + 1;
    for (site, n) in [("site-a", 2), ("site-b", 3)] {
        let id = upload(&h.env, site, n).await;
        await_state(&h.env, &id, "SESSION_STATE_CLOSED_SUCCESS").await;
    }
    settled(&h).await;
    let to = gwc_height(&h);
    let report = packets_job(&h.bff, json!({"fromHeight": from, "toHeight": to})).await;

    // Counted independently from gwc's block_results: every send of the range, and its ack.
    let sent = events(&h, "gwc", "send_packet", from, to).await;
    let acked = events(&h, "gwc", "acknowledge_packet", from, gwc_height(&h)).await;
    assert_eq!(sent.len(), 2 + 3 + 2, "5 fragments and 2 manifests: {report:#}");
    let listed: BTreeSet<(String, u64)> = report["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["srcChannel"].as_str().unwrap().to_string(), p["sequence"].as_u64().unwrap()))
        .collect();
    assert_eq!(listed, sent, "the job lists exactly the sends the chain shows");
    let a = &report["accounting"];
    assert_eq!(a["sent"], sent.len(), "{a}");
    assert_eq!(a["acked"], sent.intersection(&acked).count(), "{a}");
    assert_eq!((a["timedOut"].as_u64(), a["pending"].as_u64()), (Some(0), Some(0)), "{a}");
    let chains: BTreeSet<&str> =
        report["packets"].as_array().unwrap().iter().map(|p| p["chainId"].as_str().unwrap()).collect();
    assert_eq!(chains, BTreeSet::from(["fdsc-0", "fdsc-1", "mdsc"]), "both fdsc and mdsc carry packets");

    for p in report["packets"].as_array().unwrap() {
        let (send, recv, ack) = (time(&p["sendTime"]), time(&p["recvTime"]), time(&p["ackTime"]));
        let (send, recv, ack) = (send.expect("sendTime"), recv.expect("recvTime"), ack.expect("ackTime"));
        assert!(send <= recv && recv <= ack, "send <= recv <= ack in time: {p:#}");
        assert!(
            p["sendHeight"].as_u64() < p["ackHeight"].as_u64(),
            "the ack comes after the send on gwc: {p:#}"
        );
        assert!(
            p["relayer"].as_str().is_some_and(|r| r.starts_with("cosmos")),
            "delivered by rly's key: {p:#}"
        );
        assert_eq!(p["state"], "acked");
        assert_eq!(p["ageBlocks"], Value::Null);
    }
    for hop in ["sendToRecv", "recvToAck", "sendToAck"] {
        let s = &report["hops"][hop];
        assert_eq!(s["seconds"]["count"], sent.len(), "{hop}: {s}");
        assert!(s["seconds"]["min"].as_f64().unwrap() >= 0.0, "{hop}: {s}");
        assert!(s["blocks"]["p50"].as_f64().unwrap() >= 1.0, "{hop} takes at least a block: {s}");
    }
    assert_eq!(report["pairs"].as_array().unwrap().len(), 3, "{:#}", report["pairs"]);

    // A second MsgRecvPacket for a delivered packet is ibc-go's no-op: the tx succeeds and
    // receives nothing; the job names it as a redundant relay of that packet, by its signer.
    let delivered =
        report["packets"].as_array().unwrap().iter().find(|p| p["chainId"] == "fdsc-0").unwrap().clone();
    let extra = redundant_relay(&h, &delivered).await;
    let again =
        packets_job(&h.bff, json!({"fromHeight": from, "toHeight": gwc_height(&h), "chainId": "fdsc-0"}))
            .await;
    assert_eq!(again["redundantRelays"], 1, "{:#}", again["pairs"]);
    let p =
        again["packets"].as_array().unwrap().iter().find(|p| p["sequence"] == delivered["sequence"]).unwrap();
    assert_eq!(p["redundantRelays"][0]["relayer"], extra.as_str(), "{p:#}");
    assert_eq!(p["recvHeight"], delivered["recvHeight"], "the first receipt stands: {p:#}");
    assert_ne!(p["relayer"], extra.as_str(), "rly delivered it");
    assert!(again["packets"].as_array().unwrap().iter().all(|p| p["chainId"] == "fdsc-0"), "one pair only");

    // One session's packets only.
    let one = upload(&h.env, "site-c", 1).await;
    await_state(&h.env, &one, "SESSION_STATE_CLOSED_SUCCESS").await;
    settled(&h).await;
    let only =
        packets_job(&h.bff, json!({"fromHeight": from, "toHeight": gwc_height(&h), "sessionId": one})).await;
    assert_eq!(only["accounting"]["sent"], 2, "one fragment and the manifest: {only:#}");
    assert!(only["packets"].as_array().unwrap().iter().all(|p| p["sessionId"] == one.as_str()));

    // rly killed: the next session's packets stay pending, with their ages.
    h.relayer_sh("pkill -x rly").await;
    let from2 = gwc_height(&h) + 1;
    let stuck = upload(&h.env, "site-d", 2).await;
    // FINALIZING: the manifest, sent after the fragments, is on gwc too.
    await_state(&h.env, &stuck, "SESSION_STATE_FINALIZING").await;
    let to2 = gwc_height(&h);
    let pending = packets_job(&h.bff, json!({"fromHeight": from2, "toHeight": to2})).await;
    let a = &pending["accounting"];
    assert_eq!(
        (a["sent"].as_u64(), a["pending"].as_u64(), a["acked"].as_u64()),
        (Some(3), Some(3), Some(0)),
        "2 fragments and the manifest: {a}"
    );
    for p in pending["packets"].as_array().unwrap() {
        assert_eq!(p["sessionId"], stuck.as_str());
        assert_eq!(p["state"], "awaitingRecv", "{p:#}");
        assert_eq!((p["recvTime"].clone(), p["ackTime"].clone()), (Value::Null, Value::Null));
        assert!(p["ageBlocks"].as_u64().unwrap() >= 1, "{p:#}");
        assert!(p["ageSeconds"].as_f64().unwrap() >= 0.0, "{p:#}");
    }
}

#[tokio::test]
async fn bad_packet_requests_get_the_error_envelope() {
    crate::testbed_only!("reads the testbed's gwc");
    let h = Harness::new(1).await;
    for (body, code) in [
        (json!({"toHeight": 5}), 422),
        (json!({"fromHeight": 0, "toHeight": 5}), 422),
        (json!({"fromHeight": 9, "toHeight": 5}), 422),
        (json!({"fromHeight": 999_999_990, "toHeight": 999_999_999}), 422),
        (json!({"fromHeight": 1, "toHeight": 999_999_999}), 429),
        (json!({"fromHeight": 1, "toHeight": 2, "chainId": ""}), 422),
        (json!({"fromHeight": 1, "toHeight": 2, "bogus": 1}), 422),
        (json!({"fromHeight": 1, "toHeight": 2, "chainId": "nope"}), 404),
    ] {
        let (status, answer) = h.bff.post("/api/v1/utils/observe/packets", &body).await;
        assert_eq!(status, code, "{body}: {answer}");
        assert!(answer["error"]["code"].is_string(), "{answer}");
    }
}

fn pair<'a>(ibc: &'a Value, chain: &str) -> &'a Value {
    ibc["data"]["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["chainId"] == chain)
        .unwrap_or_else(|| panic!("{chain}: {ibc}"))
}

#[tokio::test]
async fn with_rly_killed_system_ibc_names_the_pending_packet_once_it_waited_three_blocks_of_its_send() {
    crate::testbed_only!("freezes gwc's blocks through the testbed's control handle");
    let h = Harness::with(1, |s| s.ibc.ibc_health_ttl = Duration::ZERO).await;
    h.wait_relayer_in_cache().await;
    assert_succeeded(&h.run("/start", json!({})).await);
    let control = h.env.testbed().control.clone();
    h.relayer_sh("pkill -x rly").await;
    let from = gwc_height(&h) + 1;
    let stuck = upload(&h.env, "site-a", 1).await;
    await_state(&h.env, &stuck, "SESSION_STATE_FINALIZING").await;
    control.set_block_interval("gwc", None);
    let mut height = gwc_height(&h);
    let sends = event_heights(&h, "gwc", "send_packet", from, height).await;
    // The manifest is the last packet sent, and the only one to mdsc.
    let (&(ref channel, sequence), &sent_at) = sends.iter().max_by_key(|(_, h)| **h).unwrap();
    let named = format!("the oldest (sequence {sequence}) pending for");
    loop {
        let (code, ibc) = h.bff.get("/api/v1/system/ibc").await;
        assert_eq!(code, 200);
        let mdsc = pair(&ibc, "mdsc");
        assert_ne!(mdsc["verdict"], "relaying", "{mdsc:#}");
        let waiting = &mdsc["gwcToChain"]["packets"];
        assert_eq!(
            waiting["oldestPendingBlocks"],
            height - sent_at,
            "aged from its send ({channel}): {waiting}"
        );
        assert_eq!(waiting["sequences"], json!([sequence]), "{waiting}");
        let reasons = mdsc["reasons"].to_string();
        if height - sent_at >= 3 {
            assert!(reasons.contains(&named) && reasons.contains("(bound 3)"), "{reasons}");
            assert!(reasons.contains(&format!("sequences [{sequence}]")), "{reasons}");
            break;
        }
        assert!(!reasons.contains(&named), "not stalled before 3 blocks: {reasons}");
        control.produce_blocks("gwc", 1);
        height += 1;
    }
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_cryptomeria-bff"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let flag = help.split("--ibc-stall-blocks").nth(1).expect("the stall bound is a serve flag");
    let flag = flag.split("\n      --").next().unwrap_or_default();
    assert!(flag.contains("IBC_STALL_BLOCKS") && flag.contains("[default: 3]"), "{flag}");
}

/// `count` of the hop histogram series of `pair` and `hop` in a `/metrics` text.
fn hop_count(metrics: &str, pair: &str, hop: &str) -> u64 {
    let series = format!("cryptomeria_bff_ibc_packet_hop_seconds_count{{pair=\"{pair}\",hop=\"{hop}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&series)).map_or(0, |n| n.trim().parse().unwrap())
}

#[tokio::test]
async fn the_continuous_reconcilers_observations_fill_each_pairs_hop_histograms() {
    crate::testbed_only!("drives the testbed's chains and relayer");
    let h = crate::controller::continuous(1, |_| {}).await;
    h.bff
        .until("/api/v1/system/reconciler", "a pass that brought the system up", |_, b| {
            b["data"]["inSync"] == true && b["data"]["health"] == "relaying"
        })
        .await;
    let id = upload(&h.env, "site-a", 2).await;
    await_state(&h.env, &id, "SESSION_STATE_CLOSED_SUCCESS").await;
    settled(&h).await;
    // No request observes IBC here: only the reconciler's passes (every 300 ms) read the chains.
    let metrics = tokio::time::timeout(WAIT, async {
        loop {
            let (_, text) = h.bff.get_text("/metrics").await;
            if hop_count(&text, "mdsc", "send_to_ack") >= 1 && hop_count(&text, "fdsc-0", "send_to_ack") >= 2
            {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the passes record the session's packets");
    for pair in ["mdsc", "fdsc-0"] {
        for hop in ["send_to_recv", "recv_to_ack", "send_to_ack"] {
            assert!(hop_count(&metrics, pair, hop) >= 1, "{pair} {hop}: {metrics}");
        }
    }
    assert!(metrics.contains("# TYPE cryptomeria_bff_ibc_packet_hop_seconds histogram"), "{metrics}");
}

/// Relays `packet` (a job result entry, already received) to its chain once more, signed by the
/// chain's local-admin; returns that signer.
async fn redundant_relay(h: &Harness, packet: &Value) -> String {
    use testbed::chain::coins::Coin;
    use testbed::chain::packets::{Height, MSG_RECV_PACKET, MsgRecvPacket, Packet, any_of};
    use testbed::chain::tx_codec::UnsignedTx;
    let chain = packet["chainId"].as_str().unwrap();
    let node = h.env.testbed().control.chain(chain).unwrap();
    let key = node.genesis_key("local-admin");
    let account = node.account(&key.address).unwrap();
    let text = |k: &str| packet[k].as_str().unwrap().to_string();
    let msg = MsgRecvPacket {
        packet: Some(Packet {
            sequence: packet["sequence"].as_u64().unwrap(),
            source_port: "gateway".into(),
            source_channel: text("srcChannel"),
            destination_port: text("dstPort"),
            destination_channel: text("dstChannel"),
            data: vec![1],
            timeout_height: Some(Height::default()),
            timeout_timestamp: 0,
        }),
        proof_commitment: vec![1],
        proof_height: Some(Height { revision_number: 0, revision_height: gwc_height(h) }),
        signer: key.address.clone(),
    };
    let tx = UnsignedTx::new(vec![any_of(MSG_RECV_PACKET, &msg)], Coin::uatom(1000), 300_000).sign(
        &key,
        chain,
        account.number,
        account.sequence,
    );
    let admitted = node.check_tx(&tx).expect("admitted");
    assert_eq!(admitted.result.code, 0, "{}", admitted.result.log);
    let included = node.wait_for_tx(&admitted.hash, WAIT).await.expect("committed");
    assert_eq!(included.result().code, 0, "a redundant relay succeeds: {}", included.result().log);
    let kinds: Vec<&str> = included.result().events.iter().map(|e| e.kind.as_str()).collect();
    assert!(!kinds.contains(&"recv_packet"), "and receives nothing: {kinds:?}");
    // The job reads gwc's range: let gwc pass the redundant relay's time.
    h.env.testbed().control.chain("gwc").unwrap().wait_for_height(gwc_height(h) + 2).await;
    key.address
}
