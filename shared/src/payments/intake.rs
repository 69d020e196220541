//! The public Mercado Pago notification URL (`mp-intake`):
//! `POST /mercadopago/{project_id}/notifications`, no API key.
//!
//! Webhooks (`?data.id=&type=`) must carry a valid `x-signature` for the project's secret
//! (401 otherwise); IPN (`?topic=&id=`) cannot be authenticated and is only a hint. Either way
//! nothing is trusted: the intake enqueues ids for the sync, which re-fetches with the
//! project's token, and answers 200 at once. Repeated IPN ids and floods are cut short before
//! any secret read or provider call ([`notices`]).

use super::creds;
use super::notices;
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

/// The notification URL Mercado Pago is given for a project: under `PUBLIC_API_URL` when set
/// (a custom domain), else under the API's own URL as this request reached it.
///
/// Why not put the HttpApi's URL into the functions' environment with a template `!Sub`? The
/// functions are the API's integrations, so the API depends on them; a function environment
/// that depends on the API closes a circular dependency CloudFormation refuses. The request
/// knows the host instead: `requestContext.domainName` (API Gateway fills it, the client
/// cannot), and with the `$default` stage there is no stage path to add.
pub fn notification_url(
    state: &AppState,
    project: &ProjectId,
    req: &ApiRequest,
) -> Result<String, ApiError> {
    let base = match state.config.public_api_url.trim_end_matches('/') {
        "" => api_base(req).ok_or_else(|| {
            ApiError::unavailable(
                "payments_unconfigured",
                "PUBLIC_API_URL is not set and the API's own URL is unknown; payments cannot receive notifications",
            )
        })?,
        set => set.to_owned(),
    };
    Ok(format!("{base}/mercadopago/{project}/notifications"))
}

/// `https://<domainName>` as API Gateway reports it; the scheme and a non-default port come
/// from `X-Forwarded-Proto`/`X-Forwarded-Port`, which API Gateway sets (https, 443) and the
/// local gateway too (http, its port).
fn api_base(req: &ApiRequest) -> Option<String> {
    let host = req.domain_name.as_deref()?;
    let valid = |c: u8| c.is_ascii_alphanumeric() || b"-.".contains(&c);
    if host.len() > 253 || !host.bytes().all(valid) {
        return None;
    }
    let scheme = match req.header("x-forwarded-proto") {
        Some("http") => "http",
        _ => "https",
    };
    let default_port = if scheme == "http" { "80" } else { "443" };
    match req.header("x-forwarded-port") {
        Some(port) if port != default_port && port.parse::<u16>().is_ok() => {
            Some(format!("{scheme}://{host}:{port}"))
        }
        _ => Some(format!("{scheme}://{host}")),
    }
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
    // Cheap checks first (issue 15, item 9): the resource id's shape, then the dedupe and
    // the intake limit, each one DynamoDB write; only then the Secrets Manager read.
    let job = match topic {
        "payment" if numeric(id) => Job::ProviderPayment {
            provider_payment_id: id.to_owned(),
        },
        // A merchant order: the sync asks Mercado Pago for its payments.
        "merchant_order" if numeric(id) => Job::ProviderNotice {
            reference: id.to_owned(),
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
                &Ack {
                    ignored: true,
                    ..Ack::default()
                },
            )
        }
    };
    let now = state.clock.now();
    // Signed webhooks are not deduplicated: only Mercado Pago can send them, and two of them
    // for one id are two changes. Unsigned IPN repeats are what a flood looks like.
    let claimed = !webhook;
    if claimed && !notices::claim(state, &project.id, topic, id, now).await? {
        return json(
            StatusCode::OK,
            &Ack {
                duplicate: true,
                ..Ack::default()
            },
        );
    }
    let release = || async {
        if claimed {
            notices::release(state, &project.id, topic, id).await;
        }
    };
    if let Err(e) = notices::admit(state, &project.id, now).await {
        release().await;
        return Err(e);
    }
    // Deliberately no `project.active` check here nor in the sync: a buyer may already have
    // paid a deactivated shop, so its payments keep settling (README, Payments).
    let creds = match creds::get(state, &project.id).await {
        Ok(Some(creds)) => creds,
        Ok(None) => {
            release().await;
            return Err(creds::not_configured());
        }
        Err(e) => {
            release().await;
            return Err(e.into());
        }
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
    if let Err(e) = queue::send(state, &project.id, job).await {
        release().await;
        return Err(e.into());
    }
    json(StatusCode::OK, &Ack::default())
}

/// What the intake answers Mercado Pago: always `received`; `ignored` for a topic Mostrador
/// does not follow, `duplicate` for a repeat of a recent IPN (both only when true).
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = MercadoPagoAck)]
pub struct Ack {
    pub received: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(required = false)]
    pub ignored: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(required = false)]
    pub duplicate: bool,
}

impl Default for Ack {
    fn default() -> Self {
        Self {
            received: true,
            ignored: false,
            duplicate: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `handle` serves `ROUTES[0]` and answers `route_not_found` to anything else.
    #[test]
    fn the_one_route_is_the_one_dispatched() {
        assert_eq!(ROUTES.len(), 1);
    }
}
