//! `POST /v1/events`, `GET /v1/events/{event_id}`, `GET /v1/events` (served by the `webhooks`
//! function, see `webhooks::routes`).

use super::delivery_store::{self, DeliveryView};
use super::emit;
use super::endpoint_store::Endpoint;
use super::filter::EventType;
use crate::error::ApiError;
use crate::events::store::{self, Event};
use crate::http::{json, ApiRequest};
use crate::ids::EventId;
use crate::paging::{PageRequest, TimeRange};
use crate::tenancy::{idempotency, Caller};
use crate::AppState;
use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;

/// Largest `POST /v1/events` body (the stored payload has its own 20 KB limit).
pub const MAX_BODY: usize = 64 * 1024;

/// `POST /v1/events`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateEvent, example = json!({"type": "order.created", "data": {"order_id": "A-1001", "total": 125000}, "event_id": "A-1001-created"}))]
pub struct NewEvent {
    /// Dotted lowercase name (`order.created`)
    #[serde(rename = "type")]
    #[schema(
        max_length = 100,
        pattern = "^[a-z0-9_]+(\\.[a-z0-9_]+){0,7}$",
        example = "order.created"
    )]
    event_type: String,
    /// A JSON object; the whole body is limited to 20 KB
    #[schema(value_type = Object)]
    data: serde_json::Value,
    /// Your id for the event: the same id is stored once (deduplication)
    #[serde(default)]
    #[schema(pattern = "^[\\x21-\\x7e]{1,200}$")]
    event_id: Option<String>,
}

/// `POST /v1/events`: the stored event and where it goes.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct EventAccepted<'a> {
    pub id: &'a EventId,
    /// `true` when `event_id` named an earlier event: nothing new was stored, and `id` /
    /// `delivery_ids` are that event's
    pub duplicate: bool,
    /// How many endpoints it goes to
    pub deliveries: usize,
    /// One delivery per endpoint (`GET /v1/webhook-deliveries/{delivery_id}`)
    pub delivery_ids: &'a [crate::ids::DeliveryId],
}

/// `POST /v1/events`. `endpoints`: the project's endpoints, read beside the rate limit (see
/// `webhooks::routes`). The delivery messages are sent while the idempotent answer is stored.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
    endpoints: Option<Result<Vec<Endpoint>, ApiError>>,
) -> Result<Response<Body>, ApiError> {
    idempotency::once_then(state, caller, req, || async {
        let body: NewEvent = req.json_limited(MAX_BODY)?;
        let new = emit::NewEvent {
            event_type: &body.event_type,
            data: body.data,
            dedupe_key: body.event_id.as_deref(),
            target: emit::Target::Matching,
            minted: caller.minted(),
        };
        let endpoints = endpoints.transpose()?;
        let (published, fanout) = emit::store_event(state, &caller.project, new, endpoints).await?;
        let response = json(
            StatusCode::ACCEPTED,
            &EventAccepted {
                id: &published.id,
                duplicate: published.duplicate,
                deliveries: published.deliveries.len(),
                delivery_ids: &published.deliveries,
            },
        )?;
        Ok((response, fanout.send(state)))
    })
    .await
}

pub fn parse_id(req: &ApiRequest) -> Result<EventId, ApiError> {
    req.path_param("event_id")?
        .parse()
        .map_err(|_| ApiError::not_found("event"))
}

pub async fn get(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let p = &caller.project.id;
    let event = store::get(state, p, &parse_id(req)?)
        .await?
        .ok_or_else(|| ApiError::not_found("event"))?;
    let dels = delivery_store::get_many(state, p, &event.delivery_ids).await?;
    let view = view(
        &event,
        Some(dels.iter().map(|d| delivery_store::view(d, None)).collect()),
    );
    json(StatusCode::OK, &view)
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let p = &caller.project.id;
    let page = PageRequest::from_request::<crate::ids::Event>(req)?;
    let time = TimeRange::from_request(req)?;
    let event_type = match req.query("type")? {
        Some(t) => Some(EventType::parse(t).map_err(|e| {
            ApiError::validation(vec![crate::error::FieldError::new(
                "type",
                "invalid",
                e.to_string(),
            )])
        })?),
        None => None,
    };
    let filter = store::Filter {
        event_type: event_type.as_ref().map(|t| t.as_str().to_owned()),
        time,
    };
    let found = store::list(state, p, &filter, &page).await?;
    let page = EventList {
        data: found.items.iter().map(|e| view(e, None)).collect(),
        next_cursor: found.next_cursor,
    };
    json(StatusCode::OK, &page)
}

/// The API view of an event; `deliveries` only on `GET /v1/events/{event_id}`.
pub fn view<'a>(event: &'a Event, deliveries: Option<Vec<DeliveryView<'a>>>) -> EventView<'a> {
    let mut payload: serde_json::Value = serde_json::from_str(&event.payload).unwrap_or_default();
    EventView {
        id: &event.id,
        event_type: &event.event_type,
        timestamp: &event.timestamp,
        event_id: event.dedupe_key.as_deref(),
        data: payload
            .get_mut("data")
            .map(serde_json::Value::take)
            .unwrap_or_default(),
        deliveries,
    }
}

/// An event as the API shows it.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = Event)]
pub struct EventView<'a> {
    pub id: &'a EventId,
    #[serde(rename = "type")]
    pub event_type: &'a str,
    #[schema(format = DateTime)]
    pub timestamp: &'a str,
    /// Your id for the event, if you gave one
    pub event_id: Option<&'a str>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// Only on GET /v1/events/{event_id}
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub deliveries: Option<Vec<DeliveryView<'a>>>,
}

/// A page of events.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct EventList<'a> {
    pub data: Vec<EventView<'a>>,
    pub next_cursor: Option<String>,
}
