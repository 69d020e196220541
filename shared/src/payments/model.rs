//! The payment resource: what is stored, what clients send, what they get back.

use super::money::{self, Currency};
use super::status::{Attempts, Status};
use crate::error::{ApiError, FieldError};
use crate::ids::{PaymentId, ProjectId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Hosted checkout (Mercado Pago Checkout Pro preference); the buyer is redirected.
    Checkout,
    /// A card token charged right away.
    Direct,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    #[serde(default)]
    pub id: Option<String>,
    pub title: String,
    pub quantity: u32,
    /// Unit price in minor units of the payment's currency.
    pub unit_amount: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackUrls {
    pub success: Option<String>,
    pub pending: Option<String>,
    pub failure: Option<String>,
}

/// `POST /v1/payments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    /// The shop's order id; Mercado Pago sees our payment id as `external_reference`.
    #[serde(alias = "external_reference")]
    pub order_id: String,
    pub amount: u64,
    pub currency: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub items: Vec<LineItem>,
    #[serde(default)]
    pub payer: Option<Payer>,
    pub mode: Mode,
    /// `direct` only: the card token.
    #[serde(default)]
    pub card_token: Option<String>,
    #[serde(default)]
    pub installments: Option<u32>,
    #[serde(default)]
    pub payment_method_id: Option<String>,
    /// `checkout` only: where the buyer returns.
    #[serde(default)]
    pub back_urls: Option<BackUrls>,
}

#[derive(Debug, Deserialize)]
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
    /// check is claimed (then `reconcile::first_check`). See `reconcile::next_check`.
    #[serde(default)]
    pub next_check_ms: Option<u64>,
    /// Optimistic concurrency: every write bumps it and is conditional on the old value.
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl Payment {
    /// The client's view; amounts in minor units.
    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "order_id": self.order_id,
            "provider": self.provider,
            "mode": self.mode,
            "amount": self.amount_minor,
            "currency": self.currency,
            "description": self.description,
            "items": self.items,
            "status": self.status,
            "status_detail": self.status_detail,
            "refunded_amount": self.refunded_minor,
            "provider_payment_id": self.provider_payment_id,
            "checkout_id": self.checkout_id,
            "redirect_url": self.redirect_url,
            "attempts": self.attempts.iter().map(|(id, a)| serde_json::json!({
                "provider_payment_id": id,
                "status": a.status,
                "status_detail": a.detail,
                "refunded_amount": a.refunded_minor,
            })).collect::<Vec<_>>(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}
