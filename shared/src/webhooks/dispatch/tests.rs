//! The dispatcher's decisions on plain values: deliveries, endpoints and events built here, send
//! results built directly (no sockets), jitter from a seeded generator. This file: the fixtures,
//! what a message finds before an attempt, endpoint health; `after_tests.rs`: what a result
//! makes of the delivery and its attempt log. The conditional writes, the send and the queue are
//! the black-box suite's (`webhooks_retries`, `webhooks_paused`).

use super::decision::{self, After, Before, Claim, Health, When};
use super::{DISABLE_AFTER_MS, LEASE_MS, PAUSE_MS};
use crate::events::store::Event;
use crate::ids::{DeliveryId, EndpointId, EventId, ProjectId};
use crate::webhooks::delivery_store::{Delivery, FAILED, PENDING, SUCCEEDED, SWEEP_GRACE_MS};
use crate::webhooks::endpoint_store::Endpoint;
use crate::webhooks::schedule::Outcome;
use crate::webhooks::send::SendResult;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// 2026-12-07 20:00:00 UTC.
pub(super) const NOW_MS: i64 = 1_796_673_600_000;

pub(super) fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap()
}

pub(super) fn now() -> OffsetDateTime {
    at(NOW_MS)
}

pub(super) fn rng() -> StdRng {
    StdRng::seed_from_u64(14)
}

pub(super) fn delivery() -> Delivery {
    Delivery {
        project_id: ProjectId::new(),
        id: DeliveryId::new(),
        event_id: EventId::new(),
        endpoint_id: EndpointId::new(),
        event_type: "order.paid".into(),
        status: PENDING.into(),
        attempts: 0,
        round: 0,
        next_attempt_ms: Some(NOW_MS),
        sweep_at_ms: Some(NOW_MS + SWEEP_GRACE_MS),
        trigger: "scheduled".into(),
        last_status_code: None,
        last_error_class: None,
        last_attempt_at: None,
        created_at: "2026-12-07T19:59:59.000Z".into(),
        updated_at: "2026-12-07T19:59:59.000Z".into(),
        expires_at: 1_799_265_600,
    }
}

pub(super) fn endpoint(d: &Delivery) -> Endpoint {
    Endpoint {
        project_id: d.project_id,
        id: d.endpoint_id,
        url: "https://shop.example.com/hooks".into(),
        description: String::new(),
        filter_types: vec![],
        enabled: true,
        disabled_reason: None,
        secrets: vec![],
        failing_since_ms: None,
        secrets_version: 0,
        created_at: String::new(),
        updated_at: String::new(),
    }
}

pub(super) fn event(d: &Delivery) -> Event {
    Event {
        project_id: d.project_id,
        id: d.event_id,
        event_type: d.event_type.clone(),
        timestamp: "2026-12-07T19:59:59.000Z".into(),
        payload: "{}".into(),
        dedupe_key: None,
        delivery_ids: vec![d.id],
        expires_at: d.expires_at,
    }
}

pub(super) fn claim(d: &Delivery) -> Claim {
    match decision::before_attempt(d, true, Some(endpoint(d)), Some(event(d)), now()) {
        Before::Claim(claim) => *claim,
        other => panic!("not claimed: {other:?}"),
    }
}

pub(super) fn answered(status: u16, outcome: Outcome) -> SendResult {
    let headers = BTreeMap::from([("webhook-id".to_owned(), "evt_1".to_owned())]);
    SendResult {
        outcome,
        status_code: Some(status),
        duration_ms: 42,
        response_body: Some(format!("answer {status}")),
        error_class: (!outcome.is_success()).then_some("http_status"),
        error: None,
        request_headers: Some(headers),
    }
}

pub(super) fn timed_out() -> SendResult {
    SendResult {
        outcome: Outcome::Timeout,
        status_code: None,
        duration_ms: 15_000,
        response_body: None,
        error_class: Some("timeout"),
        error: Some("operation timed out".into()),
        request_headers: None,
    }
}

/// The attempt after `d` (claimed now) ends with `result` one second later.
pub(super) fn attempt(d: &Delivery, result: &SendResult) -> After {
    let c = claim(d);
    decision::after_attempt(
        &c.claimed,
        &c.attempt,
        result,
        at(NOW_MS + 1_000),
        &mut rng(),
    )
}

#[test]
fn finished_deliveries_are_left_alone() {
    for status in [SUCCEEDED, FAILED] {
        let d = Delivery {
            status: status.into(),
            next_attempt_ms: None,
            ..delivery()
        };
        assert_eq!(decision::when(&d, NOW_MS), When::Finished, "{status}");
    }
}

#[test]
fn a_due_delivery_or_one_without_a_next_attempt_is_due() {
    assert_eq!(decision::when(&delivery(), NOW_MS), When::Due);
    let overdue = Delivery {
        next_attempt_ms: Some(NOW_MS - 1),
        ..delivery()
    };
    assert_eq!(decision::when(&overdue, NOW_MS), When::Due);
    let unset = Delivery {
        next_attempt_ms: None,
        ..delivery()
    };
    assert_eq!(decision::when(&unset, NOW_MS), When::Due);
}

#[test]
fn an_early_message_waits_the_rest_rounded_up_or_leaves_it_to_the_sweeper() {
    // (ms until due, the queue delay): SQS delays are whole seconds, at most 15 minutes.
    let cases = [
        (1, Some(1)),
        (4_001, Some(5)),
        (900_000, Some(900)),
        (900_001, None),
        (3_600_000, None),
    ];
    for (wait_ms, delay_s) in cases {
        let d = Delivery {
            next_attempt_ms: Some(NOW_MS + wait_ms),
            ..delivery()
        };
        let at_ms = NOW_MS + wait_ms;
        assert_eq!(
            decision::when(&d, NOW_MS),
            When::Wait { at_ms, delay_s },
            "{wait_ms}"
        );
    }
}

#[test]
fn an_inactive_project_pauses_the_delivery_for_five_minutes() {
    let d = delivery();
    // The dispatcher does not read the endpoint and event of an inactive project.
    let Before::Pause(paused) = decision::before_attempt(&d, false, None, None, now()) else {
        panic!("not paused");
    };
    assert_eq!(paused.status, PENDING);
    assert_eq!(paused.next_attempt_ms, Some(NOW_MS + PAUSE_MS));
    assert_eq!(PAUSE_MS, 5 * 60 * 1000);
    assert_eq!(paused.sweep_at_ms, None);
    assert_eq!(paused.last_error_class.as_deref(), Some("project_inactive"));
    assert_eq!((paused.attempts, paused.round), (d.attempts, d.round));
    assert_eq!(paused.updated_at, "2026-12-07T20:00:00.000Z");
}

#[test]
fn nothing_to_send_to_fails_the_delivery_with_its_class() {
    let d = delivery();
    let disabled = Endpoint {
        enabled: false,
        ..endpoint(&d)
    };
    let cases = [
        (None, Some(event(&d)), "endpoint_deleted"),
        (None, None, "endpoint_deleted"),
        (Some(endpoint(&d)), None, "event_expired"),
        (Some(disabled.clone()), Some(event(&d)), "endpoint_disabled"),
        (Some(disabled), None, "event_expired"),
    ];
    for (e, ev, class) in cases {
        let Before::Fail(done) = decision::before_attempt(&d, true, e, ev, now()) else {
            panic!("{class}: not failed");
        };
        assert_eq!(done.status, FAILED, "{class}");
        assert_eq!(done.last_error_class.as_deref(), Some(class));
        assert_eq!(done.next_attempt_ms, None, "{class}");
        assert_eq!(done.attempts, d.attempts, "{class}: no attempt counted");
        assert_eq!(done.updated_at, "2026-12-07T20:00:00.000Z");
    }
}

#[test]
fn a_claim_counts_the_attempt_and_takes_a_lease() {
    let d = Delivery {
        attempts: 3,
        round: 1,
        trigger: "manual".into(),
        ..delivery()
    };
    let c = claim(&d);
    assert_eq!((c.claimed.attempts, c.claimed.round), (4, 2));
    assert_eq!(c.claimed.status, PENDING);
    assert_eq!(c.claimed.next_attempt_ms, Some(NOW_MS + LEASE_MS));
    assert_eq!(c.claimed.sweep_at_ms, None);
    assert_eq!(c.claimed.updated_at, "2026-12-07T20:00:00.000Z");
    let a = &c.attempt;
    assert_eq!(a.number, 4);
    assert_eq!(a.trigger, "manual");
    assert_eq!(a.state, "in_flight");
    assert_eq!(a.started_at, "2026-12-07T20:00:00.000Z");
    assert_eq!(a.expires_at, d.expires_at);
    assert!(a.status_code.is_none() && a.duration_ms.is_none() && a.next_attempt_at.is_none());
    assert_eq!((c.endpoint.id, c.event.id), (d.endpoint_id, d.event_id));
}

#[test]
fn a_success_keeps_the_endpoint_healthy_and_resets_the_clock() {
    let long_ago = Some(NOW_MS - 10 * DISABLE_AFTER_MS);
    for since in [None, Some(NOW_MS - 1), long_ago] {
        assert_eq!(
            decision::health(since, Outcome::Success, NOW_MS),
            Health::Healthy
        );
    }
}

#[test]
fn failures_start_the_clock_and_five_days_of_them_disable() {
    let failed = Outcome::Failed(500);
    assert_eq!(decision::health(None, failed, NOW_MS), Health::Failing);
    let almost = Some(NOW_MS - DISABLE_AFTER_MS + 1);
    assert_eq!(decision::health(almost, failed, NOW_MS), Health::Failing);
    let five_days = Some(NOW_MS - DISABLE_AFTER_MS);
    assert_eq!(DISABLE_AFTER_MS, 5 * 24 * 3600 * 1000);
    for outcome in [
        failed,
        Outcome::Timeout,
        Outcome::Network,
        Outcome::Throttled { retry_after: None },
    ] {
        assert_eq!(
            decision::health(five_days, outcome, NOW_MS),
            Health::Disable("failing"),
            "{outcome:?}"
        );
    }
}

#[test]
fn gone_disables_the_endpoint_at_once() {
    assert_eq!(
        decision::health(None, Outcome::Gone, NOW_MS),
        Health::Disable("gone")
    );
    let five_days = Some(NOW_MS - DISABLE_AFTER_MS);
    assert_eq!(
        decision::health(five_days, Outcome::Gone, NOW_MS),
        Health::Disable("gone")
    );
}

#[test]
fn the_disabled_event_names_the_endpoint_reason_and_times() {
    let d = delivery();
    let e = Endpoint {
        failing_since_ms: Some(NOW_MS - DISABLE_AFTER_MS),
        ..endpoint(&d)
    };
    let (data, key) = decision::disabled_event(&e, "failing", "2026-12-07T20:00:00.000Z", NOW_MS);
    assert_eq!(
        data,
        serde_json::json!({
            "endpoint_id": e.id,
            "reason": "failing",
            "disabled_at": "2026-12-07T20:00:00.000Z",
            "failing_since": "2026-12-02T20:00:00.000Z",
        })
    );
    assert_eq!(key, format!("endpoint.disabled:{}:{NOW_MS}", e.id));
    let (data, _) = decision::disabled_event(&endpoint(&d), "gone", "x", NOW_MS);
    assert_eq!(data["failing_since"], serde_json::Value::Null);
}
