//! gwc's gateway queries over REST, as the module's gRPC gateway serves them
//! (`gwc/gateway/v1/query.proto`): params, one session, an owner's sessions. Only gwc's app
//! has the module; other chains answer as for any unknown route.

use super::{GrpcCode, RestError, ok};
use crate::chain::node::ChainNode;
use crate::chain::sessions::Session;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

const GATEWAY_APP: &str = "gwc";

fn gateway_only(node: &ChainNode) -> Result<(), RestError> {
    if node.0.app_name == GATEWAY_APP {
        Ok(())
    } else {
        Err(RestError::new(GrpcCode::Unimplemented, "Not Implemented"))
    }
}

pub async fn params(State(node): State<ChainNode>) -> Result<Response, RestError> {
    gateway_only(&node)?;
    Ok(ok(node.read_state(|l| json!({"params": l.gateway().params.to_json()}))))
}

pub async fn session(State(node): State<ChainNode>, Path(id): Path<String>) -> Result<Response, RestError> {
    gateway_only(&node)?;
    node.read_state(|l| l.gateway().sessions.get(&id).map(Session::to_json))
        .map(|s| ok(json!({"session": s})))
        .ok_or_else(|| RestError::new(GrpcCode::NotFound, format!("session {id} not found: key not found")))
}

pub async fn sessions_by_owner(
    State(node): State<ChainNode>,
    Path(owner): Path<String>,
) -> Result<Response, RestError> {
    gateway_only(&node)?;
    let sessions: Vec<_> = node.read_state(|l| {
        l.gateway().sessions.values().filter(|s| s.owner == owner).map(Session::to_json).collect()
    });
    let total = sessions.len().to_string();
    Ok(ok(json!({"sessions": sessions, "pagination": {"next_key": null, "total": total}})))
}
