//! Payments with Mercado Pago, end to end through the local stack and its sandbox.

use mostrador_tests::{assert_isolated, client, expect_problem, shared, TestProject, TestStack};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub const SECRET: &str = "shop-webhook-secret";

/// A project with Mercado Pago credentials for a fresh sandbox collector (same secret set on
/// both sides). Returns the project and its access token.
pub async fn mp_project(stack: &TestStack) -> (TestProject, String) {
    static N: AtomicU32 = AtomicU32::new(0);
    let collector = 500_000 + std::process::id() % 10_000 * 100 + N.fetch_add(1, Ordering::Relaxed);
    let token = format!("TEST-1234-010203-abcdef-{collector}");
    let p = stack.project(None).await;
    let r = stack
        .admin(
            Method::PUT,
            &format!("/admin/projects/{}/credentials/mercadopago", p.id),
            Some(json!({"access_token": token, "webhook_secret": SECRET})),
        )
        .await;
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
    let r = client()
        .put(format!(
            "{}/_sandbox/collectors/{collector}",
            stack.mercadopago_url
        ))
        .json(&json!({"webhook_secret": SECRET}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    (p, token)
}

pub async fn create(stack: &TestStack, p: &TestProject, body: Value) -> Value {
    let r = stack
        .call(Method::POST, "/v1/payments", &p.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

pub fn checkout(order: &str, amount: u64, currency: &str) -> Value {
    json!({"order_id": order, "amount": amount, "currency": currency, "mode": "checkout",
           "items": [{"title": "Mate", "quantity": 1, "unit_amount": amount}], "payer": {"email": "buyer@example.com"}})
}

/// The buyer pays the checkout in the sandbox; returns Mercado Pago's payment id.
pub async fn pay(stack: &TestStack, checkout_id: &str, holder: &str) -> String {
    let r = client()
        .post(format!(
            "{}/_sandbox/preferences/{checkout_id}/pay",
            stack.mercadopago_url
        ))
        .json(&json!({"holder_name": holder}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    v["payment"]["id"].to_string().trim_matches('"').to_owned()
}

pub async fn get(stack: &TestStack, p: &TestProject, id: &str) -> Value {
    let r = stack
        .call(Method::GET, &format!("/v1/payments/{id}"), &p.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

pub async fn wait_status(stack: &TestStack, p: &TestProject, id: &str, status: &str) -> Value {
    for _ in 0..100 {
        let v = get(stack, p, id).await;
        if v["status"] == status {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "payment {id} never became {status}: {}",
        get(stack, p, id).await
    );
}

pub async fn received(stack: &TestStack, path: &str, event_type: &str) -> usize {
    let r = client()
        .get(format!(
            "{}/_receiver/requests?path={path}",
            stack.receiver_url
        ))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v.as_array()
        .map(|a| {
            a.iter()
                .filter(|req| {
                    req["body_text"]
                        .as_str()
                        .unwrap_or("")
                        .contains(&format!("\"type\":\"{event_type}\""))
                })
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn checkout_paid_once_then_refunded_partially_and_totally() {
    let stack = shared();
    let (p, _) = mp_project(stack).await;
    let hook = format!("/hooks/payments-{}", std::process::id());
    let r = stack
        .call(Method::POST, "/v1/webhook-endpoints", &p.key)
        .json(&json!({"url": format!("{}{hook}", stack.receiver_url), "filter_types": ["order.paid", "payment.updated"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());

    let created = create(stack, &p, checkout("A-1", 150_000, "ARS")).await;
    assert_eq!(created["status"], "pending");
    assert!(created["redirect_url"]
        .as_str()
        .unwrap()
        .contains("pref_id="));
    let id = created["id"].as_str().unwrap().to_owned();
    let mp_id = pay(stack, created["checkout_id"].as_str().unwrap(), "APRO").await;
    let paid = wait_status(stack, &p, &id, "paid").await;
    assert_eq!(paid["provider_payment_id"], mp_id.as_str());
    assert!(!paid["history"].as_array().unwrap().is_empty());

    // Duplicates of every kind change nothing and never repeat order.paid.
    let r = client()
        .post(format!(
            "{}/_sandbox/payments/{mp_id}/notify",
            stack.mercadopago_url
        ))
        .json(&json!({"kind": "both", "times": 3}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(get(stack, &p, &id).await["status"], "paid");
    assert_eq!(received(stack, &hook, "order.paid").await, 1);
    assert!(received(stack, &hook, "payment.updated").await >= 1);

    // Partial, then the rest.
    let r = stack
        .call(Method::POST, &format!("/v1/payments/{id}/refunds"), &p.key)
        .json(&json!({"amount": 50_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["payment"]["status"], "partially_refunded");
    assert_eq!(v["payment"]["refunded_amount"], 50_000);
    let r = stack
        .call(Method::POST, &format!("/v1/payments/{id}/refunds"), &p.key)
        .json(&json!({"amount": 200_000}))
        .send()
        .await
        .unwrap();
    expect_problem(r, 422, "validation_failed").await;
    let r = stack
        .call(Method::POST, &format!("/v1/payments/{id}/refunds"), &p.key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["payment"]["status"], "refunded");
    assert_eq!(v["payment"]["refunded_amount"], 150_000);
    let r = stack
        .call(Method::POST, &format!("/v1/payments/{id}/refunds"), &p.key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_problem(r, 409, "payment_not_refundable").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(received(stack, &hook, "order.paid").await, 1);
}

#[tokio::test]
async fn rejected_then_approved_on_the_same_order_ends_paid() {
    let stack = shared();
    let (p, _) = mp_project(stack).await;
    let created = create(stack, &p, checkout("B-7", 9_990, "BRL")).await;
    let id = created["id"].as_str().unwrap();
    let pref = created["checkout_id"].as_str().unwrap();
    pay(stack, pref, "OTHE").await;
    let failed = wait_status(stack, &p, id, "failed").await;
    assert_eq!(failed["status_detail"], "cc_rejected_other_reason");
    pay(stack, pref, "APRO").await;
    let paid = wait_status(stack, &p, id, "paid").await;
    assert_eq!(paid["attempts"].as_array().unwrap().len(), 2);
    // A direct card payment of the same order, rejected, does not unpay it.
    let r = stack
        .call(Method::POST, "/v1/payments", &p.key)
        .json(&json!({"order_id": "B-7", "amount": 9_990, "currency": "ARS", "mode": "direct", "card_token": "tok-OTHE-1", "payment_method_id": "visa", "payer": {"email": "b@example.com"}}))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap_or_default();
    let direct: Value = serde_json::from_str(&text).unwrap_or_default();
    assert_eq!(direct["status"], "failed", "{text}");
    assert_eq!(direct["status"], "failed");
    let list: Value = stack
        .call(Method::GET, "/v1/payments?order_id=B-7&status=paid", &p.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["id"], id);
}

#[tokio::test]
async fn amounts_convert_exactly_per_currency() {
    let stack = shared();
    let (p, token) = mp_project(stack).await;
    for (amount, currency, decimal) in [
        (150_075u64, "ARS", "1500.75"),
        (1_999, "BRL", "19.99"),
        (15_000, "CLP", "15000"),
    ] {
        let created = create(
            stack,
            &p,
            checkout(&format!("AMT-{currency}"), amount, currency),
        )
        .await;
        assert_eq!(created["amount"], amount);
        let pref: Value = client()
            .get(format!(
                "{}/checkout/preferences/{}",
                stack.mercadopago_url,
                created["checkout_id"].as_str().unwrap()
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            pref["items"][0]["unit_price"]
                .to_string()
                .trim_end_matches(".0"),
            decimal.trim_end_matches(".0"),
            "{currency}"
        );
        let mp_id = pay(stack, created["checkout_id"].as_str().unwrap(), "APRO").await;
        let paid = wait_status(stack, &p, created["id"].as_str().unwrap(), "paid").await;
        assert_eq!(paid["amount"], amount);
        assert_eq!(paid["provider_payment_id"], mp_id.as_str());
    }
    let r = stack
        .call(Method::POST, "/v1/payments", &p.key)
        .json(&checkout("X", 100, "USD"))
        .send()
        .await
        .unwrap();
    let body = expect_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "unsupported_currency");
    let r = stack.call(Method::POST, "/v1/payments", &p.key).json(&json!({"order_id": "X", "amount": 100, "currency": "ARS", "mode": "checkout", "items": [{"title": "a", "quantity": 2, "unit_amount": 40}]})).send().await.unwrap();
    expect_problem(r, 422, "validation_failed").await;
}

#[tokio::test]
async fn intake_rejects_forgeries_and_unconfigured_projects() {
    let stack = shared();
    let (p, _) = mp_project(stack).await;
    let created = create(stack, &p, checkout("F-1", 1_000, "ARS")).await;
    let id = created["id"].as_str().unwrap();
    let url = format!("{}/mercadopago/{}/notifications", stack.api_url, p.id);
    let r = client()
        .post(format!("{url}?data.id=123&type=payment"))
        .header("x-request-id", "bb56a2f1-6aae-46ac-982e-9dcd3581d08e")
        .header(
            "x-signature",
            format!(
                "ts={},v1={}",
                time::OffsetDateTime::now_utc().unix_timestamp(),
                "ab".repeat(32)
            ),
        )
        .json(&json!({"type": "payment", "data": {"id": "123"}}))
        .send()
        .await
        .unwrap();
    expect_problem(r, 401, "invalid_signature").await;
    let r = client()
        .post(format!("{url}?data.id=123&type=payment"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_problem(r, 401, "invalid_signature").await;
    let r = client()
        .post(format!("{url}?foo=bar"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_problem(r, 400, "invalid_notification").await;
    let r = client()
        .post(format!("{url}?topic=payment&id=../../x"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_problem(r, 400, "invalid_notification").await;
    let unknown = format!(
        "{}/mercadopago/prj_01JD0000000000000000000000/notifications?topic=payment&id=1",
        stack.api_url
    );
    expect_problem(
        client().post(unknown).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let bare = stack.project(None).await;
    let r = client()
        .post(format!(
            "{}/mercadopago/{}/notifications?topic=payment&id=1",
            stack.api_url, bare.id
        ))
        .send()
        .await
        .unwrap();
    expect_problem(r, 409, "provider_not_configured").await;
    let r = stack
        .call(Method::POST, "/v1/payments", &bare.key)
        .json(&checkout("N-1", 100, "ARS"))
        .send()
        .await
        .unwrap();
    expect_problem(r, 409, "provider_not_configured").await;
    // An unauthenticated IPN naming a payment that does not exist changes nothing.
    let r = client()
        .post(format!("{url}?topic=payment&id=999999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(get(stack, &p, id).await["status"], "pending");
}

#[tokio::test]
async fn payments_are_isolated_between_projects() {
    let stack = shared();
    let (a, _) = mp_project(stack).await;
    let (b, _) = mp_project(stack).await;
    let created = create(stack, &a, checkout("I-1", 1_000, "ARS")).await;
    let id = created["id"].as_str().unwrap();
    assert_isolated(
        stack,
        Method::GET,
        &format!("/v1/payments/{id}"),
        None,
        &a,
        &b,
        200,
    )
    .await;
    assert_isolated(
        stack,
        Method::POST,
        &format!("/v1/payments/{id}/refunds"),
        Some(json!({})),
        &a,
        &b,
        409,
    )
    .await;
    let list: Value = stack
        .call(Method::GET, "/v1/payments?order_id=I-1", &b.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"], json!([]));
    // B's intake, told about A's Mercado Pago payment, cannot touch A's payment: B's token
    // cannot read it and A's payment is not in B's partition.
    let mp_id = pay(stack, created["checkout_id"].as_str().unwrap(), "CONT").await;
    wait_status(stack, &a, id, "pending").await;
    let r = client()
        .post(format!(
            "{}/mercadopago/{}/notifications?topic=payment&id={mp_id}",
            stack.api_url, b.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client()
        .post(format!(
            "{}/_sandbox/payments/{mp_id}/status",
            stack.mercadopago_url
        ))
        .json(&json!({"status": "approved", "status_detail": "accredited"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    wait_status(stack, &a, id, "paid").await;
    let list: Value = stack
        .call(Method::GET, "/v1/payments", &b.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"], json!([]));
}

/// `POST /v1/payments` and its refunds replay under one `Idempotency-Key`: the same answer, one
/// payment, one refund at Mercado Pago; a different body under the same key is refused.
#[tokio::test]
async fn payments_and_refunds_replay_under_one_idempotency_key() {
    let stack = shared();
    let (p, _) = mp_project(stack).await;
    let post = |path: String, key: &'static str, body: Value| {
        stack
            .call(Method::POST, &path, &p.key)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = post(
        "/v1/payments".into(),
        "pay-A-7",
        checkout("A-7", 90_000, "ARS"),
    )
    .await
    .unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = post(
        "/v1/payments".into(),
        "pay-A-7",
        checkout("A-7", 90_000, "ARS"),
    )
    .await
    .unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let other = post(
        "/v1/payments".into(),
        "pay-A-7",
        checkout("A-8", 90_000, "ARS"),
    )
    .await
    .unwrap();
    expect_problem(other, 409, "idempotency_key_reused").await;
    let listed: Value = stack
        .call(Method::GET, "/v1/payments?limit=100", &p.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, [first["id"].as_str().unwrap()]);

    let id = first["id"].as_str().unwrap().to_owned();
    let mp_id = pay(stack, first["checkout_id"].as_str().unwrap(), "APRO").await;
    wait_status(stack, &p, &id, "paid").await;
    let refund = format!("/v1/payments/{id}/refunds");
    let r1 = post(refund.clone(), "refund-1", json!({"amount": 10_000}))
        .await
        .unwrap();
    assert_eq!(r1.status(), 201, "{}", r1.text().await.unwrap_or_default());
    let r1: Value = r1.json().await.unwrap();
    let r2 = post(refund, "refund-1", json!({"amount": 10_000}))
        .await
        .unwrap();
    assert_eq!(r2.status(), 201);
    assert_eq!(r2.json::<Value>().await.unwrap(), r1);
    assert_eq!(get(stack, &p, &id).await["refunded_amount"], 10_000);
    let at_mp: Value = client()
        .get(format!(
            "{}/_sandbox/payments/{mp_id}",
            stack.mercadopago_url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        at_mp["refunds"].as_array().map(Vec::len),
        Some(1),
        "{at_mp}"
    );
}
