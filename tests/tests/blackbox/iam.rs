//! The local stack enforces each function's IAM policy from `template.yaml` (DynamoDB Local
//! and moto authorize nothing by themselves). This test drives one path through every one of
//! the 14 functions on a stack of its own, including the retry sweeper claiming a delivery due
//! beyond SQS's 15-minute delay cap (an `UpdateItem`), then checks the decision registry: every
//! function made AWS calls under enforcement, and none was refused.

use super::notifications_support::{email_project, put_template, send, wait_status};
use super::payments::{checkout, create, mp_project, pay};
use super::webhooks::{create_endpoint, get_json, post_event, script, unique_path};
use mostrador::functions::FUNCTIONS;
use mostrador_devstack::iam::{decisions, denial_report};
use mostrador_tests::{client, dedicated, TestStack};
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

async fn run_schedule(t: &TestStack, binary: &str) {
    let r = client()
        .post(format!("{}/_local/schedules/{binary}/run", t.api_url))
        .send()
        .await
        .unwrap();
    let status = r.status();
    assert!(
        status.is_success(),
        "{binary} run: {status} {}\n{}",
        r.text().await.unwrap_or_default(),
        denial_report().unwrap_or_default()
    );
}

/// Binaries that made at least one allowed call (this test's and any other's).
fn exercised() -> BTreeSet<String> {
    decisions()
        .into_iter()
        .filter(|(d, _)| d.allowed)
        .map(|(d, _)| d.binary)
        .collect()
}

fn sweeper_claimed() -> bool {
    decisions()
        .iter()
        .any(|(d, _)| d.binary == "retry-sweeper" && d.action == "dynamodb:UpdateItem" && d.allowed)
}

#[tokio::test]
async fn every_function_runs_under_its_iam_policy() {
    let stack = dedicated().await;
    let t = mostrador_tests::test_stack(&stack);

    // admin, project, health.
    let p = email_project(&t).await;
    let r = t
        .call(Method::GET, "/v1/project", &p.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client()
        .get(format!("{}/health", t.api_url))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(
        status,
        200,
        "{text}\n{}",
        denial_report().unwrap_or_default()
    );

    // notifications → sender (SES) → email-feedback (an SES delivery event).
    put_template(
        &t,
        &p,
        "receipt",
        json!({"kind": "email", "subject": "Hi {{ n }}", "text": "Receipt {{ n }}"}),
    )
    .await;
    let to = format!("iam+{}@example.com", p.id.to_lowercase());
    let (status, body) = send(
        &t,
        &p,
        json!({"channel": "email", "to": to, "template": "receipt", "variables": {"n": "1"}}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap();
    let n = wait_status(&t, &p, id, "sent", 20).await;
    let message_id = n["provider_message_id"].as_str().unwrap();
    let r = client()
        .post(format!(
            "{}/_local/mail/{message_id}/events/delivery",
            t.api_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    wait_status(&t, &p, id, "delivered", 20).await;

    // provider-feedback: the WhatsApp subscription handshake reads the project's secret.
    let _ = client()
        .get(format!(
            "{}/whatsapp/{}/webhook?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1",
            t.api_url, p.id
        ))
        .send()
        .await
        .unwrap();

    // webhooks → dispatcher (fails: 500) → an hour later the sweeper claims it (UpdateItem).
    let path = unique_path("iam");
    script(&t.receiver_url, &path, json!([{"status": 500}])).await;
    create_endpoint(&t, &p, &format!("{}{path}", t.receiver_url), json!(["*"])).await;
    let ev = post_event(&t, &p, json!({"type": "order.created", "data": {}})).await;
    let ev_path = format!("/v1/events/{}", ev["id"].as_str().unwrap());
    let dlv = get_json(&t, &p, &ev_path).await["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dlv_path = format!("/v1/webhook-deliveries/{dlv}");
    // Wait until the first attempt failed and the next one is scheduled (the one-delivery view
    // lists its attempts, so `attempts` there is an array, not the count).
    for _ in 0..300 {
        let d = get_json(&t, &p, &dlv_path).await;
        if !d["last_attempt_at"].is_null() && !d["next_attempt_at"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // An attempt in flight owns the delivery (the sweeper's claim is conditional), so on a busy
    // machine one sweep can find nothing to claim: move on an hour and sweep again, a few times.
    for _ in 0..3 {
        stack.clock().advance(time::Duration::hours(1));
        run_schedule(&t, "retry-sweeper").await;
        if sweeper_claimed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        sweeper_claimed(),
        "the sweeper claimed no due delivery\n{}",
        denial_report().unwrap_or_default()
    );

    // payments → the buyer pays → Mercado Pago notifies mp-intake → payment-sync; reconciler.
    let (mp, _) = mp_project(&t).await;
    let created = create(&t, &mp, checkout("iam-1", 1000, "ARS")).await;
    pay(&t, created["checkout_id"].as_str().unwrap(), "APRO").await;
    run_schedule(&t, "reconciler").await;

    // Background functions finish on their own time: wait until all 14 show up (or time out).
    let all: BTreeSet<String> = FUNCTIONS.iter().map(|f| f.name.to_owned()).collect();
    for _ in 0..150 {
        if exercised().is_superset(&all) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let missing: Vec<_> = all.difference(&exercised()).cloned().collect();
    let report = denial_report();
    stack.shutdown().await;
    assert!(report.is_none(), "{}", report.unwrap_or_default());
    assert!(
        missing.is_empty(),
        "made no AWS call under enforcement: {missing:?}"
    );
}
