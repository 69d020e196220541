use mostrador_tests::{client, dedicated, expect_problem, shared};
use serde_json::Value;

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
    let (status, body) = health(&api, "/health").await;
    assert_eq!(status, 503);
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
    let (status, body) = health(&api, "/health").await;
    assert_eq!(status, 200, "{body}");
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
    let (status, body) = health(&api, "/health/dynamodb").await;
    assert_eq!(status, 503);
    assert_eq!(body["detail"], "cannot connect to DynamoDB");
    client()
        .post(format!("{api}/_local/emulators/dynamodb/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(health(&api, "/health/dynamodb").await.0, 200);
    stack.shutdown().await;
}
