//! The public Mercado Pago notification URL (`mp-intake`):
//! `POST /mercadopago/{project_id}/notifications`, no API key.
//!
//! Webhooks (`?data.id=&type=`) must carry a valid `x-signature` for the project's secret
//! (401 otherwise); IPN (`?topic=&id=`) cannot be authenticated and is only a hint. Either way
//! nothing is trusted: the intake enqueues ids for the sync, which re-fetches with the
//! project's token, and answers 200 at once.

use super::creds;
use super::queue::{self, Job};
use crate::error::ApiError;
use crate::http::{json, ApiRequest};
use crate::ids::ProjectId;
use crate::inbound::mercadopago::{self as sig, Notification, DEFAULT_TOLERANCE};
use crate::tenancy::project;
use crate::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;
use http::StatusCode;
use lambda_http::{Body, Response};

pub const ROUTES: &[&str] = &["POST /mercadopago/{project_id}/notifications"];

pub fn handler(
    state: &'static AppState,
    req: ApiRequest,
) -> BoxFuture<'static, Result<Response<Body>, ApiError>> {
    async move { handle(state, req).await }.boxed()
}

/// The notification URL Mercado Pago is given for a project.
pub fn notification_url(state: &AppState, project: &ProjectId) -> String {
    format!(
        "{}/mercadopago/{project}/notifications",
        state.config.public_api_url
    )
}

fn numeric(id: &str) -> bool {
    (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

async fn handle(state: &'static AppState, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    if req.route_key != ROUTES[0] {
        return Err(ApiError::not_found("route"));
    }
    let project_id: ProjectId = req
        .path_param("project_id")?
        .parse()
        .map_err(|_| ApiError::not_found("project"))?;
    let Some(project) = project::get(state, &project_id).await? else {
        return Err(ApiError::not_found("project"));
    };
    tracing::Span::current().record("project_id", tracing::field::display(&project.id));
    let data_id = req.query("data.id")?;
    let kind = req.query("type")?;
    let topic = req.query("topic")?;
    let ipn_id = req.query("id")?;
    let (topic, id, webhook) = match (data_id, kind, topic, ipn_id) {
        (Some(id), Some(kind), _, _) => (kind, id, true),
        (None, None, Some(topic), Some(id)) => (topic, id, false),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_notification",
                "expected ?data.id=&type= (webhook) or ?topic=&id= (IPN)",
            ))
        }
    };
    let Some(creds) = creds::get(state, &project.id).await? else {
        return Err(creds::not_configured());
    };
    if webhook {
        let n = Notification {
            data_id: Some(id),
            request_id: req.header(sig::HEADER_REQUEST_ID),
            signature: req.header(sig::HEADER_SIGNATURE),
        };
        if let Err(e) = sig::verify(
            &creds.webhook_secret,
            &n,
            state.clock.now(),
            DEFAULT_TOLERANCE,
        ) {
            tracing::warn!(reason = %e, "Mercado Pago webhook signature rejected");
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
                "the x-signature header does not verify",
            ));
        }
    }
    let job = match topic {
        "payment" if numeric(id) => Job::ProviderPayment {
            provider_payment_id: id.to_owned(),
        },
        "merchant_order" if numeric(id) => Job::ProviderOrder {
            provider_order_id: id.to_owned(),
        },
        "payment" | "merchant_order" => {
            return Err(ApiError::bad_request(
                "invalid_notification",
                "the resource id must be numeric",
            ))
        }
        // Other topics (subscriptions, point, chargebacks…) are acknowledged so Mercado Pago
        // stops retrying; chargebacks also arrive as payment updates.
        _ => {
            return json(
                StatusCode::OK,
                &serde_json::json!({"received": true, "ignored": true}),
            )
        }
    };
    queue::send(state, &project.id, job).await?;
    json(StatusCode::OK, &serde_json::json!({"received": true}))
}
