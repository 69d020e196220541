//! What the buyer does on Checkout Pro, driven by the control API: pay a preference (which
//! opens its merchant order on the first attempt) or let it expire.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::model::MerchantOrder;
use super::notify::{self, Delivery, Kind, Which};
use super::outcome;
use super::payment_input::{payer_json, payment_type, test_card, NewPayment};
use super::payments::insert_payment;
use super::store::Store;
use super::wire::{ApiError, Collector};

/// How the buyer pays.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// A test holder name (`APRO`, `FUND`, …) or a shortcut (`approve`, `reject`, `pending`).
    pub holder: String,
    pub payer_email: Option<String>,
    pub payment_method_id: String,
    pub installments: i64,
}

/// Pays a preference; returns the control API's answer and the notifications to send.
pub fn pay(
    store: &mut Store,
    preference_id: &str,
    attempt: Attempt,
) -> Result<(Value, Vec<Delivery>), ApiError> {
    let now = OffsetDateTime::now_utc();
    let preference = store
        .preferences
        .get(preference_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Preference not found").with_code("not_found"))?;
    if preference.expired {
        return Err(ApiError::bad_request(
            "expired",
            "The preference has expired",
        ));
    }
    let collector = preference.collector;
    let order_id = open_order(store, preference_id, now)?;
    let outcome = outcome::for_holder(outcome::holder_for_shortcut(&attempt.holder));
    let mut card = test_card(outcome);
    card["cardholder"]["name"] = Value::from(attempt.holder.clone());
    let email = attempt
        .payer_email
        .or_else(|| {
            preference
                .body
                .pointer("/payer/email")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "test_user_123@testuser.com".to_owned());
    let payer = payer_json(&json!({"email": email}));
    let first_item = preference
        .body
        .pointer("/items/0")
        .cloned()
        .unwrap_or(json!({}));
    let new = NewPayment {
        amount: preference.total,
        currency_id: first_item
            .get("currency_id")
            .and_then(Value::as_str)
            .unwrap_or("ARS")
            .to_owned(),
        description: first_item.get("title").cloned().unwrap_or(Value::Null),
        payment_type_id: payment_type(&attempt.payment_method_id).to_owned(),
        payment_method_id: attempt.payment_method_id,
        installments: attempt.installments.max(1),
        payer,
        external_reference: preference
            .body
            .get("external_reference")
            .cloned()
            .unwrap_or(Value::Null),
        notification_url: preference.str_field("notification_url"),
        metadata: preference
            .body
            .get("metadata")
            .cloned()
            .unwrap_or(json!({})),
        additional_info: preference.additional_info(),
        order_id: Some(order_id),
        card,
        outcome,
        capture: true,
        binary_mode: preference
            .body
            .get("binary_mode")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        statement_descriptor: preference
            .body
            .get("statement_descriptor")
            .cloned()
            .unwrap_or(Value::Null),
    };
    let payment_id = insert_payment(store, collector, new, now);
    if let Some(order) = store.orders.get_mut(&order_id) {
        order.payments.push(payment_id);
        order.last_updated = now;
    }
    let payment = store
        .payments
        .get(&payment_id)
        .ok_or_else(ApiError::payment_not_found)?;
    let deliveries = notify::payment_event(store, payment, "payment.created", Which::Both);
    let redirect = redirect_url(
        &preference.body,
        payment.status.as_str(),
        payment_id,
        order_id,
    );
    let auto_return = match preference.body.get("auto_return").and_then(Value::as_str) {
        Some("all") => true,
        Some("approved") => payment.status == "approved",
        _ => false,
    };
    let answer = json!({
        "payment": payment.to_json(),
        "merchant_order_id": order_id,
        "redirect_url": redirect,
        "auto_return": auto_return,
    });
    Ok((answer, deliveries))
}

/// The preference's merchant order, opened now if this is the first attempt.
fn open_order(
    store: &mut Store,
    preference_id: &str,
    now: OffsetDateTime,
) -> Result<i64, ApiError> {
    let preference = store
        .preferences
        .get(preference_id)
        .ok_or_else(|| ApiError::not_found("Preference not found"))?;
    if let Some(id) = preference.order_id {
        return Ok(id);
    }
    let order = MerchantOrder {
        id: 0,
        collector: preference.collector,
        preference_id: preference.id.clone(),
        external_reference: preference
            .body
            .get("external_reference")
            .cloned()
            .unwrap_or(Value::Null),
        notification_url: preference.str_field("notification_url"),
        items: preference.body.get("items").cloned().unwrap_or(json!([])),
        total: preference.total,
        expired: preference.expired,
        payments: Vec::new(),
        date_created: now,
        last_updated: now,
    };
    let id = store.next_id();
    store.orders.insert(id, MerchantOrder { id, ..order });
    if let Some(p) = store.preferences.get_mut(preference_id) {
        p.order_id = Some(id);
    }
    Ok(id)
}

/// Where the buyer lands after paying, with the query Checkout Pro appends.
fn redirect_url(preference: &Value, status: &str, payment_id: i64, order_id: i64) -> Value {
    let which = match status {
        "approved" => "success",
        "rejected" | "cancelled" => "failure",
        _ => "pending",
    };
    let Some(base) = preference
        .pointer(&format!("/back_urls/{which}"))
        .and_then(Value::as_str)
    else {
        return Value::Null;
    };
    let Ok(mut url) = reqwest::Url::parse(base) else {
        return Value::Null;
    };
    let reference = preference
        .get("external_reference")
        .and_then(Value::as_str)
        .unwrap_or("null");
    let preference_id = preference
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    url.query_pairs_mut()
        .append_pair("collection_id", &payment_id.to_string())
        .append_pair("collection_status", status)
        .append_pair("payment_id", &payment_id.to_string())
        .append_pair("status", status)
        .append_pair("external_reference", reference)
        .append_pair("payment_type", "credit_card")
        .append_pair("merchant_order_id", &order_id.to_string())
        .append_pair("preference_id", preference_id)
        .append_pair("site_id", "MLA")
        .append_pair("processing_mode", "aggregator")
        .append_pair("merchant_account_id", "null");
    Value::from(url.to_string())
}

/// Expires a preference: no more payments; its merchant order (opened now if none) turns
/// `expired` unless already paid, and a `merchant_order` IPN goes out.
pub fn expire(store: &mut Store, preference_id: &str) -> Result<(Value, Vec<Delivery>), ApiError> {
    let now = OffsetDateTime::now_utc();
    let preference = store
        .preferences
        .get_mut(preference_id)
        .ok_or_else(|| ApiError::not_found("Preference not found").with_code("not_found"))?;
    preference.expired = true;
    preference.body["expires"] = Value::from(true);
    preference.body["expiration_date_to"] = Value::from(super::wire::mp_date(now));
    let collector: Collector = preference.collector;
    let url = preference.str_field("notification_url");
    let order_id = open_order(store, preference_id, now)?;
    let order = store
        .orders
        .get_mut(&order_id)
        .ok_or_else(|| ApiError::not_found("Merchant Order not found"))?;
    order.expired = true;
    order.last_updated = now;
    let order = store
        .orders
        .get(&order_id)
        .ok_or_else(|| ApiError::not_found("Merchant Order not found"))?;
    let json = store.order_json(order);
    let deliveries = url
        .map(|url| Delivery {
            kind: Kind::Ipn,
            topic: "merchant_order",
            resource_id: order_id,
            collector,
            url,
            action: "merchant_order.updated".to_owned(),
        })
        .into_iter()
        .collect();
    Ok((json, deliveries))
}
