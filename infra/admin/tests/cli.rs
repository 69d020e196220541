//! The CLI binary against a local stack, configured exactly like a deployed function: the
//! resolved template environment plus AWS_ENDPOINT_URL_* pointing at the emulators.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mostrador_devstack::Stack;
use serde_json::Value;
use std::process::Command;

fn cli(stack: &Stack, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
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
        .envs(&stack.env["admin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(out: &(bool, String, String)) -> Value {
    assert!(out.0, "command failed: {}", out.2);
    serde_json::from_str(&out.1).unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.1))
}

async fn status_of(stack: &Stack, key: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/v1/project", stack.api_url))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_cli_manages_projects_keys_flags_and_credentials() {
    let stack = mostrador_tests::dedicated().await;
    let created = json(&cli(
        &stack,
        &[
            "--json",
            "projects",
            "create",
            "--name",
            "CLI shop",
            "--domain",
            "cli.example.com",
            "--plan",
            "pro",
        ],
        None,
    ));
    let id = created["project"]["id"].as_str().unwrap().to_owned();
    let key = created["api_key"]["api_key"].as_str().unwrap().to_owned();
    let key_id = created["api_key"]["key_id"].as_str().unwrap().to_owned();
    assert_eq!(status_of(&stack, &key).await, 200);

    let listed = json(&cli(&stack, &["--json", "projects", "list"], None));
    assert!(listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == id.as_str()));

    json(&cli(
        &stack,
        &["--json", "projects", "deactivate", &id],
        None,
    ));
    assert_eq!(status_of(&stack, &key).await, 403);
    json(&cli(&stack, &["--json", "projects", "activate", &id], None));
    assert_eq!(status_of(&stack, &key).await, 200);

    let flagged = json(&cli(
        &stack,
        &["--json", "projects", "set-flag", &id, "webhooks", "off"],
        None,
    ));
    assert_eq!(flagged["flags"]["webhooks"], false);
    let planned = json(&cli(
        &stack,
        &["--json", "projects", "set-plan", &id, "free"],
        None,
    ));
    assert_eq!(planned["plan"], "free");

    let rotated = json(&cli(
        &stack,
        &["--json", "keys", "rotate", &id, &key_id],
        None,
    ));
    let new_key = rotated["api_key"].as_str().unwrap().to_owned();
    assert_eq!(status_of(&stack, &key).await, 401);
    assert_eq!(status_of(&stack, &new_key).await, 200);
    let keys = cli(&stack, &["--json", "keys", "list", &id], None);
    assert!(!keys.1.contains(&new_key), "keys are never listed");

    let secret_in = r#"{"access_token":"TEST-111-222-333-444","webhook_secret":"cli-secret"}"#;
    let stored = cli(
        &stack,
        &["--json", "credentials", "set", &id, "mercadopago"],
        Some(secret_in),
    );
    assert!(stored.0, "{}", stored.2);
    assert!(!stored.1.contains("cli-secret"));
    let shown = json(&cli(&stack, &["--json", "projects", "show", &id], None));
    assert_eq!(shown["credentials"][0], "mercadopago");

    let usage = json(&cli(&stack, &["--json", "usage", &id], None));
    // Only authenticated requests count: three 200s (the 403 and 401 were refused before metering).
    assert_eq!(usage["counters"]["requests"], 3);

    let text = cli(&stack, &["projects", "show", &id], None);
    assert!(text.0 && text.1.contains("name: CLI shop"), "{}", text.1);
    let bad = cli(&stack, &["projects", "set-plan", &id, "gold"], None);
    assert!(!bad.0 && bad.2.contains("plan"), "{}", bad.2);
    let help = cli(&stack, &["keys", "rotate", "--help"], None);
    assert!(help.0 && help.1.contains("--grace-seconds"));
    stack.shutdown().await;
}
