//! What `/readyz` reports: every reflector synced, and the API server reachable (or
//! unreachable for less than the grace). Reachability comes from a cheap `GET /version`
//! probe, because an idle watch says nothing about whether the server is still there.

use crate::sync::Locked;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Default)]
struct State {
    /// Reflector name → synced at least once.
    synced: BTreeMap<String, bool>,
    /// Reflectors readiness does not wait for when the API server forbids them (Nodes: the
    /// kubeconfig's host stands in for nodeHost detection).
    optional: std::collections::BTreeSet<String>,
    /// Reflector name → the API server's 403 message, until it syncs.
    forbidden: BTreeMap<String, String>,
    /// Since when the probe has been failing, and its last error.
    unreachable: Option<(Instant, String)>,
}

#[derive(Clone)]
pub struct ApiHealth {
    state: Arc<Mutex<State>>,
    grace: Duration,
}

/// The verdict of `/readyz`, with the reasons when not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    NotReady(Vec<String>),
}

impl ApiHealth {
    pub fn new(grace: Duration) -> Self {
        Self { state: Arc::default(), grace }
    }

    pub(crate) fn register(&self, reflector: &str, optional: bool) {
        let mut st = self.state.locked();
        st.synced.entry(reflector.to_string()).or_insert(false);
        if optional {
            st.optional.insert(reflector.to_string());
        }
    }

    pub(crate) fn mark_synced(&self, reflector: &str) {
        let mut st = self.state.locked();
        st.synced.insert(reflector.to_string(), true);
        st.forbidden.remove(reflector);
    }

    /// The API server refused the reflector's list or watch to the BFF's identity (403).
    pub(crate) fn mark_forbidden(&self, reflector: &str, message: String) {
        self.state.locked().forbidden.insert(reflector.to_string(), message);
    }

    pub(crate) fn probe_ok(&self) {
        self.state.locked().unreachable = None;
    }

    pub(crate) fn probe_failed(&self, error: String) {
        let mut st = self.state.locked();
        let since = st.unreachable.as_ref().map_or_else(Instant::now, |(t, _)| *t);
        st.unreachable = Some((since, error));
    }

    /// Whether the API server answered the last probe.
    pub fn reachable(&self) -> Result<(), String> {
        match &self.state.locked().unreachable {
            None => Ok(()),
            Some((_, e)) => Err(e.clone()),
        }
    }

    pub fn readiness(&self) -> Readiness {
        let st = self.state.locked();
        let mut reasons: Vec<String> = st
            .synced
            .iter()
            .filter(|(_, ok)| !**ok)
            .filter_map(|(name, _)| match st.forbidden.get(name) {
                Some(_) if st.optional.contains(name) => None,
                Some(message) => Some(format!("cache {name} is forbidden: {message}")),
                None => Some(format!("cache {name} has not synced yet")),
            })
            .collect();
        if let Some((since, error)) = &st.unreachable
            && since.elapsed() >= self.grace
        {
            reasons.push(format!(
                "Kubernetes API server unreachable for {}s (grace {}s): {error}",
                since.elapsed().as_secs(),
                self.grace.as_secs()
            ));
        }
        if reasons.is_empty() { Readiness::Ready } else { Readiness::NotReady(reasons) }
    }
}

/// Probes the API server every `interval` until the process ends.
pub(crate) fn spawn_probe(
    client: kube::Client,
    health: ApiHealth,
    interval: Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return,
            }
            match tokio::time::timeout(interval.max(Duration::from_secs(1)), client.apiserver_version()).await
            {
                Ok(Ok(_)) => health.probe_ok(),
                Ok(Err(e)) => health.probe_failed(e.to_string()),
                Err(_) => health.probe_failed("probe timed out".into()),
            }
        }
    });
}
