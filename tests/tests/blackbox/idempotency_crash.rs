//! Issue 15 item 10: a POST with `Idempotency-Key` whose function died after creating its
//! resource but before storing the answer is retried after the 60 s lease: the retry must answer
//! with the first resource (same id), never create a second one, send a second message or make
//! a second provider call.
//!
//! The crash is simulated exactly: the first request runs to the end, then its idempotency record
//! is put back as the crash leaves it (`in_flight`, no answer) and the clock passes the lease.

use super::notifications_support::{email_project, mail_to, put_template, wait_status};
use super::payments::{checkout, get as payment, mp_project, pay, wait_status as wait_paid};
use aws_sdk_dynamodb::types::AttributeValue;
use mostrador::AppState;
use mostrador_tests::{dedicated, TestProject, TestStack};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// Puts the completed idempotency record of (`project`, `key`) back to what a crash before
/// storing the answer leaves, then moves the clock past the lease.
async fn crash_before_answer(
    stack: &mostrador_devstack::Stack,
    state: &AppState,
    project: &str,
    key: &str,
) {
    use sha2::Digest;
    let pk = format!(
        "I#{project}#{}",
        hex::encode(sha2::Sha256::digest(key.as_bytes()))
    );
    let lease_end = state.clock.now().unix_timestamp() + 60;
    state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S("IDEM".into()))
        .update_expression(
            "SET #st = :in_flight, locked_until = :lease REMOVE #status, body, content_type, #loc, completed_at",
        )
        .condition_expression("#st = :done")
        .expression_attribute_names("#st", "state")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#loc", "location")
        .expression_attribute_values(":in_flight", AttributeValue::S("in_flight".into()))
        .expression_attribute_values(":done", AttributeValue::S("completed".into()))
        .expression_attribute_values(":lease", AttributeValue::N(lease_end.to_string()))
        .send()
        .await
        .unwrap();
    stack.clock().advance(time::Duration::seconds(61));
}

async fn post(t: &TestStack, p: &TestProject, path: &str, key: &str, body: &Value) -> (u16, Value) {
    let r = t
        .call(Method::POST, path, &p.key)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn list(t: &TestStack, p: &TestProject, path: &str) -> Vec<Value> {
    let r = t.call(Method::GET, path, &p.key).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["data"].as_array().cloned().unwrap_or_default()
}

/// Each resource is checked and its failures collected, so one run on old code shows them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_crash_finds_what_the_first_run_created() {
    let stack = dedicated().await;
    let t = mostrador_tests::test_stack(&stack);
    let mut failures: Vec<String> = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            failures.push(what);
        }
    };

    // Notifications: same id, one record, one e-mail.
    let state = stack.state("notifications").unwrap();
    let p = email_project(&t).await;
    put_template(
        &t,
        &p,
        "hello",
        json!({"kind": "email", "subject": "Hola", "text": "Hola"}),
    )
    .await;
    let to = format!("crash+{}@example.com", p.id.to_lowercase());
    let body = json!({"channel": "email", "to": to, "template": "hello"});
    let (s1, first) = post(&t, &p, "/v1/notifications", "ntf-1", &body).await;
    assert_eq!(s1, 202, "{first}");
    let id = first["id"].as_str().unwrap().to_owned();
    wait_status(&t, &p, &id, "sent", 20).await;
    crash_before_answer(&stack, state, &p.id, "ntf-1").await;
    let (s2, again) = post(&t, &p, "/v1/notifications", "ntf-1", &body).await;
    check(
        s2 == 202 && again["id"] == id.as_str(),
        format!("notification: {s2} {again} (first {id})"),
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = list(&t, &p, "/v1/notifications").await;
    check(
        all.len() == 1,
        format!("notification records: {}", all.len()),
    );
    let mails = mail_to(&t.api_url, &to).await.len();
    check(mails == 1, format!("e-mails sent: {mails}"));

    // A first run that died between storing the notification and queueing it: the re-run queues
    // it (the notification is still `pending`, never attempted) instead of leaving it stuck.
    // Simulated by putting the sent notification back to that state (so two e-mails in total).
    let to2 = format!("crash2+{}@example.com", p.id.to_lowercase());
    let body = json!({"channel": "email", "to": to2, "template": "hello"});
    let (s1, first) = post(&t, &p, "/v1/notifications", "ntf-2", &body).await;
    assert_eq!(s1, 202, "{first}");
    let id = first["id"].as_str().unwrap().to_owned();
    wait_status(&t, &p, &id, "sent", 20).await;
    state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", AttributeValue::S(format!("P#{}#NTF", p.id)))
        .key("sk", AttributeValue::S(id.clone()))
        .update_expression(
            "SET #st = :pending, status_rank = :zero, attempts = :zero, gsi1pk = :by_status REMOVE provider_message_id, claim_token, claimed_at",
        )
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
        .expression_attribute_values(":zero", AttributeValue::N("0".into()))
        .expression_attribute_values(
            ":by_status",
            AttributeValue::S(format!("P#{}#NTF#S#pending", p.id)),
        )
        .send()
        .await
        .unwrap();
    crash_before_answer(&stack, state, &p.id, "ntf-2").await;
    let (s2, again) = post(&t, &p, "/v1/notifications", "ntf-2", &body).await;
    check(
        s2 == 202 && again["id"] == id.as_str(),
        format!("unqueued notification: {s2} {again}"),
    );
    let sent = wait_status(&t, &p, &id, "sent", 20).await;
    check(
        sent["attempts"] == 1,
        format!("re-queued notification: {sent}"),
    );
    let all = list(&t, &p, "/v1/notifications").await;
    check(
        all.len() == 2,
        format!("notification records: {}", all.len()),
    );

    // Events: same id, one event, one delivery.
    let state = stack.state("webhooks").unwrap();
    let p = t.project(None).await;
    let r = t
        .call(Method::POST, "/v1/webhook-endpoints", &p.key)
        .json(&json!({"url": format!("{}/crash-events", t.receiver_url)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body = json!({"type": "order.created", "data": {"order": "A-1"}});
    let (s1, first) = post(&t, &p, "/v1/events", "evt-1", &body).await;
    assert_eq!(s1, 202, "{first}");
    crash_before_answer(&stack, state, &p.id, "evt-1").await;
    let (s2, again) = post(&t, &p, "/v1/events", "evt-1", &body).await;
    check(
        s2 == 202 && again["id"] == first["id"] && again["deliveries"] == 1,
        format!("event: {s2} {again} (first {first})"),
    );
    let all = list(&t, &p, "/v1/events").await;
    check(all.len() == 1, format!("events: {}", all.len()));
    let deliveries = list(&t, &p, "/v1/webhook-deliveries").await;
    check(
        deliveries.len() == 1,
        format!("deliveries: {}", deliveries.len()),
    );

    // Webhook endpoints: same id, same secret, one endpoint.
    let p = t.project(None).await;
    let body = json!({"url": format!("{}/crash-endpoint", t.receiver_url)});
    let (s1, first) = post(&t, &p, "/v1/webhook-endpoints", "whe-1", &body).await;
    assert_eq!(s1, 201, "{first}");
    crash_before_answer(&stack, state, &p.id, "whe-1").await;
    let (s2, again) = post(&t, &p, "/v1/webhook-endpoints", "whe-1", &body).await;
    check(
        s2 == 201 && again["id"] == first["id"] && again["secret"] == first["secret"],
        format!("endpoint: {s2} {again} (first {first})"),
    );
    let all = list(&t, &p, "/v1/webhook-endpoints").await;
    check(all.len() == 1, format!("endpoints: {}", all.len()));

    // Payments: same id, same checkout (the provider call carried the same key), one payment.
    let state = stack.state("payments").unwrap();
    let (p, _) = mp_project(&t).await;
    let body = checkout("A-crash", 1500, "ARS");
    let (s1, first) = post(&t, &p, "/v1/payments", "pay-1", &body).await;
    assert_eq!(s1, 201, "{first}");
    crash_before_answer(&stack, state, &p.id, "pay-1").await;
    let (s2, again) = post(&t, &p, "/v1/payments", "pay-1", &body).await;
    check(
        s2 == 201 && again["id"] == first["id"] && again["checkout_id"] == first["checkout_id"],
        format!("payment: {s2} {again} (first {first})"),
    );
    let all = list(&t, &p, "/v1/payments?order_id=A-crash").await;
    check(all.len() == 1, format!("payments: {}", all.len()));

    // Refunds: the whole balance, refunded by the first run; the retry repeats the provider call
    // under the same key (Mercado Pago replays the refund) instead of a 409 or a second refund.
    let id = first["id"].as_str().unwrap();
    let mp_id = pay(&t, first["checkout_id"].as_str().unwrap(), "APRO").await;
    wait_paid(&t, &p, id, "paid").await;
    let path = format!("/v1/payments/{id}/refunds");
    let (s1, refunded) = post(&t, &p, &path, "ref-1", &json!({})).await;
    assert_eq!(s1, 201, "{refunded}");
    crash_before_answer(&stack, state, &p.id, "ref-1").await;
    let (s2, again) = post(&t, &p, &path, "ref-1", &json!({})).await;
    check(
        s2 == 201 && again["refund"]["status"] == "approved",
        format!("refund: {s2} {again} (first {refunded})"),
    );
    // The first run recorded its refund under the id the key's seed derives: the same `ref_`.
    check(
        again["refund"]["id"] == refunded["refund"]["id"]
            && refunded["refund"]["id"]
                .as_str()
                .is_some_and(|r| r.starts_with("ref_")),
        format!("refund id: {again} (first {refunded})"),
    );
    let listed = list(&t, &p, &format!("/v1/payments/{id}/refunds")).await;
    check(listed.len() == 1, format!("refunds listed: {listed:?}"));
    let at_mp: Value = mostrador_tests::client()
        .get(format!("{}/_sandbox/payments/{mp_id}", t.mercadopago_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refunds = at_mp["refunds"].as_array().map(Vec::len);
    check(
        refunds == Some(1),
        format!("refunds at Mercado Pago: {refunds:?}"),
    );
    let paid = payment(&t, &p, id).await;
    check(
        paid["refunded_amount"] == 1500 && paid["status"] == "refunded",
        format!("refunded payment: {paid}"),
    );

    stack.shutdown().await;
    assert!(failures.is_empty(), "{failures:#?}");
}
