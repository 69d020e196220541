//! Webhook endpoints (data model item 12): `P#<prj>#WHE` / `<whe_id>`.
//!
//! Signing secrets are stored in the endpoint item as `whsec_…` text. The table is encrypted at
//! rest (SSE) and the item is only ever read by this project's own key paths; secrets never reach
//! a log ([`StoredSecret`] has a redacting `Debug`) and leave the API only at creation and
//! rotation. During a rotation the item holds several secrets; expired ones are pruned on write.
//! The shop's changes are written field by field (`endpoint_changes`), never as a whole item.

use crate::db::{self, storage_error, Item, StorageError};
use crate::error::ApiError;
use crate::ids::{EndpointId, ProjectId};
use crate::paging::{self, Query};
use crate::webhooks::filter::{any_matches, EventFilter, EventType};
use crate::webhooks::signing::WebhookSecret;
use crate::AppState;
use serde::{Deserialize, Serialize};

/// One signing secret; `expires_at_ms` is set on a secret being rotated out.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredSecret {
    pub secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StoredSecret(whsec_***, expires {:?})",
            self.expires_at_ms
        )
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Endpoint {
    pub project_id: ProjectId,
    pub id: EndpointId,
    pub url: String,
    #[serde(default)]
    pub description: String,
    pub filter_types: Vec<String>,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    pub secrets: Vec<StoredSecret>,
    /// Start of the current run of failed attempts (ms); cleared by any success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since_ms: Option<i64>,
    /// Bumped by every write of `secrets` (rotation), which is conditioned on it: see
    /// `endpoint_changes`. Absent on items from before it existed (0).
    #[serde(default)]
    pub secrets_version: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl Endpoint {
    /// The parsed filters (stored ones were validated on write; unparsable ones are skipped).
    pub fn filters(&self) -> Vec<EventFilter> {
        self.filter_types
            .iter()
            .filter_map(|f| EventFilter::parse(f).ok())
            .collect()
    }

    pub fn wants(&self, event: &EventType) -> bool {
        self.enabled && any_matches(&self.filters(), event)
    }

    /// Secrets valid at `now_ms`, newest first (the newest is the one the shop was last given).
    pub fn active_secrets(&self, now_ms: i64) -> Vec<WebhookSecret> {
        self.secrets
            .iter()
            .rev()
            .filter(|s| s.expires_at_ms.is_none_or(|at| at > now_ms))
            .filter_map(|s| WebhookSecret::parse(&s.secret).ok())
            .collect()
    }

    /// The public view (never the secrets).
    pub fn view(&self) -> EndpointView<'_> {
        EndpointView {
            id: &self.id,
            url: &self.url,
            description: &self.description,
            filter_types: &self.filter_types,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason.as_deref(),
            failing_since: self.failing_since_ms.and_then(ms_rfc3339),
            secret_rotation_ends_at: self
                .secrets
                .iter()
                .filter_map(|s| s.expires_at_ms)
                .max()
                .and_then(ms_rfc3339),
            secret: None,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
        }
    }
}

/// A webhook endpoint as the API shows it (never the secrets, except a new one once).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Endpoint)]
pub struct EndpointView<'a> {
    pub id: &'a EndpointId,
    pub url: &'a str,
    pub description: &'a str,
    pub filter_types: &'a [String],
    pub enabled: bool,
    pub disabled_reason: Option<&'a str>,
    #[schema(format = DateTime)]
    pub failing_since: Option<String>,
    #[schema(format = DateTime)]
    pub secret_rotation_ends_at: Option<String>,
    /// `whsec_…`: only on create and rotate-secret
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: &'a str,
    #[schema(format = DateTime)]
    pub updated_at: &'a str,
}

/// Every endpoint of the project.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EndpointList<'a> {
    pub data: Vec<EndpointView<'a>>,
}

pub fn ms_rfc3339(ms: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map(crate::clock::rfc3339)
}

pub(crate) fn pk(project: &ProjectId) -> String {
    format!("P#{project}#WHE")
}

fn to_item(e: &Endpoint) -> Result<Item, StorageError> {
    let mut item = db::to_item(e)?;
    item.insert("pk".into(), db::s(pk(&e.project_id)));
    item.insert("sk".into(), db::s(e.id.to_string()));
    Ok(item)
}

fn from_item(project: &ProjectId, item: Item) -> Result<Option<Endpoint>, StorageError> {
    let e: Endpoint = db::from_item(item)?;
    Ok((e.project_id == *project).then_some(e))
}

/// Every endpoint of `project` (at most the plan's maximum, so one Query page), strongly
/// consistent so a change just made is listed.
pub async fn list(state: &AppState, project: &ProjectId) -> Result<Vec<Endpoint>, StorageError> {
    let query = Query {
        consistent: true,
        ..Query::partition(None, pk(project))
    };
    let mut out = Vec::new();
    for item in paging::all(state, &query).await? {
        if let Some(e) = from_item(project, item)? {
            out.push(e);
        }
    }
    Ok(out)
}

pub async fn get(
    state: &AppState,
    project: &ProjectId,
    id: &EndpointId,
) -> Result<Option<Endpoint>, StorageError> {
    let item = db::get_item(state, pk(project), id.to_string()).await?;
    match item {
        Some(item) => from_item(project, item),
        None => Ok(None),
    }
}

/// What an endpoint store answer can be besides the endpoint.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// 404 `webhook endpoint`.
    #[error("no such webhook endpoint")]
    NotFound,
    /// 409 `endpoint_limit_reached` with the plan's `limit`.
    #[error("the project's plan allows at most {max} webhook endpoints")]
    LimitReached { max: u32 },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<EndpointError> for ApiError {
    fn from(err: EndpointError) -> Self {
        match err {
            EndpointError::NotFound => ApiError::not_found("webhook endpoint"),
            EndpointError::LimitReached { max } => ApiError::conflict(
                "endpoint_limit_reached",
                format!("the project's plan allows at most {max} webhook endpoints"),
            )
            .with_member("limit", max),
            EndpointError::Storage(e) => e.into(),
        }
    }
}

pub async fn require(
    state: &AppState,
    project: &ProjectId,
    id: &EndpointId,
) -> Result<Endpoint, EndpointError> {
    get(state, project, id)
        .await?
        .ok_or(EndpointError::NotFound)
}

/// Creates `e` unless the project already has `max` endpoints. The count is re-checked after
/// the write so two concurrent creations cannot both exceed the limit.
pub async fn create(state: &AppState, e: &Endpoint, max: u32) -> Result<(), EndpointError> {
    let existing = list(state, &e.project_id).await?;
    let limit_error = || EndpointError::LimitReached { max };
    if existing.len() >= max as usize {
        return Err(limit_error());
    }
    state
        .dynamodb
        .put_item()
        .table_name(&state.config.table_name)
        .set_item(Some(to_item(e)?))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map_err(storage_error)?;
    let after = list(state, &e.project_id).await?;
    if after.len() > max as usize {
        // Lost a race: the newest creations back out until the limit holds.
        let mut ids: Vec<String> = after.iter().map(|x| x.id.to_string()).collect();
        ids.sort();
        if ids.iter().position(|i| *i == e.id.to_string()) >= Some(max as usize) {
            delete(state, &e.project_id, &e.id).await?;
            return Err(limit_error());
        }
    }
    Ok(())
}

pub async fn delete(
    state: &AppState,
    project: &ProjectId,
    id: &EndpointId,
) -> Result<bool, StorageError> {
    let result = state
        .dynamodb
        .delete_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(pk(project)))
        .key("sk", db::s(id.to_string()))
        .condition_expression("attribute_exists(pk)")
        .send()
        .await;
    db::applied(result)
}

/// Health bookkeeping after an attempt: a success clears `failing_since`, a failure starts it.
/// Returns the endpoint as stored afterwards.
pub async fn record_health(
    state: &AppState,
    project: &ProjectId,
    id: &EndpointId,
    success: bool,
    now_ms: i64,
) -> Result<(), StorageError> {
    let mut req = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(pk(project)))
        .key("sk", db::s(id.to_string()))
        .condition_expression("attribute_exists(pk)");
    req = if success {
        req.update_expression("REMOVE failing_since_ms")
    } else {
        req.update_expression("SET failing_since_ms = if_not_exists(failing_since_ms, :now)")
            .expression_attribute_values(":now", db::n(now_ms))
    };
    match req.send().await {
        Ok(_) => Ok(()),
        Err(err) if db::is_conditional_failure(&err) => Ok(()),
        Err(err) => Err(storage_error(err)),
    }
}

/// Disables an enabled endpoint; `true` if this call did it (so the caller emits once).
pub async fn disable(
    state: &AppState,
    project: &ProjectId,
    id: &EndpointId,
    reason: &str,
    now: &str,
) -> Result<bool, StorageError> {
    let result = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(pk(project)))
        .key("sk", db::s(id.to_string()))
        .update_expression("SET enabled = :f, disabled_reason = :r, updated_at = :now")
        .condition_expression("attribute_exists(pk) AND enabled = :t")
        .expression_attribute_values(":f", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
        .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
        .expression_attribute_values(":r", db::s(reason))
        .expression_attribute_values(":now", db::s(now))
        .send()
        .await;
    db::applied(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_answer_is_the_documented_problem() {
        let missing = ApiError::from(EndpointError::NotFound);
        assert_eq!(
            missing.problem("req"),
            ApiError::not_found("webhook endpoint").problem("req")
        );
        let full = ApiError::from(EndpointError::LimitReached { max: 3 }).problem("req");
        assert_eq!(full["status"], 409);
        assert_eq!(full["code"], "endpoint_limit_reached");
        assert_eq!(full["limit"], 3);
        assert_eq!(
            full["detail"],
            "the project's plan allows at most 3 webhook endpoints"
        );
    }
}
