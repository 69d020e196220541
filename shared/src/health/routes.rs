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
pub const ROUTES: &[&str] = &[
    "GET /health",
    "GET /health/{component}",
    "GET /openapi.json",
    "GET /docs",
    "$default",
];

/// The API contract (built from the Rust types by `contract`, committed), served as is.
pub const OPENAPI_JSON: &str = include_str!("../../../openapi.json");
/// The same document as a static, offline HTML reference.
pub const DOCS_HTML: &str = include_str!("../../../docs/api.html");

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
        "GET /openapi.json" => Ok(static_body(OPENAPI_JSON, "application/json")),
        "GET /docs" => Ok(static_body(DOCS_HTML, "text/html; charset=utf-8")),
        _ => Err(unrouted(req.method.as_str(), &req.path)),
    }
}

/// What `$default` answers: a path the API serves with other methods is a 405 naming them in
/// `Allow` (RFC 9110); any other path is a 404. API Gateway sends every unrouted method and path
/// here, so this is the answer on AWS as well as locally.
fn unrouted(method: &str, path: &str) -> ApiError {
    let allowed = allowed_methods(OPENAPI_JSON, path);
    if allowed.is_empty() {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            format!("no route for {method} {path}"),
        );
    }
    let allow = allowed.join(", ");
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {path}; allowed: {allow}"),
    )
    .with_header(http::header::ALLOW, allow)
}

/// The methods the contract (`openapi.json`, drift-checked against template.yaml's routes)
/// documents for the path template `path` matches; `{param}` matches one non-empty segment.
pub fn allowed_methods(document: &str, path: &str) -> Vec<String> {
    const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(document) else {
        return Vec::new();
    };
    let Some(paths) = doc["paths"].as_object() else {
        return Vec::new();
    };
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = std::collections::BTreeSet::new();
    for (template, item) in paths {
        let pattern: Vec<&str> = template.split('/').collect();
        let matches = pattern.len() == segments.len()
            && pattern
                .iter()
                .zip(&segments)
                .all(|(p, s)| (p.starts_with('{') && p.ends_with('}') && !s.is_empty()) || p == s);
        if matches {
            out.extend(
                METHODS
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(|m| m.to_uppercase()),
            );
        }
    }
    out.into_iter().collect()
}

fn static_body(body: &'static str, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_owned()));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("public, max-age=300"),
    );
    response
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_path_with_another_method_names_the_allowed_ones() {
        assert_eq!(allowed_methods(OPENAPI_JSON, "/v1/project"), ["GET"]);
        assert_eq!(
            allowed_methods(OPENAPI_JSON, "/v1/webhook-endpoints/whe_1"),
            ["DELETE", "GET", "PATCH"]
        );
        assert!(allowed_methods(OPENAPI_JSON, "/v1/nothing").is_empty());
        assert!(allowed_methods(OPENAPI_JSON, "/v1/webhook-endpoints//").is_empty());
    }

    #[test]
    fn unrouted_methods_are_405_with_allow_and_unknown_paths_404() {
        let e = unrouted("TRACE", "/docs");
        assert_eq!(e.status(), StatusCode::METHOD_NOT_ALLOWED);
        let e = unrouted("GET", "/nope");
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
    }
}
