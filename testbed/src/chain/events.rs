//! ABCI events (`{type, attributes[{key, value, index}]}`) and the events the SDK's ante
//! handler and bank module emit, in the order a v0.50 chain emits them (compare the recorded
//! `simd_v0_37/tx_search.json`; v0.50 adds `msg_index` to message events).

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: String,
    pub attributes: Vec<(String, String)>,
}

impl Event {
    pub fn new(kind: &str, attributes: &[(&str, &str)]) -> Self {
        Self {
            kind: kind.to_string(),
            attributes: attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    pub fn with_msg_index(mut self, index: usize) -> Self {
        self.attributes.push(("msg_index".into(), index.to_string()));
        self
    }

    /// CometBFT 0.38 JSON: attributes are plain strings, every one indexed.
    pub fn to_json(&self) -> Value {
        let attributes: Vec<Value> =
            self.attributes.iter().map(|(k, v)| json!({"key": k, "value": v, "index": true})).collect();
        json!({"type": self.kind, "attributes": attributes})
    }

    pub fn value(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

pub fn events_json(events: &[Event]) -> Value {
    Value::Array(events.iter().map(Event::to_json).collect())
}

/// The bank keeper's events for one transfer: coin_spent, coin_received, transfer, message.
pub fn transfer_events(from: &str, to: &str, amount: &str) -> Vec<Event> {
    vec![
        Event::new("coin_spent", &[("spender", from), ("amount", amount)]),
        Event::new("coin_received", &[("receiver", to), ("amount", amount)]),
        Event::new("transfer", &[("recipient", to), ("sender", from), ("amount", amount)]),
        Event::new("message", &[("sender", from)]),
    ]
}
