//! A local Mercado Pago: an HTTP server speaking the real API's wire formats (see
//! `mercadopago.md` in the shared reference) so the product and its tests run offline. Point a
//! client (or the official SDK) at [`Handle::base_url`] instead of `https://api.mercadopago.com`.
//!
//! # Credentials
//! `Authorization: Bearer TEST-<client_id>-<MMddHH>-<hash>-<user_id>` (or `APP_USR-…`); the last
//! segment is the collector id. Each collector sees only its own payments, preferences and
//! merchant orders; another's look missing (404). `TEST-` tokens give `live_mode: false`.
//!
//! # Outcomes
//! Card payments take their outcome from the test-card holder name: `APRO` approved, `CONT`
//! in_process/pending_contingency, `OTHE`/`FUND`/`SECU`/`EXPI`/`FORM`/`CALL` rejected with the
//! matching `cc_rejected_*` detail; any other name approves. The name comes from the
//! `cardholder.name` of a token made with `POST /v1/card_tokens` (single use), or, for token
//! strings made elsewhere, from a holder name contained in the token (`tok-FUND-1`). `capture:
//! false` leaves an approved card payment `authorized/pending_capture`. `pix` payments start
//! `pending/pending_waiting_transfer`, ticket methods `pending/pending_waiting_payment`.
//!
//! # API (as Mercado Pago; trailing slashes accepted)
//! `POST /checkout/preferences`, `GET|PUT /checkout/preferences/{id}`, `POST /v1/card_tokens`,
//! `GET /v1/card_tokens/{id}`, `POST /v1/payments` (needs `X-Idempotency-Key`),
//! `GET /v1/payments/search`, `GET|PUT /v1/payments/{id}`, `POST|GET /v1/payments/{id}/refunds`
//! (POST needs `X-Idempotency-Key`), `GET /v1/payments/{id}/refunds/{refund_id}`,
//! `GET /merchant_orders/search`, `GET /merchant_orders/{id}`.
//!
//! # Notifications
//! Every payment creation or change POSTs to the payment's `notification_url` a signed webhook
//! (`?data.id=<id>&type=payment`, `x-signature: ts=<unix seconds>,v1=<hmac>`), a payment IPN
//! (`?topic=payment&id=<id>`) and, for Checkout Pro payments, a merchant-order IPN. Without a
//! `notification_url`, only the webhook goes to the collector's `webhook_url` (control API), if
//! any. Webhooks are signed with the collector's secret, else [`Config::webhook_secret`].
//!
//! # Control API (JSON, no auth)
//! - `POST /_sandbox/preferences/{id}/pay` `{"holder_name": "APRO"}` or `{"outcome":
//!   "approve"|"reject"|"pending"}`, optional `payer_email`, `payment_method_id` (default
//!   `visa`), `installments` → 201 `{"payment", "merchant_order_id", "redirect_url",
//!   "auto_return"}`: what the buyer does on Checkout Pro (opens the merchant order).
//! - `POST /_sandbox/preferences/{id}/expire` → the merchant order, now `expired` (unless paid);
//!   sends a merchant-order IPN.
//! - `GET /_sandbox/payments/{id}` → any collector's payment, current state.
//! - `POST /_sandbox/payments/{id}/approve` → a pending/in_process payment becomes
//!   `approved/accredited`.
//! - `POST /_sandbox/payments/{id}/status` `{"status", "status_detail"}` → any state.
//! - `POST /_sandbox/payments/{id}/chargeback` `{"status_detail": "settled"}` → `charged_back`.
//! - `POST /_sandbox/payments/{id}/notify` `{"kind": "webhook"|"ipn"|"both", "times": n,
//!   "action": "payment.updated"}` → sends (duplicate) notifications now.
//! - `POST /_sandbox/payments/{id}/stale` `{"reads": n}` → the next n `GET /v1/payments/{id}`
//!   answer the previous state (404 if none yet): eventual consistency, out-of-order reads.
//! - `POST /_sandbox/faults` `{"count": n, "status": 503, "delay_ms": 0, "method": "POST",
//!   "path_prefix": "/v1/payments"}` → the next n matching API calls are delayed and/or fail
//!   with that status (Mercado Pago's error body); `DELETE /_sandbox/faults` clears them.
//! - `PUT /_sandbox/collectors/{collector_id}` `{"webhook_secret", "webhook_url"}`.
//! - `GET /_sandbox/notifications?kind=&topic=&resource_id=` → every delivery attempt.
//! - `GET /_sandbox/requests?contains=` → how many logged API requests (`METHOD /path?query`,
//!   the latest 50,000) contain the text.
//! - `POST /_sandbox/reset` → forget everything; pending retries stop.

mod checkout;
mod checkout_pay;
mod control;
mod model;
mod notify;
mod outcome;
mod payment_input;
mod payments;
mod refunds;
mod search;
mod store;
mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub use notify::{manifest as signature_manifest, sign as hmac_sha256_hex};
pub use store::NotificationAttempt;
use store::{Shared, SharedState};
use wire::ApiError;

/// A webhook signing secret; `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How the sandbox behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// Signs webhooks of collectors without their own secret (control API).
    pub webhook_secret: WebhookSecret,
    /// Wait before retrying an undelivered notification (Mercado Pago: about 15 minutes).
    pub retry_interval: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// How long a receiver has to answer (Mercado Pago: 22 s).
    pub delivery_timeout: Duration,
    /// Wait before the first attempt of each notification.
    pub notification_delay: Duration,
    /// Accept loopback/private hosts in `notification_url` and `back_urls` (Mercado Pago does
    /// not; local use needs them).
    pub allow_loopback_urls: bool,
    /// Payments younger than this do not show in search yet.
    pub search_lag: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            webhook_secret: WebhookSecret::new("sandbox-webhook-secret"),
            retry_interval: Duration::from_secs(15 * 60),
            max_retries: 8,
            delivery_timeout: Duration::from_secs(22),
            notification_delay: Duration::ZERO,
            allow_loopback_urls: true,
            search_lag: Duration::ZERO,
        }
    }
}

/// A running sandbox. Dropping it stops the server and pending notification retries.
#[derive(Debug)]
pub struct Handle {
    /// `http://<addr>`: the stand-in for `https://api.mercadopago.com`.
    pub base_url: String,
    shared: SharedState,
    server: tokio::task::JoinHandle<()>,
}

impl Handle {
    /// Every notification attempt so far, oldest first.
    pub fn notification_attempts(&self) -> Vec<NotificationAttempt> {
        self.shared.store().notifications.clone()
    }

    /// Sets the webhook secret of one collector.
    pub fn set_webhook_secret(&self, collector_id: i64, secret: &str) {
        self.shared
            .store()
            .collectors
            .entry(collector_id)
            .or_default()
            .webhook_secret = Some(secret.to_owned());
    }

    /// The secret webhooks for `collector_id` are signed with.
    pub fn webhook_secret(&self, collector_id: i64) -> String {
        self.shared
            .store()
            .webhook_secret(collector_id, self.shared.config.webhook_secret.expose())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.store().generation += 1;
        self.server.abort();
    }
}

/// Serves the sandbox on `listener` in a background task.
pub async fn start(listener: tokio::net::TcpListener, config: Config) -> Handle {
    let base_url = match listener.local_addr() {
        Ok(addr) => format!("http://{addr}"),
        Err(_) => "http://127.0.0.1".to_owned(),
    };
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(config.delivery_timeout)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new());
    let shared = Arc::new(Shared::new(config, base_url.clone(), http));
    let app = router(shared.clone());
    let server = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "mercadopago sandbox stopped");
        }
    });
    Handle {
        base_url,
        shared,
        server,
    }
}

fn router(shared: SharedState) -> Router {
    let api = Router::new()
        .route("/checkout/preferences", post(checkout::create_preference))
        .route(
            "/checkout/preferences/{id}",
            get(checkout::get_preference).put(checkout::update_preference),
        )
        .route("/v1/card_tokens", post(checkout::create_card_token))
        .route("/v1/card_tokens/{id}", get(checkout::get_card_token))
        .route("/v1/payments", post(payments::create))
        .route("/v1/payments/search", get(search::payments))
        .route(
            "/v1/payments/{id}",
            get(payments::get).put(payments::update),
        )
        .route(
            "/v1/payments/{id}/refunds",
            post(refunds::create).get(refunds::list),
        )
        .route("/v1/payments/{id}/refunds/{refund_id}", get(refunds::get))
        .route("/merchant_orders/search", get(search::merchant_orders))
        .route("/merchant_orders/{id}", get(checkout::get_merchant_order))
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            inject_faults,
        ));
    let inner = api
        .merge(control::router())
        .fallback(unknown_route)
        .with_state(shared);
    Router::new()
        .fallback_service(inner)
        .layer(middleware::from_fn(strip_trailing_slash))
}

/// Faults armed through the control API: delay and/or answer with a status instead.
async fn inject_faults(
    State(shared): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let fault = {
        let mut store = shared.store();
        let uri = request.uri();
        let line = match uri.query() {
            Some(q) => format!("{} {}?{q}", request.method(), uri.path()),
            None => format!("{} {}", request.method(), uri.path()),
        };
        store.log_request(line);
        store.take_fault(request.method().as_str(), uri.path())
    };
    if let Some(fault) = fault {
        if !fault.delay.is_zero() {
            tokio::time::sleep(fault.delay).await;
        }
        if let Some(status) = fault.status.and_then(|s| StatusCode::from_u16(s).ok()) {
            let reason = status.canonical_reason().unwrap_or("error");
            let error = reason.to_ascii_lowercase().replace(' ', "_");
            let message = if status.is_server_error() {
                "internal_error".to_owned()
            } else {
                reason.to_owned()
            };
            return ApiError::new(status, &error, message).into_response();
        }
    }
    next.run(request).await
}

/// SDKs call `/checkout/preferences/`; Mercado Pago answers as without the slash.
async fn strip_trailing_slash(mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let rebuilt = match request.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = rebuilt.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    next.run(request).await
}

async fn unknown_route() -> ApiError {
    ApiError::not_found("resource not found")
}
