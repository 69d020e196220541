use mostrador::health::{cache::TTL, Component};
use mostrador_tests::{client, dedicated, expect_problem, shared};
use serde_json::Value;
use std::time::{Duration, Instant};

const COMPONENTS: [&str; 4] = ["dynamodb", "sqs", "ses", "secretsmanager"];

#[tokio::test]
async fn health_reports_every_component_ok() {
    let stack = shared();
    let response = client()
        .get(format!("{}/health", stack.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let names: Vec<&str> = body["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["component"].as_str().unwrap())
        .collect();
    assert_eq!(names, COMPONENTS);
    for component in body["components"].as_array().unwrap() {
        assert_eq!(component["status"], "ok", "{component}");
        assert!(component["latency_ms"].is_u64());
    }
}

#[tokio::test]
async fn each_component_can_be_checked_alone() {
    let stack = shared();
    for name in COMPONENTS {
        let response = client()
            .get(format!("{}/health/{name}", stack.api_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{name}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["component"], name);
        assert_eq!(body["status"], "ok");
    }
}

#[tokio::test]
async fn unknown_component_is_a_404_problem() {
    let stack = shared();
    let response = client()
        .get(format!("{}/health/redis", stack.api_url))
        .send()
        .await
        .unwrap();
    let body = expect_problem(response, 404, "unknown_component").await;
    assert!(body["detail"].as_str().unwrap().contains("dynamodb"));
}

async fn health(api: &str, path: &str) -> (u16, Value) {
    let response = client().get(format!("{api}{path}")).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Polls `path` until it answers `status`, which the cache promises within its TTL plus one
/// probe's timeout (HEALTH_TIMEOUT_MS, 2 s) of the dependency's change; fails after that bound
/// (plus 1 s of slack for the local gateway).
async fn health_becomes(api: &str, path: &str, status: u16) -> Value {
    health_until(api, path, |got, _| got == status).await
}

/// Like [`health_becomes`], for any condition on the answer (components cached at slightly
/// different instants may expire a few milliseconds apart).
async fn health_until(api: &str, path: &str, done: impl Fn(u16, &Value) -> bool) -> Value {
    let deadline = Instant::now() + TTL + Duration::from_secs(3);
    loop {
        let (got, body) = health(api, path).await;
        if done(got, &body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{path} still {got} after the cache's bound: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn rapid_hits_share_one_probe_per_component() {
    let stack = dedicated().await;
    let api = stack.api_url.clone();
    let state = stack.state("health").unwrap();
    let before = state.health.probes(Component::Secretsmanager);
    let hits = (0..20).map(|i| {
        let path = if i % 4 == 0 {
            "/health/secretsmanager"
        } else {
            "/health"
        };
        health(&api, path)
    });
    let started = Instant::now();
    for (status, body) in futures::future::join_all(hits).await {
        assert_eq!(status, 200, "{body}");
    }
    assert!(
        started.elapsed() < TTL,
        "the hits did not fit in one window"
    );
    let probes = state.health.probes(Component::Secretsmanager) - before;
    assert!(
        probes <= 1,
        "20 hits made {probes} billed Secrets Manager calls"
    );
    // Past the window the next hit probes again: the answer is never older than the TTL.
    tokio::time::sleep(TTL).await;
    let counted = state.health.probes(Component::Secretsmanager);
    assert_eq!(health(&api, "/health").await.0, 200);
    assert_eq!(state.health.probes(Component::Secretsmanager), counted + 1);
    stack.shutdown().await;
}

#[tokio::test]
async fn a_stopped_dependency_turns_health_503_and_recovers_without_a_gateway_restart() {
    let stack = dedicated().await;
    let api = stack.api_url.clone();
    let http = client();
    assert_eq!(health(&api, "/health").await.0, 200);

    let stopped = http
        .post(format!("{api}/_local/emulators/moto/stop"))
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 200);
    let moto_down = |status: u16, body: &Value| {
        status == 503
            && body["components"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["status"] == "down")
                .count()
                == 3
    };
    let body = health_until(&api, "/health", moto_down).await;
    assert_eq!(body["status"], "down");
    let by_name = |name: &str| {
        body["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["component"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name("dynamodb")["status"], "ok");
    for name in ["sqs", "ses", "secretsmanager"] {
        let component = by_name(name);
        assert_eq!(component["status"], "down", "{name}");
        assert!(
            component["detail"]
                .as_str()
                .unwrap()
                .contains("cannot connect"),
            "{component}"
        );
    }
    let (status, one) = health(&api, "/health/sqs").await;
    assert_eq!((status, one["status"].as_str()), (503, Some("down")));

    let started = http
        .post(format!("{api}/_local/emulators/moto/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 200);
    health_becomes(&api, "/health", 200).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn a_stopped_database_is_reported_as_such() {
    let stack = dedicated().await;
    let api = stack.api_url.clone();
    client()
        .post(format!("{api}/_local/emulators/dynamodb/stop"))
        .send()
        .await
        .unwrap();
    let body = health_becomes(&api, "/health/dynamodb", 503).await;
    assert_eq!(body["detail"], "cannot connect to DynamoDB");
    client()
        .post(format!("{api}/_local/emulators/dynamodb/start"))
        .send()
        .await
        .unwrap();
    health_becomes(&api, "/health/dynamodb", 200).await;
    stack.shutdown().await;
}
