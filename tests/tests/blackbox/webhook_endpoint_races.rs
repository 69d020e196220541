//! Issue 15 item 7: the shop's PATCH / rotate-secret race the dispatcher's disable (410 Gone or
//! 5 days failing) and each other; no committed change may be lost.

use futures::future::join_all;
use mostrador::ids::{EndpointId, ProjectId};
use mostrador::webhooks::endpoint_store;
use mostrador_tests::{dedicated, TestProject, TestStack};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

async fn endpoint(t: &TestStack, p: &TestProject) -> (ProjectId, EndpointId, String) {
    let r = t
        .call(Method::POST, "/v1/webhook-endpoints", &p.key)
        .json(&json!({"url": format!("{}/races", t.receiver_url), "description": "first"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    (
        p.id.parse().unwrap(),
        body["id"].as_str().unwrap().parse().unwrap(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

/// A project whose request rate is not what these tests measure: a round of PATCHes can exceed
/// the pro plan's per-second limit on a fast machine (CI once saw a 429).
async fn racer(t: &TestStack) -> TestProject {
    t.project(Some(json!({
        "limit_overrides": {"requests_per_second": 10_000, "requests_per_minute": 1_000_000}
    })))
    .await
}

async fn patch(t: &TestStack, p: &TestProject, id: &EndpointId, body: Value) -> Value {
    let r = t
        .call(
            Method::PATCH,
            &format!("/v1/webhook-endpoints/{id}"),
            &p.key,
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_description_patch_never_undoes_a_concurrent_disable() {
    let stack = dedicated().await;
    let state = stack.state("webhooks").unwrap();
    let t = mostrador_tests::test_stack(&stack);
    let p = racer(&t).await;
    let (project, id, _) = endpoint(&t, &p).await;
    for round in 0..15 {
        // The endpoint is enabled; PATCHes of the description race the dispatcher's disable.
        patch(&t, &p, &id, json!({"enabled": true})).await;
        let patches = (0..4).map(|i| {
            let t = &t;
            let p = &p;
            async move { patch(t, p, &id, json!({"description": format!("r{round}-{i}")})).await }
        });
        let disable = async {
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            let now = mostrador::clock::rfc3339(state.clock.now());
            assert!(endpoint_store::disable(state, &project, &id, "gone", &now)
                .await
                .unwrap());
        };
        let (_, ()) = tokio::join!(join_all(patches), disable);
        let e = endpoint_store::require(state, &project, &id).await.unwrap();
        assert!(!e.enabled, "round {round}: a PATCH re-enabled the endpoint");
        assert_eq!(e.disabled_reason.as_deref(), Some("gone"));
        assert!(e.description.starts_with(&format!("r{round}-")));
    }
    // Re-enabling stays possible, and starts a fresh health record.
    let view = patch(&t, &p, &id, json!({"enabled": true})).await;
    assert_eq!(
        (view["enabled"].clone(), view["disabled_reason"].clone()),
        (json!(true), Value::Null)
    );
    // Disabling by hand says so; a dispatcher's reason is never overwritten.
    let view = patch(&t, &p, &id, json!({"enabled": false})).await;
    assert_eq!(view["disabled_reason"], "manual");
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_patches_rotations_and_a_disable_lose_nothing() {
    let stack = dedicated().await;
    let state = stack.state("webhooks").unwrap();
    let t = mostrador_tests::test_stack(&stack);
    let p = racer(&t).await;
    let (project, id, _) = endpoint(&t, &p).await;
    let rotations = (0..8).map(|_| {
        let t = &t;
        let p = &p;
        async move {
            let r = t
                .call(
                    Method::POST,
                    &format!("/v1/webhook-endpoints/{id}/rotate-secret"),
                    &p.key,
                )
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
            let body: Value = r.json().await.unwrap();
            body["secret"].as_str().unwrap().to_owned()
        }
    });
    let descriptions = (0..6).map(|i| {
        let (t, p) = (&t, &p);
        async move { patch(t, p, &id, json!({"description": format!("d{i}")})).await }
    });
    let filters = (0..6).map(|i| {
        let (t, p) = (&t, &p);
        async move { patch(t, p, &id, json!({"filter_types": [format!("order.f{i}")]})).await }
    });
    let disable = async {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let now = mostrador::clock::rfc3339(state.clock.now());
        endpoint_store::disable(state, &project, &id, "gone", &now)
            .await
            .unwrap()
    };
    let (secrets, _, _, disabled) = tokio::join!(
        join_all(rotations),
        join_all(descriptions),
        join_all(filters),
        disable
    );
    assert!(disabled);
    let e = endpoint_store::require(state, &project, &id).await.unwrap();
    assert!(!e.enabled, "the disable was undone");
    assert_eq!(e.disabled_reason.as_deref(), Some("gone"));
    let described: BTreeSet<String> = (0..6).map(|i| format!("d{i}")).collect();
    assert!(described.contains(&e.description), "{}", e.description);
    let filtered: BTreeSet<String> = (0..6).map(|i| format!("order.f{i}")).collect();
    assert!(e.filter_types.len() == 1 && filtered.contains(&e.filter_types[0]));
    // Every secret a rotation handed out still verifies: current, or in its overlap.
    let now_ms = i64::try_from(state.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap();
    let valid: BTreeSet<String> = e
        .secrets
        .iter()
        .filter(|s| s.expires_at_ms.is_none_or(|at| at > now_ms))
        .map(|s| s.secret.clone())
        .collect();
    for s in &secrets {
        assert!(valid.contains(s), "a rotated secret was lost");
    }
    assert_eq!(
        e.secrets
            .iter()
            .filter(|s| s.expires_at_ms.is_none())
            .count(),
        1
    );
    stack.shutdown().await;
}
