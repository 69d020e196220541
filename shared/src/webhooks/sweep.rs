//! The retry sweeper (Schedule, rate(1 minute)): finds every pending delivery whose next
//! attempt is due in the sparse `due` index and enqueues it. It covers waits longer than SQS's
//! 15-minute delay cap, lost queue messages, and attempts whose dispatcher died mid-flight
//! (their lease expires and they become due again). Duplicate messages are harmless: the
//! dispatcher's claim is conditional.

use super::deliveries::DUE_SHARDS;
use super::queue;
use crate::db::{self, storage_error};
use crate::error::ApiError;
use crate::ids::{DeliveryId, ProjectId};
use crate::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;

pub fn handler(state: &'static AppState) -> BoxFuture<'static, Result<(), ApiError>> {
    async move { sweep(state).await.map(|_| ()) }.boxed()
}

/// Enqueues every delivery due now; returns how many.
pub async fn sweep(state: &AppState) -> Result<usize, ApiError> {
    let now_ms = i64::try_from(state.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    // `#` sorts before digits, `~` after everything an id contains.
    let upper = format!("{:013}#~", now_ms.max(0));
    let mut due: Vec<(ProjectId, DeliveryId, i32)> = Vec::new();
    for shard in 0..DUE_SHARDS {
        let mut start = None;
        loop {
            let page = state
                .dynamodb
                .query()
                .table_name(&state.config.table_name)
                .index_name("due")
                .key_condition_expression("duepk = :pk AND duesk <= :upper")
                .expression_attribute_values(":pk", db::s(format!("DUE#{shard}")))
                .expression_attribute_values(":upper", db::s(&upper))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(storage_error)?;
            for item in page.items.unwrap_or_default() {
                let project = item
                    .get("pk")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|pk| pk.strip_prefix("P#")?.strip_suffix("#DLV"))
                    .and_then(|p| p.parse::<ProjectId>().ok());
                let id = item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|sk| sk.parse::<DeliveryId>().ok());
                if let (Some(p), Some(d)) = (project, id) {
                    due.push((p, d, 0));
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
    }
    if !due.is_empty() {
        tracing::info!(due = due.len(), "retry sweep enqueued due deliveries");
        queue::enqueue(state, &due).await;
    }
    Ok(due.len())
}
