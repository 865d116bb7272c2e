//! The testbed's chains over real sockets (TESTBED.md §4): blocks on demand and by
//! interval, CometBFT JSON-RPC and URI transports with CometBFT's errors, Cosmos REST, real
//! tx verification, faults and request counters. Recorded-fixture conformance lives in
//! `conformance.rs`, the independent CosmJS client in `cosmjs.rs`.

mod conformance;
mod cosmjs;

use crate::common::{WAIT, init_crypto};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;
use std::time::Duration;
use testbed::Testbed;
use testbed::chain::ChainNode;
use testbed::chain::coins::Coin;
use testbed::chain::keys::TestKey;
use testbed::chain::msgs::msg_send;
use testbed::chain::tx_codec::UnsignedTx;

/// A testbed whose chains make blocks only when told, and an HTTP client.
pub struct ChainEnv {
    pub testbed: Testbed,
    pub http: reqwest::Client,
}

impl ChainEnv {
    pub async fn manual() -> Self {
        init_crypto();
        let testbed = Testbed::builder()
            .block_interval(None)
            .boot_delay(std::time::Duration::ZERO)
            .start()
            .await
            .expect("testbed starts");
        Self { testbed, http: reqwest::Client::new() }
    }

    pub fn node(&self, chain: &str) -> ChainNode {
        self.testbed.control.chain(chain).expect("chain exists")
    }

    /// `http://<node ip>:<NodePort>` of a chain's rpc or api port, from the cluster's Services.
    pub fn url(&self, chain: &str, port: &str) -> String {
        let (rpc, api, _) = self.testbed.control.node_ports(chain).expect("chain has NodePorts");
        format!("http://127.0.0.1:{}", if port == "rpc" { rpc } else { api })
    }

    /// POSTs a JSON-RPC body; returns the HTTP status and the parsed body (Null if empty).
    pub async fn rpc_post(&self, chain: &str, body: &Value) -> (u16, Value) {
        let resp = self.http.post(self.url(chain, "rpc")).json(body).send().await.expect("rpc answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("json body") })
    }

    pub async fn rpc(&self, chain: &str, method: &str, params: Value) -> Value {
        let (status, body) = self
            .rpc_post(chain, &json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .await;
        assert_eq!(status, 200, "{method}: {body}");
        body
    }

    /// GETs a path on a chain port; returns status and raw text.
    pub async fn get(&self, chain: &str, port: &str, path: &str) -> (u16, String) {
        let resp = self.http.get(format!("{}{path}", self.url(chain, port))).send().await.expect("answers");
        (resp.status().as_u16(), resp.text().await.expect("body"))
    }

    pub async fn rest(&self, chain: &str, path: &str) -> (u16, Value) {
        let (status, text) = self.get(chain, "api", path).await;
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}")))
    }

    pub async fn rest_post(&self, chain: &str, path: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.url(chain, "api")))
            .json(body)
            .send()
            .await
            .expect("answers");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("json body"))
    }

    /// A signed MsgSend of `amount` uatom from a genesis key, at the account's current sequence.
    pub fn signed_send(&self, chain: &str, from: &TestKey, to: &str, amount: u128) -> Vec<u8> {
        let node = self.node(chain);
        let account = node.account(&from.address).expect("sender exists");
        let pending = node.mempool_status().pending as u64;
        let tx = UnsignedTx::new(
            vec![msg_send(&from.address, to, &[Coin::uatom(amount)])],
            Coin::uatom(200),
            200_000,
        );
        tx.sign(from, chain, account.number, account.sequence + pending)
    }

    /// Broadcasts over RPC (sync), commits a block and returns the tx hash and its height.
    pub async fn commit_send(&self, chain: &str, from: &TestKey, to: &str, amount: u128) -> (String, u64) {
        let bytes = self.signed_send(chain, from, to, amount);
        let out = self.rpc(chain, "broadcast_tx_sync", json!({"tx": b64(&bytes)})).await;
        assert_eq!(out["result"]["code"], 0, "{out}");
        let height = self.node(chain).produce_blocks(1)[0];
        (out["result"]["hash"].as_str().unwrap().to_string(), height)
    }
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode_upper(sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn manual_mode_makes_blocks_only_on_demand_with_strictly_increasing_times() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = ChainEnv::manual().await;
    let status = env.rpc("gwc", "status", json!({})).await;
    let start: u64 = status["result"]["sync_info"]["latest_block_height"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        env.testbed.control.produce_blocks("gwc", 4),
        vec![start + 1, start + 2, start + 3, start + 4]
    );
    let chain =
        env.rpc("gwc", "blockchain", json!({"minHeight": "1", "maxHeight": (start + 4).to_string()})).await;
    let metas = chain["result"]["block_metas"].as_array().unwrap();
    assert_eq!(metas.len() as u64, start + 4, "newest first, every block");
    let times: Vec<jiff::Timestamp> =
        metas.iter().rev().map(|m| m["header"]["time"].as_str().unwrap().parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "header times strictly increase: {times:?}");
    let other = env.rpc("mdsc", "status", json!({})).await;
    assert_eq!(other["result"]["sync_info"]["latest_block_height"], "1", "other chains did not move");
}

#[tokio::test]
async fn an_interval_makes_blocks_by_itself_and_manual_mode_stops_them() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = ChainEnv::manual().await;
    let node = env.node("mdsc");
    let start = node.latest_height();
    env.testbed.control.set_block_interval("mdsc", Some(Duration::from_millis(20)));
    tokio::time::timeout(WAIT, node.wait_for_height(start + 3)).await.expect("three blocks by interval");
    env.testbed.control.set_block_interval("mdsc", None);
    let stopped_at = node.latest_height();
    // Manual again: the next block comes only from produce_blocks.
    assert_eq!(node.produce_blocks(1), vec![stopped_at + 1]);
    let b = env.rpc("mdsc", "block", json!({"height": (stopped_at + 1).to_string()})).await;
    assert_eq!(b["result"]["block"]["header"]["height"], (stopped_at + 1).to_string());
}

#[tokio::test]
async fn a_stopped_rpc_refuses_connections_and_comes_back() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = ChainEnv::manual().await;
    env.testbed.control.stop_chain_rpc("fdsc-0").await;
    let err = env.http.get(format!("{}/status", env.url("fdsc-0", "rpc"))).send().await.unwrap_err();
    assert!(err.is_connect(), "connection refused while stopped: {err:?}");
    let (status, _) = env.rest("fdsc-0", "/cosmos/base/tendermint/v1beta1/node_info").await;
    assert_eq!(status, 200, "REST keeps serving");
    env.testbed.control.start_chain_rpc("fdsc-0").expect("rebinds");
    let (status, body) = env.get("fdsc-0", "rpc", "/health").await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status, body), (200, json!({"jsonrpc": "2.0", "id": -1, "result": {}})));
}

#[tokio::test]
async fn request_counters_count_rpc_methods_and_rest_routes_per_chain() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = ChainEnv::manual().await;
    env.rpc("gwc", "status", json!({})).await;
    env.get("gwc", "rpc", "/status").await;
    env.get("gwc", "rpc", "/no_such_method").await;
    env.rest("gwc", "/cosmos/bank/v1beta1/balances/cosmos1r5v5srda7xfth3hn2s26txvrcrntldjumt8mhl").await;
    let counts = env.testbed.control.chain_request_counts("gwc");
    assert_eq!(counts.get("rpc status"), Some(&2));
    assert_eq!(counts.get("rpc <unknown>"), Some(&1));
    assert_eq!(counts.get("rest /cosmos/bank/v1beta1/balances/{address}"), Some(&1));
    assert!(env.testbed.control.chain_request_counts("mdsc").is_empty());
}

#[tokio::test]
async fn jsonrpc_errors_are_cometbfts() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = ChainEnv::manual().await;
    let resp = env.http.post(env.url("gwc", "rpc")).body("{not json").send().await.unwrap();
    assert_eq!(resp.status(), 500);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32700);
    assert!(body.get("id").is_none(), "a parse error has no id: {body}");

    let (status, body) = env.rpc_post("gwc", &json!({"jsonrpc": "2.0", "id": "x", "method": "nope"})).await;
    assert_eq!(
        (status, body),
        (200, json!({"jsonrpc": "2.0", "id": "x", "error": {"code": -32601, "message": "Method not found"}}))
    );

    let (status, body) = env
        .rpc_post("gwc", &json!({"jsonrpc": "2.0", "id": 7, "method": "block", "params": {"height": 1}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["error"]["code"], -32602);
    assert_eq!(
        body["error"]["data"],
        "error converting json params to arguments: invalid 64-bit integer encoding \"1\", expected string"
    );

    let body = env.rpc("gwc", "block", json!({"height": "99"})).await;
    assert_eq!(
        body["error"]["data"],
        "height 99 must be less than or equal to the current blockchain height 1"
    );
    let missing = "AB".repeat(32);
    let body = env.rpc("gwc", "tx", json!({"hash": b64(&hex::decode(&missing).unwrap())})).await;
    assert_eq!(
        body["error"],
        json!({"code": -32603, "message": "Internal error", "data": format!("tx ({missing}) not found")})
    );

    let (status, text) = env.get("gwc", "rpc", "/block?height=0").await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (status, &body["id"], &body["error"]["data"]),
        (500, &json!(-1), &json!("height must be greater than 0, but got 0"))
    );
    assert_eq!(env.get("gwc", "rpc", "/not_a_method").await, (404, "404 page not found\n".to_string()));

    let batch = json!([{"jsonrpc": "2.0", "id": 1, "method": "health"}, {"jsonrpc": "2.0", "id": 2, "method": "health"}]);
    let (_, body) = env.rpc_post("gwc", &batch).await;
    assert_eq!(body.as_array().map(Vec::len), Some(2));
    let (_, body) = env.rpc_post("gwc", &json!([{"jsonrpc": "2.0", "id": 1, "method": "health"}])).await;
    assert_eq!(body["id"], 1, "a one-element batch answers a bare object");
    let (status, body) = env.rpc_post("gwc", &json!({"jsonrpc": "2.0", "method": "health"})).await;
    assert_eq!((status, body), (200, Value::Null), "a notification gets no answer");
}

#[tokio::test]
async fn broadcasts_check_then_include_in_the_next_block_in_every_mode() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = ChainEnv::manual().await;
    let node = env.node("gwc");
    let admin = node.genesis_key("local-admin");
    let to = TestKey::random().address;

    let bytes = env.signed_send("gwc", &admin, &to, 10);
    let sync = env.rpc("gwc", "broadcast_tx_sync", json!({"tx": b64(&bytes)})).await;
    assert_eq!(sync["result"]["hash"], sha256_hex(&bytes), "tx hash = uppercase hex sha256 of TxRaw");
    assert_eq!(sync["result"]["code"], 0);
    let unconfirmed = env.rpc("gwc", "num_unconfirmed_txs", json!({})).await;
    assert_eq!(unconfirmed["result"]["n_txs"], "1");
    let again = env.rpc("gwc", "broadcast_tx_sync", json!({"tx": b64(&bytes)})).await;
    assert_eq!(again["error"]["data"], "tx already exists in cache");
    let (_, rest) = env
        .rest_post(
            "gwc",
            "/cosmos/tx/v1beta1/txs",
            &json!({"tx_bytes": b64(&bytes), "mode": "BROADCAST_MODE_SYNC"}),
        )
        .await;
    assert_eq!(
        (&rest["tx_response"]["code"], &rest["tx_response"]["codespace"]),
        (&json!(19), &json!("sdk"))
    );

    let asynced = env.signed_send("gwc", &admin, &to, 20);
    let (status, rest) =
        env.rest_post("gwc", "/cosmos/tx/v1beta1/txs", &json!({"tx_bytes": b64(&asynced), "mode": 3})).await;
    assert_eq!((status, &rest["tx_response"]["code"]), (200, &json!(0)));
    let height = node.produce_blocks(1)[0];
    let block = env.rpc("gwc", "block", json!({"height": height.to_string()})).await;
    let txs = block["result"]["block"]["data"]["txs"].as_array().unwrap().clone();
    assert_eq!(
        txs,
        vec![json!(b64(&bytes)), json!(b64(&asynced))],
        "both in the next block, in arrival order"
    );
    let (_, balance) =
        env.rest("gwc", &format!("/cosmos/bank/v1beta1/balances/{to}/by_denom?denom=uatom")).await;
    assert_eq!(balance["balance"]["amount"], "30");

    // broadcast_tx_commit returns once a block includes the tx; the block is made on the event.
    let committed = env.signed_send("gwc", &admin, &to, 5);
    let call = env.rpc("gwc", "broadcast_tx_commit", json!({"tx": b64(&committed)}));
    let produce = async {
        tokio::time::timeout(WAIT, node.wait_for_mempool(|m| m.pending > 0))
            .await
            .expect("tx reaches the mempool");
        node.produce_blocks(1)[0]
    };
    let (answer, height) = tokio::join!(call, produce);
    assert_eq!(answer["result"]["height"], height.to_string(), "{answer}");
    assert_eq!(answer["result"]["tx_result"]["code"], 0);
    let found =
        env.rpc("gwc", "tx_search", json!({"query": format!("tx.hash='{}'", sha256_hex(&committed))})).await;
    assert_eq!(found["result"]["total_count"], "1");
    let by_height = env.rpc("gwc", "tx_search", json!({"query": format!("tx.height={height}")})).await;
    assert_eq!(by_height["result"]["txs"][0]["hash"], sha256_hex(&committed));
}

#[tokio::test]
async fn rest_serves_accounts_balances_blocks_and_txs() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = ChainEnv::manual().await;
    let admin = env.node("mdsc").genesis_key("local-admin");
    let (status, account) =
        env.rest("mdsc", &format!("/cosmos/auth/v1beta1/accounts/{}", admin.address)).await;
    assert_eq!(status, 200);
    assert_eq!(account["account"]["account_number"], "0");
    assert_eq!(account["account"]["pub_key"], Value::Null, "no tx yet");
    let (hash, height) = env.commit_send("mdsc", &admin, &admin.address, 1).await;
    let (status, tx) = env.rest("mdsc", &format!("/cosmos/tx/v1beta1/txs/{}", hash.to_lowercase())).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&tx["tx_response"]["txhash"], &tx["tx_response"]["height"]),
        (&json!(hash), &json!(height.to_string()))
    );
    assert_eq!(
        tx["tx_response"]["data"],
        "12260A242F636F736D6F732E62616E6B2E763162657461312E4D736753656E64526573706F6E7365"
    );
    assert_eq!(tx["tx"]["body"]["messages"][0]["@type"], "/cosmos.bank.v1beta1.MsgSend");
    let (_, block) = env.rest("mdsc", &format!("/cosmos/base/tendermint/v1beta1/blocks/{height}")).await;
    assert_eq!(block["block"]["data"]["txs"].as_array().map(Vec::len), Some(1));
    assert!(block["sdk_block"]["header"]["proposer_address"].as_str().unwrap().starts_with("cosmosvalcons1"));
    let (status, _) =
        env.rest("mdsc", &format!("/cosmos/base/tendermint/v1beta1/blocks/{}", height + 5)).await;
    assert_eq!(status, 400);
    let (_, page) = env
        .rest("mdsc", &format!("/cosmos/bank/v1beta1/balances/{}?pagination.limit=1", admin.address))
        .await;
    assert_eq!(
        page["pagination"],
        json!({"next_key": null, "total": "0"}),
        "paged without count_total: not counted"
    );
}

#[tokio::test]
async fn genesis_accounts_are_the_mnemonics_mounted_in_the_pods_on_every_chain() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = ChainEnv::manual().await;
    for chain in env.testbed.control.chain_ids() {
        let pod = env.testbed.control.pod(&format!("cryptomeria-{chain}-0")).expect("chain pod");
        for (role, balance) in [("local-admin", "1000000000000"), ("relayer", "1000000000")] {
            let words = pod
                .runtime
                .fs()
                .read_file(&format!("/etc/mnemonics/{chain}.{role}.mnemonic"))
                .expect("mounted");
            let key = TestKey::from_mnemonic(String::from_utf8(words).unwrap().trim()).expect("valid BIP39");
            let (_, body) = env
                .rest(&chain, &format!("/cosmos/bank/v1beta1/balances/{}/by_denom?denom=uatom", key.address))
                .await;
            assert_eq!(body["balance"]["amount"], balance, "{chain} {role}");
        }
    }
}

#[tokio::test]
async fn scaling_adds_and_removes_chain_nodes() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = ChainEnv::manual().await;
    env.testbed.control.scale_fdsc(3).expect("scale up");
    let status = env.rpc("fdsc-2", "status", json!({})).await;
    assert_eq!(status["result"]["node_info"]["network"], "fdsc-2");
    let rpc = env.url("fdsc-2", "rpc");
    env.testbed.control.scale_fdsc(2).expect("scale down");
    assert!(env.testbed.control.chain("fdsc-2").is_none());
    let fresh = reqwest::Client::new();
    let err = fresh.get(format!("{rpc}/status")).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}

#[tokio::test]
async fn garbage_gets_cometbft_and_gateway_errors_never_a_crash() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = ChainEnv::manual().await;
    let rpc_calls = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "broadcast_tx_sync", "params": {"tx": "%%%"}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "broadcast_tx_sync", "params": {"tx": b64(&[0xff; 40])}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "block", "params": {"height": "99999999999999999999"}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "block", "params": {"height": "-5"}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "blockchain", "params": ["-1", "x"]}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tx_search", "params": {"query": "tx.height >>> 'x"}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tx_search", "params": {"query": "tx.height>0", "page": "9"}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "abci_query", "params": {"path": "/cosmos.auth.v1beta1.Query/Account", "data": "zz"}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "abci_query", "params": {"path": "/cosmos.auth.v1beta1.Query/Account", "data": "0a03616263"}}),
        json!({"jsonrpc": "2.0", "id": {"x": 1}, "method": "health"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "validators", "params": 5}),
        json!(["not a request"]),
    ];
    for call in &rpc_calls {
        let (status, body) = env.rpc_post("gwc", call).await;
        assert_eq!(status, 200, "{call}");
        let body = if body.is_array() { body[0].clone() } else { body };
        assert!(
            body.get("error").is_some()
                || body["result"]["code"].as_u64().is_some_and(|c| c > 0)
                || body["result"]["response"]["code"].as_u64().is_some_and(|c| c > 0),
            "{call} → {body}"
        );
    }
    for path in [
        "/tx?hash=0xZZ",
        "/block?height=abc",
        "/broadcast_tx_sync?tx=notquoted",
        "/abci_query?path=%22x%22&data=0x00",
    ] {
        let (status, _) = env.get("gwc", "rpc", path).await;
        assert!(status == 500 || status == 200, "{path}: {status}");
    }
    let rest_calls = [
        ("/cosmos/auth/v1beta1/accounts/not-bech32", 500),
        ("/cosmos/bank/v1beta1/balances/cosmos1xyz", 400),
        (
            "/cosmos/bank/v1beta1/balances/cosmos1r5v5srda7xfth3hn2s26txvrcrntldjumt8mhl?pagination.limit=x",
            400,
        ),
        ("/cosmos/base/tendermint/v1beta1/blocks/-1", 500),
        ("/cosmos/base/tendermint/v1beta1/blocks/abc", 400),
        ("/cosmos/tx/v1beta1/txs/nothex", 404),
        ("/gwc/gateway/v1/storage_endpoints", 200),
    ];
    for (path, want) in rest_calls {
        let (status, body) = env.rest("gwc", path).await;
        assert_eq!(status, want, "{path}: {body}");
    }
    let (status, _) = env.rest("mdsc", "/gwc/gateway/v1/storage_endpoints").await;
    assert_eq!(status, 501, "only gwc has the gateway module");
    for body in [
        json!("x"),
        json!({"tx_bytes": "%%%"}),
        json!({"tx_bytes": b64(b"garbage"), "mode": "BROADCAST_MODE_SYNC"}),
    ] {
        let (status, _) = env.rest_post("gwc", "/cosmos/tx/v1beta1/txs", &body).await;
        assert!(status == 200 || status == 400, "{body}: {status}");
        let (status, _) = env.rest_post("gwc", "/cosmos/tx/v1beta1/simulate", &body).await;
        assert!(status == 400 || status == 500, "{body}: {status}");
    }
    let status = env.rpc("gwc", "status", json!({})).await;
    assert_eq!(status["result"]["sync_info"]["catching_up"], false, "still serving");
}
