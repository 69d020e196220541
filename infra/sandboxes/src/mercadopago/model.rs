//! The resources the sandbox keeps and how each renders on the wire. Amounts are integer cents
//! here; `wire::amount` turns them into the JSON numbers Mercado Pago answers with.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::wire::{amount, amount_string, mp_date, mp_date_opt, Collector};

/// A payment, direct (`POST /v1/payments`) or made through a checkout preference.
#[derive(Debug, Clone)]
pub struct Payment {
    pub id: i64,
    pub collector: Collector,
    pub status: String,
    pub status_detail: String,
    pub amount: i64,
    pub refunded: i64,
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
    pub captured: bool,
    pub binary_mode: bool,
    pub statement_descriptor: Value,
    pub refunds: Vec<Refund>,
    pub date_created: OffsetDateTime,
    pub date_approved: Option<OffsetDateTime>,
    pub date_last_updated: OffsetDateTime,
    /// Earlier renderings, oldest first: what a stale read answers with.
    pub history: Vec<Value>,
    /// How many upcoming GETs answer with the previous state instead of the current one.
    pub stale_reads: u32,
}

impl Payment {
    /// Records the current state as history before a change, and stamps the change.
    pub fn begin_change(&mut self, now: OffsetDateTime) {
        self.history.push(self.to_json());
        self.date_last_updated = now;
    }

    /// Moves to a new status, stamping `date_approved` the first time it is approved.
    pub fn set_status(&mut self, status: &str, detail: &str, now: OffsetDateTime) {
        self.begin_change(now);
        self.status = status.to_owned();
        self.status_detail = detail.to_owned();
        if status == "approved" && self.date_approved.is_none() {
            self.date_approved = Some(now);
        }
    }

    /// What a GET answers: the previous state while stale reads are armed (`None`, i.e. not
    /// found yet, when there is no previous state), else the current one.
    pub fn read(&mut self) -> Option<Value> {
        if self.stale_reads > 0 {
            self.stale_reads -= 1;
            return self.history.last().cloned();
        }
        Some(self.to_json())
    }

    /// Whether money was taken and can still be given back.
    pub fn refundable(&self) -> i64 {
        if matches!(self.status.as_str(), "approved") && self.captured {
            self.amount - self.refunded
        } else {
            0
        }
    }

    pub fn to_json(&self) -> Value {
        let net = self.amount - self.amount * 5 / 100;
        let order = match self.order_id {
            Some(id) => json!({"id": id.to_string(), "type": "mercadopago"}),
            None => json!({}),
        };
        let refunds: Vec<Value> = self.refunds.iter().map(Refund::to_json).collect();
        let mut out = json!({
            "id": self.id,
            "date_created": mp_date(self.date_created),
            "date_approved": mp_date_opt(self.date_approved),
            "date_last_updated": mp_date(self.date_last_updated),
            "date_of_expiration": null,
            "money_release_date": mp_date_opt(self.date_approved),
            "money_release_status": if self.date_approved.is_some() { "released" } else { "pending" },
            "operation_type": "regular_payment",
            "issuer_id": "310",
            "payment_method_id": self.payment_method_id,
            "payment_type_id": self.payment_type_id,
            "payment_method": {"id": self.payment_method_id, "type": self.payment_type_id, "issuer_id": "310"},
            "status": self.status,
            "status_detail": self.status_detail,
            "currency_id": self.currency_id,
            "description": self.description,
            "live_mode": self.collector.live_mode,
            "sponsor_id": null,
            "authorization_code": if self.status == "approved" { Value::from("301299") } else { Value::Null },
            "collector_id": self.collector.id,
            "payer": self.payer,
            "metadata": self.metadata,
        });
        let rest = json!({
            "additional_info": self.additional_info,
            "order": order,
            "external_reference": self.external_reference,
            "transaction_amount": amount(self.amount),
            "transaction_amount_refunded": amount(self.refunded),
            "coupon_amount": 0,
            "installments": self.installments,
            "transaction_details": {
                "net_received_amount": amount(net),
                "total_paid_amount": amount(self.amount),
                "overpaid_amount": 0,
                "installment_amount": amount(self.amount / self.installments.max(1)),
                "financial_institution": null,
                "payment_method_reference_id": null,
                "external_resource_url": null,
            },
            "fee_details": [{"type": "mercadopago_fee", "amount": amount(self.amount - net), "fee_payer": "collector"}],
            "captured": self.captured,
            "binary_mode": self.binary_mode,
            "statement_descriptor": self.statement_descriptor,
            "card": self.card,
            "notification_url": self.notification_url,
            "refunds": refunds,
            "processing_mode": "aggregator",
            "merchant_account_id": null,
            "counter_currency": null,
            "charges_details": [],
            "point_of_interaction": {"type": "UNSPECIFIED"},
        });
        if let (Some(out), Value::Object(rest)) = (out.as_object_mut(), rest) {
            out.extend(rest);
        }
        out
    }
}

/// A refund of (part of) a payment.
#[derive(Debug, Clone)]
pub struct Refund {
    pub id: i64,
    pub payment_id: i64,
    pub amount: i64,
    pub collector_id: i64,
    pub date_created: OffsetDateTime,
}

impl Refund {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "payment_id": self.payment_id,
            "amount": amount(self.amount),
            "amount_refunded_to_payer": amount(self.amount),
            "metadata": {},
            "source": {"id": self.collector_id.to_string(), "name": "Sandbox seller", "type": "collector"},
            "date_created": mp_date(self.date_created),
            "unique_sequence_number": null,
            "refund_mode": "standard",
            "adjustment_amount": 0,
            "status": "approved",
            "reason": null,
            "labels": [],
            "partition_details": [],
            "additional_data": null,
            "expiration_date": null,
        })
    }
}

/// A Checkout Pro preference: the stored echo plus what paying it needs.
#[derive(Debug, Clone)]
pub struct Preference {
    pub id: String,
    pub collector: Collector,
    pub body: Value,
    pub total: i64,
    pub expired: bool,
    pub order_id: Option<i64>,
}

impl Preference {
    pub fn str_field(&self, name: &str) -> Option<String> {
        self.body
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// The preference's items as `additional_info.items` (quantity and unit_price as strings).
    pub fn additional_info(&self) -> Value {
        let items: Vec<Value> = self
            .body
            .get("items")
            .and_then(Value::as_array)
            .map(|items| items.iter().map(additional_info_item).collect())
            .unwrap_or_default();
        json!({"items": items, "payer": self.body.get("payer").cloned().unwrap_or(json!({}))})
    }
}

fn additional_info_item(item: &Value) -> Value {
    let unit = item
        .get("unit_price")
        .and_then(super::wire::cents)
        .unwrap_or(0);
    let quantity = item.get("quantity").and_then(Value::as_i64).unwrap_or(1);
    json!({
        "id": item.get("id").cloned().unwrap_or(Value::Null),
        "title": item.get("title").cloned().unwrap_or(Value::Null),
        "description": item.get("description").cloned().unwrap_or(Value::Null),
        "picture_url": item.get("picture_url").cloned().unwrap_or(Value::Null),
        "category_id": item.get("category_id").cloned().unwrap_or(Value::Null),
        "quantity": quantity.to_string(),
        "unit_price": amount_string(unit),
    })
}

/// The merchant order Checkout Pro opens for a preference on its first payment.
#[derive(Debug, Clone)]
pub struct MerchantOrder {
    pub id: i64,
    pub collector: Collector,
    pub preference_id: String,
    pub external_reference: Value,
    pub notification_url: Option<String>,
    pub items: Value,
    pub total: i64,
    pub expired: bool,
    pub payments: Vec<i64>,
    pub date_created: OffsetDateTime,
    pub last_updated: OffsetDateTime,
}

impl MerchantOrder {
    /// Renders the order with its payments (given in `self.payments` order).
    pub fn to_json(&self, payments: &[&Payment]) -> Value {
        let paid: i64 = payments
            .iter()
            .filter(|p| {
                matches!(
                    p.status.as_str(),
                    "approved" | "refunded" | "charged_back" | "in_mediation"
                )
            })
            .map(|p| p.amount)
            .sum();
        let refunded: i64 = payments.iter().map(|p| p.refunded).sum();
        let in_process = payments
            .iter()
            .any(|p| matches!(p.status.as_str(), "pending" | "in_process" | "authorized"));
        let status = if paid >= self.total && self.total > 0 {
            "closed"
        } else if self.expired {
            "expired"
        } else {
            "opened"
        };
        let order_status = if refunded > 0 && refunded >= paid {
            "reverted"
        } else if refunded > 0 {
            "partially_reverted"
        } else if paid >= self.total && self.total > 0 {
            "paid"
        } else if paid > 0 {
            "partially_paid"
        } else if in_process {
            "payment_in_process"
        } else if self.expired {
            "expired"
        } else {
            "payment_required"
        };
        let rendered: Vec<Value> = payments.iter().map(|p| order_payment(p)).collect();
        json!({
            "id": self.id,
            "status": status,
            "order_status": order_status,
            "external_reference": self.external_reference,
            "preference_id": self.preference_id,
            "payments": rendered,
            "shipments": [],
            "payouts": [],
            "collector": {"id": self.collector.id, "email": null, "nickname": "TESTSELLER"},
            "marketplace": "NONE",
            "notification_url": self.notification_url,
            "date_created": mp_date(self.date_created),
            "last_updated": mp_date(self.last_updated),
            "sponsor_id": null,
            "shipping_cost": 0,
            "total_amount": amount(self.total),
            "site_id": "MLA",
            "paid_amount": amount(paid),
            "refunded_amount": amount(refunded),
            "payer": null,
            "items": self.items,
            "cancelled": false,
            "additional_info": "",
            "application_id": null,
            "is_test": !self.collector.live_mode,
        })
    }
}

fn order_payment(p: &Payment) -> Value {
    json!({
        "id": p.id,
        "transaction_amount": amount(p.amount),
        "total_paid_amount": amount(p.amount),
        "shipping_cost": 0,
        "currency_id": p.currency_id,
        "status": p.status,
        "status_detail": p.status_detail,
        "operation_type": "regular_payment",
        "date_approved": mp_date_opt(p.date_approved),
        "date_created": mp_date(p.date_created),
        "last_modified": mp_date(p.date_last_updated),
        "amount_refunded": amount(p.refunded),
    })
}

/// A card token: its id and the holder name that decides the outcome.
#[derive(Debug, Clone)]
pub struct CardToken {
    pub holder_name: String,
    pub body: Value,
}
