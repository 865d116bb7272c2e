//! WATCH streams: one JSON event per line over a chunked 200 response, replaying from the
//! requested resourceVersion, with bookmarks, the client's timeout, and 410 Expired sent as
//! an ERROR event (never as the HTTP status: kube-rs only relists on the event's code).

use super::query::matches;
use crate::kinds::Kind;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Event, EventType, Store};
use axum::body::{Body, Bytes};
use axum::response::Response;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};

/// The server-side cap on a watch's life, as the apiserver's `--min-request-timeout` ×2.
const MAX_WATCH: Duration = Duration::from_secs(1800);

pub struct WatchRequest {
    pub kind: &'static Kind,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// None or 0: start with synthetic ADDED events for the current state.
    pub resource_version: Option<u64>,
    pub timeout: Option<Duration>,
    /// Send a BOOKMARK this often (the client asked for them with `allowWatchBookmarks`).
    pub bookmarks: Option<Duration>,
}

pub fn serve(store: Store, req: WatchRequest, epoch: watch::Receiver<u64>) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(run(store, req, epoch, tx));
    let body =
        futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx)) },
        );
    Response::builder()
        .header("content-type", "application/json")
        .header("cache-control", "no-cache, private")
        .body(Body::from_stream(body))
        .unwrap_or_default()
}

fn line(event_type: &str, object: &Value) -> Bytes {
    let mut s = serde_json::to_string(&json!({"type": event_type, "object": object})).unwrap_or_default();
    s.push('\n');
    Bytes::from(s)
}

async fn run(store: Store, req: WatchRequest, mut epoch: watch::Receiver<u64>, tx: mpsc::Sender<Bytes>) {
    epoch.mark_unchanged();
    let in_scope =
        |e: &Event| e.kind == req.kind && (req.namespace.is_none() || e.namespace == req.namespace);
    let start = req.resource_version.filter(|rv| *rv != 0);
    let (mut last_rv, backlog, mut live) = match start {
        Some(rv) => match store.watch_from(rv) {
            Ok(start) => (rv, start.backlog, start.live),
            Err(expired) => {
                let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                    "message": expired.to_string(), "reason": "Expired", "code": 410});
                let _ = tx.send(line("ERROR", &status)).await;
                return;
            }
        },
        None => {
            // "Start at most recent": the current state as ADDED, then changes after it.
            let (items, rv) = store.list(req.kind, req.namespace.as_deref());
            let Ok(start) = store.watch_from(rv) else { return };
            for obj in items.iter().filter(|o| matches(o, &req.labels, &req.fields)) {
                if tx.send(line("ADDED", obj)).await.is_err() {
                    return;
                }
            }
            (rv, start.backlog, start.live)
        }
    };
    for event in backlog {
        last_rv = event.rv;
        if in_scope(&event) && !send_event(&tx, &req, &event).await {
            return;
        }
    }
    let deadline = tokio::time::sleep(req.timeout.unwrap_or(MAX_WATCH).min(MAX_WATCH));
    tokio::pin!(deadline);
    let every = req.bookmarks.unwrap_or(MAX_WATCH);
    let mut bookmark = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            received = live.recv() => match received {
                Ok(event) => {
                    last_rv = event.rv;
                    if in_scope(&event) && !send_event(&tx, &req, &event).await {
                        return;
                    }
                }
                // Too slow to keep up, or the store is gone: end; the client re-watches.
                Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
            },
            _ = bookmark.tick(), if req.bookmarks.is_some() => {
                let object = json!({"kind": req.kind.kind, "apiVersion": req.kind.api_version(),
                                    "metadata": {"resourceVersion": last_rv.to_string(), "creationTimestamp": null}});
                if tx.send(line("BOOKMARK", &object)).await.is_err() {
                    return;
                }
            }
            _ = &mut deadline => return,
            _ = epoch.changed() => return,
            _ = tx.closed() => return,
        }
    }
}

/// Sends one event as the filtered watch sees it; false when the client is gone.
async fn send_event(tx: &mpsc::Sender<Bytes>, req: &WatchRequest, event: &Arc<Event>) -> bool {
    let now = matches(&event.object, &req.labels, &req.fields);
    let before = event.old.as_ref().is_some_and(|o| matches(o, &req.labels, &req.fields));
    let event_type = match (event.etype, before, now) {
        (EventType::Deleted, _, true) => "DELETED",
        (EventType::Added, _, true) => "ADDED",
        (EventType::Modified, true, true) => "MODIFIED",
        (EventType::Modified, false, true) => "ADDED",
        (EventType::Modified, true, false) => "DELETED",
        _ => return true,
    };
    tx.send(line(event_type, &event.object)).await.is_ok()
}
