//! The retry sweeper (Schedule, rate(1 minute)): finds every pending delivery whose next
//! attempt is due in the sparse `due` index and enqueues it. It covers waits longer than SQS's
//! 15-minute delay cap, lost queue messages, and attempts whose dispatcher died mid-flight
//! (their lease expires and they become due again). Duplicate messages are harmless: the
//! dispatcher's claim is conditional.

use super::delivery_store::{self, DUE_SHARDS, SWEEP_GRACE_MS};
use super::queue;
use crate::db::{self, storage_error, StorageError};
use crate::ids::{DeliveryId, ProjectId};
use crate::paging::{self, Query, Range};
use crate::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;

pub fn handler(state: &'static AppState) -> BoxFuture<'static, Result<(), crate::runtime::Error>> {
    async move { sweep(state).await.map(|_| ()).map_err(Into::into) }.boxed()
}

/// Enqueues every delivery due now; returns how many.
pub async fn sweep(state: &AppState) -> Result<usize, StorageError> {
    let now_ms = i64::try_from(state.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    // `#` sorts before digits, `~` after everything an id contains: every entry due by now.
    let upper = format!("{:013}#~", now_ms.max(0));
    let mut due: Vec<(ProjectId, DeliveryId, i32)> = Vec::new();
    for shard in 0..DUE_SHARDS {
        let query = Query {
            range: Range::Below(upper.clone()),
            ..Query::partition(Some("due"), format!("DUE#{shard}"))
        };
        for item in paging::all(state, &query).await? {
            let project = item
                .get("pk")
                .and_then(|v| v.as_s().ok())
                .and_then(|pk| pk.strip_prefix("P#")?.strip_suffix("#DLV"))
                .and_then(|p| p.parse::<ProjectId>().ok());
            let id = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .and_then(|sk| sk.parse::<DeliveryId>().ok());
            let old_sk = item.get("duesk").and_then(|v| v.as_s().ok()).cloned();
            if let (Some(p), Some(d), Some(old_sk)) = (project, id, old_sk) {
                if claim(state, &p, &d, &old_sk, now_ms).await? {
                    due.push((p, d, 0));
                }
            }
        }
    }
    if !due.is_empty() {
        tracing::info!(due = due.len(), "retry sweep enqueued due deliveries");
        queue::enqueue(state, &due).await;
    }
    Ok(due.len())
}

/// Moves the delivery's sweep time a grace period ahead before its message is sent, so the next
/// sweeps leave it to that message; `false` if someone changed it meanwhile (they own it now).
async fn claim(
    state: &AppState,
    project: &ProjectId,
    id: &DeliveryId,
    old_sk: &str,
    now_ms: i64,
) -> Result<bool, StorageError> {
    let at = now_ms + SWEEP_GRACE_MS;
    let result = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(delivery_store::pk(project)))
        .key("sk", db::s(id.to_string()))
        .update_expression("SET sweep_at_ms = :at, duesk = :new")
        .condition_expression("duesk = :old")
        .expression_attribute_values(":at", db::n(at))
        .expression_attribute_values(":new", db::s(delivery_store::due_sk(at, project, id)))
        .expression_attribute_values(":old", db::s(old_sk))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if db::is_conditional_failure(&e) => Ok(false),
        Err(e) => Err(storage_error(e)),
    }
}
