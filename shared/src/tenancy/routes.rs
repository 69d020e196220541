//! The `project` function: `GET /v1/project`, the calling project as it stands.

use super::guard::protected;
use super::plan::{Limits, Plan};
use super::{usage, Caller, Project};
use crate::credentials::Provider;
use crate::error::ApiError;
use crate::http::{json, ApiRequest};
use crate::ids::ProjectId;
use crate::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;
use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use std::collections::BTreeMap;

pub const ROUTES: &[&str] = &["GET /v1/project"];

pub fn handler(
    state: &'static AppState,
    req: ApiRequest,
) -> BoxFuture<'static, Result<Response<Body>, ApiError>> {
    protected(state, req, move |caller, req| handle(state, caller, req)).boxed()
}

async fn handle(
    state: &'static AppState,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    match req.route_key.as_str() {
        "GET /v1/project" => {
            let p = &caller.project;
            let month = usage::month(state.clock.now());
            let usage = usage::get(state, &p.id, &month).await?;
            json(StatusCode::OK, &ProjectView::new(p, usage))
        }
        _ => Err(ApiError::not_found("route")),
    }
}

/// `GET /v1/project`: the calling project as it stands.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Project)]
pub struct ProjectView<'a> {
    pub id: &'a ProjectId,
    pub name: &'a str,
    pub domain: &'a str,
    pub plan: Plan,
    pub active: bool,
    pub limits: Limits,
    /// Effective feature flags: `notifications.email`, `notifications.whatsapp`, `webhooks`,
    /// `payments.mercadopago`
    pub flags: BTreeMap<&'static str, bool>,
    pub providers: Providers<'a>,
    pub usage: usage::Usage,
    pub created_at: &'a str,
    pub updated_at: &'a str,
}

impl<'a> ProjectView<'a> {
    pub fn new(p: &'a Project, usage: usage::Usage) -> Self {
        Self {
            id: &p.id,
            name: &p.name,
            domain: &p.domain,
            plan: p.plan,
            active: p.active,
            limits: p.limits(),
            flags: p.effective_flags(),
            providers: Providers::new(p),
            usage,
            created_at: &p.created_at,
            updated_at: &p.updated_at,
        }
    }
}

/// What the project can send or charge through. Never secret material: only whether (and
/// since when) credentials are stored. Credentials are set by the operator
/// (`PUT /admin/projects/{id}/credentials/{provider}`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"email": {"configured": true, "provider": "ses", "from": "Tienda <no-reply@shop.example.com>"},
    "whatsapp_cloud": {"configured": false}, "whatsapp_link": {"configured": true},
    "mercadopago": {"configured": true, "configured_at": "2026-11-20T14:03:11.120Z"}}))]
pub struct Providers<'a> {
    pub email: EmailProvider<'a>,
    pub whatsapp_cloud: ProviderState<'a>,
    pub whatsapp_link: LinkProvider,
    pub mercadopago: ProviderState<'a>,
}

/// Sent through the stack's own Amazon SES account (no shop credentials); configured once the
/// operator set the project's sender identity (`from`)
#[derive(Serialize, utoipa::ToSchema)]
pub struct EmailProvider<'a> {
    pub configured: bool,
    #[schema(value_type = String, pattern = "^ses$")]
    pub provider: &'static str,
    pub from: Option<&'a str>,
}

/// Click-to-chat links: always available
#[derive(Serialize, utoipa::ToSchema)]
pub struct LinkProvider {
    pub configured: bool,
}

/// Whether a provider's credentials are stored.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProviderState<'a> {
    pub configured: bool,
    /// When the operator last stored the credentials
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    pub configured_at: Option<&'a str>,
}

impl<'a> Providers<'a> {
    /// From the project item alone (no Secrets Manager call).
    pub fn new(p: &'a Project) -> Self {
        let stored = |provider| ProviderState {
            configured: p.provider_configured_at(provider).is_some(),
            configured_at: p.provider_configured_at(provider),
        };
        Self {
            // E-mail goes through the stack's own SES account: no shop credentials, only the
            // sender identity (`email_from`) the operator sets.
            email: EmailProvider {
                configured: p.email_from.is_some(),
                provider: "ses",
                from: p.email_from.as_deref(),
            },
            whatsapp_cloud: stored(Provider::Whatsapp),
            // Click-to-chat links need nothing.
            whatsapp_link: LinkProvider { configured: true },
            mercadopago: stored(Provider::MercadoPago),
        }
    }
}
