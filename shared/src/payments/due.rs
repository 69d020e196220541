//! The sparse `due` index as the reconciler reads it: watched payments by next check time
//! (`PENDING#<shard>`) and unannounced order-paid markers (`PAIDMARK#<shard>`). The items
//! themselves are written by [`super::store`].

use super::store::pay_pk;
use crate::db::{self, StorageError};
use crate::ids::{PaymentId, ProjectId};
use crate::paging::{self, Query, Range};
use crate::AppState;

/// One `due` index entry: its sort key (`<ms>#<project>#<id>`) split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub sk: String,
    pub project: ProjectId,
    /// A payment id (`PENDING`) or an order id (`PAIDMARK`).
    pub id: String,
}

/// Entries of one `due` partition (`<prefix>#<shard>`) due before `before_ms`, oldest first.
pub async fn due(
    state: &AppState,
    prefix: &str,
    shard: u32,
    before_ms: u64,
    limit: i32,
) -> Result<Vec<Due>, StorageError> {
    let query = Query {
        range: Range::Below(format!("{before_ms:013}")),
        ..Query::partition(Some("due"), format!("{prefix}#{shard}"))
    };
    let page = paging::page(state, &query, limit, None).await?;
    Ok(page
        .items
        .iter()
        .filter_map(|i| {
            let sk = i.get("duesk")?.as_s().ok()?;
            let mut parts = sk.splitn(3, '#');
            let _ms = parts.next()?;
            Some(Due {
                sk: sk.clone(),
                project: parts.next()?.parse().ok()?,
                id: parts.next()?.to_owned(),
            })
        })
        .collect())
}

/// Moves a watched payment's next check to `next_ms`, if its `due` entry is still `old_sk`
/// (nobody rescheduled or settled it meanwhile). Bumps the version so a sync that read the
/// payment before this write re-reads it instead of writing the old check time back.
pub async fn reschedule(
    state: &AppState,
    project: &ProjectId,
    id: &PaymentId,
    old_sk: &str,
    next_ms: u64,
) -> Result<bool, StorageError> {
    let result = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(pay_pk(project)))
        .key("sk", db::s(id.to_string()))
        .update_expression("SET next_check_ms = :n, duesk = :new, version = version + :one")
        .condition_expression("duesk = :old")
        .expression_attribute_values(":n", db::n(next_ms))
        .expression_attribute_values(":new", db::s(format!("{next_ms:013}#{project}#{id}")))
        .expression_attribute_values(":old", db::s(old_sk))
        .expression_attribute_values(":one", db::n(1))
        .send()
        .await;
    db::applied(result)
}
