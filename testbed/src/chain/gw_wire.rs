//! gwc's gateway module on the wire (Cryptomeria-core `apps/gwc/proto/gwc/gateway/v1`:
//! `tx.proto`, `types.proto`, `packet.proto`, `authorization.proto`), its type URLs and the
//! module's error codespace (`types/errors.go`).

use super::sdk_error::SdkError;

pub const MSG_INIT_SESSION: &str = "/gwc.gateway.v1.MsgInitSession";
pub const MSG_COMMIT_ROOT_PROOF: &str = "/gwc.gateway.v1.MsgCommitRootProof";
pub const MSG_DISTRIBUTE_BATCH: &str = "/gwc.gateway.v1.MsgDistributeBatch";
pub const MSG_FINALIZE_AND_CLOSE: &str = "/gwc.gateway.v1.MsgFinalizeAndCloseSession";
pub const MSG_ABORT_AND_CLOSE: &str = "/gwc.gateway.v1.MsgAbortAndCloseSession";
pub const MSG_REGISTER_STORAGE: &str = "/gwc.gateway.v1.MsgRegisterStorage";
pub const SESSION_BOUND_AUTHORIZATION: &str = "/gwc.gateway.v1.SessionBoundAuthorization";

/// The messages the owner grants the executor (`CSUAuthorizedMsgTypeURLs`).
pub const CSU_AUTHORIZED: [&str; 3] = [MSG_DISTRIBUTE_BATCH, MSG_FINALIZE_AND_CLOSE, MSG_ABORT_AND_CLOSE];

/// The gateway module's registered errors (codespace `gateway`).
pub mod gw_codes {
    pub const INVALID_SIGNER: (u32, &str) = (1100, "invalid signer");
    pub const SESSION_NOT_FOUND: (u32, &str) = (1101, "session not found");
    pub const SESSION_CLOSED: (u32, &str) = (1102, "session is closed");
    pub const SESSION_INVALID_STATE: (u32, &str) = (1103, "invalid session state");
    pub const ROOT_PROOF_NOT_COMMITTED: (u32, &str) = (1104, "root proof not committed");
    pub const INVALID_ROOT_PROOF: (u32, &str) = (1105, "invalid root proof");
    pub const EXECUTOR_MISMATCH: (u32, &str) = (1106, "executor mismatch");
    pub const DUPLICATE_FRAGMENT: (u32, &str) = (1107, "duplicate fragment");
    pub const NO_DATASTORE_CHANNELS: (u32, &str) = (1108, "no datastore channels");
    pub const NO_METASTORE_CHANNEL: (u32, &str) = (1109, "no metastore channel");
    pub const INVALID_MANIFEST: (u32, &str) = (1110, "invalid manifest");
    pub const INVALID_PROOF: (u32, &str) = (1111, "invalid merkle proof");
    pub const UNKNOWN_DATASTORE_CHANNEL: (u32, &str) = (1112, "unknown datastore channel");
    pub const LIMIT_EXCEEDED: (u32, &str) = (1113, "limit exceeded");
    pub const LOCAL_ADMIN_NOT_CONFIGURED: (u32, &str) = (1114, "local-admin not configured");
    pub const LOCAL_ADMIN_MISMATCH: (u32, &str) = (1115, "local-admin mismatch");
    pub const AUTHZ_MISSING_OR_INVALID: (u32, &str) = (1116, "authz missing or invalid");
}

/// `errorsmod.Wrap(types.ErrX, context)` in the `gateway` codespace.
pub fn gw_err((code, description): (u32, &str), context: impl std::fmt::Display) -> SdkError {
    SdkError { codespace: "gateway", code, log: format!("{context}: {description}") }
}

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
pub struct MsgInitSessionResponse {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(string, tag = "2")]
    pub session_upload_token: String,
    #[prost(int64, tag = "3")]
    pub resolved_deadline_unix: i64,
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

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MerkleStep {
    #[prost(string, tag = "1")]
    pub sibling_hex: String,
    #[prost(bool, tag = "2")]
    pub sibling_is_left: bool,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MerkleProof {
    #[prost(message, repeated, tag = "1")]
    pub steps: Vec<MerkleStep>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DistributeItem {
    #[prost(string, tag = "1")]
    pub path: String,
    #[prost(uint64, tag = "2")]
    pub index: u64,
    #[prost(bytes = "vec", tag = "3")]
    pub fragment_bytes: Vec<u8>,
    #[prost(message, optional, tag = "4")]
    pub fragment_proof: Option<MerkleProof>,
    #[prost(uint64, tag = "5")]
    pub file_size: u64,
    #[prost(message, optional, tag = "6")]
    pub file_proof: Option<MerkleProof>,
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

/// `gwc.gateway.v1.StorageInfo`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StorageInfoProto {
    #[prost(string, tag = "1")]
    pub channel_id: String,
    #[prost(string, tag = "2")]
    pub chain_id: String,
    #[prost(string, tag = "3")]
    pub api_endpoint: String,
    #[prost(string, tag = "4")]
    pub connection_type: String,
}

/// `MsgRegisterStorage {authority = 1; repeated StorageInfo storage_infos = 2}`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgRegisterStorage {
    #[prost(string, tag = "1")]
    pub authority: String,
    #[prost(message, repeated, tag = "2")]
    pub storage_infos: Vec<StorageInfoProto>,
}

/// `gwc.gateway.v1.SessionBoundAuthorization`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SessionBoundAuthorization {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(string, tag = "2")]
    pub msg_type_url: String,
}
