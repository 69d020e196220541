//! Which route answers what: one entry per operation, bodies referring to the Rust types.

use super::{path_param, query, Document};
use crate::notifications::{self, template_store as tpl};
use crate::templates::TemplateContent;
use crate::tenancy::routes::ProjectView;
use crate::{admin, health, payments, webhooks};
use serde_json::{json, Value};

/// Tags in the order the reference shows them, with their descriptions.
pub const TAGS: [(&str, &str); 11] = [
    ("health", "Public, unauthenticated"),
    ("project", ""),
    ("templates", ""),
    ("notifications", ""),
    ("events", ""),
    ("webhook-endpoints", ""),
    ("webhook-deliveries", ""),
    ("payments", ""),
    ("provider-intake", "Called by Meta and Mercado Pago; authenticated by their signatures"),
    ("operator", "The admin API: AWS IAM (SigV4) in the cloud; locally `Authorization: Bearer <.dev/operator-token>`"),
    ("webhooks", "What Mostrador sends to a shop's endpoints"),
];

pub fn define(d: &mut Document) {
    // Every problem answer's body (the component responses refer to it by name).
    d.schema::<crate::error::Problem>();
    health_ops(d);
    project_ops(d);
    template_ops(d);
    notification_ops(d);
    event_ops(d);
    endpoint_ops(d);
    delivery_ops(d);
    payment_ops(d);
    intake_ops(d);
    operator_ops(d);
}

fn limit() -> Value {
    query(
        "limit",
        "Page size, 1 to 100 (default 50)",
        json!({"type": "integer", "minimum": 1, "maximum": 100}),
    )
}

fn cursor() -> Value {
    query(
        "cursor",
        "`next_cursor` of the previous page",
        json!({"type": "string", "minLength": 1}),
    )
}

fn since() -> Value {
    query(
        "since",
        "Only items created at or after this time",
        json!({"type": "string", "format": "date-time"}),
    )
}

fn until() -> Value {
    query(
        "until",
        "Only items created at or before this time",
        json!({"type": "string", "format": "date-time"}),
    )
}

fn string() -> Value {
    json!({"type": "string"})
}

fn health_ops(d: &mut Document) {
    let report = d.schema::<health::Report>();
    let component = d.schema::<health::ComponentHealth>();
    d.op("GET", "/health", "health", "getHealth", "Every dependency's health")
        .response(200, json!({"description": "All components ok", "content": {"application/json": {"schema": report}}}))
        .response(503, json!({"description": "At least one component is down", "content": {"application/json": {"schema": report}}}));
    d.op("GET", "/health/{component}", "health", "getComponentHealth", "One dependency's health")
        .param(path_param("component", "dynamodb, sqs, ses or secretsmanager", "dynamodb"))
        .response(200, json!({"description": "The component is ok", "content": {"application/json": {"schema": component}}}))
        .response(503, json!({"description": "The component is down", "content": {"application/json": {"schema": component}}}))
        .errors(&[404]);
    d.op("GET", "/openapi.json", "health", "getOpenApi", "This document")
        .response(200, json!({"description": "The OpenAPI 3.1 document", "content": {"application/json": {"schema": {"type": "object"}}}}));
    d.op(
        "GET",
        "/docs",
        "health",
        "getDocs",
        "This document as a static HTML reference",
    )
    .response(
        200,
        json!({"description": "HTML", "content": {"text/html": {"schema": string()}}}),
    );
}

fn project_ops(d: &mut Document) {
    let project = d.schema::<ProjectView>();
    d.op(
        "GET",
        "/v1/project",
        "project",
        "getProject",
        "The calling project: plan, limits, flags, providers, this month's usage",
    )
    .ok(200, project, "The project")
    .errors(&[401, 403, 429, 503]);
}

fn template_ops(d: &mut Document) {
    let name = || {
        path_param(
            "name",
            "Template name (lowercase letters, digits, `-`, `_`, `.`)",
            "order-shipped",
        )
    };
    let list = d.schema::<tpl::TemplateList>();
    let version = d.schema::<tpl::TemplateVersionView>();
    let content = d.schema::<TemplateContent>();
    let preview_in = d.schema::<notifications::template_routes::PreviewRequest>();
    let preview = d.schema::<notifications::template_routes::Preview>();
    d.op(
        "GET",
        "/v1/templates",
        "templates",
        "listTemplates",
        "List templates (latest versions)",
    )
    .param(limit())
    .param(cursor())
    .ok(200, list, "A page of templates")
    .errors(&[401, 403, 422, 429, 503]);
    d.op(
        "GET",
        "/v1/templates/{name}",
        "templates",
        "getTemplate",
        "A template's latest version",
    )
    .param(name())
    .ok(200, version.clone(), "The latest version")
    .errors(&[401, 403, 404, 429, 503]);
    d.op(
        "PUT",
        "/v1/templates/{name}",
        "templates",
        "putTemplate",
        "Save a new immutable version",
    )
    .description("Every PUT saves a new version (1, 2, …); templates are validated and sandboxed.")
    .param(name())
    .request(content, true)
    .ok(201, version.clone(), "The new version")
    .errors(&[400, 401, 403, 413, 415, 422, 429, 503])
    .link(
        201,
        "GetTemplate",
        "getTemplate",
        json!({"name": "$response.body#/name"}),
    )
    .link(
        201,
        "GetTemplateVersion",
        "getTemplateVersion",
        json!({"name": "$response.body#/name", "version": "$response.body#/version"}),
    )
    .link(
        201,
        "PreviewTemplate",
        "previewTemplate",
        json!({"name": "$response.body#/name"}),
    );
    d.op(
        "GET",
        "/v1/templates/{name}/versions/{version}",
        "templates",
        "getTemplateVersion",
        "One version of a template",
    )
    .param(name())
    .param(path_param("version", "Version number, from 1", "1"))
    .ok(200, version, "The version")
    .errors(&[401, 403, 404, 429, 503]);
    d.op(
        "POST",
        "/v1/templates/{name}/preview",
        "templates",
        "previewTemplate",
        "Render a template without sending",
    )
    .param(name())
    .request(preview_in, true)
    .ok(200, preview, "The rendered content")
    .errors(&[400, 401, 403, 404, 409, 413, 415, 422, 429, 503]);
}

fn notification_ops(d: &mut Document) {
    let create = d.schema::<notifications::notification_routes::CreateRequest>();
    let one = d.schema::<notifications::model::NotificationView>();
    let list = d.schema::<notifications::model::NotificationList>();
    let channel = d.schema::<notifications::model::Channel>();
    d.op(
        "POST",
        "/v1/notifications",
        "notifications",
        "createNotification",
        "Send an e-mail or a WhatsApp message",
    )
    .request(create, true)
    .ok(202, one.clone(), "Queued (status pending)")
    .ok(
        201,
        one.clone(),
        "WhatsApp `mode: link`: sent at once, with `link`",
    )
    .errors(&[400, 401, 403, 409, 413, 415, 422, 429, 503])
    .link(
        202,
        "GetNotification",
        "getNotification",
        json!({"id": "$response.body#/id"}),
    )
    .link(
        201,
        "GetNotification",
        "getNotification",
        json!({"id": "$response.body#/id"}),
    );
    d.op("GET", "/v1/notifications", "notifications", "listNotifications", "List notifications, newest first")
        .param(query("status", "Filter by status. `failed` is the terminal-failure family: `failed` and `bounced` (not `complained`: \
            that message was delivered). `failed_only` is the exact status `failed`; every other value is one exact status",
            json!({"type": "string", "enum": ["pending", "sending", "sent", "delivered", "read", "failed", "failed_only", "bounced", "complained"]})))
        .param(query("channel", "email or whatsapp", channel))
        .param(query("template", "Filter by template name", string()))
        .param(query("from", "Created at or after (RFC 3339)", json!({"type": "string", "format": "date-time"})))
        .param(query("to", "Created at or before (RFC 3339)", json!({"type": "string", "format": "date-time"})))
        .param(limit())
        .param(cursor())
        .ok(200, list, "A page")
        .errors(&[401, 403, 422, 429, 503]);
    d.op(
        "GET",
        "/v1/notifications/{id}",
        "notifications",
        "getNotification",
        "One notification with its history",
    )
    .param(path_param(
        "id",
        "Notification id",
        "ntf_01JD4S2V3N8Q9K1M2X7YB5ZC6T",
    ))
    .ok(200, one, "The notification")
    .errors(&[401, 403, 404, 429, 503]);
}

fn event_ops(d: &mut Document) {
    let create = d.schema::<webhooks::event_routes::NewEvent>();
    let accepted = d.schema::<webhooks::event_routes::EventAccepted>();
    let one = d.schema::<webhooks::event_routes::EventView>();
    let list = d.schema::<webhooks::event_routes::EventList>();
    d.op(
        "POST",
        "/v1/events",
        "events",
        "createEvent",
        "Publish an event to every matching webhook endpoint",
    )
    .request(create, true)
    .ok(
        202,
        accepted,
        "Stored and queued (or a duplicate of an earlier `event_id`)",
    )
    .errors(&[400, 401, 403, 409, 413, 415, 422, 429, 503])
    .link(
        202,
        "GetEvent",
        "getEvent",
        json!({"event_id": "$response.body#/id"}),
    );
    d.op(
        "GET",
        "/v1/events",
        "events",
        "listEvents",
        "List events, newest first",
    )
    .param(query("type", "Exact event type", string()))
    .param(since())
    .param(until())
    .param(limit())
    .param(cursor())
    .ok(200, list, "A page")
    .errors(&[401, 403, 422, 429, 503]);
    d.op(
        "GET",
        "/v1/events/{event_id}",
        "events",
        "getEvent",
        "One event with its deliveries",
    )
    .param(path_param(
        "event_id",
        "Event id",
        "evt_01JD4S2V3N8Q9K1M2X7YB5ZC6T",
    ))
    .ok(200, one, "The event")
    .errors(&[401, 403, 404, 429, 503]);
}

fn endpoint_ops(d: &mut Document) {
    use webhooks::endpoint_routes as routes;
    let ep = || {
        path_param(
            "endpoint_id",
            "Webhook endpoint id",
            "whe_01JD4S2V3N8Q9K1M2X7YB5ZC6T",
        )
    };
    let input = d.schema::<routes::EndpointInput>();
    let one = d.schema::<webhooks::endpoint_store::EndpointView>();
    let list = d.schema::<webhooks::endpoint_store::EndpointList>();
    let rotate = d.schema::<routes::RotateInput>();
    let test = d.schema::<routes::TestSent>();
    let recover = d.schema::<routes::RecoverInput>();
    let recovered = d.schema::<routes::Recovered>();
    d.op(
        "POST",
        "/v1/webhook-endpoints",
        "webhook-endpoints",
        "createWebhookEndpoint",
        "Register an endpoint",
    )
    .request(json!({"$ref": "#/components/schemas/NewEndpoint"}), true)
    .ok(201, one.clone(), "Created; `secret` is shown only now")
    .errors(&[400, 401, 403, 409, 413, 415, 422, 429, 503])
    .link(
        201,
        "GetWebhookEndpoint",
        "getWebhookEndpoint",
        json!({"endpoint_id": "$response.body#/id"}),
    )
    .link(
        201,
        "TestWebhookEndpoint",
        "testWebhookEndpoint",
        json!({"endpoint_id": "$response.body#/id"}),
    );
    d.op(
        "GET",
        "/v1/webhook-endpoints",
        "webhook-endpoints",
        "listWebhookEndpoints",
        "List endpoints",
    )
    .ok(200, list, "Every endpoint")
    .errors(&[401, 403, 429, 503]);
    d.op(
        "GET",
        "/v1/webhook-endpoints/{endpoint_id}",
        "webhook-endpoints",
        "getWebhookEndpoint",
        "One endpoint",
    )
    .param(ep())
    .ok(200, one.clone(), "The endpoint")
    .errors(&[401, 403, 404, 429, 503]);
    d.op(
        "PATCH",
        "/v1/webhook-endpoints/{endpoint_id}",
        "webhook-endpoints",
        "updateWebhookEndpoint",
        "Change an endpoint",
    )
    .param(ep())
    .request(input, true)
    .ok(200, one.clone(), "The endpoint")
    .errors(&[400, 401, 403, 404, 409, 413, 415, 422, 429, 503]);
    d.op(
        "DELETE",
        "/v1/webhook-endpoints/{endpoint_id}",
        "webhook-endpoints",
        "deleteWebhookEndpoint",
        "Delete an endpoint",
    )
    .param(ep())
    .no_content("Deleted")
    .errors(&[401, 403, 404, 429, 503]);
    d.op(
        "POST",
        "/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
        "webhook-endpoints",
        "rotateWebhookSecret",
        "New signing secret; the old one keeps signing during the overlap",
    )
    .param(ep())
    .request(rotate, false)
    .ok(200, one, "The endpoint with its new `secret`")
    .errors(&[400, 401, 403, 404, 409, 413, 415, 422, 429, 503]);
    d.op(
        "POST",
        "/v1/webhook-endpoints/{endpoint_id}/test",
        "webhook-endpoints",
        "testWebhookEndpoint",
        "Send a `webhook.test` event to this endpoint only",
    )
    .param(ep())
    .ok(202, test, "Queued")
    .errors(&[401, 403, 404, 409, 429, 503])
    .link(
        202,
        "GetEvent",
        "getEvent",
        json!({"event_id": "$response.body#/event_id"}),
    );
    d.op(
        "POST",
        "/v1/webhook-endpoints/{endpoint_id}/recover",
        "webhook-endpoints",
        "recoverWebhookEndpoint",
        "Re-queue every failed delivery since a time",
    )
    .param(ep())
    .request(recover, true)
    .ok(202, recovered, "Re-queued")
    .errors(&[400, 401, 403, 404, 409, 413, 415, 422, 429, 503]);
}

fn delivery_ops(d: &mut Document) {
    let dlv = || {
        path_param(
            "delivery_id",
            "Delivery id",
            "dlv_01JD4S2V3N8Q9K1M2X7YB5ZC6T",
        )
    };
    let one = d.schema::<webhooks::delivery_store::DeliveryView>();
    let list = d.schema::<webhooks::delivery_store::DeliveryList>();
    d.op(
        "GET",
        "/v1/webhook-deliveries",
        "webhook-deliveries",
        "listWebhookDeliveries",
        "The delivery log",
    )
    .param(query("endpoint_id", "Only this endpoint's", string()))
    .param(query("event_id", "Only this event's", string()))
    .param(query(
        "status",
        "pending, succeeded or failed",
        json!({"type": "string", "enum": ["pending", "succeeded", "failed"]}),
    ))
    .param(since())
    .param(until())
    .param(limit())
    .param(cursor())
    .ok(200, list, "A page")
    .errors(&[401, 403, 422, 429, 503]);
    d.op(
        "GET",
        "/v1/webhook-deliveries/{delivery_id}",
        "webhook-deliveries",
        "getWebhookDelivery",
        "One delivery with every attempt",
    )
    .param(dlv())
    .ok(200, one.clone(), "The delivery with `attempt_log`")
    .errors(&[401, 403, 404, 429, 503]);
    d.op(
        "POST",
        "/v1/webhook-deliveries/{delivery_id}/retry",
        "webhook-deliveries",
        "retryWebhookDelivery",
        "One attempt now",
    )
    .param(dlv())
    .ok(202, one, "Queued")
    .errors(&[401, 403, 404, 409, 429, 503])
    .link(
        202,
        "GetWebhookDelivery",
        "getWebhookDelivery",
        json!({"delivery_id": "$response.body#/id"}),
    );
}

fn payment_ops(d: &mut Document) {
    use payments::model::{CreatePayment, PaymentList, PaymentView};
    let pay = || path_param("payment_id", "Payment id", "pay_01JD4S2V3N8Q9K1M2X7YB5ZC6T");
    let create = d.schema::<CreatePayment>();
    let one = d.schema::<PaymentView>();
    let list = d.schema::<PaymentList>();
    let status = d.schema::<payments::status::Status>();
    let refund_in = d.schema::<payments::refund_routes::RefundRequest>();
    let refunded = d.schema::<payments::refund_store::RefundCreated>();
    let refund_list = d.schema::<payments::refund_store::RefundList>();
    d.op(
        "POST",
        "/v1/payments",
        "payments",
        "createPayment",
        "Take a Mercado Pago payment (checkout or direct card)",
    )
    .description("`Idempotency-Key` is also forwarded to Mercado Pago (scoped to the project).")
    .request(create, true)
    .ok(
        201,
        one.clone(),
        "Created; checkout: send the buyer to `redirect_url`",
    )
    .errors(&[400, 401, 403, 409, 413, 415, 422, 429, 503])
    .link(
        201,
        "GetPayment",
        "getPayment",
        json!({"payment_id": "$response.body#/id"}),
    )
    .link(
        201,
        "RefundPayment",
        "refundPayment",
        json!({"payment_id": "$response.body#/id"}),
    );
    d.op(
        "GET",
        "/v1/payments",
        "payments",
        "listPayments",
        "List payments, newest first",
    )
    .param(query(
        "order_id",
        "Only this order's",
        json!({"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$"}),
    ))
    .param(query("status", "Filter by status", status))
    .param(limit())
    .param(cursor())
    .ok(200, list, "A page")
    .errors(&[401, 403, 422, 429, 503]);
    d.op(
        "GET",
        "/v1/payments/{payment_id}",
        "payments",
        "getPayment",
        "One payment with its status history",
    )
    .param(pay())
    .ok(200, one.clone(), "The payment with `history`")
    .errors(&[401, 403, 404, 429, 503]);
    d.op(
        "POST",
        "/v1/payments/{payment_id}/refunds",
        "payments",
        "refundPayment",
        "Refund all or part of a paid payment",
    )
    .param(pay())
    .request(refund_in, false)
    .ok(
        201,
        refunded,
        "Refunded: the refund object (`ref_…`) and the payment as it now stands",
    )
    .errors(&[400, 401, 403, 404, 409, 413, 415, 422, 429, 503])
    .link(
        201,
        "ListRefunds",
        "listRefunds",
        json!({"payment_id": "$response.body#/payment/id"}),
    );
    d.op(
        "GET",
        "/v1/payments/{payment_id}/refunds",
        "payments",
        "listRefunds",
        "A payment's refunds, newest first: made through the API or reported by Mercado Pago",
    )
    .param(pay())
    .param(limit())
    .param(cursor())
    .ok(200, refund_list, "A page")
    .errors(&[401, 403, 404, 422, 429, 503]);
}

fn intake_ops(d: &mut Document) {
    let ack = d.schema::<payments::intake::Ack>();
    let applied = d.schema::<notifications::feedback::WhatsAppApplied>();
    let prj = || {
        path_param(
            "project_id",
            "The project the provider account belongs to",
            "prj_01JD4RZ8B3J6V0Q5XK2M9N7T4W",
        )
    };
    d.op("GET", "/whatsapp/{project_id}/webhook", "provider-intake", "verifyWhatsAppSubscription",
        "Meta's subscription handshake: echoes `hub.challenge` when `hub.verify_token` matches")
        .param(prj())
        .param(query("hub.mode", "`subscribe`", string()))
        .param(query("hub.verify_token", "The project's verify token", string()))
        .param(query("hub.challenge", "Echoed back", string()))
        .response(200, json!({"description": "The challenge, as text", "content": {"text/plain": {"schema": string()}}}))
        .errors(&[401, 403, 404, 503]);
    d.op(
        "POST",
        "/whatsapp/{project_id}/webhook",
        "provider-intake",
        "receiveWhatsAppWebhook",
        "Message status updates from the WhatsApp Cloud API (signed with `X-Hub-Signature-256`)",
    )
    .param(prj())
    .param(
        json!({"name": "X-Hub-Signature-256", "in": "header", "required": true, "schema": string(),
            "description": "`sha256=<hex HMAC of the raw body with the app secret>`"}),
    )
    .request_raw(
        json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}}),
    )
    .ok(200, applied, "Applied")
    .errors(&[400, 401, 404, 503]);
    d.op("POST", "/mercadopago/{project_id}/notifications", "provider-intake", "receiveMercadoPagoNotification",
        "Mercado Pago webhooks (`?data.id=&type=`, signed with `x-signature`) and IPNs (`?id=&topic=`); \
         repeats of one IPN id within 60 s are dropped, and over the project's intake limit the answer is 429 (Mercado Pago retries)")
        .param(prj())
        .param(query("data.id", "Resource id (webhooks)", string()))
        .param(query("type", "`payment`, `merchant_order` (webhooks)", string()))
        .param(query("id", "Resource id (IPN)", string()))
        .param(query("topic", "`payment`, `merchant_order` (IPN)", string()))
        .param(json!({"name": "x-signature", "in": "header", "required": false, "schema": string(), "description": "`ts=…,v1=<hex>`"}))
        .param(json!({"name": "x-request-id", "in": "header", "required": false, "schema": string()}))
        .request_raw(json!({"required": false, "description": "Not read: the intake trusts only the query and the signature, then \
            fetches the resource from Mercado Pago", "content": {"application/json": {"schema": {}}}}))
        .ok(200, ack, "Received (or ignored, or a dropped repeat)")
        .errors(&[400, 401, 404, 409, 429, 503]);
}

fn operator_ops(d: &mut Document) {
    use admin::routes::{KeyRequest, RotateRequest};
    let prj = || path_param("project_id", "Project id", "prj_01JD4RZ8B3J6V0Q5XK2M9N7T4W");
    let key = || path_param("key_id", "Key id", "pddsafa13abp18br");
    let created = d.schema::<admin::CreatedProject>();
    let project = d.schema::<admin::AdminProject>();
    let projects = d.schema::<admin::AdminProjectList>();
    let keys = d.schema::<admin::KeyList>();
    let issued = d.schema::<admin::IssuedKey>();
    let revoked = d.schema::<admin::KeyRevoked>();
    let stored = d.schema::<admin::CredentialsStored>();
    let usage = d.schema::<crate::tenancy::usage::Usage>();
    let new_project = d.schema::<admin::NewProject>();
    let patch = d.schema::<admin::ProjectPatch>();
    let key_request = d.schema::<KeyRequest>();
    let rotate = d.schema::<RotateRequest>();
    d.op(
        "POST",
        "/admin/projects",
        "operator",
        "adminCreateProject",
        "Create a project and its first key",
    )
    .request(new_project, true)
    .ok(201, created, "`{project, api_key}`")
    .errors(&[400, 403, 415, 422])
    .link(
        201,
        "AdminGetProject",
        "adminGetProject",
        json!({"project_id": "$response.body#/project/id"}),
    )
    .link(
        201,
        "AdminListKeys",
        "adminListKeys",
        json!({"project_id": "$response.body#/project/id"}),
    )
    .link(
        201,
        "AdminGetUsage",
        "adminGetUsage",
        json!({"project_id": "$response.body#/project/id"}),
    );
    d.op(
        "GET",
        "/admin/projects",
        "operator",
        "adminListProjects",
        "List projects",
    )
    .ok(200, projects, "Projects")
    .errors(&[403]);
    d.op(
        "GET",
        "/admin/projects/{project_id}",
        "operator",
        "adminGetProject",
        "One project",
    )
    .param(prj())
    .ok(200, project.clone(), "The project")
    .errors(&[403, 404]);
    d.op(
        "PATCH",
        "/admin/projects/{project_id}",
        "operator",
        "adminUpdateProject",
        "Change plan, flags, limits, activation",
    )
    .param(prj())
    .request(patch, true)
    .ok(200, project.clone(), "The project")
    .errors(&[400, 403, 404, 409, 415, 422]);
    d.op(
        "GET",
        "/admin/projects/{project_id}/keys",
        "operator",
        "adminListKeys",
        "A project's keys (never the secrets)",
    )
    .param(prj())
    .ok(200, keys, "Keys")
    .errors(&[403, 404]);
    d.op(
        "POST",
        "/admin/projects/{project_id}/keys",
        "operator",
        "adminCreateKey",
        "A new key (shown once)",
    )
    .param(prj())
    .request(key_request, false)
    .ok(201, issued.clone(), "The key")
    .errors(&[400, 403, 404, 415, 422]);
    d.op(
        "POST",
        "/admin/projects/{project_id}/keys/{key_id}/rotate",
        "operator",
        "adminRotateKey",
        "Replace a key; the old one works for a grace period",
    )
    .param(prj())
    .param(key())
    .request(rotate, false)
    .ok(201, issued, "The new key")
    .errors(&[400, 403, 404, 409, 415, 422]);
    d.op(
        "POST",
        "/admin/projects/{project_id}/keys/{key_id}/revoke",
        "operator",
        "adminRevokeKey",
        "Revoke a key now",
    )
    .param(prj())
    .param(key())
    .ok(200, revoked, "The key")
    .errors(&[403, 404, 409]);
    d.op(
        "PUT",
        "/admin/projects/{project_id}/credentials/{provider}",
        "operator",
        "adminPutCredentials",
        "Store provider credentials in Secrets Manager",
    )
    .param(prj())
    .param(path_param(
        "provider",
        "`mercadopago` or `whatsapp`",
        "mercadopago",
    ))
    .request(json!({"$ref": "#/components/schemas/Credentials"}), true)
    .ok(200, stored, "Stored (secrets never echoed)")
    .response(204, json!({"description": "Stored"}))
    .errors(&[400, 403, 404, 415, 422]);
    d.op(
        "GET",
        "/admin/projects/{project_id}/usage",
        "operator",
        "adminGetUsage",
        "A project's usage by month",
    )
    .param(prj())
    .ok(200, usage, "Usage")
    .errors(&[403, 404]);
}

/// What Mostrador sends to a shop's endpoints (Standard Webhooks).
pub fn webhooks() -> Value {
    let headers = json!([
        {"name": "webhook-id", "in": "header", "required": true, "schema": string(),
         "description": "The event id; stable across retries: deduplicate on it"},
        {"name": "webhook-timestamp", "in": "header", "required": true, "schema": string(),
         "description": "Unix seconds of this attempt; reject old ones (replay protection)"},
        {"name": "webhook-signature", "in": "header", "required": true, "schema": string(),
         "description": "Space-separated `v1,<base64 HMAC-SHA256 of \"{id}.{timestamp}.{body}\">`; two during a secret rotation"},
    ]);
    let mut out = serde_json::Map::new();
    for (name, summary) in [
        (
            "event",
            "Any event a shop published with POST /v1/events, delivered to every matching endpoint",
        ),
        (
            "payment.updated",
            "A payment changed status (`data` is the Payment)",
        ),
        ("order.paid", "A payment for an order was approved"),
        (
            "notification.failed",
            "A notification could not be delivered",
        ),
        (
            "endpoint.disabled",
            "An endpoint was disabled after failing for 5 days or answering 410",
        ),
        (
            "webhook.test",
            "Sent by POST /v1/webhook-endpoints/{endpoint_id}/test",
        ),
    ] {
        out.insert(name.into(), json!({"post": {
            "operationId": format!("webhook_{}", name.replace('.', "_")),
            "tags": ["webhooks"],
            "summary": summary,
            "description": "Verify the signature over the raw body bytes with the endpoint's `whsec_` secret \
                (any Standard Webhooks library). Answer 2xx within 15 s. 410 disables the endpoint; \
                429/502/503/504 honour `Retry-After`; anything else is retried for about three days.",
            "parameters": headers,
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookPayload"}}}},
            "responses": {"2XX": {"description": "Received"}, "410": {"description": "Gone: disables the endpoint"}},
        }}));
    }
    Value::Object(out)
}
