//! Dependency health: one cheap, read-only call per AWS service, each bounded by
//! `HEALTH_TIMEOUT_MS`, all run concurrently, each result cached for a few seconds in the warm
//! container (see [`cache`]).

pub mod cache;
pub mod routes;

pub use cache::HealthCache;

use crate::telemetry::error_chain;
use crate::AppState;
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Serialize;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    Dynamodb,
    Sqs,
    Ses,
    Secretsmanager,
}

impl Component {
    pub const ALL: [Component; 4] = [Self::Dynamodb, Self::Sqs, Self::Ses, Self::Secretsmanager];

    pub fn name(self) -> &'static str {
        match self {
            Self::Dynamodb => "dynamodb",
            Self::Sqs => "sqs",
            Self::Ses => "ses",
            Self::Secretsmanager => "secretsmanager",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = HealthStatus)]
pub enum Status {
    Ok,
    Down,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ComponentHealth {
    pub component: Component,
    pub status: Status,
    pub latency_ms: u64,
    /// Why the component is down, in words safe to show publicly (no hosts, no credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = HealthReport, example = json!({"status": "ok", "components": [{"component": "dynamodb", "status": "ok", "latency_ms": 4}]}))]
pub struct Report {
    pub status: Status,
    pub components: Vec<ComponentHealth>,
}

pub async fn check_all(state: &AppState) -> Report {
    let components = futures::future::join_all(Component::ALL.map(|c| check(state, c))).await;
    let status = if components.iter().all(|c| c.status == Status::Ok) {
        Status::Ok
    } else {
        Status::Down
    };
    Report { status, components }
}

/// The component's health as of a probe started at most [`cache::TTL`] ago.
pub async fn check(state: &AppState, component: Component) -> ComponentHealth {
    state
        .health
        .get_or_probe(component, check_now(state, component))
        .await
}

async fn check_now(state: &AppState, component: Component) -> ComponentHealth {
    let started = Instant::now();
    let outcome = tokio::time::timeout(state.config.health_timeout, probe(state, component)).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let detail = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(problem)) => Some(problem),
        Err(_) => Some(format!(
            "no answer within {} ms",
            state.config.health_timeout.as_millis()
        )),
    };
    if let Some(detail) = &detail {
        tracing::warn!(component = component.name(), detail = %detail, latency_ms, "dependency down");
    }
    ComponentHealth {
        component,
        status: if detail.is_none() {
            Status::Ok
        } else {
            Status::Down
        },
        latency_ms,
        detail,
    }
}

async fn probe(state: &AppState, component: Component) -> Result<(), String> {
    match component {
        Component::Dynamodb => state
            .dynamodb
            .describe_table()
            .table_name(&state.config.table_name)
            .customize()
            .config_override(
                aws_sdk_dynamodb::config::Builder::default().retry_config(no_retries()),
            )
            .send()
            .await
            .map(drop)
            .map_err(|e| classify("DynamoDB", &e)),
        Component::Sqs => state
            .sqs
            .get_queue_attributes()
            .queue_url(&state.config.notifications_queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .customize()
            .config_override(aws_sdk_sqs::config::Builder::default().retry_config(no_retries()))
            .send()
            .await
            .map(drop)
            .map_err(|e| classify("SQS", &e)),
        Component::Ses => state
            .ses
            .list_email_identities()
            .page_size(1)
            .customize()
            .config_override(aws_sdk_sesv2::config::Builder::default().retry_config(no_retries()))
            .send()
            .await
            .map(drop)
            .map_err(|e| classify("SES", &e)),
        Component::Secretsmanager => state
            .secrets
            .get_random_password()
            .password_length(8)
            .customize()
            .config_override(
                aws_sdk_secretsmanager::config::Builder::default().retry_config(no_retries()),
            )
            .send()
            .await
            .map(drop)
            .map_err(|e| classify("Secrets Manager", &e)),
    }
}

/// A probe reports the first failure as it is: retries would hide a flapping dependency and
/// turn "connection refused" into "timed out".
fn no_retries() -> aws_sdk_dynamodb::config::retry::RetryConfig {
    aws_sdk_dynamodb::config::retry::RetryConfig::disabled()
}

/// Turns an SDK error into a public, actionable sentence; the full chain goes to the log.
fn classify<E, R>(service: &str, err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    use aws_sdk_dynamodb::error::SdkError;
    tracing::debug!(service, error = %error_chain(err), "health probe failed");
    match err {
        SdkError::DispatchFailure(f) if f.is_timeout() => format!("{service} timed out"),
        SdkError::DispatchFailure(_) => format!("cannot connect to {service}"),
        SdkError::TimeoutError(_) => format!("{service} timed out"),
        SdkError::ResponseError(_) => format!("{service} sent an unreadable response"),
        SdkError::ServiceError(e) => format!(
            "{service} answered with an error: {}",
            e.err().code().unwrap_or("unknown")
        ),
        _ => format!("{service} request failed"),
    }
}
