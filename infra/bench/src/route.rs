//! One measured route: the function binary, the event it is fed, and what an invocation
//! answered.

use crate::stub::Outcome;
use serde_json::{json, Value};

/// Label suffix of a hot POST route measured without an `Idempotency-Key`.
pub const NO_KEY: &str = " — no Idempotency-Key";

/// One measured route: a function binary and the API Gateway event it is fed.
#[derive(Clone, Debug)]
pub struct Route {
    pub binary: String,
    pub label: String,
    /// Part of the hot set (CPU and AWS calls are reported for it).
    pub hot: bool,
    pub event: Value,
    /// SQS functions: the message bodies fed in turn (invocation n gets `bodies[n % len]`).
    pub bodies: Vec<String>,
    /// HTTP POSTs: send a fresh `Idempotency-Key` on every invocation (what the SDKs do).
    pub keyed: bool,
}

/// The event for invocation `n` (fresh request id and idempotency-relevant fields).
pub fn event_for(route: &Route, n: usize) -> Vec<u8> {
    let mut event = route.event.clone();
    if let Some(records) = event.get_mut("Records").and_then(Value::as_array_mut) {
        // An SQS batch of one realistic message (what a batch size of 1 delivers).
        records.truncate(1);
        if let (Some(record), false) = (records.first_mut(), route.bodies.is_empty()) {
            record["messageId"] = json!(format!("bench-{n}"));
            record["body"] = json!(route.bodies[n % route.bodies.len()]);
        }
        return serde_json::to_vec(&event).unwrap_or_default();
    }
    if event.get("requestContext").is_some() {
        event["requestContext"]["requestId"] = json!(format!("bench-{n}"));
    }
    if route.keyed {
        // Keys are per project: one namespace per route, or a key reused across routes would
        // (rightly) answer 409 `idempotency_key_reused`.
        let key = format!("bench-{}-{}-{n}", std::process::id(), route.binary);
        event["headers"]["idempotency-key"] = json!(key);
    }
    if let Some(body) = event.get("body").and_then(Value::as_str) {
        let body = body.replace("{n}", &n.to_string());
        event["body"] = json!(body);
    }
    serde_json::to_vec(&event).unwrap_or_default()
}

pub fn status_of(outcome: &Outcome) -> String {
    if outcome.error {
        return "invocation error".into();
    }
    let Ok(v) = serde_json::from_slice::<Value>(&outcome.body) else {
        return "no status".into();
    };
    if let Some(status) = v.get("statusCode").and_then(Value::as_u64) {
        return status.to_string();
    }
    match v.get("batchItemFailures").and_then(Value::as_array) {
        Some(failed) if failed.is_empty() => "batch ok".into(),
        Some(_) => "batch item failed".into(),
        None => "ok".into(),
    }
}
