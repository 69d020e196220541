//! The answers an Idempotency-Key record gives a request that does not run: the stored first
//! answer (replayed), or a 409 (another request's key, or the first still running).

use crate::db;
use crate::error::ApiError;
use http::{HeaderValue, StatusCode};
use lambda_http::{Body, Response};

pub(super) fn attr<'a>(item: &'a db::Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(super) fn in_progress() -> ApiError {
    ApiError::conflict(
        "idempotency_request_in_progress",
        "a request with this Idempotency-Key is still being processed; retry shortly",
    )
    .with_header(http::header::RETRY_AFTER, "1")
}

pub(super) fn replay_or_conflict(old: &db::Item, fp: &str) -> Result<Response<Body>, ApiError> {
    if attr(old, "fingerprint") != Some(fp) {
        return Err(ApiError::conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request; use a new key",
        ));
    }
    if attr(old, "state") != Some("completed") {
        return Err(in_progress());
    }
    let status = old
        .get("status")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let body = attr(old, "body")
        .map(|b| Body::Text(b.to_owned()))
        .unwrap_or(Body::Empty);
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if let Some(Ok(ct)) = attr(old, "content_type").map(HeaderValue::from_str) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, ct);
    }
    // Stored as "" when the first answer had none: replay no header rather than an empty one.
    if let Some(Ok(location)) = attr(old, "location")
        .filter(|l| !l.is_empty())
        .map(HeaderValue::from_str)
    {
        response
            .headers_mut()
            .insert(http::header::LOCATION, location);
    }
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(response)
}
