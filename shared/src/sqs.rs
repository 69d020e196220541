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

/// Why a message was not processed.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// Worth another try (throttling, a dependency down): the message becomes visible again.
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying cannot help (malformed, unknown version). Returned so the message reaches the
    /// DLQ after its receives; handlers record a terminal state first where they can.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// The SQS edge for storage: nothing about storage is the message's fault, so every kind comes
/// back for another try, with its cause (kind and SDK error) in the message.
impl From<crate::db::StorageError> for MessageError {
    fn from(err: crate::db::StorageError) -> Self {
        Self::Transient(crate::telemetry::error_chain(&err))
    }
}

/// A consumer step that failed with an API error (a store function that still returns one):
/// transient, as every such failure has been, keeping its status, code, detail and cause.
impl From<crate::error::ApiError> for MessageError {
    fn from(err: crate::error::ApiError) -> Self {
        Self::Transient(err.to_string())
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
            let failed = match outcome {
                Ok(Ok(())) => false,
                Ok(Err(err)) => {
                    span.in_scope(|| tracing::warn!(error = %err, "message failed"));
                    true
                }
                Err(_) => {
                    span.in_scope(|| tracing::error!("message handler panicked"));
                    true
                }
            };
            failed.then(|| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failure
            })
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
            match MessageError::from(err) {
                MessageError::Transient(m) => {
                    assert!(m.starts_with(&format!("storage {kind}")), "{m}");
                    assert!(m.contains(code), "{m}");
                }
                other => panic!("{code}: {other:?}"),
            }
        }
    }

    #[test]
    fn api_errors_are_transient_with_code_and_detail() {
        let err = crate::ApiError::unavailable("provider_unavailable", "mercado pago is down");
        match MessageError::from(err) {
            MessageError::Transient(m) => {
                assert!(m.contains("provider_unavailable"), "{m}");
                assert!(m.contains("mercado pago is down"), "{m}");
            }
            other => panic!("{other:?}"),
        }
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
