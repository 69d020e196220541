//! The bench project the routes run against.

use crate::stub::Res;
use mostrador_devstack::Stack;
use serde_json::json;

/// Creates the benchmark project: API key, e-mail identity + template, Mercado Pago
/// credentials, two webhook endpoints. Each step is best effort (reported, not fatal).
pub async fn setup(stack: &Stack) -> Res<(String, String, Vec<String>)> {
    use mostrador::admin::{self, NewProject};
    let mut notes = Vec::new();
    let state = stack.operator_state();
    let (project, key) = admin::create_project(
        state,
        NewProject {
            name: "Bench shop".into(),
            domain: "bench.shop.test".into(),
            plan: Some("pro".into()),
            contact_email: None,
            email_from: Some("Bench <no-reply@bench.shop.test>".into()),
        },
    )
    .await
    .map_err(|e| format!("creating the project: {e}"))?;
    let project_id = project.id.to_string();
    let key = key.api_key;
    let http = reqwest::Client::new();
    fn check(notes: &mut Vec<String>, what: &str, r: Result<reqwest::Response, reqwest::Error>) {
        match r {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => notes.push(format!("{what}: HTTP {}", r.status())),
            Err(e) => notes.push(format!("{what}: {e}")),
        }
    }
    // Limits far above what the benchmark sends: the warm runs measure accepted requests, not
    // 429s (the rate-limit update still runs on every request).
    let r = http
        .patch(format!("{}/admin/projects/{project_id}", stack.api_url))
        .bearer_auth(stack.operator_token())
        .json(&json!({"limit_overrides": {"requests_per_second": 100000, "requests_per_minute": 1000000}}))
        .send()
        .await;
    check(&mut notes, "limit overrides", r);
    let r = http
        .post(format!(
            "{}/_local/mail/identities/bench.shop.test",
            stack.api_url
        ))
        .send()
        .await;
    check(&mut notes, "SES identity", r);
    let r = http
        .put(format!("{}/v1/templates/welcome", stack.api_url))
        .header("x-api-key", &key)
        .json(&json!({"kind": "email", "subject": "Hola {{ name }}",
            "html": "<p>Hola {{ name }}</p>", "text": "Hola {{ name }}"}))
        .send()
        .await;
    check(&mut notes, "template", r);
    let collector = 700_000 + std::process::id() % 10_000;
    let token = format!("TEST-1234-010203-abcdef-{collector}");
    let mut values = serde_json::Map::new();
    values.insert("access_token".into(), json!(token));
    values.insert("webhook_secret".into(), json!("bench-secret"));
    if let Err(e) = admin::put_credentials(state, &project.id, "mercadopago", &values).await {
        notes.push(format!("MP credentials: {e}"));
    }
    let r = http
        .put(format!(
            "{}/_sandbox/collectors/{collector}",
            stack.mercadopago.base_url
        ))
        .json(&json!({"webhook_secret": "bench-secret"}))
        .send()
        .await;
    check(&mut notes, "MP sandbox collector", r);
    for i in 0..2 {
        let r = http
            .post(format!("{}/v1/webhook-endpoints", stack.api_url))
            .header("x-api-key", &key)
            .json(
                &json!({"url": format!("{}/hooks/bench-{i}", stack.receiver.base_url),
                "filter_types": ["order.created", "order.paid"], "description": "bench"}),
            )
            .send()
            .await;
        check(&mut notes, "webhook endpoint", r);
    }
    Ok((project_id, key, notes))
}
