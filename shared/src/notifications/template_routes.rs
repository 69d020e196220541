//! `/v1/templates`: save a new immutable version, read one, list the latest versions, preview.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;

use super::template_store::{self as tpl, check_name};
use crate::error::ApiError;
use crate::http::{json, page, ApiRequest};
use crate::paging::PageRequest;
use crate::templates::{self, TemplateContent};
use crate::tenancy::Caller;
use crate::AppState;

pub(super) async fn put(
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

pub(super) async fn get(
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

pub(super) async fn list(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let mut errors = Vec::new();
    let limit = page::limit(req, &mut errors)?;
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    // The cursor is the last template name of the previous page.
    let cursor = req.query("cursor")?;
    if let Some(name) = cursor {
        check_name(name)?;
    }
    let page = PageRequest {
        limit,
        cursor: cursor.map(str::to_owned),
    };
    let found = tpl::list(state, &caller.project.id, &page).await?;
    let page = tpl::TemplateList {
        data: found.items.iter().map(tpl::Head::summary).collect(),
        next_cursor: found.next_cursor,
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

pub(super) async fn preview(
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
