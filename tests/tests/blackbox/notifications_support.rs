//! Helpers shared by the notifications tests.

use mostrador_tests::{TestProject, TestStack};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// A project that may send e-mail: `email_from` set and its identity created in moto.
pub async fn email_project(stack: &TestStack) -> TestProject {
    let probe = stack.project(None).await;
    let domain = format!("{}.shop.test", probe.id.to_lowercase().replace('_', "-"));
    let patched = stack
        .admin(
            Method::PATCH,
            &format!("/admin/projects/{}", probe.id),
            Some(json!({"email_from": format!("Tienda <no-reply@{domain}>")})),
        )
        .await;
    assert_eq!(patched.status(), 200, "{}", patched.text().await.unwrap());
    let created = mostrador_tests::client()
        .post(format!("{}/_local/mail/identities/{domain}", stack.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    probe
}

pub async fn put_template(stack: &TestStack, p: &TestProject, name: &str, body: Value) -> Value {
    let resp = stack
        .call(Method::PUT, &format!("/v1/templates/{name}"), &p.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 201, "{text}");
    serde_json::from_str(&text).unwrap()
}

pub async fn send(stack: &TestStack, p: &TestProject, body: Value) -> (u16, Value) {
    let resp = stack
        .call(Method::POST, "/v1/notifications", &p.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

pub async fn get(stack: &TestStack, p: &TestProject, id: &str) -> Value {
    let resp = stack
        .call(Method::GET, &format!("/v1/notifications/{id}"), &p.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Polls until the notification's status is `want` (or panics after `secs`).
pub async fn wait_status(
    stack: &TestStack,
    p: &TestProject,
    id: &str,
    want: &str,
    secs: u64,
) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let n = get(stack, p, id).await;
        if n["status"] == want {
            return n;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never reached {want}: {n}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Messages moto's SES accepted for `to`.
pub async fn mail_to(api_url: &str, to: &str) -> Vec<Value> {
    let all: Value = mostrador_tests::client()
        .get(format!("{api_url}/_local/mail"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    all["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m.to_string().contains(to))
        .cloned()
        .collect()
}
