//! The `reconciler` (EventBridge `rate(5 minutes)`). Reads the sparse `due` index, never the
//! table, and repairs two kinds of lost work through the sync queue:
//!
//! - **Watched payments** (pending, or failed since a checkout can be retried) whose next
//!   check time has come: each is re-checked, then rescheduled on the backoff grid of
//!   [`super::schedule`] (1 min, then gaps of 5 min, 30 min, 2 h, 12 h, then daily) until the sync
//!   closes it at `sync::GIVE_UP` (3 days). The index is sorted by next check time, so every
//!   payment is checked in turn and a burst of old ones cannot starve newer ones.
//! - **Order-paid markers** whose `order.paid` did not go out (the sync died between the
//!   commit and the emit, and its message was lost too) for longer than [`MARKER_GRACE`]:
//!   re-announced. The emit dedupes on `order.paid:<order>`, so this never sends it twice.

use super::due;
use super::queue::QueueUnavailable;
use super::queue::{self, Job};
use super::schedule::{next_check, unix_ms};
use super::store;
use crate::db::StorageError;
use crate::ids::PaymentId;
use crate::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;

/// How long an unannounced order-paid marker is left to the sync that wrote it.
pub const MARKER_GRACE: time::Duration = time::Duration::minutes(2);
/// Entries queued per shard and kind per run (the rest wait for the next run, 5 min later).
const PER_SHARD: i32 = 100;

/// Why a reconciliation run stopped (the next run, 5 min later, starts over).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Queue(#[from] QueueUnavailable),
}

pub fn handler(state: &'static AppState) -> BoxFuture<'static, Result<(), crate::runtime::Error>> {
    async move { run(state).await.map_err(Into::into) }.boxed()
}

pub async fn run(state: &AppState) -> Result<(), RunError> {
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
