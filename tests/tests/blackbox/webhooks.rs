//! Events and webhooks on the shared stack: signed deliveries verified by the Python
//! `standardwebhooks` library (also across a secret rotation), fan-out with filters, validation,
//! limits, recover/retry and cross-project isolation of every route with an id.

use mostrador_tests::{assert_isolated, expect_problem, repo_root, shared, TestProject, TestStack};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};

pub fn unique_path(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "/hooks/{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub async fn script(receiver: &str, path: &str, responses: Value) {
    let r = reqwest::Client::new()
        .post(format!("{receiver}/_receiver/script"))
        .json(&json!({"path": path, "responses": responses}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Recorded requests at `path`, waiting up to `timeout_ms` for at least `min`.
pub async fn received(receiver: &str, path: &str, min: usize, timeout_ms: u64) -> Vec<Value> {
    let r = reqwest::Client::new()
        .get(format!(
            "{receiver}/_receiver/requests?path={path}&min={min}&timeout_ms={timeout_ms}"
        ))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v.as_array()
        .cloned()
        .unwrap_or_else(|| v["requests"].as_array().cloned().unwrap_or_default())
}

pub fn header<'a>(req: &'a Value, name: &str) -> &'a str {
    req["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .and_then(|h| h[1].as_str())
        .unwrap_or("")
}

/// Verifies one recorded request with the reference Python library; returns its verdict.
pub fn python_verifies(secret: &str, req: &Value) -> bool {
    let python = repo_root().join(".tools/pytools/bin/python");
    let script = r#"
import base64, os, sys
from standardwebhooks.webhooks import Webhook
body = base64.b64decode(os.environ["BODY_B64"])
headers = {"webhook-id": os.environ["WH_ID"], "webhook-timestamp": os.environ["WH_TS"], "webhook-signature": os.environ["WH_SIG"]}
try:
    Webhook(os.environ["WH_SECRET"]).verify(body, headers)
    print("ok")
except Exception as e:
    print("fail", type(e).__name__)
"#;
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .env("BODY_B64", req["body_base64"].as_str().unwrap())
        .env("WH_ID", header(req, "webhook-id"))
        .env("WH_TS", header(req, "webhook-timestamp"))
        .env("WH_SIG", header(req, "webhook-signature"))
        .env("WH_SECRET", secret)
        .output()
        .expect("python runs");
    String::from_utf8_lossy(&out.stdout).trim() == "ok"
}

pub async fn create_endpoint(
    stack: &TestStack,
    p: &TestProject,
    url: &str,
    filters: Value,
) -> Value {
    let r = stack
        .call(Method::POST, "/v1/webhook-endpoints", &p.key)
        .json(&json!({"url": url, "filter_types": filters, "description": "test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

pub async fn post_event(stack: &TestStack, p: &TestProject, body: Value) -> Value {
    let r = stack
        .call(Method::POST, "/v1/events", &p.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

pub async fn get_json(stack: &TestStack, p: &TestProject, path: &str) -> Value {
    let r = stack.call(Method::GET, path, &p.key).send().await.unwrap();
    assert_eq!(
        r.status(),
        200,
        "{path}: {}",
        r.text().await.unwrap_or_default()
    );
    r.json().await.unwrap()
}

#[tokio::test]
async fn delivery_is_signed_per_standard_webhooks_and_survives_rotation() {
    let stack = shared();
    let p = stack.project(None).await;
    let path = unique_path("sig");
    let ep = create_endpoint(
        stack,
        &p,
        &format!("{}{path}", stack.receiver_url),
        json!(["order.*"]),
    )
    .await;
    let secret = ep["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    // The secret is shown once: never again on get or list.
    let got = get_json(
        stack,
        &p,
        &format!("/v1/webhook-endpoints/{}", ep["id"].as_str().unwrap()),
    )
    .await;
    assert!(got.get("secret").is_none() && !got.to_string().contains(&secret));

    let ev = post_event(
        stack,
        &p,
        json!({"type": "order.created", "data": {"order_id": "A-1"}}),
    )
    .await;
    let reqs = received(&stack.receiver_url, &path, 1, 15_000).await;
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(header(req, "webhook-id"), ev["id"].as_str().unwrap());
    let body: Value =
        serde_json::from_slice(&base64_decode(req["body_base64"].as_str().unwrap())).unwrap();
    assert_eq!(body["type"], "order.created");
    assert_eq!(body["data"]["order_id"], "A-1");
    assert!(body["timestamp"].is_string());
    assert!(
        python_verifies(&secret, req),
        "python standardwebhooks rejects the delivery"
    );
    assert!(!python_verifies(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        req
    ));

    // Rotation: both secrets verify during the overlap.
    let r = stack
        .call(
            Method::POST,
            &format!(
                "/v1/webhook-endpoints/{}/rotate-secret",
                ep["id"].as_str().unwrap()
            ),
            &p.key,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rotated: Value = r.json().await.unwrap();
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert!(rotated["secret_rotation_ends_at"].is_string());
    post_event(
        stack,
        &p,
        json!({"type": "order.paid", "data": {"order_id": "A-1"}}),
    )
    .await;
    let reqs = received(&stack.receiver_url, &path, 2, 15_000).await;
    assert_eq!(reqs.len(), 2);
    let second = &reqs[1];
    assert_eq!(header(second, "webhook-signature").split(' ').count(), 2);
    assert!(
        python_verifies(&secret, second),
        "old secret must verify during the overlap"
    );
    assert!(
        python_verifies(&new_secret, second),
        "new secret must verify"
    );

    // Delivery log shows the successful attempt.
    let ev_view = get_json(
        stack,
        &p,
        &format!("/v1/events/{}", ev["id"].as_str().unwrap()),
    )
    .await;
    let dlv = ev_view["deliveries"][0]["id"].as_str().unwrap().to_owned();
    let detail = poll_status(stack, &p, &dlv, "succeeded").await;
    assert_eq!(detail["attempt_log"][0]["status_code"], 200);
    assert!(detail["attempt_log"][0]["duration_ms"].is_number());
}

pub fn base64_decode(s: &str) -> Vec<u8> {
    // Tiny standard-base64 decoder (the tests crate has no base64 dependency).
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

pub async fn poll_status(stack: &TestStack, p: &TestProject, dlv: &str, status: &str) -> Value {
    for _ in 0..150 {
        let d = get_json(stack, p, &format!("/v1/webhook-deliveries/{dlv}")).await;
        if d["status"] == status {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("delivery {dlv} never reached {status}");
}

#[tokio::test]
async fn fan_out_follows_filters_and_dedupes() {
    let stack = shared();
    let p = stack.project(None).await;
    let paths: Vec<String> = (0..4).map(|i| unique_path(&format!("fan{i}"))).collect();
    let filters = [
        json!(["order.*"]),
        json!(["order.created"]),
        json!(["payment.updated"]),
        json!(["*"]),
    ];
    for (path, f) in paths.iter().zip(filters) {
        create_endpoint(stack, &p, &format!("{}{path}", stack.receiver_url), f).await;
    }
    let ev = post_event(
        stack,
        &p,
        json!({"type": "order.created", "data": {}, "event_id": "shop-evt-1"}),
    )
    .await;
    assert_eq!(ev["deliveries"], 3);
    let again = post_event(
        stack,
        &p,
        json!({"type": "order.created", "data": {}, "event_id": "shop-evt-1"}),
    )
    .await;
    assert_eq!(again["id"], ev["id"]);
    assert_eq!(again["duplicate"], true);
    for (i, path) in paths.iter().enumerate() {
        let want = if i == 2 { 0 } else { 1 };
        let got = received(
            &stack.receiver_url,
            path,
            want.max(1),
            if want == 0 { 1500 } else { 15_000 },
        )
        .await;
        assert_eq!(got.len(), want, "endpoint {i}");
    }
    let listed = get_json(stack, &p, "/v1/events?type=order.created").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let none = get_json(stack, &p, "/v1/events?type=payment.updated").await;
    assert!(none["data"].as_array().unwrap().is_empty());
    let by_event = get_json(
        stack,
        &p,
        &format!(
            "/v1/webhook-deliveries?event_id={}",
            ev["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(by_event["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn validation_limits_and_flag() {
    let stack = shared();
    let p = stack
        .project(Some(
            json!({"limit_overrides": {"max_webhook_endpoints": 1}}),
        ))
        .await;
    let url = format!("{}{}", stack.receiver_url, unique_path("lim"));
    for (body, field) in [
        (json!({"url": "ftp://x.example/"}), "url"),
        (json!({"url": "https://10.0.0.1/h"}), "url"),
        (
            json!({"url": url, "filter_types": ["ord*"]}),
            "filter_types[0]",
        ),
        (json!({"url": url, "filter_types": []}), "filter_types"),
    ] {
        let r = stack
            .call(Method::POST, "/v1/webhook-endpoints", &p.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = expect_problem(r, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    create_endpoint(stack, &p, &url, json!(["*"])).await;
    let r = stack
        .call(Method::POST, "/v1/webhook-endpoints", &p.key)
        .json(&json!({"url": url}))
        .send()
        .await
        .unwrap();
    expect_problem(r, 409, "endpoint_limit_reached").await;
    let big = "x".repeat(21 * 1024);
    let r = stack
        .call(Method::POST, "/v1/events", &p.key)
        .json(&json!({"type": "order.created", "data": {"big": big}}))
        .send()
        .await
        .unwrap();
    expect_problem(r, 413, "event_too_large").await;
    let r = stack
        .call(Method::POST, "/v1/events", &p.key)
        .json(&json!({"type": "Order", "data": {}}))
        .send()
        .await
        .unwrap();
    expect_problem(r, 422, "validation_failed").await;
    let r = stack
        .call(Method::POST, "/v1/events", &p.key)
        .json(&json!({"type": "order.created", "data": [1]}))
        .send()
        .await
        .unwrap();
    expect_problem(r, 422, "validation_failed").await;
    let off = stack
        .project(Some(json!({"flags": {"webhooks": false}})))
        .await;
    let r = stack
        .call(Method::GET, "/v1/webhook-endpoints", &off.key)
        .send()
        .await
        .unwrap();
    expect_problem(r, 403, "feature_disabled").await;
}

#[tokio::test]
async fn every_route_with_an_id_is_isolated_and_retry_recover_work() {
    let stack = shared();
    let owner = stack.project(None).await;
    let other = stack.project(None).await;
    let path = unique_path("iso");
    script(&stack.receiver_url, &path, json!([{"status": 500}])).await;
    let ep = create_endpoint(
        stack,
        &owner,
        &format!("{}{path}", stack.receiver_url),
        json!(["*"]),
    )
    .await;
    let whe = ep["id"].as_str().unwrap();
    let ev = post_event(stack, &owner, json!({"type": "order.created", "data": {}})).await;
    let evt = ev["id"].as_str().unwrap();
    let ev_view = get_json(stack, &owner, &format!("/v1/events/{evt}")).await;
    let dlv = ev_view["deliveries"][0]["id"].as_str().unwrap().to_owned();
    received(&stack.receiver_url, &path, 1, 15_000).await;

    // Manual retry: one attempt now (the schedule would wait ~5 s), succeeds.
    let r = stack
        .call(
            Method::POST,
            &format!("/v1/webhook-deliveries/{dlv}/retry"),
            &owner.key,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let d = poll_status(stack, &owner, &dlv, "succeeded").await;
    let log = d["attempt_log"].as_array().unwrap();
    assert_eq!(log[0]["status_code"], 500);
    assert_eq!(log[0]["error_class"], "http_status");
    assert_eq!(log.last().unwrap()["trigger"], "manual");

    let since = "2000-01-01T00:00:00Z";
    for (method, p, body, status) in [
        (Method::GET, format!("/v1/events/{evt}"), None, 200),
        (
            Method::GET,
            format!("/v1/webhook-endpoints/{whe}"),
            None,
            200,
        ),
        (
            Method::PATCH,
            format!("/v1/webhook-endpoints/{whe}"),
            Some(json!({"description": "x"})),
            200,
        ),
        (
            Method::POST,
            format!("/v1/webhook-endpoints/{whe}/test"),
            None,
            202,
        ),
        (
            Method::POST,
            format!("/v1/webhook-endpoints/{whe}/recover"),
            Some(json!({"since": since})),
            202,
        ),
        (
            Method::GET,
            format!("/v1/webhook-deliveries/{dlv}"),
            None,
            200,
        ),
        (
            Method::POST,
            format!("/v1/webhook-deliveries/{dlv}/retry"),
            None,
            202,
        ),
        (
            Method::POST,
            format!("/v1/webhook-endpoints/{whe}/rotate-secret"),
            None,
            200,
        ),
        (
            Method::DELETE,
            format!("/v1/webhook-endpoints/{whe}"),
            None,
            204,
        ),
    ] {
        assert_isolated(stack, method, &p, body, &owner, &other, status).await;
    }
    // The foreign project's listings do not show the owner's data either.
    let foreign = get_json(
        stack,
        &other,
        &format!("/v1/webhook-deliveries?endpoint_id={whe}"),
    )
    .await;
    assert!(foreign["data"].as_array().unwrap().is_empty());
}
