//! `mostrador-admin export`/`import` as a round trip through the library the CLI calls: export
//! a shop that went through both load phases, delete every item of it from the table (its key
//! stops working), import the archive, and compare: same items (endpoint secrets excepted: they
//! are withheld and re-issued), same API answers, idempotent re-import.

use crate::world::{list_all, Shop};
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use mostrador::admin::archive::{self, Item};
use mostrador_devstack::Stack;
use mostrador_tests::TestStack;
use reqwest::Method;
use serde_json::json;

#[derive(Debug, Default)]
pub struct Backup {
    pub items: usize,
    pub bytes: usize,
    pub secret_refs: Vec<String>,
    pub imported: usize,
    pub reimported_written: usize,
    pub violations: Vec<String>,
}

fn comparable(mut items: Vec<Item>) -> Vec<Item> {
    for item in &mut items {
        if matches!(item.get("pk"), Some(AttributeValue::S(pk)) if pk.ends_with("#WHE")) {
            for a in ["secrets", "enabled", "disabled_reason", "updated_at"] {
                item.remove(a);
            }
        }
    }
    items
}

async fn lists(t: &TestStack, shop: &Shop) -> Vec<usize> {
    let mut out = Vec::new();
    for path in [
        "/v1/notifications",
        "/v1/events",
        "/v1/payments",
        "/v1/webhook-deliveries",
        "/v1/templates",
    ] {
        out.push(
            list_all(t, shop.key(), path)
                .await
                .map(|l| l.len())
                .unwrap_or(usize::MAX),
        );
    }
    out
}

pub async fn round_trip(stack: &Stack, t: &TestStack, shop: &Shop) -> Backup {
    let state = stack.operator_state();
    let pid = shop.project.id.parse().unwrap();
    let mut b = Backup::default();
    let mut v = |m: String| b.violations.push(m);
    let before_lists = lists(t, shop).await;
    let before = archive::project_items(state, &pid).await.unwrap();
    let mut archive_bytes = Vec::new();
    let exported = archive::export(state, &pid, &mut archive_bytes)
        .await
        .unwrap();
    let text = String::from_utf8(archive_bytes.clone()).unwrap();
    for needle in [
        "whsec_",
        &shop.mp_token,
        &shop.wa_token,
        crate::world::WEBHOOK_SECRET_MP,
        crate::world::WA_APP_SECRET,
    ] {
        if text.contains(needle) {
            v(format!(
                "the archive contains a secret value ({}…)",
                &needle[..6.min(needle.len())]
            ));
        }
    }
    if exported.items != before.len() || exported.withheld_endpoint_secrets != 1 {
        v(format!(
            "exported {} items ({} endpoints withheld), table has {}",
            exported.items,
            exported.withheld_endpoint_secrets,
            before.len()
        ));
    }

    // Lose the project: every item deleted.
    for chunk in before.chunks(25) {
        let requests = chunk
            .iter()
            .map(|i| {
                let key = ["pk", "sk"]
                    .iter()
                    .map(|k| (k.to_string(), i[*k].clone()))
                    .collect();
                WriteRequest::builder()
                    .delete_request(DeleteRequest::builder().set_key(Some(key)).build().unwrap())
                    .build()
            })
            .collect();
        state
            .dynamodb
            .batch_write_item()
            .request_items(&state.config.table_name, requests)
            .send()
            .await
            .unwrap();
    }
    let gone = t
        .call(Method::GET, "/v1/project", shop.key())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    if gone != 401
        || !archive::project_items(state, &pid)
            .await
            .unwrap()
            .is_empty()
    {
        v(format!(
            "after deleting the project its key still answers {gone}"
        ));
    }

    let imported = archive::import(state, std::io::Cursor::new(archive_bytes.clone()))
        .await
        .unwrap();
    let again = archive::import(state, std::io::Cursor::new(archive_bytes))
        .await
        .unwrap();
    let after = archive::project_items(state, &pid).await.unwrap();
    if comparable(after) != comparable(before.clone()) {
        v("the imported items differ from the exported ones".into());
    }
    if again.written != 0 || again.already_present != before.len() {
        v(format!(
            "re-import wrote {} items (expected 0)",
            again.written
        ));
    }
    if !imported.missing_secrets.is_empty()
        || imported.endpoints_to_rotate != [shop.endpoint_id.clone()]
    {
        v(format!("import report: {imported:?}"));
    }
    let status = t
        .call(Method::GET, "/v1/project", shop.key())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    let after_lists = lists(t, shop).await;
    if status != 200 || after_lists != before_lists {
        v(format!(
            "after import: key {status}, lists {after_lists:?} vs {before_lists:?}"
        ));
    }
    // The shop takes a new secret and re-enables its endpoint.
    let ep = format!("/v1/webhook-endpoints/{}", shop.endpoint_id);
    let rotated = t
        .call(Method::POST, &format!("{ep}/rotate-secret"), shop.key())
        .json(&json!({"overlap_seconds": 0}))
        .send()
        .await
        .unwrap();
    let patched = t
        .call(Method::PATCH, &ep, shop.key())
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    if !rotated.status().is_success() || !patched.status().is_success() {
        v(format!(
            "rotate {} / re-enable {}",
            rotated.status(),
            patched.status()
        ));
    }
    b.items = exported.items;
    b.bytes = text.len();
    b.secret_refs = exported.secret_refs;
    b.imported = imported.written;
    b.reimported_written = again.written;
    b
}
