//! What `gwcd tx gateway register-storage CHANNEL CHAIN_ID API_ENDPOINT CONNECTION_TYPE`
//! builds: one `MsgRegisterStorage` with the `--from` key as authority and a single
//! `StorageInfo` (Cryptomeria-core `client/cli/tx.go CmdRegisterStorage`). The handler lives
//! with the gateway keeper on gwc.

use crate::chain::gateway::StorageInfo;
use crate::chain::gw_wire::{self as w, MSG_REGISTER_STORAGE};
use cosmrs::Any;
use prost::Message as _;

pub use crate::chain::gw_keeper::RegisterStorageHandler;

/// The CLI's view of the message: who signs, and the one entry it registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgRegisterStorage {
    pub creator: String,
    pub info: StorageInfo,
}

impl MsgRegisterStorage {
    pub fn to_any(&self) -> Any {
        let i = &self.info;
        let m = w::MsgRegisterStorage {
            authority: self.creator.clone(),
            storage_infos: vec![w::StorageInfoProto {
                channel_id: i.channel_id.clone(),
                chain_id: i.chain_id.clone(),
                api_endpoint: i.api_endpoint.clone(),
                connection_type: i.connection_type.clone(),
            }],
        };
        Any { type_url: MSG_REGISTER_STORAGE.into(), value: m.encode_to_vec() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_authority_one_and_a_repeated_storage_info_two() {
        let m = MsgRegisterStorage {
            creator: "cosmos1x".into(),
            info: StorageInfo {
                channel_id: "channel-0".into(),
                chain_id: "mdsc".into(),
                api_endpoint: "http://a:1317".into(),
                connection_type: "metastore".into(),
            },
        };
        let any = m.to_any();
        let back = w::MsgRegisterStorage::decode(any.value.as_slice()).unwrap();
        assert_eq!(back.authority, "cosmos1x");
        assert_eq!(back.storage_infos.len(), 1);
        assert_eq!(back.storage_infos[0].chain_id, "mdsc");
        assert_eq!(any.value[0], (1 << 3) | 2, "field 1 first");
    }
}
