//! SQS consumer plumbing: one batch in, partial batch failures out.
//!
//! Messages of a batch run concurrently; each failed message is reported by id in
//! `batchItemFailures` (the function's event source mapping has `ReportBatchItemFailures`), so
//! only that message returns to the queue and, after `maxReceiveCount`, to its dead-letter queue.

use crate::AppState;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use tracing::Instrument;

/// What made a message fail: any error, kept whole so the log shows its chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why a message was not processed, and what the queue should do with it. Either way the
/// message is reported as a batch item failure; the kind says whether another receive can help.
/// Messages a consumer has finished with, or that are obsolete, are acknowledged (`Ok`).
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// Worth another try (throttling, a dependency down, a lost race): the message becomes
    /// visible again (after the consumer's backoff, if it set one, else the queue's timeout).
    #[error("retry")]
    Retry {
        #[source]
        cause: Cause,
    },
    /// Retrying cannot help (malformed, unknown version). Still reported as failed, so the
    /// message reaches the DLQ after its receives; handlers record a terminal state first where
    /// they can.
    #[error("dead letter")]
    DeadLetter {
        #[source]
        cause: Cause,
    },
}

impl MessageError {
    pub fn retry(cause: impl Into<Cause>) -> Self {
        Self::Retry {
            cause: cause.into(),
        }
    }

    pub fn dead_letter(cause: impl Into<Cause>) -> Self {
        Self::DeadLetter {
            cause: cause.into(),
        }
    }

    pub fn is_retry(&self) -> bool {
        matches!(self, Self::Retry { .. })
    }

    /// The kind, for the log.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Retry { .. } => "retry",
            Self::DeadLetter { .. } => "dead_letter",
        }
    }
}

/// The SQS edge for storage: nothing about storage is the message's fault, so every kind comes
/// back for another try, with the storage error (kind and SDK error) as its cause.
impl From<crate::db::StorageError> for MessageError {
    fn from(err: crate::db::StorageError) -> Self {
        Self::retry(err)
    }
}

/// One message's handler.
pub type SqsHandler =
    fn(&'static AppState, SqsMessage) -> BoxFuture<'static, Result<(), MessageError>>;

/// How many messages of one batch are processed at once.
pub const BATCH_CONCURRENCY: usize = 10;

/// Makes a failed `message` visible again after `seconds` instead of the queue's whole
/// visibility timeout (retry backoff). Best effort: if it fails the queue's timeout applies.
pub async fn retry_in(state: &AppState, queue_url: &str, message: &SqsMessage, seconds: i32) {
    let Some(handle) = message.receipt_handle.as_deref() else {
        return;
    };
    let result = state
        .sqs
        .change_message_visibility()
        .queue_url(queue_url)
        .receipt_handle(handle)
        .visibility_timeout(seconds)
        .send()
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %crate::telemetry::error_chain(&e), "visibility not shortened; the queue's timeout applies");
    }
}

/// The one place a message's outcome becomes the queue's answer: `Some` (reported in
/// `batchItemFailures`, so the message comes back or goes to the DLQ) for every error and
/// panic, logged with its kind and cause chain. Never the body: it holds personal data.
fn failure(
    id: String,
    outcome: std::thread::Result<Result<(), MessageError>>,
) -> Option<BatchItemFailure> {
    match outcome {
        Ok(Ok(())) => return None,
        Ok(Err(err)) => {
            let error = crate::telemetry::error_chain(&err);
            tracing::warn!(kind = err.kind(), error = %error, "message failed");
        }
        Err(_) => tracing::error!("message handler panicked"),
    }
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = id;
    Some(failure)
}

pub async fn process_batch(
    state: &'static AppState,
    event: SqsEvent,
    handler: SqsHandler,
) -> SqsBatchResponse {
    use futures::stream::StreamExt;
    let failures: Vec<BatchItemFailure> = futures::stream::iter(event.records)
        .map(|message| async move {
            let id = message.message_id.clone().unwrap_or_default();
            let receive_count = message
                .attributes
                .get("ApproximateReceiveCount")
                .cloned()
                .unwrap_or_default();
            let span =
                tracing::info_span!("message", message_id = %id, receive_count = %receive_count);
            let outcome = AssertUnwindSafe(handler(state, message).instrument(span.clone()))
                .catch_unwind()
                .await;
            span.in_scope(|| failure(id, outcome))
        })
        .buffer_unordered(BATCH_CONCURRENCY)
        .filter_map(|f| async move { f })
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_failures_are_transient_with_their_cause() {
        use crate::db::{storage_error, StorageErrorKind};
        use aws_sdk_dynamodb::config::http::HttpResponse;
        use aws_sdk_dynamodb::error::SdkError;
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        use aws_smithy_types::error::ErrorMetadata;
        for (code, kind) in [
            ("ThrottlingException", StorageErrorKind::Throttled),
            ("ServiceUnavailable", StorageErrorKind::Unavailable),
            (
                "ConditionalCheckFailedException",
                StorageErrorKind::ConditionFailed,
            ),
            (
                "TransactionCanceledException",
                StorageErrorKind::TransactionConflict,
            ),
            ("ValidationException", StorageErrorKind::Other),
        ] {
            let meta = ErrorMetadata::builder()
                .code(code)
                .message("the cause")
                .build();
            let response = HttpResponse::new(
                400.try_into().expect("a status"),
                aws_smithy_types::body::SdkBody::empty(),
            );
            let err = storage_error(SdkError::service_error(
                GetItemError::generic(meta),
                response,
            ));
            assert_eq!(err.kind(), kind);
            let message = MessageError::from(err);
            assert!(message.is_retry(), "{code}: {message:?}");
            let cause = std::error::Error::source(&message).expect("a cause");
            let storage = cause
                .downcast_ref::<crate::db::StorageError>()
                .expect("the storage error itself");
            assert_eq!(storage.kind(), kind);
            let chain = crate::telemetry::error_chain(&message);
            assert!(
                chain.starts_with(&format!("retry: storage {kind}")),
                "{chain}"
            );
            assert!(chain.contains(code), "{chain}");
        }
    }

    #[test]
    fn kinds_keep_their_cause_as_source() {
        #[derive(Debug, thiserror::Error)]
        #[error("the inner cause")]
        struct Inner;
        for (err, kind) in [
            (MessageError::retry(Inner), "retry"),
            (MessageError::dead_letter(Inner), "dead_letter"),
        ] {
            assert_eq!(err.kind(), kind);
            assert_eq!(err.is_retry(), kind == "retry");
            let source = std::error::Error::source(&err).expect("a cause");
            assert!(source.is::<Inner>(), "{source:?}");
            assert!(crate::telemetry::error_chain(&err).ends_with(": the inner cause"));
        }
        let text = MessageError::dead_letter("malformed delivery message");
        assert_eq!(
            crate::telemetry::error_chain(&text),
            "dead letter: malformed delivery message"
        );
    }

    #[test]
    fn every_error_and_panic_is_a_batch_item_failure_and_success_is_not() {
        let id = |outcome| failure("m-1".into(), outcome).map(|f| f.item_identifier);
        assert_eq!(id(Ok(Ok(()))), None);
        assert_eq!(
            id(Ok(Err(MessageError::retry("throttled")))).as_deref(),
            Some("m-1")
        );
        assert_eq!(
            id(Ok(Err(MessageError::dead_letter("malformed")))).as_deref(),
            Some("m-1")
        );
        assert_eq!(id(Err(Box::new("panic"))).as_deref(), Some("m-1"));
    }

    #[test]
    fn batch_response_serialises_in_lambdas_shape() {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = "m-2".into();
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = vec![failure];
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-2"}]})
        );
    }
}
