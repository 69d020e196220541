//! The application state: built once per cold start, shared by reference by every invocation.
//!
//! The AWS SDK clients are built on first use ([`LazyClient`]), not during init: a function that
//! never sends e-mail never builds the SES client, and because the only code path that builds a
//! client is its first use, the linker drops the construction code (endpoint rules, runtime
//! plugins) of every client a function never touches. Construction needs no network I/O either
//! way; the first request of each client pays it (tens of microseconds) plus the shared HTTPS
//! client's one-time root-certificate load (see `docs/benchmarks.md`).

use crate::{Clock, Config};
use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use std::sync::{Arc, OnceLock};

pub struct AppState {
    pub config: Config,
    pub dynamodb: LazyClient<aws_sdk_dynamodb::Client>,
    pub sqs: LazyClient<aws_sdk_sqs::Client>,
    pub ses: LazyClient<aws_sdk_sesv2::Client>,
    pub secrets: LazyClient<aws_sdk_secretsmanager::Client>,
    pub clock: Clock,
    /// Warm-container cache of verified API keys (see `tenancy::apikey::KeyCache`).
    pub keys: crate::tenancy::apikey::KeyCache,
    /// Warm-container cache of dependency checks (see `health::cache`).
    pub health: crate::health::HealthCache,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Per-service endpoint overrides. Deployed functions leave these empty: `aws-config` already
/// honours `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` from the environment. The local
/// stack runs every function in one process and passes its emulator addresses here instead of
/// mutating the process environment.
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    pub dynamodb: Option<String>,
    pub sqs: Option<String>,
    pub ses: Option<String>,
    pub secrets_manager: Option<String>,
    /// An interceptor added to every client of this state. Only the local stack sets it (it
    /// enforces the function's IAM policy from `template.yaml`); deployed functions leave it
    /// `None` and their clients are exactly the ones built without it.
    pub interceptor: Option<SharedInterceptor>,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

impl AppState {
    /// Lambda cold start: configuration and AWS settings from the environment.
    pub async fn from_env() -> Result<Self, InitError> {
        let config = Config::from_env()?;
        let sdk = sdk_from_env().await;
        Ok(Self::new(
            config,
            &sdk,
            &Endpoints::default(),
            Clock::system(),
        ))
    }

    /// Prepares every client from one SDK configuration (each is built on first use).
    pub fn new(config: Config, sdk: &SdkConfig, endpoints: &Endpoints, clock: Clock) -> Self {
        let sdk = Arc::new(sdk.clone());
        Self {
            config,
            dynamodb: LazyClient::new(&sdk, &endpoints.dynamodb, &endpoints.interceptor),
            sqs: LazyClient::new(&sdk, &endpoints.sqs, &endpoints.interceptor),
            ses: LazyClient::new(&sdk, &endpoints.ses, &endpoints.interceptor),
            secrets: LazyClient::new(&sdk, &endpoints.secrets_manager, &endpoints.interceptor),
            clock,
            keys: Default::default(),
            health: Default::default(),
        }
    }
}

/// `aws_config::load_from_env`, except that when the environment holds credentials (always on
/// Lambda) they are used directly instead of through the default provider chain. The chain's
/// first provider is that same environment provider, so the credentials are the same; what is
/// saved is building the chain's other providers (profile, web identity, ECS, IMDS), which
/// prepares an HTTPS client and loads every system root certificate during init.
async fn sdk_from_env() -> SdkConfig {
    let loader = aws_config::from_env();
    let has_env_credentials = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
        .iter()
        .all(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()));
    let loader = match has_env_credentials {
        true => loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        ),
        false => loader,
    };
    loader.load().await
}

/// An SDK client that [`LazyClient`] can build from the shared SDK configuration.
pub trait ServiceClient: Sized {
    fn build(
        sdk: &SdkConfig,
        endpoint: Option<&str>,
        interceptor: Option<&SharedInterceptor>,
    ) -> Self;
}

/// An SDK client built the first time it is dereferenced (like `std::sync::LazyLock`), so call
/// sites read `state.dynamodb.get_item()` whether or not it was built yet.
pub struct LazyClient<C> {
    cell: OnceLock<C>,
    sdk: Arc<SdkConfig>,
    endpoint: Option<String>,
    interceptor: Option<SharedInterceptor>,
}

impl<C: ServiceClient> LazyClient<C> {
    fn new(
        sdk: &Arc<SdkConfig>,
        endpoint: &Option<String>,
        interceptor: &Option<SharedInterceptor>,
    ) -> Self {
        Self {
            cell: OnceLock::new(),
            sdk: Arc::clone(sdk),
            endpoint: endpoint.clone(),
            interceptor: interceptor.clone(),
        }
    }

    /// The client, built now if this is its first use.
    pub fn get(&self) -> &C {
        self.cell.get_or_init(|| {
            C::build(
                &self.sdk,
                self.endpoint.as_deref(),
                self.interceptor.as_ref(),
            )
        })
    }

    /// Whether the client was built already (tests and the benchmark's warm-up check it).
    pub fn is_built(&self) -> bool {
        self.cell.get().is_some()
    }
}

impl<C: ServiceClient> std::ops::Deref for LazyClient<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.get()
    }
}

impl<C> std::fmt::Debug for LazyClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient")
            .field("built", &self.cell.get().is_some())
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// One `ServiceClient` impl per SDK crate: the endpoint override, the crate's own settings, the
/// local stack's interceptor (IAM enforcement) and, when the benchmark asks for it
/// (`aws_calls`), the call-logging one.
macro_rules! service_client {
    ($($sdk:ident => $tweak:expr),+ $(,)?) => {$(
        impl ServiceClient for $sdk::Client {
            fn build(
                sdk: &SdkConfig,
                endpoint: Option<&str>,
                interceptor: Option<&SharedInterceptor>,
            ) -> Self {
                let tweak: fn($sdk::config::Builder) -> $sdk::config::Builder = $tweak;
                let mut b = tweak($sdk::config::Builder::from(sdk));
                if let Some(url) = endpoint {
                    b = b.endpoint_url(url);
                }
                if let Some(interceptor) = interceptor {
                    b.push_interceptor(interceptor.clone());
                }
                if crate::aws_calls::enabled() {
                    b = b.interceptor(crate::aws_calls::CallLogger);
                }
                $sdk::Client::from_conf(b.build())
            }
        }
    )+};
}

service_client!(
    aws_sdk_dynamodb => |b| b,
    aws_sdk_sqs => |b| b,
    // One attempt per SendEmail: the SDK's standard retries resend after a connection reset
    // (an `io` dispatch failure) even when SES had already accepted the message. Whether to
    // try again is decided by `notifications::transport` (connect-phase failures and
    // throttling only), so e-mail never goes out twice.
    aws_sdk_sesv2 => |b| b.retry_config(aws_config::retry::RetryConfig::disabled()),
    aws_sdk_secretsmanager => |b| b,
);

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> AppState {
        let sdk = SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let env = |name: &str| match name {
            "LOG_LEVEL"
            | "HEALTH_TIMEOUT_MS"
            | "OUTBOUND_ALLOW_CIDRS"
            | "OUTBOUND_ALLOW_HTTP"
            | "SES_MAX_SEND_RATE" => None,
            other => Some(format!("value-of-{other}")),
        };
        let config = Config::from_lookup(env).unwrap();
        let endpoints = Endpoints {
            dynamodb: Some("http://127.0.0.1:9".into()),
            ..Default::default()
        };
        AppState::new(config, &sdk, &endpoints, Clock::system())
    }

    #[test]
    fn clients_are_built_on_first_use_only() {
        let state = state();
        assert!(!state.dynamodb.is_built());
        assert!(!state.ses.is_built());
        let first: *const aws_sdk_dynamodb::Client = state.dynamodb.get();
        assert!(state.dynamodb.is_built());
        assert!(!state.ses.is_built(), "building one client built another");
        // Later uses get the same client, not a new one.
        assert!(std::ptr::eq(first, &*state.dynamodb));
    }
}
