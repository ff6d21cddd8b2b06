//! The server's one error type at the HTTP edge: [`Error`] answers an
//! [`ApiError`] as `{error, message, field?}` with its status (the status of
//! each code is one `match`, `ApiError::status`, in `shared::api`), and the
//! request-body limit with its JSON 413. Every handler, middleware and form
//! post answers errors through it.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::api::ApiError;

/// Largest request body accepted: a notice is a few KB; an asset import of
/// 20,000 CSV rows is about 2 MB.
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

pub struct Error(pub ApiError);

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Answers every 413 (from the body limit or an extractor) with the JSON
/// error shape, naming the limit.
pub async fn too_large_as_json(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let resp = next.run(req).await;
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if resp.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE && !json {
        return Error(body_too_large()).into_response();
    }
    resp
}

/// A server function's arguments that do not parse are the caller's
/// mistake: leptos answers them 500 (`Args|…`, `Deserialization|…`); this
/// answers them 400, with the same body.
pub async fn server_fn_bad_input_is_400(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !req.uri().path().starts_with("/api/fn/") {
        return next.run(req).await;
    }
    let resp = next.run(req).await;
    if resp.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // A server function's error is a short text.
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if bytes.starts_with(b"Args|") || bytes.starts_with(b"Deserialization|") {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// A request body over [`BODY_LIMIT`] (or cut off before its end).
/// Why a JSON body could not be read: over the limit is `too_large` (413,
/// whichever extractor met the limit), anything else a 400 with
/// `expected` (or, without it, what the parser said).
pub fn json_rejection(
    e: axum::extract::rejection::JsonRejection,
    expected: Option<&str>,
) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return body_too_large();
    }
    ApiError::bad_request(expected.map_or_else(|| e.body_text(), str::to_string))
}

pub fn body_too_large() -> ApiError {
    ApiError::new(
        shared::api::ErrorCode::TooLarge,
        format!(
            "the request body is larger than the limit of {} MiB, or was cut off",
            BODY_LIMIT / (1024 * 1024)
        ),
    )
}
