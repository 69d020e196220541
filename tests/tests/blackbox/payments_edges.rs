//! Payments edges on the shared stack (issue 15, items 8a and 9): a payment first seen
//! refunded never pays its order; unauthenticated IPN floods are deduplicated and rate limited.

use super::payments::{checkout, create, get, mp_project, pay, received, wait_status};
use futures::future::join_all;
use mostrador::payments::notices;
use mostrador_tests::{client, shared, TestProject, TestStack};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

/// A webhook endpoint of the receiver for `order.paid` and `payment.updated`; returns its path.
pub async fn subscribe(stack: &TestStack, p: &TestProject, name: &str) -> String {
    let hook = format!("/hooks/{name}-{}", std::process::id());
    let r = stack
        .call(Method::POST, "/v1/webhook-endpoints", &p.key)
        .json(&json!({"url": format!("{}{hook}", stack.receiver_url), "filter_types": ["order.paid", "payment.updated"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    hook
}

/// Points the checkout's notifications nowhere: every notification of its payments is lost.
pub async fn lose_notifications(stack: &TestStack, token: &str, pref: &str) {
    let r = client()
        .put(format!(
            "{}/checkout/preferences/{pref}",
            stack.mercadopago_url
        ))
        .bearer_auth(token)
        .json(&json!({"notification_url": "http://127.0.0.1:9/nowhere"}))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
}

/// How many API requests the Mercado Pago sandbox logged that contain `text`.
pub async fn mp_requests(stack: &TestStack, text: &str) -> u64 {
    let r = client()
        .get(format!(
            "{}/_sandbox/requests?contains={}",
            stack.mercadopago_url,
            text.replace(' ', "%20")
                .replace('?', "%3F")
                .replace('&', "%26")
                .replace('=', "%3D")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    v["count"].as_u64().unwrap()
}

async fn ipn(stack: &TestStack, project: &str, id: &str) -> reqwest::Response {
    client()
        .post(format!(
            "{}/mercadopago/{project}/notifications?topic=payment&id={id}",
            stack.api_url
        ))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_lost_approval_then_a_refund_never_emits_order_paid() {
    let stack = shared();
    let (p, token) = mp_project(stack).await;
    let hook = subscribe(stack, &p, "first-seen-refunded").await;
    let created = create(stack, &p, checkout("R-1", 4_000, "ARS")).await;
    let id = created["id"].as_str().unwrap();
    let pref = created["checkout_id"].as_str().unwrap();
    lose_notifications(stack, &token, pref).await;
    let mp_id = pay(stack, pref, "APRO").await;
    // The shop never heard of the approval; Mercado Pago refunds it in full (back office).
    let r = client()
        .post(format!(
            "{}/v1/payments/{mp_id}/refunds",
            stack.mercadopago_url
        ))
        .bearer_auth(&token)
        .header("x-idempotency-key", format!("refund-{mp_id}"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
    assert_eq!(get(stack, &p, id).await["status"], "pending");
    // Then one notification arrives and the sync sees the payment already refunded.
    assert_eq!(ipn(stack, &p.id, &mp_id).await.status(), 200);
    let v = wait_status(stack, &p, id, "refunded").await;
    assert_eq!(v["provider_payment_id"], mp_id.as_str());
    for _ in 0..50 {
        if received(stack, &hook, "payment.updated").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        received(stack, &hook, "payment.updated").await > 0,
        "payment.updated carries the refund"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        received(stack, &hook, "order.paid").await,
        0,
        "a refunded payment never paid the order"
    );
}

#[tokio::test]
async fn an_ipn_flood_of_one_id_costs_one_sync() {
    let stack = shared();
    let (p, token) = mp_project(stack).await;
    let created = create(stack, &p, checkout("FLOOD-1", 2_500, "ARS")).await;
    let id = created["id"].as_str().unwrap();
    let pref = created["checkout_id"].as_str().unwrap();
    lose_notifications(stack, &token, pref).await;
    let mp_id = pay(stack, pref, "APRO").await;
    let fetch = format!("GET /v1/payments/{mp_id}");
    let before = mp_requests(stack, &fetch).await;
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let batch = (0..10).map(|_| ipn(stack, &p.id, &mp_id));
        statuses.extend(join_all(batch).await.into_iter().map(|r| r.status()));
    }
    assert_eq!(statuses.len(), 200);
    assert!(
        statuses.iter().all(|s| *s == 200),
        "repeats are answered 200: {statuses:?}"
    );
    wait_status(stack, &p, id, "paid").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let fetched = mp_requests(stack, &fetch).await - before;
    assert_eq!(fetched, 1, "200 notices of one id, one Mercado Pago fetch");
}

#[tokio::test]
async fn an_ipn_flood_of_distinct_ids_is_bounded_by_the_intake_limit() {
    let stack = shared();
    let (p, _) = mp_project(stack).await;
    let project = p.id.as_str();
    // Ids no payment has: each accepted one costs the shop Mercado Pago fetches.
    let base = 7_000_000_000u64 + u64::from(std::process::id() % 100_000) * 10_000;
    let (mut ok, mut limited) = (0u32, 0u32);
    for chunk in 0..50u64 {
        let batch = (0..10u64).map(|i| {
            let id = (base + chunk * 10 + i).to_string();
            async move { ipn(stack, project, &id).await }
        });
        for r in join_all(batch).await {
            match r.status().as_u16() {
                200 => ok += 1,
                429 => {
                    assert!(r.headers().contains_key("retry-after"));
                    let v: serde_json::Value = r.json().await.unwrap();
                    assert_eq!(v["code"], "rate_limited");
                    limited += 1;
                }
                other => panic!("unexpected {other}"),
            }
        }
    }
    assert_eq!(ok + limited, 500);
    // A fixed minute window can straddle a boundary: at most two windows' worth.
    assert!(
        ok <= 2 * notices::PER_MINUTE,
        "{ok} accepted, limit {}/min",
        notices::PER_MINUTE
    );
    assert!(limited > 0);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let prefix = format!("GET /v1/payments/{}", base / 10_000);
    let fetched = mp_requests(stack, &prefix).await;
    // Each accepted id is fetched at most 3 times (a new payment may 404 for a moment).
    assert!(
        fetched <= 3 * u64::from(ok),
        "{fetched} fetches for {ok} accepted notices"
    );
}
