//! gwc's upload sessions (Cryptomeria-core `apps/gwc/x/gateway`: `types.proto`,
//! `packet.proto`, `tx.proto`, the keeper's msg_*.go) as the packet source, and what fdsc's
//! datastore and mdsc's metastore keep of the packets they receive (`apps/fdsc`,
//! `apps/mdsc`). States: INIT → ROOT_COMMITTED → DISTRIBUTING → FINALIZING (manifest sent)
//! → CLOSED_SUCCESS only when mdsc's acknowledgement comes back (or CLOSED_FAILED).
//! Merkle proofs are accepted unverified; authz/feegrant grants are not modelled (the
//! owner may act as executor when it is the gateway's local admin).

use super::events::Event;
use super::ledger::Ledger;
use super::msgs::{MsgHandler, MsgOutcome};
use super::packets::{Packet, PacketApp, ack_is_success, error_ack, result_ack};
use super::sdk_error::{SdkError, codes};
use cosmrs::Any;
use prost::Message as _;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The gateway's IBC port on gwc and the storage modules' ports (SPEC §6).
pub const GATEWAY_PORT: &str = "gateway";
pub const DATASTORE_PORT: &str = "datastore";
pub const METASTORE_PORT: &str = "metastore";
/// Packet timeouts of `msg_distribute_batch.go` / `msg_finalize_close.go` (600 s).
const PACKET_TIMEOUT_NS: u64 = 600 * 1_000_000_000;
/// `DefaultParams().DefaultDeadlineSeconds` stand-in when the deadline is 0.
const DEFAULT_DEADLINE_SECS: i64 = 86_400;

#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgInitSession {
    #[prost(string, tag = "1")]
    pub owner: String,
    #[prost(uint64, tag = "3")]
    pub fragment_size: u64,
    #[prost(int64, tag = "4")]
    pub deadline_unix: i64,
    #[prost(uint32, tag = "5")]
    pub num_fdsc_chains: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgCommitRootProof {
    #[prost(string, tag = "1")]
    pub owner: String,
    #[prost(string, tag = "2")]
    pub session_id: String,
    #[prost(string, tag = "3")]
    pub root_proof_hex: String,
}

/// `DistributeItem` without its Merkle proofs (fields 4 and 6 are not verified here).
#[derive(Clone, PartialEq, prost::Message)]
pub struct DistributeItem {
    #[prost(string, tag = "1")]
    pub path: String,
    #[prost(uint64, tag = "2")]
    pub index: u64,
    #[prost(bytes = "vec", tag = "3")]
    pub fragment_bytes: Vec<u8>,
    #[prost(uint64, tag = "5")]
    pub file_size: u64,
    #[prost(string, tag = "7")]
    pub target_fdsc_channel: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgDistributeBatch {
    #[prost(string, tag = "1")]
    pub executor: String,
    #[prost(string, tag = "2")]
    pub session_id: String,
    #[prost(message, repeated, tag = "3")]
    pub items: Vec<DistributeItem>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FragmentMapping {
    #[prost(string, tag = "1")]
    pub fdsc_id: String,
    #[prost(string, tag = "2")]
    pub fragment_id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FileMetadata {
    #[prost(string, tag = "1")]
    pub mime_type: String,
    #[prost(uint64, tag = "2")]
    pub file_size: u64,
    #[prost(message, repeated, tag = "3")]
    pub fragments: Vec<FragmentMapping>,
    #[prost(string, tag = "4")]
    pub file_root: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ManifestFileEntry {
    #[prost(string, tag = "1")]
    pub path: String,
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<FileMetadata>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ManifestPacket {
    #[prost(string, tag = "1")]
    pub project_name: String,
    #[prost(string, tag = "2")]
    pub version: String,
    #[prost(message, repeated, tag = "3")]
    pub files: Vec<ManifestFileEntry>,
    #[prost(string, tag = "4")]
    pub root_proof: String,
    #[prost(uint64, tag = "5")]
    pub fragment_size: u64,
    #[prost(string, tag = "6")]
    pub owner: String,
    #[prost(string, tag = "7")]
    pub session_id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FragmentPacket {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(string, tag = "2")]
    pub root_proof: String,
    #[prost(string, tag = "3")]
    pub path: String,
    #[prost(uint64, tag = "4")]
    pub index: u64,
    #[prost(bytes = "vec", tag = "5")]
    pub data: Vec<u8>,
}

/// `GatewayPacketData` (oneof: 2 fragment, 3 manifest).
#[derive(Clone, PartialEq, prost::Message)]
pub struct GatewayPacketData {
    #[prost(message, optional, tag = "2")]
    pub fragment_packet: Option<FragmentPacket>,
    #[prost(message, optional, tag = "3")]
    pub manifest_packet: Option<ManifestPacket>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgFinalizeAndCloseSession {
    #[prost(string, tag = "1")]
    pub executor: String,
    #[prost(string, tag = "2")]
    pub session_id: String,
    #[prost(message, optional, tag = "3")]
    pub manifest: Option<ManifestPacket>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgAbortAndCloseSession {
    #[prost(string, tag = "1")]
    pub executor: String,
    #[prost(string, tag = "2")]
    pub session_id: String,
    #[prost(string, tag = "3")]
    pub reason: String,
}

/// `SessionState` by its protobuf names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Init,
    RootCommitted,
    Distributing,
    Finalizing,
    ClosedSuccess,
    ClosedFailed,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Init => "SESSION_STATE_INIT",
            Self::RootCommitted => "SESSION_STATE_ROOT_COMMITTED",
            Self::Distributing => "SESSION_STATE_DISTRIBUTING",
            Self::Finalizing => "SESSION_STATE_FINALIZING",
            Self::ClosedSuccess => "SESSION_STATE_CLOSED_SUCCESS",
            Self::ClosedFailed => "SESSION_STATE_CLOSED_FAILED",
        }
    }

    fn closed(self) -> bool {
        matches!(self, Self::ClosedSuccess | Self::ClosedFailed)
    }
}

/// `gwc.gateway.v1.Session`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub session_id: String,
    pub owner: String,
    pub executor: String,
    pub root_proof_hex: String,
    pub fragment_size: u64,
    pub deadline_unix: i64,
    pub state: SessionState,
    pub close_reason: String,
    pub distributed_count: u64,
    pub ack_success_count: u64,
    pub ack_error_count: u64,
    pub num_fdsc_chains: u32,
}

impl Session {
    /// Proto JSON as `gwcd q … -o json` prints it (uint64 as strings, zero values kept).
    pub fn to_json(&self) -> Value {
        json!({"session_id": self.session_id, "owner": self.owner, "executor": self.executor,
               "root_proof_hex": self.root_proof_hex, "fragment_size": self.fragment_size.to_string(),
               "deadline_unix": self.deadline_unix.to_string(), "state": self.state.as_str(),
               "close_reason": self.close_reason, "distributed_count": self.distributed_count.to_string(),
               "ack_success_count": self.ack_success_count.to_string(),
               "ack_error_count": self.ack_error_count.to_string(), "num_fdsc_chains": self.num_fdsc_chains})
    }
}

/// A fragment as fdsc stores it (`fdsc.datastore.v1.Fragment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFragment {
    pub fragment_id: String,
    pub data: Vec<u8>,
    pub root_proof: String,
    pub session_id: String,
    pub path: String,
    pub index: u64,
}

/// Gateway sessions (gwc) and received fragments (fdsc) / manifests (mdsc).
#[derive(Debug, Clone, Default)]
pub struct GatewayStore {
    /// gwc's `params.local_admin`, every session's executor.
    pub local_admin: String,
    pub sessions: BTreeMap<String, Session>,
    /// Packet sequence → session, per gateway channel (`BindFragmentSeq`, `BindManifestSeq`).
    pub fragment_seqs: BTreeMap<(String, u64), String>,
    pub manifest_seqs: BTreeMap<(String, u64), String>,
    pub fragments: BTreeMap<String, StoredFragment>,
    /// mdsc: manifests by project name.
    pub manifests: BTreeMap<String, ManifestPacket>,
}

/// `MakeFragmentID`: hex sha256 of `FDSC_FRAG_ID:<session>:<path>:<index>`.
pub fn fragment_id(session_id: &str, path: &str, index: u64) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(format!("FDSC_FRAG_ID:{session_id}:{path}:{index}")))
}

fn gw_err(msg: impl std::fmt::Display) -> SdkError {
    SdkError::wrap(codes::INVALID_REQUEST, msg)
}

fn decode<M: prost::Message + Default>(value: &[u8]) -> Result<M, SdkError> {
    M::decode(value).map_err(|e| SdkError::tx_decode(e.to_string()))
}

fn session_for(ledger: &Ledger, id: &str) -> Result<Session, SdkError> {
    ledger.gateway().sessions.get(id).cloned().ok_or_else(|| gw_err(format!("session {id} not found")))
}

fn require_executor(s: &Session, signer: &str) -> Result<(), SdkError> {
    if s.executor != signer {
        return Err(SdkError::wrap(codes::UNAUTHORIZED, "executor mismatch"));
    }
    if s.state.closed() {
        return Err(gw_err("session is closed"));
    }
    Ok(())
}

fn response(type_url: &str, value: Vec<u8>) -> Any {
    Any { type_url: format!("{type_url}Response"), value }
}

/// The channels registered for a connection type, sorted (`DatastoreChannels` iterate
/// in key order).
fn channels_of(ledger: &Ledger, connection_type: &str) -> Vec<String> {
    let mut chans: Vec<String> = ledger
        .storage_endpoints()
        .iter()
        .filter(|s| s.connection_type == connection_type)
        .map(|s| s.channel_id.clone())
        .collect();
    chans.sort();
    chans
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

pub const MSG_INIT_SESSION: &str = "/gwc.gateway.v1.MsgInitSession";
pub const MSG_COMMIT_ROOT_PROOF: &str = "/gwc.gateway.v1.MsgCommitRootProof";
pub const MSG_DISTRIBUTE_BATCH: &str = "/gwc.gateway.v1.MsgDistributeBatch";
pub const MSG_FINALIZE_AND_CLOSE: &str = "/gwc.gateway.v1.MsgFinalizeAndCloseSession";
pub const MSG_ABORT_AND_CLOSE: &str = "/gwc.gateway.v1.MsgAbortAndCloseSession";

handler!(InitSessionHandler, MsgInitSession, MSG_INIT_SESSION, owner, 40_000, |ledger, m| {
    let executor = ledger.gateway().local_admin.clone();
    if executor.is_empty() {
        return Err(gw_err("params.local_admin must be set for CSU"));
    }
    let session_id = format!("{}-{}", m.owner, ledger.block_time_ns());
    let deadline = if m.deadline_unix == 0 {
        (ledger.block_time_ns() / 1_000_000_000) as i64 + DEFAULT_DEADLINE_SECS
    } else {
        m.deadline_unix
    };
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
    ledger.gateway_mut().sessions.insert(session_id.clone(), session);
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
    Ok(MsgOutcome { events: vec![event], response: response(MSG_INIT_SESSION, Vec::new()) })
});

handler!(CommitRootProofHandler, MsgCommitRootProof, MSG_COMMIT_ROOT_PROOF, owner, 20_000, |ledger, m| {
    let mut s = session_for(ledger, &m.session_id)?;
    if s.owner != m.owner {
        return Err(SdkError::wrap(codes::UNAUTHORIZED, "owner mismatch"));
    }
    if s.state != SessionState::Init || hex::decode(&m.root_proof_hex).is_err() {
        return Err(gw_err("root proof already committed, session not in INIT, or root is not hex"));
    }
    s.root_proof_hex = m.root_proof_hex.to_lowercase();
    s.state = SessionState::RootCommitted;
    ledger.gateway_mut().sessions.insert(s.session_id.clone(), s);
    let event = Event::new("csu_root_committed", &[("session_id", &m.session_id)]);
    Ok(MsgOutcome { events: vec![event], response: response(MSG_COMMIT_ROOT_PROOF, Vec::new()) })
});

handler!(DistributeBatchHandler, MsgDistributeBatch, MSG_DISTRIBUTE_BATCH, executor, 40_000, |ledger, m| {
    let mut s = session_for(ledger, &m.session_id)?;
    require_executor(&s, &m.executor)?;
    if !matches!(s.state, SessionState::RootCommitted | SessionState::Distributing) {
        return Err(gw_err("root proof not committed"));
    }
    let mut chans = channels_of(ledger, "datastore");
    if chans.is_empty() {
        return Err(gw_err("no FDSC channels"));
    }
    if s.num_fdsc_chains > 0 {
        chans.truncate(s.num_fdsc_chains as usize);
    }
    let timeout = ledger.block_time_ns() + PACKET_TIMEOUT_NS;
    for (i, item) in m.items.iter().enumerate() {
        let channel = if item.target_fdsc_channel.is_empty() {
            chans[i % chans.len()].clone()
        } else if chans.contains(&item.target_fdsc_channel) {
            item.target_fdsc_channel.clone()
        } else {
            return Err(gw_err("target channel is not allowed for this session"));
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
        let seq = ledger.send_packet(GATEWAY_PORT, &channel, data.encode_to_vec(), timeout)?;
        ledger.gateway_mut().fragment_seqs.insert((channel, seq), s.session_id.clone());
        s.distributed_count += 1;
    }
    s.state = SessionState::Distributing;
    ledger.gateway_mut().sessions.insert(s.session_id.clone(), s);
    Ok(MsgOutcome { events: Vec::new(), response: response(MSG_DISTRIBUTE_BATCH, Vec::new()) })
});

handler!(
    FinalizeHandler,
    MsgFinalizeAndCloseSession,
    MSG_FINALIZE_AND_CLOSE,
    executor,
    40_000,
    |ledger, m| {
        let mut s = session_for(ledger, &m.session_id)?;
        require_executor(&s, &m.executor)?;
        if s.root_proof_hex.is_empty()
            || !matches!(s.state, SessionState::RootCommitted | SessionState::Distributing)
        {
            return Err(gw_err("root proof not committed or invalid state"));
        }
        let manifest = m.manifest.unwrap_or_default();
        for (what, ok) in [
            ("session_id", manifest.session_id == m.session_id),
            ("owner", manifest.owner == s.owner),
            ("root_proof", manifest.root_proof.to_lowercase() == s.root_proof_hex),
            ("fragment_size", manifest.fragment_size == s.fragment_size),
        ] {
            if !ok {
                return Err(gw_err(format!("manifest.{what} mismatch")));
            }
        }
        let Some(channel) = channels_of(ledger, "metastore").into_iter().next() else {
            return Err(gw_err("MDSC channel not found"));
        };
        let data = GatewayPacketData { fragment_packet: None, manifest_packet: Some(manifest) };
        let timeout = ledger.block_time_ns() + PACKET_TIMEOUT_NS;
        let seq = ledger.send_packet(GATEWAY_PORT, &channel, data.encode_to_vec(), timeout)?;
        ledger.gateway_mut().manifest_seqs.insert((channel, seq), s.session_id.clone());
        s.state = SessionState::Finalizing;
        ledger.gateway_mut().sessions.insert(s.session_id.clone(), s);
        let event = Event::new(
            "csu_finalize_sent",
            &[("session_id", &m.session_id), ("executor", &m.executor), ("manifest_seq", &seq.to_string())],
        );
        Ok(MsgOutcome { events: vec![event], response: response(MSG_FINALIZE_AND_CLOSE, Vec::new()) })
    }
);

handler!(AbortHandler, MsgAbortAndCloseSession, MSG_ABORT_AND_CLOSE, executor, 20_000, |ledger, m| {
    let mut s = session_for(ledger, &m.session_id)?;
    require_executor(&s, &m.executor)?;
    s.state = SessionState::ClosedFailed;
    s.close_reason = m.reason.clone();
    ledger.gateway_mut().sessions.insert(s.session_id.clone(), s);
    let event = Event::new("csu_abort", &[("session_id", &m.session_id), ("reason", &m.reason)]);
    Ok(MsgOutcome { events: vec![event], response: response(MSG_ABORT_AND_CLOSE, Vec::new()) })
});

/// The gateway module's packet callbacks on gwc.
struct GatewayApp;
/// fdsc's datastore: stores fragments.
struct DatastoreApp;
/// mdsc's metastore: stores manifests.
struct MetastoreApp;

impl PacketApp for GatewayApp {
    fn on_recv(&self, _: &mut Ledger, _: &Packet) -> Vec<u8> {
        error_ack(codes::UNKNOWN_REQUEST.0)
    }

    /// `OnAcknowledgementPacket`: fragment acks count, mdsc's manifest ack closes the session.
    fn on_ack(&self, ledger: &mut Ledger, p: &Packet, ack: &[u8]) {
        let key = (p.source_channel.clone(), p.sequence);
        let success = ack_is_success(ack);
        let store = ledger.gateway_mut();
        if let Some(id) = store.fragment_seqs.remove(&key)
            && let Some(s) = store.sessions.get_mut(&id)
        {
            if success { s.ack_success_count += 1 } else { s.ack_error_count += 1 }
        } else if let Some(id) = store.manifest_seqs.remove(&key)
            && let Some(s) = store.sessions.get_mut(&id)
        {
            if success {
                s.state = SessionState::ClosedSuccess;
            } else {
                s.state = SessionState::ClosedFailed;
                s.close_reason = String::from_utf8_lossy(ack).into_owned();
            }
        }
    }
}

impl PacketApp for DatastoreApp {
    fn on_recv(&self, ledger: &mut Ledger, p: &Packet) -> Vec<u8> {
        let Some(f) = GatewayPacketData::decode(p.data.as_slice()).ok().and_then(|d| d.fragment_packet)
        else {
            return error_ack(codes::UNKNOWN_REQUEST.0);
        };
        let id = fragment_id(&f.session_id, &f.path, f.index);
        let store = ledger.gateway_mut();
        if let Some(existing) = store.fragments.get(&id)
            && existing.data != f.data
        {
            return error_ack(codes::INVALID_REQUEST.0);
        }
        store.fragments.insert(
            id.clone(),
            StoredFragment {
                fragment_id: id,
                data: f.data,
                root_proof: f.root_proof,
                session_id: f.session_id,
                path: f.path,
                index: f.index,
            },
        );
        result_ack(&[1])
    }

    fn on_ack(&self, _: &mut Ledger, _: &Packet, _: &[u8]) {}
}

impl PacketApp for MetastoreApp {
    fn on_recv(&self, ledger: &mut Ledger, p: &Packet) -> Vec<u8> {
        let Some(m) = GatewayPacketData::decode(p.data.as_slice()).ok().and_then(|d| d.manifest_packet)
        else {
            return error_ack(codes::UNKNOWN_REQUEST.0);
        };
        ledger.gateway_mut().manifests.insert(m.project_name.clone(), m);
        result_ack(&[1])
    }

    fn on_ack(&self, _: &mut Ledger, _: &Packet, _: &[u8]) {}
}

pub(super) fn app_for_port(port: &str) -> Option<&'static dyn PacketApp> {
    match port {
        GATEWAY_PORT => Some(&GatewayApp),
        DATASTORE_PORT => Some(&DatastoreApp),
        METASTORE_PORT => Some(&MetastoreApp),
        _ => None,
    }
}

/// `fdsc.datastore.v1.Fragment` in proto JSON.
pub fn fragment_json(f: &StoredFragment) -> Value {
    use base64::Engine as _;
    json!({"fragment_id": f.fragment_id, "data": base64::engine::general_purpose::STANDARD.encode(&f.data),
           "creator": "ibc-sender", "root_proof": f.root_proof, "session_id": f.session_id, "path": f.path,
           "index": f.index.to_string()})
}

/// `mdsc.metastore.v1.Manifest` in proto JSON (files keyed by path).
pub fn manifest_json(m: &ManifestPacket) -> Value {
    let files: serde_json::Map<String, Value> = m
        .files
        .iter()
        .map(|f| {
            let md = f.metadata.clone().unwrap_or_default();
            let frags: Vec<Value> =
                md.fragments.iter().map(|x| json!({"fdsc_id": x.fdsc_id, "fragment_id": x.fragment_id})).collect();
            (
                f.path.clone(),
                json!({"mime_type": md.mime_type, "size": md.file_size.to_string(), "fragments": frags, "file_root": md.file_root}),
            )
        })
        .collect();
    json!({"project_name": m.project_name, "version": m.version, "owner": m.owner, "files": files,
           "root_proof": m.root_proof, "session_id": m.session_id, "fragment_size": m.fragment_size.to_string()})
}
