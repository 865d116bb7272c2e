//! Layer 2 `/api/v1/chains` against the testbed's chain nodes: discovery, shaped reads, tx
//! simulate/broadcast/decode/build with txs signed in Rust (cosmrs, SIGN_MODE_DIRECT) and by
//! CosmJS, block-time statistics with the upstream request budget read from the testbed's
//! per-chain counters, and the error codes. Blocks come from the control handle; every wait
//! is on a condition.

use crate::common::{Bff, TestEnv, WAIT};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::tx::{Body, Fee, Msg as _, SignDoc, SignerInfo};
use serde_json::{Value, json};
use std::time::Duration;
use testbed::Testbed;

const CHAIN: &str = "gwc";
/// What local-admin holds at genesis (testbed genesis).
const ADMIN_GENESIS_UATOM: &str = "1000000000000";

fn admin_key(chain_id: &str) -> SigningKey {
    let words = testbed::mnemonics::test_mnemonic(chain_id, "local-admin");
    let seed = bip39::Mnemonic::parse(&words).expect("valid mnemonic").to_seed("");
    SigningKey::derive_from_path(seed, &"m/44'/118'/0'/0/0".parse().expect("path")).expect("derives")
}

fn address_of(key: &SigningKey) -> String {
    key.public_key().account_id("cosmos").expect("address").to_string()
}

/// A second address to send to: the relayer key of the same chain.
fn recipient(chain_id: &str) -> String {
    let words = testbed::mnemonics::test_mnemonic(chain_id, "relayer");
    let seed = bip39::Mnemonic::parse(&words).expect("valid mnemonic").to_seed("");
    let key =
        SigningKey::derive_from_path(seed, &"m/44'/118'/0'/0/0".parse().expect("path")).expect("derives");
    address_of(&key)
}

/// A MsgSend of `amount` uatom from local-admin, signed SIGN_MODE_DIRECT; base64 TxRaw.
fn signed_send(
    key: &SigningKey,
    to: &str,
    amount: u128,
    account_number: u64,
    sequence: u64,
    memo: &str,
) -> String {
    let msg = cosmrs::bank::MsgSend {
        from_address: address_of(key).parse().unwrap(),
        to_address: to.parse().unwrap(),
        amount: vec![cosmrs::Coin { denom: "uatom".parse().unwrap(), amount }],
    };
    let body = Body::new(vec![msg.to_any().unwrap()], memo, 0u32);
    let fee =
        Fee::from_amount_and_gas(cosmrs::Coin { denom: "uatom".parse().unwrap(), amount: 200 }, 200_000u64);
    let auth_info = SignerInfo::single_direct(Some(key.public_key()), sequence).auth_info(fee);
    let doc = SignDoc::new(&body, &auth_info, &CHAIN.parse().unwrap(), account_number).unwrap();
    BASE64.encode(doc.sign(key).unwrap().to_bytes().unwrap())
}

/// `(accountNumber, sequence)` of local-admin through the BFF.
async fn admin_account(bff: &Bff, address: &str) -> (u64, u64) {
    let (code, body) = bff.get(&format!("/api/v1/chains/{CHAIN}/accounts/{address}")).await;
    assert_eq!(code, 200, "{body}");
    let n = |k: &str| body["data"][k].as_str().unwrap().parse::<u64>().unwrap();
    (n("accountNumber"), n("sequence"))
}

/// Commits one block as soon as the chain's mempool holds a tx (manual block mode).
fn produce_a_block_once_a_tx_waits(env: &TestEnv) -> tokio::task::JoinHandle<u64> {
    let node = env.testbed().control.chain(CHAIN).expect("chain node");
    tokio::spawn(async move {
        tokio::time::timeout(WAIT, node.wait_for_mempool(|s| s.pending > 0))
            .await
            .expect("a tx reaches the mempool");
        node.produce_blocks(1)[0]
    })
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

/// Sum of a chain's upstream requests counted by the testbed.
fn upstream_requests(env: &TestEnv) -> u64 {
    env.testbed().control.chain_request_counts(CHAIN).values().sum()
}

async fn manual_env() -> TestEnv {
    TestEnv::ready_with(Testbed::builder().block_interval(None)).await
}

#[tokio::test]
async fn chains_are_listed_with_endpoints_ports_and_meta_in_every_mode() {
    crate::testbed_only!("drives the testbed: control.node_ports; manual block production");
    let env = manual_env().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let (code, body) = bff.get("/api/v1/chains").await;
    assert_eq!(code, 200, "{body}");
    let items = body["data"]["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i["chainId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["gwc", "mdsc", "fdsc-0", "fdsc-1"]);
    assert_eq!(body["data"]["mode"], "external", "auto outside the cluster is external");
    let (rpc_port, api_port, grpc_port) = env.testbed().control.node_ports(CHAIN).unwrap();
    let gwc = &items[0];
    assert!(gwc["endpoints"]["rpc"].as_str().unwrap().ends_with(&format!(":{rpc_port}")), "{gwc}");
    assert!(gwc["endpoints"]["api"].as_str().unwrap().ends_with(&format!(":{api_port}")), "{gwc}");
    assert!(gwc["endpoints"]["grpc"].as_str().unwrap().ends_with(&format!(":{grpc_port}")), "{gwc}");
    assert_eq!(gwc["ports"], json!({"rpc": 26657, "api": 1317, "grpc": 9090}));
    assert_eq!(gwc["meta"], json!({"component": "gwc", "instance": "gwc", "source": "k8s.service.nodeport"}));
    assert_eq!(gwc["network"], "gwc", "the node's own chain id, next to the API key");

    let (_, internal) = bff.get("/api/v1/chains?mode=internal&include=endpoints").await;
    let gwc = &internal["data"]["items"][0];
    assert_eq!(gwc["endpoints"]["rpc"], "http://cryptomeria-gwc:26657");
    assert_eq!(gwc["endpoints"]["grpc"], "cryptomeria-gwc:9090");
    assert!(
        gwc.get("meta").is_none() && gwc.get("ports").is_none() && gwc.get("network").is_none(),
        "include limits the parts: {gwc}"
    );

    let (code, body) = bff.get("/api/v1/chains?mode=sideways").await;
    assert_eq!((code, error_code(&body)), (422, "VALIDATION_ERROR"));
    let (code, body) = bff.get("/api/v1/chains?include=everything").await;
    assert_eq!((code, error_code(&body)), (422, "VALIDATION_ERROR"));
    let (code, body) = bff.get("/api/v1/chains/nope/status").await;
    assert_eq!((code, error_code(&body)), (404, "CHAIN_NOT_FOUND"));
}

#[tokio::test]
async fn fixed_endpoints_win_over_discovery_and_add_chains_of_their_own() {
    crate::testbed_only!("drives the testbed: control.node_ports; manual block production");
    let env = manual_env().await;
    let (rpc_port, _, _) = env.testbed().control.node_ports("mdsc").unwrap();
    let fixed = format!("http://localhost:{rpc_port}");
    let (bff, _) = Bff::start_with(
        &env.kubeconfig,
        |s| {
            s.chains.fixed_endpoints = vec![
                format!("gwc=rpc={fixed}").parse().unwrap(),
                format!("elsewhere=rpc={fixed}").parse().unwrap(),
            ]
        },
        |_| axum::Router::new(),
    )
    .await;
    bff.wait_readyz(200).await;
    let (_, body) = bff.get("/api/v1/chains").await;
    let items = body["data"]["items"].as_array().unwrap();
    let gwc = items.iter().find(|i| i["chainId"] == "gwc").unwrap();
    assert_eq!(gwc["endpoints"]["rpc"], fixed.as_str());
    assert_eq!(gwc["meta"]["source"], "config");
    assert!(gwc["endpoints"]["api"].as_str().is_some(), "unfixed fields still come from discovery");
    assert!(items.iter().any(|i| i["chainId"] == "elsewhere"));
    assert_eq!(gwc["network"], "mdsc", "the list shows the API key and the node's network apart");
    // gwc's key now reads mdsc's node: chainId and the upstream network differ.
    let (code, status) = bff.get("/api/v1/chains/gwc/status").await;
    assert_eq!(code, 200, "{status}");
    assert_eq!(
        (status["data"]["chainId"].as_str(), status["data"]["network"].as_str()),
        (Some("gwc"), Some("mdsc"))
    );
}

#[tokio::test]
async fn reads_answer_with_the_spec_shapes_and_raw_upstream_json() {
    crate::testbed_only!(
        "drives the testbed: control.chain, control.produce_blocks; manual block production; the testbed's genesis keys"
    );
    let env = manual_env().await;
    env.testbed().control.produce_blocks(CHAIN, 2);
    let bff = Bff::ready(&env.kubeconfig).await;
    let admin = address_of(&admin_key(CHAIN));

    let (code, info) = bff.get("/api/v1/chains/gwc/info").await;
    assert_eq!(code, 200, "{info}");
    assert_eq!(info["data"]["chainId"], "gwc");
    assert_eq!(info["data"]["network"], "gwc");
    assert_eq!(info["data"]["nodeInfo"]["network"], "gwc");
    assert!(info["data"]["appVersion"]["version"].is_string(), "{info}");
    assert!(info["data"]["raw"]["status"]["node_info"].is_object());

    let (code, status) = bff.get("/api/v1/chains/gwc/status").await;
    assert_eq!(code, 200);
    let latest = status["data"]["latestHeight"].as_u64().unwrap();
    assert_eq!(latest, env.testbed().control.chain(CHAIN).unwrap().latest_height());
    assert_eq!(status["data"]["catchingUp"], false);
    assert!(status["data"]["latestTime"].as_str().unwrap().ends_with('Z'));

    let (code, account) = bff.get(&format!("/api/v1/chains/gwc/accounts/{admin}")).await;
    assert_eq!(code, 200, "{account}");
    assert_eq!(account["data"]["address"], admin.as_str());
    assert!(account["data"]["accountNumber"].is_string() && account["data"]["sequence"] == "0");
    assert_eq!(account["data"]["raw"]["address"], admin.as_str());

    let (code, balances) = bff.get(&format!("/api/v1/chains/gwc/balances/{admin}")).await;
    assert_eq!(code, 200);
    assert!(
        balances["data"]["balances"]
            .as_array()
            .unwrap()
            .contains(&json!({"denom": "uatom", "amount": ADMIN_GENESIS_UATOM})),
        "{balances}"
    );
    let (_, one) = bff.get(&format!("/api/v1/chains/gwc/balances/{admin}?denom=uatom")).await;
    assert_eq!(one["data"]["balances"], json!([{"denom": "uatom", "amount": ADMIN_GENESIS_UATOM}]));

    let (code, mempool) = bff.get("/api/v1/chains/gwc/mempool").await;
    assert_eq!((code, &mempool["data"]["pendingCount"]), (200, &json!(0)));

    let (code, block) = bff.get("/api/v1/chains/gwc/blocks/latest").await;
    assert_eq!(code, 200);
    assert_eq!(block["data"]["height"], latest);
    assert_eq!(block["data"]["txCount"], 0);
    assert!(block["data"]["raw"]["block"]["header"].is_object());
    let (code, first) = bff.get("/api/v1/chains/gwc/blocks/1").await;
    assert_eq!((code, &first["data"]["height"]), (200, &json!(1)));
    let (code, txs) = bff.get("/api/v1/chains/gwc/blocks/1/txs").await;
    assert_eq!(code, 200);
    assert_eq!(
        (txs["data"]["format"].as_str(), txs["data"]["items"].as_array().map(Vec::len)),
        (Some("hashes"), Some(0))
    );
}

#[tokio::test]
async fn a_signed_send_simulates_decodes_broadcasts_and_is_found_once_in_a_block() {
    crate::testbed_only!(
        "drives the testbed: control.produce_blocks; manual block production; the testbed's genesis keys"
    );
    let env = manual_env().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let key = admin_key(CHAIN);
    let (admin, to) = (address_of(&key), recipient(CHAIN));
    let (number, sequence) = admin_account(&bff, &admin).await;
    let tx = signed_send(&key, &to, 1234, number, sequence, "rust send");

    let (code, sim) = bff.post("/api/v1/chains/gwc/simulate", &json!({"txBytes": tx})).await;
    assert_eq!(code, 200, "{sim}");
    assert!(sim["data"]["gasUsed"].as_str().unwrap().parse::<u64>().unwrap() > 0, "{sim}");

    let (code, decoded) = bff.post("/api/v1/chains/gwc/tx/decode", &json!({"txBytes": tx})).await;
    assert_eq!(code, 200, "{decoded}");
    let msg = &decoded["data"]["body"]["messages"][0];
    assert_eq!(msg["typeUrl"], "/cosmos.bank.v1beta1.MsgSend");
    assert_eq!(
        msg["value"],
        json!({"fromAddress": admin, "toAddress": to, "amount": [{"denom": "uatom", "amount": "1234"}]})
    );
    assert_eq!(decoded["data"]["body"]["memo"], "rust send");
    assert_eq!(decoded["data"]["authInfo"]["fee"]["gasLimit"], "200000");
    assert_eq!(decoded["data"]["authInfo"]["signerInfos"][0]["sequence"], sequence.to_string());
    assert_eq!(decoded["data"]["signatures"].as_array().unwrap().len(), 1);
    assert!(!decoded.to_string().contains(&tx), "the txBytes are never echoed");

    let (code, sent) =
        bff.post("/api/v1/chains/gwc/broadcast", &json!({"txBytes": tx, "broadcastMode": "sync"})).await;
    assert_eq!(code, 200, "{sent}");
    assert_eq!(sent["data"]["code"], 0, "{sent}");
    let hash = sent["data"]["txhash"].as_str().unwrap().to_string();
    assert_eq!(hash, decoded["data"]["txhash"].as_str().unwrap());

    let (code, missing) = bff.get(&format!("/api/v1/chains/gwc/tx/{hash}")).await;
    assert_eq!((code, error_code(&missing)), (404, "TX_NOT_FOUND"), "{missing}");
    assert!(missing["error"]["details"]["reason"].as_str().unwrap().contains("not included yet"));
    let (_, pending) = bff.get("/api/v1/chains/gwc/mempool").await;
    assert_eq!(pending["data"]["pendingCount"], 1);

    let height = env.testbed().control.produce_blocks(CHAIN, 1)[0];
    let (code, found) = bff.get(&format!("/api/v1/chains/gwc/tx/{}", hash.to_lowercase())).await;
    assert_eq!(code, 200, "{found}");
    assert_eq!(found["data"]["height"], height);
    assert_eq!(found["data"]["code"], 0);
    assert!(found["data"]["gasUsed"].as_str().unwrap().parse::<u64>().unwrap() > 0);
    assert!(found["data"]["events"].as_array().is_some_and(|e| !e.is_empty()));

    let (_, summary) = bff.get(&format!("/api/v1/chains/gwc/blocks/{height}/txs?format=summary")).await;
    let item = &summary["data"]["items"][0];
    assert_eq!(item["txhash"], hash.as_str());
    assert_eq!(item["messages"], json!(["/cosmos.bank.v1beta1.MsgSend"]));
    assert_eq!((item["code"].as_i64(), item["memo"].as_str()), (Some(0), Some("rust send")));
    let (_, raw) = bff.get(&format!("/api/v1/chains/gwc/blocks/{height}/txs?format=raw&limit=1")).await;
    assert_eq!(raw["data"]["items"][0]["tx"]["body"]["memo"], "rust send");
    let (_, none) = bff.get(&format!("/api/v1/chains/gwc/blocks/{height}/txs?limit=0")).await;
    assert_eq!(
        (none["data"]["total"].as_u64(), none["data"]["items"].as_array().map(Vec::len)),
        (Some(1), Some(0))
    );
    let (_, block) = bff.get(&format!("/api/v1/chains/gwc/blocks/{height}")).await;
    assert_eq!(block["data"]["txCount"], 1);

    // async: the node takes the next sequence without waiting for CheckTx's verdict.
    let next = signed_send(&key, &to, 1, number, sequence + 1, "async");
    let (code, queued) =
        bff.post("/api/v1/chains/gwc/broadcast", &json!({"txBytes": next, "broadcastMode": "async"})).await;
    assert_eq!(code, 200, "{queued}");
    assert_eq!(
        (queued["data"]["broadcastMode"].as_str(), queued["data"]["code"].as_i64()),
        (Some("async"), Some(0))
    );
    assert_eq!(queued["data"]["height"], 0);
}

#[tokio::test]
async fn tx_build_output_signed_by_the_test_key_broadcasts_in_block_mode() {
    crate::testbed_only!(
        "drives the testbed: control.chain; manual block production; the testbed's genesis keys"
    );
    let env = manual_env().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let key = admin_key(CHAIN);
    let (admin, to) = (address_of(&key), recipient(CHAIN));
    let request = json!({
        "fromAddress": admin,
        "messages": [{"typeUrl": "/cosmos.bank.v1beta1.MsgSend",
                      "value": {"fromAddress": admin, "toAddress": to, "amount": [{"denom": "uatom", "amount": "777"}]}}],
        "memo": "built by the BFF",
        "fee": {"amount": [{"denom": "uatom", "amount": "200"}], "gasLimit": "200000"},
        "publicKey": BASE64.encode(key.public_key().to_bytes()),
    });
    let (code, built) = bff.post("/api/v1/chains/gwc/tx/build", &request).await;
    assert_eq!(code, 200, "{built}");
    let data = &built["data"];
    assert_eq!((data["chainId"].as_str(), data["network"].as_str()), (Some("gwc"), Some("gwc")));
    assert_eq!(data["sequence"], "0");
    let part = |k: &str| BASE64.decode(data[k].as_str().unwrap()).unwrap();
    let signature = key.sign(&part("signDocBytes")).unwrap().to_bytes().to_vec();
    let raw = cosmrs::proto::cosmos::tx::v1beta1::TxRaw {
        body_bytes: part("bodyBytes"),
        auth_info_bytes: part("authInfoBytes"),
        signatures: vec![signature],
    };
    let tx = BASE64.encode(prost::Message::encode_to_vec(&raw));

    let node = env.testbed().control.chain(CHAIN).unwrap();
    let recipient_before = node.balance(&to, "uatom");
    let producer = produce_a_block_once_a_tx_waits(&env);
    let (code, sent) =
        bff.post("/api/v1/chains/gwc/broadcast", &json!({"txBytes": tx, "broadcastMode": "block"})).await;
    let height = producer.await.unwrap();
    assert_eq!(code, 200, "{sent}");
    assert_eq!(sent["data"]["code"], 0, "{sent}");
    assert_eq!(sent["data"]["height"], height);
    assert_eq!(sent["data"]["broadcastMode"], "block");
    assert_eq!(node.balance(&to, "uatom"), recipient_before + 777);

    // The same bytes again fail CheckTx (sequence used): block mode answers at once with the code.
    let (code, again) =
        bff.post("/api/v1/chains/gwc/broadcast", &json!({"txBytes": tx, "broadcastMode": "block"})).await;
    assert_eq!(code, 200, "{again}");
    assert_ne!(again["data"]["code"], 0, "{again}");
    assert_eq!(again["data"]["height"], 0);
    let (_, after) = bff.get(&format!("/api/v1/chains/gwc/accounts/{admin}")).await;
    assert_eq!(after["data"]["sequence"], "1");

    // Without a publicKey the chain's now-known key is used.
    let mut again = request.clone();
    again.as_object_mut().unwrap().remove("publicKey");
    let (code, rebuilt) = bff.post("/api/v1/chains/gwc/tx/build", &again).await;
    assert_eq!((code, &rebuilt["data"]["sequence"]), (200, &json!("1")), "{rebuilt}");
}

#[tokio::test]
async fn broadcast_block_mode_times_out_with_504_when_no_block_comes() {
    crate::testbed_only!("drives the testbed: manual block production; the testbed's genesis keys");
    let env = manual_env().await;
    let (bff, _) = Bff::start_with(
        &env.kubeconfig,
        |s| {
            s.chains.broadcast_block_timeout = Duration::from_millis(300);
            s.chains.broadcast_poll_interval = Duration::from_millis(50);
        },
        |_| axum::Router::new(),
    )
    .await;
    bff.wait_readyz(200).await;
    let key = admin_key(CHAIN);
    let (number, sequence) = admin_account(&bff, &address_of(&key)).await;
    let tx = signed_send(&key, &recipient(CHAIN), 1, number, sequence, "never included");
    let (code, body) =
        bff.post("/api/v1/chains/gwc/broadcast", &json!({"txBytes": tx, "broadcastMode": "block"})).await;
    assert_eq!((code, error_code(&body)), (504, "TIMEOUT"), "{body}");
    assert!(body["error"]["details"]["txhash"].is_string());
}

/// Signs a MsgSend offline with CosmJS (DirectSecp256k1HdWallet + SigningStargateClient.offline)
/// from the `tests/cosmjs` packages; prints the base64 TxRaw.
const COSMJS_SIGN: &str = r#"
import { DirectSecp256k1HdWallet } from "@cosmjs/proto-signing";
import { SigningStargateClient } from "@cosmjs/stargate";
import { TxRaw } from "cosmjs-types/cosmos/tx/v1beta1/tx";
const wallet = await DirectSecp256k1HdWallet.fromMnemonic(process.env.ADMIN_MNEMONIC, { prefix: "cosmos" });
const [account] = await wallet.getAccounts();
const client = await SigningStargateClient.offline(wallet);
const msg = { typeUrl: "/cosmos.bank.v1beta1.MsgSend",
  value: { fromAddress: account.address, toAddress: process.env.RECIPIENT, amount: [{ denom: "uatom", amount: process.env.AMOUNT }] } };
const fee = { amount: [{ denom: "uatom", amount: "200" }], gas: "200000" };
const raw = await client.sign(account.address, [msg], fee, "cosmjs offline",
  { accountNumber: Number(process.env.ACCOUNT_NUMBER), sequence: Number(process.env.SEQUENCE), chainId: process.env.CHAIN_ID });
console.log(Buffer.from(TxRaw.encode(raw).finish()).toString("base64"));
"#;

#[tokio::test]
async fn a_cosmjs_signed_send_goes_through_broadcast_and_is_found_and_decoded() {
    crate::testbed_only!(
        "drives the testbed: manual block production; blocks on demand; the testbed's genesis keys"
    );
    let cosmjs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cosmjs");
    if !cosmjs.join("node_modules/@cosmjs/stargate").exists() {
        eprintln!("SKIPPED: tests/cosmjs/node_modules is not installed (npm ci in tests/cosmjs)");
        return;
    }
    let env = manual_env().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let admin = address_of(&admin_key(CHAIN));
    let to = recipient(CHAIN);
    let (number, sequence) = admin_account(&bff, &admin).await;
    let script = tempfile::Builder::new().suffix(".mjs").tempfile_in(&cosmjs).unwrap();
    std::fs::write(script.path(), COSMJS_SIGN).unwrap();
    let out = tokio::process::Command::new("node")
        .arg(script.path())
        .current_dir(&cosmjs)
        .env("ADMIN_MNEMONIC", testbed::mnemonics::test_mnemonic(CHAIN, "local-admin"))
        .env("RECIPIENT", &to)
        .env("AMOUNT", "4321")
        .env("ACCOUNT_NUMBER", number.to_string())
        .env("SEQUENCE", sequence.to_string())
        .env("CHAIN_ID", CHAIN)
        .output()
        .await
        .expect("node runs");
    assert!(out.status.success(), "cosmjs: {}", String::from_utf8_lossy(&out.stderr));
    let tx = String::from_utf8(out.stdout).unwrap().trim().to_string();

    let producer = produce_a_block_once_a_tx_waits(&env);
    let (code, sent) =
        bff.post("/api/v1/chains/gwc/broadcast", &json!({"txBytes": tx, "broadcastMode": "block"})).await;
    producer.await.unwrap();
    assert_eq!((code, &sent["data"]["code"]), (200, &json!(0)), "{sent}");
    let hash = sent["data"]["txhash"].as_str().unwrap();
    let (code, found) = bff.get(&format!("/api/v1/chains/gwc/tx/{hash}")).await;
    assert_eq!((code, &found["data"]["code"]), (200, &json!(0)), "{found}");
    let (code, decoded) = bff.post("/api/v1/chains/gwc/tx/decode", &json!({"txBytes": tx})).await;
    assert_eq!(code, 200, "{decoded}");
    assert_eq!(
        decoded["data"]["body"]["messages"][0]["value"],
        json!({"fromAddress": admin, "toAddress": to, "amount": [{"denom": "uatom", "amount": "4321"}]})
    );
    assert_eq!(
        decoded["data"]["authInfo"]["signerInfos"][0]["modeInfo"]["single"]["mode"],
        "SIGN_MODE_DIRECT"
    );
}

#[tokio::test]
async fn blocktime_on_a_chain_with_a_known_interval_gives_that_mean() {
    crate::testbed_only!("drives the testbed: control.chain; builder.block_interval(a fixed interval)");
    const INTERVAL: Duration = Duration::from_millis(200);
    let env = TestEnv::ready_with(Testbed::builder().block_interval(Some(INTERVAL))).await;
    let node = env.testbed().control.chain(CHAIN).unwrap();
    let bff = Bff::ready(&env.kubeconfig).await;
    // Eleven blocks produced at the interval (block 1 is genesis-time, so start above it).
    let start = node.latest_height().max(2);
    tokio::time::timeout(WAIT, node.wait_for_height(start + 11)).await.expect("blocks come");
    let (code, body) = bff.get("/api/v1/chains/gwc/blocktime?window=10&percentiles=50,90,99").await;
    assert_eq!(code, 200, "{body}");
    let data = &body["data"];
    assert_eq!((data["window"].as_u64(), data["sampleCount"].as_u64()), (Some(10), Some(9)));
    assert_eq!(data["unit"], "seconds");
    let mean = data["stats"]["mean"].as_f64().unwrap();
    let wanted = INTERVAL.as_secs_f64();
    eprintln!("blocktime mean over 9 samples at a {wanted}s interval: {mean}s, stats {}", data["stats"]);
    assert!((mean - wanted).abs() < wanted * 0.15, "mean {mean} vs interval {wanted}");
    for key in ["min", "max", "stddev", "p50", "p90", "p99"] {
        assert!(data["stats"][key].is_f64(), "{key} missing: {data}");
    }
    assert_eq!((data["chainId"].as_str(), data["network"].as_str()), (Some("gwc"), Some("gwc")));
    let (from, to): (u64, u64) =
        (data["range"]["fromHeight"].as_u64().unwrap(), data["range"]["toHeight"].as_u64().unwrap());
    assert_eq!(to - from, 9);
    assert!(data.get("intervals").is_none(), "intervals only when asked: {data}");

    // include=intervals: the samples behind those statistics, oldest first, at that height.
    let (code, body) =
        bff.get("/api/v1/chains/gwc/blocktime?window=10&percentiles=50,90,99&include=intervals").await;
    assert_eq!(code, 200, "{body}");
    let with = &body["data"];
    let intervals: Vec<f64> =
        with["intervals"].as_array().expect("intervals").iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(intervals.len() as u64, with["sampleCount"].as_u64().unwrap(), "{with}");
    let (lo, hi) = intervals.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    assert_eq!((lo, hi), (with["stats"]["min"].as_f64().unwrap(), with["stats"]["max"].as_f64().unwrap()));
    let (code, body) = bff.get("/api/v1/chains/gwc/blocktime?include=blocks").await;
    assert_eq!((code, error_code(&body)), (422, "VALIDATION_ERROR"), "{body}");
}

#[tokio::test]
async fn blocktime_fetches_only_new_headers_within_the_request_budget() {
    crate::testbed_only!(
        "drives the testbed: control.produce_blocks; manual block production; the chain request counters"
    );
    let env = manual_env().await;
    let control = &env.testbed().control;
    control.produce_blocks(CHAIN, 2100);
    let bff = Bff::ready(&env.kubeconfig).await;
    let path = "/api/v1/chains/gwc/blocktime?window=2000&percentiles=50,95";

    let before = upstream_requests(&env);
    let started = std::time::Instant::now();
    let (code, cold) = bff.get(path).await;
    let cold_took = started.elapsed();
    let cold_requests = upstream_requests(&env) - before;
    assert_eq!(code, 200, "{cold}");
    assert_eq!(
        (cold["data"]["cached"].as_bool(), cold["data"]["sampleCount"].as_u64()),
        (Some(false), Some(1999))
    );
    assert_eq!(cold["data"]["range"]["toHeight"], cold["data"]["latestHeight"]);

    let before = upstream_requests(&env);
    let started = std::time::Instant::now();
    let (_, same) = bff.get(path).await;
    let same_took = started.elapsed();
    let same_height_requests = upstream_requests(&env) - before;
    assert_eq!(same["data"]["cached"], true);
    assert_eq!(same["data"]["stats"], cold["data"]["stats"]);

    let mut after_k = Vec::new();
    for k in [1u64, 20, 45] {
        control.produce_blocks(CHAIN, k);
        let before = upstream_requests(&env);
        let (_, next) = bff.get(path).await;
        let used = upstream_requests(&env) - before;
        assert_eq!(next["data"]["cached"], false);
        assert_eq!(next["data"]["sampleCount"], 1999);
        assert!(used <= 1 + k.div_ceil(20), "after {k} new blocks: {used} requests > 1 + ⌈k/20⌉");
        after_k.push((k, used));
    }
    eprintln!(
        "blocktime upstream requests: cold window 2000 = {cold_requests} ({cold_took:?}), same height = {same_height_requests} ({same_took:?}), after k blocks = {after_k:?}"
    );
    assert!(cold_requests <= 101, "cold: {cold_requests} requests");
    assert!(same_height_requests <= 1, "same height: {same_height_requests} requests");

    for bad in ["window=1", "window=2001", "window=abc", "percentiles=0", "percentiles=50,x"] {
        let (code, body) = bff.get(&format!("/api/v1/chains/gwc/blocktime?{bad}")).await;
        assert_eq!((code, error_code(&body)), (422, "VALIDATION_ERROR"), "{bad}: {body}");
    }
}

#[tokio::test]
async fn blocktime_answers_any_repeat_at_the_same_height_from_its_cache() {
    crate::testbed_only!("drives the testbed: manual block production; the chain request counters");
    let env = manual_env().await;
    env.testbed().control.produce_blocks(CHAIN, 80);
    let bff = Bff::ready(&env.kubeconfig).await;
    let ask = |q: &'static str| {
        let bff = &bff;
        async move {
            let (code, body) = bff.get(&format!("/api/v1/chains/gwc/blocktime?{q}")).await;
            assert_eq!(code, 200, "{q}: {body}");
            body["data"].clone()
        }
    };
    let asks = ["window=50", "window=60", "window=50&percentiles=50,99", "window=60&percentiles=95,50"];
    let first: Vec<Value> = futures::future::join_all(asks.map(ask)).await;
    assert!(first.iter().take(3).all(|d| d["cached"] == false), "cold: {first:?}");
    let before = upstream_requests(&env);
    for round in 0..2 {
        for (q, cold) in asks.iter().zip(&first) {
            let again = ask(q).await;
            assert_eq!(again["cached"], true, "round {round}, {q}: {again}");
            assert_eq!((&again["stats"], &again["window"]), (&cold["stats"], &cold["window"]), "{q}");
        }
    }
    // Only the `status` call that tells the height was made for each repeat.
    assert_eq!(upstream_requests(&env) - before, 2 * asks.len() as u64);
    env.testbed().control.produce_blocks(CHAIN, 1);
    assert_eq!(ask("window=50").await["cached"], false, "a new height computes again");
}

#[tokio::test]
async fn bad_input_and_upstream_failures_have_their_codes() {
    crate::testbed_only!(
        "drives the testbed: control.chain, control.start_chain_rpc, control.stop_chain_rpc; manual block production; the testbed's genesis keys"
    );
    let env = manual_env().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let admin = address_of(&admin_key(CHAIN));

    let broken = format!("{}{}", &admin[..admin.len() - 1], if admin.ends_with('q') { 'p' } else { 'q' });
    for path in
        [format!("/api/v1/chains/gwc/accounts/{broken}"), format!("/api/v1/chains/gwc/balances/{broken}")]
    {
        let (code, body) = bff.get(&path).await;
        assert_eq!((code, error_code(&body)), (422, "INVALID_ADDRESS"), "{path}: {body}");
    }
    let tip = env.testbed().control.chain(CHAIN).unwrap().latest_height();
    for height in ["abc".to_string(), "0".to_string(), "-1".to_string(), (tip + 1000).to_string()] {
        for path in
            [format!("/api/v1/chains/gwc/blocks/{height}"), format!("/api/v1/chains/gwc/blocks/{height}/txs")]
        {
            let (code, body) = bff.get(&path).await;
            assert_eq!((code, error_code(&body)), (422, "INVALID_HEIGHT"), "{path}: {body}");
        }
    }
    let (code, body) = bff.get("/api/v1/chains/gwc/tx/xyz").await;
    assert_eq!((code, error_code(&body)), (422, "VALIDATION_ERROR"));

    let secret = "%%not-base64%%";
    for route in ["simulate", "broadcast", "tx/decode"] {
        for bytes in [secret, "aGVsbG8gd29ybGQ="] {
            let (code, body) =
                bff.post(&format!("/api/v1/chains/gwc/{route}"), &json!({"txBytes": bytes})).await;
            assert_eq!((code, error_code(&body)), (422, "INVALID_TX_BYTES"), "{route}: {body}");
            assert!(!body.to_string().contains(bytes), "txBytes echoed: {body}");
        }
    }
    let (code, body) = bff
        .post("/api/v1/chains/gwc/broadcast", &json!({"txBytes": "AA==", "broadcastMode": "commit"}))
        .await;
    assert_eq!((code, error_code(&body)), (422, "VALIDATION_ERROR"), "{body}");
    let (code, body) = bff.post("/api/v1/chains/gwc/simulate", &json!({})).await;
    assert_eq!((code, error_code(&body)), (422, "VALIDATION_ERROR"));
    assert_eq!(body["error"]["details"]["field"], "txBytes", "{body}");

    // The chain rejects an overspend: 502 with its code and log.
    let key = admin_key(CHAIN);
    let (number, sequence) = admin_account(&bff, &admin).await;
    let overspend = signed_send(&key, &recipient(CHAIN), 10_000_000_000_000, number, sequence, "too much");
    let (code, body) = bff.post("/api/v1/chains/gwc/simulate", &json!({"txBytes": overspend})).await;
    assert_eq!((code, error_code(&body)), (502, "UPSTREAM_ERROR"), "{body}");
    assert!(body["error"]["details"]["upstreamCode"].is_i64(), "{body}");
    assert!(body["error"]["details"]["upstreamLog"].as_str().unwrap().contains("insufficient"), "{body}");

    // A stopped node is unreachable (503) until it is started again.
    env.testbed().control.stop_chain_rpc(CHAIN).await;
    for path in
        ["/api/v1/chains/gwc/status", "/api/v1/chains/gwc/blocktime", "/api/v1/chains/gwc/blocks/latest"]
    {
        let (code, body) = bff.get(path).await;
        assert_eq!((code, error_code(&body)), (503, "UPSTREAM_UNREACHABLE"), "{path}: {body}");
    }
    env.testbed().control.start_chain_rpc(CHAIN).unwrap();
    let (code, _) = bff.get("/api/v1/chains/gwc/status").await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn a_node_that_accepts_but_never_answers_is_a_504_timeout() {
    crate::testbed_only!("drives the testbed: manual block production; the testbed's genesis keys");
    let env = manual_env().await;
    // A listener that takes connections and says nothing: a hung node.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let (bff, _) = Bff::start_with(
        &env.kubeconfig,
        |s| {
            s.chains.fixed_endpoints =
                vec![format!("hung=rpc={silent_url},api={silent_url}").parse().unwrap()];
            s.chains.chain_http_timeout = Duration::from_millis(300);
        },
        |_| axum::Router::new(),
    )
    .await;
    bff.wait_readyz(200).await;
    for path in ["/api/v1/chains/hung/status", "/api/v1/chains/hung/blocktime"] {
        let (code, body) = bff.get(path).await;
        assert_eq!((code, error_code(&body)), (504, "TIMEOUT"), "{path}: {body}");
    }
    let (code, body) = bff
        .post(
            "/api/v1/chains/hung/simulate",
            &json!({"txBytes": signed_send(&admin_key(CHAIN), &recipient(CHAIN), 1, 0, 0, "")}),
        )
        .await;
    assert_eq!((code, error_code(&body)), (504, "TIMEOUT"), "{body}");
    holder.abort();
}

#[tokio::test]
async fn tx_bytes_never_reach_the_logs_or_the_error_bodies() {
    crate::testbed_only!("drives the testbed: manual block production; the testbed's genesis keys");
    let (logs, _guard) = crate::common::secrets::ThreadLogs::capture("trace");

    let env = manual_env().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let key = admin_key(CHAIN);
    let (number, sequence) = admin_account(&bff, &address_of(&key)).await;
    let good = signed_send(&key, &recipient(CHAIN), 5, number, sequence, "logged?");
    let overspend = signed_send(&key, &recipient(CHAIN), 10_000_000_000_000, number, sequence, "too much");
    let garbage = BASE64.encode(b"definitely not a protobuf tx, but valid base64");
    let mut bodies = String::new();
    for tx in [&good, &overspend, &garbage] {
        for route in ["simulate", "broadcast", "tx/decode"] {
            let (_, body) = bff.post(&format!("/api/v1/chains/gwc/{route}"), &json!({"txBytes": tx})).await;
            bodies.push_str(&body.to_string());
        }
    }
    assert!(bodies.contains("UPSTREAM_ERROR") && bodies.contains("INVALID_TX_BYTES"), "{bodies}");
    let logged = logs.text();
    assert!(logged.contains("request failed"), "the upstream error was logged: {logged}");
    for tx in [&good, &overspend, &garbage] {
        assert!(!logged.contains(tx.as_str()), "txBytes in the logs");
        assert!(!bodies.contains(tx.as_str()), "txBytes in a response");
    }
}
