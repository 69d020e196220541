//! The document's shared parts that are not body types: security schemes, headers, the
//! problem answers by status, and the Idempotency-Key parameter.

use serde_json::{json, Map, Value};

pub fn security_schemes() -> Value {
    json!({
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY",
                   "description": "`mk_live_<key id>_<secret>_<checksum>`, shown once at creation"},
        "OperatorIam": {"type": "apiKey", "in": "header", "name": "Authorization",
                        "description": "AWS SigV4 (API Gateway IAM authorizer); locally a bearer token"},
    })
}

pub fn parameters() -> Value {
    json!({"IdempotencyKey": {
        "name": "Idempotency-Key", "in": "header", "required": false,
        "description": "1–255 visible ASCII characters, scoped to the project, remembered 24 h: the same key \
            with the same request replays the first answer (`Idempotent-Replayed: true`); with a \
            different request 409 `idempotency_key_reused`",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}}})
}

pub fn headers() -> Value {
    let string = json!({"type": "string"});
    let integer = json!({"type": "integer"});
    json!({
        "X-Request-Id": {"description": "This request's id (also `request_id` in problems)", "schema": string},
        "RateLimit-Limit": {"description": "Requests allowed per minute", "schema": integer},
        "RateLimit-Remaining": {"description": "Requests left in this minute", "schema": integer},
        "RateLimit-Reset": {"description": "Seconds until the minute resets", "schema": integer},
        "RateLimit-Policy": {"description": "`\"minute\";q=2000;w=60, \"second\";q=50;w=1`", "schema": string},
        "Retry-After": {"description": "Seconds to wait before retrying", "schema": integer},
        "Idempotent-Replayed": {"description": "`true` when this answer replays an earlier request with the same Idempotency-Key", "schema": string},
    })
}

/// The headers every `/v1` answer carries.
pub fn rate_headers() -> Value {
    let mut out = Map::new();
    for h in [
        "X-Request-Id",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "RateLimit-Policy",
    ] {
        out.insert(
            h.into(),
            json!({"$ref": format!("#/components/headers/{h}")}),
        );
    }
    Value::Object(out)
}

/// The component response for a problem status.
pub fn error_response(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        413 => "PayloadTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Unprocessable",
        429 => "TooManyRequests",
        503 => "Unavailable",
        _ => "Problem",
    }
}

fn problem(description: &str, codes: &[&str], retry: bool) -> Value {
    let codes: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
    let mut headers = json!({"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}});
    if retry {
        headers["Retry-After"] = json!({"$ref": "#/components/headers/Retry-After"});
    }
    json!({
        "description": format!("{description}. Codes: {}", codes.join(", ")),
        "headers": headers,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    })
}

pub fn responses() -> Value {
    json!({
        "BadRequest": problem("Malformed request (bad JSON, a duplicate key in a JSON object, bad query string)", &["invalid_json"], false),
        "Unauthorized": problem("No valid API key (`WWW-Authenticate: ApiKey header=\"X-API-KEY\"`)",
            &["api_key_missing", "api_key_malformed", "api_key_invalid", "api_key_revoked", "api_key_expired"], false),
        "Forbidden": problem("Valid key that may not do this", &["project_inactive", "feature_disabled"], false),
        "OperatorForbidden": problem("No or wrong operator credentials. API Gateway's IAM authorizer refuses an unsigned or \
            unauthorized request with 403 before any function runs, so operator routes never \
            answer 401 (on AWS the body is API Gateway's own; the local stand-in answers problem+json)",
            &["operator_auth_required"], false),
        "NotFound": problem("Not found; also what another project's ids answer", &["not_found", "route_not_found"], false),
        "Conflict": problem("Conflicts with the current state or an earlier Idempotency-Key",
            &["idempotency_key_reused", "idempotency_request_in_progress", "endpoint_disabled", "endpoint_limit_reached",
              "provider_not_configured"], false),
        "PayloadTooLarge": problem("Body too large", &["payload_too_large", "event_too_large"], false),
        "UnsupportedMediaType": problem("Body is not `application/json`", &["unsupported_media_type"], false),
        "Unprocessable": problem("Well-formed but invalid: every offending field is listed in `errors`", &["validation_failed"], false),
        "TooManyRequests": problem("Rate limit or monthly quota exceeded", &["rate_limited", "quota_exceeded"], true),
        "Unavailable": problem("A dependency is unavailable; safe to retry", &["storage_unavailable", "queue_unavailable"], true),
        "Problem": problem("Any other error", &["internal_error"], false),
    })
}

/// Schemas the derive cannot say alone.
pub fn finish_schemas(schemas: &mut Map<String, Value>) {
    // Creating an endpoint needs its url; PATCH takes every field as optional. Same Rust type.
    if let Some(mut input) = schemas.get("EndpointInput").cloned() {
        input["required"] = json!(["url"]);
        schemas.insert("NewEndpoint".into(), input);
    }
    // Checked by `templates::validate` after parsing.
    if let Some(email) = schemas.get_mut("EmailContent") {
        email["anyOf"] = json!([{"required": ["html"]}, {"required": ["text"]}]);
    }
    // The body of every outgoing webhook: `webhooks::emit` writes it as text once per event.
    schemas.insert("WebhookPayload".into(), json!({
        "type": "object", "required": ["type", "timestamp", "data"],
        "description": "The body Mostrador POSTs to a shop's endpoint (Standard Webhooks).",
        "properties": {"type": {"type": "string", "examples": ["order.paid"]},
                       "timestamp": {"type": "string", "format": "date-time"}, "data": {}},
        "example": {"type": "order.paid", "timestamp": "2026-11-22T05:56:18Z", "data": {"order_id": "A-1001"}},
    }));
    // Provider credentials are a free-form object checked per provider (`admin::put_credentials`).
    schemas.insert("Credentials".into(), json!({
        "type": "object", "additionalProperties": true,
        "description": "Provider credentials (`mercadopago`: access_token, webhook_secret; `whatsapp`: \
            phone_number_id, access_token, app_secret, verify_token)",
    }));
}
