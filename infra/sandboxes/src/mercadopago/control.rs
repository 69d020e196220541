//! The control API under `/_sandbox/…` (no auth): what a buyer, Mercado Pago's back office or
//! a flaky network would do. The routes are listed in the module documentation of
//! [`super`](crate::mercadopago).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::checkout_pay::{self, Attempt};
use super::model::Payment;
use super::notify::{self, Which};
use super::payments::invalid_state;
use super::store::{Fault, SharedState};
use super::wire::{parse_body, ApiError};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/_sandbox/preferences/{id}/pay", post(pay_preference))
        .route("/_sandbox/preferences/{id}/expire", post(expire_preference))
        .route("/_sandbox/payments/{id}", get(show_payment))
        .route("/_sandbox/payments/{id}/approve", post(approve))
        .route("/_sandbox/payments/{id}/status", post(set_status))
        .route("/_sandbox/payments/{id}/chargeback", post(chargeback))
        .route("/_sandbox/payments/{id}/notify", post(notify_again))
        .route("/_sandbox/payments/{id}/stale", post(stale))
        .route("/_sandbox/faults", post(add_fault).delete(clear_faults))
        .route("/_sandbox/collectors/{id}", put(collector_settings))
        .route("/_sandbox/notifications", get(notifications))
        .route("/_sandbox/requests", get(requests))
        .route("/_sandbox/reset", post(reset))
}

fn text(body: &Value, field: &str) -> Option<String> {
    body.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

async fn pay_preference(
    State(shared): State<SharedState>,
    Path(id): Path<String>,
    raw: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&raw)?;
    let attempt = Attempt {
        holder: text(&body, "holder_name")
            .or_else(|| text(&body, "outcome"))
            .unwrap_or_else(|| "APRO".to_owned()),
        payer_email: text(&body, "payer_email"),
        payment_method_id: text(&body, "payment_method_id").unwrap_or_else(|| "visa".to_owned()),
        installments: body
            .get("installments")
            .and_then(Value::as_i64)
            .unwrap_or(1),
    };
    let (answer, deliveries) = checkout_pay::pay(&mut shared.store(), &id, attempt)?;
    notify::dispatch(&shared, deliveries);
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

async fn expire_preference(
    State(shared): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (order, deliveries) = checkout_pay::expire(&mut shared.store(), &id)?;
    notify::dispatch(&shared, deliveries);
    Ok(Json(order))
}

async fn show_payment(
    State(shared): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = shared.store();
    let id: i64 = id.parse().map_err(|_| ApiError::payment_not_found())?;
    store
        .payments
        .get(&id)
        .map(|p| Json(p.to_json()))
        .ok_or_else(ApiError::payment_not_found)
}

/// Applies a change to any collector's payment, then notifies `payment.updated`.
fn change_payment(
    shared: &SharedState,
    id: &str,
    change: impl FnOnce(&mut Payment, OffsetDateTime) -> Result<(), ApiError>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::payment_not_found())?;
    let (json, deliveries) = {
        let mut store = shared.store();
        let payment = store
            .payments
            .get_mut(&id)
            .ok_or_else(ApiError::payment_not_found)?;
        change(payment, OffsetDateTime::now_utc())?;
        let payment = store
            .payments
            .get(&id)
            .ok_or_else(ApiError::payment_not_found)?;
        (
            payment.to_json(),
            notify::payment_event(&store, payment, "payment.updated", Which::Both),
        )
    };
    notify::dispatch(shared, deliveries);
    Ok(Json(json))
}

/// A pending or in-process payment (e.g. `CONT`) is approved.
async fn approve(
    State(shared): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    change_payment(&shared, &id, |p, now| {
        if !matches!(p.status.as_str(), "pending" | "in_process") {
            return Err(invalid_state());
        }
        p.set_status("approved", "accredited", now);
        Ok(())
    })
}

/// Any status: `{"status": "in_mediation", "status_detail": "..."}`.
async fn set_status(
    State(shared): State<SharedState>,
    Path(id): Path<String>,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = parse_body(&raw)?;
    let status = text(&body, "status")
        .ok_or_else(|| ApiError::bad_request("status", "status is required"))?;
    let detail = text(&body, "status_detail").unwrap_or_default();
    change_payment(&shared, &id, |p, now| {
        p.set_status(&status, &detail, now);
        Ok(())
    })
}

/// An approved payment is charged back: `charged_back/<status_detail, default settled>`.
async fn chargeback(
    State(shared): State<SharedState>,
    Path(id): Path<String>,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = parse_body(&raw)?;
    let detail = text(&body, "status_detail").unwrap_or_else(|| "settled".to_owned());
    change_payment(&shared, &id, |p, now| {
        if !matches!(p.status.as_str(), "approved" | "in_mediation") {
            return Err(invalid_state());
        }
        p.set_status("charged_back", &detail, now);
        Ok(())
    })
}

/// Sends the payment's notifications again: `{"kind": "webhook"|"ipn"|"both", "times": n,
/// "action": "payment.updated"}`.
async fn notify_again(
    State(shared): State<SharedState>,
    Path(id): Path<String>,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = parse_body(&raw)?;
    let which = match text(&body, "kind").as_deref() {
        Some("webhook") => Which::Webhook,
        Some("ipn") => Which::Ipn,
        _ => Which::Both,
    };
    let times = body
        .get("times")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .min(100);
    let action = text(&body, "action").unwrap_or_else(|| "payment.updated".to_owned());
    let deliveries = {
        let store = shared.store();
        let id: i64 = id.parse().map_err(|_| ApiError::payment_not_found())?;
        let payment = store
            .payments
            .get(&id)
            .ok_or_else(ApiError::payment_not_found)?;
        let once = notify::payment_event(&store, payment, &action, which);
        (0..times).flat_map(|_| once.clone()).collect::<Vec<_>>()
    };
    let count = deliveries.len();
    notify::dispatch(&shared, deliveries);
    Ok(Json(json!({"scheduled": count})))
}

/// The next `reads` GETs of the payment answer its previous state (404 if it has none).
async fn stale(
    State(shared): State<SharedState>,
    Path(id): Path<String>,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = parse_body(&raw)?;
    let reads = body.get("reads").and_then(Value::as_u64).unwrap_or(1);
    let mut store = shared.store();
    let id: i64 = id.parse().map_err(|_| ApiError::payment_not_found())?;
    let payment = store
        .payments
        .get_mut(&id)
        .ok_or_else(ApiError::payment_not_found)?;
    payment.stale_reads = u32::try_from(reads).unwrap_or(u32::MAX);
    Ok(Json(
        json!({"payment_id": id, "stale_reads": payment.stale_reads}),
    ))
}

/// `{"count": n, "status": 503, "delay_ms": 0, "method": "GET", "path_prefix": "/v1/payments"}`
async fn add_fault(State(shared): State<SharedState>, raw: Bytes) -> Result<Json<Value>, ApiError> {
    let body = parse_body(&raw)?;
    let status = body
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok());
    if status.is_some_and(|s| StatusCode::from_u16(s).is_err()) {
        return Err(ApiError::bad_request(
            "status",
            "status must be an HTTP status code",
        ));
    }
    let fault = Fault {
        remaining: body
            .get("count")
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(1),
        status,
        delay: Duration::from_millis(body.get("delay_ms").and_then(Value::as_u64).unwrap_or(0)),
        method: text(&body, "method"),
        path_prefix: text(&body, "path_prefix"),
    };
    let mut store = shared.store();
    store.faults.push(fault);
    Ok(Json(json!({"faults": store.faults.len()})))
}

async fn clear_faults(State(shared): State<SharedState>) -> StatusCode {
    shared.store().faults.clear();
    StatusCode::NO_CONTENT
}

/// `{"webhook_secret": "...", "webhook_url": "..."}` for one collector.
async fn collector_settings(
    State(shared): State<SharedState>,
    Path(id): Path<i64>,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = parse_body(&raw)?;
    let mut store = shared.store();
    let settings = store.collectors.entry(id).or_default();
    if let Some(secret) = text(&body, "webhook_secret") {
        settings.webhook_secret = Some(secret);
    }
    if let Some(url) = text(&body, "webhook_url") {
        settings.webhook_url = Some(url);
    }
    Ok(Json(
        json!({"collector_id": id, "webhook_url": settings.webhook_url, "has_webhook_secret": settings.webhook_secret.is_some()}),
    ))
}

/// Every attempt, oldest first; filters `kind`, `topic`, `resource_id`.
async fn notifications(
    State(shared): State<SharedState>,
    Query(query): Query<HashMap<String, String>>,
) -> Json<Value> {
    let store = shared.store();
    let keep = |name: &str, actual: &str| query.get(name).is_none_or(|want| want == actual);
    let list: Vec<Value> = store
        .notifications
        .iter()
        .filter(|n| {
            keep("kind", n.kind) && keep("topic", n.topic) && keep("resource_id", &n.resource_id)
        })
        .filter_map(|n| serde_json::to_value(n).ok())
        .collect();
    Json(Value::Array(list))
}

/// `GET /_sandbox/requests?contains=…`: how many logged API requests (`METHOD /path?query`)
/// contain the text, e.g. `GET /v1/payments/123`.
async fn requests(
    State(shared): State<SharedState>,
    Query(query): Query<HashMap<String, String>>,
) -> Json<Value> {
    let store = shared.store();
    let want = query.get("contains").map(String::as_str).unwrap_or("");
    let count = store.requests.iter().filter(|r| r.contains(want)).count();
    Json(json!({"count": count}))
}

async fn reset(State(shared): State<SharedState>) -> StatusCode {
    shared.store().reset();
    StatusCode::NO_CONTENT
}
