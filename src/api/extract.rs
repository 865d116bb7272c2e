//! axum's extractors, wrapped so their rejections use our envelope: a malformed body is a
//! 400, a query value out of range or of the wrong type a 422 naming the field.

use super::error::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// `axum::Json` with 400 envelope rejections.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::bad_request(rejection.body_text())
    }
}

/// `axum::extract::Query` whose failures are 422 VALIDATION_ERROR naming the field.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(rejection) => Err(query_error(&rejection)),
        }
    }
}

fn query_error(rejection: &QueryRejection) -> ApiError {
    // serde_urlencoded says e.g. "Failed to deserialize query string: tail: invalid digit found in string".
    let text = rejection.body_text();
    let detail = text.trim_start_matches("Failed to deserialize query string: ");
    let field = detail.split_once(':').map(|(f, _)| f.trim()).filter(|f| !f.contains(' ')).unwrap_or("query");
    ApiError::validation(field, format!("invalid query parameter: {detail}"))
}

/// `axum::extract::Path` with 400 envelope rejections (e.g. a segment that is not UTF-8).
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request(format!("invalid path: {}", rejection.body_text()))
    }
}

/// A JSON body that may be absent: an empty body is `T::default()` (SPEC §4: "body (all
/// optional)"). Malformed JSON is a 400; a well-formed body of the wrong shape a 422.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("failed to read the body: {}", e.body_text())))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        serde_json::from_slice(&bytes).map(Self).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => ApiError::validation("body", format!("invalid body: {e}")),
            _ => ApiError::bad_request(format!("malformed JSON body: {e}")),
        })
    }
}
