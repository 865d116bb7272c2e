//! Cosmos REST (gRPC-gateway, SDK v0.50) reads and tx submission, shaped from the JSON forms
//! recorded under `tests/fixtures/cosmos-rest`. Errors keep the upstream gRPC code; NotFound answers become
//! `Error::NotFound` with the node's own text as the reason.

use super::{ChainClient, Error, Result};
use serde_json::{Value, json};

fn u64_field(v: &Value, key: &str) -> Option<u64> {
    match v.get(key)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn not_found(what: &'static str) -> impl Fn(Error) -> Error {
    move |e| match e {
        e if e.is_upstream_not_found() => {
            let reason = match &e {
                Error::Upstream { message, .. } => message.clone(),
                _ => String::new(),
            };
            Error::NotFound { what, reason }
        }
        other => other,
    }
}

/// `account_number` and `sequence` of an auth account JSON, whatever its type: a
/// BaseAccount, a ModuleAccount (`base_account`), or a vesting account
/// (`base_vesting_account.base_account`).
pub fn account_numbers(account: &Value) -> Option<(u64, u64)> {
    let candidates =
        [Some(account), account.get("base_account"), account.pointer("/base_vesting_account/base_account")];
    candidates
        .into_iter()
        .flatten()
        .find_map(|a| Some((u64_field(a, "account_number")?, u64_field(a, "sequence")?)))
}

/// The secp256k1 public key of an account, base64, when the chain knows it.
pub fn account_public_key(account: &Value) -> Option<String> {
    [account.get("pub_key"), account.pointer("/base_account/pub_key")]
        .into_iter()
        .flatten()
        .find_map(|k| k.get("key").and_then(Value::as_str).map(str::to_string))
}

/// `GET /cosmos/auth/v1beta1/accounts/{address}` → the `account` object.
pub async fn account(client: &ChainClient, api: &str, address: &str) -> Result<Value> {
    let body = client
        .rest_get(api, &format!("/cosmos/auth/v1beta1/accounts/{address}"), &[])
        .await
        .map_err(not_found("account"))?;
    body.get("account").cloned().ok_or_else(|| super::rpc::malformed(api, "no account in answer"))
}

/// Balances of an address: one denom through `by_denom`, else the full list.
pub async fn balances(
    client: &ChainClient,
    api: &str,
    address: &str,
    denom: Option<&str>,
) -> Result<(Vec<Value>, Value)> {
    match denom {
        Some(denom) => {
            let path = format!("/cosmos/bank/v1beta1/balances/{address}/by_denom");
            let raw = client.rest_get(api, &path, &[("denom", denom)]).await?;
            let balance =
                raw.get("balance").cloned().unwrap_or_else(|| json!({"denom": denom, "amount": "0"}));
            Ok((vec![balance], raw))
        }
        None => {
            let path = format!("/cosmos/bank/v1beta1/balances/{address}");
            let raw = client.rest_get(api, &path, &[]).await?;
            let list = raw.get("balances").and_then(Value::as_array).cloned().unwrap_or_default();
            Ok((list, raw))
        }
    }
}

/// An address's uatom, as a number (the relayer's fee budget).
pub async fn uatom_balance(client: &ChainClient, api: &str, address: &str) -> Result<u128> {
    let (list, _) = balances(client, api, address, Some("uatom")).await?;
    list.first()
        .and_then(|b| b.get("amount")?.as_str()?.parse().ok())
        .ok_or_else(|| super::rpc::malformed(api, "balance without an amount"))
}

/// `GET /cosmos/tx/v1beta1/txs/{hash}`: the whole answer (`tx` + `tx_response`).
pub async fn tx_by_hash(client: &ChainClient, api: &str, hash: &str) -> Result<Value> {
    client.rest_get(api, &format!("/cosmos/tx/v1beta1/txs/{hash}"), &[]).await.map_err(not_found("tx"))
}

/// `POST /cosmos/tx/v1beta1/simulate`.
pub async fn simulate(client: &ChainClient, api: &str, tx_base64: &str) -> Result<Value> {
    client.rest_post(api, "/cosmos/tx/v1beta1/simulate", &json!({"tx_bytes": tx_base64})).await
}

/// The broadcast modes the SDK v0.50 REST accepts (BLOCK was removed in v0.47).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamBroadcastMode {
    Sync,
    Async,
}

impl UpstreamBroadcastMode {
    fn as_upstream(self) -> &'static str {
        match self {
            Self::Sync => "BROADCAST_MODE_SYNC",
            Self::Async => "BROADCAST_MODE_ASYNC",
        }
    }
}

/// The REST broadcast route (also the metric label of its calls).
pub const BROADCAST_ROUTE: &str = "/cosmos/tx/v1beta1/txs";

#[derive(serde::Serialize)]
struct BroadcastRequest<'a> {
    tx_bytes: &'a str,
    mode: &'static str,
}

/// The JSON body of a broadcast of `tx_base64`, encoded once: a batch sends each tx's body
/// as it is, with no JSON tree built or serialized per send.
pub fn broadcast_body(tx_base64: &str, mode: UpstreamBroadcastMode) -> bytes::Bytes {
    let request = BroadcastRequest { tx_bytes: tx_base64, mode: mode.as_upstream() };
    // A struct of two strings always serializes.
    serde_json::to_vec(&request).unwrap_or_default().into()
}

/// The URL of the broadcast route of the node at `api`.
pub fn broadcast_url(api: &str) -> String {
    format!("{}{BROADCAST_ROUTE}", api.trim_end_matches('/'))
}

/// `POST /cosmos/tx/v1beta1/txs` → the `tx_response`.
pub async fn broadcast(
    client: &ChainClient,
    api: &str,
    tx_base64: &str,
    mode: UpstreamBroadcastMode,
) -> Result<Value> {
    let url = broadcast_url(api);
    let (status, bytes) =
        client.post_json_bytes(&url, BROADCAST_ROUTE, broadcast_body(tx_base64, mode)).await?;
    tx_response_of(api, url, status, &bytes)
}

/// The `tx_response` of a broadcast answer, or the error it carries.
fn tx_response_of(api: &str, url: String, status: u16, bytes: &[u8]) -> Result<Value> {
    let mut body = super::client::rest_result(url, (status, serde_json::from_slice(bytes).ok()))?;
    body.get_mut("tx_response")
        .map(Value::take)
        .ok_or_else(|| super::rpc::malformed(api, "no tx_response in answer"))
}

/// What a batch keeps of a broadcast answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BroadcastOutcome {
    pub code: i64,
    pub codespace: String,
    pub raw_log: String,
}

/// The fields of a `tx_response` a batch keeps; the rest (events, logs…) is skipped unread.
#[derive(serde::Deserialize)]
struct TxResponseFields {
    code: Option<i64>,
    codespace: Option<String>,
    raw_log: Option<String>,
}

#[derive(serde::Deserialize)]
struct BroadcastAnswer {
    tx_response: Option<TxResponseFields>,
}

/// A broadcast of a body made by `broadcast_body` to `url` (`broadcast_url(api)`), read
/// into the fields a batch keeps without building a JSON tree. An answer of another shape
/// (an error, a field of an unexpected type) takes `broadcast`'s path, with its errors and
/// defaults.
pub async fn broadcast_prepared(
    client: &ChainClient,
    api: &str,
    url: &str,
    body: bytes::Bytes,
) -> Result<BroadcastOutcome> {
    let (status, bytes) = client.post_json_bytes(url, BROADCAST_ROUTE, body).await?;
    broadcast_outcome(api, url, status, &bytes)
}

fn broadcast_outcome(api: &str, url: &str, status: u16, bytes: &[u8]) -> Result<BroadcastOutcome> {
    if (200..300).contains(&status)
        && let Ok(BroadcastAnswer { tx_response: Some(r) }) = serde_json::from_slice(bytes)
    {
        return Ok(BroadcastOutcome {
            code: r.code.unwrap_or_default(),
            codespace: r.codespace.unwrap_or_default(),
            raw_log: r.raw_log.unwrap_or_default(),
        });
    }
    let view = tx_response_view(&tx_response_of(api, url.to_string(), status, bytes)?);
    Ok(BroadcastOutcome { code: view.code, codespace: view.codespace, raw_log: view.raw_log })
}

/// `broadcastMode=block` on SDK v0.47+: a SYNC broadcast, then the tx is looked up every
/// `poll` until it is in a block or `timeout` passes. A CheckTx failure returns at once.
pub async fn broadcast_and_wait(
    client: &ChainClient,
    api: &str,
    tx_base64: &str,
    timeout: std::time::Duration,
    poll: std::time::Duration,
) -> Result<Value> {
    let checked = broadcast(client, api, tx_base64, UpstreamBroadcastMode::Sync).await?;
    let view = tx_response_view(&checked);
    if view.code != 0 {
        return Ok(checked);
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tx_by_hash(client, api, &view.txhash).await {
            Ok(found) => {
                return found
                    .get("tx_response")
                    .cloned()
                    .ok_or_else(|| super::rpc::malformed(api, "no tx_response"));
            }
            Err(Error::NotFound { .. }) => {}
            Err(other) => return Err(other),
        }
        if tokio::time::Instant::now() + poll > deadline {
            return Err(Error::InclusionTimeout { txhash: view.txhash, timeout_ms: timeout.as_millis() });
        }
        tokio::time::sleep(poll).await;
    }
}

/// The shaped fields of a `tx_response` (the API returns them as they are).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TxResponseView {
    pub txhash: String,
    pub height: u64,
    pub code: i64,
    pub codespace: String,
    pub raw_log: String,
    pub gas_wanted: String,
    pub gas_used: String,
    pub timestamp: String,
    #[schema(value_type = Vec<Object>)]
    pub events: Value,
}

pub fn tx_response_view(r: &Value) -> TxResponseView {
    let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    TxResponseView {
        txhash: text("txhash"),
        height: text("height").parse().unwrap_or_default(),
        code: r.get("code").and_then(Value::as_i64).unwrap_or_default(),
        codespace: text("codespace"),
        raw_log: text("raw_log"),
        gas_wanted: text("gas_wanted"),
        gas_used: text("gas_used"),
        timestamp: text("timestamp"),
        events: r.get("events").cloned().unwrap_or_else(|| json!([])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_numbers_are_found_in_base_module_and_vesting_accounts() {
        let base =
            json!({"@type": "/cosmos.auth.v1beta1.BaseAccount", "account_number": "7", "sequence": "3"});
        assert_eq!(account_numbers(&base), Some((7, 3)));
        let module = json!({"base_account": {"account_number": "1", "sequence": "0"}, "name": "bonded"});
        assert_eq!(account_numbers(&module), Some((1, 0)));
        let vesting =
            json!({"base_vesting_account": {"base_account": {"account_number": "9", "sequence": "2"}}});
        assert_eq!(account_numbers(&vesting), Some((9, 2)));
        assert_eq!(account_numbers(&json!({})), None);
    }

    #[test]
    fn a_broadcast_body_is_the_json_the_rest_route_reads() {
        let body = broadcast_body("CgQKAgoA", UpstreamBroadcastMode::Sync);
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed, json!({"tx_bytes": "CgQKAgoA", "mode": "BROADCAST_MODE_SYNC"}));
        assert_eq!(broadcast_url("http://n:1317/"), "http://n:1317/cosmos/tx/v1beta1/txs");
    }

    #[test]
    fn broadcast_answers_read_typed_match_the_shaped_view_and_errors_stay_errors() {
        let (api, url) = ("http://n:1317", "http://n:1317/cosmos/tx/v1beta1/txs");
        let outcome =
            |status, body: Value| broadcast_outcome(api, url, status, &serde_json::to_vec(&body).unwrap());
        let answer = json!({"tx_response": {"txhash": "AB", "code": 32, "codespace": "sdk",
            "raw_log": "account sequence mismatch", "events": [{"type": "tx"}], "height": "0"}});
        let view = tx_response_view(&answer["tx_response"]);
        assert_eq!(
            outcome(200, answer).unwrap(),
            BroadcastOutcome { code: view.code, codespace: view.codespace, raw_log: view.raw_log }
        );
        // Null and missing fields default, as the shaped view does.
        let lean = outcome(200, json!({"tx_response": {"code": null, "txhash": "AB"}})).unwrap();
        assert_eq!(lean, BroadcastOutcome::default());
        // A code of another type takes the general path and its default.
        assert_eq!(outcome(200, json!({"tx_response": {"code": "5"}})).unwrap().code, 0);
        let refused = outcome(400, json!({"code": 3, "message": "invalid empty tx"})).unwrap_err();
        assert!(matches!(refused, Error::Upstream { status: Some(400), code: Some(3), .. }), "{refused:?}");
        assert!(matches!(outcome(200, json!({"other": 1})), Err(Error::Upstream { .. })));
        let not_json = broadcast_outcome(api, url, 502, b"<html>bad gateway</html>").unwrap_err();
        assert!(matches!(not_json, Error::Upstream { status: Some(502), .. }), "{not_json:?}");
    }

    #[test]
    fn tx_responses_are_shaped_with_defaults_for_missing_fields() {
        let view =
            tx_response_view(&json!({"txhash": "AB", "height": "5", "code": 32, "raw_log": "bad seq"}));
        assert_eq!((view.txhash.as_str(), view.code, view.raw_log.as_str()), ("AB", 32, "bad seq"));
        assert_eq!(view.events, json!([]));
    }
}
