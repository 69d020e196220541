//! Templates per project (data model items 6 and 7): a head item per name pointing at the
//! latest version, and one immutable item per version. A save writes both in one transaction,
//! conditioned on the head still pointing where it did when read, so two concurrent saves get
//! consecutive versions or a clean 409, never a lost or overwritten version.

use std::sync::LazyLock;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::model::Channel;
use crate::db::{self, storage_error, StorageError};
use crate::error::{ApiError, FieldError};
use crate::ids::ProjectId;
use crate::paging::{self, Page, PageRequest, Query};
use crate::templates::{self, TemplateContent};
use crate::AppState;

/// Template names: a lower-case slug, safe in URLs and sort keys.
static NAME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$").ok());

/// What a template store answer can be besides the template.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// 422 on `name`: not a template name (names are sort keys).
    #[error("not a template name")]
    InvalidName,
    /// 422 with the content's field errors.
    #[error("the template content is invalid")]
    InvalidContent(Vec<FieldError>),
    /// 409 `template_version_conflict`: concurrent saves kept winning.
    #[error("the template kept changing while it was saved")]
    VersionConflict,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<TemplateError> for ApiError {
    fn from(err: TemplateError) -> Self {
        match err {
            TemplateError::InvalidName => ApiError::validation(vec![FieldError::new(
                "name",
                "invalid_format",
                "must be 1-64 lower-case letters, digits, '-' or '_', starting and ending with a letter or digit",
            )]),
            TemplateError::InvalidContent(fields) => ApiError::validation(fields),
            TemplateError::VersionConflict => ApiError::conflict(
                "template_version_conflict",
                "the template is being saved concurrently; retry",
            ),
            TemplateError::Storage(e) => e.into(),
        }
    }
}

/// Checks a template name (from a path, a body or a cursor).
pub fn check_name(name: &str) -> Result<(), TemplateError> {
    if NAME.as_ref().is_some_and(|re| re.is_match(name)) {
        Ok(())
    } else {
        Err(TemplateError::InvalidName)
    }
}

/// The channel a content is sent on.
pub fn channel_of(content: &TemplateContent) -> Channel {
    match content {
        TemplateContent::Email(_) => Channel::Email,
        TemplateContent::WhatsAppText(_) | TemplateContent::WhatsAppTemplate(_) => {
            Channel::Whatsapp
        }
    }
}

/// The head item: which version is the latest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Head {
    pub project_id: ProjectId,
    pub name: String,
    pub latest_version: u32,
    pub channel: Channel,
    pub created_at: String,
    pub updated_at: String,
}

/// One immutable version.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Version {
    pub project_id: ProjectId,
    pub name: String,
    pub version: u32,
    pub channel: Channel,
    /// The content as JSON text (DynamoDB maps would also work; text keeps it byte-exact).
    pub content_json: String,
    pub variables: Vec<String>,
    pub created_at: String,
}

impl Version {
    /// The stored content (an item that does not parse is a storage failure).
    pub fn content(&self) -> Result<TemplateContent, StorageError> {
        serde_json::from_str(&self.content_json).map_err(StorageError::other)
    }

    /// The version as the API shows it; `latest_version` only on GET.
    pub fn view(&self, latest_version: Option<u32>) -> TemplateVersionView<'_> {
        TemplateVersionView {
            name: &self.name,
            version: self.version,
            channel: self.channel,
            content: serde_json::from_str(&self.content_json).unwrap_or_default(),
            variables: &self.variables,
            latest_version,
            created_at: &self.created_at,
        }
    }
}

/// One version of a template.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TemplateVersion)]
pub struct TemplateVersionView<'a> {
    pub name: &'a str,
    #[schema(minimum = 1)]
    pub version: u32,
    pub channel: Channel,
    /// The TemplateContent as saved
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    /// Variables the template uses
    pub variables: &'a [String],
    /// Only on GET
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub latest_version: Option<u32>,
    #[schema(format = DateTime)]
    pub created_at: &'a str,
}

/// A template's latest version, as lists show it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateSummary<'a> {
    pub name: &'a str,
    pub channel: Channel,
    pub latest_version: u32,
    #[schema(format = DateTime)]
    pub created_at: &'a str,
    #[schema(format = DateTime)]
    pub updated_at: &'a str,
}

impl Head {
    pub fn summary(&self) -> TemplateSummary<'_> {
        TemplateSummary {
            name: &self.name,
            channel: self.channel,
            latest_version: self.latest_version,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
        }
    }
}

/// A page of templates.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateList<'a> {
    pub data: Vec<TemplateSummary<'a>>,
    pub next_cursor: Option<String>,
}

fn head_pk(project: &ProjectId) -> String {
    format!("P#{project}#TPL")
}

fn version_pk(project: &ProjectId, name: &str) -> String {
    format!("P#{project}#TPL#{name}")
}

fn version_sk(version: u32) -> String {
    format!("V#{version:06}")
}

/// Saves `content` as the next version of `name`. Validation errors are 422 with fields.
pub async fn save(
    state: &AppState,
    project: &ProjectId,
    name: &str,
    content: &TemplateContent,
) -> Result<Version, TemplateError> {
    check_name(name)?;
    let variables = templates::validate(content).map_err(TemplateError::InvalidContent)?;
    let content_json = serde_json::to_string(content).map_err(StorageError::other)?;
    let now = crate::clock::rfc3339(state.clock.now());
    for _ in 0..3 {
        let head = get_head(state, project, name).await?;
        let previous = head.as_ref().map(|h| h.latest_version).unwrap_or(0);
        let next = previous + 1;
        let version = Version {
            project_id: *project,
            name: name.to_owned(),
            version: next,
            channel: channel_of(content),
            content_json: content_json.clone(),
            variables: variables.iter().cloned().collect(),
            created_at: now.clone(),
        };
        let new_head = Head {
            project_id: *project,
            name: name.to_owned(),
            latest_version: next,
            channel: version.channel,
            created_at: head.map(|h| h.created_at).unwrap_or_else(|| now.clone()),
            updated_at: now.clone(),
        };
        let mut head_item = db::to_item(&new_head)?;
        head_item.insert("pk".into(), db::s(head_pk(project)));
        head_item.insert("sk".into(), db::s(name));
        let mut version_item = db::to_item(&version)?;
        version_item.insert("pk".into(), db::s(version_pk(project, name)));
        version_item.insert("sk".into(), db::s(version_sk(next)));
        let head_put = Put::builder()
            .table_name(&state.config.table_name)
            .set_item(Some(head_item))
            .condition_expression(if previous == 0 {
                "attribute_not_exists(pk)"
            } else {
                "latest_version = :prev"
            });
        let head_put = if previous == 0 {
            head_put
        } else {
            head_put.expression_attribute_values(":prev", db::n(previous))
        };
        let version_put = Put::builder()
            .table_name(&state.config.table_name)
            .set_item(Some(version_item))
            .condition_expression("attribute_not_exists(pk)");
        let (Ok(head_put), Ok(version_put)) = (head_put.build(), version_put.build()) else {
            return Err(StorageError::other("cannot build template transaction").into());
        };
        let result = state
            .dynamodb
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(head_put).build())
            .transact_items(TransactWriteItem::builder().put(version_put).build())
            .send()
            .await;
        match result {
            Ok(_) => return Ok(version),
            // Someone saved in between: read the new head and try the next number.
            Err(e) if db::is_transaction_conflict(&e) => continue,
            Err(e) => return Err(storage_error(e).into()),
        }
    }
    Err(TemplateError::VersionConflict)
}

pub async fn get_head(
    state: &AppState,
    project: &ProjectId,
    name: &str,
) -> Result<Option<Head>, StorageError> {
    let item = db::get_item(state, head_pk(project), name).await?;
    let head: Option<Head> = item.map(db::from_item).transpose()?;
    Ok(head.filter(|h| h.project_id == *project))
}

/// A version (`None` = latest). `Ok(None)` when the name or version does not exist.
pub async fn get_version(
    state: &AppState,
    project: &ProjectId,
    name: &str,
    version: Option<u32>,
) -> Result<Option<Version>, StorageError> {
    if check_name(name).is_err() {
        return Ok(None);
    }
    let Some(number) = version else {
        return latest_version(state, project, name).await;
    };
    let out = state
        .dynamodb
        .get_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(version_pk(project, name)))
        .key("sk", db::s(version_sk(number)))
        .send()
        .await
        .map_err(storage_error)?;
    let version: Option<Version> = out.item.map(db::from_item).transpose()?;
    Ok(version.filter(|v| v.project_id == *project))
}

/// The latest version in one strongly consistent read (the highest `V#` sort key: versions are
/// zero-padded), instead of reading the head and then the version it names. Versions are only
/// ever written in the same transaction as their head, so the two answers are the same.
async fn latest_version(
    state: &AppState,
    project: &ProjectId,
    name: &str,
) -> Result<Option<Version>, StorageError> {
    let out = state
        .dynamodb
        .query()
        .table_name(&state.config.table_name)
        .key_condition_expression("pk = :pk AND begins_with(sk, :v)")
        .expression_attribute_values(":pk", db::s(version_pk(project, name)))
        .expression_attribute_values(":v", db::s("V#"))
        .scan_index_forward(false)
        .limit(1)
        .consistent_read(true)
        .send()
        .await
        .map_err(storage_error)?;
    let item = out.items.unwrap_or_default().into_iter().next();
    let version: Option<Version> = item.map(db::from_item).transpose()?;
    Ok(version.filter(|v| v.project_id == *project))
}

/// One page of template heads, by name; the cursor is the last name of the previous page
/// (the routes check it is a name).
pub async fn list(
    state: &AppState,
    project: &ProjectId,
    page: &PageRequest,
) -> Result<Page<Head>, StorageError> {
    let after = page.after(&head_pk(project));
    let query = Query::partition(None, head_pk(project));
    paging::page(state, &query, page.limit, after.as_ref())
        .await?
        .try_filter_map(|item| {
            let head: Head = db::from_item(item)?;
            Ok::<_, StorageError>((head.project_id == *project).then_some(head))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_slugs() {
        for ok in ["welcome", "order-shipped", "a", "order_paid_2"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-x",
            "x-",
            "Welcome",
            "a/b",
            "a#b",
            "../x",
            &"a".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_answer_is_the_documented_problem() {
        let problem = |e: TemplateError| ApiError::from(e).problem("req");
        let name = problem(TemplateError::InvalidName);
        assert_eq!(name["status"], 422);
        assert_eq!(name["errors"][0]["field"], "name");
        assert_eq!(name["errors"][0]["code"], "invalid_format");
        let field = FieldError::new("html", "required", "is required");
        assert_eq!(
            problem(TemplateError::InvalidContent(vec![field.clone()])),
            ApiError::validation(vec![field]).problem("req")
        );
        let conflict = problem(TemplateError::VersionConflict);
        assert_eq!(conflict["status"], 409);
        assert_eq!(conflict["code"], "template_version_conflict");
    }
}
