//! The two providers: SES v2 (`Content.Simple`) and the WhatsApp Cloud API. Each call ends in
//! an [`Outcome`] that says whether the message was accepted, may be retried, or must not be.

use std::sync::LazyLock;
use std::time::Duration;

use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};
use serde_json::{json, Value};

use crate::templates::{Rendered, RenderedEmail};
use crate::AppState;

/// What one provider call achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted, with the provider's message id.
    Accepted(String),
    /// Not accepted, and it may work later (throttling, 5xx, connection refused).
    Transient(String),
    /// Not accepted and never will be as is (rejected, bad recipient, bad credentials).
    Permanent(String),
    /// The request may or may not have reached the provider (timeout after sending): resending
    /// could duplicate the message, so it is not retried.
    Unknown(String),
}

/// A `SendEmail` request for one recipient: simple content (HTML and/or text), the given
/// message tags and the stack's configuration set (so SES publishes its events). `None` when
/// the subject is empty.
pub fn ses_request(
    state: &AppState,
    from: &str,
    to: &str,
    email: &RenderedEmail,
    tags: &[(&str, &str)],
) -> Option<aws_sdk_sesv2::operation::send_email::builders::SendEmailFluentBuilder> {
    let text = |data: &str| Content::builder().data(data).charset("UTF-8").build();
    let subject = text(&email.subject).ok()?;
    let mut body = Body::builder();
    if let Some(Ok(html)) = email.html.as_deref().map(text) {
        body = body.html(html);
    }
    if let Some(Ok(plain)) = email.text.as_deref().map(text) {
        body = body.text(plain);
    }
    let message = Message::builder()
        .subject(subject)
        .body(body.build())
        .build();
    let tags = tags
        .iter()
        .filter_map(|(n, v)| MessageTag::builder().name(*n).value(*v).build().ok());
    let request = state
        .ses
        .send_email()
        .from_email_address(from)
        .destination(Destination::builder().to_addresses(to).build())
        .content(EmailContent::builder().simple(message).build())
        .set_email_tags(Some(tags.collect()));
    Some(match &state.config.ses_configuration_set {
        Some(set) => request.configuration_set_name(set),
        None => request,
    })
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
    let Some(request) = ses_request(state, from, to, email, &tags) else {
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

fn classify_ses<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Outcome {
    match err {
        // The request never left: safe to try again.
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => {
            Outcome::Transient("ses_unreachable".into())
        }
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            Outcome::Unknown("ses_timeout".into())
        }
        SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or("Unknown");
            let message = e.err().message().unwrap_or("");
            let reason = format!("ses:{code}: {message}");
            match code {
                "TooManyRequestsException"
                | "LimitExceededException"
                | "Throttling"
                | "ThrottlingException"
                | "InternalFailure"
                | "ServiceUnavailable" => Outcome::Transient(reason),
                _ => Outcome::Permanent(reason),
            }
        }
        _ => Outcome::Unknown("ses_error".into()),
    }
}

/// Graph codes worth retrying (throughput, pair rate limit, temporary errors).
const WHATSAPP_TRANSIENT: &[i64] = &[4, 80007, 130429, 131000, 131001, 131002, 131056, 133004];

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
        Err(e) if e.is_connect() => return Outcome::Transient("whatsapp_unreachable".into()),
        Err(_) => return Outcome::Unknown("whatsapp_timeout".into()),
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

/// Graph errors are classified by `error.code` (HTTP statuses are not reliable for that).
pub fn classify_whatsapp(http_status: u16, body: &Value) -> Outcome {
    let error = &body["error"];
    let Some(code) = error["code"].as_i64() else {
        return if http_status >= 500 || http_status == 429 {
            Outcome::Transient(format!("whatsapp:http_{http_status}"))
        } else {
            Outcome::Permanent(format!("whatsapp:http_{http_status}"))
        };
    };
    let message: String = error["message"]
        .as_str()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    let reason = format!("whatsapp:{code}: {message}");
    if WHATSAPP_TRANSIENT.contains(&code) {
        Outcome::Transient(reason)
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
        assert!(matches!(err(130429, 400), Outcome::Transient(_)));
        assert!(matches!(err(131056, 400), Outcome::Transient(_)));
        assert!(matches!(err(131000, 500), Outcome::Transient(_)));
        assert!(matches!(err(131047, 400), Outcome::Permanent(_)));
        assert!(matches!(err(131026, 400), Outcome::Permanent(_)));
        assert!(matches!(err(190, 401), Outcome::Permanent(_)));
        assert!(matches!(
            classify_whatsapp(503, &json!({})),
            Outcome::Transient(_)
        ));
    }
}
