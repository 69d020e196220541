//! One project's data as a portable archive (`mostrador-admin export` / `import`), JSON Lines:
//!
//! ```text
//! {"type":"header","format":"mostrador.project-archive","version":1,"project_id":"prj_…","exported_at":"…","source_table":"…"}
//! {"type":"item","item":{"pk":{"S":"P#prj_…"},…}}                    one per stored item (DynamoDB JSON)
//! {"type":"item","item":{…},"withheld":["secrets"]}                  a webhook endpoint, signing secrets withheld
//! {"type":"secret_ref","provider":"mercadopago","name":"<prefix>/projects/prj_…/mercadopago"}
//! {"type":"footer","items":N}
//! ```
//!
//! **What is in it.** Every item of the single table that belongs to the project (see
//! `docs/data-model.md`): its `P#<prj>…` partitions (project, usage, templates and versions,
//! notifications, events, event-id dedupe markers, endpoints, deliveries and attempts, payments
//! and their history, order-paid markers), its API keys (`K#…`), its provider-message lookups
//! (`M#…`) and its idempotency records (`I#<prj>#…`). GSI entries are attributes of those items
//! (`gsi1pk`, `duepk`, …), so writing the items back rebuilds every index. Rate-limit windows
//! (`RL#…`, two-minute TTL) are not exported. Finding them takes a filtered, paginated Scan: an
//! operator action whose cost is the table's size, never run on a request path.
//!
//! **Secrets are references, never values.** Provider credentials live in Secrets Manager; the
//! archive names each secret and the import reports which ones the target account lacks (the
//! operator re-enters them with `mostrador-admin credentials set`). Webhook signing secrets
//! (`whsec_…`) live in endpoint items: they are withheld, and an imported endpoint gets a fresh
//! secret and is disabled (`disabled_reason: "secret_not_imported"`) until the shop rotates its
//! secret (`POST /v1/webhook-endpoints/{id}/rotate-secret`, which hands out the new one) and
//! re-enables it. API keys keep their argon2id hashes: a hash cannot be turned back into a key,
//! and keeping it lets the shop's keys work after a restore. An export refuses to write any
//! remaining string that looks like a webhook secret.

mod typed;

use crate::credentials::{self, Provider};
use crate::error::ApiError;
use crate::ids::ProjectId;
use crate::webhooks::signing::WebhookSecret;
use crate::AppState;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
pub use typed::Item;

pub const FORMAT: &str = "mostrador.project-archive";
const WITHHELD_SECRETS: &str = "secrets";
const SECRET_MARK: &str = "whsec_";

/// What an export wrote.
#[derive(Debug, Default, serde::Serialize)]
pub struct Exported {
    pub items: usize,
    pub withheld_endpoint_secrets: usize,
    pub secret_refs: Vec<String>,
}

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Imported {
    pub project_id: String,
    pub written: usize,
    /// Items already present in the target table (left untouched).
    pub already_present: usize,
    /// Endpoints that got a fresh secret and were disabled: the shop must rotate and re-enable.
    pub endpoints_to_rotate: Vec<String>,
    /// Provider credentials named by the archive that the target's Secrets Manager lacks.
    pub missing_secrets: Vec<String>,
}

fn io_error(e: std::io::Error) -> ApiError {
    ApiError::bad_request("archive_io", e.to_string())
}

fn invalid(line: usize, message: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("archive_invalid", format!("archive line {line}: {message}"))
}

/// Every item of the project, by a filtered Scan (pages of 1 MB).
pub async fn project_items(state: &AppState, project: &ProjectId) -> Result<Vec<Item>, ApiError> {
    let items: Vec<Item> = state
        .dynamodb
        .scan()
        .table_name(&state.config.table_name)
        .filter_expression(
            "pk = :p OR begins_with(pk, :pp) OR begins_with(pk, :ip) \
             OR (project_id = :id AND NOT begins_with(pk, :rl))",
        )
        .expression_attribute_values(":p", AttributeValue::S(format!("P#{project}")))
        .expression_attribute_values(":pp", AttributeValue::S(format!("P#{project}#")))
        .expression_attribute_values(":ip", AttributeValue::S(format!("I#{project}#")))
        .expression_attribute_values(":id", AttributeValue::S(project.to_string()))
        .expression_attribute_values(":rl", AttributeValue::S("RL#".into()))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(crate::db::storage_error)?;
    let mut items = items;
    items.sort_by_key(|i| (key_of(i, "pk"), key_of(i, "sk")));
    Ok(items)
}

fn key_of(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    }
}

fn is_endpoint(item: &Item, project: &ProjectId) -> bool {
    key_of(item, "pk") == format!("P#{project}#WHE")
}

fn mentions_secret(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(SECRET_MARK),
        Value::Array(a) => a.iter().any(mentions_secret),
        Value::Object(o) => o.values().any(mentions_secret),
        _ => false,
    }
}

/// Writes the project's archive to `out`.
pub async fn export(
    state: &AppState,
    project: &ProjectId,
    out: &mut impl Write,
) -> Result<Exported, ApiError> {
    crate::tenancy::project::require(state, project).await?;
    let items = project_items(state, project).await?;
    let mut line = |v: Value| writeln!(out, "{v}").map_err(io_error);
    line(
        json!({"type": "header", "format": FORMAT, "version": 1, "project_id": project.to_string(),
        "exported_at": crate::clock::rfc3339(state.clock.now()), "source_table": state.config.table_name}),
    )?;
    let mut done = Exported::default();
    for mut item in items {
        let mut record = json!({"type": "item"});
        if is_endpoint(&item, project) && item.remove(WITHHELD_SECRETS).is_some() {
            record["withheld"] = json!([WITHHELD_SECRETS]);
            done.withheld_endpoint_secrets += 1;
        }
        record["item"] = typed::to_json(&item);
        if mentions_secret(&record) {
            return Err(ApiError::conflict(
                "archive_secret_found",
                format!(
                    "item {} / {} holds a webhook secret outside an endpoint's secrets; not exported",
                    key_of(&item, "pk"),
                    key_of(&item, "sk")
                ),
            ));
        }
        line(record)?;
        done.items += 1;
    }
    for provider in credentials::configured(state, project).await? {
        let name = Provider::parse(provider)
            .map(|p| credentials::secret_name(state, project, p))
            .unwrap_or_default();
        line(json!({"type": "secret_ref", "provider": provider, "name": name}))?;
        done.secret_refs.push(provider.to_owned());
    }
    line(json!({"type": "footer", "items": done.items}))?;
    Ok(done)
}

/// A withheld endpoint comes back with a fresh secret, disabled until the shop rotates it.
fn reseal_endpoint(item: &mut Item) {
    let fresh = WebhookSecret::generate().expose();
    let mut secret = Item::new();
    secret.insert("secret".into(), AttributeValue::S(fresh));
    item.insert(
        WITHHELD_SECRETS.into(),
        AttributeValue::L(vec![AttributeValue::M(secret)]),
    );
    item.insert("enabled".into(), AttributeValue::Bool(false));
    item.insert(
        "disabled_reason".into(),
        AttributeValue::S("secret_not_imported".into()),
    );
}

/// Reads an archive and writes its items into this state's table; an item already there is
/// left as it is (`attribute_not_exists`), so importing twice changes nothing.
pub async fn import(state: &AppState, input: impl BufRead) -> Result<Imported, ApiError> {
    let mut done = Imported::default();
    let mut items = Vec::new();
    let mut refs = Vec::new();
    let mut footer = None;
    for (n, text) in input.lines().enumerate() {
        let text = text.map_err(io_error)?;
        if text.trim().is_empty() {
            continue;
        }
        let record: Value = serde_json::from_str(&text).map_err(|e| invalid(n + 1, e))?;
        match record["type"].as_str() {
            Some("header") => {
                if record["format"] != FORMAT || record["version"] != 1 {
                    return Err(invalid(n + 1, "not a version 1 project archive"));
                }
                done.project_id = record["project_id"].as_str().unwrap_or_default().to_owned();
            }
            Some("item") => {
                let mut item = typed::from_json(&record["item"]).map_err(|e| invalid(n + 1, e))?;
                let withheld = record["withheld"].as_array().is_some_and(|w| !w.is_empty());
                if withheld {
                    done.endpoints_to_rotate.push(key_of(&item, "sk"));
                    reseal_endpoint(&mut item);
                }
                items.push(item);
            }
            Some("secret_ref") => refs.push(record),
            Some("footer") => footer = record["items"].as_u64(),
            _ => return Err(invalid(n + 1, "unknown record type")),
        }
    }
    let project: ProjectId = done
        .project_id
        .parse()
        .map_err(|_| invalid(1, "the header names no valid project id"))?;
    if footer != Some(items.len() as u64) {
        return Err(invalid(
            0,
            "truncated archive: the footer's item count does not match",
        ));
    }
    let results: Vec<bool> =
        futures::stream::iter(items.into_iter().map(|item| put_new(state, item)))
            .buffer_unordered(8)
            .try_collect()
            .await?;
    done.written = results.iter().filter(|w| **w).count();
    done.already_present = results.len() - done.written;
    let present = credentials::configured(state, &project).await?;
    for r in refs {
        let provider = r["provider"].as_str().unwrap_or_default();
        if !present.contains(&provider) {
            done.missing_secrets.push(provider.to_owned());
        }
    }
    Ok(done)
}

/// `true` when written, `false` when an item with that key already existed.
async fn put_new(state: &AppState, item: Item) -> Result<bool, ApiError> {
    let put = state
        .dynamodb
        .put_item()
        .table_name(&state.config.table_name)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match put {
        Ok(_) => Ok(true),
        Err(e) if crate::db::is_conditional_failure(&e) => Ok(false),
        Err(e) => Err(crate::db::storage_error(e).into()),
    }
}
