//! Ambiguous JSON (issue 13): each must be refused with a code and change nothing. Before the
//! strict extractor, `[]` or `{"amount": null}` refunded a whole payment, duplicate keys were
//! last-one-wins, arrays stood in for objects and unknown fields were dropped.

use super::cases::{http, raw_get};
use super::{Case, Who};
use crate::world::Shop;
use reqwest::Method;

pub(super) fn add(c: &mut Vec<Case>, h: &Shop) {
    use Method as M;
    let f = "strict input";
    let body = |s: &str| s.as_bytes().to_vec();
    // A refund is parsed before the payment is looked up: no paid payment is needed to show
    // that none of these could ever reach Mercado Pago.
    let refund = "/v1/payments/pay_01J00000000000000000000000/refunds";
    for (name, text, status, code) in [
        ("refund body []", "[]", 422, "validation_failed"),
        (
            "refund amount null",
            r#"{"amount":null}"#,
            422,
            "validation_failed",
        ),
        (
            "refund amount twice",
            r#"{"amount":"x","amount":1}"#,
            400,
            "invalid_json",
        ),
        (
            "refund amount as a string",
            r#"{"amount":"100"}"#,
            422,
            "validation_failed",
        ),
        (
            "refund amount with a fraction",
            r#"{"amount":1.5}"#,
            422,
            "validation_failed",
        ),
        (
            "refund amount negative",
            r#"{"amount":-1}"#,
            422,
            "validation_failed",
        ),
        (
            "refund with an unknown field",
            r#"{"amount":1,"reason":"x"}"#,
            422,
            "validation_failed",
        ),
    ] {
        c.push(http(f, name, M::POST, refund, Who::Hostile, body(text)).expect(status, code));
    }
    let shop_routes: [(Method, &str, &str); 8] = [
        (
            M::PUT,
            "/v1/templates/strict",
            r#""kind":"email","subject":"S","text":"T""#,
        ),
        (M::POST, "/v1/templates/strict/preview", r#""variables":{}"#),
        (
            M::POST,
            "/v1/notifications",
            r#""channel":"email","to":"x@example.com","template":"aviso""#,
        ),
        (M::POST, "/v1/events", r#""type":"order.created","data":{}"#),
        (
            M::POST,
            "/v1/webhook-endpoints",
            r#""url":"https://example.com/hooks""#,
        ),
        (
            M::POST,
            "/v1/payments",
            r#""order_id":"S-1","amount":100,"currency":"ARS","mode":"checkout""#,
        ),
        (
            M::PATCH,
            "/v1/webhook-endpoints/whe_01J00000000000000000000000",
            r#""description":"x""#,
        ),
        (
            M::POST,
            "/v1/webhook-endpoints/whe_01J00000000000000000000000/recover",
            r#""since":"2026-01-01T00:00:00Z""#,
        ),
    ];
    for (method, path, members) in shop_routes {
        let first = members.split(',').next().unwrap_or(members);
        for (name, text, status, code) in [
            (
                "duplicate key",
                format!("{{{first},{members}}}"),
                400,
                "invalid_json",
            ),
            (
                "unknown field",
                format!("{{{members},\"zz\":1}}"),
                422,
                "validation_failed",
            ),
            ("array body", "[]".to_owned(), 422, "validation_failed"),
            (
                "members as an array",
                format!("[{members}]").replace(':', ","),
                422,
                "validation_failed",
            ),
        ] {
            // Routes on ids the shop does not have answer 404 before reading the body.
            let status = if path.contains("whe_01J") { 0 } else { status };
            let code = if status == 0 { "" } else { code };
            c.push(
                http(
                    f,
                    &format!("{name}: {method} {path}"),
                    method.clone(),
                    path,
                    Who::Hostile,
                    body(&text),
                )
                .expect(status, code),
            );
        }
    }
    c.push(
        http(
            f,
            "template as an array of its fields",
            M::PUT,
            "/v1/templates/strict",
            Who::Hostile,
            body(r#"["email","S","T"]"#),
        )
        .expect(422, "validation_failed"),
    );
    c.push(
        http(
            f,
            "event data null",
            M::POST,
            "/v1/events",
            Who::Hostile,
            body(r#"{"type":"order.created","data":null}"#),
        )
        .expect(422, "validation_failed"),
    );
    c.push(http(f, "payment payer as an array", M::POST, "/v1/payments", Who::Hostile,
        body(r#"{"order_id":"S-2","amount":100,"currency":"ARS","mode":"checkout","payer":["a@b.c"]}"#))
        .expect(422, "validation_failed"));
    c.push(http(f, "payment item quantity with a fraction", M::POST, "/v1/payments", Who::Hostile,
        body(r#"{"order_id":"S-3","amount":100,"currency":"ARS","mode":"checkout","items":[{"title":"t","quantity":1.5,"unit_amount":100}]}"#))
        .expect(422, "validation_failed"));
    // Malformed header lines: refused before any function, still as problem+json.
    c.push(Case {
        family: f,
        name: "header line without a colon (raw HTTP)".into(),
        req: raw_get("/v1/project", h.key(), "this line has no colon\r\n"),
        status: 400,
        code: "malformed_request",
    });
    c.push(Case {
        family: f,
        name: "header name with a space (raw HTTP)".into(),
        req: raw_get("/v1/project", h.key(), "x bad name: 1\r\n"),
        status: 400,
        code: "malformed_request",
    });
}
