#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The official Mercado Pago Node SDK (npm `mercadopago`, pinned in scripts/bootstrap.sh) against
//! the sandbox: its client creates and reads a preference and a payment, and its
//! `WebhookSignatureValidator`, with a tolerance, accepts the webhook the sandbox delivers and
//! rejects tampered ones. That validator reads `ts` as Unix seconds, as Mercado Pago sends it
//! (docs/mercadopago-signatures.md), so a sandbox signing with milliseconds fails here.

use std::path::Path;
use std::time::Duration;

use mostrador_sandboxes::mercadopago::{self, Config, WebhookSecret};

const TOKEN: &str = "TEST-4440000000000000-010203-0123456789abcdef0123456789abcdef-111222333";
const COLLECTOR: i64 = 111_222_333;

#[tokio::test]
async fn official_node_sdk_validates_sandbox_webhooks() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = mercadopago::start(
        listener,
        Config {
            webhook_secret: WebhookSecret::new("node-sdk-secret"),
            retry_interval: Duration::from_millis(200),
            max_retries: 1,
            delivery_timeout: Duration::from_secs(2),
            ..Config::default()
        },
    )
    .await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let modules = dir.join("../../.tools/mercadopago-node/node_modules");
    assert!(
        modules.join("mercadopago/package.json").is_file(),
        "the Node SDK is missing: run scripts/bootstrap.sh test ({})",
        modules.display()
    );
    let run = tokio::process::Command::new("node")
        .arg(dir.join("tests/node/mercadopago_sdk_check.js"))
        .arg(&handle.base_url)
        .env("MP_ACCESS_TOKEN", TOKEN)
        .env("MP_WEBHOOK_SECRET", handle.webhook_secret(COLLECTOR))
        .env("MP_NODE_MODULES", &modules)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("node timed out")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("ALL OK"),
        "Node SDK check failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    println!("{stdout}");
}
