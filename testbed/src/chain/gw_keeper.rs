//! The gateway keeper's message handlers (Cryptomeria-core `apps/gwc/x/gateway/keeper`:
//! `msg_init_session.go`, `msg_commit_root_proof.go`, `msg_distribute_batch.go`,
//! `msg_finalize_close.go`, `msg_abort_close.go`, `msg_server.go RegisterStorage`,
//! `authz_feegrant.go`). The owner signs init and root; the executor (always
//! `params.local_admin`) signs distribute, finalize and abort, and needs the owner's authz
//! grant for each (1116 without).

use super::authz::Authorization;
use super::events::Event;
use super::gateway::StorageInfo;
use super::ledger::Ledger;
use super::merkle::verify_fragment;
use super::msgs::{MsgHandler, MsgOutcome};
use super::sdk_error::{SdkError, codes};
use super::sessions::*;
use cosmrs::Any;
use prost::Message as _;
use serde_json::{Value, json};

/// Packet timeouts of `msg_distribute_batch.go` / `msg_finalize_close.go` (600 s).
const PACKET_TIMEOUT_NS: u64 = 600 * 1_000_000_000;

fn decode<M: prost::Message + Default>(value: &[u8]) -> Result<M, SdkError> {
    M::decode(value).map_err(|e| SdkError::tx_decode(e.to_string()))
}

fn session_for(ledger: &Ledger, id: &str) -> Result<Session, SdkError> {
    ledger
        .gateway()
        .sessions
        .get(id)
        .cloned()
        .ok_or_else(|| gw_err(gw_codes::SESSION_NOT_FOUND, format!("session not found: {id}")))
}

fn save(ledger: &mut Ledger, s: Session) {
    ledger.gateway_mut().sessions.insert(s.session_id.clone(), s);
}

fn response(type_url: &str, value: Vec<u8>) -> Any {
    Any { type_url: format!("{type_url}Response"), value }
}

/// `RequireSessionBoundAuthz` after the executor check: local-admin acting under the
/// owner's generic or session-bound grant for `msg_type_url`.
fn require_authz(ledger: &Ledger, s: &Session, executor: &str, msg_type_url: &str) -> Result<(), SdkError> {
    if s.executor != executor {
        return Err(gw_err(gw_codes::EXECUTOR_MISMATCH, "executor mismatch"));
    }
    let admin = &ledger.gateway().params.local_admin;
    if admin.is_empty() {
        return Err(gw_err(gw_codes::LOCAL_ADMIN_NOT_CONFIGURED, "params.local_admin is empty"));
    }
    if executor != admin {
        return Err(gw_err(
            gw_codes::LOCAL_ADMIN_MISMATCH,
            format!("msg.executor must be local-admin: got={executor} want={admin}"),
        ));
    }
    let now = (ledger.block_time_ns() / 1_000_000_000) as i64;
    let Some(grant) = ledger.authz().authorization(&s.owner, admin, msg_type_url, now) else {
        return Err(gw_err(
            gw_codes::AUTHZ_MISSING_OR_INVALID,
            format!(
                "authorization not found: msg_type_url={msg_type_url} (Granter: {}, Grantee: {admin})",
                s.owner
            ),
        ));
    };
    match &grant.authorization {
        Authorization::Generic { .. } => Ok(()),
        Authorization::SessionBound { session_id, .. } if *session_id != s.session_id => Err(gw_err(
            gw_codes::AUTHZ_MISSING_OR_INVALID,
            format!("session_id mismatch: auth={session_id} msg={}", s.session_id),
        )),
        Authorization::SessionBound { .. } => Ok(()),
    }
}

fn closed(s: &Session, what: &str) -> Result<(), SdkError> {
    if s.state.closed() { Err(gw_err(gw_codes::SESSION_CLOSED, what)) } else { Ok(()) }
}

macro_rules! handler {
    ($name:ident, $msg:ty, $url:expr, $signer:ident, $gas:expr, $deliver:expr) => {
        pub struct $name;
        impl MsgHandler for $name {
            fn type_url(&self) -> &'static str {
                $url
            }
            fn signer(&self, value: &[u8]) -> Result<String, SdkError> {
                Ok(decode::<$msg>(value)?.$signer)
            }
            fn to_json(&self, value: &[u8]) -> Value {
                let m = decode::<$msg>(value).unwrap_or_default();
                json!({stringify!($signer): m.$signer})
            }
            fn gas(&self) -> u64 {
                $gas
            }
            fn deliver(&self, ledger: &mut Ledger, value: &[u8]) -> Result<MsgOutcome, SdkError> {
                let m = decode::<$msg>(value)?;
                let f: fn(&mut Ledger, $msg) -> Result<MsgOutcome, SdkError> = $deliver;
                f(ledger, m)
            }
        }
    };
}

handler!(InitSessionHandler, MsgInitSession, MSG_INIT_SESSION, owner, 40_000, |ledger, m| {
    let params = ledger.gateway().params.clone();
    if params.local_admin.is_empty() {
        return Err(gw_err(gw_codes::LOCAL_ADMIN_NOT_CONFIGURED, "params.local_admin must be set for CSU"));
    }
    if m.fragment_size > params.max_fragment_bytes {
        return Err(gw_err(
            gw_codes::LIMIT_EXCEEDED,
            format!(
                "fragment_size exceeds max_fragment_bytes: fragment_size={} max={}",
                m.fragment_size, params.max_fragment_bytes
            ),
        ));
    }
    let now_ns = ledger.block_time_ns();
    let session_id = format!("{}-{now_ns}", m.owner);
    let deadline = if m.deadline_unix == 0 {
        (now_ns / 1_000_000_000) as i64 + params.default_deadline_seconds
    } else {
        m.deadline_unix
    };
    let token = upload_token(&session_id);
    let token_hash: [u8; 32] = {
        use sha2::Digest as _;
        sha2::Sha256::digest(token.as_bytes()).into()
    };
    let executor = params.local_admin.clone();
    let session = Session {
        session_id: session_id.clone(),
        owner: m.owner.clone(),
        executor: executor.clone(),
        root_proof_hex: String::new(),
        fragment_size: m.fragment_size,
        deadline_unix: deadline,
        state: SessionState::Init,
        close_reason: String::new(),
        distributed_count: 0,
        ack_success_count: 0,
        ack_error_count: 0,
        num_fdsc_chains: m.num_fdsc_chains,
    };
    ledger.gateway_mut().upload_token_hashes.insert(session_id.clone(), token_hash);
    save(ledger, session);
    let event = Event::new(
        "csu_init_session",
        &[
            ("session_id", &session_id),
            ("owner", &m.owner),
            ("executor", &executor),
            ("fragment_size", &m.fragment_size.to_string()),
            ("deadline_unix", &deadline.to_string()),
            ("num_fdsc_chains", &m.num_fdsc_chains.to_string()),
        ],
    );
    let resp =
        MsgInitSessionResponse { session_id, session_upload_token: token, resolved_deadline_unix: deadline };
    Ok(MsgOutcome { events: vec![event], response: response(MSG_INIT_SESSION, resp.encode_to_vec()) })
});

handler!(CommitRootProofHandler, MsgCommitRootProof, MSG_COMMIT_ROOT_PROOF, owner, 20_000, |ledger, m| {
    let mut s = session_for(ledger, &m.session_id)?;
    if s.owner != m.owner {
        return Err(gw_err(
            gw_codes::INVALID_SIGNER,
            format!("owner mismatch: session.owner={} msg.owner={}", s.owner, m.owner),
        ));
    }
    closed(&s, "session is closed")?;
    if s.state != SessionState::Init {
        return Err(gw_err(
            gw_codes::SESSION_INVALID_STATE,
            format!("invalid state for commit_root_proof: {}", s.state.as_str()),
        ));
    }
    if hex::decode(&m.root_proof_hex).is_err() {
        return Err(gw_err(gw_codes::INVALID_ROOT_PROOF, "root_proof_hex is not valid hex"));
    }
    s.root_proof_hex = m.root_proof_hex.clone();
    s.state = SessionState::RootCommitted;
    save(ledger, s);
    let event = Event::new(
        "csu_commit_root_proof",
        &[("session_id", &m.session_id), ("owner", &m.owner), ("root_proof", &m.root_proof_hex)],
    );
    Ok(MsgOutcome { events: vec![event], response: response(MSG_COMMIT_ROOT_PROOF, Vec::new()) })
});

handler!(DistributeBatchHandler, MsgDistributeBatch, MSG_DISTRIBUTE_BATCH, executor, 40_000, |ledger, m| {
    let params = ledger.gateway().params.clone();
    let mut s = session_for(ledger, &m.session_id)?;
    require_authz(ledger, &s, &m.executor, MSG_DISTRIBUTE_BATCH)?;
    closed(&s, "session is closed")?;
    if s.distributed_count + m.items.len() as u64 > params.max_fragments_per_session {
        return Err(gw_err(gw_codes::LIMIT_EXCEEDED, "max_fragments_per_session exceeded"));
    }
    let mut chans: Vec<String> = ledger.gateway().datastore_channels.iter().cloned().collect();
    if chans.is_empty() {
        return Err(gw_err(gw_codes::NO_DATASTORE_CHANNELS, "no FDSC channels"));
    }
    if s.num_fdsc_chains > 0 {
        chans.truncate(s.num_fdsc_chains as usize);
    }
    let timeout = ledger.block_time_ns() + PACKET_TIMEOUT_NS;
    let mut round_robin = 0;
    let mut events = Vec::new();
    for item in &m.items {
        let seen = (m.session_id.clone(), item.path.clone(), item.index);
        if item.fragment_bytes.len() as u64 > params.max_fragment_bytes {
            return Err(gw_err(gw_codes::LIMIT_EXCEEDED, "fragment too large"));
        }
        if ledger.gateway().fragments_seen.contains(&seen) {
            return Err(gw_err(gw_codes::DUPLICATE_FRAGMENT, "duplicate fragment"));
        }
        verify_fragment(
            &s.root_proof_hex,
            &item.path,
            item.index,
            &item.fragment_bytes,
            item.file_size,
            item.fragment_proof.as_ref(),
            item.file_proof.as_ref(),
        )
        .map_err(|e| gw_err(gw_codes::INVALID_PROOF, e))?;
        let channel = if item.target_fdsc_channel.is_empty() {
            round_robin += 1;
            chans[(round_robin - 1) % chans.len()].clone()
        } else if chans.contains(&item.target_fdsc_channel) {
            item.target_fdsc_channel.clone()
        } else {
            return Err(gw_err(
                gw_codes::UNKNOWN_DATASTORE_CHANNEL,
                "target channel is not allowed for this session",
            ));
        };
        let data = GatewayPacketData {
            fragment_packet: Some(FragmentPacket {
                session_id: s.session_id.clone(),
                root_proof: s.root_proof_hex.clone(),
                path: item.path.clone(),
                index: item.index,
                data: item.fragment_bytes.clone(),
            }),
            manifest_packet: None,
        };
        let (seq, sent) = ledger.send_packet(GATEWAY_PORT, &channel, data.encode_to_vec(), timeout)?;
        events.extend(sent);
        let store = ledger.gateway_mut();
        store.fragment_seqs.insert((channel, seq), s.session_id.clone());
        store.fragments_seen.insert(seen);
        s.distributed_count += 1;
    }
    if s.state == SessionState::RootCommitted {
        s.state = SessionState::Distributing;
    }
    save(ledger, s);
    Ok(MsgOutcome { events, response: response(MSG_DISTRIBUTE_BATCH, Vec::new()) })
});

handler!(
    FinalizeHandler,
    MsgFinalizeAndCloseSession,
    MSG_FINALIZE_AND_CLOSE,
    executor,
    40_000,
    |ledger, m| {
        let mut s = session_for(ledger, &m.session_id)?;
        require_authz(ledger, &s, &m.executor, MSG_FINALIZE_AND_CLOSE)?;
        closed(&s, "session is closed")?;
        if s.root_proof_hex.is_empty()
            || !matches!(s.state, SessionState::RootCommitted | SessionState::Distributing)
        {
            return Err(gw_err(
                gw_codes::ROOT_PROOF_NOT_COMMITTED,
                "root proof not committed or invalid state",
            ));
        }
        let manifest = m.manifest.unwrap_or_default();
        for (what, ok) in [
            ("session_id", manifest.session_id == m.session_id),
            ("owner", manifest.owner == s.owner),
            ("root_proof", manifest.root_proof == s.root_proof_hex),
            ("fragment_size", manifest.fragment_size == s.fragment_size),
        ] {
            if !ok {
                return Err(gw_err(gw_codes::INVALID_MANIFEST, format!("manifest.{what} mismatch")));
            }
        }
        let Some(channel) = ledger.gateway().metastore_channel.clone() else {
            return Err(gw_err(gw_codes::NO_METASTORE_CHANNEL, "MDSC channel not found"));
        };
        let data = GatewayPacketData { fragment_packet: None, manifest_packet: Some(manifest) };
        let timeout = ledger.block_time_ns() + PACKET_TIMEOUT_NS;
        let (seq, mut events) = ledger.send_packet(GATEWAY_PORT, &channel, data.encode_to_vec(), timeout)?;
        ledger.gateway_mut().manifest_seqs.insert((channel, seq), s.session_id.clone());
        s.state = SessionState::Finalizing;
        let owner = s.owner.clone();
        save(ledger, s);
        revoke_csu_grants(ledger, &owner);
        let event = Event::new(
            "csu_finalize_sent",
            &[("session_id", &m.session_id), ("executor", &m.executor), ("manifest_seq", &seq.to_string())],
        );
        events.push(event);
        Ok(MsgOutcome { events, response: response(MSG_FINALIZE_AND_CLOSE, Vec::new()) })
    }
);

handler!(AbortHandler, MsgAbortAndCloseSession, MSG_ABORT_AND_CLOSE, executor, 20_000, |ledger, m| {
    let mut s = session_for(ledger, &m.session_id)?;
    require_authz(ledger, &s, &m.executor, MSG_ABORT_AND_CLOSE)?;
    closed(&s, "session is already closed")?;
    s.state = SessionState::ClosedFailed;
    s.close_reason = m.reason.clone();
    let owner = s.owner.clone();
    save(ledger, s);
    revoke_csu_grants(ledger, &owner);
    let event = Event::new(
        "csu_session_aborted",
        &[("session_id", &m.session_id), ("reason", &m.reason), ("executor", &m.executor)],
    );
    Ok(MsgOutcome { events: vec![event], response: response(MSG_ABORT_AND_CLOSE, Vec::new()) })
});

/// `RegisterStorage`: only `params.local_admin` may; each entry is keyed by its channel id
/// and merges into what `OnChanOpenAck` registered (only non-empty fields overwrite).
pub struct RegisterStorageHandler;

impl MsgHandler for RegisterStorageHandler {
    fn type_url(&self) -> &'static str {
        MSG_REGISTER_STORAGE
    }

    fn signer(&self, value: &[u8]) -> Result<String, SdkError> {
        Ok(decode::<MsgRegisterStorage>(value)?.authority)
    }

    fn to_json(&self, value: &[u8]) -> Value {
        let m = decode::<MsgRegisterStorage>(value).unwrap_or_default();
        let infos: Vec<Value> = m
            .storage_infos
            .iter()
            .map(|i| json!({"channel_id": i.channel_id, "chain_id": i.chain_id, "api_endpoint": i.api_endpoint, "connection_type": i.connection_type}))
            .collect();
        json!({"authority": m.authority, "storage_infos": infos})
    }

    fn gas(&self) -> u64 {
        30_000
    }

    fn deliver(&self, ledger: &mut Ledger, value: &[u8]) -> Result<MsgOutcome, SdkError> {
        let m = decode::<MsgRegisterStorage>(value)?;
        let admin = ledger.gateway().params.local_admin.clone();
        if m.authority != admin {
            return Err(SdkError::wrap(
                codes::UNAUTHORIZED,
                format!("invalid authority; expected {admin} (LocalAdmin), got {}", m.authority),
            ));
        }
        for info in &m.storage_infos {
            if info.channel_id.is_empty() {
                return Err(SdkError::wrap(codes::INVALID_REQUEST, "channel_id is required"));
            }
            let infos = ledger.storage_endpoints_mut();
            let mut entry =
                infos.iter().find(|i| i.channel_id == info.channel_id).cloned().unwrap_or(StorageInfo {
                    channel_id: info.channel_id.clone(),
                    chain_id: String::new(),
                    api_endpoint: String::new(),
                    connection_type: String::new(),
                });
            for (field, new) in [
                (&mut entry.api_endpoint, &info.api_endpoint),
                (&mut entry.chain_id, &info.chain_id),
                (&mut entry.connection_type, &info.connection_type),
            ] {
                if !new.is_empty() {
                    *field = new.clone();
                }
            }
            infos.retain(|i| i.channel_id != info.channel_id);
            infos.push(entry);
            infos.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
        }
        Ok(MsgOutcome { events: Vec::new(), response: response(MSG_REGISTER_STORAGE, Vec::new()) })
    }
}

/// The gateway module's handlers, registered on gwc.
pub(super) fn handlers() -> Vec<std::sync::Arc<dyn MsgHandler>> {
    vec![
        std::sync::Arc::new(InitSessionHandler),
        std::sync::Arc::new(CommitRootProofHandler),
        std::sync::Arc::new(DistributeBatchHandler),
        std::sync::Arc::new(FinalizeHandler),
        std::sync::Arc::new(AbortHandler),
        std::sync::Arc::new(RegisterStorageHandler),
    ]
}
