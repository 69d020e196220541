//! `X-API-KEY` authentication for every `/v1/*` route.
//!
//! | failure | status | code |
//! |---|---|---|
//! | no header | 401 | `api_key_missing` |
//! | wrong prefix, shape or checksum | 401 | `api_key_malformed` |
//! | unknown key id, or wrong secret | 401 | `api_key_invalid` |
//! | revoked key | 401 | `api_key_revoked` |
//! | key past its rotation grace period | 401 | `api_key_expired` |
//! | deactivated project | 403 | `project_inactive` |
//!
//! Unknown ids are verified against a dummy hash, so they cost the same time as wrong secrets.
//! The key record (and the project) is read on every request; only the argon2 verification is
//! cached, and only for the exact stored hash.

use super::apikey::{self, KeyStatus};
use super::project::{self, Project};
use crate::db::{self, storage_error};
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::ids::ProjectId;
use crate::AppState;
use aws_sdk_dynamodb::types::KeysAndAttributes;

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub project: Project,
    pub key_id: String,
    /// The Idempotency-Key claim the guard made for this request, if any (see
    /// [`idempotency::Early`](super::idempotency::Early)).
    pub idempotency: super::idempotency::Early,
}

fn invalid() -> ApiError {
    ApiError::unauthorized("api_key_invalid", "the API key is not valid")
}

pub async fn authenticate(state: &AppState, req: &ApiRequest) -> Result<Caller, ApiError> {
    let raw = req
        .header("x-api-key")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(
                "api_key_missing",
                "send the project's API key in the X-API-KEY header",
            )
        })?;
    let parsed = apikey::parse(raw)
        .map_err(|e| ApiError::unauthorized("api_key_malformed", e.to_string()))?;

    // Warm path: a key verified before names its project, so both records come in one read.
    let (record, project) = match state.keys.verified(parsed.plain(), None) {
        Some(project_id) => read_both(state, &parsed.key_id, &project_id).await?,
        None => (apikey::get(state, &parsed.key_id).await?, None),
    };
    let Some(record) = record else {
        apikey::verify_dummy(parsed.plain()).await;
        return Err(invalid());
    };
    let cached = state.keys.verified(parsed.plain(), Some(&record.hash)) == Some(record.project_id);
    if !cached {
        if !apikey::verify(parsed.plain(), &record.hash).await {
            return Err(invalid());
        }
        state
            .keys
            .remember(parsed.plain(), &record.hash, record.project_id);
    }
    let now = state.clock.now().unix_timestamp();
    if record.status == KeyStatus::Revoked {
        return Err(ApiError::unauthorized(
            "api_key_revoked",
            "this API key was revoked",
        ));
    }
    if record.valid_until.is_some_and(|until| until <= now) {
        return Err(ApiError::unauthorized(
            "api_key_expired",
            "this API key was rotated and its grace period has ended; use the new key",
        ));
    }
    let project = match project {
        Some(p) if p.id == record.project_id => p,
        _ => project::get(state, &record.project_id)
            .await?
            .ok_or_else(invalid)?,
    };
    if !project.active {
        return Err(ApiError::forbidden(
            "project_inactive",
            "this project is deactivated",
        ));
    }
    if record.last_used_at.is_none_or(|at| at < now - 3600) {
        apikey::touch(state, &record.key_id, now).await;
    }
    Ok(Caller {
        project,
        key_id: record.key_id,
        idempotency: Default::default(),
    })
}

/// The key and project records in one strongly consistent BatchGetItem.
async fn read_both(
    state: &AppState,
    key_id: &str,
    project_id: &ProjectId,
) -> Result<(Option<apikey::KeyRecord>, Option<Project>), ApiError> {
    let keys = KeysAndAttributes::builder()
        .keys(
            [
                ("pk".to_owned(), db::s(apikey::key_pk(key_id))),
                ("sk".to_owned(), db::s("KEY")),
            ]
            .into(),
        )
        .keys(
            [
                ("pk".to_owned(), db::s(project::pk(project_id))),
                ("sk".to_owned(), db::s("PROJECT")),
            ]
            .into(),
        )
        .consistent_read(true)
        .build()
        .map_err(ApiError::internal)?;
    let out = state
        .dynamodb
        .batch_get_item()
        .request_items(&state.config.table_name, keys)
        .send()
        .await
        .map_err(storage_error)?;
    if out.unprocessed_keys.as_ref().is_some_and(|u| !u.is_empty()) {
        // Throttled half-way: fall back to plain reads rather than guess.
        return Ok((
            apikey::get(state, key_id).await?,
            project::get(state, project_id).await?,
        ));
    }
    let mut record = None;
    let mut project = None;
    for item in out
        .responses
        .unwrap_or_default()
        .remove(&state.config.table_name)
        .unwrap_or_default()
    {
        match item
            .get("sk")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
        {
            Some("KEY") => record = Some(db::from_item(item)?),
            Some("PROJECT") => project = Some(db::from_item(item)?),
            _ => {}
        }
    }
    Ok((record, project))
}
