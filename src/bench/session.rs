//! An upload session through gwc's gateway as the experiment runner drives it (alice's
//! init-session, grants and root, a TUS upload, gwc's executor), the packet flow P10 waits
//! on: it is CLOSED_SUCCESS only once the relayer has carried the fragments to fdsc, the
//! manifest to mdsc and mdsc's ack back. The `gwcd` commands run inside the gwc pod through
//! the testbed's control handle, not `pods/exec`, so the API server's exec counter keeps
//! counting the BFF's execs alone.

use anyhow::{Context as _, bail, ensure};
use serde_json::Value;
use std::time::Duration;
use testbed::Testbed;

const GWC_POD: &str = "cryptomeria-gwc-0";
pub const CLOSED_SUCCESS: &str = "SESSION_STATE_CLOSED_SUCCESS";

/// `gwcd ARGS…` in the gwc pod; its stdout as JSON.
async fn gwcd(testbed: &Testbed, args: &[&str]) -> anyhow::Result<Value> {
    let pod = testbed.control.pod(GWC_POD).context("the gwc pod")?;
    let mut argv = vec!["gwcd"];
    argv.extend_from_slice(args);
    let out = pod.runtime.exec_collect(&argv, b"").await;
    ensure!(out.code == 0, "gwcd {args:?}: exit {}: {}", out.code, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).with_context(|| format!("gwcd {args:?} printed no JSON"))
}

/// `gwcd tx ARGS… --from FROM` with the flags `lib/upload.ts` passes, waited until
/// committed with code 0; the committed tx as `gwcd q tx` prints it.
async fn gwc_tx(testbed: &Testbed, args: &[&str], from: &str) -> anyhow::Result<Value> {
    let mut argv = vec!["tx"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--from", from, "--keyring-backend", "test", "--gas", "auto"]);
    argv.extend_from_slice(&["--gas-adjustment", "1.5", "--gas-prices", "0.001uatom", "-o", "json", "-y"]);
    let sent = gwcd(testbed, &argv).await?;
    ensure!(sent["code"] == 0, "{args:?} refused: {sent}");
    let hash = sent["txhash"].as_str().context("txhash")?.to_string();
    let mut raw = [0u8; 32];
    hex::decode_to_slice(&hash, &mut raw)?;
    let gwc = testbed.control.chain("gwc").context("gwc")?;
    gwc.wait_for_tx(&raw, super::harness::WAIT).await.with_context(|| format!("{args:?} never committed"))?;
    let tx = gwcd(testbed, &["q", "tx", &hash, "-o", "json"]).await?;
    ensure!(tx["code"] == 0, "{args:?} failed in its block: {tx}");
    Ok(tx)
}

/// Uploads a one-fragment project the way the experiment runner does (the owner `alice`
/// inits, grants local-admin and commits the root; TUS to gwc's REST port; gwc's executor
/// distributes and finalizes) and returns the session id (the packets are then on gwc,
/// waiting for the relayer).
pub async fn upload(testbed: &Testbed, project: &str) -> anyhow::Result<String> {
    upload_bytes(testbed, project, b"hello").await
}

/// [`upload`] of one file of `page`'s bytes: one fragment per KiB, each a packet to fdsc.
pub async fn upload_bytes(testbed: &Testbed, project: &str, page: &[u8]) -> anyhow::Result<String> {
    let alice =
        match gwcd(testbed, &["keys", "add", "alice", "--keyring-backend", "test", "--output", "json"]).await
        {
            Ok(v) => v["address"].as_str().context("address")?.to_string(),
            Err(_) => {
                let pod = testbed.control.pod(GWC_POD).context("the gwc pod")?;
                let out = pod.runtime.exec_collect(&["gwcd", "keys", "show", "alice", "-a"], b"").await;
                String::from_utf8_lossy(&out.stdout).trim().to_string()
            }
        };
    gwc_tx(testbed, &["bank", "send", "local-admin", &alice, "10000000uatom"], "local-admin").await?;
    let (zip, root) = testbed::chain::merkle::zip_project(&[("index.html", page)], 1024);
    let init = gwc_tx(testbed, &["gateway", "init-session", "1024", "0", "2"], "alice").await?;
    let attr = |key: &str| super::tus::attr(&init, "csu_init_session", key);
    let (id, owner, exec) = (attr("session_id")?, attr("owner")?, attr("executor")?);
    gwc_tx(testbed, &["feegrant", "grant", &owner, &exec], "alice").await?;
    for m in ["MsgDistributeBatch", "MsgFinalizeAndCloseSession", "MsgAbortAndCloseSession"] {
        let url = format!("/gwc.gateway.v1.{m}");
        gwc_tx(testbed, &["authz", "grant", &exec, "generic", "--msg-type", &url], "alice").await?;
    }
    gwc_tx(testbed, &["gateway", "commit-root-proof", &id, &root], "alice").await?;
    let (_, api, _) = testbed.control.node_ports("gwc").context("gwc's ports")?;
    super::tus::upload(&format!("http://127.0.0.1:{api}"), &id, project, "v1", zip).await?;
    // The executor's finalize leaves the session FINALIZING (or later).
    let gwc = testbed.control.chain("gwc").context("gwc")?;
    let mut heights = gwc.subscribe_heights();
    tokio::time::timeout(super::harness::WAIT, async {
        loop {
            let s = state(testbed, &id).await.unwrap_or_default();
            if s == "SESSION_STATE_FINALIZING" || s == CLOSED_SUCCESS {
                return;
            }
            if heights.changed().await.is_err() {
                return;
            }
        }
    })
    .await
    .with_context(|| format!("session {id} was never finalized"))?;
    Ok(id)
}

/// The session's state (`gwcd q gateway session ID`).
pub async fn state(testbed: &Testbed, id: &str) -> anyhow::Result<String> {
    let session = gwcd(testbed, &["q", "gateway", "session", id, "-o", "json"]).await?;
    Ok(session["session"]["state"].as_str().unwrap_or_default().to_string())
}

/// Re-reads the session on every gwc block until it is CLOSED_SUCCESS; fails after `within`.
pub async fn await_closed(testbed: &Testbed, id: &str, within: Duration) -> anyhow::Result<()> {
    match closed_within(testbed, id, within).await? {
        s if s == CLOSED_SUCCESS => Ok(()),
        s => bail!("session {id} still {s} after {within:?}"),
    }
}

/// Re-reads the session on every gwc block until it is CLOSED_SUCCESS or `within` passed;
/// the last state read.
pub async fn closed_within(testbed: &Testbed, id: &str, within: Duration) -> anyhow::Result<String> {
    let gwc = testbed.control.chain("gwc").context("gwc")?;
    let mut heights = gwc.subscribe_heights();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let s = state(testbed, id).await?;
        if s == CLOSED_SUCCESS || tokio::time::Instant::now() >= deadline {
            return Ok(s);
        }
        let _ = tokio::time::timeout_at(deadline, heights.changed()).await;
    }
}
