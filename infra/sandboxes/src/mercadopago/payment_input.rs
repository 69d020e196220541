//! Reading a `POST /v1/payments` body into a [`NewPayment`]: validation with Mercado Pago's
//! error codes, the card token's outcome, and the shapes echoed back.

use serde_json::{json, Value};

use super::outcome::{self, Outcome};
use super::store::Store;
use super::wire::{amount_string, cents, random_id, snake_case_keys, ApiError};
use super::Config;

/// Everything a new payment needs, whichever way it was made (a `POST /v1/payments` body here,
/// a Checkout Pro payment in `checkout_pay.rs`); `payments::insert_payment` stores it.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub amount: i64,
    pub currency_id: String,
    pub description: Value,
    pub payment_method_id: String,
    pub payment_type_id: String,
    pub installments: i64,
    pub payer: Value,
    pub external_reference: Value,
    pub notification_url: Option<String>,
    pub metadata: Value,
    pub additional_info: Value,
    pub order_id: Option<i64>,
    pub card: Value,
    pub outcome: Outcome,
    pub capture: bool,
    pub binary_mode: bool,
    pub statement_descriptor: Value,
}

pub fn from_request(
    store: &mut Store,
    config: &Config,
    body: &Value,
) -> Result<NewPayment, ApiError> {
    let amount = body
        .get("transaction_amount")
        .and_then(cents)
        .filter(|c| *c > 0)
        .ok_or_else(|| ApiError::bad_request(4037, "Invalid transaction_amount"))?;
    let method = str_of(body, "payment_method_id")
        .ok_or_else(|| ApiError::bad_request(2131, "Cannot infer Payment Method"))?;
    let email = body
        .pointer("/payer/email")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !email.contains('@') {
        return Err(ApiError::bad_request(
            4050,
            "payer.email must be a valid email",
        ));
    }
    let token = str_of(body, "token");
    let payment_type_id = payment_type(&method);
    let (outcome, card) = match (&token, payment_type_id) {
        (Some(token), _) => card_outcome(store, token)?,
        (None, "credit_card" | "debit_card") => return Err(card_token_not_found()),
        (None, "bank_transfer") => (
            Outcome {
                status: "pending",
                status_detail: "pending_waiting_transfer",
            },
            json!({}),
        ),
        (None, "ticket") => (
            Outcome {
                status: "pending",
                status_detail: "pending_waiting_payment",
            },
            json!({}),
        ),
        (None, _) => (outcome::APPROVED, json!({})),
    };
    let payer = body.get("payer").cloned().unwrap_or(json!({}));
    Ok(NewPayment {
        amount,
        currency_id: "ARS".to_owned(),
        description: body.get("description").cloned().unwrap_or(Value::Null),
        payment_method_id: method,
        payment_type_id: payment_type_id.to_owned(),
        installments: body
            .get("installments")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(1),
        payer: payer_json(&payer),
        external_reference: body
            .get("external_reference")
            .cloned()
            .unwrap_or(Value::Null),
        notification_url: public_url(config, body.get("notification_url"), "notification_url")?,
        metadata: snake_case_keys(body.get("metadata").unwrap_or(&json!({}))),
        additional_info: additional_info(body.get("additional_info")),
        order_id: None,
        card,
        outcome,
        capture: body.get("capture").and_then(Value::as_bool).unwrap_or(true),
        binary_mode: body
            .get("binary_mode")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        statement_descriptor: body
            .get("statement_descriptor")
            .cloned()
            .unwrap_or(Value::Null),
    })
}

fn str_of(body: &Value, field: &str) -> Option<String> {
    body.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

fn card_token_not_found() -> ApiError {
    ApiError::bad_request(2006, "Card Token not found")
}

/// The outcome and `card` of a token: one of ours (single use), or a foreign string naming a
/// test holder.
fn card_outcome(store: &mut Store, token: &str) -> Result<(Outcome, Value), ApiError> {
    if let Some(known) = store.card_tokens.get(token) {
        if !store.used_tokens.insert(token.to_owned()) {
            return Err(ApiError::bad_request(3003, "Invalid card_token_id"));
        }
        let card = json!({
            "id": null,
            "first_six_digits": known.body.get("first_six_digits"),
            "last_four_digits": known.body.get("last_four_digits"),
            "expiration_month": known.body.get("expiration_month"),
            "expiration_year": known.body.get("expiration_year"),
            "cardholder": known.body.get("cardholder"),
            "date_created": known.body.get("date_created"),
            "date_last_updated": known.body.get("date_last_updated"),
        });
        return Ok((outcome::for_holder(&known.holder_name), card));
    }
    let outcome = outcome::in_token(token).ok_or_else(card_token_not_found)?;
    Ok((outcome, test_card(outcome)))
}

/// The `card` of a payment made without a real token.
pub fn test_card(outcome: Outcome) -> Value {
    let holder = match outcome.status_detail {
        "accredited" => "APRO",
        "pending_contingency" => "CONT",
        "cc_rejected_insufficient_amount" => "FUND",
        "cc_rejected_bad_filled_security_code" => "SECU",
        "cc_rejected_bad_filled_date" => "EXPI",
        "cc_rejected_bad_filled_other" => "FORM",
        "cc_rejected_call_for_authorize" => "CALL",
        _ => "OTHE",
    };
    json!({
        "id": null, "first_six_digits": "503175", "last_four_digits": "0604",
        "expiration_month": 11, "expiration_year": 2030,
        "cardholder": {"name": holder, "identification": {"type": "DNI", "number": "12345678"}},
    })
}

pub fn payment_type(method: &str) -> &'static str {
    match method {
        "account_money" => "account_money",
        "pix" => "bank_transfer",
        "bolbradesco" | "pec" | "rapipago" | "pagofacil" | "abitab" | "redpagos" | "oxxo" => {
            "ticket"
        }
        "maestro" | "debvisa" | "debmaster" | "debcabal" => "debit_card",
        _ => "credit_card",
    }
}

/// The payer as Mercado Pago returns it: its own string id plus what was sent.
pub fn payer_json(payer: &Value) -> Value {
    let mut out = json!({
        "id": random_id().to_string(), "type": null, "entity_type": null,
        "email": null, "identification": {"type": null, "number": null},
        "first_name": null, "last_name": null, "phone": {"area_code": null, "number": null, "extension": null},
    });
    if let (Some(target), Some(source)) = (out.as_object_mut(), payer.as_object()) {
        for (k, v) in source {
            if k != "id" {
                target.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// `additional_info` with item quantities and prices turned into strings.
fn additional_info(info: Option<&Value>) -> Value {
    let mut info = info.cloned().filter(Value::is_object).unwrap_or(json!({}));
    if let Some(items) = info.get_mut("items").and_then(Value::as_array_mut) {
        for item in items.iter_mut() {
            if let Some(unit) = item.get("unit_price").and_then(cents) {
                item["unit_price"] = Value::from(amount_string(unit));
            }
            if let Some(q) = item
                .get("quantity")
                .filter(|q| q.is_number())
                .map(ToString::to_string)
            {
                item["quantity"] = Value::from(q);
            }
        }
    }
    info
}

/// Validates a callback URL. Mercado Pago refuses non-public hosts; the sandbox allows loopback
/// and private ones unless `Config::allow_loopback_urls` is off.
pub fn public_url(
    config: &Config,
    value: Option<&Value>,
    field: &str,
) -> Result<Option<String>, ApiError> {
    let Some(text) = value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return Ok(None);
    };
    let invalid = || ApiError::bad_request(4020, format!("{field} attribute must be url valid"));
    let url = reqwest::Url::parse(text).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid());
    }
    if !config.allow_loopback_urls && !is_public(&url) {
        return Err(invalid());
    }
    Ok(Some(text.to_owned()))
}

fn is_public(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            !(ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified())
        }
        Ok(std::net::IpAddr::V6(ip)) => !(ip.is_loopback() || ip.is_unspecified()),
        Err(_) => {
            !(host == "localhost" || host.ends_with(".localhost") || host.ends_with(".local"))
        }
    }
}
