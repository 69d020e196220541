//! Payments in DynamoDB (data model items 15, 17, 18). Every function takes the project id
//! first and builds the keys itself.

use super::model::Payment;
use super::schedule;
use super::status::Status;
use crate::db::{self, storage_error, Item, StorageError};
use crate::ids::{PaymentId, ProjectId};
use crate::paging::{self, Page, PageRequest, Query, Range};
use crate::AppState;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

/// Shards of the sparse `due` index for pending payments (and unannounced order-paid markers).
pub const SHARDS: u32 = 16;
/// `due` partition prefix of watched payments.
pub const PAYMENT_DUE: &str = "PENDING";
/// `due` partition prefix of order-paid markers whose `order.paid` is not out yet.
pub const MARKER_DUE: &str = "PAIDMARK";

pub(super) fn pay_pk(project: &ProjectId) -> String {
    format!("P#{project}#PAY")
}

pub(super) fn history_pk(project: &ProjectId, id: &PaymentId) -> String {
    format!("P#{project}#PAY#{id}")
}

fn marker_pk(project: &ProjectId, order_id: &str) -> String {
    format!("P#{project}#ORDER#{order_id}")
}

pub fn shard(id: &PaymentId) -> u32 {
    crc32fast::hash(id.to_string().as_bytes()) % SHARDS
}

fn marker_shard(order_id: &str) -> u32 {
    crc32fast::hash(order_id.as_bytes()) % SHARDS
}

/// Whether the reconciler should keep looking at a payment in this status.
pub fn watched(status: Status) -> bool {
    matches!(status, Status::Pending | Status::Failed)
}

/// When the reconciler next checks `p` (Unix ms).
pub fn next_check(p: &Payment) -> u64 {
    p.next_check_ms
        .unwrap_or_else(|| schedule::first_check(p.id.timestamp_ms()))
}

/// The `due` sort key of a watched payment: its next check time first, so the reconciler
/// reads payments in the order they are due.
fn check_sk(p: &Payment, at_ms: u64) -> String {
    format!("{at_ms:013}#{}#{}", p.project_id, p.id)
}

fn item(p: &Payment) -> Result<Item, StorageError> {
    let mut item = db::to_item(p)?;
    let id = p.id.to_string();
    item.insert("pk".into(), db::s(pay_pk(&p.project_id)));
    item.insert("sk".into(), db::s(&id));
    item.insert(
        "gsi1pk".into(),
        db::s(format!("P#{}#PAY#O#{}", p.project_id, p.order_id)),
    );
    item.insert("gsi1sk".into(), db::s(&id));
    item.insert(
        "gsi2pk".into(),
        db::s(format!("P#{}#PAY#S#{}", p.project_id, p.status.as_str())),
    );
    item.insert("gsi2sk".into(), db::s(&id));
    if watched(p.status) && !p.closed {
        item.insert("duepk".into(), db::s(format!("PENDING#{}", shard(&p.id))));
        item.insert("duesk".into(), db::s(check_sk(p, next_check(p))));
    }
    Ok(item)
}

fn put(state: &AppState, p: &Payment, old_version: Option<u64>) -> Result<Put, StorageError> {
    let b = Put::builder()
        .table_name(&state.config.table_name)
        .set_item(Some(item(p)?));
    let b = match old_version {
        None => b.condition_expression("attribute_not_exists(pk)"),
        Some(v) => b
            .condition_expression("attribute_exists(pk) AND version = :v")
            .expression_attribute_values(":v", db::n(v)),
    };
    b.build().map_err(StorageError::other)
}

/// Stores a new payment.
pub async fn insert(state: &AppState, p: &Payment) -> Result<(), StorageError> {
    state
        .dynamodb
        .put_item()
        .table_name(&state.config.table_name)
        .set_item(Some(item(p)?))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map_err(storage_error)?;
    Ok(())
}

/// Replaces a payment if nobody wrote it since `old_version`; `false` on a lost race.
pub async fn replace(
    state: &AppState,
    p: &Payment,
    old_version: u64,
) -> Result<bool, StorageError> {
    let result = state
        .dynamodb
        .put_item()
        .table_name(&state.config.table_name)
        .set_item(Some(item(p)?))
        .condition_expression("attribute_exists(pk) AND version = :v")
        .expression_attribute_values(":v", db::n(old_version))
        .send()
        .await;
    db::applied(result)
}

pub async fn get(
    state: &AppState,
    project: &ProjectId,
    id: &PaymentId,
) -> Result<Option<Payment>, StorageError> {
    let item = db::get_item(state, pay_pk(project), id.to_string()).await?;
    let Some(item) = item else {
        return Ok(None);
    };
    let p: Payment = db::from_item(item)?;
    Ok((p.project_id == *project).then_some(p))
}

/// Which payments a listing wants: one order's (by its index, status filtered there), one
/// status (by the status index), or all.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    pub order_id: Option<&'a str>,
    pub status: Option<Status>,
}

/// A page of the project's payments, newest first.
pub async fn list(
    state: &AppState,
    project: &ProjectId,
    filter: &Filter<'_>,
    page: &PageRequest,
) -> Result<Page<Payment>, StorageError> {
    let (index, partition, status) = match (filter.order_id, filter.status) {
        (Some(o), s) => (Some("gsi1"), format!("P#{project}#PAY#O#{o}"), s),
        (None, Some(s)) => (
            Some("gsi2"),
            format!("P#{project}#PAY#S#{}", s.as_str()),
            None,
        ),
        (None, None) => (None, pay_pk(project), None),
    };
    let query = Query::newest_first(index, partition, Range::All)
        .only("status", status.map(Status::as_str));
    let after = page.after(&pay_pk(project));
    paging::page(state, &query, page.limit, after.as_ref())
        .await?
        .try_filter_map(|item| {
            let p: Payment = db::from_item(item)?;
            Ok::<_, StorageError>((p.project_id == *project).then_some(p))
        })
}

/// The status history, oldest first.
pub async fn history(
    state: &AppState,
    project: &ProjectId,
    id: &PaymentId,
) -> Result<Vec<serde_json::Value>, StorageError> {
    let out = state
        .dynamodb
        .query()
        .table_name(&state.config.table_name)
        .key_condition_expression("pk = :pk AND begins_with(sk, :h)")
        .expression_attribute_values(":pk", db::s(history_pk(project, id)))
        .expression_attribute_values(":h", db::s("H#"))
        .limit(200)
        .send()
        .await
        .map_err(storage_error)?;
    let text = |i: &Item, k: &str| {
        i.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .map(serde_json::Value::from)
            .unwrap_or_default()
    };
    Ok(out
        .items
        .unwrap_or_default()
        .iter()
        .map(|i| {
            serde_json::json!({
                "status": text(i, "status"),
                "status_detail": text(i, "status_detail"),
                "provider_payment_id": text(i, "provider_payment_id"),
                "at": text(i, "at"),
            })
        })
        .collect())
}

/// One status change, committed atomically: the payment (conditional on its version), its
/// history entry and, when it makes the order paid, the order-paid marker (conditional on not
/// existing). `Ok(false)` when a condition failed (a concurrent writer, or the order was
/// already paid by another payment): re-read and retry.
pub async fn commit_change(
    state: &AppState,
    p: &Payment,
    old_version: u64,
    marker: bool,
) -> Result<bool, StorageError> {
    let at = p.updated_at.clone();
    let mut history = Item::new();
    history.insert("pk".into(), db::s(history_pk(&p.project_id, &p.id)));
    history.insert(
        "sk".into(),
        db::s(format!("H#{at}#{}#{:06}", p.status.as_str(), p.version)),
    );
    history.insert("project_id".into(), db::s(p.project_id.to_string()));
    history.insert("status".into(), db::s(p.status.as_str()));
    history.insert(
        "status_detail".into(),
        db::s(p.status_detail.clone().unwrap_or_default()),
    );
    history.insert(
        "provider_payment_id".into(),
        db::s(p.provider_payment_id.clone().unwrap_or_default()),
    );
    history.insert("at".into(), db::s(&at));
    let mut items = vec![
        TransactWriteItem::builder()
            .put(put(state, p, Some(old_version))?)
            .build(),
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&state.config.table_name)
                    .set_item(Some(history))
                    .build()
                    .map_err(StorageError::other)?,
            )
            .build(),
    ];
    if marker {
        let mut m = Item::new();
        m.insert("pk".into(), db::s(marker_pk(&p.project_id, &p.order_id)));
        m.insert("sk".into(), db::s("PAID"));
        m.insert("project_id".into(), db::s(p.project_id.to_string()));
        m.insert("payment_id".into(), db::s(p.id.to_string()));
        m.insert("paid_at".into(), db::s(&at));
        m.insert(
            "emitted".into(),
            aws_sdk_dynamodb::types::AttributeValue::Bool(false),
        );
        // Until `order.paid` is out the marker sits in the `due` index, so the reconciler can
        // re-announce it if the sync dies between this commit and the emit.
        let now_ms = schedule::unix_ms(state.clock.now());
        m.insert(
            "duepk".into(),
            db::s(format!("{MARKER_DUE}#{}", marker_shard(&p.order_id))),
        );
        m.insert(
            "duesk".into(),
            db::s(format!("{now_ms:013}#{}#{}", p.project_id, p.order_id)),
        );
        items.push(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&state.config.table_name)
                        .set_item(Some(m))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .map_err(StorageError::other)?,
                )
                .build(),
        );
    }
    match state
        .dynamodb
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if db::is_transaction_conflict(&e) || db::is_conditional_failure(&e) => Ok(false),
        Err(e) => Err(storage_error(e)),
    }
}

/// The order-paid marker: which payment paid the order, and whether `order.paid` went out.
#[derive(Debug, Clone)]
pub struct Marker {
    pub payment_id: String,
    pub emitted: bool,
}

pub async fn marker(
    state: &AppState,
    project: &ProjectId,
    order_id: &str,
) -> Result<Option<Marker>, StorageError> {
    let item = db::get_item(state, marker_pk(project, order_id), "PAID").await?;
    Ok(item.and_then(|i| {
        if i.get("project_id").and_then(|v| v.as_s().ok()) != Some(&project.to_string()) {
            return None;
        }
        Some(Marker {
            payment_id: i
                .get("payment_id")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default(),
            emitted: i
                .get("emitted")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
        })
    }))
}

pub async fn marker_emitted(
    state: &AppState,
    project: &ProjectId,
    order_id: &str,
) -> Result<(), StorageError> {
    state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(marker_pk(project, order_id)))
        .key("sk", db::s("PAID"))
        .update_expression("SET emitted = :t REMOVE duepk, duesk")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
        .send()
        .await
        .map_err(storage_error)?;
    Ok(())
}
