//! The receiver's HTTP surface: the control API and the recording fallback.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, Request, State as Extract};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;

use super::{now_rfc3339, RecordedRequest, ScriptedResponse, State};

/// Bodies above this are refused with 413 (webhook payloads are ~20 kB).
const MAX_BODY: usize = 16 * 1024 * 1024;
const DEFAULT_WAIT: Duration = Duration::from_secs(5);
const MAX_WAIT: Duration = Duration::from_secs(60);

type Shared = Extract<Arc<State>>;

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/_receiver/script", post(push_script).delete(drop_script))
        .route("/_receiver/requests", get(list).delete(clear))
        .route("/_receiver/requests/count", get(count))
        .route("/_receiver/reset", post(reset))
        .fallback(record)
        .with_state(state)
}

#[derive(Deserialize)]
struct ScriptBody {
    path: String,
    responses: Vec<ScriptedResponse>,
}

async fn push_script(Extract(state): Shared, Json(body): Json<ScriptBody>) -> Response {
    if !body.path.starts_with('/') || body.path.starts_with(super::CONTROL_PREFIX) {
        return control_error("`path` must start with `/` and not be under /_receiver/");
    }
    let queued = state.push_script(&body.path, body.responses);
    Json(json!({ "path": body.path, "queued": queued })).into_response()
}

#[derive(Deserialize)]
struct PathQuery {
    path: Option<String>,
    min: Option<usize>,
    timeout_ms: Option<u64>,
}

async fn drop_script(Extract(state): Shared, Query(q): Query<PathQuery>) -> StatusCode {
    let mut inner = state.lock();
    match q.path {
        Some(path) => {
            inner.scripts.remove(&path);
        }
        None => inner.scripts.clear(),
    }
    StatusCode::NO_CONTENT
}

async fn list(Extract(state): Shared, Query(q): Query<PathQuery>) -> Json<Vec<RecordedRequest>> {
    let path = q.path.as_deref();
    let requests = match q.min {
        Some(min) => {
            let timeout = q
                .timeout_ms
                .map_or(DEFAULT_WAIT, Duration::from_millis)
                .min(MAX_WAIT);
            state.wait_for(path, min, timeout).await
        }
        None => state.requests(path),
    };
    Json(requests)
}

async fn count(Extract(state): Shared, Query(q): Query<PathQuery>) -> Json<serde_json::Value> {
    let count = state.requests(q.path.as_deref()).len();
    Json(json!({ "count": count }))
}

async fn clear(Extract(state): Shared) -> StatusCode {
    state.lock().requests.clear();
    StatusCode::NO_CONTENT
}

async fn reset(Extract(state): Shared) -> StatusCode {
    let mut inner = state.lock();
    inner.requests.clear();
    inner.scripts.clear();
    StatusCode::NO_CONTENT
}

/// Records anything outside the control API and answers from the path's script.
async fn record(Extract(state): Shared, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "body too large or unreadable",
        )
            .into_response();
    };
    let path = parts.uri.path().to_owned();
    if path.starts_with(super::CONTROL_PREFIX) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "unknown control route" })),
        )
            .into_response();
    }
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let scripted = {
        let mut inner = state.lock();
        inner.next_seq += 1;
        let recorded = RecordedRequest {
            seq: inner.next_seq,
            method: parts.method.as_str().to_owned(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_owned),
            headers,
            body_base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
            body_text: String::from_utf8_lossy(&bytes).into_owned(),
            received_at: now_rfc3339(),
        };
        inner.requests.push(recorded);
        inner
            .scripts
            .get_mut(&path)
            .and_then(|queue| queue.pop_front())
    };
    state.recorded.notify_waiters();
    match scripted {
        Some(response) => {
            if response.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(response.delay_ms)).await;
            }
            render(response)
        }
        None => Json(json!({ "ok": true })).into_response(),
    }
}

fn render(scripted: ScriptedResponse) -> Response {
    let status = StatusCode::from_u16(scripted.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (body, content_type) = match (scripted.json, scripted.body) {
        (Some(json), _) => (Body::from(json.to_string()), Some("application/json")),
        (None, Some(text)) => (Body::from(text), None),
        (None, None) => (Body::empty(), None),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(content_type) = content_type {
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        );
    }
    for (name, value) in &scripted.headers {
        match (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            (Ok(name), Ok(value)) => {
                headers.insert(name, value);
            }
            _ => tracing::warn!(%name, "scripted header is not a valid HTTP header; skipped"),
        }
    }
    response
}

fn control_error(detail: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": detail }))).into_response()
}
