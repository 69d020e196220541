//! Plans are data: each has default limits, and a project may override any of them.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Pro,
}

impl Plan {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "free" => Some(Self::Free),
            "pro" => Some(Self::Pro),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Pro => "pro",
        }
    }

    pub fn limits(self) -> Limits {
        match self {
            Self::Free => Limits {
                requests_per_second: 10,
                requests_per_minute: 300,
                emails_per_month: 3_000,
                whatsapp_per_month: 1_000,
                webhook_attempts_per_month: 50_000,
                payments_per_month: 1_000,
                max_webhook_endpoints: 3,
                retention_days: 30,
            },
            Self::Pro => Limits {
                requests_per_second: 50,
                requests_per_minute: 2_000,
                emails_per_month: 100_000,
                whatsapp_per_month: 20_000,
                webhook_attempts_per_month: 1_000_000,
                payments_per_month: 50_000,
                max_webhook_endpoints: 20,
                retention_days: 90,
            },
        }
    }
}

/// Every limit a plan sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Limits {
    pub requests_per_second: u32,
    pub requests_per_minute: u32,
    pub emails_per_month: u64,
    pub whatsapp_per_month: u64,
    pub webhook_attempts_per_month: u64,
    pub payments_per_month: u64,
    pub max_webhook_endpoints: u32,
    pub retention_days: u32,
}

/// Per-project overrides; `None` keeps the plan's value. In a PATCH, replaces every override
/// at once (`{}` clears them all); an absent field keeps the plan's value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails_per_month: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whatsapp_per_month: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_attempts_per_month: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payments_per_month: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_webhook_endpoints: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
}

impl Limits {
    pub fn with(self, o: &LimitOverrides) -> Self {
        Self {
            requests_per_second: o.requests_per_second.unwrap_or(self.requests_per_second),
            requests_per_minute: o.requests_per_minute.unwrap_or(self.requests_per_minute),
            emails_per_month: o.emails_per_month.unwrap_or(self.emails_per_month),
            whatsapp_per_month: o.whatsapp_per_month.unwrap_or(self.whatsapp_per_month),
            webhook_attempts_per_month: o
                .webhook_attempts_per_month
                .unwrap_or(self.webhook_attempts_per_month),
            payments_per_month: o.payments_per_month.unwrap_or(self.payments_per_month),
            max_webhook_endpoints: o
                .max_webhook_endpoints
                .unwrap_or(self.max_webhook_endpoints),
            retention_days: o.retention_days.unwrap_or(self.retention_days),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_name() {
        let o = LimitOverrides {
            requests_per_second: Some(2),
            ..Default::default()
        };
        let limits = Plan::Free.limits().with(&o);
        assert_eq!(limits.requests_per_second, 2);
        assert_eq!(
            limits.requests_per_minute,
            Plan::Free.limits().requests_per_minute
        );
    }

    #[test]
    fn pro_is_never_below_free() {
        let (f, p) = (Plan::Free.limits(), Plan::Pro.limits());
        assert!(
            p.requests_per_second >= f.requests_per_second
                && p.emails_per_month >= f.emails_per_month
        );
        assert!(
            p.max_webhook_endpoints >= f.max_webhook_endpoints
                && p.retention_days >= f.retention_days
        );
    }
}
