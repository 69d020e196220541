//! The local gateway's own problem+json answers (its `/_local/*` control endpoints and the
//! gateway's refusals before any function runs), shaped like the functions'.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde_json::json;

/// A problem+json answer of the local gateway itself, with a request id in the body and in
/// `x-request-id`.
pub(crate) fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    let request_id = ulid::Ulid::new().to_string();
    let body = json!({
        "type": format!("urn:mostrador:problem:{code}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "code": code,
        "detail": detail,
        "request_id": request_id,
    });
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(mostrador::error::PROBLEM_JSON),
    );
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", id);
    }
    response
}
