//! A WhatsApp Cloud API sandbox: `POST /v<NN>.0/<phone-number-id>/messages` with the real
//! request validation, success and Graph error shapes, followed by signed status webhooks.
//!
//! # Sending
//! `Authorization: Bearer <token>` is required; a missing token, or one different from
//! [`Config::access_token`] when that is set, gets code 190 (HTTP 401, `OAuthException`, plus
//! `WWW-Authenticate` as Graph sends it). Text (`type` defaults to `text`) and template messages
//! are validated like the real API (code 100 naming the parameter). A success answers
//! `{"messaging_product":"whatsapp","contacts":[{"input","wa_id"}],"messages":[{"id":"wamid.…"}]}`
//! (templates add `"message_status":"accepted"`), then posts `sent`, `delivered` and `read`
//! (unless [`Config::send_read`] is off), [`Config::status_delay`] apart, to the callback.
//!
//! # Test numbers (by the last four digits of `to`)
//! | ends in | behaviour | how the real API reports it |
//! |---|---|---|
//! | `0429` | 130429 "Rate limit hit" on the first 2 attempts for that number, then success | synchronous, HTTP 400 (classify by `error.code`, not by HTTP status) |
//! | `1056` | 131056 pair rate limit on the first attempt, then success | synchronous, HTTP 400 |
//! | `1000` | 131000 "Something went wrong" on the first attempt, then success | synchronous, HTTP 500 |
//! | `0190` | 190/463 expired access token, always | synchronous, HTTP 401 |
//! | `1047` | 131047 re-engagement (outside the 24 h window) for non-template messages; templates are delivered | accepted (200 + wamid), then a `failed` status webhook with `errors[]` |
//! | `1026` | 131026 undeliverable, any type | accepted (200 + wamid), then a `failed` status webhook |
//! | `0500` | accepted (recorded, wamid, statuses) but the first attempt's answer is 131000, HTTP 500 | a 5xx after the message went out: resending duplicates it |
//! | `0408` | accepted (recorded, wamid, statuses) but the first attempt's answer takes 30 s | the caller times out after the message went out |
//!
//! Attempts are counted per recipient since start or the last reset. When
//! [`Config::templates`] is non-empty, an unknown template name gets 132001 (HTTP 404) and a
//! body parameter count other than the registered one gets 132000 (HTTP 400), synchronously.
//!
//! # Status webhooks
//! `{"object":"whatsapp_business_account","entry":[{"id","changes":[{"field":"messages","value":
//! {"messaging_product","metadata","statuses":[{"id","status","timestamp","recipient_id",
//! "biz_opaque_callback_data"?,"conversation"?,"pricing"?,"errors"?}]}}]}]}`, signed with
//! `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`. The statuses of one
//! message are posted one after another (each waits for the callback's answer); failed
//! deliveries are logged, not retried. Without a callback URL the statuses still advance in
//! the message log. A reset cancels pending statuses.
//!
//! # Control API (`/_sandbox/…`, JSON)
//! - `GET /_sandbox/config`, `POST /_sandbox/config` (partial: `callback_url` (`""` unsets),
//!   `app_secret`, `access_token` (`""` accepts any), `status_delay_ms`, `send_read`, `templates`).
//! - `GET /_sandbox/messages[?to=<digits>]`: every well-formed send attempt, with the token's
//!   last 4 characters only.
//! - `GET /_sandbox/webhooks`: every status webhook posted (body, signature, callback answer).
//! - `POST /_sandbox/statuses` `{"wamid","status","errors"?,"timestamp"?}`: posts one status now,
//!   e.g. `read` before `delivered`; answers the delivery record.
//! - `POST /_sandbox/subscribe` `{"verify_token","callback_url"?,"challenge"?}`: performs the
//!   subscription handshake against the callback and says whether the raw challenge came back.
//! - `POST /_sandbox/reset`: forgets messages, attempts and webhooks; restores the start config.

mod api;
mod control;
mod errors;
mod request;
mod statuses;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

pub use control::SubscribeOutcome;
pub use statuses::StatusError;

/// WhatsApp Business Account id used as `entry[].id` in webhooks.
pub const BUSINESS_ACCOUNT_ID: &str = "102290129340398";
/// `metadata.display_phone_number` in webhooks.
pub const DISPLAY_PHONE_NUMBER: &str = "15550783881";

/// Sandbox settings. `Debug` hides the secrets.
#[derive(Clone)]
pub struct Config {
    /// Where status webhooks go; none means statuses only advance in the log.
    pub callback_url: Option<String>,
    /// Key of the `X-Hub-Signature-256` HMAC.
    pub app_secret: String,
    /// The only bearer token accepted; `None` accepts any non-empty token.
    pub access_token: Option<String>,
    /// Wait before each status webhook.
    pub status_delay: Duration,
    /// Whether `read` follows `delivered`.
    pub send_read: bool,
    /// Approved templates: name → number of body parameters. Empty accepts any template.
    pub templates: BTreeMap<String, usize>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            callback_url: None,
            app_secret: "whatsapp-sandbox-app-secret".to_owned(),
            access_token: None,
            status_delay: Duration::from_millis(50),
            send_read: true,
            templates: BTreeMap::new(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("callback_url", &self.callback_url)
            .field("app_secret", &"***")
            .field("access_token", &self.access_token.as_ref().map(|_| "***"))
            .field("status_delay", &self.status_delay)
            .field("send_read", &self.send_read)
            .field("templates", &self.templates)
            .finish()
    }
}

/// A well-formed send attempt, as `GET /_sandbox/messages` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SentMessage {
    pub seq: u64,
    pub received_at: String,
    /// Path version segment, e.g. `v21.0`.
    pub api_version: String,
    pub phone_number_id: String,
    /// Last 4 characters of the bearer token; never the token.
    pub token_last4: String,
    /// `to` as sent.
    pub to: String,
    pub wa_id: String,
    /// `text` or `template`.
    pub message_type: String,
    pub text_body: Option<String>,
    /// The `template` object as sent.
    pub template: Option<serde_json::Value>,
    pub biz_opaque_callback_data: Option<String>,
    /// Set when the send was accepted.
    pub wamid: Option<String>,
    /// Graph error code when the send was refused synchronously.
    pub error_code: Option<i64>,
    /// Statuses emitted so far, in emission order.
    pub statuses: Vec<String>,
}

/// One status webhook and what the callback answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub seq: u64,
    pub wamid: String,
    pub status: String,
    /// None when no callback URL was configured (nothing was posted).
    pub url: Option<String>,
    /// The exact body posted.
    pub body: String,
    /// The `X-Hub-Signature-256` value.
    pub signature: String,
    pub response_status: Option<u16>,
    /// Transport error, if the POST failed.
    pub error: Option<String>,
}

#[derive(Default)]
struct Inner {
    config: Config,
    /// Bumped by reset so scheduled statuses of earlier messages stop.
    generation: u64,
    next_seq: u64,
    messages: Vec<SentMessage>,
    attempts: HashMap<String, u32>,
    deliveries: Vec<Delivery>,
}

pub(crate) struct State {
    initial: Config,
    inner: Mutex<Inner>,
    client: reqwest::Client,
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn config(&self) -> Config {
        self.lock().config.clone()
    }

    fn reset(&self) {
        let mut inner = self.lock();
        let generation = inner.generation + 1;
        *inner = Inner {
            config: self.initial.clone(),
            generation,
            ..Inner::default()
        };
    }
}

/// A running sandbox. Cloning shares the same server and state.
#[derive(Clone)]
pub struct Handle {
    /// `http://127.0.0.1:<port>`; the Graph base URL to give the sender.
    pub base_url: String,
    state: Arc<State>,
    task: AbortHandle,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// The messages endpoint for a phone number id, with API version v21.0.
    pub fn messages_url(&self, phone_number_id: &str) -> String {
        format!("{}/v21.0/{phone_number_id}/messages", self.base_url)
    }

    /// Every well-formed send attempt, oldest first.
    pub fn messages(&self) -> Vec<SentMessage> {
        self.state.lock().messages.clone()
    }

    /// Every status webhook, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state.lock().deliveries.clone()
    }

    pub fn config(&self) -> Config {
        self.state.config()
    }

    /// Replaces the configuration (a reset restores the one given to [`start`]).
    pub fn set_config(&self, config: Config) {
        self.state.lock().config = config;
    }

    /// Forgets messages, attempts and webhooks; cancels pending statuses; restores the config.
    pub fn reset(&self) {
        self.state.reset();
    }

    /// Posts one status webhook for a known message now (`sent|delivered|read|failed`).
    pub async fn send_status(
        &self,
        wamid: &str,
        status: &str,
        errors: Option<serde_json::Value>,
    ) -> Result<Delivery, StatusError> {
        statuses::post_for_wamid(&self.state, wamid, status, errors, None).await
    }

    /// Performs the subscription handshake against `callback_url` (or the configured one).
    pub async fn subscribe(
        &self,
        callback_url: Option<&str>,
        verify_token: &str,
    ) -> SubscribeOutcome {
        control::subscribe(&self.state, callback_url, verify_token, None).await
    }

    /// Stops the server.
    pub fn shutdown(&self) {
        self.task.abort();
    }
}

/// Serves the sandbox on `listener` until the runtime stops or [`Handle::shutdown`].
pub async fn start(listener: TcpListener, config: Config) -> Handle {
    let base_url = crate::receiver::base_url_of(&listener);
    // No proxy (callbacks are local) and no redirects (Meta does not follow them either).
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "falling back to a default HTTP client");
            reqwest::Client::new()
        });
    let state = Arc::new(State {
        initial: config.clone(),
        inner: Mutex::new(Inner {
            config,
            ..Inner::default()
        }),
        client,
    });
    let app = api::router()
        .merge(control::router())
        .with_state(Arc::clone(&state));
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "WhatsApp sandbox stopped");
        }
    });
    Handle {
        base_url,
        state,
        task: task.abort_handle(),
    }
}
