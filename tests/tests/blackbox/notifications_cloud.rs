//! WhatsApp Cloud API mode against the sandbox (status webhooks, permanent errors, throttling
//! retries) and the sender's never-twice guarantee under SQS redelivery.

use super::notifications_support::*;
use mostrador_tests::{client, dedicated, shared, TestProject, TestStack};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

const APP_SECRET: &str = "notifications-test-app-secret";

/// A project with WhatsApp credentials, the shared sandbox calling back its webhook.
async fn whatsapp_project(stack: &TestStack) -> TestProject {
    let p = stack.project(None).await;
    let creds = stack
        .admin(
            Method::PUT,
            &format!("/admin/projects/{}/credentials/whatsapp", p.id),
            Some(
                json!({"access_token": "EAAG-test-token", "phone_number_id": "1234567890",
                        "app_secret": APP_SECRET, "verify_token": "verify-me"}),
            ),
        )
        .await;
    assert!(
        creds.status().is_success(),
        "{}",
        creds.text().await.unwrap()
    );
    let config = client()
        .post(format!("{}/_sandbox/config", stack.whatsapp_url))
        .json(
            &json!({"callback_url": format!("{}/whatsapp/{}/webhook", stack.api_url, p.id),
                      "app_secret": APP_SECRET, "status_delay_ms": 100}),
        )
        .send()
        .await
        .unwrap();
    assert!(config.status().is_success());
    p
}

/// One test, one project: the shared sandbox has one callback URL.
#[tokio::test]
async fn whatsapp_cloud_mode_end_to_end() {
    let stack = shared();
    let p = whatsapp_project(stack).await;
    // Subscription handshake with the project's verify token.
    let hs = client()
        .get(format!("{}/whatsapp/{}/webhook?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444", stack.api_url, p.id))
        .send().await.unwrap();
    assert_eq!(hs.status(), 200);
    assert_eq!(hs.text().await.unwrap(), "1158201444");
    let bad = client()
        .get(format!(
            "{}/whatsapp/{}/webhook?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1",
            stack.api_url, p.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 403);
    let unsigned = client()
        .post(format!("{}/whatsapp/{}/webhook", stack.api_url, p.id))
        .header("x-hub-signature-256", "sha256=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);

    put_template(
        stack,
        &p,
        "pedido",
        json!({"kind": "whatsapp_text", "body": "Pedido {{ id }} enviado"}),
    )
    .await;
    let cloud = |to: &str| json!({"channel": "whatsapp", "mode": "cloud", "to": to, "template": "pedido", "variables": {"id": "A-1"}});

    // Happy path: sent, then delivered and read from the status webhooks.
    let (s, b) = send(stack, &p, cloud("+5491155550001")).await;
    assert_eq!(s, 202, "{b}");
    let id = b["id"].as_str().unwrap().to_owned();
    let n = wait_status(stack, &p, &id, "read", 45).await;
    assert!(n["provider_message_id"]
        .as_str()
        .unwrap()
        .starts_with("wamid."));
    let steps: Vec<_> = n["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap().to_owned())
        .collect();
    assert!(steps.contains(&"delivered".to_owned()), "{steps:?}");
    // A late `delivered` never regresses `read`.
    let wamid = n["provider_message_id"].as_str().unwrap();
    let late = client()
        .post(format!("{}/_sandbox/statuses", stack.whatsapp_url))
        .json(&json!({"wamid": wamid, "status": "delivered"}))
        .send()
        .await
        .unwrap();
    assert!(late.status().is_success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(get(stack, &p, &id).await["status"], "read");

    // Permanent, synchronous (190 expired token): failed with the reason, one attempt.
    let (_, b) = send(stack, &p, cloud("+5491155550190")).await;
    let n = wait_status(stack, &p, b["id"].as_str().unwrap(), "failed", 45).await;
    assert!(
        n["reason"].as_str().unwrap().starts_with("whatsapp:190"),
        "{n}"
    );
    assert_eq!(n["attempts"], 1);

    // Permanent, asynchronous (131026 undeliverable): accepted, then a failed webhook.
    let (_, b) = send(stack, &p, cloud("+5491155551026")).await;
    let n = wait_status(stack, &p, b["id"].as_str().unwrap(), "failed", 45).await;
    assert!(n["reason"].as_str().unwrap().contains("131026"), "{n}");

    // Throttling (130429 twice): retried with backoff, then sent; one message accepted.
    let (_, b) = send(stack, &p, cloud("+5491155550429")).await;
    let n = wait_status(stack, &p, b["id"].as_str().unwrap(), "sent", 90).await;
    assert_eq!(n["attempts"], 3, "{n}");
    let msgs: serde_json::Value = client()
        .get(format!(
            "{}/_sandbox/messages?to=5491155550429",
            stack.whatsapp_url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let accepted = msgs
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["wamid"].is_string())
        .count();
    assert_eq!(accepted, 1, "{msgs}");
}

/// Redelivering the queue message of a sent notification sends nothing; a notification left
/// `sending` by a crash ends `failed` (`outcome_unknown`) instead of being sent again.
#[tokio::test]
async fn redelivered_messages_never_send_twice() {
    let stack = dedicated().await;
    let test = mostrador_tests::test_stack(&stack);
    let p = email_project(&test).await;
    put_template(
        &test,
        &p,
        "welcome",
        json!({"kind": "email", "subject": "Hi", "text": "t"}),
    )
    .await;
    let to = "once@example.com";
    let (s, b) = send(
        &test,
        &p,
        json!({"channel": "email", "to": to, "template": "welcome"}),
    )
    .await;
    assert_eq!(s, 202);
    let id = b["id"].as_str().unwrap().to_owned();
    wait_status(&test, &p, &id, "sent", 20).await;
    // Redelivered as the API would enqueue them: with the notifications function's client (the
    // sender's role may not send to its own queue; the local stack enforces IAM).
    let state = stack.state("notifications").unwrap();
    let queue = stack.queue_url("NotificationsQueue").await.unwrap();
    let message = json!({"v": 1, "project_id": p.id, "notification_id": id}).to_string();
    for _ in 0..3 {
        state
            .sqs
            .send_message()
            .queue_url(&queue)
            .message_body(&message)
            .send()
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(mail_to(&test.api_url, to).await.len(), 1);
    let n = get(&test, &p, &id).await;
    assert_eq!(n["attempts"], 1);
    assert_eq!(n["history"].as_array().unwrap().len(), 3);

    // Crash window: claimed (`sending`) but never recorded. After the lease, a redelivery
    // must not send: it ends failed/outcome_unknown.
    let project_id = p.id.parse().unwrap();
    let (s, b) = send(&test, &p, json!({"channel": "whatsapp", "mode": "link", "to": "+5491155550000", "template": "welcome"})).await;
    assert_eq!(s, 422, "{b}"); // an e-mail template cannot be a WhatsApp link
    let stuck_to = "stuck@example.com";
    // Put the poller out of the way: claim it ourselves before it can.
    let (_, b) = send(
        &test,
        &p,
        json!({"channel": "email", "to": stuck_to, "template": "welcome"}),
    )
    .await;
    let stuck: mostrador::ids::NotificationId = b["id"].as_str().unwrap().parse().unwrap();
    let claimed =
        mostrador::notifications::store::claim(state, &project_id, &stuck, "crashed-attempt")
            .await
            .unwrap();
    if claimed.is_some() {
        stack.clock().advance(time::Duration::seconds(120));
        let message =
            json!({"v": 1, "project_id": p.id, "notification_id": stuck.to_string()}).to_string();
        state
            .sqs
            .send_message()
            .queue_url(&queue)
            .message_body(&message)
            .send()
            .await
            .unwrap();
        let n = wait_status(&test, &p, &stuck.to_string(), "failed", 45).await;
        assert_eq!(n["reason"], "outcome_unknown");
        assert!(mail_to(&test.api_url, stuck_to).await.is_empty());
    }
    stack.shutdown().await;
}
