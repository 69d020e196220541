//! Nothing sensitive reaches the logs: keys, hashes and credentials used during a whole
//! authentication workout never appear, and no log line ever needed scrubbing.

use mostrador::tenancy::apikey;
use mostrador_tests::{log_lines, shared};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn no_key_hash_or_credential_is_ever_logged() {
    let stack = shared();
    let p = stack.project(None).await;
    let secret = "whsec-like-credential-value-123";
    let token = "APP_USR-9999888877776666-112233-abcdef-77";
    stack
        .admin(
            Method::PUT,
            &format!("/admin/projects/{}/credentials/mercadopago", p.id),
            Some(json!({"access_token": token, "webhook_secret": secret})),
        )
        .await;
    let forged = apikey::forge_for_id(&p.key_id);
    for key in [
        p.key.as_str(),
        forged.expose(),
        "mk_live_garbage",
        &p.key[..30],
    ] {
        stack
            .call(Method::GET, "/v1/project", key)
            .send()
            .await
            .unwrap();
    }
    let rotated = stack
        .admin(
            Method::POST,
            &format!("/admin/projects/{}/keys/{}/rotate", p.id, p.key_id),
            None,
        )
        .await;
    let new_key = rotated.json::<serde_json::Value>().await.unwrap()["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    stack
        .call(Method::GET, "/v1/project", &new_key)
        .send()
        .await
        .unwrap();

    let lines = log_lines();
    assert!(
        lines.iter().any(|l| l.contains("request completed")),
        "logs were captured"
    );
    let secret_part = |key: &str| key.split('_').nth(3).unwrap_or(key).to_owned();
    for line in &lines {
        for needle in [
            secret_part(&p.key),
            secret_part(&new_key),
            secret.to_owned(),
            token.to_owned(),
            "$argon2".to_owned(),
        ] {
            assert!(!line.contains(&needle), "log line leaks {needle}: {line}");
        }
    }
    assert_eq!(
        mostrador::telemetry::scrubbed_lines(),
        0,
        "some code path tried to log sensitive data"
    );
}
