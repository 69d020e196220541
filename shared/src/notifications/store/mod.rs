//! Notification items (data model item 8) and provider-message lookups (item 9).
//!
//! Every status change is one conditional write, so concurrent writers (the sender, a
//! redelivered copy of its message, provider feedback) cannot interleave into a wrong state:
//! - the sender *claims* a `pending` notification (`pending → sending`) with a fresh attempt
//!   token before calling a provider, and only the holder of that token may record the outcome;
//! - feedback applies a status only if it outranks the current one ([`Status::rank`]).

pub mod list;

pub use list::list;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::model::{HistoryEntry, Notification, Status};
use crate::db::{self, storage_error, Item, StorageError};
use crate::ids::{NotificationId, ProjectId};
use crate::AppState;

pub(super) fn pk(project: &ProjectId) -> String {
    format!("P#{project}#NTF")
}

pub(super) fn status_pk(project: &ProjectId, status: Status) -> String {
    format!("P#{project}#NTF#S#{}", status.name())
}

pub(super) fn channel_pk(project: &ProjectId, channel: super::model::Channel) -> String {
    format!("P#{project}#NTF#C#{}", channel.name())
}

/// Fallback TTL of a provider-message item whose notification has no `expires_at`.
const MAX_RETENTION_DAYS: u32 = 90;

pub fn message_pk(provider: &str, message_id: &str) -> String {
    format!("M#{provider}#{message_id}")
}

/// Stores a new notification. `expires_at` follows the plan's retention.
pub async fn create(
    state: &AppState,
    notification: &Notification,
    retention_days: u32,
) -> Result<(), StorageError> {
    let project = &notification.project_id;
    let mut item = db::to_item(notification)?;
    let id = notification.id.to_string();
    item.insert("pk".into(), db::s(pk(project)));
    item.insert("sk".into(), db::s(&id));
    item.insert(
        "gsi1pk".into(),
        db::s(status_pk(project, notification.status)),
    );
    item.insert("gsi1sk".into(), db::s(&id));
    item.insert(
        "gsi2pk".into(),
        db::s(channel_pk(project, notification.channel)),
    );
    item.insert("gsi2sk".into(), db::s(&id));
    item.insert("template_name".into(), db::s(&notification.template.name));
    item.insert("status_rank".into(), db::n(notification.status.rank()));
    let expires = state.clock.now().unix_timestamp() + i64::from(retention_days) * 86_400;
    item.insert("expires_at".into(), db::n(expires));
    state
        .dynamodb
        .put_item()
        .table_name(&state.config.table_name)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map_err(storage_error)?;
    Ok(())
}

/// Turns a stored item into a notification of `project`, or `None` (wrong project, expired).
pub(super) fn decode(
    state: &AppState,
    project: &ProjectId,
    item: Item,
) -> Result<Option<Notification>, StorageError> {
    if db::expired(&item, state.clock.now().unix_timestamp()) {
        return Ok(None);
    }
    let notification: Notification = db::from_item(item)?;
    Ok((notification.project_id == *project).then_some(notification))
}

pub async fn get(
    state: &AppState,
    project: &ProjectId,
    id: &NotificationId,
) -> Result<Option<Notification>, StorageError> {
    let item = db::get_item(state, pk(project), id.to_string()).await?;
    match item {
        Some(item) => decode(state, project, item),
        None => Ok(None),
    }
}

fn history_value(entry: &HistoryEntry) -> Result<AttributeValue, StorageError> {
    Ok(AttributeValue::L(vec![AttributeValue::M(db::to_item(
        entry,
    )?)]))
}

/// A status change: the new status, its history entry, and the condition it requires.
struct Change<'a> {
    to: Status,
    at: String,
    reason: Option<String>,
    condition: &'a str,
    extra_set: &'a str,
    values: Vec<(&'a str, AttributeValue)>,
    /// Whether the change is recorded in `history` (a throttled attempt put back is not: it
    /// would add two entries per second of throttling).
    record: bool,
}

/// Applies `change`; `Ok(None)` when its condition does not hold.
async fn apply(
    state: &AppState,
    project: &ProjectId,
    id: &NotificationId,
    change: Change<'_>,
) -> Result<Option<Notification>, StorageError> {
    let entry = HistoryEntry {
        status: change.to,
        at: change.at,
        reason: change.reason.clone(),
    };
    let now = crate::clock::rfc3339(state.clock.now());
    let mut expression = "SET #status = :to, status_rank = :rank, gsi1pk = :gsi1pk, \
         updated_at = :now, reason = :reason"
        .to_owned();
    if change.record {
        expression.push_str(", history = list_append(history, :h)");
    }
    if !change.extra_set.is_empty() {
        expression.push_str(", ");
        expression.push_str(change.extra_set);
    }
    let mut update = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(pk(project)))
        .key("sk", db::s(id.to_string()))
        .update_expression(expression)
        .condition_expression(format!("attribute_exists(pk) AND ({})", change.condition))
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":to", db::s(change.to.name()))
        .expression_attribute_values(":rank", db::n(change.to.rank()))
        .expression_attribute_values(":gsi1pk", db::s(status_pk(project, change.to)))
        .expression_attribute_values(":now", db::s(now))
        .expression_attribute_values(
            ":reason",
            change
                .reason
                .map(db::s)
                .unwrap_or(AttributeValue::Null(true)),
        )
        .return_values(ReturnValue::AllNew);
    if change.record {
        update = update.expression_attribute_values(":h", history_value(&entry)?);
    }
    for (name, value) in change.values {
        update = update.expression_attribute_values(name, value);
    }
    match update.send().await {
        Ok(out) => match out.attributes {
            Some(item) => decode(state, project, item),
            None => Ok(None),
        },
        Err(e) if db::is_conditional_failure(&e) => Ok(None),
        Err(e) => Err(storage_error(e)),
    }
}

/// `pending → sending` with a fresh attempt `token`; `None` if it was not pending.
pub async fn claim(
    state: &AppState,
    project: &ProjectId,
    id: &NotificationId,
    token: &str,
) -> Result<Option<Notification>, StorageError> {
    let at = crate::clock::rfc3339(state.clock.now());
    apply(
        state,
        project,
        id,
        Change {
            to: Status::Sending,
            at,
            reason: None,
            condition: "#status = :pending",
            extra_set: "claim_token = :token, claimed_at = :claimed, attempts = attempts + :one",
            record: true,
            values: vec![
                (":pending", db::s(Status::Pending.name())),
                (":token", db::s(token)),
                (":claimed", db::n(state.clock.now().unix_timestamp())),
                (":one", db::n(1)),
            ],
        },
    )
    .await
}

/// When the current claim was taken (epoch seconds), read from the raw item.
pub async fn claimed_at(
    state: &AppState,
    project: &ProjectId,
    id: &NotificationId,
) -> Result<Option<i64>, StorageError> {
    let out = state
        .dynamodb
        .get_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(pk(project)))
        .key("sk", db::s(id.to_string()))
        .projection_expression("claimed_at")
        .consistent_read(true)
        .send()
        .await
        .map_err(storage_error)?;
    Ok(out
        .item
        .and_then(|i| i.get("claimed_at").and_then(|v| v.as_n().ok()).cloned())
        .and_then(|n| n.parse().ok()))
}

/// `sending → pending` after a transient failure (the provider did not take the message).
pub async fn release(
    state: &AppState,
    project: &ProjectId,
    id: &NotificationId,
    token: &str,
    reason: &str,
    record: bool,
) -> Result<Option<Notification>, StorageError> {
    let at = crate::clock::rfc3339(state.clock.now());
    apply(
        state,
        project,
        id,
        Change {
            to: Status::Pending,
            at,
            reason: Some(reason.to_owned()),
            condition: "#status = :sending AND claim_token = :token",
            extra_set: "",
            record,
            values: vec![
                (":sending", db::s(Status::Sending.name())),
                (":token", db::s(token)),
            ],
        },
    )
    .await
}

/// Records the provider's acceptance: `sending → sent` plus the provider-message lookup item,
/// which expires with the notification (`expires_at`). If feedback already moved it further
/// (a fast `delivered`), only the message id is kept.
pub async fn mark_sent(
    state: &AppState,
    notification: &Notification,
    token: &str,
    provider: &str,
    message_id: &str,
) -> Result<(), MarkSentError> {
    let (project, id) = (&notification.project_id, &notification.id);
    put_provider_message(state, notification, provider, message_id).await?;
    let at = crate::clock::rfc3339(state.clock.now());
    let changed = apply(
        state,
        project,
        id,
        Change {
            to: Status::Sent,
            at,
            reason: None,
            condition: "#status = :sending AND claim_token = :token",
            extra_set: "provider_message_id = :mid",
            record: true,
            values: vec![
                (":sending", db::s(Status::Sending.name())),
                (":token", db::s(token)),
                (":mid", db::s(message_id)),
            ],
        },
    )
    .await?;
    if changed.is_none() {
        state
            .dynamodb
            .update_item()
            .table_name(&state.config.table_name)
            .key("pk", db::s(pk(project)))
            .key("sk", db::s(id.to_string()))
            .update_expression("SET provider_message_id = :mid")
            .condition_expression("attribute_exists(pk) AND claim_token = :token")
            .expression_attribute_values(":mid", db::s(message_id))
            .expression_attribute_values(":token", db::s(token))
            .send()
            .await
            .map_err(|e| {
                if db::is_conditional_failure(&e) {
                    MarkSentError::ClaimLost
                } else {
                    storage_error(e).into()
                }
            })?;
    }
    Ok(())
}

/// Why a sent notification was not recorded `sent`.
#[derive(Debug, thiserror::Error)]
pub enum MarkSentError {
    /// Another attempt took the notification over (the claim token no longer holds).
    #[error("the attempt token no longer holds")]
    ClaimLost,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// `pending`/`sending → failed`. With a `token`, only that claim's holder may fail it.
pub async fn mark_failed(
    state: &AppState,
    project: &ProjectId,
    id: &NotificationId,
    token: Option<&str>,
    reason: &str,
) -> Result<Option<Notification>, StorageError> {
    let at = crate::clock::rfc3339(state.clock.now());
    let (condition, values) = match token {
        Some(token) => (
            "#status = :sending AND claim_token = :token",
            vec![
                (":sending", db::s(Status::Sending.name())),
                (":token", db::s(token)),
            ],
        ),
        None => (
            "#status IN (:pending, :sending)",
            vec![
                (":pending", db::s(Status::Pending.name())),
                (":sending", db::s(Status::Sending.name())),
            ],
        ),
    };
    apply(
        state,
        project,
        id,
        Change {
            to: Status::Failed,
            at,
            reason: Some(reason.to_owned()),
            condition,
            extra_set: "",
            values,
            record: true,
        },
    )
    .await
}

/// Provider feedback: applies `to` only if it outranks the current status and the
/// notification has left the sender (`sending` or later).
pub async fn apply_feedback(
    state: &AppState,
    project: &ProjectId,
    id: &NotificationId,
    to: Status,
    at: String,
    reason: Option<String>,
) -> Result<Option<Notification>, StorageError> {
    apply(
        state,
        project,
        id,
        Change {
            to,
            at,
            reason,
            condition: "status_rank < :rank AND status_rank >= :sending_rank",
            extra_set: "",
            record: true,
            values: vec![(":sending_rank", db::n(Status::Sending.rank()))],
        },
    )
    .await
}

/// The `M#` lookup item. It carries the notification's own `expires_at` (a notification
/// stored before TTLs were copied has none: then the longest plan retention from now), so
/// the table's TTL removes it together with the notification it points to.
async fn put_provider_message(
    state: &AppState,
    notification: &Notification,
    provider: &str,
    message_id: &str,
) -> Result<(), StorageError> {
    let expires_at = notification.expires_at.unwrap_or_else(|| {
        state.clock.now().unix_timestamp() + i64::from(MAX_RETENTION_DAYS) * 86_400
    });
    state
        .dynamodb
        .put_item()
        .table_name(&state.config.table_name)
        .item("pk", db::s(message_pk(provider, message_id)))
        .item("sk", db::s("MSG"))
        .item("project_id", db::s(notification.project_id.to_string()))
        .item("notification_id", db::s(notification.id.to_string()))
        .item("expires_at", db::n(expires_at))
        .send()
        .await
        .map_err(storage_error)?;
    Ok(())
}

/// Which notification a provider message id belongs to.
pub async fn find_provider_message(
    state: &AppState,
    provider: &str,
    message_id: &str,
) -> Result<Option<(ProjectId, NotificationId)>, StorageError> {
    let out = state
        .dynamodb
        .get_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(message_pk(provider, message_id)))
        .key("sk", db::s("MSG"))
        .send()
        .await
        .map_err(storage_error)?;
    let Some(item) = out.item else {
        return Ok(None);
    };
    let field = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let project = field("project_id").and_then(|p| p.parse().ok());
    let notification = field("notification_id").and_then(|n| n.parse().ok());
    Ok(project.zip(notification))
}
