use super::ApiRequest;
use crate::error::ApiError;
use crate::telemetry::error_chain;
use crate::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;
use http::{HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;
use std::panic::AssertUnwindSafe;
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// An HTTP function's entry point: one per Lambda, dispatching on the route key.
pub type HttpHandler =
    fn(&'static AppState, ApiRequest) -> BoxFuture<'static, Result<Response<Body>, ApiError>>;

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Response<Body>, ApiError> {
    let body = serde_json::to_string(value).map_err(ApiError::internal)?;
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

pub fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// Runs `handler` for one gateway request and always produces a response: errors become
/// problem+json, a panic becomes an opaque 500 (logged), every response carries the request id.
pub async fn respond(
    state: &'static AppState,
    req: lambda_http::Request,
    handler: HttpHandler,
) -> Response<Body> {
    let req = ApiRequest::from_lambda(req);
    let request_id = req.request_id.clone();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        route = %req.route_key,
        project_id = tracing::field::Empty,
    );
    let started = Instant::now();
    let outcome = AssertUnwindSafe(handler(state, req).instrument(span.clone()))
        .catch_unwind()
        .await;
    let mut response = match outcome {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => {
            if err.status().is_server_error() {
                let cause = err
                    .source_error()
                    .map(|s| error_chain(s as &(dyn std::error::Error + 'static)))
                    .unwrap_or_default();
                span.in_scope(
                    || tracing::error!(code = err.code(), cause = %cause, "request failed"),
                );
            }
            err.into_response(&request_id)
        }
        Err(_) => {
            span.in_scope(|| tracing::error!("handler panicked"));
            ApiError::internal(std::io::Error::other("handler panicked")).into_response(&request_id)
        }
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_millis() as u64;
    span.in_scope(|| tracing::info!(status, latency_ms, "request completed"));
    response
}
