//! `cosmos.auth.v1beta1.Query/Account` and the bank balance queries over REST
//! (`x/auth/keeper/grpc_query.go`, `x/bank/keeper/grpc_query.go`).

use super::shapes::{account_json, b64};
use super::{GrpcCode, RestError, ok, query_bool, query_pairs, query_u64};
use crate::chain::keys::validate_address;
use crate::chain::node::ChainNode;
use crate::chain::pagination::{self, PageRequest};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use base64::Engine as _;
use serde_json::json;

pub async fn account(
    State(node): State<ChainNode>,
    Path(address): Path<String>,
) -> Result<Response, RestError> {
    validate_address(&address)
        .map_err(|e| RestError::new(GrpcCode::Unknown, e.log.trim_end_matches(": invalid address")))?;
    let account = node
        .account(&address)
        .ok_or_else(|| RestError::new(GrpcCode::NotFound, format!("account {address} not found")))?;
    Ok(ok(json!({"account": account_json(&account)})))
}

fn check_address(address: &str) -> Result<(), RestError> {
    validate_address(address)
        .map_err(|e| RestError::new(GrpcCode::InvalidArgument, format!("invalid address: {}", e.log)))
}

/// `AllBalances` with `pagination.*` query parameters.
pub async fn balances(
    State(node): State<ChainNode>,
    Path(address): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, RestError> {
    check_address(&address)?;
    let pairs = query_pairs(raw.as_deref());
    let paginated = pairs.iter().any(|(k, _)| k.starts_with("pagination."));
    let request = if paginated {
        let key = match pairs.iter().find(|(k, _)| k == "pagination.key") {
            None => Vec::new(),
            Some((_, v)) => base64::engine::general_purpose::STANDARD.decode(v).map_err(|e| {
                RestError::new(
                    GrpcCode::InvalidArgument,
                    format!("type mismatch, parameter: pagination.key, error: {e}"),
                )
            })?,
        };
        Some(PageRequest {
            key,
            offset: query_u64(&pairs, "pagination.offset")?.unwrap_or(0),
            limit: query_u64(&pairs, "pagination.limit")?.unwrap_or(0),
            count_total: query_bool(&pairs, "pagination.count_total")?,
            reverse: query_bool(&pairs, "pagination.reverse")?,
        })
    } else {
        None
    };
    let coins = node.read_state(|l| l.balances(&address));
    let keyed = coins.into_iter().map(|c| (c.denom.as_bytes().to_vec(), c)).collect();
    let page =
        pagination::paginate(keyed, request).map_err(|e| RestError::new(GrpcCode::InvalidArgument, e))?;
    let balances: Vec<_> =
        page.items.iter().map(|c| json!({"denom": c.denom, "amount": c.amount.to_string()})).collect();
    Ok(ok(json!({
        "balances": balances,
        "pagination": {"next_key": page.next_key.map(|k| b64(&k)), "total": page.total.unwrap_or(0).to_string()},
    })))
}

pub async fn balance_by_denom(
    State(node): State<ChainNode>,
    Path(address): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, RestError> {
    check_address(&address)?;
    let pairs = query_pairs(raw.as_deref());
    let denom = pairs.iter().find(|(k, _)| k == "denom").map(|(_, v)| v.clone()).unwrap_or_default();
    if denom.is_empty() {
        return Err(RestError::new(GrpcCode::InvalidArgument, "invalid denom"));
    }
    let amount = node.balance(&address, &denom);
    Ok(ok(json!({"balance": {"denom": denom, "amount": amount.to_string()}})))
}
