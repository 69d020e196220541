//! SES delivery feedback end to end: the devstack plays SES publishing an event for a message
//! moto accepted; moto's SNS delivers it to the subscribed queue from template.yaml; the
//! `email-feedback` function moves the notification; a permanent bounce reaches the project's
//! webhooks as `notification.failed`.

use super::notifications_support::*;
use super::webhooks::{base64_decode, create_endpoint, python_verifies, received, unique_path};
use mostrador_tests::{expect_problem, shared, TestProject, TestStack};
use serde_json::{json, Value};
use std::time::Duration;

/// Sends one e-mail and waits for `sent`; returns (notification id, SES message id).
async fn sent_email(stack: &TestStack, p: &TestProject, tag: &str) -> (String, String) {
    let to = format!("{tag}+{}@example.com", p.id.to_lowercase());
    let (status, body) = send(
        stack,
        p,
        json!({"channel": "email", "to": to, "template": "receipt", "variables": {"n": tag}}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let n = wait_status(stack, p, &id, "sent", 20).await;
    (id, n["provider_message_id"].as_str().unwrap().to_owned())
}

/// `POST /_local/mail/{message_id}/events/{kind}`.
async fn ses_publishes(stack: &TestStack, message_id: &str, kind: &str) -> reqwest::Response {
    mostrador_tests::client()
        .post(format!(
            "{}/_local/mail/{message_id}/events/{kind}",
            stack.api_url
        ))
        .send()
        .await
        .unwrap()
}

async fn publish(stack: &TestStack, message_id: &str, kind: &str) {
    let r = ses_publishes(stack, message_id, kind).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
}

fn statuses(n: &Value) -> Vec<String> {
    n["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn ses_bounces_complaints_and_deliveries_update_notifications() {
    let stack = shared();
    let p = email_project(stack).await;
    put_template(
        stack,
        &p,
        "receipt",
        json!({"kind": "email", "subject": "Recibo {{ n }}", "text": "Gracias {{ n }}"}),
    )
    .await;
    let path = unique_path("ses");
    let ep = create_endpoint(
        stack,
        &p,
        &format!("{}{path}", stack.receiver_url),
        json!(["notification.*"]),
    )
    .await;
    let secret = ep["secret"].as_str().unwrap().to_owned();
    let (bounced, bounced_mid) = sent_email(stack, &p, "bounce").await;
    let (complained, complained_mid) = sent_email(stack, &p, "complaint").await;
    let (soft, soft_mid) = sent_email(stack, &p, "soft").await;

    // A permanent bounce: `bounced` with SES's subtype, and `notification.failed` once.
    publish(stack, &bounced_mid, "bounce").await;
    let n = wait_status(stack, &p, &bounced, "bounced", 20).await;
    assert_eq!(n["reason"], "ses:bounce:General");
    assert_eq!(statuses(&n), ["pending", "sending", "sent", "bounced"]);
    let reqs = received(&stack.receiver_url, &path, 1, 15_000).await;
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert!(python_verifies(&secret, &reqs[0]));
    let event: Value =
        serde_json::from_slice(&base64_decode(reqs[0]["body_base64"].as_str().unwrap())).unwrap();
    assert_eq!(event["type"], "notification.failed");
    assert_eq!(event["data"]["notification_id"], bounced.as_str());
    assert_eq!(event["data"]["status"], "bounced");
    assert_eq!(event["data"]["reason"], "ses:bounce:General");

    // Delivered, then a complaint, which outranks it; a late duplicate delivery changes nothing.
    publish(stack, &complained_mid, "delivery").await;
    wait_status(stack, &p, &complained, "delivered", 20).await;
    publish(stack, &complained_mid, "complaint").await;
    let n = wait_status(stack, &p, &complained, "complained", 20).await;
    assert_eq!(n["reason"], "ses:complaint:abuse");
    publish(stack, &complained_mid, "delivery").await;

    // A soft bounce is SES still trying: nothing changes, and the delivery that follows counts.
    publish(stack, &soft_mid, "soft-bounce").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    publish(stack, &soft_mid, "delivery").await;
    let n = wait_status(stack, &p, &soft, "delivered", 20).await;
    assert_eq!(statuses(&n), ["pending", "sending", "sent", "delivered"]);

    let n = get(stack, &p, &complained).await;
    assert_eq!(
        statuses(&n),
        ["pending", "sending", "sent", "delivered", "complained"]
    );
    // Only the bounce was a failure the shop hears about.
    let reqs = received(&stack.receiver_url, &path, 2, 1_500).await;
    assert_eq!(reqs.len(), 1, "{reqs:?}");
}

#[tokio::test]
async fn the_local_ses_event_endpoint_refuses_what_ses_would_not_publish() {
    let stack = shared();
    expect_problem(
        ses_publishes(stack, "no-such-message", "bounce").await,
        404,
        "unknown_message",
    )
    .await;
    let p = email_project(stack).await;
    put_template(
        stack,
        &p,
        "receipt",
        json!({"kind": "email", "subject": "Recibo {{ n }}", "text": "Gracias {{ n }}"}),
    )
    .await;
    let (_, mid) = sent_email(stack, &p, "open").await;
    // Opens are not among the configuration set's MatchingEventTypes.
    expect_problem(
        ses_publishes(stack, &mid, "open").await,
        409,
        "event_type_not_published",
    )
    .await;
}
