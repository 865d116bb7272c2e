//! `ChainClient`: the one pooled HTTP client (shared with the rest of the BFF) plus the
//! per-call timeout, speaking the two wire forms of a chain node. CometBFT RPC uses the URI
//! transport (`GET <rpc>/<method>?k=v`, as recorded under `tests/fixtures/cometbft`); Cosmos REST is
//! plain JSON (`tests/fixtures/cosmos-rest`). Both error forms become `Error::Upstream` with the upstream code.

use super::{Error, Result};
use serde_json::Value;
use std::time::Duration;

#[derive(Clone)]
pub struct ChainClient {
    http: reqwest::Client,
    timeout: Duration,
    metrics: crate::metrics::Metrics,
    /// The chain id the latency metric is labelled with (see `for_chain`).
    chain: Option<std::sync::Arc<str>>,
}

impl ChainClient {
    pub fn new(http: reqwest::Client, timeout: Duration) -> Self {
        Self { http, timeout, metrics: crate::metrics::Metrics::default(), chain: None }
    }

    pub fn with_metrics(self, metrics: crate::metrics::Metrics) -> Self {
        Self { metrics, ..self }
    }

    /// The pooled HTTP client itself, for callers speaking something other than RPC or REST
    /// to a node (the gateway's TUS upload and render).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The same client with another per-call timeout (short liveness probes).
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        Self { timeout, ..self.clone() }
    }

    /// The same client, its calls measured under `chain`.
    pub fn for_chain(&self, chain: &str) -> Self {
        Self { chain: Some(chain.into()), ..self.clone() }
    }

    /// `GET <rpc>/<method>?k=v…` and the JSON-RPC `result`. Values are sent as given, so
    /// integers go bare and strings must be quoted by the caller (URI transport rules).
    pub async fn rpc(&self, rpc: &str, method: &str, params: &[(&str, String)]) -> Result<Value> {
        let url = format!("{}/{method}", rpc.trim_end_matches('/'));
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let request = self.http.get(with_query(&url, &pairs));
        let (status, body) = self.send(&url, method, request).await?;
        match body {
            Some(mut envelope) => {
                if let Some(error) = envelope.get("error").filter(|e| !e.is_null()) {
                    return Err(rpc_error(&url, status, error));
                }
                match envelope.get_mut("result").map(Value::take) {
                    Some(result) if status < 400 => Ok(result),
                    _ => Err(Error::Upstream {
                        url,
                        status: Some(status),
                        code: None,
                        message: "answer without a JSON-RPC result".into(),
                    }),
                }
            }
            None => Err(Error::Upstream {
                url,
                status: Some(status),
                code: None,
                message: format!("non-JSON answer with HTTP {status}"),
            }),
        }
    }

    /// `GET <api><path>` with query pairs; the JSON body on 2xx.
    pub async fn rest_get(&self, api: &str, path: &str, query: &[(&str, &str)]) -> Result<Value> {
        let url = format!("{}{path}", api.trim_end_matches('/'));
        let request = self.http.get(with_query(&url, query));
        rest_result(url.clone(), self.send(&url, &crate::metrics::route_template(path), request).await?)
    }

    /// `POST <api><path>` with a JSON body; the JSON body on 2xx.
    pub async fn rest_post(&self, api: &str, path: &str, body: &Value) -> Result<Value> {
        let url = format!("{}{path}", api.trim_end_matches('/'));
        let request = self.http.post(&url).json(body);
        rest_result(url.clone(), self.send(&url, &crate::metrics::route_template(path), request).await?)
    }

    /// `POST <url>` of a JSON body already encoded (sent as it is, not re-serialized): the
    /// HTTP status and the raw answer, for callers that read a typed answer out of it.
    /// `route` is the metric label (a route template).
    pub async fn post_json_bytes(
        &self,
        url: &str,
        route: &str,
        body: bytes::Bytes,
    ) -> Result<(u16, bytes::Bytes)> {
        let request =
            self.http.post(url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
        self.send_raw(url, route, request).await
    }

    /// Sends with the timeout and measures the call; the HTTP status and the body if JSON.
    async fn send(
        &self,
        url: &str,
        method: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Option<Value>)> {
        let (status, bytes) = self.send_raw(url, method, request).await?;
        Ok((status, serde_json::from_slice(&bytes).ok()))
    }

    /// Sends with the timeout and measures the call; the HTTP status and the body's bytes.
    async fn send_raw(
        &self,
        url: &str,
        method: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, bytes::Bytes)> {
        let started = tokio::time::Instant::now();
        let result = self.send_unmeasured(url, request).await;
        let outcome = match &result {
            Ok((status, _)) if *status < 400 => "ok",
            Ok(_) => "upstream_error",
            Err(Error::Timeout { .. }) => "timeout",
            Err(_) => "unreachable",
        };
        let chain = self.chain.as_deref().unwrap_or("unknown");
        self.metrics.upstream_request(chain, method, outcome, started.elapsed());
        result
    }

    async fn send_unmeasured(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, bytes::Bytes)> {
        let failed = |e: reqwest::Error| {
            if e.is_timeout() {
                Error::Timeout { url: url.to_string(), timeout_ms: self.timeout.as_millis() }
            } else {
                Error::Unreachable { url: url.to_string(), message: error_chain(&e) }
            }
        };
        let response = request.timeout(self.timeout).send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(failed)?;
        Ok((status, bytes))
    }
}

/// `url?k=v&…` (form-encoded); reqwest's own `query` needs a feature we do not enable.
fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return url.to_string();
    }
    let query: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("{url}?{query}")
}

/// reqwest's message plus its sources ("error sending request" alone says nothing).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A JSON-RPC error object: `data` carries CometBFT's own text when present.
fn rpc_error(url: &str, status: u16, error: &Value) -> Error {
    let message = error
        .get("data")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
        .or_else(|| error.get("message").and_then(Value::as_str))
        .unwrap_or("unknown error")
        .to_string();
    Error::Upstream {
        url: url.to_string(),
        status: Some(status),
        code: error.get("code").and_then(Value::as_i64),
        message,
    }
}

/// gRPC-gateway bodies: 2xx is the answer; otherwise `{"code","message","details"}`.
pub(super) fn rest_result(url: String, (status, body): (u16, Option<Value>)) -> Result<Value> {
    match body {
        Some(body) if (200..300).contains(&status) => Ok(body),
        Some(body) => Err(Error::Upstream {
            url,
            status: Some(status),
            code: body.get("code").and_then(Value::as_i64),
            message: body.get("message").and_then(Value::as_str).unwrap_or("").to_string(),
        }),
        None => Err(Error::Upstream {
            url,
            status: Some(status),
            code: None,
            message: format!("non-JSON answer with HTTP {status}"),
        }),
    }
}

/// gRPC code 5 (NotFound), as the gateway reports unknown accounts and txs.
pub const GRPC_NOT_FOUND: i64 = 5;

impl Error {
    /// True for a REST 404 / gRPC NotFound answer.
    pub fn is_upstream_not_found(&self) -> bool {
        matches!(
            self,
            Error::Upstream { code: Some(GRPC_NOT_FOUND), .. } | Error::Upstream { status: Some(404), .. }
        )
    }
}
