//! The gateway keeper against a bare ledger: responses, events, the codespace's codes,
//! limits, authz, and `MsgRegisterStorage`'s authority and merge.

use super::authz::{GrantHandler, grant_generic};
use super::gw_keeper::*;
use super::ibc::{ChannelState, IbcChannel};
use super::ledger::Ledger;
use super::merkle::{ProcessedFile, build_proofs};
use super::msgs::{MsgHandler, MsgOutcome};
use super::sdk_error::SdkError;
use super::sessions::*;
use prost::Message as _;

const OWNER: &str = "owner";
const ADMIN: &str = "admin";

fn gateway_channel(id: &str, port: &str) -> IbcChannel {
    IbcChannel {
        port_id: GATEWAY_PORT.into(),
        channel_id: id.into(),
        state: ChannelState::Open,
        ordering: "ORDER_UNORDERED",
        counterparty_port_id: port.into(),
        counterparty_channel_id: "channel-0".into(),
        connection_id: "connection-0".into(),
        version: "gateway-1".into(),
        client_id: "07-tendermint-0".into(),
        counterparty_chain_id: "x".into(),
    }
}

fn ledger() -> Ledger {
    let mut l = Ledger::default();
    l.set_block_time("2026-01-01T00:00:00Z".parse().unwrap());
    l.gateway_mut().params.local_admin = ADMIN.into();
    for (id, port) in [("channel-0", DATASTORE_PORT), ("channel-1", METASTORE_PORT)] {
        l.channels_mut().push(gateway_channel(id, port));
        register_channel(&mut l, id, port);
    }
    l
}

fn run<M: prost::Message>(l: &mut Ledger, h: &dyn MsgHandler, m: &M) -> Result<MsgOutcome, SdkError> {
    l.checkpoint();
    let out = h.deliver(l, &m.encode_to_vec());
    if out.is_ok() {
        l.commit()
    } else {
        l.rollback()
    }
    out
}

fn code(r: Result<MsgOutcome, SdkError>) -> (u32, &'static str) {
    let e = r.expect_err("an error");
    (e.code, e.codespace)
}

fn attr(out: &MsgOutcome, kind: &str, key: &str) -> String {
    let e = out.events.iter().find(|e| e.kind == kind).unwrap_or_else(|| panic!("{kind}: {:?}", out.events));
    e.value(key).unwrap().to_string()
}

fn init(l: &mut Ledger, size: u64) -> Result<MsgOutcome, SdkError> {
    let m = MsgInitSession { owner: OWNER.into(), fragment_size: size, deadline_unix: 0, num_fdsc_chains: 0 };
    run(l, &InitSessionHandler, &m)
}

#[test]
fn init_answers_the_token_and_deadline_and_root_commits_only_for_the_owner() {
    let mut l = ledger();
    let out = init(&mut l, 4).unwrap();
    let sid = attr(&out, "csu_init_session", "session_id");
    assert_eq!(attr(&out, "csu_init_session", "executor"), ADMIN);
    let resp = MsgInitSessionResponse::decode(out.response.value.as_slice()).unwrap();
    assert_eq!(
        (resp.session_id.as_str(), resp.session_upload_token.clone()),
        (sid.as_str(), upload_token(&sid))
    );
    assert_eq!(resp.resolved_deadline_unix, 1_767_225_600 + 3_600, "the default deadline is an hour");
    assert_eq!(code(init(&mut l, 104_857_601)), (1113, "gateway"));

    let commit = |owner: &str, root: &str| MsgCommitRootProof {
        owner: owner.into(),
        session_id: sid.clone(),
        root_proof_hex: root.into(),
    };
    assert_eq!(code(run(&mut l, &CommitRootProofHandler, &commit("mallory", "ab"))), (1100, "gateway"));
    assert_eq!(code(run(&mut l, &CommitRootProofHandler, &commit(OWNER, "zz"))), (1105, "gateway"));
    let out = run(&mut l, &CommitRootProofHandler, &commit(OWNER, "ab")).unwrap();
    assert_eq!(attr(&out, "csu_commit_root_proof", "root_proof"), "ab");
    assert_eq!(code(run(&mut l, &CommitRootProofHandler, &commit(OWNER, "ab"))), (1103, "gateway"));
}

#[test]
fn distribution_needs_the_grant_a_valid_proof_and_each_fragment_once() {
    let mut l = ledger();
    let sid = attr(&init(&mut l, 4).unwrap(), "csu_init_session", "session_id");
    let content = b"hello world".to_vec();
    let file = ProcessedFile {
        filename: "a.txt".into(),
        path: "a.txt".into(),
        chunks: content.chunks(4).map(<[u8]>::to_vec).collect(),
        content,
    };
    let (root, frags) = build_proofs(&[file]).unwrap();
    let commit = MsgCommitRootProof { owner: OWNER.into(), session_id: sid.clone(), root_proof_hex: root };
    run(&mut l, &CommitRootProofHandler, &commit).unwrap();
    let item = |i: usize, bytes: Option<&[u8]>| DistributeItem {
        path: frags[i].path.clone(),
        index: frags[i].index,
        fragment_bytes: bytes.unwrap_or(&frags[i].bytes).to_vec(),
        fragment_proof: Some(frags[i].fragment_proof.clone()),
        file_size: frags[i].file_size,
        file_proof: Some(frags[i].file_proof.clone()),
        target_fdsc_channel: String::new(),
    };
    let batch = |items| MsgDistributeBatch { executor: ADMIN.into(), session_id: sid.clone(), items };
    assert_eq!(code(run(&mut l, &DistributeBatchHandler, &batch(vec![item(0, None)]))), (1116, "gateway"));
    let grant = grant_generic(OWNER, ADMIN, MSG_DISTRIBUTE_BATCH, None);
    GrantHandler.deliver(&mut l, &grant.value).unwrap();
    let wrong_executor =
        MsgDistributeBatch { executor: OWNER.into(), session_id: sid.clone(), items: vec![item(0, None)] };
    assert_eq!(code(run(&mut l, &DistributeBatchHandler, &wrong_executor)), (1106, "gateway"));
    assert_eq!(
        code(run(&mut l, &DistributeBatchHandler, &batch(vec![item(0, Some(b"HELL"))]))),
        (1111, "gateway")
    );
    run(&mut l, &DistributeBatchHandler, &batch(vec![item(0, None), item(1, None)])).unwrap();
    assert_eq!(code(run(&mut l, &DistributeBatchHandler, &batch(vec![item(1, None)]))), (1107, "gateway"));
    l.gateway_mut().params.max_fragment_bytes = 2;
    assert_eq!(code(run(&mut l, &DistributeBatchHandler, &batch(vec![item(2, None)]))), (1113, "gateway"));
    let s = l.gateway().sessions[&sid].clone();
    assert_eq!((s.state, s.distributed_count), (SessionState::Distributing, 2));

    let abort =
        MsgAbortAndCloseSession { executor: ADMIN.into(), session_id: sid.clone(), reason: "r".into() };
    assert_eq!(code(run(&mut l, &AbortHandler, &abort)), (1116, "gateway"), "abort needs its own grant");
    GrantHandler.deliver(&mut l, &grant_generic(OWNER, ADMIN, MSG_ABORT_AND_CLOSE, None).value).unwrap();
    let out = run(&mut l, &AbortHandler, &abort).unwrap();
    assert_eq!(attr(&out, "csu_session_aborted", "reason"), "r");
    assert!(l.authz().grants.is_empty(), "aborting revokes the owner's grants");
}

#[test]
fn register_storage_is_local_admin_only_keyed_by_channel_and_merges_without_an_event() {
    let mut l = ledger();
    let infos = l.storage_endpoints().to_vec();
    assert_eq!(
        infos.iter().map(|i| (i.channel_id.as_str(), i.connection_type.as_str())).collect::<Vec<_>>(),
        [("channel-0", "fdsc"), ("channel-1", "mdsc")],
        "OnChanOpenAck registered both channels"
    );
    let msg = |authority: &str| MsgRegisterStorage {
        authority: authority.into(),
        storage_infos: vec![StorageInfoProto {
            channel_id: "channel-0".into(),
            chain_id: "fdsc-0".into(),
            api_endpoint: String::new(),
            connection_type: "datastore".into(),
        }],
    };
    assert_eq!(code(run(&mut l, &RegisterStorageHandler, &msg(OWNER))), (4, "sdk"));
    let out = run(&mut l, &RegisterStorageHandler, &msg(ADMIN)).unwrap();
    assert!(out.events.is_empty());
    let e = l.storage_endpoints().iter().find(|i| i.channel_id == "channel-0").cloned().unwrap();
    assert_eq!((e.chain_id.as_str(), e.connection_type.as_str()), ("fdsc-0", "datastore"));
    assert_eq!(l.storage_endpoints().len(), 2);
}
