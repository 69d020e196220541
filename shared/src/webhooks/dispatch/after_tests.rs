//! What one attempt's result makes of a claimed delivery and its attempt log entry
//! (`decision::after_attempt`), with the fixtures of `tests.rs`.

use super::decision::{self, After, Before, When};
use super::tests::{answered, at, attempt, delivery, endpoint, event, rng, timed_out, NOW_MS};
use super::LEASE_MS;
use crate::webhooks::delivery_store::{
    Attempt, Delivery, FAILED, PENDING, SUCCEEDED, SWEEP_GRACE_MS,
};
use crate::webhooks::schedule::{self, Outcome, MAX_ATTEMPTS, RETRY_AFTER_CAP};
use time::Duration;

#[test]
fn a_success_succeeds() {
    let d = Delivery {
        trigger: "manual".into(),
        ..delivery()
    };
    let After {
        done,
        attempt,
        delay_s,
    } = attempt(&d, &answered(204, Outcome::Success));
    assert_eq!(done.status, SUCCEEDED);
    assert_eq!(done.next_attempt_ms, None);
    assert_eq!(done.sweep_at_ms, None);
    assert_eq!(delay_s, None);
    assert_eq!(done.trigger, "scheduled");
    assert_eq!(done.last_status_code, Some(204));
    assert_eq!(done.last_error_class, None);
    assert_eq!(
        done.last_attempt_at.as_deref(),
        Some("2026-12-07T20:00:00.000Z")
    );
    assert_eq!(done.updated_at, "2026-12-07T20:00:01.000Z");
    assert_eq!(attempt.state, "succeeded");
    assert_eq!(attempt.trigger, "manual");
    assert_eq!(attempt.next_attempt_at, None);
}

#[test]
fn the_attempt_log_entry_records_the_result() {
    let d = delivery();
    let result = answered(500, Outcome::Failed(500));
    let After { done, attempt, .. } = attempt(&d, &result);
    assert_eq!(attempt.number, 1);
    assert_eq!(attempt.state, "failed");
    assert_eq!(attempt.started_at, "2026-12-07T20:00:00.000Z");
    assert_eq!(attempt.status_code, Some(500));
    assert_eq!(attempt.duration_ms, Some(42));
    assert_eq!(attempt.response_body.as_deref(), Some("answer 500"));
    assert_eq!(attempt.error_class.as_deref(), Some("http_status"));
    assert_eq!(attempt.error, None);
    assert_eq!(attempt.request_headers, result.request_headers);
    assert_eq!(attempt.expires_at, d.expires_at);
    let next = done
        .next_attempt_ms
        .and_then(crate::webhooks::endpoint_store::ms_rfc3339);
    assert!(next.is_some());
    assert_eq!(attempt.next_attempt_at, next);

    let After { done, attempt, .. } = attempt_after_timeout(&d);
    assert_eq!(attempt.status_code, None);
    assert_eq!(attempt.duration_ms, Some(15_000));
    assert_eq!(attempt.response_body, None);
    assert_eq!(attempt.error_class.as_deref(), Some("timeout"));
    assert_eq!(attempt.error.as_deref(), Some("operation timed out"));
    assert_eq!(attempt.request_headers, None);
    assert_eq!(done.last_status_code, None);
    assert_eq!(done.last_error_class.as_deref(), Some("timeout"));
}

fn attempt_after_timeout(d: &Delivery) -> After {
    attempt(d, &timed_out())
}

#[test]
fn a_retryable_failure_stays_pending_until_the_next_attempt_of_the_schedule() {
    let d = delivery();
    let result = answered(500, Outcome::Failed(500));
    let After {
        done,
        attempt,
        delay_s,
    } = attempt(&d, &result);
    let after = at(NOW_MS + 1_000);
    // The schedule's answer for the round's first attempt, with the same jitter.
    let expected = schedule::next_attempt_with(1, Outcome::Failed(500), after, &mut rng())
        .map(decision::ms)
        .unwrap();
    assert_eq!(done.status, PENDING);
    assert_eq!(done.next_attempt_ms, Some(expected));
    assert!((4_000..=6_000).contains(&(expected - (NOW_MS + 1_000))));
    // Within SQS's cap: re-enqueued with the delay, the sweeper kept off until well after.
    assert_eq!(
        delay_s,
        crate::webhooks::queue::delay_for(expected, NOW_MS + 1_000)
    );
    assert!(delay_s.is_some());
    assert_eq!(done.sweep_at_ms, Some(expected + SWEEP_GRACE_MS));
    assert_eq!(done.last_error_class.as_deref(), Some("http_status"));
    assert_eq!(attempt.state, "failed");
}

#[test]
fn the_schedule_counts_the_round_not_every_attempt_ever_made() {
    // A recovered delivery: 10 attempts made, a new round started (round 0).
    let d = Delivery {
        attempts: 10,
        round: 0,
        ..delivery()
    };
    let After { done, attempt, .. } = attempt(&d, &answered(500, Outcome::Failed(500)));
    assert_eq!(attempt.number, 11);
    assert_eq!(done.status, PENDING);
    let wait = done.next_attempt_ms.unwrap() - (NOW_MS + 1_000);
    assert!((4_000..=6_000).contains(&wait), "{wait}");
}

#[test]
fn a_long_wait_is_left_to_the_sweeper() {
    // Attempt 3 of the round failed: the next one is ~30 min away, beyond SQS's cap.
    let d = Delivery {
        attempts: 2,
        round: 2,
        ..delivery()
    };
    let After { done, delay_s, .. } = attempt(&d, &answered(500, Outcome::Failed(500)));
    assert_eq!(done.status, PENDING);
    let wait = done.next_attempt_ms.unwrap() - (NOW_MS + 1_000);
    assert!(wait > 15 * 60 * 1000, "{wait}");
    assert_eq!(delay_s, None);
    assert_eq!(done.sweep_at_ms, None, "the due index uses next_attempt_ms");
}

#[test]
fn the_last_attempt_of_the_schedule_fails_the_delivery() {
    let d = Delivery {
        attempts: MAX_ATTEMPTS - 1,
        round: MAX_ATTEMPTS - 1,
        ..delivery()
    };
    let After {
        done,
        attempt,
        delay_s,
    } = attempt(&d, &answered(503, Outcome::Throttled { retry_after: None }));
    assert_eq!(attempt.number, MAX_ATTEMPTS);
    assert_eq!(done.status, FAILED);
    assert_eq!(done.next_attempt_ms, None);
    assert_eq!((done.sweep_at_ms, delay_s), (None, None));
    assert_eq!(done.last_status_code, Some(503));
    assert_eq!(attempt.next_attempt_at, None);
}

#[test]
fn gone_fails_the_delivery_at_once() {
    let After { done, delay_s, .. } = attempt(&delivery(), &answered(410, Outcome::Gone));
    assert_eq!(done.status, FAILED);
    assert_eq!((done.next_attempt_ms, delay_s), (None, None));
    assert_eq!(done.last_status_code, Some(410));
}

#[test]
fn retry_after_is_honoured_and_capped() {
    let throttled = |secs| {
        answered(
            429,
            Outcome::Throttled {
                retry_after: Some(Duration::seconds(secs)),
            },
        )
    };
    let after_ms = NOW_MS + 1_000;
    // Ten minutes asked after the first attempt (schedule: 5 s): ten minutes, by queue delay.
    let After { done, delay_s, .. } = attempt(&delivery(), &throttled(600));
    assert_eq!(done.next_attempt_ms, Some(after_ms + 600_000));
    assert_eq!(delay_s, Some(600));
    // Two hours asked: beyond SQS's cap, so the sweeper's.
    let After { done, delay_s, .. } = attempt(&delivery(), &throttled(7_200));
    assert_eq!(done.next_attempt_ms, Some(after_ms + 7_200_000));
    assert_eq!((delay_s, done.sweep_at_ms), (None, None));
    // Three days asked: capped at a day.
    let After { done, .. } = attempt(&delivery(), &throttled(3 * 86_400));
    let cap = i64::try_from(RETRY_AFTER_CAP.whole_milliseconds()).unwrap();
    assert_eq!(done.next_attempt_ms, Some(after_ms + cap));
    // A timeout waits at least the throttle floor (a minute), not the 5 s of the schedule.
    let After { done, delay_s, .. } = attempt(&delivery(), &timed_out());
    assert_eq!(done.next_attempt_ms, Some(after_ms + 60_000));
    assert_eq!(delay_s, Some(60));
}

#[test]
fn a_delivery_walks_its_whole_schedule_to_failure() {
    // Every attempt fails: claimed, failed, re-scheduled, until the schedule ends.
    let mut d = delivery();
    let mut log: Vec<Attempt> = Vec::new();
    loop {
        assert_eq!(decision::when(&d, d.next_attempt_ms.unwrap()), When::Due);
        let c = match decision::before_attempt(
            &d,
            true,
            Some(endpoint(&d)),
            Some(event(&d)),
            at(d.next_attempt_ms.unwrap()),
        ) {
            Before::Claim(c) => *c,
            other => panic!("{other:?}"),
        };
        let after = at(c.claimed.next_attempt_ms.unwrap() - LEASE_MS + 500);
        let result = answered(500, Outcome::Failed(500));
        let next = decision::after_attempt(&c.claimed, &c.attempt, &result, after, &mut rng());
        log.push(next.attempt);
        d = next.done;
        if d.status != PENDING {
            break;
        }
    }
    assert_eq!(d.status, FAILED);
    assert_eq!(d.attempts, MAX_ATTEMPTS);
    let numbers: Vec<u32> = log.iter().map(|a| a.number).collect();
    assert_eq!(numbers, (1..=MAX_ATTEMPTS).collect::<Vec<_>>());
}
