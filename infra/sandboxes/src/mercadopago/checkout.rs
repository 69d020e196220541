//! Checkout Pro: `/checkout/preferences`, `/merchant_orders/{id}` and `/v1/card_tokens`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use time::OffsetDateTime;

use super::model::{CardToken, Preference};
use super::payment_input::public_url;
use super::store::SharedState;
use super::wire::{cents, mp_date, parse_body, snake_case_keys, uuid_v4, ApiError, Collector};
use super::Config;

/// `POST /checkout/preferences` → 201 with `id = "<collector_id>-<uuid>"` and the echo.
pub async fn create_preference(
    State(shared): State<SharedState>,
    collector: Collector,
    raw: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&raw)?;
    let id = format!("{}-{}", collector.id, uuid_v4());
    let now = OffsetDateTime::now_utc();
    let (echo, total) = render_preference(&shared.config, &id, collector, body, now)?;
    let preference = Preference {
        id: id.clone(),
        collector,
        body: echo.clone(),
        total,
        expired: false,
        order_id: None,
    };
    shared.store().preferences.insert(id, preference);
    Ok((StatusCode::CREATED, Json(echo)).into_response())
}

/// `GET /checkout/preferences/{id}`
pub async fn get_preference(
    State(shared): State<SharedState>,
    collector: Collector,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = shared.store();
    Ok(Json(store.preference(collector.id, &id)?.body.clone()))
}

/// `PUT /checkout/preferences/{id}`: merges the given top-level fields and re-validates.
pub async fn update_preference(
    State(shared): State<SharedState>,
    collector: Collector,
    Path(id): Path<String>,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    let changes = parse_body(&raw)?;
    let mut store = shared.store();
    let current = store.preference(collector.id, &id)?.clone();
    let mut merged = current.body.clone();
    if let (Some(target), Some(source)) = (merged.as_object_mut(), changes.as_object()) {
        for (k, v) in source {
            target.insert(k.clone(), v.clone());
        }
    }
    let created = current.body.get("date_created").cloned();
    let (mut echo, total) = render_preference(
        &shared.config,
        &id,
        collector,
        merged,
        OffsetDateTime::now_utc(),
    )?;
    if let Some(created) = created {
        echo["date_created"] = created;
    }
    store.preferences.insert(
        id,
        Preference {
            body: echo.clone(),
            total,
            ..current
        },
    );
    Ok(Json(echo))
}

/// Validates a preference request and renders Mercado Pago's answer: the request echoed with
/// defaults filled in, plus ids and checkout URLs. Returns the echo and the items' total.
fn render_preference(
    config: &Config,
    id: &str,
    collector: Collector,
    body: Value,
    now: OffsetDateTime,
) -> Result<(Value, i64), ApiError> {
    let invalid_items =
        |message: &str| ApiError::new(StatusCode::BAD_REQUEST, "invalid_items", message);
    let items = body
        .get("items")
        .and_then(Value::as_array)
        .filter(|i| !i.is_empty());
    let items = items.ok_or_else(|| invalid_items("items needed"))?;
    let mut total = 0_i64;
    let mut rendered_items = Vec::with_capacity(items.len());
    for item in items {
        let unit = item.get("unit_price").and_then(cents).filter(|c| *c > 0);
        let unit = unit.ok_or_else(|| invalid_items("unit_price invalid"))?;
        let quantity = item
            .get("quantity")
            .and_then(Value::as_i64)
            .filter(|q| *q > 0);
        let quantity = quantity.ok_or_else(|| invalid_items("quantity invalid"))?;
        total += unit * quantity;
        let mut item = item.clone();
        if item.get("currency_id").and_then(Value::as_str).is_none() {
            item["currency_id"] = Value::from("ARS");
        }
        rendered_items.push(item);
    }
    let back_urls = body.get("back_urls").cloned().unwrap_or(json!({}));
    let auto_return = body
        .get("auto_return")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !auto_return.is_empty() {
        let success = back_urls
            .get("success")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !matches!(auto_return, "approved" | "all") || success.is_empty() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_auto_return",
                "auto_return invalid. back_url.success must be defined",
            ));
        }
    }
    let notification_url = public_url(config, body.get("notification_url"), "notification_url")?;
    for which in ["success", "pending", "failure"] {
        public_url(config, back_urls.get(which), &format!("back_urls.{which}"))?;
    }
    let defaults = json!({
        "additional_info": "", "auto_return": "", "binary_mode": false,
        "back_urls": {"failure": "", "pending": "", "success": ""},
        "expires": false, "expiration_date_from": null, "expiration_date_to": null,
        "external_reference": "", "marketplace": "NONE", "marketplace_fee": 0, "metadata": {},
        "payer": {"email": "", "name": "", "surname": "", "identification": {}, "phone": {}, "address": {}},
        "payment_methods": {"excluded_payment_methods": [], "excluded_payment_types": [], "installments": null},
        "shipments": {}, "site_id": "MLA", "statement_descriptor": null,
    });
    let mut echo: Map<String, Value> = defaults.as_object().cloned().unwrap_or_default();
    if let Some(given) = body.as_object() {
        for (k, v) in given {
            echo.insert(k.clone(), v.clone());
        }
    }
    echo.insert("items".into(), Value::Array(rendered_items));
    echo.insert(
        "metadata".into(),
        snake_case_keys(body.get("metadata").unwrap_or(&json!({}))),
    );
    echo.insert(
        "notification_url".into(),
        notification_url.map_or(Value::Null, Value::from),
    );
    echo.insert("id".into(), Value::from(id));
    echo.insert("collector_id".into(), Value::from(collector.id));
    echo.insert("client_id".into(), Value::from(collector.id.to_string()));
    echo.insert("operation_type".into(), Value::from("regular_payment"));
    echo.insert("date_created".into(), Value::from(mp_date(now)));
    echo.insert(
        "init_point".into(),
        format!("https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id={id}").into(),
    );
    echo.insert(
        "sandbox_init_point".into(),
        format!("https://sandbox.mercadopago.com.ar/checkout/v1/redirect?pref_id={id}").into(),
    );
    Ok((Value::Object(echo), total))
}

/// `GET /merchant_orders/{id}`
pub async fn get_merchant_order(
    State(shared): State<SharedState>,
    collector: Collector,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = shared.store();
    let order = store.order(collector.id, &id)?;
    Ok(Json(store.order_json(order)))
}

/// `POST /v1/card_tokens` (Bearer token or `?public_key=`). The token remembers
/// `cardholder.name`, which decides the outcome of the payment made with it.
pub async fn create_card_token(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    raw: Bytes,
) -> Result<Response, ApiError> {
    let live_mode = match query.get("public_key") {
        Some(key) if !key.is_empty() => key.starts_with("APP_USR-"),
        _ => Collector::from_parts(&headers, None)?.live_mode,
    };
    let body = parse_body(&raw)?;
    let number: String = body
        .get("card_number")
        .and_then(Value::as_str)
        .unwrap_or("5031755734530604")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if number.len() < 12 {
        return Err(ApiError::bad_request("E301", "Invalid card_number"));
    }
    let holder = body
        .pointer("/cardholder/name")
        .and_then(Value::as_str)
        .unwrap_or("APRO")
        .to_owned();
    let now = mp_date(OffsetDateTime::now_utc());
    let due = mp_date(OffsetDateTime::now_utc() + time::Duration::days(7));
    let id = hex::encode(rand::random::<[u8; 16]>());
    let token = json!({
        "id": id,
        "public_key": query.get("public_key"),
        "first_six_digits": number.get(..6),
        "last_four_digits": number.get(number.len() - 4..),
        "card_number_length": number.len(),
        "expiration_month": body.get("expiration_month").cloned().unwrap_or(json!(11)),
        "expiration_year": body.get("expiration_year").cloned().unwrap_or(json!(2030)),
        "security_code_length": body.get("security_code").and_then(Value::as_str).map_or(3, str::len),
        "cardholder": body.get("cardholder").cloned().unwrap_or(json!({"name": holder})),
        "status": "active",
        "luhn_validation": true,
        "live_mode": live_mode,
        "require_esc": false,
        "date_created": now,
        "date_last_updated": now,
        "date_due": due,
    });
    shared.store().card_tokens.insert(
        id,
        CardToken {
            holder_name: holder,
            body: token.clone(),
        },
    );
    Ok((StatusCode::CREATED, Json(token)).into_response())
}

/// `GET /v1/card_tokens/{id}`
pub async fn get_card_token(
    State(shared): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = shared.store();
    let token = store
        .card_tokens
        .get(&id)
        .ok_or_else(|| ApiError::not_found("Card Token not found").with_code(2006))?;
    Ok(Json(token.body.clone()))
}
