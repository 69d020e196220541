//! Per-project rate limits, exact under any concurrency.
//!
//! Algorithm: fixed windows kept in one item per project and minute (`RL#<project>#<minute>`),
//! holding the minute's count `n` and one attribute per second (`s0`…`s59`). Each request is
//! one conditional `UpdateItem`:
//!
//! ```text
//! ADD n :1, #s :1   IF (n absent OR n < per_minute) AND (#s absent OR #s < per_second)
//! ```
//!
//! DynamoDB applies conditional updates to one item atomically, so exactly `per_minute`
//! requests per minute (and `per_second` per second) succeed however many arrive at once;
//! a refused request changes nothing. Cost: one write (1 WRU) per request, no read. The item
//! expires two minutes after its window and each minute uses a new partition key, so no counter
//! partition stays hot. Fixed windows allow a burst of up to 2 × `per_minute` across a minute
//! boundary; the per-second limit bounds that burst.

use super::Project;
use crate::db::{self, storage_error};
use crate::error::ApiError;
use crate::AppState;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use http::HeaderValue;
use lambda_http::{Body, Response};
use time::OffsetDateTime;

/// What the rate-limit headers report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub per_minute: u32,
    pub per_second: u32,
    pub remaining: u32,
    /// Seconds until the minute window resets.
    pub reset: u32,
}

impl Window {
    fn headers(&self) -> [(&'static str, String); 4] {
        [
            ("ratelimit-limit", self.per_minute.to_string()),
            ("ratelimit-remaining", self.remaining.to_string()),
            ("ratelimit-reset", self.reset.to_string()),
            (
                "ratelimit-policy",
                format!(
                    "\"minute\";q={};w=60, \"second\";q={};w=1",
                    self.per_minute, self.per_second
                ),
            ),
        ]
    }

    pub fn apply(&self, response: &mut Response<Body>) {
        for (name, value) in self.headers() {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
    }

    pub fn apply_to_error(&self, mut err: ApiError) -> ApiError {
        for (name, value) in self.headers() {
            err = err.with_header(http::HeaderName::from_static(name), value);
        }
        err
    }
}

fn number(item: Option<&db::Item>, name: &str) -> u32 {
    item.and_then(|i| i.get(name))
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Admits one request for `project` at `now`, or answers 429 with `Retry-After`.
pub async fn admit(
    state: &AppState,
    project: &Project,
    now: OffsetDateTime,
) -> Result<Window, ApiError> {
    let limits = project.limits();
    admit_scoped(
        state,
        &project.id.to_string(),
        limits.requests_per_minute,
        limits.requests_per_second,
        now,
    )
    .await
}

/// The same exact limiter for another budget: `scope` names it (its windows are
/// `RL#<scope>#<minute>`; start it with the project id so it stays the project's).
pub async fn admit_scoped(
    state: &AppState,
    scope: &str,
    per_minute: u32,
    per_second: u32,
    now: OffsetDateTime,
) -> Result<Window, ApiError> {
    struct Limits {
        requests_per_minute: u32,
        requests_per_second: u32,
    }
    let limits = Limits {
        requests_per_minute: per_minute,
        requests_per_second: per_second,
    };
    let epoch = now.unix_timestamp();
    let minute = epoch.div_euclid(60);
    let second = epoch.rem_euclid(60);
    let reset = u32::try_from(60 - second).unwrap_or(60);
    let second_attr = format!("s{second}");
    let result = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(format!("RL#{scope}#{minute}")))
        .key("sk", db::s("RL"))
        .update_expression("ADD n :one, #s :one SET expires_at = if_not_exists(expires_at, :ttl)")
        .condition_expression("(attribute_not_exists(n) OR n < :per_minute) AND (attribute_not_exists(#s) OR #s < :per_second)")
        .expression_attribute_names("#s", &second_attr)
        .expression_attribute_values(":one", db::n(1))
        .expression_attribute_values(":ttl", db::n((minute + 2) * 60))
        .expression_attribute_values(":per_minute", db::n(limits.requests_per_minute))
        .expression_attribute_values(":per_second", db::n(limits.requests_per_second))
        .return_values(ReturnValue::UpdatedNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(out) => {
            let used = number(out.attributes.as_ref(), "n");
            Ok(Window {
                per_minute: limits.requests_per_minute,
                per_second: limits.requests_per_second,
                remaining: limits.requests_per_minute.saturating_sub(used),
                reset,
            })
        }
        Err(e) if db::is_conditional_failure(&e) => {
            let old = match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => c.item.clone(),
                _ => None,
            };
            let second_full = number(old.as_ref(), &second_attr) >= limits.requests_per_second;
            let retry_after = if second_full { 1 } else { reset };
            let window = Window {
                per_minute: limits.requests_per_minute,
                per_second: limits.requests_per_second,
                remaining: limits
                    .requests_per_minute
                    .saturating_sub(number(old.as_ref(), "n")),
                reset,
            };
            let which = if second_full {
                "per-second"
            } else {
                "per-minute"
            };
            let err = ApiError::new(
                http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "the project's {which} request limit is reached; retry after {retry_after} s"
                ),
            )
            .with_header(http::header::RETRY_AFTER, retry_after.to_string());
            Err(window.apply_to_error(err))
        }
        Err(e) => Err(storage_error(e).into()),
    }
}
