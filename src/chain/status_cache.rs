//! A short-lived memo of each node's `/status`, so that pages polled often (system status,
//! preflight) cost at most one RPC per chain per TTL however many clients poll.

use super::ChainClient;
use super::rpc::{self, NodeStatus};
use crate::sync::Locked;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// When a status was read, and what it was.
type Entry = (Instant, Result<NodeStatus, String>);

#[derive(Clone)]
pub struct StatusCache {
    ttl: Duration,
    /// The chain client with the short status timeout.
    client: ChainClient,
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

impl StatusCache {
    pub fn new(ttl: Duration, client: ChainClient) -> Self {
        Self { ttl, client, entries: Arc::default() }
    }

    /// The chain client with the short status timeout, for other quick reads.
    pub fn client(&self) -> &ChainClient {
        &self.client
    }

    /// The node's status, fresh within the TTL; errors are memoized too, so a dead chain
    /// does not make every poll wait for its timeout.
    pub async fn status(&self, url: &str) -> Result<NodeStatus, String> {
        if let Some((at, result)) = self.entries.locked().get(url)
            && at.elapsed() < self.ttl
        {
            return result.clone();
        }
        let result = rpc::status(&self.client, url).await.map_err(|e| e.to_string());
        self.entries.locked().insert(url.to_string(), (Instant::now(), result.clone()));
        result
    }
}
