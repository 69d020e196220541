//! The sandbox's one state value: configuration, the in-memory resources, idempotency replays,
//! injected faults and the notification log. The lock is never held across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::model::{CardToken, MerchantOrder, Payment, Preference};
use super::wire::{random_id, ApiError};
use super::Config;

pub type SharedState = Arc<Shared>;

#[derive(Debug)]
pub struct Shared {
    pub config: Config,
    pub base_url: String,
    pub http: reqwest::Client,
    store: Mutex<Store>,
}

impl Shared {
    pub fn new(config: Config, base_url: String, http: reqwest::Client) -> Self {
        Self {
            config,
            base_url,
            http,
            store: Mutex::new(Store::new()),
        }
    }

    /// Locks the store; a poisoned lock (a panicked handler) still yields the data.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A recorded response for an `X-Idempotency-Key`, keyed by collector, scope and key.
#[derive(Debug, Clone)]
pub struct Replay {
    pub fingerprint: String,
    pub status: u16,
    pub body: Value,
}

/// Per-collector settings made through the control API.
#[derive(Debug, Clone, Default)]
pub struct CollectorSettings {
    pub webhook_secret: Option<String>,
    /// Where webhooks go for payments without a `notification_url` (the application's webhook
    /// URL in Mercado Pago's panel).
    pub webhook_url: Option<String>,
}

/// The next `remaining` API calls matching `method`/`path_prefix` are delayed and/or answered
/// with `status`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub remaining: u32,
    pub status: Option<u16>,
    pub delay: Duration,
    pub method: Option<String>,
    pub path_prefix: Option<String>,
}

/// One notification attempt, as the control API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationAttempt {
    pub seq: usize,
    /// `webhook` or `ipn`.
    pub kind: &'static str,
    /// `payment` or `merchant_order`.
    pub topic: &'static str,
    pub resource_id: String,
    pub url: String,
    /// 1 for the first try, 2 for the first retry, …
    pub attempt: u32,
    pub request_id: String,
    pub x_signature: String,
    pub body: Value,
    /// The receiver's HTTP status, absent when it did not answer in time.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub delivered: bool,
    pub sent_at: String,
}

/// How many API requests the log keeps.
pub const REQUEST_LOG: usize = 50_000;

#[derive(Debug)]
pub struct Store {
    pub payments: BTreeMap<i64, Payment>,
    pub preferences: HashMap<String, Preference>,
    pub orders: BTreeMap<i64, MerchantOrder>,
    pub card_tokens: HashMap<String, CardToken>,
    pub used_tokens: std::collections::HashSet<String>,
    pub idempotency: HashMap<(i64, String, String), Replay>,
    pub collectors: HashMap<i64, CollectorSettings>,
    pub faults: Vec<Fault>,
    pub notifications: Vec<NotificationAttempt>,
    /// `METHOD /path?query` of the latest API requests (not the control API), newest last,
    /// so tests can count what a function asked Mercado Pago.
    pub requests: std::collections::VecDeque<String>,
    /// Bumped by reset (and by dropping the handle): pending retries of an older generation stop.
    pub generation: u64,
    next_id: i64,
}

impl Store {
    fn new() -> Self {
        Self {
            payments: BTreeMap::new(),
            preferences: HashMap::new(),
            orders: BTreeMap::new(),
            card_tokens: HashMap::new(),
            used_tokens: std::collections::HashSet::new(),
            idempotency: HashMap::new(),
            collectors: HashMap::new(),
            faults: Vec::new(),
            notifications: Vec::new(),
            requests: std::collections::VecDeque::new(),
            generation: 0,
            next_id: random_id(),
        }
    }

    /// Records one API request, keeping the latest [`REQUEST_LOG`].
    pub fn log_request(&mut self, line: String) {
        if self.requests.len() >= REQUEST_LOG {
            self.requests.pop_front();
        }
        self.requests.push_back(line);
    }

    /// Forgets everything but keeps the generation moving forward.
    pub fn reset(&mut self) {
        let generation = self.generation + 1;
        *self = Self::new();
        self.generation = generation;
    }

    /// Ids grow with time, like Mercado Pago's, so sorting by id sorts by creation.
    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// The collector's own payment; another collector's looks exactly like a missing one.
    pub fn payment_mut(&mut self, collector_id: i64, id: &str) -> Result<&mut Payment, ApiError> {
        let id: i64 = id
            .trim()
            .parse()
            .map_err(|_| ApiError::payment_not_found())?;
        self.payments
            .get_mut(&id)
            .filter(|p| p.collector.id == collector_id)
            .ok_or_else(ApiError::payment_not_found)
    }

    pub fn preference(&self, collector_id: i64, id: &str) -> Result<&Preference, ApiError> {
        self.preferences
            .get(id)
            .filter(|p| p.collector.id == collector_id)
            .ok_or_else(|| ApiError::not_found("Preference not found").with_code("not_found"))
    }

    pub fn order(&self, collector_id: i64, id: &str) -> Result<&MerchantOrder, ApiError> {
        let id: i64 = id.trim().parse().map_err(|_| merchant_order_not_found())?;
        self.orders
            .get(&id)
            .filter(|o| o.collector.id == collector_id)
            .ok_or_else(merchant_order_not_found)
    }

    /// Renders a merchant order with its payments.
    pub fn order_json(&self, order: &MerchantOrder) -> Value {
        let payments: Vec<&Payment> = order
            .payments
            .iter()
            .filter_map(|id| self.payments.get(id))
            .collect();
        order.to_json(&payments)
    }

    /// The webhook secret of a collector: its own if set, else the configured default.
    pub fn webhook_secret(&self, collector_id: i64, default: &str) -> String {
        self.collectors
            .get(&collector_id)
            .and_then(|c| c.webhook_secret.clone())
            .unwrap_or_else(|| default.to_owned())
    }

    /// Takes one use of the first fault matching this call, if any.
    pub fn take_fault(&mut self, method: &str, path: &str) -> Option<Fault> {
        let index = self.faults.iter().position(|f| {
            f.remaining > 0
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
        })?;
        let fault = self.faults.get_mut(index)?;
        fault.remaining -= 1;
        let taken = fault.clone();
        if fault.remaining == 0 {
            self.faults.remove(index);
        }
        Some(taken)
    }
}

fn merchant_order_not_found() -> ApiError {
    ApiError::not_found("Merchant Order not found").with_code("not_found")
}

/// A stable digest of a request: same scope and same JSON (key order ignored) → same digest.
pub fn fingerprint(scope: &str, body: &Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    hasher.update([0]);
    hasher.update(body.to_string().as_bytes());
    hex::encode(hasher.finalize())
}
