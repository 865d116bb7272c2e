//! A node in manual mode, driven in-process: CheckTx codes and raw logs, block contents,
//! header times and hashes chaining, mempool and cache rules.

use super::coins::Coin;
use super::keys::TestKey;
use super::mempool::MempoolError;
use super::msgs::msg_send;
use super::node::{ChainNode, NodeConfig};
use super::tx_codec::UnsignedTx;

fn manual_node(chain_id: &str) -> ChainNode {
    ChainNode::new(NodeConfig {
        chain_id: chain_id.into(),
        app_name: "gwc".into(),
        moniker: format!("cryptomeria-{chain_id}-0"),
        block_interval: None,
    })
}

fn send(from: &TestKey, to: &str, amount: u128) -> UnsignedTx {
    UnsignedTx::new(vec![msg_send(&from.address, to, &[Coin::uatom(amount)])], Coin::uatom(200), 200_000)
}

#[tokio::test]
async fn a_signed_send_passes_checktx_and_moves_coins_in_the_next_block() {
    let node = manual_node("gwc");
    let admin = node.genesis_key("local-admin");
    let to = TestKey::random().address;
    let before = node.balance(&admin.address, "uatom");
    let out = node.check_tx(&send(&admin, &to, 1234).sign(&admin, "gwc", 0, 0)).unwrap();
    assert_eq!((out.result.code, out.result.log.as_str()), (0, ""));
    assert_eq!(node.balance(&to, "uatom"), 0, "nothing moves before a block");
    let [height] = node.produce_blocks(1)[..] else { panic!("one block") };
    let tx = node.find_tx(&out.hash).expect("committed");
    assert_eq!((tx.height(), tx.result().code), (height, 0));
    assert_eq!(node.balance(&to, "uatom"), 1234);
    assert_eq!(node.balance(&admin.address, "uatom"), before - 1234 - 200);
    assert_eq!(node.account(&admin.address).unwrap().sequence, 1);
    assert!(node.account(&admin.address).unwrap().pub_key.is_some(), "the first tx sets the public key");
}

#[tokio::test]
async fn a_stale_sequence_is_code_32_with_the_sdk_raw_log() {
    let node = manual_node("gwc");
    let admin = node.genesis_key("local-admin");
    node.check_tx(&send(&admin, &admin.address, 1).sign(&admin, "gwc", 0, 0)).unwrap();
    node.produce_blocks(1);
    let stale = node.check_tx(&send(&admin, &admin.address, 2).sign(&admin, "gwc", 0, 0)).unwrap();
    assert_eq!(stale.result.code, 32);
    assert_eq!(stale.result.codespace, "sdk");
    assert_eq!(stale.result.log, "account sequence mismatch, expected 1, got 0: incorrect account sequence");
}

#[tokio::test]
async fn consecutive_sequences_wait_in_the_mempool_together() {
    let node = manual_node("gwc");
    let admin = node.genesis_key("local-admin");
    for seq in 0..3 {
        let out = node
            .check_tx(&send(&admin, &admin.address, 1 + seq as u128).sign(&admin, "gwc", 0, seq))
            .unwrap();
        assert_eq!(out.result.code, 0, "{}", out.result.log);
    }
    assert_eq!(node.mempool_status().pending, 3);
    let block = node.block(node.produce_blocks(1)[0]).unwrap();
    assert_eq!(block.txs.len(), 3);
    assert!(block.results.iter().all(|r| r.code == 0));
    assert_eq!(node.mempool_status().pending, 0);
}

#[tokio::test]
async fn a_signature_by_another_key_or_for_another_chain_is_code_4() {
    let node = manual_node("gwc");
    let admin = node.genesis_key("local-admin");
    let relayer = node.genesis_key("relayer");
    let wrong_key = send(&admin, &relayer.address, 1).sign_with(&relayer, &admin.public_key, "gwc", 0, 0);
    let out = node.check_tx(&wrong_key).unwrap();
    assert_eq!(out.result.code, 4);
    assert_eq!(
        out.result.log,
        "signature verification failed; please verify account number (0) and chain-id (gwc): (unable to verify single signer signature): unauthorized"
    );
    let other_chain = node.check_tx(&send(&admin, &relayer.address, 1).sign(&admin, "mdsc", 0, 0)).unwrap();
    assert_eq!(other_chain.result.code, 4);
    assert_eq!(node.account(&admin.address).unwrap().sequence, 0, "a rejected tx changes nothing");
}

#[tokio::test]
async fn fees_below_the_minimum_or_in_another_denom_are_code_13() {
    let node = manual_node("gwc");
    let admin = node.genesis_key("local-admin");
    let mut cheap = send(&admin, &admin.address, 1);
    cheap.fee = vec![Coin::uatom(100)];
    let out = node.check_tx(&cheap.sign(&admin, "gwc", 0, 0)).unwrap();
    assert_eq!(
        (out.result.code, out.result.log.as_str()),
        (13, "insufficient fees; got: 100uatom required: 200uatom: insufficient fee")
    );
    cheap.fee = vec![Coin::new(500, "stake")];
    let out = node.check_tx(&cheap.sign(&admin, "gwc", 0, 0)).unwrap();
    assert_eq!(out.result.code, 13);
}

#[tokio::test]
async fn a_fee_above_the_balance_is_code_5_and_an_overspend_fails_in_the_block() {
    let node = manual_node("gwc");
    let relayer = node.genesis_key("relayer");
    let mut rich_fee = send(&relayer, &relayer.address, 1);
    rich_fee.fee = vec![Coin::uatom(2_000_000_000)];
    let out = node.check_tx(&rich_fee.sign(&relayer, "gwc", 1, 0)).unwrap();
    assert_eq!(out.result.code, 5);
    assert_eq!(
        out.result.log,
        "spendable balance 1000000000uatom is smaller than 2000000000uatom: insufficient funds: insufficient funds"
    );
    // CheckTx does not run messages: an overspend passes it and fails in DeliverTx, paying the fee.
    let to = TestKey::random().address;
    let out = node.check_tx(&send(&relayer, &to, 5_000_000_000).sign(&relayer, "gwc", 1, 0)).unwrap();
    assert_eq!(out.result.code, 0);
    node.produce_blocks(1);
    let tx = node.find_tx(&out.hash).unwrap();
    assert_eq!(tx.result().code, 5);
    assert_eq!(
        tx.result().log,
        "failed to execute message; message index: 0: spendable balance 999999800uatom is smaller than 5000000000uatom: insufficient funds"
    );
    assert_eq!(node.balance(&relayer.address, "uatom"), 1_000_000_000 - 200);
    assert_eq!(node.balance(&to, "uatom"), 0);
}

#[tokio::test]
async fn a_rebroadcast_hits_the_cache_but_a_rejected_tx_may_be_sent_again() {
    let node = manual_node("gwc");
    let admin = node.genesis_key("local-admin");
    let ok = send(&admin, &admin.address, 1).sign(&admin, "gwc", 0, 0);
    node.check_tx(&ok).unwrap();
    assert_eq!(node.check_tx(&ok).unwrap_err(), MempoolError::InCache);
    node.produce_blocks(1);
    assert_eq!(node.check_tx(&ok).unwrap_err(), MempoolError::InCache, "committed txs stay in the cache");
    let garbage = b"sync-key=value";
    assert_eq!(node.check_tx(garbage).unwrap().result.code, 2);
    assert_eq!(node.check_tx(garbage).unwrap().result.code, 2);
}

#[tokio::test]
async fn header_times_strictly_increase_and_blocks_chain_by_id() {
    let node = manual_node("mdsc");
    node.produce_blocks(5);
    let blocks: Vec<_> = (1..=6).map(|h| node.block(h).unwrap()).collect();
    for pair in blocks.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        assert!(next.header.time > prev.header.time);
        assert_eq!(next.header.last_block_id, Some(prev.id));
        assert_eq!(next.last_commit.block_id, Some(prev.id));
        // BFT time with one validator: a header's time is the previous precommit's.
        assert_eq!(next.header.time, next.last_commit.signatures[0].timestamp);
        assert_eq!(next.header.app_hash, prev.app_hash_after);
    }
    assert_eq!(blocks[0].header.last_block_id, None);
}
