//! The `health` function: `GET /health`, `GET /health/{component}` and the API's `$default`
//! route (every unknown path answers a problem+json 404 instead of API Gateway's bare one).

use super::{check, check_all, Component, Status};
use crate::error::ApiError;
use crate::http::{json, ApiRequest};
use crate::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;
use http::StatusCode;
use lambda_http::{Body, Response};

/// The routes this function serves, exactly as declared in `template.yaml`.
pub const ROUTES: &[&str] = &["GET /health", "GET /health/{component}", "$default"];

pub fn handler(
    state: &'static AppState,
    req: ApiRequest,
) -> BoxFuture<'static, Result<Response<Body>, ApiError>> {
    handle(state, req).boxed()
}

async fn handle(state: &'static AppState, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    match req.route_key.as_str() {
        "GET /health" => {
            let report = check_all(state).await;
            json(status_code(report.status), &report)
        }
        "GET /health/{component}" => {
            let name = req.path_param("component")?;
            let component = Component::parse(name).ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "unknown_component",
                    format!("unknown component; expected one of {}", names()),
                )
            })?;
            let health = check(state, component).await;
            json(status_code(health.status), &health)
        }
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            format!("no route for {} {}", req.method, req.path),
        )),
    }
}

fn status_code(status: Status) -> StatusCode {
    match status {
        Status::Ok => StatusCode::OK,
        Status::Down => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn names() -> String {
    Component::ALL.map(Component::name).join(", ")
}
