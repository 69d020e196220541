//! The stack and the shops the suite drives: each shop has e-mail (a verified sender domain),
//! WhatsApp Cloud API and Mercado Pago credentials, two templates and one webhook endpoint on
//! the local receiver.

use mostrador_devstack::{Stack, StackOptions};
use mostrador_tests::{client, repo_root, TestProject, TestStack};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;

pub const WEBHOOK_SECRET_MP: &str = "reliability-mp-signing-secret";
pub const WA_APP_SECRET: &str = "reliability-wa-app-secret";

/// A scratch root (`template.yaml` and `.tools` linked from the repository) whose
/// `.dev/dynamodb` holds DynamoDB Local's files, so killing DynamoDB loses nothing, as in AWS.
pub struct ScratchRoot(PathBuf);

impl Drop for ScratchRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn start() -> (Stack, TestStack, ScratchRoot) {
    let _ = mostrador_tests::log_lines(); // installs the in-memory log sink first
    let repo = repo_root();
    let root = std::env::temp_dir().join(format!("mostrador-reliability-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    for name in ["template.yaml", ".tools"] {
        std::os::unix::fs::symlink(repo.join(name), root.join(name)).unwrap();
    }
    let mut options = StackOptions::ephemeral(root.clone());
    options.persistent = true;
    options.stack_name = format!("rel{}", std::process::id());
    let stack = Stack::start(options)
        .await
        .unwrap_or_else(|e| panic!("the local stack did not start: {e}"));
    let t = mostrador_tests::test_stack(&stack);
    (stack, t, ScratchRoot(root))
}

#[derive(Clone, Debug)]
pub struct Shop {
    pub index: usize,
    pub project: TestProject,
    pub domain: String,
    pub hook_path: String,
    pub mp_token: String,
    pub wa_token: String,
    pub endpoint_id: String,
    pub endpoint_secret: String,
}

impl Shop {
    pub fn key(&self) -> &str {
        &self.project.key
    }

    pub fn email_to(&self, n: u64) -> String {
        format!(
            "buyer{n}.{}@{}",
            self.index,
            self.domain.replace("shop", "mail")
        )
    }

    /// E.164, unique per shop and round; ends in 3, which no WhatsApp sandbox test number does.
    pub fn phone(&self, n: u64) -> String {
        format!("+54911{:02}{:05}3", self.index, n % 100_000)
    }

    pub fn order(&self, n: u64) -> String {
        format!("O-{}-{n}", self.index)
    }
}

pub async fn ok(r: reqwest::Response, what: &str) -> Value {
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Provider credentials and the sender identity live in Secrets Manager and SES (moto): set
/// again after moto restarts with empty memory.
pub async fn provision_providers(t: &TestStack, shop: &Shop) {
    let p = &shop.project;
    ok(
        t.admin(
            Method::PUT,
            &format!("/admin/projects/{}/credentials/mercadopago", p.id),
            Some(json!({"access_token": shop.mp_token, "webhook_secret": WEBHOOK_SECRET_MP})),
        )
        .await,
        "mp credentials",
    )
    .await;
    ok(
        t.admin(
            Method::PUT,
            &format!("/admin/projects/{}/credentials/whatsapp", p.id),
            Some(json!({"access_token": shop.wa_token, "phone_number_id": format!("1090000000{:02}", shop.index),
                        "app_secret": WA_APP_SECRET, "verify_token": "rel-verify"})),
        )
        .await,
        "whatsapp credentials",
    )
    .await;
    let r = client()
        .post(format!(
            "{}/_local/mail/identities/{}",
            t.api_url, shop.domain
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "identity: {}", r.status());
}

pub async fn shops(t: &TestStack, n: usize) -> Vec<Shop> {
    // Status webhooks stay in the WhatsApp sandbox's log: `sent` is this suite's terminal state.
    ok(
        client()
            .post(format!("{}/_sandbox/config", t.whatsapp_url))
            .json(&json!({"callback_url": "", "status_delay_ms": 50}))
            .send()
            .await
            .unwrap(),
        "whatsapp sandbox config",
    )
    .await;
    let mut shops = Vec::new();
    for index in 0..n {
        shops.push(shop(t, index).await);
    }
    shops
}

pub async fn shop(t: &TestStack, index: usize) -> Shop {
    let collector = 700_000 + std::process::id() % 1_000 * 100 + index as u32;
    let domain = format!("shop{index}-{}.reliability.test", std::process::id());
    let project = t
        .project(Some(
            json!({"email_from": format!("Tienda <no-reply@{domain}>")}),
        ))
        .await;
    let hook_path = format!("/hooks/reliability-{}", project.id.to_lowercase());
    let mut shop = Shop {
        index,
        project,
        domain,
        hook_path,
        mp_token: format!("APP_USR-5511{index:02}-112233-a1b2c3d4e5f6-{collector}"),
        wa_token: format!("EAAGrel{index:02}Zk9q1xTOKENw8e7r6t5y4u3i2o1p"),
        endpoint_id: String::new(),
        endpoint_secret: String::new(),
    };
    provision_providers(t, &shop).await;
    ok(
        client()
            .put(format!(
                "{}/_sandbox/collectors/{collector}",
                t.mercadopago_url
            ))
            .json(&json!({"webhook_secret": WEBHOOK_SECRET_MP}))
            .send()
            .await
            .unwrap(),
        "collector",
    )
    .await;
    let key = shop.project.key.clone();
    for (name, body) in [
        (
            "aviso",
            json!({"kind": "email", "subject": "Pedido {{ id }}", "text": "Hola, tu pedido {{ id }} está listo."}),
        ),
        (
            "wa",
            json!({"kind": "whatsapp_text", "body": "Pedido {{ id }} enviado"}),
        ),
    ] {
        ok(
            t.call(Method::PUT, &format!("/v1/templates/{name}"), &key)
                .json(&body)
                .send()
                .await
                .unwrap(),
            "template",
        )
        .await;
    }
    let endpoint = ok(
        t.call(Method::POST, "/v1/webhook-endpoints", &key)
            .json(&json!({"url": format!("{}{}", t.receiver_url, shop.hook_path), "filter_types": ["order.*"]}))
            .send()
            .await
            .unwrap(),
        "endpoint",
    )
    .await;
    shop.endpoint_id = endpoint["id"].as_str().unwrap().to_owned();
    shop.endpoint_secret = endpoint["secret"].as_str().unwrap_or_default().to_owned();
    shop
}

/// Every item of a paginated list route (`data` + `next_cursor`).
pub async fn list_all(t: &TestStack, key: &str, path: &str) -> Result<Vec<Value>, String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    let sep = if path.contains('?') { '&' } else { '?' };
    for _ in 0..10_000 {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=100&cursor={c}"),
            None => format!("{path}{sep}limit=100"),
        };
        let mut r = t
            .call(Method::GET, &url, key)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        // The suite's own reads must not trip the shop's per-second limit into a false result.
        for _ in 0..10 {
            if r.status().as_u16() != 429 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            r = t
                .call(Method::GET, &url, key)
                .send()
                .await
                .map_err(|e| e.to_string())?;
        }
        if !r.status().is_success() {
            return Err(format!("GET {url}: {}", r.status()));
        }
        let page: Value = r.json().await.map_err(|e| e.to_string())?;
        all.extend(page["data"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(all),
        }
    }
    Err(format!("{path}: too many pages"))
}
