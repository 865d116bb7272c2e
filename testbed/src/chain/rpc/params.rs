//! Method parameters from either transport, decoded as CometBFT decodes them
//! (`rpc/jsonrpc/server/{http_json_handler,http_uri_handler}.go`, `libs/json`): in JSON-RPC,
//! 64-bit integers must be strings and bytes are base64 (hex for `HexBytes` such as
//! `abci_query.data`); in the URI form, integers are bare and bytes are `0x<hex>` or a
//! quoted string.

use super::error::RpcError;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::collections::HashMap;

pub enum Params {
    Json(Map<String, Value>),
    Uri(HashMap<String, String>),
}

impl Params {
    /// JSON-RPC `params`: absent/null, an object by name, or an array in route order.
    pub fn from_json(params: Option<&Value>, arg_names: &[&str]) -> Result<Self, RpcError> {
        match params {
            None | Some(Value::Null) => Ok(Self::Json(Map::new())),
            Some(Value::Object(map)) => Ok(Self::Json(map.clone())),
            Some(Value::Array(items)) => {
                if items.len() > arg_names.len() {
                    let msg = format!(
                        "expected {} parameters ({:?}), got {} ({items:?})",
                        arg_names.len(),
                        arg_names,
                        items.len()
                    );
                    return Err(RpcError::invalid_params(json_context(&msg)));
                }
                Ok(Self::Json(arg_names.iter().map(|n| n.to_string()).zip(items.iter().cloned()).collect()))
            }
            Some(other) => {
                Err(RpcError::invalid_params(json_context(&format!("unknown type for JSON params: {other}"))))
            }
        }
    }

    pub fn from_query(query: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned();
        Self::Uri(pairs.collect())
    }

    fn wrap(&self, detail: String) -> RpcError {
        match self {
            Self::Json(_) => RpcError::invalid_params(json_context(&detail)),
            Self::Uri(_) => {
                RpcError::invalid_params(format!("error converting http params to arguments: {detail}"))
            }
        }
    }

    /// A JSON value, or the URI text; `None` when absent or null.
    fn raw(&self, name: &str) -> Option<Raw<'_>> {
        match self {
            Self::Json(map) => map.get(name).filter(|v| !v.is_null()).map(Raw::Json),
            Self::Uri(map) => map.get(name).filter(|v| !v.is_empty()).map(|s| Raw::Uri(s.as_str())),
        }
    }

    /// An `int64`/`int` parameter.
    pub fn int(&self, name: &str) -> Result<Option<i64>, RpcError> {
        let text = match self.raw(name) {
            None => return Ok(None),
            Some(Raw::Json(Value::String(s))) => s.clone(),
            Some(Raw::Json(other)) => {
                return Err(
                    self.wrap(format!("invalid 64-bit integer encoding \"{other}\", expected string"))
                );
            }
            Some(Raw::Uri(s)) => unquote(s).to_string(),
        };
        text.parse::<i64>()
            .map(Some)
            .map_err(|_| self.wrap(format!("strconv.ParseInt: parsing \"{text}\": invalid syntax")))
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, RpcError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Raw::Json(Value::Bool(b))) => Ok(Some(*b)),
            Some(Raw::Uri(s)) if matches!(unquote(s), "true" | "false") => Ok(Some(unquote(s) == "true")),
            Some(other) => {
                Err(self.wrap(format!("json: cannot unmarshal {} into Go value of type bool", other.text())))
            }
        }
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, RpcError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Raw::Json(Value::String(s))) => Ok(Some(s.clone())),
            Some(Raw::Uri(s)) => Ok(Some(unquote(s).to_string())),
            Some(other) => {
                Err(self
                    .wrap(format!("json: cannot unmarshal {} into Go value of type string", other.text())))
            }
        }
    }

    /// A `[]byte` parameter (base64 in JSON).
    pub fn bytes(&self, name: &str) -> Result<Option<Vec<u8>>, RpcError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Raw::Json(Value::String(s))) => base64::engine::general_purpose::STANDARD
                .decode(s)
                .map(Some)
                .map_err(|e| self.wrap(format!("illegal base64 data: {e}"))),
            Some(Raw::Uri(s)) => uri_bytes(s).map(Some).map_err(|e| self.wrap(e)),
            Some(other) => {
                Err(self
                    .wrap(format!("json: cannot unmarshal {} into Go value of type []uint8", other.text())))
            }
        }
    }

    /// A `bytes.HexBytes` parameter (hex in JSON).
    pub fn hex_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, RpcError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Raw::Json(Value::String(s))) => {
                hex::decode(s).map(Some).map_err(|e| self.wrap(format!("encoding/hex: {e}")))
            }
            Some(Raw::Uri(s)) => uri_bytes(s).map(Some).map_err(|e| self.wrap(e)),
            Some(other) => Err(self.wrap(format!(
                "json: cannot unmarshal {} into Go value of type bytes.HexBytes",
                other.text()
            ))),
        }
    }
}

enum Raw<'a> {
    Json(&'a Value),
    Uri(&'a str),
}

impl Raw<'_> {
    fn text(&self) -> String {
        match self {
            Self::Json(v) => v.to_string(),
            Self::Uri(s) => s.to_string(),
        }
    }
}

fn json_context(detail: &str) -> String {
    format!("error converting json params to arguments: {detail}")
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s)
}

/// URI bytes: `0x<hex>` or a quoted string's raw bytes (`http_uri_handler.go`).
fn uri_bytes(s: &str) -> Result<Vec<u8>, String> {
    if let Some(hex_text) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return hex::decode(hex_text).map_err(|e| format!("encoding/hex: {e}"));
    }
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        return Ok(s.as_bytes()[1..s.len() - 1].to_vec());
    }
    Err(format!("invalid bytes argument {s:?}: expected 0x-prefixed hex or a quoted string"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_integers_must_be_strings() {
        let p = Params::from_json(Some(&json!({"height": 10})), &["height"]).unwrap();
        let err = p.int("height").unwrap_err();
        assert_eq!(err.code, -32602);
        assert_eq!(
            err.data.as_deref(),
            Some(
                "error converting json params to arguments: invalid 64-bit integer encoding \"10\", expected string"
            )
        );
        let p = Params::from_json(Some(&json!({"height": "10"})), &["height"]).unwrap();
        assert_eq!(p.int("height").unwrap(), Some(10));
    }

    #[test]
    fn uri_params_take_bare_ints_quoted_strings_and_hex_bytes() {
        let p = Params::from_query(Some("height=7&query=%22tx.height%3E1%22&hash=0xABCD&tx=%22k%3Dv%22"));
        assert_eq!(p.int("height").unwrap(), Some(7));
        assert_eq!(p.string("query").unwrap().as_deref(), Some("tx.height>1"));
        assert_eq!(p.bytes("hash").unwrap(), Some(vec![0xab, 0xcd]));
        assert_eq!(p.bytes("tx").unwrap(), Some(b"k=v".to_vec()));
        assert!(p.bytes("query").is_ok());
        assert!(Params::from_query(Some("hash=zz")).bytes("hash").is_err());
    }

    #[test]
    fn positional_params_follow_the_route_order() {
        let p = Params::from_json(Some(&json!(["1", "5"])), &["minHeight", "maxHeight"]).unwrap();
        assert_eq!((p.int("minHeight").unwrap(), p.int("maxHeight").unwrap()), (Some(1), Some(5)));
        assert!(Params::from_json(Some(&json!(["1", "2", "3"])), &["a"]).is_err());
    }
}
