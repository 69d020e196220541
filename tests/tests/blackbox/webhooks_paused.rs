//! Deliveries of a deactivated project pause and resume (issue 15, item 6), on a dedicated
//! stack (the clock moves): while the project is inactive a due delivery makes no attempt,
//! counts none and does not fail; once it is active again the retry sweeper brings it back and
//! it is delivered.

use super::webhooks::unique_path;
use super::webhooks::{create_endpoint, get_json, poll_status, post_event, received, script};
use mostrador::ids::{DeliveryId, ProjectId};
use mostrador::webhooks::{delivery_store, dispatch};
use mostrador_tests::dedicated;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn deliveries_of_an_inactive_project_pause_then_resume_on_activation() {
    let stack = dedicated().await;
    let t = mostrador_tests::test_stack(&stack);
    let p = t.project(None).await;
    let path = unique_path("paused");
    script(&t.receiver_url, &path, json!([{"status": 500}])).await;
    create_endpoint(&t, &p, &format!("{}{path}", t.receiver_url), json!(["*"])).await;
    let ev = post_event(&t, &p, json!({"type": "order.created", "data": {}})).await;
    let v = get_json(
        &t,
        &p,
        &format!("/v1/events/{}", ev["id"].as_str().unwrap()),
    )
    .await;
    let dlv = v["deliveries"][0]["id"].as_str().unwrap().to_owned();
    // Attempt 1 fails (500); the next is due ~5 s later.
    assert_eq!(received(&t.receiver_url, &path, 1, 10_000).await.len(), 1);
    let state = stack.state("dispatcher").unwrap();
    let (pid, did): (ProjectId, DeliveryId) = (p.id.parse().unwrap(), dlv.parse().unwrap());
    for _ in 0..100 {
        let d = delivery_store::get(state, &pid, &did)
            .await
            .unwrap()
            .unwrap();
        if d.attempts == 1 && d.last_attempt_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let admin = |active: bool| {
        let t = t.clone();
        let id = p.id.clone();
        async move {
            let r = t
                .admin(
                    Method::PATCH,
                    &format!("/admin/projects/{id}"),
                    Some(json!({"active": active})),
                )
                .await;
            assert_eq!(r.status(), 200);
        }
    };
    admin(false).await;
    // Due now: the dispatcher (directly, and through the queue's own delayed message) pauses.
    stack.clock().advance(time::Duration::seconds(8));
    dispatch::process(state, &pid, &did).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let d = delivery_store::get(state, &pid, &did)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, delivery_store::PENDING);
    assert_eq!(d.attempts, 1, "an attempt was made for an inactive project");
    assert_eq!(d.last_error_class.as_deref(), Some("project_inactive"));
    assert_eq!(received(&t.receiver_url, &path, 2, 300).await.len(), 1);

    // Reactivated: the next sweep after the pause brings it back, and it is delivered.
    admin(true).await;
    stack
        .clock()
        .advance(time::Duration::milliseconds(dispatch::PAUSE_MS + 1_000));
    let r = mostrador_tests::client()
        .post(format!("{}/_local/schedules/retry-sweeper/run", t.api_url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let d = poll_status(&t, &p, &dlv, "succeeded").await;
    assert_eq!(d["attempts"], 2, "{d}");
    assert_eq!(received(&t.receiver_url, &path, 2, 5_000).await.len(), 2);
    stack.shutdown().await;
}
