//! Deliveries (item 13) and their attempts (item 14).
//!
//! A delivery is one event for one endpoint; it is the source of truth for the dispatcher: the
//! queue message only names it. While `pending`, the delivery sits in the sparse `due` index at
//! `DUE#<shard>` / `<next_attempt_ms>#<prj>#<dlv>` so the sweeper finds it even if every queue
//! message about it is lost.

use crate::db::{self, storage_error, Item, StorageError};
use crate::ids::{DeliveryId, EndpointId, EventId, ProjectId};
use crate::paging::{self, Page, PageRequest, Query, TimeRange};
use crate::AppState;
use serde::{Deserialize, Serialize};

/// How long a queued delivery is left to its message before the sweeper sends another: longer
/// than a message can stay in flight before its DLQ (4 receives x 180 s visibility), so sweeps
/// rescue lost messages without flooding the queue with duplicates under a backlog.
pub const SWEEP_GRACE_MS: i64 = 15 * 60 * 1000;
/// Shards of the `due` index.
pub const DUE_SHARDS: u32 = 16;

pub const PENDING: &str = "pending";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";
pub const STATUSES: &[&str] = &[PENDING, SUCCEEDED, FAILED];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Delivery {
    pub project_id: ProjectId,
    pub id: DeliveryId,
    pub event_id: EventId,
    pub endpoint_id: EndpointId,
    pub event_type: String,
    pub status: String,
    /// Attempts ever made (numbers the attempt items `A#000001`…).
    pub attempts: u32,
    /// Attempts in the current schedule round (recover starts a new round).
    pub round: u32,
    /// When the next attempt may run (ms), while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_ms: Option<i64>,
    /// When the sweeper should look at the delivery again if no queue message got it done
    /// (set while a message is already on its way, so sweeps do not flood the queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_at_ms: Option<i64>,
    /// `scheduled` or `manual`: what the next attempt is.
    pub trigger: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub expires_at: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Attempt {
    pub number: u32,
    pub trigger: String,
    pub started_at: String,
    /// `in_flight` until the result is written; a crash leaves it `interrupted` in the view.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    /// The headers sent, `webhook-signature` redacted to key ids (never a signature or secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_headers: Option<std::collections::BTreeMap<String, String>>,
    pub expires_at: i64,
}

pub fn pk(project: &ProjectId) -> String {
    format!("P#{project}#DLV")
}

pub fn attempts_pk(project: &ProjectId, id: &DeliveryId) -> String {
    format!("P#{project}#DLV#{id}")
}

pub fn attempt_sk(n: u32) -> String {
    format!("A#{n:06}")
}

pub fn endpoint_index_pk(project: &ProjectId, endpoint: &EndpointId) -> String {
    format!("P#{project}#DLV#E#{endpoint}")
}

pub fn status_index_pk(project: &ProjectId, status: &str) -> String {
    format!("P#{project}#DLV#S#{status}")
}

pub fn shard(id: &DeliveryId) -> u32 {
    crc32fast::hash(id.to_string().as_bytes()) % DUE_SHARDS
}

pub fn due_sk(at_ms: i64, project: &ProjectId, id: &DeliveryId) -> String {
    format!("{:013}#{project}#{id}", at_ms.max(0))
}

/// The full item for `d`, index keys included.
pub fn to_item(d: &Delivery) -> Result<Item, StorageError> {
    let mut item = db::to_item(d)?;
    item.insert("pk".into(), db::s(pk(&d.project_id)));
    item.insert("sk".into(), db::s(d.id.to_string()));
    item.insert(
        "gsi1pk".into(),
        db::s(endpoint_index_pk(&d.project_id, &d.endpoint_id)),
    );
    item.insert("gsi1sk".into(), db::s(d.id.to_string()));
    item.insert(
        "gsi2pk".into(),
        db::s(status_index_pk(&d.project_id, &d.status)),
    );
    item.insert("gsi2sk".into(), db::s(d.id.to_string()));
    if let (PENDING, Some(at)) = (d.status.as_str(), d.sweep_at_ms.or(d.next_attempt_ms)) {
        item.insert("duepk".into(), db::s(format!("DUE#{}", shard(&d.id))));
        item.insert("duesk".into(), db::s(due_sk(at, &d.project_id, &d.id)));
    }
    Ok(item)
}

pub fn from_item(
    project: &ProjectId,
    item: Item,
    now_s: i64,
) -> Result<Option<Delivery>, StorageError> {
    if db::expired(&item, now_s) {
        return Ok(None);
    }
    let d: Delivery = db::from_item(item)?;
    Ok((d.project_id == *project).then_some(d))
}

/// Which deliveries a listing wants: one endpoint's, one status, both or neither, minted in a
/// time range.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    pub endpoint: Option<&'a EndpointId>,
    pub status: Option<&'a str>,
    pub time: TimeRange,
}

/// A page of the project's deliveries, newest first; expired ones left out.
pub async fn list(
    state: &AppState,
    project: &ProjectId,
    filter: &Filter<'_>,
    page: &PageRequest,
) -> Result<Page<Delivery>, StorageError> {
    let range = filter.time.ids::<crate::ids::Delivery>();
    // An endpoint's deliveries through its index (status filtered there), a status alone
    // through the status index.
    let (index, partition, status) = match (filter.endpoint, filter.status) {
        (Some(e), s) => (Some("gsi1"), endpoint_index_pk(project, e), s),
        (None, Some(s)) => (Some("gsi2"), status_index_pk(project, s), None),
        (None, None) => (None, pk(project), None),
    };
    let query = Query::newest_first(index, partition, range).only("status", status);
    let after = page.after(&pk(project));
    let now = state.clock.now().unix_timestamp();
    paging::page(state, &query, page.limit, after.as_ref())
        .await?
        .try_filter_map(|item| from_item(project, item, now))
}

pub async fn get(
    state: &AppState,
    project: &ProjectId,
    id: &DeliveryId,
) -> Result<Option<Delivery>, StorageError> {
    let item = db::get_item(state, pk(project), id.to_string()).await?;
    let now_s = state.clock.now().unix_timestamp();
    match item {
        Some(item) => from_item(project, item, now_s),
        None => Ok(None),
    }
}

/// Writes `next` over `prev` only if nobody changed the delivery since `prev` was read
/// (`attempts` and `next_attempt_ms` both match); `false` when that race was lost.
pub async fn replace_if(
    state: &AppState,
    prev: &Delivery,
    next: &Delivery,
) -> Result<bool, StorageError> {
    let result = state
        .dynamodb
        .put_item()
        .table_name(&state.config.table_name)
        .set_item(Some(to_item(next)?))
        .condition_expression(guard_expression(prev))
        .set_expression_attribute_values(guard_values(prev))
        .expression_attribute_names("#st", "status")
        .send()
        .await;
    db::applied(result)
}

pub fn guard_expression(prev: &Delivery) -> &'static str {
    if prev.next_attempt_ms.is_some() {
        "attempts = :prev_attempts AND next_attempt_ms = :prev_next AND #st = :prev_status"
    } else {
        "attempts = :prev_attempts AND attribute_not_exists(next_attempt_ms) AND #st = :prev_status"
    }
}

pub fn guard_values(prev: &Delivery) -> Option<Item> {
    let mut v = Item::new();
    v.insert(":prev_attempts".into(), db::n(prev.attempts));
    v.insert(":prev_status".into(), db::s(&prev.status));
    if let Some(at) = prev.next_attempt_ms {
        v.insert(":prev_next".into(), db::n(at));
    }
    Some(v)
}

pub async fn attempts(
    state: &AppState,
    project: &ProjectId,
    id: &DeliveryId,
) -> Result<Vec<Attempt>, StorageError> {
    let query = Query {
        consistent: true,
        ..Query::partition(None, attempts_pk(project, id))
    };
    paging::all(state, &query)
        .await?
        .into_iter()
        .map(db::from_item)
        .collect()
}

pub async fn put_attempt(
    state: &AppState,
    project: &ProjectId,
    id: &DeliveryId,
    attempt: &Attempt,
) -> Result<(), StorageError> {
    let mut item = db::to_item(attempt)?;
    item.insert("pk".into(), db::s(attempts_pk(project, id)));
    item.insert("sk".into(), db::s(attempt_sk(attempt.number)));
    item.insert("project_id".into(), db::s(project.to_string()));
    state
        .dynamodb
        .put_item()
        .table_name(&state.config.table_name)
        .set_item(Some(item))
        .send()
        .await
        .map_err(storage_error)?;
    Ok(())
}

/// Several deliveries by id (absent, expired and foreign ones are skipped).
pub async fn get_many(
    state: &AppState,
    project: &ProjectId,
    ids: &[DeliveryId],
) -> Result<Vec<Delivery>, StorageError> {
    let mut out = Vec::new();
    for id in ids {
        if let Some(d) = get(state, project, id).await? {
            out.push(d);
        }
    }
    Ok(out)
}

/// The delivery's public view, attempts optional.
pub fn view<'a>(d: &'a Delivery, attempts: Option<&'a [Attempt]>) -> DeliveryView<'a> {
    DeliveryView {
        id: &d.id,
        event_id: &d.event_id,
        endpoint_id: &d.endpoint_id,
        event_type: &d.event_type,
        status: &d.status,
        attempts: d.attempts,
        next_attempt_at: d
            .next_attempt_ms
            .filter(|_| d.status == PENDING)
            .and_then(super::endpoint_store::ms_rfc3339),
        last_status_code: d.last_status_code,
        last_error_class: d.last_error_class.as_deref(),
        last_attempt_at: d.last_attempt_at.as_deref(),
        created_at: &d.created_at,
        updated_at: &d.updated_at,
        attempt_log: attempts.map(|list| list.iter().map(AttemptView::new).collect()),
    }
}

/// One delivery of one event to one endpoint.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Delivery)]
pub struct DeliveryView<'a> {
    pub id: &'a DeliveryId,
    pub event_id: &'a EventId,
    pub endpoint_id: &'a EndpointId,
    pub event_type: &'a str,
    #[schema(value_type = String, pattern = "^(pending|succeeded|failed)$")]
    pub status: &'a str,
    pub attempts: u32,
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
    pub last_status_code: Option<u16>,
    pub last_error_class: Option<&'a str>,
    #[schema(format = DateTime)]
    pub last_attempt_at: Option<&'a str>,
    #[schema(format = DateTime)]
    pub created_at: &'a str,
    #[schema(format = DateTime)]
    pub updated_at: &'a str,
    /// Only on GET /v1/webhook-deliveries/{delivery_id}: time, status code, duration, first
    /// 2 KB of the body, error class, request headers
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub attempt_log: Option<Vec<AttemptView<'a>>>,
}

/// One attempt of a delivery.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = DeliveryAttempt)]
pub struct AttemptView<'a> {
    pub number: u32,
    #[schema(value_type = String, pattern = "^(scheduled|manual)$")]
    pub trigger: &'a str,
    #[schema(format = DateTime)]
    pub started_at: &'a str,
    /// `in_flight_or_interrupted` until the result is written (a crash leaves it so)
    #[schema(value_type = String, pattern = "^(in_flight_or_interrupted|succeeded|failed)$")]
    pub state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub response_body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error_class: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    pub next_attempt_at: Option<&'a str>,
    /// The headers sent (absent when nothing was sent): `webhook-id`, `webhook-timestamp`,
    /// `content-type`, `user-agent`, and `webhook-signature` redacted to one
    /// `v1,key:<key id>…` per signing secret, where the key id is the first 8 hex digits of
    /// SHA-256 of the secret (`whsec_…`). Never a signature or a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!({"content-type": "application/json", "user-agent": "Mostrador-Webhooks/1.0",
        "webhook-id": "evt_01JD4S2V3N8Q9K1M2X7YB5ZC6T", "webhook-timestamp": "1732111391",
        "webhook-signature": "v1,key:3f9a1c0e…"}))]
    pub request_headers: Option<&'a std::collections::BTreeMap<String, String>>,
}

impl<'a> AttemptView<'a> {
    fn new(a: &'a Attempt) -> Self {
        Self {
            number: a.number,
            trigger: &a.trigger,
            started_at: &a.started_at,
            state: if a.state == "in_flight" {
                "in_flight_or_interrupted"
            } else {
                &a.state
            },
            status_code: a.status_code,
            duration_ms: a.duration_ms,
            response_body: a.response_body.as_deref(),
            error_class: a.error_class.as_deref(),
            error: a.error.as_deref(),
            next_attempt_at: a.next_attempt_at.as_deref(),
            request_headers: a.request_headers.as_ref(),
        }
    }
}

/// A page of deliveries.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryList<'a> {
    pub data: Vec<DeliveryView<'a>>,
    pub next_cursor: Option<String>,
}
