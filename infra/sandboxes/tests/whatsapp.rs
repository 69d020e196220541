#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The WhatsApp Cloud API sandbox: request/response shapes, test numbers, signed status
//! webhooks (received by the receiver sandbox), control API.

use std::time::Duration;

use hmac::{Hmac, Mac};
use mostrador_sandboxes::receiver::{self, RecordedRequest, ScriptedResponse};
use mostrador_sandboxes::whatsapp::{self, Config, SentMessage};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(5);
const SECRET: &str = "test-app-secret";
const TOKEN: &str = "EAAGtesttoken1234";
const PHONE_ID: &str = "106540352242922";
const HOOK: &str = "/whatsapp/webhook";

struct Setup {
    wa: whatsapp::Handle,
    rx: receiver::Handle,
    http: reqwest::Client,
}

async fn setup(config: Config) -> Setup {
    let rx = receiver::start(TcpListener::bind("127.0.0.1:0").await.unwrap()).await;
    let config = Config {
        callback_url: Some(rx.url(HOOK)),
        app_secret: SECRET.to_owned(),
        status_delay: Duration::from_millis(20),
        ..config
    };
    let wa = whatsapp::start(TcpListener::bind("127.0.0.1:0").await.unwrap(), config).await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(WAIT)
        .build()
        .unwrap();
    Setup { wa, rx, http }
}

impl Setup {
    async fn send(&self, body: Value) -> (u16, Value) {
        self.send_with(Some(TOKEN), body).await
    }

    async fn send_with(&self, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.http.post(self.wa.messages_url(PHONE_ID)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Webhooks received, each checked for a valid signature; returns their `statuses[0]`.
    async fn statuses(&self, count: usize) -> Vec<Value> {
        let seen = self.rx.wait_for(HOOK, count, WAIT).await;
        assert_eq!(seen.len(), count, "webhooks: {seen:#?}");
        seen.iter().map(verified_status).collect()
    }
}

fn text(to: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": { "preview_url": false, "body": "Tu pedido #12 salió" },
        "biz_opaque_callback_data": "ntf_01J0000000000000000000000",
    })
}

fn template(to: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {
            "name": "order_shipped",
            "language": { "code": "es_AR" },
            "components": [{ "type": "body", "parameters": [{ "type": "text", "text": "Ana" }] }]
        }
    })
}

/// Checks `X-Hub-Signature-256` against the raw body with an independent HMAC; returns the status.
fn verified_status(request: &RecordedRequest) -> Value {
    let body = request.body_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        request.header("x-hub-signature-256"),
        Some(expected.as_str())
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    let envelope: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(envelope["object"], "whatsapp_business_account");
    let change = &envelope["entry"][0]["changes"][0];
    assert_eq!(change["field"], "messages");
    assert_eq!(change["value"]["messaging_product"], "whatsapp");
    assert_eq!(change["value"]["metadata"]["phone_number_id"], PHONE_ID);
    change["value"]["statuses"][0].clone()
}

fn wamid(answer: &Value) -> String {
    answer["messages"][0]["id"].as_str().unwrap().to_owned()
}

fn assert_graph_error(answer: &Value, code: i64) {
    let error = &answer["error"];
    assert_eq!(error["code"], code, "{answer}");
    assert_eq!(error["type"], "OAuthException");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(error["fbtrace_id"].as_str().is_some_and(|t| !t.is_empty()));
}

#[tokio::test]
async fn text_success_then_signed_statuses_in_order() {
    let s = setup(Config::default()).await;
    let (status, answer) = s.send(text("+54 9 11 5555-0000")).await;
    assert_eq!(status, 200, "{answer}");
    let id = wamid(&answer);
    assert!(id.starts_with("wamid."), "{id}");
    assert_eq!(
        answer,
        json!({
            "messaging_product": "whatsapp",
            "contacts": [{ "input": "+54 9 11 5555-0000", "wa_id": "5491155550000" }],
            "messages": [{ "id": id }],
        })
    );

    let statuses = s.statuses(3).await;
    let names: Vec<&str> = statuses
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sent", "delivered", "read"]);
    for status in &statuses {
        assert_eq!(status["id"], id.as_str());
        assert_eq!(status["recipient_id"], "5491155550000");
        assert_eq!(
            status["biz_opaque_callback_data"],
            "ntf_01J0000000000000000000000"
        );
        assert!(status["timestamp"].as_str().unwrap().parse::<i64>().is_ok());
        assert!(status.get("errors").is_none());
    }
    assert_eq!(statuses[0]["pricing"]["category"], "service");

    let messages: Vec<SentMessage> = s
        .http
        .get(format!("{}/_sandbox/messages", s.wa.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(
        (m.phone_number_id.as_str(), m.api_version.as_str()),
        (PHONE_ID, "v21.0")
    );
    assert_eq!(m.token_last4, "1234");
    assert!(!serde_json::to_string(&messages).unwrap().contains(TOKEN));
    assert_eq!(m.text_body.as_deref(), Some("Tu pedido #12 salió"));
    assert_eq!(m.wamid.as_deref(), Some(id.as_str()));
    assert_eq!(m.statuses, ["sent", "delivered", "read"]);
    let deliveries = s.wa.deliveries();
    assert!(deliveries.iter().all(|d| d.response_status == Some(200)));
}

#[tokio::test]
async fn template_success_and_config_over_http() {
    let s = setup(Config::default()).await;
    // Move the callback and the secret through the control API; turn `read` off.
    let config: Value = s
        .http
        .post(format!("{}/_sandbox/config", s.wa.base_url))
        .json(&json!({ "callback_url": s.rx.url("/other"), "app_secret": "other", "send_read": false }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["callback_url"], s.rx.url("/other"));
    assert_eq!(config["app_secret"], "***");

    let (status, answer) = s.send(template("5491155550001")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["messages"][0]["message_status"], "accepted");
    let seen = s.rx.wait_for("/other", 2, WAIT).await;
    assert_eq!(seen.len(), 2);
    let mut mac = Hmac::<Sha256>::new_from_slice(b"other").unwrap();
    mac.update(&seen[1].body_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        seen[1].header("X-Hub-Signature-256"),
        Some(expected.as_str())
    );
    assert_eq!(
        seen[1].json().unwrap()["entry"][0]["changes"][0]["value"]["statuses"][0]["status"],
        "delivered"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        s.rx.requests("/other").len(),
        2,
        "no read when send_read is off"
    );
    let m = &s.wa.messages()[0];
    assert_eq!(m.message_type, "template");
    assert_eq!(m.template.as_ref().unwrap()["name"], "order_shipped");
}

#[tokio::test]
async fn auth_errors_are_oauth_190() {
    let s = setup(Config {
        access_token: Some(TOKEN.to_owned()),
        ..Config::default()
    })
    .await;
    for token in [None, Some("wrong-token")] {
        let response = s
            .http
            .post(s.wa.messages_url(PHONE_ID))
            .header(
                "authorization",
                token.map(|t| format!("Bearer {t}")).unwrap_or_default(),
            )
            .json(&text("5491155550002"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
        let answer: Value = response.json().await.unwrap();
        assert_graph_error(&answer, 190);
    }
    let (status, answer) = s.send_with(None, text("5491155550002")).await;
    assert_eq!((status, answer["error"]["code"].clone()), (401, json!(190)));
    assert!(s.wa.messages().is_empty());
    let (status, _) = s.send(text("5491155550002")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn malformed_requests_get_code_100() {
    let s = setup(Config::default()).await;
    let mut no_product = text("5491155550003");
    no_product
        .as_object_mut()
        .unwrap()
        .remove("messaging_product");
    let mut no_body = text("5491155550003");
    no_body["text"].as_object_mut().unwrap().remove("body");
    let mut no_language = template("5491155550003");
    no_language["template"]["language"] = json!({});
    let mut bad_param = template("5491155550003");
    bad_param["template"]["components"][0]["parameters"][0] = json!({ "type": "text" });
    let mut bad_to = text("not a number");
    bad_to["to"] = json!("call me");
    for (body, mentions) in [
        (no_product, "messaging_product"),
        (no_body, "text['body']"),
        (no_language, "template['language']['code']"),
        (bad_param, "['parameters'][0]['text']"),
        (bad_to, "Invalid parameter"),
    ] {
        let (status, answer) = s.send(body).await;
        assert_eq!(status, 400, "{answer}");
        assert_graph_error(&answer, 100);
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains(mentions),
            "{answer}"
        );
    }
    let response = s
        .http
        .post(format!("{}/v21.0/not-a-number/messages", s.wa.base_url))
        .bearer_auth(TOKEN)
        .json(&text("5491155550003"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        (
            answer["error"]["code"].clone(),
            answer["error"]["error_subcode"].clone()
        ),
        (json!(100), json!(33))
    );
}

#[tokio::test]
async fn number_ending_0429_is_rate_limited_twice_then_succeeds() {
    let s = setup(Config::default()).await;
    for _ in 0..2 {
        let (status, answer) = s.send(text("5491155550429")).await;
        assert_eq!(status, 400);
        assert_graph_error(&answer, 130429);
        assert_eq!(
            answer["error"]["error_data"]["messaging_product"],
            "whatsapp"
        );
        assert!(answer["error"]["error_data"]["details"].is_string());
    }
    let (status, answer) = s.send(text("5491155550429")).await;
    assert_eq!(status, 200, "{answer}");
    let codes: Vec<Option<i64>> = s.wa.messages().iter().map(|m| m.error_code).collect();
    assert_eq!(codes, [Some(130429), Some(130429), None]);
    assert_eq!(s.statuses(3).await.len(), 3);

    // A reset forgets the attempts.
    s.wa.reset();
    let (status, _) = s.send(text("5491155550429")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn transient_numbers_fail_once() {
    let s = setup(Config::default()).await;
    for (to, code, http) in [
        ("5491155551056", 131056, 400),
        ("5491155551000", 131000, 500),
    ] {
        let (status, answer) = s.send(text(to)).await;
        assert_eq!(status, http);
        assert_graph_error(&answer, code);
        let (status, _) = s.send(text(to)).await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn number_ending_0190_gets_an_expired_token_error() {
    let s = setup(Config::default()).await;
    for _ in 0..2 {
        let (status, answer) = s.send(template("5491155550190")).await;
        assert_eq!(status, 401);
        assert_graph_error(&answer, 190);
        assert_eq!(answer["error"]["error_subcode"], 463);
    }
}

#[tokio::test]
async fn number_ending_1047_fails_asynchronously_for_text_but_takes_templates() {
    let s = setup(Config::default()).await;
    let (status, answer) = s.send(text("5491155551047")).await;
    assert_eq!(status, 200, "accepted first, like the real API");
    let failed = &s.statuses(1).await[0];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["id"], wamid(&answer).as_str());
    assert_eq!(failed["errors"][0]["code"], 131047);
    assert_eq!(failed["errors"][0]["title"], "Re-engagement message");
    assert!(failed["errors"][0]["error_data"]["details"].is_string());

    s.rx.clear();
    let (status, _) = s.send(template("5491155551047")).await;
    assert_eq!(status, 200);
    let names: Vec<Value> = s
        .statuses(3)
        .await
        .iter()
        .map(|s| s["status"].clone())
        .collect();
    assert_eq!(names, ["sent", "delivered", "read"]);
}

#[tokio::test]
async fn number_ending_1026_is_undeliverable() {
    let s = setup(Config::default()).await;
    let (status, _) = s.send(template("5491155551026")).await;
    assert_eq!(status, 200);
    let failed = &s.statuses(1).await[0];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["errors"][0]["code"], 131026);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(s.rx.requests(HOOK).len(), 1, "nothing after failed");
}

#[tokio::test]
async fn registered_templates_are_checked() {
    let s = setup(Config {
        templates: [("order_shipped".to_owned(), 2)].into_iter().collect(),
        ..Config::default()
    })
    .await;
    let mut unknown = template("5491155550005");
    unknown["template"]["name"] = json!("nope");
    let (status, answer) = s.send(unknown).await;
    assert_eq!(status, 404);
    assert_graph_error(&answer, 132001);
    let (status, answer) = s.send(template("5491155550005")).await;
    assert_eq!(status, 400);
    assert_graph_error(&answer, 132000);
}

#[tokio::test]
async fn control_statuses_can_arrive_out_of_order() {
    // Scheduled statuses wait a minute, so only the scripted ones arrive during the test.
    let s = setup(Config::default()).await;
    s.wa.set_config(Config {
        status_delay: Duration::from_secs(60),
        ..s.wa.config()
    });
    let (_, answer) = s.send(text("5491155550006")).await;
    let id = wamid(&answer);
    for status in ["read", "delivered"] {
        let response = s
            .http
            .post(format!("{}/_sandbox/statuses", s.wa.base_url))
            .json(&json!({ "wamid": id, "status": status, "timestamp": "1700000000" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let statuses = s.statuses(2).await;
    assert_eq!(
        (statuses[0]["status"].clone(), statuses[1]["status"].clone()),
        (json!("read"), json!("delivered"))
    );
    assert_eq!(statuses[0]["timestamp"], "1700000000");

    let unknown = s
        .http
        .post(format!("{}/_sandbox/statuses", s.wa.base_url))
        .json(&json!({ "wamid": "wamid.nope", "status": "read" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let failed = s.wa.send_status(&id, "failed", None).await.unwrap();
    assert_eq!(failed.response_status, Some(200));
    assert!(matches!(
        s.wa.send_status(&id, "bogus", None).await,
        Err(whatsapp::StatusError::InvalidStatus(_))
    ));
}

#[tokio::test]
async fn subscription_handshake_checks_the_raw_challenge() {
    let s = setup(Config::default()).await;
    s.rx.script(HOOK, vec![ScriptedResponse::status(200).body("1158201444")]);
    let outcome: whatsapp::SubscribeOutcome = s
        .http
        .post(format!("{}/_sandbox/subscribe", s.wa.base_url))
        .json(&json!({ "verify_token": "our token&more", "challenge": "1158201444" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(outcome.ok, "{outcome:?}");
    let seen = &s.rx.requests(HOOK)[0];
    assert_eq!(seen.method, "GET");
    assert_eq!(
        seen.query.as_deref(),
        Some("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=our+token%26more")
    );

    // The default receiver answer is `{"ok":true}`, not the challenge.
    let outcome = s.wa.subscribe(None, "t").await;
    assert!(!outcome.ok);
    assert_eq!(outcome.status, Some(200));
}

#[tokio::test]
async fn number_ending_0500_is_accepted_then_answered_500_once() {
    let s = setup(Config::default()).await;
    let (status, answer) = s.send(text("5491155550500")).await;
    assert_eq!(status, 500, "{answer}");
    assert_graph_error(&answer, 131000);
    // The message went out all the same: recorded with a wamid.
    let sent = s.wa.messages();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].wamid.is_some());
    let (status, _) = s.send(text("5491155550500")).await;
    assert_eq!(status, 200);
}
