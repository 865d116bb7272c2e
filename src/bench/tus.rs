//! The client side of gwc's upload that the bench's drivers share: TUS 1.0.0 creation and one
//! PATCH of the whole ZIP, as the experiment runner sends it, and the tx event reader for
//! `csu_init_session`. Separate from the product's copy on purpose: a baseline must not lean
//! on the code it is compared with.

use anyhow::{Context as _, ensure};
use base64::Engine as _;
use serde_json::Value;

/// Creates the upload at gwc's REST `api` and sends `zip` in one PATCH.
pub async fn upload(api: &str, sid: &str, project: &str, version: &str, zip: Vec<u8>) -> anyhow::Result<()> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let token = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(format!("upload_token:{sid}")));
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{api}/upload/tus-stream"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", zip.len().to_string())
        .header(
            "Upload-Metadata",
            format!("session_id {},project_name {},version {}", b64(sid), b64(project), b64(version)),
        )
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await?;
    ensure!(created.status().as_u16() == 201, "TUS creation: {}", created.status());
    let location = created.headers().get("location").and_then(|l| l.to_str().ok()).context("Location")?;
    let patched = http
        .patch(format!("{api}{location}"))
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body(zip)
        .send()
        .await?;
    ensure!(patched.status().as_u16() == 204, "TUS PATCH: {}", patched.status());
    Ok(())
}

/// The value of `kind.key` among a tx's events (quotes trimmed, as older SDKs wrote them).
pub fn attr(tx: &Value, kind: &str, key: &str) -> anyhow::Result<String> {
    tx["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == kind))
        .and_then(|e| e["attributes"].as_array())
        .and_then(|a| a.iter().find(|a| a["key"] == key))
        .and_then(|a| a["value"].as_str())
        .map(|v| v.trim_matches('"').to_string())
        .with_context(|| format!("no {kind}.{key} in {tx}"))
}
