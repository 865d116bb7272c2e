//! gwc's upload sessions (Cryptomeria-core `apps/gwc/x/gateway`) as state: the session record,
//! the module's params, what the keeper keeps beside them (upload-token hashes, fragments
//! seen, packet sequences bound to sessions, the channels registered on `OnChanOpenAck`), and
//! what fdsc's datastore and mdsc's metastore keep of the packets they receive. The messages
//! are in `gw_wire`, their handlers in `gw_keeper`; the packet callbacks are here.
//! States: INIT → ROOT_COMMITTED → DISTRIBUTING → FINALIZING (manifest sent) → CLOSED_SUCCESS
//! only when mdsc's acknowledgement comes back (or CLOSED_FAILED).

pub use super::gw_wire::*;
use super::ledger::Ledger;
use super::packets::{Packet, PacketApp, ack_is_success, error_ack, result_ack};
use super::sdk_error::codes;
use prost::Message as _;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The gateway's IBC port on gwc and the storage modules' ports.
pub const GATEWAY_PORT: &str = "gateway";
pub const DATASTORE_PORT: &str = "datastore";
pub const METASTORE_PORT: &str = "metastore";

/// `gwc.gateway.v1.Params`, with `DefaultParams()` values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub max_fragment_bytes: u64,
    pub max_fragments_per_session: u64,
    pub default_deadline_seconds: i64,
    pub local_admin: String,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            max_fragment_bytes: 104_857_600,
            max_fragments_per_session: 50_000,
            default_deadline_seconds: 3_600,
            local_admin: String::new(),
        }
    }
}

impl Params {
    /// As the query answers it (`QueryParamsResponse.params`, integers as strings).
    pub fn to_json(&self) -> Value {
        json!({"max_fragment_bytes": self.max_fragment_bytes.to_string(),
            "max_fragments_per_session": self.max_fragments_per_session.to_string(),
            "default_deadline_seconds": self.default_deadline_seconds.to_string(), "local_admin": self.local_admin})
    }
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

    pub fn closed(self) -> bool {
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
    pub params: Params,
    pub sessions: BTreeMap<String, Session>,
    /// sha256 of each session's upload token (`SessionUploadTokenHash`).
    pub upload_token_hashes: BTreeMap<String, [u8; 32]>,
    /// `SessionFragmentSeen`: (session, path, index).
    pub fragments_seen: BTreeSet<(String, String, u64)>,
    /// Packet sequence → session, per gateway channel (`BindFragmentSeq`, `BindManifestSeq`).
    pub fragment_seqs: BTreeMap<(String, u64), String>,
    pub manifest_seqs: BTreeMap<(String, u64), String>,
    /// Registered on `OnChanOpenAck` by the counterparty's port.
    pub datastore_channels: BTreeSet<String>,
    pub metastore_channel: Option<String>,
    pub fragments: BTreeMap<String, StoredFragment>,
    /// mdsc: manifests by project name.
    pub manifests: BTreeMap<String, ManifestPacket>,
}

/// `MakeFragmentID`: hex sha256 of `FDSC_FRAG_ID:<session>:<path>:<index>`.
pub fn fragment_id(session_id: &str, path: &str, index: u64) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(format!("FDSC_FRAG_ID:{session_id}:{path}:{index}")))
}

/// The plaintext upload token of a session: hex sha256 of `upload_token:<session id>`.
pub fn upload_token(session_id: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(format!("upload_token:{session_id}")))
}

/// `RevokeCSUGrants`: the owner's authz grants to local-admin and its fee allowance.
pub fn revoke_csu_grants(ledger: &mut Ledger, owner: &str) {
    let admin = ledger.gateway().params.local_admin.clone();
    if admin.is_empty() {
        return;
    }
    let authz = ledger.authz_mut();
    for url in CSU_AUTHORIZED {
        authz.grants.remove(&(owner.to_string(), admin.clone(), url.to_string()));
    }
    authz.allowances.remove(&(owner.to_string(), admin));
}

/// `Keeper.RegisterChannel` on `OnChanOpenAck`: a gateway channel whose counterparty is a
/// metastore or datastore port becomes the session flow's channel and a storage entry keyed
/// by the channel id (connection type `mdsc` / `fdsc`, no chain id or endpoint yet).
pub fn register_channel(ledger: &mut Ledger, channel_id: &str, counterparty_port: &str) {
    let connection_type = match counterparty_port {
        METASTORE_PORT => {
            ledger.gateway_mut().metastore_channel = Some(channel_id.to_string());
            "mdsc"
        }
        DATASTORE_PORT => {
            ledger.gateway_mut().datastore_channels.insert(channel_id.to_string());
            "fdsc"
        }
        _ => return,
    };
    let infos = ledger.storage_endpoints_mut();
    infos.retain(|i| i.channel_id != channel_id);
    infos.push(super::gateway::StorageInfo {
        channel_id: channel_id.to_string(),
        chain_id: String::new(),
        api_endpoint: String::new(),
        connection_type: connection_type.to_string(),
    });
    infos.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
}

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
        let mut revoke = None;
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
                s.close_reason = serde_json::from_slice::<Value>(ack)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(str::to_string))
                    .unwrap_or_else(|| String::from_utf8_lossy(ack).into_owned());
                revoke = Some(s.owner.clone());
            }
        }
        if let Some(owner) = revoke {
            revoke_csu_grants(ledger, &owner);
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
