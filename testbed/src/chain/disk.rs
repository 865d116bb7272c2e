//! What a chain node keeps on disk, mirrored into its pod's data directory so that
//! `du -sb <home>/data/*/` grows as the real node's does: `blockstore.db` by every block
//! (header, commit and tx bytes), `state.db` and `tx_index.db` a little per block and per tx,
//! `application.db` by the application state (accounts, sessions, and on the storage chains
//! the fragments and manifests they keep). `priv_validator_state.json` records the last
//! height written.

use super::ChainNode;
use super::ledger::Ledger;
use crate::pod::Fs;
use prost::Message as _;
use tokio_util::sync::CancellationToken;

/// Bytes a block's header, commit and metadata take in the block store.
const BLOCK_OVERHEAD: usize = 1_024;
const STATE_PER_BLOCK: usize = 512;
const INDEX_PER_TX: usize = 256;
/// The application store of a fresh chain (genesis, params, module accounts).
const APP_BASE: usize = 64 * 1024;

/// The application state's size as the store would hold it.
pub fn app_bytes(l: &Ledger) -> usize {
    let g = l.gateway();
    let fragments: usize =
        g.fragments.values().map(|f| f.data.len() + f.fragment_id.len() + f.path.len() + 160).sum();
    let manifests: usize = g.manifests.values().map(|m| m.encoded_len() + 64).sum();
    let p = l.packets();
    APP_BASE
        + l.accounts().count() * 150
        + g.sessions.len() * 400
        + fragments
        + manifests
        + (p.commitments.len() + p.acks.len() + p.receipts.len()) * 96
}

/// Writes the data directory under `home` for every block from the last recorded one, then
/// follows the chain until `cancel`.
pub async fn mirror(node: ChainNode, fs: Fs, home: String, cancel: CancellationToken) {
    let data = format!("{home}/data");
    for dir in ["application.db", "blockstore.db", "state.db", "tx_index.db", "snapshots", "cs.wal"] {
        let _ = fs.mkdir_p(&format!("{data}/{dir}"));
    }
    let progress = format!("{data}/priv_validator_state.json");
    let mut done: u64 = fs
        .read_file(&progress)
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["height"].as_str().and_then(|h| h.parse().ok()))
        .unwrap_or(0);
    let mut heights = node.subscribe_heights();
    let mut app_size = 0;
    loop {
        let height = node.latest_height();
        for h in done + 1..=height {
            let Some(b) = node.block(h) else { break };
            let txs: usize = b.txs.iter().map(|t| t.len()).sum();
            let _ =
                fs.append_file(&format!("{data}/blockstore.db/000001.log"), &vec![0; BLOCK_OVERHEAD + txs]);
            let _ = fs.append_file(&format!("{data}/state.db/000001.log"), &[0; STATE_PER_BLOCK]);
            if !b.txs.is_empty() {
                let _ = fs.append_file(
                    &format!("{data}/tx_index.db/000001.log"),
                    &vec![0; INDEX_PER_TX * b.txs.len()],
                );
            }
            done = h;
        }
        let size = node.read_state(app_bytes);
        if size != app_size {
            fs.write_file(&format!("{data}/application.db/000001.ldb"), vec![0; size]);
            app_size = size;
        }
        let state = serde_json::json!({"height": done.to_string(), "round": 0, "step": 3});
        fs.write_file(&progress, state.to_string());
        tokio::select! {
            _ = cancel.cancelled() => return,
            changed = heights.changed() => if changed.is_err() { return },
        }
    }
}
