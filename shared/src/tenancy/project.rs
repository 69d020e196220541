//! Projects: one per shop. Created only by operators (admin CLI / admin API).

use super::flags::Flag;
use super::plan::{LimitOverrides, Limits, Plan};
use crate::credentials::Provider;
use crate::db::{self, storage_error, Item, StorageError};
use crate::error::ApiError;
use crate::ids::ProjectId;
use crate::paging::{self, After, Page, PageRequest, Query};
use crate::AppState;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    /// The shop's primary domain (informational; used in sender identities and docs).
    pub domain: String,
    pub plan: Plan,
    pub active: bool,
    /// Explicit flag values; flags not listed take their default.
    #[serde(default)]
    pub flags: BTreeMap<String, bool>,
    #[serde(default)]
    pub limit_overrides: LimitOverrides,
    /// Where Mostrador tells the shop about disabled endpoints and the like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// The SES identity emails are sent from (`Tienda <no-reply@shop.example>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_from: Option<String>,
    /// Provider name → when its credentials were last stored (RFC 3339). Written by the admin
    /// credentials PUT next to the secret, so requests learn what is configured from the project
    /// they already read, without a Secrets Manager call. Names and times only, never values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub providers: BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Project {
    pub fn limits(&self) -> Limits {
        self.plan.limits().with(&self.limit_overrides)
    }

    pub fn flag(&self, flag: Flag) -> bool {
        self.flags
            .get(flag.name())
            .copied()
            .unwrap_or_else(|| flag.default_for(self.plan))
    }

    /// When `provider`'s credentials were stored, or `None` if they never were.
    pub fn provider_configured_at(&self, provider: Provider) -> Option<&str> {
        self.providers.get(provider.name()).map(String::as_str)
    }

    /// Every known flag with its effective value.
    pub fn effective_flags(&self) -> BTreeMap<&'static str, bool> {
        Flag::ALL
            .into_iter()
            .map(|f| (f.name(), self.flag(f)))
            .collect()
    }
}

pub fn pk(id: &ProjectId) -> String {
    format!("P#{id}")
}

/// What a project store answer can be besides the project.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// 404 `project`.
    #[error("no such project")]
    NotFound,
    /// 409 `concurrent_update`: the project changed since it was read.
    #[error("the project changed while it was updated")]
    ConcurrentUpdate,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<ProjectError> for ApiError {
    fn from(err: ProjectError) -> Self {
        match err {
            ProjectError::NotFound => ApiError::not_found("project"),
            ProjectError::ConcurrentUpdate => ApiError::conflict(
                "concurrent_update",
                "the project changed while this update was applied; retry",
            ),
            ProjectError::Storage(e) => e.into(),
        }
    }
}

fn item(project: &Project) -> Result<Item, StorageError> {
    let mut item = db::to_item(project)?;
    item.insert("pk".into(), db::s(pk(&project.id)));
    item.insert("sk".into(), db::s("PROJECT"));
    item.insert("gsi1pk".into(), db::s("PROJECTS"));
    item.insert("gsi1sk".into(), db::s(project.id.to_string()));
    Ok(item)
}

pub async fn create(state: &AppState, project: &Project) -> Result<(), StorageError> {
    state
        .dynamodb
        .put_item()
        .table_name(&state.config.table_name)
        .set_item(Some(item(project)?))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map_err(storage_error)?;
    Ok(())
}

/// Reads a project (strongly consistent: a deactivation is seen on the next request).
pub async fn get(state: &AppState, id: &ProjectId) -> Result<Option<Project>, StorageError> {
    let item = db::get_item(state, pk(id), "PROJECT").await?;
    item.map(db::from_item).transpose()
}

pub async fn require(state: &AppState, id: &ProjectId) -> Result<Project, ProjectError> {
    get(state, id).await?.ok_or(ProjectError::NotFound)
}

/// Replaces a project if nobody changed it since `previous_updated_at` (optimistic locking).
pub async fn replace(
    state: &AppState,
    project: &Project,
    previous_updated_at: &str,
) -> Result<(), ProjectError> {
    let result = state
        .dynamodb
        .put_item()
        .table_name(&state.config.table_name)
        .set_item(Some(item(project)?))
        .condition_expression("attribute_exists(pk) AND updated_at = :prev")
        .expression_attribute_values(":prev", db::s(previous_updated_at))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if db::is_conditional_failure(&e) => Err(ProjectError::ConcurrentUpdate),
        Err(e) => Err(storage_error(e).into()),
    }
}

/// Records on the project item that `provider`'s credentials were stored at `at` (one field of
/// the `providers` map, plus `updated_at` so a concurrent whole-item `replace` notices). The map
/// may not exist yet: setting an entry needs it, creating it must not overwrite a concurrent
/// first entry, so each shape is conditional and a lost race just tries the other.
pub async fn record_provider(
    state: &AppState,
    id: &ProjectId,
    provider: Provider,
    at: &str,
) -> Result<(), ProjectError> {
    let shapes = [
        (
            "SET #prov.#name = :at, updated_at = :at",
            "attribute_exists(pk) AND attribute_exists(#prov)",
        ),
        (
            "SET #prov = :map, updated_at = :at",
            "attribute_exists(pk) AND attribute_not_exists(#prov)",
        ),
    ];
    for (update, condition) in shapes.iter().cycle().take(4) {
        let mut req = state
            .dynamodb
            .update_item()
            .table_name(&state.config.table_name)
            .key("pk", db::s(pk(id)))
            .key("sk", db::s("PROJECT"))
            .update_expression(*update)
            .condition_expression(*condition)
            .expression_attribute_names("#prov", "providers")
            .expression_attribute_values(":at", db::s(at));
        if update.contains("#name") {
            req = req.expression_attribute_names("#name", provider.name());
        } else {
            let entry = [(provider.name().to_owned(), db::s(at))]
                .into_iter()
                .collect();
            req = req.expression_attribute_values(":map", AttributeValue::M(entry));
        }
        match req.send().await {
            Ok(_) => return Ok(()),
            Err(e) if db::is_conditional_failure(&e) => {}
            Err(e) => return Err(storage_error(e).into()),
        }
    }
    // Both shapes failed twice: the project itself is gone.
    Err(ProjectError::NotFound)
}

/// All projects, in id (= creation) order, one page at a time (the `PROJECTS` partition of
/// `gsi1`, whose sort key is the project id; each project is its own table partition, so the
/// cursor's table key is rebuilt here).
pub async fn list(state: &AppState, page: &PageRequest) -> Result<Page<Project>, StorageError> {
    let after = page.cursor.as_deref().map(|sk| After {
        sk: sk.to_owned(),
        // The cursor is a project id, so this is `pk(id)`.
        table_pk: format!("P#{sk}"),
        table_sk: "PROJECT".to_owned(),
    });
    let query = Query::partition(Some("gsi1"), "PROJECTS".to_owned());
    paging::page(state, &query, page.limit, after.as_ref())
        .await?
        .try_filter_map(|item| db::from_item(item).map(Some))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_answer_is_the_documented_problem() {
        let missing = ApiError::from(ProjectError::NotFound);
        assert_eq!(
            missing.problem("req"),
            ApiError::not_found("project").problem("req")
        );
        let raced = ApiError::from(ProjectError::ConcurrentUpdate).problem("req");
        assert_eq!(raced["status"], 409);
        assert_eq!(raced["code"], "concurrent_update");
        let broken = ApiError::from(ProjectError::Storage(StorageError::other("bad item")));
        assert_eq!(broken.code(), "internal_error");
    }
}
