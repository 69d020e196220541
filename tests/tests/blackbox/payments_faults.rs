//! Payments on a dedicated stack: Mercado Pago down during sync, lost notifications.

use super::payments::{checkout, create, mp_project, pay, wait_status};
use mostrador_tests::{client, dedicated};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn mercadopago_down_during_sync_is_retried_then_consistent_and_lost_notifications_are_reconciled(
) {
    let stack = dedicated().await;
    let t = mostrador_tests::test_stack(&stack);
    let (p, token) = mp_project(&t).await;

    // Mercado Pago answers 503 to the sync's reads for a while: the messages fail transiently,
    // come back after a short back-off, and the payment ends paid.
    let created = create(&t, &p, checkout("D-1", 5_000, "ARS")).await;
    let r = client()
        .post(format!("{}/_sandbox/faults", t.mercadopago_url))
        .json(&json!({"count": 3, "status": 503, "method": "GET", "path_prefix": "/v1/payments"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    pay(&t, created["checkout_id"].as_str().unwrap(), "APRO").await;
    wait_status(&t, &p, created["id"].as_str().unwrap(), "paid").await;

    // A payment whose notifications never arrive: reconciliation finds it.
    let lost = create(&t, &p, checkout("D-2", 7_000, "ARS")).await;
    let pref = lost["checkout_id"].as_str().unwrap();
    let r = client()
        .put(format!("{}/checkout/preferences/{pref}", t.mercadopago_url))
        .bearer_auth(&token)
        .json(&json!({"notification_url": "http://127.0.0.1:9/nowhere"}))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
    pay(&t, pref, "APRO").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let id = lost["id"].as_str().unwrap();
    wait_status(&t, &p, id, "pending").await;
    // Too young to reconcile: nothing happens.
    let run = || {
        client()
            .post(format!("{}/_local/schedules/reconciler/run", t.api_url))
            .send()
    };
    assert!(run().await.unwrap().status().is_success());
    tokio::time::sleep(Duration::from_secs(2)).await;
    wait_status(&t, &p, id, "pending").await;
    let r = client()
        .post(format!("{}/_local/clock/advance/900", t.api_url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert!(run().await.unwrap().status().is_success());
    wait_status(&t, &p, id, "paid").await;
    stack.shutdown().await;
}
