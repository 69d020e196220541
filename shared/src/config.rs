//! Typed configuration, read once per cold start.
//!
//! Every field maps to one environment variable whose name is identical to the one set in
//! `template.yaml` (`Globals.Function.Environment.Variables`); a test diffs [`ENV_VARS`] against
//! the template so the two cannot drift.

use std::time::Duration;

/// The environment variables [`Config`] reads, in declaration order.
pub const ENV_VARS: &[&str] = &[
    "TABLE_NAME",
    "NOTIFICATIONS_QUEUE_URL",
    "DELIVERIES_QUEUE_URL",
    "PAYMENTS_QUEUE_URL",
    "SECRETS_PREFIX",
    "LOG_LEVEL",
    "HEALTH_TIMEOUT_MS",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `TABLE_NAME`: the single DynamoDB table holding every item (see `docs/data-model.md`).
    pub table_name: String,
    /// `NOTIFICATIONS_QUEUE_URL`: SQS queue feeding the notification sender.
    pub notifications_queue_url: String,
    /// `DELIVERIES_QUEUE_URL`: SQS queue feeding the webhook dispatcher.
    pub deliveries_queue_url: String,
    /// `PAYMENTS_QUEUE_URL`: SQS queue feeding the payment sync.
    pub payments_queue_url: String,
    /// `SECRETS_PREFIX`: where per-project provider credentials live in Secrets Manager
    /// (`<prefix>/projects/<project id>/<provider>`), e.g. `mostrador/prod`.
    pub secrets_prefix: String,
    /// `LOG_LEVEL`: a `tracing` filter such as `info` or `mostrador=debug,info` (default `info`).
    pub log_level: String,
    /// `HEALTH_TIMEOUT_MS`: how long one dependency check may take before it counts as down
    /// (default 2000).
    pub health_timeout: Duration,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so the local stack and tests can supply values
    /// without touching the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let health_timeout_ms = match lookup("HEALTH_TIMEOUT_MS") {
            None => 2000,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|ms| (1..=60_000).contains(ms))
                .ok_or_else(|| ConfigError::Invalid {
                    name: "HEALTH_TIMEOUT_MS",
                    reason: format!("expected milliseconds between 1 and 60000, got {raw:?}"),
                })?,
        };
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            notifications_queue_url: required("NOTIFICATIONS_QUEUE_URL")?,
            deliveries_queue_url: required("DELIVERIES_QUEUE_URL")?,
            payments_queue_url: required("PAYMENTS_QUEUE_URL")?,
            secrets_prefix: required("SECRETS_PREFIX")?.trim_end_matches('/').to_owned(),
            log_level: lookup("LOG_LEVEL").unwrap_or_else(|| "info".to_owned()),
            health_timeout: Duration::from_millis(health_timeout_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn full() -> HashMap<&'static str, String> {
        ENV_VARS
            .iter()
            .map(|name| (*name, format!("value-of-{name}")))
            .filter(|(name, _)| *name != "HEALTH_TIMEOUT_MS")
            .collect()
    }

    #[test]
    fn reads_every_field() {
        let mut env = full();
        env.insert("HEALTH_TIMEOUT_MS", "750".into());
        let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        assert_eq!(config.table_name, "value-of-TABLE_NAME");
        assert_eq!(config.payments_queue_url, "value-of-PAYMENTS_QUEUE_URL");
        assert_eq!(config.health_timeout, Duration::from_millis(750));
    }

    #[test]
    fn missing_required_variable_is_named() {
        let mut env = full();
        env.remove("DELIVERIES_QUEUE_URL");
        let err = Config::from_lookup(|k| env.get(k).cloned()).unwrap_err();
        assert_eq!(err, ConfigError::Missing("DELIVERIES_QUEUE_URL"));
    }

    #[test]
    fn invalid_timeout_is_rejected_with_reason() {
        let mut env = full();
        env.insert("HEALTH_TIMEOUT_MS", "soon".into());
        let err = Config::from_lookup(|k| env.get(k).cloned()).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "HEALTH_TIMEOUT_MS",
                ..
            }
        ));
    }

    #[test]
    fn defaults_apply() {
        let env = full();
        let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        assert_eq!(config.log_level, "value-of-LOG_LEVEL");
        assert_eq!(config.health_timeout, Duration::from_secs(2));
    }
}
