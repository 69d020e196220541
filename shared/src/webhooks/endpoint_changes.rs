//! The shop's changes to a webhook endpoint (PATCH, rotate-secret), written so that no concurrent
//! write is lost. Other writers touch the same item: the dispatcher disables it (410 Gone, or 5
//! days failing) and records its health. So a change never writes the whole item back:
//!
//! - PATCH sets only the fields the request names (`UpdateItem`). Its fields are disjoint from the
//!   dispatcher's except `enabled`; a PATCH that does not name `enabled` never touches it, so it
//!   cannot re-enable an endpoint the dispatcher just disabled. `enabled: true` is conditioned on
//!   the state it was decided against and retried on a lost race: the shop's explicit "enable" is
//!   then applied after the concurrent disable (a valid order of the two), clearing its reason.
//! - A rotation rewrites the secrets list, which it must read first (expire the old ones, append
//!   one). It is checked against `secrets_version` (optimistic concurrency) and retried on a lost
//!   race: two rotations commute (each appends its secret and puts the others in overlap), so a
//!   retry gives the same result as a serial order. Only a rotation that keeps losing answers 409.

use super::endpoint_store::{self, Endpoint, StoredSecret};
use super::signing::WebhookSecret;
use crate::db::{self, storage_error};
use crate::error::ApiError;
use crate::ids::{EndpointId, ProjectId};
use crate::AppState;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

/// Attempts before a change that keeps losing races answers 409 `conflict`.
const TRIES: u32 = 8;

/// The fields a PATCH names (already validated); `None` leaves a field as stored.
#[derive(Debug, Default)]
pub struct Change {
    pub url: Option<String>,
    pub filter_types: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

fn conflict() -> ApiError {
    ApiError::conflict(
        "conflict",
        "the webhook endpoint changed concurrently too many times; retry",
    )
}

/// The stored `enabled` of an item a failed condition returned (`None`: no such item).
fn stored_enabled(err: &UpdateItemError) -> Option<Option<bool>> {
    match err {
        UpdateItemError::ConditionalCheckFailedException(c) => Some(
            c.item
                .as_ref()
                .and_then(|item| item.get("enabled"))
                .and_then(|v| v.as_bool().ok())
                .copied(),
        ),
        _ => None,
    }
}

/// Applies `change` field by field; returns the endpoint as stored afterwards.
pub async fn update(
    state: &AppState,
    project: &ProjectId,
    id: &EndpointId,
    change: &Change,
    now: &str,
) -> Result<Endpoint, ApiError> {
    // For `enabled: true`, the state it is decided against: first guess "already enabled" (no
    // read needed), corrected by what a failed condition returns.
    let mut believed_enabled = true;
    for _ in 0..TRIES {
        let mut sets = vec!["#ua = :now".to_owned()];
        let mut removes = Vec::new();
        let mut condition = "attribute_exists(pk)".to_owned();
        let mut req = state
            .dynamodb
            .update_item()
            .table_name(&state.config.table_name)
            .key("pk", db::s(endpoint_store::pk(project)))
            .key("sk", db::s(id.to_string()))
            .expression_attribute_names("#ua", "updated_at")
            .expression_attribute_values(":now", db::s(now));
        if let Some(url) = &change.url {
            sets.push("#url = :url".into());
            req = req
                .expression_attribute_names("#url", "url")
                .expression_attribute_values(":url", db::s(url));
        }
        if let Some(f) = &change.filter_types {
            sets.push("#ft = :ft".into());
            let list = f.iter().map(|x| db::s(x.as_str())).collect();
            req = req
                .expression_attribute_names("#ft", "filter_types")
                .expression_attribute_values(":ft", AttributeValue::L(list));
        }
        if let Some(d) = &change.description {
            sets.push("#d = :d".into());
            req = req
                .expression_attribute_names("#d", "description")
                .expression_attribute_values(":d", db::s(d));
        }
        match change.enabled {
            None => {}
            Some(false) => {
                // A reason already there (e.g. `gone` from the dispatcher) is kept.
                sets.push("#en = :f".into());
                sets.push("#dr = if_not_exists(#dr, :manual)".into());
                req = req
                    .expression_attribute_names("#en", "enabled")
                    .expression_attribute_names("#dr", "disabled_reason")
                    .expression_attribute_values(":f", AttributeValue::Bool(false))
                    .expression_attribute_values(":manual", db::s("manual"));
            }
            Some(true) if believed_enabled => {
                condition.push_str(" AND #en = :t");
                req = req
                    .expression_attribute_names("#en", "enabled")
                    .expression_attribute_values(":t", AttributeValue::Bool(true));
            }
            Some(true) => {
                // Re-enabling starts a fresh health record.
                condition.push_str(" AND #en = :f");
                sets.push("#en = :t".into());
                removes.extend(["#dr", "#fs"]);
                req = req
                    .expression_attribute_names("#en", "enabled")
                    .expression_attribute_names("#dr", "disabled_reason")
                    .expression_attribute_names("#fs", "failing_since_ms")
                    .expression_attribute_values(":t", AttributeValue::Bool(true))
                    .expression_attribute_values(":f", AttributeValue::Bool(false));
            }
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let result = req
            .update_expression(expression)
            .condition_expression(condition)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                return Ok(db::from_item(item)?);
            }
            Err(err) if db::is_conditional_failure(&err) => {
                match err.as_service_error().and_then(stored_enabled) {
                    Some(Some(enabled)) => believed_enabled = enabled,
                    _ => return Err(ApiError::not_found("webhook endpoint")),
                }
            }
            Err(err) => return Err(storage_error(err).into()),
        }
    }
    Err(conflict())
}

/// Rotates the signing secret: the current ones stay valid for `overlap_s` seconds (or less if
/// they already expire sooner). Returns the endpoint as stored and the new secret.
pub async fn rotate(
    state: &AppState,
    project: &ProjectId,
    id: &EndpointId,
    overlap_s: i64,
    now: time::OffsetDateTime,
) -> Result<(Endpoint, WebhookSecret), ApiError> {
    let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let stamp = crate::clock::rfc3339(now);
    let secret = WebhookSecret::generate();
    for attempt in 0..TRIES {
        let mut e = endpoint_store::require(state, project, id).await?;
        let ends = now_ms + overlap_s * 1000;
        for s in &mut e.secrets {
            s.expires_at_ms = Some(s.expires_at_ms.map_or(ends, |at| at.min(ends)));
        }
        e.secrets
            .retain(|s| s.expires_at_ms.is_none_or(|at| at > now_ms));
        e.secrets.push(StoredSecret {
            secret: secret.expose(),
            expires_at_ms: None,
        });
        let secrets = db::to_item(&SecretsOnly {
            secrets: e.secrets.clone(),
        })?
        .remove("secrets")
        .unwrap_or(AttributeValue::L(Vec::new()));
        let result = state
            .dynamodb
            .update_item()
            .table_name(&state.config.table_name)
            .key("pk", db::s(endpoint_store::pk(project)))
            .key("sk", db::s(id.to_string()))
            .update_expression("SET secrets = :s, updated_at = :now, secrets_version = :next")
            // Items from before `secrets_version` existed have none: version 0.
            .condition_expression(
                "attribute_exists(pk) AND (secrets_version = :v OR attribute_not_exists(secrets_version))",
            )
            .expression_attribute_values(":s", secrets)
            .expression_attribute_values(":now", db::s(&stamp))
            .expression_attribute_values(":v", db::n(e.secrets_version))
            .expression_attribute_values(":next", db::n(e.secrets_version + 1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let stored: Endpoint = db::from_item(out.attributes.unwrap_or_default())?;
                return Ok((stored, secret));
            }
            // Lost to a concurrent rotation (or the endpoint was deleted: the next read says).
            Err(err) if db::is_conditional_failure(&err) => {
                let pause = 10 * u64::from(attempt + 1);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            Err(err) => return Err(storage_error(err).into()),
        }
    }
    Err(conflict())
}

#[derive(serde::Serialize)]
struct SecretsOnly {
    secrets: Vec<StoredSecret>,
}
