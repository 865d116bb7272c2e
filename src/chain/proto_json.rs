//! A decoded tx as the chain's own REST API writes it (`GET /cosmos/tx/v1beta1/txs/{hash}`'s
//! `tx`): protobuf field names in snake_case, each `Any` as `{"@type": …, fields…}`. Built
//! from `tx::decode_json`'s camelCase view, so both say the same thing.

use serde_json::{Map, Value};

/// The REST form of a `tx::decode_json` view (its `txhash` is not part of a tx).
pub fn from_view(view: &Value) -> Value {
    let mut tx = Map::new();
    for key in ["body", "authInfo", "signatures"] {
        if let Some(v) = view.get(key) {
            tx.insert(snake(key), convert(v));
        }
    }
    Value::Object(tx)
}

fn convert(v: &Value) -> Value {
    match v {
        Value::Object(map) if map.contains_key("typeUrl") => any(map),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (snake(k), convert(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(convert).collect()),
        other => other.clone(),
    }
}

/// `{typeUrl, decoded, value: {…}}` → `{"@type", …value's fields}`; other keys (an undecoded
/// message's `valueSize`, a public key's `key`) keep their place.
fn any(map: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert("@type".into(), map["typeUrl"].clone());
    for (k, v) in map {
        match (k.as_str(), v) {
            ("typeUrl" | "decoded", _) => {}
            ("value", Value::Object(fields)) => {
                out.extend(fields.iter().map(|(k, v)| (snake(k), convert(v))));
            }
            _ => {
                out.insert(snake(k), convert(v));
            }
        }
    }
    Value::Object(out)
}

fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_view_becomes_the_rest_form() {
        let view = json!({
            "txhash": "AB",
            "body": {"messages": [
                {"typeUrl": "/cosmos.bank.v1beta1.MsgSend", "decoded": true,
                 "value": {"fromAddress": "a", "toAddress": "b", "amount": [{"denom": "u", "amount": "1"}]}},
                {"typeUrl": "/x.Y", "decoded": false, "valueSize": 3},
            ], "memo": "m", "timeoutHeight": "0"},
            "authInfo": {"signerInfos": [{"publicKey": {"typeUrl": "/k", "key": "Aw=="}, "sequence": "1"}],
                         "fee": {"gasLimit": "200000", "amount": []}},
            "signatures": ["c2ln"],
        });
        assert_eq!(
            from_view(&view),
            json!({
                "body": {"messages": [
                    {"@type": "/cosmos.bank.v1beta1.MsgSend", "from_address": "a", "to_address": "b",
                     "amount": [{"denom": "u", "amount": "1"}]},
                    {"@type": "/x.Y", "value_size": 3},
                ], "memo": "m", "timeout_height": "0"},
                "auth_info": {"signer_infos": [{"public_key": {"@type": "/k", "key": "Aw=="}, "sequence": "1"}],
                              "fee": {"gas_limit": "200000", "amount": []}},
                "signatures": ["c2ln"],
            })
        );
    }
}
