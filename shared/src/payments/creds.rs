//! A project's Mercado Pago credentials, from Secrets Manager, cached briefly per container.
//!
//! The cache keeps a read off the hot path (one Secrets Manager call per project per minute per
//! warm container) while a rotated token takes effect within [`TTL`]. Absent credentials are
//! never cached, so configuring a project takes effect at once.

use super::provider::mercadopago::{AccessToken, MercadoPago};
use super::provider::PaymentProvider;
use crate::credentials::{self, Provider};
use crate::error::ApiError;
use crate::ids::ProjectId;
use crate::inbound::InboundSecret;
use crate::AppState;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(60);

/// Mercado Pago credentials; `Debug` hides both values.
#[derive(Clone, Debug)]
pub struct MpCredentials {
    pub access_token: AccessToken,
    pub webhook_secret: InboundSecret,
}

type Cache = Mutex<HashMap<(String, ProjectId), (Instant, MpCredentials)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// 409 `provider_not_configured`.
pub fn not_configured() -> ApiError {
    ApiError::conflict(
        "provider_not_configured",
        "Mercado Pago credentials are not configured for this project (PUT /admin/projects/{id}/credentials/mercadopago)",
    )
}

/// The project's credentials, or `None` when it has none.
pub async fn get(
    state: &AppState,
    project: &ProjectId,
) -> Result<Option<MpCredentials>, crate::credentials::CredentialsError> {
    let key = (state.config.secrets_prefix.clone(), *project);
    if let Ok(map) = cache().lock() {
        if let Some((at, creds)) = map.get(&key) {
            if at.elapsed() < TTL {
                return Ok(Some(creds.clone()));
            }
        }
    }
    let Some(values) = credentials::get(state, project, Provider::MercadoPago).await? else {
        return Ok(None);
    };
    let field = |name: &str| {
        values
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let Ok(webhook_secret) = InboundSecret::new(field("webhook_secret")) else {
        return Ok(None);
    };
    let token = field("access_token");
    if token.trim().is_empty() {
        return Ok(None);
    }
    let creds = MpCredentials {
        access_token: AccessToken::new(&token),
        webhook_secret,
    };
    if let Ok(mut map) = cache().lock() {
        map.insert(key, (Instant::now(), creds.clone()));
    }
    Ok(Some(creds))
}

/// The provider client for a project's credentials: the registration of providers (one line
/// each once projects choose theirs).
pub fn provider(state: &AppState, creds: &MpCredentials) -> Box<dyn PaymentProvider> {
    Box::new(MercadoPago::new(
        &state.config.mercadopago_api_base_url,
        creds.access_token.clone(),
    ))
}
