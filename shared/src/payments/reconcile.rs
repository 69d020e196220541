//! The `reconciler` (EventBridge `rate(5 minutes)`): payments still pending (or failed, since a
//! checkout can be retried) longer than [`AFTER`] are re-checked through the sync queue, so a
//! lost notification loses nothing. Reads the sparse `due` index, never the table.

use super::queue::{self, Job};
use super::store;
use crate::error::ApiError;
use crate::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;

/// How long a payment may stay pending before we ask the provider ourselves.
pub const AFTER: time::Duration = time::Duration::minutes(10);
/// Payments queued per shard per run (the rest wait for the next run).
const PER_SHARD: i32 = 100;

pub fn handler(state: &'static AppState) -> BoxFuture<'static, Result<(), ApiError>> {
    run(state).boxed()
}

pub async fn run(state: &AppState) -> Result<(), ApiError> {
    let cutoff = state.clock.now() - AFTER;
    let before_ms = u64::try_from(cutoff.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut queued = 0usize;
    for shard in 0..store::SHARDS {
        for (project, payment_id) in store::due(state, shard, before_ms, PER_SHARD).await? {
            queue::send(state, &project, Job::Reconcile { payment_id }).await?;
            queued += 1;
        }
    }
    tracing::info!(queued, "reconciliation queued");
    Ok(())
}
