//! Mercado Pago as a [`PaymentProvider`]: Checkout Pro preferences, card payments, payment
//! reads, search, merchant orders and refunds, over its REST API with the project's token.
//! Everything Mercado Pago means by its own words is read here: its status tables become our
//! [`Status`] and [`RefundStatus`], a merchant order becomes its payment ids
//! ([`PaymentProvider::notice_payments`]), and its "nothing left to refund" causes become
//! [`ProviderError::NothingToRefund`].

use super::*;
use crate::payments::money;
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::time::Duration;

/// The provider name stored on payments (and in the secret's path, `credentials::Provider`).
pub const NAME: &str = "mercadopago";

/// Rejection causes of a refund POST meaning the payment has nothing (or less) left to refund.
const NOTHING_TO_REFUND: [&str; 2] = ["2017", "2063"];

/// Mercado Pago's payment `status`/`status_detail` per the reference table; `None` for an
/// unknown status.
fn normalise(mp_status: &str, detail: &str, refunded_minor: u64) -> Option<Status> {
    Some(match mp_status {
        "pending" | "in_process" | "authorized" => Status::Pending,
        "approved" if detail == "partially_refunded" || refunded_minor > 0 => {
            Status::PartiallyRefunded
        }
        "approved" => Status::Paid,
        "in_mediation" => Status::Disputed,
        "rejected" => Status::Failed,
        "cancelled" => Status::Cancelled,
        "refunded" => Status::Refunded,
        "charged_back" => Status::ChargedBack,
        _ => return None,
    })
}

/// Mercado Pago's refund `status`; one we do not know is kept pending (only `pending` ever
/// settles, so a later known status still applies).
fn refund_status(raw: &str) -> RefundStatus {
    match raw {
        "approved" => RefundStatus::Approved,
        "rejected" => RefundStatus::Rejected,
        "cancelled" | "canceled" => RefundStatus::Cancelled,
        "in_process" | "pending" | "authorized" => RefundStatus::Pending,
        other => {
            tracing::warn!(provider_status = %other, "unknown refund status: kept pending");
            RefundStatus::Pending
        }
    }
}

/// A project's access token; `Debug` prints `***`.
#[derive(Clone)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(token: &str) -> Self {
        Self(token.trim().to_owned())
    }

    /// The seller's user id: the token's last `-` segment (it equals `collector_id`).
    pub fn collector_id(&self) -> Option<String> {
        self.0
            .rsplit('-')
            .next()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned)
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

pub struct MercadoPago {
    base_url: String,
    token: AccessToken,
    http: reqwest::Client,
}

fn http_client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(8))
                .connect_timeout(Duration::from_secs(3))
                .no_proxy()
                .build()
                .unwrap_or_default()
        })
        .clone()
}

#[derive(Serialize)]
struct PrefItem<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    title: &'a str,
    quantity: u32,
    unit_price: Box<RawValue>,
    currency_id: &'static str,
}

fn amount(minor: u64, currency: Currency) -> ProviderResult<Box<RawValue>> {
    money::to_json_number(minor, currency).map_err(|e| ProviderError::Protocol(e.to_string()))
}

impl MercadoPago {
    pub fn new(base_url: &str, token: AccessToken) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            http: http_client(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
        idempotency_key: Option<&str>,
    ) -> ProviderResult<Value> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.token.0)
            .header("accept", "application/json");
        if let Some(key) = idempotency_key {
            req = req.header("x-idempotency-key", key);
        }
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        let response = req
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| ProviderError::Unavailable(e.without_url().to_string()))?;
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        // Retry decision: every failure after the request was written (a reset, a timeout, a
        // 5xx) is `Unavailable` and may be retried, unlike SES and WhatsApp sends (see
        // `notifications::transport`). That is safe here because every POST we make (preference,
        // payment, refund) carries `X-Idempotency-Key`: Mercado Pago answers a replay with the
        // first result instead of acting twice. GETs are read-only.
        match status {
            200..=299 => Ok(value),
            401 | 403 => Err(ProviderError::Unauthorized),
            404 => Err(ProviderError::NotFound),
            408 | 429 | 500..=599 => Err(ProviderError::Unavailable(format!("HTTP {status}"))),
            _ => Err(ProviderError::Rejected {
                status,
                code: value["cause"][0]["code"]
                    .as_i64()
                    .map(|c| c.to_string())
                    .or_else(|| value["cause"][0]["code"].as_str().map(str::to_owned))
                    .unwrap_or_default(),
                message: value["message"]
                    .as_str()
                    .unwrap_or("rejected")
                    .chars()
                    .take(200)
                    .collect(),
            }),
        }
    }
}

/// Mercado Pago ids are int64 in JSON but strings in places: accept both.
fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

pub fn parse_payment(v: &Value) -> ProviderResult<ProviderPayment> {
    let id = id_of(&v["id"]).ok_or_else(|| ProviderError::Protocol("payment without id".into()))?;
    let currency = v["currency_id"].as_str().and_then(Currency::parse);
    let minor = |field: &str| -> ProviderResult<u64> {
        let Some(c) = currency else { return Ok(0) };
        money::from_json(&v[field], c).map_err(|e| ProviderError::Protocol(format!("{field}: {e}")))
    };
    let raw_status = v["status"].as_str().unwrap_or_default().to_owned();
    let status_detail = v["status_detail"].as_str().unwrap_or_default().to_owned();
    let refunded_minor = minor("transaction_amount_refunded")?;
    Ok(ProviderPayment {
        id,
        status: normalise(&raw_status, &status_detail, refunded_minor),
        raw_status,
        status_detail,
        amount_minor: minor("transaction_amount")?,
        refunded_minor,
        currency,
        external_reference: v["external_reference"].as_str().map(str::to_owned),
        account_id: id_of(&v["collector_id"]),
        refunds: match (currency, v["refunds"].as_array()) {
            (Some(c), Some(refunds)) => refunds
                .iter()
                .map(|r| parse_refund(r, c))
                .collect::<ProviderResult<Vec<_>>>()?,
            _ => Vec::new(),
        },
    })
}

/// One entry of a payment's `refunds` (or a refund POST's answer); an empty answer (a replay)
/// has no id.
fn parse_refund(v: &Value, currency: Currency) -> ProviderResult<ProviderRefund> {
    Ok(ProviderRefund {
        id: id_of(&v["id"]).unwrap_or_default(),
        amount_minor: match &v["amount"] {
            Value::Null => 0,
            a => money::from_json(a, currency)
                .map_err(|e| ProviderError::Protocol(format!("refund amount: {e}")))?,
        },
        status: refund_status(v["status"].as_str().unwrap_or("approved")),
        created_at: v["date_created"].as_str().and_then(|d| {
            time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc3339).ok()
        }),
    })
}

impl PaymentProvider for MercadoPago {
    fn name(&self) -> &'static str {
        NAME
    }

    fn account_id(&self) -> Option<String> {
        self.token.collector_id()
    }

    fn create_checkout<'a>(&'a self, p: &'a NewPayment) -> BoxFuture<'a, ProviderResult<Checkout>> {
        async move {
            let items = p
                .items
                .iter()
                .map(|i| Ok(PrefItem {
                    id: i.id.as_deref(),
                    title: &i.title,
                    quantity: i.quantity,
                    unit_price: amount(i.unit_amount, p.currency)?,
                    currency_id: p.currency.code(),
                }))
                .collect::<ProviderResult<Vec<_>>>()?;
            let mut body = serde_json::json!({
                "external_reference": p.reference,
                "notification_url": p.notification_url,
                "metadata": {"mostrador_payment_id": p.reference, "order_id": p.order_id},
            });
            if let Some(email) = &p.payer_email {
                body["payer"] = serde_json::json!({"email": email});
            }
            if let Some(b) = &p.back_urls {
                body["back_urls"] = serde_json::json!({"success": b.success, "pending": b.pending, "failure": b.failure});
                if b.success.is_some() {
                    body["auto_return"] = Value::from("approved");
                }
            }
            // Items carry raw decimal amounts, so they are spliced in as text.
            let items = serde_json::to_string(&items).map_err(|e| ProviderError::Protocol(e.to_string()))?;
            let mut text = body.to_string();
            text.pop();
            text.push_str(&format!(",\"items\":{items}}}"));
            let v = self.call(reqwest::Method::POST, "/checkout/preferences", Some(text), Some(&p.idempotency_key)).await?;
            let checkout_id = v["id"].as_str().map(str::to_owned).ok_or_else(|| ProviderError::Protocol("preference without id".into()))?;
            let redirect_url = v["init_point"].as_str().map(str::to_owned).ok_or_else(|| ProviderError::Protocol("preference without init_point".into()))?;
            Ok(Checkout { checkout_id, redirect_url })
        }
        .boxed()
    }

    fn charge_card<'a>(
        &'a self,
        p: &'a NewPayment,
        card: &'a CardCharge,
    ) -> BoxFuture<'a, ProviderResult<ProviderPayment>> {
        async move {
            #[derive(Serialize)]
            struct Body<'b> {
                transaction_amount: Box<RawValue>,
                token: &'b str,
                description: &'b str,
                installments: u32,
                #[serde(skip_serializing_if = "Option::is_none")]
                payment_method_id: Option<&'b str>,
                payer: Value,
                external_reference: &'b str,
                notification_url: &'b str,
                metadata: Value,
            }
            let body = Body {
                transaction_amount: amount(p.amount_minor, p.currency)?,
                token: &card.token,
                description: &p.description,
                installments: card.installments,
                payment_method_id: card.payment_method_id.as_deref(),
                payer: serde_json::json!({"email": p.payer_email}),
                external_reference: &p.reference,
                notification_url: &p.notification_url,
                metadata: serde_json::json!({"mostrador_payment_id": p.reference, "order_id": p.order_id}),
            };
            let text = serde_json::to_string(&body).map_err(|e| ProviderError::Protocol(e.to_string()))?;
            let v = self.call(reqwest::Method::POST, "/v1/payments", Some(text), Some(&p.idempotency_key)).await?;
            parse_payment(&v)
        }
        .boxed()
    }

    fn fetch_payment<'a>(&'a self, id: &'a str) -> BoxFuture<'a, ProviderResult<ProviderPayment>> {
        async move {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ProviderError::NotFound);
            }
            let v = self
                .call(
                    reqwest::Method::GET,
                    &format!("/v1/payments/{id}"),
                    None,
                    None,
                )
                .await?;
            parse_payment(&v)
        }
        .boxed()
    }

    fn find_payments<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, ProviderResult<Vec<String>>> {
        async move {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("external_reference", reference)
                .append_pair("sort", "date_created")
                .append_pair("criteria", "desc")
                .append_pair("limit", "30")
                .finish();
            let v = self
                .call(
                    reqwest::Method::GET,
                    &format!("/v1/payments/search?{q}"),
                    None,
                    None,
                )
                .await?;
            Ok(v["results"]
                .as_array()
                .map(|r| r.iter().filter_map(|p| id_of(&p["id"])).collect())
                .unwrap_or_default())
        }
        .boxed()
    }

    /// A notice is a merchant order (topic `merchant_order`): its payments.
    fn notice_payments<'a>(
        &'a self,
        order_id: &'a str,
    ) -> BoxFuture<'a, ProviderResult<Vec<String>>> {
        async move {
            if order_id.is_empty() || !order_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ProviderError::NotFound);
            }
            let v = self
                .call(
                    reqwest::Method::GET,
                    &format!("/merchant_orders/{order_id}"),
                    None,
                    None,
                )
                .await?;
            Ok(v["payments"]
                .as_array()
                .map(|r| r.iter().filter_map(|p| id_of(&p["id"])).collect())
                .unwrap_or_default())
        }
        .boxed()
    }

    fn refund<'a>(
        &'a self,
        payment_id: &'a str,
        amount_minor: Option<u64>,
        currency: Currency,
        key: &'a str,
    ) -> BoxFuture<'a, ProviderResult<ProviderRefund>> {
        async move {
            let body = match amount_minor {
                Some(m) => format!("{{\"amount\":{}}}", money::to_decimal(m, currency)),
                None => "{}".to_owned(),
            };
            let v = match self
                .call(
                    reqwest::Method::POST,
                    &format!("/v1/payments/{payment_id}/refunds"),
                    Some(body),
                    Some(key),
                )
                .await
            {
                Err(ProviderError::Rejected { code, .. })
                    if NOTHING_TO_REFUND.contains(&code.as_str()) =>
                {
                    return Err(ProviderError::NothingToRefund)
                }
                other => other?,
            };
            // A replayed refund answers 200 with an empty body: the original refund stands.
            let mut refund = parse_refund(&v, currency)?;
            if v["amount"].is_null() {
                refund.amount_minor = amount_minor.unwrap_or(0);
            }
            Ok(refund)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_comes_from_the_token_and_debug_hides_it() {
        let t = AccessToken::new("TEST-123-010203-abc-987654");
        assert_eq!(t.collector_id().as_deref(), Some("987654"));
        assert_eq!(format!("{t:?}"), "***");
        assert_eq!(AccessToken::new("garbage-").collector_id(), None);
    }

    #[test]
    fn parses_payments_with_string_or_number_ids_and_decimal_amounts() {
        let v = serde_json::json!({"id": 42, "status": "approved", "status_detail": "partially_refunded",
            "transaction_amount": 100.5, "transaction_amount_refunded": 0.5, "currency_id": "ARS",
            "external_reference": "pay_x", "collector_id": 987,
            "refunds": [{"id": 77, "amount": 0.5, "status": "approved", "date_created": "2026-03-01T10:00:00.000-04:00"}]});
        let p = parse_payment(&v).unwrap();
        assert_eq!(
            (p.id.as_str(), p.amount_minor, p.refunded_minor),
            ("42", 10050, 50)
        );
        assert_eq!(p.account_id.as_deref(), Some("987"));
        assert_eq!(p.status, Some(Status::PartiallyRefunded));
        let r = &p.refunds[0];
        assert_eq!(
            (r.id.as_str(), r.amount_minor, r.status),
            ("77", 50, RefundStatus::Approved)
        );
        assert_eq!(
            r.created_at.map(|t| t.unix_timestamp()),
            Some(1_772_373_600)
        );
    }

    #[test]
    fn reference_table() {
        assert_eq!(
            normalise("in_process", "pending_contingency", 0),
            Some(Status::Pending)
        );
        assert_eq!(
            normalise("authorized", "pending_capture", 0),
            Some(Status::Pending)
        );
        assert_eq!(normalise("approved", "accredited", 0), Some(Status::Paid));
        assert_eq!(
            normalise("approved", "partially_refunded", 500),
            Some(Status::PartiallyRefunded)
        );
        assert_eq!(normalise("in_mediation", "", 0), Some(Status::Disputed));
        assert_eq!(
            normalise("rejected", "cc_rejected_other_reason", 0),
            Some(Status::Failed)
        );
        assert_eq!(
            normalise("cancelled", "expired", 0),
            Some(Status::Cancelled)
        );
        assert_eq!(
            normalise("refunded", "refunded", 1000),
            Some(Status::Refunded)
        );
        assert_eq!(
            normalise("charged_back", "settled", 0),
            Some(Status::ChargedBack)
        );
        assert_eq!(normalise("teleported", "", 0), None);
    }

    #[test]
    fn provider_statuses_normalise_to_four() {
        for (raw, want) in [
            ("approved", "approved"),
            ("in_process", "pending"),
            ("authorized", "pending"),
            ("rejected", "rejected"),
            ("cancelled", "cancelled"),
            ("something_new", "pending"),
        ] {
            assert_eq!(refund_status(raw).as_str(), want, "{raw}");
        }
        assert_eq!(
            serde_json::to_value(RefundStatus::Approved).unwrap(),
            "approved"
        );
    }
}
