//! Ambiguous JSON is refused on every JSON route and changes nothing (issue 13): a body that
//! is not an object, a duplicate key, an unknown field, an array where an object belongs and
//! `null` for a field that does not document it. Money routes never guess.

use crate::payments::{checkout, create, mp_project, pay, wait_status};
use mostrador_tests::{client, shared, TestProject, TestStack};
use reqwest::Method;
use serde_json::{json, Value};

/// Who calls a route: the project's key or the operator.
#[derive(Clone, Copy)]
enum As {
    Shop,
    Operator,
}

struct Route {
    method: Method,
    path: String,
    who: As,
    /// A body the route would accept (it must be an object).
    valid: Value,
}

async fn send(stack: &TestStack, p: &TestProject, r: &Route, body: &str) -> reqwest::Response {
    let url = format!("{}{}", stack.api_url, r.path);
    for _ in 0..5 {
        let mut req = client()
            .request(r.method.clone(), &url)
            .header("content-type", "application/json")
            .body(body.to_owned());
        req = match r.who {
            As::Shop => req.header("x-api-key", &p.key),
            As::Operator => req.bearer_auth(&stack.operator_token),
        };
        let resp = req.send().await.unwrap();
        if resp.status() != 429 {
            return resp;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    panic!("{} {} stayed rate limited", r.method, r.path);
}

/// Sends `body` and checks the refusal: status, problem code, and (when given) the first
/// field error's pointer and code. Never a Rust type name in what the client reads.
async fn refused(
    stack: &TestStack,
    p: &TestProject,
    r: &Route,
    body: &str,
    expect: (u16, &str, Option<(&str, &str)>),
) {
    let resp = send(stack, p, r, body).await;
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = resp.text().await.unwrap_or_default();
    let what = format!("{} {} {body}: {status} {text}", r.method, r.path);
    assert_eq!(status, expect.0, "{what}");
    assert_eq!(ct, "application/problem+json", "{what}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["code"], expect.1, "{what}");
    if let Some((field, code)) = expect.2 {
        assert_eq!(v["errors"][0]["field"], field, "{what}");
        assert_eq!(v["errors"][0]["code"], code, "{what}");
    }
    for word in ["u64", "u32", "i64", "Option<", "struct ", "String", "`"] {
        assert!(!text.contains(word), "{word} leaks in {what}");
    }
}

/// `valid` with its first key given twice (the same value both times).
fn duplicated(valid: &Value) -> (String, String) {
    let text = valid.to_string();
    let (k, v) = valid.as_object().unwrap().iter().next().unwrap();
    (
        format!("{{{}:{v},{}", json!(k), &text[1..]),
        format!("/{k}"),
    )
}

/// Everything these requests could change, as one comparable text. Key use times are left
/// out: every call moves them.
async fn state(stack: &TestStack, p: &TestProject, pay_id: &str, mp_id: &str) -> String {
    let mut out = String::new();
    for path in [
        "/v1/templates".to_owned(),
        "/v1/notifications".to_owned(),
        "/v1/events".to_owned(),
        "/v1/webhook-endpoints".to_owned(),
        "/v1/payments".to_owned(),
        format!("/v1/payments/{pay_id}"),
    ] {
        let r = stack.call(Method::GET, &path, &p.key).send().await.unwrap();
        out.push_str(&format!("{path}: {}\n", r.text().await.unwrap()));
    }
    let project = stack
        .admin(Method::GET, &format!("/admin/projects/{}", p.id), None)
        .await;
    out.push_str(&format!("project: {}\n", project.text().await.unwrap()));
    let keys: Value = stack
        .admin(Method::GET, &format!("/admin/projects/{}/keys", p.id), None)
        .await
        .json()
        .await
        .unwrap();
    for k in keys["data"].as_array().unwrap() {
        out.push_str(&format!(
            "key {} {} {}\n",
            k["key_id"], k["status"], k["valid_until"]
        ));
    }
    let sandbox: Value = client()
        .get(format!(
            "{}/_sandbox/payments/{mp_id}",
            stack.mercadopago_url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    out.push_str(&format!(
        "mercado pago: {} {} {}\n",
        sandbox["status"], sandbox["transaction_amount_refunded"], sandbox["refunds"]
    ));
    out
}

#[tokio::test]
async fn ambiguous_bodies_are_refused_on_every_json_route_and_change_nothing() {
    let stack = shared();
    let (p, _) = mp_project(stack).await;
    // Dozens of requests in a burst: the pro plan's per-second limit is not what this measures
    // (a full run once answered one of them 429).
    let r = stack
        .admin(
            Method::PATCH,
            &format!("/admin/projects/{}", p.id),
            Some(json!({"limit_overrides": {"requests_per_second": 10_000, "requests_per_minute": 1_000_000}})),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let hook = format!("{}/hooks/strict-{}", stack.receiver_url, std::process::id());
    let r = stack
        .call(Method::PUT, "/v1/templates/strict-base", &p.key)
        .json(&json!({"kind": "email", "subject": "S", "text": "T"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let r = stack
        .call(Method::POST, "/v1/webhook-endpoints", &p.key)
        .json(&json!({"url": hook}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let endpoint = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = create(stack, &p, checkout("STRICT-1", 10_000, "ARS")).await;
    let pay_id = created["id"].as_str().unwrap().to_owned();
    let mp_id = pay(stack, created["checkout_id"].as_str().unwrap(), "APRO").await;
    wait_status(stack, &p, &pay_id, "paid").await;

    let (s, o) = (As::Shop, As::Operator);
    let route = |method: Method, path: String, who: As, valid: Value| Route {
        method,
        path,
        who,
        valid,
    };
    let pid = &p.id;
    let routes = vec![
        route(
            Method::PUT,
            "/v1/templates/strict-x".into(),
            s,
            json!({"kind": "email", "subject": "S", "text": "T"}),
        ),
        route(
            Method::POST,
            "/v1/templates/strict-base/preview".into(),
            s,
            json!({"variables": {}}),
        ),
        route(
            Method::POST,
            "/v1/notifications".into(),
            s,
            json!({"channel": "email", "to": "x@example.com", "template": "strict-base"}),
        ),
        route(
            Method::POST,
            "/v1/events".into(),
            s,
            json!({"type": "order.created", "data": {}}),
        ),
        route(
            Method::POST,
            "/v1/webhook-endpoints".into(),
            s,
            json!({"url": hook}),
        ),
        route(
            Method::PATCH,
            format!("/v1/webhook-endpoints/{endpoint}"),
            s,
            json!({"description": "changed"}),
        ),
        route(
            Method::POST,
            format!("/v1/webhook-endpoints/{endpoint}/rotate-secret"),
            s,
            json!({"overlap_seconds": 60}),
        ),
        route(
            Method::POST,
            format!("/v1/webhook-endpoints/{endpoint}/recover"),
            s,
            json!({"since": "2026-01-01T00:00:00Z"}),
        ),
        route(
            Method::POST,
            "/v1/payments".into(),
            s,
            checkout("STRICT-2", 500, "ARS"),
        ),
        route(
            Method::POST,
            format!("/v1/payments/{pay_id}/refunds"),
            s,
            json!({"amount": 1}),
        ),
        route(
            Method::POST,
            "/admin/projects".into(),
            o,
            json!({"name": "Strict", "domain": "strict.example.com"}),
        ),
        route(
            Method::PATCH,
            format!("/admin/projects/{pid}"),
            o,
            json!({"name": "changed"}),
        ),
        route(
            Method::POST,
            format!("/admin/projects/{pid}/keys"),
            o,
            json!({"label": "x"}),
        ),
        route(
            Method::POST,
            format!("/admin/projects/{pid}/keys/{}/rotate", p.key_id),
            o,
            json!({"grace_seconds": 60}),
        ),
        route(
            Method::PUT,
            format!("/admin/projects/{pid}/credentials/mercadopago"),
            o,
            json!({"access_token": "TEST-x", "webhook_secret": "other"}),
        ),
    ];

    let before = state(stack, &p, &pay_id, &mp_id).await;
    for r in &routes {
        let invalid_type = Some(("", "invalid_type"));
        for body in ["[]", "[1]", "null", "\"{}\"", "5"] {
            refused(stack, &p, r, body, (422, "validation_failed", invalid_type)).await;
        }
        let (dup, key) = duplicated(&r.valid);
        refused(
            stack,
            &p,
            r,
            &dup,
            (400, "invalid_json", Some((&key, "duplicate_key"))),
        )
        .await;
        let mut extra = r.valid.clone();
        extra["zz_unknown"] = json!(1);
        // Credentials are a free-form map whose names the handler checks itself.
        let unknown =
            (!r.path.contains("/credentials/")).then_some(("/zz_unknown", "unknown_field"));
        refused(
            stack,
            &p,
            r,
            &extra.to_string(),
            (422, "validation_failed", unknown),
        )
        .await;
        // Every field the valid body names, set to null.
        if !r.path.contains("/credentials/") {
            for k in r.valid.as_object().unwrap().keys() {
                let mut nulled = r.valid.clone();
                nulled[k] = Value::Null;
                let field = format!("/{k}");
                refused(
                    stack,
                    &p,
                    r,
                    &nulled.to_string(),
                    (422, "validation_failed", Some((&field, "null_not_allowed"))),
                )
                .await;
            }
        }
    }

    // The cases issue 13 names.
    let refund = &routes[9];
    for (body, field, code) in [
        (r#"{"amount":"x","amount":1}"#, "/amount", "duplicate_key"),
        (r#"{"amount":"100"}"#, "/amount", "invalid_type"),
        (r#"{"amount":1.5}"#, "/amount", "invalid_type"),
        (r#"{"amount":100.0}"#, "/amount", "invalid_type"),
        (r#"{"amount":-1}"#, "/amount", "out_of_range"),
        (r#"{"amount":{"value":1}}"#, "/amount", "invalid_type"),
    ] {
        let status = if code == "duplicate_key" { 400 } else { 422 };
        let problem = if status == 400 {
            "invalid_json"
        } else {
            "validation_failed"
        };
        refused(
            stack,
            &p,
            refund,
            body,
            (status, problem, Some((field, code))),
        )
        .await;
    }
    refused(
        stack,
        &p,
        refund,
        r#"{"amount":0}"#,
        (422, "validation_failed", Some(("amount", "out_of_range"))),
    )
    .await;
    let template = &routes[0];
    refused(
        stack,
        &p,
        template,
        r#"["email","S","T"]"#,
        (422, "validation_failed", Some(("", "invalid_type"))),
    )
    .await;
    refused(
        stack,
        &p,
        template,
        r#"{"kind":"email","subject":"S","text":"T","bcc":"x@y.z"}"#,
        (422, "validation_failed", Some(("/bcc", "unknown_field"))),
    )
    .await;
    let patch = &routes[11];
    refused(
        stack,
        &p,
        patch,
        r#"{"limit_overrides":[]}"#,
        (
            422,
            "validation_failed",
            Some(("/limit_overrides", "invalid_type")),
        ),
    )
    .await;
    refused(
        stack,
        &p,
        patch,
        r#"{"limit_overrides":{"emails_per_month":null}}"#,
        (
            422,
            "validation_failed",
            Some(("/limit_overrides/emails_per_month", "null_not_allowed")),
        ),
    )
    .await;
    refused(
        stack,
        &p,
        patch,
        r#"{"flags":{"x":1}}"#,
        (422, "validation_failed", Some(("/flags/x", "invalid_type"))),
    )
    .await;
    let payment = &routes[8];
    let mut nested = checkout("STRICT-3", 500, "ARS");
    nested["items"][0]["quantity"] = json!(1.5);
    refused(
        stack,
        &p,
        payment,
        &nested.to_string(),
        (
            422,
            "validation_failed",
            Some(("/items/0/quantity", "invalid_type")),
        ),
    )
    .await;
    nested["items"][0]["quantity"] = json!(1);
    nested["payer"] = json!(["buyer@example.com"]);
    refused(
        stack,
        &p,
        payment,
        &nested.to_string(),
        (422, "validation_failed", Some(("/payer", "invalid_type"))),
    )
    .await;

    assert_eq!(state(stack, &p, &pay_id, &mp_id).await, before);
    // The old key still works: no rotation with a `null` grace period happened.
    let r = stack
        .call(Method::GET, "/v1/payments", &p.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // And the documented contract still holds: no body, or `{}`, refunds the rest.
    let r = send(stack, &p, refund, "{}").await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

/// A header line hyper cannot parse never reaches a function, and still gets problem+json.
#[tokio::test]
async fn malformed_header_lines_get_a_problem() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stack = shared();
    for line in ["no colon here", "x bad name: 1", "x-ok: 1\r\n folded"] {
        let addr = stack.api_url.trim_start_matches("http://");
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n{line}\r\nConnection: close\r\n\r\n"
        );
        s.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 "), "{line:?}: {answer}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{line:?}: {answer}"
        );
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["code"], "malformed_request", "{answer}");
        assert_eq!(v["status"], 400);
        assert!(v["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    }
}
