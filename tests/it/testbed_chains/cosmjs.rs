//! An independent client: the CosmJS program in `tests/cosmjs` (installed by `tests/run.sh`
//! with `npm ci`) talks to a testbed chain's RPC NodePort with the mnemonic mounted in the
//! chain pod, and the Rust side checks what it reports against the chain's own answers.

use super::{ChainEnv, sha256_hex};
use crate::common::WAIT;
use base64::Engine as _;
use serde_json::{Value, json};
use std::path::PathBuf;
use testbed::chain::ChainNode;
use testbed::chain::keys::TestKey;

/// Commits a block whenever a tx waits, so CosmJS's polling finds its tx without a timer.
async fn make_blocks_on_demand(node: ChainNode) {
    loop {
        node.wait_for_mempool(|m| m.pending > 0).await;
        node.produce_blocks(1);
    }
}

fn mounted_mnemonic(env: &ChainEnv, chain: &str, role: &str) -> String {
    let pod = env.testbed.control.pod(&format!("cryptomeria-{chain}-0")).expect("chain pod");
    let words = pod
        .runtime
        .fs()
        .read_file(&format!("/etc/mnemonics/{chain}.{role}.mnemonic"))
        .expect("mounted mnemonic");
    String::from_utf8(words).expect("utf-8").trim().to_string()
}

async fn balance(env: &ChainEnv, chain: &str, address: &str) -> u128 {
    let (_, body) =
        env.rest(chain, &format!("/cosmos/bank/v1beta1/balances/{address}/by_denom?denom=uatom")).await;
    body["balance"]["amount"].as_str().expect("amount").parse().expect("number")
}

#[tokio::test]
async fn cosmjs_sends_and_gets_the_codes_a_cosmos_chain_gives() {
    crate::testbed_only!("uses the testbed's control handle or builder knobs");
    let env = ChainEnv::manual().await;
    let node = env.node("gwc");
    let program = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cosmjs");
    assert!(
        program.join("node_modules/@cosmjs/stargate").exists(),
        "run `npm ci --prefix tests/cosmjs` (tests/run.sh does)"
    );
    let recipient = TestKey::random().address;
    let before = balance(&env, "gwc", &recipient).await;
    let blocks = tokio::spawn(make_blocks_on_demand(node.clone()));

    let run = tokio::process::Command::new("node")
        .arg(program.join("send.mjs"))
        .env("RPC_URL", env.url("gwc", "rpc"))
        .env("ADMIN_MNEMONIC", mounted_mnemonic(&env, "gwc", "local-admin"))
        .env("OTHER_MNEMONIC", mounted_mnemonic(&env, "gwc", "relayer"))
        .env("RECIPIENT", &recipient)
        .env("AMOUNT", "4242")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(WAIT * 2, run).await.expect("CosmJS finished in time").expect("node runs");
    blocks.abort();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "CosmJS failed: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));

    // The send landed, and the recipient's balance read over REST moved by the amount.
    assert_eq!(report["chainId"], "gwc");
    assert_eq!(report["sender"], node.genesis_key("local-admin").address);
    assert_eq!(report["send"]["code"], 0, "{report}");
    assert_eq!(report["send"]["msgResponses"], json!(["/cosmos.bank.v1beta1.MsgSendResponse"]));
    assert_eq!(balance(&env, "gwc", &recipient).await, before + 4242);

    // The hash CosmJS reports is the testbed's: sha256 of the TxRaw bytes the chain holds.
    let hash = report["send"]["transactionHash"].as_str().expect("hash");
    let found = env.rpc("gwc", "tx", json!({"hash": super::b64(&hex::decode(hash).unwrap())})).await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(found["result"]["tx"].as_str().expect("tx bytes"))
        .unwrap();
    assert_eq!(sha256_hex(&bytes), hash);
    assert_eq!(found["result"]["height"], report["send"]["height"].to_string());

    // A stale sequence is code 32 and a signature by the wrong key code 4, as in the SDK.
    assert_eq!(report["stale"]["code"], 32, "{report}");
    assert_eq!(
        report["stale"]["log"],
        "account sequence mismatch, expected 1, got 0: incorrect account sequence"
    );
    assert_eq!(report["wrongKey"]["code"], 4, "{report}");
    assert!(
        report["wrongKey"]["log"].as_str().unwrap().starts_with("signature verification failed"),
        "{report}"
    );
    let (status, _) = env
        .rest("gwc", &format!("/cosmos/tx/v1beta1/txs/{}", report["stale"]["hash"].as_str().unwrap()))
        .await;
    assert_eq!(status, 404, "a tx that failed CheckTx never lands");
}
