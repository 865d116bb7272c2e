//! An upload session through gwc's gateway (init-session → commit-root-proof →
//! distribute-batch → finalize-and-close, signed by local-admin), the packet flow P10 waits
//! on: it is CLOSED_SUCCESS only once the relayer has carried the fragments to fdsc, the
//! manifest to mdsc and mdsc's ack back. The `gwcd` commands run inside the gwc pod through
//! the testbed's control handle, not `pods/exec`, so the API server's exec counter keeps
//! counting the BFF's execs alone.

use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};
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

/// `gwcd tx gateway ARGS…` as local-admin, waited until committed with code 0; the
/// committed tx as `gwcd q tx` prints it.
async fn gateway_tx(testbed: &Testbed, args: &[&str]) -> anyhow::Result<Value> {
    let mut argv = vec!["tx", "gateway"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--from", "local-admin", "--gas-prices", "0.1uatom", "-o", "json", "-y"]);
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

/// Uploads a one-fragment project and returns the session id (the packets are then on gwc,
/// waiting for the relayer).
pub async fn upload(testbed: &Testbed, project: &str) -> anyhow::Result<String> {
    let tx = gateway_tx(testbed, &["init-session", "1024", "0", "2"]).await?;
    let event = tx["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "csu_init_session"))
        .context("no csu_init_session event")?;
    let attr = |k: &str| {
        event["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["key"] == k))
            .and_then(|a| a["value"].as_str())
            .map(str::to_string)
            .with_context(|| format!("no {k} attribute"))
    };
    let (id, owner) = (attr("session_id")?, attr("owner")?);
    let root = "ab".repeat(32);
    gateway_tx(testbed, &["commit-root-proof", &id, &root]).await?;
    let gwc = testbed.control.pod(GWC_POD).context("the gwc pod")?;
    let items = json!({"items": [{"path": "index.html", "index": 0, "fragment_bytes_base64": "aGVsbG8=", "file_size": 5}]});
    gwc.runtime.fs().write_file("/tmp/items.json", items.to_string());
    gateway_tx(testbed, &["distribute-batch", &id, "/tmp/items.json"]).await?;
    let manifest = json!({"project_name": project, "version": "v1", "root_proof": root,
        "fragment_size": 1024, "owner": owner, "session_id": id,
        "files": [{"path": "index.html", "metadata": {"mime_type": "text/html", "file_size": 5, "fragments": []}}]});
    gwc.runtime.fs().write_file("/tmp/manifest.json", manifest.to_string());
    gateway_tx(testbed, &["finalize-and-close", &id, "/tmp/manifest.json"]).await?;
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
