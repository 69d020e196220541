//! `/v1/webhook-endpoints` routes: create, list, get, update, delete, rotate-secret, test, recover.

use super::delivery_store::{self, FAILED, PENDING};
use super::emit::{self, Target};
use super::endpoint_changes::{self, Change};
use super::endpoint_store::{self, Endpoint, StoredSecret};
use super::filter::EventFilter;
use super::signing::WebhookSecret;
use super::{queue, send, ssrf};
use crate::error::{ApiError, FieldError};
use crate::http::{json, no_content, ApiRequest};
use crate::ids::EndpointId;
use crate::paging::{PageRequest, TimeRange, MAX_LIMIT};
use crate::tenancy::Caller;
use crate::AppState;
use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;

pub const MAX_URL: usize = 2048;
pub const MAX_DESCRIPTION: usize = 500;
pub const MAX_FILTERS: usize = 50;
pub const DEFAULT_OVERLAP_S: i64 = 24 * 3600;
pub const MAX_OVERLAP_S: i64 = 7 * 24 * 3600;

/// A webhook endpoint's settings: `POST` (url required) and `PATCH` (any subset).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://shop.example.com/hooks/mostrador", "filter_types": ["order.*"], "description": "orders"}))]
pub struct EndpointInput {
    /// https; required on create. Private addresses are refused (422 `url_not_allowed`)
    #[schema(format = "uri", max_length = 2048)]
    url: Option<String>,
    /// Event types or patterns (`order.*`, `*`); default `["*"]`
    #[schema(min_items = 1, value_type = Option<Vec<FilterType>>)]
    filter_types: Option<Vec<String>>,
    description: Option<String>,
    /// Default true; PATCH `true` re-enables a disabled endpoint
    enabled: Option<bool>,
}

/// An event type or pattern, as `EventFilter::parse` accepts it (the contract's name for the
/// strings of `filter_types`).
struct FilterType;

impl utoipa::PartialSchema for FilterType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .max_length(Some(100))
            .pattern(Some("^([a-z0-9_]+\\.){0,7}([a-z0-9_]+|\\*)$"))
            .into()
    }
}

impl utoipa::ToSchema for FilterType {}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(vec![FieldError::new(field, "invalid", message)])
}

fn validate_url(state: &AppState, raw: &str) -> Result<String, ApiError> {
    if raw.len() > MAX_URL {
        return Err(invalid(
            "url",
            format!("must be at most {MAX_URL} characters"),
        ));
    }
    // The URL parser silently drops tabs and newlines; refuse them (and any control character
    // or space) instead of storing a URL other than the one the shop sent.
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid(
            "url",
            "must not contain spaces or control characters (CR, LF, tab…)".to_owned(),
        ));
    }
    let url = url::Url::parse(raw).map_err(|e| invalid("url", format!("not a valid URL: {e}")))?;
    ssrf::check_url(&url, &send::policy(&state.config)).map_err(|e| {
        ApiError::validation(vec![FieldError::new(
            "url",
            "url_not_allowed",
            e.to_string(),
        )])
    })?;
    Ok(url.to_string())
}

fn validate_filters(raw: Vec<String>) -> Result<Vec<String>, ApiError> {
    if raw.is_empty() || raw.len() > MAX_FILTERS {
        return Err(invalid(
            "filter_types",
            format!("must list 1 to {MAX_FILTERS} event types or patterns (`*` for all)"),
        ));
    }
    raw.iter()
        .enumerate()
        .map(|(i, f)| {
            EventFilter::parse(f)
                .map(|f| f.to_string())
                .map_err(|e| invalid(&format!("filter_types[{i}]"), e.to_string()))
        })
        .collect()
}

fn validate_description(d: String) -> Result<String, ApiError> {
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(invalid(
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(d)
}

pub fn parse_id(req: &ApiRequest) -> Result<EndpointId, ApiError> {
    req.path_param("endpoint_id")?
        .parse()
        .map_err(|_| ApiError::not_found("webhook endpoint"))
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    // A re-run of an idempotent request whose first run died before its answer was stored
    // answers with the endpoint that run created, and its secret (tenancy::minted).
    if let Some(id) = caller.rerun_id() {
        if let Some(e) = endpoint_store::get(state, &caller.project.id, &id).await? {
            let secret = e.secrets.iter().rev().find(|s| s.expires_at_ms.is_none());
            let secret = secret.map(|s| s.secret.clone());
            return created(&e, secret.unwrap_or_default());
        }
    }
    let input: EndpointInput = req.json()?;
    let url = validate_url(
        state,
        input.url.as_deref().ok_or_else(|| {
            ApiError::validation(vec![FieldError::new("url", "required", "url is required")])
        })?,
    )?;
    let now = state.clock.now();
    let stamp = crate::clock::rfc3339(now);
    let secret = WebhookSecret::generate();
    let endpoint = Endpoint {
        project_id: caller.project.id,
        id: caller.new_id(now),
        url,
        description: validate_description(input.description.unwrap_or_default())?,
        filter_types: validate_filters(input.filter_types.unwrap_or_else(|| vec!["*".into()]))?,
        enabled: input.enabled.unwrap_or(true),
        disabled_reason: None,
        secrets: vec![StoredSecret {
            secret: secret.expose(),
            expires_at_ms: None,
        }],
        failing_since_ms: None,
        secrets_version: 0,
        created_at: stamp.clone(),
        updated_at: stamp,
    };
    endpoint_store::create(
        state,
        &endpoint,
        caller.project.limits().max_webhook_endpoints,
    )
    .await?;
    created(&endpoint, secret.expose())
}

fn created(endpoint: &Endpoint, secret: String) -> Result<Response<Body>, ApiError> {
    let mut view = endpoint.view();
    view.secret = Some(secret);
    json(StatusCode::CREATED, &view)
}

pub async fn list(state: &AppState, caller: &Caller) -> Result<Response<Body>, ApiError> {
    let all = endpoint_store::list(state, &caller.project.id).await?;
    let page = endpoint_store::EndpointList {
        data: all.iter().map(Endpoint::view).collect(),
    };
    json(StatusCode::OK, &page)
}

pub async fn get(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let e = endpoint_store::require(state, &caller.project.id, &parse_id(req)?).await?;
    json(StatusCode::OK, &e.view())
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let id = parse_id(req)?;
    let input: EndpointInput = req.json()?;
    let change = Change {
        url: input.url.map(|u| validate_url(state, &u)).transpose()?,
        filter_types: input.filter_types.map(validate_filters).transpose()?,
        description: input.description.map(validate_description).transpose()?,
        enabled: input.enabled,
    };
    let now = crate::clock::rfc3339(state.clock.now());
    let e = endpoint_changes::update(state, &caller.project.id, &id, &change, &now).await?;
    json(StatusCode::OK, &e.view())
}

pub async fn delete(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    if endpoint_store::delete(state, &caller.project.id, &parse_id(req)?).await? {
        Ok(no_content())
    } else {
        Err(ApiError::not_found("webhook endpoint"))
    }
}

/// `POST /v1/webhook-endpoints/{endpoint_id}/rotate-secret`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"overlap_seconds": 86400}))]
pub struct RotateInput {
    /// How long the old secret keeps signing too (default 86400)
    #[schema(minimum = 0, maximum = 604800)]
    overlap_seconds: Option<i64>,
}

pub async fn rotate(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let id = parse_id(req)?;
    let input: RotateInput = if req.body().is_empty() {
        RotateInput::default()
    } else {
        req.json()?
    };
    let overlap = input.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_S);
    if !(0..=MAX_OVERLAP_S).contains(&overlap) {
        return Err(invalid(
            "overlap_seconds",
            format!("must be 0 to {MAX_OVERLAP_S}"),
        ));
    }
    let (e, secret) =
        endpoint_changes::rotate(state, &caller.project.id, &id, overlap, state.clock.now())
            .await?;
    let mut view = e.view();
    view.secret = Some(secret.expose());
    json(StatusCode::OK, &view)
}

pub async fn test(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let e = endpoint_store::require(state, &caller.project.id, &parse_id(req)?).await?;
    if !e.enabled {
        return Err(ApiError::conflict(
            "endpoint_disabled",
            "enable the endpoint before sending a test event",
        ));
    }
    let data = serde_json::json!({
        "endpoint_id": e.id,
        "message": "Test event from Mostrador: if you can read this, your endpoint works.",
    });
    // With an Idempotency-Key, the event's ids are stable across re-runs (tenancy::minted).
    let new = emit::NewEvent {
        event_type: "webhook.test",
        data,
        dedupe_key: None,
        target: Target::Only(e.id),
        minted: caller.minted(),
    };
    let (published, fanout) = emit::store_event(state, &caller.project, new, None).await?;
    fanout.send(state).await;
    json(
        StatusCode::ACCEPTED,
        &TestSent {
            event_id: published.id,
            delivery_ids: published.deliveries,
        },
    )
}

/// `POST /v1/webhook-endpoints/{endpoint_id}/test`: the `webhook.test` event and its delivery.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TestSent {
    pub event_id: crate::ids::EventId,
    pub delivery_ids: Vec<crate::ids::DeliveryId>,
}

/// `POST /v1/webhook-endpoints/{endpoint_id}/recover`: how many deliveries were re-queued.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Recovered {
    pub recovered: usize,
}

/// `POST /v1/webhook-endpoints/{endpoint_id}/recover`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"since": "2026-11-20T00:00:00Z"}))]
pub struct RecoverInput {
    #[schema(format = DateTime)]
    since: String,
}

/// Re-queues every failed delivery of the endpoint created at or after `since`.
pub async fn recover(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let p = caller.project.id;
    let e = endpoint_store::require(state, &p, &parse_id(req)?).await?;
    if !e.enabled {
        return Err(ApiError::conflict(
            "endpoint_disabled",
            "enable the endpoint before recovering its deliveries",
        ));
    }
    let input: RecoverInput = req.json()?;
    let since =
        time::OffsetDateTime::parse(&input.since, &time::format_description::well_known::Rfc3339)
            .map_err(|_| invalid("since", "must be an RFC 3339 timestamp"))?;
    let now = state.clock.now();
    let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let failed = delivery_store::Filter {
        endpoint: Some(&e.id),
        status: Some(FAILED),
        time: TimeRange::between(Some(since), Some(now)),
    };
    let mut page = PageRequest::first(MAX_LIMIT);
    let mut recovered = Vec::new();
    loop {
        let found = delivery_store::list(state, &p, &failed, &page).await?;
        for d in found.items {
            let mut next = d.clone();
            next.status = PENDING.into();
            next.round = 0;
            next.next_attempt_ms = Some(now_ms);
            next.sweep_at_ms = Some(now_ms + delivery_store::SWEEP_GRACE_MS);
            next.trigger = "scheduled".into();
            next.updated_at = crate::clock::rfc3339(now);
            if delivery_store::replace_if(state, &d, &next).await? {
                recovered.push((p, d.id, 0));
            }
        }
        match found.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    queue::enqueue(state, &recovered).await;
    json(
        StatusCode::ACCEPTED,
        &Recovered {
            recovered: recovered.len(),
        },
    )
}
