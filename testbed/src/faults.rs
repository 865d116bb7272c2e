//! Fault switches the API server consults on every request, set through the control handle.

use crate::rbac::Policy;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

#[derive(Default)]
pub struct Faults {
    /// Until then every request is answered 500 InternalError.
    fail_until: Mutex<Option<Instant>>,
    /// Until then the listener is closed (connections refused).
    refuse_until: Mutex<Option<Instant>>,
    /// Wakes the accept loop so it closes its listener at once.
    pub refuse_now: Notify,
    /// Added before each exec runs.
    exec_latency: Mutex<Duration>,
    /// The next N exec streams are cut mid-command (the command still runs).
    abort_execs: AtomicU32,
    /// Bumped to end every open watch stream.
    watch_epoch: watch::Sender<u64>,
    /// Whether the accept loop has its listening socket open right now.
    pub listening: watch::Sender<bool>,
    /// Requests served, by `verb resource[/subresource]`.
    requests: Mutex<BTreeMap<String, u64>>,
    /// Distinct requests as an RBAC authorizer sees them.
    authorizations: Mutex<BTreeSet<ApiRequest>>,
    /// When set, requests the policy does not allow are answered 403 Forbidden.
    policy: Mutex<Option<Arc<Policy>>>,
}

/// One request as the API server's authorizer sees it (k8s.io/apiserver `RequestInfo`): a
/// resource request with its verb, group, resource, subresource and namespace, or a
/// non-resource path. Names are left out: no rule of ours uses `resourceNames`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiRequest {
    Resource {
        /// `get`, `list`, `watch`, `create`, `delete`… from the method and the path.
        verb: String,
        /// The HTTP method (a WebSocket exec is a GET, authorized as `get`).
        method: String,
        group: String,
        resource: String,
        subresource: Option<String>,
        /// For a namespace object itself, its own name (as `RequestInfo` sets it).
        namespace: Option<String>,
    },
    NonResource {
        verb: String,
        path: String,
    },
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Faults {
    pub fn fail_for(&self, d: Duration) {
        *locked(&self.fail_until) = Some(Instant::now() + d);
    }

    pub fn failing(&self) -> bool {
        locked(&self.fail_until).is_some_and(|t| Instant::now() < t)
    }

    pub fn refuse_for(&self, d: Duration) {
        *locked(&self.refuse_until) = Some(Instant::now() + d);
        self.refuse_now.notify_waiters();
        self.drop_watches();
    }

    /// When refusing, the instant the listener may open again.
    pub fn refusing_until(&self) -> Option<Instant> {
        locked(&self.refuse_until).filter(|t| Instant::now() < *t)
    }

    pub fn set_exec_latency(&self, d: Duration) {
        *locked(&self.exec_latency) = d;
    }

    pub fn exec_latency(&self) -> Duration {
        *locked(&self.exec_latency)
    }

    pub fn abort_next_execs(&self, n: u32) {
        self.abort_execs.store(n, Ordering::SeqCst);
    }

    /// Consumes one pending exec abort, if any.
    pub fn take_exec_abort(&self) -> bool {
        self.abort_execs.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    pub fn drop_watches(&self) {
        self.watch_epoch.send_modify(|e| *e += 1);
    }

    pub fn watch_epoch(&self) -> watch::Receiver<u64> {
        self.watch_epoch.subscribe()
    }

    pub fn count(&self, key: String) {
        *locked(&self.requests).entry(key).or_default() += 1;
    }

    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        locked(&self.requests).clone()
    }

    pub fn authorize(&self, request: ApiRequest) {
        locked(&self.authorizations).insert(request);
    }

    pub fn authorizations(&self) -> Vec<ApiRequest> {
        locked(&self.authorizations).iter().cloned().collect()
    }

    pub fn set_policy(&self, policy: Option<Policy>) {
        *locked(&self.policy) = policy.map(Arc::new);
    }

    /// The RBAC policy being enforced, if any.
    pub fn policy(&self) -> Option<Arc<Policy>> {
        locked(&self.policy).clone()
    }
}
