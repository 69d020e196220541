//! The `admin` function: the operator API under `/admin/*`. API Gateway authenticates every
//! route with IAM (SigV4) before this code runs; locally the gateway demands the operator token
//! instead (see README). Operators act on any project, so nothing here is tenant-scoped.

use super::{view, NewProject, ProjectPatch};
use crate::error::ApiError;
use crate::http::{json, ApiRequest};
use crate::ids::ProjectId;
use crate::paging::PageRequest;
use crate::tenancy::project;
use crate::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;
use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;

pub const ROUTES: &[&str] = &[
    "POST /admin/projects",
    "GET /admin/projects",
    "GET /admin/projects/{project_id}",
    "PATCH /admin/projects/{project_id}",
    "GET /admin/projects/{project_id}/keys",
    "POST /admin/projects/{project_id}/keys",
    "POST /admin/projects/{project_id}/keys/{key_id}/rotate",
    "POST /admin/projects/{project_id}/keys/{key_id}/revoke",
    "PUT /admin/projects/{project_id}/credentials/{provider}",
    "GET /admin/projects/{project_id}/usage",
];

pub fn handler(
    state: &'static AppState,
    req: ApiRequest,
) -> BoxFuture<'static, Result<Response<Body>, ApiError>> {
    handle(state, req).boxed()
}

fn project_id(req: &ApiRequest) -> Result<ProjectId, ApiError> {
    req.path_param("project_id")?
        .parse()
        .map_err(|_| ApiError::not_found("project"))
}

/// `POST /admin/projects/{project_id}/keys`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    #[serde(default)]
    #[schema(max_length = 100, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    label: Option<String>,
}

/// `POST /admin/projects/{project_id}/keys/{key_id}/rotate`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RotateKeyRequest)]
pub struct RotateRequest {
    /// At most 30 days; 0 or absent: at once
    #[serde(default)]
    #[schema(minimum = 0, maximum = 2592000)]
    grace_seconds: Option<u32>,
}

/// An optional JSON body: empty means defaults.
fn body_or_default<T: serde::de::DeserializeOwned + Default>(
    req: &ApiRequest,
) -> Result<T, ApiError> {
    if req.body().is_empty() {
        Ok(T::default())
    } else {
        req.json()
    }
}

async fn handle(state: &'static AppState, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    match req.route_key.as_str() {
        "POST /admin/projects" => {
            let (project, key) = super::create_project(state, req.json::<NewProject>()?).await?;
            json(
                StatusCode::CREATED,
                &super::CreatedProject {
                    project: view(&project),
                    api_key: key,
                },
            )
        }
        "GET /admin/projects" => {
            let page = PageRequest::from_request::<crate::ids::Project>(&req)?;
            let found = project::list(state, &page).await?;
            let page = super::AdminProjectList {
                data: found.items.iter().map(view).collect(),
                next_cursor: found.next_cursor,
            };
            json(StatusCode::OK, &page)
        }
        "GET /admin/projects/{project_id}" => {
            let id = project_id(&req)?;
            let project = project::require(state, &id).await?;
            let configured = super::sync_provider_records(state, &project).await?;
            let mut body = view(&project);
            body.credentials = Some(configured);
            json(StatusCode::OK, &body)
        }
        "PATCH /admin/projects/{project_id}" => {
            let patch: ProjectPatch = req.json()?;
            let project = super::update_project(state, &project_id(&req)?, patch).await?;
            json(StatusCode::OK, &view(&project))
        }
        "GET /admin/projects/{project_id}/keys" => {
            let keys = super::list_keys(state, &project_id(&req)?).await?;
            json(StatusCode::OK, &super::KeyList { data: keys })
        }
        "POST /admin/projects/{project_id}/keys" => {
            let id = project_id(&req)?;
            project::require(state, &id).await?;
            let body: KeyRequest = body_or_default(&req)?;
            json(
                StatusCode::CREATED,
                &super::create_key(state, &id, body.label).await?,
            )
        }
        "POST /admin/projects/{project_id}/keys/{key_id}/rotate" => {
            let body: RotateRequest = body_or_default(&req)?;
            let key = super::rotate_key(
                state,
                &project_id(&req)?,
                req.path_param("key_id")?,
                body.grace_seconds,
            )
            .await?;
            json(StatusCode::CREATED, &key)
        }
        "POST /admin/projects/{project_id}/keys/{key_id}/revoke" => {
            super::revoke_key(state, &project_id(&req)?, req.path_param("key_id")?).await?;
            json(
                StatusCode::OK,
                &super::KeyRevoked {
                    key_id: req.path_param("key_id")?,
                    status: "revoked",
                },
            )
        }
        "PUT /admin/projects/{project_id}/credentials/{provider}" => {
            let values: serde_json::Map<String, serde_json::Value> = req.json()?;
            let provider = req.path_param("provider")?;
            super::put_credentials(state, &project_id(&req)?, provider, &values).await?;
            json(
                StatusCode::OK,
                &super::CredentialsStored {
                    provider,
                    stored: true,
                },
            )
        }
        "GET /admin/projects/{project_id}/usage" => {
            let usage = super::usage(state, &project_id(&req)?, req.query("month")?).await?;
            json(StatusCode::OK, &usage)
        }
        _ => Err(ApiError::not_found("route")),
    }
}
