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
    "PUBLIC_API_URL",
    "WHATSAPP_API_BASE_URL",
    "MERCADOPAGO_API_BASE_URL",
    "OUTBOUND_ALLOW_CIDRS",
    "OUTBOUND_ALLOW_HTTP",
    "SES_CONFIGURATION_SET",
    "ALERT_EMAIL_FROM",
    "LOG_LEVEL",
    "HEALTH_TIMEOUT_MS",
    "SES_MAX_SEND_RATE",
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
    /// `PUBLIC_API_URL`: the API's public base URL (custom domain), used to build the
    /// per-project Mercado Pago notification URL. Empty: payments cannot be created.
    pub public_api_url: String,
    /// `WHATSAPP_API_BASE_URL`: WhatsApp Cloud API base (default `https://graph.facebook.com`).
    pub whatsapp_api_base_url: String,
    /// `MERCADOPAGO_API_BASE_URL`: Mercado Pago API base (default `https://api.mercadopago.com`).
    pub mercadopago_api_base_url: String,
    /// `OUTBOUND_ALLOW_CIDRS`: comma-separated networks the webhook SSRF guard lets through even
    /// though they are private (only the local stack sets this: `127.0.0.0/8,::1/128`).
    pub outbound_allow: Vec<ipnet::IpNet>,
    /// `OUTBOUND_ALLOW_HTTP`: `true` lets webhook endpoints use plain http (local stack only).
    pub outbound_allow_http: bool,
    /// `SES_CONFIGURATION_SET`: SES v2 configuration set named on every e-mail (event
    /// publishing of bounces and complaints to SNS). Empty: none.
    pub ses_configuration_set: Option<String>,
    /// `ALERT_EMAIL_FROM`: the verified SES sender of Mostrador's own e-mails to a project's
    /// `contact_email` (a disabled webhook endpoint). Empty: none are sent.
    pub alert_email_from: Option<String>,
    /// `LOG_LEVEL`: a `tracing` filter such as `info` or `mostrador=debug,info` (default `info`).
    pub log_level: String,
    /// `HEALTH_TIMEOUT_MS`: how long one dependency check may take before it counts as down
    /// (default 2000).
    pub health_timeout: Duration,
    /// `SES_MAX_SEND_RATE`: the SES account's maximum send rate (e-mails per second, all
    /// projects together; default 14). The sender never exceeds it (`notifications::send_rate`);
    /// 0 disables the limit.
    pub ses_max_send_rate: u32,
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
        let ses_max_send_rate = match lookup("SES_MAX_SEND_RATE").as_deref().map(str::trim) {
            None | Some("") => 14,
            Some(raw) => raw.parse::<u32>().map_err(|_| ConfigError::Invalid {
                name: "SES_MAX_SEND_RATE",
                reason: format!("expected e-mails per second (0 = no limit), got {raw:?}"),
            })?,
        };
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            notifications_queue_url: required("NOTIFICATIONS_QUEUE_URL")?,
            deliveries_queue_url: required("DELIVERIES_QUEUE_URL")?,
            payments_queue_url: required("PAYMENTS_QUEUE_URL")?,
            secrets_prefix: required("SECRETS_PREFIX")?.trim_end_matches('/').to_owned(),
            public_api_url: lookup("PUBLIC_API_URL")
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned(),
            whatsapp_api_base_url: lookup("WHATSAPP_API_BASE_URL")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "https://graph.facebook.com".to_owned())
                .trim_end_matches('/')
                .to_owned(),
            mercadopago_api_base_url: lookup("MERCADOPAGO_API_BASE_URL")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "https://api.mercadopago.com".to_owned())
                .trim_end_matches('/')
                .to_owned(),
            outbound_allow: parse_cidrs(&lookup("OUTBOUND_ALLOW_CIDRS").unwrap_or_default())?,
            outbound_allow_http: match lookup("OUTBOUND_ALLOW_HTTP").as_deref().map(str::trim) {
                None | Some("") | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        name: "OUTBOUND_ALLOW_HTTP",
                        reason: format!("expected true or false, got {other:?}"),
                    })
                }
            },
            ses_configuration_set: lookup("SES_CONFIGURATION_SET")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
            alert_email_from: lookup("ALERT_EMAIL_FROM")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
            log_level: lookup("LOG_LEVEL").unwrap_or_else(|| "info".to_owned()),
            health_timeout: Duration::from_millis(health_timeout_ms),
            ses_max_send_rate,
        })
    }
}

fn parse_cidrs(raw: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>().map_err(|e| ConfigError::Invalid {
                name: "OUTBOUND_ALLOW_CIDRS",
                reason: format!("{s:?}: {e}"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn full() -> HashMap<&'static str, String> {
        ENV_VARS
            .iter()
            .map(|name| (*name, format!("value-of-{name}")))
            .filter(|(name, _)| {
                ![
                    "HEALTH_TIMEOUT_MS",
                    "OUTBOUND_ALLOW_CIDRS",
                    "OUTBOUND_ALLOW_HTTP",
                    "SES_MAX_SEND_RATE",
                ]
                .contains(name)
            })
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
    fn outbound_allow_list_parses_and_rejects_garbage() {
        let mut env = full();
        env.insert("OUTBOUND_ALLOW_CIDRS", "127.0.0.0/8, ::1/128".into());
        env.insert("OUTBOUND_ALLOW_HTTP", "true".into());
        let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        assert_eq!(config.outbound_allow.len(), 2);
        assert!(config.outbound_allow_http);
        env.insert("OUTBOUND_ALLOW_CIDRS", "localhost".into());
        assert!(Config::from_lookup(|k| env.get(k).cloned()).is_err());
    }

    #[test]
    fn defaults_apply() {
        let env = full();
        let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        assert_eq!(config.log_level, "value-of-LOG_LEVEL");
        assert_eq!(config.health_timeout, Duration::from_secs(2));
    }
}
