//! The two providers: SES v2 (`Content.Simple`) and the WhatsApp Cloud API. Each call ends in
//! an [`Outcome`] that says whether the message was accepted, may be retried, or must not be.

use std::sync::LazyLock;
use std::time::Duration;

use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use serde_json::{json, Value};

use crate::templates::{Rendered, RenderedEmail};
use crate::AppState;

/// What one provider call achieved.
///
/// # Retry rule (never twice)
/// Neither SES nor the Cloud API deduplicates a resent message, so a request is retried only
/// when it provably did not reach the provider (connect phase: DNS, connection refused, TLS,
/// connect timeout) or when the provider answered that it did not take it because of a rate
/// limit. Anything after the request was written (read timeout, reset mid-response, a 5xx
/// answer, an unreadable answer) is [`Outcome::Unknown`] and is never sent again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted, with the provider's message id.
    Accepted(String),
    /// The request never reached the provider (connect phase); it may be tried again.
    Transient(String),
    /// The provider answered "too many requests": not taken, try later (does not count as a
    /// failed receive, see `sender`).
    Throttled(String),
    /// Not accepted and never will be as is (rejected, bad recipient, bad credentials).
    Permanent(String),
    /// The request may or may not have been acted on (after it was written): resending could
    /// duplicate the message, so it is not retried.
    Unknown(String),
}

/// Whether `err` (or one of its sources) is a failure to establish the connection, i.e. the
/// request was never written. The SDK's `ConnectorError` kinds (`is_io`, `is_timeout`, …) do
/// not say which phase failed (a reset while reading the answer is `io` too), but the HTTP
/// client's own error does: hyper-util marks connect-phase failures (DNS, refused, TLS
/// handshake, connect timeout) with `is_connect`.
pub fn never_sent(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(h) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            if h.is_connect() {
                return true;
            }
        }
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            if r.is_connect() {
                return true;
            }
        }
        current = e.source();
    }
    false
}

/// Sends an e-mail through SES v2.
pub async fn send_email(
    state: &AppState,
    from: &str,
    to: &str,
    email: &RenderedEmail,
    project_id: &str,
    notification_id: &str,
) -> Outcome {
    let tags = [
        ("project_id", project_id),
        ("notification_id", notification_id),
    ];
    let Some(request) = crate::ses::request(state, from, to, email, &tags) else {
        return Outcome::Permanent("invalid_content: empty subject".into());
    };
    match request.send().await {
        Ok(out) => match out.message_id {
            Some(id) => Outcome::Accepted(id),
            None => Outcome::Unknown("ses_no_message_id".into()),
        },
        Err(err) => classify_ses(&err),
    }
}

/// SES error codes meaning "not taken: too many requests" (SES v2 answers HTTP 429
/// `TooManyRequestsException`; the sending-quota family answers `LimitExceededException`;
/// `Throttling*` are the generic AWS spellings).
const SES_THROTTLED: &[&str] = &[
    "TooManyRequestsException",
    "LimitExceededException",
    "Throttling",
    "ThrottlingException",
];

pub fn classify_ses<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Outcome {
    match err {
        // Built locally, never sent.
        SdkError::ConstructionFailure(_) => Outcome::Transient("ses_request_not_built".into()),
        SdkError::DispatchFailure(d) => match d.as_connector_error() {
            Some(c) if never_sent(c) => Outcome::Transient("ses_unreachable".into()),
            // A reset or timeout after the request was written: SES may have sent it.
            _ => Outcome::Unknown("ses_connection_lost".into()),
        },
        SdkError::TimeoutError(_) => Outcome::Unknown("ses_timeout".into()),
        SdkError::ResponseError(_) => Outcome::Unknown("ses_unreadable_response".into()),
        SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or("Unknown");
            let message = e.err().message().unwrap_or("");
            let reason = format!("ses:{code}: {message}");
            let status = e.raw().status().as_u16();
            if SES_THROTTLED.contains(&code) || status == 429 {
                Outcome::Throttled(reason)
            } else if status >= 500 {
                // InternalFailure, ServiceUnavailable…: answered after the request was read.
                Outcome::Unknown(reason)
            } else {
                Outcome::Permanent(reason)
            }
        }
        _ => Outcome::Unknown("ses_error".into()),
    }
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

#[cfg(test)]
#[path = "providers_tests.rs"]
mod socket_tests;
