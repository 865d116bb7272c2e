//! A short-lived memo of each node's `/status`, so that pages polled often (system status,
//! preflight) cost at most one RPC per chain per TTL however many clients poll.
//!
//! One refresh per chain at a time. [`StatusCache::status`] is for callers that act on the
//! height (validation, waits): when the memo has run out, the first caller refreshes and waits
//! for the node, and the others answer with the answer it replaces (at most one TTL and one
//! refresh old). [`StatusCache::memoized`] is for pages: it never waits once a chain has been
//! read, and starts the refresh in the background when the memo has run out.

use super::ChainClient;
use super::rpc::{self, NodeStatus};
use crate::sync::Locked;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// When a status was read, and what it was.
type Entry = (Instant, Result<NodeStatus, String>);

/// One chain's memo and the right to refresh it.
#[derive(Default)]
struct Slot {
    last: Mutex<Option<Entry>>,
    refresh: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Clone)]
pub struct StatusCache {
    ttl: Duration,
    /// The chain client with the short status timeout.
    client: ChainClient,
    slots: Arc<Mutex<HashMap<String, Arc<Slot>>>>,
}

impl StatusCache {
    pub fn new(ttl: Duration, client: ChainClient) -> Self {
        Self { ttl, client, slots: Arc::default() }
    }

    /// The chain client with the short status timeout, for other quick reads.
    pub fn client(&self) -> &ChainClient {
        &self.client
    }

    /// The node's status, fresh within the TTL (or the one being replaced, while another
    /// caller refreshes it); errors are memoized too, so a dead chain does not make every poll
    /// wait for its timeout.
    pub async fn status(&self, url: &str) -> Result<NodeStatus, String> {
        let slot = self.slot(url);
        let fresh =
            |slot: &Slot| slot.last.locked().as_ref().filter(|(at, _)| at.elapsed() < self.ttl).cloned();
        if let Some((_, result)) = fresh(&slot) {
            return result;
        }
        let guard = match slot.refresh.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                // Another caller refreshes: its predecessor answers meanwhile.
                if let Some((_, result)) = slot.last.locked().clone() {
                    return result;
                }
                let guard = slot.refresh.lock().await;
                if let Some((_, result)) = fresh(&slot) {
                    return result;
                }
                guard
            }
        };
        if let Some((_, result)) = fresh(&slot) {
            return result;
        }
        let result = self.read(url, &slot).await;
        drop(guard);
        result
    }

    /// The memo's answer without waiting (a refresh starts in the background when it is
    /// stale), or `None` for a chain never read.
    pub fn memoized(&self, url: &str) -> Option<Result<NodeStatus, String>> {
        self.last(url, &self.slot(url))
    }

    fn slot(&self, url: &str) -> Arc<Slot> {
        if let Some(slot) = self.slots.locked().get(url) {
            return slot.clone();
        }
        self.slots.locked().entry(url.to_string()).or_default().clone()
    }

    fn last(&self, url: &str, slot: &Arc<Slot>) -> Option<Result<NodeStatus, String>> {
        let (at, result) = slot.last.locked().clone()?;
        if at.elapsed() >= self.ttl {
            self.refresh_in_background(url, slot);
        }
        Some(result)
    }

    /// Starts a refresh of `url` unless one runs.
    fn refresh_in_background(&self, url: &str, slot: &Arc<Slot>) {
        let Ok(guard) = slot.refresh.clone().try_lock_owned() else { return };
        let (me, url, slot) = (self.clone(), url.to_string(), slot.clone());
        tokio::spawn(async move {
            let _guard = guard;
            me.read(&url, &slot).await
        });
    }

    async fn read(&self, url: &str, slot: &Slot) -> Result<NodeStatus, String> {
        let result = rpc::status(&self.client, url).await.map_err(|e| e.to_string());
        *slot.last.locked() = Some((Instant::now(), result.clone()));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A node answering `/status` after `delay`, counting the calls.
    async fn node(delay: Duration) -> (String, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let app = axum::Router::new().route(
            "/status",
            axum::routing::get(move || {
                let counted = counted.clone();
                async move {
                    let n = counted.fetch_add(1, Ordering::SeqCst) as u64 + 1;
                    tokio::time::sleep(delay).await;
                    axum::Json(serde_json::json!({"jsonrpc": "2.0", "id": -1, "result": {
                        "node_info": {"network": "gwc", "version": "0.38.0"},
                        "sync_info": {"latest_block_height": n.to_string(), "latest_block_time": "2026-12-07T00:00:00Z", "catching_up": false}
                    }}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, calls)
    }

    fn cache() -> StatusCache {
        let _ = rustls::crypto::ring::default_provider().install_default();
        StatusCache::new(
            Duration::from_millis(50),
            ChainClient::new(reqwest::Client::new(), Duration::from_secs(5)),
        )
    }

    #[tokio::test]
    async fn eight_callers_after_the_memo_runs_out_make_one_request_and_get_an_answer() {
        let (url, calls) = node(Duration::from_millis(200)).await;
        let cache = cache();
        // A chain never read: every caller waits for the one refresh.
        let first = futures::future::join_all((0..8).map(|_| cache.status(&url))).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(first.iter().all(|r| r.as_ref().is_ok_and(|s| s.latest_height == 1)), "{first:?}");
        tokio::time::sleep(Duration::from_millis(60)).await;
        // Run out: one refresh, which its caller waits for; the others answer with the
        // height it replaces.
        let again = futures::future::join_all((0..8).map(|_| cache.status(&url))).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let heights: Vec<_> = again.iter().map(|r| r.as_ref().unwrap().latest_height).collect();
        assert_eq!(heights.iter().filter(|h| **h == 2).count(), 1, "{heights:?}");
        assert_eq!(heights.iter().filter(|h| **h == 1).count(), 7, "{heights:?}");
        assert_eq!(cache.status(&url).await.unwrap().latest_height, 2);
    }

    #[tokio::test]
    async fn a_page_never_waits_once_read_and_the_memo_refreshes_in_the_background() {
        let (url, calls) = node(Duration::from_millis(200)).await;
        let cache = cache();
        assert!(cache.memoized(&url).is_none(), "a chain never read has no memo");
        assert_eq!(cache.status(&url).await.unwrap().latest_height, 1);
        tokio::time::sleep(Duration::from_millis(60)).await;
        // Run out: every page answers at once with the height the background refresh replaces.
        let heights: Vec<_> = (0..8).map(|_| cache.memoized(&url).unwrap().unwrap().latest_height).collect();
        assert_eq!(heights, [1; 8]);
        let refreshed = tokio::time::timeout(Duration::from_secs(5), async {
            while cache.memoized(&url).unwrap().unwrap().latest_height != 2 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        assert!(refreshed.await.is_ok(), "the background refresh never landed");
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one refresh for the eight");
    }
}
