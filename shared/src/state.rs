//! The application state: built once per cold start, shared by reference by every invocation.

use crate::{Clock, Config};
use aws_config::SdkConfig;

pub struct AppState {
    pub config: Config,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub clock: Clock,
    /// Warm-container cache of verified API keys (see `tenancy::apikey::KeyCache`).
    pub keys: crate::tenancy::apikey::KeyCache,
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
        let sdk = aws_config::load_from_env().await;
        Ok(Self::new(
            config,
            &sdk,
            &Endpoints::default(),
            Clock::system(),
        ))
    }

    /// Builds every client from one SDK configuration.
    pub fn new(config: Config, sdk: &SdkConfig, endpoints: &Endpoints, clock: Clock) -> Self {
        let dynamodb = {
            let mut b = aws_sdk_dynamodb::config::Builder::from(sdk);
            if let Some(url) = &endpoints.dynamodb {
                b = b.endpoint_url(url);
            }
            if crate::aws_calls::enabled() {
                b = b.interceptor(crate::aws_calls::CallLogger);
            }
            aws_sdk_dynamodb::Client::from_conf(b.build())
        };
        let sqs = {
            let mut b = aws_sdk_sqs::config::Builder::from(sdk);
            if let Some(url) = &endpoints.sqs {
                b = b.endpoint_url(url);
            }
            if crate::aws_calls::enabled() {
                b = b.interceptor(crate::aws_calls::CallLogger);
            }
            aws_sdk_sqs::Client::from_conf(b.build())
        };
        let ses = {
            let mut b = aws_sdk_sesv2::config::Builder::from(sdk);
            if let Some(url) = &endpoints.ses {
                b = b.endpoint_url(url);
            }
            if crate::aws_calls::enabled() {
                b = b.interceptor(crate::aws_calls::CallLogger);
            }
            aws_sdk_sesv2::Client::from_conf(b.build())
        };
        let secrets = {
            let mut b = aws_sdk_secretsmanager::config::Builder::from(sdk);
            if let Some(url) = &endpoints.secrets_manager {
                b = b.endpoint_url(url);
            }
            if crate::aws_calls::enabled() {
                b = b.interceptor(crate::aws_calls::CallLogger);
            }
            aws_sdk_secretsmanager::Client::from_conf(b.build())
        };
        Self {
            config,
            dynamodb,
            sqs,
            ses,
            secrets,
            clock,
            keys: Default::default(),
        }
    }
}
