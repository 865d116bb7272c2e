//! axum's extractors, wrapped so their rejections use our envelope: a query value out of range
//! or of the wrong type is a 422 naming the field; bodies follow `body`'s one rule.

use super::error::ApiError;
use axum::extract::FromRequestParts;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

pub use super::body::{ApiJson, OptionalJson};

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
    // serde_urlencoded says e.g. "Failed to deserialize query string: tail: invalid digit found
    // in string" or "…: status: unknown variant `sleeping`, expected one of …": keep the field
    // and what was expected, never the value.
    let text = rejection.body_text();
    let detail = text.trim_start_matches("Failed to deserialize query string: ");
    let (field, rest) = match detail.split_once(": ") {
        Some((f, rest)) if !f.contains(' ') => (f.trim(), rest),
        _ => ("query", detail),
    };
    let message = match rest.split_once(", expected ") {
        Some((_, expected)) => format!("invalid query parameter {field}: expected {expected}"),
        None if rest.contains('`') => format!("invalid query parameter {field}"),
        None => format!("invalid query parameter {field}: {rest}"),
    };
    ApiError::validation(field, message)
}

/// `axum::extract::Path` with 400 envelope rejections (e.g. a segment that is not UTF-8).
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        // axum's text quotes the segment; the segment is the client's and is not repeated.
        ApiError::bad_request("invalid path segment")
    }
}
