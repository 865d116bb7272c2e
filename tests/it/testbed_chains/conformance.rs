//! Conformance, table-driven: every recorded CometBFT response in `tests/fixtures/cometbft`
//! is replayed against a testbed chain over both transports, and every written-down Cosmos
//! REST shape in `tests/fixtures/cosmos-rest` is requested; each JSON field path of the
//! fixture must exist in the answer with the same JSON type (values may differ). A fixture
//! without a request to replay fails the test.

use super::{ChainEnv, b64};
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use testbed::chain::ChainNode;
use testbed::chain::gateway::StorageInfo;
use testbed::chain::ibc::{ChannelState, IbcChannel};
use testbed::chain::keys::TestKey;
use testbed::chain::packets::{ClientInfo, ConsensusState};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every field path of a document with the JSON types seen there; array elements share `[]`.
fn shape(v: &Value) -> BTreeMap<String, BTreeSet<&'static str>> {
    fn walk(v: &Value, path: String, out: &mut BTreeMap<String, BTreeSet<&'static str>>) {
        out.entry(path.clone()).or_default().insert(type_name(v));
        match v {
            Value::Object(map) => map.iter().for_each(|(k, c)| walk(c, format!("{path}.{k}"), out)),
            Value::Array(items) => items.iter().for_each(|c| walk(c, format!("{path}[]"), out)),
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    walk(v, String::new(), &mut out);
    out
}

/// Fixture paths missing from the answer or answered with another JSON type. A `null` in
/// the fixture (Go's nil message, bytes or slice) accepts any type at that path.
fn shape_mismatches(fixture: &Value, answer: &Value, skip: &[&str]) -> Vec<String> {
    let got = shape(answer);
    let mut out = Vec::new();
    for (path, want) in shape(fixture) {
        if skip.contains(&path.as_str()) {
            continue;
        }
        match got.get(&path) {
            None => out.push(format!("missing `{path}`")),
            Some(_) if want.contains("null") => {}
            Some(types) if !types.is_subset(&want) => {
                out.push(format!("`{path}` is {types:?}, fixture has {want:?}"))
            }
            Some(_) => {}
        }
    }
    out
}

/// Fixture files under `dir`, relative to it, sorted; recorded requests are not fixtures.
fn fixture_files(dir: &str) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("fixture dir").flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if path.is_dir() && !rel.ends_with("requests") {
                walk(root, &path, out);
            } else if rel.ends_with(".json") && !rel.ends_with(".request.json") && !path.is_dir() {
                out.push(rel);
            }
        }
    }
    let root = PathBuf::from(FIXTURES).join(dir);
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

fn read_json(path: &str) -> Value {
    let text =
        std::fs::read_to_string(PathBuf::from(FIXTURES).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What the chain has to show: a committed MsgSend, and fresh signed txs on demand.
struct History<'a> {
    env: &'a ChainEnv,
    chain: &'static str,
    committed_hash: String,
}

impl History<'_> {
    fn fresh_tx(&self) -> Vec<u8> {
        let node = self.env.node(self.chain);
        let admin = node.genesis_key("local-admin");
        self.env.signed_send(self.chain, &admin, &node.genesis_key("relayer").address, 7)
    }
}

/// The request that produced a fixture: the recorded one (`requests/`), adapted where the
/// recording's chain differs from a Cosmos chain, or written from the README where none was
/// recorded. `None` fails the test.
fn request_for(fixture: &str, h: &History<'_>) -> Option<Value> {
    let rpc = |method: &str, params: Value| json!({"jsonrpc": "2.0", "id": "conformance", "method": method, "params": params});
    let recorded = |path: &str| Some(read_json(&format!("cometbft/{path}")));
    match fixture {
        // The recorded kvstore tx (`key=value`) is no Cosmos tx: replayed as is, CheckTx
        // rejects it (code 2) in the same shape. Commit needs a tx that lands in a block.
        "broadcast_tx_commit.json" => Some(rpc("broadcast_tx_commit", json!({"tx": b64(&h.fresh_tx())}))),
        // The recorded hash is of a kvstore tx this chain never saw: ask for one it has.
        "v0_34/tx.json" => {
            let mut req = recorded("v0_34/requests/tx.json")?;
            req["params"]["hash"] = json!(b64(&hex::decode(&h.committed_hash).ok()?));
            Some(req)
        }
        "v0_37/block_search.json" => recorded("v0_37/block_search.request.json"),
        // No request was recorded with these; the README says what they answer.
        "simd_v0_37/tx_search.json" => {
            Some(rpc("tx_search", json!({"query": format!("tx.hash='{}'", h.committed_hash)})))
        }
        "legacy/health.json" => Some(rpc("health", Value::Null)),
        "legacy/validators.json" => Some(rpc("validators", Value::Null)),
        "legacy/error.json" => Some(rpc("blockchain", json!({"minHeight": "321", "maxHeight": "123"}))),
        top_level if !top_level.contains('/') => recorded(&format!("requests/{top_level}")),
        _ => None,
    }
}

/// The same call in CometBFT's URI form: ints bare, bytes `0x<hex>`, strings quoted.
fn uri_path(request: &Value) -> String {
    let method = request["method"].as_str().unwrap_or_default();
    let params = request["params"].as_object().cloned().unwrap_or_default();
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Value::String(s) if k == "tx" || k == "hash" => {
                    format!(
                        "0x{}",
                        hex::encode(base64::engine::general_purpose::STANDARD.decode(s).unwrap_or_default())
                    )
                }
                Value::String(s) if s.parse::<i64>().is_ok() => s.clone(),
                Value::String(s) => format!("\"{s}\""),
                other => other.to_string(),
            };
            format!("{k}={}", form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>())
        })
        .collect();
    format!("/{method}?{}", query.join("&"))
}

/// Commits a block whenever a tx waits in the mempool (what `broadcast_tx_commit` waits for).
async fn make_blocks_on_demand(node: ChainNode) {
    loop {
        node.wait_for_mempool(|m| m.pending > 0).await;
        node.produce_blocks(1);
    }
}

#[tokio::test]
async fn every_recorded_cometbft_response_has_its_shape_served_over_both_transports() {
    let env = ChainEnv::manual().await;
    let node = env.node("gwc");
    let admin = node.genesis_key("local-admin");
    let relayer = node.genesis_key("relayer").address;
    // History like the recordings': more than 10 blocks, txs at heights above 1.
    let mut committed = Vec::new();
    for amount in 1..=3 {
        committed.push(env.commit_send("gwc", &admin, &relayer, amount).await.0);
        node.produce_blocks(2);
    }
    node.produce_blocks(4);
    let history = History { env: &env, chain: "gwc", committed_hash: committed[0].clone() };
    let blocks = tokio::spawn(make_blocks_on_demand(node.clone()));

    let fixtures = fixture_files("cometbft");
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let recorded = read_json(&format!("cometbft/{fixture}"));
        let Some(request) = request_for(fixture, &history) else {
            failures.push(format!("{fixture}: no request to replay"));
            continue;
        };
        let (_, answer) = env.rpc_post("gwc", &request).await;
        failures.extend(
            shape_mismatches(&recorded, &answer, &[])
                .into_iter()
                .map(|m| format!("{fixture} (JSON-RPC): {m}")),
        );
        // A fresh request for the URI form (a broadcast tx may only be sent once).
        let request = request_for(fixture, &history).expect("same table");
        let (_, text) = env.get("gwc", "rpc", &uri_path(&request)).await;
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        // URI calls always answer id -1 (fixtures/README.md).
        let mismatches = shape_mismatches(&recorded, &answer, &[".id"]);
        failures
            .extend(mismatches.into_iter().map(|m| format!("{fixture} (URI {}): {m}", uri_path(&request))));
    }
    blocks.abort();
    assert!(failures.is_empty(), "shape mismatches:\n{}", failures.join("\n"));
    assert_eq!(fixtures.len(), 20, "every recorded fixture was judged: {fixtures:?}");
}

#[tokio::test]
async fn cosmos_rest_answers_have_the_written_down_shapes() {
    let env = ChainEnv::manual().await;
    let node = env.node("gwc");
    let admin = node.genesis_key("local-admin");
    let relayer = node.genesis_key("relayer").address;
    let (txhash, tx_height) = env.commit_send("gwc", &admin, &relayer, 3).await;
    node.upsert_channel(IbcChannel {
        port_id: "gateway".into(),
        channel_id: "channel-0".into(),
        state: ChannelState::Open,
        ordering: "ORDER_UNORDERED",
        counterparty_port_id: "metastore".into(),
        counterparty_channel_id: "channel-0".into(),
        connection_id: "connection-0".into(),
        version: "cryptomeria-1".into(),
        client_id: "07-tendermint-0".into(),
        counterparty_chain_id: "mdsc".into(),
    });
    let mdsc_header = env.node("mdsc").latest_block().expect("mdsc has a block").header.clone();
    node.update_state(|l| {
        let client = ClientInfo::new("mdsc", mdsc_header.height, ConsensusState::of(&mdsc_header));
        l.packets_mut().clients.insert("07-tendermint-0".into(), client);
    });
    node.register_storage_endpoint(StorageInfo {
        channel_id: "channel-0".into(),
        chain_id: "mdsc".into(),
        api_endpoint: "http://cryptomeria-mdsc-0.cryptomeria-chain-headless:1317".into(),
        connection_type: "metastore".into(),
    });
    let placeholders = [
        ("{admin}", admin.address.clone()),
        ("{relayer}", relayer.clone()),
        ("{nobody}", TestKey::random().address),
        ("{txhash}", txhash),
        ("{tx_height}", tx_height.to_string()),
        ("{missing_hash}", "AB".repeat(32)),
        ("{channel_id}", "channel-0".into()),
    ];
    let files = fixture_files("cosmos-rest");
    let mut failures = Vec::new();
    for file in &files {
        let mut text =
            std::fs::read_to_string(PathBuf::from(FIXTURES).join("cosmos-rest").join(file)).unwrap();
        for (key, value) in &placeholders {
            text = text.replace(key, value);
        }
        let tx_bytes = b64(&env.signed_send("gwc", &admin, &relayer, 1));
        let doc: Value = serde_json::from_str(&text.replace("{tx_bytes}", &tx_bytes)).unwrap();
        let path = doc["request"]["path"].as_str().unwrap();
        let (status, answer) = match doc["request"]["method"].as_str() {
            Some("POST") => env.rest_post("gwc", path, &doc["request"]["body"]).await,
            _ => env.rest("gwc", path).await,
        };
        if status != doc["status"] {
            failures.push(format!("{file}: status {status}, want {}: {answer}", doc["status"]));
        } else if status != 200 && answer != doc["response"] {
            failures.push(format!("{file}: error body {answer}, want {}", doc["response"]));
        }
        failures.extend(
            shape_mismatches(&doc["response"], &answer, &[]).into_iter().map(|m| format!("{file}: {m}")),
        );
    }
    assert!(failures.is_empty(), "REST shape mismatches:\n{}", failures.join("\n"));
    assert_eq!(files.len(), 18, "every written-down shape was judged: {files:?}");
}

#[test]
fn the_shape_check_can_fail() {
    let fixture = json!({"a": {"b": "1", "c": [{"d": 1}]}, "n": null});
    assert!(shape_mismatches(&fixture, &json!({"a": {"b": "2", "c": [{"d": 5}]}, "n": [1]}), &[]).is_empty());
    assert_eq!(shape_mismatches(&fixture, &json!({"a": {"b": 2, "c": [{"d": 5}]}, "n": 1}), &[]).len(), 1);
    assert_eq!(
        shape_mismatches(&fixture, &json!({"a": {"b": "2", "c": []}, "n": 1}), &[]),
        vec!["missing `.a.c[]`", "missing `.a.c[].d`"]
    );
}
