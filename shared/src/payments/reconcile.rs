//! The `reconciler` (EventBridge `rate(5 minutes)`). Reads the sparse `due` index, never the
//! table, and repairs two kinds of lost work through the sync queue:
//!
//! - **Watched payments** (pending, or failed since a checkout can be retried) whose next
//!   check time has come: each is re-checked, then rescheduled on a backoff grid counted from
//!   its creation: 1 min, then gaps of 5 min, 30 min, 2 h, 12 h, then daily until the sync
//!   closes it at `sync::GIVE_UP` (3 days). The index is sorted by next check time, so every
//!   payment is checked in turn and a burst of old ones cannot starve newer ones.
//! - **Order-paid markers** whose `order.paid` did not go out (the sync died between the
//!   commit and the emit, and its message was lost too) for longer than [`MARKER_GRACE`]:
//!   re-announced. The emit dedupes on `order.paid:<order>`, so this never sends it twice.

use super::due;
use super::queue::{self, Job};
use super::store;
use crate::error::ApiError;
use crate::ids::PaymentId;
use crate::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;
use time::OffsetDateTime;

/// The first check, after creation.
pub const FIRST: time::Duration = time::Duration::minutes(1);
/// Gaps between later checks; the last one repeats.
pub const GAPS: [time::Duration; 5] = [
    time::Duration::minutes(5),
    time::Duration::minutes(30),
    time::Duration::hours(2),
    time::Duration::hours(12),
    time::Duration::days(1),
];
/// How long an unannounced order-paid marker is left to the sync that wrote it.
pub const MARKER_GRACE: time::Duration = time::Duration::minutes(2);
/// Entries queued per shard and kind per run (the rest wait for the next run, 5 min later).
const PER_SHARD: i32 = 100;

pub fn unix_ms(at: OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn ms(d: time::Duration) -> u64 {
    u64::try_from(d.whole_milliseconds()).unwrap_or(0)
}

/// When a payment created at `created_ms` is first checked.
pub fn first_check(created_ms: u64) -> u64 {
    created_ms.saturating_add(ms(FIRST))
}

/// The first point of the payment's check grid after `now_ms`.
pub fn next_check(created_ms: u64, now_ms: u64) -> u64 {
    let mut at = first_check(created_ms);
    let mut gaps = GAPS
        .iter()
        .map(|g| ms(*g))
        .chain(std::iter::repeat(ms(GAPS[4])));
    while at <= now_ms {
        at = at.saturating_add(gaps.next().unwrap_or(86_400_000));
    }
    at
}

pub fn handler(state: &'static AppState) -> BoxFuture<'static, Result<(), ApiError>> {
    run(state).boxed()
}

pub async fn run(state: &AppState) -> Result<(), ApiError> {
    let now = state.clock.now();
    let now_ms = unix_ms(now);
    let (mut checked, mut announced) = (0usize, 0usize);
    for shard in 0..store::SHARDS {
        for due in due::due(state, store::PAYMENT_DUE, shard, now_ms, PER_SHARD).await? {
            let Ok(payment_id) = due.id.parse::<PaymentId>() else {
                continue;
            };
            // Queued first, then rescheduled: a crash in between repeats a check, never skips one.
            queue::send(state, &due.project, Job::Reconcile { payment_id }).await?;
            let next = next_check(payment_id.timestamp_ms(), now_ms);
            due::reschedule(state, &due.project, &payment_id, &due.sk, next).await?;
            checked += 1;
        }
        let stale = unix_ms(now - MARKER_GRACE);
        for due in due::due(state, store::MARKER_DUE, shard, stale, PER_SHARD).await? {
            let job = Job::Announce { order_id: due.id };
            queue::send(state, &due.project, job).await?;
            announced += 1;
        }
    }
    tracing::info!(checked, announced, "reconciliation queued");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    #[test]
    fn checks_back_off_from_creation_then_go_daily() {
        let c = 1_700_000_000_000;
        assert_eq!(first_check(c), c + MIN);
        let mut at = c;
        let mut points = Vec::new();
        for _ in 0..8 {
            at = next_check(c, at);
            points.push((at - c) / MIN);
        }
        assert_eq!(
            points,
            [1, 6, 36, 156, 876, 2316, 3756, 5196],
            "1 min, then +5 min, +30 min, +2 h, +12 h, then daily"
        );
        // A late run lands on the grid, never earlier than now.
        assert_eq!(next_check(c, c + 40 * MIN), c + 156 * MIN);
        assert_eq!(next_check(c, c + 6 * MIN), c + 36 * MIN);
    }
}
