//! Local mail: what the functions sent through SES lands in moto. These control endpoints make
//! it visible and let tests and the demo create the sender identity moto insists on (real SES
//! needs a verified identity too, which operators create once per domain, outside the code).
//!
//! - `GET /_local/mail`: every message moto's SES accepted, from `/moto-api/data.json`
//!   (`{"messages": [{"id", "source", "destinations", "subject", "body", "html", "text", …}]}`).
//! - `POST /_local/mail/identities/{identity}`: `CreateEmailIdentity` (an address or a domain).
//! - `POST /_local/mail/{message_id}/events/{kind}`: SES's bounce/complaint/delivery events
//!   (see `email_events.rs`).

use aws_config::BehaviorVersion;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{json, Value};

use crate::provision::REGION;

/// The sent messages moto recorded.
pub async fn list(moto_endpoint: String) -> Response {
    match messages(&moto_endpoint).await {
        Ok(messages) => (StatusCode::OK, axum::Json(json!({"messages": messages}))).into_response(),
        Err(detail) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"code": "moto_unavailable", "detail": detail})),
        )
            .into_response(),
    }
}

/// Every message moto's SES accepted, in sending order.
pub async fn messages(moto_endpoint: &str) -> Result<Vec<Value>, String> {
    let url = format!("{moto_endpoint}/moto-api/data.json");
    let data: Value = reqwest::get(&url)
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let mut messages = Vec::new();
    // data.json: {"ses": {"<account>": {"<region>": {"sent_messages": …}}}} in moto 5; accept
    // any nesting and collect every object that looks like a sent message.
    collect(&data["ses"], &mut messages);
    Ok(messages)
}

fn collect(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Object(map)
            if map.contains_key("destinations")
                || map.contains_key("source") && map.contains_key("subject") =>
        {
            out.push(value.clone())
        }
        Value::Object(map) => map.values().for_each(|v| collect(v, out)),
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

/// Creates an SES identity in moto.
pub async fn create_identity(moto_endpoint: String, Path(identity): Path<String>) -> Response {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "devstack",
        ))
        .endpoint_url(moto_endpoint)
        .load()
        .await;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    match ses.create_email_identity().email_identity(&identity).send().await {
        Ok(_) => (StatusCode::CREATED, axum::Json(json!({"identity": identity}))).into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            axum::Json(json!({"code": "identity_not_created", "detail": mostrador::telemetry::error_chain(&e)})),
        )
            .into_response(),
    }
}
