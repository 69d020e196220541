//! The DeliveriesQueue messages: ids only (`{"p":<prj>,"d":<dlv>}`); the delivery item is the
//! truth. Waits up to SQS's 15-minute cap use `DelaySeconds`; longer ones are left to the
//! sweeper, which also re-sends anything whose message was lost.

use crate::error::ApiError;
use crate::ids::{DeliveryId, ProjectId};
use crate::AppState;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde::{Deserialize, Serialize};

/// SQS's longest per-message delay.
pub const MAX_DELAY_S: i64 = 900;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    pub p: ProjectId,
    pub d: DeliveryId,
}

/// Seconds to delay a message for an attempt due at `due_ms`, or `None` if it is too far away
/// for SQS (the sweeper will send it).
pub fn delay_for(due_ms: i64, now_ms: i64) -> Option<i32> {
    let wait_s = (due_ms - now_ms).max(0).div_euclid(1000)
        + i64::from((due_ms - now_ms).rem_euclid(1000) > 0);
    (wait_s <= MAX_DELAY_S).then(|| i32::try_from(wait_s).unwrap_or(0))
}

/// Sends one message per delivery (batches of 10). Failures are logged, not returned: the
/// deliveries are in the `due` index and the sweeper enqueues them within a minute.
pub async fn enqueue(state: &AppState, items: &[(ProjectId, DeliveryId, i32)]) {
    for (chunk_no, chunk) in items.chunks(10).enumerate() {
        let entries: Vec<SendMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, (p, d, delay))| {
                let body = serde_json::to_string(&Message { p: *p, d: *d }).ok()?;
                SendMessageBatchRequestEntry::builder()
                    .id(format!("m{chunk_no}_{i}"))
                    .message_body(body)
                    .delay_seconds(*delay)
                    .build()
                    .ok()
            })
            .collect();
        let result = state
            .sqs
            .send_message_batch()
            .queue_url(&state.config.deliveries_queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
        match result {
            Ok(out) if !out.failed.is_empty() => {
                tracing::warn!(
                    failed = out.failed.len(),
                    "some delivery messages not sent; the sweeper will"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "delivery messages not sent; the sweeper will");
            }
        }
    }
}

/// Parses a queue message body.
pub fn parse(body: &str) -> Result<Message, ApiError> {
    serde_json::from_str(body).map_err(|e| ApiError::bad_request("invalid_message", e.to_string()))
}

/// Whether a cancelled transaction failed one of *our* conditions (a lost race or a duplicate)
/// rather than a transient conflict with another transaction (worth retrying at once).
pub fn failed_condition(
    err: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        aws_sdk_dynamodb::config::http::HttpResponse,
    >,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("ConditionalCheckFailed")),
        _ => false,
    }
}

/// Attempts of a transaction that only conflicted with another one.
pub const TX_TRIES: u32 = 5;
