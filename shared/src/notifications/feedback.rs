//! Delivery feedback from the providers.
//!
//! - WhatsApp status webhooks at `/whatsapp/{project_id}/webhook` (the `provider-feedback`
//!   function, no API key): `GET` is Meta's subscription handshake against the project's
//!   `verify_token`; `POST` bodies must carry `X-Hub-Signature-256` over the raw bytes with the
//!   project's `app_secret` (both in the project's WhatsApp credentials).
//! - SES events: see [`super::ses_events`] (the `email-feedback` function).
//!
//! A status maps to a notification through the provider-message item (item 9), or for
//! WhatsApp through `biz_opaque_callback_data` (our notification id) within the URL's project.
//! Updates apply only if they outrank the current status, so out-of-order webhooks never
//! regress a notification; the provider's event time is kept in the history.

use futures::future::BoxFuture;
use futures::FutureExt;
use http::{HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde_json::Value;
use time::OffsetDateTime;

use super::model::Status;
use super::store;
use crate::credentials::{self, Provider};
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::ids::{NotificationId, ProjectId};
use crate::inbound::whatsapp::{self as wa, SubscriptionQuery};
use crate::inbound::InboundSecret;
use crate::AppState;

pub const ROUTES: &[&str] = &[
    "GET /whatsapp/{project_id}/webhook",
    "POST /whatsapp/{project_id}/webhook",
];

/// Largest webhook body accepted (Meta batches statuses; 1 MiB is far above real bodies).
const MAX_BODY: usize = 1024 * 1024;

pub fn handler(
    state: &'static AppState,
    req: ApiRequest,
) -> BoxFuture<'static, Result<Response<Body>, ApiError>> {
    handle(state, req).boxed()
}

async fn handle(state: &'static AppState, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let project: ProjectId = req
        .path_param("project_id")?
        .parse()
        .map_err(|_| ApiError::not_found("webhook"))?;
    let creds = credentials::get(state, &project, Provider::Whatsapp)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    let secret = |name: &str| {
        creds
            .get(name)
            .and_then(Value::as_str)
            .and_then(|s| InboundSecret::new(s).ok())
            .ok_or_else(|| ApiError::not_found("webhook"))
    };
    match req.route_key.as_str() {
        "GET /whatsapp/{project_id}/webhook" => {
            let token = secret("verify_token")?;
            let query = SubscriptionQuery {
                mode: req.query("hub.mode")?,
                verify_token: req.query("hub.verify_token")?,
                challenge: req.query("hub.challenge")?,
            };
            let challenge = wa::verify_subscription(&query, &token)
                .map_err(|e| ApiError::forbidden("subscription_refused", e.to_string()))?;
            let mut response = Response::new(Body::Text(challenge.to_owned()));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain"),
            );
            Ok(response)
        }
        "POST /whatsapp/{project_id}/webhook" => {
            let app_secret = secret("app_secret")?;
            if req.body().len() > MAX_BODY {
                return Err(ApiError::payload_too_large(MAX_BODY));
            }
            wa::verify_signature(&app_secret, req.header(wa::HEADER_SIGNATURE), req.body())
                .map_err(|e| {
                    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", e.to_string())
                })?;
            let body: Value = serde_json::from_slice(req.body())
                .map_err(|_| ApiError::bad_request("invalid_json", "body is not JSON"))?;
            let applied = apply_whatsapp(state, &project, &body).await?;
            crate::http::json(StatusCode::OK, &WhatsAppApplied { applied })
        }
        _ => Err(ApiError::not_found("route")),
    }
}

/// Applies every status of a webhook body; returns how many changed a notification.
pub async fn apply_whatsapp(
    state: &AppState,
    project: &ProjectId,
    body: &Value,
) -> Result<usize, ApiError> {
    let mut applied = 0;
    let statuses = body["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten())
        .flat_map(|c| c["value"]["statuses"].as_array().into_iter().flatten());
    for status in statuses {
        let to = match status["status"].as_str() {
            Some("sent") => Status::Sent,
            Some("delivered") => Status::Delivered,
            Some("read") => Status::Read,
            Some("failed") => Status::Failed,
            _ => continue,
        };
        let Some(id) = resolve_whatsapp(state, project, status).await? else {
            continue;
        };
        let at = status["timestamp"]
            .as_str()
            .and_then(|t| t.parse::<i64>().ok())
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .unwrap_or_else(|| state.clock.now());
        let reason = (to == Status::Failed).then(|| {
            let error = &status["errors"][0];
            let title: String = error["title"]
                .as_str()
                .or_else(|| error["message"].as_str())
                .unwrap_or("failed")
                .chars()
                .take(200)
                .collect();
            match error["code"].as_i64() {
                Some(code) => format!("whatsapp:{code}: {title}"),
                None => format!("whatsapp: {title}"),
            }
        });
        let changed =
            store::apply_feedback(state, project, &id, to, crate::clock::rfc3339(at), reason)
                .await?;
        if let Some(n) = changed {
            applied += 1;
            if n.status == Status::Failed {
                super::emit_failed(state, &n).await;
            }
        }
    }
    Ok(applied)
}

/// The notification of one status, only ever within `project`.
async fn resolve_whatsapp(
    state: &AppState,
    project: &ProjectId,
    status: &Value,
) -> Result<Option<NotificationId>, ApiError> {
    if let Some(wamid) = status["id"].as_str() {
        if let Some((owner, id)) = store::find_provider_message(state, "whatsapp", wamid).await? {
            return Ok((owner == *project).then_some(id));
        }
    }
    // The status can overtake the sender's record of the wamid: our id rides along.
    Ok(status["biz_opaque_callback_data"]
        .as_str()
        .and_then(|s| s.parse().ok()))
}

/// What the WhatsApp intake answers Meta: how many status updates it applied.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct WhatsAppApplied {
    pub applied: usize,
}
