//! How fast a testbed chain takes transactions, so later measurements of the BFF never have
//! the testbed as their bottleneck. Pushes pre-signed MsgSends (50 funded senders × 100
//! sequences by default) through `broadcast_tx_sync` on gwc's RPC NodePort and prints the
//! accepted tx/s and how many of them blocks included, and how fast.
//!
//! Run: `cargo bench --bench chain_throughput` (env: BENCH_SENDERS, BENCH_TXS_PER_SENDER,
//! BENCH_BLOCK_INTERVAL_MS).

use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use testbed::Testbed;
use testbed::chain::coins::Coin;
use testbed::chain::keys::TestKey;
use testbed::chain::msgs::msg_send;
use testbed::chain::tx_codec::{UnsignedTx, hash_hex, tx_hash};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let senders = env_number("BENCH_SENDERS", 50) as usize;
    let per_sender = env_number("BENCH_TXS_PER_SENDER", 100);
    let interval = Duration::from_millis(env_number("BENCH_BLOCK_INTERVAL_MS", 1000));
    let testbed = Testbed::builder().block_interval(None).start().await.expect("testbed starts");
    let node = testbed.control.chain("gwc").expect("gwc");
    let (rpc_port, _, _) = testbed.control.node_ports("gwc").expect("NodePorts");
    let url = format!("http://127.0.0.1:{rpc_port}");

    // Fund the senders with one multi-message tx from local-admin.
    let admin = node.genesis_key("local-admin");
    let keys: Vec<TestKey> = (0..senders).map(|_| TestKey::random()).collect();
    let funding: Vec<_> =
        keys.iter().map(|k| msg_send(&admin.address, &k.address, &[Coin::uatom(10_000_000)])).collect();
    let gas = 50_000 * senders as u64 + 100_000;
    let fund =
        UnsignedTx::new(funding, Coin::uatom(u128::from(gas).div_ceil(1000)), gas).sign(&admin, "gwc", 0, 0);
    let funded = node.check_tx(&fund).expect("admitted");
    assert_eq!(funded.result.code, 0, "funding tx: {}", funded.result.log);
    node.produce_blocks(1);
    assert_eq!(node.find_tx(&funded.hash).map(|t| t.result().code), Some(0), "funding tx committed");

    // Pre-sign every tx, sender by sender in sequence order.
    let sign_started = Instant::now();
    let recipient = TestKey::random().address;
    let batches: Vec<Vec<Vec<u8>>> = keys
        .iter()
        .map(|key| {
            let number = node.account(&key.address).expect("funded").number;
            (0..per_sender)
                .map(|seq| {
                    let msg = msg_send(&key.address, &recipient, &[Coin::uatom(1)]);
                    UnsignedTx::new(vec![msg], Coin::uatom(200), 200_000).sign(key, "gwc", number, seq)
                })
                .collect()
        })
        .collect();
    let total: usize = batches.iter().map(Vec::len).sum();
    println!("signed {total} txs from {senders} senders in {:.2?}", sign_started.elapsed());

    // Broadcast: one task per sender (sequences must arrive in order), blocks by interval.
    node.set_block_interval(Some(interval));
    let start_height = node.latest_height();
    let http = reqwest::Client::new();
    let started = Instant::now();
    let tasks: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                let mut accepted = Vec::new();
                let mut rejected: BTreeMap<String, u64> = BTreeMap::new();
                for tx in batch {
                    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "broadcast_tx_sync",
                                      "params": {"tx": base64::engine::general_purpose::STANDARD.encode(&tx)}});
                    let answer: Value = http.post(&url).json(&body).send().await.expect("rpc").json().await.expect("json");
                    let why = match (&answer["result"]["code"], &answer["error"]["data"]) {
                        (Value::Number(code), _) if code.as_u64() == Some(0) => {
                            accepted.push(tx_hash(&tx));
                            continue;
                        }
                        (Value::Number(code), _) => format!("CheckTx code {code}"),
                        (_, Value::String(error)) => error.split(':').next().unwrap_or_default().to_string(),
                        _ => "no answer".to_string(),
                    };
                    *rejected.entry(why).or_default() += 1;
                }
                (accepted, rejected)
            })
        })
        .collect();
    let mut accepted = Vec::new();
    let mut rejected: BTreeMap<String, u64> = BTreeMap::new();
    for task in tasks {
        let (ok, bad) = task.await.expect("sender task");
        accepted.extend(ok);
        for (why, n) in bad {
            *rejected.entry(why).or_default() += n;
        }
    }
    let rejected_total: u64 = rejected.values().sum();
    let broadcast_time = started.elapsed();

    // Inclusion: wait (on mempool events) until every accepted tx left the mempool.
    let drained =
        tokio::time::timeout(Duration::from_secs(120), node.wait_for_mempool(|m| m.pending == 0)).await;
    let included_time = started.elapsed();
    node.set_block_interval(None);
    let included = accepted.iter().filter(|h| node.find_tx(h).is_some_and(|t| t.result().code == 0)).count();
    let blocks = node.latest_height() - start_height;
    let fullest = (start_height + 1..=node.latest_height())
        .filter_map(|h| node.block(h))
        .map(|b| b.txs.len())
        .max()
        .unwrap_or(0);

    println!("chain_throughput: gwc, {senders} senders x {per_sender} txs, block interval {interval:?}");
    println!(
        "  broadcast_tx_sync: {total} sent, {} accepted, {rejected_total} rejected {rejected:?} in {broadcast_time:.2?}",
        accepted.len()
    );
    println!("  accepted tx/s:     {:.0}", accepted.len() as f64 / broadcast_time.as_secs_f64());
    println!(
        "  block inclusion:   {included}/{} accepted txs included ({:.1}%) in {blocks} blocks (fullest {fullest} txs), all by {included_time:.2?}{}",
        accepted.len(),
        100.0 * included as f64 / accepted.len().max(1) as f64,
        if drained.is_err() { " (mempool not drained after 120 s)" } else { "" }
    );
    println!("  included tx/s:     {:.0}", included as f64 / included_time.as_secs_f64());
    if let Some(first) = accepted.first() {
        println!("  sample tx hash:    {}", hash_hex(first));
    }
}
