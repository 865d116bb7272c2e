//! `abci_query` over the gRPC query paths CosmJS and the SDK CLI use (account, balances,
//! simulate), answered from the latest committed state the way baseapp does
//! (`baseapp/abci.go Query`, `baseapp/grpcrouter.go`): protobuf in `value`, errors as SDK
//! codes with the gRPC status text in the log.

use super::error::RpcError;
use super::params::Params;
use super::shapes::b64;
use crate::chain::coins::Coin;
use crate::chain::keys::validate_address;
use crate::chain::ledger::Account;
use crate::chain::node::ChainNode;
use crate::chain::pagination::{self, PageRequest};
use crate::chain::sdk_error::{SdkError, codes};
use crate::chain::tx_codec::{decode_tx, secp256k1_pubkey_any};
use cosmrs::Any;
use cosmrs::proto::cosmos::auth::v1beta1::{
    BaseAccount, ModuleAccount, QueryAccountRequest, QueryAccountResponse,
};
use cosmrs::proto::cosmos::bank::v1beta1::{
    QueryAllBalancesRequest, QueryAllBalancesResponse, QueryBalanceRequest, QueryBalanceResponse,
};
use cosmrs::proto::cosmos::base::abci::v1beta1::{GasInfo, Result as AbciResult};
use cosmrs::proto::cosmos::base::query::v1beta1::PageResponse;
use cosmrs::proto::cosmos::tx::v1beta1::{SimulateRequest, SimulateResponse};
use cosmrs::proto::prost::Message;
use serde_json::{Value, json};

pub fn call(node: &ChainNode, p: &Params) -> Result<Value, RpcError> {
    let path = p.string("path")?.unwrap_or_default();
    let data = p.hex_bytes("data")?.unwrap_or_default();
    let latest = node.latest_height();
    let height = p.int("height")?.unwrap_or(0);
    let answer = if height > latest as i64 {
        let msg = "cannot query with height in the future; please provide a valid height";
        Err(SdkError::wrap((26, "invalid height"), msg))
    } else {
        route(node, &path, &data)
    };
    let (code, codespace, log, value) = match answer {
        Ok(value) => (0, "", String::new(), json!(b64(&value))),
        Err(e) => (e.code, e.codespace, e.log, Value::Null),
    };
    Ok(json!({"response": {
        "code": code, "log": log, "info": "", "index": "0", "key": null, "value": value,
        "proofOps": null, "height": latest.to_string(), "codespace": codespace,
    }}))
}

fn route(node: &ChainNode, path: &str, data: &[u8]) -> Result<Vec<u8>, SdkError> {
    match path {
        "/cosmos.auth.v1beta1.Query/Account" => account(node, &decode::<QueryAccountRequest>(data)?),
        "/cosmos.bank.v1beta1.Query/Balance" => balance(node, &decode::<QueryBalanceRequest>(data)?),
        "/cosmos.bank.v1beta1.Query/AllBalances" => {
            all_balances(node, &decode::<QueryAllBalancesRequest>(data)?)
        }
        "/cosmos.tx.v1beta1.Service/Simulate" => simulate(node, &decode::<SimulateRequest>(data)?),
        "" => Err(SdkError::wrap(codes::UNKNOWN_REQUEST, "no query path provided")),
        other => Err(SdkError::wrap(codes::UNKNOWN_REQUEST, format!("unknown query path: {other}"))),
    }
}

fn decode<M: Message + Default>(data: &[u8]) -> Result<M, SdkError> {
    M::decode(data).map_err(|e| grpc_error("InvalidArgument", &e.to_string()))
}

/// A gRPC status error as `gRPCErrorToSDKError` turns it into an SDK error.
fn grpc_error(status: &str, message: &str) -> SdkError {
    let code = match status {
        "NotFound" => codes::KEY_NOT_FOUND,
        "InvalidArgument" => codes::INVALID_REQUEST,
        _ => codes::UNKNOWN_REQUEST,
    };
    SdkError::wrap(code, format!("rpc error: code = {status} desc = {message}"))
}

/// An auth account packed as its `Any` (`BaseAccount`, or `ModuleAccount` wrapping one).
pub fn account_any(a: &Account) -> Any {
    let base = BaseAccount {
        address: a.address.clone(),
        pub_key: a.pub_key.as_deref().map(secp256k1_pubkey_any),
        account_number: a.number,
        sequence: a.sequence,
    };
    match &a.module {
        Some(m) => Any {
            type_url: "/cosmos.auth.v1beta1.ModuleAccount".into(),
            value: ModuleAccount {
                base_account: Some(base),
                name: m.name.clone(),
                permissions: m.permissions.clone(),
            }
            .encode_to_vec(),
        },
        None => Any { type_url: "/cosmos.auth.v1beta1.BaseAccount".into(), value: base.encode_to_vec() },
    }
}

fn account(node: &ChainNode, req: &QueryAccountRequest) -> Result<Vec<u8>, SdkError> {
    validate_address(&req.address).map_err(|e| grpc_error("Unknown", &e.log))?;
    let account = node
        .account(&req.address)
        .ok_or_else(|| grpc_error("NotFound", &format!("account {} not found", req.address)))?;
    Ok(QueryAccountResponse { account: Some(account_any(&account)) }.encode_to_vec())
}

fn balance(node: &ChainNode, req: &QueryBalanceRequest) -> Result<Vec<u8>, SdkError> {
    validate_address(&req.address)
        .map_err(|e| grpc_error("InvalidArgument", &format!("invalid address: {}", e.log)))?;
    if req.denom.is_empty() {
        return Err(grpc_error("InvalidArgument", "invalid denom"));
    }
    let coin = Coin::new(node.balance(&req.address, &req.denom), &req.denom);
    Ok(QueryBalanceResponse { balance: Some(coin.to_proto()) }.encode_to_vec())
}

fn all_balances(node: &ChainNode, req: &QueryAllBalancesRequest) -> Result<Vec<u8>, SdkError> {
    validate_address(&req.address)
        .map_err(|e| grpc_error("InvalidArgument", &format!("invalid address: {}", e.log)))?;
    let coins = node.read_state(|l| l.balances(&req.address));
    let keyed = coins.into_iter().map(|c| (c.denom.as_bytes().to_vec(), c)).collect();
    let request = req.pagination.as_ref().map(|p| PageRequest {
        key: p.key.clone(),
        offset: p.offset,
        limit: p.limit,
        count_total: p.count_total,
        reverse: p.reverse,
    });
    let page = pagination::paginate(keyed, request).map_err(|e| grpc_error("InvalidArgument", &e))?;
    Ok(QueryAllBalancesResponse {
        balances: page.items.iter().map(Coin::to_proto).collect(),
        pagination: Some(PageResponse {
            next_key: page.next_key.unwrap_or_default(),
            total: page.total.unwrap_or(0),
        }),
    }
    .encode_to_vec())
}

fn simulate(node: &ChainNode, req: &SimulateRequest) -> Result<Vec<u8>, SdkError> {
    if req.tx_bytes.is_empty() {
        return Err(grpc_error("InvalidArgument", "empty txBytes is not allowed"));
    }
    let tx = decode_tx(&req.tx_bytes).map_err(|e| grpc_error("Unknown", &e.log))?;
    let result = node.simulate(&tx);
    if !result.is_ok() {
        let msg = format!(
            "{} With gas wanted: '{}' and gas used: '{}' ",
            result.log, result.gas_wanted, result.gas_used
        );
        return Err(grpc_error("Unknown", &msg));
    }
    let msg_responses = cosmrs::proto::cosmos::base::abci::v1beta1::TxMsgData::decode(result.data.as_slice())
        .map(|d| d.msg_responses)
        .unwrap_or_default();
    let events = result
        .events
        .iter()
        .map(|e| cosmrs::proto::tendermint::v0_38::abci::Event {
            r#type: e.kind.clone(),
            attributes: e
                .attributes
                .iter()
                .map(|(k, v)| cosmrs::proto::tendermint::v0_38::abci::EventAttribute {
                    key: k.clone(),
                    value: v.clone(),
                    index: true,
                })
                .collect(),
        })
        .collect();
    #[allow(deprecated)] // `Result.data` is deprecated but still populated by the SDK.
    let abci_result = AbciResult { data: result.data.clone(), log: String::new(), events, msg_responses };
    let gas_info = GasInfo { gas_wanted: result.gas_wanted, gas_used: result.gas_used };
    Ok(SimulateResponse { gas_info: Some(gas_info), result: Some(abci_result) }.encode_to_vec())
}
