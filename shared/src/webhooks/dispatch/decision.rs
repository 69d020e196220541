//! What the dispatcher does with a delivery, as pure functions: whether it is due, paused,
//! failed or claimed; what one attempt's result makes of it (status, next attempt, attempt log
//! entry, queue delay or sweep time); what the result means for the endpoint's health.
//! Unit-tested in `tests.rs` with plain values (no DynamoDB, SQS or sockets); the conditional
//! writes that carry each decision out, the send and the enqueue are the black-box suite's.

use super::{DISABLE_AFTER_MS, LEASE_MS, PAUSE_MS};
use crate::events::store::Event;
use crate::webhooks::delivery_store::{
    Attempt, Delivery, FAILED, PENDING, SUCCEEDED, SWEEP_GRACE_MS,
};
use crate::webhooks::endpoint_store::{ms_rfc3339, Endpoint};
use crate::webhooks::queue;
use crate::webhooks::schedule::{self, Outcome};
use crate::webhooks::send::SendResult;
use rand::Rng;
use time::OffsetDateTime;

/// Milliseconds since the epoch (0 for a time that does not fit).
pub(super) fn ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// What a received message finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum When {
    /// Not pending (succeeded or failed): nothing to do.
    Finished,
    /// Not due yet (SQS delays are capped, clocks move): never sent early. Re-enqueued with
    /// `delay_s`, or left to the sweeper when `None` (beyond SQS's 15-minute cap).
    Wait { at_ms: i64, delay_s: Option<i32> },
    /// Due now (a pending delivery without a next attempt is due at once).
    Due,
}

pub(super) fn when(d: &Delivery, now_ms: i64) -> When {
    if d.status != PENDING {
        return When::Finished;
    }
    let at_ms = d.next_attempt_ms.unwrap_or(now_ms);
    if at_ms > now_ms {
        When::Wait {
            at_ms,
            delay_s: queue::delay_for(at_ms, now_ms),
        }
    } else {
        When::Due
    }
}

/// What a due delivery becomes before any request is made; each delivery is written only if
/// the stored one still equals the one read (`delivery_store::replace_if`, or the claim's
/// transaction).
#[derive(Debug, Clone)]
pub(super) enum Before {
    /// The project is inactive: still pending, looked at again [`PAUSE_MS`] later, no attempt
    /// made or counted, `last_error_class` `project_inactive`.
    Pause(Delivery),
    /// Nothing to send to: `failed` with class `endpoint_deleted`, `event_expired` or
    /// `endpoint_disabled`.
    Fail(Delivery),
    /// Make the attempt: the claimed delivery, its `in_flight` attempt item, and what to send.
    Claim(Box<Claim>),
}

#[derive(Debug, Clone)]
pub(super) struct Claim {
    /// Attempt count and round + 1, the next attempt a [`LEASE_MS`] lease ahead (the `due`
    /// index brings it back if the dispatcher dies), no sweep time.
    pub claimed: Delivery,
    pub attempt: Attempt,
    pub endpoint: Endpoint,
    pub event: Event,
}

/// The step before an attempt. `endpoint` and `event` are only looked at for an active
/// project (the dispatcher does not read them for an inactive one).
pub(super) fn before_attempt(
    d: &Delivery,
    project_active: bool,
    endpoint: Option<Endpoint>,
    event: Option<Event>,
    now: OffsetDateTime,
) -> Before {
    let stamp = crate::clock::rfc3339(now);
    let now_ms = ms(now);
    if !project_active {
        let mut paused = d.clone();
        paused.next_attempt_ms = Some(now_ms + PAUSE_MS);
        paused.sweep_at_ms = None;
        paused.last_error_class = Some("project_inactive".into());
        paused.updated_at = stamp;
        return Before::Pause(paused);
    }
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
            return Before::Fail(done);
        }
    };
    let mut claimed = d.clone();
    claimed.attempts += 1;
    claimed.round += 1;
    claimed.next_attempt_ms = Some(now_ms + LEASE_MS);
    claimed.sweep_at_ms = None;
    claimed.updated_at = stamp.clone();
    let attempt = Attempt {
        number: claimed.attempts,
        trigger: d.trigger.clone(),
        started_at: stamp,
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
    Before::Claim(Box::new(Claim {
        claimed,
        attempt,
        endpoint,
        event,
    }))
}

/// What one attempt's result comes to.
#[derive(Debug, Clone)]
pub(super) struct After {
    /// The delivery to write over the claimed one: `succeeded`, `pending` with its next
    /// attempt, or `failed` when the schedule is over (or the endpoint is gone).
    pub done: Delivery,
    /// The finished attempt item (replaces the `in_flight` one).
    pub attempt: Attempt,
    /// Re-enqueue with this delay (s); `None` leaves the next attempt, if any, to the sweeper.
    pub delay_s: Option<i32>,
}

/// The delivery and attempt after `result`, the attempt ending at `after`. The next attempt is
/// [`schedule::next_attempt_with`] for the round's attempt number (so `Retry-After` and the
/// throttle floor apply), jitter drawn from `rng`.
pub(super) fn after_attempt<R: Rng + ?Sized>(
    claimed: &Delivery,
    attempt: &Attempt,
    result: &SendResult,
    after: OffsetDateTime,
    rng: &mut R,
) -> After {
    let success = result.outcome.is_success();
    let next = schedule::next_attempt_with(claimed.round, result.outcome, after, rng);
    let after_ms = ms(after);
    let mut done = claimed.clone();
    done.trigger = "scheduled".into();
    done.last_status_code = result.status_code;
    done.last_error_class = result.error_class.map(str::to_owned);
    done.last_attempt_at = Some(attempt.started_at.clone());
    done.updated_at = crate::clock::rfc3339(after);
    done.status = match (success, next) {
        (true, _) => SUCCEEDED.into(),
        (false, Some(_)) => PENDING.into(),
        (false, None) => FAILED.into(),
    };
    done.next_attempt_ms = if done.status == PENDING {
        next.map(ms)
    } else {
        None
    };
    let mut finished = attempt.clone();
    finished.state = if success { "succeeded" } else { "failed" }.into();
    finished.status_code = result.status_code;
    finished.duration_ms = Some(result.duration_ms);
    finished.response_body = result.response_body.clone();
    finished.error_class = result.error_class.map(str::to_owned);
    finished.error = result.error.clone();
    finished.request_headers = result.request_headers.clone();
    finished.next_attempt_at = done.next_attempt_ms.and_then(ms_rfc3339);
    let delay_s = done
        .next_attempt_ms
        .and_then(|at| queue::delay_for(at, after_ms));
    // A short wait goes by queue delay: keep the sweeper off it until well after it is due.
    if let (Some(at), Some(_)) = (done.next_attempt_ms, delay_s) {
        done.sweep_at_ms = Some(at + SWEEP_GRACE_MS);
    }
    After {
        done,
        attempt: finished,
        delay_s,
    }
}

/// What an attempt means for its endpoint. The health write happens after every attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Health {
    /// A success: clear the failure clock (`failing_since`).
    Healthy,
    /// A failure: start the failure clock unless it runs already.
    Failing,
    /// A failure that disables the endpoint (after the failure is recorded): `gone` (410) or
    /// `failing` (no success for [`DISABLE_AFTER_MS`]).
    Disable(&'static str),
}

/// `failing_since_ms` is the endpoint's failure clock as read before the attempt.
pub(super) fn health(failing_since_ms: Option<i64>, outcome: Outcome, now_ms: i64) -> Health {
    if outcome.is_success() {
        Health::Healthy
    } else if outcome.disables_endpoint() {
        Health::Disable("gone")
    } else if failing_since_ms.is_some_and(|since| now_ms - since >= DISABLE_AFTER_MS) {
        Health::Disable("failing")
    } else {
        Health::Failing
    }
}

/// The `endpoint.disabled` event for an endpoint disabled at `now_ms` (`stamp` is that time
/// in RFC 3339): its data, and its dedupe key (one event per disable).
pub(super) fn disabled_event(
    endpoint: &Endpoint,
    reason: &str,
    stamp: &str,
    now_ms: i64,
) -> (serde_json::Value, String) {
    let data = serde_json::json!({
        "endpoint_id": endpoint.id,
        "reason": reason,
        "disabled_at": stamp,
        "failing_since": endpoint.failing_since_ms.and_then(ms_rfc3339),
    });
    (data, format!("endpoint.disabled:{}:{now_ms}", endpoint.id))
}
