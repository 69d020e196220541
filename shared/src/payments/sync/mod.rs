//! Payment sync (the `payment-sync` SQS consumer): re-fetch from the provider with the
//! project's token (the only proof), apply through the monotonic state machine, record the
//! history, then announce (`payment.updated`, and `order.paid` once per order).
//!
//! Announcing happens after the commit and is idempotent (dedupe keys derived from the stored
//! state, the order-paid marker's `emitted` flag), so a crash between commit and emit is
//! repaired by the message's redelivery, without duplicates.
//!
//! Every decision (whose payment, how it moves, what is announced, what is retried) is a pure
//! function in [`decision`], unit-tested against the in-memory provider (`tests.rs`); this
//! module reads, writes and emits what they decide.

pub mod decision;
#[cfg(test)]
mod tests;

use self::decision::{OnProviderError, Step};
use crate::db::StorageError;
use crate::error::ApiError;
use crate::ids::PaymentId;
use crate::payments::creds;
use crate::payments::model::Payment;
use crate::payments::provider::{PaymentProvider, ProviderError, ProviderPayment};
use crate::payments::queue::{Job, Message};
use crate::payments::refund_store;
use crate::payments::store;
use crate::sqs::MessageError;
use crate::tenancy::{project, Project};
use crate::AppState;
use aws_lambda_events::event::sqs::SqsMessage;
use futures::future::BoxFuture;
use futures::FutureExt;

/// Reconciliation stops watching a payment after this long (checkout links go stale).
pub const GIVE_UP: time::Duration = time::Duration::days(3);

pub fn handler(
    state: &'static AppState,
    message: SqsMessage,
) -> BoxFuture<'static, Result<(), MessageError>> {
    async move {
        let receives: u32 = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let outcome = handle(state, &message, receives).await;
        if outcome.as_ref().is_err_and(MessageError::is_retry) {
            backoff(state, &message, receives).await;
        }
        outcome
    }
    .boxed()
}

/// Transient failures come back after 5 s, 10 s, 20 s… rather than the queue's full 180 s.
async fn backoff(state: &AppState, message: &SqsMessage, receives: u32) {
    let seconds = (5i32 << receives.saturating_sub(1).min(5)).min(180);
    crate::sqs::retry_in(state, &state.config.payments_queue_url, message, seconds).await;
}

async fn handle(state: &AppState, message: &SqsMessage, receives: u32) -> Result<(), MessageError> {
    let body = message.body.as_deref().unwrap_or_default();
    let msg: Message = serde_json::from_str(body)
        .map_err(|e| MessageError::dead_letter(format!("malformed message: {e}")))?;
    if msg.v != 1 {
        return Err(MessageError::dead_letter(format!(
            "unknown message version {}",
            msg.v
        )));
    }
    let Some(project) = project::get(state, &msg.project_id).await? else {
        tracing::warn!(project_id = %msg.project_id, "payment sync for an unknown project: dropped");
        return Ok(());
    };
    let Some(creds) = creds::get(state, &project.id).await? else {
        tracing::warn!(project_id = %project.id, "payment sync without payment provider credentials: dropped");
        return Ok(());
    };
    let provider = creds::provider(state, &creds);
    let result = match &msg.job {
        Job::ProviderPayment {
            provider_payment_id,
        } => sync_provider_payment(state, &project, provider.as_ref(), provider_payment_id)
            .await
            .map(|_| ()),
        Job::ProviderNotice { reference } => match provider.notice_payments(reference).await {
            Ok(ids) => {
                let mut out = Ok(());
                for id in ids {
                    if let Err(e) =
                        sync_provider_payment(state, &project, provider.as_ref(), &id).await
                    {
                        out = Err(e);
                    }
                }
                out
            }
            Err(e) => Err(SyncError::Provider(e)),
        },
        Job::Reconcile { payment_id } => {
            reconcile(state, &project, provider.as_ref(), payment_id).await
        }
        Job::Announce { order_id } => announce_order(state, &project, order_id)
            .await
            .map_err(SyncError::Storage),
    };
    match result {
        Ok(()) => Ok(()),
        Err(SyncError::Storage(e)) => Err(e.into()),
        Err(SyncError::Provider(e)) => match decision::on_provider_error(&e, receives) {
            OnProviderError::Retry => Err(MessageError::retry(e)),
            OnProviderError::Drop => {
                tracing::info!(project_id = %project.id, "provider resource not found for this project: dropped");
                Ok(())
            }
            OnProviderError::Refuse => Err(MessageError::dead_letter(e)),
        },
    }
}

#[derive(Debug)]
pub enum SyncError {
    /// Storing what was learnt failed ([`ApplyError`]).
    Storage(ApplyError),
    Provider(ProviderError),
}

impl<E: Into<ApplyError>> From<E> for SyncError {
    fn from(e: E) -> Self {
        Self::Storage(e.into())
    }
}

/// Why a provider payment was not applied (or announced): no HTTP type, as the sync consumer
/// and the HTTP routes both apply. Mapped once to `ApiError` and once to `MessageError`, below.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The payment or one of its refunds kept changing under us (lost races): 503
    /// `payment_busy`.
    #[error("the {0} kept changing")]
    Busy(&'static str),
    /// `payment.updated` / `order.paid` could not be stored.
    #[error(transparent)]
    Emit(#[from] crate::webhooks::EmitError),
}

impl From<refund_store::RecordError> for ApplyError {
    fn from(err: refund_store::RecordError) -> Self {
        match err {
            refund_store::RecordError::Busy => Self::Busy("refund"),
            refund_store::RecordError::Storage(e) => Self::Storage(e),
        }
    }
}

/// The HTTP edge for applying.
impl From<ApplyError> for ApiError {
    fn from(err: ApplyError) -> Self {
        match err {
            ApplyError::Storage(e) => e.into(),
            ApplyError::Busy(what) => {
                ApiError::unavailable("payment_busy", format!("the {what} kept changing; retry"))
            }
            ApplyError::Emit(e) => e.into(),
        }
    }
}

/// The SQS edge for applying: every kind is worth another receive (and the backoff).
impl From<ApplyError> for MessageError {
    fn from(err: ApplyError) -> Self {
        Self::retry(err)
    }
}

pub async fn sync_provider_payment(
    state: &AppState,
    project: &Project,
    provider: &dyn PaymentProvider,
    id: &str,
) -> Result<Option<Payment>, SyncError> {
    let pp = provider
        .fetch_payment(id)
        .await
        .map_err(SyncError::Provider)?;
    Ok(apply(state, project, provider, &pp).await?)
}

/// Applies one provider payment (as just fetched) to the Mostrador payment it belongs to.
/// `None` when it belongs to no payment of this project.
pub async fn apply(
    state: &AppState,
    project: &Project,
    provider: &dyn PaymentProvider,
    pp: &ProviderPayment,
) -> Result<Option<Payment>, ApplyError> {
    let (id, status) = match decision::owner(provider.account_id().as_deref(), pp) {
        Ok(found) => found,
        Err(why) => {
            why.log(&project.id, pp);
            return Ok(None);
        }
    };
    let mut result = None;
    for _ in 0..5 {
        let Some(current) = store::get(state, &project.id, &id).await? else {
            return Ok(None);
        };
        match decision::step(&current, pp, status, state.clock.now()) {
            Step::Ignore(why) => {
                why.log(&project.id, pp);
                return Ok(None);
            }
            Step::Unchanged => {
                result = Some(current);
                break;
            }
            Step::Change {
                next,
                visible,
                newly_paid,
            } => {
                let committed = if visible {
                    let marker = newly_paid
                        && store::marker(state, &project.id, &next.order_id)
                            .await?
                            .is_none();
                    store::commit_change(state, &next, current.version, marker).await?
                } else {
                    store::replace(state, &next, current.version).await?
                };
                if committed {
                    result = Some(*next);
                    break;
                }
            }
        }
    }
    let Some(payment) = result else {
        return Err(ApplyError::Busy("payment"));
    };
    // Before announcing, so a shop told about a refund can already list it.
    refund_store::observe(state, &payment, &pp.refunds).await?;
    announce(state, project, &payment).await?;
    Ok(Some(payment))
}

/// Emits what the stored state implies; safe to repeat.
pub async fn announce(state: &AppState, project: &Project, p: &Payment) -> Result<(), ApplyError> {
    let dedupe = decision::updated_dedupe(p);
    let view = serde_json::to_value(p.view()).map_err(StorageError::other)?;
    crate::webhooks::emit(state, project, "payment.updated", view, Some(&dedupe)).await?;
    if p.status.is_paid() {
        let marker = store::marker(state, &project.id, &p.order_id).await?;
        if decision::owes_order_paid(p, marker.as_ref()) {
            let data = serde_json::json!({"order_id": p.order_id, "payment": p.view()});
            crate::webhooks::emit(
                state,
                project,
                "order.paid",
                data,
                Some(&format!("order.paid:{}", p.order_id)),
            )
            .await?;
            store::marker_emitted(state, &project.id, &p.order_id).await?;
        }
    }
    Ok(())
}

/// Re-announces an order whose marker was committed but whose `order.paid` never went out.
async fn announce_order(
    state: &AppState,
    project: &Project,
    order_id: &str,
) -> Result<(), ApplyError> {
    let Some(m) = store::marker(state, &project.id, order_id).await? else {
        return Ok(());
    };
    if m.emitted {
        return Ok(());
    }
    let Some(payment) = m.payment_id.parse::<PaymentId>().ok() else {
        return Ok(());
    };
    match store::get(state, &project.id, &payment).await? {
        Some(p) => announce(state, project, &p).await,
        // Nothing left to announce: take the marker out of the sweep.
        None => Ok(store::marker_emitted(state, &project.id, order_id).await?),
    }
}

/// Re-checks one payment: every provider payment already known plus any the provider lists
/// under our reference (a lost notification of a new attempt). Stops watching after [`GIVE_UP`].
async fn reconcile(
    state: &AppState,
    project: &Project,
    provider: &dyn PaymentProvider,
    id: &PaymentId,
) -> Result<(), SyncError> {
    let Some(p) = store::get(state, &project.id, id).await? else {
        return Ok(());
    };
    if !store::watched(p.status) || p.closed {
        return Ok(());
    }
    let mut ids = provider
        .find_payments(&p.id.to_string())
        .await
        .map_err(SyncError::Provider)?;
    ids.extend(p.attempts.keys().cloned());
    ids.sort();
    ids.dedup();
    for pid in &ids {
        match sync_provider_payment(state, project, provider, pid).await {
            Ok(_) | Err(SyncError::Provider(ProviderError::NotFound)) => {}
            Err(e) => return Err(e),
        }
    }
    if decision::past_give_up(id, state.clock.now()) {
        if let Some(latest) = store::get(state, &project.id, id).await? {
            match decision::give_up(&latest, state.clock.now()) {
                decision::GiveUp::Closed => {}
                decision::GiveUp::Close(closed) => {
                    store::replace(state, &closed, latest.version).await?;
                }
                decision::GiveUp::Expire(expired) => {
                    store::commit_change(state, &expired, latest.version, false).await?;
                    announce(state, project, &expired).await?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[test]
    fn lost_races_are_payment_busy_over_http_and_retried_from_the_queue() {
        for (err, detail) in [
            (
                ApplyError::Busy("payment"),
                "the payment kept changing; retry",
            ),
            (
                ApplyError::from(refund_store::RecordError::Busy),
                "the refund kept changing; retry",
            ),
        ] {
            let message = MessageError::from(ApplyError::Busy("payment"));
            assert!(message.is_retry());
            let api = ApiError::from(err);
            assert_eq!(api.status(), http::StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!((api.code(), api.detail()), ("payment_busy", detail));
        }
    }

    #[test]
    fn storage_keeps_its_mapping_through_the_sync() {
        let sync = SyncError::from(StorageError::other("boom"));
        let SyncError::Storage(apply) = sync else {
            panic!("storage")
        };
        let message = MessageError::from(apply);
        let cause = std::error::Error::source(&message).expect("a cause");
        assert!(cause.is::<ApplyError>(), "{cause:?}");
        let api = ApiError::from(ApplyError::from(StorageError::other("boom")));
        assert_eq!(api.code(), "internal_error");
    }
}
