//! The API contract: the OpenAPI 3.1 document (`openapi.json`) and its HTML rendering
//! (`docs/api.html`, served at `GET /docs`), built from the code.
//!
//! Every request and response body schema is derived from the Rust type the handler parses or
//! serializes (`#[derive(utoipa::ToSchema)]`, doc comments as descriptions, serde renames and
//! `deny_unknown_fields` honoured), so a field added to a type is in the contract with no second
//! edit. What a type cannot say (which route answers what, headers, links between operations)
//! is the operation table in [`operations`], next to nothing else.
//!
//! `cargo run -p mostrador --example openapi` writes both files; the black-box test `openapi`
//! fails when the committed files differ from what this module builds, or when template.yaml's
//! routes and the document's operations differ.

mod components;
mod html;
mod operations;

use serde_json::{json, Map, Value};
use utoipa::openapi::{RefOr, Schema};

/// The whole document.
pub fn document() -> Value {
    let mut doc = Document::default();
    operations::define(&mut doc);
    doc.finish()
}

/// The document as the committed `openapi.json` holds it.
pub fn json_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
    text.push('\n');
    text
}

/// The document as the committed `docs/api.html` holds it.
pub fn html_text() -> String {
    html::render(&document(), &operations::TAGS)
}

/// How many operations the document describes.
pub fn operation_count() -> usize {
    let mut doc = Document::default();
    operations::define(&mut doc);
    doc.ops.len()
}

/// One operation being described.
pub struct Op {
    method: &'static str,
    path: &'static str,
    body: Map<String, Value>,
    responses: Map<String, Value>,
    params: Vec<Value>,
}

/// The document under construction: operations in the order they are defined, and every schema
/// an operation refers to (with the schemas those refer to).
#[derive(Default)]
pub struct Document {
    ops: Vec<Op>,
    schemas: Vec<(String, RefOr<Schema>)>,
}

/// `$ref` to the component schema of `T`, registering it.
fn schema_ref<T: utoipa::ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) -> Value {
    let name = T::name().into_owned();
    if !schemas.iter().any(|(n, _)| *n == name) {
        schemas.push((name.clone(), <T as utoipa::PartialSchema>::schema()));
        T::schemas(schemas);
    }
    json!({"$ref": format!("#/components/schemas/{name}")})
}

impl Document {
    /// A new operation. Its security follows from its path, as the gateway's does: `/v1` takes
    /// the project's API key, `/admin` the operator's IAM credentials, anything else none
    /// (health, the docs, provider intake).
    pub fn op(
        &mut self,
        method: &'static str,
        path: &'static str,
        tag: &str,
        id: &str,
        summary: &str,
    ) -> &mut Op {
        let mut body = Map::new();
        body.insert("operationId".into(), id.into());
        body.insert("tags".into(), json!([tag]));
        body.insert("summary".into(), summary.into());
        let security = if path.starts_with("/v1/") {
            json!([{"ApiKey": []}])
        } else if path.starts_with("/admin/") {
            json!([{"OperatorIam": []}])
        } else {
            json!([])
        };
        body.insert("security".into(), security);
        let mut params = Vec::new();
        if method == "POST" && path.starts_with("/v1/") {
            params.push(json!({"$ref": "#/components/parameters/IdempotencyKey"}));
        }
        self.ops.push(Op {
            method,
            path,
            body,
            responses: Map::new(),
            params,
        });
        let last = self.ops.len() - 1;
        &mut self.ops[last]
    }

    /// Registers `T` and answers its `$ref`.
    pub fn schema<T: utoipa::ToSchema>(&mut self) -> Value {
        schema_ref::<T>(&mut self.schemas)
    }

    fn finish(self) -> Value {
        let mut paths = Map::new();
        for op in self.ops {
            let mut body = op.body;
            let mut params = op.params;
            // The Idempotency-Key parameter goes last, after the operation's own.
            if let Some(i) = params
                .iter()
                .position(|p| p.get("$ref").is_some())
                .filter(|_| params.len() > 1)
            {
                let idem = params.remove(i);
                params.push(idem);
            }
            if !params.is_empty() {
                body.insert("parameters".into(), Value::Array(params));
            }
            body.insert("responses".into(), Value::Object(op.responses));
            if let Some(item) = paths
                .entry(op.path)
                .or_insert_with(|| json!({}))
                .as_object_mut()
            {
                item.insert(op.method.to_ascii_lowercase(), Value::Object(body));
            }
        }
        let mut schemas = Map::new();
        for (name, schema) in self.schemas {
            schemas.insert(name, serde_json::to_value(schema).unwrap_or_default());
        }
        components::finish_schemas(&mut schemas);
        strip_request_nulls(&mut schemas, &paths);
        schemas.values_mut().for_each(unsigned_ranges);
        json!({
            "openapi": "3.1.0",
            "info": {
                "title": "Mostrador API",
                "version": "1.0.0",
                "description": "Transactional e-mail and WhatsApp from versioned templates, signed retried webhooks, \
                    and Mercado Pago payments for custom online shops. Every `/v1` request carries the \
                    project's key in `X-API-KEY`. Errors are RFC 9457 `application/problem+json`. \
                    Every `POST` under `/v1` accepts `Idempotency-Key`.",
            },
            "servers": [{"url": "http://127.0.0.1:3100", "description": "local stack (`make dev`)"}],
            "tags": operations::TAGS.iter().map(|(name, description)| {
                if description.is_empty() { json!({"name": name}) } else { json!({"name": name, "description": description}) }
            }).collect::<Vec<_>>(),
            "paths": paths,
            "webhooks": operations::webhooks(),
            "components": {
                "securitySchemes": components::security_schemes(),
                "parameters": components::parameters(),
                "headers": components::headers(),
                "responses": components::responses(),
                "schemas": schemas,
            },
        })
    }
}

impl Op {
    fn set(&mut self, key: &str, value: Value) -> &mut Self {
        self.body.insert(key.into(), value);
        self
    }

    pub fn description(&mut self, text: &str) -> &mut Self {
        self.set("description", text.into())
    }

    pub fn param(&mut self, p: Value) -> &mut Self {
        self.params.push(p);
        self
    }

    /// A JSON request body.
    pub fn request(&mut self, schema: Value, required: bool) -> &mut Self {
        self.set(
            "requestBody",
            json!({"required": required, "content": {"application/json": {"schema": schema}}}),
        )
    }

    pub fn request_raw(&mut self, body: Value) -> &mut Self {
        self.set("requestBody", body)
    }

    /// A JSON answer with the rate-limit headers every `/v1` answer carries.
    pub fn ok(&mut self, status: u16, schema: Value, description: &str) -> &mut Self {
        let headers = if !self.path.starts_with("/v1/") {
            json!({"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}})
        } else {
            components::rate_headers()
        };
        self.response(
            status,
            json!({"description": description, "headers": headers,
                   "content": {"application/json": {"schema": schema}}}),
        )
    }

    pub fn no_content(&mut self, description: &str) -> &mut Self {
        self.response(
            204,
            json!({"description": description, "headers": components::rate_headers()}),
        )
    }

    pub fn response(&mut self, status: u16, r: Value) -> &mut Self {
        self.responses.insert(status.to_string(), r);
        self
    }

    /// The problem answers this operation can give, plus `default`.
    pub fn errors(&mut self, statuses: &[u16]) -> &mut Self {
        // The IAM authorizer answers a missing or wrong operator credential 403 before any
        // function runs.
        let operator = self.path.starts_with("/admin/");
        for s in statuses {
            let name = match (s, operator) {
                (403, true) => "OperatorForbidden",
                _ => components::error_response(*s),
            };
            self.responses.insert(
                s.to_string(),
                json!({"$ref": format!("#/components/responses/{name}")}),
            );
        }
        self.responses.insert(
            "default".into(),
            json!({"$ref": "#/components/responses/Problem"}),
        );
        self
    }

    /// Where a response's ids lead (documentation, and schemathesis' stateful phase).
    pub fn link(&mut self, status: u16, name: &str, target: &str, parameters: Value) -> &mut Self {
        if let Some(r) = self
            .responses
            .get_mut(&status.to_string())
            .and_then(Value::as_object_mut)
        {
            let links = r.entry("links").or_insert_with(|| json!({}));
            if let Some(l) = links.as_object_mut() {
                l.insert(
                    name.into(),
                    json!({"operationId": target, "parameters": parameters}),
                );
            }
        }
        self
    }
}

/// Names of the schemas `roots` refer to, transitively (through `$ref`s in `schemas`).
fn reachable(roots: &[String], schemas: &Map<String, Value>) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo: Vec<String> = roots.to_vec();
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone()) {
            if let Some(s) = schemas.get(&name) {
                collect_refs(s, &mut todo);
            }
        }
    }
    seen
}

/// The strict body reader refuses `null` for an optional field (absent is how to leave it
/// out; `http::strict`), so in request-only schemas an `Option` field is not nullable. Schemas
/// that responses use too keep what the serializer writes.
fn strip_request_nulls(schemas: &mut Map<String, Value>, paths: &Map<String, Value>) {
    let (mut request_roots, mut response_roots) = (Vec::new(), Vec::new());
    for item in paths.values() {
        for op in item.as_object().into_iter().flat_map(|m| m.values()) {
            collect_refs(&op["requestBody"], &mut request_roots);
            collect_refs(&op["responses"], &mut response_roots);
        }
    }
    let request_only = reachable(&request_roots, schemas);
    let responses = reachable(&response_roots, schemas);
    for name in request_only.difference(&responses) {
        let Some(props) = schemas
            .get_mut(name)
            .and_then(|s| s.get_mut("properties"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for p in props.values_mut() {
            not_null(p);
        }
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(name) = m
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.push(name.to_owned());
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// `{"type": ["integer", "null"]}` => `{"type": "integer"}`; `{"oneOf": [{"type": "null"}, X]}` => X.
fn not_null(p: &mut Value) {
    if let Some(types) = p.get("type").and_then(Value::as_array) {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if kept.len() == 1 {
            p["type"] = kept[0].clone();
        }
    }
    let one_of = p.get("oneOf").and_then(Value::as_array).cloned();
    if let Some(items) = one_of {
        let kept: Vec<Value> = items
            .into_iter()
            .filter(|i| i.get("type") != Some(&json!("null")))
            .collect();
        if let ([only], Some(obj)) = (kept.as_slice(), p.as_object_mut()) {
            obj.remove("oneOf");
            if let Some(o) = only.as_object() {
                for (k, v) in o {
                    obj.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }
}

/// utoipa writes `u32` as `int32` and `u64` as `int64` (both signed, so their implied maxima
/// are half of ours) with `minimum: 0`. Say the real range instead, so clients and fuzzers
/// neither send too little nor expect a refusal the code would not give.
fn unsigned_ranges(v: &mut Value) {
    match v {
        Value::Object(m) => {
            // utoipa writes `minimum: 0` for unsigned types; an explicit minimum replaces it.
            let unsigned = m
                .get("minimum")
                .and_then(Value::as_f64)
                .is_some_and(|min| min >= 0.0);
            let max = match m.get("format").and_then(Value::as_str) {
                Some("int32") if unsigned => Some(json!(u32::MAX)),
                Some("int64") if unsigned => Some(json!(u64::MAX)),
                _ => None,
            };
            if let Some(max) = max {
                m.remove("format");
                m.entry("maximum").or_insert(max);
            }
            m.values_mut().for_each(unsigned_ranges);
        }
        Value::Array(a) => a.iter_mut().for_each(unsigned_ranges),
        _ => {}
    }
}

/// A path parameter (always a string).
pub fn path_param(name: &str, description: &str, example: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": {"type": "string"}, "example": example})
}

/// An optional query parameter.
pub fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_only_optionals_are_not_nullable_but_response_ones_are() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        // RefundRequest.amount: Option<u64> in a request-only type; `null` is refused.
        assert_eq!(
            schemas["RefundRequest"]["properties"]["amount"]["type"],
            "integer"
        );
        // Payment.status_detail: Option in a response; the serializer writes null.
        assert_eq!(
            schemas["Payment"]["properties"]["status_detail"]["type"],
            json!(["string", "null"])
        );
    }

    #[test]
    fn unsigned_fields_say_their_real_range() {
        let doc = document();
        let amount = &doc["components"]["schemas"]["RefundRequest"]["properties"]["amount"];
        assert_eq!(amount["minimum"], 1);
        assert_eq!(amount["maximum"], 1_000_000_000_000_u64);
        let limit = &doc["components"]["schemas"]["LimitOverrides"]["properties"];
        assert_eq!(limit["emails_per_month"]["maximum"], json!(u64::MAX));
        assert_eq!(limit["requests_per_second"]["maximum"], json!(u32::MAX));
        assert!(limit["requests_per_second"].get("format").is_none());
    }

    #[test]
    fn every_reference_resolves() {
        fn refs(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                        out.push(r.to_owned());
                    }
                    m.values().for_each(|x| refs(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
                _ => {}
            }
        }
        let doc = document();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(all.len() > 100);
        for r in all {
            let mut node = &doc;
            for part in r.trim_start_matches("#/").split('/') {
                node = &node[part];
            }
            assert!(!node.is_null(), "{r} does not resolve");
        }
    }

    #[test]
    fn a_template_content_shape_carries_its_kind_tag() {
        let doc = document();
        let email = &doc["components"]["schemas"]["EmailContent"];
        assert_eq!(email["properties"]["kind"]["enum"], json!(["email"]));
        assert_eq!(email["required"][0], "kind");
        assert_eq!(email["additionalProperties"], false);
        let content = &doc["components"]["schemas"]["TemplateContent"];
        assert_eq!(
            content["discriminator"]["mapping"]["whatsapp_text"],
            "#/components/schemas/WhatsAppTextContent"
        );
    }
}
