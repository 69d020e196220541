//! `POST /v1/notifications` (validate, store `pending`, enqueue, 202; WhatsApp `link` mode
//! answers the click-to-chat URL at once), `GET /v1/notifications/{id}` and the log listing.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::model::{
    Channel, HistoryEntry, Mode, Notification, NotificationList, QueueMessage, Status, TemplateRef,
};
use super::store::list::{Filter, FAILED_FAMILY};
use super::{store, template_store as tpl};
use crate::contact::{wa_link, Email, Phone};
use crate::credentials::Provider;
use crate::error::{ApiError, FieldError};
use crate::http::{json, ApiRequest};
use crate::ids::NotificationId;
use crate::paging::{PageRequest, TimeRange};
use crate::templates::{self, Rendered};
use crate::tenancy::usage::{self, Metric};
use crate::tenancy::{flags, Caller, Flag};
use crate::AppState;

/// Largest `variables` / `metadata` JSON text kept with a notification.
const MAX_VARIABLES_BYTES: usize = 64 * 1024;
const MAX_METADATA_BYTES: usize = 4 * 1024;

/// `POST /v1/notifications`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateNotification, example = json!({"channel": "email", "to": "ana@example.com", "template": "order-shipped",
    "variables": {"customer": {"first_name": "Ana"}, "order": {"id": "A-1001"}}}))]
pub struct CreateRequest {
    #[schema(value_type = Channel)]
    channel: String,
    /// An e-mail address, or an E.164 phone number for whatsapp
    to: String,
    /// Template name
    template: String,
    /// Default: the latest
    #[serde(default)]
    #[schema(minimum = 1)]
    version: Option<u32>,
    /// At most 64 KiB
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    variables: Option<serde_json::Value>,
    /// Yours, echoed back; at most 4 KiB
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    metadata: Option<serde_json::Value>,
    /// whatsapp only: `link` answers 201 with a wa.me link; `cloud` (default) queues a Cloud
    /// API message
    #[serde(default)]
    mode: Option<Mode>,
}

/// The parsed, valid parts of a create request.
struct Valid {
    channel: Channel,
    mode: Option<Mode>,
    recipient: String,
    variables: serde_json::Value,
    variables_json: String,
    metadata_json: Option<String>,
}

fn validate(body: &CreateRequest) -> Result<Valid, ApiError> {
    let mut errors = Vec::new();
    let channel = Channel::parse(&body.channel);
    let mut recipient = String::new();
    match channel {
        None => errors.push(FieldError::new("channel", "invalid", "email or whatsapp")),
        Some(Channel::Email) => match Email::parse(&body.to) {
            Ok(e) => recipient = e.to_string(),
            Err(e) => errors.push(e.field_error("to")),
        },
        Some(Channel::Whatsapp) => match Phone::parse(&body.to) {
            Ok(p) => recipient = p.to_string(),
            Err(e) => errors.push(e.field_error("to")),
        },
    }
    let mode = match (channel, body.mode) {
        (Some(Channel::Email), Some(_)) => {
            errors.push(FieldError::new("mode", "not_allowed", "only for whatsapp"));
            None
        }
        (Some(Channel::Whatsapp), mode) => Some(mode.unwrap_or(Mode::Cloud)),
        _ => None,
    };
    if tpl::check_name(&body.template).is_err() {
        errors.push(FieldError::new(
            "template",
            "invalid_format",
            "not a template name",
        ));
    }
    if body.version == Some(0) {
        errors.push(FieldError::new("version", "invalid", "versions start at 1"));
    }
    let variables = body.variables.clone().unwrap_or_else(|| json!({}));
    if !variables.is_object() {
        errors.push(FieldError::new(
            "variables",
            "invalid",
            "must be a JSON object",
        ));
    }
    let variables_json = variables.to_string();
    if variables_json.len() > MAX_VARIABLES_BYTES {
        errors.push(FieldError::new("variables", "too_large", "at most 64 KiB"));
    }
    let metadata_json = body.metadata.as_ref().map(|m| m.to_string());
    match &body.metadata {
        Some(m) if !m.is_object() => errors.push(FieldError::new(
            "metadata",
            "invalid",
            "must be a JSON object",
        )),
        Some(_)
            if metadata_json
                .as_ref()
                .is_some_and(|m| m.len() > MAX_METADATA_BYTES) =>
        {
            errors.push(FieldError::new("metadata", "too_large", "at most 4 KiB"))
        }
        _ => {}
    }
    match channel {
        Some(channel) if errors.is_empty() => Ok(Valid {
            channel,
            mode,
            recipient,
            variables,
            variables_json,
            metadata_json,
        }),
        _ => Err(ApiError::validation(errors)),
    }
}

/// The template version a `POST /v1/notifications` names, read beside the rate-limit update
/// (reads only); `None` when the body does not name one (the handler then answers the 4xx).
pub(super) type Prefetched = Result<Option<tpl::Version>, crate::db::StorageError>;

pub(super) fn template_for(
    state: &'static AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> impl std::future::Future<Output = Option<Prefetched>> {
    let named = (req.route_key == "POST /v1/notifications")
        .then(|| req.json::<CreateRequest>().ok())
        .flatten()
        .filter(|body| tpl::check_name(&body.template).is_ok() && body.version != Some(0))
        .map(|body| (body.template, body.version));
    let project = caller.project.id;
    async move {
        let (name, version) = named?;
        Some(tpl::get_version(state, &project, &name, version).await)
    }
}

pub(super) async fn create(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
    prefetched: Option<Prefetched>,
) -> Result<Response<Body>, ApiError> {
    // A re-run of an idempotent request whose first run died before its answer was stored: answer
    // with what that run created, if it got that far (tenancy::minted).
    if let Some(id) = caller.rerun_id() {
        if let Some(existing) = store::get(state, &caller.project.id, &id).await? {
            return answer_again(state, existing).await;
        }
    }
    let body: CreateRequest = req.json()?;
    let valid = validate(&body)?;
    let project = &caller.project;
    let (flag, metric) = match valid.channel {
        Channel::Email => (Flag::NotificationsEmail, Metric::Emails),
        Channel::Whatsapp => (Flag::NotificationsWhatsapp, Metric::WhatsappMessages),
    };
    flags::require(project, flag)?;
    if valid.channel == Channel::Email && project.email_from.is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "email_sender_not_configured",
            "the project has no sender address (email_from); ask the operator to set it",
        ));
    }
    let version = match prefetched {
        Some(read) => read?,
        None => tpl::get_version(state, &project.id, &body.template, body.version).await?,
    };
    let version = version.ok_or_else(|| {
        ApiError::validation(vec![FieldError::new(
            "template",
            "not_found",
            "no such template (or version)",
        )])
    })?;
    if version.channel != valid.channel {
        return Err(ApiError::validation(vec![FieldError::new(
            "template",
            "channel_mismatch",
            format!("the template is for {}", version.channel.name()),
        )]));
    }
    let content = version.content()?;
    let rendered = templates::render(&content, &valid.variables).map_err(ApiError::from)?;
    let link = match (valid.mode, &rendered) {
        (Some(Mode::Link), Rendered::WhatsAppText { body }) => {
            let phone = Phone::parse(&valid.recipient)
                .map_err(|e| ApiError::validation(vec![e.field_error("to")]))?;
            Some(wa_link(&phone, body))
        }
        (Some(Mode::Link), _) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "mode",
                "not_allowed",
                "link mode needs a whatsapp_text template (Meta templates are sent in cloud mode)",
            )]))
        }
        _ => None,
    };
    // Known now, from the project auth already read: answer it instead of a 202 that fails later.
    if valid.mode == Some(Mode::Cloud)
        && project.provider_configured_at(Provider::Whatsapp).is_none()
    {
        return Err(ApiError::conflict(
            "provider_not_configured",
            "WhatsApp Cloud API credentials are not configured for this project (PUT /admin/projects/{id}/credentials/whatsapp); mode link needs none",
        ));
    }
    let now = state.clock.now();
    usage::consume(state, project, metric, now).await?;
    let at = crate::clock::rfc3339(now);
    let status = if link.is_some() {
        Status::Sent
    } else {
        Status::Pending
    };
    let notification = Notification {
        id: caller.new_id(now),
        project_id: project.id,
        channel: valid.channel,
        mode: valid.mode,
        recipient: valid.recipient,
        template: TemplateRef {
            name: version.name.clone(),
            version: version.version,
        },
        variables_json: valid.variables_json,
        metadata_json: valid.metadata_json,
        status,
        reason: None,
        provider_message_id: None,
        link,
        attempts: 0,
        history: vec![HistoryEntry {
            status,
            at: at.clone(),
            reason: None,
        }],
        created_at: at.clone(),
        updated_at: at,
        expires_at: None,
    };
    store::create(state, &notification, project.limits().retention_days).await?;
    if notification.link.is_some() {
        return json(StatusCode::CREATED, &notification.view());
    }
    enqueue(state, &notification).await?;
    json(StatusCode::ACCEPTED, &notification.view())
}

/// The answer to a re-run that found its notification. The first run may have died between
/// storing and queueing it, so a notification the sender never picked up (still `pending`, no
/// attempt) is queued again. Sends stay at most once even if the first run's message was in fact
/// sent: the sender claims `pending → sending` conditionally, so only one message ever gets it.
async fn answer_again(state: &AppState, n: Notification) -> Result<Response<Body>, ApiError> {
    if n.link.is_some() {
        return json(StatusCode::CREATED, &n.view());
    }
    if n.status == Status::Pending && n.attempts == 0 {
        enqueue(state, &n).await?;
    }
    json(StatusCode::ACCEPTED, &n.view())
}

async fn enqueue(state: &AppState, n: &Notification) -> Result<(), ApiError> {
    let message = QueueMessage {
        v: 1,
        project_id: n.project_id,
        notification_id: n.id,
        throttles: 0,
    };
    let body = serde_json::to_string(&message).map_err(ApiError::internal)?;
    let sent = state
        .sqs
        .send_message()
        .queue_url(&state.config.notifications_queue_url)
        .message_body(body)
        .send()
        .await;
    if sent.is_err() {
        // Not queued: leave a terminal state, not a pending that nothing will pick up.
        let _ = store::mark_failed(state, &n.project_id, &n.id, None, "enqueue_failed").await;
        return Err(ApiError::unavailable(
            "queue_unavailable",
            "the notification could not be queued; retry shortly",
        )
        .with_header(http::header::RETRY_AFTER, "1"));
    }
    Ok(())
}

pub(super) async fn get(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let id: NotificationId = req
        .path_param("id")?
        .parse()
        .map_err(|_| ApiError::not_found("notification"))?;
    let found = store::get(state, &caller.project.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("notification"))?;
    json(StatusCode::OK, &found.view())
}

pub(super) async fn list(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let (filter, page) = list_filter(req)?;
    let found = store::list(state, &caller.project.id, &filter, &page).await?;
    let page = NotificationList {
        data: found.items.iter().map(Notification::view).collect(),
        next_cursor: found.next_cursor,
    };
    json(StatusCode::OK, &page)
}

/// `GET /v1/notifications`'s query parameters.
fn list_filter(req: &ApiRequest) -> Result<(Filter, PageRequest), ApiError> {
    let mut errors = Vec::new();
    let mut filter = Filter::default();
    let (mut from, mut to) = (None, None);
    if let Some(s) = req.query("status")? {
        filter.status = status_filter(s);
        if filter.status.is_none() {
            errors.push(FieldError::new("status", "invalid", "unknown status"));
        }
    }
    if let Some(c) = req.query("channel")? {
        filter.channel = Channel::parse(c);
        if filter.channel.is_none() {
            errors.push(FieldError::new("channel", "invalid", "email or whatsapp"));
        }
    }
    if let Some(t) = req.query("template")? {
        filter.template = Some(t.to_owned());
    }
    for (name, slot) in [("from", &mut from), ("to", &mut to)] {
        if let Some(raw) = req.query(name)? {
            match OffsetDateTime::parse(raw, &Rfc3339) {
                Ok(at) => *slot = Some(at),
                Err(_) => errors.push(FieldError::new(name, "invalid", "RFC 3339 time")),
            }
        }
    }
    // DynamoDB refuses a BETWEEN whose bounds are reversed (found by schemathesis).
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            errors.push(FieldError::new("to", "invalid", "must not be before from"));
        }
    }
    filter.time = TimeRange::between(from, to);
    let page = PageRequest::read::<crate::ids::Notification>(req, &mut errors)?;
    if errors.is_empty() {
        Ok((filter, page))
    } else {
        Err(ApiError::validation(errors))
    }
}

/// `failed` is the family; `failed_only` the exact status; anything else one exact status.
fn status_filter(s: &str) -> Option<&'static [Status]> {
    match s {
        "failed" => Some(&FAILED_FAMILY),
        "failed_only" => Some(&[Status::Failed]),
        _ => Status::ALL
            .iter()
            .position(|c| c.name() == s)
            .map(|i| std::slice::from_ref(&Status::ALL[i])),
    }
}
