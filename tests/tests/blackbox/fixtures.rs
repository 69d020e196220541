//! Every file in `events/` is a real event its function must handle: fixtures cannot rot.
//! Files live in `events/<binary>/`; the expectations below pin the interesting ones.

use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use mostrador::functions::{lookup, Entry};
use mostrador::http::respond;
use mostrador_tests::{dedicated, repo_root};
use std::convert::Infallible;

/// (fixture, expected status). Fixtures not listed must still get a non-5xx answer.
const EXPECTED: &[(&str, u16)] = &[
    ("health/get-health.json", 200),
    ("health/get-health-component.json", 200),
    ("health/get-health-unknown-component.json", 404),
    ("health/default-route.json", 404),
    ("notifications/get-notification-without-key.json", 401),
    ("provider-feedback/post-status-unknown-project.json", 404),
    ("payments/post-payment-no-key.json", 401),
    ("payments/get-payment-no-key.json", 401),
    ("mp-intake/ipn-unknown-project.json", 404),
    ("webhooks/post-event-no-key.json", 401),
    ("webhooks/get-delivery-no-key.json", 401),
];

#[tokio::test]
async fn every_event_fixture_feeds_its_function() {
    let stack = dedicated().await;
    let events = repo_root().join("events");
    let mut seen = Vec::new();
    for dir in std::fs::read_dir(&events).unwrap() {
        let dir = dir.unwrap().path();
        assert!(
            dir.is_dir(),
            "events/ holds one folder per function, found {}",
            dir.display()
        );
        let binary = dir.file_name().unwrap().to_string_lossy().to_string();
        let entry = lookup(&binary).unwrap_or_else(|| panic!("events/{binary}: no such function"));
        let state = stack.state(&binary).unwrap();
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            let name = format!("{binary}/{}", path.file_name().unwrap().to_string_lossy());
            let text = std::fs::read_to_string(&path).unwrap();
            match entry {
                Entry::Http { routes, handler } => {
                    let request: LambdaRequest =
                        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
                    let route = raw["routeKey"].as_str().unwrap();
                    assert!(
                        routes.contains(&route),
                        "{name}: {binary} does not serve {route}"
                    );
                    let mut adapter =
                        Adapter::from(lambda_http::service_fn(move |req| async move {
                            Ok::<_, Infallible>(respond(state, req, handler).await)
                        }));
                    let Ok(response) = adapter
                        .call(LambdaEvent::new(request, Context::default()))
                        .await;
                    let response = serde_json::to_value(&response).unwrap();
                    let status = response["statusCode"].as_u64().unwrap() as u16;
                    match EXPECTED.iter().find(|(f, _)| *f == name) {
                        Some((_, expected)) => assert_eq!(status, *expected, "{name}: {response}"),
                        None => assert!(status < 500, "{name}: {response}"),
                    }
                }
                Entry::Sqs(handler) => {
                    // A batch naming records that do not exist must still be answered (those
                    // messages fail and go back to the queue), never panic.
                    let event: aws_lambda_events::event::sqs::SqsEvent =
                        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                    let count = event.records.len();
                    let response = mostrador::sqs::process_batch(state, event, handler).await;
                    assert!(response.batch_item_failures.len() <= count, "{name}");
                }
                Entry::Schedule(handler) => {
                    let _: serde_json::Value =
                        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                    handler(state)
                        .await
                        .unwrap_or_else(|e| panic!("{name}: scheduled run failed: {e}"));
                }
            }
            seen.push(name);
        }
    }
    for (fixture, _) in EXPECTED {
        assert!(
            seen.iter().any(|s| s == fixture),
            "expected fixture {fixture} is missing"
        );
    }
    stack.shutdown().await;
}
