//! The sandbox's own control API under `/_sandbox/` (see the module doc for the routes).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State as Extract};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{statuses, Delivery, SentMessage, State};

type Shared = Extract<Arc<State>>;

pub(super) fn router() -> Router<Arc<State>> {
    Router::new()
        .route("/_sandbox/config", get(show_config).post(patch_config))
        .route("/_sandbox/messages", get(messages))
        .route("/_sandbox/webhooks", get(webhooks))
        .route("/_sandbox/statuses", post(send_status))
        .route("/_sandbox/subscribe", post(handshake))
        .route("/_sandbox/reset", post(reset))
}

/// The configuration as the control API shows it (secrets masked).
#[derive(Serialize)]
struct ConfigView {
    callback_url: Option<String>,
    app_secret: &'static str,
    access_token_set: bool,
    status_delay_ms: u128,
    send_read: bool,
    templates: BTreeMap<String, usize>,
}

async fn show_config(Extract(state): Shared) -> Json<ConfigView> {
    let config = state.config();
    Json(ConfigView {
        callback_url: config.callback_url,
        app_secret: "***",
        access_token_set: config.access_token.is_some(),
        status_delay_ms: config.status_delay.as_millis(),
        send_read: config.send_read,
        templates: config.templates,
    })
}

/// Fields left out keep their value; `""` unsets `callback_url` / `access_token`.
#[derive(Deserialize)]
struct ConfigPatch {
    callback_url: Option<String>,
    app_secret: Option<String>,
    access_token: Option<String>,
    status_delay_ms: Option<u64>,
    send_read: Option<bool>,
    templates: Option<BTreeMap<String, usize>>,
}

async fn patch_config(Extract(state): Shared, Json(patch): Json<ConfigPatch>) -> Json<ConfigView> {
    {
        let config = &mut state.lock().config;
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        if let Some(url) = patch.callback_url {
            config.callback_url = non_empty(url);
        }
        if let Some(secret) = patch.app_secret {
            config.app_secret = secret;
        }
        if let Some(token) = patch.access_token {
            config.access_token = non_empty(token);
        }
        if let Some(ms) = patch.status_delay_ms {
            config.status_delay = Duration::from_millis(ms);
        }
        if let Some(send_read) = patch.send_read {
            config.send_read = send_read;
        }
        if let Some(templates) = patch.templates {
            config.templates = templates;
        }
    }
    show_config(Extract(state)).await
}

#[derive(Deserialize)]
struct MessagesQuery {
    to: Option<String>,
}

async fn messages(
    Extract(state): Shared,
    Query(q): Query<MessagesQuery>,
) -> Json<Vec<SentMessage>> {
    let inner = state.lock();
    let wanted = |m: &&SentMessage| q.to.as_deref().is_none_or(|to| m.wa_id == to || m.to == to);
    Json(inner.messages.iter().filter(wanted).cloned().collect())
}

async fn webhooks(Extract(state): Shared) -> Json<Vec<Delivery>> {
    Json(state.lock().deliveries.clone())
}

#[derive(Deserialize)]
struct StatusRequest {
    wamid: String,
    status: String,
    errors: Option<Value>,
    /// Unix seconds as a string, like the real field; now when omitted.
    timestamp: Option<String>,
}

async fn send_status(Extract(state): Shared, Json(request): Json<StatusRequest>) -> Response {
    let StatusRequest {
        wamid,
        status,
        errors,
        timestamp,
    } = request;
    match statuses::post_for_wamid(&state, &wamid, &status, errors, timestamp).await {
        Ok(delivery) => Json(delivery).into_response(),
        Err(error) => {
            let code = match error {
                statuses::StatusError::UnknownWamid(_) => StatusCode::NOT_FOUND,
                statuses::StatusError::InvalidStatus(_) => StatusCode::BAD_REQUEST,
            };
            (code, Json(json!({ "error": error.to_string() }))).into_response()
        }
    }
}

async fn reset(Extract(state): Shared) -> StatusCode {
    state.reset();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct SubscribeRequest {
    verify_token: String,
    callback_url: Option<String>,
    challenge: Option<String>,
}

async fn handshake(
    Extract(state): Shared,
    Json(request): Json<SubscribeRequest>,
) -> Json<SubscribeOutcome> {
    let outcome = subscribe(
        &state,
        request.callback_url.as_deref(),
        &request.verify_token,
        request.challenge,
    )
    .await;
    Json(outcome)
}

/// Result of the subscription handshake Meta performs when a webhook URL is configured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscribeOutcome {
    /// The callback answered 200 with exactly the challenge as its body.
    pub ok: bool,
    /// The URL called (with the `hub.*` query).
    pub url: Option<String>,
    pub challenge: String,
    pub status: Option<u16>,
    pub body: Option<String>,
    /// Why the call could not be made.
    pub error: Option<String>,
}

/// `GET <callback>?hub.mode=subscribe&hub.challenge=<n>&hub.verify_token=<t>`.
pub(super) async fn subscribe(
    state: &State,
    callback_url: Option<&str>,
    verify_token: &str,
    challenge: Option<String>,
) -> SubscribeOutcome {
    let challenge = challenge.unwrap_or_else(|| {
        rand::thread_rng()
            .gen_range(100_000_000..2_000_000_000u32)
            .to_string()
    });
    let mut outcome = SubscribeOutcome {
        ok: false,
        url: None,
        challenge: challenge.clone(),
        status: None,
        body: None,
        error: None,
    };
    let Some(base) = callback_url
        .map(str::to_owned)
        .or_else(|| state.config().callback_url)
    else {
        outcome.error = Some("no callback URL given or configured".to_owned());
        return outcome;
    };
    let mut url = match reqwest::Url::parse(&base) {
        Ok(url) => url,
        Err(error) => {
            outcome.error = Some(format!("callback URL {base:?} is not a URL: {error}"));
            return outcome;
        }
    };
    url.query_pairs_mut()
        .append_pair("hub.mode", "subscribe")
        .append_pair("hub.challenge", &challenge)
        .append_pair("hub.verify_token", verify_token);
    outcome.url = Some(url.to_string());
    let response = match state.client.get(url).send().await {
        Ok(response) => response,
        Err(error) => {
            outcome.error = Some(error.to_string());
            return outcome;
        }
    };
    let status = response.status().as_u16();
    outcome.status = Some(status);
    match response.text().await {
        Ok(body) => {
            outcome.ok = status == 200 && body == challenge;
            outcome.body = Some(body);
        }
        Err(error) => outcome.error = Some(error.to_string()),
    }
    outcome
}
