//! The HTTP side of `ctl`: JSON calls that unwrap `{"ok":true,"data":…}` or turn the error
//! envelope into `CtlError::Api`, and a Server-Sent Events reader for followed logs.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// The BFF answered with its error envelope.
    #[error("{code}: {message} (HTTP {status})")]
    Api { status: u16, code: String, message: String, details: Value },
    #[error(
        "failed to reach the BFF at {url}: {message}\n\
         is it running? start it with `cargo run --release -- demo` (or `serve`), or point ctl at it \
         with --api URL (env BFF_API)"
    )]
    Unreachable { url: String, message: String },
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

impl CtlError {
    pub fn unexpected(what: impl Into<String>) -> Self {
        Self::Unexpected(what.into())
    }
}

pub struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    pub fn new(base: &str) -> Result<Self, CtlError> {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            // Under the server's default HEADER_READ_TIMEOUT (10 s), after which it closes an
            // idle connection: reusing one it is closing would reset the request.
            .pool_idle_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| CtlError::unexpected(format!("failed to build the HTTP client: {e}")))?;
        Ok(Self { http, base: base.trim_end_matches('/').to_string() })
    }

    /// The BFF's base URL, as given.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, request: reqwest::RequestBuilder, url: &str) -> Result<reqwest::Response, CtlError> {
        let response = request
            .send()
            .await
            .map_err(|e| CtlError::Unreachable { url: url.to_string(), message: chain(&e) })?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let error = &body["error"];
        Err(CtlError::Api {
            status,
            code: error["code"].as_str().unwrap_or("HTTP_ERROR").to_string(),
            message: error["message"].as_str().map_or_else(|| text.trim().to_string(), str::to_string),
            details: error["details"].clone(),
        })
    }

    /// GET a read; its `data`.
    pub async fn get_json(&self, path: &str) -> Result<Value, CtlError> {
        let url = self.url(path);
        let body: Value = self
            .send(self.http.get(&url), &url)
            .await?
            .json()
            .await
            .map_err(|e| CtlError::unexpected(format!("{url} did not answer JSON: {e}")))?;
        Ok(body.get("data").cloned().unwrap_or(body))
    }

    /// POST a JSON body; the answer (a 202 job acceptance is not wrapped in `data`).
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Value, CtlError> {
        let url = self.url(path);
        let answer: Value = self
            .send(self.http.post(&url).json(body), &url)
            .await?
            .json()
            .await
            .map_err(|e| CtlError::unexpected(format!("{url} did not answer JSON: {e}")))?;
        Ok(answer.get("data").cloned().unwrap_or(answer))
    }

    pub async fn get_text(&self, path: &str) -> Result<String, CtlError> {
        let url = self.url(path);
        self.send(self.http.get(&url), &url)
            .await?
            .text()
            .await
            .map_err(|e| CtlError::unexpected(format!("failed to read {url}: {e}")))
    }

    /// Reads an SSE stream, calling `on_line` with each data line, until an `end` event or
    /// the end of the stream.
    pub async fn follow_sse(&self, path: &str, mut on_line: impl FnMut(&str)) -> Result<(), CtlError> {
        let url = self.url(path);
        let mut response = self.send(self.http.get(&url).header("accept", "text/event-stream"), &url).await?;
        let mut parser = SseParser::default();
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| CtlError::Unreachable { url: url.clone(), message: chain(&e) })?;
            let Some(chunk) = chunk else { return Ok(()) };
            for event in parser.push(&chunk) {
                if event.name.as_deref() == Some("end") {
                    return Ok(());
                }
                for line in event.data.lines() {
                    on_line(line);
                }
            }
        }
    }
}

/// One dispatched SSE event.
#[derive(Debug, PartialEq)]
pub struct SseEvent {
    pub name: Option<String>,
    pub data: String,
}

/// The event-stream format (WHATWG HTML §9.2): `field: value` lines, events ended by a blank
/// line, several `data` lines joined by `\n`, comments (`:` keep-alives) ignored.
#[derive(Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    name: Option<String>,
    data: Vec<String>,
}

impl SseParser {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let raw: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() || self.name.is_some() {
                    events.push(SseEvent { name: self.name.take(), data: self.data.join("\n") });
                    self.data.clear();
                }
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "data" => self.data.push(value.to_string()),
                "event" => self.name = Some(value.to_string()),
                _ => {}
            }
        }
        events
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_split_across_chunks_join_their_data_lines_and_skip_comments() {
        let mut p = SseParser::default();
        assert_eq!(p.push(b": keep-alive\n\ndata: one\nda"), vec![]);
        let events = p.push(b"ta: two\n\nevent: end\ndata: job finished\r\n\r\n");
        assert_eq!(
            events,
            vec![
                SseEvent { name: None, data: "one\ntwo".into() },
                SseEvent { name: Some("end".into()), data: "job finished".into() },
            ]
        );
    }
}
