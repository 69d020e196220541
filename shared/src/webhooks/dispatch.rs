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

use super::delivery_store::{self, Attempt, Delivery, FAILED, PENDING, SUCCEEDED};
use super::endpoint_store::{self, Endpoint};
use super::schedule::{self, Outcome};
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

fn ms(at: time::OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
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
    if d.status != PENDING {
        return Ok(());
    }
    let now = state.clock.now();
    let now_ms = ms(now);
    let due = d.next_attempt_ms.unwrap_or(now_ms);
    if due > now_ms {
        if let Some(delay) = queue::delay_for(due, now_ms) {
            queue::enqueue(state, &[(d.project_id, d.id, delay)]).await;
        }
        return Ok(());
    }
    let stamp = crate::clock::rfc3339(now);
    let active = crate::tenancy::project::get(state, project)
        .await?
        .is_some_and(|p| p.active);
    if !active {
        let mut paused = d.clone();
        paused.next_attempt_ms = Some(now_ms + PAUSE_MS);
        paused.sweep_at_ms = None;
        paused.last_error_class = Some("project_inactive".into());
        paused.updated_at = stamp;
        if delivery_store::replace_if(state, &d, &paused).await? {
            tracing::info!(delivery_id = %d.id, "project inactive; delivery paused");
        }
        return Ok(());
    }
    let endpoint = endpoint_store::get(state, project, &d.endpoint_id).await?;
    let event = crate::events::store::get(state, project, &d.event_id).await?;
    let (endpoint, event) = match (endpoint, event) {
        (Some(e), Some(ev)) if e.enabled => (e, ev),
        (e, ev) => {
            let class = match (e, ev) {
                (None, _) => "endpoint_deleted",
                (Some(_), None) => "event_expired",
                _ => "endpoint_disabled",
            };
            let mut done = d.clone();
            done.status = FAILED.into();
            done.next_attempt_ms = None;
            done.last_error_class = Some(class.into());
            done.updated_at = stamp;
            delivery_store::replace_if(state, &d, &done).await?;
            return Ok(());
        }
    };
    let mut claimed = d.clone();
    claimed.attempts += 1;
    claimed.round += 1;
    claimed.next_attempt_ms = Some(now_ms + LEASE_MS);
    claimed.sweep_at_ms = None;
    claimed.updated_at = stamp.clone();
    let mut attempt = Attempt {
        number: claimed.attempts,
        trigger: d.trigger.clone(),
        started_at: stamp.clone(),
        state: "in_flight".into(),
        status_code: None,
        duration_ms: None,
        response_body: None,
        error_class: None,
        error: None,
        next_attempt_at: None,
        request_headers: None,
        expires_at: d.expires_at,
    };
    if !claim(state, &d, &claimed, &attempt).await? {
        return Ok(());
    }
    let policy = send::policy(&state.config);
    let client = send::client_for(&policy).map_err(MessageError::retry)?;
    let secrets = endpoint.active_secrets(now_ms);
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
    let next = schedule::next_attempt(claimed.round, result.outcome, after);
    let mut done = claimed.clone();
    done.trigger = "scheduled".into();
    done.last_status_code = result.status_code;
    done.last_error_class = result.error_class.map(str::to_owned);
    done.last_attempt_at = Some(stamp);
    done.updated_at = crate::clock::rfc3339(after);
    done.status = match (result.outcome.is_success(), next) {
        (true, _) => SUCCEEDED.into(),
        (false, Some(_)) => PENDING.into(),
        (false, None) => FAILED.into(),
    };
    done.next_attempt_ms = if done.status == PENDING {
        next.map(ms)
    } else {
        None
    };
    attempt.state = if result.outcome.is_success() {
        "succeeded"
    } else {
        "failed"
    }
    .into();
    attempt.status_code = result.status_code;
    attempt.duration_ms = Some(result.duration_ms);
    attempt.response_body = result.response_body.clone();
    attempt.error_class = result.error_class.map(str::to_owned);
    attempt.error = result.error.clone();
    attempt.request_headers = result.request_headers.clone();
    attempt.next_attempt_at = done.next_attempt_ms.and_then(endpoint_store::ms_rfc3339);
    delivery_store::put_attempt(state, project, &d.id, &attempt).await?;
    // A short wait goes by queue delay: keep the sweeper off it until well after it is due.
    if let Some(at) = done.next_attempt_ms {
        if queue::delay_for(at, ms(after)).is_some() {
            done.sweep_at_ms = Some(at + delivery_store::SWEEP_GRACE_MS);
        }
    }
    if !delivery_store::replace_if(state, &claimed, &done).await? {
        tracing::warn!(delivery_id = %d.id, "delivery changed during the attempt; result kept in the attempt log only");
    }
    tracing::info!(delivery_id = %d.id, endpoint_id = %endpoint.id, attempt = attempt.number, status = ?result.status_code, error_class = ?result.error_class, "webhook attempt");
    if let Some(at) = done.next_attempt_ms {
        if let Some(delay) = queue::delay_for(at, ms(after)) {
            queue::enqueue(state, &[(d.project_id, d.id, delay)]).await;
        }
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
    endpoint_store::record_health(state, project, &endpoint.id, outcome.is_success(), now_ms)
        .await?;
    let reason = if outcome.disables_endpoint() {
        Some("gone")
    } else if !outcome.is_success()
        && endpoint
            .failing_since_ms
            .is_some_and(|since| now_ms - since >= DISABLE_AFTER_MS)
    {
        Some("failing")
    } else {
        None
    };
    let Some(reason) = reason else { return Ok(()) };
    let stamp = endpoint_store::ms_rfc3339(now_ms).unwrap_or_default();
    if !endpoint_store::disable(state, project, &endpoint.id, reason, &stamp).await? {
        return Ok(());
    }
    tracing::warn!(project_id = %project, endpoint_id = %endpoint.id, reason, "webhook endpoint disabled");
    let Some(p) = crate::tenancy::project::get(state, project).await? else {
        return Ok(());
    };
    let data = serde_json::json!({
        "endpoint_id": endpoint.id,
        "reason": reason,
        "disabled_at": stamp,
        "failing_since": endpoint.failing_since_ms.and_then(endpoint_store::ms_rfc3339),
    });
    let key = format!("endpoint.disabled:{}:{now_ms}", endpoint.id);
    // The disable above happens once (conditional), so a retry of this message will not come
    // back here: the e-mail goes out even when the event could not be stored.
    let emitted = super::emit(state, &p, "endpoint.disabled", data, Some(&key)).await;
    super::alert::endpoint_disabled(state, &p, endpoint, reason).await;
    emitted?;
    Ok(())
}
