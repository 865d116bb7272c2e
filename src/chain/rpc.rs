//! CometBFT JSON-RPC reads over reqwest (URI form: `GET <rpc>/status`).

use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("failed to reach {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered an error: {message}")]
    Upstream { url: String, message: String },
}

/// What `/status` says about a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// `node_info.network`: the chain id the node reports.
    pub network: String,
    pub latest_height: u64,
    pub latest_block_time: String,
    pub catching_up: bool,
}

#[derive(Deserialize)]
struct Envelope {
    result: Option<StatusResult>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct StatusResult {
    node_info: NodeInfo,
    sync_info: SyncInfo,
}

#[derive(Deserialize)]
struct NodeInfo {
    network: String,
}

#[derive(Deserialize)]
struct SyncInfo {
    latest_block_height: String,
    latest_block_time: String,
    catching_up: bool,
}

/// `GET <rpc>/status` with a timeout.
pub async fn status(http: &reqwest::Client, rpc: &str, timeout: Duration) -> Result<NodeStatus, RpcError> {
    let url = format!("{}/status", rpc.trim_end_matches('/'));
    let unreachable = |source| RpcError::Unreachable { url: url.clone(), source };
    let resp = http.get(&url).timeout(timeout).send().await.map_err(unreachable)?;
    let body: Envelope = resp.json().await.map_err(unreachable)?;
    let result = match (body.result, body.error) {
        (Some(r), None) => r,
        (_, error) => {
            return Err(RpcError::Upstream {
                url,
                message: error.map(|e| e.to_string()).unwrap_or_default(),
            });
        }
    };
    Ok(NodeStatus {
        network: result.node_info.network,
        latest_height: result.sync_info.latest_block_height.parse().unwrap_or(0),
        latest_block_time: result.sync_info.latest_block_time,
        catching_up: result.sync_info.catching_up,
    })
}
