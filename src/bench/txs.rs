//! Pre-signed MsgSends for the load figures, signed in Rust with the testbed's own tx code
//! (SIGN_MODE_DIRECT over secp256k1, as CosmJS does in the tests), on both cores.

use anyhow::{Context as _, ensure};
use testbed::chain::ChainNode;
use testbed::chain::coins::Coin;
use testbed::chain::keys::TestKey;
use testbed::chain::msgs::msg_send;
use testbed::chain::tx_codec::UnsignedTx;

/// A funded signer and the next sequence it signs with.
pub struct Signer {
    pub key: TestKey,
    pub number: u64,
    pub next: u64,
}

impl Signer {
    /// The chain's genesis `local-admin` at its current sequence.
    pub fn local_admin(node: &ChainNode) -> anyhow::Result<Self> {
        let key = node.genesis_key("local-admin");
        let account = node.account(&key.address).context("local-admin account")?;
        Ok(Self { key, number: account.number, next: account.sequence })
    }
}

fn sign_one(key: &TestKey, chain: &str, number: u64, sequence: u64, to: &str) -> Vec<u8> {
    let msg = msg_send(&key.address, to, &[Coin::uatom(1)]);
    UnsignedTx::new(vec![msg], Coin::uatom(200), 200_000).sign(key, chain, number, sequence)
}

/// `count` txs from each signer, in sequence order per signer, signed on two threads.
/// Returns them interleaved signer by signer (`s0#0, s1#0, …, s0#1, …`).
pub fn sign(chain: &str, signers: &mut [Signer], count: u64) -> Vec<Vec<u8>> {
    let to = TestKey::random().address;
    let jobs: Vec<(TestKey, u64, u64)> = signers.iter().map(|s| (s.key.clone(), s.number, s.next)).collect();
    for s in signers.iter_mut() {
        s.next += count;
    }
    let per_signer: Vec<Vec<Vec<u8>>> = std::thread::scope(|scope| {
        let sign_range = |(key, number, first): &(TestKey, u64, u64), part: std::ops::Range<u64>| {
            part.map(|i| sign_one(key, chain, *number, first + i, &to)).collect::<Vec<_>>()
        };
        let handles: Vec<_> = jobs
            .iter()
            .map(|job| {
                let half = count / 2;
                let first = scope.spawn(move || sign_range(job, 0..half));
                let second = sign_range(job, half..count);
                (first, second)
            })
            .collect();
        handles
            .into_iter()
            .map(|(first, second)| {
                let mut txs = first.join().unwrap_or_default();
                txs.extend(second);
                txs
            })
            .collect()
    });
    let mut out = Vec::with_capacity(per_signer.len() * count as usize);
    for i in 0..count as usize {
        out.extend(per_signer.iter().filter_map(|txs| txs.get(i).cloned()));
    }
    out
}

/// `n` fresh signers funded by `local-admin` in one multi-message tx, committed.
pub fn fund_signers(node: &ChainNode, chain: &str, n: usize) -> anyhow::Result<Vec<Signer>> {
    let mut admin = Signer::local_admin(node)?;
    let keys: Vec<TestKey> = (0..n).map(|_| TestKey::random()).collect();
    let msgs =
        keys.iter().map(|k| msg_send(&admin.key.address, &k.address, &[Coin::uatom(10_000_000)])).collect();
    let gas = 50_000 * n as u64 + 100_000;
    let fund = UnsignedTx::new(msgs, Coin::uatom(u128::from(gas).div_ceil(1000)), gas).sign(
        &admin.key,
        chain,
        admin.number,
        admin.next,
    );
    admin.next += 1;
    let admitted = node.check_tx(&fund).map_err(|e| anyhow::anyhow!("funding tx refused: {e}"))?;
    ensure!(admitted.result.code == 0, "funding tx: {}", admitted.result.log);
    node.produce_blocks(1);
    keys.into_iter()
        .map(|key| {
            let number = node.account(&key.address).context("funded account")?.number;
            Ok(Signer { key, number, next: 0 })
        })
        .collect()
}
