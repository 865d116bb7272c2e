//! One upload session, the client's side of the real gwc flow, timed in the four phases of
//! the experiment runner (`UploadMetrics`): prep (root proof, init-session, grants and the
//! root commit), client upload (TUS), deploy (until the session is CLOSED_SUCCESS) and fetch
//! (the render of every file, compared byte for byte). The owner signs in the BFF.

use super::project::{self, File};
use crate::chain::gateway_msgs::{self as gw, CLOSED_FAILED, CLOSED_SUCCESS, EXECUTOR_MESSAGES};
use crate::chain::{ChainClient, rest, rpc};
use crate::error_code::{ErrorCode, Failure};
use crate::utils::signer::{Fee, Signer, internal};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cosmrs::proto::Any;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one session uploads.
pub struct Plan {
    pub files: Arc<Vec<File>>,
    pub fragment: usize,
    pub fdsc: u32,
    pub project: String,
    pub version: String,
}

/// How gwc is reached, and the job's clock.
pub struct Gwc {
    pub client: ChainClient,
    pub rpc: String,
    pub api: String,
    pub network: String,
    pub fee: Fee,
    pub poll: Duration,
    pub deadline: tokio::time::Instant,
}

/// The owner and its next sequence (two txs per session).
pub struct Owner {
    pub signer: Signer,
    pub sequence: u64,
}

/// A session's outcome: its id and state, the phases in ms, heights and commit times.
#[derive(Default)]
pub struct Outcome {
    pub session_id: Option<String>,
    pub state: String,
    pub phases: [Option<f64>; 4],
    pub bytes: usize,
    pub init_height: Option<u64>,
    /// The first gwc height at which the session read as closed, and the last at which it
    /// did not: the close happened in (lo, hi].
    pub close_heights: Option<(u64, u64)>,
    /// The exact close, once the chains were read: the gwc height of the manifest's ack and
    /// its commit time.
    pub close: Option<(u64, String)>,
    pub render_equal: Option<bool>,
    /// The session's packets by gwc's own counters (fragments sent and acknowledged, and the
    /// manifest: acknowledged, or the session would not be closed); replaced by the chains'
    /// events when they are read (`packets::account`).
    pub packets: Value,
    pub error: Option<Value>,
}

/// Where a session's close is known from.
pub enum Close<'a> {
    /// The manifest's acknowledge_packet: its gwc height and commit time.
    Acked { height: u64, time: &'a str },
    /// Polling: the first gwc height the session read as closed (its commit time unread).
    Polled { height: u64 },
}

impl Close<'_> {
    pub fn height(&self) -> u64 {
        match self {
            Self::Acked { height, .. } | Self::Polled { height } => *height,
        }
    }

    /// The report's `closeHeightFrom`.
    pub fn source(&self) -> &'static str {
        match self {
            Self::Acked { .. } => "the manifest's acknowledge_packet",
            Self::Polled { .. } => "polling: the first height the session read as closed",
        }
    }
}

impl Outcome {
    /// The exact close when the chains were read, else polling's bound.
    pub fn close(&self) -> Option<Close<'_>> {
        match (&self.close, self.close_heights) {
            (Some((height, time)), _) => Some(Close::Acked { height: *height, time }),
            (None, Some((_, hi))) => Some(Close::Polled { height: hi }),
            (None, None) => None,
        }
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn failure_json(f: &Failure) -> Value {
    json!({"code": f.code, "message": f.message, "details": f.details})
}

/// Runs the session; a failure is recorded in the outcome, not returned, so a repetition's
/// failure does not hide the others.
pub async fn run(gwc: &Gwc, owner: &mut Owner, plan: &Plan) -> Outcome {
    let mut out = Outcome { state: "NOT_STARTED".into(), ..Outcome::default() };
    if let Err(f) = steps(gwc, owner, plan, &mut out).await {
        out.error = Some(failure_json(&f));
    }
    out
}

async fn steps(gwc: &Gwc, owner: &mut Owner, plan: &Plan, out: &mut Outcome) -> Result<(), Failure> {
    let prep = Instant::now();
    let root = project::root_proof(&plan.files, plan.fragment);
    let zip = project::zip(&plan.files).map_err(internal)?;
    out.bytes = zip.len();
    let address = owner.signer.address.clone();
    let init = gw::init_session(&gw::MsgInitSession {
        owner: address.clone(),
        fragment_size: plan.fragment as u64,
        deadline_unix: 0,
        num_fdsc_chains: plan.fdsc,
    });
    let tx = send(gwc, owner, vec![init], 200_000).await?;
    out.init_height = tx["height"].as_str().and_then(|h| h.parse().ok());
    let attr = |key: &str| event_attr(&tx, "csu_init_session", key);
    let (sid, executor) = (attr("session_id"), attr("executor"));
    let (Some(sid), Some(executor)) = (sid, executor) else {
        return Err(Failure::new(
            ErrorCode::UpstreamError,
            "init-session committed without csu_init_session",
        ));
    };
    out.session_id = Some(sid.clone());
    out.state = "SESSION_STATE_INIT".into();
    // The executor's fee allowance and grants, then the root: one tx.
    let expires = jiff::Timestamp::now().as_second() + 3600;
    let mut msgs: Vec<Any> = vec![gw::fee_allowance(&address, &executor, expires)];
    msgs.extend(EXECUTOR_MESSAGES.iter().map(|m| gw::generic_grant(&address, &executor, m, expires)));
    msgs.push(gw::commit_root_proof(&gw::MsgCommitRootProof {
        owner: address.clone(),
        session_id: sid.clone(),
        root_proof_hex: root,
    }));
    if let Err(f) = send(gwc, owner, msgs.clone(), 600_000).await {
        // A session that failed before its close leaves the owner's allowance in place (the
        // close revokes it); as the experiment runner does, keep the one that exists.
        if !(f.details["codespace"] == "feegrant" && f.message.contains("already exists")) {
            return Err(f);
        }
        send(gwc, owner, msgs.split_off(1), 600_000).await?;
    }
    let token = hex::encode(Sha256::digest(format!("upload_token:{sid}").as_bytes()));
    out.phases[0] = Some(ms(prep));

    let upload = Instant::now();
    tus(gwc, &sid, plan, &token, zip).await?;
    out.phases[1] = Some(ms(upload));

    let deploy = Instant::now();
    let (state, heights) = wait_closed(gwc, &sid).await?;
    out.close_heights = Some(heights);
    out.phases[2] = Some(ms(deploy));
    if state != CLOSED_SUCCESS {
        out.state = CLOSED_FAILED.into();
        return Err(Failure::new(ErrorCode::UpstreamError, format!("session {sid} ended {state}")));
    }
    out.state = state;

    let fetch = Instant::now();
    let mut equal = true;
    for f in plan.files.iter() {
        let url =
            format!("{}/render/{}/{}/{}", gwc.api, plan.project, plan.version, project::normalize(&f.path));
        let resp = gwc.client.http().get(&url).send().await.map_err(|e| upstream("render", e))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| upstream("render", e))?;
        equal &= status.is_success() && body.as_ref() == f.data.as_slice();
    }
    out.phases[3] = Some(ms(fetch));
    out.render_equal = Some(equal);
    out.packets = settle_acks(gwc, &sid).await?;
    Ok(())
}

/// The executor does not wait for the fragments' acks before it finalizes, so they may trail
/// the close: waits (bounded) until every distributed fragment has its ack.
async fn settle_acks(gwc: &Gwc, sid: &str) -> Result<Value, Failure> {
    let until = gwc.deadline.min(tokio::time::Instant::now() + SETTLE);
    loop {
        let s = read_session(gwc, sid).await?;
        let count = |k: &str| s[k].as_str().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let (sent, acked, errors) =
            (count("distributed_count"), count("ack_success_count"), count("ack_error_count"));
        if acked + errors >= sent || tokio::time::Instant::now() >= until {
            return Ok(json!({
                "sent": sent + 1, "acked": acked + 1, "ackErrors": errors,
                "fragments": {"sent": sent, "acked": acked, "ackErrors": errors}, "manifest": {"acked": true},
                "source": "gwc's session counters",
            }));
        }
        tokio::time::sleep(gwc.poll).await;
    }
}

/// How long the fragments' acks may trail the close before the session is reported as is.
const SETTLE: Duration = Duration::from_secs(60);

async fn read_session(gwc: &Gwc, sid: &str) -> Result<Value, Failure> {
    let answer = gwc
        .client
        .rest_get(&gwc.api, &format!("/gwc/gateway/v1/sessions/{sid}"), &[])
        .await
        .map_err(|e| crate::utils::observe::upstream_failure("reading the session", &e))?;
    Ok(answer["session"].clone())
}

fn upstream(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::new(ErrorCode::UpstreamUnreachable, format!("{what}: {e}"))
}

/// Signs `msgs` at the owner's sequence, sends and waits for the block; the tx response.
async fn send(gwc: &Gwc, owner: &mut Owner, msgs: Vec<Any>, gas: u64) -> Result<Value, Failure> {
    let bytes = owner.signer.sign(msgs, owner.sequence, &gwc.network, gwc.fee.with_gas(gas))?;
    let wait = gwc.deadline.saturating_duration_since(tokio::time::Instant::now());
    let answer = rest::broadcast_and_wait(&gwc.client, &gwc.api, &BASE64.encode(&bytes), wait, gwc.poll)
        .await
        .map_err(|e| crate::utils::observe::upstream_failure("a session tx failed", &e))?;
    let view = rest::tx_response_view(&answer);
    if view.code != 0 {
        // The gateway's own codes (codespace `gateway`, 1100…) name what it refused.
        return Err(Failure::new(
            ErrorCode::UpstreamError,
            format!(
                "gwc refused the tx (codespace {}, code {}): {}",
                view.codespace, view.code, view.raw_log
            ),
        )
        .with_details(json!({"txhash": view.txhash, "codespace": view.codespace, "code": view.code})));
    }
    owner.sequence += 1;
    Ok(answer)
}

fn event_attr(tx: &Value, kind: &str, key: &str) -> Option<String> {
    let events = tx["events"].as_array()?;
    let event = events.iter().find(|e| e["type"] == kind)?;
    let attr = event["attributes"].as_array()?.iter().find(|a| a["key"] == key)?;
    attr["value"].as_str().map(|v| v.trim_matches('"').to_string())
}

/// TUS 1.0.0: create with the session's bearer token and metadata, then one PATCH.
async fn tus(gwc: &Gwc, sid: &str, plan: &Plan, token: &str, zip: Vec<u8>) -> Result<(), Failure> {
    let b64 = |s: &str| BASE64.encode(s);
    let meta =
        format!("session_id {},project_name {},version {}", b64(sid), b64(&plan.project), b64(&plan.version));
    let http = gwc.client.http();
    let created = http
        .post(format!("{}/upload/tus-stream", gwc.api))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", zip.len().to_string())
        .header("Upload-Metadata", meta)
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .map_err(|e| upstream("TUS create", e))?;
    let location = created.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_string);
    let (status, Some(location)) = (created.status(), location) else {
        return Err(Failure::new(
            ErrorCode::UpstreamError,
            format!("TUS create answered {} without a Location", created.status()),
        ));
    };
    if status.as_u16() != 201 {
        return Err(Failure::new(ErrorCode::UpstreamError, format!("TUS create answered {status}")));
    }
    let url = if location.starts_with("http") { location } else { format!("{}{location}", gwc.api) };
    let patched = http
        .patch(&url)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body(zip)
        .send()
        .await
        .map_err(|e| upstream("TUS patch", e))?;
    if patched.status().as_u16() != 204 {
        return Err(Failure::new(
            ErrorCode::UpstreamError,
            format!("TUS patch answered {}", patched.status()),
        ));
    }
    Ok(())
}

/// Polls the session until it is closed; its state and the heights bounding the close.
async fn wait_closed(gwc: &Gwc, sid: &str) -> Result<(String, (u64, u64)), Failure> {
    let height = || async {
        rpc::node_status(&gwc.client, &gwc.rpc)
            .await
            .map(|(s, _)| s.latest_height.unwrap_or_default())
            .map_err(|e| crate::utils::observe::upstream_failure("reading gwc's height", &e))
    };
    let mut open_at = 0;
    loop {
        // The state read is of a height between these two: an open session was open after
        // `before`, a closed one closed by `after`.
        let before = height().await?;
        let session = read_session(gwc, sid).await?;
        let state = session["state"].as_str().unwrap_or_default().to_string();
        if state == CLOSED_SUCCESS || state == CLOSED_FAILED {
            // A failed session says why (the executor's abort reason).
            let reason = session["close_reason"].as_str().filter(|r| !r.is_empty());
            let state = reason.map_or(state.clone(), |r| format!("{state}: {r}"));
            return Ok((state, (open_at, height().await?)));
        }
        open_at = before;
        if tokio::time::Instant::now() >= gwc.deadline {
            return Err(Failure::new(
                ErrorCode::Timeout,
                format!("session {sid} still {state} at the job's deadline"),
            ));
        }
        tokio::time::sleep(gwc.poll).await;
    }
}
