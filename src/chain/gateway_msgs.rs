//! The gwc gateway's own messages a client signs (`gwc/gateway/v1/tx.proto`), and the
//! standard grants the upload flow gives the session's executor: a fee allowance and
//! generic authorizations for the messages the executor sends on the owner's behalf.

use cosmrs::proto::Any;
use cosmrs::proto::Timestamp;
use cosmrs::proto::cosmos::authz::v1beta1::{GenericAuthorization, Grant, MsgGrant};
use cosmrs::proto::cosmos::feegrant::v1beta1::{BasicAllowance, MsgGrantAllowance};

pub const MSG_INIT_SESSION: &str = "/gwc.gateway.v1.MsgInitSession";
pub const MSG_COMMIT_ROOT_PROOF: &str = "/gwc.gateway.v1.MsgCommitRootProof";
/// What the executor (gwc's local-admin) sends for the owner: the three grants' messages.
pub const EXECUTOR_MESSAGES: [&str; 3] = [
    "/gwc.gateway.v1.MsgDistributeBatch",
    "/gwc.gateway.v1.MsgFinalizeAndCloseSession",
    "/gwc.gateway.v1.MsgAbortAndCloseSession",
];
/// The session state of a session closed after mdsc acknowledged its manifest.
pub const CLOSED_SUCCESS: &str = "SESSION_STATE_CLOSED_SUCCESS";
pub const CLOSED_FAILED: &str = "SESSION_STATE_CLOSED_FAILED";

/// `MsgInitSession` (field 2, the executor, was removed: it is always local-admin).
#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgInitSession {
    #[prost(string, tag = "1")]
    pub owner: String,
    #[prost(uint64, tag = "3")]
    pub fragment_size: u64,
    /// 0 = the chain's default deadline.
    #[prost(int64, tag = "4")]
    pub deadline_unix: i64,
    /// 0 = every data chain.
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

fn any(type_url: &str, msg: &impl prost::Message) -> Any {
    Any { type_url: type_url.into(), value: msg.encode_to_vec() }
}

pub fn init_session(m: &MsgInitSession) -> Any {
    any(MSG_INIT_SESSION, m)
}

pub fn commit_root_proof(m: &MsgCommitRootProof) -> Any {
    any(MSG_COMMIT_ROOT_PROOF, m)
}

fn timestamp(unix: i64) -> Timestamp {
    Timestamp { seconds: unix, nanos: 0 }
}

/// The owner's fee allowance for the executor, until `expires` (unix seconds).
pub fn fee_allowance(owner: &str, executor: &str, expires: i64) -> Any {
    let allowance = BasicAllowance { spend_limit: Vec::new(), expiration: Some(timestamp(expires)) };
    let msg = MsgGrantAllowance {
        granter: owner.into(),
        grantee: executor.into(),
        allowance: Some(any("/cosmos.feegrant.v1beta1.BasicAllowance", &allowance)),
    };
    any("/cosmos.feegrant.v1beta1.MsgGrantAllowance", &msg)
}

/// A generic authorization of `msg_type_url` from the owner to the executor.
pub fn generic_grant(owner: &str, executor: &str, msg_type_url: &str, expires: i64) -> Any {
    let authorization = GenericAuthorization { msg: msg_type_url.into() };
    let grant = Grant {
        authorization: Some(any("/cosmos.authz.v1beta1.GenericAuthorization", &authorization)),
        expiration: Some(timestamp(expires)),
    };
    let msg = MsgGrant { granter: owner.into(), grantee: executor.into(), grant: Some(grant) };
    any("/cosmos.authz.v1beta1.MsgGrant", &msg)
}
