//! `/v1/webhook-deliveries` routes: list (by endpoint, event, status, time), get with the
//! attempt log, and a manual retry.

use super::delivery_store::{self, Delivery, PENDING, STATUSES};
use super::endpoint_store;
use super::{queue, schedule};
use crate::error::{ApiError, FieldError};
use crate::http::{json, ApiRequest};
use crate::ids::{DeliveryId, EndpointId, EventId};
use crate::paging::{PageRequest, TimeRange};
use crate::tenancy::Caller;
use crate::AppState;
use http::StatusCode;
use lambda_http::{Body, Response};

fn parse_id(req: &ApiRequest) -> Result<DeliveryId, ApiError> {
    req.path_param("delivery_id")?
        .parse()
        .map_err(|_| ApiError::not_found("webhook delivery"))
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::validation(vec![FieldError::new(field, "invalid", message)])
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let p = caller.project.id;
    let page = PageRequest::from_request::<crate::ids::Delivery>(req)?;
    let time = TimeRange::from_request(req)?;
    let endpoint = req
        .query("endpoint_id")?
        .map(|s| {
            s.parse::<EndpointId>()
                .map_err(|_| invalid("endpoint_id", "not a webhook endpoint id"))
        })
        .transpose()?;
    let event = req
        .query("event_id")?
        .map(|s| {
            s.parse::<EventId>()
                .map_err(|_| invalid("event_id", "not an event id"))
        })
        .transpose()?;
    let status = match req.query("status")? {
        Some(s) if STATUSES.contains(&s) => Some(s.to_owned()),
        Some(_) => return Err(invalid("status", "must be pending, succeeded or failed")),
        None => None,
    };
    let keep = |d: &Delivery| {
        endpoint.is_none_or(|e| d.endpoint_id == e)
            && status.as_deref().is_none_or(|s| d.status == s)
            && time.contains(d.id.timestamp_ms())
    };
    if let Some(event) = event {
        // An event names its deliveries (at most one per endpoint): no listing needed.
        let found = match crate::events::store::get(state, &p, &event).await? {
            Some(ev) => delivery_store::get_many(state, &p, &ev.delivery_ids).await?,
            None => Vec::new(),
        };
        let page = delivery_store::DeliveryList {
            data: found
                .iter()
                .filter(|d| keep(d))
                .map(|d| delivery_store::view(d, None))
                .collect(),
            next_cursor: None,
        };
        return json(StatusCode::OK, &page);
    }
    let filter = delivery_store::Filter {
        endpoint: endpoint.as_ref(),
        status: status.as_deref(),
        time,
    };
    let found = delivery_store::list(state, &p, &filter, &page).await?;
    let page = delivery_store::DeliveryList {
        data: found
            .items
            .iter()
            .filter(|d| keep(d))
            .map(|d| delivery_store::view(d, None))
            .collect(),
        next_cursor: found.next_cursor,
    };
    json(StatusCode::OK, &page)
}

pub async fn get(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let p = caller.project.id;
    let id = parse_id(req)?;
    let d = delivery_store::get(state, &p, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook delivery"))?;
    let attempts = delivery_store::attempts(state, &p, &id).await?;
    json(StatusCode::OK, &delivery_store::view(&d, Some(&attempts)))
}

/// One attempt now. A finished delivery gets exactly one more attempt (it stays failed if that
/// fails); a pending one is moved forward and keeps its schedule.
pub async fn retry(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let p = caller.project.id;
    let id = parse_id(req)?;
    let d = delivery_store::get(state, &p, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook delivery"))?;
    match endpoint_store::get(state, &p, &d.endpoint_id).await? {
        Some(e) if e.enabled => {}
        Some(_) => {
            return Err(ApiError::conflict(
                "endpoint_disabled",
                "enable the endpoint before retrying its deliveries",
            ))
        }
        None => {
            return Err(ApiError::conflict(
                "endpoint_deleted",
                "the delivery's endpoint was deleted",
            ))
        }
    }
    let now = state.clock.now();
    let mut next = d.clone();
    if d.status != PENDING {
        next.status = PENDING.into();
        next.round = schedule::MAX_ATTEMPTS - 1;
    }
    next.trigger = "manual".into();
    next.next_attempt_ms = Some(i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0));
    next.sweep_at_ms = next
        .next_attempt_ms
        .map(|at| at + delivery_store::SWEEP_GRACE_MS);
    next.updated_at = crate::clock::rfc3339(now);
    if !delivery_store::replace_if(state, &d, &next).await? {
        return Err(ApiError::conflict(
            "delivery_busy",
            "the delivery is being attempted right now; retry shortly",
        ));
    }
    queue::enqueue(state, &[(p, id, 0)]).await;
    json(StatusCode::ACCEPTED, &delivery_store::view(&next, None))
}
