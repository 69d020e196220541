//! Flood control for the unauthenticated Mercado Pago intake (issue 15, item 9).
//!
//! Anyone can post `?topic=payment&id=…` (legacy IPN cannot be authenticated), and each
//! accepted notice costs a Secrets Manager read, a queue message and up to three Mercado Pago
//! calls with the shop's token. Two cheap DynamoDB writes come first, before any of that:
//!
//! - **Dedupe**: one conditional `PutItem` per (project, topic, resource id) for [`DEDUPE`];
//!   repeats inside the window are answered 200 and dropped. The sync enqueued by the first
//!   notice re-fetches the resource, so a repeat adds nothing unless the resource changed in
//!   between; that change is caught by the reconciler's next check of the payment.
//! - **Intake limit**: the exact per-project limiter (`tenancy::ratelimit`) on its own budget
//!   ([`PER_MINUTE`], [`PER_SECOND`]), so a flood of distinct ids cannot spend the shop's
//!   Mercado Pago quota. Over the limit the intake answers 429 at once: Mercado Pago retries
//!   notifications that are not answered 2xx (with growing intervals), which is what a real
//!   notice refused here needs; and if every retry is refused too, the reconciler still checks
//!   each watched payment on its own schedule. No real notification is lost, only delayed.

use crate::db;
use crate::error::ApiError;
use crate::ids::ProjectId;
use crate::tenancy::ratelimit;
use crate::AppState;
use time::OffsetDateTime;

/// How long a (project, topic, id) notice suppresses its repeats.
pub const DEDUPE: time::Duration = time::Duration::seconds(60);
/// Accepted notices per project and minute (a shop's real traffic is a few per payment).
pub const PER_MINUTE: u32 = 120;
/// Accepted notices per project and second (bounds the burst at a minute boundary).
pub const PER_SECOND: u32 = 20;

fn key(project: &ProjectId, topic: &str, id: &str) -> String {
    // `RL#…`: short-lived flood-control state, never exported with the project.
    format!("RL#{project}#MPN#{topic}#{id}")
}

/// Claims a notice; `false` when the same one was claimed less than [`DEDUPE`] ago. An expired
/// claim counts as absent (DynamoDB deletes expired items late, DynamoDB Local never).
pub async fn claim(
    state: &AppState,
    project: &ProjectId,
    topic: &str,
    id: &str,
    now: OffsetDateTime,
) -> Result<bool, ApiError> {
    let expires = (now + DEDUPE).unix_timestamp();
    let result = state
        .dynamodb
        .put_item()
        .table_name(&state.config.table_name)
        .item("pk", db::s(key(project, topic, id)))
        .item("sk", db::s("MPN"))
        .item("expires_at", db::n(expires))
        .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
        .expression_attribute_values(":now", db::n(now.unix_timestamp()))
        .send()
        .await;
    db::applied(result).map_err(Into::into)
}

/// Gives a claim back when its notice was refused (rate limit, queue down), so Mercado Pago's
/// retry of it is not taken for a repeat. Best effort: a left-over claim expires in [`DEDUPE`].
pub async fn release(state: &AppState, project: &ProjectId, topic: &str, id: &str) {
    let result = state
        .dynamodb
        .delete_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(key(project, topic, id)))
        .key("sk", db::s("MPN"))
        .send()
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %crate::telemetry::error_chain(&e), "notice claim not released; it expires by itself");
    }
}

/// Admits one notice against the project's intake budget, or a 429 with `Retry-After`.
pub async fn admit(
    state: &AppState,
    project: &ProjectId,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let scope = format!("{project}#MPN");
    ratelimit::admit_scoped(state, &scope, PER_MINUTE, PER_SECOND, now)
        .await
        .map(|_| ())
}
