//! Notifications: templates, e-mail through SES (moto), WhatsApp link mode, hostile templates,
//! listing, and cross-project isolation of every route.

use super::notifications_support::*;
use mostrador_tests::{assert_isolated, expect_problem, shared};
use reqwest::Method;
use serde_json::json;

fn welcome() -> serde_json::Value {
    json!({
        "kind": "email",
        "subject": "Hola {{ name }}",
        "html": "<p>Hola {{ name }}, pedido {{ order.id }}</p>",
        "text": "Hola {{ name }}, pedido {{ order.id }}"
    })
}

#[tokio::test]
async fn email_from_a_template_reaches_sent_and_lands_in_local_ses() {
    let stack = shared();
    let p = email_project(stack).await;
    let saved = put_template(stack, &p, "welcome", welcome()).await;
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["variables"], json!(["name", "order"]));
    let to = format!("ana+{}@example.com", p.id.to_lowercase());
    let (status, body) = send(
        stack,
        &p,
        json!({"channel": "email", "to": to, "template": "welcome",
               "variables": {"name": "Ana <b>", "order": {"id": "A-1"}}, "metadata": {"order": "A-1"}}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "pending");
    let id = body["id"].as_str().unwrap();
    let n = wait_status(stack, &p, id, "sent", 20).await;
    assert!(n["provider_message_id"].is_string());
    let steps: Vec<_> = n["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].clone())
        .collect();
    assert_eq!(
        steps,
        vec![json!("pending"), json!("sending"), json!("sent")]
    );
    let mail = mail_to(&stack.api_url, &to).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    // moto keeps the subject and the preferred body (HTML when present) of each message.
    assert_eq!(mail[0]["subject"], "Hola Ana <b>");
    assert_eq!(mail[0]["body"], "<p>Hola Ana &lt;b&gt;, pedido A-1</p>");
    assert!(mail[0]["source"]
        .as_str()
        .unwrap()
        .starts_with("Tienda <no-reply@"));
    // A new version does not change what was pinned; versions stay readable.
    let v2 = put_template(
        stack,
        &p,
        "welcome",
        json!({"kind": "email", "subject": "v2", "text": "t"}),
    )
    .await;
    assert_eq!(v2["version"], 2);
    let v1 = stack
        .call(Method::GET, "/v1/templates/welcome/versions/1", &p.key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        v1.json::<serde_json::Value>().await.unwrap()["content"]["subject"],
        "Hola {{ name }}"
    );
    let latest: serde_json::Value = stack
        .call(Method::GET, "/v1/templates/welcome", &p.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(latest["version"], 2);
}

#[tokio::test]
async fn bad_sends_are_clear_4xx() {
    let stack = shared();
    let p = email_project(stack).await;
    put_template(stack, &p, "welcome", welcome()).await;
    let (s, b) = send(
        stack,
        &p,
        json!({"channel": "email", "to": "nope", "template": "welcome"}),
    )
    .await;
    assert_eq!(
        (s, b["errors"][0]["field"].clone()),
        (422, json!("to")),
        "{b}"
    );
    let (s, b) = send(stack, &p, json!({"channel": "email", "to": "a@example.com", "template": "welcome", "variables": {"name": "x"}})).await;
    assert_eq!(
        (s, b["code"].clone()),
        (422, json!("missing_variable")),
        "{b}"
    );
    let (s, b) = send(
        stack,
        &p,
        json!({"channel": "email", "to": "a@example.com", "template": "ghost"}),
    )
    .await;
    assert_eq!(
        (s, b["errors"][0]["code"].clone()),
        (422, json!("not_found")),
        "{b}"
    );
    let (s, b) = send(stack, &p, json!({"channel": "whatsapp", "to": "+5491155550000", "template": "welcome", "variables": {"name": "x", "order": {}}})).await;
    assert_eq!(
        (s, b["errors"][0]["code"].clone()),
        (422, json!("channel_mismatch")),
        "{b}"
    );
    let bad_name = stack
        .call(Method::PUT, "/v1/templates/Bad%20Name", &p.key)
        .json(&welcome())
        .send()
        .await
        .unwrap();
    expect_problem(bad_name, 422, "validation_failed").await;
    let bad_syntax = stack
        .call(Method::PUT, "/v1/templates/x", &p.key)
        .json(&json!({"kind": "email", "subject": "{{ oops", "text": "t"}))
        .send()
        .await
        .unwrap();
    let body = expect_problem(bad_syntax, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "subject");
}

#[tokio::test]
async fn whatsapp_link_mode_answers_the_click_to_chat_url_at_once() {
    let stack = shared();
    let p = stack.project(None).await;
    put_template(
        stack,
        &p,
        "hola",
        json!({"kind": "whatsapp_text", "body": "Hola {{ name }} & bienvenida"}),
    )
    .await;
    let (status, body) = send(
        stack,
        &p,
        json!({"channel": "whatsapp", "mode": "link", "to": "+54 9 11 5555-0000", "template": "hola", "variables": {"name": "Ana"}}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "sent");
    assert_eq!(
        body["link"],
        "https://wa.me/5491155550000?text=Hola%20Ana%20%26%20bienvenida"
    );
}

/// Each hostile template fails safely at save (422) or at preview (422 with the renderer's
/// code); nothing is a 5xx.
#[tokio::test]
async fn hostile_templates_fail_safely() {
    let stack = shared();
    let p = stack.project(None).await;
    let hostile = [
        "{% for i in range(100000000) %}x{% endfor %}",
        "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}",
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
        "{{ \"x\" * 10**9 }}",
        "{% for i in range(10000) %}{{ \"y\" * 1000 }}{% endfor %}",
        "{% include \"/etc/passwd\" %}",
        "{{ x.__class__ }}",
    ];
    for (i, source) in hostile.iter().enumerate() {
        let name = format!("evil-{i}");
        let saved = stack
            .call(Method::PUT, &format!("/v1/templates/{name}"), &p.key)
            .json(&json!({"kind": "email", "subject": "s", "html": source}))
            .send()
            .await
            .unwrap();
        let status = saved.status().as_u16();
        let text = saved.text().await.unwrap();
        if status == 422 {
            continue;
        }
        assert_eq!(status, 201, "{source}: {text}");
        let preview = stack
            .call(
                Method::POST,
                &format!("/v1/templates/{name}/preview"),
                &p.key,
            )
            .json(&json!({"variables": {"x": 1}}))
            .send()
            .await
            .unwrap();
        let status = preview.status().as_u16();
        let text = preview.text().await.unwrap();
        assert_eq!(status, 422, "{source}: {text}");
        let code = serde_json::from_str::<serde_json::Value>(&text).unwrap()["code"].clone();
        assert!(
            [
                "render_budget_exceeded",
                "output_too_large",
                "recursion_limit",
                "render_error",
                "missing_variable"
            ]
            .contains(&code.as_str().unwrap()),
            "{source}: {text}"
        );
    }
    put_template(
        stack,
        &p,
        "inject",
        json!({"kind": "email", "subject": "{{ name }}", "html": "<p>{{ name }}</p>"}),
    )
    .await;
    let preview: serde_json::Value = stack
        .call(Method::POST, "/v1/templates/inject/preview", &p.key)
        .json(&json!({"variables": {"name": "<script>alert(1)</script>\r\nBcc: x@evil.test"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let html = preview["rendered"]["html"].as_str().unwrap();
    assert!(
        html.starts_with("<p>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || html.starts_with("<p>&lt;script&gt;"),
        "{html}"
    );
    assert!(!preview["rendered"]["subject"]
        .as_str()
        .unwrap()
        .contains('\n'));
}

#[tokio::test]
async fn the_log_filters_and_paginates() {
    let stack = shared();
    let p = stack.project(None).await;
    put_template(
        stack,
        &p,
        "a",
        json!({"kind": "whatsapp_text", "body": "a"}),
    )
    .await;
    put_template(
        stack,
        &p,
        "b",
        json!({"kind": "whatsapp_text", "body": "b"}),
    )
    .await;
    let mut ids = Vec::new();
    for t in ["a", "b", "a"] {
        let (s, b) = send(
            stack,
            &p,
            json!({"channel": "whatsapp", "mode": "link", "to": "+5491155550000", "template": t}),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        ids.push(b["id"].as_str().unwrap().to_owned());
    }
    let key = p.key.clone();
    let list = |q: &str| {
        let q = q.to_owned();
        let key = key.clone();
        async move {
            let r = stack
                .call(Method::GET, &format!("/v1/notifications{q}"), &key)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let all = list("").await;
    let got: Vec<_> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        got,
        ids.iter().rev().cloned().collect::<Vec<_>>(),
        "newest first"
    );
    assert_eq!(
        list("?template=a").await["data"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        list("?status=sent&channel=whatsapp").await["data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        list("?status=pending").await["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        list("?channel=email").await["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        list("?to=2000-01-01T00:00:00Z").await["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let page1 = list("?limit=2").await;
    assert_eq!(page1["data"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = list(&format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(page2["data"][0]["id"], ids[0].as_str());
    let bad = stack
        .call(Method::GET, "/v1/notifications?status=nope", &p.key)
        .send()
        .await
        .unwrap();
    expect_problem(bad, 422, "validation_failed").await;
}

#[tokio::test]
async fn every_route_is_isolated_between_projects() {
    let stack = shared();
    let owner = stack.project(None).await;
    let other = stack.project(None).await;
    put_template(
        stack,
        &owner,
        "secret-tpl",
        json!({"kind": "whatsapp_text", "body": "hi {{ n }}"}),
    )
    .await;
    let (_, n) = send(stack, &owner, json!({"channel": "whatsapp", "mode": "link", "to": "+5491155550000", "template": "secret-tpl", "variables": {"n": 1}})).await;
    let id = n["id"].as_str().unwrap();
    assert_isolated(
        stack,
        Method::GET,
        &format!("/v1/notifications/{id}"),
        None,
        &owner,
        &other,
        200,
    )
    .await;
    assert_isolated(
        stack,
        Method::GET,
        "/v1/templates/secret-tpl",
        None,
        &owner,
        &other,
        200,
    )
    .await;
    assert_isolated(
        stack,
        Method::GET,
        "/v1/templates/secret-tpl/versions/1",
        None,
        &owner,
        &other,
        200,
    )
    .await;
    assert_isolated(
        stack,
        Method::POST,
        "/v1/templates/secret-tpl/preview",
        Some(json!({"variables": {"n": 2}})),
        &owner,
        &other,
        200,
    )
    .await;
    // Sending with another project's template name: that name does not exist for `other`.
    let (s, b) = send(stack, &other, json!({"channel": "whatsapp", "mode": "link", "to": "+5491155550000", "template": "secret-tpl", "variables": {"n": 1}})).await;
    assert_eq!(
        (s, b["errors"][0]["code"].clone()),
        (422, json!("not_found"))
    );
    // Lists only ever show the caller's own items, cursors included.
    let theirs: serde_json::Value = stack
        .call(
            Method::GET,
            &format!("/v1/notifications?cursor={id}"),
            &other.key,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["data"], json!([]));
    let theirs: serde_json::Value = stack
        .call(Method::GET, "/v1/notifications", &other.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["data"], json!([]));
    let templates: serde_json::Value = stack
        .call(Method::GET, "/v1/templates", &other.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(templates["data"], json!([]));
    // PUT under the same name creates the other project's own template, version 1.
    let own = put_template(
        stack,
        &other,
        "secret-tpl",
        json!({"kind": "whatsapp_text", "body": "x"}),
    )
    .await;
    assert_eq!(own["version"], 1);
    // The WhatsApp webhook of a project is not reachable with another project's id/secret.
    let forged = mostrador_tests::client()
        .post(format!("{}/whatsapp/{}/webhook", stack.api_url, owner.id))
        .header("x-hub-signature-256", "sha256=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404, "no WhatsApp credentials: no webhook");
}
