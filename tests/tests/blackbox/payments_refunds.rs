//! Refunds as objects of their own (issue 13): `ref_…` items listed under their payment, made
//! through the API or at Mercado Pago directly, each provider refund recorded exactly once.

use super::payments::{checkout, create, get, mp_project, pay, wait_status};
use mostrador_tests::{assert_isolated, client, shared, TestProject, TestStack};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// A paid checkout of `amount` ARS; returns (payment id, Mercado Pago payment id).
async fn paid(stack: &TestStack, p: &TestProject, order: &str, amount: u64) -> (String, String) {
    let created = create(stack, p, checkout(order, amount, "ARS")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let mp_id = pay(stack, created["checkout_id"].as_str().unwrap(), "APRO").await;
    wait_status(stack, p, &id, "paid").await;
    (id, mp_id)
}

async fn refund(stack: &TestStack, p: &TestProject, id: &str, body: Value) -> Value {
    let r = stack
        .call(Method::POST, &format!("/v1/payments/{id}/refunds"), &p.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

async fn list(stack: &TestStack, p: &TestProject, id: &str, query: &str) -> Value {
    let r = stack
        .call(
            Method::GET,
            &format!("/v1/payments/{id}/refunds{query}"),
            &p.key,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Mercado Pago notifies the payment `times` more times (webhook and IPN), and the syncs run.
async fn renotify(stack: &TestStack, mp_id: &str, times: u32) {
    let r = client()
        .post(format!(
            "{}/_sandbox/payments/{mp_id}/notify",
            stack.mercadopago_url
        ))
        .json(&json!({"kind": "both", "times": times}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    tokio::time::sleep(Duration::from_secs(3)).await;
}

#[tokio::test]
async fn refunds_are_ref_objects_listed_under_their_payment_once_each() {
    let stack = shared();
    let (p, _) = mp_project(stack).await;
    let (id, mp_id) = paid(stack, &p, "RF-1", 100_000).await;
    assert_eq!(
        list(stack, &p, &id, "").await,
        json!({"data": [], "next_cursor": null})
    );

    let first = refund(stack, &p, &id, json!({"amount": 30_000})).await;
    let r1 = &first["refund"];
    assert!(r1["id"].as_str().unwrap().starts_with("ref_"), "{first}");
    assert_eq!(r1["payment_id"], id.as_str());
    assert_eq!(r1["amount"], 30_000);
    assert_eq!(r1["currency"], "ARS");
    assert_eq!(r1["status"], "approved");
    assert!(!r1["provider_refund_id"].as_str().unwrap().is_empty());
    assert!(r1["created_at"].is_string() && r1["updated_at"].is_string());
    assert_eq!(first["payment"]["refunded_amount"], 30_000);
    let page = list(stack, &p, &id, "").await;
    assert_eq!(
        page["data"],
        json!([r1]),
        "the listed refund is the one answered"
    );
    assert_eq!(page["next_cursor"], Value::Null);

    let second = refund(stack, &p, &id, json!({"amount": 20_000})).await;
    let r2 = &second["refund"];
    assert_ne!(r2["id"], r1["id"]);
    assert_ne!(r2["provider_refund_id"], r1["provider_refund_id"]);
    assert_eq!(second["payment"]["status"], "partially_refunded");
    assert_eq!(second["payment"]["refunded_amount"], 50_000);
    let page = list(stack, &p, &id, "").await;
    let amounts: Vec<&Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["amount"])
        .collect();
    assert_eq!(amounts, [&json!(20_000), &json!(30_000)], "newest first");
    assert_eq!(
        ids(&page),
        [r2["id"].as_str().unwrap(), r1["id"].as_str().unwrap()]
    );

    // One page at a time, with the cursor.
    let one = list(stack, &p, &id, "?limit=1").await;
    assert_eq!(ids(&one), [r2["id"].as_str().unwrap()]);
    let cursor = one["next_cursor"]
        .as_str()
        .expect("a next cursor")
        .to_owned();
    let two = list(stack, &p, &id, &format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(ids(&two), [r1["id"].as_str().unwrap()]);
    let r = stack
        .call(
            Method::GET,
            &format!("/v1/payments/{id}/refunds?cursor=pay_x&limit=0"),
            &p.key,
        )
        .send()
        .await
        .unwrap();
    mostrador_tests::expect_problem(r, 422, "validation_failed").await;

    // The syncs that Mercado Pago's notifications start see both refunds: they are the same
    // items, never copies.
    renotify(stack, &mp_id, 3).await;
    assert_eq!(list(stack, &p, &id, "").await, page);
}

#[tokio::test]
async fn a_refund_made_at_mercado_pago_appears_after_the_sync() {
    let stack = shared();
    let (p, token) = mp_project(stack).await;
    let (id, mp_id) = paid(stack, &p, "RF-2", 10_000).await;
    // Refunded from the Mercado Pago dashboard, not through Mostrador: 25.50 of 100.00 ARS.
    let r = client()
        .post(format!(
            "{}/v1/payments/{mp_id}/refunds",
            stack.mercadopago_url
        ))
        .bearer_auth(&token)
        .header("x-idempotency-key", format!("dashboard-{mp_id}"))
        .json(&json!({"amount": 25.5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let at_mp: Value = r.json().await.unwrap();
    let provider_refund_id = at_mp["id"].to_string();
    // Its notification reaches the intake and the sync records the refund.
    wait_status(stack, &p, &id, "partially_refunded").await;
    let mut page = Value::Null;
    for _ in 0..50 {
        page = list(stack, &p, &id, "").await;
        if !page["data"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let data = page["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{page}");
    let seen = &data[0];
    assert!(seen["id"].as_str().unwrap().starts_with("ref_"), "{seen}");
    assert_eq!(seen["amount"], 2_550);
    assert_eq!(seen["currency"], "ARS");
    assert_eq!(seen["status"], "approved");
    assert_eq!(seen["payment_id"], id.as_str());
    assert_eq!(seen["provider_refund_id"], provider_refund_id.as_str());

    // The shop refunds the rest through Mostrador; more notifications record nothing twice.
    let rest = refund(stack, &p, &id, json!({})).await;
    assert_eq!(rest["refund"]["amount"], 7_450);
    assert_eq!(rest["payment"]["status"], "refunded");
    renotify(stack, &mp_id, 2).await;
    let page = list(stack, &p, &id, "").await;
    assert_eq!(
        ids(&page),
        [
            rest["refund"]["id"].as_str().unwrap(),
            seen["id"].as_str().unwrap()
        ]
    );
}

#[tokio::test]
async fn another_project_gets_404_for_a_payments_refunds() {
    let stack = shared();
    let (a, _) = mp_project(stack).await;
    let (b, _) = mp_project(stack).await;
    let (id, _) = paid(stack, &a, "RF-3", 5_000).await;
    let made = refund(stack, &a, &id, json!({"amount": 1_000})).await;
    assert_isolated(
        stack,
        Method::GET,
        &format!("/v1/payments/{id}/refunds"),
        None,
        &a,
        &b,
        200,
    )
    .await;
    let own = list(stack, &a, &id, "").await;
    assert_eq!(ids(&own), [made["refund"]["id"].as_str().unwrap()]);
}

#[tokio::test]
async fn a_replayed_refund_answers_the_same_ref_id() {
    let stack = shared();
    let (p, _) = mp_project(stack).await;
    let (id, _) = paid(stack, &p, "RF-4", 8_000).await;
    let post = || {
        stack
            .call(Method::POST, &format!("/v1/payments/{id}/refunds"), &p.key)
            .header("Idempotency-Key", "refund-RF-4")
            .json(&json!({"amount": 3_000}))
            .send()
    };
    let first: Value = post().await.unwrap().json().await.unwrap();
    let again = post().await.unwrap();
    assert_eq!(again.status(), 201);
    let again: Value = again.json().await.unwrap();
    let ref_id = first["refund"]["id"].as_str().unwrap();
    assert!(ref_id.starts_with("ref_"), "{first}");
    assert_eq!(again["refund"]["id"], ref_id);
    assert_eq!(ids(&list(stack, &p, &id, "").await), [ref_id]);
    assert_eq!(get(stack, &p, &id).await["refunded_amount"], 3_000);
}
