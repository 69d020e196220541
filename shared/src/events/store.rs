//! Events (item 10) and their shop-side dedupe markers (item 11).

use crate::db::{self, Item, StorageError};
use crate::ids::{DeliveryId, EventId, ProjectId};
use crate::paging::{self, Page, PageRequest, Query, TimeRange};
use crate::AppState;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Event {
    pub project_id: ProjectId,
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: String,
    pub timestamp: String,
    /// The exact body every delivery sends: `{"type","timestamp","data"}`.
    pub payload: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedupe_key: Option<String>,
    #[serde(default)]
    pub delivery_ids: Vec<DeliveryId>,
    pub expires_at: i64,
}

pub fn pk(project: &ProjectId) -> String {
    format!("P#{project}#EVT")
}

pub fn type_index_pk(project: &ProjectId, event_type: &str) -> String {
    format!("P#{project}#EVT#T#{event_type}")
}

pub fn dedupe_pk(project: &ProjectId, key: &str) -> String {
    format!("P#{project}#EVTID#{key}")
}

pub fn to_item(e: &Event) -> Result<Item, StorageError> {
    let mut item = db::to_item(e)?;
    item.insert("pk".into(), db::s(pk(&e.project_id)));
    item.insert("sk".into(), db::s(e.id.to_string()));
    item.insert(
        "gsi1pk".into(),
        db::s(type_index_pk(&e.project_id, &e.event_type)),
    );
    item.insert("gsi1sk".into(), db::s(e.id.to_string()));
    Ok(item)
}

pub fn dedupe_item(e: &Event, key: &str) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), db::s(dedupe_pk(&e.project_id, key)));
    item.insert("sk".into(), db::s("DEDUPE"));
    item.insert("project_id".into(), db::s(e.project_id.to_string()));
    item.insert("event_id".into(), db::s(e.id.to_string()));
    item.insert("expires_at".into(), db::n(e.expires_at));
    item
}

pub fn from_item(
    project: &ProjectId,
    item: Item,
    now_s: i64,
) -> Result<Option<Event>, StorageError> {
    if db::expired(&item, now_s) {
        return Ok(None);
    }
    let e: Event = db::from_item(item)?;
    Ok((e.project_id == *project).then_some(e))
}

/// Which events a listing wants: of one type or all, minted in a time range.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub event_type: Option<String>,
    pub time: TimeRange,
}

/// A page of the project's events, newest first; expired ones left out.
pub async fn list(
    state: &AppState,
    project: &ProjectId,
    filter: &Filter,
    page: &PageRequest,
) -> Result<Page<Event>, StorageError> {
    let range = filter.time.ids::<crate::ids::Event>();
    let query = match &filter.event_type {
        Some(t) => Query::newest_first(Some("gsi1"), type_index_pk(project, t), range),
        None => Query::newest_first(None, pk(project), range),
    };
    let after = page.after(&pk(project));
    let now = state.clock.now().unix_timestamp();
    paging::page(state, &query, page.limit, after.as_ref())
        .await?
        .try_filter_map(|item| from_item(project, item, now))
}

pub async fn get(
    state: &AppState,
    project: &ProjectId,
    id: &EventId,
) -> Result<Option<Event>, StorageError> {
    let item = db::get_item(state, pk(project), id.to_string()).await?;
    match item {
        Some(item) => from_item(project, item, state.clock.now().unix_timestamp()),
        None => Ok(None),
    }
}

/// The event a dedupe key already names, if any (and not expired).
pub async fn deduped(
    state: &AppState,
    project: &ProjectId,
    key: &str,
) -> Result<Option<EventId>, StorageError> {
    let item = db::get_item(state, dedupe_pk(project, key), "DEDUPE").await?;
    let Some(item) = item else {
        return Ok(None);
    };
    if db::expired(&item, state.clock.now().unix_timestamp()) {
        return Ok(None);
    }
    Ok(item
        .get("event_id")
        .and_then(|v| v.as_s().ok())
        .and_then(|s| s.parse().ok()))
}
