//! The `notifications` function: templates ([`template_routes`]) and notifications
//! ([`notification_routes`]) under `/v1`.

use futures::future::BoxFuture;
use futures::FutureExt;
use lambda_http::{Body, Response};

use super::{notification_routes, template_routes};
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::tenancy::guard::protected_prefetched;
use crate::tenancy::{idempotency, Caller};
use crate::AppState;

pub const ROUTES: &[&str] = &[
    "GET /v1/templates",
    "GET /v1/templates/{name}",
    "PUT /v1/templates/{name}",
    "GET /v1/templates/{name}/versions/{version}",
    "POST /v1/templates/{name}/preview",
    "POST /v1/notifications",
    "GET /v1/notifications",
    "GET /v1/notifications/{id}",
];

pub fn handler(
    state: &'static AppState,
    req: ApiRequest,
) -> BoxFuture<'static, Result<Response<Body>, ApiError>> {
    protected_prefetched(
        state,
        req,
        move |caller, req| notification_routes::template_for(state, caller, req),
        move |caller, req, template| handle(state, caller, req, template),
    )
    .boxed()
}

async fn handle(
    state: &'static AppState,
    caller: Caller,
    req: ApiRequest,
    template: Option<notification_routes::Prefetched>,
) -> Result<Response<Body>, ApiError> {
    match req.route_key.as_str() {
        "GET /v1/templates" => template_routes::list(state, &caller, &req).await,
        "GET /v1/templates/{name}" => template_routes::get(state, &caller, &req, None).await,
        "GET /v1/templates/{name}/versions/{version}" => {
            let version = req
                .path_param("version")?
                .parse::<u32>()
                .ok()
                .filter(|v| *v >= 1)
                .ok_or_else(|| ApiError::not_found("template version"))?;
            template_routes::get(state, &caller, &req, Some(version)).await
        }
        "PUT /v1/templates/{name}" => template_routes::put(state, &caller, &req).await,
        "POST /v1/templates/{name}/preview" => {
            idempotency::once(state, &caller, &req, || {
                template_routes::preview(state, &caller, &req)
            })
            .await
        }
        "POST /v1/notifications" => {
            idempotency::once(state, &caller, &req, || {
                notification_routes::create(state, &caller, &req, template)
            })
            .await
        }
        "GET /v1/notifications" => notification_routes::list(state, &caller, &req).await,
        "GET /v1/notifications/{id}" => notification_routes::get(state, &caller, &req).await,
        _ => Err(ApiError::not_found("route")),
    }
}
