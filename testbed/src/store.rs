//! The object store behind the simulated API server: objects as JSON, one resourceVersion
//! counter, and a bounded event history that watches replay from.
//!
//! Watch semantics follow the real apiserver's watch cache: a watch from RV X replays the
//! retained events after X and then follows live ones; an RV older than the retained
//! history (or below the "expired" floor a test can raise) is answered with 410 Expired.

use super::kinds::Kind;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Events kept for replay; older watch RVs get 410 Expired, as after compaction.
const EVENT_HISTORY: usize = 4096;
/// Live-event fan-out capacity; a watcher that falls this far behind is closed and re-watches.
const BROADCAST_CAPACITY: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change to one object, with the object's previous state so selector-filtered
/// watches can turn "stopped matching" into DELETED, as the watch cache does.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub kind: &'static Kind,
    pub namespace: Option<String>,
    pub etype: EventType,
    pub object: Value,
    pub old: Option<Value>,
}

/// Why a watch cannot start at the requested resourceVersion.
#[derive(Debug, thiserror::Error)]
#[error("too old resource version: {requested} ({oldest})")]
pub struct Expired {
    pub requested: u64,
    pub oldest: u64,
}

/// Where a watch begins: events to replay, then the live feed.
#[derive(Debug)]
pub struct WatchStart {
    pub backlog: Vec<Arc<Event>>,
    pub live: broadcast::Receiver<Arc<Event>>,
}

type Key = (&'static str, Option<String>, String);

struct Inner {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    history: VecDeque<Arc<Event>>,
    /// Watches must start at or after this RV (raised by compaction or by a test).
    floor: u64,
}

/// Cheap to clone; all clones share one store.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Mutex<Inner>>,
    events: broadcast::Sender<Arc<Event>>,
}

impl Default for Store {
    fn default() -> Self {
        let inner = Inner { rv: 1000, objects: BTreeMap::new(), history: VecDeque::new(), floor: 0 };
        Self { inner: Arc::new(Mutex::new(inner)), events: broadcast::channel(BROADCAST_CAPACITY).0 }
    }
}

fn key(kind: &'static Kind, ns: Option<&str>, name: &str) -> Key {
    (kind.plural, ns.map(str::to_string), name.to_string())
}

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// Stores a new object (replacing any object of that name), stamping metadata.
    pub fn create(&self, kind: &'static Kind, mut obj: Value) -> Value {
        let mut inner = self.lock();
        let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_string);
        let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
        inner.rv += 1;
        // Replacing an object is an update: it keeps its identity.
        let previous = inner.objects.get(&key(kind, ns.as_deref(), &name)).map(|o| o["metadata"].clone());
        let meta = &mut obj["metadata"];
        meta["resourceVersion"] = json!(inner.rv.to_string());
        meta["uid"] = previous.as_ref().map_or_else(|| json!(new_uid()), |m| m["uid"].clone());
        if meta.get("creationTimestamp").is_none_or(Value::is_null) {
            meta["creationTimestamp"] =
                previous.as_ref().map_or_else(|| json!(now_rfc3339()), |m| m["creationTimestamp"].clone());
        }
        if has_generation(kind) {
            let generation = previous.as_ref().and_then(|m| m["generation"].as_u64()).map_or(1, |g| g + 1);
            obj["metadata"]["generation"] = json!(generation);
            obj["status"]["observedGeneration"] = json!(generation);
        }
        obj["kind"] = json!(kind.kind);
        obj["apiVersion"] = json!(kind.api_version());
        let old = inner.objects.insert(key(kind, ns.as_deref(), &name), obj.clone());
        let etype = if old.is_some() { EventType::Modified } else { EventType::Added };
        self.record(&mut inner, kind, ns, etype, obj.clone(), old);
        obj
    }

    /// Applies `change` to an object; records MODIFIED only if it really changed.
    /// Returns the new object, or None if it does not exist.
    pub fn update(
        &self,
        kind: &'static Kind,
        ns: Option<&str>,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) -> Option<Value> {
        let mut inner = self.lock();
        let k = key(kind, ns, name);
        let old = inner.objects.get(&k)?.clone();
        let mut obj = old.clone();
        change(&mut obj);
        if obj == old {
            return Some(obj);
        }
        if has_generation(kind) && obj["spec"] != old["spec"] {
            let generation = old["metadata"]["generation"].as_u64().unwrap_or(0) + 1;
            obj["metadata"]["generation"] = json!(generation);
            // The simulated controllers act at once, so they have always observed it.
            obj["status"]["observedGeneration"] = json!(generation);
        }
        inner.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
        inner.objects.insert(k, obj.clone());
        self.record(&mut inner, kind, ns.map(str::to_string), EventType::Modified, obj.clone(), Some(old));
        Some(obj)
    }

    pub fn delete(&self, kind: &'static Kind, ns: Option<&str>, name: &str) -> Option<Value> {
        let mut inner = self.lock();
        let mut obj = inner.objects.remove(&key(kind, ns, name))?;
        inner.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
        self.record(&mut inner, kind, ns.map(str::to_string), EventType::Deleted, obj.clone(), None);
        Some(obj)
    }

    fn record(
        &self,
        inner: &mut Inner,
        kind: &'static Kind,
        namespace: Option<String>,
        etype: EventType,
        object: Value,
        old: Option<Value>,
    ) {
        let event = Arc::new(Event { rv: inner.rv, kind, namespace, etype, object, old });
        if inner.history.len() == EVENT_HISTORY
            && let Some(dropped) = inner.history.pop_front()
        {
            inner.floor = inner.floor.max(dropped.rv);
        }
        inner.history.push_back(event.clone());
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(event);
    }

    pub fn get(&self, kind: &'static Kind, ns: Option<&str>, name: &str) -> Option<Value> {
        self.lock().objects.get(&key(kind, ns, name)).cloned()
    }

    /// All objects of a kind (in one namespace, or all when `ns` is None) and the list RV.
    pub fn list(&self, kind: &'static Kind, ns: Option<&str>) -> (Vec<Value>, u64) {
        let inner = self.lock();
        let items = inner
            .objects
            .iter()
            .filter(|((plural, obj_ns, _), _)| {
                *plural == kind.plural && (ns.is_none() || obj_ns.as_deref() == ns)
            })
            .map(|(_, v)| v.clone())
            .collect();
        (items, inner.rv)
    }

    /// Starts a watch after `from_rv`: the retained events to replay, then a live receiver.
    /// Taken under one lock so no event falls between the two.
    pub fn watch_from(&self, from_rv: u64) -> Result<WatchStart, Expired> {
        let inner = self.lock();
        if from_rv < inner.floor {
            return Err(Expired { requested: from_rv, oldest: inner.floor });
        }
        let backlog = inner.history.iter().filter(|e| e.rv > from_rv).cloned().collect();
        Ok(WatchStart { backlog, live: self.events.subscribe() })
    }

    /// Makes every resourceVersion handed out so far too old to watch from (a test knob that
    /// stands for etcd compaction). Returns the new floor.
    pub fn expire_all(&self) -> u64 {
        let mut inner = self.lock();
        inner.rv += 1;
        inner.floor = inner.rv;
        inner.floor
    }
}

/// Kinds whose spec changes bump `metadata.generation` (workloads; pods, Services and the
/// rest carry none here).
fn has_generation(kind: &Kind) -> bool {
    matches!(kind.plural, "statefulsets" | "deployments")
}

pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now()).to_string()
}

fn new_uid() -> String {
    let b: [u8; 16] = rand::random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::PODS;

    fn pod(name: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "ns"}})
    }

    #[test]
    fn every_change_bumps_the_resource_version_and_unchanged_updates_do_not() {
        let store = Store::default();
        let created = store.create(&PODS, pod("a"));
        let rv0: u64 = created["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
        store.update(&PODS, Some("ns"), "a", |_| {});
        assert_eq!(store.current_rv(), rv0);
        store.update(&PODS, Some("ns"), "a", |o| o["status"] = json!({"phase": "Running"}));
        assert_eq!(store.current_rv(), rv0 + 1);
        assert!(store.delete(&PODS, Some("ns"), "a").is_some());
        assert_eq!(store.current_rv(), rv0 + 2);
        assert!(store.get(&PODS, Some("ns"), "a").is_none());
    }

    #[test]
    fn watch_replays_only_events_after_the_requested_version() {
        let store = Store::default();
        store.create(&PODS, pod("a"));
        let rv = store.current_rv();
        store.create(&PODS, pod("b"));
        let backlog = store.watch_from(rv).unwrap().backlog;
        assert_eq!(backlog.len(), 1);
        assert_eq!(backlog[0].object["metadata"]["name"], "b");
    }

    #[test]
    fn expired_versions_are_refused_after_expire_all() {
        let store = Store::default();
        store.create(&PODS, pod("a"));
        let rv = store.current_rv();
        store.expire_all();
        let err = store.watch_from(rv).unwrap_err();
        assert!(err.to_string().starts_with("too old resource version"));
        assert!(store.watch_from(store.current_rv()).is_ok());
    }
}
