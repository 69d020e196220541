//! The shared Idempotency-Key mechanism against DynamoDB Local: replay, conflicting body,
//! concurrent duplicate, expiry, 5xx release, per-project scope. In process, with the stack's
//! operator state (no function's IAM role: these exercise the shared mechanism, not one route).

use mostrador::admin::{self, NewProject};
use mostrador::http::{json, ApiRequest};
use mostrador::tenancy::{idempotency, Caller};
use mostrador::{ApiError, AppState};
use mostrador_tests::dedicated;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn request(body: &str, key: &str) -> ApiRequest {
    let event = json!({
        "version": "2.0",
        "routeKey": "POST /v1/things",
        "rawPath": "/v1/things",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "idempotency-key": key},
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "127.0.0.1", "domainPrefix": "127",
            "http": {"method": "POST", "path": "/v1/things", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": ulid_like(), "routeKey": "POST /v1/things", "stage": "$default",
            "time": "22/Nov/2026:04:00:00 +0000", "timeEpoch": 1795320000000u64
        },
        "body": body,
        "isBase64Encoded": false
    });
    ApiRequest::from_lambda(lambda_http::request::from_str(&event.to_string()).unwrap())
}

fn ulid_like() -> String {
    format!(
        "req-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

async fn caller(state: &AppState, name: &str) -> Caller {
    let (project, key) = admin::create_project(
        state,
        NewProject {
            name: name.into(),
            domain: "idem.example.com".into(),
            plan: None,
            contact_email: None,
            email_from: None,
        },
    )
    .await
    .unwrap();
    Caller {
        project,
        key_id: key.key_id,
        idempotency: Default::default(),
    }
}

async fn call(
    state: &AppState,
    caller: &Caller,
    body: &str,
    key: &str,
    counter: &Arc<AtomicU32>,
    delay: Duration,
) -> Result<(u16, Value, bool), ApiError> {
    let req = request(body, key);
    let counter = counter.clone();
    let response = idempotency::once(state, caller, &req, || async move {
        tokio::time::sleep(delay).await;
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        json(http::StatusCode::CREATED, &json!({"run": n}))
    })
    .await?;
    let replayed = response.headers().contains_key("idempotent-replayed");
    let status = response.status().as_u16();
    let body: Value = match response.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
        _ => Value::Null,
    };
    Ok((status, body, replayed))
}

#[tokio::test]
async fn idempotency_keys_replay_conflict_expire_and_stay_per_project() {
    let stack = dedicated().await;
    let state = stack.operator_state();
    let a = caller(state, "Idem A").await;
    let b = caller(state, "Idem B").await;
    let runs = Arc::new(AtomicU32::new(0));
    let none = Duration::ZERO;

    // Replay: the handler runs once; the second answer is the first, marked as replayed.
    let first = call(state, &a, r#"{"x":1}"#, "key-1", &runs, none)
        .await
        .unwrap();
    let second = call(state, &a, r#"{"x":1}"#, "key-1", &runs, none)
        .await
        .unwrap();
    assert_eq!((first.0, first.2), (201, false));
    assert_eq!((second.0, &second.1, second.2), (201, &first.1, true));
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // Same key, different body: 409 and nothing runs.
    let err = call(state, &a, r#"{"x":2}"#, "key-1", &runs, none)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status().as_u16(), err.code()),
        (409, "idempotency_key_reused")
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // Another project may use the same key.
    let other = call(state, &b, r#"{"x":1}"#, "key-1", &runs, none)
        .await
        .unwrap();
    assert_eq!((other.0, other.2), (201, false));
    assert_eq!(runs.load(Ordering::SeqCst), 2);

    // A concurrent duplicate while the first is running: 409, the handler runs once.
    let slow = call(
        state,
        &a,
        r#"{"y":1}"#,
        "key-2",
        &runs,
        Duration::from_millis(600),
    );
    let dup = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        call(state, &a, r#"{"y":1}"#, "key-2", &runs, none).await
    };
    let (slow, dup) = tokio::join!(slow, dup);
    assert_eq!(slow.unwrap().0, 201);
    let err = dup.unwrap_err();
    assert_eq!(
        (err.status().as_u16(), err.code()),
        (409, "idempotency_request_in_progress")
    );
    assert_eq!(runs.load(Ordering::SeqCst), 3);

    // A 5xx answer is not kept: the same key runs again.
    let req = request(r#"{"z":1}"#, "key-3");
    let failed = idempotency::once(state, &a, &req, || async {
        Err(ApiError::internal(std::io::Error::other("boom")))
    })
    .await;
    assert_eq!(failed.unwrap_err().status().as_u16(), 500);
    let retried = call(state, &a, r#"{"z":1}"#, "key-3", &runs, none)
        .await
        .unwrap();
    assert_eq!((retried.0, retried.2), (201, false));
    assert_eq!(runs.load(Ordering::SeqCst), 4);

    // Invalid keys are a 400.
    let err = call(state, &a, "{}", &"k".repeat(256), &runs, none)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status().as_u16(), err.code()),
        (400, "idempotency_key_invalid")
    );

    // After 24 h the record counts as absent, even though DynamoDB Local never deletes it.
    stack.clock().advance(time::Duration::hours(25));
    let after = call(state, &a, r#"{"x":1}"#, "key-1", &runs, none)
        .await
        .unwrap();
    assert_eq!((after.0, after.2), (201, false));
    assert_eq!(runs.load(Ordering::SeqCst), 5);
    stack.shutdown().await;
}

#[tokio::test]
async fn a_monthly_quota_is_never_exceeded_even_concurrently() {
    use mostrador::tenancy::usage::{self, Metric};
    let stack = dedicated().await;
    let state = stack.operator_state();
    let mut project = caller(state, "Quota").await.project;
    project.limit_overrides.emails_per_month = Some(5);
    let now = state.clock.now();
    let attempts = (0..20).map(|_| usage::consume(state, &project, Metric::Emails, now));
    let results = futures::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 5);
    let refused = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(
        (refused.status().as_u16(), refused.code()),
        (429, "quota_exceeded")
    );
    assert_eq!(refused.problem("r")["metric"], "emails");
    let counted = usage::get(state, &project.id, &usage::month(now))
        .await
        .unwrap();
    assert_eq!(counted.counters["emails"], 5);
    stack.shutdown().await;
}

/// The guard claims an `Idempotency-Key` concurrently with the rate-limit update (issue 8): a
/// POST the rate limit refuses must leave its key free, so the client's retry runs (not a 409
/// `idempotency_request_in_progress` for the lease's 60 s), and that retry is then replayed.
#[tokio::test]
async fn a_rate_limited_post_leaves_its_key_free_for_the_retry() {
    use reqwest::Method;
    let stack = mostrador_tests::shared();
    let p = stack
        .project(Some(json!({
            "flags": {"webhooks": true},
            "limit_overrides": {"requests_per_second": 1, "requests_per_minute": 1000}
        })))
        .await;
    let post = |key: String| {
        stack
            .call(Method::POST, "/v1/events", &p.key)
            .header("idempotency-key", key)
            .json(&json!({"type": "order.created", "data": {"order_id": "R-1"}}))
            .send()
    };
    // Spend the second's one request, then POST in the same second until one is refused.
    let mut refused = None;
    for attempt in 0..10 {
        let key = format!("limited-{attempt}");
        let spend = stack.call(Method::GET, "/v1/project", &p.key).send();
        let (_, r) = tokio::join!(spend, post(key.clone()));
        if r.unwrap().status() == 429 {
            refused = Some(key);
            break;
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let key = refused.expect("no POST was rate limited in 10 tries");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let retry = post(key.clone()).await.unwrap();
    assert_eq!(
        retry.status(),
        202,
        "the refused request's key was left claimed"
    );
    assert!(!retry.headers().contains_key("idempotent-replayed"));
    let first: Value = retry.json().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let replay = post(key).await.unwrap();
    assert_eq!(replay.status(), 202);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    // POST /v1/events answers without Location; the replay must not invent an empty one.
    assert!(!replay.headers().contains_key("location"));
    let replayed: Value = replay.json().await.unwrap();
    assert_eq!(replayed["id"], first["id"]);
}
