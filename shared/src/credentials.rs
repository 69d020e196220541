//! Provider credentials per project, kept only in Secrets Manager under
//! `<SECRETS_PREFIX>/projects/<project id>/<provider>`; never in DynamoDB, never in logs.

use crate::error::{ApiError, FieldError};
use crate::ids::ProjectId;
use crate::AppState;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    MercadoPago,
    Whatsapp,
}

impl Provider {
    pub const ALL: [Provider; 2] = [Self::MercadoPago, Self::Whatsapp];

    pub fn name(self) -> &'static str {
        match self {
            Self::MercadoPago => "mercadopago",
            Self::Whatsapp => "whatsapp",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == s)
    }

    /// (field, required)
    fn fields(self) -> &'static [(&'static str, bool)] {
        match self {
            Self::MercadoPago => &[("access_token", true), ("webhook_secret", true)],
            Self::Whatsapp => &[
                ("access_token", true),
                ("phone_number_id", true),
                ("api_version", false),
                // Status webhooks: Meta's app secret signs them (X-Hub-Signature-256) and the
                // verify token answers the subscription handshake.
                ("app_secret", false),
                ("verify_token", false),
            ],
        }
    }
}

pub(crate) fn secret_name(state: &AppState, project: &ProjectId, provider: Provider) -> String {
    format!(
        "{}/projects/{project}/{}",
        state.config.secrets_prefix,
        provider.name()
    )
}

/// Checks `values` has exactly the provider's fields, each a non-empty string.
pub fn validate(provider: Provider, values: &Map<String, Value>) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    for (field, required) in provider.fields() {
        match values.get(*field) {
            None if *required => errors.push(FieldError::new(*field, "required", "is required")),
            None => {}
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 4096 => {}
            Some(_) => errors.push(FieldError::new(
                *field,
                "invalid",
                "must be a non-empty string",
            )),
        }
    }
    for key in values.keys() {
        if !provider.fields().iter().any(|(f, _)| f == key) {
            errors.push(FieldError::new(
                key.clone(),
                "unknown_field",
                "is not a credential of this provider",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Stores (creates or replaces) a provider's credentials for a project.
pub async fn put(
    state: &AppState,
    project: &ProjectId,
    provider: Provider,
    values: &Map<String, Value>,
) -> Result<(), ApiError> {
    validate(provider, values)?;
    let name = secret_name(state, project, provider);
    let value = Value::Object(values.clone()).to_string();
    let updated = state
        .secrets
        .put_secret_value()
        .secret_id(&name)
        .secret_string(&value)
        .send()
        .await;
    match updated {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ResourceNotFoundException") => {
            state
                .secrets
                .create_secret()
                .name(&name)
                .secret_string(value)
                .description("Mostrador provider credentials")
                .send()
                .await
                .map_err(secrets_error)?;
            Ok(())
        }
        Err(e) => Err(secrets_error(e).into()),
    }
}

/// A project's credentials for `provider`, or `None` when not configured.
pub async fn get(
    state: &AppState,
    project: &ProjectId,
    provider: Provider,
) -> Result<Option<Map<String, Value>>, CredentialsError> {
    let out = state
        .secrets
        .get_secret_value()
        .secret_id(secret_name(state, project, provider))
        .send()
        .await;
    match out {
        Ok(out) => {
            let text = out.secret_string.unwrap_or_default();
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => Ok(Some(map)),
                _ => Err(CredentialsError::Failed(
                    "stored credentials are not a JSON object".into(),
                )),
            }
        }
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(secrets_error(e)),
    }
}

/// Which providers a project has credentials for (names only, never values).
pub async fn configured(
    state: &AppState,
    project: &ProjectId,
) -> Result<Vec<&'static str>, ApiError> {
    let mut names = Vec::new();
    for provider in Provider::ALL {
        let described = state
            .secrets
            .describe_secret()
            .secret_id(secret_name(state, project, provider))
            .send()
            .await;
        match described {
            Ok(_) => names.push(provider.name()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => {}
            Err(e) => return Err(secrets_error(e).into()),
        }
    }
    Ok(names)
}

fn secrets_error<E>(
    err: aws_sdk_secretsmanager::error::SdkError<
        E,
        aws_sdk_secretsmanager::config::http::HttpResponse,
    >,
) -> CredentialsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_secretsmanager::error::SdkError;
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            CredentialsError::Unavailable(err.into())
        }
        _ => CredentialsError::Failed(err.into()),
    }
}

/// A Secrets Manager call that failed, its error kept as the source.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// Unreachable or timed out: the caller's to retry (503 `secrets_unavailable`).
    #[error("secrets store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Refused, or a stored value that is not a JSON object: ours (an opaque 500).
    #[error("credentials unreadable")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl CredentialsError {
    /// The code the HTTP edge answers with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "secrets_unavailable",
            Self::Failed(_) => "internal_error",
        }
    }
}

/// The HTTP edge for credentials.
impl From<CredentialsError> for ApiError {
    fn from(err: CredentialsError) -> Self {
        match err {
            CredentialsError::Unavailable(_) => ApiError::unavailable(
                "secrets_unavailable",
                "the secrets store is temporarily unavailable; retry shortly",
            )
            .with_source(err),
            CredentialsError::Failed(_) => ApiError::internal(err),
        }
    }
}

/// The SQS edge for credentials: transient, as before; the cause kept.
impl From<CredentialsError> for crate::sqs::MessageError {
    fn from(err: CredentialsError) -> Self {
        Self::retry(err)
    }
}
