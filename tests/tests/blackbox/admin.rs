//! The operator API: validation, listing, credentials (never echoed), usage.

use mostrador_tests::{expect_problem, shared};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn creating_a_project_validates_every_field() {
    let stack = shared();
    let response = stack
        .admin(
            Method::POST,
            "/admin/projects",
            Some(json!({"name": "", "domain": "not a domain", "plan": "gold"})),
        )
        .await;
    let problem = expect_problem(response, 422, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "domain", "plan"]);
    let unknown_field = stack
        .admin(
            Method::POST,
            "/admin/projects",
            Some(json!({"name": "x", "domain": "x.example.com", "owner": "me"})),
        )
        .await;
    expect_problem(unknown_field, 422, "validation_failed").await;
}

#[tokio::test]
async fn projects_are_listed_with_a_cursor_and_unknown_ones_are_404() {
    let stack = shared();
    let (a, b) = (stack.project(None).await, stack.project(None).await);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let path = match &cursor {
            Some(c) => format!("/admin/projects?limit=2&cursor={c}"),
            None => "/admin/projects?limit=2".to_owned(),
        };
        let page: Value = stack
            .admin(Method::GET, &path, None)
            .await
            .json()
            .await
            .unwrap();
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert!(seen.contains(&a.id) && seen.contains(&b.id));
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted, seen,
        "ids in creation order, no duplicates across pages"
    );
    let missing = stack
        .admin(
            Method::GET,
            "/admin/projects/prj_01J00000000000000000000000",
            None,
        )
        .await;
    expect_problem(missing, 404, "not_found").await;
    let garbage = stack
        .admin(Method::GET, "/admin/projects/..%2F..%2Fetc", None)
        .await;
    expect_problem(garbage, 404, "not_found").await;
    let bad_limit = stack
        .admin(Method::GET, "/admin/projects?limit=0", None)
        .await;
    expect_problem(bad_limit, 422, "validation_failed").await;
}

#[tokio::test]
async fn credentials_are_stored_but_never_shown() {
    let stack = shared();
    let p = stack.project(None).await;
    let path = format!("/admin/projects/{}/credentials/mercadopago", p.id);
    let token = "TEST-1234567890123456-112233-abcdefabcdef-42";
    let stored = stack
        .admin(
            Method::PUT,
            &path,
            Some(json!({"access_token": token, "webhook_secret": "s3cr3t-value"})),
        )
        .await;
    assert_eq!(stored.status(), 200);
    let text = stored.text().await.unwrap();
    assert!(!text.contains(token) && !text.contains("s3cr3t-value"));
    let shown: Value = stack
        .admin(Method::GET, &format!("/admin/projects/{}", p.id), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["credentials"], json!(["mercadopago"]));
    assert!(!shown.to_string().contains("s3cr3t-value"));
    let incomplete = stack
        .admin(Method::PUT, &path, Some(json!({"access_token": token})))
        .await;
    let problem = expect_problem(incomplete, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "webhook_secret");
    let unknown = stack
        .admin(
            Method::PUT,
            &format!("/admin/projects/{}/credentials/stripe", p.id),
            Some(json!({})),
        )
        .await;
    expect_problem(unknown, 404, "not_found").await;
}

#[tokio::test]
async fn usage_counts_requests_per_month() {
    let stack = shared();
    let p = stack.project(None).await;
    for _ in 0..3 {
        stack
            .call(Method::GET, "/v1/project", &p.key)
            .send()
            .await
            .unwrap();
    }
    let usage: Value = stack
        .admin(
            Method::GET,
            &format!("/admin/projects/{}/usage", p.id),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(usage["counters"]["requests"], 3);
    let bad = stack
        .admin(
            Method::GET,
            &format!("/admin/projects/{}/usage?month=11-2026", p.id),
            None,
        )
        .await;
    expect_problem(bad, 422, "validation_failed").await;
}
