//! The payment resource: what is stored, what clients send, what they get back.

use super::money::{self, Currency};
use super::status::{Attempts, Status};
use crate::error::{ApiError, FieldError};
use crate::ids::{PaymentId, ProjectId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = PaymentMode)]
pub enum Mode {
    /// Hosted checkout (Mercado Pago Checkout Pro preference); the buyer is redirected.
    Checkout,
    /// A card token charged right away.
    Direct,
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub id: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 256,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub title: String,
    #[schema(minimum = 1, maximum = 10000)]
    pub quantity: u32,
    /// Unit price in minor units of the payment's currency.
    pub unit_amount: u64,
}

/// `checkout` only: where the buyer returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackUrls {
    pub success: Option<String>,
    pub pending: Option<String>,
    pub failure: Option<String>,
}

/// `POST /v1/payments`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"order_id": "A-1001", "amount": 125000, "currency": "ARS", "mode": "checkout",
    "items": [{"title": "Mate", "quantity": 1, "unit_amount": 125000}],
    "back_urls": {"success": "https://shop.example.com/ok"}}))]
pub struct CreatePayment {
    /// Your order id (alias `external_reference`)
    #[serde(alias = "external_reference")]
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub order_id: String,
    /// Minor units (centavos)
    #[schema(minimum = 1, maximum = 1000000000000_u64)]
    pub amount: u64,
    #[schema(value_type = Currency)]
    pub currency: String,
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 256,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(max_items = 100, required = false)]
    pub items: Vec<LineItem>,
    #[serde(default)]
    pub payer: Option<Payer>,
    pub mode: Mode,
    /// `direct` only: the card token.
    #[serde(default)]
    pub card_token: Option<String>,
    /// `direct` only
    #[serde(default)]
    #[schema(minimum = 1, maximum = 48)]
    pub installments: Option<u32>,
    /// `direct` only
    #[serde(default)]
    pub payment_method_id: Option<String>,
    /// `checkout` only: where the buyer returns.
    #[serde(default)]
    pub back_urls: Option<BackUrls>,
}

/// `direct` only: the buyer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Payer {
    pub email: String,
}

/// A validated `CreatePayment`.
pub struct Valid {
    pub currency: Currency,
    pub items: Vec<LineItem>,
    pub description: String,
    pub payer_email: Option<String>,
}

/// Order ids become part of keys: a conservative alphabet, never `#`.
pub fn valid_order_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

fn short_text(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
}

impl CreatePayment {
    pub fn validate(&self) -> Result<Valid, ApiError> {
        let mut errors = Vec::new();
        let mut err = |f: &str, c: &str, m: &str| errors.push(FieldError::new(f, c, m));
        if !valid_order_id(&self.order_id) {
            err(
                "order_id",
                "invalid",
                "must be 1-64 characters of A-Z a-z 0-9 - _ . :",
            );
        }
        let currency = Currency::parse(&self.currency);
        if currency.is_none() {
            err(
                "currency",
                "unsupported_currency",
                "must be one of ARS, BRL, MXN, UYU, PEN, COP, CLP",
            );
        }
        if self.amount == 0 || self.amount > money::MAX_MINOR {
            err(
                "amount",
                "out_of_range",
                "must be a positive amount in minor units",
            );
        }
        if self.items.len() > 100 {
            err("items", "too_many", "at most 100 items");
        }
        let mut total: u64 = 0;
        for (i, item) in self.items.iter().enumerate() {
            if !short_text(&item.title, 256) {
                err(
                    &format!("items[{i}].title"),
                    "invalid",
                    "must be 1-256 printable characters",
                );
            }
            if item.quantity == 0 || item.quantity > 10_000 {
                err(
                    &format!("items[{i}].quantity"),
                    "out_of_range",
                    "must be 1-10000",
                );
            }
            if item.id.as_deref().is_some_and(|id| !short_text(id, 64)) {
                err(
                    &format!("items[{i}].id"),
                    "invalid",
                    "must be 1-64 printable characters",
                );
            }
            total = total.saturating_add(item.unit_amount.saturating_mul(u64::from(item.quantity)));
        }
        if !self.items.is_empty() && total != self.amount {
            err(
                "items",
                "amount_mismatch",
                "quantity x unit_amount must add up to amount",
            );
        }
        if let Some(d) = &self.description {
            if !short_text(d, 256) {
                err(
                    "description",
                    "invalid",
                    "must be 1-256 printable characters",
                );
            }
        }
        let payer_email = match &self.payer {
            Some(p) => match crate::contact::Email::parse(&p.email) {
                Ok(e) => Some(e.to_string()),
                Err(_) => {
                    err(
                        "payer.email",
                        "invalid_format",
                        "is not a valid email address",
                    );
                    None
                }
            },
            None => None,
        };
        match self.mode {
            Mode::Direct => {
                if !self
                    .card_token
                    .as_deref()
                    .is_some_and(|t| short_text(t, 256))
                {
                    err("card_token", "required", "is required for mode direct");
                }
                if payer_email.is_none() && self.payer.is_none() {
                    err("payer.email", "required", "is required for mode direct");
                }
                if self.installments.is_some_and(|n| !(1..=48).contains(&n)) {
                    err("installments", "out_of_range", "must be 1-48");
                }
                if self.back_urls.is_some() {
                    err("back_urls", "not_allowed", "only for mode checkout");
                }
            }
            Mode::Checkout => {
                if self.card_token.is_some() {
                    err("card_token", "not_allowed", "only for mode direct");
                }
                if let Some(b) = &self.back_urls {
                    for (name, url) in [
                        ("success", &b.success),
                        ("pending", &b.pending),
                        ("failure", &b.failure),
                    ] {
                        if url.as_deref().is_some_and(|u| !is_http_url(u)) {
                            err(
                                &format!("back_urls.{name}"),
                                "invalid",
                                "must be an http(s) URL",
                            );
                        }
                    }
                }
            }
        }
        let (Some(currency), true) = (currency, errors.is_empty()) else {
            return Err(ApiError::validation(errors));
        };
        let description = self
            .description
            .clone()
            .unwrap_or_else(|| format!("Order {}", self.order_id));
        let items = if self.items.is_empty() {
            vec![LineItem {
                id: None,
                title: description.clone(),
                quantity: 1,
                unit_amount: self.amount,
            }]
        } else {
            self.items.clone()
        };
        Ok(Valid {
            currency,
            items,
            description,
            payer_email,
        })
    }
}

fn is_http_url(s: &str) -> bool {
    s.len() <= 2048
        && url::Url::parse(s)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// The stored payment (DynamoDB item #15 plus its keys, added by the store).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub project_id: ProjectId,
    pub order_id: String,
    pub provider: String,
    pub mode: Mode,
    pub amount_minor: u64,
    pub currency: Currency,
    pub description: String,
    pub items: Vec<LineItem>,
    pub status: Status,
    #[serde(default)]
    pub status_detail: Option<String>,
    #[serde(default)]
    pub refunded_minor: u64,
    /// The provider payment that decides the status (the paid one once paid).
    #[serde(default)]
    pub provider_payment_id: Option<String>,
    #[serde(default)]
    pub checkout_id: Option<String>,
    #[serde(default)]
    pub redirect_url: Option<String>,
    #[serde(default)]
    pub attempts: Attempts,
    /// Reconciliation gave up on it (see `sync::GIVE_UP`); notifications still apply.
    #[serde(default)]
    pub closed: bool,
    /// When the reconciler next asks the provider about it (Unix ms); `None` until the first
    /// check is claimed (then `schedule::first_check`). See `schedule::next_check`.
    #[serde(default)]
    pub next_check_ms: Option<u64>,
    /// Optimistic concurrency: every write bumps it and is conditional on the old value.
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl Payment {
    /// The client's view; amounts in minor units. `history` only on GET.
    pub fn view(&self) -> PaymentView<'_> {
        PaymentView {
            id: &self.id,
            order_id: &self.order_id,
            provider: &self.provider,
            mode: self.mode,
            amount: self.amount_minor,
            currency: self.currency,
            description: &self.description,
            items: &self.items,
            status: self.status,
            status_detail: self.status_detail.as_deref(),
            refunded_amount: self.refunded_minor,
            provider_payment_id: self.provider_payment_id.as_deref(),
            checkout_id: self.checkout_id.as_deref(),
            redirect_url: self.redirect_url.as_deref(),
            attempts: self
                .attempts
                .iter()
                .map(|(id, a)| ProviderAttempt {
                    provider_payment_id: id,
                    status: a.status,
                    status_detail: &a.detail,
                    refunded_amount: a.refunded_minor,
                })
                .collect(),
            history: None,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
        }
    }
}

/// A payment as the API (and the `payment.updated` webhook) shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Payment)]
pub struct PaymentView<'a> {
    pub id: &'a PaymentId,
    pub order_id: &'a str,
    #[schema(value_type = String, pattern = "^mercadopago$")]
    pub provider: &'a str,
    pub mode: Mode,
    /// Minor units
    pub amount: u64,
    pub currency: Currency,
    pub description: &'a str,
    pub items: &'a [LineItem],
    pub status: Status,
    pub status_detail: Option<&'a str>,
    /// Minor units
    pub refunded_amount: u64,
    pub provider_payment_id: Option<&'a str>,
    pub checkout_id: Option<&'a str>,
    /// checkout: send the buyer here
    pub redirect_url: Option<&'a str>,
    /// Every provider payment seen for it (a buyer may try several cards)
    pub attempts: Vec<ProviderAttempt<'a>>,
    /// Only on GET /v1/payments/{payment_id}
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Option<Vec<Object>>)]
    pub history: Option<Vec<serde_json::Value>>,
    #[schema(format = DateTime)]
    pub created_at: &'a str,
    #[schema(format = DateTime)]
    pub updated_at: &'a str,
}

/// One provider payment of a payment.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PaymentAttempt)]
pub struct ProviderAttempt<'a> {
    pub provider_payment_id: &'a str,
    pub status: Status,
    pub status_detail: &'a str,
    pub refunded_amount: u64,
}

/// A page of payments.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PaymentList<'a> {
    pub data: Vec<PaymentView<'a>>,
    pub next_cursor: Option<String>,
}
