//! Operator actions on projects, keys and credentials: one library behind both the admin CLI
//! (`infra/admin`) and the IAM-protected admin API (`/admin/*`).

pub mod archive;
pub mod routes;

use crate::clock::rfc3339;
use crate::credentials::{self, Provider};
use crate::error::{ApiError, FieldError};
use crate::ids::ProjectId;
use crate::tenancy::apikey::{self, KeyRecord, KeyStatus, PlainKey};
use crate::tenancy::plan::LimitOverrides;
use crate::tenancy::project::{self, Project};
use crate::tenancy::{usage, Flag, Plan};
use crate::AppState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `POST /admin/projects`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Shop", "domain": "shop.example.com", "plan": "pro"}))]
pub struct NewProject {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub name: String,
    /// Host name such as shop.example.com
    #[schema(
        max_length = 253,
        pattern = "^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
    )]
    pub domain: String,
    #[serde(default)]
    #[schema(value_type = Option<Plan>)]
    pub plan: Option<String>,
    #[serde(default)]
    #[schema(format = Email)]
    pub contact_email: Option<String>,
    #[serde(default)]
    #[schema(format = Email)]
    pub email_from: Option<String>,
}

/// Changes to a project; absent fields stay as they are. In `flags`, `null` clears a flag
/// back to its default (the one place a request body may say `null`). `limit_overrides`
/// replaces every override at once: `{}` clears them all.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub name: Option<String>,
    /// Host name such as shop.example.com
    #[serde(default)]
    #[schema(
        max_length = 253,
        pattern = "^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
    )]
    pub domain: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Plan>)]
    pub plan: Option<String>,
    /// true/false switches a module (`notifications.email`, `notifications.whatsapp`,
    /// `webhooks`, `payments.mercadopago`); null goes back to the plan's default
    #[serde(default, deserialize_with = "crate::http::strict::nullable")]
    pub flags: BTreeMap<String, Option<bool>>,
    #[serde(default)]
    pub limit_overrides: Option<LimitOverrides>,
    #[serde(default)]
    #[schema(format = Email)]
    pub contact_email: Option<String>,
    #[serde(default)]
    #[schema(format = Email)]
    pub email_from: Option<String>,
}

/// A key as shown to its owner once, at creation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedKey {
    pub key_id: String,
    /// The only time the key is ever shown.
    pub api_key: String,
    pub created_at: String,
}

/// A key as listed: never the key or its hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    pub key_id: String,
    #[schema(value_type = String, pattern = "^(active|expiring|expired|revoked)$")]
    pub status: &'static str,
    pub label: Option<String>,
    pub created_at: String,
    pub valid_until: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

fn epoch_rfc3339(s: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(s)
        .ok()
        .map(rfc3339)
}

impl KeyView {
    fn from_record(r: KeyRecord, now: i64) -> Self {
        let status = match (r.status, r.valid_until) {
            (KeyStatus::Revoked, _) => "revoked",
            (KeyStatus::Active, Some(until)) if until <= now => "expired",
            (KeyStatus::Active, Some(_)) => "expiring",
            (KeyStatus::Active, None) => "active",
        };
        Self {
            key_id: r.key_id,
            status,
            label: r.label,
            created_at: r.created_at,
            valid_until: r.valid_until.and_then(epoch_rfc3339),
            revoked_at: r.revoked_at,
            last_used_at: r.last_used_at.and_then(epoch_rfc3339),
        }
    }
}

fn check_name(name: &str, errors: &mut Vec<FieldError>) {
    if name.trim().is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "name",
            "invalid",
            "must be 1 to 100 printable characters",
        ));
    }
}

fn check_domain(domain: &str, errors: &mut Vec<FieldError>) {
    let ok = domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !ok {
        errors.push(FieldError::new(
            "domain",
            "invalid",
            "must be a host name such as shop.example.com",
        ));
    }
}

fn check_email(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    let address = value
        .rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>'))
        .unwrap_or(value);
    let ok = value.len() <= 320
        && !value.chars().any(char::is_control)
        && address.split('@').count() == 2
        && address
            .split('@')
            .all(|p| !p.is_empty() && !p.contains(char::is_whitespace));
    if !ok {
        errors.push(FieldError::new(
            field,
            "invalid",
            "must be an email address",
        ));
    }
}

fn parse_plan(plan: Option<&str>, errors: &mut Vec<FieldError>) -> Option<Plan> {
    let plan = plan?;
    let parsed = Plan::parse(plan);
    if parsed.is_none() {
        errors.push(FieldError::new("plan", "invalid", "must be free or pro"));
    }
    parsed
}

fn finish(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

pub async fn create_project(
    state: &AppState,
    new: NewProject,
) -> Result<(Project, IssuedKey), ApiError> {
    let mut errors = Vec::new();
    check_name(&new.name, &mut errors);
    check_domain(&new.domain, &mut errors);
    let plan = parse_plan(new.plan.as_deref(), &mut errors).unwrap_or(Plan::Free);
    if let Some(e) = &new.contact_email {
        check_email("contact_email", e, &mut errors);
    }
    if let Some(e) = &new.email_from {
        check_email("email_from", e, &mut errors);
    }
    finish(errors)?;
    let now = rfc3339(state.clock.now());
    let project = Project {
        id: ProjectId::at(state.clock.now()),
        name: new.name.trim().to_owned(),
        domain: new.domain.to_ascii_lowercase(),
        plan,
        active: true,
        flags: BTreeMap::new(),
        limit_overrides: LimitOverrides::default(),
        contact_email: new.contact_email,
        email_from: new.email_from,
        providers: BTreeMap::new(),
        created_at: now.clone(),
        updated_at: now,
    };
    project::create(state, &project).await?;
    let key = create_key(state, &project.id, Some("default".into())).await?;
    Ok((project, key))
}

pub async fn update_project(
    state: &AppState,
    id: &ProjectId,
    patch: ProjectPatch,
) -> Result<Project, ApiError> {
    let mut project = project::require(state, id).await?;
    let previous = project.updated_at.clone();
    let mut errors = Vec::new();
    if let Some(name) = &patch.name {
        check_name(name, &mut errors);
        project.name = name.trim().to_owned();
    }
    if let Some(domain) = &patch.domain {
        check_domain(domain, &mut errors);
        project.domain = domain.to_ascii_lowercase();
    }
    if let Some(plan) = parse_plan(patch.plan.as_deref(), &mut errors) {
        project.plan = plan;
    }
    if let Some(active) = patch.active {
        project.active = active;
    }
    for (name, value) in &patch.flags {
        match (Flag::parse(name), value) {
            (None, _) => errors.push(FieldError::new(
                format!("flags.{name}"),
                "unknown_flag",
                "is not a known flag",
            )),
            (Some(_), Some(v)) => {
                project.flags.insert(name.clone(), *v);
            }
            (Some(_), None) => {
                project.flags.remove(name);
            }
        }
    }
    if let Some(overrides) = patch.limit_overrides {
        project.limit_overrides = overrides;
    }
    if let Some(e) = patch.contact_email {
        check_email("contact_email", &e, &mut errors);
        project.contact_email = Some(e);
    }
    if let Some(e) = patch.email_from {
        check_email("email_from", &e, &mut errors);
        project.email_from = Some(e);
    }
    finish(errors)?;
    project.updated_at = rfc3339(state.clock.now());
    if project.updated_at == previous {
        project.updated_at = rfc3339(state.clock.now() + time::Duration::milliseconds(1));
    }
    project::replace(state, &project, &previous).await?;
    Ok(project)
}

pub async fn create_key(
    state: &AppState,
    project_id: &ProjectId,
    label: Option<String>,
) -> Result<IssuedKey, ApiError> {
    if let Some(l) = &label {
        if l.chars().count() > 100 || l.chars().any(char::is_control) {
            return Err(ApiError::validation(vec![FieldError::new(
                "label",
                "invalid",
                "must be at most 100 printable characters",
            )]));
        }
    }
    let key = apikey::generate();
    let hash = apikey::hash(key.plain()).await?;
    let created_at = rfc3339(state.clock.now());
    let record = KeyRecord {
        key_id: key.key_id.clone(),
        project_id: *project_id,
        hash,
        status: KeyStatus::Active,
        label,
        created_at: created_at.clone(),
        valid_until: None,
        revoked_at: None,
        last_used_at: None,
    };
    apikey::put(state, &record).await?;
    Ok(issued(&key.key_id, key.plain(), created_at))
}

fn issued(key_id: &str, plain: &PlainKey, created_at: String) -> IssuedKey {
    IssuedKey {
        key_id: key_id.to_owned(),
        api_key: plain.expose().to_owned(),
        created_at,
    }
}

pub async fn list_keys(state: &AppState, project_id: &ProjectId) -> Result<Vec<KeyView>, ApiError> {
    project::require(state, project_id).await?;
    let now = state.clock.now().unix_timestamp();
    Ok(apikey::list(state, project_id)
        .await?
        .into_iter()
        .map(|r| KeyView::from_record(r, now))
        .collect())
}

/// Issues a new key and ends the old one: at once (default) or after `grace_seconds`.
pub async fn rotate_key(
    state: &AppState,
    project_id: &ProjectId,
    key_id: &str,
    grace_seconds: Option<u32>,
) -> Result<IssuedKey, ApiError> {
    let old = apikey::get(state, key_id)
        .await?
        .filter(|r| &r.project_id == project_id && r.status == KeyStatus::Active)
        .ok_or_else(|| ApiError::not_found("API key"))?;
    if grace_seconds.is_some_and(|g| g > 30 * 86_400) {
        return Err(ApiError::validation(vec![FieldError::new(
            "grace_seconds",
            "too_large",
            "must be at most 30 days",
        )]));
    }
    let new = create_key(state, project_id, old.label.clone()).await?;
    let now = state.clock.now();
    match grace_seconds.filter(|g| *g > 0) {
        Some(grace) => {
            apikey::end(
                state,
                project_id,
                key_id,
                Some(now.unix_timestamp() + i64::from(grace)),
                &rfc3339(now),
            )
            .await?
        }
        None => apikey::end(state, project_id, key_id, None, &rfc3339(now)).await?,
    }
    Ok(new)
}

pub async fn revoke_key(
    state: &AppState,
    project_id: &ProjectId,
    key_id: &str,
) -> Result<(), ApiError> {
    apikey::end(state, project_id, key_id, None, &rfc3339(state.clock.now())).await?;
    Ok(())
}

pub async fn put_credentials(
    state: &AppState,
    project_id: &ProjectId,
    provider: &str,
    values: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), ApiError> {
    project::require(state, project_id).await?;
    let provider = Provider::parse(provider).ok_or_else(|| ApiError::not_found("provider"))?;
    credentials::put(state, project_id, provider, values).await?;
    // After the secret: a record without a secret would promise sends that then fail.
    let at = rfc3339(state.clock.now());
    project::record_provider(state, project_id, provider, &at).await?;
    Ok(())
}

/// Records on the project item the providers whose secrets exist but are not recorded yet
/// (credentials stored before the record existed). Returns the configured provider names.
pub async fn sync_provider_records(
    state: &AppState,
    project: &Project,
) -> Result<Vec<&'static str>, ApiError> {
    let configured = credentials::configured(state, &project.id).await?;
    for name in &configured {
        let Some(provider) = Provider::parse(name) else {
            continue;
        };
        if project.provider_configured_at(provider).is_none() {
            let at = rfc3339(state.clock.now());
            project::record_provider(state, &project.id, provider, &at).await?;
        }
    }
    Ok(configured)
}

pub async fn usage(
    state: &AppState,
    project_id: &ProjectId,
    month: Option<&str>,
) -> Result<usage::Usage, ApiError> {
    project::require(state, project_id).await?;
    let month = match month {
        Some(m)
            if m.len() == 7
                && m.as_bytes()[4] == b'-'
                && m.bytes()
                    .enumerate()
                    .all(|(i, b)| i == 4 || b.is_ascii_digit()) =>
        {
            m.to_owned()
        }
        Some(_) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "month",
                "invalid",
                "must look like 2026-11",
            )]))
        }
        None => usage::month(state.clock.now()),
    };
    usage::get(state, project_id, &month).await
}

/// A project as operators see it: the stored fields plus effective limits and flags.
pub fn view(project: &Project) -> AdminProject<'_> {
    AdminProject {
        id: &project.id,
        name: &project.name,
        domain: &project.domain,
        plan: project.plan,
        active: project.active,
        limits: project.limits(),
        limit_overrides: &project.limit_overrides,
        flags: project.effective_flags(),
        contact_email: project.contact_email.as_deref(),
        email_from: project.email_from.as_deref(),
        created_at: &project.created_at,
        updated_at: &project.updated_at,
        credentials: None,
    }
}

/// A project as the operator API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AdminProject<'a> {
    pub id: &'a ProjectId,
    pub name: &'a str,
    pub domain: &'a str,
    pub plan: Plan,
    pub active: bool,
    pub limits: crate::tenancy::Limits,
    pub limit_overrides: &'a LimitOverrides,
    pub flags: BTreeMap<&'static str, bool>,
    pub contact_email: Option<&'a str>,
    pub email_from: Option<&'a str>,
    #[schema(format = DateTime)]
    pub created_at: &'a str,
    #[schema(format = DateTime)]
    pub updated_at: &'a str,
    /// Only on GET: the providers whose credentials are stored (never the values)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub credentials: Option<Vec<&'static str>>,
}

/// `POST /admin/projects`: the project and its first key (shown once).
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedProject<'a> {
    pub project: AdminProject<'a>,
    pub api_key: IssuedKey,
}

/// A page of projects.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AdminProjectList<'a> {
    pub data: Vec<AdminProject<'a>>,
    pub next_cursor: Option<String>,
}

/// A project's keys.
#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyList {
    pub data: Vec<KeyView>,
}

/// `POST …/keys/{key_id}/revoke`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyRevoked<'a> {
    pub key_id: &'a str,
    #[schema(value_type = String, pattern = "^revoked$")]
    pub status: &'static str,
}

/// `PUT …/credentials/{provider}`: stored (the values are never echoed).
#[derive(Serialize, utoipa::ToSchema)]
pub struct CredentialsStored<'a> {
    pub provider: &'a str,
    pub stored: bool,
}
