//! Key records (data model item 2): `K#<key id>` / `KEY`, listed per project in `gsi1`.

use super::KeyError;
use crate::db::{self, storage_error, Item, StorageError};
use crate::ids::ProjectId;
use crate::paging::{self, Query};
use crate::AppState;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Revoked,
}

/// The stored side of a key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyRecord {
    pub key_id: String,
    pub project_id: ProjectId,
    /// argon2id PHC string.
    pub hash: String,
    pub status: KeyStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub created_at: String,
    /// Epoch seconds after which the key stops working (rotation grace), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Epoch seconds, refreshed at most hourly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
}

pub fn key_pk(key_id: &str) -> String {
    format!("K#{key_id}")
}

pub fn item(record: &KeyRecord) -> Result<Item, StorageError> {
    let mut item = db::to_item(record)?;
    item.insert("pk".into(), db::s(key_pk(&record.key_id)));
    item.insert("sk".into(), db::s("KEY"));
    item.insert(
        "gsi1pk".into(),
        db::s(format!("P#{}#KEYS", record.project_id)),
    );
    item.insert(
        "gsi1sk".into(),
        db::s(format!("{}#{}", record.created_at, record.key_id)),
    );
    Ok(item)
}

pub async fn put(state: &AppState, record: &KeyRecord) -> Result<(), StorageError> {
    state
        .dynamodb
        .put_item()
        .table_name(&state.config.table_name)
        .set_item(Some(item(record)?))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map_err(storage_error)?;
    Ok(())
}

/// Reads a key record by id (strongly consistent: a revocation is seen at once).
pub async fn get(state: &AppState, key_id: &str) -> Result<Option<KeyRecord>, StorageError> {
    let item = db::get_item(state, key_pk(key_id), "KEY").await?;
    item.map(db::from_item).transpose()
}

/// Every key of a project, newest first (its `gsi1` partition, by creation time).
pub async fn list(state: &AppState, project: &ProjectId) -> Result<Vec<KeyRecord>, StorageError> {
    let query = Query {
        backward: true,
        ..Query::partition(Some("gsi1"), format!("P#{project}#KEYS"))
    };
    paging::all(state, &query)
        .await?
        .into_iter()
        .map(db::from_item)
        .collect()
}

/// Sets `valid_until` (grace) or revokes, only for a key of `project`.
pub async fn end(
    state: &AppState,
    project: &ProjectId,
    key_id: &str,
    valid_until: Option<i64>,
    now: &str,
) -> Result<(), KeyError> {
    let mut req = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(key_pk(key_id)))
        .key("sk", db::s("KEY"))
        .condition_expression("project_id = :p")
        .expression_attribute_values(":p", db::s(project.to_string()));
    req = match valid_until {
        Some(at) => req
            .update_expression("SET valid_until = :v")
            .expression_attribute_values(":v", db::n(at)),
        None => req
            .update_expression("SET #s = :revoked, revoked_at = :now")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":revoked", db::s("revoked"))
            .expression_attribute_values(":now", db::s(now)),
    };
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e) if db::is_conditional_failure(&e) => Err(KeyError::NotFound),
        Err(e) => Err(storage_error(e).into()),
    }
}

/// Records use at most once an hour per key: cheap, and good enough to find unused keys.
pub async fn touch(state: &AppState, key_id: &str, now_s: i64) {
    let result = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(key_pk(key_id)))
        .key("sk", db::s("KEY"))
        .update_expression("SET last_used_at = :now")
        .condition_expression("attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :stale)")
        .expression_attribute_values(":now", db::n(now_s))
        .expression_attribute_values(":stale", db::n(now_s - 3600))
        .send()
        .await;
    if let Err(e) = result {
        if !db::is_conditional_failure(&e) {
            tracing::warn!(error = %crate::telemetry::error_chain(&e), "could not record key use");
        }
    }
}
