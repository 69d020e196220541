//! `mostrador-admin export` and `import` through the binary: a project with a template, an
//! event, a webhook endpoint and credentials is exported from one local stack and imported into
//! a fresh one (another table); the items match, the key works there, secrets never appear.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mostrador::admin::archive::{self, Item};
use mostrador_devstack::Stack;
use serde_json::{json, Value};
use std::process::Command;

fn cli(stack: &Stack, args: &[&str], file: Option<&std::path::Path>) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mostrador-admin"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_ENDPOINT_URL_DYNAMODB", &stack.dynamodb_endpoint)
        .env("AWS_ENDPOINT_URL_SQS", &stack.moto_endpoint)
        .env("AWS_ENDPOINT_URL_SESV2", &stack.moto_endpoint)
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &stack.moto_endpoint)
        .envs(&stack.env["admin"]);
    if let Some(f) = file {
        cmd.stdout(std::fs::File::create(f).unwrap());
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn call(stack: &Stack, method: reqwest::Method, path: &str, key: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .request(method, format!("{}{path}", stack.api_url))
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or_default();
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

/// Items without the fields an import legitimately changes (webhook endpoint secrets).
fn comparable(mut items: Vec<Item>) -> Vec<Item> {
    for item in &mut items {
        if item
            .get("pk")
            .and_then(|v| v.as_s().ok())
            .is_some_and(|pk| pk.ends_with("#WHE"))
        {
            for a in ["secrets", "enabled", "disabled_reason"] {
                item.remove(a);
            }
        }
    }
    items
}

#[tokio::test]
async fn a_project_exported_from_one_stack_is_imported_into_a_fresh_one() {
    let source = mostrador_tests::dedicated().await;
    let created: Value = serde_json::from_str(
        &cli(
            &source,
            &[
                "--json",
                "projects",
                "create",
                "--name",
                "Archive shop",
                "--domain",
                "archive.example.com",
                "--plan",
                "pro",
            ],
            None,
        )
        .1,
    )
    .unwrap();
    let id = created["project"]["id"].as_str().unwrap().to_owned();
    let key = created["api_key"]["api_key"].as_str().unwrap().to_owned();
    call(
        &source,
        reqwest::Method::PUT,
        "/v1/templates/hola",
        &key,
        json!({"kind": "email", "subject": "Hola {{ n }}", "text": "t"}),
    )
    .await;
    let endpoint = call(&source, reqwest::Method::POST, "/v1/webhook-endpoints", &key,
        json!({"url": format!("{}/hooks/archive", source.receiver.base_url), "filter_types": ["order.*"]})).await;
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    call(
        &source,
        reqwest::Method::POST,
        "/v1/events",
        &key,
        json!({"type": "order.created", "data": {"n": 1}, "event_id": "shop-1"}),
    )
    .await;
    // The export is compared item by item with the source table afterwards, so the delivery
    // must be settled first: an attempt still in flight would change under the comparison.
    let mut settled = false;
    for _ in 0..100 {
        let page = call(
            &source,
            reqwest::Method::GET,
            "/v1/webhook-deliveries",
            &key,
            Value::Null,
        )
        .await;
        if page["data"][0]["status"] == "succeeded" {
            settled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(settled, "the event's delivery never succeeded");
    let state = source.operator_state();
    let pid = id.parse().unwrap();
    mostrador::admin::put_credentials(
        state,
        &pid,
        "mercadopago",
        json!({"access_token": "APP_USR-1-2-3-4", "webhook_secret": "archive-signing"})
            .as_object()
            .unwrap(),
    )
    .await
    .unwrap();

    let file = std::env::temp_dir().join(format!("mostrador-archive-{}.jsonl", std::process::id()));
    let (ok, _, err) = cli(&source, &["export", "--project", &id], Some(&file));
    assert!(ok, "{err}");
    assert!(err.contains("exported"), "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    for secret_value in [
        secret.as_str(),
        "APP_USR-1-2-3-4",
        "archive-signing",
        "whsec_",
    ] {
        assert!(
            !text.contains(secret_value),
            "the archive holds a secret value"
        );
    }
    assert!(text.contains("\"type\":\"secret_ref\""), "{text}");
    let exported = comparable(archive::project_items(state, &pid).await.unwrap());

    let target = mostrador_tests::dedicated().await;
    let (ok, out, err) = cli(
        &target,
        &["--json", "import", "--file", file.to_str().unwrap()],
        None,
    );
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["written"], exported.len(), "{report}");
    assert_eq!(report["endpoints_to_rotate"], json!([endpoint["id"]]));
    assert_eq!(
        report["missing_secrets"],
        json!(["mercadopago"]),
        "credentials are not in the new account"
    );
    let imported = comparable(
        archive::project_items(target.operator_state(), &pid)
            .await
            .unwrap(),
    );
    assert_eq!(imported, exported);
    let project = call(
        &target,
        reqwest::Method::GET,
        "/v1/project",
        &key,
        Value::Null,
    )
    .await;
    assert_eq!(project["id"], id.as_str());
    let ep = call(
        &target,
        reqwest::Method::GET,
        &format!("/v1/webhook-endpoints/{}", endpoint["id"].as_str().unwrap()),
        &key,
        Value::Null,
    )
    .await;
    assert_eq!(
        ep["enabled"], false,
        "disabled until the shop takes a new secret"
    );
    // A second import changes nothing; a truncated archive is refused.
    let again: Value = serde_json::from_str(
        &cli(
            &target,
            &["--json", "import", "--file", file.to_str().unwrap()],
            None,
        )
        .1,
    )
    .unwrap();
    assert_eq!(again["written"], 0);
    let truncated = text.lines().take(3).collect::<Vec<_>>().join("\n");
    std::fs::write(&file, truncated).unwrap();
    let (ok, _, err) = cli(&target, &["import", "--file", file.to_str().unwrap()], None);
    assert!(!ok && err.contains("archive"), "{err}");
    let _ = std::fs::remove_file(&file);
    source.shutdown().await;
    target.shutdown().await;
}
