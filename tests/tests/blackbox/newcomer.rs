//! Issue 13's newcomer rough edges: what a shop can see of its providers, WhatsApp cloud sends
//! refused at once without credentials, the `status=failed` family, request headers in the
//! webhook attempt log, and the delivery ids of `POST /v1/events` (also on a duplicate).
//! Each test also checks another project's key sees none of it.

use super::notifications_support::*;
use super::webhooks::{
    create_endpoint, get_json, header, poll_status, post_event, received, unique_path,
};
use mostrador_tests::{assert_isolated, expect_problem, shared, TestProject, TestStack};
use reqwest::Method;
use serde_json::{json, Value};

async fn put_credentials(stack: &TestStack, p: &TestProject, provider: &str, values: Value) {
    let r = stack
        .admin(
            Method::PUT,
            &format!("/admin/projects/{}/credentials/{provider}", p.id),
            Some(values),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

fn whatsapp_credentials() -> Value {
    json!({"access_token": "EAAG-newcomer-token", "phone_number_id": "1234567890"})
}

async fn project_view(stack: &TestStack, p: &TestProject) -> Value {
    get_json(stack, p, "/v1/project").await
}

#[tokio::test]
async fn project_shows_which_providers_are_configured_and_never_their_secrets() {
    let stack = shared();
    let p = stack.project(None).await;
    let other = stack.project(None).await;
    let before = project_view(stack, &p).await;
    assert_eq!(
        before["providers"]["mercadopago"],
        json!({"configured": false})
    );
    assert_eq!(
        before["providers"]["whatsapp_cloud"],
        json!({"configured": false})
    );
    assert_eq!(before["providers"]["whatsapp_link"]["configured"], true);
    assert_eq!(before["providers"]["email"]["configured"], false);
    assert_eq!(before["providers"]["email"]["provider"], "ses");

    put_credentials(
        stack,
        &p,
        "mercadopago",
        json!({"access_token": "APP_USR-newcomer-secret-token", "webhook_secret": "newcomer-wh-secret"}),
    )
    .await;
    let after = project_view(stack, &p).await;
    let mp = &after["providers"]["mercadopago"];
    assert_eq!(mp["configured"], true, "{after}");
    assert!(mp["configured_at"].as_str().unwrap().ends_with('Z'), "{mp}");
    assert_eq!(after["providers"]["whatsapp_cloud"]["configured"], false);
    let text = after.to_string();
    assert!(!text.contains("APP_USR-newcomer") && !text.contains("newcomer-wh-secret"));
    // The record lives on the project: another project's key sees its own, unconfigured.
    let foreign = project_view(stack, &other).await;
    assert_eq!(foreign["providers"]["mercadopago"]["configured"], false);
    assert!(!foreign.to_string().contains(&p.id));
    // Operators still see the same from Secrets Manager.
    let admin: Value = stack
        .admin(Method::GET, &format!("/admin/projects/{}", p.id), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(admin["credentials"], json!(["mercadopago"]));
}

#[tokio::test]
async fn whatsapp_cloud_send_without_credentials_is_refused_at_once() {
    let stack = shared();
    let p = stack.project(None).await;
    let other = stack.project(None).await;
    for project in [&p, &other] {
        put_template(
            stack,
            project,
            "aviso",
            json!({"kind": "whatsapp_text", "body": "Aviso {{ n }}"}),
        )
        .await;
    }
    let body = |mode: Option<&str>| {
        let mut b = json!({"channel": "whatsapp", "to": "+5491155550190", "template": "aviso", "variables": {"n": 1}});
        if let Some(m) = mode {
            b["mode"] = json!(m);
        }
        b
    };
    let send_raw = |p: &TestProject, b: Value| {
        stack
            .call(Method::POST, "/v1/notifications", &p.key)
            .json(&b)
            .send()
    };
    // Cloud (explicit or the default): 409 now, nothing stored, nothing counted.
    for mode in [Some("cloud"), None] {
        let r = send_raw(&p, body(mode)).await.unwrap();
        let problem = expect_problem(r, 409, "provider_not_configured").await;
        assert!(problem["detail"].as_str().unwrap().contains("whatsapp"));
    }
    let log = get_json(stack, &p, "/v1/notifications").await;
    assert_eq!(log["data"], json!([]), "{log}");
    // Link mode needs no credentials.
    let (s, b) = send(stack, &p, body(Some("link"))).await;
    assert_eq!(s, 201, "{b}");

    // Configured: accepted (and this number fails at the sandbox, synchronously).
    put_credentials(stack, &p, "whatsapp", whatsapp_credentials()).await;
    let (s, b) = send(stack, &p, body(Some("cloud"))).await;
    assert_eq!(s, 202, "{b}");
    wait_status(stack, &p, b["id"].as_str().unwrap(), "failed", 45).await;
    // Another project's credentials are its own.
    let r = send_raw(&other, body(None)).await.unwrap();
    expect_problem(r, 409, "provider_not_configured").await;
}

/// Sends one e-mail and waits for `sent`; returns (notification id, SES message id).
async fn sent_email(stack: &TestStack, p: &TestProject, tag: &str) -> (String, String) {
    let to = format!("{tag}+{}@example.com", p.id.to_lowercase());
    let (status, body) = send(
        stack,
        p,
        json!({"channel": "email", "to": to, "template": "receipt", "variables": {"n": tag}}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let n = wait_status(stack, p, &id, "sent", 20).await;
    (id, n["provider_message_id"].as_str().unwrap().to_owned())
}

/// SES (played by the devstack) publishes `kind` for `message_id`.
async fn ses_publishes(stack: &TestStack, message_id: &str, kind: &str) {
    let r = mostrador_tests::client()
        .post(format!(
            "{}/_local/mail/{message_id}/events/{kind}",
            stack.api_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn status_failed_lists_every_terminal_failure_bounces_included() {
    let stack = shared();
    let p = email_project(stack).await;
    let other = email_project(stack).await;
    put_credentials(stack, &p, "whatsapp", whatsapp_credentials()).await;
    put_template(
        stack,
        &p,
        "receipt",
        json!({"kind": "email", "subject": "Recibo {{ n }}", "text": "Gracias {{ n }}"}),
    )
    .await;
    put_template(
        stack,
        &p,
        "wa",
        json!({"kind": "whatsapp_text", "body": "Pedido {{ n }}"}),
    )
    .await;
    // Oldest first: failed (expired token at the sandbox), bounced, complained, delivered.
    let (_, b) = send(stack, &p, json!({"channel": "whatsapp", "mode": "cloud", "to": "+5491155550190", "template": "wa", "variables": {"n": 1}})).await;
    let failed = b["id"].as_str().unwrap().to_owned();
    wait_status(stack, &p, &failed, "failed", 45).await;
    let (bounced, bounced_mid) = sent_email(stack, &p, "bounce").await;
    ses_publishes(stack, &bounced_mid, "bounce").await;
    wait_status(stack, &p, &bounced, "bounced", 20).await;
    let (complained, complained_mid) = sent_email(stack, &p, "complaint").await;
    ses_publishes(stack, &complained_mid, "complaint").await;
    wait_status(stack, &p, &complained, "complained", 20).await;
    sent_email(stack, &p, "fine").await;

    let family = get_json(stack, &p, "/v1/notifications?status=failed").await;
    assert_eq!(ids(&family), [bounced.clone(), failed.clone()], "{family}");
    // Paged one at a time through both partitions, newest first, nothing twice or lost.
    let mut seen = Vec::new();
    let mut path = "/v1/notifications?status=failed&limit=1".to_owned();
    for _ in 0..5 {
        let page = get_json(stack, &p, &path).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/notifications?status=failed&limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, [bounced.clone(), failed.clone()]);
    // Combined with the other filters.
    let email_only = get_json(stack, &p, "/v1/notifications?status=failed&channel=email").await;
    assert_eq!(ids(&email_only), [bounced.as_str()]);
    // The exact statuses stay filterable.
    let exact = get_json(stack, &p, "/v1/notifications?status=failed_only").await;
    assert_eq!(ids(&exact), [failed.as_str()]);
    let exact = get_json(stack, &p, "/v1/notifications?status=bounced").await;
    assert_eq!(ids(&exact), [bounced.as_str()]);
    let exact = get_json(stack, &p, "/v1/notifications?status=complained").await;
    assert_eq!(ids(&exact), [complained]);
    // Another project's key sees none of them.
    let foreign = get_json(stack, &other, "/v1/notifications?status=failed").await;
    assert_eq!(foreign["data"], json!([]));
}

#[tokio::test]
async fn attempt_log_shows_the_request_headers_with_the_signature_redacted() {
    let stack = shared();
    let p = stack.project(None).await;
    let other = stack.project(None).await;
    let path = unique_path("hdr");
    let ep = create_endpoint(
        stack,
        &p,
        &format!("{}{path}", stack.receiver_url),
        json!(["order.*"]),
    )
    .await;
    let secret = ep["secret"].as_str().unwrap().to_owned();
    let ev = post_event(
        stack,
        &p,
        json!({"type": "order.created", "data": {"n": 1}}),
    )
    .await;
    let reqs = received(&stack.receiver_url, &path, 1, 15_000).await;
    let sent = &reqs[0];
    // Read from the event (not the POST answer) so this test stands on its own.
    let view = get_json(
        stack,
        &p,
        &format!("/v1/events/{}", ev["id"].as_str().unwrap()),
    )
    .await;
    let dlv = view["deliveries"][0]["id"].as_str().unwrap().to_owned();
    let d = poll_status(stack, &p, &dlv, "succeeded").await;
    let shown = &d["attempt_log"][0]["request_headers"];
    assert_eq!(shown["webhook-id"], ev["id"], "{d}");
    assert_eq!(
        shown["webhook-timestamp"],
        header(sent, "webhook-timestamp")
    );
    assert_eq!(shown["content-type"], "application/json");
    assert_eq!(shown["user-agent"], header(sent, "user-agent"));
    let key_id = mostrador::webhooks::signing::WebhookSecret::parse(&secret)
        .unwrap()
        .key_id();
    assert_eq!(shown["webhook-signature"], format!("v1,key:{key_id}…"));
    let text = d.to_string();
    let signature = header(sent, "webhook-signature");
    assert!(signature.starts_with("v1,") && !text.contains(&signature[3..]));
    assert!(!text.contains(&secret) && !text.contains(&secret["whsec_".len()..]));
    assert_isolated(
        stack,
        Method::GET,
        &format!("/v1/webhook-deliveries/{dlv}"),
        None,
        &p,
        &other,
        200,
    )
    .await;
}

#[tokio::test]
async fn post_event_returns_its_delivery_ids_and_a_duplicate_says_so() {
    let stack = shared();
    let p = stack.project(None).await;
    let other = stack.project(None).await;
    for project in [&p, &other] {
        for _ in 0..2 {
            let url = format!("{}{}", stack.receiver_url, unique_path("ids"));
            create_endpoint(stack, project, &url, json!(["order.*"])).await;
        }
    }
    let body = json!({"type": "order.created", "data": {"n": 1}, "event_id": "order-1-created"});
    let first = post_event(stack, &p, body.clone()).await;
    assert_eq!(first["duplicate"], false, "{first}");
    assert_eq!(first["deliveries"], 2);
    let mut delivery_ids: Vec<String> = first["delivery_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_owned())
        .collect();
    delivery_ids.sort();
    assert_eq!(delivery_ids.len(), 2, "{first}");
    let ev = get_json(
        stack,
        &p,
        &format!("/v1/events/{}", first["id"].as_str().unwrap()),
    )
    .await;
    let mut listed: Vec<String> = ev["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, delivery_ids);

    // The same event_id again: the first event and its deliveries, marked as a duplicate.
    let again = post_event(stack, &p, body.clone()).await;
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["delivery_ids"], first["delivery_ids"]);
    assert_eq!(again["deliveries"], 2);

    // Another project's event_id space is its own; its key cannot read these deliveries.
    let foreign = post_event(stack, &other, body).await;
    assert_eq!(foreign["duplicate"], false);
    assert_ne!(foreign["id"], first["id"]);
    assert_isolated(
        stack,
        Method::GET,
        &format!("/v1/webhook-deliveries/{}", delivery_ids[0]),
        None,
        &p,
        &other,
        200,
    )
    .await;
}
