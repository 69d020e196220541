//! WhatsApp through the Cloud API, with the project's own credentials (access token and phone
//! number id, kept in Secrets Manager). The Cloud API has no idempotency key we can rely on:
//! one attempt per call.

use std::sync::LazyLock;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::{never_sent, Outcome, Outgoing, Transport};
use crate::contact::Phone;
use crate::credentials::{self, Provider};
use crate::templates::Rendered;
use crate::AppState;

/// The WhatsApp (Cloud API) channel.
pub struct WhatsappCloud<'s> {
    pub state: &'s AppState,
}

impl Transport for WhatsappCloud<'_> {
    fn send<'a>(&'a self, message: &'a Outgoing<'a>) -> BoxFuture<'a, Outcome> {
        send(self.state, message).boxed()
    }
}

async fn send(state: &AppState, message: &Outgoing<'_>) -> Outcome {
    let rendered = message.rendered;
    if !matches!(
        rendered,
        Rendered::WhatsAppText { .. } | Rendered::WhatsAppTemplate(_)
    ) {
        return Outcome::Permanent("template_channel_mismatch".into());
    }
    let creds = match credentials::get(state, &message.project.id, Provider::Whatsapp).await {
        Ok(Some(c)) => c,
        Ok(None) => return Outcome::Permanent("whatsapp_not_configured".into()),
        Err(e) => return Outcome::Transient(format!("secrets: {}", e.code())),
    };
    let field = |k: &str| creds.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let (Some(access_token), Some(phone_number_id)) =
        (field("access_token"), field("phone_number_id"))
    else {
        return Outcome::Permanent("whatsapp_not_configured".into());
    };
    let creds = WhatsappCredentials {
        access_token,
        phone_number_id,
        api_version: field("api_version").unwrap_or_else(|| "v21.0".to_owned()),
    };
    let Ok(phone) = Phone::parse(message.recipient) else {
        return Outcome::Permanent("invalid_recipient".into());
    };
    let body = whatsapp_body(phone.digits(), rendered, message.notification_id);
    send_whatsapp(state, &creds, &body).await
}

/// Graph codes meaning "not taken: rate limited" (throughput, pair rate limit, app and
/// account call limits). Other errors are permanent, or unknown when answered with a 5xx.
const WHATSAPP_THROTTLED: &[i64] = &[4, 80007, 130429, 131056];

static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
});

/// The WhatsApp credentials the sender needs.
pub struct WhatsappCredentials {
    pub access_token: String,
    pub phone_number_id: String,
    pub api_version: String,
}

/// The Cloud API request body for a rendered WhatsApp content.
pub fn whatsapp_body(to_digits: &str, rendered: &Rendered, notification_id: &str) -> Value {
    match rendered {
        Rendered::WhatsAppTemplate(t) => json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to_digits,
            "type": "template",
            "template": {
                "name": t.name,
                "language": {"code": t.language},
                "components": [{
                    "type": "body",
                    "parameters": t.parameters.iter().map(|p| json!({"type": "text", "text": p})).collect::<Vec<_>>(),
                }],
            },
            "biz_opaque_callback_data": notification_id,
        }),
        Rendered::WhatsAppText { body } => json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to_digits,
            "type": "text",
            "text": {"preview_url": false, "body": body},
            "biz_opaque_callback_data": notification_id,
        }),
        Rendered::Email(_) => json!({}),
    }
}

/// Sends one WhatsApp message.
pub async fn send_whatsapp(state: &AppState, creds: &WhatsappCredentials, body: &Value) -> Outcome {
    let url = format!(
        "{}/{}/{}/messages",
        state.config.whatsapp_api_base_url, creds.api_version, creds.phone_number_id
    );
    let sent = CLIENT
        .post(url)
        .bearer_auth(&creds.access_token)
        .json(body)
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) if never_sent(&e) => return Outcome::Transient("whatsapp_unreachable".into()),
        // Timed out or cut after the request was written: Meta may have taken it.
        Err(_) => return Outcome::Unknown("whatsapp_connection_lost".into()),
    };
    let status = response.status();
    let Ok(text) = response.text().await else {
        return Outcome::Unknown("whatsapp_unreadable_response".into());
    };
    let parsed: Value = serde_json::from_str(&text).unwrap_or_default();
    if status.is_success() {
        return match parsed["messages"][0]["id"].as_str() {
            Some(id) => Outcome::Accepted(id.to_owned()),
            None => Outcome::Unknown("whatsapp_no_message_id".into()),
        };
    }
    classify_whatsapp(status.as_u16(), &parsed)
}

/// Graph errors: throttling codes (or HTTP 429) may be retried later; any other 5xx answer
/// came after Meta read the request, so it is unknown whether the message went out; the rest
/// are permanent.
pub fn classify_whatsapp(http_status: u16, body: &Value) -> Outcome {
    let error = &body["error"];
    let code = error["code"].as_i64();
    let message: String = error["message"]
        .as_str()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    let reason = match code {
        Some(code) => format!("whatsapp:{code}: {message}"),
        None => format!("whatsapp:http_{http_status}"),
    };
    if http_status == 429 || code.is_some_and(|c| WHATSAPP_THROTTLED.contains(&c)) {
        Outcome::Throttled(reason)
    } else if http_status >= 500 {
        Outcome::Unknown(reason)
    } else {
        Outcome::Permanent(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatsapp_errors_are_classified_by_code() {
        let err = |code: i64, http: u16| {
            classify_whatsapp(http, &json!({"error": {"code": code, "message": "x"}}))
        };
        assert!(matches!(err(130429, 400), Outcome::Throttled(_)));
        assert!(matches!(err(131056, 400), Outcome::Throttled(_)));
        assert!(matches!(err(4, 400), Outcome::Throttled(_)));
        // A 5xx came after Meta read the request: it may have gone out.
        assert!(matches!(err(131000, 500), Outcome::Unknown(_)));
        assert!(matches!(err(133004, 503), Outcome::Unknown(_)));
        assert!(matches!(
            classify_whatsapp(503, &json!({})),
            Outcome::Unknown(_)
        ));
        assert!(matches!(
            classify_whatsapp(429, &json!({})),
            Outcome::Throttled(_)
        ));
        assert!(matches!(err(131047, 400), Outcome::Permanent(_)));
        assert!(matches!(err(131026, 400), Outcome::Permanent(_)));
        assert!(matches!(err(190, 401), Outcome::Permanent(_)));
    }
}
