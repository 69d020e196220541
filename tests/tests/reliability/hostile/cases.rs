//! The hostile cases, by family (see `mod.rs` for how each is judged).

use super::{Case, Req, Who};
use crate::world::{list_all, Shop};
use mostrador::inbound::{mercadopago as mp_sig, whatsapp as wa_sig, InboundSecret};
use mostrador_tests::{client, TestStack};
use reqwest::Method;
use serde_json::{json, Value};

pub(super) fn http(
    family: &'static str,
    name: &str,
    method: Method,
    path: &str,
    who: Who,
    body: Vec<u8>,
) -> Case {
    Case {
        family,
        name: name.to_owned(),
        req: Req::Http {
            method,
            path: path.to_owned(),
            who,
            headers: vec![("content-type", b"application/json".to_vec())],
            body,
        },
        status: 0,
        code: "",
    }
}

impl Case {
    pub(super) fn expect(mut self, status: u16, code: &'static str) -> Self {
        self.status = status;
        self.code = code;
        self
    }

    fn header(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Self {
        if let Req::Http { headers, .. } = &mut self.req {
            headers.retain(|(n, _)| *n != name);
            headers.push((name, value.into()));
        }
        self
    }
}

fn j(v: Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// State that no hostile request may change: the shops' lists, in full.
async fn server_now(t: &TestStack) -> time::OffsetDateTime {
    let v: Value = client()
        .post(format!("{}/_local/clock/advance/0", t.api_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    time::OffsetDateTime::parse(
        v["now"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

pub(super) fn raw_get(path: &str, key: &str, extra: &str) -> Req {
    Req::Raw(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {key}\r\n{extra}Connection: close\r\n\r\n").into_bytes())
}

pub(super) async fn all(t: &TestStack, h: &Shop, v: &Shop) -> Vec<Case> {
    use Method as M;
    use Who::{Hostile as H, Nobody as N};
    let mut c = Vec::new();
    let event = |data: Value| j(json!({"type": "order.created", "data": data}));
    // Oversized.
    let eleven_mb = format!(
        "{{\"type\":\"order.created\",\"data\":{{\"x\":\"{}\"}}}}",
        "A".repeat(11 * 1024 * 1024)
    );
    c.push(
        http(
            "oversized",
            "11 MB event (over API Gateway's 10 MB)",
            M::POST,
            "/v1/events",
            H,
            eleven_mb.into_bytes(),
        )
        .expect(413, "payload_too_large"),
    );
    c.push(
        http(
            "oversized",
            "25 KB event data (limit 20 KB)",
            M::POST,
            "/v1/events",
            H,
            event(json!({"x": "B".repeat(25_000)})),
        )
        .expect(413, "event_too_large"),
    );
    c.push(http("oversized", "1 MB notification variables", M::POST, "/v1/notifications", H,
        j(json!({"channel": "email", "to": "x@example.com", "template": "aviso", "variables": {"id": "C".repeat(1 << 20)}}))));
    c.push(http(
        "oversized",
        "1 MB template body",
        M::PUT,
        "/v1/templates/big",
        H,
        j(json!({"kind": "email", "subject": "s", "text": "D".repeat(1 << 20)})),
    ));
    c.push(http("oversized", "1 MB payment order id", M::POST, "/v1/payments", H,
        j(json!({"order_id": "E".repeat(1 << 20), "amount": 100, "currency": "ARS", "mode": "checkout", "items": [{"title": "t", "quantity": 1, "unit_amount": 100}]}))));
    // Deep JSON.
    let deep = |n: usize| {
        format!(
            "{{\"type\":\"order.created\",\"data\":{{\"x\":{}{}}}}}",
            "[".repeat(n),
            "]".repeat(n)
        )
    };
    c.push(http(
        "deep json",
        "event data nested 100,000 deep",
        M::POST,
        "/v1/events",
        H,
        deep(100_000).into_bytes(),
    ));
    c.push(http(
        "deep json",
        "event data nested 200 deep",
        M::POST,
        "/v1/events",
        H,
        deep(200).into_bytes(),
    ));
    let deep_vars = format!("{{\"channel\":\"email\",\"to\":\"x@example.com\",\"template\":\"aviso\",\"variables\":{{\"id\":{}1{}}}}}", "{\"a\":".repeat(5_000), "}".repeat(5_000));
    c.push(http(
        "deep json",
        "notification variables nested 5,000 deep",
        M::POST,
        "/v1/notifications",
        H,
        deep_vars.into_bytes(),
    ));
    // Invalid UTF-8 and wrong encodings.
    c.push(http(
        "invalid utf-8",
        "event body with 0xFF 0xFE",
        M::POST,
        "/v1/events",
        H,
        b"{\"type\":\"order.created\",\"data\":{\"x\":\"\xff\xfe\"}}".to_vec(),
    ));
    c.push(http("invalid utf-8", "notification with a lone continuation byte", M::POST, "/v1/notifications", H,
        b"{\"channel\":\"email\",\"to\":\"x@example.com\",\"template\":\"aviso\",\"variables\":{\"id\":\"\x80\"}}".to_vec()));
    c.push(http(
        "invalid utf-8",
        "template with overlong encoding",
        M::PUT,
        "/v1/templates/utf",
        H,
        b"{\"kind\":\"email\",\"subject\":\"\xc0\xaf\",\"text\":\"t\"}".to_vec(),
    ));
    c.push(http(
        "invalid utf-8",
        "UTF-16 body",
        M::POST,
        "/v1/events",
        H,
        "{\"type\":\"order.created\",\"data\":{}}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect(),
    ));
    c.push(
        http(
            "invalid utf-8",
            "not JSON content type",
            M::POST,
            "/v1/events",
            H,
            event(json!({})),
        )
        .header("content-type", "text/plain")
        .expect(415, ""),
    );
    // Header injection.
    c.push(http("header injection", "CR/LF + Bcc in the e-mail recipient", M::POST, "/v1/notifications", H,
        j(json!({"channel": "email", "to": "buyer@example.com\r\nBcc: spy@evil.test", "template": "aviso", "variables": {"id": 1}}))).expect(422, "validation_failed"));
    c.push(
        http(
            "header injection",
            "CR/LF in the WhatsApp recipient",
            M::POST,
            "/v1/notifications",
            H,
            j(json!({"channel": "whatsapp", "to": "+5491155550003\r\nX: y", "template": "wa"})),
        )
        .expect(422, "validation_failed"),
    );
    c.push(http(
        "header injection",
        "CR/LF in a template name",
        M::PUT,
        "/v1/templates/a%0D%0ABcc:%20x",
        H,
        j(json!({"kind": "email", "subject": "s", "text": "t"})),
    ));
    c.push(
        http(
            "header injection",
            "tab inside Idempotency-Key",
            M::POST,
            "/v1/events",
            H,
            event(json!({})),
        )
        .header("idempotency-key", b"abc\tdef".to_vec()),
    );
    c.push(
        http(
            "header injection",
            "non-ASCII Idempotency-Key",
            M::POST,
            "/v1/events",
            H,
            event(json!({})),
        )
        .header("idempotency-key", b"cl\xe9".to_vec()),
    );
    c.push(http("header injection", "CR/LF in a webhook URL", M::POST, "/v1/webhook-endpoints", H,
        j(json!({"url": format!("{}/hooks/x\r\nHost: evil", t.receiver_url), "filter_types": ["*"]}))));
    c.push(Case {
        family: "header injection",
        name: "bare CR inside the x-api-key header (raw HTTP)".into(),
        req: raw_get("/v1/project", &format!("{}\rx-injected: 1", h.key()), ""),
        status: 400,
        code: "",
    });
    c.push(Case {
        family: "header injection",
        name: "obs-fold continuation line (raw HTTP)".into(),
        req: raw_get(
            "/v1/project",
            h.key(),
            "x-forwarded-for: 1.2.3.4\r\n x-api-key: other\r\n",
        ),
        status: 400,
        code: "",
    });
    // Path traversal in ids.
    for (name, path) in [
        (
            "../ in a notification id",
            "/v1/notifications/..%2F..%2Fadmin%2Fprojects",
        ),
        (
            "encoded ../ in a payment id",
            "/v1/payments/%2e%2e%2f%2e%2e%2fK%23key",
        ),
        (
            "double-encoded ../ in an event id",
            "/v1/events/%252e%252e%252fP%2523x",
        ),
        (
            "partition key as a webhook endpoint id",
            &format!("/v1/webhook-endpoints/P%23{}%23WHE", v.project.id),
        ),
        (
            "NUL byte in a delivery id",
            "/v1/webhook-deliveries/dlv_01J00000000000000000000000%00",
        ),
        (
            "/etc/passwd as a template name",
            "/v1/templates/..%2F..%2F..%2Fetc%2Fpasswd",
        ),
        (
            "backslashes in a template version",
            "/v1/templates/aviso/versions/..%5C..%5C1",
        ),
    ] {
        c.push(http("path traversal", name, M::GET, path, H, vec![]));
    }
    c.push(Case {
        family: "path traversal",
        name: "literal ../ segments (raw HTTP)".into(),
        req: raw_get("/v1/notifications/../../admin/projects", h.key(), ""),
        status: 0,
        code: "",
    });
    c.push(http(
        "path traversal",
        "PUT a template named ..",
        M::PUT,
        "/v1/templates/..%2F..",
        H,
        j(json!({"kind": "email", "subject": "s", "text": "t"})),
    ));
    // Forged and replayed Mercado Pago signatures.
    let mp_path = format!(
        "/mercadopago/{}/notifications?data.id=123456&type=payment",
        h.project.id
    );
    let secret = InboundSecret::new(crate::world::WEBHOOK_SECRET_MP).unwrap();
    let now = server_now(t).await.unix_timestamp();
    let signed = |id: &str, ts: i64, s: &InboundSecret| {
        mp_sig::signature_header(s, Some(id), Some("req-1"), &ts.to_string())
    };
    let mp = |name: &str, sig: Option<String>| {
        let mut case = http(
            "forged signature",
            name,
            M::POST,
            &mp_path,
            N,
            j(json!({"type": "payment", "data": {"id": "123456"}})),
        )
        .header("x-request-id", "req-1");
        if let Some(sig) = sig {
            case = case.header("x-signature", sig);
        }
        case.expect(401, "invalid_signature")
    };
    c.push(mp("Mercado Pago: no x-signature", None));
    c.push(mp(
        "Mercado Pago: forged v1",
        Some(format!("ts={now},v1={}", "ab".repeat(32))),
    ));
    c.push(mp(
        "Mercado Pago: replayed 10 minutes later",
        Some(signed("123456", now - 600, &secret)),
    ));
    c.push(mp(
        "Mercado Pago: replayed for another payment id",
        Some(signed("999999", now, &secret)),
    ));
    c.push(mp(
        "Mercado Pago: signed with another shop's secret",
        Some(signed(
            "123456",
            now,
            &InboundSecret::new("someone-elses-secret").unwrap(),
        )),
    ));
    c.push(mp(
        "Mercado Pago: timestamp from the future",
        Some(signed("123456", now + 3600, &secret)),
    ));
    c.push(http(
        "forged signature",
        "Mercado Pago: non-numeric id",
        M::POST,
        &format!(
            "/mercadopago/{}/notifications?data.id=1%27%20OR%201%3D1&type=payment",
            h.project.id
        ),
        N,
        vec![],
    ));
    c.push(http(
        "forged signature",
        "Mercado Pago: unknown project",
        M::POST,
        "/mercadopago/prj_01J0000000000000000000000Z/notifications?data.id=1&type=payment",
        N,
        vec![],
    ));
    // Forged and replayed WhatsApp signatures.
    let wa_path = format!("/whatsapp/{}/webhook", h.project.id);
    let status_body = j(
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "statuses": [{"id": "wamid.HBgLforged", "status": "read", "timestamp": "1700000000", "recipient_id": "5491155550003"}]}}]}]}),
    );
    let wa_secret = InboundSecret::new(crate::world::WA_APP_SECRET).unwrap();
    let wa = |name: &str, sig: Option<String>, body: Vec<u8>| {
        let mut case = http("forged signature", name, M::POST, &wa_path, N, body);
        if let Some(sig) = sig {
            case = case.header("x-hub-signature-256", sig);
        }
        case.expect(401, "")
    };
    c.push(wa(
        "WhatsApp: no X-Hub-Signature-256",
        None,
        status_body.clone(),
    ));
    c.push(wa(
        "WhatsApp: forged signature",
        Some(format!("sha256={}", "00".repeat(32))),
        status_body.clone(),
    ));
    c.push(wa(
        "WhatsApp: another app's secret",
        Some(wa_sig::signature_header(
            &InboundSecret::new("other-app").unwrap(),
            &status_body,
        )),
        status_body.clone(),
    ));
    let mut tampered = status_body.clone();
    tampered.extend_from_slice(b" ");
    c.push(wa(
        "WhatsApp: signature replayed on a modified body",
        Some(wa_sig::signature_header(&wa_secret, &status_body)),
        tampered,
    ));
    c.push(wa(
        "WhatsApp: sha1 instead of sha256",
        Some(format!("sha1={}", "00".repeat(20))),
        status_body.clone(),
    ));
    c.push(
        http(
            "forged signature",
            "WhatsApp: handshake with a wrong verify token",
            M::GET,
            &format!("{wa_path}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=123"),
            N,
            vec![],
        )
        .expect(403, ""),
    );
    // SSRF webhook URLs (loopback is allow-listed in the local stack for the receiver sandbox).
    for url in [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://2852039166/latest/meta-data/",
        "http://0xa9fea9fe/latest/meta-data/",
        "http://0251.0376.0251.0376/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/",
        "http://10.0.0.1/",
        "http://192.168.1.1/admin",
        "http://172.16.0.1/",
        "http://100.100.100.200/latest/meta-data/",
        "http://0.0.0.0/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "ftp://example.com/x",
        "http://user:pass@169.254.169.254/",
    ] {
        c.push(http(
            "ssrf",
            &format!("webhook URL {url}"),
            M::POST,
            "/v1/webhook-endpoints",
            H,
            j(json!({"url": url, "filter_types": ["*"]})),
        ));
    }
    // Template bombs (saved at setup time or refused at save time; previews must fail safely).
    for (i, (name, text)) in [
        (
            "a loop of 10^9 iterations",
            "{% for i in range(1000000000) %}x{% endfor %}",
        ),
        ("\"x\" * 10**9", "{{ \"x\" * 1000000000 }}"),
        (
            "nested loops 10^4 × 10^4",
            "{% for i in range(10000) %}{% for j in range(10000) %}xx{% endfor %}{% endfor %}",
        ),
        (
            "a recursive macro",
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        ),
        ("an include of /etc/passwd", "{% include \"/etc/passwd\" %}"),
        ("an unclosed block", "{% if x %}never closed"),
    ]
    .into_iter()
    .enumerate()
    {
        // Set-up (outside the table): what validates at save time is saved, and its preview
        // must then fail safely; what does not validate is a save case.
        let body = j(json!({"kind": "email", "subject": "s", "text": text}));
        let saved = t
            .call(M::PUT, &format!("/v1/templates/bomb{i}"), h.key())
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
            == 201;
        if saved {
            c.push(http(
                "template bomb",
                &format!("preview of {name}"),
                M::POST,
                &format!("/v1/templates/bomb{i}/preview"),
                H,
                j(json!({"variables": {}})),
            ));
        } else {
            c.push(http(
                "template bomb",
                &format!("save {name}"),
                M::PUT,
                &format!("/v1/templates/bomb{i}"),
                H,
                body,
            ));
        }
    }
    // Other projects' keys and ids.
    let victim_ids = victim_ids(t, v).await;
    for (name, method, path, body) in [
        (
            "read the victim's notification",
            M::GET,
            format!("/v1/notifications/{}", victim_ids["notification"]),
            vec![],
        ),
        (
            "read the victim's event",
            M::GET,
            format!("/v1/events/{}", victim_ids["event"]),
            vec![],
        ),
        (
            "read the victim's payment",
            M::GET,
            format!("/v1/payments/{}", victim_ids["payment"]),
            vec![],
        ),
        (
            "refund the victim's payment",
            M::POST,
            format!("/v1/payments/{}/refunds", victim_ids["payment"]),
            j(json!({"amount": 1})),
        ),
        (
            "retry the victim's delivery",
            M::POST,
            format!("/v1/webhook-deliveries/{}/retry", victim_ids["delivery"]),
            vec![],
        ),
        (
            "delete the victim's endpoint",
            M::DELETE,
            format!("/v1/webhook-endpoints/{}", v.endpoint_id),
            vec![],
        ),
        (
            "disable the victim's endpoint",
            M::PATCH,
            format!("/v1/webhook-endpoints/{}", v.endpoint_id),
            j(json!({"enabled": false})),
        ),
        (
            "rotate the victim's endpoint secret",
            M::POST,
            format!("/v1/webhook-endpoints/{}/rotate-secret", v.endpoint_id),
            j(json!({})),
        ),
        (
            "recover the victim's endpoint",
            M::POST,
            format!("/v1/webhook-endpoints/{}/recover", v.endpoint_id),
            j(json!({"since": "2020-01-01T00:00:00Z"})),
        ),
    ] {
        c.push(http("other projects", name, method, &path, H, body).expect(404, "not_found"));
    }
    let mut typo = v.key().to_owned().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'A' { b'B' } else { b'A' };
    c.push(
        http(
            "other projects",
            "the victim's key with a changed checksum",
            M::GET,
            "/v1/project",
            N,
            vec![],
        )
        .header("x-api-key", typo)
        .expect(401, "api_key_malformed"),
    );
    c.push(
        http(
            "other projects",
            "a project key on the operator API",
            M::GET,
            "/admin/projects",
            H,
            vec![],
        )
        .expect(403, "operator_auth_required"),
    );
    c.push(
        http(
            "other projects",
            "the victim's project id in the Mercado Pago intake, signed by the attacker",
            M::POST,
            &format!(
                "/mercadopago/{}/notifications?data.id=123456&type=payment",
                v.project.id
            ),
            N,
            vec![],
        )
        .header("x-request-id", "req-1")
        .header(
            "x-signature",
            signed(
                "123456",
                now,
                &InboundSecret::new("attacker-secret").unwrap(),
            ),
        )
        .expect(401, "invalid_signature"),
    );
    // SQL- and NoSQL-looking strings where the API expects ids, enums, numbers or cursors.
    for (name, path) in [
        (
            "' OR 1=1 -- as a status filter",
            "/v1/notifications?status=%27%20OR%201%3D1%20--",
        ),
        (
            "{\"$ne\": null} as a status filter",
            "/v1/payments?status=%7B%22%24ne%22%3A%20null%7D",
        ),
        (
            "1; DROP TABLE as a limit",
            "/v1/events?limit=1%3B%20DROP%20TABLE%20projects",
        ),
        (
            "forged cursor",
            "/v1/notifications?cursor=eyJwayI6eyJTIjoiUCMqIn19",
        ),
        (
            "cursor with a foreign partition",
            &format!("/v1/events?cursor=P%23{}%23EVT", v.project.id),
        ),
        ("$where as a channel", "/v1/notifications?channel=%24where"),
        (
            "' OR '1'='1 as an id",
            "/v1/notifications/ntf_%27%20OR%20%271%27%3D%271",
        ),
        (
            "attribute_exists(pk) as a delivery status",
            "/v1/webhook-deliveries?status=attribute_exists(pk)",
        ),
        (
            "time range with a filter expression",
            "/v1/events?since=1%20OR%20pk%20%3C%3E%20%3Aa",
        ),
    ] {
        c.push(http("injection strings", name, M::GET, path, H, vec![]));
    }
    c.push(http(
        "injection strings",
        "{\"$gt\": \"\"} as an event type",
        M::POST,
        "/v1/events",
        H,
        j(json!({"type": {"$gt": ""}, "data": {}})),
    ));
    c.push(http(
        "injection strings",
        "SQL in an event type",
        M::POST,
        "/v1/events",
        H,
        j(json!({"type": "order.created'; DROP TABLE events;--", "data": {}})),
    ));
    c.push(http("injection strings", "{\"$ne\": 0} as an amount", M::POST, "/v1/payments", H,
        j(json!({"order_id": "x", "amount": {"$ne": 0}, "currency": "ARS", "mode": "checkout", "items": []}))));
    c.push(http(
        "injection strings",
        "operator object as a recipient",
        M::POST,
        "/v1/notifications",
        H,
        j(json!({"channel": "email", "to": {"$regex": ".*"}, "template": "aviso"})),
    ));
    super::strict_cases::add(&mut c, h);
    c
}

/// One id of each kind from the victim (made during the load phases).
async fn victim_ids(t: &TestStack, v: &Shop) -> std::collections::HashMap<&'static str, String> {
    let first = |items: Vec<Value>| {
        items
            .first()
            .and_then(|i| i["id"].as_str())
            .unwrap_or("missing")
            .to_owned()
    };
    let mut ids = std::collections::HashMap::new();
    ids.insert(
        "notification",
        first(
            list_all(t, v.key(), "/v1/notifications")
                .await
                .unwrap_or_default(),
        ),
    );
    ids.insert(
        "event",
        first(list_all(t, v.key(), "/v1/events").await.unwrap_or_default()),
    );
    ids.insert(
        "payment",
        first(
            list_all(t, v.key(), "/v1/payments")
                .await
                .unwrap_or_default(),
        ),
    );
    ids.insert(
        "delivery",
        first(
            list_all(t, v.key(), "/v1/webhook-deliveries")
                .await
                .unwrap_or_default(),
        ),
    );
    ids
}
