//! The DeliveriesQueue messages: a version and ids only (`{"v":1,"p":<prj>,"d":<dlv>}`); the
//! delivery item is the truth. Versioned like the notifications queue's, so a deploy can change
//! the shape: a consumer refuses a version it does not know (the message goes to the DLQ after
//! its receives, to be redriven by code that knows it) instead of guessing. Waits up to SQS's 15-minute cap use `DelaySeconds`; longer ones are left to the
//! sweeper, which also re-sends anything whose message was lost.

use crate::ids::{DeliveryId, ProjectId};
use crate::sqs::MessageError;
use crate::AppState;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde::{Deserialize, Serialize};

/// SQS's longest per-message delay.
pub const MAX_DELAY_S: i64 = 900;

/// The version this code writes and reads.
pub const VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Absent in messages written before versioning, which are version 1.
    #[serde(default = "first_version")]
    pub v: u8,
    pub p: ProjectId,
    pub d: DeliveryId,
}

fn first_version() -> u8 {
    1
}

impl Message {
    pub fn new(p: ProjectId, d: DeliveryId) -> Self {
        Self { v: VERSION, p, d }
    }
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
                let body = serde_json::to_string(&Message::new(*p, *d)).ok()?;
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

/// Parses a queue message body: a malformed body or an unknown version is permanent (no retry
/// can help; the DLQ keeps it).
pub fn parse(body: &str) -> Result<Message, MessageError> {
    let m: Message = serde_json::from_str(body)
        .map_err(|_| MessageError::dead_letter("malformed delivery message"))?;
    if m.v != VERSION {
        return Err(MessageError::dead_letter(format!(
            "unknown delivery message version {}",
            m.v
        )));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_their_version_and_round_trip() {
        let m = Message::new(ProjectId::new(), DeliveryId::new());
        let body = serde_json::to_string(&m).unwrap_or_default();
        assert!(body.starts_with("{\"v\":1,"), "{body}");
        assert_eq!(parse(&body).ok(), Some(m));
    }

    #[test]
    fn a_message_from_before_versioning_is_version_one() {
        let (p, d) = (ProjectId::new(), DeliveryId::new());
        let parsed = parse(&format!("{{\"p\":\"{p}\",\"d\":\"{d}\"}}")).ok();
        assert_eq!(parsed, Some(Message::new(p, d)));
    }

    #[test]
    fn an_unknown_version_or_a_malformed_body_is_permanent() {
        let (p, d) = (ProjectId::new(), DeliveryId::new());
        for body in [
            format!("{{\"v\":2,\"p\":\"{p}\",\"d\":\"{d}\"}}"),
            "{\"p\":1}".to_owned(),
            "not json".to_owned(),
        ] {
            assert!(
                matches!(parse(&body), Err(MessageError::DeadLetter { .. })),
                "{body}"
            );
        }
    }
}
