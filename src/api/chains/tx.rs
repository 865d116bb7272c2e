//! Tx submission: simulate, broadcast (`sync|async|block`), protobuf decode, and the sign-doc
//! material of `tx/build`.

use crate::api::body::BodyErrors;
use crate::api::error::{ApiError, ErrorEnvelope};
use crate::api::extract::ApiJson;
use crate::app::AppState;
use crate::chain::{self, rest, rpc, tx};
use axum::extract::State;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::Chain;

// ----- tx submission --------------------------------------------------------------------------

/// Base64 → bytes that decode as a tx; the base64 text back for the upstream call.
pub(crate) fn checked_tx(text: &str) -> Result<(Vec<u8>, String), chain::Error> {
    let bytes = tx::tx_bytes_from_base64(text)?;
    tx::decode_parts(&bytes)?;
    let canonical = BASE64.encode(&bytes);
    Ok((bytes, canonical))
}

/// How `simulate` reaches the chain's `cosmos.tx.v1beta1.Service/Simulate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SimulateMode {
    /// Through the node's REST gateway (`POST /cosmos/tx/v1beta1/simulate`), which calls the
    /// same gRPC service in-process.
    #[default]
    Rest,
    /// A gRPC call to the chain's `grpc` port: refused with the reason (this BFF has no gRPC
    /// client; `rest` reaches the same service).
    Grpc,
}

/// A signed tx to simulate, and how.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimulateRequest {
    /// The `TxRaw` protobuf, base64.
    pub tx_bytes: String,
    /// `rest` (default) or `grpc`.
    pub mode: Option<SimulateMode>,
}

impl std::fmt::Debug for SimulateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimulateRequest {{ txBytes: <redacted>, mode: {:?} }}", self.mode)
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimulateResult {
    pub chain_id: String,
    pub gas_used: String,
    pub gas_wanted: String,
    #[schema(value_type = Object)]
    pub raw: Value,
}

/// Runs a signed tx without committing it: gas used and wanted.
#[utoipa::path(post, operation_id = "chains_simulate", path = "/{chainId}/simulate", tag = "chains", request_body = SimulateRequest,
    params(("chainId" = String, Path, description = "chain id")),
    responses(
        (status = 200, description = "OK", body = crate::api::Success<SimulateResult>),
        BodyErrors,
        (status = 404, description = "CHAIN_NOT_FOUND, in the error envelope", body = ErrorEnvelope),
        (status = 422, description = "INVALID_TX_BYTES: not base64 or not a tx; VALIDATION_ERROR: mode grpc (unavailable, details say why)", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the tx fails on the chain (details carry the upstream code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
pub(super) async fn simulate(
    State(state): State<AppState>,
    Chain { id: chain_id, endpoints }: Chain,
    ApiJson(body): ApiJson<SimulateRequest>,
) -> Result<Response, ApiError> {
    if body.mode == Some(SimulateMode::Grpc) {
        return Err(ApiError::validation(
            "mode",
            "mode grpc is unavailable: this BFF has no gRPC client; mode rest runs the same \
             cosmos.tx.v1beta1.Service/Simulate through the node's REST gateway",
        )
        .with_details(serde_json::json!({"field": "mode", "available": ["rest"]})));
    }
    let api = endpoints.api()?;
    let (_, tx_base64) = checked_tx(&body.tx_bytes)?;
    let raw = rest::simulate(&state.chains.for_chain(&chain_id), &api, &tx_base64).await?;
    let gas =
        |k: &str| raw.pointer(&format!("/gas_info/{k}")).and_then(Value::as_str).unwrap_or("0").to_string();
    Ok(crate::api::ok(SimulateResult {
        chain_id,
        gas_used: gas("gas_used"),
        gas_wanted: gas("gas_wanted"),
        raw,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BroadcastRequest {
    /// The `TxRaw` protobuf, base64.
    pub tx_bytes: String,
    /// `sync` (default), `async` or `block` (sync, then wait for inclusion).
    pub broadcast_mode: Option<String>,
}

impl std::fmt::Debug for BroadcastRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BroadcastRequest {{ txBytes: <redacted>, broadcastMode: {:?} }}", self.broadcast_mode)
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BroadcastResult {
    pub chain_id: String,
    pub broadcast_mode: String,
    pub txhash: String,
    /// CheckTx code for sync/async; the block's result code for block. 0 = success.
    pub code: i64,
    pub codespace: String,
    pub raw_log: String,
    /// "0" until included.
    pub height: u64,
    pub gas_used: String,
    pub gas_wanted: String,
    /// The node's `tx_response`.
    #[schema(value_type = Object)]
    pub raw: Value,
}

/// Submits a signed tx (`sync`, `async`, or `block` = sync + wait for inclusion, 504 on timeout).
#[utoipa::path(post, operation_id = "chains_broadcast", path = "/{chainId}/broadcast", tag = "chains", request_body = BroadcastRequest,
    params(("chainId" = String, Path, description = "chain id")),
    responses(
        (status = 200, description = "OK (a non-zero code is the chain's verdict on the tx)", body = crate::api::Success<BroadcastResult>),
        BodyErrors,
        (status = 404, description = "CHAIN_NOT_FOUND, in the error envelope", body = ErrorEnvelope),
        (status = 422, description = "INVALID_TX_BYTES, or VALIDATION_ERROR for broadcastMode", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: no answer in time, or (block) not included in time", body = ErrorEnvelope),
    ))]
pub(super) async fn broadcast(
    State(state): State<AppState>,
    Chain { id: chain_id, endpoints }: Chain,
    ApiJson(body): ApiJson<BroadcastRequest>,
) -> Result<Response, ApiError> {
    let api = endpoints.api()?;
    let mode = body.broadcast_mode.as_deref().unwrap_or("sync").to_ascii_lowercase();
    let upstream_mode = match mode.as_str() {
        "sync" => Some(rest::UpstreamBroadcastMode::Sync),
        "async" => Some(rest::UpstreamBroadcastMode::Async),
        "block" => None,
        _ => return Err(ApiError::validation("broadcastMode", "broadcastMode must be sync, async or block")),
    };
    let (_, tx_base64) = checked_tx(&body.tx_bytes)?;
    let raw = match upstream_mode {
        Some(upstream_mode) => {
            rest::broadcast(&state.chains.for_chain(&chain_id), &api, &tx_base64, upstream_mode).await?
        }
        None => {
            let settings = &state.settings.chains;
            rest::broadcast_and_wait(
                &state.chains.for_chain(&chain_id),
                &api,
                &tx_base64,
                settings.broadcast_block_timeout,
                settings.broadcast_poll_interval,
            )
            .await?
        }
    };
    let view = rest::tx_response_view(&raw);
    Ok(crate::api::ok(BroadcastResult {
        chain_id,
        broadcast_mode: mode,
        txhash: view.txhash,
        code: view.code,
        codespace: view.codespace,
        raw_log: view.raw_log,
        height: view.height,
        gas_used: view.gas_used,
        gas_wanted: view.gas_wanted,
        raw,
    }))
}

/// How `tx/decode` treats messages of types it has no protobuf definition for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DecodeMode {
    /// Such a message is kept as its type URL and size (`decoded: false`).
    #[default]
    BestEffort,
    /// Such a message is 422 INVALID_TX_BYTES naming it.
    Strict,
}

/// A signed tx to decode, and how strictly.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecodeRequest {
    /// The `TxRaw` protobuf, base64.
    pub tx_bytes: String,
    /// `bestEffort` (default) or `strict`.
    pub mode: Option<DecodeMode>,
}

impl std::fmt::Debug for DecodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DecodeRequest {{ txBytes: <redacted>, mode: {:?} }}", self.mode)
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecodedTx {
    pub chain_id: String,
    pub txhash: String,
    /// `messages` (typeUrl, decoded, value), memo, timeoutHeight, extension options.
    #[schema(value_type = Object)]
    pub body: Value,
    /// `signerInfos` (publicKey, modeInfo, sequence) and `fee`.
    #[schema(value_type = Object)]
    pub auth_info: Value,
    /// Signatures, base64.
    pub signatures: Vec<String>,
    /// The tx as the chain's REST API writes one: proto field names, `@type` on each Any.
    #[schema(value_type = Object)]
    pub raw: Value,
}

/// Decodes a tx's protobuf: messages, memo, fee, signer infos, signatures.
#[utoipa::path(post, operation_id = "chains_decode", path = "/{chainId}/tx/decode", tag = "chains", request_body = DecodeRequest,
    params(("chainId" = String, Path, description = "chain id")),
    responses(
        (status = 200, description = "OK", body = crate::api::Success<DecodedTx>),
        BodyErrors,
        (status = 404, description = "CHAIN_NOT_FOUND, in the error envelope", body = ErrorEnvelope),
        (status = 422, description = "INVALID_TX_BYTES: not base64 or not a tx", body = ErrorEnvelope),
    ))]
pub(super) async fn decode(
    // The chain must exist; decoding needs no node.
    Chain { id: chain_id, .. }: Chain,
    ApiJson(body): ApiJson<DecodeRequest>,
) -> Result<Response, ApiError> {
    let bytes = tx::tx_bytes_from_base64(&body.tx_bytes)?;
    let mut view = tx::decode_json(&bytes)?;
    if body.mode == Some(DecodeMode::Strict) {
        strictly_decoded(&view)?;
    }
    let raw = chain::proto_json::from_view(&view);
    let take = |v: &mut Value, k: &str| v.get_mut(k).map(Value::take).unwrap_or(Value::Null);
    let signatures = take(&mut view, "signatures")
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    Ok(crate::api::ok(DecodedTx {
        chain_id,
        txhash: take(&mut view, "txhash").as_str().unwrap_or_default().to_string(),
        body: take(&mut view, "body"),
        auth_info: take(&mut view, "authInfo"),
        signatures,
        raw,
    }))
}

/// `strict`: every message decoded, else INVALID_TX_BYTES naming the first that was not.
fn strictly_decoded(view: &Value) -> Result<(), ApiError> {
    let messages = view.pointer("/body/messages").and_then(Value::as_array);
    let undecoded = messages.and_then(|m| m.iter().position(|m| m["decoded"] == false));
    match undecoded {
        None => Ok(()),
        Some(i) => Err(ApiError::from(chain::Error::InvalidTxBytes(
            "a message of a type this BFF has no protobuf definition for (mode strict)".into(),
        ))
        .at_field(&format!("body.messages[{i}]"))),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageInput {
    /// `/cosmos.bank.v1beta1.MsgSend` or `/cosmos.bank.v1beta1.MsgMultiSend`.
    pub type_url: String,
    /// The message's fields (camelCase or proto names).
    #[schema(value_type = Object)]
    pub value: Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeeInput {
    /// `[{denom, amount}]`.
    #[schema(value_type = Vec<Object>)]
    pub amount: Option<Value>,
    /// Gas limit (number or decimal string); default 200000.
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub gas_limit: Option<u64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuildRequest {
    /// The single signer.
    pub from_address: String,
    pub messages: Vec<MessageInput>,
    #[serde(default)]
    pub memo: String,
    pub fee: Option<FeeInput>,
    /// Block height after which the tx is invalid; "0" = none.
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub timeout_height: Option<u64>,
    /// The signer's compressed secp256k1 public key, base64; needed until the chain knows it.
    pub public_key: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuildResult {
    pub chain_id: String,
    /// The chain id inside the sign doc (the node's `network`).
    pub network: String,
    pub account_number: String,
    pub sequence: String,
    pub sign_mode: String,
    pub body_bytes: String,
    pub auth_info_bytes: String,
    /// SIGN_MODE_DIRECT sign doc: sign sha256 of these bytes with secp256k1.
    pub sign_doc_bytes: String,
    pub note: String,
}

/// The `i`th message, its error reported against `messages[i].typeUrl` (a type it cannot
/// build) or `messages[i].value`.
fn message_at((i, m): (usize, &MessageInput)) -> Result<cosmrs::proto::Any, ApiError> {
    tx::message_from_json(&m.type_url, &m.value).map_err(|e| {
        let part = if tx::BUILDABLE.contains(&m.type_url.as_str()) { "value" } else { "typeUrl" };
        ApiError::from(e).at_field(&format!("messages[{i}].{part}"))
    })
}

/// Gas limit when the request names none (the `rly`/CLI default of 200000).
const DEFAULT_GAS_LIMIT: u64 = 200_000;

/// Sign-doc material for client-side signing (account number and sequence from the chain).
#[utoipa::path(post, operation_id = "chains_build", path = "/{chainId}/tx/build", tag = "chains", request_body = BuildRequest,
    params(("chainId" = String, Path, description = "chain id")),
    responses(
        (status = 200, description = "OK", body = crate::api::Success<BuildResult>),
        BodyErrors,
        (status = 404, description = "CHAIN_NOT_FOUND, or NOT_FOUND when the signer has no account yet", body = ErrorEnvelope),
        (status = 422, description = "INVALID_ADDRESS, or VALIDATION_ERROR (messages, fee, publicKey)", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
pub(super) async fn build(
    State(state): State<AppState>,
    Chain { id: chain_id, endpoints }: Chain,
    ApiJson(req): ApiJson<BuildRequest>,
) -> Result<Response, ApiError> {
    let (api, rpc_url) = (endpoints.api()?, endpoints.rpc()?);
    let from_address = tx::normalize_address(&req.from_address)?;
    if req.messages.is_empty() {
        return Err(ApiError::validation("messages", "at least one message is needed"));
    }
    let messages = req.messages.iter().enumerate().map(message_at).collect::<Result<Vec<_>, _>>()?;
    let fee = req.fee.as_ref();
    let fee_coins = tx::coins_from_json(fee.and_then(|f| f.amount.as_ref()), "fee.amount")?;
    let gas_limit = match fee.and_then(|f| f.gas_limit) {
        None => DEFAULT_GAS_LIMIT,
        Some(0) => return Err(ApiError::validation("fee.gasLimit", "gasLimit must be a positive integer")),
        Some(limit) => limit,
    };
    let timeout_height = req.timeout_height.unwrap_or(0);
    let client = state.chains.for_chain(&chain_id);
    let (account, (status, _)) =
        tokio::try_join!(rest::account(&client, &api, &from_address), rpc::node_status(&client, &rpc_url))?;
    let (account_number, sequence) = rest::account_numbers(&account)
        .ok_or_else(|| ApiError::internal("account without account_number/sequence"))?;
    let public_key_text =
        req.public_key.clone().or_else(|| rest::account_public_key(&account)).ok_or_else(|| {
            ApiError::validation(
                "publicKey",
                "the chain does not know this account's public key yet; send publicKey",
            )
        })?;
    let public_key = BASE64
        .decode(public_key_text.trim())
        .map_err(|_| ApiError::validation("publicKey", "publicKey must be base64"))?;
    let network = status.network.unwrap_or_else(|| chain_id.clone());
    let material = tx::sign_material(
        messages,
        tx::SignParams {
            memo: req.memo.clone(),
            timeout_height,
            fee: fee_coins,
            gas_limit,
            public_key: &public_key,
            sequence,
            network: &network,
            account_number,
        },
    )?;
    Ok(crate::api::ok(BuildResult {
        chain_id,
        network,
        account_number: account_number.to_string(),
        sequence: sequence.to_string(),
        sign_mode: "SIGN_MODE_DIRECT".into(),
        body_bytes: BASE64.encode(material.body_bytes),
        auth_info_bytes: BASE64.encode(material.auth_info_bytes),
        sign_doc_bytes: BASE64.encode(material.sign_doc_bytes),
        note:
            "signDocBytes is provided for client-side signing: sign sha256(signDocBytes) with the key, then \
               broadcast TxRaw{bodyBytes, authInfoBytes, [signature]}"
                .into(),
    }))
}
