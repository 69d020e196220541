//! The `project` function: `GET /v1/project`, the calling project as it stands.

use super::guard::protected;
use super::{usage, Caller};
use crate::error::ApiError;
use crate::http::{json, ApiRequest};
use crate::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;
use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;

pub const ROUTES: &[&str] = &["GET /v1/project"];

pub fn handler(
    state: &'static AppState,
    req: ApiRequest,
) -> BoxFuture<'static, Result<Response<Body>, ApiError>> {
    protected(state, req, move |caller, req| handle(state, caller, req)).boxed()
}

async fn handle(
    state: &'static AppState,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    match req.route_key.as_str() {
        "GET /v1/project" => {
            let p = &caller.project;
            let month = usage::month(state.clock.now());
            let usage = usage::get(state, &p.id, &month).await?;
            json(
                StatusCode::OK,
                &json!({
                    "id": p.id,
                    "name": p.name,
                    "domain": p.domain,
                    "plan": p.plan,
                    "active": p.active,
                    "limits": p.limits(),
                    "flags": p.effective_flags(),
                    "usage": usage,
                    "created_at": p.created_at,
                    "updated_at": p.updated_at,
                }),
            )
        }
        _ => Err(ApiError::not_found("route")),
    }
}
