//! The `notifications` function: templates and notifications under `/v1`.

use futures::future::BoxFuture;
use futures::FutureExt;
use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;

use crate::http::page;

use super::templates_store::{self as tpl, check_name};
use crate::error::ApiError;
use crate::http::{json, ApiRequest};
use crate::templates::{self, TemplateContent};
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
        move |caller, req| super::send_api::template_for(state, caller, req),
        move |caller, req, template| handle(state, caller, req, template),
    )
    .boxed()
}

async fn handle(
    state: &'static AppState,
    caller: Caller,
    req: ApiRequest,
    template: Option<super::send_api::Prefetched>,
) -> Result<Response<Body>, ApiError> {
    match req.route_key.as_str() {
        "GET /v1/templates" => list_templates(state, &caller, &req).await,
        "GET /v1/templates/{name}" => get_template(state, &caller, &req, None).await,
        "GET /v1/templates/{name}/versions/{version}" => {
            let version = req
                .path_param("version")?
                .parse::<u32>()
                .ok()
                .filter(|v| *v >= 1)
                .ok_or_else(|| ApiError::not_found("template version"))?;
            get_template(state, &caller, &req, Some(version)).await
        }
        "PUT /v1/templates/{name}" => put_template(state, &caller, &req).await,
        "POST /v1/templates/{name}/preview" => {
            idempotency::once(state, &caller, &req, || preview(state, &caller, &req)).await
        }
        "POST /v1/notifications" => {
            idempotency::once(state, &caller, &req, || {
                super::send_api::create(state, &caller, &req, template)
            })
            .await
        }
        "GET /v1/notifications" => super::send_api::list(state, &caller, &req).await,
        "GET /v1/notifications/{id}" => super::send_api::get(state, &caller, &req).await,
        _ => Err(ApiError::not_found("route")),
    }
}

async fn put_template(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let name = req.path_param("name")?;
    check_name(name)?;
    // The body is the content itself: `{"kind": "email", "subject": …, "html": …}`.
    let content: TemplateContent = req.json()?;
    let version = tpl::save(state, &caller.project.id, name, &content).await?;
    json(StatusCode::CREATED, &version.view(None))
}

async fn get_template(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
    version: Option<u32>,
) -> Result<Response<Body>, ApiError> {
    let name = req.path_param("name")?;
    let found = tpl::get_version(state, &caller.project.id, name, version)
        .await?
        .ok_or_else(|| ApiError::not_found("template"))?;
    let head = tpl::get_head(state, &caller.project.id, name).await?;
    json(StatusCode::OK, &found.view(head.map(|h| h.latest_version)))
}

async fn list_templates(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let mut errors = Vec::new();
    let limit = page::limit(req, &mut errors)?;
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (heads, next) = tpl::list(state, &caller.project.id, req.query("cursor")?, limit).await?;
    let page = tpl::TemplateList {
        data: heads.iter().map(tpl::Head::summary).collect(),
        next_cursor: next,
    };
    json(StatusCode::OK, &page)
}

/// `POST /v1/templates/{name}/preview`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"variables": {"customer": {"first_name": "Ana"}, "order": {"id": "A-1001"}}}))]
pub struct PreviewRequest {
    /// Default: the latest
    #[serde(default)]
    #[schema(minimum = 1)]
    version: Option<u32>,
    /// Default `{}`
    #[serde(default = "empty_object")]
    #[schema(value_type = Object, required = false)]
    variables: serde_json::Value,
}

/// A rendered template.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Preview<'a> {
    pub name: &'a str,
    pub version: u32,
    /// `{kind: email, subject, html?, text?}`, `{kind: whatsapp_text, body}` or
    /// `{kind: whatsapp_template, …}`
    #[schema(value_type = Object)]
    pub rendered: templates::Rendered,
}

fn empty_object() -> serde_json::Value {
    json!({})
}

async fn preview(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let name = req.path_param("name")?;
    let body: PreviewRequest = req.json()?;
    let version = tpl::get_version(state, &caller.project.id, name, body.version)
        .await?
        .ok_or_else(|| ApiError::not_found("template"))?;
    let content = version.content()?;
    let rendered = templates::render(&content, &body.variables).map_err(ApiError::from)?;
    json(
        StatusCode::OK,
        &Preview {
            name: &version.name,
            version: version.version,
            rendered,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_what_the_match_dispatches() {
        crate::functions::assert_routes_dispatched(ROUTES, include_str!("routes.rs"));
    }
}
