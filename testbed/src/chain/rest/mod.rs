//! Cosmos REST on the chain's `api` port (1317), shaped as the SDK v0.50 gRPC-gateway
//! writes it (`server/api/server.go`: snake_case names, every field emitted, int64 as
//! strings, enums by name, `@type` on Any). Errors are the gateway's
//! `{"code":<gRPC code>,"message":…,"details":[]}` with the HTTP status the gateway maps the
//! gRPC code to; an unknown route is 501 Not Implemented.

mod auth_bank;
mod gateway;
mod ibc;
mod packets;
pub(crate) mod shapes;
mod tendermint;
mod tx;

use crate::chain::node::ChainNode;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub fn router(node: ChainNode) -> Router {
    Router::new()
        .route("/cosmos/base/tendermint/v1beta1/node_info", get(tendermint::node_info))
        .route("/cosmos/base/tendermint/v1beta1/syncing", get(tendermint::syncing))
        .route("/cosmos/base/tendermint/v1beta1/blocks/latest", get(tendermint::latest_block))
        .route("/cosmos/base/tendermint/v1beta1/blocks/{height}", get(tendermint::block_by_height))
        .route("/cosmos/auth/v1beta1/accounts/{address}", get(auth_bank::account))
        .route("/cosmos/bank/v1beta1/balances/{address}", get(auth_bank::balances))
        .route("/cosmos/bank/v1beta1/balances/{address}/by_denom", get(auth_bank::balance_by_denom))
        .route("/cosmos/tx/v1beta1/simulate", post(tx::simulate))
        .route("/cosmos/tx/v1beta1/txs", post(tx::broadcast))
        .route("/cosmos/tx/v1beta1/txs/{hash}", get(tx::by_hash))
        .route("/ibc/core/channel/v1/channels", get(ibc::channels))
        .route("/ibc/core/channel/v1/channels/{channel_id}/ports/{port_id}", get(ibc::channel))
        .route(
            "/ibc/core/channel/v1/channels/{channel_id}/ports/{port_id}/client_state",
            get(ibc::client_state),
        )
        .route("/ibc/core/channel/v1/channels/{channel_id}/ports/{port_id}/packet_commitments", get(packets::commitments))
        .route("/ibc/core/channel/v1/channels/{channel_id}/ports/{port_id}/packet_acknowledgements", get(packets::acknowledgements))
        .route(
            "/ibc/core/channel/v1/channels/{channel_id}/ports/{port_id}/packet_commitments/{sequences}/unreceived_packets",
            get(packets::unreceived_packets),
        )
        .route(
            "/ibc/core/channel/v1/channels/{channel_id}/ports/{port_id}/packet_commitments/{sequences}/unreceived_acks",
            get(packets::unreceived_acks),
        )
        .route("/ibc/core/connection/v1/connections/{connection_id}", get(packets::connection))
        .route("/ibc/core/client/v1/client_status/{client_id}", get(packets::client_status))
        .route(
            "/ibc/core/client/v1/consensus_states/{client_id}/revision/{revision_number}/height/{revision_height}",
            get(packets::consensus_state),
        )
        .route("/gwc/gateway/v1/storage_endpoints", get(ibc::storage_endpoints))
        .route("/gwc/gateway/v1/params", get(gateway::params))
        .route("/gwc/gateway/v1/sessions/{session_id}", get(gateway::session))
        .route("/gwc/gateway/v1/sessions/by_owner/{owner}", get(gateway::sessions_by_owner))
        .merge(super::gw_http::routes())
        .fallback(|| async { RestError::new(GrpcCode::Unimplemented, "Not Implemented") })
        .layer(middleware::from_fn_with_state(node.clone(), count_requests))
        .with_state(node)
}

async fn count_requests(State(node): State<ChainNode>, req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map_or("<unmatched>".to_string(), |p| p.as_str().to_string());
    node.0.counters.count(format!("rest {route}"));
    next.run(req).await
}

/// The gRPC codes the gateway errors here carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrpcCode {
    Unknown = 2,
    InvalidArgument = 3,
    NotFound = 5,
    Unimplemented = 12,
}

impl GrpcCode {
    /// `runtime.HTTPStatusFromCode`.
    fn http_status(self) -> StatusCode {
        match self {
            Self::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
            Self::InvalidArgument => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        }
    }
}

/// A gateway error body with its HTTP status.
#[derive(Debug)]
pub struct RestError {
    code: GrpcCode,
    message: String,
}

impl RestError {
    pub fn new(code: GrpcCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.code as u32, "message": self.message, "details": []});
        (self.code.http_status(), [(header::CONTENT_TYPE, "application/json")], body.to_string())
            .into_response()
    }
}

/// A 200 with a JSON body.
pub fn ok(body: Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// A query-string parameter the gateway parses as an integer, with its error text.
pub fn query_u64(pairs: &[(String, String)], name: &str) -> Result<Option<u64>, RestError> {
    match pairs.iter().find(|(k, _)| k == name) {
        None => Ok(None),
        Some((_, v)) => v.parse().map(Some).map_err(|_| {
            let msg = format!(
                "type mismatch, parameter: {name}, error: strconv.ParseUint: parsing \"{v}\": invalid syntax"
            );
            RestError::new(GrpcCode::InvalidArgument, msg)
        }),
    }
}

pub fn query_bool(pairs: &[(String, String)], name: &str) -> Result<bool, RestError> {
    match pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(v) => {
            let msg = format!(
                "type mismatch, parameter: {name}, error: strconv.ParseBool: parsing \"{v}\": invalid syntax"
            );
            Err(RestError::new(GrpcCode::InvalidArgument, msg))
        }
    }
}

pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect()
}
