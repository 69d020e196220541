//! SES delivery feedback: the `email-feedback` function.
//!
//! Every e-mail is sent with the configuration set `EmailConfigurationSet`, whose event
//! destination publishes `bounce`, `complaint` and `delivery` events to an SNS topic; an SQS
//! subscription (`EmailEventsQueue`) buffers them for this consumer, so a storage outage means a
//! retry and finally the dead-letter queue, never a dropped event.
//!
//! Each SQS body is an SNS envelope whose `Message` is one SES event (the raw event is accepted
//! too, should raw message delivery be turned on). Mapping, through the provider-message item
//! the sender wrote for the SES message id:
//! - `Bounce` with `bounceType: Permanent` → `bounced` (reason `ses:bounce:<subtype>`), which
//!   also emits `notification.failed`; transient and undetermined bounces are SES still trying
//!   and change nothing;
//! - `Complaint` → `complained` (reason `ses:complaint:<feedback type>`);
//! - `Delivery` → `delivered`.
//!
//! Updates apply only when they outrank the current status (see `model::Status::rank`), so
//! duplicates and out-of-order events are harmless; the event's own timestamp goes into the
//! history. Events for unknown message ids are logged and acknowledged.

use aws_lambda_events::event::sqs::SqsMessage;
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::model::Status;
use super::store;
use crate::sqs::MessageError;
use crate::AppState;

/// What one SES event asks of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// The SES message id (`mail.messageId`).
    pub message_id: String,
    pub to: Status,
    /// The provider's event time (RFC 3339), when it sent a readable one.
    pub at: Option<OffsetDateTime>,
    pub reason: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Message")]
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesEvent {
    event_type: Option<String>,
    notification_type: Option<String>,
    mail: Mail,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
    delivery: Option<Delivery>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    message_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    bounce_sub_type: Option<String>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    complaint_feedback_type: Option<String>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
struct Delivery {
    timestamp: Option<String>,
}

/// Reads one SQS body. `Err` = not an SES event at all (retrying cannot help); `Ok(None)` = an
/// SES event that changes no notification (a soft bounce, an event type we don't map).
pub fn parse(body: &str) -> Result<Option<Feedback>, String> {
    let event: SesEvent = match serde_json::from_str::<Envelope>(body) {
        Ok(envelope) => serde_json::from_str(&envelope.message),
        Err(_) => serde_json::from_str(body),
    }
    .map_err(|e| format!("not an SES event: {}", e.classify_name()))?;
    let kind = event
        .event_type
        .as_deref()
        .or(event.notification_type.as_deref())
        .unwrap_or_default();
    let text = |s: Option<&str>, default: &str| -> String {
        s.unwrap_or(default)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .take(64)
            .collect()
    };
    let (to, at, reason) = match (kind, &event.bounce, &event.complaint, &event.delivery) {
        ("Bounce", Some(b), _, _) if b.bounce_type == "Permanent" => (
            Status::Bounced,
            b.timestamp.as_deref(),
            Some(format!(
                "ses:bounce:{}",
                text(b.bounce_sub_type.as_deref(), "General")
            )),
        ),
        ("Complaint", _, Some(c), _) => (
            Status::Complained,
            c.timestamp.as_deref(),
            Some(format!(
                "ses:complaint:{}",
                text(c.complaint_feedback_type.as_deref(), "unspecified")
            )),
        ),
        ("Delivery", _, _, Some(d)) => (Status::Delivered, d.timestamp.as_deref(), None),
        _ => return Ok(None),
    };
    Ok(Some(Feedback {
        message_id: event.mail.message_id,
        to,
        at: at.and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok()),
        reason,
    }))
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    /// The error's category only: its message could quote the body, which holds addresses.
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// Applies one feedback; `true` when a notification changed.
pub async fn apply(state: &AppState, feedback: Feedback) -> Result<bool, crate::db::StorageError> {
    let Some((project, id)) =
        store::find_provider_message(state, "email", &feedback.message_id).await?
    else {
        tracing::warn!(
            status = feedback.to.name(),
            "SES event for a message id Mostrador did not record; ignored"
        );
        return Ok(false);
    };
    let at = crate::clock::rfc3339(feedback.at.unwrap_or_else(|| state.clock.now()));
    let changed =
        store::apply_feedback(state, &project, &id, feedback.to, at, feedback.reason).await?;
    let Some(notification) = changed else {
        return Ok(false);
    };
    tracing::info!(notification_id = %id, status = notification.status.name(), "SES feedback applied");
    if notification.status == Status::Bounced {
        super::emit_failed(state, &notification).await;
    }
    Ok(true)
}

/// The `email-feedback` function's SQS handler.
pub fn handler(
    state: &'static AppState,
    message: SqsMessage,
) -> BoxFuture<'static, Result<(), MessageError>> {
    async move {
        let body = message.body.as_deref().unwrap_or_default();
        let Some(feedback) = parse(body).map_err(MessageError::dead_letter)? else {
            return Ok(());
        };
        apply(state, feedback).await?;
        Ok(())
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(event: serde_json::Value) -> String {
        serde_json::json!({
            "Type": "Notification",
            "MessageId": "0d3e…",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:email-events",
            "Message": event.to_string(),
            "Timestamp": "2026-11-22T10:00:01.000Z",
        })
        .to_string()
    }

    fn bounce(kind: &str, sub: &str) -> serde_json::Value {
        serde_json::json!({
            "eventType": "Bounce",
            "mail": {"messageId": "m-1", "timestamp": "2026-11-22T10:00:00.000Z"},
            "bounce": {"bounceType": kind, "bounceSubType": sub,
                       "timestamp": "2026-11-22T10:00:00.500Z",
                       "bouncedRecipients": [{"emailAddress": "ana@example.com"}]},
        })
    }

    #[test]
    fn a_permanent_bounce_in_an_sns_envelope_bounces() {
        let f = parse(&envelope(bounce("Permanent", "NoEmail")))
            .unwrap()
            .unwrap();
        assert_eq!(f.message_id, "m-1");
        assert_eq!(f.to, Status::Bounced);
        assert_eq!(f.reason.as_deref(), Some("ses:bounce:NoEmail"));
        assert_eq!(
            f.at.map(|t| t.unix_timestamp()),
            Some(
                OffsetDateTime::parse("2026-11-22T10:00:00Z", &Rfc3339)
                    .unwrap()
                    .unix_timestamp()
            )
        );
    }

    #[test]
    fn soft_bounces_change_nothing() {
        assert_eq!(
            parse(&envelope(bounce("Transient", "MailboxFull"))).unwrap(),
            None
        );
        assert_eq!(
            parse(&envelope(bounce("Undetermined", "Undetermined"))).unwrap(),
            None
        );
    }

    #[test]
    fn complaints_deliveries_and_raw_delivery() {
        let complaint = serde_json::json!({
            "notificationType": "Complaint",
            "mail": {"messageId": "m-2"},
            "complaint": {"complaintFeedbackType": "abuse", "timestamp": "2026-11-22T10:00:00Z"},
        });
        let f = parse(&complaint.to_string()).unwrap().unwrap();
        assert_eq!(
            (f.to, f.reason.as_deref()),
            (Status::Complained, Some("ses:complaint:abuse"))
        );
        let delivery = serde_json::json!({
            "eventType": "Delivery", "mail": {"messageId": "m-3"},
            "delivery": {"timestamp": "not a time"},
        });
        let f = parse(&envelope(delivery)).unwrap().unwrap();
        assert_eq!((f.to, f.at, f.reason), (Status::Delivered, None, None));
    }

    #[test]
    fn reasons_keep_only_plain_characters() {
        let f = parse(&envelope(bounce("Permanent", "No\r\nEmail <x@y>")))
            .unwrap()
            .unwrap();
        assert_eq!(f.reason.as_deref(), Some("ses:bounce:NoEmailxy"));
    }

    #[test]
    fn other_bodies_are_permanent_errors_without_echoing_them() {
        let err = parse("{\"to\": \"ana@example.com\"").unwrap_err();
        assert!(!err.contains("ana@"), "{err}");
        assert!(parse(&envelope(serde_json::json!({"eventType": "Bounce"}))).is_err());
        assert_eq!(
            parse(&envelope(
                serde_json::json!({"eventType": "Open", "mail": {"messageId": "m"}})
            ))
            .unwrap(),
            None
        );
    }
}
