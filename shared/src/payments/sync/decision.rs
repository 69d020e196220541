//! What the sync does with what the provider answered, as pure functions: whose payment it is,
//! how the stored payment moves (the monotonic machine of [`crate::payments::status`]), what is
//! announced, and whether a failed receive is retried. Unit-tested in `tests.rs` against the
//! in-memory provider; the conditional writes that carry each step out, and the emits, are the
//! black-box suite's.

use crate::clock::rfc3339;
use crate::ids::{PaymentId, ProjectId};
use crate::payments::model::Payment;
use crate::payments::provider::{ProviderError, ProviderPayment};
use crate::payments::status::{self, Attempt, Status};
use crate::payments::store::{self, Marker};

/// Receives during which a payment the provider does not find is retried: a just-created
/// payment can 404 for a moment (eventual consistency); a forged id stays 404.
pub const NOT_FOUND_RECEIVES: u32 = 3;

/// What becomes of a receive whose provider call failed (the provider error is its cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnProviderError {
    /// Redelivered later (with backoff).
    Retry,
    /// Acknowledged and forgotten.
    Drop,
    /// Kept in the DLQ: retrying cannot help.
    Refuse,
}

pub fn on_provider_error(e: &ProviderError, receives: u32) -> OnProviderError {
    match e {
        ProviderError::Unavailable(_) => OnProviderError::Retry,
        ProviderError::NotFound if receives < NOT_FOUND_RECEIVES => OnProviderError::Retry,
        ProviderError::NotFound => OnProviderError::Drop,
        _ => OnProviderError::Refuse,
    }
}

/// Why a provider payment is not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Paid to another account than the project's credentials: never trusted.
    OtherAccount,
    /// Its reference is not one of our payment ids.
    NotOurs,
    /// A status the provider module could not normalise.
    UnknownStatus,
    /// Its amount or currency differs from the stored payment's.
    AmountDiffers,
}

impl Ignored {
    /// Logged as the sync always did: a mismatch is worth a warning, a foreign payment is not.
    pub fn log(self, project_id: &ProjectId, pp: &ProviderPayment) {
        let payment_id = pp.external_reference.as_deref().unwrap_or_default();
        match self {
            Self::OtherAccount => {
                tracing::warn!(%project_id, "provider payment of another account: ignored")
            }
            Self::NotOurs => {}
            Self::UnknownStatus => {
                tracing::warn!(provider_status = %pp.raw_status, "unknown provider status: ignored")
            }
            Self::AmountDiffers => tracing::warn!(
                %project_id,
                payment_id,
                "provider payment amount or currency differs: ignored"
            ),
        }
    }
}

/// Which of our payments `pp` belongs to and the status it reports, checked before any read:
/// the account must be the credentials' own (when both are known).
pub fn owner(account: Option<&str>, pp: &ProviderPayment) -> Result<(PaymentId, Status), Ignored> {
    if let (Some(expected), Some(got)) = (account, pp.account_id.as_deref()) {
        if expected != got {
            return Err(Ignored::OtherAccount);
        }
    }
    let id = pp
        .external_reference
        .as_deref()
        .and_then(|r| r.parse::<PaymentId>().ok())
        .ok_or(Ignored::NotOurs)?;
    let status = pp.status.ok_or(Ignored::UnknownStatus)?;
    Ok((id, status))
}

/// How one observation moves the stored payment.
#[derive(Debug, Clone)]
pub enum Step {
    Ignore(Ignored),
    /// The observation moves nothing forward (a duplicate, a late or older notification): the
    /// stored payment stands and is announced again (idempotently).
    Unchanged,
    /// Store `next` (conditional on the current version). `visible` when a client sees the
    /// change (status, refunded amount, deciding provider payment, detail) and it is recorded
    /// in the history; `newly_paid` when it pays the order (write the order-paid marker unless
    /// one exists).
    Change {
        next: Box<Payment>,
        visible: bool,
        newly_paid: bool,
    },
}

/// Applies provider payment `pp` (reporting `status`) to `current` at time `now`.
pub fn step(
    current: &Payment,
    pp: &ProviderPayment,
    status: Status,
    now: time::OffsetDateTime,
) -> Step {
    if pp.currency != Some(current.currency) || pp.amount_minor != current.amount_minor {
        return Step::Ignore(Ignored::AmountDiffers);
    }
    let now = rfc3339(now);
    let observed = Attempt {
        status,
        detail: pp.status_detail.clone(),
        refunded_minor: pp.refunded_minor,
        seen_at: now.clone(),
    };
    let mut next = current.clone();
    if !status::observe(&mut next.attempts, &pp.id, observed) {
        return Step::Unchanged;
    }
    if let Some((pid, a)) = status::decisive(&next.attempts) {
        next.status = a.status;
        next.status_detail = Some(a.detail.clone()).filter(|d| !d.is_empty());
        next.refunded_minor = a.refunded_minor;
        next.provider_payment_id = Some(pid.clone());
    }
    next.version += 1;
    next.updated_at = now;
    let visible = visible(current) != visible(&next);
    // A payment first seen refunded or charged back pays nothing (see `Status::pays_order`):
    // no marker, so no `order.paid`.
    let newly_paid = visible && status::newly_pays_order(current.status, next.status);
    Step::Change {
        next: Box::new(next),
        visible,
        newly_paid,
    }
}

fn visible(p: &Payment) -> (Status, u64, &Option<String>, &Option<String>) {
    (
        p.status,
        p.refunded_minor,
        &p.provider_payment_id,
        &p.status_detail,
    )
}

/// The dedupe key of `payment.updated` for the stored state: one event per visible state, so
/// repeating an announcement (a redelivery, a replayed notification) emits nothing new.
pub fn updated_dedupe(p: &Payment) -> String {
    format!(
        "payment.updated:{}:{}:{}:{}",
        p.id,
        p.status.as_str(),
        p.refunded_minor,
        p.provider_payment_id.as_deref().unwrap_or("-")
    )
}

/// Whether announcing `p` owes its order's `order.paid`: it is paid, its order's marker names
/// it, and the marker has not been emitted.
pub fn owes_order_paid(p: &Payment, marker: Option<&Marker>) -> bool {
    p.status.is_paid() && marker.is_some_and(|m| !m.emitted && m.payment_id == p.id.to_string())
}

/// Whether reconciliation stops watching payment `id` at `now` ([`super::GIVE_UP`] after it
/// was created).
pub fn past_give_up(id: &PaymentId, now: time::OffsetDateTime) -> bool {
    let created =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(id.timestamp_ms()) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    now - created > super::GIVE_UP
}

/// What the last check of a payment past [`past_give_up`] does to it.
#[derive(Debug, Clone)]
pub enum GiveUp {
    /// Not watched any more (settled, or closed already): nothing.
    Closed,
    /// Closed quietly: out of the reconciler's index, its status unchanged (notifications
    /// still apply).
    Close(Box<Payment>),
    /// A checkout nobody ever attempted: `cancelled`, detail `expired`, announced.
    Expire(Box<Payment>),
}

pub fn give_up(latest: &Payment, now: time::OffsetDateTime) -> GiveUp {
    if !store::watched(latest.status) || latest.closed {
        return GiveUp::Closed;
    }
    let mut next = latest.clone();
    next.closed = true;
    next.version += 1;
    next.updated_at = rfc3339(now);
    if next.status == Status::Pending && next.attempts.is_empty() {
        next.status = Status::Cancelled;
        next.status_detail = Some("expired".into());
        GiveUp::Expire(Box::new(next))
    } else {
        GiveUp::Close(Box::new(next))
    }
}
