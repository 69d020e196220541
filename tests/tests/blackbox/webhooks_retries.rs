//! Webhook retries on a dedicated stack (the clock moves): the schedule, never early, 410,
//! five days of failures, Retry-After, redirects, a dispatcher killed mid-attempt, redelivered messages, and the
//! 1,000-event benchmark (`#[ignore]`).

use super::webhooks::{
    create_endpoint, get_json, poll_status, post_event, received, script, unique_path,
};
use mostrador::ids::{DeliveryId, ProjectId};
use mostrador::webhooks::dispatch;
use mostrador_tests::{dedicated, TestProject, TestStack};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

async fn sweep(t: &TestStack) {
    let r = mostrador_tests::client()
        .post(format!("{}/_local/schedules/retry-sweeper/run", t.api_url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "sweeper run: {}", r.status());
}

fn rfc(s: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        s.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

async fn first_delivery(t: &TestStack, p: &TestProject, ev: &Value) -> String {
    let v = get_json(t, p, &format!("/v1/events/{}", ev["id"].as_str().unwrap())).await;
    v["deliveries"][0]["id"].as_str().unwrap().to_owned()
}

async fn wait_attempts(t: &TestStack, p: &TestProject, dlv: &str, n: u64) -> Value {
    for _ in 0..100 {
        let d = get_json(t, p, &format!("/v1/webhook-deliveries/{dlv}")).await;
        let done = d["attempt_log"].as_array().is_some_and(|l| {
            l.len() as u64 >= n && l.iter().all(|a| a["state"] != "in_flight_or_interrupted")
        });
        // Recorded on the delivery too (not only in the attempt log): the result is final.
        let recorded = d["attempt_log"]
            .as_array()
            .and_then(|l| l.last())
            .is_some_and(|a| a["started_at"] == d["last_attempt_at"]);
        if d["attempts"].as_u64() >= Some(n) && done && recorded {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("delivery {dlv} never reached {n} attempts");
}

#[tokio::test]
async fn failures_follow_the_schedule_never_early_then_succeed() {
    let stack = dedicated().await;
    let t = mostrador_tests::test_stack(&stack);
    let p = t.project(None).await;
    let path = unique_path("sched");
    script(
        &t.receiver_url,
        &path,
        json!([{"status": 500}, {"status": 500}, {"status": 500}]),
    )
    .await;
    create_endpoint(&t, &p, &format!("{}{path}", t.receiver_url), json!(["*"])).await;
    let ev = post_event(&t, &p, json!({"type": "order.created", "data": {}})).await;
    let dlv = first_delivery(&t, &p, &ev).await;
    let d = wait_attempts(&t, &p, &dlv, 1).await;
    let wait = rfc(&d["next_attempt_at"]) - rfc(&d["last_attempt_at"]);
    assert!(
        wait >= time::Duration::seconds(4) && wait <= time::Duration::seconds(7),
        "{wait}"
    );

    // Early: the dispatcher re-checks the clock and sends nothing.
    let state = stack.state("dispatcher").unwrap();
    let (pid, did): (ProjectId, DeliveryId) = (p.id.parse().unwrap(), dlv.parse().unwrap());
    dispatch::process(state, &pid, &did).await.unwrap();
    assert_eq!(received(&t.receiver_url, &path, 2, 300).await.len(), 1);

    stack.clock().advance(time::Duration::seconds(8));
    sweep(&t).await;
    let d = wait_attempts(&t, &p, &dlv, 2).await;
    let wait = rfc(&d["next_attempt_at"]) - rfc(&d["last_attempt_at"]);
    assert!(
        wait >= time::Duration::minutes(4) && wait <= time::Duration::minutes(6),
        "{wait}"
    );

    stack.clock().advance(time::Duration::minutes(3));
    sweep(&t).await;
    dispatch::process(state, &pid, &did).await.unwrap();
    assert_eq!(
        received(&t.receiver_url, &path, 3, 500).await.len(),
        2,
        "attempt 3 ran early"
    );

    // Past the due time and the grace the sweeper leaves to the (real-time) SQS delay.
    stack.clock().advance(time::Duration::minutes(22));
    sweep(&t).await;
    let d = wait_attempts(&t, &p, &dlv, 3).await;
    let wait = rfc(&d["next_attempt_at"]) - rfc(&d["last_attempt_at"]);
    assert!(
        wait >= time::Duration::minutes(24) && wait <= time::Duration::minutes(36),
        "{wait}"
    );

    stack.clock().advance(time::Duration::minutes(37));
    sweep(&t).await;
    let d = poll_status(&t, &p, &dlv, "succeeded").await;
    let codes: Vec<Value> = d["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(codes, vec![json!(500), json!(500), json!(500), json!(200)]);
    let reqs = received(&t.receiver_url, &path, 4, 1000).await;
    let ids: Vec<&str> = reqs
        .iter()
        .map(|r| super::webhooks::header(r, "webhook-id"))
        .collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "webhook-id is stable across retries"
    );
    let ts: Vec<&str> = reqs
        .iter()
        .map(|r| super::webhooks::header(r, "webhook-timestamp"))
        .collect();
    assert_ne!(ts[0], ts[3], "each attempt has a fresh timestamp");
    // A redelivered message after success records nothing more.
    dispatch::process(state, &pid, &did).await.unwrap();
    let again = get_json(&t, &p, &format!("/v1/webhook-deliveries/{dlv}")).await;
    assert_eq!(again["attempts"], 4);
    stack.shutdown().await;
}

#[tokio::test]
async fn gone_disables_retry_after_is_honoured_redirects_are_not_followed() {
    let stack = dedicated().await;
    let t = mostrador_tests::test_stack(&stack);
    let contact = "ops+gone@shop.example";
    let p = t.project(Some(json!({"contact_email": contact}))).await;
    // 410: disabled, endpoint.disabled event delivered to the watcher endpoint, and the
    // project's contact address told by e-mail.
    let gone = unique_path("gone");
    let watcher = unique_path("watch");
    script(&t.receiver_url, &gone, json!([{"status": 410}])).await;
    let ep = create_endpoint(
        &t,
        &p,
        &format!("{}{gone}", t.receiver_url),
        json!(["order.*"]),
    )
    .await;
    create_endpoint(
        &t,
        &p,
        &format!("{}{watcher}", t.receiver_url),
        json!(["endpoint.*"]),
    )
    .await;
    let ev = post_event(&t, &p, json!({"type": "order.created", "data": {}})).await;
    let dlv = first_delivery(&t, &p, &ev).await;
    let d = poll_status(&t, &p, &dlv, "failed").await;
    assert_eq!(d["attempts"], 1);
    let e = get_json(
        &t,
        &p,
        &format!("/v1/webhook-endpoints/{}", ep["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(e["enabled"], false);
    assert_eq!(e["disabled_reason"], "gone");
    let notified = received(&t.receiver_url, &watcher, 1, 15_000).await;
    assert_eq!(notified.len(), 1);
    let body = notified[0]["body_text"].as_str().unwrap();
    assert!(
        body.contains("endpoint.disabled") && body.contains(ep["id"].as_str().unwrap()),
        "{body}"
    );
    let mail = super::notifications_support::mail_to(&t.api_url, contact).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0]["source"]
        .as_str()
        .unwrap()
        .contains("alerts@mostrador.localhost"));
    let subject = mail[0]["subject"].as_str().unwrap();
    assert!(subject.contains(ep["id"].as_str().unwrap()), "{subject}");
    let text = mail[0]["body"].as_str().unwrap();
    assert!(text.contains("410 Gone") && text.contains(&gone), "{text}");

    // Retry-After (2 h) beats the 5 s schedule.
    let slow = unique_path("slow");
    script(
        &t.receiver_url,
        &slow,
        json!([{"status": 503, "headers": {"Retry-After": "7200"}}]),
    )
    .await;
    let p2 = t.project(None).await;
    create_endpoint(&t, &p2, &format!("{}{slow}", t.receiver_url), json!(["*"])).await;
    let ev = post_event(&t, &p2, json!({"type": "order.created", "data": {}})).await;
    let dlv = first_delivery(&t, &p2, &ev).await;
    let d = wait_attempts(&t, &p2, &dlv, 1).await;
    let wait = rfc(&d["next_attempt_at"]) - rfc(&d["last_attempt_at"]);
    assert!(
        wait >= time::Duration::seconds(7190),
        "Retry-After ignored: {wait}"
    );

    // 302: a failed attempt, the Location is never requested.
    let redirect = unique_path("redir");
    let target = unique_path("target");
    script(
        &t.receiver_url,
        &redirect,
        json!([{"status": 302, "headers": {"Location": format!("{}{target}", t.receiver_url)}}]),
    )
    .await;
    let p3 = t.project(None).await;
    create_endpoint(
        &t,
        &p3,
        &format!("{}{redirect}", t.receiver_url),
        json!(["*"]),
    )
    .await;
    let ev = post_event(&t, &p3, json!({"type": "order.created", "data": {}})).await;
    let dlv = first_delivery(&t, &p3, &ev).await;
    let d = wait_attempts(&t, &p3, &dlv, 1).await;
    assert_eq!(d["attempt_log"][0]["status_code"], 302);
    assert_eq!(d["attempt_log"][0]["error_class"], "http_status");
    assert_eq!(d["status"], "pending");
    assert!(received(&t.receiver_url, &target, 1, 500).await.is_empty());
    stack.shutdown().await;
}

/// The delivery of `ev` to endpoint `whe`.
async fn delivery_to(t: &TestStack, p: &TestProject, ev: &Value, whe: &Value) -> String {
    let v = get_json(t, p, &format!("/v1/events/{}", ev["id"].as_str().unwrap())).await;
    v["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["endpoint_id"] == *whe)
        .and_then(|d| d["id"].as_str())
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn five_days_of_failures_disable_an_endpoint_and_one_success_resets_the_clock() {
    let stack = dedicated().await;
    let t = mostrador_tests::test_stack(&stack);
    let p = t.project(None).await;
    let (failing, recovering, watcher) = (
        unique_path("always500"),
        unique_path("recovers"),
        unique_path("watch5d"),
    );
    script(
        &t.receiver_url,
        &failing,
        json!(vec![json!({"status": 500}); 6]),
    )
    .await;
    script(
        &t.receiver_url,
        &recovering,
        json!([{"status": 500}, {"status": 200}, {"status": 500}]),
    )
    .await;
    let url = |path: &str| format!("{}{path}", t.receiver_url);
    let a = create_endpoint(&t, &p, &url(&failing), json!(["order.*"])).await;
    let b = create_endpoint(&t, &p, &url(&recovering), json!(["order.*"])).await;
    create_endpoint(&t, &p, &url(&watcher), json!(["endpoint.*"])).await;

    // Day 0: both fail; 8 s later the retry fails on A and succeeds on B (B's clock resets).
    let ev = post_event(&t, &p, json!({"type": "order.created", "data": {}})).await;
    let (to_a, to_b) = (
        delivery_to(&t, &p, &ev, &a["id"]).await,
        delivery_to(&t, &p, &ev, &b["id"]).await,
    );
    wait_attempts(&t, &p, &to_a, 1).await;
    wait_attempts(&t, &p, &to_b, 1).await;
    stack.clock().advance(time::Duration::seconds(8));
    sweep(&t).await;
    wait_attempts(&t, &p, &to_a, 2).await;
    poll_status(&t, &p, &to_b, "succeeded").await;
    let endpoint = |e: &Value| format!("/v1/webhook-endpoints/{}", e["id"].as_str().unwrap());
    assert!(get_json(&t, &p, &endpoint(&a)).await["failing_since"].is_string());
    assert!(get_json(&t, &p, &endpoint(&b)).await["failing_since"].is_null());

    // Day 5 (+1 min): the next failure disables A, which has failed since day 0; B has been
    // failing for no time at all and stays on.
    stack
        .clock()
        .advance(time::Duration::days(5) + time::Duration::minutes(1));
    let ev2 = post_event(&t, &p, json!({"type": "order.updated", "data": {}})).await;
    wait_attempts(&t, &p, &delivery_to(&t, &p, &ev2, &a["id"]).await, 1).await;
    wait_attempts(&t, &p, &delivery_to(&t, &p, &ev2, &b["id"]).await, 1).await;
    let (ea, eb) = (
        get_json(&t, &p, &endpoint(&a)).await,
        get_json(&t, &p, &endpoint(&b)).await,
    );
    assert_eq!(
        (&ea["enabled"], &ea["disabled_reason"]),
        (&json!(false), &json!("failing"))
    );
    assert_eq!(eb["enabled"], true, "{eb}");
    assert!(eb["failing_since"].is_string());
    let notified = received(&t.receiver_url, &watcher, 1, 15_000).await;
    assert_eq!(notified.len(), 1);
    let body: Value = serde_json::from_str(notified[0]["body_text"].as_str().unwrap()).unwrap();
    assert_eq!(body["type"], "endpoint.disabled");
    assert_eq!(body["data"]["endpoint_id"], a["id"]);
    assert_eq!(body["data"]["reason"], "failing");
    assert!(received(&t.receiver_url, &watcher, 2, 1_000).await.len() == 1);
    stack.shutdown().await;
}

#[tokio::test]
async fn a_dispatcher_killed_mid_attempt_loses_nothing() {
    let stack = dedicated().await;
    let t = mostrador_tests::test_stack(&stack);
    let p = t.project(None).await;
    let path = unique_path("crash");
    script(
        &t.receiver_url,
        &path,
        json!([{"status": 500}, {"status": 200, "delay_ms": 3000}]),
    )
    .await;
    create_endpoint(&t, &p, &format!("{}{path}", t.receiver_url), json!(["*"])).await;
    let ev = post_event(&t, &p, json!({"type": "order.created", "data": {}})).await;
    let dlv = first_delivery(&t, &p, &ev).await;
    wait_attempts(&t, &p, &dlv, 1).await;
    stack.clock().advance(time::Duration::seconds(8));
    let state = stack.state("dispatcher").unwrap();
    let (pid, did): (ProjectId, DeliveryId) = (p.id.parse().unwrap(), dlv.parse().unwrap());
    // The invocation dies after the request went out, before it recorded the answer.
    let task = tokio::spawn(async move { dispatch::process(state, &pid, &did).await });
    assert_eq!(received(&t.receiver_url, &path, 2, 10_000).await.len(), 2);
    task.abort();
    // Concurrent redelivery of the same message while the attempt is leased: nothing sent.
    dispatch::process(state, &pid, &did).await.unwrap();
    let d = get_json(&t, &p, &format!("/v1/webhook-deliveries/{dlv}")).await;
    assert_eq!(d["status"], "pending");
    assert_eq!(d["attempts"], 2, "the interrupted attempt is counted once");
    assert_eq!(d["attempt_log"][1]["state"], "in_flight_or_interrupted");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(received(&t.receiver_url, &path, 3, 200).await.len(), 2);
    // After the lease the sweeper finds it again; the retry succeeds.
    stack.clock().advance(time::Duration::seconds(61));
    sweep(&t).await;
    let d = poll_status(&t, &p, &dlv, "succeeded").await;
    assert_eq!(d["attempts"], 3);
    stack.shutdown().await;
}

/// 1,000 events to 3 endpoints through the local stack; every delivery accounted for.
/// `cargo test -p mostrador-tests --test blackbox webhooks_retries::benchmark -- --ignored --nocapture`
#[tokio::test]
#[ignore = "benchmark: about six minutes in a debug build"]
async fn benchmark_thousand_events_to_three_endpoints() {
    let stack = dedicated().await;
    let t = mostrador_tests::test_stack(&stack);
    let p = t.project(Some(json!({"limit_overrides": {"requests_per_second": 1000, "requests_per_minute": 100000}}))).await;
    let paths: Vec<String> = (0..3).map(|i| unique_path(&format!("bench{i}"))).collect();
    for path in &paths {
        create_endpoint(&t, &p, &format!("{}{path}", t.receiver_url), json!(["*"])).await;
    }
    let n: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let started = std::time::Instant::now();
    let posts = futures::stream::iter(0..n).map(|i| {
        let t = &t;
        let p = &p;
        async move { post_event(t, p, json!({"type": "order.created", "data": {"n": i}})).await }
    });
    use futures::StreamExt;
    let ids: Vec<Value> = posts.buffer_unordered(16).collect().await;
    let accepted = started.elapsed();
    let deadline = std::time::Instant::now()
        + Duration::from_secs(
            std::env::var("BENCH_DEADLINE_S")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(900),
        );
    for path in &paths {
        let mut got = Vec::new();
        while got.len() < n && std::time::Instant::now() < deadline {
            got = received(&t.receiver_url, path, n, 60_000).await;
        }
        if got.len() < n {
            let pending = get_json(&t, &p, "/v1/webhook-deliveries?status=pending&limit=100").await;
            let failed = get_json(&t, &p, "/v1/webhook-deliveries?status=failed&limit=100").await;
            let first = pending["data"][0]["id"]
                .as_str()
                .unwrap_or("none")
                .to_owned();
            let detail = if first == "none" {
                Value::Null
            } else {
                get_json(&t, &p, &format!("/v1/webhook-deliveries/{first}")).await
            };
            println!("accepted in {accepted:?}; pending page: {}; failed page: {}; first pending: {detail}", pending["data"].as_array().map_or(0, Vec::len), failed["data"].as_array().map_or(0, Vec::len));
        }
        assert_eq!(got.len(), n, "{path}");
        let ids: std::collections::BTreeSet<&str> = got
            .iter()
            .map(|r| super::webhooks::header(r, "webhook-id"))
            .collect();
        assert_eq!(ids.len(), n, "every event exactly once at {path}");
    }
    let delivered = started.elapsed();
    println!(
        "benchmark: {n} events accepted in {accepted:?}; {} deliveries received in {delivered:?}",
        3 * n
    );
    assert_eq!(ids.len(), n);
    let _ = Method::GET;
    stack.shutdown().await;
}
