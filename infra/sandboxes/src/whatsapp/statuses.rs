//! Status webhooks: the `whatsapp_business_account` envelope, its `X-Hub-Signature-256`, and the
//! per-message schedule (`sent` → `delivered` → `read`, or one `failed`).

use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use super::errors::webhook_error;
use super::{Delivery, State, BUSINESS_ACCOUNT_ID, DISPLAY_PHONE_NUMBER};

const STATUSES: [&str; 4] = ["sent", "delivered", "read", "failed"];

/// What a status is about.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) wamid: String,
    pub(crate) recipient_id: String,
    pub(crate) phone_number_id: String,
    pub(crate) biz_opaque: Option<String>,
    /// Pricing category: `utility` for templates, `service` for free text.
    pub(crate) category: &'static str,
}

/// How an accepted message ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fate {
    Deliver,
    /// One `failed` status with this error code.
    Fail(i64),
}

/// Emits the statuses of one accepted message, `status_delay` apart, unless a reset intervenes.
pub(super) async fn schedule(state: Arc<State>, generation: u64, target: Target, fate: Fate) {
    let plan: Vec<(&str, Option<Value>)> = match fate {
        Fate::Deliver => {
            let mut plan = vec![("sent", None), ("delivered", None)];
            if state.config().send_read {
                plan.push(("read", None));
            }
            plan
        }
        Fate::Fail(code) => vec![("failed", Some(json!([webhook_error(code)])))],
    };
    for (status, errors) in plan {
        tokio::time::sleep(state.config().status_delay).await;
        if state.lock().generation != generation {
            return;
        }
        post(&state, &target, status, errors, None).await;
    }
}

/// Why a status cannot be posted on request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// Answered 400 by the control API.
    #[error("status must be one of sent, delivered, read, failed; got {0:?}")]
    InvalidStatus(String),
    /// Answered 404 by the control API.
    #[error("no accepted message has id {0}")]
    UnknownWamid(String),
}

/// Posts one status for a message the sandbox accepted (control API).
pub(super) async fn post_for_wamid(
    state: &State,
    wamid: &str,
    status: &str,
    errors: Option<Value>,
    timestamp: Option<String>,
) -> Result<Delivery, StatusError> {
    if !STATUSES.contains(&status) {
        return Err(StatusError::InvalidStatus(status.to_owned()));
    }
    let target = {
        let inner = state.lock();
        let message = inner
            .messages
            .iter()
            .find(|m| m.wamid.as_deref() == Some(wamid))
            .ok_or_else(|| StatusError::UnknownWamid(wamid.to_owned()))?;
        Target {
            wamid: wamid.to_owned(),
            recipient_id: message.wa_id.clone(),
            phone_number_id: message.phone_number_id.clone(),
            biz_opaque: message.biz_opaque_callback_data.clone(),
            category: if message.message_type == "template" {
                "utility"
            } else {
                "service"
            },
        }
    };
    let errors = match (status, errors) {
        ("failed", None) => Some(json!([webhook_error(131000)])),
        (_, errors) => errors,
    };
    Ok(post(state, &target, status, errors, timestamp).await)
}

/// Builds, signs and posts one status webhook; logs it whatever the outcome.
async fn post(
    state: &State,
    target: &Target,
    status: &str,
    errors: Option<Value>,
    timestamp: Option<String>,
) -> Delivery {
    let timestamp =
        timestamp.unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp().to_string());
    let body = envelope(target, status, errors, &timestamp).to_string();
    let (url, secret) = {
        let mut inner = state.lock();
        if let Some(message) = inner
            .messages
            .iter_mut()
            .find(|m| m.wamid.as_deref() == Some(target.wamid.as_str()))
        {
            message.statuses.push(status.to_owned());
        }
        (
            inner.config.callback_url.clone(),
            inner.config.app_secret.clone(),
        )
    };
    let signature = signature(&secret, body.as_bytes());
    let (response_status, error) = match &url {
        None => (None, None),
        Some(url) => {
            let sent = state
                .client
                .post(url)
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(http::header::USER_AGENT, "facebookexternalua")
                .header("X-Hub-Signature-256", &signature)
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(response) => (Some(response.status().as_u16()), None),
                Err(error) => {
                    tracing::warn!(%error, %url, "status webhook not delivered");
                    (None, Some(error.to_string()))
                }
            }
        }
    };
    let mut inner = state.lock();
    let delivery = Delivery {
        seq: u64::try_from(inner.deliveries.len())
            .unwrap_or(u64::MAX)
            .saturating_add(1),
        wamid: target.wamid.clone(),
        status: status.to_owned(),
        url,
        body,
        signature,
        response_status,
        error,
    };
    inner.deliveries.push(delivery.clone());
    delivery
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub(crate) fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length; the error arm cannot happen.
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

fn envelope(target: &Target, status: &str, errors: Option<Value>, timestamp: &str) -> Value {
    let mut entry = json!({
        "id": target.wamid,
        "status": status,
        "timestamp": timestamp,
        "recipient_id": target.recipient_id,
    });
    if let Some(opaque) = &target.biz_opaque {
        entry["biz_opaque_callback_data"] = json!(opaque);
    }
    if matches!(status, "sent" | "delivered") {
        let mut conversation = json!({
            "id": conversation_id(&target.recipient_id),
            "origin": { "type": target.category },
        });
        if status == "sent" {
            let expires = time::OffsetDateTime::now_utc().unix_timestamp() + 24 * 3600;
            conversation["expiration_timestamp"] = json!(expires.to_string());
        }
        entry["conversation"] = conversation;
        entry["pricing"] =
            json!({ "billable": true, "pricing_model": "PMP", "category": target.category });
    }
    if let Some(errors) = errors {
        entry["errors"] = errors;
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": BUSINESS_ACCOUNT_ID,
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": DISPLAY_PHONE_NUMBER,
                        "phone_number_id": target.phone_number_id,
                    },
                    "statuses": [entry],
                },
            }],
        }],
    })
}

/// A stable 32-hex-digit conversation id per recipient.
fn conversation_id(recipient: &str) -> String {
    let digest = Sha256::digest(recipient.as_bytes());
    hex::encode(&digest[..16])
}
