//! The dispatcher (SQS consumer on DeliveriesQueue): one message names one delivery.
//!
//! Crash safety: the delivery item is the truth. Before sending, one transaction *claims* the
//! attempt (attempt count + 1, `next_attempt_ms` moved a lease ahead, so the `due` index will
//! bring it back if we die) and writes the attempt item as `in_flight`. A redelivered message
//! finds the delivery already claimed or finished (conditional writes on `attempts` and
//! `next_attempt_ms`) and records nothing. A message that arrives early (SQS delays are capped,
//! clocks move) is re-delayed, never sent.
//!
//! Deactivated projects: a due delivery of a project that is not `active` is *paused*, not
//! attempted: it stays `pending` (no attempt made or counted, never failed for it) with its next
//! attempt [`PAUSE_MS`] ahead and `last_error_class` `project_inactive`, so the retry sweeper
//! looks at it again then. Once the project is active again, that next look makes the attempt:
//! nothing is lost, and a paused project costs one read per delivery per pause period.
//!
//! This file is the I/O: the reads, the conditional writes, the send and the enqueue. Every
//! choice between them (due or wait, pause, fail, claim, what a result makes of the delivery
//! and its attempt log entry, queue delay or sweeper, endpoint health) is a pure function in
//! `decision`, unit-tested in `tests.rs` and `after_tests.rs` in milliseconds, without
//! emulators or sockets.

#[cfg(test)]
mod after_tests;
mod decision;
#[cfg(test)]
mod tests;

use self::decision::{ms, After, Before, Claim, Health, When};
use super::delivery_store::{self, Attempt, Delivery};
use super::endpoint_store::{self, Endpoint};
use super::schedule::Outcome;
use super::{queue, send};
use crate::db::StorageError;
use crate::ids::{DeliveryId, ProjectId};
use crate::sqs::MessageError;
use crate::tenancy::usage::{self, Metric};
use crate::AppState;
use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use futures::future::BoxFuture;
use futures::FutureExt;

/// How long a claimed attempt owns the delivery (well over the 15 s request timeout).
pub const LEASE_MS: i64 = 60_000;
/// How long a delivery of a deactivated project waits before it is looked at again.
pub const PAUSE_MS: i64 = 5 * 60 * 1000;
/// An endpoint failing without a single success for this long is disabled.
pub const DISABLE_AFTER_MS: i64 = 5 * 24 * 3600 * 1000;

pub fn handler(
    state: &'static AppState,
    message: SqsMessage,
) -> BoxFuture<'static, Result<(), MessageError>> {
    async move {
        let body = message.body.unwrap_or_default();
        let msg = queue::parse(&body)?;
        process(state, &msg.p, &msg.d).await
    }
    .boxed()
}

/// Makes the delivery's due attempt, if it is due and nobody else has made it.
pub async fn process(
    state: &AppState,
    project: &ProjectId,
    id: &DeliveryId,
) -> Result<(), MessageError> {
    let Some(d) = delivery_store::get(state, project, id).await? else {
        return Ok(());
    };
    let now = state.clock.now();
    match decision::when(&d, ms(now)) {
        When::Finished => return Ok(()),
        When::Wait { delay_s, .. } => {
            if let Some(delay) = delay_s {
                queue::enqueue(state, &[(d.project_id, d.id, delay)]).await;
            }
            return Ok(());
        }
        When::Due => {}
    }
    let active = crate::tenancy::project::get(state, project)
        .await?
        .is_some_and(|p| p.active);
    let (endpoint, event) = if active {
        let endpoint = endpoint_store::get(state, project, &d.endpoint_id).await?;
        let event = crate::events::store::get(state, project, &d.event_id).await?;
        (endpoint, event)
    } else {
        (None, None)
    };
    let Claim {
        claimed,
        attempt,
        endpoint,
        event,
    } = match decision::before_attempt(&d, active, endpoint, event, now) {
        Before::Pause(paused) => {
            if delivery_store::replace_if(state, &d, &paused).await? {
                tracing::info!(delivery_id = %d.id, "project inactive; delivery paused");
            }
            return Ok(());
        }
        Before::Fail(done) => {
            delivery_store::replace_if(state, &d, &done).await?;
            return Ok(());
        }
        Before::Claim(claim) => *claim,
    };
    if !claim(state, &d, &claimed, &attempt).await? {
        return Ok(());
    }
    let policy = send::policy(&state.config);
    let client = send::client_for(&policy).map_err(MessageError::retry)?;
    let secrets = endpoint.active_secrets(ms(now));
    let result = send::attempt(
        &client,
        &policy,
        &endpoint.url,
        &event.id.to_string(),
        event.payload.as_bytes(),
        &secrets,
        now,
    )
    .await;
    usage::record(state, project, Metric::WebhookAttempts, 1, now).await;
    let after = state.clock.now();
    let After {
        done,
        attempt,
        delay_s,
    } = decision::after_attempt(&claimed, &attempt, &result, after, &mut rand::thread_rng());
    delivery_store::put_attempt(state, project, &d.id, &attempt).await?;
    if !delivery_store::replace_if(state, &claimed, &done).await? {
        tracing::warn!(delivery_id = %d.id, "delivery changed during the attempt; result kept in the attempt log only");
    }
    tracing::info!(delivery_id = %d.id, endpoint_id = %endpoint.id, attempt = attempt.number, status = ?result.status_code, error_class = ?result.error_class, "webhook attempt");
    if let Some(delay) = delay_s {
        queue::enqueue(state, &[(d.project_id, d.id, delay)]).await;
    }
    health(state, &endpoint, result.outcome, ms(after)).await
}

async fn claim(
    state: &AppState,
    prev: &Delivery,
    next: &Delivery,
    attempt: &Attempt,
) -> Result<bool, StorageError> {
    let table = &state.config.table_name;
    let mut attempt_item = crate::db::to_item(attempt)?;
    attempt_item.insert(
        "pk".into(),
        crate::db::s(delivery_store::attempts_pk(&prev.project_id, &prev.id)),
    );
    attempt_item.insert(
        "sk".into(),
        crate::db::s(delivery_store::attempt_sk(attempt.number)),
    );
    attempt_item.insert(
        "project_id".into(),
        crate::db::s(prev.project_id.to_string()),
    );
    let delivery = Put::builder()
        .table_name(table)
        .set_item(Some(delivery_store::to_item(next)?))
        .condition_expression(delivery_store::guard_expression(prev))
        .set_expression_attribute_values(delivery_store::guard_values(prev))
        .expression_attribute_names("#st", "status")
        .build()
        .map_err(StorageError::other)?;
    let log = Put::builder()
        .table_name(table)
        .set_item(Some(attempt_item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(StorageError::other)?;
    let items = vec![
        TransactWriteItem::builder().put(delivery).build(),
        TransactWriteItem::builder().put(log).build(),
    ];
    Ok(crate::db::transact(state, items).await? == crate::db::Transaction::Committed)
}

/// Endpoint health after an attempt: success resets the failure clock; 410 or five days of
/// failures disable the endpoint and record an `endpoint.disabled` event.
async fn health(
    state: &AppState,
    endpoint: &Endpoint,
    outcome: Outcome,
    now_ms: i64,
) -> Result<(), MessageError> {
    let project = &endpoint.project_id;
    let verdict = decision::health(endpoint.failing_since_ms, outcome, now_ms);
    let success = verdict == Health::Healthy;
    endpoint_store::record_health(state, project, &endpoint.id, success, now_ms).await?;
    let Health::Disable(reason) = verdict else {
        return Ok(());
    };
    let stamp = endpoint_store::ms_rfc3339(now_ms).unwrap_or_default();
    if !endpoint_store::disable(state, project, &endpoint.id, reason, &stamp).await? {
        return Ok(());
    }
    tracing::warn!(project_id = %project, endpoint_id = %endpoint.id, reason, "webhook endpoint disabled");
    let Some(p) = crate::tenancy::project::get(state, project).await? else {
        return Ok(());
    };
    let (data, key) = decision::disabled_event(endpoint, reason, &stamp, now_ms);
    // The disable above happens once (conditional), so a retry of this message will not come
    // back here: the e-mail goes out even when the event could not be stored.
    let emitted = super::emit(state, &p, "endpoint.disabled", data, Some(&key)).await;
    super::alert::endpoint_disabled(state, &p, endpoint, reason).await;
    emitted?;
    Ok(())
}
