//! Authentication failure modes, rotation, revocation, deactivation, rate limits and the
//! cross-project pattern, all through the local gateway.

use mostrador::tenancy::apikey;
use mostrador_tests::{expect_problem, shared, TestProject, TestStack};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn get_project(stack: &TestStack, key: &str) -> reqwest::Response {
    stack
        .call(Method::GET, "/v1/project", key)
        .send()
        .await
        .unwrap()
}

async fn rotate(stack: &TestStack, p: &TestProject, grace: Option<u32>) -> TestProject {
    let body = grace.map(|g| json!({"grace_seconds": g}));
    let response = stack
        .admin(
            Method::POST,
            &format!("/admin/projects/{}/keys/{}/rotate", p.id, p.key_id),
            body,
        )
        .await;
    assert_eq!(response.status(), 201);
    let issued: Value = response.json().await.unwrap();
    TestProject {
        id: p.id.clone(),
        key: issued["api_key"].as_str().unwrap().to_owned(),
        key_id: issued["key_id"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn a_valid_key_reads_its_project_with_rate_limit_headers() {
    let stack = shared();
    let p = stack.project(None).await;
    let response = get_project(stack, &p.key).await;
    assert_eq!(response.status(), 200);
    for header in [
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "ratelimit-policy",
        "x-request-id",
    ] {
        assert!(response.headers().contains_key(header), "{header}");
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], p.id.as_str());
    assert_eq!(body["plan"], "pro");
    assert_eq!(body["limits"]["requests_per_minute"], 2000);
    assert_eq!(body["flags"]["payments.mercadopago"], true);
    assert!(body["usage"]["counters"]["requests"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn every_authentication_failure_has_its_own_code() {
    let stack = shared();
    let p = stack.project(None).await;
    let missing = stack
        .call(Method::GET, "/v1/project", "")
        .send()
        .await
        .unwrap();
    expect_problem(missing, 401, "api_key_missing").await;
    let no_header = mostrador_tests::client()
        .get(format!("{}/v1/project", stack.api_url))
        .send()
        .await
        .unwrap();
    let body = expect_problem(no_header, 401, "api_key_missing").await;
    assert!(body["detail"].as_str().unwrap().contains("X-API-KEY"));

    for malformed in ["sk_live_123", "mk_live_short", &p.key[..p.key.len() - 1]] {
        expect_problem(
            get_project(stack, malformed).await,
            401,
            "api_key_malformed",
        )
        .await;
    }
    let mut typo = p.key.clone().into_bytes();
    let i = apikey::PREFIX.len() + 20;
    typo[i] = if typo[i] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    let body = expect_problem(get_project(stack, &typo).await, 401, "api_key_malformed").await;
    assert!(body["detail"].as_str().unwrap().contains("checksum"));

    let unknown = apikey::generate();
    expect_problem(
        get_project(stack, unknown.plain().expose()).await,
        401,
        "api_key_invalid",
    )
    .await;
    let wrong_secret = apikey::forge_for_id(&p.key_id);
    expect_problem(
        get_project(stack, wrong_secret.expose()).await,
        401,
        "api_key_invalid",
    )
    .await;
}

#[tokio::test]
async fn revocation_takes_effect_on_the_next_request_of_a_warm_gateway() {
    let stack = shared();
    let p = stack.project(None).await;
    for _ in 0..3 {
        assert_eq!(get_project(stack, &p.key).await.status(), 200);
    }
    let revoked = stack
        .admin(
            Method::POST,
            &format!("/admin/projects/{}/keys/{}/revoke", p.id, p.key_id),
            None,
        )
        .await;
    assert_eq!(revoked.status(), 200);
    expect_problem(get_project(stack, &p.key).await, 401, "api_key_revoked").await;
}

#[tokio::test]
async fn rotation_without_grace_ends_the_old_key_at_once() {
    let stack = shared();
    let p = stack.project(None).await;
    assert_eq!(get_project(stack, &p.key).await.status(), 200);
    let new = rotate(stack, &p, None).await;
    assert_ne!(new.key, p.key);
    expect_problem(get_project(stack, &p.key).await, 401, "api_key_revoked").await;
    assert_eq!(get_project(stack, &new.key).await.status(), 200);
}

#[tokio::test]
async fn rotation_with_grace_keeps_the_old_key_until_the_grace_ends() {
    let stack = shared();
    let p = stack.project(None).await;
    assert_eq!(get_project(stack, &p.key).await.status(), 200);
    let new = rotate(stack, &p, Some(2)).await;
    assert_eq!(
        get_project(stack, &p.key).await.status(),
        200,
        "old key inside its grace"
    );
    assert_eq!(get_project(stack, &new.key).await.status(), 200);
    let keys: Value = stack
        .admin(Method::GET, &format!("/admin/projects/{}/keys", p.id), None)
        .await
        .json()
        .await
        .unwrap();
    let listed = keys.to_string();
    assert!(
        !listed.contains(&p.key) && !listed.contains(&new.key),
        "keys are never listed"
    );
    assert!(!listed.contains("argon2"), "hashes are never listed");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    expect_problem(get_project(stack, &p.key).await, 401, "api_key_expired").await;
    assert_eq!(get_project(stack, &new.key).await.status(), 200);
}

#[tokio::test]
async fn a_deactivated_project_is_refused_until_activated_again() {
    let stack = shared();
    let p = stack.project(None).await;
    assert_eq!(get_project(stack, &p.key).await.status(), 200);
    let path = format!("/admin/projects/{}", p.id);
    stack
        .admin(Method::PATCH, &path, Some(json!({"active": false})))
        .await;
    expect_problem(get_project(stack, &p.key).await, 403, "project_inactive").await;
    stack
        .admin(Method::PATCH, &path, Some(json!({"active": true})))
        .await;
    assert_eq!(get_project(stack, &p.key).await.status(), 200);
}

#[tokio::test]
async fn unknown_keys_cost_the_same_order_of_time_as_wrong_secrets() {
    let stack = shared();
    let p = stack.project(None).await;
    async fn median(stack: &TestStack, key: &str) -> Duration {
        let mut times = Vec::new();
        for _ in 0..9 {
            let started = Instant::now();
            let response = get_project(stack, key).await;
            times.push(started.elapsed());
            assert_eq!(response.status(), 401);
        }
        times.sort();
        times[times.len() / 2]
    }
    // Warm the dummy hash first so its one-off creation is not measured.
    median(stack, apikey::generate().plain().expose()).await;
    let unknown = median(stack, apikey::generate().plain().expose()).await;
    let wrong = median(stack, apikey::forge_for_id(&p.key_id).expose()).await;
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!(
        (0.33..3.0).contains(&ratio),
        "unknown {unknown:?} vs wrong secret {wrong:?}"
    );
}

#[tokio::test]
async fn exactly_the_limit_gets_through_under_concurrency() {
    let stack = shared();
    let limit = 7;
    let p = stack
        .project(Some(
            json!({"limit_overrides": {"requests_per_minute": limit, "requests_per_second": 1000}}),
        ))
        .await;
    // Stay clear of a minute boundary, which would open a second window mid-test.
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second > 50 {
        tokio::time::sleep(Duration::from_secs(61 - second)).await;
    }
    let requests = (0..40).map(|_| get_project(stack, &p.key));
    let responses = futures::future::join_all(requests).await;
    let ok = responses.iter().filter(|r| r.status() == 200).count();
    let limited: Vec<_> = responses
        .into_iter()
        .filter(|r| r.status() == 429)
        .collect();
    assert_eq!(ok, limit as usize, "exactly the limit succeeds");
    assert_eq!(limited.len(), 40 - limit as usize);
    let first = limited.into_iter().next().unwrap();
    assert!(first.headers().contains_key("retry-after"));
    assert_eq!(first.headers()["ratelimit-remaining"], "0");
    expect_problem(first, 429, "rate_limited").await;
}

#[tokio::test]
async fn the_per_second_limit_holds_too() {
    let stack = shared();
    let p = stack
        .project(Some(
            json!({"limit_overrides": {"requests_per_second": 3, "requests_per_minute": 1000}}),
        ))
        .await;
    let responses = futures::future::join_all((0..20).map(|_| get_project(stack, &p.key))).await;
    let ok = responses.iter().filter(|r| r.status() == 200).count();
    // 20 requests land in one or two seconds: at most two windows of 3.
    assert!((3..=6).contains(&ok), "{ok} succeeded");
    let limited = responses.into_iter().find(|r| r.status() == 429).unwrap();
    assert_eq!(limited.headers()["retry-after"], "1");
}

#[tokio::test]
async fn a_project_sees_only_itself() {
    let stack = shared();
    let (a, b) = (stack.project(None).await, stack.project(None).await);
    let seen_by_b: Value = get_project(stack, &b.key).await.json().await.unwrap();
    assert_eq!(seen_by_b["id"], b.id.as_str());
    assert!(!seen_by_b.to_string().contains(&a.id));
    // The admin API's id-bearing routes do not exist on the public API: a project cannot
    // reach them, with or without another project's id.
    let response = stack
        .call(Method::GET, &format!("/admin/projects/{}", a.id), &b.key)
        .send()
        .await
        .unwrap();
    let refused = expect_problem(response, 403, "operator_auth_required").await;
    // The gateway's own problems are shaped like the functions' (schemathesis found it lacking).
    assert!(refused["request_id"]
        .as_str()
        .is_some_and(|id| id.len() == 26));
}

#[tokio::test]
async fn flags_and_plans_are_changed_by_operators_and_seen_by_the_project() {
    let stack = shared();
    let p = stack
        .project(Some(
            json!({"plan": "free", "flags": {"payments.mercadopago": false}}),
        ))
        .await;
    let body: Value = get_project(stack, &p.key).await.json().await.unwrap();
    assert_eq!(body["plan"], "free");
    assert_eq!(body["limits"]["requests_per_second"], 10);
    assert_eq!(body["flags"]["payments.mercadopago"], false);
    assert_eq!(body["flags"]["webhooks"], true);
    let bad = stack
        .admin(
            Method::PATCH,
            &format!("/admin/projects/{}", p.id),
            Some(json!({"flags": {"teleport": true}, "plan": "gold"})),
        )
        .await;
    let problem = expect_problem(bad, 422, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["plan", "flags.teleport"]);
}
