//! The retry sweeper (Schedule, rate(1 minute)): finds every pending delivery whose next
//! attempt is due in the sparse `due` index and enqueues it. It covers waits longer than SQS's
//! 15-minute delay cap, lost queue messages, and attempts whose dispatcher died mid-flight
//! (their lease expires and they become due again). Duplicate messages are harmless: the
//! dispatcher's claim is conditional.

use super::delivery_store::{self, DUE_SHARDS, SWEEP_GRACE_MS};
use super::queue;
use crate::db::{self, Item, StorageError};
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
    let mut due: Vec<(ProjectId, DeliveryId, i32)> = Vec::new();
    for shard in 0..DUE_SHARDS {
        let query = Query {
            range: Range::Below(due_by(now_ms)),
            ..Query::partition(Some("due"), format!("DUE#{shard}"))
        };
        for item in paging::all(state, &query).await? {
            if let Some(entry) = entry(&item) {
                if claim(state, &entry, now_ms).await? {
                    due.push((entry.project, entry.id, 0));
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

/// The `due` index's sort key bound that every entry due by `now_ms` sorts below: `#` sorts
/// before digits, `~` after everything an id contains.
fn due_by(now_ms: i64) -> String {
    format!("{:013}#~", now_ms.max(0))
}

/// One entry of the `due` index: whose delivery, and the sort key it was found under.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    project: ProjectId,
    id: DeliveryId,
    due_sk: String,
}

/// The entry an index item names; `None` for an item that is not a delivery's.
fn entry(item: &Item) -> Option<Entry> {
    let project = item
        .get("pk")
        .and_then(|v| v.as_s().ok())
        .and_then(|pk| pk.strip_prefix("P#")?.strip_suffix("#DLV"))
        .and_then(|p| p.parse::<ProjectId>().ok())?;
    let id = item
        .get("sk")
        .and_then(|v| v.as_s().ok())
        .and_then(|sk| sk.parse::<DeliveryId>().ok())?;
    let due_sk = item.get("duesk").and_then(|v| v.as_s().ok()).cloned()?;
    Some(Entry {
        project,
        id,
        due_sk,
    })
}

/// Where a swept delivery goes in the `due` index: a grace period ahead, so the next sweeps
/// leave it to the message this sweep sends (its sweep time, and its new sort key).
fn swept(entry: &Entry, now_ms: i64) -> (i64, String) {
    let at = now_ms + SWEEP_GRACE_MS;
    (at, delivery_store::due_sk(at, &entry.project, &entry.id))
}

/// Moves the delivery's sweep time a grace period ahead before its message is sent, so the next
/// sweeps leave it to that message; `false` if someone changed it meanwhile (they own it now).
async fn claim(state: &AppState, entry: &Entry, now_ms: i64) -> Result<bool, StorageError> {
    let (at, new_sk) = swept(entry, now_ms);
    let Entry {
        project,
        id,
        due_sk: old_sk,
    } = entry;
    let result = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(delivery_store::pk(project)))
        .key("sk", db::s(id.to_string()))
        .update_expression("SET sweep_at_ms = :at, duesk = :new")
        .condition_expression("duesk = :old")
        .expression_attribute_values(":at", db::n(at))
        .expression_attribute_values(":new", db::s(new_sk))
        .expression_attribute_values(":old", db::s(old_sk))
        .send()
        .await;
    db::applied(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(project: &ProjectId, id: &DeliveryId, at_ms: i64) -> Item {
        Item::from([
            ("pk".to_owned(), db::s(delivery_store::pk(project))),
            ("sk".to_owned(), db::s(id.to_string())),
            (
                "duesk".to_owned(),
                db::s(delivery_store::due_sk(at_ms, project, id)),
            ),
        ])
    }

    #[test]
    fn the_bound_takes_every_entry_due_by_now_and_none_later() {
        let (p, d) = (ProjectId::new(), DeliveryId::new());
        let now = 1_796_673_600_000;
        assert!(delivery_store::due_sk(now, &p, &d) < due_by(now));
        assert!(delivery_store::due_sk(0, &p, &d) < due_by(now));
        assert!(delivery_store::due_sk(now + 1, &p, &d) > due_by(now));
        assert_eq!(due_by(-5), format!("{:013}#~", 0));
    }

    #[test]
    fn an_index_item_names_its_delivery_and_sort_key() {
        let (p, d) = (ProjectId::new(), DeliveryId::new());
        let found = entry(&item(&p, &d, 42));
        assert_eq!(
            found,
            Some(Entry {
                project: p,
                id: d,
                due_sk: delivery_store::due_sk(42, &p, &d),
            })
        );
        let mut foreign = item(&p, &d, 42);
        foreign.insert("pk".into(), db::s(format!("P#{p}#WHE")));
        assert_eq!(entry(&foreign), None);
        let mut unsorted = item(&p, &d, 42);
        unsorted.remove("duesk");
        assert_eq!(entry(&unsorted), None);
    }

    #[test]
    fn a_swept_delivery_is_left_to_its_message_for_the_grace_period() {
        let (p, d) = (ProjectId::new(), DeliveryId::new());
        let now = 1_796_673_600_000;
        let Some(e) = entry(&item(&p, &d, now - 1)) else {
            panic!("no entry");
        };
        let (at, sk) = swept(&e, now);
        assert_eq!(at, now + SWEEP_GRACE_MS);
        assert_eq!(sk, delivery_store::due_sk(at, &p, &d));
        assert!(sk > due_by(now) && sk > due_by(now + SWEEP_GRACE_MS - 1));
        assert!(sk < due_by(now + SWEEP_GRACE_MS));
    }
}
