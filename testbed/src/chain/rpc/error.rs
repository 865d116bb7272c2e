//! JSON-RPC 2.0 errors as CometBFT writes them (`rpc/jsonrpc/types/types.go`): a code, a
//! fixed message per code, and `data` with the cause (omitted when empty).

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    pub code: i32,
    pub message: &'static str,
    pub data: Option<String>,
}

impl RpcError {
    /// -32700: the body is not JSON.
    pub fn parse_error(data: impl Into<String>) -> Self {
        Self { code: -32700, message: "Parse error. Invalid JSON", data: Some(data.into()) }
    }

    /// -32600: JSON, but not a request.
    pub fn invalid_request(data: impl Into<String>) -> Self {
        Self { code: -32600, message: "Invalid Request", data: Some(data.into()) }
    }

    /// -32601: no such method (no data).
    pub fn method_not_found() -> Self {
        Self { code: -32601, message: "Method not found", data: None }
    }

    /// -32602: parameters that do not decode.
    pub fn invalid_params(data: impl Into<String>) -> Self {
        Self { code: -32602, message: "Invalid params", data: Some(data.into()) }
    }

    /// -32603: the method failed (every error a method returns).
    pub fn internal(data: impl Into<String>) -> Self {
        Self { code: -32603, message: "Internal error", data: Some(data.into()) }
    }

    pub fn to_json(&self) -> Value {
        match &self.data {
            Some(data) if !data.is_empty() => {
                json!({"code": self.code, "message": self.message, "data": data})
            }
            _ => json!({"code": self.code, "message": self.message}),
        }
    }
}

/// `{"jsonrpc":"2.0","id":…,"result":…}` or `…"error":…`; a parse error carries no id.
pub fn envelope(id: Option<&Value>, outcome: Result<Value, RpcError>) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("jsonrpc".into(), json!("2.0"));
    if let Some(id) = id {
        out.insert("id".into(), id.clone());
    }
    match outcome {
        Ok(result) => out.insert("result".into(), result),
        Err(e) => out.insert("error".into(), e.to_json()),
    };
    Value::Object(out)
}
