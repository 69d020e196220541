//! The `project` function: `GET /v1/project`, the calling project as it stands.

use super::guard::protected;
use super::{usage, Caller, Project};
use crate::credentials::Provider;
use crate::error::ApiError;
use crate::http::{json, ApiRequest};
use crate::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;
use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;

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
            json(
                StatusCode::OK,
                &json!({
                    "id": p.id,
                    "name": p.name,
                    "domain": p.domain,
                    "plan": p.plan,
                    "active": p.active,
                    "limits": p.limits(),
                    "flags": p.effective_flags(),
                    "providers": providers(p),
                    "usage": usage,
                    "created_at": p.created_at,
                    "updated_at": p.updated_at,
                }),
            )
        }
        _ => Err(ApiError::not_found("route")),
    }
}

/// What the project can send or charge through, from the project item alone (no Secrets
/// Manager call). Never secret material: only whether, and since when, credentials are stored.
fn providers(p: &Project) -> serde_json::Value {
    let stored = |provider| match p.provider_configured_at(provider) {
        Some(at) => json!({"configured": true, "configured_at": at}),
        None => json!({"configured": false}),
    };
    json!({
        // E-mail goes through the stack's own SES account: no shop credentials, only the
        // sender identity (`email_from`) the operator sets.
        "email": {"configured": p.email_from.is_some(), "provider": "ses", "from": p.email_from},
        "whatsapp_cloud": stored(Provider::Whatsapp),
        // Click-to-chat links need nothing.
        "whatsapp_link": {"configured": true},
        "mercadopago": stored(Provider::MercadoPago),
    })
}
