//! What the sender does after a provider call and after a failed receive, as pure functions:
//! the at-most-once and retry rules of the module docs, unit-tested without DynamoDB or SQS
//! (`tests.rs`, with the in-memory transport). The store calls that carry each decision out
//! are conditional writes exercised by the black-box suite.

use super::{
    CLAIM_LEASE_SECONDS, MAX_RECEIVES, MAX_RETRY_DELAY_S, MAX_THROTTLES, MAX_THROTTLE_DELAY_S,
};
use crate::notifications::model::Status;
use crate::notifications::transport::Outcome;

/// What to record for a claimed (`sending`) notification after its provider call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum After {
    /// `sending → sent`, with the provider's message id.
    Sent(String),
    /// `sending → pending` without counting a failure, then put the message back.
    PutBack(String),
    /// `sending → pending` counting a failure; the receive fails and SQS redelivers.
    Retry(String),
    /// `sending → failed` with `reason`; `unknown` holds the provider detail when the message
    /// may have gone out (reason `outcome_unknown`): it is never sent again.
    Fail {
        reason: String,
        unknown: Option<String>,
    },
}

pub(super) fn after_send(outcome: Outcome) -> After {
    match outcome {
        Outcome::Accepted(message_id) => After::Sent(message_id),
        Outcome::Throttled(reason) => After::PutBack(reason),
        Outcome::Transient(reason) => After::Retry(reason),
        Outcome::Permanent(reason) => After::Fail {
            reason,
            unknown: None,
        },
        Outcome::Unknown(detail) => After::Fail {
            reason: "outcome_unknown".into(),
            unknown: Some(detail),
        },
    }
}

/// What to do with a receive that failed (an `Err` from the handler).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OnError {
    /// Let SQS redeliver after this many seconds (exponential: 4, 8, 16 … capped).
    Backoff(i32),
    /// The last receive before the DLQ: mark the notification failed
    /// ([`last_receive_reason`]).
    LastReceive,
}

pub(super) fn on_error(receives: u32) -> OnError {
    if receives >= MAX_RECEIVES {
        OnError::LastReceive
    } else {
        OnError::Backoff((2_i32 << receives.min(7)).min(MAX_RETRY_DELAY_S))
    }
}

/// The failure reason left on the last receive. A claim still held (`sending`: a worker died
/// between the provider call and the record, or the record failed) may have sent the
/// message, so it says so instead of "retries exhausted".
pub(super) fn last_receive_reason(status: Option<Status>) -> &'static str {
    match status {
        Some(Status::Sending) => "outcome_unknown",
        _ => "retries_exhausted",
    }
}

/// What a throttled notification becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PutBack {
    /// A fresh copy with this throttle count, delayed a random 1 s to `max_delay_s`.
    Requeue { throttles: u32, max_delay_s: u32 },
    /// Throttled too often: `failed` with reason `throttled`.
    GiveUp,
}

pub(super) fn put_back(throttles: u32) -> PutBack {
    if throttles >= MAX_THROTTLES {
        PutBack::GiveUp
    } else {
        PutBack::Requeue {
            throttles: throttles + 1,
            max_delay_s: (1 + throttles).min(MAX_THROTTLE_DELAY_S),
        }
    }
}

/// Whether a `sending` claim taken at `claimed_at` may still belong to a live invocation
/// (then a redelivered copy waits; otherwise the attempt crashed: `outcome_unknown`).
pub(super) fn claim_is_live(claimed_at: i64, now: i64) -> bool {
    now - claimed_at < CLAIM_LEASE_SECONDS
}
