//! E-mail through the stack's Amazon SES account (v2, `Content.Simple`), from the project's
//! configured sender address. SES has no idempotency token: one attempt per call.

use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use futures::future::BoxFuture;
use futures::FutureExt;

use super::{never_sent, Outcome, Outgoing, Transport};
use crate::templates::{Rendered, RenderedEmail};
use crate::AppState;

/// The e-mail channel.
pub struct SesEmail<'s> {
    pub state: &'s AppState,
}

impl Transport for SesEmail<'_> {
    fn send<'a>(&'a self, message: &'a Outgoing<'a>) -> BoxFuture<'a, Outcome> {
        async move {
            let Rendered::Email(email) = message.rendered else {
                return Outcome::Permanent("template_channel_mismatch".into());
            };
            let Some(from) = message.project.email_from.as_deref() else {
                return Outcome::Permanent("email_sender_not_configured".into());
            };
            let project_id = message.project.id.to_string();
            let (to, id) = (message.recipient, message.notification_id);
            send_email(self.state, from, to, email, &project_id, id).await
        }
        .boxed()
    }
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
