//! A short-lived memo of each node's `/status`, so that pages polled often (system status,
//! preflight) cost at most one RPC per chain per TTL however many clients poll.

use super::rpc::{self, NodeStatus};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// When a status was read, and what it was.
type Entry = (Instant, Result<NodeStatus, String>);

#[derive(Clone)]
pub struct StatusCache {
    ttl: Duration,
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

impl StatusCache {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Arc::default() }
    }

    /// The node's status, fresh within the TTL; errors are memoized too, so a dead chain
    /// does not make every poll wait for its timeout.
    pub async fn status(
        &self,
        http: &reqwest::Client,
        url: &str,
        timeout: Duration,
    ) -> Result<NodeStatus, String> {
        if let Some((at, result)) = self.entries.lock().unwrap_or_else(|e| e.into_inner()).get(url)
            && at.elapsed() < self.ttl
        {
            return result.clone();
        }
        let result = rpc::status(http, url, timeout).await.map_err(|e| e.to_string());
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(url.to_string(), (Instant::now(), result.clone()));
        result
    }
}
