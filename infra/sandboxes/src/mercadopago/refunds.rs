//! `/v1/payments/{id}/refunds`: partial (`{"amount": x}`) and total (no body) refunds.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use time::OffsetDateTime;

use super::model::Refund;
use super::notify::{self, Which};
use super::payments::{invalid_state, replay_response};
use super::store::{fingerprint, Replay, SharedState};
use super::wire::{cents, idempotency_key, parse_body, ApiError, Collector};

/// `POST /v1/payments/{id}/refunds`. Partial refunds leave the payment
/// `approved/partially_refunded`; reaching the total makes it `refunded/refunded`.
pub async fn create(
    State(shared): State<SharedState>,
    collector: Collector,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers).ok_or_else(ApiError::idempotency_key_missing)?;
    let body = parse_body(&raw)?;
    let digest = fingerprint(&format!("refund:{id}"), &body);
    let idem = (collector.id, "refunds".to_owned(), key);
    let now = OffsetDateTime::now_utc();
    let (json, deliveries) = {
        let mut store = shared.store();
        if let Some(replay) = store.idempotency.get(&idem) {
            return replay_response(replay, &digest, true);
        }
        let refund_id = store.next_id();
        let payment = store.payment_mut(collector.id, &id)?;
        let refundable = payment.refundable();
        if refundable <= 0 {
            return Err(invalid_state());
        }
        let amount = match body.get("amount").filter(|v| !v.is_null()) {
            Some(value) => cents(value).filter(|c| *c > 0).ok_or_else(invalid_amount)?,
            None => refundable,
        };
        if amount > refundable {
            return Err(invalid_amount());
        }
        let refund = Refund {
            id: refund_id,
            payment_id: payment.id,
            amount,
            collector_id: collector.id,
            date_created: now,
        };
        let json = refund.to_json();
        payment.begin_change(now);
        payment.refunded += amount;
        payment.refunds.push(refund);
        let (status, detail) = if payment.refunded >= payment.amount {
            ("refunded", "refunded")
        } else {
            ("approved", "partially_refunded")
        };
        payment.status = status.to_owned();
        payment.status_detail = detail.to_owned();
        let payment_id = payment.id;
        let deliveries = match store.payments.get(&payment_id) {
            Some(p) => notify::payment_event(&store, p, "payment.updated", Which::Both),
            None => Vec::new(),
        };
        store.idempotency.insert(
            idem,
            Replay {
                fingerprint: digest,
                status: 201,
                body: json.clone(),
            },
        );
        (json, deliveries)
    };
    notify::dispatch(&shared, deliveries);
    Ok((StatusCode::CREATED, Json(json)).into_response())
}

/// 400 code 2017: more than what is left to refund, or not a positive amount.
fn invalid_amount() -> ApiError {
    ApiError::bad_request(
        2017,
        "Invalid refund amount: it must be positive and not exceed the refundable amount",
    )
}

/// `GET /v1/payments/{id}/refunds`
pub async fn list(
    State(shared): State<SharedState>,
    collector: Collector,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut store = shared.store();
    let payment = store.payment_mut(collector.id, &id)?;
    Ok(Json(Value::Array(
        payment.refunds.iter().map(Refund::to_json).collect(),
    )))
}

/// `GET /v1/payments/{id}/refunds/{refund_id}`
pub async fn get(
    State(shared): State<SharedState>,
    collector: Collector,
    Path((id, refund_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let mut store = shared.store();
    let payment = store.payment_mut(collector.id, &id)?;
    payment
        .refunds
        .iter()
        .find(|r| r.id.to_string() == refund_id)
        .map(|r| Json(r.to_json()))
        .ok_or_else(|| ApiError::not_found("Refund not found").with_code(2032))
}
