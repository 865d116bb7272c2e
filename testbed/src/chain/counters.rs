//! Requests served by a chain, counted by `rpc <method>` and `rest <route template>`, so a
//! test can assert how the product talks to a chain (e.g. that a cache saved a call).

use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Counters(Mutex<BTreeMap<String, u64>>);

impl Counters {
    pub fn count(&self, key: impl Into<String>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()).entry(key.into()).or_default() += 1;
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
