#!/usr/bin/env python3
"""Generates the API contract: `openapi.json` (OpenAPI 3.1) and `docs/api.html` (the same
document as a static, offline, human-readable page, served at GET /docs).

This script is the source; both outputs are committed. After changing a route, edit this file
and run `python3 scripts/openapi.py`. The black-box test `openapi` fails when template.yaml's
routes, the Rust request types or the two outputs drift apart.

Standard library only, deterministic output.
"""

import html
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(t, **kw):
    return {"type": [t, "null"], **kw}


STR = {"type": "string"}
TS = {"type": "string", "format": "date-time", "description": "RFC 3339 time"}
TS_NULL = {"type": ["string", "null"], "format": "date-time"}
# "Printable" as the code checks it: no control characters (Unicode Cc) and not only blanks.
PRINTABLE = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"


def printable(max_len, **kw):
    return {"type": "string", "minLength": 1, "maxLength": max_len, "pattern": PRINTABLE, **kw}


DOMAIN = {"type": "string", "maxLength": 253, "description": "Host name such as shop.example.com",
          "pattern": "^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"}
EMAIL = {"type": "string", "format": "email"}
ORDER_ID = {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$"}
U32 = 4294967295
ANY_OBJ = {"type": "object"}

# ---------------------------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------------------------

SCHEMAS = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details. Clients switch on `code`; humans read `detail`.",
        "required": ["type", "title", "status", "code", "detail", "request_id"],
        "properties": {
            "type": {"type": "string", "description": "`urn:mostrador:problem:<code>`",
                     "examples": ["urn:mostrador:problem:validation_failed"]},
            "title": {"type": "string", "examples": ["Unprocessable Entity"]},
            "status": {"type": "integer", "examples": [422]},
            "code": {"type": "string", "description": "Stable machine code", "examples": ["validation_failed"]},
            "detail": {"type": "string"},
            "request_id": {"type": "string", "description": "Also in the `X-Request-Id` header; quote it when reporting a problem"},
            "errors": {"type": "array", "items": ref("FieldError"),
                       "description": "Present on 422 `validation_failed` (one entry per offending field) and on a 400 `invalid_json` caused by a duplicate key"},
        },
        "example": {
            "type": "urn:mostrador:problem:validation_failed", "title": "Unprocessable Entity",
            "status": 422, "code": "validation_failed", "detail": "to: not a valid e-mail address",
            "request_id": "01JD4S2V3N8Q9K1M2X7YB5ZC6T",
            "errors": [{"field": "to", "code": "invalid_format", "message": "not a valid e-mail address"}],
        },
    },
    "FieldError": {
        "type": "object",
        "required": ["field", "code", "message"],
        "properties": {
            "field": {"type": "string", "description": "A body that fails parsing: the JSON pointer of the value (`/amount`, `/items/0/quantity`, `\"\"` for the whole body). Checks after parsing and query parameters: the field's name (`to`, `limit`)"},
            "code": {"type": "string", "description": "Parsing: `duplicate_key`, `invalid_type`, `unknown_field`, `null_not_allowed`, `required`, `out_of_range`, `invalid_value`. After parsing: `required`, `invalid`, `invalid_format`, `out_of_range`, …"},
            "message": {"type": "string"},
        },
    },
    # --- health
    "HealthStatus": {"type": "string", "enum": ["ok", "down"]},
    "ComponentHealth": {
        "type": "object",
        "required": ["component", "status", "latency_ms"],
        "properties": {
            "component": {"type": "string", "enum": ["dynamodb", "sqs", "ses", "secretsmanager"]},
            "status": ref("HealthStatus"),
            "latency_ms": {"type": "integer", "minimum": 0},
            "detail": {"type": "string", "description": "Why the component is down"},
        },
    },
    "HealthReport": {
        "type": "object",
        "required": ["status", "components"],
        "properties": {"status": ref("HealthStatus"), "components": {"type": "array", "items": ref("ComponentHealth")}},
        "example": {"status": "ok", "components": [{"component": "dynamodb", "status": "ok", "latency_ms": 4}]},
    },
    # --- project
    "Limits": {
        "type": "object",
        "properties": {k: {"type": "integer", "minimum": 0} for k in [
            "requests_per_second", "requests_per_minute", "emails_per_month", "whatsapp_per_month",
            "webhook_attempts_per_month", "payments_per_month", "max_webhook_endpoints", "retention_days"]},
    },
    "ProviderState": {
        "type": "object", "required": ["configured"],
        "properties": {"configured": {"type": "boolean"},
                       "configured_at": {**TS, "description": "When the operator last stored the credentials"}},
    },
    "Providers": {
        "type": "object", "required": ["email", "whatsapp_cloud", "whatsapp_link", "mercadopago"],
        "description": "What the project can send or charge through. Never secret material: only whether (and since when) "
                       "credentials are stored. Credentials are set by the operator (`PUT /admin/projects/{id}/credentials/{provider}`).",
        "properties": {
            "email": {"type": "object", "required": ["configured", "provider"], "description":
                      "Sent through the stack's own Amazon SES account (no shop credentials); configured once the operator "
                      "set the project's sender identity (`from`)",
                      "properties": {"configured": {"type": "boolean"}, "provider": {"type": "string", "enum": ["ses"]},
                                     "from": nullable("string")}},
            "whatsapp_cloud": ref("ProviderState"),
            "whatsapp_link": {"type": "object", "required": ["configured"], "description": "Click-to-chat links: always available",
                              "properties": {"configured": {"type": "boolean"}}},
            "mercadopago": ref("ProviderState"),
        },
        "example": {"email": {"configured": True, "provider": "ses", "from": "Tienda <no-reply@shop.example.com>"},
                    "whatsapp_cloud": {"configured": False}, "whatsapp_link": {"configured": True},
                    "mercadopago": {"configured": True, "configured_at": "2026-11-20T14:03:11.120Z"}},
    },
    "Project": {
        "type": "object",
        "required": ["id", "name", "domain", "plan", "active", "limits", "flags", "providers", "usage", "created_at", "updated_at"],
        "properties": {
            "id": {"type": "string", "examples": ["prj_01JD4RZ8B3J6V0Q5XK2M9N7T4W"]},
            "name": STR, "domain": STR,
            "plan": {"type": "string", "enum": ["free", "pro"]},
            "active": {"type": "boolean"},
            "limits": ref("Limits"),
            "flags": {"type": "object", "additionalProperties": {"type": "boolean"},
                      "description": "Effective feature flags: `notifications.email`, `notifications.whatsapp`, `webhooks`, `payments.mercadopago`"},
            "providers": ref("Providers"),
            "usage": {"type": "object", "properties": {
                "month": {"type": "string", "examples": ["2026-11"]},
                "counters": {"type": "object", "additionalProperties": {"type": "integer"}}}},
            "created_at": TS, "updated_at": TS,
        },
    },
    # --- templates
    "TemplateContent": {
        "description": "The template itself; `kind` selects the shape. Template strings are minijinja.",
        "oneOf": [ref("EmailContent"), ref("WhatsAppTextContent"), ref("WhatsAppTemplateContent")],
        "discriminator": {"propertyName": "kind", "mapping": {
            "email": "#/components/schemas/EmailContent",
            "whatsapp_text": "#/components/schemas/WhatsAppTextContent",
            "whatsapp_template": "#/components/schemas/WhatsAppTemplateContent"}},
    },
    "EmailContent": {
        "type": "object", "additionalProperties": False,
        "required": ["kind", "subject"],
        "anyOf": [{"required": ["html"]}, {"required": ["text"]}],
        "properties": {
            "kind": {"const": "email"},
            "subject": {"type": "string", "minLength": 1, "description": "Rendered without escaping; CR/LF become spaces"},
            "html": {"type": "string", "description": "Every `{{ … }}` HTML-escaped. At least one of html and text."},
            "text": {"type": "string"},
        },
        "example": {"kind": "email", "subject": "Order {{ order.id }} shipped", "html": "<p>Hi {{ customer.first_name }}</p>"},
    },
    "WhatsAppTextContent": {
        "type": "object", "additionalProperties": False,
        "required": ["kind", "body"],
        "properties": {"kind": {"const": "whatsapp_text"}, "body": {"type": "string"}},
        "example": {"kind": "whatsapp_text", "body": "Hola {{ name }}, tu pedido salió."},
    },
    "WhatsAppTemplateContent": {
        "type": "object", "additionalProperties": False,
        "required": ["kind", "name", "language"],
        "properties": {
            "kind": {"const": "whatsapp_template"},
            "name": {"type": "string", "minLength": 1, "description": "The template's name at Meta"},
            "language": {"type": "string", "examples": ["es_AR"]},
            "parameters": {"type": "array", "items": STR, "description": "One template per body parameter, in order"},
        },
    },
    "Channel": {"type": "string", "enum": ["email", "whatsapp"]},
    "TemplateVersion": {
        "type": "object",
        "required": ["name", "version", "channel", "content", "variables", "created_at"],
        "properties": {
            "name": STR, "version": {"type": "integer", "minimum": 1}, "channel": ref("Channel"),
            "content": {"type": "object", "description": "The TemplateContent as saved"},
            "variables": {"type": "array", "items": STR, "description": "Variables the template uses"},
            "latest_version": {"type": "integer", "description": "Only on GET"},
            "created_at": TS,
        },
    },
    "TemplateSummary": {
        "type": "object",
        "required": ["name", "channel", "latest_version", "created_at", "updated_at"],
        "properties": {"name": STR, "channel": ref("Channel"), "latest_version": {"type": "integer"},
                       "created_at": TS, "updated_at": TS},
    },
    "TemplateList": {"type": "object", "required": ["data", "next_cursor"], "properties": {
        "data": {"type": "array", "items": ref("TemplateSummary")}, "next_cursor": nullable("string")}},
    "PreviewRequest": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "version": {"type": "integer", "minimum": 1, "description": "Default: the latest"},
            "variables": {"type": "object", "description": "Default `{}`"},
        },
        "example": {"variables": {"customer": {"first_name": "Ana"}, "order": {"id": "A-1001"}}},
    },
    "Preview": {"type": "object", "required": ["name", "version", "rendered"], "properties": {
        "name": STR, "version": {"type": "integer"},
        "rendered": {"type": "object", "description": "`{kind: email, subject, html?, text?}`, `{kind: whatsapp_text, body}` or `{kind: whatsapp_template, …}`"}}},
    # --- notifications
    "NotificationStatus": {"type": "string", "enum": ["pending", "sending", "sent", "delivered", "read", "failed", "bounced", "complained"]},
    "CreateNotification": {
        "type": "object", "additionalProperties": False,
        "required": ["channel", "to", "template"],
        "properties": {
            "channel": ref("Channel"),
            "to": {"type": "string", "description": "An e-mail address, or an E.164 phone number for whatsapp"},
            "template": {"type": "string", "description": "Template name"},
            "version": {"type": "integer", "minimum": 1, "description": "Default: the latest"},
            "variables": {"type": "object", "description": "At most 64 KiB"},
            "metadata": {"type": "object", "description": "Yours, echoed back; at most 4 KiB"},
            "mode": {"type": "string", "enum": ["link", "cloud"],
                     "description": "whatsapp only: `link` answers 201 with a wa.me link; `cloud` (default) queues a Cloud API message"},
        },
        "example": {"channel": "email", "to": "ana@example.com", "template": "order-shipped",
                    "variables": {"customer": {"first_name": "Ana"}, "order": {"id": "A-1001"}}},
    },
    "Notification": {
        "type": "object",
        "required": ["id", "channel", "recipient", "template", "status", "attempts", "history", "created_at", "updated_at"],
        "properties": {
            "id": {"type": "string", "examples": ["ntf_01JD4S2V3N8Q9K1M2X7YB5ZC6T"]},
            "channel": ref("Channel"),
            "mode": {"type": ["string", "null"], "enum": ["link", "cloud", None]},
            "recipient": STR,
            "template": {"type": "object", "properties": {"name": STR, "version": {"type": "integer"}}},
            "variables": {}, "metadata": {},
            "status": ref("NotificationStatus"),
            "reason": nullable("string"),
            "provider_message_id": nullable("string"),
            "link": nullable("string", description="wa.me click-to-chat link (mode link)"),
            "attempts": {"type": "integer"},
            "history": {"type": "array", "items": {"type": "object", "properties": {
                "status": ref("NotificationStatus"), "at": TS, "reason": STR}}},
            "created_at": TS, "updated_at": TS,
        },
    },
    "NotificationList": {"type": "object", "required": ["data", "next_cursor"], "properties": {
        "data": {"type": "array", "items": ref("Notification")}, "next_cursor": nullable("string")}},
    # --- events
    "CreateEvent": {
        "type": "object", "additionalProperties": False,
        "required": ["type", "data"],
        "properties": {
            "type": {"type": "string", "maxLength": 100, "pattern": "^[a-z0-9_]+(\\.[a-z0-9_]+){0,7}$",
                     "description": "Dotted lowercase name (`order.created`)", "examples": ["order.created"]},
            "data": {"type": "object", "description": "A JSON object; the whole body is limited to 20 KB"},
            "event_id": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$", "description": "Your id for the event: the same id is stored once (deduplication)"},
        },
        "example": {"type": "order.created", "data": {"order_id": "A-1001", "total": 125000}, "event_id": "A-1001-created"},
    },
    "EventAccepted": {"type": "object", "required": ["id", "duplicate", "deliveries", "delivery_ids"], "properties": {
        "id": {"type": "string", "examples": ["evt_01JD4S2V3N8Q9K1M2X7YB5ZC6T"]},
        "duplicate": {"type": "boolean", "description": "`true` when `event_id` named an earlier event: nothing new was "
                                                         "stored, and `id` / `delivery_ids` are that event's"},
        "deliveries": {"type": "integer", "description": "How many endpoints it goes to"},
        "delivery_ids": {"type": "array", "items": {"type": "string", "examples": ["dlv_01JD4S2V3N8Q9K1M2X7YB5ZC6T"]},
                         "description": "One delivery per endpoint (`GET /v1/webhook-deliveries/{delivery_id}`)"}}},
    "Event": {"type": "object", "required": ["id", "type", "timestamp", "data"], "properties": {
        "id": STR, "type": STR, "timestamp": TS, "event_id": nullable("string"), "data": {},
        "deliveries": {"type": "array", "items": ref("Delivery"), "description": "Only on GET /v1/events/{event_id}"}}},
    "EventList": {"type": "object", "required": ["data", "next_cursor"], "properties": {
        "data": {"type": "array", "items": ref("Event")}, "next_cursor": nullable("string")}},
    # --- webhook endpoints
    "EndpointInput": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "format": "uri", "maxLength": 2048,
                    "description": "https; required on create. Private addresses are refused (422 `url_not_allowed`)"},
            "filter_types": {"type": "array", "minItems": 1,
                             "items": {"type": "string", "maxLength": 100,
                                       "pattern": "^([a-z0-9_]+\\.){0,7}([a-z0-9_]+|\\*)$"},
                             "description": "Event types or patterns (`order.*`, `*`); default `[\"*\"]`"},
            "description": {"type": "string"},
            "enabled": {"type": "boolean", "description": "Default true; PATCH `true` re-enables a disabled endpoint"},
        },
        "example": {"url": "https://shop.example.com/hooks/mostrador", "filter_types": ["order.*"], "description": "orders"},
    },
    "Endpoint": {"type": "object", "required": ["id", "url", "filter_types", "enabled", "created_at", "updated_at"], "properties": {
        "id": {"type": "string", "examples": ["whe_01JD4S2V3N8Q9K1M2X7YB5ZC6T"]},
        "url": STR, "description": STR, "filter_types": {"type": "array", "items": STR},
        "enabled": {"type": "boolean"}, "disabled_reason": nullable("string"),
        "failing_since": TS_NULL, "secret_rotation_ends_at": TS_NULL,
        "secret": {"type": "string", "description": "`whsec_…`: only on create and rotate-secret", "examples": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]},
        "created_at": TS, "updated_at": TS}},
    "EndpointList": {"type": "object", "required": ["data"], "properties": {"data": {"type": "array", "items": ref("Endpoint")}}},
    "RotateInput": {"type": "object", "additionalProperties": False, "properties": {
        "overlap_seconds": {"type": "integer", "minimum": 0, "maximum": 604800,
                            "description": "How long the old secret keeps signing too (default 86400)"}},
        "example": {"overlap_seconds": 86400}},
    "TestSent": {"type": "object", "required": ["event_id", "delivery_ids"], "properties": {
        "event_id": STR, "delivery_ids": {"type": "array", "items": STR}}},
    "RecoverInput": {"type": "object", "additionalProperties": False, "required": ["since"], "properties": {
        "since": {"type": "string", "format": "date-time"}}, "example": {"since": "2026-11-20T00:00:00Z"}},
    "Recovered": {"type": "object", "required": ["recovered"], "properties": {"recovered": {"type": "integer"}}},
    # --- deliveries
    "Delivery": {"type": "object", "required": ["id", "event_id", "endpoint_id", "event_type", "status", "attempts"], "properties": {
        "id": {"type": "string", "examples": ["dlv_01JD4S2V3N8Q9K1M2X7YB5ZC6T"]},
        "event_id": STR, "endpoint_id": STR, "event_type": STR,
        "status": {"type": "string", "enum": ["pending", "succeeded", "failed"]},
        "attempts": {"type": "integer"}, "next_attempt_at": TS_NULL,
        "last_status_code": nullable("integer"), "last_error_class": nullable("string"),
        "last_attempt_at": TS_NULL, "created_at": TS, "updated_at": TS,
        "attempt_log": {"type": "array", "items": ref("DeliveryAttempt"),
                        "description": "Only on GET /v1/webhook-deliveries/{delivery_id}: time, status code, duration, first 2 KB of the body, error class, request headers"}}},
    "DeliveryAttempt": {"type": "object", "required": ["number", "trigger", "started_at", "state"], "properties": {
        "number": {"type": "integer"}, "trigger": {"type": "string", "enum": ["scheduled", "manual"]},
        "started_at": TS, "state": {"type": "string", "enum": ["in_flight_or_interrupted", "succeeded", "failed"]},
        "status_code": {"type": "integer"}, "duration_ms": {"type": "integer"}, "response_body": STR,
        "error_class": STR, "error": STR, "next_attempt_at": TS,
        "request_headers": {"type": "object", "additionalProperties": {"type": "string"},
                            "description": "The headers sent (absent when nothing was sent): `webhook-id`, `webhook-timestamp`, "
                                           "`content-type`, `user-agent`, and `webhook-signature` redacted to one `v1,key:<key id>…` "
                                           "per signing secret, where the key id is the first 8 hex digits of SHA-256 of the "
                                           "secret (`whsec_…`). Never a signature or a secret.",
                            "example": {"content-type": "application/json", "user-agent": "Mostrador-Webhooks/1.0",
                                        "webhook-id": "evt_01JD4S2V3N8Q9K1M2X7YB5ZC6T", "webhook-timestamp": "1732111391",
                                        "webhook-signature": "v1,key:3f9a1c0e…"}}}},
    "DeliveryList": {"type": "object", "required": ["data", "next_cursor"], "properties": {
        "data": {"type": "array", "items": ref("Delivery")}, "next_cursor": nullable("string")}},
    # --- payments
    "PaymentStatus": {"type": "string", "enum": ["pending", "paid", "failed", "cancelled", "refunded", "partially_refunded", "disputed", "charged_back"]},
    "LineItem": {"type": "object", "additionalProperties": False, "required": ["title", "quantity", "unit_amount"], "properties": {
        "id": {"type": ["string", "null"], "minLength": 1, "maxLength": 64, "pattern": PRINTABLE},
        "title": printable(256), "quantity": {"type": "integer", "minimum": 1, "maximum": 10000},
        "unit_amount": {"type": "integer", "minimum": 0, "description": "Minor units of the payment's currency"}}},
    "BackUrls": {"type": "object", "additionalProperties": False, "properties": {
        "success": STR, "pending": STR, "failure": STR}},
    "Payer": {"type": "object", "additionalProperties": False, "required": ["email"], "properties": {"email": STR}},
    "CreatePayment": {
        "type": "object", "additionalProperties": False,
        "required": ["order_id", "amount", "currency", "mode"],
        "properties": {
            "order_id": {**ORDER_ID, "description": "Your order id (alias `external_reference`)"},
            "amount": {"type": "integer", "minimum": 1, "maximum": 1000000000000, "description": "Minor units (centavos)"},
            "currency": {"type": "string", "examples": ["ARS"]},
            "description": printable(256),
            "items": {"type": "array", "items": ref("LineItem"), "maxItems": 100},
            "payer": ref("Payer"),
            "mode": {"type": "string", "enum": ["checkout", "direct"]},
            "card_token": {"type": "string", "description": "direct only"},
            "installments": {"type": "integer", "minimum": 1, "maximum": 48, "description": "direct only"},
            "payment_method_id": {"type": "string", "description": "direct only"},
            "back_urls": ref("BackUrls"),
        },
        "example": {"order_id": "A-1001", "amount": 125000, "currency": "ARS", "mode": "checkout",
                    "items": [{"title": "Mate", "quantity": 1, "unit_amount": 125000}],
                    "back_urls": {"success": "https://shop.example.com/ok"}},
    },
    "Payment": {"type": "object", "required": ["id", "order_id", "provider", "mode", "amount", "currency", "status"], "properties": {
        "id": {"type": "string", "examples": ["pay_01JD4S2V3N8Q9K1M2X7YB5ZC6T"]},
        "order_id": STR, "provider": {"type": "string", "enum": ["mercadopago"]},
        "mode": {"type": "string", "enum": ["checkout", "direct"]},
        "amount": {"type": "integer"}, "currency": STR, "description": STR,
        "items": {"type": "array", "items": ref("LineItem")},
        "status": ref("PaymentStatus"), "status_detail": nullable("string"),
        "refunded_amount": {"type": "integer"}, "provider_payment_id": nullable("string"),
        "checkout_id": nullable("string"),
        "redirect_url": nullable("string", description="checkout: send the buyer here"),
        "attempts": {"type": "array", "items": {"type": "object"}},
        "history": {"type": "array", "items": {"type": "object"}, "description": "Only on GET /v1/payments/{payment_id}"},
        "created_at": TS, "updated_at": TS}},
    "PaymentList": {"type": "object", "required": ["data", "next_cursor"], "properties": {
        "data": {"type": "array", "items": ref("Payment")}, "next_cursor": nullable("string")}},
    "RefundRequest": {"type": "object", "additionalProperties": False, "properties": {
        "amount": {"type": "integer", "minimum": 1, "maximum": 1000000000000,
                   "description": "Minor units; absent: everything not yet refunded"}},
        "example": {"amount": 5000}},
    "Refund": {"type": "object", "required": ["id", "payment_id", "amount", "currency", "status", "provider_refund_id",
                                              "created_at", "updated_at"], "properties": {
        "id": {"type": "string", "examples": ["ref_01JD4S2V3N8Q9K1M2X7YB5ZC6T"]},
        "payment_id": {"type": "string", "examples": ["pay_01JD4S2V3N8Q9K1M2X7YB5ZC6T"]},
        "amount": {"type": "integer", "description": "Minor units"}, "currency": STR,
        "status": {"type": "string", "enum": ["pending", "approved", "rejected", "cancelled"],
                   "description": "`pending` moves once to one of the others, which are final"},
        "provider_refund_id": {"type": "string"},
        "created_at": TS, "updated_at": TS},
        "description": "One refund of a payment, made through Mostrador or at the provider (found by the sync)"},
    "RefundList": {"type": "object", "required": ["data", "next_cursor"], "properties": {
        "data": {"type": "array", "items": ref("Refund")}, "next_cursor": nullable("string")}},
    "RefundCreated": {"type": "object", "required": ["refund", "payment"], "properties": {
        "refund": ref("Refund"), "payment": ref("Payment")}},
    # --- outgoing webhooks
    "WebhookPayload": {
        "type": "object", "required": ["type", "timestamp", "data"],
        "description": "The body Mostrador POSTs to a shop's endpoint (Standard Webhooks).",
        "properties": {"type": {"type": "string", "examples": ["order.paid"]}, "timestamp": TS, "data": {}},
        "example": {"type": "order.paid", "timestamp": "2026-11-22T05:56:18Z", "data": {"order_id": "A-1001"}},
    },
    # --- operator
    "NewProject": {"type": "object", "additionalProperties": False, "required": ["name", "domain"], "properties": {
        "name": printable(100), "domain": DOMAIN, "plan": {"type": "string", "enum": ["free", "pro"]},
        "contact_email": EMAIL, "email_from": EMAIL},
        "example": {"name": "Shop", "domain": "shop.example.com", "plan": "pro"}},
    "ProjectPatch": {"type": "object", "additionalProperties": False, "properties": {
        "name": printable(100), "domain": DOMAIN, "active": {"type": "boolean"}, "plan": {"type": "string", "enum": ["free", "pro"]},
        "flags": {"type": "object", "additionalProperties": {"type": ["boolean", "null"]},
                  "propertyNames": {"enum": ["notifications.email", "notifications.whatsapp", "webhooks", "payments.mercadopago"]},
                  "description": "true/false switches a module; null goes back to the plan's default"},
        "limit_overrides": ref("LimitOverrides"),
        "contact_email": EMAIL, "email_from": EMAIL}},
    "LimitOverrides": {"type": "object", "additionalProperties": False,
                       "description": "Replaces every override at once (`{}` clears them all); an absent field keeps the plan's value",
                       "properties": {
                           "requests_per_second": {"type": "integer", "minimum": 0, "maximum": U32},
                           "requests_per_minute": {"type": "integer", "minimum": 0, "maximum": U32},
                           "emails_per_month": {"type": "integer", "minimum": 0},
                           "whatsapp_per_month": {"type": "integer", "minimum": 0},
                           "webhook_attempts_per_month": {"type": "integer", "minimum": 0},
                           "payments_per_month": {"type": "integer", "minimum": 0},
                           "max_webhook_endpoints": {"type": "integer", "minimum": 0, "maximum": U32},
                           "retention_days": {"type": "integer", "minimum": 0, "maximum": U32}}},
    "KeyRequest": {"type": "object", "additionalProperties": False, "properties": {
        "label": {"type": "string", "maxLength": 100, "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$"}}},
    "RotateKeyRequest": {"type": "object", "additionalProperties": False, "properties": {
        "grace_seconds": {"type": "integer", "minimum": 0, "maximum": 2592000, "description": "At most 30 days; 0 or absent: at once"}}},
    "Credentials": {"type": "object", "additionalProperties": True,
                    "description": "Provider credentials (`mercadopago`: access_token, webhook_secret; `whatsapp`: phone_number_id, access_token, app_secret, verify_token)"},
}

# Creating an endpoint needs its url; PATCH takes every field as optional. Same Rust type.
SCHEMAS["NewEndpoint"] = {**SCHEMAS["EndpointInput"], "required": ["url"]}

# Which Rust request type each request schema documents: the drift test reads the struct's
# fields from the source and compares them with the schema's properties.
SCHEMAS_TO_STRUCTS = {
    "PreviewRequest": ["shared/src/notifications/routes.rs", "PreviewRequest"],
    "CreateNotification": ["shared/src/notifications/send_api.rs", "CreateRequest"],
    "EmailContent": ["shared/src/templates/mod.rs", "EmailContent"],
    "WhatsAppTextContent": ["shared/src/templates/mod.rs", "WhatsAppTextContent"],
    "WhatsAppTemplateContent": ["shared/src/templates/mod.rs", "WhatsAppTemplateRef"],
    "CreateEvent": ["shared/src/events/routes.rs", "NewEvent"],
    "EndpointInput": ["shared/src/webhooks/endpoint_routes.rs", "EndpointInput"],
    "NewEndpoint": ["shared/src/webhooks/endpoint_routes.rs", "EndpointInput"],
    "RotateInput": ["shared/src/webhooks/endpoint_routes.rs", "RotateInput"],
    "RecoverInput": ["shared/src/webhooks/endpoint_routes.rs", "RecoverInput"],
    "CreatePayment": ["shared/src/payments/model.rs", "CreatePayment"],
    "LineItem": ["shared/src/payments/model.rs", "LineItem"],
    "BackUrls": ["shared/src/payments/model.rs", "BackUrls"],
    "Payer": ["shared/src/payments/model.rs", "Payer"],
    "RefundRequest": ["shared/src/payments/refund_routes.rs", "RefundRequest"],
    "NewProject": ["shared/src/admin/mod.rs", "NewProject"],
    "ProjectPatch": ["shared/src/admin/mod.rs", "ProjectPatch"],
    "LimitOverrides": ["shared/src/tenancy/plan.rs", "LimitOverrides"],
    "KeyRequest": ["shared/src/admin/routes.rs", "KeyRequest"],
    "RotateKeyRequest": ["shared/src/admin/routes.rs", "RotateRequest"],
}

# ---------------------------------------------------------------------------------------------
# Responses and headers
# ---------------------------------------------------------------------------------------------

HEADERS = {
    "X-Request-Id": {"description": "This request's id (also `request_id` in problems)", "schema": STR},
    "RateLimit-Limit": {"description": "Requests allowed per minute", "schema": {"type": "integer"}},
    "RateLimit-Remaining": {"description": "Requests left in this minute", "schema": {"type": "integer"}},
    "RateLimit-Reset": {"description": "Seconds until the minute resets", "schema": {"type": "integer"}},
    "RateLimit-Policy": {"description": "`\"minute\";q=2000;w=60, \"second\";q=50;w=1`", "schema": STR},
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}},
    "Idempotent-Replayed": {"description": "`true` when this answer replays an earlier request with the same Idempotency-Key", "schema": STR},
}

RATE_HEADERS = {h: {"$ref": f"#/components/headers/{h}"} for h in
                ["X-Request-Id", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"]}


def problem(description, codes, retry=False):
    r = {"description": f"{description}. Codes: " + ", ".join(f"`{c}`" for c in codes),
         "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
         "content": {"application/problem+json": {"schema": ref("Problem")}}}
    if retry:
        r["headers"]["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    return r


RESPONSES = {
    "BadRequest": problem("Malformed request (bad JSON, a duplicate key in a JSON object, bad query string)", ["invalid_json"]),
    "Unauthorized": problem("No valid API key (`WWW-Authenticate: ApiKey header=\"X-API-KEY\"`)",
                            ["api_key_missing", "api_key_malformed", "api_key_invalid", "api_key_revoked", "api_key_expired"]),
    "Forbidden": problem("Valid key that may not do this", ["project_inactive", "feature_disabled"]),
    "OperatorForbidden": problem("No or wrong operator credentials. API Gateway's IAM authorizer refuses an unsigned or "
                                 "unauthorized request with 403 before any function runs, so operator routes never "
                                 "answer 401 (on AWS the body is API Gateway's own; the local stand-in answers problem+json)",
                                 ["operator_auth_required"]),
    "NotFound": problem("Not found; also what another project's ids answer", ["not_found", "route_not_found"]),
    "Conflict": problem("Conflicts with the current state or an earlier Idempotency-Key",
                        ["idempotency_key_reused", "idempotency_request_in_progress", "endpoint_disabled", "endpoint_limit_reached",
                         "provider_not_configured"]),
    "PayloadTooLarge": problem("Body too large", ["payload_too_large", "event_too_large"]),
    "UnsupportedMediaType": problem("Body is not `application/json`", ["unsupported_media_type"]),
    "Unprocessable": problem("Well-formed but invalid: every offending field is listed in `errors`", ["validation_failed"]),
    "TooManyRequests": problem("Rate limit or monthly quota exceeded", ["rate_limited", "quota_exceeded"], retry=True),
    "Unavailable": problem("A dependency is unavailable; safe to retry", ["storage_unavailable", "queue_unavailable"], retry=True),
    "Problem": problem("Any other error", ["internal_error"]),
}


def errors(*statuses):
    names = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
             413: "PayloadTooLarge", 415: "UnsupportedMediaType", 422: "Unprocessable",
             429: "TooManyRequests", 503: "Unavailable"}
    out = {str(s): {"$ref": f"#/components/responses/{names[s]}"} for s in statuses}
    out["default"] = {"$ref": "#/components/responses/Problem"}
    return out


def ok(status, schema, description, rate=True, example=None):
    content = {"schema": ref(schema) if isinstance(schema, str) else schema}
    if example is not None:
        content["example"] = example
    r = {"description": description, "content": {"application/json": content}}
    r["headers"] = dict(RATE_HEADERS) if rate else {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
    return {str(status): r}


def no_content(description):
    return {"204": {"description": description, "headers": dict(RATE_HEADERS)}}


def path_param(name, description, example=None):
    p = {"name": name, "in": "path", "required": True, "description": description, "schema": STR}
    if example:
        p["example"] = example
    return p


def query(name, description, schema=None):
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema or STR}


LIMIT = query("limit", "Page size, 1 to 100", {"type": "integer", "minimum": 1, "maximum": 100})
CURSOR = query("cursor", "`next_cursor` of the previous page", {"type": "string", "minLength": 1})
SINCE = query("since", "Only items created at or after this time", {"type": "string", "format": "date-time"})
UNTIL = query("until", "Only items created at or before this time", {"type": "string", "format": "date-time"})
IDEMPOTENCY = {"$ref": "#/components/parameters/IdempotencyKey"}


def body(schema, required=True):
    return {"required": required, "content": {"application/json": {"schema": ref(schema)}}}


# ---------------------------------------------------------------------------------------------
# Operations: (method, path, operation)
# ---------------------------------------------------------------------------------------------

V1 = [{"ApiKey": []}]
IAM = [{"OperatorIam": []}]
PUBLIC = []

OPS = []


def op(method, path, tag, op_id, summary, responses, params=(), request=None, security=V1, description=None):
    o = {"operationId": op_id, "tags": [tag], "summary": summary, "security": security}
    if security == IAM and "403" in responses:
        responses = {**responses, "403": {"$ref": "#/components/responses/OperatorForbidden"}}
    if description:
        o["description"] = description
    params = list(params)
    if method == "POST" and path.startswith("/v1/"):
        params.append(IDEMPOTENCY)
    if params:
        o["parameters"] = params
    if request:
        o["requestBody"] = request
    o["responses"] = responses
    OPS.append((method, path, o))


# health (public)
op("GET", "/health", "health", "getHealth", "Every dependency's health", {
    "200": {"description": "All components ok", "content": {"application/json": {"schema": ref("HealthReport")}}},
    "503": {"description": "At least one component is down", "content": {"application/json": {"schema": ref("HealthReport")}}},
}, security=PUBLIC)
op("GET", "/health/{component}", "health", "getComponentHealth", "One dependency's health", {
    "200": {"description": "The component is ok", "content": {"application/json": {"schema": ref("ComponentHealth")}}},
    "503": {"description": "The component is down", "content": {"application/json": {"schema": ref("ComponentHealth")}}},
    "404": {"$ref": "#/components/responses/NotFound"},
    "default": {"$ref": "#/components/responses/Problem"},
}, params=[path_param("component", "dynamodb, sqs, ses or secretsmanager", "dynamodb")], security=PUBLIC)
op("GET", "/openapi.json", "health", "getOpenApi", "This document", {
    "200": {"description": "The OpenAPI 3.1 document", "content": {"application/json": {"schema": ANY_OBJ}}},
}, security=PUBLIC)
op("GET", "/docs", "health", "getDocs", "This document as a static HTML reference", {
    "200": {"description": "HTML", "content": {"text/html": {"schema": STR}}},
}, security=PUBLIC)

# project
op("GET", "/v1/project", "project", "getProject", "The calling project: plan, limits, flags, this month's usage",
   {**ok(200, "Project", "The project"), **errors(401, 403, 429, 503)})

# templates
NAME = path_param("name", "Template name (lowercase letters, digits, `-`, `_`, `.`)", "order-shipped")
op("GET", "/v1/templates", "templates", "listTemplates", "List templates (latest versions)",
   {**ok(200, "TemplateList", "A page of templates"), **errors(401, 403, 422, 429, 503)}, params=[LIMIT, CURSOR])
op("GET", "/v1/templates/{name}", "templates", "getTemplate", "A template's latest version",
   {**ok(200, "TemplateVersion", "The latest version"), **errors(401, 403, 404, 429, 503)}, params=[NAME])
op("PUT", "/v1/templates/{name}", "templates", "putTemplate", "Save a new immutable version",
   {**ok(201, "TemplateVersion", "The new version"), **errors(400, 401, 403, 413, 415, 422, 429, 503)},
   params=[NAME], request=body("TemplateContent"),
   description="Every PUT saves a new version (1, 2, …); templates are validated and sandboxed.")
op("GET", "/v1/templates/{name}/versions/{version}", "templates", "getTemplateVersion", "One version of a template",
   {**ok(200, "TemplateVersion", "The version"), **errors(401, 403, 404, 429, 503)},
   params=[NAME, path_param("version", "Version number, from 1", "1")])
op("POST", "/v1/templates/{name}/preview", "templates", "previewTemplate", "Render a template without sending",
   {**ok(200, "Preview", "The rendered content"), **errors(400, 401, 403, 404, 409, 413, 415, 422, 429, 503)},
   params=[NAME], request=body("PreviewRequest"))

# notifications
op("POST", "/v1/notifications", "notifications", "createNotification", "Send an e-mail or a WhatsApp message",
   {**ok(202, "Notification", "Queued (status pending)"),
    **ok(201, "Notification", "WhatsApp `mode: link`: sent at once, with `link`"),
    **errors(400, 401, 403, 409, 413, 415, 422, 429, 503)},
   request=body("CreateNotification"))
op("GET", "/v1/notifications", "notifications", "listNotifications", "List notifications, newest first",
   {**ok(200, "NotificationList", "A page"), **errors(401, 403, 422, 429, 503)},
   params=[query("status", "Filter by status. `failed` is the terminal-failure family: `failed` and `bounced` (not `complained`: "
                 "that message was delivered). `failed_only` is the exact status `failed`; every other value is one exact status",
                 {"type": "string", "enum": ["pending", "sending", "sent", "delivered", "read", "failed", "failed_only", "bounced", "complained"]}),
           query("channel", "email or whatsapp", ref("Channel")),
           query("template", "Filter by template name"),
           query("from", "Created at or after (RFC 3339)", {"type": "string", "format": "date-time"}),
           query("to", "Created at or before (RFC 3339)", {"type": "string", "format": "date-time"}), LIMIT, CURSOR])
op("GET", "/v1/notifications/{id}", "notifications", "getNotification", "One notification with its history",
   {**ok(200, "Notification", "The notification"), **errors(401, 403, 404, 429, 503)},
   params=[path_param("id", "Notification id", "ntf_01JD4S2V3N8Q9K1M2X7YB5ZC6T")])

# events
op("POST", "/v1/events", "events", "createEvent", "Publish an event to every matching webhook endpoint",
   {**ok(202, "EventAccepted", "Stored and queued (or a duplicate of an earlier `event_id`)"),
    **errors(400, 401, 403, 409, 413, 415, 422, 429, 503)}, request=body("CreateEvent"))
op("GET", "/v1/events", "events", "listEvents", "List events, newest first",
   {**ok(200, "EventList", "A page"), **errors(401, 403, 422, 429, 503)},
   params=[query("type", "Exact event type"), SINCE, UNTIL, LIMIT, CURSOR])
op("GET", "/v1/events/{event_id}", "events", "getEvent", "One event with its deliveries",
   {**ok(200, "Event", "The event"), **errors(401, 403, 404, 429, 503)},
   params=[path_param("event_id", "Event id", "evt_01JD4S2V3N8Q9K1M2X7YB5ZC6T")])

# webhook endpoints
EP = path_param("endpoint_id", "Webhook endpoint id", "whe_01JD4S2V3N8Q9K1M2X7YB5ZC6T")
op("POST", "/v1/webhook-endpoints", "webhook-endpoints", "createWebhookEndpoint", "Register an endpoint",
   {**ok(201, "Endpoint", "Created; `secret` is shown only now"), **errors(400, 401, 403, 409, 413, 415, 422, 429, 503)},
   request=body("NewEndpoint"))
op("GET", "/v1/webhook-endpoints", "webhook-endpoints", "listWebhookEndpoints", "List endpoints",
   {**ok(200, "EndpointList", "Every endpoint"), **errors(401, 403, 429, 503)})
op("GET", "/v1/webhook-endpoints/{endpoint_id}", "webhook-endpoints", "getWebhookEndpoint", "One endpoint",
   {**ok(200, "Endpoint", "The endpoint"), **errors(401, 403, 404, 429, 503)}, params=[EP])
op("PATCH", "/v1/webhook-endpoints/{endpoint_id}", "webhook-endpoints", "updateWebhookEndpoint", "Change an endpoint",
   {**ok(200, "Endpoint", "The endpoint"), **errors(400, 401, 403, 404, 409, 413, 415, 422, 429, 503)},
   params=[EP], request=body("EndpointInput"))
op("DELETE", "/v1/webhook-endpoints/{endpoint_id}", "webhook-endpoints", "deleteWebhookEndpoint", "Delete an endpoint",
   {**no_content("Deleted"), **errors(401, 403, 404, 429, 503)}, params=[EP])
op("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret", "webhook-endpoints", "rotateWebhookSecret",
   "New signing secret; the old one keeps signing during the overlap",
   {**ok(200, "Endpoint", "The endpoint with its new `secret`"), **errors(400, 401, 403, 404, 409, 413, 415, 422, 429, 503)},
   params=[EP], request=body("RotateInput", required=False))
op("POST", "/v1/webhook-endpoints/{endpoint_id}/test", "webhook-endpoints", "testWebhookEndpoint",
   "Send a `webhook.test` event to this endpoint only",
   {**ok(202, "TestSent", "Queued"), **errors(401, 403, 404, 409, 429, 503)}, params=[EP])
op("POST", "/v1/webhook-endpoints/{endpoint_id}/recover", "webhook-endpoints", "recoverWebhookEndpoint",
   "Re-queue every failed delivery since a time",
   {**ok(202, "Recovered", "Re-queued"), **errors(400, 401, 403, 404, 409, 413, 415, 422, 429, 503)},
   params=[EP], request=body("RecoverInput"))

# deliveries
DLV = path_param("delivery_id", "Delivery id", "dlv_01JD4S2V3N8Q9K1M2X7YB5ZC6T")
op("GET", "/v1/webhook-deliveries", "webhook-deliveries", "listWebhookDeliveries", "The delivery log",
   {**ok(200, "DeliveryList", "A page"), **errors(401, 403, 422, 429, 503)},
   params=[query("endpoint_id", "Only this endpoint's"), query("event_id", "Only this event's"),
           query("status", "pending, succeeded or failed", {"type": "string", "enum": ["pending", "succeeded", "failed"]}),
           SINCE, UNTIL, LIMIT, CURSOR])
op("GET", "/v1/webhook-deliveries/{delivery_id}", "webhook-deliveries", "getWebhookDelivery", "One delivery with every attempt",
   {**ok(200, "Delivery", "The delivery with `attempt_log`"), **errors(401, 403, 404, 429, 503)}, params=[DLV])
op("POST", "/v1/webhook-deliveries/{delivery_id}/retry", "webhook-deliveries", "retryWebhookDelivery", "One attempt now",
   {**ok(202, "Delivery", "Queued"), **errors(401, 403, 404, 409, 429, 503)}, params=[DLV])

# payments
PAY = path_param("payment_id", "Payment id", "pay_01JD4S2V3N8Q9K1M2X7YB5ZC6T")
op("POST", "/v1/payments", "payments", "createPayment", "Take a Mercado Pago payment (checkout or direct card)",
   {**ok(201, "Payment", "Created; checkout: send the buyer to `redirect_url`"),
    **errors(400, 401, 403, 409, 413, 415, 422, 429, 503)}, request=body("CreatePayment"),
   description="`Idempotency-Key` is also forwarded to Mercado Pago (scoped to the project).")
op("GET", "/v1/payments", "payments", "listPayments", "List payments, newest first",
   {**ok(200, "PaymentList", "A page"), **errors(401, 403, 422, 429, 503)},
   params=[query("order_id", "Only this order's", ORDER_ID), query("status", "Filter by status", ref("PaymentStatus")),
           LIMIT, CURSOR])
op("GET", "/v1/payments/{payment_id}", "payments", "getPayment", "One payment with its status history",
   {**ok(200, "Payment", "The payment with `history`"), **errors(401, 403, 404, 429, 503)}, params=[PAY])
op("POST", "/v1/payments/{payment_id}/refunds", "payments", "refundPayment", "Refund all or part of a paid payment",
   {**ok(201, "RefundCreated", "Refunded: the refund and the payment"),
    **errors(400, 401, 403, 404, 409, 413, 415, 422, 429, 503)},
   params=[PAY], request=body("RefundRequest", required=False))
op("GET", "/v1/payments/{payment_id}/refunds", "payments", "listRefunds", "A payment's refunds, newest first",
   {**ok(200, "RefundList", "A page"), **errors(401, 403, 404, 422, 429, 503)}, params=[PAY, LIMIT, CURSOR])

# provider intake (called by Meta and Mercado Pago, not by shops)
PRJ = path_param("project_id", "The project the provider account belongs to", "prj_01JD4RZ8B3J6V0Q5XK2M9N7T4W")
op("GET", "/whatsapp/{project_id}/webhook", "provider-intake", "verifyWhatsAppSubscription",
   "Meta's subscription handshake: echoes `hub.challenge` when `hub.verify_token` matches",
   {"200": {"description": "The challenge, as text", "content": {"text/plain": {"schema": STR}}},
    **errors(401, 403, 404, 503)},
   params=[PRJ, query("hub.mode", "`subscribe`"), query("hub.verify_token", "The project's verify token"),
           query("hub.challenge", "Echoed back")], security=PUBLIC)
op("POST", "/whatsapp/{project_id}/webhook", "provider-intake", "receiveWhatsAppWebhook",
   "Message status updates from the WhatsApp Cloud API (signed with `X-Hub-Signature-256`)",
   {"200": {"description": "Applied", "content": {"application/json": {"schema": {"type": "object", "properties": {"applied": {"type": "integer"}}}}}},
    **errors(400, 401, 404, 503)},
   params=[PRJ, {"name": "X-Hub-Signature-256", "in": "header", "required": True, "schema": STR,
                 "description": "`sha256=<hex HMAC of the raw body with the app secret>`"}],
   request={"required": True, "content": {"application/json": {"schema": ANY_OBJ}}}, security=PUBLIC)
op("POST", "/mercadopago/{project_id}/notifications", "provider-intake", "receiveMercadoPagoNotification",
   "Mercado Pago webhooks (`?data.id=&type=`, signed with `x-signature`) and IPNs (`?id=&topic=`); "
   "repeats of one IPN id within 60 s are dropped, and over the project's intake limit the answer is 429 (Mercado Pago retries)",
   {"200": {"description": "Received (or ignored, or a dropped repeat)", "content": {"application/json": {"schema": {"type": "object", "properties": {
       "received": {"type": "boolean"}, "ignored": {"type": "boolean"}, "duplicate": {"type": "boolean"}}}}}},
    **errors(400, 401, 404, 409, 429, 503)},
   params=[PRJ, query("data.id", "Resource id (webhooks)"), query("type", "`payment`, `merchant_order` (webhooks)"),
           query("id", "Resource id (IPN)"), query("topic", "`payment`, `merchant_order` (IPN)"),
           {"name": "x-signature", "in": "header", "required": False, "schema": STR, "description": "`ts=…,v1=<hex>`"},
           {"name": "x-request-id", "in": "header", "required": False, "schema": STR}],
   request={"required": False, "description": "Not read: the intake trusts only the query and the signature, then "
                                              "fetches the resource from Mercado Pago",
            "content": {"application/json": {"schema": {}}}}, security=PUBLIC)

# operator API (IAM)
A_PRJ = path_param("project_id", "Project id", "prj_01JD4RZ8B3J6V0Q5XK2M9N7T4W")
KEY = path_param("key_id", "Key id", "pddsafa13abp18br")
OPERATOR_OK = {"content": {"application/json": {"schema": ANY_OBJ}}}
op("POST", "/admin/projects", "operator", "adminCreateProject", "Create a project and its first key",
   {"201": {"description": "`{project, api_key}`", **OPERATOR_OK}, **errors(400, 403, 415, 422)},
   request=body("NewProject"), security=IAM)
op("GET", "/admin/projects", "operator", "adminListProjects", "List projects",
   {"200": {"description": "Projects", **OPERATOR_OK}, **errors(403)}, security=IAM)
op("GET", "/admin/projects/{project_id}", "operator", "adminGetProject", "One project",
   {"200": {"description": "The project", **OPERATOR_OK}, **errors(403, 404)}, params=[A_PRJ], security=IAM)
op("PATCH", "/admin/projects/{project_id}", "operator", "adminUpdateProject", "Change plan, flags, limits, activation",
   {"200": {"description": "The project", **OPERATOR_OK}, **errors(400, 403, 404, 409, 415, 422)},
   params=[A_PRJ], request=body("ProjectPatch"), security=IAM)
op("GET", "/admin/projects/{project_id}/keys", "operator", "adminListKeys", "A project's keys (never the secrets)",
   {"200": {"description": "Keys", **OPERATOR_OK}, **errors(403, 404)}, params=[A_PRJ], security=IAM)
op("POST", "/admin/projects/{project_id}/keys", "operator", "adminCreateKey", "A new key (shown once)",
   {"201": {"description": "The key", **OPERATOR_OK}, **errors(400, 403, 404, 415, 422)},
   params=[A_PRJ], request=body("KeyRequest", required=False), security=IAM)
op("POST", "/admin/projects/{project_id}/keys/{key_id}/rotate", "operator", "adminRotateKey", "Replace a key; the old one works for a grace period",
   {"201": {"description": "The new key", **OPERATOR_OK}, **errors(400, 403, 404, 409, 415, 422)},
   params=[A_PRJ, KEY], request=body("RotateKeyRequest", required=False), security=IAM)
op("POST", "/admin/projects/{project_id}/keys/{key_id}/revoke", "operator", "adminRevokeKey", "Revoke a key now",
   {"200": {"description": "The key", **OPERATOR_OK}, **errors(403, 404, 409)}, params=[A_PRJ, KEY], security=IAM)
op("PUT", "/admin/projects/{project_id}/credentials/{provider}", "operator", "adminPutCredentials", "Store provider credentials in Secrets Manager",
   {"200": {"description": "Stored (secrets never echoed)", **OPERATOR_OK}, "204": {"description": "Stored"},
    **errors(400, 403, 404, 415, 422)},
   params=[A_PRJ, path_param("provider", "`mercadopago` or `whatsapp`", "mercadopago")], request=body("Credentials"), security=IAM)
op("GET", "/admin/projects/{project_id}/usage", "operator", "adminGetUsage", "A project's usage by month",
   {"200": {"description": "Usage", **OPERATOR_OK}, **errors(403, 404)}, params=[A_PRJ], security=IAM)


# OpenAPI links: where a response's ids lead (documentation, and schemathesis' stateful phase).
LINKS = {
    ("putTemplate", "201"): {
        "GetTemplate": ("getTemplate", {"name": "$response.body#/name"}),
        "GetTemplateVersion": ("getTemplateVersion", {"name": "$response.body#/name", "version": "$response.body#/version"}),
        "PreviewTemplate": ("previewTemplate", {"name": "$response.body#/name"}),
    },
    ("createNotification", "202"): {"GetNotification": ("getNotification", {"id": "$response.body#/id"})},
    ("createNotification", "201"): {"GetNotification": ("getNotification", {"id": "$response.body#/id"})},
    ("createEvent", "202"): {"GetEvent": ("getEvent", {"event_id": "$response.body#/id"})},
    ("createWebhookEndpoint", "201"): {
        "GetWebhookEndpoint": ("getWebhookEndpoint", {"endpoint_id": "$response.body#/id"}),
        "TestWebhookEndpoint": ("testWebhookEndpoint", {"endpoint_id": "$response.body#/id"}),
    },
    ("testWebhookEndpoint", "202"): {"GetEvent": ("getEvent", {"event_id": "$response.body#/event_id"})},
    ("retryWebhookDelivery", "202"): {"GetWebhookDelivery": ("getWebhookDelivery", {"delivery_id": "$response.body#/id"})},
    ("adminCreateProject", "201"): {
        "AdminGetProject": ("adminGetProject", {"project_id": "$response.body#/project/id"}),
        "AdminListKeys": ("adminListKeys", {"project_id": "$response.body#/project/id"}),
        "AdminGetUsage": ("adminGetUsage", {"project_id": "$response.body#/project/id"}),
    },
    ("createPayment", "201"): {
        "GetPayment": ("getPayment", {"payment_id": "$response.body#/id"}),
        "RefundPayment": ("refundPayment", {"payment_id": "$response.body#/id"}),
        "ListRefunds": ("listRefunds", {"payment_id": "$response.body#/id"}),
    },
}


def document():
    for method, path, o in OPS:
        for (op_id, status), links in LINKS.items():
            if o["operationId"] == op_id:
                o["responses"][status]["links"] = {
                    name: {"operationId": target, "parameters": params}
                    for name, (target, params) in links.items()}
    paths = {}
    for method, path, o in OPS:
        paths.setdefault(path, {})[method.lower()] = o
    webhook_headers = [
        {"name": "webhook-id", "in": "header", "required": True, "schema": STR,
         "description": "The event id; stable across retries: deduplicate on it"},
        {"name": "webhook-timestamp", "in": "header", "required": True, "schema": {"type": "string"},
         "description": "Unix seconds of this attempt; reject old ones (replay protection)"},
        {"name": "webhook-signature", "in": "header", "required": True, "schema": STR,
         "description": "Space-separated `v1,<base64 HMAC-SHA256 of \"{id}.{timestamp}.{body}\">`; two during a secret rotation"},
    ]
    webhooks = {}
    for name, summary in [
        ("event", "Any event a shop published with POST /v1/events, delivered to every matching endpoint"),
        ("payment.updated", "A payment changed status (`data` is the Payment)"),
        ("order.paid", "A payment for an order was approved"),
        ("notification.failed", "A notification could not be delivered"),
        ("endpoint.disabled", "An endpoint was disabled after failing for 5 days or answering 410"),
        ("webhook.test", "Sent by POST /v1/webhook-endpoints/{endpoint_id}/test"),
    ]:
        webhooks[name] = {"post": {
            "operationId": "webhook_" + name.replace(".", "_"),
            "tags": ["webhooks"],
            "summary": summary,
            "description": "Verify the signature over the raw body bytes with the endpoint's `whsec_` secret "
                           "(any Standard Webhooks library). Answer 2xx within 15 s. 410 disables the endpoint; "
                           "429/502/503/504 honour `Retry-After`; anything else is retried for about three days.",
            "parameters": webhook_headers,
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("WebhookPayload")}}},
            "responses": {"2XX": {"description": "Received"}, "410": {"description": "Gone: disables the endpoint"}},
        }}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Mostrador API",
            "version": "1.0.0",
            "description": "Transactional e-mail and WhatsApp from versioned templates, signed retried webhooks, "
                           "and Mercado Pago payments for custom online shops. Every `/v1` request carries the "
                           "project's key in `X-API-KEY`. Errors are RFC 9457 `application/problem+json`. "
                           "Every `POST` under `/v1` accepts `Idempotency-Key`.",
        },
        "servers": [{"url": "http://127.0.0.1:3100", "description": "local stack (`make dev`)"}],
        "tags": [
            {"name": "health", "description": "Public, unauthenticated"},
            {"name": "project"}, {"name": "templates"}, {"name": "notifications"}, {"name": "events"},
            {"name": "webhook-endpoints"}, {"name": "webhook-deliveries"}, {"name": "payments"},
            {"name": "provider-intake", "description": "Called by Meta and Mercado Pago; authenticated by their signatures"},
            {"name": "operator", "description": "The admin API: AWS IAM (SigV4) in the cloud; locally `Authorization: Bearer <.dev/operator-token>`"},
            {"name": "webhooks", "description": "What Mostrador sends to a shop's endpoints"},
        ],
        "paths": paths,
        "webhooks": webhooks,
        "components": {
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY",
                           "description": "`mk_live_<key id>_<secret>_<checksum>`, shown once at creation"},
                "OperatorIam": {"type": "apiKey", "in": "header", "name": "Authorization",
                                "description": "AWS SigV4 (API Gateway IAM authorizer); locally a bearer token"},
            },
            "parameters": {"IdempotencyKey": {
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": "1–255 visible ASCII characters, scoped to the project, remembered 24 h: the same key "
                               "with the same request replays the first answer (`Idempotent-Replayed: true`); with a "
                               "different request 409 `idempotency_key_reused`",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}}},
            "headers": HEADERS,
            "responses": RESPONSES,
            "schemas": SCHEMAS,
        },
        "x-request-types": SCHEMAS_TO_STRUCTS,
    }


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

CSS = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b1f24;background:#fff}
nav{position:fixed;top:0;bottom:0;left:0;width:270px;overflow:auto;background:#f6f8fa;border-right:1px solid #d0d7de;padding:16px;box-sizing:border-box}
nav a{display:block;color:#1b1f24;text-decoration:none;font-size:13px;padding:2px 0;overflow-wrap:anywhere}
nav h3{font-size:12px;text-transform:uppercase;color:#57606a;margin:14px 0 4px}
main{margin-left:270px;padding:24px 40px;max-width:1000px}
.op{border:1px solid #d0d7de;border-radius:6px;margin:18px 0;padding:12px 16px}
.m{display:inline-block;min-width:60px;text-align:center;font-weight:700;color:#fff;border-radius:4px;padding:1px 6px;margin-right:8px;font-size:13px}
.GET{background:#1f6feb}.POST{background:#1a7f37}.PUT{background:#9a6700}.PATCH{background:#8250df}.DELETE{background:#cf222e}
code,pre{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;border-radius:4px}
code{padding:1px 4px}pre{padding:10px;overflow:auto}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;font-size:13px;vertical-align:top}
.lock{color:#57606a;font-size:13px}h2{border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:36px}
"""


def md(text):
    """Just enough of Markdown for our descriptions: `code`."""
    out, parts = [], html.escape(text or "").split("`")
    for i, p in enumerate(parts):
        out.append(f"<code>{p}</code>" if i % 2 else p)
    return "".join(out)


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        cur = doc
        for part in node["$ref"][2:].split("/"):
            cur = cur[part]
        node = cur
    return node


def schema_html(doc, schema):
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return f'<a href="#schema-{name}">{name}</a>'
    return f"<code>{html.escape(json.dumps(schema))}</code>"


def render_html(doc):
    nav, body = [], []
    body.append(f"<h1>{html.escape(doc['info']['title'])} <small>{doc['info']['version']}</small></h1>")
    body.append(f"<p>{md(doc['info']['description'])}</p>")
    body.append("<p>Machine-readable: <a href=\"/openapi.json\"><code>/openapi.json</code></a> (OpenAPI 3.1).</p>")
    by_tag = {}
    for path, item in doc["paths"].items():
        for method, o in item.items():
            by_tag.setdefault(o["tags"][0], []).append((method.upper(), path, o))
    for tag in [t["name"] for t in doc["tags"] if t["name"] != "webhooks"]:
        ops = by_tag.get(tag, [])
        nav.append(f"<h3>{html.escape(tag)}</h3>")
        tdesc = next((t.get("description", "") for t in doc["tags"] if t["name"] == tag), "")
        body.append(f'<h2 id="tag-{tag}">{html.escape(tag)}</h2><p>{md(tdesc)}</p>')
        for method, path, o in ops:
            oid = o["operationId"]
            nav.append(f'<a href="#{oid}"><b>{method}</b> {html.escape(path)}</a>')
            sec = o.get("security") or []
            lock = "public" if not sec else ", ".join(list(s)[0] for s in sec)
            body.append(f'<div class="op" id="{oid}"><div><span class="m {method}">{method}</span>'
                        f'<code>{html.escape(path)}</code> <span class="lock">— {lock} · {oid}</span></div>')
            body.append(f"<p><b>{md(o.get('summary'))}</b></p>")
            if o.get("description"):
                body.append(f"<p>{md(o['description'])}</p>")
            params = [resolve(doc, p) for p in o.get("parameters", [])]
            if params:
                body.append("<table><tr><th>parameter</th><th>in</th><th>required</th><th>description</th></tr>")
                for p in params:
                    body.append(f"<tr><td><code>{html.escape(p['name'])}</code></td><td>{p['in']}</td>"
                                f"<td>{'yes' if p.get('required') else 'no'}</td><td>{md(p.get('description', ''))}</td></tr>")
                body.append("</table>")
            rb = o.get("requestBody")
            if rb:
                for ctype, c in rb["content"].items():
                    body.append(f"<p>Request body ({html.escape(ctype)}{', optional' if not rb.get('required') else ''}): "
                                f"{schema_html(doc, c['schema'])}</p>")
                    example = resolve(doc, c["schema"]).get("example")
                    if example is not None:
                        body.append(f"<pre>{html.escape(json.dumps(example, indent=2, ensure_ascii=False))}</pre>")
            body.append("<table><tr><th>status</th><th>description</th><th>body</th></tr>")
            for status, r in o["responses"].items():
                r = resolve(doc, r)
                content = r.get("content", {})
                shown = ", ".join(f"{html.escape(ct)} {schema_html(doc, c['schema'])}" for ct, c in content.items())
                body.append(f"<tr><td>{status}</td><td>{md(r.get('description', ''))}</td><td>{shown}</td></tr>")
            body.append("</table></div>")
    nav.append("<h3>webhooks (outgoing)</h3>")
    body.append('<h2 id="tag-webhooks">Outgoing webhooks</h2>')
    for name, item in doc["webhooks"].items():
        o = item["post"]
        nav.append(f'<a href="#{o["operationId"]}">{html.escape(name)}</a>')
        body.append(f'<div class="op" id="{o["operationId"]}"><div><span class="m POST">POST</span>'
                    f'<code>{html.escape(name)}</code></div><p><b>{md(o["summary"])}</b></p><p>{md(o["description"])}</p>'
                    "<table><tr><th>header</th><th>description</th></tr>")
        for p in o["parameters"]:
            body.append(f"<tr><td><code>{p['name']}</code></td><td>{md(p['description'])}</td></tr>")
        body.append("</table><p>Body: <a href=\"#schema-WebhookPayload\">WebhookPayload</a></p></div>")
    nav.append("<h3>schemas</h3>")
    body.append("<h2 id=\"schemas\">Schemas</h2>")
    for name, s in doc["components"]["schemas"].items():
        nav.append(f'<a href="#schema-{name}">{name}</a>')
        body.append(f'<h3 id="schema-{name}">{name}</h3>')
        if s.get("description"):
            body.append(f"<p>{md(s['description'])}</p>")
        props = s.get("properties")
        if props:
            req = set(s.get("required", []))
            body.append("<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>")
            for pname, p in props.items():
                t = schema_html(doc, p) if "$ref" in p else html.escape(json.dumps(p.get("type", p.get("enum", p.get("const", "any")))))
                if "enum" in p:
                    t += " " + html.escape(" | ".join(str(e) for e in p["enum"]))
                body.append(f"<tr><td><code>{pname}</code></td><td>{t}</td><td>{'yes' if pname in req else ''}</td>"
                            f"<td>{md(p.get('description', ''))}</td></tr>")
            body.append("</table>")
        elif "oneOf" in s:
            body.append("<p>One of: " + ", ".join(schema_html(doc, x) for x in s["oneOf"]) + "</p>")
        elif "enum" in s:
            body.append("<p>" + " | ".join(f"<code>{e}</code>" for e in s["enum"]) + "</p>")
        if s.get("example") is not None:
            body.append(f"<pre>{html.escape(json.dumps(s['example'], indent=2, ensure_ascii=False))}</pre>")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>Mostrador API reference</title><style>{CSS}</style></head><body>"
            f"<nav><b>Mostrador API</b>{''.join(nav)}</nav><main>{''.join(body)}</main></body></html>\n")


def main():
    doc = document()
    outputs = {
        ROOT / "openapi.json": json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
        ROOT / "docs" / "api.html": render_html(doc),
    }
    if "--check" in sys.argv[1:]:
        stale = [str(p.relative_to(ROOT)) for p, text in outputs.items()
                 if not p.exists() or p.read_text(encoding="utf-8") != text]
        if stale:
            print("stale: " + ", ".join(stale) + " (run python3 scripts/openapi.py)", file=sys.stderr)
            sys.exit(1)
        return
    for p, text in outputs.items():
        p.write_text(text, encoding="utf-8")
    print(f"wrote openapi.json ({sum(len(v) for v in doc['paths'].values())} operations) and docs/api.html")


if __name__ == "__main__":
    main()
