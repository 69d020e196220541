//! `/v1/payments`: create (idempotent, outcome from the card token's holder name), get (with
//! armed stale reads), update (capture / cancel).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use time::OffsetDateTime;

use super::model::Payment;
use super::notify::{self, Which};
use super::payment_input::{self, NewPayment};
use super::store::{fingerprint, Replay, SharedState, Store};
use super::wire::{cents, idempotency_key, parse_body, ApiError, Collector};

/// Stores a new payment and returns its id.
pub fn insert_payment(
    store: &mut Store,
    collector: Collector,
    new: NewPayment,
    now: OffsetDateTime,
) -> i64 {
    let id = store.next_id();
    let authorize_only = new.outcome.status == "approved" && !new.capture;
    let (status, detail) = if authorize_only {
        ("authorized", "pending_capture")
    } else {
        (new.outcome.status, new.outcome.status_detail)
    };
    let payment = Payment {
        id,
        collector,
        status: status.to_owned(),
        status_detail: detail.to_owned(),
        amount: new.amount,
        refunded: 0,
        currency_id: new.currency_id,
        description: new.description,
        payment_method_id: new.payment_method_id,
        payment_type_id: new.payment_type_id,
        installments: new.installments,
        payer: new.payer,
        external_reference: new.external_reference,
        notification_url: new.notification_url,
        metadata: new.metadata,
        additional_info: new.additional_info,
        order_id: new.order_id,
        card: new.card,
        captured: !authorize_only,
        binary_mode: new.binary_mode,
        statement_descriptor: new.statement_descriptor,
        refunds: Vec::new(),
        date_created: now,
        date_approved: (status == "approved").then_some(now),
        date_last_updated: now,
        history: Vec::new(),
        stale_reads: 0,
    };
    store.payments.insert(id, payment);
    id
}

/// `POST /v1/payments`
pub async fn create(
    State(shared): State<SharedState>,
    collector: Collector,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers).ok_or_else(ApiError::idempotency_key_missing)?;
    let body = parse_body(&raw)?;
    let digest = fingerprint("payments", &body);
    let idem = (collector.id, "payments".to_owned(), key);
    let (response, deliveries) = {
        let mut store = shared.store();
        if let Some(replay) = store.idempotency.get(&idem) {
            return replay_response(replay, &digest, false);
        }
        let new = payment_input::from_request(&mut store, &shared.config, &body)?;
        let id = insert_payment(&mut store, collector, new, OffsetDateTime::now_utc());
        let payment = store
            .payments
            .get(&id)
            .ok_or_else(ApiError::payment_not_found)?;
        let json = payment.to_json();
        let deliveries = notify::payment_event(&store, payment, "payment.created", Which::Both);
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
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

/// The original answer for a repeated key and body; a reused key with another body is a 409.
/// Refund replays answer 200 with an empty body, as Mercado Pago does.
pub fn replay_response(
    replay: &Replay,
    digest: &str,
    empty_body: bool,
) -> Result<Response, ApiError> {
    if replay.fingerprint != digest {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "X-Idempotency-Key already used with a different request body",
        )
        .with_code("idempotency_key_reused"));
    }
    if empty_body {
        return Ok(StatusCode::OK.into_response());
    }
    let status = StatusCode::from_u16(replay.status).unwrap_or(StatusCode::CREATED);
    Ok((status, Json(replay.body.clone())).into_response())
}

/// `GET /v1/payments/{id}`
pub async fn get(
    State(shared): State<SharedState>,
    collector: Collector,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut store = shared.store();
    let payment = store.payment_mut(collector.id, &id)?;
    payment
        .read()
        .map(Json)
        .ok_or_else(ApiError::payment_not_found)
}

/// `PUT /v1/payments/{id}`: `{"capture": true[, "transaction_amount": x]}` or
/// `{"status": "cancelled"}`.
pub async fn update(
    State(shared): State<SharedState>,
    collector: Collector,
    Path(id): Path<String>,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = parse_body(&raw)?;
    let now = OffsetDateTime::now_utc();
    let (json, deliveries) = {
        let mut store = shared.store();
        let payment = store.payment_mut(collector.id, &id)?;
        let changed = if body.get("status").and_then(Value::as_str) == Some("cancelled") {
            if !matches!(
                payment.status.as_str(),
                "pending" | "in_process" | "authorized"
            ) {
                return Err(invalid_state());
            }
            payment.set_status("cancelled", "by_collector", now);
            true
        } else if body.get("capture").and_then(Value::as_bool) == Some(true)
            && payment.status == "authorized"
        {
            let amount = body
                .get("transaction_amount")
                .and_then(cents)
                .unwrap_or(payment.amount);
            if amount <= 0 || amount > payment.amount {
                return Err(ApiError::bad_request(4037, "Invalid transaction_amount"));
            }
            payment.set_status("approved", "accredited", now);
            payment.amount = amount;
            payment.captured = true;
            true
        } else {
            false
        };
        let (json, payment_id) = (payment.to_json(), payment.id);
        let deliveries = match store.payments.get(&payment_id) {
            Some(p) if changed => notify::payment_event(&store, p, "payment.updated", Which::Both),
            _ => Vec::new(),
        };
        (json, deliveries)
    };
    notify::dispatch(&shared, deliveries);
    Ok(Json(json))
}

/// 400 code 2063: the payment's state does not allow this.
pub fn invalid_state() -> ApiError {
    ApiError::bad_request(
        2063,
        "The action requested is not valid for the current payment state",
    )
}
