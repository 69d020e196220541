//! PaymentsQueue messages: ids only, never payment data (the sync re-fetches everything).

use crate::error::ApiError;
use crate::ids::{PaymentId, ProjectId};
use crate::sqs::Cause;
use crate::AppState;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// A provider payment changed (or may have): fetch it and apply it.
    ProviderPayment { provider_payment_id: String },
    /// A provider notification about something other than one payment: the provider resolves
    /// `reference` into payment ids ([`super::provider::PaymentProvider::notice_payments`]),
    /// each applied as above. Its wire names are those of version 1, kept so messages already
    /// queued are read alike.
    #[serde(rename = "provider_order")]
    ProviderNotice {
        #[serde(rename = "provider_order_id")]
        reference: String,
    },
    /// Re-check one of our payments (reconciliation).
    Reconcile { payment_id: PaymentId },
    /// Announce an order whose order-paid marker says `order.paid` did not go out yet.
    Announce { order_id: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Message format version.
    pub v: u8,
    pub project_id: ProjectId,
    #[serde(flatten)]
    pub job: Job,
}

/// The payments queue did not take a message; the SQS (or encoding) error is the source.
#[derive(Debug, thiserror::Error)]
#[error("payments queue unavailable")]
pub struct QueueUnavailable(#[source] Cause);

/// The HTTP edge: the client's to retry (503 `queue_unavailable` with `Retry-After`).
impl From<QueueUnavailable> for ApiError {
    fn from(err: QueueUnavailable) -> Self {
        ApiError::unavailable(
            "queue_unavailable",
            "the payments queue is temporarily unavailable; retry shortly",
        )
        .with_header(http::header::RETRY_AFTER, "1")
        .with_source(err)
    }
}

pub async fn send(state: &AppState, project: &ProjectId, job: Job) -> Result<(), QueueUnavailable> {
    let body = serde_json::to_string(&Message {
        v: 1,
        project_id: *project,
        job,
    })
    .map_err(|e| QueueUnavailable(e.into()))?;
    state
        .sqs
        .send_message()
        .queue_url(&state.config.payments_queue_url)
        .message_body(body)
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(error = %crate::telemetry::error_chain(&e), "payments queue unavailable");
            QueueUnavailable(e.into())
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let m = Message {
            v: 1,
            project_id: ProjectId::new(),
            job: Job::ProviderPayment {
                provider_payment_id: "123".into(),
            },
        };
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.contains("\"kind\":\"provider_payment\""));
        assert_eq!(serde_json::from_str::<Message>(&text).unwrap(), m);
    }

    /// Version 1 as queued before the job was named provider-neutrally (and by any intake
    /// still running the old code): read alike, and written the same.
    #[test]
    fn version_one_messages_already_queued_still_parse() {
        let project = ProjectId::new();
        let old = format!(
            r#"{{"v":1,"project_id":"{project}","kind":"provider_order","provider_order_id":"987"}}"#
        );
        let m: Message = serde_json::from_str(&old).unwrap();
        assert_eq!(
            m.job,
            Job::ProviderNotice {
                reference: "987".into()
            }
        );
        assert_eq!(serde_json::to_string(&m).unwrap(), old);
        for job in [
            r#""kind":"provider_payment","provider_payment_id":"123""#.to_owned(),
            format!(r#""kind":"reconcile","payment_id":"{}""#, PaymentId::new()),
            r#""kind":"announce","order_id":"o-1""#.to_owned(),
        ] {
            let text = format!(r#"{{"v":1,"project_id":"{project}",{job}}}"#);
            let m: Message = serde_json::from_str(&text).unwrap();
            assert_eq!(serde_json::to_string(&m).unwrap(), text);
        }
    }
}
