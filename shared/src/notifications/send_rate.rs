//! The SES account's send rate, shared by every sender invocation of every project.
//!
//! SES enforces a maximum send rate per account and region (14/s for a new production
//! account); above it `SendEmail` answers `TooManyRequestsException`. Lambda may run many
//! sender invocations at once, so the limit is kept in the table, exactly, with the fixed-window
//! idea of `tenancy::ratelimit`: one item per second (`RL#SES#<epoch second>`, an account-level
//! key, not a project's) and one conditional `UpdateItem` per e-mail:
//!
//! ```text
//! ADD n :1   IF n absent OR n < rate
//! ```
//!
//! DynamoDB applies it atomically, so at most `rate` e-mails per second are let through however
//! many senders ask at once. The item expires a minute after its second; each second is a new
//! partition key, so no counter partition stays hot.

use crate::db::{self, StorageError};
use crate::AppState;

/// The counter item of one second.
pub fn pk(epoch_second: i64) -> String {
    format!("RL#SES#{epoch_second}")
}

/// Takes one e-mail slot in the current second: `true` if it may be sent now, `false` if the
/// account's rate is used up for this second (try again in a moment). A rate of 0 is no limit.
pub async fn admit(state: &AppState) -> Result<bool, StorageError> {
    let rate = state.config.ses_max_send_rate;
    if rate == 0 {
        return Ok(true);
    }
    let second = state.clock.now().unix_timestamp();
    let result = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(pk(second)))
        .key("sk", db::s("RL"))
        .update_expression("ADD n :one SET expires_at = if_not_exists(expires_at, :ttl)")
        .condition_expression("attribute_not_exists(n) OR n < :rate")
        .expression_attribute_values(":one", db::n(1))
        .expression_attribute_values(":ttl", db::n(second + 60))
        .expression_attribute_values(":rate", db::n(rate))
        .send()
        .await;
    db::applied(result)
}
