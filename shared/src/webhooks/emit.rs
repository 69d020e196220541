//! The one way an event enters Mostrador: the public `POST /v1/events` and internal emitters
//! (payments, notifications, endpoint health) all call [`emit`] / [`publish`].
//!
//! One `TransactWriteItems` stores the event, its dedupe marker and one delivery per matching
//! enabled endpoint (each already in the `due` index), so an event never exists without its
//! deliveries; the queue messages are sent afterwards and the sweeper covers a lost send.

use super::delivery_store::{self, Delivery, PENDING};
use super::endpoint_store;
use super::filter::EventType;
use super::queue;
use crate::db::{self, storage_error, StorageError};
use crate::error::{ApiError, FieldError};
use crate::events::store::{self, Event};
use crate::ids::{DeliveryId, EndpointId, EventId};
use crate::tenancy::minted::Minted;
use crate::tenancy::{Flag, Project};
use crate::AppState;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

/// Largest serialized payload (`{"type","timestamp","data"}`), per the Standard Webhooks advice.
pub const MAX_PAYLOAD_BYTES: usize = 20 * 1024;
/// Longest shop-side event id / dedupe key.
pub const MAX_DEDUPE_KEY: usize = 200;
/// Deliveries written in the event's own transaction (DynamoDB allows 100 items).
const FIRST_TX_DELIVERIES: usize = 90;

/// Which endpoints receive the event.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// Every enabled endpoint whose filter matches.
    Matching,
    /// Only this endpoint, whatever its filter (the endpoint test).
    Only(EndpointId),
}

/// Why an event was not stored. Shared by `POST /v1/events` and the internal emitters, so it
/// is no HTTP type: `From<EmitError> for ApiError` (below) is the HTTP edge; a consumer keeps it
/// as the cause of its `MessageError`.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// The type, data or dedupe key is not acceptable: 422 `validation_failed` naming the field.
    #[error("invalid event: {} {}", .0.field, .0.message)]
    Invalid(FieldError),
    /// The serialized payload is over [`MAX_PAYLOAD_BYTES`]: 413 `event_too_large`.
    #[error("event payload of {0} bytes is over the limit")]
    TooLarge(usize),
    /// Another request with the same dedupe key is storing its event: 503 `event_conflict`.
    #[error("a concurrent emit with this dedupe key is in progress")]
    InProgress,
    /// The event could not be stored or read back: as storage maps.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The HTTP edge for publishing.
impl From<EmitError> for ApiError {
    fn from(err: EmitError) -> Self {
        match err {
            EmitError::Invalid(field) => ApiError::validation(vec![field]),
            EmitError::TooLarge(bytes) => ApiError::new(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                "event_too_large",
                format!("the event payload is {bytes} bytes; the limit is {MAX_PAYLOAD_BYTES}"),
            )
            .with_member("limit_bytes", MAX_PAYLOAD_BYTES),
            EmitError::InProgress => ApiError::unavailable(
                "event_conflict",
                "a concurrent request with this event_id is in progress; retry",
            ),
            EmitError::Storage(e) => e.into(),
        }
    }
}

/// The SQS edge for publishing: a consumer's event is built by our code, so only storage and a
/// concurrent emit can stop it, and another receive may get past either; every kind comes back.
impl From<EmitError> for crate::sqs::MessageError {
    fn from(err: EmitError) -> Self {
        Self::retry(err)
    }
}

/// What [`publish`] did.
#[derive(Debug, Clone)]
pub struct Published {
    pub id: EventId,
    /// The dedupe key named an existing event: nothing new was stored.
    pub duplicate: bool,
    pub deliveries: Vec<DeliveryId>,
}

/// Stores an event and fans it out; idempotent on `dedupe_key` (same key, same id, nothing new).
pub async fn emit(
    state: &AppState,
    project: &Project,
    event_type: &str,
    data: serde_json::Value,
    dedupe_key: Option<&str>,
) -> Result<EventId, EmitError> {
    publish(
        state,
        project,
        event_type,
        data,
        dedupe_key,
        Target::Matching,
    )
    .await
    .map(|p| p.id)
}

/// [`emit`] with the outcome in full.
pub async fn publish(
    state: &AppState,
    project: &Project,
    event_type: &str,
    data: serde_json::Value,
    dedupe_key: Option<&str>,
    target: Target,
) -> Result<Published, EmitError> {
    let new = NewEvent {
        event_type,
        data,
        dedupe_key,
        target,
        minted: None,
    };
    let (published, fanout) = store_event(state, project, new, None).await?;
    fanout.send(state).await;
    Ok(published)
}

/// An event to store: what [`publish`] takes.
#[derive(Debug)]
pub struct NewEvent<'a> {
    pub event_type: &'a str,
    pub data: serde_json::Value,
    pub dedupe_key: Option<&'a str>,
    pub target: Target,
    /// The ids of an idempotent request (`POST /v1/events` with `Idempotency-Key`): the event
    /// and its deliveries get ids stable across re-runs of that request.
    pub minted: Option<Minted>,
}

/// The queue messages of stored deliveries, still to send. Sending is best effort (the sweeper
/// re-sends anything lost), so it cannot change the answer and may run beside other work.
#[derive(Debug, Default)]
#[must_use = "the deliveries are only queued when the fan-out is sent"]
pub struct Fanout(Vec<(crate::ids::ProjectId, DeliveryId, i32)>);

impl Fanout {
    pub async fn send(self, state: &AppState) {
        if !self.0.is_empty() {
            queue::enqueue(state, &self.0).await;
        }
    }
}

/// Validates and stores an event with its deliveries (one transaction); the messages are left
/// to the caller ([`Fanout`]). `endpoints`: the project's endpoints if the caller already read
/// them (`POST /v1/events` reads them beside the rate limit), otherwise they are read here.
pub async fn store_event(
    state: &AppState,
    project: &Project,
    new: NewEvent<'_>,
    endpoints: Option<Vec<endpoint_store::Endpoint>>,
) -> Result<(Published, Fanout), EmitError> {
    let NewEvent {
        event_type,
        data,
        dedupe_key,
        target,
        minted,
    } = new;
    // A re-run whose first run stored the event (and its deliveries, in the same transaction)
    // answers with it. Its queue messages are not sent again: the deliveries are in the `due`
    // index, so the sweeper re-sends any message the first run did not get to send.
    if let Some(id) = minted
        .filter(Minted::rerun)
        .map(|m| m.id::<crate::ids::Event>(""))
    {
        if let Some(event) = store::get(state, &project.id, &id).await? {
            let published = Published {
                id,
                duplicate: false,
                deliveries: event.delivery_ids,
            };
            return Ok((published, Fanout::default()));
        }
    }
    let event_type = EventType::parse(event_type)
        .map_err(|e| EmitError::Invalid(FieldError::new("type", "invalid", e.to_string())))?;
    if !data.is_object() {
        return Err(EmitError::Invalid(FieldError::new(
            "data",
            "invalid",
            "must be a JSON object",
        )));
    }
    // A known dedupe key is not looked up first: the transaction's condition on the dedupe
    // marker detects it (then it is read), so a new event costs one round trip fewer.
    if let Some(key) = dedupe_key {
        validate_dedupe_key(key)?;
    }
    let now = state.clock.now();
    let timestamp = crate::clock::rfc3339(now);
    let payload = serde_json::to_string(&serde_json::json!({
        "type": event_type.as_str(),
        "timestamp": timestamp,
        "data": data,
    }))
    .map_err(StorageError::other)?;
    if payload.len() > MAX_PAYLOAD_BYTES {
        if let Some(id) = deduped(state, project, dedupe_key).await? {
            return Ok((id, Fanout::default()));
        }
        return Err(EmitError::TooLarge(payload.len()));
    }
    let expires_at = now.unix_timestamp() + i64::from(project.limits().retention_days) * 86_400;
    let id = minted.map_or_else(|| EventId::at(now), |m| m.id(""));
    let targets = if project.flag(Flag::Webhooks) {
        let endpoints = match endpoints {
            Some(known) => known,
            None => endpoint_store::list(state, &project.id).await?,
        };
        endpoints
            .into_iter()
            .filter(|e| match target {
                Target::Matching => e.wants(&event_type),
                Target::Only(only) => e.id == only,
            })
            .collect()
    } else {
        Vec::new()
    };
    let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let new_deliveries: Vec<Delivery> = targets
        .iter()
        .map(|e| Delivery {
            project_id: project.id,
            id: minted.map_or_else(|| DeliveryId::at(now), |m| m.id(&e.id.to_string())),
            event_id: id,
            endpoint_id: e.id,
            event_type: event_type.to_string(),
            status: PENDING.into(),
            attempts: 0,
            round: 0,
            next_attempt_ms: Some(now_ms),
            sweep_at_ms: Some(now_ms + delivery_store::SWEEP_GRACE_MS),
            trigger: "scheduled".into(),
            last_status_code: None,
            last_error_class: None,
            last_attempt_at: None,
            created_at: timestamp.clone(),
            updated_at: timestamp.clone(),
            expires_at,
        })
        .collect();
    let event = Event {
        project_id: project.id,
        id,
        event_type: event_type.to_string(),
        timestamp,
        payload,
        dedupe_key: dedupe_key.map(str::to_owned),
        delivery_ids: new_deliveries.iter().map(|d| d.id).collect(),
        expires_at,
    };
    match write(state, &event, &new_deliveries, now.unix_timestamp()).await {
        Ok(()) => {}
        Err(WriteError::Duplicate) => {
            return match deduped(state, project, dedupe_key).await? {
                Some(id) => Ok((id, Fanout::default())),
                None => Err(EmitError::InProgress),
            };
        }
        Err(WriteError::Storage(e)) => return Err(e.into()),
    }
    let messages: Vec<_> = new_deliveries
        .iter()
        .map(|d| (d.project_id, d.id, 0))
        .collect();
    tracing::info!(event_id = %id, event_type = %event_type, deliveries = new_deliveries.len(), "event emitted");
    let published = Published {
        id,
        duplicate: false,
        deliveries: event.delivery_ids,
    };
    Ok((published, Fanout(messages)))
}

/// The event already stored under `dedupe_key`, as a duplicate outcome.
async fn deduped(
    state: &AppState,
    project: &Project,
    dedupe_key: Option<&str>,
) -> Result<Option<Published>, StorageError> {
    let Some(key) = dedupe_key else {
        return Ok(None);
    };
    let Some(id) = store::deduped(state, &project.id, key).await? else {
        return Ok(None);
    };
    // The first post's deliveries, so a retried post answers what the first one did.
    let deliveries = store::get(state, &project.id, &id)
        .await?
        .map(|e| e.delivery_ids)
        .unwrap_or_default();
    Ok(Some(Published {
        id,
        duplicate: true,
        deliveries,
    }))
}

fn validate_dedupe_key(key: &str) -> Result<(), EmitError> {
    if key.is_empty()
        || key.len() > MAX_DEDUPE_KEY
        || !key.bytes().all(|b| (0x21..=0x7e).contains(&b))
    {
        return Err(EmitError::Invalid(FieldError::new(
            "event_id",
            "invalid",
            format!("must be 1 to {MAX_DEDUPE_KEY} visible ASCII characters"),
        )));
    }
    Ok(())
}

enum WriteError {
    Duplicate,
    Storage(StorageError),
}

async fn write(
    state: &AppState,
    event: &Event,
    deliveries: &[Delivery],
    now_s: i64,
) -> Result<(), WriteError> {
    let table = &state.config.table_name;
    let put = |item, condition: &str| -> Result<TransactWriteItem, StorageError> {
        let mut put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression(condition);
        if condition.contains(":now") {
            put = put.expression_attribute_values(":now", db::n(now_s));
        }
        let put = put.build().map_err(StorageError::other)?;
        Ok(TransactWriteItem::builder().put(put).build())
    };
    let mut first = vec![put(
        store::to_item(event).map_err(WriteError::Storage)?,
        "attribute_not_exists(pk)",
    )
    .map_err(WriteError::Storage)?];
    let has_dedupe = if let Some(key) = &event.dedupe_key {
        let cond = "attribute_not_exists(pk) OR expires_at <= :now";
        first.push(put(store::dedupe_item(event, key), cond).map_err(WriteError::Storage)?);
        true
    } else {
        false
    };
    let mut items = Vec::with_capacity(deliveries.len());
    for d in deliveries {
        items.push(
            put(
                delivery_store::to_item(d).map_err(WriteError::Storage)?,
                "attribute_not_exists(pk)",
            )
            .map_err(WriteError::Storage)?,
        );
    }
    let rest = items.split_off(items.len().min(FIRST_TX_DELIVERIES));
    first.extend(items);
    // A failed condition can only be the dedupe marker's (the event and delivery ids are new).
    match db::transact(state, first)
        .await
        .map_err(WriteError::Storage)?
    {
        db::Transaction::Committed => {}
        db::Transaction::ConditionFailed if has_dedupe => return Err(WriteError::Duplicate),
        db::Transaction::ConditionFailed => {
            return Err(WriteError::Storage(StorageError::other(
                "a new event's items already exist",
            )))
        }
    }
    // Beyond one transaction (only with very large endpoint limits): the rest in more.
    let mut rest = rest;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(100));
        state
            .dynamodb
            .transact_write_items()
            .set_transact_items(Some(rest))
            .send()
            .await
            .map_err(|e| WriteError::Storage(storage_error(e)))?;
        rest = tail;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqs::MessageError;
    use http::StatusCode;

    #[test]
    fn the_http_edge_keeps_each_answer() {
        let field = || FieldError::new("data", "invalid", "must be a JSON object");
        let invalid = ApiError::from(EmitError::Invalid(field()));
        let expected = ApiError::validation(vec![field()]);
        assert_eq!(
            (invalid.status(), invalid.code()),
            (expected.status(), expected.code())
        );
        assert_eq!(invalid.field_errors()[0].field, "data");
        let large = ApiError::from(EmitError::TooLarge(30_000));
        assert_eq!(large.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(large.code(), "event_too_large");
        assert_eq!(large.problem("r")["limit_bytes"], MAX_PAYLOAD_BYTES);
        let busy = ApiError::from(EmitError::InProgress);
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.code(), "event_conflict");
        let storage = ApiError::from(EmitError::from(StorageError::other("boom")));
        assert_eq!(storage.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(storage.code(), "internal_error");
    }

    #[test]
    fn the_sqs_edge_retries_with_the_emit_error_as_cause() {
        for err in [
            EmitError::InProgress,
            EmitError::from(StorageError::other("boom")),
        ] {
            let message = MessageError::from(err);
            assert!(message.is_retry());
            let cause = std::error::Error::source(&message).expect("a cause");
            assert!(cause.is::<EmitError>(), "{cause:?}");
        }
    }
}
