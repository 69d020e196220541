//! The `webhooks` function: events, webhook endpoints and the delivery log under `/v1/*`.
//! Every route needs the `webhooks` flag; every POST honours `Idempotency-Key`.

use super::endpoint_store::{self, Endpoint};
use super::event_routes;
use super::{delivery_routes, endpoint_routes};
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::tenancy::guard::protected_prefetched;
use crate::tenancy::idempotency::once;
use crate::tenancy::{flags, Caller, Flag};
use crate::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;
use lambda_http::{Body, Response};

pub const ROUTES: &[&str] = &[
    "POST /v1/events",
    "GET /v1/events",
    "GET /v1/events/{event_id}",
    "POST /v1/webhook-endpoints",
    "GET /v1/webhook-endpoints",
    "GET /v1/webhook-endpoints/{endpoint_id}",
    "PATCH /v1/webhook-endpoints/{endpoint_id}",
    "DELETE /v1/webhook-endpoints/{endpoint_id}",
    "POST /v1/webhook-endpoints/{endpoint_id}/rotate-secret",
    "POST /v1/webhook-endpoints/{endpoint_id}/test",
    "POST /v1/webhook-endpoints/{endpoint_id}/recover",
    "GET /v1/webhook-deliveries",
    "GET /v1/webhook-deliveries/{delivery_id}",
    "POST /v1/webhook-deliveries/{delivery_id}/retry",
];

pub fn handler(
    state: &'static AppState,
    req: ApiRequest,
) -> BoxFuture<'static, Result<Response<Body>, ApiError>> {
    protected_prefetched(
        state,
        req,
        move |caller, req| endpoints_for_event(state, caller, req),
        move |caller, req, endpoints| handle(state, caller, req, endpoints),
    )
    .boxed()
}

/// `POST /v1/events` fans out to the project's endpoints: they are read (strongly consistent,
/// after the request arrived) beside the rate-limit update instead of after it.
fn endpoints_for_event(
    state: &'static AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> impl std::future::Future<Output = Option<Result<Vec<Endpoint>, ApiError>>> {
    let wanted = req.route_key == "POST /v1/events" && caller.project.flag(Flag::Webhooks);
    let project = caller.project.id;
    async move {
        match wanted {
            true => Some(
                endpoint_store::list(state, &project)
                    .await
                    .map_err(ApiError::from),
            ),
            false => None,
        }
    }
}

async fn handle(
    state: &'static AppState,
    caller: Caller,
    req: ApiRequest,
    endpoints: Option<Result<Vec<Endpoint>, ApiError>>,
) -> Result<Response<Body>, ApiError> {
    flags::require(&caller.project, Flag::Webhooks)?;
    let (c, r) = (&caller, &req);
    match req.route_key.as_str() {
        "POST /v1/events" => event_routes::create(state, c, r, endpoints).await,
        "GET /v1/events" => event_routes::list(state, c, r).await,
        "GET /v1/events/{event_id}" => event_routes::get(state, c, r).await,
        "POST /v1/webhook-endpoints" => {
            once(state, c, r, || endpoint_routes::create(state, c, r)).await
        }
        "GET /v1/webhook-endpoints" => endpoint_routes::list(state, c).await,
        "GET /v1/webhook-endpoints/{endpoint_id}" => endpoint_routes::get(state, c, r).await,
        "PATCH /v1/webhook-endpoints/{endpoint_id}" => endpoint_routes::update(state, c, r).await,
        "DELETE /v1/webhook-endpoints/{endpoint_id}" => endpoint_routes::delete(state, c, r).await,
        "POST /v1/webhook-endpoints/{endpoint_id}/rotate-secret" => {
            once(state, c, r, || endpoint_routes::rotate(state, c, r)).await
        }
        "POST /v1/webhook-endpoints/{endpoint_id}/test" => {
            once(state, c, r, || endpoint_routes::test(state, c, r)).await
        }
        "POST /v1/webhook-endpoints/{endpoint_id}/recover" => {
            once(state, c, r, || endpoint_routes::recover(state, c, r)).await
        }
        "GET /v1/webhook-deliveries" => delivery_routes::list(state, c, r).await,
        "GET /v1/webhook-deliveries/{delivery_id}" => delivery_routes::get(state, c, r).await,
        "POST /v1/webhook-deliveries/{delivery_id}/retry" => {
            once(state, c, r, || delivery_routes::retry(state, c, r)).await
        }
        _ => Err(ApiError::not_found("route")),
    }
}
