//! The gwc node's executor (Cryptomeria-core `client/executor/executor.go
//! ExecuteSessionUpload`), run when a TUS upload completes: unzip and fragment the project,
//! rebuild the Merkle proofs and compare the root with the committed one, send
//! `MsgDistributeBatch` (50 fragments a tx, round-robin over the session's fdsc channels) and
//! then `MsgFinalizeAndCloseSession` as local-admin with the owner as fee granter, each
//! confirmed in a block. Any failure before finalize aborts the session with the reason the
//! Go code gives.

use super::ChainNode;
use super::coins::{Coin, DENOM};
use super::gas::required_fee;
use super::keys::TestKey;
use super::merkle::{build_proofs, file_root, process_zip};
use super::packets::any_of;
use super::sessions::*;
use super::tx_codec::{UnsignedTx, decode_tx, tx_hash};
use std::time::Duration;

const MAX_FRAGMENTS_PER_BATCH: usize = 50;
/// How long a tx may take to be included (the executor polls 20 × 3 s).
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(60);

/// `mime.TypeByExtension` for the types a site carries.
pub fn mime_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("wasm") => "application/wasm",
        Some("xml") => "text/xml; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Signs as local-admin with `owner` paying, simulates for gas (× 1.5) unless `gas` is given,
/// broadcasts and waits for the block; the committed code and log.
async fn submit(node: &ChainNode, owner: &str, msg: cosmrs::Any, gas: Option<u64>) -> Result<(), String> {
    let key = TestKey::for_role(node.chain_id(), "local-admin");
    let account = node.account(&key.address).ok_or("executor account not found")?;
    let sign =
        |gas: u64| {
            UnsignedTx::new(vec![msg.clone()], Coin::new(required_fee(gas), DENOM), gas)
                .with_granter(owner)
                .sign(&key, node.chain_id(), account.number, account.sequence)
        };
    let gas = match gas {
        Some(g) => g,
        None => {
            let tx = decode_tx(&sign(0)).map_err(|e| e.to_string())?;
            let sim = node.simulate(&tx);
            if sim.code != 0 {
                return Err(format!("simulation failed (code {}): {}", sim.code, sim.log));
            }
            (sim.gas_used as f64 * 1.5).ceil() as u64
        }
    };
    let bytes = sign(gas);
    let checked = node.check_tx(&bytes).map_err(|e| e.to_string())?;
    if checked.result.code != 0 {
        return Err(format!("tx rejected (code {}): {}", checked.result.code, checked.result.log));
    }
    let tx = node.wait_for_tx(&tx_hash(&bytes), CONFIRM_TIMEOUT).await.ok_or("tx confirmation timed out")?;
    match tx.result().code {
        0 => Ok(()),
        code => Err(format!("tx failed (code {code}): {}", tx.result().log)),
    }
}

async fn abort(node: &ChainNode, s: &Session, reason: &str) -> Result<(), String> {
    let m = MsgAbortAndCloseSession {
        executor: s.executor.clone(),
        session_id: s.session_id.clone(),
        reason: reason.to_string(),
    };
    submit(node, &s.owner, any_of(MSG_ABORT_AND_CLOSE, &m), Some(200_000)).await?;
    Err(format!("session aborted: {reason}"))
}

/// `ExecuteSessionUpload`.
pub async fn execute(
    node: ChainNode,
    session_id: String,
    zip: Vec<u8>,
    project: String,
    version: String,
) -> Result<(), String> {
    let session = node
        .read_state(|l| l.gateway().sessions.get(&session_id).cloned())
        .ok_or_else(|| format!("session {session_id} not found"))?;
    if session.state.closed() {
        return Err(format!("session {session_id} is already closed"));
    }
    let mut datastores: Vec<(String, String)> = node
        .storage_endpoints()
        .into_iter()
        .filter(|i| i.connection_type == "datastore" && !i.channel_id.is_empty())
        .map(|i| (i.chain_id, i.channel_id))
        .collect();
    if datastores.is_empty() {
        return Err("no usable FDSC storage found".into());
    }
    datastores.sort_by(|a, b| a.1.cmp(&b.1));
    if session.num_fdsc_chains > 0 {
        datastores.truncate(session.num_fdsc_chains as usize);
    }
    let size = if session.fragment_size == 0 { 1024 * 1024 } else { session.fragment_size as usize };
    let Ok(files) = process_zip(&zip, size) else {
        return abort(&node, &session, "INVALID_ZIP_CONTENT").await;
    };
    let Ok((root, fragments)) = build_proofs(&files) else {
        return abort(&node, &session, "PROOF_GENERATION_FAILED").await;
    };
    if root != session.root_proof_hex {
        return abort(&node, &session, "ROOT_PROOF_MISMATCH").await;
    }
    for (batch_no, batch) in fragments.chunks(MAX_FRAGMENTS_PER_BATCH).enumerate() {
        let items = batch
            .iter()
            .enumerate()
            .map(|(j, f)| DistributeItem {
                path: f.path.clone(),
                index: f.index,
                fragment_bytes: f.bytes.clone(),
                fragment_proof: Some(f.fragment_proof.clone()),
                file_size: f.file_size,
                file_proof: Some(f.file_proof.clone()),
                target_fdsc_channel: datastores[(batch_no * MAX_FRAGMENTS_PER_BATCH + j) % datastores.len()]
                    .1
                    .clone(),
            })
            .collect();
        let m =
            MsgDistributeBatch { executor: session.executor.clone(), session_id: session_id.clone(), items };
        if submit(&node, &session.owner, any_of(MSG_DISTRIBUTE_BATCH, &m), None).await.is_err() {
            return abort(&node, &session, "DISTRIBUTE_TX_FAILED").await;
        }
    }
    let mut by_path: std::collections::BTreeMap<&str, Vec<FragmentMapping>> = Default::default();
    for (i, f) in fragments.iter().enumerate() {
        by_path.entry(&f.path).or_default().push(FragmentMapping {
            fdsc_id: datastores[i % datastores.len()].0.clone(),
            fragment_id: fragment_id(&session_id, &f.path, f.index),
        });
    }
    let files = files
        .iter()
        .map(|f| ManifestFileEntry {
            path: f.path.clone(),
            metadata: Some(FileMetadata {
                mime_type: mime_type(&f.filename).to_string(),
                file_size: f.content.len() as u64,
                fragments: by_path.remove(f.path.as_str()).unwrap_or_default(),
                file_root: file_root(&f.path, &f.chunks),
            }),
        })
        .collect();
    let manifest = ManifestPacket {
        project_name: project,
        version,
        files,
        root_proof: root,
        fragment_size: session.fragment_size,
        owner: session.owner.clone(),
        session_id: session_id.clone(),
    };
    let m = MsgFinalizeAndCloseSession {
        executor: session.executor.clone(),
        session_id,
        manifest: Some(manifest),
    };
    submit(&node, &session.owner, any_of(MSG_FINALIZE_AND_CLOSE, &m), None).await
}
