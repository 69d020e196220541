//! The routes measured: an API Gateway event per HTTP route (built from one fixture), the
//! fixtures of the other HTTP functions, and the SQS and schedule functions' events.

use crate::pools::Pools;
use crate::route::Route;
use crate::stub::Res;
use serde_json::{json, Value};
use std::path::Path;

pub fn routes(root: &Path, key: &str, project_id: &str, pools: &Pools) -> Res<Vec<Route>> {
    let base = base_event(root)?;
    let route = |binary: &str, label: &str, hot: bool, event: Value| Route {
        binary: binary.into(),
        keyed: hot
            && event["requestContext"]["http"]["method"] == "POST"
            && event["rawPath"]
                .as_str()
                .is_some_and(|p| p.starts_with("/v1/")),
        label: label.into(),
        hot,
        event,
        bodies: Vec::new(),
    };
    let mut routes = vec![
        route(
            "project",
            "GET /v1/project",
            true,
            api_event(&base, "GET", "/v1/project", Some(key), None),
        ),
        route(
            "webhooks",
            "POST /v1/events (order.created, 2 endpoints)",
            true,
            api_event(
                &base,
                "POST",
                "/v1/events",
                Some(key),
                Some(
                    json!({"type": "order.created", "data": {"order_id": "B-{n}", "total": 1990}}),
                ),
            ),
        ),
        route(
            "notifications",
            "POST /v1/notifications (e-mail, template)",
            true,
            api_event(
                &base,
                "POST",
                "/v1/notifications",
                Some(key),
                Some(
                    json!({"channel": "email", "to": "buyer+{n}@example.com", "template": "welcome", "variables": {"name": "Ana"}}),
                ),
            ),
        ),
        route(
            "payments",
            "POST /v1/payments (checkout)",
            true,
            api_event(
                &base,
                "POST",
                "/v1/payments",
                Some(key),
                Some(
                    json!({"order_id": "B-{n}", "amount": 1990, "currency": "ARS", "mode": "checkout",
                "items": [{"title": "Mate", "quantity": 1, "unit_amount": 1990}], "payer": {"email": "buyer@example.com"}}),
                ),
            ),
        ),
        route(
            "health",
            "GET /health",
            false,
            fixture(root, "health", "get-health.json")?,
        ),
        route(
            "admin",
            "GET /admin/projects",
            false,
            api_event(&base, "GET", "/admin/projects", None, None),
        ),
    ];
    if let Ok(mut e) = fixture(root, "mp-intake", "ipn-unknown-project.json") {
        // The fixture's project does not exist; point it at the bench project (the signature
        // still does not match: this measures the intake's reject path, see the report).
        let text = e.to_string().replace(
            e["pathParameters"]["project_id"]
                .as_str()
                .unwrap_or("\u{0}"),
            project_id,
        );
        e = serde_json::from_str(&text).unwrap_or(e);
        routes.push(route("mp-intake", "POST MP notification (intake)", true, e));
    }
    if let Ok(e) = fixture(
        root,
        "provider-feedback",
        "post-status-unknown-project.json",
    ) {
        routes.push(route(
            "provider-feedback",
            "POST provider status (unknown project)",
            false,
            e,
        ));
    }
    let sqs = |binary: &str, label: &str, fixture_file: &str, bodies: &[String]| {
        fixture(root, binary, fixture_file).map(|event| Route {
            binary: binary.into(),
            label: label.into(),
            hot: false,
            event,
            bodies: bodies.to_vec(),
            keyed: false,
        })
    };
    routes.extend(
        [
            sqs(
                "sender",
                "SQS: send one e-mail (render + SES)",
                "notification-message.json",
                &pools.notifications,
            ),
            sqs(
                "dispatcher",
                "SQS: one webhook delivery message (already delivered by the stack: skip path)",
                "deliveries-batch.json",
                &pools.deliveries,
            ),
            sqs(
                "payment-sync",
                "SQS: reconcile one payment (Mercado Pago GET + state write)",
                "payments-batch.json",
                &pools.payments,
            ),
            fixture(root, "reconciler", "scheduled.json")
                .map(|e| route("reconciler", "schedule: reconciler tick", false, e)),
            fixture(root, "retry-sweeper", "scheduled.json")
                .map(|e| route("retry-sweeper", "schedule: retry-sweeper tick", false, e)),
        ]
        .into_iter()
        .filter_map(Result::ok),
    );
    Ok(routes)
}

fn base_event(root: &Path) -> Res<Value> {
    let text = std::fs::read_to_string(root.join("events/webhooks/post-event-no-key.json"))?;
    Ok(serde_json::from_str(&text)?)
}

fn api_event(
    base: &Value,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Value {
    let mut e = base.clone();
    let route_key = format!("{method} {path}");
    e["routeKey"] = json!(route_key);
    e["rawPath"] = json!(path);
    e["requestContext"]["routeKey"] = json!(route_key);
    e["requestContext"]["http"]["method"] = json!(method);
    e["requestContext"]["http"]["path"] = json!(path);
    if let Some(key) = key {
        e["headers"]["x-api-key"] = json!(key);
    }
    match body {
        Some(b) => e["body"] = json!(b.to_string()),
        None => {
            if let Some(o) = e.as_object_mut() {
                o.remove("body");
            }
        }
    }
    e
}

fn fixture(root: &Path, binary: &str, file: &str) -> Res<Value> {
    let text = std::fs::read_to_string(root.join("events").join(binary).join(file))?;
    Ok(serde_json::from_str(&text)?)
}
