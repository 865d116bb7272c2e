//! CometBFT RPC on the chain's `rpc` port (26657), both transports of
//! `rpc/jsonrpc/server`: POST `/` with a JSON-RPC 2.0 request or batch (HTTP 200 even for
//! errors, 500 only for unparseable JSON), and GET `/<method>?k=v` (id -1, HTTP 500 on
//! error, plain-text 404 for an unknown path). Nothing a client sends can panic it.

mod abci_query;
mod error;
mod methods;
mod params;
pub mod shapes;
mod tx_methods;

pub use methods::{COMETBFT_VERSION, NODE_CHANNELS_HEX};

use crate::chain::node::ChainNode;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};
use error::{RpcError, envelope};
use params::Params;
use serde_json::{Value, json};

pub fn router(node: ChainNode) -> Router {
    Router::new()
        .route("/", get(endpoint_list).post(json_rpc))
        .route("/{method}", any(uri_call))
        .fallback(not_found)
        .with_state(node)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "404 page not found\n")
        .into_response()
}

/// What a bare `GET /` shows: the routes, as an HTML list (`writeListOfEndpoints`).
async fn endpoint_list() -> Html<String> {
    let items: String = methods::ROUTES
        .iter()
        .map(|(name, args)| {
            let query: Vec<String> = args.iter().map(|a| format!("{a}=_")).collect();
            format!("<a href=\"//{name}?{}\">//{name}?{}</a></br>", query.join("&"), query.join("&"))
        })
        .collect();
    Html(format!("<html><body><br>Available endpoints:<br>{items}</body></html>"))
}

/// `GET /<method>?…`: the URI transport; `id` is always -1.
async fn uri_call(
    State(node): State<ChainNode>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if methods::arg_names(&method).is_none() {
        node.0.counters.count("rpc <unknown>");
        return not_found().await;
    }
    node.0.counters.count(format!("rpc {method}"));
    let params = Params::from_query(query.as_deref());
    let id = json!(-1);
    match methods::call(&node, &method, &params).await {
        Ok(result) => json_response(StatusCode::OK, &envelope(Some(&id), Ok(result))),
        Err(e) => json_response(StatusCode::INTERNAL_SERVER_ERROR, &envelope(Some(&id), Err(e))),
    }
}

/// `POST /`: one request or a batch.
async fn json_rpc(State(node): State<ChainNode>, body: Bytes) -> Response {
    if body.is_empty() {
        return endpoint_list().await.into_response();
    }
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            let error = RpcError::parse_error(format!("error unmarshaling request: {e}"));
            return json_response(StatusCode::INTERNAL_SERVER_ERROR, &envelope(None, Err(error)));
        }
    };
    match parsed {
        Value::Array(requests) if requests.is_empty() => {
            let error = RpcError::invalid_request("error unmarshaling request: empty batch");
            json_response(StatusCode::OK, &envelope(Some(&Value::Null), Err(error)))
        }
        Value::Array(requests) => {
            let mut responses = Vec::new();
            for request in &requests {
                responses.extend(handle_one(&node, request).await);
            }
            match responses.len() {
                0 => StatusCode::OK.into_response(),
                // CometBFT answers a one-element batch with a bare object.
                1 => json_response(StatusCode::OK, &responses[0]),
                _ => json_response(StatusCode::OK, &Value::Array(responses)),
            }
        }
        single => match handle_one(&node, &single).await {
            Some(response) => json_response(StatusCode::OK, &response),
            None => StatusCode::OK.into_response(),
        },
    }
}

/// One JSON-RPC request; `None` for a notification (no id), which gets no answer.
async fn handle_one(node: &ChainNode, request: &Value) -> Option<Value> {
    let Value::Object(fields) = request else {
        let error =
            RpcError::invalid_request(format!("error unmarshaling request: not an object: {request}"));
        return Some(envelope(Some(&Value::Null), Err(error)));
    };
    let id = match fields.get("id") {
        None | Some(Value::Null) => return None,
        Some(id @ (Value::String(_) | Value::Number(_))) => id.clone(),
        Some(other) => {
            let error =
                RpcError::invalid_request(format!("error unmarshaling request: invalid id type {other}"));
            return Some(envelope(Some(&Value::Null), Err(error)));
        }
    };
    let Some(method) = fields.get("method").and_then(Value::as_str) else {
        let error = RpcError::invalid_request("error unmarshaling request: missing method");
        return Some(envelope(Some(&id), Err(error)));
    };
    let Some(arg_names) = methods::arg_names(method) else {
        node.0.counters.count("rpc <unknown>");
        return Some(envelope(Some(&id), Err(RpcError::method_not_found())));
    };
    node.0.counters.count(format!("rpc {method}"));
    let outcome = match Params::from_json(fields.get("params"), arg_names) {
        Ok(params) => methods::call(node, method, &params).await,
        Err(e) => Err(e),
    };
    Some(envelope(Some(&id), outcome))
}
