//! `GET /v1/payments/search` and `GET /merchant_orders/search`, always within the caller's own
//! resources. Payments younger than `Config::search_lag` are not indexed yet, as in Mercado Pago.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::model::Payment;
use super::store::SharedState;
use super::wire::{ApiError, Collector};

/// Filters: `external_reference`, `status`, `id`, `payment_method_id`, `order.id`;
/// `sort` (`date_created`|`date_approved`|`date_last_updated`|`id`), `criteria` (`asc`|`desc`,
/// default `desc`), `limit` (default 30, at most 1000), `offset`.
pub async fn payments(
    State(shared): State<SharedState>,
    collector: Collector,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (limit, offset) = paging(&query)?;
    let indexed_before = OffsetDateTime::now_utc() - shared.config.search_lag;
    let store = shared.store();
    let mut hits: Vec<&Payment> = store
        .payments
        .values()
        .filter(|p| p.collector.id == collector.id && p.date_created <= indexed_before)
        .filter(|p| matches_filters(p, &query))
        .collect();
    let sort = query.get("sort").map_or("date_created", String::as_str);
    hits.sort_by_key(|p| match sort {
        "date_approved" => (p.date_approved.unwrap_or(p.date_created), p.id),
        "date_last_updated" => (p.date_last_updated, p.id),
        _ => (p.date_created, p.id),
    });
    if query.get("criteria").map_or("desc", String::as_str) != "asc" {
        hits.reverse();
    }
    let total = hits.len();
    let results: Vec<Value> = hits
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(Payment::to_json)
        .collect();
    Ok(Json(
        json!({"paging": {"total": total, "limit": limit, "offset": offset}, "results": results}),
    ))
}

fn matches_filters(p: &Payment, query: &HashMap<String, String>) -> bool {
    let eq = |name: &str, actual: Option<String>| {
        query
            .get(name)
            .is_none_or(|want| actual.as_deref() == Some(want))
    };
    eq(
        "external_reference",
        p.external_reference.as_str().map(str::to_owned),
    ) && eq("status", Some(p.status.clone()))
        && eq("id", Some(p.id.to_string()))
        && eq("payment_method_id", Some(p.payment_method_id.clone()))
        && eq("order.id", p.order_id.map(|id| id.to_string()))
}

fn paging(query: &HashMap<String, String>) -> Result<(usize, usize), ApiError> {
    let number = |name: &str, default: usize| -> Result<usize, ApiError> {
        match query.get(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| ApiError::bad_request(1, format!("Invalid {name}"))),
        }
    };
    Ok((number("limit", 30)?.min(1000), number("offset", 0)?))
}

/// Filters: `preference_id`, `external_reference`, `status`; answers
/// `{"elements": [...], "next_offset", "total"}`.
pub async fn merchant_orders(
    State(shared): State<SharedState>,
    collector: Collector,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (limit, offset) = paging(&query)?;
    let store = shared.store();
    let all: Vec<Value> = store
        .orders
        .values()
        .filter(|o| o.collector.id == collector.id)
        .map(|o| store.order_json(o))
        .filter(|o| {
            ["preference_id", "external_reference", "status"]
                .iter()
                .all(|name| {
                    query
                        .get(*name)
                        .is_none_or(|want| o.get(*name).and_then(Value::as_str) == Some(want))
                })
        })
        .collect();
    let total = all.len();
    let elements: Vec<Value> = all.into_iter().skip(offset).take(limit).collect();
    let next_offset = offset + elements.len();
    Ok(Json(
        json!({"elements": elements, "next_offset": next_offset, "total": total}),
    ))
}
