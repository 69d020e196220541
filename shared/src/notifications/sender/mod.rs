//! The `sender` function: one NotificationsQueue message = one notification to send.
//!
//! # Never twice
//! SES has no idempotency token and the Cloud API none we can rely on, so the guarantee is
//! built here, and it is **at most once**:
//! 1. the sender *claims* the notification (`pending → sending`, conditional, with a fresh
//!    attempt token) before calling the provider; a message whose notification is not
//!    `pending` never reaches a provider;
//! 2. only a provider answer that proves nothing was accepted releases the claim
//!    (`sending → pending`) for a retry: a connect-phase failure (the request was never
//!    written) or a throttling answer (see `transport::Outcome` for the rule). Anything after
//!    the request was written (read timeout, reset, 5xx) ends `failed` with reason
//!    `outcome_unknown`; the SES client makes one attempt per call (no SDK retries);
//! 3. a redelivered message that finds `sending` either waits (claim younger than
//!    [`CLAIM_LEASE_SECONDS`]: another copy is still working) or, after a crash between the
//!    provider call and the record, marks it `failed` with reason `outcome_unknown`: the
//!    message may or may not have gone out, and we never resend blindly.
//!
//! # Deactivated projects
//! A queued notification of a project that is no longer `active` is not sent: it ends `failed`
//! with reason `project_inactive`, without any provider call.
//!
//! # Throttling
//! E-mails respect the SES account's send rate (`send_rate`, exact across invocations). When
//! that rate is used up, or a provider answers "too many requests", the notification is put
//! back: a fresh copy of the message is sent with a short random delay and a throttle count,
//! and the received one is acknowledged. So a burst waits its turn instead of spending the
//! queue's receives (only real failures do); after [`MAX_THROTTLES`] put-backs it fails with
//! reason `throttled`. The claim logic is untouched: a put-back happens before the claim or
//! after releasing it, and a duplicate copy finds the notification claimed or done.
//!
//! # Retries
//! Transient errors return the message to the queue with an exponential visibility backoff
//! (2 s, 4 s, 8 s …, capped at 5 min); on the last receive before the DLQ the notification is
//! marked `failed` (`retries_exhausted`), so nothing stays `pending` in limbo. Malformed
//! messages are reported as failures until SQS moves them to the DLQ.

use aws_lambda_events::event::sqs::SqsMessage;
use futures::future::BoxFuture;
use futures::FutureExt;

use super::model::{Channel, Notification, QueueMessage};
use super::transport::{self, Outcome, Outgoing};
use super::{store, template_store};
use crate::sqs::MessageError;
use crate::templates::{self, Rendered};
use crate::tenancy::Project;
use crate::AppState;
use decision::{After, OnError, PutBack};

mod decision;

/// Longer than the function's timeout (30 s): a claim this old belongs to a dead invocation.
pub const CLAIM_LEASE_SECONDS: i64 = 60;
/// The queue's `maxReceiveCount`: the last receive marks the notification failed.
pub const MAX_RECEIVES: u32 = 4;
/// Put-backs for throttling before giving up (hours of sustained throttling).
pub const MAX_THROTTLES: u32 = 1000;
/// The longest put-back delay, in seconds.
const MAX_THROTTLE_DELAY_S: u32 = 20;
/// The longest retry backoff, in seconds.
const MAX_RETRY_DELAY_S: i32 = 300;

/// A step whose result was not recorded, with what failed: the message comes back.
#[derive(Debug, thiserror::Error)]
enum Unrecorded {
    #[error("record after send")]
    Sent(#[source] crate::sqs::Cause),
    #[error("{0}; put-back not queued")]
    PutBack(String, #[source] crate::sqs::Cause),
}

/// How a message was handled, when not with an error.
enum Step {
    Done,
    /// Not sent because of a rate limit: put the notification back for later.
    Throttled(String),
}

/// The SQS handler registered for the `sender` binary.
pub fn handler(
    state: &'static AppState,
    message: SqsMessage,
) -> BoxFuture<'static, Result<(), MessageError>> {
    handle(state, message).boxed()
}

async fn handle(state: &'static AppState, message: SqsMessage) -> Result<(), MessageError> {
    let receives: u32 = message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let body = message.body.as_deref().unwrap_or("");
    let parsed: QueueMessage = serde_json::from_str(body)
        .map_err(|_| MessageError::dead_letter("malformed queue message"))?;
    if parsed.v != 1 {
        return Err(MessageError::dead_letter("unknown message version"));
    }
    let result = match process(state, &parsed).await {
        Ok(Step::Done) => return Ok(()),
        Ok(Step::Throttled(reason)) => put_back(state, &parsed, &reason).await,
        Err(err) => Err(err),
    };
    let Err(err) = result else { return Ok(()) };
    let OnError::Backoff(delay) = decision::on_error(receives) else {
        // Last chance before the DLQ: leave a terminal, visible state behind.
        let current = store::get(state, &parsed.project_id, &parsed.notification_id).await;
        let reason = decision::last_receive_reason(current.ok().flatten().map(|n| n.status));
        let failed = store::mark_failed(
            state,
            &parsed.project_id,
            &parsed.notification_id,
            None,
            reason,
        )
        .await;
        if let Ok(Some(n)) = failed {
            super::emit_failed(state, &n).await;
        }
        return Err(err);
    };
    crate::sqs::retry_in(
        state,
        &state.config.notifications_queue_url,
        &message,
        delay,
    )
    .await;
    Err(err)
}

/// Puts a throttled notification back: a fresh copy of its message, delayed a random 1 s to
/// `1 + throttles` s (at most [`MAX_THROTTLE_DELAY_S`]) so a burst spreads out. The received
/// copy is then acknowledged; if the copy cannot be sent, the received one stays and is
/// retried like any transient failure.
async fn put_back(
    state: &AppState,
    message: &QueueMessage,
    reason: &str,
) -> Result<(), MessageError> {
    let (project_id, id) = (&message.project_id, &message.notification_id);
    let PutBack::Requeue {
        throttles,
        max_delay_s: top,
    } = decision::put_back(message.throttles)
    else {
        let failed = store::mark_failed(state, project_id, id, None, "throttled").await;
        if let Ok(Some(n)) = failed {
            super::emit_failed(state, &n).await;
        }
        return Ok(());
    };
    let next = QueueMessage {
        throttles,
        ..message.clone()
    };
    let body = serde_json::to_string(&next).map_err(MessageError::retry)?;
    let delay = rand::Rng::gen_range(&mut rand::thread_rng(), 1..=top);
    state
        .sqs
        .send_message()
        .queue_url(&state.config.notifications_queue_url)
        .message_body(body)
        .delay_seconds(i32::try_from(delay).unwrap_or(1))
        .send()
        .await
        .map_err(|e| MessageError::retry(Unrecorded::PutBack(reason.to_owned(), e.into())))?;
    tracing::info!(notification_id = %id, throttles = next.throttles, delay, reason, "throttled; put back");
    Ok(())
}

async fn process(state: &AppState, message: &QueueMessage) -> Result<Step, MessageError> {
    let project_id = &message.project_id;
    let id = &message.notification_id;
    let Some(current) = store::get(state, project_id, id).await? else {
        tracing::warn!(notification_id = %id, "queued notification does not exist; dropped");
        return Ok(Step::Done);
    };
    let project = crate::tenancy::project::get(state, project_id).await?;
    let active = project.as_ref().is_some_and(|p| p.active);
    // The account's e-mail rate is taken before the claim, so a refusal changes nothing.
    if active
        && current.status == super::model::Status::Pending
        && current.channel == Channel::Email
        && !super::send_rate::admit(state).await?
    {
        return Ok(Step::Throttled("ses_send_rate".into()));
    }
    let token = ulid::Ulid::new().to_string();
    let Some(notification) = store::claim(state, project_id, id, &token).await? else {
        return not_claimed(state, message).await.map(|()| Step::Done);
    };
    let outcome = match project {
        Some(p) if p.active => {
            tracing::info!(notification_id = %id, channel = notification.channel.name(), "sending");
            send(state, &p, &notification).await
        }
        // Deactivated after the notification was accepted: stop here, no provider call.
        Some(_) => Outcome::Permanent("project_inactive".into()),
        None => Outcome::Permanent("project_not_found".into()),
    };
    match decision::after_send(outcome) {
        After::Sent(message_id) => {
            let provider = notification.channel.name();
            store::mark_sent(state, &notification, &token, provider, &message_id)
                .await
                .map_err(|e| {
                    // The claim stays `sending`: a redelivery will call it outcome_unknown
                    // rather than send again.
                    MessageError::retry(Unrecorded::Sent(e.into()))
                })?;
            tracing::info!(notification_id = %id, "sent");
            Ok(Step::Done)
        }
        After::PutBack(reason) => {
            store::release(state, project_id, id, &token, &reason, false).await?;
            Ok(Step::Throttled(reason))
        }
        After::Retry(reason) => {
            tracing::warn!(notification_id = %id, reason = %reason, "transient provider error");
            store::release(state, project_id, id, &token, &reason, true).await?;
            Err(MessageError::retry(reason))
        }
        After::Fail { reason, unknown } => {
            if let Some(detail) = unknown {
                tracing::warn!(notification_id = %id, detail = %detail, "provider outcome unknown; not resent");
            }
            fail(state, &notification, &token, &reason).await
        }
    }
}

/// Ends a claimed notification `failed` and emits `notification.failed`.
async fn fail(
    state: &AppState,
    n: &Notification,
    token: &str,
    reason: &str,
) -> Result<Step, MessageError> {
    tracing::warn!(notification_id = %n.id, reason = %reason, "notification failed");
    let failed = store::mark_failed(state, &n.project_id, &n.id, Some(token), reason).await?;
    if let Some(n) = failed {
        super::emit_failed(state, &n).await;
    }
    Ok(Step::Done)
}

/// The notification was not `pending`: already done, another copy is working, or a crash
/// left it `sending`.
async fn not_claimed(state: &AppState, message: &QueueMessage) -> Result<(), MessageError> {
    let project_id = &message.project_id;
    let id = &message.notification_id;
    let Some(current) = store::get(state, project_id, id).await? else {
        tracing::warn!(notification_id = %id, "queued notification does not exist; dropped");
        return Ok(());
    };
    if current.status != super::model::Status::Sending {
        return Ok(()); // Already sent, failed or beyond: a duplicate delivery.
    }
    let claimed = store::claimed_at(state, project_id, id).await?.unwrap_or(0);
    if decision::claim_is_live(claimed, state.clock.now().unix_timestamp()) {
        return Err(MessageError::retry("another attempt is in progress"));
    }
    let failed = store::mark_failed(state, project_id, id, None, "outcome_unknown").await?;
    if let Some(n) = failed {
        super::emit_failed(state, &n).await;
    }
    Ok(())
}

/// Renders the pinned version and hands it to the channel's transport.
async fn send(state: &AppState, project: &Project, n: &Notification) -> Outcome {
    let rendered = match render(state, project, n).await {
        Ok(r) => r,
        Err(outcome) => return outcome,
    };
    let id = n.id.to_string();
    let message = Outgoing {
        project,
        notification_id: &id,
        recipient: &n.recipient,
        rendered: &rendered,
    };
    transport::for_channel(state, n.channel)
        .send(&message)
        .await
}

/// The notification's pinned template version rendered with its variables, or the outcome
/// that ends the attempt without a provider call.
async fn render(
    state: &AppState,
    project: &Project,
    n: &Notification,
) -> Result<Rendered, Outcome> {
    let version = template_store::get_version(
        state,
        &project.id,
        &n.template.name,
        Some(n.template.version),
    )
    .await;
    let version = match version {
        Ok(Some(v)) => v,
        Ok(None) => return Err(Outcome::Permanent("template_not_found".into())),
        Err(e) => {
            // The reason is stored on the notification (public), so it names only the code the
            // API gives for the same failure.
            tracing::warn!(error = %e, "template version not read");
            let code = if e.is_retryable() {
                "storage_unavailable"
            } else {
                "internal_error"
            };
            return Err(Outcome::Transient(format!("storage: {code}")));
        }
    };
    let Ok(content) = version.content() else {
        return Err(Outcome::Permanent("template_unreadable".into()));
    };
    let variables: serde_json::Value = serde_json::from_str(&n.variables_json).unwrap_or_default();
    templates::render(&content, &variables)
        .map_err(|e| Outcome::Permanent(format!("{}: {e}", e.code())))
}

#[cfg(test)]
mod tests;
