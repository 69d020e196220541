//! Payments on dedicated stacks (issue 15): an `order.paid` lost to a crash is re-announced,
//! the reconciler checks every pending payment in next-check order with backoff (item 8), a
//! first deploy without `PublicApiUrl` takes payments (item 3), and a deactivated project's
//! payments still settle (item 6).

use super::payments::{checkout, create, mp_project, pay, received, wait_status};
use super::payments_edges::{lose_notifications, mp_requests, subscribe};
use mostrador::ids::{PaymentId, ProjectId};
use mostrador::payments::model::Payment;
use mostrador::payments::status::{self, Attempt, Attempts, Status};
use mostrador::payments::store;
use mostrador::AppState;
use mostrador_tests::{client, dedicated, dedicated_with, expect_problem, TestStack};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

async fn run_reconciler(t: &TestStack) {
    let r = client()
        .post(format!("{}/_local/schedules/reconciler/run", t.api_url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

async fn stored(state: &AppState, project: &ProjectId, id: &str) -> Payment {
    store::get(state, project, &id.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn lost_order_paid_is_reannounced_and_every_pending_payment_gets_its_turn() {
    let stack = dedicated().await;
    let t = mostrador_tests::test_stack(&stack);
    let state = stack.state("payment-sync").unwrap();
    let (p, token) = mp_project(&t).await;
    let project: ProjectId = p.id.parse().unwrap();
    let hook = subscribe(&t, &p, "crash").await;

    // The sync commits "paid" (status, history, order-paid marker) and dies before emitting;
    // its message is lost too (nothing redelivers it).
    let created = create(&t, &p, checkout("C-1", 3_000, "ARS")).await;
    let id = created["id"].as_str().unwrap();
    let pref = created["checkout_id"].as_str().unwrap();
    lose_notifications(&t, &token, pref).await;
    let mp_id = pay(&t, pref, "APRO").await;
    let current = stored(state, &project, id).await;
    let mut next = current.clone();
    let seen = mostrador::clock::rfc3339(stack.clock().now());
    status::observe(
        &mut next.attempts,
        &mp_id,
        Attempt {
            status: Status::Paid,
            detail: "accredited".into(),
            refunded_minor: 0,
            seen_at: seen.clone(),
        },
    );
    next.status = Status::Paid;
    next.provider_payment_id = Some(mp_id.clone());
    next.version += 1;
    next.updated_at = seen;
    assert!(store::commit_change(state, &next, current.version, true)
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(received(&t, &hook, "order.paid").await, 0);

    // A few minutes later the reconciler finds the unannounced marker: order.paid, once.
    stack.clock().advance(time::Duration::minutes(3));
    run_reconciler(&t).await;
    for _ in 0..60 {
        if received(&t, &hook, "order.paid").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(received(&t, &hook, "order.paid").await, 1);
    stack.clock().advance(time::Duration::minutes(3));
    run_reconciler(&t).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(received(&t, &hook, "order.paid").await, 1, "never twice");

    // 110 old pending payments and a newer one, all in one `due` shard, all due: more than
    // one run's share (100 per shard). Without a next-check time the oldest 100 would be
    // taken on every run and the newer one never.
    let now = stack.clock().now();
    let template = stored(state, &project, id).await;
    let pending = |id: PaymentId, n: usize| Payment {
        id,
        order_id: format!("BULK-{n}"),
        status: Status::Pending,
        status_detail: None,
        provider_payment_id: None,
        checkout_id: None,
        redirect_url: None,
        attempts: Attempts::new(),
        next_check_ms: None,
        version: 1,
        ..template.clone()
    };
    let in_shard_0 = |at: time::OffsetDateTime| loop {
        let id = PaymentId::at(at);
        if store::shard(&id) == 0 {
            break id;
        }
    };
    let mut old = Vec::new();
    for n in 0..110 {
        let id = in_shard_0(now - time::Duration::hours(1) + time::Duration::milliseconds(n));
        store::insert(state, &pending(id, n as usize))
            .await
            .unwrap();
        old.push(id);
    }
    let newest = in_shard_0(now - time::Duration::minutes(11));
    store::insert(state, &pending(newest, 999)).await.unwrap();
    let searched = |id: PaymentId| {
        let t = t.clone();
        async move { mp_requests(&t, &format!("external_reference={id}")).await }
    };

    run_reconciler(&t).await;
    run_reconciler(&t).await;
    let mut newest_checks = 0;
    for _ in 0..120 {
        newest_checks = searched(newest).await;
        if newest_checks > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(newest_checks, 1, "the newest pending payment got its turn");
    for _ in 0..120 {
        if searched(old[0]).await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(searched(old[0]).await, 1);

    // Checked payments wait for their next check time: 1 h old, so the next grid point is
    // 2 h 36 min after creation.
    run_reconciler(&t).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(searched(old[0]).await, 1, "not re-checked before its time");
    assert_eq!(searched(newest).await, 1, "not re-checked before its time");
    let p0 = stored(state, &project, &old[0].to_string()).await;
    let due = p0.next_check_ms.unwrap();
    assert_eq!(
        due,
        old[0].timestamp_ms() + 156 * 60_000,
        "1 min, +5, +30, +2 h after creation"
    );
    stack.clock().advance(time::Duration::minutes(97));
    run_reconciler(&t).await;
    for _ in 0..120 {
        if searched(old[0]).await > 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(searched(old[0]).await, 2, "checked again once due");
    stack.shutdown().await;
}

#[tokio::test]
async fn without_public_api_url_payments_use_the_apis_own_url_and_inactive_projects_still_settle() {
    let stack = dedicated_with(|o| o.public_api_url = Some(String::new())).await;
    let t = mostrador_tests::test_stack(&stack);
    let state = stack.state("payments").unwrap();
    let (p, token) = mp_project(&t).await;
    let project: ProjectId = p.id.parse().unwrap();

    // A first deploy: no PublicApiUrl. The notification URL is the host the shop called.
    let created = create(&t, &p, checkout("U-1", 1_500, "ARS")).await;
    let pref = created["checkout_id"].as_str().unwrap();
    let r = client()
        .get(format!("{}/checkout/preferences/{pref}", t.mercadopago_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["notification_url"],
        format!("{}/mercadopago/{}/notifications", t.api_url, p.id)
    );
    pay(&t, pref, "APRO").await;
    wait_status(&t, &p, created["id"].as_str().unwrap(), "paid").await;

    // Deactivated: no new payments, but one the buyer is paying right now still settles.
    let second = create(&t, &p, checkout("U-2", 2_000, "ARS")).await;
    let id = second["id"].as_str().unwrap();
    let path = format!("/admin/projects/{}", p.id);
    let r = t
        .admin(Method::PATCH, &path, Some(json!({"active": false})))
        .await;
    assert!(r.status().is_success());
    let r = t
        .call(Method::POST, "/v1/payments", &p.key)
        .json(&checkout("U-3", 100, "ARS"))
        .send()
        .await
        .unwrap();
    expect_problem(r, 403, "project_inactive").await;
    pay(&t, second["checkout_id"].as_str().unwrap(), "APRO").await;
    let mut status = Status::Pending;
    for _ in 0..100 {
        status = stored(state, &project, id).await.status;
        if status == Status::Paid {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        status,
        Status::Paid,
        "notification + sync of an inactive project"
    );
    let r = t
        .admin(Method::PATCH, &path, Some(json!({"active": true})))
        .await;
    assert!(r.status().is_success());
    wait_status(&t, &p, id, "paid").await;
    stack.shutdown().await;
}
