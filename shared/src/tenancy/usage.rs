//! Usage metering per project and calendar month (UTC), and quota enforcement.
//!
//! One item per project and month (`P#<project>#USAGE` / `2026-11`) with one counter per
//! metric, incremented atomically with `ADD`. Metered actions that have a monthly quota consume
//! it with a conditional `ADD`, so a quota is never exceeded, even under concurrency.

use crate::db::{self, storage_error};
use crate::error::ApiError;
use crate::ids::ProjectId;
use crate::AppState;
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Requests,
    Emails,
    WhatsappMessages,
    WebhookAttempts,
    Payments,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Self::Requests,
        Self::Emails,
        Self::WhatsappMessages,
        Self::WebhookAttempts,
        Self::Payments,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Requests => "requests",
            Self::Emails => "emails",
            Self::WhatsappMessages => "whatsapp_messages",
            Self::WebhookAttempts => "webhook_attempts",
            Self::Payments => "payments",
        }
    }

    /// The monthly quota of this metric for `project`, if it has one.
    pub fn quota(self, project: &super::Project) -> Option<u64> {
        let limits = project.limits();
        match self {
            Self::Requests => None,
            Self::Emails => Some(limits.emails_per_month),
            Self::WhatsappMessages => Some(limits.whatsapp_per_month),
            Self::WebhookAttempts => Some(limits.webhook_attempts_per_month),
            Self::Payments => Some(limits.payments_per_month),
        }
    }
}

pub fn month(now: OffsetDateTime) -> String {
    format!("{:04}-{:02}", now.year(), u8::from(now.month()))
}

fn seconds_to_next_month(now: OffsetDateTime) -> i64 {
    let (year, month) = match now.month() {
        time::Month::December => (now.year() + 1, time::Month::January),
        m => (now.year(), m.next()),
    };
    time::Date::from_calendar_date(year, month, 1)
        .map(|d| (d.midnight().assume_utc() - now).whole_seconds())
        .unwrap_or(86_400)
}

fn usage_pk(project: &ProjectId) -> String {
    format!("P#{project}#USAGE")
}

/// Counts `n` of `metric` (no quota check). A failure is logged, never fails the request:
/// metering must not take the API down.
pub async fn record(
    state: &AppState,
    project: &ProjectId,
    metric: Metric,
    n: u64,
    now: OffsetDateTime,
) {
    let result = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(usage_pk(project)))
        .key("sk", db::s(month(now)))
        .update_expression("ADD #m :n")
        .expression_attribute_names("#m", metric.name())
        .expression_attribute_values(":n", db::n(n))
        .send()
        .await;
    if let Err(e) = result {
        tracing::warn!(metric = metric.name(), error = %crate::telemetry::error_chain(&e), "usage not recorded");
    }
}

/// Consumes one unit of `metric`'s monthly quota, or answers 429 `quota_exceeded`.
pub async fn consume(
    state: &AppState,
    project: &super::Project,
    metric: Metric,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let Some(quota) = metric.quota(project) else {
        record(state, &project.id, metric, 1, now).await;
        return Ok(());
    };
    let result = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(usage_pk(&project.id)))
        .key("sk", db::s(month(now)))
        .update_expression("ADD #m :one")
        .condition_expression("attribute_not_exists(#m) OR #m < :quota")
        .expression_attribute_names("#m", metric.name())
        .expression_attribute_values(":one", db::n(1))
        .expression_attribute_values(":quota", db::n(quota))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if db::is_conditional_failure(&e) => Err(ApiError::new(
            http::StatusCode::TOO_MANY_REQUESTS,
            "quota_exceeded",
            format!(
                "the project's monthly quota of {quota} {} is used up",
                metric.name()
            ),
        )
        .with_member("metric", metric.name())
        .with_member("quota", quota)
        .with_header(
            http::header::RETRY_AFTER,
            seconds_to_next_month(now).to_string(),
        )),
        Err(e) => Err(storage_error(e).into()),
    }
}

/// A month's counters, every metric present (0 when unused).
#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Usage {
    #[schema(example = "2026-11")]
    pub month: String,
    pub counters: BTreeMap<&'static str, u64>,
}

pub async fn get(state: &AppState, project: &ProjectId, month: &str) -> Result<Usage, ApiError> {
    let out = state
        .dynamodb
        .get_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(usage_pk(project)))
        .key("sk", db::s(month))
        .send()
        .await
        .map_err(storage_error)?;
    let item = out.item.unwrap_or_default();
    let counters = Metric::ALL
        .into_iter()
        .map(|m| {
            let n = item
                .get(m.name())
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            (m.name(), n)
        })
        .collect();
    Ok(Usage {
        month: month.to_owned(),
        counters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_their_ends() {
        let now = time::macros::datetime!(2026-12-31 23:59:00 UTC);
        assert_eq!(month(now), "2026-12");
        assert_eq!(seconds_to_next_month(now), 60);
    }
}
