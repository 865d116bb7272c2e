//! One rule for every JSON request body, on every route:
//!
//! - a body must come as `Content-Type: application/json` (or `+json`), else 415;
//! - beyond the body limit (`MAX_BODY_BYTES`) it is 413 `PAYLOAD_TOO_LARGE` naming the limit;
//! - a body still arriving after `BODY_READ_TIMEOUT` is 408 `REQUEST_TIMEOUT`;
//! - text that is not JSON is 400 `BAD_REQUEST`;
//! - well-formed JSON of the wrong shape — not an object, an unknown field, a missing field, a
//!   wrong type — is 422 `VALIDATION_ERROR` with the field's path in `details.field`.
//!
//! No message ever repeats a value from the request: serde's own texts quote the offending
//! value (`invalid type: string "…"`), so they are rewritten to say only what was expected.

use super::error::{ApiError, ErrorCode, ErrorEnvelope};
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::json;

/// The answers every body route can give besides its own, for the OpenAPI document.
/// Documentation only: handlers answer `ApiError`, so the variants are never built.
#[allow(dead_code)]
#[derive(utoipa::IntoResponses)]
pub enum BodyErrors {
    #[response(status = 400, description = "BAD_REQUEST: the body is not JSON (or is missing)")]
    NotJson(ErrorEnvelope),
    #[response(status = 408, description = "REQUEST_TIMEOUT: the body did not arrive within bodyReadTimeout")]
    TooSlow(ErrorEnvelope),
    #[response(status = 413, description = "PAYLOAD_TOO_LARGE: the body is larger than maxBodyBytes")]
    TooLarge(ErrorEnvelope),
    #[response(status = 415, description = "UNSUPPORTED_MEDIA_TYPE: not sent as application/json")]
    NotJsonContent(ErrorEnvelope),
}

/// A JSON object body, by the rules above.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

/// The same, where the whole body is optional: an empty body is `T::default()` (a job request with no body takes every default).
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = read(req, state).await?;
        if is_blank(&bytes) {
            return Err(ApiError::bad_request("a JSON body is required"));
        }
        parse(&bytes).map(Self)
    }
}

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = read(req, state).await?;
        if is_blank(&bytes) {
            return Ok(Self(T::default()));
        }
        parse(&bytes).map(Self)
    }
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// The body's bytes, after the Content-Type and size rules.
async fn read<S: Send + Sync>(req: Request, state: &S) -> Result<axum::body::Bytes, ApiError> {
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let limit = req.extensions().get::<BodyLimit>().map(|l| l.0);
    let timeout = req.extensions().get::<BodyReadTimeout>().map(|t| t.0);
    let reading = axum::body::Bytes::from_request(req, state);
    let read = match timeout {
        Some(timeout) => tokio::time::timeout(timeout, reading).await.map_err(|_| too_slow(timeout))?,
        None => reading.await,
    };
    let bytes = read.map_err(|rejection| read_error(&rejection, limit))?;
    if !is_blank(&bytes) && !content_type.as_deref().is_some_and(is_json) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "a request body must be sent as Content-Type: application/json",
        ));
    }
    Ok(bytes)
}

/// `application/json`, `application/json; charset=utf-8`, `application/merge-patch+json`, …
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The body limit in force (`MAX_BODY_BYTES`), carried to the extractor for its message.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// How long the whole body may take to arrive (`BODY_READ_TIMEOUT`), carried to the extractor.
#[derive(Debug, Clone, Copy)]
pub struct BodyReadTimeout(pub std::time::Duration);

/// The router's body bounds: axum refuses longer bodies, and the extractor names the limit
/// and gives up on a body that arrives slower than the timeout.
pub fn limit_layer<S: Clone + Send + Sync + 'static>(
    router: axum::Router<S>,
    limit: usize,
    timeout: std::time::Duration,
) -> axum::Router<S> {
    router
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(axum::Extension(BodyLimit(limit)))
        .layer(axum::Extension(BodyReadTimeout(timeout)))
}

/// A body still arriving at the timeout: 408; hyper closes the connection, as the rest of
/// the body is never read.
fn too_slow(timeout: std::time::Duration) -> ApiError {
    ApiError::new(
        ErrorCode::RequestTimeout,
        format!("the request body did not arrive within bodyReadTimeout ({} s)", timeout.as_secs_f64()),
    )
    .with_details(json!({"limit": "bodyReadTimeout", "seconds": timeout.as_secs_f64()}))
}

fn read_error(rejection: &BytesRejection, limit: Option<usize>) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let message = match limit {
            Some(limit) => format!("the request body is larger than maxBodyBytes ({limit} bytes)"),
            None => "the request body is larger than maxBodyBytes".to_string(),
        };
        return ApiError::new(ErrorCode::PayloadTooLarge, message)
            .with_details(json!({"limit": "maxBodyBytes", "value": limit}));
    }
    ApiError::bad_request("failed to read the request body")
}

/// Deserializes a JSON object into `T`, naming the field of any mismatch.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        // serde would read a JSON array as the struct's fields by position: refuse it here.
        return match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => Err(ApiError::validation("body", "the body must be a JSON object")),
            Err(_) => Err(ApiError::bad_request("the body is not valid JSON")),
        };
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // `1e400` fails in the tokenizer, `99999999999999999999999` in the field's type: both
        // are a number the field cannot hold, and get the same 422.
        if inner.to_string().starts_with("number out of range") {
            let field = if path.is_empty() || path == "." { "body".to_string() } else { path };
            return ApiError::validation(&field, "number out of range");
        }
        if !matches!(inner.classify(), serde_json::error::Category::Data) {
            return ApiError::bad_request(format!(
                "the body is not valid JSON (line {}, column {})",
                inner.line(),
                inner.column()
            ));
        }
        let (field, message) = describe(&path, &inner.to_string());
        ApiError::validation(&field, message)
    })
}

/// The known field a misspelt or shortened one most likely meant: the same letters in another
/// case, one that starts with it (`chain` → `chainId`), or one within two edits.
fn suggest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    let folded = |k: &str| k.to_ascii_lowercase();
    known
        .iter()
        .find(|k| folded(k) == lower)
        .or_else(|| known.iter().find(|k| !lower.is_empty() && folded(k).starts_with(&lower)))
        .or_else(|| known.iter().find(|k| edits(&folded(k), &lower) <= 2))
        .copied()
}

/// Levenshtein distance (field names are short).
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The field a serde data error is about and a message that repeats no request value.
fn describe(path: &str, serde_message: &str) -> (String, String) {
    // serde_json appends " at line L column C"; the position says nothing the field does not.
    let text = serde_message.rsplit_once(" at line ").map_or(serde_message, |(t, _)| t);
    // The path ends at the unknown field already; a missing field's path ends at its parent.
    let join = |name: &str| match path {
        "" | "." => name.to_string(),
        p if p == name || p.ends_with(&format!(".{name}")) => p.to_string(),
        p => format!("{p}.{name}"),
    };
    let quoted = |t: &str| t.split('`').nth(1).map(str::to_string);
    let expected = |t: &str| t.split_once(", expected ").map(|(_, e)| e.to_string());
    let field_or_body = if path.is_empty() || path == "." { "body".to_string() } else { path.to_string() };
    if let Some(rest) = text.strip_prefix("unknown field ") {
        let name = quoted(rest).unwrap_or_default();
        let known: Vec<&str> = rest.split('`').skip(3).step_by(2).collect();
        let message = match suggest(&name, &known) {
            Some(near) => format!("unknown field {name}; did you mean {near}?"),
            None => format!("unknown field {name}"),
        };
        return (join(&name), message);
    }
    if let Some(rest) = text.strip_prefix("missing field ") {
        let name = quoted(rest).unwrap_or_default();
        return (join(&name), format!("missing field {name}"));
    }
    for (prefix, what) in [
        ("invalid type", "wrong type"),
        ("invalid value", "invalid value"),
        ("invalid length", "wrong length"),
    ] {
        if text.starts_with(prefix) {
            return match expected(text) {
                Some(e) => (field_or_body, format!("{what}: expected {e}")),
                None => (field_or_body, what.to_string()),
            };
        }
    }
    if let Some(rest) = text.strip_prefix("unknown variant ") {
        return match expected(rest) {
            Some(e) => (field_or_body, format!("unknown value: expected {e}")),
            None => (field_or_body, "unknown value".into()),
        };
    }
    // Our own deserializers (`crate::api::int`) write messages without the value.
    (field_or_body, text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Req {
        chain_id: String,
        tx_bytes: Vec<String>,
        #[serde(default)]
        mode: Option<Mode>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Sync,
    }

    fn err(body: &str) -> ApiError {
        parse::<Req>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn mismatches_name_the_field_and_never_the_value() {
        let secret = "Q2hBS0Rnb0NDQUVTQ0hSbGMzUXRZMmhoYVc0U0JtWmtjMk10TUE9PQ";
        let e = err(&format!(r#"{{"chainId":"gwc","txBytes":"{secret}"}}"#));
        assert_eq!((e.code, e.details["field"].as_str()), (ErrorCode::ValidationError, Some("txBytes")));
        assert!(!e.message.contains(secret) && e.message.contains("expected a sequence"), "{}", e.message);
        let e = err(r#"{"chainId":"gwc","txBytes":[],"broadcastMode":"x"}"#);
        assert_eq!(
            (e.details["field"].as_str(), e.message.as_str()),
            (Some("broadcastMode"), "unknown field broadcastMode")
        );
        let e = err(r#"{"txBytes":[]}"#);
        assert_eq!(e.details["field"], "chainId");
        // A near miss names the field that was meant.
        for (wrong, meant) in
            [("chain", "chainId"), ("ChainID", "chainId"), ("txByte", "txBytes"), ("mdoe", "mode")]
        {
            let e = err(&format!(r#"{{"{wrong}":"gwc","chainId":"gwc","txBytes":[]}}"#));
            assert_eq!(e.message, format!("unknown field {wrong}; did you mean {meant}?"));
        }
        let e = err(r#"{"chainId":"gwc","txBytes":[7]}"#);
        assert_eq!(e.details["field"], "txBytes[0]");
        let e = err(r#"{"chainId":"gwc","txBytes":[],"mode":"block"}"#);
        assert!(
            e.message.starts_with("unknown value: expected") && !e.message.contains("block"),
            "{}",
            e.message
        );
    }

    #[test]
    fn arrays_and_scalars_are_refused_and_broken_json_is_a_bad_request() {
        assert_eq!(err(r#"["gwc", []]"#).details["field"], "body");
        assert_eq!(err("42").code, ErrorCode::ValidationError);
        assert_eq!(err(r#"{"chainId": "#).code, ErrorCode::BadRequest);
        assert_eq!(err("not json").code, ErrorCode::BadRequest);
    }

    #[test]
    fn numbers_out_of_range_get_one_answer_whatever_the_tokenizer_says() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Window {
            #[serde(default, deserialize_with = "crate::api::int::opt")]
            from_height: Option<u64>,
        }
        for text in [r#"{"from_height": 1e400}"#, r#"{"from_height": 99999999999999999999999}"#] {
            let e = parse::<Window>(text.as_bytes()).unwrap_err();
            assert_eq!(
                (e.code, e.details["field"].as_str()),
                (ErrorCode::ValidationError, Some("from_height")),
                "{text}"
            );
        }
    }

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
