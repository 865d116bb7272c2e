//! gwc's gateway module state: the storage chains registered with `gwcd tx gateway
//! register-storage CHANNEL CHAIN_ID API_ENDPOINT CONNECTION_TYPE` (TESTBED.md §3), listed by
//! `gwcd q gateway endpoints` and `GET /gwc/gateway/v1/storage_endpoints`.

use serde_json::{Value, json};

/// One registered storage chain, as the gateway query prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageInfo {
    pub channel_id: String,
    pub chain_id: String,
    pub api_endpoint: String,
    /// `metastore` for mdsc, `datastore` for fdsc chains (SPEC.md §6).
    pub connection_type: String,
}

impl StorageInfo {
    pub fn to_json(&self) -> Value {
        json!({
            "channel_id": self.channel_id,
            "chain_id": self.chain_id,
            "api_endpoint": self.api_endpoint,
            "connection_type": self.connection_type,
        })
    }
}

/// The query response `{"storage_infos":[…]}` shared by the REST route and `gwcd q`.
pub fn storage_endpoints_json(infos: &[StorageInfo]) -> Value {
    json!({ "storage_infos": infos.iter().map(StorageInfo::to_json).collect::<Vec<_>>() })
}
